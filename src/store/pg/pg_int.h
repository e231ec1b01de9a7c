/* pg_int.h - private to the PostgreSQL backend.
 *
 * A pool of worker threads, each owning one blocking libpq connection,
 * runs every request in its own transaction (pg_pool.c) and hands it back
 * to the loop through an eventfd. PostgreSQL itself gathers concurrent
 * commits into one WAL flush, so one request per transaction costs no
 * extra fsync under load, and rows are locked in a fixed order (members by
 * mid) so workers of any node never deadlock each other.
 *
 * Live changes cross nodes by NOTIFY: each transaction that changes a
 * member's feed queues "mid:seq" pairs on its connection (pg_feed_change),
 * or "p<id>" for a message pop-up it kept in live_popups, and pg_run sends
 * them in the same transaction, so they are delivered only if it commits
 * (pg_listen.c receives them on the loop).
 *
 * Statements are prepared once per connection, keyed by the address of the
 * static SQL text; parameters go as text, results come back as text. */
#ifndef HERALD_STORE_PG_INT_H
#define HERALD_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/buf.h"
#include "store/store_int.h"

#define PG_CACHE_SLOTS 160
#define PG_MAX_PARAMS 24
#define PG_NOTIFY_CHANNEL "herald_feed"

struct pg_conn {
    PGconn *db;
    const char *dsn;
    struct render_ctx *render; /* formats notification texts */
    const char *sql[PG_CACHE_SLOTS];
    int nprepared;
    char sqlstate[6];          /* of the last failure: decides whether to retry */
    uint64_t node;             /* this process, so it can skip its own notices */
    struct buf notify;         /* "mid:seq mid:seq ..." queued by this transaction */
};

/* Text parameters for one statement. NULL values bind SQL NULL. */
struct pg_params {
    int n;
    const char *v[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS];
    int fmt[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
};
#define PG_PARAMS_INIT {0}
void pgp_int(struct pg_params *p, int64_t v);
void pgp_text(struct pg_params *p, const char *s); /* NULL: SQL NULL */
void pgp_bool(struct pg_params *p, bool b);
/* "{1,2,3}": the text of a bigint[] parameter, in a. */
const char *pg_int_array(struct arena *a, const int64_t *v, size_t n);
/* {"a","b\"c",NULL}: the text of a text[] parameter, in a (NULL: NULL). */
const char *pg_text_array(struct arena *a, const char *const *v, size_t n);
void pgp_null(struct pg_params *p);
/* bytea, sent in binary: b must stay valid until the statement has run */
void pgp_bytes(struct pg_params *p, const void *b, size_t n);

/* Runs a static statement (prepared once per connection). Returns its
 * result (tuples or command OK), or NULL after logging the failure and
 * remembering its SQLSTATE; the caller PQclears a non-NULL result. */
PGresult *pg_q(struct pg_conn *c, const char *sql, const struct pg_params *p);
/* A statement without rows: STORE_OK or STORE_UNAVAILABLE; *affected (may
 * be NULL) gets the number of rows it changed. */
int pg_cmd(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *affected);
/* Runs SQL text with no parameters and no result (DDL, transaction
 * control); 0 on success. */
int pg_exec(struct pg_conn *c, const char *sql);

/* Result accessors: NULL reads as 0, false or NULL. */
int64_t pg_int(const PGresult *res, int row, int col);
bool pg_bool(const PGresult *res, int row, int col);
bool pg_isnull(const PGresult *res, int row, int col);
const char *pg_text(const PGresult *res, int row, int col, struct arena *a);
/* A bytea column (text form "\x..."): true when it decodes to exactly n
 * bytes into out. */
bool pg_bytes(const PGresult *res, int row, int col, void *out, size_t n);

/* Logs what failed (never the values), keeps its SQLSTATE; returns
 * STORE_UNAVAILABLE. res may be NULL. */
int pg_fail(struct pg_conn *c, const char *what, const PGresult *res);
/* Whether the last failure is worth running the request again:
 * serialization failure, deadlock, a unique key taken or a referenced row
 * deleted by a concurrent transaction, or a lost connection. */
bool pg_retryable(const struct pg_conn *c);

/* connections (pg_conn.c) */
/* Connects with a 10 s connect_timeout unless the DSN sets one;
 * start_only: PQconnectStartParams, to be polled (non-blocking). */
PGconn *pg_connect(const char *dsn, bool start_only);
int pg_conn_open(struct pg_conn *c, const char *dsn, uint64_t node);
void pg_conn_close(struct pg_conn *c);
/* After a lost connection: connect again (prepared statements are gone). */
int pg_conn_reset(struct pg_conn *c);

/* Runs one operation in its own transaction, retrying a retryable failure
 * a few times; sends the transaction's queued notices before COMMIT. */
struct pg_op;
int pg_run(struct pg_conn *c, const struct pg_op *op, struct store_req *r);

/* Runs one operation inside the caller's transaction. Like the SQLite
 * backend's: an operation that answers STORE_NOT_FOUND or STORE_CONFLICT
 * has written nothing it would keep, and it sets its outputs afresh on
 * every run, since a retry runs it again. */
typedef int (*pg_run_fn)(struct pg_conn *c, struct store_req *r);

struct pg_op {
    pg_run_fn run;
    bool write;
    /* a read whose statements need no common snapshot (one statement, or
     * lookups by key): it runs without BEGIN and COMMIT, two round trips
     * fewer on every authenticated request */
    bool bare;
};

extern const struct pg_op PG_OPS[ST_OP_COUNT];

struct pg_pool;
struct pg_listener;

struct pg_store {
    struct store base;
    struct store_options opt;
    uint64_t node;
    struct pg_conn direct;    /* start-up, CLI and store_call before the loop runs */
    struct pg_pool *pool;
    struct pg_listener *listener;
    struct metrics *metrics;
    int schema_version;       /* as migrated at open */
};

/* the notice connection (pg_listen.c), on the loop */
struct pg_listener *pg_listener_start(struct pg_store *s, const struct store_remote *remote);
void pg_listener_stop(struct pg_listener *l);

/* the worker pool (pg_pool.c) */
struct pg_pool *pg_pool_start(struct pg_store *s, int workers);
void pg_pool_submit(struct pg_pool *p, struct store_req *r);
int pg_pool_call(struct pg_pool *p, struct store_req *r);
void pg_pool_stop(struct pg_pool *p);

/* schema (pg_schema.c): the same versions as the SQLite backend's */
int pg_migrate(struct pg_conn *c);
int pg_schema_version_of(struct pg_conn *c);

/* ---- shared by the operation files (mirrors sq_int.h) ---- */

/* Appends the change to the member's log with the next seq, moves the
 * unread count (both on the member row, locked until commit, so seqs
 * commit in order), and queues the "mid:seq" notice. */
int pg_feed_change(struct pg_conn *c, const struct store_feed_change *fc, int64_t *seq,
                   int64_t *unread);
/* After a log row (seq) was appended for mid: trims the log now and then,
 * and queues the notice. */
int pg_feed_logged(struct pg_conn *c, int64_t mid, int64_t seq);
/* Queues a notice for the other nodes: a member's count changed without a
 * log entry (seq 0). */
void pg_notify_count(struct pg_conn *c, int64_t mid);

/* Locks the members' rows in mid order (deadlock-free across workers and
 * nodes) before a transaction changes several of them. */
int pg_lock_members(struct pg_conn *c, const int64_t *mids, size_t n);

int pg_insert_notification(struct pg_conn *c, const struct store_new_notification *n,
                           int64_t *nid);
int pg_publish_new(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
                   const char *event_id, const char *data_json, struct arena *a,
                   struct store_updates *out);
/* An in-app notification, its feed change and the member's counters in
 * one statement (one round trip under the member's lock instead of
 * three); then pg_announce_new adds the update that announces it. */
int pg_insert_logged(struct pg_conn *c, const struct store_new_notification *n, int64_t *nid,
                     int64_t *seq, int64_t *unread);
void pg_announce_new(const struct store_new_notification *n, int64_t nid, int64_t seq,
                     int64_t unread, const char *event_id, const char *data_json,
                     struct arena *a, struct store_updates *out);

struct external_text;
int pg_outbox_add(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
                  const struct member *m, const struct external_text *x,
                  const char *event_id, const char *conversation_id, struct arena *a,
                  size_t *count);
int pg_outbox_wanted(struct pg_conn *c, unsigned channels, int64_t mid, bool *wanted);
int pg_event_deliveries(struct pg_conn *c, int64_t wid, int64_t eid, struct arena *a,
                        struct delivery **out, size_t *n);
int pg_window_add(struct pg_conn *c, const struct workspace *ws, const struct member *m,
                  const struct event_view *ev, int64_t eid, unsigned channels, int64_t now,
                  struct store_updates *out, int64_t *closes_at, size_t *deliveries);

/* the audit trail (pg_audit.c) */
int pg_audit_add(struct pg_conn *c, const struct audit_write *e);
int pg_audit_prune(struct pg_conn *c, int64_t now, int max, int64_t *deleted);

/* row loaders */
#define PG_WS_COLS                                                                    \
    "w.wid, w.id, w.name, w.timezone, w.signing_secret, w.message_group_window_s, "  \
    "w.booking_alert_audience, w.phi_in_external_channels, w.sms_fallback_to_email, " \
    "w.retention_days, w.email_sender_name, w.sms_sender_id, w.prefs_set, w.prefs_on, " \
    "w.credits, w.created_at, w.app_url"
#define PG_WS_NCOLS 17
void pg_load_workspace(const PGresult *res, int row, int col, struct arena *a,
                       struct workspace *w);
int pg_workspace_by_wid(struct pg_conn *c, int64_t wid, struct arena *a, struct workspace *w);

#define PG_MEMBER_COLS                                                                  \
    "m.mid, m.wid, m.id, m.name, m.email, m.phone, m.role, m.timezone, m.locale, "     \
    "m.active, m.prefs_set, m.prefs_on, m.cancel_channels, m.cancel_within_days, "     \
    "m.push_enabled, m.unread, m.created_at, m.updated_at"
#define PG_MEMBER_NCOLS 18
void pg_load_member(const PGresult *res, int row, int col, struct arena *a, struct member *m);

/* operations, one file per area */
int pg_ws_create(struct pg_conn *c, struct store_req *r);
int pg_ws_list(struct pg_conn *c, struct store_req *r);
int pg_ws_get(struct pg_conn *c, struct store_req *r);
int pg_ws_update(struct pg_conn *c, struct store_req *r);
int pg_credits_add(struct pg_conn *c, struct store_req *r);
int pg_key_create(struct pg_conn *c, struct store_req *r);
int pg_key_revoke(struct pg_conn *c, struct store_req *r);
int pg_key_list(struct pg_conn *c, struct store_req *r);
int pg_auth_key(struct pg_conn *c, struct store_req *r);
int pg_auth_member(struct pg_conn *c, struct store_req *r);
int pg_member_put(struct pg_conn *c, struct store_req *r);
int pg_member_get(struct pg_conn *c, struct store_req *r);
int pg_member_delete(struct pg_conn *c, struct store_req *r);
int pg_member_list(struct pg_conn *c, struct store_req *r);
int pg_prefs_patch(struct pg_conn *c, struct store_req *r);
int pg_event_ingest(struct pg_conn *c, struct store_req *r);
int pg_event_get(struct pg_conn *c, struct store_req *r);
int pg_feed_page(struct pg_conn *c, struct store_req *r);
int pg_notif_state(struct pg_conn *c, struct store_req *r);
int pg_read_all(struct pg_conn *c, struct store_req *r);
int pg_prune(struct pg_conn *c, struct store_req *r);
int pg_feed_replay(struct pg_conn *c, struct store_req *r);
int pg_windows_close(struct pg_conn *c, struct store_req *r);
int pg_windows_next(struct pg_conn *c, struct store_req *r);
int pg_conv_read(struct pg_conn *c, struct store_req *r);
int pg_outbox_claim(struct pg_conn *c, struct store_req *r);
int pg_outbox_result(struct pg_conn *c, struct store_req *r);
int pg_sink_send(struct pg_conn *c, struct store_req *r);
int pg_deliveries_list(struct pg_conn *c, struct store_req *r);
int pg_sink_list(struct pg_conn *c, struct store_req *r);
int pg_device_put(struct pg_conn *c, struct store_req *r);
int pg_device_list(struct pg_conn *c, struct store_req *r);
int pg_device_delete(struct pg_conn *c, struct store_req *r);
int pg_popup_get(struct pg_conn *c, struct store_req *r);
int pg_audit_list(struct pg_conn *c, struct store_req *r);

#endif
