/* mail.c - message headers (see mail.h). */
#include "deliver/mail.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

void mail_date(int64_t ms, char out[MAIL_DATE_MAX])
{
    static const char *const DAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* By hand: strftime's %a and %b follow the locale. */
    snprintf(out, MAIL_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d +0000", DAYS[tm.tm_wday],
             tm.tm_mday, MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

static bool plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* Raw bytes per encoded word: 45 -> 60 base64 characters, 72 in all. */
#define WORD_BYTES 45

static void encoded_words(struct buf *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    bool first = true;
    while (i < n) {
        size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
        /* back off to a character boundary: never split a UTF-8 sequence */
        while (take < n - i && take > 0 && ((unsigned char)s[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
        unsigned char raw[WORD_BYTES];
        for (size_t k = 0; k < take; k++) {
            unsigned char c = (unsigned char)s[i + k];
            raw[k] = c < 0x20 || c == 0x7f ? ' ' : c;
        }
        char enc[4 * ((WORD_BYTES + 2) / 3) + 1];
        EVP_EncodeBlock((unsigned char *)enc, raw, (int)take);
        /* one word per line (folded), so no line nears SMTP's 998 limit */
        buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
        first = false;
        i += take;
    }
}

void mail_header_text(struct buf *b, const char *text)
{
    if (plain(text)) {
        buf_adds(b, text);
        return;
    }
    bool ascii = true;
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p > 0x7e)
            ascii = false;
    if (ascii) { /* only control characters to clean */
        for (const char *p = text; *p; p++)
            buf_addc(b, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
        return;
    }
    encoded_words(b, text);
}

void mail_address(struct buf *b, const char *name, const char *addr)
{
    if (name && *name) {
        bool ascii = true;
        for (const char *p = name; *p; p++)
            if ((unsigned char)*p > 0x7e)
                ascii = false;
        if (ascii) {
            buf_addc(b, '"');
            for (const char *p = name; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\')
                    buf_addc(b, '\\');
                buf_addc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
            }
            buf_addc(b, '"');
        } else {
            encoded_words(b, name);
        }
        buf_addc(b, ' ');
    }
    buf_printf(b, "<%s>", addr);
}

const char *mail_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at && at[1] ? at + 1 : "localhost";
}
