/*
 * svc_write: group commit (include/cpqd/svc.h "group commit").
 *
 * Owns: the writer thread, its database connection and the queue of
 * write closures that request threads hand it (svc_tx with c->writer).
 * Does not own: what a closure writes (quote, contract), the transaction
 * primitives (store).
 *
 * One batch: BEGIN (the write lock: SQLite's BEGIN IMMEDIATE, the
 * advisory lock on PostgreSQL), then every queued closure in its own
 * savepoint (a closure that fails is rolled back to it, alone), then one
 * COMMIT: one fsync for the whole batch. Only then is each request
 * released, with its result; a failed COMMIT fails every request of the
 * batch with CPQD_EIO and nothing of it was written. So a request that
 * got its reply is durable (kill -9 at any moment loses none), and the
 * fsync, the slowest part of a write, is shared by as many requests as
 * arrived while the previous batch committed: the batch grows with the
 * load, without any timer.
 *
 * Invariant: a job is on the queue, in the running batch, or done; its
 * thread waits (on the job's own `wake`) until it is done, so the job,
 * its context and its out-parameters live on the waiting thread's stack.
 * Locking: `lock` guards the queue, `stop`, every job's `done` (and its
 * `wake`) and the stats; the batch runs without it.
 */
#include "cpqd/log.h"
#include "svc_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_WRITER_MAX_BATCH 512 /* closures per transaction */

typedef struct svc_job {
    struct svc_job *next;
    svc_ctx c; /* the caller's, with st the writer's connection */
    svc_tx_fn fn;
    void *arg;
    svc_reply *out;
    cpqd_errs *errs;
    int rc;
    bool ran;            /* fn was called */
    bool done;           /* the batch is over: rc is final */
    pthread_cond_t wake; /* signalled when done (only its own thread waits) */
} svc_job;

struct svc_writer {
    char *db_path;
    store *st; /* the thread's connection; NULL until opened */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or stop */
    svc_job *head, *tail;
    bool stop;
    svc_writer_stats stats;
};

/* Opens the connection if it is not open. 0 or a code, with the reason
 * logged (each failed job also gets it in its errs). */
static int writer_connect(svc_writer *w, char *why, size_t cap)
{
    if (w->st)
        return 0;
    cpqd_errs *errs = errs_new();
    int rc = errs ? store_open(w->db_path, false, &w->st, errs) : CPQD_ENOMEM;
    const cpqd_err *e = errs && errs_count(errs) ? errs_get(errs, 0) : NULL;
    if (rc)
        snprintf(why, cap, "the store is not available: %s", e ? e->msg : err_code_name(rc));
    errs_free(errs);
    return rc;
}

/* Runs one job in its scope (a savepoint): 0, or a code when the
 * transaction cannot go on (the batch must be rolled back). A closure
 * that failed is undone alone; had its failure cost the transaction, the
 * next scope or the COMMIT finds it lost. */
static int job_run(svc_writer *w, svc_job *j)
{
    j->c.st = w->st;
    j->c.keep = false;
    int rc = store_scope_begin(w->st);
    if (rc != 0)
        return rc == CPQD_ENOMEM ? rc : CPQD_EIO;
    j->rc = j->fn(&j->c, j->arg, j->out, j->errs);
    bool keep = j->rc == 0 || j->c.keep;
    rc = store_scope_end(w->st, keep ? 0 : j->rc);
    return keep && rc != 0 ? CPQD_EIO : 0;
}

/* The batch was not committed: every job whose writes were to be kept,
 * or that did not run, fails with rc and why. */
static void batch_fail(svc_job *batch, int rc, const char *why)
{
    for (svc_job *j = batch; j; j = j->next) {
        if (!j->ran || j->rc == 0 || j->c.keep) {
            j->rc = rc;
            errs_add(j->errs, rc, NULL, 0, 0, "%s", why);
        }
        j->c.keep = false;
    }
}

/* Runs batch (a list) in one transaction and commits it. */
static void batch_run(svc_writer *w, svc_job *batch)
{
    char why[600] = "";
    int rc = writer_connect(w, why, sizeof(why));
    if (rc == 0 && (rc = store_begin(w->st)) != 0)
        snprintf(why, sizeof(why), "cannot begin a transaction: %s", store_last_error(w->st));
    size_t n = 0;
    for (svc_job *j = batch; j && rc == 0; j = j->next, n++) {
        j->ran = true;
        rc = job_run(w, j);
    }
    if (rc == 0)
        store_batch_note(w->st, n); /* GET /metrics: commit batch sizes */
    if (rc == 0 && (rc = store_commit(w->st)) == 0)
        return;
    if (!*why)
        snprintf(why, sizeof(why), "the write was not committed: %s",
                 w->st ? store_last_error(w->st) : "");
    log_error("writer: %s", why);
    batch_fail(batch, rc == CPQD_ENOMEM ? rc : CPQD_EIO, why);
    /* a broken connection is opened again for the next batch */
    store_close(w->st);
    w->st = NULL;
}

static void *writer_main(void *arg)
{
    svc_writer *w = arg;
    pthread_setname_np(pthread_self(), "cpqd-writer"); /* for top -H and perf */
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->work, &w->lock);
        if (!w->head)
            break;
        /* take up to SVC_WRITER_MAX_BATCH jobs off the queue */
        svc_job *batch = w->head, *last = batch;
        uint64_t n = 1;
        while (last->next && n < SVC_WRITER_MAX_BATCH) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->lock);
        batch_run(w, batch);
        pthread_mutex_lock(&w->lock);
        w->stats.batches++;
        w->stats.jobs += n;
        if (n > w->stats.max_batch)
            w->stats.max_batch = n;
        /* each request's thread alone is woken (a broadcast would wake
         * every waiting request for each batch) */
        for (svc_job *j = batch, *next; j; j = next) {
            next = j->next; /* j belongs to its thread once done */
            j->done = true;
            pthread_cond_signal(&j->wake);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int svc_writer_start(const char *db_path, svc_writer **out)
{
    svc_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->db_path = strdup(db_path))) {
        free(w);
        return CPQD_ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->lock);
        free(w->db_path);
        free(w);
        return CPQD_ENOMEM;
    }
    *out = w;
    return 0;
}

void svc_writer_stop(svc_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->stats.batches)
        log_info("writer: %llu writes in %llu transactions (largest %llu)",
                 (unsigned long long)w->stats.jobs, (unsigned long long)w->stats.batches,
                 (unsigned long long)w->stats.max_batch);
    store_close(w->st);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w->db_path);
    free(w);
}

void svc_writer_stats_get(svc_writer *w, svc_writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

int svc_writer_run(svc_ctx *c, svc_tx_fn fn, void *arg, svc_reply *out, cpqd_errs *errs)
{
    svc_writer *w = c->writer;
    svc_job j = {.c = *c, .fn = fn, .arg = arg, .out = out, .errs = errs};
    pthread_cond_init(&j.wake, NULL);
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = &j;
    else
        w->head = &j;
    w->tail = &j;
    pthread_cond_signal(&w->work);
    while (!j.done)
        pthread_cond_wait(&j.wake, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&j.wake);
    return j.rc;
}
