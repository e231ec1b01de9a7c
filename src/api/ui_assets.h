/* ui_assets.h - the browser components (ui/), built into the binary by
 * tools/embed_ui.py and served at /ui/ by h_ui.c. */
#ifndef HERALD_API_UI_ASSETS_H
#define HERALD_API_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
    const char *name;         /* "herald.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;         /* quoted, as the header wants it */
};

/* NULL when there is no such file. */
const struct ui_asset *ui_asset_find(const char *name);

#endif
