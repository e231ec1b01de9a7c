/* policy.h - when to try a delivery again, and what a provider's answer
 * means. Pure functions, so the retry rules are unit-tested alone.
 *
 * Transient failures (a timeout, a lost connection, HTTP 408/425/429/5xx,
 * SMTP 4xx) are retried with exponential backoff and jitter; permanent
 * ones (other HTTP 4xx, SMTP 5xx) stop at once. */
#ifndef HERALD_DELIVER_POLICY_H
#define HERALD_DELIVER_POLICY_H

#include <stdint.h>

enum send_outcome {
    SEND_OK,
    SEND_TRANSIENT, /* try again later */
    SEND_PERMANENT, /* the provider refused this message for good */
    SEND_CONFIG,    /* our side is wrong (credentials, TLS trust): pause, keep it */
    SEND_GONE,      /* the push service says the device's credential is no more */
    SEND_RECORDED,  /* the provider stored the outcome itself (the sink) */
};

/* The delay before the next try after `attempts` failed ones (1 = the
 * first failed): base * 2^(attempts-1), capped at max, then "equal jitter"
 * (half fixed, half random from rnd) so retries of a burst spread out.
 * A provider's Retry-After (ms; 0: none) is a floor. */
int64_t deliver_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                           uint32_t rnd);

/* An HTTP provider's status code (401 and 403 are SEND_CONFIG). */
enum send_outcome deliver_http_outcome(long status);

/* An SMTP server's last reply code (0: none, e.g. no connection). */
enum send_outcome deliver_smtp_outcome(long reply);

/* A Retry-After value, delta-seconds or an HTTP date, as ms from now_ms;
 * 0 when absent or unreadable. Capped at a day. */
int64_t deliver_retry_after_ms(const char *value, int64_t now_ms);

#endif
