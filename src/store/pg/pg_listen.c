/* pg_listen.c - what other nodes change, received on the loop.
 *
 * One connection per node LISTENs on the channel every feed-changing
 * transaction NOTIFYs (pg_conn.c, send_notices). It is non-blocking and
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

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg_listener *l = arg;
    if (!PQconsumeInput(l->db)) {
        hlog_warn("store: lost the PostgreSQL notice connection: %s", PQerrorMessage(l->db));
        drop(l);
        l->lost = true;
        schedule_retry(l);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(l->db))) {
        deliver(l, n->extra);
        PQfreemem(n);
    }
}

static int connect_listen(struct pg_listener *l)
{
    l->db = PQconnectdb(l->dsn);
    if (PQstatus(l->db) != CONNECTION_OK) {
        hlog_warn("store: cannot connect the notice connection: %s", PQerrorMessage(l->db));
        drop(l);
        return -1;
    }
    PGresult *res = PQexec(l->db, "LISTEN " PG_NOTIFY_CHANNEL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || PQsetnonblocking(l->db, 1) != 0) {
        hlog_warn("store: LISTEN failed: %s", PQerrorMessage(l->db));
        drop(l);
        return -1;
    }
    l->readable = event_new(l->base, PQsocket(l->db), EV_READ | EV_PERSIST, on_readable, l);
    event_add(l->readable, NULL);
    if (l->lost) { /* what was missed while disconnected */
        l->lost = false;
        l->remote.change(l->remote.arg, 0, 0);
    }
    return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg_listener *l = arg;
    if (connect_listen(l) != 0)
        schedule_retry(l);
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
