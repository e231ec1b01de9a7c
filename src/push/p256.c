/* p256.c - P-256 keys (see p256.h). */
#include "push/p256.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <openssl/rand.h>
#include <string.h>

EVP_PKEY *p256_generate(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static EVP_PKEY *from_params(OSSL_PARAM *params, int selection)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, selection, params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

EVP_PKEY *p256_from_public(const uint8_t pub[P256_PUBLIC_LEN])
{
    if (pub[0] != 0x04)
        return NULL;
    /* OSSL_PARAM takes non-const pointers: hand it copies */
    char group[] = "prime256v1";
    uint8_t point[P256_PUBLIC_LEN];
    memcpy(point, pub, sizeof point);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *key = from_params(params, EVP_PKEY_PUBLIC_KEY);
    if (!key)
        return NULL;
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = check && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/* pub = priv * G, for keys given by their scalar alone. */
static int public_of(const BIGNUM *priv, uint8_t out[P256_PUBLIC_LEN])
{
    int ok = 0;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    if (point && EC_POINT_mul(group, point, priv, NULL, NULL, NULL) == 1 &&
        EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, out, P256_PUBLIC_LEN,
                           NULL) == P256_PUBLIC_LEN)
        ok = 1;
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ok ? 0 : -1;
}

EVP_PKEY *p256_from_private(const uint8_t priv[P256_PRIVATE_LEN])
{
    EVP_PKEY *key = NULL;
    uint8_t pub[P256_PUBLIC_LEN];
    BIGNUM *d = BN_bin2bn(priv, P256_PRIVATE_LEN, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    if (!d || !bld || public_of(d, pub) != 0)
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params)
        key = from_params(params, EVP_PKEY_KEYPAIR);
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return key;
}

EVP_PKEY *p256_from_pem(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    char group[32];
    size_t n = 0;
    if (key && (!EVP_PKEY_is_a(key, "EC") ||
                !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                sizeof group, &n) ||
                (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    return key;
}

int p256_public(EVP_PKEY *key, uint8_t out[P256_PUBLIC_LEN])
{
    size_t n = 0;
    return EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out, P256_PUBLIC_LEN,
                                           &n) == 1 && n == P256_PUBLIC_LEN ? 0 : -1;
}

int p256_private(EVP_PKEY *key, uint8_t out[P256_PRIVATE_LEN])
{
    BIGNUM *d = NULL;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
        return -1;
    int ok = BN_bn2binpad(d, out, P256_PRIVATE_LEN) == P256_PRIVATE_LEN;
    BN_clear_free(d);
    return ok ? 0 : -1;
}

int p256_ecdh(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t out[32])
{
    size_t n = 32;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

static EC_GROUP *p256_group;

static void make_group(void)
{
    p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

int p256_ephemeral_ecdh(const uint8_t peer[P256_PUBLIC_LEN], uint8_t mine[P256_PUBLIC_LEN],
                        uint8_t secret[32])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_group);
    const EC_GROUP *g = p256_group;
    if (!g || peer[0] != 0x04)
        return -1;
    int ok = 0;
    BN_CTX *bn = BN_CTX_secure_new();
    EC_POINT *q = EC_POINT_new(g), *pub = EC_POINT_new(g), *shared = EC_POINT_new(g);
    BIGNUM *d = BN_secure_new(), *x = BN_secure_new();
    if (!bn || !q || !pub || !shared || !d || !x)
        goto out;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    /* P-256 has cofactor 1: a point on the curve (not infinity) is in the
     * group, so no multiplication by the order is needed (RFC 8291 7). */
    if (EC_POINT_oct2point(g, q, peer, P256_PUBLIC_LEN, bn) != 1 ||
        EC_POINT_is_on_curve(g, q, bn) != 1 || EC_POINT_is_at_infinity(g, q))
        goto out;
    do {
        if (BN_priv_rand_range_ex(d, EC_GROUP_get0_order(g), 0, bn) != 1)
            goto out;
    } while (BN_is_zero(d));
    if (EC_POINT_mul(g, pub, d, NULL, NULL, bn) != 1 ||
        EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, mine, P256_PUBLIC_LEN, bn) !=
            P256_PUBLIC_LEN ||
        EC_POINT_mul(g, shared, NULL, q, d, bn) != 1 ||
        EC_POINT_get_affine_coordinates(g, shared, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, secret, 32) != 32)
        goto out;
    ok = 1;
out:
    BN_clear_free(d);
    BN_clear_free(x); /* the shared secret's coordinate */
    EC_POINT_free(q);
    EC_POINT_free(pub);
    EC_POINT_clear_free(shared);
    BN_CTX_free(bn);
    return ok ? 0 : -1;
}
