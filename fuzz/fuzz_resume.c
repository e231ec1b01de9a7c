/* fuzz_resume.c - an SSE stream's resume position: the Last-Event-ID header, else the last_event_id query value. */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

/* The input: the header's value on the first line (none when the line is
 * empty), then the raw query string (none when there is no second line). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request req;
    memset(&req, 0, sizeof req);
    struct fuzz_in in = {(const char *)data, size};
    bool has_query = memchr(data, '\n', size) != NULL;
    const char *header = fuzz_line(&in, &req.arena);
    const char *query = has_query ? fuzz_line(&in, &req.arena) : NULL;
    if (*header) {
        req.headers[0] = (struct http_header){"last-event-id", header};
        req.nheaders = 1;
    }
    req.query = query;

    int64_t after = api_last_event_id(&req);
    if (after < -2)
        abort();
    if (after == -1 && (*header || (http_query(&req, "last_event_id") &&
                                    *http_query(&req, "last_event_id"))))
        abort(); /* a value was sent: it is a position or malformed */
    arena_reset(&req.arena);
    return 0;
}
