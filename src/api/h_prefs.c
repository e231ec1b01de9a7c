/* h_prefs.c - a member's preferences: the matrix with where each value
 * comes from, cancellation alerts, the push switch, and the types whose
 * channels no preference can turn off. */
#include "api/api_int.h"
#include "engine/catalogue.h"
#include "engine/prefs.h"

static void reply_prefs(struct api_call *call, const struct member *m)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    api_json_matrix(&w, &call->ws.default_prefs, &m->prefs);
    jw_key(&w, "cancellation_alerts");
    jw_obj(&w);
    jw_kstr(&w, "channels", cancel_channels_name(m->cancel_channels));
    jw_key(&w, "within_days");
    if (m->cancel_within_days)
        jw_int(&w, m->cancel_within_days);
    else
        jw_null(&w);
    jw_obj_end(&w);
    jw_kbool(&w, "push_enabled", m->push_enabled);
    /* Critical is per event type, not per category: a member may turn
     * billing email off for invoices, yet payment failures still come. */
    jw_key(&w, "critical");
    jw_arr(&w);
    for (size_t i = 0; catalogue_at(i); i++) {
        const struct event_type *t = catalogue_at(i);
        unsigned forced = prefs_forced(t);
        if (!forced)
            continue;
        jw_obj(&w);
        jw_kstr(&w, "type", t->name);
        jw_kstr(&w, "category", category_name(t->category));
        jw_key(&w, "channels");
        jw_arr(&w);
        for (int ch = 0; ch < CH_COUNT; ch++)
            if (forced & CH_BIT(ch))
                jw_str(&w, channel_name((enum channel)ch));
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_prefs_get(struct api_call *call)
{
    reply_prefs(call, &call->me);
}

static void on_patched(struct store_req *r)
{
    struct st_prefs_patch *q = (struct st_prefs_patch *)r;
    if (r->rc != STORE_OK)
        api_store_error(CALL_OF(r), r->rc);
    else
        reply_prefs(CALL_OF(r), &q->out);
}

void h_prefs_patch(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"categories", "cancellation_alerts", "push_enabled",
                                       "sources", "critical", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct st_prefs_patch *q = API_REQ(call, st_prefs_patch, ST_PREFS_PATCH, on_patched);
    struct prefs_patch *p = &q->patch;
    p->cancel_channels = p->cancel_within_days = p->push_enabled = -1;

    json_t *cats = json_object_get(body, "categories");
    if (cats && !api_parse_matrix(call, cats, "categories", &p->set_mask, &p->set_on,
                                  &p->clear_mask))
        return;
    json_t *alerts = json_object_get(body, "cancellation_alerts");
    if (alerts) {
        static const char *const akeys[] = {"channels", "within_days", NULL};
        if (!json_is_object(alerts)) {
            api_error(call, 400, "invalid_field", "cancellation_alerts",
                      "cancellation_alerts must be an object");
            return;
        }
        if (!api_known_keys(call, alerts, "cancellation_alerts", akeys))
            return;
        json_t *ch = json_object_get(alerts, "channels");
        if (ch) {
            p->cancel_channels = cancel_channels_parse(json_string_value(ch));
            if (p->cancel_channels < 0) {
                api_error(call, 400, "invalid_field", "cancellation_alerts.channels",
                          "cancellation_alerts.channels must be off, email, sms or "
                          "email_and_sms");
                return;
            }
        }
        json_t *days = json_object_get(alerts, "within_days");
        if (days) {
            if (json_is_null(days)) {
                p->cancel_within_days = 0;
            } else if (json_is_integer(days) && json_integer_value(days) >= 1 &&
                       json_integer_value(days) <= 365) {
                p->cancel_within_days = (int)json_integer_value(days);
            } else {
                api_error(call, 400, "invalid_field", "cancellation_alerts.within_days",
                          "cancellation_alerts.within_days must be 1 to 365, or null for "
                          "anytime");
                return;
            }
        }
    }
    json_t *push = json_object_get(body, "push_enabled");
    if (push) {
        if (!json_is_boolean(push)) {
            api_error(call, 400, "invalid_field", "push_enabled",
                      "push_enabled must be true or false");
            return;
        }
        p->push_enabled = json_is_true(push);
    }
    q->mid = call->me.mid;
    q->wid = call->ws.wid;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}
