/*
 * Unit tests for contract_json's reading of a stored priced result
 * (contract_priced_lite): on every text it accepts it gives what the
 * full parse gives of the members a contract reads (date, subtotal, each
 * line's id, sku, total, book, tax_rate, quantity and free_item_of, the
 * applied promotions' id and amount); on anything unusual (an escape in
 * one of those, a member of an unexpected type, a syntax error) it gives
 * up (NULL), and the full parse answers. The same for the segments a
 * contract reads of a stored quote request (contract_request_lite). And
 * the contract's signed texts written directly before its insert: the
 * bytes jansson's tree gives (contract_fresh_texts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "contract_int.h"
#include "cpqd/date.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Member k of from (a string, or anything for free_item_of: null) into to. */
static void keep(json_t *to, json_t *from, const char *k)
{
    json_t *v = json_object_get(from, k);
    if (v && !strcmp(k, "free_item_of"))
        json_object_set_new(to, k, json_null());
    else if (json_is_string(v))
        json_object_set(to, k, v);
}

/* What a contract reads of the full tree p, as contract_priced_lite
 * builds it. */
static json_t *project(json_t *p)
{
    static const char *const line_keys[] = {"id",       "sku",      "total",        "book",
                                            "tax_rate", "quantity", "free_item_of", NULL};
    json_t *o = json_object();
    keep(o, p, "date");
    keep(o, p, "subtotal");
    json_t *lines = json_object_get(p, "lines"), *l;
    size_t i;
    if (lines) {
        json_t *a = json_array();
        json_array_foreach(lines, i, l)
        {
            json_t *x = json_object();
            for (size_t k = 0; line_keys[k]; k++)
                keep(x, l, line_keys[k]);
            json_array_append_new(a, x);
        }
        json_object_set_new(o, "lines", a);
    }
    json_t *pr = json_object_get(p, "promotions");
    if (pr) {
        json_t *po = json_object(), *ap = json_object_get(pr, "applied");
        if (ap) {
            json_t *a = json_array();
            json_array_foreach(ap, i, l)
            {
                json_t *x = json_object();
                keep(x, l, "id");
                keep(x, l, "amount");
                json_array_append_new(a, x);
            }
            json_object_set_new(po, "applied", a);
        }
        json_object_set_new(o, "promotions", po);
    }
    return o;
}

/* text is read the same both ways. */
static void same(const char *text)
{
    json_error_t je;
    json_t *full = json_loads(text, 0, &je);
    assert_non_null(full);
    json_t *want = project(full), *got = contract_priced_lite(text);
    if (!got)
        fail_msg("gave up on %s", text);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(g, w);
    free(w);
    free(g);
    json_decref(want);
    json_decref(got);
    json_decref(full);
}

/* A priced result as the pricer writes it: lines with waterfalls,
 * attributes, numbers of every shape, escapes where nothing is read,
 * a free item, an applied promotion. */
#define PRICED                                                                                     \
    "{\"currency\":\"CNY\",\"date\":\"2026-12-01\",\"book\":\"list\",\"lines\":["                \
    "{\"id\":\"oven\",\"sku\":\"APL-OVN-STEAM\",\"quantity\":\"1\",\"book\":\"list\","            \
    "\"unit\":\"5999.00\",\"total\":\"5999.00\",\"tax_rate\":\"13\",\"waterfall\":["             \
    "{\"step\":\"list\",\"label\":\"list \\\"price\\\" \\u00e9\\n\",\"amount\":\"5999.00\","      \
    "\"ref\":null,\"n\":-1.5e+3,\"z\":0,\"t\":true,\"f\":false,\"deep\":[[[],{}],{\"a\":[1]}]}]," \
    "\"attributes\":{\"colour\":\"white\"},\"approval\":{\"out_of_bounds\":false}},"               \
    "{\"id\":\"kettle\",\"sku\":\"APL-KTL-17\",\"quantity\":\"2\",\"book\":null,"                  \
    "\"total\":\"298.00\",\"waterfall\":[]},"                                                      \
    "{\"id\":\"gift\",\"sku\":\"APL-KTL-17\",\"quantity\":\"1\",\"total\":\"0.00\","              \
    "\"free_item_of\":\"kettle\",\"tax_rate\":12}],"                                               \
    "\"subtotal\":\"6297.00\",\"promotions\":{\"applied\":[{\"id\":\"WINTER\",\"amount\":"        \
    "\"-50.00\",\"label\":\"x\"}],\"refused\":[{\"id\":\"Y\",\"why\":\"\\\\\"}]},"               \
    "\"total\":\"6247.00\"}"

static void test_lite_matches_full_parse(void **state)
{
    (void)state;
    same(PRICED);
    same(" { \"date\" : \"2026-12-01\" , \"lines\" : [ ] } \n");
    same("{\"date\":\"2026-12-01\",\"lines\":[{}],\"promotions\":{}}");
    same("{\"lines\":[{\"id\":\"a\"}]}");
    /* a member of another type reads as absent */
    same("{\"date\":7,\"subtotal\":null,\"lines\":[{\"id\":1,\"total\":[\"1\"],"
         "\"free_item_of\":null}],\"promotions\":{\"applied\":[{\"id\":{},\"amount\":2}]}}");
    /* the pieces it builds are the ones contract_priced_read reads */
    json_t *p = contract_priced_lite(PRICED);
    assert_non_null(p);
    json_t *l = json_array_get(json_object_get(p, "lines"), 2);
    assert_string_equal(json_string_value(json_object_get(l, "id")), "gift");
    assert_non_null(json_object_get(l, "free_item_of"));
    assert_null(json_object_get(l, "tax_rate")); /* a number: no text */
    assert_null(json_object_get(l, "waterfall"));
    assert_null(json_object_get(p, "total"));
    json_decref(p);
}

static void test_lite_gives_up(void **state)
{
    (void)state;
    static const char *const texts[] = {
        /* an escape in a value it reads, or in a key */
        "{\"date\":\"2026-12-01\",\"lines\":[{\"id\":\"a\\\"b\"}]}",
        "{\"date\":\"2026\\u002d12-01\",\"lines\":[]}",
        "{\"d\\u0061te\":\"2026-12-01\",\"lines\":[]}",
        /* unexpected types where it descends */
        "{\"date\":\"2026-12-01\",\"lines\":{}}",
        "{\"date\":\"2026-12-01\",\"lines\":[1]}",
        "{\"lines\":[],\"promotions\":[]}",
        "{\"lines\":[],\"promotions\":{\"applied\":{}}}",
        "[]",
        /* not JSON, or not only */
        "",
        "{",
        "{\"lines\":[]} x",
        "{\"lines\":[],\"n\":01}",
        "{\"lines\":[],\"n\":1.}",
        "{\"lines\":[],\"n\":-}",
        "{\"lines\":[],\"n\":tru}",
        "{\"lines\":[],\"s\":\"a\\x\"}",
        "{\"lines\":[],\"s\":\"a\tb\"}",
        "{\"lines\":[],}",
        "{\"lines\":[{\"id\":\"a\",}]}",
        "{\"lines\":[] \"date\":\"x\"}",
        "{\"lines\":[],\"s\":\"open}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *p = contract_priced_lite(texts[i]);
        if (p)
            fail_msg("read %s", texts[i]);
    }
    /* nesting beyond its depth */
    size_t depth = 300;
    char *deep = malloc(2 * depth + 32);
    assert_non_null(deep);
    strcpy(deep, "{\"lines\":[],\"x\":");
    size_t n = strlen(deep);
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    strcpy(deep + n, "}");
    assert_null(contract_priced_lite(deep));
    free(deep);
    assert_null(contract_priced_lite(NULL));
}

/* Both NULL or the same text. */
static void same_text(const char *what, const char *a, const char *b, const char *text)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
        fail_msg("%s: %s, the full parse %s (%s)", what, b ? b : "none", a ? a : "none", text);
}

/* What a contract and promotion redemption read of a stored request
 * (the segments, date and channel), both ways. */
static void same_segments(const char *text)
{
    json_error_t je;
    json_t *full = json_loads(text, 0, &je), *got = contract_request_lite(text);
    assert_non_null(full);
    if (!got)
        fail_msg("gave up on %s", text);
    static const char *const objs[] = {"caller", "customer"};
    for (int i = 0; i < 2; i++)
        same_text(objs[i],
                  json_string_value(json_object_get(json_object_get(full, objs[i]), "segment")),
                  json_string_value(json_object_get(json_object_get(got, objs[i]), "segment")),
                  text);
    static const char *const tops[] = {"date", "channel"};
    for (int i = 0; i < 2; i++)
        same_text(tops[i], json_string_value(json_object_get(full, tops[i])),
                  json_string_value(json_object_get(got, tops[i])), text);
    json_decref(full);
    json_decref(got);
}

static void test_request_segments(void **state)
{
    (void)state;
    same_segments("{\"customer\":{\"id\":\"C-1\",\"segment\":\"smb\"},\"lines\":[{\"id\":\"a\","
                  "\"config\":{\"x\":[1,2,{\"y\":null}]}}],\"caller\":{\"segment\":\"gold\"}}");
    same_segments("{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\"}");
    same_segments("{\"caller\":7,\"customer\":{\"segment\":5}}");
    same_segments("{\"caller\":{\"segment\":\"a\"},\"caller\":\"b\"}");
    same_segments("{}");
    same_segments("{\"channel\":\"partner-portal\",\"date\":\"2026-11-20\",\"lines\":[],"
                  "\"channel\":\"web\"}");
    same_segments("{\"channel\":null,\"date\":20261120}");
    assert_null(contract_request_lite("{\"channel\":\"w\\u00e9b\"}"));
    assert_null(contract_request_lite("{\"customer\":{\"segment\":\"s\\u00e9\"}}"));
    assert_null(contract_request_lite("{\"customer\":{\"segment\":\"s\"}"));
    assert_null(contract_request_lite(NULL));
}

/* The texts of a contract not inserted yet, written directly and
 * through jansson's tree: the same bytes (or the direct writer gave up,
 * want_direct false). */
static void same_texts(store_contract *k, store_receivable *rows, size_t n, date_days as_of,
                       bool want_direct)
{
    svc_ctx c;
    memset(&c, 0, sizeof(c)); /* no store: items not inserted have no payments */
    char *b1 = NULL, *s1 = NULL, *b2 = NULL, *s2 = NULL;
    int rc = contract_fresh_texts(&c, k, rows, n, as_of, true, &b1, &s1);
    assert_int_equal(contract_fresh_texts(&c, k, rows, n, as_of, false, &b2, &s2), 0);
    if (!want_direct) {
        assert_int_equal(rc, CPQD_EINVAL);
        assert_null(b1);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(b1, b2);
        assert_string_equal(s1, s2);
    }
    free(b1), free(s1), free(b2), free(s2);
}

static void test_direct_texts_match_the_tree(void **state)
{
    (void)state;
    /* every printable ASCII byte, the control bytes jansson escapes
     * short and long, DEL */
    char all[160];
    size_t m = 0;
    for (int ch = 1; ch < 0x80; ch++)
        all[m++] = (char)ch;
    all[m] = '\0';
    store_contract k = {.id = "c_0001", .number = "C-2026-000001", .quote_id = "q_1",
                        .quote_version = 3, .customer_id = "C \"1\"\\", .partner_id = NULL,
                        .currency = "CNY", .total = "600.50", .signed_on = "2026-12-02",
                        .start_on = "2027-01-31", .catalog_version = "sha256:ab",
                        .created_by = "k_\t1", .created_at = "2026-12-01T10:00:00Z"};
    store_receivable rows[] = {
        {.id = "r_2", .line_id = "kettle", .line_no = 1, .kind = "installment", .amount = "298.00",
         .amount_known = true, .description = all, .paid = "0.00", .due_on = "2026-12-05",
         .bill_on = "2026-12-05"},
        {.id = "r_1", .line_id = "oven", .line_no = 0, .kind = "installment", .amount = "300.00",
         .amount_known = true, .description = "prepaid", .paid = "0.00", .due_on = "2026-12-02",
         .bill_on = "2026-12-02"},
        {.id = "r_3", .line_id = "line \"3\"", .line_no = 3, .kind = "installment",
         .amount = "2.50", .amount_known = false, .description = "on delivery",
         .paid = "0.00", .waits_for = "delivery", .expected_on = "2026-12-03", .ref = "m\n1"},
        {.id = "r_4", .line_id = "seats", .line_no = 3, .kind = "period", .service = 1, .seq = 2,
         .part = 1, .amount = "0.00", .amount_known = true, .description = "Q1",
         .paid = "0.00", .due_on = "2026-11-20", .bill_on = "2026-11-05",
         .period_from = "2026-10-31", .period_to = "2027-01-30"},
    };
    /* as of a day that makes one overdue, one due, others scheduled */
    date_days as_of;
    assert_int_equal(date_parse("2026-12-02", 10, &as_of), 0);
    same_texts(&k, rows, 4, as_of, true);
    k.partner_id = "P-101";
    same_texts(&k, rows, 1, as_of, true);
    /* non-ASCII: the tree writes it */
    rows[1].description = "caf\xc3\xa9";
    same_texts(&k, rows, 4, as_of, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lite_matches_full_parse),
        cmocka_unit_test(test_lite_gives_up),
        cmocka_unit_test(test_request_segments),
        cmocka_unit_test(test_direct_texts_match_the_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
