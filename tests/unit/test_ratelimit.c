/* test_ratelimit.c - the rate limiter: bucket math (burst, refill, the
 * Retry-After), one bucket per credential, and a table that stays within
 * its size by dropping idle entries first. Times are made up: the limiter
 * takes them as parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/ratelimit.h"

#define S 1000000000ull /* one second in ns */
#define T0 (1000 * S)   /* a monotonic clock is rarely near zero */

static void test_burst_then_refused_with_retry_after(void **state)
{
    (void)state;
    struct ratelimit_rule rule = {.per_s = 0.01, .burst = 5};
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, &rule, T0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 0);
    /* one token every 100 s: the 6th waits 100 s */
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 100);
    /* refusals take nothing: still 100 s, and less as time passes */
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 100);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + 40 * S), 60);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + 99 * S + S / 2), 1);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + 100 * S), 0);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + 100 * S), 100);
}

static void test_retry_after_is_whole_seconds_at_least_one(void **state)
{
    (void)state;
    struct ratelimit_rule rule = {.per_s = 1000, .burst = 1};
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, &rule, T0);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 0);
    /* a token is 1 ms away: still "1", never "0" */
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 1);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + S / 1000), 0);

    struct ratelimit_rule slow = {.per_s = 1e-9, .burst = 1};
    ratelimit_bucket_init(&b, &slow, T0);
    assert_int_equal(ratelimit_bucket_take(&b, &slow, T0), 0);
    assert_int_equal(ratelimit_bucket_take(&b, &slow, T0), RATELIMIT_MAX_WAIT_S);
}

static void test_refill_is_capped_at_burst(void **state)
{
    (void)state;
    struct ratelimit_rule rule = {.per_s = 10, .burst = 3};
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, &rule, T0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 0);
    assert_false(ratelimit_bucket_idle(&b, &rule, T0));
    /* an hour's rest earns burst tokens, not 36,000 */
    uint64_t later = T0 + 3600 * S;
    assert_true(ratelimit_bucket_idle(&b, &rule, later));
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_bucket_take(&b, &rule, later), 0);
    assert_int_not_equal(ratelimit_bucket_take(&b, &rule, later), 0);
    /* 10 per second: one every 100 ms, fractions carried over */
    assert_int_equal(ratelimit_bucket_take(&b, &rule, later + S / 20), 1);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, later + S / 10), 0);
}

static void test_steady_rate_is_allowed(void **state)
{
    (void)state;
    struct ratelimit_rule rule = {.per_s = 50, .burst = 1};
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, &rule, T0);
    /* exactly the rate, for a minute: never refused */
    for (uint64_t i = 0; i < 3000; i++)
        assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + i * (S / 50)), 0);
}

static void test_time_going_backwards_earns_nothing(void **state)
{
    (void)state;
    struct ratelimit_rule rule = {.per_s = 1, .burst = 1};
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, &rule, T0);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0), 0);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 - 10 * S), 1);
    assert_int_equal(ratelimit_bucket_take(&b, &rule, T0 + S), 0);
}

static struct ratelimit *table(size_t capacity)
{
    struct ratelimit_config cfg = {
        .rules = {[RATELIMIT_API_KEY] = {.per_s = 1, .burst = 2},
                  [RATELIMIT_MEMBER] = {.per_s = 1, .burst = 3}},
        .capacity = capacity,
    };
    return ratelimit_new(&cfg);
}

static void test_each_credential_has_its_own_bucket(void **state)
{
    (void)state;
    struct ratelimit *rl = table(1024);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 7, T0), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 7, T0), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 7, T0), 1);
    /* another key, and a member with the same numbers, are untouched */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 8, T0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_take(rl, RATELIMIT_MEMBER, 0, 7, T0), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_MEMBER, 0, 7, T0), 1);
    /* the same member id in another workspace is another member */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_MEMBER, 1, 7, T0), 0);
    assert_int_equal(ratelimit_entries(rl), 4);
    ratelimit_free(rl);
}

static void test_a_rate_of_zero_turns_a_kind_off(void **state)
{
    (void)state;
    struct ratelimit_config cfg = {
        .rules = {[RATELIMIT_API_KEY] = {.per_s = 0, .burst = 1},
                  [RATELIMIT_MEMBER] = {.per_s = 1, .burst = 1}},
        .capacity = 64,
    };
    struct ratelimit *rl = ratelimit_new(&cfg);
    assert_false(ratelimit_enabled(rl, RATELIMIT_API_KEY));
    assert_true(ratelimit_enabled(rl, RATELIMIT_MEMBER));
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, T0), 0);
    assert_int_equal(ratelimit_entries(rl), 0); /* nothing kept for it either */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_MEMBER, 1, 1, T0), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_MEMBER, 1, 1, T0), 1);
    ratelimit_free(rl);
    /* no limiter at all: nothing is limited */
    assert_false(ratelimit_enabled(NULL, RATELIMIT_MEMBER));
    assert_int_equal(ratelimit_take(NULL, RATELIMIT_MEMBER, 1, 1, T0), 0);
}

static void test_table_never_grows_past_its_capacity(void **state)
{
    (void)state;
    struct ratelimit *rl = table(64);
    for (uint64_t id = 1; id <= 100000; id++)
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, T0 + id), 0);
    assert_true(ratelimit_entries(rl) <= 64);
    ratelimit_free(rl);
}

static void test_idle_entries_make_room_before_active_ones(void **state)
{
    (void)state;
    /* one set of RATELIMIT_WAYS entries: every credential shares it */
    struct ratelimit *rl = table(RATELIMIT_WAYS);
    /* credential 1 spends its bucket; the others take one token each */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, T0), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, T0), 0);
    for (uint64_t id = 2; id <= RATELIMIT_WAYS; id++)
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, T0), 0);
    assert_int_equal(ratelimit_entries(rl), RATELIMIT_WAYS);
    /* 1.5 s on, every other entry has refilled (1 token a second, one
     * missing), credential 1 has not (two missing): newcomers take the
     * idle ones' places, and 1 keeps its spent bucket */
    uint64_t t = T0 + 3 * S / 2;
    for (uint64_t id = 100; id < 100 + RATELIMIT_WAYS - 1; id++)
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, t), 0);
    assert_int_equal(ratelimit_evictions(rl), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, t), 0);  /* 1.5 tokens */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, t), 1);  /* 0.5 left */
    ratelimit_free(rl);
}

static void test_when_all_are_active_the_least_recent_goes(void **state)
{
    (void)state;
    struct ratelimit *rl = table(RATELIMIT_WAYS);
    /* each spends its whole bucket, credential 1 first */
    for (uint64_t id = 1; id <= RATELIMIT_WAYS; id++) {
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, T0 + id), 0);
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, T0 + id), 0);
        assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, id, T0 + id), 1);
    }
    /* a newcomer must push out an active entry: the least recently used */
    uint64_t t = T0 + 100;
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 999, t), 0);
    assert_int_equal(ratelimit_evictions(rl), 1);
    /* credential 2 is still known and still limited ... */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 2, t), 1);
    /* ... credential 1 was forgotten, and starts again with a full bucket
     * (pushing out 3, now the least recent) */
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 1, t), 0);
    assert_int_equal(ratelimit_take(rl, RATELIMIT_API_KEY, 0, 3, t), 0);
    assert_true(ratelimit_entries(rl) <= RATELIMIT_WAYS);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused_with_retry_after),
        cmocka_unit_test(test_retry_after_is_whole_seconds_at_least_one),
        cmocka_unit_test(test_refill_is_capped_at_burst),
        cmocka_unit_test(test_steady_rate_is_allowed),
        cmocka_unit_test(test_time_going_backwards_earns_nothing),
        cmocka_unit_test(test_each_credential_has_its_own_bucket),
        cmocka_unit_test(test_a_rate_of_zero_turns_a_kind_off),
        cmocka_unit_test(test_table_never_grows_past_its_capacity),
        cmocka_unit_test(test_idle_entries_make_room_before_active_ones),
        cmocka_unit_test(test_when_all_are_active_the_least_recent_goes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
