/*
 * Unit tests for cat: loading, validation errors with exact positions,
 * lookups, attribute values, versions and the current-snapshot swap.
 * Run from the repository root (CPQD_ROOT), fixtures in tests/data/cat and
 * tests/data/check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/cat.h"
#include "cat_int.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <pcre2.h>
#include <string.h>
#include <unistd.h>

#define GOOD "tests/data/cat/good"
#define RULES "tests/data/cat/rules"
#define CHECK "tests/data/check"

static cat_snapshot *load_ok(const char *path)
{
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(path, RULES, e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(errs_count(e), 0);
    assert_non_null(s);
    errs_free(e);
    return s;
}

/* Loads path expecting failure; returns the sorted, formatted errors
 * joined by newlines (malloc'ed). */
static char *load_errors(const char *path)
{
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(path, RULES, e);
    assert_null(s);
    assert_true(errs_count(e) > 0);
    errs_sort(e);
    size_t cap = 1, len = 0;
    char *all = calloc(1, 1);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        cap += strlen(m) + 1;
        all = realloc(all, cap);
        len += (size_t)sprintf(all + len, "%s\n", m);
        free(m);
    }
    errs_free(e);
    return all;
}

static void expect_error(const char *file, const char *expected)
{
    char path[256];
    snprintf(path, sizeof(path), CHECK "/%s", file);
    char *all = load_errors(path);
    if (!strstr(all, expected))
        fail_msg("expected error\n  %s\nin\n%s", expected, all);
    free(all);
}

static void test_cat_loads_every_feature(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(GOOD);
    assert_int_equal(cat_snapshot_catalog_count(s), 1);
    const cat_catalog *c = cat_snapshot_catalog_at(s, 0);
    assert_string_equal(c->id, "demo");
    assert_string_equal(c->currency, "CNY");
    assert_int_equal(c->rounding, MONEY_HALF_EVEN);
    assert_true(c->tax_per_document);
    assert_false(c->prices_include_tax);
    assert_int_equal(c->ntax_classes, 2);
    assert_int_equal(cat_snapshot_product_count(s), 10);
    assert_int_equal(c->nbooks, 3);
    assert_int_equal(c->npromotions, 2);
    assert_int_equal(c->npartners, 1);
    assert_int_equal(c->nterms, 1);
    assert_int_equal(c->nfx_rates, 1);
    assert_int_equal(strlen(cat_snapshot_version(s)), 64);
    cat_snapshot_release(s);
}

static void test_cat_product_lookup_and_bom(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(GOOD);
    const cat_product *p = cat_snapshot_product(s, "MX-100", 6);
    assert_non_null(p);
    /* UTF-8 names are kept byte for byte */
    assert_string_equal(p->name, "\xe4\xba\x94\xe8\xbd\xb4\xe5\x8a\xa0\xe5\xb7\xa5\xe4\xb8\xad"
                                 "\xe5\xbf\x83 5-axis machining centre");
    assert_int_equal(p->delivery.mode, CAT_MODE_GOODS_WITH_SERVICE);
    assert_int_equal(p->delivery.nservice_items, 1);
    assert_int_equal(p->delivery.acceptance_days, 30);
    assert_int_equal(p->ngroups, 2);
    assert_int_equal(p->nconstraints, 6);
    assert_int_equal(p->constraints[0].kind, CAT_CON_REQUIRES);
    assert_int_equal(p->constraints[0].nif, 1);
    assert_int_equal(p->constraints[2].kind, CAT_CON_TABLE);
    assert_int_equal(p->constraints[2].nrows, 3);
    assert_int_equal(p->constraints[3].kind, CAT_CON_IF);
    assert_int_equal(p->constraints[3].lits[1].op, CAT_LIT_IN);
    const cat_option *pro = &p->groups[1].options[1];
    assert_string_equal(pro->sku, "CTL-PRO");
    assert_true(pro->ranged);
    assert_int_equal(pro->qty_max.coef, 2);
    /* third level: CTL-PRO's own io group */
    assert_non_null(pro->product);
    assert_string_equal(pro->product->groups[0].id, "io");
    assert_string_equal(pro->product->groups[0].options[0].product->sku, "IO-16");
    assert_int_equal(pro->product->groups[0].options[0].qty.coef, 2);
    assert_string_equal(p->tax_class, "standard");
    assert_string_equal(cat_snapshot_product(s, "IO-16", 5)->tax_class, "standard");
    assert_null(cat_snapshot_product(s, "MX-10", 5));
    assert_null(cat_snapshot_product(s, "MX-1000", 7));
    cat_snapshot_release(s);
}

static void test_cat_price_entries(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(GOOD);
    const cat_product *p = cat_snapshot_product(s, "MX-100", 6);
    cat_price_ref refs[8];
    assert_int_equal(cat_snapshot_prices(s, p, refs, 8), 4);
    assert_int_equal(refs[0].entry->list.coef, 128000000);
    assert_true(refs[0].entry->has_cost);
    assert_true(refs[0].book->clamp);
    assert_int_equal(refs[2].book->audience, CAT_AUD_SEGMENT);
    assert_string_equal(refs[2].book->currency, "USD");
    const cat_product *api = cat_snapshot_product(s, "API-CALL", 8);
    assert_int_equal(cat_snapshot_prices(s, api, refs, 8), 1);
    assert_int_equal(refs[0].entry->list.coef, 35);
    assert_int_equal(refs[0].entry->list.scale, 4);
    assert_int_equal(refs[0].entry->tier_type, CAT_TIER_BLOCK);
    assert_int_equal(refs[0].entry->block_size, 1000);
    cat_snapshot_release(s);
}

/* The sample catalogs serve `make run` on any future date: every sellable
 * product has a list-book entry (audience all) open at the end, in a book
 * open at the end. Dated windows stay beside it as examples. */
static void test_cat_samples_price_every_sellable_product_forever(void **state)
{
    (void)state;
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load("catalogs", "rules", e);
    assert_non_null(s);
    errs_free(e);
    size_t missing = 0;
    for (size_t i = 0; i < cat_snapshot_product_count(s); i++) {
        const cat_product *p = cat_snapshot_product_at(s, i);
        if (!p->sellable)
            continue;
        cat_price_ref refs[64];
        size_t n = cat_snapshot_prices(s, p, refs, 64);
        bool open = false;
        for (size_t k = 0; k < n && k < 64 && !open; k++)
            open = refs[k].book->audience == CAT_AUD_ALL && !refs[k].book->has_valid_to &&
                   !refs[k].entry->has_valid_to;
        if (!open) {
            fprintf(stderr, "%s: no open-ended list price\n", p->sku);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
    cat_snapshot_release(s);
}

/* Two sample catalogs carry a finance section (docs/finance.md), of two
 * issuers with their own numbers. */
static void test_cat_samples_finance_sections(void **state)
{
    (void)state;
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load("catalogs", "rules", e);
    assert_non_null(s);
    errs_free(e);
    size_t with = 0;
    for (size_t i = 0; i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *c = cat_snapshot_catalog_at(s, i);
        if (!c->finance)
            continue;
        with++;
        if (!strcmp(c->id, "cnc")) {
            assert_string_equal(c->finance->issuer.id, "ACME-SH");
            assert_string_equal(cat_finance_revenue_account(c->finance, "services"), "6051");
            assert_string_equal(cat_finance_revenue_account(c->finance, "lathes"), "6001.01");
            assert_string_equal(cat_finance_tax_account(c->finance, "service"), "2221.01.06");
        } else {
            assert_string_equal(c->id, "saas");
            assert_string_equal(c->finance->issuer.invoice_prefix, "INV-CL");
            assert_int_equal(c->finance->issue, CAT_INVOICE_ON_BILL_DATE);
        }
    }
    assert_int_equal(with, 2);
    cat_snapshot_release(s);
}

static void test_cat_attr_value_check(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(GOOD);
    const cat_catalog *c = cat_snapshot_catalog_at(s, 0);
    const char *why = NULL;
    assert_int_equal(cat_attr_value_check(&c->attrs[0], "red", 3, &why), 0);
    assert_int_equal(cat_attr_value_check(&c->attrs[0], "blue", 4, &why), CPQD_EINVAL);
    assert_int_equal(cat_attr_value_check(&c->attrs[1], "380", 3, &why), 0);
    assert_int_equal(cat_attr_value_check(&c->attrs[1], "300", 3, &why), CPQD_EINVAL);
    assert_non_null(strstr(why, "step"));
    assert_int_equal(cat_attr_value_check(&c->attrs[1], "540", 3, &why), CPQD_EINVAL);
    assert_int_equal(cat_attr_value_check(&c->attrs[1], "380.0", 5, &why), CPQD_EINVAL);
    assert_int_equal(cat_attr_value_check(&c->attrs[2], "2.5", 3, &why), 0);
    assert_int_equal(cat_attr_value_check(&c->attrs[2], "2.25", 4, &why), CPQD_EINVAL);
    assert_int_equal(cat_attr_value_check(&c->attrs[3], "SH-0021", 7, &why), 0);
    assert_int_equal(cat_attr_value_check(&c->attrs[3], "SH-0021x", 8, &why), CPQD_EINVAL);
    assert_int_equal(cat_attr_value_check(&c->attrs[3], "xSH-0021", 8, &why), CPQD_EINVAL);
    cat_snapshot_release(s);
}

static void test_cat_version_is_content_hash(void **state)
{
    (void)state;
    cat_snapshot *a = load_ok(GOOD);
    cat_snapshot *b = load_ok(GOOD);
    assert_string_equal(cat_snapshot_version(a), cat_snapshot_version(b));
    cat_snapshot *c = load_ok(CHECK "/ok.yaml");
    assert_string_not_equal(cat_snapshot_version(a), cat_snapshot_version(c));
    cat_snapshot_release(a);
    cat_snapshot_release(b);
    cat_snapshot_release(c);
}

static void test_cat_current_swap_keeps_old_alive(void **state)
{
    (void)state;
    assert_null(cat_current_acquire());
    cat_current_publish_take(load_ok(GOOD));
    cat_snapshot *held = cat_current_acquire();
    cat_current_publish_take(load_ok(CHECK "/ok.yaml"));
    /* the old snapshot stays readable while a request holds it */
    assert_non_null(cat_snapshot_product(held, "MX-100", 6));
    cat_snapshot *now = cat_current_acquire();
    assert_null(cat_snapshot_product(now, "MX-100", 6));
    cat_snapshot_release(held);
    cat_snapshot_release(now);
    cat_current_publish_take(NULL);
}

/* ---- one test per `cpqd check` error class, exact positions ---- */

static void test_check_yaml_syntax(void **s)
{
    (void)s;
    expect_error("syntax.yaml", CHECK "/syntax.yaml:14:1: YAML syntax error");
}

static void test_check_unknown_key(void **s)
{
    (void)s;
    expect_error("unknown_key.yaml", CHECK "/unknown_key.yaml:13:5: unknown key 'colour' in product");
}

static void test_check_wrong_type(void **s)
{
    (void)s;
    expect_error("wrong_type.yaml", CHECK "/wrong_type.yaml:10:11: name must be a scalar, not a sequence");
}

static void test_check_missing_field(void **s)
{
    (void)s;
    expect_error("missing_field.yaml", CHECK "/missing_field.yaml:9:5: missing required key 'category'");
}

static void test_check_missing_category_and_category_rules(void **s)
{
    (void)s;
    /* the product without a category is still checked against the
     * promotion's categories: both errors, no crash */
    expect_error("missing_category_promo.yaml",
                 CHECK "/missing_category_promo.yaml:12:5: missing required key 'category'");
    expect_error("missing_category_promo.yaml",
                 CHECK "/missing_category_promo.yaml:16:5: promotion 'p1': no product has category 'widgets'");
}

static void test_check_unknown_promotion_effect(void **s)
{
    (void)s;
    expect_error("unknown_effect.yaml",
                 CHECK "/unknown_effect.yaml:20:14: unknown key 'Amount_off' in effect");
}

static void test_check_duplicate_sku(void **s)
{
    (void)s;
    expect_error("dup_sku.yaml", CHECK "/dup_sku.yaml:13:5: duplicate SKU 'A-1' (first defined at " CHECK "/dup_sku.yaml:9)");
}

static void test_check_unknown_product(void **s)
{
    (void)s;
    expect_error("unknown_product.yaml", CHECK "/unknown_product.yaml:16:19: option refers to unknown product 'NOPE-1'");
}

/* Options are looked up in batches of products: a product with more
 * options than a batch holds, and unknown SKUs among many known ones,
 * each reported where it is, every option of the big product resolved. */
static void test_cat_options_in_batches(void **s)
{
    (void)s;
    char *dir = tu_tmpdir(), *yaml = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&yaml, &len);
    fputs("catalog:\n  id: wide\n  version: \"1\"\n  name: Wide\n  currency: CNY\n"
          "  timezone: Asia/Shanghai\n  tax: {prices_include_tax: true, classes: {s: \"0.1\"}}\n"
          "products:\n", f);
    for (int i = 0; i < 600; i++)
        fprintf(f, "  - {sku: L%03d, name: L, category: c, delivery: {mode: goods}}\n", i);
    for (int b = 0; b < 2; b++) {
        fprintf(f, "  - sku: WIDE-%d\n    name: W\n    category: c\n    delivery: {mode: goods}\n"
                   "    groups:\n      - id: g\n        name: G\n        min: 0\n        max: 1\n"
                   "        options:\n", b);
        for (int i = 0; i < 300; i++)
            fprintf(f, "          - {sku: %s%03d}\n", b && (i == 7 || i == 299) ? "NOPE" : "L",
                    b ? 599 - i : i);
    }
    fclose(f);
    assert_int_equal(tu_write(dir, "wide.yaml", yaml), 0);
    char *all = load_errors(dir);
    /* WIDE-1's options start at line 8 (products:) + 600 + 10 + 300 + 10 + 1 */
    char want[512];
    snprintf(want, sizeof(want),
             "%s/wide.yaml:936:13: option refers to unknown product 'NOPE592'\n"
             "%s/wide.yaml:1228:13: option refers to unknown product 'NOPE300'\n",
             dir, dir);
    assert_string_equal(all, want);
    free(all);
    /* without the unknown ones: every option is its product */
    for (char *p = strstr(yaml, "NOPE"); p; p = strstr(p, "NOPE"))
        memmove(p + 1, p + 4, strlen(p + 4) + 1); /* NOPE592 -> N592 */
    for (char *p = strstr(yaml, "{sku: N"); p; p = strstr(p, "{sku: N"))
        p[6] = 'L';
    assert_int_equal(tu_write(dir, "wide.yaml", yaml), 0);
    cpqd_errs *e = errs_new();
    cat_snapshot *snap = cat_snapshot_load_path(dir, RULES, e);
    assert_non_null(snap);
    for (int b = 0; b < 2; b++) {
        char sku[24];
        snprintf(sku, sizeof(sku), "WIDE-%d", b);
        const cat_product *w = cat_snapshot_product(snap, sku, strlen(sku));
        assert_non_null(w);
        assert_int_equal(w->groups[0].noptions, 300);
        for (size_t i = 0; i < 300; i++) {
            const cat_option *o = &w->groups[0].options[i];
            assert_non_null(o->product);
            assert_string_equal(o->product->sku, o->sku);
        }
    }
    cat_snapshot_release(snap);
    errs_free(e);
    free(yaml);
    tu_rm_tree(dir);
    free(dir);
}

static void test_check_bom_cycle(void **s)
{
    (void)s;
    expect_error("cycle.yaml", CHECK "/cycle.yaml:24:19: BOM cycle: A-1 contains itself (A-1 -> B-1 -> A-1)");
}

static void test_check_unknown_attribute(void **s)
{
    (void)s;
    expect_error("unknown_attribute.yaml", CHECK "/unknown_attribute.yaml:13:24: unknown attribute 'size'");
}

static void test_check_missing_rule_file(void **s)
{
    (void)s;
    expect_error("missing_rule.yaml", CHECK "/missing_rule.yaml:9:5: rule file '" RULES "/missing/none.lua' does not exist");
}

static void test_check_rule_that_does_not_compile(void **s)
{
    (void)s;
    expect_error("bad_rule.yaml", RULES "/broken/syntax.lua:4:0: unexpected symbol near <eof>");
}

/* Bytes that are not UTF-8 are reported at their own line and column
 * (not at 1:1), every one of them. */
static void test_check_invalid_utf8_has_its_position(void **s)
{
    (void)s;
    char *all = load_errors(CHECK "/bad_utf8.yaml");
    assert_string_equal(all,
                        CHECK "/bad_utf8.yaml:11:18: invalid UTF-8 (catalog files are UTF-8 text): "
                              "byte 0xE9\n"
                        CHECK "/bad_utf8.yaml:13:20: invalid UTF-8 (catalog files are UTF-8 text): "
                              "byte 0xE9\n"
                        CHECK "/bad_utf8.yaml:13:22: invalid UTF-8 (catalog files are UTF-8 text): "
                              "byte 0xE0\n");
    free(all);
}

/* A control character, refused by libyaml's reader, is reported at its
 * position too. */
static void test_check_control_character_has_its_position(void **s)
{
    (void)s;
    expect_error("control_char.yaml",
                 CHECK "/control_char.yaml:4:14: YAML syntax error: control characters are not "
                       "allowed");
}

/* Every rule a catalog refers to is compiled once, at load. */
static void test_cat_rules_compiled_at_load(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(GOOD);
    assert_int_equal(cat_snapshot_rule_count(s), 2);
    const rules_chunk *f = cat_snapshot_rule(s, "demo/formula.lua");
    assert_non_null(f);
    assert_string_equal(rules_chunk_name(f), RULES "/demo/formula.lua");
    assert_non_null(cat_snapshot_rule(s, "demo/limit.lua"));
    assert_null(cat_snapshot_rule(s, "demo/none.lua"));
    assert_null(cat_snapshot_rule(s, NULL));
    cat_snapshot_release(s);
}

static void test_check_invalid_pattern(void **s)
{
    (void)s;
    expect_error("bad_pattern.yaml", CHECK "/bad_pattern.yaml:2:49: invalid pattern for attribute 'code' at offset 4: missing terminating ]");
}

static void test_check_value_outside_pattern_and_domain(void **s)
{
    (void)s;
    expect_error("bad_value.yaml", CHECK "/bad_value.yaml:16:39: default 'ab1234' of attribute 'code': does not match the attribute's pattern");
    expect_error("bad_value.yaml", CHECK "/bad_value.yaml:16:71: default 'blue' of attribute 'colour': is not one of the attribute's values");
}

static void test_check_too_many_decimals(void **s)
{
    (void)s;
    expect_error("decimals.yaml", CHECK "/decimals.yaml:19:26: amount '12.345' has 3 decimals; CNY allows 2");
    expect_error("decimals.yaml", CHECK "/decimals.yaml:20:26: amount 'list' must be a quoted decimal string");
}

static void test_check_window_ends_before_start(void **s)
{
    (void)s;
    expect_error("window.yaml", CHECK "/window.yaml:18:15: price book 'pb' ends (valid_to) before it starts");
}

static void test_check_overlapping_entries(void **s)
{
    (void)s;
    expect_error("overlap.yaml", CHECK "/overlap.yaml:20:9: price-book entry for A-1 overlaps the entry at line 19");
}

static void test_check_constraint_references(void **s)
{
    (void)s;
    expect_error("bad_constraint.yaml", CHECK "/bad_constraint.yaml:19:41: constraint 'c1': product A-1 has no group 'nogroup'");
    expect_error("bad_constraint.yaml", CHECK "/bad_constraint.yaml:21:20: constraint 'c2': value 'A-3' of g is not an option of the group");
}

static void test_check_milestones_add_to_100(void **s)
{
    (void)s;
    expect_error("milestones.yaml", CHECK "/milestones.yaml:19:9: milestone percents add up to");
}

static void test_check_unknown_payment_term_refs(void **s)
{
    (void)s;
    /* segments, partners and price books name a term like products do; an
     * unknown one is reported at its payment_term value */
    expect_error("payment_term_refs.yaml", CHECK "/payment_term_refs.yaml:9:46: segment 'retail': unknown payment term 'net60'");
    expect_error("payment_term_refs.yaml", CHECK "/payment_term_refs.yaml:12:55: partner 'P-1': unknown payment term 'net90'");
    expect_error("payment_term_refs.yaml", CHECK "/payment_term_refs.yaml:28:19: price book 'list': unknown payment term 'net45'");
    char *all = load_errors(CHECK "/payment_term_refs.yaml");
    if (strstr(all, "'web'") || strstr(all, "'prepaid'"))
        fail_msg("a known term was refused:\n%s", all);
    free(all);
}

static void test_cat_payment_term_refs_loaded(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/t.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("catalog: {id: t, version: \"1\", name: T, currency: CNY, timezone: Asia/Shanghai,\n"
          "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
          "segments:\n  - {id: retail, name: R, payment_term: net30}\n  - {id: web, name: W}\n"
          "partners:\n  - {id: P-1, name: P, payment_term: pre}\n"
          "payment_terms:\n"
          "  - {id: pre, name: Pre, installments: [{percent: \"100\", due: signing}]}\n"
          "  - {id: net30, name: N, installments: [{percent: \"100\", due: delivery, days: 30}]}\n"
          "products:\n  - {sku: A-1, name: A, category: c, delivery: {mode: goods}}\n"
          "price_books:\n  - {id: list, name: L, currency: CNY, valid_from: 2026-01-01,\n"
          "     payment_term: net30, entries: [{sku: A-1, list: \"10.00\"}]}\n",
          fp);
    fclose(fp);
    cat_snapshot *snap = load_ok(path);
    const cat_catalog *c = cat_snapshot_catalog_at(snap, 0);
    assert_string_equal(c->segments[0].payment_term, "net30");
    assert_null(c->segments[1].payment_term);
    assert_string_equal(c->partners[0].payment_term, "pre");
    assert_string_equal(cat_snapshot_partner(snap, "P-1")->payment_term, "pre");
    assert_string_equal(c->books[0].payment_term, "net30");
    cat_snapshot_release(snap);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* A partner's `can_accept` (default true): false in any catalog that
 * declares the partner keeps its keys from accepting quotes; a value
 * other than true or false is an error at its position, nothing loads. */
static void test_cat_partner_can_accept(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/t.yaml", dir);
    static const char head[] =
        "catalog: {id: t, version: \"1\", name: T, currency: CNY, timezone: Asia/Shanghai,\n"
        "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
        "partners:\n";
    static const char tail[] =
        "products:\n  - {sku: A-1, name: A, category: c, delivery: {mode: goods}}\n"
        "price_books:\n  - {id: list, name: L, currency: CNY, valid_from: 2026-01-01,\n"
        "     entries: [{sku: A-1, list: \"10.00\"}]}\n";
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s%s%s", head,
            "  - {id: P-1, name: P}\n  - {id: P-2, name: Q, can_accept: false}\n"
            "  - {id: P-3, name: R, can_accept: true}\n",
            tail);
    fclose(fp);
    cat_snapshot *snap = load_ok(path);
    const cat_catalog *c = cat_snapshot_catalog_at(snap, 0);
    assert_true(c->partners[0].can_accept);
    assert_false(c->partners[1].can_accept);
    assert_true(c->partners[2].can_accept);
    const char *where = NULL;
    assert_true(cat_snapshot_partner_can_accept(snap, "P-1", &where));
    assert_null(where);
    assert_false(cat_snapshot_partner_can_accept(snap, "P-2", &where));
    assert_string_equal(where, "t");
    assert_true(cat_snapshot_partner_can_accept(snap, "P-9", NULL)); /* declared nowhere */
    cat_snapshot_release(snap);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s%s%s", head, "  - {id: P-1, name: P, can_accept: \"no\"}\n", tail);
    fclose(fp);
    char *all = load_errors(path);
    if (!strstr(all, "/t.yaml:4:36: 'can_accept' must be true or false"))
        fail_msg("expected the can_accept error in\n%s", all);
    free(all);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* bill_day (subscriptions only, 0..31), equal parts (`parts` 2..120 with
 * `every` {days: 1..366} or {months: 1..12}, at most 120 installments in a
 * term counting each part) and `days` 0..3650, each at its position. */
static void test_check_bill_day_and_equal_parts(void **s)
{
    (void)s;
    static const char *const want[] = {
        "16:17: 'parts' must be an integer from 2 to 120, not '1'",
        "20:33: 'parts' needs 'every' ({days: K} or {months: K}, the step between parts)",
        "24:33: 'every' needs 'parts' (the number of equal parts)",
        "28:27: 'every' needs exactly one of 'days' or 'months'",
        "32:36: 'months' must be an integer from 1 to 12, not '13'",
        "36:47: 'days' must be an integer from 0 to 3650, not '3651'",
        "37:5: term 'too-many' has 121 installments counting each part (at most 120)",
        "42:5: installments of term 'over-100' do not add up to 100 percent",
        "51:88: 'bill_day' must be an integer from 0 to 31, not '32'",
        "55:29: 'bill_day' does not apply to delivery mode goods",
    };
    char *all = load_errors(CHECK "/terms.yaml");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char line[256];
        snprintf(line, sizeof(line), CHECK "/terms.yaml:%s\n", want[i]);
        if (!strstr(all, line))
            fail_msg("expected error\n  %s\nin\n%s", line, all);
    }
    /* exactly those: ok-thirds (days 3650) and S-2 (bill_day 31) load */
    size_t n = 0;
    for (const char *p = all; (p = strchr(p, '\n')); p++)
        n++;
    if (n != sizeof(want) / sizeof(want[0]))
        fail_msg("%zu errors, want %zu:\n%s", n, sizeof(want) / sizeof(want[0]), all);
    free(all);
}

/* `quantity: {min, max, step}` (docs/catalog.md "Quantities"): each bound
 * a decimal of at most 6 places within 0..10^12 (step above 0), min <= max,
 * only those keys; a BOM option's fixed quantity and range bounds are
 * quantities of its product; an amount is at most 10^13. Each error at
 * its position, and only those. */
static void test_check_quantity_rules(void **s)
{
    (void)s;
    static const char *const want[] = {
        "10:85: quantity 'step' must be a decimal above 0 and at most 1000000000000 with at "
        "most 6 decimal places, not '0'",
        "11:83: quantity 'max' must be a decimal from 0 to 1000000000000 with at most 6 "
        "decimal places, not '1000000000001'",
        "12:130: quantity 'step' must be a decimal above 0 and at most 1000000000000 with at "
        "most 6 decimal places, not '0.0000001'",
        "13:79: quantity needs min <= max",
        "14:78: unknown key 'mni' in quantity (expected one of: min, max, step)",
        "27:13: option WIRE: quantity 1.5 is not a quantity of WIRE: whole numbers from 1 to "
        "1000000000000",
        "29:13: option WIRE2: quantity range min 0 is not a quantity of WIRE2: whole numbers "
        "from 1 to 1000000000000",
        "36:30: amount '10000000000000.01' is beyond the service's maximum amount "
        "10000000000000",
    };
    char *all = load_errors(CHECK "/quantities.yaml");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char line[320];
        snprintf(line, sizeof(line), CHECK "/quantities.yaml:%s\n", want[i]);
        if (!strstr(all, line))
            fail_msg("expected error\n  %s\nin\n%s", line, all);
    }
    size_t n = 0;
    for (const char *p = all; (p = strchr(p, '\n')); p++)
        n++;
    if (n != sizeof(want) / sizeof(want[0]))
        fail_msg("%zu errors, want %zu:\n%s", n, sizeof(want) / sizeof(want[0]), all);
    free(all);
}

static money_dec dq(const char *s)
{
    money_dec v;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

/* The quantity rules as the snapshot holds them: whole numbers from 1 for
 * the discrete modes, metered decimals (6 places) from 0 for usage, both
 * up to 10^12; a catalog's own rule, whose min defaults to its step for a
 * discrete product. What fits and how the rule reads. */
static void test_cat_quantity_rules_loaded(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(dir && mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/t.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("catalog: {id: t, version: \"1\", name: T, currency: CNY, timezone: Asia/Shanghai,\n"
          "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
          "products:\n"
          "  - {sku: G, name: G, category: c, delivery: {mode: goods}}\n"
          "  - {sku: U, name: U, category: c, delivery: {mode: usage, metered_unit: gb,\n"
          "     billing_period: monthly}}\n"
          "  - {sku: M, name: M, category: c, delivery: {mode: goods}, quantity: {step: \"2.5\",\n"
          "     max: 100}}\n"
          "  - {sku: C, name: C, category: c, delivery: {mode: usage, metered_unit: h,\n"
          "     billing_period: monthly}, quantity: {step: \"0.25\", max: 2000}}\n",
          fp);
    fclose(fp);
    cat_snapshot *snap = load_ok(path);
    const cat_product *g = cat_snapshot_product(snap, "G", 1),
                      *u = cat_snapshot_product(snap, "U", 1);
    const cat_product *m = cat_snapshot_product(snap, "M", 1),
                      *c = cat_snapshot_product(snap, "C", 1);
    char buf[160], why[256];
    assert_false(g->quantity.set);
    assert_string_equal(cat_qty_rule_text(&g->quantity, buf, sizeof(buf)),
                        "whole numbers from 1 to 1000000000000");
    assert_true(cat_qty_fits(&g->quantity, dq("1")));
    assert_true(cat_qty_fits(&g->quantity, dq("2.000"))); /* trailing zeros aside */
    assert_true(cat_qty_fits(&g->quantity, dq("1000000000000")));
    assert_false(cat_qty_fits(&g->quantity, dq("0")));
    assert_false(cat_qty_fits(&g->quantity, dq("1.5")));
    assert_false(cat_qty_fits(&g->quantity, dq("1000000000001")));
    assert_false(cat_qty_fits(&g->quantity, dq("9999999999999999")));
    assert_false(cat_qty_fits(&g->quantity, dq("-1")));
    assert_int_equal(cat_qty_check(g, dq("0"), true, NULL, 0), 0);
    assert_int_equal(cat_qty_check(g, dq("0.0000001"), true, why, sizeof(why)), CPQD_EINVAL);
    assert_string_equal(why, "0.0000001 is not a quantity of G: whole numbers from 1 to "
                             "1000000000000");
    assert_string_equal(cat_qty_rule_text(&u->quantity, buf, sizeof(buf)),
                        "decimals with at most 6 places from 0 to 1000000000000");
    assert_true(cat_qty_fits(&u->quantity, dq("0")));
    assert_true(cat_qty_fits(&u->quantity, dq("1250.000001")));
    assert_true(cat_qty_fits(&u->quantity, dq("999999999999.999999")));
    assert_false(cat_qty_fits(&u->quantity, dq("0.0000001")));
    assert_false(cat_qty_fits(&u->quantity, dq("9999999999999999")));
    assert_false(cat_qty_fits(&u->quantity, dq("9223372036854775807"))); /* x 10^6 overflows */
    assert_false(cat_qty_fits(&u->quantity, dq("-999999999999.999999")));
    assert_true(cat_qty_fits(&u->quantity, dq("0.0000010"))); /* 7 places, 6 of them kept */
    assert_true(m->quantity.set);
    assert_string_equal(cat_qty_rule_text(&m->quantity, buf, sizeof(buf)),
                        "from 2.5 in steps of 2.5 to 100");
    assert_true(cat_qty_fits(&m->quantity, dq("2.5")));
    assert_true(cat_qty_fits(&m->quantity, dq("100")));
    assert_false(cat_qty_fits(&m->quantity, dq("0")));
    assert_false(cat_qty_fits(&m->quantity, dq("3")));
    assert_false(cat_qty_fits(&m->quantity, dq("102.5")));
    assert_string_equal(cat_qty_rule_text(&c->quantity, buf, sizeof(buf)),
                        "from 0 in steps of 0.25 to 2000");
    assert_true(cat_qty_fits(&c->quantity, dq("0")));
    assert_true(cat_qty_fits(&c->quantity, dq("1.75")));
    assert_false(cat_qty_fits(&c->quantity, dq("1.3")));
    assert_true(cat_amount_ok(dq("10000000000000")));
    assert_true(cat_amount_ok(dq("-10000000000000")));
    assert_false(cat_amount_ok(dq("10000000000000.01")));
    cat_snapshot_release(snap);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* A subscription's bill_day and a term in equal parts as the snapshot
 * holds them: {parts: 3, every: {months: 1}} without a percent is 100%. */
static void test_cat_bill_day_and_parts_loaded(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(dir && mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/t.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(
        "catalog: {id: t, version: \"1\", name: T, currency: JPY, timezone: Asia/Tokyo,\n"
        "  tax: {prices_include_tax: true, classes: {standard: \"0.10\"}}}\n"
        "payment_terms:\n"
        "  - {id: thirds, name: T, installments: [{parts: 3, every: {months: 1}, due: signing}]}\n"
        "  - id: mixed\n    name: M\n    installments:\n"
        "      - {amount: \"1000\", due: signing}\n"
        "      - {percent: \"100\", parts: 4, every: {days: 14}, due: delivery, days: 3650}\n"
        "products:\n"
        "  - {sku: S-1, name: S, category: c, delivery: {mode: subscription,\n"
        "     billing_period: monthly, term_months: 12, bill_day: 1, payment_term: thirds}}\n"
        "  - {sku: S-2, name: S, category: c, delivery: {mode: subscription,\n"
        "     billing_period: monthly, term_months: 12}}\n",
        fp);
    fclose(fp);
    cat_snapshot *snap = load_ok(path);
    const cat_catalog *c = cat_snapshot_catalog_at(snap, 0);
    const cat_installment *in = c->terms[0].installments;
    assert_int_equal(c->terms[0].ninstallments, 1);
    assert_true(in->is_percent);
    assert_int_equal(money_cmp(in->percent, money_from_int(100)), 0);
    assert_int_equal(in->parts, 3);
    assert_int_equal(in->every_months, 1);
    assert_int_equal(in->every_days, 0);
    in = c->terms[1].installments;
    assert_int_equal(in[0].parts, 0);
    assert_false(in[0].is_percent);
    assert_int_equal(in[1].parts, 4);
    assert_int_equal(in[1].every_days, 14);
    assert_int_equal(in[1].days, 3650);
    assert_int_equal(cat_snapshot_product(snap, "S-1", 3)->delivery.bill_day, 1);
    assert_int_equal(cat_snapshot_product(snap, "S-2", 3)->delivery.bill_day, 0);
    cat_snapshot_release(snap);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_check_finance_section_errors(void **s)
{
    (void)s;
    expect_error("finance.yaml", CHECK "/finance.yaml:7:51: unknown rounding mode 'sideways'");
    expect_error("finance.yaml", CHECK "/finance.yaml:14:11: prefix 'C' is taken by contract (C-) or quote (Q-) numbers");
    expect_error("finance.yaml", CHECK "/finance.yaml:14:50: 'invoice_prefix' must be 1 to 16 letters A-Z");
    expect_error("finance.yaml", CHECK "/finance.yaml:15:21: invoices issue must be manual, on_bill_date or on_due_date, not 'weekly'");
    expect_error("finance.yaml", CHECK "/finance.yaml:17:5: missing required key 'write_off'");
    expect_error("finance.yaml", CHECK "/finance.yaml:20:25: invalid account code '22 04'");
    expect_error("finance.yaml", CHECK "/finance.yaml:23:48: revenue_by_category: no product has category 'toys'");
    expect_error("finance.yaml", CHECK "/finance.yaml:24:28: tax_payable_by_class: unknown tax class 'reduced'");
}

static const char fin_head[] =
    "catalog: {id: %s, version: \"1\", name: T, currency: CNY, timezone: Asia/Shanghai,\n"
    "  tax: {prices_include_tax: false, %s classes: {standard: \"0.13\", service: \"0.06\"}}}\n"
    "products:\n  - {sku: %s, name: A, category: machines, delivery: {mode: goods}}\n"
    "  - {sku: %s-S, name: S, category: services, tax_class: service, delivery: {mode: goods}}\n";

static void write_catalog(const char *path, const char *id, const char *tax_extra,
                          const char *finance)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    char sku[16];
    snprintf(sku, sizeof(sku), "%c-1", id[0] - 'a' + 'A');
    fprintf(fp, fin_head, id, tax_extra, sku, sku);
    fputs(finance, fp);
    fclose(fp);
}

static const char fin_ok[] =
    "finance:\n"
    "  issuer: {id: ACME-SH, name: 上海示例科技有限公司, tax_id: 91310000MA1K000000,\n"
    "           invoice_prefix: INV-SH, credit_note_prefix: CN-SH}\n"
    "  invoices: {issue: on_due_date}\n"
    "  accounts: {receivable: \"1122\", bank: 1002, customer_credit: \"2203\",\n"
    "             contract_liability: \"2204\", tax_payable: \"2221.01\", revenue: \"6001\",\n"
    "             write_off: \"6702\", revenue_by_category: {services: \"6051\"},\n"
    "             tax_payable_by_class: {service: \"2221.06\"}}\n";

static void test_cat_finance_section_loaded(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-fin-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/a.yaml", dir);
    write_catalog(path, "a", "rounding_mode: half_up,", fin_ok);
    cat_snapshot *snap = load_ok(path);
    const cat_catalog *c = cat_snapshot_catalog_at(snap, 0);
    assert_int_equal(c->tax_mode, MONEY_HALF_UP);
    const cat_finance *f = c->finance;
    assert_non_null(f);
    assert_string_equal(f->issuer.id, "ACME-SH");
    assert_string_equal(f->issuer.name, "上海示例科技有限公司");
    assert_string_equal(f->issuer.invoice_prefix, "INV-SH");
    assert_string_equal(f->issuer.credit_note_prefix, "CN-SH");
    assert_null(f->issuer.address);
    assert_int_equal(f->issue, CAT_INVOICE_ON_DUE_DATE);
    assert_string_equal(f->accounts.bank, "1002"); /* unquoted codes read as text */
    assert_string_equal(cat_finance_revenue_account(f, "services"), "6051");
    assert_string_equal(cat_finance_revenue_account(f, "machines"), "6001");
    assert_string_equal(cat_finance_tax_account(f, "service"), "2221.06");
    assert_string_equal(cat_finance_tax_account(f, "standard"), "2221.01");
    assert_string_equal(cat_invoice_issue_name(CAT_INVOICE_ON_BILL_DATE), "on_bill_date");
    cat_snapshot_release(snap);
    /* without the section: no finance, tax rounded half-even, prefixes default */
    write_catalog(path, "a", "", "");
    snap = load_ok(path);
    c = cat_snapshot_catalog_at(snap, 0);
    assert_null(c->finance);
    assert_int_equal(c->tax_mode, MONEY_HALF_EVEN);
    cat_snapshot_release(snap);
    write_catalog(path, "a", "",
                  "finance:\n  issuer: {id: X, name: X}\n  accounts: {receivable: a, bank: b,\n"
                  "    customer_credit: c, contract_liability: d, tax_payable: e, revenue: f,\n"
                  "    write_off: g}\n");
    snap = load_ok(path);
    f = cat_snapshot_catalog_at(snap, 0)->finance;
    assert_string_equal(f->issuer.invoice_prefix, "INV");
    assert_string_equal(f->issuer.credit_note_prefix, "CN");
    assert_int_equal(f->issue, CAT_INVOICE_MANUAL);
    cat_snapshot_release(snap);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Products and books point to their catalog: those pointers stay valid
 * however many catalog files a directory holds (the array of catalogs
 * used to grow by realloc past 8 files and leave them dangling). */
static void test_cat_many_files_keep_catalog_pointers(void **state)
{
    (void)state;
    enum { N = 20 };
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "%s/c%02d.yaml", dir, i);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp,
                "catalog: {id: c%02d, version: \"1\", name: C, currency: CNY,\n"
                "  timezone: Asia/Shanghai,\n"
                "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
                "products:\n  - {sku: M-%02d, name: M, category: c, delivery: {mode: goods}}\n"
                "price_books:\n  - {id: b, name: B, currency: CNY, valid_from: 2026-01-01,\n"
                "     entries: [{sku: M-%02d, list: \"10.00\"}]}\n",
                i, i, i);
        fclose(fp);
    }
    cat_snapshot *snap = load_ok(dir);
    assert_int_equal(cat_snapshot_catalog_count(snap), N);
    for (int i = 0; i < N; i++) {
        const cat_catalog *c = cat_snapshot_catalog_at(snap, (size_t)i);
        char sku[16];
        snprintf(sku, sizeof(sku), "M-%02d", i);
        const cat_product *p = cat_snapshot_product(snap, sku, strlen(sku));
        assert_non_null(p);
        assert_ptr_equal(p->catalog, c);
        assert_ptr_equal(c->books[0].catalog, c);
        assert_string_equal(p->catalog->currency, "CNY");
    }
    cat_snapshot_release(snap);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "%s/c%02d.yaml", dir, i);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

/* The delivery modes come from one table: every name parses back to its
 * mode, the count is five, the list names them in order, and each mode
 * accepts exactly its own delivery keys. */
static void test_cat_mode_table(void **state)
{
    (void)state;
    static const char *const names[] = {"goods", "goods_with_service", "subscription", "usage",
                                        "milestone"};
    assert_int_equal(cat_mode_count(), 5);
    for (size_t i = 0; i < cat_mode_count(); i++) {
        cat_mode m;
        assert_string_equal(cat_mode_name((cat_mode)i), names[i]);
        assert_int_equal(cat_mode_parse(names[i], strlen(names[i]), &m), 0);
        assert_int_equal(m, (cat_mode)i);
    }
    cat_mode m = CAT_MODE_USAGE;
    assert_int_equal(cat_mode_parse("good", 4, &m), CPQD_EINVAL);
    assert_int_equal(cat_mode_parse("goodsx", 6, &m), CPQD_EINVAL);
    assert_int_equal(cat_mode_parse("goods\0", 6, &m), CPQD_EINVAL);
    assert_int_equal(cat_mode_parse("Usage", 5, &m), CPQD_EINVAL);
    assert_int_equal(m, CAT_MODE_USAGE); /* untouched on failure */
    assert_string_equal(cat_mode_name((cat_mode)5), "?");
    char buf[160];
    assert_string_equal(cat_mode_list(buf, sizeof(buf)),
                        "goods, goods_with_service, subscription, usage, milestone");
    assert_true(cat_mode_accepts(CAT_MODE_GOODS, "lead_time_days"));
    assert_true(cat_mode_accepts(CAT_MODE_MILESTONE, "payment_term"));
    assert_true(cat_mode_accepts(CAT_MODE_USAGE, "minimum_commitment"));
    assert_false(cat_mode_accepts(CAT_MODE_GOODS, "milestones"));
    assert_false(cat_mode_accepts(CAT_MODE_SUBSCRIPTION, "metered_unit"));
    assert_false(cat_mode_accepts((cat_mode)7, "lead_time_days"));
    /* the loader uses the table: an unknown mode is refused naming all
     * five, a mode-specific key under another mode is refused */
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/m.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("catalog: {id: m, version: \"1\", name: M, currency: CNY, timezone: Asia/Shanghai,\n"
          "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
          "products:\n"
          "  - {sku: A-1, name: A, category: c, delivery: {mode: teleport}}\n"
          "  - {sku: A-2, name: A, category: c, delivery: {mode: goods, term_months: 12}}\n"
          "  - {sku: A-3, name: A, category: c, delivery: {mode: usage, metered_unit: gb,\n"
          "       billing_period: monthly, lead_time_days: 3}}\n",
          fp);
    fclose(fp);
    char *all = load_errors(path);
    static const char *const want[] = {
        ":4:55: delivery mode must be one of goods, goods_with_service, subscription, usage, "
        "milestone",
        ":5:62: 'term_months' does not apply to delivery mode goods",
        ":7:33: 'lead_time_days' does not apply to delivery mode usage"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(all, want[i]))
            fail_msg("expected\n  %s\nin\n%s", want[i], all);
    free(all);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* `bounds` on a book and on an entry: unit or base, the entry's winning,
 * unit by default; anything else is an error at its position. */
static void test_cat_price_bounds(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-cat-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/b.yaml", dir);
    static const char head[] =
        "catalog: {id: b, version: \"1\", name: B, currency: CNY, timezone: Asia/Shanghai,\n"
        "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}}\n"
        "products:\n  - {sku: A-1, name: A, category: c, delivery: {mode: goods}}\n"
        "  - {sku: A-2, name: A, category: c, delivery: {mode: goods}}\n"
        "price_books:\n";
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s%s", head,
            "  - {id: d, name: D, currency: CNY, valid_from: 2026-01-01,\n"
            "     entries: [{sku: A-1, list: \"10.00\"}]}\n"
            "  - {id: b, name: B, currency: CNY, valid_from: 2026-01-01, bounds: base,\n"
            "     entries: [{sku: A-2, list: \"10.00\"}, {sku: A-1, list: \"9.00\", bounds: unit,\n"
            "               valid_from: 2026-02-01}]}\n");
    fclose(fp);
    cat_snapshot *snap = load_ok(path);
    const cat_catalog *c = cat_snapshot_catalog_at(snap, 0);
    assert_int_equal(c->books[0].bounds, CAT_BOUNDS_UNIT);
    assert_int_equal(c->books[0].entries[0].bounds, CAT_BOUNDS_UNIT);
    assert_int_equal(c->books[1].bounds, CAT_BOUNDS_BASE);
    assert_int_equal(c->books[1].entries[0].bounds, CAT_BOUNDS_BASE);
    assert_int_equal(c->books[1].entries[1].bounds, CAT_BOUNDS_UNIT);
    assert_string_equal(cat_bounds_name(CAT_BOUNDS_BASE), "base");
    cat_snapshot_release(snap);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s%s", head,
            "  - {id: b, name: B, currency: CNY, valid_from: 2026-01-01, bounds: total,\n"
            "     entries: [{sku: A-2, list: \"10.00\", bounds: [base]}]}\n");
    fclose(fp);
    char *all = load_errors(path);
    if (!strstr(all, "b.yaml:7:69: bounds must be unit (the price per unit with its options) "
                     "or base (the base price)") ||
        !strstr(all, "b.yaml:8:50: bounds must be a scalar"))
        fail_msg("unexpected errors:\n%s", all);
    free(all);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Numbers are gap-free per year and issuer: two catalogs of one issuer
 * must number alike, and two issuers must not share a prefix. */
static void test_check_issuers_across_catalogs(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/cpqd-test-fin-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/a.yaml", dir);
    snprintf(b, sizeof(b), "%s/b.yaml", dir);
    write_catalog(a, "a", "", fin_ok);
    char other[sizeof(fin_ok) + 16];
    snprintf(other, sizeof(other), "%s", fin_ok);
    char *p = strstr(other, "CN-SH}");
    memcpy(p, "CN-BJ}", 6);
    write_catalog(b, "b", "", other);
    char *all = load_errors(dir);
    if (!strstr(all, "issuer 'ACME-SH' differs from its definition in"))
        fail_msg("no issuer error in\n%s", all);
    free(all);
    p = strstr(other, "ACME-SH");
    memcpy(p, "ACME-BJ", 7);
    write_catalog(b, "b", "", other);
    all = load_errors(dir);
    if (!strstr(all, "issuer 'ACME-BJ' uses prefix 'INV-SH' of issuer 'ACME-SH'"))
        fail_msg("no prefix error in\n%s", all);
    free(all);
    /* the same issuer, the same prefixes: fine */
    write_catalog(b, "b", "", fin_ok);
    cat_snapshot *snap = load_ok(dir);
    cat_snapshot_release(snap);
    unlink(a);
    unlink(b);
    rmdir(dir);
    free(dir);
}

static void test_check_reports_every_file_at_once(void **state)
{
    (void)state;
    char *all = load_errors(CHECK);
    static const char *const files[] = {
        "syntax", "unknown_key", "wrong_type", "missing_field", "dup_sku", "unknown_product",
        "cycle", "unknown_attribute", "missing_rule", "bad_pattern", "bad_value", "decimals",
        "window", "overlap", "bad_constraint", "milestones", "bad_rule", "payment_term_refs",
        "terms", "bad_utf8", "control_char", "finance",
        "missing_category_promo", "unknown_effect"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), CHECK "/%s.yaml:", files[i]);
        if (!strstr(all, want))
            fail_msg("no error for %s in\n%s", files[i], all);
    }
    free(all);
}

/* ---- the streamed loader against the whole tree ----
 * cat_load_stream_path (the file read as it is parsed, products decoded
 * one at a time) must give what cat_load_file gives on the whole tree,
 * field by field; a file with errors must report them once, as ever. */

static void dump_pos(FILE *f, cat_pos p)
{
    fprintf(f, "@%s:%u:%u", p.file ? p.file : "-", p.line, p.col);
}

static void dump_s(FILE *f, const char *s)
{
    fprintf(f, " [%s]", s ? s : "(null)");
}

static void dump_m(FILE *f, money_dec d)
{
    fprintf(f, " %lld/%d", (long long)d.coef, (int)d.scale);
}

/* Everything of c that the loader decodes, as text (malloc'ed). */
static char *dump_catalog(const cat_catalog *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    dump_s(f, c->id);
    dump_s(f, c->name);
    dump_s(f, c->hash);
    fprintf(f, " %s %d %zu\n", c->currency, c->rounding, c->ntax_classes);
    for (size_t i = 0; i < c->nattrs; i++) {
        const cat_attr *a = &c->attrs[i];
        fprintf(f, "A");
        dump_s(f, a->id);
        dump_s(f, a->name);
        dump_s(f, a->unit);
        dump_s(f, a->pattern);
        dump_s(f, a->default_value);
        fprintf(f, " %d %zu %d", a->type, a->max_length, a->re != NULL);
        dump_m(f, a->min);
        dump_m(f, a->max);
        dump_m(f, a->step);
        for (size_t k = 0; k < a->nvalues; k++) {
            dump_s(f, a->values[k].id);
            dump_s(f, a->values[k].name);
            dump_m(f, a->values[k].adder);
            dump_pos(f, a->values[k].pos);
        }
        dump_pos(f, a->pos);
        fprintf(f, "\n");
    }
    for (size_t i = 0; i < c->nproducts; i++) {
        const cat_product *p = &c->products[i];
        const cat_delivery *d = &p->delivery;
        fprintf(f, "P");
        dump_s(f, p->sku);
        dump_s(f, p->name);
        dump_s(f, p->category);
        dump_s(f, p->uom);
        dump_s(f, p->tax_class);
        dump_s(f, p->description);
        dump_s(f, p->formula);
        fprintf(f, " %d %d %d %d %d %d %d %d %d %d", p->sellable, p->catalog == c, d->mode,
                d->lead_time_days, d->acceptance_days, d->billing_period, d->term_months,
                d->in_arrears, d->bill_day, d->auto_renew);
        dump_s(f, d->payment_term);
        dump_s(f, d->metered_unit);
        dump_m(f, d->minimum_commitment);
        for (size_t k = 0; k < d->nservice_items; k++)
            dump_s(f, d->service_items[k]);
        for (size_t k = 0; k < d->nmilestones; k++) {
            dump_s(f, d->milestones[k].id);
            dump_s(f, d->milestones[k].name);
            dump_m(f, d->milestones[k].percent);
            dump_m(f, d->milestones[k].amount);
            dump_pos(f, d->milestones[k].pos);
        }
        for (size_t k = 0; k < p->nattrs; k++) {
            const cat_prod_attr *a = &p->attrs[k];
            fprintf(f, " PA%d", a->required);
            dump_s(f, a->attr->id);
            dump_s(f, a->default_value);
            for (size_t j = 0; j < a->nvalues; j++)
                dump_s(f, a->values[j]);
            for (size_t j = 0; j < a->nadders; j++) {
                dump_s(f, a->adders[j].id);
                dump_m(f, a->adders[j].adder);
            }
            dump_pos(f, a->pos);
        }
        for (size_t k = 0; k < p->ngroups; k++) {
            const cat_group *g = &p->groups[k];
            fprintf(f, " G%u-%u", g->min, g->max);
            dump_s(f, g->id);
            dump_s(f, g->name);
            dump_pos(f, g->pos);
            for (size_t j = 0; j < g->noptions; j++) {
                const cat_option *o = &g->options[j];
                fprintf(f, " O%d%d", o->ranged, o->is_default);
                dump_s(f, o->sku);
                dump_s(f, o->product ? o->product->sku : NULL);
                dump_m(f, o->qty);
                dump_m(f, o->qty_min);
                dump_m(f, o->qty_max);
                dump_pos(f, o->pos);
            }
        }
        for (size_t k = 0; k < p->nconstraints; k++) {
            const cat_constraint *x = &p->constraints[k];
            fprintf(f, " C%d %zu %zu %d", x->kind, x->nlits, x->nif, x->forbidden);
            dump_s(f, x->id);
            dump_s(f, x->description);
            for (size_t j = 0; j < x->nlits; j++) {
                fprintf(f, " L%d", x->lits[j].op);
                dump_s(f, x->lits[j].path);
                for (size_t q = 0; q < x->lits[j].nvalues; q++)
                    dump_s(f, x->lits[j].values[q]);
                dump_pos(f, x->lits[j].pos);
            }
            for (size_t j = 0; j < x->nvars; j++)
                dump_s(f, x->vars[j]);
            for (size_t j = 0; j < x->nrows * x->nvars; j++)
                dump_s(f, x->cells[j]);
            dump_s(f, x->qty_path);
            dump_m(f, x->qty_min);
            dump_m(f, x->qty_max);
            dump_pos(f, x->pos);
        }
        dump_m(f, p->quantity.min);
        dump_m(f, p->quantity.max);
        dump_m(f, p->quantity.step);
        fprintf(f, " %d", p->quantity.set);
        dump_pos(f, p->pos);
        fprintf(f, "\n");
    }
    for (size_t i = 0; i < c->nbooks; i++) {
        const cat_price_book *b = &c->books[i];
        fprintf(f, "B");
        dump_s(f, b->id);
        for (size_t k = 0; k < b->nentries; k++) {
            dump_s(f, b->entries[k].sku);
            dump_s(f, b->entries[k].product ? b->entries[k].product->sku : NULL);
            dump_m(f, b->entries[k].list);
            dump_pos(f, b->entries[k].pos);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "%zu promotions, %zu partners, %zu segments, %zu terms\n", c->npromotions,
            c->npartners, c->nsegments, c->nterms);
    fclose(f);
    return buf;
}

#define CAT_TEST_MAX (4u << 20) /* bytes of a catalog read by the tests below */

typedef struct one_build {
    cat_build b;
    cpqd_errs *errs;
} one_build;

static void build_start(one_build *o, const char *rules)
{
    memset(o, 0, sizeof(*o));
    o->errs = errs_new();
    o->b = (cat_build){.a = arena_new(1 << 16), .errs = o->errs, .rules_dir = rules,
                       .catalogs = calloc(1, sizeof(cat_catalog)), .capcatalogs = 1};
    assert_non_null(o->b.a);
    assert_non_null(o->b.catalogs);
}

static void build_end(one_build *o)
{
    for (size_t i = 0; i < o->b.nregexes; i++)
        pcre2_code_free(o->b.regexes[i]);
    free(o->b.regexes);
    for (size_t i = 0; i < o->b.nrule_files; i++)
        free(o->b.rule_files[i]);
    free(o->b.rule_files);
    free(o->b.catalogs);
    arena_free(o->b.a);
    errs_free(o->errs);
}

/* The catalog of path by the whole tree (cat_load_file) and streamed:
 * the same catalog, no error either way (returns 0), or the stream's
 * retry (CAT_LOAD_RETRY). */
static int expect_streamed_split(const char *path, const char *rules, double share,
                                 int want_split);

static int expect_streamed_same(const char *path, const char *rules)
{
    return expect_streamed_split(path, rules, 0, -1);
}

/* expect_streamed_same with the products parsed on two threads from any
 * size on (share: of the products to the first; 0 the default), and the
 * two threads used (want_split 1), not used (0), or either (-1). */
static int expect_streamed_split(const char *path, const char *rules, double share,
                                 int want_split)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    text = malloc(CAT_TEST_MAX);
    len = fread(text, 1, CAT_TEST_MAX, f);
    fclose(f);
    one_build whole, streamed;
    build_start(&whole, rules);
    build_start(&streamed, rules);
    if (want_split >= 0) {
        streamed.b.split_min = 1;
        streamed.b.split_share = share;
    }
    char h[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_hex(text, len, h), 0);
    arena *tree = arena_new(1 << 16);
    yn *root = NULL;
    int prc = yn_parse(tree, path, text, len, whole.errs, &root);
    for (size_t i = 0; prc && i < errs_count(whole.errs); i++) {
        char *m = errs_format(whole.errs, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(prc, 0);
    int rc = cat_load_file(&whole.b, path, h, root);
    for (size_t i = 0; i < errs_count(whole.errs); i++) {
        char *m = errs_format(whole.errs, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(rc, 0);
    arena_free(tree);
    char hs[DIGEST_SHA256_HEX_LEN];
    int srs = cat_load_stream_path(&streamed.b, path, path, hs);
    if (want_split >= 0)
        assert_int_equal(streamed.b.split_loads, srs == 0 ? (unsigned)want_split : 0);
    if (srs == CAT_LOAD_RETRY) {
        /* products before the attributes they use: nothing said, nothing
         * added, the caller's retry is the whole tree's load */
        assert_int_equal(errs_count(streamed.errs), 0);
        assert_int_equal(streamed.b.ncatalogs, 0);
        assert_int_equal(streamed.b.nregexes, 0);
        build_end(&streamed);
        build_end(&whole);
        free(text);
        return CAT_LOAD_RETRY;
    }
    assert_int_equal(srs, 0);
    assert_string_equal(h, hs);
    assert_int_equal(errs_count(whole.errs) + errs_count(streamed.errs), 0);
    assert_int_equal(whole.b.ncatalogs, 1);
    assert_int_equal(streamed.b.ncatalogs, 1);
    assert_int_equal(whole.b.nregexes, streamed.b.nregexes);
    char *a = dump_catalog(&whole.b.catalogs[0]), *b = dump_catalog(&streamed.b.catalogs[0]);
    assert_string_equal(a, b);
    assert_true(strlen(a) > 100);
    free(a);
    free(b);
    build_end(&whole);
    build_end(&streamed);
    free(text);
    return 0;
}


/* A catalog of n products with Chinese names (3-byte UTF-8 characters,
 * so that the pieces the reader takes cut some of them), options, an
 * attribute, a constraint and a price book; attributes before or after
 * the products. */
static char *gen_catalog(size_t n, bool attrs_after)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const char *attrs = "attributes:\n"
                        "  - id: colour\n"
                        "    name: 颜色 Colour\n"
                        "    type: enum\n"
                        "    values:\n"
                        "      - {id: grey, name: 浅灰}\n"
                        "      - {id: red, name: 红色, adder: \"120.00\"}\n";
    fprintf(f, "catalog:\n  id: big\n  version: \"1\"\n  name: 大目录 Big\n  currency: CNY\n"
               "  timezone: Asia/Shanghai\n  tax: {prices_include_tax: false, classes: {standard: \"0.13\"}}\n");
    if (!attrs_after)
        fputs(attrs, f);
    fprintf(f, "products:\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  - sku: P-%05zu\n    name: 高压液压泵第%zu号 Pump %zu\n    category: pumps\n"
                   "    delivery: {mode: goods}\n",
                i, i, i);
        if (i % 3 == 0 && i + 2 < n)
            fprintf(f, "    attributes:\n      - {ref: colour, default: red}\n"
                       "    groups:\n      - {id: acc, name: 附件, min: 0, max: 1, options: "
                       "[{sku: P-%05zu, qty: 2}, {sku: P-%05zu}]}\n"
                       "    constraints:\n      - id: c1\n"
                       "        excludes: [\"@colour = red\", \"acc = P-%05zu\"]\n",
                    i + 1, i + 2, i + 2);
    }
    if (attrs_after)
        fputs(attrs, f);
    fprintf(f, "price_books:\n  - id: list\n    name: 目录价\n    currency: CNY\n"
               "    valid_from: 2026-01-01\n    entries:\n");
    for (size_t i = 0; i < n; i += 2)
        fprintf(f, "      - {sku: P-%05zu, list: \"%zu.50\"}\n", i, 100 + i);
    fclose(f);
    return buf;
}

static void test_cat_streamed_load_is_the_whole_tree_load(void **state)
{
    (void)state;
    static const char *const samples[] = {"catalogs/appliances.yaml", "catalogs/cloud.yaml",
                                          "catalogs/cnc.yaml", "catalogs/medical.yaml",
                                          "catalogs/projects.yaml", "catalogs/saas.yaml"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
        assert_int_equal(expect_streamed_same(samples[i], "rules"), 0);
    assert_int_equal(expect_streamed_same(GOOD "/demo.yaml", RULES), 0);
    char *dir = tu_tmpdir();
    for (int after = 0; after < 2; after++) {
        char *text = gen_catalog(3000, after);
        assert_true(strlen(text) > 200000);
        assert_int_equal(tu_write(dir, "big.yaml", text), 0);
        char path[512];
        snprintf(path, sizeof(path), "%s/big.yaml", dir);
        /* attributes after the products that use them: the retry */
        assert_int_equal(expect_streamed_same(path, RULES), after ? CAT_LOAD_RETRY : 0);
        free(text);
    }
    tu_rm_tree(dir);
    free(dir);
}

/* Writes text to dir/name and checks its two-thread load against the
 * whole tree's (want_split: whether the cut held). */
static void split_case(const char *dir, const char *text, double share, int want_split)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/cut.yaml", dir);
    assert_int_equal(tu_write(dir, "cut.yaml", text), 0);
    assert_int_equal(expect_streamed_split(path, RULES, share, want_split), 0);
}

/* A big file's products parsed on two threads give the catalog the whole
 * tree gives, positions included (the products after the cut, and the
 * sections after the products, have their lines in the file); every
 * sample that has a cut loads so too. Where the cut was not at an item
 * (quoted text running over item lines), the two-thread load sees it and
 * the file is loaded on one thread, the same catalog. */
static void test_cat_split_load_is_the_whole_tree_load(void **state)
{
    (void)state;
    static const char *const samples[] = {"catalogs/appliances.yaml", "catalogs/cloud.yaml",
                                          "catalogs/cnc.yaml", "catalogs/medical.yaml",
                                          "catalogs/projects.yaml", "catalogs/saas.yaml"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
        assert_int_equal(expect_streamed_split(samples[i], "rules", 0, 1), 0);
    char *dir = tu_tmpdir();
    char *text = gen_catalog(3000, false);
    static const double shares[] = {0.01, 0.3, 0.5, 0.97};
    for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++)
        split_case(dir, text, shares[i], 1);
    /* the products last in the file */
    char *end = strstr(text, "price_books:");
    assert_non_null(end);
    char *last = strndup(text, (size_t)(end - text));
    split_case(dir, last, 0.5, 1);
    /* items at the key's own indentation, comment lines at column 0
     * between them, a block scalar whose lines look like items */
    char *flat = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&flat, &n);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        bool in_products = p >= strstr(text, "products:") && p < end;
        if (in_products && strncmp(p, "  ", 2) == 0)
            fwrite(p + 2, 1, len - 2, f);
        else
            fwrite(p, 1, len, f);
        if (in_products && strncmp(p, "  - sku: P-01500", 16) == 0)
            fputs("# a comment at column 0\n  description: |\n    - sku: P-99999\n"
                  "    - not an item\n",
                  f);
        p += len;
    }
    fclose(f);
    split_case(dir, flat, 0.5, 1);
    /* a quoted name running over an item line and a root key: the cut
     * planned at that item line is seen for what it is (the key after the
     * products is not where the plan found it), and one thread loads the
     * file */
    {
        const char *name = "  - sku: P-01499\n    name: ";
        char *at = strstr(text, name);
        assert_non_null(at);
        at += strlen(name);
        char *eol = strchr(at, '\n');
        char *quoted = NULL;
        assert_true(asprintf(&quoted,
                             "%.*s'open\n  - sku: P-77777\n    name: x\n    category: pumps\n"
                             "    delivery: {mode: goods}\nprice_books:\n%s%s",
                             (int)(at - text), text, "'", eol) > 0);
        const char *first = strstr(quoted, "  - sku: P-00000");
        const char *cut = strstr(quoted, "  - sku: P-77777");
        const char *after = strstr(cut, "price_books:");
        double share = (double)(cut - first - 1) / (double)(after - first);
        split_case(dir, quoted, share, 0);
        free(quoted);
    }
    /* CR LF line ends: no cut is planned */
    char *crlf = NULL;
    f = open_memstream(&crlf, &n);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            fputc('\r', f);
        fputc(*p, f);
    }
    fclose(f);
    split_case(dir, crlf, 0.5, 0);
    free(crlf);
    free(flat);
    free(last);
    free(text);
    tu_rm_tree(dir);
    free(dir);
}

/* Errors anywhere in a file that streams (header and attributes before
 * the products) are reported once each, at their positions, as the whole
 * tree reports them; the file is refused whole. */
static void test_check_streamed_file_errors_once(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *text = gen_catalog(400, false);
    /* an unknown key in product 300, an unknown SKU in the book, invalid
     * UTF-8 in a later copy, a syntax error in another */
    char *at = strstr(text, "  - sku: P-00300\n");
    assert_non_null(at);
    size_t off = (size_t)(at - text) + strlen("  - sku: P-00300\n");
    char *bad = NULL;
    assert_true(asprintf(&bad, "%.*s    colour: red\n%s", (int)off, text, text + off) > 0);
    char *entry = strstr(bad, "{sku: P-00398, list");
    assert_non_null(entry);
    memcpy(entry + 6, "Q", 1);
    assert_int_equal(tu_write(dir, "bad.yaml", bad), 0);
    unsigned key_line = 1, entry_line = 1;
    for (const char *p = bad; p < bad + off; p++)
        key_line += *p == '\n';
    for (const char *p = bad; p < entry; p++)
        entry_line += *p == '\n';
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(dir, RULES, e);
    assert_null(s);
    errs_sort(e);
    for (size_t i = 0; errs_count(e) != 2 && i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        fprintf(stderr, "got: %s\n", m);
        free(m);
    }
    assert_int_equal(errs_count(e), 2);
    char want[2][256];
    snprintf(want[0], sizeof(want[0]), "%s/bad.yaml:%u:5: unknown key 'colour' in product", dir,
             key_line);
    snprintf(want[1], sizeof(want[1]),
             "%s/bad.yaml:%u:9: price-book entry refers to unknown product 'Q-00398'", dir,
             entry_line);
    for (size_t i = 0; i < 2; i++) {
        char *m = errs_format(e, i);
        if (!strstr(m, want[i]))
            fail_msg("expected\n  %s\ngot\n  %s", want[i], m);
        free(m);
    }
    errs_free(e);
    /* bytes that are not UTF-8 far into the file (a later piece) */
    char *utf = strdup(text);
    char *name = strstr(utf, "高压液压泵第390号");
    assert_non_null(name);
    memcpy(name, "\xFF" "ab", 3); /* a byte that is never UTF-8 in place of 高 */
    unsigned utf_line = 1;
    for (const char *p = utf; p < name; p++)
        utf_line += *p == '\n';
    assert_int_equal(tu_write(dir, "bad.yaml", utf), 0);
    e = errs_new();
    assert_null(cat_snapshot_load_path(dir, RULES, e));
    for (size_t i = 0; errs_count(e) != 1 && i < errs_count(e); i++) {
        char *g = errs_format(e, i);
        fprintf(stderr, "got: %s\n", g);
        free(g);
    }
    assert_int_equal(errs_count(e), 1);
    char *m = errs_format(e, 0);
    char w[256];
    snprintf(w, sizeof(w), "%s/bad.yaml:%u:11: invalid UTF-8 (catalog files are UTF-8 text)", dir,
             utf_line);
    if (!strstr(m, w))
        fail_msg("expected\n  %s\ngot\n  %s", w, m);
    free(m);
    errs_free(e);
    /* a syntax error after the products */
    char *syn = NULL;
    assert_true(asprintf(&syn, "%sfinance: [\n", text) > 0);
    assert_int_equal(tu_write(dir, "bad.yaml", syn), 0);
    e = errs_new();
    assert_null(cat_snapshot_load_path(dir, RULES, e));
    assert_int_equal(errs_count(e), 1);
    m = errs_format(e, 0);
    assert_non_null(strstr(m, "YAML syntax error"));
    free(m);
    errs_free(e);
    free(syn);
    free(utf);
    free(bad);
    free(text);
    tu_rm_tree(dir);
    free(dir);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat_loads_every_feature),
        cmocka_unit_test(test_cat_product_lookup_and_bom),
        cmocka_unit_test(test_cat_price_entries),
        cmocka_unit_test(test_cat_samples_price_every_sellable_product_forever),
        cmocka_unit_test(test_cat_samples_finance_sections),
        cmocka_unit_test(test_cat_attr_value_check),
        cmocka_unit_test(test_cat_version_is_content_hash),
        cmocka_unit_test(test_cat_current_swap_keeps_old_alive),
        cmocka_unit_test(test_cat_streamed_load_is_the_whole_tree_load),
        cmocka_unit_test(test_cat_split_load_is_the_whole_tree_load),
        cmocka_unit_test(test_check_streamed_file_errors_once),
        cmocka_unit_test(test_check_yaml_syntax),
        cmocka_unit_test(test_check_invalid_utf8_has_its_position),
        cmocka_unit_test(test_check_control_character_has_its_position),
        cmocka_unit_test(test_check_unknown_key),
        cmocka_unit_test(test_check_wrong_type),
        cmocka_unit_test(test_check_missing_field),
        cmocka_unit_test(test_check_missing_category_and_category_rules),
        cmocka_unit_test(test_check_unknown_promotion_effect),
        cmocka_unit_test(test_check_duplicate_sku),
        cmocka_unit_test(test_check_unknown_product),
        cmocka_unit_test(test_check_bom_cycle),
        cmocka_unit_test(test_cat_options_in_batches),
        cmocka_unit_test(test_check_unknown_attribute),
        cmocka_unit_test(test_check_missing_rule_file),
        cmocka_unit_test(test_check_rule_that_does_not_compile),
        cmocka_unit_test(test_cat_rules_compiled_at_load),
        cmocka_unit_test(test_check_invalid_pattern),
        cmocka_unit_test(test_check_value_outside_pattern_and_domain),
        cmocka_unit_test(test_check_too_many_decimals),
        cmocka_unit_test(test_check_window_ends_before_start),
        cmocka_unit_test(test_check_overlapping_entries),
        cmocka_unit_test(test_check_constraint_references),
        cmocka_unit_test(test_check_milestones_add_to_100),
        cmocka_unit_test(test_check_unknown_payment_term_refs),
        cmocka_unit_test(test_cat_payment_term_refs_loaded),
        cmocka_unit_test(test_cat_partner_can_accept),
        cmocka_unit_test(test_check_bill_day_and_equal_parts),
        cmocka_unit_test(test_check_quantity_rules),
        cmocka_unit_test(test_cat_quantity_rules_loaded),
        cmocka_unit_test(test_cat_bill_day_and_parts_loaded),
        cmocka_unit_test(test_check_finance_section_errors),
        cmocka_unit_test(test_cat_finance_section_loaded),
        cmocka_unit_test(test_check_issuers_across_catalogs),
        cmocka_unit_test(test_check_reports_every_file_at_once),
        cmocka_unit_test(test_cat_many_files_keep_catalog_pointers),
        cmocka_unit_test(test_cat_mode_table),
        cmocka_unit_test(test_cat_price_bounds),
    };
    return cmocka_run_group_tests_name("cat", tests, NULL, NULL);
}
