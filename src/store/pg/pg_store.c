/* pg_store.c - the "postgresql" store backend: opening, dispatch, meta.
 *
 * Threaded (herald serve): every request goes to the worker pool, reads
 * included, so the loop never waits on the network. Not threaded (CLI
 * commands, and store_call before the pool exists): requests run on the
 * direct connection, on the caller's thread. */
#include "store/pg/pg_int.h"
#include "core/crypto.h"
#include "core/log.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WORKERS 8

static int pg_ping(struct pg_conn *c, struct store_req *r)
{
    (void)r;
    static const char SQL[] = "SELECT 1";
    PGresult *res = pg_q(c, SQL, NULL);
    if (!res)
        return STORE_UNAVAILABLE;
    PQclear(res);
    return STORE_OK;
}

static int pg_meta_put(struct pg_conn *c, struct store_req *r)
{
    struct st_meta_set *q = (struct st_meta_set *)r;
    static const char KEEP[] = "INSERT INTO meta(key, value) VALUES ($1, $2) "
                               "ON CONFLICT (key) DO NOTHING";
    static const char SET[] = "INSERT INTO meta(key, value) VALUES ($1, $2) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->key);
    pgp_text(&p, q->value);
    int64_t n = 0;
    if (pg_cmd(c, q->keep_existing ? KEEP : SET, &p, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    return q->keep_existing && n == 0 ? STORE_CONFLICT : STORE_OK;
}

const struct pg_op PG_OPS[ST_OP_COUNT] = {
    [ST_WS_CREATE] = {pg_ws_create, true, false},
    [ST_WS_LIST] = {pg_ws_list, false, false},
    [ST_WS_GET] = {pg_ws_get, false, true},
    [ST_WS_UPDATE] = {pg_ws_update, true, false},
    [ST_CREDITS_ADD] = {pg_credits_add, true, false},
    [ST_KEY_CREATE] = {pg_key_create, true, false},
    [ST_KEY_REVOKE] = {pg_key_revoke, true, false},
    [ST_KEY_LIST] = {pg_key_list, false, false},
    [ST_AUTH_KEY] = {pg_auth_key, false, true},
    [ST_AUTH_MEMBER] = {pg_auth_member, false, true},
    [ST_MEMBER_PUT] = {pg_member_put, true, false},
    [ST_MEMBER_GET] = {pg_member_get, false, true},
    [ST_MEMBER_DELETE] = {pg_member_delete, true, false},
    [ST_MEMBER_LIST] = {pg_member_list, false, false},
    [ST_EVENT_INGEST] = {pg_event_ingest, true, false},
    [ST_EVENT_GET] = {pg_event_get, false, false},
    [ST_FEED_PAGE] = {pg_feed_page, false, false},
    [ST_NOTIF_STATE] = {pg_notif_state, true, false},
    [ST_READ_ALL] = {pg_read_all, true, false},
    [ST_PREFS_PATCH] = {pg_prefs_patch, true, false},
    [ST_PRUNE] = {pg_prune, true, false},
    [ST_PING] = {pg_ping, false, true},
    [ST_META_SET] = {pg_meta_put, true, false},
    [ST_FEED_REPLAY] = {pg_feed_replay, false, false},
    [ST_WINDOWS_CLOSE] = {pg_windows_close, true, false},
    [ST_WINDOWS_NEXT] = {pg_windows_next, false, false},
    [ST_CONV_READ] = {pg_conv_read, true, false},
    [ST_OUTBOX_CLAIM] = {pg_outbox_claim, true, false},
    [ST_OUTBOX_RESULT] = {pg_outbox_result, true, false},
    [ST_SINK_SEND] = {pg_sink_send, true, false},
    [ST_DELIVERIES_LIST] = {pg_deliveries_list, false, false},
    [ST_SINK_LIST] = {pg_sink_list, false, false},
    [ST_DEVICE_PUT] = {pg_device_put, true, false},
    [ST_DEVICE_LIST] = {pg_device_list, false, false},
    [ST_DEVICE_DELETE] = {pg_device_delete, true, false},
    [ST_POPUP_GET] = {pg_popup_get, false, true},
    [ST_AUDIT_LIST] = {pg_audit_list, false, false},
};

static struct pg_store *pg(struct store *s)
{
    return (struct pg_store *)s;
}

static void pg_close(struct store *s)
{
    struct pg_store *q = pg(s);
    /* The pool first: its last answers may be pop-ups the listener asked for. */
    if (q->pool)
        pg_pool_stop(q->pool);
    pg_listener_stop(q->listener);
    pg_conn_close(&q->direct);
    free(q);
}

static struct store *pg_open(const struct store_options *opt)
{
    struct pg_store *q = xcalloc(1, sizeof *q);
    q->base.backend = &store_pg_backend;
    q->opt = *opt;
    q->metrics = opt->metrics;
    /* A random name for this process: its own notices come back to it. */
    crypto_random(&q->node, sizeof q->node);
    q->node |= 1;
    if (pg_conn_open(&q->direct, opt->dsn, q->node) != 0 || pg_migrate(&q->direct) != 0 ||
        (q->schema_version = pg_schema_version_of(&q->direct)) < 0) {
        pg_conn_close(&q->direct);
        free(q);
        return NULL;
    }
    if (opt->threaded) {
        q->pool = pg_pool_start(q, opt->workers > 0 ? opt->workers : DEFAULT_WORKERS);
        if (!q->pool) {
            pg_close(&q->base);
            return NULL;
        }
    }
    return &q->base;
}

static int pg_call(struct store *s, struct store_req *r)
{
    struct pg_store *q = pg(s);
    if (q->pool)
        return pg_pool_call(q->pool, r);
    r->rc = pg_run(&q->direct, &PG_OPS[r->op], r);
    return r->rc;
}

static void pg_submit(struct store *s, struct store_req *r)
{
    struct pg_store *q = pg(s);
    if (q->pool) {
        pg_pool_submit(q->pool, r);
        return;
    }
    r->rc = pg_run(&q->direct, &PG_OPS[r->op], r);
    if (r->rc == STORE_UNAVAILABLE)
        metrics_store_error(q->metrics);
    r->done(r);
}

/* Start-up only, before the pool serves requests: the direct connection
 * belongs to the thread that opened the store. */
static int pg_meta_get(struct store *s, const char *key, char *out, size_t cap)
{
    struct pg_conn *c = &pg(s)->direct;
    static const char SQL[] = "SELECT value FROM meta WHERE key = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, key);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) == 1) {
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

static int pg_meta_set(struct store *s, const char *key, const char *value, bool keep_existing)
{
    struct st_meta_set q = {.base = {.op = ST_META_SET}, .key = key, .value = value,
                            .keep_existing = keep_existing};
    return pg_call(s, &q.base);
}

/* What this process migrated to (a node never runs on a schema it did not
 * check), without a query on the loop. */
static int pg_schema_version(struct store *s)
{
    return pg(s)->schema_version;
}

static int pg_set_remote(struct store *s, const struct store_remote *remote)
{
    struct pg_store *q = pg(s);
    if (!q->opt.threaded || q->listener)
        return 0;
    q->listener = pg_listener_start(q, remote);
    return q->listener ? 0 : -1;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .submit = pg_submit,
    .call = pg_call,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .schema_version = pg_schema_version,
    .set_remote = pg_set_remote,
};
