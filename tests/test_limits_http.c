/*
 * End-to-end tests of the per-key limits (docs/auth.md "Limits"): lines
 * per request (413), quote writes per minute and bytes of quotes stored
 * per day (429 with Retry-After), set in the key file and defaulted by
 * role; a refused request stores nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/money.h"

#include <jansson.h>

#include "contracts_fixture.h"

/* Adds `fields` (YAML lines, each "    key: value\n") to the key file's
 * entry of key k, after its role line, and restarts the server. */
static void set_limits(fx *f, int k, const char *fields)
{
    char *text = tu_read_file(f->keys, NULL);
    assert_non_null(text);
    /* entries are in key order: the k-th "    role: " line */
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
    restart_with(f, NULL, NULL);
}

static int quote_n(fx *f, int k, int lines, json_t **out)
{
    char *body = strdup("{\"customer\":{\"id\":\"C-1\"},\"lines\":[");
    for (int i = 0; i < lines; i++) {
        char *b = tu_fmt("%s%s{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}", body, i ? "," : "");
        free(body);
        body = b;
    }
    char *b = tu_fmt("%s]}", body);
    int st = call(f, k, "POST", "/v1/quotes", b, out);
    free(b);
    free(body);
    return st;
}

static size_t quotes_stored(fx *f)
{
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes", NULL, &j), 200);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

/* max_lines: a request with more lines is 413 on /v1/price and on quotes,
 * nothing stored; at the limit it passes. */
static void test_lines_per_request(void **state)
{
    fx *f = *state;
    set_limits(f, K_REP, "    max_lines: 3\n");
    json_t *j;
    assert_int_equal(quote_n(f, K_REP, 3, &j), 201);
    json_decref(j);
    assert_int_equal(quote_n(f, K_REP, 4, &j), 413);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "payload_too_large");
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "(3)"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", "/v1/price",
                          "{\"customer\":{\"id\":\"C-1\"},\"lines\":["
                          "{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"},"
                          "{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"},"
                          "{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"},"
                          "{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}",
                          &j),
                     413);
    json_decref(j);
    assert_int_equal(quotes_stored(f), 1);
    /* another key keeps its role's default */
    assert_int_equal(quote_n(f, K_MANAGER, 4, &j), 201);
    json_decref(j);
}

/* quotes_per_minute: the bucket holds that many; the next write is 429
 * with Retry-After, and nothing is stored; reads are not counted. */
static void test_quote_writes_per_minute(void **state)
{
    fx *f = *state;
    set_limits(f, K_REP, "    quotes_per_minute: 2\n");
    json_t *j;
    assert_int_equal(quote_n(f, K_REP, 1, &j), 201);
    char *rev = tu_fmt("/v1/quotes/%s/revise", js(j, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", rev,
                          "{\"customer\":{\"id\":\"C-1\"},\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                          &j),
                     201);
    json_decref(j);
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_REP]);
    static const char body[] =
        "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}";
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/quotes", hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 429);
    char rab[32];
    const char *ra = tu_header(&r, "Retry-After", rab, sizeof(rab));
    assert_non_null(ra);
    assert_true(atoi(ra) >= 1 && atoi(ra) <= 30); /* a token a 30 s */
    assert_non_null(strstr(r.body, "rate_limited"));
    tu_resp_free(&r);
    assert_int_equal(call(f, K_REP, "POST", rev,
                          "{\"customer\":{\"id\":\"C-1\"},\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"3\"}]}",
                          &j),
                     429);
    json_decref(j);
    assert_int_equal(quotes_stored(f), 1);
    /* reads and other keys go on */
    assert_int_equal(call(f, K_REP, "GET", "/v1/quotes", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(quote_n(f, K_MANAGER, 1, &j), 201);
    json_decref(j);
    free(rev);
}

/* bytes_per_day: the day's stored bytes (request and priced result) stop
 * at the limit; 429 until the service's next day, nothing stored. */
static void test_bytes_per_day(void **state)
{
    fx *f = *state;
    set_limits(f, K_PARTNER_A, "    bytes_per_day: 6000\n");
    json_t *j;
    assert_int_equal(quote_n(f, K_PARTNER_A, 1, &j), 201); /* about 2 KB */
    json_decref(j);
    int st = 201;
    int n = 1;
    while (st == 201 && n < 10) {
        st = quote_n(f, K_PARTNER_A, 1, &j);
        if (st == 429) {
            assert_non_null(strstr(js(json_object_get(j, "error"), "message"),
                                   "6000 bytes of quotes a day"));
        }
        json_decref(j);
        n += st == 201;
    }
    assert_int_equal(st, 429);
    assert_true(n >= 2 && n < 6);
    assert_int_equal(quotes_stored(f), (size_t)n);
    /* tomorrow (a server on the next day) the budget is back */
    const char *extra[] = {"--clock", "2026-12-02", NULL};
    restart_with(f, NULL, extra);
    assert_int_equal(quote_n(f, K_PARTNER_A, 1, &j), 201);
    json_decref(j);
}

/* The key file refuses a limit that is not a positive integer in range,
 * at its position. */
static void test_limits_in_the_key_file_are_checked(void **state)
{
    fx *f = *state;
    char *text = tu_read_file(f->keys, NULL);
    char *at = strstr(text, "    role: ");
    at = strchr(at, '\n') + 1;
    char *bad = tu_fmt("%.*s    max_lines: 0\n    quotes_per_minute: 1.5\n%s", (int)(at - text),
                       text, at);
    assert_int_equal(tu_write(f->dir, "bad-keys.yaml", bad), 0);
    char *badp = tu_fmt("%s/bad-keys.yaml", f->dir);
    const char *argv[] = {"key", "new", "--keys", badp, "--role", "rep", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &out, &err), 1);
    assert_non_null(strstr(err, "'max_lines' must be an integer from 1 to 20000, not '0'"));
    assert_non_null(strstr(err, "'quotes_per_minute' must be an integer from 1 to 6000000"));
    free(out), free(err), free(bad), free(text), free(badp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_lines_per_request),
        T(test_quote_writes_per_minute),
        T(test_bytes_per_day),
        T(test_limits_in_the_key_file_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
