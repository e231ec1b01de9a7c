/* template.c - {var} and [[optional]] substitution (see template.h). */
#include "engine/template.h"

#include <stdbool.h>
#include <string.h>

/* Renders tpl[0..n) into out; returns false when a variable was empty. */
static bool render_span(const char *tpl, size_t n, template_var_fn var, void *ctx,
                        struct buf *out)
{
    bool complete = true;
    size_t i = 0;
    while (i < n) {
        if (tpl[i] == '{') {
            const char *close = memchr(tpl + i + 1, '}', n - i - 1);
            if (close) {
                size_t len = (size_t)(close - (tpl + i + 1));
                const char *bar = memchr(tpl + i + 1, '|', len);
                size_t name_len = bar ? (size_t)(bar - (tpl + i + 1)) : len;
                const char *v = var(ctx, tpl + i + 1, name_len);
                if (v && *v)
                    buf_adds(out, v);
                else if (bar)
                    buf_add(out, bar + 1, len - name_len - 1);
                else
                    complete = false;
                i += len + 2;
                continue;
            }
        }
        buf_addc(out, tpl[i++]);
    }
    return complete;
}

void template_render(const char *tpl, template_var_fn var, void *ctx, struct buf *out)
{
    size_t n = strlen(tpl);
    size_t i = 0;
    while (i < n) {
        const char *open = strstr(tpl + i, "[[");
        const char *close = open ? strstr(open + 2, "]]") : NULL;
        if (!open || !close) {
            render_span(tpl + i, n - i, var, ctx, out);
            return;
        }
        render_span(tpl + i, (size_t)(open - (tpl + i)), var, ctx, out);
        size_t mark = out->len;
        if (!render_span(open + 2, (size_t)(close - open - 2), var, ctx, out)) {
            out->len = mark; /* drop the optional part */
            if (out->data)
                out->data[mark] = '\0';
        }
        i = (size_t)(close + 2 - tpl);
    }
}
