/* demo.c - `herald serve --demo`: a sample practice to try Herald with.
 *
 * Seeds workspace "demo" (Harbour Physiotherapy, Europe/Dublin) with an
 * owner, two practitioners and a receptionist the first time, then prints
 * the URL, the admin key (when known), a fresh API key for the workspace
 * and a member token, with a first request to try. */
#include "app/app.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct demo_member {
    const char *id, *name, *email, *phone;
    enum role role;
};

static const struct demo_member MEMBERS[] = {
    {"m_owner", "Olivia Byrne", "olivia@harbour.example", "+353861000001", ROLE_OWNER},
    {"m_sam", "Sam Lee", "sam@harbour.example", "+353861000002", ROLE_PRACTITIONER},
    {"m_priya", "Priya Nair", "priya@harbour.example", "+353861000003", ROLE_PRACTITIONER},
    {"m_rita", "Rita Walsh", "rita@harbour.example", "+353861000004", ROLE_RECEPTIONIST},
};

int demo_seed(struct store *s, struct hclock *clock, const char *url, const char *admin_key,
              char **api_key_out)
{
    struct arena a = ARENA_INIT;
    int rc = -1;
    int64_t now = hclock_now_ms(clock);

    struct st_ws_get *get = ARENA_NEW(&a, struct st_ws_get);
    get->base.op = ST_WS_GET;
    get->base.arena = &a;
    get->id = "demo";
    int found = store_call(s, &get->base);
    struct workspace ws;
    if (found == STORE_NOT_FOUND) {
        struct st_ws_create *c = ARENA_NEW(&a, struct st_ws_create);
        c->base.op = ST_WS_CREATE;
        c->base.arena = &a;
        c->id = "demo";
        c->name = "Harbour Physiotherapy";
        c->timezone = "Europe/Dublin";
        char *secret = signing_secret_generate();
        c->signing_secret = arena_strdup(&a, secret);
        free(secret);
        char *key = apikey_generate(c->key_id);
        key_hash(key, c->key_hash);
        free(key); /* a fresh key is issued below, on every start */
        c->now = now;
        if (store_call(s, &c->base) != STORE_OK)
            goto out;
        ws = c->out;
        for (size_t i = 0; i < sizeof MEMBERS / sizeof *MEMBERS; i++) {
            struct st_member_put *m = ARENA_NEW(&a, struct st_member_put);
            m->base.op = ST_MEMBER_PUT;
            m->base.arena = &a;
            m->wid = ws.wid;
            m->id = MEMBERS[i].id;
            m->f.name = MEMBERS[i].name;
            m->f.email = MEMBERS[i].email;
            m->f.phone = MEMBERS[i].phone;
            m->f.role = MEMBERS[i].role;
            m->f.active = true;
            m->now = now;
            if (store_call(s, &m->base) != STORE_OK)
                goto out;
            if (strcmp(MEMBERS[i].id, "m_sam") != 0)
                continue;
            /* Sam wants to hear of every cancellation by email and SMS. */
            struct st_prefs_patch *pp = ARENA_NEW(&a, struct st_prefs_patch);
            pp->base.op = ST_PREFS_PATCH;
            pp->base.arena = &a;
            pp->wid = ws.wid;
            pp->mid = m->out.mid;
            pp->now = now;
            pp->patch.cancel_channels = CANCEL_EMAIL_AND_SMS;
            pp->patch.cancel_within_days = 0;
            pp->patch.push_enabled = -1;
            if (store_call(s, &pp->base) != STORE_OK)
                goto out;
            /* and has a phone; FCM is not configured, so its pushes go to the sink */
            struct st_device_put *dp = ARENA_NEW(&a, struct st_device_put);
            dp->base.op = ST_DEVICE_PUT;
            dp->base.arena = &a;
            dp->wid = ws.wid;
            dp->mid = m->out.mid;
            dp->now = now;
            dp->id = "sams-phone";
            dp->credential = true;
            dp->kind = DEV_FCM;
            dp->token = "demo-fcm-registration-token-for-sams-phone";
            dp->name = "Sam's phone";
            dp->enabled = 1;
            if (store_call(s, &dp->base) != STORE_OK)
                goto out;
        }
        struct st_credits_add *cr = ARENA_NEW(&a, struct st_credits_add);
        cr->base.op = ST_CREDITS_ADD;
        cr->base.arena = &a;
        cr->wid = ws.wid;
        cr->add = 50;
        cr->reason = "demo";
        cr->now = now;
        if (store_call(s, &cr->base) != STORE_OK)
            goto out;
        hlog_info("demo: seeded workspace demo with %zu members",
                  sizeof MEMBERS / sizeof *MEMBERS);
    } else if (found == STORE_OK) {
        ws = get->out;
    } else {
        goto out;
    }

    struct st_key_create *k = ARENA_NEW(&a, struct st_key_create);
    k->base.op = ST_KEY_CREATE;
    k->base.arena = &a;
    k->wid = ws.wid;
    k->now = now;
    k->name = "demo";
    char *api_key = apikey_generate(k->key_id);
    key_hash(api_key, k->key_hash);
    if (store_call(s, &k->base) != STORE_OK) {
        free(api_key);
        goto out;
    }
    int64_t iat = now / 1000;
    char *token = token_sign("m_sam", ws.id, iat, iat + TOKEN_MAX_LIFETIME_S, ws.signing_secret);

    printf("\n"
           "  Herald demo: %s (workspace \"demo\", time zone %s)\n"
           "    demo page         %s/ui/   <- open this in a browser\n"
           "    URL               %s\n"
           "    admin key         %s\n"
           "    workspace API key %s\n"
           "    member token      %s\n"
           "                      (Sam Lee, practitioner; valid 24 h)\n\n"
           "  Try:\n"
           "    curl -s %s/v1/events -H 'Authorization: Bearer %s' \\\n"
           "      -H 'Content-Type: application/json' -d '{\"id\":\"evt_1\",\"type\":"
           "\"appointment.booked\",\"occurred_at\":\"2026-11-21T09:30:00Z\",\"source\":"
           "\"booking_page\",\"actor\":{\"kind\":\"client\",\"id\":\"cl_1\",\"name\":"
           "\"Dana Reyes\"},\"data\":{\"appointment\":{\"id\":\"ap_1\",\"starts_at\":"
           "\"2026-11-24T14:30:00Z\",\"staff_ids\":[\"m_sam\"]},\"client\":{\"id\":\"cl_1\","
           "\"name\":\"Dana Reyes\"}}}'\n"
           "    curl -s %s/v1/me/notifications -H 'Authorization: Bearer %s'\n"
           "  A cancellation: Sam gets an email, an SMS and a push to his phone (no\n"
           "  provider is configured, so the sink keeps what would have been sent):\n"
           "    curl -s %s/v1/events -H 'Authorization: Bearer %s' \\\n"
           "      -H 'Content-Type: application/json' -d '{\"id\":\"evt_2\",\"type\":"
           "\"appointment.cancelled\",\"occurred_at\":\"2026-11-21T09:30:00Z\",\"source\":"
           "\"client_portal\",\"actor\":{\"kind\":\"client\",\"id\":\"cl_1\",\"name\":"
           "\"Dana Reyes\"},\"data\":{\"appointment\":{\"id\":\"ap_1\",\"starts_at\":"
           "\"2026-11-24T14:30:00Z\",\"staff_ids\":[\"m_sam\"]},\"client\":{\"id\":\"cl_1\","
           "\"name\":\"Dana Reyes\"},\"reason\":\"Unwell\"}}'\n"
           "    curl -s %s/v1/dev/sink -H 'Authorization: Bearer %s'\n"
           "    curl -s %s/v1/deliveries -H 'Authorization: Bearer %s'\n\n",
           ws.name, ws.timezone, url, url,
           admin_key ? admin_key : "(set on first start; set HERALD_ADMIN_KEY to choose one)",
           api_key, token, url, api_key, url, token, url, api_key, url, api_key, url, api_key);
    fflush(stdout);
    *api_key_out = api_key; /* the demo page's session hands it to the page */
    api_key = NULL;
    free(token);
    rc = 0;
out:
    if (rc != 0)
        hlog_error("demo: seeding failed");
    arena_reset(&a);
    return rc;
}
