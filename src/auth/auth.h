/* auth.h - credentials: the admin key, workspace API keys, workspace
 * signing secrets and member tokens (HS256 JWTs).
 *
 *   admin key      "hak_" + 43 base64url chars (256 random bits)
 *   API key        "hk_" + 12 hex chars of key id + "_" + 43 chars secret;
 *                  the key id finds the row, SHA-256 of the whole key is
 *                  what is stored and compared (constant time)
 *   signing secret "hss_" + 43 chars; HMAC key = its UTF-8 bytes (API.md)
 *
 * Keys carry 256 bits of entropy, so a plain SHA-256 is the right stored
 * form: a slow password hash would add nothing but CPU per request. */
#ifndef HERALD_AUTH_AUTH_H
#define HERALD_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/crypto.h"

#define APIKEY_ID_LEN 12
#define TOKEN_MAX_LIFETIME_S (24 * 3600)
#define TOKEN_LEEWAY_S 30 /* clock skew allowed between host and Herald */

enum credential_kind { CRED_NONE, CRED_ADMIN, CRED_API_KEY, CRED_MEMBER_TOKEN, CRED_UNKNOWN };

/* Which kind a bearer string is, from its shape alone. */
enum credential_kind credential_kind_of(const char *bearer);

/* New keys; the caller frees the returned strings. */
char *admin_key_generate(void);
char *apikey_generate(char key_id[APIKEY_ID_LEN + 1]);
char *signing_secret_generate(void);

/* The key id inside an API key; -1 when the shape is wrong. */
int apikey_id(const char *key, char key_id[APIKEY_ID_LEN + 1]);
void key_hash(const char *key, uint8_t out[SHA256_LEN]);
bool key_hash_matches(const char *key, const uint8_t stored[SHA256_LEN]);

/* Member tokens. */
struct member_token {
    const char *sub; /* member id */
    const char *ws;  /* workspace id */
    int64_t iat, exp, nbf; /* seconds; nbf 0 when absent */
    /* private: what the signature covers, and the signature */
    const char *signing_input;
    size_t signing_input_len;
    uint8_t sig[SHA256_LEN];
};

enum token_error {
    TOKEN_OK,
    TOKEN_MALFORMED,     /* not three base64url parts of JSON */
    TOKEN_BAD_ALG,       /* alg is not HS256 */
    TOKEN_BAD_CLAIMS,    /* sub, ws, iat or exp missing or mistyped */
    TOKEN_BAD_SIGNATURE,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    TOKEN_TOO_LONG,      /* lifetime over 24 h */
};

/* Decodes the token's structure and claims (no secret needed yet). */
enum token_error token_parse(const char *jwt, struct arena *a, struct member_token *out);
/* Checks the signature with the workspace's secret, then the times. */
enum token_error token_verify(const struct member_token *t, const char *secret, int64_t now_s);
const char *token_error_message(enum token_error e);
/* Signs a token; caller frees. */
char *token_sign(const char *sub, const char *ws, int64_t iat, int64_t exp, const char *secret);

#endif
