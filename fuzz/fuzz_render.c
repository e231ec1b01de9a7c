/* fuzz_render.c - notification texts: a validated event rendered in-app, for email/SMS/push, and as a message group. */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "engine/render.h"
#include "engine/template.h"

/* The input: the member's locale, the member's time zone, options, each on
 * its own line, then the event's JSON body. Options: p (PHI in external
 * channels), u (an app_url), s (an email sender name), w (the zone is the
 * workspace's, the member has none), S (the subject member's name is
 * known), m (the member is the event's data.member_id), and a number: the
 * messages in a group. The options line is also rendered as a template of
 * its own, its {name}s read from the event's data. */

/* The writer thread's renderer: its ICU formatter cache lives as long. */
static struct render_ctx *rc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    rc = render_new();
    return 0;
}

static void check(const char *s)
{
    if (!s || !fuzz_utf8_valid(s))
        abort();
}

static void check_external(const struct external_text *x)
{
    check(x->subject);
    check(x->text);
    check(x->html);
    check(x->sms);
    check(x->push_title);
    check(x->push_body);
}

/* What the store keeps for a message window: the senders' names. */
static const char *senders_of(const struct event_view *ev, struct arena *a)
{
    const char *name = ev->actor_name ? ev->actor_name : ev->actor_id ? ev->actor_id : "someone";
    json_t *names = json_pack("[s, s]", name, "Sam Lee");
    char *text = json_dumps(names, JSON_COMPACT);
    const char *out = arena_strdup(a, text ? text : "[]");
    free(text);
    json_decref(names);
    return out;
}

/* A template variable: the string at that key of the event's data. */
static const char *data_var(void *ctx, const char *name, size_t len)
{
    json_t *data = ctx;
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v) {
        if (strlen(key) == len && memcmp(key, name, len) == 0)
            return json_string_value(v);
    }
    return NULL;
}

/* Renders a valid event ev for a member with the input's settings. */
static void render_event(const struct event_view *ev, const char *locale, const char *tz,
                         const char *opts, struct arena *a)
{
    struct workspace ws = {.wid = 1, .id = "ws1", .name = "Bayview Physio",
                           .timezone = "Europe/Dublin"};
    struct member m = {.mid = 1, .wid = 1, .id = "m_sam", .name = "Sam Lee",
                       .timezone = tz, .locale = locale, .active = true};
    ws.phi_in_external_channels = strchr(opts, 'p') != NULL;
    if (strchr(opts, 'u'))
        ws.app_url = "https://app.example/inbox?a=1&b=<2>";
    if (strchr(opts, 's'))
        ws.email_sender_name = "Bayview \"Front desk\" & Co";
    if (strchr(opts, 'w')) {
        ws.timezone = tz;
        m.timezone = NULL;
    }
    const char *subject = strchr(opts, 'S') ? "Priya Shah" : NULL;
    const char *member_id = json_string_value(json_object_get(ev->data, "member_id"));
    if (strchr(opts, 'm') && member_id)
        m.id = member_id;
    const char *digits = strpbrk(opts, "0123456789");
    long long messages = digits ? strtoll(digits, NULL, 10) : 1;
    if (messages < 1)
        messages = 1;

    struct rendered text;
    render_notification(rc, ev, &ws, &m, subject, a, &text);
    check(text.title);
    check(text.body);
    struct external_text ext;
    render_external(rc, ev, &ws, &m, subject, a, &ext);
    check_external(&ext);
    /* The formatter cache keeps each slot's last text: another instant in
     * between must not change what an instant reads as, and a zone and a
     * locale that pass the API's checks always give a time. */
    const char *first = render_time(rc, ev->occurred_at, tz, locale, a);
    const char *other = render_time(rc, ev->starts_at ? ev->starts_at : ev->occurred_at + 1,
                                    tz, locale, a);
    check(first);
    check(other);
    if (strcmp(render_time(rc, ev->occurred_at, tz, locale, a), first) != 0)
        abort();
    if (render_locale_valid(locale) && render_timezone_valid(tz) && (!*first || !*other))
        abort();

    struct buf b = BUF_INIT;
    template_render(opts, data_var, ev->data, &b);
    buf_free(&b);

    if (ev->type->flags & ET_GROUPED) {
        const char *senders = senders_of(ev, a);
        const char *conv = json_string_value(
            json_object_get(json_object_get(ev->data, "conversation"), "name"));
        render_message_group(rc, &m, messages, senders, conv, a, &text);
        check(text.title);
        check(text.body);
        render_message_group_external(rc, &ws, &m, messages, senders, conv, a, &ext);
        check_external(&ext);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = ARENA_INIT;
    struct fuzz_in in = {(const char *)data, size};
    const char *locale = fuzz_line(&in, &a);
    const char *tz = fuzz_line(&in, &a);
    const char *opts = fuzz_line(&in, &a);
    char err[200];
    json_t *body = in.n && jx_depth_ok(in.p, in.n, 32) ? jx_parse(in.p, in.n, err, sizeof err)
                                                       : NULL;
    struct event_view ev;
    struct event_error e;
    if (body && event_validate(body, &ev, &e) == 0)
        render_event(&ev, locale, tz, opts, &a);
    json_decref(body);
    arena_reset(&a);
    return 0;
}
