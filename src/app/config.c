/* config.c - the settings table and its sources (see config.h). */
#include "app/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT, K_REAL, K_BOOL };

struct setting {
    const char *name;
    enum kind kind;
    size_t offset, size;
    const char *def;
    long lo, hi;
    const char *help;
};

#define S(field, def, help) {#field, K_STR, offsetof(struct config, field), \
    sizeof(((struct config *)0)->field), def, 0, 0, help}
#define I(field, def, lo, hi, help) {#field, K_INT, offsetof(struct config, field), \
    sizeof(int), def, lo, hi, help}
#define R(field, def, lo, hi, help) {#field, K_REAL, offsetof(struct config, field), \
    sizeof(double), def, lo, hi, help}
#define B(field, def, help) {#field, K_BOOL, offsetof(struct config, field), \
    sizeof(bool), def, 0, 1, help}

static const struct setting SETTINGS[] = {
    S(listen, "127.0.0.1:8080", "address and port to serve HTTP on"),
    S(database, "herald.db", "SQLite file, or postgresql://user@host:port/db for PostgreSQL (several nodes may share one)"),
    S(log_level, "info", "debug, info, warn or error"),
    S(synchronous, "full", "full: fsync every commit (durable); normal: faster, may lose the last commits on power loss"),
    S(metrics_token, "", "bearer token required by /metrics (empty: open)"),
    I(max_body_bytes, "262144", 1024, 16777216, "largest request body accepted"),
    I(max_connections, "19000", 16, 1000000, "open HTTP connections at most"),
    I(request_timeout_s, "30", 1, 3600, "time a request may take to arrive"),
    I(idle_timeout_s, "75", 1, 3600, "keep-alive idle time"),
    I(max_batch, "512", 1, 100000, "writes per group commit at most (SQLite)"),
    I(busy_timeout_ms, "5000", 1, 600000, "SQLite: how long a write waits for another process's lock before answering 503"),
    I(sqlite_cache_mib, "64", 1, 65536, "SQLite: page cache of each of the writer's and the reader's connections, in MiB (memory grows to it with the database)"),
    I(memory_reserve_mib, "16", 0, 4096, "memory held back to finish the work under way when an allocation fails; Herald then refuses new work (503) until memory returns (0: none; a failed allocation in Herald's own code then stops it)"),
    I(db_connections, "8", 1, 64, "PostgreSQL: connections (and worker threads) serving requests"),
    I(prune_interval_s, "3600", 10, 86400, "how often retention pruning runs"),
    I(token_ttl_s, "3600", 60, 86400, "lifetime of member tokens Herald mints"),
    I(max_streams, "18000", 1, 1000000, "open streams at most (kept below the connection limit, so the API keeps answering)"),
    I(max_streams_per_member, "20", 1, 1000, "open streams per member at most"),
    R(rate_limit_key_per_s, "20000", 0, 10000000, "requests per second each workspace API key may make on this node, on average (0: no limit)"),
    I(rate_limit_key_burst, "40000", 1, 100000000, "requests a workspace API key may make at once after a rest"),
    R(rate_limit_member_per_s, "50", 0, 10000000, "requests per second each member may make on this node with their tokens, on average (0: no limit)"),
    I(rate_limit_member_burst, "200", 1, 100000000, "requests a member may make at once after a rest"),
    I(rate_limit_entries, "65536", 1024, 16777216, "credentials the rate limiter keeps track of at most (about 40 bytes each)"),
    S(email_provider, "", "smtp or sink (default: smtp when smtp_url is set, else sink)"),
    S(sms_provider, "", "twilio, webhook or sink; empty: the one configured, else sink"),
    S(smtp_url, "", "smtp://host:587[/ehlo-name] or smtps://host:465"),
    S(smtp_username, "", "SMTP login"),
    S(smtp_password, "", "SMTP password (prefer HERALD_SMTP_PASSWORD)"),
    S(smtp_from, "", "address email comes from, e.g. notifications@practice.example"),
    S(smtp_tls, "starttls", "for smtp:// URLs: starttls (required), try, or off"),
    S(smtp_ca_file, "", "CA bundle that verifies the SMTP server; empty: the system's"),
    I(smtp_connections, "4", 1, 256, "SMTP connections at most (16 emails per connection may be in flight)"),
    I(smtp_timeout_s, "30", 1, 600, "time one email may take"),
    B(smtp_reuse, "true", "keep SMTP connections open for the next email (false: one connection per email)"),
    S(twilio_base_url, "https://api.twilio.com", "Twilio (or compatible) API base URL"),
    S(twilio_account_sid, "", "Twilio account SID (selects the twilio SMS provider)"),
    S(twilio_auth_token, "", "Twilio auth token (prefer HERALD_TWILIO_AUTH_TOKEN)"),
    S(twilio_from, "", "sender number or alphanumeric id when the workspace sets none"),
    S(twilio_messaging_service_sid, "", "Twilio messaging service instead of twilio_from"),
    S(sms_webhook_url, "", "SMS gateway URL for the webhook provider (JSON POST, signed)"),
    S(sms_webhook_secret, "", "key that signs webhook requests (prefer HERALD_SMS_WEBHOOK_SECRET)"),
    I(sms_connections, "8", 1, 256, "connections to the SMS provider at most (16 requests per connection may be in flight)"),
    I(sms_timeout_s, "15", 1, 600, "time one SMS request may take"),
    S(vapid_subject, "", "Web Push contact (mailto: or https: URI) push services may use; empty: mailto:<smtp_from>"),
    I(push_ttl_s, "86400", 0, 2419200, "how long push services keep an undelivered push"),
    I(push_timeout_s, "15", 1, 600, "time one push request may take"),
    I(push_connections, "8", 1, 256, "Web Push connections at most (HTTP/2 ones carry many pushes each)"),
    B(push_allow_insecure_endpoints, "false", "accept http://, loopback and private-network Web Push endpoints (tests only)"),
    S(push_ca_file, "", "CA bundle that verifies push services; empty: the system's"),
    S(fcm_service_account, "", "FCM service-account JSON file (selects the fcm provider for fcm devices)"),
    S(fcm_base_url, "https://fcm.googleapis.com", "FCM HTTP v1 API base URL"),
    S(apns_key_file, "", "APNs token key (.p8) file (selects the apns provider for apns devices)"),
    S(apns_key_id, "", "APNs key id (10 characters)"),
    S(apns_team_id, "", "APNs team id (10 characters)"),
    S(apns_topic, "", "the iOS app's bundle id (apns-topic)"),
    S(apns_host, "https://api.push.apple.com", "APNs production host"),
    S(apns_sandbox_host, "https://api.sandbox.push.apple.com", "APNs host for sandbox devices"),
    I(delivery_max_attempts, "8", 1, 100, "tries before a delivery is dead"),
    I(delivery_backoff_s, "30", 1, 86400, "delay before the first retry (doubles each time)"),
    I(delivery_backoff_max_s, "3600", 1, 604800, "longest delay between retries"),
    I(delivery_lease_s, "120", 10, 86400, "a claimed delivery comes back after this if its sender died"),
    B(demo, "false", "seed a demo practice and print how to use it"),
    B(test_clock, "false", "test-only clock control at /v1/test/clock; never in production"),
};

#define NSETTINGS (sizeof SETTINGS / sizeof *SETTINGS)

static const struct setting *find(const char *name, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *n = SETTINGS[i].name;
        if (strlen(n) != len)
            continue;
        bool same = true;
        for (size_t k = 0; k < len && same; k++)
            same = n[k] == name[k] || (n[k] == '_' && name[k] == '-');
        if (same)
            return &SETTINGS[i];
    }
    return NULL;
}

static int set(struct config *c, const struct setting *s, const char *value, const char *from,
               FILE *err)
{
    char *field = (char *)c + s->offset;
    switch (s->kind) {
    case K_STR:
        if (strlen(value) >= s->size) {
            fprintf(err, "herald: %s (%s) is too long\n", s->name, from);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case K_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || !*value || *end || v < s->lo || v > s->hi) {
            fprintf(err, "herald: %s (%s) must be a whole number from %ld to %ld\n", s->name,
                    from, s->lo, s->hi);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case K_REAL: {
        /* Rates may be fractions: 0.01 per second is one request per 100 s. */
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || !*value || *end || !isfinite(v) || v < (double)s->lo || v > (double)s->hi) {
            fprintf(err, "herald: %s (%s) must be a number from %ld to %ld\n", s->name, from,
                    s->lo, s->hi);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case K_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes") ||
            !strcmp(value, "on"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no") ||
                 !strcmp(value, "off"))
            *(bool *)field = false;
        else {
            fprintf(err, "herald: %s (%s) must be true or false\n", s->name, from);
            return -1;
        }
        return 0;
    }
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(struct config *c, const char *path, FILE *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(err, "herald: cannot read config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(err, "herald: %s:%d: expected name = value\n", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        const struct setting *st = find(name, strlen(name));
        if (!st) {
            fprintf(err, "herald: %s:%d: unknown setting %s\n", path, lineno, name);
            rc = -1;
            break;
        }
        char from[64];
        snprintf(from, sizeof from, "line %d", lineno);
        rc = set(c, st, value, from, err);
    }
    fclose(f);
    return rc;
}

int config_load(struct config *c, int argc, char **argv, FILE *err)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++)
        set(c, &SETTINGS[i], SETTINGS[i].def, "default", err);

    const char *file = getenv("HERALD_CONFIG");
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    if (file && *file && load_file(c, file, err) != 0)
        return -1;

    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64] = "HERALD_";
        for (size_t k = 0; SETTINGS[i].name[k] && k < 50; k++)
            env[7 + k] = (char)toupper((unsigned char)SETTINGS[i].name[k]);
        const char *v = getenv(env);
        if (v && set(c, &SETTINGS[i], v, env, err) != 0)
            return -1;
    }

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(err, "herald: unexpected argument %s\n", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len == 6 && strncmp(a, "config", 6) == 0) {
            if (!eq)
                i++;
            continue;
        }
        const struct setting *s = find(a, len);
        if (!s) {
            fprintf(err, "herald: unknown option --%.*s (see herald serve --help)\n", (int)len, a);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (s->kind == K_BOOL)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(err, "herald: --%s needs a value\n", s->name);
            return -1;
        }
        if (set(c, s, value, "command line", err) != 0)
            return -1;
    }
    int longest = c->smtp_timeout_s > c->sms_timeout_s ? c->smtp_timeout_s : c->sms_timeout_s;
    if (c->push_timeout_s > longest)
        longest = c->push_timeout_s;
    for (const char *p = c->vapid_subject; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
            fprintf(err, "herald: vapid_subject must be a plain mailto: or https: URI\n");
            return -1;
        }
    if (*c->vapid_subject && strncmp(c->vapid_subject, "mailto:", 7) != 0 &&
        strncmp(c->vapid_subject, "https://", 8) != 0) {
        fprintf(err, "herald: vapid_subject must start with mailto: or https://\n");
        return -1;
    }
    if (c->delivery_lease_s < 2 * longest + 10) {
        /* A lease should outlive the send it covers, with room to spare.
         * One that ends mid-send (a long queue, a clock jump) is harmless
         * here (deliver.c keeps the row with its running send), but
         * another node could not know the send is still running. */
        fprintf(err, "herald: delivery_lease_s (%d) must be at least twice the longest send "
                     "timeout (%d s) plus 10 s\n", c->delivery_lease_s, longest);
        return -1;
    }
    if (c->delivery_backoff_max_s < c->delivery_backoff_s) {
        fprintf(err, "herald: delivery_backoff_max_s must be at least delivery_backoff_s\n");
        return -1;
    }
    if (strcmp(c->synchronous, "full") != 0 && strcmp(c->synchronous, "normal") != 0) {
        fprintf(err, "herald: synchronous must be full or normal\n");
        return -1;
    }
    return 0;
}

void config_usage(FILE *out)
{
    fprintf(out, "usage: herald serve [options]\n\n"
                 "Each option is also read from the environment as HERALD_<NAME> and from\n"
                 "the file given by --config (lines of name = value); the command line wins.\n"
                 "The admin key comes from HERALD_ADMIN_KEY, else it is generated on first\n"
                 "start and printed once.\n\n");
    fprintf(out, "  %-24s %s\n", "--config FILE", "read settings from FILE");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", SETTINGS[i].name,
                 SETTINGS[i].kind == K_BOOL ? "" : " V");
        for (char *p = flag + 2; *p && *p != ' '; p++)
            if (*p == '_')
                *p = '-';
        fprintf(out, "  %-24s %s (default: %s)\n", flag, SETTINGS[i].help,
                *SETTINGS[i].def ? SETTINGS[i].def : "none");
    }
}
