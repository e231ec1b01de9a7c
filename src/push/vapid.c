/* vapid.c - the VAPID key and its tokens (see vapid.h). */
#include "push/vapid.h"
#include "core/arena.h"
#include "core/crypto.h"
#include "core/log.h"
#include "push/jws.h"
#include "push/p256.h"
#include "core/jw.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define META_KEY "vapid_private_key"
#define TOKEN_LIFE_S (12 * 3600)
#define RESIGN_LEFT_S 3600
#define CACHE_SIZE 64 /* push service origins: a handful in practice */

static EVP_PKEY *stored_key(const char *stored)
{
    uint8_t raw[P256_PRIVATE_LEN + 4];
    /* 43 characters decode to the 32 bytes; checked before decoding */
    if (strlen(stored) != 43 || b64url_decode(stored, 43, raw) != P256_PRIVATE_LEN) {
        hlog_error("vapid: the stored key is damaged; refusing to make another (every "
                   "subscription depends on it)");
        return NULL;
    }
    EVP_PKEY *key = p256_from_private(raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return key;
}

EVP_PKEY *vapid_key_load(struct store *s)
{
    char stored[64];
    if (store_meta_get(s, META_KEY, stored, sizeof stored) == STORE_OK)
        return stored_key(stored);
    uint8_t raw[P256_PRIVATE_LEN];
    EVP_PKEY *key = p256_generate();
    if (!key || p256_private(key, raw) != 0) {
        EVP_PKEY_free(key);
        return NULL;
    }
    b64url_encode(raw, P256_PRIVATE_LEN, stored);
    OPENSSL_cleanse(raw, sizeof raw);
    int rc = store_meta_add(s, META_KEY, stored);
    OPENSSL_cleanse(stored, sizeof stored);
    if (rc == STORE_CONFLICT) {
        /* another process made it first (herald vapid beside serve): theirs */
        EVP_PKEY_free(key);
        if (store_meta_get(s, META_KEY, stored, sizeof stored) != STORE_OK)
            return NULL;
        key = stored_key(stored);
        OPENSSL_cleanse(stored, sizeof stored);
        return key;
    }
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
    size_t slen = (size_t)(scheme_end - url);
    const char *auth = scheme_end + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    if (at) { /* user info is not part of an origin */
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (alen == 0 || slen + 3 + alen >= cap)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < slen; i++)
        out[n++] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] - 'A' + 'a' : url[i]);
    memcpy(out + n, "://", 3);
    n += 3;
    for (size_t i = 0; i < alen; i++)
        out[n++] = (char)(auth[i] >= 'A' && auth[i] <= 'Z' ? auth[i] - 'A' + 'a' : auth[i]);
    out[n] = '\0';
    /* the scheme's default port is not written */
    if (n > 4 && strncmp(out, "https://", 8) == 0 && strcmp(out + n - 4, ":443") == 0)
        out[n - 4] = '\0';
    else if (n > 3 && strncmp(out, "http://", 7) == 0 && strcmp(out + n - 3, ":80") == 0)
        out[n - 3] = '\0';
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
    struct jw w;
    jw_init(&w, &claims);
    jw_obj(&w);
    jw_kstr(&w, "aud", origin);
    jw_kint(&w, "exp", exp);
    jw_kstr(&w, "sub", v->subject);
    jw_obj_end(&w);
    buf_adds(&header, "vapid t=");
    if (jws_sign(v->key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims.data, &header) != 0) {
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
