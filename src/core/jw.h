/* jw.h - a streaming JSON writer into a struct buf.
 *
 * Hot paths (the feed, event answers) write JSON straight into the response
 * buffer instead of building jansson trees, and can splice stored JSON text
 * (jw_raw) without parsing it again. Commas are tracked per nesting level. */
#ifndef HERALD_CORE_JW_H
#define HERALD_CORE_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define JW_MAX_DEPTH 32

struct jw {
    struct buf *out;
    int depth;
    bool need_comma[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, struct buf *out);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);          /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_time(struct jw *w, int64_t ms);            /* RFC 3339, UTC */
void jw_raw(struct jw *w, const char *json, size_t n); /* trusted JSON text */

/* key + value shorthands */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_ktime(struct jw *w, const char *key, int64_t ms);

/* Appends s as a JSON string literal (quotes included) to b. */
void json_escape(struct buf *b, const char *s, size_t n);

#endif
