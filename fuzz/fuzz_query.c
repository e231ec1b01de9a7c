/* fuzz_query.c - query strings and path segments (percent-decoding) and the feed's and delivery log's opaque cursors. */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/hostid.h"
#include "engine/model.h"

/* The input is a raw query string (a path segment too). */

/* Every name a handler asks the query for. */
static const char *const NAMES[] = {"limit", "filter", "cursor", "channel", "status",
                                    "member_id", "after", "access_token", "last_event_id"};
/* Every filter a cursor can be made for. */
static const int FILTERS[] = {NS_UNREAD, NS_READ, NS_IGNORED, FEED_ALL, CURSOR_DELIVERIES};

/* A cursor that decodes is the one Herald would have made. */
static void check_cursor(const char *s)
{
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++) {
        int64_t nid = 0;
        if (cursor_decode(s, FILTERS[i], &nid) != 0)
            continue;
        char again[32];
        if (nid <= 0 || cursor_encode(FILTERS[i], nid, again, sizeof again) != 0 ||
            strcmp(again, s) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.query = arena_strndup(&req.arena, (const char *)data, size);

    for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++) {
        const char *v = http_query(&req, NAMES[i]);
        if (!v)
            continue;
        (void)channel_parse(v);
        (void)delivery_status_parse(v);
        (void)hostid_valid(v);
        check_cursor(v);
    }
    check_cursor(req.query);

    /* A path segment as the router decodes it (a C string from the
     * path): each %XX gives one byte, and none of them is a NUL. */
    size_t len = strlen(req.query), escapes = 0;
    for (const char *p = req.query; (p = strchr(p, '%')); p++)
        escapes++;
    char *seg = http_unescape(&req.arena, req.query, len);
    if (seg) {
        if (strlen(seg) != len - 2 * escapes)
            abort();
        check_cursor(seg);
    }
    arena_reset(&req.arena);
    return 0;
}
