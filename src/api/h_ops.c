/* h_ops.c - liveness, readiness, metrics, and the test-only clock. */
#include "api/api_int.h"
#include "core/clock.h"
#include "core/mem.h"
#include "live/live.h"
#include "metrics/metrics.h"
#include "upkeep/upkeep.h"

/* Memory short for this long, the reserve is taken as lost for good (glibc
 * may keep what the finished work freed): liveness fails, so a supervisor
 * restarts Herald, which loses nothing acknowledged. */
#define MEMORY_STUCK_NS (60 * 1000000000ull)

void h_healthz(struct api_call *call)
{
    if (mem_low() && mem_low_ns() > MEMORY_STUCK_NS) {
        api_error(call, 503, HTTP_OUT_OF_MEMORY_CODE, NULL,
                  "memory has been short for over a minute and the reserve cannot be mapped "
                  "again; restart Herald (nothing acknowledged is lost)");
        return;
    }
    struct buf b = BUF_INIT;
    buf_adds(&b, "{\"status\":\"ok\"}");
    api_reply(call, 200, &b);
}

static void on_ping(struct store_req *r)
{
    struct api_call *call = CALL_OF(r);
    if (r->rc != STORE_OK || !call->api->ready) {
        http_add_header(call->req, "Retry-After", "1");
        api_error(call, 503, "not_ready", NULL, "storage is not reachable");
        return;
    }
    if (mem_low()) { /* a load balancer sends the work elsewhere meanwhile */
        http_add_header(call->req, "Retry-After", "1");
        api_error(call, 503, "not_ready", NULL, "memory is short: new work is refused until it returns");
        return;
    }
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "status", "ready");
    jw_kint(&w, "schema_version", store_schema_version(call->api->store));
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_readyz(struct api_call *call)
{
    struct st_ping *q = API_REQ(call, st_ping, ST_PING, on_ping);
    store_submit(call->api->store, &q->base);
}

void h_metrics(struct api_call *call)
{
    size_t n;
    const struct metrics_route *labels = api_route_labels(&n);
    struct buf b = BUF_INIT;
    metrics_render(call->api->metrics, &b, labels, n,
                   call->api->http ? http_server_connections(call->api->http) : 0,
                   call->api->hub ? live_streams(call->api->hub) : 0);
    http_respond(call->req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

static void clock_answer(struct api_call *call, int64_t now)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_ktime(&w, "now", now);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

static void on_clock_upkeep(void *arg, int rc)
{
    struct api_call *call = arg;
    if (rc != STORE_OK)
        api_store_error(call, rc);
    else
        clock_answer(call, hclock_now_ms(call->api->clock));
}

void h_test_clock_get(struct api_call *call)
{
    clock_answer(call, hclock_now_ms(call->api->clock));
}

void h_test_clock_post(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"advance_s", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    json_t *v = json_object_get(body, "advance_s");
    if (!v) {
        api_error(call, 400, "missing_field", "advance_s", "advance_s is required");
        return;
    }
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e9) {
        api_error(call, 400, "invalid_field", "advance_s",
                  "advance_s must be a number of seconds from 0 to 1000000000");
        return;
    }
    hclock_advance(call->api->clock, (int64_t)(json_number_value(v) * 1000));
    /* Time-based upkeep (windows that close, retention) runs on the moved
     * clock before the answer, so a test sees its effect without sleeping. */
    upkeep_run_now(call->api->upkeep, on_clock_upkeep, call);
}
