/* fuzz_event.c - the body of POST /v1/events: depth limit, strict parse, validation, canonical form. */
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "engine/event.h"

#define MAX_DEPTH 32 /* the server's json_max_depth */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

/* How deep v nests: a scalar is 0, [] or {} is 1. */
static int depth_of(json_t *v)
{
    int deepest = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            int d = depth_of(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            int d = depth_of(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (!jx_depth_ok(text, size, MAX_DEPTH))
        return 0;
    char err[200];
    json_t *body = jx_parse(text, size, err, sizeof err);
    if (!body)
        return 0;
    /* The cheap scan must never let through what the parser nests deeper. */
    if (depth_of(body) > MAX_DEPTH)
        abort();

    /* The canonical form is a fixed point: parsing it gives it again. */
    struct buf canonical = BUF_INIT;
    size_t data_start = 0, data_end = 0;
    jx_canonical_write(body, &canonical, "data", &data_start, &data_end);
    if (data_start > data_end || data_end > canonical.len)
        abort();
    json_t *again = jx_parse(canonical.data, canonical.len, err, sizeof err);
    if (!again)
        abort();
    char *text2 = jx_canonical(again);
    if (strlen(text2) != canonical.len || memcmp(text2, canonical.data, canonical.len) != 0)
        abort();
    free(text2);
    json_decref(again);

    struct event_view ev;
    struct event_error e;
    if (event_validate(body, &ev, &e) == 0) {
        uint8_t sha[SHA256_LEN];
        crypto_sha256(canonical.data, canonical.len, sha);
        if (!ev.type || !ev.id || ev.body != body || !json_is_object(ev.data))
            abort();
        (void)source_label(ev.source);
        (void)actor_kind_name(ev.actor_kind);
    } else if (!e.code || strlen(e.field) >= sizeof e.field ||
               strlen(e.message) >= sizeof e.message) {
        abort();
    }
    buf_free(&canonical);
    json_decref(body);
    return 0;
}
