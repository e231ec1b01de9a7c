/* pg_devices.c - members' devices and their push credentials (PostgreSQL).
 * Every query names the workspace and the member: a token reaches only
 * its own. */
#include "store/pg/pg_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

#define DEVICE_COLS                                                                        \
    "did, wid, mid, id, kind, token, p256dh, auth, environment, name, enabled, created_at, " \
    "updated_at, last_seen"

static void load_device(const PGresult *res, int row, struct arena *a, struct device *d)
{
    memset(d, 0, sizeof *d);
    d->did = pg_int(res, row, 0);
    d->wid = pg_int(res, row, 1);
    d->mid = pg_int(res, row, 2);
    d->id = pg_text(res, row, 3, a);
    d->kind = (int)pg_int(res, row, 4);
    d->token = pg_text(res, row, 5, a);
    d->p256dh = pg_text(res, row, 6, a);
    d->auth = pg_text(res, row, 7, a);
    d->environment = pg_text(res, row, 8, a);
    d->name = pg_text(res, row, 9, a);
    d->enabled = pg_int(res, row, 10) != 0;
    d->created_at = pg_int(res, row, 11);
    d->updated_at = pg_int(res, row, 12);
    d->last_seen = pg_int(res, row, 13);
}

/* Runs a statement whose first row (if any) is a device. */
static int load_one(struct pg_conn *c, const char *sql, const struct pg_params *p,
                    struct arena *a, struct device *d)
{
    PGresult *res = pg_q(c, sql, p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) > 0) {
        load_device(res, 0, a, d);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

static int device_get(struct pg_conn *c, int64_t wid, int64_t mid, const char *id,
                      struct arena *a, struct device *d)
{
    static const char SQL[] = "SELECT " DEVICE_COLS " FROM devices "
                              "WHERE wid = $1 AND mid = $2 AND id = $3";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, wid);
    pgp_int(&p, mid);
    pgp_text(&p, id);
    return load_one(c, SQL, &p, a, d);
}

static int count_devices(struct pg_conn *c, int64_t mid, int64_t *n)
{
    static const char SQL[] = "SELECT count(*) FROM devices WHERE mid = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *n = pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* Only the switch and the name of an existing device. */
static int device_switch(struct pg_conn *c, struct st_device_put *q, int64_t did,
                         struct arena *a)
{
    static const char SQL[] =
        "UPDATE devices SET enabled = coalesce($3::bigint, enabled), "
        "name = coalesce($4::text, name), updated_at = $5 WHERE did = $1 AND mid = $2 "
        "RETURNING " DEVICE_COLS;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, did);
    pgp_int(&p, q->mid);
    if (q->enabled >= 0)
        pgp_int(&p, q->enabled);
    else
        pgp_null(&p);
    pgp_text(&p, q->name);
    pgp_int(&p, q->now);
    int rc = load_one(c, SQL, &p, a, &q->out);
    return rc == STORE_NOT_FOUND ? STORE_UNAVAILABLE : rc; /* locked: it is there */
}

/* The credential moves here: registered elsewhere in the workspace (a
 * shared tablet, a new user), it is removed there. Two members taking the
 * same credential at once take turns on it (a transaction lock on its
 * hash, after their own member row), so one of them ends up with it. */
static int take_over(struct pg_conn *c, struct st_device_put *q)
{
    static const char LOCK[] =
        "SELECT pg_advisory_xact_lock(4, hashtext($1::bigint || ':' || $2::bigint || ':' || "
        "$3::text))";
    static const char SQL[] = "DELETE FROM devices WHERE wid = $1 AND kind = $2 AND "
                              "token = $3 AND NOT (mid = $4 AND id = $5)";
    struct pg_params l = PG_PARAMS_INIT;
    pgp_int(&l, q->wid);
    pgp_int(&l, q->kind);
    pgp_text(&l, q->token);
    PGresult *res = pg_q(c, LOCK, &l);
    if (!res)
        return STORE_UNAVAILABLE;
    PQclear(res);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->kind);
    pgp_text(&p, q->token);
    pgp_int(&p, q->mid);
    pgp_text(&p, q->id);
    return pg_cmd(c, SQL, &p, &q->taken_over);
}

int pg_device_put(struct pg_conn *c, struct store_req *r)
{
    R(st_device_put);
    static const char UPSERT[] =
        "INSERT INTO devices(wid, mid, id, kind, token, p256dh, auth, environment, name, "
        "  enabled, created_at, updated_at, last_seen, credential_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::bigint, 1), $11, $11, $11, "
        "  $11) "
        "ON CONFLICT (mid, id) DO UPDATE SET kind = excluded.kind, token = excluded.token, "
        "  p256dh = excluded.p256dh, auth = excluded.auth, environment = excluded.environment, "
        "  name = coalesce(excluded.name, devices.name), "
        "  enabled = coalesce($10::bigint, devices.enabled), "
        "  updated_at = excluded.updated_at, last_seen = excluded.last_seen, "
        "  credential_at = CASE WHEN devices.token = excluded.token "
        "                        AND devices.kind = excluded.kind "
        "                       THEN devices.credential_at ELSE excluded.credential_at END "
        "RETURNING " DEVICE_COLS;
    q->created = false;
    q->taken_over = 0;
    /* The member's row first: puts for one member take turns, so the
     * count below and "created" stay true until commit. */
    int rc = pg_lock_members(c, &q->mid, 1);
    if (rc != STORE_OK)
        return rc;
    struct device old;
    rc = device_get(c, q->wid, q->mid, q->id, r->arena, &old);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return rc;
    q->created = rc == STORE_NOT_FOUND;
    if (!q->credential)
        return q->created ? STORE_NOT_FOUND : device_switch(c, q, old.did, r->arena);
    if (q->created) {
        int64_t n;
        if ((rc = count_devices(c, q->mid, &n)) != STORE_OK)
            return rc;
        if (n >= DEVICES_PER_MEMBER_MAX)
            return STORE_CONFLICT;
    }
    if ((rc = take_over(c, q)) != STORE_OK)
        return rc;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->mid);
    pgp_text(&p, q->id);
    pgp_int(&p, q->kind);
    pgp_text(&p, q->token);
    pgp_text(&p, q->p256dh);
    pgp_text(&p, q->auth);
    pgp_text(&p, q->environment);
    pgp_text(&p, q->name);
    if (q->enabled >= 0)
        pgp_int(&p, q->enabled);
    else
        pgp_null(&p);
    pgp_int(&p, q->now);
    rc = load_one(c, UPSERT, &p, r->arena, &q->out);
    return rc == STORE_NOT_FOUND ? STORE_UNAVAILABLE : rc; /* an upsert returns its row */
}

int pg_device_list(struct pg_conn *c, struct store_req *r)
{
    R(st_device_list);
    static const char SQL[] = "SELECT " DEVICE_COLS " FROM devices "
                              "WHERE wid = $1 AND mid = $2 ORDER BY created_at, did LIMIT $3";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->mid);
    pgp_int(&p, DEVICES_PER_MEMBER_MAX + 1);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->items = ARENA_NEW_N(r->arena, struct device, DEVICES_PER_MEMBER_MAX + 1);
    q->n = 0;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && q->n <= DEVICES_PER_MEMBER_MAX; i++)
        load_device(res, i, r->arena, &q->items[q->n++]);
    PQclear(res);
    return STORE_OK;
}

int pg_device_delete(struct pg_conn *c, struct store_req *r)
{
    R(st_device_delete);
    static const char SQL[] = "DELETE FROM devices WHERE wid = $1 AND mid = $2 AND id = $3";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->mid);
    pgp_text(&p, q->id);
    int64_t n = 0;
    if (pg_cmd(c, SQL, &p, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    return n ? STORE_OK : STORE_NOT_FOUND;
}
