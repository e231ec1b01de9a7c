/* event.h - an incoming event, validated: the envelope's fields picked out
 * of the JSON body so the engine never re-parses them.
 *
 * The view borrows from the jansson body it was made from: keep the body
 * alive (one reference) as long as the view. */
#ifndef HERALD_ENGINE_EVENT_H
#define HERALD_ENGINE_EVENT_H

#include <jansson.h>
#include <stdint.h>

#include "engine/catalogue.h"

enum actor_kind { ACTOR_SYSTEM, ACTOR_MEMBER, ACTOR_CLIENT };

struct event_view {
    const struct event_type *type;
    const char *id;
    int64_t occurred_at; /* ms */
    const char *source;  /* one of the sources, or NULL */
    enum actor_kind actor_kind;
    const char *actor_id;   /* NULL for the system */
    const char *actor_name; /* may be NULL */
    int64_t starts_at;      /* data.appointment.starts_at in ms, or 0 */
    json_t *body;           /* the whole event (borrowed) */
    json_t *data;           /* body.data (borrowed) */
};

/* Why an event was refused: the first problem found, with its field path. */
struct event_error {
    const char *code; /* "missing_field", "invalid_field", "unknown_type" */
    char field[192];
    char message[256];
};

/* Validates body against the envelope rules and its type's data shape.
 * Returns 0 and fills *ev, or -1 and fills *err. */
int event_validate(json_t *body, struct event_view *ev, struct event_error *err);

const char *actor_kind_name(enum actor_kind k);
/* "booking page", "website widget", ... for a source, or NULL. */
const char *source_label(const char *source);
/* data.conversation.id of a message event, or NULL. */
const char *event_conversation_id(const struct event_view *ev);

#endif
