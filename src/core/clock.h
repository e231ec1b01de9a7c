/* clock.h - the one source of "now" for everything in Herald.
 *
 * Real mode reads CLOCK_REALTIME. Test mode (`herald serve --test-clock`)
 * starts at the real time and then stands still; only hclock_advance moves
 * it, so tests drive token expiry, windows and retries without sleeping.
 * Safe to read from any thread. */
#ifndef HERALD_CORE_CLOCK_H
#define HERALD_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct hclock {
    bool test;
    _Atomic int64_t test_now_ms;
};

void hclock_init_real(struct hclock *c);
void hclock_init_test(struct hclock *c, int64_t start_ms);
int64_t hclock_now_ms(struct hclock *c);
/* Test mode only; returns the new time. */
int64_t hclock_advance(struct hclock *c, int64_t delta_ms);

/* Monotonic nanoseconds, for measuring latencies (not affected by tests). */
uint64_t hclock_mono_ns(void);
int64_t hclock_real_ms(void);

#endif
