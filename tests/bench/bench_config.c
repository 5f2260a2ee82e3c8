/*
 * bench_config: the configurator engine on imported benchmark catalogs.
 *
 *   bench_config CATALOG.yaml --replay HISTORY.txt [--limit N]
 *       Replays each sold configuration of a sales history (line 1: the
 *       variable names; then one configuration a line, values in header
 *       order) choice by choice through solver_configure with the growing
 *       prefix: before choice k, the value the customer chose must be
 *       offered (not excluded) given choices 0..k-1 (else a violation);
 *       after the last choice the configuration must be complete, or
 *       leave open only variables the history does not record (the
 *       Renault histories omit some: medium's v52, several of big). Prints
 *       configurations, steps, total time, per-step latency percentiles,
 *       SAT calls per step and peak RSS. --limit N replays the first N
 *       configurations (default: all).
 *
 *   bench_config CATALOG.yaml --root [--expect-singletons N]
 *       Valid domains with no choice: values, valid values, variables with
 *       a single valid value (= core + dead features of a feature model),
 *       time and SAT calls.
 *
 * Exit status: 0; 1 when a replay has a violation, an inconsistent prefix
 * or leaves a recorded variable open, or --expect-singletons does not
 * match; 2 on bad usage
 * or input (message with file:line).
 */
#include "cpqd/cat.h"
#include "cpqd/solver.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, n) == 0)
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* ---- the model ---- */

typedef struct bench {
    cat_snapshot *snap;
    solver_model *model;
    solver_ctx *ctx;
} bench;

static int bench_open(bench *b, const char *catalog)
{
    cpqd_errs *e = errs_new();
    double t0 = now_ms();
    b->snap = cat_snapshot_load_path(catalog, NULL, e);
    double t1 = now_ms();
    if (!b->snap || cat_snapshot_product_count(b->snap) != 1) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fprintf(stderr, "bench_config: %s: %s\n", catalog,
                m ? m : "needs a catalog with exactly one product");
        free(m);
        errs_free(e);
        return 2;
    }
    b->model = solver_model_build(cat_snapshot_product_at(b->snap, 0), e);
    b->ctx = solver_ctx_new();
    if (!b->model || !b->ctx) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fprintf(stderr, "bench_config: model: %s\n", m ? m : "out of memory");
        free(m);
        errs_free(e);
        return 2;
    }
    solver_model_stats st;
    solver_model_stats_get(b->model, &st);
    printf("catalog %s: load %.1f ms, model build %.1f ms: %zu variables, %zu values, "
           "%zu SAT variables, %zu clauses\n",
           catalog, t1 - t0, now_ms() - t1, st.vars, st.values, st.sat_vars, st.clauses);
    errs_free(e);
    return 0;
}

static void bench_close(bench *b)
{
    solver_ctx_free(b->ctx);
    solver_model_free(b->model);
    cat_snapshot_release(b->snap);
}

/* ---- --root ---- */

static int run_root(bench *b, long expect)
{
    solver_result r;
    double t0 = now_ms();
    if (solver_configure(b->ctx, b->model, NULL, 0, SOLVER_EXPLAIN_NONE, &r) != 0 ||
        !r.consistent) {
        fprintf(stderr, "bench_config: the model has no valid configuration\n");
        return 1;
    }
    double ms = now_ms() - t0;
    size_t values = 0, valid = 0, single = 0;
    for (size_t v = 0; v < solver_var_count(b->model); v++) {
        const solver_var *sv = solver_var_at(b->model, v);
        size_t n = sv->nvalues - (sv->has_other ? 1 : 0), ok = 0;
        for (size_t k = 0; k < n; k++)
            ok += r.values[v][k].state != SOLVER_EXCLUDED;
        values += n;
        valid += ok;
        single += ok == 1;
    }
    printf("root valid domains: %zu/%zu values valid, %zu variables with one valid value; "
           "%.1f ms, %zu SAT calls; peak RSS %.1f MiB\n",
           valid, values, single, ms, r.sat_calls, (double)status_kb("VmHWM:") / 1024.0);
    solver_result_fini(&r);
    if (expect >= 0 && (size_t)expect != single) {
        printf("MISMATCH: expected %ld variables with one valid value\n", expect);
        return 1;
    }
    return 0;
}

/* ---- --replay ---- */

typedef struct history {
    size_t nvars;
    size_t *vars;     /* model variable of each column */
    size_t *values;   /* rows * nvars value indexes */
    size_t rows;
} history;

/* Splits line into whitespace-separated tokens (in place); returns how many. */
static size_t split(char *line, char **tok, size_t cap)
{
    size_t n = 0;
    for (char *s = strtok(line, " \t\r\n"); s; s = strtok(NULL, " \t\r\n"))
        if (n < cap)
            tok[n++] = s;
        else
            return cap + 1;
    return n;
}

static int history_read(const solver_model *m, const char *path, size_t limit, history *h)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *tok[1024];
    size_t cap = 0, lineno = 1, rcap = 0;
    int rc = 2;
    if (!f || getline(&line, &cap, f) < 0) {
        fprintf(stderr, "bench_config: %s: cannot read\n", path);
        goto out;
    }
    h->nvars = split(line, tok, 1024);
    h->vars = calloc(h->nvars ? h->nvars : 1, sizeof(size_t));
    for (size_t k = 0; h->vars && k < h->nvars; k++) {
        char p[256];
        snprintf(p, sizeof(p), "@%s", tok[k]);
        if ((h->vars[k] = solver_var_find(m, p, strlen(p))) == SIZE_MAX) {
            fprintf(stderr, "%s:1: no variable %s in the model\n", path, p);
            goto out;
        }
    }
    while (h->vars && h->rows < limit && getline(&line, &cap, f) >= 0) {
        lineno++;
        size_t n = split(line, tok, 1024);
        if (n == 0)
            continue;
        if (n != h->nvars) {
            fprintf(stderr, "%s:%zu: %zu values for %zu variables\n", path, lineno, n, h->nvars);
            goto out;
        }
        if ((h->rows + 1) * h->nvars > rcap) {
            rcap = rcap ? rcap * 2 : h->nvars * 1024;
            size_t *v = realloc(h->values, rcap * sizeof(size_t));
            if (!v)
                goto out;
            h->values = v;
        }
        for (size_t k = 0; k < n; k++) {
            const char *why = NULL;
            size_t val = solver_value_find(m, h->vars[k], tok[k], strlen(tok[k]), &why);
            if (val == SIZE_MAX) {
                fprintf(stderr, "%s:%zu: value %s of %s: %s\n", path, lineno, tok[k],
                        solver_var_at(m, h->vars[k])->path, why ? why : "unknown");
                goto out;
            }
            h->values[h->rows * h->nvars + k] = val;
        }
        h->rows++;
    }
    rc = h->vars ? 0 : 2;
out:
    free(line);
    if (f)
        fclose(f);
    return rc;
}

typedef struct replay_stats {
    size_t steps, violations, incomplete, inconsistent, sat_calls, max_sat;
    size_t open_in_history; /* undecided variables the history records: a failure */
    size_t *undecided;      /* per model variable: final configurations leaving it open */
    double *lat;            /* per step, ms */
    double total_ms;
} replay_stats;

static bool in_history(const history *h, size_t var)
{
    for (size_t k = 0; k < h->nvars; k++)
        if (h->vars[k] == var)
            return true;
    return false;
}

/* After the last choice: which variables are still open (a value neither
 * selected, implied nor excluded)? The Renault histories do not record
 * every variable of their models (medium: v52 is not in the header), so
 * a sold configuration may leave those free; one the history records
 * can never be open, since it was chosen. */
static void final_check(const bench *b, const history *h, size_t row, const solver_result *r,
                        replay_stats *st)
{
    if (r->complete)
        return;
    st->incomplete++;
    for (size_t v = 0; v < r->nvars; v++) {
        bool open = false;
        for (size_t x = 0; x < r->nvalues[v] && !open; x++)
            open = r->values[v][x].state == SOLVER_POSSIBLE;
        st->undecided[v] += open;
        if (open && in_history(h, v) && st->open_in_history++ < 5)
            printf("OPEN: configuration %zu leaves %s open although the history chose it\n",
                   row + 1, solver_var_at(b->model, v)->path);
    }
}

/* One configure call; records its latency and SAT calls. */
static int step(bench *b, const solver_choice *ch, size_t n, replay_stats *st, solver_result *r)
{
    double t0 = now_ms();
    int rc = solver_configure(b->ctx, b->model, ch, n, SOLVER_EXPLAIN_NONE, r);
    st->lat[st->steps++] = now_ms() - t0;
    st->sat_calls += r->sat_calls;
    st->max_sat = r->sat_calls > st->max_sat ? r->sat_calls : st->max_sat;
    return rc;
}

static int replay_row(bench *b, const history *h, size_t row, solver_choice *ch, replay_stats *st)
{
    const size_t *vals = &h->values[row * h->nvars];
    solver_result r;
    for (size_t k = 0; k <= h->nvars; k++) {
        if (step(b, ch, k, st, &r) != 0)
            return -1;
        if (!r.consistent) {
            st->inconsistent++;
        } else if (k < h->nvars && r.values[h->vars[k]][vals[k]].state == SOLVER_EXCLUDED) {
            if (st->violations++ < 5)
                printf("VIOLATION: configuration %zu, choice %zu (%s = %s) is excluded\n",
                       row + 1, k + 1, solver_var_at(b->model, h->vars[k])->path,
                       solver_var_at(b->model, h->vars[k])->values[vals[k]]);
        } else if (k == h->nvars) {
            final_check(b, h, row, &r, st);
        }
        solver_result_fini(&r);
        if (k < h->nvars)
            ch[k] = (solver_choice){.var = h->vars[k], .value = vals[k]};
    }
    return 0;
}

static int run_replay(bench *b, const char *path, size_t limit)
{
    history h = {0};
    replay_stats st = {0};
    int rc = history_read(b->model, path, limit, &h);
    solver_choice *ch = calloc(h.nvars + 1, sizeof(*ch));
    size_t nsteps;
    st.undecided = calloc(solver_var_count(b->model) + 1, sizeof(size_t));
    if (rc == 0 && (__builtin_mul_overflow(h.rows, h.nvars + 1, &nsteps) || !ch ||
                    !st.undecided || !(st.lat = malloc((nsteps ? nsteps : 1) * sizeof(double)))))
        rc = 2;
    double t0 = now_ms();
    for (size_t row = 0; rc == 0 && row < h.rows; row++)
        if (replay_row(b, &h, row, ch, &st))
            rc = 2;
    st.total_ms = now_ms() - t0;
    if (rc == 0) {
        qsort(st.lat, st.steps, sizeof(double), cmp_d);
        printf("replay %s: %zu configurations x %zu choices; %zu steps (configure calls) in "
               "%.2f s\n", path, h.rows, h.nvars, st.steps, st.total_ms / 1e3);
        printf("violations (a sold choice excluded): %zu; inconsistent prefixes: %zu\n",
               st.violations, st.inconsistent);
        printf("complete after the last choice: %zu of %zu; variables left open:", h.rows -
               st.incomplete, h.rows);
        size_t nopen = 0;
        for (size_t v = 0; v < solver_var_count(b->model); v++)
            if (st.undecided[v] && nopen++ < 12)
                printf(" %s (%zu)", solver_var_at(b->model, v)->path, st.undecided[v]);
        printf("%s%s\n", nopen > 12 ? " ..." : nopen ? "" : " none",
               nopen ? " -- none recorded by the history" : "");
        printf("latency per step: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms, "
               "mean %.3f ms\n", pct(st.lat, st.steps, 50), pct(st.lat, st.steps, 95),
               pct(st.lat, st.steps, 99), st.steps ? st.lat[st.steps - 1] : 0,
               st.steps ? st.total_ms / (double)st.steps : 0);
        printf("SAT calls per step: mean %.2f, max %zu; peak RSS %.1f MiB\n",
               st.steps ? (double)st.sat_calls / (double)st.steps : 0, st.max_sat,
               (double)status_kb("VmHWM:") / 1024.0);
        rc = st.violations || st.open_in_history || st.inconsistent ? 1 : 0;
    }
    free(st.lat);
    free(st.undecided);
    free(ch);
    free(h.vars);
    free(h.values);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_config CATALOG.yaml --replay HISTORY.txt [--limit N]\n"
                    "       bench_config CATALOG.yaml --root [--expect-singletons N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *replay = NULL;
    bool root = false;
    long expect = -1;
    size_t limit = SIZE_MAX;
    if (argc < 3)
        return usage();
    for (int i = 2; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "--replay") == 0 && more)
            replay = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && more)
            limit = strcmp(argv[++i], "all") == 0 ? SIZE_MAX : strtoul(argv[i], NULL, 10);
        else if (strcmp(argv[i], "--root") == 0)
            root = true;
        else if (strcmp(argv[i], "--expect-singletons") == 0 && more)
            expect = strtol(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (!replay == !root)
        return usage();
    printf("$");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    bench b = {0};
    int rc = bench_open(&b, argv[1]);
    if (rc == 0)
        rc = replay ? run_replay(&b, replay, limit) : run_root(&b, expect);
    bench_close(&b);
    return rc;
}
