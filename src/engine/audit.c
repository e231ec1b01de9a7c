/* audit.c - the audit trail's names, details and entry JSON (see audit.h). */
#include "engine/audit.h"
#include "engine/feeditem.h"
#include "engine/model.h"
#include "engine/outcome.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/jw.h"

#include <string.h>

static const char *const ACTIONS[AU_ACTION_END] = {
    [AU_CREATED] = "notification.created",
    [AU_SKIPPED] = "notification.skipped",
    [AU_GROUPED] = "notification.grouped",
    [AU_SUPPRESSED] = "notification.suppressed",
    [AU_ATTEMPT] = "delivery.attempt",
    [AU_DELIVERY_SKIPPED] = "delivery.skipped",
    [AU_READ] = "notification.read",
    [AU_UNREAD] = "notification.unread",
    [AU_IGNORED] = "notification.ignored",
    [AU_CONVERSATION_READ] = "conversation.read",
};

const char *audit_action_name(int action)
{
    return action > 0 && action < AU_ACTION_END ? ACTIONS[action] : "unknown";
}

int audit_action_parse(const char *name)
{
    for (int i = 1; i < AU_ACTION_END; i++)
        if (name && strcmp(name, ACTIONS[i]) == 0)
            return i;
    return 0;
}

const char *audit_actor_kind_name(int kind)
{
    static const char *const names[AUDIT_BY_END] = {"herald", "api_key", "member"};
    return kind >= 0 && kind < AUDIT_BY_END ? names[kind] : "herald";
}

int audit_action_of_state(int notification_state)
{
    /* The feed's states: 0 unread, 1 read, 2 ignored. */
    return notification_state == 1 ? AU_READ : notification_state == 2 ? AU_IGNORED : AU_UNREAD;
}

void audit_entry_json(struct jw *w, const struct audit_entry *e)
{
    char id[32];
    jw_obj(w);
    jw_kint(w, "id", e->id);
    jw_ktime(w, "at", e->at);
    jw_kstr(w, "action", audit_action_name(e->action));
    jw_key(w, "actor");
    jw_obj(w);
    jw_kstr(w, "kind", audit_actor_kind_name(e->actor_kind));
    jw_kstr(w, "id", e->actor_id);
    jw_obj_end(w);
    jw_kstr(w, "member_id", e->member_id);
    jw_kstr(w, "event_id", e->event_id);
    jw_key(w, "notification_id");
    if (e->nid) {
        notification_id_format(e->nid, id);
        jw_str(w, id);
    } else {
        jw_null(w);
    }
    jw_key(w, "delivery_id");
    if (e->did) {
        delivery_id_format(e->did, id);
        jw_str(w, id);
    } else {
        jw_null(w);
    }
    jw_key(w, "details");
    if (e->detail && *e->detail)
        jw_raw(w, e->detail, strlen(e->detail));
    else
        jw_raw(w, "{}", 2);
    jw_obj_end(w);
}

/* The writer and its buffer for one detail object; done() copies it to a. */
struct detail {
    struct buf b;
    struct jw w;
};

static void begin(struct detail *d)
{
    d->b = (struct buf)BUF_INIT;
    jw_init(&d->w, &d->b);
    jw_obj(&d->w);
}

static const char *done(struct detail *d, struct arena *a)
{
    jw_obj_end(&d->w);
    const char *s = arena_strndup(a, d->b.data, d->b.len);
    buf_free(&d->b);
    return s;
}

const char *audit_detail_created(struct arena *a, const char *type, int category,
                                 unsigned channels, unsigned reasons)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "type", type);
    jw_kstr(&d.w, "category", category_name((enum category)category));
    jw_key(&d.w, "channels");
    outcome_channels(&d.w, channels);
    jw_key(&d.w, "reasons");
    outcome_reasons(&d.w, reasons);
    return done(&d, a);
}

const char *audit_detail_reason(struct arena *a, const char *reason)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "reason", reason);
    return done(&d, a);
}

const char *audit_detail_grouped(struct arena *a, const char *conversation_id,
                                 int64_t closes_at)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "conversation_id", conversation_id);
    jw_ktime(&d.w, "window_closes_at", closes_at);
    return done(&d, a);
}

const char *audit_detail_grouped_reason(struct arena *a, const char *conversation_id,
                                        const char *reason)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "conversation_id", conversation_id);
    jw_kstr(&d.w, "reason", reason);
    return done(&d, a);
}

const char *audit_detail_attempt(struct arena *a, const struct audit_attempt *t)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "channel", channel_name((enum channel)t->channel));
    jw_kstr(&d.w, "provider", t->provider);
    jw_kint(&d.w, "attempt", t->attempt);
    jw_kbool(&d.w, "ok", t->ok);
    jw_kstr(&d.w, "answer", t->answer);
    jw_kint(&d.w, "latency_ms", t->latency_ms);
    jw_kstr(&d.w, "status", delivery_status_name((enum delivery_status)t->status));
    if (t->retry_at)
        jw_ktime(&d.w, "next_attempt_at", t->retry_at);
    return done(&d, a);
}

const char *audit_detail_delivery_skipped(struct arena *a, int channel, const char *reason)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "channel", channel_name((enum channel)channel));
    jw_kstr(&d.w, "reason", reason);
    return done(&d, a);
}

const char *audit_detail_state(struct arena *a, int from_state, const char *via)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "from", notification_state_name(from_state));
    if (via)
        jw_kstr(&d.w, "via", via);
    return done(&d, a);
}

const char *audit_detail_conversation(struct arena *a, const char *conversation_id,
                                      int64_t read_at, bool suppressed)
{
    struct detail d;
    begin(&d);
    jw_kstr(&d.w, "conversation_id", conversation_id);
    jw_ktime(&d.w, "read_at", read_at);
    jw_kbool(&d.w, "suppressed", suppressed);
    return done(&d, a);
}
