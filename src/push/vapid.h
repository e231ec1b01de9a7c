/* vapid.h - the installation's VAPID identity (RFC 8292): one P-256 key
 * pair, made at first start and kept in the store, whose public key the
 * browsers subscribe with; and the tokens that prove it to push services,
 * one per push service origin, kept until they near their expiry.
 *
 * The key must not change: every subscription is bound to it. */
#ifndef HERALD_PUSH_VAPID_H
#define HERALD_PUSH_VAPID_H

#include <openssl/evp.h>
#include <stdint.h>

#include "core/buf.h"

struct store;
struct vapid;

#define VAPID_PUBLIC_B64_LEN 87 /* 65 bytes, base64url without padding */

/* The stored key, or a new one stored now. NULL (logged) on failure. The
 * caller frees it with EVP_PKEY_free. */
EVP_PKEY *vapid_key_load(struct store *s);
/* The public key as browsers want it (applicationServerKey). */
int vapid_public_b64(EVP_PKEY *key, char out[VAPID_PUBLIC_B64_LEN + 1]);

/* A signer owns a reference to key. subject: "mailto:..." or "https://...". */
struct vapid *vapid_new(EVP_PKEY *key, const char *subject);
void vapid_free(struct vapid *v);
/* The Authorization header value for a push to endpoint at now_s:
 * "vapid t=<jwt>, k=<public key>". The token is signed for the endpoint's
 * origin with exp = now + 12 h and reused until less than 1 h is left.
 * NULL when the endpoint has no origin. The string lives in the signer. */
const char *vapid_authorization(struct vapid *v, const char *endpoint, int64_t now_s);
/* Tokens signed so far (for tests and metrics). */
uint64_t vapid_signatures(const struct vapid *v);

/* The origin ("https://host[:port]") of a URL, into out; -1 if none. */
int url_origin(const char *url, char *out, size_t cap);

#endif
