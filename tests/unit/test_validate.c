/* test_validate.c - event_validate: the envelope, per-type data shapes, and precise error codes and field paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/jsonx.h"
#include "core/timefmt.h"
#include "engine/event.h"

/* API.md's example event, verbatim. */
static const char EXAMPLE[] =
    "{\n"
    "  \"id\": \"evt_8841\",\n"
    "  \"type\": \"appointment.cancelled\",\n"
    "  \"occurred_at\": \"2026-11-21T09:30:00Z\",\n"
    "  \"source\": \"client_portal\",\n"
    "  \"actor\": {\"kind\": \"client\", \"id\": \"cl_17\", \"name\": \"Dana Reyes\"},\n"
    "  \"data\": {\n"
    "    \"appointment\": {\n"
    "      \"id\": \"ap_553\", \"starts_at\": \"2026-11-22T14:30:00Z\", \"ends_at\": "
    "\"2026-11-22T15:20:00Z\",\n"
    "      \"staff_ids\": [\"m_7\"], \"service\": {\"id\": \"sv_2\", \"name\": \"Initial "
    "consult\", \"assignee_ids\": []}\n"
    "    },\n"
    "    \"client\": {\"id\": \"cl_17\", \"name\": \"Dana Reyes\", \"assigned_staff_ids\": "
    "[\"m_7\"]},\n"
    "    \"reason\": \"Feeling unwell\"\n"
    "  }\n"
    "}\n";

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

static json_t *example(void)
{
    json_error_t e;
    json_t *v = json_loads(EXAMPLE, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        fail_msg("example: %s", e.text);
    return v;
}

/* ' stands for " in these test bodies */
static json_t *parse(const char *squoted)
{
    char *text = strdup(squoted);
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON: %s in %s", e.text, text);
    free(text);
    return v;
}

/* Sets the value at a dotted path ("data.appointment.starts_at"); NULL deletes. */
static void set_path(json_t *root, const char *path, json_t *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *obj = root;
    char *key = buf;
    for (char *dot; (dot = strchr(key, '.')); key = dot + 1) {
        *dot = '\0';
        obj = json_object_get(obj, key);
        assert_non_null(obj);
    }
    if (value)
        json_object_set_new(obj, key, value);
    else
        assert_int_equal(json_object_del(obj, key), 0);
}

/* Validates body (taking ownership) and checks the error. */
static void expect_error(json_t *body, const char *code, const char *field)
{
    struct event_view ev;
    struct event_error err;
    memset(&err, 0, sizeof err);
    int rc = event_validate(body, &ev, &err);
    json_decref(body); /* err holds no reference into it */
    if (rc == 0)
        fail_msg("accepted; expected %s at \"%s\"", code, field);
    assert_int_equal(rc, -1);
    if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
        fail_msg("got %s at \"%s\" (%s); expected %s at \"%s\"", err.code, err.field,
                 err.message, code, field);
    assert_true(strlen(err.message) > 0);
}

static void expect_ok(json_t *body)
{
    struct event_view ev;
    struct event_error err;
    int rc = event_validate(body, &ev, &err);
    json_decref(body);
    if (rc != 0)
        fail_msg("refused: %s at \"%s\": %s", err.code, err.field, err.message);
}

/* The example with one path changed. */
static json_t *example_with(const char *path, json_t *value)
{
    json_t *b = example();
    set_path(b, path, value);
    return b;
}

static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* ---- the valid example ---- */

static void test_api_example_passes(void **state)
{
    (void)state;
    json_t *b = example();
    struct event_view ev;
    struct event_error err;
    if (event_validate(b, &ev, &err) != 0)
        fail_msg("refused: %s at %s: %s", err.code, err.field, err.message);
    assert_string_equal(ev.type->name, "appointment.cancelled");
    assert_string_equal(ev.id, "evt_8841");
    int64_t occ, starts;
    rfc3339_parse("2026-11-21T09:30:00Z", &occ);
    rfc3339_parse("2026-11-22T14:30:00Z", &starts);
    assert_int_equal(ev.occurred_at, occ);
    assert_int_equal(ev.starts_at, starts);
    assert_string_equal(ev.source, "client_portal");
    assert_int_equal(ev.actor_kind, ACTOR_CLIENT);
    assert_string_equal(ev.actor_id, "cl_17");
    assert_string_equal(ev.actor_name, "Dana Reyes");
    assert_ptr_equal(ev.body, b);
    assert_ptr_equal(ev.data, json_object_get(b, "data"));
    json_decref(b);
}

static void test_minimal_and_extra_fields(void **state)
{
    (void)state;
    /* no source, no actor (the system), unknown fields kept and ignored */
    json_t *b = parse("{'id':'e.1:x-y_z','type':'file.uploaded','occurred_at':'2026-11-21T09:30:00Z',"
                      "'extra':{'a':[1,2]},'data':{'client':{'id':'c1','name':'C','x':1},"
                      "'file':{'id':'f1','name':'scan.pdf','size':10},'more':true}}");
    struct event_view ev;
    struct event_error err;
    assert_int_equal(event_validate(b, &ev, &err), 0);
    assert_null(ev.source);
    assert_int_equal(ev.actor_kind, ACTOR_SYSTEM);
    assert_null(ev.actor_id);
    assert_null(ev.actor_name);
    assert_int_equal(ev.starts_at, 0);
    json_decref(b);

    expect_ok(example_with("source", json_null()));
    expect_ok(example_with("actor", json_null()));
    expect_ok(example_with("data.appointment.service", json_null()));
    expect_ok(example_with("data.appointment.ends_at", NULL));
    expect_ok(example_with("data.reason", NULL));
    expect_ok(example_with("data.reason", json_string(""))); /* long text may be empty */
}

/* ---- the envelope ---- */

static void test_not_an_object(void **state)
{
    (void)state;
    expect_error(json_array(), "invalid_field", "");
    expect_error(json_string("x"), "invalid_field", "");
}

static void test_id(void **state)
{
    (void)state;
    expect_error(example_with("id", NULL), "missing_field", "id");
    expect_error(example_with("id", json_null()), "missing_field", "id");
    expect_error(example_with("id", json_integer(8841)), "invalid_field", "id");
    expect_error(example_with("id", json_string("")), "invalid_field", "id");
    expect_error(example_with("id", json_string("evt 8841")), "invalid_field", "id");
    expect_error(example_with("id", json_string("evt/8841")), "invalid_field", "id");
    char *s = repeat("a", 128);
    expect_ok(example_with("id", json_string(s)));
    free(s);
    s = repeat("a", 129);
    expect_error(example_with("id", json_string(s)), "invalid_field", "id");
    free(s);
}

static void test_type(void **state)
{
    (void)state;
    expect_error(example_with("type", NULL), "missing_field", "type");
    expect_error(example_with("type", json_null()), "missing_field", "type");
    expect_error(example_with("type", json_integer(1)), "invalid_field", "type");
    expect_error(example_with("type", json_string("appointment.exploded")), "unknown_type", "type");
    expect_error(example_with("type", json_string("Appointment.Cancelled")), "unknown_type", "type");
    expect_error(example_with("type", json_string("")), "unknown_type", "type");
}

static void test_occurred_at(void **state)
{
    (void)state;
    expect_error(example_with("occurred_at", NULL), "missing_field", "occurred_at");
    expect_error(example_with("occurred_at", json_null()), "missing_field", "occurred_at");
    expect_error(example_with("occurred_at", json_integer(1795253400)), "invalid_field",
                 "occurred_at");
    expect_error(example_with("occurred_at", json_string("yesterday")), "invalid_field",
                 "occurred_at");
    expect_error(example_with("occurred_at", json_string("2026-11-21 09:30:00Z")),
                 "invalid_field", "occurred_at");
    expect_error(example_with("occurred_at", json_string("2026-02-29T09:30:00Z")),
                 "invalid_field", "occurred_at");
    expect_ok(example_with("occurred_at", json_string("2026-11-21T10:30:00.250+01:00")));
}

static void test_data_envelope(void **state)
{
    (void)state;
    expect_error(example_with("data", NULL), "missing_field", "data");
    expect_error(example_with("data", json_null()), "missing_field", "data");
    expect_error(example_with("data", json_array()), "invalid_field", "data");
    expect_error(example_with("data", json_string("{}")), "invalid_field", "data");
}

static void test_first_problem_in_reading_order(void **state)
{
    (void)state;
    json_t *b = example();
    set_path(b, "type", json_string("nope"));
    set_path(b, "id", NULL);
    expect_error(b, "missing_field", "id");

    b = example();
    set_path(b, "data.client.name", NULL);
    set_path(b, "data.appointment.staff_ids", NULL);
    expect_error(b, "missing_field", "data.appointment.staff_ids");
}

static void test_source(void **state)
{
    (void)state;
    static const char *const ok[] = {"booking_page", "widget", "client_portal",
                                     "reception", "staff", "system"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        expect_ok(example_with("source", json_string(ok[i])));
    expect_error(example_with("source", json_string("email")), "invalid_field", "source");
    expect_error(example_with("source", json_string("")), "invalid_field", "source");
    expect_error(example_with("source", json_string("Staff")), "invalid_field", "source");
    expect_error(example_with("source", json_integer(1)), "invalid_field", "source");
}

/* ---- actor ---- */

static void test_actor(void **state)
{
    (void)state;
    expect_error(example_with("actor", json_string("client")), "invalid_field", "actor");
    expect_error(example_with("actor", json_object()), "missing_field", "actor.kind");
    expect_error(example_with("actor", parse("{'kind':null,'id':'x'}")), "missing_field",
                 "actor.kind");
    expect_error(example_with("actor", parse("{'kind':'robot'}")), "invalid_field", "actor.kind");
    expect_error(example_with("actor", parse("{'kind':5}")), "invalid_field", "actor.kind");
    expect_error(example_with("actor", parse("{'kind':'member'}")), "missing_field", "actor.id");
    expect_error(example_with("actor", parse("{'kind':'client','id':null}")), "missing_field",
                 "actor.id");
    expect_error(example_with("actor", parse("{'kind':'member','id':'m 7'}")), "invalid_field",
                 "actor.id");
    expect_error(example_with("actor", parse("{'kind':'member','id':7}")), "invalid_field",
                 "actor.id");
    expect_error(example_with("actor", parse("{'kind':'member','id':'m_7','name':''}")),
                 "invalid_field", "actor.name");
    expect_error(example_with("actor", parse("{'kind':'member','id':'m_7','name':7}")),
                 "invalid_field", "actor.name");
    char *name = repeat("n", 501);
    json_t *actor = parse("{'kind':'member','id':'m_7'}");
    json_object_set_new(actor, "name", json_string(name));
    expect_error(example_with("actor", actor), "invalid_field", "actor.name");
    free(name);

    /* the system needs no id */
    json_t *b = example_with("actor", parse("{'kind':'system'}"));
    struct event_view ev;
    struct event_error err;
    assert_int_equal(event_validate(b, &ev, &err), 0);
    assert_int_equal(ev.actor_kind, ACTOR_SYSTEM);
    assert_null(ev.actor_id);
    json_decref(b);

    b = example_with("actor", parse("{'kind':'member','id':'m_7','name':'Pat'}"));
    assert_int_equal(event_validate(b, &ev, &err), 0);
    assert_int_equal(ev.actor_kind, ACTOR_MEMBER);
    assert_string_equal(ev.actor_id, "m_7");
    assert_string_equal(ev.actor_name, "Pat");
    json_decref(b);
}

static void test_message_needs_sender(void **state)
{
    (void)state;
    const char *base = "{'id':'e1','type':'message.received','occurred_at':'2026-11-21T09:30:00Z',"
                       "'data':{'conversation':{'id':'cv1','participant_ids':['m_7']},"
                       "'message':{'id':'msg1','text':'hi'}}}";
    expect_error(parse(base), "missing_field", "actor");
    json_t *b = parse(base);
    json_object_set_new(b, "actor", parse("{'kind':'system'}"));
    expect_error(b, "invalid_field", "actor.kind");
    b = parse(base);
    json_object_set_new(b, "actor", parse("{'kind':'client','id':'cl_17'}"));
    expect_ok(b);
    b = parse(base);
    json_object_set_new(b, "actor", parse("{'kind':'member','id':'m_8'}"));
    expect_ok(b);
}

static void test_message_null_actor_is_missing(void **state)
{
    (void)state;
    /* JSON null counts as absent (validate.c), so a null actor is a missing one */
    json_t *b = parse("{'id':'e1','type':'message.received','occurred_at':'2026-11-21T09:30:00Z',"
                      "'actor':null,'data':{'conversation':{'id':'cv1','participant_ids':[]},"
                      "'message':{'id':'msg1'}}}");
    expect_error(b, "missing_field", "actor");
}

/* ---- data shapes ---- */

static void test_nested_missing_and_invalid(void **state)
{
    (void)state;
    expect_error(example_with("data.appointment", NULL), "missing_field", "data.appointment");
    expect_error(example_with("data.appointment", json_null()), "missing_field",
                 "data.appointment");
    expect_error(example_with("data.appointment", json_array()), "invalid_field",
                 "data.appointment");
    expect_error(example_with("data.appointment.id", NULL), "missing_field",
                 "data.appointment.id");
    expect_error(example_with("data.appointment.starts_at", NULL), "missing_field",
                 "data.appointment.starts_at");
    expect_error(example_with("data.appointment.starts_at", json_string("2026-11-31T14:30:00Z")),
                 "invalid_field", "data.appointment.starts_at");
    expect_error(example_with("data.appointment.starts_at", json_integer(0)), "invalid_field",
                 "data.appointment.starts_at");
    expect_error(example_with("data.appointment.ends_at", json_string("soon")), "invalid_field",
                 "data.appointment.ends_at");
    expect_error(example_with("data.appointment.service.id", NULL), "missing_field",
                 "data.appointment.service.id");
    expect_error(example_with("data.appointment.service.name", json_string("")),
                 "invalid_field", "data.appointment.service.name");
    expect_error(example_with("data.appointment.service", json_string("sv_2")), "invalid_field",
                 "data.appointment.service");
    expect_error(example_with("data.client", NULL), "missing_field", "data.client");
    expect_error(example_with("data.client.name", NULL), "missing_field", "data.client.name");
    expect_error(example_with("data.client.id", json_string("cl 17")), "invalid_field",
                 "data.client.id");
    expect_error(example_with("data.reason", json_integer(3)), "invalid_field", "data.reason");
}

static void test_id_arrays(void **state)
{
    (void)state;
    expect_error(example_with("data.appointment.staff_ids", NULL), "missing_field",
                 "data.appointment.staff_ids");
    expect_error(example_with("data.appointment.staff_ids", json_string("m_7")), "invalid_field",
                 "data.appointment.staff_ids");
    expect_error(example_with("data.appointment.staff_ids", parse("['m_7','bad id']")),
                 "invalid_field", "data.appointment.staff_ids[1]");
    expect_error(example_with("data.appointment.staff_ids", parse("['m_7','m_8',3]")),
                 "invalid_field", "data.appointment.staff_ids[2]");
    expect_error(example_with("data.appointment.staff_ids", parse("[null]")), "invalid_field",
                 "data.appointment.staff_ids[0]");
    expect_error(example_with("data.appointment.staff_ids", parse("['']")), "invalid_field",
                 "data.appointment.staff_ids[0]");
    expect_error(example_with("data.appointment.service.assignee_ids", parse("['ok','n/a']")),
                 "invalid_field", "data.appointment.service.assignee_ids[1]");
    expect_error(example_with("data.client.assigned_staff_ids", parse("[['m_7']]")),
                 "invalid_field", "data.client.assigned_staff_ids[0]");
    expect_ok(example_with("data.appointment.staff_ids", json_array()));

    json_t *ids = json_array();
    for (int i = 0; i < FIELD_MAX_IDS; i++) {
        char id[16];
        snprintf(id, sizeof id, "m_%d", i);
        json_array_append_new(ids, json_string(id));
    }
    expect_ok(example_with("data.appointment.staff_ids", json_deep_copy(ids)));
    json_array_append_new(ids, json_string("one_more"));
    expect_error(example_with("data.appointment.staff_ids", ids), "invalid_field",
                 "data.appointment.staff_ids");
}

static void test_text_limits(void **state)
{
    (void)state;
    char *s = repeat("x", FIELD_MAX_TEXT);
    expect_ok(example_with("data.client.name", json_string(s)));
    free(s);
    s = repeat("x", FIELD_MAX_TEXT + 1);
    expect_error(example_with("data.client.name", json_string(s)), "invalid_field",
                 "data.client.name");
    free(s);
    /* the limit counts characters, not bytes */
    s = repeat("\xC3\xA9", FIELD_MAX_TEXT); /* 500 x e-acute: 1000 bytes */
    expect_ok(example_with("data.client.name", json_string(s)));
    free(s);
    s = repeat("\xE2\x82\xAC", FIELD_MAX_TEXT + 1);
    expect_error(example_with("data.client.name", json_string(s)), "invalid_field",
                 "data.client.name");
    free(s);
    expect_error(example_with("data.client.name", json_string("")), "invalid_field",
                 "data.client.name");

    s = repeat("y", FIELD_MAX_LONGTEXT);
    expect_ok(example_with("data.reason", json_string(s)));
    free(s);
    s = repeat("y", FIELD_MAX_LONGTEXT + 1);
    expect_error(example_with("data.reason", json_string(s)), "invalid_field", "data.reason");
    free(s);
}

static const char INVOICE[] =
    "{'id':'e1','type':'invoice.paid','occurred_at':'2026-11-21T09:30:00Z',"
    "'data':{'invoice':{'id':'i1','amount':120.5,'currency':'EUR','staff_ids':['m_7']},"
    "'client':{'id':'cl_17','name':'Dana'}}}";

static void test_amounts_and_currencies(void **state)
{
    (void)state;
    json_t *b = parse(INVOICE);
    expect_ok(b);
    b = parse(INVOICE);
    set_path(b, "data.invoice.amount", json_integer(0));
    expect_ok(b);
    b = parse(INVOICE);
    set_path(b, "data.invoice.amount", json_real(-0.01));
    expect_error(b, "invalid_field", "data.invoice.amount");
    b = parse(INVOICE);
    set_path(b, "data.invoice.amount", json_string("120"));
    expect_error(b, "invalid_field", "data.invoice.amount");
    b = parse(INVOICE);
    set_path(b, "data.invoice.amount", NULL);
    expect_error(b, "missing_field", "data.invoice.amount");
    static const char *const bad_currency[] = {"eur", "EURO", "EU", "E1R", ""};
    for (size_t i = 0; i < sizeof bad_currency / sizeof *bad_currency; i++) {
        b = parse(INVOICE);
        set_path(b, "data.invoice.currency", json_string(bad_currency[i]));
        expect_error(b, "invalid_field", "data.invoice.currency");
    }
    b = parse(INVOICE);
    set_path(b, "data.invoice.currency", json_integer(978));
    expect_error(b, "invalid_field", "data.invoice.currency");
}

static void test_type_specific_required_fields(void **state)
{
    (void)state;
    /* rescheduled needs previous.starts_at */
    json_t *b = example_with("type", json_string("appointment.rescheduled"));
    expect_error(b, "missing_field", "data.previous");
    b = example_with("type", json_string("appointment.rescheduled"));
    set_path(b, "data.previous", parse("{'ends_at':'2026-11-22T15:20:00Z'}"));
    expect_error(b, "missing_field", "data.previous.starts_at");
    b = example_with("type", json_string("appointment.rescheduled"));
    set_path(b, "data.previous", parse("{'starts_at':'2026-11-20T14:30:00Z'}"));
    expect_ok(b);

    /* client.assigned needs the assigned ids; elsewhere they are optional */
    b = parse("{'id':'e1','type':'client.assigned','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'client':{'id':'c1','name':'C'}}}");
    expect_error(b, "missing_field", "data.client.assigned_staff_ids");
    expect_ok(example_with("data.client.assigned_staff_ids", NULL));

    /* inbox events need the member they are about */
    b = parse("{'id':'e1','type':'inbox.member_added','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'inbox':{'id':'ib1','name':'Front','member_ids':[]}}}");
    expect_error(b, "missing_field", "data.member_id");
    b = parse("{'id':'e1','type':'inbox.member_removed','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'inbox':{'id':'ib1','name':'Front','member_ids':[]},'member_id':'a b'}}");
    expect_error(b, "invalid_field", "data.member_id");

    /* referral needs its referrer */
    b = parse("{'id':'e1','type':'referral.joined','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'referral':{'id':'r1','referred_name':'Dr Who'}}}");
    expect_error(b, "missing_field", "data.referral.referrer_id");

    /* subscription needs a plan */
    b = parse("{'id':'e1','type':'subscription.payment_failed','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'subscription':{'id':'s1','amount':1,'currency':'USD'}}}");
    expect_error(b, "missing_field", "data.subscription.plan");

    /* form and file need names; note text is long text */
    b = parse("{'id':'e1','type':'form.submitted','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'client':{'id':'c1','name':'C'},'form':{'id':'f1'}}}");
    expect_error(b, "missing_field", "data.form.name");
    b = parse("{'id':'e1','type':'note.updated','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'client':{'id':'c1','name':'C'},'note':{'id':'n1','title':''}}}");
    expect_error(b, "invalid_field", "data.note.title");
    b = parse("{'id':'e1','type':'note.updated','occurred_at':'2026-11-21T09:30:00Z',"
              "'data':{'client':{'id':'c1','name':'C'},'note':{'id':'n1','text':''}}}");
    expect_ok(b);
}

static void test_every_type_known(void **state)
{
    (void)state;
    static const char *const types[] = {
        "appointment.assigned", "appointment.booked", "appointment.cancelled",
        "appointment.rescheduled", "appointment.confirmed", "form.submitted",
        "file.uploaded", "note.created", "note.updated", "client.assigned", "invoice.paid",
        "subscription.payment_failed", "referral.credited", "referral.joined",
        "inbox.member_added", "inbox.member_removed", "message.received",
    };
    assert_int_equal(catalogue_count(), sizeof types / sizeof *types);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        /* known: an empty data object fails on a data field, never on the type */
        json_t *b = parse("{'id':'e1','occurred_at':'2026-11-21T09:30:00Z',"
                          "'actor':{'kind':'client','id':'c1'},'data':{}}");
        json_object_set_new(b, "type", json_string(types[i]));
        struct event_view ev;
        struct event_error err;
        assert_int_equal(event_validate(b, &ev, &err), -1);
        assert_string_equal(err.code, "missing_field");
        assert_int_equal(strncmp(err.field, "data.", 5), 0);
        json_decref(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_example_passes),
        cmocka_unit_test(test_minimal_and_extra_fields),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_occurred_at),
        cmocka_unit_test(test_data_envelope),
        cmocka_unit_test(test_first_problem_in_reading_order),
        cmocka_unit_test(test_source),
        cmocka_unit_test(test_actor),
        cmocka_unit_test(test_message_needs_sender),
        cmocka_unit_test(test_message_null_actor_is_missing),
        cmocka_unit_test(test_nested_missing_and_invalid),
        cmocka_unit_test(test_id_arrays),
        cmocka_unit_test(test_text_limits),
        cmocka_unit_test(test_amounts_and_currencies),
        cmocka_unit_test(test_type_specific_required_fields),
        cmocka_unit_test(test_every_type_known),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
