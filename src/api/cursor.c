/* cursor.c - opaque feed cursors.
 *
 * A cursor is base64url of 10 bytes: a version, the filter it was made
 * for, and the id of the last item of the page (big-endian). The next page
 * is the items older than that id, so items that arrive meanwhile never
 * shift a page. A cursor used with another filter is refused. */
#include "api/api_int.h"
#include "core/crypto.h"

#include <string.h>

#define CURSOR_VERSION 1
#define CURSOR_BYTES 10

int cursor_encode(int filter, int64_t nid, char *out, size_t cap)
{
    uint8_t raw[CURSOR_BYTES];
    raw[0] = CURSOR_VERSION;
    raw[1] = (uint8_t)(filter + 1); /* FEED_ALL (-1) -> 0 */
    for (int i = 0; i < 8; i++)
        raw[2 + i] = (uint8_t)((uint64_t)nid >> (56 - 8 * i));
    if (cap < b64url_encoded_len(CURSOR_BYTES) + 1)
        return -1;
    b64url_encode(raw, CURSOR_BYTES, out);
    return 0;
}

int cursor_decode(const char *s, int filter, int64_t *nid)
{
    uint8_t raw[CURSOR_BYTES + 3];
    size_t n = strlen(s);
    if (n != b64url_encoded_len(CURSOR_BYTES) || b64url_decode(s, n, raw) != CURSOR_BYTES)
        return -1;
    if (raw[0] != CURSOR_VERSION || raw[1] != (uint8_t)(filter + 1))
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | raw[2 + i];
    if (v == 0 || v > INT64_MAX)
        return -1;
    *nid = (int64_t)v;
    return 0;
}
