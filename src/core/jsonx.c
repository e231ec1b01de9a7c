/* jsonx.c - jansson additions (see jsonx.h). */
#include "core/jsonx.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/jw.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jx_init(void)
{
    json_set_alloc_funcs(xmalloc, free);
}

bool jx_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++; /* skip the escaped character, whatever it is */
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return false;
            break;
        case ']':
        case '}':
            depth--;
            break;
        default:
            break;
        }
    }
    return true;
}

json_t *jx_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t e;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        snprintf(err, errlen, "line %d column %d: %s", e.line, e.column, e.text);
    return v;
}

struct member_ref {
    const char *key;
    size_t len;
    json_t *value;
};

static int by_key(const void *a, const void *b)
{
    const struct member_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Integral values within 2^53 print as integers (so 120.0 == 120); others
 * in the shortest form that reads back to the same double (19.99, not
 * 19.989999999999998). */
static void write_number(struct buf *out, double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        buf_printf(out, "%lld", (long long)d);
        return;
    }
    char tmp[32];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(tmp, sizeof tmp, "%.*g", precision, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    buf_adds(out, tmp);
}

static void write_value(json_t *v, struct buf *out, const char *mark_key,
                        size_t *mark_start, size_t *mark_end)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        struct member_ref stack[32];
        struct member_ref *m = n <= 32 ? stack : xmalloc(n * sizeof *m);
        size_t i = 0;
        const char *key;
        size_t klen;
        json_t *val;
        json_object_keylen_foreach(v, key, klen, val) {
            m[i++] = (struct member_ref){key, klen, val};
        }
        qsort(m, n, sizeof *m, by_key);
        buf_addc(out, '{');
        for (i = 0; i < n; i++) {
            if (i)
                buf_addc(out, ',');
            json_escape(out, m[i].key, m[i].len);
            buf_addc(out, ':');
            bool mark = mark_key && strlen(mark_key) == m[i].len &&
                        memcmp(mark_key, m[i].key, m[i].len) == 0;
            if (mark)
                *mark_start = out->len;
            write_value(m[i].value, out, NULL, NULL, NULL);
            if (mark)
                *mark_end = out->len;
        }
        buf_addc(out, '}');
        if (m != stack)
            free(m);
        break;
    }
    case JSON_ARRAY: {
        buf_addc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                buf_addc(out, ',');
            write_value(json_array_get(v, i), out, NULL, NULL, NULL);
        }
        buf_addc(out, ']');
        break;
    }
    case JSON_STRING:
        json_escape(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        write_number(out, json_real_value(v));
        break;
    case JSON_TRUE:
        buf_adds(out, "true");
        break;
    case JSON_FALSE:
        buf_adds(out, "false");
        break;
    case JSON_NULL:
        buf_adds(out, "null");
        break;
    }
}

void jx_canonical_write(json_t *v, struct buf *out, const char *mark_key,
                        size_t *mark_start, size_t *mark_end)
{
    write_value(v, out, mark_key, mark_start, mark_end);
}

char *jx_canonical(json_t *v)
{
    struct buf b = BUF_INIT;
    write_value(v, &b, NULL, NULL, NULL);
    return buf_steal(&b);
}
