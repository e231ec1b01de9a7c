/* prefs.c - preference resolution (see prefs.h). */
#include "engine/prefs.h"

/* PRODUCT.md "Categories and preferences", in CH_* order:
 * in_app, email, sms, push. */
static const bool BUILTIN[CAT_COUNT][CH_COUNT] = {
    [CAT_SCHEDULING] = {true, false, false, true},
    [CAT_PRACTITIONER_SCHEDULING] = {false, false, false, false},
    [CAT_BILLING] = {true, true, false, false},
    [CAT_CLIENTS_DOCUMENTS] = {true, true, false, false},
    [CAT_WORKSPACE] = {true, true, false, false},
    [CAT_COMMUNICATIONS] = {true, true, false, true},
};

bool prefs_builtin(enum category cat, enum channel ch)
{
    return BUILTIN[cat][ch];
}

bool prefs_cell(const struct pref_matrix *ws, const struct pref_matrix *member,
                enum category cat, enum channel ch, enum pref_source *source)
{
    uint32_t bit = PREF_BIT(cat, ch);
    enum pref_source s = PS_DEFAULT;
    bool on = BUILTIN[cat][ch];
    if (member && (member->set & bit)) {
        s = PS_MEMBER;
        on = member->on & bit;
    } else if (ws && (ws->set & bit)) {
        s = PS_WORKSPACE;
        on = ws->on & bit;
    }
    if (source)
        *source = s;
    return on;
}

unsigned prefs_channels(const struct pref_matrix *ws, const struct pref_matrix *member,
                        enum category cat)
{
    unsigned mask = 0;
    for (int ch = 0; ch < CH_COUNT; ch++)
        if (prefs_cell(ws, member, cat, (enum channel)ch, NULL))
            mask |= CH_BIT(ch);
    return mask;
}

unsigned prefs_forced(const struct event_type *t)
{
    return (t->flags & ET_CRITICAL) ? CH_BIT(CH_IN_APP) | CH_BIT(CH_EMAIL) : 0;
}

const char *pref_source_name(enum pref_source s)
{
    static const char *const names[] = {"default", "workspace", "member", "critical"};
    return names[s];
}

void pref_matrix_put(struct pref_matrix *m, enum category cat, enum channel ch, int value)
{
    uint32_t bit = PREF_BIT(cat, ch);
    if (value < 0) {
        m->set &= ~bit;
        m->on &= ~bit;
    } else {
        m->set |= bit;
        if (value)
            m->on |= bit;
        else
            m->on &= ~bit;
    }
}
