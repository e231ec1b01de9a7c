/* h_deliveries.c - the delivery log (GET /v1/deliveries) and the sink's
 * record of what Herald would have sent (GET /v1/dev/sink). */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX 100
#define SINK_MAX 1000

/* limit=1..max; false (answered) when it is not. */
static bool read_limit(struct api_call *call, int max, int *limit)
{
    const char *v = http_query(call->req, "limit");
    *limit = PAGE_DEFAULT < max ? PAGE_DEFAULT : max;
    if (!v)
        return true;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > max) {
        api_error(call, 400, "invalid_field", "limit", "limit must be 1 to %d", max);
        return false;
    }
    *limit = (int)n;
    return true;
}

/* channel=email|sms|push; -1 when absent. */
static bool read_channel(struct api_call *call, int *channel)
{
    const char *v = http_query(call->req, "channel");
    *channel = -1;
    if (!v)
        return true;
    int ch = channel_parse(v);
    if (ch < 0 || ch == CH_IN_APP) {
        api_error(call, 400, "invalid_field", "channel", "channel must be email, sms or push");
        return false;
    }
    *channel = ch;
    return true;
}

static void on_deliveries(struct store_req *r)
{
    struct st_deliveries_list *q = (struct st_deliveries_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "items"))
        return;
    for (size_t i = 0; i < q->n; i++)
        api_json_delivery(&w, &q->items[i]);
    jw_arr_end(&w);
    char cursor[32];
    bool more = q->more && q->n &&
        cursor_encode(CURSOR_DELIVERIES, q->items[q->n - 1].id, cursor, sizeof cursor) == 0;
    jw_kstr(&w, "next_cursor", more ? cursor : NULL);
    api_list_reply(call, &b, &w);
}

void h_deliveries_list(struct api_call *call)
{
    struct st_deliveries_list *q =
        API_REQ(call, st_deliveries_list, ST_DELIVERIES_LIST, on_deliveries);
    q->wid = call->ws.wid;
    q->status = -1;
    const char *status = http_query(call->req, "status");
    if (status && ((q->status = delivery_status_parse(status)) < 0 || q->status == DS_HELD)) {
        api_error(call, 400, "invalid_field", "status",
                  "status must be pending, sending, sent, failed, dead or skipped");
        return;
    }
    if (!read_channel(call, &q->channel) || !read_limit(call, PAGE_MAX, &q->limit))
        return;
    q->member_id = http_query(call->req, "member_id");
    const char *cursor = http_query(call->req, "cursor");
    if (cursor && cursor_decode(cursor, CURSOR_DELIVERIES, &q->before_id) != 0) {
        api_error(call, 400, "invalid_field", "cursor",
                  "cursor is not one the delivery log gave out");
        return;
    }
    store_submit(call->api->store, &q->base);
}

static void on_sink(struct store_req *r)
{
    struct st_sink_list *q = (struct st_sink_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "items"))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct sink_message *m = &q->items[i];
        char id[DELIVERY_ID_MAX];
        delivery_id_format(m->did, id);
        jw_obj(&w);
        jw_kstr(&w, "delivery_id", id);
        jw_kstr(&w, "workspace_id", m->ws_id);
        jw_kstr(&w, "member_id", m->member_id);
        jw_kstr(&w, "channel", channel_name((enum channel)m->channel));
        jw_kstr(&w, "to", m->to);
        if (m->channel == CH_EMAIL)
            jw_kstr(&w, "subject", m->subject);
        if (m->channel == CH_PUSH)
            jw_kstr(&w, "title", m->subject);
        jw_kstr(&w, "text", m->body);
        if (m->channel == CH_EMAIL)
            jw_kstr(&w, "html", m->html);
        if (m->channel == CH_PUSH) {
            jw_key(&w, "data");
            if (m->data)
                jw_raw(&w, m->data, strlen(m->data));
            else
                jw_null(&w);
        }
        jw_ktime(&w, "at", m->at);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    api_list_reply(call, &b, &w);
}

void h_dev_sink(struct api_call *call)
{
    struct st_sink_list *q = API_REQ(call, st_sink_list, ST_SINK_LIST, on_sink);
    q->wid = call->cred == NEED_ADMIN ? 0 : call->ws.wid; /* the admin sees every workspace */
    q->member_id = http_query(call->req, "member_id");
    if (!read_channel(call, &q->channel) || !read_limit(call, SINK_MAX, &q->limit))
        return;
    store_submit(call->api->store, &q->base);
}
