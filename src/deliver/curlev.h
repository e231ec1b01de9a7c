/* curlev.h - libcurl's multi interface driven by the libevent loop.
 *
 * One curlev per provider: its connection cache is the provider's, so
 * SMTP sessions and HTTPS connections are reused across messages, and
 * max_connections bounds what the provider may open at once. At most
 * max_running transfers are in libcurl at a time; more wait here, in
 * order, so a transfer's timeout only starts when it can have a connection
 * (or, on HTTP/2, a stream). Transfers
 * run on the loop thread; nothing here blocks (name resolution runs on
 * libcurl's resolver thread). */
#ifndef HERALD_DELIVER_CURLEV_H
#define HERALD_DELIVER_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* Called on the loop once a transfer ends, after the handle has left the
 * multi handle; the callee owns easy (and cleans it up). */
typedef void (*curlev_done_fn)(CURL *easy, CURLcode rc, void *arg);

/* Once per process, before any thread starts. */
int curlev_global_init(void);

/* max_running: transfers in libcurl at once. For HTTP/1.1 and SMTP that is
 * max_connections (one transfer per connection); HTTP/2 multiplexes many
 * on each connection. */
struct curlev *curlev_new(struct event_base *base, long max_connections, long max_running);
/* Connections to one host at most (many hosts share the provider's pool:
 * one slow host must not take it all). */
void curlev_limit_per_host(struct curlev *cv, long connections);
/* Starts a transfer, or queues it behind the running ones. On a setup
 * failure done runs before this returns. */
void curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn done, void *arg);
/* Transfers running and waiting. */
int curlev_running(const struct curlev *cv);
/* Aborts what is running (each done runs with CURLE_ABORTED_BY_CALLBACK)
 * and closes the cached connections. */
void curlev_free(struct curlev *cv);

#endif
