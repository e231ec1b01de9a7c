/* p_fcm.c - Firebase Cloud Messaging, HTTP v1 (PROTOCOLS.md 2): Android
 * and iOS apps through Google.
 *
 * The service account's RSA key signs an RS256 assertion, exchanged at its
 * token_uri for an access token that is kept until 5 minutes before it
 * expires. One exchange runs at a time; sends that need a token wait for
 * it. Sends go over HTTP/2, many streams on one connection.
 *
 * Answers (FcmError.errorCode first): UNREGISTERED, SENDER_ID_MISMATCH and
 * an invalid token remove the device; other INVALID_ARGUMENTs fail this
 * message; THIRD_PARTY_AUTH_ERROR is our configuration (the channel
 * pauses); QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL and 5xx are retried,
 * honouring Retry-After; a 401 without an FcmError means our access token
 * went stale: it is dropped and the send retried. */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "core/clock.h"
#include "core/jw.h"
#include "core/log.h"
#include "engine/model.h"
#include "push/jws.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS 100
#define REFRESH_BEFORE_MS (5 * 60 * 1000)
#define SCOPE "https://www.googleapis.com/auth/firebase.messaging"
#define WAITING_MAX 4096
#define AMBIGUOUS_STREAK_MAX 5
#define FCM_BODY_MAX 4096 /* FCM's payload limit, our JSON around it a little more */

struct fcm {
    struct curlev *cv;       /* sends */
    struct curlev *token_cv; /* the token exchange */
    EVP_PKEY *key;
    char *client_email, *key_id, *token_uri, *send_url;
    const char *ca_file;
    long timeout_ms;
    struct hclock *clock;
    char *access_token;
    int64_t token_expires_ms;
    /* sends waiting for a token, oldest first */
    struct send_job **waiting;
    size_t nwaiting;
    bool fetching;
    /* A reason that says "this token" but could mean "your configuration"
     * (SENDER_ID_MISMATCH: a service account of another project) removes
     * devices only once a send has worked, and stops after a streak. */
    bool seen_ok;
    int ambiguous_streak;
    /* the exchange in flight */
    struct buf answer;
    struct curl_slist *token_headers;
    char *form;
};

static int fcm_open(struct provider *p, const struct deliver_settings *s)
{
    const char *path = s->push.fcm_service_account;
    json_error_t err;
    json_t *sa = json_load_file(path, 0, &err);
    if (!sa) {
        hlog_error("deliver: cannot read fcm_service_account %s: %s (line %d)", path, err.text,
                   err.line);
        return -1;
    }
    const char *type = json_string_value(json_object_get(sa, "type"));
    const char *project = json_string_value(json_object_get(sa, "project_id"));
    const char *email = json_string_value(json_object_get(sa, "client_email"));
    const char *pem = json_string_value(json_object_get(sa, "private_key"));
    const char *uri = json_string_value(json_object_get(sa, "token_uri"));
    const char *kid = json_string_value(json_object_get(sa, "private_key_id"));
    EVP_PKEY *key = NULL;
    if (pem) {
        BIO *bio = BIO_new_mem_buf(pem, -1);
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    if (!type || strcmp(type, "service_account") != 0 || !project || !email || !key ||
        !EVP_PKEY_is_a(key, "RSA")) {
        hlog_error("deliver: %s is not a service-account JSON with an RSA private_key, "
                   "project_id and client_email", path);
        EVP_PKEY_free(key);
        json_decref(sa);
        return -1;
    }
    struct fcm *f = xcalloc(1, sizeof *f);
    f->key = key;
    f->client_email = xstrdup(email);
    f->key_id = kid ? xstrdup(kid) : NULL;
    f->token_uri = xstrdup(uri ? uri : "https://oauth2.googleapis.com/token");
    const char *base = s->push.fcm_base_url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    struct buf url = BUF_INIT;
    buf_printf(&url, "%.*s/v1/projects/%s/messages:send", (int)bl, base, project);
    f->send_url = buf_steal(&url);
    json_decref(sa);
    f->ca_file = s->push.ca_file;
    f->timeout_ms = (long)s->push.timeout_s * 1000;
    f->clock = p->env.clock;
    f->cv = curlev_new(p->env.base, 1, STREAMS);
    f->token_cv = curlev_new(p->env.base, 1, 1);
    f->waiting = xcalloc(WAITING_MAX, sizeof *f->waiting);
    p->capacity = STREAMS;
    p->state = f;
    return 0;
}

/* ---- sending ---- */

static void fcm_send(struct provider *p, struct send_job *job);

void fcm_error_read(json_t *j, const char **code, const char **message, bool *token_field)
{
    json_t *error = json_object_get(j, "error");
    *message = json_string_value(json_object_get(error, "message"));
    *code = NULL;
    *token_field = false;
    size_t i;
    json_t *detail;
    json_array_foreach(json_object_get(error, "details"), i, detail) {
        const char *t = json_string_value(json_object_get(detail, "@type"));
        if (t && strstr(t, "FcmError"))
            *code = json_string_value(json_object_get(detail, "errorCode"));
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(detail, "fieldViolations"), k, v) {
            const char *field = json_string_value(json_object_get(v, "field"));
            if (field && strcmp(field, "message.token") == 0)
                *token_field = true;
        }
    }
}

static bool fcm_answer(struct send_job *job, const struct http_answer *a)
{
    struct fcm *f = job->provider->state;
    if (a->rc != CURLE_OK)
        return false;
    json_t *j = json_loadb(a->body, a->len, 0, NULL);
    if (a->status == 200) {
        const char *name = json_string_value(json_object_get(j, "name"));
        provider_result(job, SEND_OK, "200 %s", name ? name : "accepted");
        if (name)
            job->result.message_id = arena_strdup(&job->arena, name);
        f->seen_ok = true;
        f->ambiguous_streak = 0;
        json_decref(j);
        return false;
    }
    const char *code, *message;
    bool token_field;
    fcm_error_read(j, &code, &message, &token_field);
    if (a->status == 401 && !code && job->tries_here == 0) {
        /* Our access token expired or was revoked: drop it if it is still
         * the one in use (a late answer must not drop its successor), and
         * send again once with the current one. */
        if (f->access_token && job->credential_used &&
            strcmp(f->access_token, job->credential_used) == 0) {
            free(f->access_token);
            f->access_token = NULL;
        }
        job->tries_here++;
        json_decref(j);
        fcm_send(job->provider, job);
        return true;
    }
    enum send_outcome out = job->result.outcome; /* by status: 5xx, 429 transient */
    if (code && !strcmp(code, "UNREGISTERED"))
        out = SEND_GONE;
    else if (code && !strcmp(code, "SENDER_ID_MISMATCH"))
        out = !f->seen_ok || ++f->ambiguous_streak >= AMBIGUOUS_STREAK_MAX ? SEND_CONFIG
                                                                          : SEND_GONE;
    else if (code && !strcmp(code, "INVALID_ARGUMENT"))
        out = token_field ? SEND_GONE : SEND_PERMANENT;
    else if (code && !strcmp(code, "THIRD_PARTY_AUTH_ERROR")) {
        /* The APNs or web credentials set up in Firebase: some devices, not
         * FCM as a whole; retried (and logged) rather than pausing Android. */
        hlog_error("deliver: fcm: THIRD_PARTY_AUTH_ERROR: check the APNs or web push "
                   "credentials configured in the Firebase project");
        out = SEND_TRANSIENT;
    } else if (code && (!strcmp(code, "QUOTA_EXCEEDED") || !strcmp(code, "UNAVAILABLE") ||
                        !strcmp(code, "INTERNAL") || !strcmp(code, "UNSPECIFIED_ERROR")))
        out = SEND_TRANSIENT;
    else if (a->status == 401 || a->status == 403)
        out = SEND_CONFIG;
    provider_result(job, out, "%ld %s: %.200s", a->status, code ? code : "",
                    message ? message : (j ? "" : "(not JSON)"));
    if (out == SEND_TRANSIENT)
        job->result.retry_after_ms = a->retry_after_ms;
    json_decref(j);
    return false;
}

static void fcm_post(struct fcm *f, struct send_job *job)
{
    const struct delivery *d = &job->d;
    struct buf body = BUF_INIT;
    struct jw w;
    jw_init(&w, &body);
    jw_obj(&w);
    jw_key(&w, "message");
    jw_obj(&w);
    jw_kstr(&w, "token", d->device_token);
    jw_key(&w, "notification");
    jw_obj(&w);
    jw_kstr(&w, "title", d->subject);
    jw_kstr(&w, "body", d->body);
    jw_obj_end(&w);
    /* data values must be strings: the app's data, flattened */
    jw_key(&w, "data");
    jw_obj(&w);
    json_t *data = d->data ? json_loads(d->data, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v) {
        if (json_is_string(v))
            jw_kstr(&w, k, json_string_value(v));
    }
    json_decref(data);
    jw_obj_end(&w);
    jw_key(&w, "android");
    jw_obj(&w);
    jw_kstr(&w, "priority", "HIGH");
    jw_obj_end(&w);
    jw_key(&w, "apns");
    jw_obj(&w);
    jw_key(&w, "headers");
    jw_obj(&w);
    jw_kstr(&w, "apns-priority", "10");
    jw_obj_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    if (body.len > FCM_BODY_MAX + 512) {
        provider_result(job, SEND_PERMANENT, "the message is over FCM's 4096 bytes");
        buf_free(&body);
        provider_done(job);
        return;
    }
    job->credential_used = arena_strdup(&job->arena, f->access_token);
    const char *headers[] = {arena_printf(&job->arena, "Authorization: Bearer %s",
                                          f->access_token)};
    struct http_post_req rq = {
        .url = f->send_url,
        .content_type = "application/json",
        .body = body.data,
        .len = body.len,
        .headers = headers,
        .nheaders = 1,
        .timeout_ms = f->timeout_ms,
        .http2 = true,
        .ca_file = f->ca_file,
    };
    http_post(f->cv, job, &rq, fcm_answer);
    buf_free(&body);
}

/* ---- the access token ---- */

static void fetch_token(struct fcm *f);

/* Every waiting send gets the exchange's outcome: the token, or a failure. */
static void flush_waiting(struct fcm *f, enum send_outcome failed, const char *why)
{
    size_t n = f->nwaiting;
    struct send_job **jobs = xmalloc((n ? n : 1) * sizeof *jobs);
    memcpy(jobs, f->waiting, n * sizeof *jobs);
    f->nwaiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (f->access_token) {
            fcm_post(f, jobs[i]);
        } else {
            provider_result(jobs[i], failed, "fcm token: %s", why);
            provider_done(jobs[i]);
        }
    }
    free(jobs);
}

static size_t on_token_body(char *data, size_t size, size_t n, void *arg)
{
    struct fcm *f = arg;
    size_t len = size * n;
    if (f->answer.len + len <= 64 * 1024)
        buf_add(&f->answer, data, len);
    return len;
}

static void on_token(CURL *easy, CURLcode rc, void *arg)
{
    struct fcm *f = arg;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    curl_slist_free_all(f->token_headers);
    f->token_headers = NULL;
    free(f->form);
    f->form = NULL;
    f->fetching = false;
    json_t *j = rc == CURLE_OK ? json_loadb(f->answer.data ? f->answer.data : "", f->answer.len,
                                            0, NULL)
                               : NULL;
    buf_free(&f->answer);
    const char *token = json_string_value(json_object_get(j, "access_token"));
    json_int_t expires = json_integer_value(json_object_get(j, "expires_in"));
    char why[240];
    enum send_outcome failed = SEND_TRANSIENT;
    if (rc == CURLE_OK && status == 200 && token && expires > 0) {
        free(f->access_token);
        f->access_token = xstrdup(token);
        f->token_expires_ms = hclock_now_ms(f->clock) + (int64_t)expires * 1000;
    } else if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
    } else {
        const char *e = json_string_value(json_object_get(j, "error"));
        const char *desc = json_string_value(json_object_get(j, "error_description"));
        snprintf(why, sizeof why, "%ld %s %.160s", status, e ? e : "", desc ? desc : "");
        /* invalid_grant and refused credentials are our configuration */
        if (status == 400 || status == 401 || status == 403)
            failed = SEND_CONFIG;
    }
    json_decref(j);
    flush_waiting(f, failed, why);
}

static void fetch_token(struct fcm *f)
{
    if (f->fetching)
        return;
    int64_t now = hclock_now_ms(f->clock) / 1000;
    struct buf header = BUF_INIT, claims = BUF_INIT, jwt = BUF_INIT;
    struct jw w;
    jw_init(&w, &header);
    jw_obj(&w);
    jw_kstr(&w, "alg", "RS256");
    jw_kstr(&w, "typ", "JWT");
    if (f->key_id)
        jw_kstr(&w, "kid", f->key_id);
    jw_obj_end(&w);
    jw_init(&w, &claims);
    jw_obj(&w);
    jw_kstr(&w, "iss", f->client_email);
    jw_kstr(&w, "scope", SCOPE);
    jw_kstr(&w, "aud", f->token_uri);
    jw_kint(&w, "iat", now);
    jw_kint(&w, "exp", now + 3600);
    jw_obj_end(&w);
    int rc = jws_sign(f->key, header.data, claims.data, &jwt);
    buf_free(&header);
    buf_free(&claims);
    if (rc != 0) {
        buf_free(&jwt);
        flush_waiting(f, SEND_CONFIG, "cannot sign the assertion with the service account's key");
        return;
    }
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    char *assertion = curl_easy_escape(e, jwt.data, (int)jwt.len);
    buf_free(&jwt);
    struct buf form = BUF_INIT;
    buf_printf(&form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
                      "&assertion=%s", assertion ? assertion : "");
    curl_free(assertion);
    f->form = buf_steal(&form);
    f->token_headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(e, CURLOPT_URL, f->token_uri);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->token_headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->form);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_token_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, f->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (*f->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
    f->fetching = true;
    curlev_add(f->token_cv, e, on_token, f);
}

static void fcm_send(struct provider *p, struct send_job *job)
{
    struct fcm *f = p->state;
    int64_t now = hclock_now_ms(f->clock);
    if (f->access_token && f->token_expires_ms - now > REFRESH_BEFORE_MS) {
        fcm_post(f, job);
        return;
    }
    if (f->nwaiting == WAITING_MAX) { /* cannot happen: capacity is far below */
        provider_result(job, SEND_TRANSIENT, "fcm: too many sends waiting for a token");
        provider_done(job);
        return;
    }
    f->waiting[f->nwaiting++] = job;
    fetch_token(f);
}

static void fcm_close(struct provider *p)
{
    struct fcm *f = p->state;
    if (!f)
        return;
    curlev_free(f->token_cv); /* aborts the exchange: waiting sends fail, and are freed */
    curlev_free(f->cv);
    EVP_PKEY_free(f->key);
    free(f->client_email);
    free(f->key_id);
    free(f->token_uri);
    free(f->send_url);
    free(f->access_token);
    free(f->waiting);
    buf_free(&f->answer);
    free(f);
    p->state = NULL;
}

const struct provider_ops provider_fcm = {
    .name = "fcm", .channel = CH_PUSH, .open = fcm_open, .send = fcm_send, .close = fcm_close,
};
