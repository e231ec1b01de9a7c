/* pg_feed.c - a member's feed (PostgreSQL): pages, state changes, read-all,
 * the change log streams replay, and the retention pruning that keeps it
 * all bounded.
 *
 * The unread count and the log's position live on the member row. Every
 * change to a feed takes that row first (an UPDATE, or SELECT ... FOR
 * UPDATE) and holds it until commit, so one member's changes are
 * serialized across workers and nodes, the log's seqs commit in order, and
 * the count stays exact without COUNT(*). Rows are taken members first,
 * then notifications and the rest (pg_int.h). */
#include "store/pg/pg_int.h"
#include "engine/feeditem.h"
#include "engine/outcome.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r

#define FEED_LOG_KEEP 1000 /* changes kept per member for stream replay */
#define MAX_COUNT_UPDATES 256
#define DEVICE_UNUSED_MS (270LL * 86400 * 1000)

/* ---- the log ---- */

static int trim_log(struct pg_conn *c, int64_t mid, int64_t seq)
{
    static const char SQL[] = "DELETE FROM feed_changes WHERE mid = $1 AND seq <= $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    pgp_int(&p, seq - FEED_LOG_KEEP);
    return pg_cmd(c, SQL, &p, NULL);
}

int pg_feed_logged(struct pg_conn *c, int64_t mid, int64_t seq)
{
    if (seq % 256 == 0 && seq > FEED_LOG_KEEP && trim_log(c, mid, seq) != STORE_OK)
        return STORE_UNAVAILABLE;
    buf_printf(&c->notify, "%" PRId64 ":%" PRId64 " ", mid, seq);
    return STORE_OK;
}

int pg_feed_change(struct pg_conn *c, const struct store_feed_change *fc, int64_t *seq,
                   int64_t *unread)
{
    /* The UPDATE takes the member row until commit: the next change of
     * this member, from any node, waits and gets the next seq. One
     * statement moves the counters and appends the log row. */
    static const char SQL[] =
        "WITH m AS (UPDATE members SET change_seq = change_seq + 1, unread = unread + $2 "
        "  WHERE mid = $1 RETURNING change_seq, unread) "
        "INSERT INTO feed_changes(mid, seq, kind, nid, state, changed, unread, at) "
        "SELECT $1, m.change_seq, $3, $4::bigint, $5::bigint, $6::bigint, m.unread, $7 FROM m "
        "RETURNING seq, unread";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, fc->mid);
    pgp_int(&p, fc->unread_delta);
    pgp_int(&p, fc->kind);
    if (fc->nid)
        pgp_int(&p, fc->nid);
    else
        pgp_null(&p);
    if (fc->kind == STORE_CHANGE_STATE)
        pgp_int(&p, fc->state);
    else
        pgp_null(&p);
    if (fc->kind == STORE_CHANGE_READ_ALL)
        pgp_int(&p, fc->changed);
    else
        pgp_null(&p);
    pgp_int(&p, fc->at);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    bool found = PQntuples(res) == 1;
    if (found) {
        *seq = pg_int(res, 0, 0);
        *unread = pg_int(res, 0, 1);
    }
    PQclear(res);
    if (!found)
        return pg_fail(c, "member counters", NULL);
    return pg_feed_logged(c, fc->mid, *seq);
}

void pg_notify_count(struct pg_conn *c, int64_t mid)
{
    buf_printf(&c->notify, "%" PRId64 ":0 ", mid);
}

/* ---- pages ---- */

#define FEED_COLS \
    "SELECT n.nid, n.type, n.category, n.title, n.body, n.state, n.created_at, e.id, e.data " \
    "FROM notifications n LEFT JOIN events e ON e.eid = n.eid "

int pg_feed_page(struct pg_conn *c, struct store_req *r)
{
    R(st_feed_page);
    static const char BY_STATE[] = FEED_COLS
        "WHERE n.mid = $1 AND n.in_app = 1 AND n.state = $5 AND n.nid < $2 AND n.wid = $3 "
        "ORDER BY n.nid DESC LIMIT $4";
    static const char ALL[] = FEED_COLS
        "WHERE n.mid = $1 AND n.in_app = 1 AND n.nid < $2 AND n.wid = $3 "
        "ORDER BY n.nid DESC LIMIT $4";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_int(&p, q->before_nid > 0 ? q->before_nid : INT64_MAX);
    pgp_int(&p, q->wid);
    pgp_int(&p, (int64_t)q->limit + 1);
    if (q->state != FEED_ALL)
        pgp_int(&p, q->state);
    q->items = ARENA_NEW_N(r->arena, struct feed_item, (size_t)q->limit + 1);
    q->n = 0;
    q->more = false;
    PGresult *res = pg_q(c, q->state == FEED_ALL ? ALL : BY_STATE, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        struct feed_item *it = &q->items[q->n++];
        it->nid = pg_int(res, i, 0);
        it->type = pg_text(res, i, 1, r->arena);
        it->category = (int)pg_int(res, i, 2);
        it->title = pg_text(res, i, 3, r->arena);
        it->body = pg_text(res, i, 4, r->arena);
        it->state = (int)pg_int(res, i, 5);
        it->created_at = pg_int(res, i, 6);
        it->event_id = pg_text(res, i, 7, r->arena);
        it->data_json = pg_text(res, i, 8, r->arena);
    }
    PQclear(res);
    return STORE_OK;
}

/* ---- state changes ---- */

/* Takes the member's row (before any of their notifications) and reads
 * their count as it stands now. *found false: no such member. */
static int lock_member(struct pg_conn *c, int64_t mid, bool *found, int64_t *unread)
{
    static const char SQL[] = "SELECT unread FROM members WHERE mid = $1 FOR UPDATE";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *found = PQntuples(res) == 1;
    if (*found)
        *unread = pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* The notification's state now and its event, for the trail (*found
 * false: not in this member's feed). */
static int notif_state_of(struct pg_conn *c, const struct st_notif_state *q, bool *found,
                          int *state, int64_t *eid)
{
    static const char SQL[] =
        "SELECT state, eid FROM notifications "
        "WHERE nid = $1 AND mid = $2 AND wid = $3 AND in_app = 1 FOR UPDATE";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->nid);
    pgp_int(&p, q->mid);
    pgp_int(&p, q->wid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *found = PQntuples(res) == 1;
    if (*found) {
        *state = (int)pg_int(res, 0, 0);
        *eid = pg_int(res, 0, 1);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_notif_state(struct pg_conn *c, struct store_req *r)
{
    R(st_notif_state);
    static const char SET[] = "UPDATE notifications SET state = $2, state_at = $3 WHERE nid = $1";
    bool found;
    int64_t eid = 0;
    int rc = lock_member(c, q->mid, &found, &q->unread);
    if (rc != STORE_OK || !found)
        return rc != STORE_OK ? rc : STORE_NOT_FOUND;
    if ((rc = notif_state_of(c, q, &found, &q->old_state, &eid)) != STORE_OK || !found)
        return rc != STORE_OK ? rc : STORE_NOT_FOUND;
    q->changed = q->old_state != q->state;
    if (!q->changed)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->nid);
    pgp_int(&p, q->state);
    pgp_int(&p, q->now);
    if (pg_cmd(c, SET, &p, NULL) != STORE_OK)
        return STORE_UNAVAILABLE;
    struct audit_write au = store_audit_state(q, eid, r->arena);
    if ((rc = pg_audit_add(c, &au)) != STORE_OK)
        return rc;
    struct store_feed_change fc = {.mid = q->mid, .kind = STORE_CHANGE_STATE, .nid = q->nid,
                                .state = q->state, .at = q->now,
                                .unread_delta = (q->state == NS_UNREAD) -
                                                (q->old_state == NS_UNREAD)};
    int64_t seq;
    if ((rc = pg_feed_change(c, &fc, &seq, &q->unread)) != STORE_OK)
        return rc;
    q->update = (struct feed_update){q->mid, seq, q->unread, UPD_STATE,
                                     store_state_json(r->arena, q->nid, q->state, q->unread)};
    return STORE_OK;
}

int pg_read_all(struct pg_conn *c, struct store_req *r)
{
    R(st_read_all);
    static const char SQL[] = "UPDATE notifications SET state = 1, state_at = $3 "
                              "WHERE mid = $1 AND wid = $2 AND in_app = 1 AND state = 0";
    /* The trail has one entry per item read, as if each were read alone;
     * the member's row is held, so these are the rows the UPDATE reads. */
    static const char AUDIT[] =
        "INSERT INTO audit(wid, at, action, actor_kind, actor_id, member_id, event_id, nid, "
        "  detail) "
        "SELECT n.wid, " STORE_AUDIT_AT_PG("$3::bigint", "$2") ", $4::bigint, $5::bigint, "
        "  $6::text, m.id, e.id, n.nid, "
        "  $7::text FROM notifications n "
        "JOIN members m ON m.mid = n.mid LEFT JOIN events e ON e.eid = n.eid "
        "WHERE n.mid = $1 AND n.wid = $2 AND n.in_app = 1 AND n.state = 0 ORDER BY n.nid";
    bool found;
    int rc = lock_member(c, q->mid, &found, &q->unread);
    if (rc != STORE_OK)
        return rc;
    if (!found) /* as SQLite answers it: the count cannot be read */
        return pg_fail(c, "unread", NULL);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_int(&p, q->wid);
    pgp_int(&p, q->now);
    struct pg_params au = PG_PARAMS_INIT;
    pgp_int(&au, q->mid);
    pgp_int(&au, q->wid);
    pgp_int(&au, q->now);
    pgp_int(&au, AU_READ);
    pgp_int(&au, q->by.kind);
    pgp_text(&au, q->by.id);
    pgp_text(&au, audit_detail_state(r->arena, NS_UNREAD, "read_all"));
    if (pg_cmd(c, AUDIT, &au, NULL) != STORE_OK)
        return STORE_UNAVAILABLE;
    if (pg_cmd(c, SQL, &p, &q->changed) != STORE_OK)
        return STORE_UNAVAILABLE;
    if (q->changed == 0)
        return STORE_OK;
    /* One change for the lot: a stream replays read-all as one event. */
    struct store_feed_change fc = {.mid = q->mid, .kind = STORE_CHANGE_READ_ALL,
                                .changed = q->changed, .unread_delta = (int)-q->changed,
                                .at = q->now};
    int64_t seq;
    if ((rc = pg_feed_change(c, &fc, &seq, &q->unread)) != STORE_OK)
        return rc;
    q->update = (struct feed_update){q->mid, seq, q->unread, UPD_STATE,
                                     store_read_all_json(r->arena, q->changed, q->unread)};
    return STORE_OK;
}

/* ---- replay for a reconnecting stream ---- */

/* A logged new notification as it was announced: its state then was
 * unread. Pruned since: announced as gone rather than skip an id. */
static void replay_new(const PGresult *res, int row, int64_t nid, struct arena *a,
                       struct feed_update *u)
{
    u->kind = UPD_NOTIFICATION;
    if (pg_isnull(res, row, 6)) {
        u->kind = UPD_STATE;
        u->data = store_deleted_json(a, nid, u->unread);
        return;
    }
    struct feed_item_view it = {nid, pg_int(res, row, 10), pg_text(res, row, 6, a),
                                pg_text(res, row, 8, a), pg_text(res, row, 9, a),
                                pg_text(res, row, 11, a), pg_text(res, row, 12, a),
                                (int)pg_int(res, row, 7), 0};
    u->data = store_new_item_json(a, &it, u->unread);
}

static int replay_changes(struct pg_conn *c, struct st_feed_replay *q)
{
    static const char SQL[] =
        "SELECT f.seq, f.kind, f.nid, f.state, f.changed, f.unread, n.type, n.category, "
        "  n.title, n.body, n.created_at, e.id, e.data "
        "FROM feed_changes f LEFT JOIN notifications n ON n.nid = f.nid AND f.kind = 1 "
        "  LEFT JOIN events e ON e.eid = n.eid "
        "WHERE f.mid = $1 AND f.seq > $2 ORDER BY f.seq LIMIT $3";
    struct arena *a = q->base.arena;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_int(&p, q->after_seq);
    pgp_int(&p, (int64_t)q->limit + 1);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->updates = ARENA_NEW_N(a, struct feed_update, (size_t)q->limit + 1);
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        struct feed_update *u = &q->updates[q->n++];
        u->mid = q->mid;
        u->seq = pg_int(res, i, 0);
        int kind = (int)pg_int(res, i, 1);
        int64_t nid = pg_int(res, i, 2);
        u->unread = pg_int(res, i, 5);
        if (kind == STORE_CHANGE_READ_ALL) {
            u->kind = UPD_STATE;
            u->data = store_read_all_json(a, pg_int(res, i, 4), u->unread);
        } else if (kind == STORE_CHANGE_STATE) {
            u->kind = UPD_STATE;
            u->data = store_state_json(a, nid, (int)pg_int(res, i, 3), u->unread);
        } else {
            replay_new(res, i, nid, a, u);
        }
    }
    PQclear(res);
    return STORE_OK;
}

int pg_feed_replay(struct pg_conn *c, struct store_req *r)
{
    R(st_feed_replay);
    static const char MEMBER[] =
        "SELECT unread, change_seq, (SELECT min(seq) FROM feed_changes WHERE mid = $1) "
        "FROM members WHERE mid = $1 AND wid = $2";
    q->n = 0;
    q->gap = q->more = false;
    q->updates = NULL;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_int(&p, q->wid);
    PGresult *res = pg_q(c, MEMBER, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    q->unread = pg_int(res, 0, 0);
    q->last_seq = pg_int(res, 0, 1);
    int64_t oldest = pg_isnull(res, 0, 2) ? q->last_seq + 1 : pg_int(res, 0, 2);
    PQclear(res);
    if (q->after_seq < 0) /* a fresh stream: only where the log stands */
        return STORE_OK;
    /* The client's position must lie in what the log still holds. */
    if (q->after_seq > q->last_seq || q->after_seq < oldest - 1) {
        q->gap = true;
        return STORE_OK;
    }
    return replay_changes(c, q);
}

/* ---- retention ---- */


/* A growable list of int64 in an arena. */
struct ints {
    int64_t *v;
    size_t n, cap;
};

static void ints_add(struct ints *l, struct arena *a, int64_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *v = ARENA_NEW_N(a, int64_t, cap);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
}

/* What one prune takes. Notification keys come from stored JSON, so each
 * is scoped by the event and workspace it was listed under (nid, eid,
 * wid), kept in the order they are visited. */
struct prune {
    struct arena *a;
    struct ints windows, events;
    struct ints nid, eid, wid;
    /* members whose count falls, in the order first met, by how much */
    struct ints mid, fall;
};

static void prune_key(struct prune *pr, int64_t nid, int64_t eid, int64_t wid)
{
    ints_add(&pr->nid, pr->a, nid);
    ints_add(&pr->eid, pr->a, eid);
    ints_add(&pr->wid, pr->a, wid);
}

/* Closed windows past retention. Not locked here: the member rows are
 * taken first, and the delete later finds what a concurrent prune left. */
static int old_windows(struct pg_conn *c, const struct st_prune *q, struct prune *pr)
{
    static const char SQL[] =
        "SELECT m.id, m.nid, m.last_eid, m.wid FROM workspaces w "
        "JOIN message_windows m ON m.wid = w.wid "
        "WHERE m.status <> 0 AND m.last_at < $1 - w.retention_days * 86400000 LIMIT $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->now);
    pgp_int(&p, q->max_events);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    for (int i = 0; i < PQntuples(res); i++) {
        ints_add(&pr->windows, pr->a, pg_int(res, i, 0));
        if (pg_int(res, i, 1))
            prune_key(pr, pg_int(res, i, 1), pg_int(res, i, 2), pg_int(res, i, 3));
    }
    PQclear(res);
    return STORE_OK;
}

/* Events past retention, each taken by exactly one concurrent prune (SKIP
 * LOCKED); nobody holding a member row waits for an old event's row, so
 * taking these before the members cannot deadlock. */
static int old_events(struct pg_conn *c, const struct st_prune *q, struct prune *pr)
{
    static const char SQL[] =
        "SELECT e.eid, e.outcome, e.wid FROM workspaces w JOIN events e ON e.wid = w.wid "
        "WHERE e.received_at < $1 - w.retention_days * 86400000 "
        "LIMIT $2 FOR UPDATE OF e SKIP LOCKED";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->now);
    pgp_int(&p, q->max_events);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t eid = pg_int(res, i, 0), wid = pg_int(res, i, 2);
        ints_add(&pr->events, pr->a, eid);
        int64_t *nids;
        size_t count = outcome_notification_keys(PQgetvalue(res, i, 1), pr->a, &nids);
        for (size_t k = 0; k < count; k++)
            prune_key(pr, nids[k], eid, wid);
    }
    PQclear(res);
    return STORE_OK;
}

/* Takes the rows of every member a deleted notification may belong to
 * (a notification's member never changes), in mid order. */
static int lock_owners(struct pg_conn *c, struct prune *pr)
{
    static const char SQL[] =
        "SELECT DISTINCT mid FROM notifications WHERE nid = ANY($1::bigint[]) ORDER BY mid";
    if (!pr->nid.n)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(pr->a, pr->nid.v, pr->nid.n));
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    size_t n = (size_t)PQntuples(res);
    int64_t *mids = ARENA_NEW_N(pr->a, int64_t, n + 1);
    for (size_t i = 0; i < n; i++)
        mids[i] = pg_int(res, (int)i, 0);
    PQclear(res);
    return n ? pg_lock_members(c, mids, n) : STORE_OK;
}

struct gone {
    int64_t nid, mid;
    bool unread; /* in the feed and unread: it counted */
};

static int cmp_gone(const void *x, const void *y)
{
    int64_t a = ((const struct gone *)x)->nid, b = ((const struct gone *)y)->nid;
    return (a > b) - (a < b);
}

static void fall(struct prune *pr, int64_t mid)
{
    for (size_t i = 0; i < pr->mid.n; i++)
        if (pr->mid.v[i] == mid) {
            pr->fall.v[i]++;
            return;
        }
    ints_add(&pr->mid, pr->a, mid);
    ints_add(&pr->fall, pr->a, 1);
}

/* The counts fall by what THIS transaction deleted (a concurrent prune
 * that got there first deleted the rest, and counted it). Members are met
 * in the order their notifications were visited. */
static void count_falls(struct prune *pr, struct gone *g, size_t n)
{
    qsort(g, n, sizeof *g, cmp_gone);
    for (size_t i = 0; i < pr->nid.n; i++) {
        struct gone key = {.nid = pr->nid.v[i]};
        struct gone *hit = bsearch(&key, g, n, sizeof *g, cmp_gone);
        if (!hit || !hit->unread)
            continue;
        hit->unread = false; /* a key listed twice counts once */
        fall(pr, hit->mid);
    }
}

/* The outbox rows of the deleted notifications and what hangs off them:
 * attempts, the sink's copy. */
static int delete_outbox(struct pg_conn *c, struct prune *pr, const struct gone *g, size_t n,
                         const int64_t *wids)
{
    static const char ATTEMPTS[] =
        "DELETE FROM delivery_attempts WHERE did IN (SELECT d.id FROM deliveries d "
        "JOIN unnest($1::bigint[], $2::bigint[]) AS k(nid, wid) "
        "ON d.nid = k.nid AND d.wid = k.wid)";
    static const char SINK[] =
        "DELETE FROM sink WHERE did IN (SELECT d.id FROM deliveries d "
        "JOIN unnest($1::bigint[], $2::bigint[]) AS k(nid, wid) "
        "ON d.nid = k.nid AND d.wid = k.wid)";
    static const char OUTBOX[] =
        "DELETE FROM deliveries d USING unnest($1::bigint[], $2::bigint[]) AS k(nid, wid) "
        "WHERE d.nid = k.nid AND d.wid = k.wid";
    int64_t *nids = ARENA_NEW_N(pr->a, int64_t, n + 1);
    for (size_t i = 0; i < n; i++)
        nids[i] = g[i].nid;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(pr->a, nids, n));
    pgp_text(&p, pg_int_array(pr->a, wids, n));
    const char *const sql[] = {ATTEMPTS, SINK, OUTBOX};
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++)
        if (pg_cmd(c, sql[i], &p, NULL) != STORE_OK)
            return STORE_UNAVAILABLE;
    return STORE_OK;
}

static int delete_notifications(struct pg_conn *c, struct st_prune *q, struct prune *pr)
{
    static const char SQL[] =
        "DELETE FROM notifications n "
        "USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(nid, eid, wid) "
        "WHERE n.nid = k.nid AND n.eid = k.eid AND n.wid = k.wid "
        "RETURNING n.nid, n.mid, n.in_app, n.state, n.wid";
    if (!pr->nid.n)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(pr->a, pr->nid.v, pr->nid.n));
    pgp_text(&p, pg_int_array(pr->a, pr->eid.v, pr->eid.n));
    pgp_text(&p, pg_int_array(pr->a, pr->wid.v, pr->wid.n));
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    size_t n = (size_t)PQntuples(res);
    struct gone *g = ARENA_NEW_N(pr->a, struct gone, n + 1);
    int64_t *wids = ARENA_NEW_N(pr->a, int64_t, n + 1);
    for (size_t i = 0; i < n; i++) {
        g[i] = (struct gone){pg_int(res, (int)i, 0), pg_int(res, (int)i, 1),
                             pg_int(res, (int)i, 2) == 1 && pg_int(res, (int)i, 3) == NS_UNREAD};
        wids[i] = pg_int(res, (int)i, 4);
    }
    PQclear(res);
    q->notifications_deleted += (int64_t)n;
    if (!n)
        return STORE_OK;
    int rc = delete_outbox(c, pr, g, n, wids);
    if (rc == STORE_OK)
        count_falls(pr, g, n);
    return rc;
}

static int delete_keys(struct pg_conn *c, const char *sql, struct prune *pr,
                       const struct ints *keys)
{
    if (!keys->n)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(pr->a, keys->v, keys->n));
    return pg_cmd(c, sql, &p, NULL);
}

/* Lowers the counts (members already locked) and reports them: UPD_COUNT
 * for this node's streams, a notice for the other nodes'. */
static int lower_counts(struct pg_conn *c, struct st_prune *q, struct prune *pr)
{
    static const char SQL[] =
        "UPDATE members m SET unread = m.unread - k.n "
        "FROM unnest($1::bigint[], $2::bigint[]) AS k(mid, n) WHERE m.mid = k.mid "
        "RETURNING m.mid, m.unread";
    size_t cap = pr->mid.n < MAX_COUNT_UPDATES ? pr->mid.n : MAX_COUNT_UPDATES;
    q->updates = ARENA_NEW_N(q->base.arena, struct feed_update, cap + 1);
    if (!pr->mid.n)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(pr->a, pr->mid.v, pr->mid.n));
    pgp_text(&p, pg_int_array(pr->a, pr->fall.v, pr->fall.n));
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    for (size_t i = 0; i < cap; i++)
        for (int k = 0; k < rows; k++)
            if (pg_int(res, k, 0) == pr->mid.v[i]) {
                q->updates[q->n++] =
                    (struct feed_update){pr->mid.v[i], 0, pg_int(res, k, 1), UPD_COUNT, NULL};
                break;
            }
    for (int k = 0; k < rows; k++)
        pg_notify_count(c, pg_int(res, k, 0));
    PQclear(res);
    return STORE_OK;
}

/* Push credentials not seen (registered or refreshed) for 270 days: the
 * app is long gone from that device. */
static int prune_devices(struct pg_conn *c, struct st_prune *q)
{
    static const char SQL[] =
        "DELETE FROM devices WHERE did IN (SELECT did FROM devices "
        "WHERE last_seen < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->now - DEVICE_UNUSED_MS);
    pgp_int(&p, q->max_events);
    return pg_cmd(c, SQL, &p, &q->devices_deleted);
}

/* Pop-ups kept for the other nodes: the window upkeep removes them a
 * minute on (pg_windows.c); this catches any it could not. */
static int prune_popups(struct pg_conn *c, int64_t now)
{
    static const char SQL[] = "DELETE FROM live_popups WHERE at < $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, now - 10 * 60 * 1000);
    return pg_cmd(c, SQL, &p, NULL);
}

/* Deletes events older than their workspace's retention with their
 * notifications (found through the keys in each event's stored answer),
 * closed message windows as old with theirs, and audit entries as old;
 * at most max_events of each per call, so one prune never holds rows for
 * long. */
int pg_prune(struct pg_conn *c, struct store_req *r)
{
    R(st_prune);
    static const char DEL_WINDOWS[] = "DELETE FROM message_windows WHERE id = ANY($1::bigint[])";
    static const char DEL_EVENTS[] = "DELETE FROM events WHERE eid = ANY($1::bigint[])";
    q->events_deleted = q->notifications_deleted = q->devices_deleted = q->audit_deleted = 0;
    q->n = 0;
    q->updates = NULL;
    struct prune pr = {.a = r->arena};
    int rc;
    if ((rc = old_windows(c, q, &pr)) != STORE_OK || (rc = old_events(c, q, &pr)) != STORE_OK ||
        (rc = lock_owners(c, &pr)) != STORE_OK ||
        (rc = delete_keys(c, DEL_WINDOWS, &pr, &pr.windows)) != STORE_OK ||
        (rc = delete_notifications(c, q, &pr)) != STORE_OK ||
        (rc = delete_keys(c, DEL_EVENTS, &pr, &pr.events)) != STORE_OK ||
        (rc = prune_devices(c, q)) != STORE_OK || (rc = lower_counts(c, q, &pr)) != STORE_OK ||
        (rc = prune_popups(c, q->now)) != STORE_OK ||
        (rc = pg_audit_prune(c, q->now, q->max_events, &q->audit_deleted)) != STORE_OK)
        return rc;
    q->events_deleted = (int64_t)pr.events.n;
    return STORE_OK;
}
