/*
 * CLI tests: run the real `cpqd` binary (tests/testutil.h) and check exit
 * codes and output: `check` summaries and sorted file:line:col errors,
 * usage errors (exit 2, usage on stderr), help and version; then the
 * command-line module itself in process (cli_args_parse, cli_errs_print).
 */
/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/cli.h"
#include "testutil.h"

#include <fcntl.h>
#include <unistd.h>

typedef struct run {
    int status;
    char *out, *err;
} run;

static run cpqd(const char *const *argv)
{
    run r = {0, NULL, NULL};
    r.status = tu_run(argv, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* A usage error: exit 2, nothing on stdout, why and the usage on stderr. */
static void assert_usage_error(const char *const *argv, const char *why)
{
    run r = cpqd(argv);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    if (!strstr(r.err, why))
        fail_msg("expected '%s' in stderr:\n%s", why, r.err);
    assert_non_null(strstr(r.err, "usage: cpqd <command> [options]"));
    run_free(&r);
}

/* "ok: 2 catalogs, 18 products, version <64 hex>\n" */
static void assert_ok_line(const char *s, const char *suffix)
{
    static const char head[] = "ok: 2 catalogs, 18 products, version ";
    assert_true(strncmp(s, head, sizeof(head) - 1) == 0);
    const char *v = s + sizeof(head) - 1;
    for (int i = 0; i < 64; i++)
        assert_true((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'));
    assert_string_equal(v + 64, suffix);
}

static void test_cli_check_ok_prints_one_summary_line(void **state)
{
    (void)state;
    char *cats = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    const char *argv[] = {"check", cats, "--rules", rules, NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 0);
    assert_ok_line(r.out, "\n");
    assert_string_equal(r.err, "");
    run_free(&r);
    /* --flag=value works too */
    char *eq = tu_fmt("--rules=%s", rules);
    const char *argv2[] = {"check", eq, cats, NULL};
    r = cpqd(argv2);
    assert_int_equal(r.status, 0);
    assert_ok_line(r.out, "\n");
    run_free(&r);
    free(eq);
    free(cats);
    free(rules);
}

static void test_cli_check_names_each_of_several_paths(void **state)
{
    (void)state;
    char *cats = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    const char *argv[] = {"check", cats, cats, "--rules", rules, NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 0);
    char *suffix = tu_fmt(" (%s)\n", cats);
    char *second = strchr(r.out, '\n') + 1;
    second[-1] = '\0';
    char *first_suffix = tu_fmt(" (%s)", cats);
    assert_ok_line(r.out, first_suffix);
    assert_ok_line(second, suffix);
    run_free(&r);
    free(suffix);
    free(first_suffix);
    free(cats);
    free(rules);
}

static void test_cli_check_prints_every_error_sorted_and_fails(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *src = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    char *cats = tu_fmt("%s/catalogs", dir);
    char *broken = tu_path("tests/data/e2e/reload/broken.yaml");
    char *dst = tu_fmt("%s/extra.yaml", cats);
    assert_int_equal(tu_copy_tree(src, cats), 0);
    assert_int_equal(tu_copy_file(broken, dst), 0);
    const char *argv[] = {"check", cats, "--rules", rules, NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    /* line 1: 14:5, line 2: 15:22 (sorted by position), then the summary */
    char *l1 = tu_fmt("%s:14:5: unknown key 'colour' in product", dst);
    char *l2 = tu_fmt("%s:15:22: delivery mode must be", dst);
    char *nl1 = strchr(r.err, '\n');
    assert_non_null(nl1);
    char *nl2 = strchr(nl1 + 1, '\n');
    assert_non_null(nl2);
    assert_true(strncmp(r.err, l1, strlen(l1)) == 0);
    assert_true(strncmp(nl1 + 1, l2, strlen(l2)) == 0);
    assert_string_equal(nl2 + 1, "check failed: 2 errors in 1 of 1 path\n");
    run_free(&r);
    free(l1);
    free(l2);
    free(dst);
    free(broken);
    free(cats);
    free(src);
    free(rules);
    tu_rm_tree(dir);
    free(dir);
}

/* `check` runs every formula and limit rule on a sample line of the
 * products it applies to: a rule that never ends, one that eats all its
 * memory and one with a runtime error each fail the check once, at their
 * file:line, naming the sample; the rules that work and the product no
 * book prices add nothing. */
static void test_cli_check_runs_every_rule_on_a_sample(void **state)
{
    (void)state;
    char *cats = tu_path("tests/data/check_rules/catalogs");
    char *rules = tu_path("tests/data/check_rules/rules");
    const char *argv[] = {"check", cats, "--rules", rules, NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    /* check runs with the production limits: on a loaded machine the 50 ms
     * deadline may trip before the instruction budget; either way the
     * rule never ends, at the same line */
    static const char cpu[] = "ERR_CPU instruction budget exceeded";
    static const char tim[] = "ERR_TIME CPU-time deadline exceeded";
    char *at = strstr(r.err, tim);
    if (at) {
        memmove(at + strlen(cpu), at + strlen(tim), strlen(at + strlen(tim)) + 1);
        memcpy(at, cpu, strlen(cpu));
    }
    char *want = tu_fmt(
        "%s/runfail/bomb.lua:4:0: ERR_MEM memory limit exceeded (formula of B-1 at "
        "%s/runfail.yaml:16:5, on a sample line of B-1: list 4999.00 CNY, quantity 1, "
        "2027-01-01; every price that runs it would fail)\n"
        "%s/runfail/boom.lua:3:0: ERR_RUNTIME attempt to index a nil value (field 'line') (limit "
        "of promotion fans-fail at %s/runfail.yaml:37:5, on a sample line of F-1: list 99.00 "
        "CNY, quantity 1, 2027-02-01; every price that runs it would fail)\n"
        "%s/runfail/spin.lua:3:0: ERR_CPU instruction budget exceeded (formula of H-1 at "
        "%s/runfail.yaml:22:5, on a sample line of H-1: list 199.00 CNY, quantity 1, "
        "2027-01-01; every price that runs it would fail)\n"
        "check failed: 3 errors in 1 of 1 path\n",
        rules, cats, rules, cats, rules, cats);
    assert_string_equal(r.err, want);
    run_free(&r);
    free(want);
    free(cats);
    free(rules);
}

/* The bundled sample catalogs pass `check`, sample evaluation included:
 * exit 0, one summary line, nothing on stderr but warnings. */
static void test_cli_check_sample_catalogs_are_clean(void **state)
{
    (void)state;
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *argv[] = {"check", cats, "--rules", rules, NULL};
    run r = cpqd(argv);
    if (r.status != 0)
        fail_msg("check catalogs: exit %d\n%s", r.status, r.err);
    assert_true(strncmp(r.out, "ok: 6 catalogs, 174 products, version ", 38) == 0);
    for (const char *l = r.err; *l; l = strchr(l, '\n') + 1) {
        if (strncmp(l, "warning: ", 9) != 0)
            fail_msg("not a warning on stderr: %.*s", (int)strcspn(l, "\n"), l);
        if (!strchr(l, '\n'))
            break;
    }
    run_free(&r);
    free(cats);
    free(rules);
}

/* `cpqd check` warns, at the price-book entry, about a ceiling that no
 * valid configuration of the product meets (tests/data/price/check: see
 * test_price.c), and still succeeds; the sample catalogs have none. */
static void test_cli_check_warns_about_unreachable_ceilings(void **state)
{
    (void)state;
    char *dir = tu_path("tests/data/price/check"), *rules = tu_path("tests/data/price/rules");
    const char *argv[] = {"check", dir, "--rules", rules, NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "ok: 1 catalogs, 11 products, version ", 37) == 0);
    char *w = tu_fmt("warning: %s/ceiling.yaml:207:9: M-TIGHT (%s/ceiling.yaml:30): no valid "
                     "configuration can be ordered within the ceiling 120.00 of book list",
                     dir, dir);
    if (!strstr(r.err, w))
        fail_msg("expected\n  %s\nin\n%s", w, r.err);
    assert_non_null(strstr(r.err, "ceiling.yaml:210:9: M-GOLD-ONLY ("));
    assert_non_null(strstr(r.err, "ceiling.yaml:212:9: M-GRADE-T ("));
    assert_null(strstr(r.err, "M-ROOM"));
    run_free(&r);
    free(w);
    char *cats = tu_path("catalogs"), *crules = tu_path("rules");
    const char *argv2[] = {"check", cats, "--rules", crules, NULL};
    r = cpqd(argv2);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.err, "no valid configuration can be ordered"));
    run_free(&r);
    free(cats);
    free(crules);
    free(dir);
    free(rules);
}

static void test_cli_check_missing_path_is_an_error(void **state)
{
    (void)state;
    const char *argv[] = {"check", "/nonexistent/cpqd-catalogs", NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "/nonexistent/cpqd-catalogs"));
    assert_non_null(strstr(r.err, "check failed: 1 error in 1 of 1 path\n"));
    run_free(&r);
}

static void test_cli_usage_errors_exit_2(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    assert_usage_error(none, "");
    const char *unknown[] = {"frobnicate", NULL};
    assert_usage_error(unknown, "cpqd: unknown command 'frobnicate'");
    const char *check_nopath[] = {"check", NULL};
    assert_usage_error(check_nopath, "cpqd check: no PATH given");
    const char *check_flag[] = {"check", "x", "--verbose", NULL};
    assert_usage_error(check_flag, "cpqd check: unknown flag '--verbose'");
    const char *needs[] = {"check", "x", "--rules", NULL};
    assert_usage_error(needs, "cpqd check: flag --rules needs a value");
    const char *serve_flag[] = {"serve",       "--catalogs", "c", "--listen",
                                "127.0.0.1:0", "--bogus",    "1", NULL};
    assert_usage_error(serve_flag, "cpqd serve: unknown flag '--bogus'");
    const char *serve_req[] = {"serve", "--catalogs", "c", NULL};
    assert_usage_error(serve_req, "cpqd serve: --catalogs and --listen are required");
    const char *serve_extra[] = {"serve", "--catalogs", "c", "--listen", "x:1", "more", NULL};
    assert_usage_error(serve_extra, "cpqd serve: unexpected argument 'more'");
    const char *version_extra[] = {"version", "now", NULL};
    assert_usage_error(version_extra, "");
    const char *help_unknown[] = {"help", "nothing", NULL};
    assert_usage_error(help_unknown, "");
    /* a long flag is never abbreviated, though getopt_long would */
    const char *abbrev[] = {"check", "x", "--rul", "r", NULL};
    assert_usage_error(abbrev, "cpqd check: unknown flag '--rul'");
    const char *health_two[] = {"health", "http://127.0.0.1:1", "more", NULL};
    assert_usage_error(health_two, "cpqd health: unexpected argument 'more'");
    const char *import_flag[] = {"import", "dimacs", "x.cnf", "--bogus", NULL};
    assert_usage_error(import_flag, "cpqd import: unknown flag '--bogus'");
    const char *import_o[] = {"import", "dimacs", "x.cnf", "-o", NULL};
    assert_usage_error(import_o, "cpqd import: flag -o needs a value");
}

static void test_cli_serve_rejects_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *flag, *value, *why;
    } bad[] = {
        {"--threads", "0", "cpqd serve: invalid --threads '0' (1 to 1024)"},
        {"--threads", "2x", "cpqd serve: invalid --threads '2x' (1 to 1024)"},
        {"--max-body", "-5", "cpqd serve: invalid --max-body '-5' (bytes, at least 1)"},
        {"--timeout", "0", "cpqd serve: invalid --timeout '0' (seconds, 1 to 86400)"},
        {"--log-level", "loud",
         "cpqd serve: invalid --log-level 'loud' (debug, info, warn or error)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"serve",       "--catalogs", "c",          "--listen",
                              "127.0.0.1:0", bad[i].flag,  bad[i].value, NULL};
        assert_usage_error(argv, bad[i].why);
    }
}

static void test_cli_serve_rejects_a_bad_listen_address(void **state)
{
    (void)state;
    char *cats = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    static const char *const addrs[] = {"localhost",    "127.0.0.1", "127.0.0.1:99999",
                                        "300.1.1.1:80", "[::1:80",   ":80"};
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        const char *argv[] = {"serve", "--catalogs", cats,     "--rules",
                              rules,   "--listen",   addrs[i], NULL};
        run r = cpqd(argv);
        char *want = tu_fmt("invalid listen address '%s'", addrs[i]);
        assert_int_equal(r.status, 1);
        if (!strstr(r.err, want))
            fail_msg("expected '%s' in:\n%s", want, r.err);
        free(want);
        run_free(&r);
    }
    free(cats);
    free(rules);
}

/* A database that cannot be opened stops serve with a clear error; a
 * password in a --db URL shows nowhere (the URL is shown redacted). */
static void test_cli_serve_db_error_hides_the_password(void **state)
{
    (void)state;
    char *cats = tu_path("tests/data/e2e/catalogs"), *rules = tu_path("tests/data/e2e/rules");
    /* port 1 on the loopback: refused at once */
    const char *argv[] = {"serve", "--catalogs", cats, "--rules", rules, "--listen", "127.0.0.1:0",
                          "--db", "postgresql://cpqd:s3cret-pw@127.0.0.1:1/cpqd", NULL};
    run r = cpqd(argv);
    assert_int_equal(r.status, 1);
    if (!strstr(r.err, "cannot open the database postgresql://cpqd:***@127.0.0.1:1/cpqd"))
        fail_msg("expected the redacted URL in:\n%s", r.err);
    assert_null(strstr(r.err, "s3cret"));
    assert_null(strstr(r.out, "s3cret"));
    run_free(&r);
    free(cats);
    free(rules);
}

static void test_cli_help_and_version(void **state)
{
    (void)state;
    const char *help[] = {"help", NULL};
    run r = cpqd(help);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    static const char *const names[] = {"cpqd serve --catalogs DIR --listen ADDR:PORT",
                                        "cpqd check PATH...", "cpqd version", "cpqd help"};
    for (size_t i = 0; i < 4; i++)
        assert_non_null(strstr(r.out, names[i]));
    run_free(&r);
    const char *help_check[] = {"help", "check", NULL};
    r = cpqd(help_check);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "cpqd check PATH... [--rules DIR]"));
    assert_null(strstr(r.out, "cpqd serve"));
    run_free(&r);
    const char *dash_h[] = {"--help", NULL};
    r = cpqd(dash_h);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "cpqd serve"));
    run_free(&r);
    const char *version[] = {"version", NULL};
    r = cpqd(version);
    int major = -1, minor = -1, patch = -1;
    char nl = 0;
    assert_int_equal(r.status, 0);
    assert_int_equal(sscanf(r.out, "cpqd %d.%d.%d%c", &major, &minor, &patch, &nl), 4);
    assert_int_equal(nl, '\n');
    assert_string_equal(r.err, "");
    run_free(&r);
}

/* `cpqd rule eval` runs one chunk in the production sandbox through the
 * real binary: class and value on stdout, exit 0 only when OK. */
static void test_cli_rule_eval(void **state)
{
    (void)state;
    const char *ok[] = {"rule", "eval", "rules/appliances/carry_up_fee.lua", "--input",
                        "{\"ctx\":{\"price\":{\"$dec\":\"1999.00\"},"
                        "\"attributes\":{\"delivery_floor\":7}}}",
                        NULL};
    run r = cpqd(ok);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "OK 2039.00\n");
    run_free(&r);
    char *dir = tu_tmpdir();
    assert_int_equal(tu_write(dir, "loop.lua", "while true do end\n"), 0);
    char *loop = tu_fmt("%s/loop.lua", dir);
    const char *cpu[] = {"rule", "eval", loop, NULL};
    r = cpqd(cpu);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "ERR_CPU instruction budget exceeded\n");
    run_free(&r);
    assert_int_equal(tu_write(dir, "float.lua", "return 0.1 + 0.2\n"), 0);
    char *flt = tu_fmt("%s/float.lua", dir);
    const char *fl[] = {"rule", "eval", flt, NULL};
    r = cpqd(fl);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "OK 0.3\n");
    run_free(&r);
    const char *bad_json[] = {"rule", "eval", loop, "--input", "{\"x\": 1.5}", NULL};
    r = cpqd(bad_json);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    run_free(&r);
    const char *no_sub[] = {"rule", NULL};
    assert_usage_error(no_sub, "cpqd rule eval FILE");
    tu_rm_tree(dir);
    free(flt);
    free(loop);
    free(dir);
}

/* A webhook secret file that cannot serve (missing, empty or only a
 * newline, larger than 4095 bytes, a directory) stops serve before
 * anything is opened or created, saying which and why. */
static void test_cli_serve_refuses_an_unusable_webhook_secret(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *cats = tu_path("tests/data/e2e/catalogs");
    char *big = malloc(4097);
    memset(big, 'k', 4096);
    big[4096] = '\0';
    assert_int_equal(tu_write(dir, "empty", ""), 0);
    assert_int_equal(tu_write(dir, "newline", "\n"), 0);
    assert_int_equal(tu_write(dir, "big", big), 0);
    static const struct {
        const char *file, *why;
    } bad[] = {
        {"missing", "cannot read: No such file or directory"},
        {"empty", "empty (a secret is 1 to 4095 bytes)"},
        {"newline", "empty (a secret is 1 to 4095 bytes)"},
        {"big", "file larger than 4095 bytes"},
        {".", "not a regular file"},
    };
    char *db = tu_fmt("%s/var/cpqd.db", dir);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *secret = tu_fmt("%s/%s", dir, bad[i].file);
        const char *argv[] = {"serve",     "--catalogs",           cats,   "--listen",
                              "127.0.0.1:0", "--db",               db,     "--webhook",
                              "http://127.0.0.1:1/hook", "--webhook-secret", secret, NULL};
        run r = cpqd(argv);
        char *want = tu_fmt("cpqd serve: --webhook-secret %s: %s; not starting\n", secret,
                            bad[i].why);
        assert_int_equal(r.status, 1);
        assert_string_equal(r.out, "");
        if (!strstr(r.err, want))
            fail_msg("expected '%s' in:\n%s", want, r.err);
        assert_int_equal(access(db, F_OK), -1); /* no database was created */
        free(want);
        free(secret);
        run_free(&r);
    }
    tu_rm_tree(dir);
    free(db);
    free(big);
    free(cats);
    free(dir);
}

/* ---- cli_args_parse and cli_errs_print, in process ---- */

#define ARGC(v) ((int)(sizeof(v) / sizeof(v[0])))

/* Flags go anywhere among the positional arguments, as "--f V" or
 * "--f=V"; positional arguments keep their order; argv is not reordered. */
static void test_cli_args_flags_anywhere_in_both_spellings(void **state)
{
    (void)state;
    const char *rules = NULL, *db = NULL;
    const cli_flag flags[] = {{"--rules", &rules}, {"--db", &db}, {NULL, NULL}};
    char *argv[] = {"check", "a", "--rules", "R", "b", "--db=x=y", "c"};
    char *copy[ARGC(argv)];
    memcpy(copy, argv, sizeof(argv));
    cli_args a;
    assert_int_equal(cli_args_parse(ARGC(argv), argv, flags, SIZE_MAX, &a), 0);
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.pos[0], "a");
    assert_string_equal(a.pos[1], "b");
    assert_string_equal(a.pos[2], "c");
    assert_string_equal(rules, "R");
    assert_string_equal(db, "x=y"); /* only the first '=' separates */
    assert_memory_equal(argv, copy, sizeof(argv));
    cli_args_fini(&a);
    cli_args_fini(&a); /* twice is harmless */
}

/* "--" ends the flags; "-" and "" are positional; a flag absent leaves
 * its value alone; the last of a repeated flag wins; "--f=" is empty. */
static void test_cli_args_double_dash_and_odd_positionals(void **state)
{
    (void)state;
    const char *rules = "default", *db = NULL;
    const cli_flag flags[] = {{"--rules", &rules}, {"--db", &db}, {NULL, NULL}};
    char *argv[] = {"x", "--db", "1", "-", "", "--db=", "--", "--rules", "-o"};
    cli_args a;
    assert_int_equal(cli_args_parse(ARGC(argv), argv, flags, SIZE_MAX, &a), 0);
    assert_int_equal(a.npos, 4);
    assert_string_equal(a.pos[0], "-");
    assert_string_equal(a.pos[1], "");
    assert_string_equal(a.pos[2], "--rules");
    assert_string_equal(a.pos[3], "-o");
    assert_string_equal(rules, "default");
    assert_string_equal(db, "");
    cli_args_fini(&a);
}

/* A one-letter flag: "-o V", "-oV" and "-o=V" (as import always took). */
static void test_cli_args_one_letter_flag_spellings(void **state)
{
    (void)state;
    static const char *const forms[][2] = {{"-o", "out.yaml"}, {"-oout.yaml", NULL},
                                           {"-o=out.yaml", NULL}};
    for (size_t i = 0; i < 3; i++) {
        const char *out = NULL;
        const cli_flag flags[] = {{"-o", &out}, {"--out", &out}, {NULL, NULL}};
        char *argv[] = {"import", (char *)forms[i][0], (char *)forms[i][1], NULL};
        int argc = forms[i][1] ? 3 : 2;
        cli_args a;
        assert_int_equal(cli_args_parse(argc, argv, flags, SIZE_MAX, &a), 0);
        assert_string_equal(out, "out.yaml");
        assert_int_equal(a.npos, 0);
        cli_args_fini(&a);
    }
}

/* Expects a usage error with exactly why. */
static void expect_usage(int argc, char **argv, const cli_flag *flags, size_t max_pos,
                         const char *why)
{
    cli_args a;
    assert_int_equal(cli_args_parse(argc, argv, flags, max_pos, &a), CPQD_EINVAL);
    assert_string_equal(a.why, why);
    cli_args_fini(&a);
}

static void test_cli_args_usage_errors(void **state)
{
    (void)state;
    const char *v = NULL;
    const cli_flag flags[] = {{"--webhook", &v}, {"--webhook-secret", &v}, {"-o", &v},
                              {NULL, NULL}};
    static const struct {
        const char *argv[4]; /* after the command's name; NULL ends it */
        size_t max_pos;
        const char *why;
    } bad[] = {
        {{"--bogus=1"}, SIZE_MAX, "unknown flag '--bogus=1'"},
        {{"-xy"}, SIZE_MAX, "unknown flag '-xy'"},
        {{"-5"}, SIZE_MAX, "unknown flag '-5'"},
        /* a unique prefix ("--webhook-s") and an ambiguous one ("--web") */
        {{"--webhook-s", "f"}, SIZE_MAX, "unknown flag '--webhook-s'"},
        {{"--webhook-s=f"}, SIZE_MAX, "unknown flag '--webhook-s=f'"},
        {{"--web", "f"}, SIZE_MAX, "unknown flag '--web'"},
        {{"a", "--webhook-secret"}, SIZE_MAX, "flag --webhook-secret needs a value"},
        {{"-o"}, SIZE_MAX, "flag -o needs a value"},
        {{"a", "b"}, 1, "unexpected argument 'b'"},
        {{"--", "a"}, 0, "unexpected argument 'a'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[5] = {"x"};
        int argc = 1;
        while (argc < 5 && bad[i].argv[argc - 1])
            argv[argc] = (char *)bad[i].argv[argc - 1], argc++;
        expect_usage(argc, argv, flags, bad[i].max_pos, bad[i].why);
    }
    /* the exact flag still works beside its longer sibling */
    char *exact[] = {"x", "--webhook", "u"};
    cli_args a;
    assert_int_equal(cli_args_parse(3, exact, flags, 0, &a), 0);
    assert_string_equal(v, "u");
    cli_args_fini(&a);
}

/* Each parse starts afresh, whatever the previous one left in getopt's
 * state (commands run in process in the tests, one after another). */
static void test_cli_args_each_parse_starts_afresh(void **state)
{
    (void)state;
    const char *v = NULL;
    const cli_flag flags[] = {{"-o", &v}, {NULL, NULL}};
    char *cluster[] = {"x", "-zq"}; /* stops inside a cluster of letters */
    expect_usage(2, cluster, flags, SIZE_MAX, "unknown flag '-zq'");
    char *second[] = {"y", "p", "-o", "v"};
    cli_args a;
    assert_int_equal(cli_args_parse(4, second, flags, SIZE_MAX, &a), 0);
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "p");
    assert_string_equal(v, "v");
    cli_args_fini(&a);
    char *none[] = {"z"};
    assert_int_equal(cli_args_parse(1, none, flags, 0, &a), 0);
    assert_int_equal(a.npos, 0);
    cli_args_fini(&a);
}

/* cli_errs_print: sorted by position, one "file:line:col: message" a
 * line, on stderr. */
static void test_cli_errs_print_sorted_lines(void **state)
{
    (void)state;
    cpqd_errs *e = errs_new();
    assert_non_null(e);
    errs_add(e, CPQD_EINVAL, "b.yaml", 2, 1, "second file");
    errs_add(e, CPQD_EINVAL, "a.yaml", 9, 4, "later line");
    errs_add(e, CPQD_EINVAL, "a.yaml", 3, 7, "earlier line");
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/err", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    cli_errs_print(e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *got = tu_read_file(path, NULL);
    assert_string_equal(got, "a.yaml:3:7: earlier line\na.yaml:9:4: later line\n"
                             "b.yaml:2:1: second file\n");
    free(got);
    errs_free(e);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_check_ok_prints_one_summary_line),
        cmocka_unit_test(test_cli_check_names_each_of_several_paths),
        cmocka_unit_test(test_cli_check_prints_every_error_sorted_and_fails),
        cmocka_unit_test(test_cli_check_warns_about_unreachable_ceilings),
        cmocka_unit_test(test_cli_check_missing_path_is_an_error),
        cmocka_unit_test(test_cli_check_runs_every_rule_on_a_sample),
        cmocka_unit_test(test_cli_check_sample_catalogs_are_clean),
        cmocka_unit_test(test_cli_usage_errors_exit_2),
        cmocka_unit_test(test_cli_serve_rejects_bad_values),
        cmocka_unit_test(test_cli_serve_rejects_a_bad_listen_address),
        cmocka_unit_test(test_cli_serve_db_error_hides_the_password),
        cmocka_unit_test(test_cli_help_and_version),
        cmocka_unit_test(test_cli_rule_eval),
        cmocka_unit_test(test_cli_serve_refuses_an_unusable_webhook_secret),
        cmocka_unit_test(test_cli_args_flags_anywhere_in_both_spellings),
        cmocka_unit_test(test_cli_args_double_dash_and_odd_positionals),
        cmocka_unit_test(test_cli_args_one_letter_flag_spellings),
        cmocka_unit_test(test_cli_args_usage_errors),
        cmocka_unit_test(test_cli_args_each_parse_starts_afresh),
        cmocka_unit_test(test_cli_errs_print_sorted_lines),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
