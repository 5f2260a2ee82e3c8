/*
 * Unit tests for file_read: whole regular files with their exact bytes,
 * the size cap (at the limit, one past it, procfs files whose size is not
 * known in advance), and each failure's code and words with nothing
 * handed out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/err.h"
#include "cpqd/file.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct fx {
    char *dir;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Expects file_read(path, max) to fail with rc and exactly why, leaving
 * nothing behind. */
static void expect_fail(const char *path, size_t max, int rc, const char *why)
{
    char *buf = (char *)"untouched", w[FILE_WHY_MAX];
    size_t len = 99;
    assert_int_equal(file_read(path, max, &buf, &len, w), rc);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(w, why);
    /* the reason is optional */
    assert_int_equal(file_read(path, max, &buf, &len, NULL), rc);
    assert_null(buf);
}

static void test_file_read_gives_the_exact_bytes(void **state)
{
    fx *f = *state;
    static const char data[] = "a: 1\n\0b: 2\n"; /* a NUL inside */
    assert_int_equal(tu_write_n(f->dir, "x.yaml", data, sizeof(data) - 1), 0);
    char *p = tu_fmt("%s/x.yaml", f->dir), *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read(p, 1024, &buf, &len, NULL), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(buf, data, 11);
    assert_int_equal(buf[11], '\0'); /* a NUL after the bytes, for text parsers */
    free(buf);
    free(p);
}

static void test_file_read_empty_file_is_empty_not_null(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "empty", ""), 0);
    char *p = tu_fmt("%s/empty", f->dir), *buf = NULL;
    size_t len = 7;
    assert_int_equal(file_read(p, 0, &buf, &len, NULL), 0);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    free(p);
}

/* max is the largest size read: 10 bytes pass under max 10, 11 do not. */
static void test_file_read_cap_is_inclusive(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "ten", "0123456789"), 0);
    assert_int_equal(tu_write(f->dir, "eleven", "0123456789a"), 0);
    char *ten = tu_fmt("%s/ten", f->dir), *eleven = tu_fmt("%s/eleven", f->dir), *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read(ten, 10, &buf, &len, NULL), 0);
    assert_int_equal(len, 10);
    free(buf);
    expect_fail(eleven, 10, CPQD_ELIMIT, "file larger than 10 bytes");
    free(ten);
    free(eleven);
}

/* A cap of whole MiB is said in MiB, as the limits are documented. */
static void test_file_read_names_a_mib_cap_in_mib(void **state)
{
    fx *f = *state;
    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n);
    memset(big, 'x', n);
    assert_int_equal(tu_write_n(f->dir, "big", big, n), 0);
    char *p = tu_fmt("%s/big", f->dir);
    expect_fail(p, (size_t)1 << 20, CPQD_ELIMIT, "file larger than 1 MiB");
    free(p);
    free(big);
}

/* procfs files are regular with st_size 0: read to their end all the
 * same, and the cap holds on what is actually read. */
static void test_file_read_reads_past_a_zero_size(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read("/proc/self/stat", 1 << 16, &buf, &len, NULL), 0);
    assert_true(len > 10);
    assert_int_equal(strlen(buf), len);
    assert_non_null(strstr(buf, "(test_file)")); /* the command name */
    free(buf);
    expect_fail("/proc/self/stat", 4, CPQD_ELIMIT, "file larger than 4 bytes");
}

static void test_file_read_missing_file_is_not_found(void **state)
{
    fx *f = *state;
    char *p = tu_fmt("%s/nope.yaml", f->dir);
    expect_fail(p, 1024, CPQD_ENOTFOUND, "cannot read: No such file or directory");
    free(p);
}

/* An I/O failure other than a missing file (here a path through a
 * regular file, whatever the user's privileges) is CPQD_EIO with the
 * system's words. */
static void test_file_read_unopenable_path_is_eio(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "plain", "x"), 0);
    char *p = tu_fmt("%s/plain/below", f->dir);
    expect_fail(p, 1024, CPQD_EIO, "cannot read: Not a directory");
    free(p);
}

static void test_file_read_refuses_a_directory(void **state)
{
    fx *f = *state;
    expect_fail(f->dir, 1024, CPQD_EINVAL, "not a regular file");
}

/* A FIFO without a writer would block a plain open: refused at once. */
static void test_file_read_refuses_a_fifo_without_waiting(void **state)
{
    fx *f = *state;
    char *p = tu_fmt("%s/fifo", f->dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_fail(p, 1024, CPQD_EINVAL, "not a regular file");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_read_gives_the_exact_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_empty_file_is_empty_not_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_read_cap_is_inclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_names_a_mib_cap_in_mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_reads_past_a_zero_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_missing_file_is_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_read_unopenable_path_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_refuses_a_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_refuses_a_fifo_without_waiting, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("file", tests, NULL, NULL);
}
