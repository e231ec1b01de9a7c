/* test_template.c - template_render: {var} substitution, [[optional]] parts, unterminated marks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/jsonx.h"
#include "engine/template.h"

struct vars {
    const char *const *pairs; /* name, value, ..., NULL */
    int calls;
    char last[64];
};

static const char *lookup(void *ctx, const char *name, size_t len)
{
    struct vars *v = ctx;
    v->calls++;
    size_t n = len < sizeof v->last - 1 ? len : sizeof v->last - 1;
    memcpy(v->last, name, n);
    v->last[n] = '\0';
    for (const char *const *p = v->pairs; *p; p += 2)
        if (strlen(p[0]) == len && memcmp(p[0], name, len) == 0)
            return p[1];
    return NULL;
}

static const char *const VARS[] = {
    "client", "Dana Reyes",
    "when", "Tue 3 Dec, 2:30 pm",
    "service", "Initial consult",
    "empty", "",
    "braces", "{client} [[x]]", /* values are inserted verbatim, never re-expanded */
    NULL,
};

/* Renders tpl with VARS into a fresh buffer and compares. */
static void expect(const char *tpl, const char *want)
{
    struct vars v = {VARS, 0, ""};
    struct buf b = BUF_INIT;
    template_render(tpl, lookup, &v, &b);
    const char *got = b.data ? b.data : "";
    if (strcmp(got, want) != 0)
        fail_msg("template \"%s\": got \"%s\", want \"%s\"", tpl, got, want);
    assert_int_equal(b.len, strlen(want));
    buf_free(&b);
}

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

static void test_plain_text(void **state)
{
    (void)state;
    expect("", "");
    expect("New booking", "New booking");
    expect("a ] b [ c } d", "a ] b [ c } d");
}

static void test_variables(void **state)
{
    (void)state;
    expect("{client}", "Dana Reyes");
    expect("{client} booked {when}.", "Dana Reyes booked Tue 3 Dec, 2:30 pm.");
    expect("{client}{client}", "Dana ReyesDana Reyes");
    expect("x{when}y", "xTue 3 Dec, 2:30 pmy");
}

static void test_missing_variable_outside_optional_is_empty(void **state)
{
    (void)state;
    expect("Hi {nobody}.", "Hi .");
    expect("Hi {empty}.", "Hi .");
    expect("{}", "");
}

static void test_values_are_verbatim(void **state)
{
    (void)state;
    expect("<{braces}>", "<{client} [[x]]>");
}

static void test_optional_kept(void **state)
{
    (void)state;
    expect("on {when}[[ ({service})]].", "on Tue 3 Dec, 2:30 pm (Initial consult).");
    expect("[[{client} and {service}]]", "Dana Reyes and Initial consult");
    expect("[[static text]]", "static text"); /* no variable: always kept */
    expect("[[]]", "");
}

static void test_optional_dropped(void **state)
{
    (void)state;
    expect("on {when}[[ ({nobody})]].", "on Tue 3 Dec, 2:30 pm.");
    expect("on {when}[[ ({empty})]].", "on Tue 3 Dec, 2:30 pm.");
    /* one empty variable drops the whole part, even if others have values */
    expect("A[[ {client} {nobody} {service}]]B", "AB");
    expect("[[Invoice {number}: ]]{client} paid.", "Dana Reyes paid.");
}

static void test_several_optional_parts(void **state)
{
    (void)state;
    expect("[[a={client}]][[ b={nobody}]][[ c={service}]]",
           "a=Dana Reyes c=Initial consult");
    expect("{client}[[ x{nobody}]] and[[ y{nobody}]] end", "Dana Reyes and end");
}

static void test_unterminated_marks_copied(void **state)
{
    (void)state;
    expect("a {client", "a {client");
    expect("{", "{");
    expect("price {client} {", "price Dana Reyes {");
    expect("[[ ({service})", "[[ (Initial consult)");
    expect("[[ {nobody}", "[[ "); /* not optional: the variable is just empty */
    expect("[[", "[[");
    expect("x ]] y", "x ]] y");
    expect("{client}[[ a ]] [[ b", "Dana Reyes a  [[ b");
}

static void test_variable_name_passed_exactly(void **state)
{
    (void)state;
    struct vars v = {VARS, 0, ""};
    struct buf b = BUF_INIT;
    template_render("x {service} y", lookup, &v, &b);
    assert_int_equal(v.calls, 1);
    assert_string_equal(v.last, "service");
    buf_free(&b);
}

static void test_appends_to_buffer(void **state)
{
    (void)state;
    struct vars v = {VARS, 0, ""};
    struct buf b = BUF_INIT;
    buf_adds(&b, "Title: ");
    template_render("{client}[[ ({nobody})]]!", lookup, &v, &b);
    assert_string_equal(b.data, "Title: Dana Reyes!");
    assert_int_equal(b.len, strlen("Title: Dana Reyes!"));

    /* a dropped part at the start of an empty buffer */
    buf_clear(&b);
    template_render("[[{nobody}]]", lookup, &v, &b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_missing_variable_outside_optional_is_empty),
        cmocka_unit_test(test_values_are_verbatim),
        cmocka_unit_test(test_optional_kept),
        cmocka_unit_test(test_optional_dropped),
        cmocka_unit_test(test_several_optional_parts),
        cmocka_unit_test(test_unterminated_marks_copied),
        cmocka_unit_test(test_variable_name_passed_exactly),
        cmocka_unit_test(test_appends_to_buffer),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
