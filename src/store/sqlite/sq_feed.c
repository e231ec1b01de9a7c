/* sq_feed.c - a member's feed: pages, state changes, read-all, and the
 * retention pruning that keeps it bounded.
 *
 * The unread count lives on the member row and changes in the same
 * transaction as the rows it counts, so it is exact without COUNT(*). */
#include "store/sqlite/sq_int.h"
#include "engine/outcome.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

#define FEED_COLS \
    "SELECT n.nid, n.type, n.category, n.title, n.body, n.state, n.created_at, e.id, e.data " \
    "FROM notifications n JOIN events e ON e.eid = n.eid "

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

static int add_unread(struct sq_conn *c, int64_t mid, int64_t delta, int64_t *unread)
{
    static const char SQL[] =
        "UPDATE members SET unread = unread + ?2 WHERE mid = ?1 RETURNING unread";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, mid);
    sqlite3_bind_int64(st, 2, delta);
    if (sqlite3_step(st) != SQLITE_ROW)
        return sq_fail(c, "unread");
    *unread = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return STORE_OK;
}

int sq_notif_state(struct sq_conn *c, struct store_req *r)
{
    R(st_notif_state);
    static const char GET[] =
        "SELECT state FROM notifications WHERE nid = ?1 AND mid = ?2 AND wid = ?3 AND in_app = 1";
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
    sqlite3_reset(st);
    int64_t delta = (q->state == NS_UNREAD) - (q->old_state == NS_UNREAD);
    if (q->old_state != q->state) {
        st = sq_prep(c, SET);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->nid);
        sqlite3_bind_int(st, 2, q->state);
        sqlite3_bind_int64(st, 3, q->now);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "notification state");
    }
    return add_unread(c, q->mid, delta, &q->unread);
}

int sq_read_all(struct sq_conn *c, struct store_req *r)
{
    R(st_read_all);
    static const char SQL[] = "UPDATE notifications SET state = 1, state_at = ?3 "
                              "WHERE mid = ?1 AND wid = ?2 AND in_app = 1 AND state = 0";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_int64(st, 3, q->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "read all");
    q->changed = sqlite3_changes(c->db);
    return add_unread(c, q->mid, -q->changed, &q->unread);
}

/* Deletes events older than their workspace's retention, with their
 * notifications (found through the keys in each event's stored answer), at
 * most max_events per call so one prune never holds the writer for long. */
int sq_prune(struct sq_conn *c, struct store_req *r)
{
    R(st_prune);
    q->events_deleted = q->notifications_deleted = 0;
    static const char OLD[] =
        "SELECT e.eid, e.outcome, e.wid FROM workspaces w CROSS JOIN events e "
        "WHERE e.wid = w.wid AND e.received_at < ?1 - w.retention_days * 86400000 LIMIT ?2";
    /* Keys come from the event's stored answer; scoping by event and
     * workspace as well makes a stale key harmless. */
    static const char UNREAD_GONE[] =
        "UPDATE members SET unread = unread - 1 WHERE mid = "
        "(SELECT mid FROM notifications WHERE nid = ?1 AND eid = ?2 AND wid = ?3 "
        " AND in_app = 1 AND state = 0)";
    static const char DEL_NOTIF[] =
        "DELETE FROM notifications WHERE nid = ?1 AND eid = ?2 AND wid = ?3";
    static const char DEL_EVENT[] = "DELETE FROM events WHERE eid = ?1";
    sqlite3_stmt *st = sq_prep(c, OLD);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->now);
    sqlite3_bind_int(st, 2, q->max_events);
    int64_t *eids = ARENA_NEW_N(r->arena, int64_t, (size_t)q->max_events + 1);
    int64_t *wids = ARENA_NEW_N(r->arena, int64_t, (size_t)q->max_events + 1);
    const char **outcomes = ARENA_NEW_N(r->arena, const char *, (size_t)q->max_events + 1);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)n < q->max_events) {
        eids[n] = sqlite3_column_int64(st, 0);
        outcomes[n] = sq_text(st, 1, r->arena);
        wids[n++] = sqlite3_column_int64(st, 2);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(c, "prune scan");
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        int64_t *nids;
        size_t count = outcome_notification_keys(outcomes[i], r->arena, &nids);
        for (size_t k = 0; k < count; k++) {
            const char *steps[] = {UNREAD_GONE, DEL_NOTIF};
            for (int s = 0; s < 2; s++) {
                st = sq_prep(c, steps[s]);
                if (!st)
                    return STORE_UNAVAILABLE;
                sqlite3_bind_int64(st, 1, nids[k]);
                sqlite3_bind_int64(st, 2, eids[i]);
                sqlite3_bind_int64(st, 3, wids[i]);
                if (sqlite3_step(st) != SQLITE_DONE)
                    return sq_fail(c, "prune");
                if (s == 1)
                    q->notifications_deleted += sqlite3_changes(c->db);
            }
        }
        st = sq_prep(c, DEL_EVENT);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, eids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "prune");
    }
    q->events_deleted = (int64_t)n;
    return STORE_OK;
}
