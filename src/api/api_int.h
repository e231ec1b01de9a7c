/* api_int.h - private to the API: the per-request context, the route
 * table, and the helpers every handler uses.
 *
 * One request = one struct api_call in the request's arena. Handlers either
 * answer at once or submit a store request whose done callback answers.
 * Every answer goes through api_reply / api_error / api_store_error, which
 * release the call's JSON before handing the bytes to the HTTP layer. */
#ifndef HERALD_API_API_INT_H
#define HERALD_API_API_INT_H

#include <jansson.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/jw.h"
#include "engine/model.h"
#include "metrics/metrics.h"
#include "store/store.h"

enum need {
    NEED_NONE,      /* anyone */
    NEED_ADMIN,     /* the operator's admin key */
    NEED_WORKSPACE, /* a workspace API key */
    NEED_MEMBER,    /* a member token */
    NEED_METRICS,   /* the metrics token when one is configured */
    NEED_WORKSPACE_OR_ADMIN, /* a workspace's view, or the operator's of all */
};

struct api_call;
typedef void (*api_handler)(struct api_call *call);

struct route {
    enum http_verb verb;
    const char *pattern; /* "/v1/members/{id}"; also the metrics label */
    enum need need;
    api_handler handler;
    bool test_only;      /* exists only with --test-clock */
    bool query_token;    /* a member token may come as ?access_token= (EventSource) */
    bool demo_only;      /* exists only with --demo */
    bool while_low;      /* answers while memory is low (core/mem.h) */
};

#define API_MAX_PARAMS 4

struct api_call {
    struct api *api;
    struct http_request *req;
    struct arena *arena;
    const struct route *route;
    int route_index;
    const char *params[API_MAX_PARAMS];
    enum need cred; /* what the request authenticated as */
    struct workspace ws; /* API key and member token */
    struct member me;    /* member token */
    const char *key_id;  /* API key: its id (in arena) */
    json_t *body;        /* parsed body, owned */
    int64_t now;         /* ms, from the clock, when the request arrived */
};

const struct route *api_routes(size_t *n);
/* Metrics labels per route index (0: requests that matched no route). */
const struct metrics_route *api_route_labels(size_t *n);

/* answers */
void api_reply(struct api_call *call, int status, struct buf *body); /* frees body */
void api_reply_empty(struct api_call *call, int status);
/* api_reply with another Content-Type; the body ends as given. */
void api_reply_typed(struct api_call *call, int status, const char *content_type,
                     struct buf *body);
void api_error(struct api_call *call, int status, const char *code, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void api_store_error(struct api_call *call, int rc);
/* 503 out_of_memory with Retry-After: new work waits for memory (core/mem.h). */
void api_out_of_memory(struct api_call *call);
/* Who the call acts as, for the audit trail: the API key or the member. */
struct audit_by api_audit_by(const struct api_call *call);
/* A list answer, {"<key>": [...], ...}: api_list_open answers the store's
 * error itself (false), or starts the object and its array in b; the
 * caller writes the items, closes the array (jw_arr_end) and may add
 * fields; api_list_reply closes the object and answers 200. */
bool api_list_open(struct api_call *call, int rc, struct buf *b, struct jw *w, const char *key);
void api_list_reply(struct api_call *call, struct buf *b, struct jw *w);

/* The request body as a JSON object; answers 400/415 itself and returns
 * NULL when it is not one. An empty body gives {} when allow_empty. */
json_t *api_body(struct api_call *call, bool allow_empty);
/* A store request of `type` in the call's arena, wired to answer `done`. */
void *api_store_req(struct api_call *call, size_t size, enum store_op op,
                    void (*done)(struct store_req *));
#define API_REQ(call, type, op, done) \
    ((struct type *)api_store_req((call), sizeof(struct type), (op), (done)))
#define CALL_OF(r) ((struct api_call *)(r)->arg)

/* shared JSON writers (api_json.c) */
void api_json_workspace(struct jw *w, const struct workspace *ws);
void api_json_member(struct jw *w, const struct member *m);
/* A delivery and its attempts (API.md). */
void api_json_delivery(struct jw *w, const struct delivery *d);
/* Checks each key of obj against allowed; answers 400 on the first
 * unknown one (prefix names its path) and returns false. */
bool api_known_keys(struct api_call *call, json_t *obj, const char *prefix,
                    const char *const *allowed);
/* Parses {"categories": {cat: {channel: bool|null}}} into a patch. */
bool api_parse_matrix(struct api_call *call, json_t *categories, const char *prefix,
                      uint32_t *set_mask, uint32_t *set_on, uint32_t *clear_mask);
/* Writes "categories" and "sources" for a resolved matrix. */
void api_json_matrix(struct jw *w, const struct pref_matrix *ws,
                     const struct pref_matrix *member);

/* handlers */
void h_healthz(struct api_call *call);
void h_readyz(struct api_call *call);
void h_metrics(struct api_call *call);
void h_workspace_create(struct api_call *call);
void h_workspace_list(struct api_call *call);
void h_workspace_get(struct api_call *call);
void h_workspace_patch(struct api_call *call);
void h_credits_get(struct api_call *call);
void h_credits_add(struct api_call *call);
void h_keys_create(struct api_call *call);
void h_keys_list(struct api_call *call);
void h_keys_revoke(struct api_call *call);
void h_member_put(struct api_call *call);
void h_member_get(struct api_call *call);
void h_member_delete(struct api_call *call);
void h_member_list(struct api_call *call);
void h_member_token(struct api_call *call);
void h_event_post(struct api_call *call);
void h_event_get(struct api_call *call);
void h_me(struct api_call *call);
void h_feed_list(struct api_call *call);
void h_feed_count(struct api_call *call);
void h_feed_patch(struct api_call *call);
void h_feed_read_all(struct api_call *call);
void h_prefs_get(struct api_call *call);
void h_prefs_patch(struct api_call *call);
void h_test_clock_get(struct api_call *call);
void h_stream(struct api_call *call);
void h_conversation_read(struct api_call *call);
void h_test_clock_post(struct api_call *call);
void h_deliveries_list(struct api_call *call);
void h_dev_sink(struct api_call *call);
void h_audit_list(struct api_call *call);
void h_audit_export(struct api_call *call);
void h_vapid_key(struct api_call *call);
void h_ui_file(struct api_call *call);
void h_ui_index(struct api_call *call);
void h_root(struct api_call *call);
void h_demo_session(struct api_call *call);
void h_device_put(struct api_call *call);
void h_device_patch(struct api_call *call);
void h_device_list(struct api_call *call);
void h_device_delete(struct api_call *call);

/* The stream's resume position (h_live.c): Last-Event-ID (header), else
 * last_event_id (query), the member's change position the client saw
 * last. -1 when absent; -2 when malformed. */
int64_t api_last_event_id(struct http_request *req);

/* opaque cursors (cursor.c): the feed's use its filter as `filter`; the
 * delivery log's use CURSOR_DELIVERIES, so one is never taken for the other */
#define CURSOR_DELIVERIES 16
#define CURSOR_AUDIT 17
int cursor_encode(int filter, int64_t nid, char *out, size_t cap);
int cursor_decode(const char *s, int filter, int64_t *nid);

#endif
