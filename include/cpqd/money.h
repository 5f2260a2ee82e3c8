/*
 * money: exact decimal amounts, rounding, ISO 4217 minor units and
 * largest-remainder allocation.
 *
 * Values, share freely: a money_dec is a plain value; no function keeps
 * state, takes ownership or returns memory, so all are safe from any thread.
 *
 * A valid value has 0 <= scale <= MONEY_MAX_SCALE and |coef| <= INT64_MAX:
 * the range is symmetric, so negation is always exact. No function returns
 * an invalid value (except money_from_int(INT64_MIN) and money_neg of one,
 * see there); an invalid operand is refused with CPQD_ERANGE.
 *
 * Fallible functions return 0 and write *out, or return a negative CPQD_E*
 * code (cpqd/err.h) and leave *out untouched. Shared failures:
 *   CPQD_ERANGE  an operand is invalid, a requested scale is outside
 *                0..MONEY_MAX_SCALE, or the result does not fit;
 *   CPQD_EINVAL  the rounding mode is not a money_round.
 * Nothing rounds unless it takes a money_round, and each operation rounds
 * once, from its exact result. Out-pointers must not be NULL.
 */
#ifndef CPQD_MONEY_H
#define CPQD_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define MONEY_MAX_SCALE 18

/* Buffer size for money_format that always suffices: sign, 19 digits,
 * '.', and NUL take at most 22 bytes. */
#define MONEY_FMT_MAX 24

typedef struct money_dec {
    int64_t coef; /* value = coef * 10^-scale; never INT64_MIN */
    int scale;    /* places after the point, 0..MONEY_MAX_SCALE */
} money_dec;

typedef enum money_round {
    MONEY_HALF_UP,   /* nearest; halves away from zero (2.345 -> 2.35) */
    MONEY_HALF_EVEN, /* nearest; halves to the even digit (2.345 -> 2.34) */
    MONEY_UP,        /* away from zero */
    MONEY_DOWN,      /* toward zero (truncate) */
    MONEY_CEILING,   /* toward +infinity */
    MONEY_FLOOR,     /* toward -infinity */
} money_round;

/* --- rounding modes ---------------------------------------------------- */

/* Reads a mode name as written in catalogs: "half_up", "half_even", "up",
 * "down", "ceiling" or "floor" (exact, lower case; NUL-terminated name).
 * Returns 0, or CPQD_EINVAL for any other text or NULL. */
int money_round_parse(const char *name, money_round *out);
/* The name money_round_parse accepts for r; NULL if r is not a mode. */
const char *money_round_name(money_round r);

/* --- text -------------------------------------------------------------- */

/* Parses s[0..len) (no NUL needed) as -?[0-9]+(\.[0-9]{1,18})?, keeping
 * the written scale: "1.50" is coef 150, scale 2; "007.5" is 75, scale 1;
 * "-0" is 0. Returns 0; CPQD_EINVAL for anything else (empty, "+1", ".5",
 * "1.", "1e5", spaces, separators, more than 18 fraction digits, NULL s);
 * CPQD_ERANGE if |coef| would exceed INT64_MAX. */
int money_parse(const char *s, size_t len, money_dec *out);
/* Writes v with exactly v.scale decimals ("-1280000.00", "0.0035", "5")
 * and a NUL into buf[0..cap). Returns the length without the NUL, or
 * CPQD_ERANGE if v is invalid or cap is too small (cap = MONEY_FMT_MAX
 * always suffices); buf is then untouched. */
int money_format(money_dec v, char *buf, size_t cap);

/* --- construction and inspection --------------------------------------- */

/* units at scale 0. units == INT64_MIN gives an invalid value that every
 * fallible function refuses with CPQD_ERANGE. */
money_dec money_from_int(int64_t units);
/* 1 if v is valid (see the top of this file), else 0. For values read
 * from storage or built by hand. */
int money_is_valid(money_dec v);
/* -1, 0 or 1 as a < b, a == b, a > b by value, whatever the scales
 * (1.5 == 1.50). Both scales must be in range (a bug otherwise: asserted;
 * a release build then compares the coefficients). */
int money_cmp(money_dec a, money_dec b);
/* -1, 0 or 1 by the sign of a. */
int money_sign(money_dec a);
/* 1 if a is zero at any scale, else 0. */
int money_is_zero(money_dec a);
/* -a at the same scale. Exact for every valid a; an invalid coef
 * INT64_MIN is returned unchanged (it stays invalid, and is refused by the
 * next fallible call). Use money_negate to get the error at once. */
money_dec money_neg(money_dec a);
/* -a at the same scale; CPQD_ERANGE if a is invalid. */
int money_negate(money_dec a, money_dec *out);
/* v without trailing fractional zeros (1.500 -> 1.5, 0.00 -> 0; 100
 * stays 100). CPQD_ERANGE if v is invalid. */
int money_normalize(money_dec v, money_dec *out);

/* --- arithmetic -------------------------------------------------------- */

/* v at exactly `scale` places: exact when widening (5 -> 5.000), rounded
 * with mode when narrowing. CPQD_ERANGE if the result does not fit. */
int money_rescale(money_dec v, int scale, money_round mode, money_dec *out);
/* a + b and a - b, exact, at scale max(a.scale, b.scale). CPQD_ERANGE on
 * overflow. */
int money_add(money_dec a, money_dec b, money_dec *out);
int money_sub(money_dec a, money_dec b, money_dec *out);
/* a * b, computed exactly and rounded once to `scale` places with mode
 * (0.0035 * 1234567 at 2 places half_up is 4320.98). CPQD_ERANGE if the
 * rounded result does not fit; an exact product wider than int64 is fine
 * when the rounded one fits. */
int money_mul(money_dec a, money_dec b, int scale, money_round mode, money_dec *out);
/* a * n, exact, at a's scale (a quantity times a unit price). CPQD_ERANGE
 * on overflow. */
int money_mul_int(money_dec a, int64_t n, money_dec *out);
/* a / b, rounded once to `scale` places with mode (100.00 / 3 at 2 places
 * down is 33.33). CPQD_EDIVZERO if b is zero (checked after the shared
 * failures); CPQD_ERANGE if the result does not fit. */
int money_div(money_dec a, money_dec b, int scale, money_round mode, money_dec *out);

/* --- currencies -------------------------------------------------------- */

/* Minor units of an ISO 4217 currency: 2 for USD, 0 for JPY, 3 for KWD.
 * code is NUL-terminated. Returns 0; CPQD_EINVAL if code is not exactly
 * three letters A-Z (or NULL); CPQD_ENOTFOUND if the table lacks it (fund
 * and metal codes such as CLF, XAU are deliberately absent). */
int money_currency_minor(const char *code, int *out);
/* v rescaled to the minor units of code with mode (1234.5 JPY half_even
 * is 1234; 2 KWD is 2.000). Failures as money_currency_minor and
 * money_rescale. */
int money_round_to_currency(money_dec v, const char *code, money_round mode, money_dec *out);

/* --- allocation -------------------------------------------------------- */

/* Splits total into n parts at `scale` places in proportion to weights
 * (largest remainder): each part is its exact share total * w_i / sum(w)
 * truncated to `scale`, then the units (10^-scale) still missing go one
 * each to the parts with the largest discarded remainders, ties to the
 * lowest index. The parts add up to total exactly and each differs from
 * its exact share by less than one unit. A negative total is split as its
 * absolute value and every part negated, so credits mirror charges.
 * out[0..n) must not overlap weights.
 * Returns 0; CPQD_EINVAL if n == 0, weights or out is NULL, a weight is
 * negative, all weights are zero, or total has more places than `scale`
 * that are not zeros (0.005 at scale 2); CPQD_ERANGE if total or a weight
 * is invalid, total does not fit at `scale`, or a weight aligned to the
 * largest weight scale exceeds int64; CPQD_ENOMEM if n > 16 and the scratch
 * array cannot be allocated (freed before returning). */
int money_allocate(money_dec total, const money_dec *weights, size_t n, int scale, money_dec *out);
/* money_allocate with n equal weights: the residue lands on the first parts
 * (100.00 in 3 is 33.34, 33.33, 33.33). Never allocates. Failures as
 * money_allocate. */
int money_split(money_dec total, size_t n, int scale, money_dec *out);

#endif
