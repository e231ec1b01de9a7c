/* upkeep.c - timers for message windows and retention (see upkeep.h).
 *
 * One request of each kind is in flight at most: a batch of windows to
 * close, or a batch to prune. A full batch asks for another at once, so a
 * backlog (after a restart, say) drains one commit at a time without ever
 * holding the writer for long. */
#include "upkeep/upkeep.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "live/live.h"
#include "store/store.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>

#define CLOSE_BATCH 256
#define PRUNE_BATCH 500
/* Windows are looked at this often even when none is known to be open:
 * with several nodes, another node may have opened one and died. */
#define WINDOW_POLL_MS (30 * 1000)

struct waiter {
    struct waiter *next;
    void (*done)(void *arg, int rc);
    void *arg;
};

struct upkeep {
    struct event_base *base;
    struct store *store;
    struct hclock *clock;
    struct live_hub *hub;
    struct deliverer *deliverer;
    struct event *window_ev, *prune_ev;
    int64_t armed_at;    /* the window timer's target (ms); 0: not armed */
    bool closing, close_again, pruning, stopped;
    /* upkeep_run_now: its phases, and who waits for them */
    int run_phase;       /* 0 idle, 1 closing windows, 2 pruning, 3 delivering */
    int run_rc;
    struct waiter *waiters;
};

static void close_due(struct upkeep *u);

/* Frees a request made with its own arena; the request lives in that arena,
 * so nothing of it may be read afterwards. */
static void release(struct store_req *r)
{
    struct arena *a = r->arena;
    arena_reset(a);
    free(a);
}
static void prune(struct upkeep *u);
static void run_step(struct upkeep *u);

/* ---- windows ---- */

static void arm(struct upkeep *u, int64_t at)
{
    if (u->clock->test || u->stopped) {
        u->armed_at = at;
        return; /* the test clock only moves through upkeep_run_now */
    }
    int64_t now = hclock_now_ms(u->clock);
    if (at > now + WINDOW_POLL_MS)
        at = now + WINDOW_POLL_MS;
    u->armed_at = at;
    int64_t delay = at - now;
    if (delay < 0)
        delay = 0;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000 * 1000)};
    event_add(u->window_ev, &tv);
}

static void on_window_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upkeep *u = arg;
    u->armed_at = 0;
    close_due(u);
}

static void on_closed(struct store_req *r)
{
    struct st_windows_close *q = (struct st_windows_close *)r;
    struct upkeep *u = r->arg;
    u->closing = false;
    if (r->rc == STORE_OK) {
        live_publish(u->hub, q->updates, q->n);
        if (q->deliveries)
            deliverer_kick(u->deliverer);
        if (q->closed)
            hlog_debug("upkeep: closed %zu message windows", q->closed);
    }
    bool more = r->rc == STORE_OK && q->more;
    int64_t next = r->rc == STORE_OK ? q->next_due : 0;
    if (u->run_phase == 1 && r->rc != STORE_OK)
        u->run_rc = r->rc;
    release(r);
    if (more || u->close_again) {
        u->close_again = false;
        close_due(u);
        return;
    }
    if (!next && !u->clock->test)
        next = hclock_now_ms(u->clock) + WINDOW_POLL_MS;
    if (next && (!u->armed_at || next < u->armed_at))
        arm(u, next);
    if (u->run_phase == 1) {
        u->run_phase = 2;
        run_step(u);
    }
}

static void close_due(struct upkeep *u)
{
    if (u->stopped)
        return;
    if (u->closing) {
        u->close_again = true;
        return;
    }
    u->closing = true;
    struct arena *a = xcalloc(1, sizeof *a);
    struct st_windows_close *q = ARENA_NEW(a, struct st_windows_close);
    q->base.op = ST_WINDOWS_CLOSE;
    q->base.done = on_closed;
    q->base.arg = u;
    q->base.arena = a;
    q->now = hclock_now_ms(u->clock);
    q->max = CLOSE_BATCH;
    store_submit(u->store, &q->base);
}

void upkeep_window_opened(struct upkeep *u, int64_t closes_at)
{
    if (closes_at && (!u->armed_at || closes_at < u->armed_at))
        arm(u, closes_at);
}

static void on_next(struct store_req *r)
{
    struct st_windows_next *q = (struct st_windows_next *)r;
    struct upkeep *u = r->arg;
    if (r->rc == STORE_OK && q->next_due)
        upkeep_window_opened(u, q->next_due); /* due already: fires at once */
    else if (!u->clock->test)
        upkeep_window_opened(u, hclock_now_ms(u->clock) + WINDOW_POLL_MS);
    release(r);
}

/* ---- retention ---- */

static void on_pruned(struct store_req *r)
{
    struct st_prune *q = (struct st_prune *)r;
    struct upkeep *u = r->arg;
    u->pruning = false;
    bool more = r->rc == STORE_OK && (q->events_deleted == q->max_events ||
                                      q->devices_deleted == q->max_events ||
                                      q->audit_deleted == q->max_events);
    if (r->rc == STORE_OK) {
        live_publish(u->hub, q->updates, q->n);
        if (q->events_deleted)
            hlog_info("retention: removed %lld events and %lld notifications",
                      (long long)q->events_deleted, (long long)q->notifications_deleted);
        if (q->devices_deleted)
            hlog_info("retention: removed %lld devices unused for 270 days",
                      (long long)q->devices_deleted);
        if (q->audit_deleted)
            hlog_info("retention: removed %lld audit entries", (long long)q->audit_deleted);
    } else if (u->run_phase == 2) {
        u->run_rc = r->rc;
    }
    release(r);
    if (more) { /* a full batch: more is due */
        prune(u);
        return;
    }
    if (u->run_phase == 2) {
        u->run_phase = 3;
        run_step(u);
    }
}

static void prune(struct upkeep *u)
{
    if (u->stopped || u->pruning)
        return;
    u->pruning = true;
    struct arena *a = xcalloc(1, sizeof *a);
    struct st_prune *q = ARENA_NEW(a, struct st_prune);
    q->base.op = ST_PRUNE;
    q->base.done = on_pruned;
    q->base.arg = u;
    q->base.arena = a;
    q->now = hclock_now_ms(u->clock);
    q->max_events = PRUNE_BATCH;
    store_submit(u->store, &q->base);
}

static void on_prune_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    prune(arg);
}

/* ---- everything due, now ---- */

static void on_delivered(void *arg, int rc)
{
    struct upkeep *u = arg;
    if (rc != STORE_OK)
        u->run_rc = rc;
    u->run_phase = 0;
    run_step(u);
}

static void run_step(struct upkeep *u)
{
    switch (u->run_phase) {
    case 1:
        close_due(u); /* on_closed moves to phase 2 */
        return;
    case 2:
        if (u->pruning) /* a timer's prune is in flight: it moves us on */
            return;
        prune(u);     /* on_pruned moves to phase 3 */
        return;
    case 3:
        if (!u->deliverer) {
            u->run_phase = 0;
            run_step(u);
            return;
        }
        deliverer_run_due(u->deliverer, on_delivered, u); /* moves to phase 0 */
        return;
    default: {
        struct waiter *w = u->waiters;
        u->waiters = NULL;
        int rc = u->run_rc;
        while (w) {
            struct waiter *next = w->next;
            w->done(w->arg, rc);
            free(w);
            w = next;
        }
    }
    }
}

void upkeep_run_now(struct upkeep *u, void (*done)(void *arg, int rc), void *arg)
{
    if (u->stopped) {
        done(arg, STORE_UNAVAILABLE);
        return;
    }
    struct waiter *w = xcalloc(1, sizeof *w);
    w->done = done;
    w->arg = arg;
    w->next = u->waiters;
    u->waiters = w;
    if (u->run_phase != 0)
        return; /* joins the run in progress */
    u->run_rc = STORE_OK;
    u->run_phase = 1;
    u->armed_at = 0;
    if (u->closing) {
        u->close_again = true; /* on_closed goes round again, then phase 2 */
        return;
    }
    run_step(u);
}

/* ---- life ---- */

struct upkeep *upkeep_new(struct event_base *base, struct store *store, struct hclock *clock,
                          struct live_hub *hub, struct deliverer *deliverer,
                          int prune_interval_s)
{
    struct upkeep *u = xcalloc(1, sizeof *u);
    u->deliverer = deliverer;
    u->base = base;
    u->store = store;
    u->clock = clock;
    u->hub = hub;
    u->window_ev = evtimer_new(base, on_window_timer, u);
    u->prune_ev = event_new(base, -1, EV_PERSIST, on_prune_timer, u);
    struct timeval every = {prune_interval_s, 0};
    if (!clock->test)
        event_add(u->prune_ev, &every);
    return u;
}

void upkeep_start(struct upkeep *u)
{
    struct arena *a = xcalloc(1, sizeof *a);
    struct st_windows_next *q = ARENA_NEW(a, struct st_windows_next);
    q->base.op = ST_WINDOWS_NEXT;
    q->base.done = on_next;
    q->base.arg = u;
    q->base.arena = a;
    store_submit(u->store, &q->base);
}

void upkeep_stop(struct upkeep *u)
{
    u->stopped = true;
    event_del(u->window_ev);
    event_del(u->prune_ev);
}

void upkeep_free(struct upkeep *u)
{
    if (!u)
        return;
    event_free(u->window_ev);
    event_free(u->prune_ev);
    struct waiter *w = u->waiters;
    while (w) {
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
    free(u);
}
