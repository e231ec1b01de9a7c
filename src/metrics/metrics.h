/* metrics.h - counters and histograms exported at /metrics in Prometheus
 * text format. Updates are relaxed atomics, safe from any thread; one
 * struct metrics per server (tests make their own). */
#ifndef HERALD_METRICS_METRICS_H
#define HERALD_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define METRICS_MAX_ROUTES 64

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* route: index into the names given to metrics_render. */
void metrics_http(struct metrics *m, int route, int status, double seconds);
void metrics_event(struct metrics *m, size_t type_index, bool duplicate);
void metrics_notifications(struct metrics *m, size_t n);
void metrics_commit(struct metrics *m, double seconds, size_t jobs);
void metrics_store_error(struct metrics *m);

/* Live streams: events written to streams, streams dropped for reading
 * too slowly, and catch-up reads of a member's log (changes made by
 * another node, or announced out of order). */
enum live_metric { LIVE_NOTIFICATION, LIVE_STATE, LIVE_COUNT, LIVE_MESSAGE, LIVE_DROPPED,
                   LIVE_CATCH_UP, LIVE_METRIC_COUNT };
void metrics_live(struct metrics *m, enum live_metric what);

/* A delivery attempt's outcome: channel is an enum channel, status the
 * delivery's status after it (enum delivery_status). */
void metrics_delivery(struct metrics *m, int channel, int status);

/* A request refused by a rate limit (429), by the kind of credential. */
enum metrics_limited { METRICS_LIMITED_API_KEY, METRICS_LIMITED_MEMBER, METRICS_LIMITED_COUNT };
void metrics_rate_limited(struct metrics *m, enum metrics_limited who);

/* A route's labels: its method and its path pattern. */
struct metrics_route {
    const char *method, *path;
};

void metrics_render(struct metrics *m, struct buf *out, const struct metrics_route *routes,
                    size_t nroutes, int open_connections, int open_streams);

#endif
