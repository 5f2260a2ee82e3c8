/*
 * Unit tests for rules: the Lua sandbox, decimals, compiling, results,
 * limits, inputs and `cpqd rule eval`.
 *
 * Group "rules_attacks" runs every snippet in $CPQD_SHARED/lua-attacks
 * (default ../shared from the repository root, CPQD_ROOT) through one
 * shared sandbox state with the production limits, checks the snippet's
 * "-- expect:" line, and then runs a probe in the same state that must
 * find it exactly as fresh (string metatable, libraries, no leaked
 * globals, collector running). One deliberate difference from production:
 * the CPU-time deadline is relaxed, because a shared 2-core test machine
 * and sanitizer builds make CPU time noisy; the deterministic limits
 * (instruction budget, memory cap) are the production ones, and the
 * deadline itself is tested on its own (test_rules_deadline_trips).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/rules.h"
#include "rules_int.h"
#include "testutil.h"

#include <pthread.h>

#define ATTACK_TIME_MS 10000u

/* The probe: what a victim evaluation sees after any snippet. */
static const char probe_src[] =
    "local ok = ('abc'):upper() == 'ABC' and string.upper('a') == 'A'\n"
    "  and table.concat({'a', 'b'}, '-') == 'a-b' and math.floor(1.5) == 1\n"
    "  and tostring(12) == '12' and type(pairs) == 'function' and type(pcall) == 'function'\n"
    "  and select('#', 1, 2) == 2 and ('x'):rep(3) == 'xxx' and ('a1'):match('%d') == '1'\n"
    "  and LEAK == nil and getmetatable == nil and setmetatable == nil and load == nil\n"
    "  and collectgarbage == nil and string.dump == nil and ('').dump == nil\n"
    "  and dec('0.1') + dec('0.2') == dec('0.3')\n"
    "local n = 0\n"
    "for k in pairs(_ENV) do n = n + 1 end\n"
    "-- the collector must run: ~19 MB of garbage under an 8 MiB cap\n"
    "for i = 1, 120 do local s = string.rep('0123456789', 8000) .. i end\n"
    "return ok and n == 0 and 'clean' or 'dirty'\n";

/* ---- helpers ---- */

static rules_state *state_new(const rules_limits *lim)
{
    int err = 0;
    rules_state *st = rules_state_new(lim, &err);
    assert_non_null(st);
    return st;
}

/* A state with the production limits except the CPU-time deadline,
 * relaxed as for the attack suite: tests that expect the instruction
 * budget or the memory cap to trip must not see the deadline trip first
 * on a loaded machine. */
static rules_state *state_steady(void)
{
    rules_limits lim = {.time_ms = ATTACK_TIME_MS};
    return state_new(&lim);
}

static rules_chunk *compile_ok(rules_state *st, const char *name, const char *src)
{
    rules_chunk *ch = NULL;
    cpqd_errs *e = errs_new();
    int rc = rules_compile(st, name, src, strlen(src), &ch, e);
    if (rc != 0) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fail_msg("compile failed (%d): %s", rc, m ? m : "?");
    }
    errs_free(e);
    return ch;
}

/* Compiles and runs src with input; formats the outcome into buf. */
static rules_result *run(rules_state *st, const char *src, const rules_value *in, unsigned accept)
{
    static rules_result r;
    rules_chunk *ch = compile_ok(st, "rule.lua", src);
    rules_eval(st, ch, in, accept, &r);
    rules_chunk_free(ch);
    assert_int_equal(rules_state_check(st), 0);
    return &r;
}

static const char *shown(const rules_result *r)
{
    static char buf[2 * RULES_TEXT_MAX];
    rules_result_format(r, buf, sizeof(buf));
    return buf;
}

/* Runs src and expects exactly `want` as the CLI would print it. */
static void expect_line(rules_state *st, const char *src, const char *want)
{
    const rules_result *r = run(st, src, NULL, RULES_ACCEPT_ANY);
    assert_string_equal(shown(r), want);
}

/* Runs src and expects outcome o with needle in its message. */
static void expect_fail(rules_state *st, const char *src, rules_outcome o, const char *needle)
{
    const rules_result *r = run(st, src, NULL, RULES_ACCEPT_ANY);
    if (r->outcome != o || !strstr(r->msg, needle))
        fail_msg("expected %s ~'%s', got: %s", rules_outcome_name(o), needle, shown(r));
}

static void expect_probe_clean(rules_state *st)
{
    expect_line(st, probe_src, "OK clean");
}

static money_dec dec_of(int64_t coef, int scale)
{
    return (money_dec){coef, scale};
}

/* ---- attack snippets ---- */

typedef struct expectation {
    char classes[128]; /* "ERR_CPU|ERR_TIME" */
    char kind;         /* 0, '=' (exact rendering) or '~' (substring) */
    char text[256];
} expectation;

static int parse_expect(const char *src, expectation *e)
{
    memset(e, 0, sizeof(*e));
    const char *p = strstr(src, "-- expect:");
    if (p != src)
        return -1;
    p += strlen("-- expect:");
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " \n");
    if (n == 0 || n >= sizeof(e->classes))
        return -1;
    memcpy(e->classes, p, n);
    p += n;
    while (*p == ' ')
        p++;
    if (*p == '=' || *p == '~') {
        e->kind = *p++;
        n = strcspn(p, "\n");
        if (n >= sizeof(e->text))
            return -1;
        memcpy(e->text, p, n);
    }
    return 0;
}

static bool class_listed(const char *classes, const char *cls)
{
    size_t n = strlen(cls);
    for (const char *p = classes; *p;) {
        size_t k = strcspn(p, "|");
        if ((k == 3 && strncmp(p, "ANY", 3) == 0) || (k == n && strncmp(p, cls, n) == 0))
            return true;
        p += k + (p[k] == '|');
    }
    return false;
}

static rules_state *attack_state; /* shared by the whole attack group */

static int attack_setup(void **state)
{
    (void)state;
    rules_limits lim = {.time_ms = ATTACK_TIME_MS};
    attack_state = rules_state_new(&lim, NULL);
    return attack_state ? 0 : -1;
}

static int attack_teardown(void **state)
{
    (void)state;
    rules_state_free(attack_state);
    attack_state = NULL;
    return 0;
}

/* Runs one snippet (path in *state) and the probe after it. */
static void test_attack(void **state)
{
    const char *path = *state;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = 0;
    char *src = tu_read_file(path, &len);
    assert_non_null(src);
    expectation e;
    assert_int_equal(parse_expect(src, &e), 0);

    static rules_result r;
    char got[2 * RULES_TEXT_MAX];
    const char *cls, *rendering = "", *msg = "";
    rules_chunk *ch = NULL;
    cpqd_errs *errs = errs_new();
    if (rules_compile(attack_state, name, src, len, &ch, errs) != 0) {
        char *m = errs_format(errs, 0);
        snprintf(got, sizeof(got), "%s", m ? m : "");
        free(m);
        cls = "ERR_COMPILE";
        msg = got;
    } else {
        rules_eval(attack_state, ch, NULL, RULES_ACCEPT_ANY, &r);
        rules_result_format(&r, got, sizeof(got));
        cls = rules_outcome_name(r.outcome);
        rendering = r.outcome == RULES_OK ? got + (got[2] == ' ' ? 3 : 2) : "";
        msg = r.msg;
    }
    if (!class_listed(e.classes, cls))
        fail_msg("%s: expected %s, got %s %s", name, e.classes, cls, *msg ? msg : rendering);
    if (e.kind == '=' && strcmp(rendering, e.text) != 0)
        fail_msg("%s: expected value '%s', got '%s'", name, e.text, rendering);
    if (e.kind == '~' && !strstr(msg, e.text) && !strstr(rendering, e.text))
        fail_msg("%s: expected '%s' in '%s'", name, e.text, msg);
    assert_int_equal(rules_state_check(attack_state), 0);
    expect_probe_clean(attack_state);
    rules_chunk_free(ch);
    errs_free(errs);
    free(src);
}

static void test_attack_suite_found(void **state)
{
    size_t n = (size_t)(uintptr_t)*state;
    if (n < 30)
        fail_msg("found %zu attack snippets in $CPQD_SHARED/lua-attacks (expected >= 30)", n);
}

static int is_lua(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".lua") == 0;
}

static int run_attack_group(void)
{
    const char *shared = getenv("CPQD_SHARED");
    char *dir = tu_fmt("%s/lua-attacks", shared && *shared ? shared : "../shared");
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_lua, alphasort);
    size_t count = n > 0 ? (size_t)n : 0;
    struct CMUnitTest *tests = calloc(count + 1, sizeof(*tests));
    char **paths = calloc(count + 1, sizeof(char *));
    assert_non_null(tests);
    tests[0] = (struct CMUnitTest){"attack_suite_found", test_attack_suite_found, NULL, NULL,
                                   (void *)(uintptr_t)count};
    for (size_t i = 0; i < count; i++) {
        paths[i] = tu_fmt("%s/%s", dir, names[i]->d_name);
        tests[i + 1] = (struct CMUnitTest){names[i]->d_name, test_attack, NULL, NULL, paths[i]};
    }
    int failed = _cmocka_run_group_tests("rules_attacks", tests, count + 1, attack_setup,
                                         attack_teardown);
    for (size_t i = 0; i < count; i++) {
        free(paths[i]);
        free(names[i]);
    }
    free(names);
    free(paths);
    free(tests);
    free(dir);
    return failed;
}

/* ---- decimals ---- */

static void test_rules_dec_point_one_plus_point_two_is_exact(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st, "return dec('0.1') + dec('0.2') == dec('0.3'), dec('0.1') + dec('0.2')",
                "OK true,0.3");
    rules_state_free(st);
}

static void test_rules_dec_arithmetic_is_exact_and_keeps_scale(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st,
                "return dec('19.99') * 3, dec('1.10') * dec('1.5'), dec('10.00') - dec('0.01'),"
                " -dec('2.50'), dec('5') + 1, 2 * dec('0.005'), dec('-0')",
                "OK 59.97,1.650,9.99,-2.50,6,0.010,0");
    rules_state_free(st);
}

static void test_rules_dec_rounding_modes(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st,
                "local d, m = dec('2.345'), dec('-2.345')\n"
                "return d:round(2, 'half_up'), d:round(2, 'half_even'), d:round(2, 'up'),"
                " d:round(2, 'down'), m:round(2, 'ceiling'), m:round(2, 'floor'),"
                " dec('2.5'):round(0, 'half_even'), dec('3.5'):round(0, 'half_even')",
                "OK 2.35,2.34,2.35,2.34,-2.34,-2.35,2,4");
    expect_line(st, "return dec('7'):round(3, 'down'), dec('-2.5'):round(0, 'half_up')",
                "OK 7.000,-3");
    rules_state_free(st);
}

static void test_rules_dec_division_and_scaled_product(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    /* 1 / 0.0035 = 285.714285...; 0.0035 * 1234567 = 4320.9845 */
    expect_line(st,
                "return dec('100.00'):div(3, 2, 'down'), dec('100.00'):div(3, 2, 'up'),"
                " dec(1):div(dec('0.0035'), 4, 'half_up'),"
                " dec('0.0035'):mul(1234567, 2, 'half_up')",
                "OK 33.33,33.34,285.7143,4320.98");
    expect_fail(st, "return dec('1') / dec('3')", RULES_ERR_RUNTIME, "a:div(b, scale, mode)");
    expect_fail(st, "return dec('1'):div(0, 2, 'down')", RULES_ERR_RUNTIME, "division by zero");
    expect_fail(st, "return dec('1'):div(3, 2, 'nearest')", RULES_ERR_RUNTIME, "rounding mode");
    expect_fail(st, "return dec('1'):round(19, 'down')", RULES_ERR_RUNTIME, "scale must be 0..18");
    expect_fail(st, "return dec('0.0000000001') * dec('0.0000000001')", RULES_ERR_RUNTIME,
                "a:mul(b, scale, mode)");
    rules_state_free(st);
}

static void test_rules_dec_refuses_floats(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_fail(st, "return dec(1.5)", RULES_ERR_RUNTIME, "float");
    expect_fail(st, "return dec(2.0)", RULES_ERR_RUNTIME, "float");
    expect_fail(st, "return dec('1') * 1.5", RULES_ERR_RUNTIME, "float");
    expect_fail(st, "return 0.5 + dec('1')", RULES_ERR_RUNTIME, "float");
    expect_fail(st, "return dec('1') < 0.5", RULES_ERR_RUNTIME, "float");
    expect_fail(st, "return dec('1') + '2'", RULES_ERR_RUNTIME, "decimal or integer expected");
    expect_fail(st, "return dec('1.5e3')", RULES_ERR_RUNTIME, "not a decimal");
    expect_fail(st, "return dec(('9'):rep(100))", RULES_ERR_RUNTIME, "not a decimal");
    expect_fail(st, "return dec({})", RULES_ERR_RUNTIME, "string or integer expected");
    rules_state_free(st);
}

static void test_rules_dec_overflow_is_an_error_not_a_wrap(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_fail(st, "return dec('9223372036854775807') + 1", RULES_ERR_RUNTIME, "overflow");
    expect_fail(st, "return dec('-9223372036854775807') - 2", RULES_ERR_RUNTIME, "overflow");
    expect_fail(st, "return dec(math.maxinteger) * dec(math.maxinteger)", RULES_ERR_RUNTIME,
                "overflow");
    expect_fail(st, "return dec('92233720368547758.07') * 100", RULES_ERR_RUNTIME, "overflow");
    expect_fail(st, "return dec(math.mininteger)", RULES_ERR_RUNTIME, "overflow");
    expect_fail(st, "return dec('99999999999999999999')", RULES_ERR_RUNTIME, "too large");
    rules_state_free(st);
}

static void test_rules_dec_compares_and_methods(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st,
                "return dec('1.50') == dec('1.5'), dec('2') > 1, dec('0.99') < 1, dec('1') <= 1,"
                " dec('1') == 1, dec('-3.10'):abs(), dec('-3.10'):sign(), dec('-3.10'):scale()",
                "OK true,true,true,true,false,3.10,-1,2");
    expect_line(st, "return dec('5'):min(3), dec('5'):max(dec('7.5')), dec('5'):min(dec('5.00'))",
                "OK 3,7.5,5");
    expect_line(st, "return 'Total: ' .. dec('12.50'), tostring(dec('-0.01')), isdec(dec(1)),"
                    " isdec(1), type(dec(1)), dec(dec('4.2'))",
                "OK Total: 12.50,-0.01,true,false,userdata,4.2");
    rules_state_free(st);
}

static void test_rules_dec_cannot_be_tampered_with(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_fail(st, "local d = dec('1'); d.x = 1", RULES_ERR_RUNTIME, "index");
    expect_fail(st, "local d = dec('1'); d.round = nil", RULES_ERR_RUNTIME, "index");
    expect_line(st, "local d = dec('1'); return d.__index, d.__metatable, getmetatable", "OK nil,nil,nil");
    expect_fail(st, "local d <close> = dec('1')", RULES_ERR_RUNTIME, "non-closable");
    expect_line(st, "return dec('2'):round(1, 'down')", "OK 2.0");
    rules_state_free(st);
}

static void test_rules_dec_results_and_inputs_are_exact(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    const rules_result *r = run(st, "return dec('12.50'), dec('-0.0035')", NULL, RULES_ACCEPT_ANY);
    assert_int_equal(r->outcome, RULES_OK);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->values[0].type, RULES_T_DEC);
    assert_int_equal(r->values[0].u.dec.coef, 1250);
    assert_int_equal(r->values[0].u.dec.scale, 2);
    assert_int_equal(r->values[1].u.dec.coef, -35);
    assert_int_equal(r->values[1].u.dec.scale, 4);

    rules_field customer[] = {{"segment", rules_value_str("edu", 3)}};
    rules_field ctx[] = {{"price", rules_value_dec(dec_of(1250, 2))},
                         {"qty", rules_value_int(3)},
                         {"sku", rules_value_str("SKU-1", 5)},
                         {"vip", rules_value_bool(true)},
                         {"note", rules_value_nil()},
                         {"customer", rules_value_table(customer, 1)}};
    rules_field root[] = {{"ctx", rules_value_table(ctx, 6)}};
    rules_value in = rules_value_table(root, 1);
    r = run(st, "return ctx.price * ctx.qty, ctx.sku, ctx.customer.segment, ctx.vip, ctx.note",
            &in, RULES_ACCEPT_ANY);
    assert_string_equal(shown(r), "OK 37.50,SKU-1,edu,true,nil");
    rules_state_free(st);
}

static void test_rules_money_results_refuse_floats(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    const rules_result *r = run(st, "return 1.5", NULL, RULES_ACCEPT_MONEY);
    assert_int_equal(r->outcome, RULES_ERR_RESULT);
    assert_non_null(strstr(r->msg, "decimal"));
    r = run(st, "return 'x'", NULL, RULES_ACCEPT_MONEY);
    assert_int_equal(r->outcome, RULES_ERR_RESULT);
    r = run(st, "return dec('1.5')", NULL, RULES_ACCEPT_MONEY);
    assert_string_equal(shown(r), "OK 1.5");
    r = run(st, "return 2", NULL, RULES_ACCEPT_MONEY);
    assert_string_equal(shown(r), "OK 2");
    r = run(st, "return nil", NULL, RULES_ACCEPT_MONEY);
    assert_string_equal(shown(r), "OK nil");
    rules_state_free(st);
}

/* ---- compiling ---- */

static void test_rules_compile_error_has_file_and_line(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    const char *src = "local a = 1\nlocal b = = 2\nreturn a\n";
    rules_chunk *ch = NULL;
    cpqd_errs *e = errs_new();
    assert_int_equal(rules_compile(st, "rules/bad.lua", src, strlen(src), &ch, e), CPQD_EINVAL);
    assert_null(ch);
    assert_int_equal(errs_count(e), 1);
    const cpqd_err *x = errs_get(e, 0);
    assert_string_equal(x->file, "rules/bad.lua");
    assert_int_equal(x->line, 2);
    assert_non_null(strstr(x->msg, "unexpected symbol near '='"));
    assert_null(strstr(x->msg, "bad.lua"));
    errs_free(e);
    assert_int_equal(rules_state_check(st), 0);
    rules_state_free(st);
}

static void test_rules_compile_refuses_binary_and_large_sources(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    rules_chunk *ch = NULL;
    cpqd_errs *e = errs_new();
    const char bin[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
    assert_int_equal(rules_compile(st, "b.lua", bin, sizeof(bin) - 1, &ch, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "binary"));
    size_t big = RULES_DEFAULT_SOURCE + 1;
    char *src = malloc(big);
    memset(src, ' ', big);
    assert_int_equal(rules_compile(st, "big.lua", src, big, &ch, e), CPQD_ELIMIT);
    assert_non_null(strstr(errs_get(e, 1)->msg, "source too large"));
    assert_null(ch);
    /* exactly at the limit is fine */
    memcpy(src, "return 1", 8);
    ch = NULL;
    assert_int_equal(rules_compile(st, "edge.lua", src, big - 1, &ch, e), 0);
    rules_chunk_free(ch);
    free(src);
    errs_free(e);
    rules_state_free(st);
}

static void test_rules_runtime_error_names_file_and_line(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_fail(st, "local x = nil\nreturn x.y", RULES_ERR_RUNTIME, "rule.lua:2:");
    expect_fail(st, "error({code = 1})", RULES_ERR_RUNTIME, "non-string error object (a table");
    expect_fail(st, "error(42)", RULES_ERR_RUNTIME, "42");
    expect_fail(st, "error('plain', 0)", RULES_ERR_RUNTIME, "plain");
    rules_state_free(st);
}

#ifdef CPQD_TESTING
static void test_rules_chunk_is_compiled_once_per_state(void **state)
{
    (void)state;
    rules_state *a = state_new(NULL), *b = state_new(NULL);
    unsigned long before = rules_test_compiles();
    rules_chunk *ch = compile_ok(a, "once.lua", "X = (X or 0) + 1\nreturn X");
    assert_int_equal(rules_test_compiles(), before + 1);
    rules_result r;
    for (int i = 0; i < 50; i++) {
        rules_eval(a, ch, NULL, RULES_ACCEPT_ANY, &r);
        assert_string_equal(shown(&r), "OK 1"); /* a fresh global table every time */
    }
    assert_int_equal(rules_test_compiles(), before + 1);
    for (int i = 0; i < 5; i++) {
        rules_eval(b, ch, NULL, RULES_ACCEPT_ANY, &r); /* lazily, once, in b */
        assert_string_equal(shown(&r), "OK 1");
    }
    assert_int_equal(rules_test_compiles(), before + 2);
    rules_state_cache_clear(a);
    rules_eval(a, ch, NULL, RULES_ACCEPT_ANY, &r);
    assert_string_equal(shown(&r), "OK 1");
    assert_int_equal(rules_test_compiles(), before + 3);
    rules_chunk_free(ch);
    rules_state_free(a);
    rules_state_free(b);
}
#endif

static void test_rules_check_only_compile_then_eval_elsewhere(void **state)
{
    (void)state;
    rules_chunk *ch = NULL;
    assert_int_equal(rules_compile(NULL, "x.lua", "return 6 * 7", 12, &ch, NULL), 0);
    assert_string_equal(rules_chunk_name(ch), "x.lua");
    rules_state *st = state_new(NULL);
    rules_result r;
    assert_int_equal(rules_eval(st, ch, NULL, RULES_ACCEPT_ANY, &r), 0);
    assert_string_equal(shown(&r), "OK 42");
    rules_chunk_free(ch);
    rules_state_free(st);
}

/* ---- results ---- */

static void test_rules_result_type_matrix(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st, "return nil, true, false, 42, -7, 1.5, 2.0, 'str'",
                "OK nil,true,false,42,-7,1.5,2.0,str");
    expect_line(st, "return 1e15, -0.1, 2^63, math.mininteger", "OK 1e+15,-0.1,9.2233720368548e+18,-9223372036854775808");
    expect_line(st, "return", "OK");
    expect_line(st, "return 1, 2, 3, 4, 5, 6, 7, 8", "OK 1,2,3,4,5,6,7,8");
    expect_fail(st, "return 1, 2, 3, 4, 5, 6, 7, 8, 9", RULES_ERR_RESULT, "at most 8");
    expect_fail(st, "return {}", RULES_ERR_RESULT, "table");
    expect_fail(st, "return {{1}}", RULES_ERR_RESULT, "table");
    expect_fail(st, "return print or pairs", RULES_ERR_RESULT, "function");
    expect_fail(st, "return 0/0", RULES_ERR_RESULT, "finite");
    expect_fail(st, "return 1/0", RULES_ERR_RESULT, "finite");
    expect_fail(st, "return -math.huge", RULES_ERR_RESULT, "finite");
    expect_fail(st, "return ('x'):rep(4096)", RULES_ERR_RESULT, "too long");
    expect_line(st, "return #('x'):rep(4095)", "OK 4095");
    expect_fail(st, "return ('x'):rep(3000), ('y'):rep(3000)", RULES_ERR_RESULT, "too long");

    const rules_result *r = run(st, "return 'a\\0b'", NULL, RULES_ACCEPT_ANY);
    assert_int_equal(r->values[0].type, RULES_T_STR);
    assert_int_equal(r->values[0].u.str.len, 3);
    assert_memory_equal(r->values[0].u.str.ptr, "a\0b", 4);
    r = run(st, "return 3.25, math.maxinteger", NULL, RULES_ACCEPT_ANY);
    assert_int_equal(r->values[0].type, RULES_T_NUM);
    assert_true(r->values[0].u.num == 3.25);
    assert_int_equal(r->values[1].type, RULES_T_INT);
    assert_int_equal(r->values[1].u.i, INT64_MAX);
    rules_state_free(st);
}

static void test_rules_format_truncates_safely(void **state)
{
    (void)state;
    rules_value v = rules_value_str("abcdef", 6);
    char buf[4];
    assert_int_equal(rules_value_format(&v, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "abc");
    v = rules_value_dec(dec_of(-1280000, 2));
    assert_int_equal(rules_value_format(&v, NULL, 0), 9); /* -12800.00 */
    rules_result r = {.outcome = RULES_ERR_CPU, .msg = "instruction budget exceeded"};
    assert_int_equal(rules_result_format(&r, buf, sizeof(buf)), 35);
    assert_string_equal(buf, "ERR");
    assert_string_equal(rules_outcome_name((rules_outcome)99), "?");
}

/* ---- the sandbox ---- */

static void test_rules_sandbox_offers_no_escape(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st,
                "return rawset == nil and getmetatable == nil and setmetatable == nil and"
                " collectgarbage == nil and coroutine == nil and debug == nil and load == nil and"
                " require == nil and print == nil and os == nil and io == nil and package == nil"
                " and dofile == nil and loadfile == nil and math.random == nil and xpcall == nil"
                " and string.dump == nil and string.pack == nil and _G == nil",
                "OK true");
    expect_fail(st, "string.upper = nil", RULES_ERR_RUNTIME, "read-only");
    expect_fail(st, "table.x = 1", RULES_ERR_RUNTIME, "read-only");
    expect_line(st, "tostring = nil; return type(tostring), rawget(string, 'upper'), next(math)",
                "OK function,nil,nil");
    expect_probe_clean(st);
    rules_state_free(st);
}

/* No value a rule can print carries an address (an ASLR leak for anyone
 * chaining a memory bug): tables, functions and the like print as their
 * type and a number that counts them within one evaluation. */
static void test_rules_no_address_reaches_a_rule(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    /* tostring: type and a per-evaluation number, the same number for the
     * same value, numbering from 1 again in the next evaluation */
    static const char ids[] = "local a, b = {}, {}\n"
                              "return tostring(a), tostring(b), tostring(a), tostring(tostring),"
                              " tostring(string), tostring(_ENV)";
    expect_line(st, ids, "OK table: 1,table: 2,table: 1,function: 3,table: 4,table: 5");
    expect_line(st, ids, "OK table: 1,table: 2,table: 1,function: 3,table: 4,table: 5");
    expect_line(st, "return tostring(tostring), tostring(pcall), tostring(dec)",
                "OK function: 1,function: 2,function: 3");
    /* %s of string.format goes through the same naming, width and all */
    expect_line(st, "local t = {} return string.format('%s|%-10s|%s', t, {}, t)",
                "OK table: 1|table: 2  |table: 1");
    expect_line(st, "return ('%s %s'):format(ipairs, string.upper)", "OK function: 1 function: 2");
    /* %p would print the address itself: refused, whatever the value */
    expect_fail(st, "return string.format('%p', {})", RULES_ERR_RUNTIME, "'%p'");
    expect_fail(st, "return string.format('%p', 'abc')", RULES_ERR_RUNTIME, "'%p'");
    expect_fail(st, "return ('%d %5.1p'):format(1, print or tostring)", RULES_ERR_RUNTIME, "'%p'");
    /* what has no address prints as before */
    expect_line(st,
                "return tostring(12), tostring(1.5), tostring(nil), tostring(true), tostring('x'),"
                " tostring(dec('2.50')), string.format('%s %s %%p %d', dec('1.0'), 'y', 7)",
                "OK 12,1.5,nil,true,x,2.50,1.0 y %p 7");
    expect_fail(st, "return string.format('%d', {})", RULES_ERR_RUNTIME, "number expected, got table");
    /* an error built from a table's name names it the same way */
    expect_fail(st, "error('bad ' .. tostring({}), 0)", RULES_ERR_RUNTIME, "bad table: 1");
    /* nothing printed anywhere looks like an address */
    const rules_result *r =
        run(st, "return tostring({}) .. tostring(print or tostring) .. string.format('%s', {})", NULL,
            RULES_ACCEPT_ANY);
    assert_null(strstr(shown(r), "0x"));
    expect_probe_clean(st);
    rules_state_free(st);
}

static void test_rules_inputs_are_fresh_each_evaluation(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    rules_field ctx[] = {{"n", rules_value_int(1)}};
    rules_field root[] = {{"ctx", rules_value_table(ctx, 1)}};
    rules_value in = rules_value_table(root, 1);
    rules_chunk *ch = compile_ok(st, "m.lua", "ctx.n = ctx.n + 1; ctx.extra = 1; return ctx.n");
    rules_result r;
    for (int i = 0; i < 3; i++) {
        rules_eval(st, ch, &in, RULES_ACCEPT_ANY, &r);
        assert_string_equal(shown(&r), "OK 2");
    }
    rules_chunk_free(ch);
    rules_state_free(st);
}

static void test_rules_invalid_inputs_are_refused(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    rules_chunk *ch = compile_ok(st, "i.lua", "return 1");
    rules_result r;
    rules_field f[] = {{"x", {.type = RULES_T_NUM, .u.num = 1.5}}};
    rules_value in = rules_value_table(f, 1);
    assert_int_equal(rules_eval(st, ch, &in, 0, &r), CPQD_EINVAL);
    assert_int_equal(r.outcome, RULES_ERR_RUNTIME);
    assert_non_null(strstr(r.msg, "invalid input: a float"));
    rules_field nameless[] = {{NULL, rules_value_int(1)}};
    in = rules_value_table(nameless, 1);
    assert_int_equal(rules_eval(st, ch, &in, 0, &r), CPQD_EINVAL);
    rules_field bad[] = {{"d", rules_value_dec(dec_of(INT64_MIN, 0))}};
    in = rules_value_table(bad, 1);
    assert_int_equal(rules_eval(st, ch, &in, 0, &r), CPQD_EINVAL);
    /* RULES_INPUT_DEPTH + 1 levels */
    rules_field chain[RULES_INPUT_DEPTH + 1];
    for (int i = 0; i <= RULES_INPUT_DEPTH; i++)
        chain[i] = (rules_field){"t", i == RULES_INPUT_DEPTH ? rules_value_int(1)
                                                              : rules_value_table(&chain[i + 1], 1)};
    in = rules_value_table(chain, 1);
    assert_int_equal(rules_eval(st, ch, &in, 0, &r), CPQD_EINVAL);
    in = rules_value_int(3);
    assert_int_equal(rules_eval(st, ch, &in, 0, &r), CPQD_EINVAL);
    assert_int_equal(rules_eval(st, ch, NULL, 0, &r), 0);
    rules_chunk_free(ch);
    rules_state_free(st);
}

/* ---- limits ---- */

static void test_rules_limit_trip_leaves_state_usable(void **state)
{
    (void)state;
    rules_state *st = state_steady();
    expect_fail(st, "while true do end", RULES_ERR_CPU, "instruction budget");
    expect_probe_clean(st);
    expect_fail(st, "local s = 'x' while true do s = s .. s end", RULES_ERR_MEM, "memory");
    expect_probe_clean(st);
    expect_fail(st, "local t = {} for i = 1, 1e8 do t[i] = {i, i, i, i} end", RULES_ERR_MEM,
                "memory");
    expect_probe_clean(st);
    expect_fail(st, "local function f() return 1 + f() end return f()", RULES_ERR_MEM, "memory");
    expect_probe_clean(st);
    rules_state_free(st);
}

/* A failed evaluation says on which line of the rule it stopped: a
 * runtime error where it was raised, a limit where it tripped (also when
 * a pcall in the rule tries to swallow it), memory in the loop that took
 * it. */
static void test_rules_failure_names_its_line(void **state)
{
    (void)state;
    /* production memory and budget; a relaxed deadline, so that a loaded
     * test machine cannot turn an ERR_MEM or ERR_CPU into an ERR_TIME */
    rules_limits relaxed = {.time_ms = 5000};
    rules_state *st = state_new(&relaxed);
    static const struct {
        const char *src;
        rules_outcome o;
        unsigned line;
    } cases[] = {
        {"-- spin\nlocal x = 0\nwhile true do x = x + 1 end\nreturn x\n", RULES_ERR_CPU, 3},
        {"local s = 'x'\n\nfor i = 1, 64 do s = s .. s end\nreturn s\n", RULES_ERR_MEM, 3},
        {"local t = {}\n-- grows\nfor i = 1, 1e8 do t[i] = {i, i, i, i} end\n", RULES_ERR_MEM, 3},
        {"local p = ctx\n\n\nreturn p.price + 1\n", RULES_ERR_RUNTIME, 4},
        {"local a = 1\nerror('plain', 0)\n", RULES_ERR_RUNTIME, 2},
        {"local n = 0\nlocal ok = pcall(function()\n  while true do n = n + 1 end\nend)\n"
         "return 'swallowed'\n",
         RULES_ERR_CPU, 3},
        {"local s = ('x'):rep(1000)\nfor i = 1, 1e6 do\n  s:upper()\nend\n", RULES_ERR_CPU, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const rules_result *r = run(st, cases[i].src, NULL, RULES_ACCEPT_ANY);
        if (r->outcome != cases[i].o || r->line != cases[i].line)
            fail_msg("case %zu: expected %s at line %u, got %s at line %u", i,
                     rules_outcome_name(cases[i].o), cases[i].line, shown(r), r->line);
    }
    /* the deadline, on its own limits */
    rules_limits lim = {.instructions = (uint64_t)1 << 60, .time_ms = 5};
    rules_state *st2 = state_new(&lim);
    const rules_result *r = run(st2, "local x = 0\n\nwhile true do x = x + 1 end\n", NULL,
                                RULES_ACCEPT_ANY);
    assert_int_equal(r->outcome, RULES_ERR_TIME);
    assert_int_equal(r->line, 3);
    /* success and a refused result carry no line */
    r = run(st, "local x = 1\nreturn x\n", NULL, RULES_ACCEPT_ANY);
    assert_int_equal(r->line, 0);
    r = run(st, "local x = 1\nreturn 1.5\n", NULL, RULES_ACCEPT_MONEY);
    assert_int_equal(r->outcome, RULES_ERR_RESULT);
    assert_int_equal(r->line, 0);
    rules_state_free(st2);
    rules_state_free(st);
}

static void test_rules_limits_are_sticky(void **state)
{
    (void)state;
    rules_state *st = state_steady();
    expect_fail(st,
                "for i = 1, 100 do pcall(pcall, function() while true do end end) end"
                " return 'swallowed'",
                RULES_ERR_CPU, "budget");
    expect_fail(st,
                "local ok = pcall(function() local s = 'x' while true do s = s .. s end end)"
                " return 'swallowed'",
                RULES_ERR_MEM, "memory");
    expect_fail(st,
                "local ok = pcall(string.rep, ('x'):rep(3000000), 2) return 'swallowed'",
                RULES_ERR_MEM, "memory");
    expect_fail(st,
                "local ok = pcall(string.gsub, 'x', 'x', function() while true do end end)"
                " return 'swallowed'",
                RULES_ERR_CPU, "budget");
    expect_fail(st,
                "local t = {} for i = 1, 100 do t[i] = i end"
                " pcall(table.sort, t, function(a, b) while true do end end) return 'swallowed'",
                RULES_ERR_CPU, "budget");
    expect_probe_clean(st);
    rules_state_free(st);
}

static void test_rules_deadline_trips(void **state)
{
    (void)state;
    rules_limits lim = {.instructions = (uint64_t)1 << 60, .time_ms = 5};
    rules_state *st = state_new(&lim);
    long long t0 = tu_now_ms();
    expect_fail(st, "while true do end", RULES_ERR_TIME, "deadline");
    assert_true(tu_now_ms() - t0 < 2000);
    expect_fail(st, "for i = 1, 1e12 do pcall(pcall, math.floor, 1) end", RULES_ERR_TIME,
                "deadline");
    /* the full probe needs more than 5 ms under sanitizers */
    expect_line(st, "return ('abc'):upper(), string.upper == nil, LEAK", "OK ABC,false,nil");
    rules_state_free(st);
}

static void test_rules_budget_counts_c_library_work(void **state)
{
    (void)state;
    rules_state *st = state_steady();
    /* each call does ~1000 bytes of C work in one VM instruction */
    expect_fail(st, "local s = ('x'):rep(1000) for i = 1, 1e6 do s:upper() end", RULES_ERR_CPU,
                "budget");
    expect_fail(st,
                "local t = {} for i = 1, 30000 do t[i] = -i end"
                " for i = 1, 100 do table.sort(t) end",
                RULES_ERR_CPU, "budget");
    expect_fail(st, "local s = ('a'):rep(100000) for i = 1, 1e6 do s:find('b', 1, true) end",
                RULES_ERR_CPU, "budget");
    expect_fail(st, "local t = {} for i = 1, 30000 do t[i] = 'x' end"
                    " for i = 1, 1e6 do table.concat(t) end",
                RULES_ERR_CPU, "budget");
    expect_fail(st, "local s = 'a' .. ('\\x80'):rep(100000)"
                    " while true do for p in utf8.codes(s) do end end",
                RULES_ERR_CPU, "budget");
    rules_state_free(st);
}

static void test_rules_cost_guards_refuse_what_cannot_fit(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_fail(st, "return ('a'):rep(40):match(('a*'):rep(12) .. 'b')", RULES_ERR_RUNTIME,
                "pattern too expensive");
    expect_fail(st, "return ('a'):rep(40):gsub(('a-'):rep(12) .. 'b', '')", RULES_ERR_RUNTIME,
                "pattern too expensive");
    expect_fail(st, "for w in ('a'):rep(40):gmatch(('a?'):rep(40) .. 'b') do end",
                RULES_ERR_RUNTIME, "pattern too expensive");
    expect_fail(st, "return table.unpack({}, 1, 1e7)", RULES_ERR_RUNTIME, "too many results");
    expect_fail(st, "return table.concat({}, '', 1, 1e9)", RULES_ERR_RUNTIME, "table.concat");
    expect_fail(st, "return ('x'):rep(1e7)", RULES_ERR_RUNTIME, "string.rep");
    expect_line(st, "return #string.rep('', math.maxinteger), #('ab'):rep(0), ('-'):rep(3, 'ab')",
                "OK 0,0,-ab-ab-");
    rules_state_free(st);
}

static void test_rules_legitimate_library_use_still_works(void **state)
{
    (void)state;
    rules_state *st = state_new(NULL);
    expect_line(st, "return ('SKU-123-XL'):match('^(%u+)%-(%d+)%-(%u+)$')", "OK SKU,123,XL");
    expect_line(st, "return ('a,b,,c'):gsub(',', ';'), ('x=1, y=2'):find('y=(%d)')",
                "OK a;b;;c,6,8,2");
    expect_line(st,
                "local out = {} for k, v in ('a=1&b=22'):gmatch('(%w+)=(%w+)') do"
                " out[#out + 1] = k .. v end return table.concat(out, '|')",
                "OK a1|b22");
    expect_line(st, "local it = ('a b'):gmatch('%a'); it(); it(); return it(), it()", "OK nil");
    expect_line(st, "local n = 0 for _, c in utf8.codes('h\\u{E9}j') do n = n + 1 end"
                    " return n, utf8.len('h\\u{E9}j'), utf8.codepoint('\\u{E9}'), utf8.char(233)",
                "OK 3,3,233,\xc3\xa9");
    expect_line(st,
                "local t = {5, 3, 9, 1} table.sort(t) table.insert(t, 1, 0) table.remove(t, 2)"
                " local m = table.move(t, 1, 4, 1, {}) return table.concat(m, ','),"
                " select('#', table.unpack(t)), table.pack(1, 2).n",
                "OK 0,3,5,9,4,2");
    expect_line(st, "return string.format('%5.2f|%d|%s|%q', 3.14159, 42, 'x', 'a\\n'),"
                    " ('Ab'):lower(), ('Ab'):reverse(), ('abc'):byte(1, -1)",
                "OK  3.14|42|x|\"a\\\n\",ab,bA,97,98,99");
    expect_line(st, "return tonumber('0x10'), tonumber('12.5'), tonumber('z', 36), math.max(1, 2)",
                "OK 16,12.5,35,2");
    rules_state_free(st);
}

static void test_rules_controls_stay_well_inside_the_budget(void **state)
{
    (void)state;
    rules_limits lim = {.time_ms = ATTACK_TIME_MS};
    rules_state *st = state_new(&lim);
    const char *controls[] = {"90_control_pricing_formula.lua", "91_control_strings_pcall.lua",
                              "92_control_garbage_churn.lua", "93_control_emergency_gc_retry.lua"};
    const char *shared = getenv("CPQD_SHARED");
    for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
        char *path = tu_fmt("%s/lua-attacks/%s", shared && *shared ? shared : "../shared",
                            controls[i]);
        char *src = tu_read_file(path, NULL);
        if (!src)
            fail_msg("missing %s", path);
        const rules_result *r = run(st, src, NULL, RULES_ACCEPT_ANY);
        assert_int_equal(r->outcome, RULES_OK);
        /* calibration guard: a quarter of the budget left for noise */
        if (r->cost > RULES_DEFAULT_INSTRUCTIONS * 3 / 4)
            fail_msg("%s used %llu of %llu units", controls[i], (unsigned long long)r->cost,
                     (unsigned long long)RULES_DEFAULT_INSTRUCTIONS);
        free(src);
        free(path);
    }
    rules_state_free(st);
}

/* ---- threads ---- */

typedef struct worker_arg {
    const rules_chunk *ch;
    int ok; /* evaluations that gave the expected answer */
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    rules_state *st = rules_state_new(NULL, NULL);
    static _Thread_local rules_result r;
    rules_field f[] = {{"q", rules_value_int(0)}};
    rules_value in = rules_value_table(f, 1);
    for (int i = 0; st && i < 200; i++) {
        f[0].value = rules_value_int(i);
        rules_eval(st, a->ch, &in, RULES_ACCEPT_MONEY, &r);
        char want[64], got[64];
        snprintf(want, sizeof(want), "OK %d.50", 2 * i);
        rules_result_format(&r, got, sizeof(got));
        a->ok += strcmp(want, got) == 0;
    }
    rules_state_free(st);
    return NULL;
}

static void test_rules_chunk_is_shared_by_worker_threads(void **state)
{
    (void)state;
    rules_chunk *ch = NULL;
    const char *src = "return dec('0.25') * 2 + q * 2";
    assert_int_equal(rules_compile(NULL, "t.lua", src, strlen(src), &ch, NULL), 0);
    pthread_t t[4];
    worker_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (worker_arg){ch, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 200);
    }
    rules_chunk_free(ch);
}

/* ---- allocation failures ---- */

#ifdef CPQD_TESTING
/* Fails the nth allocation for every n until a whole create-compile-
 * evaluate cycle no longer reaches it: nothing may crash or leak, every
 * failure must be reported, and a state that survived must still work. */
static void test_rules_survives_every_allocation_failure(void **state)
{
    (void)state;
    const char *src = "local t = {} for i = 1, 50 do t[i] = ('x'):rep(i) .. i end"
                      " return dec('1.50') * #t, table.concat(t):len()";
    long n;
    for (n = 1; n < 100000; n++) {
        rules_test_fail_alloc(n);
        int err = 0;
        rules_state *st = rules_state_new(NULL, &err);
        if (!st) {
            assert_int_equal(err, CPQD_ENOMEM);
            continue;
        }
        rules_chunk *ch = NULL;
        int rc = rules_compile(st, "f.lua", src, strlen(src), &ch, NULL);
        rules_result r;
        if (rc == 0)
            rc = rules_eval(st, ch, NULL, RULES_ACCEPT_ANY, &r);
        bool done = rules_test_fail_pending() > 0;
        rules_test_fail_alloc(0);
        if (rc == 0)
            assert_string_equal(shown(&r), "OK 75.00,1366");
        expect_probe_clean(st);
        rules_chunk_free(ch);
        rules_state_free(st);
        if (done)
            break;
    }
    assert_true(n > 50); /* the loop really walked through the allocations */
}
#endif

/* ---- the command line ---- */

/* Runs rules_cli_eval with argv, capturing stdout into *out. */
static int cli(const char *const *argv, char **out)
{
    char *dir = tu_tmpdir();
    char *path = tu_fmt("%s/out", dir);
    int argc = 0;
    while (argv[argc])
        argc++;
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(devnull, 2);
    int status = rules_cli_eval(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(fd);
    close(devnull);
    *out = tu_read_file(path, NULL);
    tu_rm_tree(dir);
    free(dir);
    free(path);
    return status;
}

static void test_rules_cli_eval(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *out = NULL;
    char *good = tu_fmt("%s/good.lua", dir), *bad = tu_fmt("%s/bad.lua", dir);
    char *loop = tu_fmt("%s/loop.lua", dir);
    tu_write(dir, "good.lua", "return ctx.price * ctx.qty, ctx.sku, ctx.vip, ctx.none");
    tu_write(dir, "bad.lua", "local x = 1\nreturn x +\n");
    tu_write(dir, "loop.lua", "while true do end");

    const char *a1[] = {"eval", good, "--input",
                        "{\"ctx\":{\"price\":{\"$dec\":\"12.50\"},\"qty\":3,\"sku\":\"S-1\","
                        "\"vip\":true,\"none\":null}}",
                        NULL};
    assert_int_equal(cli(a1, &out), 0);
    assert_string_equal(out, "OK 37.50,S-1,true,nil\n");
    free(out);
    const char *a2[] = {"eval", loop, NULL};
    assert_int_equal(cli(a2, &out), 1);
    assert_string_equal(out, "ERR_CPU instruction budget exceeded\n");
    free(out);
    const char *a3[] = {"eval", bad, NULL};
    assert_int_equal(cli(a3, &out), 1);
    assert_true(strncmp(out, "ERR_COMPILE ", 12) == 0 && strstr(out, "bad.lua:3: "));
    free(out);
    const char *a4[] = {"eval", good, "--input={\"ctx\":{\"price\":1.5}}", NULL};
    assert_int_equal(cli(a4, &out), 2);
    assert_string_equal(out, "");
    free(out);
    const char *a5[] = {"eval", good, "--input", "{\"ctx\":[1]}", NULL};
    assert_int_equal(cli(a5, &out), 2);
    free(out);
    const char *a6[] = {"eval", good, "--input", "{\"ctx\":{\"p\":{\"$dec\":\"1.5e3\"}}}", NULL};
    assert_int_equal(cli(a6, &out), 2);
    free(out);
    const char *a7[] = {"eval", "/nonexistent/x.lua", NULL};
    assert_int_equal(cli(a7, &out), 2);
    free(out);
    const char *a8[] = {"eval", NULL};
    assert_int_equal(cli(a8, &out), 2);
    free(out);
    const char *a9[] = {"eval", good, "--input", "{\"ctx\":{\"price\":{\"$dec\":\"2\"},"
                                                 "\"qty\":{\"$dec\":\"0.5\"}}}",
                        NULL};
    assert_int_equal(cli(a9, &out), 0);
    assert_string_equal(out, "OK 1.0,nil,nil,nil\n");
    free(out);
    tu_rm_tree(dir);
    free(dir);
    free(good);
    free(bad);
    free(loop);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && *root && chdir(root) != 0) {
        perror(root);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_dec_point_one_plus_point_two_is_exact),
        cmocka_unit_test(test_rules_dec_arithmetic_is_exact_and_keeps_scale),
        cmocka_unit_test(test_rules_dec_rounding_modes),
        cmocka_unit_test(test_rules_dec_division_and_scaled_product),
        cmocka_unit_test(test_rules_dec_refuses_floats),
        cmocka_unit_test(test_rules_dec_overflow_is_an_error_not_a_wrap),
        cmocka_unit_test(test_rules_dec_compares_and_methods),
        cmocka_unit_test(test_rules_dec_cannot_be_tampered_with),
        cmocka_unit_test(test_rules_dec_results_and_inputs_are_exact),
        cmocka_unit_test(test_rules_money_results_refuse_floats),
        cmocka_unit_test(test_rules_compile_error_has_file_and_line),
        cmocka_unit_test(test_rules_compile_refuses_binary_and_large_sources),
        cmocka_unit_test(test_rules_runtime_error_names_file_and_line),
#ifdef CPQD_TESTING
        cmocka_unit_test(test_rules_chunk_is_compiled_once_per_state),
#endif
        cmocka_unit_test(test_rules_check_only_compile_then_eval_elsewhere),
        cmocka_unit_test(test_rules_result_type_matrix),
        cmocka_unit_test(test_rules_format_truncates_safely),
        cmocka_unit_test(test_rules_sandbox_offers_no_escape),
        cmocka_unit_test(test_rules_no_address_reaches_a_rule),
        cmocka_unit_test(test_rules_inputs_are_fresh_each_evaluation),
        cmocka_unit_test(test_rules_invalid_inputs_are_refused),
        cmocka_unit_test(test_rules_limit_trip_leaves_state_usable),
        cmocka_unit_test(test_rules_limits_are_sticky),
        cmocka_unit_test(test_rules_failure_names_its_line),
        cmocka_unit_test(test_rules_deadline_trips),
        cmocka_unit_test(test_rules_budget_counts_c_library_work),
        cmocka_unit_test(test_rules_cost_guards_refuse_what_cannot_fit),
        cmocka_unit_test(test_rules_legitimate_library_use_still_works),
        cmocka_unit_test(test_rules_controls_stay_well_inside_the_budget),
        cmocka_unit_test(test_rules_chunk_is_shared_by_worker_threads),
#ifdef CPQD_TESTING
        cmocka_unit_test(test_rules_survives_every_allocation_failure),
#endif
        cmocka_unit_test(test_rules_cli_eval),
    };
    int failed = cmocka_run_group_tests_name("rules", tests, NULL, NULL);
    failed += run_attack_group();
    return failed ? 1 : 0;
}
