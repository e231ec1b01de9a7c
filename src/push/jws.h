/* jws.h - compact JWS tokens signed with ES256 (VAPID, APNs) or RS256
 * (FCM's OAuth assertion): base64url(header) "." base64url(claims) "."
 * base64url(signature). ES256 signatures are the raw 64-byte R || S that
 * JWS wants, not OpenSSL's DER. */
#ifndef HERALD_PUSH_JWS_H
#define HERALD_PUSH_JWS_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "core/buf.h"

/* Appends the token for the JSON texts header and claims, signed with key
 * (EC P-256 gives ES256, RSA gives RS256). 0 or -1. */
int jws_sign(EVP_PKEY *key, const char *header, const char *claims, struct buf *out);
/* Whether token's signature verifies with key (EC: ES256, RSA: RS256). */
bool jws_verify(EVP_PKEY *key, const char *token);

#endif
