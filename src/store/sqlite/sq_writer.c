/* sq_writer.c - the writer thread: group commit for every write.
 *
 * Requests queue here from the loop. The thread takes everything waiting
 * (up to max_batch), runs them in one IMMEDIATE transaction, and commits
 * once; with synchronous=FULL that COMMIT is the fsync that makes the whole
 * batch durable. Only then are the requests
 * handed back to the loop (an eventfd wakes it), so every answer follows
 * durability, and the loop never waits on fsync. While one batch commits,
 * the next one gathers: the busier the server, the bigger the batches.
 *
 * A request that fails does not take the others with it: see run_batch. */
#include "store/sqlite/sq_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/metrics.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Writes waiting beyond this are refused at once (STORE_UNAVAILABLE, which
 * the API answers 503 with Retry-After): a queue that only grows would turn
 * overload into unbounded memory and ever-later answers. */
#define MAX_QUEUED 4096

struct store_waiter {
    bool done; /* guarded by the writer's mutex */
};

struct sq_writer {
    struct sq_store *store;
    size_t queued;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store_req *queue, *queue_tail;
    struct store_req *done, *done_tail;
    bool stop;
    int efd;
    struct event *ev;
};

static void append(struct store_req **head, struct store_req **tail, struct store_req *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

/* Loop thread: run the done callbacks of committed requests. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct sq_writer *w = arg;
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        hlog_warn("store: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&w->mu);
    struct store_req *r = w->done;
    w->done = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (r) {
        struct store_req *next = r->next;
        r->done(r);
        r = next;
    }
}

static const char BEGIN[] = "BEGIN IMMEDIATE";
static const char COMMIT[] = "COMMIT";

/* One request alone in its own transaction: the slow path after a failure. */
static void run_alone(struct sq_conn *c, struct store_req *r)
{
    r->rc = sq_run_alone(c, &SQ_OPS[r->op], r);
}

/* Runs a batch in one transaction. Requests that answer NOT_FOUND or
 * CONFLICT have written nothing (a rule of every sq_* operation), so no
 * savepoint is needed for them; a savepoint per request would make SQLite
 * copy every page it touches into a sub-journal. If a request fails
 * (STORE_UNAVAILABLE) or the COMMIT does, everything is rolled back and
 * each request runs again in its own transaction, so one bad request
 * cannot fail the others.
 *
 * Unless the storage as a whole is failing (sq_storage_failing: the
 * database locked by another process past the busy timeout, the disk
 * full, an I/O error): then each request alone would meet the same error,
 * and a lock would make each one wait out the busy timeout again, so a
 * batch of n would answer after n + 1 timeouts. Every request in the batch
 * answers STORE_UNAVAILABLE (503 with Retry-After) at once instead; what
 * it wrote is rolled back, so a retry starts afresh. */
static void run_batch(struct sq_writer *w, struct store_req *batch, size_t n)
{
    struct sq_conn *c = &w->store->writer;
    uint64_t t0 = hclock_mono_ns();
    c->failed = 0;
    bool ok = sq_step_sql(c, BEGIN) == 0;
    for (struct store_req *r = batch; r && ok; r = r->next) {
        if (r->op != ST_EVENT_INGEST) { /* it may change what ingest reads */
            ok = sq_cache_flush(c) == STORE_OK;
            sq_cache_clear(c);
            if (!ok)
                break;
        }
        r->rc = SQ_OPS[r->op].run(c, r);
        sq_reset_all(c);
        if (r->rc == STORE_UNAVAILABLE)
            ok = false;
    }
    if (ok && sq_cache_flush(c) != STORE_OK)
        ok = false;
    if (ok && sq_step_sql(c, COMMIT) != 0)
        ok = false;
    sq_cache_clear(c);
    if (ok) {
        metrics_commit(w->store->metrics, (double)(hclock_mono_ns() - t0) / 1e9, n);
        return;
    }
    sq_rollback(c);
    metrics_store_error(w->store->metrics);
    bool failing = sq_storage_failing(c->failed);
    for (struct store_req *r = batch; r; r = r->next) {
        if (failing) {
            r->rc = STORE_UNAVAILABLE; /* its answers came from the rolled-back batch */
            continue;
        }
        c->failed = 0;
        run_alone(c, r);
        failing = r->rc == STORE_UNAVAILABLE && sq_storage_failing(c->failed);
    }
}

static void *writer_main(void *arg)
{
    struct sq_writer *w = arg;
    size_t max_batch = (size_t)(w->store->opt.max_batch > 0 ? w->store->opt.max_batch : 512);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->queue && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->queue && w->stop)
            break;
        /* Take up to max_batch requests; the rest wait for the next commit. */
        struct store_req *batch = w->queue, *last = batch;
        size_t n = 1;
        while (last->next && n < max_batch) {
            last = last->next;
            n++;
        }
        w->queue = last->next;
        if (!w->queue)
            w->queue_tail = NULL;
        last->next = NULL;
        w->queued -= n;
        pthread_mutex_unlock(&w->mu);

        run_batch(w, batch, n);

        pthread_mutex_lock(&w->mu);
        for (struct store_req *r = batch; r;) {
            struct store_req *next = r->next;
            if (r->waiter) {
                r->waiter->done = true;
                pthread_cond_broadcast(&w->cv);
            } else {
                append(&w->done, &w->done_tail, r);
            }
            r = next;
        }
        uint64_t one = 1;
        if (write(w->efd, &one, sizeof one) < 0)
            hlog_warn("store: eventfd write: %s", strerror(errno));
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct sq_writer *sq_writer_start(struct sq_store *s)
{
    struct sq_writer *w = xcalloc(1, sizeof *w);
    w->store = s;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        hlog_error("store: eventfd: %s", strerror(errno));
        free(w);
        return NULL;
    }
    w->ev = event_new(s->opt.base, w->efd, EV_READ | EV_PERSIST, on_wake, w);
    event_add(w->ev, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        hlog_error("store: cannot start the writer thread");
        event_free(w->ev);
        close(w->efd);
        free(w);
        return NULL;
    }
    return w;
}

void sq_writer_submit(struct sq_writer *w, struct store_req *r)
{
    r->queued_ns = hclock_mono_ns();
    pthread_mutex_lock(&w->mu);
    bool full = w->queued >= MAX_QUEUED;
    if (!full) {
        append(&w->queue, &w->queue_tail, r);
        w->queued++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (full) { /* we are on the loop thread: answer now */
        r->rc = STORE_UNAVAILABLE;
        r->done(r);
    }
}

int sq_writer_call(struct sq_writer *w, struct store_req *r)
{
    struct store_waiter waiter = {false};
    r->waiter = &waiter;
    r->queued_ns = hclock_mono_ns();
    pthread_mutex_lock(&w->mu);
    append(&w->queue, &w->queue_tail, r);
    w->queued++;
    pthread_cond_broadcast(&w->cv);
    while (!waiter.done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    r->waiter = NULL;
    return r->rc;
}

void sq_writer_stop(struct sq_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    /* Requests committed after the loop stopped are answered now, so their
     * owners can free them; their clients are gone. */
    on_wake(w->efd, EV_READ, w);
    event_free(w->ev);
    close(w->efd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
