/* sq_feed.c - a member's feed: pages, state changes, read-all, and the
 * retention pruning that keeps it bounded.
 *
 * The unread count lives on the member row and changes in the same
 * transaction as the rows it counts, so it is exact without COUNT(*). */
#include "store/sqlite/sq_int.h"
#include "engine/feeditem.h"
#include "engine/outcome.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

#define FEED_COLS \
    "SELECT n.nid, n.type, n.category, n.title, n.body, n.state, n.created_at, e.id, e.data " \
    "FROM notifications n LEFT JOIN events e ON e.eid = n.eid "

int sq_feed_page(struct sq_conn *c, struct store_req *r)
{
    R(st_feed_page);
    static const char BY_STATE[] = FEED_COLS
        "WHERE n.mid = ?1 AND n.in_app = 1 AND n.state = ?2 AND n.nid < ?3 AND n.wid = ?4 "
        "ORDER BY n.nid DESC LIMIT ?5";
    static const char ALL[] = FEED_COLS
        "WHERE n.mid = ?1 AND n.in_app = 1 AND n.nid < ?3 AND n.wid = ?4 AND ?2 = ?2 "
        "ORDER BY n.nid DESC LIMIT ?5";
    sqlite3_stmt *st = sq_prep(c, q->state == FEED_ALL ? ALL : BY_STATE);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int(st, 2, q->state);
    sqlite3_bind_int64(st, 3, q->before_nid > 0 ? q->before_nid : INT64_MAX);
    sqlite3_bind_int64(st, 4, q->wid);
    sqlite3_bind_int(st, 5, q->limit + 1);
    q->items = ARENA_NEW_N(r->arena, struct feed_item, (size_t)q->limit + 1);
    q->n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        struct feed_item *it = &q->items[q->n++];
        it->nid = sqlite3_column_int64(st, 0);
        it->type = sq_text(st, 1, r->arena);
        it->category = sqlite3_column_int(st, 2);
        it->title = sq_text(st, 3, r->arena);
        it->body = sq_text(st, 4, r->arena);
        it->state = sqlite3_column_int(st, 5);
        it->created_at = sqlite3_column_int64(st, 6);
        it->event_id = sq_text(st, 7, r->arena);
        it->data_json = sq_text(st, 8, r->arena);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "feed page");
}

int sq_notif_state(struct sq_conn *c, struct store_req *r)
{
    R(st_notif_state);
    static const char GET[] =
        "SELECT n.state, m.unread, n.eid FROM notifications n JOIN members m ON m.mid = n.mid "
        "WHERE n.nid = ?1 AND n.mid = ?2 AND n.wid = ?3 AND n.in_app = 1";
    static const char SET[] = "UPDATE notifications SET state = ?2, state_at = ?3 WHERE nid = ?1";
    sqlite3_stmt *st = sq_prep(c, GET);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->nid);
    sqlite3_bind_int64(st, 2, q->mid);
    sqlite3_bind_int64(st, 3, q->wid);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "notification");
    q->old_state = sqlite3_column_int(st, 0);
    q->unread = sqlite3_column_int64(st, 1);
    int64_t eid = sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    q->changed = q->old_state != q->state;
    if (!q->changed)
        return STORE_OK;
    st = sq_prep(c, SET);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->nid);
    sqlite3_bind_int(st, 2, q->state);
    sqlite3_bind_int64(st, 3, q->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "notification state");
    sqlite3_reset(st);
    struct audit_write au = store_audit_state(q, eid, r->arena);
    if ((rc = sq_audit_add(c, &au)) != STORE_OK)
        return rc;
    struct store_feed_change fc = {.mid = q->mid, .kind = STORE_CHANGE_STATE, .nid = q->nid,
                             .state = q->state, .at = q->now,
                             .unread_delta = (q->state == NS_UNREAD) - (q->old_state == NS_UNREAD)};
    int64_t seq;
    if ((rc = sq_feed_change(c, &fc, &seq, &q->unread)) != STORE_OK)
        return rc;
    q->update = (struct feed_update){q->mid, seq, q->unread, UPD_STATE,
                                     store_state_json(r->arena, q->nid, q->state, q->unread)};
    return STORE_OK;
}

int sq_read_all(struct sq_conn *c, struct store_req *r)
{
    R(st_read_all);
    static const char SQL[] = "UPDATE notifications SET state = 1, state_at = ?3 "
                              "WHERE mid = ?1 AND wid = ?2 AND in_app = 1 AND state = 0";
    /* The trail has one entry per item read, as if each were read alone. */
    static const char AUDIT[] =
        "INSERT INTO audit(wid, at, action, actor_kind, actor_id, member_id, event_id, nid, "
        "  detail) "
        "SELECT n.wid, " STORE_AUDIT_AT_SQLITE("?3", "?2") ", ?4, ?5, ?6, m.id, e.id, n.nid, ?7 "
        "FROM notifications n "
        "JOIN members m ON m.mid = n.mid LEFT JOIN events e ON e.eid = n.eid "
        "WHERE n.mid = ?1 AND n.wid = ?2 AND n.in_app = 1 AND n.state = 0 ORDER BY n.nid";
    sqlite3_stmt *st = sq_prep(c, AUDIT);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_int64(st, 3, q->now);
    sqlite3_bind_int(st, 4, AU_READ);
    sqlite3_bind_int(st, 5, q->by.kind);
    sq_bind_text(st, 6, q->by.id);
    sq_bind_text(st, 7, audit_detail_state(r->arena, NS_UNREAD, "read_all"));
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "read all audit");
    sqlite3_reset(st);
    st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_int64(st, 3, q->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "read all");
    sqlite3_reset(st);
    q->changed = sqlite3_changes(c->db);
    if (q->changed == 0) {
        st = sq_prep(c, "SELECT unread FROM members WHERE mid = ?1");
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->mid);
        if (sqlite3_step(st) != SQLITE_ROW)
            return sq_fail(c, "unread");
        q->unread = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return STORE_OK;
    }
    /* One change for the lot: a stream replays read-all as one event. */
    struct store_feed_change fc = {.mid = q->mid, .kind = STORE_CHANGE_READ_ALL, .changed = q->changed,
                             .unread_delta = (int)-q->changed, .at = q->now};
    int64_t seq;
    int rc = sq_feed_change(c, &fc, &seq, &q->unread);
    if (rc != STORE_OK)
        return rc;
    q->update = (struct feed_update){q->mid, seq, q->unread, UPD_STATE,
                                     store_read_all_json(r->arena, q->changed, q->unread)};
    return STORE_OK;
}

/* ---- replay for a reconnecting stream ---- */

int sq_feed_replay(struct sq_conn *c, struct store_req *r)
{
    R(st_feed_replay);
    struct arena *a = r->arena;
    static const char MEMBER[] =
        "SELECT unread, change_seq, (SELECT min(seq) FROM feed_changes WHERE mid = ?1) "
        "FROM members WHERE mid = ?1 AND wid = ?2";
    static const char CHANGES[] =
        "SELECT f.seq, f.kind, f.nid, f.state, f.changed, f.unread, n.type, n.category, "
        "  n.title, n.body, n.created_at, e.id, e.data "
        "FROM feed_changes f LEFT JOIN notifications n ON n.nid = f.nid AND f.kind = 1 "
        "  LEFT JOIN events e ON e.eid = n.eid "
        "WHERE f.mid = ?1 AND f.seq > ?2 ORDER BY f.seq LIMIT ?3";
    q->n = 0;
    q->gap = q->more = false;
    sqlite3_stmt *st = sq_prep(c, MEMBER);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "replay member");
    q->unread = sqlite3_column_int64(st, 0);
    q->last_seq = sqlite3_column_int64(st, 1);
    int64_t oldest = sqlite3_column_type(st, 2) == SQLITE_NULL
                         ? q->last_seq + 1 : sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    if (q->after_seq < 0) /* a fresh stream: only where the log stands */
        return STORE_OK;
    /* The client's position must lie in what the log still holds. */
    if (q->after_seq > q->last_seq || q->after_seq < oldest - 1) {
        q->gap = true;
        return STORE_OK;
    }
    st = sq_prep(c, CHANGES);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->after_seq);
    sqlite3_bind_int(st, 3, q->limit + 1);
    q->updates = ARENA_NEW_N(a, struct feed_update, (size_t)q->limit + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        struct feed_update *u = &q->updates[q->n++];
        u->mid = q->mid;
        u->seq = sqlite3_column_int64(st, 0);
        int kind = sqlite3_column_int(st, 1);
        int64_t nid = sqlite3_column_int64(st, 2);
        u->unread = sqlite3_column_int64(st, 5);
        if (kind == STORE_CHANGE_READ_ALL) {
            u->kind = UPD_STATE;
            u->data = store_read_all_json(a, sqlite3_column_int64(st, 4), u->unread);
        } else if (kind == STORE_CHANGE_STATE) {
            u->kind = UPD_STATE;
            u->data = store_state_json(a, nid, sqlite3_column_int(st, 3), u->unread);
        } else {
            u->kind = UPD_NOTIFICATION;
            if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
                /* pruned since: announce it as gone rather than skip an id */
                u->kind = UPD_STATE;
                u->data = store_deleted_json(a, nid, u->unread);
                continue;
            }
            struct feed_item_view it = {nid, sqlite3_column_int64(st, 10), sq_text(st, 6, a),
                                        sq_text(st, 8, a), sq_text(st, 9, a),
                                        sq_text(st, 11, a), sq_text(st, 12, a),
                                        sqlite3_column_int(st, 7), 0};
            /* The item as it was announced: its state then was unread. */
            u->data = store_new_item_json(a, &it, u->unread);
        }
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "replay");
}

/* Members whose unread count a prune lowered, to tell their streams. */
struct touched {
    int64_t mid[256], unread[256];
    size_t n;
};

static void touch(struct touched *t, int64_t mid, int64_t unread)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->mid[i] == mid) {
            t->unread[i] = unread;
            return;
        }
    if (t->n < 256) {
        t->mid[t->n] = mid;
        t->unread[t->n++] = unread;
    }
}

/* Deletes one notification (scoped by event and workspace, since its key
 * came from stored JSON), its outbox rows, and its share of the count. */
static int prune_notification(struct sq_conn *c, int64_t nid, int64_t eid, int64_t wid,
                              struct touched *t, int64_t *deleted)
{
    static const char UNREAD_GONE[] =
        "UPDATE members SET unread = unread - 1 WHERE mid = "
        "(SELECT mid FROM notifications WHERE nid = ?1 AND eid = ?2 AND wid = ?3 "
        " AND in_app = 1 AND state = 0) RETURNING mid, unread";
    static const char DEL_NOTIF[] =
        "DELETE FROM notifications WHERE nid = ?1 AND eid = ?2 AND wid = ?3";
    static const char DEL_ATTEMPTS[] =
        "DELETE FROM delivery_attempts WHERE did IN "
        "(SELECT id FROM deliveries WHERE nid = ?1 AND wid = ?2)";
    static const char DEL_SINK[] =
        "DELETE FROM sink WHERE did IN (SELECT id FROM deliveries WHERE nid = ?1 AND wid = ?2)";
    static const char DEL_OUTBOX[] = "DELETE FROM deliveries WHERE nid = ?1 AND wid = ?2";
    sqlite3_stmt *st = sq_prep(c, UNREAD_GONE);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, nid);
    sqlite3_bind_int64(st, 2, eid);
    sqlite3_bind_int64(st, 3, wid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        touch(t, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "prune unread");
    st = sq_prep(c, DEL_NOTIF);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, nid);
    sqlite3_bind_int64(st, 2, eid);
    sqlite3_bind_int64(st, 3, wid);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "prune notification");
    sqlite3_reset(st);
    int64_t gone = sqlite3_changes(c->db);
    *deleted += gone;
    if (!gone)
        return STORE_OK;
    /* The outbox rows and what hangs off them: attempts, the sink's copy. */
    const char *const outbox[] = {DEL_ATTEMPTS, DEL_SINK, DEL_OUTBOX};
    for (size_t i = 0; i < sizeof outbox / sizeof *outbox; i++) {
        st = sq_prep(c, outbox[i]);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, nid);
        sqlite3_bind_int64(st, 2, wid);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sq_fail(c, "prune outbox");
    }
    return STORE_OK;
}

#define DEVICE_UNUSED_MS (270LL * 86400 * 1000)

/* Deletes events older than their workspace's retention with their
 * notifications (found through the keys in each event's stored answer),
 * and closed message windows as old with theirs; at most max_events of
 * each per call, so one prune never holds the writer for long. */
int sq_prune(struct sq_conn *c, struct store_req *r)
{
    R(st_prune);
    q->events_deleted = q->notifications_deleted = q->audit_deleted = 0;
    q->n = 0;
    static const char OLD_EVENTS[] =
        "SELECT e.eid, e.outcome, e.wid FROM workspaces w CROSS JOIN events e "
        "WHERE e.wid = w.wid AND e.received_at < ?1 - w.retention_days * 86400000 LIMIT ?2";
    static const char DEL_EVENT[] = "DELETE FROM events WHERE eid = ?1";
    static const char OLD_WINDOWS[] =
        "SELECT m.id, m.nid, m.last_eid, m.wid FROM workspaces w CROSS JOIN message_windows m "
        "WHERE m.wid = w.wid AND m.status <> 0 AND m.last_at < ?1 - w.retention_days * 86400000 "
        "LIMIT ?2";
    static const char DEL_WINDOW[] = "DELETE FROM message_windows WHERE id = ?1";
    struct touched *t = ARENA_NEW(r->arena, struct touched);
    size_t cap = (size_t)q->max_events + 1;
    int64_t *k1 = ARENA_NEW_N(r->arena, int64_t, cap), *k2 = ARENA_NEW_N(r->arena, int64_t, cap);
    int64_t *k3 = ARENA_NEW_N(r->arena, int64_t, cap);
    const char **outcomes = ARENA_NEW_N(r->arena, const char *, cap);

    /* closed windows first: their notifications point to message events */
    sqlite3_stmt *st = sq_prep(c, OLD_WINDOWS);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->now);
    sqlite3_bind_int(st, 2, q->max_events);
    size_t n = 0;
    int rc;
    int64_t *wwid = ARENA_NEW_N(r->arena, int64_t, cap);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)n < q->max_events) {
        k1[n] = sqlite3_column_int64(st, 0);
        k2[n] = sqlite3_column_int64(st, 1);
        k3[n] = sqlite3_column_int64(st, 2);
        wwid[n++] = sqlite3_column_int64(st, 3);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(c, "prune windows");
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        if (k2[i] && (rc = prune_notification(c, k2[i], k3[i], wwid[i], t,
                                              &q->notifications_deleted)) != STORE_OK)
            return rc;
        st = sq_prep(c, DEL_WINDOW);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, k1[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "prune window");
        sqlite3_reset(st);
    }

    st = sq_prep(c, OLD_EVENTS);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->now);
    sqlite3_bind_int(st, 2, q->max_events);
    n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)n < q->max_events) {
        k1[n] = sqlite3_column_int64(st, 0);
        outcomes[n] = sq_text(st, 1, r->arena);
        k2[n++] = sqlite3_column_int64(st, 2);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(c, "prune scan");
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        int64_t *nids;
        size_t count = outcome_notification_keys(outcomes[i], r->arena, &nids);
        for (size_t k = 0; k < count; k++)
            if ((rc = prune_notification(c, nids[k], k1[i], k2[i], t,
                                         &q->notifications_deleted)) != STORE_OK)
                return rc;
        st = sq_prep(c, DEL_EVENT);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, k1[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "prune");
        sqlite3_reset(st);
    }
    q->events_deleted = (int64_t)n;
    /* Push credentials not seen (registered or refreshed) for 270 days:
     * the app is long gone from that device. */
    st = sq_prep(c, "DELETE FROM devices WHERE did IN (SELECT did FROM devices "
                    "WHERE last_seen < ?1 LIMIT ?2)");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->now - DEVICE_UNUSED_MS);
    sqlite3_bind_int(st, 2, q->max_events);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "prune devices");
    sqlite3_reset(st);
    q->devices_deleted = sqlite3_changes(c->db);
    if ((rc = sq_audit_prune(c, q->now, q->max_events, &q->audit_deleted)) != STORE_OK)
        return rc;
    q->updates = ARENA_NEW_N(r->arena, struct feed_update, t->n + 1);
    for (size_t i = 0; i < t->n; i++)
        q->updates[q->n++] = (struct feed_update){t->mid[i], 0, t->unread[i], UPD_COUNT, NULL};
    return STORE_OK;
}
