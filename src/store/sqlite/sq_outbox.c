/* sq_outbox.c - the durable outbox of external deliveries.
 *
 * Rows are written with their notification, rendered. The deliverer (on
 * the loop) claims due rows under a lease, sends them, and reports each
 * attempt; a row whose sender died comes back when its lease ends. The
 * claim counter fences results: an answer for an older claim changes
 * nothing, so a slow sender cannot overwrite its successor. SMS are paid
 * for at claim time, once (a ledger row names the delivery), with a
 * conditional debit that never takes the balance below zero. */
#include "store/sqlite/sq_int.h"
#include "engine/render.h"

#include <stdio.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r

static int add_row(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                   int channel, int status, const char *to, const char *subject,
                   const char *body, const char *html, int segments, int64_t fallback_for,
                   int64_t *id)
{
    static const char SQL[] =
        "INSERT INTO deliveries(wid, nid, eid, mid, channel, status, to_addr, subject, body, "
        "  html, segments, fallback_for, next_at, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?13)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, n->wid);
    sqlite3_bind_int64(st, 2, nid);
    sqlite3_bind_int64(st, 3, n->eid);
    sqlite3_bind_int64(st, 4, n->mid);
    sqlite3_bind_int(st, 5, channel);
    sqlite3_bind_int(st, 6, status);
    sq_bind_text(st, 7, to);
    sq_bind_text(st, 8, subject);
    sq_bind_text(st, 9, body);
    sq_bind_text(st, 10, html);
    if (segments)
        sqlite3_bind_int(st, 11, segments);
    if (fallback_for)
        sqlite3_bind_int64(st, 12, fallback_for);
    sqlite3_bind_int64(st, 13, n->at);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "outbox insert");
    sqlite3_reset(st);
    *id = sqlite3_last_insert_rowid(c->db);
    return STORE_OK;
}

int sq_outbox_wanted(struct sq_conn *c, unsigned channels, int64_t mid, bool *wanted)
{
    *wanted = channels & (CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS));
    if (*wanted || !(channels & CH_BIT(CH_PUSH)))
        return STORE_OK;
    sqlite3_stmt *st = sq_prep(c, "SELECT 1 FROM devices WHERE mid = ?1 AND enabled = 1 LIMIT 1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, mid);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *wanted = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "devices wanted");
}

/* One push row per enabled device of the member, with the app's data. */
static int add_push_rows(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                         const struct external_text *x, const char *event_id,
                         const char *conversation_id, struct arena *a, size_t *count)
{
    static const char SQL[] =
        "INSERT INTO deliveries(wid, nid, eid, mid, channel, status, to_addr, subject, body, "
        "  data, device, next_at, created_at, updated_at) "
        "SELECT ?1, ?2, ?3, ?4, ?5, 0, d.id, ?6, ?7, ?8, d.did, ?9, ?9, ?9 FROM devices d "
        "WHERE d.mid = ?4 AND d.enabled = 1 ORDER BY d.did";
    const char *data = store_push_data(a, nid, n->type, event_id, x->url,
                                       conversation_id);
    sqlite3_stmt *st = sq_prep(c, SQL);
    int rc = STORE_UNAVAILABLE;
    if (st) {
        sqlite3_bind_int64(st, 1, n->wid);
        sqlite3_bind_int64(st, 2, nid);
        sqlite3_bind_int64(st, 3, n->eid);
        sqlite3_bind_int64(st, 4, n->mid);
        sqlite3_bind_int(st, 5, CH_PUSH);
        sq_bind_text(st, 6, x->push_title);
        sq_bind_text(st, 7, x->push_body);
        sq_bind_text(st, 8, data);
        sqlite3_bind_int64(st, 9, n->at);
        rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : sq_fail(c, "push rows");
        sqlite3_reset(st);
        if (rc == STORE_OK)
            *count += (size_t)sqlite3_changes(c->db);
    }
    return rc;
}

int sq_outbox_add(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                  const struct member *m, const struct external_text *x, const char *event_id,
                  const char *conversation_id, struct arena *a, size_t *count)
{
    int rc;
    if ((n->channels & CH_BIT(CH_PUSH)) &&
        (rc = add_push_rows(c, n, nid, x, event_id, conversation_id, a, count)) != STORE_OK)
        return rc;
    struct store_outbox_row rows[STORE_OUTBOX_ROWS_MAX];
    int64_t ids[STORE_OUTBOX_ROWS_MAX];
    size_t nrows = store_outbox_rows(n->channels, m, x, a, rows);
    for (size_t i = 0; i < nrows; i++) {
        const struct store_outbox_row *w = &rows[i];
        if ((rc = add_row(c, n, nid, w->channel, w->status, w->to, w->subject, w->body, w->html,
                          w->segments, w->fallback_of >= 0 ? ids[w->fallback_of] : 0,
                          &ids[i])) != STORE_OK)
            return rc;
        *count += w->status == DS_PENDING;
    }
    return STORE_OK;
}

/* ---- claiming ---- */

#define DELIVERY_COLS                                                                     \
    "d.id, d.wid, d.nid, d.eid, d.mid, d.channel, d.provider, d.status, d.to_addr, "     \
    "d.subject, d.body, d.html, d.segments, d.fallback_for, d.attempts, d.claims, "      \
    "d.next_at, d.reason, d.message_id, d.created_at, d.updated_at, m.id, e.id, "         \
    "d.charged, m.active, d.device, v.kind, v.token, v.p256dh, v.auth, v.environment, "     \
    "v.enabled, d.data "
#define DELIVERY_FROM                                                                     \
    "FROM deliveries d LEFT JOIN members m ON m.mid = d.mid "                             \
    "LEFT JOIN events e ON e.eid = d.eid LEFT JOIN devices v ON v.did = d.device "

static void load_delivery(sqlite3_stmt *st, struct arena *a, struct delivery *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->wid = sqlite3_column_int64(st, 1);
    d->nid = sqlite3_column_int64(st, 2);
    d->eid = sqlite3_column_int64(st, 3);
    d->mid = sqlite3_column_int64(st, 4);
    d->channel = sqlite3_column_int(st, 5);
    d->provider = sq_text(st, 6, a);
    d->status = sqlite3_column_int(st, 7);
    d->to = sq_text(st, 8, a);
    d->subject = sq_text(st, 9, a);
    d->body = sq_text(st, 10, a);
    d->html = sq_text(st, 11, a);
    d->segments = sqlite3_column_int(st, 12);
    d->fallback_for = sqlite3_column_int64(st, 13);
    d->attempts = sqlite3_column_int(st, 14);
    d->claims = sqlite3_column_int64(st, 15);
    d->next_at = sqlite3_column_int64(st, 16);
    d->reason = sq_text(st, 17, a);
    d->message_id = sq_text(st, 18, a);
    d->created_at = sqlite3_column_int64(st, 19);
    d->updated_at = sqlite3_column_int64(st, 20);
    d->member_id = sq_text(st, 21, a);
    d->event_id = sq_text(st, 22, a);
    d->device = sqlite3_column_int64(st, 25);
    d->device_kind = sqlite3_column_int(st, 26);
    d->device_token = sq_text(st, 27, a);
    d->device_p256dh = sq_text(st, 28, a);
    d->device_auth = sq_text(st, 29, a);
    d->device_env = sq_text(st, 30, a);
    d->data = sq_text(st, 32, a);
}

static int step_update(struct sq_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, what);
}

/* The held email of an SMS: released (sent instead) or dropped. */
static int settle_fallback(struct sq_conn *c, int64_t sms_id, bool release, int64_t now)
{
    static const char RELEASE[] = "UPDATE deliveries SET status = 0, next_at = ?2, "
                                  "updated_at = ?2 WHERE fallback_for = ?1 AND status = 6";
    static const char DROP[] = "DELETE FROM deliveries WHERE fallback_for = ?1 AND status = 6";
    sqlite3_stmt *st = sq_prep(c, release ? RELEASE : DROP);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, sms_id);
    if (release)
        sqlite3_bind_int64(st, 2, now);
    return step_update(c, st, "fallback");
}

/* Whether an SMS's held email may go out instead (workspace setting). */
static int fallback_allowed(struct sq_conn *c, int64_t sms_id, bool *allowed)
{
    sqlite3_stmt *st = sq_prep(c, "SELECT w.sms_fallback_to_email FROM deliveries d "
                                  "JOIN workspaces w ON w.wid = d.wid WHERE d.id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, sms_id);
    int rc = sqlite3_step(st);
    *allowed = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "fallback setting");
}

/* The trail's entry for a delivery that will not be sent. */
static int audit_skip(struct sq_conn *c, const struct delivery *d, const char *reason,
                      int64_t now, struct arena *a)
{
    struct audit_write au = store_audit_delivery_skipped(d, reason, now, a);
    return sq_audit_add(c, &au);
}

/* A delivery that will not be sent, and its held fallback with it. */
static int skip(struct sq_conn *c, const struct delivery *d, const char *reason, int64_t now,
                struct arena *a)
{
    sqlite3_stmt *st = sq_prep(c, "UPDATE deliveries SET status = 5, reason = ?2, "
                                  "updated_at = ?3 WHERE id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, d->id);
    sq_bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, now);
    int rc = step_update(c, st, "skip");
    if (rc == STORE_OK)
        rc = audit_skip(c, d, reason, now, a);
    return rc == STORE_OK ? settle_fallback(c, d->id, false, now) : rc;
}

/* Pays for an SMS; false (and the delivery skipped) when the balance cannot. */
static int charge(struct sq_conn *c, const struct delivery *d, int64_t now, bool *paid,
                  struct arena *a)
{
    static const char DEBIT[] = "UPDATE workspaces SET credits = credits - ?2 "
                                "WHERE wid = ?1 AND credits >= ?2 RETURNING credits, "
                                "sms_fallback_to_email";
    static const char LEDGER[] = "INSERT INTO credit_ledger(wid, delta, balance, reason, ref, at) "
                                 "VALUES (?1, ?2, ?3, 'sms', ?4, ?5)";
    static const char CHARGED[] = "UPDATE deliveries SET charged = 1 WHERE id = ?1";
    static const char SKIP[] = "UPDATE deliveries SET status = 5, reason = "
                               "'insufficient_credits', updated_at = ?2 WHERE id = ?1";
    int seg = d->segments > 0 ? d->segments : 1;
    sqlite3_stmt *st = sq_prep(c, DEBIT);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, d->wid);
    sqlite3_bind_int(st, 2, seg);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t balance = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        *paid = true;
        char ref[32];
        snprintf(ref, sizeof ref, "dlv:%lld", (long long)d->id);
        st = sq_prep(c, LEDGER);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, d->wid);
        sqlite3_bind_int(st, 2, -seg);
        sqlite3_bind_int64(st, 3, balance);
        sq_bind_text(st, 4, ref);
        sqlite3_bind_int64(st, 5, now);
        if ((rc = step_update(c, st, "ledger")) != STORE_OK)
            return rc;
        st = sq_prep(c, CHARGED);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, d->id);
        return step_update(c, st, "charged");
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "debit");
    *paid = false;
    st = sq_prep(c, SKIP);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, now);
    if ((rc = step_update(c, st, "skip")) != STORE_OK ||
        (rc = audit_skip(c, d, "insufficient_credits", now, a)) != STORE_OK)
        return rc;
    bool fallback;
    if ((rc = fallback_allowed(c, d->id, &fallback)) != STORE_OK)
        return rc;
    return settle_fallback(c, d->id, fallback, now);
}

int sq_outbox_claim(struct sq_conn *c, struct store_req *r)
{
    R(st_outbox_claim);
    static const char DUE[] = "SELECT id FROM deliveries WHERE channel = ?1 AND "
                              "status IN (0, 1, 3) AND next_at <= ?2 ORDER BY next_at LIMIT ?3";
    static const char ROW[] = "SELECT " DELIVERY_COLS DELIVERY_FROM "WHERE d.id = ?1";
    static const char WS[] = "SELECT id, coalesce(email_sender_name, name), sms_sender_id "
                             "FROM workspaces WHERE wid = ?1";
    static const char CLAIM[] =
        "UPDATE deliveries SET status = 1, claims = claims + 1, next_at = ?2, provider = ?3, "
        "updated_at = ?4 WHERE id = ?1";
    static const char NEXT[] = "SELECT min(next_at) FROM deliveries WHERE channel = ?1 AND "
                               "status IN (0, 1, 3)";
    struct arena *a = r->arena;
    size_t cap = 0;
    for (int ch = 0; ch < CH_COUNT; ch++)
        cap += (size_t)(q->quota[ch] > 0 ? q->quota[ch] : 0);
    q->items = ARENA_NEW_N(a, struct delivery, cap + 1);
    q->n = 0;
    int rc;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        if (q->quota[ch] <= 0)
            continue;
        sqlite3_stmt *st = sq_prep(c, DUE);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int(st, 1, ch);
        sqlite3_bind_int64(st, 2, q->now);
        sqlite3_bind_int(st, 3, q->quota[ch]);
        int64_t ids[256];
        size_t nids = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && nids < 256)
            ids[nids++] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            return sq_fail(c, "due deliveries");
        for (size_t i = 0; i < nids; i++) {
            st = sq_prep(c, ROW);
            if (!st)
                return STORE_UNAVAILABLE;
            sqlite3_bind_int64(st, 1, ids[i]);
            if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_reset(st);
                continue;
            }
            struct delivery *d = &q->items[q->n];
            load_delivery(st, a, d);
            bool charged = sqlite3_column_int(st, 23);
            bool gone = sqlite3_column_type(st, 24) == SQLITE_NULL;
            bool inactive = !gone && !sqlite3_column_int(st, 24);
            const char *why = gone ? "member_deleted" : inactive ? "member_inactive" : NULL;
            if (!why && d->channel == CH_PUSH) {
                /* Push goes to the device as registered now, if it still is. */
                if (!d->device_token)
                    why = "device_removed";
                else if (!sqlite3_column_int(st, 31))
                    why = "device_disabled";
            }
            sqlite3_reset(st);
            if (why) { /* they (or that device) receive nothing */
                if ((rc = skip(c, d, why, q->now, a)) != STORE_OK)
                    return rc;
                continue;
            }
            if (d->channel == CH_SMS && !charged) {
                bool paid = false;
                if ((rc = charge(c, d, q->now, &paid, a)) != STORE_OK)
                    return rc;
                if (!paid)
                    continue;
            }
            st = sq_prep(c, CLAIM);
            if (!st)
                return STORE_UNAVAILABLE;
            sqlite3_bind_int64(st, 1, d->id);
            sqlite3_bind_int64(st, 2, q->now + q->lease_ms);
            const char *provider = q->provider[ch];
            if (ch == CH_PUSH && d->device_kind >= 0 && d->device_kind < DEV_KIND_COUNT &&
                q->push_provider[d->device_kind])
                provider = q->push_provider[d->device_kind];
            sq_bind_text(st, 3, provider);
            sqlite3_bind_int64(st, 4, q->now);
            if ((rc = step_update(c, st, "claim")) != STORE_OK)
                return rc;
            d->claims++;
            d->status = DS_SENDING;
            d->provider = provider;
            st = sq_prep(c, WS);
            if (!st)
                return STORE_UNAVAILABLE;
            sqlite3_bind_int64(st, 1, d->wid);
            if (sqlite3_step(st) == SQLITE_ROW) {
                d->ws_id = sq_text(st, 0, a);
                d->sender_name = sq_text(st, 1, a);
                d->sms_sender_id = sq_text(st, 2, a);
            }
            sqlite3_reset(st);
            q->n++;
        }
    }
    for (int ch = 0; ch < CH_COUNT; ch++) {
        sqlite3_stmt *st = sq_prep(c, NEXT);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int(st, 1, ch);
        q->next_due[ch] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
    }
    return STORE_OK;
}

/* ---- results ---- */

/* What a result needs of its delivery row. */
struct claimed {
    int status, attempts, channel;
    bool current; /* the claim a result answers must be the row's current one */
    int64_t wid, mid, eid, nid;
    const char *provider;
};

static int current_claim(struct sq_conn *c, int64_t id, int64_t claims, struct arena *a,
                         struct claimed *k)
{
    /* Set on every path: gcc -O3 (build-bench) cannot see that the callers
     * read it only after STORE_OK, and -Werror stops the build. */
    *k = (struct claimed){0};
    sqlite3_stmt *st = sq_prep(c, "SELECT status, claims, attempts, channel, wid, mid, eid, "
                                  "nid, provider FROM deliveries WHERE id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "delivery");
    }
    k->status = sqlite3_column_int(st, 0);
    k->current = k->status == DS_SENDING && sqlite3_column_int64(st, 1) == claims;
    k->attempts = sqlite3_column_int(st, 2);
    k->channel = sqlite3_column_int(st, 3);
    k->wid = sqlite3_column_int64(st, 4);
    k->mid = sqlite3_column_int64(st, 5);
    k->eid = sqlite3_column_int64(st, 6);
    k->nid = sqlite3_column_int64(st, 7);
    k->provider = sq_text(st, 8, a);
    sqlite3_reset(st);
    return STORE_OK;
}

/* An attempt goes to the delivery's log and to the audit trail. */
static int add_attempt(struct sq_conn *c, int64_t id, const struct claimed *k,
                       const struct audit_attempt *t, int64_t at, struct arena *a)
{
    sqlite3_stmt *st = sq_prep(c, "INSERT INTO delivery_attempts(did, n, at, ok, answer, "
                                  "latency_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, t->attempt);
    sqlite3_bind_int64(st, 3, at);
    sqlite3_bind_int(st, 4, t->ok);
    sq_bind_text(st, 5, t->answer);
    sqlite3_bind_int64(st, 6, t->latency_ms);
    int rc = step_update(c, st, "attempt");
    if (rc != STORE_OK)
        return rc;
    struct audit_write au = {k->wid, at, AU_ATTEMPT, AUDIT_BY_HERALD, NULL, k->mid, NULL, k->eid,
                             NULL, k->nid, id, audit_detail_attempt(a, t)};
    return sq_audit_add(c, &au);
}

/* The push service said the credential is no more: the device goes, and
 * so do its other pending pushes. Only if it still has the credential that
 * was sent (the app may have registered a new one meanwhile), and, with
 * APNs' timestamp, only if that credential dates from before it. */
static int forget_device(struct sq_conn *c, int64_t delivery, const char *token,
                         int64_t gone_at, int64_t now, struct arena *a)
{
    /* The trail first (the same rows as the UPDATE after it), then the rows. */
    static const char *const SQL[] = {
        ("INSERT INTO audit(wid, at, action, actor_kind, member_id, event_id, nid, did, detail) "
         "SELECT x.wid, " STORE_AUDIT_AT_SQLITE("?4", "x.wid") ", ?5, ?6, m.id, e.id, x.nid, "
         "x.id, ?7 FROM deliveries x "
         "LEFT JOIN members m ON m.mid = x.mid LEFT JOIN events e ON e.eid = x.eid "
         "WHERE x.device = (SELECT d.device FROM deliveries d JOIN devices v ON v.did = d.device "
         " WHERE d.id = ?1 AND v.token = ?3 AND (?2 = 0 OR v.credential_at <= ?2)) "
         "AND x.id <> ?1 AND x.status IN (0, 3) ORDER BY x.id"),
        ("UPDATE deliveries SET status = 5, reason = 'device_removed' WHERE device = "
         "(SELECT d.device FROM deliveries d JOIN devices v ON v.did = d.device "
         " WHERE d.id = ?1 AND v.token = ?3 AND (?2 = 0 OR v.credential_at <= ?2)) "
         "AND id <> ?1 AND status IN (0, 3)"),
        ("DELETE FROM devices WHERE did = (SELECT device FROM deliveries WHERE id = ?1) "
         "AND token = ?3 AND (?2 = 0 OR credential_at <= ?2)"),
    };
    for (size_t i = 0; i < sizeof SQL / sizeof *SQL; i++) {
        sqlite3_stmt *st = sq_prep(c, SQL[i]);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, delivery);
        sqlite3_bind_int64(st, 2, gone_at);
        sq_bind_text(st, 3, token);
        if (i == 0) {
            sqlite3_bind_int64(st, 4, now);
            sqlite3_bind_int(st, 5, AU_DELIVERY_SKIPPED);
            sqlite3_bind_int(st, 6, AUDIT_BY_HERALD);
            sq_bind_text(st, 7, audit_detail_delivery_skipped(a, CH_PUSH, "device_removed"));
        }
        int rc = step_update(c, st, "forget device");
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

int sq_outbox_result(struct sq_conn *c, struct store_req *r)
{
    R(st_outbox_result);
    struct claimed k;
    int rc = current_claim(c, q->id, q->claims, r->arena, &k);
    if (rc != STORE_OK)
        return rc;
    int status = k.status, attempts = k.attempts, channel = k.channel;
    q->status = status;
    if (!k.current)
        return STORE_OK; /* a stale claim: its successor decides */
    if (q->config_error) {
        /* Our settings failed, not the message: it waits, no attempt spent. */
        sqlite3_stmt *st = sq_prep(c, "UPDATE deliveries SET status = 3, next_at = ?2, "
                                      "reason = ?3, updated_at = ?4 WHERE id = ?1");
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->id);
        sqlite3_bind_int64(st, 2, q->retry_at);
        sq_bind_text(st, 3, q->answer);
        sqlite3_bind_int64(st, 4, q->now);
        if ((rc = step_update(c, st, "paused")) == STORE_OK)
            q->status = DS_FAILED;
        return rc;
    }
    attempts++;
    if (q->ok)
        status = DS_SENT;
    else if (q->permanent || attempts >= q->max_attempts)
        status = DS_DEAD;
    else
        status = DS_FAILED;
    struct audit_attempt t = {channel, attempts, status, q->ok, k.provider, q->answer,
                              q->latency_ms, status == DS_FAILED ? q->retry_at : 0};
    if ((rc = add_attempt(c, q->id, &k, &t, q->now, r->arena)) != STORE_OK)
        return rc;
    sqlite3_stmt *st = sq_prep(c,
        "UPDATE deliveries SET status = ?2, attempts = ?3, next_at = ?4, reason = ?5, "
        "message_id = coalesce(?6, message_id), updated_at = ?7 WHERE id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int(st, 2, status);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int64(st, 4, status == DS_FAILED ? q->retry_at : q->now);
    sq_bind_text(st, 5, q->ok ? NULL : q->answer);
    sq_bind_text(st, 6, q->message_id);
    sqlite3_bind_int64(st, 7, q->now);
    if ((rc = step_update(c, st, "result")) != STORE_OK)
        return rc;
    q->status = status;
    if (q->gone &&
        (rc = forget_device(c, q->id, q->gone_token, q->gone_at, q->now, r->arena)) != STORE_OK)
        return rc;
    if (channel != CH_SMS || status == DS_FAILED)
        return STORE_OK;
    /* Sent: the held email is not needed. Dead: it goes instead, if allowed. */
    bool release = false;
    if (status == DS_DEAD && (rc = fallback_allowed(c, q->id, &release)) != STORE_OK)
        return rc;
    return settle_fallback(c, q->id, release, q->now);
}

int sq_sink_send(struct sq_conn *c, struct store_req *r)
{
    R(st_sink_send);
    struct claimed k;
    int rc = current_claim(c, q->id, q->claims, r->arena, &k);
    if (rc != STORE_OK)
        return rc;
    q->status = k.status;
    if (!k.current)
        return STORE_OK;
    sqlite3_stmt *st = sq_prep(c,
        "INSERT INTO sink(wid, did, mid, channel, to_addr, subject, body, html, data, at) "
        "SELECT wid, id, mid, channel, to_addr, subject, body, html, data, ?2 FROM deliveries "
        "WHERE id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, q->now);
    if ((rc = step_update(c, st, "sink")) != STORE_OK)
        return rc;
    struct audit_attempt t = {k.channel, k.attempts + 1, DS_SENT, true, k.provider,
                              "recorded by the sink", 0, 0};
    if ((rc = add_attempt(c, q->id, &k, &t, q->now, r->arena)) != STORE_OK)
        return rc;
    st = sq_prep(c, "UPDATE deliveries SET status = 2, attempts = attempts + 1, reason = NULL, "
                    "next_at = ?2, updated_at = ?2 WHERE id = ?1");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, q->now);
    if ((rc = step_update(c, st, "sink sent")) != STORE_OK)
        return rc;
    q->status = DS_SENT;
    return k.channel == CH_SMS ? settle_fallback(c, q->id, false, q->now) : STORE_OK;
}

/* ---- reading ---- */

static int load_attempts(struct sq_conn *c, struct delivery *d, struct arena *a)
{
    sqlite3_stmt *st = sq_prep(c, "SELECT at, ok, answer, latency_ms FROM delivery_attempts "
                                  "WHERE did = ?1 ORDER BY n");
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, d->id);
    d->tries = ARENA_NEW_N(a, struct delivery_attempt, (size_t)d->attempts + 1);
    d->ntries = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && d->ntries < (size_t)d->attempts + 1) {
        struct delivery_attempt *t = &d->tries[d->ntries++];
        t->at = sqlite3_column_int64(st, 0);
        t->ok = sqlite3_column_int(st, 1);
        t->answer = sq_text(st, 2, a);
        t->latency_ms = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : sq_fail(c, "attempts");
}

int sq_event_deliveries(struct sq_conn *c, int64_t wid, int64_t eid, struct arena *a,
                        struct delivery **out, size_t *n)
{
    static const char SQL[] = "SELECT " DELIVERY_COLS DELIVERY_FROM
                              "WHERE d.eid = ?1 AND d.wid = ?2 AND d.status <> 6 ORDER BY d.id";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, eid);
    sqlite3_bind_int64(st, 2, wid);
    size_t cap = 8;
    *out = ARENA_NEW_N(a, struct delivery, cap);
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            struct delivery *v = ARENA_NEW_N(a, struct delivery, cap * 2);
            memcpy(v, *out, cap * sizeof *v);
            *out = v;
            cap *= 2;
        }
        load_delivery(st, a, &(*out)[(*n)++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "event deliveries");
    for (size_t i = 0; i < *n; i++)
        if ((rc = load_attempts(c, &(*out)[i], a)) != STORE_OK)
            return rc;
    return STORE_OK;
}

int sq_deliveries_list(struct sq_conn *c, struct store_req *r)
{
    R(st_deliveries_list);
    static const char SQL[] =
        "SELECT " DELIVERY_COLS DELIVERY_FROM
        "WHERE d.wid = ?1 AND d.id < ?2 AND d.status <> 6 AND (?3 = -1 OR d.status = ?3) "
        "  AND (?4 = -1 OR d.channel = ?4) AND (?5 IS NULL OR m.id = ?5) "
        "ORDER BY d.id DESC LIMIT ?6";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sqlite3_bind_int64(st, 2, q->before_id > 0 ? q->before_id : INT64_MAX);
    sqlite3_bind_int(st, 3, q->status);
    sqlite3_bind_int(st, 4, q->channel);
    sq_bind_text(st, 5, q->member_id);
    sqlite3_bind_int(st, 6, q->limit + 1);
    q->items = ARENA_NEW_N(r->arena, struct delivery, (size_t)q->limit + 1);
    q->n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        load_delivery(st, r->arena, &q->items[q->n++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(c, "deliveries");
    for (size_t i = 0; i < q->n; i++)
        if ((rc = load_attempts(c, &q->items[i], r->arena)) != STORE_OK)
            return rc;
    return STORE_OK;
}

int sq_sink_list(struct sq_conn *c, struct store_req *r)
{
    R(st_sink_list);
    static const char SQL[] =
        "SELECT s.id, s.did, s.at, w.id, m.id, s.to_addr, s.subject, s.body, s.html, s.channel, "
        "  s.data "
        "FROM sink s JOIN workspaces w ON w.wid = s.wid LEFT JOIN members m ON m.mid = s.mid "
        "WHERE (?1 = 0 OR s.wid = ?1) AND (?2 IS NULL OR m.id = ?2) "
        "  AND (?3 = -1 OR s.channel = ?3) ORDER BY s.id DESC LIMIT ?4";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->member_id);
    sqlite3_bind_int(st, 3, q->channel);
    sqlite3_bind_int(st, 4, q->limit);
    q->items = ARENA_NEW_N(r->arena, struct sink_message, (size_t)q->limit + 1);
    q->n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sink_message *m = &q->items[q->n++];
        m->id = sqlite3_column_int64(st, 0);
        m->did = sqlite3_column_int64(st, 1);
        m->at = sqlite3_column_int64(st, 2);
        m->ws_id = sq_text(st, 3, r->arena);
        m->member_id = sq_text(st, 4, r->arena);
        m->to = sq_text(st, 5, r->arena);
        m->subject = sq_text(st, 6, r->arena);
        m->body = sq_text(st, 7, r->arena);
        m->html = sq_text(st, 8, r->arena);
        m->channel = sqlite3_column_int(st, 9);
        m->data = sq_text(st, 10, r->arena);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "sink");
}
