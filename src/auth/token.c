/* token.c - HS256 member tokens (see auth.h).
 *
 * Only alg HS256 is accepted: "none" and asymmetric algs are refused before
 * any key is looked up. The signature is compared in constant time, and the
 * times are checked only after the signature holds. */
#include "auth/auth.h"
#include "core/buf.h"
#include "core/hostid.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX_LEN 4096

static json_t *decode_json_part(const char *s, size_t n, struct arena *a)
{
    uint8_t *raw = arena_alloc(a, n * 3 / 4 + 2);
    long len = b64url_decode(s, n, raw);
    if (len < 0)
        return NULL;
    return json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
}

static bool int_claim(json_t *payload, const char *name, int64_t *out)
{
    json_t *v = json_object_get(payload, name);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) { /* some JWT libraries write 1.7e9 */
        double d = json_real_value(v);
        if (!isfinite(d) || d < -9.0e18 || d > 9.0e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

enum token_error token_parse(const char *jwt, struct arena *a, struct member_token *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(jwt);
    if (len > TOKEN_MAX_LEN)
        return TOKEN_MALFORMED;
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
        return TOKEN_MALFORMED;

    json_t *header = decode_json_part(jwt, (size_t)(dot1 - jwt), a);
    if (!json_is_object(header)) {
        json_decref(header);
        return TOKEN_MALFORMED;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    bool hs256 = alg && strcmp(alg, "HS256") == 0;
    json_decref(header);
    if (!hs256)
        return TOKEN_BAD_ALG;

    const char *sig = dot2 + 1;
    size_t siglen = len - (size_t)(sig - jwt);
    uint8_t rawsig[SHA256_LEN + 3];
    if (siglen != b64url_encoded_len(SHA256_LEN) || b64url_decode(sig, siglen, rawsig) != SHA256_LEN)
        return TOKEN_MALFORMED;
    memcpy(out->sig, rawsig, SHA256_LEN);

    json_t *payload = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), a);
    if (!json_is_object(payload)) {
        json_decref(payload);
        return TOKEN_MALFORMED;
    }
    enum token_error err = TOKEN_OK;
    const char *sub = json_string_value(json_object_get(payload, "sub"));
    const char *ws = json_string_value(json_object_get(payload, "ws"));
    if (!sub || !ws || !hostid_valid(sub) || !hostid_valid(ws) ||
        !int_claim(payload, "iat", &out->iat) || !int_claim(payload, "exp", &out->exp))
        err = TOKEN_BAD_CLAIMS;
    if (json_object_get(payload, "nbf") && !int_claim(payload, "nbf", &out->nbf))
        err = TOKEN_BAD_CLAIMS;
    if (err == TOKEN_OK) {
        out->sub = arena_strdup(a, sub);
        out->ws = arena_strdup(a, ws);
    }
    json_decref(payload);
    out->signing_input = jwt;
    out->signing_input_len = (size_t)(dot2 - jwt);
    return err;
}

enum token_error token_verify(const struct member_token *t, const char *secret, int64_t now_s)
{
    uint8_t mac[SHA256_LEN];
    if (crypto_hmac_sha256(secret, strlen(secret), t->signing_input, t->signing_input_len,
                           mac) != 0)
        return TOKEN_BAD_SIGNATURE;
    if (!crypto_equal(mac, t->sig, SHA256_LEN))
        return TOKEN_BAD_SIGNATURE;
    /* Written so that no claim, however extreme, can overflow: only now_s
     * (a sane value) is offset, and exp is known to be recent before
     * anything is subtracted from it. */
    if (t->exp <= now_s - TOKEN_LEEWAY_S)
        return TOKEN_EXPIRED;
    if (t->iat > now_s + TOKEN_LEEWAY_S || (t->nbf && t->nbf > now_s + TOKEN_LEEWAY_S))
        return TOKEN_NOT_YET_VALID;
    if (t->exp - TOKEN_MAX_LIFETIME_S > t->iat)
        return TOKEN_TOO_LONG;
    return TOKEN_OK;
}

const char *token_error_message(enum token_error e)
{
    switch (e) {
    case TOKEN_OK: return "ok";
    case TOKEN_MALFORMED: return "the token is not a well-formed JWT";
    case TOKEN_BAD_ALG: return "the token's alg must be HS256";
    case TOKEN_BAD_CLAIMS: return "the token needs string claims sub and ws, and numeric iat and exp";
    case TOKEN_BAD_SIGNATURE: return "the token's signature does not match";
    case TOKEN_EXPIRED: return "the token has expired";
    case TOKEN_NOT_YET_VALID: return "the token is not valid yet";
    case TOKEN_TOO_LONG: return "the token lives longer than 24 hours";
    }
    return "invalid token";
}

static void b64_part(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, b64url_encoded_len(n));
    b64url_encode(s, n, b->data + b->len);
    b->len += b64url_encoded_len(n);
}

char *token_sign(const char *sub, const char *ws, int64_t iat, int64_t exp, const char *secret)
{
    json_t *payload = json_pack("{s:s, s:s, s:I, s:I}", "sub", sub, "ws", ws, "iat",
                                (json_int_t)iat, "exp", (json_int_t)exp);
    char *ptext = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    struct buf b = BUF_INIT;
    b64_part(&b, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    buf_addc(&b, '.');
    b64_part(&b, ptext);
    free(ptext);
    uint8_t mac[SHA256_LEN];
    crypto_hmac_sha256(secret, strlen(secret), b.data, b.len, mac);
    buf_addc(&b, '.');
    buf_reserve(&b, b64url_encoded_len(SHA256_LEN));
    b64url_encode(mac, SHA256_LEN, b.data + b.len);
    b.len += b64url_encoded_len(SHA256_LEN);
    return buf_steal(&b);
}
