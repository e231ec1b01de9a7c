/* feeditem.c - the JSON of one feed item (see feeditem.h). */
#include "engine/feeditem.h"
#include "engine/model.h"

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
