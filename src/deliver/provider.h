/* provider.h - private to src/deliver: the function table every provider
 * (sink, smtp, twilio, webhook) fills, and the job it is given.
 *
 * The deliverer owns jobs. A provider's send starts the work and, when
 * the answer is in, fills job->result and calls provider_done(job), once,
 * on the loop (possibly before send returns). */
#ifndef HERALD_DELIVER_PROVIDER_H
#define HERALD_DELIVER_PROVIDER_H

#include <stdint.h>

#include "core/arena.h"
#include "deliver/deliver.h"
#include "deliver/policy.h"
#include "store/store.h"

struct provider;
struct curlev;

struct send_result {
    enum send_outcome outcome;
    int64_t retry_after_ms;  /* the provider asked us to wait (0: no) */
    const char *answer;      /* the provider's words, short; in the job's arena */
    const char *message_id;  /* the provider's id for the message, if any */
    int64_t gone_at;         /* SEND_GONE: when the service saw it go (ms; 0: now) */
};

struct send_job {
    struct provider *provider; /* the one sending it (a push service's, not "push") */
    struct arena arena;      /* the delivery's strings and the provider's */
    struct delivery d;
    uint64_t started_ns;
    struct send_result result;
    int64_t finished_at, latency_ms, retry_at; /* set by provider_done */
    /* the provider's own notes on this send, in the job's arena */
    const char *credential_used; /* e.g. the access token it went with */
    unsigned tries_here;         /* sends the provider made again itself */
    void *owner;             /* the deliverer's */
    struct send_job *prev, *next;
};

/* What providers may use: the loop, the store (the sink), the clock. */
struct provider_env {
    struct event_base *base;
    struct store *store;
    struct hclock *clock;
};

struct provider_ops {
    const char *name;
    int channel; /* enum channel */
    /* Reads its settings; -1 (and the reason logged) when they are wrong. */
    int (*open)(struct provider *p, const struct deliver_settings *s);
    void (*send)(struct provider *p, struct send_job *job);
    void (*close)(struct provider *p);
    /* Optional, for a channel served by several (push): the provider a
     * device kind goes to, as the delivery log names it. */
    const char *(*name_for)(struct provider *p, int device_kind);
};

/* Sends handed to a network provider per connection it may open: the
 * extra ones wait in libcurl's queue for a free connection. Claims and
 * outcomes then reach the store in batches (one commit for many), so the
 * database's fsync does not pace the sending. */
#define PROVIDER_QUEUE_PER_CONNECTION 16

struct provider {
    const struct provider_ops *ops;
    struct provider_env env;
    int capacity;            /* sends in flight at most; open sets it */
    int64_t paused_until;    /* one of several on a channel (push), after a configuration error */
    void *state;             /* the provider's own; open makes it, close frees it */
};

void provider_done(struct send_job *job);

/* Longest answer kept (the log and the API show it). */
#define ANSWER_MAX 300

/* A result: outcome plus a printf-style answer in the job's arena. */
void provider_result(struct send_job *job, enum send_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

extern const struct provider_ops provider_sink_email, provider_sink_sms, provider_sink_push,
    provider_smtp, provider_twilio, provider_webhook, provider_push, provider_webpush,
    provider_fcm, provider_apns;

#endif
