/* ratelimit.c - token buckets per credential in a set-associative table
 * (see ratelimit.h for the rules and why the table evicts what it does). */
#include "api/ratelimit.h"
#include "core/arena.h"

#include <math.h>
#include <stdlib.h>

/* ---- one bucket ---- */

/* Brings the bucket up to now_ns: the tokens earned since, up to burst. */
static void refill(struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                   uint64_t now_ns)
{
    if (now_ns > b->at_ns) {
        b->tokens += (double)(now_ns - b->at_ns) / 1e9 * rule->per_s;
        if (b->tokens > rule->burst)
            b->tokens = rule->burst;
    }
    b->at_ns = now_ns > b->at_ns ? now_ns : b->at_ns;
}

void ratelimit_bucket_init(struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                           uint64_t now_ns)
{
    b->tokens = rule->burst;
    b->at_ns = now_ns;
}

int ratelimit_bucket_take(struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                          uint64_t now_ns)
{
    refill(b, rule, now_ns);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = ceil((1.0 - b->tokens) / rule->per_s);
    if (!(wait >= 1)) /* also a rate of 0 would give NaN or infinity */
        return 1;
    return wait > RATELIMIT_MAX_WAIT_S ? RATELIMIT_MAX_WAIT_S : (int)wait;
}

bool ratelimit_bucket_idle(const struct ratelimit_bucket *b, const struct ratelimit_rule *rule,
                           uint64_t now_ns)
{
    double tokens = b->tokens;
    if (now_ns > b->at_ns)
        tokens += (double)(now_ns - b->at_ns) / 1e9 * rule->per_s;
    return tokens >= rule->burst;
}

/* ---- the table ---- */

struct entry {
    uint64_t scope, id;
    uint32_t kind; /* enum ratelimit_kind + 1; 0: the slot is free */
    struct ratelimit_bucket bucket;
};

struct ratelimit {
    struct ratelimit_rule rules[RATELIMIT_KINDS];
    struct entry *slots; /* nsets * RATELIMIT_WAYS */
    size_t nsets;
    size_t used;
    uint64_t evictions;
};

struct ratelimit *ratelimit_new(const struct ratelimit_config *cfg)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    for (int k = 0; k < RATELIMIT_KINDS; k++)
        rl->rules[k] = cfg->rules[k];
    rl->nsets = (cfg->capacity + RATELIMIT_WAYS - 1) / RATELIMIT_WAYS;
    if (rl->nsets == 0)
        rl->nsets = 1;
    rl->slots = xcalloc(rl->nsets * RATELIMIT_WAYS, sizeof *rl->slots);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    free(rl->slots);
    free(rl);
}

bool ratelimit_enabled(const struct ratelimit *rl, enum ratelimit_kind kind)
{
    return rl && kind < RATELIMIT_KINDS && rl->rules[kind].per_s > 0;
}

size_t ratelimit_entries(const struct ratelimit *rl)
{
    return rl->used;
}

uint64_t ratelimit_evictions(const struct ratelimit *rl)
{
    return rl->evictions;
}

/* splitmix64's finaliser: store keys and key ids are sequential or
 * random, never chosen by a client, so a fast mix spreads them evenly. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* The credential's entry, made (in the set's free, idle or least recently
 * used slot) when it has none. */
static struct entry *find_or_make(struct ratelimit *rl, uint32_t kind, uint64_t scope,
                                  uint64_t id, uint64_t now_ns)
{
    uint64_t h = mix(mix(scope ^ ((uint64_t)kind << 56)) ^ id);
    struct entry *set = &rl->slots[(h % rl->nsets) * RATELIMIT_WAYS];
    struct entry *free_slot = NULL, *idle = NULL, *oldest = NULL;
    for (int w = 0; w < RATELIMIT_WAYS; w++) {
        struct entry *e = &set[w];
        if (!e->kind) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (e->kind == kind && e->scope == scope && e->id == id)
            return e;
        if (!idle && ratelimit_bucket_idle(&e->bucket, &rl->rules[e->kind - 1], now_ns))
            idle = e;
        if (!oldest || e->bucket.at_ns < oldest->bucket.at_ns)
            oldest = e;
    }
    struct entry *e = free_slot ? free_slot : idle ? idle : oldest;
    if (free_slot)
        rl->used++;
    else if (!idle)
        rl->evictions++;
    e->kind = kind;
    e->scope = scope;
    e->id = id;
    ratelimit_bucket_init(&e->bucket, &rl->rules[kind - 1], now_ns);
    return e;
}

int ratelimit_take(struct ratelimit *rl, enum ratelimit_kind kind, uint64_t scope, uint64_t id,
                   uint64_t now_ns)
{
    if (!ratelimit_enabled(rl, kind))
        return 0;
    struct entry *e = find_or_make(rl, (uint32_t)kind + 1, scope, id, now_ns);
    return ratelimit_bucket_take(&e->bucket, &rl->rules[kind], now_ns);
}
