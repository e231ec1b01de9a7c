/* metrics.c - Prometheus counters and histograms (see metrics.h). */
#include "metrics/metrics.h"
#include "engine/model.h"
#include "core/arena.h"
#include "core/mem.h"
#include "engine/catalogue.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef _Atomic uint64_t counter;

/* Status codes get a slot each; anything else counts as "other". */
static const int STATUSES[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 408, 409,
                               413, 415, 429, 431, 500, 503};
#define NSTATUS (sizeof STATUSES / sizeof *STATUSES + 1)

static const double LATENCY_BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBOUNDS (sizeof LATENCY_BOUNDS / sizeof *LATENCY_BOUNDS)

struct histogram {
    counter buckets[NBOUNDS + 1]; /* last: +Inf */
    counter count;
    counter sum_us;
};

#define MAX_TYPES 64
#define MAX_BATCH_BUCKETS 8
static const unsigned BATCH_BOUNDS[MAX_BATCH_BUCKETS - 1] = {1, 4, 16, 64, 256, 1024, 4096};

struct metrics {
    counter requests[METRICS_MAX_ROUTES][NSTATUS];
    struct histogram request_seconds;
    counter events[MAX_TYPES];
    counter duplicates[MAX_TYPES];
    counter notifications;
    struct histogram commit_seconds;
    counter commit_jobs[MAX_BATCH_BUCKETS];
    counter commits;
    counter jobs;
    counter store_errors;
    counter live[LIVE_METRIC_COUNT];
    counter deliveries[CH_COUNT][DS_COUNT];
    counter rate_limited[METRICS_LIMITED_COUNT];
};

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

static void observe(struct histogram *h, double seconds)
{
    size_t i = 0;
    while (i < NBOUNDS && seconds > LATENCY_BOUNDS[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

void metrics_http(struct metrics *m, int route, int status, double seconds)
{
    if (!m)
        return;
    size_t slot = NSTATUS - 1;
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (STATUSES[i] == status)
            slot = i;
    if (route < 0 || route >= METRICS_MAX_ROUTES)
        route = 0;
    atomic_fetch_add_explicit(&m->requests[route][slot], 1, memory_order_relaxed);
    observe(&m->request_seconds, seconds);
}

void metrics_event(struct metrics *m, size_t type_index, bool duplicate)
{
    if (!m || type_index >= MAX_TYPES)
        return;
    atomic_fetch_add_explicit(duplicate ? &m->duplicates[type_index] : &m->events[type_index],
                              1, memory_order_relaxed);
}

void metrics_notifications(struct metrics *m, size_t n)
{
    if (m)
        atomic_fetch_add_explicit(&m->notifications, n, memory_order_relaxed);
}

void metrics_commit(struct metrics *m, double seconds, size_t jobs)
{
    if (!m)
        return;
    observe(&m->commit_seconds, seconds);
    size_t i = 0;
    while (i < MAX_BATCH_BUCKETS - 1 && jobs > BATCH_BOUNDS[i])
        i++;
    atomic_fetch_add_explicit(&m->commit_jobs[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->commits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->jobs, jobs, memory_order_relaxed);
}

void metrics_live(struct metrics *m, enum live_metric what)
{
    if (m)
        atomic_fetch_add_explicit(&m->live[what], 1, memory_order_relaxed);
}

void metrics_delivery(struct metrics *m, int channel, int status)
{
    if (m && channel >= 0 && channel < CH_COUNT && status >= 0 && status < DS_COUNT)
        atomic_fetch_add_explicit(&m->deliveries[channel][status], 1, memory_order_relaxed);
}

void metrics_rate_limited(struct metrics *m, enum metrics_limited who)
{
    if (m && who < METRICS_LIMITED_COUNT)
        atomic_fetch_add_explicit(&m->rate_limited[who], 1, memory_order_relaxed);
}

void metrics_store_error(struct metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->store_errors, 1, memory_order_relaxed);
}

static uint64_t get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void render_histogram(struct buf *out, const char *name, const char *help,
                             struct histogram *h)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i < NBOUNDS; i++) {
        cum += get(&h->buckets[i]);
        buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, LATENCY_BOUNDS[i],
                   (unsigned long long)cum);
    }
    cum += get(&h->buckets[NBOUNDS]);
    buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    buf_printf(out, "%s_sum %.6f\n%s_count %llu\n", name, (double)get(&h->sum_us) / 1e6,
               name, (unsigned long long)get(&h->count));
}

void metrics_render(struct metrics *m, struct buf *out, const struct metrics_route *routes,
                    size_t nroutes, int open_connections, int open_streams)
{
    buf_adds(out, "# HELP herald_http_requests_total HTTP requests answered, by route and status.\n"
                  "# TYPE herald_http_requests_total counter\n");
    for (size_t r = 0; r < nroutes && r < METRICS_MAX_ROUTES; r++)
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t v = get(&m->requests[r][s]);
            if (!v)
                continue;
            buf_printf(out, "herald_http_requests_total{method=\"%s\",route=\"%s\",status=\"",
                       routes[r].method, routes[r].path);
            if (s < NSTATUS - 1)
                buf_printf(out, "%d\"} %llu\n", STATUSES[s], (unsigned long long)v);
            else
                buf_printf(out, "other\"} %llu\n", (unsigned long long)v);
        }
    render_histogram(out, "herald_http_request_duration_seconds",
                     "Time from a complete request to its answer.", &m->request_seconds);

    buf_adds(out, "# HELP herald_events_total Events accepted, by type.\n"
                  "# TYPE herald_events_total counter\n");
    for (size_t i = 0; i < catalogue_count() && i < MAX_TYPES; i++)
        buf_printf(out, "herald_events_total{type=\"%s\"} %llu\n", catalogue_at(i)->name,
                   (unsigned long long)get(&m->events[i]));
    buf_adds(out, "# HELP herald_event_duplicates_total Events sent again with the same id and body.\n"
                  "# TYPE herald_event_duplicates_total counter\n");
    for (size_t i = 0; i < catalogue_count() && i < MAX_TYPES; i++)
        buf_printf(out, "herald_event_duplicates_total{type=\"%s\"} %llu\n",
                   catalogue_at(i)->name, (unsigned long long)get(&m->duplicates[i]));
    buf_printf(out, "# HELP herald_notifications_total Notifications made.\n"
                    "# TYPE herald_notifications_total counter\n"
                    "herald_notifications_total %llu\n",
               (unsigned long long)get(&m->notifications));

    render_histogram(out, "herald_commit_duration_seconds",
                     "Group commits: from BEGIN to durable COMMIT.", &m->commit_seconds);
    buf_adds(out, "# HELP herald_commit_jobs Jobs per group commit.\n"
                  "# TYPE herald_commit_jobs histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i < MAX_BATCH_BUCKETS; i++) {
        cum += get(&m->commit_jobs[i]);
        if (i < MAX_BATCH_BUCKETS - 1)
            buf_printf(out, "herald_commit_jobs_bucket{le=\"%u\"} %llu\n", BATCH_BOUNDS[i],
                       (unsigned long long)cum);
        else
            buf_printf(out, "herald_commit_jobs_bucket{le=\"+Inf\"} %llu\n",
                       (unsigned long long)cum);
    }
    buf_printf(out, "herald_commit_jobs_sum %llu\nherald_commit_jobs_count %llu\n",
               (unsigned long long)get(&m->jobs), (unsigned long long)get(&m->commits));
    buf_printf(out, "# HELP herald_store_errors_total Storage operations that failed.\n"
                    "# TYPE herald_store_errors_total counter\n"
                    "herald_store_errors_total %llu\n",
               (unsigned long long)get(&m->store_errors));
    buf_printf(out, "# HELP herald_rate_limited_total Requests refused with 429 by a rate limit, "
                    "by credential.\n"
                    "# TYPE herald_rate_limited_total counter\n"
                    "herald_rate_limited_total{credential=\"api_key\"} %llu\n"
                    "herald_rate_limited_total{credential=\"member\"} %llu\n",
               (unsigned long long)get(&m->rate_limited[METRICS_LIMITED_API_KEY]),
               (unsigned long long)get(&m->rate_limited[METRICS_LIMITED_MEMBER]));
    buf_printf(out, "# HELP herald_memory_low 1 while an allocation failure has spent the memory "
                    "reserve and new work is refused.\n"
                    "# TYPE herald_memory_low gauge\n"
                    "herald_memory_low %d\n"
                    "# HELP herald_memory_reserve_spent_total Allocation failures that spent the "
                    "memory reserve.\n"
                    "# TYPE herald_memory_reserve_spent_total counter\n"
                    "herald_memory_reserve_spent_total %llu\n",
               mem_reserve_out() ? 1 : 0, (unsigned long long)mem_reserve_spent());
    buf_printf(out, "# HELP herald_http_connections Open HTTP connections.\n"
                    "# TYPE herald_http_connections gauge\n"
                    "herald_http_connections %d\n", open_connections);
    static const char *const kinds[] = {"notification", "notification_state", "count",
                                        "message"};
    buf_adds(out, "# HELP herald_stream_events_total Events published to open streams, by event.\n"
                  "# TYPE herald_stream_events_total counter\n");
    for (int i = 0; i < LIVE_DROPPED; i++)
        buf_printf(out, "herald_stream_events_total{event=\"%s\"} %llu\n", kinds[i],
                   (unsigned long long)get(&m->live[i]));
    buf_printf(out, "# HELP herald_streams_dropped_total Streams dropped for reading too slowly.\n"
                    "# TYPE herald_streams_dropped_total counter\n"
                    "herald_streams_dropped_total %llu\n"
                    "# HELP herald_streams Open streams.\n# TYPE herald_streams gauge\n"
                    "herald_streams %d\n"
                    "# HELP herald_stream_catch_ups_total Reads of a member's log for changes "
                    "a stream was not handed directly (another node's, or out of order).\n"
                    "# TYPE herald_stream_catch_ups_total counter\n"
                    "herald_stream_catch_ups_total %llu\n",
               (unsigned long long)get(&m->live[LIVE_DROPPED]), open_streams,
               (unsigned long long)get(&m->live[LIVE_CATCH_UP]));
    buf_adds(out, "# HELP herald_delivery_attempts_total Delivery attempts, by channel and the "
                  "delivery's status after the attempt.\n"
                  "# TYPE herald_delivery_attempts_total counter\n");
    for (int ch = 0; ch < CH_COUNT; ch++)
        for (int st = 0; st < DS_COUNT; st++)
            if (get(&m->deliveries[ch][st]))
                buf_printf(out, "herald_delivery_attempts_total{channel=\"%s\",status=\"%s\"} "
                                "%llu\n", channel_name(ch), delivery_status_name(st),
                           (unsigned long long)get(&m->deliveries[ch][st]));
}
