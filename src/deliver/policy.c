/* policy.c - retry timing and answer classification (see policy.h). */
#include "deliver/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

int64_t deliver_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                           uint32_t rnd)
{
    if (attempts < 1)
        attempts = 1;
    if (base_ms < 1)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    int64_t delay = base_ms;
    for (int i = 1; i < attempts && delay < max_ms; i++)
        delay *= 2;
    if (delay > max_ms)
        delay = max_ms;
    int64_t half = delay / 2;
    delay = half + (half > 0 ? (int64_t)(rnd % (uint64_t)(half + 1)) : 0);
    if (delay < 1)
        delay = 1;
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    return delay;
}

enum send_outcome deliver_http_outcome(long status)
{
    if (status >= 200 && status < 300)
        return SEND_OK;
    if (status == 408 || status == 425 || status == 429 || status >= 500 || status < 100)
        return SEND_TRANSIENT;
    if (status == 401 || status == 403)
        return SEND_CONFIG;
    return SEND_PERMANENT;
}

enum send_outcome deliver_smtp_outcome(long reply)
{
    if (reply >= 200 && reply < 400)
        return SEND_OK;
    if (reply == 530 || reply == 534 || reply == 535 || reply == 538)
        return SEND_CONFIG; /* authentication required, refused, or needs TLS */
    if (reply >= 500 && reply < 600)
        return SEND_PERMANENT;
    return SEND_TRANSIENT; /* 4xx, or no reply at all */
}

static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* IMF-fixdate, the only HTTP date form senders may produce:
 * "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_http_date(const char *s, int64_t *ms)
{
    char wday[4], mon[4], zone[4];
    int day, year, h, m, sec, used = 0;
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s%n", wday, &day, mon, &year, &h, &m, &sec, zone,
               &used) != 8 || strcmp(zone, "GMT") != 0 || s[used] != '\0')
        return -1;
    int month = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, MONTHS[i]) == 0)
            month = i;
    if (month < 0 || day < 1 || day > 31 || year < 1970 || h > 23 || m > 59 || sec > 60 ||
        h < 0 || m < 0 || sec < 0)
        return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month, .tm_mday = day,
                    .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = (int64_t)t * 1000;
    return 0;
}

int64_t deliver_retry_after_ms(const char *value, int64_t now_ms)
{
    if (!value)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    int64_t ms = 0;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long secs = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end || secs < 0)
            return 0;
        ms = secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : (int64_t)secs * 1000;
    } else {
        char date[64];
        size_t n = strcspn(value, "\r\n");
        if (n >= sizeof date)
            return 0;
        memcpy(date, value, n);
        date[n] = '\0';
        int64_t at;
        if (parse_http_date(date, &at) != 0)
            return 0;
        ms = at - now_ms;
        if (ms < 0)
            ms = 0;
    }
    return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}
