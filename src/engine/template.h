/* template.h - the small template language of notification texts.
 *
 *   {name}        the variable's value ("" when it has none)
 *   {name|text}   the variable's value, or text when it has none: external
 *                 channels leave patient names out, so "{client|A client}"
 *   [[ ... ]]     an optional part: dropped when any variable in it has no
 *                 value, so "on {when}[[ ({service})]]" reads well either way
 *
 * No nesting of [[ ]]; "{" or "[[" without a closing mark is copied as is.
 * Values are inserted verbatim: the result is plain text, and each output
 * (JSON, HTML) escapes it itself. */
#ifndef HERALD_ENGINE_TEMPLATE_H
#define HERALD_ENGINE_TEMPLATE_H

#include <stddef.h>

#include "core/buf.h"

/* Returns the value of a variable, or NULL when it has none. */
typedef const char *(*template_var_fn)(void *ctx, const char *name, size_t len);

void template_render(const char *tpl, template_var_fn var, void *ctx, struct buf *out);

#endif
