/* sq_events.c - ingest of events and their audit view.
 *
 * Ingest runs on the writer thread inside the group commit, so the
 * idempotency check, the recipient decisions and every row they produce
 * are one atomic step: a duplicate sent concurrently finds the first one's
 * rows (same batch or an earlier commit) and replays its stored answer.
 * A message.received makes no notification at once: it joins each
 * recipient's grouping window (sq_windows.c) and pops up on their streams. */
#include "store/sqlite/sq_int.h"
#include "engine/decide.h"
#include "engine/feeditem.h"
#include "engine/outcome.h"
#include "engine/render.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

struct lookup_ctx {
    struct sq_conn *c;
    int64_t wid;
    struct arena *a;
    bool failed;
};

static struct member *lk_by_id(void *ctx, const char *id)
{
    struct lookup_ctx *l = ctx;
    return sq_cached_member(l->c, l->wid, id, l->a, &l->failed);
}

static size_t lk_active(void *ctx, unsigned role_mask, struct member ***out)
{
    struct lookup_ctx *l = ctx;
    return sq_cached_active(l->c, l->wid, role_mask, l->a, out, &l->failed);
}

/* The same event id seen before: replay or refuse. */
static int check_existing(struct sq_conn *c, struct st_event_ingest *q, bool *seen)
{
    static const char SQL[] =
        "SELECT body_sha256, outcome FROM events WHERE wid = ?1 AND id = ?2";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->ev->id);
    int rc = sqlite3_step(st);
    *seen = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        bool same = sqlite3_column_bytes(st, 0) == SHA256_LEN &&
                    memcmp(sqlite3_column_blob(st, 0), q->body_sha256, SHA256_LEN) == 0;
        q->result = same ? INGEST_DUPLICATE : INGEST_CONFLICT;
        if (same) {
            q->outcome_len = (size_t)sqlite3_column_bytes(st, 1);
            q->outcome = arena_strndup(q->base.arena, (const char *)sqlite3_column_text(st, 1),
                                       q->outcome_len);
        }
    } else if (rc != SQLITE_DONE) {
        return sq_fail(c, "event lookup");
    }
    sqlite3_reset(st);
    return STORE_OK;
}

int sq_insert_notification(struct sq_conn *c, const struct store_new_notification *n, int64_t *nid)
{
    static const char SQL[] =
        "INSERT INTO notifications(wid, mid, eid, type, category, channels, reasons, in_app, "
        "  title, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, n->wid);
    sqlite3_bind_int64(st, 2, n->mid);
    sqlite3_bind_int64(st, 3, n->eid);
    sq_bind_text(st, 4, n->type);
    sqlite3_bind_int(st, 5, (int)n->category);
    sqlite3_bind_int(st, 6, (int)n->channels);
    sqlite3_bind_int(st, 7, (int)n->reasons);
    sqlite3_bind_int(st, 8, (n->channels & CH_BIT(CH_IN_APP)) != 0);
    sq_bind_text(st, 9, n->title);
    sq_bind_text(st, 10, n->body);
    sqlite3_bind_int64(st, 11, n->at);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "notification insert");
    sqlite3_reset(st);
    *nid = sqlite3_last_insert_rowid(c->db);
    return STORE_OK;
}

int sq_publish_new(struct sq_conn *c, const struct store_new_notification *n, int64_t nid,
                   const char *event_id, const char *data_json, struct arena *a,
                   struct store_updates *out)
{
    int64_t seq, unread;
    struct store_feed_change fc = {.mid = n->mid, .kind = STORE_CHANGE_NEW, .nid = nid,
                             .unread_delta = 1, .at = n->at};
    int rc = sq_feed_change(c, &fc, &seq, &unread);
    if (rc != STORE_OK)
        return rc;
    struct feed_item_view it = {nid, n->at, n->type, n->title, n->body, event_id, data_json,
                                (int)n->category, 0};
    struct feed_update u = {n->mid, seq, unread, UPD_NOTIFICATION,
                            store_new_item_json(a, &it, unread)};
    store_updates_add(out, &u);
    return STORE_OK;
}

int sq_event_ingest(struct sq_conn *c, struct store_req *r)
{
    R(st_event_ingest);
    struct arena *a = r->arena;
    const struct event_view *ev = q->ev;
    q->notifications = q->nupdates = q->npopups = q->deliveries = 0;
    q->next_close_at = 0;
    bool seen;
    int rc = check_existing(c, q, &seen);
    if (rc != STORE_OK || seen)
        return rc;

    struct workspace ws;
    if ((rc = sq_cached_workspace(c, q->wid, a, &ws)) != STORE_OK)
        return rc;
    struct lookup_ctx lctx = {c, q->wid, a, false};
    struct member_lookup lookup = {lk_by_id, lk_active, &lctx};
    struct decisions d;
    engine_decide(ev, &ws, &lookup, a, &d);
    if (lctx.failed)
        return STORE_UNAVAILABLE;

    /* The event's key is chosen first so its notifications can point to it
     * before the event row (which holds their ids) is written. */
    int64_t eid;
    if ((rc = sq_next_event_key(c, &eid)) != STORE_OK)
        return rc;

    bool grouped = ev->type->flags & ET_GROUPED;
    struct store_updates updates = {NULL, 0, 0, a};
    const char *subject = store_subject_name(ev, &d);
    int64_t *nids = ARENA_NEW_N(a, int64_t, d.n ? d.n : 1);
    int64_t *closes = grouped ? ARENA_NEW_N(a, int64_t, d.n ? d.n : 1) : NULL;
    q->popup_mids = ARENA_NEW_N(a, int64_t, d.n ? d.n : 1);
    struct audit_write au = {q->wid, q->received_at, 0, q->by.kind, q->by.id, 0, NULL, 0, ev->id,
                             0, 0, NULL};
    for (size_t i = 0; i < d.n; i++) {
        struct decision *x = &d.v[i];
        au.member_id = x->member_id;
        au.nid = 0;
        if (x->skip) {
            au.action = AU_SKIPPED;
            au.detail = audit_detail_reason(a, x->skip);
            if ((rc = sq_audit_add(c, &au)) != STORE_OK)
                return rc;
            continue;
        }
        if (grouped) {
            rc = sq_window_add(c, &ws, x->member, ev, eid, x->channels, q->received_at, &updates,
                               &closes[i], &q->deliveries);
            if (rc != STORE_OK)
                return rc;
            au.action = AU_GROUPED;
            au.detail = audit_detail_grouped(a, event_conversation_id(ev), closes[i]);
            if ((rc = sq_audit_add(c, &au)) != STORE_OK)
                return rc;
            if (!q->next_close_at || closes[i] < q->next_close_at)
                q->next_close_at = closes[i];
            if (x->channels & CH_BIT(CH_IN_APP))
                q->popup_mids[q->npopups++] = x->member->mid;
            continue;
        }
        struct rendered text;
        render_notification(c->render, ev, &ws, x->member, subject, a, &text);
        struct store_new_notification n = {q->wid, x->member->mid, eid, ev->type->name, x->category,
                                     x->channels, x->reasons, text.title, text.body,
                                     q->received_at};
        if ((rc = sq_insert_notification(c, &n, &nids[i])) != STORE_OK)
            return rc;
        q->notifications++;
        au.action = AU_CREATED;
        au.nid = nids[i];
        au.detail = audit_detail_created(a, ev->type->name, x->category, x->channels, x->reasons);
        if ((rc = sq_audit_add(c, &au)) != STORE_OK)
            return rc;
        bool outbox;
        if ((rc = sq_outbox_wanted(c, x->channels, x->member->mid, &outbox)) != STORE_OK)
            return rc;
        if (outbox) {
            struct external_text ext;
            render_external(c->render, ev, &ws, x->member, subject, a, &ext);
            if ((rc = sq_outbox_add(c, &n, nids[i], x->member, &ext, ev->id, NULL, a,
                                    &q->deliveries)) != STORE_OK)
                return rc;
        }
        if ((x->channels & CH_BIT(CH_IN_APP)) &&
            (rc = sq_publish_new(c, &n, nids[i], ev->id, q->data_json, a, &updates)) != STORE_OK)
            return rc;
    }
    if (q->npopups)
        q->popup = message_popup_json(ev, a);

    struct buf out = BUF_INIT;
    outcome_json(ev, q->received_at, &d, nids, closes, &out);
    q->outcome = arena_strndup(a, out.data, out.len);
    q->outcome_len = out.len;
    buf_free(&out);

    static const char EVENT[] =
        "INSERT INTO events(eid, wid, id, type, body_sha256, occurred_at, received_at, source, "
        "  actor_kind, actor_id, actor_name, data, outcome) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    sqlite3_stmt *st = sq_prep(c, EVENT);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, eid);
    sqlite3_bind_int64(st, 2, q->wid);
    sq_bind_text(st, 3, ev->id);
    sq_bind_text(st, 4, ev->type->name);
    sqlite3_bind_blob(st, 5, q->body_sha256, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, ev->occurred_at);
    sqlite3_bind_int64(st, 7, q->received_at);
    sq_bind_text(st, 8, ev->source);
    sq_bind_text(st, 9, actor_kind_name(ev->actor_kind));
    sq_bind_text(st, 10, ev->actor_id);
    sq_bind_text(st, 11, ev->actor_name);
    sq_bind_text(st, 12, q->data_json);
    sqlite3_bind_text(st, 13, q->outcome, (int)q->outcome_len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "event insert");
    sq_event_key_used(c, eid);
    q->updates = updates.v;
    q->nupdates = updates.n;
    q->result = INGEST_CREATED;
    return STORE_OK;
}

int sq_event_get(struct sq_conn *c, struct store_req *r)
{
    R(st_event_get);
    struct arena *a = r->arena;
    static const char EVENT[] =
        "SELECT eid, type, source, actor_kind, actor_id, actor_name, occurred_at, "
        "  received_at, data, outcome FROM events WHERE wid = ?1 AND id = ?2";
    static const char NOTIF[] =
        "SELECT n.nid, m.id, n.category, n.state, n.channels, n.in_app, n.created_at, n.reasons "
        "FROM notifications n JOIN members m ON m.mid = n.mid "
        "WHERE n.nid = ?1 AND n.eid = ?2 AND n.wid = ?3";
    sqlite3_stmt *st = sq_prep(c, EVENT);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->wid);
    sq_bind_text(st, 2, q->id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "event get");
    int64_t eid = sqlite3_column_int64(st, 0);
    q->type = sq_text(st, 1, a);
    q->source = sq_text(st, 2, a);
    q->actor_kind = sq_text(st, 3, a);
    q->actor_id = sq_text(st, 4, a);
    q->actor_name = sq_text(st, 5, a);
    q->occurred_at = sqlite3_column_int64(st, 6);
    q->received_at = sqlite3_column_int64(st, 7);
    q->data_json = sq_text(st, 8, a);
    q->outcome_json = sq_text(st, 9, a);
    sqlite3_reset(st);

    /* The answer lists the event's notifications; those of members deleted
     * since are gone. */
    int64_t *nids;
    size_t count = outcome_notification_keys(q->outcome_json, a, &nids);
    q->notifications = ARENA_NEW_N(a, struct event_notification, count + 1);
    for (size_t i = 0; i < count; i++) {
        st = sq_prep(c, NOTIF);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, nids[i]);
        sqlite3_bind_int64(st, 2, eid);
        sqlite3_bind_int64(st, 3, q->wid);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            continue;
        if (rc != SQLITE_ROW)
            return sq_fail(c, "event notification");
        struct event_notification *n = &q->notifications[q->n++];
        n->nid = sqlite3_column_int64(st, 0);
        n->member_id = sq_text(st, 1, a);
        n->category = sqlite3_column_int(st, 2);
        n->state = sqlite3_column_int(st, 3);
        n->channels = (unsigned)sqlite3_column_int(st, 4);
        n->in_app = sqlite3_column_int(st, 5);
        n->created_at = sqlite3_column_int64(st, 6);
        n->reasons = (unsigned)sqlite3_column_int(st, 7);
    }
    return sq_event_deliveries(c, q->wid, eid, a, &q->deliveries, &q->ndeliveries);
}
