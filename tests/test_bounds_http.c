/*
 * End-to-end tests of the bounds on what the service takes (issue 11
 * "One bad record never stops work for everyone"; docs/auth.md "Limits",
 * docs/catalog.md "Quantities", docs/receivables.md): the real binary with
 * --keys and --db on the sample catalogs.
 *
 * - quantities follow the product's unit on every route that takes one:
 *   price, quotes (create and revise), BOM options and configuration
 *   choices, usage records, seat changes; a refusal names the field and
 *   the rule, and nothing is stored;
 * - no quantity or amount the service stores can overflow later: the
 *   16-digit usage quantity of the issue is refused and the period then
 *   closes, by hand and by the sweep; a period's records add up within
 *   the maximum;
 * - payment dates lie between signing and today + 7 days, event dates
 *   after signing too; 1900-01-01 and 9999-12-31 are refused with the
 *   allowed range, nothing written;
 * - the sweep processes each item alone: an item made bad behind the API
 *   is rolled back, listed and evented, and every other customer's
 *   periods close, terms renew and warnings go out in the same sweep.
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

#include "contracts_fixture.h"

/* POST path (consumed) with body as k: the status; *out (if wanted) the
 * reply. */
static int post(fx *f, int k, char *path, const char *body, json_t **out)
{
    json_t *j;
    int st = call(f, k, "POST", path, body, &j);
    free(path);
    if (out)
        *out = j;
    else
        json_decref(j);
    return st;
}

static void expect_status(int got, int want, json_t **j)
{
    if (got != want) {
        char *d = j && *j ? json_dumps(*j, 0) : NULL;
        fail_msg("status %d, expected %d: %s", got, want, d ? d : "?");
    }
}

/* The error message of a reply (which must be an error). */
static const char *emsg(json_t *j)
{
    return js(json_object_get(j, "error"), "message");
}

/* Asserts that the reply is an error whose message contains want. */
static void expect_msg(json_t *j, const char *want)
{
    if (!strstr(emsg(j), want))
        fail_msg("message '%s' does not say '%s'", emsg(j), want);
}

/* How many quotes customer has. */
static json_int_t quotes_of(fx *f, const char *customer)
{
    json_t *j;
    char *path = tu_fmt("/v1/quotes?customer=%s&limit=500", customer);
    assert_int_equal(call(f, K_ADMIN, "GET", path, NULL, &j), 200);
    free(path);
    json_int_t n = (json_int_t)json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

#define QUOTE_1(customer, sku, qty)                                                                \
    "{\"customer\":{\"id\":\"" customer "\"},\"lines\":[{\"id\":\"l1\",\"sku\":\"" sku             \
    "\",\"quantity\":" qty "}]}"

#define USAGE(c) tu_fmt("/v1/contracts/%s/usage", c)
#define CLOSE(c, p) tu_fmt("/v1/contracts/%s/periods/%s/close", c, p)
#define SWEEP() tu_fmt("/v1/receivables/sweep")
#define PAY(r) tu_fmt("/v1/receivables/%s/payments", r)

/* ---- quantities follow the product's unit ---- */

/* A stored quote holds no zero and no fraction of a discrete product
 * (APL-HOOD-T is goods: whole numbers from 1); the refusal names the line,
 * the field and the rule, and no quote is written. */
static void test_quote_quantity_follows_the_unit(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {"\"0\"", "\"0.0000001\"", "\"1.5\"",
                                      "0",     "\"-1\"",        "\"1000000000001\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j;
        char *body = tu_fmt("{\"customer\":{\"id\":\"QZ-1\"},\"lines\":[{\"id\":\"h\",\"sku\":"
                            "\"APL-HOOD-T\",\"quantity\":%s}]}",
                            bad[i]);
        int st = call(f, K_REP, "POST", "/v1/quotes", body, &j);
        free(body);
        expect_status(st, 400, &j);
        expect_msg(j, "quantity");
        if (strcmp(bad[i], "\"-1\"") != 0)
            expect_msg(j, "APL-HOOD-T");
        json_decref(j);
    }
    json_t *j;
    /* a whole number whose total is beyond the maximum amount (10^13):
     * 99,999,999,999 x 2,999.00 */
    int st =
        call(f, K_REP, "POST", "/v1/quotes", QUOTE_1("QZ-1", "APL-HOOD-T", "\"99999999999\""), &j);
    expect_status(st, 422, &j);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "limit_exceeded");
    assert_string_equal(emsg(j), "line l1: total 299899999997001.00 is beyond the maximum "
                                 "amount 10000000000000");
    json_decref(j);
    st = call(f, K_REP, "POST", "/v1/quotes", QUOTE_1("QZ-1", "APL-HOOD-T", "\"0\""), &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "lines[0].quantity (line l1): 0 is not a quantity of APL-HOOD-T: "
                                 "whole numbers from 1 to 1000000000000");
    json_decref(j);
    assert_int_equal(quotes_of(f, "QZ-1"), 0);
    /* a whole number is quoted */
    st = call(f, K_REP, "POST", "/v1/quotes", QUOTE_1("QZ-1", "APL-HOOD-T", "\"2\""), &j);
    expect_status(st, 201, &j);
    char *rev = tu_fmt("/v1/quotes/%s/revise", js(j, "id"));
    char *get = tu_fmt("/v1/quotes/%s", js(j, "id"));
    json_decref(j);
    /* a revision to a fraction is refused and the quote stays */
    st = call(f, K_REP, "POST", rev, QUOTE_1("QZ-1", "APL-HOOD-T", "\"2.5\""), &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j),
                        "lines[0].quantity (line l1): 2.5 is not a quantity of APL-HOOD-T: "
                        "whole numbers from 1 to 1000000000000");
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", get, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    json_decref(j);
    free(rev);
    free(get);
    assert_int_equal(quotes_of(f, "QZ-1"), 1);
}

/* POST /v1/price is a what-if: quantity 0 stays allowed (a price-list
 * view of the unit price), a fraction of a discrete product is not; a
 * usage product takes metered decimals up to 6 places. */
static void test_price_whatif_quantities(void **state)
{
    fx *f = *state;
    json_t *j;
    int st = call(f, K_REP, "POST", "/v1/price", QUOTE_1("PZ-1", "APL-HOOD-T", "\"0\""), &j);
    expect_status(st, 200, &j);
    assert_string_equal(js(json_array_get(json_object_get(j, "lines"), 0), "list_price"),
                        "2999.00");
    assert_string_equal(js(j, "total"), "0.00");
    json_decref(j);
    st = call(f, K_REP, "POST", "/v1/price", QUOTE_1("PZ-1", "APL-HOOD-T", "\"0.0000001\""), &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "lines[0].quantity (line l1): 0.0000001 is not a quantity of "
                                 "APL-HOOD-T: whole numbers from 1 to 1000000000000");
    json_decref(j);
    /* usage: GB with decimals, at most 6 places */
    st = call(f, K_REP, "POST", "/v1/price", QUOTE_1("PZ-1", "CLD-OSS-STD", "\"1250.5\""), &j);
    expect_status(st, 200, &j);
    json_decref(j);
    st = call(f, K_REP, "POST", "/v1/price", QUOTE_1("PZ-1", "CLD-OSS-STD", "\"1.0000001\""), &j);
    expect_status(st, 400, &j);
    expect_msg(j, "CLD-OSS-STD");
    json_decref(j);
}

#define EDM_LINE(extra)                                                                            \
    "{\"customer\":{\"id\":\"EZ-1\"},\"lines\":[{\"id\":\"edm\",\"sku\":\"CNC-EDM-W400\","         \
    "\"quantity\":\"1\",\"attributes\":{\"voltage\":\"380\",\"plant_code\":\"SH-0001\"}," extra    \
    "}]}"

/* A ranged BOM quantity follows its option's product too: CNC-WIRE-025
 * (spools, goods) in 2..20 takes 3, never 2.5, as an explicit option, a
 * configuration choice of a quote line, or a /v1/configure choice. */
static void test_option_quantities_follow_the_unit(void **state)
{
    fx *f = *state;
    json_t *j;
    int st = call(f, K_REP, "POST", "/v1/quotes",
                  EDM_LINE("\"options\":[{\"sku\":\"CNC-WIRE-025\",\"quantity\":\"2.5\"}]"), &j);
    expect_status(st, 400, &j);
    expect_msg(j, "line edm: option CNC-WIRE-025: 2.5 is not a quantity of CNC-WIRE-025: whole "
                  "numbers from 1 to 1000000000000");
    json_decref(j);
    st = call(f, K_REP, "POST", "/v1/quotes",
              EDM_LINE("\"configuration\":[{\"path\":\"wire\",\"value\":\"CNC-WIRE-025\","
                       "\"quantity\":\"2.5\"}]"),
              &j);
    expect_status(st, 400, &j);
    expect_msg(j, "CNC-WIRE-025");
    json_decref(j);
    st = call(f, K_REP, "POST", "/v1/configure",
              "{\"product\":\"CNC-EDM-W400\",\"choices\":[{\"path\":\"wire\",\"value\":"
              "\"CNC-WIRE-025\",\"quantity\":\"2.5\"}]}",
              &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "choices[0]: quantity 2.5 is not a quantity of CNC-WIRE-025: "
                                 "whole numbers from 1 to 1000000000000");
    json_decref(j);
    assert_int_equal(quotes_of(f, "EZ-1"), 0);
    /* a whole number in the range is fine */
    st = call(f, K_REP, "POST", "/v1/quotes",
              EDM_LINE("\"configuration\":[{\"path\":\"wire\",\"value\":\"CNC-WIRE-025\","
                       "\"quantity\":\"3\"}]"),
              &j);
    expect_status(st, 201, &j);
    json_decref(j);
}

#define ENT_Q(qty)                                                                                 \
    "{\"customer\":{\"id\":\"S-9\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"ent\",\"sku\":\"SAS-CRM-ENT-M\",\"quantity\":\"" qty "\",\"options\":[],"           \
    "\"attributes\":{\"tenant\":\"delta\"}}]}"

/* A catalog's own rule holds on every route: SAS-CRM-ENT-M is sold from
 * 5 to 10,000 seats (catalogs/saas.yaml), the product shows it, a quote
 * and a seat change below it are refused; CLD-CONS-ARCH is metered in
 * quarter hours up to 2,000 a record (catalogs/cloud.yaml). */
static void test_catalog_quantity_rules(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/SAS-CRM-ENT-M", NULL, &j), 200);
    json_t *qr = json_object_get(j, "quantity");
    assert_string_equal(js(qr, "min"), "5");
    assert_string_equal(js(qr, "max"), "10000");
    assert_string_equal(js(qr, "step"), "1");
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/CLD-OSS-STD", NULL, &j), 200);
    qr = json_object_get(j, "quantity");
    assert_string_equal(js(qr, "min"), "0");
    assert_string_equal(js(qr, "max"), "1000000000000");
    assert_string_equal(js(qr, "step"), "0.000001");
    json_decref(j);
    int st = call(f, K_REP, "POST", "/v1/quotes", ENT_Q("3"), &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "lines[0].quantity (line ent): 3 is not a quantity of "
                                 "SAS-CRM-ENT-M: whole numbers from 5 to 10000");
    json_decref(j);
    assert_int_equal(quotes_of(f, "S-9"), 0);
    json_t *q = approved_quote(f, K_REP, ENT_Q("10"));
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"start_on\":\"2027-01-01\"}");
    char *seats = tu_fmt("/v1/contracts/%s/lines/ent/seats", js(c, "id"));
    st = call(f, K_REP, "POST", seats,
              "{\"id\":\"chg-1\",\"quantity\":\"3\",\"effective_on\":\"2027-02-01\"}", &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "quantity (line ent): 3 is not a quantity of SAS-CRM-ENT-M: "
                                 "whole numbers from 5 to 10000");
    json_decref(j);
    st = call(f, K_REP, "POST", seats,
              "{\"id\":\"chg-1\",\"quantity\":\"12\",\"effective_on\":\"2027-02-01\"}", &j);
    expect_status(st, 201, &j); /* the id was free: nothing was written */
    json_decref(j);
    free(seats);
    json_decref(c);
    json_decref(q);
    /* metered in quarter hours */
    q = approved_quote(f, K_REP,
                       "{\"customer\":{\"id\":\"K-1\"},\"date\":\"2026-12-01\",\"lines\":["
                       "{\"id\":\"arch\",\"sku\":\"CLD-CONS-ARCH\",\"quantity\":\"10\"}]}");
    c = accept_ok(f, K_REP, js(q, "id"),
                  "{\"signed_on\":\"2026-12-01\",\"start_on\":\"2027-01-01\"}");
    const char *cid = js(c, "id");
    static const char *const bad[] = {"1.3", "2000.25", "0.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b = tu_fmt("{\"id\":\"a%zu\",\"line\":\"arch\",\"period\":\"2027-01\","
                         "\"quantity\":\"%s\"}",
                         i, bad[i]);
        st = post(f, K_CRM, USAGE(cid), b, &j);
        free(b);
        expect_status(st, 400, &j);
        char *want = tu_fmt("quantity (line arch): %s is not a quantity of CLD-CONS-ARCH: from 0 "
                            "in steps of 0.25 to 2000",
                            bad[i]);
        assert_string_equal(emsg(j), want);
        free(want);
        json_decref(j);
    }
    st = post(f, K_CRM, USAGE(cid),
              "{\"id\":\"a0\",\"line\":\"arch\",\"period\":\"2027-01\",\"quantity\":\"1.25\"}", &j);
    expect_status(st, 201, &j);
    json_decref(j);
    json_decref(c);
    json_decref(q);
}

/* ---- usage: the 16-digit quantity, and what a period adds up to ---- */

static int usage(fx *f, const char *cid, const char *id, const char *line, const char *period,
                 const char *qty, json_t **out)
{
    char *b = tu_fmt("{\"id\":\"%s\",\"line\":\"%s\",\"period\":\"%s\",\"quantity\":\"%s\"}", id,
                     line, period, qty);
    int st = post(f, K_CRM, USAGE(cid), b, out);
    free(b);
    return st;
}

/* A cloud contract from Jan 1 2027 (signed Dec 1 2026): its id. */
static char *cloud_contract(fx *f, const char *customer)
{
    char *qb = tu_fmt("{\"customer\":{\"id\":\"%s\"},\"date\":\"2026-12-01\",\"lines\":["
                      "{\"id\":\"oss\",\"sku\":\"CLD-OSS-STD\",\"quantity\":\"1000\"},"
                      "{\"id\":\"gpu\",\"sku\":\"CLD-GPU-A10\",\"quantity\":\"10\"}]}",
                      customer);
    json_t *q = approved_quote(f, K_REP, qb);
    free(qb);
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"start_on\":\"2027-01-01\"}");
    char *id = strdup(js(c, "id"));
    json_decref(c);
    json_decref(q);
    return id;
}

/* The issue: "quantity":"9999999999999999" was 201, then every close and
 * sweep failed with "usage amount overflows". Now the record is refused
 * (400, naming the field and the maximum), nothing is stored (the same
 * record id is free), and January closes by hand and by the sweep. */
static void test_usage_quantity_of_16_digits_is_refused(void **state)
{
    fx *f = *state;
    char *cid = cloud_contract(f, "U-1");
    json_t *j;
    int st = usage(f, cid, "u1", "oss", "2027-01", "9999999999999999", &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "quantity (line oss): 9999999999999999 is not a quantity of "
                                 "CLD-OSS-STD: decimals with at most 6 places from 0 to "
                                 "1000000000000");
    json_decref(j);
    /* nothing stored: the id is free, and the period's records are its own */
    expect_status(usage(f, cid, "u1", "oss", "2027-01", "100000", &j), 201, &j);
    json_decref(j);
    expect_status(usage(f, cid, "u2", "oss", "2027-01", "0.0000001", &j), 400, &j);
    json_decref(j);
    expect_status(post(f, K_CRM, CLOSE(cid, "2027-01"), "", &j), 200, &j);
    json_t *c0 = json_array_get(json_object_get(j, "closed"), 0);
    assert_string_equal(js(c0, "quantity"), "100000");
    assert_string_equal(js(c0, "amount"), "12461.36");
    json_decref(j);
    /* the sweep closes February (no usage) */
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "closed_periods")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 0);
    json_decref(j);
    free(cid);
}

/* A period's records add up within the maximum: 600,000,000,000 GB is a
 * valid record, a second one would take February over 10^12 (422, the
 * period's total named), and the period still closes. */
static void test_usage_period_total_is_bounded(void **state)
{
    fx *f = *state;
    char *cid = cloud_contract(f, "U-2");
    json_t *j;
    expect_status(usage(f, cid, "big1", "oss", "2027-02", "600000000000", &j), 201, &j);
    json_decref(j);
    int st = usage(f, cid, "big2", "oss", "2027-02", "600000000000", &j);
    expect_status(st, 422, &j);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "limit_exceeded");
    expect_msg(j, "1200000000000");
    expect_msg(j, "1000000000000");
    json_decref(j);
    /* what the period holds is billable (graduated): 51,200 x 0.12 =
     * 6,144.00, 460,800 x 0.115 = 52,992.00, 599,999,488,000 x 0.11 =
     * 65,999,943,680.00; 66,000,002,816.00 + 6% = 69,960,002,984.96 */
    expect_status(post(f, K_CRM, CLOSE(cid, "2027-02"), "{\"line\":\"oss\"}", &j), 200, &j);
    json_t *c0 = json_array_get(json_object_get(j, "closed"), 0);
    assert_string_equal(js(c0, "quantity"), "600000000000");
    assert_string_equal(js(c0, "amount"), "69960002984.96");
    json_decref(j);
    free(cid);
}

/* ---- dates within sense ---- */

#define GOODS_Q                                                                                    \
    "{\"customer\":{\"id\":\"D-1\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}"

/* paid_on lies between signing (Dec 2) and today + 7 (Dec 8): 1900-01-01
 * and 9999-12-31 are 400 with the range, and nothing is paid. */
static void test_payment_dates_are_bounded(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q), *j;
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":{\"delivered_on\":"
                          "\"2026-12-02\"}}}");
    json_t *it = json_array_get(json_object_get(c, "items"), 0);
    const char *rid = js(it, "id");
    static const char *const bad[] = {"1900-01-01", "9999-12-31", "2026-12-01", "2026-12-09"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b = tu_fmt("{\"id\":\"p-%zu\",\"amount\":\"1.00\",\"paid_on\":\"%s\"}", i, bad[i]);
        int st = post(f, K_REP, PAY(rid), b, &j);
        free(b);
        expect_status(st, 400, &j);
        char *want = tu_fmt("paid_on: %s is outside 2026-12-02 (the contract's signing) to "
                            "2026-12-08 (today + 7 days)",
                            bad[i]);
        assert_string_equal(emsg(j), want);
        free(want);
        json_decref(j);
    }
    json_t *r = receivables(f, K_REP, js(c, "id"), NULL);
    assert_string_equal(js(json_array_get(json_object_get(r, "items"), 0), "paid"), "0.00");
    json_decref(r);
    /* the bounds themselves are fine */
    expect_status(post(f, K_REP, PAY(rid),
                       "{\"id\":\"p-lo\",\"amount\":\"1.00\",\"paid_on\":\"2026-12-02\"}", &j),
                  201, &j);
    json_decref(j);
    expect_status(post(f, K_REP, PAY(rid),
                       "{\"id\":\"p-hi\",\"amount\":\"1.00\",\"paid_on\":\"2026-12-08\"}", &j),
                  201, &j);
    json_decref(j);
    json_decref(c);
    json_decref(q);
}

/* Dates of what happened after signing (a delivery, an acceptance, a
 * usage record) lie between signing and today + 7 days, as a payment's;
 * the accept request's event dates too. */
static void test_event_dates_are_bounded(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q), *j;
    int st = accept_q(f, K_REP, js(q, "id"),
                      "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":{\"delivered_on\":"
                      "\"9999-12-31\"}}}",
                      NULL, &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "lines.kettle.delivered_on: 9999-12-31 is outside 2026-12-02 "
                                 "(the contract's signing) to 2026-12-08 (today + 7 days)");
    json_decref(j);
    json_t *c = accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}");
    char *path = tu_fmt("/v1/contracts/%s/lines/kettle/delivered", js(c, "id"));
    st = call(f, K_CRM, "POST", path, "{\"on\":\"9999-12-31\"}", &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "on: 9999-12-31 is outside 2026-12-02 (the contract's signing) "
                                 "to 2026-12-08 (today + 7 days)");
    json_decref(j);
    st = call(f, K_CRM, "POST", path, "{\"on\":\"2026-12-08\"}", &j);
    expect_status(st, 200, &j);
    json_decref(j);
    free(path);
    /* usage recorded_on */
    char *cid = cloud_contract(f, "D-2");
    st = post(f, K_CRM, USAGE(cid),
              "{\"id\":\"r1\",\"line\":\"oss\",\"period\":\"2027-01\",\"quantity\":\"1\","
              "\"recorded_on\":\"1900-01-01\"}",
              &j);
    expect_status(st, 400, &j);
    assert_string_equal(emsg(j), "recorded_on: 1900-01-01 is outside 2026-12-01 (the contract's "
                                 "signing) to 2026-12-08 (today + 7 days)");
    json_decref(j);
    free(cid);
    json_decref(c);
    json_decref(q);
}

/* ---- the sweep: one bad record never stops the others ---- */

static json_t *feed(fx *f)
{
    json_t *j;
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=500", NULL, &j), 200);
    json_t *items = json_incref(json_object_get(j, "items"));
    json_decref(j);
    return items;
}

/* How many events of type about resource id are in the feed. */
static size_t events_of(json_t *items, const char *type, const char *id)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(items, i, e) if (!strcmp(js(e, "type"), type) &&
                                        !strcmp(js(json_object_get(e, "resource"), "id"), id)) n++;
    return n;
}

/* Runs sql on the server's database behind the API: it must change one
 * row. */
static void behind_the_api(fx *f, const char *sql)
{
    store *st = NULL;
    int64_t changed = 0;
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    if (store_debug_exec(st, sql, &changed) != 0)
        fail_msg("%s: %s", sql, store_last_error(st));
    assert_int_equal(changed, 1);
    store_close(st);
}

/* The item of line/kind/seq of a contract or receivables body. */
static json_t *item_of(json_t *c, const char *line, const char *kind, int seq)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i,
                       it) if (!strcmp(js(it, "line"), line) && !strcmp(js(it, "kind"), kind) &&
                               json_integer_value(json_object_get(it, "seq")) == seq) return it;
    fail_msg("no %s item %s/%d", kind, line, seq);
    return NULL;
}

/* The sweep's failure of item, or NULL. */
static json_t *failure_of(json_t *list, const char *item)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (!strcmp(js(x, "item"), item)) return x;
    return NULL;
}

static char *saas_contract(fx *f, const char *customer)
{
    char *qb = tu_fmt("{\"customer\":{\"id\":\"%s\"},\"date\":\"2026-12-01\",\"lines\":[{\"id\":"
                      "\"seats\",\"sku\":\"SAS-CRM-STD-M\",\"quantity\":\"10\",\"attributes\":"
                      "{\"tenant\":\"gamma\"}}]}",
                      customer);
    json_t *q = approved_quote(f, K_REP, qb);
    free(qb);
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"start_on\":\"2027-01-01\"}");
    char *id = strdup(js(c, "id"));
    json_decref(c);
    json_decref(q);
    return id;
}

/* Records made bad behind the API (the 16-digit usage quantity
 * in A's January; C2's stored accept request unreadable) fail alone: in
 * the same sweep at Mar 1 2027 every other customer's periods close (B's
 * January, 12,461.36 and 21,200.00; A's GPU line too), C's monthly seats
 * renew (Feb and Mar), and the overdue warnings go out (D's kettle, B's
 * closed usage, C's renewed February). The failures are in the reply,
 * listed (once per item, counted per run) and evented once; after A's
 * record is repaired, the next sweep closes its period and the listing
 * shows the failure resolved. */
static void test_sweep_goes_on_past_a_bad_record(void **state)
{
    fx *f = *state;
    json_t *j;
    char *a = cloud_contract(f, "SW-A"), *b = cloud_contract(f, "SW-B");
    char *cc = saas_contract(f, "SW-C"), *c2 = saas_contract(f, "SW-C2");
    expect_status(usage(f, a, "bad-1", "oss", "2027-01", "100", &j), 201, &j);
    json_decref(j);
    expect_status(usage(f, b, "ok-1", "oss", "2027-01", "100000", &j), 201, &j);
    json_decref(j);
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    json_t *d = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"lines\":{\"kettle\":{\"delivered_on\":"
                          "\"2026-12-01\"}}}");
    json_decref(q);
    char *sql = tu_fmt("UPDATE usage_records SET quantity = '9999999999999999' WHERE contract_id "
                       "= '%s' AND client_id = 'bad-1'",
                       a);
    behind_the_api(f, sql);
    free(sql);
    sql = tu_fmt("UPDATE contracts SET request = 'not json' WHERE id = '%s'", c2);
    behind_the_api(f, sql);
    free(sql);

    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "closed_periods")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 2);
    /* C2's unreadable request fails each of its items alone: the
     * renewal, and the finance sweep's invoice and revenue (saas has a
     * finance section) */
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 4);
    char *ia = tu_fmt("period_close:%s:0:0", a), *ic = tu_fmt("renewal:%s:0", c2);
    char *ii = tu_fmt("invoice:%s", c2), *ir = tu_fmt("revenue:%s", c2);
    json_t *fa = failure_of(json_object_get(j, "failures"), ia);
    json_t *fc = failure_of(json_object_get(j, "failures"), ic);
    assert_non_null(fa);
    assert_non_null(fc);
    assert_non_null(failure_of(json_object_get(j, "failures"), ii));
    assert_non_null(failure_of(json_object_get(j, "failures"), ir));
    assert_string_equal(js(fa, "kind"), "period_close");
    assert_string_equal(js(fa, "contract_id"), a);
    assert_string_equal(js(fa, "ref"), "line oss period 2027-01-01");
    assert_string_equal(js(fa, "code"), "limit_exceeded");
    assert_non_null(strstr(js(fa, "message"), "maximum amount"));
    assert_string_equal(js(fc, "kind"), "renewal");
    assert_string_equal(js(fc, "code"), "internal");
    assert_non_null(strstr(js(fc, "message"), "stored request unreadable"));
    json_decref(j);
    /* the others went through */
    json_t *r = receivables(f, K_REP, b, "2027-03-01");
    assert_string_equal(js(item_of(r, "oss", "usage", 0), "amount"), "12461.36");
    assert_string_equal(js(item_of(r, "gpu", "usage", 0), "amount"), "21200.00");
    json_t *b_oss = json_incref(item_of(r, "oss", "usage", 0));
    json_decref(r);
    r = receivables(f, K_REP, a, "2027-03-01");
    assert_false(
        json_boolean_value(json_object_get(item_of(r, "oss", "usage", 0), "amount_known")));
    assert_string_equal(js(item_of(r, "gpu", "usage", 0), "amount"), "21200.00");
    json_decref(r);
    r = receivables(f, K_REP, cc, "2027-03-01");
    assert_string_equal(js(item_of(r, "seats", "period", 2), "period_from"), "2027-03-01");
    json_t *c_feb = json_incref(item_of(r, "seats", "period", 1));
    json_decref(r);
    r = receivables(f, K_REP, c2, "2027-03-01");
    assert_int_equal(json_array_size(json_object_get(r, "items")), 1); /* not renewed */
    json_decref(r);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivable.overdue",
                               js(json_array_get(json_object_get(d, "items"), 0), "id")),
                     1);
    assert_int_equal(events_of(ev, "receivable.overdue", js(b_oss, "id")), 1);
    assert_int_equal(events_of(ev, "receivable.overdue", js(c_feb, "id")), 1);
    assert_int_equal(events_of(ev, "contract.renewed", cc), 2);
    assert_int_equal(events_of(ev, "contract.renewed", c2), 0);
    assert_int_equal(events_of(ev, "usage.period_closed", b), 2);
    assert_int_equal(events_of(ev, "usage.period_closed", a), 1);
    assert_int_equal(events_of(ev, "sweep.item_failed", a), 1);
    assert_int_equal(events_of(ev, "sweep.item_failed", c2), 3);
    json_decref(ev);

    /* again: still failing, counted, not evented twice */
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 4);
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/receivables/sweep/failures", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 4);
    fa = failure_of(json_object_get(j, "items"), ia);
    assert_non_null(fa);
    assert_int_equal(json_integer_value(json_object_get(fa, "failures")), 2);
    assert_true(json_is_null(json_object_get(fa, "resolved_at")));
    assert_string_equal(js(fa, "contract_id"), a);
    assert_non_null(strstr(js(fa, "message"), "maximum amount"));
    json_decref(j);
    ev = feed(f);
    assert_int_equal(events_of(ev, "sweep.item_failed", a), 1);
    json_decref(ev);
    /* admin and crm only; a status outside the set is 400 */
    assert_int_equal(call(f, K_REP, "GET", "/v1/receivables/sweep/failures", NULL, &j), 403);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_A, "GET", "/v1/receivables/sweep/failures", NULL, &j), 403);
    json_decref(j);
    assert_int_equal(
        call(f, K_ADMIN, "GET", "/v1/receivables/sweep/failures?status=bogus", NULL, &j), 400);
    json_decref(j);

    /* repaired: A's January closes, its failure is resolved */
    sql = tu_fmt("UPDATE usage_records SET quantity = '100' WHERE contract_id = '%s' AND "
                 "client_id = 'bad-1'",
                 a);
    behind_the_api(f, sql);
    free(sql);
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 3);
    json_decref(j);
    r = receivables(f, K_REP, a, "2027-03-01");
    assert_string_equal(js(item_of(r, "oss", "usage", 0), "amount"), "12.72"); /* 100 x 0.12 + 6% */
    json_decref(r);
    assert_int_equal(
        call(f, K_ADMIN, "GET", "/v1/receivables/sweep/failures?status=failing", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    assert_non_null(failure_of(json_object_get(j, "items"), ic));
    assert_null(failure_of(json_object_get(j, "items"), ia));
    json_decref(j);
    assert_int_equal(
        call(f, K_ADMIN, "GET", "/v1/receivables/sweep/failures?status=resolved", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    fa = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(js(fa, "item"), ia);
    assert_true(json_is_string(json_object_get(fa, "resolved_at")));
    json_decref(j);
    json_decref(b_oss);
    json_decref(c_feb);
    json_decref(d);
    free(ia), free(ic), free(ii), free(ir), free(a), free(b), free(cc), free(c2);
}

/* A contract whose quote version's priced result no longer unpacks (a
 * damaged database: its packed text corrupt) fails each of its sweep
 * items alone, with the reason, like any other bad record: it never
 * stops the sweep for the other customers (it did: the store's
 * CPQD_EIO was taken for a failure of the database itself, so the sweep
 * answered 500 and wrote nothing for anyone). */
static void test_sweep_goes_on_past_a_damaged_quote_version(void **state)
{
    fx *f = *state;
    json_t *j;
    char *ok = saas_contract(f, "SW-OK"), *bad = saas_contract(f, "SW-BAD");
    char *sql = tu_fmt("UPDATE quote_versions SET priced = '~z1~AAAA' WHERE quote_id = (SELECT "
                       "quote_id FROM contracts WHERE id = '%s')",
                       bad);
    behind_the_api(f, sql);
    free(sql);

    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 2); /* OK's */
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 3);
    char *ir = tu_fmt("renewal:%s:0", bad), *ii = tu_fmt("invoice:%s", bad);
    char *iv = tu_fmt("revenue:%s", bad);
    const char *const items[] = {ir, ii, iv};
    for (int k = 0; k < 3; k++) {
        json_t *x = failure_of(json_object_get(j, "failures"), items[k]);
        assert_non_null(x);
        assert_string_equal(js(x, "contract_id"), bad);
        assert_string_equal(js(x, "code"), "internal");
        assert_non_null(strstr(js(x, "message"), "priced result is damaged"));
    }
    json_decref(j);
    /* the other customer's line renewed; the damaged one is as it was */
    json_t *r = receivables(f, K_REP, ok, "2027-03-01");
    assert_string_equal(js(item_of(r, "seats", "period", 2), "period_from"), "2027-03-01");
    json_decref(r);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "contract.renewed", ok), 2);
    assert_int_equal(events_of(ev, "contract.renewed", bad), 0);
    assert_int_equal(events_of(ev, "sweep.item_failed", bad), 3);
    json_decref(ev);
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/receivables/sweep/failures", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    json_decref(j);
    /* a read of that one quote answers 500 with the reason */
    char *path = tu_fmt("/v1/contracts/%s", bad);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    path = tu_fmt("/v1/quotes/%s", js(j, "quote_id"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 500);
    free(path);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "internal");
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "priced result is damaged"));
    json_decref(j);
    free(ir), free(ii), free(iv), free(ok), free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_quote_quantity_follows_the_unit),
        T(test_price_whatif_quantities),
        T(test_option_quantities_follow_the_unit),
        T(test_catalog_quantity_rules),
        T(test_usage_quantity_of_16_digits_is_refused),
        T(test_usage_period_total_is_bounded),
        T(test_payment_dates_are_bounded),
        T(test_event_dates_are_bounded),
        T(test_sweep_goes_on_past_a_bad_record),
        T(test_sweep_goes_on_past_a_damaged_quote_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
