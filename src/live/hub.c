/* hub.c - members' open streams and what is published to them (live.h).
 *
 * Streams are found by member key through a chained hash table; every
 * stream is also on one list for heartbeats. A frame is built once per
 * update and written to each of the member's streams; the HTTP layer drops
 * a stream whose reader falls too far behind. */
#include "live/live.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/http.h"
#include "metrics/metrics.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HELD_MAX (256 * 1024) /* frames held for a stream still replaying */
#define SEQ_NONE 0            /* a frame without id (count) */
#define SEQ_KEEP (-1)         /* a frame without id kept after a replay (pop-up) */
#define PACE_BATCH 256        /* catch-ups started per loop pass after "anything changed" */
#define PACE_MS 20

struct member_streams;

struct live_stream {
    struct live_stream *prev, *next;     /* the member's streams */
    struct live_stream *all_prev, *all_next;
    struct member_streams *owner;        /* NULL once detached */
    struct live_hub *hub;
    struct http_stream *http;            /* NULL once closed */
    int64_t mid, wid, after_seq;
    int64_t last_seq;                    /* the newest change id this stream has sent */
    bool replaying;
    bool again;                          /* catch up once more when the replay ends */
    bool stale;                          /* to catch up, paced (live_remote_change) */
    bool dropped;
    struct buf held;                     /* [int64 seq][uint32 len][frame]... */
    struct arena arena;                  /* the replay request */
};

struct member_streams {
    struct member_streams *next; /* hash chain */
    int64_t mid;
    struct live_stream *head;
    int n;
};

struct live_hub {
    struct event_base *base;
    struct store *store;
    struct metrics *metrics;
    struct live_limits limits;
    struct member_streams **buckets;
    size_t nbuckets, nmembers;
    int nstreams;
    struct live_stream *all;
    struct event *heartbeat;
    struct event *pace; /* starts stale streams' catch-ups, a batch at a time */
    struct buf frame; /* scratch, reused */
};

void live_limits_default(struct live_limits *l)
{
    l->max_streams = 18000; /* well under the 20,000 open files, leaving the API room */
    l->max_per_member = 20;
    l->max_queue = 256 * 1024;
    l->heartbeat_s = 25;
    l->replay_max = 2000;
}

/* ---- the member table ---- */

static size_t bucket_of(const struct live_hub *h, int64_t mid)
{
    uint64_t x = (uint64_t)mid * 0x9E3779B97F4A7C15u;
    return (size_t)(x >> 32) & (h->nbuckets - 1);
}

static struct member_streams *find(const struct live_hub *h, int64_t mid)
{
    for (struct member_streams *m = h->buckets[bucket_of(h, mid)]; m; m = m->next)
        if (m->mid == mid)
            return m;
    return NULL;
}

static void grow(struct live_hub *h)
{
    size_t n = h->nbuckets * 2;
    struct member_streams **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct member_streams *m = h->buckets[i];
        while (m) {
            struct member_streams *next = m->next;
            uint64_t x = (uint64_t)m->mid * 0x9E3779B97F4A7C15u;
            size_t k = (size_t)(x >> 32) & (n - 1);
            m->next = b[k];
            b[k] = m;
            m = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

static struct member_streams *find_or_add(struct live_hub *h, int64_t mid)
{
    struct member_streams *m = find(h, mid);
    if (m)
        return m;
    if (h->nmembers >= h->nbuckets)
        grow(h);
    m = xcalloc(1, sizeof *m);
    m->mid = mid;
    size_t k = bucket_of(h, mid);
    m->next = h->buckets[k];
    h->buckets[k] = m;
    h->nmembers++;
    return m;
}

static void remove_member(struct live_hub *h, struct member_streams *m)
{
    struct member_streams **p = &h->buckets[bucket_of(h, m->mid)];
    while (*p != m)
        p = &(*p)->next;
    *p = m->next;
    h->nmembers--;
    free(m);
}

static void detach(struct live_stream *s)
{
    struct live_hub *h = s->hub;
    struct member_streams *m = s->owner;
    if (!m)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        m->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        h->all = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    s->owner = NULL;
    h->nstreams--;
    if (--m->n == 0)
        remove_member(h, m);
}

static void stream_free(struct live_stream *s)
{
    buf_free(&s->held);
    arena_reset(&s->arena);
    free(s);
}

static void catch_up(struct live_stream *s);

/* ---- writing ---- */

static void write_frame(struct live_stream *s, int64_t seq, const char *frame, size_t len)
{
    if (!s->http)
        return;
    if (s->replaying) {
        if (s->held.len + len + 12 > HELD_MAX) { /* replay too slow: start over later */
            http_stream_close(s->http);
            s->http = NULL;
            detach(s);
            return;
        }
        uint32_t n = (uint32_t)len;
        buf_add(&s->held, &seq, sizeof seq);
        buf_add(&s->held, &n, sizeof n);
        buf_add(&s->held, frame, len);
        return;
    }
    /* A change can be read by a replay before its own announcement comes
     * (it committed, its callback had not run yet): never send it twice.
     * One that skips ahead means changes made elsewhere (another node,
     * or another connection's commit answered first) are still on their
     * way: read them from the log, holding this one, so the stream stays
     * in order. */
    if (seq > 0) {
        if (seq <= s->last_seq)
            return;
        if (seq > s->last_seq + 1) {
            catch_up(s);
            if (s->replaying) { /* hold it until the log is read */
                write_frame(s, seq, frame, len);
                return;
            }
            if (!s->http)
                return;
            /* The read was refused at once (the store is full): the stream
             * was told to reload (reset); carry on from this change. */
        }
        s->last_seq = seq;
    }
    if (http_stream_write(s->http, frame, len) != 0 && !s->dropped) {
        s->dropped = true;
        metrics_live(s->hub->metrics, LIVE_DROPPED);
    }
}

static void build_update(struct buf *b, const struct feed_update *u)
{
    buf_clear(b);
    if (u->kind != UPD_COUNT)
        buf_printf(b, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", u->seq,
                   u->kind == UPD_NOTIFICATION ? "notification" : "notification_state", u->data);
}

static void build_count(struct buf *b, int64_t unread)
{
    buf_printf(b, "event: count\ndata: {\"unread\":%" PRId64 "}\n\n", unread);
}

/* The count that ends a replay carries the stream's position: a client
 * that connected without Last-Event-ID then has one, and its reconnect
 * gets what it missed instead of only what comes after. */
static void build_count_at(struct buf *b, int64_t unread, int64_t seq)
{
    buf_printf(b, "id: %" PRId64 "\n", seq);
    build_count(b, unread);
}

void live_publish(struct live_hub *h, const struct feed_update *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct member_streams *m = find(h, u[i].mid);
        if (!m)
            continue;
        build_update(&h->frame, &u[i]);
        build_count(&h->frame, u[i].unread);
        int64_t seq = u[i].kind == UPD_COUNT ? SEQ_NONE : u[i].seq;
        for (struct live_stream *s = m->head, *next; s; s = next) {
            next = s->next;
            write_frame(s, seq, h->frame.data, h->frame.len);
        }
        metrics_live(h->metrics, u[i].kind == UPD_NOTIFICATION ? LIVE_NOTIFICATION
                                 : u[i].kind == UPD_STATE      ? LIVE_STATE
                                                               : LIVE_COUNT);
    }
}

void live_popup(struct live_hub *h, int64_t mid, const char *json)
{
    struct member_streams *m = find(h, mid);
    if (!m)
        return;
    buf_clear(&h->frame);
    buf_printf(&h->frame, "event: message\ndata: %s\n\n", json);
    for (struct live_stream *s = m->head, *next; s; s = next) {
        next = s->next;
        write_frame(s, SEQ_KEEP, h->frame.data, h->frame.len);
    }
    metrics_live(h->metrics, LIVE_MESSAGE);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct live_hub *h = arg;
    for (struct live_stream *s = h->all, *next; s; s = next) {
        next = s->all_next;
        if (!s->replaying && s->http)
            http_stream_write(s->http, ": hb\n\n", 6);
    }
}

/* ---- opening: replay, then live ---- */

static void on_http_closed(void *arg)
{
    struct live_stream *s = arg;
    s->http = NULL;
    detach(s);
    if (!s->replaying) /* else the replay's answer frees it */
        stream_free(s);
}

static void on_replayed(struct store_req *r)
{
    struct st_feed_replay *q = (struct st_feed_replay *)r;
    struct live_stream *s = r->arg;
    s->replaying = false;
    if (!s->http) { /* the client left meanwhile */
        stream_free(s);
        return;
    }
    /* Its own buffer: this may run inside live_publish (a read refused at
     * once), whose frame is in h->frame. */
    struct buf scratch = BUF_INIT, *b = &scratch;
    const char *reset = r->rc != STORE_OK ? "unavailable"
                        : q->gap || q->more ? "position_not_kept" : NULL;
    if (!reset) {
        /* The replay goes out in one write, and only if it fits well inside
         * the stream's queue: written item by item past the slow-reader
         * limit, it would drop the stream before a byte left, and the
         * client, reconnecting from the same id, would be dropped again
         * and again. Too much to replay is a reset, like a gap. */
        struct buf one = BUF_INIT;
        for (size_t i = 0; i < q->n && !reset; i++) {
            build_update(&one, &q->updates[i]);
            if (b->len + one.len > s->hub->limits.max_queue / 2)
                reset = "too_much_to_replay";
            else
                buf_add(b, one.data, one.len);
        }
        buf_free(&one);
        if (reset)
            buf_clear(b);
    }
    if (reset) {
        /* What it missed is no longer kept, or too much: the client
         * reloads its feed. The id moves the browser's Last-Event-ID past
         * the gap, so a later reconnect resumes from here instead of
         * resetting again. */
        if (r->rc == STORE_OK)
            buf_printf(b, "id: %" PRId64 "\n", q->last_seq);
        buf_printf(b, "event: reset\ndata: {\"reason\":\"%s\",\"last_id\":%" PRId64 "}\n\n",
                   reset, q->last_seq);
    }
    if (b->len)
        http_stream_write(s->http, b->data, b->len);
    if (q->last_seq > s->last_seq)
        s->last_seq = q->last_seq;
    /* Then what was published during the replay and is newer than it, in
     * order; each such update carries its own count. */
    buf_clear(b);
    bool counted = false;
    for (size_t off = 0; off + 12 <= s->held.len;) {
        int64_t seq;
        uint32_t len;
        memcpy(&seq, s->held.data + off, sizeof seq);
        memcpy(&len, s->held.data + off + 8, sizeof len);
        if (seq > s->last_seq + 1 || seq == SEQ_NONE) {
            /* committed after the replay's snapshot, with a change from
             * elsewhere before it: the next catch-up reads both, in order.
             * A count alone may also be newer than the replay's: read it. */
            s->again = true;
        } else if (seq == SEQ_KEEP || seq > s->last_seq) {
            buf_add(b, s->held.data + off + 12, len);
            counted |= seq > s->last_seq;
            if (seq > s->last_seq)
                s->last_seq = seq;
        }
        off += 12 + len;
    }
    buf_free(&s->held);
    if (!counted && r->rc == STORE_OK) /* (a failed read knows no count) */
        build_count_at(b, q->unread, s->last_seq);
    if (b->len)
        http_stream_write(s->http, b->data, b->len);
    buf_free(&scratch);
    arena_reset(&s->arena);
    if (s->again && s->http) {
        s->again = false;
        catch_up(s);
    }
}

/* Reads the member's log after the stream's position; what is published
 * meanwhile is held (write_frame) and sent after it, newer than it. */
static void start_replay(struct live_stream *s)
{
    struct st_feed_replay *q = ARENA_NEW(&s->arena, struct st_feed_replay);
    q->base.op = ST_FEED_REPLAY;
    q->base.done = on_replayed;
    q->base.arg = s;
    q->base.arena = &s->arena;
    q->mid = s->mid;
    q->wid = s->wid;
    q->after_seq = s->after_seq;
    q->limit = s->hub->limits.replay_max;
    store_submit(s->hub->store, &q->base);
}

/* A live stream reads what it has not seen; one already replaying reads
 * again after, since its replay may have started before the change. */
static void catch_up(struct live_stream *s)
{
    if (!s->http)
        return;
    if (s->replaying) {
        s->again = true;
        return;
    }
    s->replaying = true;
    s->after_seq = s->last_seq;
    metrics_live(s->hub->metrics, LIVE_CATCH_UP);
    start_replay(s);
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct live_hub *h = arg;
    int started = 0;
    for (struct live_stream *s = h->all, *next; s; s = next) {
        next = s->all_next;
        if (!s->stale)
            continue;
        if (started == PACE_BATCH) {
            struct timeval tv = {0, PACE_MS * 1000};
            evtimer_add(h->pace, &tv);
            return;
        }
        s->stale = false;
        catch_up(s);
        started++;
    }
}

void live_remote_change(void *hub, int64_t mid, int64_t seq)
{
    struct live_hub *h = hub;
    if (mid == 0) {
        /* Anything may have changed (the notices were lost for a while):
         * every stream reads its log, a batch per pass, so thousands of
         * streams neither flood the store's queue nor starve the API. */
        for (struct live_stream *s = h->all; s; s = s->all_next)
            s->stale = true;
        event_active(h->pace, EV_TIMEOUT, 0);
        return;
    }
    struct member_streams *m = find(h, mid);
    for (struct live_stream *s = m ? m->head : NULL, *next; s; s = next) {
        next = s->next;
        if (seq == 0 || seq > s->last_seq)
            catch_up(s);
    }
}

void live_remote_popup(void *hub, int64_t mid, const char *json)
{
    live_popup(hub, mid, json);
}

enum live_admit live_admit(const struct live_hub *h, int64_t mid)
{
    if (h->nstreams >= h->limits.max_streams)
        return LIVE_FULL;
    struct member_streams *m = find(h, mid);
    if (m && m->n >= h->limits.max_per_member)
        return LIVE_MEMBER_FULL;
    return LIVE_OK;
}

void live_open(struct live_hub *h, struct http_request *req, int64_t wid, int64_t mid,
               int64_t after_seq)
{
    struct live_stream *s = xcalloc(1, sizeof *s);
    s->hub = h;
    s->mid = mid;
    s->wid = wid;
    s->after_seq = after_seq;
    s->http = http_stream_open(req, "text/event-stream; charset=utf-8", h->limits.max_queue,
                               on_http_closed, s);
    if (!s->http) {
        free(s);
        return;
    }
    /* attach first: what commits from now on is held until the replay */
    struct member_streams *m = find_or_add(h, mid);
    s->owner = m;
    s->next = m->head;
    if (m->head)
        m->head->prev = s;
    m->head = s;
    m->n++;
    s->all_next = h->all;
    if (h->all)
        h->all->all_prev = s;
    h->all = s;
    h->nstreams++;
    s->replaying = true;
    http_stream_write(s->http, "retry: 3000\n\n", 13);

    start_replay(s);
}

int live_streams(const struct live_hub *h)
{
    return h->nstreams;
}

struct live_hub *live_new(struct event_base *base, struct store *store, struct metrics *m,
                          const struct live_limits *limits)
{
    struct live_hub *h = xcalloc(1, sizeof *h);
    h->base = base;
    h->store = store;
    h->metrics = m;
    h->limits = *limits;
    h->nbuckets = 1024;
    h->buckets = xcalloc(h->nbuckets, sizeof *h->buckets);
    h->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, h);
    h->pace = evtimer_new(base, on_pace, h);
    struct timeval tv = {limits->heartbeat_s, 0};
    event_add(h->heartbeat, &tv);
    return h;
}

void live_free(struct live_hub *h)
{
    if (!h)
        return;
    event_free(h->heartbeat);
    event_free(h->pace);
    /* Streams still open belong to connections the HTTP server frees; their
     * close callbacks must not find the hub: detach them now. */
    while (h->all) {
        struct live_stream *s = h->all;
        detach(s);
        s->http = NULL;
    }
    free(h->buckets);
    buf_free(&h->frame);
    free(h);
}
