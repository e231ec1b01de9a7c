/* cli.c - `herald workspace`, `herald key` and `herald vapid`: the operator's commands,
 * run directly against the database (a running server sees the result at
 * once: SQLite's WAL lets both work on the file). */
#include "app/app.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/hostid.h"
#include "core/jsonx.h"
#include "core/jw.h"
#include "engine/render.h"
#include "push/vapid.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
    const char *database, *id, *name, *timezone, *workspace, *key_id;
    bool help;
};

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->database = getenv("HERALD_DATABASE") ? getenv("HERALD_DATABASE") : "herald.db";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        if (!strcmp(a, "--database"))
            slot = &o->database;
        else if (!strcmp(a, "--id"))
            slot = &o->id;
        else if (!strcmp(a, "--name"))
            slot = &o->name;
        else if (!strcmp(a, "--timezone"))
            slot = &o->timezone;
        else if (!strcmp(a, "--workspace"))
            slot = &o->workspace;
        else if (!strcmp(a, "--key-id"))
            slot = &o->key_id;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "herald: %s %s\n", slot ? "missing a value after" : "unknown option", a);
            return -1;
        }
        *slot = argv[++i];
    }
    return 0;
}

static struct store *open_store(const char *path)
{
    jx_init();
    struct store_options so = {.backend = store_backend_for(path), .dsn = path, .threaded = false,
                               .sync_full = true, .max_batch = 1};
    struct store *s = store_open(&so);
    if (!s) {
        char shown[1100];
        store_describe(path, shown, sizeof shown);
        fprintf(stderr, "herald: cannot open the database %s\n", shown);
    }
    return s;
}

static void print_buf(struct buf *b)
{
    fwrite(b->data, 1, b->len, stdout);
    fputc('\n', stdout);
    buf_free(b);
}

static int find_workspace(struct store *s, struct arena *a, const char *id, struct workspace *out)
{
    struct st_ws_get *q = ARENA_NEW(a, struct st_ws_get);
    q->base.op = ST_WS_GET;
    q->base.arena = a;
    q->id = id;
    int rc = store_call(s, &q->base);
    if (rc == STORE_NOT_FOUND)
        fprintf(stderr, "herald: no workspace %s\n", id);
    else if (rc != STORE_OK)
        fprintf(stderr, "herald: storage error\n");
    else
        *out = q->out;
    return rc;
}

static int workspace_create(struct opts *o)
{
    if (!o->id || !o->name || !o->timezone) {
        fprintf(stderr, "herald: workspace create needs --id, --name and --timezone\n");
        return 2;
    }
    if (!hostid_valid(o->id) || !render_timezone_valid(o->timezone)) {
        fprintf(stderr, "herald: --id must be 1-128 of [A-Za-z0-9._:-]; --timezone an IANA "
                        "zone such as Europe/Dublin\n");
        return 2;
    }
    struct store *s = open_store(o->database);
    if (!s)
        return 1;
    struct arena a = ARENA_INIT;
    struct st_ws_create *q = ARENA_NEW(&a, struct st_ws_create);
    q->base.op = ST_WS_CREATE;
    q->base.arena = &a;
    q->id = o->id;
    q->name = o->name;
    q->timezone = o->timezone;
    char *secret = signing_secret_generate();
    char *key = apikey_generate(q->key_id);
    q->signing_secret = secret;
    key_hash(key, q->key_hash);
    q->now = hclock_real_ms();
    int rc = store_call(s, &q->base);
    int status = 0;
    if (rc == STORE_OK) {
        struct buf b = BUF_INIT;
        struct jw w;
        jw_init(&w, &b);
        jw_obj(&w);
        jw_kstr(&w, "id", q->out.id);
        jw_kstr(&w, "name", q->out.name);
        jw_kstr(&w, "timezone", q->out.timezone);
        jw_kstr(&w, "api_key", key);
        jw_kstr(&w, "signing_secret", secret);
        jw_obj_end(&w);
        print_buf(&b);
    } else {
        fprintf(stderr, "herald: %s\n", rc == STORE_CONFLICT ? "a workspace with that id exists"
                                                               : "storage error");
        status = 1;
    }
    free(secret);
    free(key);
    arena_reset(&a);
    store_close(s);
    return status;
}

static int workspace_list(struct opts *o)
{
    struct store *s = open_store(o->database);
    if (!s)
        return 1;
    struct arena a = ARENA_INIT;
    struct st_ws_list *q = ARENA_NEW(&a, struct st_ws_list);
    q->base.op = ST_WS_LIST;
    q->base.arena = &a;
    int status = 1;
    if (store_call(s, &q->base) == STORE_OK) {
        for (size_t i = 0; i < q->n; i++)
            printf("%s\t%s\t%s\n", q->out[i].id, q->out[i].timezone, q->out[i].name);
        status = 0;
    }
    arena_reset(&a);
    store_close(s);
    return status;
}

int app_workspace(int argc, char **argv)
{
    struct opts o;
    const char *sub = argc > 0 ? argv[0] : "";
    if (argc < 1 || !strcmp(sub, "--help") || parse(argc - 1, argv + 1, &o) != 0 || o.help) {
        bool asked = argc >= 1 && (!strcmp(sub, "--help") || o.help);
        fprintf(asked ? stdout : stderr, "usage: herald workspace create --id ID --name NAME --timezone ZONE [--database FILE]\n"
               "       herald workspace list [--database FILE]\n\n"
               "create prints the new workspace's API key and signing secret once.\n");
        return asked ? 0 : 2;
    }
    if (!strcmp(sub, "create"))
        return workspace_create(&o);
    if (!strcmp(sub, "list"))
        return workspace_list(&o);
    fprintf(stderr, "herald: unknown command workspace %s\n", sub);
    return 2;
}

int app_key(int argc, char **argv)
{
    struct opts o;
    const char *sub = argc > 0 ? argv[0] : "";
    if (argc < 1 || !strcmp(sub, "--help") || parse(argc - 1, argv + 1, &o) != 0 || o.help) {
        bool asked = argc >= 1 && (!strcmp(sub, "--help") || o.help);
        fprintf(asked ? stdout : stderr, "usage: herald key create --workspace ID [--name NAME] [--database FILE]\n"
               "       herald key revoke --workspace ID --key-id KEY_ID [--database FILE]\n"
               "       herald key list --workspace ID [--database FILE]\n\n"
               "To rotate: create a new key, move the host app to it, revoke the old one.\n");
        return asked ? 0 : 2;
    }
    if (strcmp(sub, "create") && strcmp(sub, "revoke") && strcmp(sub, "list")) {
        fprintf(stderr, "herald: unknown command key %s\n", sub);
        return 2;
    }
    if (!o.workspace || (!strcmp(sub, "revoke") && !o.key_id)) {
        fprintf(stderr, "herald: key %s needs --workspace%s\n", sub,
                strcmp(sub, "revoke") ? "" : " and --key-id");
        return 2;
    }
    struct store *s = open_store(o.database);
    if (!s)
        return 1;
    struct arena a = ARENA_INIT;
    struct workspace ws;
    int status = 1;
    if (find_workspace(s, &a, o.workspace, &ws) != STORE_OK)
        goto out;
    if (!strcmp(sub, "create")) {
        struct st_key_create *q = ARENA_NEW(&a, struct st_key_create);
        q->base.op = ST_KEY_CREATE;
        q->base.arena = &a;
        q->wid = ws.wid;
        q->name = o.name;
        q->now = hclock_real_ms();
        char *key = apikey_generate(q->key_id);
        key_hash(key, q->key_hash);
        if (store_call(s, &q->base) == STORE_OK) {
            printf("{\"key_id\":\"%s\",\"api_key\":\"%s\"}\n", q->key_id, key);
            status = 0;
        }
        free(key);
    } else if (!strcmp(sub, "revoke")) {
        struct st_key_revoke *q = ARENA_NEW(&a, struct st_key_revoke);
        q->base.op = ST_KEY_REVOKE;
        q->base.arena = &a;
        q->wid = ws.wid;
        q->key_id = o.key_id;
        q->now = hclock_real_ms();
        int rc = store_call(s, &q->base);
        if (rc == STORE_OK) {
            printf("revoked %s\n", o.key_id);
            status = 0;
        } else {
            fprintf(stderr, "herald: %s\n", rc == STORE_NOT_FOUND
                                                ? "no live key with that id in the workspace"
                                                : "storage error");
        }
    } else {
        struct st_key_list *q = ARENA_NEW(&a, struct st_key_list);
        q->base.op = ST_KEY_LIST;
        q->base.arena = &a;
        q->wid = ws.wid;
        if (store_call(s, &q->base) == STORE_OK) {
            for (size_t i = 0; i < q->n; i++)
                printf("%s\t%s\t%s\n", q->out[i].key_id, q->out[i].name ? q->out[i].name : "-",
                       q->out[i].revoked_at ? "revoked" : "live");
            status = 0;
        }
    }
out:
    arena_reset(&a);
    store_close(s);
    return status;
}

/* `herald vapid`: the Web Push public key of this installation (made and
 * kept on first use), for the host app's pushManager.subscribe(). */
int app_vapid(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    if (o.help) {
        printf("usage: herald vapid [--database PATH]\n\n"
               "Prints the installation's VAPID public key (base64url), making the key pair\n"
               "on first use. It is kept in the database; browsers subscribe with it, so it\n"
               "never changes. GET /v1/push/vapid-public-key serves the same key.\n");
        return 0;
    }
    struct store *s = open_store(o.database);
    if (!s)
        return 1;
    EVP_PKEY *key = vapid_key_load(s);
    char pub[VAPID_PUBLIC_B64_LEN + 1];
    int status = 1;
    if (key && vapid_public_b64(key, pub) == 0) {
        printf("%s\n", pub);
        status = 0;
    } else {
        fprintf(stderr, "herald: cannot read or make the VAPID key\n");
    }
    EVP_PKEY_free(key);
    store_close(s);
    return status;
}
