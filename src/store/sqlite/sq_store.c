/* sq_store.c - the "sqlite" store backend: opening, dispatch, meta.
 *
 * Threaded (herald serve): reads run inline on the loop with the reader
 * connection; writes go to the writer thread's group commit. Not threaded
 * (CLI commands): both run inline, each in its own transaction. */
#include "store/sqlite/sq_int.h"
#include "core/log.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int sq_ping(struct sq_conn *c, struct store_req *r)
{
    (void)r;
    sqlite3_stmt *st = sq_prep(c, "SELECT 1");
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return sq_fail(c, "ping");
    return STORE_OK;
}

static int sq_meta_put(struct sq_conn *c, struct store_req *r);

const struct sq_op SQ_OPS[ST_OP_COUNT] = {
    [ST_WS_CREATE] = {sq_ws_create, true},
    [ST_WS_LIST] = {sq_ws_list, false},
    [ST_WS_GET] = {sq_ws_get, false},
    [ST_WS_UPDATE] = {sq_ws_update, true},
    [ST_CREDITS_ADD] = {sq_credits_add, true},
    [ST_KEY_CREATE] = {sq_key_create, true},
    [ST_KEY_REVOKE] = {sq_key_revoke, true},
    [ST_KEY_LIST] = {sq_key_list, false},
    [ST_AUTH_KEY] = {sq_auth_key, false},
    [ST_AUTH_MEMBER] = {sq_auth_member, false},
    [ST_MEMBER_PUT] = {sq_member_put, true},
    [ST_MEMBER_GET] = {sq_member_get, false},
    [ST_MEMBER_DELETE] = {sq_member_delete, true},
    [ST_MEMBER_LIST] = {sq_member_list, false},
    [ST_EVENT_INGEST] = {sq_event_ingest, true},
    [ST_EVENT_GET] = {sq_event_get, false},
    [ST_FEED_PAGE] = {sq_feed_page, false},
    [ST_NOTIF_STATE] = {sq_notif_state, true},
    [ST_READ_ALL] = {sq_read_all, true},
    [ST_PREFS_PATCH] = {sq_prefs_patch, true},
    [ST_PRUNE] = {sq_prune, true},
    [ST_PING] = {sq_ping, false},
    [ST_META_SET] = {sq_meta_put, true},
    [ST_FEED_REPLAY] = {sq_feed_replay, false},
    [ST_WINDOWS_CLOSE] = {sq_windows_close, true},
    [ST_WINDOWS_NEXT] = {sq_windows_next, false},
    [ST_CONV_READ] = {sq_conv_read, true},
    [ST_OUTBOX_CLAIM] = {sq_outbox_claim, true},
    [ST_OUTBOX_RESULT] = {sq_outbox_result, true},
    [ST_SINK_SEND] = {sq_sink_send, true},
    [ST_DELIVERIES_LIST] = {sq_deliveries_list, false},
    [ST_SINK_LIST] = {sq_sink_list, false},
    [ST_AUDIT_LIST] = {sq_audit_list, false},
    [ST_DEVICE_PUT] = {sq_device_put, true},
    [ST_DEVICE_LIST] = {sq_device_list, false},
    [ST_DEVICE_DELETE] = {sq_device_delete, true},
};

static struct sq_store *sq(struct store *s)
{
    return (struct sq_store *)s;
}

static int sq_call(struct store *s, struct store_req *r);

static void sq_close(struct store *s)
{
    struct sq_store *q = sq(s);
    if (q->thread)
        sq_writer_stop(q->thread);
    if (q->checkpointer)
        sq_checkpointer_stop(q, q->checkpointer);
    sq_conn_close(&q->reader);
    sq_conn_close(&q->writer);
    free(q);
}

/* Reads answer on the loop thread, where any wait stalls every connection.
 * WAL readers wait only in rare, short moments (another connection
 * recovering the WAL index); a read that would wait longer answers 503. */
#define LOOP_READER_BUSY_MS 100

static struct store *sq_open(const struct store_options *opt)
{
    struct sq_store *q = xcalloc(1, sizeof *q);
    q->base.backend = &store_sqlite_backend;
    q->opt = *opt;
    q->metrics = opt->metrics;
    if (q->opt.busy_timeout_ms <= 0)
        q->opt.busy_timeout_ms = 5000;
    int busy = q->opt.busy_timeout_ms;
    int read_busy = opt->threaded && busy > LOOP_READER_BUSY_MS ? LOOP_READER_BUSY_MS : busy;
    /* The file holds signing secrets: only its owner may read it. */
    mode_t old = umask(077);
    struct sq_conn_cfg wcfg = {opt->sync_full, true, busy, opt->cache_mib};
    struct sq_conn_cfg rcfg = {opt->sync_full, false, read_busy, opt->cache_mib};
    int rc = sq_conn_open(&q->writer, opt->dsn, &wcfg);
    umask(old);
    if (rc != 0 || sq_migrate(&q->writer) != 0 || sq_conn_open(&q->reader, opt->dsn, &rcfg) != 0) {
        sq_conn_close(&q->writer);
        free(q);
        return NULL;
    }
    if (opt->threaded) {
        q->checkpointer = sq_checkpointer_start(q);
        q->thread = sq_writer_start(q);
        if (!q->thread || !q->checkpointer) {
            sq_close(&q->base);
            return NULL;
        }
    }
    return &q->base;
}

static int sq_call(struct store *s, struct store_req *r)
{
    struct sq_store *q = sq(s);
    const struct sq_op *op = &SQ_OPS[r->op];
    /* Writes belong to the writer thread when there is one; reads use the
     * reader, which belongs to the caller's thread (the loop's, before it
     * runs, or the CLI's). */
    if (op->write && q->thread)
        return sq_writer_call(q->thread, r);
    r->rc = sq_run_alone(op->write ? &q->writer : &q->reader, op, r);
    return r->rc;
}

static void sq_submit(struct store *s, struct store_req *r)
{
    struct sq_store *q = sq(s);
    const struct sq_op *op = &SQ_OPS[r->op];
    if (op->write && q->thread) {
        sq_writer_submit(q->thread, r);
        return;
    }
    r->rc = sq_run_alone(op->write ? &q->writer : &q->reader, op, r);
    if (r->rc == STORE_UNAVAILABLE)
        metrics_store_error(q->metrics);
    r->done(r);
}

static int sq_meta_get(struct store *s, const char *key, char *out, size_t cap)
{
    struct sq_conn *c = &sq(s)->reader;
    sqlite3_stmt *st = sq_prep(c, "SELECT value FROM meta WHERE key = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    int out_rc = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        out_rc = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out_rc = sq_fail(c, "meta");
    }
    sqlite3_reset(st);
    return out_rc;
}

static int sq_meta_put(struct sq_conn *c, struct store_req *r)
{
    struct st_meta_set *q = (struct st_meta_set *)r;
    sqlite3_stmt *st = sq_prep(c, q->keep_existing
                                      ? "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                        "ON CONFLICT(key) DO NOTHING"
                                      : "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->key);
    sq_bind_text(st, 2, q->value);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "meta");
    return q->keep_existing && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : STORE_OK;
}

static int sq_meta_set(struct store *s, const char *key, const char *value, bool keep_existing)
{
    struct st_meta_set q = {.base = {.op = ST_META_SET}, .key = key, .value = value,
                            .keep_existing = keep_existing};
    return sq_call(s, &q.base);
}

static int sq_schema_version(struct store *s)
{
    return sq_user_version(&sq(s)->reader);
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .submit = sq_submit,
    .call = sq_call,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .schema_version = sq_schema_version,
};
