/* segments.c - SMS segment counting (see segments.h). */
#include "deliver/segments.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The GSM 03.38 basic table outside printable ASCII, and the ASCII it lacks. */
static const uint32_t GSM_BASIC_EXTRA[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};
/* The extension table: ESC + character, 2 septets each. */
static const uint32_t GSM_EXTENSION[] = {0x000C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC};

static bool in(const uint32_t *set, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

/* 1 or 2 septets, or 0 when the character has no GSM-7 form. */
static int gsm_cost(uint32_t c)
{
    if (c == '\n' || c == '\r')
        return 1;
    if (c >= 0x20 && c <= 0x7E) {
        if (in(GSM_EXTENSION, sizeof GSM_EXTENSION / sizeof *GSM_EXTENSION, c))
            return 2;
        return c == '`' ? 0 : 1;
    }
    if (in(GSM_BASIC_EXTRA, sizeof GSM_BASIC_EXTRA / sizeof *GSM_BASIC_EXTRA, c))
        return 1;
    if (in(GSM_EXTENSION, sizeof GSM_EXTENSION / sizeof *GSM_EXTENSION, c))
        return 2;
    return 0;
}

/* Next code point; -1 on malformed UTF-8. */
static int next_cp(const unsigned char **p, uint32_t *cp)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n;
    if (c < 0x80) {
        n = 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        c &= 0x07;
    } else {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *p = s + n;
    *cp = c;
    return 0;
}

const char *sms_encoding_name(enum sms_encoding e)
{
    return e == SMS_GSM7 ? "GSM-7" : "UCS-2";
}

int sms_count(const char *text, struct sms_count *out)
{
    /* Pass 1: the encoding. */
    bool gsm = true;
    const unsigned char *p = (const unsigned char *)text;
    uint32_t cp;
    while (*p) {
        if (next_cp(&p, &cp) != 0)
            return -1;
        if (!gsm_cost(cp))
            gsm = false;
    }
    int single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    /* Pass 2: units, and greedy parts that never split a 2-unit character. */
    int units = 0, parts = 1, fill = 0;
    p = (const unsigned char *)text;
    while (*p) {
        next_cp(&p, &cp);
        int cost = gsm ? gsm_cost(cp) : (cp > 0xFFFF ? 2 : 1);
        units += cost;
        if (fill + cost > part) {
            parts++;
            fill = 0;
        }
        fill += cost;
    }
    out->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->units = units;
    out->segments = units <= single ? 1 : parts;
    return 0;
}

void sms_fold(const char *text, char *out)
{
    static const struct {
        const char *from, *to;
    } FOLD[] = {
        {"\xc2\xa0", " "},     /* no-break space */
        {"\xe2\x80\xaf", " "}, /* narrow no-break space */
        {"\xe2\x80\x89", " "}, /* thin space */
        {"\xe2\x80\x8a", " "}, /* hair space */
        {"\xe2\x80\x98", "'"}, {"\xe2\x80\x99", "'"},
        {"\xe2\x80\x9c", "\""}, {"\xe2\x80\x9d", "\""},
        {"\xe2\x80\x93", "-"}, {"\xe2\x80\x94", "-"}, {"\xe2\x80\x90", "-"},
        {"\xe2\x80\xa6", "..."},
    };
    size_t k = 0;
    for (size_t i = 0; text[i];) {
        bool folded = false;
        for (size_t f = 0; f < sizeof FOLD / sizeof *FOLD && !folded; f++) {
            size_t n = strlen(FOLD[f].from);
            if (strncmp(text + i, FOLD[f].from, n) == 0) {
                size_t m = strlen(FOLD[f].to);
                memcpy(out + k, FOLD[f].to, m);
                k += m;
                i += n;
                folded = true;
            }
        }
        if (!folded)
            out[k++] = text[i++];
    }
    out[k] = '\0';
}
