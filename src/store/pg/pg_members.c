/* pg_members.c - members of a workspace and their preferences, and the
 * member row locks that order every transaction (PostgreSQL).
 *
 * There is no per-batch cache to keep right: a change of role or active
 * is read directly by the next operation, and deleting a member takes its
 * notifications, feed log, open windows and devices with it (ON DELETE
 * CASCADE); its outbox rows stay and are skipped when claimed. */
#include "store/pg/pg_int.h"

#include <inttypes.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r

void pg_load_member(const PGresult *res, int row, int col, struct arena *a, struct member *m)
{
    memset(m, 0, sizeof *m);
    m->mid = pg_int(res, row, col + 0);
    m->wid = pg_int(res, row, col + 1);
    m->id = pg_text(res, row, col + 2, a);
    m->name = pg_text(res, row, col + 3, a);
    m->email = pg_text(res, row, col + 4, a);
    m->phone = pg_text(res, row, col + 5, a);
    m->role = (enum role)pg_int(res, row, col + 6);
    m->timezone = pg_text(res, row, col + 7, a);
    m->locale = pg_text(res, row, col + 8, a);
    m->active = pg_int(res, row, col + 9) != 0;
    m->prefs.set = (uint32_t)pg_int(res, row, col + 10);
    m->prefs.on = (uint32_t)pg_int(res, row, col + 11);
    m->cancel_channels = (enum cancel_channels)pg_int(res, row, col + 12);
    m->cancel_within_days = (int)pg_int(res, row, col + 13);
    m->push_enabled = pg_int(res, row, col + 14) != 0;
    m->unread = pg_int(res, row, col + 15);
    m->created_at = pg_int(res, row, col + 16);
    m->updated_at = pg_int(res, row, col + 17);
}

int pg_lock_members(struct pg_conn *c, const int64_t *mids, size_t n)
{
    /* One statement, rows taken in mid order: two transactions locking
     * overlapping sets wait for each other instead of deadlocking. */
    static const char SQL[] =
        "SELECT mid FROM members WHERE mid = ANY($1::bigint[]) ORDER BY mid FOR UPDATE";
    if (n == 0)
        return STORE_OK;
    struct arena a = ARENA_INIT;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(&a, mids, n));
    int rc = pg_cmd(c, SQL, &p, NULL);
    arena_reset(&a);
    return rc;
}

/* Runs a statement whose first row (if any) is a member at column col. */
static int load_one(struct pg_conn *c, const char *sql, const struct pg_params *p, int col,
                    struct arena *a, struct member *m, PGresult **keep)
{
    PGresult *res = pg_q(c, sql, p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) > 0) {
        pg_load_member(res, 0, col, a, m);
        rc = STORE_OK;
    }
    if (keep && rc == STORE_OK)
        *keep = res;
    else
        PQclear(res);
    return rc;
}

int pg_member_put(struct pg_conn *c, struct store_req *r)
{
    R(st_member_put);
    /* xmax is 0 on a freshly inserted row, and set on one the conflict
     * updated: "created" comes from the statement that decided it, so a
     * concurrent put of the same member cannot make both answer created. */
    static const char SQL[] =
        "INSERT INTO members AS m (wid, id, name, email, phone, role, timezone, locale, "
        "  active, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
        "ON CONFLICT (wid, id) DO UPDATE SET name = excluded.name, email = excluded.email, "
        "  phone = excluded.phone, role = excluded.role, timezone = excluded.timezone, "
        "  locale = excluded.locale, active = excluded.active, updated_at = excluded.updated_at "
        "RETURNING m.xmax = 0, " PG_MEMBER_COLS;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->id);
    pgp_text(&p, q->f.name);
    pgp_text(&p, q->f.email);
    pgp_text(&p, q->f.phone);
    pgp_int(&p, (int)q->f.role);
    pgp_text(&p, q->f.timezone);
    pgp_text(&p, q->f.locale);
    pgp_int(&p, q->f.active);
    pgp_int(&p, q->now);
    PGresult *res = NULL;
    int rc = load_one(c, SQL, &p, 1, r->arena, &q->out, &res);
    if (rc != STORE_OK) /* an upsert always returns its row */
        return rc == STORE_NOT_FOUND ? STORE_UNAVAILABLE : rc;
    q->created = pg_bool(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

int pg_member_get(struct pg_conn *c, struct store_req *r)
{
    R(st_member_get);
    static const char SQL[] =
        "SELECT " PG_MEMBER_COLS " FROM members m WHERE m.wid = $1 AND m.id = $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->id);
    return load_one(c, SQL, &p, 0, r->arena, &q->out, NULL);
}

int pg_member_delete(struct pg_conn *c, struct store_req *r)
{
    R(st_member_delete);
    /* The member row goes first, then what cascades from it: the lock
     * order every transaction keeps. */
    static const char SQL[] = "DELETE FROM members WHERE wid = $1 AND id = $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->id);
    int64_t n = 0;
    if (pg_cmd(c, SQL, &p, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    return n ? STORE_OK : STORE_NOT_FOUND;
}

int pg_member_list(struct pg_conn *c, struct store_req *r)
{
    R(st_member_list);
    /* Byte order, as SQLite's: the cursor is the last id of a page. */
    static const char SQL[] = "SELECT " PG_MEMBER_COLS " FROM members m "
                              "WHERE m.wid = $1 AND m.id COLLATE \"C\" > $2 "
                              "ORDER BY m.id COLLATE \"C\" LIMIT $3";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->after ? q->after : "");
    pgp_int(&p, (int64_t)q->limit + 1);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->out = ARENA_NEW_N(r->arena, struct member, (size_t)q->limit + 1);
    q->n = 0;
    q->more = false;
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        pg_load_member(res, i, 0, r->arena, &q->out[q->n++]);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_prefs_patch(struct pg_conn *c, struct store_req *r)
{
    R(st_prefs_patch);
    /* The patch is applied to the row as read: locked, so two patches of
     * different cells both stay. */
    static const char GET[] = "SELECT " PG_MEMBER_COLS " FROM members m "
                              "WHERE m.mid = $1 AND m.wid = $2 FOR UPDATE";
    static const char SQL[] =
        "UPDATE members SET prefs_set = $3, prefs_on = $4, cancel_channels = $5, "
        "cancel_within_days = $6, push_enabled = $7, updated_at = $8 "
        "WHERE mid = $1 AND wid = $2";
    struct pg_params g = PG_PARAMS_INIT;
    pgp_int(&g, q->mid);
    pgp_int(&g, q->wid);
    struct member m;
    int rc = load_one(c, GET, &g, 0, r->arena, &m, NULL);
    if (rc != STORE_OK)
        return rc;
    const struct prefs_patch *pp = &q->patch;
    m.prefs.set = (m.prefs.set & ~pp->clear_mask) | pp->set_mask;
    m.prefs.on = (m.prefs.on & ~(pp->clear_mask | pp->set_mask)) | (pp->set_on & pp->set_mask);
    if (pp->cancel_channels >= 0)
        m.cancel_channels = (enum cancel_channels)pp->cancel_channels;
    if (pp->cancel_within_days >= 0)
        m.cancel_within_days = pp->cancel_within_days;
    if (pp->push_enabled >= 0)
        m.push_enabled = pp->push_enabled;

    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_int(&p, q->wid);
    pgp_int(&p, m.prefs.set);
    pgp_int(&p, m.prefs.on);
    pgp_int(&p, (int)m.cancel_channels);
    pgp_int(&p, m.cancel_within_days);
    pgp_int(&p, m.push_enabled);
    pgp_int(&p, q->now);
    if (pg_cmd(c, SQL, &p, NULL) != STORE_OK)
        return STORE_UNAVAILABLE;
    m.updated_at = q->now;
    q->out = m;
    return STORE_OK;
}
