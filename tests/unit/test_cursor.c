/* test_cursor.c - the feed's opaque cursors: round trips per filter, and refusal of foreign or broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_int.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "store/store.h"

#define CURSOR_CAP 64

static const int FILTERS[] = {NS_UNREAD, NS_READ, NS_IGNORED, FEED_ALL};
#define NFILTERS (sizeof FILTERS / sizeof *FILTERS)

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

static void test_filter_values(void **state)
{
    (void)state;
    /* the values the cursor format was designed around */
    assert_int_equal(NS_UNREAD, 0);
    assert_int_equal(NS_READ, 1);
    assert_int_equal(NS_IGNORED, 2);
    assert_int_equal(FEED_ALL, -1);
}

static void test_round_trip_each_filter(void **state)
{
    (void)state;
    static const int64_t ids[] = {1, 2, 255, 256, 65536, 1234567890123LL,
                                  (int64_t)1 << 32, INT64_MAX - 1, INT64_MAX};
    for (size_t f = 0; f < NFILTERS; f++)
        for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
            char c[CURSOR_CAP];
            int64_t back = 0;
            assert_int_equal(cursor_encode(FILTERS[f], ids[i], c, sizeof c), 0);
            assert_int_equal(strlen(c), b64url_encoded_len(10));
            for (const char *p = c; *p; p++) /* URL-safe as is */
                assert_non_null(strchr(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
            if (cursor_decode(c, FILTERS[f], &back) != 0)
                fail_msg("filter %d id %lld: cursor %s refused", FILTERS[f], (long long)ids[i], c);
            assert_int_equal(back, ids[i]);
        }
}

static void test_cursors_differ(void **state)
{
    (void)state;
    char a[CURSOR_CAP], b[CURSOR_CAP];
    cursor_encode(NS_UNREAD, 42, a, sizeof a);
    cursor_encode(NS_UNREAD, 43, b, sizeof b);
    assert_string_not_equal(a, b);
    cursor_encode(NS_READ, 42, b, sizeof b);
    assert_string_not_equal(a, b);
}

static void test_other_filter_refused(void **state)
{
    (void)state;
    for (size_t f = 0; f < NFILTERS; f++) {
        char c[CURSOR_CAP];
        cursor_encode(FILTERS[f], 77, c, sizeof c);
        for (size_t g = 0; g < NFILTERS; g++) {
            if (g == f)
                continue;
            int64_t back = -5;
            if (cursor_decode(c, FILTERS[g], &back) != -1)
                fail_msg("cursor of filter %d accepted for filter %d", FILTERS[f], FILTERS[g]);
            assert_int_equal(back, -5); /* untouched on failure */
        }
    }
}

static void test_small_buffer(void **state)
{
    (void)state;
    char c[CURSOR_CAP];
    size_t need = b64url_encoded_len(10) + 1;
    assert_int_equal(cursor_encode(NS_UNREAD, 1, c, need - 1), -1);
    assert_int_equal(cursor_encode(NS_UNREAD, 1, c, need), 0);
    assert_int_equal(strlen(c), need - 1);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    char good[CURSOR_CAP];
    cursor_encode(NS_UNREAD, 1000, good, sizeof good);
    size_t n = strlen(good);
    int64_t v;

    static const char *const junk[] = {"", "abc", "null", "0", "AAAAAAAAAAAAAA",
                                       "!!!!!!!!!!!!!!", "AQEAAAAAAAAD6A==", "AQEAAAAAAAAD6A "};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        if (cursor_decode(junk[i], NS_UNREAD, &v) != -1)
            fail_msg("\"%s\" accepted as a cursor", junk[i]);

    char s[CURSOR_CAP];
    /* one character short, one too many */
    memcpy(s, good, n + 1);
    s[n - 1] = '\0';
    assert_int_equal(cursor_decode(s, NS_UNREAD, &v), -1);
    memcpy(s, good, n);
    s[n] = 'A';
    s[n + 1] = '\0';
    assert_int_equal(cursor_decode(s, NS_UNREAD, &v), -1);
    /* a character outside base64url */
    memcpy(s, good, n + 1);
    s[4] = '+';
    assert_int_equal(cursor_decode(s, NS_UNREAD, &v), -1);
    s[4] = '=';
    assert_int_equal(cursor_decode(s, NS_UNREAD, &v), -1);
}

/* Encodes 10 raw bytes the way a forged cursor would be made. */
static void forge(const uint8_t raw[10], char out[CURSOR_CAP])
{
    b64url_encode(raw, 10, out);
}

static void test_forged_contents_refused(void **state)
{
    (void)state;
    char c[CURSOR_CAP];
    int64_t v = 0;

    uint8_t ok[10] = {1, 0 + 1, 0, 0, 0, 0, 0, 0, 0, 9}; /* version 1, unread, id 9 */
    forge(ok, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), 0);
    assert_int_equal(v, 9);

    uint8_t zero[10] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0}; /* id 0 */
    forge(zero, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), -1);

    uint8_t version[10] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 9}; /* unknown version */
    forge(version, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), -1);

    uint8_t negative[10] = {1, 1, 0x80, 0, 0, 0, 0, 0, 0, 1}; /* above INT64_MAX */
    forge(negative, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), -1);

    uint8_t all_ones[10] = {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    forge(all_ones, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), -1);

    uint8_t filter[10] = {1, 9, 0, 0, 0, 0, 0, 0, 0, 9}; /* no such filter */
    forge(filter, c);
    for (size_t f = 0; f < NFILTERS; f++)
        assert_int_equal(cursor_decode(c, FILTERS[f], &v), -1);

    /* eleven bytes: right alphabet, wrong size */
    uint8_t longer[11] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0};
    b64url_encode(longer, 11, c);
    assert_int_equal(cursor_decode(c, NS_UNREAD, &v), -1);
}

static void test_zero_and_negative_ids_do_not_round_trip(void **state)
{
    (void)state;
    char c[CURSOR_CAP];
    int64_t v;
    cursor_encode(NS_READ, 0, c, sizeof c);
    assert_int_equal(cursor_decode(c, NS_READ, &v), -1);
    cursor_encode(NS_READ, -1, c, sizeof c);
    assert_int_equal(cursor_decode(c, NS_READ, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_values),
        cmocka_unit_test(test_round_trip_each_filter),
        cmocka_unit_test(test_cursors_differ),
        cmocka_unit_test(test_other_filter_refused),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_forged_contents_refused),
        cmocka_unit_test(test_zero_and_negative_ids_do_not_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
