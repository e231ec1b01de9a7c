/* pg_conn.c - PostgreSQL connections, prepared statements, parameters and
 * result accessors, and one operation's transaction (pg_int.h). */
#include "store/pg/pg_int.h"
#include "core/log.h"
#include "engine/render.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Transient failures a rerun can get past. */
#define RETRIES 5

void pgp_int(struct pg_params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

void pgp_text(struct pg_params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

const char *pg_int_array(struct arena *a, const int64_t *v, size_t n)
{
    struct buf b = BUF_INIT;
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%" PRId64, i ? "," : "", v[i]);
    buf_addc(&b, '}');
    const char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

const char *pg_text_array(struct arena *a, const char *const *v, size_t n)
{
    /* Every element quoted, so commas, braces, spaces and the word NULL
     * inside a text stay text; within quotes only " and \ need escaping. */
    struct buf b = BUF_INIT;
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(&b, ',');
        if (!v[i]) {
            buf_adds(&b, "NULL");
            continue;
        }
        buf_addc(&b, '"');
        for (const char *ch = v[i]; *ch; ch++) {
            if (*ch == '"' || *ch == '\\')
                buf_addc(&b, '\\');
            buf_addc(&b, *ch);
        }
        buf_addc(&b, '"');
    }
    buf_addc(&b, '}');
    const char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

void pgp_bool(struct pg_params *p, bool b)
{
    pgp_text(p, b ? "t" : "f");
}

void pgp_null(struct pg_params *p)
{
    pgp_text(p, NULL);
}

void pgp_bytes(struct pg_params *p, const void *b, size_t n)
{
    p->v[p->n] = b;
    p->len[p->n] = (int)n;
    p->fmt[p->n] = 1;
    p->n++;
}

int pg_fail(struct pg_conn *c, const char *what, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s",
             state ? state : (PQstatus(c->db) == CONNECTION_OK ? "XX000" : "08006"));
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    /* The primary message names the constraint or the problem, never a
     * parameter's value (those would be in the DETAIL field). */
    hlog_error("store: %s: %s (%s)", what, msg ? msg : PQerrorMessage(c->db), c->sqlstate);
    return STORE_UNAVAILABLE;
}

bool pg_retryable(const struct pg_conn *c)
{
    return strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0 ||
           strcmp(c->sqlstate, "23505") == 0 || strcmp(c->sqlstate, "23503") == 0 ||
           strncmp(c->sqlstate, "08", 2) == 0 ||
           PQstatus(c->db) != CONNECTION_OK;
}

/* The prepared statement for sql: prepared on first use, under the name
 * of its slot. NULL when the cache is full or PREPARE failed. */
static const char *prepared(struct pg_conn *c, const char *sql, int nparams, char *name,
                            size_t cap)
{
    /* Static SQL texts have stable addresses: search by pointer. */
    for (int i = 0; i < c->nprepared; i++)
        if (c->sql[i] == sql) {
            snprintf(name, cap, "s%d", i);
            return name;
        }
    if (c->nprepared == PG_CACHE_SLOTS) {
        hlog_error("store: statement cache full");
        return NULL;
    }
    int slot = c->nprepared;
    snprintf(name, cap, "s%d", slot);
    PGresult *res = PQprepare(c->db, name, sql, nparams, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        pg_fail(c, "prepare", res);
    PQclear(res);
    if (!ok)
        return NULL;
    c->sql[slot] = sql;
    c->nprepared++;
    return name;
}

PGresult *pg_q(struct pg_conn *c, const char *sql, const struct pg_params *p)
{
    static const struct pg_params none = PG_PARAMS_INIT;
    if (!p)
        p = &none;
    char name[16];
    if (!prepared(c, sql, p->n, name, sizeof name))
        return NULL;
    PGresult *res = PQexecPrepared(c->db, name, p->n, p->v, p->len, p->fmt, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    /* The first words of the statement say which one failed. */
    char what[48];
    snprintf(what, sizeof what, "%.47s", sql);
    pg_fail(c, what, res);
    PQclear(res);
    return NULL;
}

int pg_cmd(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *affected)
{
    PGresult *res = pg_q(c, sql, p);
    if (!res)
        return STORE_UNAVAILABLE;
    if (affected)
        *affected = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return STORE_OK;
}

int pg_exec(struct pg_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->db, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char what[48];
        snprintf(what, sizeof what, "%.47s", sql);
        pg_fail(c, what, res);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int64_t pg_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool pg_bool(const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    return !PQgetisnull(res, row, col) && (v[0] == 't' || v[0] == '1');
}

bool pg_isnull(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col);
}

const char *pg_text(const PGresult *res, int row, int col, struct arena *a)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return arena_strndup(a, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool pg_bytes(const PGresult *res, int row, int col, void *out, size_t n)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *v = PQgetvalue(res, row, col);
    size_t len = (size_t)PQgetlength(res, row, col);
    if (len != 2 + 2 * n || v[0] != '\\' || v[1] != 'x')
        return false;
    uint8_t *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

PGconn *pg_connect(const char *dsn, bool start_only)
{
    /* connect_timeout first: one the DSN gives comes later and wins */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {"10", dsn, NULL};
    return start_only ? PQconnectStartParams(keys, values, 1) : PQconnectdbParams(keys, values, 1);
}

static int configure(struct pg_conn *c)
{
    /* Times are integers and texts are UTF-8; the session only needs a
     * bound on how long a statement may wait for a lock. */
    return pg_exec(c, "SET client_encoding = 'UTF8'; SET bytea_output = 'hex';"
                      "SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '60s'");
}

int pg_conn_open(struct pg_conn *c, const char *dsn, uint64_t node)
{
    memset(c, 0, sizeof *c);
    c->dsn = dsn;
    c->node = node;
    c->db = pg_connect(dsn, false);
    if (PQstatus(c->db) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, not the password */
        hlog_error("store: cannot connect to PostgreSQL: %s", PQerrorMessage(c->db));
        PQfinish(c->db);
        c->db = NULL;
        return -1;
    }
    if (configure(c) != 0) {
        pg_conn_close(c);
        return -1;
    }
    c->render = render_new();
    return 0;
}

int pg_conn_reset(struct pg_conn *c)
{
    PQreset(c->db);
    c->nprepared = 0;
    memset(c->sql, 0, sizeof c->sql);
    if (PQstatus(c->db) != CONNECTION_OK) {
        hlog_error("store: PostgreSQL connection lost: %s", PQerrorMessage(c->db));
        return -1;
    }
    return configure(c);
}

void pg_conn_close(struct pg_conn *c)
{
    if (c->db)
        PQfinish(c->db);
    render_free(c->render);
    buf_free(&c->notify);
    memset(c, 0, sizeof *c);
}

/* The notices this transaction queued, as statements NOTIFY accepts
 * (payloads under 8,000 bytes): "<node> mid:seq mid:seq ...", appended to
 * sql. Payloads hold only digits, hex and spaces. */
static void add_notices(struct pg_conn *c, struct buf *sql)
{
    const char *p = c->notify.data, *end = p + c->notify.len;
    while (p < end) {
        buf_printf(sql, "SELECT pg_notify('" PG_NOTIFY_CHANNEL "', '%" PRIx64, c->node);
        size_t used = 0;
        while (p < end) {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            size_t word = (size_t)((sp ? sp : end) - p);
            if (used + 1 + word >= 7800)
                break;
            buf_addc(sql, ' ');
            buf_add(sql, p, word);
            used += 1 + word;
            p += word + (sp ? 1 : 0);
        }
        buf_adds(sql, "');");
    }
}

/* The notices and COMMIT in one round trip. 0: committed. 1: a notice
 * failed, nothing is committed (the transaction is aborted). -1: COMMIT
 * failed, and whether it took effect is unknown. */
static int commit(struct pg_conn *c)
{
    struct buf sql = BUF_INIT;
    add_notices(c, &sql);
    buf_adds(&sql, "COMMIT");
    int rc = pg_exec(c, sql.data);
    buf_free(&sql);
    if (rc == 0)
        return 0;
    return PQtransactionStatus(c->db) == PQTRANS_INERROR ? 1 : -1;
}

int pg_run(struct pg_conn *c, const struct pg_op *op, struct store_req *r)
{
    int rc = STORE_UNAVAILABLE;
    for (int attempt = 0; attempt < RETRIES; attempt++) {
        c->sqlstate[0] = '\0';
        buf_clear(&c->notify);
        if (PQstatus(c->db) != CONNECTION_OK && pg_conn_reset(c) != 0)
            break;
        if (op->bare) {
            rc = op->run(c, r);
        } else if (!op->write) {
            /* one snapshot for every statement of the read */
            if (pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
                goto retry;
            rc = op->run(c, r);
            if (pg_exec(c, rc == STORE_UNAVAILABLE ? "ROLLBACK" : "COMMIT") != 0 &&
                rc != STORE_UNAVAILABLE)
                rc = STORE_UNAVAILABLE;
        } else {
            if (pg_exec(c, "BEGIN") != 0)
                goto retry;
            rc = op->run(c, r);
            /* NOT_FOUND and CONFLICT wrote nothing worth keeping; rolling
             * them back also drops what a partial attempt did. */
            int committed = rc == STORE_OK ? commit(c) : 1;
            if (rc != STORE_OK) {
                pg_exec(c, "ROLLBACK");
            } else if (committed == 1) {
                rc = STORE_UNAVAILABLE;
                pg_exec(c, "ROLLBACK");
            } else if (committed == -1) {
                /* The outcome is unknown (it may have committed before the
                 * connection dropped): running it again could apply it
                 * twice, so the caller hears "unavailable" and retries
                 * through the API, where ingest is idempotent. */
                rc = STORE_UNAVAILABLE;
                break;
            }
        }
        if (rc != STORE_UNAVAILABLE)
            break;
retry:
        rc = STORE_UNAVAILABLE;
        if (PQtransactionStatus(c->db) == PQTRANS_INERROR ||
            PQtransactionStatus(c->db) == PQTRANS_INTRANS)
            pg_exec(c, "ROLLBACK");
        if (!pg_retryable(c))
            break;
        hlog_warn("store: retrying after %s", c->sqlstate);
    }
    buf_clear(&c->notify);
    return rc;
}
