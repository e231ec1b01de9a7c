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
static const char *const DEVICE_KIND[] = {"fcm", "apns", "webpush"};
static const char *const DELIVERY_STATUS[] = {"pending", "sending", "sent", "failed",
                                              "dead", "skipped", "held"};

_Static_assert(sizeof CATEGORY / sizeof *CATEGORY == CAT_COUNT, "category names");
_Static_assert(sizeof CHANNEL / sizeof *CHANNEL == CH_COUNT, "channel names");
_Static_assert(sizeof ROLE / sizeof *ROLE == ROLE_COUNT, "role names");
_Static_assert(sizeof CANCEL / sizeof *CANCEL == CANCEL_COUNT, "cancel names");
_Static_assert(sizeof AUDIENCE / sizeof *AUDIENCE == AUDIENCE_COUNT, "audience names");
_Static_assert(sizeof DEVICE_KIND / sizeof *DEVICE_KIND == DEV_KIND_COUNT, "device kinds");
_Static_assert(sizeof DELIVERY_STATUS / sizeof *DELIVERY_STATUS == DS_COUNT, "status names");
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
const char *device_kind_name(enum device_kind k) { return DEVICE_KIND[k]; }
int device_kind_parse(const char *s) { return find(DEVICE_KIND, DEV_KIND_COUNT, s); }
const char *delivery_status_name(enum delivery_status s) { return DELIVERY_STATUS[s]; }
int delivery_status_parse(const char *s) { return find(DELIVERY_STATUS, DS_COUNT, s); }

/* "<prefix>" + a positive integer, no sign, no leading junk. */
static int prefixed_id_parse(const char *s, const char *prefix, int64_t *out)
{
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n) != 0 || !s[n] || strlen(s) > n + 18)
        return -1;
    int64_t v = 0;
    for (const char *p = s + n; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

void notification_id_format(int64_t nid, char out[NOTIFICATION_ID_MAX])
{
    snprintf(out, NOTIFICATION_ID_MAX, "ntf_%" PRId64, nid);
}

int notification_id_parse(const char *s, int64_t *nid)
{
    return prefixed_id_parse(s, "ntf_", nid);
}

void delivery_id_format(int64_t id, char out[DELIVERY_ID_MAX])
{
    snprintf(out, DELIVERY_ID_MAX, "dlv_%" PRId64, id);
}

int delivery_id_parse(const char *s, int64_t *id)
{
    return prefixed_id_parse(s, "dlv_", id);
}
