/* h_audit.c - the audit trail: GET /v1/audit (JSON pages) and
 * GET /v1/audit/export (the same entries as JSON lines, a large page at a
 * time, the next page's cursor in a header). Oldest first; filters by
 * member, event, notification, action and time. */
#include "api/api_int.h"
#include "core/hostid.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define EXPORT_MAX 5000
/* Rows a page may read to find its entries when a filter is checked row by
 * row (action, event, notification): reads on SQLite run on the loop. */
#define SCAN_MAX 20000

/* A time query parameter; false (answered) when malformed. */
static bool read_time(struct api_call *call, const char *name, int64_t *ms)
{
    const char *v = http_query(call->req, name);
    if (!v)
        return true;
    if (rfc3339_parse(v, ms) != 0) {
        api_error(call, 400, "invalid_field", name,
                  "%s must be an RFC 3339 time such as 2026-11-21T09:30:00Z", name);
        return false;
    }
    return true;
}

/* Fills q from the query; false (answered) on bad input. */
static bool read_filters(struct api_call *call, struct st_audit_list *q, int def, int max)
{
    struct http_request *req = call->req;
    q->wid = call->ws.wid;
    q->member_id = http_query(req, "member_id");
    if (q->member_id && !hostid_valid(q->member_id)) {
        api_error(call, 400, "invalid_field", "member_id",
                  "a member id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return false;
    }
    q->event_id = http_query(req, "event_id");
    if (q->event_id && !hostid_valid(q->event_id)) {
        api_error(call, 400, "invalid_field", "event_id",
                  "an event id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return false;
    }
    const char *v = http_query(req, "notification_id");
    if (v && notification_id_parse(v, &q->nid) != 0) {
        api_error(call, 400, "invalid_field", "notification_id",
                  "notification_id is not a notification's id");
        return false;
    }
    v = http_query(req, "action");
    if (v && !(q->action = audit_action_parse(v))) {
        struct buf names = BUF_INIT;
        for (int i = 1; i < AU_ACTION_END; i++)
            buf_printf(&names, "%s%s", i > 1 ? ", " : "", audit_action_name(i));
        api_error(call, 400, "invalid_field", "action", "action must be one of %s", names.data);
        buf_free(&names);
        return false;
    }
    if (!read_time(call, "since", &q->since) || !read_time(call, "until", &q->until))
        return false;
    if (q->until && q->until <= q->since) {
        api_error(call, 400, "invalid_field", "until", "until must be after since");
        return false;
    }
    q->limit = def;
    if ((v = http_query(req, "limit"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > max) {
            api_error(call, 400, "invalid_field", "limit", "limit must be 1 to %d", max);
            return false;
        }
        q->limit = (int)n;
    }
    q->scan = q->action || q->nid || q->event_id ? SCAN_MAX : q->limit;
    if ((v = http_query(req, "cursor")) && cursor_decode(v, CURSOR_AUDIT, &q->after_id) != 0) {
        api_error(call, 400, "invalid_field", "cursor", "cursor is not one the audit trail gave out");
        return false;
    }
    return true;
}

static bool next_cursor(const struct st_audit_list *q, char *out, size_t cap)
{
    return q->more && q->last_id && cursor_encode(CURSOR_AUDIT, q->last_id, out, cap) == 0;
}

static void on_audit(struct store_req *r)
{
    struct st_audit_list *q = (struct st_audit_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "items"))
        return;
    for (size_t i = 0; i < q->n; i++)
        audit_entry_json(&w, &q->items[i]);
    jw_arr_end(&w);
    char cursor[32];
    jw_kstr(&w, "next_cursor", next_cursor(q, cursor, sizeof cursor) ? cursor : NULL);
    api_list_reply(call, &b, &w);
}

void h_audit_list(struct api_call *call)
{
    struct st_audit_list *q = API_REQ(call, st_audit_list, ST_AUDIT_LIST, on_audit);
    if (read_filters(call, q, PAGE_DEFAULT, PAGE_MAX))
        store_submit(call->api->store, &q->base);
}

static void on_export(struct store_req *r)
{
    struct st_audit_list *q = (struct st_audit_list *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < q->n; i++) {
        struct jw w;
        jw_init(&w, &b);
        audit_entry_json(&w, &q->items[i]);
        buf_addc(&b, '\n');
    }
    char cursor[32];
    if (next_cursor(q, cursor, sizeof cursor))
        http_add_header(call->req, "Herald-Next-Cursor", cursor);
    api_reply_typed(call, 200, "application/x-ndjson", &b);
}

void h_audit_export(struct api_call *call)
{
    struct st_audit_list *q = API_REQ(call, st_audit_list, ST_AUDIT_LIST, on_export);
    if (read_filters(call, q, EXPORT_MAX, EXPORT_MAX))
        store_submit(call->api->store, &q->base);
}
