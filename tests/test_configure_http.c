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

/* A configured line in /v1/price is priced from its exploded BOM,
 * implied options included; an inconsistent configuration is refused. */
static void test_price_of_a_configuration(void **state)
{
    fx *f = *state;
    static const char body[] =
        "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"sku\":"
        "\"CNC-5AX-650\",\"quantity\":\"2\",\"attributes\":{\"plant_code\":\"SH-0001\"},"
        "\"configuration\":[{\"path\":\"spindle\",\"value\":\"CNC-SP-24K\"},"
        "{\"path\":\"@voltage\",\"value\":\"%s\"}]}]}";
    char *ok = tu_fmt(body, "400"), *bad = tu_fmt(body, "480");
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/price", NULL, ok, strlen(ok), &r), 0);
    assert_int_equal(r.status, 200);
    json_error_t je;
    json_t *j = json_loadb(r.body, r.body_len, 0, &je);
    tu_resp_free(&r);
    json_t *l = json_array_get(json_object_get(j, "lines"), 0);
    assert_true(json_is_false(json_object_get(l, "configuration_complete")));
    bool spindle = false, chiller = false, controller = false;
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(l, "waterfall"), i, st)
    {
        const char *ref = json_string_value(json_object_get(st, "ref"));
        if (!ref || strcmp(json_string_value(json_object_get(st, "step")), "option"))
            continue;
        spindle |= !strcmp(ref, "CNC-SP-24K");
        chiller |= !strcmp(ref, "CNC-CHL-2000");      /* implied by 24k-needs-chiller */
        controller |= !strcmp(ref, "CNC-CTL-PRO");    /* the only controller */
    }
    assert_true(spindle && chiller && controller);
    json_decref(j);
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/price", NULL, bad, strlen(bad), &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "is inconsistent"));
    tu_resp_free(&r);
    free(ok);
    free(bad);
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
        cmocka_unit_test(test_three_level_rollup),
    };
    return cmocka_run_group_tests_name("configure_http", tests, setup, teardown);
}
