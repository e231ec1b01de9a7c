/* sq_workspaces.c - workspaces, their API keys and SMS credits, and the
 * look-ups behind authentication. */
#include "store/sqlite/sq_int.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

static int step_done(struct sq_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return STORE_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return STORE_CONFLICT;
    return sq_fail(c, what);
}

int sq_ws_create(struct sq_conn *c, struct store_req *r)
{
    R(st_ws_create);
    static const char INS[] =
        "INSERT INTO workspaces(id, name, timezone, signing_secret, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
    static const char KEY[] =
        "INSERT INTO api_keys(key_id, wid, key_hash, name, created_at) VALUES (?1, ?2, ?3, 'initial', ?4)";
    sqlite3_stmt *st = sq_prep(c, INS);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->id);
    sq_bind_text(st, 2, q->name);
    sq_bind_text(st, 3, q->timezone);
    sq_bind_text(st, 4, q->signing_secret);
    sqlite3_bind_int64(st, 5, q->now);
    int rc = step_done(c, st, "workspace insert");
    if (rc != STORE_OK)
        return rc;
    int64_t wid = sqlite3_last_insert_rowid(c->db);
    st = sq_prep(c, KEY);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->key_id);
    sqlite3_bind_int64(st, 2, wid);
    sqlite3_bind_blob(st, 3, q->key_hash, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, q->now);
    if ((rc = step_done(c, st, "key insert")) != STORE_OK)
        return rc == STORE_CONFLICT ? STORE_UNAVAILABLE : rc;
    return sq_workspace_by_wid(c, wid, r->arena, &q->out);
}

int sq_ws_list(struct sq_conn *c, struct store_req *r)
{
    R(st_ws_list);
    static const char SQL[] = "SELECT " SQ_WS_COLS " FROM workspaces w ORDER BY w.id";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    size_t cap = 16;
    q->out = ARENA_NEW_N(r->arena, struct workspace, cap);
    q->n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (q->n == cap) {
            struct workspace *v = ARENA_NEW_N(r->arena, struct workspace, cap * 2);
            memcpy(v, q->out, cap * sizeof *v);
            q->out = v;
            cap *= 2;
        }
        sq_load_workspace(st, 0, r->arena, &q->out[q->n++]);
    }
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "workspace list");
}

int sq_ws_get(struct sq_conn *c, struct store_req *r)
{
    R(st_ws_get);
    if (!q->id)
        return sq_workspace_by_wid(c, q->wid, r->arena, &q->out);
    static const char SQL[] = "SELECT " SQ_WS_COLS " FROM workspaces w WHERE w.id = ?1";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_load_workspace(st, 0, r->arena, &q->out);
        return STORE_OK;
    }
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "workspace get");
}

int sq_ws_update(struct sq_conn *c, struct store_req *r)
{
    R(st_ws_update);
    struct workspace w;
    int rc = sq_workspace_by_wid(c, q->wid, r->arena, &w);
    if (rc != STORE_OK)
        return rc;
    const struct ws_patch *p = &q->patch;
    if (p->name)
        w.name = p->name;
    if (p->timezone)
        w.timezone = p->timezone;
    if (p->message_group_window_s >= 0)
        w.message_group_window_s = p->message_group_window_s;
    if (p->booking_alert_audience >= 0)
        w.booking_alert_audience = (enum audience)p->booking_alert_audience;
    if (p->phi_in_external_channels >= 0)
        w.phi_in_external_channels = p->phi_in_external_channels;
    if (p->sms_fallback_to_email >= 0)
        w.sms_fallback_to_email = p->sms_fallback_to_email;
    if (p->retention_days >= 0)
        w.retention_days = p->retention_days;
    if (p->set_email_sender_name)
        w.email_sender_name = p->email_sender_name;
    if (p->set_sms_sender_id)
        w.sms_sender_id = p->sms_sender_id;
    if (p->set_app_url)
        w.app_url = p->app_url;
    w.default_prefs.set = (w.default_prefs.set & ~p->prefs_clear_mask) | p->prefs_set_mask;
    w.default_prefs.on = (w.default_prefs.on & ~(p->prefs_clear_mask | p->prefs_set_mask)) |
                         (p->prefs_on & p->prefs_set_mask);

    static const char SQL[] =
        "UPDATE workspaces SET name = ?2, timezone = ?3, message_group_window_s = ?4, "
        "booking_alert_audience = ?5, phi_in_external_channels = ?6, "
        "sms_fallback_to_email = ?7, retention_days = ?8, email_sender_name = ?9, "
        "sms_sender_id = ?10, prefs_set = ?11, prefs_on = ?12, updated_at = ?13, app_url = ?14 "
        "WHERE wid = ?1";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, w.name);
    sq_bind_text(st, 3, w.timezone);
    sqlite3_bind_int(st, 4, w.message_group_window_s);
    sqlite3_bind_int(st, 5, (int)w.booking_alert_audience);
    sqlite3_bind_int(st, 6, w.phi_in_external_channels);
    sqlite3_bind_int(st, 7, w.sms_fallback_to_email);
    sqlite3_bind_int(st, 8, w.retention_days);
    sq_bind_text(st, 9, w.email_sender_name);
    sq_bind_text(st, 10, w.sms_sender_id);
    sqlite3_bind_int64(st, 11, w.default_prefs.set);
    sqlite3_bind_int64(st, 12, w.default_prefs.on);
    sqlite3_bind_int64(st, 13, q->now);
    sq_bind_text(st, 14, w.app_url);
    if ((rc = step_done(c, st, "workspace update")) != STORE_OK)
        return rc;
    q->out = w;
    return STORE_OK;
}

int sq_credits_add(struct sq_conn *c, struct store_req *r)
{
    R(st_credits_add);
    static const char UPD[] =
        "UPDATE workspaces SET credits = credits + ?2 WHERE wid = ?1 RETURNING credits";
    static const char LEDGER[] =
        "INSERT INTO credit_ledger(wid, delta, balance, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *st = sq_prep(c, UPD);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->add);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND
             : (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONFLICT
                                                : sq_fail(c, "credits");
    q->balance = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    st = sq_prep(c, LEDGER);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->add);
    sqlite3_bind_int64(st, 3, q->balance);
    sq_bind_text(st, 4, q->reason);
    sqlite3_bind_int64(st, 5, q->now);
    return step_done(c, st, "ledger");
}

int sq_key_create(struct sq_conn *c, struct store_req *r)
{
    R(st_key_create);
    static const char SQL[] =
        "INSERT INTO api_keys(key_id, wid, key_hash, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->key_id);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_blob(st, 3, q->key_hash, SHA256_LEN, SQLITE_STATIC);
    sq_bind_text(st, 4, q->name);
    sqlite3_bind_int64(st, 5, q->now);
    return step_done(c, st, "key insert");
}

int sq_key_revoke(struct sq_conn *c, struct store_req *r)
{
    R(st_key_revoke);
    if (q->keep_last) {
        static const char OTHERS[] = "SELECT count(*) FROM api_keys WHERE wid = ?1 "
                                     "AND revoked_at IS NULL AND key_id <> ?2";
        sqlite3_stmt *st = sq_prep(c, OTHERS);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->wid);
        sq_bind_text(st, 2, q->key_id);
        if (sqlite3_step(st) != SQLITE_ROW)
            return sq_fail(c, "key count");
        if (sqlite3_column_int(st, 0) == 0)
            return STORE_CONFLICT;
    }
    static const char SQL[] =
        "UPDATE api_keys SET revoked_at = ?3 WHERE key_id = ?1 AND wid = ?2 AND revoked_at IS NULL";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->key_id);
    sqlite3_bind_int64(st, 2, q->wid);
    sqlite3_bind_int64(st, 3, q->now);
    int rc = step_done(c, st, "key revoke");
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        return STORE_NOT_FOUND;
    return rc;
}

int sq_key_list(struct sq_conn *c, struct store_req *r)
{
    R(st_key_list);
    static const char SQL[] = "SELECT key_id, name, created_at, revoked_at FROM api_keys "
                              "WHERE wid = ?1 ORDER BY created_at, key_id";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    size_t cap = 8;
    q->out = ARENA_NEW_N(r->arena, struct api_key_info, cap);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (q->n == cap) {
            struct api_key_info *v = ARENA_NEW_N(r->arena, struct api_key_info, cap * 2);
            memcpy(v, q->out, cap * sizeof *v);
            q->out = v;
            cap *= 2;
        }
        struct api_key_info *k = &q->out[q->n++];
        k->key_id = sq_text(st, 0, r->arena);
        k->name = sq_text(st, 1, r->arena);
        k->created_at = sqlite3_column_int64(st, 2);
        k->revoked_at = sqlite3_column_int64(st, 3);
    }
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "key list");
}

int sq_auth_key(struct sq_conn *c, struct store_req *r)
{
    R(st_auth_key);
    static const char SQL[] = "SELECT k.key_hash, k.revoked_at IS NOT NULL, " SQ_WS_COLS
                              " FROM api_keys k JOIN workspaces w ON w.wid = k.wid "
                              "WHERE k.key_id = ?1";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->key_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "auth key");
    if (sqlite3_column_bytes(st, 0) == SHA256_LEN)
        memcpy(q->key_hash, sqlite3_column_blob(st, 0), SHA256_LEN);
    q->revoked = sqlite3_column_int(st, 1);
    sq_load_workspace(st, 2, r->arena, &q->ws);
    return STORE_OK;
}

int sq_auth_member(struct sq_conn *c, struct store_req *r)
{
    R(st_auth_member);
    static const char WS[] = "SELECT " SQ_WS_COLS " FROM workspaces w WHERE w.id = ?1";
    static const char MEMBER[] =
        "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.wid = ?1 AND m.id = ?2";
    sqlite3_stmt *st = sq_prep(c, WS);
    if (!st)
        return STORE_UNAVAILABLE;
    sq_bind_text(st, 1, q->ws_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "auth workspace");
    sq_load_workspace(st, 0, r->arena, &q->ws);
    sqlite3_reset(st);
    st = sq_prep(c, MEMBER);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->ws.wid);
    sq_bind_text(st, 2, q->member_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_load_member(st, 0, r->arena, &q->member);
        q->member_found = true;
    } else if (rc != SQLITE_DONE) {
        return sq_fail(c, "auth member");
    }
    return STORE_OK;
}
