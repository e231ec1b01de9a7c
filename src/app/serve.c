/* serve.c - `herald serve`: one event loop, the HTTP server, the store.
 *
 * Shutdown (SIGTERM or SIGINT): stop accepting, let in-flight requests
 * finish and answer, then close the store, which commits what is queued.
 * A second signal, or 15 s without finishing, exits at once; committed
 * work is safe either way. */
#include "api/api.h"
#include "api/ratelimit.h"
#include "app/app.h"
#include "app/config.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/mem.h"
#include "deliver/deliver.h"
#include "push/vapid.h"
#include "herald_version.h"
#include "http/http.h"
#include "live/live.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "upkeep/upkeep.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <unicode/uclean.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHUTDOWN_GRACE_S 15

struct server {
    struct config cfg;
    struct event_base *base;
    struct hclock clock;
    struct metrics *metrics;
    struct store *store;
    struct http_server *http;
    struct api api;
    struct live_hub *hub;
    struct upkeep *upkeep;
    struct deliverer *deliverer;
    struct ratelimit *limiter;
    EVP_PKEY *vapid_key;
    char *demo_key;
    char vapid_subject[300];
    char vapid_public[VAPID_PUBLIC_B64_LEN + 1];
    bool http_drained, deliveries_drained;
    struct event *sigterm, *sigint, *grace;
    bool stopping;
};

static void maybe_stop(struct server *s)
{
    if (!s->http_drained || !s->deliveries_drained)
        return;
    hlog_info("serve: all requests answered and sends settled; closing");
    event_base_loopbreak(s->base);
}

static void on_drained(void *arg)
{
    struct server *s = arg;
    s->http_drained = true;
    maybe_stop(s);
}

static void on_deliveries_drained(void *arg)
{
    struct server *s = arg;
    s->deliveries_drained = true;
    maybe_stop(s);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct server *s = arg;
    hlog_warn("serve: requests still open after %d s; stopping anyway", SHUTDOWN_GRACE_S);
    event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct server *s = arg;
    if (s->stopping) {
        hlog_warn("serve: second signal; stopping now");
        event_base_loopbreak(s->base);
        return;
    }
    s->stopping = true;
    s->api.ready = false;
    upkeep_stop(s->upkeep);
    hlog_info("serve: %s: no new connections; finishing %d open ones",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", http_server_connections(s->http));
    struct timeval tv = {SHUTDOWN_GRACE_S, 0};
    event_add(s->grace, &tv);
    /* Sends in flight finish and store their outcome; nothing new starts. */
    deliverer_drain(s->deliverer, on_deliveries_drained, s);
    http_server_drain(s->http, on_drained, s);
}

static void deliver_settings_from(struct deliver_settings *d, const struct config *c)
{
    deliver_settings_default(d);
    d->max_attempts = c->delivery_max_attempts;
    d->backoff_s = c->delivery_backoff_s;
    d->backoff_max_s = c->delivery_backoff_max_s;
    d->lease_s = c->delivery_lease_s;
    d->email_provider = c->email_provider;
    d->sms_provider = c->sms_provider;
    d->smtp.url = c->smtp_url;
    d->smtp.username = c->smtp_username;
    d->smtp.password = c->smtp_password;
    d->smtp.from = c->smtp_from;
    d->smtp.tls = c->smtp_tls;
    d->smtp.ca_file = c->smtp_ca_file;
    d->smtp.connections = c->smtp_connections;
    d->smtp.reuse = c->smtp_reuse;
    d->smtp.timeout_s = c->smtp_timeout_s;
    d->twilio.base_url = c->twilio_base_url;
    d->twilio.account_sid = c->twilio_account_sid;
    d->twilio.auth_token = c->twilio_auth_token;
    d->twilio.from = c->twilio_from;
    d->twilio.messaging_service_sid = c->twilio_messaging_service_sid;
    d->webhook.url = c->sms_webhook_url;
    d->webhook.secret = c->sms_webhook_secret;
    d->sms_connections = c->sms_connections;
    d->sms_timeout_s = c->sms_timeout_s;
    d->push.vapid_subject = c->vapid_subject;
    d->push.ttl_s = c->push_ttl_s;
    d->push.timeout_s = c->push_timeout_s;
    d->push.connections = c->push_connections;
    d->push.allow_insecure = c->push_allow_insecure_endpoints;
    d->push.ca_file = c->push_ca_file;
    d->push.fcm_service_account = c->fcm_service_account;
    d->push.fcm_base_url = c->fcm_base_url;
    d->push.apns_key_file = c->apns_key_file;
    d->push.apns_key_id = c->apns_key_id;
    d->push.apns_team_id = c->apns_team_id;
    d->push.apns_topic = c->apns_topic;
    d->push.apns_host = c->apns_host;
    d->push.apns_sandbox_host = c->apns_sandbox_host;
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* The admin key: HERALD_ADMIN_KEY, else the stored hash, else a new key
 * printed once. *shown receives a key to print in the demo banner. */
static int admin_key_setup(struct server *s, char **shown)
{
    *shown = NULL;
    const char *env = getenv("HERALD_ADMIN_KEY");
    if (env && *env) {
        if (credential_kind_of(env) != CRED_ADMIN || strlen(env) < 24) {
            hlog_error("serve: HERALD_ADMIN_KEY must start with hak_ and be at least 24 "
                       "characters");
            return -1;
        }
        key_hash(env, s->api.admin_key_hash);
        if (s->cfg.demo)
            *shown = xstrdup(env);
        return 0;
    }
    char stored[2 * SHA256_LEN + 1];
    if (store_meta_get(s->store, "admin_key_sha256", stored, sizeof stored) == STORE_OK &&
        hex_decode(stored, s->api.admin_key_hash, SHA256_LEN) == 0)
        return 0;
    char *key = admin_key_generate();
    key_hash(key, s->api.admin_key_hash);
    hex_encode(s->api.admin_key_hash, SHA256_LEN, stored);
    if (store_meta_set(s->store, "admin_key_sha256", stored) != STORE_OK) {
        free(key);
        return -1;
    }
    /* Printed once, to the terminal, never to the log. */
    printf("herald: generated the admin key (shown once, store it now):\n  %s\n", key);
    fflush(stdout);
    *shown = key;
    return 0;
}

/* Raises the open-file soft limit to the hard one, and keeps connections
 * FILES_RESERVED below it: the database, the WAL, the eventfd and the
 * listener need theirs, and accept() must never be the one to run out. */
#define FILES_RESERVED 64

static int connection_budget(int wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return wanted;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)wanted + FILES_RESERVED)
        return wanted;
    int budget = (int)rl.rlim_cur - FILES_RESERVED;
    if (budget < 16)
        budget = 16;
    hlog_warn("serve: %llu open files allowed: serving at most %d connections (max_connections "
              "is %d)", (unsigned long long)rl.rlim_cur, budget, wanted);
    return budget;
}

/* The demo page hands out its workspace key: fine on this machine only. */
static bool loopback_host(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

static int split_listen(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= cap)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[') { /* [::1]:8080 */
        size_t n = strlen(host);
        if (host[n - 1] != ']')
            return -1;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return mem_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return mem_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static void *icu_malloc(const void *context, size_t n)
{
    (void)context;
    return mem_malloc(n);
}

static void *icu_realloc(const void *context, void *p, size_t n)
{
    (void)context;
    return mem_realloc(p, n);
}

static void icu_free(const void *context, void *p)
{
    (void)context;
    free(p);
}

/* The libraries' allocations go through core/mem, so whichever meets a
 * failure first spends the reserve: libevent's, OpenSSL's and ICU's from
 * here, before any of them allocates; jansson's in jx_init, SQLite's and
 * libcurl's where those start. libpq has no such hook. */
static void reserve_memory(size_t mib)
{
    mem_init(mib << 20);
    event_set_mem_functions(mem_malloc, mem_realloc, free);
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
        hlog_warn("serve: OpenSSL allocated before Herald could route its memory");
    /* ICU takes them at any time: what it allocated before is freed with
     * icu_free, which is free(). */
    UErrorCode st = U_ZERO_ERROR;
    u_setMemoryFunctions(NULL, icu_malloc, icu_realloc, icu_free, &st);
}

int app_serve(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_usage(stdout);
            return 0;
        }
    struct server *s = xcalloc(1, sizeof *s);
    int status = 1;
    char *shown_key = NULL;
    if (config_load(&s->cfg, argc, argv, stderr) != 0) {
        status = 2; /* a usage error, like every subcommand's */
        goto out;
    }
    enum hlog_level level;
    if (hlog_parse_level(s->cfg.log_level, &level) != 0) {
        fprintf(stderr, "herald: log_level must be debug, info, warn or error\n");
        goto out;
    }
    hlog_set_level(level);
    char host[256];
    int port;
    if (split_listen(s->cfg.listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "herald: listen must be HOST:PORT, e.g. 127.0.0.1:8080\n");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    reserve_memory((size_t)s->cfg.memory_reserve_mib);
    jx_init();
    if (deliver_global_init() != 0) {
        fprintf(stderr, "herald: libcurl failed to initialise\n");
        goto out;
    }

    s->base = event_base_new();
    s->metrics = metrics_new();
    if (s->cfg.test_clock) {
        hclock_init_test(&s->clock, hclock_real_ms());
        hlog_warn("serve: --test-clock is on: time moves only through /v1/test/clock");
    } else {
        hclock_init_real(&s->clock);
    }
    if (s->cfg.demo && !loopback_host(host))
        hlog_warn("serve: --demo on %s: anyone who reaches this address gets the demo "
                  "workspace's API key from /v1/demo/session; listen on 127.0.0.1 instead",
                  s->cfg.listen);
    struct store_options so = {
        .backend = store_backend_for(s->cfg.database),
        .dsn = s->cfg.database,
        .workers = s->cfg.db_connections,
        .threaded = true,
        .base = s->base,
        .sync_full = strcmp(s->cfg.synchronous, "full") == 0,
        .max_batch = s->cfg.max_batch,
        .busy_timeout_ms = s->cfg.busy_timeout_ms,
        .cache_mib = s->cfg.sqlite_cache_mib,
        .metrics = s->metrics,
    };
    s->store = store_open(&so);
    if (!s->store)
        goto out;
    if (admin_key_setup(s, &shown_key) != 0)
        goto out;

    api_config_default(&s->api.cfg);
    s->api.cfg.test_clock = s->cfg.test_clock;
    s->api.cfg.metrics_token = s->cfg.metrics_token[0] ? s->cfg.metrics_token : NULL;
    s->api.cfg.default_token_ttl_s = s->cfg.token_ttl_s;
    s->api.cfg.allow_insecure_push = s->cfg.push_allow_insecure_endpoints;
    s->api.store = s->store;
    s->api.clock = &s->clock;
    s->api.metrics = s->metrics;
    /* Per node: each node counts the requests it serves (nodes.md). The
     * admin key has no limit: it is the operator's own, one per
     * installation, and provisioning scripts should not meet a 429. */
    struct ratelimit_config rlc = {
        .rules = {
            [RATELIMIT_API_KEY] = {s->cfg.rate_limit_key_per_s, s->cfg.rate_limit_key_burst},
            [RATELIMIT_MEMBER] = {s->cfg.rate_limit_member_per_s, s->cfg.rate_limit_member_burst},
        },
        .capacity = (size_t)s->cfg.rate_limit_entries,
    };
    s->limiter = ratelimit_new(&rlc);
    s->api.limiter = s->limiter;

    struct http_limits limits;
    http_limits_default(&limits);
    limits.max_body_bytes = (size_t)s->cfg.max_body_bytes;
    limits.max_connections = connection_budget(s->cfg.max_connections);
    limits.request_timeout_s = s->cfg.request_timeout_s;
    limits.idle_timeout_s = s->cfg.idle_timeout_s;
    s->http = http_server_new(s->base, &limits, api_handle, &s->api);
    http_server_set_observer(s->http, api_observe, &s->api);
    s->api.http = s->http;
    struct live_limits live;
    live_limits_default(&live);
    live.max_streams = s->cfg.max_streams;
    live.max_per_member = s->cfg.max_streams_per_member;
    /* Streams never take the last connections: the API must keep answering. */
    int room = limits.max_connections - 256;
    if (live.max_streams > room)
        live.max_streams = room > 1 ? room : 1;
    s->hub = live_new(s->base, s->store, s->metrics, &live);
    /* Several nodes on one database: what the others change reaches our streams. */
    struct store_remote remote = {live_remote_change, live_remote_popup, s->hub};
    if (store_set_remote(s->store, &remote) != 0)
        goto out;
    /* The installation's Web Push identity: made once, kept in the store. */
    s->vapid_key = vapid_key_load(s->store);
    if (!s->vapid_key || vapid_public_b64(s->vapid_key, s->vapid_public) != 0)
        goto out;
    s->api.vapid_public = s->vapid_public;
    if (*s->cfg.vapid_subject) {
        snprintf(s->vapid_subject, sizeof s->vapid_subject, "%s", s->cfg.vapid_subject);
    } else {
        snprintf(s->vapid_subject, sizeof s->vapid_subject, "mailto:%s",
                 *s->cfg.smtp_from ? s->cfg.smtp_from : "webpush@herald.invalid");
        if (!*s->cfg.smtp_from)
            hlog_warn("serve: vapid_subject is not set; some push services (Apple's) refuse "
                      "pushes without a real contact address");
    }
    struct deliver_settings ds;
    deliver_settings_from(&ds, &s->cfg);
    ds.push.vapid_key = s->vapid_key;
    ds.push.vapid_subject = s->vapid_subject;
    s->deliverer = deliverer_new(s->base, s->store, &s->clock, s->metrics, &ds);
    if (!s->deliverer)
        goto out;
    s->upkeep = upkeep_new(s->base, s->store, &s->clock, s->hub, s->deliverer,
                           s->cfg.prune_interval_s);
    s->api.hub = s->hub;
    s->api.upkeep = s->upkeep;
    s->api.deliverer = s->deliverer;
    int bound = http_server_listen(s->http, host, port);
    if (bound < 0)
        goto out;
    char url[300];
    snprintf(url, sizeof url, "http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", bound);
    if (s->cfg.demo && demo_seed(s->store, &s->clock, url, shown_key, &s->demo_key) != 0)
        goto out;
    s->api.demo_api_key = s->demo_key;
    s->api.cfg.demo = s->cfg.demo;
    s->api.ready = true;

    s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    s->grace = evtimer_new(s->base, on_grace, s);
    event_add(s->sigterm, NULL);
    event_add(s->sigint, NULL);
    upkeep_start(s->upkeep); /* windows left open by a previous run close on time */
    deliverer_start(s->deliverer); /* and what a previous run left unsent goes out */

    char shown_db[1100];
    store_describe(s->cfg.database, shown_db, sizeof shown_db);
    hlog_info("serve: herald %s listening on %s (database %s, %s)", HERALD_VERSION, url, shown_db,
              strcmp(store_backend_for(s->cfg.database), "sqlite") == 0
                  ? (strcmp(s->cfg.synchronous, "full") == 0 ? "synchronous=full" : "synchronous=normal")
                  : "postgresql");
    printf("herald: listening on %s\n", url);
    fflush(stdout);
    event_base_dispatch(s->base);
    status = 0;

out:
    if (s->upkeep)
        upkeep_stop(s->upkeep);
    deliverer_drain(s->deliverer, NULL, NULL);
    /* The store first: its last completions answer through the server. */
    store_close(s->store);
    deliverer_free(s->deliverer); /* sends cut short come back after their lease */
    EVP_PKEY_free(s->vapid_key);
    live_free(s->hub);
    upkeep_free(s->upkeep);
    if (s->http)
        http_server_free(s->http);
    if (s->sigterm)
        event_free(s->sigterm);
    if (s->sigint)
        event_free(s->sigint);
    if (s->grace)
        event_free(s->grace);
    if (s->base)
        event_base_free(s->base);
    metrics_free(s->metrics);
    ratelimit_free(s->limiter);
    free(shown_key);
    free(s->demo_key);
    free(s);
    if (status == 0)
        hlog_info("serve: stopped");
    return status;
}
