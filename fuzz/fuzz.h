/* fuzz.h - what the libFuzzer targets share: the entry points' prototypes
 * (the project's -Wmissing-prototypes wants them), a reader that cuts the
 * input into text fields, and a UTF-8 check for what ends up in JSON
 * answers. See docs/fuzzing.md. */
#ifndef HERALD_FUZZ_FUZZ_H
#define HERALD_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input not read yet. */
struct fuzz_in {
    const char *p;
    size_t n;
};

/* The next field: the bytes up to the next '\n' (dropped) or the end, as
 * a NUL-terminated copy in a (a NUL byte inside ends the C string early,
 * as it would in a header or a query). */
static inline char *fuzz_line(struct fuzz_in *in, struct arena *a)
{
    const char *nl = memchr(in->p, '\n', in->n);
    size_t len = nl ? (size_t)(nl - in->p) : in->n;
    char *s = arena_strndup(a, in->p, len);
    in->p += len + (nl ? 1 : 0);
    in->n -= len + (nl ? 1 : 0);
    return s;
}

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), as every JSON reader wants it. */
static inline bool fuzz_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned min, cp;
        if (c < 0x80)
            continue;
        if (c >= 0xC2 && c <= 0xDF)
            more = 1, min = 0x80, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            more = 2, min = 0x800, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            more = 3, min = 0x10000, cp = c & 0x07;
        else
            return false;
        for (; more; more--, p++) {
            if ((*p & 0xC0) != 0x80)
                return false; /* also stops at the terminating NUL */
            cp = cp << 6 | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

#endif
