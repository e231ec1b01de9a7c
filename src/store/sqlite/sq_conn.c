/* sq_conn.c - SQLite connections and their statement caches (sq_int.h). */
#include "store/sqlite/sq_int.h"
#include "core/log.h"
#include "core/mem.h"
#include "engine/render.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* SQLite allocates through core/mem, so a failure spends the reserve
 * before SQLite sees SQLITE_NOMEM (which answers 503). */
static void *sq_mem_malloc(int n)
{
    return mem_malloc((size_t)n);
}

static void *sq_mem_realloc(void *p, int n)
{
    return mem_realloc(p, (size_t)n);
}

static int sq_mem_size(void *p)
{
    return p ? (int)malloc_usable_size(p) : 0;
}

static int sq_mem_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_mem_init(void *unused)
{
    (void)unused;
    return SQLITE_OK;
}

static void sq_mem_shutdown(void *unused)
{
    (void)unused;
}

static const sqlite3_mem_methods SQ_MEM = {sq_mem_malloc, free, sq_mem_realloc, sq_mem_size,
                                           sq_mem_roundup, sq_mem_init, sq_mem_shutdown, NULL};

static void sq_configure(void)
{
    if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MALLOC, &SQ_MEM) != SQLITE_OK)
        hlog_warn("store: SQLite was initialised before Herald could configure it");
}

int sq_fail(struct sq_conn *c, const char *what)
{
    c->failed = sqlite3_extended_errcode(c->db);
    hlog_error("store: %s: %s", what, sqlite3_errmsg(c->db));
    return STORE_UNAVAILABLE;
}

bool sq_storage_failing(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
        return true;
    default:
        return false;
    }
}

/* Each connection belongs to one thread, so SQLite's own locking is not
 * needed, and its memory statistics would put a process-wide mutex on
 * every allocation that the loop and the writer then fight over. These and
 * the allocator are process-global settings that must precede
 * sqlite3_initialize. */
static void sq_configure_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sq_configure);
}

int sq_conn_open(struct sq_conn *c, const char *path, const struct sq_conn_cfg *cfg)
{
    sq_configure_once();
    memset(c, 0, sizeof *c);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        hlog_error("store: cannot open %s: %s", path,
                   c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        c->db = NULL;
        return -1;
    }
    sqlite3_extended_result_codes(c->db, 1);
    /* Another process (herald workspace create) may hold the write lock
     * for a moment; wait rather than fail. Past this the request fails
     * with 503 (busy_timeout_ms). */
    sqlite3_busy_timeout(c->db, cfg->busy_ms);
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;"
             "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d;",
             cfg->sync_full ? "FULL" : "NORMAL", (cfg->cache_mib > 0 ? cfg->cache_mib : 64) * 1024);
    if (sq_exec(c, pragmas) != 0) {
        sq_conn_close(c);
        return -1;
    }
    if (!cfg->writer) {
        sq_exec(c, "PRAGMA query_only=1;");
    } else {
        /* The WAL file is reused, not shrunk, after each restart (at most
         * ~64 MB, sq_checkpoint.c): truncating it would cost a commit time. */
        sq_exec(c, "PRAGMA journal_size_limit=-1;");
        c->render = render_new();
    }
    return 0;
}

void sq_conn_close(struct sq_conn *c)
{
    for (int i = 0; i < SQ_CACHE_SLOTS; i++)
        if (c->stmt[i])
            sqlite3_finalize(c->stmt[i]);
    if (c->db)
        sqlite3_close(c->db);
    render_free(c->render);
    sq_cache_free(c);
    memset(c, 0, sizeof *c);
}

sqlite3_stmt *sq_prep(struct sq_conn *c, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15u;
    for (unsigned i = 0; i < SQ_CACHE_SLOTS; i++) {
        unsigned slot = (unsigned)((h + i) % SQ_CACHE_SLOTS);
        if (c->sql[slot] == sql) {
            sqlite3_reset(c->stmt[slot]);
            sqlite3_clear_bindings(c->stmt[slot]);
            return c->stmt[slot];
        }
        if (!c->sql[slot]) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
                SQLITE_OK) {
                hlog_error("store: cannot prepare [%.60s...]: %s", sql, sqlite3_errmsg(c->db));
                return NULL;
            }
            c->sql[slot] = sql;
            c->stmt[slot] = st;
            return st;
        }
    }
    hlog_error("store: statement cache full");
    return NULL;
}

void sq_reset_all(struct sq_conn *c)
{
    for (int i = 0; i < SQ_CACHE_SLOTS; i++)
        if (c->stmt[i])
            sqlite3_reset(c->stmt[i]);
}

int sq_exec(struct sq_conn *c, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        hlog_error("store: [%.60s]: %s", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int sq_step_sql(struct sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = sq_prep(c, sql);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sq_fail(c, sql);
        return -1;
    }
    return 0;
}

const char *sq_text(sqlite3_stmt *st, int col, struct arena *a)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    return arena_strndup(a, (const char *)t, (size_t)n);
}

void sq_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

/* After a failed COMMIT (SQLITE_FULL, SQLITE_IOERR, ...) SQLite may have
 * rolled the transaction back itself; a second ROLLBACK would only log an
 * error. */
void sq_rollback(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sq_exec(c, "ROLLBACK");
}

static const char BEGIN_READ[] = "BEGIN";
static const char BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char COMMIT[] = "COMMIT";

int sq_run_alone(struct sq_conn *c, const struct sq_op *op, struct store_req *r)
{
    if (sq_step_sql(c, op->write ? BEGIN_WRITE : BEGIN_READ) != 0)
        return STORE_UNAVAILABLE;
    sq_cache_clear(c);
    int rc = op->run(c, r);
    if (op->write && rc == STORE_OK)
        rc = sq_cache_flush(c);
    sq_reset_all(c);
    sq_cache_clear(c);
    if (rc == STORE_UNAVAILABLE || (op->write && rc != STORE_OK)) {
        sq_rollback(c);
        return rc;
    }
    if (sq_step_sql(c, COMMIT) != 0) {
        sq_rollback(c);
        return STORE_UNAVAILABLE;
    }
    return rc;
}

void sq_load_workspace(sqlite3_stmt *st, int col, struct arena *a, struct workspace *w)
{
    memset(w, 0, sizeof *w);
    w->wid = sqlite3_column_int64(st, col + 0);
    w->id = sq_text(st, col + 1, a);
    w->name = sq_text(st, col + 2, a);
    w->timezone = sq_text(st, col + 3, a);
    w->signing_secret = sq_text(st, col + 4, a);
    w->message_group_window_s = sqlite3_column_int(st, col + 5);
    w->booking_alert_audience = (enum audience)sqlite3_column_int(st, col + 6);
    w->phi_in_external_channels = sqlite3_column_int(st, col + 7);
    w->sms_fallback_to_email = sqlite3_column_int(st, col + 8);
    w->retention_days = sqlite3_column_int(st, col + 9);
    w->email_sender_name = sq_text(st, col + 10, a);
    w->sms_sender_id = sq_text(st, col + 11, a);
    w->default_prefs.set = (uint32_t)sqlite3_column_int64(st, col + 12);
    w->default_prefs.on = (uint32_t)sqlite3_column_int64(st, col + 13);
    w->credits = sqlite3_column_int64(st, col + 14);
    w->created_at = sqlite3_column_int64(st, col + 15);
    w->app_url = sq_text(st, col + 16, a);
}

int sq_workspace_by_wid(struct sq_conn *c, int64_t wid, struct arena *a, struct workspace *w)
{
    static const char SQL[] = "SELECT " SQ_WS_COLS " FROM workspaces w WHERE w.wid = ?1";
    sqlite3_stmt *st = sq_prep(c, SQL);
    if (!st)
        return STORE_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, wid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_load_workspace(st, 0, a, w);
        sqlite3_reset(st);
        return STORE_OK;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_fail(c, "workspace");
}

void sq_load_member(sqlite3_stmt *st, int col, struct arena *a, struct member *m)
{
    memset(m, 0, sizeof *m);
    m->mid = sqlite3_column_int64(st, col + 0);
    m->wid = sqlite3_column_int64(st, col + 1);
    m->id = sq_text(st, col + 2, a);
    m->name = sq_text(st, col + 3, a);
    m->email = sq_text(st, col + 4, a);
    m->phone = sq_text(st, col + 5, a);
    m->role = (enum role)sqlite3_column_int(st, col + 6);
    m->timezone = sq_text(st, col + 7, a);
    m->locale = sq_text(st, col + 8, a);
    m->active = sqlite3_column_int(st, col + 9);
    m->prefs.set = (uint32_t)sqlite3_column_int64(st, col + 10);
    m->prefs.on = (uint32_t)sqlite3_column_int64(st, col + 11);
    m->cancel_channels = (enum cancel_channels)sqlite3_column_int(st, col + 12);
    m->cancel_within_days = sqlite3_column_int(st, col + 13);
    m->push_enabled = sqlite3_column_int(st, col + 14);
    m->unread = sqlite3_column_int64(st, col + 15);
    m->created_at = sqlite3_column_int64(st, col + 16);
    m->updated_at = sqlite3_column_int64(st, col + 17);
}
