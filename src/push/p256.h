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

#endif
