/* ratelimit.h - request rate limits per credential: a token bucket for each
 * workspace API key and each member, kept in a table of fixed size.
 *
 * A bucket holds up to `burst` tokens and gains `per_s` tokens a second;
 * each request takes one, and a request that finds less than one is refused
 * with the whole seconds until one is there (the Retry-After). A credential
 * the table has not seen starts with a full bucket.
 *
 * The table never grows: it holds `capacity` entries in sets of
 * RATELIMIT_WAYS, a credential's set chosen by hashing its name. A new
 * credential whose set is full takes the place of an idle entry (its bucket
 * has refilled: it carries no information, so dropping it changes no
 * answer), else of the entry used longest ago. That one then starts again
 * with a full bucket: when the table is too small the limits err towards
 * letting requests through, never towards refusing them. Work per request
 * is bounded by the set's size, whatever the table holds.
 *
 * Times are monotonic nanoseconds passed in by the caller, so the bucket
 * math is pure and tests choose the time. Not thread-safe: the router uses
 * it on the loop thread only. */
#ifndef HERALD_API_RATELIMIT_H
#define HERALD_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a bucket belongs to; each kind has its own rule. */
enum ratelimit_kind {
    RATELIMIT_API_KEY, /* a workspace API key, named by its key id */
    RATELIMIT_MEMBER,  /* a member (all their tokens), named by workspace and member */
    RATELIMIT_KINDS
};

struct ratelimit_rule {
    double per_s; /* tokens gained per second; 0: this kind is not limited */
    double burst; /* the bucket's size, at least 1: requests allowed at once after a rest */
};

struct ratelimit_bucket {
    double tokens;
    uint64_t at_ns; /* when tokens was last brought up to date */
};

/* The longest Retry-After answered. Under a rule slower than one request a
 * day the real wait is longer, and a client that comes back after a day
 * is told again: such a rule is a block, which is what it asks for. */
#define RATELIMIT_MAX_WAIT_S 86400

/* ---- one bucket (pure) ---- */

/* A full bucket as of now_ns. */
void ratelimit_bucket_init(struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                           uint64_t now_ns);
/* Counts one request at now_ns: 0 when it may go ahead (a token is taken),
 * else the whole seconds until a token is there, at least 1 (nothing is
 * taken). */
int ratelimit_bucket_take(struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                          uint64_t now_ns);
/* Whether the bucket has refilled by now_ns: forgetting it changes nothing. */
bool ratelimit_bucket_idle(const struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                           uint64_t now_ns);

/* ---- the table ---- */

#define RATELIMIT_WAYS 8

struct ratelimit_config {
    struct ratelimit_rule rules[RATELIMIT_KINDS];
    size_t capacity; /* entries at most; rounded up to a multiple of RATELIMIT_WAYS */
};

struct ratelimit;

struct ratelimit *ratelimit_new(const struct ratelimit_config *cfg);
void ratelimit_free(struct ratelimit *rl);
/* Whether requests of this kind are limited at all. */
bool ratelimit_enabled(const struct ratelimit *rl, enum ratelimit_kind kind);
/* Counts one request of the credential (kind, scope, id) at now_ns: for an
 * API key scope 0 and id its key id's value, for a member the workspace's
 * and the member's store keys. 0 when it may go ahead, else the
 * Retry-After in whole seconds (at least 1). */
int ratelimit_take(struct ratelimit *rl, enum ratelimit_kind kind, uint64_t scope, uint64_t id,
                   uint64_t now_ns);
/* Entries in use, and entries that took the place of an active one (the
 * table was too small for the credentials in use). */
size_t ratelimit_entries(const struct ratelimit *rl);
uint64_t ratelimit_evictions(const struct ratelimit *rl);

#endif
