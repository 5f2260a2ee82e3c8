/*
 * Unit tests for sched: receivable schedules per delivery mode, events,
 * renewal, seat changes, usage pricing, classification and aging, bad
 * input. Expectations are computed by hand in the comments. The
 * randomized tests print their seed; SCHED_SEED=<n> replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/cat.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 20260611u

static uint64_t seed;

/* ---- helpers ---- */

static money_dec M(const char *s)
{
    money_dec v = {0, 0};
    if (money_parse(s, strlen(s), &v))
        fail_msg("bad money text %s", s);
    return v;
}

static date_days D(const char *s)
{
    date_days d = 0;
    if (date_parse(s, strlen(s), &d))
        fail_msg("bad date %s", s);
    return d;
}

#define assert_money(v, want)                                                                      \
    do {                                                                                           \
        char b_[MONEY_FMT_MAX];                                                                    \
        assert_true(money_format((v), b_, sizeof(b_)) > 0);                                        \
        assert_string_equal(b_, (want));                                                           \
    } while (0)

#define assert_date(d, want)                                                                       \
    do {                                                                                           \
        char b_[DATE_FMT_LEN];                                                                     \
        assert_true((d) != SCHED_NO_DATE);                                                         \
        date_format((d), b_);                                                                      \
        assert_string_equal(b_, (want));                                                           \
    } while (0)

static cat_installment pct(const char *p, cat_due due, int days)
{
    return (cat_installment){.is_percent = true, .percent = M(p), .due = due, .days = days};
}

static cat_installment fixed(const char *a, cat_due due, int days)
{
    return (cat_installment){.amount = M(a), .due = due, .days = days};
}

static cat_milestone ms_pct(const char *id, const char *p)
{
    return (cat_milestone){.id = id, .is_percent = true, .percent = M(p)};
}

static cat_milestone ms_amt(const char *id, const char *a)
{
    return (cat_milestone){.id = id, .amount = M(a)};
}

/* A line of mode m with total t (text) and no dates. */
static sched_line line_of(cat_mode m, const char *t)
{
    return (sched_line){.id = "L1", .mode = m, .total = M(t), .lead_time_days = -1,
                        .acceptance_days = -1, .goods_weight = money_from_int(1),
                        .tax_rate = money_from_int(0), .unit_price = money_from_int(0),
                        .start_on = SCHED_NO_DATE, .delivered_on = SCHED_NO_DATE,
                        .accepted_on = SCHED_NO_DATE};
}

static sched_contract contract_of(const char *cur, const char *signed_on, const sched_line *l,
                                  size_t n)
{
    return (sched_contract){.currency = cur, .rounding = MONEY_HALF_UP, .signed_on = D(signed_on),
                            .lines = l, .nlines = n};
}

/* Builds line 0 of c into *out, failing the test on error. */
static void build1(const sched_contract *c, sched_list *out, money_dec *tot)
{
    cpqd_errs *e = errs_new();
    int rc = sched_line_build(c, 0, out, tot, e);
    if (rc) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fail_msg("sched_line_build = %d: %s", rc, m ? m : "");
    }
    errs_free(e);
}

/* Expects CPQD_EINVAL from building c with a message containing want, and
 * no output. */
static void expect_einval(const sched_contract *c, const char *want)
{
    cpqd_errs *e = errs_new();
    sched_schedule s;
    assert_int_equal(sched_contract_build(c, &s, e), CPQD_EINVAL);
    assert_null(s.items.items);
    assert_int_equal(s.items.n, 0);
    assert_true(errs_count(e) >= 1);
    char *m = errs_format(e, 0);
    if (!strstr(m, want))
        fail_msg("message '%s' lacks '%s'", m, want);
    free(m);
    errs_free(e);
}

/* ---- goods and payment terms ---- */

/* 12345.67 x 30% = 3703.701, x 70% = 8641.969; truncated 3703.70 +
 * 8641.96 = 12345.66; the missing cent goes to the larger remainder
 * (.009): 8641.97. Delivery pending: expected signing + lead 5 + 30. */
static void test_sched_goods_30_70_net30_after_delivery(void **state)
{
    (void)state;
    cat_installment in[2] = {pct("30", CAT_DUE_SIGNING, 0), pct("70", CAT_DUE_DELIVERY, 30)};
    cat_term t = {.id = "30-70", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "12345.67");
    l.term = &t;
    l.lead_time_days = 5;
    sched_contract c = contract_of("CNY", "2026-03-10", &l, 1);
    sched_list a = {0};
    money_dec tot;
    build1(&c, &a, &tot);
    assert_int_equal(a.n, 2);
    assert_money(a.items[0].amount, "3703.70");
    assert_date(a.items[0].due_on, "2026-03-10");
    assert_string_equal(a.items[0].desc, "30% on signing");
    assert_money(a.items[1].amount, "8641.97");
    assert_int_equal(a.items[1].waits_for, SCHED_WAIT_DELIVERY);
    assert_int_equal(a.items[1].due_on, SCHED_NO_DATE);
    assert_date(a.items[1].expected_on, "2026-04-14"); /* Mar 10 + 5 = Mar 15, + 30 */
    assert_string_equal(a.items[1].desc, "70% 30 days after delivery");
    assert_money(tot, "12345.67");

    /* delivered Mar 20: due Apr 19; same keys and amounts */
    l.delivered_on = D("2026-03-20");
    sched_list b = {0};
    build1(&c, &b, &tot);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.items[1].waits_for, SCHED_WAIT_NONE);
    assert_date(b.items[1].due_on, "2026-04-19");
    assert_date(b.items[1].bill_on, "2026-03-20");
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(money_cmp(a.items[i].amount, b.items[i].amount), 0);
        assert_int_equal(a.items[i].part, b.items[i].part);
        assert_int_equal(a.items[i].kind, b.items[i].kind);
    }
    sched_list_fini(&a);
    sched_list_fini(&b);
}

/* No term: 100% on delivery. */
static void test_sched_goods_default_term_is_on_delivery(void **state)
{
    (void)state;
    sched_line l = line_of(CAT_MODE_GOODS, "99.90");
    l.delivered_on = D("2026-05-02");
    sched_contract c = contract_of("USD", "2026-05-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 1);
    assert_money(a.items[0].amount, "99.90");
    assert_date(a.items[0].due_on, "2026-05-02");
    sched_list_fini(&a);
}

/* End of month + 30 from signing: Jan 15 2026 -> Jan 31 + 30 = Mar 2
 * (February has 28 days); in 2028 Jan 31 + 30 = Mar 1 (29 days); signed
 * Feb 10 2026 -> Feb 28 + 30 = Mar 30; signed on Dec 31 -> Dec 31 + 30 =
 * Jan 30 next year. */
static void test_sched_end_of_month_plus_30(void **state)
{
    (void)state;
    cat_installment in = {.is_percent = true, .percent = M("100"), .due = CAT_DUE_END_OF_MONTH,
                          .days = 30};
    cat_term t = {.id = "eom30", .installments = &in, .ninstallments = 1};
    static const char *const cases[][2] = {{"2026-01-15", "2026-03-02"},
                                           {"2028-01-15", "2028-03-01"},
                                           {"2026-02-10", "2026-03-30"},
                                           {"2026-12-31", "2027-01-30"}};
    for (size_t i = 0; i < 4; i++) {
        sched_line l = line_of(CAT_MODE_GOODS, "10.00");
        l.term = &t;
        sched_contract c = contract_of("USD", cases[i][0], &l, 1);
        sched_list a = {0};
        build1(&c, &a, NULL);
        assert_date(a.items[0].due_on, cases[i][1]);
        assert_date(a.items[0].bill_on, cases[i][0]);
        assert_string_equal(a.items[0].desc, "100% end of month + 30 days");
        sched_list_fini(&a);
    }
}

/* 100.00 in three equal parts: 33.34, 33.33, 33.33 (residue first), here
 * as three equal fixed milestones scaled to the total. */
static void test_sched_100_in_three_residue_first(void **state)
{
    (void)state;
    cat_milestone m[3] = {ms_amt("a", "1"), ms_amt("b", "1"), ms_amt("c", "1")};
    sched_line l = line_of(CAT_MODE_MILESTONE, "100.00");
    l.milestones = m;
    l.nmilestones = 3;
    sched_contract c = contract_of("USD", "2026-01-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 3);
    assert_money(a.items[0].amount, "33.34");
    assert_money(a.items[1].amount, "33.33");
    assert_money(a.items[2].amount, "33.33");
    sched_list_fini(&a);
}

/* 100.01 at 50/50: 50.005 each, a tie: the cent goes to the first. */
static void test_sched_percent_tie_goes_to_first_installment(void **state)
{
    (void)state;
    cat_installment in[2] = {pct("50", CAT_DUE_SIGNING, 0), pct("50", CAT_DUE_SIGNING, 60)};
    cat_term t = {.id = "half", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "100.01");
    l.term = &t;
    sched_contract c = contract_of("EUR", "2026-01-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_money(a.items[0].amount, "50.01");
    assert_money(a.items[1].amount, "50.00");
    assert_date(a.items[1].due_on, "2026-03-02");
    sched_list_fini(&a);
}

/* Fixed installments first, percents share the rest: 1000.00 deposit on
 * 5000.00, the 4000.00 left at 25/75 = 1000.00 and 3000.00. */
static void test_sched_fixed_then_percent_installments(void **state)
{
    (void)state;
    cat_installment in[3] = {fixed("1000.00", CAT_DUE_SIGNING, 0), pct("25", CAT_DUE_DELIVERY, 0),
                             pct("75", CAT_DUE_ACCEPTANCE, 10)};
    cat_term t = {.id = "dep", .installments = in, .ninstallments = 3};
    sched_line l = line_of(CAT_MODE_GOODS, "5000.00");
    l.term = &t;
    l.delivered_on = D("2026-02-01");
    l.accepted_on = D("2026-02-05");
    sched_contract c = contract_of("USD", "2026-01-20", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_money(a.items[0].amount, "1000.00");
    assert_money(a.items[1].amount, "1000.00");
    assert_money(a.items[2].amount, "3000.00");
    assert_date(a.items[2].due_on, "2026-02-15");
    assert_string_equal(a.items[0].desc, "1000 on signing");
    sched_list_fini(&a);
}

/* JPY has no minor unit: 1001 at 50/50 is 500.5 each, 501 + 500. KWD has
 * three: 10.001 at 30/70 is 3.0003 and 7.0007, truncated 3.000 + 7.000,
 * the missing fils to the larger remainder: 7.001. */
static void test_sched_jpy_and_kwd_minor_units(void **state)
{
    (void)state;
    cat_installment in[2] = {pct("50", CAT_DUE_SIGNING, 0), pct("50", CAT_DUE_SIGNING, 30)};
    cat_term t = {.id = "t", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "1001");
    l.term = &t;
    sched_contract c = contract_of("JPY", "2026-01-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_money(a.items[0].amount, "501");
    assert_money(a.items[1].amount, "500");
    sched_list_fini(&a);

    cat_installment k[2] = {pct("30", CAT_DUE_SIGNING, 0), pct("70", CAT_DUE_SIGNING, 30)};
    t.installments = k;
    l.total = M("10.001");
    c.currency = "KWD";
    build1(&c, &a, NULL);
    assert_money(a.items[0].amount, "3.000");
    assert_money(a.items[1].amount, "7.001");
    sched_list_fini(&a);

    /* a JPY total with decimals is refused */
    l.total = M("1000.5");
    c.currency = "JPY";
    expect_einval(&c, "more than the 0 decimal places of JPY");
}

/* ---- equal parts ---- */

/* n equal parts of percent p, every `days` days or `months` months. */
static cat_installment parts_of(const char *p, cat_due due, int days, unsigned n, int every_days,
                                int every_months)
{
    cat_installment in = pct(p, due, days);
    in.parts = n;
    in.every_days = every_days;
    in.every_months = every_months;
    return in;
}

/* 100% in 3 parts every month, 10 days after signing on Jan 31 2028 (a
 * leap year): the parts bill on Jan 31, Feb 29 and Mar 31 (anchored on
 * the 31st, never drifting to the 29th) and are due Feb 10, Mar 10 and
 * Apr 10. The residue goes to the first part: CNY 100.00 -> 33.34, 33.33,
 * 33.33; JPY 100000 -> 33334, 33333, 33333; KWD 10.000 -> 3.334, 3.333,
 * 3.333. */
static void test_sched_equal_parts_residue_first_cny_jpy_kwd(void **state)
{
    (void)state;
    static const struct {
        const char *cur, *total, *first, *rest;
    } cases[] = {
        {"CNY", "100.00", "33.34", "33.33"},
        {"JPY", "100000", "33334", "33333"},
        {"KWD", "10.000", "3.334", "3.333"},
    };
    static const char *const bill[] = {"2028-01-31", "2028-02-29", "2028-03-31"};
    static const char *const due[] = {"2028-02-10", "2028-03-10", "2028-04-10"};
    cat_installment in = parts_of("100", CAT_DUE_SIGNING, 10, 3, 0, 1);
    cat_term t = {.id = "three", .installments = &in, .ninstallments = 1};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_line l = line_of(CAT_MODE_GOODS, cases[i].total);
        l.term = &t;
        sched_contract c = contract_of(cases[i].cur, "2028-01-31", &l, 1);
        sched_list a = {0};
        money_dec tot;
        build1(&c, &a, &tot);
        assert_int_equal(a.n, 3);
        for (unsigned k = 0; k < 3; k++) {
            assert_int_equal(a.items[k].part, k);
            assert_int_equal(a.items[k].kind, SCHED_KIND_INSTALLMENT);
            assert_money(a.items[k].amount, k ? cases[i].rest : cases[i].first);
            assert_date(a.items[k].bill_on, bill[k]);
            assert_date(a.items[k].due_on, due[k]);
        }
        assert_money(tot, cases[i].total);
        assert_string_equal(a.items[0].desc,
                            "part 1/3 of 100% every 1 month, 10 days after signing");
        assert_string_equal(a.items[2].desc,
                            "part 3/3 of 100% every 1 month, 10 days after signing");
        sched_list_fini(&a);
    }
}

/* 30% on signing, then 70% in 3 parts every 30 days from delivery, on
 * 1000.01: 300.003 and 700.007 truncate to 300.00 and 700.00, the cent to
 * the larger remainder: 700.01; 700.01 in 3 is 233.336..., 2 units left
 * over: 233.34, 233.34, 233.33. Signed Feb 1 2026, lead time 5 days:
 * pending parts expected Feb 6, Mar 8, Apr 7; delivered Feb 10: due Feb
 * 10, Mar 12, Apr 11. Keys: part 0 (signing), 1..3 (the parts). */
static void test_sched_equal_parts_after_a_percent_and_pending_delivery(void **state)
{
    (void)state;
    cat_installment in[2] = {pct("30", CAT_DUE_SIGNING, 0),
                             parts_of("70", CAT_DUE_DELIVERY, 0, 3, 30, 0)};
    cat_term t = {.id = "30-then-3", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "1000.01");
    l.term = &t;
    l.lead_time_days = 5;
    sched_contract c = contract_of("CNY", "2026-02-01", &l, 1);
    sched_list a = {0};
    money_dec tot;
    build1(&c, &a, &tot);
    assert_int_equal(a.n, 4);
    assert_money(a.items[0].amount, "300.00");
    assert_money(a.items[1].amount, "233.34");
    assert_money(a.items[2].amount, "233.34");
    assert_money(a.items[3].amount, "233.33");
    assert_money(tot, "1000.01");
    static const char *const exp[] = {"2026-02-06", "2026-03-08", "2026-04-07"};
    for (unsigned k = 1; k < 4; k++) {
        assert_int_equal(a.items[k].part, k);
        assert_int_equal(a.items[k].waits_for, SCHED_WAIT_DELIVERY);
        assert_int_equal(a.items[k].due_on, SCHED_NO_DATE);
        assert_date(a.items[k].expected_on, exp[k - 1]);
    }
    sched_list_fini(&a);

    /* delivered: the same keys and amounts, dates known */
    l.delivered_on = D("2026-02-10");
    build1(&c, &a, &tot);
    static const char *const due[] = {"2026-02-10", "2026-03-12", "2026-04-11"};
    for (unsigned k = 1; k < 4; k++) {
        assert_int_equal(a.items[k].waits_for, SCHED_WAIT_NONE);
        assert_date(a.items[k].due_on, due[k - 1]);
        assert_date(a.items[k].bill_on, due[k - 1]);
    }
    assert_money(a.items[3].amount, "233.33");
    assert_string_equal(a.items[2].desc, "part 2/3 of 70% every 30 days, on delivery");
    sched_list_fini(&a);
}

/* End of month + 15 in 2 parts every 30 days, signed Jan 15 2027: part 1
 * is invoiced Jan 15 (due Jan 31 + 15 = Feb 15), part 2 thirty days later,
 * Feb 14 (due Feb 28 + 15 = Mar 15). A fixed date in 2 parts every 6
 * months: Jun 30 and Dec 30 (the 30th anchors the series). */
static void test_sched_equal_parts_end_of_month_and_fixed_date(void **state)
{
    (void)state;
    cat_installment in = parts_of("100", CAT_DUE_END_OF_MONTH, 15, 2, 30, 0);
    cat_term t = {.id = "eom", .installments = &in, .ninstallments = 1};
    sched_line l = line_of(CAT_MODE_GOODS, "0.03");
    l.term = &t;
    sched_contract c = contract_of("USD", "2027-01-15", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 2);
    assert_money(a.items[0].amount, "0.02");
    assert_money(a.items[1].amount, "0.01");
    assert_date(a.items[0].bill_on, "2027-01-15");
    assert_date(a.items[0].due_on, "2027-02-15");
    assert_date(a.items[1].bill_on, "2027-02-14");
    assert_date(a.items[1].due_on, "2027-03-15");
    sched_list_fini(&a);

    in = parts_of("100", CAT_DUE_DATE, 0, 2, 0, 6);
    in.date = D("2026-06-30");
    c.signed_on = D("2026-01-10");
    build1(&c, &a, NULL);
    assert_date(a.items[0].due_on, "2026-06-30");
    assert_date(a.items[1].due_on, "2026-12-30");
    sched_list_fini(&a);
}

/* A seat change on a subscription whose term pays each period in 2 parts
 * every 15 days: 301.00 -> 451.00 per month on Apr 11 (20 of 30 days
 * left): credit -200.67 in -100.34, -100.33 (the mirror of a charge:
 * residue first, negated), charge 300.67 in 150.34, 150.33; May and June
 * at 451.00 in 225.50 + 225.50. */
static void test_sched_equal_parts_mirror_on_a_credit(void **state)
{
    (void)state;
    cat_installment in = parts_of("100", CAT_DUE_SIGNING, 0, 2, 15, 0);
    cat_term t = {.id = "halves", .installments = &in, .ninstallments = 1};
    sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "301.00");
    l.term = &t;
    l.period = CAT_PERIOD_MONTHLY;
    l.term_months = 3;
    l.start_on = D("2026-04-01");
    sched_contract c = contract_of("USD", "2026-03-20", &l, 1);
    sched_list a = {0};
    assert_int_equal(sched_seat_change(&c, 0, 0, D("2026-04-11"), M("451.00"), &a, NULL), 0);
    assert_int_equal(a.n, 8);
    assert_int_equal(a.items[0].kind, SCHED_KIND_CREDIT);
    assert_money(a.items[0].amount, "-100.34");
    assert_money(a.items[1].amount, "-100.33");
    assert_date(a.items[1].bill_on, "2026-04-26");
    assert_int_equal(a.items[2].kind, SCHED_KIND_CHARGE);
    assert_money(a.items[2].amount, "150.34");
    assert_money(a.items[3].amount, "150.33");
    for (size_t i = 4; i < 8; i++) {
        assert_int_equal(a.items[i].kind, SCHED_KIND_PERIOD);
        assert_int_equal(a.items[i].part, (unsigned)(i % 2));
        assert_money(a.items[i].amount, "225.50");
    }
    assert_date(a.items[5].bill_on, "2026-05-16");
    sched_list_fini(&a);
}

/* Equal parts that cannot be scheduled are refused with the installment
 * named, and nothing is appended. */
static void test_sched_equal_parts_bad_input(void **state)
{
    (void)state;
    cat_installment in[2] = {parts_of("50", CAT_DUE_SIGNING, 0, 1, 0, 1),
                             parts_of("50", CAT_DUE_SIGNING, 0, 2, 0, 1)};
    cat_term t = {.id = "p", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "10.00");
    l.term = &t;
    sched_contract c = contract_of("USD", "2026-01-01", &l, 1);
    expect_einval(&c, "payment term 'p' installment 1: parts 1 out of range 2..120");
    in[0] = parts_of("50", CAT_DUE_SIGNING, 0, 2, 0, 0);
    expect_einval(&c, "installment 1: parts need a step of 1..366 days or 1..12 months");
    in[0] = parts_of("50", CAT_DUE_SIGNING, 0, 2, 7, 1);
    expect_einval(&c, "installment 1: parts need a step");
    in[0] = parts_of("50", CAT_DUE_SIGNING, 0, 2, 0, 13);
    expect_einval(&c, "installment 1: parts need a step");
    in[0] = parts_of("50", CAT_DUE_SIGNING, 0, 60, 1, 0);
    in[1] = parts_of("50", CAT_DUE_SIGNING, 0, 61, 1, 0);
    expect_einval(&c, "payment term 'p': 121 installments counting each part (at most 120)");
    in[1] = parts_of("50", CAT_DUE_SIGNING, 0, 60, 1, 0);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 120);
    sched_list_fini(&a);
}

/* Payment-term days run 0..3650 (docs/catalog.md, the loader's bound):
 * 3650 is scheduled, 3651 refused. */
static void test_sched_term_days_bound_3650(void **state)
{
    (void)state;
    cat_installment in = pct("100", CAT_DUE_SIGNING, 3650);
    cat_term t = {.id = "long", .installments = &in, .ninstallments = 1};
    sched_line l = line_of(CAT_MODE_GOODS, "10.00");
    l.term = &t;
    sched_contract c = contract_of("USD", "2026-01-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_date(a.items[0].due_on, "2035-12-30");
    sched_list_fini(&a);
    in.days = 3651;
    expect_einval(&c, "payment term 'long' installment 1: days 3651 out of range 0..3650");
}

/* ---- goods_with_service ---- */

/* 1000.00 split 1:1:1 between goods, install and maintenance: 333.34,
 * 333.33, 333.33. Goods at 30/60/10: 100.002, 200.004, 33.334 ->
 * 100.00 + 200.00 + 33.33 = 333.33, the cent to the largest remainder, a
 * tie of .004 between the 2nd and 3rd: the 2nd, 200.01. Install on
 * acceptance + 30 (its own term). Maintenance spread quarterly over 12
 * months from Jul 1: 333.33 / 4 = 83.3325 -> 83.34, 83.33, 83.33, 83.33. */
static void test_sched_goods_with_service_split(void **state)
{
    (void)state;
    cat_installment g[3] = {pct("30", CAT_DUE_SIGNING, 0), pct("60", CAT_DUE_DELIVERY, 0),
                            pct("10", CAT_DUE_ACCEPTANCE, 365)};
    cat_term gt = {.id = "30-60-10", .installments = g, .ninstallments = 3};
    cat_installment s1 = pct("100", CAT_DUE_ACCEPTANCE, 30);
    cat_term st = {.id = "acc30", .installments = &s1, .ninstallments = 1};
    sched_service sv[2] = {
        {.sku = "SVC-INSTALL", .weight = M("1"), .term = &st},
        {.sku = "SVC-MAINT", .weight = M("1"), .period = CAT_PERIOD_QUARTERLY, .term_months = 12},
    };
    sched_line l = line_of(CAT_MODE_GOODS_WITH_SERVICE, "1000.00");
    l.term = &gt;
    l.goods_weight = M("1");
    l.services = sv;
    l.nservices = 2;
    l.start_on = D("2026-07-01");
    l.delivered_on = D("2026-05-20");
    l.acceptance_days = 30;
    sched_contract c = contract_of("CNY", "2026-04-01", &l, 1);
    sched_list a = {0};
    money_dec tot;
    build1(&c, &a, &tot);
    assert_int_equal(a.n, 3 + 1 + 4);
    assert_money(a.items[0].amount, "100.00");
    assert_money(a.items[1].amount, "200.01");
    assert_money(a.items[2].amount, "33.33");
    assert_date(a.items[1].due_on, "2026-05-20");
    /* acceptance pending: expected delivery + 30 + 365 */
    assert_int_equal(a.items[2].waits_for, SCHED_WAIT_ACCEPTANCE);
    assert_date(a.items[2].expected_on, "2027-06-19");
    assert_int_equal(a.items[3].kind, SCHED_KIND_SERVICE);
    assert_string_equal(a.items[3].ref, "SVC-INSTALL");
    assert_money(a.items[3].amount, "333.33");
    assert_int_equal(a.items[3].waits_for, SCHED_WAIT_ACCEPTANCE);
    assert_date(a.items[3].expected_on, "2026-07-19"); /* May 20 + 30 + 30 */
    static const char *const due[4] = {"2026-07-01", "2026-10-01", "2027-01-01", "2027-04-01"};
    static const char *const amt[4] = {"83.34", "83.33", "83.33", "83.33"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(a.items[4 + i].kind, SCHED_KIND_SERVICE_PERIOD);
        assert_int_equal(a.items[4 + i].service, 1);
        assert_int_equal(a.items[4 + i].seq, i);
        assert_money(a.items[4 + i].amount, amt[i]);
        assert_date(a.items[4 + i].due_on, due[i]);
    }
    assert_money(tot, "1000.00");

    /* accepted Jun 10: retention due Jun 10 2027, install due Jul 10 */
    l.accepted_on = D("2026-06-10");
    sched_list b = {0};
    build1(&c, &b, NULL);
    assert_date(b.items[2].due_on, "2027-06-10");
    assert_date(b.items[3].due_on, "2026-07-10");
    sched_list_fini(&a);
    sched_list_fini(&b);
}

/* ---- subscriptions ---- */

static void check_periods(const sched_list *a, const char *const *starts, size_t n)
{
    assert_int_equal(a->n, n - 1);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(a->items[i].kind, SCHED_KIND_PERIOD);
        assert_int_equal(a->items[i].seq, i);
        assert_date(a->items[i].period_from, starts[i]);
        assert_date(a->items[i].period_to, starts[i + 1]);
        assert_date(a->items[i].due_on, starts[i]); /* in advance, no term */
    }
}

/* Anchor Jan 31 over the leap year 2028: Jan 31, Feb 29, Mar 31, Apr 30,
 * May 31; over 2027: Feb 28. Never Mar 29/28: anchored on the day, not on
 * the previous date. */
static void test_sched_month_end_anchor_leap_and_common_year(void **state)
{
    (void)state;
    sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "100.00");
    l.period = CAT_PERIOD_MONTHLY;
    l.term_months = 4;
    l.start_on = D("2028-01-31");
    sched_contract c = contract_of("USD", "2028-01-20", &l, 1);
    sched_list a = {0};
    money_dec tot;
    build1(&c, &a, &tot);
    static const char *const leap[] = {"2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30",
                                       "2028-05-31"};
    check_periods(&a, leap, 5);
    assert_money(tot, "400.00");
    assert_string_equal(a.items[1].desc, "period 2028-02-29 to 2028-03-30: 100% on signing");
    sched_list_fini(&a);

    l.start_on = D("2027-01-31");
    c.signed_on = D("2027-01-31");
    build1(&c, &a, NULL);
    static const char *const common[] = {"2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30",
                                         "2027-05-31"};
    check_periods(&a, common, 5);
    sched_list_fini(&a);

    /* yearly on Feb 29: 2029 and 2030 fall on Feb 28, 2032 back on Feb 29 */
    l.period = CAT_PERIOD_YEARLY;
    l.term_months = 48;
    l.start_on = D("2028-02-29");
    build1(&c, &a, NULL);
    static const char *const y[] = {"2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28",
                                    "2032-02-29"};
    check_periods(&a, y, 5);
    sched_list_fini(&a);
}

/* Billing on the 1st from a mid-month start: the stub [start, next 1st) is
 * the period amount x its days / the days of the full month it belongs to
 * (start day counted, end day not). */
static void test_sched_proration_28_30_31_day_months(void **state)
{
    (void)state;
    static const struct {
        const char *start, *amount, *stub, *to;
    } cases[] = {
        {"2026-01-15", "310.00", "170.00", "2026-02-01"}, /* 17/31 x 310 = 170 */
        {"2026-02-10", "280.00", "190.00", "2026-03-01"}, /* 19/28 x 280 = 190 */
        {"2026-04-21", "100.00", "33.33", "2026-05-01"},  /* 10/30 x 100 = 33.333 */
        {"2028-02-10", "100.00", "68.97", "2028-03-01"},  /* 20/29 x 100 = 68.9655 */
        {"2026-06-30", "300.00", "10.00", "2026-07-01"},  /* 1/30 x 300 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_line l = line_of(CAT_MODE_SUBSCRIPTION, cases[i].amount);
        l.period = CAT_PERIOD_MONTHLY;
        l.term_months = 2;
        l.bill_day = 1;
        l.start_on = D(cases[i].start);
        sched_contract c = contract_of("USD", cases[i].start, &l, 1);
        sched_list a = {0};
        money_dec tot, want;
        build1(&c, &a, &tot);
        assert_int_equal(a.n, 3);
        assert_money(a.items[0].amount, cases[i].stub);
        assert_date(a.items[0].period_from, cases[i].start);
        assert_date(a.items[0].period_to, cases[i].to);
        assert_date(a.items[1].period_from, cases[i].to);
        assert_money(a.items[1].amount, cases[i].amount);
        assert_int_equal(a.items[2].seq, 2);
        /* total = stub + 2 full periods */
        assert_int_equal(money_add(a.items[0].amount, a.items[1].amount, &want), 0);
        assert_int_equal(money_add(want, a.items[2].amount, &want), 0);
        assert_int_equal(money_cmp(want, tot), 0);
        sched_list_fini(&a);
    }
}

/* In arrears: billed on the period's last day; with saas-eom30 due at the
 * end of that month + 30. */
static void test_sched_subscription_in_arrears_with_eom_term(void **state)
{
    (void)state;
    cat_installment in = {.is_percent = true, .percent = M("100"), .due = CAT_DUE_END_OF_MONTH,
                          .days = 30};
    cat_term t = {.id = "eom30", .installments = &in, .ninstallments = 1};
    sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "50.00");
    l.period = CAT_PERIOD_QUARTERLY;
    l.term_months = 6;
    l.in_arrears = true;
    l.term = &t;
    l.start_on = D("2026-01-01");
    sched_contract c = contract_of("USD", "2026-01-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 2);
    assert_date(a.items[0].bill_on, "2026-03-31");
    assert_date(a.items[0].due_on, "2026-04-30"); /* Mar 31 + 30 */
    assert_date(a.items[1].bill_on, "2026-06-30");
    assert_date(a.items[1].due_on, "2026-07-30");
    sched_list_fini(&a);
}

/* Quarterly from Nov 30 2027 for 6 months: Nov 30, Feb 29 2028, May 30.
 * Renewal 1 at 120.00: May 30, Aug 30, Nov 30 2028, seq 2 and 3. */
static void test_sched_renewal_continues_anchor(void **state)
{
    (void)state;
    sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "100.00");
    l.period = CAT_PERIOD_QUARTERLY;
    l.term_months = 6;
    l.start_on = D("2027-11-30");
    sched_contract c = contract_of("USD", "2027-11-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    static const char *const t0[] = {"2027-11-30", "2028-02-29", "2028-05-30"};
    check_periods(&a, t0, 3);
    sched_list_fini(&a);
    assert_int_equal(sched_line_renew(&c, 0, 1, M("120.00"), &a, NULL), 0);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.items[0].seq, 2);
    assert_int_equal(a.items[1].seq, 3);
    assert_date(a.items[0].period_from, "2028-05-30");
    assert_date(a.items[1].period_from, "2028-08-30");
    assert_date(a.items[1].period_to, "2028-11-30");
    assert_money(a.items[0].amount, "120.00");
    sched_list_fini(&a);
    /* a goods line does not renew */
    l.mode = CAT_MODE_GOODS;
    assert_int_equal(sched_line_renew(&c, 0, 1, M("1.00"), &a, NULL), CPQD_EINVAL);
    assert_int_equal(a.n, 0);
}

/* Monthly from Mar 1 2026, 300.00 a month (10 seats). Up to 450.00 on
 * Apr 11: April has 30 days, 20 left (Apr 11..30): credit -300 x 20/30 =
 * -200.00, charge 450 x 20/30 = 300.00, then May..Feb (10 periods) at
 * 450.00. Down to 150.00 on Jul 21: 11 of 31 days: credit -300 x 11/31 =
 * -106.4516 -> -106.45, charge 150 x 11/31 = 53.2258 -> 53.23. */
static void test_sched_seat_change_up_and_down(void **state)
{
    (void)state;
    sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "300.00");
    l.period = CAT_PERIOD_MONTHLY;
    l.term_months = 12;
    l.start_on = D("2026-03-01");
    sched_contract c = contract_of("USD", "2026-02-20", &l, 1);
    sched_list a = {0};
    assert_int_equal(sched_seat_change(&c, 0, 0, D("2026-04-11"), M("450.00"), &a, NULL), 0);
    assert_int_equal(a.n, 2 + 10);
    assert_int_equal(a.items[0].kind, SCHED_KIND_CREDIT);
    assert_money(a.items[0].amount, "-200.00");
    assert_int_equal(a.items[0].seq, 1);
    assert_date(a.items[0].due_on, "2026-04-11");
    assert_date(a.items[0].period_to, "2026-05-01");
    assert_int_equal(a.items[1].kind, SCHED_KIND_CHARGE);
    assert_money(a.items[1].amount, "300.00");
    assert_int_equal(a.items[2].kind, SCHED_KIND_PERIOD);
    assert_int_equal(a.items[2].seq, 2);
    assert_date(a.items[2].period_from, "2026-05-01");
    assert_money(a.items[2].amount, "450.00");
    assert_date(a.items[11].period_from, "2027-02-01");
    sched_list_fini(&a);

    assert_int_equal(sched_seat_change(&c, 0, 0, D("2026-07-21"), M("150.00"), &a, NULL), 0);
    assert_int_equal(a.n, 2 + 7);
    assert_money(a.items[0].amount, "-106.45");
    assert_money(a.items[1].amount, "53.23");
    assert_int_equal(a.items[0].seq, 4);
    assert_money(a.items[2].amount, "150.00");
    sched_list_fini(&a);

    /* outside the term, or on a goods line: refused, nothing appended */
    assert_int_equal(sched_seat_change(&c, 0, 0, D("2027-03-01"), M("1.00"), &a, NULL),
                     CPQD_EINVAL);
    assert_int_equal(a.n, 0);
}

/* ---- usage ---- */

static cat_tier_band bands_egress[2];

static cat_pb_entry egress(cat_tier_type type)
{
    bands_egress[0] = (cat_tier_band){M("0"), M("0.80")};
    bands_egress[1] = (cat_tier_band){M("10240"), M("0.60")};
    return (cat_pb_entry){.sku = "EGRESS", .has_tiers = true, .tier_type = type,
                          .bands = bands_egress, .nbands = 2};
}

/* docs/pricing.md: 20,000 GB volume = 20,000 x 0.60 = 12,000.00;
 * graduated = 10,240 x 0.80 + 9,760 x 0.60 = 8192 + 5856 = 14,048.00. At
 * the boundary 10,240 both are 10,240 x 0.80 = 8,192 (volume: reached,
 * 10,240 x 0.60 = 6,144). */
static void test_sched_usage_graduated_vs_volume(void **state)
{
    (void)state;
    cat_pb_entry vol = egress(CAT_TIER_VOLUME), grad = egress(CAT_TIER_GRADUATED);
    money_dec v, g;
    assert_int_equal(sched_tier_amount(&vol, M("20000"), &v), 0);
    assert_int_equal(sched_tier_amount(&grad, M("20000"), &g), 0);
    assert_int_equal(money_cmp(v, M("12000")), 0);
    assert_int_equal(money_cmp(g, M("14048")), 0);
    assert_int_equal(sched_tier_amount(&vol, M("10240"), &v), 0);
    assert_int_equal(sched_tier_amount(&grad, M("10240"), &g), 0);
    assert_int_equal(money_cmp(v, M("6144")), 0);
    assert_int_equal(money_cmp(g, M("8192")), 0);
    assert_int_equal(sched_tier_amount(&vol, M("10239.5"), &v), 0);
    assert_int_equal(money_cmp(v, M("8191.6")), 0);

    /* through a usage line: same quantity, both models, rounded to CNY */
    sched_line l[2] = {line_of(CAT_MODE_USAGE, "0"), line_of(CAT_MODE_USAGE, "0")};
    l[0].tiers = &vol;
    l[1].tiers = &grad;
    for (int i = 0; i < 2; i++) {
        l[i].period = CAT_PERIOD_MONTHLY;
        l[i].start_on = D("2026-01-01");
    }
    sched_contract c = contract_of("CNY", "2026-01-01", l, 2);
    assert_int_equal(sched_usage_amount(&c, 0, M("20000"), &v, NULL), 0);
    assert_int_equal(sched_usage_amount(&c, 1, M("20000"), &g, NULL), 0);
    assert_money(v, "12000.00");
    assert_money(g, "14048.00");
}

/* Package (1000 per package, 1 -> 5.00, 11 -> 4.00): 10,000 is 10
 * packages x 5.00 = 50; 10,001 is 11 packages, all at 4.00 = 44. Block
 * (same bands, graduated over blocks): 12,500 is 13 blocks: 10 x 5.00 +
 * 3 x 4.00 = 62. */
static void test_sched_usage_package_and_block(void **state)
{
    (void)state;
    cat_tier_band b[2] = {{M("1"), M("5.00")}, {M("11"), M("4.00")}};
    cat_pb_entry e = {.sku = "SMS", .has_tiers = true, .tier_type = CAT_TIER_PACKAGE,
                      .block_size = 1000, .bands = b, .nbands = 2};
    money_dec r;
    assert_int_equal(sched_tier_amount(&e, M("10000"), &r), 0);
    assert_int_equal(money_cmp(r, M("50")), 0);
    assert_int_equal(sched_tier_amount(&e, M("10001"), &r), 0);
    assert_int_equal(money_cmp(r, M("44")), 0);
    e.tier_type = CAT_TIER_BLOCK;
    assert_int_equal(sched_tier_amount(&e, M("12500"), &r), 0);
    assert_int_equal(money_cmp(r, M("62")), 0);
    assert_int_equal(sched_tier_amount(&e, M("-1"), &r), CPQD_EINVAL);
}

/* Open-ended monthly usage from Jan 1 with postpaid-eom15: one period at
 * signing, amount unknown, billed Jan 31, due Feb 15. Closing it with 100
 * units at 0.80 = 80.00 under a 20,000.00 minimum commitment gives
 * 20,000.00, + 6% tax = 21,200.00. The next period: Feb 1..Mar 1, due
 * Feb 28 + 15 = Mar 15. */
static void test_sched_usage_periods_minimum_and_close(void **state)
{
    (void)state;
    cat_installment in = {.is_percent = true, .percent = M("100"), .due = CAT_DUE_END_OF_MONTH,
                          .days = 15};
    cat_term t = {.id = "postpaid-eom15", .installments = &in, .ninstallments = 1};
    sched_line l = line_of(CAT_MODE_USAGE, "0");
    l.term = &t;
    l.period = CAT_PERIOD_MONTHLY;
    l.start_on = D("2026-01-01");
    l.unit_price = M("0.80");
    l.has_minimum = true;
    l.minimum = M("20000.00");
    l.tax_rate = M("0.06");
    sched_contract c = contract_of("CNY", "2025-12-20", &l, 1);
    sched_list a = {0};
    money_dec tot;
    build1(&c, &a, &tot);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.items[0].kind, SCHED_KIND_USAGE);
    assert_false(a.items[0].amount_known);
    assert_money(a.items[0].amount, "0.00");
    assert_date(a.items[0].bill_on, "2026-01-31");
    assert_date(a.items[0].due_on, "2026-02-15");
    assert_money(tot, "0.00");
    sched_list_fini(&a);

    assert_int_equal(sched_usage_close(&c, 0, 0, M("100"), &a, NULL), 0);
    assert_int_equal(a.n, 1);
    assert_true(a.items[0].amount_known);
    assert_money(a.items[0].amount, "21200.00");
    sched_list_fini(&a);
    /* above the minimum: 30,000 x 0.80 = 24,000 + 6% = 25,440.00 */
    assert_int_equal(sched_usage_close(&c, 0, 0, M("30000"), &a, NULL), 0);
    assert_money(a.items[0].amount, "25440.00");
    sched_list_fini(&a);

    assert_int_equal(sched_line_renew(&c, 0, 1, M("0"), &a, NULL), 0);
    assert_int_equal(a.items[0].seq, 1);
    assert_date(a.items[0].period_from, "2026-02-01");
    assert_date(a.items[0].period_to, "2026-03-01");
    assert_date(a.items[0].due_on, "2026-03-15");
    sched_list_fini(&a);
}

/* ---- milestones ---- */

/* 99.99 at 25/25/25/25: 24.9975 each, 4 x 24.99 = 99.96, the 3 cents to
 * the first three (equal remainders): 25.00, 25.00, 25.00, 24.99. With
 * milestone-net30, milestone 2 accepted May 10 is due Jun 9; the others
 * wait for their acceptance. */
static void test_sched_milestone_uneven_split(void **state)
{
    (void)state;
    cat_milestone m[4] = {ms_pct("a", "25"), ms_pct("b", "25"), ms_pct("c", "25"),
                          ms_pct("d", "25")};
    cat_installment in = pct("100", CAT_DUE_ACCEPTANCE, 30);
    cat_term t = {.id = "milestone-net30", .installments = &in, .ninstallments = 1};
    date_days acc[4] = {SCHED_NO_DATE, D("2026-05-10"), SCHED_NO_DATE, SCHED_NO_DATE};
    sched_line l = line_of(CAT_MODE_MILESTONE, "99.99");
    l.milestones = m;
    l.nmilestones = 4;
    l.term = &t;
    l.milestone_accepted = acc;
    sched_contract c = contract_of("USD", "2026-04-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_int_equal(a.n, 4);
    static const char *const want[4] = {"25.00", "25.00", "25.00", "24.99"};
    for (size_t i = 0; i < 4; i++) {
        assert_money(a.items[i].amount, want[i]);
        assert_int_equal(a.items[i].kind, SCHED_KIND_MILESTONE);
        assert_int_equal(a.items[i].seq, i);
    }
    assert_string_equal(a.items[1].ref, "b");
    assert_date(a.items[1].due_on, "2026-06-09");
    assert_int_equal(a.items[0].waits_for, SCHED_WAIT_MILESTONE);
    assert_string_equal(a.items[1].desc, "milestone b: 100% 30 days after acceptance");
    sched_list_fini(&a);
}

/* Fixed milestones of the catalog's net list (880,000) under a 6%-tax
 * total 932,800.00 are scaled: x 1.06 = 186,560, 279,840, 279,840,
 * 186,560. Equal to the total they are used as they are. */
static void test_sched_milestone_fixed_amounts(void **state)
{
    (void)state;
    cat_milestone m[4] = {ms_amt("model", "176000.00"), ms_amt("clash", "264000.00"),
                          ms_amt("site", "264000.00"), ms_amt("as-built", "176000.00")};
    sched_line l = line_of(CAT_MODE_MILESTONE, "932800.00");
    l.milestones = m;
    l.nmilestones = 4;
    sched_contract c = contract_of("CNY", "2026-04-01", &l, 1);
    sched_list a = {0};
    build1(&c, &a, NULL);
    assert_money(a.items[0].amount, "186560.00");
    assert_money(a.items[1].amount, "279840.00");
    assert_money(a.items[3].amount, "186560.00");
    sched_list_fini(&a);
    l.total = M("880000.00");
    build1(&c, &a, NULL);
    assert_money(a.items[1].amount, "264000.00");
    sched_list_fini(&a);
    l.total = M("879999.99");
    expect_einval(&c, "over the total");
}

/* ---- classification ---- */

/* 1000.00 billed Feb 1, due Mar 1; 400.00 paid Feb 20, 600.00 Apr 5. */
static void test_sched_overdue_aging_and_partial_payments(void **state)
{
    (void)state;
    sched_item it = {.kind = SCHED_KIND_INSTALLMENT, .amount_known = true,
                     .amount = M("1000.00"), .due_on = D("2026-03-01"),
                     .bill_on = D("2026-02-01"), .expected_on = SCHED_NO_DATE};
    sched_payment p[2] = {{D("2026-02-20"), M("400.00")}, {D("2026-04-05"), M("600.00")}};
    static const struct {
        const char *as_of;
        size_t npay;
        sched_status st;
        int days;
        sched_aging ag;
        const char *left;
    } cases[] = {
        {"2026-01-15", 0, SCHED_ST_SCHEDULED, 0, SCHED_AGING_NONE, "1000.00"},
        {"2026-02-10", 0, SCHED_ST_DUE, 0, SCHED_AGING_NONE, "1000.00"},
        {"2026-03-01", 0, SCHED_ST_DUE, 0, SCHED_AGING_NONE, "1000.00"},
        {"2026-02-25", 2, SCHED_ST_PARTIALLY_PAID, 0, SCHED_AGING_NONE, "600.00"},
        {"2026-03-02", 0, SCHED_ST_OVERDUE, 1, SCHED_AGING_1_30, "1000.00"},
        {"2026-03-31", 2, SCHED_ST_OVERDUE, 30, SCHED_AGING_1_30, "600.00"},
        {"2026-04-01", 2, SCHED_ST_OVERDUE, 31, SCHED_AGING_31_60, "600.00"},
        {"2026-04-10", 2, SCHED_ST_PAID, 0, SCHED_AGING_NONE, "0.00"},
        {"2026-04-30", 1, SCHED_ST_OVERDUE, 60, SCHED_AGING_31_60, "600.00"},
        {"2026-05-01", 1, SCHED_ST_OVERDUE, 61, SCHED_AGING_61_90, "600.00"},
        {"2026-05-30", 1, SCHED_ST_OVERDUE, 90, SCHED_AGING_61_90, "600.00"},
        {"2026-05-31", 1, SCHED_ST_OVERDUE, 91, SCHED_AGING_90_PLUS, "600.00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_standing s;
        assert_int_equal(sched_item_classify(&it, p, cases[i].npay, D(cases[i].as_of), &s), 0);
        if (s.status != cases[i].st)
            fail_msg("case %zu (%s): status %s, want %s", i, cases[i].as_of,
                     sched_status_name(s.status), sched_status_name(cases[i].st));
        assert_int_equal(s.days_overdue, cases[i].days);
        assert_int_equal(s.aging, cases[i].ag);
        assert_money(s.outstanding, cases[i].left);
    }
    assert_string_equal(sched_aging_name(SCHED_AGING_90_PLUS), "90+");
    assert_string_equal(sched_aging_name(SCHED_AGING_31_60), "31-60");
    assert_string_equal(sched_status_name(SCHED_ST_PARTIALLY_PAID), "partially_paid");

    /* overpaid, a non-positive payment: refused */
    sched_payment over[2] = {{D("2026-02-20"), M("900.00")}, {D("2026-02-21"), M("100.01")}};
    sched_standing s;
    assert_int_equal(sched_item_classify(&it, over, 2, D("2026-03-01"), &s), CPQD_EINVAL);
    sched_payment zero = {D("2026-02-20"), M("0.00")};
    assert_int_equal(sched_item_classify(&it, &zero, 1, D("2026-03-01"), &s), CPQD_EINVAL);

    /* pending (no due date): scheduled whatever the date; a credit: paid */
    it.due_on = it.bill_on = SCHED_NO_DATE;
    it.waits_for = SCHED_WAIT_DELIVERY;
    assert_int_equal(sched_item_classify(&it, NULL, 0, D("2030-01-01"), &s), 0);
    assert_int_equal(s.status, SCHED_ST_SCHEDULED);
    it.amount = M("-5.00");
    assert_int_equal(sched_item_classify(&it, NULL, 0, D("2030-01-01"), &s), 0);
    assert_int_equal(s.status, SCHED_ST_PAID);
}

/* Beside the status, how much is paid: an overdue item that is partly
 * paid is `overdue` and `partially_paid` (1000.00 due Mar 1, 400.00 paid
 * Feb 20). */
static void test_sched_payment_status_beside_status(void **state)
{
    (void)state;
    sched_item it = {.kind = SCHED_KIND_INSTALLMENT,
                     .amount_known = true,
                     .amount = M("1000.00"),
                     .due_on = D("2026-03-01"),
                     .bill_on = D("2026-02-01"),
                     .expected_on = SCHED_NO_DATE};
    sched_payment p[2] = {{D("2026-02-20"), M("400.00")}, {D("2026-04-05"), M("600.00")}};
    static const struct {
        const char *as_of;
        size_t npay;
        sched_status st;
        sched_pay_status pay;
    } cases[] = {
        {"2026-01-15", 0, SCHED_ST_SCHEDULED, SCHED_PAY_UNPAID},
        {"2026-02-10", 0, SCHED_ST_DUE, SCHED_PAY_UNPAID},
        {"2026-02-25", 2, SCHED_ST_PARTIALLY_PAID, SCHED_PAY_PARTIALLY_PAID},
        {"2026-03-02", 0, SCHED_ST_OVERDUE, SCHED_PAY_UNPAID},
        {"2026-03-02", 2, SCHED_ST_OVERDUE, SCHED_PAY_PARTIALLY_PAID},
        {"2026-04-05", 2, SCHED_ST_PAID, SCHED_PAY_PAID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_standing s;
        assert_int_equal(sched_item_classify(&it, p, cases[i].npay, D(cases[i].as_of), &s), 0);
        assert_int_equal(s.status, cases[i].st);
        if (s.payment != cases[i].pay)
            fail_msg("case %zu (%s): payment %s, want %s", i, cases[i].as_of,
                     sched_pay_status_name(s.payment), sched_pay_status_name(cases[i].pay));
    }
    assert_string_equal(sched_pay_status_name(SCHED_PAY_UNPAID), "unpaid");
    assert_string_equal(sched_pay_status_name(SCHED_PAY_PARTIALLY_PAID), "partially_paid");
    assert_string_equal(sched_pay_status_name(SCHED_PAY_PAID), "paid");
    assert_null(sched_pay_status_name((sched_pay_status)3));

    /* a credit has nothing to collect: paid; an open usage period: unpaid */
    sched_standing s;
    it.amount = M("-5.00");
    assert_int_equal(sched_item_classify(&it, NULL, 0, D("2026-03-02"), &s), 0);
    assert_int_equal(s.payment, SCHED_PAY_PAID);
    it.amount = M("0.00");
    it.amount_known = false;
    assert_int_equal(sched_item_classify(&it, NULL, 0, D("2026-03-02"), &s), 0);
    assert_int_equal(s.status, SCHED_ST_SCHEDULED);
    assert_int_equal(s.payment, SCHED_PAY_UNPAID);
}

/* ---- bad input ---- */

static void test_sched_bad_input_is_einval_without_output(void **state)
{
    (void)state;
    cat_installment in[2] = {pct("30", CAT_DUE_SIGNING, 0), pct("60", CAT_DUE_DELIVERY, 0)};
    cat_term t = {.id = "short", .installments = in, .ninstallments = 2};
    sched_line l = line_of(CAT_MODE_GOODS, "-1.00");
    sched_contract c = contract_of("USD", "2026-01-01", &l, 1);
    expect_einval(&c, "line L1: line total is negative");

    l.total = M("10.00");
    c.currency = "XXX";
    expect_einval(&c, "unknown currency 'XXX'");
    c.currency = "usd";
    expect_einval(&c, "unknown currency");
    c.currency = "USD";

    l.term = &t;
    expect_einval(&c, "payment term 'short': percents add up to 90, not 100");
    l.term = NULL;

    cat_installment neg = pct("-10", CAT_DUE_SIGNING, 0);
    cat_term tn = {.id = "neg", .installments = &neg, .ninstallments = 1};
    l.term = &tn;
    expect_einval(&c, "negative");
    cat_installment big = fixed("20.00", CAT_DUE_SIGNING, 0);
    tn.installments = &big;
    expect_einval(&c, "fixed amounts add up to 20, over the total 10");
    l.term = NULL;

    c.signed_on = SCHED_NO_DATE;
    expect_einval(&c, "the contract needs signed_on");
    c.signed_on = D("2026-01-01");
    l.delivered_on = D("2025-12-31");
    expect_einval(&c, "delivered_on is before signed_on");
    l.delivered_on = SCHED_NO_DATE;

    /* milestones: percents not 100, amounts over the total, none */
    cat_milestone m[2] = {ms_pct("a", "40"), ms_pct("b", "50")};
    sched_line ml = line_of(CAT_MODE_MILESTONE, "100.00");
    ml.milestones = m;
    ml.nmilestones = 2;
    sched_contract mc = contract_of("USD", "2026-01-01", &ml, 1);
    expect_einval(&mc, "milestones: percents add up to 90, not 100");
    m[0] = ms_amt("a", "120.00");
    m[1] = ms_pct("b", "100");
    expect_einval(&mc, "fixed amounts add up to 120, over the total 100");
    ml.nmilestones = 0;
    expect_einval(&mc, "needs milestones");

    /* subscription and usage without the dates or periods they need */
    sched_line sl = line_of(CAT_MODE_SUBSCRIPTION, "10.00");
    sl.period = CAT_PERIOD_MONTHLY;
    sl.term_months = 12;
    sched_contract sc = contract_of("USD", "2026-01-01", &sl, 1);
    expect_einval(&sc, "a subscription line needs start_on");
    sl.start_on = D("2026-01-01");
    sl.term_months = 5;
    sl.period = CAT_PERIOD_QUARTERLY;
    expect_einval(&sc, "not a whole number of 3-month periods");
    sl.period = CAT_PERIOD_NONE;
    expect_einval(&sc, "needs a billing period");
    sl.period = CAT_PERIOD_MONTHLY;
    sl.term_months = 12;
    cat_installment fd = {.is_percent = true, .percent = M("100"), .due = CAT_DUE_DATE,
                          .date = D("2026-06-30")};
    cat_term ft = {.id = "fixed-date", .installments = &fd, .ninstallments = 1};
    sl.term = &ft;
    expect_einval(&sc, "fixed-date installment cannot apply to recurring periods");

    /* goods_with_service: a negative weight, a spread service without start_on */
    sched_service sv = {.sku = "SVC", .weight = M("-1")};
    sched_line gl = line_of(CAT_MODE_GOODS_WITH_SERVICE, "100.00");
    gl.services = &sv;
    gl.nservices = 1;
    sched_contract gc = contract_of("USD", "2026-01-01", &gl, 1);
    expect_einval(&gc, "SVC weight -1 is negative");
    sv.weight = M("1");
    sv.period = CAT_PERIOD_MONTHLY;
    sv.term_months = 12;
    expect_einval(&gc, "service SVC is spread over its term and needs start_on");

    /* a failing call leaves an existing list untouched */
    sched_list a = {0};
    sched_line ok = line_of(CAT_MODE_GOODS, "1.00");
    sched_contract okc = contract_of("USD", "2026-01-01", &ok, 1);
    build1(&okc, &a, NULL);
    assert_int_equal(a.n, 1);
    assert_int_equal(sched_line_build(&gc, 0, &a, NULL, NULL), CPQD_EINVAL);
    assert_int_equal(a.n, 1);
    assert_int_equal(sched_line_build(&okc, 1, &a, NULL, NULL), CPQD_EINVAL);
    assert_int_equal(a.n, 1);
    sched_list_fini(&a);
}

/* Every bad line of a contract is reported, not only the first. */
static void test_sched_contract_reports_every_bad_line(void **state)
{
    (void)state;
    sched_line l[3] = {line_of(CAT_MODE_GOODS, "-1.00"), line_of(CAT_MODE_GOODS, "5.00"),
                       line_of(CAT_MODE_SUBSCRIPTION, "1.00")};
    l[0].id = "A";
    l[2].id = "C";
    l[2].period = CAT_PERIOD_MONTHLY;
    l[2].term_months = 1;
    sched_contract c = contract_of("USD", "2026-01-01", l, 3);
    cpqd_errs *e = errs_new();
    sched_schedule s;
    assert_int_equal(sched_contract_build(&c, &s, e), CPQD_EINVAL);
    assert_int_equal(errs_count(e), 2);
    assert_string_equal(errs_get(e, 0)->msg, "line A: line total is negative");
    assert_string_equal(errs_get(e, 1)->msg, "line C: a subscription line needs start_on");
    assert_null(s.line_totals);
    errs_free(e);
}

/* ---- the sample catalog ---- */

/* CNC-VMC-850 on 2026-06-01 in cnc-list: machine 368,000, install 28,000,
 * operator training 3,000 (weights 399,000). A total of 450,870.00 (13%
 * tax) splits x 1.13: 415,840.00, 31,640.00, 3,390.00; the goods part at
 * cnc-30-60-10: 124,752.00, 249,504.00, 41,584.00; install at
 * svc-acceptance-30. */
static void test_sched_cnc_catalog_goods_with_service(void **state)
{
    (void)state;
    const char *root = getenv("CPQD_ROOT");
    char path[1024], rules[1024];
    snprintf(path, sizeof(path), "%s/catalogs/cnc.yaml", root && *root ? root : ".");
    snprintf(rules, sizeof(rules), "%s/rules", root && *root ? root : ".");
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(path, rules, e);
    if (!s) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fail_msg("cannot load %s: %s", path, m ? m : "");
    }
    const cat_product *p = cat_snapshot_product(s, "CNC-VMC-850", 11);
    assert_non_null(p);
    const cat_price_book *book = NULL;
    for (size_t i = 0; i < p->catalog->nbooks; i++)
        if (!strcmp(p->catalog->books[i].id, "cnc-list"))
            book = &p->catalog->books[i];
    assert_non_null(book);
    sched_line l;
    sched_service sv[8];
    size_t n = 0;
    assert_int_equal(sched_line_from_product(p, M("450870.00"), &l), 0);
    assert_string_equal(l.term->id, "cnc-30-60-10");
    assert_int_equal(sched_services_from_book(s, book, p, D("2026-06-01"), sv, 8, &l.goods_weight,
                                              &n),
                     0);
    assert_int_equal(n, 2);
    assert_money(l.goods_weight, "368000.00");
    assert_money(sv[0].weight, "28000.00");
    assert_string_equal(sv[0].term->id, "svc-acceptance-30");
    assert_null(sv[1].term);
    l.services = sv;
    l.nservices = n;
    l.delivered_on = D("2026-06-20");
    l.accepted_on = D("2026-07-15");
    sched_contract c = contract_of("CNY", "2026-06-01", &l, 1);
    sched_schedule sch;
    assert_int_equal(sched_contract_build(&c, &sch, e), 0);
    assert_int_equal(sch.items.n, 5);
    static const char *const want[5][2] = {{"124752.00", "2026-06-01"},
                                           {"249504.00", "2026-06-20"},
                                           {"41584.00", "2027-07-15"},
                                           {"31640.00", "2026-08-14"},
                                           {"3390.00", "2026-07-15"}};
    for (size_t i = 0; i < 5; i++) {
        assert_money(sch.items.items[i].amount, want[i][0]);
        assert_date(sch.items.items[i].due_on, want[i][1]);
    }
    assert_money(sch.total, "450870.00");
    sched_list_sort(&sch.items);
    assert_date(sch.items.items[0].due_on, "2026-06-01");
    assert_date(sch.items.items[4].due_on, "2027-07-15");
    sched_schedule_fini(&sch);
    cat_snapshot_release(s);
    errs_free(e);
}

/* ---- randomized ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int rndi(int lo, int hi)
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

/* n percents (integers, or with two decimals) adding up to 100. */
static void rnd_percents(money_dec *p, size_t n)
{
    int64_t left = 10000;
    for (size_t i = 0; i + 1 < n; i++) {
        int64_t v = (int64_t)(rnd() % (uint64_t)(left + 1));
        if (rnd() % 2)
            v -= v % 100;
        p[i] = (money_dec){v, 2};
        left -= v;
    }
    p[n - 1] = (money_dec){left, 2};
}

#define RMAX 6

typedef struct rline {
    cat_installment ins[RMAX];
    cat_term term;
    cat_milestone ms[RMAX];
    date_days acc[RMAX];
    sched_service sv[RMAX];
    cat_installment sins[RMAX];
    cat_term sterm;
} rline;

static void rnd_term(cat_installment *ins, cat_term *t, bool recurring, date_days signed_on)
{
    size_t n = (size_t)rndi(1, 4);
    money_dec p[RMAX];
    rnd_percents(p, n);
    for (size_t i = 0; i < n; i++) {
        cat_due due = (cat_due)rndi(0, recurring ? 3 : 4);
        ins[i] = (cat_installment){.is_percent = true, .percent = p[i], .due = due,
                                   .days = rndi(0, 3) * 15, .date = signed_on + rndi(0, 400)};
        if (rnd() % 3 == 0) {
            /* equal parts every few days or months */
            ins[i].parts = (unsigned)rndi(2, 12);
            if (rnd() % 2)
                ins[i].every_days = rndi(1, 366);
            else
                ins[i].every_months = rndi(1, 12);
        }
    }
    *t = (cat_term){.id = "rnd", .installments = ins, .ninstallments = n};
}

static money_dec rnd_total(int minor)
{
    int64_t v = (int64_t)(rnd() % 100000000ull);
    if (rnd() % 8 == 0)
        v %= 10;
    return (money_dec){v, minor};
}

static void rnd_line(sched_line *l, rline *r, int minor, date_days signed_on)
{
    cat_mode mode = (cat_mode)rndi(0, 4);
    *l = line_of(mode, "0");
    l->id = NULL;
    l->total = rnd_total(minor);
    l->start_on = signed_on + rndi(0, 60);
    l->lead_time_days = rndi(-1, 20);
    l->acceptance_days = rndi(-1, 30);
    if (rnd() % 2)
        l->delivered_on = signed_on + rndi(0, 90);
    if (rnd() % 2)
        l->accepted_on = signed_on + rndi(0, 120);
    bool recurring = mode == CAT_MODE_SUBSCRIPTION || mode == CAT_MODE_USAGE;
    if (rnd() % 4)
        rnd_term(r->ins, &r->term, recurring, signed_on), l->term = &r->term;
    static const cat_period per[3] = {CAT_PERIOD_MONTHLY, CAT_PERIOD_QUARTERLY, CAT_PERIOD_YEARLY};
    l->period = per[rndi(0, 2)];
    int pm = l->period == CAT_PERIOD_MONTHLY ? 1 : l->period == CAT_PERIOD_QUARTERLY ? 3 : 12;
    l->term_months = pm * rndi(1, 6);
    l->bill_day = rnd() % 2 ? rndi(1, 31) : 0;
    l->in_arrears = rnd() % 3 == 0;
    size_t nm = (size_t)rndi(1, RMAX);
    money_dec p[RMAX];
    rnd_percents(p, nm);
    for (size_t i = 0; i < nm; i++) {
        r->ms[i] = (cat_milestone){.id = "m", .is_percent = true, .percent = p[i]};
        r->acc[i] = rnd() % 2 ? signed_on + rndi(0, 300) : SCHED_NO_DATE;
    }
    l->milestones = r->ms;
    l->nmilestones = nm;
    l->milestone_accepted = r->acc;
    size_t ns = (size_t)rndi(0, 3);
    for (size_t i = 0; i < ns; i++) {
        bool spread = rnd() % 2;
        r->sv[i] = (sched_service){.sku = "S", .weight = money_from_int(rndi(0, 50000)),
                                   .period = spread ? CAT_PERIOD_MONTHLY : CAT_PERIOD_NONE,
                                   .term_months = spread ? rndi(1, 24) : 0};
    }
    if (ns && rnd() % 2) {
        rnd_term(r->sins, &r->sterm, true, signed_on);
        r->sv[0].term = &r->sterm;
    }
    l->goods_weight = money_from_int(rndi(1, 100000));
    l->services = r->sv;
    l->nservices = ns;
}

/* Periodic items of one (line, kind, service, part) come in period order:
 * their due dates never go down, and each period starts where the last
 * one ended. */
static void check_order(const sched_list *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const sched_item *x = &a->items[i];
        if (!x->has_period)
            continue;
        for (size_t j = i + 1; j < a->n; j++) {
            const sched_item *y = &a->items[j];
            if (y->line != x->line || y->kind != x->kind || y->service != x->service ||
                y->part != x->part)
                continue;
            assert_true(y->seq == x->seq + 1);
            assert_int_equal(y->period_from, x->period_to);
            if (x->due_on != SCHED_NO_DATE && y->due_on != SCHED_NO_DATE &&
                x->kind != SCHED_KIND_USAGE)
                assert_true(y->due_on >= x->due_on);
            break;
        }
    }
}

static void test_sched_random_schedules_add_up(void **state)
{
    (void)state;
    static const char *const cur[] = {"USD", "JPY", "KWD", "CNY", "BHD", "KRW"};
    rng_state = seed;
    for (int k = 0; k < 300; k++) {
        sched_line l[8];
        rline r[8];
        size_t n = (size_t)rndi(1, 8);
        const char *cy = cur[rndi(0, 5)];
        int minor = 0;
        assert_int_equal(money_currency_minor(cy, &minor), 0);
        date_days signed_on = D("2026-01-01") + rndi(0, 3000);
        for (size_t i = 0; i < n; i++)
            rnd_line(&l[i], &r[i], minor, signed_on);
        sched_contract c = {.currency = cy, .rounding = (money_round)rndi(0, 5),
                            .signed_on = signed_on, .lines = l, .nlines = n};
        sched_schedule s;
        cpqd_errs *e = errs_new();
        int rc = sched_contract_build(&c, &s, e);
        if (rc) {
            char *m = errs_format(e, 0);
            fail_msg("seed %llu case %d: %s", (unsigned long long)seed, k, m ? m : "?");
        }
        money_dec sum = {0, minor}, per[8];
        for (size_t i = 0; i < n; i++)
            per[i] = (money_dec){0, minor};
        for (size_t i = 0; i < s.items.n; i++) {
            const sched_item *it = &s.items.items[i];
            assert_int_equal(it->amount.scale, minor);
            assert_true(money_sign(it->amount) >= 0);
            assert_int_equal(money_add(per[it->line], it->amount, &per[it->line]), 0);
            assert_int_equal(money_add(sum, it->amount, &sum), 0);
            assert_true(it->due_on != SCHED_NO_DATE || it->waits_for != SCHED_WAIT_NONE);
        }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(money_cmp(per[i], s.line_totals[i]), 0);
            if (l[i].mode != CAT_MODE_SUBSCRIPTION && l[i].mode != CAT_MODE_USAGE)
                assert_int_equal(money_cmp(per[i], l[i].total), 0);
        }
        assert_int_equal(money_cmp(sum, s.total), 0);
        check_order(&s.items);
        sched_schedule_fini(&s);
        errs_free(e);
    }
}

/* Renewals and seat changes keep every amount at the currency's places
 * and a change's credit and charge mirror each other when the amount does
 * not change. */
static void test_sched_random_seat_changes_mirror(void **state)
{
    (void)state;
    rng_state = seed ^ 0x5eedu;
    for (int k = 0; k < 200; k++) {
        int minor = rndi(0, 1) ? 2 : 3;
        sched_line l = line_of(CAT_MODE_SUBSCRIPTION, "0");
        l.total = rnd_total(minor);
        l.period = CAT_PERIOD_MONTHLY;
        l.term_months = rndi(1, 24);
        l.start_on = D("2027-01-01") + rndi(0, 900);
        l.bill_day = rnd() % 2 ? rndi(1, 31) : 0;
        sched_contract c = contract_of(minor == 2 ? "EUR" : "OMR", "2027-01-01", &l, 1);
        sched_list a = {0}, b = {0};
        money_dec tot;
        build1(&c, &a, &tot);
        date_days lo = a.items[0].period_from, hi = a.items[a.n - 1].period_to;
        date_days on = lo + (date_days)(rnd() % (uint64_t)(hi - lo));
        assert_int_equal(sched_seat_change(&c, 0, 0, on, l.total, &b, NULL), 0);
        assert_int_equal(b.items[0].amount.scale, minor);
        assert_int_equal(money_cmp(b.items[0].amount, money_neg(b.items[1].amount)), 0);
        sched_list_fini(&b);
        assert_int_equal(sched_line_renew(&c, 0, 1, l.total, &b, NULL), 0);
        assert_int_equal(b.n, (size_t)l.term_months);
        assert_int_equal(b.items[0].period_from, hi);
        sched_list_fini(&a);
        sched_list_fini(&b);
    }
}

int main(void)
{
    const char *s = getenv("SCHED_SEED");
    seed = s && *s ? strtoull(s, NULL, 10) : DEFAULT_SEED;
    printf("sched: seed %llu (SCHED_SEED to replay)\n", (unsigned long long)seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_goods_30_70_net30_after_delivery),
        cmocka_unit_test(test_sched_goods_default_term_is_on_delivery),
        cmocka_unit_test(test_sched_end_of_month_plus_30),
        cmocka_unit_test(test_sched_100_in_three_residue_first),
        cmocka_unit_test(test_sched_percent_tie_goes_to_first_installment),
        cmocka_unit_test(test_sched_fixed_then_percent_installments),
        cmocka_unit_test(test_sched_jpy_and_kwd_minor_units),
        cmocka_unit_test(test_sched_equal_parts_residue_first_cny_jpy_kwd),
        cmocka_unit_test(test_sched_equal_parts_after_a_percent_and_pending_delivery),
        cmocka_unit_test(test_sched_equal_parts_end_of_month_and_fixed_date),
        cmocka_unit_test(test_sched_equal_parts_mirror_on_a_credit),
        cmocka_unit_test(test_sched_equal_parts_bad_input),
        cmocka_unit_test(test_sched_term_days_bound_3650),
        cmocka_unit_test(test_sched_goods_with_service_split),
        cmocka_unit_test(test_sched_month_end_anchor_leap_and_common_year),
        cmocka_unit_test(test_sched_proration_28_30_31_day_months),
        cmocka_unit_test(test_sched_subscription_in_arrears_with_eom_term),
        cmocka_unit_test(test_sched_renewal_continues_anchor),
        cmocka_unit_test(test_sched_seat_change_up_and_down),
        cmocka_unit_test(test_sched_usage_graduated_vs_volume),
        cmocka_unit_test(test_sched_usage_package_and_block),
        cmocka_unit_test(test_sched_usage_periods_minimum_and_close),
        cmocka_unit_test(test_sched_milestone_uneven_split),
        cmocka_unit_test(test_sched_milestone_fixed_amounts),
        cmocka_unit_test(test_sched_overdue_aging_and_partial_payments),
        cmocka_unit_test(test_sched_payment_status_beside_status),
        cmocka_unit_test(test_sched_bad_input_is_einval_without_output),
        cmocka_unit_test(test_sched_contract_reports_every_bad_line),
        cmocka_unit_test(test_sched_cnc_catalog_goods_with_service),
        cmocka_unit_test(test_sched_random_schedules_add_up),
        cmocka_unit_test(test_sched_random_seat_changes_mirror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
