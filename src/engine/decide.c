/* decide.c - recipients and channels per event (see decide.h). */
#include "engine/decide.h"
#include "engine/prefs.h"

#include <string.h>

#define DAY_MS (24 * 3600 * 1000LL)

static struct decision *candidate(struct decisions *out, struct arena *a,
                                  const char *member_id, unsigned reason)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].member_id, member_id) == 0) {
            out->v[i].reasons |= reason;
            return &out->v[i];
        }
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct decision *v = ARENA_NEW_N(a, struct decision, cap);
        if (out->n)
            memcpy(v, out->v, out->n * sizeof *v);
        out->v = v;
        out->cap = cap;
    }
    struct decision *d = &out->v[out->n++];
    memset(d, 0, sizeof *d);
    d->member_id = member_id;
    d->reasons = reason;
    return d;
}

static void add_ids(struct decisions *out, struct arena *a, const json_t *arr, unsigned reason)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *id = json_string_value(v);
        if (id)
            candidate(out, a, id, reason);
    }
}

static json_t *path(const json_t *root, const char *a, const char *b)
{
    json_t *v = json_object_get(root, a);
    return b ? json_object_get(v, b) : v;
}

static void add_members(struct decisions *out, struct arena *a, struct member **ms, size_t n,
                        unsigned reason)
{
    for (size_t i = 0; i < n; i++)
        candidate(out, a, ms[i]->id, reason)->member = ms[i];
}

bool cancellation_alert_due(const struct member *m, const struct event_view *ev)
{
    if (m->cancel_channels == CANCEL_OFF)
        return false;
    int64_t lead = ev->starts_at - ev->occurred_at;
    if (lead < 0)
        return false;
    return m->cancel_within_days == 0 || lead <= m->cancel_within_days * DAY_MS;
}

static unsigned cancellation_channels(const struct member *m)
{
    switch (m->cancel_channels) {
    case CANCEL_EMAIL: return CH_BIT(CH_EMAIL);
    case CANCEL_SMS: return CH_BIT(CH_SMS);
    case CANCEL_EMAIL_AND_SMS: return CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS);
    default: return 0;
    }
}

static void decide_one(struct decision *d, const struct event_view *ev,
                       const struct workspace *ws)
{
    const struct event_type *t = ev->type;
    struct member *m = d->member;
    d->category = t->category;
    if (!m) {
        d->skip = "unknown_member";
        return;
    }
    if (!m->active) {
        d->skip = "inactive";
        return;
    }
    if (ev->actor_kind == ACTOR_MEMBER && ev->actor_id && strcmp(ev->actor_id, m->id) == 0) {
        if (t->category != CAT_SCHEDULING) {
            d->skip = "own_action";
            return;
        }
        d->category = CAT_PRACTITIONER_SCHEDULING;
    }
    unsigned ch = prefs_channels(&ws->default_prefs, &m->prefs, d->category);
    if (d->category == t->category)
        ch |= prefs_forced(t);
    /* A cancellation's email and SMS come from the alert setting alone,
     * never from the matrix, and never for one's own cancellation. */
    if (t->flags & ET_CANCELLATION) {
        ch &= ~(CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS));
        if (d->category == CAT_SCHEDULING && cancellation_alert_due(m, ev))
            ch |= cancellation_channels(m);
    }
    if (!m->push_enabled)
        ch &= ~CH_BIT(CH_PUSH);
    if (!m->email || !*m->email)
        ch &= ~CH_BIT(CH_EMAIL);
    if (!m->phone || !*m->phone)
        ch &= ~CH_BIT(CH_SMS);
    d->channels = ch;
    if (!ch)
        d->skip = "preference";
}

static bool any_receivable(const struct decisions *out)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i].member && out->v[i].member->active)
            return true;
    return false;
}

void engine_decide(const struct event_view *ev, const struct workspace *ws,
                   const struct member_lookup *lookup, struct arena *a,
                   struct decisions *out)
{
    const struct event_type *t = ev->type;
    const json_t *data = ev->data;
    memset(out, 0, sizeof *out);

    if (t->rules & RCP_APPOINTMENT_STAFF)
        add_ids(out, a, path(data, "appointment", "staff_ids"), RCP_APPOINTMENT_STAFF);
    if (t->rules & RCP_SERVICE_ASSIGNEES)
        add_ids(out, a, path(path(data, "appointment", "service"), "assignee_ids", NULL),
                RCP_SERVICE_ASSIGNEES);
    if (t->rules & RCP_CLIENT_STAFF)
        add_ids(out, a, path(data, "client", "assigned_staff_ids"), RCP_CLIENT_STAFF);
    if (t->rules & RCP_FORM_STAFF)
        add_ids(out, a, path(data, "form", "staff_ids"), RCP_FORM_STAFF);
    if (t->rules & RCP_INVOICE_STAFF)
        add_ids(out, a, path(data, "invoice", "staff_ids"), RCP_INVOICE_STAFF);
    if (t->rules & RCP_REFERRER) {
        const char *id = json_string_value(path(data, "referral", "referrer_id"));
        if (id)
            candidate(out, a, id, RCP_REFERRER);
    }
    if (t->rules & RCP_INBOX_MEMBERS)
        add_ids(out, a, path(data, "inbox", "member_ids"), RCP_INBOX_MEMBERS);
    if (t->rules & RCP_INBOX_SUBJECT) {
        const char *id = json_string_value(path(data, "member_id", NULL));
        if (id)
            candidate(out, a, id, RCP_INBOX_SUBJECT);
    }
    if (t->rules & RCP_PARTICIPANTS)
        add_ids(out, a, path(data, "conversation", "participant_ids"), RCP_PARTICIPANTS);

    /* Look up the members named so far. */
    for (size_t i = 0; i < out->n; i++)
        if (!out->v[i].member)
            out->v[i].member = lookup->by_id(lookup->ctx, out->v[i].member_id);

    struct member **ms;
    size_t n;
    if ((t->rules & RCP_ALL_STAFF) && (t->flags & ET_AUDIENCE_ALL_STAFF) &&
        ws->booking_alert_audience == AUDIENCE_ALL_STAFF) {
        n = lookup->active(lookup->ctx, 0, &ms);
        add_members(out, a, ms, n, RCP_ALL_STAFF);
    }
    bool admins = (t->rules & RCP_OWNERS_ADMINS) ||
                  ((t->flags & ET_OWNERS_FALLBACK) && !any_receivable(out));
    if (admins) {
        n = lookup->active(lookup->ctx, 1u << ROLE_OWNER | 1u << ROLE_ADMIN, &ms);
        add_members(out, a, ms, n, RCP_OWNERS_ADMINS);
    }

    for (size_t i = 0; i < out->n; i++)
        decide_one(&out->v[i], ev, ws);
}
