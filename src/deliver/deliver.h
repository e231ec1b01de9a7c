/* deliver.h - the deliverer: sends what the outbox holds.
 *
 * On the loop thread it claims due deliveries from the store (under a
 * lease, at most as many per channel as that channel's provider has room
 * for), hands each to its provider, and stores every attempt's outcome:
 * sent, failed (due again after a backoff) or dead. A claim whose sender
 * died comes back when its lease ends, so accepted work is never lost.
 *
 * Each channel has one provider, chosen by name (see settings): email
 * "smtp" or "sink"; SMS "twilio", "webhook" or "sink"; push "push", which
 * hands each device to its service's provider: "webpush", "fcm", "apns",
 * or the sink for a service not configured. A channel with no provider
 * configured gets the sink, which records what it would have sent
 * (GET /v1/dev/sink). */
#ifndef HERALD_DELIVER_DELIVER_H
#define HERALD_DELIVER_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

struct event_base;
struct store;
struct hclock;
struct metrics;
struct deliverer;

/* Borrowed strings; they must outlive the deliverer. "" means unset. */
struct deliver_settings {
    int max_attempts;
    int backoff_s, backoff_max_s; /* the first retry's delay, and the cap */
    int lease_s;                  /* how long a claim lasts before it comes back */
    const char *email_provider;   /* "": smtp when smtp_url is set, else sink */
    const char *sms_provider;     /* "": twilio, else webhook, when configured; else sink */
    struct {
        const char *url;          /* smtp://host:port/ehlo-name or smtps://... */
        const char *username, *password;
        const char *from;         /* the From address: notifications@practice.example */
        const char *tls;          /* starttls (required) | try | off; smtps: always TLS */
        const char *ca_file;
        int connections, timeout_s;
        bool reuse;               /* false: a connection per email */
    } smtp;
    struct {
        const char *base_url;     /* https://api.twilio.com */
        const char *account_sid, *auth_token, *from, *messaging_service_sid;
    } twilio;
    struct {
        const char *url, *secret;
    } webhook;
    int sms_connections, sms_timeout_s;
    struct {
        EVP_PKEY *vapid_key;      /* the installation's (serve loads it) */
        const char *vapid_subject;
        int ttl_s, timeout_s, connections;
        bool allow_insecure;      /* http:// endpoints (tests) */
        const char *ca_file;
        const char *fcm_service_account, *fcm_base_url;
        const char *apns_key_file, *apns_key_id, *apns_team_id, *apns_topic;
        const char *apns_host, *apns_sandbox_host;
    } push;
};

void deliver_settings_default(struct deliver_settings *s);

/* Once per process, before threads start (libcurl's global state). */
int deliver_global_init(void);

/* NULL (and the reason logged) when the settings name an unknown provider
 * or leave a chosen one without what it needs. */
struct deliverer *deliverer_new(struct event_base *base, struct store *store,
                                struct hclock *clock, struct metrics *metrics,
                                const struct deliver_settings *settings);
/* Starts claiming: what a previous run left due goes out now. */
void deliverer_start(struct deliverer *d);
/* New deliveries may be due. Cheap; repeated kicks coalesce. */
void deliverer_kick(struct deliverer *d);
/* Sends everything due at the clock's time and calls done once nothing is
 * due or in flight (the test clock's way to settle). */
void deliverer_run_due(struct deliverer *d, void (*done)(void *arg, int rc), void *arg);
/* Stops claiming; done runs once the sends in flight have their outcome
 * stored. */
void deliverer_drain(struct deliverer *d, void (*done)(void *arg), void *arg);
/* The provider name serving a channel ("" if none). */
const char *deliverer_provider(const struct deliverer *d, int channel);
void deliverer_free(struct deliverer *d);

#endif
