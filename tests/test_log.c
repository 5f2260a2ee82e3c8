/*
 * Unit tests of log (include/cpqd/log.h): the text and JSON line forms,
 * fields in both, and JSON lines that stay valid whatever the message
 * holds (quotes, control bytes, bytes that are not UTF-8, a message too
 * long for a line). Lines are captured by pointing stderr at a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/err.h"
#include "cpqd/log.h"

#include <jansson.h>

typedef struct cap {
    char *dir, *path;
    int saved; /* the real stderr */
} cap;

static int cap_setup(void **state)
{
    cap *c = calloc(1, sizeof(*c));
    c->dir = tu_tmpdir();
    c->path = tu_fmt("%s/log", c->dir);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
    *state = c;
    return 0;
}

static int cap_teardown(void **state)
{
    cap *c = *state;
    dup2(c->saved, 2);
    close(c->saved);
    log_format_set(CPQD_LOG_TEXT);
    tu_rm_tree(c->dir);
    free(c->dir), free(c->path), free(c);
    return 0;
}

static char *captured(cap *c)
{
    char *t = tu_read_file(c->path, NULL);
    assert_non_null(t);
    return t;
}

/* The one JSON object of the captured line. */
static json_t *json_line(cap *c, size_t *len)
{
    char *t = captured(c);
    *len = strlen(t);
    assert_true(*len > 0 && t[*len - 1] == '\n');
    assert_ptr_equal(strchr(t, '\n'), t + *len - 1); /* one line */
    json_error_t e;
    json_t *o = json_loads(t, 0, &e);
    if (!o)
        fail_msg("not JSON: %s (%s)", t, e.text);
    free(t);
    return o;
}

static void test_log_format_parse(void **state)
{
    (void)state;
    log_format f = CPQD_LOG_TEXT;
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, CPQD_LOG_JSON);
    assert_int_equal(log_format_parse("text", &f), 0);
    assert_int_equal(f, CPQD_LOG_TEXT);
    assert_int_equal(log_format_parse("JSON", &f), CPQD_EINVAL);
    assert_int_equal(log_format_parse("", &f), CPQD_EINVAL);
    assert_int_equal(f, CPQD_LOG_TEXT);
}

/* Quotes, backslashes, control bytes and invalid UTF-8 in a message:
 * the JSON line parses back to the message, the bad bytes as U+FFFD,
 * valid UTF-8 kept. */
static void test_log_json_escapes_everything(void **state)
{
    cap *c = *state;
    log_format_set(CPQD_LOG_JSON);
    log_warn("a \"quote\" \\ tab\t nl\n bell\x07 del\x7f bad\xff\xfe overlong\xc0\xaf 华东 end");
    size_t n;
    json_t *o = json_line(c, &n);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "a \"quote\" \\ tab\t nl\n bell\x07 del\x7f bad\xef\xbf\xbd\xef\xbf\xbd "
                        "overlong\xef\xbf\xbd\xef\xbf\xbd 华东 end");
    const char *ts = json_string_value(json_object_get(o, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);
    json_decref(o);
}

/* A message longer than a line: cut, marked "...", still one valid JSON
 * object within LOG_LINE_MAX. */
static void test_log_json_long_message_stays_valid(void **state)
{
    cap *c = *state;
    log_format_set(CPQD_LOG_JSON);
    char *big = malloc(LOG_LINE_MAX * 2);
    for (size_t i = 0; i < LOG_LINE_MAX * 2 - 1; i++)
        big[i] = i % 97 == 0 ? '"' : 'x'; /* quotes grow when escaped */
    big[LOG_LINE_MAX * 2 - 1] = '\0';
    log_error("%s", big);
    size_t n;
    json_t *o = json_line(c, &n);
    assert_true(n <= LOG_LINE_MAX);
    const char *msg = json_string_value(json_object_get(o, "msg"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 1000);
    assert_string_equal(msg + strlen(msg) - 3, "...");
    json_decref(o);
    free(big);
}

/* Fields: in JSON as typed members in order (null for a missing
 * string, thousandths as a decimal); in text, " key value" for the text
 * ones ("-" for a missing string). */
static void test_log_fields_both_forms(void **state)
{
    cap *c = *state;
    const log_field f[] = {
        {"request_id", LOG_STR, "r-1", 0, LOG_IN_JSON | LOG_IN_TEXT},
        {"status", LOG_INT, NULL, 404, LOG_IN_JSON},
        {"duration_ms", LOG_MILLI, NULL, 1234, LOG_IN_JSON},
        {"partner", LOG_STR, NULL, 0, LOG_IN_JSON | LOG_IN_TEXT},
        {"key", LOG_STR, "k_1", 0, LOG_IN_TEXT},
    };
    log_format_set(CPQD_LOG_JSON);
    log_fields(CPQD_LOG_INFO, "request", f, 5);
    size_t n;
    json_t *o = json_line(c, &n);
    char *t = captured(c);
    assert_non_null(strstr(t, "\"msg\":\"request\",\"request_id\":\"r-1\",\"status\":404,"
                              "\"duration_ms\":1.234,\"partner\":null}\n"));
    assert_null(strstr(t, "k_1"));
    free(t);
    json_decref(o);
    assert_int_equal(truncate(c->path, 0), 0);
    log_format_set(CPQD_LOG_TEXT);
    log_fields(CPQD_LOG_INFO, "w0 GET /x 404 1.234ms", f, 5);
    t = captured(c);
    assert_non_null(strstr(t, " INFO w0 GET /x 404 1.234ms request_id r-1 partner - key k_1\n"));
    free(t);
}

/* Below the level, nothing is written. */
static void test_log_level_filters_fields(void **state)
{
    cap *c = *state;
    log_level_set(CPQD_LOG_WARN);
    log_fields(CPQD_LOG_INFO, "quiet", NULL, 0);
    log_level_set(CPQD_LOG_INFO);
    char *t = captured(c);
    assert_string_equal(t, "");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_format_parse),
        cmocka_unit_test_setup_teardown(test_log_json_escapes_everything, cap_setup, cap_teardown),
        cmocka_unit_test_setup_teardown(test_log_json_long_message_stays_valid, cap_setup,
                                        cap_teardown),
        cmocka_unit_test_setup_teardown(test_log_fields_both_forms, cap_setup, cap_teardown),
        cmocka_unit_test_setup_teardown(test_log_level_filters_fields, cap_setup, cap_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
