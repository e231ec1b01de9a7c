/* arena.h - bump allocator for everything that lives as long as one request.
 *
 * A request (or a store job) allocates its strings and structs here and frees
 * them all at once when it ends, so no individual free is ever needed and
 * ownership is "the request owns it". Allocation spends the memory
 * reserve before it fails (core/mem.h), and aborts only after that. */
#ifndef HERALD_CORE_ARENA_H
#define HERALD_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
    size_t total; /* bytes obtained from malloc, for limits and metrics */
};

#define ARENA_INIT {0}

void *arena_alloc(struct arena *a, size_t n);     /* zeroed, 16-aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void arena_reset(struct arena *a); /* frees every chunk */

#define ARENA_NEW(a, type) ((type *)arena_alloc((a), sizeof(type)))
#define ARENA_NEW_N(a, type, n) ((type *)arena_alloc((a), sizeof(type) * (n)))

/* xmalloc and friends: mem_malloc (the reserve first), then abort. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
