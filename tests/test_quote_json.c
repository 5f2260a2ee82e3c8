/*
 * Unit tests for quote_json's request codec: a quote body read without a
 * tree (price_json_fast.c) and its stored text written from the body's
 * own bytes hold what the jansson path gives (the tree's sorted dump):
 * the same price request, the pricing date pinned, valid_until, and the
 * caller's identity. Bodies the fast path leaves alone (a null date, an
 * escape, a caller value that needs one, a bad valid_until) take the
 * tree, with its errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "quote_int.h"
#include "cpqd/date.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static date_days day(const char *s)
{
    date_days d;
    assert_int_equal(date_parse(s, strlen(s), &d), 0);
    return d;
}

/* Parses body on 2026-12-01 with the identity (role, partner, segment,
 * authority "" for none) and seals it; the stored text's members must
 * equal want's (a JSON text); *fast says whether it went without a
 * tree. */
static void sealed(const char *body, const char *role, const char *partner, const char *segment,
                   const char *authority, const char *want, bool *fast)
{
    quote_req r;
    cpqd_errs *e = errs_new();
    int rc = quote_json_req_parse(body, strlen(body), day("2026-12-01"), &r, e);
    if (rc) {
        fail_msg("refused %s: %s", body, errs_count(e) ? errs_get(e, 0)->msg : "");
    }
    *fast = r.tree == NULL;
    r.rq->role = role;
    r.rq->partner_id = partner;
    r.rq->segment = segment;
    if (*authority) {
        r.rq->has_authority = true;
        assert_int_equal(money_parse(authority, strlen(authority), &r.rq->authority), 0);
    }
    assert_int_equal(quote_json_req_seal(&r), 0);
    json_error_t je;
    json_t *got = json_loads(r.request, JSON_REJECT_DUPLICATES, &je);
    json_t *w = json_loads(want, 0, &je);
    if (!got)
        fail_msg("stored text is not JSON (%s): %s", je.text, r.request);
    assert_non_null(w);
    if (!json_equal(got, w))
        fail_msg("stored %s\nwanted %s", r.request, want);
    json_decref(got);
    json_decref(w);
    quote_req_fini(&r);
    errs_free(e);
}

#define LINES "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]"
#define CUST "\"customer\":{\"id\":\"C-1\"}"

static void test_fast_text_holds_what_the_tree_holds(void **state)
{
    (void)state;
    bool fast;
    /* no date: pinned to today; the caller appended */
    sealed("{" CUST "," LINES "}", "rep", NULL, NULL, "",
           "{" CUST "," LINES ",\"date\":\"2026-12-01\",\"caller\":{\"authority\":null,"
           "\"partner_id\":null,\"role\":\"rep\",\"segment\":null}}",
           &fast);
    assert_true(fast);
    /* a date and valid_until kept; whitespace around and inside; a partner */
    sealed(" {\n " CUST " , \"date\" : \"2026-11-20\",\"valid_until\":\"2027-01-31\", " LINES
           " } \r\n\t",
           "partner", "P-101", "gold", "12.5",
           "{" CUST ",\"date\":\"2026-11-20\",\"valid_until\":\"2027-01-31\"," LINES
           ",\"caller\":{\"authority\":\"12.5\",\"partner_id\":\"P-101\",\"role\":\"partner\","
           "\"segment\":\"gold\"}}",
           &fast);
    assert_true(fast);
    /* UTF-8 passes through byte for byte */
    sealed("{\"customer\":{\"id\":\"客户-1\"}," LINES "}", "rep", NULL, "华东", "",
           "{\"customer\":{\"id\":\"客户-1\"}," LINES ",\"date\":\"2026-12-01\",\"caller\":{"
           "\"authority\":null,\"partner_id\":null,\"role\":\"rep\",\"segment\":\"华东\"}}",
           &fast);
    assert_true(fast);
}

static void test_unusual_bodies_take_the_tree(void **state)
{
    (void)state;
    bool fast;
    /* a null date: pinned to today as well */
    sealed("{" CUST ",\"date\":null," LINES "}", "rep", NULL, NULL, "",
           "{" CUST "," LINES ",\"date\":\"2026-12-01\",\"caller\":{\"authority\":null,"
           "\"partner_id\":null,\"role\":\"rep\",\"segment\":null}}",
           &fast);
    assert_false(fast);
    /* an escape in the body */
    sealed("{\"customer\":{\"id\":\"C-\\u0031\"}," LINES "}", "rep", NULL, NULL, "",
           "{" CUST "," LINES ",\"date\":\"2026-12-01\",\"caller\":{\"authority\":null,"
           "\"partner_id\":null,\"role\":\"rep\",\"segment\":null}}",
           &fast);
    assert_false(fast);
    /* a caller's value that needs an escape: read fast, written by the tree */
    sealed("{" CUST "," LINES "}", "rep", NULL, "a\"b\\c", "",
           "{" CUST "," LINES ",\"date\":\"2026-12-01\",\"caller\":{\"authority\":null,"
           "\"partner_id\":null,\"role\":\"rep\",\"segment\":\"a\\\"b\\\\c\"}}",
           &fast);
    assert_true(fast);
}

/* valid_until the fast path does not take is reported by the tree. */
static void test_bad_valid_until_reported(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{" CUST ",\"valid_until\":\"2026-11-30\"," LINES "}",
        "{" CUST ",\"valid_until\":\"2026-13-01\"," LINES "}",
        "{" CUST ",\"valid_until\":null," LINES "}",
        "{" CUST ",\"valid_until\":20261231," LINES "}",
    };
    static const char *const says[] = {
        "valid_until: must not be in the past",
        "valid_until: must be a date YYYY-MM-DD",
        "valid_until: must be a date YYYY-MM-DD",
        "valid_until: must be a date YYYY-MM-DD",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        quote_req r;
        cpqd_errs *e = errs_new();
        assert_int_equal(
            quote_json_req_parse(bodies[i], strlen(bodies[i]), day("2026-12-01"), &r, e),
            CPQD_EINVAL);
        assert_int_equal(errs_count(e), 1);
        assert_string_equal(errs_get(e, 0)->msg, says[i]);
        quote_req_fini(&r);
        errs_free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_text_holds_what_the_tree_holds),
        cmocka_unit_test(test_unusual_bodies_take_the_tree),
        cmocka_unit_test(test_bad_valid_until_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
