/* deliver.c - the claim / send / record cycle (see deliver.h).
 *
 * One claim is in flight at a time. A claim asks, per channel, for as many
 * due rows as the provider has free slots; each claimed row becomes a job;
 * each finished job stores its outcome and frees its slot, which asks for
 * another claim. When nothing is due the timer waits for the earliest
 * next_at (a retry, or a lease that ends), and looks every 30 s anyway;
 * new rows kick the cycle.
 *
 * A job is never sent twice by this process: a row it still has in flight
 * that comes back (its lease ran out: a slow send, a clock jump) is taken
 * over by the running job, whose outcome then answers the newer claim. An
 * outcome the store could not take is offered again; it is never dropped
 * while the process lives. A provider's configuration error (refused
 * credentials, an unverifiable server) pauses its channel instead of
 * spending the deliveries' attempts. */
#include "deliver/provider.h"
#include "deliver/curlev.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/mem.h"
#include "engine/model.h"
#include "metrics/metrics.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_MAX 256        /* rows per channel per claim (sq_outbox's cap) */
#define POLL_MS (30 * 1000)  /* a look at the outbox even when nothing says so */
#define RESUBMIT_MS 1000     /* an outcome the store refused is offered again */

struct waiter {
    struct waiter *next;
    void (*done)(void *arg, int rc);
    void *arg;
};

struct deliverer {
    struct event_base *base;
    struct store *store;
    struct hclock *clock;
    struct metrics *metrics;
    int max_attempts;
    int64_t backoff_ms, backoff_max_ms, lease_ms;
    struct provider *providers[CH_COUNT]; /* NULL: the channel is not sent */
    struct send_job *jobs;                /* in flight, for deliverer_free */
    int in_flight[CH_COUNT];              /* jobs until their outcome is stored */
    int in_flight_total;
    int64_t paused_until[CH_COUNT];       /* a configuration error's pause (clock ms) */
    bool claiming, again, stopped, closing;
    int last_rc;
    struct event *timer;
    int64_t armed_at;
    struct waiter *waiters;               /* deliverer_run_due */
    void (*drained)(void *arg);
    void *drained_arg;
    uint64_t rng;
};

static void claim(struct deliverer *d);

void deliver_settings_default(struct deliver_settings *s)
{
    memset(s, 0, sizeof *s);
    s->max_attempts = 8;
    s->backoff_s = 30;
    s->backoff_max_s = 3600;
    s->lease_s = 120;
    s->email_provider = s->sms_provider = "";
    s->smtp.url = s->smtp.username = s->smtp.password = s->smtp.from = s->smtp.ca_file = "";
    s->smtp.tls = "starttls";
    s->smtp.connections = 4;
    s->smtp.timeout_s = 30;
    s->smtp.reuse = true;
    s->twilio.base_url = "https://api.twilio.com";
    s->twilio.account_sid = s->twilio.auth_token = s->twilio.from = "";
    s->twilio.messaging_service_sid = "";
    s->webhook.url = s->webhook.secret = "";
    s->sms_connections = 8;
    s->sms_timeout_s = 15;
    s->push.vapid_subject = "";
    s->push.ttl_s = 86400;
    s->push.timeout_s = 15;
    s->push.connections = 8;
    s->push.ca_file = s->push.fcm_service_account = "";
    s->push.fcm_base_url = "https://fcm.googleapis.com";
    s->push.apns_key_file = s->push.apns_key_id = s->push.apns_team_id = "";
    s->push.apns_topic = "";
    s->push.apns_host = "https://api.push.apple.com";
    s->push.apns_sandbox_host = "https://api.sandbox.push.apple.com";
}

int deliver_global_init(void)
{
    return curlev_global_init();
}

/* ---- providers ---- */

static const struct provider_ops *const PROVIDERS[] = {
    &provider_sink_email, &provider_sink_sms, &provider_smtp, &provider_twilio, &provider_webhook,
    &provider_push,
};

static const struct provider_ops *find_provider(int channel, const char *name)
{
    for (size_t i = 0; i < sizeof PROVIDERS / sizeof *PROVIDERS; i++)
        if (PROVIDERS[i]->channel == channel && strcmp(PROVIDERS[i]->name, name) == 0)
            return PROVIDERS[i];
    return NULL;
}

/* An unset provider name picks the configured one, else the sink. */
static const char *chosen(int channel, const struct deliver_settings *s)
{
    if (channel == CH_PUSH)
        return "push"; /* which service, it decides per device */
    if (channel == CH_EMAIL)
        return *s->email_provider ? s->email_provider : *s->smtp.url ? "smtp" : "sink";
    if (*s->sms_provider)
        return s->sms_provider;
    return *s->twilio.account_sid ? "twilio" : *s->webhook.url ? "webhook" : "sink";
}

static struct provider *open_provider(struct deliverer *d, int channel,
                                      const struct deliver_settings *s)
{
    const char *name = chosen(channel, s);
    const struct provider_ops *ops = find_provider(channel, name);
    if (!ops) {
        hlog_error("deliver: no %s provider called \"%s\"", channel_name(channel), name);
        return NULL;
    }
    struct provider *p = xcalloc(1, sizeof *p);
    p->ops = ops;
    p->env = (struct provider_env){d->base, d->store, d->clock};
    p->capacity = 1;
    if (ops->open(p, s) != 0) {
        free(p);
        return NULL;
    }
    hlog_info("deliver: %s goes through %s (%d at once)", channel_name(channel), name,
              p->capacity);
    return p;
}

const char *deliverer_provider(const struct deliverer *d, int channel)
{
    if (channel < 0 || channel >= CH_COUNT || !d->providers[channel])
        return "";
    return d->providers[channel]->ops->name;
}

/* ---- waiting ---- */

static void arm(struct deliverer *d, int64_t at)
{
    if (d->clock->test || d->stopped)
        return; /* the test clock moves only through deliverer_run_due */
    int64_t now = hclock_now_ms(d->clock);
    if (at > now + POLL_MS)
        at = now + POLL_MS;
    if (d->armed_at && d->armed_at <= at && evtimer_pending(d->timer, NULL))
        return;
    d->armed_at = at;
    int64_t delay = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000 * 1000)};
    evtimer_add(d->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct deliverer *d = arg;
    d->armed_at = 0;
    claim(d);
}

/* Nothing claimed, nothing in flight: wake those who wait for calm. */
static void settle(struct deliverer *d)
{
    if (d->claiming || d->in_flight_total || d->again)
        return;
    if (d->stopped && d->drained) {
        void (*done)(void *) = d->drained;
        d->drained = NULL;
        done(d->drained_arg);
    }
    struct waiter *w = d->waiters;
    d->waiters = NULL;
    int rc = d->last_rc;
    d->last_rc = STORE_OK;
    while (w) {
        struct waiter *next = w->next;
        w->done(w->arg, rc);
        free(w);
        w = next;
    }
}

/* ---- outcomes ---- */

static uint32_t next_random(struct deliverer *d)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (uint32_t)((d->rng * 2685821657736338717ULL) >> 32);
}

static void job_free(struct deliverer *d, struct send_job *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        d->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    d->in_flight[job->d.channel]--;
    d->in_flight_total--;
    arena_reset(&job->arena);
    free(job);
}

static struct send_job *job_find(struct deliverer *d, int64_t id)
{
    for (struct send_job *j = d->jobs; j; j = j->next)
        if (j->d.id == id)
            return j;
    return NULL;
}

static void job_finished(struct deliverer *d, struct send_job *job, int status)
{
    metrics_delivery(d->metrics, job->d.channel, status);
    job_free(d, job);
    if (d->stopped)
        settle(d);
    else
        claim(d);
}

static void submit_result(struct deliverer *d, struct send_job *job);

static void on_resubmit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct send_job *job = arg;
    submit_result(job->owner, job);
}

static void on_result_stored(struct store_req *r)
{
    struct st_outbox_result *q = (struct st_outbox_result *)r;
    struct send_job *job = r->arg;
    struct deliverer *d = job->owner;
    if (r->rc != STORE_OK) {
        /* Kept, and offered again: dropping it would send the message twice. */
        hlog_warn("deliver: could not store the outcome of delivery %lld (store error %d); "
                  "trying again", (long long)job->d.id, r->rc);
        d->last_rc = r->rc;
        struct timeval tv = {RESUBMIT_MS / 1000, RESUBMIT_MS % 1000 * 1000};
        event_base_once(d->base, -1, EV_TIMEOUT, on_resubmit, job, &tv);
        return;
    }
    if (q->status == DS_SENDING && q->claims != job->d.claims) {
        submit_result(d, job); /* re-claimed while in flight: answer the new claim */
        return;
    }
    job_finished(d, job, q->status);
}

static void submit_result(struct deliverer *d, struct send_job *job)
{
    const struct send_result *res = &job->result;
    struct st_outbox_result *q = ARENA_NEW(&job->arena, struct st_outbox_result);
    q->base.op = ST_OUTBOX_RESULT;
    q->base.done = on_result_stored;
    q->base.arg = job;
    q->base.arena = &job->arena;
    q->id = job->d.id;
    q->claims = job->d.claims;
    q->now = job->finished_at;
    q->latency_ms = job->latency_ms;
    q->ok = res->outcome == SEND_OK;
    q->permanent = res->outcome == SEND_PERMANENT || res->outcome == SEND_GONE;
    q->config_error = res->outcome == SEND_CONFIG;
    q->gone = res->outcome == SEND_GONE;
    q->gone_at = res->gone_at;
    q->gone_token = job->d.device_token;
    q->answer = res->answer ? res->answer : (q->ok ? "accepted" : "failed");
    q->message_id = res->message_id;
    q->max_attempts = d->max_attempts;
    q->retry_at = job->retry_at;
    store_submit(d->store, &q->base);
}

/* A configuration error stops the channel for a while, not the message:
 * the whole channel, or, where several services share one (push), that
 * service alone. A pause in force is not extended by the rows that meet
 * it: they wait for its end. */
static void pause_for(struct deliverer *d, struct send_job *job)
{
    int ch = job->d.channel;
    struct provider *one = job->provider != d->providers[ch] ? job->provider : NULL;
    int64_t *paused = one ? &one->paused_until : &d->paused_until[ch];
    if (*paused > job->finished_at) {
        job->retry_at = *paused;
        return;
    }
    job->retry_at = job->finished_at + d->backoff_ms;
    hlog_error("deliver: %s provider %s: %s; it is paused for %lld s (check its settings)",
               channel_name(ch), job->provider->ops->name, job->result.answer,
               (long long)(d->backoff_ms / 1000));
    *paused = job->retry_at;
    if (!one)
        arm(d, job->retry_at);
}

void provider_done(struct send_job *job)
{
    struct deliverer *d = job->owner;
    const struct send_result *res = &job->result;
    if (d->closing) { /* aborted at exit: the lease brings the row back */
        job_free(d, job);
        return;
    }
    if (res->outcome == SEND_RECORDED) {
        job_finished(d, job, DS_SENT);
        return;
    }
    job->finished_at = hclock_now_ms(d->clock);
    job->latency_ms = (int64_t)((hclock_mono_ns() - job->started_ns) / 1000000);
    if (res->outcome == SEND_CONFIG) {
        pause_for(d, job);
    } else {
        job->retry_at = job->finished_at +
                        deliver_backoff_ms(job->d.attempts + 1, d->backoff_ms, d->backoff_max_ms,
                                           res->retry_after_ms, next_random(d));
    }
    if (res->outcome != SEND_OK)
        hlog_info("deliver: %s delivery %lld attempt %d: %s", channel_name(job->d.channel),
                  (long long)job->d.id, job->d.attempts + 1, res->answer ? res->answer : "");
    submit_result(d, job);
}

/* The length of the well-formed UTF-8 character at s (RFC 3629), or 0. */
static size_t utf8_char(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    uint32_t c, min;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, c = s[0] & 0x1F, min = 0x80;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, c = s[0] & 0x0F, min = 0x800;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    return c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) ? 0 : n;
}

void provider_result(struct send_job *job, enum send_outcome outcome, const char *fmt, ...)
{
    job->result.outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    char *answer = arena_vprintf(&job->arena, fmt, ap);
    va_end(ap);
    /* A provider's words go to the log and the API (JSON, and PostgreSQL
     * text): one line of UTF-8, bounded. Control characters become spaces;
     * bytes that are not UTF-8 (a gateway's Latin-1, a character a
     * "%.200s" cut in two) become '?'; the cut falls between characters. */
    size_t o = 0;
    for (size_t i = 0; answer[i];) {
        const unsigned char *c = (const unsigned char *)answer + i;
        size_t n = utf8_char(c);
        if (o + (n ? n : 1) > ANSWER_MAX)
            break;
        if (n == 0) {
            answer[o++] = '?';
            i++;
        } else if (n == 1 && (*c < 0x20 || *c == 0x7f)) {
            answer[o++] = ' ';
            i++;
        } else {
            memmove(answer + o, c, n);
            o += n;
            i += n;
        }
    }
    answer[o] = '\0';
    job->result.answer = answer;
}

/* ---- claiming ---- */

/* Every string of a claimed row, into the job's arena: the claim's arena
 * is gone once the jobs start. A field added to struct delivery must be
 * copied here. */
static void copy_delivery(struct arena *a, struct delivery *to, const struct delivery *from)
{
    *to = *from;
    to->event_id = arena_strdup(a, from->event_id);
    to->member_id = arena_strdup(a, from->member_id);
    to->provider = arena_strdup(a, from->provider);
    to->reason = arena_strdup(a, from->reason);
    to->message_id = arena_strdup(a, from->message_id);
    to->to = arena_strdup(a, from->to);
    to->subject = arena_strdup(a, from->subject);
    to->body = arena_strdup(a, from->body);
    to->html = arena_strdup(a, from->html);
    to->ws_id = arena_strdup(a, from->ws_id);
    to->sender_name = arena_strdup(a, from->sender_name);
    to->sms_sender_id = arena_strdup(a, from->sms_sender_id);
    to->device_token = arena_strdup(a, from->device_token);
    to->device_p256dh = arena_strdup(a, from->device_p256dh);
    to->device_auth = arena_strdup(a, from->device_auth);
    to->device_env = arena_strdup(a, from->device_env);
    to->data = arena_strdup(a, from->data);
    to->tries = NULL;
    to->ntries = 0;
}

static void start_job(struct deliverer *d, const struct delivery *row)
{
    struct send_job *running = job_find(d, row->id);
    if (running) { /* its lease ran out while we still send it */
        running->d.claims = row->claims;
        return;
    }
    struct provider *p = d->providers[row->channel];
    struct send_job *job = xcalloc(1, sizeof *job);
    job->provider = p;
    job->owner = d;
    copy_delivery(&job->arena, &job->d, row);
    job->started_ns = hclock_mono_ns();
    job->next = d->jobs;
    if (job->next)
        job->next->prev = job;
    d->jobs = job;
    d->in_flight[row->channel]++;
    d->in_flight_total++;
    p->ops->send(p, job);
}

static void on_claimed(struct store_req *r)
{
    struct st_outbox_claim *q = (struct st_outbox_claim *)r;
    struct deliverer *d = r->arg;
    bool more = false;
    int64_t wake = 0;
    /* d->claiming stays set while the jobs start, so one that finishes at
     * once (a store that refuses) asks for a claim by setting d->again
     * rather than running one inside this one. */
    if (r->rc == STORE_OK) {
        /* Stopping: what was just claimed waits for its lease, unsent,
         * rather than being cut off half-way by the exit. */
        for (size_t i = 0; i < q->n && !d->stopped; i++)
            start_job(d, &q->items[i]);
        for (int ch = 0; ch < CH_COUNT; ch++) {
            int64_t due = q->next_due[ch];
            struct provider *p = d->providers[ch];
            if (!due || !p)
                continue;
            if (due > q->now) {
                if (!wake || due < wake)
                    wake = due;
            } else if (d->in_flight[ch] < p->capacity && d->paused_until[ch] <= q->now) {
                more = true; /* a full batch, or a fallback the claim released */
            } /* else due but no room: a finishing job claims again */
        }
    } else {
        hlog_warn("deliver: claiming failed (store error %d); trying again in a second", r->rc);
        d->last_rc = r->rc;
        wake = hclock_now_ms(d->clock) + 1000;
    }
    int64_t now = q->now;
    struct arena *a = r->arena; /* r lives in it */
    arena_reset(a);
    free(a);
    d->claiming = false;
    arm(d, wake ? wake : now + POLL_MS);
    if (!d->stopped && (d->again || more)) {
        d->again = false;
        claim(d);
        return;
    }
    d->again = false;
    settle(d);
}

static void claim(struct deliverer *d)
{
    if (d->stopped)
        return;
    if (d->claiming) {
        d->again = true;
        return;
    }
    int64_t now = hclock_now_ms(d->clock);
    if (mem_low()) { /* sends take memory: what is due waits for it to return */
        d->last_rc = STORE_UNAVAILABLE; /* a run_due waiter learns nothing was sent */
        arm(d, now + 1000);
        settle(d);
        return;
    }
    struct arena *a = xcalloc(1, sizeof *a);
    struct st_outbox_claim *q = ARENA_NEW(a, struct st_outbox_claim);
    bool any = false;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        struct provider *p = d->providers[ch];
        if (!p)
            continue;
        int room = d->paused_until[ch] > now ? 0 : p->capacity - d->in_flight[ch];
        q->quota[ch] = room > CLAIM_MAX ? CLAIM_MAX : room > 0 ? room : 0;
        q->provider[ch] = p->ops->name;
        if (p->ops->name_for)
            for (int k = 0; k < DEV_KIND_COUNT; k++)
                q->push_provider[k] = p->ops->name_for(p, k);
        any |= q->quota[ch] > 0;
    }
    if (!any) {
        free(a);
        settle(d); /* every provider is busy or paused; a finishing job claims again */
        return;
    }
    d->claiming = true;
    q->base.op = ST_OUTBOX_CLAIM;
    q->base.done = on_claimed;
    q->base.arg = d;
    q->base.arena = a;
    q->now = now;
    q->lease_ms = d->lease_ms;
    store_submit(d->store, &q->base);
}

/* ---- life ---- */

struct deliverer *deliverer_new(struct event_base *base, struct store *store,
                                struct hclock *clock, struct metrics *metrics,
                                const struct deliver_settings *s)
{
    struct deliverer *d = xcalloc(1, sizeof *d);
    d->base = base;
    d->store = store;
    d->clock = clock;
    d->metrics = metrics;
    d->max_attempts = s->max_attempts > 0 ? s->max_attempts : 1;
    d->backoff_ms = (int64_t)s->backoff_s * 1000;
    d->backoff_max_ms = (int64_t)s->backoff_max_s * 1000;
    d->lease_ms = (int64_t)s->lease_s * 1000;
    crypto_random(&d->rng, sizeof d->rng);
    d->rng |= 1;
    d->timer = evtimer_new(base, on_timer, d);
    static const int SENT[] = {CH_EMAIL, CH_SMS, CH_PUSH};
    for (size_t i = 0; i < sizeof SENT / sizeof *SENT; i++) {
        d->providers[SENT[i]] = open_provider(d, SENT[i], s);
        if (!d->providers[SENT[i]]) {
            deliverer_free(d);
            return NULL;
        }
    }
    return d;
}

void deliverer_start(struct deliverer *d)
{
    claim(d);
}

void deliverer_kick(struct deliverer *d)
{
    if (d)
        claim(d);
}

void deliverer_run_due(struct deliverer *d, void (*done)(void *arg, int rc), void *arg)
{
    if (d->stopped) {
        done(arg, STORE_UNAVAILABLE);
        return;
    }
    struct waiter *w = xcalloc(1, sizeof *w);
    w->done = done;
    w->arg = arg;
    w->next = d->waiters;
    d->waiters = w;
    claim(d); /* settles when the claims run dry */
}

void deliverer_drain(struct deliverer *d, void (*done)(void *arg), void *arg)
{
    if (!d)
        return;
    d->stopped = true;
    d->again = false;
    evtimer_del(d->timer);
    d->drained = done;
    d->drained_arg = arg;
    settle(d);
}

void deliverer_free(struct deliverer *d)
{
    if (!d)
        return;
    d->stopped = d->closing = true;
    /* Sends cut short end here; their rows come back after the lease. */
    for (int ch = 0; ch < CH_COUNT; ch++) {
        struct provider *p = d->providers[ch];
        if (p) {
            p->ops->close(p);
            free(p);
        }
    }
    while (d->jobs) /* sink sends, or outcomes, the closed store never answered */
        job_free(d, d->jobs);
    struct waiter *w = d->waiters;
    while (w) { /* their requests are gone with the server */
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
    if (d->timer)
        event_free(d->timer);
    free(d);
}
