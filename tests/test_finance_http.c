/*
 * End-to-end tests of the finance loop (docs/finance.md): the real
 * binary with --keys and --db on tests/data/fin/catalogs, whose round
 * numbers make every figure computable by hand. BOX is 1,000.00 + 13% =
 * 1,130.00, 30% on signing (339.00: net 300.00, tax 39.00) and 70% on
 * delivery (791.00: 700.00 + 91.00); SETUP is 100.00 + 6% = 106.00 on
 * its milestone; SEAT (catalog finsub, invoiced by the sweep on the bill
 * date) 106.00 a month for three months.
 *
 * Covers: invoices (lines, tax per class, totals, number, Location, the
 * document in Chinese and English, the voucher, invoice.issued,
 * Idempotency-Key), credit notes (a cancellation by a manager, the item
 * invoiced again; a seat-change credit), statement import (CSV and
 * camt.053, matched by reference, the rest queued, duplicates change
 * nothing), manual matches and their reversal, write-offs within the
 * caller's authority, the voucher feed (every voucher balanced, the
 * pages, the CSV), revenue as of a date, customers' credit limits and
 * flags with the accept's credit approval, the sweep's invoices and
 * revenue vouchers; customer credit applied to items that fell due and
 * to invoices, once per item; the invoice list with its filters and
 * pages; every bad input answered with its error and nothing
 * changed.
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

/* ---- fixture: the fin catalogs ---- */

static int fin_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "fin");
    make_keys(f);
    char *cats = tu_path("tests/data/fin/catalogs");
    start_with(f, cats, NULL);
    free(cats);
    return 0;
}

#define TF(name) cmocka_unit_test_setup_teardown(name, fin_setup, teardown)

/* ---- calls ---- */

/* A call whose reply is not JSON (a page, a CSV): the body (malloc'ed)
 * and a header's value. */
static int call_raw(fx *f, int k, const char *method, const char *path, const char *body,
                    const char *extra, char **out, const char *header, char *hval, size_t hcap)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", f->key[k], extra ? extra : "");
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    int st = r.status;
    if (header && !tu_header(&r, header, hval, hcap))
        hval[0] = '\0';
    *out = r.body ? strdup(r.body) : strdup("");
    tu_resp_free(&r);
    return st;
}

/* POST path with body as k, expecting status; the reply's JSON. */
static json_t *post_ok(fx *f, int k, const char *path, const char *body, int status)
{
    json_t *j;
    int st = call(f, k, "POST", path, body, &j);
    if (st != status)
        fail_msg("POST %s: %d, expected %d: %s", path, st, status, json_dumps(j, 0));
    return j;
}

static json_t *get_ok(fx *f, int k, const char *path)
{
    json_t *j;
    int st = call(f, k, "GET", path, NULL, &j);
    if (st != 200)
        fail_msg("GET %s: %d %s", path, st, json_dumps(j, 0));
    return j;
}

/* The error message of an error reply (and frees it). */
static char *err_msg(json_t *j)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    char *s = strdup(m ? m : "");
    json_decref(j);
    return s;
}

static void expect_error(fx *f, int k, const char *method, const char *path, const char *body,
                         const char *extra, int status, const char *needle)
{
    json_t *j;
    int st = call_h(f, k, method, path, body, extra, &j);
    char *m = err_msg(j);
    if (st != status || !strstr(m, needle))
        fail_msg("%s %s: %d \"%s\", expected %d with \"%s\"", method, path, st, m, status, needle);
    free(m);
}

#define BOX_SETUP_Q                                                                                \
    "{\"customer\":{\"id\":\"%s\"},\"date\":\"2026-12-01\",\"lines\":["                            \
    "{\"id\":\"box\",\"sku\":\"BOX\",\"quantity\":\"1\"},"                                         \
    "{\"id\":\"setup\",\"sku\":\"SETUP\",\"quantity\":\"1\"}]}"
#define DONE_ALL                                                                                   \
    "{\"signed_on\":\"2026-12-01\",\"lines\":{\"box\":{\"delivered_on\":\"2026-12-01\"},"          \
    "\"setup\":{\"milestones\":{\"done\":\"2026-12-01\"}}}}"

/* A contract of BOX and SETUP for customer, accepted with accept. */
static json_t *contract_new(fx *f, const char *customer, const char *accept)
{
    char *q = tu_fmt(BOX_SETUP_Q, customer);
    json_t *quote = approved_quote(f, K_REP, q);
    json_t *c = accept_ok(f, K_CRM, js(quote, "id"), accept);
    free(q);
    json_decref(quote);
    return c;
}

/* The id of the contract's item of line `line` with amount `amount`. */
static const char *item_id(json_t *contract, const char *line, const char *amount)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(contract, "items"), i, it)
    {
        if (!strcmp(js(it, "line"), line) && !strcmp(js(it, "amount"), amount))
            return js(it, "id");
    }
    fail_msg("no item %s %s", line, amount);
    return NULL;
}

/* The contract's item rid as GET shows it now. */
static json_t *item_now(fx *f, const char *cid, const char *rid)
{
    char *p = tu_fmt("/v1/contracts/%s", cid);
    json_t *c = get_ok(f, K_CRM, p), *it, *out = NULL;
    size_t i;
    free(p);
    json_array_foreach(json_object_get(c, "items"), i, it) if (!strcmp(js(it, "id"), rid)) out =
        json_incref(it);
    json_decref(c);
    assert_non_null(out);
    return out;
}

static json_t *issue(fx *f, int k, const char *cid, const char *body)
{
    char *p = tu_fmt("/v1/contracts/%s/invoices", cid);
    json_t *v = post_ok(f, k, p, body, 201);
    free(p);
    return v;
}

/* Every voucher of the feed (all pages of limit), checked balanced:
 * returns how many, their lines in *lines. */
static size_t vouchers_all(fx *f, size_t limit, size_t *lines)
{
    char next[32] = "0";
    size_t n = 0;
    *lines = 0;
    for (;;) {
        char *p = tu_fmt("/v1/vouchers?after=%s&limit=%zu", next, limit);
        json_t *v = get_ok(f, K_CRM, p), *x;
        size_t i;
        free(p);
        size_t got = json_array_size(json_object_get(v, "items"));
        json_array_foreach(json_object_get(v, "items"), i, x)
        {
            money_dec d = money_from_int(0), c = money_from_int(0);
            json_t *l;
            size_t k;
            json_array_foreach(json_object_get(x, "lines"), k, l)
            {
                assert_int_equal(money_add(d, dec(js(l, "debit")), &d), 0);
                assert_int_equal(money_add(c, dec(js(l, "credit")), &c), 0);
                (*lines)++;
            }
            assert_int_equal(money_cmp(d, c), 0);
            assert_dec_eq(d, js(x, "total"));
        }
        snprintf(next, sizeof(next), "%s", js(v, "next"));
        json_decref(v);
        n += got;
        if (got < limit)
            return n;
    }
}

/* The vouchers of kind (the last one first found from the end). */
static json_t *voucher_of(fx *f, const char *kind, const char *source)
{
    json_t *v = get_ok(f, K_CRM, "/v1/vouchers?limit=500"), *x, *out = NULL;
    size_t i;
    json_array_foreach(json_object_get(v, "items"), i, x) if (
        !strcmp(js(x, "kind"), kind) && (!source || !strcmp(js(x, "source"), source))) out = x;
    if (!out)
        fail_msg("no %s voucher of %s", kind, source ? source : "-");
    json_incref(out);
    json_decref(v);
    return out;
}

/* Line i of voucher v: account, debit, credit. */
static void vline(json_t *v, size_t i, const char *account, const char *debit, const char *credit)
{
    json_t *l = json_array_get(json_object_get(v, "lines"), i);
    assert_non_null(l);
    assert_string_equal(js(l, "account"), account);
    assert_string_equal(js(l, "debit"), debit);
    assert_string_equal(js(l, "credit"), credit);
}

/* How many events of type the feed holds. */
static size_t events_of(fx *f, const char *type)
{
    json_t *v = get_ok(f, K_CRM, "/v1/events?limit=500"), *e;
    size_t i, n = 0;
    json_array_foreach(json_object_get(v, "items"), i, e) n += !strcmp(js(e, "type"), type);
    json_decref(v);
    return n;
}

static size_t feed_size(fx *f, const char *path)
{
    json_t *v = get_ok(f, K_CRM, path);
    size_t n = json_array_size(json_object_get(v, "items"));
    json_decref(v);
    return n;
}

/* Runs sql on the test's database behind the server (a damaged record,
 * as a failing disk or a hand edit leaves it): exactly one row changed. */
static void damage(fx *f, const char *sql)
{
    store *st = NULL;
    int64_t changed = 0;
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    store_close(st);
}

/* The "damaged" of page j: exactly one, id with a reason holding why. */
static void damaged_is(json_t *j, const char *id, const char *why)
{
    json_t *d = json_object_get(j, "damaged");
    if (json_array_size(d) != 1)
        fail_msg("damaged: %s", json_dumps(j, 0));
    assert_string_equal(js(json_array_get(d, 0), "id"), id);
    assert_non_null(strstr(js(json_array_get(d, 0), "reason"), why));
}

/* ---- invoices ---- */

static void test_invoice_lines_tax_document_voucher_event(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    const char *cid = js(c, "id");
    /* a partner may not invoice; a bad request changes nothing */
    char *p = tu_fmt("/v1/contracts/%s/invoices", cid);
    expect_error(f, K_PARTNER_A, "POST", p, "{}", NULL, 403, "may not call");
    expect_error(f, K_REP, "POST", p, "{\"items\":[\"r_none\"]}", NULL, 400,
                 "items[0]: r_none is not an item of contract C-2026-000001");
    expect_error(f, K_REP, "POST", p, "{\"kind\":\"bill\"}", NULL, 400, "kind:");
    expect_error(f, K_REP, "POST", p, "{\"issued_on\":\"2026-13-01\"}", NULL, 400, "issued_on");
    expect_error(f, K_REP, "POST", p, "{\"extra\":1}", NULL, 400, "extra");
    expect_error(f, K_REP, "POST", p, "{\"kind\":\"credit_note\"}", NULL, 409,
                 "nothing to put on a credit_note");
    assert_int_equal(feed_size(f, "/v1/vouchers"), 0);
    assert_int_equal(events_of(f, "invoice.issued"), 0);
    /* every item due: one invoice */
    char loc[128];
    char *body = NULL;
    int st = call_raw(f, K_REP, "POST", p, "{}", NULL, &body, "Location", loc, sizeof(loc));
    assert_int_equal(st, 201);
    json_error_t je;
    json_t *v = json_loads(body, 0, &je);
    free(body);
    assert_non_null(v);
    char *want = tu_fmt("/v1/invoices/%s", js(v, "id"));
    assert_string_equal(loc, want);
    free(want);
    assert_string_equal(js(v, "number"), "INV-T-2026-000001");
    assert_string_equal(js(v, "kind"), "invoice");
    assert_string_equal(js(v, "status"), "issued");
    assert_string_equal(js(v, "issued_on"), "2026-12-01");
    assert_string_equal(js(v, "due_on"), "2026-12-01");
    assert_string_equal(js(v, "contract_number"), "C-2026-000001");
    assert_string_equal(js(json_object_get(v, "issuer"), "id"), "FIN-SH");
    /* 1,236.00 = 339.00 + 791.00 + 106.00; tax taken out per line */
    assert_string_equal(js(v, "total"), "1236.00");
    assert_string_equal(js(v, "net"), "1100.00");
    assert_string_equal(js(v, "tax"), "136.00");
    json_t *lines = json_object_get(v, "lines");
    assert_int_equal(json_array_size(lines), 3);
    static const char *const want_lines[3][5] = {{"box", "300.00", "39.00", "339.00", "0.13"},
                                                 {"box", "700.00", "91.00", "791.00", "0.13"},
                                                 {"setup", "100.00", "6.00", "106.00", "0.06"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *l = json_array_get(lines, i);
        assert_string_equal(js(l, "line"), want_lines[i][0]);
        assert_string_equal(js(l, "net"), want_lines[i][1]);
        assert_string_equal(js(l, "tax"), want_lines[i][2]);
        assert_string_equal(js(l, "total"), want_lines[i][3]);
        assert_string_equal(js(l, "tax_rate"), want_lines[i][4]);
    }
    json_t *t0 = json_array_get(json_object_get(v, "taxes"), 0);
    assert_string_equal(js(t0, "tax_class"), "standard");
    assert_string_equal(js(t0, "total"), "1130.00");
    assert_string_equal(js(t0, "tax"), "130.00");
    /* nothing is left to invoice */
    expect_error(f, K_REP, "POST", p, "{}", NULL, 409, "nothing to put on an invoice");
    char *one = tu_fmt("{\"items\":[\"%s\"]}", item_id(c, "box", "339.00"));
    expect_error(f, K_REP, "POST", p, one, NULL, 409, "is already on document");
    free(one);
    /* GET it, and the contract's list */
    char *gp = tu_fmt("/v1/invoices/%s", js(v, "id"));
    json_t *g = get_ok(f, K_REP, gp);
    assert_string_equal(js(g, "number"), "INV-T-2026-000001");
    json_decref(g);
    json_t *list = get_ok(f, K_REP, p);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_string_equal(js(list, "next"), "1");
    json_decref(list);
    /* the page, in Chinese and English: the total in capital numerals */
    char *dp = tu_fmt("/v1/invoices/%s/document?lang=zh", js(v, "id")), lang[32];
    assert_int_equal(call_raw(f, K_REP, "GET", dp, NULL, NULL, &body, "Content-Language", lang,
                              sizeof(lang)),
                     200);
    assert_string_equal(lang, "zh-CN");
    assert_non_null(strstr(body, "壹仟贰佰叁拾陆元整"));
    assert_non_null(strstr(body, "INV-T-2026-000001"));
    assert_non_null(strstr(body, "测试开票有限公司"));
    free(body), free(dp);
    dp = tu_fmt("/v1/invoices/%s/document?lang=en", js(v, "id"));
    assert_int_equal(call_raw(f, K_REP, "GET", dp, NULL, NULL, &body, NULL, NULL, 0), 200);
    assert_non_null(strstr(body, "1,236.00") ? body : strstr(body, "1236.00"));
    free(body), free(dp);
    dp = tu_fmt("/v1/invoices/%s/document?lang=fr", js(v, "id"));
    expect_error(f, K_REP, "GET", dp, NULL, NULL, 400, "lang must be one of zh, en");
    free(dp);
    expect_error(f, K_REP, "GET", "/v1/invoices/inv_none", NULL, NULL, 404, "no invoice");
    /* its voucher: receivable against contract liability and tax per class */
    json_t *vo = voucher_of(f, "invoice", "INV-T-2026-000001");
    assert_string_equal(js(vo, "total"), "1236.00");
    vline(vo, 0, "1122", "1236.00", "0.00");
    vline(vo, 1, "2204", "0.00", "1000.00");
    vline(vo, 2, "2221.13", "0.00", "130.00");
    vline(vo, 3, "2204", "0.00", "100.00");
    vline(vo, 4, "2221.06", "0.00", "6.00");
    json_decref(vo);
    assert_int_equal(events_of(f, "invoice.issued"), 1);
    free(gp), free(p);
    json_decref(v);
    json_decref(c);
}

static void test_invoice_idempotency_key(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    char *p = tu_fmt("/v1/contracts/%s/invoices", js(c, "id"));
    json_t *a, *b;
    assert_int_equal(call_h(f, K_REP, "POST", p, "{}", "Idempotency-Key: inv-1\r\n", &a), 201);
    char *body = NULL, loc[128];
    assert_int_equal(call_raw(f, K_REP, "POST", p, "{}", "Idempotency-Key: inv-1\r\n", &body,
                              "Location", loc, sizeof(loc)),
                     201);
    json_error_t je;
    b = json_loads(body, 0, &je);
    free(body);
    assert_string_equal(js(a, "id"), js(b, "id"));
    char *want = tu_fmt("/v1/invoices/%s", js(a, "id"));
    assert_string_equal(loc, want);
    free(want);
    expect_error(f, K_REP, "POST", p, "{\"kind\":\"invoice\"}", "Idempotency-Key: inv-1\r\n", 409,
                 "already used with a different request");
    json_t *list = get_ok(f, K_REP, p);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list), json_decref(a), json_decref(b), json_decref(c);
    free(p);
}

/* A goods item pending delivery is not invoiced until it is due. */
static void test_invoice_only_due_items_then_the_rest(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", "{\"signed_on\":\"2026-12-01\"}");
    json_t *v = issue(f, K_REP, js(c, "id"), "");
    /* only 30% on signing is due: 339.00 */
    assert_string_equal(js(v, "total"), "339.00");
    assert_int_equal(json_array_size(json_object_get(v, "lines")), 1);
    char *p = tu_fmt("/v1/contracts/%s/invoices", js(c, "id"));
    char *b = tu_fmt("{\"items\":[\"%s\"]}", item_id(c, "box", "791.00"));
    expect_error(f, K_REP, "POST", p, b, NULL, 400, "not invoiced");
    free(b);
    char *dp = tu_fmt("/v1/contracts/%s/lines/box/delivered", js(c, "id"));
    json_decref(post_ok(f, K_CRM, dp, "{\"on\":\"2026-12-03\"}", 200));
    free(dp);
    json_decref(v);
    v = issue(f, K_REP, js(c, "id"), "{\"issued_on\":\"2026-12-03\"}");
    assert_string_equal(js(v, "number"), "INV-T-2026-000002");
    assert_string_equal(js(v, "total"), "791.00");
    assert_string_equal(js(v, "issued_on"), "2026-12-03");
    expect_error(f, K_REP, "POST", p, "{\"issued_on\":\"2026-11-30\"}", NULL, 400, "issued_on");
    free(p);
    json_decref(v), json_decref(c);
}

static void test_invoice_cancel_and_invoice_again(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    json_t *v = issue(f, K_REP, js(c, "id"), "");
    const char *r791 = item_id(c, "box", "791.00");
    char *p = tu_fmt("/v1/invoices/%s/cancel", js(v, "id"));
    char *one = tu_fmt("{\"items\":[\"%s\"]}", r791);
    expect_error(f, K_REP, "POST", p, one, NULL, 403, "may not call");
    expect_error(f, K_MANAGER, "POST", p, "{\"items\":[\"r_other\"]}", NULL, 400,
                 "is not on the invoice");
    assert_int_equal(feed_size(f, "/v1/vouchers"), 1);
    json_t *cn = post_ok(f, K_MANAGER, p, one, 201);
    assert_string_equal(js(cn, "number"), "CN-T-2026-000001");
    assert_string_equal(js(cn, "kind"), "credit_note");
    assert_string_equal(js(cn, "reason"), "cancellation");
    assert_string_equal(js(cn, "original"), "INV-T-2026-000001");
    assert_string_equal(js(cn, "original_id"), js(v, "id"));
    assert_string_equal(js(cn, "total"), "-791.00");
    assert_string_equal(js(cn, "tax"), "-91.00");
    expect_error(f, K_MANAGER, "POST", p, one, NULL, 409, "is cancelled already");
    /* the invoice shows the cancelled line */
    char *gp = tu_fmt("/v1/invoices/%s", js(v, "id"));
    json_t *g = get_ok(f, K_REP, gp);
    assert_string_equal(js(g, "status"), "partially_cancelled");
    assert_string_equal(js(json_array_get(json_object_get(g, "cancelled"), 0), "receivable_id"),
                        r791);
    json_decref(g);
    /* the voucher mirrors the line against receivable */
    json_t *vo = voucher_of(f, "credit_note", "CN-T-2026-000001");
    vline(vo, 0, "2204", "700.00", "0.00");
    vline(vo, 1, "2221.13", "91.00", "0.00");
    vline(vo, 2, "1122", "0.00", "791.00");
    json_decref(vo);
    assert_int_equal(events_of(f, "credit_note.issued"), 1);
    /* the item is invoiced again */
    json_t *again = issue(f, K_REP, js(c, "id"), one);
    assert_string_equal(js(again, "number"), "INV-T-2026-000002");
    assert_string_equal(js(again, "total"), "791.00");
    /* the rest of the first invoice, cancelled: now wholly */
    json_t *cn2 = post_ok(f, K_MANAGER, p, "", 201);
    assert_string_equal(js(cn2, "total"), "-445.00"); /* 339.00 + 106.00 */
    g = get_ok(f, K_REP, gp);
    assert_string_equal(js(g, "status"), "cancelled");
    json_decref(g);
    expect_error(f, K_MANAGER, "POST", p, "", NULL, 409, "cancelled already");
    char *cp = tu_fmt("/v1/invoices/%s/cancel", js(cn, "id"));
    expect_error(f, K_MANAGER, "POST", cp, "", NULL, 409, "is a credit note");
    free(cp);
    free(p), free(one), free(gp);
    json_decref(cn), json_decref(cn2), json_decref(again), json_decref(v), json_decref(c);
}

/* ---- statements, matching ---- */

#define CSV_HEAD "bank_tx_id,value_date,amount,currency,debtor_name,debtor_account,remittance\n"
#define CT_CSV "Content-Type: text/csv\r\n"

static json_t *import(fx *f, int k, const char *csv, int status)
{
    json_t *j;
    int st = call_h(f, k, "POST", "/v1/bank/statements?issuer=FIN-SH", csv, CT_CSV, &j);
    if (st != status)
        fail_msg("import: %d, expected %d: %s", st, status, json_dumps(j, 0));
    return j;
}

static void test_statement_import_matches_and_queues(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL), *j;
    json_decref(issue(f, K_REP, js(c, "id"), ""));
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-1",
                          "{\"name\":\"北京华信贸易有限公司\",\"accounts\":[\"6222 0000 1111 2222\"]}",
                          &j),
                     200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "accounts"), 0)),
                        "6222000011112222");
    json_decref(j);
    size_t vouchers = feed_size(f, "/v1/vouchers");
    /* bad statements are refused whole and change nothing */
    json_t *bad;
    assert_int_equal(call_h(f, K_CRM, "POST", "/v1/bank/statements?issuer=FIN-SH",
                            CSV_HEAD "ICBC-1,2026-12-01,1236.005,CNY,x,,y\n", CT_CSV, &bad),
                     400);
    json_t *d0 = json_array_get(json_object_get(json_object_get(bad, "error"), "details"), 0);
    assert_string_equal(js(d0, "message"), "amount '1236.005' has more places than CNY allows (2)");
    assert_string_equal(js(d0, "file"), "statement.csv");
    assert_int_equal(json_integer_value(json_object_get(d0, "line")), 2);
    json_decref(bad);
    expect_error(f, K_CRM, "POST", "/v1/bank/statements", CSV_HEAD "ICBC-1,2026-12-01,1.00,CNY,x,,y\n",
                 NULL, 400, "format:");
    expect_error(f, K_CRM, "POST", "/v1/bank/statements?format=csv",
                 CSV_HEAD "ICBC-1,2026-12-01,1.00,CNY,x,,y\n", NULL, 400, "issuer:");
    expect_error(f, K_CRM, "POST", "/v1/bank/statements?format=csv&issuer=NOPE",
                 CSV_HEAD "ICBC-1,2026-12-01,1.00,CNY,x,,y\n", NULL, 400, "issuer: no catalog");
    expect_error(f, K_REP, "POST", "/v1/bank/statements?issuer=FIN-SH",
                 CSV_HEAD "ICBC-1,2026-12-01,1.00,CNY,x,,y\n", CT_CSV, 403, "may not call");
    assert_int_equal(feed_size(f, "/v1/vouchers"), vouchers);
    assert_int_equal(feed_size(f, "/v1/bank/credits"), 0);
    /* the invoice paid in full by reference; money nobody owes; a debit */
    static const char csv[] =
        CSV_HEAD "ICBC-1,2026-12-01,1236.00,CNY,北京华信贸易有限公司,6222000011112222,"
                 "\"货款, 发票号 INV-T-2026-000001\"\n"
                 "ICBC-2,2026-12-01,500.00,CNY,Someone Else Ltd,,advance\n"
                 "ICBC-3,2026-12-01,-20.00,CNY,,,fee\n";
    char loc[128], *body = NULL;
    assert_int_equal(call_raw(f, K_CRM, "POST", "/v1/bank/statements?issuer=FIN-SH", csv, CT_CSV,
                              &body, "Location", loc, sizeof(loc)),
                     201);
    json_error_t je;
    json_t *s = json_loads(body, 0, &je);
    free(body);
    assert_int_equal(json_integer_value(json_object_get(s, "credits")), 2);
    assert_int_equal(json_integer_value(json_object_get(s, "matched")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "unmatched")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "skipped")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "duplicates")), 0);
    char *want = tu_fmt("/v1/bank/statements/%s", js(s, "id"));
    assert_string_equal(loc, want);
    json_decref(get_ok(f, K_CRM, want));
    free(want);
    json_decref(s);
    /* every item is paid */
    const char *ids[3] = {item_id(c, "box", "339.00"), item_id(c, "box", "791.00"),
                          item_id(c, "setup", "106.00")};
    for (int i = 0; i < 3; i++) {
        json_t *it = item_now(f, js(c, "id"), ids[i]);
        assert_string_equal(js(it, "payment_status"), "paid");
        assert_string_equal(js(it, "outstanding"), "0.00");
        json_decref(it);
    }
    assert_int_equal(events_of(f, "payment.matched"), 1);
    assert_int_equal(events_of(f, "receivable.paid"), 3);
    /* two payment vouchers (bank against customer credit), one match */
    json_t *pv = voucher_of(f, "payment", "ICBC-1");
    vline(pv, 0, "1002", "1236.00", "0.00");
    vline(pv, 1, "2203", "0.00", "1236.00");
    json_decref(pv);
    json_t *mv = voucher_of(f, "match", "ICBC-1");
    vline(mv, 0, "2203", "1236.00", "0.00");
    vline(mv, 1, "1122", "0.00", "1236.00");
    assert_string_equal(js(mv, "customer_id"), "C-1");
    json_decref(mv);
    /* the queue holds the other one */
    json_t *q = get_ok(f, K_MANAGER, "/v1/bank/credits?status=unmatched");
    assert_int_equal(json_array_size(json_object_get(q, "items")), 1);
    json_t *u = json_array_get(json_object_get(q, "items"), 0);
    assert_string_equal(js(u, "tx_id"), "ICBC-2");
    assert_string_equal(js(u, "unapplied"), "500.00");
    assert_true(json_is_null(json_object_get(u, "customer_id")));
    json_decref(q);
    expect_error(f, K_MANAGER, "GET", "/v1/bank/credits?status=lost", NULL, NULL, 400,
                 "status must be one of unmatched, matched");
    /* the same file again: duplicates, nothing changes */
    size_t before = feed_size(f, "/v1/vouchers?limit=500");
    s = import(f, K_CRM, csv, 201);
    assert_int_equal(json_integer_value(json_object_get(s, "credits")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "duplicates")), 2);
    json_decref(s);
    assert_int_equal(feed_size(f, "/v1/vouchers?limit=500"), before);
    assert_int_equal(events_of(f, "payment.matched"), 1);
    assert_int_equal(feed_size(f, "/v1/bank/credits"), 2);
    /* the customer's money not applied: none; its open receivables: none */
    json_t *cu = get_ok(f, K_REP, "/v1/customers/C-1");
    assert_int_equal(json_array_size(json_object_get(cu, "open_receivables")), 0);
    assert_int_equal(json_array_size(json_object_get(cu, "customer_credit")), 0);
    json_decref(cu);
    json_decref(c);
}

/* A camt.053 statement: its account names the issuer. */
static void test_statement_camt053_by_account(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-2", DONE_ALL);
    json_decref(issue(f, K_REP, js(c, "id"), ""));
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-02T08:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>STMT-1</Id><CreDtTm>2026-12-02T08:00:00</CreDtTm>"
        "<Acct><Id><Othr><Id>6222 0000 9999 0001</Id></Othr></Id></Acct>"
        "<Ntry><Amt Ccy=\"CNY\">339.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        "<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>"
        "<AcctSvcrRef>CAMT-1</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Customer Two</Nm>"
        "</Dbtr></RltdPties><RmtInf><Ustrd>INV-T-2026-000001 30%</Ustrd></RmtInf></TxDtls>"
        "</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>\n";
    json_t *s;
    int st = call_h(f, K_CRM, "POST", "/v1/bank/statements", xml, "Content-Type: application/xml\r\n",
                    &s);
    if (st != 201)
        fail_msg("camt: %d %s", st, json_dumps(s, 0));
    assert_string_equal(js(s, "issuer"), "FIN-SH");
    assert_string_equal(js(s, "format"), "camt053");
    assert_string_equal(js(s, "statement_ref"), "STMT-1");
    assert_int_equal(json_integer_value(json_object_get(s, "credits")), 1);
    json_decref(s);
    /* a DOCTYPE is refused before the parser sees it */
    expect_error(f, K_CRM, "POST", "/v1/bank/statements?format=camt053&issuer=FIN-SH",
                 "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><Document/>", NULL, 400,
                 "DOCTYPE");
    json_decref(c);
}

static void test_manual_match_and_reverse(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    json_decref(issue(f, K_REP, js(c, "id"), ""));
    json_t *s = import(f, K_CRM, CSV_HEAD "ICBC-9,2026-12-01,1000.00,CNY,Unknown Payer,,\n", 201);
    assert_int_equal(json_integer_value(json_object_get(s, "unmatched")), 1);
    json_decref(s);
    json_t *q = get_ok(f, K_MANAGER, "/v1/bank/credits?status=unmatched");
    const char *bc = js(json_array_get(json_object_get(q, "items"), 0), "id");
    const char *r339 = item_id(c, "box", "339.00"), *r791 = item_id(c, "box", "791.00");
    char *p = tu_fmt("/v1/bank/credits/%s/match", bc);
    char *good = tu_fmt("{\"allocations\":[{\"receivable_id\":\"%s\",\"amount\":\"339.00\"},"
                        "{\"receivable_id\":\"%s\",\"amount\":\"661.00\"}],\"note\":\"per phone\"}",
                        r339, r791);
    size_t vouchers = feed_size(f, "/v1/vouchers?limit=500");
    /* who may, and what is refused (nothing changes) */
    expect_error(f, K_REP, "POST", p, good, NULL, 403, "may not call");
    expect_error(f, K_CRM, "POST", p, good, NULL, 403, "may not call");
    char *bad = tu_fmt("{\"allocations\":[{\"receivable_id\":\"%s\",\"amount\":\"340.00\"}]}", r339);
    expect_error(f, K_MANAGER, "POST", p, bad, NULL, 400, "open");
    free(bad);
    bad = tu_fmt("{\"allocations\":[{\"receivable_id\":\"%s\",\"amount\":\"1.001\"}]}", r339);
    expect_error(f, K_MANAGER, "POST", p, bad, NULL, 400, "decimal places");
    free(bad);
    expect_error(f, K_MANAGER, "POST", p,
                 "{\"allocations\":[{\"receivable_id\":\"r_none\",\"amount\":\"1.00\"}]}", NULL,
                 400, "no receivable 'r_none'");
    bad = tu_fmt("{\"allocations\":[{\"receivable_id\":\"%s\",\"amount\":\"339.00\"},"
                 "{\"receivable_id\":\"%s\",\"amount\":\"700.00\"}]}",
                 r339, r791);
    expect_error(f, K_MANAGER, "POST", p, bad, NULL, 400, "add up to more than the credit");
    free(bad);
    expect_error(f, K_MANAGER, "POST", p, "{\"allocations\":[]}", NULL, 400, "customer_id");
    expect_error(f, K_MANAGER, "POST", "/v1/bank/credits/bc_none/match", good, NULL, 404,
                 "no bank credit");
    assert_int_equal(feed_size(f, "/v1/vouchers?limit=500"), vouchers);
    json_t *it = item_now(f, js(c, "id"), r339);
    assert_string_equal(js(it, "outstanding"), "339.00");
    json_decref(it);
    /* a person's match */
    char loc[128], *body = NULL;
    assert_int_equal(
        call_raw(f, K_MANAGER, "POST", p, good, NULL, &body, "Location", loc, sizeof(loc)), 201);
    json_error_t je;
    json_t *m = json_loads(body, 0, &je);
    free(body);
    assert_string_equal(js(m, "kind"), "manual");
    assert_string_equal(js(m, "amount"), "1000.00");
    assert_string_equal(js(m, "overpaid"), "0.00");
    assert_string_equal(js(m, "customer_id"), "C-1");
    assert_string_equal(js(m, "note"), "per phone");
    char *want = tu_fmt("/v1/matches/%s", js(m, "id"));
    assert_string_equal(loc, want);
    json_t *mg = get_ok(f, K_CRM, want);
    assert_string_equal(js(mg, "status"), "active");
    assert_int_equal(json_array_size(json_object_get(mg, "allocations")), 2);
    json_decref(mg);
    free(want);
    it = item_now(f, js(c, "id"), r791);
    assert_string_equal(js(it, "outstanding"), "130.00");
    json_decref(it);
    json_t *mv = voucher_of(f, "match", "ICBC-9");
    vline(mv, 0, "2203", "1000.00", "0.00");
    vline(mv, 1, "1122", "0.00", "1000.00");
    json_decref(mv);
    char *cp = tu_fmt("/v1/bank/credits/%s", bc);
    json_t *cr = get_ok(f, K_CRM, cp);
    assert_string_equal(js(cr, "status"), "matched");
    assert_string_equal(js(cr, "applied"), "1000.00");
    assert_string_equal(js(cr, "customer_id"), "C-1");
    assert_int_equal(json_array_size(json_object_get(cr, "matches")), 1);
    json_decref(cr);
    expect_error(f, K_MANAGER, "POST", p, good, NULL, 409, "is applied in full");
    /* reversed: the items open again, the credit back in the queue */
    char *rp = tu_fmt("/v1/matches/%s/reverse", js(m, "id"));
    expect_error(f, K_REP, "POST", rp, "{}", NULL, 403, "may not call");
    expect_error(f, K_MANAGER, "POST", rp, "{\"note\":7}", NULL, 400, "note");
    json_t *r = post_ok(f, K_MANAGER, rp, "{\"note\":\"wrong customer\"}", 200);
    assert_string_equal(js(r, "status"), "reversed");
    assert_string_equal(js(r, "reverse_note"), "wrong customer");
    json_decref(r);
    expect_error(f, K_MANAGER, "POST", rp, "{}", NULL, 409, "was reversed on");
    it = item_now(f, js(c, "id"), r339);
    assert_string_equal(js(it, "outstanding"), "339.00");
    json_decref(it);
    cr = get_ok(f, K_CRM, cp);
    assert_string_equal(js(cr, "status"), "unmatched");
    assert_string_equal(js(cr, "unapplied"), "1000.00");
    json_decref(cr);
    json_t *uv = voucher_of(f, "unmatch", "ICBC-9");
    vline(uv, 0, "1122", "1000.00", "0.00");
    vline(uv, 1, "2203", "0.00", "1000.00");
    json_decref(uv);
    assert_int_equal(events_of(f, "payment.matched"), 1);
    assert_int_equal(events_of(f, "payment.unmatched"), 1);
    /* kept for the customer as credit, unapplied */
    json_t *k = post_ok(f, K_MANAGER, p, "{\"allocations\":[],\"customer_id\":\"C-1\"}", 201);
    assert_string_equal(js(k, "amount"), "0.00");
    assert_string_equal(js(k, "overpaid"), "1000.00");
    json_decref(k);
    json_t *cu = get_ok(f, K_REP, "/v1/customers/C-1");
    assert_string_equal(js(json_array_get(json_object_get(cu, "customer_credit"), 0), "amount"),
                        "1000.00");
    json_decref(cu);
    free(rp), free(cp), free(p), free(good);
    json_decref(m), json_decref(q), json_decref(c);
}

/* ---- write-offs ---- */

static void test_write_off_within_authority(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    const char *r339 = item_id(c, "box", "339.00"), *r106 = item_id(c, "setup", "106.00");
    /* 60.00 of 339.00 is 17.6992%: within a manager's 20% */
    char *p = tu_fmt("/v1/receivables/%s/write-off", r339);
    expect_error(f, K_REP, "POST", p, "{\"reason\":\"x\"}", NULL, 403, "may not call");
    expect_error(f, K_MANAGER, "POST", p, "{\"amount\":\"60.00\"}", NULL, 400, "reason");
    expect_error(f, K_MANAGER, "POST", p, "{\"amount\":\"400.00\",\"reason\":\"x\"}", NULL, 409,
                 "has 339.00 CNY outstanding");
    expect_error(f, K_MANAGER, "POST", p, "{\"amount\":\"70.00\",\"reason\":\"x\"}", NULL, 403,
                 "writing off 20.6490% of the item is beyond the manager authority (20%): it "
                 "needs the director level");
    assert_int_equal(feed_size(f, "/v1/vouchers"), 0);
    char loc[128], *body = NULL;
    assert_int_equal(call_raw(f, K_MANAGER, "POST", p,
                              "{\"amount\":\"60.00\",\"reason\":\"damaged in transit\"}", NULL,
                              &body, "Location", loc, sizeof(loc)),
                     201);
    json_error_t je;
    json_t *w = json_loads(body, 0, &je);
    free(body);
    assert_string_equal(js(w, "amount"), "60.00");
    assert_string_equal(js(json_object_get(w, "receivable"), "outstanding"), "279.00");
    char *want = tu_fmt("/v1/write-offs/%s", js(w, "id"));
    assert_string_equal(loc, want);
    json_t *g = get_ok(f, K_CRM, want);
    assert_string_equal(js(g, "reason"), "damaged in transit");
    json_decref(g);
    free(want);
    json_t *vo = voucher_of(f, "write_off", js(w, "id"));
    vline(vo, 0, "6702", "60.00", "0.00");
    vline(vo, 1, "1122", "0.00", "60.00");
    json_decref(vo);
    assert_int_equal(events_of(f, "receivable.written_off"), 1);
    /* all of an item (100%): beyond a manager, an admin may */
    char *p2 = tu_fmt("/v1/receivables/%s/write-off", r106);
    expect_error(f, K_MANAGER, "POST", p2, "{\"reason\":\"insolvent\"}", NULL, 403,
                 "needs the director level");
    json_t *w2 = post_ok(f, K_ADMIN, p2, "{\"reason\":\"insolvent\"}", 201);
    assert_string_equal(js(w2, "amount"), "106.00");
    expect_error(f, K_ADMIN, "POST", p2, "{\"reason\":\"insolvent\"}", NULL, 409,
                 "nothing outstanding");
    free(p), free(p2);
    json_decref(w), json_decref(w2), json_decref(c);
}

/* ---- the voucher feed ---- */

static void test_vouchers_balance_pages_and_csv(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL);
    json_t *v = issue(f, K_REP, js(c, "id"), "");
    json_decref(import(f, K_CRM,
                       CSV_HEAD "ICBC-1,2026-12-01,1236.00,CNY,x,,INV-T-2026-000001\n"
                                "ICBC-2,2026-12-01,5.00,CNY,y,,\n",
                       201));
    char *p = tu_fmt("/v1/invoices/%s/cancel", js(v, "id"));
    json_decref(post_ok(f, K_MANAGER, p, "", 201));
    free(p);
    /* invoice, 2 payments, match, credit note: 5 vouchers, all balanced */
    size_t lines = 0, n = vouchers_all(f, 2, &lines);
    assert_int_equal(n, 5);
    size_t lines1 = 0;
    assert_int_equal(vouchers_all(f, 500, &lines1), 5);
    assert_int_equal(lines, lines1);
    /* the ERP's CSV: a header and one row per line */
    char *csv = NULL, ct[64];
    assert_int_equal(call_raw(f, K_CRM, "GET", "/v1/vouchers?format=csv", NULL, NULL, &csv,
                              "Content-Type", ct, sizeof(ct)),
                     200);
    assert_string_equal(ct, "text/csv; charset=utf-8");
    static const char head[] = "voucher_no,date,kind,source,line_no,account,debit,credit,currency,"
                               "customer,contract,memo\r\n";
    assert_memory_equal(csv, head, sizeof(head) - 1);
    size_t rows = 0;
    for (char *s = csv; (s = strstr(s, "\r\n")); s += 2)
        rows++;
    assert_int_equal(rows, lines + 1);
    assert_non_null(strstr(csv, "V-000001,2026-12-01,invoice,INV-T-2026-000001,1,1122,1236.00,,CNY,"
                                "C-1,C-2026-000001,\r\n"));
    free(csv);
    /* after the last one: empty, the cursor stays */
    json_t *e = get_ok(f, K_CRM, "/v1/vouchers?after=5");
    assert_int_equal(json_array_size(json_object_get(e, "items")), 0);
    assert_string_equal(js(e, "next"), "5");
    json_decref(e);
    expect_error(f, K_CRM, "GET", "/v1/vouchers?format=xml", NULL, NULL, 400,
                 "format must be one of json, csv");
    expect_error(f, K_CRM, "GET", "/v1/vouchers?after=x", NULL, NULL, 400, "after:");
    expect_error(f, K_CRM, "GET", "/v1/vouchers?limit=501", NULL, NULL, 400, "limit:");
    expect_error(f, K_REP, "GET", "/v1/vouchers", NULL, NULL, 403, "may not call");
    json_decref(v), json_decref(c);
}

/* ---- revenue ---- */

static void test_revenue_as_of(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", "{\"signed_on\":\"2026-12-01\"}");
    char *p = tu_fmt("/v1/contracts/%s/revenue?as_of=2026-12-01", js(c, "id"));
    json_t *r = get_ok(f, K_REP, p);
    /* nothing delivered or done yet: all deferred */
    assert_string_equal(js(r, "allocated"), "1100.00");
    assert_string_equal(js(r, "recognised"), "0.00");
    assert_string_equal(js(r, "deferred"), "1100.00");
    json_t *o = json_array_get(json_object_get(r, "obligations"), 0);
    assert_string_equal(js(o, "line"), "box");
    assert_string_equal(js(o, "pattern"), "at_event");
    assert_string_equal(js(o, "allocated"), "1000.00");
    json_decref(r);
    free(p);
    char *dp = tu_fmt("/v1/contracts/%s/lines/box/delivered", js(c, "id"));
    json_decref(post_ok(f, K_CRM, dp, "{\"on\":\"2026-12-03\"}", 200));
    free(dp);
    p = tu_fmt("/v1/contracts/%s/revenue?as_of=2026-12-02", js(c, "id"));
    r = get_ok(f, K_REP, p);
    assert_string_equal(js(r, "recognised"), "0.00");
    json_decref(r);
    free(p);
    p = tu_fmt("/v1/contracts/%s/revenue?as_of=2026-12-03", js(c, "id"));
    r = get_ok(f, K_REP, p);
    assert_string_equal(js(r, "recognised"), "1000.00");
    assert_string_equal(js(r, "deferred"), "100.00");
    assert_string_equal(js(json_array_get(json_object_get(r, "obligations"), 0), "on"),
                        "2026-12-03");
    json_decref(r);
    free(p);
    p = tu_fmt("/v1/contracts/%s/revenue?as_of=2026-02-30", js(c, "id"));
    expect_error(f, K_REP, "GET", p, NULL, NULL, 400, "as_of");
    free(p);
    expect_error(f, K_REP, "GET", "/v1/contracts/c_none/revenue", NULL, NULL, 404, "no contract");
    p = tu_fmt("/v1/contracts/%s/revenue", js(c, "id"));
    expect_error(f, K_PARTNER_A, "GET", p, NULL, NULL, 403, "may not call");
    free(p);
    json_decref(c);
}

/* ---- credit risk ---- */

/* A string of n copies of the 3-byte character 信 (malloc'ed). */
static char *chars(size_t n)
{
    char *s = malloc(3 * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 3 * i, "信", 3);
    s[3 * n] = '\0';
    return s;
}

/* A limit is kept in its canonical form; names, notes and reasons are
 * limited in characters, not bytes (Chinese text takes three of them
 * each); what is refused changes nothing. */
static void test_credit_limit_canonical_and_texts_in_characters(void **state)
{
    fx *f = *state;
    json_t *j;
    static const char *const limits[][2] = {{"-0.00", "0.00"}, {"007.50", "7.50"}, {"1000", "1000"}};
    for (size_t i = 0; i < 3; i++) {
        char *b = tu_fmt("{\"limit\":\"%s\",\"currency\":\"CNY\"}", limits[i][0]);
        assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-7/credit", b, &j), 200);
        assert_string_equal(js(json_object_get(j, "credit"), "limit"), limits[i][1]);
        json_decref(j);
        free(b);
    }
    char *ok = chars(500), *over = chars(501), *name = chars(300), *long_name = chars(301);
    char *b = tu_fmt("{\"limit\":\"5.00\",\"currency\":\"CNY\",\"note\":\"%s\"}", ok);
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-7/credit", b, &j), 200);
    assert_string_equal(js(json_object_get(j, "credit"), "note"), ok);
    json_decref(j);
    free(b);
    b = tu_fmt("{\"limit\":\"9.00\",\"currency\":\"CNY\",\"note\":\"%s\"}", over);
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-7/credit", b, NULL, 400,
                 "note: text of at most 500 characters");
    free(b);
    b = tu_fmt("{\"name\":\"%s\"}", name);
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-7", b, &j), 200);
    json_decref(j);
    free(b);
    b = tu_fmt("{\"name\":\"%s\"}", long_name);
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-7", b, NULL, 400,
                 "name: the legal name, 1 to 300 characters");
    free(b);
    j = get_ok(f, K_CRM, "/v1/customers/C-7");
    assert_string_equal(js(j, "name"), name);
    assert_string_equal(js(json_object_get(j, "credit"), "limit"), "5.00");
    assert_string_equal(js(json_object_get(j, "credit"), "note"), ok);
    json_decref(j);
    free(ok), free(over), free(name), free(long_name);
}

static void test_credit_limit_needs_manager_approval(void **state)
{
    fx *f = *state;
    json_t *j;
    /* who may set it, and what is refused */
    expect_error(f, K_REP, "PUT", "/v1/customers/C-9/credit", "{\"limit\":\"1000.00\"}", NULL, 403,
                 "may not call");
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-9/credit",
                 "{\"limit\":\"1000.001\",\"currency\":\"CNY\"}", NULL, 400, "limit:");
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-9/credit", "{\"limit\":\"1000.00\"}", NULL,
                 400, "currency:");
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-9/credit",
                 "{\"limit\":null,\"risk_flags\":[\"\"]}", NULL, 400, "risk_flags[0]");
    expect_error(f, K_CRM, "GET", "/v1/customers/C-9", NULL, NULL, 404, "no customer");
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-9/credit",
                          "{\"limit\":\"1000.00\",\"currency\":\"CNY\",\"note\":\"new account\"}",
                          &j),
                     200);
    assert_string_equal(js(json_object_get(j, "credit"), "limit"), "1000.00");
    json_decref(j);
    /* 1,236.00 over a limit of 1,000.00: a rep's accept is refused and
     * changes nothing */
    char *qb = tu_fmt(BOX_SETUP_Q, "C-9");
    json_t *q = approved_quote(f, K_REP, qb);
    free(qb);
    char *ap = tu_fmt("/v1/quotes/%s/accept", js(q, "id"));
    expect_error(f, K_REP, "POST", ap, "{\"signed_on\":\"2026-12-01\"}", NULL, 403,
                 "needs a manager's credit approval: open receivables 0.00 + this quote "
                 "1236.00 = 1236.00 CNY exceed the credit limit 1000.00 CNY");
    char *gp = tu_fmt("/v1/quotes/%s", js(q, "id"));
    json_t *g = get_ok(f, K_REP, gp);
    assert_string_equal(js(g, "status"), "approved");
    json_decref(g);
    assert_int_equal(events_of(f, "contract.signed"), 0);
    /* a manager approves it; the rep's accept then goes through */
    char *cp = tu_fmt("/v1/quotes/%s/approve-credit", js(q, "id"));
    expect_error(f, K_REP, "POST", cp, "", NULL, 403, "may not call");
    g = post_ok(f, K_MANAGER, cp, "{\"note\":\"guarantee received\"}", 200);
    json_t *h = json_object_get(g, "history");
    const char *note = js(json_array_get(h, json_array_size(h) - 1), "note");
    assert_non_null(strstr(note, "credit approved: open receivables 0.00 + this quote 1236.00"));
    assert_non_null(strstr(note, "guarantee received"));
    json_decref(g);
    json_decref(accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-01\"}"));
    free(ap), free(gp), free(cp);
    json_decref(q);
    /* the signed contract now counts: 339.00 is open (due on signing) */
    j = get_ok(f, K_CRM, "/v1/customers/C-9");
    assert_string_equal(js(json_array_get(json_object_get(j, "open_receivables"), 0), "amount"),
                        "339.00");
    json_decref(j);
    /* a flagged customer: any accept needs it; a manager's accept gives it */
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-8/credit",
                          "{\"limit\":null,\"risk_flags\":[\"late_payer\"]}", &j),
                     200);
    json_decref(j);
    qb = tu_fmt(BOX_SETUP_Q, "C-8");
    q = approved_quote(f, K_REP, qb);
    free(qb);
    ap = tu_fmt("/v1/quotes/%s/accept", js(q, "id"));
    expect_error(f, K_CRM, "POST", ap, "{\"signed_on\":\"2026-12-01\"}", NULL, 403,
                 "customer C-8 is flagged [\"late_payer\"]");
    json_decref(accept_ok(f, K_MANAGER, js(q, "id"), "{\"signed_on\":\"2026-12-01\"}"));
    gp = tu_fmt("/v1/quotes/%s", js(q, "id"));
    g = get_ok(f, K_REP, gp);
    h = json_object_get(g, "history");
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e) if (json_string_value(json_object_get(e, "note")) &&
                                    strstr(js(e, "note"), "credit approved at accept")) found =
        true;
    assert_true(found);
    json_decref(g);
    free(ap), free(gp);
    json_decref(q);
    /* within the limit and unflagged: nothing to approve */
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-7/credit",
                          "{\"limit\":\"100000.00\",\"currency\":\"CNY\"}", &j),
                     200);
    json_decref(j);
    qb = tu_fmt(BOX_SETUP_Q, "C-7");
    q = approved_quote(f, K_REP, qb);
    free(qb);
    cp = tu_fmt("/v1/quotes/%s/approve-credit", js(q, "id"));
    expect_error(f, K_MANAGER, "POST", cp, "", NULL, 409, "needs no credit approval");
    free(cp);
    json_decref(accept_ok(f, K_REP, js(q, "id"), "{\"signed_on\":\"2026-12-01\"}"));
    json_decref(q);
}

static void test_customer_identity(void **state)
{
    fx *f = *state;
    json_t *j;
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-1", "{\"name\":\"\"}", NULL, 400, "name:");
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-1", "{\"accounts\":\"x\"}", NULL, 400,
                 "accounts:");
    expect_error(f, K_CRM, "PUT", "/v1/customers/C-1", "not json", NULL, 400, "");
    expect_error(f, K_CRM, "GET", "/v1/customers/C-1", NULL, NULL, 404, "no customer");
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-1",
                          "{\"name\":\"ACME Shenzhen Ltd\",\"accounts\":[\"cn12 bank 0001\"]}", &j),
                     200);
    assert_string_equal(js(j, "name"), "ACME Shenzhen Ltd");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "accounts"), 0)),
                        "CN12BANK0001");
    json_decref(j);
    /* the credit part is kept when the identity changes, and back */
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-1/credit",
                          "{\"limit\":\"5.00\",\"currency\":\"CNY\",\"risk_flags\":[\"watch\"]}",
                          &j),
                     200);
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/customers/C-1", "{\"name\":\"ACME\"}", &j), 200);
    assert_string_equal(js(json_object_get(j, "credit"), "limit"), "5.00");
    assert_int_equal(json_array_size(json_object_get(j, "accounts")), 0);
    json_decref(j);
}

/* ---- the sweep ---- */

static void test_sweep_invoices_by_policy_and_posts_revenue(void **state)
{
    fx *f = *state;
    /* SEAT x 1: 106.00 a month from 2027-01-01, billed on the 1st */
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"S-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"seat\",\"sku\":\"SEAT\",\"quantity\":\"1\"}]}");
    json_t *c = accept_ok(f, K_CRM, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"start_on\":\"2027-01-01\"}");
    /* a contract of the manual catalog is not invoiced by the sweep */
    json_t *m = contract_new(f, "C-1", DONE_ALL);
    json_t *s = post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2026-12-31\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(s, "invoices_issued")), 0);
    json_decref(s);
    s = post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2027-01-01\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(s, "invoices_issued")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "failed")), 0);
    json_decref(s);
    char *p = tu_fmt("/v1/contracts/%s/invoices", js(c, "id"));
    json_t *l = get_ok(f, K_REP, p);
    json_t *inv = json_array_get(json_object_get(l, "items"), 0);
    assert_string_equal(js(inv, "number"), "INV-C-2027-000001");
    assert_string_equal(js(inv, "source"), "sweep");
    assert_string_equal(js(inv, "total"), "106.00");
    assert_string_equal(js(inv, "tax"), "6.00");
    json_decref(l);
    /* the same day again: nothing more; two months on: one invoice of two */
    s = post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2027-01-01\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(s, "invoices_issued")), 0);
    json_decref(s);
    s = post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2027-03-01\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(s, "invoices_issued")), 1);
    json_decref(s);
    l = get_ok(f, K_REP, p);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 2);
    inv = json_array_get(json_object_get(l, "items"), 1);
    assert_string_equal(js(inv, "total"), "212.00");
    assert_int_equal(json_array_size(json_object_get(inv, "lines")), 2);
    json_decref(l);
    free(p);
    p = tu_fmt("/v1/contracts/%s/invoices", js(m, "id"));
    l = get_ok(f, K_REP, p);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 0);
    json_decref(l);
    free(p);
    /* revenue: SEAT over [2027-01-01, 2027-04-01): 90 days of 300.00;
     * as of 2027-03-01 (the day counted), 60 days: 200.00; BOX and
     * SETUP, delivered and done, 1,100.00 */
    p = tu_fmt("/v1/contracts/%s/revenue?as_of=2027-03-01", js(c, "id"));
    json_t *r = get_ok(f, K_REP, p);
    assert_string_equal(js(r, "allocated"), "300.00");
    assert_string_equal(js(r, "recognised"), "200.00");
    json_decref(r);
    free(p);
    json_t *rv = voucher_of(f, "revenue", "C-2026-000002");
    assert_string_equal(js(rv, "total"), "1100.00");
    vline(rv, 0, "2204", "1000.00", "0.00");
    json_decref(rv);
    /* SEAT posted up to the last sweep (2027-03-01): 1/90 of 300.00 =
     * 3.33 on 2027-01-01, then 196.67 */
    json_t *all = get_ok(f, K_CRM, "/v1/vouchers?limit=500"), *x;
    size_t i;
    money_dec seat = money_from_int(0);
    json_array_foreach(json_object_get(all, "items"), i, x) if (
        !strcmp(js(x, "kind"), "revenue") && !strcmp(js(x, "source"), "C-2026-000001"))
        assert_int_equal(money_add(seat, dec(js(x, "total")), &seat), 0);
    assert_dec_eq(seat, "200.00");
    json_decref(all);
    json_decref(q), json_decref(c), json_decref(m);
}

/* On the sample catalogs: a machine sold with its installation and
 * training (cnc, tax rounded per document): each service is invoiced
 * under its own product, class and revenue category. */
static void test_invoice_bundled_service_own_class(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"m\",\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\","
                               "\"attributes\":{\"plant_code\":\"SH-0001\"}}]}");
    json_t *c = accept_ok(f, K_CRM, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"lines\":{\"m\":{\"delivered_on\":"
                          "\"2026-12-01\",\"accepted_on\":\"2026-12-01\"}}}");
    json_t *v = issue(f, K_REP, js(c, "id"), "");
    assert_string_equal(js(v, "number"), "INV-SH-2026-000001");
    assert_string_equal(js(v, "tax_rounding"), "per_document");
    /* 30% on signing 115,059.49, 60% on delivery 230,118.98, training
     * 3,126.62 (due on acceptance); installation is due 30 days after */
    assert_string_equal(js(v, "total"), "348305.09");
    json_t *t = json_object_get(v, "taxes");
    /* 345,178.47 x 13/113 = 39,710.797 -> 39,710.80; 3,126.62 x 6/106 =
     * 176.978 -> 176.98 */
    assert_string_equal(js(json_array_get(t, 0), "tax_class"), "standard");
    assert_string_equal(js(json_array_get(t, 0), "total"), "345178.47");
    assert_string_equal(js(json_array_get(t, 0), "tax"), "39710.80");
    assert_string_equal(js(json_array_get(t, 1), "tax_class"), "service");
    assert_string_equal(js(json_array_get(t, 1), "tax"), "176.98");
    json_t *l, *train = NULL;
    size_t i;
    json_array_foreach(json_object_get(v, "lines"), i, l) if (!strcmp(js(l, "sku"),
                                                                      "CNC-SVC-TRAIN-OP")) train = l;
    assert_non_null(train);
    assert_string_equal(js(train, "line"), "m");
    assert_string_equal(js(train, "category"), "services");
    assert_string_equal(js(train, "tax_rate"), "0.06");
    json_decref(v), json_decref(c), json_decref(q);
}

/* On the sample catalogs: the sweep goes past a contract whose catalog
 * has no finance section (appliances): nothing to invoice or post, and
 * nothing fails (it once dereferenced a missing error list). */
static void test_sweep_skips_catalogs_without_finance(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_REP,
                               "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":"
                               "[{\"id\":\"k\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}");
    json_t *c = accept_ok(f, K_CRM, js(q, "id"),
                          "{\"signed_on\":\"2026-12-01\",\"lines\":{\"k\":{\"delivered_on\":"
                          "\"2026-12-01\"}}}");
    json_t *s = post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2026-12-31\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(s, "invoices_issued")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "revenue_vouchers")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "failed")), 0);
    char *p = tu_fmt("/v1/contracts/%s/invoices", js(c, "id"));
    expect_error(f, K_REP, "POST", p, "{}", NULL, 422, "has no finance section");
    free(p);
    json_decref(s), json_decref(c), json_decref(q);
}

/* The id of the latest match of credit bc, and its count. */
static char *last_match(fx *f, const char *bc, size_t *n)
{
    char *p = tu_fmt("/v1/bank/credits/%s", bc);
    json_t *cr = get_ok(f, K_MANAGER, p), *ms = json_object_get(cr, "matches");
    *n = json_array_size(ms);
    char *id = strdup(js(json_array_get(ms, *n - 1), "id"));
    free(p);
    json_decref(cr);
    return id;
}

static void outstanding_is(fx *f, json_t *c, const char *line, const char *amount, const char *want)
{
    json_t *it = item_now(f, js(c, "id"), item_id(c, line, amount));
    assert_string_equal(js(it, "outstanding"), want);
    json_decref(it);
}

/* An advance kept as C-1's credit pays C-1's items that fell due, the
 * oldest first, when the sweep finds them; once per item: a reversed
 * application is not made again, the money goes to the next item. Not
 * another customer's items. */
static void test_customer_credit_applied_when_due(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", DONE_ALL), *c2 = contract_new(f, "C-2", DONE_ALL);
    json_decref(import(f, K_CRM, CSV_HEAD "ICBC-7,2026-12-01,500.00,CNY,Unknown Payer,,\n", 201));
    json_t *q = get_ok(f, K_MANAGER, "/v1/bank/credits?status=unmatched");
    char *bc = strdup(js(json_array_get(json_object_get(q, "items"), 0), "id"));
    json_decref(q);
    char *p = tu_fmt("/v1/bank/credits/%s/match", bc);
    json_decref(post_ok(f, K_MANAGER, p, "{\"allocations\":[],\"customer_id\":\"C-1\"}", 201));
    free(p);
    /* kept: nothing is applied before the sweep */
    outstanding_is(f, c, "box", "339.00", "339.00");
    size_t matched = events_of(f, "payment.matched"), n = 0;
    json_decref(post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2026-12-01\"}", 200));
    /* 500.00 = 339.00 + 161.00 of the 791.00; SETUP and C-2 untouched */
    outstanding_is(f, c, "box", "339.00", "0.00");
    outstanding_is(f, c, "box", "791.00", "630.00");
    outstanding_is(f, c, "setup", "106.00", "106.00");
    outstanding_is(f, c2, "box", "339.00", "339.00");
    assert_int_equal(events_of(f, "payment.matched"), matched + 2);
    char *m = last_match(f, bc, &n);
    assert_int_equal(n, 3); /* kept, 339.00, 161.00 */
    /* a second sweep changes nothing */
    json_decref(post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2026-12-01\"}", 200));
    assert_int_equal(events_of(f, "payment.matched"), matched + 2);
    /* reversed: not applied to that item again; SETUP gets 106.00 of it */
    p = tu_fmt("/v1/matches/%s/reverse", m);
    json_t *r = post_ok(f, K_MANAGER, p, "{}", 200);
    assert_string_equal(js(r, "rule"), "customer_credit");
    json_decref(r);
    free(p), free(m);
    outstanding_is(f, c, "box", "791.00", "791.00");
    json_decref(post_ok(f, K_CRM, "/v1/receivables/sweep", "{\"as_of\":\"2026-12-01\"}", 200));
    outstanding_is(f, c, "box", "791.00", "791.00");
    outstanding_is(f, c, "setup", "106.00", "0.00");
    p = tu_fmt("/v1/bank/credits/%s", bc);
    json_t *cr = get_ok(f, K_MANAGER, p);
    assert_string_equal(js(cr, "applied"), "445.00");
    assert_string_equal(js(cr, "unapplied"), "55.00");
    json_decref(cr);
    free(p), free(bc);
    size_t lines = 0;
    vouchers_all(f, 100, &lines); /* every voucher balanced */
    json_decref(c), json_decref(c2);
}

/* An invoice takes the customer's credit at once, whatever its items' due dates. */
static void test_customer_credit_applied_on_invoice(void **state)
{
    fx *f = *state;
    json_t *c = contract_new(f, "C-1", "{\"signed_on\":\"2026-12-01\"}");
    json_decref(import(f, K_CRM, CSV_HEAD "ICBC-8,2026-12-01,1000.00,CNY,Unknown Payer,,\n", 201));
    json_t *q = get_ok(f, K_MANAGER, "/v1/bank/credits?status=unmatched");
    char *p = tu_fmt("/v1/bank/credits/%s/match",
                     js(json_array_get(json_object_get(q, "items"), 0), "id"));
    json_decref(post_ok(f, K_MANAGER, p, "{\"allocations\":[],\"customer_id\":\"C-1\"}", 201));
    free(p);
    json_decref(q);
    json_decref(issue(f, K_REP, js(c, "id"), ""));
    outstanding_is(f, c, "box", "339.00", "0.00");
    outstanding_is(f, c, "box", "791.00", "791.00"); /* not invoiced, not due */
    json_decref(c);
}

/* The numbers of GET path's items, comma-separated, and its next. */
static char *numbers_of(fx *f, const char *path, char *next, size_t cap)
{
    json_t *v = get_ok(f, K_REP, path), *x;
    size_t i, len = 0;
    char buf[512] = "";
    json_array_foreach(json_object_get(v, "items"), i, x) len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", js(x, "number"));
    json_t *n = json_object_get(v, "next");
    snprintf(next, cap, "%s", json_is_string(n) ? json_string_value(n) : "null");
    json_decref(v);
    return strdup(buf);
}

static void numbers_are(fx *f, const char *path, const char *want, const char *want_next)
{
    char next[64], *got = numbers_of(f, path, next, sizeof(next));
    if (strcmp(got, want))
        fail_msg("GET %s: %s, expected %s", path, got, want);
    if (want_next)
        assert_string_equal(next, want_next);
    free(got);
}

/* GET /v1/invoices: newest first, filtered by customer, contract, status
 * and issue dates, in pages whose cursor only this list gives. */
static void test_invoice_list_filters_and_pages(void **state)
{
    fx *f = *state;
    json_t *a = contract_new(f, "C-1", DONE_ALL), *b = contract_new(f, "C-2", DONE_ALL);
    json_t *v1 = issue(f, K_REP, js(a, "id"), ""); /* INV-T-2026-000001, C-1 */
    json_decref(issue(f, K_REP, js(b, "id"), "")); /* INV-T-2026-000002, C-2 */
    char *p = tu_fmt("/v1/invoices/%s/cancel", js(v1, "id"));
    json_decref(post_ok(f, K_MANAGER, p, "", 201)); /* CN-T-2026-000001 */
    free(p);
    json_decref(issue(f, K_REP, js(a, "id"), "{\"issued_on\":\"2026-12-03\"}"));
    numbers_are(f, "/v1/invoices",
                "INV-T-2026-000003,CN-T-2026-000001,INV-T-2026-000002,INV-T-2026-000001", "null");
    numbers_are(f, "/v1/invoices?customer=C-2", "INV-T-2026-000002", "null");
    p = tu_fmt("/v1/invoices?contract=%s", js(a, "id"));
    numbers_are(f, p, "INV-T-2026-000003,CN-T-2026-000001,INV-T-2026-000001", "null");
    free(p);
    numbers_are(f, "/v1/invoices?status=cancelled", "INV-T-2026-000001", "null");
    numbers_are(f, "/v1/invoices?status=issued&customer=C-1", "INV-T-2026-000003,CN-T-2026-000001",
                "null");
    numbers_are(f, "/v1/invoices?status=partially_cancelled", "", "null");
    numbers_are(f, "/v1/invoices?issued_from=2026-12-02", "INV-T-2026-000003", "null");
    numbers_are(f, "/v1/invoices?issued_to=2026-12-01&issued_from=2026-12-01",
                "CN-T-2026-000001,INV-T-2026-000002,INV-T-2026-000001", "null");
    numbers_are(f, "/v1/invoices?customer=C-9", "", "null");
    /* pages */
    char next[64], *got = numbers_of(f, "/v1/invoices?limit=3", next, sizeof(next));
    assert_string_equal(got, "INV-T-2026-000003,CN-T-2026-000001,INV-T-2026-000002");
    free(got);
    p = tu_fmt("/v1/invoices?limit=3&after=%s", next);
    numbers_are(f, p, "INV-T-2026-000001", "null");
    free(p);
    /* bad filters and foreign cursors: 400, nothing listed */
    expect_error(f, K_REP, "GET", "/v1/invoices?after=Q-2026-000001", NULL, NULL, 400,
                 "after: not the `next` of a page of this list");
    expect_error(f, K_REP, "GET", "/v1/invoices?after=1", NULL, NULL, 400,
                 "after: not the `next` of a page of this list");
    p = tu_fmt("/v1/invoices?after=%s", js(a, "id"));
    expect_error(f, K_REP, "GET", p, NULL, NULL, 400, "after: not the `next`");
    free(p);
    expect_error(f, K_REP, "GET", "/v1/invoices?status=paid", NULL, NULL, 400, "status");
    expect_error(f, K_REP, "GET", "/v1/invoices?issued_from=2026-13-01", NULL, NULL, 400,
                 "issued_from: a date YYYY-MM-DD");
    expect_error(f, K_REP, "GET", "/v1/invoices?limit=0", NULL, NULL, 400, "limit");
    expect_error(f, K_REP, "GET", "/v1/invoices?sort=number", NULL, NULL, 400, "sort");
    expect_error(f, K_PARTNER_A, "GET", "/v1/invoices", NULL, NULL, 403, "may not call");
    json_decref(v1), json_decref(a), json_decref(b);
}

/* One invoice whose stored document is not JSON (a damaged database)
 * stops neither GET /v1/invoices nor its contract's list: the others are
 * listed as before, the damaged one is named in "damaged" with the
 * reason (once, page by page); its own read answers 500 with the
 * reason. */
static void test_damaged_invoice_stops_no_list(void **state)
{
    fx *f = *state;
    json_t *a = contract_new(f, "C-1", DONE_ALL), *b = contract_new(f, "C-2", DONE_ALL);
    json_t *v1 = issue(f, K_REP, js(a, "id"), ""); /* INV-T-2026-000001, C-1 */
    json_t *v2 = issue(f, K_REP, js(b, "id"), ""); /* INV-T-2026-000002, C-2 */
    char *p2 = tu_fmt("/v1/invoices/%s", js(v2, "id"));
    json_t *before = get_ok(f, K_REP, p2);
    char *sql =
        tu_fmt("UPDATE invoices SET document = '{\"number\":' WHERE id = '%s'", js(v1, "id"));
    damage(f, sql);
    free(sql);
    const char *why = "stored document unreadable";

    json_t *j = get_ok(f, K_REP, "/v1/invoices");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_true(json_equal(json_array_get(json_object_get(j, "items"), 0), before));
    damaged_is(j, js(v1, "id"), why);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* page by page: v2, then v1 named once */
    j = get_ok(f, K_REP, "/v1/invoices?limit=1");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_null(json_object_get(j, "damaged"));
    char *p = tu_fmt("/v1/invoices?limit=1&after=%s", js(j, "next"));
    json_decref(j);
    j = get_ok(f, K_REP, p);
    free(p);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    damaged_is(j, js(v1, "id"), why);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* the contracts' lists */
    p = tu_fmt("/v1/contracts/%s/invoices", js(a, "id"));
    j = get_ok(f, K_REP, p);
    free(p);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    damaged_is(j, js(v1, "id"), why);
    json_decref(j);
    p = tu_fmt("/v1/contracts/%s/invoices", js(b, "id"));
    j = get_ok(f, K_REP, p);
    free(p);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_true(json_equal(json_array_get(json_object_get(j, "items"), 0), before));
    assert_null(json_object_get(j, "damaged"));
    json_decref(j);
    /* the damaged one alone: 500 with the reason; the other unchanged */
    p = tu_fmt("/v1/invoices/%s", js(v1, "id"));
    expect_error(f, K_REP, "GET", p, NULL, NULL, 500, why);
    free(p);
    j = get_ok(f, K_REP, p2);
    assert_true(json_equal(j, before));
    json_decref(j);
    free(p2);
    json_decref(before), json_decref(v1), json_decref(v2), json_decref(a), json_decref(b);
}

/* A voucher whose stored lines do not parse is never exported as if it
 * were fine (it was, with "lines": []): the feed names it in "damaged"
 * with the reason and goes on with the others, unchanged; the ERP's CSV,
 * which has no room to name it, refuses with the reason rather than
 * leave it out. */
static void test_damaged_voucher_never_exported(void **state)
{
    fx *f = *state;
    json_t *a = contract_new(f, "C-1", DONE_ALL), *b = contract_new(f, "C-2", DONE_ALL);
    json_decref(issue(f, K_REP, js(a, "id"), "")); /* V-000001 */
    json_decref(issue(f, K_REP, js(b, "id"), "")); /* V-000002 */
    json_t *before = get_ok(f, K_CRM, "/v1/vouchers");
    assert_int_equal(json_array_size(json_object_get(before, "items")), 2);
    json_t *v2 = json_array_get(json_object_get(before, "items"), 1);
    assert_string_equal(js(v2, "number"), "V-000002");
    damage(f, "UPDATE vouchers SET lines = '[{\"line_no\":1,' WHERE number = 'V-000001'");
    const char *why = "stored voucher unreadable";

    json_t *j = get_ok(f, K_CRM, "/v1/vouchers");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_true(json_equal(json_array_get(json_object_get(j, "items"), 0), v2));
    damaged_is(j, "V-000001", why);
    assert_string_equal(js(j, "next"), "2");
    json_decref(j);
    /* page by page: named once, the cursor past it */
    j = get_ok(f, K_CRM, "/v1/vouchers?limit=1");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    damaged_is(j, "V-000001", why);
    assert_string_equal(js(j, "next"), "1");
    json_decref(j);
    j = get_ok(f, K_CRM, "/v1/vouchers?limit=1&after=1");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_true(json_equal(json_array_get(json_object_get(j, "items"), 0), v2));
    assert_null(json_object_get(j, "damaged"));
    json_decref(j);
    /* the CSV: refused with the reason, not a ledger with a hole */
    expect_error(f, K_CRM, "GET", "/v1/vouchers?format=csv", NULL, NULL, 500,
                 "voucher V-000001: stored voucher unreadable");
    char *csv = NULL, ct[64];
    assert_int_equal(call_raw(f, K_CRM, "GET", "/v1/vouchers?format=csv&after=1", NULL, NULL, &csv,
                              "Content-Type", ct, sizeof(ct)),
                     200);
    assert_non_null(strstr(csv, "\r\nV-000002,"));
    assert_null(strstr(csv, "V-000001"));
    free(csv);
    json_decref(before), json_decref(a), json_decref(b);
}

/* A bank credit whose stored amount does not parse is never shown with
 * a made-up unapplied "0": the queue names it in "damaged" with the
 * reason and lists the others, unchanged; its own read answers 500 with
 * the reason. */
static void test_damaged_credit_never_shown_wrong(void **state)
{
    fx *f = *state;
    json_decref(import(f, K_CRM,
                       CSV_HEAD "ICBC-1,2026-12-01,5.00,CNY,x,,\n"
                                "ICBC-2,2026-12-01,7.00,CNY,y,,\n",
                       201));
    json_t *before = get_ok(f, K_MANAGER, "/v1/bank/credits");
    json_t *items = json_object_get(before, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *c1 = json_array_get(items, 0), *c2 = json_array_get(items, 1);
    assert_string_equal(js(c1, "tx_id"), "ICBC-1");
    assert_string_equal(js(c2, "unapplied"), "7.00");
    damage(f, "UPDATE bank_credits SET amount = '5,00' WHERE tx_id = 'ICBC-1'");
    const char *why = "stored amount or applied amount does not parse";

    const char *lists[] = {"/v1/bank/credits", "/v1/bank/credits?status=unmatched"};
    for (int k = 0; k < 2; k++) {
        json_t *j = get_ok(f, K_MANAGER, lists[k]);
        assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
        assert_true(json_equal(json_array_get(json_object_get(j, "items"), 0), c2));
        damaged_is(j, js(c1, "id"), why);
        assert_string_equal(js(j, "next"), js(before, "next"));
        json_decref(j);
    }
    char *p = tu_fmt("/v1/bank/credits/%s", js(c1, "id"));
    expect_error(f, K_MANAGER, "GET", p, NULL, NULL, 500, why);
    free(p);
    p = tu_fmt("/v1/bank/credits/%s", js(c2, "id"));
    json_t *j = get_ok(f, K_MANAGER, p);
    free(p);
    assert_string_equal(js(j, "unapplied"), "7.00");
    json_decref(j);
    json_decref(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TF(test_invoice_lines_tax_document_voucher_event),
        TF(test_invoice_idempotency_key),
        TF(test_invoice_only_due_items_then_the_rest),
        TF(test_invoice_cancel_and_invoice_again),
        TF(test_statement_import_matches_and_queues),
        TF(test_statement_camt053_by_account),
        TF(test_manual_match_and_reverse),
        TF(test_write_off_within_authority),
        TF(test_vouchers_balance_pages_and_csv),
        TF(test_revenue_as_of),
        TF(test_credit_limit_needs_manager_approval),
        TF(test_credit_limit_canonical_and_texts_in_characters),
        TF(test_customer_identity),
        TF(test_sweep_invoices_by_policy_and_posts_revenue),
        TF(test_customer_credit_applied_when_due),
        TF(test_customer_credit_applied_on_invoice),
        TF(test_invoice_list_filters_and_pages),
        TF(test_damaged_invoice_stops_no_list),
        TF(test_damaged_voucher_never_exported),
        TF(test_damaged_credit_never_shown_wrong),
        T(test_invoice_bundled_service_own_class),
        T(test_sweep_skips_catalogs_without_finance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
