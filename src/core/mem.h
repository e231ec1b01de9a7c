/* mem.h - every allocation in Herald, and the reserve that lets it live
 * through running out of memory.
 *
 * At start Herald maps a reserve of memory it never touches
 * (memory_reserve_mib). Herald's own allocations (xmalloc, arenas, bufs),
 * jansson's, SQLite's, libevent's, libcurl's, OpenSSL's and ICU's come
 * here; libpq's, glibc's own and thread stacks do not.
 * When one fails, the reserve is given back to the system and the
 * allocation is tried again, so the work under way finishes: a request
 * being handled, a group commit being written. From then on memory is "low":
 * the API refuses new work with 503 out_of_memory (and Retry-After),
 * /readyz answers 503, sends wait; every refusal tries to map the reserve
 * again, and once that succeeds Herald takes work again, without a
 * restart.
 *
 * An allocation that still fails (the reserve was already out) returns
 * NULL from mem_* (SQLite turns that into SQLITE_NOMEM: a 503; libevent
 * closes the connection) and aborts in xmalloc, which Herald's own code
 * and jansson use: Herald commits what it acknowledges before it answers,
 * so an abort loses nothing acknowledged. If the reserve cannot be mapped
 * again for a minute (glibc may keep what was freed), /healthz fails, so
 * a supervisor restarts Herald.
 *
 * malloc only fails where the system refuses address space: a limit on it
 * (RLIMIT_AS, systemd's LimitAS=) or strict overcommit
 * (vm.overcommit_memory=2). Under Linux's default overcommit the kernel's
 * OOM killer acts instead, and no process gets NULL to handle. */
#ifndef HERALD_CORE_MEM_H
#define HERALD_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where memory and time come from: libc, mmap and the monotonic clock,
 * unless a test replaces them. */
struct mem_system {
    void *(*malloc)(size_t n);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t n);
    void *(*map)(size_t n);           /* the reserve; NULL when refused */
    void (*unmap)(void *p, size_t n);
    void (*trim)(void);               /* hands free heap memory back */
    uint64_t (*now_ns)(void);
};

/* Maps a reserve of `bytes` (0: none, and a failed allocation is final).
 * Call at start, before other threads allocate (and in tests between
 * cases): it is not safe while others allocate. */
void mem_init(size_t bytes);
/* Replaces the system (NULL: libc's and mmap); for tests. */
void mem_set_system(const struct mem_system *s);

/* malloc, calloc and realloc that spend the reserve before they fail.
 * NULL only when memory is out and the reserve already was. A failed
 * mem_realloc(p, n > 0) leaves p as it was; mem_realloc(p, 0) frees p, as
 * realloc does. Freed with free(). */
void *mem_malloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);

/* True while the reserve is out. Tries to map it again first, after
 * handing free heap memory back (at most 10 times a second), so whoever
 * asks sees memory come back. Logs each change. */
bool mem_low(void);
/* How long the reserve has been out, in ns (0: it is not). */
uint64_t mem_low_ns(void);
/* The same without trying: for metrics. */
bool mem_reserve_out(void);
/* How many times an allocation failure has spent the reserve. */
uint64_t mem_reserve_spent(void);

#endif
