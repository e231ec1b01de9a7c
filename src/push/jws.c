/* jws.c - ES256 / RS256 compact JWS (see jws.h). */
#include "push/jws.h"
#include "core/crypto.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <stdlib.h>
#include <string.h>

static void add_b64url(struct buf *out, const void *data, size_t n)
{
    size_t len = b64url_encoded_len(n);
    buf_reserve(out, len + 1);
    b64url_encode(data, n, out->data + out->len);
    out->len += len;
}

/* DER ECDSA-Sig-Value -> R || S, each left-padded to 32 bytes. */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (!sig)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

static int raw_to_der(const uint8_t raw[64], uint8_t *der, size_t cap, size_t *len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    unsigned char *p = der;
    int ok = n > 0 && (size_t)n <= cap && i2d_ECDSA_SIG(sig, &p) == n;
    ECDSA_SIG_free(sig);
    *len = (size_t)n;
    return ok ? 0 : -1;
}

int jws_sign(EVP_PKEY *key, const char *header, const char *claims, struct buf *out)
{
    size_t start = out->len;
    add_b64url(out, header, strlen(header));
    buf_addc(out, '.');
    add_b64url(out, claims, strlen(claims));
    uint8_t sig[512];
    size_t n = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
             EVP_DigestSign(md, sig, &n, (const uint8_t *)out->data + start,
                            out->len - start) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    buf_addc(out, '.');
    if (EVP_PKEY_is_a(key, "EC")) {
        uint8_t raw[64];
        if (der_to_raw(sig, n, raw) != 0)
            return -1;
        add_b64url(out, raw, sizeof raw);
    } else {
        add_b64url(out, sig, n);
    }
    return 0;
}

bool jws_verify(EVP_PKEY *key, const char *token)
{
    const char *dot2 = strrchr(token, '.');
    if (!dot2 || dot2 == token || !strchr(token, '.') || strchr(token, '.') == dot2)
        return false;
    size_t sig_len = strlen(dot2 + 1);
    uint8_t *sig = malloc(sig_len * 3 / 4 + 4);
    long n = sig ? b64url_decode(dot2 + 1, sig_len, sig) : -1;
    uint8_t der[80];
    const uint8_t *use = sig;
    size_t use_len = n > 0 ? (size_t)n : 0;
    bool ok = n > 0;
    if (ok && EVP_PKEY_is_a(key, "EC")) {
        ok = n == 64 && raw_to_der(sig, der, sizeof der, &use_len) == 0;
        use = der;
    }
    EVP_MD_CTX *md = ok ? EVP_MD_CTX_new() : NULL;
    ok = ok && md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
         EVP_DigestVerify(md, use, use_len, (const uint8_t *)token,
                          (size_t)(dot2 - token)) == 1;
    EVP_MD_CTX_free(md);
    free(sig);
    return ok;
}
