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
 *   bench_config CATALOG.yaml --walk SESSIONS --steps K [--seed S]
 *       Random interactive sessions from the root: at each step the valid
 *       domains are computed (states only), then a variable that still has
 *       a possible value (neither selected, implied nor excluded) is drawn
 *       uniformly, and one of its possible values uniformly; K choices per
 *       session or until the configuration is complete. Each session makes
 *       K + 1 configure calls (the first, with no choice, is the root).
 *       Deterministic given S (default 7): the choices digest printed is
 *       the same on every run. Prints the same figures as --replay.
 *
 *   ... --http PORT --product SKU   (with --replay or --walk)
 *       After the in-process run, sends the same steps (the same choice
 *       prefixes) as POST /v1/configure requests, "explain": "none", over
 *       one keep-alive connection to a `cpqd serve` on 127.0.0.1:PORT
 *       serving CATALOG.yaml (plain sockets, 10 s send/receive timeouts):
 *       per-request latency (request written to body read), non-200
 *       answers, and violations: a next choice the JSON answer says is
 *       "excluded" (or a prefix it says is inconsistent).
 *
 *   bench_config CATALOG.yaml --root [--expect-singletons N]
 *       Valid domains with no choice: values, valid values, variables with
 *       a single valid value (= core + dead features of a feature model),
 *       time and SAT calls.
 *
 * Exit status: 0; 1 when a replay has a violation, an inconsistent prefix
 * or leaves a recorded variable open, a walk meets an inconsistent prefix,
 * the HTTP pass has a non-200 answer or a violation, or --expect-singletons
 * does not match; 2 on bad usage, a connection failure
 * or input (message with file:line).
 */
#include "cpqd/cat.h"
#include "cpqd/hash.h"
#include "cpqd/solver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <errno.h>
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

/* ---- sessions: the choice sequences of a run, for the HTTP pass ---- */

typedef struct sessions {
    solver_choice *ch; /* every choice, session after session */
    size_t *start;     /* session i is ch[start[i] .. start[i + 1]) */
    size_t n, nch, chcap, startcap;
} sessions;

static int sessions_add(sessions *s, const solver_choice *ch, size_t n)
{
    if (s->n + 2 > s->startcap) {
        size_t cap = s->startcap ? s->startcap * 2 : 256;
        size_t *st = realloc(s->start, cap * sizeof(size_t));
        if (!st)
            return -1;
        s->start = st;
        s->startcap = cap;
        if (s->n == 0)
            s->start[0] = 0;
    }
    if (s->nch + n > s->chcap) {
        size_t cap = s->chcap ? s->chcap : 1024;
        while (cap < s->nch + n)
            cap *= 2;
        solver_choice *c = realloc(s->ch, cap * sizeof(*c));
        if (!c)
            return -1;
        s->ch = c;
        s->chcap = cap;
    }
    if (n)
        memcpy(s->ch + s->nch, ch, n * sizeof(*ch));
    s->nch += n;
    s->start[++s->n] = s->nch;
    return 0;
}

static void sessions_free(sessions *s)
{
    free(s->ch);
    free(s->start);
}

static void print_latency(const char *what, double *lat, size_t n, double total_ms)
{
    qsort(lat, n, sizeof(double), cmp_d);
    printf("latency per %s: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms, mean %.3f ms\n",
           what, pct(lat, n, 50), pct(lat, n, 95), pct(lat, n, 99), n ? lat[n - 1] : 0,
           n ? total_ms / (double)n : 0);
}

static int run_replay(bench *b, const char *path, size_t limit, sessions *out)
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
    for (size_t row = 0; rc == 0 && out && row < h.rows; row++) {
        for (size_t k = 0; k < h.nvars; k++)
            ch[k] = (solver_choice){.var = h.vars[k], .value = h.values[row * h.nvars + k]};
        if (sessions_add(out, ch, h.nvars))
            rc = 2;
    }
    if (rc == 0) {
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
        print_latency("step", st.lat, st.steps, st.total_ms);
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

/* ---- --walk ---- */

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (rejection: no modulo bias). */
static size_t rng_below(uint64_t *s, size_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = rng_next(s);
    while (x >= lim);
    return (size_t)(x % n);
}

static int run_walk(bench *b, size_t nsess, size_t k, uint64_t seed, sessions *out)
{
    size_t nv = solver_var_count(b->model), maxval = 1, nsteps;
    for (size_t v = 0; v < nv; v++)
        if (solver_var_at(b->model, v)->nvalues > maxval)
            maxval = solver_var_at(b->model, v)->nvalues;
    replay_stats st = {0};
    solver_choice *ch = calloc(k + 1, sizeof(*ch));
    size_t *und = malloc((nv + 1) * sizeof(size_t)), *vals = malloc(maxval * sizeof(size_t));
    if (__builtin_mul_overflow(nsess, k + 1, &nsteps) || !ch || !und || !vals ||
        !(st.lat = malloc((nsteps ? nsteps : 1) * sizeof(double)))) {
        free(ch), free(und), free(vals), free(st.lat);
        fprintf(stderr, "bench_config: out of memory\n");
        return 2;
    }
    uint64_t rng = seed, digest = HASH_FNV1A64_BASIS; /* FNV-1a of the choices */
    size_t complete = 0, choices = 0;
    double first = 0, t0 = now_ms();
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < nsess; s++) {
        size_t n = 0;
        for (;;) {
            solver_result r;
            if (step(b, ch, n, &st, &r) != 0) {
                rc = 2;
                break;
            }
            if (st.steps == 1)
                first = st.lat[0];
            if (!r.consistent) { /* cannot happen: every choice was possible */
                st.inconsistent++;
                solver_result_fini(&r);
                break;
            }
            size_t nund = 0;
            for (size_t v = 0; v < r.nvars; v++)
                for (size_t x = 0; x < r.nvalues[v]; x++)
                    if (r.values[v][x].state == SOLVER_POSSIBLE) {
                        und[nund++] = v;
                        break;
                    }
            if (r.complete || nund == 0)
                complete++;
            if (r.complete || nund == 0 || n == k) {
                solver_result_fini(&r);
                break;
            }
            size_t v = und[rng_below(&rng, nund)], nval = 0;
            for (size_t x = 0; x < r.nvalues[v]; x++)
                if (r.values[v][x].state == SOLVER_POSSIBLE)
                    vals[nval++] = x;
            size_t x = vals[rng_below(&rng, nval)];
            solver_result_fini(&r);
            ch[n++] = (solver_choice){.var = v, .value = x};
            uint64_t pair[2] = {v, x};
            digest = hash_fnv1a64_add(digest, pair, sizeof(pair));
        }
        choices += n;
        if (rc == 0 && out && sessions_add(out, ch, n))
            rc = 2;
    }
    st.total_ms = now_ms() - t0;
    if (rc == 0) {
        printf("walk: %zu sessions of up to %zu choices, seed %llu; %zu choices, %zu steps "
               "(configure calls, the root included) in %.2f s; complete: %zu of %zu; "
               "choices digest %016llx\n",
               nsess, k, (unsigned long long)seed, choices, st.steps, st.total_ms / 1e3,
               complete, nsess, (unsigned long long)digest);
        printf("first (cold) step: %.3f ms; inconsistent prefixes: %zu\n", first,
               st.inconsistent);
        print_latency("step", st.lat, st.steps, st.total_ms);
        printf("SAT calls per step: mean %.2f, max %zu; peak RSS %.1f MiB\n",
               st.steps ? (double)st.sat_calls / (double)st.steps : 0, st.max_sat,
               (double)status_kb("VmHWM:") / 1024.0);
        rc = st.inconsistent ? 1 : 0;
    }
    free(st.lat);
    free(ch);
    free(und);
    free(vals);
    return rc;
}

/* ---- --http: the same steps over POST /v1/configure ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* s as a JSON string, quotes included. */
static void sb_json(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[8];
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            sb_add(b, e, 2);
        } else if (c < 0x20) {
            snprintf(e, sizeof(e), "\\u%04x", c);
            sb_add(b, e, 6);
        } else {
            sb_add(b, s, 1);
        }
    }
    sb_add(b, "\"", 1);
}

typedef struct conn {
    int fd, port;
    sbuf in; /* received, not yet consumed */
    size_t connects;
} conn;

static int conn_open(conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    struct timeval tv = {.tv_sec = 10};
    int one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->in.len = 0;
    if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    /* SO_SNDTIMEO also bounds connect() on Linux */
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
        connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->connects++;
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static const char *find_ci(const char *h, const char *end, const char *key)
{
    size_t n = strlen(key);
    for (; h + n <= end; h++)
        if (strncasecmp(h, key, n) == 0)
            return h;
    return NULL;
}

/* Sends req, reads one response (Content-Length framed). *status, and the
 * body at c->in.p[*body .. *body + *blen) until the next call. -1 on a
 * socket error, timeout or malformed response (message printed). */
static int conn_post(conn *c, const sbuf *req, int *status, size_t *body, size_t *blen)
{
    for (size_t off = 0; off < req->len;) {
        ssize_t w = send(c->fd, req->p + off, req->len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            fprintf(stderr, "bench_config: send: %s\n", w < 0 ? strerror(errno) : "closed");
            return -1;
        }
        off += (size_t)w;
    }
    size_t hend = 0, need = SIZE_MAX;
    for (;;) {
        if (hend == 0 && c->in.len >= 4) {
            char *e = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
            if (e) {
                hend = (size_t)(e - c->in.p) + 4;
                const char *cl = find_ci(c->in.p, e, "\r\nContent-Length:");
                if (strncmp(c->in.p, "HTTP/1.", 7) != 0 || c->in.len < 12 || !cl) {
                    fprintf(stderr, "bench_config: malformed response (no status line or "
                                    "Content-Length)\n");
                    return -1;
                }
                *status = atoi(c->in.p + 9);
                need = hend + strtoul(cl + 17, NULL, 10);
            }
        }
        if (hend && c->in.len >= need)
            break;
        char tmp[65536];
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
        if (r <= 0) {
            fprintf(stderr, "bench_config: recv: %s\n",
                    r < 0 ? (errno == EAGAIN || errno == EWOULDBLOCK ? "timeout (10 s)"
                                                                     : strerror(errno))
                          : "connection closed by the server");
            return -1;
        }
        sb_add(&c->in, tmp, (size_t)r);
        if (c->in.oom)
            return -1;
    }
    *body = hend;
    *blen = need - hend;
    return 0;
}

/* After a response of hend + blen bytes: drop it from the input buffer;
 * closes the connection when the server asked to. */
static void conn_consume(conn *c, size_t hend, size_t blen)
{
    bool close_it = find_ci(c->in.p, c->in.p + hend, "\r\nConnection: close") != NULL;
    size_t used = hend + blen;
    memmove(c->in.p, c->in.p + used, c->in.len - used);
    c->in.len -= used;
    if (close_it)
        conn_close(c);
}

/* State of value x of variable v in a compact /v1/configure answer, or
 * NULL when it is not found. */
static const char *json_state(const bench *b, const char *json, size_t len, size_t v, size_t x,
                              size_t *slen)
{
    const solver_var *sv = solver_var_at(b->model, v);
    const char *end = json + len;
    sbuf key = {0};
    const char *p = memmem(json, len, "\"variables\":[", 13), *q = NULL, *state = NULL;
    sb_str(&key, "{\"path\":");
    sb_json(&key, sv->path);
    sb_str(&key, ",");
    if (p && !key.oom)
        p = memmem(p, (size_t)(end - p), key.p, key.len);
    if (p) { /* this variable's entry ends at the next one, or at the bom */
        q = memmem(p + key.len, (size_t)(end - p - (ptrdiff_t)key.len), "{\"path\":", 8);
        q = q ? q : end;
        key.len = 0;
        sb_str(&key, "{\"value\":");
        sb_json(&key, sv->values[x]);
        sb_str(&key, ",\"state\":\"");
        state = key.oom ? NULL : memmem(p, (size_t)(q - p), key.p, key.len);
    }
    if (state) {
        state += key.len;
        const char *e = memchr(state, '"', (size_t)(end - state));
        *slen = e ? (size_t)(e - state) : 0;
    }
    free(key.p);
    return state;
}

static int run_http(bench *b, const sessions *ss, int port, const char *sku)
{
    conn c = {.fd = -1, .port = port};
    sbuf req = {0}, body = {0};
    size_t nsteps = ss->nch + ss->n, nlat = 0, non200 = 0, violations = 0, missing = 0;
    size_t bytes = 0;
    double *lat = malloc((nsteps ? nsteps : 1) * sizeof(double)), t0 = now_ms();
    char hdr[256];
    int rc = lat ? 0 : 2;
    if (rc == 0 && conn_open(&c)) {
        fprintf(stderr, "bench_config: cannot connect to 127.0.0.1:%d: %s\n", port,
                strerror(errno));
        rc = 2;
    }
    for (size_t s = 0; rc == 0 && s < ss->n; s++) {
        const solver_choice *ch = ss->ch + ss->start[s];
        size_t n = ss->start[s + 1] - ss->start[s];
        for (size_t k = 0; rc == 0 && k <= n; k++) {
            body.len = 0;
            sb_str(&body, "{\"product\":");
            sb_json(&body, sku);
            sb_str(&body, ",\"explain\":\"none\",\"choices\":[");
            for (size_t i = 0; i < k; i++) {
                const solver_var *sv = solver_var_at(b->model, ch[i].var);
                sb_str(&body, i ? ",{\"path\":" : "{\"path\":");
                sb_json(&body, sv->path);
                sb_str(&body, ",\"value\":");
                sb_json(&body, sv->values[ch[i].value]);
                sb_str(&body, "}");
            }
            sb_str(&body, "]}");
            snprintf(hdr, sizeof(hdr),
                     "POST /v1/configure HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     port, body.len);
            req.len = 0;
            sb_str(&req, hdr);
            sb_add(&req, body.p ? body.p : "", body.len);
            if (req.oom || body.oom) {
                rc = 2;
                break;
            }
            if (c.fd < 0 && conn_open(&c)) {
                fprintf(stderr, "bench_config: cannot reconnect: %s\n", strerror(errno));
                rc = 2;
                break;
            }
            int status = 0;
            size_t off, blen;
            double a = now_ms();
            if (conn_post(&c, &req, &status, &off, &blen)) {
                rc = 2;
                break;
            }
            lat[nlat++] = now_ms() - a;
            bytes += blen;
            const char *json = c.in.p + off;
            if (status != 200) {
                if (non200++ < 5)
                    printf("HTTP %d: session %zu, step %zu: %.200s\n", status, s + 1, k,
                           json);
            } else if (memmem(json, blen, "\"consistent\":false", 18)) {
                if (violations++ < 5)
                    printf("VIOLATION: session %zu, prefix of %zu choices is inconsistent\n",
                           s + 1, k);
            } else if (k < n) {
                size_t slen = 0;
                const char *st = json_state(b, json, blen, ch[k].var, ch[k].value, &slen);
                if (!st) {
                    if (missing++ < 5)
                        printf("MISSING: session %zu, step %zu: %s = %s not in the answer\n",
                               s + 1, k, solver_var_at(b->model, ch[k].var)->path,
                               solver_var_at(b->model, ch[k].var)->values[ch[k].value]);
                } else if (slen == 8 && memcmp(st, "excluded", 8) == 0 && violations++ < 5) {
                    printf("VIOLATION: session %zu, choice %zu (%s = %s) is excluded\n", s + 1,
                           k + 1, solver_var_at(b->model, ch[k].var)->path,
                           solver_var_at(b->model, ch[k].var)->values[ch[k].value]);
                }
            }
            conn_consume(&c, off, blen);
        }
    }
    double total = now_ms() - t0;
    if (rc == 0) {
        printf("HTTP POST /v1/configure (explain none) to 127.0.0.1:%d, product %s: %zu "
               "requests over %zu connection%s in %.2f s; mean answer %.1f KiB\n",
               port, sku, nlat, c.connects, c.connects == 1 ? "" : "s", total / 1e3,
               nlat ? (double)bytes / (double)nlat / 1024.0 : 0);
        printf("non-200: %zu; violations (next choice excluded, or inconsistent): %zu; "
               "choices not found in the answer: %zu\n", non200, violations, missing);
        print_latency("request", lat, nlat, total);
        rc = non200 || violations || missing ? 1 : 0;
    }
    conn_close(&c);
    free(c.in.p);
    free(req.p);
    free(body.p);
    free(lat);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_config CATALOG.yaml --replay HISTORY.txt [--limit N] [HTTP]\n"
            "       bench_config CATALOG.yaml --walk SESSIONS --steps K [--seed S] [HTTP]\n"
            "       bench_config CATALOG.yaml --root [--expect-singletons N]\n"
            "  HTTP: --http PORT --product SKU (a cpqd serve on 127.0.0.1:PORT)\n");
    return 2;
}

static bool num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || v > max || *s == '-')
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    const char *replay = NULL, *sku = NULL;
    bool root = false, walk = false, steps_set = false;
    long expect = -1;
    size_t limit = SIZE_MAX;
    unsigned long long nsess = 0, steps = 0, seed = 7, port = 0;
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
        else if (strcmp(argv[i], "--walk") == 0 && more && num(argv[i + 1], 1000000, &nsess))
            walk = true, i++;
        else if (strcmp(argv[i], "--steps") == 0 && more && num(argv[i + 1], 100000, &steps))
            steps_set = true, i++;
        else if (strcmp(argv[i], "--seed") == 0 && more && num(argv[i + 1], UINT64_MAX, &seed))
            i++;
        else if (strcmp(argv[i], "--http") == 0 && more && num(argv[i + 1], 65535, &port) &&
                 port > 0)
            i++;
        else if (strcmp(argv[i], "--product") == 0 && more)
            sku = argv[++i];
        else
            return usage();
    }
    if ((replay != NULL) + root + walk != 1 || walk != steps_set || !port != !sku ||
        (port && root))
        return usage();
    printf("$");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    bench b = {0};
    sessions ss = {0};
    int rc = bench_open(&b, argv[1]);
    if (rc == 0)
        rc = replay ? run_replay(&b, replay, limit, port ? &ss : NULL)
             : walk ? run_walk(&b, (size_t)nsess, (size_t)steps, (uint64_t)seed,
                               port ? &ss : NULL)
                    : run_root(&b, expect);
    if (port && rc != 2) {
        int hrc = run_http(&b, &ss, (int)port, sku);
        rc = hrc > rc ? hrc : rc;
    }
    sessions_free(&ss);
    bench_close(&b);
    return rc;
}
