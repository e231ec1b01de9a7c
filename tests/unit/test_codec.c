/* test_codec.c - encodings: base64url, hex, RFC 3339 times, JSON depth check and the jw writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/jw.h"
#include "core/timefmt.h"

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

/* ---- base64url ---- */

/* RFC 4648 section 10, with padding removed (section 5 alphabet is the same for these). */
static const struct {
    const char *plain, *encoded;
} RFC4648[] = {
    {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

static void test_b64url_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof RFC4648 / sizeof *RFC4648; i++) {
        const char *p = RFC4648[i].plain, *e = RFC4648[i].encoded;
        char out[32];
        memset(out, '#', sizeof out);
        assert_int_equal(b64url_encoded_len(strlen(p)), strlen(e));
        b64url_encode(p, strlen(p), out);
        assert_string_equal(out, e);

        uint8_t raw[32];
        long n = b64url_decode(e, strlen(e), raw);
        assert_int_equal(n, (long)strlen(p));
        assert_memory_equal(raw, p, strlen(p));
    }
}

static void test_b64url_url_safe_alphabet(void **state)
{
    (void)state;
    static const struct {
        uint8_t raw[3];
        size_t n;
        const char *encoded; /* standard base64 would have + and / */
    } cases[] = {
        {{0xfb, 0xff}, 2, "-_8"},      /* standard: "+/8=" */
        {{0xff, 0xff, 0xff}, 3, "____"}, /* standard: "////" */
        {{0xfb, 0xef, 0xbe}, 3, "----"}, /* standard: "++++" */
        {{0x00, 0x00, 0x00}, 3, "AAAA"},
        {{0x00}, 1, "AA"},
        {{0xff}, 1, "_w"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[8];
        b64url_encode(cases[i].raw, cases[i].n, out);
        assert_string_equal(out, cases[i].encoded);
        uint8_t back[8];
        assert_int_equal(b64url_decode(out, strlen(out), back), (long)cases[i].n);
        assert_memory_equal(back, cases[i].raw, cases[i].n);
    }
}

static void test_b64url_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t raw[256], back[256 * 3 / 4 + 256];
    for (int i = 0; i < 256; i++)
        raw[i] = (uint8_t)i;
    for (size_t n = 0; n <= 256; n++) {
        char enc[400];
        b64url_encode(raw, n, enc);
        assert_int_equal(strlen(enc), b64url_encoded_len(n));
        assert_int_equal(b64url_decode(enc, strlen(enc), back), (long)n);
        assert_memory_equal(back, raw, n);
    }
    assert_int_equal(b64url_encoded_len(32), 43);
    assert_int_equal(b64url_encoded_len(10), 14);
}

static void test_b64url_strict_decoding(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg==",     /* padding */
        "Zg=",      /* partial padding */
        "Zm8=",     /* padding */
        "Zm9v+w",   /* standard alphabet */
        "Zm9v/w",   /* standard alphabet */
        "Zh",       /* 'f' with a non-zero trailing bit ("Zg" is canonical) */
        "Zm9",      /* "fo" with non-zero trailing bits ("Zm8" is canonical) */
        "_x",       /* 0xff with trailing bits ("_w" is canonical) */
        "Z",        /* one character cannot be a byte */
        "Zm9vY",    /* 5 characters: len % 4 == 1 */
        "Zm9v Zm9v",/* whitespace */
        "Zm9v\n",
        "Zm.v",
        "Zm9v\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t out[16];
        long n = b64url_decode(bad[i], strlen(bad[i]), out);
        if (n != -1)
            fail_msg("\"%s\" decoded to %ld bytes", bad[i], n);
    }
    uint8_t out[4];
    assert_int_equal(b64url_decode("", 0, out), 0);
    /* the length argument bounds the input: "Zm9vYmFy" read as 4 chars is "foo" */
    assert_int_equal(b64url_decode("Zm9vYmFy", 4, out), 3);
    assert_memory_equal(out, "foo", 3);
}

static void test_hex_encode(void **state)
{
    (void)state;
    char out[16];
    static const uint8_t raw[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    memset(out, '#', sizeof out);
    hex_encode(raw, sizeof raw, out);
    assert_string_equal(out, "00017f80abff");
    hex_encode(raw, 0, out);
    assert_string_equal(out, "");
}

/* ---- RFC 3339 ---- */

static int64_t parse_ok(const char *s)
{
    int64_t ms = -42;
    if (rfc3339_parse(s, &ms) != 0)
        fail_msg("\"%s\" refused", s);
    return ms;
}

static void test_rfc3339_parse_utc(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-21T09:30:00Z"), 1795253400000LL);
    assert_int_equal(parse_ok("2026-11-21t09:30:00z"), 1795253400000LL);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), 253402300799000LL);
}

static void test_rfc3339_parse_offsets(void **state)
{
    (void)state;
    const int64_t t = 1795253400000LL; /* 2026-11-21T09:30:00Z */
    assert_int_equal(parse_ok("2026-11-21T10:30:00+01:00"), t);
    assert_int_equal(parse_ok("2026-11-21T04:30:00-05:00"), t);
    assert_int_equal(parse_ok("2026-11-21T15:00:00+05:30"), t);
    assert_int_equal(parse_ok("2026-11-21T09:30:00+00:00"), t);
    assert_int_equal(parse_ok("2026-11-21T09:30:00-00:00"), t);
    assert_int_equal(parse_ok("2026-11-20T23:30:00-10:00"), t); /* across midnight */
    assert_int_equal(parse_ok("2026-11-22T09:29:00+23:59"), t);
}

static void test_rfc3339_parse_fractions(void **state)
{
    (void)state;
    const int64_t t = 1795253400000LL;
    assert_int_equal(parse_ok("2026-11-21T09:30:00.5Z"), t + 500);
    assert_int_equal(parse_ok("2026-11-21T09:30:00.05Z"), t + 50);
    assert_int_equal(parse_ok("2026-11-21T09:30:00.123Z"), t + 123);
    assert_int_equal(parse_ok("2026-11-21T09:30:00.000Z"), t);
    assert_int_equal(parse_ok("2026-11-21T09:30:00.999999999Z"), t + 999); /* truncated */
    assert_int_equal(parse_ok("2026-11-21T10:30:00.250+01:00"), t + 250);
}

static void test_rfc3339_leap_days_and_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    /* a leap second folds onto :59 */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), 1483228799000LL);

    int64_t ms;
    assert_int_equal(rfc3339_parse("2023-02-29T12:00:00Z", &ms), -1);
    assert_int_equal(rfc3339_parse("2100-02-29T12:00:00Z", &ms), -1);
    assert_int_equal(rfc3339_parse("2024-02-30T12:00:00Z", &ms), -1);
}

static void test_rfc3339_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-21",
        "2026-11-21T09:30:00",          /* no zone */
        "2026-11-21 09:30:00Z",         /* space */
        "2026-11-21T09:30Z",            /* no seconds */
        "2026-11-21T09:30:00.Z",        /* empty fraction */
        "2026-11-21T09:30:00.1234567890Z", /* fraction over 9 digits */
        "2026-11-21T09:30:00ZZ",        /* trailing garbage */
        "2026-11-21T09:30:00Z ",
        "2026-11-21T09:30:00+0100",     /* offset without colon */
        "2026-11-21T09:30:00+01",
        "2026-11-21T09:30:00+24:00",    /* offset hour */
        "2026-11-21T09:30:00+01:60",    /* offset minute */
        "2026-11-21T09:30:00+01:00x",
        "2026-13-01T00:00:00Z",         /* month */
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",         /* day */
        "2026-11-31T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-11-21T24:00:00Z",         /* hour */
        "2026-11-21T09:60:00Z",         /* minute */
        "2026-11-21T09:30:61Z",         /* second */
        "1969-12-31T23:59:59Z",         /* before 1970 */
        "0000-01-01T00:00:00Z",
        "+2026-11-21T09:30:00Z",
        "2026-1a-21T09:30:00Z",
        "2026/11/21T09:30:00Z",
        "20261121T093000Z",
        "2026-11-21T09:30:00.-1Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 0;
        if (rfc3339_parse(bad[i], &ms) != -1)
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ms);
    }
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    char out[RFC3339_LEN];
    rfc3339_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    rfc3339_format(1795253400000LL, out);
    assert_string_equal(out, "2026-11-21T09:30:00Z");
    rfc3339_format(1795253400123LL, out);
    assert_string_equal(out, "2026-11-21T09:30:00.123Z");
    rfc3339_format(1795253400001LL, out);
    assert_string_equal(out, "2026-11-21T09:30:00.001Z");
    rfc3339_format(1709208000000LL, out);
    assert_string_equal(out, "2024-02-29T12:00:00Z");
    rfc3339_format(253402300799999LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    assert_int_equal(strlen(out) + 1, RFC3339_LEN);
    rfc3339_format(-1, out); /* just before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_rfc3339_round_trip(void **state)
{
    (void)state;
    static const int64_t values[] = {0, 1, 999, 1000, 951782400000LL, 1709208000000LL,
                                     1795253400000LL, 1795253400123LL, 4102444800000LL,
                                     253402300799999LL};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char out[RFC3339_LEN];
        rfc3339_format(values[i], out);
        assert_int_equal(parse_ok(out), values[i]);
    }
    static const char *const texts[] = {"2026-11-21T09:30:00Z", "2026-11-21T09:30:00.5Z",
                                        "2000-01-01T00:00:00.010Z"};
    static const char *const canonical[] = {"2026-11-21T09:30:00Z", "2026-11-21T09:30:00.500Z",
                                            "2000-01-01T00:00:00.010Z"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char out[RFC3339_LEN];
        rfc3339_format(parse_ok(texts[i]), out);
        assert_string_equal(out, canonical[i]);
    }
}

static void test_rfc3339_accepted_instants_format_back(void **state)
{
    (void)state;
    /* Whatever parse accepts, format must write as text that parses to the
     * same instant: the years 1970..9999 hold for the instant, not only for
     * the local date written with an offset. */
    static const char *const edges[] = {
        "1970-01-01T00:00:00Z",      "9999-12-31T23:59:59.999Z",
        "1970-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00",
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        int64_t ms, back;
        if (rfc3339_parse(edges[i], &ms) != 0)
            continue; /* refusing is fine */
        char out[RFC3339_LEN];
        rfc3339_format(ms, out);
        if (rfc3339_parse(out, &back) != 0 || back != ms)
            fail_msg("\"%s\" accepted as %lld ms, formatted as \"%s\", which does not parse "
                     "back to it", edges[i], (long long)ms, out);
    }
}

/* ---- JSON depth ---- */

static bool depth_ok(const char *s, int max)
{
    return jx_depth_ok(s, strlen(s), max);
}

static void test_depth_limit(void **state)
{
    (void)state;
    assert_true(depth_ok("[[[]]]", 3));
    assert_false(depth_ok("[[[]]]", 2));
    assert_true(depth_ok("{\"a\":{\"b\":[1,{\"c\":2}]}}", 4));
    assert_false(depth_ok("{\"a\":{\"b\":[1,{\"c\":2}]}}", 3));
    assert_true(depth_ok("[][][][]", 1)); /* siblings do not add up */
    assert_true(depth_ok("[[],[],[[]]]", 3));
    assert_false(depth_ok("[[],[],[[]]]", 2));
    assert_true(depth_ok("1", 0));
    assert_false(depth_ok("[]", 0));
    assert_true(depth_ok("", 1));

    /* a generated document at exactly the limit, and one level more */
    char deep[202];
    for (int i = 0; i < 100; i++) {
        deep[i] = '[';
        deep[100 + i] = ']';
    }
    deep[200] = '\0';
    assert_true(depth_ok(deep, 100));
    assert_false(depth_ok(deep, 99));
    /* the check runs on the opening brackets alone: unclosed input is caught too */
    assert_false(jx_depth_ok(deep, 100, 99));
    assert_true(jx_depth_ok(deep, 99, 99));
}

static void test_depth_ignores_strings(void **state)
{
    (void)state;
    assert_true(depth_ok("[\"[[[[{{{{\"]", 1));
    assert_true(depth_ok("{\"[[[[\":\"]]]]{{\"}", 1));
    /* escaped quotes do not end the string */
    assert_true(depth_ok("[\"a\\\"[[[[\"]", 1));
    assert_true(depth_ok("[\"\\\"\\\"[[\"]", 1));
    /* an escaped backslash does: the brackets after it count */
    assert_true(depth_ok("[\"a\\\\\",[[]]]", 3));
    assert_false(depth_ok("[\"a\\\\\",[[]]]", 2));
    /* unicode escapes and closing brackets in strings */
    assert_true(depth_ok("[\"\\u005b\\u005b\",\"]]]]\",[]]", 2));
    assert_false(depth_ok("[\"]]]]\",[[]]]", 2));
}

/* ---- jw ---- */

static void test_jw_nesting(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "id", "ntf_1");
    jw_kint(&w, "n", -42);
    jw_kbool(&w, "ok", true);
    jw_key(&w, "list");
    jw_arr(&w);
    jw_int(&w, 1);
    jw_bool(&w, false);
    jw_null(&w);
    jw_str(&w, NULL);
    jw_obj(&w);
    jw_obj_end(&w);
    jw_arr(&w);
    jw_arr_end(&w);
    jw_obj(&w);
    jw_kint(&w, "deep", INT64_MIN);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "raw");
    jw_raw(&w, "{\"x\":[1,2]}", 11);
    jw_ktime(&w, "at", 1795253400123LL);
    jw_kstr(&w, "nothing", NULL);
    jw_obj_end(&w);
    assert_string_equal(b.data, "{\"id\":\"ntf_1\",\"n\":-42,\"ok\":true,"
                                "\"list\":[1,false,null,null,{},[],{\"deep\":-9223372036854775808}],"
                                "\"raw\":{\"x\":[1,2]},\"at\":\"2026-11-21T09:30:00.123Z\","
                                "\"nothing\":null}");
    assert_int_equal(b.len, strlen(b.data));
    assert_int_equal(w.depth, 0);

    /* the result is JSON jansson reads back */
    json_error_t e;
    json_t *v = json_loads(b.data, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "at")), "2026-11-21T09:30:00.123Z");
    json_decref(v);
    buf_free(&b);
}

static void test_jw_top_level_array(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_arr(&w);
    jw_str(&w, "a");
    jw_raw(&w, "7", 1);
    jw_arr(&w);
    jw_str(&w, "b");
    jw_str(&w, "c");
    jw_arr_end(&w);
    jw_str(&w, "d");
    jw_arr_end(&w);
    assert_string_equal(b.data, "[\"a\",7,[\"b\",\"c\"],\"d\"]");
    buf_free(&b);
}

static void test_jw_escaping(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "q\"k", "say \"hi\"");
    jw_kstr(&w, "bs", "C:\\dir\\");
    jw_kstr(&w, "ctl", "a\nb\rc\td\x01" "e\x1f" "f\b\f");
    jw_kstr(&w, "utf8", "caf\xc3\xa9 \xe2\x82\xac / </script>");
    jw_key(&w, "nul");
    jw_strn(&w, "a\0b", 3);
    jw_obj_end(&w);
    assert_string_equal(b.data,
                        "{\"q\\\"k\":\"say \\\"hi\\\"\","
                        "\"bs\":\"C:\\\\dir\\\\\","
                        "\"ctl\":\"a\\nb\\rc\\td\\u0001e\\u001ff\\u0008\\u000c\","
                        "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac / </script>\","
                        "\"nul\":\"a\\u0000b\"}");

    json_error_t e;
    json_t *v = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &e);
    if (!v)
        fail_msg("not JSON: %s", e.text);
    assert_string_equal(json_string_value(json_object_get(v, "q\"k")), "say \"hi\"");
    assert_string_equal(json_string_value(json_object_get(v, "bs")), "C:\\dir\\");
    assert_string_equal(json_string_value(json_object_get(v, "ctl")),
                        "a\nb\rc\td\x01" "e\x1f" "f\b\f");
    assert_int_equal(json_string_length(json_object_get(v, "nul")), 3);
    json_decref(v);
    buf_free(&b);
}

static void test_json_escape_appends(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_adds(&b, "x=");
    json_escape(&b, "\"\\", 2);
    assert_string_equal(b.data, "x=\"\\\"\\\\\"");
    buf_free(&b);
}

/* ---- jsonx helpers ---- */

static void test_jx_parse_and_canonical(void **state)
{
    (void)state;
    char err[128];
    const char *dup = "{\"a\":1,\"a\":2}";
    assert_null(jx_parse(dup, strlen(dup), err, sizeof err));
    assert_non_null(strstr(err, "line 1 column"));

    const char *t1 = "{ \"b\": [1, {\"y\":1,\"x\":2}], \"a\": \"s\" }";
    const char *t2 = "{\"a\":\"s\",\"b\":[1,{\"x\":2,\"y\":1}]}";
    json_t *v1 = jx_parse(t1, strlen(t1), err, sizeof err);
    json_t *v2 = jx_parse(t2, strlen(t2), err, sizeof err);
    assert_non_null(v1);
    assert_non_null(v2);
    char *c1 = jx_canonical(v1), *c2 = jx_canonical(v2);
    assert_string_equal(c1, c2); /* same value, different key order and spacing */
    assert_string_equal(c1, t2); /* compact, keys sorted bytewise */
    char *c3 = jx_canonical(json_object_get(v1, "b"));
    assert_string_equal(c3, "[1,{\"x\":2,\"y\":1}]");
    free(c3);

    /* One pass marks where a member's value lands: the stored `data`. */
    struct buf b = BUF_INIT;
    size_t start = 0, end = 0;
    jx_canonical_write(v1, &b, "b", &start, &end);
    assert_int_equal(end - start, strlen("[1,{\"x\":2,\"y\":1}]"));
    assert_memory_equal(b.data + start, "[1,{\"x\":2,\"y\":1}]", end - start);
    buf_free(&b);

    /* Numbers: integral reals as integers, others in their shortest form. */
    const char *nums = "[120.0, 1.2e2, 19.99, 0.1, -3.5e-7]";
    json_t *vn = jx_parse(nums, strlen(nums), err, sizeof err);
    char *cn = jx_canonical(vn);
    assert_string_equal(cn, "[120,120,19.99,0.1,-3.5e-07]");
    free(cn);
    json_decref(vn);
    free(c1);
    free(c2);
    json_decref(v1);
    json_decref(v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_url_safe_alphabet),
        cmocka_unit_test(test_b64url_all_bytes_round_trip),
        cmocka_unit_test(test_b64url_strict_decoding),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_rfc3339_parse_utc),
        cmocka_unit_test(test_rfc3339_parse_offsets),
        cmocka_unit_test(test_rfc3339_parse_fractions),
        cmocka_unit_test(test_rfc3339_leap_days_and_seconds),
        cmocka_unit_test(test_rfc3339_invalid),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_rfc3339_accepted_instants_format_back),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_ignores_strings),
        cmocka_unit_test(test_jw_nesting),
        cmocka_unit_test(test_jw_top_level_array),
        cmocka_unit_test(test_jw_escaping),
        cmocka_unit_test(test_json_escape_appends),
        cmocka_unit_test(test_jx_parse_and_canonical),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
