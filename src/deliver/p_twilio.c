/* p_twilio.c - SMS through Twilio's Messages API, or anything that speaks
 * it (PROTOCOLS.md 5.1): a form POST with Basic auth; 201 means queued.
 * The base URL is a setting, so tests and compatible gateways can stand
 * in for api.twilio.com. */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "core/log.h"
#include "core/buf.h"
#include "engine/model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct twilio {
    struct curlev *cv;
    char *url;
    const char *sid, *token, *from, *service;
    long timeout_ms;
};

static int twilio_open(struct provider *p, const struct deliver_settings *s)
{
    if (!*s->twilio.account_sid || !*s->twilio.auth_token) {
        hlog_error("deliver: the twilio provider needs twilio_account_sid and twilio_auth_token");
        return -1;
    }
    if (!*s->twilio.from && !*s->twilio.messaging_service_sid) {
        hlog_error("deliver: the twilio provider needs twilio_from or "
                   "twilio_messaging_service_sid");
        return -1;
    }
    const char *base = s->twilio.base_url;
    if (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0) {
        hlog_error("deliver: twilio_base_url must be an http(s) URL");
        return -1;
    }
    struct twilio *t = xcalloc(1, sizeof *t);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    struct buf url = BUF_INIT;
    buf_printf(&url, "%.*s/2010-04-01/Accounts/%s/Messages.json", (int)n, base,
               s->twilio.account_sid);
    t->url = buf_steal(&url);
    t->sid = s->twilio.account_sid;
    t->token = s->twilio.auth_token;
    t->from = s->twilio.from;
    t->service = s->twilio.messaging_service_sid;
    t->timeout_ms = (long)s->sms_timeout_s * 1000;
    long connections = s->sms_connections > 0 ? s->sms_connections : 1;
    p->capacity = (int)connections * PROVIDER_QUEUE_PER_CONNECTION;
    t->cv = curlev_new(p->env.base, connections, connections);
    p->state = t;
    return 0;
}

static void add_field(struct buf *b, CURL *esc, const char *name, const char *value)
{
    char *v = curl_easy_escape(esc, value, 0);
    buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v ? v : "");
    curl_free(v);
}

/* 201 {"sid": "SM..."}; errors {"code": 21211, "message": "..."}. */
static bool twilio_answer(struct send_job *job, const struct http_answer *a)
{
    if (a->rc != CURLE_OK)
        return false;
    json_t *j = json_loadb(a->body, a->len, 0, NULL);
    const char *sid = json_string_value(json_object_get(j, "sid"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    json_int_t code = json_integer_value(json_object_get(j, "code"));
    if (job->result.outcome == SEND_OK) {
        if (sid)
            job->result.message_id = arena_strdup(&job->arena, sid);
        provider_result(job, SEND_OK, "%ld %s", a->status, sid ? sid : "accepted");
    } else {
        enum send_outcome out = job->result.outcome;
        if (code || msg)
            provider_result(job, out, "%ld %lld: %.200s", a->status, (long long)code,
                            msg ? msg : "");
        else
            provider_result(job, out, "%ld", a->status);
    }
    json_decref(j);
    return false;
}

static void twilio_send(struct provider *p, struct send_job *job)
{
    struct twilio *t = p->state;
    const struct delivery *d = &job->d;
    CURL *esc = curl_easy_init(); /* curl_easy_escape wants a handle */
    if (!esc)
        abort();
    struct buf form = BUF_INIT;
    add_field(&form, esc, "To", d->to);
    if (d->sms_sender_id && *d->sms_sender_id)
        add_field(&form, esc, "From", d->sms_sender_id);
    else if (*t->service)
        add_field(&form, esc, "MessagingServiceSid", t->service);
    else
        add_field(&form, esc, "From", t->from);
    add_field(&form, esc, "Body", d->body ? d->body : "");
    curl_easy_cleanup(esc);
    struct http_post_req rq = {
        .url = t->url,
        .content_type = "application/x-www-form-urlencoded",
        .body = form.data,
        .len = form.len,
        .user = t->sid,
        .password = t->token,
        .timeout_ms = t->timeout_ms,
    };
    http_post(t->cv, job, &rq, twilio_answer);
    buf_free(&form);
}

static void twilio_close(struct provider *p)
{
    struct twilio *t = p->state;
    if (!t)
        return;
    curlev_free(t->cv);
    free(t->url);
    free(t);
    p->state = NULL;
}

const struct provider_ops provider_twilio = {
    .name = "twilio", .channel = CH_SMS, .open = twilio_open, .send = twilio_send,
    .close = twilio_close,
};
