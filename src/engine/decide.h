/* decide.h - who must know about an event, and on which channels.
 *
 * engine_decide applies PRODUCT.md's rules in a fixed order for each
 * candidate: unknown member -> inactive -> own action (scheduling moves to
 * practitioner_scheduling, other categories skip) -> the preference matrix
 * (critical types force in-app and email) -> cancellation alerts (email and
 * SMS of a cancellation follow the member's alert setting alone) -> the
 * member's push switch and reachable addresses. A member with no channel
 * left is skipped with reason "preference".
 *
 * Members come from a lookup the caller provides (the store inside its
 * transaction, or a test's fake), so this file does no I/O. */
#ifndef HERALD_ENGINE_DECIDE_H
#define HERALD_ENGINE_DECIDE_H

#include <stddef.h>

#include "core/arena.h"
#include "engine/event.h"
#include "engine/model.h"

struct member_lookup {
    /* The member with this host id, or NULL when unknown. */
    struct member *(*by_id)(void *ctx, const char *id);
    /* Active members whose role bit (1 << role) is in role_mask; all roles
     * when role_mask is 0. Writes an arena-allocated array to *out. */
    size_t (*active)(void *ctx, unsigned role_mask, struct member ***out);
    void *ctx;
};

struct decision {
    const char *member_id;
    struct member *member; /* NULL when unknown */
    unsigned reasons;      /* recipient_rule bits: why chosen */
    const char *skip;      /* NULL when notified; else the reason */
    enum category category;
    unsigned channels;     /* CH_BIT mask */
};

struct decisions {
    struct decision *v;
    size_t n, cap;
};

/* Fills out with one decision per distinct candidate, in the order the
 * rules name them. Everything is allocated in a. */
void engine_decide(const struct event_view *ev, const struct workspace *ws,
                   const struct member_lookup *lookup, struct arena *a,
                   struct decisions *out);

/* True when a cancellation alert is due for this member: the setting is on
 * and the appointment starts within its window of the cancellation. */
bool cancellation_alert_due(const struct member *m, const struct event_view *ev);

#endif
