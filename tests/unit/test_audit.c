/* test_audit.c - the audit trail's names and the JSON of an entry and its
 * details: every action's name parses back to it, unknown names are
 * refused, and provider answers with quotes or control characters stay
 * valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jw.h"
#include "engine/audit.h"
#include "engine/model.h"

static void test_action_names_round_trip(void **state)
{
    (void)state;
    for (int a = 1; a < AU_ACTION_END; a++)
        assert_int_equal(audit_action_parse(audit_action_name(a)), a);
    assert_int_equal(audit_action_parse("notification.deleted"), 0);
    assert_int_equal(audit_action_parse(""), 0);
    assert_int_equal(audit_action_parse(NULL), 0);
    assert_string_equal(audit_action_name(0), "unknown");
    assert_string_equal(audit_action_name(AU_ACTION_END), "unknown");
    assert_int_equal(audit_action_of_state(0), AU_UNREAD);
    assert_int_equal(audit_action_of_state(1), AU_READ);
    assert_int_equal(audit_action_of_state(2), AU_IGNORED);
}

static json_t *entry_json(const struct audit_entry *e)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    audit_entry_json(&w, e);
    json_t *j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
    buf_free(&b);
    assert_non_null(j);
    return j;
}

static void test_an_attempt_entry_is_valid_json_whatever_the_answer(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct audit_attempt t = {CH_EMAIL, 2, DS_FAILED, false, "smtp",
                              "451 \"busy\"\\ try\tagain\x01", 38, 1764000000123};
    struct audit_entry e = {7, 1764000000000, 12, 3, AU_ATTEMPT, AUDIT_BY_HERALD, NULL, "m_sam",
                            "evt_1", audit_detail_attempt(&a, &t)};
    json_t *j = entry_json(&e);
    assert_string_equal(json_string_value(json_object_get(j, "action")), "delivery.attempt");
    assert_string_equal(json_string_value(json_object_get(j, "notification_id")), "ntf_12");
    assert_string_equal(json_string_value(json_object_get(j, "delivery_id")), "dlv_3");
    json_t *actor = json_object_get(j, "actor");
    assert_string_equal(json_string_value(json_object_get(actor, "kind")), "herald");
    assert_true(json_is_null(json_object_get(actor, "id")));
    json_t *d = json_object_get(j, "details");
    assert_string_equal(json_string_value(json_object_get(d, "answer")),
                        "451 \"busy\"\\ try\tagain\x01");
    assert_string_equal(json_string_value(json_object_get(d, "status")), "failed");
    assert_int_equal(json_integer_value(json_object_get(d, "attempt")), 2);
    assert_non_null(json_object_get(d, "next_attempt_at"));
    json_decref(j);
    arena_reset(&a);
}

static void test_an_entry_without_details_or_keys_has_nulls_and_an_empty_object(void **state)
{
    (void)state;
    struct audit_entry e = {1, 0, 0, 0, AU_SKIPPED, AUDIT_BY_API_KEY, "k1", "m_1", NULL, NULL};
    json_t *j = entry_json(&e);
    assert_true(json_is_null(json_object_get(j, "notification_id")));
    assert_true(json_is_null(json_object_get(j, "delivery_id")));
    assert_true(json_is_null(json_object_get(j, "event_id")));
    assert_int_equal(json_object_size(json_object_get(j, "details")), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "actor"), "kind")),
                        "api_key");
    json_decref(j);
}

static void test_state_details_say_from_and_how(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    assert_string_equal(audit_detail_state(&a, 0, "read_all"),
                        "{\"from\":\"unread\",\"via\":\"read_all\"}");
    assert_string_equal(audit_detail_state(&a, 2, NULL), "{\"from\":\"ignored\"}");
    assert_string_equal(audit_detail_reason(&a, "own_action"), "{\"reason\":\"own_action\"}");
    arena_reset(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_names_round_trip),
        cmocka_unit_test(test_an_attempt_entry_is_valid_json_whatever_the_answer),
        cmocka_unit_test(test_an_entry_without_details_or_keys_has_nulls_and_an_empty_object),
        cmocka_unit_test(test_state_details_say_from_and_how),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
