/* test_mem.c - the memory reserve: a failed allocation spends it and is
 * tried again; memory is "low" until the reserve can be mapped again (and
 * the heap is trimmed before each try, at most ten times a second); how
 * long it has been low; a failure after that is returned, not retried
 * forever; with no reserve nothing changes. The system underneath is a fake whose malloc fails
 * while the reserve is mapped and the "address space" is full, as under an
 * address-space limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/mem.h"

/* The fake system: `room` bytes of address space; the reserve and each
 * allocation take from it (allocations are counted, not tracked). */
static struct {
    size_t room, used;
    int maps, unmaps, trims;
    uint64_t now;
    char reserve[64];
} fake;

static bool take(size_t n)
{
    if (fake.used + n > fake.room)
        return false;
    fake.used += n;
    return true;
}

static void *fake_malloc(size_t n)
{
    return take(n) ? malloc(n) : NULL;
}

static void *fake_calloc(size_t n, size_t size)
{
    return take(n * size) ? calloc(n, size) : NULL;
}

static void *fake_realloc(void *p, size_t n)
{
    return take(n) ? realloc(p, n) : NULL;
}

static void *fake_map(size_t n)
{
    if (!take(n))
        return NULL;
    fake.maps++;
    return fake.reserve;
}

static void fake_unmap(void *p, size_t n)
{
    assert_ptr_equal(p, fake.reserve);
    fake.used -= n;
    fake.unmaps++;
}

static void fake_trim(void)
{
    fake.trims++;
}

static uint64_t fake_now(void)
{
    return fake.now;
}

static const struct mem_system FAKE = {fake_malloc, fake_calloc, fake_realloc, fake_map,
                                       fake_unmap, fake_trim, fake_now};

#define MS 1000000ull

#define RESERVE 8192

static int setup(void **state)
{
    (void)state;
    fake.room = 100000;
    fake.used = 0;
    fake.maps = fake.unmaps = fake.trims = 0;
    fake.now += 3600000 * MS; /* each case starts long after the last one's trims */
    mem_set_system(&FAKE);
    mem_init(RESERVE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake.room = SIZE_MAX;
    mem_init(0);
    mem_set_system(NULL);
    return 0;
}

static void test_allocations_leave_the_reserve_alone(void **state)
{
    (void)state;
    void *p = mem_malloc(100);
    assert_non_null(p);
    free(p);
    assert_int_equal(fake.maps, 1);
    assert_int_equal(fake.unmaps, 0);
    assert_false(mem_low());
    assert_false(mem_reserve_out());
}

static void test_a_failure_spends_the_reserve_and_succeeds(void **state)
{
    (void)state;
    uint64_t spent = mem_reserve_spent();
    fake.used = fake.room - 50; /* the address space is full but for the reserve */
    void *p = mem_malloc(500);  /* only fits once the reserve is given back */
    assert_non_null(p);
    free(p);
    assert_int_equal(fake.unmaps, 1);
    assert_int_equal(mem_reserve_spent(), spent + 1);
    assert_true(mem_reserve_out());
    /* low while the reserve cannot come back: it does not fit */
    assert_true(mem_low());
    assert_true(mem_low());
    /* memory returns: the next question maps it again */
    fake.used = 0;
    assert_false(mem_low());
    assert_false(mem_reserve_out());
    assert_int_equal(fake.maps, 2);
}

static void test_how_long_it_has_been_low_and_trims_at_most_ten_a_second(void **state)
{
    (void)state;
    assert_int_equal(mem_low_ns(), 0);
    fake.used = fake.room - 50;
    void *p = mem_malloc(500);
    free(p);
    uint64_t t0 = fake.now;
    fake.now += 5 * MS;
    assert_int_equal(mem_low_ns(), 5 * MS);
    /* each question trims the heap first, but not more than every 100 ms */
    assert_true(mem_low());
    assert_int_equal(fake.trims, 1);
    fake.now += 99 * MS;
    assert_true(mem_low());
    assert_int_equal(fake.trims, 1);
    fake.now += 1 * MS;
    assert_true(mem_low());
    assert_int_equal(fake.trims, 2);
    fake.now = t0 + 61000 * MS;
    assert_int_equal(mem_low_ns(), 61000 * MS);
    fake.used = 0;
    assert_false(mem_low());
    assert_int_equal(mem_low_ns(), 0);
}

static void test_calloc_and_realloc_spend_it_too(void **state)
{
    (void)state;
    char *p = mem_malloc(10);
    p[0] = 'h';
    fake.used = fake.room - 50;
    char *q = mem_realloc(p, 600);
    assert_non_null(q);
    assert_int_equal(q[0], 'h');
    assert_true(mem_reserve_out());
    fake.used = 0;
    assert_false(mem_low());
    fake.used = fake.room - 50;
    void *z = mem_calloc(30, 20);
    assert_non_null(z);
    assert_true(mem_reserve_out());
    free(q);
    free(z);
}

static void test_once_spent_a_failure_is_returned(void **state)
{
    (void)state;
    fake.used = fake.room - 50;
    void *p = mem_malloc(500);
    assert_non_null(p);
    /* the reserve is out and memory is still short: NULL, nothing hangs */
    fake.used = fake.room - 10;
    assert_null(mem_malloc(500));
    assert_null(mem_calloc(50, 10));
    /* a failed realloc leaves the block as it was */
    assert_null(mem_realloc(p, 5000));
    free(p);
    assert_int_equal(fake.unmaps, 1);
    assert_true(mem_low());
}

static void test_xmalloc_and_arenas_go_through_it(void **state)
{
    (void)state;
    fake.used = fake.room - 50;
    struct arena a = ARENA_INIT;
    char *s = arena_strdup(&a, "still here"); /* a 4 KiB chunk: only with the reserve */
    assert_string_equal(s, "still here");
    assert_true(mem_reserve_out());
    arena_reset(&a);
}

static void test_without_a_reserve_nothing_is_low(void **state)
{
    (void)state;
    mem_init(0);
    assert_int_equal(fake.unmaps, 1); /* the old one was given back */
    fake.used = fake.room - 10;
    assert_null(mem_malloc(500));
    assert_false(mem_low());
    assert_false(mem_reserve_out());
}

static void test_a_reserve_that_cannot_be_mapped_at_start(void **state)
{
    (void)state;
    mem_init(0);
    fake.used = fake.room - 10;
    mem_init(RESERVE); /* refused: it warns, and runs without one */
    assert_false(mem_reserve_out());
    assert_false(mem_low());
    assert_null(mem_malloc(500));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allocations_leave_the_reserve_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failure_spends_the_reserve_and_succeeds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_how_long_it_has_been_low_and_trims_at_most_ten_a_second,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_calloc_and_realloc_spend_it_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_once_spent_a_failure_is_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xmalloc_and_arenas_go_through_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_reserve_nothing_is_low, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_reserve_that_cannot_be_mapped_at_start, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
