/* sq_audit.c - the audit trail on SQLite: one row per step, written in the
 * transaction that makes the step, read back a page at a time, pruned with
 * the workspace's retention. The table refuses UPDATE (a trigger). */
#include "store/sqlite/sq_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

int sq_audit_add(struct sq_conn *c, const struct audit_write *e)
{
    static const char SQL[] =
        "INSERT INTO audit(wid, at, action, actor_kind, actor_id, member_id, event_id, nid, "
        "  did, detail) VALUES (?1, " STORE_AUDIT_AT_SQLITE("?2", "?1") ", ?3, ?4, ?5, "
        "  coalesce(?6, (SELECT id FROM members WHERE mid = ?7)), "
        "  coalesce(?8, (SELECT id FROM events WHERE eid = ?9)), ?10, ?11, ?12)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, e->wid);
    sqlite3_bind_int64(st, 2, e->at);
    sqlite3_bind_int(st, 3, e->action);
    sqlite3_bind_int(st, 4, e->actor_kind);
    sq_bind_text(st, 5, e->actor_id);
    sq_bind_text(st, 6, e->member_id);
    sqlite3_bind_int64(st, 7, e->mid);
    sq_bind_text(st, 8, e->event_id);
    sqlite3_bind_int64(st, 9, e->eid);
    if (e->nid)
        sqlite3_bind_int64(st, 10, e->nid);
    if (e->did)
        sqlite3_bind_int64(st, 11, e->did);
    sq_bind_text(st, 12, e->detail);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "audit");
}

int sq_audit_list(struct sq_conn *c, struct store_req *r)
{
    R(st_audit_list);
    /* Two statements, so each has its index: by member, or the whole trail.
     * The cursor names an entry; the page goes on after its (at, id), and
     * not before `since`: both bound the index seek, so a page reads from
     * where it starts, however long the trail. An entry pruned since reads
     * as the start: retention takes the oldest first, so what is left is
     * all newer. */
#define AFTER                                                                                \
    "(at, id) > (max(?4 - 1, coalesce((SELECT at FROM audit WHERE id = ?3 AND wid = ?1), 0)), " \
    "?3) "
    static const char ALL[] =
        "SELECT id, at, action, actor_kind, actor_id, member_id, event_id, nid, did, detail "
        "FROM audit WHERE wid = ?1 AND " AFTER "AND at >= ?4 AND at < ?5 "
        "ORDER BY at, id LIMIT ?6";
    static const char MEMBER[] =
        "SELECT id, at, action, actor_kind, actor_id, member_id, event_id, nid, did, detail "
        "FROM audit WHERE wid = ?1 AND " AFTER "AND at >= ?4 AND at < ?5 "
        "AND member_id = ?7 ORDER BY at, id LIMIT ?6";
#undef AFTER
    struct arena *a = r->arena;
    sqlite3_stmt *st = sq_prep(c, q->member_id ? MEMBER : ALL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 3, q->after_id);
    sqlite3_bind_int64(st, 4, q->since);
    sqlite3_bind_int64(st, 5, q->until > 0 ? q->until : INT64_MAX);
    sqlite3_bind_int(st, 6, q->scan + 1);
    if (q->member_id)
        sq_bind_text(st, 7, q->member_id);
    q->items = ARENA_NEW_N(a, struct audit_entry, (size_t)q->limit + 1);
    q->n = 0;
    q->more = false;
    int rc, read = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read == q->scan || (int)q->n == q->limit) {
            q->more = true; /* a row beyond the page */
            break;
        }
        read++;
        q->last_id = sqlite3_column_int64(st, 0);
        int action = sqlite3_column_int(st, 2);
        const char *event_id = (const char *)sqlite3_column_text(st, 6);
        int64_t nid = sqlite3_column_int64(st, 7);
        if ((q->action && action != q->action) || (q->nid && nid != q->nid) ||
            (q->event_id && (!event_id || strcmp(event_id, q->event_id) != 0)))
            continue;
        struct audit_entry *e = &q->items[q->n++];
        e->id = q->last_id;
        e->at = sqlite3_column_int64(st, 1);
        e->action = action;
        e->actor_kind = sqlite3_column_int(st, 3);
        e->actor_id = sq_text(st, 4, a);
        e->member_id = sq_text(st, 5, a);
        e->event_id = sq_text(st, 6, a);
        e->nid = nid;
        e->did = sqlite3_column_int64(st, 8);
        e->detail = sq_text(st, 9, a);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "audit list");
}

int sq_audit_prune(struct sq_conn *c, int64_t now, int max, int64_t *deleted)
{
    static const char SQL[] =
        "DELETE FROM audit WHERE id IN (SELECT a.id FROM workspaces w CROSS JOIN audit a "
        "WHERE a.wid = w.wid AND a.at < ?1 - w.retention_days * 86400000 ORDER BY a.at LIMIT ?2)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "prune audit");
    *deleted = sqlite3_changes(c->db);
    return STORE_OK;
}
