/* api.h - Herald's HTTP API (API.md): routes, authentication, handlers.
 *
 * The api turns HTTP requests into store requests and store answers into
 * JSON. It holds no state of its own besides its configuration and
 * pointers to the shared services. */
#ifndef HERALD_API_API_H
#define HERALD_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "http/http.h"

struct store;
struct hclock;
struct metrics;
struct live_hub;
struct upkeep;
struct deliverer;
struct ratelimit;

struct api_config {
    bool test_clock;          /* exposes /v1/test/clock */
    const char *metrics_token; /* NULL: /metrics is open */
    int json_max_depth;
    int default_token_ttl_s;
    bool allow_insecure_push; /* http:// Web Push endpoints (tests) */
    bool demo;                /* serves the demo page and its session */
};

struct api {
    struct api_config cfg;
    struct store *store;
    struct hclock *clock;
    struct metrics *metrics;
    struct http_server *http;
    struct live_hub *hub;
    struct upkeep *upkeep;
    struct deliverer *deliverer;
    struct ratelimit *limiter; /* requests per credential; NULL: no limits */
    const char *vapid_public; /* the Web Push key browsers subscribe with */
    const char *demo_api_key; /* --demo: the demo workspace's key, for the demo page */
    uint8_t admin_key_hash[SHA256_LEN];
    bool ready;
};

void api_config_default(struct api_config *cfg);
/* The http_handler_fn: arg is the struct api. */
void api_handle(struct http_request *req, void *arg);
/* The http_observer_fn: metrics and the access log. */
void api_observe(struct http_request *req, int status, void *arg);

#endif
