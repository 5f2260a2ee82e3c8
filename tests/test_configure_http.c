/*
 * End-to-end tests of POST /v1/configure on the sample catalogs: value
 * states with reasons naming the user's choices and the catalog
 * constraints (file:line), a minimal conflict, the exploded BOM, and bad
 * inputs. The expectations follow catalogs/cnc.yaml's CNC-5AX-650:
 *   24k-needs-chiller:  spindle = CNC-SP-24K -> coolant = CNC-CHL-2000
 *   chiller-50hz-only:  @voltage in [440, 480] -> coolant != CNC-CHL-2000
 *   rtcp-required:      controller = CNC-CTL-PRO -> .../software = CNC-SW-5AXIS
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>

typedef struct fx {
    char *dir, *logp, *db;
    tu_server s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->logp = tu_fmt("%s/cpqd.log", f->dir);
    f->db = tu_fmt("%s/cpqd.db", f->dir);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "2",
                          "--db", f->db, NULL};
    int rc = tu_server_start(&f->s, f->logp, args);
    free(cats);
    free(rules);
    return rc;
}

static int teardown(void **state)
{
    fx *f = *state;
    int st = f->s.pid > 0 ? tu_server_stop(&f->s) : 0;
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f->logp);
    free(f->db);
    free(f);
    return st == 0 ? 0 : -1;
}

static json_t *configure(fx *f, const char *body, int *status)
{
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/configure", NULL, body, strlen(body), &r), 0);
    *status = r.status;
    json_error_t je;
    json_t *j = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
    if (!j)
        fail_msg("not JSON (%d): %s", r.status, r.body ? r.body : "");
    tu_resp_free(&r);
    return j;
}

/* The value object of variable path / value v. */
static json_t *value_of(json_t *res, const char *path, const char *v)
{
    size_t i, k;
    json_t *var, *val;
    json_array_foreach(json_object_get(res, "variables"), i, var)
    {
        if (strcmp(json_string_value(json_object_get(var, "path")), path) != 0)
            continue;
        json_array_foreach(json_object_get(var, "values"), k, val)
            if (!strcmp(json_string_value(json_object_get(val, "value")), v))
                return val;
    }
    fail_msg("no value %s of %s", v, path);
    return NULL;
}

static const char *state_of(json_t *res, const char *path, const char *v)
{
    return json_string_value(json_object_get(value_of(res, path, v), "state"));
}

static bool names_constraint(json_t *reason, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(reason, "constraints"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "id")), id)) {
            const char *src = json_string_value(json_object_get(c, "source"));
            assert_non_null(src);
            assert_non_null(strstr(src, "cnc.yaml:"));
            return true;
        }
    return false;
}

static void test_no_choices(void **state)
{
    int st;
    json_t *j = configure(*state, "{\"product\":\"CNC-5AX-650\"}", &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(j, "consistent")));
    assert_true(json_is_false(json_object_get(j, "complete")));
    /* one controller only: implied; RTCP software forced by rtcp-required */
    assert_string_equal(state_of(j, "controller", "CNC-CTL-PRO"), "implied");
    assert_string_equal(state_of(j, "controller/CNC-CTL-PRO/software", "CNC-SW-5AXIS"), "implied");
    assert_string_equal(state_of(j, "spindle", "CNC-SP-24K"), "possible");
    /* the BOM already holds the implied controller */
    json_t *b0 = json_array_get(json_object_get(j, "bom"), 0);
    assert_string_equal(json_string_value(json_object_get(b0, "sku")), "CNC-CTL-PRO");
    assert_true(json_is_true(json_object_get(b0, "implied")));
    json_decref(j);
}

static void test_choice_excludes_with_reason(void **state)
{
    int st;
    json_t *j = configure(*state,
                          "{\"product\":\"CNC-5AX-650\",\"choices\":[{\"path\":\"spindle\","
                          "\"value\":\"CNC-SP-24K\"}]}",
                          &st);
    assert_int_equal(st, 200);
    assert_string_equal(state_of(j, "spindle", "CNC-SP-24K"), "selected");
    assert_string_equal(state_of(j, "coolant", "CNC-CHL-2000"), "implied");
    /* 480 V is excluded by the user's spindle and the two constraints */
    json_t *v = value_of(j, "@voltage", "480");
    assert_string_equal(json_string_value(json_object_get(v, "state")), "excluded");
    json_t *why = json_object_get(v, "reason");
    assert_int_equal(json_array_size(json_object_get(why, "choices")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(why, "choices"), 0), "index")),
                     0);
    assert_true(names_constraint(why, "24k-needs-chiller"));
    assert_true(names_constraint(why, "chiller-50hz-only"));
    assert_string_equal(state_of(j, "@voltage", "380"), "possible");
    json_decref(j);
}

static void test_conflict_is_minimal(void **state)
{
    int st;
    json_t *j = configure(*state,
                          "{\"product\":\"CNC-5AX-650\",\"choices\":["
                          "{\"path\":\"@colour\",\"value\":\"ral7035\"},"
                          "{\"path\":\"spindle\",\"value\":\"CNC-SP-24K\"},"
                          "{\"path\":\"@voltage\",\"value\":\"480\"}]}",
                          &st);
    assert_int_equal(st, 200);
    assert_true(json_is_false(json_object_get(j, "consistent")));
    json_t *c = json_object_get(j, "conflict");
    json_t *cs = json_object_get(c, "choices");
    /* the colour has nothing to do with it: choices 1 and 2 only */
    assert_int_equal(json_array_size(cs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cs, 0), "index")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cs, 1), "index")), 2);
    assert_true(names_constraint(c, "24k-needs-chiller"));
    assert_true(names_constraint(c, "chiller-50hz-only"));
    json_decref(j);
}

static void test_bad_inputs(void **state)
{
    static const struct {
        const char *body;
        int status;
        const char *in_message;
    } cases[] = {
        {"{", 400, "invalid JSON"},
        {"{\"choices\":[]}", 400, "product: is required"},
        {"{\"product\":\"NOPE\"}", 404, "no product with SKU 'NOPE'"},
        {"{\"product\":\"CNC-5AX-650\",\"choices\":[{\"path\":\"nogroup\",\"value\":\"X\"}]}", 400,
         "no variable 'nogroup'"},
        {"{\"product\":\"CNC-5AX-650\",\"choices\":[{\"path\":\"spindle\",\"value\":\"CNC-SP-99K\"}]}",
         400, "is not a value of spindle"},
        {"{\"product\":\"CNC-5AX-650\",\"colour\":\"red\"}", 400, "colour: unknown field"},
        {"{\"product\":\"CNC-5AX-650\",\"catalog_version\":\"0000\"}", 409, "holds version"},
        {"{\"product\":\"CNC-5AX-650\",\"explain\":\"some\"}", 400, "explain: must be"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st;
        json_t *j = configure(*state, cases[i].body, &st);
        const char *msg =
            json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (st != cases[i].status || !msg || !strstr(msg, cases[i].in_message))
            fail_msg("%s: got %d %s", cases[i].body, st, json_dumps(j, 0));
        json_decref(j);
    }
}

/* POST path with body; the parsed reply (status in *status). */
static json_t *post(fx *f, const char *path, const char *body, int *status)
{
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", path, NULL, body, strlen(body), &r), 0);
    *status = r.status;
    json_error_t je;
    json_t *j = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
    if (!j)
        fail_msg("not JSON (%d): %s", r.status, r.body ? r.body : "");
    tu_resp_free(&r);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v)
        fail_msg("no string %s in %s", key, json_dumps(o, 0));
    return v;
}

/* The option SKUs of a priced line's waterfall, comma-separated. */
static char *options_of(json_t *line)
{
    char *out = calloc(1, 1);
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(line, "waterfall"), i, st)
    {
        if (strcmp(jstr(st, "step"), "option"))
            continue;
        char *n = tu_fmt("%s%s%s", out, *out ? "," : "", jstr(st, "ref"));
        free(out);
        out = n;
    }
    return out;
}

/* The error details whose path is path, or NULL. */
static json_t *detail_for(json_t *err, const char *path)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(json_object_get(err, "error"), "details"), i, d)
    {
        const char *p = json_string_value(json_object_get(d, "path"));
        if (p && !strcmp(p, path))
            return d;
    }
    return NULL;
}

#define PRICE_HEAD "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":["

/* A configured line in /v1/price is priced from its exploded BOM,
 * implied options included, once the configuration is complete: 24k
 * spindle (its chiller implied), Pro controller (the only one, with the
 * RTCP and HSM software it implies) with one 16-point I/O module, 30-tool
 * changer, no probe, 400 V: 2,680,000 + 96,000 + 22,000 + 85,000 + 4,800
 * + 120,000 + 36,000 + 42,000 = 3,085,800.00, warranty 24 months +3% =
 * 3,178,374.00 per unit, 6,356,748.00 for two. An incomplete
 * configuration is 422 naming the groups still without a choice; an
 * inconsistent one is 400. */
static void test_price_of_a_configuration(void **state)
{
    fx *f = *state;
    static const char body[] =
        PRICE_HEAD "{\"sku\":\"CNC-5AX-650\",\"quantity\":\"2\",\"attributes\":{\"plant_code\":"
                   "\"SH-0001\"},\"configuration\":[{\"path\":\"spindle\",\"value\":\"CNC-SP-24K\"},"
                   "{\"path\":\"@voltage\",\"value\":\"%s\"}%s]}]}";
    static const char rest[] = ",{\"path\":\"toolchanger\",\"value\":\"CNC-ATC-30\"},"
                               "{\"path\":\"controller/CNC-CTL-PRO/io\",\"value\":\"CNC-IO-16\","
                               "\"quantity\":\"1\"},"
                               "{\"path\":\"probe\",\"value\":\"CNC-PRB-TOUCH\",\"exclude\":true},"
                               "{\"path\":\"probe\",\"value\":\"CNC-PRB-LASER\",\"exclude\":true}";
    char *ok = tu_fmt(body, "400", rest), *part = tu_fmt(body, "400", ""),
         *bad = tu_fmt(body, "480", rest);
    int st;
    json_t *j = post(f, "/v1/price", ok, &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    assert_string_equal(jstr(l, "configuration"), "given");
    assert_true(json_is_true(json_object_get(l, "configuration_complete")));
    char *opts = options_of(l);
    assert_string_equal(opts, "CNC-SP-24K,CNC-CTL-PRO,CNC-IO-16,CNC-SW-5AXIS,CNC-SW-HSM,"
                              "CNC-ATC-30,CNC-CHL-2000");
    free(opts);
    assert_string_equal(jstr(l, "net"), "6356748.00");
    /* the ceiling of cnc-list bounds the base price (bounds: base) */
    assert_true(json_is_false(json_object_get(l, "approval_required")));
    json_decref(j);

    j = post(f, "/v1/price", part, &st);
    assert_int_equal(st, 422);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"), "configuration_incomplete");
    json_t *d = detail_for(j, "toolchanger");
    assert_non_null(d);
    assert_string_equal(jstr(d, "group"), "toolchanger");
    assert_string_equal(jstr(d, "name"), "刀库 Tool changer");
    assert_string_equal(jstr(d, "line_id"), "1");
    assert_string_equal(jstr(d, "sku"), "CNC-5AX-650");
    assert_string_equal(jstr(d, "file"), "cnc.yaml");
    assert_int_equal(json_integer_value(json_object_get(d, "line")), 234);
    assert_string_equal(jstr(d, "message"),
                        "line 1: the configuration of CNC-5AX-650 is incomplete: group "
                        "toolchanger (刀库 Tool changer) needs a choice (at least 1 of its options)");
    assert_non_null(detail_for(j, "controller/CNC-CTL-PRO/io"));
    assert_null(detail_for(j, "coolant")); /* the chiller the 24k spindle implies */
    assert_null(detail_for(j, "spindle"));
    json_decref(j);

    j = post(f, "/v1/price", bad, &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "is inconsistent"));
    json_decref(j);
    free(ok);
    free(part);
    free(bad);
}

/* No configuration: the catalog's defaults complete CNC-5AX-650 (18k
 * spindle, Pro controller with one 16-point I/O module and the RTCP, HSM
 * and probing software they imply, 30-tool changer, flood coolant, touch
 * probe), priced from that BOM and said so: 2,680,000 + 38,000 + 85,000
 * + 4,800 + 120,000 + 36,000 + 18,000 + 42,000 + 0 + 45,000 = 3,068,800,
 * warranty +3% = 3,160,864.00. A partner orders it without approval: the
 * ceiling 2,880,000 bounds the base price. (It used to be priced at
 * 2,760,400, without spindle or controller.) */
static void test_price_without_configuration_uses_defaults(void **state)
{
    fx *f = *state;
    int st;
    json_t *j = post(f, "/v1/price",
                     "{\"customer\":{\"id\":\"C-1\"},\"partner_id\":\"P-201\",\"role\":\"partner\","
                     "\"date\":\"2026-12-01\",\"lines\":[{\"sku\":\"CNC-5AX-650\",\"quantity\":\"1\","
                     "\"attributes\":{\"plant_code\":\"SH-0001\"}}]}",
                     &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    assert_string_equal(jstr(l, "configuration"), "defaults");
    char *opts = options_of(l);
    assert_string_equal(opts, "CNC-SP-18K,CNC-CTL-PRO,CNC-IO-16,CNC-SW-5AXIS,CNC-SW-HSM,"
                              "CNC-SW-PROBE,CNC-ATC-30,CNC-CLT-FLOOD,CNC-PRB-TOUCH");
    free(opts);
    assert_string_equal(jstr(l, "net"), "3160864.00");
    assert_true(json_is_false(json_object_get(l, "approval_required")));
    json_decref(j);
}

/* Explicit options must be exactly a valid configuration's: a 4th axis
 * alone on a CNC-VMC-850 names every required group without an option
 * and the Pro controller the axis needs (422); the standard machine
 * listed in full is priced (368,000.00, its options at 0.00); an option
 * at another quantity than its BOM's is 400. A quote with the incomplete
 * line is refused and nothing is stored; without configuration it is
 * created from the defaults; a revision to the incomplete line is
 * refused and the quote stays as it was. */
static void test_price_options_must_be_a_configuration(void **state)
{
    fx *f = *state;
    int st;
    json_t *j = post(f, "/v1/price",
                     PRICE_HEAD "{\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\",\"attributes\":"
                                "{\"plant_code\":\"SH-0001\"},\"options\":[{\"sku\":\"CNC-ROT-A\"}]}]}",
                     &st);
    assert_int_equal(st, 422);
    static const char *const groups[] = {"spindle", "toolchanger", "coolant", "controller"};
    for (size_t i = 0; i < 4; i++)
        if (!detail_for(j, groups[i]))
            fail_msg("no detail for %s in %s", groups[i], json_dumps(j, 0));
    assert_string_equal(jstr(detail_for(j, "controller"), "option"), "CNC-CTL-PRO");
    json_decref(j);

    static const char full[] =
        PRICE_HEAD "{\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\",\"attributes\":{\"plant_code\":"
                   "\"SH-0001\"},\"options\":[{\"sku\":\"CNC-SP-12K\"},{\"sku\":\"CNC-CTL-BASIC\"},"
                   "{\"sku\":\"CNC-ATC-24\"},{\"sku\":\"CNC-CLT-FLOOD\",\"quantity\":\"%s\"}]}]}";
    char *one = tu_fmt(full, "1"), *two = tu_fmt(full, "2");
    j = post(f, "/v1/price", one, &st);
    assert_int_equal(st, 200);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    assert_string_equal(jstr(l, "configuration"), "options");
    assert_string_equal(jstr(l, "net"), "368000.00");
    json_decref(j);
    j = post(f, "/v1/price", two, &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"),
                           "option CNC-CLT-FLOOD: quantity 2 is not its quantity in the BOM"));
    json_decref(j);
    free(one);
    free(two);

    /* quotes price the same way */
    j = post(f, "/v1/quotes",
             PRICE_HEAD "{\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\",\"attributes\":"
                        "{\"plant_code\":\"SH-0001\"},\"options\":[{\"sku\":\"CNC-ROT-A\"}]}]}",
             &st);
    assert_int_equal(st, 422);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"), "configuration_incomplete");
    json_decref(j);
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/v1/quotes", &r), 0);
    assert_int_equal(r.status, 200);
    json_error_t je;
    j = json_loadb(r.body, r.body_len, 0, &je);
    tu_resp_free(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0); /* nothing stored */
    json_decref(j);
    j = post(f, "/v1/quotes",
             PRICE_HEAD "{\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\",\"attributes\":"
                        "{\"plant_code\":\"SH-0001\"}}]}",
             &st);
    assert_int_equal(st, 201);
    l = json_array_get(json_object_get(json_object_get(j, "priced"), "lines"), 0);
    assert_string_equal(jstr(l, "configuration"), "defaults");
    assert_string_equal(jstr(l, "net"), "368000.00");
    char *id = strdup(jstr(j, "id"));
    json_decref(j);
    /* a revision with the incomplete line is refused: still version 1 */
    char *rev = tu_fmt("/v1/quotes/%s/revise", id), *get = tu_fmt("/v1/quotes/%s", id);
    j = post(f, rev,
             PRICE_HEAD "{\"sku\":\"CNC-VMC-850\",\"quantity\":\"1\",\"attributes\":"
                        "{\"plant_code\":\"SH-0001\"},\"options\":[{\"sku\":\"CNC-ROT-A\"}]}]}",
             &st);
    assert_int_equal(st, 422);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"), "configuration_incomplete");
    json_decref(j);
    assert_int_equal(tu_get(f->s.port, get, &r), 0);
    assert_int_equal(r.status, 200);
    j = json_loadb(r.body, r.body_len, 0, &je);
    tu_resp_free(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    json_decref(j);
    free(rev);
    free(get);
    free(id);
}

/* A 3-level BOM rolls quantities up through /v1/configure: the solver's
 * rig (tests/data/solver/rig): CTL-B x2 -> IO-1 x3 = 6, SW-X x1 = 2,
 * SW-X's protocol P-2 x1 = 2 at level 3. */
static void test_three_level_rollup(void **state)
{
    (void)state;
    fx f = {0};
    f.dir = tu_tmpdir();
    f.logp = tu_fmt("%s/rig.log", f.dir);
    f.db = tu_fmt("%s/rig.db", f.dir);
    char *cats = tu_path("tests/data/solver/rig");
    const char *args[] = {"--catalogs", cats, "--rules", f.dir, "--db", f.db, NULL};
    assert_int_equal(tu_server_start(&f.s, f.logp, args), 0);
    int st;
    json_t *j = configure(&f,
                          "{\"product\":\"RIG\",\"explain\":\"none\",\"choices\":["
                          "{\"path\":\"ctl\",\"value\":\"CTL-B\"},"
                          "{\"path\":\"ctl/CTL-B/io\",\"value\":\"IO-1\",\"quantity\":\"3\"},"
                          "{\"path\":\"ctl/CTL-B/sw\",\"value\":\"SW-X\"},"
                          "{\"path\":\"ctl/CTL-B/sw/SW-X/proto\",\"value\":\"P-2\"}]}",
                          &st);
    assert_int_equal(st, 200);
    static const struct {
        const char *sku, *qty, *total;
        int level;
    } want[] = {{"CTL-B", "2", "2", 1}, {"IO-1", "3", "6", 2}, {"SW-X", "1", "2", 2},
                {"P-2", "1", "2", 3}};
    json_t *bom = json_object_get(j, "bom");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *b = NULL, *x;
        size_t k;
        json_array_foreach(bom, k, x) if (!strcmp(json_string_value(json_object_get(x, "sku")),
                                                  want[i].sku)) b = x;
        if (!b)
            fail_msg("%s missing from the BOM", want[i].sku);
        assert_string_equal(json_string_value(json_object_get(b, "quantity")), want[i].qty);
        assert_string_equal(json_string_value(json_object_get(b, "total_quantity")), want[i].total);
        assert_int_equal(json_integer_value(json_object_get(b, "level")), want[i].level);
    }
    json_decref(j);
    assert_int_equal(tu_server_stop(&f.s), 0);
    tu_rm_tree(f.dir);
    free(cats);
    free(f.dir);
    free(f.logp);
    free(f.db);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_choices),
        cmocka_unit_test(test_choice_excludes_with_reason),
        cmocka_unit_test(test_conflict_is_minimal),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_price_of_a_configuration),
        cmocka_unit_test(test_price_without_configuration_uses_defaults),
        cmocka_unit_test(test_price_options_must_be_a_configuration),
        cmocka_unit_test(test_three_level_rollup),
    };
    return cmocka_run_group_tests_name("configure_http", tests, setup, teardown);
}
