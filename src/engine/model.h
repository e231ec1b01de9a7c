/* model.h - the domain's vocabulary: categories, channels, roles, the
 * preference matrix, and the workspace and member records every module
 * passes around. Strings in these records belong to whoever loaded them
 * (usually a request's or a job's arena). */
#ifndef HERALD_ENGINE_MODEL_H
#define HERALD_ENGINE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

enum category {
    CAT_SCHEDULING,
    CAT_PRACTITIONER_SCHEDULING,
    CAT_BILLING,
    CAT_CLIENTS_DOCUMENTS,
    CAT_WORKSPACE,
    CAT_COMMUNICATIONS,
    CAT_COUNT
};

enum channel { CH_IN_APP, CH_EMAIL, CH_SMS, CH_PUSH, CH_COUNT };
#define CH_BIT(ch) (1u << (ch))
#define CH_ALL ((1u << CH_COUNT) - 1)

enum role { ROLE_OWNER, ROLE_ADMIN, ROLE_PRACTITIONER, ROLE_STAFF, ROLE_RECEPTIONIST,
            ROLE_COUNT };

enum cancel_channels { CANCEL_OFF, CANCEL_EMAIL, CANCEL_SMS, CANCEL_EMAIL_AND_SMS,
                       CANCEL_COUNT };

enum audience { AUDIENCE_ASSIGNED, AUDIENCE_ALL_STAFF, AUDIENCE_COUNT };

/* How a device receives push: its service. The values are stored. */
enum device_kind { DEV_FCM, DEV_APNS, DEV_WEBPUSH, DEV_KIND_COUNT };

/* A delivery's life: pending -> sending -> sent, or failed (due again) ...
 * -> dead; skipped when it cannot be paid for. held: an SMS's email
 * fallback, waiting to learn whether it is needed (never listed). The
 * values are stored. */
enum delivery_status { DS_PENDING, DS_SENDING, DS_SENT, DS_FAILED, DS_DEAD, DS_SKIPPED,
                       DS_HELD, DS_COUNT };

/* A category x channel matrix of overrides: bit (cat * CH_COUNT + ch).
 * `set` says which cells this level overrides, `on` their values. */
struct pref_matrix {
    uint32_t set;
    uint32_t on;
};
#define PREF_BIT(cat, ch) (1u << ((unsigned)(cat) * CH_COUNT + (unsigned)(ch)))

struct workspace {
    int64_t wid; /* store key */
    const char *id, *name, *timezone;
    const char *signing_secret;
    int message_group_window_s;
    enum audience booking_alert_audience;
    bool phi_in_external_channels;
    bool sms_fallback_to_email;
    int retention_days;
    const char *email_sender_name, *sms_sender_id;
    const char *app_url; /* where emails link to, or NULL */
    struct pref_matrix default_prefs;
    int64_t credits;
    int64_t created_at;
};

struct member {
    int64_t mid, wid; /* store keys */
    const char *id, *name, *email, *phone, *timezone, *locale;
    enum role role;
    bool active;
    struct pref_matrix prefs;
    enum cancel_channels cancel_channels;
    int cancel_within_days; /* 0 = anytime */
    bool push_enabled;
    int64_t unread;
    int64_t created_at, updated_at;
};

/* Names as they appear in the API; parse returns -1 when unknown. */
const char *category_name(enum category c);
int category_parse(const char *s);
const char *channel_name(enum channel c);
int channel_parse(const char *s);
const char *role_name(enum role r);
int role_parse(const char *s);
const char *cancel_channels_name(enum cancel_channels c);
int cancel_channels_parse(const char *s);
const char *audience_name(enum audience a);
int audience_parse(const char *s);
const char *device_kind_name(enum device_kind k);
int device_kind_parse(const char *s);
const char *delivery_status_name(enum delivery_status s);
int delivery_status_parse(const char *s);

/* Delivery ids as the API shows them: "dlv_" + the store's integer. */
#define DELIVERY_ID_MAX 32
void delivery_id_format(int64_t id, char out[DELIVERY_ID_MAX]);
int delivery_id_parse(const char *s, int64_t *id); /* -1 if not one */

/* Notification ids as the API shows them: "ntf_" + the store's integer. */
#define NOTIFICATION_ID_MAX 32
void notification_id_format(int64_t nid, char out[NOTIFICATION_ID_MAX]);
int notification_id_parse(const char *s, int64_t *nid); /* -1 if not one */

#endif
