/* sq_cache.c - what the writer remembers within one group commit, and the
 * members' feed log.
 *
 * The events of one batch usually name the same few members of the same
 * workspace. Their rows are read once per batch. Their counters (unread,
 * change_seq) are kept here as they move and written back once per member
 * (sq_cache_flush), so an event with three recipients appends three log
 * rows but rewrites no member row. The writer flushes before COMMIT and
 * before any request that is not an ingest, then forgets everything
 * (sq_cache_clear), so nothing here is ever stale.
 *
 * Remembered structs live in the arena of the request that read them, which
 * stays alive until the batch is answered, after the cache is cleared. */
#include "store/sqlite/sq_int.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_MEMBERS 512   /* a power of two */
#define CACHE_COUNTERS 512  /* a power of two */
#define CACHE_LISTS 8
#define FEED_LOG_KEEP 1000  /* changes kept per member for stream replay */

struct cached_member {
    int64_t wid;
    const char *id;   /* NULL: empty slot */
    struct member *m; /* NULL: known not to exist */
};

struct cached_list {
    int64_t wid;
    unsigned role_mask;
    struct member **v;
    size_t n;
    bool used;
};

struct counter {
    int64_t mid; /* 0: empty slot */
    int64_t unread, seq;
    bool dirty;
};

struct sq_read_cache {
    struct cached_member members[CACHE_MEMBERS];
    struct cached_list lists[CACHE_LISTS];
    struct counter counters[CACHE_COUNTERS];
    size_t nmembers, ncounters;
    struct workspace ws; /* valid when ws.wid != 0 */
    int64_t next_eid;    /* 0: ask the table */
};

static struct sq_read_cache *cache_of(struct sq_conn *c)
{
    if (!c->cache)
        c->cache = xcalloc(1, sizeof *c->cache);
    return c->cache;
}

void sq_cache_clear(struct sq_conn *c)
{
    struct sq_read_cache *k = c->cache;
    if (!k)
        return;
    if (k->nmembers)
        memset(k->members, 0, sizeof k->members);
    if (k->lists[0].used)
        memset(k->lists, 0, sizeof k->lists);
    if (k->ncounters)
        memset(k->counters, 0, sizeof k->counters);
    k->nmembers = k->ncounters = 0;
    k->ws.wid = 0;
    k->next_eid = 0;
}

void sq_cache_free(struct sq_conn *c)
{
    free(c->cache);
    c->cache = NULL;
}

int sq_cache_flush(struct sq_conn *c)
{
    struct sq_read_cache *k = c->cache;
    if (!k || !k->ncounters)
        return STORE_OK;
    static const char SQL[] = "UPDATE members SET unread = ?2, change_seq = ?3 WHERE mid = ?1";
    for (size_t i = 0; i < CACHE_COUNTERS; i++) {
        struct counter *ct = &k->counters[i];
        if (!ct->mid || !ct->dirty)
            continue;
        sqlite3_stmt *st = sq_prep(c, SQL);
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, ct->mid);
        sqlite3_bind_int64(st, 2, ct->unread);
        sqlite3_bind_int64(st, 3, ct->seq);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "member counters");
        sqlite3_reset(st);
        ct->dirty = false;
    }
    return STORE_OK;
}

/* ---- rows ---- */

static uint32_t hash_id(int64_t wid, const char *id)
{
    uint32_t h = 2166136261u ^ (uint32_t)wid;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

static struct member *load_member(struct sq_conn *c, int64_t wid, const char *id,
                                  struct arena *a, bool *failed)
{
    static const char SQL[] =
        "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.wid = ?1 AND m.id = ?2";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st) {
        *failed = true;
        return NULL;
    }
    sqlite3_bind_int64(st, 1, wid);
    sq_bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    struct member *m = NULL;
    if (rc == SQLITE_ROW) {
        m = ARENA_NEW(a, struct member);
        sq_load_member(st, 0, a, m);
    } else if (rc != SQLITE_DONE) {
        *failed = true;
    }
    sqlite3_reset(st);
    return m;
}

struct member *sq_cached_member(struct sq_conn *c, int64_t wid, const char *id,
                                struct arena *a, bool *failed)
{
    struct sq_read_cache *k = cache_of(c);
    uint32_t slot = hash_id(wid, id);
    for (uint32_t i = 0; i < CACHE_MEMBERS; i++) {
        struct cached_member *e = &k->members[(slot + i) & (CACHE_MEMBERS - 1)];
        if (!e->id) {
            struct member *m = load_member(c, wid, id, a, failed);
            if (!*failed && k->nmembers < CACHE_MEMBERS / 2) {
                e->wid = wid;
                e->id = m ? m->id : arena_strdup(a, id);
                e->m = m;
                k->nmembers++;
            }
            return m;
        }
        if (e->wid == wid && strcmp(e->id, id) == 0)
            return e->m;
    }
    return load_member(c, wid, id, a, failed);
}

static size_t load_active(struct sq_conn *c, int64_t wid, unsigned role_mask, struct arena *a,
                          struct member ***out, bool *failed)
{
    static const char SQL[] = "SELECT " SQ_MEMBER_COLS " FROM members m "
                              "WHERE m.wid = ?1 AND m.active = 1 ORDER BY m.id";
    sqlite3_stmt *st = sq_prep(c, SQL);
    size_t n = 0, cap = 16;
    struct member **v = ARENA_NEW_N(a, struct member *, cap);
    *out = v;
    if (!st) {
        *failed = true;
        return 0;
    }
    sqlite3_bind_int64(st, 1, wid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        enum role role = (enum role)sqlite3_column_int(st, 6);
        if (role_mask && !(role_mask & (1u << role)))
            continue;
        if (n == cap) {
            struct member **nv = ARENA_NEW_N(a, struct member *, cap * 2);
            memcpy(nv, v, cap * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[n] = ARENA_NEW(a, struct member);
        sq_load_member(st, 0, a, v[n++]);
    }
    if (rc != SQLITE_DONE)
        *failed = true;
    sqlite3_reset(st);
    *out = v;
    return n;
}

size_t sq_cached_active(struct sq_conn *c, int64_t wid, unsigned role_mask, struct arena *a,
                        struct member ***out, bool *failed)
{
    struct sq_read_cache *k = cache_of(c);
    for (int i = 0; i < CACHE_LISTS && k->lists[i].used; i++)
        if (k->lists[i].wid == wid && k->lists[i].role_mask == role_mask) {
            *out = k->lists[i].v;
            return k->lists[i].n;
        }
    size_t n = load_active(c, wid, role_mask, a, out, failed);
    for (int i = 0; i < CACHE_LISTS && !*failed; i++)
        if (!k->lists[i].used) {
            k->lists[i] = (struct cached_list){wid, role_mask, *out, n, true};
            break;
        }
    return n;
}

int sq_cached_workspace(struct sq_conn *c, int64_t wid, struct arena *a, struct workspace *out)
{
    struct sq_read_cache *k = cache_of(c);
    if (k->ws.wid != wid) {
        int rc = sq_workspace_by_wid(c, wid, a, &k->ws);
        if (rc != STORE_OK) {
            k->ws.wid = 0;
            return rc;
        }
    }
    *out = k->ws;
    return STORE_OK;
}

int sq_next_event_key(struct sq_conn *c, int64_t *eid)
{
    /* Keys follow sqlite_sequence (AUTOINCREMENT: never reused); only the
     * writer inserts events, so within a batch the next key is last + 1. */
    struct sq_read_cache *k = cache_of(c);
    if (!k->next_eid) {
        sqlite3_stmt *st = sq_prep(c, "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                                      "WHERE name = 'events'), 0), coalesce(max(eid), 0)) + 1 "
                                      "FROM events");
        if (!st || sqlite3_step(st) != SQLITE_ROW)
            return sq_fail(c, "next event key");
        k->next_eid = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    *eid = k->next_eid;
    return STORE_OK;
}

void sq_event_key_used(struct sq_conn *c, int64_t eid)
{
    cache_of(c)->next_eid = eid + 1;
}

/* ---- counters and the feed log ---- */

static struct counter *counter(struct sq_conn *c, int64_t mid)
{
    struct sq_read_cache *k = cache_of(c);
    uint32_t slot = (uint32_t)(mid * 2654435761u);
    for (uint32_t i = 0; i < CACHE_COUNTERS; i++) {
        struct counter *ct = &k->counters[(slot + i) & (CACHE_COUNTERS - 1)];
        if (ct->mid == mid)
            return ct;
        if (!ct->mid) {
            if (k->ncounters >= CACHE_COUNTERS / 2)
                return NULL;
            sqlite3_stmt *st =
                sq_prep(c, "SELECT unread, change_seq FROM members WHERE mid = ?1");
            if (!st)
                return NULL;
            sqlite3_bind_int64(st, 1, mid);
            if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_reset(st);
                return NULL;
            }
            ct->mid = mid;
            ct->unread = sqlite3_column_int64(st, 0);
            ct->seq = sqlite3_column_int64(st, 1);
            sqlite3_reset(st);
            k->ncounters++;
            return ct;
        }
    }
    return NULL;
}

int sq_feed_change(struct sq_conn *c, const struct store_feed_change *fc, int64_t *seq,
                   int64_t *unread)
{
    struct counter *ct = counter(c, fc->mid);
    if (!ct) {
        /* The table is full (an event naming hundreds of members): write
         * what is pending and start over. */
        if (sq_cache_flush(c) != STORE_OK)
            return STORE_UNAVAILABLE;
        memset(c->cache->counters, 0, sizeof c->cache->counters);
        c->cache->ncounters = 0;
        if (!(ct = counter(c, fc->mid)))
            return sq_fail(c, "member counters");
    }
    ct->seq++;
    ct->unread += fc->unread_delta;
    ct->dirty = true;
    static const char SQL[] = "INSERT INTO feed_changes(mid, seq, kind, nid, state, changed, "
                              "unread, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, fc->mid);
    sqlite3_bind_int64(st, 2, ct->seq);
    sqlite3_bind_int(st, 3, fc->kind);
    if (fc->nid)
        sqlite3_bind_int64(st, 4, fc->nid);
    if (fc->kind == STORE_CHANGE_STATE)
        sqlite3_bind_int(st, 5, fc->state);
    if (fc->kind == STORE_CHANGE_READ_ALL)
        sqlite3_bind_int64(st, 6, fc->changed);
    sqlite3_bind_int64(st, 7, ct->unread);
    sqlite3_bind_int64(st, 8, fc->at);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "feed change");
    sqlite3_reset(st);
    if (ct->seq % 256 == 0 && ct->seq > FEED_LOG_KEEP) { /* keep the log bounded */
        st = sq_prep(c, "DELETE FROM feed_changes WHERE mid = ?1 AND seq <= ?2");
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, fc->mid);
        sqlite3_bind_int64(st, 2, ct->seq - FEED_LOG_KEEP);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(c, "feed log trim");
        sqlite3_reset(st);
    }
    *seq = ct->seq;
    *unread = ct->unread;
    return STORE_OK;
}
