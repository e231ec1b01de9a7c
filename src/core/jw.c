/* jw.c - streaming JSON writer (see jw.h). */
#include "core/jw.h"
#include "core/timefmt.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

void jw_init(struct jw *w, struct buf *out)
{
    w->out = out;
    w->depth = 0;
    w->need_comma[0] = false;
}

/* Called before every value: a comma when the container has one already. */
static void sep(struct jw *w)
{
    if (w->need_comma[w->depth])
        buf_addc(w->out, ',');
    w->need_comma[w->depth] = true;
}

static void open_container(struct jw *w, char c)
{
    sep(w);
    buf_addc(w->out, c);
    assert(w->depth + 1 < JW_MAX_DEPTH);
    w->need_comma[++w->depth] = false;
}

void jw_obj(struct jw *w) { open_container(w, '{'); }
void jw_arr(struct jw *w) { open_container(w, '['); }

void jw_obj_end(struct jw *w)
{
    buf_addc(w->out, '}');
    w->depth--;
}

void jw_arr_end(struct jw *w)
{
    buf_addc(w->out, ']');
    w->depth--;
}

void json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(b, n + 2);
    buf_addc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_add(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': buf_add(b, "\\\"", 2); break;
        case '\\': buf_add(b, "\\\\", 2); break;
        case '\n': buf_add(b, "\\n", 2); break;
        case '\r': buf_add(b, "\\r", 2); break;
        case '\t': buf_add(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_add(b, u, 6);
        }
        }
    }
    buf_add(b, s + start, n - start);
    buf_addc(b, '"');
}

void jw_key(struct jw *w, const char *key)
{
    sep(w);
    json_escape(w->out, key, strlen(key));
    buf_addc(w->out, ':');
    w->need_comma[w->depth] = false; /* the value follows without a comma */
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    sep(w);
    json_escape(w->out, s, n);
}

void jw_str(struct jw *w, const char *s)
{
    if (!s)
        jw_null(w);
    else
        jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    sep(w);
    buf_printf(w->out, "%" PRId64, v);
}

void jw_bool(struct jw *w, bool v)
{
    sep(w);
    buf_adds(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    sep(w);
    buf_adds(w->out, "null");
}

void jw_time(struct jw *w, int64_t ms)
{
    char t[RFC3339_LEN];
    rfc3339_format(ms, t);
    jw_str(w, t);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
    sep(w);
    buf_add(w->out, json, n);
}

void jw_kstr(struct jw *w, const char *key, const char *s) { jw_key(w, key); jw_str(w, s); }
void jw_kint(struct jw *w, const char *key, int64_t v) { jw_key(w, key); jw_int(w, v); }
void jw_kbool(struct jw *w, const char *key, bool v) { jw_key(w, key); jw_bool(w, v); }
void jw_ktime(struct jw *w, const char *key, int64_t ms) { jw_key(w, key); jw_time(w, ms); }
