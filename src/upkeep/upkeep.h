/* upkeep.h - the work time itself asks for: closing message windows when
 * they are due, and retention pruning.
 *
 * On the real clock each has a libevent timer: the window timer is armed
 * for the earliest closing time the store knows of. On the test clock
 * nothing fires by itself; upkeep_run_now does everything due at the
 * clock's time (POST /v1/test/clock calls it before answering). Results
 * are published to the live streams. */
#ifndef HERALD_UPKEEP_UPKEEP_H
#define HERALD_UPKEEP_UPKEEP_H

#include <stdint.h>

struct event_base;
struct store;
struct hclock;
struct live_hub;
struct deliverer;
struct upkeep;

/* Closed windows' emails and SMS go to deliverer (may be NULL). */
struct upkeep *upkeep_new(struct event_base *base, struct store *store, struct hclock *clock,
                          struct live_hub *hub, struct deliverer *deliverer,
                          int prune_interval_s);
/* Asks the store for the next window to close (windows outlive restarts)
 * and starts the timers. */
void upkeep_start(struct upkeep *u);
/* An event opened a window closing at closes_at (ms). */
void upkeep_window_opened(struct upkeep *u, int64_t closes_at);
/* Closes every due window, prunes what is due, and sends every delivery
 * due (deliverer_run_due), then calls done. */
void upkeep_run_now(struct upkeep *u, void (*done)(void *arg, int rc), void *arg);
/* No new work from now on (shutdown); work in flight finishes. */
void upkeep_stop(struct upkeep *u);
void upkeep_free(struct upkeep *u);

#endif
