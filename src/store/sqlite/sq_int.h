/* sq_int.h - private to the SQLite backend.
 *
 * Two connections: the reader serves read operations inline on the loop
 * thread (WAL gives it a consistent snapshot without waiting for the
 * writer), and the writer belongs to the writer thread, which runs every
 * write inside a group commit (sq_writer.c). Each connection caches its
 * prepared statements, keyed by the address of the static SQL text. */
#ifndef HERALD_STORE_SQ_INT_H
#define HERALD_STORE_SQ_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/store_int.h"

#define SQ_CACHE_SLOTS 128

struct sq_read_cache;

struct sq_conn {
    sqlite3 *db;
    struct sq_read_cache *cache; /* writer only: rows ingest read this batch */
    const char *sql[SQ_CACHE_SLOTS];
    sqlite3_stmt *stmt[SQ_CACHE_SLOTS];
    struct render_ctx *render; /* writer only: formats notification texts */
    int failed;                /* the SQLite error sq_fail saw last (0: none) */
};

/* Runs one operation inside the caller's transaction. Rule: an operation
 * that returns STORE_NOT_FOUND or STORE_CONFLICT has written nothing, so the
 * writer can batch without savepoints (sq_writer.c). It may run twice for
 * one request (after another request's failure), so it sets its outputs
 * afresh each time. */
typedef int (*sq_run_fn)(struct sq_conn *c, struct store_req *r);

struct sq_op {
    sq_run_fn run;
    bool write;
};

struct sq_writer;
struct sq_checkpointer;

struct sq_store {
    struct store base;
    struct store_options opt;
    struct sq_conn reader;
    struct sq_conn writer; /* used by the writer thread, or inline when not threaded */
    struct sq_writer *thread;
    struct sq_checkpointer *checkpointer;
    struct metrics *metrics;
};

/* connections (sq_conn.c): how one is opened */
struct sq_conn_cfg {
    bool sync_full, writer;
    int busy_ms;   /* wait this long for another process's lock */
    int cache_mib; /* the page cache's cap: it grows to it with the database */
};
int sq_conn_open(struct sq_conn *c, const char *path, const struct sq_conn_cfg *cfg);
void sq_conn_close(struct sq_conn *c);
/* A ready statement for sql (a static string): prepared once, reset and
 * with bindings cleared on every call. */
sqlite3_stmt *sq_prep(struct sq_conn *c, const char *sql);
void sq_reset_all(struct sq_conn *c);
int sq_exec(struct sq_conn *c, const char *sql);
/* Runs one static statement through the cache (transaction control on the
 * hot path); 0 on success. */
int sq_step_sql(struct sq_conn *c, const char *sql);
const char *sq_text(sqlite3_stmt *st, int col, struct arena *a); /* NULL for NULL */
void sq_bind_text(sqlite3_stmt *st, int idx, const char *s);     /* NULL binds NULL */
int sq_fail(struct sq_conn *c, const char *what);                /* logs; STORE_UNAVAILABLE */
/* Whether the SQLite error code says the storage as a whole is failing
 * (locked by another process, full, an I/O error, out of memory) rather
 * than one request: running the same work again now would fail again. */
bool sq_storage_failing(int sqlite_rc);
/* Rolls back the open transaction, if SQLite has not already. */
void sq_rollback(struct sq_conn *c);
/* Runs one operation in its own transaction (reads: deferred; writes:
 * immediate). */
int sq_run_alone(struct sq_conn *c, const struct sq_op *op, struct store_req *r);

/* The writer's per-batch memory (sq_cache.c): rows ingest reads, the next
 * event key, and members' counters, which sq_cache_flush writes back. The
 * writer flushes before COMMIT and before any request that is not an
 * ingest, then clears; clearing without a flush discards (after rollback). */
void sq_cache_clear(struct sq_conn *c);
int sq_cache_flush(struct sq_conn *c);
void sq_cache_free(struct sq_conn *c);
struct member *sq_cached_member(struct sq_conn *c, int64_t wid, const char *id,
                                struct arena *a, bool *failed);
size_t sq_cached_active(struct sq_conn *c, int64_t wid, unsigned role_mask, struct arena *a,
                        struct member ***out, bool *failed);
int sq_cached_workspace(struct sq_conn *c, int64_t wid, struct arena *a, struct workspace *out);
int sq_next_event_key(struct sq_conn *c, int64_t *eid);
void sq_event_key_used(struct sq_conn *c, int64_t eid);

/* Appends the change to the member's log with the next seq and moves the
 * unread count (store_int.h). */
int sq_feed_change(struct sq_conn *c, const struct store_feed_change *fc, int64_t *seq,
                   int64_t *unread);

int sq_insert_notification(struct sq_conn *c, const struct store_new_notification *n,
                           int64_t *nid);
/* Logs a new in-app notification in the member's feed and adds the update
 * that announces it on their streams. */
int sq_publish_new(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                   const char *event_id, const char *data_json, struct arena *a,
                   struct store_updates *out);

/* the outbox (sq_outbox.c) */
struct external_text;
/* Writes the email and SMS rows of a notification (and an SMS's held email
 * fallback), and a push row per enabled device, in the caller's
 * transaction; *count grows by the rows due. event_id and conversation_id
 * (a grouped message notification's) go into the push's data; either may
 * be NULL. */
int sq_outbox_add(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                  const struct member *m, const struct external_text *x,
                  const char *event_id, const char *conversation_id, struct arena *a,
                  size_t *count);
/* Whether the outbox has anything to write for these channels and member
 * (push only with an enabled device), so texts are rendered only then. */
int sq_outbox_wanted(struct sq_conn *c, unsigned channels, int64_t mid, bool *wanted);

/* devices (sq_devices.c) */
int sq_device_put(struct sq_conn *c, struct store_req *r);
int sq_device_list(struct sq_conn *c, struct store_req *r);
int sq_device_delete(struct sq_conn *c, struct store_req *r);
int sq_event_deliveries(struct sq_conn *c, int64_t wid, int64_t eid, struct arena *a,
                        struct delivery **out, size_t *n);

/* message windows (sq_windows.c) */
int sq_window_add(struct sq_conn *c, const struct workspace *ws, const struct member *m,
                  const struct event_view *ev, int64_t eid, unsigned channels, int64_t now,
                  struct store_updates *out, int64_t *closes_at, size_t *deliveries);

/* schema (sq_schema.c) */
int sq_migrate(struct sq_conn *c);
int sq_user_version(struct sq_conn *c);

/* the writer thread (sq_writer.c) */
struct sq_writer *sq_writer_start(struct sq_store *s);
void sq_writer_submit(struct sq_writer *w, struct store_req *r);
/* Submits r and blocks until the writer has committed it. */
int sq_writer_call(struct sq_writer *w, struct store_req *r);
void sq_writer_stop(struct sq_writer *w);

/* the checkpoint thread (sq_checkpoint.c): takes WAL checkpoints off the
 * writer's commit path. Start after the writer connection is open; stop
 * after the writer thread, whose connection holds the WAL hook. */
struct sq_checkpointer *sq_checkpointer_start(struct sq_store *s);
void sq_checkpointer_stop(struct sq_store *s, struct sq_checkpointer *k);

/* operations, one file per area */
extern const struct sq_op SQ_OPS[ST_OP_COUNT];

int sq_ws_create(struct sq_conn *c, struct store_req *r);
int sq_ws_list(struct sq_conn *c, struct store_req *r);
int sq_ws_get(struct sq_conn *c, struct store_req *r);
int sq_ws_update(struct sq_conn *c, struct store_req *r);
int sq_credits_add(struct sq_conn *c, struct store_req *r);
int sq_key_create(struct sq_conn *c, struct store_req *r);
int sq_key_revoke(struct sq_conn *c, struct store_req *r);
int sq_key_list(struct sq_conn *c, struct store_req *r);
int sq_auth_key(struct sq_conn *c, struct store_req *r);
int sq_auth_member(struct sq_conn *c, struct store_req *r);
int sq_member_put(struct sq_conn *c, struct store_req *r);
int sq_member_get(struct sq_conn *c, struct store_req *r);
int sq_member_delete(struct sq_conn *c, struct store_req *r);
int sq_member_list(struct sq_conn *c, struct store_req *r);
int sq_prefs_patch(struct sq_conn *c, struct store_req *r);
int sq_event_ingest(struct sq_conn *c, struct store_req *r);
int sq_event_get(struct sq_conn *c, struct store_req *r);
int sq_feed_page(struct sq_conn *c, struct store_req *r);
int sq_notif_state(struct sq_conn *c, struct store_req *r);
int sq_read_all(struct sq_conn *c, struct store_req *r);
int sq_prune(struct sq_conn *c, struct store_req *r);
int sq_feed_replay(struct sq_conn *c, struct store_req *r);
int sq_windows_close(struct sq_conn *c, struct store_req *r);
int sq_windows_next(struct sq_conn *c, struct store_req *r);
int sq_conv_read(struct sq_conn *c, struct store_req *r);
int sq_outbox_claim(struct sq_conn *c, struct store_req *r);
int sq_outbox_result(struct sq_conn *c, struct store_req *r);
int sq_sink_send(struct sq_conn *c, struct store_req *r);
int sq_deliveries_list(struct sq_conn *c, struct store_req *r);
int sq_sink_list(struct sq_conn *c, struct store_req *r);

/* row loaders shared by the files above */
#define SQ_WS_COLS                                                                    \
    "w.wid, w.id, w.name, w.timezone, w.signing_secret, w.message_group_window_s, "  \
    "w.booking_alert_audience, w.phi_in_external_channels, w.sms_fallback_to_email, " \
    "w.retention_days, w.email_sender_name, w.sms_sender_id, w.prefs_set, w.prefs_on, " \
    "w.credits, w.created_at, w.app_url"
#define SQ_WS_NCOLS 17
void sq_load_workspace(sqlite3_stmt *st, int col, struct arena *a, struct workspace *w);
int sq_workspace_by_wid(struct sq_conn *c, int64_t wid, struct arena *a, struct workspace *w);

#define SQ_MEMBER_COLS                                                                  \
    "m.mid, m.wid, m.id, m.name, m.email, m.phone, m.role, m.timezone, m.locale, "     \
    "m.active, m.prefs_set, m.prefs_on, m.cancel_channels, m.cancel_within_days, "     \
    "m.push_enabled, m.unread, m.created_at, m.updated_at"
#define SQ_MEMBER_NCOLS 18
void sq_load_member(sqlite3_stmt *st, int col, struct arena *a, struct member *m);

/* the audit trail (sq_audit.c) */
int sq_audit_add(struct sq_conn *c, const struct audit_write *e);
int sq_audit_list(struct sq_conn *c, struct store_req *r);
int sq_audit_prune(struct sq_conn *c, int64_t now, int max, int64_t *deleted);

#endif
