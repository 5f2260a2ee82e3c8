/*
 * bench_price: the pricing engine in-process, and one Lua rule evaluation
 * in the sandbox against a bare lua_pcall.
 *
 *   bench_price CATALOG_DIR RULES_DIR [--write DIR]
 *
 * Requests of 1, 20, 1,000 and 10,000 lines on the appliances sample
 * catalog, on a date where formulas (carry-up fee, AC pipe surcharge),
 * adders, requested discounts and promotions (Singles' Day with its limit
 * rule, the new-home coupon with its limit rule, the exclusive kitchen
 * bundle) are all active. Each request is parsed from JSON, priced and
 * rendered to JSON, as the HTTP handler does. --write DIR also writes the
 * request bodies (price-N.json) for the HTTP benchmark in bench.sh.
 * Prints best and median per request and per line, the medians of the
 * three parts, rule results run and reused (one worker prices every run,
 * as a server worker does: results of the same rule on the same input
 * are reused, price_rcache.c), the first 10,000-line request of a fresh
 * worker, and peak RSS.
 */
#include "cpqd/file.h"
#include "cpqd/price.h"
#include "cpqd/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One line of the mix (cycled). */
static const char *const mix[] = {
    "{\"sku\":\"APL-FRG-CROSS\",\"quantity\":\"2\",\"attributes\":{\"colour\":\"white\","
    "\"fridge_volume\":\"v520\",\"delivery_floor\":7},\"discount\":\"5\"}",
    "{\"sku\":\"APL-WSH-DRUM\",\"quantity\":\"1\",\"attributes\":{\"wash_load\":\"kg12\","
    "\"delivery_floor\":5}}",
    "{\"sku\":\"APL-KTL-17\",\"quantity\":\"3\"}",
    "{\"sku\":\"APL-HOOD-T\",\"quantity\":\"1\"}",
    "{\"sku\":\"APL-HOB-GAS\",\"quantity\":\"1\",\"discount\":\"8\"}",
    "{\"sku\":\"APL-DSH-13\",\"quantity\":\"1\"}",
    "{\"sku\":\"APL-FRG-MINI\",\"quantity\":\"4\",\"attributes\":{\"colour\":\"black\"}}",
    "{\"sku\":\"APL-WD-COMBO\",\"quantity\":\"1\",\"attributes\":{\"delivery_floor\":12},"
    "\"discount\":\"12\"}",
};
#define NMIX (sizeof(mix) / sizeof(mix[0]))

static char *request(size_t n)
{
    size_t cap = 512 + n * 200, len = 0;
    char *b = malloc(cap);
    if (!b)
        exit(1);
    len += (size_t)snprintf(b + len, cap - len,
                            "{\"customer\":{\"id\":\"C-42\",\"segment\":\"consumer\"},"
                            "\"channel\":\"online\",\"currency\":\"CNY\",\"date\":\"2026-11-05\","
                            "\"coupons\":[\"NEWHOME-2026\"],\"lines\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s%s", i ? "," : "", mix[i % NMIX]);
    snprintf(b + len, cap - len, "]}");
    return b;
}

static void bench_lines(const cat_snapshot *s, price_worker *w, price_store *st, size_t n,
                        const char *write_dir)
{
    char *body = request(n);
    if (write_dir) {
        char path[512];
        snprintf(path, sizeof(path), "%s/price-%zu.json", write_dir, n);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(body, f);
            fclose(f);
        }
    }
    size_t reps = n >= 10000 ? 15 : n >= 1000 ? 60 : n >= 20 ? 2000 : 5000;
    if (n >= 10000) {
        /* the first request of a fresh worker: every distinct rule input
         * runs (results are reused within the request only) */
        price_worker *fresh = price_worker_new();
        cpqd_errs *e = errs_new();
        price_req_buf *buf;
        price_request *rq;
        price_result res;
        double t0 = now_s();
        int rc = price_json_parse(body, strlen(body), &buf, &rq, e);
        if (rc == 0) {
            rq->role = "rep";
            rc = price_compute(fresh, s, st, rq, &res, e);
        }
        if (rc != 0 || !fresh) {
            fprintf(stderr, "bench_price: %zu lines failed on a fresh worker\n", n);
            exit(1);
        }
        char *text = price_json_render(&res, s, false);
        double t = now_s() - t0;
        printf("%6zu lines, first request of a fresh worker: %.3f ms (%zu rule evals + %zu "
               "reused)\n",
               n, t * 1e3, res.rule_evals, res.rule_reused);
        free(text);
        price_result_fini(&res);
        price_req_buf_free(buf);
        errs_free(e);
        price_worker_free(fresh);
    }
    double *t = malloc(reps * sizeof(double));
    double *tp = malloc(reps * sizeof(double)), *tc = malloc(reps * sizeof(double));
    size_t out_bytes = 0, evals = 0, reused = 0, promos = 0;
    for (size_t r = 0; r < reps; r++) {
        cpqd_errs *e = errs_new();
        price_req_buf *buf;
        price_request *rq;
        price_result res;
        double t0 = now_s();
        int rc = price_json_parse(body, strlen(body), &buf, &rq, e);
        double t1 = now_s(), t2 = t1;
        if (rc == 0) {
            rq->role = "rep";
            rc = price_compute(w, s, st, rq, &res, e);
            t2 = now_s();
        }
        tp[r] = t1 - t0;
        tc[r] = t2 - t1;
        if (rc != 0) {
            char *m = errs_count(e) ? errs_format(e, 0) : NULL;
            fprintf(stderr, "bench_price: %zu lines failed: %s\n", n, m ? m : "?");
            exit(1);
        }
        char *text = price_json_render(&res, s, false);
        t[r] = now_s() - t0;
        out_bytes = text ? strlen(text) : 0;
        evals = res.rule_evals;
        reused = res.rule_reused;
        promos = 0;
        for (size_t i = 0; i < res.npromos; i++)
            promos += res.promos[i].applied;
        free(text);
        price_result_recycle(w, &res); /* as the server does */
        price_req_buf_free(buf);
        errs_free(e);
    }
    qsort(t, reps, sizeof(double), dbl_cmp);
    qsort(tp, reps, sizeof(double), dbl_cmp);
    qsort(tc, reps, sizeof(double), dbl_cmp);
    double best = t[0], med = t[reps / 2];
    printf("%6zu lines: best %9.3f ms  median %9.3f ms  per line %7.2f us  "
           "(%zu runs, %zu rule evals + %zu reused, %zu promotions applied, %zu KiB response)\n",
           n, best * 1e3, med * 1e3, med * 1e6 / (double)n, reps, evals, reused, promos,
           out_bytes >> 10);
    printf("%6zu lines, medians of the parts: parse %.3f ms, price %.3f ms, render %.3f ms\n", n,
           tp[reps / 2] * 1e3, tc[reps / 2] * 1e3, (med - tp[reps / 2] - tc[reps / 2]) * 1e3);
    free(tp);
    free(tc);
    free(t);
    free(body);
}

/* ---- one rule: sandbox vs bare lua_pcall ---- */

/* Bare Lua: dec() as a plain function returning its argument, so the rule
 * runs with floats-as-strings semantics; it measures the VM, not money. */
static int bare_dec(lua_State *L)
{
    lua_settop(L, 1);
    return 1;
}

static void bench_rule(const char *rules_dir)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/appliances/carry_up_fee.lua", rules_dir);
    char *src = NULL, why[FILE_WHY_MAX];
    if (file_read(path, (size_t)1 << 20, &src, &len, why) != 0) {
        fprintf(stderr, "bench_price: %s: %s\n", path, why);
        exit(1);
    }
    const size_t iters = 200000;
    /* sandbox */
    int err = 0;
    rules_state *st = rules_state_new(NULL, &err);
    rules_chunk *ch = NULL;
    if (!st || rules_compile(st, path, src, len, &ch, NULL) != 0) {
        fprintf(stderr, "bench_price: cannot compile %s\n", path);
        exit(1);
    }
    money_dec price;
    money_parse("6799.00", 7, &price);
    rules_field attrs[] = {{"delivery_floor", rules_value_int(7)}};
    rules_field ctx[] = {{"price", rules_value_dec(price)},
                         {"attributes", rules_value_table(attrs, 1)}};
    rules_field top[] = {{"ctx", rules_value_table(ctx, 2)}};
    rules_value in = rules_value_table(top, 1);
    rules_result *res = malloc(sizeof(*res));
    double t0 = now_s();
    for (size_t i = 0; i < iters; i++)
        if (rules_eval(st, ch, &in, RULES_ACCEPT_MONEY, res) != 0) {
            fprintf(stderr, "bench_price: rule failed: %s\n", res->msg);
            exit(1);
        }
    double sandbox = (now_s() - t0) / (double)iters;
    /* bare: a plain state, the same chunk, globals set natively, pcall */
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushcfunction(L, bare_dec);
    lua_setglobal(L, "dec");
    lua_pushcfunction(L, bare_dec);
    lua_setglobal(L, "isdec"); /* truthy for any argument: takes the decimal path */
    if (luaL_loadbuffer(L, src, len, "carry_up_fee") != LUA_OK) {
        fprintf(stderr, "bench_price: bare load failed\n");
        exit(1);
    }
    int fn = luaL_ref(L, LUA_REGISTRYINDEX);
    t0 = now_s();
    for (size_t i = 0; i < iters; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, 679900);
        lua_setfield(L, -2, "price");
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, 7);
        lua_setfield(L, -2, "delivery_floor");
        lua_setfield(L, -2, "attributes");
        lua_setglobal(L, "ctx");
        lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
            fprintf(stderr, "bench_price: bare pcall failed: %s\n", lua_tostring(L, -1));
            exit(1);
        }
        lua_pop(L, 1);
    }
    double bare = (now_s() - t0) / (double)iters;
    lua_close(L);
    printf("one formula evaluation (rules/appliances/carry_up_fee.lua, %zu runs): sandbox "
           "%.2f us, bare lua_pcall %.2f us (x%.1f: fresh environment, input conversion to "
           "exact decimals, budget hook, result checks)\n",
           iters, sandbox * 1e6, bare * 1e6, sandbox / bare);
    free(res);
    rules_chunk_free(ch);
    rules_state_free(st);
    free(src);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_price CATALOG_DIR RULES_DIR [--write DIR]\n");
        return 2;
    }
    const char *write_dir = argc >= 5 && !strcmp(argv[3], "--write") ? argv[4] : NULL;
    price_register();
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load(argv[1], argv[2], e);
    if (!s) {
        fprintf(stderr, "bench_price: catalogs did not load\n");
        return 1;
    }
    price_worker *w = price_worker_new();
    price_store *st = price_memstore_new();
    static const size_t sizes[] = {1, 20, 1000, 10000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        bench_lines(s, w, st, sizes[i], write_dir);
    bench_rule(argv[2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak resident memory: %ld MiB\n", ru.ru_maxrss >> 10);
    price_memstore_free(st);
    price_worker_free(w);
    cat_snapshot_release(s);
    errs_free(e);
    return 0;
}
