/*
 * End-to-end tests of a subscription line's term changes after signing
 * (docs/receivables.md "Renewals and seat changes"): the real binary with
 * --keys and --db on the sample catalogs. Renewal by the route and by the
 * sweep (auto_renew) with hand-computed dates and amounts (a quarterly
 * line anchored on Jan 31, a monthly line anchored on Jan 31 2028 through
 * Feb 29), seat changes up and down with their proration, exact sums per
 * line and per contract after each change, idempotency and refusals,
 * credits in payments and listings, the events in the pull feed, and
 * partner scoping (404) of these routes and of usage and period close.
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

#define USAGE(c) tu_fmt("/v1/contracts/%s/usage", c)
#define CLOSE(c, p) tu_fmt("/v1/contracts/%s/periods/%s/close", c, p)
#define SWEEP() tu_fmt("/v1/receivables/sweep")

/* ---- tests ---- */

/* The item of line/kind/service/seq/part in a body with "items". */
static json_t *find_key(json_t *c, const char *line, const char *kind, int service, int seq,
                        int part)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i, it)
    {
        if (!strcmp(js(it, "line"), line) && !strcmp(js(it, "kind"), kind) &&
            json_integer_value(json_object_get(it, "service")) == service &&
            json_integer_value(json_object_get(it, "seq")) == seq &&
            json_integer_value(json_object_get(it, "part")) == part)
            return it;
    }
    fail_msg("no %s item %s/%d/%d/%d", kind, line, service, seq, part);
    return NULL;
}

/* Checks the contract: items add up to its total, which is want; the line
 * total too (one line). */
static void expect_total(fx *f, const char *cid, const char *line, const char *want)
{
    json_t *r = receivables(f, K_REP, cid, NULL);
    assert_string_equal(js(r, "total"), want);
    assert_dec_eq(items_sum(json_object_get(r, "items"), line), want);
    json_decref(r);
    json_t *g;
    char *path = tu_fmt("/v1/contracts/%s", cid);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &g), 200);
    free(path);
    assert_string_equal(js(g, "total"), want);
    json_t *l0 = json_array_get(json_object_get(g, "lines"), 0);
    assert_string_equal(js(l0, "total"), want);
    json_decref(g);
}

static const char *err_msg(json_t *j)
{
    return js(json_object_get(j, "error"), "message");
}

#define RENEW(c, l) tu_fmt("/v1/contracts/%s/lines/%s/renew", c, l)
#define SEATS(c, l) tu_fmt("/v1/contracts/%s/lines/%s/seats", c, l)

#define SAAS_Q                                                                                     \
    "{\"customer\":{\"id\":\"S-1\"},\"date\":\"2026-12-01\",\"lines\":"                            \
    "[{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-Q\",\"quantity\":\"10\","                            \
    "\"attributes\":{\"tenant\":\"acme\"}}]}"
#define SAAS_M                                                                                     \
    "{\"customer\":{\"id\":\"S-2\"},\"date\":\"2026-12-01\",\"lines\":"                            \
    "[{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-M\",\"quantity\":\"10\","                            \
    "\"attributes\":{\"tenant\":\"beta\"}}]}"

/* The quarterly contract: SAS-CRM-STD-Q x 10 = 282.00 x 10 + 6% =
 * 2,989.20 per quarter, 12 months from Jan 31 2027 (periods Jan 31,
 * Apr 30, Jul 31, Oct 31; saas-net15: due 15 days after billing). */
static json_t *quarterly(fx *f, json_t **q)
{
    *q = approved_quote(f, K_REP, SAAS_Q);
    assert_string_equal(line_total(*q, "seats"), "2989.20");
    json_t *c = accept_ok(f, K_REP, js(*q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-31\"}");
    assert_string_equal(js(c, "total"), "11956.80"); /* 4 x 2,989.20 */
    return c;
}

/* A seat change's 201 names its contract (docs/api.md "Created"); the
 * same change again (its id) is a 200 with the same reply. */
static void test_seat_change_location(void **state)
{
    fx *f = *state;
    json_t *q, *c = quarterly(f, &q);
    char *path = SEATS(js(c, "id"), "seats"), *want = tu_fmt("/v1/contracts/%s", js(c, "id"));
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_REP]);
    const char *body = "{\"id\":\"up-9\",\"quantity\":\"12\",\"effective_on\":\"2027-05-10\"}";
    char *first = NULL;
    for (int i = 0; i < 2; i++) {
        tu_resp r;
        char loc[256];
        assert_int_equal(tu_http(f->s.port, "POST", path, hdr, body, strlen(body), &r), 0);
        assert_int_equal(r.status, i == 0 ? 201 : 200);
        if (i == 0) {
            assert_true(tu_header(&r, "Location", loc, sizeof(loc)));
            assert_string_equal(loc, want);
            first = strndup(r.body, r.body_len);
        } else {
            assert_false(tu_header(&r, "Location", loc, sizeof(loc)));
            assert_string_equal(first, r.body ? r.body : "");
        }
        tu_resp_free(&r);
    }
    free(first);
    free(want);
    free(path);
    json_decref(c);
    json_decref(q);
}

/* Seats up then down on the quarterly line, each prorated by days of its
 * anchored quarter, and the later quarters repriced:
 *
 * up 10 -> 15 on May 10 2027, quarter [Apr 30, Jul 31) = 92 days, rest
 * May 10..Jul 30 = 82 days; new amount 2,989.20 x 15 / 10 = 4,483.80;
 *   credit -2,989.20 x 82/92 = -2,664.2869... -> -2,664.29
 *   charge  4,483.80 x 82/92 =  3,996.4304... ->  3,996.43
 *   quarters Jul 31 and Oct 31: 4,483.80 each
 *   total 2 x 2,989.20 + 2 x 4,483.80 - 2,664.29 + 3,996.43 = 16,278.14
 * down 15 -> 12 on Aug 20 2027, quarter [Jul 31, Oct 31) = 92 days, rest
 * Aug 20..Oct 30 = 72 days; new 2,989.20 x 12 / 10 = 3,587.04;
 *   credit -4,483.80 x 72/92 = -3,509.0608... -> -3,509.06
 *   charge  3,587.04 x 72/92 =  2,807.2486... ->  2,807.25
 *   quarter Oct 31: 3,587.04
 *   total 2 x 2,989.20 + 4,483.80 + 3,587.04 + 1,332.14 - 701.81
 *         = 14,679.57
 * Both billed on the change date, due 15 days later. */
static void test_seat_changes_quarterly(void **state)
{
    fx *f = *state;
    json_t *q, *c = quarterly(f, &q), *j;
    const char *cid = js(c, "id");
    int st = post(f, K_REP, SEATS(cid, "seats"),
                  "{\"id\":\"up-1\",\"quantity\":\"15\",\"effective_on\":\"2027-05-10\"}", &j);
    expect_status(st, 201, &j);
    assert_string_equal(js(j, "previous_quantity"), "10");
    assert_string_equal(js(j, "quantity"), "15");
    assert_string_equal(js(j, "period_amount"), "4483.80");
    assert_string_equal(js(j, "previous_period_amount"), "2989.20");
    assert_string_equal(js(j, "credit"), "-2664.29");
    assert_string_equal(js(j, "charge"), "3996.43");
    assert_int_equal(json_integer_value(json_object_get(j, "change_no")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "term")), 0);
    json_t *cr = find_key(j, "seats", "credit", 1, 1, 0);
    expect_item(cr, "seats", "credit", "-2664.29", "2027-05-25", "2027-05-10");
    assert_string_equal(js(cr, "period_from"), "2027-05-10");
    assert_string_equal(js(cr, "period_to"), "2027-07-31");
    assert_string_equal(js(cr, "status"), "paid"); /* a credit has nothing to collect */
    expect_item(find_key(j, "seats", "charge", 1, 1, 0), "seats", "charge", "3996.43", "2027-05-25",
                "2027-05-10");
    expect_item(find_key(j, "seats", "period", 0, 1, 0), "seats", "period", "2989.20", "2027-05-15",
                "2027-04-30");
    expect_item(find_key(j, "seats", "period", 0, 2, 0), "seats", "period", "4483.80", "2027-08-15",
                "2027-07-31");
    expect_item(find_key(j, "seats", "period", 0, 3, 0), "seats", "period", "4483.80", "2027-11-15",
                "2027-10-31");
    /* the repriced quarters keep their ids */
    assert_string_equal(js(find_key(j, "seats", "period", 0, 3, 0), "id"),
                        js(find_key(c, "seats", "period", 0, 3, 0), "id"));
    assert_string_equal(js(j, "total"), "16278.14");
    assert_dec_eq(items_sum(json_object_get(j, "items"), "seats"), "16278.14");
    json_decref(j);
    expect_total(f, cid, "seats", "16278.14");

    /* the same change again: 200, nothing written; another content: 409 */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"up-1\",\"quantity\":\"15\",\"effective_on\":\"2027-05-10\"}", &j);
    expect_status(st, 200, &j);
    assert_string_equal(js(j, "credit"), "-2664.29");
    json_decref(j);
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"up-1\",\"quantity\":\"16\",\"effective_on\":\"2027-05-10\"}", &j);
    expect_status(st, 409, &j);
    json_decref(j);
    expect_total(f, cid, "seats", "16278.14");

    st = post(f, K_CRM, SEATS(cid, "seats"),
              "{\"id\":\"down-1\",\"quantity\":12,\"effective_on\":\"2027-08-20\"}", &j);
    expect_status(st, 201, &j);
    assert_string_equal(js(j, "previous_quantity"), "15");
    assert_string_equal(js(j, "period_amount"), "3587.04");
    assert_string_equal(js(j, "previous_period_amount"), "4483.80");
    assert_int_equal(json_integer_value(json_object_get(j, "change_no")), 2);
    expect_item(find_key(j, "seats", "credit", 2, 2, 0), "seats", "credit", "-3509.06",
                "2027-09-04", "2027-08-20");
    expect_item(find_key(j, "seats", "charge", 2, 2, 0), "seats", "charge", "2807.25", "2027-09-04",
                "2027-08-20");
    expect_item(find_key(j, "seats", "period", 0, 2, 0), "seats", "period", "4483.80", "2027-08-15",
                "2027-07-31");
    expect_item(find_key(j, "seats", "period", 0, 3, 0), "seats", "period", "3587.04", "2027-11-15",
                "2027-10-31");
    /* the first change's items stay as they were */
    expect_item(find_key(j, "seats", "credit", 1, 1, 0), "seats", "credit", "-2664.29",
                "2027-05-25", "2027-05-10");
    assert_string_equal(js(j, "total"), "14679.57");
    json_decref(j);
    expect_total(f, cid, "seats", "14679.57");

    /* credits: nothing to pay, never overdue */
    json_t *r = receivables(f, K_REP, cid, "2027-12-31");
    char *path =
        tu_fmt("/v1/receivables/%s/payments", js(find_key(r, "seats", "credit", 2, 2, 0), "id"));
    st = post(f, K_REP, path, "{\"id\":\"pay-1\",\"amount\":\"1.00\",\"paid_on\":\"2026-12-02\"}",
              &j);
    expect_status(st, 409, &j);
    json_decref(j);
    json_decref(r);
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/receivables?status=overdue&as_of=2027-12-31", NULL, &j), 200);
    size_t i;
    json_t *it;
    size_t overdue = 0;
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        if (strcmp(js(it, "contract_id"), cid))
            continue;
        assert_string_not_equal(js(it, "kind"), "credit");
        overdue++;
    }
    /* 4 quarters and 2 charges, all unpaid and past due */
    assert_int_equal(overdue, 6);
    json_decref(j);

    /* refusals */
    static const char *const bad_qty[] = {"\"0\"", "\"1.5\"", "\"-3\"", "\"abc\"", "0", "\"\""};
    for (size_t k = 0; k < sizeof(bad_qty) / sizeof(*bad_qty); k++) {
        char *body = tu_fmt("{\"id\":\"x-%zu\",\"quantity\":%s,\"effective_on\":\"2027-10-01\"}", k,
                            bad_qty[k]);
        st = post(f, K_REP, SEATS(cid, "seats"), body, &j);
        expect_status(st, 400, &j);
        assert_non_null(strstr(err_msg(j), "quantity"));
        json_decref(j);
        free(body);
    }
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"early\",\"quantity\":\"11\",\"effective_on\":\"2026-11-30\"}", &j);
    expect_status(st, 400, &j);
    assert_non_null(strstr(err_msg(j), "before the signing date"));
    json_decref(j);
    /* signed, but before the first service day */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"pre\",\"quantity\":\"11\",\"effective_on\":\"2026-12-20\"}", &j);
    expect_status(st, 400, &j);
    assert_non_null(strstr(err_msg(j), "outside the terms"));
    json_decref(j);
    /* after the term, not renewed yet */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"late\",\"quantity\":\"11\",\"effective_on\":\"2028-02-10\"}", &j);
    expect_status(st, 400, &j);
    assert_non_null(strstr(err_msg(j), "2027-01-31 to 2028-01-30"));
    json_decref(j);
    /* before the last change */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"back\",\"quantity\":\"11\",\"effective_on\":\"2027-08-01\"}", &j);
    expect_status(st, 409, &j);
    assert_non_null(strstr(err_msg(j), "2027-08-20"));
    json_decref(j);
    /* the seats in force already */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"same\",\"quantity\":\"12\",\"effective_on\":\"2027-09-01\"}", &j);
    expect_status(st, 400, &j);
    json_decref(j);
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"quantity\":\"12\",\"effective_on\":\"2027-09-01\"}", &j);
    expect_status(st, 400, &j);
    json_decref(j);
    st = post(f, K_REP, SEATS(cid, "nope"),
              "{\"id\":\"n\",\"quantity\":\"2\",\"effective_on\":\"2027-09-01\"}", &j);
    expect_status(st, 404, &j);
    json_decref(j);
    expect_total(f, cid, "seats", "14679.57");

    /* renewal at the seats in force at the end of the term: 12 seats,
     * 3,587.04 per quarter; the anchor series continues (Jan 31 2028,
     * Apr 30, Jul 31, Oct 31), seq 4..7; total + 4 x 3,587.04 = 29,027.73 */
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"term\":1}", &j);
    expect_status(st, 201, &j);
    assert_string_equal(js(j, "term_from"), "2028-01-31");
    assert_string_equal(js(j, "term_to"), "2029-01-31");
    assert_string_equal(js(j, "period_amount"), "3587.04");
    assert_string_equal(js(j, "quantity"), "12");
    assert_string_equal(js(j, "source"), "api");
    static const char *const from[] = {"2028-01-31", "2028-04-30", "2028-07-31", "2028-10-31"};
    static const char *const due[] = {"2028-02-15", "2028-05-15", "2028-08-15", "2028-11-15"};
    assert_int_equal(json_array_size(json_object_get(j, "items")), 4);
    for (int k = 0; k < 4; k++)
        expect_item(find_key(j, "seats", "period", 0, 4 + k, 0), "seats", "period", "3587.04",
                    due[k], from[k]);
    assert_string_equal(js(j, "total"), "29027.73");
    json_decref(j);
    expect_total(f, cid, "seats", "29027.73");
    /* a change in the new term is now possible: up 12 -> 13 on Feb 10
     * 2028, quarter [Jan 31, Apr 30) = 90 days (29 + 31 + 30: a leap
     * February), rest Feb 10..Apr 29 = 80 days; 3,587.04 x 13 / 12 =
     * 3,885.96; credit -3,587.04 x 80/90 = -3,188.48 exactly; charge
     * 3,885.96 x 80/90 = 3,454.1866... -> 3,454.19; the 3 later quarters
     * + 298.92 each */
    st = post(f, K_REP, SEATS(cid, "seats"),
              "{\"id\":\"up-2\",\"quantity\":\"13\",\"effective_on\":\"2028-02-10\"}", &j);
    expect_status(st, 201, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "term")), 1);
    assert_string_equal(js(j, "period_amount"), "3885.96");
    assert_string_equal(js(j, "credit"), "-3188.48");
    assert_string_equal(js(j, "charge"), "3454.19");
    /* 29,027.73 - 3,188.48 + 3,454.19 + 3 x 298.92 = 30,190.20 */
    assert_string_equal(js(j, "total"), "30190.20");
    json_decref(j);
    expect_total(f, cid, "seats", "30190.20");

    /* events: one rescheduled per change, one renewal */
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 3);
    assert_int_equal(events_of(ev, "contract.renewed", cid), 1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

/* The monthly line renews itself: SAS-CRM-STD-M x 10 (graduated, all in
 * the first band: 10 x 99.00 + 6% = 1,049.40 a month), a 1-month term
 * from Jan 31 2028, auto_renew. The sweep renews a term once as_of
 * reaches its end (the next term's first day): Feb 29 (2028 is a leap
 * year), then Mar 31 and Apr 30 (the Jan 31 anchor, clamped). */
static void test_renewal_monthly_sweep(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, SAAS_M), *j;
    assert_string_equal(line_total(q, "seats"), "1049.40");
    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2028-01-31\"}");
    const char *cid = js(c, "id");
    assert_int_equal(json_array_size(json_object_get(c, "items")), 1);
    expect_item(find_key(c, "seats", "period", 0, 0, 0), "seats", "period", "1049.40", "2028-02-15",
                "2028-01-31");
    assert_string_equal(js(find_key(c, "seats", "period", 0, 0, 0), "period_to"), "2028-02-29");

    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2028-02-28\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 0);
    json_decref(j);
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2028-02-29\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 1);
    json_decref(j);
    json_t *r = receivables(f, K_REP, cid, NULL);
    json_t *p1 = find_key(r, "seats", "period", 0, 1, 0);
    expect_item(p1, "seats", "period", "1049.40", "2028-03-15", "2028-02-29");
    assert_string_equal(js(p1, "period_to"), "2028-03-31");
    json_decref(r);
    expect_total(f, cid, "seats", "2098.80");

    /* down 10 -> 4 on Mar 10 2028: month [Feb 29, Mar 31) = 31 days, rest
     * 21; 1,049.40 x 4 / 10 = 419.76; credit -1,049.40 x 21/31 =
     * -710.8838... -> -710.88; charge 419.76 x 21/31 = 284.3535... ->
     * 284.35; no later period in a one-month term */
    int st = post(f, K_REP, SEATS(cid, "seats"),
                  "{\"id\":\"down\",\"quantity\":\"4\",\"effective_on\":\"2028-03-10\"}", &j);
    expect_status(st, 201, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "term")), 1);
    assert_string_equal(js(j, "credit"), "-710.88");
    assert_string_equal(js(j, "charge"), "284.35");
    expect_item(find_key(j, "seats", "charge", 1, 1, 0), "seats", "charge", "284.35", "2028-03-25",
                "2028-03-10");
    /* 2,098.80 - 710.88 + 284.35 */
    assert_string_equal(js(j, "total"), "1672.27");
    json_decref(j);
    expect_total(f, cid, "seats", "1672.27");

    /* two terms ended by Apr 30: Mar 31..Apr 29 and Apr 30..May 30, each at
     * the 4 seats in force, 419.76 */
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2028-04-30\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 2);
    json_decref(j);
    expect_status(post(f, K_CRM, SWEEP(), "{\"as_of\":\"2028-04-30\"}", &j), 200, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "renewed_terms")), 0);
    json_decref(j);
    r = receivables(f, K_REP, cid, NULL);
    expect_item(find_key(r, "seats", "period", 0, 2, 0), "seats", "period", "419.76", "2028-04-15",
                "2028-03-31");
    json_t *p3 = find_key(r, "seats", "period", 0, 3, 0);
    expect_item(p3, "seats", "period", "419.76", "2028-05-15", "2028-04-30");
    assert_string_equal(js(p3, "period_to"), "2028-05-31");
    assert_int_equal(json_array_size(json_object_get(r, "items")), 6);
    json_decref(r);
    /* 1,672.27 + 2 x 419.76 */
    expect_total(f, cid, "seats", "2511.79");

    /* renewing a renewed term: the same items (200), whoever renewed it;
     * another price 409; a term after the next one 409 */
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"term\":3}", &j);
    expect_status(st, 200, &j);
    assert_string_equal(js(j, "source"), "sweep");
    assert_string_equal(js(j, "term_from"), "2028-04-30");
    assert_string_equal(js(j, "term_to"), "2028-05-31");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"term\":3,\"period_amount\":\"419.76\"}", &j);
    expect_status(st, 200, &j);
    json_decref(j);
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"term\":3,\"period_amount\":\"500.00\"}", &j);
    expect_status(st, 409, &j);
    assert_non_null(strstr(err_msg(j), "already renewed"));
    json_decref(j);
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"term\":5}", &j);
    expect_status(st, 409, &j);
    assert_non_null(strstr(err_msg(j), "before term 4"));
    json_decref(j);
    expect_status(post(f, K_REP, RENEW(cid, "seats"), "{\"term\":0}", NULL), 400, NULL);
    expect_status(post(f, K_REP, RENEW(cid, "seats"), "{\"period_amount\":\"1.001\"}", NULL), 400,
                  NULL);
    expect_total(f, cid, "seats", "2511.79");
    /* the next term by the route at a renewal price */
    st = post(f, K_REP, RENEW(cid, "seats"), "{\"period_amount\":\"400.00\"}", &j);
    expect_status(st, 201, &j);
    assert_int_equal(json_integer_value(json_object_get(j, "term")), 4);
    assert_string_equal(js(j, "term_from"), "2028-05-31");
    assert_string_equal(js(j, "term_to"), "2028-06-30");
    assert_string_equal(js(j, "previous_period_amount"), "419.76");
    json_decref(j);
    expect_total(f, cid, "seats", "2911.79");

    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "contract.renewed", cid), 4);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 1);
    json_decref(ev);
    json_decref(c);
    json_decref(q);
}

/* Lines that are not subscriptions have no renewal or seats (409). */
static void test_term_changes_wrong_mode(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":["
                               "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}"),
           *j;
    json_t *c = accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-02\"}");
    const char *cid = js(c, "id");
    expect_status(post(f, K_REP, RENEW(cid, "kettle"), "", &j), 409, &j);
    assert_non_null(strstr(err_msg(j), "goods"));
    json_decref(j);
    expect_status(post(f, K_REP, SEATS(cid, "kettle"),
                       "{\"id\":\"s\",\"quantity\":\"3\",\"effective_on\":\"2026-12-10\"}", &j),
                  409, &j);
    json_decref(j);
    expect_status(post(f, K_REP, RENEW(cid, "nope"), "", NULL), 404, NULL);
    json_decref(c);
    json_decref(q);
}

/* A partner key sees no other contract: renew, seats, usage and period
 * close answer 404 as for a contract that does not exist, and change
 * nothing. */
static void test_term_changes_partner_scope(void **state)
{
    fx *f = *state;
    json_t *q, *c = quarterly(f, &q), *j;
    const char *cid = js(c, "id");
    expect_status(post(f, K_PARTNER_B, RENEW(cid, "seats"), "{\"term\":1}", &j), 404, &j);
    json_decref(j);
    expect_status(post(f, K_PARTNER_A, SEATS(cid, "seats"),
                       "{\"id\":\"p\",\"quantity\":\"11\",\"effective_on\":\"2027-03-01\"}", &j),
                  404, &j);
    json_decref(j);
    json_t *uq = approved_quote(f, K_REP,
                                "{\"customer\":{\"id\":\"U-1\"},\"date\":\"2026-12-01\",\"lines\":"
                                "[{\"id\":\"oss\",\"sku\":\"CLD-OSS-STD\",\"quantity\":\"1000\","
                                "\"attributes\":{\"region\":\"cn-shanghai\"}}]}");
    json_t *uc = accept_ok(f, K_REP, js(uq, "id"),
                           "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-01\"}");
    const char *ucid = js(uc, "id");
    expect_status(post(f, K_PARTNER_B, USAGE(ucid),
                       "{\"id\":\"u1\",\"line\":\"oss\",\"period\":\"2027-01\",\"quantity\":\"5\"}",
                       &j),
                  404, &j);
    json_decref(j);
    expect_status(post(f, K_PARTNER_B, CLOSE(ucid, "2027-01"), "", &j), 404, &j);
    json_decref(j);
    /* nothing changed: no renewal, no change, no usage, the period open */
    expect_total(f, cid, "seats", "11956.80");
    json_t *r = receivables(f, K_REP, ucid, NULL);
    assert_false(
        json_boolean_value(json_object_get(find_key(r, "oss", "usage", 0, 0, 0), "amount_known")));
    json_decref(r);
    json_t *ev = feed(f);
    assert_int_equal(events_of(ev, "contract.renewed", cid), 0);
    assert_int_equal(events_of(ev, "receivables.rescheduled", cid), 0);
    assert_int_equal(events_of(ev, "usage.recorded", "u1"), 0);
    json_decref(ev);
    json_decref(uc);
    json_decref(uq);
    json_decref(c);
    json_decref(q);
}

/* The items of line in body c, in their order there. */
static size_t line_items(json_t *c, const char *line, json_t **out, size_t cap)
{
    size_t i, n = 0;
    json_t *it;
    json_array_foreach(json_object_get(c, "items"), i, it) if (!strcmp(js(it, "line"), line))
    {
        assert_true(n < cap);
        out[n++] = it;
    }
    return n;
}

#define BILL_DAY_Q                                                                                 \
    "{\"customer\":{\"id\":\"S-3\"},\"date\":\"2026-12-01\",\"lines\":["                           \
    "{\"id\":\"ent\",\"sku\":\"SAS-CRM-ENT-M\",\"quantity\":\"10\",\"options\":[],"                 \
    "\"attributes\":{\"tenant\":\"gamma\"}},"                                                      \
    "{\"id\":\"seats\",\"sku\":\"SAS-CRM-STD-Q\",\"quantity\":\"10\","                             \
    "\"attributes\":{\"tenant\":\"gamma\"}},"                                                      \
    "{\"id\":\"ey\",\"sku\":\"SAS-CRM-ENT-Y\",\"quantity\":\"2\",\"options\":[],"                   \
    "\"attributes\":{\"tenant\":\"gamma\"}},"                                                      \
    "{\"id\":\"onb\",\"sku\":\"SAS-SVC-ONBOARD\",\"quantity\":\"1\"}]}"

/* Calendar-month billing (docs/receivables.md "Partial first period") set
 * by the catalog and by the accept request, and a term in equal parts,
 * from Jan 15 2027 on the sample catalog:
 *
 * ent: SAS-CRM-ENT-M x 10 = 399.00 x 10 + 6% = 4,229.40 a month, bills on
 *   the 1st (the product's bill_day): the stub Jan 15..Feb 1 is 17/31 x
 *   4,229.40 = 2,319.348... -> 2,319.35 (half-even), then 12 months from
 *   Feb 1: 2,319.35 + 12 x 4,229.40 = 53,072.15 (saas-eom30: the stub due
 *   Jan 31 + 30 = Mar 2).
 * seats: SAS-CRM-STD-Q x 10 = 2,989.20 a quarter, "bill_day": 1 at accept:
 *   the series starts Feb 1; the stub is 17 of the 92 days of Nov 1..Feb 1
 *   = 552.352... -> 552.35 (saas-net15: due Jan 30); then 4 quarters due
 *   the 16th of Feb, May, Aug, Nov: 552.35 + 11,956.80 =
 *   12,509.15. Renewed, term 1 runs Feb 1 2028..Feb 1 2029: the override
 *   is kept after signing.
 * ey: SAS-CRM-ENT-Y x 2 = 4,308.00 x 2 + 6% = 9,132.96 a year under
 *   saas-yearly-4q (4 equal parts every 3 months, end of month + 30): the
 *   first year in 4 x 2,283.24 invoiced Jan 15, Apr 15, Jul 15, Oct 15,
 *   due Mar 2, May 30, Aug 30, Nov 30; 3 years: 27,398.88. */
static void test_bill_day_and_equal_parts(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP, BILL_DAY_Q), *j;
    /* the product shows its billing day */
    assert_int_equal(call(f, K_REP, "GET", "/v1/products/SAS-CRM-ENT-M", NULL, &j), 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "delivery"), "bill_day")), 1);
    json_decref(j);
    assert_string_equal(line_total(q, "ent"), "4229.40");
    assert_string_equal(line_total(q, "seats"), "2989.20");
    assert_string_equal(line_total(q, "ey"), "9132.96");
    /* refused: out of range, not an integer, on a line that is not a
     * subscription; nothing is written */
    static const char *const bad[] = {
        "{\"signed_on\":\"2026-12-02\",\"lines\":{\"seats\":{\"bill_day\":32}}}",
        "{\"signed_on\":\"2026-12-02\",\"lines\":{\"seats\":{\"bill_day\":\"1\"}}}",
        "{\"signed_on\":\"2026-12-02\",\"lines\":{\"seats\":{\"bill_day\":-1}}}",
        "{\"signed_on\":\"2026-12-02\",\"lines\":{\"onb\":{\"bill_day\":1}}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_status(accept_q(f, K_REP, js(q, "id"), bad[i], NULL, &j), 400, &j);
        assert_string_equal(err_msg(j), i < 3 ? "lines.seats.bill_day: must be an integer from 1 "
                                                "to 31 (the day of the month a subscription bills "
                                                "on) or 0 (on the start day)"
                                              : "line onb: bill_day applies to subscription lines "
                                                "only");
        json_decref(j);
    }
    char *path = tu_fmt("/v1/quotes/%s", js(q, "id"));
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    free(path);
    assert_string_equal(js(j, "status"), "approved");
    json_decref(j);

    json_t *c = accept_ok(f, K_REP, js(q, "id"),
                          "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-15\","
                          "\"lines\":{\"seats\":{\"bill_day\":1}}}");
    assert_string_equal(js(c, "number"), "C-2026-000001"); /* the refusals took no number */
    json_t *it[16];
    /* ent: the stub, then 12 months from Feb 1 */
    assert_int_equal(line_items(c, "ent", it, 16), 13);
    expect_item(it[0], "ent", "period", "2319.35", "2027-03-02", "2027-01-15");
    assert_string_equal(js(it[0], "period_from"), "2027-01-15");
    assert_string_equal(js(it[0], "period_to"), "2027-02-01");
    assert_non_null(strstr(js(it[0], "description"), "first period (17/31 days)"));
    expect_item(it[1], "ent", "period", "4229.40", "2027-03-30", "2027-02-01");
    assert_string_equal(js(it[12], "period_from"), "2028-01-01");
    assert_string_equal(js(it[12], "period_to"), "2028-02-01");
    assert_dec_eq(items_sum(json_object_get(c, "items"), "ent"), "53072.15");
    /* seats: the stub of 17/92 days, then 4 quarters from Feb 1 */
    assert_int_equal(line_items(c, "seats", it, 16), 5);
    expect_item(it[0], "seats", "period", "552.35", "2027-01-30", "2027-01-15");
    assert_string_equal(js(it[0], "period_to"), "2027-02-01");
    static const char *const qfrom[] = {"2027-02-01", "2027-05-01", "2027-08-01", "2027-11-01"};
    static const char *const qdue[] = {"2027-02-16", "2027-05-16", "2027-08-16", "2027-11-16"};
    for (size_t i = 0; i < 4; i++) {
        expect_item(it[i + 1], "seats", "period", "2989.20", qdue[i], qfrom[i]);
        assert_int_equal(json_integer_value(json_object_get(it[i + 1], "seq")), (json_int_t)i + 1);
    }
    assert_dec_eq(items_sum(json_object_get(c, "items"), "seats"), "12509.15");
    /* ey: 3 years, each in 4 equal parts, keys part 0..3 */
    assert_int_equal(line_items(c, "ey", it, 16), 12);
    static const char *const bill[] = {"2027-01-15", "2027-04-15", "2027-07-15", "2027-10-15"};
    static const char *const due[] = {"2027-03-02", "2027-05-30", "2027-08-30", "2027-11-30"};
    for (int k = 0; k < 4; k++) {
        json_t *x = find_key(c, "ey", "period", 0, 0, k);
        expect_item(x, "ey", "period", "2283.24", due[k], bill[k]);
        assert_string_equal(js(x, "period_from"), "2027-01-15");
        assert_string_equal(js(x, "period_to"), "2028-01-15");
    }
    assert_non_null(strstr(js(find_key(c, "ey", "period", 0, 0, 1), "description"),
                           "part 2/4 of 100% every 3 months, end of month + 30 days"));
    expect_item(find_key(c, "ey", "period", 0, 2, 3), "ey", "period", "2283.24", "2029-11-30",
                "2029-10-15");
    assert_dec_eq(items_sum(json_object_get(c, "items"), "ey"), "27398.88");
    /* the contract adds up: its lines plus the onboarding (60,000.00 + 6%) */
    assert_dec_eq(items_sum(json_object_get(c, "items"), NULL), js(c, "total"));
    /* 53,072.15 + 12,509.15 + 27,398.88 + 63,600.00 */
    assert_string_equal(js(c, "total"), "156580.18");

    /* after signing the override holds: the renewal continues Feb 1 */
    const char *cid = js(c, "id");
    expect_status(post(f, K_REP, RENEW(cid, "seats"), "{\"term\":1}", &j), 201, &j);
    assert_string_equal(js(j, "term_from"), "2028-02-01");
    assert_string_equal(js(j, "term_to"), "2029-02-01");
    json_decref(j);
    json_decref(c);
    json_decref(q);

    /* "bill_day": 0 at accept anchors ENT-M on its start day: no stub */
    q = approved_quote(f, K_REP,
                       "{\"customer\":{\"id\":\"S-4\"},\"date\":\"2026-12-01\",\"lines\":"
                       "[{\"id\":\"ent\",\"sku\":\"SAS-CRM-ENT-M\",\"quantity\":\"10\","
                       "\"options\":[],\"attributes\":{\"tenant\":\"delta\"}}]}");
    c = accept_ok(f, K_REP, js(q, "id"),
                  "{\"signed_on\":\"2026-12-02\",\"start_on\":\"2027-01-15\","
                  "\"lines\":{\"ent\":{\"bill_day\":0}}}");
    assert_int_equal(line_items(c, "ent", it, 16), 12);
    expect_item(it[0], "ent", "period", "4229.40", "2027-03-02", "2027-01-15");
    assert_string_equal(js(it[0], "period_to"), "2027-02-15");
    assert_string_equal(js(c, "total"), "50752.80"); /* 12 x 4,229.40 */
    json_decref(c);
    json_decref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_seat_changes_quarterly),
        T(test_seat_change_location),
        T(test_renewal_monthly_sweep),
        T(test_term_changes_wrong_mode),
        T(test_term_changes_partner_scope),
        T(test_bill_day_and_equal_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
