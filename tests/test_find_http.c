/*
 * End-to-end tests of finding what the service made and of the API's
 * conventions (docs/api.md, docs/receivables.md "Finding contracts and
 * payments"): one page shape for every list (limit, after, next) with a
 * cursor another list gave refused; GET /v1/contracts with its filters
 * and scope; GET /v1/receivables/{id} and GET /v1/contracts/{id}/payments;
 * the overdue list by customer and contract, page by page;
 * receivable.partially_paid and GET /v1/events?type=; Location on every
 * 201; ETag and If-Match (412, and nothing changed).
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

/* A quote of n dishwashers (prepaid: one item due on signing). */
#define KETTLES(cust, n)                                                                           \
    "{\"customer\":{\"id\":\"" cust "\"},\"lines\":[{\"id\":\"k\",\"sku\":\"APL-DSH-13\","       \
    "\"quantity\":\"" n "\"}]}"

/* total - minus as decimal text in buf. */
static const char *rest_of(const char *total, const char *minus, char *buf, size_t cap)
{
    money_dec r;
    assert_int_equal(money_sub(dec(total), dec(minus), &r), 0);
    assert_true(money_format(r, buf, cap) > 0);
    return buf;
}

/* One call as key k; *hdr_out (if given) gets header `name` of the reply. */
static int call_hdr(fx *f, int k, const char *method, const char *path, const char *body,
                    const char *extra, const char *name, char *hdr_out, size_t cap,
                    json_t **out)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", f->key[k], extra ? extra : "");
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    if (hdr_out && !tu_header(&r, name, hdr_out, cap))
        hdr_out[0] = '\0';
    if (out) {
        json_error_t je;
        *out = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
        if (!*out)
            fail_msg("%s %s: not JSON (%d)", method, path, r.status);
    }
    int st = r.status;
    tu_resp_free(&r);
    return st;
}

static const char *item_str(json_t *list, size_t i, const char *k)
{
    return js(json_array_get(json_object_get(list, "items"), i), k);
}

static size_t nitems(json_t *list)
{
    return json_array_size(json_object_get(list, "items"));
}

/* The next cursor of page j (malloc'ed), or NULL at the end; j is freed. */
static char *take_next(json_t *j)
{
    json_t *next = json_object_get(j, "next");
    char *after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
    json_decref(j);
    return after;
}

/* An approved quote for customer cust, accepted on 2026-12-01: its
 * contract (one item due on signing). */
static json_t *signed_contract(fx *f, int k, const char *body)
{
    json_t *q = approved_quote(f, k, body);
    json_t *c = accept_ok(f, k, js(q, "id"), "{\"signed_on\":\"2026-12-01\"}");
    json_decref(q);
    return c;
}

/* ---- lists ---- */

static void test_quote_pages_follow_next_to_the_end(void **state)
{
    fx *f = *state;
    const char *want[] = {"Q-2026-000005", "Q-2026-000004", "Q-2026-000003", "Q-2026-000002",
                          "Q-2026-000001"};
    json_t *j;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", KETTLES("C-PG", "1"), &j), 201);
        json_decref(j);
    }
    /* pages of 2: 2 + 2 + 1, newest first, each from the last one's next */
    char *after = NULL;
    size_t seen = 0;
    for (int page = 0; page < 3; page++) {
        char *path = after ? tu_fmt("/v1/quotes?customer=C-PG&limit=2&after=%s", after)
                           : tu_fmt("/v1/quotes?customer=C-PG&limit=2");
        assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
        free(path);
        assert_int_equal(nitems(j), page < 2 ? 2 : 1);
        for (size_t i = 0; i < nitems(j); i++)
            assert_string_equal(item_str(j, i, "number"), want[seen++]);
        assert_null(json_object_get(j, "page"));
        assert_null(json_object_get(j, "total"));
        free(after);
        json_t *next = json_object_get(j, "next");
        after = page < 2 ? strdup(json_string_value(next)) : NULL;
        if (page == 2)
            assert_true(json_is_null(next));
        json_decref(j);
    }
    assert_int_equal(seen, 5);
    /* a cursor the list did not give, and limits out of range */
    static const char *const bad[] = {"/v1/quotes?after=Q-2026-000001", "/v1/quotes?limit=0",
                                      "/v1/quotes?limit=501", "/v1/quotes?limit=x",
                                      "/v1/contracts?after=c_0000000000000000",
                                      "/v1/products?limit=9999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(call(f, K_REP, "GET", bad[i], NULL, &j), 400);
        assert_string_equal(js(json_object_get(j, "error"), "code"), "invalid_parameter");
        json_decref(j);
    }
    /* another partner's quote id is no cursor for a partner */
    assert_int_equal(call(f, K_PARTNER_A, "POST", "/v1/quotes", KETTLES("C-PA", "1"), &j), 201);
    char *path = tu_fmt("/v1/quotes?after=%s", js(j, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", path, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 200);
    assert_int_equal(nitems(j), 0);
    json_decref(j);
    free(path);
}

static void test_product_pages_by_sku(void **state)
{
    fx *f = *state;
    json_t *all, *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/products?catalog=appliances&limit=500", NULL, &all),
                     200);
    size_t n = nitems(all);
    assert_true(n > 5);
    assert_true(json_is_null(json_object_get(all, "next")));
    /* the same products, 3 at a time */
    size_t seen = 0;
    char *after = NULL;
    for (int guard = 0; guard < 100; guard++) {
        char *path = after ? tu_fmt("/v1/products?catalog=appliances&limit=3&after=%s", after)
                           : tu_fmt("/v1/products?catalog=appliances&limit=3");
        assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
        free(path);
        for (size_t i = 0; i < nitems(j); i++)
            assert_string_equal(item_str(j, i, "sku"), item_str(all, seen++, "sku"));
        free(after);
        json_t *next = json_object_get(j, "next");
        after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        if (after)
            assert_string_equal(after, item_str(j, nitems(j) - 1, "sku"));
        json_decref(j);
        if (!after)
            break;
    }
    assert_int_equal(seen, n);
    json_decref(all);
}

/* ---- contracts, receivables, payments ---- */

static void test_contracts_list_filters_and_scope(void **state)
{
    fx *f = *state;
    json_t *a = signed_contract(f, K_REP, KETTLES("C-FA", "1"));
    json_t *b = signed_contract(f, K_REP, KETTLES("C-FB", "2"));
    json_t *p = signed_contract(f, K_PARTNER_A, KETTLES("C-FP", "3"));
    json_t *j;
    /* all three, newest first, with a status */
    assert_int_equal(call(f, K_MANAGER, "GET", "/v1/contracts", NULL, &j), 200);
    assert_int_equal(nitems(j), 3);
    assert_string_equal(item_str(j, 0, "id"), js(p, "id"));
    assert_string_equal(item_str(j, 2, "id"), js(a, "id"));
    assert_string_equal(item_str(j, 0, "status"), "open");
    assert_null(json_object_get(json_array_get(json_object_get(j, "items"), 0), "items"));
    json_decref(j);
    /* by customer, by quote, by partner */
    assert_int_equal(call(f, K_REP, "GET", "/v1/contracts?customer=C-FB", NULL, &j), 200);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "id"), js(b, "id"));
    json_decref(j);
    char *path = tu_fmt("/v1/contracts?quote=%s", js(a, "quote_id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "id"), js(a, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/contracts?partner=P-101", NULL, &j), 200);
    assert_int_equal(nitems(j), 1);
    json_decref(j);
    /* a partner sees its own only, and nothing of another partner */
    assert_int_equal(call(f, K_PARTNER_A, "GET", "/v1/contracts", NULL, &j), 200);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "id"), js(p, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", "/v1/contracts?partner=P-101", NULL, &j), 200);
    assert_int_equal(nitems(j), 0);
    json_decref(j);
    path = tu_fmt("/v1/contracts/%s/payments", js(a, "id"));
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 404);
    json_decref(j);
    free(path);
    path = tu_fmt("/v1/receivables/%s", js(json_array_get(json_object_get(a, "items"), 0), "id"));
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 404);
    json_decref(j);
    free(path);
    /* status: a fully paid contract is settled, a late one overdue (as of
     * a later clock) */
    const char *rid = js(json_array_get(json_object_get(b, "items"), 0), "id");
    path = tu_fmt("/v1/receivables/%s/payments", rid);
    char *pay = tu_fmt("{\"id\":\"full\",\"amount\":\"%s\",\"paid_on\":\"2026-12-01\"}",
                       js(b, "total"));
    assert_int_equal(call(f, K_REP, "POST", path, pay, &j), 201);
    json_decref(j);
    free(pay);
    free(path);
    assert_int_equal(call(f, K_REP, "GET", "/v1/contracts?status=settled", NULL, &j), 200);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "id"), js(b, "id"));
    json_decref(j);
    const char *later[] = {"--clock", "2026-12-20", NULL};
    restart_with(f, NULL, later);
    /* one overdue contract per page: p, then a (b is settled); a filtered
     * page may come back empty before next is null */
    const char *want[] = {js(p, "id"), js(a, "id")};
    size_t seen = 0;
    char *next = NULL;
    for (int guard = 0; guard < 5; guard++) {
        path = next ? tu_fmt("/v1/contracts?status=overdue&limit=1&after=%s", next)
                    : tu_fmt("/v1/contracts?status=overdue&limit=1");
        assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
        free(path);
        assert_true(nitems(j) <= 1);
        for (size_t i = 0; i < nitems(j); i++) {
            assert_true(seen < 2);
            assert_string_equal(item_str(j, i, "id"), want[seen++]);
            assert_string_equal(item_str(j, i, "status"), "overdue");
        }
        free(next);
        json_t *nx = json_object_get(j, "next");
        next = json_is_string(nx) ? strdup(json_string_value(nx)) : NULL;
        json_decref(j);
        if (!next)
            break;
    }
    assert_null(next);
    assert_int_equal(seen, 2);
    assert_int_equal(call(f, K_REP, "GET", "/v1/contracts?status=late", NULL, &j), 400);
    json_decref(j);
    json_decref(a);
    json_decref(b);
    json_decref(p);
}

static void test_receivable_and_contract_payments(void **state)
{
    fx *f = *state;
    json_t *c = signed_contract(f, K_REP, KETTLES("C-PAY", "2"));
    const char *rid = js(json_array_get(json_object_get(c, "items"), 0), "id");
    char *path = tu_fmt("/v1/receivables/%s/payments", rid), rest[64], b3[128];
    snprintf(b3, sizeof(b3), "{\"id\":\"b3\",\"amount\":\"%s\",\"paid_on\":\"2026-12-03\"}",
             rest_of(js(c, "total"), "150.00", rest, sizeof(rest)));
    /* value dates after the signing, on or before today (a later clock),
     * recorded out of order */
    const char *later[] = {"--clock", "2026-12-05", NULL};
    restart_with(f, NULL, later);
    const char *pays[] = {"{\"id\":\"b1\",\"amount\":\"100.00\",\"paid_on\":\"2026-12-04\"}",
                          "{\"id\":\"b2\",\"amount\":\"50.00\",\"paid_on\":\"2026-12-02\"}",
                          b3};
    json_t *j;
    for (int i = 0; i < 3; i++) {
        char loc[256];
        assert_int_equal(call_hdr(f, K_REP, "POST", path, pays[i], NULL, "Location", loc,
                                  sizeof(loc), &j),
                         201);
        char *want = tu_fmt("/v1/receivables/%s", rid);
        assert_string_equal(loc, want); /* the payment lives with its item */
        free(want);
        json_decref(j);
    }
    free(path);
    /* the item with its three payments, by value date */
    path = tu_fmt("/v1/receivables/%s", rid);
    assert_int_equal(call(f, K_CRM, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(js(j, "contract_id"), js(c, "id"));
    assert_string_equal(js(j, "paid"), js(c, "total"));
    assert_string_equal(js(j, "payment_status"), "paid");
    json_t *ps = json_object_get(j, "payments");
    assert_int_equal(json_array_size(ps), 3); /* by value date, then as recorded */
    assert_string_equal(js(json_array_get(ps, 0), "client_id"), "b2");
    assert_string_equal(js(json_array_get(ps, 0), "amount"), "50.00");
    assert_string_equal(js(json_array_get(ps, 1), "client_id"), "b3");
    assert_string_equal(js(json_array_get(ps, 2), "client_id"), "b1");
    json_decref(j);
    /* the contract's payments, two per page */
    path = tu_fmt("/v1/contracts/%s/payments?limit=2", js(c, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(nitems(j), 2);
    assert_string_equal(item_str(j, 0, "client_id"), "b2");
    assert_string_equal(item_str(j, 1, "receivable_id"), rid);
    path = tu_fmt("/v1/contracts/%s/payments?limit=2&after=%s", js(c, "id"),
                  js(j, "next"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "client_id"), "b1");
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* no such item, no such contract */
    assert_int_equal(call(f, K_REP, "GET", "/v1/receivables/r_0000000000000000", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/contracts/c_0000000000000000/payments", NULL, &j), 404);
    json_decref(j);
    /* the accepted quote names its contract */
    path = tu_fmt("/v1/quotes/%s", js(c, "quote_id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(js(j, "contract_id"), js(c, "id"));
    json_decref(j);
    json_decref(c);
}

static void test_overdue_by_customer_and_contract_in_pages(void **state)
{
    fx *f = *state;
    json_t *a = signed_contract(f, K_REP, KETTLES("C-OA", "1"));
    json_t *b = signed_contract(f, K_REP, KETTLES("C-OB", "1"));
    json_t *c = signed_contract(f, K_REP, KETTLES("C-OA", "2"));
    json_t *j;
    const char *base = "/v1/receivables?status=overdue&as_of=2026-12-10";
    char *path = tu_fmt("%s&customer=C-OA", base);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(nitems(j), 2);
    assert_null(json_object_get(j, "count"));
    json_decref(j);
    path = tu_fmt("%s&contract=%s", base, js(b, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "contract_id"), js(b, "id"));
    json_decref(j);
    /* all three, one per page, in due-date order, then no next */
    char *after = NULL;
    size_t seen = 0;
    for (int guard = 0; guard < 5; guard++) {
        path = after ? tu_fmt("%s&limit=1&after=%s", base, after) : tu_fmt("%s&limit=1", base);
        assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
        free(path);
        seen += nitems(j);
        free(after);
        if (!(after = take_next(j)))
            break;
    }
    assert_int_equal(seen, 3);
    path = tu_fmt("%s&after=r_0000000000000000", base);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 400);
    free(path);
    json_decref(j);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

/* A quote for customer cust of n lines, one dishwasher each (prepaid:
 * n items due on signing), as JSON text (malloc'ed). */
static char *many_lines(const char *cust, int n)
{
    char *body = tu_fmt("{\"customer\":{\"id\":\"%s\"},\"lines\":[", cust);
    for (int i = 0; i < n; i++) {
        char *more = tu_fmt("%s%s{\"id\":\"l%03d\",\"sku\":\"APL-DSH-13\",\"quantity\":\"1\"}",
                            body, i ? "," : "", i);
        free(body);
        body = more;
    }
    char *done = tu_fmt("%s]}", body);
    free(body);
    return done;
}

/* A due list page longer than what the store reads at a time (256
 * rows): the page goes on across those reads and the next page after it,
 * in the list's order (due date, contract number, line), every item once;
 * another customer's items, in between by contract number, are not
 * listed. */
static void test_due_list_pages_across_reads(void **state)
{
    fx *f = *state;
    char *bodies[4] = {many_lines("C-MANY", 100), many_lines("C-OTHER", 50),
                       many_lines("C-MANY", 100), many_lines("C-MANY", 100)};
    json_t *k[4];
    for (int i = 0; i < 4; i++)
        k[i] = signed_contract(f, K_REP, bodies[i]);
    const char *base = "/v1/receivables?status=overdue&as_of=2026-12-10&customer=C-MANY&limit=290";
    char *after = NULL, *prev_key = NULL;
    size_t seen = 0;
    int pages = 0;
    json_t *j;
    for (; pages < 10; pages++) {
        char *path = after ? tu_fmt("%s&after=%s", base, after) : tu_fmt("%s", base);
        assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
        free(path);
        for (size_t i = 0; i < nitems(j); i++) {
            json_t *it = json_array_get(json_object_get(j, "items"), i);
            assert_string_not_equal(js(it, "contract_id"), js(k[1], "id"));
            /* contract number and line position order the items (one due date) */
            char *key = tu_fmt("%s %s %04lld", js(it, "due_on"), js(it, "contract_number"),
                               (long long)json_integer_value(json_object_get(it, "line_no")));
            if (prev_key && strcmp(prev_key, key) >= 0)
                fail_msg("item %zu out of order: %s after %s", seen, key, prev_key);
            free(prev_key);
            prev_key = key;
            seen++;
        }
        free(after);
        if (!(after = take_next(j)))
            break;
    }
    assert_int_equal(seen, 300);
    assert_int_equal(pages, 1); /* 290, then 10 and no next */
    free(prev_key);
    for (int i = 0; i < 4; i++)
        free(bodies[i]), json_decref(k[i]);
}

static void test_partially_paid_event_and_type_filter(void **state)
{
    fx *f = *state;
    json_t *c = signed_contract(f, K_REP, KETTLES("C-EV", "2"));
    const char *rid = js(json_array_get(json_object_get(c, "items"), 0), "id");
    char *path = tu_fmt("/v1/receivables/%s/payments", rid);
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", path,
                          "{\"id\":\"e1\",\"amount\":\"98.00\",\"paid_on\":\"2026-12-01\"}", &j),
                     201);
    json_decref(j);
    char rest[64], *e2 = tu_fmt("{\"id\":\"e2\",\"amount\":\"%s\",\"paid_on\":\"2026-12-01\"}",
                                rest_of(js(c, "total"), "98.00", rest, sizeof(rest)));
    assert_int_equal(call(f, K_REP, "POST", path, e2, &j), 201);
    free(e2);
    json_decref(j);
    free(path);
    assert_int_equal(call(f, K_CRM, "GET",
                          "/v1/events?type=receivable.partially_paid,receivable.paid", NULL, &j),
                     200);
    assert_int_equal(nitems(j), 2);
    assert_string_equal(item_str(j, 0, "type"), "receivable.partially_paid");
    json_t *pl = json_object_get(json_array_get(json_object_get(j, "items"), 0), "payload");
    assert_string_equal(js(pl, "paid"), "98.00");
    assert_string_equal(js(pl, "outstanding"), rest);
    assert_string_equal(item_str(j, 1, "type"), "receivable.paid");
    /* next is the last event looked at: nothing matching after it */
    char *p2 = tu_fmt("/v1/events?type=receivable.paid&after=%s", js(j, "next"));
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "GET", p2, NULL, &j), 200);
    free(p2);
    assert_int_equal(nitems(j), 0);
    json_decref(j);
    /* a filter that reads on: one of a type per page of 1 */
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?type=receivable.paid&limit=1", NULL, &j),
                     200);
    assert_int_equal(nitems(j), 1);
    assert_string_equal(item_str(j, 0, "type"), "receivable.paid");
    json_decref(j);
    static const char *const bad[] = {"/v1/events?type=Receivable.Paid", "/v1/events?type=a,,b",
                                      "/v1/events?type=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(call(f, K_CRM, "GET", bad[i], NULL, &j), 400);
        json_decref(j);
    }
    json_decref(c);
}

/* ---- Location, ETag, If-Match ---- */

static void test_location_on_201(void **state)
{
    fx *f = *state;
    char loc[256];
    json_t *q, *j;
    assert_int_equal(call_hdr(f, K_REP, "POST", "/v1/quotes", KETTLES("C-LOC", "1"), NULL,
                              "Location", loc, sizeof(loc), &q),
                     201);
    char *want = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_string_equal(loc, want);
    free(want);
    /* the location reads the quote */
    assert_int_equal(call(f, K_REP, "GET", loc, NULL, &j), 200);
    assert_string_equal(js(j, "id"), js(q, "id"));
    json_decref(j);
    char *path = tu_fmt("/v1/quotes/%s/revise", js(q, "id"));
    assert_int_equal(call_hdr(f, K_REP, "POST", path, KETTLES("C-LOC", "2"), NULL, "Location",
                              loc, sizeof(loc), &j),
                     201);
    free(path);
    want = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_string_equal(loc, want);
    free(want);
    json_decref(j);
    path = tu_fmt("/v1/quotes/%s/submit", js(q, "id"));
    assert_int_equal(call(f, K_REP, "POST", path, "", &j), 200);
    free(path);
    json_decref(j);
    /* accept: the new contract; an idempotent replay answers the same */
    path = tu_fmt("/v1/quotes/%s/accept", js(q, "id"));
    assert_int_equal(call_hdr(f, K_REP, "POST", path, "{\"signed_on\":\"2026-12-01\"}",
                              "Idempotency-Key: loc-accept\r\n", "Location", loc, sizeof(loc),
                              &j),
                     201);
    want = tu_fmt("/v1/contracts/%s", js(j, "id"));
    assert_string_equal(loc, want);
    json_decref(j);
    assert_int_equal(call_hdr(f, K_REP, "POST", path, "{\"signed_on\":\"2026-12-01\"}",
                              "Idempotency-Key: loc-accept\r\n", "Location", loc, sizeof(loc),
                              &j),
                     201);
    assert_string_equal(loc, want);
    free(want);
    free(path);
    json_decref(j);
    json_decref(q);
}

static void test_if_match_refuses_a_stale_quote(void **state)
{
    fx *f = *state;
    char etag[64], etag2[64], hdr[128];
    json_t *q, *j;
    assert_int_equal(call_hdr(f, K_REP, "POST", "/v1/quotes", KETTLES("C-ET", "1"), NULL, "ETag",
                              etag, sizeof(etag), &q),
                     201);
    assert_int_equal(strlen(etag), 18);
    char *get = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_int_equal(call_hdr(f, K_REP, "GET", get, NULL, NULL, "ETag", etag2, sizeof(etag2), &j),
                     200);
    assert_string_equal(etag, etag2); /* nothing changed: the same tag */
    json_decref(j);
    /* user 1 revises with the tag it read: accepted, a new tag */
    char *rev = tu_fmt("/v1/quotes/%s/revise", js(q, "id"));
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    assert_int_equal(call_hdr(f, K_REP, "POST", rev, KETTLES("C-ET", "2"), hdr, "ETag", etag2,
                              sizeof(etag2), &j),
                     201);
    assert_string_not_equal(etag, etag2);
    json_decref(j);
    /* user 2 still holds the first tag: its revise and its submit are 412,
     * and the quote stays at version 2, draft, with no event for them */
    json_t *ev;
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=500", NULL, &ev), 200);
    size_t events = nitems(ev);
    json_decref(ev);
    assert_int_equal(call_hdr(f, K_MANAGER, "POST", rev, KETTLES("C-ET", "9"), hdr, NULL, NULL, 0,
                              &j),
                     412);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "precondition_failed");
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), etag2));
    json_decref(j);
    char *sub = tu_fmt("/v1/quotes/%s/submit", js(q, "id"));
    assert_int_equal(call_hdr(f, K_REP, "POST", sub, "", hdr, NULL, NULL, 0, &j), 412);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", get, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_string_equal(js(j, "status"), "draft");
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=500", NULL, &ev), 200);
    assert_int_equal(nitems(ev), events);
    json_decref(ev);
    /* the current tag, a list holding it, or * go through */
    snprintf(hdr, sizeof(hdr), "If-Match: \"0000000000000000\", %s\r\n", etag2);
    assert_int_equal(call_hdr(f, K_REP, "POST", sub, "", hdr, "ETag", etag, sizeof(etag), &j),
                     200);
    assert_string_equal(js(j, "status"), "approved");
    json_decref(j);
    char *acc = tu_fmt("/v1/quotes/%s/accept", js(q, "id"));
    assert_int_equal(call_hdr(f, K_REP, "POST", acc, "{\"signed_on\":\"2026-12-01\"}",
                              "If-Match: \"0000000000000000\"\r\n", NULL, NULL, 0, &j),
                     412);
    json_decref(j);
    assert_int_equal(call_hdr(f, K_REP, "POST", acc, "{\"signed_on\":\"2026-12-01\"}",
                              "If-Match: *\r\n", NULL, NULL, 0, &j),
                     201);
    /* a contract carries a tag too */
    char *cget = tu_fmt("/v1/contracts/%s", js(j, "id"));
    json_decref(j);
    assert_int_equal(call_hdr(f, K_REP, "GET", cget, NULL, NULL, "ETag", etag, sizeof(etag), &j),
                     200);
    assert_int_equal(strlen(etag), 18);
    json_decref(j);
    free(cget);
    free(acc);
    free(sub);
    free(rev);
    free(get);
    json_decref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_quote_pages_follow_next_to_the_end),
        T(test_product_pages_by_sku),
        T(test_contracts_list_filters_and_scope),
        T(test_receivable_and_contract_payments),
        T(test_overdue_by_customer_and_contract_in_pages),
        T(test_due_list_pages_across_reads),
        T(test_partially_paid_event_and_type_filter),
        T(test_location_on_201),
        T(test_if_match_refuses_a_stale_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
