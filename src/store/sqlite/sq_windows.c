/* sq_windows.c - grouping windows for messages (PRODUCT.md "Messages").
 *
 * The first message to a recipient in a conversation opens a window that
 * closes message_group_window_s later (the workspace's setting at that
 * moment); messages before then join it. When it closes the recipient gets
 * one notification saying how many messages came from whom, unless they
 * read the conversation at or after the window's last message (read_at).
 * The closing claims the row (status 0 -> 1 or 2) in the same transaction
 * that makes the notification, so a window closes exactly once, also when
 * Herald restarts or several nodes race for it. */
#include "store/sqlite/sq_int.h"
#include "engine/render.h"

#include <jansson.h>
#include <string.h>

#define R(type) struct type *q = (struct type *)r

enum window_status { WINDOW_OPEN = 0, WINDOW_NOTIFIED = 1, WINDOW_READ = 2 };

/* Claims and closes one window: the notification, its feed change and its
 * outbox rows, or nothing when the conversation was read in time. */
static int close_window(struct sq_conn *c, int64_t id, int64_t now, struct arena *a,
                        struct store_updates *out, bool *closed, size_t *deliveries)
{
    static const char LOAD[] =
        "SELECT wid, mid, conversation_name, messages, senders, last_at, read_at, last_eid, "
        "  channels, closes_at, conversation_id FROM message_windows WHERE id = ?1 AND status = 0";
    static const char CLAIM[] =
        "UPDATE message_windows SET status = ?2, closed_at = ?3 WHERE id = ?1 AND status = 0";
    static const char LINK[] = "UPDATE message_windows SET nid = ?2 WHERE id = ?1";
    static const char EVENT[] = "SELECT id, data FROM events WHERE eid = ?1";
    *closed = false;
    sqlite3_stmt *st = sq_prep(c, LOAD);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) { /* someone else closed it */
        sqlite3_reset(st);
        return STORE_OK;
    }
    if (rc != SQLITE_ROW)
        return sq_fail(c, "window");
    int64_t wid = sqlite3_column_int64(st, 0), mid = sqlite3_column_int64(st, 1);
    const char *conv_name = sq_text(st, 2, a);
    const char *conv_id = sq_text(st, 10, a);
    int64_t messages = sqlite3_column_int64(st, 3);
    const char *senders = sq_text(st, 4, a);
    int64_t last_at = sqlite3_column_int64(st, 5);
    /* Read at or after the last message, and before the window closed. */
    bool was_read = sqlite3_column_type(st, 6) != SQLITE_NULL &&
                    sqlite3_column_int64(st, 6) >= last_at &&
                    sqlite3_column_int64(st, 6) < sqlite3_column_int64(st, 9);
    int64_t last_eid = sqlite3_column_int64(st, 7);
    unsigned channels = (unsigned)sqlite3_column_int(st, 8);
    sqlite3_reset(st);

    st = sq_prep(c, CLAIM);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, was_read ? WINDOW_READ : WINDOW_NOTIFIED);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "window claim");
    sqlite3_reset(st);
    if (sqlite3_changes(c->db) == 0)
        return STORE_OK;
    *closed = true;
    struct audit_write au = {wid, now, AU_SUPPRESSED, AUDIT_BY_HERALD, NULL, mid, NULL, last_eid,
                             NULL, 0, 0, NULL};
    if (was_read) {
        au.detail = audit_detail_grouped_reason(a, conv_id, "read_in_time");
        return sq_audit_add(c, &au);
    }

    /* The member as they are now: gone or inactive members get nothing. */
    static const char MEMBER[] = "SELECT " SQ_MEMBER_COLS " FROM members m WHERE m.mid = ?1";
    st = sq_prep(c, MEMBER);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, mid);
    struct member m;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? STORE_OK : sq_fail(c, "window member");
    }
    sq_load_member(st, 0, a, &m);
    sqlite3_reset(st);
    if (!m.active) {
        au.action = AU_SKIPPED;
        au.detail = audit_detail_grouped_reason(a, conv_id, "inactive");
        return sq_audit_add(c, &au);
    }

    struct rendered text;
    render_message_group(c->render, &m, messages, senders, conv_name, a, &text);
    struct store_new_notification n = {wid, mid, last_eid, "message.received", CAT_COMMUNICATIONS,
                                 channels, RCP_PARTICIPANTS, text.title, text.body, now};
    int64_t nid;
    if ((rc = sq_insert_notification(c, &n, &nid)) != STORE_OK)
        return rc;
    st = sq_prep(c, LINK);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, nid);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "window link");
    sqlite3_reset(st);
    au.action = AU_CREATED;
    au.nid = nid;
    au.detail = audit_detail_created(a, n.type, n.category, channels, n.reasons);
    if ((rc = sq_audit_add(c, &au)) != STORE_OK)
        return rc;

    /* Email, SMS and push go to the outbox. */
    bool outbox;
    if ((rc = sq_outbox_wanted(c, channels, mid, &outbox)) != STORE_OK)
        return rc;
    if (outbox) {
        struct workspace ws;
        if ((rc = sq_cached_workspace(c, wid, a, &ws)) != STORE_OK)
            return rc;
        struct external_text ext;
        render_message_group_external(c->render, &ws, &m, messages, senders, conv_name, a, &ext);
        if ((rc = sq_outbox_add(c, &n, nid, &m, &ext, NULL, conv_id, a, deliveries)) !=
            STORE_OK)
            return rc;
    }

    if (!(channels & CH_BIT(CH_IN_APP)))
        return STORE_OK;
    st = sq_prep(c, EVENT);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, last_eid);
    const char *event_id = NULL, *data = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        event_id = sq_text(st, 0, a);
        data = sq_text(st, 1, a);
    }
    sqlite3_reset(st);
    return sq_publish_new(c, &n, nid, event_id, data, a, out);
}

int sq_window_add(struct sq_conn *c, const struct workspace *ws, const struct member *m,
                  const struct event_view *ev, int64_t eid, unsigned channels, int64_t now,
                  struct store_updates *out, int64_t *closes_at, size_t *deliveries)
{
    static const char FIND[] =
        "SELECT id, closes_at, senders FROM message_windows "
        "WHERE mid = ?1 AND conversation_id = ?2 AND status = 0";
    static const char JOIN[] =
        "UPDATE message_windows SET last_at = ?2, messages = messages + 1, senders = ?3, "
        "  last_eid = ?4, channels = ?5, conversation_name = coalesce(?6, conversation_name) "
        "WHERE id = ?1";
    static const char OPEN[] =
        "INSERT INTO message_windows(wid, mid, conversation_id, conversation_name, opened_at, "
        "  last_at, closes_at, messages, senders, last_eid, channels) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, 1, ?7, ?8, ?9)";
    struct arena *a = out->a;
    json_t *conv = json_object_get(ev->data, "conversation");
    const char *conv_id = json_string_value(json_object_get(conv, "id"));
    const char *conv_name = json_string_value(json_object_get(conv, "name"));
    const char *name = store_sender_name(ev);

    sqlite3_stmt *st = sq_prep(c, FIND);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, m->mid);
    sq_bind_text(st, 2, conv_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c, "window find");
    if (rc == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int64_t due = sqlite3_column_int64(st, 1);
        const char *senders = sq_text(st, 2, a);
        sqlite3_reset(st);
        if (due > now) { /* still open: the message joins it */
            st = sq_prep(c, JOIN);
            if (!st)
                return STORE_UNAVAILABLE;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, now);
            sq_bind_text(st, 3, store_senders_add(senders, name, a));
            sqlite3_bind_int64(st, 4, eid);
            sqlite3_bind_int(st, 5, (int)channels);
            sq_bind_text(st, 6, conv_name);
            if (sqlite3_step(st) != SQLITE_DONE)
                return sq_fail(c, "window join");
            sqlite3_reset(st);
            *closes_at = due;
            return STORE_OK;
        }
        /* Due but not closed yet (Herald was down, or the closer is behind):
         * close it first; this message opens the next one. */
        bool closed;
        if ((rc = close_window(c, id, now, a, out, &closed, deliveries)) != STORE_OK)
            return rc;
    } else {
        sqlite3_reset(st);
    }
    *closes_at = now + (int64_t)ws->message_group_window_s * 1000;
    st = sq_prep(c, OPEN);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, ws->wid);
    sqlite3_bind_int64(st, 2, m->mid);
    sq_bind_text(st, 3, conv_id);
    sq_bind_text(st, 4, conv_name);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, *closes_at);
    sq_bind_text(st, 7, store_senders_add(NULL, name, a));
    sqlite3_bind_int64(st, 8, eid);
    sqlite3_bind_int(st, 9, (int)channels);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sq_fail(c, "window open");
    sqlite3_reset(st);
    return STORE_OK;
}

static int next_due(struct sq_conn *c, int64_t *due)
{
    sqlite3_stmt *st =
        sq_prep(c, "SELECT min(closes_at) FROM message_windows WHERE status = 0");
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return sq_fail(c, "next window");
    *due = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return STORE_OK;
}

int sq_windows_close(struct sq_conn *c, struct store_req *r)
{
    R(st_windows_close);
    q->closed = q->deliveries = 0;
    q->more = false;
    static const char DUE[] = "SELECT id FROM message_windows WHERE status = 0 AND "
                              "closes_at <= ?1 ORDER BY closes_at LIMIT ?2";
    sqlite3_stmt *st = sq_prep(c, DUE);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->now);
    sqlite3_bind_int(st, 2, q->max + 1);
    int64_t *ids = ARENA_NEW_N(r->arena, int64_t, (size_t)q->max + 1);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)n == q->max) {
            q->more = true;
            break;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c, "due windows");
    sqlite3_reset(st);
    struct store_updates out = {NULL, 0, 0, r->arena};
    for (size_t i = 0; i < n; i++) {
        bool closed;
        if ((rc = close_window(c, ids[i], q->now, r->arena, &out, &closed, &q->deliveries)) !=
            STORE_OK)
            return rc;
        q->closed += closed;
    }
    q->updates = out.v;
    q->n = out.n;
    return next_due(c, &q->next_due);
}

int sq_windows_next(struct sq_conn *c, struct store_req *r)
{
    R(st_windows_next);
    return next_due(c, &q->next_due);
}

int sq_conv_read(struct sq_conn *c, struct store_req *r)
{
    R(st_conv_read);
    if (!q->mid) {
        sqlite3_stmt *st = sq_prep(c, "SELECT mid FROM members WHERE wid = ?1 AND id = ?2");
        if (!st)
            return STORE_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, q->wid);
        sq_bind_text(st, 2, q->member_id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "member");
        }
        q->mid = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    /* A read counts only if it came before the window's closing time, even
     * when the closer has not run yet; the latest such read is kept. */
    static const char READ[] =
        "UPDATE message_windows SET read_at = CASE WHEN ?3 < closes_at "
        "  THEN max(coalesce(read_at, 0), ?3) ELSE read_at END "
        "WHERE mid = ?1 AND conversation_id = ?2 AND status = 0 AND wid = ?4 "
        "RETURNING coalesce(read_at >= last_at AND read_at < closes_at, 0)";
    sqlite3_stmt *st = sq_prep(c, READ);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, q->mid);
    sq_bind_text(st, 2, q->conversation_id);
    sqlite3_bind_int64(st, 3, q->read_at);
    sqlite3_bind_int64(st, 4, q->wid);
    int rc = sqlite3_step(st);
    q->window_open = rc == SQLITE_ROW;
    q->suppressed = q->window_open && sqlite3_column_int(st, 0);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "conversation read");
    if (!q->window_open) /* a read that changes nothing Herald does is not kept */
        return STORE_OK;
    struct audit_write au = store_audit_conversation_read(q, r->arena);
    return sq_audit_add(c, &au);
}
