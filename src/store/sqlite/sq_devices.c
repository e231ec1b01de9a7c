/* sq_devices.c - members' devices and their push credentials. Every query
 * names the workspace and the member: a token reaches only its own. */
#include "store/sqlite/sq_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

#define DEVICE_COLS                                                                        \
    "did, wid, mid, id, kind, token, p256dh, auth, environment, name, enabled, created_at, " \
    "updated_at, last_seen"

static void load_device(sqlite3_stmt *st, struct arena *a, struct device *d)
{
    d->did = sqlite3_column_int64(st, 0);
    d->wid = sqlite3_column_int64(st, 1);
    d->mid = sqlite3_column_int64(st, 2);
    d->id = sq_text(st, 3, a);
    d->kind = sqlite3_column_int(st, 4);
    d->token = sq_text(st, 5, a);
    d->p256dh = sq_text(st, 6, a);
    d->auth = sq_text(st, 7, a);
    d->environment = sq_text(st, 8, a);
    d->name = sq_text(st, 9, a);
    d->enabled = sqlite3_column_int(st, 10);
    d->created_at = sqlite3_column_int64(st, 11);
    d->updated_at = sqlite3_column_int64(st, 12);
    d->last_seen = sqlite3_column_int64(st, 13);
}

static int device_get(struct sq_conn *c, int64_t wid, int64_t mid, const char *id,
                      struct arena *a, struct device *d)
{
    sqlite3_stmt *st = sq_prep(c, "SELECT " DEVICE_COLS " FROM devices "
                                  "WHERE wid = ?1 AND mid = ?2 AND id = ?3");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, wid);
    sqlite3_bind_int64(st, 2, mid);
    sq_bind_text(st, 3, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        load_device(st, a, d);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND
                                                           : sq_fail(c, "device");
}

static int count_devices(struct sq_conn *c, int64_t mid, int64_t *n)
{
    sqlite3_stmt *st = sq_prep(c, "SELECT count(*) FROM devices WHERE mid = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, mid);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : sq_fail(c, "device count");
}

int sq_device_put(struct sq_conn *c, struct store_req *r)
{
    R(st_device_put);
    struct device old;
    int rc = device_get(c, q->wid, q->mid, q->id, r->arena, &old);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return rc;
    q->created = rc == STORE_NOT_FOUND;
    if (!q->credential) { /* the switch and the name only */
        if (q->created)
            return STORE_NOT_FOUND;
        sqlite3_stmt *st = sq_prep(c, "UPDATE devices SET enabled = coalesce(?3, enabled), "
                                      "name = coalesce(?4, name), updated_at = ?5 "
                                      "WHERE did = ?1 AND mid = ?2");
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, old.did);
        sqlite3_bind_int64(st, 2, q->mid);
        if (q->enabled >= 0)
            sqlite3_bind_int(st, 3, q->enabled);
        sq_bind_text(st, 4, q->name);
        sqlite3_bind_int64(st, 5, q->now);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sq_fail(c, "device switch");
        return device_get(c, q->wid, q->mid, q->id, r->arena, &q->out);
    }
    if (q->created) {
        int64_t n;
        if ((rc = count_devices(c, q->mid, &n)) != STORE_OK)
            return rc;
        if (n >= DEVICES_PER_MEMBER_MAX)
            return STORE_CONFLICT;
    }
    /* The credential moves here: registered elsewhere in the workspace (a
     * shared tablet, a new user), it is removed there. */
    sqlite3_stmt *st = sq_prep(c, "DELETE FROM devices WHERE wid = ?1 AND kind = ?2 AND "
                                  "token = ?3 AND NOT (mid = ?4 AND id = ?5)");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int(st, 2, q->kind);
    sq_bind_text(st, 3, q->token);
    sqlite3_bind_int64(st, 4, q->mid);
    sq_bind_text(st, 5, q->id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "device takeover");
    q->taken_over = sqlite3_changes(c->db);
    st = sq_prep(c,
        "INSERT INTO devices(wid, mid, id, kind, token, p256dh, auth, environment, name, "
        "  enabled, created_at, updated_at, last_seen, credential_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, coalesce(?10, 1), ?11, ?11, ?11, ?11) "
        "ON CONFLICT(mid, id) DO UPDATE SET kind = excluded.kind, token = excluded.token, "
        "  p256dh = excluded.p256dh, auth = excluded.auth, environment = excluded.environment, "
        "  name = coalesce(excluded.name, name), enabled = coalesce(?10, enabled), "
        "  updated_at = excluded.updated_at, last_seen = excluded.last_seen, "
        "  credential_at = CASE WHEN token = excluded.token AND kind = excluded.kind "
        "                       THEN credential_at ELSE excluded.credential_at END");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->mid);
    sq_bind_text(st, 3, q->id);
    sqlite3_bind_int(st, 4, q->kind);
    sq_bind_text(st, 5, q->token);
    sq_bind_text(st, 6, q->p256dh);
    sq_bind_text(st, 7, q->auth);
    sq_bind_text(st, 8, q->environment);
    sq_bind_text(st, 9, q->name);
    if (q->enabled >= 0)
        sqlite3_bind_int(st, 10, q->enabled);
    sqlite3_bind_int64(st, 11, q->now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "device put");
    return device_get(c, q->wid, q->mid, q->id, r->arena, &q->out);
}

int sq_device_list(struct sq_conn *c, struct store_req *r)
{
    R(st_device_list);
    sqlite3_stmt *st = sq_prep(c, "SELECT " DEVICE_COLS " FROM devices "
                                  "WHERE wid = ?1 AND mid = ?2 ORDER BY created_at, did");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->mid);
    q->items = ARENA_NEW_N(r->arena, struct device, DEVICES_PER_MEMBER_MAX + 1);
    q->n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && q->n <= DEVICES_PER_MEMBER_MAX)
        load_device(st, r->arena, &q->items[q->n++]);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : sq_fail(c, "devices");
}

int sq_device_delete(struct sq_conn *c, struct store_req *r)
{
    R(st_device_delete);
    sqlite3_stmt *st = sq_prep(c, "DELETE FROM devices WHERE wid = ?1 AND mid = ?2 AND id = ?3");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->mid);
    sq_bind_text(st, 3, q->id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "device delete");
    return sqlite3_changes(c->db) ? STORE_OK : STORE_NOT_FOUND;
}
