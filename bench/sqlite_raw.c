/* sqlite_raw.c - the anchors for Herald's storage figures (not a test).
 *
 * "ingest": on a database already migrated by herald (same schema, same
 * indexes), writes per event exactly the rows Herald writes: one events row
 * (same sizes of data and outcome), three notifications, three unread
 * counter updates; with synchronous=FULL in WAL, `batch` events per
 * transaction, i.e. one fsync per batch. Prints events/s.
 *
 * "feed": on a database Herald filled, runs Herald's first-page query for
 * one member N times and prints p50/p99: what SQLite alone costs.
 *
 *   sqlite_raw ingest DB BATCH EVENTS
 *   sqlite_raw feed DB MEMBER_KEY RUNS
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql)
{
    check(sqlite3_exec(db, sql, NULL, NULL, NULL), db, sql);
}

static int ingest(const char *path, int batch, int events)
{
    sqlite3 *db;
    check(sqlite3_open(path, &db), db, "open");
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    exec(db, "INSERT OR IGNORE INTO workspaces(wid, id, name, timezone, signing_secret, "
             "created_at, updated_at) VALUES (1, 'raw', 'raw', 'UTC', 's', 0, 0);"
             "INSERT OR IGNORE INTO members(mid, wid, id, role, created_at, updated_at) VALUES "
             "(1, 1, 'm1', 2, 0, 0), (2, 1, 'm2', 2, 0, 0), (3, 1, 'm3', 2, 0, 0);");
    static const char DATA[] =
        "{\"appointment\":{\"ends_at\":\"2026-11-24T15:20:00Z\",\"id\":\"ap_1\",\"service\":"
        "{\"assignee_ids\":[],\"id\":\"sv_1\",\"name\":\"Initial consult\"},\"staff_ids\":"
        "[\"m1\",\"m2\",\"m3\"],\"starts_at\":\"2026-11-24T14:30:00Z\"},\"client\":{"
        "\"assigned_staff_ids\":[],\"id\":\"cl_1\",\"name\":\"Dana Reyes\"}}";
    static const char OUTCOME[] =
        "{\"event\":{\"id\":\"ev-1\",\"type\":\"appointment.booked\",\"occurred_at\":"
        "\"2026-11-21T09:30:00Z\",\"received_at\":\"2026-11-21T12:41:28.262Z\"},"
        "\"notifications\":[{\"id\":\"ntf_1\",\"member_id\":\"m1\",\"category\":\"scheduling\","
        "\"channels\":[\"in_app\",\"push\"],\"reasons\":[\"appointment_staff\"]},{\"id\":"
        "\"ntf_2\",\"member_id\":\"m2\",\"category\":\"scheduling\",\"channels\":[\"in_app\","
        "\"push\"],\"reasons\":[\"appointment_staff\"]},{\"id\":\"ntf_3\",\"member_id\":\"m3\","
        "\"category\":\"scheduling\",\"channels\":[\"in_app\",\"push\"],\"reasons\":["
        "\"appointment_staff\"]}],\"skipped\":[]}";
    sqlite3_stmt *ev, *nt, *up;
    check(sqlite3_prepare_v2(db,
        "INSERT INTO events(eid, wid, id, type, body_sha256, occurred_at, received_at, source, "
        "actor_kind, actor_id, actor_name, data, outcome) VALUES (NULL, 1, ?1, "
        "'appointment.booked', randomblob(32), 0, 0, 'booking_page', 'client', 'cl_1', "
        "'Dana Reyes', ?2, ?3)", -1, &ev, NULL), db, "prepare");
    check(sqlite3_prepare_v2(db,
        "INSERT INTO notifications(wid, mid, eid, type, category, channels, reasons, in_app, "
        "title, body, created_at) VALUES (1, ?1, ?2, 'appointment.booked', 0, 9, 1, 1, "
        "'New booking', 'Dana Reyes booked Tue, Nov 24, 2:30 PM (Initial consult) via the "
        "booking page.', 0)", -1, &nt, NULL), db, "prepare");
    check(sqlite3_prepare_v2(db, "UPDATE members SET unread = unread + 1 WHERE mid = ?1", -1,
                             &up, NULL), db, "prepare");
    char id[64];
    static long run;
    run = (long)now_ns();
    uint64_t t0 = now_ns();
    for (int i = 0; i < events; i++) {
        if (i % batch == 0)
            exec(db, "BEGIN IMMEDIATE");
        snprintf(id, sizeof id, "raw-%ld-%d", run, i);
        sqlite3_bind_text(ev, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ev, 2, DATA, -1, SQLITE_STATIC);
        sqlite3_bind_text(ev, 3, OUTCOME, -1, SQLITE_STATIC);
        check(sqlite3_step(ev), db, "event");
        sqlite3_reset(ev);
        int64_t eid = sqlite3_last_insert_rowid(db);
        for (int m = 1; m <= 3; m++) {
            sqlite3_bind_int(nt, 1, m);
            sqlite3_bind_int64(nt, 2, eid);
            check(sqlite3_step(nt), db, "notification");
            sqlite3_reset(nt);
            sqlite3_bind_int(up, 1, m);
            check(sqlite3_step(up), db, "unread");
            sqlite3_reset(up);
        }
        if (i % batch == batch - 1 || i == events - 1)
            exec(db, "COMMIT");
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("RESULT mode=raw_ingest batch=%d events=%d secs=%.2f rate=%.0f\n", batch, events,
           secs, events / secs);
    sqlite3_finalize(ev);
    sqlite3_finalize(nt);
    sqlite3_finalize(up);
    sqlite3_close(db);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int feed(const char *path, long mid, int runs)
{
    sqlite3 *db;
    check(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), db, "open");
    sqlite3_stmt *st;
    /* Herald's query (src/store/sqlite/sq_feed.c), first page of unread. */
    check(sqlite3_prepare_v2(db,
        "SELECT n.nid, n.type, n.category, n.title, n.body, n.state, n.created_at, e.id, e.data "
        "FROM notifications n JOIN events e ON e.eid = n.eid "
        "WHERE n.mid = ?1 AND n.in_app = 1 AND n.state = ?2 AND n.nid < ?3 AND n.wid = ?4 "
        "ORDER BY n.nid DESC LIMIT ?5", -1, &st, NULL), db, "prepare");
    sqlite3_stmt *wid;
    check(sqlite3_prepare_v2(db, "SELECT wid FROM members WHERE mid = ?1", -1, &wid, NULL), db,
          "prepare");
    sqlite3_bind_int64(wid, 1, mid);
    check(sqlite3_step(wid), db, "wid");
    long w = sqlite3_column_int64(wid, 0);
    sqlite3_finalize(wid);
    uint64_t *lat = malloc(sizeof *lat * (size_t)runs);
    size_t bytes = 0;
    for (int i = 0; i < runs; i++) {
        uint64_t t0 = now_ns();
        sqlite3_bind_int64(st, 1, mid);
        sqlite3_bind_int(st, 2, 0);
        sqlite3_bind_int64(st, 3, INT64_MAX);
        sqlite3_bind_int64(st, 4, w);
        sqlite3_bind_int(st, 5, 51);
        while (sqlite3_step(st) == SQLITE_ROW)
            bytes += (size_t)sqlite3_column_bytes(st, 8) + (size_t)sqlite3_column_bytes(st, 4);
        sqlite3_reset(st);
        lat[i] = now_ns() - t0;
    }
    qsort(lat, (size_t)runs, sizeof *lat, cmp);
    printf("RESULT mode=raw_feed runs=%d p50_ms=%.3f p99_ms=%.3f bytes=%zu\n", runs,
           (double)lat[runs / 2] / 1e6, (double)lat[runs * 99 / 100] / 1e6, bytes / (size_t)runs);
    free(lat);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "ingest") == 0)
        return ingest(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 5 && strcmp(argv[1], "feed") == 0)
        return feed(argv[2], atol(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: sqlite_raw ingest DB BATCH EVENTS | feed DB MEMBER_KEY RUNS\n");
    return 2;
}
