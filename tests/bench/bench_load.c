/*
 * bench_load: time and memory of loading a catalog directory in-process.
 *   bench_load DIR [RULES_DIR] [RUNS]
 * Prints one line: files, products, best and median load time over RUNS,
 * snapshot bytes, and the process's peak resident memory (VmHWM) after the
 * runs, and resident memory with one snapshot held (VmRSS).
 */
#include "cpqd/cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_load DIR [RULES_DIR] [RUNS]\n");
        return 2;
    }
    const char *rules = argc > 2 && argv[2][0] ? argv[2] : NULL;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    long rss0 = status_kb("VmRSS:");
    double t[100];
    cat_snapshot *keep = NULL;
    for (int i = 0; i < runs; i++) {
        cpqd_errs *e = errs_new();
        double t0 = now_ms();
        cat_snapshot *s = cat_snapshot_load(argv[1], rules, e);
        t[i] = now_ms() - t0;
        if (!s) {
            char *m = errs_format(e, 0);
            fprintf(stderr, "load failed: %s\n", m ? m : "?");
            free(m);
            return 1;
        }
        errs_free(e);
        cat_snapshot_release(keep);
        keep = s;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_d);
    printf("load %s: %zu catalogs, %zu products; best %.1f ms, median %.1f ms over %d runs; "
           "snapshot %.1f MiB; RSS with snapshot %.1f MiB (+%.1f MiB); peak RSS %.1f MiB\n",
           argv[1], cat_snapshot_catalog_count(keep), cat_snapshot_product_count(keep), t[0],
           t[runs / 2], runs, (double)cat_snapshot_bytes(keep) / 1048576.0,
           (double)status_kb("VmRSS:") / 1024.0, (double)(status_kb("VmRSS:") - rss0) / 1024.0,
           (double)status_kb("VmHWM:") / 1024.0);
    cat_snapshot_release(keep);
    return 0;
}
