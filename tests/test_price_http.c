/*
 * End-to-end tests of POST /v1/price: the real binary on a free loopback
 * port, on the sample catalogs (catalogs/, rules/) and on a generated
 * catalog whose formulas are the attack snippets of
 * $CPQD_SHARED/lua-attacks. Expected amounts are computed by hand from
 * the catalogs (the arithmetic is next to each assertion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <jansson.h>

typedef struct srv {
    char *dir;
    char *logp;
    tu_server s;
} srv;

static srv *srv_start(const char *cats, const char *rules)
{
    srv *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->dir = tu_tmpdir();
    t->logp = tu_fmt("%s/cpqd.log", t->dir);
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "2", NULL};
    assert_int_equal(tu_server_start(&t->s, t->logp, args), 0);
    return t;
}

static void srv_stop(srv *t)
{
    if (!t)
        return;
    if (t->s.pid > 0)
        assert_int_equal(tu_server_stop(&t->s), 0);
    tu_rm_tree(t->dir);
    free(t->dir);
    free(t->logp);
    free(t);
}

/* POSTs body to /v1/price; returns the parsed body (status in *status). */
static json_t *post_price(srv *t, const char *body, int *status)
{
    tu_resp r;
    assert_int_equal(tu_http(t->s.port, "POST", "/v1/price", NULL, body, strlen(body), &r), 0);
    *status = r.status;
    json_error_t je;
    json_t *j = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
    if (!j)
        fail_msg("response is not JSON (%d): %s", r.status, r.body ? r.body : "");
    tu_resp_free(&r);
    return j;
}

static const char *jstr(json_t *o, const char *path)
{
    json_t *v = json_object_get(o, path);
    if (!json_is_string(v))
        fail_msg("%s is not a string", path);
    return json_string_value(v);
}

static int setup_samples(void **state)
{
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    *state = srv_start(cats, rules);
    free(cats);
    free(rules);
    return 0;
}

static int teardown_srv(void **state)
{
    srv_stop(*state);
    return 0;
}

/* The minimal form: money comes back as decimal strings. */
static void test_price_minimal_form(void **state)
{
    srv *t = *state;
    int st;
    json_t *j = post_price(t,
                           "{\"customer\":{\"id\":\"C-1\"},\"currency\":\"CNY\",\"date\":\"2026-12-"
                           "01\",\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                           &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    /* list 149.00 x 2 = 298.00, tax included at 13%:
     * net = 298.00 / 1.13 = 263.716.. -> 263.72, tax = 34.28 */
    assert_string_equal(jstr(l, "total"), "298.00");
    assert_string_equal(jstr(l, "net"), "263.72");
    assert_string_equal(jstr(l, "tax"), "34.28");
    assert_string_equal(jstr(j, "total"), "298.00");
    assert_string_equal(jstr(j, "tax"), "34.28");
    assert_string_equal(jstr(j, "subtotal"), "263.72");
    assert_string_equal(jstr(j, "currency"), "CNY");
    json_t *wf = json_object_get(l, "waterfall");
    assert_int_equal(json_array_size(wf), 1);
    assert_string_equal(jstr(json_array_get(wf, 0), "step"), "list");
    assert_non_null(strstr(jstr(json_array_get(wf, 0), "source"), "appliances.yaml:"));
    /* the 双十二 order discount is for consumers only: considered, rejected */
    json_t *rej = json_object_get(json_object_get(j, "promotions"), "rejected");
    bool seen = false;
    for (size_t i = 0; i < json_array_size(rej); i++) {
        json_t *p = json_array_get(rej, i);
        if (!strcmp(jstr(p, "id"), "double12-5000-500")) {
            assert_string_equal(jstr(p, "reason"), "for segment consumer only");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(j);
}

/* Singles' Day 15% off refrigerators for online consumers, below the
 * floor: priced, but flagged for approval. */
static void test_price_promotion_and_floor(void **state)
{
    srv *t = *state;
    int st;
    json_t *j = post_price(t,
                           "{\"customer\":{\"id\":\"C-9\",\"segment\":\"consumer\"},\"channel\":"
                           "\"online\",\"date\":\"2026-11-05\",\"lines\":[{\"sku\":\"APL-FRG-MINI\","
                           "\"quantity\":3}]}",
                           &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    /* 799.00 x 3 = 2397.00; 15% = 359.55; 2397.00 - 359.55 = 2037.45 (gross);
     * net 2037.45 / 1.13 = 1803.053.. -> 1803.05; tax 234.40 */
    assert_string_equal(jstr(l, "total"), "2037.45");
    assert_string_equal(jstr(l, "net"), "1803.05");
    assert_string_equal(jstr(l, "tax"), "234.40");
    assert_string_equal(jstr(j, "discount_total"), "359.55");
    json_t *app = json_object_get(json_object_get(j, "promotions"), "applied");
    assert_int_equal(json_array_size(app), 1);
    assert_string_equal(jstr(json_array_get(app, 0), "id"), "double11");
    assert_string_equal(jstr(json_array_get(app, 0), "amount"), "359.55");
    /* floor 699.00 x 3 = 2097.00 > 2037.45 and the book says approval */
    assert_true(json_is_true(json_object_get(l, "approval_required")));
    assert_string_equal(jstr(json_object_get(l, "approval"), "level"), "vp");
    assert_true(json_is_true(json_object_get(j, "approval_required")));
    json_decref(j);
}

/* A requested discount beyond the rep's 10% needs the manager (20%). */
static void test_price_discount_authority(void **state)
{
    srv *t = *state;
    int st;
    json_t *j = post_price(t,
                           "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"role\":\"rep\","
                           "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\",\"discount\":\"12\"}]}",
                           &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    /* 149.00 x 12% = 17.88; 149.00 - 17.88 = 131.12 */
    assert_string_equal(jstr(l, "total"), "131.12");
    json_t *a = json_object_get(l, "approval");
    assert_string_equal(jstr(a, "level"), "manager");
    assert_string_equal(jstr(a, "reason"), "discount 12% exceeds the rep authority of 10%");
    json_decref(j);
    /* the same discount by a manager needs nobody */
    j = post_price(t,
                   "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"role\":\"manager\","
                   "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\",\"discount\":\"12\"}]}",
                   &st);
    assert_int_equal(st, 200);
    assert_true(json_is_false(json_object_get(j, "approval_required")));
    json_decref(j);
}

static void expect_error(srv *t, const char *body, int status, const char *code,
                         const char *in_message)
{
    int st;
    json_t *j = post_price(t, body, &st);
    json_t *e = json_object_get(j, "error");
    if (st != status || !e || strcmp(jstr(e, "code"), code) != 0 ||
        !strstr(jstr(e, "message"), in_message))
        fail_msg("for %s\nexpected %d %s '%s', got %d %s", body, status, code, in_message, st,
                 json_dumps(j, 0));
    json_decref(j);
}

/* Every bad input gets a clear JSON error, and the service keeps serving. */
static void test_price_bad_inputs(void **state)
{
    srv *t = *state;
    expect_error(t, "{\"customer\":", 400, "invalid_parameter", "invalid JSON");
    expect_error(t, "[]", 400, "invalid_parameter", "body: must be a JSON object");
    expect_error(t, "{\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}", 400,
                 "invalid_parameter", "customer: is required");
    expect_error(t,
                 "{\"customer\":{\"id\":\"C\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":1.5}]}",
                 400, "invalid_parameter", "lines[0].quantity: must be a decimal string");
    expect_error(t,
                 "{\"customer\":{\"id\":\"C\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"qty\":\"1\"}]}",
                 400, "invalid_parameter", "lines[0].qty: unknown field");
    expect_error(t, "{\"customer\":{\"id\":\"C\"},\"lines\":[{\"sku\":\"NOPE\",\"quantity\":\"1\"}]}",
                 400, "invalid_parameter", "line 1: unknown product 'NOPE'");
    expect_error(t,
                 "{\"customer\":{\"id\":\"C\"},\"currency\":\"XYZ\",\"lines\":[{\"sku\":\"APL-KTL-17\","
                 "\"quantity\":\"1\"}]}",
                 400, "invalid_parameter", "currency: must be an ISO 4217");
    expect_error(t,
                 "{\"customer\":{\"id\":\"C\"},\"date\":\"2019-01-01\",\"lines\":[{\"sku\":\"APL-KTL-"
                 "17\",\"quantity\":\"1\"}]}",
                 404, "not_found", "no price for APL-KTL-17");
    expect_error(t,
                 "{\"customer\":{\"id\":\"C\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\","
                 "\"discount\":\"101\"}]}",
                 400, "invalid_parameter", "lines[0].discount: must be a percent within 0..100");
    expect_error(t, "{\"customer\":{\"id\":\"C\"},\"lines\":[]}", 400, "invalid_parameter",
                 "lines: must be a non-empty array");
    tu_resp r;
    assert_int_equal(tu_get(t->s.port, "/v1/price", &r), 0);
    assert_int_equal(r.status, 405);
    tu_resp_free(&r);
    assert_int_equal(tu_get(t->s.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
}

/* ---- the attack suite through /v1/price ---- */

typedef struct snippet {
    char name[128];
    char expect[256]; /* after "-- expect: " */
} snippet;

static size_t list_snippets(const char *dir, snippet *out, size_t cap)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < cap) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || len >= sizeof(out[n].name))
            continue;
        char *path = tu_fmt("%s/%s", dir, e->d_name);
        char *text = tu_read_file(path, NULL);
        free(path);
        if (!text || strncmp(text, "-- expect: ", 11) != 0) {
            free(text);
            continue;
        }
        memcpy(out[n].name, e->d_name, len + 1); /* len < sizeof(name), checked above */
        char *nl = strchr(text + 11, '\n');
        if (nl)
            *nl = '\0';
        snprintf(out[n].expect, sizeof(out[n].expect), "%s", text + 11);
        free(text);
        n++;
    }
    closedir(d);
    return n;
}

typedef struct attack_fx {
    char *dir, *cats, *rules, *atk;
    snippet sn[64];
    size_t n;
    srv *s;
} attack_fx;

static bool compile_error_expected(const snippet *s)
{
    return strncmp(s->expect, "ERR_COMPILE", 11) == 0;
}

/* A catalog with one product per snippet (formula = the snippet) and a
 * control product without one. */
static char *attack_catalog(attack_fx *f, bool with_compile_errors)
{
    size_t cap = 8192 + f->n * 512, len = 0;
    char *y = malloc(cap);
    assert_non_null(y);
    len += (size_t)snprintf(y + len, cap - len,
                            "catalog: {id: atk, version: \"1\", name: Attacks, currency: CNY, "
                            "timezone: Asia/Shanghai, tax: {prices_include_tax: false, "
                            "classes: {standard: \"0.10\"}}}\n"
                            "products:\n"
                            "  - {sku: CTL-1, name: Control, category: c, delivery: {mode: goods}}\n");
    for (size_t i = 0; i < f->n; i++) {
        if (compile_error_expected(&f->sn[i]) && !with_compile_errors)
            continue;
        len += (size_t)snprintf(y + len, cap - len,
                                "  - {sku: ATK-%zu, name: Attack %zu, category: c, delivery: "
                                "{mode: goods}, formula: atk/%s}\n",
                                i, i, f->sn[i].name);
    }
    len += (size_t)snprintf(y + len, cap - len,
                            "price_books:\n  - id: list\n    name: List\n    currency: CNY\n"
                            "    valid_from: 2026-01-01\n    entries:\n"
                            "      - {sku: CTL-1, list: \"100.00\"}\n");
    for (size_t i = 0; i < f->n; i++)
        if (!compile_error_expected(&f->sn[i]) || with_compile_errors)
            len += (size_t)snprintf(y + len, cap - len, "      - {sku: ATK-%zu, list: \"100.00\"}\n",
                                    i);
    return y;
}

static int setup_attacks(void **state)
{
    attack_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    const char *shared = getenv("CPQD_SHARED");
    char *src = tu_fmt("%s/lua-attacks", shared && *shared ? shared : "../shared");
    f->n = list_snippets(src, f->sn, 64);
    if (f->n < 30) {
        fprintf(stderr, "found %zu attack snippets in %s (expected >= 30)\n", f->n, src);
        free(src);
        return -1;
    }
    f->dir = tu_tmpdir();
    f->cats = tu_fmt("%s/catalogs", f->dir);
    f->rules = tu_fmt("%s/rules", f->dir);
    f->atk = tu_fmt("%s/rules/atk", f->dir);
    assert_int_equal(mkdir(f->cats, 0700), 0);
    assert_int_equal(mkdir(f->rules, 0700), 0);
    assert_int_equal(mkdir(f->atk, 0700), 0);
    for (size_t i = 0; i < f->n; i++) {
        char *a = tu_fmt("%s/%s", src, f->sn[i].name), *b = tu_fmt("%s/%s", f->atk, f->sn[i].name);
        assert_int_equal(tu_copy_file(a, b), 0);
        free(a);
        free(b);
    }
    free(src);
    char *y = attack_catalog(f, false);
    assert_int_equal(tu_write(f->cats, "atk.yaml", y), 0);
    free(y);
    f->s = srv_start(f->cats, f->rules);
    return 0;
}

static int teardown_attacks(void **state)
{
    attack_fx *f = *state;
    if (!f)
        return 0;
    srv_stop(f->s);
    if (f->dir)
        tu_rm_tree(f->dir);
    free(f->dir);
    free(f->cats);
    free(f->rules);
    free(f->atk);
    free(f);
    return 0;
}

/* The control product prices exactly: 100.00 x 3 = 300.00 + 10% = 330.00. */
static void assert_control_prices(srv *s)
{
    int st;
    json_t *j = post_price(s,
                           "{\"customer\":{\"id\":\"C\"},\"date\":\"2026-06-01\",\"lines\":[{\"sku\":"
                           "\"CTL-1\",\"quantity\":\"3\"}]}",
                           &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "total"), "330.00");
    json_decref(j);
}

/* Every snippet as a formula: a clear 422 naming the rule (or a price
 * when the snippet legitimately returns a money value), never a crash,
 * and the next request on the service is unaffected. */
static void test_price_attacks_through_formulas(void **state)
{
    attack_fx *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        if (compile_error_expected(&f->sn[i]))
            continue;
        char *body = tu_fmt("{\"customer\":{\"id\":\"C\"},\"date\":\"2026-06-01\",\"lines\":[{\"sku\":"
                            "\"ATK-%zu\",\"quantity\":\"1\"}]}",
                            i);
        int st;
        json_t *j = post_price(f->s, body, &st);
        free(body);
        /* money results: only an integer or a decimal; snippets returning
         * strings, floats or tables, or failing, are refused */
        bool money_ok = strncmp(f->sn[i].expect, "OK =", 4) == 0 &&
                        strspn(f->sn[i].expect + 4, "0123456789") == strlen(f->sn[i].expect + 4);
        bool any = strncmp(f->sn[i].expect, "ANY", 3) == 0;
        if (money_ok || (any && st == 200)) {
            if (st != 200)
                fail_msg("%s: expected 200, got %d %s", f->sn[i].name, st, json_dumps(j, 0));
        } else {
            json_t *e = json_object_get(j, "error");
            if (st != 422 || !e || strcmp(jstr(e, "code"), "rule_failed") != 0)
                fail_msg("%s: expected 422 rule_failed, got %d %s", f->sn[i].name, st,
                         json_dumps(j, 0));
            json_t *d = json_array_get(json_object_get(e, "details"), 0);
            const char *file = json_string_value(json_object_get(d, "file"));
            if (!file || !strstr(file, f->sn[i].name))
                fail_msg("%s: the error does not name the rule file: %s", f->sn[i].name,
                         json_dumps(j, 0));
        }
        json_decref(j);
        assert_control_prices(f->s);
    }
    tu_resp r;
    assert_int_equal(tu_get(f->s->s.port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
}

/* Snippets that must not even compile fail the catalog check with the
 * rule's file. */
static void test_price_attack_compile_errors_fail_the_catalog(void **state)
{
    attack_fx *f = *state;
    char *y = attack_catalog(f, true);
    char *dir = tu_fmt("%s/withbad", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(tu_write(dir, "atk.yaml", y), 0);
    free(y);
    const char *argv[] = {"check", dir, "--rules", f->rules, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &out, &err), 1);
    for (size_t i = 0; i < f->n; i++)
        if (compile_error_expected(&f->sn[i]) && !strstr(err, f->sn[i].name))
            fail_msg("no error for %s in:\n%s", f->sn[i].name, err);
    free(out);
    free(err);
    free(dir);
}

/* `serve --clock DATE` is the service's today: a price without a date is
 * priced on it, a quote's default validity counts from it. */
static void test_price_clock_option(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *logp = tu_fmt("%s/clock.log", dir), *db = tu_fmt("%s/c.db", dir);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--db", db,
                          "--clock", "2027-03-01", NULL};
    tu_server s;
    assert_int_equal(tu_server_start(&s, logp, args), 0);
    static const char body[] = "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\","
                               "\"quantity\":\"1\"}]}";
    tu_resp r;
    assert_int_equal(tu_http(s.port, "POST", "/v1/price", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"date\":\"2027-03-01\""));
    tu_resp_free(&r);
    assert_int_equal(tu_http(s.port, "POST", "/v1/quotes", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"valid_until\":\"2027-03-31\"")); /* + 30 days */
    tu_resp_free(&r);
    assert_int_equal(tu_server_stop(&s), 0);
    const char *bad[] = {"serve", "--catalogs", cats, "--listen", "127.0.0.1:0", "--clock",
                         "2027-02-30", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(bad, &out, &err), 2);
    assert_non_null(strstr(err, "invalid --clock '2027-02-30'"));
    free(out);
    free(err);
    tu_rm_tree(dir);
    free(dir);
    free(logp);
    free(db);
    free(cats);
    free(rules);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest samples[] = {
        cmocka_unit_test(test_price_minimal_form),
        cmocka_unit_test(test_price_promotion_and_floor),
        cmocka_unit_test(test_price_discount_authority),
        cmocka_unit_test(test_price_bad_inputs),
    };
    const struct CMUnitTest clock[] = {
        cmocka_unit_test(test_price_clock_option),
    };
    const struct CMUnitTest attacks[] = {
        cmocka_unit_test(test_price_attacks_through_formulas),
        cmocka_unit_test(test_price_attack_compile_errors_fail_the_catalog),
    };
    int failed = cmocka_run_group_tests_name("price_http", samples, setup_samples, teardown_srv);
    failed += cmocka_run_group_tests_name("price_attacks", attacks, setup_attacks, teardown_attacks);
    failed += cmocka_run_group_tests_name("price_clock", clock, NULL, NULL);
    return failed ? 1 : 0;
}
