/* ece.c - aes128gcm content encoding and Web Push encryption (see ece.h).
 *
 * HKDF here is two HMAC-SHA-256 calls (extract, then one expand block),
 * which is all these lengths (at most 32 bytes) need. */
#include "push/ece.h"
#include "core/crypto.h"
#include "push/p256.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static EVP_CIPHER *aes_gcm;

static void fetch_cipher(void)
{
    aes_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

static const EVP_CIPHER *cipher(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_cipher);
    return aes_gcm;
}

/* HKDF-Expand to at most 32 bytes: T(1) = HMAC(prk, info || 0x01). */
static int expand(const uint8_t prk[32], const void *info, size_t info_len, uint8_t *out,
                  size_t out_len)
{
    uint8_t msg[256], t[32];
    if (info_len + 1 > sizeof msg || out_len > 32)
        return -1;
    memcpy(msg, info, info_len);
    msg[info_len] = 0x01;
    if (crypto_hmac_sha256(prk, 32, msg, info_len + 1, t) != 0)
        return -1;
    memcpy(out, t, out_len);
    return 0;
}

static const char CEK_INFO[] = "Content-Encoding: aes128gcm"; /* + its NUL */
static const char NONCE_INFO[] = "Content-Encoding: nonce";

static int derive(const uint8_t *ikm, size_t ikm_len, const uint8_t salt[ECE_SALT_LEN],
                  uint8_t cek[16], uint8_t nonce[12])
{
    uint8_t prk[32];
    if (crypto_hmac_sha256(salt, ECE_SALT_LEN, ikm, ikm_len, prk) != 0)
        return -1;
    return expand(prk, CEK_INFO, sizeof CEK_INFO, cek, 16) == 0 &&
                   expand(prk, NONCE_INFO, sizeof NONCE_INFO, nonce, 12) == 0
               ? 0
               : -1;
}

/* One AES-128-GCM operation; out gets len bytes (and the tag after them
 * when encrypting; when decrypting the tag is read from in + len). */
static int gcm(bool encrypt, const uint8_t cek[16], const uint8_t iv[12], const uint8_t *in,
               size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx && EVP_CipherInit_ex2(ctx, cipher(), cek, iv, encrypt, NULL) == 1;
    if (ok && !encrypt) {
        uint8_t tag[16];
        memcpy(tag, in + len, sizeof tag);
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    }
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len &&
         EVP_CipherFinal_ex(ctx, out + n, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int ece_encrypt(const uint8_t *ikm, size_t ikm_len, const uint8_t salt[ECE_SALT_LEN],
                uint32_t rs, const uint8_t *keyid, uint8_t idlen, const void *plain, size_t len,
                struct buf *out)
{
    /* one record: the plaintext, the last-record delimiter, the tag */
    if (rs < 18 || len + 1 + 16 > rs)
        return -1;
    uint8_t cek[16], nonce[12];
    if (derive(ikm, ikm_len, salt, cek, nonce) != 0)
        return -1;
    size_t header = ECE_SALT_LEN + 5 + idlen;
    buf_reserve(out, header + len + 1 + 16);
    uint8_t *h = (uint8_t *)out->data + out->len;
    memcpy(h, salt, ECE_SALT_LEN);
    h[16] = (uint8_t)(rs >> 24);
    h[17] = (uint8_t)(rs >> 16);
    h[18] = (uint8_t)(rs >> 8);
    h[19] = (uint8_t)rs;
    h[20] = idlen;
    if (idlen)
        memcpy(h + 21, keyid, idlen);
    uint8_t stack[4096];
    uint8_t *record = len + 1 <= sizeof stack ? stack : NULL;
    if (!record)
        return -1;
    memcpy(record, plain, len);
    record[len] = 0x02;
    if (gcm(true, cek, nonce, record, len + 1, h + header) != 0)
        return -1;
    out->len += header + len + 1 + 16;
    out->data[out->len] = '\0';
    return 0;
}

int ece_decrypt(const uint8_t *ikm, size_t ikm_len, const uint8_t *body, size_t len,
                struct buf *plain)
{
    if (len < 21)
        return -1;
    uint32_t rs = (uint32_t)body[16] << 24 | (uint32_t)body[17] << 16 |
                  (uint32_t)body[18] << 8 | body[19];
    size_t header = 21 + (size_t)body[20];
    if (rs < 18 || len <= header)
        return -1;
    uint8_t cek[16], nonce[12];
    if (derive(ikm, ikm_len, body, cek, nonce) != 0)
        return -1;
    uint8_t record[4096];
    bool last = false;
    for (uint64_t seq = 0, at = header; at < len; seq++) {
        if (last)
            return -1; /* data after the last record */
        size_t n = len - at < rs ? len - at : rs;
        if (n < 17 || n - 16 > sizeof record)
            return -1;
        uint8_t iv[12];
        memcpy(iv, nonce, 12);
        for (int i = 0; i < 8; i++)
            iv[11 - i] ^= (uint8_t)(seq >> (8 * i));
        if (gcm(false, cek, iv, body + at, n - 16, record) != 0)
            return -1;
        size_t end = n - 16;
        while (end > 0 && record[end - 1] == 0)
            end--;
        if (end == 0 || (record[end - 1] != 0x01 && record[end - 1] != 0x02))
            return -1;
        last = record[end - 1] == 0x02;
        if (!last && at + n >= len)
            return -1; /* the final record must say so */
        buf_add(plain, record, end - 1);
        at += n;
    }
    return last ? 0 : -1;
}

int webpush_ikm(const uint8_t ecdh_secret[32], const uint8_t auth[ECE_AUTH_LEN],
                const uint8_t ua_public[65], const uint8_t as_public[65], uint8_t ikm[32])
{
    static const char INFO[] = "WebPush: info"; /* + its NUL */
    uint8_t prk[32], info[sizeof INFO + 130];
    if (crypto_hmac_sha256(auth, ECE_AUTH_LEN, ecdh_secret, 32, prk) != 0)
        return -1;
    memcpy(info, INFO, sizeof INFO);
    memcpy(info + sizeof INFO, ua_public, 65);
    memcpy(info + sizeof INFO + 65, as_public, 65);
    return expand(prk, info, sizeof info, ikm, 32);
}

int webpush_encrypt(const uint8_t ua_public[65], const uint8_t auth[ECE_AUTH_LEN],
                    const void *plain, size_t len, EVP_PKEY *as_key, const uint8_t *salt,
                    struct buf *out)
{
    if (len > WEBPUSH_PLAINTEXT_MAX)
        return -1;
    int rc = -1;
    uint8_t as_public[65], secret[32], ikm[32], fresh_salt[ECE_SALT_LEN];
    if (as_key) { /* a given sender key: the test vectors */
        EVP_PKEY *ua = p256_from_public(ua_public);
        int ok = ua && p256_public(as_key, as_public) == 0 && p256_ecdh(as_key, ua, secret) == 0;
        EVP_PKEY_free(ua);
        if (!ok)
            goto out;
    } else if (p256_ephemeral_ecdh(ua_public, as_public, secret) != 0) {
        goto out;
    }
    if (webpush_ikm(secret, auth, ua_public, as_public, ikm) != 0)
        goto out;
    if (!salt) {
        crypto_random(fresh_salt, sizeof fresh_salt);
        salt = fresh_salt;
    }
    rc = ece_encrypt(ikm, sizeof ikm, salt, ECE_RS, as_public, 65, plain, len, out);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(ikm, sizeof ikm);
    return rc;
}

int webpush_decrypt(EVP_PKEY *ua_key, const uint8_t auth[ECE_AUTH_LEN], const uint8_t *body,
                    size_t len, struct buf *plain)
{
    if (len < WEBPUSH_HEADER_LEN || body[20] != 65)
        return -1;
    int rc = -1;
    uint8_t ua_public[65], secret[32], ikm[32];
    EVP_PKEY *as = p256_from_public(body + 21);
    if (as && p256_public(ua_key, ua_public) == 0 && p256_ecdh(ua_key, as, secret) == 0 &&
        webpush_ikm(secret, auth, ua_public, body + 21, ikm) == 0)
        rc = ece_decrypt(ikm, sizeof ikm, body, len, plain);
    EVP_PKEY_free(as);
    return rc;
}
