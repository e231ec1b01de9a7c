/* validate.c - event validation with precise errors (see event.h).
 *
 * Fields are checked in the order the catalogue lists them, parents before
 * children, so the error names the first missing or wrong field in reading
 * order. JSON null counts as absent. Unknown extra fields are kept and
 * ignored (API.md). */
#include "engine/event.h"
#include "core/hostid.h"
#include "core/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const SOURCES[] = {"booking_page", "widget", "client_portal",
                                      "reception", "staff", "system", NULL};
static const char *const SOURCE_LABELS[] = {"the booking page", "the website widget",
                                            "the client portal", "reception", "staff",
                                            "the system", NULL};

const char *actor_kind_name(enum actor_kind k)
{
    static const char *const names[] = {"system", "member", "client"};
    return names[k];
}

const char *event_conversation_id(const struct event_view *ev)
{
    return json_string_value(json_object_get(json_object_get(ev->data, "conversation"), "id"));
}

const char *source_label(const char *source)
{
    for (int i = 0; source && SOURCES[i]; i++)
        if (strcmp(SOURCES[i], source) == 0)
            return SOURCE_LABELS[i];
    return NULL;
}

static int fail(struct event_error *err, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct event_error *err, const char *code, const char *field,
                const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int missing(struct event_error *err, const char *path)
{
    return fail(err, "missing_field", path, "%s is required", path);
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The path of the field being checked, grown and shrunk as the checker
 * walks the tree, so paths cost a memcpy, not a printf, per field. */
struct path {
    char buf[192];
    size_t len;
};

static size_t path_push(struct path *p, const char *name)
{
    size_t mark = p->len, n = strlen(name);
    if (p->len + 1 + n < sizeof p->buf) {
        p->buf[p->len++] = '.';
        memcpy(p->buf + p->len, name, n);
        p->len += n;
    }
    p->buf[p->len] = '\0';
    return mark;
}

static void path_pop(struct path *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}

static int check_fields(const json_t *obj, const struct field_spec *spec, struct path *p,
                        struct event_error *err);

static int check_value(const json_t *v, const struct field_spec *f, struct path *pp,
                       struct event_error *err)
{
    const char *path = pp->buf;
    switch (f->kind) {
    case FK_OBJECT:
        if (!json_is_object(v))
            return fail(err, "invalid_field", path, "%s must be an object", path);
        return check_fields(v, f->children, pp, err);
    case FK_ID:
        if (!json_is_string(v) || !hostid_valid(json_string_value(v)))
            return fail(err, "invalid_field", path,
                        "%s must be an id: 1 to 128 characters of A-Z a-z 0-9 . _ : -", path);
        return 0;
    case FK_IDS: {
        if (!json_is_array(v))
            return fail(err, "invalid_field", path, "%s must be an array of ids", path);
        if (json_array_size(v) > FIELD_MAX_IDS)
            return fail(err, "invalid_field", path, "%s has more than %d ids", path,
                        FIELD_MAX_IDS);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e) || !hostid_valid(json_string_value(e))) {
                char p[sizeof err->field + 24];
                snprintf(p, sizeof p, "%s[%zu]", path, i);
                return fail(err, "invalid_field", p,
                            "%s must be an id: 1 to 128 characters of A-Z a-z 0-9 . _ : -", p);
            }
        }
        return 0;
    }
    case FK_TEXT:
    case FK_LONGTEXT: {
        if (!json_is_string(v))
            return fail(err, "invalid_field", path, "%s must be a string", path);
        size_t max = f->kind == FK_TEXT ? FIELD_MAX_TEXT : FIELD_MAX_LONGTEXT;
        size_t n = utf8_len(json_string_value(v));
        if (f->kind == FK_TEXT && n == 0)
            return fail(err, "invalid_field", path, "%s must not be empty", path);
        if (n > max)
            return fail(err, "invalid_field", path, "%s is longer than %zu characters", path,
                        max);
        return 0;
    }
    case FK_TIME: {
        int64_t ms;
        if (!json_is_string(v) || rfc3339_parse(json_string_value(v), &ms) != 0)
            return fail(err, "invalid_field", path,
                        "%s must be an RFC 3339 time such as 2026-11-21T09:30:00Z", path);
        return 0;
    }
    case FK_AMOUNT:
        if (!json_is_number(v) || json_number_value(v) < 0)
            return fail(err, "invalid_field", path, "%s must be a number >= 0", path);
        return 0;
    case FK_CURRENCY: {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
            s[2] < 'A' || s[2] > 'Z')
            return fail(err, "invalid_field", path,
                        "%s must be an ISO 4217 code such as EUR", path);
        return 0;
    }
    }
    return 0;
}

static int check_fields(const json_t *obj, const struct field_spec *spec, struct path *p,
                        struct event_error *err)
{
    for (const struct field_spec *f = spec; f && f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if ((!v || json_is_null(v)) && !f->required)
            continue;
        size_t mark = path_push(p, f->name);
        int rc = !v || json_is_null(v) ? missing(err, p->buf) : check_value(v, f, p, err);
        path_pop(p, mark);
        if (rc)
            return -1;
    }
    return 0;
}

static int64_t time_at(json_t *data, const char *obj, const char *key)
{
    int64_t ms = 0;
    const char *s = json_string_value(json_object_get(json_object_get(data, obj), key));
    if (s)
        rfc3339_parse(s, &ms);
    return ms;
}

int event_validate(json_t *body, struct event_view *ev, struct event_error *err)
{
    memset(ev, 0, sizeof *ev);
    if (!json_is_object(body))
        return fail(err, "invalid_field", "", "the event must be a JSON object");

    json_t *id = json_object_get(body, "id");
    if (!id || json_is_null(id))
        return missing(err, "id");
    if (!json_is_string(id) || !hostid_valid(json_string_value(id)))
        return fail(err, "invalid_field", "id",
                    "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");

    json_t *type = json_object_get(body, "type");
    if (!type || json_is_null(type))
        return missing(err, "type");
    if (!json_is_string(type))
        return fail(err, "invalid_field", "type", "type must be a string");
    ev->type = catalogue_find(json_string_value(type));
    if (!ev->type)
        return fail(err, "unknown_type", "type", "unknown event type \"%.100s\"",
                    json_string_value(type));

    json_t *occ = json_object_get(body, "occurred_at");
    if (!occ || json_is_null(occ))
        return missing(err, "occurred_at");
    if (!json_is_string(occ) || rfc3339_parse(json_string_value(occ), &ev->occurred_at))
        return fail(err, "invalid_field", "occurred_at",
                    "occurred_at must be an RFC 3339 time such as 2026-11-21T09:30:00Z");

    json_t *src = json_object_get(body, "source");
    if (src && !json_is_null(src)) {
        ev->source = json_string_value(src);
        if (!source_label(ev->source))
            return fail(err, "invalid_field", "source",
                        "source must be one of booking_page, widget, client_portal, "
                        "reception, staff, system");
    }

    json_t *actor = json_object_get(body, "actor");
    if (json_is_null(actor))
        actor = NULL; /* null counts as absent */
    ev->actor_kind = ACTOR_SYSTEM;
    if (actor) {
        if (!json_is_object(actor))
            return fail(err, "invalid_field", "actor", "actor must be an object");
        json_t *kind = json_object_get(actor, "kind");
        const char *k = json_string_value(kind);
        if (!kind || json_is_null(kind))
            return missing(err, "actor.kind");
        if (k && strcmp(k, "member") == 0)
            ev->actor_kind = ACTOR_MEMBER;
        else if (k && strcmp(k, "client") == 0)
            ev->actor_kind = ACTOR_CLIENT;
        else if (!k || strcmp(k, "system") != 0)
            return fail(err, "invalid_field", "actor.kind",
                        "actor.kind must be member, client or system");
        json_t *aid = json_object_get(actor, "id");
        if (aid && !json_is_null(aid)) {
            if (!json_is_string(aid) || !hostid_valid(json_string_value(aid)))
                return fail(err, "invalid_field", "actor.id",
                            "actor.id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
            ev->actor_id = json_string_value(aid);
        } else if (ev->actor_kind != ACTOR_SYSTEM) {
            return missing(err, "actor.id");
        }
        json_t *aname = json_object_get(actor, "name");
        if (aname && !json_is_null(aname)) {
            if (!json_is_string(aname) || !json_string_length(aname) ||
                utf8_len(json_string_value(aname)) > FIELD_MAX_TEXT)
                return fail(err, "invalid_field", "actor.name",
                            "actor.name must be a string of 1 to %d characters",
                            FIELD_MAX_TEXT);
            ev->actor_name = json_string_value(aname);
        }
    }
    if ((ev->type->flags & ET_SENDER_REQUIRED) && ev->actor_kind == ACTOR_SYSTEM)
        return fail(err, actor ? "invalid_field" : "missing_field",
                    actor ? "actor.kind" : "actor",
                    "%s needs its sender as actor: a member or a client", ev->type->name);

    json_t *data = json_object_get(body, "data");
    if (!data || json_is_null(data))
        return missing(err, "data");
    if (!json_is_object(data))
        return fail(err, "invalid_field", "data", "data must be an object");
    struct path path = {"data", 4};
    if (check_fields(data, ev->type->data, &path, err))
        return -1;

    ev->id = json_string_value(id);
    ev->body = body;
    ev->data = data;
    ev->starts_at = time_at(data, "appointment", "starts_at");
    return 0;
}
