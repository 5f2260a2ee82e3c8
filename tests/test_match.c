/*
 * Unit tests for match: each rule on a small hand-made ledger (references
 * written loosely, typos confirmed by the payer, partial payments and
 * their guard, overpayments kept or explained, amounts and combinations
 * without a reference, payers known by name, contract references,
 * duplicates, currencies), what is left unmatched and why, suggestions,
 * bad input, manual matches, the text helpers; then a generated statement
 * (tests/finance_gen.h) that must be matched with no wrong match and at
 * least 95% of its payments matched. FINANCE_SEED=<n> replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/match.h"
#include "finance_gen.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the ledger ---- */

static const char *const acct_a[] = {"6222000011112222"};
static const char *const acct_b[] = {"CN12BANK0001"};
static const char *const acct_d[] = {"D-ACCT-1"};

static const match_customer custs[] = {
    {"cust-a", "上海华信科技有限公司", acct_a, 1},
    {"cust-b", "Beijing Example Trading Co., Ltd.", acct_b, 1},
    {"cust-c", "Acme Shenzhen Ltd", NULL, 0},
    {"cust-d", "Delta Instruments Co., Ltd.", acct_d, 1},
};

enum { A, B, C, DD };

static match_item items[11];

static void ledger(void)
{
    const match_item it[] = {
        {"r0", A, "C-2026-000001", "INV-SH-2026-000001", "CNY", M("1130.00"), D("2026-10-01")},
        {"r1", A, "C-2026-000001", "INV-SH-2026-000002", "CNY", M("2260.00"), D("2026-11-01")},
        {"r2", B, "C-2026-000002", "INV-SH-2026-000003", "CNY", M("500.00"), D("2026-10-15")},
        {"r3", B, "C-2026-000002", NULL, "CNY", M("500.00"), D("2026-11-15")},
        {"r4", C, "C-2026-000003", "INV-SH-2026-000004", "CNY", M("999.99"), D("2026-10-20")},
        {"r5", A, "C-2026-000004", "INV-SH-2026-000005", "CNY", M("300.00"), D("2026-12-01")},
        {"r6", DD, "C-2026-000005", "INV-SH-2026-000006", "CNY", M("100.00"), D("2026-10-01")},
        {"r7", DD, "C-2026-000006", "INV-SH-2026-000007", "CNY", M("200.00"), D("2026-10-02")},
        {"r8", DD, "C-2026-000007", "INV-SH-2026-000008", "CNY", M("300.00"), D("2026-10-03")},
        {"r9", DD, "C-2026-000008", "INV-SH-2026-000009", "CNY", M("400.00"), D("2026-10-04")},
        {"r10", A, "C-2026-000009", "INV-SH-2026-000010", "USD", M("50.00"), D("2026-10-01")},
    };
    memcpy(items, it, sizeof(it));
}

static bank_credit cr(const char *tx, const char *amount, const char *cur, const char *name,
                      const char *acct, const char *text)
{
    bank_credit c = {.tx_id = tx,
                     .amount = M(amount),
                     .value_date = D("2026-12-01"),
                     .booking_date = BANK_NO_DATE,
                     .remittance = text,
                     .debtor_name = name,
                     .debtor_account = acct,
                     .end_to_end_id = "",
                     .line = 1};
    snprintf(c.currency, sizeof(c.currency), "%s", cur);
    return c;
}

/* The payers of the ledger, by account. */
#define BY_A(tx, amt, text) cr(tx, amt, "CNY", "上海华信科技有限公司", "6222000011112222", text)
#define BY_B(tx, amt, text) cr(tx, amt, "CNY", "BEIJING EXAMPLE TRADING", "CN12BANK0001", text)
#define BY_D(tx, amt, text) cr(tx, amt, "CNY", "Delta Instruments", "D-ACCT-1", text)

static bool seen_old(void *ctx, const char *tx)
{
    (void)ctx;
    return strncmp(tx, "OLD-", 4) == 0;
}

static void run_ok(const bank_credit *c, size_t n, match_run *out)
{
    ledger();
    match_options o = {.seen = seen_old};
    match_input in = {custs, 4, items, 11, c, n, &o};
    cpqd_errs *e = errs_new();
    int rc = match_statement(&in, out, e);
    for (size_t i = 0; i < errs_count(e); i++)
        fprintf(stderr, "unexpected: %s\n", errs_get(e, i)->msg);
    assert_int_equal(rc, 0);
    errs_free(e);
    /* the invariant of every run: allocations + overpaid = the amount */
    for (size_t k = 0; k < out->n; k++) {
        const match_result *r = &out->results[k];
        if (r->status != MATCH_MATCHED)
            continue;
        money_dec s = r->overpaid;
        for (size_t i = 0; i < r->nallocs; i++)
            assert_int_equal(money_add(s, r->allocs[i].amount, &s), 0);
        assert_int_equal(money_cmp(s, c[k].amount), 0);
    }
    for (size_t i = 0; i < out->nitems; i++)
        assert_true(money_sign(out->open[i]) >= 0);
}

/* Credit k was matched by rule to exactly these items and amounts
 * (oldest due first), with this overpayment. */
static void assert_matched(const match_run *r, size_t k, match_rule rule, const char *overpaid,
                           size_t n, const size_t *it, const char *const *amt)
{
    const match_result *x = &r->results[k];
    if (x->status != MATCH_MATCHED)
        fail_msg("credit %zu not matched: %s", k, x->reason ? x->reason : "?");
    assert_string_equal(match_rule_name(x->rule), match_rule_name(rule));
    assert_money(x->overpaid, overpaid);
    assert_int_equal(x->nallocs, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(x->allocs[i].item, it[i]);
        assert_money(x->allocs[i].amount, amt[i]);
    }
    assert_null(x->reason);
}

#define MATCHED1(r, k, rule, item, amount)                                                         \
    do {                                                                                           \
        const size_t i_[] = {item};                                                                \
        const char *const a_[] = {amount};                                                         \
        assert_matched(r, k, rule, "0.00", 1, i_, a_);                                             \
    } while (0)

static void assert_unmatched(const match_run *r, size_t k, const char *why)
{
    const match_result *x = &r->results[k];
    if (x->status != MATCH_UNMATCHED)
        fail_msg("credit %zu: expected unmatched, got %s by %s", k, match_status_name(x->status),
                 match_rule_name(x->rule));
    assert_int_equal(x->nallocs, 0);
    if (!strstr(x->reason, why))
        fail_msg("credit %zu: reason '%s' lacks '%s'", k, x->reason, why);
}

/* ---- references ---- */

static void test_match_reference_written_loosely(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_A("T1", "1130.00", "Payment INV-SH-2026-000001"),
        BY_A("T2", "2260.00", "inv sh 2026 2"),                   /* case, spaces, no zeros */
        BY_B("T3", "500.00", "货款，发票号INV-SH-2026-000003。"), /* inside Chinese text */
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 0, "1130.00");
    MATCHED1(&r, 1, MATCH_RULE_REFERENCE, 1, "2260.00");
    MATCHED1(&r, 2, MATCH_RULE_REFERENCE, 2, "500.00");
    assert_int_equal(r.results[0].customer, A);
    assert_int_equal(r.matched, 3);
    assert_money(r.open[0], "0.00");
    assert_money(r.open[3], "500.00");
    match_run_fini(&r);
    match_run_fini(&r); /* twice is harmless */
}

static void test_match_typo_confirmed_by_payer(void **state)
{
    (void)state;
    const bank_credit c[] = {
        /* 000002 written 000020: no such invoice; one swap away is A's */
        BY_A("T1", "2260.00", "INV-SH-2026-000020"),
        /* 000001 written 000003, which is B's invoice: A pays, so it is
         * read as A's 000001 (one digit away, the amount fits), not B's */
        BY_A("T2", "1130.00", "INV-SH-2026-000003"),
        /* a typo from an unknown payer is not guessed */
        cr("T3", "300.00", "CNY", "Somebody", "999", "INV-SH-2026-000050"),
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE_FUZZY, 1, "2260.00");
    MATCHED1(&r, 1, MATCH_RULE_REFERENCE_FUZZY, 0, "1130.00");
    assert_unmatched(&r, 2, "no reference to an open item");
    assert_money(r.open[2], "500.00"); /* B's invoice untouched */
    match_run_fini(&r);
}

static void test_match_partial_payment_and_its_guard(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_A("T1", "1000.00", "INV-SH-2026-000002"),
        BY_A("T2", "1260.00", "INV-SH-2026-000002 余款"),
        /* part of 000001, or A's 300.00 item with a wrong reference? */
        BY_A("T3", "300.00", "INV-SH-2026-000001"),
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 1, "1000.00");
    MATCHED1(&r, 1, MATCH_RULE_REFERENCE, 1, "1260.00");
    assert_money(r.open[1], "0.00");
    assert_unmatched(&r, 2, "exactly that amount");
    /* both readings are suggested: the cited invoice first (reference and
     * payer agree), then the item of that amount */
    const match_result *x = &r.results[2];
    assert_true(x->nsuggestions >= 2);
    assert_int_equal(x->suggestions[0].item, 0);
    assert_int_equal(x->suggestions[0].score, 75);
    assert_int_equal(x->suggestions[1].item, 5);
    assert_int_equal(x->suggestions[1].score, 70);
    assert_int_equal(x->customer, A);
    match_run_fini(&r);
}

static void test_match_overpayment_kept_or_explained(void **state)
{
    (void)state;
    /* 70.00 over 000001 fits no other item of A: kept as credit */
    const bank_credit c1[] = {BY_A("T1", "1200.00", "INV-SH-2026-000001")};
    match_run r;
    run_ok(c1, 1, &r);
    const size_t i1[] = {0};
    const char *const a1[] = {"1130.00"};
    assert_matched(&r, 0, MATCH_RULE_REFERENCE, "70.00", 1, i1, a1);
    match_run_fini(&r);
    /* 300.00 over it is A's other item of exactly that amount */
    const bank_credit c2[] = {BY_A("T1", "1430.00", "INV-SH-2026-000001")};
    run_ok(c2, 1, &r);
    const size_t i2[] = {0, 5};
    const char *const a2[] = {"1130.00", "300.00"};
    assert_matched(&r, 0, MATCH_RULE_REFERENCE, "0.00", 2, i2, a2);
    match_run_fini(&r);
    /* an overpayment needs a known payer */
    const bank_credit c3[] = {cr("T1", "1200.00", "CNY", "X", "", "INV-SH-2026-000001")};
    run_ok(c3, 1, &r);
    assert_unmatched(&r, 0, "payer is not known");
    match_run_fini(&r);
}

static void test_match_contract_reference(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_A("T1", "1130.00", "合同 C-2026-000001"), /* the contract's item of that amount */
        BY_A("T2", "2260.00", "c 2026 000001"),
        BY_B("T3", "500.00", "C-2026-000002 第1期"), /* two equal periods: the older */
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 0, "1130.00");
    MATCHED1(&r, 1, MATCH_RULE_REFERENCE, 1, "2260.00");
    MATCHED1(&r, 2, MATCH_RULE_REFERENCE, 2, "500.00");
    match_run_fini(&r);
    const bank_credit all[] = {BY_A("T1", "3390.00", "C2026000001")};
    run_ok(all, 1, &r);
    const size_t i2[] = {0, 1};
    const char *const a2[] = {"1130.00", "2260.00"};
    assert_matched(&r, 0, MATCH_RULE_REFERENCE, "0.00", 2, i2, a2);
    match_run_fini(&r);
}

/* Digits without a prefix name both invoice 000001 and contract 000001;
 * only the invoice's amount fits. */
static void test_match_digits_without_prefix(void **state)
{
    (void)state;
    const bank_credit c[] = {BY_A("T1", "1130.00", "2026-000001"),
                             cr("T2", "2260.00", "CNY", "?", "", "2026-000002")};
    match_run r;
    run_ok(c, 2, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 0, "1130.00");
    /* without a payer, digits alone are not enough */
    assert_unmatched(&r, 1, "the reference alone does not settle it");
    match_run_fini(&r);
}

/* ---- payer and amount ---- */

static void test_match_amount_without_reference(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_B("T1", "500.00", "货款"),    /* two equal periods of one contract: the older */
        BY_B("T2", "500.00", ""),        /* then the other */
        BY_D("T3", "500.00", "payment"), /* 100+400 or 200+300: a person decides */
        BY_D("T4", "700.00", ""),        /* 300+400 or 100+200+400 */
        BY_D("T5", "900.00", ""),        /* only 200+300+400 */
        BY_D("T6", "150.00", ""),        /* nothing adds up to it */
    };
    match_run r;
    run_ok(c, 6, &r);
    MATCHED1(&r, 0, MATCH_RULE_AMOUNT, 2, "500.00");
    MATCHED1(&r, 1, MATCH_RULE_AMOUNT, 3, "500.00");
    assert_unmatched(&r, 2, "several sets");
    assert_unmatched(&r, 3, "several sets");
    const size_t i5[] = {7, 8, 9};
    const char *const a5[] = {"200.00", "300.00", "400.00"};
    assert_matched(&r, 4, MATCH_RULE_COMBINATION, "0.00", 3, i5, a5);
    assert_unmatched(&r, 5, "no open item or set");
    /* suggestions of an unmatched credit: the payer's items */
    assert_true(r.results[5].nsuggestions >= 1);
    assert_int_equal(r.results[5].suggestions[0].item, 6); /* 100.00 < 150.00, oldest */
    match_run_fini(&r);
    /* everything the payer owes, in one payment */
    const bank_credit all[] = {BY_D("T1", "1000.00", "")};
    run_ok(all, 1, &r);
    assert_int_equal(r.results[0].status, MATCH_MATCHED);
    assert_int_equal(r.results[0].rule, MATCH_RULE_COMBINATION);
    assert_int_equal(r.results[0].nallocs, 4);
    match_run_fini(&r);
}

static void test_match_payer_known_by_name(void **state)
{
    (void)state;
    const bank_credit c[] = {
        /* legal forms and case aside, C's name: as good as its account */
        cr("T1", "999.99", "CNY", "ACME SHENZHEN LIMITED", "", ""),
    };
    match_run r;
    run_ok(c, 1, &r);
    MATCHED1(&r, 0, MATCH_RULE_AMOUNT, 4, "999.99");
    assert_int_equal(r.results[0].customer, C);
    match_run_fini(&r);
    /* one typo in the name: the amount rule only */
    const bank_credit c2[] = {cr("T1", "999.99", "CNY", "Acme Shenzen Ltd", "", ""),
                              cr("T2", "500.00", "CNY", "Acme Shenzen Ltd", "", "")};
    run_ok(c2, 2, &r);
    MATCHED1(&r, 0, MATCH_RULE_AMOUNT, 4, "999.99");
    assert_unmatched(&r, 1, "no open item in this currency");
    match_run_fini(&r);
}

static void test_match_unknown_payer(void **state)
{
    (void)state;
    const bank_credit c[] = {
        /* an exact reference and its exact amount: enough */
        cr("T1", "999.99", "CNY", "Someone Else", "", "INV-SH-2026-000004"),
        /* A pays C's invoice: a conflict for a person */
        BY_A("T2", "999.99", "INV-SH-2026-000004"),
        /* nothing at all */
        cr("T3", "123.45", "CNY", "", "", ""),
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 4, "999.99");
    assert_int_equal(r.results[0].customer, C);
    match_run_fini(&r);
    const bank_credit c2[] = {cr("T1", "500.00", "CNY", "Someone Else", "", "INV-SH-2026-000004"),
                              BY_A("T2", "999.99", "INV-SH-2026-000004"),
                              cr("T3", "123.45", "CNY", "", "", "")};
    run_ok(c2, 3, &r);
    assert_unmatched(&r, 0, "payer is not known");
    assert_int_equal(r.results[1].status, MATCH_UNMATCHED);
    bool suggested = false;
    for (size_t i = 0; i < r.results[1].nsuggestions; i++)
        suggested |= r.results[1].suggestions[i].item == 4;
    assert_true(suggested);
    assert_unmatched(&r, 2, "no reference");
    assert_int_equal(r.results[2].customer, MATCH_NONE);
    assert_int_equal(r.unmatched, 3);
    match_run_fini(&r);
}

/* ---- duplicates and currencies ---- */

static void test_match_duplicates(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_A("T1", "1130.00", "INV-SH-2026-000001"),
        BY_A("T1", "1130.00", "INV-SH-2026-000001"),    /* the same transaction again */
        BY_A("OLD-7", "2260.00", "INV-SH-2026-000002"), /* imported with an earlier statement */
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 0, "1130.00");
    assert_int_equal(r.results[1].status, MATCH_DUPLICATE);
    assert_int_equal(r.results[1].duplicate_of, 0);
    assert_int_equal(r.results[2].status, MATCH_DUPLICATE);
    assert_int_equal(r.results[2].duplicate_of, MATCH_NONE);
    assert_non_null(strstr(r.results[2].reason, "imported before"));
    assert_int_equal(r.duplicates, 2);
    assert_money(r.open[1], "2260.00"); /* a duplicate pays nothing */
    match_run_fini(&r);
}

static void test_match_currency_must_agree(void **state)
{
    (void)state;
    const bank_credit c[] = {
        cr("T1", "50.00", "USD", "上海华信科技有限公司", "6222000011112222", "INV-SH-2026-000010"),
        cr("T2", "1130.00", "USD", "上海华信科技有限公司", "6222000011112222",
           "INV-SH-2026-000001"),
        cr("T3", "1130", "JPY", "上海华信科技有限公司", "6222000011112222", ""),
    };
    match_run r;
    run_ok(c, 3, &r);
    MATCHED1(&r, 0, MATCH_RULE_REFERENCE, 10, "50.00");
    assert_int_equal(r.results[1].status, MATCH_UNMATCHED);
    assert_unmatched(&r, 2, "no open item in this currency");
    assert_money(r.open[0], "1130.00");
    match_run_fini(&r);
}

/* The same input gives the same output, allocation for allocation. */
static void test_match_is_deterministic(void **state)
{
    (void)state;
    const bank_credit c[] = {
        BY_A("T1", "1000.00", "INV-SH-2026-000002"),
        BY_B("T2", "500.00", ""),
        BY_D("T3", "900.00", ""),
        BY_A("T4", "1200.00", "INV-SH-2026-000001"),
        BY_A("T5", "300.00", "INV-SH-2026-000001"),
    };
    match_run r1, r2;
    run_ok(c, 5, &r1);
    run_ok(c, 5, &r2);
    for (size_t k = 0; k < 5; k++) {
        const match_result *x = &r1.results[k], *y = &r2.results[k];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->rule, y->rule);
        assert_int_equal(x->nallocs, y->nallocs);
        for (size_t i = 0; i < x->nallocs; i++) {
            assert_int_equal(x->allocs[i].item, y->allocs[i].item);
            assert_int_equal(money_cmp(x->allocs[i].amount, y->allocs[i].amount), 0);
        }
        assert_int_equal(x->nsuggestions, y->nsuggestions);
    }
    match_run_fini(&r1);
    match_run_fini(&r2);
}

/* ---- bad input and manual matches ---- */

static void test_match_bad_input(void **state)
{
    (void)state;
    ledger();
    items[1].customer = 9;
    items[2].open = M("-1.00");
    items[3].currency = NULL;
    items[4].invoice_number = "2026-000004";
    const bank_credit c[] = {BY_A("T1", "1130.00", "")};
    match_input in = {custs, 4, items, 11, c, 1, NULL};
    match_run r;
    memset(&r, 0x5a, sizeof(r));
    cpqd_errs *e = errs_new();
    assert_int_equal(match_statement(&in, &r, e), CPQD_EINVAL);
    assert_null(r.results);
    assert_null(r.mem);
    const char *want[] = {"item r1: customer 9 does not exist", "item r2: open amount must be >= 0",
                          "item r3: unknown currency",
                          "item r4: '2026-000004' is not a document number"};
    for (size_t k = 0; k < 4; k++) {
        bool found = false;
        for (size_t i = 0; i < errs_count(e); i++)
            found |= strstr(errs_get(e, i)->msg, want[k]) != NULL;
        if (!found)
            fail_msg("expected '%s'", want[k]);
    }
    errs_free(e);
}

static void test_match_manual(void **state)
{
    (void)state;
    ledger();
    money_dec open[11];
    for (size_t i = 0; i < 11; i++)
        open[i] = items[i].open;
    bank_credit c = BY_A("T1", "1500.00", "");
    match_alloc ok[] = {{0, M("1130.00")}, {5, M("300")}};
    money_dec over;
    assert_int_equal(match_manual(items, 11, open, &c, ok, 2, &over, NULL), 0);
    assert_money(over, "70.00");
    match_alloc bad[] = {{0, M("1130.01")}, {10, M("1.00")}, {5, M("300.00")},
                         {5, M("1.00")},    {42, M("1.00")}, {1, M("0.001")}};
    cpqd_errs *e = errs_new();
    assert_int_equal(match_manual(items, 11, open, &c, bad, 6, &over, e), CPQD_EINVAL);
    const char *want[] = {"item r0: the amount is more than its open amount",
                          "item r10 is in USD, the credit in CNY", "item r5 is named twice",
                          "item 42 does not exist", "item r1: the amount must be positive"};
    for (size_t k = 0; k < 5; k++) {
        bool found = false;
        for (size_t i = 0; i < errs_count(e); i++)
            found |= strstr(errs_get(e, i)->msg, want[k]) != NULL;
        if (!found)
            fail_msg("expected '%s'", want[k]);
    }
    errs_free(e);
    e = errs_new();
    match_alloc too_much[] = {{0, M("1130.00")}, {1, M("400.00")}};
    assert_int_equal(match_manual(items, 11, open, &c, too_much, 2, &over, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "add up to more than the credit"));
    errs_free(e);
}

/* ---- text helpers ---- */

static void key(const char *doc, const char *want)
{
    char b[64];
    int n = match_ref_key(doc, b, sizeof(b));
    if (!want) {
        assert_true(n < 0);
        return;
    }
    assert_true(n > 0);
    assert_string_equal(b, want);
}

static void norm(const char *name, const char *want)
{
    char b[256];
    assert_true(match_name_norm(name, b, sizeof(b)) >= 0);
    assert_string_equal(b, want);
}

static void test_match_text_helpers(void **state)
{
    (void)state;
    key("INV-SH-2026-000042", "INVSH|2026|42");
    key("inv sh 2026 42", "INVSH|2026|42");
    key("C-2026-000001", "C|2026|1");
    key("CN-SH-2027-1234567", "CNSH|2027|1234567");
    key("INV-SH-2026-000000", "INVSH|2026|0");
    key("2026-000042", NULL);        /* no letters */
    key("INV-26-42", NULL);          /* no year */
    key("INV-2026-123456789", NULL); /* sequence of 9 digits */
    key("INV-2026-00A1", NULL);
    norm("Beijing Example Trading Co., Ltd.", "BEIJING EXAMPLE TRADING");
    norm("上海华信科技有限公司", "上海华信科技");
    norm("深圳创达股份有限公司（深圳）", "深圳创达股份有限公司（深圳）");
    norm("The Acme Corp.", "ACME");
    norm("", "");
    char small[4];
    assert_int_equal(match_name_norm("Beijing", small, sizeof(small)), CPQD_ERANGE);
    assert_string_equal(match_status_name(MATCH_DUPLICATE), "duplicate");
    assert_string_equal(match_rule_name(MATCH_RULE_REFERENCE_FUZZY), "reference_fuzzy");
    assert_null(match_rule_name((match_rule)42));
}

/* ---- a generated statement ---- */

static void test_match_generated_statement(void **state)
{
    (void)state;
    const char *env = getenv("FINANCE_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10) : 20261201u;
    fg_data d;
    fg_generate(&d, seed, 2000, 1000);
    match_options o = {.seen = fg_seen, .seen_ctx = &d};
    match_input in = {d.cust, d.ncust, d.items, d.nitems, d.credits, d.ncredits, &o};
    match_run r;
    assert_int_equal(match_statement(&in, &r, NULL), 0);
    fg_score s;
    fg_evaluate(&d, &r, &s, stderr);
    printf("match: seed %llu (FINANCE_SEED to replay): %zu credits, %zu payments: %zu right, "
           "%zu incomplete, %zu missed, %zu wrong; noise %zu/%zu left, duplicates %zu/%zu\n",
           (unsigned long long)seed, s.credits, s.targets, s.right, s.incomplete, s.missed, s.wrong,
           s.noise_left, s.noise, s.dups_found, s.dups);
    assert_int_equal(s.wrong, 0);
    assert_true((s.right + s.incomplete) * 100 >= s.targets * 95);
    assert_int_equal(s.noise_left, s.noise);
    assert_int_equal(s.dups_found, s.dups);
    match_run_fini(&r);
    fg_free(&d);
}

/* Matching holds no shared state: statements matched on two threads at
 * once give what they give one after the other (names are compared word
 * by word, with no static tokenizer state in between). */
typedef struct par_job {
    const match_input *in;
    match_run run;
    int rc;
} par_job;

static void *par_main(void *arg)
{
    par_job *j = arg;
    for (int k = 0; k < 3 && j->rc == 0; k++) {
        match_run_fini(&j->run);
        j->rc = match_statement(j->in, &j->run, NULL);
    }
    return NULL;
}

static void test_match_two_threads_agree(void **state)
{
    (void)state;
    fg_data d;
    fg_generate(&d, 77, 2000, 1000);
    /* names written in another word order reach the word-by-word check */
    for (size_t k = 0; k < d.ncredits; k++)
        if (k % 3 == 0 && d.credits[k].debtor_account[0]) {
            d.credits[k].debtor_account = "";
            d.credits[k].debtor_name = "Trading Shanghai Huaxin Co., Ltd.";
        }
    match_options o = {.seen = fg_seen, .seen_ctx = &d};
    match_input in = {d.cust, d.ncust, d.items, d.nitems, d.credits, d.ncredits, &o};
    match_run ref;
    assert_int_equal(match_statement(&in, &ref, NULL), 0);
    par_job jobs[2] = {{&in, {0}, 0}, {&in, {0}, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, par_main, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs[i].rc, 0);
        for (size_t k = 0; k < ref.n; k++) {
            const match_result *x = &ref.results[k], *y = &jobs[i].run.results[k];
            assert_int_equal(x->status, y->status);
            assert_int_equal(x->customer, y->customer);
            assert_int_equal(x->nallocs, y->nallocs);
        }
        match_run_fini(&jobs[i].run);
    }
    match_run_fini(&ref);
    fg_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_reference_written_loosely),
        cmocka_unit_test(test_match_typo_confirmed_by_payer),
        cmocka_unit_test(test_match_partial_payment_and_its_guard),
        cmocka_unit_test(test_match_overpayment_kept_or_explained),
        cmocka_unit_test(test_match_contract_reference),
        cmocka_unit_test(test_match_digits_without_prefix),
        cmocka_unit_test(test_match_amount_without_reference),
        cmocka_unit_test(test_match_payer_known_by_name),
        cmocka_unit_test(test_match_unknown_payer),
        cmocka_unit_test(test_match_duplicates),
        cmocka_unit_test(test_match_currency_must_agree),
        cmocka_unit_test(test_match_is_deterministic),
        cmocka_unit_test(test_match_bad_input),
        cmocka_unit_test(test_match_manual),
        cmocka_unit_test(test_match_text_helpers),
        cmocka_unit_test(test_match_generated_statement),
        cmocka_unit_test(test_match_two_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
