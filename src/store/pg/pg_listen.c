/* pg_listen.c - what other nodes change, received on the loop.
 *
 * One connection per node LISTENs on the channel every feed-changing
 * transaction NOTIFYs (pg_conn.c, commit). It is non-blocking and
 * read from the event loop: PostgreSQL delivers a notice only after its
 * transaction commits, in commit order. Each "mid:seq" of another node
 * goes to the store's remote callback, which the hub turns into a
 * catch-up read of that member's log; each "p<id>" names a message pop-up
 * in live_popups, read through the pool and handed to the remote
 * callback for each recipient. If the connection drops, notices are
 * lost meanwhile: after reconnecting, the callback is told "everything may
 * have changed" (mid 0), and every open stream catches up. */
#include "store/pg/pg_int.h"
#include "core/log.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_S 1

struct pg_listener {
    struct pg_store *store;
    struct event_base *base;
    const char *dsn;
    uint64_t node;
    struct store_remote remote;
    PGconn *db;
    struct event *readable, *retry;
    bool lost; /* a connection was lost: catch everything up on the next one */
};

static void schedule_retry(struct pg_listener *l);
static void on_retry(evutil_socket_t fd, short what, void *arg);

static void drop(struct pg_listener *l)
{
    if (l->readable) {
        event_free(l->readable);
        l->readable = NULL;
    }
    if (l->db) {
        PQfinish(l->db);
        l->db = NULL;
    }
}

static void on_popup(struct store_req *r)
{
    struct st_popup_get *q = (struct st_popup_get *)r;
    struct pg_listener *l = r->arg;
    if (r->rc == STORE_OK && l->remote.popup)
        for (size_t i = 0; i < q->n; i++)
            l->remote.popup(l->remote.arg, q->mids[i], q->json);
    struct arena *a = r->arena;
    arena_reset(a);
    free(a);
}

static void fetch_popup(struct pg_listener *l, int64_t id)
{
    struct arena *a = xcalloc(1, sizeof *a);
    struct st_popup_get *q = ARENA_NEW(a, struct st_popup_get);
    q->base.op = ST_POPUP_GET;
    q->base.done = on_popup;
    q->base.arg = l;
    q->base.arena = a;
    q->id = id;
    store_submit(&l->store->base, &q->base);
}

/* "<node hex> mid:seq p<popup id> ..." */
static void deliver(struct pg_listener *l, const char *payload)
{
    char *end;
    uint64_t node = strtoull(payload, &end, 16);
    /* This node published its own changes when they committed. (One whose
     * commit failed to confirm was not; the member's next change shows the
     * gap, and the stream reads it then.) */
    if (end == payload || node == l->node)
        return;
    for (const char *p = end; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p == 'p') {
            int64_t id = strtoll(p + 1, &end, 10);
            if (end == p + 1)
                break;
            p = end;
            fetch_popup(l, id);
            continue;
        }
        int64_t mid = strtoll(p, &end, 10);
        if (end == p || *end != ':')
            break;
        p = end + 1;
        int64_t seq = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
        if (mid > 0)
            l->remote.change(l->remote.arg, mid, seq);
    }
}

static void lost(struct pg_listener *l, const char *what)
{
    hlog_warn("store: %s the PostgreSQL notice connection: %s", what,
              l->db ? PQerrorMessage(l->db) : "out of memory");
    drop(l);
    l->lost = true;
    schedule_retry(l);
}

/* Reads what arrived: LISTEN's answer once, then notices. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg_listener *l = arg;
    if (!PQconsumeInput(l->db)) {
        lost(l, "lost");
        return;
    }
    while (!PQisBusy(l->db)) {
        PGresult *res = PQgetResult(l->db);
        if (!res)
            break;
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            lost(l, "LISTEN failed on");
            return;
        }
    }
    PGnotify *n;
    while ((n = PQnotifies(l->db))) {
        deliver(l, n->extra);
        PQfreemem(n);
    }
}

static void watch(struct pg_listener *l, short what, event_callback_fn fn)
{
    if (l->readable)
        event_free(l->readable);
    l->readable = event_new(l->base, PQsocket(l->db), what, fn, l);
    event_add(l->readable, NULL);
}

/* Connected: LISTEN, then catch every stream up if notices were lost. */
static void listen_now(struct pg_listener *l)
{
    if (PQsetnonblocking(l->db, 1) != 0 || !PQsendQuery(l->db, "LISTEN " PG_NOTIFY_CHANNEL) ||
        PQflush(l->db) != 0) {
        lost(l, "cannot LISTEN on");
        return;
    }
    watch(l, EV_READ | EV_PERSIST, on_readable);
    if (l->lost) {
        /* LISTEN is sent ahead of anything read from now on: a change
         * committed after this catch-up reads will still be noticed */
        l->lost = false;
        l->remote.change(l->remote.arg, 0, 0);
    }
}

/* A reconnect, driven by the loop so an unreachable database never
 * blocks it (PQconnectPoll). */
static void on_connecting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg_listener *l = arg;
    switch (PQconnectPoll(l->db)) {
    case PGRES_POLLING_READING:
        watch(l, EV_READ, on_connecting);
        break;
    case PGRES_POLLING_WRITING:
        watch(l, EV_WRITE, on_connecting);
        break;
    case PGRES_POLLING_OK:
        listen_now(l);
        break;
    default:
        lost(l, "cannot connect");
        break;
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg_listener *l = arg;
    l->db = pg_connect(l->dsn, true);
    if (!l->db || PQstatus(l->db) == CONNECTION_BAD) {
        lost(l, "cannot connect");
        return;
    }
    on_connecting(-1, 0, l);
}

/* The first connection, at start-up: blocking, so a bad DSN stops the start. */
static int connect_listen(struct pg_listener *l)
{
    l->db = pg_connect(l->dsn, false);
    if (PQstatus(l->db) != CONNECTION_OK) {
        hlog_error("store: cannot connect the notice connection: %s", PQerrorMessage(l->db));
        drop(l);
        return -1;
    }
    listen_now(l);
    return l->db ? 0 : -1;
}

static void schedule_retry(struct pg_listener *l)
{
    struct timeval tv = {RECONNECT_S, 0};
    evtimer_add(l->retry, &tv);
}

struct pg_listener *pg_listener_start(struct pg_store *s, const struct store_remote *remote)
{
    struct pg_listener *l = xcalloc(1, sizeof *l);
    l->store = s;
    l->base = s->opt.base;
    l->dsn = s->opt.dsn;
    l->node = s->node;
    l->remote = *remote;
    l->retry = evtimer_new(l->base, on_retry, l);
    if (connect_listen(l) != 0) {
        pg_listener_stop(l);
        return NULL;
    }
    return l;
}

void pg_listener_stop(struct pg_listener *l)
{
    if (!l)
        return;
    drop(l);
    event_free(l->retry);
    free(l);
}
