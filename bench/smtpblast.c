/* smtpblast.c - the anchor of the email benchmark: libcurl alone sending
 * N multipart/alternative messages to an SMTP server, C at a time on one
 * multi handle, like Herald's SMTP provider but with nothing else around
 * it (no HTTP, no database, no rendering).
 *
 *   smtpblast -u smtp://127.0.0.1:PORT/ehlo -n 2000 -c 4 [-r 0]
 *   (-r 0: one connection per message)
 *   RESULT mode=... messages=N seconds=S rate=R
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct msg {
    struct curl_slist *rcpt, *headers;
    curl_mime *mime;
};

static const char TEXT[] = "Cancellation: Sun, 22 Nov, 14:30.\r\n\r\nOpen the app for details: "
                           "https://app.example/\r\n\r\n-- \r\nHarbour Physio\r\n";
static const char HTML[] = "<!DOCTYPE html>\r\n<html><body><p>Cancellation: Sun, 22 Nov, "
                           "14:30.</p><p><a href=\"https://app.example/\">Open the app for "
                           "details</a></p></body></html>\r\n";

static CURL *make(const char *url, long reuse, long n)
{
    CURL *e = curl_easy_init();
    struct msg *m = calloc(1, sizeof *m);
    m->rcpt = curl_slist_append(NULL, "<m1@bench.example>");
    char line[128];
    m->headers = curl_slist_append(NULL, "Date: Sat, 21 Nov 2026 11:20:00 +0000");
    m->headers = curl_slist_append(m->headers, "From: \"Bench\" <bench@bench.example>");
    m->headers = curl_slist_append(m->headers, "To: <m1@bench.example>");
    m->headers = curl_slist_append(m->headers, "Subject: Cancellation: Sun, 22 Nov, 14:30");
    snprintf(line, sizeof line, "Message-ID: <blast.%ld@bench.example>", n);
    m->headers = curl_slist_append(m->headers, line);
    m->headers = curl_slist_append(m->headers, "Content-Type: multipart/alternative");
    m->mime = curl_mime_init(e);
    curl_mimepart *p = curl_mime_addpart(m->mime);
    curl_mime_data(p, TEXT, CURL_ZERO_TERMINATED);
    curl_mime_type(p, "text/plain; charset=utf-8");
    curl_mime_encoder(p, "quoted-printable");
    p = curl_mime_addpart(m->mime);
    curl_mime_data(p, HTML, CURL_ZERO_TERMINATED);
    curl_mime_type(p, "text/html; charset=utf-8");
    curl_mime_encoder(p, "quoted-printable");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, "<bench@bench.example>");
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, m->rcpt);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->headers);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, m->mime);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, reuse ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, m);
    return e;
}

static void drop(CURL *e)
{
    struct msg *m;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&m);
    curl_slist_free_all(m->rcpt);
    curl_slist_free_all(m->headers);
    curl_mime_free(m->mime);
    free(m);
    curl_easy_cleanup(e);
}

int main(int argc, char **argv)
{
    const char *url = "smtp://127.0.0.1:2525/bench.example";
    long total = 1000, conc = 4, reuse = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-u"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "-n"))
            total = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-c"))
            conc = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-r"))
            reuse = atol(argv[i + 1]);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    long started = 0, done = 0, failed = 0;
    double t0 = now_s();
    while (done < total) {
        int running = 0;
        while (started < total && started - done < conc)
            curl_multi_add_handle(multi, make(url, reuse, started++));
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            if (msg->data.result != CURLE_OK)
                failed++;
            CURL *e = msg->easy_handle;
            curl_multi_remove_handle(multi, e);
            drop(e);
            done++;
        }
        if (done < total)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double secs = now_s() - t0;
    printf("RESULT mode=%s messages=%ld failed=%ld seconds=%.3f rate=%.0f\n",
           reuse ? "reuse" : "connection-per-mail", total, failed, secs, (double)total / secs);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
