/*
 * End-to-end tests: start the real `cpqd serve` on a free loopback port
 * (tests/testutil.h) and exercise every route and every error: the
 * request/response cases in tests/data/e2e/cases.txt, versions and
 * hashes, UTF-8 round trips, keep-alive, libevent-level errors, body and
 * head limits, stalled clients, reload over HTTP and SIGHUP (broken
 * catalogs keep the old snapshot serving), SIGTERM draining in-flight
 * replies, startup failures, and the network edge: requests trickling in
 * past --timeout, declared oversize bodies, repeated single-value headers,
 * running out of file descriptors.
 *
 * Fixtures: tests/data/e2e/{catalogs,rules,reload}, copied into a fresh
 * temporary directory per server so that reload tests can change them.
 */
/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/digest.h"
#include "testutil.h"

#include "store_fixture.h"

#include <jansson.h>
#include <sys/resource.h>

/* ---- one server with its own copy of the fixtures ---- */

typedef struct e2e {
    char *dir;   /* temporary root */
    char *cats;  /* dir/catalogs */
    char *rules; /* dir/rules */
    char *logp;  /* dir/cpqd.log */
    char *db;    /* its --db (tu_db_location): SQLite in dir, or PostgreSQL */
    tu_server srv;
} e2e;

static e2e *e2e_new(void)
{
    e2e *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->dir = tu_tmpdir();
    t->cats = tu_fmt("%s/catalogs", t->dir);
    t->rules = tu_fmt("%s/rules", t->dir);
    t->logp = tu_fmt("%s/cpqd.log", t->dir);
    t->db = tu_db_location(t->dir, "cpqd");
    char *src = tu_path("tests/data/e2e/catalogs");
    char *rsrc = tu_path("tests/data/e2e/rules");
    assert_int_equal(tu_copy_tree(src, t->cats), 0);
    assert_int_equal(tu_copy_tree(rsrc, t->rules), 0);
    free(src);
    free(rsrc);
    return t;
}

/* Starts the server on t's fixtures with extra flags (NULL-ended). */
static void e2e_start(e2e *t, const char *const *extra)
{
    const char *args[32] = {"--catalogs", t->cats, "--rules", t->rules, "--threads", "2"};
    size_t n = 6;
    bool db = false;
    for (size_t i = 0; extra && extra[i] && n < 31; i++) {
        db = db || !strcmp(extra[i], "--db");
        args[n++] = extra[i];
    }
    if (!db && n < 30) {
        args[n++] = "--db";
        args[n++] = t->db;
    }
    args[n] = NULL;
    assert_int_equal(tu_server_start(&t->srv, t->logp, args), 0);
}

static void e2e_free(e2e *t)
{
    if (!t)
        return;
    if (t->srv.pid > 0) {
        kill(t->srv.pid, SIGKILL);
        tu_wait_exit(t->srv.pid, TU_WAIT_MS);
    }
    tu_db_drop(t->db);
    tu_rm_tree(t->dir);
    free(t->dir);
    free(t->cats);
    free(t->rules);
    free(t->logp);
    free(t);
}

/* Copies a fixture file (relative to the repo) to t's catalogs dir. */
static void e2e_put(e2e *t, const char *fixture, const char *name)
{
    char *src = tu_path(fixture);
    char *dst = tu_fmt("%s/%s", t->cats, name);
    assert_int_equal(tu_copy_file(src, dst), 0);
    free(src);
    free(dst);
}

static int setup_fresh(void **state)
{
    *state = e2e_new();
    return 0;
}

static int teardown_fresh(void **state)
{
    e2e_free(*state);
    return 0;
}

/* Group setup: one server shared by read-only tests; extra flags from a
 * static list chosen by the group. */
static int setup_shared(void **state, const char *const *extra)
{
    e2e *t = e2e_new();
    *state = t; /* before starting: teardown cleans up even if it fails */
    e2e_start(t, extra);
    return 0;
}

static int setup_read(void **state)
{
    return setup_shared(state, NULL);
}

static int setup_limits(void **state)
{
    static const char *const extra[] = {"--max-body", "1024", "--timeout", "1", NULL};
    return setup_shared(state, extra);
}

/* Group teardown: SIGTERM must end the server with status 0. */
static int teardown_shared(void **state)
{
    e2e *t = *state;
    if (!t)
        return -1;
    int st = tu_server_stop(&t->srv);
    e2e_free(t);
    if (st != 0)
        fprintf(stderr, "server exit status %d, expected 0\n", st);
    return st == 0 ? 0 : -1;
}

/* ---- JSON helpers ---- */

static json_t *jbody(const tu_resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &e);
    if (!j)
        fail_msg("response body is not JSON (%s): %.400s", e.text, r->body ? r->body : "");
    return j;
}

/* The value at a dotted path ("a.b.0.c": numbers index arrays), or NULL. */
static json_t *jget(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v))
            v = json_array_get(v, strtoul(k, NULL, 10));
        else
            v = json_object_get(v, k);
    }
    return v;
}

static const char *jstr(json_t *v, const char *path)
{
    json_t *x = jget(v, path);
    if (!json_is_string(x))
        fail_msg("%s is not a string", path);
    return json_string_value(x);
}

/* Fails unless actual equals the JSON text expected. */
static void assert_json(json_t *actual, const char *expected)
{
    json_error_t e;
    json_t *want = json_loads(expected, 0, &e);
    if (!want)
        fail_msg("bad expected JSON (%s): %s", e.text, expected);
    if (!json_equal(actual, want)) {
        char *a = json_dumps(actual, JSON_SORT_KEYS | JSON_INDENT(1));
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        fprintf(stderr, "expected:\n%s\nactual:\n%s\n", w, a);
        free(a);
        free(w);
        json_decref(want);
        fail_msg("JSON differs");
    }
    json_decref(want);
}

/* An error reply: status, JSON content type, exact body. */
static void assert_error_reply(const tu_resp *r, int status, const char *expected)
{
    char ct[64];
    assert_int_equal(r->status, status);
    assert_non_null(tu_header(r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    json_t *j = jbody(r);
    assert_json(j, expected);
    json_decref(j);
}

static bool is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    }
    return n == 64;
}

/* GET /healthz's version. */
static char *version_of(int port)
{
    tu_resp r;
    assert_int_equal(tu_get(port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    char *v = strdup(jstr(j, "version"));
    json_decref(j);
    tu_resp_free(&r);
    return v;
}

/* The version `cpqd check` reports for dir with rules. */
static char *check_version(const char *dir, const char *rules)
{
    const char *argv[] = {"check", dir, "--rules", rules, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &out, &err), 0);
    const char *at = strstr(out, ", version ");
    assert_non_null(at);
    char *v = strndup(at + strlen(", version "), 64);
    free(out);
    free(err);
    return v;
}

static char *sha256_file(const char *path)
{
    size_t len = 0;
    char *data = tu_read_file(path, &len);
    char *hex = calloc(DIGEST_SHA256_HEX_LEN, 1);
    assert_non_null(data);
    assert_non_null(hex);
    assert_int_equal(digest_sha256_hex(data, len, hex), 0);
    free(data);
    return hex;
}

/* ---- data-driven cases ---- */

typedef struct e2e_case {
    char title[160];
    char method[16];
    char path[512];
    int status;
    char *json;
} e2e_case;

/* Parses tests/data/e2e/cases.txt (format described at its top). */
static size_t cases_load(e2e_case **out)
{
    char *path = tu_path("tests/data/e2e/cases.txt");
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    free(path);
    e2e_case *cs = calloc(256, sizeof(*cs));
    size_t n = 0;
    int field = 0; /* 0 between cases, 1 request, 2 status, 3 body */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "### ", 4) == 0) {
            assert_true(n < 256);
            snprintf(cs[n++].title, sizeof(cs[0].title), "%s", line + 4);
            field = 1;
        } else if (line[0] == '#' || field == 0) {
            continue;
        } else if (field == 1) {
            assert_int_equal(sscanf(line, "%15s %511s", cs[n - 1].method, cs[n - 1].path), 2);
            field = 2;
        } else if (field == 2) {
            cs[n - 1].status = atoi(line);
            cs[n - 1].json = calloc(1, 1);
            field = 3;
        } else {
            char *j = tu_fmt("%s%s\n", cs[n - 1].json, line);
            free(cs[n - 1].json);
            cs[n - 1].json = j;
        }
    }
    free(text);
    *out = cs;
    return n;
}

/* Runs one case; returns true if it passed (explaining on stderr if not). */
static bool case_run(int port, const e2e_case *c)
{
    tu_resp r;
    char ct[64] = "";
    json_error_t e;
    bool ok = tu_http(port, c->method, c->path, NULL, NULL, 0, &r) == 0;
    json_t *want = json_loads(c->json, 0, &e);
    json_t *got = ok ? json_loadb(r.body, r.body_len, 0, &e) : NULL;
    ok = ok && r.status == c->status && want && got && json_equal(want, got) &&
         tu_header(&r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, "application/json") == 0;
    if (!ok) {
        char *w = want ? json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
        char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
        fprintf(stderr, "case failed: %s\n  %s %s -> %d (want %d), content-type '%s'\n", c->title,
                c->method, c->path, r.status, c->status, ct);
        fprintf(stderr, "expected:\n%s\nactual:\n%s\n", w ? w : c->json, g ? g : r.body);
        free(w);
        free(g);
    }
    json_decref(want);
    json_decref(got);
    tu_resp_free(&r);
    return ok;
}

static void test_e2e_cases(void **state)
{
    e2e *t = *state;
    e2e_case *cs = NULL;
    size_t n = cases_load(&cs);
    size_t failed = 0;
    assert_true(n >= 40); /* the file was read and parsed */
    for (size_t i = 0; i < n; i++) {
        failed += !case_run(t->srv.port, &cs[i]);
        free(cs[i].json);
    }
    free(cs);
    if (failed)
        fail_msg("%zu of %zu cases failed", failed, n);
}

/* ?mode= filters on each of the five delivery modes (the fixtures hold
 * 10 goods products, 1 goods_with_service, 2 subscription, 3 usage and 2
 * milestone ones); anything else, even a mode name with more after it,
 * is a 400 that lists the five. */
static void test_e2e_products_filter_every_mode(void **state)
{
    e2e *t = *state;
    static const struct {
        const char *mode;
        int total;
    } want[] = {{"goods", 10}, {"goods_with_service", 1}, {"subscription", 2}, {"usage", 3},
                {"milestone", 2}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char path[96];
        snprintf(path, sizeof(path), "/v1/products?mode=%s", want[i].mode);
        tu_resp r;
        assert_int_equal(tu_get(t->srv.port, path, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *j = jbody(&r);
        assert_int_equal(json_array_size(jget(j, "items")), (size_t)want[i].total);
        assert_true(json_is_null(jget(j, "next")));
        size_t k;
        json_t *it;
        json_array_foreach(jget(j, "items"), k, it)
            assert_string_equal(jstr(it, "mode"), want[i].mode);
        json_decref(j);
        tu_resp_free(&r);
    }
    static const char *const bad[] = {"/v1/products?mode=goodsx", "/v1/products?mode=good",
                                      "/v1/products?mode=goods%20", "/v1/products?mode=MILESTONE"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_resp r;
        assert_int_equal(tu_get(t->srv.port, bad[i], &r), 0);
        assert_error_reply(&r, 400,
                           "{\"error\":{\"code\":\"invalid_parameter\",\"message\":\"mode must "
                           "be one of goods, goods_with_service, subscription, usage, "
                           "milestone\",\"details\":[{\"parameter\":\"mode\"}]}}");
        tu_resp_free(&r);
    }
}

/* ---- read routes ---- */

static void test_e2e_healthz_reports_the_checked_version(void **state)
{
    e2e *t = *state;
    tu_resp r;
    assert_int_equal(tu_get(t->srv.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    char *v = check_version(t->cats, t->rules);
    assert_true(is_hex64(v));
    char *want = tu_fmt("{\"status\":\"ok\",\"version\":\"%s\"}", v);
    assert_json(j, want);
    free(want);
    free(v);
    json_decref(j);
    tu_resp_free(&r);
    /* HEAD: same status and headers, no body */
    assert_int_equal(tu_http(t->srv.port, "HEAD", "/healthz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    tu_resp_free(&r);
}

/* "2026-12-01T12:34:56Z": an instant of the service's clock, which the
 * fixture sets to TU_TODAY (its stamps run from noon of that day). */
static void assert_clock_instant(const char *s)
{
    int y, mo, d, h, mi, sec;
    char z = 0;
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z), 7);
    assert_int_equal(z, 'Z');
    assert_int_equal(strlen(s), 20);
    assert_memory_equal(s, TU_TODAY "T1", strlen(TU_TODAY "T1"));
    assert_true(h >= 12 && h <= 13 && mi < 60 && sec < 60);
}

static void test_e2e_catalog_lists_ids_versions_and_hashes(void **state)
{
    e2e *t = *state;
    tu_resp r;
    char *v = version_of(t->srv.port);
    assert_int_equal(tu_get(t->srv.port, "/v1/catalog", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    assert_string_equal(jstr(j, "version"), v);
    assert_clock_instant(jstr(j, "loaded_at"));
    char *cloud = tu_fmt("%s/cloud.yaml", t->cats), *mach = tu_fmt("%s/machines.yaml", t->cats);
    char *h1 = sha256_file(cloud), *h2 = sha256_file(mach);
    char *want = tu_fmt(
        "[{\"id\":\"cloud\",\"name\":\"Cloud services\",\"version\":\"7\",\"currency\":\"USD\","
        "\"timezone\":\"UTC\",\"products\":6,\"hash\":\"%s\"},"
        "{\"id\":\"machines\",\"name\":\"机床目录 Machine tools\",\"version\":\"2026.1\","
        "\"currency\":\"CNY\",\"timezone\":\"Asia/Shanghai\",\"products\":12,\"hash\":\"%s\"}]",
        h1, h2);
    assert_json(jget(j, "catalogs"), want);
    assert_int_equal(json_object_size(j), 3);
    free(want);
    free(cloud);
    free(mach);
    free(h1);
    free(h2);
    free(v);
    json_decref(j);
    tu_resp_free(&r);
}

/* The bytes after "name: " on the line of the fixture that holds needle. */
static char *fixture_name(const char *file, const char *needle)
{
    char *path = tu_path(file);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    const char *at = strstr(text, needle);
    assert_non_null(at);
    const char *end = strchr(at, '\n');
    char *name = strndup(at + strlen("name: "), (size_t)(end - at) - strlen("name: "));
    free(text);
    free(path);
    return name;
}

static void test_e2e_chinese_names_round_trip_byte_for_byte(void **state)
{
    e2e *t = *state;
    tu_resp r;
    char *yaml_name = fixture_name("tests/data/e2e/catalogs/machines.yaml", "name: 五轴");
    assert_string_equal(yaml_name, "\xe4\xba\x94\xe8\xbd\xb4\xe5\x8a\xa0\xe5\xb7\xa5\xe4\xb8\xad"
                                   "\xe5\xbf\x83 5-axis machining centre");
    assert_int_equal(tu_get(t->srv.port, "/v1/products/MX-100", &r), 0);
    assert_int_equal(r.status, 200);
    /* raw UTF-8 on the wire, not \u escapes */
    assert_non_null(strstr(r.body, yaml_name));
    assert_null(strstr(r.body, "\\u"));
    json_t *j = jbody(&r);
    json_t *name = jget(j, "name");
    assert_int_equal(json_string_length(name), strlen(yaml_name));
    assert_memory_equal(json_string_value(name), yaml_name, strlen(yaml_name));
    json_decref(j);
    tu_resp_free(&r);
    free(yaml_name);
}

static void test_e2e_keepalive_serves_consecutive_requests(void **state)
{
    e2e *t = *state;
    int fd = tu_connect(t->srv.port);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) {
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        tu_resp r;
        char conn[32];
        assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
        assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
        assert_int_equal(r.status, 200);
        assert_null(tu_header(&r, "Connection", conn, sizeof(conn)));
        assert_false(r.closed);
        tu_resp_free(&r);
    }
    close(fd);
}

static void test_e2e_405_carries_allow_header(void **state)
{
    e2e *t = *state;
    tu_resp r;
    char allow[64];
    assert_int_equal(tu_http(t->srv.port, "PUT", "/v1/products/MX-100", NULL, "{}", 2, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(tu_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD");
    tu_resp_free(&r);
    assert_int_equal(tu_http(t->srv.port, "GET", "/v1/admin/reload", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(tu_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "POST");
    tu_resp_free(&r);
}

/* Sends raw bytes on a new connection and reads one response. */
static void raw_request(int port, const char *bytes, size_t len, tu_resp *r)
{
    int fd = tu_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, bytes, len), 0);
    assert_int_equal(tu_read_response(fd, r, false, TU_WAIT_MS), 0);
    close(fd);
}

static void test_e2e_protocol_errors_are_json(void **state)
{
    e2e *t = *state;
    tu_resp r;
    char conn[32];
    static const char garbage[] = "GARBAGE\r\n\r\n";
    raw_request(t->srv.port, garbage, sizeof(garbage) - 1, &r);
    assert_error_reply(&r, 400,
                       "{\"error\":{\"code\":\"bad_request\",\"message\":\"malformed HTTP request "
                       "(or a request head over 65536 bytes)\",\"details\":[]}}");
    assert_non_null(tu_header(&r, "Connection", conn, sizeof(conn)));
    assert_string_equal(conn, "close");
    tu_resp_free(&r);
    static const char unknown[] = "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_request(t->srv.port, unknown, sizeof(unknown) - 1, &r);
    assert_error_reply(&r, 501,
                       "{\"error\":{\"code\":\"not_implemented\",\"message\":\"method not "
                       "implemented\",\"details\":[]}}");
    tu_resp_free(&r);
    static const char expect[] =
        "POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}";
    raw_request(t->srv.port, expect, sizeof(expect) - 1, &r);
    assert_error_reply(&r, 417,
                       "{\"error\":{\"code\":\"expectation_failed\",\"message\":\"only "
                       "'Expect: 100-continue' is supported\",\"details\":[]}}");
    tu_resp_free(&r);
}

/* ---- limits: --max-body 1024 --timeout 1 ---- */

static void test_e2e_body_over_max_body_gets_413_json(void **state)
{
    e2e *t = *state;
    tu_resp r;
    char conn[32];
    char *body = malloc(2000);
    memset(body, 'x', 2000);
    assert_int_equal(tu_http(t->srv.port, "POST", "/v1/admin/reload", NULL, body, 1025, &r), 0);
    assert_error_reply(&r, 413,
                       "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"request "
                       "too large: bodies are limited to 1024 bytes, request heads to "
                       "65536 bytes\",\"details\":[]}}");
    assert_non_null(tu_header(&r, "Connection", conn, sizeof(conn)));
    assert_string_equal(conn, "close");
    tu_resp_free(&r);
    /* on any route, GET included */
    assert_int_equal(tu_http(t->srv.port, "GET", "/healthz", NULL, body, 2000, &r), 0);
    assert_int_equal(r.status, 413);
    tu_resp_free(&r);
    /* a chunked body is counted as it arrives */
    char *chunked = tu_fmt("POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n400\r\n%.1024s\r\n"
                           "400\r\n%.1024s\r\n0\r\n\r\n",
                           body, body);
    raw_request(t->srv.port, chunked, strlen(chunked), &r);
    assert_int_equal(r.status, 413);
    tu_resp_free(&r);
    free(chunked);
    /* exactly at the limit is fine (the reload route ignores its body) */
    assert_int_equal(tu_http(t->srv.port, "POST", "/v1/admin/reload", NULL, body, 1024, &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    free(body);
}

/* A client that sends a whole large body before reading (as most do
 * without Expect: 100-continue) must read the 413, not a reset: the
 * server reads and drops the body before answering (lingering close). */
static void test_e2e_large_body_sent_in_full_still_reads_413(void **state)
{
    e2e *t = *state;
    size_t n = (size_t)2 << 20;
    char *body = malloc(n);
    tu_resp r;
    memset(body, 'y', n);
    assert_int_equal(tu_http(t->srv.port, "POST", "/v1/admin/reload", NULL, body, n, &r), 0);
    assert_int_equal(r.status, 413);
    json_t *j = jbody(&r);
    assert_string_equal(jstr(j, "error.code"), "payload_too_large");
    json_decref(j);
    tu_resp_free(&r);
    free(body);
}

static void test_e2e_oversized_head_gets_json_error(void **state)
{
    e2e *t = *state;
    tu_resp r;
    size_t n = 70 * 1024;
    char *big = malloc(n + 128);
    int k = snprintf(big, n + 128, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + k, 'b', n);
    memcpy(big + k + n, "\r\n\r\n", 4);
    raw_request(t->srv.port, big, (size_t)k + n + 4, &r);
    assert_error_reply(&r, 400,
                       "{\"error\":{\"code\":\"bad_request\",\"message\":\"malformed HTTP request "
                       "(or a request head over 65536 bytes)\",\"details\":[]}}");
    tu_resp_free(&r);
    free(big);
}

/* Milliseconds until the server closes fd (-1 if it did not within 5 s). */
static long long ms_until_closed(int fd)
{
    long long t0 = tu_now_ms(), deadline = t0 + 5000;
    char buf[4096];
    for (;;) {
        if (!tu_wait_readable(fd, deadline))
            return -1;
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got <= 0)
            return tu_now_ms() - t0;
    }
}

static void test_e2e_stalled_client_is_closed_after_timeout(void **state)
{
    e2e *t = *state;
    int fd = tu_connect(t->srv.port);
    static const char half[] = "GET /v1/products HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, half, sizeof(half) - 1), 0);
    long long ms = ms_until_closed(fd);
    close(fd);
    /* --timeout 1: closed after about a second, not before, not never */
    assert_true(ms >= 900);
    assert_true(ms < 4000);
    tu_resp r;
    assert_int_equal(tu_get(t->srv.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
}

static void test_e2e_idle_keepalive_is_closed_after_timeout(void **state)
{
    e2e *t = *state;
    int fd = tu_connect(t->srv.port);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    tu_resp r;
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    long long ms = ms_until_closed(fd);
    close(fd);
    assert_true(ms >= 900);
    assert_true(ms < 4000);
}

/* ---- reload ---- */

/* The two errors of tests/data/e2e/reload/broken.yaml as extra.yaml. */
static void assert_broken_details(json_t *details, const char *cats)
{
    char *file = tu_fmt("%s/extra.yaml", cats);
    assert_int_equal(json_array_size(details), 2);
    assert_string_equal(jstr(details, "0.file"), file);
    assert_int_equal(json_integer_value(jget(details, "0.line")), 14);
    assert_int_equal(json_integer_value(jget(details, "0.col")), 5);
    assert_true(strncmp(jstr(details, "0.message"), "unknown key 'colour'", 20) == 0);
    assert_string_equal(jstr(details, "1.file"), file);
    assert_int_equal(json_integer_value(jget(details, "1.line")), 15);
    assert_int_equal(json_integer_value(jget(details, "1.col")), 22);
    assert_true(strncmp(jstr(details, "1.message"), "delivery mode must be", 21) == 0);
    assert_int_equal(json_object_size(jget(details, "0")), 4);
    free(file);
}

/* The catalog ids /v1/catalog lists, joined by commas, and its version. */
static char *catalog_ids(int port, char **version)
{
    tu_resp r;
    assert_int_equal(tu_get(port, "/v1/catalog", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    char *ids = calloc(1, 1);
    for (size_t i = 0; i < json_array_size(jget(j, "catalogs")); i++) {
        char *n = tu_fmt("%s%s%s", ids, i ? "," : "",
                         json_string_value(jget(json_array_get(jget(j, "catalogs"), i), "id")));
        free(ids);
        ids = n;
    }
    *version = strdup(jstr(j, "version"));
    json_decref(j);
    tu_resp_free(&r);
    return ids;
}

static void assert_serving(e2e *t, const char *version, const char *ids, int ex1_status)
{
    char *v = NULL;
    char *got = catalog_ids(t->srv.port, &v);
    tu_resp r;
    assert_string_equal(v, version);
    assert_string_equal(got, ids);
    assert_int_equal(tu_get(t->srv.port, "/v1/products/EX-1", &r), 0);
    assert_int_equal(r.status, ex1_status);
    tu_resp_free(&r);
    free(v);
    free(got);
}

static void test_e2e_reload_keeps_old_snapshot_on_errors_then_publishes(void **state)
{
    e2e *t = *state;
    tu_resp r;
    e2e_start(t, NULL);
    char *v0 = version_of(t->srv.port);
    e2e_put(t, "tests/data/e2e/reload/broken.yaml", "extra.yaml");
    assert_int_equal(tu_http(t->srv.port, "POST", "/v1/admin/reload", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 422);
    json_t *j = jbody(&r);
    assert_string_equal(jstr(j, "error.code"), "catalog_invalid");
    char *msg = tu_fmt("catalog reload failed with 2 errors; still serving version %s", v0);
    assert_string_equal(jstr(j, "error.message"), msg);
    assert_broken_details(jget(j, "error.details"), t->cats);
    free(msg);
    json_decref(j);
    tu_resp_free(&r);
    assert_serving(t, v0, "cloud,machines", 404);
    assert_true(tu_log_wait(&t->srv, "extra.yaml:14:5: unknown key 'colour'", 2000));

    e2e_put(t, "tests/data/e2e/reload/fixed.yaml", "extra.yaml");
    char *v1 = check_version(t->cats, t->rules);
    assert_string_not_equal(v1, v0);
    assert_int_equal(tu_http(t->srv.port, "POST", "/v1/admin/reload", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    j = jbody(&r);
    char *want = tu_fmt("{\"version\":\"%s\",\"previous_version\":\"%s\",\"catalogs\":3,"
                        "\"products\":19}",
                        v1, v0);
    assert_json(j, want);
    free(want);
    json_decref(j);
    tu_resp_free(&r);
    assert_serving(t, v1, "cloud,extra,machines", 200);
    assert_int_equal(tu_server_stop(&t->srv), 0);
    free(v0);
    free(v1);
}

/* Polls /healthz until it reports version (true) or time runs out. */
static bool wait_version(int port, const char *version)
{
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    do {
        char *v = version_of(port);
        bool same = strcmp(v, version) == 0;
        free(v);
        if (same)
            return true;
        tu_sleep_ms(20);
    } while (tu_now_ms() < deadline);
    return false;
}

static void test_e2e_sighup_reload_keeps_old_on_errors_then_publishes(void **state)
{
    e2e *t = *state;
    e2e_start(t, NULL);
    char *v0 = version_of(t->srv.port);
    e2e_put(t, "tests/data/e2e/reload/broken.yaml", "extra.yaml");
    assert_int_equal(kill(t->srv.pid, SIGHUP), 0);
    assert_true(tu_log_wait(&t->srv, "reload failed with 2 errors", TU_WAIT_MS));
    assert_true(tu_log_wait(&t->srv, "extra.yaml:15:22: delivery mode must be", 1000));
    assert_serving(t, v0, "cloud,machines", 404);

    e2e_put(t, "tests/data/e2e/reload/fixed.yaml", "extra.yaml");
    char *v1 = check_version(t->cats, t->rules);
    assert_int_equal(kill(t->srv.pid, SIGHUP), 0);
    assert_true(wait_version(t->srv.port, v1));
    assert_serving(t, v1, "cloud,extra,machines", 200);
    char *line = tu_fmt("reload: version %s -> %s (3 catalogs, 19 products", v0, v1);
    assert_true(tu_log_wait(&t->srv, line, 1000));
    free(line);
    assert_int_equal(tu_server_stop(&t->srv), 0);
    free(v0);
    free(v1);
}

/* ---- shutdown ---- */

#define BIG_DESC ((size_t)8 << 20) /* larger than any loopback socket buffer */

/* Adds big.yaml: one product whose description is BIG_DESC bytes, so that
 * its reply cannot be written before the client reads it. */
static void put_big_catalog(e2e *t)
{
    static const char head[] =
        "catalog:\n  id: big\n  version: \"1\"\n  name: Big\n  currency: CNY\n"
        "  timezone: UTC\n  tax: {prices_include_tax: true, classes: {standard: \"0\"}}\n"
        "products:\n  - sku: BIG-1\n    name: Big\n    category: big\n"
        "    delivery: {mode: goods}\n    description: ";
    size_t hl = sizeof(head) - 1;
    char *y = malloc(hl + BIG_DESC + 2);
    memcpy(y, head, hl);
    memset(y + hl, 'd', BIG_DESC);
    y[hl + BIG_DESC] = '\n';
    assert_int_equal(tu_write_n(t->cats, "big.yaml", y, hl + BIG_DESC + 1), 0);
    free(y);
}

/* One keep-alive GET /healthz on fd; returns the Connection header ("" if
 * none). */
static void healthz_on(int fd, char *conn, size_t cap)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    tu_resp r;
    assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 200);
    if (!tu_header(&r, "Connection", conn, cap))
        conn[0] = '\0';
    tu_resp_free(&r);
}

static void test_e2e_sigterm_drains_a_slow_reader_then_exits_0(void **state)
{
    e2e *t = *state;
    /* one worker, so that the keep-alive connection below shares it */
    static const char *const extra[] = {"--timeout", "5", "--threads", "1", NULL};
    static const char req[] = "GET /v1/products/BIG-1 HTTP/1.1\r\nHost: x\r\n\r\n";
    char conn[32];
    put_big_catalog(t);
    e2e_start(t, extra);
    int ka = tu_connect(t->srv.port);
    assert_true(ka >= 0);
    healthz_on(ka, conn, sizeof(conn));
    assert_string_equal(conn, "");
    int fd = tu_connect_rcvbuf(t->srv.port, 4096);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
    tu_sleep_ms(300); /* the reply is now stuck in the server's buffers */
    assert_int_equal(kill(t->srv.pid, SIGTERM), 0);
    assert_true(tu_log_wait(&t->srv, "received SIGTERM", TU_WAIT_MS));
    /* it waits for the reply in flight instead of exiting ... */
    assert_int_equal(tu_wait_exit(t->srv.pid, 500), -1);
    /* ... refuses new connections ... */
    assert_int_equal(tu_connect(t->srv.port), -1);
    /* ... still answers on open connections, telling clients to go away */
    healthz_on(ka, conn, sizeof(conn));
    assert_string_equal(conn, "close");
    close(ka);
    tu_resp r;
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    close(fd);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    assert_int_equal(json_string_length(jget(j, "description")), BIG_DESC);
    json_decref(j);
    tu_resp_free(&r);
    assert_int_equal(tu_wait_exit(t->srv.pid, TU_WAIT_MS), 0);
    t->srv.pid = 0;
    assert_true(tu_log_wait(&t->srv, "INFO stopped", 1000));
}

static void test_e2e_sigterm_does_not_wait_for_a_vanished_client(void **state)
{
    e2e *t = *state;
    static const char *const extra[] = {"--timeout", "5", NULL};
    static const char req[] = "GET /v1/products/BIG-1 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct linger reset = {1, 0};
    put_big_catalog(t);
    e2e_start(t, extra);
    int fd = tu_connect_rcvbuf(t->srv.port, 4096);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
    tu_sleep_ms(300);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd); /* reset: the reply can never be delivered */
    tu_sleep_ms(100);
    long long t0 = tu_now_ms();
    assert_int_equal(kill(t->srv.pid, SIGTERM), 0);
    /* the drain deadline would be 2 * 5 + 5 s: it must not be waited for */
    assert_int_equal(tu_wait_exit(t->srv.pid, 4000), 0);
    t->srv.pid = 0;
    assert_true(tu_now_ms() - t0 < 4000);
}

static void test_e2e_sigint_with_idle_keepalive_exits_promptly(void **state)
{
    e2e *t = *state;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    tu_resp r;
    e2e_start(t, NULL); /* default --timeout 30 */
    int fd = tu_connect(t->srv.port);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, req, sizeof(req) - 1), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    assert_int_equal(kill(t->srv.pid, SIGINT), 0);
    assert_int_equal(tu_wait_exit(t->srv.pid, 3000), 0);
    t->srv.pid = 0;
    assert_int_equal(ms_until_closed(fd) >= 0, 1); /* the idle connection was closed */
    close(fd);
    assert_true(tu_log_wait(&t->srv, "received SIGINT", 1000));
}

/* ---- startup failures ---- */

static void test_e2e_serve_refuses_invalid_catalogs(void **state)
{
    e2e *t = *state;
    e2e_put(t, "tests/data/e2e/reload/broken.yaml", "extra.yaml");
    const char *argv[] = {"serve",  "--catalogs", t->cats,       "--rules",
                          t->rules, "--listen",   "127.0.0.1:0", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &out, &err), 1);
    char *l1 = tu_fmt("%s/extra.yaml:14:5: unknown key 'colour'", t->cats);
    char *l2 = tu_fmt("%s/extra.yaml:15:22: delivery mode must be", t->cats);
    assert_non_null(strstr(err, l1));
    assert_non_null(strstr(err, l2));
    assert_true(strstr(err, l1) < strstr(err, l2)); /* sorted by position */
    assert_non_null(strstr(err, "2 errors in"));
    assert_null(strstr(err, "listening on"));
    free(l1);
    free(l2);
    free(out);
    free(err);
}

static void test_e2e_serve_reports_a_port_in_use(void **state)
{
    e2e *t = *state;
    e2e_start(t, NULL);
    char *listen = tu_fmt("127.0.0.1:%d", t->srv.port);
    const char *argv[] = {"serve",  "--catalogs", t->cats, "--rules",
                          t->rules, "--listen",   listen,  NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &out, &err), 1);
    char *want = tu_fmt("cannot listen on %s", listen);
    assert_non_null(strstr(err, want));
    free(want);
    free(out);
    free(err);
    free(listen);
    assert_int_equal(tu_server_stop(&t->srv), 0);
}

/* Lines of the server log containing needle. */
static size_t log_count(const tu_server *s, const char *needle)
{
    char *log = tu_read_file(s->log, NULL);
    size_t n = 0;
    for (const char *at = log ? strstr(log, needle) : NULL; at; at = strstr(at + 1, needle))
        n++;
    free(log);
    return n;
}

/* Out of descriptors, accept() fails for as long as the clients stay:
 * the server pauses accepting, says so once (not once per failure), and
 * accepts again when descriptors are free. */
static void test_e2e_descriptor_exhaustion_pauses_accepting_and_logs_once(void **state)
{
    e2e *t = *state;
    static const char *const extra[] = {"--threads", "1", NULL};
    enum { NCLIENTS = 40 };
    int fds[NCLIENTS];
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = (struct rlimit){.rlim_cur = 32, .rlim_max = old.rlim_max};
    /* the server inherits the low limit; the test keeps its own */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    e2e_start(t, extra);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    for (int i = 0; i < NCLIENTS; i++) {
        fds[i] = tu_connect(t->srv.port); /* completed by the kernel's backlog */
        assert_true(fds[i] >= 0);
    }
    assert_true(tu_log_wait(&t->srv,
                            "accept() failed 1 time since the last report: Too many "
                            "open files",
                            TU_WAIT_MS));
    tu_sleep_ms(1000); /* a second at the limit: before, some 300,000 lines */
    assert_int_equal(log_count(&t->srv, "accept"), 1);
    assert_int_equal(log_count(&t->srv, "Too many open files"), 1);
    for (int i = 0; i < NCLIENTS; i++)
        close(fds[i]);
    tu_resp r;
    assert_int_equal(tu_get(t->srv.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    /* the count since the first line comes with the next line, 10 s after
     * the first at the earliest */
    assert_true(tu_log_wait(&t->srv, "accepting connections again (", 2 * TU_WAIT_MS));
    assert_int_equal(log_count(&t->srv, "accept"), 2);
    char *log = tu_read_file(t->srv.log, NULL);
    unsigned long more = 0;
    const char *at = strstr(log, "accepting connections again (");
    assert_int_equal(sscanf(at, "accepting connections again (%lu more failures", &more), 1);
    assert_true(more >= 1);
    free(log);
    assert_int_equal(tu_server_stop(&t->srv), 0);
}

/* ---- the network edge: --max-body 1024 --timeout 2, API keys ----
 * Keys of tests/data/auth/good.yaml: a partner and an admin. */

#define KEY_PARTNER "cpqd_U5cuP7nrPJTe5VP4pqM3SlG4WtsrQStVnCZCyQcDMI0"
#define KEY_ADMIN "cpqd_VBlbY_kgnaqzc42NJSqh12YVllliG_2qdDgBH322LoY"

static int setup_edge(void **state)
{
    e2e *t = e2e_new();
    *state = t;
    char *keys = tu_path("tests/data/auth/good.yaml");
    const char *const extra[] = {"--max-body", "1024", "--timeout", "2", "--keys", keys, NULL};
    e2e_start(t, extra);
    free(keys);
    return 0;
}

/* A client that sends drip[] one byte every 200 ms (well inside the
 * silence limit) after sending lead[] at once. */
typedef struct dripper {
    int fd;
    const char *drip;
    size_t sent;
    long long t0;     /* when the request's first byte went out */
    long long closed; /* ms after t0 the server closed, -1 while open */
    size_t got;       /* bytes the server sent after t0 */
} dripper;

static void drip_start(dripper *d, int fd, const char *lead, const char *drip)
{
    *d = (dripper){.fd = fd, .drip = drip, .closed = -1, .t0 = tu_now_ms()};
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, lead, strlen(lead)), 0);
}

/* Reads what is there without waiting; notes the close. */
static void drip_poll(dripper *d)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            d->got += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            d->closed = tu_now_ms() - d->t0;
        return;
    }
}

/* Drips on every open dripper until all are closed or 8 s have passed. */
static void drip_all(dripper *ds, size_t n)
{
    long long end = tu_now_ms() + 8000;
    for (bool open = true; open && tu_now_ms() < end;) {
        open = false;
        for (size_t i = 0; i < n; i++) {
            dripper *d = &ds[i];
            if (d->closed >= 0)
                continue;
            drip_poll(d);
            if (d->closed < 0 && d->drip[d->sent] &&
                send(d->fd, d->drip + d->sent++, 1, MSG_NOSIGNAL) != 1)
                d->closed = tu_now_ms() - d->t0;
            open = open || d->closed < 0;
        }
        tu_sleep_ms(200);
    }
}

static void test_e2e_slow_request_is_closed_at_the_deadline(void **state)
{
    e2e *t = *state;
    static const char slow_head[] =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static const char body[] =
        "{\"lines\":[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static const char first[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    dripper ds[3];
    tu_resp r;
    /* 1. the head, one byte at a time from the first */
    drip_start(&ds[0], tu_connect(t->srv.port), "G", slow_head + 1);
    /* 2. a complete head, then the body one byte at a time */
    drip_start(&ds[1], tu_connect(t->srv.port),
               "POST /v1/price HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY_ADMIN
               "\r\nContent-Length: 120\r\n\r\n",
               body);
    /* 3. a keep-alive connection's second request: the limit counts from
     * that request's first byte, not from the connection's */
    int ka = tu_connect(t->srv.port);
    assert_true(ka >= 0);
    assert_int_equal(tu_send(ka, first, sizeof(first) - 1), 0);
    assert_int_equal(tu_read_response(ka, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    tu_sleep_ms(1000);
    drip_start(&ds[2], ka, "G", slow_head + 1);
    drip_all(ds, 3);
    for (size_t i = 0; i < 3; i++) {
        if (ds[i].closed < 1800 || ds[i].closed > 6000 || ds[i].got != 0)
            fail_msg("connection %zu: closed after %lld ms (want 2 s: at least 1800, at most "
                     "6000) having received %zu bytes (want none)",
                     i + 1, ds[i].closed, ds[i].got);
        close(ds[i].fd);
    }
    assert_int_equal(tu_get(t->srv.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
}

#define TOO_LARGE                                                                                  \
    "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"request too large: bodies are "      \
    "limited to 1024 bytes, request heads to 65536 bytes\",\"details\":[]}}"

/* Sends head on fd and expects the 413 at once, before any body byte. */
static void expect_413_before_body(int fd, const char *head)
{
    tu_resp r;
    char conn[32];
    assert_int_equal(tu_send(fd, head, strlen(head)), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_error_reply(&r, 413, TOO_LARGE);
    assert_non_null(tu_header(&r, "Connection", conn, sizeof(conn)));
    assert_string_equal(conn, "close");
    tu_resp_free(&r);
}

static void test_e2e_declared_oversize_body_gets_413_at_once(void **state)
{
    e2e *t = *state;
    static const char first[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    tu_resp r;
    int fd = tu_connect(t->srv.port);
    assert_true(fd >= 0);
    expect_413_before_body(fd, "POST /v1/price HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 2000000\r\n\r\n");
    close(fd);
    /* a client that waits for 100-continue hears the 413 instead */
    fd = tu_connect(t->srv.port);
    assert_true(fd >= 0);
    expect_413_before_body(fd, "POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\nExpect: "
                               "100-continue\r\nContent-Length: 1025\r\n\r\n");
    close(fd);
    /* the second request of a keep-alive connection, on any route */
    fd = tu_connect(t->srv.port);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, first, sizeof(first) - 1), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    expect_413_before_body(fd, "GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 99999999999\r\n\r\n");
    close(fd);
    /* nothing was priced or reloaded */
    assert_false(tu_log_wait(&t->srv, "reload:", 10));
}

/* Sends one request with extra headers (each "Name: value\r\n") and body
 * on its own connection; returns the reply and whether the server closed
 * the connection right after it. */
static void send_with_headers(int port, const char *method, const char *path, const char *headers,
                              const char *body, tu_resp *r)
{
    int fd = tu_connect(port);
    assert_true(fd >= 0);
    char *req = tu_fmt("%s %s HTTP/1.1\r\n%s\r\n%s", method, path, headers, body);
    assert_int_equal(tu_send(fd, req, strlen(req)), 0);
    free(req);
    assert_int_equal(tu_read_response(fd, r, false, TU_WAIT_MS), 0);
    char buf[64];
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    r->closed = r->closed || (tu_wait_readable(fd, deadline) && recv(fd, buf, sizeof(buf), 0) <= 0);
    close(fd);
}

static void expect_repeated(int port, const char *method, const char *path, const char *headers,
                            const char *body, const char *header)
{
    tu_resp r;
    char conn[32];
    char *want = tu_fmt("{\"error\":{\"code\":\"bad_request\",\"message\":\"the %s header appears "
                        "more than once: a request may carry it once\",\"details\":[{\"header\":"
                        "\"%s\"}]}}",
                        header, header);
    send_with_headers(port, method, path, headers, body, &r);
    assert_error_reply(&r, 400, want);
    assert_non_null(tu_header(&r, "Connection", conn, sizeof(conn)));
    assert_string_equal(conn, "close");
    assert_true(r.closed);
    tu_resp_free(&r);
    free(want);
}

#define AUTH_ADMIN "Authorization: Bearer " KEY_ADMIN "\r\n"
#define AUTH_PARTNER "Authorization: Bearer " KEY_PARTNER "\r\n"

static void test_e2e_repeated_single_value_headers_are_400(void **state)
{
    e2e *t = *state;
    int port = t->srv.port;
    tu_resp r;
    /* which key is the caller's? neither: partner first used to be 403,
     * admin first 200 */
    expect_repeated(port, "POST", "/v1/admin/reload", "Host: x\r\n" AUTH_PARTNER AUTH_ADMIN, "",
                    "Authorization");
    expect_repeated(port, "POST", "/v1/admin/reload", "Host: x\r\n" AUTH_ADMIN AUTH_PARTNER, "",
                    "Authorization");
    /* where does the body end? 107 then 0 used to be 200 on the first */
    expect_repeated(port, "POST", "/v1/admin/reload",
                    "Host: x\r\n" AUTH_ADMIN "Content-Length: 2\r\nContent-Length: 0\r\n", "{}",
                    "Content-Length");
    expect_repeated(port, "POST", "/v1/admin/reload",
                    "Host: x\r\n" AUTH_ADMIN "content-length: 2\r\nCONTENT-LENGTH: 2\r\n", "{}",
                    "Content-Length");
    /* every other header a request may carry once */
    static const char *const once[] = {"Host", "Content-Type", "Idempotency-Key", "If-Match"};
    for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
        char *h =
            tu_fmt("%s%s: a\r\n%s: b\r\n%s", i ? "Host: x\r\n" : "", once[i], once[i], AUTH_ADMIN);
        expect_repeated(port, "POST", "/v1/admin/reload", h, "", once[i]);
        free(h);
    }
    /* a body framed twice, or both ways: Debian's libevent (2.1.12-8+deb12u1)
     * refuses these itself before cpqd sees them, as cpqd would */
    static const char *const framing[] = {
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        char *h = tu_fmt("Host: x\r\n%s%s", AUTH_ADMIN, framing[i]);
        send_with_headers(port, "POST", "/v1/admin/reload", h, "0\r\n\r\n", &r);
        assert_int_equal(r.status, 400);
        json_t *j = jbody(&r);
        assert_string_equal(jstr(j, "error.code"), "bad_request");
        json_decref(j);
        assert_true(r.closed);
        tu_resp_free(&r);
        free(h);
    }
    /* none of them reloaded anything */
    assert_false(tu_log_wait(&t->srv, "reload:", 10));
    /* a smuggled request after an ambiguous one is never answered */
    static const char smuggle[] =
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 34\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = tu_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(tu_send(fd, smuggle, sizeof(smuggle) - 1), 0);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), 0);
    assert_int_equal(r.status, 400);
    tu_resp_free(&r);
    assert_int_equal(tu_read_response(fd, &r, false, TU_WAIT_MS), -1);
    assert_true(r.closed);
    assert_int_equal(r.status, 0);
    tu_resp_free(&r);
    close(fd);
    /* headers that may repeat still do, and one of each is fine */
    send_with_headers(port, "GET", "/v1/catalog",
                      "Host: x\r\n" AUTH_ADMIN "Accept: a/b\r\nAccept: c/d\r\nX-Trace: 1\r\n"
                      "X-Trace: 2\r\nContent-Type: application/json\r\nIf-Match: \"v1\"\r\n",
                      "", &r);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest read[] = {
        cmocka_unit_test(test_e2e_cases),
        cmocka_unit_test(test_e2e_products_filter_every_mode),
        cmocka_unit_test(test_e2e_healthz_reports_the_checked_version),
        cmocka_unit_test(test_e2e_catalog_lists_ids_versions_and_hashes),
        cmocka_unit_test(test_e2e_chinese_names_round_trip_byte_for_byte),
        cmocka_unit_test(test_e2e_keepalive_serves_consecutive_requests),
        cmocka_unit_test(test_e2e_405_carries_allow_header),
        cmocka_unit_test(test_e2e_protocol_errors_are_json),
    };
    const struct CMUnitTest limits[] = {
        cmocka_unit_test(test_e2e_body_over_max_body_gets_413_json),
        cmocka_unit_test(test_e2e_large_body_sent_in_full_still_reads_413),
        cmocka_unit_test(test_e2e_oversized_head_gets_json_error),
        cmocka_unit_test(test_e2e_stalled_client_is_closed_after_timeout),
        cmocka_unit_test(test_e2e_idle_keepalive_is_closed_after_timeout),
    };
#define FRESH(f) cmocka_unit_test_setup_teardown(f, setup_fresh, teardown_fresh)
    const struct CMUnitTest lifecycle[] = {
        FRESH(test_e2e_reload_keeps_old_snapshot_on_errors_then_publishes),
        FRESH(test_e2e_sighup_reload_keeps_old_on_errors_then_publishes),
        FRESH(test_e2e_sigterm_drains_a_slow_reader_then_exits_0),
        FRESH(test_e2e_sigterm_does_not_wait_for_a_vanished_client),
        FRESH(test_e2e_sigint_with_idle_keepalive_exits_promptly),
        FRESH(test_e2e_serve_refuses_invalid_catalogs),
        FRESH(test_e2e_serve_reports_a_port_in_use),
        FRESH(test_e2e_descriptor_exhaustion_pauses_accepting_and_logs_once),
    };
    int failed = cmocka_run_group_tests_name("e2e_read", read, setup_read, teardown_shared);
    failed += cmocka_run_group_tests_name("e2e_limits", limits, setup_limits, teardown_shared);
    const struct CMUnitTest edge[] = {
        cmocka_unit_test(test_e2e_slow_request_is_closed_at_the_deadline),
        cmocka_unit_test(test_e2e_declared_oversize_body_gets_413_at_once),
        cmocka_unit_test(test_e2e_repeated_single_value_headers_are_400),
    };
    failed += cmocka_run_group_tests_name("e2e_lifecycle", lifecycle, NULL, NULL);
    failed += cmocka_run_group_tests_name("e2e_edge", edge, setup_edge, teardown_shared);
    return failed;
}
