/* outcome.h - the answer to an accepted event, as JSON.
 *
 * It is built once, inside the transaction that stores the event, and kept
 * with it: a repeated event (same id, same body) is answered with exactly
 * these bytes. */
#ifndef HERALD_ENGINE_OUTCOME_H
#define HERALD_ENGINE_OUTCOME_H

#include "core/buf.h"
#include "engine/decide.h"
#include "engine/event.h"

/* nids[i] is the notification made for decision i (0 when none); for a
 * message, closes_at[i] is when decision i's grouping window closes (the
 * answer then lists it under "grouped"), else closes_at is NULL. */
void outcome_json(const struct event_view *ev, int64_t received_at,
                  const struct decisions *d, const int64_t *nids, const int64_t *closes_at,
                  struct buf *out);

/* The notification keys an answer lists, read back from its JSON (the
 * store finds an event's notifications this way, without an index). */
#include "core/arena.h"
size_t outcome_notification_keys(const char *outcome_json, struct arena *a, int64_t **keys);

/* Writes ["in_app","push"] for a CH_BIT mask, and the reasons of a
 * recipient_rule mask, as JSON arrays. */
struct jw;
void outcome_channels(struct jw *w, unsigned channels);
void outcome_reasons(struct jw *w, unsigned reasons);

#endif
