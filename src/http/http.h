/* http.h - Herald's HTTP/1.1 server on one libevent loop.
 *
 * Requests are parsed by Debian's libhttp-parser with hard limits on header
 * bytes, header count, body bytes and the time a request may take to arrive.
 * A complete request goes to one handler; the handler answers at once or
 * later (after a store job) with http_respond*. Every answer, including the
 * server's own rejections (400, 408, 413, 431, 503), is JSON and carries
 * X-Request-Id. A connection serves one request at a time; pipelined input
 * waits in the socket buffer.
 *
 * Ownership: the server owns each http_request. It stays valid until the
 * handler has responded, even if the client disconnects meanwhile (the
 * answer is then dropped). Strings in a request live in req->arena. */
#ifndef HERALD_HTTP_HTTP_H
#define HERALD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

struct event_base;
struct http_server;
struct http_conn;

enum http_verb { HTTP_VERB_GET, HTTP_VERB_POST, HTTP_VERB_PUT, HTTP_VERB_PATCH,
                 HTTP_VERB_DELETE, HTTP_VERB_HEAD, HTTP_VERB_OPTIONS,
                 HTTP_VERB_OTHER };

#define HTTP_MAX_HEADERS 64

/* The answer while memory is low (core/mem.h): the server gives it to a
 * request with a body before reading the body; the API to the rest. */
#define HTTP_OUT_OF_MEMORY_CODE "out_of_memory"
#define HTTP_OUT_OF_MEMORY_MESSAGE "Herald is short of memory and takes no new work until it returns; retry shortly"
#define HTTP_REQUEST_ID_MAX 64

struct http_header {
    const char *name;
    const char *value;
};

struct http_request {
    enum http_verb verb;
    const char *method;   /* as sent, e.g. "PATCH" */
    const char *path;     /* raw path, no query */
    const char *query;    /* raw query string without '?', or NULL */
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    struct buf body;
    char request_id[HTTP_REQUEST_ID_MAX + 1];
    uint64_t started_ns;
    struct arena arena;
    void *user; /* the handler's per-request state */

    /* private to the server */
    struct http_conn *conn;   /* NULL once the client is gone */
    struct http_server *srv;
    struct buf resp_headers;  /* extra "Name: value\r\n" lines */
    bool responded;
};

typedef void (*http_handler_fn)(struct http_request *req, void *arg);
/* Called after each answer, for access logs and metrics. */
typedef void (*http_observer_fn)(struct http_request *req, int status, void *arg);

struct http_limits {
    size_t max_header_bytes; /* request line + headers */
    size_t max_body_bytes;
    int max_connections;
    int request_timeout_s;   /* from first byte to complete request */
    int idle_timeout_s;      /* keep-alive between requests */
    int write_timeout_s;
};

void http_limits_default(struct http_limits *l);

struct http_server *http_server_new(struct event_base *base,
                                    const struct http_limits *limits,
                                    http_handler_fn handler, void *arg);
void http_server_set_observer(struct http_server *srv, http_observer_fn fn, void *arg);
/* Serves a connected socket as if it had been accepted (the fuzz target
 * feeds requests through a socketpair). The server owns fd from here on,
 * even on failure (-1). */
int http_server_adopt(struct http_server *srv, int fd);
/* Binds and listens; host may be a name or an address. Returns the port
 * actually bound (useful with port 0), or -1. */
int http_server_listen(struct http_server *srv, const char *host, int port);
/* Stops accepting, lets in-flight requests finish (their answers close the
 * connection), closes idle connections, then calls done once. */
void http_server_drain(struct http_server *srv, void (*done)(void *), void *arg);
void http_server_free(struct http_server *srv);
int http_server_connections(const struct http_server *srv);

/* Request accessors. */
const char *http_header(const struct http_request *req, const char *name);
/* Decoded value of a query parameter, or NULL; allocated in req->arena. */
const char *http_query(struct http_request *req, const char *name);
/* Percent-decodes s (no '+' rule); NULL if malformed or it contains NUL. */
char *http_unescape(struct arena *a, const char *s, size_t n);

/* Responses. */
void http_add_header(struct http_request *req, const char *name, const char *value);
/* Copies body. Content-Type may be NULL for an empty body. */
void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *body, size_t len);
/* The one JSON error shape: {"error":{"code","message","field"}}; field may
 * be NULL. */
void http_respond_error(struct http_request *req, int status, const char *code,
                        const char *field, const char *message);

const char *http_reason(int status);

/* ---- streams (text/event-stream and the like) ----
 *
 * http_stream_open answers 200 with no length and keeps the connection for
 * writes until it closes; the request is released (do not touch req after).
 * on_closed runs exactly once when the stream ends for any reason but
 * http_stream_close: the client left, it read too slowly (its queue passed
 * max_queue bytes), a write timed out, or the server is draining. It runs
 * from the loop, never inside http_stream_write. */
struct http_stream;
typedef void (*http_stream_closed_fn)(void *arg);

struct http_stream *http_stream_open(struct http_request *req, const char *content_type,
                                     size_t max_queue, http_stream_closed_fn on_closed,
                                     void *arg);
/* 0, or -1 when the stream is closing (the data was not queued). */
int http_stream_write(struct http_stream *s, const char *data, size_t len);
/* Closes from the owner's side; on_closed does not run. */
void http_stream_close(struct http_stream *s);
size_t http_stream_queued(const struct http_stream *s);
int http_server_streams(const struct http_server *srv);

#endif
