/* p_smtp.c - email over SMTP with libcurl (PROTOCOLS.md section 4).
 *
 * Each message is one transfer on the provider's multi handle, so the
 * connection (and its TLS session) is reused by the next message. The
 * body is multipart/alternative, text first, quoted-printable so long
 * HTML lines stay under SMTP's line limit. A 5xx reply is permanent, a
 * 4xx or a lost connection transient. */
#include "deliver/provider.h"
#include "deliver/curlev.h"
#include "deliver/mail.h"
#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

struct smtp {
    struct curlev *cv;
    char *url;                /* with the EHLO name as its path */
    const char *username, *password, *from, *ca_file;
    long use_ssl;
    long timeout_ms;
    bool reuse;
};

struct smtp_send {
    struct send_job *job;
    struct curl_slist *rcpt, *headers;
    curl_mime *mime;
    char errbuf[CURL_ERROR_SIZE];
    const char *message_id;
};

static int smtp_open(struct provider *p, const struct deliver_settings *s)
{
    const char *url = s->smtp.url;
    bool implicit_tls = strncmp(url, "smtps://", 8) == 0;
    if (!implicit_tls && strncmp(url, "smtp://", 7) != 0) {
        hlog_error("deliver: smtp_url must start with smtp:// or smtps://");
        return -1;
    }
    const char *from = s->smtp.from;
    if (!strchr(from, '@')) {
        hlog_error("deliver: smtp_from must be the address mail comes from, e.g. "
                   "notifications@practice.example");
        return -1;
    }
    long use_ssl;
    if (strcmp(s->smtp.tls, "starttls") == 0)
        use_ssl = CURLUSESSL_ALL;
    else if (strcmp(s->smtp.tls, "try") == 0)
        use_ssl = CURLUSESSL_TRY;
    else if (strcmp(s->smtp.tls, "off") == 0)
        use_ssl = CURLUSESSL_NONE;
    else {
        hlog_error("deliver: smtp_tls must be starttls, try or off");
        return -1;
    }
    struct smtp *st = xcalloc(1, sizeof *st);
    /* The URL's path is the EHLO name; without one libcurl would announce
     * the machine's host name. */
    const char *host = url + (implicit_tls ? 8 : 7);
    const char *slash = strchr(host, '/');
    size_t n = strlen(url);
    if (!slash || !slash[1]) {
        const char *domain = mail_domain(from);
        st->url = xmalloc(n + strlen(domain) + 2);
        sprintf(st->url, "%.*s/%s", (int)(slash ? n - 1 : n), url, domain);
    } else {
        st->url = xstrdup(url);
    }
    st->username = s->smtp.username;
    st->password = s->smtp.password;
    st->from = from;
    st->ca_file = s->smtp.ca_file;
    st->use_ssl = implicit_tls ? CURLUSESSL_ALL : use_ssl;
    st->timeout_ms = (long)s->smtp.timeout_s * 1000;
    st->reuse = s->smtp.reuse;
    long connections = s->smtp.connections > 0 ? s->smtp.connections : 1;
    p->capacity = (int)connections * PROVIDER_QUEUE_PER_CONNECTION;
    st->cv = curlev_new(p->env.base, connections, connections);
    p->state = st;
    if (use_ssl != CURLUSESSL_ALL && !implicit_tls)
        hlog_warn("deliver: smtp_tls is %s: mail may cross the network unencrypted",
                  s->smtp.tls);
    return 0;
}

/* LF -> CRLF, as SMTP wants; CRLF stays. In the job's arena. */
static char *crlf(struct arena *a, const char *s, size_t *len)
{
    size_t n = 0, lf = 0;
    for (; s[n]; n++)
        lf += s[n] == '\n' && (n == 0 || s[n - 1] != '\r');
    char *out = arena_alloc(a, n + lf + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            out[k++] = '\r';
        out[k++] = s[i];
    }
    *len = k;
    return out;
}

static void add_part(struct send_job *job, curl_mime *mime, const char *text, const char *type)
{
    size_t len;
    char *data = crlf(&job->arena, text, &len);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_data(part, data, len);
    curl_mime_type(part, type);
    curl_mime_encoder(part, "quoted-printable");
}

static void add_header(struct smtp_send *m, const char *name, struct buf *value)
{
    struct buf line = BUF_INIT;
    buf_printf(&line, "%s: %s", name, value->data ? value->data : "");
    m->headers = curl_slist_append(m->headers, line.data);
    buf_free(&line);
    buf_clear(value);
}

static void smtp_done(CURL *easy, CURLcode rc, void *arg)
{
    struct smtp_send *m = arg;
    struct send_job *job = m->job;
    long reply = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply);
    if (rc == CURLE_OK) {
        provider_result(job, SEND_OK, "%ld accepted", reply ? reply : 250);
        job->result.message_id = m->message_id;
    } else {
        enum send_outcome out = reply ? deliver_smtp_outcome(reply) : SEND_TRANSIENT;
        if (out == SEND_OK) /* a good reply code but a failed transfer */
            out = SEND_TRANSIENT;
        switch (rc) { /* our settings, not the message */
        case CURLE_LOGIN_DENIED:
        case CURLE_USE_SSL_FAILED:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_UNSUPPORTED_PROTOCOL:
            out = SEND_CONFIG;
            break;
        default:
            break;
        }
        const char *detail = m->errbuf[0] ? m->errbuf : curl_easy_strerror(rc);
        if (reply)
            provider_result(job, out, "smtp %ld: %s", reply, detail);
        else
            provider_result(job, out, "smtp: %s", detail);
    }
    curl_slist_free_all(m->rcpt);
    curl_slist_free_all(m->headers);
    curl_mime_free(m->mime);
    curl_easy_cleanup(easy);
    provider_done(job);
}

static void smtp_send(struct provider *p, struct send_job *job)
{
    struct smtp *st = p->state;
    const struct delivery *d = &job->d;
    struct smtp_send *m = ARENA_NEW(&job->arena, struct smtp_send);
    m->job = job;
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    struct buf v = BUF_INIT;
    buf_printf(&v, "<%s>", st->from);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, v.data);
    buf_clear(&v);
    buf_printf(&v, "<%s>", d->to);
    m->rcpt = curl_slist_append(NULL, v.data);
    buf_clear(&v);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, m->rcpt);

    char date[MAIL_DATE_MAX];
    mail_date(hclock_now_ms(p->env.clock), date);
    buf_adds(&v, date);
    add_header(m, "Date", &v);
    mail_address(&v, d->sender_name, st->from);
    add_header(m, "From", &v);
    mail_address(&v, NULL, d->to);
    add_header(m, "To", &v);
    mail_header_text(&v, d->subject ? d->subject : "");
    add_header(m, "Subject", &v);
    /* The same id on every try of a delivery: a duplicate is recognisable. */
    m->message_id = arena_printf(&job->arena, "<herald.%lld.%lld@%s>", (long long)d->created_at,
                                 (long long)d->id, mail_domain(st->from));
    buf_adds(&v, m->message_id);
    add_header(m, "Message-ID", &v);
    buf_adds(&v, "auto-generated");
    add_header(m, "Auto-Submitted", &v);
    buf_adds(&v, "multipart/alternative");
    add_header(m, "Content-Type", &v);
    buf_free(&v);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->headers);

    m->mime = curl_mime_init(e);
    add_part(job, m->mime, d->body ? d->body : "", "text/plain; charset=utf-8");
    if (d->html)
        add_part(job, m->mime, d->html, "text/html; charset=utf-8");
    curl_easy_setopt(e, CURLOPT_MIMEPOST, m->mime);

    curl_easy_setopt(e, CURLOPT_URL, st->url);
    curl_easy_setopt(e, CURLOPT_USE_SSL, st->use_ssl);
    if (*st->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, st->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, st->password);
    }
    if (*st->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, st->ca_file);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, st->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, st->timeout_ms < 10000 ? st->timeout_ms : 10000);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, st->reuse ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, m->errbuf);
    curlev_add(st->cv, e, smtp_done, m);
}

static void smtp_close(struct provider *p)
{
    struct smtp *st = p->state;
    if (!st)
        return;
    curlev_free(st->cv);
    free(st->url);
    free(st);
    p->state = NULL;
}

const struct provider_ops provider_smtp = {
    .name = "smtp", .channel = CH_EMAIL, .open = smtp_open, .send = smtp_send, .close = smtp_close,
};
