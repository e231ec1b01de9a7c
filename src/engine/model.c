/* model.c - names of the domain's enumerations (see model.h). */
#include "engine/model.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const CATEGORY[] = {"scheduling", "practitioner_scheduling", "billing",
                                       "clients_documents", "workspace", "communications"};
static const char *const CHANNEL[] = {"in_app", "email", "sms", "push"};
static const char *const ROLE[] = {"owner", "admin", "practitioner", "staff", "receptionist"};
static const char *const CANCEL[] = {"off", "email", "sms", "email_and_sms"};
static const char *const AUDIENCE[] = {"assigned", "all_staff"};

_Static_assert(sizeof CATEGORY / sizeof *CATEGORY == CAT_COUNT, "category names");
_Static_assert(sizeof CHANNEL / sizeof *CHANNEL == CH_COUNT, "channel names");
_Static_assert(sizeof ROLE / sizeof *ROLE == ROLE_COUNT, "role names");
_Static_assert(sizeof CANCEL / sizeof *CANCEL == CANCEL_COUNT, "cancel names");
_Static_assert(sizeof AUDIENCE / sizeof *AUDIENCE == AUDIENCE_COUNT, "audience names");
_Static_assert(CAT_COUNT * CH_COUNT <= 32, "a pref_matrix fits 32 bits");

static int find(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *category_name(enum category c) { return CATEGORY[c]; }
int category_parse(const char *s) { return find(CATEGORY, CAT_COUNT, s); }
const char *channel_name(enum channel c) { return CHANNEL[c]; }
int channel_parse(const char *s) { return find(CHANNEL, CH_COUNT, s); }
const char *role_name(enum role r) { return ROLE[r]; }
int role_parse(const char *s) { return find(ROLE, ROLE_COUNT, s); }
const char *cancel_channels_name(enum cancel_channels c) { return CANCEL[c]; }
int cancel_channels_parse(const char *s) { return find(CANCEL, CANCEL_COUNT, s); }
const char *audience_name(enum audience a) { return AUDIENCE[a]; }
int audience_parse(const char *s) { return find(AUDIENCE, AUDIENCE_COUNT, s); }

void notification_id_format(int64_t nid, char out[NOTIFICATION_ID_MAX])
{
    snprintf(out, NOTIFICATION_ID_MAX, "ntf_%" PRId64, nid);
}

int notification_id_parse(const char *s, int64_t *nid)
{
    if (!s || strncmp(s, "ntf_", 4) != 0 || !s[4] || strlen(s) > 4 + 18)
        return -1;
    int64_t v = 0;
    for (const char *p = s + 4; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return -1;
    *nid = v;
    return 0;
}
