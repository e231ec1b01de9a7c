/* p_push.c - the push channel: one provider that hands each delivery to
 * its device's service, Web Push, FCM or APNs. A service with no settings
 * (no FCM service account, no APNs key) gets the sink, so the demo and the
 * tests see what would have gone; Web Push needs only the installation's
 * VAPID key, which serve always has. */
#include "deliver/provider.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/model.h"

#include <stdlib.h>

struct push {
    struct provider kinds[DEV_KIND_COUNT];
};

static int push_open(struct provider *p, const struct deliver_settings *s)
{
    struct push *pp = xcalloc(1, sizeof *pp);
    const struct provider_ops *ops[DEV_KIND_COUNT] = {
        [DEV_FCM] = *s->push.fcm_service_account ? &provider_fcm : &provider_sink_push,
        [DEV_APNS] = *s->push.apns_key_file ? &provider_apns : &provider_sink_push,
        [DEV_WEBPUSH] = &provider_webpush,
    };
    p->capacity = 0;
    for (int k = 0; k < DEV_KIND_COUNT; k++) {
        struct provider *sub = &pp->kinds[k];
        sub->ops = ops[k];
        sub->env = p->env;
        sub->capacity = 1;
        if (sub->ops->open(sub, s) != 0) {
            for (int j = 0; j < k; j++)
                pp->kinds[j].ops->close(&pp->kinds[j]);
            free(pp);
            return -1;
        }
        p->capacity += sub->capacity;
        hlog_info("deliver: push to %s devices goes through %s", device_kind_name(k),
                  sub->ops->name);
    }
    p->state = pp;
    return 0;
}

static void push_send(struct provider *p, struct send_job *job)
{
    struct push *pp = p->state;
    int k = job->d.device_kind;
    if (k < 0 || k >= DEV_KIND_COUNT) {
        provider_result(job, SEND_PERMANENT, "unknown device kind %d", k);
        provider_done(job);
        return;
    }
    struct provider *sub = &pp->kinds[k];
    job->provider = sub; /* the one sending it, for its answer */
    if (sub->paused_until > hclock_now_ms(p->env.clock)) {
        /* Paused after a configuration error: the row waits, unspent. */
        provider_result(job, SEND_CONFIG, "%s is paused after a configuration error",
                        sub->ops->name);
        provider_done(job);
        return;
    }
    sub->ops->send(sub, job);
}

static void push_close(struct provider *p)
{
    struct push *pp = p->state;
    if (!pp)
        return;
    for (int k = 0; k < DEV_KIND_COUNT; k++)
        pp->kinds[k].ops->close(&pp->kinds[k]);
    free(pp);
    p->state = NULL;
}

static const char *push_name_for(struct provider *p, int kind)
{
    struct push *pp = p->state;
    return kind >= 0 && kind < DEV_KIND_COUNT ? pp->kinds[kind].ops->name : "push";
}

const struct provider_ops provider_push = {
    .name = "push", .channel = CH_PUSH, .open = push_open, .send = push_send,
    .close = push_close, .name_for = push_name_for,
};
