/* feeditem.h - the JSON of one feed item, the same wherever it appears: a
 * feed page, a stream's `notification` event, a replay; and of a message
 * pop-up (a stream's `message` event), the same from either store. */
#ifndef HERALD_ENGINE_FEEDITEM_H
#define HERALD_ENGINE_FEEDITEM_H

#include <stdint.h>

#include "core/jw.h"

struct feed_item_view {
    int64_t nid, created_at;
    const char *type, *title, *body, *event_id;
    const char *data_json; /* the event's data as JSON text, or NULL */
    int category, state;
};

const char *notification_state_name(int state); /* unread, read, ignored */
void feed_item_json(struct jw *w, const struct feed_item_view *it);

struct arena;
struct event_view;
/* A message.received's pop-up: conversation, message, sender, event id
 * and time; in a. */
const char *message_popup_json(const struct event_view *ev, struct arena *a);

#endif
