/* test_push.c - Web Push crypto against the RFC vectors of PROTOCOLS.md:
 * RFC 8291 Appendix A (every intermediate value and the 144-byte body),
 * RFC 8188 3.1 and 3.2 (53- and 73-byte bodies), RFC 8292 2.4 (a VAPID
 * token that verifies), and ES256 / RS256 tokens that Herald signs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "push/ece.h"
#include "push/jws.h"
#include "push/p256.h"

#include <openssl/pem.h>

static size_t unb64(const char *s, uint8_t *out)
{
    long n = b64url_decode(s, strlen(s), out);
    assert_true(n >= 0);
    return (size_t)n;
}

static void expect_b64(const uint8_t *data, size_t n, const char *want)
{
    char got[1024];
    b64url_encode(data, n, got);
    assert_string_equal(got, want);
}

/* RFC 8291 Appendix A */
static const char PLAIN[] = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
static const char AS_PUBLIC[] =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char AS_PRIVATE[] = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char UA_PUBLIC[] =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char UA_PRIVATE[] = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char SALT[] = "DGv6ra1nlYgDCS1FRnbzlw";
static const char AUTH[] = "BTBZMqHH6r4Tts7J_aSIgg";
static const char BODY[] =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYW"
    "AmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSx"
    "sj_Qulcy4a-fN";

static void test_rfc8291_intermediate_values(void **state)
{
    (void)state;
    uint8_t as_priv[32], ua_pub[65], as_pub[65], auth[16], secret[32], ikm[32];
    unb64(AS_PRIVATE, as_priv);
    unb64(UA_PUBLIC, ua_pub);
    unb64(AUTH, auth);
    EVP_PKEY *as = p256_from_private(as_priv);
    EVP_PKEY *ua = p256_from_public(ua_pub);
    assert_non_null(as);
    assert_non_null(ua);
    assert_int_equal(p256_public(as, as_pub), 0);
    expect_b64(as_pub, 65, AS_PUBLIC); /* the public point computed from the scalar */
    assert_int_equal(p256_ecdh(as, ua, secret), 0);
    expect_b64(secret, 32, "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs");
    assert_int_equal(webpush_ikm(secret, auth, ua_pub, as_pub, ikm), 0);
    expect_b64(ikm, 32, "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg");
    /* ECDH from the other side gives the same secret */
    uint8_t ua_priv[32], again[32];
    unb64(UA_PRIVATE, ua_priv);
    EVP_PKEY *ua_pair = p256_from_private(ua_priv);
    assert_int_equal(p256_ecdh(ua_pair, as, again), 0);
    assert_memory_equal(secret, again, 32);
    EVP_PKEY_free(as);
    EVP_PKEY_free(ua);
    EVP_PKEY_free(ua_pair);
}

static void test_rfc8291_body_is_byte_exact(void **state)
{
    (void)state;
    uint8_t as_priv[32], ua_pub[65], auth[16], salt[16], plain[64], want[200];
    unb64(AS_PRIVATE, as_priv);
    unb64(UA_PUBLIC, ua_pub);
    unb64(AUTH, auth);
    unb64(SALT, salt);
    size_t plain_len = unb64(PLAIN, plain);
    size_t want_len = unb64(BODY, want);
    assert_int_equal(want_len, 144);
    EVP_PKEY *as = p256_from_private(as_priv);
    struct buf body = BUF_INIT;
    assert_int_equal(webpush_encrypt(ua_pub, auth, plain, plain_len, as, salt, &body), 0);
    assert_int_equal(body.len, 144);
    assert_memory_equal(body.data, want, 144);
    /* the receiver reads it back */
    uint8_t ua_priv[32];
    unb64(UA_PRIVATE, ua_priv);
    EVP_PKEY *ua = p256_from_private(ua_priv);
    struct buf back = BUF_INIT;
    assert_int_equal(webpush_decrypt(ua, auth, want, want_len, &back), 0);
    assert_int_equal(back.len, 41);
    assert_memory_equal(back.data, "When I grow up, I want to be a watermelon", 41);
    /* any flipped byte of ciphertext or tag fails the GCM check */
    for (size_t i = WEBPUSH_HEADER_LEN; i < want_len; i += 7) {
        want[i] ^= 1;
        buf_clear(&back);
        assert_int_equal(webpush_decrypt(ua, auth, want, want_len, &back), -1);
        want[i] ^= 1;
    }
    buf_free(&body);
    buf_free(&back);
    EVP_PKEY_free(as);
    EVP_PKEY_free(ua);
}

static void test_fresh_keys_and_salt_round_trip(void **state)
{
    (void)state;
    EVP_PKEY *ua = p256_generate();
    uint8_t ua_pub[65], auth[16];
    assert_int_equal(p256_public(ua, ua_pub), 0);
    crypto_random(auth, sizeof auth);
    const char msg[] = "{\"title\":\"Harbour Physio\",\"body\":\"Cancellation\"}";
    struct buf a = BUF_INIT, b = BUF_INIT, back = BUF_INIT;
    assert_int_equal(webpush_encrypt(ua_pub, auth, msg, strlen(msg), NULL, NULL, &a), 0);
    assert_int_equal(webpush_encrypt(ua_pub, auth, msg, strlen(msg), NULL, NULL, &b), 0);
    assert_int_equal(a.len, WEBPUSH_HEADER_LEN + strlen(msg) + 1 + 16);
    assert_memory_not_equal(a.data, b.data, 16); /* a new salt each time */
    assert_memory_not_equal(a.data + 21, b.data + 21, 65); /* and a new key */
    assert_int_equal(webpush_decrypt(ua, auth, (uint8_t *)a.data, a.len, &back), 0);
    assert_int_equal(back.len, strlen(msg));
    assert_memory_equal(back.data, msg, strlen(msg));
    /* the largest plaintext fits one 4096-byte record, one more does not */
    char *big = calloc(1, WEBPUSH_PLAINTEXT_MAX + 2);
    memset(big, 'x', WEBPUSH_PLAINTEXT_MAX + 1);
    buf_clear(&a);
    assert_int_equal(webpush_encrypt(ua_pub, auth, big, WEBPUSH_PLAINTEXT_MAX, NULL, NULL, &a), 0);
    assert_int_equal(a.len, 4096); /* 86 + 3993 + 1 + 16 */
    assert_int_equal(webpush_encrypt(ua_pub, auth, big, WEBPUSH_PLAINTEXT_MAX + 1, NULL, NULL,
                                     &b), -1);
    free(big);
    buf_free(&a);
    buf_free(&b);
    buf_free(&back);
    EVP_PKEY_free(ua);
}

static void test_a_point_off_the_curve_is_refused(void **state)
{
    (void)state;
    uint8_t ua_pub[65], auth[16];
    unb64(UA_PUBLIC, ua_pub);
    unb64(AUTH, auth);
    ua_pub[64] ^= 1;
    assert_null(p256_from_public(ua_pub));
    struct buf out = BUF_INIT;
    assert_int_equal(webpush_encrypt(ua_pub, auth, "x", 1, NULL, NULL, &out), -1);
    ua_pub[64] ^= 1;
    ua_pub[0] = 0x02; /* compressed points are not what subscriptions carry */
    assert_null(p256_from_public(ua_pub));
    buf_free(&out);
}

static void test_rfc8188_single_record(void **state)
{
    (void)state;
    uint8_t ikm[16], salt[16], want[64];
    unb64("yqdlZ-tYemfogSmv7Ws5PQ", ikm);
    unb64("I1BsxtFttlv3u_Oo94xnmw", salt);
    size_t want_len =
        unb64("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg", want);
    assert_int_equal(want_len, 53);
    struct buf body = BUF_INIT, back = BUF_INIT;
    assert_int_equal(ece_encrypt(ikm, 16, salt, 4096, NULL, 0, "I am the walrus", 15, &body), 0);
    assert_int_equal(body.len, 53);
    assert_memory_equal(body.data, want, 53);
    assert_int_equal(ece_decrypt(ikm, 16, want, want_len, &back), 0);
    assert_int_equal(back.len, 15);
    assert_memory_equal(back.data, "I am the walrus", 15);
    buf_free(&body);
    buf_free(&back);
}

static void test_rfc8188_multiple_records(void **state)
{
    (void)state;
    uint8_t ikm[16], body[128];
    unb64("BO3ZVPxUlnLORbVGMpbT1Q", ikm);
    size_t len = unb64("uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPH"
                       "I51OEUKEpgz3SsLWIqS_uA", body);
    assert_int_equal(len, 73);
    struct buf back = BUF_INIT;
    assert_int_equal(ece_decrypt(ikm, 16, body, len, &back), 0);
    assert_int_equal(back.len, 15);
    assert_memory_equal(back.data, "I am the walrus", 15);
    /* cut after the first record: the last one is missing */
    buf_clear(&back);
    assert_int_equal(ece_decrypt(ikm, 16, body, 21 + 2 + 25, &back), -1);
    buf_free(&back);
}

static void test_rfc8292_vapid_example_verifies(void **state)
{
    (void)state;
    static const char T[] =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAi"
        "OjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_H"
        "LGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA";
    uint8_t k[65];
    unb64("BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmCl"
          "BPs", k);
    EVP_PKEY *pub = p256_from_public(k);
    assert_non_null(pub);
    assert_true(jws_verify(pub, T));
    char bad[sizeof T];
    memcpy(bad, T, sizeof T);
    bad[40] = bad[40] == 'A' ? 'B' : 'A'; /* the claims changed */
    assert_false(jws_verify(pub, bad));
    EVP_PKEY_free(pub);
}

static void test_es256_tokens_herald_signs_verify(void **state)
{
    (void)state;
    EVP_PKEY *key = p256_generate();
    uint8_t pub[65];
    assert_int_equal(p256_public(key, pub), 0);
    EVP_PKEY *verifier = p256_from_public(pub);
    for (int i = 0; i < 20; i++) { /* R or S with leading zeros are padded */
        struct buf t = BUF_INIT;
        assert_int_equal(jws_sign(key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}",
                                  "{\"aud\":\"https://push.example.net\",\"exp\":1453523768}",
                                  &t), 0);
        const char *sig = strrchr(t.data, '.') + 1;
        assert_int_equal(strlen(sig), 86); /* 64 bytes, base64url */
        assert_true(jws_verify(verifier, t.data));
        buf_free(&t);
    }
    EVP_PKEY *other = p256_generate();
    struct buf t = BUF_INIT;
    jws_sign(other, "{}", "{}", &t);
    assert_false(jws_verify(verifier, t.data));
    buf_free(&t);
    EVP_PKEY_free(other);
    EVP_PKEY_free(verifier);
    EVP_PKEY_free(key);
}

static void test_rs256_tokens_verify(void **state)
{
    (void)state;
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(rsa);
    struct buf t = BUF_INIT;
    assert_int_equal(jws_sign(rsa, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"iss\":\"a\"}", &t), 0);
    assert_int_equal(strlen(strrchr(t.data, '.') + 1), 342); /* 256 bytes */
    assert_true(jws_verify(rsa, t.data));
    buf_free(&t);
    EVP_PKEY_free(rsa);
}

static void test_p8_pem_keys_load(void **state)
{
    (void)state;
    EVP_PKEY *key = p256_generate();
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    EVP_PKEY *back = p256_from_pem(pem, (size_t)n);
    assert_non_null(back);
    uint8_t a[65], b[65];
    p256_public(key, a);
    p256_public(back, b);
    assert_memory_equal(a, b, 65);
    assert_null(p256_from_pem("not a key", 9));
    EVP_PKEY_free(back);
    BIO_free(bio);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8291_intermediate_values),
        cmocka_unit_test(test_rfc8291_body_is_byte_exact),
        cmocka_unit_test(test_fresh_keys_and_salt_round_trip),
        cmocka_unit_test(test_a_point_off_the_curve_is_refused),
        cmocka_unit_test(test_rfc8188_single_record),
        cmocka_unit_test(test_rfc8188_multiple_records),
        cmocka_unit_test(test_rfc8292_vapid_example_verifies),
        cmocka_unit_test(test_es256_tokens_herald_signs_verify),
        cmocka_unit_test(test_rs256_tokens_verify),
        cmocka_unit_test(test_p8_pem_keys_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
