/* sseload.c - SSE fan-out load client (epoll, non-blocking, loopback only).
 *
 * Herald's copy of ../shared/tools/sseload/sseload.c, extended to drive
 * Herald's API (flag -j): streams send "Authorization: Bearer <token of
 * user i>" (tokens read, one per line, from the file given with -t), and
 * publishing posts an appointment.booked event naming member "u<i>" whose
 * client name carries the ts= stamp, so it reaches the stream's data line.
 * -K gives the publish API key. Without -j it behaves as the original, so
 * the nginx + nchan anchor runs with the same binary.
 *
 * Opens K SSE streams spread over U users (stream i -> user i % U), source
 * addresses 127.0.0.2..127.0.0.(1+A) bound before connect, waits until all
 * are established, samples server RSS, then publishes M events at rate R over
 * C keep-alive publish connections (one request in flight per connection).
 *
 * Several servers (nodes sharing one store): -p takes a list of ports,
 * "-p 8081,8082,8083". Stream i, the k-th stream (k = i / U) of user
 * u = i % U, goes to port (u + k) % N: round-robin over the ports in stream
 * order, and a user's streams sit on different ports. Publish connection j
 * goes to port j % N of the -q list (default: the -p list), so -q 8081
 * publishes through one node. With one port nothing changes.
 * Each event body carries "ts=<CLOCK_MONOTONIC ns>" written at send time;
 * subscribers compute publish-to-receive latency on every delivered copy.
 *
 * Subscribers run in P forked processes (RLIMIT_NOFILE is per process);
 * counters and the latency histogram live in a MAP_SHARED mapping.
 * All loops are bounded in count and time.  Build: cc -O2 -o sseload sseload.c
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

/* ---------- options ---------- */
static const char *o_host = "127.0.0.1";
static int o_port = 8080, o_k = 1000, o_u = 0, o_m = 10000, o_c = 4, o_p = 0, o_bytes = 300, o_addrs = 49;
static double o_rate = 1000;
static int o_conn_timeout = 120, o_drain = 10, o_inflight = 256, o_hold = 0;
static const char *o_spath = "/stream?user=%d", *o_ppath = "/publish?user=%d", *o_pids = NULL, *o_label = "";
static int o_herald = 0;                 /* -j: Herald's API */
static const char *o_tokens = NULL;      /* -t: file of bearer tokens, one per user */
static const char *o_key = "";           /* -K: API key for publishing */
static char **tokens;
#define MAX_PORTS 16
static int o_ports[MAX_PORTS], o_nports = 1;  /* -p: where streams go */
static int o_pports[MAX_PORTS], o_npports = 0; /* -q: where publishes go (0: the -p list) */

/* ---------- shared state ---------- */
#define HB_US 100000          /* 1us buckets up to 100 ms */
#define HB_MS 120000          /* then 1ms buckets up to 120 s */
struct shared {
    long established, failed, closed_early, delivered, parse_bad;
    long err_connect, err_status, err_eof;
    uint64_t first_rx, last_rx, max_lat;
    int go_exit;
    int ready_children;
    long hist[HB_US + HB_MS];
    int user_streams[]; /* per user: currently open streams */
};
static struct shared *SH;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
#define AADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

static void record_latency(uint64_t lat_ns, uint64_t now)
{
    uint64_t us = lat_ns / 1000;
    long idx = us < HB_US ? (long)us : HB_US + (long)((us / 1000) < HB_MS ? us / 1000 : HB_MS - 1);
    AADD(&SH->hist[idx], 1);
    AADD(&SH->delivered, 1);
    uint64_t m = __atomic_load_n(&SH->max_lat, __ATOMIC_RELAXED);
    while (lat_ns > m && !__atomic_compare_exchange_n(&SH->max_lat, &m, lat_ns, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    uint64_t f = __atomic_load_n(&SH->first_rx, __ATOMIC_RELAXED);
    if (f == 0)
        __atomic_compare_exchange_n(&SH->first_rx, &f, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    uint64_t l = __atomic_load_n(&SH->last_rx, __ATOMIC_RELAXED);
    while (now > l && !__atomic_compare_exchange_n(&SH->last_rx, &l, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static double hist_pct(double q, long total)
{
    long want = (long)(q * total), acc = 0;
    if (want >= total)
        want = total - 1;
    for (long i = 0; i < HB_US + HB_MS; i++) {
        acc += SH->hist[i];
        if (acc > want)
            return i < HB_US ? i / 1000.0 : (double)(i - HB_US);
    }
    return -1;
}

/* ---------- RSS ---------- */
static long rss_kb_pid(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = atol(line + 6);
            break;
        }
    fclose(f);
    return kb;
}
static long rss_kb(void)
{
    if (!o_pids)
        return -1;
    long sum = 0;
    char *s = strdup(o_pids), *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v = rss_kb_pid(atoi(t));
        if (v > 0)
            sum += v;
    }
    free(s);
    return sum;
}

/* ---------- sockets ---------- */
static struct sockaddr_in srv;

/* "8081,8082": fills ports, returns how many (0 when malformed) */
static int parse_ports(const char *s, int *ports)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int v = atoi(t);
        if (n == MAX_PORTS || v <= 0 || v > 65535) {
            n = 0;
            break;
        }
        ports[n++] = v;
    }
    free(copy);
    return n;
}

static int open_conn(int src_idx, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src_idx >= 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl((127u << 24) | (uint32_t)(2 + src_idx)); /* 127.0.0.2.. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in to = srv;
    to.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---------- subscriber process ---------- */
enum { S_IDLE, S_CONNECTING, S_HDR, S_STREAM, S_DEAD };
struct sconn {
    int fd, user, state;
    short hl;        /* header bytes / line bytes held */
    char line[400];  /* partial header or line */
};

static void sub_close(int ep, struct sconn *c, int was_stream)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = S_DEAD;
    if (was_stream)
        AADD(&SH->user_streams[c->user], -1);
}

/* scan stream bytes: complete lines; "data:" lines containing ts=NNN */
static void sub_data(struct sconn *c, const char *d, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];
        if (ch == '\n') {
            c->line[c->hl < (short)sizeof c->line ? c->hl : (short)sizeof c->line - 1] = 0;
            if (c->hl >= 5 && !memcmp(c->line, "data:", 5)) {
                char *t = strstr(c->line, "ts=");
                if (t) {
                    uint64_t ts = strtoull(t + 3, NULL, 10);
                    record_latency(now > ts ? now - ts : 0, now);
                } else
                    AADD(&SH->parse_bad, 1);
            }
            c->hl = 0;
        } else if (c->hl < (short)sizeof c->line - 1) {
            c->line[c->hl++] = ch;
        }
    }
}

static void subscriber(int first, int count)
{
    int ep = epoll_create1(0);
    struct sconn *cs = calloc(count, sizeof *cs);
    for (int i = 0; i < count; i++)
        cs[i].fd = -1;
    static char rbuf[65536];
    int next = 0, inflight = 0;
    uint64_t deadline = now_ns() + (uint64_t)o_conn_timeout * 1000000000ull;
    struct epoll_event evs[512];
    AADD(&SH->ready_children, 1);
    uint64_t hard_end = now_ns() + 3600ull * 1000000000ull; /* absolute safety bound */
    while (!__atomic_load_n(&SH->go_exit, __ATOMIC_RELAXED) && now_ns() < hard_end) {
        /* open more connections, bounded number of handshakes in flight */
        while (next < count && inflight < o_inflight && now_ns() < deadline) {
            int gi = first + next;
            struct sconn *c = &cs[next];
            c->user = gi % o_u;
            c->fd = open_conn(gi % o_addrs, o_ports[(gi % o_u + gi / o_u) % o_nports]);
            next++;
            if (c->fd < 0) {
                c->state = S_DEAD;
                AADD(&SH->failed, 1);
                AADD(&SH->err_connect, 1);
                continue;
            }
            c->state = S_CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            inflight++;
        }
        int n = epoll_wait(ep, evs, 512, 100);
        uint64_t now = now_ns();
        for (int e = 0; e < n; e++) {
            struct sconn *c = evs[e].data.ptr;
            if (c->state == S_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || (evs[e].events & (EPOLLERR | EPOLLHUP))) {
                    sub_close(ep, c, 0);
                    inflight--;
                    AADD(&SH->failed, 1);
                    AADD(&SH->err_connect, 1);
                    continue;
                }
                char req[1024];
                int rl = snprintf(req, sizeof req, "GET ");
                rl += snprintf(req + rl, sizeof req - rl, o_spath, c->user);
                if (o_herald)
                    rl += snprintf(req + rl, sizeof req - rl,
                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                                   "Authorization: Bearer %s\r\n\r\n", tokens[c->user]);
                else
                    rl += snprintf(req + rl, sizeof req - rl,
                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
                if (write(c->fd, req, rl) != rl) {
                    sub_close(ep, c, 0);
                    inflight--;
                    AADD(&SH->failed, 1);
                    AADD(&SH->err_connect, 1);
                    continue;
                }
                c->state = S_HDR;
                c->hl = 0;
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (c->state != S_HDR && c->state != S_STREAM)
                continue;
            /* readable */
            for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t r = read(c->fd, rbuf, sizeof rbuf);
                if (r > 0) {
                    size_t off = 0;
                    if (c->state == S_HDR) {
                        /* accumulate header bytes until \r\n\r\n */
                        while (off < (size_t)r && c->state == S_HDR) {
                            if (c->hl < (short)sizeof c->line - 1)
                                c->line[c->hl++] = rbuf[off];
                            off++;
                            if (c->hl >= 4 && !memcmp(c->line + c->hl - 4, "\r\n\r\n", 4)) {
                                c->line[c->hl] = 0;
                                int st = 0;
                                sscanf(c->line, "HTTP/%*s %d", &st);
                                inflight--;
                                if (st != 200) {
                                    AADD(&SH->err_status, 1);
                                    AADD(&SH->failed, 1);
                                    sub_close(ep, c, 0);
                                    break;
                                }
                                c->state = S_STREAM;
                                c->hl = 0;
                                AADD(&SH->user_streams[c->user], 1);
                                AADD(&SH->established, 1);
                            } else if (c->hl >= (short)sizeof c->line - 1) {
                                /* header too long: keep the tail only */
                                memmove(c->line, c->line + c->hl - 3, 3);
                                c->hl = 3;
                            }
                        }
                        if (c->state != S_STREAM)
                            break;
                    }
                    if (off < (size_t)r)
                        sub_data(c, rbuf + off, r - off, now);
                    if (r < (ssize_t)sizeof rbuf)
                        break;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    int was = c->state == S_STREAM;
                    if (c->state == S_HDR) {
                        inflight--;
                        AADD(&SH->failed, 1);
                        AADD(&SH->err_eof, 1);
                    } else
                        AADD(&SH->closed_early, 1);
                    sub_close(ep, c, was);
                    break;
                } else
                    break;
            }
        }
        if (next >= count && inflight > 0 && now > deadline + 5000000000ull) {
            /* give up on stuck handshakes */
            for (int i = 0; i < count; i++)
                if (cs[i].state == S_CONNECTING || cs[i].state == S_HDR) {
                    sub_close(ep, &cs[i], 0);
                    AADD(&SH->failed, 1);
                    AADD(&SH->err_connect, 1);
                }
            inflight = 0;
        }
        if (next < count && now >= deadline) { /* time's up: count the rest as failed */
            AADD(&SH->failed, count - next);
            next = count;
        }
    }
    for (int i = 0; i < count; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    _exit(0);
}

/* ---------- publisher (parent) ---------- */
struct pconn {
    int fd, busy, port;
    int hdr_done, clen, chunked;
    char buf[8192];
    int bl;
    uint64_t sent_at;
};

static long pub_ok, pub_err, expected;
static uint64_t pub_lat_sum, pub_lat_max;

/* returns 1 when a full response is in buf */
static int presp_complete(struct pconn *p)
{
    p->buf[p->bl] = 0;
    char *he = strstr(p->buf, "\r\n\r\n");
    if (!he)
        return 0;
    int hlen = he + 4 - p->buf;
    int st = 0;
    sscanf(p->buf, "HTTP/%*s %d", &st);
    char *cl = strcasestr(p->buf, "\r\ncontent-length:");
    if (cl && cl < he) {
        int n = atoi(cl + 17);
        if (p->bl < hlen + n)
            return 0;
        memmove(p->buf, p->buf + hlen + n, p->bl - hlen - n);
        p->bl -= hlen + n;
    } else if (strcasestr(p->buf, "chunked") && strcasestr(p->buf, "chunked") < he) {
        char *z = strstr(he + 4, "0\r\n\r\n");
        if (!z)
            return 0;
        p->bl = 0;
    } else {
        p->bl = 0;
    }
    if (st >= 200 && st < 300)
        pub_ok++;
    else {
        pub_err++;
        if (pub_err < 5)
            fprintf(stderr, "publish status %d\n", st);
    }
    return 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sseload [-H host] [-p port[,port..]] [-q pubport[,..]] [-k conns] [-u users] [-m events] [-r rate/s (0=max)]\n"
            "  [-c pubconns] [-P subprocs] [-s serverpid[,pid..]] [-S subfmt] [-B pubfmt] [-b bodybytes]\n"
            "  [-A srcaddrs] [-T conn_timeout_s] [-W drain_s] [-I inflight] [-L label] [-h hold_s]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "H:p:q:k:u:m:r:c:P:s:S:B:b:A:T:W:I:L:h:jt:K:")) != -1) {
        switch (opt) {
        case 'H': o_host = optarg; break;
        case 'p':
            o_nports = parse_ports(optarg, o_ports);
            if (o_nports < 1)
                usage();
            o_port = o_ports[0];
            break;
        case 'q':
            o_npports = parse_ports(optarg, o_pports);
            if (o_npports < 1)
                usage();
            break;
        case 'k': o_k = atoi(optarg); break;
        case 'u': o_u = atoi(optarg); break;
        case 'm': o_m = atoi(optarg); break;
        case 'r': o_rate = atof(optarg); break;
        case 'c': o_c = atoi(optarg); break;
        case 'P': o_p = atoi(optarg); break;
        case 's': o_pids = optarg; break;
        case 'S': o_spath = optarg; break;
        case 'B': o_ppath = optarg; break;
        case 'b': o_bytes = atoi(optarg); break;
        case 'A': o_addrs = atoi(optarg); break;
        case 'T': o_conn_timeout = atoi(optarg); break;
        case 'W': o_drain = atoi(optarg); break;
        case 'I': o_inflight = atoi(optarg); break;
        case 'L': o_label = optarg; break;
        case 'h': o_hold = atoi(optarg); break;
        case 'j': o_herald = 1; break;
        case 't': o_tokens = optarg; break;
        case 'K': o_key = optarg; break;
        default: usage();
        }
    }
    if (strncmp(o_host, "127.", 4) != 0 && strcmp(o_host, "localhost") != 0) {
        fprintf(stderr, "refusing non-loopback target %s\n", o_host);
        return 2;
    }
    if (o_u <= 0)
        o_u = o_k / 2 > 0 ? o_k / 2 : 1;
    if (o_herald) { /* one bearer token per user, in user order */
        FILE *tf = o_tokens ? fopen(o_tokens, "r") : NULL;
        if (!tf) {
            fprintf(stderr, "sseload: -j needs -t TOKENS_FILE\n");
            return 2;
        }
        tokens = calloc((size_t)o_u, sizeof *tokens);
        char line[2048];
        for (int i = 0; i < o_u; i++) {
            if (!fgets(line, sizeof line, tf)) {
                fprintf(stderr, "sseload: %s has fewer than %d tokens\n", o_tokens, o_u);
                return 2;
            }
            line[strcspn(line, "\r\n")] = 0;
            tokens[i] = strdup(line);
        }
        fclose(tf);
    }
    if (o_addrs < 1 || o_addrs > 49)
        o_addrs = 49;
    if (o_p <= 0)
        o_p = (o_k + 14999) / 15000;
    if (o_bytes < 64)
        o_bytes = 64;
    if (o_m > 10000000)
        o_m = 10000000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGPIPE, SIG_IGN);
    if ((long)o_k / o_p + 64 > (long)rl.rlim_cur)
        fprintf(stderr, "warning: %d conns/process exceeds RLIMIT_NOFILE %lu; use -P\n", o_k / o_p, (unsigned long)rl.rlim_cur);

    if (o_nports == 1)
        o_ports[0] = o_port;
    if (o_npports == 0) {
        memcpy(o_pports, o_ports, sizeof o_pports);
        o_npports = o_nports;
    }
    if (o_nports > 1 || o_npports > 1 || o_pports[0] != o_ports[0])
        fprintf(stderr, "[%s] streams over %d port(s) from %d, publishing over %d port(s) from %d\n",
                o_label, o_nports, o_ports[0], o_npports, o_pports[0]);
    srv.sin_family = AF_INET;
    srv.sin_port = htons(o_port);
    inet_pton(AF_INET, strcmp(o_host, "localhost") ? o_host : "127.0.0.1", &srv.sin_addr);

    size_t shsz = sizeof(struct shared) + sizeof(int) * (size_t)o_u;
    SH = mmap(NULL, shsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (SH == MAP_FAILED) {
        perror("mmap");
        return 1;
    }

    long rss0 = rss_kb();
    uint64_t t_conn0 = now_ns();
    pid_t kids[64];
    int per = (o_k + o_p - 1) / o_p;
    int nk = 0;
    for (int i = 0; i < o_p && i < 64; i++) {
        int first = i * per, cnt = (first + per > o_k) ? o_k - first : per;
        if (cnt <= 0)
            break;
        pid_t pid = fork();
        if (pid == 0)
            subscriber(first, cnt);
        kids[nk++] = pid;
    }
    /* wait for establishment (bounded) */
    uint64_t last_print = 0;
    long last_est = -1;
    uint64_t stall_since = now_ns();
    while (1) {
        long est = __atomic_load_n(&SH->established, __ATOMIC_RELAXED), fail = __atomic_load_n(&SH->failed, __ATOMIC_RELAXED);
        uint64_t now = now_ns();
        if (est + fail >= o_k)
            break;
        if (est != last_est) {
            last_est = est;
            stall_since = now;
        }
        if (now - t_conn0 > (uint64_t)(o_conn_timeout + 10) * 1000000000ull)
            break;
        if (now - stall_since > 15000000000ull && now - t_conn0 > (uint64_t)o_conn_timeout * 1000000000ull)
            break;
        if (now - last_print > 2000000000ull) {
            fprintf(stderr, "[%s] connecting: established=%ld failed=%ld (%.1fs)\n", o_label, est, fail, (now - t_conn0) / 1e9);
            last_print = now;
        }
        usleep(20000);
    }
    double conn_secs = (now_ns() - t_conn0) / 1e9;
    sleep(2); /* settle: let server finish allocations */
    long est = SH->established;
    long rss1 = rss_kb();
    fprintf(stderr, "[%s] established=%ld failed=%ld in %.2fs; rss %ld -> %ld kB\n", o_label, est, SH->failed, conn_secs, rss0, rss1);

    /* ---------- publish phase ---------- */
    int ep = epoll_create1(0);
    struct pconn *pc = calloc(o_c, sizeof *pc);
    for (int i = 0; i < o_c; i++) {
        pc[i].port = o_pports[i % o_npports];
        pc[i].fd = open_conn(-1, pc[i].port);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &pc[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, pc[i].fd, &ev);
    }
    usleep(100000);
    char *body = malloc(o_bytes + 64), req[2048];
    long sent = 0, done = 0;
    uint32_t rng = 12345;
    uint64_t t_pub0 = now_ns();
    uint64_t pub_deadline = t_pub0 + (uint64_t)((o_rate > 0 ? o_m / o_rate : 0) + 60) * 1000000000ull;
    if (est > 0) {
        struct epoll_event evs[64];
        while (done < o_m && now_ns() < pub_deadline) {
            uint64_t now = now_ns();
            /* send on idle connections if schedule allows */
            for (int i = 0; i < o_c && sent < o_m; i++) {
                if (pc[i].busy || pc[i].fd < 0)
                    continue;
                if (o_rate > 0 && now < t_pub0 + (uint64_t)(sent * 1e9 / o_rate))
                    break;
                rng = rng * 1103515245u + 12345u;
                int user = (int)((rng >> 8) % (uint32_t)o_u);
                int ts_at = 0;
                uint64_t ts = now_ns();
                int bl = snprintf(body, o_bytes + 64, "ts=%020llu seq=%ld user=%d pad=", (unsigned long long)ts, sent, user);
                ts_at = bl;
                while (bl < o_bytes)
                    body[bl++] = 'x';
                body[bl] = 0;
                (void)ts_at;
                int rl2;
                if (o_herald) {
                    char ev[1024];
                    int el = snprintf(ev, sizeof ev,
                        "{\"id\":\"ld-%llu-%ld\",\"type\":\"appointment.booked\",\"occurred_at\":"
                        "\"2026-11-21T09:30:00Z\",\"source\":\"booking_page\",\"actor\":{\"kind\":"
                        "\"client\",\"id\":\"cl_1\"},\"data\":{\"appointment\":{\"id\":\"ap_%ld\","
                        "\"starts_at\":\"2026-11-24T14:30:00Z\",\"staff_ids\":[\"u%d\"]},\"client\":"
                        "{\"id\":\"cl_1\",\"name\":\"ts=%020llu\"}}}",
                        (unsigned long long)t_pub0, sent, sent, user, (unsigned long long)ts);
                    rl2 = snprintf(req, sizeof req,
                                   "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                   "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", o_key, el, ev);
                } else {
                    rl2 = snprintf(req, sizeof req, "POST ");
                    rl2 += snprintf(req + rl2, sizeof req - rl2, o_ppath, user);
                    rl2 += snprintf(req + rl2, sizeof req - rl2,
                                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", bl, body);
                }
                expected += __atomic_load_n(&SH->user_streams[user], __ATOMIC_RELAXED);
                if (write(pc[i].fd, req, rl2) != rl2) {
                    pub_err++;
                    close(pc[i].fd);
                    epoll_ctl(ep, EPOLL_CTL_DEL, pc[i].fd, NULL);
                    pc[i].fd = -1;
                    done++;
                    sent++;
                    continue;
                }
                pc[i].busy = 1;
                pc[i].sent_at = ts;
                sent++;
            }
            int timeout = 1;
            if (o_rate > 0 && sent < o_m) {
                uint64_t due = t_pub0 + (uint64_t)(sent * 1e9 / o_rate);
                now = now_ns();
                timeout = due > now ? (int)((due - now) / 1000000) : 0;
                if (timeout > 10)
                    timeout = 10;
            }
            int n = epoll_wait(ep, evs, 64, timeout);
            for (int e = 0; e < n; e++) {
                struct pconn *p = evs[e].data.ptr;
                ssize_t r = read(p->fd, p->buf + p->bl, sizeof p->buf - 1 - p->bl);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    fprintf(stderr, "publish connection closed by server\n");
                    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
                    close(p->fd);
                    p->fd = open_conn(-1, p->port); /* reconnect */
                    if (p->busy) {
                        p->busy = 0;
                        done++;
                        pub_err++;
                    }
                    p->bl = 0;
                    if (p->fd >= 0) {
                        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
                        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
                        usleep(1000);
                    }
                    continue;
                }
                p->bl += r;
                while (p->busy && presp_complete(p)) {
                    uint64_t l = now_ns() - p->sent_at;
                    pub_lat_sum += l;
                    if (l > pub_lat_max)
                        pub_lat_max = l;
                    p->busy = 0;
                    done++;
                }
            }
        }
    }
    uint64_t t_pub1 = now_ns();
    /* drain: wait until all expected deliveries arrived or timeout */
    uint64_t drain_end = t_pub1 + (uint64_t)o_drain * 1000000000ull;
    while (now_ns() < drain_end && __atomic_load_n(&SH->delivered, __ATOMIC_RELAXED) < expected)
        usleep(10000);
    uint64_t t_end = now_ns();
    long rss2 = rss_kb();
    if (o_hold > 0)
        sleep(o_hold);
    __atomic_store_n(&SH->go_exit, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nk; i++)
        waitpid(kids[i], NULL, 0);

    long del = SH->delivered;
    double pub_secs = (t_pub1 - t_pub0) / 1e9;
    double del_secs = ((SH->last_rx > t_pub0 ? SH->last_rx : t_end) - t_pub0) / 1e9;
    double p50 = del ? hist_pct(0.50, del) : -1, p90 = del ? hist_pct(0.90, del) : -1, p99 = del ? hist_pct(0.99, del) : -1,
           p999 = del ? hist_pct(0.999, del) : -1;
    printf("RESULT label=%s k=%d users=%d established=%ld failed=%ld (connect=%ld status=%ld eof=%ld) closed_early=%ld conn_secs=%.2f "
           "rss_before_kb=%ld rss_after_kb=%ld rss_end_kb=%ld rss_per_conn_b=%.0f "
           "published=%ld pub_ok=%ld pub_err=%ld pub_secs=%.2f pub_rate=%.0f pub_rtt_avg_ms=%.3f pub_rtt_max_ms=%.1f "
           "expected=%ld delivered=%ld deliv_per_s=%.0f lat_p50_ms=%.3f lat_p90_ms=%.3f lat_p99_ms=%.3f lat_p999_ms=%.3f lat_max_ms=%.1f parse_bad=%ld\n",
           o_label, o_k, o_u, est, SH->failed, SH->err_connect, SH->err_status, SH->err_eof, SH->closed_early, conn_secs, rss0, rss1,
           rss2, est > 0 && rss0 > 0 ? (rss1 - rss0) * 1024.0 / est : -1, sent, pub_ok, pub_err, pub_secs,
           pub_secs > 0 ? done / pub_secs : 0, done ? pub_lat_sum / 1e6 / done : 0, pub_lat_max / 1e6, expected, del,
           del_secs > 0 ? del / del_secs : 0, p50, p90, p99, p999, SH->max_lat / 1e6, SH->parse_bad);
    return (est > 0 && del >= expected) ? 0 : 1;
}
