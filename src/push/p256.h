/* p256.h - P-256 keys for Web Push, VAPID and APNs, on OpenSSL 3 EVP (no
 * deprecated EC_KEY): generation, the raw forms the protocols use (a
 * 65-byte uncompressed public point, a 32-byte private scalar), PEM
 * (APNs' .p8 files), and ECDH. Keys are EVP_PKEY; the caller frees them
 * with EVP_PKEY_free. */
#ifndef HERALD_PUSH_P256_H
#define HERALD_PUSH_P256_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define P256_PUBLIC_LEN 65
#define P256_PRIVATE_LEN 32

EVP_PKEY *p256_generate(void);
/* NULL unless pub is an uncompressed point on the curve (RFC 8291 7). */
EVP_PKEY *p256_from_public(const uint8_t pub[P256_PUBLIC_LEN]);
/* The key pair of a raw private scalar (its public point is computed). */
EVP_PKEY *p256_from_private(const uint8_t priv[P256_PRIVATE_LEN]);
/* A PKCS#8 PEM private key (an APNs .p8 file's text); NULL if not P-256. */
EVP_PKEY *p256_from_pem(const char *pem, size_t len);
int p256_public(EVP_PKEY *key, uint8_t out[P256_PUBLIC_LEN]);
int p256_private(EVP_PKEY *key, uint8_t out[P256_PRIVATE_LEN]);
/* The shared secret: the X coordinate of mine * peer. */
int p256_ecdh(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t out[32]);

/* Web Push's hot path in one call: checks that peer is a point on the
 * curve, makes a fresh key pair (its public point into mine), and derives
 * the shared secret. The same results as p256_generate + p256_ecdh, on
 * OpenSSL's EC_POINT arithmetic directly: the EVP objects' setup costs more
 * than the two multiplications themselves. Thread-safe. */
int p256_ephemeral_ecdh(const uint8_t peer[P256_PUBLIC_LEN], uint8_t mine[P256_PUBLIC_LEN],
                        uint8_t secret[32]);

#endif
