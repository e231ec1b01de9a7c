/* catalogue.h - every event type Herald knows, as data.
 *
 * An entry says the type's category, who receives it (recipient rules),
 * the shape its `data` must have (a field tree used by validation), which
 * data fields are patient information (kept off external channels), and its
 * English templates. Adding a type is adding one entry in catalogue.c. */
#ifndef HERALD_ENGINE_CATALOGUE_H
#define HERALD_ENGINE_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/model.h"

enum field_kind {
    FK_OBJECT,   /* JSON object; children validated */
    FK_ID,       /* host id: 1-128 of [A-Za-z0-9._:-] */
    FK_IDS,      /* array of host ids, at most FIELD_MAX_IDS */
    FK_TEXT,     /* string, 1..FIELD_MAX_TEXT bytes */
    FK_LONGTEXT, /* string, 0..FIELD_MAX_LONGTEXT bytes */
    FK_TIME,     /* RFC 3339 string */
    FK_AMOUNT,   /* number >= 0, in the currency's major unit */
    FK_CURRENCY, /* ISO 4217 code: three upper-case letters */
};

#define FIELD_MAX_IDS 1000
#define FIELD_MAX_TEXT 500
#define FIELD_MAX_LONGTEXT 20000

struct field_spec {
    const char *name;
    enum field_kind kind;
    bool required; /* required when its parent object is present */
    const struct field_spec *children; /* FK_OBJECT: NULL-name terminated */
};

/* Who receives a type; several rules combine (deduplicated). */
enum recipient_rule {
    RCP_APPOINTMENT_STAFF = 1u << 0, /* data.appointment.staff_ids */
    RCP_SERVICE_ASSIGNEES = 1u << 1, /* data.appointment.service.assignee_ids */
    RCP_CLIENT_STAFF = 1u << 2,      /* data.client.assigned_staff_ids */
    RCP_FORM_STAFF = 1u << 3,        /* data.form.staff_ids */
    RCP_INVOICE_STAFF = 1u << 4,     /* data.invoice.staff_ids */
    RCP_OWNERS_ADMINS = 1u << 5,     /* active owners and admins */
    RCP_REFERRER = 1u << 6,          /* data.referral.referrer_id */
    RCP_INBOX_MEMBERS = 1u << 7,     /* data.inbox.member_ids */
    RCP_INBOX_SUBJECT = 1u << 8,     /* data.member_id */
    RCP_PARTICIPANTS = 1u << 9,      /* data.conversation.participant_ids */
    RCP_ALL_STAFF = 1u << 10,        /* every active member (audience all_staff) */
    RCP_COUNT_BITS = 11
};
#define RCP_APPOINTMENT (RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF)

enum event_flag {
    ET_CRITICAL = 1u << 0,           /* in-app and email ignore opt-outs */
    ET_OWNERS_FALLBACK = 1u << 1,    /* owners/admins when no listed staff can receive */
    ET_AUDIENCE_ALL_STAFF = 1u << 2, /* RCP_ALL_STAFF applies when the workspace says so */
    ET_SENDER_REQUIRED = 1u << 3,    /* actor must be a member or client with an id */
    ET_CANCELLATION = 1u << 4,       /* email/SMS follow the cancellation-alert setting */
    ET_GROUPED = 1u << 5,            /* pops up at once; notifies once per window (messages) */
};

struct event_type {
    const char *name;
    enum category category;
    unsigned rules;
    unsigned flags;
    const struct field_spec *data;
    const char *const *sensitive; /* dotted paths in data; NULL-terminated */
    /* in-app (may name the client: the feed stays inside the practice) */
    const char *title;
    const char *body;
    const char *body_self; /* for the member the event is about, or NULL */
    /* external channels: variables for patient information render empty
     * unless the workspace opted in (render.c), so these read well either
     * way; "Open the app for details" is added by the renderer */
    const char *email_subject;
    const char *email_text;
    const char *sms_text;
};

const struct event_type *catalogue_find(const char *name);
const struct event_type *catalogue_at(size_t i); /* NULL past the end */
size_t catalogue_count(void);
size_t catalogue_index(const struct event_type *t);
/* "appointment_staff", "service_assignee", ... for one rule bit. */
const char *recipient_rule_reason(unsigned rule_bit);

#endif
