/* h_feed.c - a member's own feed: pages, the unread count, state changes
 * and read-all. Every query carries the member's and workspace's keys from
 * the verified token, so no other member's item can be reached. */
#include "api/api_int.h"
#include "engine/feeditem.h"
#include "live/live.h"

#include <stdlib.h>
#include <string.h>

static const char *const STATES[] = {"unread", "read", "ignored"};

static int state_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(STATES[i], s) == 0)
            return i;
    return -1;
}

void h_me(struct api_call *call)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    api_json_member(&w, &call->me);
    api_reply(call, 200, &b);
}

void h_feed_count(struct api_call *call)
{
    /* The member row was read for the token check, in this same turn of
     * the loop; its counter is maintained with every change. */
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kint(&w, "unread", call->me.unread);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

static void on_page(struct store_req *r)
{
    struct st_feed_page *q = (struct st_feed_page *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "items"))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct feed_item *it = &q->items[i];
        struct feed_item_view v = {it->nid, it->created_at, it->type, it->title, it->body,
                                   it->event_id, it->data_json, it->category, it->state};
        feed_item_json(&w, &v);
    }
    jw_arr_end(&w);
    jw_key(&w, "next_cursor");
    char cursor[32];
    if (q->more && q->n && cursor_encode(q->state, q->items[q->n - 1].nid, cursor,
                                         sizeof cursor) == 0)
        jw_str(&w, cursor);
    else
        jw_null(&w);
    api_list_reply(call, &b, &w);
}

void h_feed_list(struct api_call *call)
{
    struct st_feed_page *q = API_REQ(call, st_feed_page, ST_FEED_PAGE, on_page);
    const char *filter = http_query(call->req, "filter");
    const char *limit = http_query(call->req, "limit");
    const char *cursor = http_query(call->req, "cursor");
    q->state = NS_UNREAD;
    if (filter) {
        if (strcmp(filter, "all") == 0)
            q->state = FEED_ALL;
        else if ((q->state = state_parse(filter)) < 0) {
            api_error(call, 400, "invalid_field", "filter",
                      "filter must be unread, read, ignored or all");
            return;
        }
    }
    q->limit = 50;
    if (limit) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (!*limit || *end || v < 1 || v > 100) {
            api_error(call, 400, "invalid_field", "limit", "limit must be 1 to 100");
            return;
        }
        q->limit = (int)v;
    }
    if (cursor && cursor_decode(cursor, q->state, &q->before_nid) != 0) {
        api_error(call, 400, "invalid_field", "cursor",
                  "cursor is not one this feed gave out for this filter");
        return;
    }
    q->mid = call->me.mid;
    q->wid = call->ws.wid;
    store_submit(call->api->store, &q->base);
}

static void on_state(struct store_req *r)
{
    struct st_notif_state *q = (struct st_notif_state *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", NULL, "no such notification in your feed");
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    if (q->changed)
        live_publish(call->api->hub, &q->update, 1);
    char id[NOTIFICATION_ID_MAX];
    notification_id_format(q->nid, id);
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "id", id);
    jw_kstr(&w, "state", STATES[q->state]);
    jw_kint(&w, "unread", q->unread);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_feed_patch(struct api_call *call)
{
    int64_t nid;
    if (notification_id_parse(call->params[0], &nid) != 0) {
        api_error(call, 404, "not_found", NULL, "no such notification in your feed");
        return;
    }
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"state", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    json_t *state = json_object_get(body, "state");
    if (!state) {
        api_error(call, 400, "missing_field", "state", "state is required");
        return;
    }
    int s = state_parse(json_string_value(state));
    if (s < 0) {
        api_error(call, 400, "invalid_field", "state", "state must be read, unread or ignored");
        return;
    }
    struct st_notif_state *q = API_REQ(call, st_notif_state, ST_NOTIF_STATE, on_state);
    q->mid = call->me.mid;
    q->wid = call->ws.wid;
    q->nid = nid;
    q->state = s;
    q->now = call->now;
    q->by = api_audit_by(call);
    store_submit(call->api->store, &q->base);
}

static void on_read_all(struct store_req *r)
{
    struct st_read_all *q = (struct st_read_all *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    if (q->changed)
        live_publish(call->api->hub, &q->update, 1);
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kint(&w, "changed", q->changed);
    jw_kint(&w, "unread", q->unread);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_feed_read_all(struct api_call *call)
{
    struct st_read_all *q = API_REQ(call, st_read_all, ST_READ_ALL, on_read_all);
    q->mid = call->me.mid;
    q->wid = call->ws.wid;
    q->now = call->now;
    q->by = api_audit_by(call);
    store_submit(call->api->store, &q->base);
}
