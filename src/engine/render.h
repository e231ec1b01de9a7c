/* render.h - notification texts in the recipient's time zone and locale.
 *
 * A render_ctx caches ICU date and number formatters per (locale, zone); it
 * is not thread-safe, so each thread that renders owns one (the store's
 * writer thread does). The validity checks need no context. */
#ifndef HERALD_ENGINE_RENDER_H
#define HERALD_ENGINE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "engine/event.h"
#include "engine/model.h"

struct render_ctx;

struct render_ctx *render_new(void);
void render_free(struct render_ctx *rc);

struct rendered {
    const char *title;
    const char *body;
};

/* Title and body of ev for recipient m (zone: m's, else the workspace's;
 * locale: m's, else "en"). subject_name names data.member_id when the
 * event is about a member (inbox events). Strings live in a. */
void render_notification(struct render_ctx *rc, const struct event_view *ev,
                         const struct workspace *ws, const struct member *m,
                         const char *subject_name, struct arena *a, struct rendered *out);

/* What email and SMS say: the in-app facts minus patient information
 * (client names, reasons, notes, forms, messages: the type's `sensitive`
 * fields, and a client actor's name) unless the workspace opted in with
 * phi_in_external_channels. Every external text goes through here. */
struct external_text {
    const char *subject; /* email */
    const char *text;    /* email, plain */
    const char *html;    /* email, HTML (escaped) */
    const char *sms;
    const char *push_title; /* the practice's name: whose app is speaking */
    const char *push_body;  /* what a lock screen may show */
    const char *url;        /* the workspace's app_url, or NULL */
};

void render_external(struct render_ctx *rc, const struct event_view *ev,
                     const struct workspace *ws, const struct member *m,
                     const char *subject_name, struct arena *a, struct external_text *out);
void render_message_group_external(struct render_ctx *rc, const struct workspace *ws,
                                   const struct member *m, int64_t messages,
                                   const char *senders_json, const char *conversation_name,
                                   struct arena *a, struct external_text *out);

/* The notification for a closed message window: "3 new messages from Dana
 * Reyes and Sam Lee in Intake". senders is a JSON array of names (the
 * list is joined the locale's way); the count uses the locale's plural
 * rules. */
void render_message_group(struct render_ctx *rc, const struct member *m, int64_t messages,
                          const char *senders_json, const char *conversation_name,
                          struct arena *a, struct rendered *out);

/* "Tue, Nov 24, 2:30 PM" in the zone and locale; UTC/en on bad input. */
const char *render_time(struct render_ctx *rc, int64_t ms, const char *tz,
                        const char *locale, struct arena *a);
/* "$120.00" / "120,00 €" in the locale. */
const char *render_amount(struct render_ctx *rc, double amount, const char *currency,
                          const char *locale, struct arena *a);

/* An IANA zone ICU knows ("Europe/Dublin", "UTC"). */
bool render_timezone_valid(const char *tz);
/* A BCP 47 tag ICU parses whole, with a known language ("en-AU", "fr"). */
bool render_locale_valid(const char *tag);

#endif
