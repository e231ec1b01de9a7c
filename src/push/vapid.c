/* vapid.c - the VAPID key and its tokens (see vapid.h). */
#include "push/vapid.h"
#include "core/arena.h"
#include "core/crypto.h"
#include "core/log.h"
#include "push/jws.h"
#include "push/p256.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define META_KEY "vapid_private_key"
#define TOKEN_LIFE_S (12 * 3600)
#define RESIGN_LEFT_S 3600
#define CACHE_SIZE 64 /* push service origins: a handful in practice */

EVP_PKEY *vapid_key_load(struct store *s)
{
    char stored[64];
    uint8_t raw[P256_PRIVATE_LEN + 4];
    if (store_meta_get(s, META_KEY, stored, sizeof stored) == STORE_OK) {
        if (b64url_decode(stored, strlen(stored), raw) != P256_PRIVATE_LEN) {
            hlog_error("vapid: the stored key is damaged; refusing to make another (every "
                       "subscription depends on it)");
            return NULL;
        }
        EVP_PKEY *key = p256_from_private(raw);
        OPENSSL_cleanse(raw, sizeof raw);
        return key;
    }
    EVP_PKEY *key = p256_generate();
    if (!key || p256_private(key, raw) != 0) {
        EVP_PKEY_free(key);
        return NULL;
    }
    b64url_encode(raw, P256_PRIVATE_LEN, stored);
    OPENSSL_cleanse(raw, sizeof raw);
    int rc = store_meta_set(s, META_KEY, stored);
    OPENSSL_cleanse(stored, sizeof stored);
    if (rc != STORE_OK) {
        EVP_PKEY_free(key);
        return NULL;
    }
    hlog_info("vapid: made the installation's push key");
    return key;
}

int vapid_public_b64(EVP_PKEY *key, char out[VAPID_PUBLIC_B64_LEN + 1])
{
    uint8_t pub[P256_PUBLIC_LEN];
    if (p256_public(key, pub) != 0)
        return -1;
    b64url_encode(pub, sizeof pub, out);
    return 0;
}

int url_origin(const char *url, char *out, size_t cap)
{
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end)
        return -1;
    const char *host = scheme_end + 3;
    size_t n = (size_t)(host - url) + strcspn(host, "/?#");
    if (n == (size_t)(host - url) || n >= cap)
        return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    for (char *p = out; p < out + (scheme_end - url); p++) /* scheme in lower case */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

struct cached {
    char origin[256];
    int64_t exp;
    char *header; /* "vapid t=..., k=..." */
};

struct vapid {
    EVP_PKEY *key;
    char *subject;
    char public_b64[VAPID_PUBLIC_B64_LEN + 1];
    struct cached cache[CACHE_SIZE];
    size_t next; /* the slot a new origin takes when all are used (round robin) */
    uint64_t signatures;
};

struct vapid *vapid_new(EVP_PKEY *key, const char *subject)
{
    struct vapid *v = xcalloc(1, sizeof *v);
    EVP_PKEY_up_ref(key);
    v->key = key;
    v->subject = xstrdup(subject);
    if (vapid_public_b64(key, v->public_b64) != 0) {
        vapid_free(v);
        return NULL;
    }
    return v;
}

void vapid_free(struct vapid *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < CACHE_SIZE; i++)
        free(v->cache[i].header);
    EVP_PKEY_free(v->key);
    free(v->subject);
    free(v);
}

uint64_t vapid_signatures(const struct vapid *v)
{
    return v->signatures;
}

const char *vapid_authorization(struct vapid *v, const char *endpoint, int64_t now_s)
{
    char origin[256];
    if (url_origin(endpoint, origin, sizeof origin) != 0)
        return NULL;
    struct cached *slot = NULL;
    for (size_t i = 0; i < CACHE_SIZE && !slot; i++)
        if (v->cache[i].header && strcmp(v->cache[i].origin, origin) == 0)
            slot = &v->cache[i];
    if (slot && slot->exp - now_s > RESIGN_LEFT_S)
        return slot->header;
    if (!slot) {
        for (size_t i = 0; i < CACHE_SIZE && !slot; i++)
            if (!v->cache[i].header)
                slot = &v->cache[i];
        if (!slot) {
            slot = &v->cache[v->next];
            v->next = (v->next + 1) % CACHE_SIZE;
        }
    }
    struct buf claims = BUF_INIT, header = BUF_INIT;
    int64_t exp = now_s + TOKEN_LIFE_S;
    /* origin and subject come from configuration and parsed URLs: no quotes */
    buf_printf(&claims, "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", origin, (long long)exp,
               v->subject);
    buf_adds(&header, "vapid t=");
    if (strchr(origin, '"') || strchr(origin, '\\') ||
        jws_sign(v->key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims.data, &header) != 0) {
        buf_free(&claims);
        buf_free(&header);
        return NULL;
    }
    buf_printf(&header, ", k=%s", v->public_b64);
    buf_free(&claims);
    free(slot->header);
    snprintf(slot->origin, sizeof slot->origin, "%s", origin);
    slot->exp = exp;
    slot->header = buf_steal(&header);
    v->signatures++;
    return slot->header;
}
