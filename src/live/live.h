/* live.h - members' open streams (GET /v1/me/stream), fed with what
 * commits: new notifications, state changes, the unread count, and message
 * pop-ups, as Server-Sent Events.
 *
 * Event ids are the member's change positions from the store, so they
 * survive restarts and mean the same on every node. A stream that opens
 * with a position first replays what it missed, then goes live; what is
 * published meanwhile is held and deduplicated by position, so nothing
 * arrives twice or out of order. All of this runs on the loop thread. */
#ifndef HERALD_LIVE_LIVE_H
#define HERALD_LIVE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct event_base;
struct http_request;
struct metrics;

struct live_limits {
    int max_streams;     /* in this process; new ones get 503 past it */
    int max_per_member;  /* new ones get 429 past it */
    size_t max_queue;    /* bytes a slow reader may have pending before it is dropped */
    int heartbeat_s;
    int replay_max;      /* changes replayed at most; past it the client resets */
};

void live_limits_default(struct live_limits *l);

struct live_hub;

struct live_hub *live_new(struct event_base *base, struct store *store, struct metrics *m,
                          const struct live_limits *limits);
void live_free(struct live_hub *h);

enum live_admit { LIVE_OK, LIVE_MEMBER_FULL, LIVE_FULL };
enum live_admit live_admit(const struct live_hub *h, int64_t mid);

/* Answers req with the stream of member mid (consumes req): replays the
 * changes after after_seq (-1: none), sends the count, then live events. */
void live_open(struct live_hub *h, struct http_request *req, int64_t wid, int64_t mid,
               int64_t after_seq);

/* What committed: each update becomes its event plus a `count`. */
void live_publish(struct live_hub *h, const struct feed_update *u, size_t n);
/* A message pop-up (`message`, no id, never replayed). */
void live_popup(struct live_hub *h, int64_t mid, const char *json);

/* Another node changed member mid's feed up to seq (0: only its count;
 * mid 0: anyone's): its streams read what they have not seen. The
 * signature is store_remote's change callback; hub is the live_hub. */
void live_remote_change(void *hub, int64_t mid, int64_t seq);
/* Another node's message pop-up for member mid (store_remote's popup). */
void live_remote_popup(void *hub, int64_t mid, const char *json);

int live_streams(const struct live_hub *h);

#endif
