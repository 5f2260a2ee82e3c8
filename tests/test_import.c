/*
 * Unit tests for import: the XCSP, CLib and DIMACS readers on small
 * hand-made inputs (tests/data/import) checked exactly, bad inputs giving
 * file:line:col errors and no output file, the `cpqd import` command, the
 * real configbench files ($CPQD_SHARED/configbench) converting into
 * catalogs that load with the README's counts, and the README's known
 * facts about those models computed by the configurator engine.
 * Run from the repository root (CPQD_ROOT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/cat.h"
#include "cpqd/import.h"
#include "cpqd/solver.h"
#include "testutil.h"

#define DATA "tests/data/import"

/* ---- helpers ---- */

static char *shared_path(const char *rel)
{
    const char *s = getenv("CPQD_SHARED");
    return tu_fmt("%s/configbench/%s", s && *s ? s : "../shared", rel);
}

/* Every error of errs, formatted and joined by newlines (malloc'ed). */
static char *errs_text(cpqd_errs *e)
{
    char *all = tu_fmt("%s", "");
    errs_sort(e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        char *n = tu_fmt("%s%s\n", all, m);
        free(all);
        free(m);
        all = n;
    }
    return all;
}

/* Imports inputs into dir/out.yaml, expecting success; returns the path. */
static char *import_ok(import_format f, const char *const *inputs, size_t n, const char *dir,
                       const char *id, import_stats *st)
{
    char *out = tu_fmt("%s/out.yaml", dir);
    import_opts o = {id, out};
    cpqd_errs *e = errs_new();
    int rc = import_run(f, inputs, n, &o, e, st);
    if (rc != 0 || errs_count(e) != 0) {
        char *t = errs_text(e);
        fail_msg("import failed (%d):\n%s", rc, t);
    }
    errs_free(e);
    return out;
}

static cat_snapshot *load_ok(const char *path)
{
    cpqd_errs *e = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(path, NULL, e);
    if (!s || errs_count(e)) {
        char *t = errs_text(e);
        fail_msg("%s does not load:\n%s", path, t);
    }
    errs_free(e);
    return s;
}

static const cat_product *only_product(const cat_snapshot *s)
{
    assert_int_equal(cat_snapshot_catalog_count(s), 1);
    assert_int_equal(cat_snapshot_product_count(s), 1);
    return cat_snapshot_product_at(s, 0);
}

static const cat_attr *attr_at(const cat_product *p, size_t i, const char *id)
{
    assert_true(i < p->nattrs);
    assert_string_equal(p->attrs[i].attr->id, id);
    return p->attrs[i].attr;
}

/* Asserts an enum attribute's values, "a,b,c". */
static void expect_values(const cat_attr *a, const char *csv)
{
    char buf[512] = "";
    assert_int_equal(a->type, CAT_ATTR_ENUM);
    for (size_t i = 0; i < a->nvalues; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", a->values[i].id);
        assert_string_equal(a->values[i].id, a->values[i].name);
    }
    assert_string_equal(buf, csv);
}

/* A table's vars and rows as "vars|row;row" with cells joined by ','. */
static void expect_table(const cat_constraint *c, const char *id, bool forbidden, const char *want)
{
    char buf[1024] = "";
    assert_string_equal(c->id, id);
    assert_int_equal(c->kind, CAT_CON_TABLE);
    assert_int_equal(c->forbidden, forbidden);
    for (size_t k = 0; k < c->nvars; k++) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? "," : "", c->vars[k]);
    }
    for (size_t r = 0; r < c->nrows; r++)
        for (size_t k = 0; k < c->nvars; k++) {
            size_t n = strlen(buf);
            snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? "," : r ? ";" : "|",
                     c->cells[r * c->nvars + k]);
        }
    assert_string_equal(buf, want);
}

/* An excludes constraint's literals as "path=value,path=value". */
static void expect_excludes(const cat_constraint *c, const char *id, const char *want)
{
    char buf[512] = "";
    assert_string_equal(c->id, id);
    assert_int_equal(c->kind, CAT_CON_EXCLUDES);
    for (size_t i = 0; i < c->nlits; i++) {
        size_t n = strlen(buf);
        assert_int_equal(c->lits[i].op, CAT_LIT_EQ);
        assert_int_equal(c->lits[i].nvalues, 1);
        snprintf(buf + n, sizeof(buf) - n, "%s%s=%s", i ? "," : "", c->lits[i].path,
                 c->lits[i].values[0]);
    }
    assert_string_equal(buf, want);
}

/* Imports expecting failure: the error text must contain want, and no
 * output file (nor temporary) may be left. */
static void expect_import_error(import_format f, const char *const *inputs, size_t n,
                                const char *want)
{
    char *dir = tu_tmpdir();
    char *out = tu_fmt("%s/out.yaml", dir);
    import_opts o = {NULL, out};
    cpqd_errs *e = errs_new();
    int rc = import_run(f, inputs, n, &o, e, NULL);
    char *t = errs_text(e);
    assert_int_equal(rc, CPQD_EINVAL);
    if (!strstr(t, want))
        fail_msg("expected error\n  %s\nin\n%s", want, t);
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            fail_msg("import left %s behind", de->d_name);
    closedir(d);
    free(t);
    errs_free(e);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void expect_error_in(import_format f, const char *rel, const char *want)
{
    const char *in[] = {rel};
    expect_import_error(f, in, 1, want);
}

/* Writes text to a temporary file name and expects the import of it to
 * fail with want ("FILE" in want stands for the file's path). */
static void expect_error_text(import_format f, const char *name, const char *text,
                              const char *want)
{
    char *dir = tu_tmpdir();
    char *path = tu_fmt("%s/%s", dir, name);
    assert_int_equal(tu_write(dir, name, text), 0);
    char *w = tu_fmt("%s%s", strncmp(want, "FILE", 4) == 0 ? path : "",
                     strncmp(want, "FILE", 4) == 0 ? want + 4 : want);
    const char *in[] = {path};
    expect_import_error(f, in, 1, w);
    free(w);
    free(path);
    tu_rm_tree(dir);
    free(dir);
}

/* ---- XCSP ---- */

static void test_import_xcsp_small_exact(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *in[] = {DATA "/xcsp/small.xml"};
    import_stats st;
    char *out = import_ok(IMPORT_XCSP, in, 1, dir, NULL, &st);
    assert_int_equal(st.attributes, 4);
    assert_int_equal(st.constraints, 3);
    assert_int_equal(st.rows, 6);
    cat_snapshot *s = load_ok(out);
    const cat_catalog *c = cat_snapshot_catalog_at(s, 0);
    assert_string_equal(c->id, "small");
    const cat_product *p = only_product(s);
    assert_string_equal(p->sku, "SMALL");
    assert_string_equal(p->name, "tiny");
    assert_int_equal(p->delivery.mode, CAT_MODE_GOODS);
    assert_int_equal(p->nattrs, 4);
    expect_values(attr_at(p, 0, "a"), "0,1,2");
    expect_values(attr_at(p, 1, "b"), "0,1,2");
    /* the joker -1 is an ordinary value; {-1, 1} is exactly -1..1 by 2 */
    const cat_attr *j = attr_at(p, 2, "opt_1");
    assert_int_equal(j->type, CAT_ATTR_INTEGER);
    assert_int_equal(j->min.coef, -1);
    assert_int_equal(j->max.coef, 1);
    assert_true(j->has_step);
    assert_int_equal(j->step.coef, 2);
    const cat_attr *h = attr_at(p, 3, "h");
    assert_int_equal(h->type, CAT_ATTR_INTEGER);
    assert_int_equal(h->min.coef, -1);
    assert_int_equal(h->max.coef, 3);
    assert_false(h->has_step);
    assert_int_equal(p->nconstraints, 4);
    expect_table(&p->constraints[0], "c1", false, "@a,@b|0,1;1,2;2,0");
    expect_table(&p->constraints[1], "no_joker_with_b_2", true, "@b,@opt_1|2,-1");
    expect_table(&p->constraints[2], "c3", false, "@a,@opt_1,@h|0,-1,3;1,1,-1");
    /* -1, 0, 3 within -1..3: the holes are closed by a one-column table */
    expect_table(&p->constraints[3], "h-domain", false, "@h|-1;0;3");
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void test_import_xcsp_malformed_xml(void **state)
{
    (void)state;
    expect_error_in(IMPORT_XCSP, DATA "/xcsp/bad_malformed.xml",
                    DATA "/xcsp/bad_malformed.xml:8:14: malformed XML: Opening and ending tag "
                         "mismatch: variable line 7 and variables");
}

static void test_import_xcsp_unknown_variable(void **state)
{
    (void)state;
    expect_error_in(IMPORT_XCSP, DATA "/xcsp/bad_unknown_var.xml",
                    DATA "/xcsp/bad_unknown_var.xml:14:1: constraint 'c': unknown variable 'zz'");
}

static void test_import_xcsp_value_outside_domain(void **state)
{
    (void)state;
    expect_error_in(IMPORT_XCSP, DATA "/xcsp/bad_value.xml",
                    DATA "/xcsp/bad_value.xml:14:1: relation 'R' used by constraint 'c': value 7 "
                         "is not in the domain of variable 'b'");
}

static void test_import_xcsp_unsupported_parts(void **state)
{
    (void)state;
    static const char head[] =
        "<instance>\n<domains><domain name=\"D\" nbValues=\"2\">0 1</domain></domains>\n"
        "<variables><variable name=\"a\" domain=\"D\"/><variable name=\"b\" domain=\"D\"/>"
        "</variables>\n";
    char *soft = tu_fmt("%s<relations><relation name=\"R\" arity=\"2\" semantics=\"soft\">0 1"
                        "</relation></relations>\n</instance>\n", head);
    expect_error_text(IMPORT_XCSP, "soft.xml", soft,
                      "FILE:4:1: relation 'R': semantics 'soft' is not supported");
    char *pred = tu_fmt("%s<constraints><constraint name=\"c\" arity=\"2\" scope=\"a b\" "
                        "reference=\"global:alldifferent\"/></constraints>\n</instance>\n", head);
    expect_error_text(IMPORT_XCSP, "pred.xml", pred,
                      "FILE:4:1: constraint 'c': reference 'global:alldifferent' is a global "
                      "constraint");
    char *arity = tu_fmt("%s<relations><relation name=\"R\" arity=\"2\" semantics=\"supports\">"
                         "0 1|1</relation></relations>\n</instance>\n", head);
    expect_error_text(IMPORT_XCSP, "arity.xml", arity,
                      "FILE:4:1: relation 'R': tuple 2 has 1 values, arity is 2");
    expect_error_text(IMPORT_XCSP, "root.xml", "<csp/>\n",
                      "FILE:1:1: the root element must be <instance>");
    free(soft);
    free(pred);
    free(arity);
}

/* ---- CLib ---- */

static void test_import_clib_directory_exact(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *in[] = {DATA "/clib/good"};
    import_stats st;
    char *out = import_ok(IMPORT_CLIB, in, 1, dir, "clib-test", &st);
    assert_int_equal(st.rows, 4);
    cat_snapshot *s = load_ok(out);
    assert_string_equal(cat_snapshot_catalog_at(s, 0)->id, "clib-test");
    const cat_product *p = only_product(s);
    assert_string_equal(p->sku, "CLIB-TEST");
    assert_int_equal(p->nattrs, 4);
    expect_values(attr_at(p, 0, "Var1"), "B64,D64,S64");
    expect_values(attr_at(p, 1, "Var2"), "E0,E1");
    expect_values(attr_at(p, 2, "Var3"), "CPLN");
    expect_values(attr_at(p, 3, "Var10"), "M5,M6");
    assert_int_equal(p->nconstraints, 2);
    expect_table(&p->constraints[0], "001", false, "@Var1,@Var2|B64,E0;S64,E1");
    /* the scope comes from the first tuple; the second lists it in another order */
    expect_table(&p->constraints[1], "002", false, "@Var10,@Var1,@Var3|M5,D64,CPLN;M6,S64,CPLN");
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void test_import_clib_files_in_argument_order(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *in[] = {DATA "/clib/good/002.pm", DATA "/clib/good/domains.txt",
                        DATA "/clib/good/001.pm"};
    char *out = import_ok(IMPORT_CLIB, in, 3, dir, NULL, NULL);
    cat_snapshot *s = load_ok(out);
    const cat_product *p = only_product(s);
    assert_string_equal(p->sku, "002");
    assert_int_equal(p->nconstraints, 2);
    assert_string_equal(p->constraints[0].id, "002");
    assert_string_equal(p->constraints[1].id, "001");
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void test_import_clib_unknown_variable_in_tuple(void **state)
{
    (void)state;
    expect_error_in(IMPORT_CLIB, DATA "/clib/bad_var",
                    DATA "/clib/bad_var/001.pm:3:17: unknown variable 'Var9' (not in the domains "
                         "file)");
}

static void test_import_clib_value_outside_domain(void **state)
{
    (void)state;
    expect_error_in(IMPORT_CLIB, DATA "/clib/bad_value",
                    DATA "/clib/bad_value/001.pm:3:17: value 'E7' is not in the domain of Var2");
}

static void test_import_clib_needs_one_domains_file(void **state)
{
    (void)state;
    const char *in[] = {DATA "/clib/good/001.pm"};
    expect_import_error(IMPORT_CLIB, in, 1, "no domains file (domains.txt) given");
    char *dir = tu_tmpdir();
    assert_int_equal(tu_write(dir, "domains.txt", "Var1 : A, B, A\nVar2\n"), 0);
    assert_int_equal(tu_write(dir, "001.pm", "Var1 = A\n"), 0);
    const char *d[] = {dir};
    char *want = tu_fmt("%s/domains.txt:1:14: value 'A' listed twice for Var1\n"
                        "%s/domains.txt:2:1: expected 'VARIABLE : value, value, ...'",
                        dir, dir);
    expect_import_error(IMPORT_CLIB, d, 1, want);
    free(want);
    tu_rm_tree(dir);
    free(dir);
}

/* Names that sanitize to one id get "_2", "_3", ... after that id, never
 * after an earlier candidate (found by tests/fuzz/fuzz_clib: the third
 * copy read past the id and came out as the first one again). */
static void test_import_ids_made_unique_from_the_base_id(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    assert_int_equal(tu_write(dir, "domains.txt", "a! : X\na? : X\na# : X\na$ : X, Y\n"), 0);
    assert_int_equal(tu_write(dir, "001.pm", "a! = X  and a$ = Y\n"), 0);
    char *out_dir = tu_tmpdir();
    const char *in[] = {dir};
    char *out = import_ok(IMPORT_CLIB, in, 1, out_dir, "ids", NULL);
    cat_snapshot *s = load_ok(out);
    const cat_product *p = only_product(s);
    assert_int_equal(p->nattrs, 4);
    assert_string_equal(attr_at(p, 0, "a_")->name, "a!");
    assert_string_equal(attr_at(p, 1, "a__2")->name, "a?");
    assert_string_equal(attr_at(p, 2, "a__3")->name, "a#");
    assert_string_equal(attr_at(p, 3, "a__4")->name, "a$");
    cat_snapshot_release(s);
    tu_rm_tree(out_dir);
    tu_rm_tree(dir);
    free(out_dir);
    free(dir);
    free(out);
}

/* ---- DIMACS ---- */

static void test_import_dimacs_small_exact(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *in[] = {DATA "/dimacs/small.dimacs"};
    import_stats st;
    char *out = import_ok(IMPORT_DIMACS, in, 1, dir, NULL, &st);
    assert_int_equal(st.attributes, 5);
    assert_int_equal(st.constraints, 4);
    assert_int_equal(st.rows, 10);
    cat_snapshot *s = load_ok(out);
    const cat_product *p = only_product(s);
    /* ids from the comments' names, made valid and unique; names kept */
    const char *ids[] = {"Root", "x_Hidden", "Feature_A", "x4", "Feature_A_2"};
    const char *names[] = {"Root", "_Hidden", "Feature A", "x4", "Feature A"};
    assert_int_equal(p->nattrs, 5);
    for (size_t i = 0; i < 5; i++) {
        expect_values(attr_at(p, i, ids[i]), "0,1");
        assert_string_equal(p->attrs[i].attr->name, names[i]);
    }
    assert_int_equal(p->nconstraints, 4);
    /* a clause l1 | ... | lk is "not all of the negated literals" */
    expect_excludes(&p->constraints[0], "c1", "@Root=0");
    expect_excludes(&p->constraints[1], "c2", "@x_Hidden=1,@Feature_A=0");
    expect_excludes(&p->constraints[2], "c3", "@Root=1,@Feature_A=1,@x4=0");
    expect_excludes(&p->constraints[3], "c4",
                    "@x_Hidden=0,@x4=1,@Feature_A_2=0,@Feature_A_2=1");
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void test_import_dimacs_bad_header(void **state)
{
    (void)state;
    expect_error_in(IMPORT_DIMACS, DATA "/dimacs/bad_header.dimacs",
                    DATA "/dimacs/bad_header.dimacs:2:1: bad DIMACS header 'p cnf x 2' (expected "
                         "'p cnf VARIABLES CLAUSES')");
    expect_error_text(IMPORT_DIMACS, "none.cnf", "c 1 a\n1 0\n",
                      "FILE:2:1: clause before the 'p cnf' header");
    /* a header alone declares the variables, each an attribute: 7,777,772
     * of them took 6.5 GB and 40 s to import (fuzz_dimacs: out of memory) */
    expect_error_text(IMPORT_DIMACS, "huge.cnf", "c 1 A\np cnf 200001 0\n",
                      "FILE:2:1: the header declares 200001 variables, more than an import "
                      "takes (200000)");
}

static void test_import_dimacs_literal_out_of_range(void **state)
{
    (void)state;
    expect_error_in(IMPORT_DIMACS, DATA "/dimacs/bad_literal.dimacs",
                    DATA "/dimacs/bad_literal.dimacs:5:3: literal -3 is out of range (the header "
                         "declares 2 variables)");
}

static void test_import_dimacs_clause_errors(void **state)
{
    (void)state;
    expect_error_text(IMPORT_DIMACS, "empty.cnf", "p cnf 2 2\n1 2 0\n0\n",
                      "FILE:3:1: empty clause (the formula is unsatisfiable)");
    expect_error_text(IMPORT_DIMACS, "count.cnf", "p cnf 2 3\n1 2 0\n-1 0\n",
                      "FILE:1:1: the header declares 3 clauses but the file has 2");
    expect_error_text(IMPORT_DIMACS, "open.cnf", "p cnf 2 2\n1 2 0\n-1 2\n",
                      "FILE:3:1: the last clause is not terminated by 0");
    expect_error_text(IMPORT_DIMACS, "token.cnf", "p cnf 2 1\n1 x2 0\n",
                      "FILE:2:3: 'x2' is not a literal");
}

/* ---- options, CLI, loader ---- */

static void test_import_invalid_id_is_refused(void **state)
{
    (void)state;
    const char *in[] = {DATA "/dimacs/small.dimacs"};
    import_opts o = {"-bad id", NULL};
    cpqd_errs *e = errs_new();
    assert_int_equal(import_run(IMPORT_DIMACS, in, 1, &o, e, NULL), CPQD_EINVAL);
    char *t = errs_text(e);
    assert_non_null(strstr(t, "invalid --id '-bad id'"));
    free(t);
    errs_free(e);
}

static void test_import_cli_exit_codes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out = tu_fmt("%s/x.yaml", dir), *o = NULL, *er = NULL;
    const char *ok[] = {"import", "dimacs", DATA "/dimacs/small.dimacs", "-o", out, NULL};
    assert_int_equal(tu_run(ok, &o, &er), 0);
    assert_non_null(strstr(er, "imported 5 attributes, 4 constraints (10 literals)"));
    free(o);
    free(er);
    const char *check[] = {"check", out, NULL};
    assert_int_equal(tu_run(check, &o, &er), 0);
    free(o);
    free(er);
    unlink(out);
    const char *bad[] = {"import", "dimacs", DATA "/dimacs/bad_literal.dimacs", "-o", out, NULL};
    assert_int_equal(tu_run(bad, &o, &er), 1);
    assert_non_null(strstr(er, DATA "/dimacs/bad_literal.dimacs:5:3: literal -3"));
    assert_non_null(strstr(er, "nothing written"));
    assert_int_not_equal(access(out, F_OK), 0);
    free(o);
    free(er);
    const char *usage[] = {"import", "sat", "x.cnf", NULL};
    assert_int_equal(tu_run(usage, &o, &er), 2);
    assert_non_null(strstr(er, "FORMAT must be xcsp, clib or dimacs"));
    free(o);
    free(er);
    tu_rm_tree(dir);
    free(dir);
    free(out);
}

static void test_loader_excludes_one_literal_but_not_none(void **state)
{
    (void)state;
    static const char cat[] =
        "catalog: {id: t, version: \"1\", name: t, currency: EUR, timezone: UTC,\n"
        "          tax: {prices_include_tax: false, classes: {standard: \"0\"}}}\n"
        "attributes:\n"
        "  - {id: a, name: a, type: enum, values: [{id: \"0\", name: \"0\"}, {id: \"1\", "
        "name: \"1\"}]}\n"
        "products:\n"
        "  - sku: T\n    name: t\n    category: c\n    delivery: {mode: goods}\n"
        "    attributes: [{ref: a}]\n"
        "    constraints:\n"
        "      - {id: one, excludes: [\"@a = 0\"]}\n"
        "      - {id: none, excludes: []}\n";
    char *dir = tu_tmpdir();
    char *path = tu_fmt("%s/t.yaml", dir);
    assert_int_equal(tu_write(dir, "t.yaml", cat), 0);
    cpqd_errs *e = errs_new();
    assert_null(cat_snapshot_load_path(path, NULL, e));
    char *t = errs_text(e);
    char *want = tu_fmt("%s:13:30: excludes needs at least one literal\n", path);
    assert_string_equal(t, want);
    free(want);
    free(t);
    errs_free(e);
    free(path);
    tu_rm_tree(dir);
    free(dir);
}

/* ---- the real benchmarks ---- */

typedef struct bench_case {
    import_format f;
    const char *rel; /* under configbench/ */
    size_t attrs, cons, rows;
} bench_case;

static const bench_case benches[] = {
    {IMPORT_XCSP, "renault_fargier/medium_domainsorted.xml", 148, 174, 9532},
    {IMPORT_XCSP, "renault_fargier/big_domainsorted.xml", 268, 332, 225989},
    {IMPORT_CLIB, "clib_renault_partial", 99, 111, 112680},
    {IMPORT_DIMACS, "featuremodels/automotive01_Kowal2016.dimacs", 2513, 10300, 0},
    {IMPORT_DIMACS, "featuremodels/automotive02_v1_Knueppel2017.dimacs", 14010, 237685, 0},
    {IMPORT_DIMACS, "featuremodels/erp_system_Pereira2016.dimacs", 1920, 61362, 0},
    {IMPORT_DIMACS, "featuremodels/busybox_1.18.0_Knueppel2017.dimacs", 854, 1163, 0},
    {IMPORT_DIMACS, "featuremodels/ecos_ea2468_Knueppel2017.dimacs", 1408, 2808, 0},
    {IMPORT_DIMACS, "featuremodels/embtoolkit_Knueppel2017.dimacs", 1179, 5414, 0},
    {IMPORT_DIMACS, "featuremodels/linux_2.6.33.3_Knueppel2017.dimacs", 6467, 40121, 0},
    {IMPORT_DIMACS, "featuremodels/freebsd_8.0.0_AlHajjaji2019.dimacs", 1397, 15692, 0},
    {IMPORT_DIMACS, "featuremodels/financialservices01_2018-05-09_Nieke2018.dimacs", 771, 7238, 0},
    {IMPORT_DIMACS, "featuremodels/pc-richmond_Sprey2020.dimacs", 377, 1356, 0},
    {IMPORT_DIMACS, "featuremodels/printer_Mendonca2009.dimacs", 172, 309, 0},
};

static bool have_configbench(void)
{
    char *p = shared_path("README.md");
    bool ok = access(p, R_OK) == 0;
    free(p);
    return ok;
}

/* Imports one benchmark into dir and loads it (caller releases). */
static cat_snapshot *bench_load(const bench_case *b, const char *dir)
{
    char *in = shared_path(b->rel);
    const char *inputs[] = {in};
    import_stats st;
    char *out = import_ok(b->f, inputs, 1, dir, NULL, &st);
    assert_int_equal(st.attributes, b->attrs);
    assert_int_equal(st.constraints, b->cons);
    if (b->rows)
        assert_int_equal(st.rows, b->rows);
    cat_snapshot *s = load_ok(out);
    const cat_product *p = only_product(s);
    assert_int_equal(p->nattrs, b->attrs);
    assert_int_equal(p->nconstraints, b->cons);
    free(in);
    free(out);
    return s;
}

static void test_import_configbench_all_load_with_readme_counts(void **state)
{
    (void)state;
    if (!have_configbench())
        skip();
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        char *dir = tu_tmpdir();
        cat_snapshot *s = bench_load(&benches[i], dir);
        cat_snapshot_release(s);
        tu_rm_tree(dir);
        free(dir);
    }
}

/* ---- known facts (configurator engine) ---- */

typedef struct root_domains {
    size_t values, valid, singletons;
    char dead[256]; /* "v14=4 v18=3 ..." (first ones) */
} root_domains;

/* Valid domains with no choice made. */
static void root_valid(const cat_product *p, root_domains *out)
{
    cpqd_errs *e = errs_new();
    solver_model *m = solver_model_build(p, e);
    if (!m) {
        char *t = errs_text(e);
        fail_msg("model does not build:\n%s", t);
    }
    solver_ctx *c = solver_ctx_new();
    solver_result r;
    assert_int_equal(solver_configure(c, m, NULL, 0, SOLVER_EXPLAIN_NONE, &r), 0);
    assert_true(r.consistent);
    memset(out, 0, sizeof(*out));
    for (size_t v = 0; v < solver_var_count(m); v++) {
        const solver_var *sv = solver_var_at(m, v);
        size_t n = sv->nvalues - (sv->has_other ? 1 : 0), valid = 0;
        for (size_t k = 0; k < n; k++) {
            bool ok = r.values[v][k].state != SOLVER_EXCLUDED;
            valid += ok;
            size_t len = strlen(out->dead);
            if (!ok && len < sizeof(out->dead) - 40)
                snprintf(out->dead + len, sizeof(out->dead) - len, "%s%s=%s", len ? " " : "",
                         sv->path + 1, sv->values[k]);
        }
        out->values += n;
        out->valid += valid;
        out->singletons += valid == 1;
    }
    solver_result_fini(&r);
    solver_ctx_free(c);
    solver_model_free(m);
    errs_free(e);
}

static void expect_root(size_t bench, size_t values, size_t valid, size_t singletons,
                        const char *dead)
{
    if (!have_configbench())
        skip();
    char *dir = tu_tmpdir();
    cat_snapshot *s = bench_load(&benches[bench], dir);
    root_domains d;
    root_valid(only_product(s), &d);
    if (values)
        assert_int_equal(d.values, values);
    if (valid)
        assert_int_equal(d.valid, valid);
    if (singletons != SIZE_MAX)
        assert_int_equal(d.singletons, singletons);
    if (dead)
        assert_string_equal(d.dead, dead);
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
}

static void test_fact_renault_medium_root_421_of_426(void **state)
{
    (void)state;
    expect_root(0, 426, 421, SIZE_MAX, "v14=4 v18=3 v18=8 v18=15 v18=16");
}

/* A sample of the real Renault sales (the first 25 of 8,252; make bench
 * replays them all): each customer's choices, made one by one in the
 * file's column order, are each still possible when they are made. */
static void test_replay_renault_medium_sales_sample(void **state)
{
    (void)state;
    if (!have_configbench())
        skip();
    char *dir = tu_tmpdir();
    cat_snapshot *s = bench_load(&benches[0], dir);
    cpqd_errs *e = errs_new();
    solver_model *m = solver_model_build(only_product(s), e);
    assert_non_null(m);
    solver_ctx *c = solver_ctx_new();
    char *path = shared_path("renault_fargier/config_medium_filtered.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL, *hdr[128];
    size_t cap = 0, nh = 0, rows = 0, steps = 0;
    assert_true(getline(&line, &cap, f) > 0);
    for (char *t = strtok(line, " \t\r\n"); t && nh < 128; t = strtok(NULL, " \t\r\n")) {
        hdr[nh] = tu_fmt("@%s", t);
        nh++;
    }
    assert_int_equal(nh, 44);
    solver_choice ch[128];
    while (rows < 25 && getline(&line, &cap, f) > 0) {
        size_t n = 0;
        for (char *t = strtok(line, " \t\r\n"); t && n < nh; t = strtok(NULL, " \t\r\n")) {
            size_t var = solver_var_find(m, hdr[n], strlen(hdr[n]));
            assert_true(var != SIZE_MAX);
            const char *why = NULL;
            size_t val = solver_value_find(m, var, t, strlen(t), &why);
            assert_true(val != SIZE_MAX);
            solver_result r;
            assert_int_equal(solver_configure(c, m, ch, n, SOLVER_EXPLAIN_NONE, &r), 0);
            assert_true(r.consistent);
            if (r.values[var][val].state == SOLVER_EXCLUDED)
                fail_msg("row %zu: %s = %s excluded after %zu choices", rows + 1, hdr[n], t, n);
            solver_result_fini(&r);
            ch[n++] = (solver_choice){.var = var, .value = val};
            steps++;
        }
        assert_int_equal(n, nh);
        rows++;
    }
    assert_int_equal(rows, 25);
    assert_int_equal(steps, 25 * 44);
    fclose(f);
    free(line);
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    free(path);
    solver_ctx_free(c);
    solver_model_free(m);
    errs_free(e);
    cat_snapshot_release(s);
    tu_rm_tree(dir);
    free(dir);
}

static void test_fact_renault_big_root_all_1273_valid(void **state)
{
    (void)state;
    expect_root(1, 1273, 1273, SIZE_MAX, "");
}

/* README: 392/396 valid, 7 variables fixed (6 singleton domains, Var8
 * forced to CPLN). */
static void test_fact_clib_renault_root_392_of_396(void **state)
{
    (void)state;
    expect_root(2, 396, 392, 7, NULL);
}

/* README table: singletons (= core + dead features) of each model.
 * Linux (456, ~8 s) and Automotive02 (1,402, ~3.5 min) are checked by
 * tests/bench/bench_config --root instead (make bench runs Linux). */
static void test_fact_feature_models_core_plus_dead(void **state)
{
    (void)state;
    static const size_t want[][2] = {
        {3, 295}, {5, 1}, {6, 41}, {7, 132}, {8, 327}, {10, 42}, {11, 22}, {12, 9}, {13, 49},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        long long t0 = tu_now_ms();
        expect_root(want[i][0], 2 * benches[want[i][0]].attrs, 0, want[i][1], NULL);
        fprintf(stderr, "  %s: %zu singletons, %lld ms\n", benches[want[i][0]].rel, want[i][1],
                tu_now_ms() - t0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_xcsp_small_exact),
        cmocka_unit_test(test_import_xcsp_malformed_xml),
        cmocka_unit_test(test_import_xcsp_unknown_variable),
        cmocka_unit_test(test_import_xcsp_value_outside_domain),
        cmocka_unit_test(test_import_xcsp_unsupported_parts),
        cmocka_unit_test(test_import_clib_directory_exact),
        cmocka_unit_test(test_import_clib_files_in_argument_order),
        cmocka_unit_test(test_import_clib_unknown_variable_in_tuple),
        cmocka_unit_test(test_import_clib_value_outside_domain),
        cmocka_unit_test(test_import_clib_needs_one_domains_file),
        cmocka_unit_test(test_import_ids_made_unique_from_the_base_id),
        cmocka_unit_test(test_import_dimacs_small_exact),
        cmocka_unit_test(test_import_dimacs_bad_header),
        cmocka_unit_test(test_import_dimacs_literal_out_of_range),
        cmocka_unit_test(test_import_dimacs_clause_errors),
        cmocka_unit_test(test_import_invalid_id_is_refused),
        cmocka_unit_test(test_import_cli_exit_codes),
        cmocka_unit_test(test_loader_excludes_one_literal_but_not_none),
        cmocka_unit_test(test_import_configbench_all_load_with_readme_counts),
        cmocka_unit_test(test_fact_renault_medium_root_421_of_426),
        cmocka_unit_test(test_replay_renault_medium_sales_sample),
        cmocka_unit_test(test_fact_renault_big_root_all_1273_valid),
        cmocka_unit_test(test_fact_clib_renault_root_392_of_396),
        cmocka_unit_test(test_fact_feature_models_core_plus_dead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
