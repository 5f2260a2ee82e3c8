/*
 * End-to-end tests of contracts and receivables (docs/receivables.md
 * "Contracts"): the real binary with --keys and --db on the sample
 * catalogs. Covers accepting a quote of each sample catalog's delivery
 * mode with its schedule checked against hand-computed amounts and dates,
 * exact sums per line and per contract, 409 for a draft and an expired
 * quote, idempotent accept, payments (partial, full, overpayment, too many
 * decimals, replay), the overdue and due-soon lists with as_of and aging,
 * the warning sweep (once per item and state), partner scoping (404), the
 * events in the pull feed, kill -9 right after a 201, and the bytes of
 * the accept reply and its events.
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

static json_t *item_at(json_t *c, size_t i)
{
    json_t *it = json_array_get(json_object_get(c, "items"), i);
    assert_non_null(it);
    return it;
}

static void expect_item(json_t *it, const char *line, const char *kind, const char *amount,
                        const char *due_on, const char *bill_on)
{
    assert_string_equal(js(it, "line"), line);
    assert_string_equal(js(it, "kind"), kind);
    assert_string_equal(js(it, "amount"), amount);
    if (due_on)
        assert_string_equal(js(it, "due_on"), due_on);
    else
        assert_true(json_is_null(json_object_get(it, "due_on")));
    if (bill_on)
        assert_string_equal(js(it, "bill_on"), bill_on);
}

/* ---- tests ---- */

#define GOODS_Q                                                                                    \
    "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"oven\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"},"                              \
    "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"},"                               \
    "{\"id\":\"kettle2\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}"

/* goods: APL-OVN-STEAM (prepaid: 100% on signing) and two kettle lines
 * without a term (100% on delivery; one delivered, one pending with its
 * estimate at signing + lead time 1 day). */
static void test_accept_goods(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    assert_string_equal(line_total(q, "kettle"), "298.00"); /* 2 x 149.00 */
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":"
                          "{\"delivered_on\":\"2026-12-05\"}}}");
    assert_memory_equal(js(c, "id"), "c_", 2);
    assert_string_equal(js(c, "number"), "C-2026-000001");
    assert_string_equal(js(c, "currency"), "CNY");
    /* the quote's total: no line is a subscription or usage */
    assert_string_equal(js(c, "total"), js(q, "total"));
    json_t *items = json_object_get(c, "items");
    assert_int_equal(json_array_size(items), 3);
    expect_item(item_at(c, 0), "oven", "installment", line_total(q, "oven"), "2026-12-02",
                "2026-12-02");
    expect_item(item_at(c, 1), "kettle", "installment", "298.00", "2026-12-05", "2026-12-05");
    /* pending items come last, with their estimate */
    expect_item(item_at(c, 2), "kettle2", "installment", "298.00", NULL, NULL);
    assert_string_equal(js(item_at(c, 2), "waits_for"), "delivery");
    assert_string_equal(js(item_at(c, 2), "expected_on"), "2026-12-03");
    const char *lines[] = {"oven", "kettle", "kettle2"};
    for (int i = 0; i < 3; i++)
        assert_dec_eq(items_sum(items, lines[i]), line_total(q, lines[i]));
    assert_dec_eq(items_sum(items, NULL), js(c, "total"));
    /* the quote is accepted, with its history */
    json_t *g;
    char *path = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &g), 200);
    free(path);
    assert_string_equal(js(g, "status"), "accepted");
    json_t *h = json_object_get(g, "history");
    assert_string_equal(js(json_array_get(h, json_array_size(h) - 1), "to"), "accepted");
    json_decref(g);
    /* GET the contract and its receivables */
    path = tu_fmt("/v1/contracts/%s", js(c, "id"));
    assert_int_equal(call(f, K_CRM, "GET", path, NULL, &g), 200);
    free(path);
    assert_string_equal(js(g, "number"), "C-2026-000001");
    assert_string_equal(js(g, "quote_id"), js(q, "id"));
    json_decref(g);
    json_t *r = receivables(f, K_REP, js(c, "id"), "2026-12-01");
    assert_int_equal(json_array_size(json_object_get(r, "items")), 3);
    assert_string_equal(js(json_array_get(json_object_get(r, "items"), 0), "status"), "scheduled");
    json_decref(r);
    r = receivables(f, K_REP, js(c, "id"), "2026-12-02");
    assert_string_equal(js(json_array_get(json_object_get(r, "items"), 0), "status"), "due");
    json_decref(r);
    /* a second accept of an accepted quote */
    assert_int_equal(accept_q(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}", NULL, &g),
                     409);
    assert_non_null(strstr(js(json_object_get(g, "error"), "message"), "allowed"));
    json_decref(g);
    json_decref(c);
    json_decref(q);
}

/* subscription: SAS-CRM-STD-Q x 10, 282.00 per seat per quarter + 6% =
 * 2,989.20 per period, 12 months from Jan 31 2027: periods anchored on
 * the 31st (Jan 31, Apr 30, Jul 31, Oct 31), billed in advance, due 15
 * days after billing (saas-net15). */
static void test_accept_subscription(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"S-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-Q\",\"quantity\":\"10\","
                               "\"attributes\":{\"tenant\":\"acme\"}}]}");
    assert_string_equal(line_total(q, "seats"), "2989.20");
    json_t *c = accept_ok(f, K_CRM, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-31\"}");
    assert_string_equal(js(c, "total"), "11956.80"); /* 4 x 2989.20 */
    assert_string_equal(js(c, "start_on"), "2027-01-31");
    static const char *const from[] = {"2027-01-31", "2027-04-30", "2027-07-31", "2027-10-31"};
    static const char *const to[] = {"2027-04-30", "2027-07-31", "2027-10-31", "2028-01-31"};
    static const char *const due[] = {"2027-02-15", "2027-05-15", "2027-08-15", "2027-11-15"};
    json_t *items = json_object_get(c, "items");
    assert_int_equal(json_array_size(items), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *it = item_at(c, i);
        expect_item(it, "seats", "period", "2989.20", due[i], from[i]);
        assert_string_equal(js(it, "period_from"), from[i]);
        assert_string_equal(js(it, "period_to"), to[i]);
        assert_int_equal(json_integer_value(json_object_get(it, "seq")), (json_int_t)i);
    }
    assert_dec_eq(items_sum(items, "seats"), "11956.80");
    json_t *l0 = json_array_get(json_object_get(c, "lines"), 0);
    assert_string_equal(js(l0, "total"), "11956.80");
    json_decref(c);
    json_decref(q);
}

/* goods_with_service: MED-IP-V1 with training; usage: CLD-OSS-STD;
 * milestone: PRJ-MES-IMPL (10/20/40/20/10, milestone-net30). */
static void test_accept_other_modes(void **state)
{
    fx *f = *state;
    /* goods_with_service, delivered (Dec 5) and accepted (Dec 8) at
     * signing: the training (100% on acceptance) and the goods
     * (hospital-180: acceptance + 180 days) */
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"H-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"pump\",\"sku\":\"MED-IP-V1\",\"quantity\":\"2\"}]}");
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"pump\":{\"delivered_on\":"
                          "\"2026-12-05\",\"accepted_on\":\"2026-12-08\"}}}");
    json_t *items = json_object_get(c, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(js(item_at(c, 0), "kind"), "service");
    assert_string_equal(js(item_at(c, 0), "ref"), "MED-SVC-TRAIN");
    assert_string_equal(js(item_at(c, 0), "due_on"), "2026-12-08");
    assert_string_equal(js(item_at(c, 1), "kind"), "installment");
    assert_string_equal(js(item_at(c, 1), "due_on"), "2027-06-06"); /* Dec 8 + 180 */
    assert_dec_eq(items_sum(items, "pump"), line_total(q, "pump"));
    assert_string_equal(js(c, "total"), js(q, "total"));
    json_decref(c);
    json_decref(q);

    /* usage: one period in arrears, amount unknown until it closes */
    q = approved_quote(f, K_REP,
                       "{\"customer\":{\"id\":\"U-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"id\":"
                       "\"oss\",\"sku\":\"CLD-OSS-STD\",\"quantity\":\"1000\",\"attributes\":"
                       "{\"region\":\"cn-shanghai\"}}]}");
    c = accept_ok(f, K_REP, js(q, "id"),
                  "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-01\"}");
    assert_int_equal(json_array_size(json_object_get(c, "items")), 1);
    json_t *u = item_at(c, 0);
    expect_item(u, "oss", "usage", "0.00", "2027-02-15", "2027-01-31"); /* eom + 15 */
    assert_false(json_boolean_value(json_object_get(u, "amount_known")));
    assert_string_equal(js(u, "period_from"), "2027-01-01");
    assert_string_equal(js(u, "period_to"), "2027-02-01");
    assert_string_equal(js(c, "total"), "0.00");
    /* nothing to collect yet: a payment is refused */
    json_t *j;
    char *path = tu_fmt("/v1/receivables/%s/payments", js(u, "id"));
    assert_int_equal(call(f, K_REP, "POST", path,
                          "{\"id\":\"pay-1\",\"amount\":\"1.00\",\"paid_on\":\"2026-12-02\"}", &j),
                     409);
    free(path);
    json_decref(j);
    json_decref(c);
    json_decref(q);

    /* milestone: no configuration, so the catalog's defaults: 2,800,000.00
     * with 4 servers at 68,000.00 and 9 project-management months at
     * 45,000.00 = 3,477,000.00, 6% tax: 3,685,620.00 in 10/20/40/20/10;
     * the first milestone accepted at signing is due 30 days later, the
     * others wait */
    q = approved_quote(f, K_REP,
                       "{\"customer\":{\"id\":\"P-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"id\":"
                       "\"mes\",\"sku\":\"PRJ-MES-IMPL\",\"quantity\":\"1\",\"attributes\":"
                       "{\"project_code\":\"PJ-2026-0001\"}}]}");
    assert_string_equal(line_total(q, "mes"), "3685620.00");
    c = accept_ok(f, K_REP, js(q, "id"),
                  "{\"signed_on\":\"2026-12-02\",\"lines\":{\"mes\":{\"milestones\":"
                  "{\"signed\":\"2026-12-02\"}}}}");
    static const char *const ms[] = {"signed", "blueprint", "go-live", "final", "warranty-end"};
    static const char *const amt[] = {"368562.00", "737124.00", "1474248.00", "737124.00",
                                      "368562.00"};
    assert_int_equal(json_array_size(json_object_get(c, "items")), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *it = item_at(c, i);
        expect_item(it, "mes", "milestone", amt[i], i == 0 ? "2027-01-01" : NULL, NULL);
        assert_string_equal(js(it, "ref"), ms[i]);
        if (i)
            assert_string_equal(js(it, "waits_for"), "milestone");
    }
    assert_dec_eq(items_sum(json_object_get(c, "items"), "mes"), "3685620.00");
    json_decref(c);
    json_decref(q);
    /* bad requests change nothing */
    q = approved_quote(f, K_REP, GOODS_Q);
    const char *bad[] = {"{}",
                         "{\"signed_on\":\"2026-13-01\"}",
                         "not json",
                         "{\"signed_on\":\"2026-12-02\",\"lines\":{\"nope\":{}}}",
                         "{\"signed_on\":\"2026-12-02\",\"colour\":1}",
                         "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":{\"delivered_on\":"
                         "\"2026-11-01\"}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = accept_q(f, K_REP, js(q, "id"), bad[i], NULL, &j);
        if (st != 400)
            fail_msg("%s: %d %s", bad[i], st, json_dumps(j, 0));
        json_decref(j);
    }
    path = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(js(j, "status"), "approved");
    json_decref(j);
    json_decref(q);
}

/* Sets valid_until of every version of quote id in the store (server
 * stopped). */
static void set_valid_until(fx *f, const char *id, const char *date)
{
    store *st = NULL;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    char *sql = tu_fmt("UPDATE quote_versions SET valid_until = '%s' WHERE quote_id = '%s'", date,
                       id); /* a date and a q_ id: no quoting needed */
    assert_int_equal(store_debug_exec(st, sql, NULL), 0);
    free(sql);
    store_close(st);
}

static void test_accept_refused_draft_expired_and_idempotent(void **state)
{
    fx *f = *state;
    json_t *j;
    /* a draft */
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", GOODS_Q, &j), 201);
    char *draft = strdup(js(j, "id"));
    json_decref(j);
    assert_int_equal(accept_q(f, K_REP, draft, "{\"signed_on\":\"2026-12-02\"}", NULL, &j), 409);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "allowed: submit"));
    json_decref(j);
    /* an expired one */
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    char *old = strdup(js(q, "id"));
    json_decref(q);
    assert_int_equal(tu_server_stop(&f->s), 0);
    set_valid_until(f, old, "2020-01-01");
    start(f);
    assert_int_equal(accept_q(f, K_REP, old, "{\"signed_on\":\"2026-12-02\"}", NULL, &j), 409);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "expired"));
    json_decref(j);
    char *path = tu_fmt("/v1/quotes/%s", old);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    assert_string_equal(js(j, "status"), "expired");
    json_decref(j);
    free(path);

    /* idempotent: same key and body, the same contract; another body 409 */
    q = approved_quote(f, K_REP, GOODS_Q);
    const char *body = "{\"signed_on\":\"2026-12-02\"}";
    const char *hdr = "Idempotency-Key: acc-1\r\n";
    json_t *a, *b;
    assert_int_equal(accept_q(f, K_REP, js(q, "id"), body, hdr, &a), 201);
    assert_int_equal(accept_q(f, K_REP, js(q, "id"), body, hdr, &b), 201);
    assert_string_equal(js(a, "id"), js(b, "id"));
    assert_string_equal(js(a, "number"), js(b, "number"));
    json_decref(b);
    assert_int_equal(accept_q(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-03\"}", hdr, &b),
                     409);
    json_decref(b);
    /* the number is gap-free: refused accepts took none */
    assert_string_equal(js(a, "number"), "C-2026-000001");
    json_decref(a);
    json_decref(q);
    free(draft);
    free(old);
}

/* The id of the item of line `line` in contract c. */
static char *item_of(json_t *c, const char *line)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i,
                       it) if (!strcmp(js(it, "line"), line)) return strdup(js(it, "id"));
    fail_msg("no item for line %s", line);
    return NULL;
}

static int pay(fx *f, int k, const char *rid, const char *id, const char *amount,
               const char *paid_on, json_t **out)
{
    char *path = tu_fmt("/v1/receivables/%s/payments", rid);
    char *body =
        tu_fmt("{\"id\":\"%s\",\"amount\":\"%s\",\"paid_on\":\"%s\"}", id, amount, paid_on);
    int st = call(f, k, "POST", path, body, out);
    free(path);
    free(body);
    return st;
}

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

static void test_payments_overdue_and_events(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":"
                          "{\"delivered_on\":\"2026-12-05\"}}}");
    char *kettle = item_of(c, "kettle"), *oven = item_of(c, "oven");
    json_t *j;
    /* partial, then the rest: 298.00 = 100.00 + 198.00 */
    assert_int_equal(pay(f, K_REP, kettle, "p-1", "100.00", "2026-12-05", &j), 201);
    json_t *r = json_object_get(j, "receivable");
    assert_string_equal(js(r, "status"), "partially_paid");
    assert_string_equal(js(r, "paid"), "100.00");
    assert_string_equal(js(r, "outstanding"), "198.00");
    json_decref(j);
    /* the same payment again: recorded once */
    assert_int_equal(pay(f, K_REP, kettle, "p-1", "100.00", "2026-12-05", &j), 200);
    assert_string_equal(js(json_object_get(j, "receivable"), "paid"), "100.00");
    json_decref(j);
    assert_int_equal(pay(f, K_REP, kettle, "p-1", "101.00", "2026-12-05", &j), 409);
    json_decref(j);
    /* more than outstanding; more places than CNY has; not positive */
    assert_int_equal(pay(f, K_REP, kettle, "p-2", "198.01", "2026-12-06", &j), 409);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "198.00"));
    json_decref(j);
    assert_int_equal(pay(f, K_REP, kettle, "p-2", "1.005", "2026-12-06", &j), 400);
    json_decref(j);
    assert_int_equal(pay(f, K_REP, kettle, "p-2", "0", "2026-12-06", &j), 400);
    json_decref(j);
    /* partners do not record payments */
    assert_int_equal(pay(f, K_PARTNER_A, kettle, "p-2", "1.00", "2026-12-06", NULL), 403);
    assert_int_equal(pay(f, K_CRM, kettle, "p-2", "198.00", "2026-12-06", &j), 201);
    assert_string_equal(js(json_object_get(j, "receivable"), "status"), "paid");
    assert_string_equal(js(json_object_get(j, "receivable"), "outstanding"), "0.00");
    json_decref(j);
    assert_int_equal(pay(f, K_REP, kettle, "p-3", "0.01", "2026-12-07", &j), 409);
    json_decref(j);
    /* as of Dec 5 only the first payment counted */
    json_t *rs = receivables(f, K_REP, js(c, "id"), "2026-12-05");
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(rs, "items"), i, it) if (!strcmp(js(it, "id"), kettle))
        assert_string_equal(js(it, "status"), "partially_paid");
    json_decref(rs);

    /* overdue as of Jan 20 2027: the oven (due Dec 2: 49 days, 31-60);
     * the kettle is paid */
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/receivables?status=overdue&as_of=2027-01-20", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    it = json_array_get(items, 0);
    assert_string_equal(js(it, "id"), oven);
    assert_string_equal(js(it, "status"), "overdue");
    assert_int_equal(json_integer_value(json_object_get(it, "days_overdue")), 49);
    assert_string_equal(js(it, "aging"), "31-60");
    assert_string_equal(js(it, "contract_id"), js(c, "id"));
    json_decref(j);
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/receivables?status=overdue&as_of=2027-03-10", NULL, &j), 200);
    assert_string_equal(js(json_array_get(json_object_get(j, "items"), 0), "aging"), "90+");
    json_decref(j);
    /* due soon: within 7 days of Nov 30 the oven (Dec 2) and the kettle
     * (Dec 5: its payments came later); within 3 days only the oven */
    assert_int_equal(call(f, K_REP, "GET",
                          "/v1/receivables?status=due_soon&as_of=2026-11-30&within=7", NULL, &j),
                     200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    assert_string_equal(js(json_array_get(json_object_get(j, "items"), 0), "id"), oven);
    assert_string_equal(js(json_array_get(json_object_get(j, "items"), 1), "id"), kettle);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET",
                          "/v1/receivables?status=due_soon&as_of=2026-11-30&within=3", NULL, &j),
                     200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/receivables?status=late", NULL, NULL), 400);
    assert_int_equal(call(f, K_REP, "GET", "/v1/receivables?status=overdue&as_of=x", NULL, NULL),
                     400);
    /* partner B sees none of these */
    assert_int_equal(
        call(f, K_PARTNER_B, "GET", "/v1/receivables?status=overdue&as_of=2027-01-20", NULL, &j),
        200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);

    /* warnings: once per item and state */
    assert_int_equal(
        call(f, K_CRM, "POST", "/v1/receivables/sweep", "{\"as_of\":\"2026-11-30\"}", &j), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "emitted"), "due_soon")),
                     2);
    json_decref(j);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(
            call(f, K_ADMIN, "POST", "/v1/receivables/sweep", "{\"as_of\":\"2027-01-20\"}", &j),
            200);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(j, "emitted"), "overdue")),
            round == 0 ? 1 : 0);
        json_decref(j);
    }
    assert_int_equal(call(f, K_REP, "POST", "/v1/receivables/sweep", "{}", NULL), 403);

    /* the events, each once */
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "quote.status_changed", js(q, "id")), 2); /* submit, accept */
    assert_int_equal(events_of(ev, "contract.signed", js(c, "id")), 1);
    assert_int_equal(events_of(ev, "receivables.scheduled", js(c, "id")), 1);
    assert_int_equal(events_of(ev, "receivable.paid", kettle), 1);
    assert_int_equal(events_of(ev, "receivable.due_soon", oven), 1);
    assert_int_equal(events_of(ev, "receivable.overdue", oven), 1);
    json_array_foreach(ev, i, it)
    {
        const char *type = js(it, "type");
        json_t *p = json_object_get(it, "payload");
        if (!strcmp(type, "contract.signed")) {
            assert_string_equal(js(p, "id"), js(c, "id"));
            assert_int_equal(json_array_size(json_object_get(p, "items")), 3);
        } else if (!strcmp(type, "receivables.scheduled")) {
            assert_string_equal(js(p, "contract_id"), js(c, "id"));
            assert_dec_eq(items_sum(json_object_get(p, "items"), NULL), js(p, "total"));
        } else if (!strcmp(type, "receivable.paid")) {
            assert_string_equal(js(p, "status"), "paid");
        } else if (!strcmp(type, "quote.status_changed") && !strcmp(js(p, "id"), js(q, "id")) &&
                   !strcmp(js(p, "status"), "accepted")) {
            /* the accept's move comes right after the contract's events,
             * and names the contract (docs/events.md) */
            assert_true(i > 0);
            assert_string_equal(js(json_array_get(ev, i - 1), "type"), "receivables.scheduled");
            assert_string_equal(js(p, "contract_id"), js(c, "id"));
        }
    }
    json_decref(ev);
    free(kettle);
    free(oven);
    json_decref(c);
    json_decref(q);
}

/* One receivable whose stored amount no longer parses (a damaged
 * database) stops neither the overdue list nor the contract list, which
 * CRMs poll: the others are listed, the damaged one is named in
 * "damaged" with the reason (once, whatever the page size), never left
 * out silently; the read of that one item answers 500 with the reason. */
static void test_damaged_receivable_stops_no_list(void **state)
{
    fx *f = *state;
    const char *accept = "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":"
                         "{\"delivered_on\":\"2026-12-05\"}}}";
    json_t *qa = approved_quote(f, K_REP, GOODS_Q), *qb = approved_quote(f, K_REP, GOODS_Q);
    json_t *a = accept_ok(f, K_REP, js(qa, "id"), accept), *b = accept_ok(f, K_REP, js(qb, "id"), accept);
    char *bad = item_of(b, "oven");
    store *st = NULL;
    int64_t changed = 0;
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    char *sql = tu_fmt("UPDATE receivables SET amount = '12,5' WHERE id = '%s'", bad);
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    store_close(st);

    /* overdue as of Jan 20 2027: the oven and the kettle of each */
    json_t *j;
    assert_int_equal(
        call(f, K_CRM, "GET", "/v1/receivables?status=overdue&as_of=2027-01-20", NULL, &j), 200);
    json_t *items = json_object_get(j, "items"), *it;
    assert_int_equal(json_array_size(items), 3);
    size_t i;
    json_array_foreach(items, i, it) assert_string_not_equal(js(it, "id"), bad);
    json_t *dmg = json_object_get(j, "damaged");
    assert_int_equal(json_array_size(dmg), 1);
    assert_string_equal(js(json_array_get(dmg, 0), "id"), bad);
    assert_string_equal(js(json_array_get(dmg, 0), "reason"),
                        "its standing cannot be computed from the stored item and its payments");
    json_decref(j);
    /* page by page: the same 3, the damaged one named once */
    size_t listed = 0, named = 0;
    char *after = NULL;
    do {
        char *path = tu_fmt("/v1/receivables?status=overdue&as_of=2027-01-20&limit=1%s%s",
                            after ? "&after=" : "", after ? after : "");
        assert_int_equal(call(f, K_CRM, "GET", path, NULL, &j), 200);
        free(path);
        free(after);
        listed += json_array_size(json_object_get(j, "items"));
        named += json_array_size(json_object_get(j, "damaged"));
        json_t *next = json_object_get(j, "next");
        after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        json_decref(j);
    } while (after);
    assert_int_equal(listed, 3);
    assert_int_equal(named, 1);

    /* the contract list: A with its status, B named with the reason */
    const char *lists[] = {"/v1/contracts", "/v1/contracts?status=open"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(call(f, K_CRM, "GET", lists[k], NULL, &j), 200);
        items = json_object_get(j, "items");
        assert_int_equal(json_array_size(items), 1);
        assert_string_equal(js(json_array_get(items, 0), "id"), js(a, "id"));
        assert_string_equal(js(json_array_get(items, 0), "status"), "open");
        dmg = json_object_get(j, "damaged");
        assert_int_equal(json_array_size(dmg), 1);
        assert_string_equal(js(json_array_get(dmg, 0), "id"), js(b, "id"));
        assert_non_null(strstr(js(json_array_get(dmg, 0), "reason"), bad));
        json_decref(j);
    }

    /* the one item alone: 500 with the reason; its sibling reads */
    char *path = tu_fmt("/v1/receivables/%s", bad);
    assert_int_equal(call(f, K_CRM, "GET", path, NULL, &j), 500);
    free(path);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "cannot be computed"));
    json_decref(j);
    char *kettle = item_of(b, "kettle");
    path = tu_fmt("/v1/receivables/%s", kettle);
    assert_int_equal(call(f, K_CRM, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(js(j, "id"), kettle);
    json_decref(j);
    free(kettle), free(bad);
    json_decref(a), json_decref(b), json_decref(qa), json_decref(qb);
}

/* The payment_status of item rid in body c (an "items" array). */
static const char *pay_status_of(json_t *c, const char *rid, const char **status)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i, it) if (!strcmp(js(it, "id"), rid))
    {
        *status = js(it, "status");
        return js(it, "payment_status");
    }
    fail_msg("no item %s", rid);
    return NULL;
}

/* An overdue item that is partly paid shows both (docs/receivables.md
 * "Status and aging"): the oven (prepaid, 5,999.00 due on signing Dec 2)
 * with 1,000.00 paid on Dec 5 is `overdue` and `partially_paid` as of Dec 5
 * on, in the payment's answer, its receivables, the overdue listing and
 * the receivable.overdue event; as of Dec 3 it is `overdue` and `unpaid`;
 * the kettle, paid in full, is `paid` twice; at signing every item is
 * `unpaid` in the contract and its events. */
static void test_overdue_partly_paid_shows_both(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    assert_string_equal(line_total(q, "oven"), "5999.00");
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":"
                          "{\"delivered_on\":\"2026-12-05\"}}}");
    char *oven = item_of(c, "oven"), *kettle = item_of(c, "kettle");
    const char *st;
    assert_string_equal(pay_status_of(c, oven, &st), "unpaid");
    json_t *j;
    assert_int_equal(pay(f, K_REP, oven, "bank-1", "1000.00", "2026-12-05", &j), 201);
    json_t *r = json_object_get(j, "receivable");
    assert_string_equal(js(r, "status"), "overdue"); /* as of Dec 5 */
    assert_string_equal(js(r, "payment_status"), "partially_paid");
    assert_string_equal(js(r, "outstanding"), "4999.00");
    json_decref(j);
    assert_int_equal(pay(f, K_REP, kettle, "bank-2", "298.00", "2026-12-05", &j), 201);
    assert_string_equal(js(json_object_get(j, "receivable"), "payment_status"), "paid");
    json_decref(j);
    /* the contract as of today (Dec 1): the payments come later */
    char *path = tu_fmt("/v1/contracts/%s", js(c, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(pay_status_of(j, oven, &st), "unpaid");
    assert_string_equal(st, "scheduled");
    json_decref(j);
    /* as of Dec 3 (before the payment) and Dec 5 (after it) */
    r = receivables(f, K_REP, js(c, "id"), "2026-12-03");
    assert_string_equal(pay_status_of(r, oven, &st), "unpaid");
    assert_string_equal(st, "overdue");
    json_decref(r);
    r = receivables(f, K_REP, js(c, "id"), "2026-12-05");
    assert_string_equal(pay_status_of(r, oven, &st), "partially_paid");
    assert_string_equal(st, "overdue");
    assert_string_equal(pay_status_of(r, kettle, &st), "paid");
    assert_string_equal(st, "paid");
    json_decref(r);
    /* the overdue listing and the sweep's event */
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/receivables?status=overdue&as_of=2027-01-20", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(pay_status_of(j, oven, &st), "partially_paid");
    assert_string_equal(st, "overdue");
    json_decref(j);
    assert_int_equal(
        call(f, K_CRM, "POST", "/v1/receivables/sweep", "{\"as_of\":\"2027-01-20\"}", &j), 200);
    json_decref(j);
    json_t *ev = feed(f);
    size_t i, seen = 0;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        const char *type = js(e, "type");
        json_t *p = json_object_get(e, "payload");
        if (!strcmp(type, "receivable.overdue")) {
            assert_string_equal(js(p, "id"), oven);
            assert_string_equal(js(p, "status"), "overdue");
            assert_string_equal(js(p, "payment_status"), "partially_paid");
            seen++;
        } else if (!strcmp(type, "receivable.paid")) {
            assert_string_equal(js(p, "payment_status"), "paid");
            seen++;
        } else if (!strcmp(type, "receivables.scheduled") || !strcmp(type, "contract.signed")) {
            assert_string_equal(pay_status_of(p, oven, &st), "unpaid");
            seen++;
        }
    }
    assert_int_equal(seen, 4);
    json_decref(ev);
    free(oven);
    free(kettle);
    json_decref(c);
    json_decref(q);
}

#define PARTNER_Q                                                                                  \
    "{\"customer\":{\"id\":\"C-9\"},\"date\":\"2026-12-01\",\"lines\":[{\"id\":\"k\",\"sku\":"     \
    "\"APL-KTL-17\",\"quantity\":\"2\"}]}"

static void test_partner_scoping(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_PARTNER_A, PARTNER_Q);
    json_t *j;
    /* another partner cannot accept it */
    assert_int_equal(
        accept_q(f, K_PARTNER_B, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}", NULL, &j), 404);
    json_decref(j);
    json_t *c = accept_ok(f, K_PARTNER_A, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"k\":{\"delivered_on\":"
                          "\"2026-12-04\"}}}");
    assert_string_equal(js(c, "partner_id"), "P-101");
    assert_dec_eq(items_sum(json_object_get(c, "items"), "k"), line_total(q, "k"));
    char *get = tu_fmt("/v1/contracts/%s", js(c, "id"));
    char *recv = tu_fmt("/v1/contracts/%s/receivables", js(c, "id"));
    assert_int_equal(call(f, K_PARTNER_A, "GET", get, NULL, NULL), 200);
    assert_int_equal(call(f, K_PARTNER_A, "GET", recv, NULL, NULL), 200);
    assert_int_equal(call(f, K_PARTNER_B, "GET", get, NULL, NULL), 404);
    assert_int_equal(call(f, K_PARTNER_B, "GET", recv, NULL, NULL), 404);
    assert_int_equal(call(f, K_REP, "GET", get, NULL, NULL), 200);
    assert_int_equal(call(f, K_REP, "GET", "/v1/contracts/c_0000000000000000", NULL, NULL), 404);
    /* the overdue list is scoped to the caller */
    const char *list = "/v1/receivables?status=overdue&as_of=2027-02-01";
    assert_int_equal(call(f, K_PARTNER_A, "GET", list, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", list, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    free(get);
    free(recv);
    json_decref(c);
    json_decref(q);
}

/* kill -9 right after the 201: the contract, its items and its events
 * are there after the restart. */
/* A copy of the sample catalogs in f->dir/cats where partner P-101
 * (appliances) names the payment term retail-30-70 (30% on signing, 70%
 * 15 days after delivery). Returns the directory (malloc'ed). */
static char *catalogs_with_partner_term(fx *f)
{
    char *src = tu_path("catalogs"), *dst = tu_fmt("%s/cats", f->dir);
    assert_int_equal(tu_copy_tree(src, dst), 0);
    char *file = tu_fmt("%s/appliances.yaml", dst);
    size_t len = 0;
    char *text = tu_read_file(file, &len);
    assert_non_null(text);
    static const char from[] = "segment: retail, discount_authority: \"8\"}";
    char *at = strstr(text, from);
    assert_non_null(at);
    char *out = tu_fmt("%.*ssegment: retail, discount_authority: \"8\", payment_term: "
                       "retail-30-70}%s",
                       (int)(at - text), text, at + strlen(from));
    assert_int_equal(tu_write(dst, "appliances.yaml", out), 0);
    free(out), free(text), free(file), free(src);
    return dst;
}

/* The item of line `line`, installment `part`. */
static json_t *part_of(json_t *c, const char *line, int part)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i, it) if (
        !strcmp(js(it, "line"), line) && json_integer_value(json_object_get(it, "part")) == part)
        return it;
    fail_msg("no item %s/%d", line, part);
    return NULL;
}

/* Payment term precedence (docs/receivables.md "Which term applies"):
 * the quote's partner's term beats the product's, and an override in the
 * accept request beats the partner's. */
static void test_payment_term_partner_and_override(void **state)
{
    fx *f = *state;
    char *cats = catalogs_with_partner_term(f);
    restart_with(f, cats, NULL);
    free(cats);
    json_t *q = approved_quote(f, K_PARTNER_A,
                               "{\"customer\":{\"id\":\"C-9\"},\"date\":\"2026-12-01\",\"lines\":["
                               "{\"id\":\"oven\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"},"
                               "{\"id\":\"oven2\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"},"
                               "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}");
    const char *oven = line_total(q, "oven"), *kettle = line_total(q, "kettle");
    json_t *j;
    /* a partner accepts on the catalog's terms (docs/auth.md "Money
     * authority"): naming one is 403, nothing written */
    assert_int_equal(accept_q(f, K_PARTNER_A, js(q, "id"),
                              "{\"signed_on\":\"2026-12-02\",\"lines\":{\"oven\":"
                              "{\"payment_term\":\"retail-eom60\"}}}",
                              NULL, &j),
                     403);
    json_decref(j);
    /* an unknown term in an override: 400, nothing written */
    assert_int_equal(accept_q(f, K_REP, js(q, "id"),
                              "{\"signed_on\":\"2026-12-02\",\"lines\":{\"oven\":"
                              "{\"payment_term\":\"net-999\"}}}",
                              NULL, &j),
                     400);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "net-999"));
    json_decref(j);
    assert_int_equal(accept_q(f, K_REP, js(q, "id"),
                              "{\"signed_on\":\"2026-12-02\",\"lines\":{\"oven\":"
                              "{\"payment_term\":7}}}",
                              NULL, &j),
                     400);
    json_decref(j);
    /* the partner's rep accepts it with another term for the oven */
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{"
                          "\"oven\":{\"payment_term\":\"retail-eom60\"},"
                          "\"oven2\":{\"delivered_on\":\"2026-12-08\"},"
                          "\"kettle\":{\"delivered_on\":\"2026-12-05\"}}}");
    assert_int_equal(json_array_size(json_object_get(c, "items")), 5);
    /* oven: the override retail-eom60, 100% end of month + 60 from
     * signing: Dec 31 2026 + 60 days = Mar 1 2027 (31 + 28 + 1) */
    expect_item(part_of(c, "oven", 0), "oven", "installment", oven, "2027-03-01", "2026-12-02");
    /* oven2: the product says prepaid, the partner's retail-30-70 wins:
     * 30% of the line on signing, 70% on delivery (Dec 8) + 15 = Dec 23 */
    assert_string_equal(line_total(q, "oven2"), "5999.00");
    expect_item(part_of(c, "oven2", 0), "oven2", "installment", "1799.70", "2026-12-02",
                "2026-12-02");
    expect_item(part_of(c, "oven2", 1), "oven2", "installment", "4199.30", "2026-12-23",
                "2026-12-08");
    /* kettle (no product term): the partner's too; the line is 1140.00
     * (one package of 12 in the partners' book): 342.00 on signing, 798.00 on Dec 5 + 15 = Dec 20 */
    assert_string_equal(kettle, "1140.00");
    expect_item(part_of(c, "kettle", 0), "kettle", "installment", "342.00", "2026-12-02",
                "2026-12-02");
    expect_item(part_of(c, "kettle", 1), "kettle", "installment", "798.00", "2026-12-20",
                "2026-12-05");
    assert_string_equal(js(c, "total"), js(q, "total"));
    /* rebuilt after signing (a later event), the override still holds */
    char *path = tu_fmt("/v1/contracts/%s/receivables", js(c, "id"));
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 200);
    free(path);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j, "items"), i, it) if (!strcmp(js(it, "line"), "oven"))
        assert_string_equal(js(it, "due_on"), "2027-03-01");
    json_decref(j);
    json_decref(c);
    json_decref(q);
}

/* cpqd serve --sweep-every 1: the periodic sweep warns about an item
 * overdue as of today without anyone calling POST /v1/receivables/sweep. */
static void test_periodic_sweep(void **state)
{
    fx *f = *state;
    static const char *const extra[] = {"--sweep-every", "1", NULL};
    restart_with(f, NULL, extra);
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    /* the oven is prepaid: due on signing, Nov 1 2026, overdue today */
    json_t *c = accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-11-01\"}");
    char *oven = item_of(c, "oven");
    long long deadline = tu_now_ms() + 15000;
    size_t seen = 0;
    while (!seen && tu_now_ms() < deadline) {
        json_t *ev = feed(f);
        seen = events_of(ev, "receivable.overdue", oven);
        json_decref(ev);
        if (!seen)
            tu_sleep_ms(100);
    }
    if (!seen) {
        tu_server_dump(&f->s);
        fail_msg("no receivable.overdue event for %s within 15 s", oven);
    }
    assert_true(tu_log_wait(&f->s, "sweep: {", 5000));
    /* once per item and state, however many sweeps ran */
    tu_sleep_ms(1500);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivable.overdue", oven), 1);
    json_decref(ev);
    free(oven);
    json_decref(c);
    json_decref(q);
}

static void test_kill9_after_accept(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q);
    json_t *c = accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}");
    kill(f->s.pid, SIGKILL);
    tu_wait_exit(f->s.pid, TU_WAIT_MS);
    f->s.pid = 0;
    start(f);
    json_t *g;
    char *path = tu_fmt("/v1/contracts/%s", js(c, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &g), 200);
    free(path);
    assert_string_equal(js(g, "number"), js(c, "number"));
    assert_int_equal(json_array_size(json_object_get(g, "items")), 3);
    json_decref(g);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "contract.signed", js(c, "id")), 1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

/* The raw body of a call as k (malloc'ed), its status into *st. */
static char *raw_call(fx *f, int k, const char *method, const char *path, const char *body,
                      int *st)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[k]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    *st = r.status;
    char *b = r.body ? strdup(r.body) : strdup("");
    tu_resp_free(&r);
    return b;
}

/* The event of type about resource id in the feed (borrowed from ev). */
static json_t *event_of(json_t *ev, const char *type, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) if (!strcmp(js(e, "type"), type) &&
                                     !strcmp(js(json_object_get(e, "resource"), "id"), id)) return e;
    fail_msg("no %s event about %s", type, id);
    return NULL;
}

/* The accept reply, byte for byte, is the contract as GET shows it the
 * same day (no payment yet) and the payload of contract.signed; the
 * payload of receivables.scheduled is its id, number, currency, total,
 * lines and items in that order; quote.status_changed carries the
 * quote as the CRM reads it after the move, the contract_id it became,
 * priced result and history included. Checked on
 * line ids that are plain, on ones holding a DEL (U+007F) and a quote,
 * and on ones with a quote, a backslash and control characters, which
 * the reply carries escaped as usual. */
static void test_accept_reply_and_events_bytes(void **state)
{
    fx *f = *state;
    static const char *const quotes[] = {
        GOODS_Q,
        "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":["
        "{\"id\":\"ov\\u007fen\\\"R0\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"},"
        "{\"id\":\"\\u007fR1\\u007f\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
        "{\"customer\":{\"id\":\"S-1\"},\"date\":\"2026-12-01\",\"lines\":"
        "[{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-Q\",\"quantity\":\"10\","
        "\"attributes\":{\"tenant\":\"acme\"}}]}",
        /* escaped without a DEL: written directly, escapes included */
        "{\"customer\":{\"id\":\"C-\\\"2\\\\\"},\"date\":\"2026-12-01\",\"lines\":["
        "{\"id\":\"o\\\"v\\\\e\\tn\\u0001\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"}]}"};
    for (size_t n = 0; n < sizeof(quotes) / sizeof(quotes[0]); n++) {
        json_t *q = approved_quote(f, K_REP, quotes[n]);
        char *path = tu_fmt("/v1/quotes/%s/accept", js(q, "id"));
        int st;
        char *reply = raw_call(f, K_REP, "POST", path, "{\"signed_on\":\"2026-12-02\"}", &st);
        free(path);
        if (st != 201)
            fail_msg("accept %zu: %d %s", n, st, reply);
        json_error_t je;
        json_t *c = json_loads(reply, 0, &je);
        assert_non_null(c);
        assert_true(json_array_size(json_object_get(c, "items")) > 0);
        path = tu_fmt("/v1/contracts/%s", js(c, "id"));
        char *got = raw_call(f, K_REP, "GET", path, NULL, &st);
        free(path);
        assert_int_equal(st, 200);
        assert_string_equal(reply, got);
        free(got);
        /* the feed dumps each payload again, compact, in its order */
        json_t *ev = feed(f);
        char *signed_p = json_dumps(json_object_get(event_of(ev, "contract.signed", js(c, "id")),
                                                    "payload"),
                                    JSON_COMPACT);
        assert_string_equal(signed_p, reply);
        free(signed_p);
        json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O}", "contract_id", js(c, "id"),
                                 "contract_number", js(c, "number"), "currency",
                                 js(c, "currency"), "total", js(c, "total"), "lines",
                                 json_object_get(c, "lines"), "items",
                                 json_object_get(c, "items"));
        char *w = json_dumps(want, JSON_COMPACT);
        char *sch = json_dumps(
            json_object_get(event_of(ev, "receivables.scheduled", js(c, "id")), "payload"),
            JSON_COMPACT);
        assert_string_equal(sch, w);
        free(w), free(sch);
        json_decref(want);
        /* the quote's move: its last quote.status_changed */
        json_t *moved = NULL, *e;
        size_t i;
        json_array_foreach(ev, i, e) if (!strcmp(js(e, "type"), "quote.status_changed") &&
                                         !strcmp(js(json_object_get(e, "resource"), "id"),
                                                 js(q, "id"))) moved = json_object_get(e, "payload");
        assert_non_null(moved);
        json_t *g;
        path = tu_fmt("/v1/quotes/%s", js(q, "id"));
        assert_int_equal(call(f, K_CRM, "GET", path, NULL, &g), 200);
        free(path);
        assert_string_equal(js(g, "contract_id"), js(c, "id"));
        assert_string_equal(js(moved, "status"), "accepted");
        char *a = json_dumps(moved, JSON_COMPACT), *b = json_dumps(g, JSON_COMPACT);
        assert_string_equal(a, b);
        free(a), free(b);
        json_decref(g);
        json_decref(ev);
        json_decref(c);
        free(reply);
        json_decref(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_accept_goods),
        T(test_accept_subscription),
        T(test_accept_other_modes),
        T(test_accept_refused_draft_expired_and_idempotent),
        T(test_payments_overdue_and_events),
        T(test_damaged_receivable_stops_no_list),
        T(test_overdue_partly_paid_shows_both),
        T(test_partner_scoping),
        T(test_payment_term_partner_and_override),
        T(test_periodic_sweep),
        T(test_kill9_after_accept),
        T(test_accept_reply_and_events_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
