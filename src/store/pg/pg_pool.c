/* pg_pool.c - the PostgreSQL backend's workers.
 *
 * Each worker thread owns one connection and takes requests from one
 * queue, running each in its own transaction (pg_run), then hands it back
 * to the loop through an eventfd, where its done callback runs. Several
 * transactions in flight let PostgreSQL flush their commits together, so
 * throughput grows with load the way the SQLite writer's group commit
 * does, and a slow query holds up one worker, not the loop. */
#include "store/pg/pg_int.h"
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

/* Requests waiting beyond this are refused at once (503 with Retry-After),
 * as the SQLite writer does. */
#define MAX_QUEUED 4096
#define MAX_WORKERS 64

struct store_waiter {
    bool done; /* guarded by the pool's mutex */
};

struct pg_pool {
    struct pg_store *store;
    int nworkers;  /* connections opened */
    int nstarted;  /* threads running */
    pthread_t threads[MAX_WORKERS];
    struct pg_conn conns[MAX_WORKERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work queued, or stop */
    pthread_cond_t done_cv; /* a store_call's request finished */
    struct store_req *queue, *queue_tail;
    struct store_req *done, *done_tail;
    size_t queued;
    bool stop;
    int efd;
    struct event *ev;
};

struct worker_arg {
    struct pg_pool *pool;
    int index;
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

/* Loop thread: answer what the workers finished. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct pg_pool *p = arg;
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        hlog_warn("store: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&p->mu);
    struct store_req *r = p->done;
    p->done = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (r) {
        struct store_req *next = r->next;
        r->done(r);
        r = next;
    }
}

static void *worker_main(void *arg)
{
    struct worker_arg *wa = arg;
    struct pg_pool *p = wa->pool;
    struct pg_conn *c = &p->conns[wa->index];
    free(wa);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->queue && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->queue)
            break; /* stopping, and nothing is left */
        struct store_req *r = p->queue;
        p->queue = r->next;
        if (!p->queue)
            p->queue_tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);

        uint64_t t0 = hclock_mono_ns();
        r->rc = pg_run(c, &PG_OPS[r->op], r);
        if (r->rc == STORE_UNAVAILABLE)
            metrics_store_error(p->store->metrics);
        else if (PG_OPS[r->op].write)
            metrics_commit(p->store->metrics, (double)(hclock_mono_ns() - t0) / 1e9, 1);

        pthread_mutex_lock(&p->mu);
        if (r->waiter) {
            r->waiter->done = true;
            pthread_cond_broadcast(&p->done_cv);
        } else {
            bool wake = !p->done;
            append(&p->done, &p->done_tail, r);
            uint64_t one = 1;
            if (wake && write(p->efd, &one, sizeof one) < 0)
                hlog_warn("store: eventfd write: %s", strerror(errno));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_free(struct pg_pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        pg_conn_close(&p->conns[i]);
    if (p->ev)
        event_free(p->ev);
    if (p->efd >= 0)
        close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

struct pg_pool *pg_pool_start(struct pg_store *s, int workers)
{
    struct pg_pool *p = xcalloc(1, sizeof *p);
    p->store = s;
    p->efd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    for (int i = 0; i < workers; i++) {
        if (pg_conn_open(&p->conns[i], s->opt.dsn, s->node) != 0) {
            pool_free(p);
            return NULL;
        }
        p->nworkers = i + 1;
    }
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        hlog_error("store: eventfd: %s", strerror(errno));
        pool_free(p);
        return NULL;
    }
    p->ev = event_new(s->opt.base, p->efd, EV_READ | EV_PERSIST, on_wake, p);
    event_add(p->ev, NULL);
    int started = 0;
    for (; started < workers; started++) {
        struct worker_arg *wa = xcalloc(1, sizeof *wa);
        wa->pool = p;
        wa->index = started;
        if (pthread_create(&p->threads[started], NULL, worker_main, wa) != 0) {
            free(wa);
            break;
        }
    }
    if (started < workers) {
        hlog_error("store: cannot start the PostgreSQL workers");
        p->nstarted = started; /* join only those */
        pg_pool_stop(p);
        return NULL;
    }
    p->nstarted = started;
    return p;
}

void pg_pool_submit(struct pg_pool *p, struct store_req *r)
{
    r->queued_ns = hclock_mono_ns();
    pthread_mutex_lock(&p->mu);
    bool full = p->queued >= MAX_QUEUED;
    if (!full) {
        append(&p->queue, &p->queue_tail, r);
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (full) { /* on the loop thread: answer now */
        r->rc = STORE_UNAVAILABLE;
        r->done(r);
    }
}

int pg_pool_call(struct pg_pool *p, struct store_req *r)
{
    struct store_waiter waiter = {false};
    r->waiter = &waiter;
    r->queued_ns = hclock_mono_ns();
    pthread_mutex_lock(&p->mu);
    append(&p->queue, &p->queue_tail, r);
    p->queued++;
    pthread_cond_signal(&p->cv);
    while (!waiter.done)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    r->waiter = NULL;
    return r->rc;
}

void pg_pool_stop(struct pg_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nstarted; i++)
        pthread_join(p->threads[i], NULL);
    /* What finished after the loop stopped is answered now, so its owners
     * can free it; the clients are gone. */
    if (p->ev)
        on_wake(p->efd, EV_READ, p);
    pool_free(p);
}
