/* test_prefs.c - the preference matrix: built-in defaults, member > workspace > default, critical types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/jsonx.h"
#include "engine/catalogue.h"
#include "engine/model.h"
#include "engine/prefs.h"

/* PRODUCT.md "Categories and preferences", transcribed: in_app, email, sms, push. */
static const struct {
    enum category cat;
    bool on[CH_COUNT];
} PRODUCT_DEFAULTS[] = {
    {CAT_SCHEDULING, {true, false, false, true}},
    {CAT_PRACTITIONER_SCHEDULING, {false, false, false, false}},
    {CAT_BILLING, {true, true, false, false}},
    {CAT_CLIENTS_DOCUMENTS, {true, true, false, false}},
    {CAT_WORKSPACE, {true, true, false, false}},
    {CAT_COMMUNICATIONS, {true, true, false, true}},
};

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

static void test_builtin_matches_product_table(void **state)
{
    (void)state;
    assert_int_equal(sizeof PRODUCT_DEFAULTS / sizeof *PRODUCT_DEFAULTS, CAT_COUNT);
    for (size_t i = 0; i < CAT_COUNT; i++)
        for (int ch = 0; ch < CH_COUNT; ch++) {
            bool got = prefs_builtin(PRODUCT_DEFAULTS[i].cat, (enum channel)ch);
            if (got != PRODUCT_DEFAULTS[i].on[ch])
                fail_msg("default %s/%s is %d, PRODUCT.md says %d",
                         category_name(PRODUCT_DEFAULTS[i].cat),
                         channel_name((enum channel)ch), got, PRODUCT_DEFAULTS[i].on[ch]);
        }
}

static void test_cell_defaults_without_overrides(void **state)
{
    (void)state;
    struct pref_matrix empty = {0, 0};
    for (int cat = 0; cat < CAT_COUNT; cat++)
        for (int ch = 0; ch < CH_COUNT; ch++) {
            enum pref_source src = PS_CRITICAL;
            bool v = prefs_cell(&empty, &empty, (enum category)cat, (enum channel)ch, &src);
            assert_int_equal(v, prefs_builtin((enum category)cat, (enum channel)ch));
            assert_int_equal(src, PS_DEFAULT);
            /* NULL matrices mean "no overrides", and source may be NULL */
            assert_int_equal(prefs_cell(NULL, NULL, (enum category)cat, (enum channel)ch, NULL),
                             v);
        }
}

static void test_cell_precedence(void **state)
{
    (void)state;
    struct pref_matrix ws = {0, 0}, mem = {0, 0};
    enum pref_source src;

    /* workspace turns scheduling email on */
    pref_matrix_put(&ws, CAT_SCHEDULING, CH_EMAIL, 1);
    assert_true(prefs_cell(&ws, &mem, CAT_SCHEDULING, CH_EMAIL, &src));
    assert_int_equal(src, PS_WORKSPACE);

    /* the member turns it back off: the member wins */
    pref_matrix_put(&mem, CAT_SCHEDULING, CH_EMAIL, 0);
    assert_false(prefs_cell(&ws, &mem, CAT_SCHEDULING, CH_EMAIL, &src));
    assert_int_equal(src, PS_MEMBER);

    /* a member override equal to the default still reports "member" */
    pref_matrix_put(&mem, CAT_SCHEDULING, CH_IN_APP, 1);
    assert_true(prefs_cell(&ws, &mem, CAT_SCHEDULING, CH_IN_APP, &src));
    assert_int_equal(src, PS_MEMBER);

    /* workspace off, member silent: workspace */
    pref_matrix_put(&ws, CAT_BILLING, CH_IN_APP, 0);
    assert_false(prefs_cell(&ws, &mem, CAT_BILLING, CH_IN_APP, &src));
    assert_int_equal(src, PS_WORKSPACE);

    /* workspace off, member on: member */
    pref_matrix_put(&mem, CAT_BILLING, CH_IN_APP, 1);
    assert_true(prefs_cell(&ws, &mem, CAT_BILLING, CH_IN_APP, &src));
    assert_int_equal(src, PS_MEMBER);

    /* member with no workspace matrix */
    assert_true(prefs_cell(NULL, &mem, CAT_BILLING, CH_IN_APP, &src));
    assert_int_equal(src, PS_MEMBER);

    /* untouched neighbouring cells stay at their defaults */
    assert_false(prefs_cell(&ws, &mem, CAT_SCHEDULING, CH_SMS, &src));
    assert_int_equal(src, PS_DEFAULT);
    assert_true(prefs_cell(&ws, &mem, CAT_BILLING, CH_EMAIL, &src));
    assert_int_equal(src, PS_DEFAULT);
    assert_false(prefs_cell(&ws, &mem, CAT_PRACTITIONER_SCHEDULING, CH_EMAIL, &src));
    assert_int_equal(src, PS_DEFAULT);
}

static void test_last_cell(void **state)
{
    (void)state;
    /* the highest bit of the matrix: communications/push */
    struct pref_matrix mem = {0, 0};
    pref_matrix_put(&mem, CAT_COMMUNICATIONS, CH_PUSH, 0);
    assert_int_equal(mem.set, PREF_BIT(CAT_COMMUNICATIONS, CH_PUSH));
    assert_int_equal(mem.set, 1u << (CAT_COUNT * CH_COUNT - 1));
    enum pref_source src;
    assert_false(prefs_cell(NULL, &mem, CAT_COMMUNICATIONS, CH_PUSH, &src));
    assert_int_equal(src, PS_MEMBER);
    assert_true(prefs_cell(NULL, &mem, CAT_COMMUNICATIONS, CH_EMAIL, &src));
    assert_int_equal(src, PS_DEFAULT);
}

static void test_matrix_put_set_and_clear(void **state)
{
    (void)state;
    struct pref_matrix m = {0, 0};
    uint32_t bit = PREF_BIT(CAT_WORKSPACE, CH_SMS);

    pref_matrix_put(&m, CAT_WORKSPACE, CH_SMS, 1);
    assert_int_equal(m.set, bit);
    assert_int_equal(m.on, bit);

    pref_matrix_put(&m, CAT_WORKSPACE, CH_SMS, 0);
    assert_int_equal(m.set, bit);
    assert_int_equal(m.on, 0);

    pref_matrix_put(&m, CAT_WORKSPACE, CH_SMS, 1);
    pref_matrix_put(&m, CAT_BILLING, CH_PUSH, 1);
    pref_matrix_put(&m, CAT_WORKSPACE, CH_SMS, -1); /* clear: back to inherited */
    assert_int_equal(m.set, PREF_BIT(CAT_BILLING, CH_PUSH));
    assert_int_equal(m.on, PREF_BIT(CAT_BILLING, CH_PUSH));

    enum pref_source src;
    assert_false(prefs_cell(NULL, &m, CAT_WORKSPACE, CH_SMS, &src));
    assert_int_equal(src, PS_DEFAULT);

    /* any non-zero value means on */
    pref_matrix_put(&m, CAT_SCHEDULING, CH_IN_APP, 7);
    assert_true(m.on & PREF_BIT(CAT_SCHEDULING, CH_IN_APP));

    /* clearing a cell that was never set changes nothing */
    struct pref_matrix before = m;
    pref_matrix_put(&m, CAT_CLIENTS_DOCUMENTS, CH_EMAIL, -1);
    assert_int_equal(m.set, before.set);
    assert_int_equal(m.on, before.on);
}

static void test_bits_are_distinct(void **state)
{
    (void)state;
    uint32_t seen = 0;
    for (int cat = 0; cat < CAT_COUNT; cat++)
        for (int ch = 0; ch < CH_COUNT; ch++) {
            uint32_t b = PREF_BIT(cat, ch);
            assert_int_equal(seen & b, 0);
            seen |= b;
        }
}

static void test_channels_mask(void **state)
{
    (void)state;
    assert_int_equal(prefs_channels(NULL, NULL, CAT_SCHEDULING),
                     CH_BIT(CH_IN_APP) | CH_BIT(CH_PUSH));
    assert_int_equal(prefs_channels(NULL, NULL, CAT_PRACTITIONER_SCHEDULING), 0);
    assert_int_equal(prefs_channels(NULL, NULL, CAT_COMMUNICATIONS),
                     CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL) | CH_BIT(CH_PUSH));

    struct pref_matrix ws = {0, 0}, mem = {0, 0};
    pref_matrix_put(&ws, CAT_SCHEDULING, CH_SMS, 1);
    pref_matrix_put(&ws, CAT_SCHEDULING, CH_PUSH, 0);
    pref_matrix_put(&mem, CAT_SCHEDULING, CH_IN_APP, 0);
    pref_matrix_put(&mem, CAT_SCHEDULING, CH_PUSH, 1);
    assert_int_equal(prefs_channels(&ws, &mem, CAT_SCHEDULING),
                     CH_BIT(CH_SMS) | CH_BIT(CH_PUSH));
}

static void test_forced_only_for_critical(void **state)
{
    (void)state;
    size_t critical = 0;
    for (size_t i = 0; i < catalogue_count(); i++) {
        const struct event_type *t = catalogue_at(i);
        unsigned forced = prefs_forced(t);
        if (strcmp(t->name, "subscription.payment_failed") == 0) {
            assert_int_equal(forced, CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL));
            critical++;
        } else if (forced != 0) {
            fail_msg("%s forces channels 0x%x", t->name, forced);
        }
    }
    assert_int_equal(critical, 1);
}

static void test_source_names(void **state)
{
    (void)state;
    assert_string_equal(pref_source_name(PS_DEFAULT), "default");
    assert_string_equal(pref_source_name(PS_WORKSPACE), "workspace");
    assert_string_equal(pref_source_name(PS_MEMBER), "member");
    assert_string_equal(pref_source_name(PS_CRITICAL), "critical");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_matches_product_table),
        cmocka_unit_test(test_cell_defaults_without_overrides),
        cmocka_unit_test(test_cell_precedence),
        cmocka_unit_test(test_last_cell),
        cmocka_unit_test(test_matrix_put_set_and_clear),
        cmocka_unit_test(test_bits_are_distinct),
        cmocka_unit_test(test_channels_mask),
        cmocka_unit_test(test_forced_only_for_critical),
        cmocka_unit_test(test_source_names),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
