/* store.c - backend registry and dispatch (see store.h). */
#include "store/store.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

static const struct store_backend *const BACKENDS[] = {
    &store_sqlite_backend,
    &store_pg_backend,
};

static bool is_uri(const char *database)
{
    return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

const char *store_backend_for(const char *database)
{
    return database && is_uri(database) ? "postgresql" : "sqlite";
}

void store_describe(const char *database, char *out, size_t cap)
{
    if (!database || !is_uri(database)) {
        snprintf(out, cap, "%s", database ? database : "");
        return;
    }
    /* scheme://user:password@host/db?password=... : the user info is the
     * part of the authority before its last '@'; the query may hold
     * another password. Either is shown as ***. */
    struct buf b = BUF_INIT;
    const char *auth = strstr(database, "://") + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *x = auth; x < auth + auth_len; x++)
        if (*x == '@')
            at = x;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    const char *p = database;
    if (colon) {
        buf_add(&b, p, (size_t)(colon - p));
        buf_adds(&b, ":***");
        p = at;
    }
    for (const char *q; (q = strstr(p, "password="));) {
        buf_add(&b, p, (size_t)(q - p) + 9);
        buf_adds(&b, "***");
        p = q + 9 + strcspn(q + 9, "&#");
    }
    buf_adds(&b, p);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    buf_free(&b);
}

struct store *store_open(const struct store_options *opt)
{
    const char *name = opt->backend ? opt->backend : "sqlite";
    for (size_t i = 0; i < sizeof BACKENDS / sizeof *BACKENDS; i++)
        if (strcmp(BACKENDS[i]->name, name) == 0)
            return BACKENDS[i]->open(opt);
    hlog_error("store: no backend named %s", name);
    return NULL;
}

void store_close(struct store *s)
{
    if (s)
        s->backend->close(s);
}

void store_submit(struct store *s, struct store_req *r)
{
    s->backend->submit(s, r);
}

int store_call(struct store *s, struct store_req *r)
{
    return s->backend->call(s, r);
}

int store_meta_get(struct store *s, const char *key, char *out, size_t cap)
{
    return s->backend->meta_get(s, key, out, cap);
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
    return s->backend->meta_set(s, key, value, false);
}

int store_meta_add(struct store *s, const char *key, const char *value)
{
    return s->backend->meta_set(s, key, value, true);
}

int store_schema_version(struct store *s)
{
    return s->backend->schema_version(s);
}

int store_set_remote(struct store *s, const struct store_remote *remote)
{
    return s->backend->set_remote ? s->backend->set_remote(s, remote) : 0;
}
