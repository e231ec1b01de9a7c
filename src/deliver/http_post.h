/* http_post.h - private to src/deliver: one POST to an HTTP provider
 * (the SMS gateways), its answer collected and classified the same way
 * for all of them (policy.h); the provider reads what is its own. */
#ifndef HERALD_DELIVER_HTTP_POST_H
#define HERALD_DELIVER_HTTP_POST_H

#include "deliver/provider.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

struct curlev;

struct http_answer {
    CURLcode rc;            /* CURLE_OK: status is an HTTP answer */
    long status;
    const char *body;       /* NUL-terminated; at most 16 KiB kept */
    size_t len;
    const char *error;      /* rc's text when rc != CURLE_OK */
    int64_t retry_after_ms; /* Retry-After, 0 if none */
    const char *captured;   /* the value of http_post_req.capture, or NULL */
    long http_version;      /* CURL_HTTP_VERSION_* the answer came over */
    bool refused;           /* public_only: the host resolved to a private address */
};

struct http_post_req {
    const char *url, *content_type;
    const char *body;
    size_t len;
    const char *user, *password; /* Basic auth when user is set */
    const char *const *headers;  /* "Name: value" lines */
    size_t nheaders;
    long timeout_ms;
    bool http2;                  /* offer HTTP/2 (ALPN), reuse streams */
    const char *ca_file;         /* NULL or "": the system's CAs */
    const char *capture;         /* a response header to keep, e.g. "apns-id" */
    bool public_only;            /* refuse to connect to a non-public address */
};

/* read_answer sets the job's result from the answer (the outcome is
 * already classified there: it may refine it); provider_done follows,
 * unless read_answer returns true: the provider has taken the job back (to
 * send it again) and finishes it itself. */
typedef bool (*http_answer_fn)(struct send_job *job, const struct http_answer *a);

void http_post(struct curlev *cv, struct send_job *job, const struct http_post_req *rq,
               http_answer_fn read_answer);

/* The readers of what a provider answers, apart from any provider's state
 * (so the fuzz targets reach them; docs/fuzzing.md). */

/* Copies the value of header `name` from a header line, trimmed, into out
 * (cap bytes, cut to fit); out is left alone when the line is another. */
void http_post_keep_header(const char *line, size_t len, const char *name, char *out,
                           size_t cap);
/* An FCM error body (p_fcm.c): FcmError's errorCode, error.message, and
 * whether a field violation names message.token. Strings borrowed from j
 * (NULL when absent; j may be NULL). */
void fcm_error_read(json_t *j, const char **code, const char **message, bool *token_field);
/* An APNs answer body (p_apns.c): reason ("" when absent) and timestamp
 * (ms; 0 when absent). reason is borrowed from j (which may be NULL). */
void apns_error_read(json_t *j, const char **reason, int64_t *timestamp);

#endif
