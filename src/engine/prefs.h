/* prefs.h - who wants what: the category x channel matrix resolved from the
 * built-in defaults (PRODUCT.md), the workspace's overrides and the
 * member's own, plus the critical-type rule. Pure functions. */
#ifndef HERALD_ENGINE_PREFS_H
#define HERALD_ENGINE_PREFS_H

#include <stdbool.h>

#include "engine/catalogue.h"
#include "engine/model.h"

enum pref_source { PS_DEFAULT, PS_WORKSPACE, PS_MEMBER, PS_CRITICAL };

bool prefs_builtin(enum category cat, enum channel ch);
/* The effective value of one cell and which level decided it. */
bool prefs_cell(const struct pref_matrix *ws, const struct pref_matrix *member,
                enum category cat, enum channel ch, enum pref_source *source);
/* Channels (CH_BIT mask) switched on for a category. */
unsigned prefs_channels(const struct pref_matrix *ws, const struct pref_matrix *member,
                        enum category cat);
/* Channels a critical type forces on whatever the matrix says. */
unsigned prefs_forced(const struct event_type *t);
const char *pref_source_name(enum pref_source s);

/* Sets (value 0/1) or clears (value -1) an override cell. */
void pref_matrix_put(struct pref_matrix *m, enum category cat, enum channel ch, int value);

#endif
