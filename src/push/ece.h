/* ece.h - encrypted content-encoding (RFC 8188, "aes128gcm") and its Web
 * Push use (RFC 8291): the message a browser's push service carries,
 * readable only by the subscriber's keys.
 *
 * Encryption writes one record (all Web Push needs); decryption reads any
 * number of records, so tests can check the RFC examples and a peer can
 * read what Herald sends. Bodies are header || records, header =
 * salt(16) || rs(4) || idlen(1) || keyid. */
#ifndef HERALD_PUSH_ECE_H
#define HERALD_PUSH_ECE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define ECE_SALT_LEN 16
#define ECE_AUTH_LEN 16
#define ECE_RS 4096
/* The largest plaintext one 4096-byte record carries (RFC 8291 4). */
#define WEBPUSH_PLAINTEXT_MAX 3993
#define WEBPUSH_HEADER_LEN 86

/* RFC 8188 with a shared key (ikm): one record of size rs. 0 or -1. */
int ece_encrypt(const uint8_t *ikm, size_t ikm_len, const uint8_t salt[ECE_SALT_LEN],
                uint32_t rs, const uint8_t *keyid, uint8_t idlen, const void *plain, size_t len,
                struct buf *out);
/* Any number of records; checks padding and delimiters. 0 or -1. */
int ece_decrypt(const uint8_t *ikm, size_t ikm_len, const uint8_t *body, size_t len,
                struct buf *plain);

/* RFC 8291: encrypts for the subscription (ua_public, auth). as_key and
 * salt are for test vectors; NULL gives a fresh key pair and salt, as every
 * real message must have. -1 on a bad subscription key or a plaintext
 * over WEBPUSH_PLAINTEXT_MAX. */
int webpush_encrypt(const uint8_t ua_public[65], const uint8_t auth[ECE_AUTH_LEN],
                    const void *plain, size_t len, EVP_PKEY *as_key,
                    const uint8_t *salt, struct buf *out);
/* The subscriber's side (tests and test peers). */
int webpush_decrypt(EVP_PKEY *ua_key, const uint8_t auth[ECE_AUTH_LEN], const uint8_t *body,
                    size_t len, struct buf *plain);

/* The IKM of RFC 8291 3.3 (exposed for the test vectors). */
int webpush_ikm(const uint8_t ecdh_secret[32], const uint8_t auth[ECE_AUTH_LEN],
                const uint8_t ua_public[65], const uint8_t as_public[65], uint8_t ikm[32]);

#endif
