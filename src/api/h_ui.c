/* h_ui.c - the browser components at /ui/ (built into the binary, see
 * ui_assets.h), and with --demo the demo page and its session. */
#include "api/api_int.h"
#include "api/ui_assets.h"

#include <string.h>

void h_ui_file(struct api_call *call)
{
    const struct ui_asset *f = ui_asset_find(call->params[0]);
    if (!f || (!call->api->cfg.demo && strncmp(f->name, "demo", 4) == 0)) {
        api_error(call, 404, "not_found", NULL, "no such file");
        return;
    }
    /* Revalidated on every use (cheap: an ETag), so a new herald's files
     * reach browsers at once. */
    http_add_header(call->req, "ETag", f->etag);
    http_add_header(call->req, "Cache-Control", "no-cache");
    if (strcmp(f->name, "sw.js") == 0) /* a worker for the whole app, when served at /ui/ */
        http_add_header(call->req, "Service-Worker-Allowed", "/");
    const char *inm = http_header(call->req, "If-None-Match");
    if (inm && strcmp(inm, f->etag) == 0) {
        api_reply_empty(call, 304);
        return;
    }
    http_respond(call->req, 200, f->content_type, (const char *)f->data, f->len);
}

void h_ui_index(struct api_call *call)
{
    call->params[0] = "demo.html";
    h_ui_file(call);
}

void h_root(struct api_call *call)
{
    http_add_header(call->req, "Location", "/ui/");
    api_reply_empty(call, 302);
}

void h_demo_session(struct api_call *call)
{
    /* The demo page plays the host app: it needs the demo workspace's key
     * (printed at start too). Only with --demo, which serves on loopback. */
    struct buf b = BUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "workspace_id", "demo");
    jw_kstr(&w, "api_key", call->api->demo_api_key);
    jw_obj_end(&w);
    api_reply(call, 200, &b);
}
