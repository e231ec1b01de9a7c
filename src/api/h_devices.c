/* h_devices.c - a member's devices (PUT/PATCH/GET/DELETE /v1/me/devices)
 * and the Web Push key browsers subscribe with. A device is registered (or
 * refreshed) on every login with its push credential: an FCM or APNs
 * token, or a Web Push subscription. Answers never show a credential in
 * full: only its last 6 characters. */
#include "api/api_int.h"
#include "core/crypto.h"
#include "core/hostid.h"
#include "push/p256.h"
#include "push/vapid.h"
#include "deliver/netcheck.h"

#include <strings.h>

#include <string.h>

#define TOKEN_MAX 4096
#define ENDPOINT_MAX 2048
#define DEVICE_NAME_MAX 100

void h_vapid_key(struct api_call *call)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "public_key", call->api->vapid_public);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}

static void device_json(struct jw *w, const struct device *d)
{
    jw_obj(w);
    jw_kstr(w, "id", d->id);
    jw_kstr(w, "kind", device_kind_name((enum device_kind)d->kind));
    jw_kstr(w, "name", d->name);
    jw_kbool(w, "enabled", d->enabled);
    size_t n = strlen(d->token);
    jw_kstr(w, "token_suffix", d->token + (n > 6 ? n - 6 : 0));
    if (d->kind == DEV_WEBPUSH) {
        char origin[256];
        jw_kstr(w, "endpoint_origin",
                url_origin(d->token, origin, sizeof origin) == 0 ? origin : NULL);
    }
    if (d->kind == DEV_APNS)
        jw_kstr(w, "environment", d->environment ? d->environment : "production");
    jw_ktime(w, "created_at", d->created_at);
    jw_ktime(w, "updated_at", d->updated_at);
    jw_ktime(w, "last_seen", d->last_seen);
    jw_obj_end(w);
}

static void on_device(struct store_req *r)
{
    struct st_device_put *q = (struct st_device_put *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", NULL, "no device %s among yours", q->id);
        return;
    }
    if (r->rc == STORE_CONFLICT) {
        api_error(call, 409, "too_many_devices", NULL,
                  "a member may have %d devices; delete one first", DEVICES_PER_MEMBER_MAX);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    device_json(&w, &q->out);
    api_reply(call, q->created ? 201 : 200, &b);
}

static bool device_id_ok(struct api_call *call, const char *id)
{
    if (hostid_valid(id))
        return true;
    api_error(call, 400, "invalid_field", "device_id",
              "a device id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
    return false;
}

/* name and enabled, shared by PUT and PATCH. */
static bool read_switches(struct api_call *call, json_t *body, struct st_device_put *q)
{
    json_t *name = json_object_get(body, "name");
    if (name && !json_is_null(name)) {
        const char *s = json_string_value(name);
        if (!s || !*s || strlen(s) > DEVICE_NAME_MAX) {
            api_error(call, 400, "invalid_field", "name",
                      "name must be a string of 1 to %d bytes", DEVICE_NAME_MAX);
            return false;
        }
        q->name = arena_strdup(call->arena, s);
    }
    json_t *enabled = json_object_get(body, "enabled");
    q->enabled = -1;
    if (enabled && !json_is_null(enabled)) {
        if (!json_is_boolean(enabled)) {
            api_error(call, 400, "invalid_field", "enabled", "enabled must be true or false");
            return false;
        }
        q->enabled = json_is_true(enabled);
    }
    return true;
}

static bool printable_token(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool hex_token(const char *s)
{
    size_t n = strlen(s);
    if (n < 64 || n > 200 || n % 2)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return false;
    return true;
}

/* A base64url field of the subscription's keys that decodes to n bytes. */
static bool key_field(struct api_call *call, json_t *keys, const char *name, size_t n,
                      uint8_t *out, const char **text)
{
    const char *s = json_string_value(json_object_get(keys, name));
    uint8_t buf[128];
    size_t len = s ? strlen(s) : 0;
    /* browsers send these unpadded; some libraries pad */
    while (len && s[len - 1] == '=')
        len--;
    if (!s || len > 160 || b64url_decode(s, len, buf) != (long)n) {
        api_error(call, 400, "invalid_field",
                  strcmp(name, "p256dh") == 0 ? "subscription.keys.p256dh"
                                              : "subscription.keys.auth",
                  "%s must be base64url of %zu bytes", name, n);
        return false;
    }
    memcpy(out, buf, n);
    *text = arena_strndup(call->arena, s, len);
    return true;
}

/* Where a member may make Herald POST: a public push service on port 443,
 * never its own network (the check repeats at connect time, after DNS).
 * Tests allow http, loopback and any port (push_allow_insecure_endpoints). */
static const char *endpoint_refused(const char *endpoint, bool insecure_ok)
{
    const char *auth = strstr(endpoint, "://") + 3;
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen))
        return "endpoint must not carry a user name";
    if (insecure_ok)
        return NULL;
    char host[256];
    const char *port = NULL;
    size_t hlen;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return "endpoint's host is not readable";
        hlen = (size_t)(close - auth) + 1;
        if (hlen < alen)
            port = close[1] == ':' ? close + 2 : "";
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon)
            port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof host)
        return "endpoint's host is not readable";
    memcpy(host, auth, hlen);
    host[hlen] = '\0';
    if (port && (strncmp(port, "443", 3) != 0 || (size_t)(port + 3 - auth) != alen))
        return "endpoint must use port 443, as push services do";
    size_t n = strlen(host);
    if (strcasecmp(host, "localhost") == 0 ||
        (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0) || net_literal_private(host))
        return "endpoint must be a push service on the public internet";
    return NULL;
}

static bool read_subscription(struct api_call *call, json_t *body, struct st_device_put *q)
{
    json_t *sub = json_object_get(body, "subscription");
    if (!json_is_object(sub)) {
        api_error(call, 400, "missing_field", "subscription",
                  "a webpush device needs subscription: {endpoint, keys: {p256dh, auth}}, "
                  "as PushSubscription.toJSON() gives it");
        return false;
    }
    static const char *const sub_keys[] = {"endpoint", "keys", "expirationTime", NULL};
    if (!api_known_keys(call, sub, "subscription", sub_keys))
        return false;
    const char *endpoint = json_string_value(json_object_get(sub, "endpoint"));
    bool https = endpoint && strncmp(endpoint, "https://", 8) == 0;
    bool http = endpoint && strncmp(endpoint, "http://", 7) == 0;
    char origin[256];
    if (!endpoint || strlen(endpoint) > ENDPOINT_MAX || !printable_token(endpoint) ||
        !(https || (http && call->api->cfg.allow_insecure_push)) ||
        url_origin(endpoint, origin, sizeof origin) != 0) {
        api_error(call, 400, "invalid_field", "subscription.endpoint",
                  "endpoint must be the push service's https:// URL (at most %d bytes)",
                  ENDPOINT_MAX);
        return false;
    }
    const char *refused = endpoint_refused(endpoint, call->api->cfg.allow_insecure_push);
    if (refused) {
        api_error(call, 400, "invalid_field", "subscription.endpoint", "%s", refused);
        return false;
    }
    json_t *keys = json_object_get(sub, "keys");
    if (!json_is_object(keys)) {
        api_error(call, 400, "missing_field", "subscription.keys",
                  "subscription.keys must hold p256dh and auth");
        return false;
    }
    static const char *const key_names[] = {"p256dh", "auth", NULL};
    if (!api_known_keys(call, keys, "subscription.keys", key_names))
        return false;
    uint8_t pub[P256_PUBLIC_LEN], auth[16];
    if (!key_field(call, keys, "p256dh", sizeof pub, pub, &q->p256dh) ||
        !key_field(call, keys, "auth", sizeof auth, auth, &q->auth))
        return false;
    EVP_PKEY *point = p256_from_public(pub);
    if (!point) {
        api_error(call, 400, "invalid_field", "subscription.keys.p256dh",
                  "p256dh is not a P-256 public key");
        return false;
    }
    EVP_PKEY_free(point);
    q->token = arena_strdup(call->arena, endpoint);
    return true;
}

void h_device_put(struct api_call *call)
{
    const char *id = call->params[0];
    if (!device_id_ok(call, id))
        return;
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"kind", "token", "subscription", "environment", "name",
                                       "enabled", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct st_device_put *q = API_REQ(call, st_device_put, ST_DEVICE_PUT, on_device);
    json_t *kind = json_object_get(body, "kind");
    if (!kind) {
        api_error(call, 400, "missing_field", "kind", "kind is required: fcm, apns or webpush");
        return;
    }
    if ((q->kind = device_kind_parse(json_string_value(kind))) < 0) {
        api_error(call, 400, "invalid_field", "kind", "kind must be fcm, apns or webpush");
        return;
    }
    if (q->kind == DEV_WEBPUSH) {
        if (json_object_get(body, "token") || json_object_get(body, "environment")) {
            api_error(call, 400, "invalid_field", json_object_get(body, "token") ? "token"
                                                                                 : "environment",
                      "a webpush device has a subscription, not a token or an environment");
            return;
        }
        if (!read_subscription(call, body, q))
            return;
    } else {
        if (json_object_get(body, "subscription")) {
            api_error(call, 400, "invalid_field", "subscription",
                      "only webpush devices have a subscription");
            return;
        }
        const char *token = json_string_value(json_object_get(body, "token"));
        bool ok = token && *token && strlen(token) <= TOKEN_MAX && printable_token(token) &&
                  (q->kind != DEV_APNS || hex_token(token));
        if (!ok) {
            api_error(call, 400, json_object_get(body, "token") ? "invalid_field" : "missing_field",
                      "token", q->kind == DEV_APNS
                                   ? "token must be the APNs device token in hex (64 to 200 "
                                     "digits)"
                                   : "token must be the FCM registration token (printable, at "
                                     "most 4096 bytes)");
            return;
        }
        q->token = arena_strdup(call->arena, token);
        json_t *env = json_object_get(body, "environment");
        if (env && !json_is_null(env)) {
            const char *e = json_string_value(env);
            if (q->kind != DEV_APNS || !e ||
                (strcmp(e, "production") != 0 && strcmp(e, "sandbox") != 0)) {
                api_error(call, 400, "invalid_field", "environment",
                          "environment is for apns devices: production or sandbox");
                return;
            }
            q->environment = arena_strdup(call->arena, e);
        }
    }
    if (!read_switches(call, body, q))
        return;
    q->credential = true;
    q->wid = call->ws.wid;
    q->mid = call->me.mid;
    q->id = id;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

void h_device_patch(struct api_call *call)
{
    const char *id = call->params[0];
    if (!device_id_ok(call, id))
        return;
    json_t *body = api_body(call, false);
    if (!body)
        return;
    static const char *const keys[] = {"name", "enabled", NULL};
    if (!api_known_keys(call, body, "", keys))
        return;
    struct st_device_put *q = API_REQ(call, st_device_put, ST_DEVICE_PUT, on_device);
    if (!read_switches(call, body, q))
        return;
    q->wid = call->ws.wid;
    q->mid = call->me.mid;
    q->id = id;
    q->now = call->now;
    store_submit(call->api->store, &q->base);
}

static void on_devices(struct store_req *r)
{
    struct st_device_list *q = (struct st_device_list *)r;
    struct api_call *call = CALL_OF(r);
    struct buf b;
    struct jw w;
    if (!api_list_open(call, r->rc, &b, &w, "items"))
        return;
    for (size_t i = 0; i < q->n; i++)
        device_json(&w, &q->items[i]);
    jw_arr_end(&w);
    api_list_reply(call, &b, &w);
}

void h_device_list(struct api_call *call)
{
    struct st_device_list *q = API_REQ(call, st_device_list, ST_DEVICE_LIST, on_devices);
    q->wid = call->ws.wid;
    q->mid = call->me.mid;
    store_submit(call->api->store, &q->base);
}

static void on_device_deleted(struct store_req *r)
{
    struct st_device_delete *q = (struct st_device_delete *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND)
        api_error(call, 404, "not_found", NULL, "no device %s among yours", q->id);
    else if (r->rc != STORE_OK)
        api_store_error(call, r->rc);
    else
        api_reply_empty(call, 204);
}

void h_device_delete(struct api_call *call)
{
    const char *id = call->params[0];
    if (!device_id_ok(call, id))
        return;
    struct st_device_delete *q =
        API_REQ(call, st_device_delete, ST_DEVICE_DELETE, on_device_deleted);
    q->wid = call->ws.wid;
    q->mid = call->me.mid;
    q->id = id;
    store_submit(call->api->store, &q->base);
}
