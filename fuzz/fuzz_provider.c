/* fuzz_provider.c - what providers answer: SMTP reply codes, FCM and APNs error bodies, Retry-After and apns-id headers. */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "deliver/http_post.h"

/* The input, as a provider's answer: a first line "<smtp|fcm|apns>
 * <status>" (the SMTP reply code or the HTTP status), header lines, an
 * empty line, then the body (for SMTP: libcurl's words for the failure). */

#define NOW_MS 1795000000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

/* What the delivery log and the API will show: one line, bounded. */
static void check_answer(const struct send_job *job)
{
    const char *s = job->result.answer;
    if (!s || strlen(s) > ANSWER_MAX || !fuzz_utf8_valid(s))
        abort();
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            abort();
}

static void smtp(struct send_job *job, long reply, const char *detail)
{
    enum send_outcome out = reply ? deliver_smtp_outcome(reply) : SEND_TRANSIENT;
    if (out == SEND_OK)
        out = SEND_TRANSIENT;
    if (reply)
        provider_result(job, out, "smtp %ld: %s", reply, detail);
    else
        provider_result(job, out, "smtp: %s", detail);
}

static void fcm(struct send_job *job, long status, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *code, *message;
    bool token_field;
    fcm_error_read(j, &code, &message, &token_field);
    provider_result(job, deliver_http_outcome(status), "%ld %s: %.200s", status,
                    code ? code : "", message ? message : (j ? "" : "(not JSON)"));
    json_decref(j);
}

static void apns(struct send_job *job, long status, const char *body, size_t len,
                 const char *apns_id)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *reason;
    int64_t stamp;
    apns_error_read(j, &reason, &stamp);
    if (status == 200)
        provider_result(job, SEND_OK, "200 %s", *apns_id ? apns_id : "accepted");
    else
        provider_result(job, deliver_http_outcome(status), "%ld %s", status, reason);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct send_job job;
    memset(&job, 0, sizeof job);
    struct fuzz_in in = {(const char *)data, size};
    const char *first = fuzz_line(&in, &job.arena);
    const char *sp = strchr(first, ' ');
    long status = sp ? strtol(sp + 1, NULL, 10) : 0;

    /* Header lines as libcurl hands them over, CRLF and all. */
    char retry_after[64] = "", apns_id[160] = "";
    while (in.n) {
        const char *nl = memchr(in.p, '\n', in.n);
        size_t len = nl ? (size_t)(nl - in.p) + 1 : in.n;
        const char *line = in.p;
        in.p += len;
        in.n -= len;
        if (len <= 2 && (line[0] == '\n' || line[0] == '\r'))
            break;
        http_post_keep_header(line, len, "retry-after", retry_after, sizeof retry_after);
        http_post_keep_header(line, len, "apns-id", apns_id, sizeof apns_id);
    }
    int64_t wait = deliver_retry_after_ms(retry_after[0] ? retry_after : NULL, NOW_MS);
    if (wait < 0 || wait > 24LL * 3600 * 1000)
        abort();
    (void)deliver_backoff_ms((int)(status % 64), 1000, 3600000, wait, (uint32_t)size);

    /* The body as http_post keeps it: NUL-terminated. */
    const char *body = arena_strndup(&job.arena, in.p, in.n);
    if (strncmp(first, "smtp", 4) == 0)
        smtp(&job, status, body);
    else if (strncmp(first, "fcm", 3) == 0)
        fcm(&job, status, body, in.n);
    else
        apns(&job, status, body, in.n, apns_id);
    check_answer(&job);
    arena_reset(&job.arena);
    return 0;
}
