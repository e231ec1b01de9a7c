/* store_int.h - private to the storage backends (store/sqlite/, store/pg/):
 * the rows and texts both build the same way, written once so the two
 * stores cannot drift apart. The SQL stays in each backend. */
#ifndef HERALD_STORE_STORE_INT_H
#define HERALD_STORE_STORE_INT_H

#include "engine/audit.h"
#include "store/store.h"

struct decisions;
struct external_text;
struct feed_item_view;

/* A change to a member's feed: appended to their log with the next seq
 * (the stream's event id), moving their unread count by unread_delta. */
enum store_change_kind { STORE_CHANGE_NEW = 1, STORE_CHANGE_STATE = 2, STORE_CHANGE_READ_ALL = 3 };
struct store_feed_change {
    int64_t mid;
    enum store_change_kind kind;
    int64_t nid;     /* STORE_CHANGE_NEW, STORE_CHANGE_STATE */
    int state;       /* STORE_CHANGE_STATE */
    int64_t changed; /* STORE_CHANGE_READ_ALL */
    int unread_delta;
    int64_t at;
};

/* A growable list of updates to publish, in an arena. */
struct store_updates {
    struct feed_update *v;
    size_t n, cap;
    struct arena *a;
};
void store_updates_add(struct store_updates *l, const struct feed_update *u);

/* A notification about to be written. */
struct store_new_notification {
    int64_t wid, mid, eid;
    const char *type;
    enum category category;
    unsigned channels, reasons;
    const char *title, *body;
    int64_t at;
};

/* An audit entry's time in SQL: the step's, or the workspace's latest
 * entry's if that is later (a step recorded after another one, such as a
 * delivery outcome offered again). So the trail's times never go back in
 * commit order, and a page cursor on (at, id) never passes an entry that
 * commits later. t: the step's time, w: the workspace key, as SQL. */
#define STORE_AUDIT_AT_SQLITE(t, w) \
    "max(" t ", coalesce((SELECT max(at) FROM audit WHERE wid = " w "), 0))"
#define STORE_AUDIT_AT_PG(t, w) \
    "greatest(" t ", coalesce((SELECT max(at) FROM audit WHERE wid = " w "), 0))"

/* The trail's entries both backends write alike, details in a: a
 * notification's state changed by a member or key (q->old_state read; eid
 * its event's key), a conversation read while its window was open, a
 * delivery that will not be sent. */
struct audit_write store_audit_state(const struct st_notif_state *q, int64_t eid,
                                     struct arena *a);
struct audit_write store_audit_conversation_read(const struct st_conv_read *q, struct arena *a);
struct audit_write store_audit_delivery_skipped(const struct delivery *d, const char *reason,
                                                int64_t now, struct arena *a);

/* The data of a stream's events, in a: a new item
 * {"notification": item, "unread": n}; a state change; a read-all; an item
 * a replay finds pruned since it was announced. */
const char *store_new_item_json(struct arena *a, const struct feed_item_view *it,
                                int64_t unread);
const char *store_state_json(struct arena *a, int64_t nid, int state, int64_t unread);
const char *store_read_all_json(struct arena *a, int64_t changed, int64_t unread);
const char *store_deleted_json(struct arena *a, int64_t nid, int64_t unread);

/* The member named by the event's data.member_id among the decisions (the
 * subject a text may name), or NULL. */
const char *store_subject_name(const struct event_view *ev, const struct decisions *d);

/* A message's sender as a window lists them; senders_json with name added
 * (distinct, at most 10), in a. */
const char *store_sender_name(const struct event_view *ev);
const char *store_senders_add(const char *senders_json, const char *name, struct arena *a);

/* The email and SMS rows a notification makes (an SMS also gets the email
 * it falls back to, held), in order; fallback_of is the index of the row a
 * held one backs up, or -1. Push rows are one per device (SQL). */
struct store_outbox_row {
    int channel, status;
    const char *to, *subject, *body, *html;
    int segments;
    int fallback_of;
};
#define STORE_OUTBOX_ROWS_MAX 3
size_t store_outbox_rows(unsigned channels, const struct member *m,
                         const struct external_text *x, struct arena *a,
                         struct store_outbox_row out[STORE_OUTBOX_ROWS_MAX]);
/* A push's data for the app: notification, type, event, url and, for a
 * grouped message, the conversation. */
const char *store_push_data(struct arena *a, int64_t nid, const char *type,
                            const char *event_id, const char *url, const char *conversation_id);

#endif
