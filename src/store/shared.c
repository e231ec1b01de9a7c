/* shared.c - what both storage backends build the same way (store_int.h). */
#include "store/store_int.h"
#include "core/buf.h"
#include "core/jw.h"
#include "deliver/segments.h"
#include "engine/decide.h"
#include "engine/feeditem.h"
#include "engine/render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENDER_NAMES 10

void store_updates_add(struct store_updates *l, const struct feed_update *u)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct feed_update *v = ARENA_NEW_N(l->a, struct feed_update, cap);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *u;
}

const char *store_new_item_json(struct arena *a, const struct feed_item_view *it,
                                int64_t unread)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "notification");
    feed_item_json(&w, it);
    jw_kint(&w, "unread", unread);
    jw_obj_end(&w);
    const char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

const char *store_state_json(struct arena *a, int64_t nid, int state, int64_t unread)
{
    char id[NOTIFICATION_ID_MAX];
    notification_id_format(nid, id);
    return arena_printf(a, "{\"ids\":[\"%s\"],\"state\":\"%s\",\"unread\":%lld}", id,
                        notification_state_name(state), (long long)unread);
}

const char *store_read_all_json(struct arena *a, int64_t changed, int64_t unread)
{
    return arena_printf(a, "{\"all\":true,\"state\":\"read\",\"changed\":%lld,\"unread\":%lld}",
                        (long long)changed, (long long)unread);
}

const char *store_deleted_json(struct arena *a, int64_t nid, int64_t unread)
{
    char id[NOTIFICATION_ID_MAX];
    notification_id_format(nid, id);
    return arena_printf(a, "{\"ids\":[\"%s\"],\"state\":\"deleted\",\"unread\":%lld}", id,
                        (long long)unread);
}

const char *store_subject_name(const struct event_view *ev, const struct decisions *d)
{
    const char *subject = json_string_value(json_object_get(ev->data, "member_id"));
    for (size_t i = 0; subject && i < d->n; i++)
        if (d->v[i].member && strcmp(d->v[i].member_id, subject) == 0)
            return d->v[i].member->name;
    return NULL;
}

const char *store_sender_name(const struct event_view *ev)
{
    if (ev->actor_name)
        return ev->actor_name;
    return ev->actor_id ? ev->actor_id : "someone";
}

const char *store_senders_add(const char *senders_json, const char *name, struct arena *a)
{
    json_t *names = json_loads(senders_json ? senders_json : "[]", 0, NULL);
    if (!json_is_array(names)) {
        json_decref(names);
        names = json_array();
    }
    bool present = false;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        if (json_string_value(v) && strcmp(json_string_value(v), name) == 0)
            present = true;
    if (!present && json_array_size(names) < MAX_SENDER_NAMES)
        json_array_append_new(names, json_string(name));
    char *text = json_dumps(names, JSON_COMPACT);
    const char *out = arena_strdup(a, text ? text : "[]");
    free(text);
    json_decref(names);
    return out;
}

size_t store_outbox_rows(unsigned channels, const struct member *m,
                         const struct external_text *x, struct arena *a,
                         struct store_outbox_row out[STORE_OUTBOX_ROWS_MAX])
{
    size_t n = 0;
    bool email = (channels & CH_BIT(CH_EMAIL)) && m->email;
    if (email)
        out[n++] = (struct store_outbox_row){CH_EMAIL, DS_PENDING, m->email, x->subject,
                                             x->text, x->html, 0, -1};
    if ((channels & CH_BIT(CH_SMS)) && m->phone) {
        char *text = arena_alloc(a, strlen(x->sms) + 1);
        sms_fold(x->sms, text); /* a locale's typography must not double the price */
        struct sms_count sc;
        if (sms_count(text, &sc) != 0)
            sc.segments = 1;
        int sms = (int)n;
        out[n++] = (struct store_outbox_row){CH_SMS, DS_PENDING, m->phone, NULL, text, NULL,
                                             sc.segments, -1};
        /* The email an unpaid SMS falls back to, held until then. */
        if (m->email && !(channels & CH_BIT(CH_EMAIL)))
            out[n++] = (struct store_outbox_row){CH_EMAIL, DS_HELD, m->email, x->subject,
                                                 x->text, x->html, 0, sms};
    }
    return n;
}

const char *store_push_data(struct arena *a, int64_t nid, const char *type,
                            const char *event_id, const char *url, const char *conversation_id)
{
    char ntf[NOTIFICATION_ID_MAX];
    notification_id_format(nid, ntf);
    struct buf data = BUF_INIT;
    struct jw w;
    jw_init(&w, &data);
    jw_obj(&w);
    jw_kstr(&w, "notification_id", ntf);
    jw_kstr(&w, "type", type);
    jw_kstr(&w, "event_id", event_id);
    jw_kstr(&w, "url", url);
    if (conversation_id)
        jw_kstr(&w, "conversation_id", conversation_id);
    jw_obj_end(&w);
    const char *s = arena_strndup(a, data.data, data.len);
    buf_free(&data);
    return s;
}

struct audit_write store_audit_state(const struct st_notif_state *q, int64_t eid,
                                     struct arena *a)
{
    return (struct audit_write){q->wid, q->now, audit_action_of_state(q->state), q->by.kind,
                                q->by.id, q->mid, NULL, eid, NULL, q->nid, 0,
                                audit_detail_state(a, q->old_state, NULL)};
}

struct audit_write store_audit_conversation_read(const struct st_conv_read *q, struct arena *a)
{
    return (struct audit_write){q->wid, q->now, AU_CONVERSATION_READ, q->by.kind, q->by.id,
                                q->mid, NULL, 0, NULL, 0, 0,
                                audit_detail_conversation(a, q->conversation_id, q->read_at,
                                                          q->suppressed)};
}

struct audit_write store_audit_delivery_skipped(const struct delivery *d, const char *reason,
                                                int64_t now, struct arena *a)
{
    return (struct audit_write){d->wid, now, AU_DELIVERY_SKIPPED, AUDIT_BY_HERALD, NULL, d->mid,
                                d->member_id, d->eid, d->event_id, d->nid, d->id,
                                audit_detail_delivery_skipped(a, d->channel, reason)};
}
