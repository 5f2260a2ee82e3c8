/*
 * Unit tests for http's views (src/http_int.h): what each caller role may
 * see, the bound on inline BOM depth, and the error list. The routes
 * themselves are covered end to end by tests/test_e2e.c.
 */
/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_int.h"
#include "testutil.h"

static cat_snapshot *load(const char *cats, const char *rules)
{
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load(cats, rules, e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_non_null(s);
    errs_free(e);
    return s;
}

static int setup_e2e(void **state)
{
    char *cats = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    *state = load(cats, rules);
    free(cats);
    free(rules);
    return 0;
}

static int teardown_snapshot(void **state)
{
    cat_snapshot_release(*state);
    return 0;
}

/* Whether key appears anywhere in v, at any depth. */
static bool has_key(json_t *v, const char *key)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (strcmp(k, key) == 0 || has_key(x, key))
                return true;
        }
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (has_key(x, key))
                return true;
        }
    }
    return false;
}

/* The "book" ids of a product view's prices, comma-joined (static). */
static const char *books_of(json_t *product)
{
    static char buf[256];
    json_t *prices = json_object_get(product, "prices");
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(prices); i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(json_array_get(prices, i), "book")));
    }
    return buf;
}

static json_t *view(const cat_snapshot *s, const char *sku, const http_caller *c)
{
    const cat_product *p = cat_snapshot_product(s, sku, strlen(sku));
    assert_non_null(p);
    json_t *j = http_view_product(s, p, c);
    assert_non_null(j);
    return j;
}

static void test_http_view_internal_sees_every_book_with_cost_and_floor(void **state)
{
    http_caller internal = {.role = HTTP_ROLE_INTERNAL};
    json_t *j = view(*state, "MX-100", &internal);
    assert_string_equal(books_of(j), "list-2026,list-2026,factory-2026,p007,other-partner");
    json_t *first = json_array_get(json_object_get(j, "prices"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "cost")), "800000.00");
    assert_string_equal(json_string_value(json_object_get(first, "floor")), "1100000.00");
    json_decref(j);
}

static void test_http_view_partner_never_sees_cost_floor_or_ceiling(void **state)
{
    http_caller partner = {.role = HTTP_ROLE_PARTNER, .partner_id = "P-007", .segment = "factory"};
    json_t *j = view(*state, "MX-100", &partner);
    /* books for all, its segment and itself; not another partner's */
    assert_string_equal(books_of(j), "list-2026,list-2026,factory-2026,p007");
    assert_false(has_key(j, "cost"));
    assert_false(has_key(j, "floor"));
    assert_false(has_key(j, "ceiling")); /* a bound a partner could price against */
    json_t *first = json_array_get(json_object_get(j, "prices"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "list")), "1280000.00");
    json_decref(j);
    /* nor on a product whose only book carries a cost */
    j = view(*state, "SAAS-SEAT", &partner);
    assert_string_equal(books_of(j), "cloud-list");
    assert_false(has_key(j, "cost"));
    json_decref(j);
}

static void test_http_view_partner_without_segment_sees_only_its_books(void **state)
{
    http_caller partner = {.role = HTTP_ROLE_PARTNER, .partner_id = "P-999"};
    json_t *j = view(*state, "MX-100", &partner);
    assert_string_equal(books_of(j), "list-2026,list-2026,other-partner");
    assert_false(has_key(j, "cost"));
    json_decref(j);
    http_caller stranger = {.role = HTTP_ROLE_PARTNER, .partner_id = "P-000", .segment = "hospital"};
    j = view(*state, "MX-100", &stranger);
    assert_string_equal(books_of(j), "list-2026,list-2026");
    json_decref(j);
}

/* D-1 contains D-2 contains ... D-6, one group each. */
static void test_http_view_bounds_inline_bom_depth(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *yaml =
        tu_fmt("catalog:\n  id: deep\n  version: \"1\"\n  name: Deep\n  currency: CNY\n"
               "  timezone: UTC\n  tax: {prices_include_tax: true, classes: {std: \"0\"}}\n"
               "products:\n");
    for (int i = 1; i <= 6; i++) {
        char *more = i < 6 ? tu_fmt("    groups: [{id: g, name: G, min: 1, max: 1, options: "
                                    "[{sku: D-%d}]}]\n",
                                    i + 1)
                           : tu_fmt("%s", "");
        char *next = tu_fmt("%s  - sku: D-%d\n    name: Level %d\n    category: deep\n"
                            "    delivery: {mode: goods}\n%s",
                            yaml, i, i, more);
        free(yaml);
        free(more);
        yaml = next;
    }
    assert_int_equal(tu_write(dir, "deep.yaml", yaml), 0);
    cat_snapshot *s = load(dir, dir);
    http_caller internal = {.role = HTTP_ROLE_INTERNAL};
    json_t *j = view(s, "D-1", &internal);
    json_t *opt = j;
    /* levels 2..4 are inline; level 5 says it has groups but does not
     * expand them (HTTP_VIEW_MAX_DEPTH = 4 levels) */
    for (int level = 2; level <= 5; level++) {
        opt = json_array_get(
            json_object_get(json_array_get(json_object_get(opt, "groups"), 0), "options"), 0);
        assert_non_null(opt);
        char sku[16];
        snprintf(sku, sizeof(sku), "D-%d", level);
        assert_string_equal(json_string_value(json_object_get(opt, "sku")), sku);
        assert_true(json_is_true(json_object_get(opt, "has_groups")));
    }
    assert_null(json_object_get(opt, "groups"));
    assert_int_equal(HTTP_VIEW_MAX_DEPTH, 4);
    json_decref(j);
    cat_snapshot_release(s);
    free(yaml);
    tu_rm_tree(dir);
    free(dir);
}

static void test_http_view_errs_lists_positions_up_to_max(void **state)
{
    (void)state;
    cpqd_errs *e = errs_new();
    errs_add(e, CPQD_EINVAL, "a.yaml", 3, 4, "bad %s", "thing");
    errs_add(e, CPQD_EIO, NULL, 0, 0, "no file");
    json_t *j = http_view_errs(e, 10);
    json_error_t je;
    json_t *want =
        json_loads("[{\"file\":\"a.yaml\",\"line\":3,\"col\":4,\"message\":\"bad thing\"},"
                   "{\"file\":null,\"line\":0,\"col\":0,\"message\":\"no file\"}]",
                   0, &je);
    assert_true(json_equal(j, want));
    json_decref(j);
    json_decref(want);
    j = http_view_errs(e, 1);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    errs_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_view_internal_sees_every_book_with_cost_and_floor),
        cmocka_unit_test(test_http_view_partner_never_sees_cost_floor_or_ceiling),
        cmocka_unit_test(test_http_view_partner_without_segment_sees_only_its_books),
        cmocka_unit_test(test_http_view_bounds_inline_bom_depth),
        cmocka_unit_test(test_http_view_errs_lists_positions_up_to_max),
    };
    return cmocka_run_group_tests_name("http_view", tests, setup_e2e, teardown_snapshot);
}
