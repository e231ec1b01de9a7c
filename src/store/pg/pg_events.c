/* pg_events.c - ingest of events and their audit view (PostgreSQL).
 *
 * Several nodes may receive the same event id at the same moment, and the
 * outcome must be one event. So the id is claimed before anything else:
 * the events row goes in with an empty outcome, and a concurrent claim of
 * the same id waits for this transaction, then either finds the row
 * (duplicate or conflict, as it would after a commit) or, after our
 * rollback, takes the id itself. The outcome is written last in the same
 * transaction, so nobody ever reads the placeholder.
 *
 * The recipients' member rows are locked, in mid order, before any
 * notification or feed change, as every writer does (pg_int.h). A
 * message.received makes no notification at once: it joins each
 * recipient's grouping window (pg_windows.c) and pops up on their streams.
 * The audit trail's entries (created, skipped, grouped) go in with the
 * outcome, in one statement. */
#include "store/pg/pg_int.h"
#include "engine/decide.h"
#include "engine/feeditem.h"
#include "engine/outcome.h"
#include "engine/render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r


/* A claim that finds the id taken and then the row gone (pruned in
 * between) claims again; more than this is not a race but a fault. */
#define CLAIM_TRIES 3

struct lookup_ctx {
    struct pg_conn *c;
    int64_t wid;
    struct arena *a;
    bool failed;
};

/* After a failed statement the transaction is aborted: ask nothing more. */
static struct member *lk_by_id(void *ctx, const char *id)
{
    struct lookup_ctx *l = ctx;
    static const char SQL[] =
        "SELECT " PG_MEMBER_COLS " FROM members m WHERE m.wid = $1 AND m.id = $2";
    if (l->failed)
        return NULL;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, l->wid);
    pgp_text(&p, id);
    PGresult *res = pg_q(l->c, SQL, &p);
    if (!res) {
        l->failed = true;
        return NULL;
    }
    struct member *m = NULL;
    if (PQntuples(res) == 1) {
        m = ARENA_NEW(l->a, struct member);
        pg_load_member(res, 0, 0, l->a, m);
    }
    PQclear(res);
    return m;
}

/* In id order, byte-wise like SQLite's BINARY collation, so recipients
 * come in the same order on either backend. */
static size_t lk_active(void *ctx, unsigned role_mask, struct member ***out)
{
    struct lookup_ctx *l = ctx;
    static const char SQL[] = "SELECT " PG_MEMBER_COLS " FROM members m "
                              "WHERE m.wid = $1 AND m.active = 1 ORDER BY m.id COLLATE \"C\"";
    *out = ARENA_NEW_N(l->a, struct member *, 1);
    if (l->failed)
        return 0;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, l->wid);
    PGresult *res = pg_q(l->c, SQL, &p);
    if (!res) {
        l->failed = true;
        return 0;
    }
    int rows = PQntuples(res);
    struct member **v = ARENA_NEW_N(l->a, struct member *, (size_t)rows + 1);
    size_t n = 0;
    for (int i = 0; i < rows; i++) {
        enum role role = (enum role)pg_int(res, i, 6);
        if (role_mask && !(role_mask & (1u << role)))
            continue;
        v[n] = ARENA_NEW(l->a, struct member);
        pg_load_member(res, i, 0, l->a, v[n++]);
    }
    PQclear(res);
    *out = v;
    return n;
}

/* The id is taken: replay the stored answer or refuse. *seen false: the
 * row is gone again. */
static int check_existing(struct pg_conn *c, struct st_event_ingest *q, bool *seen)
{
    static const char SQL[] =
        "SELECT body_sha256, outcome FROM events WHERE wid = $1 AND id = $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->ev->id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *seen = PQntuples(res) == 1;
    if (*seen) {
        uint8_t hash[SHA256_LEN];
        bool same = pg_bytes(res, 0, 0, hash, SHA256_LEN) &&
                    memcmp(hash, q->body_sha256, SHA256_LEN) == 0;
        q->result = same ? INGEST_DUPLICATE : INGEST_CONFLICT;
        if (same) {
            q->outcome_len = (size_t)PQgetlength(res, 0, 1);
            q->outcome = pg_text(res, 0, 1, q->base.arena);
        }
    }
    PQclear(res);
    return STORE_OK;
}

/* Takes the event id (*eid: the new row's key) or finds it taken (*seen,
 * answered by check_existing). ON CONFLICT waits for a concurrent claim of
 * the same id, so a taken id is a committed row. */
static int claim(struct pg_conn *c, struct st_event_ingest *q, int64_t *eid, bool *seen)
{
    static const char SQL[] =
        "INSERT INTO events(wid, id, type, body_sha256, occurred_at, received_at, source, "
        "  actor_kind, actor_id, actor_name, data, outcome) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '') "
        "ON CONFLICT (wid, id) DO NOTHING RETURNING eid";
    const struct event_view *ev = q->ev;
    for (int attempt = 0; attempt < CLAIM_TRIES; attempt++) {
        struct pg_params p = PG_PARAMS_INIT;
        pgp_int(&p, q->wid);
        pgp_text(&p, ev->id);
        pgp_text(&p, ev->type->name);
        pgp_bytes(&p, q->body_sha256, SHA256_LEN);
        pgp_int(&p, ev->occurred_at);
        pgp_int(&p, q->received_at);
        pgp_text(&p, ev->source);
        pgp_text(&p, actor_kind_name(ev->actor_kind));
        pgp_text(&p, ev->actor_id);
        pgp_text(&p, ev->actor_name);
        pgp_text(&p, q->data_json);
        PGresult *res = pg_q(c, SQL, &p);
        if (!res)
            return STORE_UNAVAILABLE;
        bool claimed = PQntuples(res) == 1;
        if (claimed)
            *eid = pg_int(res, 0, 0);
        PQclear(res);
        *seen = false;
        if (claimed)
            return STORE_OK;
        int rc = check_existing(c, q, seen);
        if (rc != STORE_OK || *seen)
            return rc;
    }
    return pg_fail(c, "event claim", NULL);
}

static int cmp_mid(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

struct ranked {
    int64_t mid;
    size_t index;
};

static int cmp_ranked(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->mid != b->mid)
        return (a->mid > b->mid) - (a->mid < b->mid);
    return (a->index > b->index) - (a->index < b->index);
}

/* The decisions' indexes in member order. A notification-making event
 * writes each recipient's row (counters) as it goes: in mid order, those
 * writes are the locks, taken in the order every transaction takes them,
 * with no statement of their own. */
static size_t *in_mid_order(const struct decisions *d, struct arena *a)
{
    struct ranked *r = ARENA_NEW_N(a, struct ranked, d->n ? d->n : 1);
    for (size_t i = 0; i < d->n; i++)
        r[i] = (struct ranked){d->v[i].member ? d->v[i].member->mid : 0, i};
    qsort(r, d->n, sizeof *r, cmp_ranked);
    size_t *order = ARENA_NEW_N(a, size_t, d->n ? d->n : 1);
    for (size_t i = 0; i < d->n; i++)
        order[i] = r[i].index;
    return order;
}

/* Which recipients wanting only push (of the external channels) have an
 * enabled device: one query for all of them, before their rows are
 * locked, so the locked section is shorter. has[i] for d->v[i]. */
static int push_devices(struct pg_conn *c, const struct decisions *d, struct arena *a,
                        bool **has)
{
    static const char SQL[] = "SELECT DISTINCT mid FROM devices "
                              "WHERE mid = ANY($1::bigint[]) AND enabled = 1";
    const unsigned mail = CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS);
    *has = ARENA_NEW_N(a, bool, d->n ? d->n : 1);
    int64_t *mids = ARENA_NEW_N(a, int64_t, d->n ? d->n : 1);
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct decision *x = &d->v[i];
        if (!x->skip && x->member && (x->channels & CH_BIT(CH_PUSH)) && !(x->channels & mail))
            mids[n++] = x->member->mid;
    }
    if (!n)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(a, mids, n));
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    for (int row = 0; row < PQntuples(res); row++) {
        int64_t mid = pg_int(res, row, 0);
        for (size_t i = 0; i < d->n; i++)
            if (d->v[i].member && d->v[i].member->mid == mid)
                (*has)[i] = true;
    }
    PQclear(res);
    return STORE_OK;
}

/* A grouped event's recipients: their windows change below, and a window
 * due on the way closes with a feed change, so their rows are taken
 * first, in mid order. */
static int lock_recipients(struct pg_conn *c, const struct decisions *d, struct arena *a)
{
    int64_t *mids = ARENA_NEW_N(a, int64_t, d->n ? d->n : 1);
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!d->v[i].skip && d->v[i].member)
            mids[n++] = d->v[i].member->mid;
    if (!n)
        return STORE_OK;
    qsort(mids, n, sizeof *mids, cmp_mid);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (mids[i] != mids[k - 1])
            mids[k++] = mids[i];
    return pg_lock_members(c, mids, k);
}

int pg_insert_notification(struct pg_conn *c, const struct store_new_notification *n, int64_t *nid)
{
    static const char SQL[] =
        "INSERT INTO notifications(wid, mid, eid, type, category, channels, reasons, in_app, "
        "  title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "RETURNING nid";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, n->wid);
    pgp_int(&p, n->mid);
    pgp_int(&p, n->eid);
    pgp_text(&p, n->type);
    pgp_int(&p, (int)n->category);
    pgp_int(&p, (int)n->channels);
    pgp_int(&p, (int)n->reasons);
    pgp_int(&p, (n->channels & CH_BIT(CH_IN_APP)) != 0);
    pgp_text(&p, n->title);
    pgp_text(&p, n->body);
    pgp_int(&p, n->at);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_OK;
    if (PQntuples(res) == 1)
        *nid = pg_int(res, 0, 0);
    else
        rc = pg_fail(c, "notification insert", NULL);
    PQclear(res);
    return rc;
}

void pg_announce_new(const struct store_new_notification *n, int64_t nid, int64_t seq,
                     int64_t unread, const char *event_id, const char *data_json,
                     struct arena *a, struct store_updates *out)
{
    struct feed_item_view it = {nid, n->at, n->type, n->title, n->body, event_id, data_json,
                                (int)n->category, 0};
    struct feed_update u = {n->mid, seq, unread, UPD_NOTIFICATION,
                            store_new_item_json(a, &it, unread)};
    store_updates_add(out, &u);
}

int pg_publish_new(struct pg_conn *c, const struct store_new_notification *n, int64_t nid,
                   const char *event_id, const char *data_json, struct arena *a,
                   struct store_updates *out)
{
    int64_t seq, unread;
    struct store_feed_change fc = {.mid = n->mid, .kind = STORE_CHANGE_NEW, .nid = nid,
                                .unread_delta = 1, .at = n->at};
    int rc = pg_feed_change(c, &fc, &seq, &unread);
    if (rc != STORE_OK)
        return rc;
    pg_announce_new(n, nid, seq, unread, event_id, data_json, a, out);
    return STORE_OK;
}

int pg_insert_logged(struct pg_conn *c, const struct store_new_notification *n, int64_t *nid,
                     int64_t *seq, int64_t *unread)
{
    static const char SQL[] =
        "WITH n AS (INSERT INTO notifications(wid, mid, eid, type, category, channels, "
        "    reasons, in_app, title, body, created_at) "
        "  VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10) RETURNING nid), "
        "m AS (UPDATE members SET change_seq = change_seq + 1, unread = unread + 1 "
        "  WHERE mid = $2 RETURNING change_seq, unread), "
        "f AS (INSERT INTO feed_changes(mid, seq, kind, nid, unread, at) "
        "  SELECT $2, m.change_seq, 1, n.nid, m.unread, $10 FROM n, m) "
        "SELECT n.nid, m.change_seq, m.unread FROM n, m";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, n->wid);
    pgp_int(&p, n->mid);
    pgp_int(&p, n->eid);
    pgp_text(&p, n->type);
    pgp_int(&p, (int)n->category);
    pgp_int(&p, (int)n->channels);
    pgp_int(&p, (int)n->reasons);
    pgp_text(&p, n->title);
    pgp_text(&p, n->body);
    pgp_int(&p, n->at);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    bool found = PQntuples(res) == 1;
    if (found) {
        *nid = pg_int(res, 0, 0);
        *seq = pg_int(res, 0, 1);
        *unread = pg_int(res, 0, 2);
    }
    PQclear(res);
    if (!found) /* the member row is gone: the notification was not kept either */
        return pg_fail(c, "notification insert", NULL);
    return pg_feed_logged(c, n->mid, *seq);
}

/* One recipient of a notification-making (not grouped) event: the
 * notification, its outbox rows, and its announcement on the streams. */
static int notify_one(struct pg_conn *c, struct st_event_ingest *q, const struct workspace *ws,
                      const struct decision *x, bool has_device, const char *subject,
                      int64_t eid, struct store_updates *updates, int64_t *nid)
{
    const struct event_view *ev = q->ev;
    struct arena *a = q->base.arena;
    struct rendered text;
    render_notification(c->render, ev, ws, x->member, subject, a, &text);
    struct store_new_notification n = {q->wid, x->member->mid, eid, ev->type->name, x->category,
                                    x->channels, x->reasons, text.title, text.body,
                                    q->received_at};
    bool in_app = x->channels & CH_BIT(CH_IN_APP);
    int64_t seq = 0, unread = 0;
    int rc = in_app ? pg_insert_logged(c, &n, nid, &seq, &unread)
                    : pg_insert_notification(c, &n, nid);
    if (rc != STORE_OK)
        return rc;
    q->notifications++;
    if ((x->channels & (CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS))) || has_device) {
        struct external_text ext;
        render_external(c->render, ev, ws, x->member, subject, a, &ext);
        if ((rc = pg_outbox_add(c, &n, *nid, x->member, &ext, ev->id, NULL, a,
                                &q->deliveries)) != STORE_OK)
            return rc;
    }
    if (in_app)
        pg_announce_new(&n, *nid, seq, unread, ev->id, q->data_json, a, updates);
    return STORE_OK;
}

/* An ingest's audit entries, one per decision (skipped, grouped or
 * created), as the texts of the outcome statement's array parameters. They
 * keep the decisions' order, the order SQLite writes them in, though the
 * notifications went in member order (for the locks). */
struct ingest_audit {
    const char *action, *member_id, *nid, *detail;
};

static void audit_entries(const struct st_event_ingest *q, const struct decisions *d,
                          const int64_t *nids, const int64_t *closes, struct arena *a,
                          struct ingest_audit *out)
{
    const struct event_view *ev = q->ev;
    bool grouped = ev->type->flags & ET_GROUPED;
    size_t n = d->n ? d->n : 1;
    int64_t *action = ARENA_NEW_N(a, int64_t, n), *nid = ARENA_NEW_N(a, int64_t, n);
    const char **member_id = ARENA_NEW_N(a, const char *, n);
    const char **detail = ARENA_NEW_N(a, const char *, n);
    for (size_t i = 0; i < d->n; i++) {
        const struct decision *x = &d->v[i];
        member_id[i] = x->member_id;
        nid[i] = 0; /* none */
        if (x->skip) {
            action[i] = AU_SKIPPED;
            detail[i] = audit_detail_reason(a, x->skip);
        } else if (grouped) {
            action[i] = AU_GROUPED;
            detail[i] = audit_detail_grouped(a, event_conversation_id(ev), closes[i]);
        } else {
            action[i] = AU_CREATED;
            nid[i] = nids[i];
            detail[i] = audit_detail_created(a, ev->type->name, x->category, x->channels,
                                             x->reasons);
        }
    }
    *out = (struct ingest_audit){pg_int_array(a, action, d->n),
                                 pg_text_array(a, member_id, d->n), pg_int_array(a, nid, d->n),
                                 pg_text_array(a, detail, d->n)};
}

/* The event's answer, and the trail's entries in the same statement: one
 * round trip for all of them, however many recipients. The identity hands
 * out ids in the order the entries are selected. */
static int store_outcome(struct pg_conn *c, struct st_event_ingest *q, int64_t eid,
                         const struct decisions *d, const int64_t *nids, const int64_t *closes)
{
    static const char SQL[] =
        "WITH au AS (INSERT INTO audit(wid, at, action, actor_kind, actor_id, member_id, "
        "    event_id, nid, detail) "
        "  SELECT $3::bigint, " STORE_AUDIT_AT_PG("$4::bigint", "$3") ", u.action, $5::bigint, "
        "    $6::text, u.member_id, "
        "    $7::text, nullif(u.nid, 0), u.detail "
        "  FROM unnest($8::bigint[], $9::text[], $10::bigint[], $11::text[]) "
        "    WITH ORDINALITY AS u(action, member_id, nid, detail, i) ORDER BY u.i) "
        "UPDATE events SET outcome = $2 WHERE eid = $1";
    struct arena *a = q->base.arena;
    struct buf out = BUF_INIT;
    outcome_json(q->ev, q->received_at, d, nids, closes, &out);
    q->outcome = arena_strndup(a, out.data, out.len);
    q->outcome_len = out.len;
    buf_free(&out);
    struct ingest_audit au;
    audit_entries(q, d, nids, closes, a, &au);
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, eid);
    pgp_text(&p, q->outcome);
    pgp_int(&p, q->wid);
    pgp_int(&p, q->received_at);
    pgp_int(&p, q->by.kind);
    pgp_text(&p, q->by.id);
    pgp_text(&p, q->ev->id);
    pgp_text(&p, au.action);
    pgp_text(&p, au.member_id);
    pgp_text(&p, au.nid);
    pgp_text(&p, au.detail);
    return pg_cmd(c, SQL, &p, NULL);
}

/* The pop-up for the recipients' streams on other nodes: kept as a row
 * the notice names ("p<id>"), read by those nodes (pg_popup_get). */
static int share_popup(struct pg_conn *c, struct st_event_ingest *q, struct arena *a)
{
    static const char SQL[] = "INSERT INTO live_popups(wid, mids, body, at) "
                              "VALUES ($1, $2::bigint[], $3, $4) RETURNING id";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, pg_int_array(a, q->popup_mids, q->npopups));
    pgp_text(&p, q->popup);
    pgp_int(&p, q->received_at);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    buf_printf(&c->notify, "p%lld ", (long long)pg_int(res, 0, 0));
    PQclear(res);
    return STORE_OK;
}

int pg_event_ingest(struct pg_conn *c, struct store_req *r)
{
    R(st_event_ingest);
    struct arena *a = r->arena;
    const struct event_view *ev = q->ev;
    q->notifications = q->nupdates = q->npopups = q->deliveries = 0;
    q->next_close_at = 0;
    q->updates = NULL;
    q->popup = NULL;
    int64_t eid = 0;
    bool seen;
    int rc = claim(c, q, &eid, &seen);
    if (rc != STORE_OK || seen)
        return rc;

    struct workspace ws;
    if ((rc = pg_workspace_by_wid(c, q->wid, a, &ws)) != STORE_OK)
        return rc;
    struct lookup_ctx lctx = {c, q->wid, a, false};
    struct member_lookup lookup = {lk_by_id, lk_active, &lctx};
    struct decisions d;
    engine_decide(ev, &ws, &lookup, a, &d);
    if (lctx.failed)
        return STORE_UNAVAILABLE;
    bool grouped = ev->type->flags & ET_GROUPED;
    bool *has_device;
    if ((rc = push_devices(c, &d, a, &has_device)) != STORE_OK ||
        (grouped && (rc = lock_recipients(c, &d, a)) != STORE_OK))
        return rc;
    size_t *order = in_mid_order(&d, a);
    struct store_updates updates = {NULL, 0, 0, a};
    const char *subject = store_subject_name(ev, &d);
    int64_t *nids = ARENA_NEW_N(a, int64_t, d.n ? d.n : 1);
    int64_t *closes = grouped ? ARENA_NEW_N(a, int64_t, d.n ? d.n : 1) : NULL;
    q->popup_mids = ARENA_NEW_N(a, int64_t, d.n ? d.n : 1);
    for (size_t k = 0; k < d.n; k++) {
        size_t i = order[k];
        struct decision *x = &d.v[i];
        if (x->skip)
            continue;
        if (!grouped) {
            if ((rc = notify_one(c, q, &ws, x, has_device[i], subject, eid, &updates,
                                 &nids[i])) != STORE_OK)
                return rc;
            continue;
        }
        rc = pg_window_add(c, &ws, x->member, ev, eid, x->channels, q->received_at, &updates,
                           &closes[i], &q->deliveries);
        if (rc != STORE_OK)
            return rc;
        if (!q->next_close_at || closes[i] < q->next_close_at)
            q->next_close_at = closes[i];
        if (x->channels & CH_BIT(CH_IN_APP))
            q->popup_mids[q->npopups++] = x->member->mid;
    }
    if (q->npopups) {
        q->popup = message_popup_json(ev, a);
        if ((rc = share_popup(c, q, a)) != STORE_OK)
            return rc;
    }
    if ((rc = store_outcome(c, q, eid, &d, nids, closes)) != STORE_OK)
        return rc;
    q->updates = updates.v;
    q->nupdates = updates.n;
    q->result = INGEST_CREATED;
    return STORE_OK;
}


/* The notifications an answer lists, in its order; those of members
 * deleted since are gone. */
static int event_notifications(struct pg_conn *c, struct st_event_get *q, int64_t eid)
{
    static const char SQL[] =
        "SELECT n.nid, m.id, n.category, n.state, n.channels, n.in_app, n.created_at, n.reasons "
        "FROM unnest($1::bigint[]) WITH ORDINALITY AS k(nid, i) "
        "JOIN notifications n ON n.nid = k.nid JOIN members m ON m.mid = n.mid "
        "WHERE n.eid = $2 AND n.wid = $3 ORDER BY k.i";
    struct arena *a = q->base.arena;
    int64_t *nids;
    size_t count = outcome_notification_keys(q->outcome_json, a, &nids);
    q->notifications = ARENA_NEW_N(a, struct event_notification, count + 1);
    q->n = 0;
    if (!count)
        return STORE_OK;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_text(&p, pg_int_array(a, nids, count));
    pgp_int(&p, eid);
    pgp_int(&p, q->wid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && (size_t)i < count; i++) {
        struct event_notification *n = &q->notifications[q->n++];
        n->nid = pg_int(res, i, 0);
        n->member_id = pg_text(res, i, 1, a);
        n->category = (int)pg_int(res, i, 2);
        n->state = (int)pg_int(res, i, 3);
        n->channels = (unsigned)pg_int(res, i, 4);
        n->in_app = pg_int(res, i, 5) != 0;
        n->created_at = pg_int(res, i, 6);
        n->reasons = (unsigned)pg_int(res, i, 7);
    }
    PQclear(res);
    return STORE_OK;
}

int pg_event_get(struct pg_conn *c, struct store_req *r)
{
    R(st_event_get);
    struct arena *a = r->arena;
    static const char EVENT[] =
        "SELECT eid, type, source, actor_kind, actor_id, actor_name, occurred_at, "
        "  received_at, data, outcome FROM events WHERE wid = $1 AND id = $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->wid);
    pgp_text(&p, q->id);
    PGresult *res = pg_q(c, EVENT, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    int64_t eid = pg_int(res, 0, 0);
    q->type = pg_text(res, 0, 1, a);
    q->source = pg_text(res, 0, 2, a);
    q->actor_kind = pg_text(res, 0, 3, a);
    q->actor_id = pg_text(res, 0, 4, a);
    q->actor_name = pg_text(res, 0, 5, a);
    q->occurred_at = pg_int(res, 0, 6);
    q->received_at = pg_int(res, 0, 7);
    q->data_json = pg_text(res, 0, 8, a);
    q->outcome_json = pg_text(res, 0, 9, a);
    PQclear(res);
    int rc = event_notifications(c, q, eid);
    if (rc != STORE_OK)
        return rc;
    return pg_event_deliveries(c, q->wid, eid, a, &q->deliveries, &q->ndeliveries);
}

int pg_popup_get(struct pg_conn *c, struct store_req *r)
{
    struct st_popup_get *q = (struct st_popup_get *)r;
    static const char SQL[] = "SELECT array_to_string(mids, ','), body FROM live_popups "
                              "WHERE id = $1";
    q->n = 0;
    q->mids = NULL;
    q->json = NULL;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) == 1) {
        const char *list = PQgetvalue(res, 0, 0);
        size_t cap = 1;
        for (const char *x = list; *x; x++)
            cap += *x == ',';
        q->mids = ARENA_NEW_N(r->arena, int64_t, cap);
        for (const char *x = list; *x && q->n < cap;) {
            char *end;
            int64_t mid = strtoll(x, &end, 10);
            if (end == x)
                break;
            q->mids[q->n++] = mid;
            x = *end == ',' ? end + 1 : end;
        }
        q->json = pg_text(res, 0, 1, r->arena);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}
