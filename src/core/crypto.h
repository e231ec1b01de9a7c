/* crypto.h - the few primitives Herald needs, on OpenSSL 3 EVP:
 * SHA-256, HMAC-SHA256, a CSPRNG, constant-time comparison and the
 * base64url (RFC 4648 section 5, unpadded) and hex encodings. */
#ifndef HERALD_CORE_CRYPTO_H
#define HERALD_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t len, uint8_t out[SHA256_LEN]);
/* Fills buf from the OS CSPRNG; aborts if it cannot (never returns weak bytes). */
void crypto_random(void *buf, size_t len);
/* Constant-time in len: the time does not depend on where a and b differ. */
bool crypto_equal(const void *a, const void *b, size_t len);

/* Encoded length without padding, not counting the NUL. */
size_t b64url_encoded_len(size_t n);
/* Writes b64url_encoded_len(n) chars and a NUL into out. */
void b64url_encode(const void *in, size_t n, char *out);
/* Strict: only [A-Za-z0-9_-], no padding, canonical trailing bits.
 * Returns the decoded length, or -1. out must hold len*3/4+1 bytes. */
long b64url_decode(const char *in, size_t len, uint8_t *out);

void hex_encode(const void *in, size_t n, char *out); /* 2n chars + NUL */

/* A fresh random token: prefix followed by nbytes of randomness, base64url. */
char *crypto_token(const char *prefix, size_t nbytes); /* caller frees */

#endif
