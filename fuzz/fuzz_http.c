/* fuzz_http.c - the HTTP/1.1 server on raw bytes: request lines, headers,
 * bodies (Content-Length and chunked), pipelining, garbage. Each input is
 * written into one end of a socketpair whose other end the server adopts,
 * as a client would send it, and the loop runs until the server has
 * answered and closed. The handler reads every header and a query
 * parameter, and answers with the body echoed, so answers are built too.
 *
 * Checked: no crash, no sanitizer report, no leak, and the connection is
 * gone once the client has closed (a server that kept it would leak a
 * descriptor per client). */
#include "fuzz/fuzz.h"
#include "core/log.h"
#include "http/http.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event_base *base;
static struct http_server *srv;

static void handle(struct http_request *req, void *arg)
{
    (void)arg;
    size_t seen = 0;
    for (int i = 0; i < req->nheaders; i++)
        seen += strlen(req->headers[i].name) + strlen(req->headers[i].value);
    const char *host = http_header(req, "host");
    const char *q = http_query(req, "q");
    if (host || q || seen)
        http_add_header(req, "X-Seen", q && *q && !strpbrk(q, "\r\n") ? q : "-");
    http_respond(req, 200, "text/plain", req->body.data ? req->body.data : "", req->body.len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hlog_set_level(HLOG_ERROR); /* refusals are warnings: keep the run quiet */
    base = event_base_new();
    struct http_limits limits;
    http_limits_default(&limits);
    limits.max_body_bytes = 4096;
    srv = http_server_new(base, &limits, handle, NULL);
    return base && srv ? 0 : 1;
}

/* Runs the loop without blocking until the server has no connection, at
 * most max passes; reads (and drops) what the server sends to fd. */
static bool settle(int fd, int max)
{
    char sink[16384];
    for (int i = 0; i < max; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        while (fd >= 0 && read(fd, sink, sizeof sink) > 0)
            ;
        if (http_server_connections(srv) == 0)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return 0;
    if (http_server_adopt(srv, sv[0]) != 0) {
        close(sv[1]);
        return 0;
    }
    /* The input is at most -max_len bytes, well inside the socket's buffer. */
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
        settle(sv[1], 4);
    }
    shutdown(sv[1], SHUT_WR);
    settle(sv[1], 64);
    close(sv[1]);
    if (!settle(-1, 256)) {
        fprintf(stderr, "fuzz_http: a connection outlived its closed client\n");
        abort();
    }
    return 0;
}
