/*
 * End-to-end tests of the money authority (docs/auth.md "Money
 * authority"): one table per route that sets or changes money, every role
 * against every field that carries money on it, with the outcome each
 * must get from the real binary (--keys, --db, the sample catalogs,
 * --clock 2026-12-01). A refusal changes nothing: the contract's total
 * and the quote stay as they were.
 *
 * Routes × fields covered:
 *   POST /v1/contracts/{id}/lines/{l}/renew   period_amount
 *   POST /v1/contracts/{id}/lines/{l}/seats   period_amount (and none)
 *   POST /v1/quotes                           date (back-dating), lines[].discount
 *   POST /v1/price                            date (what-ifs), lines[].discount
 *   POST /v1/quotes/{id}/revise               partner_id
 *   POST /v1/quotes/{id}/accept               lines.<id>.payment_term
 *   POST /v1/receivables/{id}/payments        amount
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

static const char *const role_name[NKEYS] = {"admin", "rep", "crm", "partner P-101",
                                             "partner P-102", "manager"};

/* One cell of a table: who sends which value, what it must get, and a
 * piece of the error message (refusals). */
typedef struct cell {
    int key;
    const char *value; /* NULL: the field is left out */
    int status;
    const char *msg;
} cell;

static const char *err_msg(json_t *j)
{
    return js(json_object_get(j, "error"), "message");
}

static void expect_cell(const char *route, const cell *c, int st, json_t *j)
{
    if (st != c->status) {
        char *d = j ? json_dumps(j, 0) : NULL;
        fail_msg("%s as %s with %s: status %d, expected %d: %.600s", route, role_name[c->key],
                 c->value ? c->value : "(none)", st, c->status, d ? d : "?");
    }
    if (c->msg && !strstr(err_msg(j), c->msg))
        fail_msg("%s as %s with %s: message '%s' lacks '%s'", route, role_name[c->key],
                 c->value ? c->value : "(none)", err_msg(j), c->msg);
}

/* SAS-CRM-STD-Q x 10 = 282.00 x 10 + 6% = 2,989.20 a quarter, one year
 * from Jan 31 2027; the list book's floor 240.00 a seat is 2,544.00 for
 * 10 seats with tax. Quoted by partner P-101 (so that its key can reach
 * the contract), signed Dec 2. */
#define SAAS_Q                                                                                     \
    "{\"customer\":{\"id\":\"S-1\"},\"date\":\"2026-12-01\",\"lines\":"                            \
    "[{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-Q\",\"quantity\":\"10\","                            \
    "\"attributes\":{\"tenant\":\"acme\"}}]}"

static char *quarterly_contract(fx *f)
{
    json_t *q = approved_quote(f, K_PARTNER_A, SAAS_Q);
    json_t *c = accept_ok(f, K_PARTNER_A, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-31\"}");
    assert_string_equal(js(c, "total"), "11956.80");
    char *id = strdup(js(c, "id"));
    json_decref(c);
    json_decref(q);
    return id;
}

static char *contract_total(fx *f, const char *cid)
{
    char *path = tu_fmt("/v1/contracts/%s", cid);
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "GET", path, NULL, &j), 200);
    char *t = strdup(js(j, "total"));
    json_decref(j);
    free(path);
    return t;
}

/* Runs one cell against a fresh contract (path: "renew" or "seats" of
 * its line), the body made by body_of from the cell's value; a refusal
 * leaves the contract's total unchanged. */
static void contract_cell(fx *f, const char *route, const char *what,
                          char *(*body_of)(const char *value), const cell *c)
{
    char *cid = quarterly_contract(f);
    char *before = contract_total(f, cid);
    char *path = tu_fmt("/v1/contracts/%s/lines/seats/%s", cid, what);
    char *body = body_of(c->value);
    json_t *j;
    int st = call(f, c->key, "POST", path, body, &j);
    expect_cell(route, c, st, j);
    if (st >= 400) {
        char *after = contract_total(f, cid);
        assert_string_equal(after, before);
        free(after);
    }
    json_decref(j);
    free(body), free(path), free(before), free(cid);
}

static char *renew_body(const char *v)
{
    return v ? tu_fmt("{\"term\":1,\"period_amount\":\"%s\"}", v) : strdup("{\"term\":1}");
}

static char *seats_body(const char *v)
{
    return v ? tu_fmt("{\"id\":\"up\",\"quantity\":\"12\",\"effective_on\":\"2027-05-10\","
                      "\"period_amount\":\"%s\"}",
                      v)
             : strdup("{\"id\":\"up\",\"quantity\":\"12\",\"effective_on\":\"2027-05-10\"}");
}

/* Renewal term 1 at period_amount: the amount in force is 2,989.20. */
static void test_renew_period_amount_by_role(void **state)
{
    static const cell cells[] = {
        {K_PARTNER_A, "0.00", 403, "a partner cannot set a price"},
        {K_PARTNER_A, "2989.19", 403, "a partner cannot set a price"},
        {K_PARTNER_A, "3500.00", 403, "a partner cannot set a price"},
        {K_PARTNER_A, "2989.20", 201, NULL}, /* the amount in force: no price set */
        {K_PARTNER_A, NULL, 201, NULL},
        {K_REP, "2690.28", 201, NULL},                   /* 10% off: within 10 */
        {K_REP, "2540.82", 403, "beyond the rep authority; a manager may set it"}, /* 15% */
        {K_MANAGER, "2600.00", 201, NULL},               /* 13.02%, above the floor 2,544.00 */
        {K_MANAGER, "2540.82", 403, "below the floor of book saas-list; a vp may set it"},
        {K_CRM, "2900.00", 403, "the crm role has no discount authority"},
        {K_ADMIN, "100.00", 201, NULL}, /* admins approve anything */
        {K_REP, "3200.00", 201, NULL},  /* a higher price: no ceiling on this book */
    };
    fx *f = *state;
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
        contract_cell(f, "renew period_amount", "renew", renew_body, &cells[i]);
}

/* Seats 10 -> 12 from May 10 2027: the agreed amount is 2,989.20 x 12 / 10
 * = 3,587.04; the floor for 12 seats with tax 3,052.80. */
static void test_seats_period_amount_by_role(void **state)
{
    static const cell cells[] = {
        {K_PARTNER_A, "3000.00", 403, "a partner cannot set a price"},
        {K_PARTNER_A, "0.01", 403, "a partner cannot set a price"},
        {K_PARTNER_A, NULL, 201, NULL}, /* more seats at the agreed price */
        {K_REP, "3228.34", 201, NULL},  /* 9.9998% off */
        {K_REP, "3100.00", 403, "beyond the rep authority; a manager may set it"},
        {K_MANAGER, "3100.00", 201, NULL},
        {K_MANAGER, "3000.00", 403, "below the floor of book saas-list"},
        {K_CRM, "3500.00", 403, "no discount authority"},
        {K_ADMIN, "0.01", 201, NULL},
    };
    fx *f = *state;
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
        contract_cell(f, "seats period_amount", "seats", seats_body, &cells[i]);
}

/* Pricing dates before today (2026-12-01): a stored quote needs a manager
 * (the catalogs allow no back-dating), a what-if may look at any date. */
static void test_quote_date_by_role(void **state)
{
    static const cell quotes[] = {
        {K_REP, "2026-11-05", 403, "a back-dated quote needs a manager"},
        {K_PARTNER_A, "2026-11-30", 403, "a back-dated quote needs a manager"},
        {K_CRM, "2026-11-05", 403, "a back-dated quote needs a manager"},
        {K_MANAGER, "2026-11-05", 201, NULL},
        {K_ADMIN, "2026-11-05", 201, NULL},
        {K_REP, "2026-12-01", 201, NULL},
        {K_REP, "2027-03-01", 201, NULL}, /* a date ahead is no back-dating */
    };
    fx *f = *state;
    for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
        const cell *c = &quotes[i];
        char *body = tu_fmt("{\"customer\":{\"id\":\"C-1\"},\"date\":\"%s\",\"lines\":"
                            "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                            c->value);
        json_t *j;
        int st = call(f, c->key, "POST", "/v1/quotes", body, &j);
        expect_cell("POST /v1/quotes date", c, st, j);
        json_decref(j);
        /* the same request as a what-if: any date, any role that prices */
        if (c->key != K_CRM) {
            st = call(f, c->key, "POST", "/v1/price", body, &j);
            if (st != 200)
                fail_msg("price as %s on %s: %d", role_name[c->key], c->value, st);
            json_decref(j);
        }
        free(body);
    }
    /* nothing was stored by the refusals: 4 quotes */
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 4);
    json_decref(j);
}

/* A partner's discount beyond its authority, or a price out of bounds,
 * goes to approval: never clamped to the hidden floor (P-101 is in the
 * retail segment, whose clamping book has APL-FRG-CROSS's floor at
 * 4,590.00 for one), and no bound is named. Staff see the clamp. */
static void test_partner_bounds_never_show(void **state)
{
    fx *f = *state;
    static const char body[] = "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"id\":\"a\","
                               "\"sku\":\"APL-FRG-CROSS\",\"quantity\":\"1\",\"discount\":\"50\"}]}";
    const char *routes[] = {"/v1/price", "/v1/quotes"};
    for (size_t r = 0; r < 2; r++) {
        json_t *j;
        int st = call(f, K_PARTNER_A, "POST", routes[r], body, &j);
        assert_int_equal(st, r == 0 ? 200 : 201);
        json_t *res = r == 0 ? j : json_object_get(j, "priced");
        json_t *line = json_array_get(json_object_get(res, "lines"), 0);
        char *d = json_dumps(res, 0);
        if (strstr(d, "floor") || strstr(d, "ceiling") || strstr(d, "4590.00"))
            fail_msg("%s shows a bound to a partner: %.2000s", routes[r], d);
        free(d);
        assert_true(json_is_true(json_object_get(line, "approval_required")));
        json_decref(j);
    }
    /* within its authority (8%) but below the floor: the quote needs the
     * top level, so the partner's submit cannot approve it, and what the
     * partner reads never says a bound was met */
    json_t *q;
    assert_int_equal(call(f, K_PARTNER_A, "POST", "/v1/quotes",
                          "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"id\":\"a\","
                          "\"sku\":\"APL-FRG-CROSS\",\"quantity\":\"1\",\"discount\":\"8\"}]}",
                          &q),
                     201);
    json_t *ql = json_array_get(json_object_get(json_object_get(q, "priced"), "lines"), 0);
    assert_true(json_is_true(json_object_get(ql, "approval_required")));
    char *qd = json_dumps(q, 0);
    assert_null(strstr(qd, "out_of_bounds"));
    free(qd);
    char *sub = tu_fmt("/v1/quotes/%s/submit", js(q, "id"));
    json_t *s2;
    assert_int_equal(call(f, K_PARTNER_A, "POST", sub, "", &s2), 200);
    assert_string_equal(js(s2, "status"), "pending_approval");
    json_decref(s2);
    free(sub);
    json_decref(q);

    /* a rep of the same segment prices on the clamping book: the clamp */
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", "/v1/price",
                          "{\"customer\":{\"id\":\"C-1\",\"segment\":\"retail\"},\"lines\":["
                          "{\"id\":\"a\",\"sku\":\"APL-FRG-CROSS\",\"quantity\":\"1\","
                          "\"discount\":\"50\"}]}",
                          &j),
                     200);
    char *d = json_dumps(j, 0);
    assert_non_null(strstr(d, "clamped to the floor"));
    free(d);
    json_decref(j);
}

/* Requested discounts on quote lines by role: within authority no
 * approval; beyond it, approval at the lowest level that covers it. */
static void test_quote_discount_by_role(void **state)
{
    static const struct {
        int key;
        const char *pct;
        bool approval;
        const char *level;
    } cells[] = {
        {K_PARTNER_A, "8", false, NULL},  {K_PARTNER_A, "9", true, "rep"},
        {K_REP, "10", false, NULL},       {K_REP, "15", true, "manager"},
        {K_MANAGER, "15", false, NULL},   {K_MANAGER, "30", true, "director"},
        {K_CRM, "1", true, "rep"},        {K_ADMIN, "60", false, NULL},
    };
    fx *f = *state;
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        char *body = tu_fmt("{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"id\":\"k\","
                            "\"sku\":\"APL-KTL-17\",\"quantity\":\"2\",\"discount\":\"%s\"}]}",
                            cells[i].pct);
        json_t *j;
        assert_int_equal(call(f, cells[i].key, "POST", "/v1/quotes", body, &j), 201);
        json_t *line = json_array_get(json_object_get(json_object_get(j, "priced"), "lines"), 0);
        bool appr = json_is_true(json_object_get(line, "approval_required"));
        if (appr != cells[i].approval)
            fail_msg("discount %s%% as %s: approval %d, expected %d", cells[i].pct,
                     role_name[cells[i].key], appr, cells[i].approval);
        if (cells[i].level)
            assert_string_equal(js(json_object_get(line, "approval"), "level"), cells[i].level);
        json_decref(j);
        free(body);
    }
}

/* A quote keeps its partner: no role may move it to another partner (or
 * give one to a quote made without); a partner's own revision stays its
 * own; a staff revision that leaves partner_id out prices as the
 * quote's partner. */
static void test_revise_partner_by_role(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes",
                          "{\"customer\":{\"id\":\"C-1\"},\"partner_id\":\"P-101\",\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                          &j),
                     201);
    char *qid = strdup(js(j, "id")), *path = tu_fmt("/v1/quotes/%s/revise", qid);
    json_decref(j);
    static const cell cells[] = {
        {K_REP, "P-102", 422, "a quote keeps its partner (P-101)"},
        {K_MANAGER, "P-102", 422, "a quote keeps its partner"},
        {K_CRM, "P-102", 422, "a quote keeps its partner"},
        {K_ADMIN, "P-102", 422, "a quote keeps its partner"},
        {K_PARTNER_A, "P-102", 201, NULL}, /* a partner always quotes as itself */
        {K_REP, NULL, 201, NULL},
        {K_REP, "P-101", 201, NULL},
    };
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        const cell *c = &cells[i];
        char *body = c->value ? tu_fmt("{\"customer\":{\"id\":\"C-1\"},\"partner_id\":\"%s\","
                                       "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"3\"}]}",
                                       c->value)
                              : strdup("{\"customer\":{\"id\":\"C-1\"},\"lines\":"
                                       "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"3\"}]}");
        int st = call(f, c->key, "POST", path, body, &j);
        expect_cell("revise partner_id", c, st, j);
        json_decref(j);
        free(body);
    }
    /* still P-101's: it reads it, P-102 does not, and the last revision
     * priced with P-101's partner book */
    char *get = tu_fmt("/v1/quotes/%s", qid);
    assert_int_equal(call(f, K_PARTNER_A, "GET", get, NULL, &j), 200);
    assert_string_equal(js(j, "partner_id"), "P-101");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 4);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", get, NULL, &j), 404);
    json_decref(j);
    /* a quote made without a partner cannot get one */
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes",
                          "{\"customer\":{\"id\":\"C-2\"},\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                          &j),
                     201);
    char *p2 = tu_fmt("/v1/quotes/%s/revise", js(j, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", p2,
                          "{\"customer\":{\"id\":\"C-2\"},\"partner_id\":\"P-101\",\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                          &j),
                     422);
    assert_non_null(strstr(err_msg(j), "made without one"));
    json_decref(j);
    free(p2), free(get), free(path), free(qid);
}

/* Payment terms at accept are money: a partner accepts on the catalog's;
 * staff may name another term. Payments are staff and crm only. */
static void test_accept_terms_and_payments_by_role(void **state)
{
    fx *f = *state;
    static const cell cells[] = {
        {K_PARTNER_A, "retail-eom60", 403, "a partner cannot choose payment terms"},
        {K_REP, "retail-eom60", 201, NULL},
        {K_PARTNER_A, NULL, 201, NULL},
    };
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        const cell *c = &cells[i];
        json_t *q = approved_quote(f, K_PARTNER_A,
                                   "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"id\":\"k\","
                                   "\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}");
        char *body = c->value ? tu_fmt("{\"signed_on\":\"2026-12-02\",\"lines\":{\"k\":"
                                       "{\"payment_term\":\"%s\"}}}",
                                       c->value)
                              : strdup("{\"signed_on\":\"2026-12-02\"}");
        json_t *j;
        int st = accept_q(f, c->key, js(q, "id"), body, NULL, &j);
        expect_cell("accept payment_term", c, st, j);
        if (st == 201 && c->key == K_PARTNER_A) {
            /* payments: partners never record them */
            const char *rid = js(json_array_get(json_object_get(j, "items"), 0), "id");
            char *pp = tu_fmt("/v1/receivables/%s/payments", rid);
            static const char pay[] =
                "{\"id\":\"p-1\",\"amount\":\"1.00\",\"paid_on\":\"2026-12-03\"}";
            json_t *r;
            assert_int_equal(call(f, K_PARTNER_A, "POST", pp, pay, &r), 403);
            json_decref(r);
            assert_int_equal(call(f, K_REP, "POST", pp, pay, &r), 201);
            json_decref(r);
            free(pp);
        }
        json_decref(j);
        json_decref(q);
        free(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_renew_period_amount_by_role),   T(test_seats_period_amount_by_role),
        T(test_quote_date_by_role),            T(test_partner_bounds_never_show),
        T(test_quote_discount_by_role),        T(test_revise_partner_by_role),
        T(test_accept_terms_and_payments_by_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
