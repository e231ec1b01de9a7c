/* outcome.c - the JSON answer of an accepted event (see outcome.h). */
#include "engine/outcome.h"
#include "core/jw.h"

void outcome_channels(struct jw *w, unsigned channels)
{
    jw_arr(w);
    for (int ch = 0; ch < CH_COUNT; ch++)
        if (channels & CH_BIT(ch))
            jw_str(w, channel_name((enum channel)ch));
    jw_arr_end(w);
}

void outcome_reasons(struct jw *w, unsigned reasons)
{
    jw_arr(w);
    for (unsigned bit = 0; bit < RCP_COUNT_BITS; bit++)
        if (reasons & (1u << bit))
            jw_str(w, recipient_rule_reason(1u << bit));
    jw_arr_end(w);
}

void outcome_json(const struct event_view *ev, int64_t received_at,
                  const struct decisions *d, const int64_t *nids, const int64_t *closes_at,
                  struct buf *out)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "event");
    jw_obj(&w);
    jw_kstr(&w, "id", ev->id);
    jw_kstr(&w, "type", ev->type->name);
    jw_key(&w, "occurred_at");
    jw_time(&w, ev->occurred_at);
    jw_key(&w, "received_at");
    jw_time(&w, received_at);
    jw_obj_end(&w);

    jw_key(&w, "notifications");
    jw_arr(&w);
    for (size_t i = 0; i < d->n; i++) {
        const struct decision *x = &d->v[i];
        if (x->skip || !nids[i])
            continue;
        char id[NOTIFICATION_ID_MAX];
        notification_id_format(nids[i], id);
        jw_obj(&w);
        jw_kstr(&w, "id", id);
        jw_kstr(&w, "member_id", x->member_id);
        jw_kstr(&w, "category", category_name(x->category));
        jw_key(&w, "channels");
        outcome_channels(&w, x->channels);
        jw_key(&w, "reasons");
        outcome_reasons(&w, x->reasons);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);

    if (closes_at) {
        jw_key(&w, "grouped");
        jw_arr(&w);
        for (size_t i = 0; i < d->n; i++) {
            if (d->v[i].skip || !closes_at[i])
                continue;
            jw_obj(&w);
            jw_kstr(&w, "member_id", d->v[i].member_id);
            jw_ktime(&w, "closes_at", closes_at[i]);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
    }

    jw_key(&w, "skipped");
    jw_arr(&w);
    for (size_t i = 0; i < d->n; i++) {
        const struct decision *x = &d->v[i];
        if (!x->skip)
            continue;
        jw_obj(&w);
        jw_kstr(&w, "member_id", x->member_id);
        jw_kstr(&w, "reason", x->skip);
        if (x->member)
            jw_kstr(&w, "category", category_name(x->category));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}

size_t outcome_notification_keys(const char *outcome_json, struct arena *a, int64_t **keys)
{
    json_t *o = json_loads(outcome_json, 0, NULL);
    json_t *list = json_object_get(o, "notifications");
    size_t n = 0;
    *keys = ARENA_NEW_N(a, int64_t, json_array_size(list) + 1);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        int64_t nid;
        if (notification_id_parse(json_string_value(json_object_get(item, "id")), &nid) == 0)
            (*keys)[n++] = nid;
    }
    json_decref(o);
    return n;
}
