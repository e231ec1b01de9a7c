/* h_events.c - POST /v1/events (idempotent ingest) and GET /v1/events/{id}.
 *
 * The loop thread validates and canonicalises; the store decides and
 * writes in its group commit. Idempotency compares the SHA-256 of the
 * canonical JSON (keys sorted, compact), so the same value sent with other
 * spacing or key order is the same event. */
#include "api/api_int.h"
#include "core/hostid.h"
#include "core/jsonx.h"
#include "deliver/deliver.h"
#include "engine/catalogue.h"
#include "engine/outcome.h"
#include "live/live.h"
#include "metrics/metrics.h"
#include "upkeep/upkeep.h"

#include <string.h>

struct ingest_job {
    struct st_event_ingest q; /* first */
    struct event_view ev;
};

static void on_ingested(struct store_req *r)
{
    struct ingest_job *job = (struct ingest_job *)r;
    struct st_event_ingest *q = &job->q;
    struct api_call *call = CALL_OF(r);
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    struct metrics *m = call->api->metrics;
    size_t type = catalogue_index(job->ev.type);
    if (q->result == INGEST_CONFLICT) {
        api_error(call, 409, "idempotency_conflict", "id",
                  "event %s was already received with a different body", job->ev.id);
        return;
    }
    metrics_event(m, type, q->result == INGEST_DUPLICATE);
    if (q->result == INGEST_CREATED) {
        metrics_notifications(m, q->notifications);
        /* Durable now: tell the open streams, and time the windows. */
        live_publish(call->api->hub, q->updates, q->nupdates);
        for (size_t i = 0; i < q->npopups; i++)
            live_popup(call->api->hub, q->popup_mids[i], q->popup);
        upkeep_window_opened(call->api->upkeep, q->next_close_at);
        if (q->deliveries)
            deliverer_kick(call->api->deliverer);
    }
    struct buf b = BUF_INIT;
    buf_add(&b, q->outcome, q->outcome_len);
    api_reply(call, q->result == INGEST_CREATED ? 202 : 200, &b);
}

void h_event_post(struct api_call *call)
{
    json_t *body = api_body(call, false);
    if (!body)
        return;
    struct ingest_job *job = API_REQ(call, ingest_job, ST_EVENT_INGEST, on_ingested);
    struct event_error err;
    if (event_validate(body, &job->ev, &err) != 0) {
        api_error(call, 400, err.code, err.field[0] ? err.field : NULL, "%s", err.message);
        return;
    }
    /* One canonical pass gives the text to hash and, inside it, the text
     * of `data` to store. */
    struct buf canonical = BUF_INIT;
    size_t data_start = 0, data_end = 0;
    jx_canonical_write(body, &canonical, "data", &data_start, &data_end);
    crypto_sha256(canonical.data, canonical.len, job->q.body_sha256);
    job->q.data_json = arena_strndup(call->arena, canonical.data + data_start,
                                     data_end - data_start);
    buf_free(&canonical);
    job->q.wid = call->ws.wid;
    job->q.ev = &job->ev;
    job->q.received_at = call->now;
    job->q.by = api_audit_by(call);
    store_submit(call->api->store, &job->q.base);
}

static void on_event(struct store_req *r)
{
    struct st_event_get *q = (struct st_event_get *)r;
    struct api_call *call = CALL_OF(r);
    if (r->rc == STORE_NOT_FOUND) {
        api_error(call, 404, "not_found", NULL, "no event %s in this workspace", q->id);
        return;
    }
    if (r->rc != STORE_OK) {
        api_store_error(call, r->rc);
        return;
    }
    /* Skipped members come from the stored answer; notifications are read
     * live so their state is current. */
    json_t *outcome = json_loads(q->outcome_json, 0, NULL);
    json_t *skipped = json_object_get(outcome, "skipped");
    char *skipped_text = skipped ? json_dumps(skipped, JSON_COMPACT) : NULL;

    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "event");
    jw_obj(&w);
    jw_kstr(&w, "id", q->id);
    jw_kstr(&w, "type", q->type);
    jw_ktime(&w, "occurred_at", q->occurred_at);
    jw_ktime(&w, "received_at", q->received_at);
    jw_kstr(&w, "source", q->source);
    jw_key(&w, "actor");
    jw_obj(&w);
    jw_kstr(&w, "kind", q->actor_kind);
    jw_kstr(&w, "id", q->actor_id);
    jw_kstr(&w, "name", q->actor_name);
    jw_obj_end(&w);
    jw_key(&w, "data");
    jw_raw(&w, q->data_json, strlen(q->data_json));
    jw_obj_end(&w);

    jw_key(&w, "notifications");
    jw_arr(&w);
    static const char *const states[] = {"unread", "read", "ignored"};
    for (size_t i = 0; i < q->n; i++) {
        const struct event_notification *n = &q->notifications[i];
        char id[NOTIFICATION_ID_MAX];
        notification_id_format(n->nid, id);
        jw_obj(&w);
        jw_kstr(&w, "id", id);
        jw_kstr(&w, "member_id", n->member_id);
        jw_kstr(&w, "category", category_name((enum category)n->category));
        jw_key(&w, "channels");
        outcome_channels(&w, n->channels);
        jw_key(&w, "reasons");
        outcome_reasons(&w, n->reasons);
        jw_kstr(&w, "state", n->in_app ? states[n->state] : NULL);
        jw_ktime(&w, "created_at", n->created_at);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "skipped");
    if (skipped_text)
        jw_raw(&w, skipped_text, strlen(skipped_text));
    else
        jw_raw(&w, "[]", 2);
    jw_key(&w, "deliveries");
    jw_arr(&w);
    for (size_t i = 0; i < q->ndeliveries; i++)
        api_json_delivery(&w, &q->deliveries[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    free(skipped_text);
    json_decref(outcome);
    api_reply(call, 200, &b);
}

void h_event_get(struct api_call *call)
{
    if (!hostid_valid(call->params[0])) {
        api_error(call, 400, "invalid_field", "event_id",
                  "an event id is 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    struct st_event_get *q = API_REQ(call, st_event_get, ST_EVENT_GET, on_event);
    q->wid = call->ws.wid;
    q->id = call->params[0];
    store_submit(call->api->store, &q->base);
}
