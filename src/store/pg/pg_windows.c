/* pg_windows.c - grouping windows for messages (PRODUCT.md "Messages").
 *
 * As in sq_windows.c: the first message to a recipient in a conversation
 * opens a window that closes message_group_window_s later; messages before
 * then join it, and when it closes the recipient gets one notification
 * unless they read the conversation in time. The closing claims the row
 * (status 0 -> 1 or 2) in the transaction that makes the notification.
 *
 * Several nodes close windows at once. Every writer of a window holds its
 * member's row first (ingest locks the recipients; the closer locks the
 * members of the windows it found), then the window's row, so a window is
 * closed exactly once and nobody waits in the opposite order.
 *
 * A closing leaves its entry in the audit trail (suppressed, skipped for
 * an inactive member, or created), by Herald; a conversation read that
 * reached an open window leaves one by whoever said so. */
#include "store/pg/pg_int.h"
#include "core/log.h"
#include "engine/render.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r
/* How often opening a window may find one opened meanwhile (it cannot
 * while the caller holds the member's row; this only bounds the loop). */
#define OPEN_TRIES 3

enum window_status { WINDOW_OPEN = 0, WINDOW_NOTIFIED = 1, WINDOW_READ = 2 };

/* One open window, as read (and locked) for closing or joining. */
#define WINDOW_COLS                                                                  \
    "id, wid, mid, conversation_name, conversation_id, messages, senders, last_at, " \
    "read_at, last_eid, channels, closes_at"

struct window {
    int64_t id, wid, mid, messages, last_at, last_eid, closes_at;
    const char *conv_name, *conv_id, *senders;
    unsigned channels;
    bool was_read; /* read at or after the last message, before the closing time */
};

static void load_window(const PGresult *res, int row, struct arena *a, struct window *w)
{
    w->id = pg_int(res, row, 0);
    w->wid = pg_int(res, row, 1);
    w->mid = pg_int(res, row, 2);
    w->conv_name = pg_text(res, row, 3, a);
    w->conv_id = pg_text(res, row, 4, a);
    w->messages = pg_int(res, row, 5);
    w->senders = pg_text(res, row, 6, a);
    w->last_at = pg_int(res, row, 7);
    int64_t read_at = pg_int(res, row, 8);
    w->last_eid = pg_int(res, row, 9);
    w->channels = (unsigned)pg_int(res, row, 10);
    w->closes_at = pg_int(res, row, 11);
    w->was_read = !pg_isnull(res, row, 8) && read_at >= w->last_at && read_at < w->closes_at;
}


/* The member as they are now: *found false when gone. */
static int load_member(struct pg_conn *c, int64_t mid, struct arena *a, struct member *m,
                       bool *found)
{
    static const char SQL[] = "SELECT " PG_MEMBER_COLS " FROM members m WHERE m.mid = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *found = PQntuples(res) == 1;
    if (*found)
        pg_load_member(res, 0, 0, a, m);
    PQclear(res);
    return STORE_OK;
}

/* The event of the window's last message, for the in-app item's data. */
static int last_event(struct pg_conn *c, int64_t eid, struct arena *a, const char **event_id,
                      const char **data)
{
    static const char SQL[] = "SELECT id, data FROM events WHERE eid = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, eid);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *event_id = *data = NULL;
    if (PQntuples(res) == 1) {
        *event_id = pg_text(res, 0, 0, a);
        *data = pg_text(res, 0, 1, a);
    }
    PQclear(res);
    return STORE_OK;
}

static int link_notification(struct pg_conn *c, int64_t id, int64_t nid)
{
    static const char SQL[] = "UPDATE message_windows SET nid = $2 WHERE id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, id);
    pgp_int(&p, nid);
    return pg_cmd(c, SQL, &p, NULL);
}

/* The trail's entry for a window's closing, by Herald: suppressed,
 * skipped or created (nid). */
static int audit_closing(struct pg_conn *c, const struct window *w, int64_t now, int action,
                         int64_t nid, const char *detail)
{
    struct audit_write au = {w->wid, now, action, AUDIT_BY_HERALD, NULL, w->mid, NULL,
                             w->last_eid, NULL, nid, 0, detail};
    return pg_audit_add(c, &au);
}

/* The notification of a claimed window: its row, its outbox rows and its
 * feed change. */
static int notify_window(struct pg_conn *c, const struct window *w, int64_t now,
                         struct arena *a, struct store_updates *out, size_t *deliveries)
{
    struct member m;
    bool found;
    int rc = load_member(c, w->mid, a, &m, &found);
    if (rc != STORE_OK || !found)
        return rc; /* gone members get nothing */
    if (!m.active) /* nor do inactive ones, which the trail says */
        return audit_closing(c, w, now, AU_SKIPPED, 0,
                             audit_detail_grouped_reason(a, w->conv_id, "inactive"));

    struct rendered text;
    render_message_group(c->render, &m, w->messages, w->senders, w->conv_name, a, &text);
    struct store_new_notification n = {w->wid, w->mid, w->last_eid, "message.received",
                                    CAT_COMMUNICATIONS, w->channels, RCP_PARTICIPANTS,
                                    text.title, text.body, now};
    int64_t nid;
    if ((rc = pg_insert_notification(c, &n, &nid)) != STORE_OK ||
        (rc = link_notification(c, w->id, nid)) != STORE_OK ||
        (rc = audit_closing(c, w, now, AU_CREATED, nid,
                            audit_detail_created(a, n.type, n.category, w->channels,
                                                 n.reasons))) != STORE_OK)
        return rc;

    /* Email, SMS and push go to the outbox. */
    bool outbox;
    if ((rc = pg_outbox_wanted(c, w->channels, w->mid, &outbox)) != STORE_OK)
        return rc;
    if (outbox) {
        struct workspace ws;
        if ((rc = pg_workspace_by_wid(c, w->wid, a, &ws)) != STORE_OK)
            return rc;
        struct external_text ext;
        render_message_group_external(c->render, &ws, &m, w->messages, w->senders,
                                      w->conv_name, a, &ext);
        if ((rc = pg_outbox_add(c, &n, nid, &m, &ext, NULL, w->conv_id, a, deliveries)) !=
            STORE_OK)
            return rc;
    }

    if (!(w->channels & CH_BIT(CH_IN_APP)))
        return STORE_OK;
    const char *event_id, *data;
    if ((rc = last_event(c, w->last_eid, a, &event_id, &data)) != STORE_OK)
        return rc;
    return pg_publish_new(c, &n, nid, event_id, data, a, out);
}

/* Claims and closes one window the caller has locked: the notification,
 * or nothing when the conversation was read in time. */
static int close_window(struct pg_conn *c, const struct window *w, int64_t now,
                        struct arena *a, struct store_updates *out, bool *closed,
                        size_t *deliveries)
{
    static const char CLAIM[] = "UPDATE message_windows SET status = $2, closed_at = $3 "
                                "WHERE id = $1 AND status = 0";
    *closed = false;
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, w->id);
    pgp_int(&p, w->was_read ? WINDOW_READ : WINDOW_NOTIFIED);
    pgp_int(&p, now);
    int64_t claimed = 0;
    if (pg_cmd(c, CLAIM, &p, &claimed) != STORE_OK)
        return STORE_UNAVAILABLE;
    if (claimed == 0) /* someone else closed it */
        return STORE_OK;
    *closed = true;
    if (w->was_read)
        return audit_closing(c, w, now, AU_SUPPRESSED, 0,
                             audit_detail_grouped_reason(a, w->conv_id, "read_in_time"));
    return notify_window(c, w, now, a, out, deliveries);
}

/* The open window of (mid, conversation), locked: *found false if none. */
static int find_open(struct pg_conn *c, int64_t mid, const char *conv_id, struct arena *a,
                     struct window *w, bool *found)
{
    static const char SQL[] = "SELECT " WINDOW_COLS " FROM message_windows "
                              "WHERE mid = $1 AND conversation_id = $2 AND status = 0 "
                              "FOR UPDATE";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, mid);
    pgp_text(&p, conv_id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *found = PQntuples(res) == 1;
    if (*found)
        load_window(res, 0, a, w);
    PQclear(res);
    return STORE_OK;
}

static int join_window(struct pg_conn *c, const struct window *w, const char *name,
                       int64_t eid, unsigned channels, const char *conv_name, int64_t now,
                       struct arena *a)
{
    static const char SQL[] =
        "UPDATE message_windows SET last_at = $2, messages = messages + 1, senders = $3, "
        "  last_eid = $4, channels = $5, conversation_name = coalesce($6, conversation_name) "
        "WHERE id = $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, w->id);
    pgp_int(&p, now);
    pgp_text(&p, store_senders_add(w->senders, name, a));
    pgp_int(&p, eid);
    pgp_int(&p, (int64_t)channels);
    pgp_text(&p, conv_name);
    return pg_cmd(c, SQL, &p, NULL);
}

/* Opens the window; *opened false when one was opened meanwhile. */
static int open_window(struct pg_conn *c, const struct workspace *ws, int64_t mid,
                       const char *conv_id, const char *conv_name, const char *name,
                       int64_t eid, unsigned channels, int64_t now, int64_t closes_at,
                       struct arena *a, bool *opened)
{
    static const char SQL[] =
        "INSERT INTO message_windows(wid, mid, conversation_id, conversation_name, opened_at, "
        "  last_at, closes_at, messages, senders, last_eid, channels) "
        "VALUES ($1, $2, $3, $4, $5, $5, $6, 1, $7, $8, $9) "
        "ON CONFLICT (mid, conversation_id) WHERE status = 0 DO NOTHING RETURNING id";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, ws->wid);
    pgp_int(&p, mid);
    pgp_text(&p, conv_id);
    pgp_text(&p, conv_name);
    pgp_int(&p, now);
    pgp_int(&p, closes_at);
    pgp_text(&p, store_senders_add(NULL, name, a));
    pgp_int(&p, eid);
    pgp_int(&p, (int64_t)channels);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *opened = PQntuples(res) == 1;
    PQclear(res);
    return STORE_OK;
}

int pg_window_add(struct pg_conn *c, const struct workspace *ws, const struct member *m,
                  const struct event_view *ev, int64_t eid, unsigned channels, int64_t now,
                  struct store_updates *out, int64_t *closes_at, size_t *deliveries)
{
    struct arena *a = out->a;
    json_t *conv = json_object_get(ev->data, "conversation");
    const char *conv_id = json_string_value(json_object_get(conv, "id"));
    const char *conv_name = json_string_value(json_object_get(conv, "name"));
    const char *name = store_sender_name(ev);
    int rc;
    for (int tries = 0; tries < OPEN_TRIES; tries++) {
        struct window w;
        bool found;
        if ((rc = find_open(c, m->mid, conv_id, a, &w, &found)) != STORE_OK)
            return rc;
        if (found && w.closes_at > now) { /* still open: the message joins it */
            if ((rc = join_window(c, &w, name, eid, channels, conv_name, now, a)) != STORE_OK)
                return rc;
            *closes_at = w.closes_at;
            return STORE_OK;
        }
        /* Due but not closed yet (Herald was down, or the closer is
         * behind): close it first; this message opens the next one. */
        bool closed;
        if (found && (rc = close_window(c, &w, now, a, out, &closed, deliveries)) != STORE_OK)
            return rc;
        *closes_at = now + (int64_t)ws->message_group_window_s * 1000;
        bool opened;
        if ((rc = open_window(c, ws, m->mid, conv_id, conv_name, name, eid, channels, now,
                              *closes_at, a, &opened)) != STORE_OK)
            return rc;
        if (opened)
            return STORE_OK;
    }
    hlog_error("store: window open: opened concurrently again and again");
    return STORE_UNAVAILABLE;
}

static int next_due(struct pg_conn *c, int64_t *due)
{
    static const char SQL[] = "SELECT min(closes_at) FROM message_windows WHERE status = 0";
    PGresult *res = pg_q(c, SQL, NULL);
    if (!res)
        return STORE_UNAVAILABLE;
    *due = PQntuples(res) == 1 ? pg_int(res, 0, 0) : 0;
    PQclear(res);
    return STORE_OK;
}

/* The members (ascending) of up to max due windows, read without locks. */
static int due_members(struct pg_conn *c, int64_t now, int max, struct arena *a,
                       int64_t **mids, size_t *n)
{
    static const char SQL[] =
        "SELECT mid FROM (SELECT mid FROM message_windows WHERE status = 0 AND "
        "  closes_at <= $1 ORDER BY closes_at LIMIT $2) s GROUP BY mid ORDER BY mid";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, now);
    pgp_int(&p, max);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *n = (size_t)PQntuples(res);
    *mids = ARENA_NEW_N(a, int64_t, *n + 1);
    for (size_t i = 0; i < *n; i++)
        (*mids)[i] = pg_int(res, (int)i, 0);
    PQclear(res);
    return STORE_OK;
}

/* The due windows of those (locked) members, locked in turn; one taken
 * by a reader of the conversation right now is left for the next run. */
static int due_windows(struct pg_conn *c, int64_t now, int limit, const int64_t *mids,
                       size_t nmids, struct arena *a, struct window **out, size_t *n)
{
    static const char SQL[] =
        "SELECT " WINDOW_COLS " FROM message_windows WHERE status = 0 AND closes_at <= $1 "
        "AND mid = ANY($2::bigint[]) ORDER BY closes_at, id LIMIT $3 FOR UPDATE SKIP LOCKED";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, now);
    pgp_text(&p, pg_int_array(a, mids, nmids));
    pgp_int(&p, limit);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    *n = (size_t)PQntuples(res);
    *out = ARENA_NEW_N(a, struct window, *n + 1);
    for (size_t i = 0; i < *n; i++)
        load_window(res, (int)i, a, &(*out)[i]);
    PQclear(res);
    return STORE_OK;
}

/* Pop-ups kept for other nodes (live_popups) hold message text: they go
 * as soon as the nodes have read them, a minute on. Every node looks at
 * windows at least every 30 s, so this runs that often. */
static int forget_popups(struct pg_conn *c, int64_t now)
{
    static const char SQL[] = "DELETE FROM live_popups WHERE at < $1";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, now - 60 * 1000);
    return pg_cmd(c, SQL, &p, NULL);
}

int pg_windows_close(struct pg_conn *c, struct store_req *r)
{
    R(st_windows_close);
    struct arena *a = r->arena;
    q->closed = q->deliveries = 0;
    q->more = false;
    q->updates = NULL;
    q->n = 0;
    int64_t *mids;
    size_t nmids;
    int rc = forget_popups(c, q->now);
    if (rc != STORE_OK || (rc = due_members(c, q->now, q->max + 1, a, &mids, &nmids)) != STORE_OK)
        return rc;
    if (nmids == 0)
        return next_due(c, &q->next_due);
    if ((rc = pg_lock_members(c, mids, nmids)) != STORE_OK)
        return rc;
    struct window *w;
    size_t n;
    if ((rc = due_windows(c, q->now, q->max + 1, mids, nmids, a, &w, &n)) != STORE_OK)
        return rc;
    if ((int)n > q->max) {
        q->more = true;
        n = (size_t)q->max;
    }
    struct store_updates out = {NULL, 0, 0, a};
    for (size_t i = 0; i < n; i++) {
        bool closed;
        if ((rc = close_window(c, &w[i], q->now, a, &out, &closed, &q->deliveries)) !=
            STORE_OK)
            return rc;
        q->closed += closed;
    }
    q->updates = out.v;
    q->n = out.n;
    return next_due(c, &q->next_due);
}

int pg_windows_next(struct pg_conn *c, struct store_req *r)
{
    R(st_windows_next);
    return next_due(c, &q->next_due);
}

static int member_mid(struct pg_conn *c, int64_t wid, const char *id, int64_t *mid)
{
    static const char SQL[] = "SELECT mid FROM members WHERE wid = $1 AND id = $2";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, wid);
    pgp_text(&p, id);
    PGresult *res = pg_q(c, SQL, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    int rc = STORE_NOT_FOUND;
    if (PQntuples(res) == 1) {
        *mid = pg_int(res, 0, 0);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

int pg_conv_read(struct pg_conn *c, struct store_req *r)
{
    R(st_conv_read);
    q->window_open = q->suppressed = false;
    int rc;
    if (!q->mid && (rc = member_mid(c, q->wid, q->member_id, &q->mid)) != STORE_OK)
        return rc;
    /* A read counts only if it came before the window's closing time, even
     * when the closer has not run yet; the latest such read is kept. A
     * closer holding the window makes this wait, then find it closed. */
    static const char READ[] =
        "UPDATE message_windows SET read_at = CASE WHEN $3 < closes_at "
        "  THEN GREATEST(coalesce(read_at, 0), $3) ELSE read_at END "
        "WHERE mid = $1 AND conversation_id = $2 AND status = 0 AND wid = $4 "
        "RETURNING coalesce((read_at >= last_at AND read_at < closes_at)::int, 0)";
    struct pg_params p = PG_PARAMS_INIT;
    pgp_int(&p, q->mid);
    pgp_text(&p, q->conversation_id);
    pgp_int(&p, q->read_at);
    pgp_int(&p, q->wid);
    PGresult *res = pg_q(c, READ, &p);
    if (!res)
        return STORE_UNAVAILABLE;
    q->window_open = PQntuples(res) >= 1;
    q->suppressed = q->window_open && pg_int(res, 0, 0);
    PQclear(res);
    if (!q->window_open) /* a read that changes nothing Herald does is not kept */
        return STORE_OK;
    struct audit_write au = store_audit_conversation_read(q, r->arena);
    return pg_audit_add(c, &au);
}
