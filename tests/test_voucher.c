/*
 * Unit tests for voucher: the entries of invoices, credit notes (credits
 * and cancellations), payments, matches and their reversal, write-offs
 * and revenue, on hand-made accounts; every voucher balances; bad input;
 * the CSV rows. Expectations computed by hand beside each assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/voucher.h"

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

static const cat_account_ref rev_by_cat[] = {{"services", "6051", {NULL, 0, 0}}};
static const cat_account_ref tax_by_class[] = {{"service", "2221.06", {NULL, 0, 0}}};

static const cat_finance fin = {
    .issuer = {.id = "ACME-SH",
               .name = "ACME",
               .invoice_prefix = "INV-SH",
               .credit_note_prefix = "CN-SH"},
    .issue = CAT_INVOICE_MANUAL,
    .accounts = {"1122", "1002", "2203", "2204", "2221.01", "6001", "6702", rev_by_cat, 1,
                 tax_by_class, 1},
};

/* Line L of voucher v: account, debit, credit, memo ("" for none). */
static void line_is(const voucher *v, size_t l, const char *acct, const char *dr, const char *cr,
                    const char *memo)
{
    assert_true(l < v->nlines);
    assert_string_equal(v->lines[l].account, acct);
    assert_money(v->lines[l].debit, dr);
    assert_money(v->lines[l].credit, cr);
    assert_string_equal(v->lines[l].memo ? v->lines[l].memo : "", memo);
}

static const invoice_party seller = {"ACME-SH", "ACME", NULL, NULL, NULL, NULL};
static const invoice_party buyer = {"cust-1", "Buyer", NULL, NULL, NULL, NULL};
static const invoice_src_line lines2[] = {
    {"L1", "CNC-VMC-850", "VMC", "machining_centres", NULL, {1, 0}, "standard", {13, 2}},
    {"L2", "CNC-SVC-INSTALL", "Install", "services", NULL, {1, 0}, "service", {6, 2}},
};

static void make_invoice(invoice *inv)
{
    static const invoice_src_item items[] = {
        {"r_1", 0, {113000, 2}, 20818, NULL, NULL, {0, 0}},
        {"r_2", 1, {10600, 2}, 20818, NULL, NULL, {0, 0}},
        {"r_3", 0, {10000, 2}, 20818, NULL, NULL, {0, 0}},
    };
    invoice_request r = {INVOICE_KIND_INVOICE,
                         "INV-SH-2026-000001",
                         "CNY",
                         D("2026-12-01"),
                         &seller,
                         &buyer,
                         "c_1",
                         "C-2026-000001",
                         {false, MONEY_HALF_EVEN},
                         lines2,
                         2,
                         items,
                         3};
    assert_int_equal(invoice_build(&r, inv, NULL), 0);
}

/* The invoice of test_invoice_per_line_tax_by_class: 1,336.00 = nets
 * 1,000.00 + 88.50 (machining) and 100.00 (services), taxes 130.00 +
 * 11.50 (standard) and 6.00 (service). */
static void test_voucher_invoice(void **state)
{
    (void)state;
    invoice inv;
    make_invoice(&inv);
    voucher v;
    assert_int_equal(voucher_from_invoice(&fin, &inv, &v, NULL), 0);
    assert_int_equal(v.kind, VOUCHER_INVOICE);
    assert_string_equal(v.source, "INV-SH-2026-000001");
    assert_string_equal(v.customer, "cust-1");
    assert_string_equal(v.contract, "C-2026-000001");
    assert_int_equal(v.date, D("2026-12-01"));
    assert_int_equal(v.nlines, 5);
    line_is(&v, 0, "1122", "1336.00", "0.00", "");
    line_is(&v, 1, "2204", "0.00", "1088.50", "machining_centres");
    line_is(&v, 2, "2221.01", "0.00", "141.50", "standard");
    line_is(&v, 3, "2204", "0.00", "100.00", "services");
    line_is(&v, 4, "2221.06", "0.00", "6.00", "service");
    assert_money(v.total, "1336.00");
    assert_int_equal(voucher_check(&v, NULL), 0);
    voucher_fini(&v);
    voucher_fini(&v);
    /* a full cancellation: the mirror, against receivable */
    invoice cn;
    assert_int_equal(invoice_cancel(&inv, NULL, 0, "CN-SH-2026-000001", D("2026-12-05"), &cn, NULL),
                     0);
    assert_int_equal(voucher_from_invoice(&fin, &cn, &v, NULL), 0);
    assert_int_equal(v.kind, VOUCHER_CREDIT_NOTE);
    line_is(&v, 0, "2204", "1088.50", "0.00", "machining_centres");
    line_is(&v, 1, "2221.01", "141.50", "0.00", "standard");
    line_is(&v, 2, "2204", "100.00", "0.00", "services");
    line_is(&v, 3, "2221.06", "6.00", "0.00", "service");
    line_is(&v, 4, "1122", "0.00", "1336.00", "");
    voucher_fini(&v);
    invoice_fini(&cn);
    invoice_fini(&inv);
}

/* A seat-change credit of -106.45 at 6% (tax -6.03): owed to the
 * customer, so customer credit is credited, not receivable. */
static void test_voucher_credit_note_for_a_credit(void **state)
{
    (void)state;
    const invoice_src_item it = {"r_c", 1, M("-106.45"), D("2027-07-21"), NULL, NULL, {0, 0}};
    invoice_request r = {INVOICE_KIND_CREDIT_NOTE,
                         "CN-SH-2027-000001",
                         "CNY",
                         D("2027-07-21"),
                         &seller,
                         &buyer,
                         "c_1",
                         "C-2026-000001",
                         {false, MONEY_HALF_EVEN},
                         lines2,
                         2,
                         &it,
                         1};
    invoice cn;
    assert_int_equal(invoice_build(&r, &cn, NULL), 0);
    voucher v;
    assert_int_equal(voucher_from_invoice(&fin, &cn, &v, NULL), 0);
    assert_int_equal(v.nlines, 3);
    line_is(&v, 0, "2204", "100.42", "0.00", "services");
    line_is(&v, 1, "2221.06", "6.03", "0.00", "service");
    line_is(&v, 2, "2203", "0.00", "106.45", "");
    voucher_fini(&v);
    invoice_fini(&cn);
}

static void test_voucher_payments_matches_write_offs(void **state)
{
    (void)state;
    voucher_ref ref = {"ICBC20261201000001", "cust-1", NULL, D("2026-12-01")};
    voucher v;
    struct {
        voucher_kind k;
        const char *dr, *cr;
    } want[] = {{VOUCHER_PAYMENT, "1002", "2203"},
                {VOUCHER_MATCH, "2203", "1122"},
                {VOUCHER_UNMATCH, "1122", "2203"},
                {VOUCHER_WRITE_OFF, "6702", "1122"}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(voucher_simple(&fin, want[i].k, &ref, "KWD", M("12.3"), &v, NULL), 0);
        assert_int_equal(v.nlines, 2);
        line_is(&v, 0, want[i].dr, "12.300", "0.000", "");
        line_is(&v, 1, want[i].cr, "0.000", "12.300", "");
        assert_money(v.total, "12.300");
        assert_string_equal(v.currency, "KWD");
        voucher_fini(&v);
    }
    assert_string_equal(voucher_kind_name(VOUCHER_UNMATCH), "unmatch");
    assert_null(voucher_kind_name((voucher_kind)99));
}

/* Revenue of a month: 1,000.00 + 88.50 machining, -20.00 services (a
 * reversal): contract liability against revenue per category, sides
 * swapped for the negative one. */
static void test_voucher_revenue(void **state)
{
    (void)state;
    voucher_ref ref = {"revenue 2027-01", "cust-1", "C-2026-000001", D("2027-01-31")};
    const char *cats[] = {"machining_centres", "services", "machining_centres"};
    money_dec amt[] = {M("1000.00"), M("-20.00"), M("88.5")};
    voucher v;
    assert_int_equal(voucher_revenue(&fin, &ref, "CNY", cats, amt, 3, &v, NULL), 0);
    assert_int_equal(v.nlines, 4);
    line_is(&v, 0, "2204", "1088.50", "0.00", "machining_centres");
    line_is(&v, 1, "6051", "20.00", "0.00", "services");
    line_is(&v, 2, "6001", "0.00", "1088.50", "machining_centres");
    line_is(&v, 3, "2204", "0.00", "20.00", "services");
    assert_money(v.total, "1108.50");
    voucher_fini(&v);
    /* what nets to nothing is not a voucher */
    money_dec zero[] = {M("5.00"), M("0"), M("-5.00")};
    const char *same[] = {"services", "services", "services"};
    cpqd_errs *e = errs_new();
    assert_int_equal(voucher_revenue(&fin, &ref, "CNY", same, zero, 3, &v, e), CPQD_EINVAL);
    assert_null(v.lines);
    assert_non_null(strstr(errs_get(e, 0)->msg, "every amount is zero"));
    errs_free(e);
}

static void test_voucher_bad_input(void **state)
{
    (void)state;
    voucher_ref ref = {"X", NULL, NULL, D("2026-12-01")};
    voucher v;
    cpqd_errs *e = errs_new();
    assert_int_equal(voucher_simple(&fin, VOUCHER_PAYMENT, &ref, "CNY", M("0.00"), &v, e),
                     CPQD_EINVAL);
    assert_int_equal(voucher_simple(&fin, VOUCHER_PAYMENT, &ref, "CNY", M("1.005"), &v, e),
                     CPQD_EINVAL);
    assert_int_equal(voucher_simple(&fin, VOUCHER_PAYMENT, &ref, "CNY", M("-1.00"), &v, e),
                     CPQD_EINVAL);
    assert_int_equal(voucher_simple(&fin, VOUCHER_INVOICE, &ref, "CNY", M("1.00"), &v, e),
                     CPQD_EINVAL);
    assert_int_equal(voucher_simple(&fin, VOUCHER_PAYMENT, &ref, "XXX", M("1.00"), &v, e),
                     CPQD_EINVAL);
    assert_int_equal(voucher_simple(NULL, VOUCHER_PAYMENT, &ref, "CNY", M("1.00"), &v, e),
                     CPQD_EINVAL);
    assert_null(v.lines);
    assert_true(errs_count(e) >= 6);
    /* an invoice that does not add up is refused */
    invoice inv;
    make_invoice(&inv);
    inv.lines[0].tax = M("129.99");
    assert_int_equal(voucher_from_invoice(&fin, &inv, &v, e), CPQD_EINVAL);
    invoice_fini(&inv);
    /* an account missing from the mapping */
    cat_finance broken = fin;
    broken.accounts.contract_liability = NULL;
    make_invoice(&inv);
    assert_int_equal(voucher_from_invoice(&broken, &inv, &v, e), CPQD_EINVAL);
    invoice_fini(&inv);
    errs_free(e);
}

static void test_voucher_check_detects_imbalance(void **state)
{
    (void)state;
    voucher_ref ref = {"X", NULL, NULL, D("2026-12-01")};
    voucher v;
    assert_int_equal(voucher_simple(&fin, VOUCHER_MATCH, &ref, "JPY", M("1000"), &v, NULL), 0);
    v.lines[1].credit = M("999");
    cpqd_errs *e = errs_new();
    assert_int_equal(voucher_check(&v, e), CPQD_EINTERNAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "does not balance"));
    v.lines[1].credit = M("1000");
    v.lines[1].debit = M("1");
    assert_int_equal(voucher_check(&v, e), CPQD_EINTERNAL);
    errs_free(e);
    voucher_fini(&v);
}

static void test_voucher_csv_rows(void **state)
{
    (void)state;
    invoice inv;
    make_invoice(&inv);
    voucher v;
    assert_int_equal(voucher_from_invoice(&fin, &inv, &v, NULL), 0);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(voucher_csv_rows(&v, "V-000001", &buf, &len), 0);
    voucher_fini(&v);
    voucher_ref ref = {"=HYPERLINK(\"x\")", "cust, \"quoted\"", NULL, D("2026-12-02")};
    assert_int_equal(voucher_simple(&fin, VOUCHER_PAYMENT, &ref, "CNY", M("5"), &v, NULL), 0);
    assert_int_equal(voucher_csv_rows(&v, "V-000002", &buf, &len), 0);
    assert_int_equal(len, strlen(buf));
    const char *want = "V-000001,2026-12-01,invoice,INV-SH-2026-000001,1,1122,1336.00,,CNY,cust-1,"
                       "C-2026-000001,\r\n"
                       "V-000001,2026-12-01,invoice,INV-SH-2026-000001,2,2204,,1088.50,CNY,cust-1,"
                       "C-2026-000001,machining_centres\r\n"
                       "V-000001,2026-12-01,invoice,INV-SH-2026-000001,3,2221.01,,141.50,CNY,cust-"
                       "1,C-2026-000001,standard\r\n"
                       "V-000001,2026-12-01,invoice,INV-SH-2026-000001,4,2204,,100.00,CNY,cust-1,C-"
                       "2026-000001,services\r\n"
                       "V-000001,2026-12-01,invoice,INV-SH-2026-000001,5,2221.06,,6.00,CNY,cust-1,"
                       "C-2026-000001,service\r\n"
                       "V-000002,2026-12-02,payment,\"'=HYPERLINK(\"\"x\"\")\",1,1002,5.00,,CNY,"
                       "\"cust, \"\"quoted\"\"\",,\r\n"
                       "V-000002,2026-12-02,payment,\"'=HYPERLINK(\"\"x\"\")\",2,2203,,5.00,CNY,"
                       "\"cust, \"\"quoted\"\"\",,\r\n";
    assert_string_equal(buf, want);
    assert_non_null(strstr(VOUCHER_CSV_HEADER, "voucher_no,date,kind,source,line_no,account"));
    free(buf);
    voucher_fini(&v);
    invoice_fini(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voucher_invoice),
        cmocka_unit_test(test_voucher_credit_note_for_a_credit),
        cmocka_unit_test(test_voucher_payments_matches_write_offs),
        cmocka_unit_test(test_voucher_revenue),
        cmocka_unit_test(test_voucher_bad_input),
        cmocka_unit_test(test_voucher_check_detects_imbalance),
        cmocka_unit_test(test_voucher_csv_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
