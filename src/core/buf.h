/* buf.h - a growable byte buffer, always NUL-terminated, owned by its user
 * (buf_free releases it). Used to build response bodies and SQL text. */
#ifndef HERALD_CORE_BUF_H
#define HERALD_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len, cap;
};

#define BUF_INIT {0}

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_clear(struct buf *b);         /* keeps the memory */
char *buf_steal(struct buf *b);        /* caller frees; b is left empty */
void buf_free(struct buf *b);

#endif
