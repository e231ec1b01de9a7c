/* p_apns.c - Apple Push Notification service, token auth over HTTP/2
 * (PROTOCOLS.md 3): many pushes multiplexed on one connection per host.
 *
 * The provider token (ES256, {iss: team, iat}) is shared by every push and
 * signed again after 50 minutes (Apple: no more often than every 20, no
 * less than every 60). An ExpiredProviderToken answer makes the next push
 * sign again, if the token is 20 minutes old.
 *
 * Answers: 200 is sent (apns-id kept); BadDeviceToken,
 * DeviceTokenNotForTopic and 410 Unregistered remove the device (410 only
 * if it was not registered again after Apple's timestamp); 429, 500 and
 * 503 are retried; 413 and the other 400s fail this message; the other
 * 403s are our configuration. A connection that is not HTTP/2 is refused. */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "core/clock.h"
#include "core/jw.h"
#include "core/log.h"
#include "engine/model.h"
#include "push/jws.h"
#include "push/p256.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS 100
#define TOKEN_RENEW_S (50 * 60)
#define TOKEN_MIN_AGE_S (20 * 60)
#define KEY_FILE_MAX (16 * 1024)
#define AMBIGUOUS_STREAK_MAX 5
#define PAYLOAD_MAX 4096

struct apns {
    struct curlev *cv;
    EVP_PKEY *key;
    char *key_id, *team_id, *topic, *host, *sandbox_host;
    const char *ca_file;
    int ttl_s;
    long timeout_ms;
    struct hclock *clock;
    char *token;
    int64_t token_iat;
    bool stale;
    /* BadDeviceToken and DeviceTokenNotForTopic also answer a wrong topic or
     * a sandbox token sent to production: they remove devices only once a
     * push has worked, and stop after a streak (then it is our settings). */
    bool seen_ok;
    int ambiguous_streak;
};

static char *trimmed_host(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    char *out = xmalloc(n + 1);
    memcpy(out, url, n);
    out[n] = '\0';
    return out;
}

static int apns_open(struct provider *p, const struct deliver_settings *s)
{
    if (strlen(s->push.apns_key_id) != 10 || strlen(s->push.apns_team_id) != 10 ||
        !*s->push.apns_topic) {
        hlog_error("deliver: apns needs apns_key_id and apns_team_id (10 characters each) and "
                   "apns_topic (the app's bundle id)");
        return -1;
    }
    FILE *f = fopen(s->push.apns_key_file, "rb");
    char pem[KEY_FILE_MAX];
    size_t n = f ? fread(pem, 1, sizeof pem, f) : 0;
    if (f)
        fclose(f);
    EVP_PKEY *key = n && n < sizeof pem ? p256_from_pem(pem, n) : NULL;
    OPENSSL_cleanse(pem, sizeof pem);
    if (!key) {
        hlog_error("deliver: apns_key_file %s is not a readable P-256 key (.p8)",
                   s->push.apns_key_file);
        return -1;
    }
    struct apns *a = xcalloc(1, sizeof *a);
    a->key = key;
    a->key_id = xstrdup(s->push.apns_key_id);
    a->team_id = xstrdup(s->push.apns_team_id);
    a->topic = xstrdup(s->push.apns_topic);
    a->host = trimmed_host(s->push.apns_host);
    a->sandbox_host = trimmed_host(s->push.apns_sandbox_host);
    a->ca_file = s->push.ca_file;
    a->ttl_s = s->push.ttl_s;
    a->timeout_ms = (long)s->push.timeout_s * 1000;
    a->clock = p->env.clock;
    /* one connection per host (production, sandbox), streams multiplexed */
    a->cv = curlev_new(p->env.base, 2, STREAMS);
    p->capacity = STREAMS;
    p->state = a;
    return 0;
}

/* The shared provider token, signed again when due. */
static const char *provider_token(struct apns *a)
{
    int64_t now = hclock_now_ms(a->clock) / 1000;
    int64_t age = now - a->token_iat;
    if (a->token && age < TOKEN_RENEW_S && !(a->stale && age >= TOKEN_MIN_AGE_S))
        return a->token;
    char header[64], claims[64];
    snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", a->key_id);
    snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"iat\":%lld}", a->team_id,
             (long long)now);
    struct buf t = BUF_INIT;
    if (jws_sign(a->key, header, claims, &t) != 0) {
        buf_free(&t);
        return NULL;
    }
    free(a->token);
    a->token = buf_steal(&t);
    a->token_iat = now;
    a->stale = false;
    return a->token;
}

void apns_error_read(json_t *j, const char **reason, int64_t *timestamp)
{
    *reason = json_string_value(json_object_get(j, "reason"));
    if (!*reason)
        *reason = "";
    *timestamp = (int64_t)json_integer_value(json_object_get(j, "timestamp"));
}

static bool apns_answer(struct send_job *job, const struct http_answer *ans)
{
    struct apns *a = job->provider->state;
    if (ans->rc != CURLE_OK)
        return false;
    if (ans->http_version != CURL_HTTP_VERSION_2_0) {
        provider_result(job, SEND_CONFIG, "%ld over HTTP/1: APNs needs HTTP/2", ans->status);
        return false;
    }
    json_t *j = json_loadb(ans->body, ans->len, 0, NULL);
    const char *reason;
    int64_t stamp;
    apns_error_read(j, &reason, &stamp);
    enum send_outcome out;
    switch (ans->status) {
    case 200:
        out = SEND_OK;
        break;
    case 400:
        if (!strcmp(reason, "BadDeviceToken") || !strcmp(reason, "DeviceTokenNotForTopic"))
            out = !a->seen_ok || ++a->ambiguous_streak >= AMBIGUOUS_STREAK_MAX ? SEND_CONFIG
                                                                              : SEND_GONE;
        else
            out = SEND_PERMANENT;
        break;
    case 410:
        out = SEND_GONE;
        job->result.gone_at = stamp; /* ms; a device registered since stays */
        break;
    case 403:
        if (!strcmp(reason, "ExpiredProviderToken")) {
            a->stale = true;
            out = SEND_TRANSIENT;
        } else {
            out = SEND_CONFIG;
        }
        break;
    case 429:
    case 500:
    case 503:
        out = SEND_TRANSIENT;
        break;
    default:
        out = ans->status >= 500 ? SEND_TRANSIENT : SEND_PERMANENT;
    }
    if (out == SEND_OK) {
        a->seen_ok = true;
        a->ambiguous_streak = 0;
        provider_result(job, SEND_OK, "200 %s", ans->captured ? ans->captured : "accepted");
        job->result.message_id = ans->captured;
    } else {
        provider_result(job, out, "%ld %s", ans->status, reason);
        if (out == SEND_TRANSIENT)
            job->result.retry_after_ms = ans->retry_after_ms;
    }
    json_decref(j);
    return false;
}

static void apns_send(struct provider *p, struct send_job *job)
{
    struct apns *a = p->state;
    const struct delivery *d = &job->d;
    const char *token = provider_token(a);
    if (!token) {
        provider_result(job, SEND_CONFIG, "cannot sign the provider token");
        provider_done(job);
        return;
    }
    bool sandbox = d->device_env && strcmp(d->device_env, "sandbox") == 0;
    struct buf body = BUF_INIT;
    struct jw w;
    jw_init(&w, &body);
    jw_obj(&w);
    jw_key(&w, "aps");
    jw_obj(&w);
    jw_key(&w, "alert");
    jw_obj(&w);
    jw_kstr(&w, "title", d->subject);
    jw_kstr(&w, "body", d->body);
    jw_obj_end(&w);
    jw_kstr(&w, "sound", "default");
    jw_obj_end(&w);
    jw_key(&w, "herald"); /* the app's data, beside aps */
    if (d->data)
        jw_raw(&w, d->data, strlen(d->data));
    else
        jw_null(&w);
    jw_obj_end(&w);
    if (body.len > PAYLOAD_MAX) {
        provider_result(job, SEND_PERMANENT, "the payload is over APNs' %d bytes", PAYLOAD_MAX);
        buf_free(&body);
        provider_done(job);
        return;
    }
    char ntf[NOTIFICATION_ID_MAX];
    notification_id_format(d->nid, ntf);
    int64_t now_s = hclock_now_ms(a->clock) / 1000;
    const char *headers[] = {
        arena_printf(&job->arena, "authorization: bearer %s", token),
        arena_printf(&job->arena, "apns-topic: %s", a->topic),
        "apns-push-type: alert",
        "apns-priority: 10",
        arena_printf(&job->arena, "apns-expiration: %lld", (long long)(now_s + a->ttl_s)),
        arena_printf(&job->arena, "apns-collapse-id: %s", ntf),
    };
    struct http_post_req rq = {
        .url = arena_printf(&job->arena, "%s/3/device/%s", sandbox ? a->sandbox_host : a->host,
                            d->device_token),
        .content_type = "application/json",
        .body = body.data,
        .len = body.len,
        .headers = headers,
        .nheaders = sizeof headers / sizeof *headers,
        .timeout_ms = a->timeout_ms,
        .http2 = true,
        .ca_file = a->ca_file,
        .capture = "apns-id",
    };
    http_post(a->cv, job, &rq, apns_answer);
    buf_free(&body);
}

static void apns_close(struct provider *p)
{
    struct apns *a = p->state;
    if (!a)
        return;
    curlev_free(a->cv);
    EVP_PKEY_free(a->key);
    free(a->key_id);
    free(a->team_id);
    free(a->topic);
    free(a->host);
    free(a->sandbox_host);
    free(a->token);
    free(a);
    p->state = NULL;
}

const struct provider_ops provider_apns = {
    .name = "apns", .channel = CH_PUSH, .open = apns_open, .send = apns_send,
    .close = apns_close,
};
