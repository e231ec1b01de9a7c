/* sq_members.c - members of a workspace and their preferences. */
#include "store/sqlite/sq_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

static const char MEMBER_BY_ID[] =
    "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.wid = ?1 AND m.id = ?2";
static const char MEMBER_BY_MID[] =
    "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.mid = ?1 AND m.wid = ?2";

static int load_one(struct sq_conn *c, sqlite3_stmt *st, struct arena *a, struct member *m)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_load_member(st, 0, a, m);
        sqlite3_reset(st);
        return STORE_OK;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "member");
}

static int member_by_id(struct sq_conn *c, int64_t wid, const char *id, struct arena *a,
                        struct member *m)
{
    sqlite3_stmt *st = sq_prep(c, MEMBER_BY_ID);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, wid);
    sq_bind_text(st, 2, id);
    return load_one(c, st, a, m);
}

int sq_member_put(struct sq_conn *c, struct store_req *r)
{
    R(st_member_put);
    static const char SQL[] =
        "INSERT INTO members(wid, id, name, email, phone, role, timezone, locale, active, "
        "  created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) "
        "ON CONFLICT(wid, id) DO UPDATE SET name = excluded.name, email = excluded.email, "
        "  phone = excluded.phone, role = excluded.role, timezone = excluded.timezone, "
        "  locale = excluded.locale, active = excluded.active, updated_at = excluded.updated_at "
        "";
    struct member existing;
    int found = member_by_id(c, q->wid, q->id, r->arena, &existing);
    if (found == STORE_UNAVAILABLE)
        return found;
    q->created = found == STORE_NOT_FOUND;
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->id);
    sq_bind_text(st, 3, q->f.name);
    sq_bind_text(st, 4, q->f.email);
    sq_bind_text(st, 5, q->f.phone);
    sqlite3_bind_int(st, 6, (int)q->f.role);
    sq_bind_text(st, 7, q->f.timezone);
    sq_bind_text(st, 8, q->f.locale);
    sqlite3_bind_int(st, 9, q->f.active);
    sqlite3_bind_int64(st, 10, q->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "member put");
    return member_by_id(c, q->wid, q->id, r->arena, &q->out);
}

int sq_member_get(struct sq_conn *c, struct store_req *r)
{
    R(st_member_get);
    return member_by_id(c, q->wid, q->id, r->arena, &q->out);
}

int sq_member_delete(struct sq_conn *c, struct store_req *r)
{
    R(st_member_delete);
    /* Notifications go with the member (ON DELETE CASCADE). */
    static const char SQL[] = "DELETE FROM members WHERE wid = ?1 AND id = ?2";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "member delete");
    return sqlite3_changes(c->db) ? STORE_OK : STORE_NOT_FOUND;
}

int sq_member_list(struct sq_conn *c, struct store_req *r)
{
    R(st_member_list);
    static const char SQL[] = "SELECT " SQ_MEMBER_COLS " FROM members m "
                              "WHERE m.wid = ?1 AND m.id > ?2 ORDER BY m.id LIMIT ?3";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->after ? q->after : "");
    sqlite3_bind_int(st, 3, q->limit + 1);
    q->out = ARENA_NEW_N(r->arena, struct member, (size_t)q->limit + 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        sq_load_member(st, 0, r->arena, &q->out[q->n++]);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "member list");
}

int sq_prefs_patch(struct sq_conn *c, struct store_req *r)
{
    R(st_prefs_patch);
    sqlite3_stmt *st = sq_prep(c, MEMBER_BY_MID);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    struct member m;
    int rc = load_one(c, st, r->arena, &m);
    if (rc != STORE_OK)
        return rc;
    const struct prefs_patch *p = &q->patch;
    m.prefs.set = (m.prefs.set & ~p->clear_mask) | p->set_mask;
    m.prefs.on = (m.prefs.on & ~(p->clear_mask | p->set_mask)) | (p->set_on & p->set_mask);
    if (p->cancel_channels >= 0)
        m.cancel_channels = (enum cancel_channels)p->cancel_channels;
    if (p->cancel_within_days >= 0)
        m.cancel_within_days = p->cancel_within_days;
    if (p->push_enabled >= 0)
        m.push_enabled = p->push_enabled;

    static const char SQL[] =
        "UPDATE members SET prefs_set = ?3, prefs_on = ?4, cancel_channels = ?5, "
        "cancel_within_days = ?6, push_enabled = ?7, updated_at = ?8 "
        "WHERE mid = ?1 AND wid = ?2";
    st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_int64(st, 3, m.prefs.set);
    sqlite3_bind_int64(st, 4, m.prefs.on);
    sqlite3_bind_int(st, 5, (int)m.cancel_channels);
    sqlite3_bind_int(st, 6, m.cancel_within_days);
    sqlite3_bind_int(st, 7, m.push_enabled);
    sqlite3_bind_int64(st, 8, q->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "prefs update");
    m.updated_at = q->now;
    q->out = m;
    return STORE_OK;
}
