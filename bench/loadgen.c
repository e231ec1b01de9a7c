/* loadgen.c - closed-loop HTTP load for Herald's benchmarks (not a test).
 *
 * C keep-alive connections on loopback, one request in flight each: a
 * connection sends, waits for the whole answer, records the latency, sends
 * again. Mode "ingest" posts appointment.booked events with unique ids
 * naming the given members; mode "get" repeats one GET. Runs for -d
 * seconds (after -w seconds of warm-up that are not counted) or for -n
 * requests, then prints one line: RESULT key=value ...
 *
 *   loadgen -p PORT -m ingest -k API_KEY -M m1,m2,m3 -c 64 -d 10 -w 2
 *   loadgen -p PORT -m get -k TOKEN -P /v1/me/notifications -c 1 -n 2000
 *
 * A member name in -M may hold "%d", replaced by the connection's index
 * (0..C-1): "-M a%d,b%d,c%d" gives every connection its own 3 members.
 *
 * -o FILE also writes every measured latency (ns, one per line) to FILE, so
 * that several loadgens run side by side (one per server) can be merged
 * into one set of percentiles.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    char out[4096];
    size_t out_len, out_off;
    char in[65536];
    size_t in_len;
    uint64_t sent_ns;
    int index;
};

static int port = 8080, conns = 1, seconds = 0, warm = 0;
static long total = 0;
static const char *mode = "ingest", *key = "", *path = "/v1/me/notifications",
                  *members = "m1,m2,m3", *prefix = "ev", *lat_file = NULL;
static uint64_t *lat;
static size_t nlat, caplat;
static long seq, errors, done_total;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void build_request(struct conn *c)
{
    if (strcmp(mode, "get") == 0) {
        c->out_len = (size_t)snprintf(c->out, sizeof c->out,
                                      "GET %s HTTP/1.1\r\nHost: bench\r\n"
                                      "Authorization: Bearer %s\r\n\r\n", path, key);
    } else {
        char staff[512] = "";
        char copy[512];
        snprintf(copy, sizeof copy, "%s", members);
        for (char *m = strtok(copy, ","); m; m = strtok(NULL, ",")) {
            strcat(staff, staff[0] ? ",\"" : "\"");
            char *d = strstr(m, "%d");
            if (d) { /* this connection's own member */
                char one[600];
                snprintf(one, sizeof one, "%.*s%d%s", (int)(d - m), m, c->index, d + 2);
                strcat(staff, one);
            } else {
                strcat(staff, m);
            }
            strcat(staff, "\"");
        }
        long n = ++seq;
        char body[2048];
        int blen = snprintf(body, sizeof body,
            "{\"id\":\"%s-%ld\",\"type\":\"appointment.booked\",\"occurred_at\":"
            "\"2026-11-21T09:30:00Z\",\"source\":\"booking_page\",\"actor\":{\"kind\":"
            "\"client\",\"id\":\"cl_%ld\",\"name\":\"Dana Reyes\"},\"data\":{\"appointment\":"
            "{\"id\":\"ap_%ld\",\"starts_at\":\"2026-11-24T14:30:00Z\",\"ends_at\":"
            "\"2026-11-24T15:20:00Z\",\"staff_ids\":[%s],\"service\":{\"id\":\"sv_1\","
            "\"name\":\"Initial consult\",\"assignee_ids\":[]}},\"client\":{\"id\":\"cl_%ld\","
            "\"name\":\"Dana Reyes\",\"assigned_staff_ids\":[]}}}",
            prefix, n, n % 1000, n, staff, n % 1000);
        c->out_len = (size_t)snprintf(c->out, sizeof c->out,
                                      "POST /v1/events HTTP/1.1\r\nHost: bench\r\n"
                                      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %d\r\n\r\n%s", key, blen, body);
    }
    c->out_off = 0;
    c->in_len = 0;
}

static int connect_one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* Returns 1 when a whole answer is in, 0 when more is needed. */
static int parse_answer(struct conn *c, int *status)
{
    c->in[c->in_len] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return 0;
    char *cl = strcasestr(c->in, "Content-Length:");
    size_t body = cl && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
    if (c->in_len < (size_t)(end + 4 - c->in) + body)
        return 0;
    *status = atoi(c->in + 9);
    return 1;
}

static void record(uint64_t ns)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof *lat);
    }
    lat[nlat++] = ns;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "p:c:d:w:n:m:k:P:M:x:o:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 'm': mode = optarg; break;
        case 'k': key = optarg; break;
        case 'P': path = optarg; break;
        case 'M': members = optarg; break;
        case 'x': prefix = optarg; break;
        case 'o': lat_file = optarg; break;
        default:
            fprintf(stderr, "usage: see the head of loadgen.c\n");
            return 2;
        }
    }
    int ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    uint64_t t0 = now_ns();
    uint64_t measure_from = t0 + (uint64_t)warm * 1000000000u;
    uint64_t stop_at = seconds ? measure_from + (uint64_t)seconds * 1000000000u : UINT64_MAX;
    long started = 0;
    for (int i = 0; i < conns; i++) {
        cs[i].fd = connect_one();
        cs[i].index = i;
        build_request(&cs[i]);
        cs[i].sent_ns = now_ns();
        started++;
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int open = conns;
    uint64_t first_counted = 0, last_done = 0;
    while (open > 0) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->out_off < c->out_len) {
                ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
                if (w > 0)
                    c->out_off += (size_t)w;
                else if (w < 0 && errno != EAGAIN) {
                    perror("write");
                    return 1;
                }
                if (c->out_off == c->out_len) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                fprintf(stderr, "loadgen: connection closed by the server\n");
                return 1;
            }
            c->in_len += (size_t)r;
            int status;
            if (!parse_answer(c, &status))
                continue;
            uint64_t t = now_ns();
            if (status < 200 || status > 299) {
                errors++;
                if (errors < 5)
                    fprintf(stderr, "loadgen: status %d: %.200s\n", status, c->in);
            }
            done_total++;
            if (c->sent_ns >= measure_from && t <= stop_at) {
                if (!first_counted)
                    first_counted = c->sent_ns;
                record(t - c->sent_ns);
                last_done = t;
            }
            bool more = (total ? started < total : t < stop_at);
            if (!more) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                open--;
                continue;
            }
            build_request(c);
            c->sent_ns = now_ns();
            started++;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }
    if (!nlat) {
        fprintf(stderr, "loadgen: nothing measured\n");
        return 1;
    }
    if (lat_file) {
        FILE *f = fopen(lat_file, "w");
        if (!f) {
            perror(lat_file);
            return 1;
        }
        for (size_t i = 0; i < nlat; i++)
            fprintf(f, "%llu\n", (unsigned long long)lat[i]);
        if (fclose(f) != 0) {
            perror(lat_file);
            return 1;
        }
    }
    qsort(lat, nlat, sizeof *lat, cmp);
    double secs = (double)(last_done - (seconds ? measure_from : first_counted)) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    printf("RESULT mode=%s conns=%d requests=%zu errors=%ld secs=%.2f rate=%.0f "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           mode, conns, nlat, errors, secs, (double)nlat / secs,
           (double)lat[nlat / 2] / 1e6, (double)lat[nlat * 9 / 10] / 1e6,
           (double)lat[nlat * 99 / 100] / 1e6, (double)lat[nlat - 1] / 1e6);
    return errors ? 1 : 0;
}
