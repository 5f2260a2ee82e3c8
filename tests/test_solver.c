/*
 * Unit tests for solver: valid domains, explanations, conflicts, BOM
 * roll-up and `cpqd check` findings on hand-written catalogs
 * (tests/data/solver/), and a randomized brute-force oracle over small
 * generated multi-level models (see the bottom half).
 * Run from the repository root (CPQD_ROOT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/cat.h"
#include "cpqd/solver.h"
#include "solver_int.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RIG "tests/data/solver/rig"
#define CHECK "tests/data/solver/check"
#define PHP "tests/data/solver/php"

/* ---- helpers ---- */

static cat_snapshot *load_ok(const char *path)
{
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(path, NULL, e);
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

static const solver_model *model_of(const cat_snapshot *s, const char *sku)
{
    const cat_product *p = cat_snapshot_product(s, sku, strlen(sku));
    assert_non_null(p);
    const solver_model *m = solver_snapshot_model(s, p);
    assert_non_null(m);
    return m;
}

static size_t var_of(const solver_model *m, const char *path)
{
    size_t v = solver_var_find(m, path, strlen(path));
    if (v == SIZE_MAX)
        fail_msg("no variable %s", path);
    return v;
}

static size_t value_of(const solver_model *m, size_t var, const char *text)
{
    const char *why = NULL;
    size_t i = solver_value_find(m, var, text, strlen(text), &why);
    if (i == SIZE_MAX)
        fail_msg("no value %s of %s: %s", text, solver_var_at(m, var)->path, why);
    return i;
}

/* A choice written as "path=value", "path!=value" or "path=value*qty". */
static solver_choice choice(const solver_model *m, const char *spec)
{
    solver_choice c = {0};
    char buf[200];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *eq = strchr(buf, '=');
    assert_non_null(eq);
    char *val = eq + 1;
    if (eq > buf && eq[-1] == '!') {
        c.negated = true;
        eq[-1] = 0;
    }
    *eq = 0;
    char *star = strchr(val, '*');
    if (star) {
        *star = 0;
        c.has_qty = true;
        assert_int_equal(money_parse(star + 1, strlen(star + 1), &c.qty), 0);
    }
    c.var = var_of(m, buf);
    c.value = value_of(m, c.var, val);
    return c;
}

static int configure(solver_ctx *ctx, const solver_model *m, const char *const *specs, size_t n,
                     solver_explain ex, solver_result *r)
{
    solver_choice ch[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        ch[i] = choice(m, specs[i]);
    return solver_configure(ctx, m, ch, n, ex, r);
}

static const solver_value_result *val(const solver_model *m, const solver_result *r,
                                      const char *path, const char *value)
{
    size_t v = var_of(m, path);
    assert_non_null(r->values);
    return &r->values[v][value_of(m, v, value)];
}

static void expect_state(const solver_model *m, const solver_result *r, const char *path,
                         const char *value, solver_state st)
{
    solver_state got = val(m, r, path, value)->state;
    if (got != st)
        fail_msg("%s = %s: expected %s, got %s", path, value, solver_state_name(st),
                 solver_state_name(got));
}

/* Asserts the reason's choices (terminated by SIZE_MAX) and constraint
 * ids (NULL-terminated, any order), and the number of groups. */
static void expect_reason(const solver_reason *x, const size_t *choices, const char *const *ids,
                          size_t ngroups)
{
    size_t n = 0;
    while (choices[n] != SIZE_MAX)
        n++;
    assert_false(x->truncated);
    assert_int_equal(x->nchoices, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(x->choices[i], choices[i]);
    size_t k = 0;
    for (; ids[k]; k++) {
        bool found = false;
        for (size_t i = 0; i < x->nconstraints; i++)
            found |= strcmp(x->constraints[i].constraint->id, ids[k]) == 0;
        if (!found)
            fail_msg("constraint %s missing from the reason", ids[k]);
    }
    assert_int_equal(x->nconstraints, k);
    assert_int_equal(x->ngroups, ngroups);
    assert_int_equal(x->structural, ngroups > 0);
}

#define CHOICES(...) ((const size_t[]){__VA_ARGS__, SIZE_MAX})
#define NO_CHOICES ((const size_t[]){SIZE_MAX})
#define IDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_IDS ((const char *const[]){NULL})

typedef struct fx {
    cat_snapshot *s;
    const solver_model *m;
    solver_ctx *ctx;
    solver_result r;
} fx;

static int rig_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->s = load_ok(RIG);
    f->m = model_of(f->s, "RIG");
    f->ctx = solver_ctx_new();
    *state = f;
    return 0;
}

static int rig_teardown(void **state)
{
    fx *f = *state;
    solver_result_fini(&f->r);
    solver_ctx_free(f->ctx);
    cat_snapshot_release(f->s);
    free(f);
    return 0;
}

/* ---- hand-written cases on the rig ---- */

static void test_solver_model_unfolds_bom_to_depth_three(void **state)
{
    fx *f = *state;
    const solver_model *m = f->m;
    const solver_var *io = solver_var_at(m, var_of(m, "ctl/CTL-B/io"));
    assert_int_equal(io->kind, SOLVER_VAR_GROUP);
    assert_string_equal(io->instance, "ctl/CTL-B");
    assert_int_equal(io->depth, 1);
    assert_string_equal(solver_var_at(m, io->parent_var)->path, "ctl");
    const solver_var *len = solver_var_at(m, var_of(m, "ctl/CTL-B/sw/SW-X/@length"));
    assert_int_equal(len->kind, SOLVER_VAR_ATTR);
    assert_int_equal(len->depth, 2);
    assert_int_equal(len->nvalues, 5); /* integer 1..5 enumerated */
    const solver_var *q = solver_var_at(m, var_of(m, "ctl/CTL-B/io/IO-1#qty"));
    assert_int_equal(q->kind, SOLVER_VAR_QTY);
    assert_int_equal(q->nvalues, 4);
    /* numbers compare by value; invalid values are refused */
    size_t lv = var_of(m, "ctl/CTL-B/sw/SW-X/@length");
    assert_int_equal(value_of(m, lv, "4.0"), value_of(m, lv, "4"));
    const char *why = NULL;
    assert_int_equal(solver_value_find(m, lv, "9", 1, &why), SIZE_MAX);
    assert_non_null(why);
    assert_int_equal(solver_var_find(m, "nope", 4), SIZE_MAX);
    /* leaves have no model */
    const cat_product *leaf = cat_snapshot_product(f->s, "B-S", 3);
    assert_null(solver_snapshot_model(f->s, leaf));
    solver_model_stats st;
    solver_model_stats_get(m, &st);
    assert_int_equal(st.instances, 3); /* RIG, CTL-B, SW-X */
}

static void test_solver_no_choices_everything_possible(void **state)
{
    fx *f = *state;
    assert_int_equal(solver_configure(f->ctx, f->m, NULL, 0, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_true(f->r.consistent);
    assert_false(f->r.complete);
    for (size_t v = 0; v < f->r.nvars; v++)
        for (size_t i = 0; i < f->r.nvalues[v]; i++)
            if (f->r.values[v][i].state != SOLVER_POSSIBLE)
                fail_msg("%s = %s is %s", solver_var_at(f->m, v)->path,
                         solver_var_at(f->m, v)->values[i],
                         solver_state_name(f->r.values[v][i].state));
    assert_int_equal(f->r.nbom, 0);
}

static void test_solver_table_and_requires_imply(void **state)
{
    fx *f = *state;
    const char *c[] = {"base=B-L"};
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    expect_state(f->m, &f->r, "base", "B-L", SOLVER_SELECTED);
    expect_state(f->m, &f->r, "base", "B-S", SOLVER_EXCLUDED);
    expect_state(f->m, &f->r, "ctl", "CTL-B", SOLVER_IMPLIED);
    expect_state(f->m, &f->r, "acc", "ACC-1", SOLVER_IMPLIED);
    expect_state(f->m, &f->r, "acc", "ACC-2", SOLVER_POSSIBLE);
    /* CTL-A: the allowed table sends B-L to CTL-B; one cardinality (base
     * or ctl, both are minimal) finishes it */
    const solver_value_result *a = val(f->m, &f->r, "ctl", "CTL-A");
    assert_int_equal(a->state, SOLVER_EXCLUDED);
    expect_reason(&a->reason, CHOICES(0), IDS("t1"), 1);
    /* B-S: only the base cardinality */
    expect_reason(&val(f->m, &f->r, "base", "B-S")->reason, CHOICES(0), NO_IDS, 1);
    assert_string_equal(val(f->m, &f->r, "base", "B-S")->reason.groups[0].group->id, "base");
}

static void test_solver_nested_requires_reaches_depth_three(void **state)
{
    fx *f = *state;
    const char *c[] = {"acc=ACC-2"};
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    expect_state(f->m, &f->r, "ctl", "CTL-B", SOLVER_IMPLIED);
    expect_state(f->m, &f->r, "ctl/CTL-B/sw", "SW-X", SOLVER_IMPLIED);
    expect_state(f->m, &f->r, "ctl/CTL-B/sw/SW-X/proto", "P-2", SOLVER_IMPLIED);
    expect_reason(&val(f->m, &f->r, "acc", "ACC-3")->reason, CHOICES(0), IDS("x1"), 0);
    expect_reason(&val(f->m, &f->r, "ctl/CTL-B/sw/SW-X/proto", "P-1")->reason, CHOICES(0),
                  IDS("n1"), 1);
    /* the sub-assembly's own constraint, named with where it applies */
    const solver_value_result *l4 = val(f->m, &f->r, "ctl/CTL-B/sw/SW-X/@length", "4");
    assert_int_equal(l4->state, SOLVER_EXCLUDED);
    expect_reason(&l4->reason, CHOICES(0), IDS("n1", "long-needs-p1"), 1);
    for (size_t i = 0; i < l4->reason.nconstraints; i++)
        if (strcmp(l4->reason.constraints[i].constraint->id, "long-needs-p1") == 0)
            assert_string_equal(l4->reason.constraints[i].at, "ctl/CTL-B/sw/SW-X");
    expect_state(f->m, &f->r, "ctl/CTL-B/sw/SW-X/@length", "3", SOLVER_POSSIBLE);
}

static void test_solver_forbidden_table_conflict_is_minimal(void **state)
{
    fx *f = *state;
    const char *c[] = {"@colour=custom", "base=B-S", "acc=ACC-3"};
    assert_int_equal(configure(f->ctx, f->m, c, 3, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_false(f->r.consistent);
    assert_null(f->r.values);
    expect_reason(&f->r.conflict, CHOICES(0, 2), IDS("t2"), 0);
}

static void test_solver_if_then_conflict(void **state)
{
    fx *f = *state;
    const char *c[] = {"acc=ACC-1", "@voltage=440", "ctl=CTL-A"};
    assert_int_equal(configure(f->ctx, f->m, c, 3, SOLVER_EXPLAIN_NONE, &f->r), 0);
    assert_false(f->r.consistent);
    /* without FULL the conflict names choices only */
    expect_reason(&f->r.conflict, CHOICES(1, 2), NO_IDS, 0);
    solver_result_fini(&f->r);
    assert_int_equal(configure(f->ctx, f->m, c, 3, SOLVER_EXPLAIN_FULL, &f->r), 0);
    expect_reason(&f->r.conflict, CHOICES(1, 2), IDS("i1"), 0);
}

static void test_solver_quantity_bounds(void **state)
{
    fx *f = *state;
    const char *over[] = {"ctl/CTL-B/io=IO-1*4", "ctl/CTL-B/io=IO-2"};
    assert_int_equal(configure(f->ctx, f->m, over, 2, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_false(f->r.consistent);
    expect_reason(&f->r.conflict, CHOICES(0, 1), IDS("q1"), 0);
    solver_result_fini(&f->r);
    const char *under[] = {"ctl/CTL-B/io=IO-1*1", "ctl/CTL-B/io!=IO-2"};
    assert_int_equal(configure(f->ctx, f->m, under, 2, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_false(f->r.consistent);
    expect_reason(&f->r.conflict, CHOICES(0, 1), IDS("q1"), 0);
    solver_result_fini(&f->r);
    const char *three[] = {"ctl/CTL-B/io=IO-1*3"};
    assert_int_equal(configure(f->ctx, f->m, three, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_true(f->r.consistent);
    expect_reason(&val(f->m, &f->r, "ctl/CTL-B/io", "IO-2")->reason, CHOICES(0), IDS("q1"), 0);
    /* SW-Y needs IO-2 (its own product's constraint), which the bound excludes */
    expect_reason(&val(f->m, &f->r, "ctl/CTL-B/sw", "SW-Y")->reason, CHOICES(0),
                  IDS("q1", "c1"), 0);
    expect_state(f->m, &f->r, "ctl/CTL-B/io/IO-1#qty", "3", SOLVER_SELECTED);
    expect_state(f->m, &f->r, "ctl/CTL-B/io/IO-1#qty", "2", SOLVER_EXCLUDED);
    /* quantity variables can be chosen directly too */
    solver_result_fini(&f->r);
    const char *direct[] = {"ctl/CTL-B/io/IO-1#qty=4"};
    assert_int_equal(configure(f->ctx, f->m, direct, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    expect_state(f->m, &f->r, "ctl/CTL-B/io", "IO-1", SOLVER_IMPLIED);
    expect_state(f->m, &f->r, "ctl/CTL-B/io", "IO-2", SOLVER_EXCLUDED);
}

static void test_solver_bom_rolls_up_quantities(void **state)
{
    fx *f = *state;
    const char *c[] = {"base=B-L", "ctl/CTL-B/io=IO-1*3"};
    assert_int_equal(configure(f->ctx, f->m, c, 2, SOLVER_EXPLAIN_NONE, &f->r), 0);
    assert_true(f->r.consistent);
    assert_false(f->r.complete); /* voltage and colour open */
    assert_int_equal(f->r.nbom, 4);
    const solver_bom_line *b = f->r.bom;
    assert_string_equal(b[0].product->sku, "B-L");
    assert_false(b[0].implied);
    assert_string_equal(b[1].product->sku, "CTL-B");
    assert_true(b[1].implied);
    assert_int_equal(b[1].total_qty.coef, 2);
    assert_string_equal(b[2].product->sku, "IO-1");
    assert_int_equal(b[2].level, 2);
    assert_int_equal(b[2].parent, 1);
    assert_int_equal(money_cmp(b[2].qty, money_from_int(3)), 0);
    assert_int_equal(money_cmp(b[2].total_qty, money_from_int(6)), 0); /* 3 x 2 */
    assert_string_equal(b[3].product->sku, "ACC-1");
    assert_true(b[3].implied);
    assert_int_equal(b[3].level, 1);
    solver_result_fini(&f->r);
    const char *all[] = {"base=B-L", "ctl/CTL-B/io=IO-1*3", "@voltage=220", "@colour=red"};
    assert_int_equal(configure(f->ctx, f->m, all, 4, SOLVER_EXPLAIN_NONE, &f->r), 0);
    assert_true(f->r.complete);
}

static void test_solver_optional_subassembly_excluded(void **state)
{
    fx *f = *state;
    const char *c[] = {"ctl=CTL-A"};
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    const char *paths[] = {"ctl/CTL-B/io", "ctl/CTL-B/sw", "ctl/CTL-B/sw/SW-X/proto",
                           "ctl/CTL-B/sw/SW-X/@length", "ctl/CTL-B/io/IO-1#qty"};
    for (size_t p = 0; p < 5; p++) {
        size_t v = var_of(f->m, paths[p]);
        for (size_t i = 0; i < f->r.nvalues[v]; i++) {
            assert_int_equal(f->r.values[v][i].state, SOLVER_EXCLUDED);
            assert_int_equal(f->r.values[v][i].reason.nchoices, 1);
        }
    }
    expect_state(f->m, &f->r, "@voltage", "440", SOLVER_EXCLUDED);
    expect_reason(&val(f->m, &f->r, "@voltage", "440")->reason, CHOICES(0), IDS("i1"), 0);
    expect_state(f->m, &f->r, "base", "B-L", SOLVER_EXCLUDED);
}

static void test_solver_negated_choice_is_its_own_reason(void **state)
{
    fx *f = *state;
    const char *c[] = {"acc!=ACC-1"};
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_FULL, &f->r), 0);
    expect_reason(&val(f->m, &f->r, "acc", "ACC-1")->reason, CHOICES(0), NO_IDS, 0);
    expect_reason(&val(f->m, &f->r, "base", "B-L")->reason, CHOICES(0), IDS("r1"), 0);
    expect_state(f->m, &f->r, "base", "B-S", SOLVER_IMPLIED);
}

static void test_solver_invalid_choices_refused(void **state)
{
    fx *f = *state;
    solver_choice c = choice(f->m, "ctl/CTL-B/io=IO-1*5"); /* range 1..4 */
    assert_int_equal(solver_configure(f->ctx, f->m, &c, 1, SOLVER_EXPLAIN_FULL, &f->r),
                     CPQD_EINVAL);
    c = choice(f->m, "base=B-L");
    c.has_qty = true;
    c.qty = money_from_int(2); /* fixed quantity 1 */
    assert_int_equal(solver_configure(f->ctx, f->m, &c, 1, SOLVER_EXPLAIN_FULL, &f->r),
                     CPQD_EINVAL);
    c = choice(f->m, "base=B-L");
    c.value = 7;
    assert_int_equal(solver_configure(f->ctx, f->m, &c, 1, SOLVER_EXPLAIN_FULL, &f->r),
                     CPQD_EINVAL);
    c.var = 999;
    assert_int_equal(solver_configure(f->ctx, f->m, &c, 1, SOLVER_EXPLAIN_FULL, &f->r),
                     CPQD_EINVAL);
    assert_null(f->r.values);
    /* two values of a single-valued variable are a conflict, not an error */
    const char *two[] = {"@colour=red", "@colour=blue"};
    assert_int_equal(configure(f->ctx, f->m, two, 2, SOLVER_EXPLAIN_FULL, &f->r), 0);
    assert_false(f->r.consistent);
    expect_reason(&f->r.conflict, CHOICES(0, 1), NO_IDS, 0);
}

static void test_solver_witnesses_reused_across_requests(void **state)
{
    fx *f = *state;
    const char *c[] = {"base=B-S"};
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_NONE, &f->r), 0);
    solver_result first = f->r;
    memset(&f->r, 0, sizeof(f->r));
    assert_int_equal(configure(f->ctx, f->m, c, 1, SOLVER_EXPLAIN_NONE, &f->r), 0);
    assert_true(f->r.witness_hits > 0);
    assert_true(f->r.sat_calls < first.sat_calls);
    for (size_t v = 0; v < f->r.nvars; v++)
        for (size_t i = 0; i < f->r.nvalues[v]; i++)
            assert_int_equal(f->r.values[v][i].state, first.values[v][i].state);
    solver_result_fini(&first);
}

/* A reload builds new models; a worker's context must not keep the
 * solvers of the snapshot it replaced (each holds CaDiCaL instances, a
 * witness pool and a local-search copy: megabytes on large models) until
 * the LRU happens to evict them. The soak of make bench saw the server's
 * RSS grow by 0.3-0.5 MiB per reload for 16 reloads. */
static void test_solver_reload_frees_solvers_of_older_snapshots(void **state)
{
    (void)state;
    solver_ctx *ctx = solver_ctx_new();
    solver_result first = {0}, r = {0};
    cat_snapshot *a = load_ok(RIG);
    const char *c[] = {"base=B-S"};
    assert_int_equal(configure(ctx, model_of(a, "RIG"), c, 1, SOLVER_EXPLAIN_NONE, &first), 0);
    assert_int_equal(sv_ctx_live(ctx), 1);

    cat_snapshot *b = load_ok(RIG); /* the reload; a is released once its requests end */
    cat_snapshot_release(a);
    const solver_model *mb = model_of(b, "RIG");
    assert_int_equal(configure(ctx, mb, c, 1, SOLVER_EXPLAIN_NONE, &r), 0);
    assert_int_equal(sv_ctx_live(ctx), 1);
    assert_int_equal(r.nvars, first.nvars);
    for (size_t v = 0; v < r.nvars; v++)
        for (size_t i = 0; i < r.nvalues[v]; i++)
            assert_int_equal(r.values[v][i].state, first.values[v][i].state);
    solver_result_fini(&r);

    /* A request still on an older snapshot (b, held) after a newer one
     * (n) gets a solver again but never evicts the newer one's. */
    cat_snapshot *n = load_ok(RIG);
    assert_int_equal(configure(ctx, model_of(n, "RIG"), c, 1, SOLVER_EXPLAIN_NONE, &r), 0);
    solver_result_fini(&r);
    assert_int_equal(sv_ctx_live(ctx), 1);
    assert_int_equal(configure(ctx, mb, c, 1, SOLVER_EXPLAIN_NONE, &r), 0);
    solver_result_fini(&r);
    assert_int_equal(sv_ctx_live(ctx), 2);

    solver_result_fini(&first);
    cat_snapshot_release(b);
    cat_snapshot_release(n);
    solver_ctx_free(ctx);
}

/* Propagation cannot prove the pigeonhole (tests/data/solver/php): each
 * excluded mode needs a SAT call, which the budget counts. */
static void test_solver_budget_truncates_explanations(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(PHP);
    const solver_model *m = model_of(s, "PHP");
    solver_ctx *ctx = solver_ctx_new();
    solver_result r;
    solver_ctx_set_budget(ctx, 1);
    assert_int_equal(solver_configure(ctx, m, NULL, 0, SOLVER_EXPLAIN_FULL, &r), 0);
    assert_true(r.truncated);
    /* past the budget, reasons come unminimised: still sufficient (here
     * every reason has all six constraints, minimal or not) */
    size_t truncated = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *mode = (const char *[]){"off", "on1", "on2"}[i];
        const solver_value_result *v = val(m, &r, "@mode", mode);
        assert_int_equal(v->state, i == 0 ? SOLVER_IMPLIED : SOLVER_EXCLUDED);
        if (i == 0)
            continue;
        assert_int_equal(v->reason.nchoices, 0);
        assert_int_equal(v->reason.nconstraints, 6);
        truncated += v->reason.truncated;
    }
    assert_true(truncated >= 1);
    solver_result_fini(&r);
    solver_ctx_set_budget(ctx, 0);
    assert_int_equal(solver_configure(ctx, m, NULL, 0, SOLVER_EXPLAIN_FULL, &r), 0);
    assert_false(r.truncated);
    expect_reason(&val(m, &r, "@mode", "on1")->reason, NO_CHOICES,
                  IDS("a12", "b12", "a13", "b13", "a23", "b23"), 0);
    expect_reason(&val(m, &r, "@mode", "on2")->reason, NO_CHOICES,
                  IDS("a12", "b12", "a13", "b13", "a23", "b23"), 0);
    solver_result_fini(&r);
    solver_ctx_free(ctx);
    cat_snapshot_release(s);
}

static void test_solver_why_explains_one_value(void **state)
{
    fx *f = *state;
    solver_choice c = choice(f->m, "acc=ACC-2");
    size_t pv = var_of(f->m, "ctl/CTL-B/sw/SW-X/proto");
    solver_reason x;
    bool excluded = false;
    assert_int_equal(solver_why(f->ctx, f->m, &c, 1, pv, value_of(f->m, pv, "P-1"), &excluded, &x),
                     0);
    assert_true(excluded);
    expect_reason(&x, CHOICES(0), IDS("n1"), 1);
    solver_reason_fini(&x);
    assert_int_equal(solver_why(f->ctx, f->m, &c, 1, pv, value_of(f->m, pv, "P-2"), &excluded, &x),
                     0);
    assert_false(excluded);
    assert_int_equal(x.nchoices, 0);
    solver_reason_fini(&x);
    assert_int_equal(solver_why(f->ctx, f->m, &c, 1, pv, 99, &excluded, &x), CPQD_EINVAL);
}

/* ---- solver_check ---- */

static char *joined(cpqd_errs *e)
{
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
    return all;
}

static void expect_line(const char *all, const char *needle)
{
    if (!strstr(all, needle))
        fail_msg("expected\n  %s\nin\n%s", needle, all);
}

static void test_solver_check_reports_file_and_line(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(CHECK);
    cpqd_errs *errors = errs_new(), *notes = errs_new();
    assert_int_equal(solver_snapshot_check(s, errors, notes), 0);
    char *e = joined(errors), *n = joined(notes);
    expect_line(n, CHECK "/check.yaml:23:13: product CHK-A: option A-2 of group g can never be "
                     "selected (constraint 'a2-needs-h1' at " CHECK "/check.yaml:32, constraint "
                     "'not-h1-with-a2' at " CHECK "/check.yaml:34)");
    expect_line(e, CHECK "/check.yaml:48:9: product CHK-B: constraint 'too-many' can never hold");
    expect_line(e, CHECK "/check.yaml:36:5: product CHK-B has no valid configuration "
                     "(constraint 'too-many' at " CHECK "/check.yaml:48)");
    expect_line(n, CHECK "/check.yaml:22:13: product CHK-A: option A-1 of group g is always "
                     "selected");
    assert_int_equal(errs_count(errors), 2); /* dead options are warnings: in notes */
    assert_int_equal(errs_count(notes), 2);
    assert_null(strstr(e, "CHK-C"));
    free(e);
    free(n);
    errs_free(errors);
    errs_free(notes);
    cat_snapshot_release(s);
}

static void test_solver_check_rig_is_clean(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok(RIG);
    cpqd_errs *errors = errs_new(), *notes = errs_new();
    assert_int_equal(solver_snapshot_check(s, errors, notes), 0);
    char *e = joined(errors);
    assert_string_equal(e, "");
    free(e);
    assert_int_equal(errs_count(notes), 0);
    errs_free(errors);
    errs_free(notes);
    cat_snapshot_release(s);
}

/* solver_check's fast way (sv_check_clear: local search, no SAT solver)
 * says a model has nothing to report only when the exact way (SAT, with
 * reasons) reports nothing for it, and solver_check reports what the
 * exact way reports, model by model; on the fixtures with findings (dead
 * options, a product without configuration, always-selected options) and
 * the clean ones. Returns how many models the fast way cleared. */
static bool check_ways_model(const solver_model *m, const char *where)
{
    cpqd_errs *e1 = errs_new(), *n1 = errs_new(), *e2 = errs_new(), *n2 = errs_new();
    assert_int_equal(sv_check_exact(m, e1, n1), 0);
    assert_int_equal(solver_check(m, e2, n2), 0);
    bool clear = sv_check_clear(m);
    if (clear && errs_count(e1) + errs_count(n1) > 0)
        fail_msg("%s: %s cleared by the fast way, but the exact way finds something", where,
                 m->product->sku);
    char *a = joined(e1), *b = joined(e2), *c = joined(n1), *d = joined(n2);
    assert_string_equal(a, b);
    assert_string_equal(c, d);
    free(a);
    free(b);
    free(c);
    free(d);
    errs_free(e1);
    errs_free(n1);
    errs_free(e2);
    errs_free(n2);
    return clear;
}

static size_t check_ways_agree(const char *dir, size_t *nmodels)
{
    cat_snapshot *s = load_ok(dir);
    size_t n = sv_snapshot_models(s, NULL, 0), cleared = 0;
    const solver_model **ms = calloc(n ? n : 1, sizeof(*ms));
    assert_non_null(ms);
    sv_snapshot_models(s, ms, n);
    for (size_t i = 0; i < n; i++)
        cleared += check_ways_model(ms[i], dir);
    free(ms);
    cat_snapshot_release(s);
    *nmodels = n;
    return cleared;
}

static void test_solver_check_fast_way_agrees_with_exact(void **state)
{
    (void)state;
    size_t n = 0;
    /* CHK-A has a dead and a forced option, CHK-B no configuration: not
     * cleared; CHK-C is clean */
    size_t cleared = check_ways_agree(CHECK, &n);
    assert_true(n >= 3);
    assert_true(cleared >= 1 && cleared <= n - 2);
    cleared = check_ways_agree(RIG, &n);
    assert_int_equal(cleared, n); /* clean: every model cleared without SAT */
    cleared = check_ways_agree(PHP, &n);
    assert_true(n > 0);
    cleared = check_ways_agree("catalogs", &n);
    assert_true(cleared > 0);
}

/* solver_check's question for a finding inside a sub-assembly (can the
 * value hold with the sub-assembly active under its own constraints
 * only? then the enclosing product reports it), asked of the local
 * search and of a SAT solver: each answer the search gives is the SAT
 * solver's, for every value, both ways, in every sub-assembly of the
 * models of dir. counts[0..2]: the search said no, could not say, yes. */
static void local_model_ways_agree(const solver_model *m, const char *where, size_t counts[3])
{
    for (size_t J = 1; J < m->ninsts; J++)
        for (size_t f = 0; f < m->nvals; f++)
            for (int sign = -1; sign <= 1; sign += 2) {
                int walk = 2;
                bool unsat = false;
                assert_int_equal(sv_check_local(m, J, sign * m->vlit[f], &walk, &unsat), 0);
                if (walk && (walk < 0) != unsat)
                    fail_msg("%s: %s, instance %zu, value %zu (%d): search %d, SAT %s", where,
                             m->product->sku, J, f, sign, walk, unsat ? "unsat" : "sat");
                counts[walk + 1]++;
            }
}

static void local_ways_agree(const char *dir, size_t counts[3])
{
    cat_snapshot *s = load_ok(dir);
    size_t n = sv_snapshot_models(s, NULL, 0);
    const solver_model **ms = calloc(n ? n : 1, sizeof(*ms));
    assert_non_null(ms);
    sv_snapshot_models(s, ms, n);
    for (size_t k = 0; k < n; k++)
        local_model_ways_agree(ms[k], dir, counts);
    free(ms);
    cat_snapshot_release(s);
}

static void test_solver_check_local_search_agrees_with_sat(void **state)
{
    (void)state;
    /* tests/data/solver/local: in OUT, SUB's X-2 is refuted by
     * propagation, its modes on1 and on2 (a pigeonhole) need the SAT
     * solver, X-1 (dead by OUT's constraint) is possible in SUB alone */
    cat_snapshot *s = load_ok("tests/data/solver/local");
    const solver_model *m = model_of(s, "OUT");
    size_t x = var_of(m, "core/SUB/extra"), mode = var_of(m, "core/SUB/@mode");
    size_t J = m->vx[x].inst;
    assert_true(J > 0);
    int walk;
    bool unsat;
    assert_int_equal(sv_check_local(m, J, sv_lit(m, x, value_of(m, x, "X-2")), &walk, &unsat), 0);
    assert_int_equal(walk, -1);
    assert_true(unsat);
    assert_int_equal(sv_check_local(m, J, sv_lit(m, mode, value_of(m, mode, "on1")), &walk, &unsat),
                     0);
    assert_int_equal(walk, 0); /* the search cannot say: the SAT solver does */
    assert_true(unsat);
    assert_int_equal(sv_check_local(m, J, sv_lit(m, x, value_of(m, x, "X-1")), &walk, &unsat), 0);
    assert_int_equal(walk, 1);
    assert_false(unsat);
    cpqd_errs *errors = errs_new(), *notes = errs_new();
    assert_int_equal(solver_snapshot_check(s, errors, notes), 0);
    char *e = joined(notes);
    /* OUT reports X-1 only; SUB reports X-2, on1, on2 */
    assert_non_null(strstr(e, "product OUT: option X-1 of group extra in core/SUB can never be"));
    assert_null(strstr(e, "product OUT: option X-2"));
    assert_null(strstr(e, "product OUT: value on"));
    assert_non_null(strstr(e, "product SUB: option X-2 of group extra can never be selected"));
    assert_non_null(strstr(e, "product SUB: value on1 of attribute mode can never be chosen"));
    assert_non_null(strstr(e, "product SUB: value on2 of attribute mode can never be chosen"));
    assert_int_equal(errs_count(notes), 4);
    free(e);
    errs_free(errors);
    errs_free(notes);
    cat_snapshot_release(s);
    size_t counts[3] = {0, 0, 0};
    local_ways_agree("tests/data/solver/local", counts);
    local_ways_agree(CHECK, counts);
    local_ways_agree(RIG, counts);
    local_ways_agree("catalogs", counts);
    print_message("local question: search said no %zu, could not say %zu, yes %zu\n", counts[0],
                  counts[1], counts[2]);
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
}

static void test_solver_sample_catalogs_compile_and_check(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok("catalogs");
    size_t n = 0;
    for (size_t i = 0; i < cat_snapshot_product_count(s); i++) {
        const cat_product *p = cat_snapshot_product_at(s, i);
        const solver_model *m = solver_snapshot_model(s, p);
        assert_true((m != NULL) == (p->ngroups || p->nattrs));
        n += m != NULL;
    }
    assert_true(n > 0);
    cpqd_errs *errors = errs_new(), *notes = errs_new();
    assert_int_equal(solver_snapshot_check(s, errors, notes), 0);
    char *e = joined(errors);
    assert_string_equal(e, "");
    free(e);
    errs_free(errors);
    errs_free(notes);
    cat_snapshot_release(s);
}

/* An undecided quantity of a selected ranged option is its default in the
 * BOM whenever the default is valid, even when a sibling ranged option
 * with a quantity variable of its own is left out (its default must not
 * be assumed: that sibling has no quantity then). CNC-5AX-650's Pro
 * controller takes CNC-IO-16 (1..4, default 1) and CNC-IO-32 (1..2,
 * default 1) under io-count 1..4: with IO-16 chosen, the BOM has 1. */
static void test_solver_bom_quantity_defaults_beside_unselected_ranged(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok("catalogs");
    const solver_model *m = model_of(s, "CNC-5AX-650");
    solver_ctx *ctx = solver_ctx_new();
    static const char *const spindle[] = {"spindle=CNC-SP-18K", "spindle=CNC-SP-24K"};
    static const char *const atc[] = {"toolchanger=CNC-ATC-30", "toolchanger=CNC-ATC-60"};
    static const char *const probe[] = {"probe=CNC-PRB-TOUCH", "probe=CNC-PRB-LASER",
                                        "probe!=CNC-PRB-LASER"};
    static const char *const volt[] = {"@voltage=380", "@voltage=400", "@voltage=415"};
    size_t runs = 0;
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t c = 0; c < 3; c++)
                for (size_t d = 0; d < 3; d++) {
                    const char *specs[] = {"controller/CNC-CTL-PRO/io=CNC-IO-16", spindle[a],
                                           atc[b], probe[c], volt[d], "coolant=CNC-CLT-FLOOD"};
                    solver_result r;
                    assert_int_equal(configure(ctx, m, specs, 6, SOLVER_EXPLAIN_NONE, &r), 0);
                    assert_true(r.consistent);
                    assert_true(r.bom_valid);
                    bool seen = false;
                    for (size_t i = 0; i < r.nbom; i++) {
                        if (strcmp(r.bom[i].product->sku, "CNC-IO-16") != 0)
                            continue;
                        seen = true;
                        if (money_cmp(r.bom[i].qty, money_from_int(1)) != 0)
                            fail_msg("%s %s %s %s: CNC-IO-16 x %lld/10^%d in the BOM", specs[1],
                                     specs[2], specs[3], specs[4], (long long)r.bom[i].qty.coef,
                                     r.bom[i].qty.scale);
                    }
                    assert_true(seen);
                    solver_result_fini(&r);
                    runs++;
                }
    assert_int_equal(runs, 36);
    solver_ctx_free(ctx);
    cat_snapshot_release(s);
}

/* The cheapest CNC-5AX-650 under its options' list prices (cnc-list, in
 * yuan): 18K spindle 38,000 + Pro controller 85,000 + 16-point I/O 4,800
 * + RTCP 120,000 and HSM 36,000 (both required) + 30-tool changer 42,000
 * + flood coolant 0 = 325,800; no probe. A budget of one SAT call gives
 * a configuration, inexact, with a lower bound below its cost. */
static void test_solver_cheapest_configuration(void **state)
{
    (void)state;
    static const struct {
        const char *sku;
        uint64_t price;
    } list[] = {{"CNC-SP-18K", 38000},     {"CNC-SP-24K", 96000},   {"CNC-CTL-PRO", 85000},
                {"CNC-IO-16", 4800},       {"CNC-IO-32", 8600},     {"CNC-SW-5AXIS", 120000},
                {"CNC-SW-HSM", 36000},     {"CNC-SW-PROBE", 18000}, {"CNC-SW-MES", 45000},
                {"CNC-PRO-OPCUA", 12000},  {"CNC-PRO-MTCONNECT", 9000},
                {"CNC-ATC-30", 42000},     {"CNC-ATC-60", 128000},  {"CNC-CLT-TSC20", 58000},
                {"CNC-CLT-MIST", 16000},   {"CNC-CHL-2000", 22000}, {"CNC-PRB-LASER", 68000},
                {"CNC-PRB-TOUCH", 45000}};
    cat_snapshot *s = load_ok("catalogs");
    const solver_model *m = model_of(s, "CNC-5AX-650");
    uint64_t *w = calloc(solver_value_count(m) + 1, sizeof(uint64_t));
    assert_non_null(w);
    for (size_t v = 0; v < solver_var_count(m); v++) {
        const solver_var *sv = solver_var_at(m, v);
        for (size_t i = 0; sv->kind == SOLVER_VAR_GROUP && i < sv->nvalues; i++)
            for (size_t k = 0; k < sizeof(list) / sizeof(list[0]); k++)
                if (!strcmp(sv->values[i], list[k].sku))
                    w[solver_value_index(m, v, i)] = list[k].price;
    }
    solver_cheapest_result r;
    assert_int_equal(solver_cheapest(m, NULL, 0, w, 0, &r), 0);
    assert_true(r.found && r.exact);
    assert_int_equal(r.cost, 325800);
    assert_int_equal(r.bound, 325800);
    size_t sp = var_of(m, "spindle"), tc = var_of(m, "toolchanger"), pr = var_of(m, "probe");
    assert_true(r.values[solver_value_index(m, sp, value_of(m, sp, "CNC-SP-18K"))]);
    assert_true(r.values[solver_value_index(m, tc, value_of(m, tc, "CNC-ATC-30"))]);
    assert_false(r.values[solver_value_index(m, pr, value_of(m, pr, "CNC-PRB-TOUCH"))]);
    solver_cheapest_fini(&r);
    /* with the 24k spindle chosen: + 96,000 - 38,000 + the chiller 22,000 */
    solver_choice ch = {sp, value_of(m, sp, "CNC-SP-24K"), false, false, {0, 0}};
    assert_int_equal(solver_cheapest(m, &ch, 1, w, 0, &r), 0);
    assert_true(r.found && r.exact);
    assert_int_equal(r.cost, 325800 + 96000 - 38000 + 22000);
    solver_cheapest_fini(&r);
    assert_int_equal(solver_cheapest(m, NULL, 0, w, 1, &r), 0);
    assert_true(r.found);
    assert_false(r.exact);
    assert_true(r.bound <= 325800 && r.cost >= 325800);
    solver_cheapest_fini(&r);
    /* a choice out of range is refused */
    ch.var = 1u << 30;
    assert_int_equal(solver_cheapest(m, &ch, 1, w, 0, &r), CPQD_EINVAL);
    free(w);
    cat_snapshot_release(s);
}

/* ---- the BOM of a known configuration (solver_bom_of) ---- */

/* Choices that select configuration values whole, as price_check makes
 * them: every option true in it (a ranged one with the quantity its
 * quantity variable has, else its least) and every attribute value but
 * "any other value". Returns how many (ch holds solver_value_count). */
static size_t whole_choices(const solver_model *m, const bool *values, solver_choice *ch)
{
    size_t n = 0;
    for (size_t v = 0; v < solver_var_count(m); v++) {
        const solver_var *sv = solver_var_at(m, v);
        for (size_t i = 0; sv->kind != SOLVER_VAR_QTY && i < sv->nvalues; i++) {
            if (!values[solver_value_index(m, v, i)] || (sv->has_other && i + 1 == sv->nvalues))
                continue;
            solver_choice c = {v, i, false, false, {0, 0}};
            if (sv->kind == SOLVER_VAR_GROUP && sv->group->options[i].ranged) {
                c.has_qty = true;
                c.qty = sv->group->options[i].qty_min;
                size_t q = m->vx[v].qty[i];
                for (size_t j = 0; q != SIZE_MAX && j < m->vars[q].nvalues; j++)
                    if (values[solver_value_index(m, q, j)])
                        c.qty = m->vx[q].num[j];
            }
            ch[n++] = c;
        }
    }
    return n;
}

static bool money_same(money_dec a, money_dec b)
{
    return a.coef == b.coef && a.scale == b.scale;
}

/* solver_bom_of(values) is solver_configure's BOM under the choices that
 * select valid configuration values whole, line for line. */
static void expect_bom_of_is_configured(solver_ctx *ctx, const solver_model *m, const bool *values,
                                        uint64_t seed)
{
    solver_choice *ch = calloc(solver_value_count(m) + 1, sizeof(*ch));
    assert_non_null(ch);
    size_t n = whole_choices(m, values, ch);
    solver_result r;
    assert_int_equal(solver_configure(ctx, m, ch, n, SOLVER_EXPLAIN_NONE, &r), 0);
    assert_true(r.consistent && r.bom_valid);
    solver_bom_line *bom = NULL;
    size_t nbom = 0;
    int rc = solver_bom_of(m, ch, n, values, &bom, &nbom);
    if (rc || nbom != r.nbom)
        fail_msg("seed %llu: solver_bom_of %d, %zu lines; solver_configure %zu",
                 (unsigned long long)seed, rc, nbom, r.nbom);
    for (size_t i = 0; i < nbom; i++) {
        const solver_bom_line *a = &bom[i], *b = &r.bom[i];
        if (a->product != b->product || a->var != b->var || a->value != b->value ||
            a->level != b->level || a->parent != b->parent || !money_same(a->qty, b->qty) ||
            !money_same(a->total_qty, b->total_qty) || a->implied != b->implied)
            fail_msg("seed %llu: BOM line %zu: %s against %s", (unsigned long long)seed, i,
                     a->product->sku, b->product->sku);
    }
    free(bom);
    solver_result_fini(&r);
    free(ch);
}

/* CNC-5AX-650's cheapest configurations (under a few weightings) give
 * the BOM solver_configure gives, quantities of ranged options included;
 * solver_bom_of declines where only solving can say: an option of the
 * configuration not chosen, a choice the configuration does not hold, a
 * ranged option chosen without its quantity, a bad choice. */
static void test_solver_bom_of_known_configuration(void **state)
{
    (void)state;
    cat_snapshot *s = load_ok("catalogs");
    const solver_model *m = model_of(s, "CNC-5AX-650");
    size_t nv = solver_value_count(m);
    uint64_t *w = calloc(nv + 1, sizeof(uint64_t));
    solver_choice *ch = calloc(nv + 1, sizeof(*ch));
    solver_ctx *ctx = solver_ctx_new();
    assert_true(w && ch && ctx);
    bool ranged_seen = false;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        for (size_t i = 0; i < nv; i++) /* a different cheapest configuration each time */
            w[i] = (i * 2654435761u + seed * 40503u) % (seed % 3 ? 97 : 3);
        solver_cheapest_result r;
        assert_int_equal(solver_cheapest(m, NULL, 0, w, 0, &r), 0);
        assert_true(r.found);
        expect_bom_of_is_configured(ctx, m, r.values, seed);
        size_t n = whole_choices(m, r.values, ch);
        assert_true(n > 1);
        solver_bom_line *bom = NULL;
        size_t nbom = 7;
        /* an option true in the configuration left unchosen: it might be
         * implied or not, only solving says */
        size_t opt = SIZE_MAX;
        for (size_t i = 0; i < n && opt == SIZE_MAX; i++)
            if (solver_var_at(m, ch[i].var)->kind == SOLVER_VAR_GROUP)
                opt = i;
        assert_true(opt != SIZE_MAX);
        solver_choice keep = ch[opt];
        ch[opt] = ch[n - 1];
        assert_int_equal(solver_bom_of(m, ch, n - 1, r.values, &bom, &nbom), CPQD_EINVAL);
        assert_null(bom);
        assert_int_equal(nbom, 0);
        ch[opt] = keep;
        /* a choice the configuration does not hold */
        ch[opt].negated = true;
        assert_int_equal(solver_bom_of(m, ch, n, r.values, &bom, &nbom), CPQD_EINVAL);
        ch[opt].negated = false;
        /* a ranged option with a quantity variable, chosen without it */
        for (size_t i = 0; i < n; i++) {
            if (!ch[i].has_qty || m->vx[ch[i].var].qty[ch[i].value] == SIZE_MAX)
                continue;
            ranged_seen = true;
            ch[i].has_qty = false;
            assert_int_equal(solver_bom_of(m, ch, n, r.values, &bom, &nbom), CPQD_EINVAL);
            ch[i].has_qty = true;
        }
        /* a bad choice, as solver_configure refuses it */
        ch[opt].value = 1u << 20;
        assert_int_equal(solver_bom_of(m, ch, n, r.values, &bom, &nbom), CPQD_EINVAL);
        ch[opt] = keep;
        assert_int_equal(solver_bom_of(m, ch, n, r.values, &bom, &nbom), 0);
        assert_true(nbom > 0);
        free(bom);
        solver_cheapest_fini(&r);
    }
    assert_true(ranged_seen);
    solver_ctx_free(ctx);
    free(ch);
    free(w);
    cat_snapshot_release(s);
}

/* ---- randomized brute-force oracle ----
 *
 * Small random catalogs: a root R with one or two groups, sub-assemblies
 * S1, S2 (depth 1) and S3 (depth 2, under S1 or S2), leaves L1..L4,
 * optional enum/integer attributes, ranged quantities, and random
 * constraints of every kind with paths into the sub-assemblies. The test
 * unfolds the BOM itself, enumerates every structurally possible
 * assignment, evaluates every constraint and cardinality with its own
 * code (docs/configurator.md semantics), and compares every state and
 * checks every reason for sufficiency and minimality. Deterministic
 * seeds; a failure prints the seed and the YAML. */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r, uint32_t n)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 2685821657736338717ULL) >> 33) % n;
}

#define RP_N 8 /* R, S1, S2, S3, L1..L4 */
#define RC_MAX 5

typedef struct r_opt {
    int prod;
    bool ranged;
    int qty, qmin, qmax;
} r_opt;

typedef struct r_group {
    int min, max, nopt;
    r_opt opt[3];
} r_group;

typedef struct r_prod {
    const char *sku;
    int ngroups;
    r_group g[2];
    int attr; /* -1 none, 0 enum a (x, y, z), 1 integer n (1..3) */
    char *con[RC_MAX]; /* YAML text of each constraint */
    int ncon;
} r_prod;

typedef struct r_model {
    r_prod p[RP_N];
} r_model;

static const char *const SKUS[RP_N] = {"R", "S1", "S2", "S3", "L1", "L2", "L3", "L4"};

/* A variable reachable from a product, for constraint generation. */
typedef struct r_rvar {
    char path[96];
    int kind; /* 0 group, 1 attr */
    int nvals;
    const char *vals[3];
} r_rvar;

static bool r_configurable(const r_model *m, int p)
{
    return m->p[p].ngroups > 0 || m->p[p].attr >= 0;
}

static void r_reach(const r_model *m, int p, const char *prefix, int depth, r_rvar *out, int *n)
{
    static const char *const AV[2][3] = {{"x", "y", "z"}, {"1", "2", "3"}};
    const r_prod *pr = &m->p[p];
    for (int g = 0; g < pr->ngroups; g++) {
        r_rvar *v = &out[(*n)++];
        snprintf(v->path, sizeof(v->path), "%s%sg%d", prefix, *prefix ? "/" : "", g);
        v->kind = 0;
        v->nvals = pr->g[g].nopt;
        for (int o = 0; o < v->nvals; o++)
            v->vals[o] = SKUS[pr->g[g].opt[o].prod];
    }
    if (pr->attr >= 0) {
        r_rvar *v = &out[(*n)++];
        snprintf(v->path, sizeof(v->path), "%s%s@%s", prefix, *prefix ? "/" : "",
                 pr->attr ? "n" : "a");
        v->kind = 1;
        v->nvals = 3;
        for (int i = 0; i < 3; i++)
            v->vals[i] = AV[pr->attr][i];
    }
    if (depth >= 2)
        return;
    for (int g = 0; g < pr->ngroups; g++)
        for (int o = 0; o < pr->g[g].nopt; o++) {
            int c = pr->g[g].opt[o].prod;
            if (!r_configurable(m, c))
                continue;
            char pre[96];
            snprintf(pre, sizeof(pre), "%s%sg%d/%s", prefix, *prefix ? "/" : "", g, SKUS[c]);
            r_reach(m, c, pre, depth + 1, out, n);
        }
}

static void r_lit(rng *r, const r_rvar *v, char *buf, size_t cap)
{
    int k = (int)rnd(r, 4), a = (int)rnd(r, (uint32_t)v->nvals);
    if (k <= 1)
        snprintf(buf, cap, "%s = %s", v->path, v->vals[a]);
    else if (k == 2)
        snprintf(buf, cap, "%s != %s", v->path, v->vals[a]);
    else
        snprintf(buf, cap, "%s in [%s, %s]", v->path, v->vals[a],
                 v->vals[(a + 1) % v->nvals]);
}

static char *r_constraint(rng *r, const r_model *m, int p, int idx)
{
    r_rvar vars[64];
    int n = 0;
    r_reach(m, p, "", 0, vars, &n);
    char a[160], b[160], c[160], buf[2048];
    int kind = (int)rnd(r, 6);
    const r_rvar *v1 = &vars[rnd(r, (uint32_t)n)], *v2 = &vars[rnd(r, (uint32_t)n)];
    r_lit(r, v1, a, sizeof(a));
    r_lit(r, v2, b, sizeof(b));
    r_lit(r, &vars[rnd(r, (uint32_t)n)], c, sizeof(c));
    if (kind == 0) {
        snprintf(buf, sizeof(buf), "      - id: k%d\n        requires: {if: \"%s\", then: \"%s\"}\n",
                 idx, a, b);
    } else if (kind == 1) {
        snprintf(buf, sizeof(buf), "      - id: k%d\n        excludes: [\"%s\", \"%s\"]\n", idx, a,
                 b);
    } else if (kind == 2) {
        if (rnd(r, 2))
            snprintf(buf, sizeof(buf), "      - id: k%d\n        if: [\"%s\"]\n        then: [\"%s\", \"%s\"]\n",
                     idx, a, b, c);
        else
            snprintf(buf, sizeof(buf), "      - id: k%d\n        if: [\"%s\", \"%s\"]\n        then: [\"%s\"]\n",
                     idx, a, b, c);
    } else if (kind == 3 || kind == 4) {
        if (v1 == v2)
            v2 = &vars[(v1 - vars + 1) % n];
        int ncol = v1 == v2 ? 1 : 2;
        size_t o = (size_t)snprintf(buf, sizeof(buf),
                                    "      - id: k%d\n        table:\n          vars: [\"%s\"%s%s%s]\n          %s:\n",
                                    idx, v1->path, ncol > 1 ? ", \"" : "", ncol > 1 ? v2->path : "",
                                    ncol > 1 ? "\"" : "", kind == 3 ? "allowed" : "forbidden");
        int rows = 1 + (int)rnd(r, 4);
        for (int row = 0; row < rows; row++) {
            const r_rvar *cv[2] = {v1, v2};
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "            - [");
            for (int k = 0; k < ncol; k++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\"", k ? ", " : "",
                                      rnd(r, 4) == 0 ? "*" : cv[k]->vals[rnd(r, (uint32_t)cv[k]->nvals)]);
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]\n");
        }
    } else {
        const r_rvar *g = NULL;
        for (int t = 0; t < 8 && !g; t++) {
            const r_rvar *x = &vars[rnd(r, (uint32_t)n)];
            g = x->kind == 0 ? x : NULL;
        }
        if (!g)
            return r_constraint(r, m, p, idx);
        int lo = (int)rnd(r, 3), hi = lo + (int)rnd(r, 4);
        snprintf(buf, sizeof(buf), "      - id: k%d\n        quantity: {path: \"%s\", min: %d, max: %d}\n",
                 idx, g->path, lo, hi);
    }
    return strdup(buf);
}

static void r_group_gen(rng *r, r_group *g, const int *pool, int npool)
{
    g->nopt = 2 + (int)rnd(r, 2);
    if (g->nopt > npool)
        g->nopt = npool;
    int used[RP_N] = {0};
    for (int o = 0; o < g->nopt; o++) {
        int c;
        do
            c = pool[rnd(r, (uint32_t)npool)];
        while (used[c]);
        used[c] = 1;
        r_opt *op = &g->opt[o];
        op->prod = c;
        op->ranged = rnd(r, 3) == 0;
        op->qmin = 1;
        op->qmax = 1 + (int)rnd(r, 3);
        op->qty = op->ranged ? 1 : 1 + (int)rnd(r, 2);
    }
    g->min = (int)rnd(r, 2);
    g->max = 1 + (int)rnd(r, (uint32_t)g->nopt);
    if (g->max < g->min)
        g->max = g->min;
}

static void r_gen(rng *r, r_model *m)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < RP_N; i++) {
        m->p[i].sku = SKUS[i];
        m->p[i].attr = -1;
    }
    const int root_pool[] = {1, 2, 4, 5, 6}, sub_pool[] = {3, 4, 5, 7}, s3_pool[] = {4, 6, 7};
    m->p[0].ngroups = 1 + (int)rnd(r, 2);
    for (int g = 0; g < m->p[0].ngroups; g++)
        r_group_gen(r, &m->p[0].g[g], root_pool, 5);
    for (int s = 1; s <= 2; s++) {
        m->p[s].ngroups = 1;
        r_group_gen(r, &m->p[s].g[0], sub_pool, 4);
    }
    m->p[3].ngroups = 1;
    r_group_gen(r, &m->p[3].g[0], s3_pool, 3);
    for (int p = 0; p < 4; p++)
        m->p[p].attr = rnd(r, 3) == 0 ? -1 : (int)rnd(r, 2);
    for (int p = 0; p < 4; p++) {
        m->p[p].ncon = (int)rnd(r, p == 0 ? 5 : 3);
        for (int k = 0; k < m->p[p].ncon; k++)
            m->p[p].con[k] = r_constraint(r, m, p, k);
    }
}

static void r_free(r_model *m)
{
    for (int p = 0; p < RP_N; p++)
        for (int k = 0; k < m->p[p].ncon; k++)
            free(m->p[p].con[k]);
}

static char *r_yaml(const r_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputs("catalog:\n  id: rnd\n  version: \"1\"\n  name: Random\n  currency: CNY\n"
          "  timezone: Asia/Shanghai\n  tax: {prices_include_tax: true, classes: {s: \"0.1\"}}\n"
          "attributes:\n  - id: a\n    name: A\n    type: enum\n    values:\n"
          "      - {id: x, name: X}\n      - {id: y, name: Y}\n      - {id: z, name: Z}\n"
          "  - {id: n, name: N, type: integer, min: 1, max: 3}\n"
          "products:\n", f);
    for (int p = 0; p < RP_N; p++) {
        const r_prod *pr = &m->p[p];
        fprintf(f, "  - sku: %s\n    name: %s\n    category: c\n    delivery: {mode: goods}\n",
                pr->sku, pr->sku);
        if (pr->attr >= 0)
            fprintf(f, "    attributes:\n      - {ref: %s}\n", pr->attr ? "n" : "a");
        if (pr->ngroups)
            fputs("    groups:\n", f);
        for (int g = 0; g < pr->ngroups; g++) {
            const r_group *gr = &pr->g[g];
            fprintf(f, "      - id: g%d\n        name: G\n        min: %d\n        max: %d\n"
                       "        options:\n", g, gr->min, gr->max);
            for (int o = 0; o < gr->nopt; o++) {
                const r_opt *op = &gr->opt[o];
                if (op->ranged)
                    fprintf(f, "          - {sku: %s, qty: {min: %d, max: %d, default: %d}}\n",
                            SKUS[op->prod], op->qmin, op->qmax, op->qmin);
                else
                    fprintf(f, "          - {sku: %s, qty: %d}\n", SKUS[op->prod], op->qty);
            }
        }
        if (pr->ncon)
            fputs("    constraints:\n", f);
        for (int k = 0; k < pr->ncon; k++)
            fputs(pr->con[k], f);
    }
    fclose(f);
    return buf;
}

/* ---- the oracle's own unfolding and semantics ---- */

#define OV_MAX 64   /* variables */
#define OB_WORDS 4  /* value bits: 256 */
#define OS_MAX 64   /* selectors */
#define OC_MAX 20000 /* structural assignments */

typedef struct o_inst {
    int prod;
    char path[96];
    int parent, avar, aopt; /* activating group var and option (-1 at the root) */
} o_inst;

typedef struct o_var {
    char path[128];
    int kind; /* 0 group, 1 attr, 2 qty */
    int inst, nvals, base; /* base: first value bit */
    int g;                 /* group index in the product (kind 0) */
    int gvar, opt;         /* kind 2: the group var and option */
    const char *vals[3];
    int qmin;              /* kind 2 */
} o_var;

typedef struct o_lit {
    int var, op; /* op: 0 =, 1 !=, 2 in */
    unsigned set; /* value indexes */
} o_lit;

typedef struct o_sel {
    int kind; /* 0 constraint, 1 group */
    int inst, prod, k; /* k: constraint index, or group index */
    const void *cat;   /* cat_constraint or cat_group */
    /* constraint, compiled */
    int ckind;         /* 0 requires 1 excludes 2 if 3 allowed 4 forbidden 5 quantity */
    o_lit lit[4];
    int nlit, nif;
    int col[2], ncol, nrows;
    int cell[4][2];    /* value index or -1 for * */
    int qvar, qlo, qhi;
    int gvar;          /* kind 1 */
} o_sel;

typedef struct oracle {
    const r_model *rm;
    o_inst inst[16];
    int ninst;
    o_var var[OV_MAX];
    int nvar, nbits;
    o_sel sel[OS_MAX];
    int nsel;
    int asg[OV_MAX]; /* group: mask; attr/qty: value or -1 */
    uint64_t (*bits)[OB_WORDS];
    uint64_t *viol;
    int nconf;
    bool overflow;
} oracle;

static int o_find(const oracle *o, const char *path)
{
    for (int i = 0; i < o->nvar; i++)
        if (strcmp(o->var[i].path, path) == 0)
            return i;
    return -1;
}

static void o_unfold(oracle *o, int prod, const char *path, int parent, int avar, int aopt)
{
    const r_prod *pr = &o->rm->p[prod];
    int I = o->ninst++;
    o->inst[I] = (o_inst){prod, "", parent, avar, aopt};
    snprintf(o->inst[I].path, sizeof(o->inst[I].path), "%s", path);
    int g0 = o->nvar;
    for (int g = 0; g < pr->ngroups; g++) {
        o_var *v = &o->var[o->nvar++];
        memset(v, 0, sizeof(*v));
        snprintf(v->path, sizeof(v->path), "%s%sg%d", path, *path ? "/" : "", g);
        v->kind = 0;
        v->inst = I;
        v->g = g;
        v->nvals = pr->g[g].nopt;
        for (int k = 0; k < v->nvals; k++)
            v->vals[k] = SKUS[pr->g[g].opt[k].prod];
    }
    if (pr->attr >= 0) {
        static const char *const AV[2][3] = {{"x", "y", "z"}, {"1", "2", "3"}};
        o_var *v = &o->var[o->nvar++];
        memset(v, 0, sizeof(*v));
        snprintf(v->path, sizeof(v->path), "%s%s@%s", path, *path ? "/" : "", pr->attr ? "n" : "a");
        v->kind = 1;
        v->inst = I;
        v->nvals = 3;
        for (int k = 0; k < 3; k++)
            v->vals[k] = AV[pr->attr][k];
    }
    for (int g = 0; g < pr->ngroups; g++)
        for (int k = 0; k < pr->g[g].nopt; k++) {
            int c = pr->g[g].opt[k].prod;
            if (!r_configurable(o->rm, c))
                continue;
            char cp[96];
            snprintf(cp, sizeof(cp), "%s%sg%d/%s", path, *path ? "/" : "", g, SKUS[c]);
            o_unfold(o, c, cp, I, g0 + g, k);
        }
}

static int o_rel(const oracle *o, int inst, const char *rel)
{
    char full[200];
    snprintf(full, sizeof(full), "%s%s%s", o->inst[inst].path, o->inst[inst].path[0] ? "/" : "",
             rel);
    return o_find(o, full);
}

static int o_validx(const o_var *v, const char *t)
{
    for (int i = 0; i < v->nvals; i++)
        if (strcmp(v->vals[i], t) == 0)
            return i;
    return -1;
}

/* Compiles constraint k of instance I's product from its catalog form. */
static void o_compile(oracle *o, o_sel *s, const cat_constraint *c)
{
    static const int kinds[] = {0, 1, 3, 2, 5};
    s->ckind = kinds[c->kind];
    if (c->kind == CAT_CON_TABLE && c->forbidden)
        s->ckind = 4;
    s->nlit = (int)c->nlits;
    s->nif = c->kind == CAT_CON_REQUIRES ? 1 : (int)c->nif;
    for (size_t i = 0; i < c->nlits; i++) {
        o_lit *l = &s->lit[i];
        l->var = o_rel(o, s->inst, c->lits[i].path);
        assert_true(l->var >= 0);
        l->op = c->lits[i].op == CAT_LIT_EQ ? 0 : c->lits[i].op == CAT_LIT_NE ? 1 : 2;
        l->set = 0;
        for (size_t k = 0; k < c->lits[i].nvalues; k++)
            l->set |= 1u << o_validx(&o->var[l->var], c->lits[i].values[k]);
    }
    s->ncol = (int)c->nvars;
    s->nrows = (int)c->nrows;
    for (size_t k = 0; k < c->nvars; k++) {
        s->col[k] = o_rel(o, s->inst, c->vars[k]);
        assert_true(s->col[k] >= 0);
        for (size_t r = 0; r < c->nrows; r++) {
            const char *cell = c->cells[r * c->nvars + k];
            s->cell[r][k] = strcmp(cell, "*") == 0 ? -1 : o_validx(&o->var[s->col[k]], cell);
        }
    }
    if (c->kind == CAT_CON_QUANTITY) {
        s->qvar = o_rel(o, s->inst, c->qty_path);
        s->qlo = (int)c->qty_min.coef;
        s->qhi = (int)c->qty_max.coef;
    }
}

static bool o_active(const oracle *o, int inst)
{
    const o_inst *in = &o->inst[inst];
    return inst == 0 || (o->asg[in->avar] >> in->aopt & 1);
}

/* Values held by a variable as a mask (group: selected options; attr,
 * qty: its value). */
static unsigned o_held(const oracle *o, int v)
{
    int a = o->asg[v];
    if (o->var[v].kind == 0)
        return (unsigned)a;
    return a < 0 ? 0 : 1u << a;
}

static bool o_lit_holds(const oracle *o, const o_lit *l)
{
    bool eq = (o_held(o, l->var) & l->set) != 0;
    return l->op == 1 ? !eq : eq;
}

static bool o_cell(const oracle *o, const o_sel *s, int r, int k)
{
    return s->cell[r][k] < 0 || (o_held(o, s->col[k]) >> s->cell[r][k] & 1);
}

static bool o_table_ok(const oracle *o, const o_sel *s)
{
    for (int k = 0; k < s->ncol; k++)
        if (!o_active(o, o->var[s->col[k]].inst))
            return s->ckind == 4 ? true : true;
    if (s->ckind == 4) {
        for (int r = 0; r < s->nrows; r++) {
            bool all = true;
            for (int k = 0; k < s->ncol; k++)
                all &= o_cell(o, s, r, k);
            if (all)
                return false;
        }
        return true;
    }
    for (int k = 0; k < s->ncol; k++) {
        unsigned h = o_held(o, s->col[k]);
        for (int v = 0; v < o->var[s->col[k]].nvals; v++) {
            if (!(h >> v & 1))
                continue;
            bool sup = false;
            for (int r = 0; r < s->nrows && !sup; r++) {
                if (s->cell[r][k] >= 0 && s->cell[r][k] != v)
                    continue;
                bool all = true;
                for (int j = 0; j < s->ncol; j++)
                    all &= j == k || o_cell(o, s, r, j);
                sup = all;
            }
            if (!sup)
                return false;
        }
    }
    return true;
}

static bool o_sel_ok(const oracle *o, const o_sel *s)
{
    if (!o_active(o, s->inst))
        return true;
    if (s->kind == 1) {
        const r_group *g = &o->rm->p[s->prod].g[s->k];
        int cnt = __builtin_popcount((unsigned)o->asg[s->gvar]);
        return cnt >= g->min && cnt <= g->max;
    }
    switch (s->ckind) {
    case 0:
        return !o_lit_holds(o, &s->lit[0]) || o_lit_holds(o, &s->lit[1]);
    case 1: {
        bool all = true;
        for (int i = 0; i < s->nlit; i++)
            all &= o_lit_holds(o, &s->lit[i]);
        return !all;
    }
    case 2: {
        bool ifs = true, thens = true;
        for (int i = 0; i < s->nlit; i++) {
            if (i < s->nif)
                ifs &= o_lit_holds(o, &s->lit[i]);
            else
                thens &= o_lit_holds(o, &s->lit[i]);
        }
        return !ifs || thens;
    }
    case 3:
    case 4:
        return o_table_ok(o, s);
    default: {
        const o_var *gv = &o->var[s->qvar];
        if (!o_active(o, gv->inst))
            return true;
        const r_group *g = &o->rm->p[o->inst[gv->inst].prod].g[gv->g];
        int sum = 0;
        for (int k = 0; k < g->nopt; k++) {
            if (!(o->asg[s->qvar] >> k & 1))
                continue;
            if (!g->opt[k].ranged) {
                sum += g->opt[k].qty;
                continue;
            }
            for (int q = 0; q < o->nvar; q++)
                if (o->var[q].kind == 2 && o->var[q].gvar == s->qvar && o->var[q].opt == k)
                    sum += o->var[q].qmin + o->asg[q];
        }
        return sum >= s->qlo && sum <= s->qhi;
    }
    }
}

static void o_leaf(oracle *o)
{
    if (o->nconf >= OC_MAX) {
        o->overflow = true;
        return;
    }
    uint64_t *b = o->bits[o->nconf];
    memset(b, 0, OB_WORDS * sizeof(uint64_t));
    for (int v = 0; v < o->nvar; v++) {
        unsigned h = o_held(o, v);
        for (int i = 0; i < o->var[v].nvals; i++)
            if (h >> i & 1)
                b[(o->var[v].base + i) / 64] |= (uint64_t)1 << ((o->var[v].base + i) % 64);
    }
    uint64_t viol = 0;
    for (int s = 0; s < o->nsel; s++)
        if (!o_sel_ok(o, &o->sel[s]))
            viol |= (uint64_t)1 << s;
    o->viol[o->nconf++] = viol;
}

static void o_enum(oracle *o, int v)
{
    if (o->overflow)
        return;
    if (v == o->nvar) {
        o_leaf(o);
        return;
    }
    const o_var *x = &o->var[v];
    bool act = x->kind == 2 ? (o->asg[x->gvar] >> x->opt & 1) : o_active(o, x->inst);
    if (!act) {
        o->asg[v] = x->kind == 0 ? 0 : -1;
        o_enum(o, v + 1);
        return;
    }
    int n = x->kind == 0 ? 1 << x->nvals : x->nvals;
    for (int a = 0; a < n; a++) {
        o->asg[v] = a;
        o_enum(o, v + 1);
    }
}

static const char *const QV[3] = {"1", "2", "3"};

/* Builds the oracle for model rm loaded as snapshot s; false if too big. */
static bool o_build(oracle *o, const r_model *rm, const cat_snapshot *s)
{
    memset(o, 0, sizeof(*o));
    o->rm = rm;
    o_unfold(o, 0, "", -1, -1, -1);
    /* selectors: group cardinalities, then constraints */
    for (int I = 0; I < o->ninst; I++) {
        const r_prod *pr = &rm->p[o->inst[I].prod];
        const cat_product *cp = cat_snapshot_product(s, pr->sku, strlen(pr->sku));
        for (int g = 0; g < pr->ngroups; g++) {
            o_sel *x = &o->sel[o->nsel++];
            *x = (o_sel){.kind = 1, .inst = I, .prod = o->inst[I].prod, .k = g,
                         .cat = &cp->groups[g]};
            x->gvar = o_rel(o, I, (char[8]){'g', (char)('0' + g), 0});
        }
        for (size_t k = 0; k < cp->nconstraints; k++) {
            if (o->nsel >= OS_MAX)
                return false;
            o_sel *x = &o->sel[o->nsel++];
            *x = (o_sel){.kind = 0, .inst = I, .prod = o->inst[I].prod, .k = (int)k,
                         .cat = &cp->constraints[k]};
        }
    }
    /* quantity variables: ranged options of quantity-bounded groups */
    int nv = o->nvar;
    for (int si = 0; si < o->nsel; si++) {
        o_sel *x = &o->sel[si];
        if (x->kind == 0)
            o_compile(o, x, x->cat);
    }
    for (int v = 0; v < nv; v++) {
        if (o->var[v].kind != 0)
            continue;
        bool bounded = false;
        for (int si = 0; si < o->nsel; si++)
            bounded |= o->sel[si].kind == 0 && o->sel[si].ckind == 5 && o->sel[si].qvar == v;
        const r_group *g = &rm->p[o->inst[o->var[v].inst].prod].g[o->var[v].g];
        for (int k = 0; bounded && k < g->nopt; k++) {
            if (!g->opt[k].ranged)
                continue;
            if (o->nvar >= OV_MAX)
                return false;
            char gpath[96];
            snprintf(gpath, sizeof(gpath), "%.95s", o->var[v].path);
            o_var *q = &o->var[o->nvar++];
            memset(q, 0, sizeof(*q));
            snprintf(q->path, sizeof(q->path), "%s/%s#qty", gpath, SKUS[g->opt[k].prod]);
            q->kind = 2;
            q->inst = o->var[v].inst;
            q->gvar = v;
            q->opt = k;
            q->qmin = g->opt[k].qmin;
            q->nvals = g->opt[k].qmax - g->opt[k].qmin + 1;
            for (int i = 0; i < q->nvals; i++)
                q->vals[i] = QV[q->qmin - 1 + i];
        }
    }
    for (int v = 0; v < o->nvar; v++) {
        o->var[v].base = o->nbits;
        o->nbits += o->var[v].nvals;
    }
    if (o->nbits > OB_WORDS * 64)
        return false;
    o->bits = malloc(OC_MAX * sizeof(*o->bits));
    o->viol = malloc(OC_MAX * sizeof(uint64_t));
    o_enum(o, 0);
    return !o->overflow;
}

static void o_free(oracle *o)
{
    free(o->bits);
    free(o->viol);
}

typedef struct o_query {
    int nch;
    int bit[16];
    bool neg[16];
    uint64_t enabled;
    int want; /* value bit that must be true, or -1 */
} o_query;

static bool o_bit(const uint64_t *b, int i)
{
    return b[i / 64] >> (i % 64) & 1;
}

static bool o_fits(const oracle *o, int c, const o_query *q)
{
    if (o->viol[c] & q->enabled)
        return false;
    for (int i = 0; i < q->nch; i++)
        if (o_bit(o->bits[c], q->bit[i]) == q->neg[i])
            return false;
    return q->want < 0 || o_bit(o->bits[c], q->want);
}

static bool o_exists(const oracle *o, const o_query *q)
{
    for (int c = 0; c < o->nconf; c++)
        if (o_fits(o, c, q))
            return true;
    return false;
}

/* Checks a reason: with only its choices and selectors, want is
 * impossible; dropping any element makes it possible. */
static void o_check_reason(const oracle *o, const solver_reason *x, const o_query *full, int want,
                           const char *what, uint64_t seed)
{
    o_query q = {.want = want};
    for (size_t i = 0; i < x->nchoices; i++) {
        q.bit[q.nch] = full->bit[x->choices[i]];
        q.neg[q.nch++] = full->neg[x->choices[i]];
    }
    for (size_t i = 0; i < x->nconstraints; i++) {
        int found = -1;
        for (int s = 0; s < o->nsel; s++)
            if (o->sel[s].cat == x->constraints[i].constraint &&
                strcmp(o->inst[o->sel[s].inst].path, x->constraints[i].at) == 0)
                q.enabled |= (uint64_t)1 << (found = s);
        if (found < 0)
            fail_msg("seed %llu: %s: unknown constraint in reason", (unsigned long long)seed, what);
    }
    for (size_t i = 0; i < x->ngroups; i++) {
        int found = -1;
        for (int s = 0; s < o->nsel; s++)
            if (o->sel[s].cat == x->groups[i].group &&
                strcmp(o->inst[o->sel[s].inst].path, x->groups[i].at) == 0)
                q.enabled |= (uint64_t)1 << (found = s);
        if (found < 0)
            fail_msg("seed %llu: %s: unknown group in reason", (unsigned long long)seed, what);
    }
    if (o_exists(o, &q)) {
        for (size_t i = 0; i < x->nchoices; i++)
            print_message("reason choice %zu (bit %d neg %d)\n", x->choices[i], q.bit[i], q.neg[i]);
        for (size_t i = 0; i < x->nconstraints; i++)
            print_message("reason constraint %s at '%s'\n", x->constraints[i].constraint->id,
                          x->constraints[i].at);
        for (size_t i = 0; i < x->ngroups; i++)
            print_message("reason group %s at '%s'\n", x->groups[i].group->id, x->groups[i].at);
        print_message("want bit %d\n", want);
        for (int i = 0; i < full->nch; i++)
            print_message("full choice %d: bit %d neg %d\n", i, full->bit[i], full->neg[i]);
        fail_msg("seed %llu: %s: the reason does not exclude it", (unsigned long long)seed, what);
    }
    for (int i = 0; i < q.nch; i++) {
        o_query d = q;
        d.nch--;
        memmove(&d.bit[i], &q.bit[i + 1], (size_t)(q.nch - i - 1) * sizeof(int));
        memmove(&d.neg[i], &q.neg[i + 1], (size_t)(q.nch - i - 1) * sizeof(bool));
        if (!o_exists(o, &d))
            fail_msg("seed %llu: %s: choice %d of the reason is not needed",
                     (unsigned long long)seed, what, i);
    }
    for (int s = 0; s < o->nsel; s++) {
        if (!(q.enabled >> s & 1))
            continue;
        o_query d = q;
        d.enabled &= ~((uint64_t)1 << s);
        if (!o_exists(o, &d))
            fail_msg("seed %llu: %s: selector %d of the reason is not needed",
                     (unsigned long long)seed, what, s);
    }
}

/* Maps every oracle value to the solver's (var, value); checks that both
 * unfold the same variables. */
static void o_map(const oracle *o, const solver_model *m, size_t *svar, size_t *sval,
                  uint64_t seed)
{
    if ((size_t)o->nvar != solver_var_count(m))
        fail_msg("seed %llu: oracle has %d variables, solver %zu", (unsigned long long)seed,
                 o->nvar, solver_var_count(m));
    for (int v = 0; v < o->nvar; v++) {
        size_t sv = solver_var_find(m, o->var[v].path, strlen(o->var[v].path));
        if (sv == SIZE_MAX)
            fail_msg("seed %llu: solver lacks %s", (unsigned long long)seed, o->var[v].path);
        assert_int_equal(solver_var_at(m, sv)->nvalues, (size_t)o->var[v].nvals);
        for (int i = 0; i < o->var[v].nvals; i++) {
            svar[o->var[v].base + i] = sv;
            sval[o->var[v].base + i] = value_of(m, sv, o->var[v].vals[i]);
        }
    }
}

/* Random choice sequences on one model; returns how many states were
 * compared. */
/* solver_cheapest against the oracle: random weights on the values; the
 * least cost over the valid configurations fitting q is the solver's,
 * and the configuration it returns is one of them with that cost. */
static void o_check_cheapest(const oracle *o, const solver_model *m, solver_ctx *ctx,
                             const size_t *svar, const size_t *sval, const o_query *q,
                             const solver_choice *ch, rng *r, uint64_t seed)
{
    uint64_t w[OB_WORDS * 64] = {0};
    uint64_t *flat = calloc(solver_value_count(m) + 1, sizeof(uint64_t));
    assert_non_null(flat);
    for (int i = 0; i < o->nbits; i++) {
        w[i] = rnd(r, 3) ? rnd(r, 50) : 0;
        flat[solver_value_index(m, svar[i], sval[i])] = w[i];
    }
    uint64_t best = UINT64_MAX;
    for (int c = 0; c < o->nconf; c++) {
        if (!o_fits(o, c, q))
            continue;
        uint64_t cost = 0;
        for (int i = 0; i < o->nbits; i++)
            cost += o_bit(o->bits[c], i) ? w[i] : 0;
        best = cost < best ? cost : best;
    }
    solver_cheapest_result res;
    assert_int_equal(solver_cheapest(m, ch, (size_t)q->nch, flat, 0, &res), 0);
    if (res.found != (best != UINT64_MAX))
        fail_msg("seed %llu: cheapest found=%d, oracle %d", (unsigned long long)seed, res.found,
                 best != UINT64_MAX);
    if (res.found) {
        assert_true(res.exact);
        if (res.cost != best || res.bound != best)
            fail_msg("seed %llu: cheapest cost %llu (bound %llu), oracle %llu",
                     (unsigned long long)seed, (unsigned long long)res.cost,
                     (unsigned long long)res.bound, (unsigned long long)best);
        uint64_t bits[OB_WORDS] = {0};
        for (int i = 0; i < o->nbits; i++)
            if (res.values[solver_value_index(m, svar[i], sval[i])])
                bits[i / 64] |= (uint64_t)1 << (i % 64);
        bool valid = false;
        for (int c = 0; c < o->nconf && !valid; c++)
            valid = o_fits(o, c, q) && memcmp(o->bits[c], bits, sizeof(bits)) == 0;
        if (!valid)
            fail_msg("seed %llu: the cheapest configuration is not a valid one",
                     (unsigned long long)seed);
        expect_bom_of_is_configured(ctx, m, res.values, seed);
    }
    solver_cheapest_fini(&res);
    free(flat);
}

static size_t o_play(const oracle *o, const solver_model *m, solver_ctx *ctx, rng *r,
                     uint64_t seed)
{
    size_t svar[OB_WORDS * 64], sval[OB_WORDS * 64], compared = 0;
    o_map(o, m, svar, sval, seed);
    o_query q = {.enabled = ~(uint64_t)0, .want = -1};
    solver_choice ch[16];
    for (int step = 0; step < 10; step++) {
        int b = (int)rnd(r, (uint32_t)o->nbits);
        q.bit[q.nch] = b;
        q.neg[q.nch] = rnd(r, 4) == 0;
        ch[q.nch] = (solver_choice){.var = svar[b], .value = sval[b], .negated = q.neg[q.nch]};
        q.nch++;
        solver_explain ex = step % 3 == 2 ? SOLVER_EXPLAIN_CHOICES : SOLVER_EXPLAIN_FULL;
        solver_result res;
        assert_int_equal(solver_configure(ctx, m, ch, (size_t)q.nch, ex, &res), 0);
        bool any = o_exists(o, &q);
        if (any != res.consistent)
            fail_msg("seed %llu step %d: oracle consistent=%d, solver %d",
                     (unsigned long long)seed, step, any, res.consistent);
        if (!any) {
            assert_false(res.conflict.truncated);
            if (ex == SOLVER_EXPLAIN_FULL)
                o_check_reason(o, &res.conflict, &q, -1, "conflict", seed);
            solver_result_fini(&res);
            q.nch--; /* keep the sequence consistent */
            continue;
        }
        uint64_t t[OB_WORDS] = {0}, f[OB_WORDS] = {0};
        for (int c = 0; c < o->nconf; c++) {
            if (!o_fits(o, c, &q))
                continue;
            for (int w = 0; w < OB_WORDS; w++) {
                t[w] |= o->bits[c][w];
                f[w] |= ~o->bits[c][w];
            }
        }
        int checked = 0;
        for (int i = 0; i < o->nbits; i++) {
            solver_state want = !o_bit(t, i) ? SOLVER_EXCLUDED
                                : !o_bit(f, i) ? SOLVER_IMPLIED
                                               : SOLVER_POSSIBLE;
            for (int k = 0; k < q.nch; k++)
                if (q.bit[k] == i && !q.neg[k])
                    want = SOLVER_SELECTED;
            const solver_value_result *vr = &res.values[svar[i]][sval[i]];
            compared++;
            if (vr->state != want)
                fail_msg("seed %llu step %d: %s = %s: oracle %s, solver %s",
                         (unsigned long long)seed, step, solver_var_at(m, svar[i])->path,
                         solver_var_at(m, svar[i])->values[sval[i]], solver_state_name(want),
                         solver_state_name(vr->state));
            if (want == SOLVER_EXCLUDED && checked == 0) {
                solver_reason w;
                bool excl = false;
                assert_int_equal(solver_why(ctx, m, ch, (size_t)q.nch, svar[i], sval[i], &excl, &w),
                                 0);
                if (!excl)
                    fail_msg("seed %llu step %d: solver_why says possible", (unsigned long long)seed,
                             step);
                o_check_reason(o, &w, &q, i, "solver_why", seed);
                solver_reason_fini(&w);
            }
            if (want != SOLVER_EXCLUDED || ex != SOLVER_EXPLAIN_FULL || checked >= 8)
                continue;
            checked++;
            assert_false(vr->reason.truncated);
            o_check_reason(o, &vr->reason, &q, i, solver_var_at(m, svar[i])->path, seed);
        }
        solver_result_fini(&res);
    }
    o_check_cheapest(o, m, ctx, svar, sval, &q, ch, r, seed);
    o_query none = {.enabled = ~(uint64_t)0, .want = -1};
    o_check_cheapest(o, m, ctx, svar, sval, &none, NULL, r, seed);
    return compared;
}

static void test_solver_random_models_match_brute_force(void **state)
{
    (void)state;
    const char *env = getenv("CPQD_SOLVER_SEED");
    uint64_t base = env ? strtoull(env, NULL, 10) : 20261126;
    int models = getenv("CPQD_SOLVER_MODELS") ? atoi(getenv("CPQD_SOLVER_MODELS")) : 2000;
    char *dir = tu_tmpdir();
    solver_ctx *ctx = solver_ctx_new();
    int done = 0;
    size_t compared = 0, cleared = 0, local[3] = {0, 0, 0};
    for (uint64_t seed = base; done < models; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 1};
        r_model rm;
        r_gen(&r, &rm);
        char *yaml = r_yaml(&rm);
        tu_write(dir, "rnd.yaml", yaml);
        if (getenv("CPQD_SOLVER_DUMP"))
            tu_write(getenv("CPQD_SOLVER_DUMP"), "rnd.yaml", yaml);
        cpqd_errs *e = errs_new();
        cat_snapshot *s = cat_snapshot_load_path(dir, NULL, e);
        if (!s) {
            char *msg = errs_format(e, 0);
            fail_msg("seed %llu: load failed: %s\n%s", (unsigned long long)seed, msg, yaml);
        }
        oracle o;
        if (o_build(&o, &rm, s)) {
            const solver_model *m = model_of(s, "R");
            compared += o_play(&o, m, ctx, &r, seed);
            /* solver_check's fast way against its exact way (itself
             * checked against the oracle by o_play) */
            char where[64];
            snprintf(where, sizeof(where), "seed %llu", (unsigned long long)seed);
            cleared += check_ways_model(m, where);
            if (done % 40 == 0) /* its question about sub-assemblies, both ways */
                local_model_ways_agree(m, where, local);
            done++;
        }
        o_free(&o);
        errs_free(e);
        cat_snapshot_release(s);
        free(yaml);
        r_free(&rm);
    }
    print_message("random models: %d, value states compared: %zu, %zu cleared by solver_check's "
                  "fast way (base seed %llu); local question: no %zu, cannot say %zu, yes %zu\n",
                  done, compared, cleared, (unsigned long long)base, local[0], local[1], local[2]);
    solver_ctx_free(ctx);
    tu_rm_tree(dir);
    free(dir);
}

/* ---- every reason of random sessions, against the oracle ----
 *
 * Sessions of choices added one at a time on one context (as a UI does),
 * a session sometimes starting again from the first choices of the one
 * before, so that reasons found at one step, and remembered, serve the
 * next steps and sessions. Every excluded value's reason is checked, at
 * each step: full explanations (choices and constraints minimal) and
 * choice-only ones (each choice needed with every constraint on). */

/* A choice-only reason: with every constraint on, its choices exclude
 * want; without any one of them, want is possible. */
static void o_check_choice_reason(const oracle *o, const solver_reason *x, const o_query *full,
                                  int want, const char *what, uint64_t seed)
{
    o_query q = {.enabled = ~(uint64_t)0, .want = want};
    if (x->nconstraints || x->ngroups)
        fail_msg("seed %llu: %s: constraints in a choice-only reason", (unsigned long long)seed,
                 what);
    for (size_t i = 0; i < x->nchoices; i++) {
        q.bit[q.nch] = full->bit[x->choices[i]];
        q.neg[q.nch++] = full->neg[x->choices[i]];
    }
    if (o_exists(o, &q))
        fail_msg("seed %llu: %s: the choices do not exclude it", (unsigned long long)seed, what);
    for (int i = 0; i < q.nch; i++) {
        o_query d = q;
        d.nch--;
        memmove(&d.bit[i], &q.bit[i + 1], (size_t)(q.nch - i - 1) * sizeof(int));
        memmove(&d.neg[i], &q.neg[i + 1], (size_t)(q.nch - i - 1) * sizeof(bool));
        if (!o_exists(o, &d))
            fail_msg("seed %llu: %s: choice %d of the reason is not needed",
                     (unsigned long long)seed, what, i);
    }
}

/* Sessions on one model; returns how many reasons were checked. */
static size_t o_sessions(const oracle *o, const solver_model *m, solver_ctx *ctx, rng *r,
                         uint64_t seed)
{
    size_t svar[OB_WORDS * 64], sval[OB_WORDS * 64], checked = 0;
    o_map(o, m, svar, sval, seed);
    o_query q = {.enabled = ~(uint64_t)0, .want = -1};
    solver_choice ch[16];
    for (int sess = 0; sess < 3; sess++) {
        q.nch = sess > 0 && rnd(r, 2) ? (int)rnd(r, (uint32_t)q.nch + 1) : 0; /* start again */
        for (int step = 0; step < 8 && q.nch < 16; step++) {
            int b = (int)rnd(r, (uint32_t)o->nbits);
            q.bit[q.nch] = b;
            q.neg[q.nch] = rnd(r, 4) == 0;
            ch[q.nch] = (solver_choice){.var = svar[b], .value = sval[b],
                                        .negated = q.neg[q.nch]};
            q.nch++;
            solver_explain ex = rnd(r, 4) == 0 ? SOLVER_EXPLAIN_CHOICES : SOLVER_EXPLAIN_FULL;
            solver_result res;
            assert_int_equal(solver_configure(ctx, m, ch, (size_t)q.nch, ex, &res), 0);
            if (o_exists(o, &q) != res.consistent)
                fail_msg("seed %llu session %d step %d: consistency differs", (unsigned long long)seed,
                         sess, step);
            if (!res.consistent) {
                if (res.conflict.truncated)
                    fail_msg("seed %llu: truncated conflict", (unsigned long long)seed);
                if (ex == SOLVER_EXPLAIN_FULL)
                    o_check_reason(o, &res.conflict, &q, -1, "conflict", seed);
                else
                    o_check_choice_reason(o, &res.conflict, &q, -1, "conflict", seed);
                checked++;
                solver_result_fini(&res);
                q.nch--; /* keep the session consistent */
                continue;
            }
            for (int i = 0; i < o->nbits; i++) {
                const solver_value_result *vr = &res.values[svar[i]][sval[i]];
                o_query w = q;
                w.want = i;
                bool possible = o_exists(o, &w);
                if ((vr->state == SOLVER_EXCLUDED) == possible)
                    fail_msg("seed %llu session %d step %d: %s = %s: solver says %s",
                             (unsigned long long)seed, sess, step, solver_var_at(m, svar[i])->path,
                             solver_var_at(m, svar[i])->values[sval[i]],
                             solver_state_name(vr->state));
                if (vr->state != SOLVER_EXCLUDED)
                    continue;
                if (vr->reason.truncated)
                    fail_msg("seed %llu: truncated reason", (unsigned long long)seed);
                if (ex == SOLVER_EXPLAIN_FULL)
                    o_check_reason(o, &vr->reason, &q, i, solver_var_at(m, svar[i])->path, seed);
                else
                    o_check_choice_reason(o, &vr->reason, &q, i,
                                          solver_var_at(m, svar[i])->path, seed);
                checked++;
            }
            solver_result_fini(&res);
        }
    }
    return checked;
}

static void test_solver_random_sessions_every_reason_minimal(void **state)
{
    (void)state;
    const char *env = getenv("CPQD_SOLVER_REASON_SEED");
    uint64_t base = env ? strtoull(env, NULL, 10) : 20261207;
    int models = getenv("CPQD_SOLVER_MODELS") ? atoi(getenv("CPQD_SOLVER_MODELS")) : 250;
    print_message("random sessions: base seed %llu (CPQD_SOLVER_REASON_SEED), %d models\n",
                  (unsigned long long)base, models);
    char *dir = tu_tmpdir();
    solver_ctx *ctx = solver_ctx_new();
    int done = 0;
    size_t checked = 0;
    for (uint64_t seed = base; done < models; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 7};
        r_model rm;
        r_gen(&r, &rm);
        char *yaml = r_yaml(&rm);
        tu_write(dir, "rnd.yaml", yaml);
        if (getenv("CPQD_SOLVER_DUMP"))
            tu_write(getenv("CPQD_SOLVER_DUMP"), "rnd.yaml", yaml);
        cpqd_errs *e = errs_new();
        cat_snapshot *s = cat_snapshot_load_path(dir, NULL, e);
        if (!s) {
            char *msg = errs_format(e, 0);
            fail_msg("seed %llu: load failed: %s\n%s", (unsigned long long)seed, msg, yaml);
        }
        oracle o;
        if (o_build(&o, &rm, s)) {
            checked += o_sessions(&o, model_of(s, "R"), ctx, &r, seed);
            done++;
        }
        o_free(&o);
        errs_free(e);
        cat_snapshot_release(s);
        free(yaml);
        r_free(&rm);
    }
    print_message("random sessions: %d models, %zu reasons checked\n", done, checked);
    solver_ctx_free(ctx);
    tu_rm_tree(dir);
    free(dir);
}

/* A catalog of n configurable products (a group of one leaf each) and,
 * when big_at is not SIZE_MAX, a product whose BOM unfolds into more than
 * SOLVER_MAX_INSTANCES instances as the product at index big_at and
 * another as the last. */
static char *many_yaml(size_t n, size_t big_at)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputs("catalog:\n  id: many\n  version: \"1\"\n  name: Many\n  currency: CNY\n"
          "  timezone: Asia/Shanghai\n  tax: {prices_include_tax: true, classes: {s: \"0.1\"}}\n"
          "products:\n  - {sku: LEAF, name: Leaf, category: c, delivery: {mode: goods}}\n", f);
    /* 70 x 70 configurable instances under a BIG: 1 + 70 + 4,900 > 4,096 */
    for (int i = 0; i < 70; i++)
        fprintf(f, "  - sku: N%03d\n    name: N\n    category: c\n    delivery: {mode: goods}\n"
                   "    groups: [{id: g, name: G, min: 0, max: 1, options: [{sku: LEAF}]}]\n", i);
    for (int i = 0; i < 70; i++) {
        fprintf(f, "  - sku: M%03d\n    name: M\n    category: c\n    delivery: {mode: goods}\n"
                   "    groups:\n      - {id: g, name: G, min: 0, max: 1, options: [", i);
        for (int k = 0; k < 70; k++)
            fprintf(f, "%s{sku: N%03d}", k ? ", " : "", k);
        fputs("]}\n", f);
    }
    for (size_t i = 0; i < n; i++) {
        bool big = big_at != SIZE_MAX && (i == big_at || i + 1 == n);
        fprintf(f, "  - sku: %s%05zu\n    name: F\n    category: c\n    delivery: {mode: goods}\n"
                   "    groups:\n      - {id: g, name: G, min: 0, max: 1, options: [",
                big ? "BIG" : "F", i);
        for (int k = 0; k < (big ? 70 : 1); k++)
            fprintf(f, big ? "%s{sku: M%03d}" : "%s{sku: LEAF}", k ? ", " : "", k);
        fputs("]}\n", f);
    }
    fclose(f);
    return buf;
}

/* A snapshot of many products builds its models on two threads: every
 * configurable product has its model, the same as one built alone; a
 * model that cannot be built is reported in either half, in product
 * order, and fails the load. */
static void test_snapshot_models_on_two_threads(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *yaml = many_yaml(5000, SIZE_MAX);
    assert_int_equal(tu_write(dir, "many.yaml", yaml), 0);
    free(yaml);
    cat_snapshot *s = load_ok(dir);
    size_t n = cat_snapshot_product_count(s), models = 0;
    for (size_t i = 0; i < n; i++) {
        const cat_product *p = cat_snapshot_product_at(s, i);
        const solver_model *m = solver_snapshot_model(s, p);
        if (!p->ngroups) {
            assert_null(m);
            continue;
        }
        assert_non_null(m);
        assert_ptr_equal(m->product, p);
        models++;
        if (i % 97 != 0)
            continue;
        cpqd_errs *e = errs_new();
        solver_model *alone = solver_model_build(p, e);
        assert_non_null(alone);
        assert_int_equal(m->nvars, alone->nvars);
        assert_int_equal(m->ninsts, alone->ninsts);
        assert_int_equal(m->nclauses, alone->nclauses);
        assert_int_equal(m->nsat, alone->nsat);
        solver_model_free(alone);
        errs_free(e);
    }
    assert_int_equal(models, 5000 + 140);
    assert_int_equal(sv_snapshot_models(s, NULL, 0), models);
    cat_snapshot_release(s);

    yaml = many_yaml(5000, 10);
    assert_int_equal(tu_write(dir, "many.yaml", yaml), 0);
    free(yaml);
    cpqd_errs *e = errs_new();
    assert_null(cat_snapshot_load_path(dir, NULL, e));
    assert_int_equal(errs_count(e), 2);
    assert_non_null(strstr(errs_get(e, 0)->msg, "product BIG00010: its BOM unfolds"));
    assert_non_null(strstr(errs_get(e, 1)->msg, "product BIG04999: its BOM unfolds"));
    assert_true(errs_get(e, 0)->line < errs_get(e, 1)->line);
    errs_free(e);
    tu_rm_tree(dir);
    free(dir);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    cat_ext_register(CAT_EXT_SOLVER, solver_snapshot_build, solver_snapshot_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_solver_model_unfolds_bom_to_depth_three, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_no_choices_everything_possible, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_table_and_requires_imply, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_nested_requires_reaches_depth_three, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_forbidden_table_conflict_is_minimal, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_if_then_conflict, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_quantity_bounds, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_bom_rolls_up_quantities, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_optional_subassembly_excluded, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_negated_choice_is_its_own_reason, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_invalid_choices_refused, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_solver_witnesses_reused_across_requests, rig_setup,
                                        rig_teardown),
        cmocka_unit_test(test_snapshot_models_on_two_threads),
        cmocka_unit_test(test_solver_budget_truncates_explanations),
        cmocka_unit_test_setup_teardown(test_solver_why_explains_one_value, rig_setup,
                                        rig_teardown),
        cmocka_unit_test(test_solver_reload_frees_solvers_of_older_snapshots),
        cmocka_unit_test(test_solver_check_reports_file_and_line),
        cmocka_unit_test(test_solver_check_rig_is_clean),
        cmocka_unit_test(test_solver_check_fast_way_agrees_with_exact),
        cmocka_unit_test(test_solver_sample_catalogs_compile_and_check),
        cmocka_unit_test(test_solver_bom_quantity_defaults_beside_unselected_ranged),
        cmocka_unit_test(test_solver_cheapest_configuration),
        cmocka_unit_test(test_solver_bom_of_known_configuration),
        cmocka_unit_test(test_solver_check_local_search_agrees_with_sat),
        cmocka_unit_test(test_solver_random_models_match_brute_force),
        cmocka_unit_test(test_solver_random_sessions_every_reason_minimal),
    };
    return cmocka_run_group_tests_name("solver", tests, NULL, NULL);
}
