/*
 * Unit tests for money: text, the six rounding modes, arithmetic and its
 * overflow, currencies, and allocation. Expectations are computed by hand.
 * The randomized tests compare against an independent 128-bit reference
 * written here; they print their seed, and MONEY_SEED=<n> replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

#define DEFAULT_SEED 20240611u
#define ALL_MODES 6

static uint64_t seed; /* set once in main */

/* Parses s, failing the test if it is not valid money text. */
static money_dec dec(const char *s)
{
    money_dec v = {0, 0};
    int rc = money_parse(s, strlen(s), &v);
    if (rc != 0)
        fail_msg("money_parse(\"%s\") = %d", s, rc);
    return v;
}

/* Asserts that v formats as want; the scale shows, so "2.30" is not "2.3". */
#define assert_money(v, want)                                                                      \
    do {                                                                                           \
        char buf_[MONEY_FMT_MAX];                                                                  \
        assert_true(money_format((v), buf_, sizeof(buf_)) > 0);                                    \
        assert_string_equal(buf_, (want));                                                         \
    } while (0)

/* Asserts that rescaling text `in` to `scale` places with mode gives want. */
#define assert_rounds(in, scale, mode, want)                                                       \
    do {                                                                                           \
        money_dec r_;                                                                              \
        assert_int_equal(money_rescale(dec(in), (scale), (mode), &r_), 0);                         \
        assert_money(r_, (want));                                                                  \
    } while (0)

/* --- text ---------------------------------------------------------------- */

static void test_money_parse_keeps_written_scale(void **state)
{
    (void)state;
    money_dec v = dec("1.50");
    assert_int_equal(v.coef, 150);
    assert_int_equal(v.scale, 2);
    v = dec("0.0035");
    assert_int_equal(v.coef, 35);
    assert_int_equal(v.scale, 4);
    v = dec("-1280000.00");
    assert_int_equal(v.coef, -128000000);
    assert_int_equal(v.scale, 2);
    v = dec("5");
    assert_int_equal(v.coef, 5);
    assert_int_equal(v.scale, 0);
}

static void test_money_parse_allows_leading_zeros(void **state)
{
    (void)state;
    money_dec v = dec("007.5");
    assert_int_equal(v.coef, 75);
    assert_int_equal(v.scale, 1);
    assert_money(dec("-000"), "0");
}

static void test_money_parse_negative_zero_is_zero(void **state)
{
    (void)state;
    money_dec v = dec("-0");
    assert_int_equal(v.coef, 0);
    assert_int_equal(v.scale, 0);
    assert_money(dec("-0.00"), "0.00");
}

static void test_money_parse_rejects_malformed_text(void **state)
{
    static const char *const bad[] = {
        "",      "-",    "1.",  ".5",    "-.5",   "+1",
        "1e5",   " 1",   "1 ",  "1,000", "1_000", "--1",
        "1.2.3", "0x10", "abc", "1.-5",  "-1-",   "1.0000000000000000000", /* 19 fraction digits */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        money_dec v = {7, 0};
        int rc = money_parse(bad[i], strlen(bad[i]), &v);
        if (rc != CPQD_EINVAL)
            fail_msg("money_parse(\"%s\") = %d, want CPQD_EINVAL", bad[i], rc);
        assert_int_equal(v.coef, 7); /* untouched */
    }
    money_dec v;
    assert_int_equal(money_parse(NULL, 0, &v), CPQD_EINVAL);
    assert_int_equal(money_parse("1\0002", 3, &v), CPQD_EINVAL); /* embedded NUL */
}

static void test_money_parse_accepts_18_fraction_digits(void **state)
{
    (void)state;
    money_dec v = dec("0.000000000000000001");
    assert_int_equal(v.coef, 1);
    assert_int_equal(v.scale, 18);
    v = dec("-9.223372036854775807");
    assert_int_equal(v.coef, -INT64_MAX);
    assert_int_equal(v.scale, 18);
}

static void test_money_parse_overflow_is_erange(void **state)
{
    static const char *const big[] = {
        "9223372036854775808",
        "-9223372036854775808", /* the range is symmetric */
        "99999999999999999999",
        "922337203685477580.8",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        money_dec v;
        int rc = money_parse(big[i], strlen(big[i]), &v);
        if (rc != CPQD_ERANGE)
            fail_msg("money_parse(\"%s\") = %d, want CPQD_ERANGE", big[i], rc);
    }
    assert_int_equal(dec("9223372036854775807").coef, INT64_MAX);
    assert_int_equal(dec("922337203685477580.7").coef, INT64_MAX);
}

static void test_money_parse_reads_only_len_bytes(void **state)
{
    money_dec v;
    (void)state;
    assert_int_equal(money_parse("12.345xyz", 5, &v), 0);
    assert_money(v, "12.34");
}

static void test_money_format_writes_exact_scale(void **state)
{
    (void)state;
    assert_money(((money_dec){-128000000, 2}), "-1280000.00");
    assert_money(((money_dec){35, 4}), "0.0035");
    assert_money(((money_dec){-35, 4}), "-0.0035");
    assert_money(((money_dec){5, 0}), "5");
    assert_money(((money_dec){0, 3}), "0.000");
    assert_money(((money_dec){1, 18}), "0.000000000000000001");
    assert_money(((money_dec){-INT64_MAX, 18}), "-9.223372036854775807");
    assert_money(((money_dec){-INT64_MAX, 0}), "-9223372036854775807");
}

static void test_money_format_small_buffer_is_erange(void **state)
{
    char buf[8] = "xxxxxxx";
    (void)state;
    assert_int_equal(money_format(dec("-1.25"), buf, 5), CPQD_ERANGE);
    assert_string_equal(buf, "xxxxxxx"); /* untouched */
    assert_int_equal(money_format(dec("-1.25"), buf, 6), 5);
    assert_string_equal(buf, "-1.25");
    assert_int_equal(money_format(dec("1"), NULL, 0), CPQD_ERANGE);
}

static void test_money_format_rejects_invalid_value(void **state)
{
    char buf[MONEY_FMT_MAX];
    (void)state;
    assert_int_equal(money_format((money_dec){1, 19}, buf, sizeof(buf)), CPQD_ERANGE);
    assert_int_equal(money_format((money_dec){1, -1}, buf, sizeof(buf)), CPQD_ERANGE);
    assert_int_equal(money_format(money_from_int(INT64_MIN), buf, sizeof(buf)), CPQD_ERANGE);
}

static void test_money_parse_format_round_trip(void **state)
{
    static const char *const texts[] = {
        "0",
        "5",
        "-5",
        "1.50",
        "0.0035",
        "-1280000.00",
        "0.000000000000000001",
        "9223372036854775807",
        "-9223372036854775807",
        "-9.223372036854775807",
        "100.000",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_money(dec(texts[i]), texts[i]);
}

/* --- rounding modes ------------------------------------------------------ */

static void test_money_round_names_round_trip(void **state)
{
    static const char *const names[] = {"half_up", "half_even", "up", "down", "ceiling", "floor"};
    (void)state;
    for (int i = 0; i < ALL_MODES; i++) {
        money_round r;
        assert_int_equal(money_round_parse(names[i], &r), 0);
        assert_int_equal(r, i);
        assert_string_equal(money_round_name(r), names[i]);
    }
}

static void test_money_round_parse_rejects_unknown(void **state)
{
    money_round r = MONEY_UP;
    (void)state;
    assert_int_equal(money_round_parse("HALF_UP", &r), CPQD_EINVAL);
    assert_int_equal(money_round_parse("halfup", &r), CPQD_EINVAL);
    assert_int_equal(money_round_parse("", &r), CPQD_EINVAL);
    assert_int_equal(money_round_parse(NULL, &r), CPQD_EINVAL);
    assert_int_equal(r, MONEY_UP);
    assert_null(money_round_name((money_round)6));
}

static void test_money_round_half_up_exact_halves(void **state)
{
    (void)state;
    assert_rounds("2.345", 2, MONEY_HALF_UP, "2.35");
    assert_rounds("-2.345", 2, MONEY_HALF_UP, "-2.35");
    assert_rounds("0.5", 0, MONEY_HALF_UP, "1");
    assert_rounds("-0.5", 0, MONEY_HALF_UP, "-1");
    assert_rounds("2.3449", 2, MONEY_HALF_UP, "2.34");
}

static void test_money_round_half_even_exact_halves(void **state)
{
    (void)state;
    assert_rounds("2.345", 2, MONEY_HALF_EVEN, "2.34");
    assert_rounds("2.355", 2, MONEY_HALF_EVEN, "2.36");
    assert_rounds("-2.345", 2, MONEY_HALF_EVEN, "-2.34");
    assert_rounds("-2.355", 2, MONEY_HALF_EVEN, "-2.36");
    assert_rounds("0.5", 0, MONEY_HALF_EVEN, "0");
    assert_rounds("-0.5", 0, MONEY_HALF_EVEN, "0");
    assert_rounds("1.5", 0, MONEY_HALF_EVEN, "2");
    assert_rounds("2.3450000001", 2, MONEY_HALF_EVEN, "2.35"); /* just above half */
}

static void test_money_round_up_and_down_on_negatives(void **state)
{
    (void)state;
    assert_rounds("2.341", 2, MONEY_UP, "2.35");
    assert_rounds("-2.341", 2, MONEY_UP, "-2.35");
    assert_rounds("-0.001", 2, MONEY_UP, "-0.01");
    assert_rounds("2.349", 2, MONEY_DOWN, "2.34");
    assert_rounds("-2.349", 2, MONEY_DOWN, "-2.34");
    assert_rounds("-0.009", 2, MONEY_DOWN, "0.00");
}

static void test_money_round_ceiling_and_floor_on_negatives(void **state)
{
    (void)state;
    assert_rounds("2.341", 2, MONEY_CEILING, "2.35");
    assert_rounds("-2.349", 2, MONEY_CEILING, "-2.34");
    assert_rounds("-2.345", 2, MONEY_CEILING, "-2.34");
    assert_rounds("2.349", 2, MONEY_FLOOR, "2.34");
    assert_rounds("-2.341", 2, MONEY_FLOOR, "-2.35");
    assert_rounds("-2.345", 2, MONEY_FLOOR, "-2.35");
}

static void test_money_round_exact_value_never_moves(void **state)
{
    (void)state;
    for (int m = 0; m < ALL_MODES; m++) {
        assert_rounds("2.340", 2, (money_round)m, "2.34");
        assert_rounds("-7.000", 0, (money_round)m, "-7");
    }
}

static void test_money_rescale_widens_exactly(void **state)
{
    (void)state;
    assert_rounds("5", 3, MONEY_DOWN, "5.000");
    assert_rounds("-0.1", 18, MONEY_DOWN, "-0.100000000000000000");
}

static void test_money_rescale_overflow_is_erange(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_rescale(money_from_int(INT64_MAX), 1, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_rescale(dec("10"), 18, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_rescale(dec("1"), 19, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_rescale(dec("1"), -1, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(r.coef, 7); /* untouched */
    assert_rounds("9", 18, MONEY_DOWN, "9.000000000000000000");
}

static void test_money_rescale_rejects_unknown_mode(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_rescale(dec("1.5"), 0, (money_round)6, &r), CPQD_EINVAL);
    assert_int_equal(money_mul(dec("1.5"), dec("1"), 0, (money_round)-1, &r), CPQD_EINVAL);
    assert_int_equal(money_div(dec("1.5"), dec("1"), 0, (money_round)99, &r), CPQD_EINVAL);
}

/* --- arithmetic ---------------------------------------------------------- */

static void test_money_add_aligns_scales(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_add(dec("1.5"), dec("0.25"), &r), 0);
    assert_money(r, "1.75");
    assert_int_equal(money_add(dec("1"), dec("-1.00"), &r), 0);
    assert_money(r, "0.00");
    assert_int_equal(money_add(dec("0.000000000000000001"), dec("9"), &r), 0);
    assert_money(r, "9.000000000000000001");
}

static void test_money_sub_aligns_scales(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_sub(dec("1.00"), dec("0.015"), &r), 0);
    assert_money(r, "0.985");
    assert_int_equal(money_sub(dec("0.015"), dec("1"), &r), 0);
    assert_money(r, "-0.985");
}

static void test_money_add_overflow_is_erange(void **state)
{
    money_dec r = {7, 0};
    money_dec max = money_from_int(INT64_MAX), min = money_from_int(-INT64_MAX);
    (void)state;
    assert_int_equal(money_add(max, dec("1"), &r), CPQD_ERANGE);
    assert_int_equal(money_sub(min, dec("1"), &r), CPQD_ERANGE); /* would be INT64_MIN */
    assert_int_equal(money_add(min, dec("-1"), &r), CPQD_ERANGE);
    assert_int_equal(money_add(max, dec("0.1"), &r), CPQD_ERANGE); /* aligning overflows */
    assert_int_equal(r.coef, 7);
    assert_int_equal(money_add(max, dec("-1"), &r), 0);
    assert_int_equal(r.coef, INT64_MAX - 1);
}

static void test_money_mul_rounds_once(void **state)
{
    money_dec r;
    money_dec price = dec("0.0035"), calls = dec("1234567"); /* 4320.9845 exactly */
    (void)state;
    assert_int_equal(money_mul(price, calls, 4, MONEY_DOWN, &r), 0);
    assert_money(r, "4320.9845");
    /* rounding to 3 places first would give 4320.985, then 4320.99 */
    assert_int_equal(money_mul(price, calls, 2, MONEY_HALF_UP, &r), 0);
    assert_money(r, "4320.98");
    assert_int_equal(money_mul(price, calls, 2, MONEY_UP, &r), 0);
    assert_money(r, "4320.99");
    assert_int_equal(money_mul(price, calls, 2, MONEY_HALF_EVEN, &r), 0);
    assert_money(r, "4320.98");
}

static void test_money_mul_exact_halves_follow_mode(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_mul(dec("1.25"), dec("0.5"), 2, MONEY_HALF_UP, &r), 0); /* 0.625 */
    assert_money(r, "0.63");
    assert_int_equal(money_mul(dec("1.25"), dec("0.5"), 2, MONEY_HALF_EVEN, &r), 0);
    assert_money(r, "0.62");
    assert_int_equal(money_mul(dec("-1.25"), dec("0.5"), 2, MONEY_HALF_UP, &r), 0);
    assert_money(r, "-0.63");
    assert_int_equal(money_mul(dec("-1.25"), dec("0.5"), 2, MONEY_CEILING, &r), 0);
    assert_money(r, "-0.62");
    assert_int_equal(money_mul(dec("-1.25"), dec("0.5"), 2, MONEY_FLOOR, &r), 0);
    assert_money(r, "-0.63");
}

static void test_money_mul_widens_exactly(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_mul(dec("1.5"), dec("2.25"), 5, MONEY_DOWN, &r), 0);
    assert_money(r, "3.37500");
}

static void test_money_mul_overflow_is_erange(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_mul(money_from_int(INT64_MAX), dec("2"), 0, MONEY_DOWN, &r),
                     CPQD_ERANGE);
    assert_int_equal(money_mul(dec("10000000000"), dec("1000000000"), 0, MONEY_DOWN, &r),
                     CPQD_ERANGE);
    assert_int_equal(money_mul(dec("1"), dec("1"), 19, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(r.coef, 7);
}

static void test_money_mul_wide_product_narrow_result(void **state)
{
    money_dec r;
    money_dec one = dec("1.000000000000000000"); /* coef 10^18 */
    (void)state;
    assert_int_equal(money_mul(one, money_from_int(INT64_MAX), 0, MONEY_DOWN, &r), 0);
    assert_int_equal(r.coef, INT64_MAX);
    assert_int_equal(r.scale, 0);
}

static void test_money_mul_int_is_exact(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_mul_int(dec("0.0035"), 1000, &r), 0);
    assert_money(r, "3.5000");
    assert_int_equal(money_mul_int(dec("19.99"), -3, &r), 0);
    assert_money(r, "-59.97");
    assert_int_equal(money_mul_int(money_from_int(INT64_MAX), -1, &r), 0);
    assert_int_equal(r.coef, -INT64_MAX);
}

static void test_money_mul_int_overflow_is_erange(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_mul_int(money_from_int(INT64_MAX), 2, &r), CPQD_ERANGE);
    /* -2^62 * 2 is INT64_MIN: representable in int64, outside the range */
    assert_int_equal(money_mul_int(money_from_int(-4611686018427387904), 2, &r), CPQD_ERANGE);
    assert_int_equal(r.coef, 7);
}

static void test_money_div_rounds_once(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_div(dec("100.00"), dec("3"), 2, MONEY_HALF_UP, &r), 0);
    assert_money(r, "33.33");
    assert_int_equal(money_div(dec("100.00"), dec("3"), 2, MONEY_UP, &r), 0);
    assert_money(r, "33.34");
    assert_int_equal(money_div(dec("2"), dec("3"), 4, MONEY_HALF_EVEN, &r), 0);
    assert_money(r, "0.6667");
    assert_int_equal(money_div(dec("1"), dec("8"), 2, MONEY_HALF_EVEN, &r), 0); /* 0.125 */
    assert_money(r, "0.12");
    assert_int_equal(money_div(dec("1"), dec("8"), 2, MONEY_HALF_UP, &r), 0);
    assert_money(r, "0.13");
}

static void test_money_div_signs(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_div(dec("-2"), dec("3"), 2, MONEY_FLOOR, &r), 0);
    assert_money(r, "-0.67");
    assert_int_equal(money_div(dec("2"), dec("-3"), 2, MONEY_CEILING, &r), 0);
    assert_money(r, "-0.66");
    assert_int_equal(money_div(dec("-2"), dec("-3"), 2, MONEY_DOWN, &r), 0);
    assert_money(r, "0.66");
    assert_int_equal(money_div(dec("-1"), dec("8"), 2, MONEY_HALF_UP, &r), 0);
    assert_money(r, "-0.13");
}

static void test_money_div_mixed_scales(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_div(dec("1.5"), dec("0.25"), 0, MONEY_DOWN, &r), 0);
    assert_money(r, "6");
    assert_int_equal(money_div(dec("1.5"), dec("0.25"), 3, MONEY_DOWN, &r), 0);
    assert_money(r, "6.000");
    assert_int_equal(money_div(dec("0.000000000000000001"), dec("1000"), 18, MONEY_UP, &r), 0);
    assert_money(r, "0.000000000000000001");
}

static void test_money_div_by_zero(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_div(dec("1"), dec("0"), 2, MONEY_HALF_UP, &r), CPQD_EDIVZERO);
    assert_int_equal(money_div(dec("0"), dec("0.00"), 2, MONEY_HALF_UP, &r), CPQD_EDIVZERO);
    assert_int_equal(r.coef, 7);
}

static void test_money_div_overflow_is_erange(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_div(money_from_int(INT64_MAX), dec("0.1"), 0, MONEY_DOWN, &r),
                     CPQD_ERANGE);
    assert_int_equal(money_div(dec("1"), dec("0.000000000000000001"), 18, MONEY_DOWN, &r),
                     CPQD_ERANGE);
    assert_int_equal(money_div(money_from_int(INT64_MAX), dec("1"), 18, MONEY_DOWN, &r),
                     CPQD_ERANGE);
}

static void test_money_cmp_ignores_scale(void **state)
{
    (void)state;
    assert_int_equal(money_cmp(dec("1.50"), dec("1.5")), 0);
    assert_int_equal(money_cmp(dec("1.499"), dec("1.5")), -1);
    assert_int_equal(money_cmp(dec("100"), dec("1.000000000000000000")), 1);
    assert_int_equal(money_cmp(dec("-1"), dec("0.00")), -1);
    assert_int_equal(money_cmp(money_from_int(-INT64_MAX), money_from_int(INT64_MAX)), -1);
}

static void test_money_sign_and_zero(void **state)
{
    (void)state;
    assert_int_equal(money_sign(dec("-0.01")), -1);
    assert_int_equal(money_sign(dec("0.000")), 0);
    assert_int_equal(money_sign(dec("3")), 1);
    assert_true(money_is_zero(dec("-0.000")));
    assert_false(money_is_zero(dec("0.000000000000000001")));
}

static void test_money_neg_is_exact(void **state)
{
    money_dec r;
    (void)state;
    assert_money(money_neg(dec("1.50")), "-1.50");
    assert_money(money_neg(money_from_int(-INT64_MAX)), "9223372036854775807");
    assert_int_equal(money_negate(dec("-0.25"), &r), 0);
    assert_money(r, "0.25");
}

static void test_money_neg_of_invalid_stays_invalid(void **state)
{
    money_dec bad = money_from_int(INT64_MIN), r;
    (void)state;
    assert_false(money_is_valid(bad));
    assert_int_equal(money_neg(bad).coef, INT64_MIN);
    assert_int_equal(money_negate(bad, &r), CPQD_ERANGE);
}

static void test_money_invalid_operands_are_erange(void **state)
{
    money_dec r, one = dec("1");
    money_dec poison = money_from_int(INT64_MIN), wide = {1, 19}, neg = {1, -1};
    (void)state;
    assert_true(money_is_valid(one));
    assert_false(money_is_valid(wide));
    assert_int_equal(money_add(poison, one, &r), CPQD_ERANGE);
    assert_int_equal(money_sub(one, wide, &r), CPQD_ERANGE);
    assert_int_equal(money_mul(neg, one, 0, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_div(one, poison, 0, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_mul_int(wide, 2, &r), CPQD_ERANGE);
    assert_int_equal(money_rescale(poison, 0, MONEY_DOWN, &r), CPQD_ERANGE);
    assert_int_equal(money_normalize(wide, &r), CPQD_ERANGE);
}

static void test_money_normalize_strips_fraction_zeros(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_normalize(dec("1.500"), &r), 0);
    assert_money(r, "1.5");
    assert_int_equal(money_normalize(dec("-2.340"), &r), 0);
    assert_money(r, "-2.34");
    assert_int_equal(money_normalize(dec("0.000"), &r), 0);
    assert_money(r, "0");
    assert_int_equal(money_normalize(dec("100"), &r), 0);
    assert_money(r, "100");
    assert_int_equal(money_normalize(dec("100.0"), &r), 0);
    assert_money(r, "100");
}

static void test_money_from_int_has_scale_zero(void **state)
{
    (void)state;
    assert_money(money_from_int(42), "42");
    assert_money(money_from_int(-42), "-42");
}

/* --- currencies ---------------------------------------------------------- */

static void test_money_currency_minor_table(void **state)
{
    static const struct {
        const char *code;
        int minor;
    } want[] = {
        {"CNY", 2}, {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"TWD", 2}, {"SGD", 2},
        {"AUD", 2}, {"CAD", 2}, {"CHF", 2}, {"INR", 2}, {"JPY", 0}, {"KRW", 0}, {"VND", 0},
        {"CLP", 0}, {"ISK", 0}, {"UGX", 0}, {"XAF", 0}, {"XOF", 0}, {"BHD", 3}, {"KWD", 3},
        {"OMR", 3}, {"JOD", 3}, {"TND", 3}, {"IQD", 3}, {"LYD", 3}, {"AED", 2}, {"ZWG", 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int minor = -1;
        assert_int_equal(money_currency_minor(want[i].code, &minor), 0);
        if (minor != want[i].minor)
            fail_msg("%s: minor %d, want %d", want[i].code, minor, want[i].minor);
    }
}

static void test_money_currency_unknown_is_enotfound(void **state)
{
    int minor = -1;
    (void)state;
    assert_int_equal(money_currency_minor("ABC", &minor), CPQD_ENOTFOUND);
    assert_int_equal(money_currency_minor("XAU", &minor), CPQD_ENOTFOUND);
    assert_int_equal(minor, -1);
}

static void test_money_currency_malformed_is_einval(void **state)
{
    static const char *const bad[] = {"usd", "US", "USDX", "", "U1D", "US ", "Usd"};
    int minor;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (money_currency_minor(bad[i], &minor) != CPQD_EINVAL)
            fail_msg("\"%s\" accepted as a currency code", bad[i]);
    }
    assert_int_equal(money_currency_minor(NULL, &minor), CPQD_EINVAL);
}

static void test_money_round_to_jpy(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_round_to_currency(dec("1234.5"), "JPY", MONEY_HALF_UP, &r), 0);
    assert_money(r, "1235");
    assert_int_equal(money_round_to_currency(dec("1234.5"), "JPY", MONEY_HALF_EVEN, &r), 0);
    assert_money(r, "1234");
    assert_int_equal(money_round_to_currency(dec("-1234.5"), "JPY", MONEY_FLOOR, &r), 0);
    assert_money(r, "-1235");
}

static void test_money_round_to_kwd(void **state)
{
    money_dec r;
    (void)state;
    assert_int_equal(money_round_to_currency(dec("1.23450"), "KWD", MONEY_HALF_UP, &r), 0);
    assert_money(r, "1.235");
    assert_int_equal(money_round_to_currency(dec("1.23450"), "KWD", MONEY_HALF_EVEN, &r), 0);
    assert_money(r, "1.234");
    assert_int_equal(money_round_to_currency(dec("2"), "KWD", MONEY_HALF_UP, &r), 0);
    assert_money(r, "2.000");
}

static void test_money_round_to_unknown_currency(void **state)
{
    money_dec r = {7, 0};
    (void)state;
    assert_int_equal(money_round_to_currency(dec("1"), "ZZZ", MONEY_HALF_UP, &r), CPQD_ENOTFOUND);
    assert_int_equal(money_round_to_currency(dec("1"), "jpy", MONEY_HALF_UP, &r), CPQD_EINVAL);
    assert_int_equal(r.coef, 7);
}

/* --- allocation ---------------------------------------------------------- */

/* Asserts out[0..n) formats as the n strings in want. */
static void assert_parts(const money_dec *out, size_t n, const char *const *want)
{
    for (size_t i = 0; i < n; i++) {
        char buf[MONEY_FMT_MAX];
        assert_true(money_format(out[i], buf, sizeof(buf)) > 0);
        if (strcmp(buf, want[i]) != 0)
            fail_msg("part %zu: %s, want %s", i, buf, want[i]);
    }
}

static void test_money_split_residue_goes_first(void **state)
{
    money_dec out[3];
    (void)state;
    assert_int_equal(money_split(dec("100.00"), 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"33.34", "33.33", "33.33"});
    assert_int_equal(money_split(dec("0.05"), 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"0.02", "0.02", "0.01"});
}

static void test_money_split_negative_mirrors_positive(void **state)
{
    money_dec out[3];
    (void)state;
    assert_int_equal(money_split(dec("-100.00"), 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"-33.34", "-33.33", "-33.33"});
}

static void test_money_split_cent_in_three(void **state)
{
    money_dec out[3];
    (void)state;
    assert_int_equal(money_split(dec("0.01"), 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"0.01", "0.00", "0.00"});
}

static void test_money_split_widens_total(void **state)
{
    money_dec out[3];
    (void)state;
    assert_int_equal(money_split(dec("100"), 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"33.34", "33.33", "33.33"});
    assert_int_equal(money_split(dec("100.000"), 3, 2, out), 0); /* trailing zeros are exact */
    assert_parts(out, 3, (const char *const[]){"33.34", "33.33", "33.33"});
}

static void test_money_split_rejects_bad_arguments(void **state)
{
    money_dec out[3] = {{7, 0}, {7, 0}, {7, 0}};
    (void)state;
    assert_int_equal(money_split(dec("1.00"), 0, 2, out), CPQD_EINVAL);
    assert_int_equal(money_split(dec("0.005"), 3, 2, out), CPQD_EINVAL);
    assert_int_equal(money_split(dec("1"), 3, 19, out), CPQD_ERANGE);
    assert_int_equal(money_split(money_from_int(INT64_MAX), 3, 1, out), CPQD_ERANGE);
    assert_int_equal(out[0].coef, 7);
}

static void test_money_allocate_by_weights(void **state)
{
    money_dec out[3];
    money_dec w[3] = {dec("1"), dec("2"), dec("3")};
    (void)state;
    /* shares 16.666.., 33.333.., 50: floors leave 0.01 for the largest
     * remainder, 0.00666.. of part 0 */
    assert_int_equal(money_allocate(dec("100.00"), w, 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"16.67", "33.33", "50.00"});
}

static void test_money_allocate_weights_of_mixed_scales(void **state)
{
    money_dec out[3];
    money_dec w[3] = {dec("0.5"), dec("1"), dec("1.50")}; /* 1 : 2 : 3 */
    (void)state;
    assert_int_equal(money_allocate(dec("100.00"), w, 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"16.67", "33.33", "50.00"});
}

static void test_money_allocate_ties_go_to_lowest_index(void **state)
{
    money_dec out[4];
    money_dec w[4] = {dec("1"), dec("2"), dec("1"), dec("2")};
    (void)state;
    /* 7 units by 1:2:1:2 -> 1.166, 2.333, 1.166, 2.333; floors 1 2 1 2 leave
     * one unit; parts 1 and 3 tie on 2/6, part 1 wins */
    assert_int_equal(money_allocate(dec("0.07"), w, 4, 2, out), 0);
    assert_parts(out, 4, (const char *const[]){"0.01", "0.03", "0.01", "0.02"});
}

static void test_money_allocate_zero_weight_gets_nothing(void **state)
{
    money_dec out[3];
    money_dec w[3] = {dec("0"), dec("1"), dec("2")};
    (void)state;
    assert_int_equal(money_allocate(dec("1.00"), w, 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"0.00", "0.33", "0.67"});
}

static void test_money_allocate_negative_total(void **state)
{
    money_dec out[3];
    money_dec w[3] = {dec("1"), dec("2"), dec("3")};
    (void)state;
    assert_int_equal(money_allocate(dec("-100.00"), w, 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"-16.67", "-33.33", "-50.00"});
}

static void test_money_allocate_cent_in_three(void **state)
{
    money_dec out[3];
    money_dec w[3] = {dec("1"), dec("1"), dec("1")};
    (void)state;
    assert_int_equal(money_allocate(dec("0.01"), w, 3, 2, out), 0);
    assert_parts(out, 3, (const char *const[]){"0.01", "0.00", "0.00"});
}

static void test_money_allocate_total_not_representable(void **state)
{
    money_dec out[2] = {{7, 0}, {7, 0}};
    money_dec w[2] = {dec("1"), dec("1")};
    (void)state;
    assert_int_equal(money_allocate(dec("0.005"), w, 2, 2, out), CPQD_EINVAL);
    assert_int_equal(money_allocate(money_from_int(INT64_MAX), w, 2, 1, out), CPQD_ERANGE);
    assert_int_equal(out[0].coef, 7);
}

static void test_money_allocate_rejects_bad_weights(void **state)
{
    money_dec out[2] = {{7, 0}, {7, 0}};
    money_dec negative[2] = {dec("1"), dec("-1")}, zeros[2] = {dec("0"), dec("0.00")};
    money_dec wide[2] = {{1, 19}, dec("1")};
    money_dec unaligned[2] = {money_from_int(INT64_MAX), dec("0.1")};
    (void)state;
    assert_int_equal(money_allocate(dec("1"), negative, 2, 2, out), CPQD_EINVAL);
    assert_int_equal(money_allocate(dec("1"), zeros, 2, 2, out), CPQD_EINVAL);
    assert_int_equal(money_allocate(dec("1"), negative, 0, 2, out), CPQD_EINVAL);
    assert_int_equal(money_allocate(dec("1"), NULL, 2, 2, out), CPQD_EINVAL);
    assert_int_equal(money_allocate(dec("1"), wide, 2, 2, out), CPQD_ERANGE);
    assert_int_equal(money_allocate(dec("1"), unaligned, 2, 2, out), CPQD_ERANGE);
    assert_int_equal(out[0].coef, 7);
}

static void test_money_allocate_extremes_use_128_bits(void **state)
{
    money_dec out[2];
    money_dec w[2] = {money_from_int(INT64_MAX), dec("1")};
    (void)state;
    /* T = 2^63 - 1 over W = 2^63: share 0 = T*T/W = 2^63 - 2 + 1/2^63,
     * share 1 = T/W = 1 - 1/2^63; the left-over unit goes to part 1 */
    assert_int_equal(money_allocate(money_from_int(INT64_MAX), w, 2, 0, out), 0);
    assert_int_equal(out[0].coef, INT64_MAX - 1);
    assert_int_equal(out[1].coef, 1);
}

static void test_money_allocate_many_parts(void **state)
{
    money_dec w[40], out[40];
    (void)state;
    for (int i = 0; i < 40; i++)
        w[i] = money_from_int(1);
    /* 1.00 in 40: 0.025 each; 20 parts get 0.03, the first 20 */
    assert_int_equal(money_allocate(dec("1.00"), w, 40, 2, out), 0);
    for (int i = 0; i < 40; i++)
        assert_money(out[i], i < 20 ? "0.03" : "0.02");
}

/* --- randomized, against an independent reference ------------------------ */

static uint64_t rng_state;

/* splitmix64 */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

/* Each randomized test restarts from the printed seed plus its own salt, so
 * any one of them replays alone. */
static void rng_start(uint64_t salt)
{
    rng_state = seed ^ (salt * 0x2545F4914F6CDD1Du);
}

static i128 ref_pow10(int e)
{
    i128 p = 1;
    while (e-- > 0)
        p *= 10;
    return p;
}

/* A coefficient of 1..19 digits (half the time 1..4, so that products and
 * quotients often land on exact halves) with a random sign. */
static int64_t rng_coef(void)
{
    int digits = 1 + (int)rng_below(rng_below(2) ? 4 : 19);
    uint64_t lim = digits == 19 ? (uint64_t)INT64_MAX : (uint64_t)ref_pow10(digits);
    int64_t c = (int64_t)rng_below(lim);
    return rng_below(2) ? -c : c;
}

/* A target scale for rounding a value with `from` places: half the time
 * one to three places fewer (where exact halves are likely), else any. */
static int rng_target(int from)
{
    int to = from - 1 - (int)rng_below(3);
    if (rng_below(2))
        return (int)rng_below(MONEY_MAX_SCALE + 1);
    return to < 0 ? 0 : to > MONEY_MAX_SCALE ? MONEY_MAX_SCALE : to;
}

static money_dec rng_dec(int max_scale)
{
    return (money_dec){rng_coef(), (int)rng_below((uint64_t)max_scale + 1)};
}

/* n / d rounded to an integer, d > 0. Built differently from money.c on
 * purpose: floor division first, then each mode's rule on the fraction. */
static i128 ref_round(i128 n, i128 d, money_round mode, int *half)
{
    i128 fl = n / d, fr = n % d;
    if (fr < 0) {
        fl -= 1;
        fr += d;
    }
    *half = fr != 0 && 2 * fr == d;
    if (fr == 0)
        return fl;
    switch (mode) {
    case MONEY_FLOOR:
        return fl;
    case MONEY_CEILING:
        return fl + 1;
    case MONEY_DOWN:
        return n < 0 ? fl + 1 : fl;
    case MONEY_UP:
        return n < 0 ? fl : fl + 1;
    case MONEY_HALF_UP:
        if (2 * fr != d)
            return 2 * fr > d ? fl + 1 : fl;
        return n < 0 ? fl : fl + 1;
    case MONEY_HALF_EVEN:
        if (2 * fr != d)
            return 2 * fr > d ? fl + 1 : fl;
        return fl % 2 == 0 ? fl : fl + 1;
    }
    return 0;
}

/* Expected result code and coefficient of taking exact value x * 10^-from
 * to `to` places with mode. */
static int ref_scale(i128 x, int from, int to, money_round mode, int64_t *coef, int *half)
{
    *half = 0;
    if (to >= from && __builtin_mul_overflow(x, ref_pow10(to - from), &x))
        return CPQD_ERANGE;
    if (to < from)
        x = ref_round(x, ref_pow10(from - to), mode, half);
    if (x > INT64_MAX || x < -INT64_MAX)
        return CPQD_ERANGE;
    *coef = (int64_t)x;
    return 0;
}

static void check_against_ref(int rc, money_dec got, int want_rc, int64_t want, int scale)
{
    if (rc != want_rc)
        fail_msg("seed %llu: rc %d, want %d", (unsigned long long)seed, rc, want_rc);
    if (rc == 0 && (got.coef != want || got.scale != scale))
        fail_msg("seed %llu: got %lld scale %d, want %lld scale %d", (unsigned long long)seed,
                 (long long)got.coef, got.scale, (long long)want, scale);
}

static void test_money_random_rescale_matches_reference(void **state)
{
    int halves = 0;
    (void)state;
    rng_start(1);
    for (int i = 0; i < 30000; i++) {
        money_dec v = rng_dec(MONEY_MAX_SCALE), got = {0, 0};
        int to = rng_target(v.scale), half;
        money_round mode = (money_round)rng_below(ALL_MODES);
        int64_t want = 0;
        int want_rc = ref_scale(v.coef, v.scale, to, mode, &want, &half);
        check_against_ref(money_rescale(v, to, mode, &got), got, want_rc, want, to);
        halves += half;
    }
    assert_true(halves > 100); /* the half rules were exercised */
}

static void test_money_random_mul_matches_reference(void **state)
{
    int halves = 0;
    (void)state;
    rng_start(2);
    for (int i = 0; i < 30000; i++) {
        money_dec a = rng_dec(MONEY_MAX_SCALE), b = rng_dec(MONEY_MAX_SCALE), got = {0, 0};
        int to = rng_target(a.scale + b.scale), half;
        money_round mode = (money_round)rng_below(ALL_MODES);
        int64_t want = 0;
        int want_rc = ref_scale((i128)a.coef * b.coef, a.scale + b.scale, to, mode, &want, &half);
        check_against_ref(money_mul(a, b, to, mode, &got), got, want_rc, want, to);
        halves += half;
    }
    assert_true(halves > 100);
}

static void test_money_random_div_matches_reference(void **state)
{
    (void)state;
    rng_start(7);
    for (int i = 0; i < 30000; i++) {
        money_dec a = rng_dec(MONEY_MAX_SCALE), b = rng_dec(MONEY_MAX_SCALE), got = {0, 0};
        int to = (int)rng_below(MONEY_MAX_SCALE + 1), half;
        money_round mode = (money_round)rng_below(ALL_MODES);
        int rc = money_div(a, b, to, mode, &got);
        if (b.coef == 0) {
            assert_int_equal(rc, CPQD_EDIVZERO);
            continue;
        }
        /* a / b at `to` places is a.coef * 10^(to + b.scale) / (b.coef * 10^a.scale);
         * cancel the common power so that |d| < 2^63, then an n beyond 2^127
         * means a quotient beyond 2^64 */
        int k = a.scale < to + b.scale ? a.scale : to + b.scale;
        i128 n, d = (i128)b.coef * ref_pow10(a.scale - k);
        int64_t want = 0;
        int want_rc = CPQD_ERANGE;
        if (!__builtin_mul_overflow((i128)a.coef, ref_pow10(to + b.scale - k), &n)) {
            i128 q = d < 0 ? ref_round(-n, -d, mode, &half) : ref_round(n, d, mode, &half);
            want_rc = q > INT64_MAX || q < -INT64_MAX ? CPQD_ERANGE : 0;
            want = (int64_t)q;
        }
        check_against_ref(rc, got, want_rc, want, to);
    }
}

/* Exact value of v at scale s (s >= v.scale). */
static i128 at_scale(money_dec v, int s)
{
    return (i128)v.coef * ref_pow10(s - v.scale);
}

static void test_money_random_add_sub_inverse(void **state)
{
    (void)state;
    rng_start(3);
    for (int i = 0; i < 30000; i++) {
        money_dec a = rng_dec(MONEY_MAX_SCALE), b = rng_dec(MONEY_MAX_SCALE), s, back;
        int scale = a.scale > b.scale ? a.scale : b.scale;
        i128 exact = at_scale(a, scale) + at_scale(b, scale);
        int rc = money_add(a, b, &s);
        if (exact > INT64_MAX || exact < -INT64_MAX) {
            assert_int_equal(rc, CPQD_ERANGE);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_true(s.coef == (int64_t)exact && s.scale == scale);
        /* a may not fit at the wider scale although a + b does: 10^18 + -0.1 */
        i128 wide_a = at_scale(a, scale);
        rc = money_sub(s, b, &back);
        if (wide_a > INT64_MAX || wide_a < -INT64_MAX) {
            assert_int_equal(rc, CPQD_ERANGE);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(money_cmp(back, a), 0);
    }
}

static void test_money_random_cmp_consistent_across_scales(void **state)
{
    (void)state;
    rng_start(4);
    for (int i = 0; i < 30000; i++) {
        money_dec a = rng_dec(MONEY_MAX_SCALE), b = rng_dec(MONEY_MAX_SCALE), d, w, nrm;
        int c = money_cmp(a, b);
        assert_int_equal(money_cmp(b, a), -c);
        if (money_sub(a, b, &d) == 0)
            assert_int_equal(money_sign(d), c);
        if (money_rescale(a, MONEY_MAX_SCALE, MONEY_DOWN, &w) == 0)
            assert_int_equal(money_cmp(w, a), 0);
        assert_int_equal(money_normalize(a, &nrm), 0);
        assert_int_equal(money_cmp(nrm, a), 0);
        assert_int_equal(money_cmp(a, a), 0);
    }
}

static void test_money_random_format_parse_round_trip(void **state)
{
    (void)state;
    rng_start(5);
    for (int i = 0; i < 30000; i++) {
        money_dec v = rng_dec(MONEY_MAX_SCALE), back = {0, 0};
        char buf[MONEY_FMT_MAX];
        int len = money_format(v, buf, sizeof(buf));
        assert_true(len > 0 && (size_t)len == strlen(buf));
        assert_int_equal(money_parse(buf, (size_t)len, &back), 0);
        assert_true(back.coef == v.coef && back.scale == v.scale);
    }
}

/* Checks one allocation against its definition: parts add up to the total,
 * each is its exact share truncated plus 0 or 1 unit, and the extra units
 * went to the largest remainders, ties to the lowest index. */
static void check_allocation(money_dec total, const money_dec *w, size_t n, int scale,
                             const money_dec *out)
{
    int ws = 0;
    for (size_t i = 0; i < n; i++)
        ws = w[i].scale > ws ? w[i].scale : ws;
    i128 t = at_scale(total.coef < 0 ? money_neg(total) : total, scale), sum_w = 0, sum = 0;
    i128 rem[16];
    int extra[16];
    for (size_t i = 0; i < n; i++)
        sum_w += at_scale(w[i], ws);
    for (size_t i = 0; i < n; i++) {
        i128 share = t * at_scale(w[i], ws), part = total.coef < 0 ? -out[i].coef : out[i].coef;
        assert_int_equal(out[i].scale, scale);
        rem[i] = share % sum_w;
        extra[i] = (int)(part - share / sum_w);
        assert_true(extra[i] == 0 || extra[i] == 1); /* off by less than one unit */
        sum += part;
    }
    assert_true(sum == t);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (extra[i] && !extra[j])
                assert_true(rem[i] > rem[j] || (rem[i] == rem[j] && i < j));
        }
    }
}

static void test_money_random_allocation_adds_up(void **state)
{
    int checked = 0;
    (void)state;
    rng_start(6);
    for (int i = 0; i < 5000; i++) {
        money_dec total = rng_dec(4), w[16], out[16];
        size_t n = 1 + rng_below(16);
        int scale = total.scale + (int)rng_below(4);
        int any = 0;
        for (size_t k = 0; k < n; k++) {
            int64_t c = rng_below(5) == 0 ? 0 : (int64_t)rng_below(rng_below(2) ? 10 : 1000000);
            w[k] = (money_dec){c, (int)rng_below(4)};
            any |= c != 0;
        }
        int rc = money_allocate(total, w, n, scale, out);
        if (at_scale(total, scale) > INT64_MAX || at_scale(total, scale) < -INT64_MAX) {
            assert_int_equal(rc, CPQD_ERANGE); /* the total is checked first */
            continue;
        }
        if (!any) {
            assert_int_equal(rc, CPQD_EINVAL);
            continue;
        }
        assert_int_equal(rc, 0);
        check_allocation(total, w, n, scale, out);
        checked++;
    }
    assert_true(checked > 3000);
}

int main(void)
{
    const char *env = getenv("MONEY_SEED");
    seed = env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
    printf("money: random seed %llu (replay with MONEY_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_parse_keeps_written_scale),
        cmocka_unit_test(test_money_parse_allows_leading_zeros),
        cmocka_unit_test(test_money_parse_negative_zero_is_zero),
        cmocka_unit_test(test_money_parse_rejects_malformed_text),
        cmocka_unit_test(test_money_parse_accepts_18_fraction_digits),
        cmocka_unit_test(test_money_parse_overflow_is_erange),
        cmocka_unit_test(test_money_parse_reads_only_len_bytes),
        cmocka_unit_test(test_money_format_writes_exact_scale),
        cmocka_unit_test(test_money_format_small_buffer_is_erange),
        cmocka_unit_test(test_money_format_rejects_invalid_value),
        cmocka_unit_test(test_money_parse_format_round_trip),
        cmocka_unit_test(test_money_round_names_round_trip),
        cmocka_unit_test(test_money_round_parse_rejects_unknown),
        cmocka_unit_test(test_money_round_half_up_exact_halves),
        cmocka_unit_test(test_money_round_half_even_exact_halves),
        cmocka_unit_test(test_money_round_up_and_down_on_negatives),
        cmocka_unit_test(test_money_round_ceiling_and_floor_on_negatives),
        cmocka_unit_test(test_money_round_exact_value_never_moves),
        cmocka_unit_test(test_money_rescale_widens_exactly),
        cmocka_unit_test(test_money_rescale_overflow_is_erange),
        cmocka_unit_test(test_money_rescale_rejects_unknown_mode),
        cmocka_unit_test(test_money_add_aligns_scales),
        cmocka_unit_test(test_money_sub_aligns_scales),
        cmocka_unit_test(test_money_add_overflow_is_erange),
        cmocka_unit_test(test_money_mul_rounds_once),
        cmocka_unit_test(test_money_mul_exact_halves_follow_mode),
        cmocka_unit_test(test_money_mul_widens_exactly),
        cmocka_unit_test(test_money_mul_overflow_is_erange),
        cmocka_unit_test(test_money_mul_wide_product_narrow_result),
        cmocka_unit_test(test_money_mul_int_is_exact),
        cmocka_unit_test(test_money_mul_int_overflow_is_erange),
        cmocka_unit_test(test_money_div_rounds_once),
        cmocka_unit_test(test_money_div_signs),
        cmocka_unit_test(test_money_div_mixed_scales),
        cmocka_unit_test(test_money_div_by_zero),
        cmocka_unit_test(test_money_div_overflow_is_erange),
        cmocka_unit_test(test_money_cmp_ignores_scale),
        cmocka_unit_test(test_money_sign_and_zero),
        cmocka_unit_test(test_money_neg_is_exact),
        cmocka_unit_test(test_money_neg_of_invalid_stays_invalid),
        cmocka_unit_test(test_money_invalid_operands_are_erange),
        cmocka_unit_test(test_money_normalize_strips_fraction_zeros),
        cmocka_unit_test(test_money_from_int_has_scale_zero),
        cmocka_unit_test(test_money_currency_minor_table),
        cmocka_unit_test(test_money_currency_unknown_is_enotfound),
        cmocka_unit_test(test_money_currency_malformed_is_einval),
        cmocka_unit_test(test_money_round_to_jpy),
        cmocka_unit_test(test_money_round_to_kwd),
        cmocka_unit_test(test_money_round_to_unknown_currency),
        cmocka_unit_test(test_money_split_residue_goes_first),
        cmocka_unit_test(test_money_split_negative_mirrors_positive),
        cmocka_unit_test(test_money_split_cent_in_three),
        cmocka_unit_test(test_money_split_widens_total),
        cmocka_unit_test(test_money_split_rejects_bad_arguments),
        cmocka_unit_test(test_money_allocate_by_weights),
        cmocka_unit_test(test_money_allocate_weights_of_mixed_scales),
        cmocka_unit_test(test_money_allocate_ties_go_to_lowest_index),
        cmocka_unit_test(test_money_allocate_zero_weight_gets_nothing),
        cmocka_unit_test(test_money_allocate_negative_total),
        cmocka_unit_test(test_money_allocate_cent_in_three),
        cmocka_unit_test(test_money_allocate_total_not_representable),
        cmocka_unit_test(test_money_allocate_rejects_bad_weights),
        cmocka_unit_test(test_money_allocate_extremes_use_128_bits),
        cmocka_unit_test(test_money_allocate_many_parts),
        cmocka_unit_test(test_money_random_rescale_matches_reference),
        cmocka_unit_test(test_money_random_mul_matches_reference),
        cmocka_unit_test(test_money_random_div_matches_reference),
        cmocka_unit_test(test_money_random_add_sub_inverse),
        cmocka_unit_test(test_money_random_cmp_consistent_across_scales),
        cmocka_unit_test(test_money_random_format_parse_round_trip),
        cmocka_unit_test(test_money_random_allocation_adds_up),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
