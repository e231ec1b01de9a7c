/* router.c - the route table, authentication, and the answer helpers.
 *
 * A request is matched to a route (404/405 otherwise), its credential is
 * checked (401 when missing or bad, 403 when valid but of the wrong kind)
 * and counted against its rate limit (429), then the route's handler runs.
 * Credential checks that need the store (API keys, member tokens) are
 * asynchronous like everything else. */
#include "api/api_int.h"
#include "api/ratelimit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/mem.h"
#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROUTE(verb, path, need, fn) {verb, path, need, fn, false, false, false, false}
#define TEST_ONLY(verb, path, need, fn) {verb, path, need, fn, true, false, false, false}
#define DEMO_ONLY(verb, path, need, fn) {verb, path, need, fn, false, false, true, false}
#define STREAM(verb, path, need, fn) {verb, path, need, fn, false, true, false, false}
/* What an operator watches: it answers while memory is low. */
#define OPS(verb, path, need, fn) {verb, path, need, fn, false, false, false, true}

static const struct route ROUTES[] = {
    OPS(HTTP_VERB_GET, "/healthz", NEED_NONE, h_healthz),
    OPS(HTTP_VERB_GET, "/readyz", NEED_NONE, h_readyz),
    OPS(HTTP_VERB_GET, "/metrics", NEED_METRICS, h_metrics),
    ROUTE(HTTP_VERB_POST, "/v1/workspaces", NEED_ADMIN, h_workspace_create),
    ROUTE(HTTP_VERB_GET, "/v1/workspaces", NEED_ADMIN, h_workspace_list),
    ROUTE(HTTP_VERB_POST, "/v1/workspaces/{id}/keys", NEED_ADMIN, h_keys_create),
    ROUTE(HTTP_VERB_GET, "/v1/workspaces/{id}/keys", NEED_ADMIN, h_keys_list),
    ROUTE(HTTP_VERB_DELETE, "/v1/workspaces/{id}/keys/{key_id}", NEED_ADMIN, h_keys_revoke),
    ROUTE(HTTP_VERB_GET, "/v1/workspace", NEED_WORKSPACE, h_workspace_get),
    ROUTE(HTTP_VERB_PATCH, "/v1/workspace", NEED_WORKSPACE, h_workspace_patch),
    ROUTE(HTTP_VERB_GET, "/v1/workspace/credits", NEED_WORKSPACE, h_credits_get),
    ROUTE(HTTP_VERB_POST, "/v1/workspace/credits", NEED_WORKSPACE, h_credits_add),
    ROUTE(HTTP_VERB_POST, "/v1/workspace/keys", NEED_WORKSPACE, h_keys_create),
    ROUTE(HTTP_VERB_GET, "/v1/workspace/keys", NEED_WORKSPACE, h_keys_list),
    ROUTE(HTTP_VERB_DELETE, "/v1/workspace/keys/{key_id}", NEED_WORKSPACE, h_keys_revoke),
    ROUTE(HTTP_VERB_GET, "/v1/members", NEED_WORKSPACE, h_member_list),
    ROUTE(HTTP_VERB_PUT, "/v1/members/{id}", NEED_WORKSPACE, h_member_put),
    ROUTE(HTTP_VERB_GET, "/v1/members/{id}", NEED_WORKSPACE, h_member_get),
    ROUTE(HTTP_VERB_DELETE, "/v1/members/{id}", NEED_WORKSPACE, h_member_delete),
    ROUTE(HTTP_VERB_POST, "/v1/members/{id}/tokens", NEED_WORKSPACE, h_member_token),
    ROUTE(HTTP_VERB_POST, "/v1/events", NEED_WORKSPACE, h_event_post),
    ROUTE(HTTP_VERB_GET, "/v1/events/{id}", NEED_WORKSPACE, h_event_get),
    ROUTE(HTTP_VERB_GET, "/v1/me", NEED_MEMBER, h_me),
    ROUTE(HTTP_VERB_GET, "/v1/me/notifications", NEED_MEMBER, h_feed_list),
    ROUTE(HTTP_VERB_GET, "/v1/me/notifications/count", NEED_MEMBER, h_feed_count),
    ROUTE(HTTP_VERB_POST, "/v1/me/notifications/read-all", NEED_MEMBER, h_feed_read_all),
    ROUTE(HTTP_VERB_PATCH, "/v1/me/notifications/{id}", NEED_MEMBER, h_feed_patch),
    ROUTE(HTTP_VERB_GET, "/v1/me/preferences", NEED_MEMBER, h_prefs_get),
    ROUTE(HTTP_VERB_PATCH, "/v1/me/preferences", NEED_MEMBER, h_prefs_patch),
    STREAM(HTTP_VERB_GET, "/v1/me/stream", NEED_MEMBER, h_stream),
    ROUTE(HTTP_VERB_GET, "/v1/me/devices", NEED_MEMBER, h_device_list),
    ROUTE(HTTP_VERB_PUT, "/v1/me/devices/{id}", NEED_MEMBER, h_device_put),
    ROUTE(HTTP_VERB_PATCH, "/v1/me/devices/{id}", NEED_MEMBER, h_device_patch),
    ROUTE(HTTP_VERB_DELETE, "/v1/me/devices/{id}", NEED_MEMBER, h_device_delete),
    ROUTE(HTTP_VERB_GET, "/v1/push/vapid-public-key", NEED_NONE, h_vapid_key),
    ROUTE(HTTP_VERB_POST, "/v1/me/conversations/{id}/read", NEED_MEMBER, h_conversation_read),
    ROUTE(HTTP_VERB_POST, "/v1/conversations/{id}/read", NEED_WORKSPACE, h_conversation_read),
    ROUTE(HTTP_VERB_GET, "/v1/deliveries", NEED_WORKSPACE, h_deliveries_list),
    ROUTE(HTTP_VERB_GET, "/v1/dev/sink", NEED_WORKSPACE_OR_ADMIN, h_dev_sink),
    ROUTE(HTTP_VERB_GET, "/v1/audit", NEED_WORKSPACE, h_audit_list),
    ROUTE(HTTP_VERB_GET, "/v1/audit/export", NEED_WORKSPACE, h_audit_export),
    ROUTE(HTTP_VERB_GET, "/ui/{file}", NEED_NONE, h_ui_file),
    DEMO_ONLY(HTTP_VERB_GET, "/ui/", NEED_NONE, h_ui_index),
    DEMO_ONLY(HTTP_VERB_GET, "/", NEED_NONE, h_root),
    DEMO_ONLY(HTTP_VERB_GET, "/v1/demo/session", NEED_NONE, h_demo_session),
    TEST_ONLY(HTTP_VERB_GET, "/v1/test/clock", NEED_NONE, h_test_clock_get),
    TEST_ONLY(HTTP_VERB_POST, "/v1/test/clock", NEED_ADMIN, h_test_clock_post),
};

#define NROUTES (sizeof ROUTES / sizeof *ROUTES)
static const char *const VERBS[] = {"GET", "POST", "PUT", "PATCH", "DELETE",
                                    "HEAD", "OPTIONS", "OTHER"};
/* Slot 0 of the metrics labels is for requests that matched no route. */
static struct metrics_route ROUTE_LABELS[NROUTES + 1];

const struct route *api_routes(size_t *n)
{
    *n = NROUTES;
    return ROUTES;
}

const struct metrics_route *api_route_labels(size_t *n)
{
    if (!ROUTE_LABELS[0].path) {
        ROUTE_LABELS[0] = (struct metrics_route){"any", "unmatched"};
        for (size_t i = 0; i < NROUTES; i++)
            ROUTE_LABELS[i + 1] = (struct metrics_route){VERBS[ROUTES[i].verb], ROUTES[i].pattern};
    }
    *n = NROUTES + 1;
    return ROUTE_LABELS;
}

void api_config_default(struct api_config *cfg)
{
    cfg->test_clock = false;
    cfg->metrics_token = NULL;
    cfg->json_max_depth = 32;
    cfg->default_token_ttl_s = 3600;
    cfg->allow_insecure_push = false;
}

/* ---- answers ---- */

static void release(struct api_call *call)
{
    if (call->body) {
        json_decref(call->body);
        call->body = NULL;
    }
}

void api_reply(struct api_call *call, int status, struct buf *body)
{
    release(call);
    if (body && body->len && body->data[body->len - 1] != '\n')
        buf_addc(body, '\n');
    http_respond(call->req, status, "application/json; charset=utf-8",
                 body ? body->data : "", body ? body->len : 0);
    if (body)
        buf_free(body);
}

void api_reply_typed(struct api_call *call, int status, const char *content_type,
                     struct buf *body)
{
    release(call);
    http_respond(call->req, status, content_type, body->data ? body->data : "", body->len);
    buf_free(body);
}

void api_reply_empty(struct api_call *call, int status)
{
    release(call);
    http_respond(call->req, status, NULL, "", 0);
}

void api_error(struct api_call *call, int status, const char *code, const char *field,
               const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    release(call);
    if (status == 401)
        http_add_header(call->req, "WWW-Authenticate", "Bearer");
    http_respond_error(call->req, status, code, field, msg);
}

void api_store_error(struct api_call *call, int rc)
{
    switch (rc) {
    case STORE_NOT_FOUND:
        api_error(call, 404, "not_found", NULL, "no such %s", "object");
        break;
    case STORE_CONFLICT:
        api_error(call, 409, "conflict", NULL, "the request conflicts with the current state");
        break;
    default:
        http_add_header(call->req, "Retry-After", "1");
        api_error(call, 503, "unavailable", NULL, "storage is unavailable; retry shortly");
    }
}

void api_out_of_memory(struct api_call *call)
{
    http_add_header(call->req, "Retry-After", "1");
    api_error(call, 503, HTTP_OUT_OF_MEMORY_CODE, NULL, "%s", HTTP_OUT_OF_MEMORY_MESSAGE);
}

struct audit_by api_audit_by(const struct api_call *call)
{
    switch (call->cred) {
    case NEED_MEMBER:
        return (struct audit_by){AUDIT_BY_MEMBER, call->me.id};
    case NEED_WORKSPACE:
        return (struct audit_by){AUDIT_BY_API_KEY, call->key_id};
    default:
        return (struct audit_by){AUDIT_BY_HERALD, NULL};
    }
}

bool api_list_open(struct api_call *call, int rc, struct buf *b, struct jw *w, const char *key)
{
    if (rc != STORE_OK) {
        api_store_error(call, rc);
        return false;
    }
    *b = (struct buf)BUF_INIT;
    jw_init(w, b);
    jw_obj(w);
    jw_key(w, key);
    jw_arr(w);
    return true;
}

void api_list_reply(struct api_call *call, struct buf *b, struct jw *w)
{
    jw_obj_end(w);
    api_reply(call, 200, b);
}

void *api_store_req(struct api_call *call, size_t size, enum store_op op,
                    void (*done)(struct store_req *))
{
    struct store_req *r = arena_alloc(call->arena, size);
    r->op = op;
    r->done = done;
    r->arg = call;
    r->arena = call->arena;
    return r;
}

json_t *api_body(struct api_call *call, bool allow_empty)
{
    struct http_request *req = call->req;
    if (req->body.len == 0) {
        if (allow_empty)
            return call->body = json_object();
        api_error(call, 400, "invalid_json", NULL, "the request needs a JSON object body");
        return NULL;
    }
    const char *ct = http_header(req, "Content-Type");
    if (!ct || (strncasecmp(ct, "application/json", 16) != 0 ||
                (ct[16] && ct[16] != ';' && ct[16] != ' '))) {
        api_error(call, 415, "unsupported_media_type", NULL,
                  "send the body as Content-Type: application/json");
        return NULL;
    }
    if (!jx_depth_ok(req->body.data, req->body.len, call->api->cfg.json_max_depth)) {
        api_error(call, 400, "too_deep", NULL, "the JSON nests deeper than %d levels",
                  call->api->cfg.json_max_depth);
        return NULL;
    }
    char err[200];
    json_t *v = jx_parse(req->body.data, req->body.len, err, sizeof err);
    if (!v) {
        api_error(call, 400, "invalid_json", NULL, "malformed JSON: %s", err);
        return NULL;
    }
    call->body = v;
    if (!json_is_object(v)) {
        api_error(call, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

/* ---- matching ---- */

/* Matches path against pattern; {name} segments capture (decoded). */
static bool match(struct api_call *call, const char *pattern, const char *path)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pend = strchr(p, '}');
            const char *send = strchr(s, '/');
            size_t len = send ? (size_t)(send - s) : strlen(s);
            if (len == 0 || np >= API_MAX_PARAMS)
                return false;
            char *v = http_unescape(call->arena, s, len);
            if (!v)
                return false;
            call->params[np++] = v;
            p = pend + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

/* ---- authentication ---- */

static void run_handler(struct api_call *call)
{
    call->route->handler(call);
}

static void wrong_kind(struct api_call *call)
{
    static const char *const what[] = {"", "the admin key", "a workspace API key",
                                       "a member token", "the metrics token",
                                       "a workspace API key or the admin key"};
    api_error(call, 403, "forbidden", NULL, "this endpoint needs %s", what[call->route->need]);
}

static const char *bearer(struct api_call *call)
{
    const char *h = http_header(call->req, "Authorization");
    if (!h && call->route && call->route->query_token) {
        /* EventSource cannot send headers: the stream takes the token in
         * the query too (never logged: the access log omits queries). */
        const char *q = http_query(call->req, "access_token");
        return q && *q ? q : NULL;
    }
    if (!h)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return "";
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

/* Counts the request against its credential's rate limit; answers 429 and
 * returns false when the credential is over it. Called only once the
 * credential is proven, so a bad one cannot spend another's budget and
 * 401s are not counted.
 *
 * The time is the real monotonic clock, not the request's `now`: the test
 * clock stands still, and API tests send hundreds of requests at one
 * frozen instant, so buckets on it would never refill. A rate is about how
 * fast requests arrive, which only real time measures. */
static bool within_rate_limit(struct api_call *call, enum ratelimit_kind kind, uint64_t scope,
                              uint64_t id)
{
    int wait = ratelimit_take(call->api->limiter, kind, scope, id, hclock_mono_ns());
    if (!wait)
        return true;
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", wait);
    http_add_header(call->req, "Retry-After", seconds);
    bool member = kind == RATELIMIT_MEMBER;
    metrics_rate_limited(call->api->metrics,
                         member ? METRICS_LIMITED_MEMBER : METRICS_LIMITED_API_KEY);
    api_error(call, 429, "rate_limited", NULL,
              "too many requests %s; retry in %d s",
              member ? "by this member" : "with this API key", wait);
    return false;
}

static void on_auth_key(struct store_req *r)
{
    struct st_auth_key *q = (struct st_auth_key *)r;
    struct api_call *call = CALL_OF(r);
    const char *key = bearer(call);
    if (r->rc == STORE_UNAVAILABLE) {
        api_store_error(call, r->rc);
        return;
    }
    /* Unknown key ids still pay for a comparison, so timing says nothing. */
    bool ok = key_hash_matches(key, q->key_hash) && r->rc == STORE_OK && !q->revoked;
    if (!ok) {
        api_error(call, 401, "unauthorized", NULL, "the API key is not valid");
        return;
    }
    call->cred = NEED_WORKSPACE;
    call->ws = q->ws;
    call->key_id = q->key_id;
    /* The key id is 12 hex digits: its value names the key's bucket. */
    if (!within_rate_limit(call, RATELIMIT_API_KEY, 0, strtoull(q->key_id, NULL, 16)))
        return;
    if (call->route->need != NEED_WORKSPACE && call->route->need != NEED_WORKSPACE_OR_ADMIN) {
        wrong_kind(call);
        return;
    }
    run_handler(call);
}

struct member_auth_job {
    struct st_auth_member q; /* first: the job is its store request */
    struct member_token token;
};

static void on_auth_member(struct store_req *r)
{
    struct member_auth_job *job = (struct member_auth_job *)r;
    struct st_auth_member *q = &job->q;
    struct member_token *t = &job->token;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_UNAVAILABLE) {
        api_store_error(call, r->rc);
        return;
    }
    /* An unknown workspace answers like a bad signature, so tokens cannot
     * be used to discover which workspace ids exist. */
    enum token_error e = r->rc == STORE_OK
        ? token_verify(t, q->ws.signing_secret, call->now / 1000) : TOKEN_BAD_SIGNATURE;
    if (e != TOKEN_OK) {
        api_error(call, 401, "invalid_token", NULL, "%s", token_error_message(e));
        return;
    }
    if (!q->member_found || !q->member.active ||
        t->iat < q->member.created_at / 1000 - TOKEN_LEEWAY_S) {
        api_error(call, 401, "invalid_token", NULL,
                  "the token's member is unknown, deleted or inactive");
        return;
    }
    call->cred = NEED_MEMBER;
    call->ws = q->ws;
    call->me = q->member;
    /* One bucket per member, whichever of their tokens is used: minting
     * more tokens buys no more requests. */
    if (!within_rate_limit(call, RATELIMIT_MEMBER, (uint64_t)q->ws.wid, (uint64_t)q->member.mid))
        return;
    if (call->route->need != NEED_MEMBER) {
        wrong_kind(call);
        return;
    }
    run_handler(call);
}

static void authenticate(struct api_call *call)
{
    struct api *api = call->api;
    enum need need = call->route->need;
    if (need == NEED_NONE) {
        run_handler(call);
        return;
    }
    const char *cred = bearer(call);
    if (need == NEED_METRICS) {
        if (!api->cfg.metrics_token) {
            run_handler(call);
            return;
        }
        uint8_t want[SHA256_LEN];
        key_hash(api->cfg.metrics_token, want);
        if (cred && key_hash_matches(cred, want))
            run_handler(call);
        else
            api_error(call, 401, "unauthorized", NULL, "/metrics needs the metrics token");
        return;
    }
    if (!cred) {
        api_error(call, 401, "unauthorized", NULL,
                  "send a credential: Authorization: Bearer <key or token>");
        return;
    }
    switch (credential_kind_of(cred)) {
    case CRED_ADMIN:
        if (!key_hash_matches(cred, api->admin_key_hash)) {
            api_error(call, 401, "unauthorized", NULL, "the admin key is not valid");
            return;
        }
        call->cred = NEED_ADMIN;
        if (need != NEED_ADMIN && need != NEED_WORKSPACE_OR_ADMIN) {
            wrong_kind(call);
            return;
        }
        run_handler(call);
        return;
    case CRED_API_KEY: {
        struct st_auth_key *q = API_REQ(call, st_auth_key, ST_AUTH_KEY, on_auth_key);
        char *key_id = arena_alloc(call->arena, APIKEY_ID_LEN + 1);
        if (apikey_id(cred, key_id) != 0) {
            api_error(call, 401, "unauthorized", NULL, "the API key is malformed");
            return;
        }
        q->key_id = key_id;
        store_submit(api->store, &q->base);
        return;
    }
    case CRED_MEMBER_TOKEN: {
        struct member_auth_job *job =
            API_REQ(call, member_auth_job, ST_AUTH_MEMBER, on_auth_member);
        enum token_error e = token_parse(cred, call->arena, &job->token);
        if (e != TOKEN_OK) {
            api_error(call, 401, "invalid_token", NULL, "%s", token_error_message(e));
            return;
        }
        job->q.ws_id = job->token.ws;
        job->q.member_id = job->token.sub;
        store_submit(api->store, &job->q.base);
        return;
    }
    default:
        api_error(call, 401, "unauthorized", NULL, "the credential is not recognised");
    }
}

/* Routes a page on another origin may call: a member's own (the browser
 * components, with the member token in Authorization: no cookies, so any
 * origin may) and those that need no credential (the components' files,
 * the VAPID key). Workspace and admin keys stay server-to-server, and so
 * do the demo's routes: the demo session hands out a workspace key, for
 * the demo page on Herald's own origin only. */
static bool cors_open(const struct route *rt)
{
    return !rt->demo_only && (rt->need == NEED_MEMBER || rt->need == NEED_NONE);
}

/* A browser's CORS preflight for such a path: which methods and headers
 * its page may send. false when no open route has this path. */
static bool preflight(struct api_call *call)
{
    struct api *api = call->api;
    char methods[64] = "";
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *rt = &ROUTES[i];
        if ((rt->test_only && !api->cfg.test_clock) || (rt->demo_only && !api->cfg.demo) ||
            !cors_open(rt) || !match(call, rt->pattern, call->req->path))
            continue;
        if (methods[0])
            strncat(methods, ", ", sizeof methods - strlen(methods) - 1);
        strncat(methods, VERBS[rt->verb], sizeof methods - strlen(methods) - 1);
    }
    if (!methods[0])
        return false;
    struct http_request *req = call->req;
    http_add_header(req, "Access-Control-Allow-Origin", "*");
    http_add_header(req, "Access-Control-Allow-Methods", methods);
    http_add_header(req, "Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID");
    http_add_header(req, "Access-Control-Max-Age", "600");
    api_reply_empty(call, 204);
    return true;
}

void api_handle(struct http_request *req, void *arg)
{
    struct api *api = arg;
    struct api_call *call = ARENA_NEW(&req->arena, struct api_call);
    call->api = api;
    call->req = req;
    call->arena = &req->arena;
    call->now = hclock_now_ms(api->clock);
    req->user = call;

    bool path_known = false;
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *rt = &ROUTES[i];
        if ((rt->test_only && !api->cfg.test_clock) || (rt->demo_only && !api->cfg.demo))
            continue;
        memset(call->params, 0, sizeof call->params);
        if (!match(call, rt->pattern, req->path))
            continue;
        path_known = true;
        if (rt->verb != req->verb)
            continue;
        call->route = rt;
        call->route_index = (int)i + 1;
        if (cors_open(rt)) {
            http_add_header(req, "Access-Control-Allow-Origin", "*");
            http_add_header(req, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
        }
        if (!rt->while_low && mem_low()) {
            api_out_of_memory(call);
            return;
        }
        authenticate(call);
        return;
    }
    if (path_known && req->verb == HTTP_VERB_OPTIONS && preflight(call)) {
        return;
    }
    if (path_known) {
        /* The methods this path does answer. */
        char allow[64] = "";
        for (size_t i = 0; i < NROUTES; i++) {
            const struct route *rt = &ROUTES[i];
            if ((rt->test_only && !api->cfg.test_clock) || (rt->demo_only && !api->cfg.demo) ||
                !match(call, rt->pattern, req->path))
                continue;
            if (allow[0])
                strncat(allow, ", ", sizeof allow - strlen(allow) - 1);
            strncat(allow, VERBS[rt->verb], sizeof allow - strlen(allow) - 1);
        }
        http_add_header(req, "Allow", allow);
        api_error(call, 405, "method_not_allowed", NULL, "%s is not allowed here; use %s",
                  req->method, allow);
        return;
    }
    api_error(call, 404, "not_found", NULL, "no such endpoint");
}

void api_observe(struct http_request *req, int status, void *arg)
{
    struct api *api = arg;
    struct api_call *call = req->user;
    double seconds = (double)(hclock_mono_ns() - req->started_ns) / 1e9;
    int route = call ? call->route_index : 0;
    metrics_http(api->metrics, route, status, seconds);
    hlog_debug("http %s %s %d %.3fms id=%s", req->method ? req->method : "-",
               req->path ? req->path : "-", status, seconds * 1e3, req->request_id);
}
