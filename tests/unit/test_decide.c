/* test_decide.c - engine_decide: recipients, skips and channels for all 17 catalogue types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/jsonx.h"
#include "core/timefmt.h"
#include "engine/decide.h"
#include "engine/event.h"
#include "engine/prefs.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define SCHED_DEFAULT (CH_BIT(CH_IN_APP) | CH_BIT(CH_PUSH))
#define DOCS_DEFAULT (CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL))
#define COMMS_DEFAULT (CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL) | CH_BIT(CH_PUSH))

/* ---- a fake member directory ---- */

enum { MAX_MEMBERS = 16 };

struct fixture {
    struct arena arena;
    struct member members[MAX_MEMBERS];
    size_t nmembers;
    struct workspace ws;
    struct member_lookup lookup;
    json_t *body;
    struct event_view ev;
    struct decisions d;
    int active_calls;
};

static struct member *fake_by_id(void *ctx, const char *id)
{
    struct fixture *f = ctx;
    for (size_t i = 0; i < f->nmembers; i++)
        if (strcmp(f->members[i].id, id) == 0)
            return &f->members[i];
    return NULL;
}

static size_t fake_active(void *ctx, unsigned role_mask, struct member ***out)
{
    struct fixture *f = ctx;
    f->active_calls++;
    struct member **v = ARENA_NEW_N(&f->arena, struct member *, MAX_MEMBERS);
    size_t n = 0;
    for (size_t i = 0; i < f->nmembers; i++) {
        struct member *m = &f->members[i];
        if (m->active && (role_mask == 0 || (role_mask & (1u << m->role))))
            v[n++] = m;
    }
    *out = v;
    return n;
}

static struct member *add_member(struct fixture *f, const char *id, enum role role, bool active)
{
    assert_true(f->nmembers < MAX_MEMBERS);
    struct member *m = &f->members[f->nmembers++];
    memset(m, 0, sizeof *m);
    m->id = id;
    m->name = id;
    m->email = arena_printf(&f->arena, "%s@example.com", id);
    m->phone = "+353870000000";
    m->role = role;
    m->active = active;
    m->push_enabled = true;
    m->cancel_channels = CANCEL_OFF;
    return m;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ws.id = "ws1";
    f->ws.name = "Practice";
    f->ws.timezone = "Europe/Dublin";
    f->ws.booking_alert_audience = AUDIENCE_ASSIGNED;
    add_member(f, "o1", ROLE_OWNER, true);
    add_member(f, "a1", ROLE_ADMIN, true);
    add_member(f, "p1", ROLE_PRACTITIONER, true);
    add_member(f, "p2", ROLE_PRACTITIONER, true);
    add_member(f, "p3", ROLE_PRACTITIONER, true);
    add_member(f, "s1", ROLE_STAFF, true);
    add_member(f, "r1", ROLE_RECEPTIONIST, true);
    add_member(f, "x1", ROLE_PRACTITIONER, false); /* inactive */
    add_member(f, "xa", ROLE_ADMIN, false);        /* inactive admin */
    f->lookup.by_id = fake_by_id;
    f->lookup.active = fake_active;
    f->lookup.ctx = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    json_decref(f->body);
    arena_reset(&f->arena);
    free(f);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

static struct member *member(struct fixture *f, const char *id)
{
    struct member *m = fake_by_id(f, id);
    assert_non_null(m);
    return m;
}

/* ---- events: JSON written with ' for ", validated like the API does ---- */

static void load_event(struct fixture *f, const char *squoted)
{
    char *text = strdup(squoted);
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t jerr;
    json_decref(f->body);
    f->body = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!f->body)
        fail_msg("bad test JSON: %s in %s", jerr.text, text);
    free(text);
    struct event_error err;
    if (event_validate(f->body, &f->ev, &err) != 0)
        fail_msg("event refused: %s %s: %s", err.code, err.field, err.message);
}

static void decide(struct fixture *f)
{
    engine_decide(&f->ev, &f->ws, &f->lookup, &f->arena, &f->d);
}

static const struct decision *find(const struct fixture *f, const char *id)
{
    for (size_t i = 0; i < f->d.n; i++)
        if (strcmp(f->d.v[i].member_id, id) == 0)
            return &f->d.v[i];
    fail_msg("no decision for %s", id);
    return NULL;
}

static bool has(const struct fixture *f, const char *id)
{
    for (size_t i = 0; i < f->d.n; i++)
        if (strcmp(f->d.v[i].member_id, id) == 0)
            return true;
    return false;
}

static void expect_notified(const struct fixture *f, const char *id, enum category cat,
                            unsigned channels, unsigned reasons)
{
    const struct decision *d = find(f, id);
    if (d->skip)
        fail_msg("%s skipped (%s), expected notified", id, d->skip);
    assert_non_null(d->member);
    assert_string_equal(d->member->id, id);
    if (d->category != cat)
        fail_msg("%s: category %s, expected %s", id, category_name(d->category),
                 category_name(cat));
    if (d->channels != channels)
        fail_msg("%s: channels 0x%x, expected 0x%x (bits: in_app 1, email 2, sms 4, push 8)",
                 id, d->channels, channels);
    if (d->reasons != reasons)
        fail_msg("%s: reasons 0x%x, expected 0x%x", id, d->reasons, reasons);
}

static void expect_skipped(const struct fixture *f, const char *id, const char *reason)
{
    const struct decision *d = find(f, id);
    if (!d->skip)
        fail_msg("%s notified, expected skip %s", id, reason);
    assert_string_equal(d->skip, reason);
    assert_int_equal(d->channels, 0);
}

/* The member ids in decision order, joined with ",". */
static const char *order(struct fixture *f)
{
    const char *s = "";
    for (size_t i = 0; i < f->d.n; i++)
        s = arena_printf(&f->arena, "%s%s%s", s, i ? "," : "", f->d.v[i].member_id);
    return s;
}

#define ENVELOPE(type, actor) \
    "{'id':'e1','type':'" type "','occurred_at':'2026-11-21T09:30:00Z','source':'staff'," actor

#define ACTOR_CLIENT "'actor':{'kind':'client','id':'cl_17','name':'Dana Reyes'},"
#define ACTOR_SYSTEM "'actor':{'kind':'system'},"
#define ACTOR_P1 "'actor':{'kind':'member','id':'p1','name':'P One'},"

/* staff p1; service assignees p2,p1; client staff p3,p2 */
#define APPT_DATA(starts)                                                               \
    "'appointment':{'id':'ap1','starts_at':'" starts "','ends_at':'2026-11-22T15:20:00Z'," \
    "'staff_ids':['p1'],'service':{'id':'sv1','name':'Consult','assignee_ids':['p2','p1']}}," \
    "'client':{'id':'cl_17','name':'Dana Reyes','assigned_staff_ids':['p3','p2']}"

static const char *appointment_event(struct fixture *f, const char *type, const char *actor)
{
    const char *extra = "";
    if (strcmp(type, "appointment.rescheduled") == 0)
        extra = ",'previous':{'starts_at':'2026-11-20T10:00:00Z'}";
    else if (strcmp(type, "appointment.cancelled") == 0)
        extra = ",'reason':'Unwell'";
    return arena_printf(&f->arena,
                        "{'id':'e1','type':'%s','occurred_at':'2026-11-21T09:30:00Z',"
                        "'source':'client_portal',%s'data':{" APPT_DATA("2026-11-22T14:30:00Z")
                        "%s}}",
                        type, actor, extra);
}

/* ---- appointment types ---- */

static void check_appointment_staff(struct fixture *f, const char *type)
{
    load_event(f, appointment_event(f, type, ACTOR_CLIENT));
    decide(f);
    assert_string_equal(order(f), "p1,p2,p3");
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
    expect_notified(f, "p2", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF);
    expect_notified(f, "p3", CAT_SCHEDULING, SCHED_DEFAULT, RCP_CLIENT_STAFF);
}

static void test_assigned_recipients(void **state) { check_appointment_staff(*state, "appointment.assigned"); }
static void test_booked_recipients(void **state) { check_appointment_staff(*state, "appointment.booked"); }
static void test_cancelled_recipients(void **state) { check_appointment_staff(*state, "appointment.cancelled"); }
static void test_rescheduled_recipients(void **state) { check_appointment_staff(*state, "appointment.rescheduled"); }
static void test_confirmed_recipients(void **state) { check_appointment_staff(*state, "appointment.confirmed"); }

static void test_appointment_without_service_or_client_staff(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("appointment.assigned", ACTOR_SYSTEM)
               "'data':{'appointment':{'id':'ap1','starts_at':'2026-11-22T14:30:00Z',"
               "'staff_ids':['s1','s1']},'client':{'id':'c1','name':'C'}}}");
    decide(f);
    assert_string_equal(order(f), "s1");
    expect_notified(f, "s1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_APPOINTMENT_STAFF);
}

static void test_booked_all_staff_audience(void **state)
{
    struct fixture *f = *state;
    f->ws.booking_alert_audience = AUDIENCE_ALL_STAFF;
    load_event(f, appointment_event(f, "appointment.booked", ACTOR_CLIENT));
    decide(f);
    /* named staff first, then every active member not yet named */
    assert_string_equal(order(f), "p1,p2,p3,o1,a1,s1,r1");
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES | RCP_ALL_STAFF);
    expect_notified(f, "p2", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF | RCP_ALL_STAFF);
    expect_notified(f, "p3", CAT_SCHEDULING, SCHED_DEFAULT, RCP_CLIENT_STAFF | RCP_ALL_STAFF);
    expect_notified(f, "o1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_ALL_STAFF);
    expect_notified(f, "a1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_ALL_STAFF);
    expect_notified(f, "s1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_ALL_STAFF);
    expect_notified(f, "r1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_ALL_STAFF);
    assert_false(has(f, "x1"));
    assert_false(has(f, "xa"));
}

static void test_booked_assigned_audience(void **state)
{
    struct fixture *f = *state;
    f->ws.booking_alert_audience = AUDIENCE_ASSIGNED;
    load_event(f, appointment_event(f, "appointment.booked", ACTOR_CLIENT));
    decide(f);
    assert_string_equal(order(f), "p1,p2,p3");
    assert_int_equal(f->active_calls, 0);
}

static void test_all_staff_audience_only_for_booked(void **state)
{
    struct fixture *f = *state;
    f->ws.booking_alert_audience = AUDIENCE_ALL_STAFF;
    static const char *const others[] = {"appointment.assigned", "appointment.cancelled",
                                         "appointment.rescheduled", "appointment.confirmed"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        load_event(f, appointment_event(f, others[i], ACTOR_CLIENT));
        decide(f);
        assert_string_equal(order(f), "p1,p2,p3");
    }
}

static void test_all_staff_respects_push_switch(void **state)
{
    struct fixture *f = *state;
    f->ws.booking_alert_audience = AUDIENCE_ALL_STAFF;
    member(f, "s1")->push_enabled = false;
    load_event(f, appointment_event(f, "appointment.booked", ACTOR_CLIENT));
    decide(f);
    expect_notified(f, "s1", CAT_SCHEDULING, CH_BIT(CH_IN_APP), RCP_ALL_STAFF);
    expect_notified(f, "r1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_ALL_STAFF);
}

/* ---- clients and documents ---- */

static void test_form_submitted(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("form.submitted", ACTOR_CLIENT)
               "'data':{'client':{'id':'cl_17','name':'Dana','assigned_staff_ids':['p1','p2']},"
               "'form':{'id':'f1','name':'Intake','staff_ids':['p2','s1']}}}");
    decide(f);
    assert_string_equal(order(f), "p1,p2,s1");
    expect_notified(f, "p1", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_CLIENT_STAFF);
    expect_notified(f, "p2", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT,
                    RCP_CLIENT_STAFF | RCP_FORM_STAFF);
    expect_notified(f, "s1", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_FORM_STAFF);
}

static void check_client_staff_only(struct fixture *f, const char *type, const char *extra)
{
    /* appointment and form data in the body must not add anybody */
    load_event(f, arena_printf(&f->arena,
                               "{'id':'e1','type':'%s','occurred_at':'2026-11-21T09:30:00Z',"
                               ACTOR_CLIENT "'data':{'client':{'id':'cl_17','name':'Dana',"
                               "'assigned_staff_ids':['p3','p1']},%s,"
                               "'appointment':{'staff_ids':['s1']},'form':{'staff_ids':['r1']},"
                               "'inbox':{'member_ids':['o1']}}}",
                               type, extra));
    decide(f);
    assert_string_equal(order(f), "p3,p1");
    expect_notified(f, "p3", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_CLIENT_STAFF);
    expect_notified(f, "p1", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_CLIENT_STAFF);
}

static void test_file_uploaded(void **state)
{
    check_client_staff_only(*state, "file.uploaded", "'file':{'id':'fl1','name':'scan.pdf'}");
}

static void test_note_created(void **state)
{
    check_client_staff_only(*state, "note.created", "'note':{'id':'n1','title':'Diary'}");
}

static void test_note_updated(void **state)
{
    check_client_staff_only(*state, "note.updated", "'note':{'id':'n1','text':'more'}");
}

static void test_client_assigned(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("client.assigned", "'actor':{'kind':'member','id':'a1'},")
               "'data':{'client':{'id':'cl_17','name':'Dana','assigned_staff_ids':['p2']}}}");
    decide(f);
    assert_string_equal(order(f), "p2");
    expect_notified(f, "p2", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_CLIENT_STAFF);
}

/* ---- billing ---- */

#define INVOICE(staff) \
    "'data':{'invoice':{'id':'i1','number':'INV-7','amount':120,'currency':'EUR'" staff "}," \
    "'client':{'id':'cl_17','name':'Dana'}}}"

static void test_invoice_paid_listed_staff(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':['p1']"));
    decide(f);
    assert_string_equal(order(f), "p1");
    expect_notified(f, "p1", CAT_BILLING, DOCS_DEFAULT, RCP_INVOICE_STAFF);
}

static void test_invoice_paid_fallback_when_no_staff(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(""));
    decide(f);
    assert_string_equal(order(f), "o1,a1");
    expect_notified(f, "o1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
    expect_notified(f, "a1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);

    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':[]"));
    decide(f);
    assert_string_equal(order(f), "o1,a1");
}

static void test_invoice_paid_fallback_when_staff_unreachable(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':['x1','ghost']"));
    decide(f);
    assert_string_equal(order(f), "x1,ghost,o1,a1");
    expect_skipped(f, "x1", "inactive");
    expect_skipped(f, "ghost", "unknown_member");
    expect_notified(f, "o1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
    expect_notified(f, "a1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
}

static void test_invoice_paid_no_fallback_with_one_active_staff(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':['ghost','p1']"));
    decide(f);
    assert_string_equal(order(f), "ghost,p1");
    expect_skipped(f, "ghost", "unknown_member");
    expect_notified(f, "p1", CAT_BILLING, DOCS_DEFAULT, RCP_INVOICE_STAFF);
}

static void test_invoice_paid_no_fallback_when_staff_opted_out(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    pref_matrix_put(&p1->prefs, CAT_BILLING, CH_IN_APP, 0);
    pref_matrix_put(&p1->prefs, CAT_BILLING, CH_EMAIL, 0);
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':['p1']"));
    decide(f);
    assert_string_equal(order(f), "p1");
    expect_skipped(f, "p1", "preference");
}

static void test_subscription_payment_failed(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("subscription.payment_failed", ACTOR_SYSTEM)
               "'data':{'subscription':{'id':'sub1','plan':'Pro','amount':49,'currency':'USD'}}}");
    decide(f);
    assert_string_equal(order(f), "o1,a1");
    expect_notified(f, "o1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
    expect_notified(f, "a1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
}

static void test_subscription_payment_failed_is_critical(void **state)
{
    struct fixture *f = *state;
    /* the workspace turns billing off for everyone, the owner also for themself */
    for (int ch = 0; ch < CH_COUNT; ch++)
        pref_matrix_put(&f->ws.default_prefs, CAT_BILLING, (enum channel)ch, 0);
    struct member *o1 = member(f, "o1");
    for (int ch = 0; ch < CH_COUNT; ch++)
        pref_matrix_put(&o1->prefs, CAT_BILLING, (enum channel)ch, 0);
    load_event(f, ENVELOPE("subscription.payment_failed", ACTOR_SYSTEM)
               "'data':{'subscription':{'id':'sub1','plan':'Pro','amount':49,'currency':'USD'}}}");
    decide(f);
    expect_notified(f, "o1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);
    expect_notified(f, "a1", CAT_BILLING, DOCS_DEFAULT, RCP_OWNERS_ADMINS);

    /* forcing does not invent an address */
    member(f, "a1")->email = NULL;
    decide(f);
    expect_notified(f, "a1", CAT_BILLING, CH_BIT(CH_IN_APP), RCP_OWNERS_ADMINS);
}

static void test_non_critical_billing_respects_opt_out(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    pref_matrix_put(&p1->prefs, CAT_BILLING, CH_EMAIL, 0);
    load_event(f, ENVELOPE("invoice.paid", ACTOR_CLIENT) INVOICE(",'staff_ids':['p1']"));
    decide(f);
    expect_notified(f, "p1", CAT_BILLING, CH_BIT(CH_IN_APP), RCP_INVOICE_STAFF);
}

/* ---- workspace ---- */

#define REFERRAL "'data':{'referral':{'id':'rf1','referrer_id':'p2','referred_name':'Dr Who'," \
                 "'amount':50,'currency':'EUR'}}}"

static void test_referral_credited(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("referral.credited", ACTOR_SYSTEM) REFERRAL);
    decide(f);
    assert_string_equal(order(f), "p2");
    expect_notified(f, "p2", CAT_WORKSPACE, DOCS_DEFAULT, RCP_REFERRER);
}

static void test_referral_joined(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("referral.joined", ACTOR_SYSTEM) REFERRAL);
    decide(f);
    assert_string_equal(order(f), "p2");
    expect_notified(f, "p2", CAT_WORKSPACE, DOCS_DEFAULT, RCP_REFERRER);
}

/* ---- communications ---- */

static void check_inbox(struct fixture *f, const char *type)
{
    load_event(f, arena_printf(&f->arena,
                               "{'id':'e1','type':'%s','occurred_at':'2026-11-21T09:30:00Z',"
                               "'actor':{'kind':'member','id':'a1','name':'Ann'},"
                               "'data':{'inbox':{'id':'ib1','name':'Front desk',"
                               "'member_ids':['p1','s1','a1']},'member_id':'r1'}}",
                               type));
    decide(f);
    assert_string_equal(order(f), "p1,s1,a1,r1");
    expect_notified(f, "p1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_INBOX_MEMBERS);
    expect_notified(f, "s1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_INBOX_MEMBERS);
    expect_skipped(f, "a1", "own_action"); /* the admin who made the change */
    expect_notified(f, "r1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_INBOX_SUBJECT);
}

static void test_inbox_member_added(void **state) { check_inbox(*state, "inbox.member_added"); }
static void test_inbox_member_removed(void **state) { check_inbox(*state, "inbox.member_removed"); }

static void test_inbox_subject_already_member(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("inbox.member_added", ACTOR_SYSTEM)
               "'data':{'inbox':{'id':'ib1','name':'Front desk','member_ids':['p1','r1']},"
               "'member_id':'r1'}}");
    decide(f);
    assert_string_equal(order(f), "p1,r1");
    expect_notified(f, "r1", CAT_COMMUNICATIONS, COMMS_DEFAULT,
                    RCP_INBOX_MEMBERS | RCP_INBOX_SUBJECT);
}

#define CONVERSATION "'data':{'conversation':{'id':'cv1','participant_ids':['p1','p2','s1']}," \
                     "'message':{'id':'msg1','text':'hello'}}}"

static void test_message_from_member(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("message.received", ACTOR_P1) CONVERSATION);
    decide(f);
    assert_string_equal(order(f), "p1,p2,s1");
    expect_skipped(f, "p1", "own_action");
    expect_notified(f, "p2", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_PARTICIPANTS);
    expect_notified(f, "s1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_PARTICIPANTS);
}

static void test_message_from_client(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("message.received", ACTOR_CLIENT) CONVERSATION);
    decide(f);
    expect_notified(f, "p1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_PARTICIPANTS);
    expect_notified(f, "p2", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_PARTICIPANTS);
    expect_notified(f, "s1", CAT_COMMUNICATIONS, COMMS_DEFAULT, RCP_PARTICIPANTS);
}

/* ---- own actions, unknown and inactive members ---- */

static void test_own_scheduling_action_off_by_default(void **state)
{
    struct fixture *f = *state;
    load_event(f, appointment_event(f, "appointment.assigned", ACTOR_P1));
    decide(f);
    const struct decision *d = find(f, "p1");
    assert_string_equal(d->skip, "preference");
    assert_int_equal(d->category, CAT_PRACTITIONER_SCHEDULING);
    expect_notified(f, "p2", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF);
}

static void test_own_scheduling_action_opted_in(void **state)
{
    struct fixture *f = *state;
    pref_matrix_put(&member(f, "p1")->prefs, CAT_PRACTITIONER_SCHEDULING, CH_IN_APP, 1);
    static const char *const types[] = {"appointment.assigned", "appointment.booked",
                                        "appointment.cancelled", "appointment.rescheduled",
                                        "appointment.confirmed"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        load_event(f, appointment_event(f, types[i], ACTOR_P1));
        decide(f);
        expect_notified(f, "p1", CAT_PRACTITIONER_SCHEDULING, CH_BIT(CH_IN_APP),
                        RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
    }
}

static void test_own_scheduling_action_workspace_default(void **state)
{
    struct fixture *f = *state;
    pref_matrix_put(&f->ws.default_prefs, CAT_PRACTITIONER_SCHEDULING, CH_PUSH, 1);
    load_event(f, appointment_event(f, "appointment.rescheduled", ACTOR_P1));
    decide(f);
    expect_notified(f, "p1", CAT_PRACTITIONER_SCHEDULING, CH_BIT(CH_PUSH),
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
}

static void test_own_action_other_categories(void **state)
{
    struct fixture *f = *state;
    /* a member actor never gets their own non-scheduling item, even if opted in */
    pref_matrix_put(&member(f, "p1")->prefs, CAT_PRACTITIONER_SCHEDULING, CH_IN_APP, 1);
    load_event(f, ENVELOPE("form.submitted", ACTOR_P1)
               "'data':{'client':{'id':'cl_17','name':'Dana','assigned_staff_ids':['p1','p2']},"
               "'form':{'id':'f1','name':'Intake'}}}");
    decide(f);
    expect_skipped(f, "p1", "own_action");
    assert_int_equal(find(f, "p1")->category, CAT_CLIENTS_DOCUMENTS);
    expect_notified(f, "p2", CAT_CLIENTS_DOCUMENTS, DOCS_DEFAULT, RCP_CLIENT_STAFF);

    load_event(f, ENVELOPE("invoice.paid", ACTOR_P1) INVOICE(",'staff_ids':['p1']"));
    decide(f);
    assert_string_equal(order(f), "p1");
    expect_skipped(f, "p1", "own_action");

    load_event(f, ENVELOPE("referral.joined", "'actor':{'kind':'member','id':'p2'},") REFERRAL);
    decide(f);
    expect_skipped(f, "p2", "own_action");
}

static void test_client_actor_with_member_id_is_not_own_action(void **state)
{
    struct fixture *f = *state;
    /* a client whose host id happens to equal a member id is not that member */
    load_event(f, appointment_event(f, "appointment.booked",
                                    "'actor':{'kind':'client','id':'p1'},"));
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
}

static void test_unknown_and_inactive(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("appointment.confirmed", ACTOR_CLIENT)
               "'data':{'appointment':{'id':'ap1','starts_at':'2026-11-22T14:30:00Z',"
               "'staff_ids':['ghost','x1','p1']},'client':{'id':'c1','name':'C'}}}");
    decide(f);
    assert_string_equal(order(f), "ghost,x1,p1");
    expect_skipped(f, "ghost", "unknown_member");
    assert_null(find(f, "ghost")->member);
    assert_int_equal(find(f, "ghost")->reasons, RCP_APPOINTMENT_STAFF);
    expect_skipped(f, "x1", "inactive");
    assert_non_null(find(f, "x1")->member);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_APPOINTMENT_STAFF);
}

static void test_inactive_actor_is_inactive_not_own_action(void **state)
{
    struct fixture *f = *state;
    load_event(f, ENVELOPE("message.received", "'actor':{'kind':'member','id':'x1'},")
               "'data':{'conversation':{'id':'cv1','participant_ids':['x1','p2']},"
               "'message':{'id':'m1'}}}");
    decide(f);
    expect_skipped(f, "x1", "inactive");
}

/* ---- preferences and addresses ---- */

static void test_member_and_workspace_matrix(void **state)
{
    struct fixture *f = *state;
    pref_matrix_put(&f->ws.default_prefs, CAT_SCHEDULING, CH_EMAIL, 1);
    pref_matrix_put(&member(f, "p2")->prefs, CAT_SCHEDULING, CH_EMAIL, 0);
    pref_matrix_put(&member(f, "p3")->prefs, CAT_SCHEDULING, CH_SMS, 1);
    load_event(f, appointment_event(f, "appointment.confirmed", ACTOR_CLIENT));
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT | CH_BIT(CH_EMAIL),
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
    expect_notified(f, "p2", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF);
    expect_notified(f, "p3", CAT_SCHEDULING,
                    SCHED_DEFAULT | CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS), RCP_CLIENT_STAFF);
}

static void test_push_switch_and_missing_addresses(void **state)
{
    struct fixture *f = *state;
    for (const char *const *id = (const char *const[]){"p1", "p2", "p3", NULL}; *id; id++) {
        struct member *m = member(f, *id);
        pref_matrix_put(&m->prefs, CAT_SCHEDULING, CH_EMAIL, 1);
        pref_matrix_put(&m->prefs, CAT_SCHEDULING, CH_SMS, 1);
    }
    member(f, "p1")->push_enabled = false;
    member(f, "p2")->email = NULL;
    member(f, "p2")->phone = "";
    member(f, "p3")->email = "";
    member(f, "p3")->phone = NULL;
    load_event(f, appointment_event(f, "appointment.assigned", ACTOR_CLIENT));
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING,
                    CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS),
                    RCP_APPOINTMENT_STAFF | RCP_SERVICE_ASSIGNEES);
    expect_notified(f, "p2", CAT_SCHEDULING, SCHED_DEFAULT,
                    RCP_SERVICE_ASSIGNEES | RCP_CLIENT_STAFF);
    expect_notified(f, "p3", CAT_SCHEDULING, SCHED_DEFAULT, RCP_CLIENT_STAFF);
}

static void test_no_channel_left_is_preference(void **state)
{
    struct fixture *f = *state;
    struct member *p3 = member(f, "p3");
    pref_matrix_put(&p3->prefs, CAT_SCHEDULING, CH_IN_APP, 0);
    p3->push_enabled = false; /* push was the only channel left */
    load_event(f, appointment_event(f, "appointment.assigned", ACTOR_CLIENT));
    decide(f);
    expect_skipped(f, "p3", "preference");
    assert_int_equal(find(f, "p3")->category, CAT_SCHEDULING);
}

/* ---- cancellation alerts ---- */

static const char *cancel_event(struct fixture *f, const char *occurred, const char *starts,
                                const char *actor)
{
    return arena_printf(&f->arena,
                        "{'id':'e1','type':'appointment.cancelled','occurred_at':'%s',%s"
                        "'data':{'appointment':{'id':'ap1','starts_at':'%s','staff_ids':['p1']},"
                        "'client':{'id':'cl_17','name':'Dana'}}}",
                        occurred, actor, starts);
}

static void test_cancellation_alert_channels(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    p1->cancel_within_days = 2;
    const char *ev = cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-22T09:30:00Z",
                                  ACTOR_CLIENT);
    load_event(f, ev);

    p1->cancel_channels = CANCEL_OFF;
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_APPOINTMENT_STAFF);

    p1->cancel_channels = CANCEL_EMAIL;
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT | CH_BIT(CH_EMAIL),
                    RCP_APPOINTMENT_STAFF);

    p1->cancel_channels = CANCEL_SMS;
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT | CH_BIT(CH_SMS),
                    RCP_APPOINTMENT_STAFF);

    p1->cancel_channels = CANCEL_EMAIL_AND_SMS;
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING,
                    SCHED_DEFAULT | CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS), RCP_APPOINTMENT_STAFF);
}

static void test_cancellation_matrix_email_sms_ignored(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    pref_matrix_put(&p1->prefs, CAT_SCHEDULING, CH_EMAIL, 1);
    pref_matrix_put(&p1->prefs, CAT_SCHEDULING, CH_SMS, 1);
    p1->cancel_channels = CANCEL_OFF;
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-22T09:30:00Z",
                               ACTOR_CLIENT));
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, SCHED_DEFAULT, RCP_APPOINTMENT_STAFF);

    /* ...but the same matrix does send email for another scheduling type */
    load_event(f, appointment_event(f, "appointment.confirmed", ACTOR_CLIENT));
    decide(f);
    assert_true(find(f, "p1")->channels & CH_BIT(CH_EMAIL));
}

static void test_cancellation_alert_only_channel(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    pref_matrix_put(&p1->prefs, CAT_SCHEDULING, CH_IN_APP, 0);
    pref_matrix_put(&p1->prefs, CAT_SCHEDULING, CH_PUSH, 0);
    p1->cancel_channels = CANCEL_SMS;
    p1->cancel_within_days = 0;
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-12-21T09:30:00Z",
                               ACTOR_CLIENT));
    decide(f);
    expect_notified(f, "p1", CAT_SCHEDULING, CH_BIT(CH_SMS), RCP_APPOINTMENT_STAFF);

    p1->phone = NULL; /* nowhere to send it */
    decide(f);
    expect_skipped(f, "p1", "preference");
}

static void test_cancellation_alert_window(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    p1->cancel_channels = CANCEL_EMAIL_AND_SMS;
    p1->cancel_within_days = 2;
    const unsigned alert = SCHED_DEFAULT | CH_BIT(CH_EMAIL) | CH_BIT(CH_SMS);

    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-23T09:30:00Z", ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, alert); /* exactly 2 days */

    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-23T09:30:00.001Z",
                               ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, SCHED_DEFAULT); /* 2 days + 1 ms */

    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-21T09:30:00Z", ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, alert); /* starts right now */

    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-21T09:29:59.999Z",
                               ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, SCHED_DEFAULT); /* already started */

    p1->cancel_within_days = 0; /* anytime */
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2027-11-21T09:30:00Z", ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, alert);
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-20T09:30:00Z", ACTOR_SYSTEM));
    decide(f);
    assert_int_equal(find(f, "p1")->channels, SCHED_DEFAULT);
}

static void test_own_cancellation_no_alert(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    p1->cancel_channels = CANCEL_EMAIL_AND_SMS;
    p1->cancel_within_days = 0;
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-22T09:30:00Z", ACTOR_P1));
    decide(f);
    expect_skipped(f, "p1", "preference");
    assert_int_equal(find(f, "p1")->category, CAT_PRACTITIONER_SCHEDULING);

    pref_matrix_put(&p1->prefs, CAT_PRACTITIONER_SCHEDULING, CH_IN_APP, 1);
    decide(f);
    expect_notified(f, "p1", CAT_PRACTITIONER_SCHEDULING, CH_BIT(CH_IN_APP),
                    RCP_APPOINTMENT_STAFF);
}

static void test_own_cancellation_no_email_or_sms_even_if_record_on(void **state)
{
    /* PRODUCT.md: the email and SMS of a cancellation are governed by the
     * cancellation-alert setting alone, which never fires for one's own
     * cancellation; the practitioner_scheduling record is in-app/push. */
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    p1->cancel_channels = CANCEL_EMAIL_AND_SMS;
    for (int ch = 0; ch < CH_COUNT; ch++)
        pref_matrix_put(&p1->prefs, CAT_PRACTITIONER_SCHEDULING, (enum channel)ch, 1);
    load_event(f, cancel_event(f, "2026-11-21T09:30:00Z", "2026-11-22T09:30:00Z", ACTOR_P1));
    decide(f);
    expect_notified(f, "p1", CAT_PRACTITIONER_SCHEDULING,
                    CH_BIT(CH_IN_APP) | CH_BIT(CH_PUSH), RCP_APPOINTMENT_STAFF);
}

static void test_cancellation_alert_due_boundaries(void **state)
{
    (void)state;
    struct member m = {.id = "p1", .active = true, .cancel_channels = CANCEL_EMAIL,
                       .cancel_within_days = 3};
    struct event_view ev = {.occurred_at = 1000000};

    ev.starts_at = ev.occurred_at + 3 * DAY_MS;
    assert_true(cancellation_alert_due(&m, &ev));
    ev.starts_at = ev.occurred_at + 3 * DAY_MS + 1;
    assert_false(cancellation_alert_due(&m, &ev));
    ev.starts_at = ev.occurred_at;
    assert_true(cancellation_alert_due(&m, &ev));
    ev.starts_at = ev.occurred_at - 1;
    assert_false(cancellation_alert_due(&m, &ev));

    m.cancel_within_days = 365;
    ev.starts_at = ev.occurred_at + 365 * DAY_MS;
    assert_true(cancellation_alert_due(&m, &ev));
    ev.starts_at += 1;
    assert_false(cancellation_alert_due(&m, &ev));

    m.cancel_within_days = 0;
    ev.starts_at = ev.occurred_at + 5000 * DAY_MS;
    assert_true(cancellation_alert_due(&m, &ev));
    ev.starts_at = ev.occurred_at - DAY_MS;
    assert_false(cancellation_alert_due(&m, &ev));

    m.cancel_channels = CANCEL_OFF;
    ev.starts_at = ev.occurred_at + 1;
    assert_false(cancellation_alert_due(&m, &ev));
    m.cancel_channels = CANCEL_SMS;
    assert_true(cancellation_alert_due(&m, &ev));
    m.cancel_channels = CANCEL_EMAIL_AND_SMS;
    assert_true(cancellation_alert_due(&m, &ev));
}

static void test_cancellation_alert_due_from_event(void **state)
{
    struct fixture *f = *state;
    struct member *p1 = member(f, "p1");
    p1->cancel_channels = CANCEL_EMAIL;
    p1->cancel_within_days = 1;
    /* offsets: 10:30+01:00 is 09:30Z, so the lead is exactly one day */
    load_event(f, cancel_event(f, "2026-11-21T10:30:00+01:00", "2026-11-22T09:30:00Z",
                               ACTOR_CLIENT));
    assert_true(cancellation_alert_due(p1, &f->ev));
    load_event(f, cancel_event(f, "2026-11-21T10:30:00+01:00", "2026-11-22T04:30:00.001-05:00",
                               ACTOR_CLIENT));
    assert_false(cancellation_alert_due(p1, &f->ev));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_assigned_recipients),
        T(test_booked_recipients),
        T(test_cancelled_recipients),
        T(test_rescheduled_recipients),
        T(test_confirmed_recipients),
        T(test_appointment_without_service_or_client_staff),
        T(test_booked_all_staff_audience),
        T(test_booked_assigned_audience),
        T(test_all_staff_audience_only_for_booked),
        T(test_all_staff_respects_push_switch),
        T(test_form_submitted),
        T(test_file_uploaded),
        T(test_note_created),
        T(test_note_updated),
        T(test_client_assigned),
        T(test_invoice_paid_listed_staff),
        T(test_invoice_paid_fallback_when_no_staff),
        T(test_invoice_paid_fallback_when_staff_unreachable),
        T(test_invoice_paid_no_fallback_with_one_active_staff),
        T(test_invoice_paid_no_fallback_when_staff_opted_out),
        T(test_subscription_payment_failed),
        T(test_subscription_payment_failed_is_critical),
        T(test_non_critical_billing_respects_opt_out),
        T(test_referral_credited),
        T(test_referral_joined),
        T(test_inbox_member_added),
        T(test_inbox_member_removed),
        T(test_inbox_subject_already_member),
        T(test_message_from_member),
        T(test_message_from_client),
        T(test_own_scheduling_action_off_by_default),
        T(test_own_scheduling_action_opted_in),
        T(test_own_scheduling_action_workspace_default),
        T(test_own_action_other_categories),
        T(test_client_actor_with_member_id_is_not_own_action),
        T(test_unknown_and_inactive),
        T(test_inactive_actor_is_inactive_not_own_action),
        T(test_member_and_workspace_matrix),
        T(test_push_switch_and_missing_addresses),
        T(test_no_channel_left_is_preference),
        T(test_cancellation_alert_channels),
        T(test_cancellation_matrix_email_sms_ignored),
        T(test_cancellation_alert_only_channel),
        T(test_cancellation_alert_window),
        T(test_own_cancellation_no_alert),
        T(test_own_cancellation_no_email_or_sms_even_if_record_on),
        T(test_cancellation_alert_due_boundaries),
        T(test_cancellation_alert_due_from_event),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
