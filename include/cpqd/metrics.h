/*
 * metrics: the service's counters and histograms, and their rendering in
 * the Prometheus text exposition format 0.0.4 (GET /metrics,
 * docs/operations.md).
 *
 * Owns: every series the service counts (requests and latency per route
 * and status, solver and rule timings, catalog loads, store transactions
 * and commit batches, webhook attempts, sweeps, key reloads, refusals
 * at the edge) and the text they render to. Does not own: what a
 * scrape reads at the moment it is made (the catalog served, the
 * outbox's depth): the caller passes those in metrics_gauges.
 *
 * Cheap from any thread: every series is a fixed set of C11 atomics
 * updated with relaxed fetch-adds (no lock, no allocation); a scrape
 * reads them one by one, so a scrape taken during updates may see a
 * histogram's sum a request ahead of its count, which Prometheus
 * tolerates. Durations are nanoseconds of CLOCK_MONOTONIC
 * (metrics_now_ns).
 *
 * Thread-safety: every function is safe from any thread.
 */
#ifndef CPQD_METRICS_H
#define CPQD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The monotonic clock in nanoseconds, for measuring durations. */
uint64_t metrics_now_ns(void);

/* ---- HTTP ---- */

#define METRICS_ROUTES_MAX 128 /* route table rows counted apart; more share one series */

/* One request answered: route is 1 + the row of the route table that
 * served it (method and pattern are that row's, static strings that must
 * live as long as the process), or 0 for a request no route served
 * (404, 405: method and pattern are then ignored); status the reply's;
 * ns the time taken to answer; bytes the reply body's size. */
void metrics_http_request(unsigned route, const char *method, const char *pattern, int status,
                          uint64_t ns, uint64_t bytes);

typedef enum metrics_refusal {
    METRICS_REFUSED_CONCURRENCY, /* a key over its max_concurrent (429) */
    METRICS_REFUSED_N,
} metrics_refusal;

void metrics_http_refused(metrics_refusal why);

/* ---- domain timings ---- */

/* One configurator run (solver_configure): its time, SAT calls, success. */
void metrics_solver(uint64_t ns, uint64_t sat_calls, bool ok);
/* One rule evaluation (rules_eval): outcome is the rules_outcome value
 * and name its lower-case name (a static string), ns its time. */
void metrics_rule(unsigned outcome, const char *name, uint64_t ns);
/* One catalog load (cat_snapshot_load): ok or refused, its time. */
void metrics_catalog_load(bool ok, uint64_t ns);

/* ---- store ---- */

/* A write transaction ended (begin to commit or rollback). */
void metrics_store_tx(bool committed, uint64_t ns);
/* A COMMIT statement took ns. */
void metrics_store_commit(uint64_t ns);
/* One commit wrote the work of n requests (1 without group commit). */
void metrics_commit_batch(size_t n);

/* ---- outbox, sweep, keys ---- */

typedef enum metrics_attempt {
    METRICS_ATTEMPT_DELIVERED, /* a 2xx */
    METRICS_ATTEMPT_FAILED,    /* retried later */
    METRICS_ATTEMPT_PARKED,    /* failed for the last time: parked */
    METRICS_ATTEMPT_N,
} metrics_attempt;

/* One webhook attempt and how it ended. */
void metrics_outbox_attempt(metrics_attempt a);
/* One receivables sweep: ok (committed) or failed, and the items it
 * could not process (recorded as sweep failures). */
void metrics_sweep_run(bool ok, size_t items_failed);
/* The key file was read again: ok (now in force) or refused. */
void metrics_keys_reload(bool ok);

/* ---- a scrape ---- */

/* What a scrape reads at the moment it is made; the caller fills it. */
typedef struct metrics_gauges {
    const char *version;        /* the catalog version served; NULL: none loaded */
    int64_t loaded_at;          /* when it was loaded, Unix seconds */
    size_t catalogs, products;  /* in it */
    bool keys_on;               /* --keys given */
    size_t keys;                /* entries in force (revoked ones included) */
    size_t keys_revoked;
    bool store_up;              /* the store answered the outbox query */
    int64_t outbox_pending;     /* events not yet delivered (nor parked) */
    int64_t outbox_failed;      /* events parked as failed */
    int64_t outbox_oldest_ms;   /* age of the oldest pending event, ms; -1: none */
    bool webhook_on;            /* this process delivers (--webhook) */
    unsigned write_threads;     /* threads of the write pool (--write-threads) */
    unsigned write_threads_used; /* those that have run a write */
    size_t writes_in_pool;      /* write operations handed to it and not yet done */
} metrics_gauges;

/* Renders every series and g as Prometheus text into *out (malloc'ed,
 * NUL-terminated, *len bytes without the NUL). Returns 0 or CPQD_ENOMEM. */
int metrics_render(const metrics_gauges *g, char **out, size_t *len);

/* Zeroes every series (tests). Not safe while others update. */
void metrics_reset(void);

#endif
