/* store.h - Herald's storage interface: typed requests, asynchronous answers.
 *
 * Every operation is a request struct that embeds `struct store_req` first.
 * The caller fills the inputs, sets done/arg/arena, and calls store_submit.
 * The backend runs it (SQLite: reads inline on the calling thread, writes
 * on its writer thread in a group commit) and calls done on the loop thread
 * once the outcome is durable. done may run before store_submit returns;
 * callers do nothing after submitting.
 *
 * Outputs are allocated in req->arena, which the caller owns. Inputs are
 * borrowed until done runs.
 *
 * Backends are function tables chosen by name (store_open("sqlite", ...)). */
#ifndef HERALD_STORE_STORE_H
#define HERALD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "engine/audit.h"
#include "engine/event.h"
#include "engine/model.h"

struct event_base;
struct render_ctx;
struct metrics;

enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND,
    STORE_CONFLICT,    /* unique key taken, or the state forbids it */
    STORE_UNAVAILABLE, /* storage failed; nothing was changed */
};

enum store_op {
    ST_WS_CREATE, ST_WS_LIST, ST_WS_GET, ST_WS_UPDATE, ST_CREDITS_ADD,
    ST_KEY_CREATE, ST_KEY_REVOKE, ST_KEY_LIST, ST_AUTH_KEY, ST_AUTH_MEMBER,
    ST_MEMBER_PUT, ST_MEMBER_GET, ST_MEMBER_DELETE, ST_MEMBER_LIST,
    ST_EVENT_INGEST, ST_EVENT_GET,
    ST_FEED_PAGE, ST_NOTIF_STATE, ST_READ_ALL, ST_PREFS_PATCH,
    ST_PRUNE, ST_PING, ST_META_SET,
    ST_FEED_REPLAY, ST_WINDOWS_CLOSE, ST_WINDOWS_NEXT, ST_CONV_READ,
    ST_OUTBOX_CLAIM, ST_OUTBOX_RESULT, ST_SINK_SEND, ST_DELIVERIES_LIST, ST_SINK_LIST,
    ST_DEVICE_PUT, ST_DEVICE_LIST, ST_DEVICE_DELETE,
    ST_POPUP_GET, /* postgresql only: another node's message pop-up */
    ST_AUDIT_LIST,
    ST_OP_COUNT
};

struct store_req {
    enum store_op op;
    void (*done)(struct store_req *r); /* on the loop thread */
    void *arg;
    struct arena *arena;
    int rc;                            /* enum store_rc */
    /* backend's */
    struct store_req *next;
    uint64_t queued_ns;
    struct store_waiter *waiter; /* set by store_call: answered there, not on the loop */
};

/* ---- workspaces and keys ---- */

struct st_ws_create {
    struct store_req base;
    const char *id, *name, *timezone, *signing_secret;
    char key_id[16];
    uint8_t key_hash[SHA256_LEN];
    int64_t now;
    struct workspace out; /* STORE_CONFLICT when the id is taken */
};

struct st_ws_list {
    struct store_req base;
    struct workspace *out;
    size_t n;
};

struct st_ws_get {
    struct store_req base;
    const char *id; /* or wid when id is NULL */
    int64_t wid;
    struct workspace out;
};

struct ws_patch {
    const char *name, *timezone;
    int message_group_window_s;     /* -1: unchanged */
    int booking_alert_audience;     /* -1 */
    int phi_in_external_channels;   /* -1 */
    int sms_fallback_to_email;      /* -1 */
    int retention_days;             /* -1 */
    bool set_email_sender_name, set_sms_sender_id, set_app_url;
    const char *email_sender_name, *sms_sender_id, *app_url; /* NULL clears */
    uint32_t prefs_set_mask, prefs_on, prefs_clear_mask;
};

struct st_ws_update {
    struct store_req base;
    int64_t wid, now;
    struct ws_patch patch;
    struct workspace out;
};

struct st_credits_add {
    struct store_req base;
    int64_t wid, add, now;
    const char *reason;
    int64_t balance;
};

struct api_key_info {
    const char *key_id, *name;
    int64_t created_at, revoked_at; /* revoked_at 0 when live */
};

struct st_key_create {
    struct store_req base;
    int64_t wid, now;
    char key_id[16];
    uint8_t key_hash[SHA256_LEN];
    const char *name;
};

struct st_key_revoke {
    struct store_req base;
    int64_t wid, now;
    const char *key_id;
    bool keep_last; /* STORE_CONFLICT rather than revoke the last live key */
};

struct st_key_list {
    struct store_req base;
    int64_t wid;
    struct api_key_info *out;
    size_t n;
};

struct st_auth_key {
    struct store_req base;
    const char *key_id;
    uint8_t key_hash[SHA256_LEN];
    bool revoked;
    struct workspace ws;
};

struct st_auth_member {
    struct store_req base;
    const char *ws_id, *member_id;
    struct workspace ws; /* STORE_NOT_FOUND when the workspace is unknown */
    bool member_found;
    struct member member;
};

/* ---- members ---- */

struct member_fields {
    const char *name, *email, *phone, *timezone, *locale; /* NULL = none */
    enum role role;
    bool active;
};

struct st_member_put {
    struct store_req base;
    int64_t wid, now;
    const char *id;
    struct member_fields f;
    bool created;
    struct member out;
};

struct st_member_get {
    struct store_req base;
    int64_t wid;
    const char *id;
    struct member out;
};

struct st_member_delete {
    struct store_req base;
    int64_t wid;
    const char *id;
};

struct st_member_list {
    struct store_req base;
    int64_t wid;
    const char *after; /* member id, or NULL */
    int limit;
    struct member *out;
    size_t n;
    bool more;
};

struct prefs_patch {
    uint32_t set_mask, set_on, clear_mask; /* matrix cells */
    int cancel_channels;                    /* -1: unchanged */
    int cancel_within_days;                 /* -1: unchanged; 0 anytime */
    int push_enabled;                       /* -1: unchanged */
};

struct st_prefs_patch {
    struct store_req base;
    int64_t mid, wid, now;
    struct prefs_patch patch;
    struct member out;
};

/* ---- what changed, for the live streams ----
 *
 * A change to publish on a member's open streams, made in the same
 * transaction as the rows it reports. seq is the member's change position
 * (the stream's event id); UPD_COUNT has none. data is the event's JSON. */
enum update_kind { UPD_NOTIFICATION, UPD_STATE, UPD_COUNT };

struct feed_update {
    int64_t mid, seq, unread;
    enum update_kind kind;
    const char *data;
};

/* ---- events ---- */

enum ingest_result { INGEST_CREATED, INGEST_DUPLICATE, INGEST_CONFLICT };

/* Who asked for a change, for the audit trail (engine/audit.h): kind is
 * an enum audit_actor_kind; id the API key's id or the member's id. */
struct audit_by {
    int kind;
    const char *id;
};

struct st_event_ingest {
    struct store_req base;
    int64_t wid;
    struct audit_by by;               /* the key that posted it */
    const struct event_view *ev;
    const char *data_json;            /* canonical text of ev->data */
    uint8_t body_sha256[SHA256_LEN];  /* of the canonical whole body */
    int64_t received_at;
    /* out */
    enum ingest_result result;
    const char *outcome;              /* the answer body (JSON) */
    size_t outcome_len;
    size_t notifications;             /* made by this event */
    struct feed_update *updates;      /* to publish (also from windows closed on the way) */
    size_t nupdates;
    /* message.received: who gets the pop-up now, and what it says */
    int64_t *popup_mids;
    size_t npopups;
    const char *popup;
    int64_t next_close_at;            /* earliest window this event opened; 0: none */
    size_t deliveries;                /* outbox rows written */
};

struct event_notification {
    int64_t nid;
    const char *member_id;
    int category, state;
    unsigned channels, reasons;
    bool in_app;
    int64_t created_at;
};

/* ---- devices ---- */

/* A member's device and its push credential: an FCM or APNs token, or a
 * Web Push subscription (token is then its endpoint). */
struct device {
    int64_t did, wid, mid;
    const char *id, *name, *token, *p256dh, *auth, *environment;
    int kind;           /* enum device_kind */
    bool enabled;
    int64_t created_at, updated_at, last_seen;
};

#define DEVICES_PER_MEMBER_MAX 50

/* Registers or refreshes (credential set: kind and token given), or only
 * switches and renames (credential unset: the device must exist; enabled
 * -1 and name NULL leave them). The same credential registered under
 * another device of the workspace is removed there: a handed-over phone
 * must not get its former user's alerts. */
struct st_device_put {
    struct store_req base;
    int64_t wid, mid, now;
    const char *id;
    bool credential;
    int kind;
    const char *token, *p256dh, *auth, *environment;
    const char *name;
    int enabled;        /* 0, 1, or -1: unchanged (new devices: on) */
    /* out */
    bool created;
    int64_t taken_over; /* registrations of the credential removed elsewhere */
    struct device out;
};

struct st_device_list {
    struct store_req base;
    int64_t wid, mid;
    struct device *items;
    size_t n;
};

struct st_device_delete {
    struct store_req base;
    int64_t wid, mid;
    const char *id;
};

/* ---- the outbox ---- */

struct delivery_attempt {
    int64_t at, latency_ms;
    bool ok;
    const char *answer;
};

struct delivery {
    int64_t id, wid, nid, eid, mid, fallback_for, created_at, updated_at, next_at;
    const char *event_id, *member_id, *provider, *reason, *message_id;
    const char *to, *subject, *body, *html;
    int channel, status, attempts, segments;
    int64_t claims;
    struct delivery_attempt *tries;
    size_t ntries;
    /* for sending: the workspace's names */
    const char *ws_id, *sender_name, *sms_sender_id;
    /* push: the device, as it is registered now */
    int64_t device;
    int device_kind;
    const char *device_token, *device_p256dh, *device_auth, *device_env;
    const char *data; /* push: the app's data (JSON) */
};

/* Claims due deliveries, at most quota[channel] per channel, under a lease
 * of lease_ms. An SMS is paid for here, once: if the balance cannot pay,
 * it is skipped (insufficient_credits) and its email fallback released. */
struct st_outbox_claim {
    struct store_req base;
    int64_t now, lease_ms;
    int quota[CH_COUNT];
    const char *provider[CH_COUNT];
    const char *push_provider[DEV_KIND_COUNT]; /* per device kind, for push rows */
    struct delivery *items;
    size_t n;
    /* per channel: the earliest next_at of what is still due or leased
     * (may be <= now when the quota ran out); 0: nothing */
    int64_t next_due[CH_COUNT];
};

/* What a send attempt came to, for the claim it answers (a stale claim
 * changes nothing). */
struct st_outbox_result {
    struct store_req base;
    int64_t id, claims, now, latency_ms;
    bool ok, permanent;
    bool config_error; /* our configuration, not the message: no attempt is spent */
    bool gone;         /* the service says the device's credential is no more: remove it */
    int64_t gone_at;   /* ...as of then (ms): a device registered again since stays */
    const char *gone_token; /* the credential that was sent: a newer one stays */
    const char *answer, *message_id;
    int64_t retry_at;  /* a transient failure's next try */
    int max_attempts;
    int status;        /* out: the delivery's status after */
};

/* The sink provider's send: records the message and marks the delivery
 * sent in one transaction, so it is never recorded twice. */
struct st_sink_send {
    struct store_req base;
    int64_t id, claims, now;
    int status;
};

struct st_deliveries_list {
    struct store_req base;
    int64_t wid;
    int status;          /* -1: any */
    int channel;         /* -1: any */
    const char *member_id;
    int64_t before_id;   /* 0: from the newest */
    int limit;
    struct delivery *items;
    size_t n;
    bool more;
};

struct sink_message {
    int64_t id, did, at;
    const char *ws_id, *member_id, *to, *subject, *body, *html, *data;
    int channel;
};

struct st_sink_list {
    struct store_req base;
    int64_t wid;         /* 0: every workspace (admin) */
    const char *member_id;
    int channel;         /* -1: any */
    int limit;
    struct sink_message *items;
    size_t n;
};

struct st_event_get {
    struct store_req base;
    int64_t wid;
    const char *id;
    /* out */
    const char *type, *source, *actor_kind, *actor_id, *actor_name;
    int64_t occurred_at, received_at;
    const char *data_json, *outcome_json;
    struct event_notification *notifications;
    size_t n;
    struct delivery *deliveries;
    size_t ndeliveries;
};

/* ---- the feed ---- */

enum notif_state { NS_UNREAD = 0, NS_READ = 1, NS_IGNORED = 2 };
#define FEED_ALL (-1)

struct feed_item {
    int64_t nid, created_at;
    const char *type, *title, *body, *event_id, *data_json;
    int category, state;
};

struct st_feed_page {
    struct store_req base;
    int64_t mid, wid;
    int state;          /* enum notif_state, or FEED_ALL */
    int64_t before_nid; /* 0: from the newest */
    int limit;
    struct feed_item *items;
    size_t n;
    bool more;
};

struct st_notif_state {
    struct store_req base;
    int64_t mid, wid, nid, now;
    struct audit_by by;
    int state;
    int old_state;
    int64_t unread;
    bool changed;              /* false when it already had that state */
    struct feed_update update; /* when changed */
};

struct st_read_all {
    struct store_req base;
    int64_t mid, wid, now;
    struct audit_by by;
    int64_t changed, unread;
    struct feed_update update; /* when changed > 0 */
};

/* What a reconnecting stream missed: every change after after_seq, in
 * order, at most limit of them. gap: the log no longer reaches back to
 * after_seq (too old, or from before the member was re-created). */
struct st_feed_replay {
    struct store_req base;
    int64_t mid, wid, after_seq;
    int limit;
    int64_t last_seq, unread;
    bool gap, more;
    struct feed_update *updates;
    size_t n;
};

/* Closes the grouping windows due at `now` (at most max): one notification
 * each unless the conversation was read in time. */
struct st_windows_close {
    struct store_req base;
    int64_t now;
    int max;
    size_t closed, deliveries;
    bool more;
    int64_t next_due; /* the next open window's closing time; 0: none */
    struct feed_update *updates;
    size_t n;
};

struct st_windows_next {
    struct store_req base;
    int64_t next_due;
};

/* The member read a conversation at read_at: an open window whose last
 * message is not later than that sends nothing when it closes. */
struct st_conv_read {
    struct store_req base;
    int64_t wid, mid;        /* mid 0: look member_id up */
    const char *member_id;
    const char *conversation_id;
    int64_t read_at, now;
    struct audit_by by;
    bool window_open, suppressed;
};

struct st_prune {
    struct store_req base;
    int64_t now;
    int max_events;
    int64_t events_deleted, notifications_deleted;
    int64_t devices_deleted;     /* unused for 270 days */
    int64_t audit_deleted;       /* audit entries past retention */
    struct feed_update *updates; /* UPD_COUNT for members whose unread count fell */
    size_t n;
};

struct st_ping {
    struct store_req base;
};

/* A message pop-up another node shared (store_remote.popup's source). */
struct st_popup_get {
    struct store_req base;
    int64_t id;
    int64_t *mids; /* who sees it */
    size_t n;
    const char *json;
};

/* A page of a workspace's audit trail, oldest first, in (at, id) order.
 * member_id narrows by the index; action, event_id and nid are checked on
 * the rows read, of which at most `scan` are read per page, so a rare
 * filter cannot make one page read the whole trail: the page may then come
 * back short with more set, and the cursor goes on from the last row read. */
struct st_audit_list {
    struct store_req base;
    int64_t wid;
    const char *member_id, *event_id; /* NULL: any */
    int64_t nid;                      /* 0: any */
    int action;                       /* 0: any */
    int64_t since, until;             /* at >= since, at < until (until 0: none) */
    int64_t after_id;                 /* the cursor: after this entry (0: from the start) */
    int limit, scan;
    struct audit_entry *items;
    size_t n;
    bool more;
    int64_t last_id;                  /* the last entry read: the next cursor when more */
};

struct st_meta_set {
    struct store_req base;
    const char *key, *value;
    bool keep_existing; /* a value already there wins (STORE_CONFLICT) */
};

/* ---- the store ---- */

struct store;

/* Another node changed a member's feed (seq: the change's position; 0:
 * only the unread count moved; mid 0: anyone's may have, catch every
 * stream up). Called on the loop thread; multi-node backends only. */
struct store_remote {
    void (*change)(void *arg, int64_t mid, int64_t seq);
    /* another node's message pop-up for member mid's streams */
    void (*popup)(void *arg, int64_t mid, const char *json);
    void *arg;
};

struct store_options {
    const char *backend;   /* "sqlite" or "postgresql" (store_backend_for) */
    const char *dsn;       /* a file path for sqlite, a URI for postgresql */
    bool threaded;         /* false: every op runs on the caller (CLI) */
    struct event_base *base; /* required when threaded */
    bool sync_full;        /* fsync each commit (default true) */
    int max_batch;         /* jobs per group commit */
    int busy_timeout_ms;   /* sqlite: wait for another process's lock (0: 5 s) */
    int cache_mib;         /* sqlite: page cache per connection (0: 64 MiB) */
    int workers;           /* postgresql: connections serving requests (0: default) */
    struct metrics *metrics; /* may be NULL */
};

/* The backend a --database value names: "postgresql" for a postgresql://
 * or postgres:// URI, otherwise "sqlite" (a file path). */
const char *store_backend_for(const char *database);
/* database as it may be logged: a URI's password is masked. */
void store_describe(const char *database, char *out, size_t cap);

/* Opens the store and runs pending migrations. NULL on failure (logged). */
struct store *store_open(const struct store_options *opt);
/* Finishes queued writes, then closes. No done callback runs after this. */
void store_close(struct store *s);
void store_submit(struct store *s, struct store_req *r);
/* Runs r and waits for it, for the CLI and for start-up before the loop
 * runs: writes still go through the writer thread when there is one. */
int store_call(struct store *s, struct store_req *r);

/* Small key-value settings of the installation (e.g. the admin key hash);
 * synchronous, for start-up. */
int store_meta_get(struct store *s, const char *key, char *out, size_t cap);
int store_meta_set(struct store *s, const char *key, const char *value);
/* Sets key only if it has no value yet: STORE_CONFLICT if it has (two
 * processes making the same one-time secret: the first one stays). */
int store_meta_add(struct store *s, const char *key, const char *value);
int store_schema_version(struct store *s);
/* Asks to be told what other nodes change (multi-node backends; a no-op
 * for sqlite). Call on the loop thread once the hub exists; 0 on success. */
int store_set_remote(struct store *s, const struct store_remote *remote);

/* The backend interface. */
struct store_backend {
    const char *name;
    struct store *(*open)(const struct store_options *opt);
    void (*close)(struct store *s);
    void (*submit)(struct store *s, struct store_req *r);
    int (*call)(struct store *s, struct store_req *r);
    int (*meta_get)(struct store *s, const char *key, char *out, size_t cap);
    int (*meta_set)(struct store *s, const char *key, const char *value, bool keep_existing);
    int (*schema_version)(struct store *s);
    int (*set_remote)(struct store *s, const struct store_remote *remote); /* may be NULL */
};

struct store {
    const struct store_backend *backend;
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

#endif
