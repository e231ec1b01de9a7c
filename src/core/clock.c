/* clock.c - real and test clocks (see clock.h). */
#include "core/clock.h"

#include <stdatomic.h>
#include <time.h>

int64_t hclock_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t hclock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hclock_init_real(struct hclock *c)
{
    c->test = false;
    atomic_store(&c->test_now_ms, 0);
}

void hclock_init_test(struct hclock *c, int64_t start_ms)
{
    c->test = true;
    atomic_store(&c->test_now_ms, start_ms);
}

int64_t hclock_now_ms(struct hclock *c)
{
    return c->test ? atomic_load(&c->test_now_ms) : hclock_real_ms();
}

int64_t hclock_advance(struct hclock *c, int64_t delta_ms)
{
    return atomic_fetch_add(&c->test_now_ms, delta_ms) + delta_ms;
}
