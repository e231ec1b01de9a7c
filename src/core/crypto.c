/* crypto.c - OpenSSL-backed primitives and encodings (see crypto.h).
 *
 * base64url is written out here because OpenSSL only offers padded standard
 * base64 (EVP_EncodeBlock) whose decoder skips whitespace and accepts
 * non-canonical input; token verification needs the strict url-safe form. */
#include "core/crypto.h"
#include "core/arena.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenSSL 3 looks an algorithm up in its provider tables at every implicit
 * use (EVP_sha256() in EVP_Digest): as costly as hashing a small request.
 * Fetch each algorithm once; the fetched objects are read-only and safe to
 * share between threads. */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!sha256_md || !hmac_mac) {
        fprintf(stderr, "herald: OpenSSL has no SHA256 or HMAC\n");
        abort();
    }
}

static void algorithms(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_algorithms);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    algorithms();
    unsigned int n = SHA256_LEN;
    if (!EVP_Digest(data, len, out, &n, sha256_md, NULL))
        abort(); /* only fails on allocation failure */
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t len, uint8_t out[SHA256_LEN])
{
    algorithms();
    /* A zero-length key still wants a non-NULL pointer. */
    static const uint8_t empty = 0;
    static char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
    size_t n = 0;
    int ok = ctx && EVP_MAC_init(ctx, key_len ? key : &empty, key_len, params) &&
             EVP_MAC_update(ctx, data, len) && EVP_MAC_final(ctx, out, &n, SHA256_LEN) &&
             n == SHA256_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

void crypto_random(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        fprintf(stderr, "herald: the CSPRNG failed\n");
        abort();
    }
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void b64url_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
        out[o++] = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
    }
    out[o] = '\0';
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long b64url_decode(const char *in, size_t len, uint8_t *out)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: leftover bits must be zero */
        return -1;
    return (long)o;
}

void hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *crypto_token(const char *prefix, size_t nbytes)
{
    uint8_t raw[64];
    if (nbytes > sizeof raw)
        nbytes = sizeof raw;
    crypto_random(raw, nbytes);
    size_t plen = strlen(prefix);
    char *s = xmalloc(plen + b64url_encoded_len(nbytes) + 1);
    memcpy(s, prefix, plen);
    b64url_encode(raw, nbytes, s + plen);
    OPENSSL_cleanse(raw, sizeof raw);
    return s;
}
