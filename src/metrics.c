/*
 * metrics: counters and histograms as fixed arrays of atomics, rendered
 * as Prometheus text (include/cpqd/metrics.h, docs/operations.md).
 *
 * Globals (all below, all C11 atomics updated with relaxed ordering; no
 * lock): the request series by route row and status slot, the label
 * strings of the route rows and rule outcomes (published once with a
 * release store, read with acquire), and one series per domain timing.
 * A histogram keeps one count per bucket (not cumulative) and the sum of
 * its observations in integer units (nanoseconds, items), so updates
 * never round; the cumulative counts and the sums in seconds are made
 * when rendering.
 */
#include "cpqd/metrics.h"

#include "cpqd/err.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef atomic_uint_fast64_t mctr;

/* Latency bounds in nanoseconds (0.5 ms to 10 s), +Inf after them. */
static const uint64_t lat_bounds[] = {
    500000ull,    1000000ull,   2500000ull,    5000000ull,    10000000ull,
    25000000ull,  50000000ull,  100000000ull,  250000000ull,  500000000ull,
    1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull,
};
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

/* Commit batch sizes (requests per commit). */
static const uint64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NBATCH (sizeof(batch_bounds) / sizeof(batch_bounds[0]))

typedef struct lat_hist {
    mctr b[NLAT + 1]; /* per bucket, the last one +Inf */
    mctr sum;         /* ns */
} lat_hist;

typedef struct batch_hist {
    mctr b[NBATCH + 1];
    mctr sum;
} batch_hist;

/* The statuses counted apart; anything else is "other". */
static const int status_codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                                   412, 413, 415, 417, 422, 429, 500, 501, 503};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1)

typedef struct req_series {
    lat_hist lat;
    mctr bytes;
} req_series;

static req_series req[METRICS_ROUTES_MAX][NSTATUS];
static _Atomic(const char *) route_method[METRICS_ROUTES_MAX];
static _Atomic(const char *) route_pattern[METRICS_ROUTES_MAX];
static mctr refused[METRICS_REFUSED_N];

#define NOUTCOMES 8
static lat_hist rule_lat[NOUTCOMES];
static _Atomic(const char *) rule_name[NOUTCOMES];

static lat_hist solver_lat[2]; /* failed, ok */
static mctr solver_sat_calls;
static lat_hist load_lat[2];   /* refused, ok */
static atomic_int_fast64_t load_last_ns = -1; /* the last successful load */
static lat_hist tx_lat[2];     /* rolled back, committed */
static lat_hist commit_lat;
static batch_hist commit_batch;
static mctr attempts[METRICS_ATTEMPT_N];
static mctr sweeps[2];         /* failed, ok */
static mctr sweep_items_failed;
static mctr key_reloads[2];    /* refused, ok */
static atomic_int_fast64_t started_at = 0;

uint64_t metrics_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void add(mctr *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(mctr *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static size_t bucket_of(const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i;
}

static void lat_observe(lat_hist *h, uint64_t ns)
{
    add(&h->b[bucket_of(lat_bounds, NLAT, ns)], 1);
    add(&h->sum, ns);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (status_codes[i] == status)
            return i;
    return NSTATUS - 1;
}

static void start_once(void)
{
    int_fast64_t zero = 0;
    if (atomic_load_explicit(&started_at, memory_order_relaxed) == 0)
        atomic_compare_exchange_strong(&started_at, &zero, (int_fast64_t)time(NULL));
}

void metrics_http_request(unsigned route, const char *method, const char *pattern, int status,
                          uint64_t ns, uint64_t bytes)
{
    if (route >= METRICS_ROUTES_MAX)
        route = METRICS_ROUTES_MAX - 1;
    if (route && !atomic_load_explicit(&route_pattern[route], memory_order_acquire)) {
        atomic_store_explicit(&route_method[route], method, memory_order_release);
        atomic_store_explicit(&route_pattern[route], pattern, memory_order_release);
    }
    req_series *s = &req[route][status_slot(status)];
    lat_observe(&s->lat, ns);
    add(&s->bytes, bytes);
}

void metrics_http_refused(metrics_refusal why)
{
    if ((unsigned)why < METRICS_REFUSED_N)
        add(&refused[why], 1);
}

void metrics_solver(uint64_t ns, uint64_t sat_calls, bool ok)
{
    lat_observe(&solver_lat[ok], ns);
    add(&solver_sat_calls, sat_calls);
}

void metrics_rule(unsigned outcome, const char *name, uint64_t ns)
{
    if (outcome >= NOUTCOMES)
        outcome = NOUTCOMES - 1;
    if (!atomic_load_explicit(&rule_name[outcome], memory_order_acquire))
        atomic_store_explicit(&rule_name[outcome], name, memory_order_release);
    lat_observe(&rule_lat[outcome], ns);
}

void metrics_catalog_load(bool ok, uint64_t ns)
{
    start_once();
    lat_observe(&load_lat[ok], ns);
    if (ok)
        atomic_store_explicit(&load_last_ns, (int_fast64_t)ns, memory_order_relaxed);
}

void metrics_store_tx(bool committed, uint64_t ns)
{
    lat_observe(&tx_lat[committed], ns);
}

void metrics_store_commit(uint64_t ns)
{
    lat_observe(&commit_lat, ns);
}

void metrics_commit_batch(size_t n)
{
    add(&commit_batch.b[bucket_of(batch_bounds, NBATCH, n)], 1);
    add(&commit_batch.sum, n);
}

void metrics_outbox_attempt(metrics_attempt a)
{
    if ((unsigned)a < METRICS_ATTEMPT_N)
        add(&attempts[a], 1);
}

void metrics_sweep_run(bool ok, size_t items_failed)
{
    add(&sweeps[ok], 1);
    add(&sweep_items_failed, items_failed);
}

void metrics_keys_reload(bool ok)
{
    add(&key_reloads[ok], 1);
}

/* ---- rendering ---- */

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void put_label(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f), fputc(*v, f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

/* ns as seconds, exactly: integer part, point, nine digits. */
static void put_seconds(FILE *f, uint64_t ns)
{
    fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
            (unsigned long long)(ns % 1000000000ull));
}

/* A bucket bound in seconds, shortest form ("0.0005", "1", "2.5"). */
static void put_bound(FILE *f, uint64_t ns)
{
    char frac[16];
    snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(ns % 1000000000ull));
    size_t n = strlen(frac);
    while (n > 0 && frac[n - 1] == '0')
        frac[--n] = '\0';
    fprintf(f, "%llu%s%s", (unsigned long long)(ns / 1000000000ull), n ? "." : "", frac);
}

static uint64_t lat_count(lat_hist *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= NLAT; i++)
        n += get(&h->b[i]);
    return n;
}

/* The _bucket, _sum and _count lines of h under name with labels (a
 * preformatted "k=\"v\"," list, may be empty). */
static void put_lat(FILE *f, const char *name, const char *labels, lat_hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= NLAT; i++) {
        cum += get(&h->b[i]);
        fprintf(f, "%s_bucket{%sle=\"", name, labels);
        if (i < NLAT)
            put_bound(f, lat_bounds[i]);
        else
            fputs("+Inf", f);
        fprintf(f, "\"} %llu\n", (unsigned long long)cum);
    }
    /* the labels without their trailing comma, in braces if any */
    char lb[256];
    size_t ll = strlen(labels);
    if (ll)
        snprintf(lb, sizeof(lb), "{%.*s}", (int)ll - 1, labels);
    else
        lb[0] = '\0';
    fprintf(f, "%s_sum%s ", name, lb);
    put_seconds(f, get(&h->sum));
    fprintf(f, "\n%s_count%s %llu\n", name, lb, (unsigned long long)cum);
}

/* "method=\"GET\",route=\"/v1/x\",status=\"200\"," for a request series. */
static void req_labels(unsigned r, size_t s, char *buf, size_t cap)
{
    const char *m = r ? atomic_load_explicit(&route_method[r], memory_order_acquire) : NULL;
    const char *p = r ? atomic_load_explicit(&route_pattern[r], memory_order_acquire) : NULL;
    char st[8];
    if (s + 1 < NSTATUS)
        snprintf(st, sizeof(st), "%d", status_codes[s]);
    else
        snprintf(st, sizeof(st), "other");
    /* patterns are the route table's: no character needs escaping */
    snprintf(buf, cap, "method=\"%s\",route=\"%s\",status=\"%s\",", m ? m : "",
             p ? p : (r ? "(other)" : "(unmatched)"), st);
}

static void render_http(FILE *f)
{
    char lb[256];
    head(f, "cpqd_http_requests_total", "counter",
         "Requests answered, by route pattern (not the raw path) and status.");
    for (unsigned r = 0; r < METRICS_ROUTES_MAX; r++)
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t n = lat_count(&req[r][s].lat);
            if (!n)
                continue;
            req_labels(r, s, lb, sizeof(lb));
            fprintf(f, "cpqd_http_requests_total{%.*s} %llu\n", (int)strlen(lb) - 1, lb,
                    (unsigned long long)n);
        }
    head(f, "cpqd_http_request_duration_seconds", "histogram",
         "Time to answer a request (routing, work, building the reply), by route and status.");
    for (unsigned r = 0; r < METRICS_ROUTES_MAX; r++)
        for (size_t s = 0; s < NSTATUS; s++) {
            if (!lat_count(&req[r][s].lat))
                continue;
            req_labels(r, s, lb, sizeof(lb));
            put_lat(f, "cpqd_http_request_duration_seconds", lb, &req[r][s].lat);
        }
    head(f, "cpqd_http_response_bytes_total", "counter",
         "Bytes of reply bodies, by route and status.");
    for (unsigned r = 0; r < METRICS_ROUTES_MAX; r++)
        for (size_t s = 0; s < NSTATUS; s++) {
            if (!lat_count(&req[r][s].lat))
                continue;
            req_labels(r, s, lb, sizeof(lb));
            fprintf(f, "cpqd_http_response_bytes_total{%.*s} %llu\n", (int)strlen(lb) - 1, lb,
                    (unsigned long long)get(&req[r][s].bytes));
        }
    head(f, "cpqd_http_refused_total", "counter",
         "Requests refused at the edge before any work: a key over its max_concurrent (429).");
    fprintf(f, "cpqd_http_refused_total{reason=\"concurrency\"} %llu\n",
            (unsigned long long)get(&refused[METRICS_REFUSED_CONCURRENCY]));
}

static void render_domain(FILE *f)
{
    char lb[96];
    head(f, "cpqd_solver_duration_seconds", "histogram",
         "Configurator runs (valid domains, reasons, completeness), by result.");
    put_lat(f, "cpqd_solver_duration_seconds", "result=\"ok\",", &solver_lat[1]);
    put_lat(f, "cpqd_solver_duration_seconds", "result=\"error\",", &solver_lat[0]);
    head(f, "cpqd_solver_sat_calls_total", "counter", "SAT solver calls made by configurator runs.");
    fprintf(f, "cpqd_solver_sat_calls_total %llu\n", (unsigned long long)get(&solver_sat_calls));
    head(f, "cpqd_rule_duration_seconds", "histogram",
         "Lua rule evaluations in the sandbox, by outcome (ok, err_mem, err_cpu, ...).");
    for (unsigned o = 0; o < NOUTCOMES; o++) {
        const char *n = atomic_load_explicit(&rule_name[o], memory_order_acquire);
        if (!n || !lat_count(&rule_lat[o]))
            continue;
        snprintf(lb, sizeof(lb), "outcome=\"%s\",", n);
        put_lat(f, "cpqd_rule_duration_seconds", lb, &rule_lat[o]);
    }
    head(f, "cpqd_catalog_load_duration_seconds", "histogram",
         "Catalog loads (start, SIGHUP, POST /v1/admin/reload), by result.");
    put_lat(f, "cpqd_catalog_load_duration_seconds", "result=\"ok\",", &load_lat[1]);
    put_lat(f, "cpqd_catalog_load_duration_seconds", "result=\"refused\",", &load_lat[0]);
    int_fast64_t last = atomic_load_explicit(&load_last_ns, memory_order_relaxed);
    if (last >= 0) {
        head(f, "cpqd_catalog_last_load_seconds", "gauge",
             "How long the last successful catalog load took.");
        fputs("cpqd_catalog_last_load_seconds ", f);
        put_seconds(f, (uint64_t)last);
        fputc('\n', f);
    }
}

static void render_store(FILE *f)
{
    head(f, "cpqd_store_transaction_duration_seconds", "histogram",
         "Write transactions, from BEGIN to COMMIT or ROLLBACK, by outcome.");
    put_lat(f, "cpqd_store_transaction_duration_seconds", "outcome=\"commit\",", &tx_lat[1]);
    put_lat(f, "cpqd_store_transaction_duration_seconds", "outcome=\"rollback\",", &tx_lat[0]);
    head(f, "cpqd_store_commit_duration_seconds", "histogram",
         "COMMIT statements alone (the wait for the disk or the database).");
    put_lat(f, "cpqd_store_commit_duration_seconds", "", &commit_lat);
    head(f, "cpqd_store_commit_batch_size", "histogram",
         "Requests whose writes one commit carried (1 without group commit).");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NBATCH; i++) {
        cum += get(&commit_batch.b[i]);
        if (i < NBATCH)
            fprintf(f, "cpqd_store_commit_batch_size_bucket{le=\"%llu\"} %llu\n",
                    (unsigned long long)batch_bounds[i], (unsigned long long)cum);
        else
            fprintf(f, "cpqd_store_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cum);
    }
    fprintf(f, "cpqd_store_commit_batch_size_sum %llu\ncpqd_store_commit_batch_size_count %llu\n",
            (unsigned long long)get(&commit_batch.sum), (unsigned long long)cum);
}

static void render_ops(FILE *f)
{
    static const char *const att[METRICS_ATTEMPT_N] = {"delivered", "failed", "parked"};
    head(f, "cpqd_outbox_attempts_total", "counter",
         "Webhook delivery attempts of this process, by result (parked: failed for the last time).");
    for (size_t i = 0; i < METRICS_ATTEMPT_N; i++)
        fprintf(f, "cpqd_outbox_attempts_total{result=\"%s\"} %llu\n", att[i],
                (unsigned long long)get(&attempts[i]));
    head(f, "cpqd_sweep_runs_total", "counter",
         "Receivables sweeps (timer and POST /v1/receivables/sweep), by result.");
    fprintf(f, "cpqd_sweep_runs_total{result=\"ok\"} %llu\n", (unsigned long long)get(&sweeps[1]));
    fprintf(f, "cpqd_sweep_runs_total{result=\"failed\"} %llu\n",
            (unsigned long long)get(&sweeps[0]));
    head(f, "cpqd_sweep_items_failed_total", "counter",
         "Items sweeps could not process (each recorded under /v1/receivables/sweep/failures).");
    fprintf(f, "cpqd_sweep_items_failed_total %llu\n",
            (unsigned long long)get(&sweep_items_failed));
    head(f, "cpqd_key_reloads_total", "counter",
         "Readings of the key file after start (changed file or SIGHUP), by result.");
    fprintf(f, "cpqd_key_reloads_total{result=\"ok\"} %llu\n",
            (unsigned long long)get(&key_reloads[1]));
    fprintf(f, "cpqd_key_reloads_total{result=\"refused\"} %llu\n",
            (unsigned long long)get(&key_reloads[0]));
}

static void gauge(FILE *f, const char *name, const char *help, long long v)
{
    head(f, name, "gauge", help);
    fprintf(f, "%s %lld\n", name, v);
}

static void render_gauges(FILE *f, const metrics_gauges *g)
{
    if (g->version) {
        head(f, "cpqd_catalog_info", "gauge", "The catalog snapshot served (its version).");
        fputs("cpqd_catalog_info{version=\"", f);
        put_label(f, g->version);
        fputs("\"} 1\n", f);
        gauge(f, "cpqd_catalog_loaded_timestamp_seconds",
              "When the snapshot served was loaded (Unix time).", (long long)g->loaded_at);
        gauge(f, "cpqd_catalog_products", "Products in the snapshot served.",
              (long long)g->products);
        gauge(f, "cpqd_catalogs", "Catalogs in the snapshot served.", (long long)g->catalogs);
    }
    if (g->keys_on) {
        gauge(f, "cpqd_keys", "API keys in force (revoked ones included).", (long long)g->keys);
        gauge(f, "cpqd_keys_revoked", "Revoked API keys in the key file.",
              (long long)g->keys_revoked);
    }
    gauge(f, "cpqd_store_up", "1 if the store answered this scrape's query.", g->store_up);
    if (g->store_up) {
        gauge(f, "cpqd_outbox_pending",
              "Events not yet delivered (nor parked); without a webhook the pull feed's backlog.",
              (long long)g->outbox_pending);
        gauge(f, "cpqd_outbox_failed", "Events parked as failed, waiting for a replay.",
              (long long)g->outbox_failed);
        head(f, "cpqd_outbox_oldest_pending_age_seconds", "gauge",
             "Age of the oldest pending event (0 when none).");
        fputs("cpqd_outbox_oldest_pending_age_seconds ", f);
        put_seconds(f, g->outbox_oldest_ms > 0 ? (uint64_t)g->outbox_oldest_ms * 1000000ull : 0);
        fputc('\n', f);
    }
    gauge(f, "cpqd_webhook_enabled", "1 if this process delivers events (--webhook).",
          g->webhook_on);
    gauge(f, "cpqd_write_threads", "Threads that run write operations (--write-threads).",
          (long long)g->write_threads);
    gauge(f, "cpqd_write_threads_used",
          "Write threads that have run a write since the start (each has its database "
          "connection and pricing engine).",
          (long long)g->write_threads_used);
    gauge(f, "cpqd_writes_in_progress",
          "Write operations handed to the write threads and not yet done (queued, running or "
          "waiting for their commit).",
          (long long)g->writes_in_pool);
    gauge(f, "cpqd_start_time_seconds", "When the process loaded its first catalog (Unix time).",
          (long long)atomic_load_explicit(&started_at, memory_order_relaxed));
}

int metrics_render(const metrics_gauges *g, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return CPQD_ENOMEM;
    render_http(f);
    render_domain(f);
    render_store(f);
    render_ops(f);
    render_gauges(f, g);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return CPQD_ENOMEM;
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return CPQD_ENOMEM;
    }
    *out = buf;
    *len = n;
    return 0;
}

void metrics_reset(void)
{
    memset(req, 0, sizeof(req));
    memset(refused, 0, sizeof(refused));
    memset(rule_lat, 0, sizeof(rule_lat));
    memset(solver_lat, 0, sizeof(solver_lat));
    memset(load_lat, 0, sizeof(load_lat));
    memset(tx_lat, 0, sizeof(tx_lat));
    memset(&commit_lat, 0, sizeof(commit_lat));
    memset(&commit_batch, 0, sizeof(commit_batch));
    memset(attempts, 0, sizeof(attempts));
    memset(sweeps, 0, sizeof(sweeps));
    atomic_store(&solver_sat_calls, 0);
    atomic_store(&sweep_items_failed, 0);
    atomic_store(&load_last_ns, -1);
    memset(key_reloads, 0, sizeof(key_reloads));
}
