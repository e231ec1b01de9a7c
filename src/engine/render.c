/* render.c - ICU-backed rendering of notification texts (see render.h).
 *
 * Dates use the skeleton "EEEdMMMjmm" through ICU's pattern generator, so
 * each locale gets its own order and hour cycle: "Tue, Nov 24, 2:30 PM" in
 * en, "Tue, 24 Nov, 2:30 pm" in en-AU, "mar. 24 nov., 14:30" in fr (ICU 72
 * puts U+202F, a narrow no-break space, before AM/PM). Zones are passed to
 * each formatter; the process-global TZ is never touched. */
#include "engine/render.h"
#include "core/buf.h"
#include "core/timefmt.h"
#include "engine/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/ulistformatter.h>
#include <unicode/umsg.h>
#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>

#define CACHE_SLOTS 32
#define DEFAULT_LOCALE "en"
/* A formatted time, in UTF-16 units; its UTF-8 takes at most 3 bytes per
 * unit (Dzongkha spells "Sun, 22 Nov, 2:30 PM" in 128 bytes). */
#define TIME_UNITS_MAX 128

/* One formatter per (locale tag, zone) as the caller names them; the
 * recipients of one event usually share both, and the same instant, so the
 * last text is kept too. */
struct date_slot {
    char tag[72];
    char tz[64];
    UDateFormat *fmt;
    uint64_t used;
    int64_t last_ms;
    char last[TIME_UNITS_MAX * 3 + 1];
};

struct num_slot {
    char locale[ULOC_FULLNAME_CAPACITY];
    UNumberFormat *fmt;
    uint64_t used;
};

struct render_ctx {
    struct date_slot dates[CACHE_SLOTS];
    struct num_slot nums[CACHE_SLOTS];
    uint64_t tick;
};

struct render_ctx *render_new(void)
{
    return xcalloc(1, sizeof(struct render_ctx));
}

void render_free(struct render_ctx *rc)
{
    if (!rc)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (rc->dates[i].fmt)
            udat_close(rc->dates[i].fmt);
        if (rc->nums[i].fmt)
            unum_close(rc->nums[i].fmt);
    }
    free(rc);
}

bool render_timezone_valid(const char *tz)
{
    if (!tz || !*tz || strlen(tz) >= 64)
        return false;
    UChar id[64], canon[128];
    UErrorCode st = U_ZERO_ERROR;
    u_uastrcpy(id, tz);
    UBool system = false;
    ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &system, &st);
    return U_SUCCESS(st) && system;
}

/* BCP 47 tag -> ICU locale id; false when ICU cannot parse all of it. */
static bool locale_id(const char *tag, char *out, size_t cap)
{
    if (!tag || !*tag || strlen(tag) > 64)
        return false;
    UErrorCode st = U_ZERO_ERROR;
    int32_t parsed = 0;
    uloc_forLanguageTag(tag, out, (int32_t)cap, &parsed, &st);
    if (U_FAILURE(st) || parsed != (int32_t)strlen(tag))
        return false;
    char lang[16];
    st = U_ZERO_ERROR;
    uloc_getLanguage(out, lang, sizeof lang, &st);
    return U_SUCCESS(st) && lang[0] && uloc_getISO3Language(out)[0];
}

bool render_locale_valid(const char *tag)
{
    char id[ULOC_FULLNAME_CAPACITY];
    return locale_id(tag, id, sizeof id);
}

static UDateFormat *open_date_format_in(const char *loc, const char *tz)
{
    UErrorCode st = U_ZERO_ERROR;
    UDateTimePatternGenerator *gen = udatpg_open(loc, &st);
    if (U_FAILURE(st))
        return NULL;
    UChar skeleton[16], pattern[64], utz[64];
    u_uastrcpy(skeleton, "EEEdMMMjmm");
    int32_t plen = udatpg_getBestPattern(gen, skeleton, -1, pattern, 64, &st);
    udatpg_close(gen);
    if (U_FAILURE(st))
        return NULL;
    u_uastrcpy(utz, tz);
    UDateFormat *fmt = udat_open(UDAT_PATTERN, UDAT_PATTERN, loc, utz, -1, pattern, plen, &st);
    return U_SUCCESS(st) ? fmt : NULL;
}

/* A tag ICU parses may still name what it cannot format with (a made-up
 * numbering system, "th-TH-u-nu-thaien"): times then come in the default
 * locale, never empty. */
static UDateFormat *open_date_format(const char *tag, const char *tz)
{
    char loc[ULOC_FULLNAME_CAPACITY];
    if (!locale_id(tag, loc, sizeof loc))
        snprintf(loc, sizeof loc, "%s", DEFAULT_LOCALE);
    if (!render_timezone_valid(tz))
        tz = "UTC";
    UDateFormat *fmt = open_date_format_in(loc, tz);
    return fmt ? fmt : open_date_format_in(DEFAULT_LOCALE, tz);
}

/* The slot for (tag, tz), made on first use; NULL when the names are too
 * long to cache or ICU fails. */
static struct date_slot *date_slot(struct render_ctx *rc, const char *tag, const char *tz)
{
    if (strlen(tag) >= sizeof rc->dates[0].tag || strlen(tz) >= sizeof rc->dates[0].tz)
        return NULL;
    struct date_slot *victim = &rc->dates[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct date_slot *s = &rc->dates[i];
        if (s->fmt && strcmp(s->tag, tag) == 0 && strcmp(s->tz, tz) == 0) {
            s->used = ++rc->tick;
            return s;
        }
        if (s->used < victim->used)
            victim = s;
    }
    UDateFormat *fmt = open_date_format(tag, tz);
    if (!fmt)
        return NULL;
    if (victim->fmt)
        udat_close(victim->fmt);
    snprintf(victim->tag, sizeof victim->tag, "%s", tag);
    snprintf(victim->tz, sizeof victim->tz, "%s", tz);
    victim->fmt = fmt;
    victim->used = ++rc->tick;
    victim->last_ms = INT64_MIN;
    return victim;
}

static UNumberFormat *currency_format(struct render_ctx *rc, const char *locale)
{
    struct num_slot *victim = &rc->nums[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct num_slot *s = &rc->nums[i];
        if (s->fmt && strcmp(s->locale, locale) == 0) {
            s->used = ++rc->tick;
            return s->fmt;
        }
        if (s->used < victim->used)
            victim = s;
    }
    UErrorCode st = U_ZERO_ERROR;
    UNumberFormat *fmt = unum_open(UNUM_CURRENCY, NULL, 0, locale, NULL, &st);
    if (U_FAILURE(st))
        return NULL;
    if (victim->fmt)
        unum_close(victim->fmt);
    snprintf(victim->locale, sizeof victim->locale, "%s", locale);
    victim->fmt = fmt;
    victim->used = ++rc->tick;
    return fmt;
}

static const char *to_utf8(const UChar *s, int32_t n, struct arena *a)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t len = 0;
    u_strToUTF8(NULL, 0, &len, s, n, &st);
    st = U_ZERO_ERROR;
    char *out = arena_alloc(a, (size_t)len + 1);
    u_strToUTF8(out, len + 1, NULL, s, n, &st);
    return U_SUCCESS(st) ? out : "";
}

static const char *pick_locale(const char *tag, char *id, size_t cap)
{
    if (!locale_id(tag, id, cap))
        snprintf(id, cap, "%s", DEFAULT_LOCALE);
    return id;
}

const char *render_time(struct render_ctx *rc, int64_t ms, const char *tz,
                        const char *locale, struct arena *a)
{
    struct date_slot *slot = date_slot(rc, locale ? locale : DEFAULT_LOCALE, tz ? tz : "UTC");
    if (!slot)
        return "";
    if (slot->last_ms != ms) {
        /* Into a buffer of its own: a failure must leave the slot's last
         * text whole, and still the text of last_ms. */
        UChar out[TIME_UNITS_MAX];
        char text[sizeof slot->last];
        UErrorCode st = U_ZERO_ERROR;
        int32_t n = udat_format(slot->fmt, (UDate)ms, out, TIME_UNITS_MAX, NULL, &st);
        int32_t len = 0;
        if (U_SUCCESS(st))
            u_strToUTF8(text, (int32_t)sizeof text, &len, out, n, &st);
        if (U_FAILURE(st) || len >= (int32_t)sizeof text)
            return "";
        memcpy(slot->last, text, (size_t)len + 1);
        slot->last_ms = ms;
    }
    return arena_strdup(a, slot->last);
}

const char *render_amount(struct render_ctx *rc, double amount, const char *currency,
                          const char *locale, struct arena *a)
{
    char loc[ULOC_FULLNAME_CAPACITY];
    pick_locale(locale, loc, sizeof loc);
    UNumberFormat *fmt = currency_format(rc, loc);
    if (!fmt || !currency || strlen(currency) != 3)
        return arena_printf(a, "%.2f %s", amount, currency ? currency : "");
    UChar cur[4], out[64];
    u_uastrcpy(cur, currency);
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = unum_formatDoubleCurrency(fmt, amount, cur, out, 64, NULL, &st);
    return U_SUCCESS(st) ? to_utf8(out, n, a) : arena_printf(a, "%.2f %s", amount, currency);
}

/* ---- variables of the templates ---- */

struct vars {
    struct render_ctx *rc;
    const struct event_view *ev;
    const struct workspace *ws;
    const struct member *m;
    const char *subject_name;
    const char *tz, *locale;
    struct arena *a;
    bool external; /* leave patient information out unless opted in */
};

/* The data field behind each variable that can carry patient information. */
static const struct {
    const char *var, *path;
} VAR_PATHS[] = {
    {"client", "client.name"},
    {"service", "appointment.service.name"},
    {"reason", "reason"},
    {"form", "form.name"},
    {"file", "file.name"},
    {"note", "note.title"},
    {"conversation", "conversation.name"},
    {"referred", "referral.referred_name"},
    {"referral_reason", "referral.reason"},
};

static bool withheld(const struct vars *v, const char *name, size_t len)
{
    if (!v->external || v->ws->phi_in_external_channels)
        return false;
    /* A client's own name, as the actor, is patient information too. */
    if (len == 5 && memcmp(name, "actor", 5) == 0)
        return v->ev->actor_kind == ACTOR_CLIENT;
    for (size_t i = 0; i < sizeof VAR_PATHS / sizeof *VAR_PATHS; i++) {
        if (strlen(VAR_PATHS[i].var) != len || memcmp(VAR_PATHS[i].var, name, len) != 0)
            continue;
        const char *const *s = v->ev->type->sensitive;
        for (; s && *s; s++)
            if (strcmp(*s, VAR_PATHS[i].path) == 0)
                return true;
    }
    return false;
}

static const char *dstr(const json_t *data, const char *obj, const char *key)
{
    const json_t *o = obj ? json_object_get(data, obj) : data;
    return json_string_value(json_object_get(o, key));
}

static const char *amount_of(struct vars *v, const char *obj)
{
    json_t *o = json_object_get(v->ev->data, obj);
    json_t *amount = json_object_get(o, "amount");
    if (!json_is_number(amount))
        return NULL;
    return render_amount(v->rc, json_number_value(amount), dstr(o, NULL, "currency"),
                         v->locale, v->a);
}

static const char *time_of(struct vars *v, const char *obj)
{
    int64_t ms;
    const char *s = dstr(v->ev->data, obj, "starts_at");
    if (!s || rfc3339_parse(s, &ms) != 0)
        return NULL;
    return render_time(v->rc, ms, v->tz, v->locale, v->a);
}

static const char *var(void *ctx, const char *name, size_t len)
{
    struct vars *v = ctx;
    const json_t *d = v->ev->data;
    if (withheld(v, name, len))
        return NULL;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    if (IS("client"))
        return dstr(d, "client", "name");
    if (IS("service"))
        return dstr(json_object_get(d, "appointment"), "service", "name");
    if (IS("when"))
        return time_of(v, "appointment");
    if (IS("previous_when"))
        return time_of(v, "previous");
    if (IS("reason"))
        return dstr(d, NULL, "reason");
    if (IS("actor"))
        return v->ev->actor_name;
    if (IS("source")) {
        const char *s = v->ev->source;
        if (!s || strcmp(s, "staff") == 0 || strcmp(s, "system") == 0)
            return NULL;
        return source_label(s);
    }
    if (IS("form"))
        return dstr(d, "form", "name");
    if (IS("file"))
        return dstr(d, "file", "name");
    if (IS("note"))
        return dstr(d, "note", "title");
    if (IS("invoice_number"))
        return dstr(d, "invoice", "number");
    if (IS("amount")) {
        const char *a = amount_of(v, "invoice");
        if (!a)
            a = amount_of(v, "subscription");
        if (!a)
            a = amount_of(v, "referral");
        return a;
    }
    if (IS("plan"))
        return dstr(d, "subscription", "plan");
    if (IS("referred"))
        return dstr(d, "referral", "referred_name");
    if (IS("referral_reason"))
        return dstr(d, "referral", "reason");
    if (IS("inbox"))
        return dstr(d, "inbox", "name");
    if (IS("subject"))
        return v->subject_name ? v->subject_name : dstr(d, NULL, "member_id");
    if (IS("conversation"))
        return dstr(d, "conversation", "name");
#undef IS
    return NULL;
}

void render_notification(struct render_ctx *rc, const struct event_view *ev,
                         const struct workspace *ws, const struct member *m,
                         const char *subject_name, struct arena *a, struct rendered *out)
{
    struct vars v = {rc, ev, ws, m, subject_name, NULL, NULL, a, false};
    v.tz = m && m->timezone && *m->timezone ? m->timezone : ws->timezone;
    v.locale = m && m->locale && *m->locale ? m->locale : DEFAULT_LOCALE;

    const struct event_type *t = ev->type;
    const char *body_tpl = t->body;
    const char *subject = dstr(ev->data, NULL, "member_id");
    if (t->body_self && m && subject && strcmp(subject, m->id) == 0)
        body_tpl = t->body_self;

    struct buf b = BUF_INIT;
    template_render(t->title, var, &v, &b);
    out->title = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_clear(&b);
    template_render(body_tpl, var, &v, &b);
    out->body = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
}

/* ---- message groups ---- */

static const char *join_names(const char *loc, json_t *names, struct arena *a)
{
    size_t n = json_array_size(names);
    if (n == 0)
        return "someone";
    if (n > 8)
        n = 8;
    UChar *items[8];
    int32_t lens[8];
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(names, i));
        UErrorCode st = U_ZERO_ERROR;
        int32_t len = 0;
        u_strFromUTF8(NULL, 0, &len, s ? s : "", -1, &st);
        items[i] = arena_alloc(a, sizeof(UChar) * ((size_t)len + 1));
        st = U_ZERO_ERROR;
        u_strFromUTF8(items[i], len + 1, &lens[i], s ? s : "", -1, &st);
    }
    UErrorCode st = U_ZERO_ERROR;
    UListFormatter *lf = ulistfmt_open(loc, &st);
    UChar out[1024];
    int32_t olen = U_SUCCESS(st) ? ulistfmt_format(lf, (const UChar *const *)items, lens,
                                                   (int32_t)n, out, 1024, &st)
                                 : 0;
    if (lf)
        ulistfmt_close(lf);
    return U_SUCCESS(st) ? to_utf8(out, olen, a) : json_string_value(json_array_get(names, 0));
}

static const char *plural_messages(const char *loc, int64_t count, struct arena *a)
{
    UChar pattern[96], out[128];
    u_uastrcpy(pattern, "{0,plural,one{# new message}other{# new messages}}");
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = u_formatMessage(loc, pattern, -1, out, 128, &st, (double)count);
    if (U_FAILURE(st))
        return arena_printf(a, "%lld new messages", (long long)count);
    return to_utf8(out, n, a);
}

void render_message_group(struct render_ctx *rc, const struct member *m, int64_t messages,
                          const char *senders_json, const char *conversation_name,
                          struct arena *a, struct rendered *out)
{
    (void)rc;
    char loc[ULOC_FULLNAME_CAPACITY];
    pick_locale(m && m->locale ? m->locale : NULL, loc, sizeof loc);
    json_t *names = json_loads(senders_json ? senders_json : "[]", 0, NULL);
    const char *who = join_names(loc, names, a);
    const char *count = plural_messages(loc, messages, a);
    out->title = messages == 1 ? "New message" : "New messages";
    if (conversation_name && *conversation_name)
        out->body = arena_printf(a, "%s from %s in %s.", count, who, conversation_name);
    else
        out->body = arena_printf(a, "%s from %s.", count, who);
    json_decref(names);
}

/* ---- external channels ---- */

static const char *render_tpl(const char *tpl, struct vars *v)
{
    struct buf b = BUF_INIT;
    template_render(tpl, var, v, &b);
    const char *out = arena_strndup(v->a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

static void html_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_adds(b, "&amp;"); break;
        case '<': buf_adds(b, "&lt;"); break;
        case '>': buf_adds(b, "&gt;"); break;
        case '"': buf_adds(b, "&quot;"); break;
        case '\'': buf_adds(b, "&#39;"); break;
        default: buf_addc(b, *s);
        }
    }
}

/* The email around a sentence: text and HTML, with the way back to the app
 * and the practice's name. */
static void email_parts(const struct workspace *ws, const char *sentence, struct arena *a,
                        struct external_text *out)
{
    const char *from = ws->email_sender_name ? ws->email_sender_name : ws->name;
    const char *url = ws->app_url;
    out->text = url ? arena_printf(a, "%s\n\nOpen the app for details: %s\n\n-- \n%s\n",
                                   sentence, url, from)
                    : arena_printf(a, "%s\n\nOpen the app for details.\n\n-- \n%s\n",
                                   sentence, from);
    struct buf h = BUF_INIT;
    buf_adds(&h, "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n<p>");
    html_escape(&h, sentence);
    buf_adds(&h, "</p>\n<p>");
    if (url) {
        buf_adds(&h, "<a href=\"");
        html_escape(&h, url);
        buf_adds(&h, "\">Open the app for details</a>");
    } else {
        buf_adds(&h, "Open the app for details.");
    }
    buf_adds(&h, "</p>\n<p style=\"color:#666\">");
    html_escape(&h, from);
    buf_adds(&h, "</p>\n</body></html>\n");
    out->html = arena_strndup(a, h.data, h.len);
    buf_free(&h);
}

/* A push shows whose app speaks (the practice) and the one-line text. */
static void push_parts(const struct workspace *ws, const char *line, struct external_text *out)
{
    out->push_title = ws->email_sender_name ? ws->email_sender_name : ws->name;
    out->push_body = line;
    out->url = ws->app_url;
}

void render_external(struct render_ctx *rc, const struct event_view *ev,
                     const struct workspace *ws, const struct member *m,
                     const char *subject_name, struct arena *a, struct external_text *out)
{
    struct vars v = {rc, ev, ws, m, subject_name, NULL, NULL, a, true};
    v.tz = m && m->timezone && *m->timezone ? m->timezone : ws->timezone;
    v.locale = m && m->locale && *m->locale ? m->locale : DEFAULT_LOCALE;
    const struct event_type *t = ev->type;
    out->subject = render_tpl(t->email_subject, &v);
    email_parts(ws, render_tpl(t->email_text, &v), a, out);
    const char *line = render_tpl(t->sms_text, &v);
    out->sms = arena_printf(a, "%s Open the app for details.", line);
    push_parts(ws, line, out);
}

void render_message_group_external(struct render_ctx *rc, const struct workspace *ws,
                                   const struct member *m, int64_t messages,
                                   const char *senders_json, const char *conversation_name,
                                   struct arena *a, struct external_text *out)
{
    struct rendered in_app;
    render_message_group(rc, m, messages, senders_json, conversation_name, a, &in_app);
    char loc[ULOC_FULLNAME_CAPACITY];
    pick_locale(m && m->locale ? m->locale : NULL, loc, sizeof loc);
    const char *count = plural_messages(loc, messages, a);
    /* Who wrote and where are patient information: only with opt-in. */
    const char *sentence = ws->phi_in_external_channels
                               ? in_app.body
                               : arena_printf(a, "You have %s.", count);
    out->subject = arena_printf(a, "%c%s", count[0] >= 'a' && count[0] <= 'z'
                                              ? count[0] - 32 : count[0], count + 1);
    email_parts(ws, sentence, a, out);
    out->sms = arena_printf(a, "%s Open the app for details.", sentence);
    push_parts(ws, sentence, out);
}
