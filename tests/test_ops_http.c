/*
 * End-to-end tests of what an operator sees (docs/operations.md): GET
 * /metrics (who may read it, series per route pattern and status, the
 * domain series), GET /readyz (ready, and an outbox that is stuck), the
 * access log (one line per request, text or JSON, the request id, never a
 * secret), keys revoked and added without a restart (the key file
 * watched, SIGHUP, an invalid file keeps the keys in force), per-key
 * concurrency caps (429 with Retry-After), the progress of a large
 * catalog load, and the settings from a configuration file and the
 * environment (cpqd serve --config, cpqd config check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/money.h"
#include "cpqd/store.h"

#include <jansson.h>
#include <libgen.h>
#include <poll.h>

#include "contracts_fixture.h"

/* ---- helpers ---- */

/* GET /metrics as key k (-1: without a key); the text, or fails. */
static char *metrics(fx *f, int k, int *status)
{
    char hdr[512] = "";
    if (k >= 0)
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[k]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/metrics", hdr, NULL, 0, &r), 0);
    *status = r.status;
    char *text = strdup(r.body ? r.body : "");
    tu_resp_free(&r);
    return text;
}

static char *metrics_admin(fx *f)
{
    int st = 0;
    char *t = metrics(f, K_ADMIN, &st);
    assert_int_equal(st, 200);
    return t;
}

/* The value of series `name{labels}` (exactly as written) in text, or -1
 * if the series is absent. */
static long long series(const char *text, const char *s)
{
    size_t n = strlen(s);
    for (const char *at = strstr(text, s); at; at = strstr(at + 1, s))
        if ((at == text || at[-1] == '\n') && at[n] == ' ')
            return atoll(at + n + 1);
    return -1;
}

/* The server log as it is now. */
static char *log_now(fx *f)
{
    char *log = tu_read_file(f->logp, NULL);
    assert_non_null(log);
    return log;
}

/* The log lines containing needle, joined. */
static char *log_lines(const char *log, const char *needle)
{
    char *out = strdup("");
    for (const char *at = strstr(log, needle); at; at = strstr(at + 1, needle)) {
        const char *bol = at, *eol = strchr(at, '\n');
        while (bol > log && bol[-1] != '\n')
            bol--;
        char *o = tu_fmt("%s%.*s\n", out, (int)((eol ? eol : at + strlen(at)) - bol), bol);
        free(out);
        out = o;
        at = eol ? eol : at + strlen(at) - 1;
    }
    return out;
}

static const char price_body[] =
    "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}";

/* ---- GET /metrics ---- */

/* Only admin keys read /metrics by default: 401 without a key, 403 for
 * another role; the text is Prometheus' (text/plain; version=0.0.4). */
static void test_metrics_admin_only_by_default(void **state)
{
    fx *f = *state;
    int st = 0;
    char *t = metrics(f, -1, &st);
    assert_int_equal(st, 401);
    free(t);
    t = metrics(f, K_REP, &st);
    assert_int_equal(st, 403);
    free(t);
    tu_resp r;
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_ADMIN]);
    assert_int_equal(tu_http(f->s.port, "GET", "/metrics", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_non_null(tu_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE cpqd_http_requests_total counter\n"));
    assert_non_null(strstr(r.body, "# TYPE cpqd_http_request_duration_seconds histogram\n"));
    tu_resp_free(&r);
}

/* --metrics-access public opens it to anyone (a scraper on a private
 * network); nothing else changes. */
static void test_metrics_public_when_configured(void **state)
{
    fx *f = *state;
    const char *extra[] = {"--metrics-access", "public", NULL};
    restart_with(f, NULL, extra);
    int st = 0;
    char *t = metrics(f, -1, &st);
    assert_int_equal(st, 200);
    assert_true(series(t, "cpqd_store_up") == 1);
    free(t);
    json_t *j;
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/v1/catalog", &r), 0);
    assert_int_equal(r.status, 401); /* the API still needs keys */
    tu_resp_free(&r);
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 200);
    json_decref(j);
}

/* Requests are counted by route pattern and status, never by raw path;
 * the domain series move with the work done: a configure run, rule
 * evaluations, a quote's commit (one request per commit) and its event
 * pending in the outbox, a sweep. */
static void test_metrics_count_routes_and_work(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/CNC-5AX-650", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/APL-KTL-17", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/NO-SUCH-SKU", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/nowhere/at/all", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", "/v1/configure",
                          "{\"product\":\"CNC-5AX-650\",\"choices\":[]}", &j),
                     200);
    json_decref(j);
    char *t = metrics_admin(f);
    assert_int_equal(series(t, "cpqd_http_requests_total{method=\"GET\",route=\"/v1/products/{}\","
                               "status=\"200\"}"),
                     2);
    assert_int_equal(series(t, "cpqd_http_requests_total{method=\"GET\",route=\"/v1/products/{}\","
                               "status=\"404\"}"),
                     1);
    assert_int_equal(series(t, "cpqd_http_requests_total{method=\"\",route=\"(unmatched)\","
                               "status=\"404\"}"),
                     1);
    assert_null(strstr(t, "CNC-5AX-650"));
    assert_null(strstr(t, "nowhere"));
    assert_int_equal(series(t, "cpqd_http_request_duration_seconds_count{method=\"GET\","
                               "route=\"/v1/products/{}\",status=\"200\"}"),
                     2);
    assert_int_equal(series(t, "cpqd_http_request_duration_seconds_bucket{method=\"GET\","
                               "route=\"/v1/products/{}\",status=\"200\",le=\"+Inf\"}"),
                     2);
    assert_int_equal(series(t, "cpqd_solver_duration_seconds_count{result=\"ok\"}"), 1);
    long long rules_before = series(t, "cpqd_rule_duration_seconds_count{outcome=\"ok\"}");
    long long batch_before = series(t, "cpqd_store_commit_batch_size_count");
    assert_int_equal(series(t, "cpqd_outbox_pending"), 0);
    assert_int_equal(series(t, "cpqd_catalog_products"), 174);
    assert_int_equal(series(t, "cpqd_catalogs"), 6);
    assert_int_equal(series(t, "cpqd_keys"), NKEYS);
    assert_int_equal(series(t, "cpqd_store_up"), 1);
    assert_int_equal(series(t, "cpqd_catalog_load_duration_seconds_count{result=\"ok\"}"), 1);
    free(t);
    /* the catalog version served, as /healthz says it */
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/healthz", &r), 0);
    json_t *h = json_loads(r.body, 0, NULL);
    char *info = tu_fmt("cpqd_catalog_info{version=\"%s\"}", js(h, "version"));
    json_decref(h);
    tu_resp_free(&r);
    /* a refrigerator's price runs the carry-up fee formula; the quote
     * commits once, with its event; the sweep commits once */
    assert_int_equal(call(f, K_REP, "POST", "/v1/price",
                          "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":"
                          "\"APL-FRG-CROSS\",\"quantity\":\"1\"}]}",
                          &j),
                     200);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", price_body, &j), 201);
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "POST", "/v1/receivables/sweep", "", &j), 200);
    json_decref(j);
    t = metrics_admin(f);
    assert_int_equal(series(t, info), 1);
    assert_true(series(t, "cpqd_rule_duration_seconds_count{outcome=\"ok\"}") > rules_before);
    /* two commits of one request each: the quote, the sweep */
    assert_int_equal(series(t, "cpqd_store_commit_batch_size_count"), batch_before + 2);
    assert_int_equal(series(t, "cpqd_store_commit_batch_size_bucket{le=\"1\"}"), batch_before + 2);
    assert_int_equal(series(t, "cpqd_store_commit_batch_size_sum"), batch_before + 2);
    assert_int_equal(series(t, "cpqd_outbox_pending"), 1);
    assert_int_equal(series(t, "cpqd_outbox_failed"), 0);
    assert_int_equal(series(t, "cpqd_sweep_runs_total{result=\"ok\"}"), 1);
    assert_int_equal(series(t, "cpqd_sweep_runs_total{result=\"failed\"}"), 0);
    assert_int_equal(series(t, "cpqd_http_requests_total{method=\"POST\",route=\"/v1/quotes\","
                               "status=\"201\"}"),
                     1);
    assert_true(series(t, "cpqd_store_transaction_duration_seconds_count{outcome=\"commit\"}") >=
                1);
    free(info);
    free(t);
}

/* ---- GET /readyz ---- */

/* Ready: the catalog, the store and the outbox checks pass (no webhook:
 * delivery is off, pending events are the pull feed's). */
static void test_readyz_ready(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", price_body, &j), 201);
    json_decref(j);
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/readyz", &r), 0); /* no key needed */
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(js(j, "status"), "ready");
    json_t *c = json_object_get(j, "checks");
    assert_true(json_is_true(json_object_get(json_object_get(c, "catalog"), "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(c, "store"), "ok")));
    json_t *o = json_object_get(c, "outbox");
    assert_true(json_is_true(json_object_get(o, "ok")));
    assert_string_equal(js(o, "delivery"), "off");
    assert_int_equal(json_integer_value(json_object_get(o, "pending")), 1);
    json_decref(j);
    tu_resp_free(&r);
}

/* With --webhook, an event due longer than --outbox-stuck-after and not
 * delivered makes the service not ready (503, the check named); the
 * receiver here accepts connections and never answers, so the event
 * stays due while its attempt waits. */
static void test_readyz_outbox_stuck(void **state)
{
    fx *f = *state;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 16), 0); /* never accepted: no answer ever */
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    assert_int_equal(tu_write(f->dir, "secret", "whsec_test\n"), 0);
    char *url = tu_fmt("http://127.0.0.1:%d/hooks", ntohs(sa.sin_port));
    char *secret = tu_fmt("%s/secret", f->dir);
    const char *extra[] = {"--webhook", url, "--webhook-secret", secret, "--outbox-stuck-after",
                           "60", NULL};
    restart_with(f, NULL, extra);
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", price_body, &j), 201);
    json_decref(j);
    /* the delivery thread has claimed the event and connected (bounded:
     * 30 s); its attempt now waits for an answer that never comes */
    struct pollfd pl = {.fd = ls, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 30000), 1);
    /* the event has been due since long ago (as after a hang) */
    store *st = NULL;
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    int64_t n = 0;
    assert_int_equal(store_debug_exec(st, "UPDATE outbox SET next_attempt_at = "
                                          "'2000-01-01T00:00:00.000Z'", &n),
                     0);
    assert_int_equal(n, 1);
    store_close(st);
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/readyz", &r), 0);
    assert_int_equal(r.status, 503);
    j = json_loads(r.body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(js(e, "code"), "unavailable");
    assert_non_null(strstr(js(e, "message"), "not ready: stuck: an event has been due for "));
    json_t *d = json_array_get(json_object_get(e, "details"), 0);
    assert_string_equal(js(d, "check"), "outbox");
    assert_int_equal(json_array_size(json_object_get(e, "details")), 1);
    json_decref(j);
    tu_resp_free(&r);
    /* liveness is another question */
    assert_int_equal(tu_get(f->s.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    assert_int_equal(tu_server_stop(&f->s), 0);
    close(ls);
    free(url);
    free(secret);
}

/* ---- the access log ---- */

/* --log-format json: every line of the log is one JSON object; each
 * request's line carries its id (the caller's X-Request-Id, returned in
 * the reply), key id, role, partner, route pattern, status, bytes and
 * duration. An X-Request-Id that is not sane is replaced by a new one. */
static void test_access_log_json_with_request_id(void **state)
{
    fx *f = *state;
    const char *extra[] = {"--log-format", "json", NULL};
    restart_with(f, NULL, extra);
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nX-Request-Id: trace-42.a:b/c\r\n",
             f->key[K_PARTNER_A]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/v1/products/APL-KTL-17", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char id[160];
    assert_non_null(tu_header(&r, "X-Request-Id", id, sizeof(id)));
    assert_string_equal(id, "trace-42.a:b/c");
    size_t bytes = r.body_len;
    tu_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "X-Request-Id: has space\r\n");
    assert_int_equal(tu_http(f->s.port, "GET", "/healthz", hdr, NULL, 0, &r), 0);
    assert_non_null(tu_header(&r, "X-Request-Id", id, sizeof(id)));
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    tu_resp_free(&r);
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *log = log_now(f);
    size_t lines = 0;
    json_t *req = NULL, *health = NULL;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o)
            fail_msg("not a JSON line: %s (%s)", line, je.text);
        assert_non_null(json_string_value(json_object_get(o, "ts")));
        assert_non_null(json_string_value(json_object_get(o, "level")));
        const char *rid = json_string_value(json_object_get(o, "request_id"));
        if (rid && !strcmp(rid, "trace-42.a:b/c"))
            req = json_incref(o);
        if (rid && !strcmp(rid, id))
            health = json_incref(o);
        json_decref(o);
    }
    assert_true(lines > 3);
    assert_non_null(req);
    assert_string_equal(js(req, "msg"), "request");
    assert_string_equal(js(req, "level"), "info");
    assert_string_equal(js(req, "method"), "GET");
    assert_string_equal(js(req, "path"), "/v1/products/APL-KTL-17");
    assert_string_equal(js(req, "route"), "/v1/products/{}");
    assert_int_equal(json_integer_value(json_object_get(req, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(req, "bytes")), (json_int_t)bytes);
    assert_true(json_is_number(json_object_get(req, "duration_ms")));
    assert_string_equal(js(req, "role"), "partner");
    assert_string_equal(js(req, "partner"), "P-101");
    assert_true(strncmp(js(req, "key_id"), "k_", 2) == 0);
    assert_non_null(health);
    assert_true(json_is_null(json_object_get(health, "key_id")));
    assert_true(json_is_null(json_object_get(health, "role")));
    json_decref(req);
    json_decref(health);
    free(log);
}

/* No key, cookie or Authorization value reaches the log, in either
 * format, whatever the request: known, unknown and revoked keys, Basic
 * credentials, cookies, a key in the query string of an unknown route. */
static void test_secrets_never_logged(void **state)
{
    fx *f = *state;
    static const char *const formats[] = {"text", "json"};
    for (int k = 0; k < 2; k++) {
        const char *extra[] = {"--log-format", formats[k], NULL};
        restart_with(f, NULL, extra);
        char hdr[1024];
        tu_resp r;
        snprintf(hdr, sizeof(hdr),
                 "Authorization: Bearer %s\r\nCookie: session=SeCrEtCoOkIe-%d\r\n", f->key[K_REP],
                 k);
        assert_int_equal(tu_http(f->s.port, "GET", "/v1/catalog", hdr, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        tu_resp_free(&r);
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer cpqd_NotAKeyButSecretAnyway%d\r\n", k);
        assert_int_equal(tu_http(f->s.port, "GET", "/v1/catalog", hdr, NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        tu_resp_free(&r);
        snprintf(hdr, sizeof(hdr), "Authorization: Basic dXNlcjpQYXNzV29yZFNlY3JldA==\r\n");
        assert_int_equal(tu_http(f->s.port, "GET", "/metrics", hdr, NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        tu_resp_free(&r);
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_ADMIN]);
        assert_int_equal(tu_http(f->s.port, "POST", "/v1/price", hdr, price_body,
                                 strlen(price_body), &r),
                         0);
        assert_int_equal(r.status, 200);
        tu_resp_free(&r);
        assert_int_equal(tu_server_stop(&f->s), 0);
        char *log = log_now(f);
        assert_non_null(strstr(log, "/v1/catalog"));
        for (int i = 0; i < NKEYS; i++)
            assert_null(strstr(log, f->key[i]));
        assert_null(strstr(log, "cpqd_NotAKey"));
        assert_null(strstr(log, "SeCrEtCoOkIe"));
        assert_null(strstr(log, "dXNlcjpQYXNzV29yZFNlY3JldA"));
        assert_null(strstr(log, "PassWordSecret"));
        assert_null(strstr(log, "Bearer"));
        free(log);
        start_with(f, NULL, NULL);
    }
}

/* Text lines keep their head and end in the key id (docs/auth.md), with
 * the route, bytes, request id, role and partner before it. */
static void test_access_log_text_fields(void **state)
{
    fx *f = *state;
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nX-Request-Id: rid-7\r\n",
             f->key[K_REP]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/v1/products/APL-KTL-17", hdr, NULL, 0, &r), 0);
    size_t bytes = r.body_len;
    tu_resp_free(&r);
    assert_true(tu_log_wait(&f->s, " id rid-7 ", TU_WAIT_MS));
    char *log = log_now(f);
    char *line = log_lines(log, " id rid-7 ");
    char *want = tu_fmt(" GET /v1/products/APL-KTL-17 200 ");
    assert_non_null(strstr(line, want));
    free(want);
    want = tu_fmt(" route /v1/products/{} bytes %zu id rid-7 role rep partner - key k_", bytes);
    assert_non_null(strstr(line, want));
    assert_non_null(strstr(line, " INFO w"));
    free(want);
    free(line);
    free(log);
}

/* ---- keys without restarts ---- */

static int run_cpqd(const char *const *argv, char **out, char **err)
{
    *out = *err = NULL;
    return tu_run(argv, out, err);
}

/* `cpqd key revoke` takes effect at the next request (the key file is
 * watched); `cpqd key list` shows it revoked; a key made while the server
 * runs works at once. */
static void test_key_revoke_and_new_without_restart(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 200);
    json_decref(j);
    /* the rep's id, from the list */
    char *out, *err;
    const char *list[] = {"key", "list", "--keys", f->keys, NULL};
    assert_int_equal(run_cpqd(list, &out, &err), 0);
    assert_true(strncmp(out, "ID ", 3) == 0);
    assert_null(strstr(out, "sha256"));
    const char *at = strstr(out, "  rep  ");
    assert_non_null(at);
    const char *bol = at;
    while (bol > out && bol[-1] != '\n')
        bol--;
    char *id = strndup(bol, strcspn(bol, " "));
    free(out), free(err);
    const char *revoke[] = {"key", "revoke", "--keys", f->keys, id, NULL};
    assert_int_equal(run_cpqd(revoke, &out, &err), 0);
    assert_non_null(strstr(err, "revoked"));
    free(out), free(err);
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 401);
    char *msg = tu_fmt("API key %s was revoked on ", id);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), msg));
    free(msg);
    json_decref(j);
    assert_int_equal(call(f, K_MANAGER, "GET", "/v1/catalog", NULL, &j), 200); /* others work */
    json_decref(j);
    assert_int_equal(run_cpqd(list, &out, &err), 0);
    at = strstr(out, id);
    assert_non_null(at);
    char c_id[80], c_role[16], c_part[80], c_created[16], c_revoked[16];
    assert_int_equal(sscanf(at, "%79s %15s %79s %15s %15s", c_id, c_role, c_part, c_created,
                            c_revoked),
                     5);
    assert_string_equal(c_role, "rep");
    assert_int_equal(strlen(c_revoked), 10); /* a date: revoked */
    assert_int_equal(c_revoked[4], '-');
    free(out), free(err);
    /* revoking twice changes nothing; an unknown id is an error */
    assert_int_equal(run_cpqd(revoke, &out, &err), 0);
    assert_non_null(strstr(err, "already revoked"));
    free(out), free(err);
    const char *nope[] = {"key", "revoke", "--keys", f->keys, "k_nope", NULL};
    assert_int_equal(run_cpqd(nope, &out, &err), 1);
    assert_non_null(strstr(err, "no key with id 'k_nope'"));
    free(out), free(err);
    /* a new key, while the server runs */
    const char *mk[] = {"key", "new", "--keys", f->keys, "--role", "rep", NULL};
    assert_int_equal(run_cpqd(mk, &out, &err), 0);
    out[strcspn(out, "\n")] = '\0';
    snprintf(f->key[K_REP], sizeof(f->key[K_REP]), "%s", out);
    free(out), free(err);
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 200);
    json_decref(j);
    char *t = metrics_admin(f);
    assert_int_equal(series(t, "cpqd_keys"), NKEYS + 1);
    assert_int_equal(series(t, "cpqd_keys_revoked"), 1);
    assert_true(series(t, "cpqd_key_reloads_total{result=\"ok\"}") >= 2);
    free(t);
    free(id);
}

/* A key file that does not load (a broken edit) keeps the keys in force
 * and says why in the log; once valid again (here with SIGHUP too) it is
 * in force. */
static void test_invalid_key_file_keeps_keys(void **state)
{
    fx *f = *state;
    char *good = tu_read_file(f->keys, NULL);
    assert_non_null(good);
    char *bad = tu_fmt("%s  - id: k_broken\n    role: boss\n", good);
    assert_int_equal(tu_write(f->dir, "keys.yaml.new", bad), 0);
    char *tmp = tu_fmt("%s/keys.yaml.new", f->dir);
    assert_int_equal(rename(tmp, f->keys), 0);
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 200);
    json_decref(j);
    assert_true(tu_log_wait(&f->s, "invalid role 'boss'", TU_WAIT_MS));
    assert_true(tu_log_wait(&f->s, "keys read before stay in force", TU_WAIT_MS));
    char *t = metrics_admin(f);
    assert_int_equal(series(t, "cpqd_key_reloads_total{result=\"refused\"}"), 1);
    free(t);
    assert_int_equal(tu_write(f->dir, "keys.yaml.new", good), 0);
    assert_int_equal(rename(tmp, f->keys), 0);
    kill(f->s.pid, SIGHUP);
    assert_true(tu_log_wait(&f->s, "keys: reloaded: ", TU_WAIT_MS));
    assert_int_equal(call(f, K_REP, "GET", "/v1/catalog", NULL, &j), 200);
    json_decref(j);
    free(tmp);
    free(bad);
    free(good);
}

/* ---- concurrency caps ---- */

/* Adds fields (YAML lines) after the k-th entry's role line. */
static void key_fields(fx *f, int k, const char *fields)
{
    char *text = tu_read_file(f->keys, NULL);
    char *at = text;
    for (int i = 0; i <= k; i++) {
        at = strstr(at, "    role: ");
        assert_non_null(at);
        at += 1;
    }
    at = strchr(at, '\n') + 1;
    char *out = tu_fmt("%.*s%s%s", (int)(at - text), text, fields, at);
    assert_int_equal(tu_write(f->dir, "keys.yaml", out), 0);
    free(out);
    free(text);
}

/* A request of 20,000 lines whose answer (megabytes) the client does
 * not read, with request id rid; the connection is returned. */
static int big_price_unread(fx *f, int k, const char *rid)
{
    size_t cap = 20000 * 48 + 256, n = 0;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"customer\":{\"id\":\"C-1\"},\"lines\":[");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}",
                              i ? "," : "");
    n += (size_t)snprintf(body + n, cap - n, "]}");
    int fd = tu_connect_rcvbuf(f->s.port, 4096);
    assert_true(fd >= 0);
    char *head = tu_fmt("POST /v1/price HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                        "%s\r\nX-Request-Id: %s\r\nContent-Length: %zu\r\n\r\n",
                        f->key[k], rid, n);
    assert_int_equal(tu_send(fd, head, strlen(head)), 0);
    assert_int_equal(tu_send(fd, body, n), 0);
    free(head);
    free(body);
    return fd;
}

/* max_concurrent: a key's requests in answer, their replies still being
 * written included; one more is 429 with Retry-After and details, other
 * keys are not held up, and the slot comes back with the connection. */
static void test_concurrency_cap(void **state)
{
    fx *f = *state;
    key_fields(f, K_REP, "    max_concurrent: 1\n    max_lines: 20000\n");
    restart_with(f, NULL, NULL);
    /* the big answer is made (its line is logged once it is queued) and
     * stays unwritten: the client does not read it */
    int fd = big_price_unread(f, K_REP, "blocker-1");
    if (!tu_log_wait(&f->s, " POST /v1/price 200 ", 4 * TU_WAIT_MS) ||
        !tu_log_wait(&f->s, " id blocker-1 ", TU_WAIT_MS)) {
        tu_server_dump(&f->s);
        fail_msg("the big price was not answered");
    }
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_REP]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/price", hdr, price_body, strlen(price_body),
                             &r),
                     0);
    if (r.status != 429) {
        tu_server_dump(&f->s);
        fail_msg("%d while the big answer is unread, expected 429", r.status);
    }
    char ra[32];
    assert_non_null(tu_header(&r, "Retry-After", ra, sizeof(ra)));
    assert_string_equal(ra, "1");
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(js(e, "code"), "rate_limited");
    assert_non_null(strstr(js(e, "message"), "(max_concurrent)"));
    json_t *d = json_array_get(json_object_get(e, "details"), 0);
    assert_string_equal(js(d, "limit"), "max_concurrent");
    assert_int_equal(json_integer_value(json_object_get(d, "max")), 1);
    json_decref(j);
    tu_resp_free(&r);
    json_t *o;
    assert_int_equal(call(f, K_MANAGER, "POST", "/v1/price", price_body, &o), 200);
    json_decref(o);
    char *t = metrics_admin(f);
    assert_int_equal(series(t, "cpqd_http_refused_total{reason=\"concurrency\"}"), 1);
    free(t);
    close(fd); /* the connection closes: its slot comes back */
    int st = 0;
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (st != 200 && tu_now_ms() < deadline) {
        st = call(f, K_REP, "POST", "/v1/price", price_body, &o);
        json_decref(o);
        if (st != 200)
            tu_sleep_ms(20);
    }
    assert_int_equal(st, 200);
}

/* ---- a large catalog's load ---- */

/* The sample catalogs load quietly; a large one (here 5,000 generated
 * products, over 1 MiB) logs each step with the products so far. */
static void test_large_catalog_load_logs_progress(void **state)
{
    fx *f = *state;
    char *log = log_now(f);
    assert_null(strstr(log, "catalog load:"));
    free(log);
    char *bin = strdup(tu_bin());
    char *gencat = tu_fmt("%s/gencat", dirname(bin));
    char *cats = tu_fmt("%s/big", f->dir);
    assert_int_equal(mkdir(cats, 0755), 0);
    char *cmd = tu_fmt("'%s' 5000 --seed 3 > '%s/gen.yaml'", gencat, cats);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tu_server_stop(&f->s), 0);
    start_with(f, cats, NULL);
    log = log_now(f);
    assert_non_null(strstr(log, "INFO catalog load: 1 file, "));
    assert_non_null(strstr(log, "catalog load: file 1 of 1 read ("));
    assert_non_null(strstr(log, "/gen.yaml): 5000 products so far, "));
    assert_non_null(strstr(log, "catalog load: 5000 products indexed and linked, "));
    assert_non_null(strstr(log, "catalog load: building the price index and configurator models"));
    assert_non_null(strstr(log, "catalog load: done after "));
    free(log);
    free(cmd);
    free(cats);
    free(gencat);
    free(bin);
}

/* ---- configuration ---- */

/* A line of config check's table. */
static void assert_row(const char *out, const char *name, const char *value, const char *where)
{
    char *row = tu_fmt("%-24s %-40s %s\n", name, value, where);
    if (!strstr(out, row))
        fail_msg("no line '%s' in:\n%s", row, out);
    free(row);
}

/* One setting from each source: a flag beats the environment, which
 * beats the file, which beats the default; config check prints each with
 * its source and a database password as ***. */
static void test_config_precedence(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "cpqd.yaml",
                              "# settings of cpqd serve\n"
                              "catalogs: catalogs\n"
                              "listen: 127.0.0.1:8080\n"
                              "threads: 3\n"
                              "timeout: 7\n"
                              "sweep_every: 60\n"
                              "db: postgresql://cpqd:pa55word@db.example/cpqd\n"),
                     0);
    char *file = tu_fmt("%s/cpqd.yaml", f->dir);
    setenv("CPQD_THREADS", "5", 1);
    setenv("CPQD_TIMEOUT", "9", 1);
    const char *argv[] = {"config", "check", "--config", file, "--timeout", "11", NULL};
    char *out, *err;
    int st = run_cpqd(argv, &out, &err);
    unsetenv("CPQD_THREADS");
    unsetenv("CPQD_TIMEOUT");
    if (st != 0)
        fail_msg("config check: %d %s", st, err);
    char *where = tu_fmt("%s:3:9", file);
    assert_row(out, "listen", "127.0.0.1:8080", where);
    free(where);
    assert_row(out, "threads", "5", "env CPQD_THREADS");
    assert_row(out, "timeout", "11", "flag --timeout");
    where = tu_fmt("%s:6:14", file);
    assert_row(out, "sweep_every", "60", where);
    free(where);
    assert_row(out, "max_body", "1048576", "default");
    assert_row(out, "log_format", "text", "default");
    assert_non_null(strstr(out, "postgresql://cpqd:***@db.example/cpqd"));
    assert_null(strstr(out, "pa55word"));
    assert_null(strstr(err, "pa55word"));
    assert_non_null(strstr(err, "cpqd config check: ok"));
    free(out), free(err);
    free(file);
}

/* What is wrong in a file is reported at its line and column, every
 * problem at once; a bad value names its source; serve refuses to start
 * with such a file. */
static void test_config_errors(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "bad.yaml",
                              "catalogs: catalogs\n"
                              "listen: 127.0.0.1:0\n"
                              "thread: 2\n"
                              "log_format: [json]\n"),
                     0);
    char *file = tu_fmt("%s/bad.yaml", f->dir);
    const char *argv[] = {"config", "check", "--config", file, NULL};
    char *out, *err;
    assert_int_equal(run_cpqd(argv, &out, &err), 2);
    char *want = tu_fmt("%s:3:1: unknown setting 'thread' (the settings: catalogs, rules, listen, "
                        "threads, ",
                        file);
    assert_non_null(strstr(err, want));
    free(want);
    want = tu_fmt("%s:4:13: 'log_format' needs a value", file);
    assert_non_null(strstr(err, want));
    free(want);
    free(out), free(err);
    const char *serve[] = {"serve", "--config", file, NULL};
    assert_int_equal(run_cpqd(serve, &out, &err), 2);
    free(out), free(err);
    assert_int_equal(tu_write(f->dir, "bad.yaml",
                              "catalogs: catalogs\n"
                              "listen: 127.0.0.1:0\n"
                              "threads: many\n"),
                     0);
    assert_int_equal(run_cpqd(argv, &out, &err), 2);
    want = tu_fmt("%s:3:10: invalid threads 'many' (1 to 1024)", file);
    assert_non_null(strstr(err, want));
    free(want);
    free(out), free(err);
    setenv("CPQD_LOG_FORMAT", "xml", 1);
    const char *argv2[] = {"config", "check", "--catalogs", "catalogs", "--listen", "127.0.0.1:0",
                           NULL};
    assert_int_equal(run_cpqd(argv2, &out, &err), 2);
    unsetenv("CPQD_LOG_FORMAT");
    assert_non_null(strstr(err, "invalid CPQD_LOG_FORMAT 'xml' (text or json)"));
    free(out), free(err);
    free(file);
}

/* serve --config: the server runs on the file's settings (keys, log
 * format) under the flags given. */
static void test_serve_with_config_file(void **state)
{
    fx *f = *state;
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    char *text = tu_fmt("catalogs: %s\nrules: %s\nkeys: %s\ndb: %s\nlog_format: json\n"
                        "metrics_access: public\n",
                        cats, rules, f->keys, f->db);
    assert_int_equal(tu_write(f->dir, "serve.yaml", text), 0);
    char *file = tu_fmt("%s/serve.yaml", f->dir);
    assert_int_equal(tu_server_stop(&f->s), 0);
    free(f->logp);
    f->logp = tu_fmt("%s/cpqd-config.log", f->dir);
    const char *args[] = {"--config", file, NULL};
    assert_int_equal(tu_server_start(&f->s, f->logp, args), 0);
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/v1/catalog", &r), 0);
    assert_int_equal(r.status, 401); /* the file's keys */
    tu_resp_free(&r);
    assert_int_equal(tu_get(f->s.port, "/metrics", &r), 0);
    assert_int_equal(r.status, 200); /* metrics_access: public */
    tu_resp_free(&r);
    char *log = log_now(f);
    assert_non_null(strstr(log, "\"msg\":\"settings from "));
    assert_non_null(strstr(log, "\"msg\":\"request\""));
    free(log);
    free(file);
    free(text);
    free(cats);
    free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_metrics_admin_only_by_default),
        T(test_metrics_public_when_configured),
        T(test_metrics_count_routes_and_work),
        T(test_readyz_ready),
        T(test_readyz_outbox_stuck),
        T(test_access_log_json_with_request_id),
        T(test_secrets_never_logged),
        T(test_access_log_text_fields),
        T(test_key_revoke_and_new_without_restart),
        T(test_invalid_key_file_keeps_keys),
        T(test_concurrency_cap),
        T(test_large_catalog_load_logs_progress),
        T(test_config_precedence),
        T(test_config_errors),
        T(test_serve_with_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
