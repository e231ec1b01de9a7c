/* timefmt.h - RFC 3339 timestamps <-> milliseconds since the Unix epoch. */
#ifndef HERALD_CORE_TIMEFMT_H
#define HERALD_CORE_TIMEFMT_H

#include <stdint.h>

/* 9999-12-31T23:59:59.999Z */
#define RFC3339_MAX_MS 253402300799999LL

/* Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)", 't' and 'z'
 * too. The instant must lie in 1970..9999 UTC. Returns 0 and the instant
 * in *ms, or -1. */
int rfc3339_parse(const char *s, int64_t *ms);

#define RFC3339_LEN 25 /* "2026-11-21T09:30:00.123Z" + NUL */
/* Always UTC with 'Z'; the fraction is printed only when ms % 1000 != 0. */
void rfc3339_format(int64_t ms, char out[RFC3339_LEN]);

#endif
