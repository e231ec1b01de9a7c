/* segments.h - how many SMS segments a text costs (PROTOCOLS.md 5.3).
 *
 * GSM-7 when every character is in the GSM 03.38 basic or extension table
 * (extension characters cost 2 septets), else UCS-2 (characters outside
 * the BMP cost 2 units). 160/70 units fit one message; longer texts are
 * split into parts of 153/67 units, packed greedily so an escape pair or a
 * surrogate pair never straddles two parts. Credits are charged per
 * segment, so this is what an SMS costs. */
#ifndef HERALD_DELIVER_SEGMENTS_H
#define HERALD_DELIVER_SEGMENTS_H

enum sms_encoding { SMS_GSM7, SMS_UCS2 };

struct sms_count {
    enum sms_encoding encoding;
    int units;    /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    int segments; /* at least 1 */
};

/* Typography a locale puts in that GSM-7 lacks, replaced by its GSM
 * look-alike: no-break and narrow spaces (ICU's "2:30\u202fPM"), curly
 * quotes, dashes, the ellipsis. One such character would make the whole
 * message UCS-2 and double its cost. out needs strlen(text) + 1 bytes
 * (the result is never longer). */
void sms_fold(const char *text, char *out);

/* -1 when text is not valid UTF-8. */
int sms_count(const char *text, struct sms_count *out);
const char *sms_encoding_name(enum sms_encoding e);

#endif
