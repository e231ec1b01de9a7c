/* test_token.c - HS256 member tokens (sign, parse, verify, interop with OpenSSL) and API keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/jsonx.h"

#define SECRET "hss_test-secret-0123456789abcdefghijklmnopqrstu"
#define NOW 1795000000LL /* 2026-11-18 */
#define IAT "1795000000"
#define EXP "1795000600"

static int group_setup(void **state)
{
    (void)state;
    jx_init();
    return 0;
}

/* ---- an independent JWT builder: OpenSSL base64 and HMAC, nothing of Herald's ---- */

static char *b64url(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(out);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    return out;
}

/* header.payload.signature with the signature given as text */
static char *jwt_with_sig(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

static char *jwt(const char *header, const char *payload, const char *secret)
{
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    assert_non_null(input);
    snprintf(input, n, "%s.%s", h, p);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
                         (const unsigned char *)input, strlen(input), mac, &maclen));
    assert_int_equal(maclen, 32);
    char *s = b64url(mac, maclen);
    size_t tn = n + strlen(s) + 1;
    char *t = malloc(tn);
    assert_non_null(t);
    snprintf(t, tn, "%s.%s", input, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return t;
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static char *claims(const char *sub, const char *ws, long long iat, long long exp)
{
    char *s = malloc(512);
    assert_non_null(s);
    snprintf(s, 512, "{\"sub\":\"%s\",\"ws\":\"%s\",\"iat\":%lld,\"exp\":%lld}", sub, ws, iat,
             exp);
    return s;
}

/* parse + verify in one go */
static enum token_error check(const char *token, const char *secret, int64_t now)
{
    struct arena a = ARENA_INIT;
    struct member_token t;
    enum token_error e = token_parse(token, &a, &t);
    if (e == TOKEN_OK)
        e = token_verify(&t, secret, now);
    arena_reset(&a);
    return e;
}

static enum token_error parse_only(const char *token)
{
    struct arena a = ARENA_INIT;
    struct member_token t;
    enum token_error e = token_parse(token, &a, &t);
    arena_reset(&a);
    return e;
}

#define assert_token(expr, expected)                                                     \
    do {                                                                                 \
        enum token_error got_ = (expr);                                                  \
        if (got_ != (expected))                                                          \
            fail_msg("%s: got %d (%s), expected %d (%s)", #expr, got_,                   \
                     token_error_message(got_), (expected), token_error_message(expected)); \
    } while (0)

/* ---- round trip ---- */

static void test_sign_parse_verify(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws.1", NOW, NOW + 3600, SECRET);
    assert_int_equal(credential_kind_of(tok), CRED_MEMBER_TOKEN);

    struct arena a = ARENA_INIT;
    struct member_token t;
    assert_token(token_parse(tok, &a, &t), TOKEN_OK);
    assert_string_equal(t.sub, "m_7");
    assert_string_equal(t.ws, "ws.1");
    assert_int_equal(t.iat, NOW);
    assert_int_equal(t.exp, NOW + 3600);
    assert_int_equal(t.nbf, 0);
    assert_token(token_verify(&t, SECRET, NOW), TOKEN_OK);
    assert_token(token_verify(&t, SECRET, NOW + 1800), TOKEN_OK);
    arena_reset(&a);
    free(tok);
}

static void test_signature_matches_openssl(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 60, SECRET);
    const char *dot2 = strrchr(tok, '.');
    assert_non_null(dot2);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)tok,
         (size_t)(dot2 - tok), mac, &maclen);
    char *expected = b64url(mac, maclen);
    assert_string_equal(dot2 + 1, expected);

    /* the header decodes to alg HS256 */
    const char *dot1 = strchr(tok, '.');
    char *h64 = strndup(tok, (size_t)(dot1 - tok));
    json_error_t jerr;
    /* decode with OpenSSL: back to standard alphabet and padding */
    char std[128];
    size_t n = strlen(h64);
    assert_true(n + 4 < sizeof std);
    for (size_t i = 0; i < n; i++)
        std[i] = h64[i] == '-' ? '+' : h64[i] == '_' ? '/' : h64[i];
    while (n % 4)
        std[n++] = '=';
    std[n] = '\0';
    unsigned char raw[128];
    int rawlen = EVP_DecodeBlock(raw, (const unsigned char *)std, (int)n);
    assert_true(rawlen > 0);
    while (rawlen > 0 && raw[rawlen - 1] == '\0') /* EVP_DecodeBlock keeps pad bytes */
        rawlen--;
    json_t *header = json_loadb((const char *)raw, (size_t)rawlen, 0, &jerr);
    assert_non_null(header);
    assert_string_equal(json_string_value(json_object_get(header, "alg")), "HS256");
    json_decref(header);
    free(h64);
    free(expected);
    free(tok);
}

static void test_independent_token_accepted(void **state)
{
    (void)state;
    /* another library's output: other key order, spaces, extra claims and header fields */
    char payload[256];
    snprintf(payload, sizeof payload,
             "{ \"iss\": \"host-app\", \"exp\": %lld, \"ws\": \"ws1\", \"name\": \"Ann\", "
             "\"iat\": %lld, \"sub\": \"m_7\", \"nbf\": %lld }",
             NOW + 900, NOW, NOW);
    char *tok = jwt("{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", payload, SECRET);
    struct arena a = ARENA_INIT;
    struct member_token t;
    assert_token(token_parse(tok, &a, &t), TOKEN_OK);
    assert_string_equal(t.sub, "m_7");
    assert_string_equal(t.ws, "ws1");
    assert_int_equal(t.nbf, NOW);
    assert_token(token_verify(&t, SECRET, NOW + 10), TOKEN_OK);
    arena_reset(&a);
    free(tok);
}

static void test_real_number_times_accepted(void **state)
{
    (void)state;
    char payload[160];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":%lld.0,\"exp\":%lld.0}", NOW, NOW + 60);
    char *tok = jwt(HS256, payload, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_OK);
    free(tok);
}

/* ---- times ---- */

static void test_expiry_with_leeway(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    assert_token(check(tok, SECRET, NOW + 600), TOKEN_OK);
    assert_token(check(tok, SECRET, NOW + 600 + TOKEN_LEEWAY_S - 1), TOKEN_OK);
    assert_token(check(tok, SECRET, NOW + 600 + TOKEN_LEEWAY_S), TOKEN_EXPIRED);
    assert_token(check(tok, SECRET, NOW + 100000), TOKEN_EXPIRED);
    free(tok);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW + TOKEN_LEEWAY_S, NOW + 3600, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_OK); /* within the skew allowed */
    free(tok);
    tok = token_sign("m_7", "ws1", NOW + TOKEN_LEEWAY_S + 1, NOW + 3600, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_NOT_YET_VALID);
    assert_token(check(tok, SECRET, NOW + 1), TOKEN_OK);
    free(tok);

    char payload[160];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}", NOW,
             NOW + 3600, NOW + 600);
    tok = jwt(HS256, payload, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_NOT_YET_VALID);
    assert_token(check(tok, SECRET, NOW + 600 - TOKEN_LEEWAY_S), TOKEN_OK);
    free(tok);
}

static void test_lifetime_limit(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + TOKEN_MAX_LIFETIME_S, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_OK);
    free(tok);
    tok = token_sign("m_7", "ws1", NOW, NOW + TOKEN_MAX_LIFETIME_S + 1, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_TOO_LONG);
    free(tok);
    tok = token_sign("m_7", "ws1", NOW, NOW + 365LL * 24 * 3600, SECRET);
    assert_token(check(tok, SECRET, NOW), TOKEN_TOO_LONG);
    free(tok);
}

static void test_lifetime_limit_with_extreme_iat(void **state)
{
    (void)state;
    /* a ten-year token with iat = INT64_MIN: exp - iat must not wrap around */
    char *tok = token_sign("m_7", "ws1", INT64_MIN, NOW + 10LL * 365 * 24 * 3600, SECRET);
    enum token_error e = check(tok, SECRET, NOW);
    free(tok);
    assert_token(e, TOKEN_TOO_LONG);
}

static void test_far_future_exp(void **state)
{
    (void)state;
    /* exp = INT64_MAX is not expired: exp + leeway must not wrap around */
    char *tok = token_sign("m_7", "ws1", NOW, INT64_MAX, SECRET);
    enum token_error e = check(tok, SECRET, NOW);
    free(tok);
    assert_token(e, TOKEN_TOO_LONG);
}

/* ---- signatures ---- */

static void test_tampered_payload(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    char *other = token_sign("m_8", "ws1", NOW, NOW + 600, SECRET);
    /* m_8's header and payload with m_7's signature */
    const char *sig7 = strrchr(tok, '.');
    char *forged = malloc(strlen(other) + 1);
    size_t head = (size_t)(strrchr(other, '.') - other);
    memcpy(forged, other, head);
    strcpy(forged + head, sig7);
    assert_token(parse_only(forged), TOKEN_OK);
    assert_token(check(forged, SECRET, NOW), TOKEN_BAD_SIGNATURE);

    /* one changed character in the payload */
    char *dot1 = strchr(tok, '.');
    dot1[5] = dot1[5] == 'A' ? 'B' : 'A';
    assert_true(check(tok, SECRET, NOW) != TOKEN_OK);
    free(forged);
    free(other);
    free(tok);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    char *sig = strrchr(tok, '.') + 1;
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    assert_token(check(tok, SECRET, NOW), TOKEN_BAD_SIGNATURE);
    sig[0] = '+'; /* not base64url */
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    sig[strlen(sig) - 1] = '\0'; /* too short */
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);

    tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    sig = strrchr(tok, '.') + 1;
    sig[0] = '\0'; /* no signature at all */
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);
}

static void test_wrong_secret(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    assert_token(check(tok, "hss_another-secret", NOW), TOKEN_BAD_SIGNATURE);
    assert_token(check(tok, SECRET "x", NOW), TOKEN_BAD_SIGNATURE);
    assert_token(check(tok, "", NOW), TOKEN_BAD_SIGNATURE);
    free(tok);
    /* signed with another secret by the independent builder */
    char *c = claims("m_7", "ws1", NOW, NOW + 600);
    tok = jwt(HS256, c, "hss_another-secret");
    assert_token(check(tok, SECRET, NOW), TOKEN_BAD_SIGNATURE);
    assert_token(check(tok, "hss_another-secret", NOW), TOKEN_OK);
    free(tok);
    free(c);
}

static void test_expired_token_with_bad_signature_is_bad_signature(void **state)
{
    (void)state;
    /* times are checked only once the signature holds */
    char *tok = token_sign("m_7", "ws1", NOW - 7200, NOW - 3600, SECRET);
    assert_token(check(tok, "hss_wrong", NOW), TOKEN_BAD_SIGNATURE);
    assert_token(check(tok, SECRET, NOW), TOKEN_EXPIRED);
    free(tok);
}

/* ---- algorithms and shapes ---- */

static void test_bad_alg(void **state)
{
    (void)state;
    char *c = claims("m_7", "ws1", NOW, NOW + 600);
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}", "{\"typ\":\"JWT\"}", "{\"alg\":null}",
        "{\"alg\":256}",
    };
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        char *tok = jwt(headers[i], c, SECRET);
        if (parse_only(tok) != TOKEN_BAD_ALG)
            fail_msg("header %s: %s", headers[i], token_error_message(parse_only(tok)));
        free(tok);
    }
    /* the classic "none" attack: empty signature */
    char *tok = jwt_with_sig("{\"alg\":\"none\",\"typ\":\"JWT\"}", c, "");
    assert_token(parse_only(tok), TOKEN_BAD_ALG);
    free(tok);
    free(c);
}

static void test_missing_or_mistyped_claims(void **state)
{
    (void)state;
    static const char *const payloads[] = {
        "{\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":" IAT "}",
        "{\"sub\":7,\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":null,\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m 7\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":\"ws 1\",\"iat\":" IAT ",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":\"" IAT "\",\"exp\":" EXP "}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":\"" EXP "\"}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":null}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP ",\"nbf\":\"soon\"}",
        "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":" IAT ",\"exp\":" EXP ",\"nbf\":true}",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
        const char *payload = payloads[i];
        char *tok = jwt(HS256, payload, SECRET);
        if (parse_only(tok) != TOKEN_BAD_CLAIMS)
            fail_msg("payload %s: %s", payload, token_error_message(parse_only(tok)));
        free(tok);
    }
}

static void test_non_json_parts(void **state)
{
    (void)state;
    char *c = claims("m_7", "ws1", NOW, NOW + 600);
    char *tok = jwt("not json", c, SECRET);
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);
    tok = jwt("[\"HS256\"]", c, SECRET);
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);
    tok = jwt(HS256, "not json", SECRET);
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);
    tok = jwt(HS256, "[1,2]", SECRET);
    assert_token(parse_only(tok), TOKEN_MALFORMED);
    free(tok);
    tok = jwt(HS256, "{\"sub\":\"m_7\",\"sub\":\"m_8\",\"ws\":\"ws1\",\"iat\":1,\"exp\":2}",
              SECRET);
    assert_token(parse_only(tok), TOKEN_MALFORMED); /* duplicate keys */
    free(tok);
    free(c);

    /* parts that are not base64url */
    char *good = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    char *bad = strdup(good);
    bad[2] = '+';
    assert_token(parse_only(bad), TOKEN_MALFORMED);
    strcpy(bad, good);
    strchr(bad, '.')[3] = '/';
    assert_token(parse_only(bad), TOKEN_MALFORMED);
    free(bad);
    free(good);
}

static void test_wrong_part_count(void **state)
{
    (void)state;
    char *tok = token_sign("m_7", "ws1", NOW, NOW + 600, SECRET);
    size_t n = strlen(tok);
    char *s = malloc(n + 8);

    snprintf(s, n + 8, "%s.", tok); /* four parts, last empty */
    assert_token(parse_only(s), TOKEN_MALFORMED);
    snprintf(s, n + 8, "%s.abc", tok); /* four parts */
    assert_token(parse_only(s), TOKEN_MALFORMED);
    memcpy(s, tok, n + 1);
    *strrchr(s, '.') = '\0'; /* two parts */
    assert_token(parse_only(s), TOKEN_MALFORMED);

    static const char *const junk[] = {"", ".", "..", "...", "abc", "a.b", "a.b.c"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        if (parse_only(junk[i]) != TOKEN_MALFORMED)
            fail_msg("\"%s\" parsed as %s", junk[i], token_error_message(parse_only(junk[i])));
    free(s);
    free(tok);
}

static void test_over_long_token(void **state)
{
    (void)state;
    /* grow a padding claim until the token crosses 4096 characters */
    char *pad = malloc(4096);
    char *payload = malloc(4300);
    size_t last_ok = 0;
    bool saw_long = false;
    for (size_t k = 2900; k < 3200; k++) {
        memset(pad, 'x', k);
        pad[k] = '\0';
        snprintf(payload, 4300, "{\"sub\":\"m_7\",\"ws\":\"ws1\",\"iat\":%lld,\"exp\":%lld,"
                 "\"pad\":\"%s\"}", NOW, NOW + 60, pad);
        char *tok = jwt(HS256, payload, SECRET);
        size_t n = strlen(tok);
        if (n <= 4096) {
            assert_token(check(tok, SECRET, NOW), TOKEN_OK);
            last_ok = n;
        } else {
            assert_token(parse_only(tok), TOKEN_MALFORMED);
            saw_long = true;
        }
        free(tok);
    }
    assert_true(last_ok > 4090);
    assert_true(saw_long);
    free(pad);
    free(payload);
}

static void test_error_messages(void **state)
{
    (void)state;
    for (int e = TOKEN_OK; e <= TOKEN_TOO_LONG; e++) {
        const char *m = token_error_message((enum token_error)e);
        assert_non_null(m);
        assert_true(strlen(m) > 0);
    }
    assert_string_equal(token_error_message(TOKEN_OK), "ok");
}

/* ---- keys ---- */

static void test_apikey_round_trip(void **state)
{
    (void)state;
    char id[APIKEY_ID_LEN + 1], parsed[APIKEY_ID_LEN + 1];
    char *key = apikey_generate(id);
    assert_int_equal(strlen(id), APIKEY_ID_LEN);
    assert_int_equal(strlen(key), 3 + APIKEY_ID_LEN + 1 + 43);
    assert_memory_equal(key, "hk_", 3);
    assert_memory_equal(key + 3, id, APIKEY_ID_LEN);
    assert_int_equal(key[3 + APIKEY_ID_LEN], '_');
    for (const char *p = key + 4 + APIKEY_ID_LEN; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               *p));
    assert_int_equal(apikey_id(key, parsed), 0);
    assert_string_equal(parsed, id);
    assert_int_equal(credential_kind_of(key), CRED_API_KEY);

    char id2[APIKEY_ID_LEN + 1];
    char *key2 = apikey_generate(id2);
    assert_string_not_equal(key, key2);
    free(key);
    free(key2);
}

static void test_apikey_malformed(void **state)
{
    (void)state;
    char id[APIKEY_ID_LEN + 1];
    assert_int_equal(apikey_id("hk_0123456789ab_s", id), 0);
    assert_string_equal(id, "0123456789ab");
    static const char *const bad[] = {
        "",                         /* empty */
        "hk_",                      /* prefix only */
        "hk_0123456789ab",          /* no separator, no secret */
        "hk_0123456789ab_",         /* no secret */
        "hk_0123456789abXsecret",   /* wrong separator */
        "hk_0123456789AB_secret",   /* upper-case hex */
        "hk_0123456789ag_secret",   /* not hex */
        "hk_0123456789a_secret",    /* id too short */
        "hk-0123456789ab_secret",   /* wrong prefix */
        "hak_0123456789ab_secret",  /* admin key */
        "HK_0123456789ab_secret",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (apikey_id(bad[i], id) != -1)
            fail_msg("\"%s\" accepted as an API key", bad[i]);
}

static void test_credential_kinds(void **state)
{
    (void)state;
    assert_int_equal(credential_kind_of(NULL), CRED_NONE);
    assert_int_equal(credential_kind_of(""), CRED_NONE);
    assert_int_equal(credential_kind_of("hak_abc"), CRED_ADMIN);
    assert_int_equal(credential_kind_of("hk_0123456789ab_x"), CRED_API_KEY);
    assert_int_equal(credential_kind_of("eyJ.eyJ.sig"), CRED_MEMBER_TOKEN);
    assert_int_equal(credential_kind_of("hss_secret"), CRED_UNKNOWN);
    assert_int_equal(credential_kind_of("random"), CRED_UNKNOWN);

    char *admin = admin_key_generate();
    assert_int_equal(credential_kind_of(admin), CRED_ADMIN);
    assert_int_equal(strlen(admin), 4 + 43);
    char *admin2 = admin_key_generate();
    assert_string_not_equal(admin, admin2);
    char *secret = signing_secret_generate();
    assert_memory_equal(secret, "hss_", 4);
    assert_int_equal(strlen(secret), 4 + 43);
    free(admin);
    free(admin2);
    free(secret);
}

static void test_key_hash(void **state)
{
    (void)state;
    char id[APIKEY_ID_LEN + 1];
    char *key = apikey_generate(id);
    uint8_t stored[SHA256_LEN], ossl[SHA256_LEN];
    key_hash(key, stored);
    SHA256((const unsigned char *)key, strlen(key), ossl);
    assert_memory_equal(stored, ossl, SHA256_LEN);

    assert_true(key_hash_matches(key, stored));
    char *other = apikey_generate(id);
    assert_false(key_hash_matches(other, stored));
    /* a key one character shorter, or with one bit of the hash flipped */
    char *shorter = strndup(key, strlen(key) - 1);
    assert_false(key_hash_matches(shorter, stored));
    stored[SHA256_LEN - 1] ^= 1;
    assert_false(key_hash_matches(key, stored));
    free(shorter);
    free(other);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_parse_verify),
        cmocka_unit_test(test_signature_matches_openssl),
        cmocka_unit_test(test_independent_token_accepted),
        cmocka_unit_test(test_real_number_times_accepted),
        cmocka_unit_test(test_expiry_with_leeway),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_lifetime_limit),
        cmocka_unit_test(test_lifetime_limit_with_extreme_iat),
        cmocka_unit_test(test_far_future_exp),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_expired_token_with_bad_signature_is_bad_signature),
        cmocka_unit_test(test_bad_alg),
        cmocka_unit_test(test_missing_or_mistyped_claims),
        cmocka_unit_test(test_non_json_parts),
        cmocka_unit_test(test_wrong_part_count),
        cmocka_unit_test(test_over_long_token),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_apikey_round_trip),
        cmocka_unit_test(test_apikey_malformed),
        cmocka_unit_test(test_credential_kinds),
        cmocka_unit_test(test_key_hash),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
