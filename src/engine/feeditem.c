/* feeditem.c - the JSON of one feed item and of a message pop-up (see feeditem.h). */
#include "engine/feeditem.h"
#include "engine/event.h"
#include "engine/model.h"
#include "core/arena.h"
#include "core/buf.h"

#include <jansson.h>

#include <string.h>

const char *notification_state_name(int state)
{
    static const char *const names[] = {"unread", "read", "ignored"};
    return state >= 0 && state < 3 ? names[state] : "unread";
}

void feed_item_json(struct jw *w, const struct feed_item_view *it)
{
    char id[NOTIFICATION_ID_MAX];
    notification_id_format(it->nid, id);
    jw_obj(w);
    jw_kstr(w, "id", id);
    jw_kstr(w, "type", it->type);
    jw_kstr(w, "category", category_name((enum category)it->category));
    jw_kstr(w, "title", it->title);
    jw_kstr(w, "body", it->body);
    jw_kstr(w, "state", notification_state_name(it->state));
    jw_ktime(w, "created_at", it->created_at);
    jw_kstr(w, "event_id", it->event_id);
    jw_key(w, "data");
    if (it->data_json)
        jw_raw(w, it->data_json, strlen(it->data_json));
    else
        jw_null(w);
    jw_obj_end(w);
}

const char *message_popup_json(const struct event_view *ev, struct arena *a)
{
    json_t *conv = json_object_get(ev->data, "conversation");
    json_t *msg = json_object_get(ev->data, "message");
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "conversation");
    jw_obj(&w);
    jw_kstr(&w, "id", json_string_value(json_object_get(conv, "id")));
    jw_kstr(&w, "name", json_string_value(json_object_get(conv, "name")));
    jw_obj_end(&w);
    jw_key(&w, "message");
    jw_obj(&w);
    jw_kstr(&w, "id", json_string_value(json_object_get(msg, "id")));
    jw_kstr(&w, "text", json_string_value(json_object_get(msg, "text")));
    jw_obj_end(&w);
    jw_key(&w, "from");
    jw_obj(&w);
    jw_kstr(&w, "kind", actor_kind_name(ev->actor_kind));
    jw_kstr(&w, "id", ev->actor_id);
    jw_kstr(&w, "name", ev->actor_name);
    jw_obj_end(&w);
    jw_kstr(&w, "event_id", ev->id);
    jw_ktime(&w, "sent_at", ev->occurred_at);
    jw_obj_end(&w);
    const char *out = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return out;
}
