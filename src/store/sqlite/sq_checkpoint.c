/* sq_checkpoint.c - WAL checkpoints on their own thread.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses the
 * threshold, so one unlucky batch pays for copying pages into the database
 * and fsyncing it: a latency spike for every request in that batch. Here
 * the writer's WAL hook (which replaces the automatic checkpoint) only
 * signals this thread, which runs PASSIVE checkpoints on its own
 * connection: they never block the writer or the readers, and whatever
 * they cannot copy yet is copied next time.
 *
 * Under sustained load a background checkpoint never quite catches up
 * (commits keep landing while it copies), and SQLite restarts the WAL only
 * after a complete one, so the WAL would grow without bound. Past
 * CATCHUP_FRAMES the writer therefore checkpoints once itself, between its
 * commits, where nothing can overtake it: the thread has already copied
 * nearly everything, so this is short, and the WAL starts over. */
#include "store/sqlite/sq_int.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define CHECKPOINT_FRAMES 256  /* ~1 MB of WAL: ask the thread to checkpoint */
#define CATCHUP_FRAMES 16384   /* ~64 MB: the writer catches up itself */

struct sq_checkpointer {
    struct sq_conn conn;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wanted, stop;
};

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_checkpointer *k = arg;
    if (frames >= CATCHUP_FRAMES) {
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        return SQLITE_OK;
    }
    if (frames >= CHECKPOINT_FRAMES) {
        pthread_mutex_lock(&k->mu);
        k->wanted = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
    struct sq_checkpointer *k = arg;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        while (!k->wanted && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stop)
            break;
        k->wanted = false;
        pthread_mutex_unlock(&k->mu);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(k->conn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            hlog_warn("store: checkpoint: %s", sqlite3_errmsg(k->conn.db));
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

struct sq_checkpointer *sq_checkpointer_start(struct sq_store *s)
{
    struct sq_checkpointer *k = xcalloc(1, sizeof *k);
    /* Checkpoints copy pages from the WAL; they need no cache of their own. */
    struct sq_conn_cfg cfg = {s->opt.sync_full, false, s->opt.busy_timeout_ms, 2};
    if (sq_conn_open(&k->conn, s->opt.dsn, &cfg) != 0) {
        free(k);
        return NULL;
    }
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    if (pthread_create(&k->thread, NULL, checkpoint_main, k) != 0) {
        sq_conn_close(&k->conn);
        free(k);
        return NULL;
    }
    sqlite3_wal_hook(s->writer.db, on_wal_commit, k);
    return k;
}

void sq_checkpointer_stop(struct sq_store *s, struct sq_checkpointer *k)
{
    sqlite3_wal_hook(s->writer.db, NULL, NULL);
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    sq_conn_close(&k->conn);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}
