/* config.h - herald serve's settings, from one table: each setting has a
 * name, a type, a default and bounds, and is read, in rising precedence,
 * from the built-in default, the config file (--config, "name = value"
 * lines), the environment (HERALD_<NAME>) and the command line
 * (--name value, or --name for booleans). */
#ifndef HERALD_APP_CONFIG_H
#define HERALD_APP_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

struct config {
    char listen[256];
    char database[1024];
    char log_level[16];
    char synchronous[16]; /* full | normal */
    char metrics_token[256];
    int max_body_bytes;
    int max_connections;
    int request_timeout_s;
    int idle_timeout_s;
    int max_batch;
    int busy_timeout_ms;
    int sqlite_cache_mib;
    int memory_reserve_mib; /* core/mem.h */
    int db_connections;
    int prune_interval_s;
    int token_ttl_s;
    int max_streams;
    int max_streams_per_member;
    /* request rate limits (src/api/ratelimit.h); a rate of 0 turns one off */
    double rate_limit_key_per_s;
    int rate_limit_key_burst;
    double rate_limit_member_per_s;
    int rate_limit_member_burst;
    int rate_limit_entries;
    /* delivery (src/deliver) */
    char email_provider[16];
    char sms_provider[16];
    char smtp_url[512];
    char smtp_username[256];
    char smtp_password[256];
    char smtp_from[256];
    char smtp_tls[16];
    char smtp_ca_file[1024];
    int smtp_connections;
    bool smtp_reuse;
    int smtp_timeout_s;
    char twilio_base_url[512];
    char twilio_account_sid[128];
    char twilio_auth_token[256];
    char twilio_from[64];
    char twilio_messaging_service_sid[64];
    char sms_webhook_url[1024];
    char sms_webhook_secret[256];
    int sms_connections;
    int sms_timeout_s;
    char vapid_subject[256];
    int push_ttl_s;
    int push_timeout_s;
    int push_connections;
    bool push_allow_insecure_endpoints;
    char push_ca_file[1024];
    char fcm_service_account[1024];
    char fcm_base_url[512];
    char apns_key_file[1024];
    char apns_key_id[32];
    char apns_team_id[32];
    char apns_topic[256];
    char apns_host[512];
    char apns_sandbox_host[512];
    int delivery_max_attempts;
    int delivery_backoff_s;
    int delivery_backoff_max_s;
    int delivery_lease_s;
    bool demo;
    bool test_clock;
};

/* Fills defaults, then the file named by --config or HERALD_CONFIG, the
 * environment, then argv (argv[0] is the first option). Returns 0, or -1
 * after printing what is wrong to err. */
int config_load(struct config *c, int argc, char **argv, FILE *err);
void config_usage(FILE *out);

#endif
