/* pg_outbox.c - the durable outbox of external deliveries.
 *
 * As in sq_outbox.c: rows are written with their notification, rendered;
 * the deliverer claims due rows under a lease, sends them and reports each
 * attempt, and the claim counter fences results (an answer for an older
 * claim changes nothing). SMS are paid for at claim time, once.
 *
 * Several nodes claim at once: a claim locks its rows (FOR UPDATE SKIP
 * LOCKED), so each delivery is attempted by one node at a time, and a
 * result locks its row before reading the claim it answers. The debit is
 * one conditional UPDATE of the workspace row (never below zero), and the
 * ledger row named after the delivery makes a second charge impossible.
 * Each attempt and each delivery that will not be sent leaves its entry in
 * the audit trail, by Herald. */
#include "store/pg/pg_int.h"
#include "engine/render.h"

#include <stdio.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r

static int add_row(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
                   int channel, int status, const char *to, const char *subject,
                   const char *body, const char *html, int segments, int64_t fallback_for,
                   int64_t *id)
{
    static const char SQL[] =
        "INSERT INTO deliveries(wid, nid, eid, mid, channel, status, to_addr, subject, body, "
        "  html, segments, fallback_for, next_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13) "
        "RETURNING id";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, n->wid);
    pgp_int(&p, nid);
    pgp_int(&p, n->eid);
    pgp_int(&p, n->mid);
    pgp_int(&p, channel);
    pgp_int(&p, status);
    pgp_text(&p, to);
    pgp_text(&p, subject);
    pgp_text(&p, body);
    pgp_text(&p, html);
    if (segments)
        pgp_int(&p, segments);
    else
        pgp_null(&p);
    if (fallback_for)
        pgp_int(&p, fallback_for);
    else
        pgp_null(&p);
    pgp_int(&p, n->at);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *id = pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

int pg_outbox_wanted(struct pg_conn *c, unsigned channels, int64_t mid, bool *wanted)
{
    static const char SQL[] = "SELECT 1 FROM devices WHERE mid = $1 AND enabled = 1 LIMIT 1";
    *wanted = channels & (CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS));
    if (*wanted || !(channels & CH_BIT(CH_PUSH)))
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *wanted = PQntuples(res) > 0;
    PQclear(res);
    return STORE_OK;
}

/* One push row per enabled device of the member, with the app's data. */
static int add_push_rows(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
                         const struct external_text *x, const char *event_id,
                         const char *conversation_id, struct arena *a, size_t *count)
{
    static const char SQL[] =
        "INSERT INTO deliveries(wid, nid, eid, mid, channel, status, to_addr, subject, body, "
        "  data, device, next_at, created_at, updated_at) "
        "SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bigint, 0, d.id, "
        "  $6::text, $7::text, $8::text, d.did, $9::bigint, $9::bigint, $9::bigint "
        "FROM devices d WHERE d.mid = $4 AND d.enabled = 1 ORDER BY d.did";
    const char *data = store_push_data(a, nid, n->type, event_id, x->url,
                                       conversation_id);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, n->wid);
    pgp_int(&p, nid);
    pgp_int(&p, n->eid);
    pgp_int(&p, n->mid);
    pgp_int(&p, CH_PUSH);
    pgp_text(&p, x->push_title);
    pgp_text(&p, x->push_body);
    pgp_text(&p, data);
    pgp_int(&p, n->at);
    int64_t added = 0;
    int rc = pg_cmd(c, SQL, &p, &added);
    if (rc == STORE_OK)
        *count += (size_t)added;
    return rc;
}

int pg_outbox_add(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
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

static void load_delivery(const PGresult *res, int row, struct arena *a, struct delivery *d)
{
    memset(d, 0, sizeof *d);
    d->id = pg_int(res, row, 0);
    d->wid = pg_int(res, row, 1);
    d->nid = pg_int(res, row, 2);
    d->eid = pg_int(res, row, 3);
    d->mid = pg_int(res, row, 4);
    d->channel = (int)pg_int(res, row, 5);
    d->provider = pg_text(res, row, 6, a);
    d->status = (int)pg_int(res, row, 7);
    d->to = pg_text(res, row, 8, a);
    d->subject = pg_text(res, row, 9, a);
    d->body = pg_text(res, row, 10, a);
    d->html = pg_text(res, row, 11, a);
    d->segments = (int)pg_int(res, row, 12);
    d->fallback_for = pg_int(res, row, 13);
    d->attempts = (int)pg_int(res, row, 14);
    d->claims = pg_int(res, row, 15);
    d->next_at = pg_int(res, row, 16);
    d->reason = pg_text(res, row, 17, a);
    d->message_id = pg_text(res, row, 18, a);
    d->created_at = pg_int(res, row, 19);
    d->updated_at = pg_int(res, row, 20);
    d->member_id = pg_text(res, row, 21, a);
    d->event_id = pg_text(res, row, 22, a);
    d->device = pg_int(res, row, 25);
    d->device_kind = (int)pg_int(res, row, 26);
    d->device_token = pg_text(res, row, 27, a);
    d->device_p256dh = pg_text(res, row, 28, a);
    d->device_auth = pg_text(res, row, 29, a);
    d->device_env = pg_text(res, row, 30, a);
    d->data = pg_text(res, row, 32, a);
}

/* The held email of an SMS: released (sent instead) or dropped. */
static int settle_fallback(struct pg_conn *c, int64_t sms_id, bool release, int64_t now)
{
    static const char RELEASE[] = "UPDATE deliveries SET status = 0, next_at = $2, "
                                  "updated_at = $2 WHERE fallback_for = $1 AND status = 6";
    static const char DROP[] = "DELETE FROM deliveries WHERE fallback_for = $1 AND status = 6";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, sms_id);
    if (release)
        pgp_int(&p, now);
    return pg_cmd(c, release ? RELEASE : DROP, &p, NULL);
}

/* Whether an SMS's held email may go out instead (workspace setting). */
static int fallback_allowed(struct pg_conn *c, int64_t sms_id, bool *allowed)
{
    static const char SQL[] = "SELECT w.sms_fallback_to_email FROM deliveries d "
                              "JOIN workspaces w ON w.wid = d.wid WHERE d.id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, sms_id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *allowed = PQntuples(res) == 1 && pg_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* The trail's entry for a delivery that will not be sent. */
static int audit_skip(struct pg_conn *c, const struct delivery *d, const char *reason,
                      int64_t now, struct arena *a)
{
    struct audit_write au = store_audit_delivery_skipped(d, reason, now, a);
    return pg_audit_add(c, &au);
}

/* A delivery that will not be sent, and its held fallback with it. */
static int skip(struct pg_conn *c, const struct delivery *d, const char *reason, int64_t now,
                struct arena *a)
{
    static const char SQL[] = "UPDATE deliveries SET status = 5, reason = $2, "
                              "updated_at = $3 WHERE id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, d->id);
    pgp_text(&p, reason);
    pgp_int(&p, now);
    int rc = pg_cmd(c, SQL, &p, NULL);
    if (rc == STORE_OK)
        rc = audit_skip(c, d, reason, now, a);
    return rc == STORE_OK ? settle_fallback(c, d->id, false, now) : rc;
}

/* Debits seg credits if the balance can pay: *paid, and the balance after. */
static int debit(struct pg_conn *c, int64_t wid, int64_t seg, bool *paid, int64_t *balance)
{
    /* One statement on the workspace row: concurrent debits queue on it
     * and each sees the balance the previous one left. */
    static const char SQL[] = "UPDATE workspaces SET credits = credits - $2 "
                              "WHERE wid = $1 AND credits >= $2 RETURNING credits";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, wid);
    pgp_int(&p, seg);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *paid = PQntuples(res) == 1;
    *balance = *paid ? pg_int(res, 0, 0) : 0;
    PQclear(res);
    return STORE_OK;
}

/* The ledger row of the debit. If the delivery was charged before (its
 * row exists), the debit is given back: a delivery is paid for once. */
static int ledger(struct pg_conn *c, const struct delivery *d, int64_t seg, int64_t balance,
                  int64_t now)
{
    static const char LEDGER[] =
        "INSERT INTO credit_ledger(wid, delta, balance, reason, ref, at) "
        "VALUES ($1, $2, $3, 'sms', $4, $5) "
        "ON CONFLICT (wid, ref) WHERE ref IS NOT NULL DO NOTHING RETURNING id";
    static const char REFUND[] = "UPDATE workspaces SET credits = credits + $2 WHERE wid = $1";
    char ref[32];
    snprintf(ref, sizeof ref, "dlv:%lld", (long long)d->id);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, d->wid);
    pgp_int(&p, -seg);
    pgp_int(&p, balance);
    pgp_text(&p, ref);
    pgp_int(&p, now);
    PGresult *res = pg_q(c, LEDGER, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    bool fresh = PQntuples(res) == 1;
    PQclear(res);
    if (fresh)
        return STORE_OK;
    /* Charged before (the row names this delivery): the workspace row is
     * still ours since the debit, so giving it back is exact. */
    struct pg_params b = PG_PARAMS_INIT;
    pgp_int(&b, d->wid);
    pgp_int(&b, seg);
    return pg_cmd(c, REFUND, &b, NULL);
}

/* Pays for an SMS; false (and the delivery skipped) when the balance cannot. */
static int charge(struct pg_conn *c, const struct delivery *d, int64_t now, bool *paid,
                  struct arena *a)
{
    static const char CHARGED[] = "UPDATE deliveries SET charged = 1 WHERE id = $1";
    static const char SKIP[] = "UPDATE deliveries SET status = 5, reason = "
                               "'insufficient_credits', updated_at = $2 WHERE id = $1";
    int64_t seg = d->segments > 0 ? d->segments : 1, balance;
    int rc = debit(c, d->wid, seg, paid, &balance);
    if (rc != STORE_OK)
        return rc;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, d->id);
    if (*paid) {
        if ((rc = ledger(c, d, seg, balance, now)) != STORE_OK)
            return rc;
        return pg_cmd(c, CHARGED, &p, NULL);
    }
    pgp_int(&p, now);
    if ((rc = pg_cmd(c, SKIP, &p, NULL)) != STORE_OK ||
        (rc = audit_skip(c, d, "insufficient_credits", now, a)) != STORE_OK)
        return rc;
    bool fallback;
    if ((rc = fallback_allowed(c, d->id, &fallback)) != STORE_OK)
        return rc;
    return settle_fallback(c, d->id, fallback, now);
}

/* Why a claimed row will not be sent, or NULL. */
static const char *unsendable(const PGresult *res, int row, const struct delivery *d)
{
    if (pg_isnull(res, row, 24))
        return "member_deleted";
    if (!pg_int(res, row, 24))
        return "member_inactive";
    if (d->channel == CH_PUSH) {
        /* Push goes to the device as registered now, if it still is. */
        if (!d->device_token)
            return "device_removed";
        if (!pg_int(res, row, 31))
            return "device_disabled";
    }
    return NULL;
}

static int claim_row(struct pg_conn *c, struct st_outbox_claim *q, int ch, struct delivery *d)
{
    static const char CLAIM[] =
        "UPDATE deliveries SET status = 1, claims = claims + 1, next_at = $2, provider = $3, "
        "updated_at = $4 WHERE id = $1 RETURNING claims";
    const char *provider = q->provider[ch];
    if (ch == CH_PUSH && d->device_kind >= 0 && d->device_kind < DEV_KIND_COUNT &&
        q->push_provider[d->device_kind])
        provider = q->push_provider[d->device_kind];
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, d->id);
    pgp_int(&p, q->now + q->lease_ms);
    pgp_text(&p, provider);
    pgp_int(&p, q->now);
    PGresult *res = pg_q(c, CLAIM, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    d->claims = pg_int(res, 0, 0);
    PQclear(res);
    d->status = DS_SENDING;
    d->provider = provider;
    return STORE_OK;
}

/* Claims up to the channel's quota of due rows that no other node holds. */
static int claim_channel(struct pg_conn *c, struct st_outbox_claim *q, int ch)
{
    static const char DUE[] =
        "SELECT " DELIVERY_COLS ", w.id, coalesce(w.email_sender_name, w.name), "
        "  w.sms_sender_id " DELIVERY_FROM "LEFT JOIN workspaces w ON w.wid = d.wid "
        "WHERE d.channel = $1 AND d.status IN (0, 1, 3) AND d.next_at <= $2 "
        "ORDER BY d.next_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED";
    struct arena *a = q->base.arena;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, ch);
    pgp_int(&p, q->now);
    pgp_int(&p, q->quota[ch]);
    PGresult *res = pg_q(c, DUE, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_OK;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && i < q->quota[ch] && rc == STORE_OK; i++) {
        struct delivery *d = &q->items[q->n];
        load_delivery(res, i, a, d);
        bool charged = pg_int(res, i, 23);
        const char *why = unsendable(res, i, d);
        if (why) { /* they (or that device) receive nothing */
            rc = skip(c, d, why, q->now, a);
            continue;
        }
        if (d->channel == CH_SMS && !charged) {
            bool paid = false;
            if ((rc = charge(c, d, q->now, &paid, a)) != STORE_OK || !paid)
                continue;
        }
        if ((rc = claim_row(c, q, ch, d)) != STORE_OK)
            continue;
        d->ws_id = pg_text(res, i, 33, a);
        d->sender_name = pg_text(res, i, 34, a);
        d->sms_sender_id = pg_text(res, i, 35, a);
        q->n++;
    }
    PQclear(res);
    return rc;
}

/* Per channel, the earliest next_at of what is due or leased, leaving out
 * rows another node is claiming or answering right now (they are not due
 * for us: reporting them would make the deliverer claim again at once). */
static int next_due(struct pg_conn *c, struct st_outbox_claim *q)
{
    static const char NEXT[] =
        "SELECT next_at FROM deliveries WHERE channel = $1 AND status IN (0, 1, 3) "
        "ORDER BY next_at LIMIT 1 FOR KEY SHARE SKIP LOCKED";
    for (int ch = 0; ch < CH_COUNT; ch++) {
        struct pg_params p = PG_PARAMS_INIT;
        pgp_int(&p, ch);
        PGresult *res = pg_q(c, NEXT, &p);
        if (!res)
            return STORE_UNAVAILABLE;
        q->next_due[ch] = PQntuples(res) == 1 ? pg_int(res, 0, 0) : 0;
        PQclear(res);
    }
    return STORE_OK;
}

int pg_outbox_claim(struct pg_conn *c, struct store_req *r)
{
    R(st_outbox_claim);
    size_t cap = 0;
    for (int ch = 0; ch < CH_COUNT; ch++)
        cap += (size_t)(q->quota[ch] > 0 ? q->quota[ch] : 0);
    q->items = ARENA_NEW_N(r->arena, struct delivery, cap + 1);
    q->n = 0;
    int rc;
    for (int ch = 0; ch < CH_COUNT; ch++)
        if (q->quota[ch] > 0 && (rc = claim_channel(c, q, ch)) != STORE_OK)
            return rc;
    return next_due(c, q);
}

/* ---- results ---- */

/* What a result needs of its delivery row. */
struct claimed {
    int status, attempts, channel;
    bool current; /* the claim a result answers must be the row's current one */
    int64_t wid, mid, eid, nid;
    const char *provider;
};

/* The row stays locked, so a claim or another result for it waits until
 * this commits. */
static int current_claim(struct pg_conn *c, int64_t id, int64_t claims, struct arena *a,
                         struct claimed *k)
{
    static const char SQL[] = "SELECT status, claims, attempts, channel, wid, mid, eid, nid, "
                              "provider FROM deliveries WHERE id = $1 FOR UPDATE";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) == 1) {
        k->status = (int)pg_int(res, 0, 0);
        k->current = k->status == DS_SENDING && pg_int(res, 0, 1) == claims;
        k->attempts = (int)pg_int(res, 0, 2);
        k->channel = (int)pg_int(res, 0, 3);
        k->wid = pg_int(res, 0, 4);
        k->mid = pg_int(res, 0, 5);
        k->eid = pg_int(res, 0, 6);
        k->nid = pg_int(res, 0, 7);
        k->provider = pg_text(res, 0, 8, a);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

/* An attempt goes to the delivery's log and to the audit trail, in one
 * statement: a round trip fewer on every attempt. */
static int add_attempt(struct pg_conn *c, int64_t id, const struct claimed *k,
                       const struct audit_attempt *t, int64_t at, struct arena *a)
{
    static const char SQL[] =
        "WITH t AS (INSERT INTO delivery_attempts(did, n, at, ok, answer, latency_ms) "
        "  VALUES ($1, $2, $3, $4, $5, $6)) "
        "INSERT INTO audit(wid, at, action, actor_kind, member_id, event_id, nid, did, detail) "
        "VALUES ($7, " STORE_AUDIT_AT_PG("$3", "$7") ", $8, $9, "
        "  (SELECT id FROM members WHERE mid = $10), "
        "  (SELECT id FROM events WHERE eid = $11), $12, $1, $13)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, id);
    pgp_int(&p, t->attempt);
    pgp_int(&p, at);
    pgp_int(&p, t->ok);
    pgp_text(&p, t->answer);
    pgp_int(&p, t->latency_ms);
    pgp_int(&p, k->wid);
    pgp_int(&p, AU_ATTEMPT);
    pgp_int(&p, AUDIT_BY_HERALD);
    pgp_int(&p, k->mid);
    pgp_int(&p, k->eid);
    if (k->nid)
        pgp_int(&p, k->nid);
    else
        pgp_null(&p);
    pgp_text(&p, audit_detail_attempt(a, t));
    return pg_cmd(c, SQL, &p, NULL);
}

/* The push service said the credential is no more: the device goes, and
 * so do its other pending pushes. Only if it still has the credential that
 * was sent (the app may have registered a new one meanwhile), and, with
 * APNs' timestamp, only if that credential dates from before it. The
 * device row is locked first, so two results forgetting it queue there
 * rather than on each other's deliveries. */
static int forget_device(struct pg_conn *c, int64_t delivery, const char *token,
                         int64_t gone_at, int64_t now, struct arena *a)
{
    static const char LOCK[] =
        "SELECT v.did FROM deliveries d JOIN devices v ON v.did = d.device "
        "WHERE d.id = $1 AND v.token = $3 AND ($2::bigint = 0 OR v.credential_at <= $2) "
        "FOR UPDATE OF v";
    /* The device's other pending pushes, each with its audit entry. */
    static const char PENDING[] =
        "WITH s AS (UPDATE deliveries SET status = 5, reason = 'device_removed' "
        "  WHERE device = $2 AND id <> $1 AND status IN (0, 3) "
        "  RETURNING id, wid, mid, eid, nid) "
        "INSERT INTO audit(wid, at, action, actor_kind, member_id, event_id, nid, did, detail) "
        "SELECT s.wid, " STORE_AUDIT_AT_PG("$3", "s.wid") ", $4, $5, m.id, e.id, s.nid, s.id, "
        "  $6 FROM s "
        "LEFT JOIN members m ON m.mid = s.mid LEFT JOIN events e ON e.eid = s.eid ORDER BY s.id";
    static const char DELETE[] = "DELETE FROM devices WHERE did = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, delivery);
    pgp_int(&p, gone_at);
    pgp_text(&p, token);
    PGresult *res = pg_q(c, LOCK, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    bool found = PQntuples(res) == 1;
    int64_t did = found ? pg_int(res, 0, 0) : 0;
    PQclear(res);
    if (!found)
        return STORE_OK;
    struct pg_params u = PG_PARAMS_INIT;
    pgp_int(&u, delivery);
    pgp_int(&u, did);
    pgp_int(&u, now);
    pgp_int(&u, AU_DELIVERY_SKIPPED);
    pgp_int(&u, AUDIT_BY_HERALD);
    pgp_text(&u, audit_detail_delivery_skipped(a, CH_PUSH, "device_removed"));
    if (pg_cmd(c, PENDING, &u, NULL) != STORE_OK)
        return STORE_UNAVAILABLE;
    struct pg_params x = PG_PARAMS_INIT;
    pgp_int(&x, did);
    return pg_cmd(c, DELETE, &x, NULL);
}

/* Our settings failed, not the message: it waits, no attempt spent. */
static int pause_delivery(struct pg_conn *c, struct st_outbox_result *q)
{
    static const char SQL[] = "UPDATE deliveries SET status = 3, next_at = $2, "
                              "reason = $3, updated_at = $4 WHERE id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->id);
    pgp_int(&p, q->retry_at);
    pgp_text(&p, q->answer);
    pgp_int(&p, q->now);
    int rc = pg_cmd(c, SQL, &p, NULL);
    if (rc == STORE_OK)
        q->status = DS_FAILED;
    return rc;
}

int pg_outbox_result(struct pg_conn *c, struct store_req *r)
{
    R(st_outbox_result);
    static const char SQL[] =
        "UPDATE deliveries SET status = $2, attempts = $3, next_at = $4, reason = $5, "
        "message_id = coalesce($6, message_id), updated_at = $7 WHERE id = $1";
    struct claimed k;
    int rc = current_claim(c, q->id, q->claims, r->arena, &k);
    if (rc != STORE_OK)
        return rc;
    int status = k.status, attempts = k.attempts, channel = k.channel;
    q->status = status;
    if (!k.current)
        return STORE_OK; /* a stale claim: its successor decides */
    if (q->config_error)
        return pause_delivery(c, q);
    attempts++;
    if (q->ok)
        status = DS_SENT;
    else if (q->permanent || attempts >= q->max_attempts)
        status = DS_DEAD;
    else
        status = DS_FAILED;
    /* The trail says what the attempt led to, and when the next one is due. */
    struct audit_attempt t = {channel, attempts, status, q->ok, k.provider, q->answer,
                              q->latency_ms, status == DS_FAILED ? q->retry_at : 0};
    if ((rc = add_attempt(c, q->id, &k, &t, q->now, r->arena)) != STORE_OK)
        return rc;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->id);
    pgp_int(&p, status);
    pgp_int(&p, attempts);
    pgp_int(&p, status == DS_FAILED ? q->retry_at : q->now);
    pgp_text(&p, q->ok ? NULL : q->answer);
    pgp_text(&p, q->message_id);
    pgp_int(&p, q->now);
    if ((rc = pg_cmd(c, SQL, &p, NULL)) != STORE_OK)
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

int pg_sink_send(struct pg_conn *c, struct store_req *r)
{
    R(st_sink_send);
    static const char SINK[] =
        "INSERT INTO sink(wid, did, mid, channel, to_addr, subject, body, html, data, at) "
        "SELECT wid, id, mid, channel, to_addr, subject, body, html, data, $2 FROM deliveries "
        "WHERE id = $1";
    static const char SENT[] =
        "UPDATE deliveries SET status = 2, attempts = attempts + 1, reason = NULL, "
        "next_at = $2, updated_at = $2 WHERE id = $1";
    struct claimed k;
    int rc = current_claim(c, q->id, q->claims, r->arena, &k);
    if (rc != STORE_OK)
        return rc;
    q->status = k.status;
    if (!k.current)
        return STORE_OK;
    struct audit_attempt t = {k.channel, k.attempts + 1, DS_SENT, true, k.provider,
                              "recorded by the sink", 0, 0};
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->id);
    pgp_int(&p, q->now);
    if ((rc = pg_cmd(c, SINK, &p, NULL)) != STORE_OK ||
        (rc = add_attempt(c, q->id, &k, &t, q->now, r->arena)) != STORE_OK ||
        (rc = pg_cmd(c, SENT, &p, NULL)) != STORE_OK)
        return rc;
    q->status = DS_SENT;
    return k.channel == CH_SMS ? settle_fallback(c, q->id, false, q->now) : STORE_OK;
}

/* ---- reading ---- */

static int load_attempts(struct pg_conn *c, struct delivery *d, struct arena *a)
{
    static const char SQL[] = "SELECT at, ok, answer, latency_ms FROM delivery_attempts "
                              "WHERE did = $1 ORDER BY n";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, d->id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    d->tries = ARENA_NEW_N(a, struct delivery_attempt, (size_t)d->attempts + 1);
    d->ntries = 0;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && d->ntries < (size_t)d->attempts + 1; i++) {
        struct delivery_attempt *t = &d->tries[d->ntries++];
        t->at = pg_int(res, i, 0);
        t->ok = pg_int(res, i, 1);
        t->answer = pg_text(res, i, 2, a);
        t->latency_ms = pg_int(res, i, 3);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_event_deliveries(struct pg_conn *c, int64_t wid, int64_t eid, struct arena *a,
                        struct delivery **out, size_t *n)
{
    static const char SQL[] = "SELECT " DELIVERY_COLS DELIVERY_FROM
                              "WHERE d.eid = $1 AND d.wid = $2 AND d.status <> 6 ORDER BY d.id";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, eid);
    pgp_int(&p, wid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    *out = ARENA_NEW_N(a, struct delivery, (size_t)rows + 1);
    *n = (size_t)rows;
    for (int i = 0; i < rows; i++)
        load_delivery(res, i, a, &(*out)[i]);
    PQclear(res);
    int rc = STORE_OK;
    for (size_t i = 0; i < *n && rc == STORE_OK; i++)
        rc = load_attempts(c, &(*out)[i], a);
    return rc;
}

int pg_deliveries_list(struct pg_conn *c, struct store_req *r)
{
    R(st_deliveries_list);
    static const char SQL[] =
        "SELECT " DELIVERY_COLS DELIVERY_FROM
        "WHERE d.wid = $1 AND d.id < $2 AND d.status <> 6 "
        "  AND ($3::bigint = -1 OR d.status = $3) AND ($4::bigint = -1 OR d.channel = $4) "
        "  AND ($5::text IS NULL OR m.id = $5) "
        "ORDER BY d.id DESC LIMIT $6";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_int(&p, q->before_id > 0 ? q->before_id : INT64_MAX);
    pgp_int(&p, q->status);
    pgp_int(&p, q->channel);
    pgp_text(&p, q->member_id);
    pgp_int(&p, (int64_t)q->limit + 1);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->items = ARENA_NEW_N(r->arena, struct delivery, (size_t)q->limit + 1);
    q->n = 0;
    q->more = false;
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if ((int)q->n == q->limit) {
            q->more = true;
            break;
        }
        load_delivery(res, i, r->arena, &q->items[q->n++]);
    }
    PQclear(res);
    int rc = STORE_OK;
    for (size_t i = 0; i < q->n && rc == STORE_OK; i++)
        rc = load_attempts(c, &q->items[i], r->arena);
    return rc;
}

int pg_sink_list(struct pg_conn *c, struct store_req *r)
{
    R(st_sink_list);
    static const char SQL[] =
        "SELECT s.id, s.did, s.at, w.id, m.id, s.to_addr, s.subject, s.body, s.html, s.channel, "
        "  s.data "
        "FROM sink s JOIN workspaces w ON w.wid = s.wid LEFT JOIN members m ON m.mid = s.mid "
        "WHERE ($1::bigint = 0 OR s.wid = $1) AND ($2::text IS NULL OR m.id = $2) "
        "  AND ($3::bigint = -1 OR s.channel = $3) ORDER BY s.id DESC LIMIT $4";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->member_id);
    pgp_int(&p, q->channel);
    pgp_int(&p, q->limit);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->items = ARENA_NEW_N(r->arena, struct sink_message, (size_t)q->limit + 1);
    q->n = 0;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && i <= q->limit; i++) {
        struct sink_message *m = &q->items[q->n++];
        m->id = pg_int(res, i, 0);
        m->did = pg_int(res, i, 1);
        m->at = pg_int(res, i, 2);
        m->ws_id = pg_text(res, i, 3, r->arena);
        m->member_id = pg_text(res, i, 4, r->arena);
        m->to = pg_text(res, i, 5, r->arena);
        m->subject = pg_text(res, i, 6, r->arena);
        m->body = pg_text(res, i, 7, r->arena);
        m->html = pg_text(res, i, 8, r->arena);
        m->channel = (int)pg_int(res, i, 9);
        m->data = pg_text(res, i, 10, r->arena);
    }
    PQclear(res);
    return STORE_OK;
}
