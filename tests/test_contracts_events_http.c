/*
 * End-to-end tests of what happens to a contract after signing
 * (docs/receivables.md "After signing"): the real binary with --keys and
 * --db on the sample catalogs. Delivery, service acceptance and milestone
 * acceptance reported after signing (hand-computed due dates, replays,
 * a second different date, a date before signing, lines of the wrong
 * mode, partner scoping); usage records on the cloud catalog (graduated,
 * volume and a minimum commitment, idempotency per record id, refused
 * after the close), closing a period by hand and by the sweep, exact
 * totals, and the events in the pull feed.
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


/* The item of line/kind/seq/part in a contract or receivables body. */
static json_t *find_item(json_t *c, const char *line, const char *kind, int seq, int part)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i, it)
    {
        if (!strcmp(js(it, "line"), line) && !strcmp(js(it, "kind"), kind) &&
            json_integer_value(json_object_get(it, "seq")) == seq &&
            json_integer_value(json_object_get(it, "part")) == part)
            return it;
    }
    fail_msg("no %s item %s/%d/%d", kind, line, seq, part);
    return NULL;
}

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

#define DELIVERED(c, l) tu_fmt("/v1/contracts/%s/lines/%s/delivered", c, l)
#define ACCEPTED(c, l) tu_fmt("/v1/contracts/%s/lines/%s/accepted", c, l)
#define MILESTONE(c, m) tu_fmt("/v1/contracts/%s/milestones/%s/accept", c, m)
#define USAGE(c) tu_fmt("/v1/contracts/%s/usage", c)
#define CLOSE(c, p) tu_fmt("/v1/contracts/%s/periods/%s/close", c, p)
#define SWEEP() tu_fmt("/v1/receivables/sweep")

/* ---- tests ---- */

#define GOODS_Q                                                                                    \
    "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"oven\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\"},"                              \
    "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"},"                               \
    "{\"id\":\"kettle2\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}"

/* goods: kettle2 (100% on delivery, no term) delivered on Dec 9 after
 * signing on Dec 2: due Dec 9. The same date again changes nothing; an
 * earlier or other date is refused; kettle's delivery given at signing
 * (Dec 5) counts as recorded. */
static void test_goods_delivered_after_signing(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, GOODS_Q), *j;
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"lines\":{\"kettle\":"
                          "{\"delivered_on\":\"2026-12-05\"}}}");
    const char *cid = js(c, "id");
    /* reported on the day it happens: a date lies at most 7 days ahead
     * (docs/receivables.md "Dates") */
    restart_with(f, NULL, (const char *const[]){"--clock", "2026-12-09", NULL});
    int st = post(f, K_REP, DELIVERED(cid, "kettle2"), "{\"on\":\"2026-12-09\"}", &j);
    expect_status(st, 200, &j);
    json_t *it = find_item(j, "kettle2", "installment", 0, 0);
    expect_item(it, "kettle2", "installment", "298.00", "2026-12-09", "2026-12-09");
    assert_true(json_is_null(json_object_get(it, "waits_for")));
    assert_true(json_is_null(json_object_get(it, "expected_on")));
    /* keys, ids and amounts unchanged; the total too */
    assert_string_equal(js(it, "id"), js(find_item(c, "kettle2", "installment", 0, 0), "id"));
    assert_string_equal(js(j, "total"), js(c, "total"));
    json_decref(j);
    json_t *r = receivables(f, K_REP, cid, "2026-12-09");
    assert_string_equal(js(find_item(r, "kettle2", "installment", 0, 0), "status"), "due");
    assert_string_equal(js(item_at(r, 2), "line"), "kettle2"); /* by due date now */
    json_decref(r);
    /* replay: 200, nothing written */
    expect_status(post(f, K_REP, DELIVERED(cid, "kettle2"), "{\"on\":\"2026-12-09\"}", &j), 200, &j);
    json_decref(j);
    /* another date: 409, naming the one recorded */
    st = post(f, K_REP, DELIVERED(cid, "kettle2"), "{\"on\":\"2026-12-10\"}", &j);
    expect_status(st, 409, &j);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "2026-12-09"));
    json_decref(j);
    /* given at signing: the same date is a replay, another a conflict */
    expect_status(post(f, K_REP, DELIVERED(cid, "kettle"), "{\"on\":\"2026-12-05\"}", &j), 200, &j);
    json_decref(j);
    expect_status(post(f, K_REP, DELIVERED(cid, "kettle"), "{\"on\":\"2026-12-06\"}", &j), 409, &j);
    json_decref(j);
    /* before signing, malformed, unknown members, unknown line */
    expect_status(post(f, K_REP, DELIVERED(cid, "oven"), "{\"on\":\"2026-12-01\"}", &j), 400, &j);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"),
                           "2026-12-01 is outside 2026-12-02 (the contract's signing)"));
    json_decref(j);
    expect_status(post(f, K_REP, DELIVERED(cid, "oven"), "{\"on\":\"2026-12-32\"}", NULL), 400,
                  NULL);
    expect_status(post(f, K_REP, DELIVERED(cid, "oven"), "{}", NULL), 400, NULL);
    expect_status(post(f, K_REP, DELIVERED(cid, "oven"), "{\"on\":\"2026-12-09\",\"x\":1}", NULL),
                  400, NULL);
    expect_status(post(f, K_REP, DELIVERED(cid, "nope"), "{\"on\":\"2026-12-09\"}", NULL), 404,
                  NULL);
    expect_status(post(f, K_REP, DELIVERED("c_0000000000000000", "oven"), "{\"on\":\"2026-12-09\"}",
                       NULL),
                  404, NULL);
    /* one event, for the first recording only */
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

/* goods_with_service: MED-IP-V1 signed without dates; delivered Dec 10,
 * accepted Dec 20: the training (100% on acceptance) is due Dec 20 and
 * the goods (hospital-180) Dec 20 + 180 = Jun 18 2027. Only the partner
 * that owns the contract may report (others: 404). */
static void test_service_accepted_after_signing(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_PARTNER_A,
                               "{\"customer\":{\"id\":\"H-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"pump\",\"sku\":\"MED-IP-V1\",\"quantity\":\"2\"}]}");
    json_t *c = accept_ok(f, K_PARTNER_A, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}"), *j;
    const char *cid = js(c, "id");
    assert_true(json_is_null(json_object_get(find_item(c, "pump", "service", 0, 0), "due_on")));
    restart_with(f, NULL, (const char *const[]){"--clock", "2026-12-20", NULL});
    expect_status(post(f, K_PARTNER_B, DELIVERED(cid, "pump"), "{\"on\":\"2026-12-10\"}", NULL),
                  404, NULL);
    expect_status(post(f, K_PARTNER_A, DELIVERED(cid, "pump"), "{\"on\":\"2026-12-10\"}", &j), 200, &j);
    json_decref(j);
    expect_status(post(f, K_PARTNER_A, ACCEPTED(cid, "pump"), "{\"on\":\"2026-12-20\"}", &j), 200, &j);
    json_t *svc = find_item(j, "pump", "service", 0, 0);
    assert_string_equal(js(svc, "ref"), "MED-SVC-TRAIN");
    assert_string_equal(js(svc, "due_on"), "2026-12-20");
    assert_string_equal(js(find_item(j, "pump", "installment", 0, 0), "due_on"), "2027-06-18");
    assert_dec_eq(items_sum(json_object_get(j, "items"), "pump"), line_total(q, "pump"));
    json_decref(j);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 2);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

/* milestone: PRJ-MES-IMPL with its default servers and project
 * management, 3,685,620.00 (test_contracts_http.c), in 10/20/40/20/10
 * under milestone-net30; blueprint (20%) accepted Feb 1 2027: due Mar 3
 * 2027. */
static void test_milestone_accepted_after_signing(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"P-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"mes\",\"sku\":\"PRJ-MES-IMPL\",\"quantity\":\"1\","
                               "\"attributes\":{\"project_code\":\"PJ-2026-0001\"}}]}");
    json_t *c = accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}"), *j;
    const char *cid = js(c, "id");
    restart_with(f, NULL, (const char *const[]){"--clock", "2027-02-01", NULL});
    int st = post(f, K_CRM, MILESTONE(cid, "blueprint"), "{\"on\":\"2027-02-01\"}", &j);
    expect_status(st, 200, &j);
    json_t *it = find_item(j, "mes", "milestone", 1, 0);
    expect_item(it, "mes", "milestone", "737124.00", "2027-03-03", "2027-02-01");
    assert_true(json_is_null(json_object_get(find_item(j, "mes", "milestone", 0, 0), "due_on")));
    assert_dec_eq(items_sum(json_object_get(j, "items"), "mes"), "3685620.00");
    json_decref(j);
    /* with the line named, same date: replay */
    expect_status(post(f, K_CRM, MILESTONE(cid, "blueprint"),
                       "{\"on\":\"2027-02-01\",\"line\":\"mes\"}", &j),
                  200, &j);
    json_decref(j);
    expect_status(post(f, K_CRM, MILESTONE(cid, "blueprint"), "{\"on\":\"2027-02-02\"}", NULL), 409,
                  NULL);
    expect_status(post(f, K_CRM, MILESTONE(cid, "go-live"), "{\"on\":\"2026-11-30\"}", NULL), 400,
                  NULL);
    expect_status(post(f, K_CRM, MILESTONE(cid, "nope"), "{\"on\":\"2027-02-01\"}", NULL), 404,
                  NULL);
    /* wrong mode: a milestone line has no delivery, and no usage */
    expect_status(post(f, K_CRM, DELIVERED(cid, "mes"), "{\"on\":\"2027-02-01\"}", &j), 409, &j);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "milestone"));
    json_decref(j);
    expect_status(post(f, K_CRM, USAGE(cid),
                       "{\"id\":\"u1\",\"line\":\"mes\",\"period\":\"2027-01\",\"quantity\":\"1\"}",
                       NULL),
                  409, NULL);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

#define CLOUD_Q                                                                                    \
    "{\"customer\":{\"id\":\"U-1\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"oss\",\"sku\":\"CLD-OSS-STD\",\"quantity\":\"1000\"},"                              \
    "{\"id\":\"egress\",\"sku\":\"CLD-NET-EGRESS\",\"quantity\":\"1000\"},"                        \
    "{\"id\":\"gpu\",\"sku\":\"CLD-GPU-A10\",\"quantity\":\"10\"}]}"

static int usage(fx *f, const char *cid, const char *id, const char *line, const char *period,
                 const char *qty, json_t **out)
{
    char *b = tu_fmt("{\"id\":\"%s\",\"line\":\"%s\",\"period\":\"%s\",\"quantity\":\"%s\"}", id,
                     line, period, qty);
    int st = post(f, K_CRM, USAGE(cid), b, out);
    free(b);
    return st;
}

/* usage on the cloud catalog, monthly in arrears from Jan 1 2027, due
 * end of month + 15 (postpaid-eom15), service tax 6%. January:
 * - oss, graduated 0 -> 0.12, 51,200 -> 0.115: 60,000 + 40,000 GB =
 *   51,200 x 0.12 + 48,800 x 0.115 = 6,144.00 + 5,612.00 = 11,756.00,
 *   + 6% = 12,461.36;
 * - egress, volume 0 -> 0.80, 10,240 -> 0.60: 20,000 GB all at 0.60 =
 *   12,000.00, + 6% = 12,720.00;
 * - gpu, 100 h x 11.20 = 1,120.00 under the 20,000.00 minimum
 *   commitment: 20,000.00, + 6% = 21,200.00.
 * February is closed by the sweep at as_of Mar 1 with no usage: oss and
 * egress 0.00, gpu the minimum 21,200.00. */
static void test_usage_record_and_close(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, CLOUD_Q), *j;
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-01\"}");
    const char *cid = js(c, "id");
    expect_status(usage(f, cid, "u1", "oss", "2027-01", "60000", &j), 201, &j);
    assert_string_equal(js(j, "period_from"), "2027-01-01");
    assert_string_equal(js(j, "period_to"), "2027-02-01");
    assert_string_equal(js(j, "quantity"), "60000");
    json_decref(j);
    expect_status(usage(f, cid, "u2", "oss", "2027-01-01", "40000", NULL), 201, NULL);
    expect_status(usage(f, cid, "u3", "egress", "2027-01", "20000", NULL), 201, NULL);
    expect_status(usage(f, cid, "u4", "gpu", "2027-01", "100", NULL), 201, NULL);
    /* idempotent per record id */
    expect_status(usage(f, cid, "u1", "oss", "2027-01", "60000.0", &j), 200, &j);
    json_decref(j);
    expect_status(usage(f, cid, "u1", "oss", "2027-01", "60001", NULL), 409, NULL);
    expect_status(usage(f, cid, "u1", "egress", "2027-01", "60000", NULL), 409, NULL);
    /* bad periods and quantities */
    expect_status(usage(f, cid, "u5", "oss", "2027-13", "1", NULL), 400, NULL);
    expect_status(usage(f, cid, "u5", "oss", "2027-01-02", "1", NULL), 400, NULL);
    expect_status(usage(f, cid, "u5", "oss", "2026-12", "1", NULL), 400, NULL);
    expect_status(usage(f, cid, "u5", "oss", "2027-01", "-1", NULL), 400, NULL);
    expect_status(usage(f, cid, "u5", "nope", "2027-01", "1", &j), 404, &j);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "no line 'nope'"));
    json_decref(j);
    /* nothing known before the close */
    json_t *r = receivables(f, K_REP, cid, "2027-01-15");
    assert_string_equal(js(r, "total"), "0.00");
    json_decref(r);
    /* close January by hand */
    int st = post(f, K_CRM, CLOSE(cid, "2027-01"), "", &j);
    expect_status(st, 200, &j);
    assert_int_equal(json_array_size(json_object_get(j, "closed")), 3);
    assert_string_equal(js(j, "total"), "46381.36");
    json_t *c0 = json_array_get(json_object_get(j, "closed"), 0);
    assert_string_equal(js(c0, "line"), "oss");
    assert_string_equal(js(c0, "quantity"), "100000");
    assert_string_equal(js(c0, "amount"), "12461.36");
    json_decref(j);
    r = receivables(f, K_REP, cid, "2027-02-15");
    expect_item(find_item(r, "oss", "usage", 0, 0), "oss", "usage", "12461.36", "2027-02-15",
                "2027-01-31");
    expect_item(find_item(r, "egress", "usage", 0, 0), "egress", "usage", "12720.00",
                "2027-02-15", NULL);
    expect_item(find_item(r, "gpu", "usage", 0, 0), "gpu", "usage", "21200.00", "2027-02-15",
                NULL);
    assert_true(json_boolean_value(json_object_get(find_item(r, "gpu", "usage", 0, 0),
                                                   "amount_known")));
    assert_string_equal(js(find_item(r, "gpu", "usage", 0, 0), "status"), "due");
    /* the next period is scheduled, amount unknown */
    json_t *next = find_item(r, "oss", "usage", 1, 0);
    expect_item(next, "oss", "usage", "0.00", "2027-03-15", "2027-02-28");
    assert_string_equal(js(next, "period_from"), "2027-02-01");
    assert_false(json_boolean_value(json_object_get(next, "amount_known")));
    assert_string_equal(js(r, "total"), "46381.36");
    json_decref(r);
    /* after the close: usage refused, closing again is a no-op */
    st = usage(f, cid, "u9", "oss", "2027-01", "1", &j);
    expect_status(st, 409, &j);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "closed"));
    json_decref(j);
    expect_status(usage(f, cid, "u1", "oss", "2027-01", "60000", NULL), 200, NULL);
    expect_status(post(f, K_CRM, CLOSE(cid, "2027-01"), "{\"line\":\"oss\"}", &j), 200, &j);
    assert_false(json_boolean_value(
        json_object_get(json_array_get(json_object_get(j, "closed"), 0), "closed_now")));
    json_decref(j);
    expect_status(post(f, K_CRM, CLOSE(cid, "2027-13"), "", NULL), 400, NULL);
    /* {p} is written YYYY-MM or YYYY-MM-DD; anything else says so, with
     * or without a line (docs/receivables.md "Closing a period") */
    static const char *const bad_p[] = {"0", "2027-1", "202701", "2027-01-1", "+027-01"};
    for (size_t i = 0; i < sizeof(bad_p) / sizeof(bad_p[0]); i++)
        for (int with_line = 0; with_line < 2; with_line++) {
            st = post(f, K_CRM, CLOSE(cid, bad_p[i]), with_line ? "{\"line\":\"oss\"}" : "", &j);
            expect_status(st, 400, &j);
            char *want = tu_fmt("period: '%s' must be YYYY-MM (the billing period that starts in "
                                "that month) or the period's first day YYYY-MM-DD",
                                bad_p[i]);
            assert_string_equal(js(json_object_get(j, "error"), "message"), want);
            free(want);
            json_decref(j);
        }
    /* the period's first day names it as well as its month */
    expect_status(post(f, K_CRM, CLOSE(cid, "2027-01-01"), "", &j), 200, &j);
    assert_false(json_boolean_value(
        json_object_get(json_array_get(json_object_get(j, "closed"), 0), "closed_now")));
    json_decref(j);
    /* the sweep closes February (ended before Mar 1) */
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-02-28\"}",
                       &j),
                  200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "closed_periods")), 0);
    json_decref(j);
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2027-03-01\"}",
                       &j),
                  200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "closed_periods")), 3);
    json_decref(j);
    r = receivables(f, K_REP, cid, "2027-03-01");
    assert_string_equal(js(find_item(r, "oss", "usage", 1, 0), "amount"), "0.00");
    assert_string_equal(js(find_item(r, "gpu", "usage", 1, 0), "amount"), "21200.00");
    assert_string_equal(js(find_item(r, "gpu", "usage", 2, 0), "period_from"), "2027-03-01");
    assert_string_equal(js(r, "total"), "67581.36");
    json_decref(r);
    json_t *g;
    char *path = tu_fmt("/v1/contracts/%s", cid);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &g), 200);
    free(path);
    assert_string_equal(js(g, "total"), "67581.36");
    json_decref(g);
    /* events: one per record, per item set, per period closed */
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "usage.recorded", "u1"), 1);
    assert_int_equal(events_of(ev, "usage.period_closed", cid), 6);
    assert_int_equal(events_of(ev, "receivable.amount_set",
                               js(find_item(c, "oss", "usage", 0, 0), "id")),
                     1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_goods_delivered_after_signing),
        T(test_service_accepted_after_signing),
        T(test_milestone_accepted_after_signing),
        T(test_usage_record_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
