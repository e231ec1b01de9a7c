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
static const char *const S_REFERRAL[] = {"referral.referred_name", NULL};
static const char *const S_MESSAGE[] = {"message.text", "conversation.name", NULL};
static const char *const S_NONE[] = {NULL};

#define APPT_WHEN "{when}[[ ({service})]]"

static const struct event_type CATALOGUE[] = {
    {"appointment.assigned", CAT_SCHEDULING, RCP_APPOINTMENT, 0, D_APPOINTMENT, S_APPOINTMENT,
     "New appointment", "{client} was scheduled with you for " APPT_WHEN "[[ by {actor}]].", NULL},
    {"appointment.booked", CAT_SCHEDULING, RCP_APPOINTMENT | RCP_ALL_STAFF,
     ET_AUDIENCE_ALL_STAFF, D_APPOINTMENT, S_APPOINTMENT,
     "New booking", "{client} booked " APPT_WHEN "[[ via {source}]].", NULL},
    {"appointment.cancelled", CAT_SCHEDULING, RCP_APPOINTMENT, ET_CANCELLATION, D_CANCELLED,
     S_CANCELLED, "Appointment cancelled",
     "{client}'s appointment on " APPT_WHEN " was cancelled.[[ Reason: {reason}]]", NULL},
    {"appointment.rescheduled", CAT_SCHEDULING, RCP_APPOINTMENT, 0, D_RESCHEDULED,
     S_APPOINTMENT, "Appointment rescheduled",
     "{client}'s appointment moved from {previous_when} to " APPT_WHEN ".", NULL},
    {"appointment.confirmed", CAT_SCHEDULING, RCP_APPOINTMENT, 0, D_APPOINTMENT,
     S_APPOINTMENT, "Appointment confirmed",
     "{client} confirmed their appointment on " APPT_WHEN ".", NULL},
    {"form.submitted", CAT_CLIENTS_DOCUMENTS, RCP_CLIENT_STAFF | RCP_FORM_STAFF, 0, D_FORM,
     S_FORM, "Form submitted", "{client} submitted {form}.", NULL},
    {"file.uploaded", CAT_CLIENTS_DOCUMENTS, RCP_CLIENT_STAFF, 0, D_FILE, S_FILE,
     "File uploaded", "{client} uploaded {file}.", NULL},
    {"note.created", CAT_CLIENTS_DOCUMENTS, RCP_CLIENT_STAFF, 0, D_NOTE, S_NOTE,
     "New note", "{client} added a note[[: {note}]].", NULL},
    {"note.updated", CAT_CLIENTS_DOCUMENTS, RCP_CLIENT_STAFF, 0, D_NOTE, S_NOTE,
     "Note updated", "{client} updated a note[[: {note}]].", NULL},
    {"client.assigned", CAT_CLIENTS_DOCUMENTS, RCP_CLIENT_STAFF, 0, D_CLIENT_ASSIGNED, S_CLIENT,
     "New client", "{client} was assigned to you[[ by {actor}]].", NULL},
    {"invoice.paid", CAT_BILLING, RCP_INVOICE_STAFF, ET_OWNERS_FALLBACK, D_INVOICE, S_CLIENT,
     "Invoice paid", "[[Invoice {invoice_number}: ]]{amount} paid by {client}.", NULL},
    {"subscription.payment_failed", CAT_BILLING, RCP_OWNERS_ADMINS, ET_CRITICAL,
     D_SUBSCRIPTION, S_NONE, "Payment failed",
     "We could not charge {amount} for the {plan} plan. Update the payment method to "
     "keep the practice's account active.", NULL},
    {"referral.credited", CAT_WORKSPACE, RCP_REFERRER, 0, D_REFERRAL, S_REFERRAL,
     "Referral credit", "You earned [[{amount} ]]for referring {referred}.[[ {referral_reason}]]",
     NULL},
    {"referral.joined", CAT_WORKSPACE, RCP_REFERRER, 0, D_REFERRAL, S_REFERRAL,
     "Referral joined", "{referred} joined through your referral.", NULL},
    {"inbox.member_added", CAT_COMMUNICATIONS, RCP_INBOX_MEMBERS | RCP_INBOX_SUBJECT, 0,
     D_INBOX, S_NONE, "Inbox member added", "{subject} was added to {inbox}[[ by {actor}]].",
     "You were added to {inbox}[[ by {actor}]]."},
    {"inbox.member_removed", CAT_COMMUNICATIONS, RCP_INBOX_MEMBERS | RCP_INBOX_SUBJECT, 0,
     D_INBOX, S_NONE, "Inbox member removed",
     "{subject} was removed from {inbox}[[ by {actor}]].",
     "You were removed from {inbox}[[ by {actor}]]."},
    {"message.received", CAT_COMMUNICATIONS, RCP_PARTICIPANTS, ET_SENDER_REQUIRED | ET_GROUPED,
     D_MESSAGE,
     S_MESSAGE, "New message", "{actor} sent you a message[[ in {conversation}]].", NULL},
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
