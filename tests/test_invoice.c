/*
 * Unit tests for invoice: lines with tax taken out of gross amounts per
 * tax class, per line and per document, in CNY, JPY and KWD; rounding
 * modes; credit notes and cancellations as exact mirrors; numbers; the
 * printable document and amounts in Chinese capital numerals; bad input.
 * Every expectation is computed by hand in the comment beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/invoice.h"

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

static const invoice_party issuer = {"ACME-SH",
                                     "上海示例科技有限公司 ACME Shanghai Co., Ltd.",
                                     "91310000MA1K000000",
                                     "上海市浦东新区张江路 1 号",
                                     "工商银行上海分行",
                                     "1001 2345 6789"};
static const invoice_party buyer = {
    "cust-1", "北京华信贸易有限公司", "91110000MA0000001X", NULL, NULL, NULL};

/* Two contract lines: a machine at 13% (standard), a service at 6%. */
static const invoice_src_line lines2[] = {
    {"L1",
     "CNC-VMC-850",
     "立式加工中心 VMC-850",
     "machining_centres",
     "台",
     {1, 0},
     "standard",
     {13, 2}},
    {"L2", "CNC-SVC-INSTALL", "安装调试 Installation", "services", NULL, {1, 0}, "service", {6, 2}},
};

static invoice_request req(const char *cur, const invoice_src_item *items, size_t n,
                           bool per_document, money_round mode)
{
    return (invoice_request){INVOICE_KIND_INVOICE,
                             "INV-SH-2026-000001",
                             cur,
                             D("2026-12-01"),
                             &issuer,
                             &buyer,
                             "c_1",
                             "C-2026-000001",
                             {per_document, mode},
                             lines2,
                             2,
                             items,
                             n};
}

static void build_ok(const invoice_request *r, invoice *inv)
{
    cpqd_errs *e = errs_new();
    int rc = invoice_build(r, inv, e);
    for (size_t i = 0; i < errs_count(e); i++)
        fprintf(stderr, "unexpected: %s\n", errs_get(e, i)->msg);
    assert_int_equal(rc, 0);
    assert_int_equal(invoice_check(inv, e), 0);
    errs_free(e);
}

/* Builds r expecting failure; every expected message must be reported. */
static void build_fails(const invoice_request *r, const char *const *want, size_t n)
{
    cpqd_errs *e = errs_new();
    invoice inv;
    memset(&inv, 0x5a, sizeof(inv));
    assert_int_equal(invoice_build(r, &inv, e), CPQD_EINVAL);
    assert_null(inv.lines); /* nothing half built is left */
    assert_int_equal(inv.nlines, 0);
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        for (size_t i = 0; i < errs_count(e) && !found; i++)
            found = strstr(errs_get(e, i)->msg, want[k]) != NULL;
        if (!found)
            fail_msg("expected an error containing '%s' (%zu errors)", want[k], errs_count(e));
    }
    errs_free(e);
}

/* ---- tax per line and per document ---- */

static void test_invoice_per_line_tax_by_class(void **state)
{
    (void)state;
    const invoice_src_item items[] = {
        {"r_1", 0, M("1130.00"), D("2026-12-31"), "30% on signing", NULL, {0, 0}},
        {"r_2", 1, M("106.00"), D("2026-12-15"), NULL, NULL, {0, 0}},
        {"r_3", 0, M("100.00"), D("2027-01-31"), "retention", NULL, {0, 0}},
    };
    invoice_request r = req("CNY", items, 3, false, MONEY_HALF_EVEN);
    invoice inv;
    build_ok(&r, &inv);
    assert_int_equal(inv.nlines, 3);
    /* 1130.00 x 0.13 / 1.13 = 130.00 exactly */
    assert_money(inv.lines[0].tax, "130.00");
    assert_money(inv.lines[0].net, "1000.00");
    /* 106.00 x 0.06 / 1.06 = 6.00 */
    assert_money(inv.lines[1].tax, "6.00");
    assert_money(inv.lines[1].net, "100.00");
    /* 100.00 x 0.13 / 1.13 = 11.5044... -> 11.50; net 88.50 */
    assert_money(inv.lines[2].tax, "11.50");
    assert_money(inv.lines[2].net, "88.50");
    assert_money(inv.total, "1336.00"); /* = the items: 1130 + 106 + 100 */
    assert_money(inv.tax, "147.50");
    assert_money(inv.net, "1188.50");
    assert_int_equal(inv.ntaxes, 2);
    assert_string_equal(inv.taxes[0].tax_class, "standard");
    assert_money(inv.taxes[0].gross, "1230.00");
    assert_money(inv.taxes[0].tax, "141.50");
    assert_money(inv.taxes[0].net, "1088.50");
    assert_string_equal(inv.taxes[1].tax_class, "service");
    assert_money(inv.taxes[1].tax, "6.00");
    /* the earliest due date of the items */
    char d[DATE_FMT_LEN];
    date_format(inv.due_on, d);
    assert_string_equal(d, "2026-12-15");
    assert_string_equal(inv.lines[0].category, "machining_centres");
    assert_string_equal(inv.lines[0].item_id, "r_1");
    invoice_fini(&inv);
    invoice_fini(&inv); /* twice is harmless */
}

/* Five items of 1.00 at 13%: per line each holds 0.115044 -> 0.12 (0.60
 * in all); per document the class holds 5.00 x 0.13 / 1.13 = 0.575221 ->
 * 0.58, allocated by gross: 0.116 each -> 0.11 x 5 = 0.55 and the three
 * missing cents to the first three (equal remainders, earliest first). */
static void test_invoice_per_document_differs_from_per_line(void **state)
{
    (void)state;
    invoice_src_item items[5];
    const char *ids[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        items[i] = (invoice_src_item){ids[i], 0, M("1.00"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("CNY", items, 5, false, MONEY_HALF_EVEN);
    invoice inv;
    build_ok(&r, &inv);
    assert_money(inv.tax, "0.60");
    invoice_fini(&inv);
    r.tax_rule.per_document = true;
    build_ok(&r, &inv);
    assert_money(inv.tax, "0.58");
    const char *want[] = {"0.12", "0.12", "0.12", "0.11", "0.11"};
    for (int i = 0; i < 5; i++)
        assert_money(inv.lines[i].tax, want[i]);
    assert_money(inv.lines[4].net, "0.89");
    assert_money(inv.total, "5.00");
    invoice_fini(&inv);
}

/* JPY has no minor unit, KWD three. */
static void test_invoice_jpy_and_kwd_places(void **state)
{
    (void)state;
    /* 1000 JPY at 10%: 90.909 -> 91, net 909 */
    invoice_src_line l = {"L1", "X", "x", "cat", NULL, {1, 0}, "std", {10, 2}};
    invoice_src_item it = {"r", 0, M("1000"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("JPY", &it, 1, false, MONEY_HALF_EVEN);
    r.lines = &l;
    r.nlines = 1;
    invoice inv;
    build_ok(&r, &inv);
    assert_money(inv.tax, "91");
    assert_money(inv.net, "909");
    assert_money(inv.total, "1000");
    invoice_fini(&inv);
    /* 1.000 KWD at 5%: 0.047619 -> 0.048, net 0.952 (1 KWD written "1":
     * widened to 1.000) */
    l.tax_rate = M("0.05");
    it.amount = M("1");
    r.currency = "KWD";
    build_ok(&r, &inv);
    assert_money(inv.tax, "0.048");
    assert_money(inv.net, "0.952");
    assert_money(inv.total, "1.000");
    invoice_fini(&inv);
}

/* The catalog's mode decides an exact half: 0.12 at 60% holds 0.12 x 0.6
 * / 1.6 = 0.045: half-even 0.04, half-up 0.05. */
static void test_invoice_rounding_mode_on_exact_half(void **state)
{
    (void)state;
    invoice_src_line l = {"L1", "X", "x", "cat", NULL, {1, 0}, "odd", {60, 2}};
    invoice_src_item it = {"r", 0, M("0.12"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("CNY", &it, 1, false, MONEY_HALF_EVEN);
    r.lines = &l;
    r.nlines = 1;
    invoice inv;
    build_ok(&r, &inv);
    assert_money(inv.tax, "0.04");
    invoice_fini(&inv);
    r.tax_rule.mode = MONEY_HALF_UP;
    build_ok(&r, &inv);
    assert_money(inv.tax, "0.05");
    assert_money(inv.net, "0.07");
    invoice_fini(&inv);
}

/* A bundled service may be taxed at its own class. */
static void test_invoice_item_tax_class_override(void **state)
{
    (void)state;
    /* 212.00 on the machine line but taxed as a service at 6%: 12.00 */
    invoice_src_item it = {"r",       0,        M("212.00"), D("2026-12-31"), "installation",
                           "service", M("0.06")};
    invoice_request r = req("CNY", &it, 1, false, MONEY_HALF_EVEN);
    invoice inv;
    build_ok(&r, &inv);
    assert_string_equal(inv.lines[0].tax_class, "service");
    assert_money(inv.lines[0].tax, "12.00");
    assert_string_equal(inv.lines[0].sku, "CNC-VMC-850");
    invoice_fini(&inv);
}

/* ---- credit notes ---- */

/* A seat-change credit of -106.45 at 6%: 106.45 x 0.06 / 1.06 = 6.0254...
 * -> 6.03 mirrored: tax -6.03, net -100.42. With mode floor the absolute
 * value is floored (6.02), never -6.03 (the floor of -6.0254). */
static void test_invoice_credit_note_mirrors(void **state)
{
    (void)state;
    invoice_src_item it = {"r_c", 1,     M("-106.45"), D("2027-07-21"), "credit 11/31 days",
                           NULL,  {0, 0}};
    invoice_request r = req("CNY", &it, 1, false, MONEY_HALF_EVEN);
    r.kind = INVOICE_KIND_CREDIT_NOTE;
    r.number = "CN-SH-2027-000001";
    invoice inv;
    build_ok(&r, &inv);
    assert_int_equal(inv.kind, INVOICE_KIND_CREDIT_NOTE);
    assert_int_equal(inv.reason, INVOICE_REASON_CREDIT);
    assert_money(inv.lines[0].tax, "-6.03");
    assert_money(inv.lines[0].net, "-100.42");
    assert_money(inv.total, "-106.45");
    assert_int_equal(inv.due_on, inv.issued_on);
    invoice_fini(&inv);
    r.tax_rule.mode = MONEY_FLOOR;
    build_ok(&r, &inv);
    assert_money(inv.lines[0].tax, "-6.02");
    invoice_fini(&inv);
}

/* Cancelling two of the five per-document lines mirrors their allocated
 * taxes exactly (0.12 and 0.11), whatever a recomputation would give. */
static void test_invoice_cancel_mirrors_lines_exactly(void **state)
{
    (void)state;
    invoice_src_item items[5];
    const char *ids[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        items[i] = (invoice_src_item){ids[i], 0, M("1.00"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("CNY", items, 5, true, MONEY_HALF_EVEN);
    invoice inv, cn;
    build_ok(&r, &inv);
    const char *pick[] = {"b", "d"};
    cpqd_errs *e = errs_new();
    assert_int_equal(invoice_cancel(&inv, pick, 2, "CN-SH-2026-000001", D("2026-12-05"), &cn, e),
                     0);
    assert_int_equal(invoice_check(&cn, e), 0);
    assert_int_equal(cn.reason, INVOICE_REASON_CANCELLATION);
    assert_string_equal(cn.original, "INV-SH-2026-000001");
    assert_int_equal(cn.nlines, 2);
    assert_money(cn.lines[0].tax, "-0.12");
    assert_money(cn.lines[1].tax, "-0.11");
    assert_money(cn.total, "-2.00");
    assert_money(cn.tax, "-0.23");
    invoice_fini(&cn);
    /* all lines: the document nets to zero in every class */
    assert_int_equal(invoice_cancel(&inv, NULL, 0, "CN-SH-2026-000002", D("2026-12-05"), &cn, e),
                     0);
    money_dec s;
    assert_int_equal(money_add(inv.tax, cn.tax, &s), 0);
    assert_true(money_is_zero(s));
    assert_int_equal(money_add(inv.total, cn.total, &s), 0);
    assert_true(money_is_zero(s));
    invoice_fini(&cn);
    /* an id not on the invoice, or twice: nothing is built */
    const char *bad[] = {"b", "zz", "b"};
    assert_int_equal(invoice_cancel(&inv, bad, 3, "CN-SH-2026-000003", D("2026-12-05"), &cn, e),
                     CPQD_EINVAL);
    assert_null(cn.lines);
    bool saw_missing = false, saw_twice = false;
    for (size_t i = 0; i < errs_count(e); i++) {
        saw_missing |= strstr(errs_get(e, i)->msg, "item zz is not on invoice") != NULL;
        saw_twice |= strstr(errs_get(e, i)->msg, "item b: listed twice") != NULL;
    }
    assert_true(saw_missing && saw_twice);
    /* a credit note cannot be cancelled */
    invoice cn2;
    assert_int_equal(invoice_cancel(&inv, NULL, 0, "CN-SH-2026-000004", D("2026-12-05"), &cn, e),
                     0);
    assert_int_equal(invoice_cancel(&cn, NULL, 0, "CN-SH-2026-000005", D("2026-12-05"), &cn2, e),
                     CPQD_EINVAL);
    invoice_fini(&cn);
    invoice_fini(&inv);
    errs_free(e);
}

/* ---- bad input ---- */

static void test_invoice_bad_items_are_all_reported(void **state)
{
    (void)state;
    const invoice_src_item items[] = {
        {"r_1", 0, M("-10.00"), D("2026-12-31"), NULL, NULL, {0, 0}},
        {"r_2", 5, M("10.00"), D("2026-12-31"), NULL, NULL, {0, 0}},
        {"r_3", 0, M("10.005"), D("2026-12-31"), NULL, NULL, {0, 0}},
        {"r_4", 0, M("10.00"), INVOICE_NO_DATE, NULL, NULL, {0, 0}},
        {"r_1", 0, M("1.00"), D("2026-12-31"), NULL, NULL, {0, 0}},
        {"r_6", 0, M("1.00"), D("2026-12-31"), NULL, "odd", M("1.00")},
    };
    invoice_request r = req("CNY", items, 6, false, MONEY_HALF_EVEN);
    const char *want[] = {"item r_1: a credit (negative amount) goes on a credit note",
                          "item r_2: line 5 does not exist",
                          "item r_3: amount has more places than CNY allows (2)",
                          "item r_4: its due date is not known yet",
                          "item r_1: listed twice",
                          "item r_6: tax rate must be at least 0 and below 1"};
    build_fails(&r, want, 6);
}

static void test_invoice_bad_request(void **state)
{
    (void)state;
    const invoice_src_item it = {"r", 0, M("1000"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("XYZ", &it, 1, false, MONEY_HALF_EVEN);
    r.number = "";
    const char *want[] = {"unknown currency 'XYZ'", "a document needs a number"};
    build_fails(&r, want, 2);
    /* 1000.5 JPY has a place JPY does not have */
    const invoice_src_item half = {"r", 0, M("1000.5"), D("2026-12-31"), NULL, NULL, {0, 0}};
    r = req("JPY", &half, 1, false, MONEY_HALF_EVEN);
    const char *want2[] = {"item r: amount has more places than JPY allows (0)"};
    build_fails(&r, want2, 1);
    /* a positive item on a credit note; nothing to invoice */
    r = req("CNY", &it, 1, false, MONEY_HALF_EVEN);
    r.kind = INVOICE_KIND_CREDIT_NOTE;
    const char *want3[] = {"item r: a charge (positive amount) goes on an invoice"};
    build_fails(&r, want3, 1);
    const invoice_src_item zero = {"r", 0, M("0.00"), D("2026-12-31"), NULL, NULL, {0, 0}};
    r = req("CNY", &zero, 1, false, MONEY_HALF_EVEN);
    const char *want4[] = {"the items add up to 0: nothing to invoice"};
    build_fails(&r, want4, 1);
    r = req("CNY", NULL, 0, false, MONEY_HALF_EVEN);
    r.customer = NULL;
    const char *want5[] = {"at least one item", "an issuer and a customer"};
    build_fails(&r, want5, 2);
}

/* invoice_check catches a document that does not add up. */
static void test_invoice_check_detects_tampering(void **state)
{
    (void)state;
    const invoice_src_item it = {"r", 0, M("1130.00"), D("2026-12-31"), NULL, NULL, {0, 0}};
    invoice_request r = req("CNY", &it, 1, false, MONEY_HALF_EVEN);
    invoice inv;
    build_ok(&r, &inv);
    inv.lines[0].tax = M("129.99");
    cpqd_errs *e = errs_new();
    assert_int_equal(invoice_check(&inv, e), CPQD_EINTERNAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "net + tax is not its gross"));
    inv.lines[0].tax = M("130.00");
    inv.total = M("1130.01");
    assert_int_equal(invoice_check(&inv, e), CPQD_EINTERNAL);
    errs_free(e);
    invoice_fini(&inv);
}

/* ---- numbers ---- */

static void test_invoice_number_format(void **state)
{
    (void)state;
    char b[INVOICE_NUMBER_MAX];
    assert_int_equal(invoice_number_format("INV-SH", 2026, 42, b, sizeof(b)), 18);
    assert_string_equal(b, "INV-SH-2026-000042");
    assert_int_equal(invoice_number_format("CN", 2027, 1234567, b, sizeof(b)), 15);
    assert_string_equal(b, "CN-2027-1234567");
    assert_int_equal(invoice_number_format("INV", 2026, 0, b, sizeof(b)), CPQD_EINVAL);
    assert_int_equal(invoice_number_format("", 2026, 1, b, sizeof(b)), CPQD_EINVAL);
    assert_int_equal(invoice_number_format("INV", 10000, 1, b, sizeof(b)), CPQD_EINVAL);
    assert_int_equal(invoice_number_format("INV", 2026, 1, b, 10), CPQD_ERANGE);
    assert_string_equal(invoice_kind_name(INVOICE_KIND_CREDIT_NOTE), "credit_note");
    assert_string_equal(invoice_reason_name(INVOICE_REASON_CANCELLATION), "cancellation");
    assert_null(invoice_kind_name((invoice_kind)7));
}

/* ---- the printable document ---- */

static void words(const char *amount, const char *want)
{
    char b[256];
    int n = invoice_amount_zh(M(amount), b, sizeof(b));
    assert_true(n > 0);
    assert_string_equal(b, want);
    assert_int_equal((size_t)n, strlen(want));
}

static void test_invoice_amount_in_chinese_capitals(void **state)
{
    (void)state;
    words("1680.32", "壹仟陆佰捌拾元叁角贰分");
    words("100.00", "壹佰元整");
    words("10", "壹拾元整");
    words("0.05", "伍分");
    words("0.50", "伍角整");
    words("1.05", "壹元零伍分");
    words("1001", "壹仟零壹元整");
    words("100005.00", "壹拾万零伍元整");
    words("100010000", "壹亿零壹万元整");
    words("1000000", "壹佰万元整");
    words("12345678.90", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整");
    words("0", "零元整");
    words("-12.30", "负壹拾贰元叁角整");
    char b[256];
    assert_int_equal(invoice_amount_zh(M("1.005"), b, sizeof(b)), CPQD_EINVAL);
    assert_int_equal(invoice_amount_zh(M("10000000000000000"), b, sizeof(b)), CPQD_ERANGE);
    assert_int_equal(invoice_amount_zh(M("1680.32"), b, 8), CPQD_ERANGE);
}

static void test_invoice_render_html_escapes_and_labels(void **state)
{
    (void)state;
    invoice_party evil = {"c-x", "<script>alert(1)</script> & Co", NULL, NULL, NULL, NULL};
    const invoice_src_item items[] = {
        {"r_1", 0, M("1130.00"), D("2026-12-31"), "30% \"on\" signing", NULL, {0, 0}},
        {"r_2", 1, M("106.00"), D("2026-12-15"), NULL, NULL, {0, 0}},
    };
    invoice_request r = req("CNY", items, 2, false, MONEY_HALF_EVEN);
    r.customer = &evil;
    invoice inv;
    build_ok(&r, &inv);
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(invoice_render_html(&inv, INVOICE_LANG_BILINGUAL, &html, &len), 0);
    assert_int_equal(len, strlen(html));
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
    assert_non_null(strstr(html, "30% &quot;on&quot; signing"));
    assert_non_null(strstr(html, "发票 Invoice"));
    assert_non_null(strstr(html, "INV-SH-2026-000001"));
    assert_non_null(strstr(html, "1,236.00")); /* total with separators */
    assert_non_null(strstr(html, "13%"));
    assert_non_null(strstr(html, "壹仟贰佰叁拾陆元整")); /* 1,236.00 in words */
    assert_non_null(strstr(html, "2026-12-15"));         /* due: the earliest item */
    free(html);
    assert_int_equal(invoice_render_html(&inv, INVOICE_LANG_EN, &html, &len), 0);
    assert_null(strstr(html, "发票"));
    assert_null(strstr(html, "壹"));
    assert_non_null(strstr(html, "Tax rate"));
    free(html);
    assert_int_equal(invoice_render_html(&inv, (invoice_lang)9, &html, &len), CPQD_EINVAL);
    invoice_fini(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invoice_per_line_tax_by_class),
        cmocka_unit_test(test_invoice_per_document_differs_from_per_line),
        cmocka_unit_test(test_invoice_jpy_and_kwd_places),
        cmocka_unit_test(test_invoice_rounding_mode_on_exact_half),
        cmocka_unit_test(test_invoice_item_tax_class_override),
        cmocka_unit_test(test_invoice_credit_note_mirrors),
        cmocka_unit_test(test_invoice_cancel_mirrors_lines_exactly),
        cmocka_unit_test(test_invoice_bad_items_are_all_reported),
        cmocka_unit_test(test_invoice_bad_request),
        cmocka_unit_test(test_invoice_check_detects_tampering),
        cmocka_unit_test(test_invoice_number_format),
        cmocka_unit_test(test_invoice_amount_in_chinese_capitals),
        cmocka_unit_test(test_invoice_render_html_escapes_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
