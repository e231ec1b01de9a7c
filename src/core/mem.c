/* mem.c - allocation with a reserve spent on the first failure (mem.h). */
#include "core/mem.h"
#include "core/log.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static void *sys_map(size_t n)
{
    /* Private and writable, so it counts against the address-space limit
     * and the commit charge, which is what unmapping it gives back; never
     * touched, so it costs no physical memory. */
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void sys_unmap(void *p, size_t n)
{
    munmap(p, n);
}

static void sys_trim(void)
{
    malloc_trim(0);
}

static uint64_t sys_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const struct mem_system LIBC = {malloc, calloc, realloc, sys_map, sys_unmap, sys_trim,
                                       sys_now_ns};

static const struct mem_system *sys = &LIBC;
static size_t reserve_bytes;
static _Atomic(void *) reserve;
static atomic_uint_fast64_t spent;
static atomic_uint_fast64_t spent_at_ns, trimmed_at_ns;
static atomic_bool low_reported;

void mem_set_system(const struct mem_system *s)
{
    sys = s ? s : &LIBC;
}

void mem_init(size_t bytes)
{
    void *old = atomic_exchange(&reserve, NULL);
    if (old)
        sys->unmap(old, reserve_bytes);
    atomic_store(&low_reported, false);
    void *p = bytes ? sys->map(bytes) : NULL;
    if (bytes && !p) { /* running without one beats refusing all work */
        hlog_warn("memory: cannot map a reserve of %zu bytes; running without one", bytes);
        bytes = 0;
    }
    reserve_bytes = bytes;
    atomic_store(&reserve, p);
}

/* Gives the reserve back; true when this call did (and so the caller may
 * retry), or another thread just did. */
static bool spend_reserve(void)
{
    void *p = atomic_exchange(&reserve, NULL);
    if (!p)
        return reserve_bytes != 0; /* maybe freed a moment ago: one more try */
    sys->unmap(p, reserve_bytes);
    atomic_store(&spent_at_ns, sys->now_ns());
    atomic_fetch_add(&spent, 1);
    return true;
}

void *mem_malloc(size_t n)
{
    void *p = sys->malloc(n);
    if (!p && spend_reserve())
        p = sys->malloc(n);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    void *p = sys->calloc(n, size);
    if (!p && spend_reserve())
        p = sys->calloc(n, size);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    void *q = sys->realloc(p, n);
    if (!q && n && spend_reserve())
        q = sys->realloc(p, n);
    return q;
}

bool mem_reserve_out(void)
{
    return reserve_bytes && !atomic_load(&reserve);
}

uint64_t mem_reserve_spent(void)
{
    return atomic_load(&spent);
}

uint64_t mem_low_ns(void)
{
    if (!mem_reserve_out())
        return 0;
    uint64_t now = sys->now_ns(), at = atomic_load(&spent_at_ns);
    return now > at ? now - at : 1;
}

bool mem_low(void)
{
    if (!mem_reserve_out())
        return false;
    if (!atomic_exchange(&low_reported, true))
        hlog_warn("memory: an allocation failed and the reserve was spent; "
                  "new work is refused until memory returns");
    /* What the finished work freed may sit in the heap, where the reserve
     * cannot use it. Trimming walks the heap, so not on every request. */
    uint64_t now = sys->now_ns();
    if (now - atomic_load(&trimmed_at_ns) >= 100000000u) {
        atomic_store(&trimmed_at_ns, now);
        sys->trim();
    }
    void *p = sys->map(reserve_bytes);
    if (!p)
        return true;
    void *none = NULL;
    if (!atomic_compare_exchange_strong(&reserve, &none, p))
        sys->unmap(p, reserve_bytes); /* another thread took it back first */
    if (atomic_exchange(&low_reported, false))
        hlog_warn("memory: the reserve is back; taking new work again");
    return false;
}
