/* h_members.c - the host app's members, and member tokens it asks for. */
#include "api/api_int.h"
#include "auth/auth.h"
#include "core/hostid.h"
#include "core/timefmt.h"
#include "engine/render.h"

#include <stdlib.h>
#include <string.h>

static bool member_id_ok(struct api_call *call, const char *id)
{
    if (!hostid_valid(id)) {
        api_error(call, 400, "invalid_field", "member_id",
                  "a member id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return false;
    }
    return true;
}

static bool email_ok(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == '<' || s[i] == '>' || s[i] == ',')
            return false;
    return true;
}

static bool phone_ok(const char *s)
{
    size_t n = strlen(s);
    if (s[0] != '+' || n < 9 || n > 16 || s[1] == '0')
        return false;
    for (size_t i = 1; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Optional string: absent or null -> NULL; else checked by ok(). */
static bool opt_string(struct api_call *call, json_t *body, const char *key, size_t max,
                       bool (*ok)(const char *), const char *why, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > max || (ok && !ok(s))) {
        api_error(call, 400, "invalid_field", key, "%s must be %s", key, why);
        return false;
    }
    *out = arena_strdup(call->arena, s);
    return true;
}

static void reply_member(struct api_call *call, int status, const struct member *m)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    api_json_member(&w, m);
    api_reply(call, status, &b);
}

static void on_member_put(struct store_req *r)
{
    struct st_member_put *q = (struct st_member_put *)r;
    if (r->rc != STORE_OK)
        api_store_error(CALL_OF(r), r->rc);
    else
        reply_member(CALL_OF(r), q->created ? 201 : 200, &q->out);
}

void h_member_put(struct api_call *call)
{
    const char *id = call->params[0];
    if (!member_id_ok(call, id))
        return;
    json_t *body = api_body(call, true);
    if (!body)
        return;
    static const char *const keys[] = {"name", "email", "phone", "role", "timezone",
                                       "locale", "active", "id", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct st_member_put *q = API_REQ(call, st_member_put, ST_MEMBER_PUT, on_member_put);
    struct member_fields *f = &q->f;
    json_t *bid = json_object_get(body, "id");
    if (bid && !(json_is_string(bid) && strcmp(json_string_value(bid), id) == 0)) {
        api_error(call, 400, "invalid_field", "id", "id in the body must match the path");
        return;
    }
    if (!opt_string(call, body, "name", 200, NULL, "a string of 1 to 200 bytes", &f->name) ||
        !opt_string(call, body, "email", 254, email_ok, "an email address", &f->email) ||
        !opt_string(call, body, "phone", 16, phone_ok,
                    "an E.164 phone number such as +353861234567", &f->phone) ||
        !opt_string(call, body, "timezone", 64, render_timezone_valid,
                    "an IANA time zone such as Europe/Dublin", &f->timezone) ||
        !opt_string(call, body, "locale", 64, render_locale_valid,
                    "a BCP 47 locale such as en-AU", &f->locale))
        return;
    json_t *role = json_object_get(body, "role");
    f->role = ROLE_STAFF;
    if (role && !json_is_null(role)) {
        int v = role_parse(json_string_value(role));
        if (v < 0) {
            api_error(call, 400, "invalid_field", "role",
                      "role must be owner, admin, practitioner, staff or receptionist");
            return;
        }
        f->role = (enum role)v;
    }
    json_t *active = json_object_get(body, "active");
    f->active = true;
    if (active && !json_is_null(active)) {
        if (!json_is_boolean(active)) {
            api_error(call, 400, "invalid_field", "active", "active must be true or false");
            return;
        }
        f->active = json_is_true(active);
    }
    q->wid = call->ws.wid;
    q->id = id;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

static void on_member_get(struct store_req *r)
{
    struct st_member_get *q = (struct st_member_get *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND)
        api_error(call, 404, "not_found", NULL, "no member %s in this workspace", q->id);
    else if (r->rc != STORE_OK)
        api_store_error(call, r->rc);
    else
        reply_member(call, 200, &q->out);
}

void h_member_get(struct api_call *call)
{
    if (!member_id_ok(call, call->params[0]))
        return;
    struct st_member_get *q = API_REQ(call, st_member_get, ST_MEMBER_GET, on_member_get);
    q->wid = call->ws.wid;
    q->id = call->params[0];
    store_submit(call->api->store, &q->base);
}

static void on_member_deleted(struct store_req *r)
{
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND)
        api_error(call, 404, "not_found", NULL, "no member %s in this workspace",
                  call->params[0]);
    else if (r->rc != STORE_OK)
        api_store_error(call, r->rc);
    else
        api_reply_empty(call, 204);
}

void h_member_delete(struct api_call *call)
{
    if (!member_id_ok(call, call->params[0]))
        return;
    struct st_member_delete *q =
        API_REQ(call, st_member_delete, ST_MEMBER_DELETE, on_member_deleted);
    q->wid = call->ws.wid;
    q->id = call->params[0];
    store_submit(call->api->store, &q->base);
}

static void on_member_list(struct store_req *r)
{
    struct st_member_list *q = (struct st_member_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "members"))
        return;
    for (size_t i = 0; i < q->n; i++)
        api_json_member(&w, &q->out[i]);
    jw_arr_end(&w);
    jw_kstr(&w, "next_after", q->more && q->n ? q->out[q->n - 1].id : NULL);
    api_list_reply(call, &b, &w);
}

void h_member_list(struct api_call *call)
{
    struct st_member_list *q = API_REQ(call, st_member_list, ST_MEMBER_LIST, on_member_list);
    const char *after = http_query(call->req, "after");
    const char *limit = http_query(call->req, "limit");
    q->limit = 100;
    if (limit) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (!*limit || *end || v < 1 || v > 1000) {
            api_error(call, 400, "invalid_field", "limit", "limit must be 1 to 1000");
            return;
        }
        q->limit = (int)v;
    }
    if (after && !hostid_valid(after)) {
        api_error(call, 400, "invalid_field", "after", "after must be a member id");
        return;
    }
    q->wid = call->ws.wid;
    q->after = after;
    store_submit(call->api->store, &q->base);
}

/* ---- tokens ---- */

struct token_job {
    struct st_member_get q; /* first */
    int64_t ttl_s;
};

static void on_token_member(struct store_req *r)
{
    struct token_job *job = (struct token_job *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", NULL, "no member %s in this workspace", job->q.id);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    if (!job->q.out.active) {
        api_error(call, 403, "member_inactive", NULL,
                  "member %s is inactive; tokens are only issued to active members", job->q.id);
        return;
    }
    int64_t iat = call->now / 1000;
    int64_t exp = iat + job->ttl_s;
    char *token = token_sign(job->q.id, call->ws.id, iat, exp, call->ws.signing_secret);
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "token", token);
    jw_ktime(&w, "expires_at", exp * 1000);
    jw_kstr(&w, "member_id", job->q.id);
    jw_obj_end(&w);
    free(token);
    api_reply(call, 201, &b);
}

void h_member_token(struct api_call *call)
{
    if (!member_id_ok(call, call->params[0]))
        return;
    json_t *body = api_body(call, true);
    if (!body)
        return;
    static const char *const keys[] = {"ttl_s", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct token_job *job = API_REQ(call, token_job, ST_MEMBER_GET, on_token_member);
    job->ttl_s = call->api->cfg.default_token_ttl_s;
    json_t *ttl = json_object_get(body, "ttl_s");
    if (ttl) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < 60 ||
            json_integer_value(ttl) > TOKEN_MAX_LIFETIME_S) {
            api_error(call, 400, "invalid_field", "ttl_s",
                      "ttl_s must be a whole number of seconds from 60 to %d",
                      TOKEN_MAX_LIFETIME_S);
            return;
        }
        job->ttl_s = json_integer_value(ttl);
    }
    job->q.wid = call->ws.wid;
    job->q.id = call->params[0];
    store_submit(call->api->store, &job->q.base);
}
