/* smtpsink.c - a fast SMTP sink for the email benchmark (not a test peer:
 * the tests use a real server, aiosmtpd). It accepts everything, keeps
 * nothing, and counts: messages, connections, and the time from the first
 * message to the last. One thread, one libevent loop; Python's aiosmtpd
 * would be the bottleneck at these rates.
 *
 *   smtpsink -p PORT -n MESSAGES      exits after MESSAGES, printing
 *   RESULT messages=N connections=C seconds=S rate=R  (first to last message)
 *
 * With -H 1 it is a provider that hangs (bench/faults.sh): it accepts every
 * connection, reads what comes, and never answers, not even the greeting,
 * so every send waits out the client's timeout.
 *
 * For the soak (bench/soak.sh) it can also be a flaky provider:
 *   -f PERCENT   answer this share of messages 451 at the end of DATA (a
 *                transient refusal: Herald retries them), at random;
 *   -l FILE      append one line per message to FILE: "ok <Message-ID>" or
 *                "fail <Message-ID>", so duplicates and retries can be
 *                counted afterwards (-n 0 runs until killed);
 *   -s SEED      the random seed for -f (default 1), so a run repeats.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static long want, messages, connections, refused;
static bool hang;
static int fail_percent;
static FILE *log_file;
static double first_at, last_at;
static struct event_base *base;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct session {
    bool in_data;
    bool in_headers;   /* in DATA, before the blank line that ends the headers */
    char msgid[256];   /* this message's Message-ID, for -l */
};

/* Copies the value of a "Message-ID:" header line into s->msgid, without
 * the spaces around it; the header is one line in Herald's mails. */
static void take_msgid(struct session *s, const char *line, size_t len)
{
    static const char NAME[] = "message-id:";
    if (len < sizeof NAME - 1 || strncasecmp(line, NAME, sizeof NAME - 1))
        return;
    const char *v = line + sizeof NAME - 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= sizeof s->msgid)
        n = sizeof s->msgid - 1;
    memcpy(s->msgid, v, n);
    s->msgid[n] = '\0';
}

static void reply(struct bufferevent *bev, const char *line)
{
    bufferevent_write(bev, line, strlen(line));
}

static void finish(void)
{
    double secs = last_at - first_at;
    printf("RESULT messages=%ld connections=%ld seconds=%.3f rate=%.0f refused=%ld\n", messages,
           connections, secs, secs > 0 ? (double)(messages - 1) / secs : 0.0, refused);
    fflush(stdout);
    struct timeval linger = {0, 200000}; /* let the last replies go out */
    event_base_loopexit(base, &linger);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t len;
    if (hang) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF))) {
        if (s->in_data) {
            if (len == 1 && line[0] == '.') {
                s->in_data = false;
                /* Refuse before counting: a refused message was not received,
                 * and the sender must try it again. */
                if (fail_percent && rand() % 100 < fail_percent) {
                    refused++;
                    if (log_file)
                        fprintf(log_file, "fail %s\n", s->msgid[0] ? s->msgid : "-");
                    reply(bev, "451 4.3.0 Try again later (smtpsink -f)\r\n");
                    free(line);
                    continue;
                }
                if (log_file)
                    fprintf(log_file, "ok %s\n", s->msgid[0] ? s->msgid : "-");
                double t = now_s();
                if (messages++ == 0)
                    first_at = t;
                last_at = t;
                reply(bev, "250 2.0.0 Ok: queued\r\n");
                if (want && messages == want)
                    finish();
            } else if (s->in_headers) {
                if (len == 0)
                    s->in_headers = false;
                else
                    take_msgid(s, line, len);
            }
        } else if (!strncasecmp(line, "EHLO", 4)) {
            reply(bev, "250-smtpsink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n");
        } else if (!strncasecmp(line, "HELO", 4)) {
            reply(bev, "250 smtpsink\r\n");
        } else if (!strncasecmp(line, "DATA", 4)) {
            s->in_data = true;
            s->in_headers = true;
            s->msgid[0] = '\0';
            reply(bev, "354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (!strncasecmp(line, "QUIT", 4)) {
            reply(bev, "221 2.0.0 Bye\r\n");
            bufferevent_flush(bev, EV_WRITE, BEV_FLUSH);
        } else {
            reply(bev, "250 2.0.0 Ok\r\n"); /* MAIL, RCPT, RSET, NOOP */
        }
        free(line);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    free(arg);
    bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int n,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)n;
    (void)arg;
    connections++;
    struct session *s = calloc(1, sizeof *s);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, on_read, NULL, on_event, s);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (!hang)
        reply(bev, "220 smtpsink ESMTP\r\n");
}

int main(int argc, char **argv)
{
    int port = 2525;
    unsigned seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-p"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n"))
            want = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-H"))
            hang = atoi(argv[i + 1]) != 0;
        else if (!strcmp(argv[i], "-f"))
            fail_percent = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s"))
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-l") && !(log_file = fopen(argv[i + 1], "a"))) {
            perror("smtpsink: -l");
            return 1;
        }
    }
    srand(seed);
    /* Line-buffered: the soak reads the log while the sink runs, and kills
     * it at the end without a chance to flush. */
    if (log_file)
        setvbuf(log_file, NULL, _IOLBF, 0);
    base = event_base_new();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct evconnlistener *l = evconnlistener_new_bind(
        base, on_accept, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 512,
        (struct sockaddr *)&sin, sizeof sin);
    if (!l) {
        perror("smtpsink: listen");
        return 1;
    }
    printf("smtpsink: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    event_base_dispatch(base);
    evconnlistener_free(l);
    event_base_free(base);
    return 0;
}
