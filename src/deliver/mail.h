/* mail.h - the pieces of an RFC 5322 message libcurl does not make:
 * the Date, encoded words for non-ASCII header text (RFC 2047), the From
 * header with a display name, and the Message-ID. Pure, so tested alone.
 *
 * Header text never carries a line break from its input: control
 * characters become spaces, so data in a subject cannot add headers. */
#ifndef HERALD_DELIVER_MAIL_H
#define HERALD_DELIVER_MAIL_H

#include <stdint.h>

#include "core/buf.h"

/* "Sat, 21 Nov 2026 11:17:02 +0000" */
#define MAIL_DATE_MAX 40
void mail_date(int64_t ms, char out[MAIL_DATE_MAX]);

/* Appends text as header content: as it is when it is printable ASCII,
 * else as =?UTF-8?B?...?= words of at most 75 characters, split between
 * whole UTF-8 characters, one per folded line ("\r\n "). */
void mail_header_text(struct buf *b, const char *text);

/* Appends "Display Name" <addr> (or <addr> alone when name is empty). */
void mail_address(struct buf *b, const char *name, const char *addr);

/* The domain of an address (after the last '@'), or "localhost". */
const char *mail_domain(const char *addr);

#endif
