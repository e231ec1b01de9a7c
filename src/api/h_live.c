/* h_live.c - the member's stream (GET /v1/me/stream) and conversation
 * reads, which decide whether a message window notifies. */
#include "api/api_int.h"
#include "core/hostid.h"
#include "core/timefmt.h"
#include "live/live.h"

#include <errno.h>
#include <stdlib.h>

int64_t api_last_event_id(struct http_request *req)
{
    const char *v = http_header(req, "Last-Event-ID");
    if (!v || !*v)
        v = http_query(req, "last_event_id");
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < 0)
        return -2;
    return n;
}

void h_stream(struct api_call *call)
{
    int64_t after = api_last_event_id(call->req);
    if (after == -2) {
        api_error(call, 400, "invalid_field", "last_event_id",
                  "Last-Event-ID must be an event id this stream sent (a whole number)");
        return;
    }
    switch (live_admit(call->api->hub, call->me.mid)) {
    case LIVE_MEMBER_FULL:
        http_add_header(call->req, "Retry-After", "30");
        api_error(call, 429, "too_many_streams", NULL,
                  "this member has too many open streams; close one first");
        return;
    case LIVE_FULL:
        http_add_header(call->req, "Retry-After", "5");
        api_error(call, 503, "streams_full", NULL,
                  "this server holds as many streams as it can; retry shortly");
        return;
    case LIVE_OK:
        break;
    }
    /* The stream takes the request over; nothing of it is touched after. */
    struct http_request *req = call->req;
    int64_t wid = call->ws.wid, mid = call->me.mid;
    live_open(call->api->hub, req, wid, mid, after);
}

static void on_read(struct store_req *r)
{
    struct st_conv_read *q = (struct st_conv_read *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", "member_id", "no member %s in this workspace",
                  q->member_id);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "conversation_id", q->conversation_id);
    jw_kstr(&w, "member_id", call->cred == NEED_MEMBER ? call->me.id : q->member_id);
    jw_ktime(&w, "read_at", q->read_at);
    jw_kbool(&w, "window_open", q->window_open);
    jw_kbool(&w, "suppressed", q->suppressed);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_conversation_read(struct api_call *call)
{
    const char *conv = call->params[0];
    if (!hostid_valid(conv)) {
        api_error(call, 400, "invalid_field", "conversation_id",
                  "a conversation id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    json_t *body = api_body(call, call->cred == NEED_MEMBER);
    if (!body)
        return;
    static const char *const host_keys[] = {"member_id", "read_at", NULL};
    static const char *const member_keys[] = {"read_at", NULL};
    if (!api_known_keys(call, body, "", call->cred == NEED_MEMBER ? member_keys : host_keys))
        return;
    struct st_conv_read *q = API_REQ(call, st_conv_read, ST_CONV_READ, on_read);
    q->wid = call->ws.wid;
    q->conversation_id = conv;
    q->read_at = q->now = call->now;
    q->by = api_audit_by(call);
    json_t *at = json_object_get(body, "read_at");
    if (at && !json_is_null(at) &&
        (!json_is_string(at) || rfc3339_parse(json_string_value(at), &q->read_at) != 0)) {
        api_error(call, 400, "invalid_field", "read_at",
                  "read_at must be an RFC 3339 time such as 2026-11-21T09:30:00Z");
        return;
    }
    if (call->cred == NEED_MEMBER) {
        q->mid = call->me.mid;
    } else {
        json_t *m = json_object_get(body, "member_id");
        if (!m) {
            api_error(call, 400, "missing_field", "member_id", "member_id is required");
            return;
        }
        if (!json_is_string(m) || !hostid_valid(json_string_value(m))) {
            api_error(call, 400, "invalid_field", "member_id",
                      "member_id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
            return;
        }
        q->member_id = json_string_value(m);
    }
    store_submit(call->api->store, &q->base);
}
