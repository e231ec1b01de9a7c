/* curlev.c - libcurl multi on libevent (see curlev.h).
 *
 * libcurl says which sockets to watch (socket callback) and when to wake
 * it (timer callback); we turn those into libevent events and hand the
 * readiness back with curl_multi_socket_action. Finished transfers are
 * collected after every action. */
#include "deliver/curlev.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/mem.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct transfer {
    struct transfer *prev, *next;
    CURL *easy;
    curlev_done_fn done;
    void *arg;
};

struct curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct transfer *transfers; /* running, for curlev_free */
    int running;
    long max_running;
    struct transfer *wait_head, *wait_tail; /* not started yet, oldest first */
    int waiting;
};

static void start(struct curlev *cv, struct transfer *t);

static char *curl_mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mem_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* libcurl allocates through core/mem, so a failure spends the reserve
 * first; one that still fails ends that transfer, not the process. */
int curlev_global_init(void)
{
    return curl_global_init_mem(CURL_GLOBAL_DEFAULT, mem_malloc, free, mem_realloc,
                                curl_mem_strdup, mem_calloc) == CURLE_OK ? 0 : -1;
}

static void unlink_transfer(struct curlev *cv, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        cv->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void finish(struct curlev *cv, struct transfer *t, CURLcode rc)
{
    curl_multi_remove_handle(cv->multi, t->easy);
    unlink_transfer(cv, t);
    cv->running--;
    curlev_done_fn done = t->done;
    void *arg = t->arg;
    CURL *easy = t->easy;
    free(t);
    /* The freed slot goes to the oldest waiting transfer. */
    if (cv->wait_head && cv->running < cv->max_running && rc != CURLE_ABORTED_BY_CALLBACK) {
        struct transfer *next = cv->wait_head;
        cv->wait_head = next->next;
        if (!cv->wait_head)
            cv->wait_tail = NULL;
        cv->waiting--;
        start(cv, next);
    }
    done(easy, rc, arg);
}

static void collect(struct curlev *cv)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cv->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(cv, t, msg->data.result);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *cv = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int still;
    curl_multi_socket_action(cv->multi, fd, flags, &still);
    collect(cv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct curlev *cv = arg;
    int still;
    curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    collect(cv);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl wants. socketp holds
 * the socket's event once made. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct curlev *cv = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(cv->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (ev) {
        event_del(ev);
        event_assign(ev, cv->base, s, kind, on_socket_event, cv);
    } else {
        ev = event_new(cv->base, s, kind, on_socket_event, cv);
        curl_multi_assign(cv->multi, s, ev);
    }
    event_add(ev, NULL);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer per multi handle; -1 removes it. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct curlev *cv = userp;
    if (timeout_ms < 0) {
        evtimer_del(cv->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(cv->timer, &tv);
    return 0;
}

struct curlev *curlev_new(struct event_base *base, long max_connections, long max_running)
{
    struct curlev *cv = xcalloc(1, sizeof *cv);
    cv->base = base;
    cv->multi = curl_multi_init();
    if (!cv->multi)
        abort(); /* out of memory, as everywhere */
    cv->timer = evtimer_new(base, on_timer, cv);
    cv->max_running = max_running > 0 ? max_running : 1;
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
    curl_multi_setopt(cv->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
    curl_multi_setopt(cv->multi, CURLMOPT_MAXCONNECTS, max_connections);
    curl_multi_setopt(cv->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return cv;
}

static void start(struct curlev *cv, struct transfer *t)
{
    t->next = t->prev = NULL;
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    CURLMcode mc = curl_multi_add_handle(cv->multi, t->easy);
    if (mc != CURLM_OK) {
        hlog_error("deliver: libcurl refused a transfer: %s", curl_multi_strerror(mc));
        curlev_done_fn done = t->done;
        void *arg = t->arg;
        CURL *easy = t->easy;
        free(t);
        done(easy, CURLE_FAILED_INIT, arg);
        return;
    }
    t->next = cv->transfers;
    if (t->next)
        t->next->prev = t;
    cv->transfers = t;
    cv->running++;
}

void curlev_limit_per_host(struct curlev *cv, long connections)
{
    curl_multi_setopt(cv->multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
}

void curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn done, void *arg)
{
    struct transfer *t = xcalloc(1, sizeof *t);
    t->easy = easy;
    t->done = done;
    t->arg = arg;
    if (cv->running < cv->max_running) {
        start(cv, t);
        return;
    }
    if (cv->wait_tail)
        cv->wait_tail->next = t;
    else
        cv->wait_head = t;
    cv->wait_tail = t;
    cv->waiting++;
}

int curlev_running(const struct curlev *cv)
{
    return cv->running + cv->waiting;
}

void curlev_free(struct curlev *cv)
{
    if (!cv)
        return;
    while (cv->transfers)
        finish(cv, cv->transfers, CURLE_ABORTED_BY_CALLBACK);
    while (cv->wait_head) {
        struct transfer *t = cv->wait_head;
        cv->wait_head = t->next;
        t->done(t->easy, CURLE_ABORTED_BY_CALLBACK, t->arg);
        free(t);
    }
    curl_multi_cleanup(cv->multi); /* closes cached connections; may call socket_cb */
    event_free(cv->timer);
    free(cv);
}
