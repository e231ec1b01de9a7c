/* http_post.c - a POST to an SMS gateway on the provider's multi handle
 * (see http_post.h). Bodies we send are copied by libcurl; answers are
 * kept up to 16 KiB (the rest is read and dropped). */
#include "deliver/http_post.h"
#include "deliver/curlev.h"
#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "deliver/netcheck.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define BODY_KEPT_MAX (16 * 1024)

struct post {
    struct send_job *job;
    http_answer_fn read_answer;
    struct curl_slist *headers;
    struct buf answer;
    char retry_after[64];
    char captured[160];
    const char *capture;
    bool refused;
    char errbuf[CURL_ERROR_SIZE];
};

/* CURLOPT_OPENSOCKETFUNCTION for public_only posts: the check happens on
 * the address libcurl is about to connect to, so a name that resolves to
 * a private address (or changes to one) is refused all the same. */
static curl_socket_t open_public(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct post *p = arg;
    if (purpose != CURLSOCKTYPE_IPCXN || !net_address_public(&addr->addr)) {
        p->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct post *p = arg;
    size_t len = size * n;
    if (p->answer.len < BODY_KEPT_MAX) {
        size_t keep = BODY_KEPT_MAX - p->answer.len;
        buf_add(&p->answer, data, len < keep ? len : keep);
    }
    return len;
}

void http_post_keep_header(const char *line, size_t len, const char *name, char *out,
                           size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1;
    size_t vl = len - n - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= cap)
        vl = cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct post *p = arg;
    size_t len = size * n;
    http_post_keep_header(data, len, "retry-after", p->retry_after, sizeof p->retry_after);
    if (p->capture)
        http_post_keep_header(data, len, p->capture, p->captured, sizeof p->captured);
    return len;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct post *p = arg;
    struct send_job *job = p->job;
    struct http_answer a = {.rc = rc};
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.status);
    if (rc != CURLE_OK)
        a.status = 0; /* an answer cut short is no answer */
    a.body = arena_strndup(&job->arena, p->answer.data ? p->answer.data : "", p->answer.len);
    a.len = p->answer.len;
    a.error = p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);
    struct hclock *clock = job->provider->env.clock;
    a.retry_after_ms = deliver_retry_after_ms(p->retry_after[0] ? p->retry_after : NULL,
                                              hclock_now_ms(clock));
    if (p->captured[0])
        a.captured = arena_strdup(&job->arena, p->captured);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &a.http_version);
    a.refused = p->refused;
    if (p->refused)
        provider_result(job, SEND_PERMANENT, "the endpoint's address is not public");
    else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_UNSUPPORTED_PROTOCOL)
        provider_result(job, SEND_CONFIG, "%s", a.error); /* our settings */
    else if (rc != CURLE_OK)
        provider_result(job, SEND_TRANSIENT, "%s", a.error);
    else
        provider_result(job, deliver_http_outcome(a.status), "%ld", a.status);
    if (job->result.outcome == SEND_TRANSIENT)
        job->result.retry_after_ms = a.retry_after_ms;
    curl_slist_free_all(p->headers);
    curl_easy_cleanup(easy);
    bool kept = p->read_answer(job, &a);
    buf_free(&p->answer);
    if (!kept)
        provider_done(job);
}

void http_post(struct curlev *cv, struct send_job *job, const struct http_post_req *rq,
               http_answer_fn read_answer)
{
    struct post *p = ARENA_NEW(&job->arena, struct post);
    p->job = job;
    p->read_answer = read_answer;
    p->capture = rq->capture;
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    struct buf line = BUF_INIT;
    buf_printf(&line, "Content-Type: %s", rq->content_type);
    p->headers = curl_slist_append(NULL, line.data);
    buf_free(&line);
    p->headers = curl_slist_append(p->headers, "Accept: application/json");
    p->headers = curl_slist_append(p->headers, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; i < rq->nheaders; i++)
        p->headers = curl_slist_append(p->headers, rq->headers[i]);
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body);
    if (rq->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, rq->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, rq->password);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms < 10000 ? rq->timeout_ms : 10000);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (rq->http2) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L); /* a stream on the open connection */
    }
    if (rq->ca_file && *rq->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
    if (rq->public_only) {
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_public);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, p);
    }
    curlev_add(cv, e, on_done, p);
}
