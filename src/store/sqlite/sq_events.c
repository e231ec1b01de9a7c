/* sq_events.c - ingest of events and their audit view.
 *
 * Ingest runs on the writer thread inside the group commit, so the
 * idempotency check, the recipient decisions and every row they produce
 * are one atomic step: a duplicate sent concurrently finds the first one's
 * rows (same batch or an earlier commit) and replays its stored answer. */
#include "store/sqlite/sq_int.h"
#include "core/jw.h"
#include "engine/decide.h"
#include "engine/outcome.h"
#include "engine/render.h"

#include <string.h>

#define R(type) struct type *q = (struct type *)r

/* ---- what ingest reads, remembered for one group commit ----
 *
 * The events of one batch usually name the same few members of the same
 * workspace. Their rows are read once per batch; the structs live in the
 * arena of the job that read them, which stays alive until the batch is
 * answered, after the cache is cleared. */

#define CACHE_MEMBERS 512 /* a power of two */
#define CACHE_LISTS 8

struct cached_member {
    int64_t wid;
    const char *id; /* NULL: empty slot */
    struct member *m; /* NULL: known not to exist */
};

struct cached_list {
    int64_t wid;
    unsigned role_mask;
    struct member **v;
    size_t n;
    bool used;
};

struct sq_read_cache {
    struct cached_member members[CACHE_MEMBERS];
    struct cached_list lists[CACHE_LISTS];
    size_t nmembers;
    struct workspace ws; /* valid when ws.wid != 0 */
    int64_t next_eid;    /* 0: ask the table */
};

void sq_cache_clear(struct sq_conn *c)
{
    struct sq_read_cache *k = c->cache;
    if (!k)
        return;
    if (k->nmembers)
        memset(k->members, 0, sizeof k->members);
    if (k->lists[0].used)
        memset(k->lists, 0, sizeof k->lists);
    k->nmembers = 0;
    k->ws.wid = 0;
    k->next_eid = 0;
}

static struct sq_read_cache *cache_of(struct sq_conn *c)
{
    if (!c->cache)
        c->cache = xcalloc(1, sizeof *c->cache);
    return c->cache;
}

static uint32_t slot_of(int64_t wid, const char *id)
{
    uint32_t h = 2166136261u ^ (uint32_t)wid;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h & (CACHE_MEMBERS - 1);
}

struct lookup_ctx {
    struct sq_conn *c;
    int64_t wid;
    struct arena *a;
    bool failed;
};

static struct member *load_member(struct lookup_ctx *l, const char *id)
{
    static const char SQL[] =
        "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.wid = ?1 AND m.id = ?2";
    sqlite3_stmt *st = sq_prep(l->c, SQL);
    if (!st) {
        l->failed = true;
        return NULL;
    }
    sqlite3_bind_int64(st, 1, l->wid);
    sq_bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    struct member *m = NULL;
    if (rc == SQLITE_ROW) {
        m = ARENA_NEW(l->a, struct member);
        sq_load_member(st, 0, l->a, m);
    } else if (rc != SQLITE_DONE) {
        l->failed = true;
    }
    sqlite3_reset(st);
    return m;
}

static struct member *lk_by_id(void *ctx, const char *id)
{
    struct lookup_ctx *l = ctx;
    struct sq_read_cache *cache = cache_of(l->c);
    uint32_t slot = slot_of(l->wid, id);
    for (uint32_t i = 0; i < CACHE_MEMBERS; i++) {
        struct cached_member *e = &cache->members[(slot + i) & (CACHE_MEMBERS - 1)];
        if (!e->id) {
            struct member *m = load_member(l, id);
            if (!l->failed && cache->nmembers < CACHE_MEMBERS / 2) {
                e->wid = l->wid;
                e->id = m ? m->id : arena_strdup(l->a, id);
                e->m = m;
                cache->nmembers++;
            }
            return m;
        }
        if (e->wid == l->wid && strcmp(e->id, id) == 0)
            return e->m;
    }
    return load_member(l, id);
}

static size_t load_active(struct lookup_ctx *l, unsigned role_mask, struct member ***out)
{
    static const char SQL[] = "SELECT " SQ_MEMBER_COLS " FROM members m "
                              "WHERE m.wid = ?1 AND m.active = 1 ORDER BY m.id";
    sqlite3_stmt *st = sq_prep(l->c, SQL);
    size_t n = 0, cap = 16;
    struct member **v = ARENA_NEW_N(l->a, struct member *, cap);
    *out = v;
    if (!st) {
        l->failed = true;
        return 0;
    }
    sqlite3_bind_int64(st, 1, l->wid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        enum role role = (enum role)sqlite3_column_int(st, 6);
        if (role_mask && !(role_mask & (1u << role)))
            continue;
        if (n == cap) {
            struct member **nv = ARENA_NEW_N(l->a, struct member *, cap * 2);
            memcpy(nv, v, cap * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[n] = ARENA_NEW(l->a, struct member);
        sq_load_member(st, 0, l->a, v[n++]);
    }
    if (rc != SQLITE_DONE)
        l->failed = true;
    sqlite3_reset(st);
    *out = v;
    return n;
}

static size_t lk_active(void *ctx, unsigned role_mask, struct member ***out)
{
    struct lookup_ctx *l = ctx;
    struct sq_read_cache *cache = cache_of(l->c);
    for (int i = 0; i < CACHE_LISTS && cache->lists[i].used; i++)
        if (cache->lists[i].wid == l->wid && cache->lists[i].role_mask == role_mask) {
            *out = cache->lists[i].v;
            return cache->lists[i].n;
        }
    size_t n = load_active(l, role_mask, out);
    for (int i = 0; i < CACHE_LISTS && !l->failed; i++)
        if (!cache->lists[i].used) {
            cache->lists[i] = (struct cached_list){l->wid, role_mask, *out, n, true};
            break;
        }
    return n;
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

static const char *subject_name(const struct event_view *ev, const struct decisions *d)
{
    const char *subject = json_string_value(json_object_get(ev->data, "member_id"));
    for (size_t i = 0; subject && i < d->n; i++)
        if (d->v[i].member && strcmp(d->v[i].member_id, subject) == 0)
            return d->v[i].member->name;
    return NULL;
}

int sq_event_ingest(struct sq_conn *c, struct store_req *r)
{
    R(st_event_ingest);
    struct arena *a = r->arena;
    const struct event_view *ev = q->ev;
    q->ncreated = 0;
    bool seen;
    int rc = check_existing(c, q, &seen);
    if (rc != STORE_OK || seen)
        return rc;

    struct sq_read_cache *cache = cache_of(c);
    if (cache->ws.wid != q->wid) {
        if ((rc = sq_workspace_by_wid(c, q->wid, a, &cache->ws)) != STORE_OK) {
            cache->ws.wid = 0;
            return rc;
        }
    }
    struct workspace ws = cache->ws;
    struct lookup_ctx lctx = {c, q->wid, a, false};
    struct member_lookup lookup = {lk_by_id, lk_active, &lctx};
    struct decisions d;
    engine_decide(ev, &ws, &lookup, a, &d);
    if (lctx.failed)
        return STORE_UNAVAILABLE;

    /* The event's key is chosen here so its notifications can point to it
     * before the event row (which holds their ids) is written. Only this
     * thread inserts events, so within a batch the next key is the last+1. */
    sqlite3_stmt *st;
    if (!cache->next_eid) {
        st = sq_prep(c, "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                        "WHERE name = 'events'), 0), coalesce(max(eid), 0)) + 1 FROM events");
        if (!st || sqlite3_step(st) != SQLITE_ROW)
            return sq_fail(c, "next event key");
        cache->next_eid = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    int64_t eid = cache->next_eid;

    static const char NOTIF[] =
        "INSERT INTO notifications(wid, mid, eid, type, category, channels, reasons, in_app, "
        "  title, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    static const char UNREAD[] =
        "UPDATE members SET unread = unread + 1 WHERE mid = ?1 RETURNING unread";
    const char *subject = subject_name(ev, &d);
    int64_t *nids = ARENA_NEW_N(a, int64_t, d.n ? d.n : 1);
    q->created = ARENA_NEW_N(a, struct created_notification, d.n ? d.n : 1);
    for (size_t i = 0; i < d.n; i++) {
        struct decision *x = &d.v[i];
        if (x->skip)
            continue;
        struct rendered text;
        render_notification(c->render, ev, &ws, x->member, subject, a, &text);
        bool in_app = x->channels & CH_BIT(CH_IN_APP);
        st = sq_prep(c, NOTIF);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->wid);
        sqlite3_bind_int64(st, 2, x->member->mid);
        sqlite3_bind_int64(st, 3, eid);
        sq_bind_text(st, 4, ev->type->name);
        sqlite3_bind_int(st, 5, (int)x->category);
        sqlite3_bind_int(st, 6, (int)x->channels);
        sqlite3_bind_int(st, 7, (int)x->reasons);
        sqlite3_bind_int(st, 8, in_app);
        sq_bind_text(st, 9, text.title);
        sq_bind_text(st, 10, text.body);
        sqlite3_bind_int64(st, 11, q->received_at);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "notification insert");
        nids[i] = sqlite3_last_insert_rowid(c->db);
        struct created_notification *cn = &q->created[q->ncreated++];
        cn->nid = nids[i];
        cn->mid = x->member->mid;
        cn->in_app = in_app;
        cn->unread = -1; /* unchanged by an item outside the feed */
        if (in_app) {
            st = sq_prep(c, UNREAD);
            if (!st)
                return STORE_UNAVAILABLE;
            sqlite3_bind_int64(st, 1, x->member->mid);
            if (sqlite3_step(st) != SQLITE_ROW)
                return sq_fail(c, "unread count");
            cn->unread = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
        }
    }

    struct buf out = BUF_INIT;
    outcome_json(ev, q->received_at, &d, nids, &out);
    q->outcome = arena_strndup(a, out.data, out.len);
    q->outcome_len = out.len;
    buf_free(&out);

    static const char EVENT[] =
        "INSERT INTO events(eid, wid, id, type, body_sha256, occurred_at, received_at, source, "
        "  actor_kind, actor_id, actor_name, data, outcome) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    st = sq_prep(c, EVENT);
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
    cache->next_eid = eid + 1;
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
    return STORE_OK;

}
