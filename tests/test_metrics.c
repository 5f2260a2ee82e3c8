/*
 * Unit tests of metrics (include/cpqd/metrics.h): histograms render
 * cumulative buckets, exact sums in seconds and counts; statuses outside
 * the usual set and route rows beyond the table share a series; commit
 * batch sizes; label values escaped; updates from many threads at once
 * all counted (no lock, no loss).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(const metrics_gauges *g)
{
    char *t = NULL;
    size_t n = 0;
    metrics_gauges none = {0};
    assert_int_equal(metrics_render(g ? g : &none, &t, &n), 0);
    assert_int_equal(strlen(t), n);
    return t;
}

/* The line "series value\n" is in t. */
static void has(const char *t, const char *series, const char *value)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s\n", series, value);
    if (!strstr(t, line))
        fail_msg("no line '%s'", line);
}

static int reset(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

/* 0.7 ms and 3 s: the buckets are cumulative, the sum exact. */
static void test_metrics_histogram_cumulative_exact_sum(void **state)
{
    (void)state;
    metrics_http_request(1, "GET", "/v1/x/{}", 200, 700000, 10);
    metrics_http_request(1, "GET", "/v1/x/{}", 200, 3000000000ull, 32);
    char *t = render(NULL);
    const char *l = "method=\"GET\",route=\"/v1/x/{}\",status=\"200\"";
    char s[256];
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_bucket{%s,le=\"0.0005\"}", l);
    has(t, s, "0");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_bucket{%s,le=\"0.001\"}", l);
    has(t, s, "1");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_bucket{%s,le=\"2.5\"}", l);
    has(t, s, "1");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_bucket{%s,le=\"5\"}", l);
    has(t, s, "2");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_bucket{%s,le=\"+Inf\"}", l);
    has(t, s, "2");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_sum{%s}", l);
    has(t, s, "3.000700000");
    snprintf(s, sizeof(s), "cpqd_http_request_duration_seconds_count{%s}", l);
    has(t, s, "2");
    snprintf(s, sizeof(s), "cpqd_http_requests_total{%s}", l);
    has(t, s, "2");
    snprintf(s, sizeof(s), "cpqd_http_response_bytes_total{%s}", l);
    has(t, s, "42");
    assert_non_null(strstr(t, "# TYPE cpqd_http_request_duration_seconds histogram\n"));
    free(t);
}

/* A status outside the usual set is "other"; a request no route served
 * is "(unmatched)"; rows beyond the table share "(other)". */
static void test_metrics_odd_statuses_and_routes(void **state)
{
    (void)state;
    metrics_http_request(2, "POST", "/v1/y", 418, 1000, 0);
    metrics_http_request(0, NULL, NULL, 404, 1000, 0);
    metrics_http_request(METRICS_ROUTES_MAX + 5, "GET", "/late", 200, 1000, 0);
    char *t = render(NULL);
    has(t, "cpqd_http_requests_total{method=\"POST\",route=\"/v1/y\",status=\"other\"}", "1");
    has(t, "cpqd_http_requests_total{method=\"\",route=\"(unmatched)\",status=\"404\"}", "1");
    assert_non_null(strstr(t, "status=\"200\"} 1\n"));
    free(t);
}

/* Commit batches: buckets by size, the sum the requests carried. */
static void test_metrics_commit_batches(void **state)
{
    (void)state;
    metrics_commit_batch(1);
    metrics_commit_batch(3);
    metrics_commit_batch(300);
    char *t = render(NULL);
    has(t, "cpqd_store_commit_batch_size_bucket{le=\"1\"}", "1");
    has(t, "cpqd_store_commit_batch_size_bucket{le=\"2\"}", "1");
    has(t, "cpqd_store_commit_batch_size_bucket{le=\"4\"}", "2");
    has(t, "cpqd_store_commit_batch_size_bucket{le=\"256\"}", "2");
    has(t, "cpqd_store_commit_batch_size_bucket{le=\"+Inf\"}", "3");
    has(t, "cpqd_store_commit_batch_size_sum", "304");
    has(t, "cpqd_store_commit_batch_size_count", "3");
    free(t);
}

/* Gauges come from the caller; a label value is escaped. */
static void test_metrics_gauges_and_escaping(void **state)
{
    (void)state;
    metrics_gauges g = {.version = "v\"1\\2\n", .loaded_at = 1796126400, .products = 174,
                        .catalogs = 6, .store_up = true, .outbox_pending = 3,
                        .outbox_failed = 1, .outbox_oldest_ms = 1500, .keys_on = true, .keys = 4,
                        .keys_revoked = 1};
    char *t = render(&g);
    has(t, "cpqd_catalog_info{version=\"v\\\"1\\\\2\\n\"}", "1");
    has(t, "cpqd_catalog_loaded_timestamp_seconds", "1796126400");
    has(t, "cpqd_catalog_products", "174");
    has(t, "cpqd_outbox_pending", "3");
    has(t, "cpqd_outbox_failed", "1");
    has(t, "cpqd_outbox_oldest_pending_age_seconds", "1.500000000");
    has(t, "cpqd_keys", "4");
    has(t, "cpqd_keys_revoked", "1");
    has(t, "cpqd_store_up", "1");
    free(t);
    metrics_gauges down = {.store_up = false};
    t = render(&down);
    has(t, "cpqd_store_up", "0");
    assert_null(strstr(t, "cpqd_outbox_pending"));
    assert_null(strstr(t, "cpqd_catalog_info"));
    free(t);
}

/* Rule outcomes and sweeps, by label. */
static void test_metrics_rules_and_sweeps(void **state)
{
    (void)state;
    metrics_rule(0, "ok", 2000);
    metrics_rule(2, "err_cpu", 50000000);
    metrics_sweep_run(true, 2);
    metrics_sweep_run(false, 0);
    metrics_outbox_attempt(METRICS_ATTEMPT_PARKED);
    char *t = render(NULL);
    has(t, "cpqd_rule_duration_seconds_count{outcome=\"ok\"}", "1");
    has(t, "cpqd_rule_duration_seconds_count{outcome=\"err_cpu\"}", "1");
    has(t, "cpqd_rule_duration_seconds_sum{outcome=\"err_cpu\"}", "0.050000000");
    has(t, "cpqd_sweep_runs_total{result=\"ok\"}", "1");
    has(t, "cpqd_sweep_runs_total{result=\"failed\"}", "1");
    has(t, "cpqd_sweep_items_failed_total", "2");
    has(t, "cpqd_outbox_attempts_total{result=\"parked\"}", "1");
    has(t, "cpqd_outbox_attempts_total{result=\"delivered\"}", "0");
    free(t);
}

#define NTHREADS 4
#define PER_THREAD 50000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_http_request(3, "GET", "/h", 200, (uint64_t)i, 1);
        metrics_commit_batch(1);
    }
    return NULL;
}

/* Four threads at once: every update counted. */
static void test_metrics_concurrent_updates_all_counted(void **state)
{
    (void)state;
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    char *t = render(NULL);
    char n[32];
    snprintf(n, sizeof(n), "%d", NTHREADS * PER_THREAD);
    has(t, "cpqd_http_requests_total{method=\"GET\",route=\"/h\",status=\"200\"}", n);
    has(t, "cpqd_http_response_bytes_total{method=\"GET\",route=\"/h\",status=\"200\"}", n);
    has(t, "cpqd_store_commit_batch_size_count", n);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_metrics_histogram_cumulative_exact_sum, reset),
        cmocka_unit_test_setup(test_metrics_odd_statuses_and_routes, reset),
        cmocka_unit_test_setup(test_metrics_commit_batches, reset),
        cmocka_unit_test_setup(test_metrics_gauges_and_escaping, reset),
        cmocka_unit_test_setup(test_metrics_rules_and_sweeps, reset),
        cmocka_unit_test_setup(test_metrics_concurrent_updates_all_counted, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
