/*
 * Unit tests of config (include/cpqd/config.h): a flag beats the
 * environment (CPQD_<NAME>), which beats the file, which beats the
 * default; file values keep their line and column; every problem of a
 * file is reported at its position, and nothing is resolved then.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/config.h"
#include "cpqd/err.h"

static const char *const names[] = {"listen", "threads", "log_format", "webhook_secret"};
#define N 4

static char *dir;

static int up(void **state)
{
    (void)state;
    dir = tu_tmpdir();
    unsetenv("CPQD_LISTEN");
    unsetenv("CPQD_THREADS");
    unsetenv("CPQD_LOG_FORMAT");
    unsetenv("CPQD_WEBHOOK_SECRET");
    return 0;
}

static int down(void **state)
{
    (void)state;
    tu_rm_tree(dir);
    free(dir);
    unsetenv("CPQD_THREADS");
    unsetenv("CPQD_LOG_FORMAT");
    return 0;
}

static void test_config_precedence(void **state)
{
    (void)state;
    assert_int_equal(tu_write(dir, "c.yaml",
                              "listen: 127.0.0.1:8080\nthreads: 3\nlog_format: json\n"),
                     0);
    char *path = tu_fmt("%s/c.yaml", dir);
    setenv("CPQD_THREADS", "5", 1);
    setenv("CPQD_LOG_FORMAT", "", 1); /* empty: as if unset */
    const char *flags[N] = {"127.0.0.1:9", NULL, NULL, NULL};
    cpqd_errs *e = errs_new();
    config *c = NULL;
    assert_int_equal(config_resolve(names, N, flags, path, &c, e), 0);
    const config_value *v = config_get(c, 0);
    assert_string_equal(v->value, "127.0.0.1:9");
    assert_int_equal(v->src, CONFIG_FLAG);
    v = config_get(c, 1);
    assert_string_equal(v->value, "5");
    assert_int_equal(v->src, CONFIG_ENV);
    assert_string_equal(v->env, "CPQD_THREADS");
    v = config_get(c, 2);
    assert_string_equal(v->value, "json");
    assert_int_equal(v->src, CONFIG_FILE);
    assert_int_equal(v->line, 3);
    assert_int_equal(v->col, 13);
    v = config_get(c, 3);
    assert_null(v->value);
    assert_int_equal(v->src, CONFIG_DEFAULT);
    assert_string_equal(v->env, "CPQD_WEBHOOK_SECRET");
    assert_string_equal(config_path(c), path);
    assert_string_equal(config_source_name(CONFIG_ENV), "env");
    config_free(c);
    errs_free(e);
    free(path);
}

/* Without a file: flags and environment only. */
static void test_config_without_file(void **state)
{
    (void)state;
    const char *flags[N] = {NULL};
    config *c = NULL;
    cpqd_errs *e = errs_new();
    setenv("CPQD_LOG_FORMAT", "text", 1);
    assert_int_equal(config_resolve(names, N, flags, NULL, &c, e), 0);
    assert_null(config_path(c));
    assert_int_equal(config_get(c, 2)->src, CONFIG_ENV);
    assert_int_equal(config_get(c, 0)->src, CONFIG_DEFAULT);
    config_free(c);
    errs_free(e);
}

/* Every problem at its position: an unknown setting (naming them all),
 * a list, an empty value; a document that is not a mapping; a missing
 * file; YAML errors. */
static void test_config_file_errors(void **state)
{
    (void)state;
    const char *flags[N] = {NULL};
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"listen: a\nthread: 2\nlog_format: [json]\nwebhook_secret:\n",
         "c.yaml:2:1: unknown setting 'thread' (the settings: listen, threads, log_format, "
         "webhook_secret)\n"
         "c.yaml:3:13: 'log_format' needs a value (a scalar: a number, a word or a quoted "
         "string), not a list or a mapping\n"
         "c.yaml:4:16: 'webhook_secret' needs a value (a scalar: a number, a word or a quoted "
         "string)\n"},
        {"- listen\n", "c.yaml:1:1: a configuration file is a mapping of settings"},
        {"listen: a\nlisten: b\n", "c.yaml:2:1: duplicate key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tu_write(dir, "c.yaml", cases[i].text), 0);
        char *path = tu_fmt("%s/c.yaml", dir);
        cpqd_errs *e = errs_new();
        config *c = (config *)1;
        assert_int_equal(config_resolve(names, N, flags, path, &c, e), CPQD_EINVAL);
        assert_null(c);
        char *all = strdup("");
        errs_sort(e);
        for (size_t k = 0; k < errs_count(e); k++) {
            char *l = errs_format(e, k);
            char *a = tu_fmt("%s%s\n", all, strstr(l, "c.yaml"));
            free(all), free(l);
            all = a;
        }
        if (!strstr(all, cases[i].want))
            fail_msg("case %zu: errors\n%s\nexpected\n%s", i, all, cases[i].want);
        free(all);
        errs_free(e);
        free(path);
    }
    char *missing = tu_fmt("%s/nope.yaml", dir);
    cpqd_errs *e = errs_new();
    config *c = NULL;
    assert_int_equal(config_resolve(names, N, flags, missing, &c, e), CPQD_EIO);
    assert_non_null(strstr(errs_get(e, 0)->msg, "cannot read"));
    errs_free(e);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_precedence, up, down),
        cmocka_unit_test_setup_teardown(test_config_without_file, up, down),
        cmocka_unit_test_setup_teardown(test_config_file_errors, up, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
