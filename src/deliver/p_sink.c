/* p_sink.c - the provider of a channel with none configured: it records
 * the message in the store (GET /v1/dev/sink) instead of sending it.
 *
 * Recording and marking the delivery sent are one transaction, fenced by
 * the claim, so a message is recorded exactly once even across crashes. */
#include "deliver/provider.h"
#include "core/clock.h"
#include "engine/model.h"

#define SINK_CAPACITY 64

static int sink_open(struct provider *p, const struct deliver_settings *s)
{
    (void)s;
    p->capacity = SINK_CAPACITY;
    return 0;
}

static void sink_send(struct provider *p, struct send_job *job);

static void on_recorded(struct store_req *r)
{
    struct st_sink_send *q = (struct st_sink_send *)r;
    struct send_job *job = r->arg;
    if (r->rc == STORE_OK && q->status == DS_SENDING && q->claims != job->d.claims) {
        sink_send(job->provider, job); /* re-claimed meanwhile: record for the new claim */
        return;
    }
    if (r->rc != STORE_OK)
        provider_result(job, SEND_TRANSIENT, "the sink could not record it (store error %d)",
                        r->rc);
    else if (q->status != DS_SENT)
        provider_result(job, SEND_RECORDED, "an older claim; its successor decides");
    else
        provider_result(job, SEND_RECORDED, "recorded by the sink");
    provider_done(job);
}

static void sink_send(struct provider *p, struct send_job *job)
{
    struct st_sink_send *q = ARENA_NEW(&job->arena, struct st_sink_send);
    q->base.op = ST_SINK_SEND;
    q->base.done = on_recorded;
    q->base.arg = job;
    q->base.arena = &job->arena;
    q->id = job->d.id;
    q->claims = job->d.claims;
    q->now = hclock_now_ms(p->env.clock);
    store_submit(p->env.store, &q->base);
}

static void sink_close(struct provider *p)
{
    (void)p;
}

const struct provider_ops provider_sink_email = {
    .name = "sink", .channel = CH_EMAIL, .open = sink_open, .send = sink_send, .close = sink_close,
};

const struct provider_ops provider_sink_sms = {
    .name = "sink", .channel = CH_SMS, .open = sink_open, .send = sink_send, .close = sink_close,
};

const struct provider_ops provider_sink_push = {
    .name = "sink", .channel = CH_PUSH, .open = sink_open, .send = sink_send, .close = sink_close,
};
