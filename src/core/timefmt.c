/* timefmt.c - strict RFC 3339 parsing and UTC formatting (see timefmt.h). */
#include "core/timefmt.h"

#include <string.h>
#include <time.h>

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int rfc3339_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec;
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    if (sec == 60) /* leap second: fold into the next instant's :59 */
        sec = 59;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return -1;
        for (int i = n; i < 3; i++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) ||
            digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    int64_t v = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + frac_ms;
    /* The instant itself must lie in 1970..9999 UTC, so every accepted time
     * formats back (an offset can push a local 1970 date into 1969). */
    if (v < 0 || v > RFC3339_MAX_MS)
        return -1;
    *ms = v;
    return 0;
}

static char *put(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void rfc3339_format(int64_t ms, char out[RFC3339_LEN])
{
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        t -= 1;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999)
        year = year < 0 ? 0 : 9999;
    char *p = put(out, year, 4);
    *p++ = '-';
    p = put(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put(p, tm.tm_min, 2);
    *p++ = ':';
    p = put(p, tm.tm_sec, 2);
    if (frac) {
        *p++ = '.';
        p = put(p, frac, 3);
    }
    *p++ = 'Z';
    *p = '\0';
}
