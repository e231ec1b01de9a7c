/* pg_workspaces.c - workspaces, their API keys and SMS credits, and the
 * look-ups behind authentication (PostgreSQL). */
#include "store/pg/pg_int.h"
#include "core/log.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

void pg_load_workspace(const PGresult *res, int row, int col, struct arena *a,
                       struct workspace *w)
{
    memset(w, 0, sizeof *w);
    w->wid = pg_int(res, row, col + 0);
    w->id = pg_text(res, row, col + 1, a);
    w->name = pg_text(res, row, col + 2, a);
    w->timezone = pg_text(res, row, col + 3, a);
    w->signing_secret = pg_text(res, row, col + 4, a);
    w->message_group_window_s = (int)pg_int(res, row, col + 5);
    w->booking_alert_audience = (enum audience)pg_int(res, row, col + 6);
    w->phi_in_external_channels = pg_int(res, row, col + 7) != 0;
    w->sms_fallback_to_email = pg_int(res, row, col + 8) != 0;
    w->retention_days = (int)pg_int(res, row, col + 9);
    w->email_sender_name = pg_text(res, row, col + 10, a);
    w->sms_sender_id = pg_text(res, row, col + 11, a);
    w->default_prefs.set = (uint32_t)pg_int(res, row, col + 12);
    w->default_prefs.on = (uint32_t)pg_int(res, row, col + 13);
    w->credits = pg_int(res, row, col + 14);
    w->created_at = pg_int(res, row, col + 15);
    w->app_url = pg_text(res, row, col + 16, a);
}

/* Runs a statement whose first row (if any) is a workspace at column 0. */
static int load_one(struct pg_conn *c, const char *sql, const struct pg_params *p,
                    struct arena *a, struct workspace *w)
{
    PGresult *res = pg_q(c, sql, p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) > 0) {
        pg_load_workspace(res, 0, 0, a, w);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

int pg_workspace_by_wid(struct pg_conn *c, int64_t wid, struct arena *a, struct workspace *w)
{
    static const char SQL[] = "SELECT " PG_WS_COLS " FROM workspaces w WHERE w.wid = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, wid);
    return load_one(c, SQL, &p, a, w);
}

int pg_ws_create(struct pg_conn *c, struct store_req *r)
{
    R(st_ws_create);
    /* A taken id answers no row rather than an error, which would abort
     * the transaction. */
    static const char INS[] =
        "INSERT INTO workspaces AS w (id, name, timezone, signing_secret, created_at, "
        "  updated_at) VALUES ($1, $2, $3, $4, $5, $5) "
        "ON CONFLICT (id) DO NOTHING RETURNING " PG_WS_COLS;
    static const char KEY[] =
        "INSERT INTO api_keys(key_id, wid, key_hash, name, created_at) "
        "VALUES ($1, $2, $3, 'initial', $4) ON CONFLICT DO NOTHING";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->id);
    pgp_text(&p, q->name);
    pgp_text(&p, q->timezone);
    pgp_text(&p, q->signing_secret);
    pgp_int(&p, q->now);
    struct workspace w;
    int rc = load_one(c, INS, &p, r->arena, &w);
    if (rc != STORE_OK)
        return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
    struct pg_params k = PG_PARAMS_INIT;
    pgp_text(&k, q->key_id);
    pgp_int(&k, w.wid);
    pgp_bytes(&k, q->key_hash, SHA256_LEN);
    pgp_int(&k, q->now);
    int64_t n = 0;
    if (pg_cmd(c, KEY, &k, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    if (n == 0) { /* a random key id met another: as SQLite, a failure */
        hlog_error("store: initial API key id taken");
        return STORE_UNAVAILABLE;
    }
    q->out = w;
    return STORE_OK;
}

int pg_ws_list(struct pg_conn *c, struct store_req *r)
{
    R(st_ws_list);
    static const char SQL[] =
        "SELECT " PG_WS_COLS " FROM workspaces w ORDER BY w.id COLLATE \"C\"";
    PGresult *res = pg_q(c, SQL, NULL);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    q->out = ARENA_NEW_N(r->arena, struct workspace, rows > 0 ? (size_t)rows : 1);
    q->n = 0;
    for (int i = 0; i < rows; i++)
        pg_load_workspace(res, i, 0, r->arena, &q->out[q->n++]);
    PQclear(res);
    return STORE_OK;
}

int pg_ws_get(struct pg_conn *c, struct store_req *r)
{
    R(st_ws_get);
    if (!q->id)
        return pg_workspace_by_wid(c, q->wid, r->arena, &q->out);
    static const char SQL[] = "SELECT " PG_WS_COLS " FROM workspaces w WHERE w.id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->id);
    return load_one(c, SQL, &p, r->arena, &q->out);
}

static void apply_patch(struct workspace *w, const struct ws_patch *p)
{
    if (p->name)
        w->name = p->name;
    if (p->timezone)
        w->timezone = p->timezone;
    if (p->message_group_window_s >= 0)
        w->message_group_window_s = p->message_group_window_s;
    if (p->booking_alert_audience >= 0)
        w->booking_alert_audience = (enum audience)p->booking_alert_audience;
    if (p->phi_in_external_channels >= 0)
        w->phi_in_external_channels = p->phi_in_external_channels;
    if (p->sms_fallback_to_email >= 0)
        w->sms_fallback_to_email = p->sms_fallback_to_email;
    if (p->retention_days >= 0)
        w->retention_days = p->retention_days;
    if (p->set_email_sender_name)
        w->email_sender_name = p->email_sender_name;
    if (p->set_sms_sender_id)
        w->sms_sender_id = p->sms_sender_id;
    if (p->set_app_url)
        w->app_url = p->app_url;
    w->default_prefs.set = (w->default_prefs.set & ~p->prefs_clear_mask) | p->prefs_set_mask;
    w->default_prefs.on = (w->default_prefs.on & ~(p->prefs_clear_mask | p->prefs_set_mask)) |
                          (p->prefs_on & p->prefs_set_mask);
}

int pg_ws_update(struct pg_conn *c, struct store_req *r)
{
    R(st_ws_update);
    /* The patch is applied to the row as read: locked, so two updates of
     * different fields both stay. */
    static const char GET[] =
        "SELECT " PG_WS_COLS " FROM workspaces w WHERE w.wid = $1 FOR UPDATE";
    static const char SQL[] =
        "UPDATE workspaces SET name = $2, timezone = $3, message_group_window_s = $4, "
        "booking_alert_audience = $5, phi_in_external_channels = $6, "
        "sms_fallback_to_email = $7, retention_days = $8, email_sender_name = $9, "
        "sms_sender_id = $10, prefs_set = $11, prefs_on = $12, updated_at = $13, app_url = $14 "
        "WHERE wid = $1";
    struct pg_params g = PG_PARAMS_INIT;
    pgp_int(&g, q->wid);
    struct workspace w;
    int rc = load_one(c, GET, &g, r->arena, &w);
    if (rc != STORE_OK)
        return rc;
    apply_patch(&w, &q->patch);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, w.name);
    pgp_text(&p, w.timezone);
    pgp_int(&p, w.message_group_window_s);
    pgp_int(&p, (int)w.booking_alert_audience);
    pgp_int(&p, w.phi_in_external_channels);
    pgp_int(&p, w.sms_fallback_to_email);
    pgp_int(&p, w.retention_days);
    pgp_text(&p, w.email_sender_name);
    pgp_text(&p, w.sms_sender_id);
    pgp_int(&p, w.default_prefs.set);
    pgp_int(&p, w.default_prefs.on);
    pgp_int(&p, q->now);
    pgp_text(&p, w.app_url);
    if (pg_cmd(c, SQL, &p, NULL) != STORE_OK)
        return STORE_UNAVAILABLE;
    q->out = w;
    return STORE_OK;
}

int pg_credits_add(struct pg_conn *c, struct store_req *r)
{
    R(st_credits_add);
    /* The sum is taken on the locked row, so concurrent adds all count; a
     * balance that would go negative (SQLite: the CHECK fails) updates
     * nothing instead of raising an error. */
    static const char UPD[] = "UPDATE workspaces SET credits = credits + $2 "
                              "WHERE wid = $1 AND credits + $2 >= 0 RETURNING credits";
    static const char EXISTS[] = "SELECT 1 FROM workspaces WHERE wid = $1";
    static const char LEDGER[] = "INSERT INTO credit_ledger(wid, delta, balance, reason, at) "
                                 "VALUES ($1, $2, $3, $4, $5)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->add);
    PGresult *res = pg_q(c, UPD, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    bool updated = PQntuples(res) == 1;
    if (updated)
        q->balance = pg_int(res, 0, 0);
    PQclear(res);
    if (!updated) {
        struct pg_params e = PG_PARAMS_INIT;
        pgp_int(&e, q->wid);
        if (!(res = pg_q(c, EXISTS, &e)))
            return STORE_UNAVAILABLE;
        int rc = PQntuples(res) ? STORE_CONFLICT : STORE_NOT_FOUND;
        PQclear(res);
        return rc;
    }
    struct pg_params l = PG_PARAMS_INIT;
    pgp_int(&l, q->wid);
    pgp_int(&l, q->add);
    pgp_int(&l, q->balance);
    pgp_text(&l, q->reason);
    pgp_int(&l, q->now);
    return pg_cmd(c, LEDGER, &l, NULL);
}

int pg_key_create(struct pg_conn *c, struct store_req *r)
{
    R(st_key_create);
    /* A taken key id or an unknown workspace (SQLite: a constraint fails)
     * inserts nothing rather than raising an error. */
    static const char SQL[] =
        "INSERT INTO api_keys(key_id, wid, key_hash, name, created_at) "
        "SELECT $1::text, w.wid, $3::bytea, $4::text, $5::bigint FROM workspaces w "
        "WHERE w.wid = $2 ON CONFLICT DO NOTHING";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->key_id);
    pgp_int(&p, q->wid);
    pgp_bytes(&p, q->key_hash, SHA256_LEN);
    pgp_text(&p, q->name);
    pgp_int(&p, q->now);
    int64_t n = 0;
    if (pg_cmd(c, SQL, &p, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    return n ? STORE_OK : STORE_CONFLICT;
}

int pg_key_revoke(struct pg_conn *c, struct store_req *r)
{
    R(st_key_revoke);
    /* Revocations of one workspace take turns on its row, so two racing
     * ones cannot each see the other's key live and leave none. */
    static const char LOCK[] = "SELECT 1 FROM workspaces WHERE wid = $1 FOR UPDATE";
    static const char OTHERS[] = "SELECT count(*) FROM api_keys WHERE wid = $1 "
                                 "AND revoked_at IS NULL AND key_id <> $2";
    static const char SQL[] = "UPDATE api_keys SET revoked_at = $3 "
                              "WHERE key_id = $1 AND wid = $2 AND revoked_at IS NULL";
    struct pg_params l = PG_PARAMS_INIT;
    pgp_int(&l, q->wid);
    PGresult *res = pg_q(c, LOCK, &l);
    if (!res)
        return STORE_UNAVAILABLE;
    PQclear(res);
    if (q->keep_last) {
        struct pg_params o = PG_PARAMS_INIT;
        pgp_int(&o, q->wid);
        pgp_text(&o, q->key_id);
        if (!(res = pg_q(c, OTHERS, &o)))
            return STORE_UNAVAILABLE;
        int64_t others = PQntuples(res) == 1 ? pg_int(res, 0, 0) : 0;
        PQclear(res);
        if (others == 0)
            return STORE_CONFLICT;
    }
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->key_id);
    pgp_int(&p, q->wid);
    pgp_int(&p, q->now);
    int64_t n = 0;
    if (pg_cmd(c, SQL, &p, &n) != STORE_OK)
        return STORE_UNAVAILABLE;
    return n ? STORE_OK : STORE_NOT_FOUND;
}

int pg_key_list(struct pg_conn *c, struct store_req *r)
{
    R(st_key_list);
    static const char SQL[] = "SELECT key_id, name, created_at, revoked_at FROM api_keys "
                              "WHERE wid = $1 ORDER BY created_at, key_id COLLATE \"C\"";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    q->out = ARENA_NEW_N(r->arena, struct api_key_info, rows > 0 ? (size_t)rows : 1);
    q->n = 0;
    for (int i = 0; i < rows; i++) {
        struct api_key_info *k = &q->out[q->n++];
        k->key_id = pg_text(res, i, 0, r->arena);
        k->name = pg_text(res, i, 1, r->arena);
        k->created_at = pg_int(res, i, 2);
        k->revoked_at = pg_int(res, i, 3);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_auth_key(struct pg_conn *c, struct store_req *r)
{
    R(st_auth_key);
    static const char SQL[] = "SELECT k.key_hash, k.revoked_at IS NOT NULL, " PG_WS_COLS
                              " FROM api_keys k JOIN workspaces w ON w.wid = k.wid "
                              "WHERE k.key_id = $1";
    /* An unknown key still gets a (zero) hash to compare, so timing says
     * nothing; a stored hash of the wrong size matches no key. */
    memset(q->key_hash, 0, sizeof q->key_hash);
    q->revoked = false;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->key_id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) == 1) {
        if (!pg_bytes(res, 0, 0, q->key_hash, SHA256_LEN))
            memset(q->key_hash, 0, sizeof q->key_hash);
        q->revoked = pg_bool(res, 0, 1);
        pg_load_workspace(res, 0, 2, r->arena, &q->ws);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

int pg_auth_member(struct pg_conn *c, struct store_req *r)
{
    R(st_auth_member);
    static const char WS[] = "SELECT " PG_WS_COLS " FROM workspaces w WHERE w.id = $1";
    static const char MEMBER[] =
        "SELECT " PG_MEMBER_COLS " FROM members m WHERE m.wid = $1 AND m.id = $2";
    q->member_found = false;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, q->ws_id);
    int rc = load_one(c, WS, &p, r->arena, &q->ws);
    if (rc != STORE_OK)
        return rc;
    struct pg_params m = PG_PARAMS_INIT;
    pgp_int(&m, q->ws.wid);
    pgp_text(&m, q->member_id);
    PGresult *res = pg_q(c, MEMBER, &m);
    if (!res)
        return STORE_UNAVAILABLE;
    if (PQntuples(res) == 1) {
        pg_load_member(res, 0, 0, r->arena, &q->member);
        q->member_found = true;
    }
    PQclear(res);
    return STORE_OK;
}
