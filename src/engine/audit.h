/* audit.h - the audit trail's vocabulary: what happened to a notification,
 * who did it, and the JSON of one entry.
 *
 * The trail is append-only: each store writes one row per step (created or
 * skipped at ingest, grouped into a message window, each delivery attempt
 * with the provider's answer, each read/unread/ignored) in the transaction
 * that makes the step, and never changes a row afterwards; retention
 * removes whole rows with the workspace's other old data. The details are
 * built here, once for both stores, as small JSON objects. */
#ifndef HERALD_ENGINE_AUDIT_H
#define HERALD_ENGINE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

struct arena;
struct jw;

enum audit_action { /* stored as integers: append only */
    AU_CREATED = 1,      /* a notification was made for a member */
    AU_SKIPPED,          /* a member was considered and not notified: why */
    AU_GROUPED,          /* a message joined the member's conversation window */
    AU_SUPPRESSED,       /* a window closed with the conversation read in time */
    AU_ATTEMPT,          /* one delivery attempt and the provider's answer */
    AU_DELIVERY_SKIPPED, /* a delivery that will not be sent: why */
    AU_READ,
    AU_UNREAD,
    AU_IGNORED,
    AU_CONVERSATION_READ, /* the host said the member read the conversation */
    AU_ACTION_END
};

enum audit_actor_kind { /* stored as integers */
    AUDIT_BY_HERALD,   /* Herald itself: window closing, the deliverer */
    AUDIT_BY_API_KEY,  /* the host app, by its workspace key (id: the key's id) */
    AUDIT_BY_MEMBER,   /* the member, with their token (id: the member's id) */
    AUDIT_BY_END
};

const char *audit_action_name(int action);      /* "notification.created"... */
int audit_action_parse(const char *name);       /* 0 when unknown */
const char *audit_actor_kind_name(int kind);    /* "herald", "api_key", "member" */
int audit_action_of_state(int notification_state); /* AU_READ... for NS_* */

/* One entry as a store writes it. The member and the event are named by
 * their ids when the caller has them, else by their keys (mid, eid), which
 * the store turns into ids in the same statement; 0/NULL: none. */
struct audit_write {
    int64_t wid, at;
    int action, actor_kind;
    const char *actor_id;
    int64_t mid;
    const char *member_id;
    int64_t eid;
    const char *event_id;
    int64_t nid, did;
    const char *detail;
};

/* One entry as a store reads it back. */
struct audit_entry {
    int64_t id, at, nid, did;
    int action, actor_kind;
    const char *actor_id, *member_id, *event_id;
    const char *detail; /* JSON object text, or NULL */
};

/* {"id","at","action","actor":{"kind","id"},"member_id","event_id",
 *  "notification_id","delivery_id","details"}: the one shape of an entry,
 * in a list and in the JSON-lines export. */
void audit_entry_json(struct jw *w, const struct audit_entry *e);

/* Details, as JSON text in a. */
const char *audit_detail_created(struct arena *a, const char *type, int category,
                                 unsigned channels, unsigned reasons);
const char *audit_detail_reason(struct arena *a, const char *reason);
const char *audit_detail_grouped(struct arena *a, const char *conversation_id,
                                 int64_t closes_at);
/* A window closed without a notification: the conversation, and why. */
const char *audit_detail_grouped_reason(struct arena *a, const char *conversation_id,
                                        const char *reason);
struct audit_attempt {
    int channel, attempt, status;
    bool ok;
    const char *provider, *answer;
    int64_t latency_ms, retry_at; /* retry_at 0: none */
};
const char *audit_detail_attempt(struct arena *a, const struct audit_attempt *t);
const char *audit_detail_delivery_skipped(struct arena *a, int channel, const char *reason);
/* A state change: from which state, and "read_all" when it came from one. */
const char *audit_detail_state(struct arena *a, int from_state, const char *via);
const char *audit_detail_conversation(struct arena *a, const char *conversation_id,
                                      int64_t read_at, bool suppressed);

#endif
