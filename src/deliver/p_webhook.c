/* p_webhook.c - SMS through any HTTP gateway: a JSON POST signed with
 * HMAC-SHA256 (PROTOCOLS.md 5.2; docs/api.md shows how to verify it).
 *
 *   X-Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t "." body)>
 *   Idempotency-Key: <delivery id>   (the same on every try)
 *
 * Any 2xx is accepted; a JSON answer's "id" is kept as the message id. */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "deliver/segments.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/jw.h"
#include "core/log.h"
#include "engine/model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct webhook {
    struct curlev *cv;
    const char *url, *secret;
    long timeout_ms;
};

static int webhook_open(struct provider *p, const struct deliver_settings *s)
{
    const char *url = s->webhook.url;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        hlog_error("deliver: sms_webhook_url must be an http(s) URL");
        return -1;
    }
    if (strlen(s->webhook.secret) < 16) {
        hlog_error("deliver: sms_webhook_secret must be at least 16 characters (it signs "
                   "every request)");
        return -1;
    }
    struct webhook *w = xcalloc(1, sizeof *w);
    w->url = url;
    w->secret = s->webhook.secret;
    w->timeout_ms = (long)s->sms_timeout_s * 1000;
    long connections = s->sms_connections > 0 ? s->sms_connections : 1;
    p->capacity = (int)connections * PROVIDER_QUEUE_PER_CONNECTION;
    w->cv = curlev_new(p->env.base, connections, connections);
    p->state = w;
    return 0;
}

static bool webhook_answer(struct send_job *job, const struct http_answer *a)
{
    if (a->rc != CURLE_OK)
        return false;
    json_t *j = json_loadb(a->body, a->len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (job->result.outcome == SEND_OK && id)
        job->result.message_id = arena_strndup(&job->arena, id, strnlen(id, 128));
    if (job->result.outcome != SEND_OK && a->len)
        provider_result(job, job->result.outcome, "%ld: %.200s", a->status, a->body);
    json_decref(j);
    return false;
}

static void webhook_send(struct provider *p, struct send_job *job)
{
    struct webhook *w = p->state;
    const struct delivery *d = &job->d;
    char id[DELIVERY_ID_MAX];
    delivery_id_format(d->id, id);
    struct sms_count sc = {SMS_GSM7, 0, 1};
    sms_count(d->body ? d->body : "", &sc);

    struct buf body = BUF_INIT;
    struct jw j;
    jw_init(&j, &body);
    jw_obj(&j);
    jw_kstr(&j, "id", id);
    jw_kstr(&j, "workspace", d->ws_id);
    jw_kstr(&j, "to", d->to);
    jw_kstr(&j, "from", d->sms_sender_id && *d->sms_sender_id ? d->sms_sender_id : NULL);
    jw_kstr(&j, "text", d->body ? d->body : "");
    jw_kint(&j, "segments", sc.segments);
    jw_kstr(&j, "encoding", sms_encoding_name(sc.encoding));
    jw_obj_end(&j);

    /* t is the clock's, like every time Herald states. */
    long long t = (long long)(hclock_now_ms(p->env.clock) / 1000);
    struct buf signed_text = BUF_INIT;
    buf_printf(&signed_text, "%lld.", t);
    buf_add(&signed_text, body.data, body.len);
    uint8_t mac[SHA256_LEN];
    crypto_hmac_sha256(w->secret, strlen(w->secret), signed_text.data, signed_text.len, mac);
    buf_free(&signed_text);
    char hex[2 * SHA256_LEN + 1];
    hex_encode(mac, sizeof mac, hex);
    const char *headers[2] = {
        arena_printf(&job->arena, "X-Herald-Signature: t=%lld,v1=%s", t, hex),
        arena_printf(&job->arena, "Idempotency-Key: %s", id),
    };
    struct http_post_req rq = {
        .url = w->url,
        .content_type = "application/json",
        .body = body.data,
        .len = body.len,
        .headers = headers,
        .nheaders = 2,
        .timeout_ms = w->timeout_ms,
    };
    http_post(w->cv, job, &rq, webhook_answer);
    buf_free(&body);
}

static void webhook_close(struct provider *p)
{
    struct webhook *w = p->state;
    if (!w)
        return;
    curlev_free(w->cv);
    free(w);
    p->state = NULL;
}

const struct provider_ops provider_webhook = {
    .name = "webhook", .channel = CH_SMS, .open = webhook_open, .send = webhook_send,
    .close = webhook_close,
};
