/*
 * Unit tests for date's timestamps: date_stamp_ms (the millisecond form
 * the log and the outbox write) against hand-computed instants and
 * against libc's gmtime_r/strftime over random instants, and
 * date_wall_ms, the real clock that --clock does not fix. (Calendar
 * dates are tested with the schedules, in test_sched.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SEED 20261201u

static void expect_stamp_ms(int64_t ms, const char *want)
{
    char buf[DATE_TS_MS_LEN];
    memset(buf, 'x', sizeof(buf));
    date_stamp_ms(ms, buf);
    assert_string_equal(buf, want);
}

/* Instants converted by hand (days from 1970-01-01, then the clock). */
static void test_date_stamp_ms_known_instants(void **state)
{
    (void)state;
    expect_stamp_ms(0, "1970-01-01T00:00:00.000Z");
    expect_stamp_ms(1, "1970-01-01T00:00:00.001Z");
    expect_stamp_ms(999, "1970-01-01T00:00:00.999Z");
    expect_stamp_ms(1000, "1970-01-01T00:00:01.000Z");
    /* 20418 days + 8:41:14.123 */
    expect_stamp_ms(1764146474123, "2025-11-26T08:41:14.123Z");
    /* the last millisecond of a leap day (11016 days + 1 day - 1 ms) */
    expect_stamp_ms(951868799999, "2000-02-29T23:59:59.999Z");
    expect_stamp_ms(253402300799999, "9999-12-31T23:59:59.999Z");
}

/* Before the epoch the instant rounds down, to the millisecond before. */
static void test_date_stamp_ms_before_the_epoch_rounds_down(void **state)
{
    (void)state;
    expect_stamp_ms(-1, "1969-12-31T23:59:59.999Z");
    expect_stamp_ms(-1000, "1969-12-31T23:59:59.000Z");
    expect_stamp_ms(-1001, "1969-12-31T23:59:58.999Z");
}

/* The seconds part is date_stamp's, to the byte. */
static void test_date_stamp_ms_extends_date_stamp(void **state)
{
    (void)state;
    char s[DATE_TS_LEN], ms[DATE_TS_MS_LEN];
    date_stamp(1764146474, s);
    date_stamp_ms(1764146474123, ms);
    assert_int_equal(strlen(ms), DATE_TS_MS_LEN - 1);
    assert_memory_equal(s, ms, 19);
}

/* Random instants from 1970 to 9999 against libc's conversion; the seed
 * is printed and DATE_SEED=<n> replays it. */
static void test_date_stamp_ms_agrees_with_gmtime(void **state)
{
    (void)state;
    const char *env = getenv("DATE_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : DEFAULT_SEED;
    printf("date_stamp_ms vs gmtime_r: seed %u (DATE_SEED to replay)\n", seed);
    uint64_t x = seed | 1;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % 253402300800000ull);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char want[40], got[DATE_TS_MS_LEN];
        assert_non_null(gmtime_r(&t, &tm));
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%03dZ", (int)(ms % 1000));
        date_stamp_ms(ms, got);
        if (strcmp(want, got) != 0)
            fail_msg("ms %lld: want %s, got %s", (long long)ms, want, got);
    }
}

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fixed clock fixes today and date_now, never the wall clock. */
static void test_date_wall_ms_ignores_the_fixed_clock(void **state)
{
    (void)state;
    date_clock_set(date_from_ymd(2001, 1, 1));
    int64_t before = realtime_ms();
    int64_t wall = date_wall_ms();
    int64_t after = realtime_ms();
    assert_int_equal(date_today(), date_from_ymd(2001, 1, 1));
    assert_true(date_now() / 86400 == date_from_ymd(2001, 1, 1));
    date_clock_set(DATE_CLOCK_REAL);
    assert_true(before <= wall && wall <= after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_stamp_ms_known_instants),
        cmocka_unit_test(test_date_stamp_ms_before_the_epoch_rounds_down),
        cmocka_unit_test(test_date_stamp_ms_extends_date_stamp),
        cmocka_unit_test(test_date_stamp_ms_agrees_with_gmtime),
        cmocka_unit_test(test_date_wall_ms_ignores_the_fixed_clock),
    };
    return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
