/* p_webpush.c - browser push (RFC 8030): the payload encrypted for the
 * subscription (RFC 8291), a VAPID token for the push service's origin
 * (RFC 8292), POSTed to the subscription's endpoint over HTTP/2 where the
 * service speaks it.
 *
 * 404 and 410 mean the subscription is gone: the device is removed. 413
 * and 400 are this message's problem, 401/403 this subscription's (a key
 * it was not made for); 429 and 5xx are retried. The endpoint is a secret
 * capability: it is never logged. */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/jw.h"
#include "core/log.h"
#include "engine/model.h"
#include "push/ece.h"
#include "push/vapid.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS_PER_CONNECTION 16

struct webpush {
    struct curlev *cv;
    struct vapid *vapid;
    int ttl_s;
    long timeout_ms;
    bool allow_insecure;
    const char *ca_file;
};

static int webpush_open(struct provider *p, const struct deliver_settings *s)
{
    if (!s->push.vapid_key) {
        hlog_error("deliver: web push needs the installation's VAPID key");
        return -1;
    }
    struct webpush *w = xcalloc(1, sizeof *w);
    w->vapid = vapid_new(s->push.vapid_key, s->push.vapid_subject);
    if (!w->vapid) {
        free(w);
        return -1;
    }
    w->ttl_s = s->push.ttl_s;
    w->timeout_ms = (long)s->push.timeout_s * 1000;
    w->allow_insecure = s->push.allow_insecure;
    w->ca_file = s->push.ca_file;
    long connections = s->push.connections > 0 ? s->push.connections : 1;
    long running = connections * STREAMS_PER_CONNECTION;
    p->capacity = (int)running;
    w->cv = curlev_new(p->env.base, connections, running);
    curlev_limit_per_host(w->cv, connections > 2 ? 2 : connections);
    p->state = w;
    return 0;
}

static bool webpush_answer(struct send_job *job, const struct http_answer *a)
{
    if (a->rc != CURLE_OK) {
        /* The endpoint is the subscriber's, not our settings: a certificate
         * that does not verify there fails this subscription only. */
        if (job->result.outcome == SEND_CONFIG)
            provider_result(job, SEND_PERMANENT, "the push service's TLS: %s", a->error);
        return false;
    }
    switch (a->status) {
    case 200:
    case 201:
    case 202:
        provider_result(job, SEND_OK, "%ld accepted", a->status);
        if (a->captured) /* the push message's resource: its id at the service */
            job->result.message_id = a->captured;
        return false;
    case 404:
    case 410:
        provider_result(job, SEND_GONE, "%ld: the subscription is gone", a->status);
        return false;
    case 401:
    case 403:
        /* The subscription was made for another key, or the service refuses
         * our token: this subscription, not the channel. */
        provider_result(job, SEND_PERMANENT, "%ld: the push service refused our VAPID token: "
                        "%.200s", a->status, a->body);
        return false;
    default:
        if (job->result.outcome != SEND_OK && a->len)
            provider_result(job, job->result.outcome, "%ld: %.200s", a->status, a->body);
    }
    return false;
}

/* The decrypted message the service worker gets: what to show, and the
 * app's data to open the right page. */
static void payload(const struct delivery *d, struct buf *out)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "title", d->subject);
    jw_kstr(&w, "body", d->body);
    jw_key(&w, "data");
    if (d->data)
        jw_raw(&w, d->data, strlen(d->data));
    else
        jw_null(&w);
    jw_obj_end(&w);
}

static const char *conversation_topic(struct send_job *job)
{
    json_t *data = job->d.data ? json_loads(job->d.data, 0, NULL) : NULL;
    const char *conv = json_string_value(json_object_get(data, "conversation_id"));
    const char *header = NULL;
    if (conv) {
        uint8_t digest[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1];
        crypto_sha256(conv, strlen(conv), digest);
        hex_encode(digest, 16, hex);
        header = arena_printf(&job->arena, "Topic: %s", hex);
    }
    json_decref(data);
    return header;
}

static void webpush_send(struct provider *p, struct send_job *job)
{
    struct webpush *w = p->state;
    const struct delivery *d = &job->d;
    const char *endpoint = d->device_token;
    uint8_t pub[68], auth[20];
    bool secure = strncmp(endpoint, "https://", 8) == 0;
    if (!secure && !(w->allow_insecure && strncmp(endpoint, "http://", 7) == 0)) {
        provider_result(job, SEND_GONE, "the endpoint is not https");
        provider_done(job);
        return;
    }
    if (!d->device_p256dh || !d->device_auth ||
        b64url_decode(d->device_p256dh, strlen(d->device_p256dh), pub) != 65 ||
        b64url_decode(d->device_auth, strlen(d->device_auth), auth) != 16) {
        provider_result(job, SEND_GONE, "the subscription's keys are unreadable");
        provider_done(job);
        return;
    }
    struct buf plain = BUF_INIT, body = BUF_INIT;
    payload(d, &plain);
    int rc = webpush_encrypt(pub, auth, plain.data, plain.len, NULL, NULL, &body);
    buf_free(&plain);
    if (rc != 0) {
        provider_result(job, SEND_PERMANENT, "cannot encrypt for this subscription (a bad key, "
                                             "or the message is over %d bytes)",
                        WEBPUSH_PLAINTEXT_MAX);
        buf_free(&body);
        provider_done(job);
        return;
    }
    int64_t now_s = hclock_now_ms(p->env.clock) / 1000;
    const char *authorization = vapid_authorization(w->vapid, endpoint, now_s);
    if (!authorization) {
        provider_result(job, SEND_GONE, "the endpoint has no origin");
        buf_free(&body);
        provider_done(job);
        return;
    }
    const char *headers[5] = {
        arena_printf(&job->arena, "TTL: %d", w->ttl_s),
        "Urgency: normal",
        "Content-Encoding: aes128gcm",
        arena_printf(&job->arena, "Authorization: %s", authorization),
    };
    size_t nheaders = 4;
    /* A conversation's newer "new messages" push replaces an older one the
     * browser has not fetched yet (RFC 8030 5.4): the topic names the
     * conversation, hashed to 32 alphanumerics. */
    const char *topic = conversation_topic(job);
    if (topic)
        headers[nheaders++] = topic;
    struct http_post_req rq = {
        .url = endpoint,
        .content_type = "application/octet-stream",
        .body = body.data,
        .len = body.len,
        .headers = headers,
        .nheaders = nheaders,
        .timeout_ms = w->timeout_ms,
        .http2 = true,
        .ca_file = w->ca_file,
        .capture = "location",
        .public_only = !w->allow_insecure,
    };
    http_post(w->cv, job, &rq, webpush_answer);
    buf_free(&body);
}

static void webpush_close(struct provider *p)
{
    struct webpush *w = p->state;
    if (!w)
        return;
    curlev_free(w->cv);
    vapid_free(w->vapid);
    free(w);
    p->state = NULL;
}

const struct provider_ops provider_webpush = {
    .name = "webpush", .channel = CH_PUSH, .open = webpush_open, .send = webpush_send,
    .close = webpush_close,
};
