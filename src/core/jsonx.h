/* jsonx.h - what Herald adds to jansson: a nesting limit checked before
 * parsing, the canonical form used to compare bodies, and strict parsing
 * with a position in the error. */
#ifndef HERALD_CORE_JSONX_H
#define HERALD_CORE_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Installs Herald's aborting allocator into jansson; call once at start. */
void jx_init(void);

/* Scans raw JSON text and reports whether arrays/objects nest deeper than
 * max_depth (strings are skipped properly). Cheap, and it keeps hostile
 * input away from the recursive parser. */
bool jx_depth_ok(const char *text, size_t len, int max_depth);

/* Parses text strictly (duplicate keys rejected, no NUL in strings).
 * On failure returns NULL and writes "line L column C: why" to err. */
json_t *jx_parse(const char *text, size_t len, char *err, size_t errlen);

/* Canonical text: compact, object keys sorted bytewise, integral reals
 * written as integers. Two bodies are "the same JSON value" exactly when
 * their canonical texts are equal. Caller frees. */
char *jx_canonical(json_t *v);
/* Appends the canonical text of v to out. When mark_key is given and v is
 * an object with that member, [*mark_start, *mark_end) is where the
 * member's value landed in out, so one pass gives both texts. */
struct buf;
void jx_canonical_write(json_t *v, struct buf *out, const char *mark_key,
                        size_t *mark_start, size_t *mark_end);

#endif
