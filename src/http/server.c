/* server.c - connections, parsing and answers of Herald's HTTP/1.1 server.
 *
 * Each connection is a bufferevent plus an http_parser. Bytes are fed to the
 * parser only while the connection is READING; a complete message pauses the
 * parser and the request goes to the handler (HANDLING). The answer is queued
 * on the output buffer (WRITING); when it has drained the request is freed
 * and the connection reads the next request or closes. Nothing is freed
 * inside parser callbacks: they only record what happened. */
#include "http/http.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/jw.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

enum conn_state { C_READING, C_HANDLING, C_WRITING, C_LINGERING, C_STREAMING };

/* After refusing a request whose body is still arriving, keep reading (and
 * discarding) for a moment: closing with unread input makes the kernel send
 * RST, and the client might never see the answer. The moment is LINGER_S
 * from the answer, not from the client's last byte, so a client that keeps
 * trickling cannot hold the connection. */
#define LINGER_S 2
#define LINGER_MAX_BYTES (1024 * 1024)
enum hdr_state { H_NONE, H_FIELD, H_VALUE };

struct http_conn {
    struct http_conn *prev, *next;
    struct http_server *srv;
    struct bufferevent *bev;
    http_parser parser;
    struct http_request *req; /* being read, handled or written */
    enum conn_state state;
    enum hdr_state hstate;
    struct buf url, hfield, hvalue;
    size_t header_bytes;
    uint64_t first_byte_ns; /* 0 while idle between requests */
    bool message_complete;
    bool close_after;  /* close once the current answer is written */
    bool peer_closed;
    bool may_continue; /* the answer allows another request on this connection */
    size_t lingered;   /* bytes discarded while lingering */
    uint64_t linger_until_ns; /* lingering ends then, however the client trickles */
    /* streaming */
    http_stream_closed_fn on_closed;
    void *closed_arg;
    size_t max_queue;
    bool closing;      /* a close is scheduled */
    struct event *end_ev; /* the scheduled close; freed (cancelled) with the conn */
    int reject_status; /* set by a parser callback that refuses the request */
    const char *reject_code, *reject_msg;
};

struct http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct http_limits limits;
    http_handler_fn handler;
    void *handler_arg;
    http_observer_fn observer;
    void *observer_arg;
    struct http_conn *conns;
    int nconns;
    int nstreams;
    bool listener_paused;
    bool draining;
    void (*drained)(void *);
    void *drained_arg;
    struct event *drain_ev;
    struct event *accept_retry_ev;
    uint64_t full_warned_ns;
    uint32_t rid_prefix, rid_counter;
    time_t date_sec;
    char date[40];
};

static void conn_free(struct http_conn *c);
static void conn_process(struct http_conn *c);

void http_limits_default(struct http_limits *l)
{
    l->max_header_bytes = 16 * 1024;
    l->max_body_bytes = 256 * 1024;
    l->max_connections = 19000;
    l->request_timeout_s = 30;
    l->idle_timeout_s = 75;
    l->write_timeout_s = 30;
}

/* ---- requests ---- */

static struct http_request *request_new(struct http_conn *c)
{
    struct http_request *r = xcalloc(1, sizeof *r);
    r->conn = c;
    r->srv = c->srv;
    r->started_ns = hclock_mono_ns();
    return r;
}

static void request_free(struct http_request *r)
{
    arena_reset(&r->arena);
    buf_free(&r->body);
    buf_free(&r->resp_headers);
    free(r);
}

const char *http_header(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *unescape(struct arena *a, const char *s, size_t n, bool plus_is_space)
{
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return NULL;
            int hi = hexval(s[i + 1]);
            int lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = ch;
        }
    }
    out[o] = '\0';
    return out;
}

char *http_unescape(struct arena *a, const char *s, size_t n)
{
    return unescape(a, s, n, false);
}

const char *http_query(struct http_request *req, const char *name)
{
    const char *q = req->query;
    size_t nlen = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (klen == nlen && memcmp(q, name, nlen) == 0) {
            if (!eq)
                return "";
            return unescape(&req->arena, eq + 1, len - klen - 1, true);
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    buf_printf(&req->resp_headers, "%s: %s\r\n", name, value);
}

/* ---- answers ---- */

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static const char *http_date(struct http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = now;
    }
    return srv->date;
}

static void assign_request_id(struct http_server *srv, struct http_request *req)
{
    const char *given = http_header(req, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        bool ok = n > 0 && n <= HTTP_REQUEST_ID_MAX;
        for (size_t i = 0; ok && i < n; i++) {
            char ch = given[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        }
        if (ok) {
            memcpy(req->request_id, given, n + 1);
            return;
        }
    }
    snprintf(req->request_id, sizeof req->request_id, "%08x%08x", srv->rid_prefix,
             ++srv->rid_counter);
}

void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *body, size_t len)
{
    if (req->responded) {
        hlog_error("http: second answer to request %s dropped", req->request_id);
        return;
    }
    req->responded = true;
    if (!req->request_id[0])
        assign_request_id(req->srv, req);
    struct http_server *srv = req->srv;
    if (srv->observer)
        srv->observer(req, status, srv->observer_arg);

    struct http_conn *c = req->conn;
    if (!c) { /* the client left while we worked */
        request_free(req);
        return;
    }
    c->may_continue = !srv->draining && !c->reject_status && http_should_keep_alive(&c->parser);
    if (!c->may_continue || c->peer_closed)
        c->close_after = true;

    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* API answers are never cached; a handler that says otherwise (the
     * browser components' files) sets its own Cache-Control. */
    bool own_cache = req->resp_headers.data && strstr(req->resp_headers.data, "Cache-Control:");
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\n"
                        "Date: %s\r\n"
                        "X-Request-Id: %s\r\n"
                        "%s"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Content-Length: %zu\r\n",
                        status, http_reason(status), http_date(srv),
                        req->request_id, own_cache ? "" : "Cache-Control: no-store\r\n", len);
    if (content_type)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (c->close_after)
        evbuffer_add(out, "Connection: close\r\n", 19);
    if (req->resp_headers.len)
        evbuffer_add(out, req->resp_headers.data, req->resp_headers.len);
    evbuffer_add(out, "\r\n", 2);
    if (len && req->verb != HTTP_VERB_HEAD)
        evbuffer_add(out, body, len);

    c->state = C_WRITING;
    struct timeval wt = {srv->limits.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_enable(c->bev, EV_WRITE);
}

void http_respond_error(struct http_request *req, int status, const char *code,
                        const char *field, const char *message)
{
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "error");
    jw_obj(&w);
    jw_kstr(&w, "code", code);
    jw_kstr(&w, "message", message);
    jw_kstr(&w, "field", field);
    jw_obj_end(&w);
    jw_obj_end(&w);
    buf_addc(&b, '\n');
    http_respond(req, status, "application/json; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

/* ---- parser callbacks: record, never free ---- */

static int reject(struct http_conn *c, int status, const char *code, const char *msg)
{
    if (!c->reject_status) {
        c->reject_status = status;
        c->reject_code = code;
        c->reject_msg = msg;
    }
    return -1; /* stops the parser */
}

static int count_header_bytes(struct http_conn *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > c->srv->limits.max_header_bytes)
        return reject(c, 431, "headers_too_large",
                      "the request line and headers are over the size limit");
    return 0;
}

static int commit_header(struct http_conn *c)
{
    struct http_request *r = c->req;
    if (c->hstate != H_VALUE)
        return 0;
    if (r->nheaders >= HTTP_MAX_HEADERS)
        return reject(c, 431, "too_many_headers", "the request has too many headers");
    r->headers[r->nheaders].name = arena_strndup(&r->arena, c->hfield.data ? c->hfield.data : "", c->hfield.len);
    r->headers[r->nheaders].value = arena_strndup(&r->arena, c->hvalue.data ? c->hvalue.data : "", c->hvalue.len);
    r->nheaders++;
    buf_clear(&c->hfield);
    buf_clear(&c->hvalue);
    c->hstate = H_NONE;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_header_bytes(c, len))
        return -1;
    buf_add(&c->url, at, len);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_header_bytes(c, len) || commit_header(c))
        return -1;
    buf_add(&c->hfield, at, len);
    c->hstate = H_FIELD;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (count_header_bytes(c, len))
        return -1;
    buf_add(&c->hvalue, at, len);
    c->hstate = H_VALUE;
    return 0;
}

static enum http_verb verb_of(enum http_method m)
{
    switch (m) {
    case HTTP_GET: return HTTP_VERB_GET;
    case HTTP_POST: return HTTP_VERB_POST;
    case HTTP_PUT: return HTTP_VERB_PUT;
    case HTTP_PATCH: return HTTP_VERB_PATCH;
    case HTTP_DELETE: return HTTP_VERB_DELETE;
    case HTTP_HEAD: return HTTP_VERB_HEAD;
    case HTTP_OPTIONS: return HTTP_VERB_OPTIONS;
    default: return HTTP_VERB_OTHER;
    }
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    struct http_request *r = c->req;
    if (commit_header(c))
        return -1;
    r->verb = verb_of((enum http_method)p->method);
    r->method = http_method_str((enum http_method)p->method);

    struct http_parser_url u;
    http_parser_url_init(&u);
    if (!c->url.len || http_parser_parse_url(c->url.data, c->url.len, 0, &u) != 0)
        return reject(c, 400, "bad_request", "the request target is malformed");
    if (u.field_set & (1 << UF_PATH))
        r->path = arena_strndup(&r->arena, c->url.data + u.field_data[UF_PATH].off,
                                u.field_data[UF_PATH].len);
    else
        r->path = "/";
    if (u.field_set & (1 << UF_QUERY))
        r->query = arena_strndup(&r->arena, c->url.data + u.field_data[UF_QUERY].off,
                                 u.field_data[UF_QUERY].len);

    bool has_length = p->flags & F_CONTENTLENGTH;
    if (has_length && p->content_length > c->srv->limits.max_body_bytes)
        return reject(c, 413, "body_too_large", "the request body is over the size limit");
    bool has_body = (has_length && p->content_length > 0) || (p->flags & F_CHUNKED);
    if (has_body && mem_low())
        return reject(c, 503, HTTP_OUT_OF_MEMORY_CODE, HTTP_OUT_OF_MEMORY_MESSAGE);
    const char *expect = http_header(r, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && p->http_minor >= 1)
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    struct http_request *r = c->req;
    if (r->body.len + len > c->srv->limits.max_body_bytes)
        return reject(c, 413, "body_too_large", "the request body is over the size limit");
    buf_add(&r->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    c->message_complete = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- connection life ---- */

static void set_read_timeout(struct http_conn *c, int seconds)
{
    struct timeval rt = {seconds, 0};
    struct timeval wt = {c->srv->limits.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, seconds ? &rt : NULL, &wt);
}

/* Sets the read timeout to what is left until deadline_ns (monotonic).
 * libevent restarts a read timeout after every read, so a deadline that
 * must hold however the client trickles is armed again after each one.
 * false when the deadline has passed. */
static bool arm_read_deadline(struct http_conn *c, uint64_t deadline_ns)
{
    uint64_t now = hclock_mono_ns();
    if (now >= deadline_ns)
        return false;
    uint64_t left = deadline_ns - now;
    struct timeval rt = {(time_t)(left / 1000000000u), (suseconds_t)(left % 1000000000u / 1000)};
    if (!rt.tv_sec && !rt.tv_usec)
        rt.tv_usec = 1; /* under a microsecond left: a zero timeval would mean none */
    struct timeval wt = {c->srv->limits.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &rt, &wt);
    return true;
}

static void conn_reset_for_next(struct http_conn *c)
{
    c->req = NULL;
    c->state = C_READING;
    c->hstate = H_NONE;
    buf_clear(&c->url);
    buf_clear(&c->hfield);
    buf_clear(&c->hvalue);
    c->header_bytes = 0;
    c->first_byte_ns = 0;
    c->message_complete = false;
    c->reject_status = 0;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    set_read_timeout(c, c->srv->limits.idle_timeout_s);
}

static void conn_reject(struct http_conn *c)
{
    c->close_after = true;
    /* Make sure there is a request to answer on. */
    if (!c->req)
        c->req = request_new(c);
    if (c->reject_status == 503)
        http_add_header(c->req, "Retry-After", "1");
    http_respond_error(c->req, c->reject_status, c->reject_code, NULL, c->reject_msg);
}

static void conn_dispatch(struct http_conn *c)
{
    struct http_request *r = c->req;
    c->state = C_HANDLING;
    set_read_timeout(c, 0);
    assign_request_id(c->srv, r);
    c->srv->handler(r, c->srv->handler_arg);
}

/* Feeds buffered input to the parser until a request is complete, the input
 * runs out, or the request is refused. */
static void conn_process(struct http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->state == C_READING) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        if (!c->req) {
            c->req = request_new(c);
            c->first_byte_ns = hclock_mono_ns();
            set_read_timeout(c, c->srv->limits.request_timeout_s);
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return;
        size_t n = http_parser_execute(&c->parser, &parser_settings, v.iov_base, v.iov_len);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        evbuffer_drain(in, n);
        if (c->reject_status) {
            conn_reject(c);
            return;
        }
        if (c->message_complete) {
            http_parser_pause(&c->parser, 0);
            conn_dispatch(c);
            return;
        }
        if (err != HPE_OK) {
            c->reject_status = 400;
            c->reject_code = "bad_request";
            c->reject_msg = "malformed HTTP request";
            conn_reject(c);
            return;
        }
        /* The deadline runs from the first byte, not from the last read:
         * a client trickling a byte at a time (slowloris) gets no more. */
        uint64_t limit_ns = (uint64_t)c->srv->limits.request_timeout_s * 1000000000u;
        if (!arm_read_deadline(c, c->first_byte_ns + limit_ns)) {
            c->reject_status = 408;
            c->reject_code = "request_timeout";
            c->reject_msg = "the request took too long to arrive";
            conn_reject(c);
            return;
        }
    }
}

static void stream_end(struct http_conn *c);

static void on_read(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    if (c->state == C_STREAMING) { /* a stream's client has nothing to say */
        struct evbuffer *in = bufferevent_get_input(bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > 4096)
            stream_end(c);
        return;
    }
    if (c->state == C_LINGERING) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > LINGER_MAX_BYTES || !arm_read_deadline(c, c->linger_until_ns))
            conn_free(c);
        return;
    }
    conn_process(c);
}

/* Half-closes our side, then waits for the client's EOF (or the limits). */
static void conn_linger(struct http_conn *c)
{
    c->state = C_LINGERING;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    c->linger_until_ns = hclock_mono_ns() + (uint64_t)LINGER_S * 1000000000u;
    bufferevent_enable(c->bev, EV_READ);
    on_read(c->bev, c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    if (c->state == C_STREAMING) {
        if (c->closing && !evbuffer_get_length(bufferevent_get_output(bev)))
            stream_end(c);
        return;
    }
    if (c->state != C_WRITING || evbuffer_get_length(bufferevent_get_output(bev)))
        return;
    request_free(c->req);
    c->req = NULL;
    if (c->close_after) {
        if (!c->peer_closed) {
            conn_linger(c);
            return;
        }
        /* The client has sent all it will: answer the whole requests it
         * pipelined before its EOF, then close. */
        if (c->may_continue && evbuffer_get_length(bufferevent_get_input(bev))) {
            conn_reset_for_next(c);
            conn_process(c);
            if (c->state == C_READING) /* only part of a request was left */
                conn_free(c);
            return;
        }
        conn_free(c);
        return;
    }
    conn_reset_for_next(c);
    conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct http_conn *c = arg;
    if (c->state == C_LINGERING) {
        conn_free(c);
        return;
    }
    if (c->state == C_STREAMING) { /* the client left, or a write timed out */
        stream_end(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->state != C_READING) {
        /* The client half-closed or left; answer anyway, then close. */
        c->peer_closed = true;
        c->close_after = true;
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
        c->state == C_READING && c->req) {
        c->reject_status = 408;
        c->reject_code = "request_timeout";
        c->reject_msg = "the request took too long to arrive";
        conn_reject(c);
        return;
    }
    conn_free(c);
}

static void drain_done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_server *srv = arg;
    if (srv->drained) {
        void (*done)(void *) = srv->drained;
        srv->drained = NULL;
        done(srv->drained_arg);
    }
}

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->state == C_STREAMING)
        srv->nstreams--;
    if (c->end_ev)
        event_free(c->end_ev);
    if (c->req) {
        if (c->state == C_HANDLING)
            c->req->conn = NULL; /* the handler still holds it */
        else
            request_free(c->req);
    }
    bufferevent_free(c->bev);
    buf_free(&c->url);
    buf_free(&c->hfield);
    buf_free(&c->hvalue);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    srv->nconns--;
    if (srv->listener_paused && !srv->draining &&
        srv->nconns < srv->limits.max_connections) {
        evconnlistener_enable(srv->listener);
        srv->listener_paused = false;
    }
    if (srv->draining && srv->nconns == 0 && srv->drained)
        event_active(srv->drain_ev, EV_TIMEOUT, 0);
}

int http_server_adopt(struct http_server *srv, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly off TCP */
    evutil_make_socket_nonblocking(fd);
    struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return -1;
    }
    struct http_conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->bev = bev;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    conn_reset_for_next(c);
    /* Stop reading ahead while a request is handled: pipelined input waits. */
    bufferevent_setwatermark(bev, EV_READ, 0, 64 * 1024);
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (srv->nconns >= srv->limits.max_connections && srv->listener && !srv->listener_paused) {
        evconnlistener_disable(srv->listener);
        srv->listener_paused = true;
        uint64_t now = hclock_mono_ns();
        if (now - srv->full_warned_ns > 10ull * 1000000000u) { /* once per 10 s */
            srv->full_warned_ns = now;
            hlog_warn("http: %d connections open (the limit); new ones wait", srv->nconns);
        }
    }
    return 0;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    (void)l;
    (void)sa;
    (void)socklen;
    http_server_adopt(arg, fd);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_server *srv = arg;
    if (srv->listener && !srv->listener_paused)
        evconnlistener_enable(srv->listener);
}

/* Out of file descriptors (or similar): the pending connection would fail
 * again at once, so pause accepting for a moment instead of spinning. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct http_server *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    hlog_warn("http: accept failed (%s); pausing new connections for 100 ms",
              evutil_socket_error_to_string(err));
    evconnlistener_disable(l);
    struct timeval tv = {0, 100000};
    event_add(srv->accept_retry_ev, &tv);
}

struct http_server *http_server_new(struct event_base *base,
                                    const struct http_limits *limits,
                                    http_handler_fn handler, void *arg)
{
    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->base = base;
    srv->limits = *limits;
    srv->handler = handler;
    srv->handler_arg = arg;
    crypto_random(&srv->rid_prefix, sizeof srv->rid_prefix);
    srv->drain_ev = event_new(base, -1, 0, drain_done_cb, srv);
    srv->accept_retry_ev = evtimer_new(base, on_accept_resume, srv);
    return srv;
}

void http_server_set_observer(struct http_server *srv, http_observer_fn fn, void *arg)
{
    srv->observer = fn;
    srv->observer_arg = arg;
}

int http_server_listen(struct http_server *srv, const char *host, int port)
{
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                    .ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG};
    struct evutil_addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = evutil_getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0 || !res) {
        hlog_error("http: cannot resolve %s: %s", host, evutil_gai_strerror(gai));
        return -1;
    }
    srv->listener = evconnlistener_new_bind(
        srv->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
        res->ai_addr, (int)res->ai_addrlen);
    evutil_freeaddrinfo(res);
    if (!srv->listener) {
        hlog_error("http: cannot listen on %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void http_server_drain(struct http_server *srv, void (*done)(void *), void *arg)
{
    srv->draining = true;
    srv->drained = done;
    srv->drained_arg = arg;
    event_del(srv->accept_retry_ev);
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    /* Close idle connections now; busy ones close after their answer. */
    struct http_conn *c = srv->conns;
    while (c) {
        struct http_conn *next = c->next;
        if (c->state == C_READING && !c->req)
            conn_free(c);
        else if (c->state == C_STREAMING)
            stream_end(c);
        else
            c->close_after = true;
        c = next;
    }
    if (srv->nconns == 0)
        event_active(srv->drain_ev, EV_TIMEOUT, 0);
}

int http_server_connections(const struct http_server *srv)
{
    return srv->nconns;
}

int http_server_streams(const struct http_server *srv)
{
    return srv->nstreams;
}

/* ---- streams ---- */

/* Ends a stream from the server's side: tell the owner, then free. */
static void stream_end(struct http_conn *c)
{
    http_stream_closed_fn cb = c->on_closed;
    c->on_closed = NULL;
    if (cb)
        cb(c->closed_arg);
    conn_free(c);
}

static void stream_end_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    stream_end(arg);
}

static void stream_end_soon(struct http_conn *c)
{
    if (!c->end_ev)
        c->end_ev = evtimer_new(c->srv->base, stream_end_later, c);
    event_active(c->end_ev, EV_TIMEOUT, 0);
}

struct http_stream *http_stream_open(struct http_request *req, const char *content_type,
                                     size_t max_queue, http_stream_closed_fn on_closed,
                                     void *arg)
{
    struct http_server *srv = req->srv;
    struct http_conn *c = req->conn;
    if (!req->request_id[0])
        assign_request_id(srv, req);
    req->responded = true;
    if (srv->observer)
        srv->observer(req, 200, srv->observer_arg);
    if (!c) { /* the client left before we answered */
        request_free(req);
        return NULL;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 200 OK\r\n"
                        "Date: %s\r\n"
                        "X-Request-Id: %s\r\n"
                        "Content-Type: %s\r\n"
                        "Cache-Control: no-store\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "X-Accel-Buffering: no\r\n"
                        "Connection: close\r\n",
                        http_date(srv), req->request_id, content_type);
    if (req->resp_headers.len)
        evbuffer_add(out, req->resp_headers.data, req->resp_headers.len);
    evbuffer_add(out, "\r\n", 2);
    /* The request is done with; keep only the connection. */
    request_free(req);
    c->req = NULL;
    buf_free(&c->url);
    buf_free(&c->hfield);
    buf_free(&c->hvalue);
    /* A client that vanishes without closing (a laptop lid, a dropped
     * network) is noticed by TCP keepalive within about two minutes. */
    int fd = bufferevent_getfd(c->bev), on = 1, idle = 60, intvl = 15, cnt = 4;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    c->state = C_STREAMING;
    c->on_closed = on_closed;
    c->closed_arg = arg;
    c->max_queue = max_queue;
    c->lingered = 0;
    srv->nstreams++;
    struct timeval wt = {srv->limits.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt); /* no read timeout: heartbeats keep it alive */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 4096);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return (struct http_stream *)c;
}

int http_stream_write(struct http_stream *s, const char *data, size_t len)
{
    struct http_conn *c = (struct http_conn *)s;
    if (c->closing)
        return -1;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) + len > c->max_queue) {
        /* A reader this slow would hold memory without end: drop it. Its
         * client reconnects and replays what it missed. */
        c->closing = true;
        evbuffer_drain(out, evbuffer_get_length(out));
        stream_end_soon(c);
        return -1;
    }
    evbuffer_add(out, data, len);
    return 0;
}

void http_stream_close(struct http_stream *s)
{
    struct http_conn *c = (struct http_conn *)s;
    c->on_closed = NULL;
    if (c->closing)
        return; /* already on its way out */
    c->closing = true;
    if (!evbuffer_get_length(bufferevent_get_output(c->bev)))
        stream_end_soon(c);
}

size_t http_stream_queued(const struct http_stream *s)
{
    const struct http_conn *c = (const struct http_conn *)s;
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_free(srv->conns);
    if (srv->listener)
        evconnlistener_free(srv->listener);
    event_free(srv->drain_ev);
    event_free(srv->accept_retry_ev);
    free(srv);
}
