/* test_deliver.c - the pure parts of delivery: SMS segments (PROTOCOLS.md
 * 5.3 vectors), typography folding, retry timing, answer classification,
 * Retry-After, and mail headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "deliver/mail.h"
#include "deliver/netcheck.h"
#include "push/vapid.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include "deliver/policy.h"
#include "deliver/segments.h"

/* n copies of s, then more (may be NULL). */
static char *rep(const char *s, int n, const char *more)
{
    size_t len = strlen(s) * (size_t)n + (more ? strlen(more) : 0) + 1;
    char *out = calloc(1, len);
    for (int i = 0; i < n; i++)
        strcat(out, s);
    if (more)
        strcat(out, more);
    return out;
}

static void expect_count(char *text, enum sms_encoding enc, int units, int segments)
{
    struct sms_count c;
    assert_int_equal(sms_count(text, &c), 0);
    assert_int_equal(c.encoding, enc);
    assert_int_equal(c.units, units);
    assert_int_equal(c.segments, segments);
    free(text);
}

static void test_segment_vectors(void **state)
{
    (void)state;
    expect_count(rep("a", 160, NULL), SMS_GSM7, 160, 1);
    expect_count(rep("a", 161, NULL), SMS_GSM7, 161, 2);
    expect_count(rep("a", 306, NULL), SMS_GSM7, 306, 2);
    expect_count(rep("a", 307, NULL), SMS_GSM7, 307, 3);
    expect_count(rep("\u20ac", 80, NULL), SMS_GSM7, 160, 1);
    expect_count(rep("\u20ac", 81, NULL), SMS_GSM7, 162, 2);
    char *tail = rep("a", 152, NULL);
    char *t = rep("a", 152, "\u20ac");
    char *full = rep(t, 1, tail);
    expect_count(full, SMS_GSM7, 306, 3); /* the escape pair cannot straddle */
    free(t);
    free(tail);
    tail = rep("a", 151, NULL);
    t = rep("a", 153, "\u20ac");
    expect_count(rep(t, 1, tail), SMS_GSM7, 306, 2);
    free(t);
    free(tail);
    expect_count(rep("\u0416", 70, NULL), SMS_UCS2, 70, 1);
    expect_count(rep("\u0416", 71, NULL), SMS_UCS2, 71, 2);
    expect_count(rep("\u0416", 134, NULL), SMS_UCS2, 134, 2);
    expect_count(rep("\u0416", 135, NULL), SMS_UCS2, 135, 3);
    expect_count(rep("\xf0\x9f\x98\x80", 35, NULL), SMS_UCS2, 70, 1);
    expect_count(rep("\xf0\x9f\x98\x80", 36, NULL), SMS_UCS2, 72, 2);
    tail = rep("\u0416", 66, NULL);
    t = rep("\u0416", 66, "\xf0\x9f\x98\x80");
    expect_count(rep(t, 1, tail), SMS_UCS2, 134, 3); /* the surrogate pair cannot split */
    free(t);
    free(tail);
    expect_count(rep("Ol\u00e1! \u00c7a va? \u00e7", 1, NULL), SMS_UCS2, 13, 1);
}

static void test_segment_edges(void **state)
{
    (void)state;
    struct sms_count c;
    assert_int_equal(sms_count("", &c), 0);
    assert_int_equal(c.segments, 1);
    assert_int_equal(sms_count("\xff\xfe", &c), -1); /* not UTF-8 */
    assert_int_equal(sms_count("\xc3", &c), -1);     /* cut short */
}

static void test_fold_typography(void **state)
{
    (void)state;
    const char *in = "2:30\u202fPM \u2018hi\u2019 \u201cyes\u201d a\u2013b\u2014c wait\u2026 "
                     "no\u00a0break";
    char out[128];
    sms_fold(in, out);
    assert_string_equal(out, "2:30 PM 'hi' \"yes\" a-b-c wait... no break");
    struct sms_count c;
    assert_int_equal(sms_count(out, &c), 0);
    assert_int_equal(c.encoding, SMS_GSM7);
    sms_fold("Zo\u00eb \xf0\x9f\x98\x80", out); /* what has no look-alike stays */
    assert_string_equal(out, "Zo\u00eb \xf0\x9f\x98\x80");
}

static void test_backoff_doubles_to_the_cap_with_jitter(void **state)
{
    (void)state;
    /* rnd 0: the lower half; rnd max: the full delay */
    assert_int_equal(deliver_backoff_ms(1, 30000, 3600000, 0, 0), 15000);
    assert_int_equal(deliver_backoff_ms(1, 30000, 3600000, 0, 15000), 30000);
    assert_int_equal(deliver_backoff_ms(2, 30000, 3600000, 0, 30000), 60000);
    assert_int_equal(deliver_backoff_ms(3, 30000, 3600000, 0, 0), 60000);
    assert_int_equal(deliver_backoff_ms(8, 30000, 3600000, 0, 1800000), 3600000);
    assert_int_equal(deliver_backoff_ms(60, 30000, 3600000, 0, 0), 1800000); /* no overflow */
    for (uint32_t r = 0; r < 100000; r += 977) {
        int64_t d = deliver_backoff_ms(4, 1000, 60000, 0, r);
        assert_true(d >= 4000 && d <= 8000);
    }
}

static void test_retry_after_is_a_floor(void **state)
{
    (void)state;
    assert_int_equal(deliver_backoff_ms(1, 10000, 40000, 120000, 0), 120000);
    assert_int_equal(deliver_backoff_ms(3, 10000, 40000, 1000, 0), 20000);
}

static void test_http_and_smtp_classification(void **state)
{
    (void)state;
    assert_int_equal(deliver_http_outcome(200), SEND_OK);
    assert_int_equal(deliver_http_outcome(201), SEND_OK);
    assert_int_equal(deliver_http_outcome(204), SEND_OK);
    assert_int_equal(deliver_http_outcome(408), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(425), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(429), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(500), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(503), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(0), SEND_TRANSIENT);
    assert_int_equal(deliver_http_outcome(400), SEND_PERMANENT);
    assert_int_equal(deliver_http_outcome(404), SEND_PERMANENT);
    assert_int_equal(deliver_http_outcome(422), SEND_PERMANENT);
    assert_int_equal(deliver_http_outcome(301), SEND_PERMANENT);
    assert_int_equal(deliver_smtp_outcome(250), SEND_OK);
    assert_int_equal(deliver_smtp_outcome(421), SEND_TRANSIENT);
    assert_int_equal(deliver_smtp_outcome(451), SEND_TRANSIENT);
    assert_int_equal(deliver_smtp_outcome(0), SEND_TRANSIENT);
    assert_int_equal(deliver_smtp_outcome(550), SEND_PERMANENT);
    assert_int_equal(deliver_smtp_outcome(553), SEND_PERMANENT);
}

static void test_retry_after_values(void **state)
{
    (void)state;
    int64_t now = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(deliver_retry_after_ms("120", now), 120000);
    assert_int_equal(deliver_retry_after_ms(" 5 ", now), 5000);
    assert_int_equal(deliver_retry_after_ms("0", now), 0);
    assert_int_equal(deliver_retry_after_ms("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
    assert_int_equal(deliver_retry_after_ms("Sun, 06 Nov 1994 08:40:00 GMT", now), 0); /* past */
    assert_int_equal(deliver_retry_after_ms("99999999999", now), 24LL * 3600 * 1000);
    assert_int_equal(deliver_retry_after_ms(NULL, now), 0);
    assert_int_equal(deliver_retry_after_ms("soon", now), 0);
    assert_int_equal(deliver_retry_after_ms("-5", now), 0);
    assert_int_equal(deliver_retry_after_ms("12abc", now), 0);
    assert_int_equal(deliver_retry_after_ms("Sun, 06 Nov 1994 08:50:37 PST", now), 0);
}

static void test_mail_date(void **state)
{
    (void)state;
    char d[MAIL_DATE_MAX];
    mail_date(1795260000000LL, d); /* 2026-11-21T11:20:00Z */
    assert_string_equal(d, "Sat, 21 Nov 2026 11:20:00 +0000");
}

/* Decodes every =?UTF-8?B?...?= word of s (folded: "\r\n " between). */
static void decode_words(const char *s, char *out)
{
    *out = '\0';
    while (*s) {
        assert_true(strncmp(s, "=?UTF-8?B?", 10) == 0);
        const char *end = strstr(s + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - s <= 75);
        unsigned char raw[128];
        int n = EVP_DecodeBlock(raw, (const unsigned char *)s + 10, (int)(end - s - 10));
        assert_true(n >= 0);
        size_t pad = end[-1] == '=' ? (end[-2] == '=' ? 2 : 1) : 0;
        strncat(out, (const char *)raw, (size_t)n - pad);
        s = end + 2;
        if (*s)
            assert_true(strncmp(s, "\r\n ", 3) == 0);
        if (*s)
            s += 3;
    }
}

static void test_header_text(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_header_text(&b, "Cancellation: Sun, 22 Nov");
    assert_string_equal(b.data, "Cancellation: Sun, 22 Nov");
    buf_clear(&b);
    mail_header_text(&b, "Evil\r\nBcc: x@y");
    assert_string_equal(b.data, "Evil  Bcc: x@y");
    buf_clear(&b);
    /* 60 two-byte characters: several words, none splitting a character */
    const char *long_text = "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9";
    mail_header_text(&b, long_text);
    char decoded[256];
    decode_words(b.data, decoded);
    assert_string_equal(decoded, long_text);
    for (const char *p = b.data; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_non_null(strstr(b.data, "\r\n ")); /* folded */
    buf_free(&b);
}

static void test_address(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_address(&b, "Harbour Physio", "n@clinic.example");
    assert_string_equal(b.data, "\"Harbour Physio\" <n@clinic.example>");
    buf_clear(&b);
    mail_address(&b, "Say \"hi\" \\ bye", "n@clinic.example");
    assert_string_equal(b.data, "\"Say \\\"hi\\\" \\\\ bye\" <n@clinic.example>");
    buf_clear(&b);
    mail_address(&b, NULL, "n@clinic.example");
    assert_string_equal(b.data, "<n@clinic.example>");
    buf_clear(&b);
    mail_address(&b, "M\u00fcller", "n@clinic.example");
    assert_string_equal(b.data, "=?UTF-8?B?TcO8bGxlcg==?= <n@clinic.example>");
    buf_free(&b);
    assert_string_equal(mail_domain("a@b.example"), "b.example");
    assert_string_equal(mail_domain("nobody"), "localhost");
}

static bool public4(const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return net_address_public((struct sockaddr *)&sa);
}

static bool public6(const char *ip)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &sa.sin6_addr);
    return net_address_public((struct sockaddr *)&sa);
}

static void test_public_addresses(void **state)
{
    (void)state;
    const char *private4[] = {"0.0.0.0", "10.0.0.1", "127.0.0.1", "100.64.0.1", "169.254.169.254",
                              "172.16.0.1", "172.31.255.255", "192.168.1.1", "192.0.0.8",
                              "198.18.0.1", "224.0.0.1", "255.255.255.255"};
    for (size_t i = 0; i < sizeof private4 / sizeof *private4; i++)
        assert_false(public4(private4[i]));
    const char *public4s[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "142.250.1.1"};
    for (size_t i = 0; i < sizeof public4s / sizeof *public4s; i++)
        assert_true(public4(public4s[i]));
    const char *private6[] = {"::", "::1", "fc00::1", "fd12::1", "fe80::1", "ff02::1",
                              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1",
                              "64:ff9b::a00:1"};
    for (size_t i = 0; i < sizeof private6 / sizeof *private6; i++)
        assert_false(public6(private6[i]));
    assert_true(public6("2001:4860:4860::8888"));
    assert_true(public6("::ffff:8.8.8.8"));
    assert_true(net_literal_private("[::1]"));
    assert_true(net_literal_private("10.2.3.4"));
    assert_false(net_literal_private("push.example.net"));
    assert_false(net_literal_private("8.8.8.8"));
}

static void test_url_origin(void **state)
{
    (void)state;
    char o[256];
    assert_int_equal(url_origin("https://FCM.googleapis.com/fcm/send/abc", o, sizeof o), 0);
    assert_string_equal(o, "https://fcm.googleapis.com");
    assert_int_equal(url_origin("HTTPS://push.example.net:443/x?y", o, sizeof o), 0);
    assert_string_equal(o, "https://push.example.net");
    assert_int_equal(url_origin("https://push.example.net:8443/x", o, sizeof o), 0);
    assert_string_equal(o, "https://push.example.net:8443");
    assert_int_equal(url_origin("https://u:p@push.example.net/x", o, sizeof o), 0);
    assert_string_equal(o, "https://push.example.net");
    assert_int_equal(url_origin("http://127.0.0.1:80/p", o, sizeof o), 0);
    assert_string_equal(o, "http://127.0.0.1");
    assert_int_equal(url_origin("no-scheme", o, sizeof o), -1);
    assert_int_equal(url_origin("https:///path", o, sizeof o), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_addresses),
        cmocka_unit_test(test_url_origin),
        cmocka_unit_test(test_segment_vectors),
        cmocka_unit_test(test_segment_edges),
        cmocka_unit_test(test_fold_typography),
        cmocka_unit_test(test_backoff_doubles_to_the_cap_with_jitter),
        cmocka_unit_test(test_retry_after_is_a_floor),
        cmocka_unit_test(test_http_and_smtp_classification),
        cmocka_unit_test(test_retry_after_values),
        cmocka_unit_test(test_mail_date),
        cmocka_unit_test(test_header_text),
        cmocka_unit_test(test_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
