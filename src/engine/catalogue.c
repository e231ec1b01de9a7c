/* catalogue.c - the event catalogue of PRODUCT.md as data (see catalogue.h).
 *
 * Data shapes follow API.md "Event data per type". Templates use {var} and
 * [[optional parts]] (template.h); variables are listed in render.c. The
 * in-app feed may show names and reasons; `sensitive` lists what external
 * channels must leave out. */
#include "engine/catalogue.h"

#include <string.h>

#define REQ true
#define OPT false
#define END {NULL, 0, false, NULL}

static const struct field_spec SERVICE[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, OPT, NULL},
    {"assignee_ids", FK_IDS, OPT, NULL},
    END};

static const struct field_spec APPOINTMENT[] = {
    {"id", FK_ID, REQ, NULL},
    {"starts_at", FK_TIME, REQ, NULL},
    {"ends_at", FK_TIME, OPT, NULL},
    {"staff_ids", FK_IDS, REQ, NULL},
    {"service", FK_OBJECT, OPT, SERVICE},
    END};

static const struct field_spec CLIENT[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, REQ, NULL},
    {"assigned_staff_ids", FK_IDS, OPT, NULL},
    END};

static const struct field_spec CLIENT_ASSIGNED_CLIENT[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, REQ, NULL},
    {"assigned_staff_ids", FK_IDS, REQ, NULL},
    END};

static const struct field_spec PREVIOUS[] = {
    {"starts_at", FK_TIME, REQ, NULL},
    {"ends_at", FK_TIME, OPT, NULL},
    END};

static const struct field_spec D_APPOINTMENT[] = {
    {"appointment", FK_OBJECT, REQ, APPOINTMENT},
    {"client", FK_OBJECT, REQ, CLIENT},
    END};

static const struct field_spec D_CANCELLED[] = {
    {"appointment", FK_OBJECT, REQ, APPOINTMENT},
    {"client", FK_OBJECT, REQ, CLIENT},
    {"reason", FK_LONGTEXT, OPT, NULL},
    END};

static const struct field_spec D_RESCHEDULED[] = {
    {"appointment", FK_OBJECT, REQ, APPOINTMENT},
    {"client", FK_OBJECT, REQ, CLIENT},
    {"previous", FK_OBJECT, REQ, PREVIOUS},
    END};

static const struct field_spec FORM[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, REQ, NULL},
    {"staff_ids", FK_IDS, OPT, NULL},
    END};

static const struct field_spec D_FORM[] = {
    {"client", FK_OBJECT, REQ, CLIENT},
    {"form", FK_OBJECT, REQ, FORM},
    END};

static const struct field_spec FILE_[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, REQ, NULL},
    END};

static const struct field_spec D_FILE[] = {
    {"client", FK_OBJECT, REQ, CLIENT},
    {"file", FK_OBJECT, REQ, FILE_},
    END};

static const struct field_spec NOTE[] = {
    {"id", FK_ID, REQ, NULL},
    {"title", FK_TEXT, OPT, NULL},
    {"text", FK_LONGTEXT, OPT, NULL},
    END};

static const struct field_spec D_NOTE[] = {
    {"client", FK_OBJECT, REQ, CLIENT},
    {"note", FK_OBJECT, REQ, NOTE},
    END};

static const struct field_spec D_CLIENT_ASSIGNED[] = {
    {"client", FK_OBJECT, REQ, CLIENT_ASSIGNED_CLIENT},
    END};

static const struct field_spec INVOICE[] = {
    {"id", FK_ID, REQ, NULL},
    {"number", FK_TEXT, OPT, NULL},
    {"amount", FK_AMOUNT, REQ, NULL},
    {"currency", FK_CURRENCY, REQ, NULL},
    {"staff_ids", FK_IDS, OPT, NULL},
    END};

static const struct field_spec D_INVOICE[] = {
    {"invoice", FK_OBJECT, REQ, INVOICE},
    {"client", FK_OBJECT, REQ, CLIENT},
    END};

static const struct field_spec SUBSCRIPTION[] = {
    {"id", FK_ID, REQ, NULL},
    {"plan", FK_TEXT, REQ, NULL},
    {"amount", FK_AMOUNT, REQ, NULL},
    {"currency", FK_CURRENCY, REQ, NULL},
    END};

static const struct field_spec D_SUBSCRIPTION[] = {
    {"subscription", FK_OBJECT, REQ, SUBSCRIPTION},
    END};

static const struct field_spec REFERRAL[] = {
    {"id", FK_ID, REQ, NULL},
    {"referrer_id", FK_ID, REQ, NULL},
    {"referred_name", FK_TEXT, REQ, NULL},
    {"amount", FK_AMOUNT, OPT, NULL},
    {"currency", FK_CURRENCY, OPT, NULL},
    {"reason", FK_TEXT, OPT, NULL},
    END};

static const struct field_spec D_REFERRAL[] = {
    {"referral", FK_OBJECT, REQ, REFERRAL},
    END};

static const struct field_spec INBOX[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, REQ, NULL},
    {"member_ids", FK_IDS, REQ, NULL},
    END};

static const struct field_spec D_INBOX[] = {
    {"inbox", FK_OBJECT, REQ, INBOX},
    {"member_id", FK_ID, REQ, NULL},
    END};

static const struct field_spec CONVERSATION[] = {
    {"id", FK_ID, REQ, NULL},
    {"name", FK_TEXT, OPT, NULL},
    {"participant_ids", FK_IDS, REQ, NULL},
    END};

static const struct field_spec MESSAGE[] = {
    {"id", FK_ID, REQ, NULL},
    {"text", FK_LONGTEXT, OPT, NULL},
    END};

static const struct field_spec D_MESSAGE[] = {
    {"conversation", FK_OBJECT, REQ, CONVERSATION},
    {"message", FK_OBJECT, REQ, MESSAGE},
    END};

/* Patient information per shape; external channels leave these out. */
static const char *const S_APPOINTMENT[] = {"client.name", "appointment.service.name", NULL};
static const char *const S_CANCELLED[] = {"client.name", "appointment.service.name", "reason", NULL};
static const char *const S_FORM[] = {"client.name", "form.name", NULL};
static const char *const S_FILE[] = {"client.name", "file.name", NULL};
static const char *const S_NOTE[] = {"client.name", "note.title", "note.text", NULL};
static const char *const S_CLIENT[] = {"client.name", NULL};
static const char *const S_REFERRAL[] = {"referral.referred_name", "referral.reason", NULL};
static const char *const S_MESSAGE[] = {"message.text", "conversation.name", NULL};
static const char *const S_NONE[] = {NULL};

#define APPT_WHEN "{when}[[ ({service})]]"

static const struct event_type CATALOGUE[] = {
    {.name = "appointment.assigned", .category = CAT_SCHEDULING, .rules = RCP_APPOINTMENT,
     .data = D_APPOINTMENT, .sensitive = S_APPOINTMENT,
     .title = "New appointment",
     .body = "{client} was scheduled with you for " APPT_WHEN "[[ by {actor}]].",
     .email_subject = "New appointment: {when}",
     .email_text = "{client|A client} was scheduled with you for " APPT_WHEN "[[ by {actor}]].",
     .sms_text = "New appointment: {when}[[ with {client}]]."},
    {.name = "appointment.booked", .category = CAT_SCHEDULING,
     .rules = RCP_APPOINTMENT | RCP_ALL_STAFF, .flags = ET_AUDIENCE_ALL_STAFF,
     .data = D_APPOINTMENT, .sensitive = S_APPOINTMENT,
     .title = "New booking", .body = "{client} booked " APPT_WHEN "[[ via {source}]].",
     .email_subject = "New booking: {when}",
     .email_text = "{client|A client} booked an appointment for " APPT_WHEN "[[ via {source}]].",
     .sms_text = "New booking: {when}[[ by {client}]]."},
    {.name = "appointment.cancelled", .category = CAT_SCHEDULING, .rules = RCP_APPOINTMENT,
     .flags = ET_CANCELLATION, .data = D_CANCELLED, .sensitive = S_CANCELLED,
     .title = "Appointment cancelled",
     .body = "{client}'s appointment on " APPT_WHEN " was cancelled.[[ Reason: {reason}]]",
     .email_subject = "Cancellation: {when}",
     .email_text = "{client|A client}'s appointment on " APPT_WHEN " was cancelled.[[ Reason: {reason}]]",
     .sms_text = "Cancellation: {when}[[ ({client})]]."},
    {.name = "appointment.rescheduled", .category = CAT_SCHEDULING, .rules = RCP_APPOINTMENT,
     .data = D_RESCHEDULED, .sensitive = S_APPOINTMENT,
     .title = "Appointment rescheduled",
     .body = "{client}'s appointment moved from {previous_when} to " APPT_WHEN ".",
     .email_subject = "Rescheduled: {when}",
     .email_text = "{client|A client}'s appointment moved from {previous_when} to " APPT_WHEN ".",
     .sms_text = "Rescheduled: {previous_when} moved to {when}[[ ({client})]]."},
    {.name = "appointment.confirmed", .category = CAT_SCHEDULING, .rules = RCP_APPOINTMENT,
     .data = D_APPOINTMENT, .sensitive = S_APPOINTMENT,
     .title = "Appointment confirmed",
     .body = "{client} confirmed their appointment on " APPT_WHEN ".",
     .email_subject = "Confirmed: {when}",
     .email_text = "{client|A client} confirmed their appointment on " APPT_WHEN ".",
     .sms_text = "Confirmed: {when}[[ ({client})]]."},
    {.name = "form.submitted", .category = CAT_CLIENTS_DOCUMENTS,
     .rules = RCP_CLIENT_STAFF | RCP_FORM_STAFF, .data = D_FORM, .sensitive = S_FORM,
     .title = "Form submitted", .body = "{client} submitted {form}.",
     .email_subject = "A form was submitted",
     .email_text = "{client|A client} submitted {form|a form}.",
     .sms_text = "A form was submitted[[ by {client}]]."},
    {.name = "file.uploaded", .category = CAT_CLIENTS_DOCUMENTS, .rules = RCP_CLIENT_STAFF,
     .data = D_FILE, .sensitive = S_FILE,
     .title = "File uploaded", .body = "{client} uploaded {file}.",
     .email_subject = "A file was uploaded",
     .email_text = "{client|A client} uploaded {file|a file}.",
     .sms_text = "A file was uploaded[[ by {client}]]."},
    {.name = "note.created", .category = CAT_CLIENTS_DOCUMENTS, .rules = RCP_CLIENT_STAFF,
     .data = D_NOTE, .sensitive = S_NOTE,
     .title = "New note", .body = "{client} added a note[[: {note}]].",
     .email_subject = "A client added a note",
     .email_text = "{client|A client} added a note[[: {note}]].",
     .sms_text = "A client added a note[[ ({client})]]."},
    {.name = "note.updated", .category = CAT_CLIENTS_DOCUMENTS, .rules = RCP_CLIENT_STAFF,
     .data = D_NOTE, .sensitive = S_NOTE,
     .title = "Note updated", .body = "{client} updated a note[[: {note}]].",
     .email_subject = "A client updated a note",
     .email_text = "{client|A client} updated a note[[: {note}]].",
     .sms_text = "A client updated a note[[ ({client})]]."},
    {.name = "client.assigned", .category = CAT_CLIENTS_DOCUMENTS, .rules = RCP_CLIENT_STAFF,
     .data = D_CLIENT_ASSIGNED, .sensitive = S_CLIENT,
     .title = "New client", .body = "{client} was assigned to you[[ by {actor}]].",
     .email_subject = "A new client was assigned to you",
     .email_text = "{client|A new client} was assigned to you[[ by {actor}]].",
     .sms_text = "A new client was assigned to you[[: {client}]]."},
    {.name = "invoice.paid", .category = CAT_BILLING, .rules = RCP_INVOICE_STAFF,
     .flags = ET_OWNERS_FALLBACK, .data = D_INVOICE, .sensitive = S_CLIENT,
     .title = "Invoice paid", .body = "[[Invoice {invoice_number}: ]]{amount} paid by {client}.",
     .email_subject = "Invoice paid[[: {invoice_number}]]",
     .email_text = "[[Invoice {invoice_number}: ]]{amount} was paid[[ by {client}]].",
     .sms_text = "Invoice paid: {amount}[[ ({invoice_number})]]."},
    {.name = "subscription.payment_failed", .category = CAT_BILLING, .rules = RCP_OWNERS_ADMINS,
     .flags = ET_CRITICAL, .data = D_SUBSCRIPTION, .sensitive = S_NONE,
     .title = "Payment failed",
     .body = "We could not charge {amount} for the {plan} plan. Update the payment method to "
             "keep the practice's account active.",
     .email_subject = "Action needed: the {plan} plan payment failed",
     .email_text = "We could not charge {amount} for the {plan} plan. Update the payment method "
                   "to keep the practice's account active.",
     .sms_text = "Payment failed for the {plan} plan: update the payment method."},
    {.name = "referral.credited", .category = CAT_WORKSPACE, .rules = RCP_REFERRER,
     .data = D_REFERRAL, .sensitive = S_REFERRAL,
     .title = "Referral credit",
     .body = "You earned [[{amount} ]]for referring {referred}.[[ {referral_reason}]]",
     .email_subject = "You earned a referral credit",
     .email_text = "You earned [[{amount} ]]for referring {referred|a practice}.",
     .sms_text = "You earned a referral credit[[ of {amount}]]."},
    {.name = "referral.joined", .category = CAT_WORKSPACE, .rules = RCP_REFERRER,
     .data = D_REFERRAL, .sensitive = S_REFERRAL,
     .title = "Referral joined", .body = "{referred} joined through your referral.",
     .email_subject = "Your referral joined",
     .email_text = "{referred|A practice you referred} joined through your referral.",
     .sms_text = "A practice you referred joined."},
    {.name = "inbox.member_added", .category = CAT_COMMUNICATIONS,
     .rules = RCP_INBOX_MEMBERS | RCP_INBOX_SUBJECT, .data = D_INBOX, .sensitive = S_NONE,
     .title = "Inbox member added", .body = "{subject} was added to {inbox}[[ by {actor}]].",
     .body_self = "You were added to {inbox}[[ by {actor}]].",
     .email_subject = "Inbox {inbox}: a member was added",
     .email_text = "{subject} was added to {inbox}[[ by {actor}]].",
     .sms_text = "{subject} was added to {inbox}."},
    {.name = "inbox.member_removed", .category = CAT_COMMUNICATIONS,
     .rules = RCP_INBOX_MEMBERS | RCP_INBOX_SUBJECT, .data = D_INBOX, .sensitive = S_NONE,
     .title = "Inbox member removed",
     .body = "{subject} was removed from {inbox}[[ by {actor}]].",
     .body_self = "You were removed from {inbox}[[ by {actor}]].",
     .email_subject = "Inbox {inbox}: a member was removed",
     .email_text = "{subject} was removed from {inbox}[[ by {actor}]].",
     .sms_text = "{subject} was removed from {inbox}."},
    /* Messages notify per grouping window (render_message_group*). */
    {.name = "message.received", .category = CAT_COMMUNICATIONS, .rules = RCP_PARTICIPANTS,
     .flags = ET_SENDER_REQUIRED | ET_GROUPED, .data = D_MESSAGE, .sensitive = S_MESSAGE,
     .title = "New message", .body = "{actor} sent you a message[[ in {conversation}]].",
     .email_subject = "New message", .email_text = "You have a new message.",
     .sms_text = "You have a new message."},
};

#define NTYPES (sizeof CATALOGUE / sizeof *CATALOGUE)
_Static_assert(NTYPES == 17, "PRODUCT.md's catalogue has 17 types");

const struct event_type *catalogue_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(CATALOGUE[i].name, name) == 0)
            return &CATALOGUE[i];
    return NULL;
}

const struct event_type *catalogue_at(size_t i)
{
    return i < NTYPES ? &CATALOGUE[i] : NULL;
}

size_t catalogue_count(void)
{
    return NTYPES;
}

size_t catalogue_index(const struct event_type *t)
{
    return (size_t)(t - CATALOGUE);
}

const char *recipient_rule_reason(unsigned rule_bit)
{
    switch (rule_bit) {
    case RCP_APPOINTMENT_STAFF: return "appointment_staff";
    case RCP_SERVICE_ASSIGNEES: return "service_assignee";
    case RCP_CLIENT_STAFF: return "assigned_practitioner";
    case RCP_FORM_STAFF: return "named_on_form";
    case RCP_INVOICE_STAFF: return "invoice_staff";
    case RCP_OWNERS_ADMINS: return "owner_or_admin";
    case RCP_REFERRER: return "referrer";
    case RCP_INBOX_MEMBERS: return "inbox_member";
    case RCP_INBOX_SUBJECT: return "added_or_removed";
    case RCP_PARTICIPANTS: return "participant";
    case RCP_ALL_STAFF: return "all_staff";
    default: return "unknown";
    }
}
