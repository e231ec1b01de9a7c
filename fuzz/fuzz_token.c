/* fuzz_token.c - bearer credentials: the kind of a bearer string, API key ids, member-token parsing and verification. */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/jsonx.h"

#define SECRET "hss_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfu"
#define NOW_S 1795000000 /* 2026-11-18 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = ARENA_INIT;
    /* What the router has after "Bearer ": a C string. */
    const char *bearer = arena_strndup(&a, (const char *)data, size);

    (void)credential_kind_of(bearer);
    char key_id[APIKEY_ID_LEN + 1];
    if (apikey_id(bearer, key_id) == 0 && strlen(key_id) != APIKEY_ID_LEN)
        abort();
    uint8_t stored[SHA256_LEN] = {0};
    (void)key_hash_matches(bearer, stored);

    struct member_token t;
    enum token_error e = token_parse(bearer, &a, &t);
    (void)token_error_message(e);
    if (e == TOKEN_OK) {
        if (!t.sub || !t.ws || t.signing_input != bearer ||
            t.signing_input_len >= strlen(bearer))
            abort();
        /* The fuzzer cannot forge the HMAC: check the token as sent, then
         * as if it were signed with the secret, so the time rules (and
         * their overflow guards) meet every claim value. */
        (void)token_verify(&t, SECRET, NOW_S);
        crypto_hmac_sha256(SECRET, strlen(SECRET), t.signing_input, t.signing_input_len,
                           t.sig);
        enum token_error v = token_verify(&t, SECRET, NOW_S);
        if (v == TOKEN_BAD_SIGNATURE)
            abort();
        (void)token_verify(&t, SECRET, t.iat);
        (void)token_verify(&t, SECRET, INT64_MAX / 2);
        (void)token_verify(&t, SECRET, 0);
        /* A token Herald signs with those claims reads back the same. */
        char *again = token_sign(t.sub, t.ws, t.iat, t.exp, SECRET);
        struct member_token t2;
        if (token_parse(again, &a, &t2) != TOKEN_OK || strcmp(t2.sub, t.sub) != 0 ||
            strcmp(t2.ws, t.ws) != 0 || t2.iat != t.iat || t2.exp != t.exp ||
            token_verify(&t2, SECRET, NOW_S) == TOKEN_BAD_SIGNATURE)
            abort();
        free(again);
    }
    arena_reset(&a);
    return 0;
}
