/* pg_audit.c - the audit trail on PostgreSQL (engine/audit.h), as
 * sq_audit.c: one row per step, written in the transaction that makes the
 * step, read back a page at a time, pruned with the workspace's retention.
 * The table refuses UPDATE (a trigger, pg_schema.c).
 *
 * The steps taken most often fold their entries into a statement they run
 * anyway, to spare a round trip: ingest into the statement that stores the
 * event's answer (pg_events.c), a delivery attempt into the insert of its
 * log row (pg_outbox.c). The others call pg_audit_add. An insert into the
 * trail locks no existing row, so it may come anywhere in a transaction
 * without touching the lock order (pg_int.h). */
#include "store/pg/pg_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

int pg_audit_add(struct pg_conn *c, const struct audit_write *e)
{
    /* The member and the event by id when the caller has it, else by key
     * in the same statement (coalesce reads the key only when needed). */
    static const char SQL[] =
        "INSERT INTO audit(wid, at, action, actor_kind, actor_id, member_id, event_id, nid, "
        "  did, detail) VALUES ($1, " STORE_AUDIT_AT_PG("$2::bigint", "$1") ", $3, $4, $5, "
        "  coalesce($6, (SELECT id FROM members WHERE mid = $7)), "
        "  coalesce($8, (SELECT id FROM events WHERE eid = $9)), $10, $11, $12)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, e->wid);
    pgp_int(&p, e->at);
    pgp_int(&p, e->action);
    pgp_int(&p, e->actor_kind);
    pgp_text(&p, e->actor_id);
    pgp_text(&p, e->member_id);
    pgp_int(&p, e->mid);
    pgp_text(&p, e->event_id);
    pgp_int(&p, e->eid);
    if (e->nid)
        pgp_int(&p, e->nid);
    else
        pgp_null(&p);
    if (e->did)
        pgp_int(&p, e->did);
    else
        pgp_null(&p);
    pgp_text(&p, e->detail);
    return pg_cmd(c, SQL, &p, NULL);
}

int pg_audit_list(struct pg_conn *c, struct store_req *r)
{
    R(st_audit_list);
    /* As sq_audit_list: two statements, each with its index; the page
     * starts after the cursor's (at, id) and not before `since`, both in
     * the index seek. */
#define COLS "SELECT id, at, action, actor_kind, actor_id, member_id, event_id, nid, did, detail "
#define AFTER                                                                                  \
    "(at, id) > (greatest($3::bigint - 1, "                                                    \
    "coalesce((SELECT at FROM audit WHERE id = $2 AND wid = $1), 0)), $2) "
    static const char ALL[] = COLS "FROM audit WHERE wid = $1 AND " AFTER
                              "AND at >= $3 AND at < $4 ORDER BY at, id LIMIT $5";
    static const char MEMBER[] = COLS "FROM audit WHERE wid = $1 AND " AFTER
                                 "AND at >= $3 AND at < $4 AND member_id = $6 "
                                 "ORDER BY at, id LIMIT $5";
#undef AFTER
#undef COLS
    struct arena *a = r->arena;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->after_id);
    pgp_int(&p, q->since);
    pgp_int(&p, q->until > 0 ? q->until : INT64_MAX);
    pgp_int(&p, (int64_t)q->scan + 1);
    if (q->member_id)
        pgp_text(&p, q->member_id);
    q->items = ARENA_NEW_N(a, struct audit_entry, (size_t)q->limit + 1);
    q->n = 0;
    q->more = false;
    q->last_id = 0;
    PGresult *res = pg_q(c, q->member_id ? MEMBER : ALL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    /* The other filters row by row, at most scan rows: the same page, the
     * same `more` and the same next cursor as SQLite's. */
    int rows = PQntuples(res), read = 0;
    for (int i = 0; i < rows; i++) {
        if (read == q->scan || (int)q->n == q->limit) {
            q->more = true; /* a row beyond the page */
            break;
        }
        read++;
        q->last_id = pg_int(res, i, 0);
        int action = (int)pg_int(res, i, 2);
        const char *event_id = pg_isnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6);
        int64_t nid = pg_int(res, i, 7);
        if ((q->action && action != q->action) || (q->nid && nid != q->nid) ||
            (q->event_id && (!event_id || strcmp(event_id, q->event_id) != 0)))
            continue;
        struct audit_entry *e = &q->items[q->n++];
        e->id = q->last_id;
        e->at = pg_int(res, i, 1);
        e->action = action;
        e->actor_kind = (int)pg_int(res, i, 3);
        e->actor_id = pg_text(res, i, 4, a);
        e->member_id = pg_text(res, i, 5, a);
        e->event_id = pg_text(res, i, 6, a);
        e->nid = nid;
        e->did = pg_int(res, i, 8);
        e->detail = pg_text(res, i, 9, a);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_audit_prune(struct pg_conn *c, int64_t now, int max, int64_t *deleted)
{
    /* Each entry is taken by one concurrent prune (SKIP LOCKED), as old
     * devices are: several nodes prune at once without waiting on each
     * other. Nothing else ever locks an entry. */
    static const char SQL[] =
        "DELETE FROM audit WHERE id IN (SELECT a.id FROM workspaces w "
        "JOIN audit a ON a.wid = w.wid WHERE a.at < $1 - w.retention_days * 86400000 "
        "ORDER BY a.at LIMIT $2 FOR UPDATE OF a SKIP LOCKED)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, now);
    pgp_int(&p, max);
    *deleted = 0;
    return pg_cmd(c, SQL, &p, deleted);
}
