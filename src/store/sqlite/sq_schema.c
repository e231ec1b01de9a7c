/* sq_schema.c - versioned migrations of the SQLite schema.
 *
 * PRAGMA user_version holds the number of migrations applied. Each
 * migration runs in one IMMEDIATE transaction, so two processes starting at
 * once apply it exactly once. Migrations are append-only: never edit one
 * that has shipped, add the next.
 *
 * Conventions: times are integer milliseconds since the epoch (UTC); enum
 * columns hold the C enum's value; the _set and _on pairs are preference matrices
 * (engine/model.h). Every table a member or workspace can reach carries
 * wid, and every query filters on it. */
#include "store/sqlite/sq_int.h"
#include "core/log.h"

#include <stdio.h>

static const char *const MIGRATIONS[] = {
    /* 1: the core */
    "CREATE TABLE meta("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE workspaces("
    "  wid INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  timezone TEXT NOT NULL,"
    "  signing_secret TEXT NOT NULL,"
    "  message_group_window_s INTEGER NOT NULL DEFAULT 180,"
    "  booking_alert_audience INTEGER NOT NULL DEFAULT 0,"
    "  phi_in_external_channels INTEGER NOT NULL DEFAULT 0,"
    "  sms_fallback_to_email INTEGER NOT NULL DEFAULT 1,"
    "  retention_days INTEGER NOT NULL DEFAULT 396,"
    "  email_sender_name TEXT,"
    "  sms_sender_id TEXT,"
    "  prefs_set INTEGER NOT NULL DEFAULT 0,"
    "  prefs_on INTEGER NOT NULL DEFAULT 0,"
    "  credits INTEGER NOT NULL DEFAULT 0 CHECK (credits >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"

    "CREATE TABLE api_keys("
    "  key_id TEXT PRIMARY KEY,"
    "  wid INTEGER NOT NULL REFERENCES workspaces(wid),"
    "  key_hash BLOB NOT NULL,"
    "  name TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ") WITHOUT ROWID;"
    "CREATE INDEX api_keys_wid ON api_keys(wid);"

    "CREATE TABLE credit_ledger("
    "  id INTEGER PRIMARY KEY,"
    "  wid INTEGER NOT NULL REFERENCES workspaces(wid),"
    "  delta INTEGER NOT NULL,"
    "  balance INTEGER NOT NULL CHECK (balance >= 0),"
    "  reason TEXT,"
    "  at INTEGER NOT NULL"
    ");"
    "CREATE INDEX credit_ledger_wid ON credit_ledger(wid, id);"

    "CREATE TABLE members("
    "  mid INTEGER PRIMARY KEY,"
    "  wid INTEGER NOT NULL REFERENCES workspaces(wid),"
    "  id TEXT NOT NULL,"
    "  name TEXT,"
    "  email TEXT,"
    "  phone TEXT,"
    "  role INTEGER NOT NULL,"
    "  timezone TEXT,"
    "  locale TEXT,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  prefs_set INTEGER NOT NULL DEFAULT 0,"
    "  prefs_on INTEGER NOT NULL DEFAULT 0,"
    "  cancel_channels INTEGER NOT NULL DEFAULT 0,"
    "  cancel_within_days INTEGER NOT NULL DEFAULT 0,"
    "  push_enabled INTEGER NOT NULL DEFAULT 1,"
    "  unread INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (wid, id)"
    ");"
    "CREATE INDEX members_active ON members(wid, role) WHERE active = 1;"

    /* AUTOINCREMENT: keys of deleted rows are never handed out again, so
     * an id a host has seen always means the same thing. */
    "CREATE TABLE events("
    "  eid INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL REFERENCES workspaces(wid),"
    "  id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  body_sha256 BLOB NOT NULL,"
    "  occurred_at INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  source TEXT,"
    "  actor_kind TEXT NOT NULL,"
    "  actor_id TEXT,"
    "  actor_name TEXT,"
    "  data TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  UNIQUE (wid, id)"
    ");"
    "CREATE INDEX events_received ON events(wid, received_at);"

    "CREATE TABLE notifications("
    "  nid INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  mid INTEGER NOT NULL REFERENCES members(mid) ON DELETE CASCADE,"
    "  eid INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  category INTEGER NOT NULL,"
    "  channels INTEGER NOT NULL,"
    "  reasons INTEGER NOT NULL,"
    "  in_app INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  title TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  state_at INTEGER"
    ");"
    /* The feed reads newest-first per member and state; only in-app items
     * are in it, hence the partial index. The full (mid, nid) index serves
     * the "all" filter and the cascade when a member is deleted. An event
     * finds its notifications through the keys in its stored answer, so
     * no index on eid is paid for at every insert. */
    "CREATE INDEX notifications_feed ON notifications(mid, state, nid) WHERE in_app = 1;"
    "CREATE INDEX notifications_member ON notifications(mid, nid);",

    /* 2: live feeds, message windows, the outbox */
    "ALTER TABLE members ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;"

    /* Every change to a member's feed, in order: the stream's event ids.
     * kind 1 = new notification, 2 = state change, 3 = read-all. The last
     * FEED_LOG_KEEP rows per member are kept (sq_changes.c). */
    "CREATE TABLE feed_changes("
    "  mid INTEGER NOT NULL REFERENCES members(mid) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  nid INTEGER,"
    "  state INTEGER,"
    "  changed INTEGER,"
    "  unread INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (mid, seq)"
    ") WITHOUT ROWID;"

    /* One grouping window per (recipient, conversation) while open.
     * status 0 = open, 1 = notified, 2 = read in time (nothing sent). */
    "CREATE TABLE message_windows("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  mid INTEGER NOT NULL REFERENCES members(mid) ON DELETE CASCADE,"
    "  conversation_id TEXT NOT NULL,"
    "  conversation_name TEXT,"
    "  opened_at INTEGER NOT NULL,"
    "  last_at INTEGER NOT NULL,"
    "  closes_at INTEGER NOT NULL,"
    "  read_at INTEGER,"
    "  messages INTEGER NOT NULL,"
    "  senders TEXT NOT NULL,"
    "  last_eid INTEGER NOT NULL,"
    "  channels INTEGER NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  nid INTEGER,"
    "  closed_at INTEGER"
    ");"
    "CREATE UNIQUE INDEX windows_open ON message_windows(mid, conversation_id) WHERE status = 0;"
    "CREATE INDEX windows_due ON message_windows(closes_at) WHERE status = 0;"
    "CREATE INDEX windows_member ON message_windows(mid);"
    "CREATE INDEX windows_closed ON message_windows(wid, last_at) WHERE status <> 0;"

    /* The outbox: one row per notification and external channel, written
     * in the notification's transaction; the delivery workers send them. */
    "CREATE TABLE deliveries("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  nid INTEGER NOT NULL,"
    "  mid INTEGER NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX deliveries_due ON deliveries(next_at) WHERE status = 0;"
    "CREATE INDEX deliveries_notification ON deliveries(nid);",

    /* 3: delivery. The outbox row carries its rendered payload (patient
     * information already removed unless the workspace opted in). status:
     * 0 pending, 1 sending (claimed; next_at is then the lease's end),
     * 2 sent, 3 failed (a retry is due at next_at), 4 dead, 5 skipped,
     * 6 held (an SMS's email fallback, sent only if the SMS cannot be paid).
     * claims counts claims: a result must name the claim it answers, so a
     * sender whose lease ran out cannot overwrite its successor's. */
    "CREATE TABLE deliveries_v3("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  nid INTEGER NOT NULL,"
    "  eid INTEGER,"
    "  mid INTEGER NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  provider TEXT,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  to_addr TEXT NOT NULL,"
    "  subject TEXT,"
    "  body TEXT NOT NULL,"
    "  html TEXT,"
    "  segments INTEGER,"
    "  charged INTEGER NOT NULL DEFAULT 0,"
    "  fallback_for INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  claims INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  reason TEXT,"
    "  message_id TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    /* Rows of version 2 (closed message windows) carried no payload: their
     * emails go out with the window's generic, PHI-free text; their push
     * entries wait for push, so they are recorded as skipped. */
    "INSERT INTO deliveries_v3(id, wid, nid, eid, mid, channel, status, to_addr, subject, body, "
    "  next_at, reason, created_at, updated_at) "
    "SELECT d.id, d.wid, d.nid, n.eid, d.mid, d.channel, "
    "  CASE WHEN d.channel = 1 AND m.email IS NOT NULL AND d.status = 0 THEN 0 ELSE 5 END, "
    "  coalesce(m.email, ''), 'New messages', "
    "  'You have new messages.\n\nOpen the app for details.\n', d.next_at, "
    "  CASE WHEN d.channel = 1 AND m.email IS NOT NULL AND d.status = 0 THEN NULL "
    "       ELSE 'made_before_delivery' END, d.created_at, d.created_at "
    "FROM deliveries d LEFT JOIN notifications n ON n.nid = d.nid "
    "LEFT JOIN members m ON m.mid = d.mid;"
    "DROP TABLE deliveries;"
    "ALTER TABLE deliveries_v3 RENAME TO deliveries;"
    "CREATE INDEX deliveries_due ON deliveries(channel, next_at) WHERE status IN (0, 1, 3);"
    "CREATE INDEX deliveries_event ON deliveries(eid);"
    "CREATE INDEX deliveries_notification ON deliveries(nid);"
    "CREATE INDEX deliveries_list ON deliveries(wid, id);"
    "CREATE INDEX deliveries_status ON deliveries(wid, status, id);"
    "CREATE INDEX deliveries_member ON deliveries(mid);"
    "CREATE INDEX deliveries_fallback ON deliveries(fallback_for) WHERE fallback_for IS NOT NULL;"

    "CREATE TABLE delivery_attempts("
    "  did INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  answer TEXT,"
    "  latency_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (did, n)"
    ") WITHOUT ROWID;"

    /* What the sink provider "sent": the demo's and tests' view of email,
     * SMS and push. One row per delivery (UNIQUE did: exactly once). */
    "CREATE TABLE sink("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  did INTEGER NOT NULL UNIQUE,"
    "  mid INTEGER NOT NULL,"
    "  channel INTEGER NOT NULL,"
    "  to_addr TEXT,"
    "  subject TEXT,"
    "  body TEXT,"
    "  html TEXT,"
    "  at INTEGER NOT NULL"
    ");"
    "CREATE INDEX sink_wid ON sink(wid, id);"

    /* A debit names its delivery: charged once, whatever happens. */
    "ALTER TABLE credit_ledger ADD COLUMN ref TEXT;"
    "CREATE UNIQUE INDEX credit_ledger_ref ON credit_ledger(wid, ref) WHERE ref IS NOT NULL;"
    "ALTER TABLE workspaces ADD COLUMN app_url TEXT;",

    /* 4: devices and push. kind: 0 fcm, 1 apns, 2 webpush (token is then
     * the subscription's endpoint). A push delivery names its device; the
     * credential is read when it is sent, so a refreshed token is used. */
    "CREATE TABLE devices("
    "  did INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  mid INTEGER NOT NULL REFERENCES members(mid) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  token TEXT NOT NULL,"
    "  p256dh TEXT,"
    "  auth TEXT,"
    "  environment TEXT,"
    "  name TEXT,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  credential_at INTEGER NOT NULL,"  /* when this token was registered */
    "  UNIQUE (mid, id)"
    ");"
    "CREATE INDEX devices_credential ON devices(wid, kind, token);"
    "CREATE INDEX devices_last_seen ON devices(last_seen);"
    "ALTER TABLE deliveries ADD COLUMN device INTEGER;"
    "CREATE INDEX deliveries_device ON deliveries(device) WHERE device IS NOT NULL;"
    /* A push's data for the app: which notification, what type, where. */
    "ALTER TABLE deliveries ADD COLUMN data TEXT;"
    "ALTER TABLE sink ADD COLUMN data TEXT;",

    /* 5: the audit trail (engine/audit.h). Append-only: rows are added by
     * the transaction that makes each step, and only retention deletes
     * them. Pages read in (at, id) order, per workspace or per member;
     * retention deletes by (wid, at). Ids and names, not keys, so an entry
     * outlives the member and the event it names. */
    "CREATE TABLE audit("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  wid INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  action INTEGER NOT NULL,"
    "  actor_kind INTEGER NOT NULL,"
    "  actor_id TEXT,"
    "  member_id TEXT,"
    "  event_id TEXT,"
    "  nid INTEGER,"
    "  did INTEGER,"
    "  detail TEXT"
    ");"
    "CREATE INDEX audit_time ON audit(wid, at);"
    "CREATE INDEX audit_member ON audit(wid, member_id, at);"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
};

#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof *MIGRATIONS))

int sq_user_version(struct sq_conn *c)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int sq_migrate(struct sq_conn *c)
{
    for (;;) {
        if (sq_exec(c, "BEGIN IMMEDIATE") != 0)
            return -1;
        int v = sq_user_version(c);
        if (v < 0 || v > NMIGRATIONS) {
            sq_exec(c, "ROLLBACK");
            hlog_error("store: schema version %d is newer than this herald knows (%d)", v,
                       NMIGRATIONS);
            return -1;
        }
        if (v == NMIGRATIONS) {
            sq_exec(c, "COMMIT");
            return 0;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sq_exec(c, MIGRATIONS[v]) != 0 || sq_exec(c, pragma) != 0) {
            sq_exec(c, "ROLLBACK");
            hlog_error("store: migration %d failed", v + 1);
            return -1;
        }
        if (sq_exec(c, "COMMIT") != 0)
            return -1;
        hlog_info("store: applied migration %d", v + 1);
    }
}
