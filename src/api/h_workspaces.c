/* h_workspaces.c - workspaces (operator), their settings and credits
 * (host app), and API keys (both: the operator for any workspace, a
 * workspace key for its own, so a host can rotate without the operator). */
#include "api/api_int.h"
#include "auth/auth.h"
#include "core/hostid.h"
#include "engine/render.h"

#include <stdlib.h>
#include <string.h>

static bool text_field(struct api_call *call, json_t *body, const char *key, bool required,
                       size_t max, const char **out)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) {
        if (required) {
            if (v)
                api_error(call, 400, "invalid_field", key, "%s cannot be null", key);
            else
                api_error(call, 400, "missing_field", key, "%s is required", key);
            return false;
        }
        *out = NULL;
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        api_error(call, 400, "invalid_field", key, "%s must be a string of 1 to %zu bytes", key,
                  max);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool timezone_field(struct api_call *call, json_t *body, const char *key, bool required,
                           const char **out)
{
    if (!text_field(call, body, key, required, 64, out))
        return false;
    if (*out && !render_timezone_valid(*out)) {
        api_error(call, 400, "invalid_field", key,
                  "%s must be an IANA time zone such as Europe/Dublin", key);
        return false;
    }
    return true;
}

/* ---- create and list (operator) ---- */

/* A store request plus what the answer needs besides its outputs. */
struct ws_create_job {
    struct st_ws_create q; /* first: the job is its store request */
    const char *api_key;
};

static void on_ws_created(struct store_req *r)
{
    struct ws_create_job *job = (struct ws_create_job *)r;
    struct st_ws_create *q = &job->q;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_CONFLICT) {
        api_error(call, 409, "workspace_exists", "id", "a workspace with id %s exists", q->id);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "workspace");
    api_json_workspace(&w, &q->out);
    jw_kstr(&w, "api_key", job->api_key);
    jw_kstr(&w, "signing_secret", q->signing_secret);
    jw_obj_end(&w);
    api_reply(call, 201, &b);
}

void h_workspace_create(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"id", "name", "timezone", NULL};
    const char *id, *name, *tz;
    if (!api_known_keys(call, body, "", keys))
        return;
    json_t *jid = json_object_get(body, "id");
    if (!jid || json_is_null(jid)) {
        api_error(call, 400, "missing_field", "id", "id is required");
        return;
    }
    id = json_string_value(jid);
    if (!id || !hostid_valid(id)) {
        api_error(call, 400, "invalid_field", "id",
                  "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    if (!text_field(call, body, "name", true, 200, &name) ||
        !timezone_field(call, body, "timezone", true, &tz))
        return;

    struct ws_create_job *job = API_REQ(call, ws_create_job, ST_WS_CREATE, on_ws_created);
    struct st_ws_create *q = &job->q;
    q->id = arena_strdup(call->arena, id);
    q->name = arena_strdup(call->arena, name);
    q->timezone = arena_strdup(call->arena, tz);
    char *secret = signing_secret_generate();
    q->signing_secret = arena_strdup(call->arena, secret);
    free(secret);
    char *key = apikey_generate(q->key_id);
    key_hash(key, q->key_hash);
    job->api_key = arena_strdup(call->arena, key);
    free(key);
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

static void on_ws_list(struct store_req *r)
{
    struct st_ws_list *q = (struct st_ws_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "workspaces"))
        return;
    for (size_t i = 0; i < q->n; i++)
        api_json_workspace(&w, &q->out[i]);
    jw_arr_end(&w);
    api_list_reply(call, &b, &w);
}

void h_workspace_list(struct api_call *call)
{
    struct st_ws_list *q = API_REQ(call, st_ws_list, ST_WS_LIST, on_ws_list);
    store_submit(call->api->store, &q->base);
}

/* ---- settings (host app) ---- */

static void reply_workspace(struct api_call *call, const struct workspace *ws)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    api_json_workspace(&w, ws);
    api_reply(call, 200, &b);
}

void h_workspace_get(struct api_call *call)
{
    reply_workspace(call, &call->ws);
}

static void on_ws_updated(struct store_req *r)
{
    struct st_ws_update *q = (struct st_ws_update *)r;
    if (r->rc != STORE_OK)
        api_store_error(CALL_OF(r), r->rc);
    else
        reply_workspace(CALL_OF(r), &q->out);
}

static bool int_field(struct api_call *call, json_t *body, const char *key, int lo, int hi,
                      int *out)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        api_error(call, 400, "invalid_field", key, "%s must be an integer from %d to %d", key,
                  lo, hi);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

static bool bool_field(struct api_call *call, json_t *body, const char *key, int *out)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_boolean(v)) {
        api_error(call, 400, "invalid_field", key, "%s must be true or false", key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* GSM alphanumeric sender ids are at most 11 characters; numbers are E.164. */
static bool sender_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (s[0] == '+') {
        if (n < 9 || n > 16)
            return false;
        for (size_t i = 1; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
        return true;
    }
    if (n < 1 || n > 11)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ' '))
            return false;
    }
    return true;
}

void h_workspace_patch(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {
        "name", "timezone", "message_group_window_s", "booking_alert_audience",
        "phi_in_external_channels", "sms_fallback_to_email", "retention_days",
        "email_sender_name", "sms_sender_id", "default_preferences", "app_url", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct st_ws_update *q = API_REQ(call, st_ws_update, ST_WS_UPDATE, on_ws_updated);
    struct ws_patch *p = &q->patch;
    p->message_group_window_s = p->booking_alert_audience = p->phi_in_external_channels =
        p->sms_fallback_to_email = p->retention_days = -1;

    if (json_object_get(body, "name") && !text_field(call, body, "name", true, 200, &p->name))
        return;
    if (json_object_get(body, "timezone") &&
        !timezone_field(call, body, "timezone", true, &p->timezone))
        return;
    if (!int_field(call, body, "message_group_window_s", 10, 86400, &p->message_group_window_s) ||
        !int_field(call, body, "retention_days", 1, 3650, &p->retention_days) ||
        !bool_field(call, body, "phi_in_external_channels", &p->phi_in_external_channels) ||
        !bool_field(call, body, "sms_fallback_to_email", &p->sms_fallback_to_email))
        return;
    json_t *aud = json_object_get(body, "booking_alert_audience");
    if (aud) {
        p->booking_alert_audience = audience_parse(json_string_value(aud));
        if (p->booking_alert_audience < 0) {
            api_error(call, 400, "invalid_field", "booking_alert_audience",
                      "booking_alert_audience must be assigned or all_staff");
            return;
        }
    }
    if (json_object_get(body, "email_sender_name")) {
        p->set_email_sender_name = true;
        if (!text_field(call, body, "email_sender_name", false, 100, &p->email_sender_name))
            return;
    }
    if (json_object_get(body, "sms_sender_id")) {
        p->set_sms_sender_id = true;
        if (!text_field(call, body, "sms_sender_id", false, 16, &p->sms_sender_id))
            return;
        if (p->sms_sender_id && !sender_id_ok(p->sms_sender_id)) {
            api_error(call, 400, "invalid_field", "sms_sender_id",
                      "sms_sender_id must be 1 to 11 letters, digits or spaces, or an "
                      "E.164 number");
            return;
        }
    }
    if (json_object_get(body, "app_url")) {
        p->set_app_url = true;
        if (!text_field(call, body, "app_url", false, 500, &p->app_url))
            return;
        if (p->app_url && strncmp(p->app_url, "https://", 8) != 0 &&
            strncmp(p->app_url, "http://", 7) != 0) {
            api_error(call, 400, "invalid_field", "app_url",
                      "app_url must be an http(s) URL, such as https://app.example.com");
            return;
        }
    }
    json_t *defaults = json_object_get(body, "default_preferences");
    if (defaults) {
        /* sources, as GET answers them, may be sent back; they are derived. */
        static const char *const dkeys[] = {"categories", "sources", NULL};
        if (!json_is_object(defaults)) {
            api_error(call, 400, "invalid_field", "default_preferences",
                      "default_preferences must be an object");
            return;
        }
        if (!api_known_keys(call, defaults, "default_preferences", dkeys))
            return;
        json_t *cats = json_object_get(defaults, "categories");
        if (cats && !api_parse_matrix(call, cats, "default_preferences.categories",
                                      &p->prefs_set_mask, &p->prefs_on, &p->prefs_clear_mask))
            return;
    }
    q->wid = call->ws.wid;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

/* ---- credits ---- */

static void reply_balance(struct api_call *call, int64_t balance)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kint(&w, "balance", balance);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

void h_credits_get(struct api_call *call)
{
    reply_balance(call, call->ws.credits);
}

static void on_credits(struct store_req *r)
{
    struct st_credits_add *q = (struct st_credits_add *)r;
    if (r->rc != STORE_OK)
        api_store_error(CALL_OF(r), r->rc);
    else
        reply_balance(CALL_OF(r), q->balance);
}

void h_credits_add(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"add", "reason", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    json_t *add = json_object_get(body, "add");
    if (!add) {
        api_error(call, 400, "missing_field", "add", "add is required");
        return;
    }
    if (!json_is_integer(add) || json_integer_value(add) <= 0 ||
        json_integer_value(add) > 1000000000) {
        api_error(call, 400, "invalid_field", "add",
                  "add must be a whole number of credits from 1 to 1000000000");
        return;
    }
    const char *reason;
    if (!text_field(call, body, "reason", false, 200, &reason))
        return;
    struct st_credits_add *q = API_REQ(call, st_credits_add, ST_CREDITS_ADD, on_credits);
    q->wid = call->ws.wid;
    q->add = json_integer_value(add);
    q->reason = reason;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

/* ---- API keys ---- */

/* Admin routes name the workspace in the path; resolve it first. */
static void with_workspace(struct api_call *call, void (*then)(struct api_call *));

struct ws_lookup_job {
    struct st_ws_get q; /* first */
    void (*then)(struct api_call *call);
};

static void on_ws_for_keys(struct store_req *r)
{
    struct ws_lookup_job *job = (struct ws_lookup_job *)r;
    struct st_ws_get *q = &job->q;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", NULL, "no workspace %s", q->id);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    call->ws = q->out;
    job->then(call);
}

static void with_workspace(struct api_call *call, void (*then)(struct api_call *))
{
    if (call->cred != NEED_ADMIN) {
        then(call);
        return;
    }
    struct ws_lookup_job *job = API_REQ(call, ws_lookup_job, ST_WS_GET, on_ws_for_keys);
    job->q.id = call->params[0];
    job->then = then;
    store_submit(call->api->store, &job->q.base);
}

struct key_create_job {
    struct st_key_create q; /* first */
    const char *api_key;
};

static void on_key_created(struct store_req *r)
{
    struct key_create_job *job = (struct key_create_job *)r;
    struct st_key_create *q = &job->q;
    struct api_call *call = CALL_OF(r);
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "key_id", q->key_id);
    jw_kstr(&w, "name", q->name);
    jw_kstr(&w, "api_key", job->api_key);
    jw_ktime(&w, "created_at", q->now);
    jw_obj_end(&w);
    api_reply(call, 201, &b);
}

static void key_create(struct api_call *call)
{
    json_t *body = call->body;
    const char *name = NULL;
    if (!text_field(call, body, "name", false, 100, &name))
        return;
    struct key_create_job *job = API_REQ(call, key_create_job, ST_KEY_CREATE, on_key_created);
    struct st_key_create *q = &job->q;
    q->wid = call->ws.wid;
    q->now = call->now;
    q->name = name ? arena_strdup(call->arena, name) : NULL;
    char *key = apikey_generate(q->key_id);
    key_hash(key, q->key_hash);
    job->api_key = arena_strdup(call->arena, key);
    free(key);
    store_submit(call->api->store, &q->base);
}

void h_keys_create(struct api_call *call)
{
    json_t *body = api_body(call, true);
    if (!body)
        return;
    static const char *const keys[] = {"name", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    with_workspace(call, key_create);
}

static void on_key_list(struct store_req *r)
{
    struct st_key_list *q = (struct st_key_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "keys"))
        return;
    for (size_t i = 0; i < q->n; i++) {
        jw_obj(&w);
        jw_kstr(&w, "key_id", q->out[i].key_id);
        jw_kstr(&w, "name", q->out[i].name);
        jw_ktime(&w, "created_at", q->out[i].created_at);
        jw_key(&w, "revoked_at");
        if (q->out[i].revoked_at)
            jw_time(&w, q->out[i].revoked_at);
        else
            jw_null(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    api_list_reply(call, &b, &w);
}

static void key_list(struct api_call *call)
{
    struct st_key_list *q = API_REQ(call, st_key_list, ST_KEY_LIST, on_key_list);
    q->wid = call->ws.wid;
    store_submit(call->api->store, &q->base);
}

void h_keys_list(struct api_call *call)
{
    with_workspace(call, key_list);
}

static void on_key_revoked(struct store_req *r)
{
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_CONFLICT)
        api_error(call, 409, "last_key", "key_id",
                  "this is the workspace's last live key; create another one first");
    else if (r->rc == STORE_NOT_FOUND)
        api_error(call, 404, "not_found", NULL, "no live key with that id in this workspace");
    else if (r->rc != STORE_OK)
        api_store_error(call, r->rc);
    else
        api_reply_empty(call, 204);
}

static void key_revoke(struct api_call *call)
{
    struct st_key_revoke *q = API_REQ(call, st_key_revoke, ST_KEY_REVOKE, on_key_revoked);
    q->wid = call->ws.wid;
    q->key_id = call->params[call->cred == NEED_ADMIN ? 1 : 0];
    /* A host app must not lock itself out; the operator may. */
    q->keep_last = call->cred != NEED_ADMIN;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

void h_keys_revoke(struct api_call *call)
{
    with_workspace(call, key_revoke);
}
