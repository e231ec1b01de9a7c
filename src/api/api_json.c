/* api_json.c - JSON shapes shared by several handlers: workspaces,
 * members, preference matrices, and strict key checking. */
#include "api/api_int.h"
#include "engine/prefs.h"

#include <string.h>

void api_json_matrix(struct jw *w, const struct pref_matrix *ws,
                     const struct pref_matrix *member)
{
    jw_key(w, "categories");
    jw_obj(w);
    for (int cat = 0; cat < CAT_COUNT; cat++) {
        jw_key(w, category_name((enum category)cat));
        jw_obj(w);
        for (int ch = 0; ch < CH_COUNT; ch++)
            jw_kbool(w, channel_name((enum channel)ch),
                     prefs_cell(ws, member, (enum category)cat, (enum channel)ch, NULL));
        jw_obj_end(w);
    }
    jw_obj_end(w);
    jw_key(w, "sources");
    jw_obj(w);
    for (int cat = 0; cat < CAT_COUNT; cat++) {
        jw_key(w, category_name((enum category)cat));
        jw_obj(w);
        for (int ch = 0; ch < CH_COUNT; ch++) {
            enum pref_source src;
            prefs_cell(ws, member, (enum category)cat, (enum channel)ch, &src);
            jw_kstr(w, channel_name((enum channel)ch), pref_source_name(src));
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

void api_json_workspace(struct jw *w, const struct workspace *ws)
{
    jw_obj(w);
    jw_kstr(w, "id", ws->id);
    jw_kstr(w, "name", ws->name);
    jw_kstr(w, "timezone", ws->timezone);
    jw_kint(w, "message_group_window_s", ws->message_group_window_s);
    jw_kstr(w, "booking_alert_audience", audience_name(ws->booking_alert_audience));
    jw_kbool(w, "phi_in_external_channels", ws->phi_in_external_channels);
    jw_kbool(w, "sms_fallback_to_email", ws->sms_fallback_to_email);
    jw_kint(w, "retention_days", ws->retention_days);
    jw_kstr(w, "email_sender_name", ws->email_sender_name);
    jw_kstr(w, "sms_sender_id", ws->sms_sender_id);
    jw_kstr(w, "app_url", ws->app_url);
    jw_key(w, "default_preferences");
    jw_obj(w);
    api_json_matrix(w, &ws->default_prefs, NULL);
    jw_obj_end(w);
    jw_kint(w, "credits", ws->credits);
    jw_ktime(w, "created_at", ws->created_at);
    jw_obj_end(w);
}

void api_json_member(struct jw *w, const struct member *m)
{
    jw_obj(w);
    jw_kstr(w, "id", m->id);
    jw_kstr(w, "name", m->name);
    jw_kstr(w, "email", m->email);
    jw_kstr(w, "phone", m->phone);
    jw_kstr(w, "role", role_name(m->role));
    jw_kstr(w, "timezone", m->timezone);
    jw_kstr(w, "locale", m->locale);
    jw_kbool(w, "active", m->active);
    jw_kint(w, "unread", m->unread);
    jw_ktime(w, "created_at", m->created_at);
    jw_ktime(w, "updated_at", m->updated_at);
    jw_obj_end(w);
}

bool api_known_keys(struct api_call *call, json_t *obj, const char *prefix,
                    const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (int i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0)
                ok = true;
        if (!ok) {
            char field[160];
            snprintf(field, sizeof field, "%s%s%.100s", prefix, *prefix ? "." : "", key);
            api_error(call, 400, "invalid_field", field, "%s is not a known field", field);
            return false;
        }
    }
    return true;
}

bool api_parse_matrix(struct api_call *call, json_t *categories, const char *prefix,
                      uint32_t *set_mask, uint32_t *set_on, uint32_t *clear_mask)
{
    char field[200];
    if (!json_is_object(categories)) {
        api_error(call, 400, "invalid_field", prefix, "%s must be an object", prefix);
        return false;
    }
    const char *cat_name;
    json_t *row;
    json_object_foreach(categories, cat_name, row) {
        int cat = category_parse(cat_name);
        snprintf(field, sizeof field, "%s.%.60s", prefix, cat_name);
        if (cat < 0) {
            api_error(call, 400, "invalid_field", field,
                      "%s is not a category (scheduling, practitioner_scheduling, billing, "
                      "clients_documents, workspace, communications)", field);
            return false;
        }
        if (!json_is_object(row)) {
            api_error(call, 400, "invalid_field", field, "%s must be an object of channels",
                      field);
            return false;
        }
        const char *ch_name;
        json_t *v;
        json_object_foreach(row, ch_name, v) {
            int ch = channel_parse(ch_name);
            snprintf(field, sizeof field, "%s.%.60s.%.60s", prefix, cat_name, ch_name);
            if (ch < 0) {
                api_error(call, 400, "invalid_field", field,
                          "%s is not a channel (in_app, email, sms, push)", field);
                return false;
            }
            uint32_t bit = PREF_BIT(cat, ch);
            if (json_is_null(v)) {
                *clear_mask |= bit;
                *set_mask &= ~bit;
            } else if (json_is_boolean(v)) {
                *set_mask |= bit;
                *clear_mask &= ~bit;
                if (json_is_true(v))
                    *set_on |= bit;
                else
                    *set_on &= ~bit;
            } else {
                api_error(call, 400, "invalid_field", field,
                          "%s must be true, false, or null to inherit", field);
                return false;
            }
        }
    }
    return true;
}

void api_json_delivery(struct jw *w, const struct delivery *d)
{
    char id[DELIVERY_ID_MAX];
    jw_obj(w);
    delivery_id_format(d->id, id);
    jw_kstr(w, "id", id);
    jw_kstr(w, "event_id", d->event_id);
    char nid[NOTIFICATION_ID_MAX];
    notification_id_format(d->nid, nid);
    jw_kstr(w, "notification_id", nid);
    jw_kstr(w, "member_id", d->member_id);
    jw_kstr(w, "channel", channel_name((enum channel)d->channel));
    jw_kstr(w, "provider", d->provider);
    jw_kstr(w, "status", delivery_status_name((enum delivery_status)d->status));
    jw_kstr(w, "reason", d->reason);
    jw_kstr(w, "to", d->to);
    if (d->channel == CH_SMS)
        jw_kint(w, "segments", d->segments);
    jw_kstr(w, "message_id", d->message_id);
    jw_key(w, "fallback_for");
    if (d->fallback_for) {
        delivery_id_format(d->fallback_for, id);
        jw_str(w, id);
    } else {
        jw_null(w);
    }
    jw_key(w, "next_attempt_at");
    if (d->status == DS_PENDING || d->status == DS_FAILED || d->status == DS_SENDING)
        jw_time(w, d->next_at);
    else
        jw_null(w);
    jw_key(w, "attempts");
    jw_arr(w);
    for (size_t i = 0; i < d->ntries; i++) {
        const struct delivery_attempt *t = &d->tries[i];
        jw_obj(w);
        jw_ktime(w, "at", t->at);
        jw_kbool(w, "ok", t->ok);
        jw_kstr(w, "answer", t->answer);
        jw_kint(w, "latency_ms", t->latency_ms);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_ktime(w, "created_at", d->created_at);
    jw_ktime(w, "updated_at", d->updated_at);
    jw_obj_end(w);
}
