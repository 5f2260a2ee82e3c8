/*
 * money: exact decimal arithmetic (see include/cpqd/money.h).
 *
 * Owns: the money_dec representation, the six rounding modes, decimal text,
 * the ISO 4217 minor-unit table and largest-remainder allocation.
 * Does not own: which scale and mode a price book, tax class or schedule
 * uses (callers name both at every call site), exchange rates, or JSON.
 *
 * Invariant: every value returned has 0 <= scale <= MONEY_MAX_SCALE and
 * |coef| <= INT64_MAX. Intermediates are exact in 128 bits: |coef| < 2^63
 * and 10^18 < 2^60, so a product of two coefficients (< 2^126) or a
 * coefficient times 10^18 (< 2^123) always fits; every step that could
 * exceed that is checked with __builtin_mul_overflow, and every narrowing
 * back to a coefficient goes through dec_store. Rounding happens only in
 * div_round, once per operation. Only integer arithmetic is used.
 * No mutable globals; the tables are const.
 */
#include "cpqd/money.h"

#include "cpqd/err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 money_i128;

static const int64_t pow10_tab[MONEY_MAX_SCALE + 1] = {
    1,
    10,
    100,
    1000,
    10000,
    100000,
    1000000,
    10000000,
    100000000,
    1000000000,
    10000000000,
    100000000000,
    1000000000000,
    10000000000000,
    100000000000000,
    1000000000000000,
    10000000000000000,
    100000000000000000,
    1000000000000000000,
};

/* 10^e for 0 <= e <= 2 * MONEY_MAX_SCALE (10^36 < 2^120). */
static money_i128 pow10_wide(int e)
{
    if (e <= MONEY_MAX_SCALE)
        return pow10_tab[e];
    return (money_i128)pow10_tab[MONEY_MAX_SCALE] * pow10_tab[e - MONEY_MAX_SCALE];
}

static int scale_ok(int scale)
{
    return scale >= 0 && scale <= MONEY_MAX_SCALE;
}

static int dec_ok(money_dec v)
{
    return scale_ok(v.scale) && v.coef != INT64_MIN;
}

static int mode_ok(money_round m)
{
    return (unsigned)m <= (unsigned)MONEY_FLOOR;
}

/* The shared checks of the rounding operations (header: "Shared failures"). */
static int check_args(money_dec a, money_dec b, int scale, money_round mode)
{
    if (!dec_ok(a) || !dec_ok(b) || !scale_ok(scale))
        return CPQD_ERANGE;
    return mode_ok(mode) ? 0 : CPQD_EINVAL;
}

/* The only way back from 128 bits: refuses INT64_MIN too, keeping the
 * range symmetric. */
static int dec_store(money_i128 x, int scale, money_dec *out)
{
    if (x > INT64_MAX || x < -INT64_MAX)
        return CPQD_ERANGE;
    *out = (money_dec){(int64_t)x, scale};
    return 0;
}

/* --- rounding ------------------------------------------------------------ */

/* Whether a quotient truncated toward zero moves one step away from zero.
 * r is the magnitude of the discarded remainder and rest = d - r (both > 0),
 * so r > rest means "more than half" without computing 2r; neg is the sign
 * of the exact quotient, odd whether the truncated one is odd. */
static int round_away(money_i128 r, money_i128 rest, int neg, int odd, money_round mode)
{
    switch (mode) {
    case MONEY_HALF_UP:
        return r >= rest;
    case MONEY_HALF_EVEN:
        return r > rest || (r == rest && odd);
    case MONEY_UP:
        return 1;
    case MONEY_DOWN:
        return 0;
    case MONEY_CEILING:
        return !neg;
    case MONEY_FLOOR:
        return neg;
    }
    return 0;
}

/* n / d rounded to an integer with mode; d > 0. Operands that fit 64
 * bits (nearly all) are divided in 64 bits: a 128-bit division is a
 * library call several times slower; dividing by 1 (a rescale to a
 * larger scale) is no division at all. */
static money_i128 div_round(money_i128 n, money_i128 d, money_round mode)
{
    money_i128 q, r; /* C truncates toward zero */
    if (d == 1)
        return n;
    if (n >= -(money_i128)INT64_MAX && n <= INT64_MAX && d <= INT64_MAX) {
        int64_t n64 = (int64_t)n, d64 = (int64_t)d;
        q = n64 / d64;
        r = n64 % d64;
    } else {
        q = n / d;
        r = n % d;
    }
    if (r == 0)
        return q;
    int neg = n < 0;
    money_i128 mag = neg ? -r : r;
    if (!round_away(mag, d - mag, neg, q % 2 != 0, mode))
        return q;
    return neg ? q - 1 : q + 1;
}

/* Coefficient at `scale` of n * 10^shift / d, rounded once with mode.
 * Callers keep |n| < 2^126, |d| < 2^63 and -36 <= shift <= 36. If n * 10^shift
 * overflows 128 bits the quotient exceeds 2^64, hence CPQD_ERANGE; the check
 * on d cannot fire from the callers below but keeps a new one from wrapping. */
static int quot_round(money_i128 n, money_i128 d, int shift, int scale, money_round mode,
                      money_dec *out)
{
    if (shift >= 0 && __builtin_mul_overflow(n, pow10_wide(shift), &n))
        return CPQD_ERANGE;
    if (shift < 0 && __builtin_mul_overflow(d, pow10_wide(-shift), &d))
        return CPQD_ERANGE;
    if (d < 0) {
        n = -n;
        d = -d;
    }
    return dec_store(div_round(n, d, mode), scale, out);
}

static const char *const round_names[] = {
    [MONEY_HALF_UP] = "half_up", [MONEY_HALF_EVEN] = "half_even", [MONEY_UP] = "up",
    [MONEY_DOWN] = "down",       [MONEY_CEILING] = "ceiling",     [MONEY_FLOOR] = "floor",
};

int money_round_parse(const char *name, money_round *out)
{
    if (!name)
        return CPQD_EINVAL;
    for (unsigned i = 0; i <= (unsigned)MONEY_FLOOR; i++) {
        if (strcmp(name, round_names[i]) == 0) {
            *out = (money_round)i;
            return 0;
        }
    }
    return CPQD_EINVAL;
}

const char *money_round_name(money_round r)
{
    return mode_ok(r) ? round_names[r] : NULL;
}

/* --- text ---------------------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Checks s[0..len) against -?[0-9]+(\.[0-9]{1,18})? and sets *dot to the
 * index of the '.' (len when there is none). */
static int parse_syntax(const char *s, size_t len, size_t *dot)
{
    size_t i = len > 0 && s[0] == '-', start = i;
    while (i < len && is_digit(s[i]))
        i++;
    if (i == start)
        return CPQD_EINVAL;
    *dot = i;
    if (i == len)
        return 0;
    if (s[i] != '.' || len - i - 1 == 0 || len - i - 1 > MONEY_MAX_SCALE)
        return CPQD_EINVAL;
    for (i++; i < len; i++) {
        if (!is_digit(s[i]))
            return CPQD_EINVAL;
    }
    return 0;
}

int money_parse(const char *s, size_t len, money_dec *out)
{
    const uint64_t max = INT64_MAX;
    size_t dot;
    if (!s || parse_syntax(s, len, &dot) != 0)
        return CPQD_EINVAL;
    int neg = s[0] == '-';
    uint64_t mag = 0;
    for (size_t i = (size_t)neg; i < len; i++) {
        if (i == dot)
            continue;
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (max - d) / 10)
            return CPQD_ERANGE;
        mag = mag * 10 + d;
    }
    int64_t coef = (int64_t)mag;
    *out = (money_dec){neg ? -coef : coef, dot < len ? (int)(len - dot - 1) : 0};
    return 0;
}

/* Writes x in decimal backwards ending just before p, at least min
 * digits (zero-padded; one at least), two digits a step; returns the
 * first one written. */
static char *put_digits(char *p, uint64_t x, int min)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    while (x >= 100) {
        unsigned k = (unsigned)(x % 100) * 2;
        x /= 100;
        *--p = pairs[k + 1];
        *--p = pairs[k];
        min -= 2;
    }
    if (x >= 10) {
        *--p = pairs[x * 2 + 1];
        *--p = pairs[x * 2];
        min -= 2;
    } else {
        *--p = (char)('0' + x);
        min--;
    }
    for (; min > 0; min--)
        *--p = '0';
    return p;
}

int money_format(money_dec v, char *buf, size_t cap)
{
    char tmp[MONEY_FMT_MAX];
    char *p = tmp + sizeof(tmp); /* written backwards from the last digit */
    if (!dec_ok(v))
        return CPQD_ERANGE;
    uint64_t mag = v.coef < 0 ? (uint64_t)-v.coef : (uint64_t)v.coef;
    /* the fraction, exactly scale digits; then at least one digit before
     * the point: 0.0035, not .0035 */
    if (v.scale > 0) {
        uint64_t unit = (uint64_t)pow10_tab[v.scale];
        p = put_digits(p, mag % unit, v.scale);
        *--p = '.';
        mag /= unit;
    }
    p = put_digits(p, mag, 1);
    if (v.coef < 0)
        *--p = '-';
    size_t len = (size_t)(tmp + sizeof(tmp) - p);
    if (!buf || len >= cap)
        return CPQD_ERANGE;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return (int)len;
}

/* --- construction and inspection ----------------------------------------- */

money_dec money_from_int(int64_t units)
{
    return (money_dec){units, 0};
}

int money_is_valid(money_dec v)
{
    return dec_ok(v);
}

/* a and b as coefficients at their common (larger) scale, exactly; returns
 * that scale. */
static int align(money_dec a, money_dec b, money_i128 *x, money_i128 *y)
{
    int s = a.scale > b.scale ? a.scale : b.scale;
    *x = (money_i128)a.coef * pow10_tab[s - a.scale];
    *y = (money_i128)b.coef * pow10_tab[s - b.scale];
    return s;
}

int money_cmp(money_dec a, money_dec b)
{
    money_i128 x = a.coef, y = b.coef;
    assert(scale_ok(a.scale) && scale_ok(b.scale));
    if (scale_ok(a.scale) && scale_ok(b.scale))
        align(a, b, &x, &y);
    return (x > y) - (x < y);
}

int money_sign(money_dec a)
{
    return (a.coef > 0) - (a.coef < 0);
}

int money_is_zero(money_dec a)
{
    return a.coef == 0;
}

money_dec money_neg(money_dec a)
{
    if (a.coef == INT64_MIN)
        return a; /* invalid stays invalid rather than overflowing */
    return (money_dec){-a.coef, a.scale};
}

int money_negate(money_dec a, money_dec *out)
{
    if (!dec_ok(a))
        return CPQD_ERANGE;
    *out = money_neg(a);
    return 0;
}

int money_normalize(money_dec v, money_dec *out)
{
    if (!dec_ok(v))
        return CPQD_ERANGE;
    while (v.scale > 0 && v.coef % 10 == 0) {
        v.coef /= 10;
        v.scale--;
    }
    *out = v;
    return 0;
}

/* --- arithmetic ---------------------------------------------------------- */

int money_rescale(money_dec v, int scale, money_round mode, money_dec *out)
{
    int rc = check_args(v, v, scale, mode);
    if (rc)
        return rc;
    return quot_round(v.coef, 1, scale - v.scale, scale, mode, out);
}

int money_add(money_dec a, money_dec b, money_dec *out)
{
    money_i128 x, y;
    if (!dec_ok(a) || !dec_ok(b))
        return CPQD_ERANGE;
    int s = align(a, b, &x, &y);
    return dec_store(x + y, s, out); /* |x + y| < 2^124 */
}

int money_sub(money_dec a, money_dec b, money_dec *out)
{
    money_i128 x, y;
    if (!dec_ok(a) || !dec_ok(b))
        return CPQD_ERANGE;
    int s = align(a, b, &x, &y);
    return dec_store(x - y, s, out);
}

int money_mul(money_dec a, money_dec b, int scale, money_round mode, money_dec *out)
{
    int rc = check_args(a, b, scale, mode);
    if (rc)
        return rc;
    /* the exact product has a.scale + b.scale places (up to 36) */
    money_i128 p = (money_i128)a.coef * b.coef;
    return quot_round(p, 1, scale - (a.scale + b.scale), scale, mode, out);
}

int money_mul_int(money_dec a, int64_t n, money_dec *out)
{
    int64_t c;
    if (!dec_ok(a) || __builtin_mul_overflow(a.coef, n, &c) || c == INT64_MIN)
        return CPQD_ERANGE;
    *out = (money_dec){c, a.scale};
    return 0;
}

int money_div(money_dec a, money_dec b, int scale, money_round mode, money_dec *out)
{
    int rc = check_args(a, b, scale, mode);
    if (rc)
        return rc;
    if (b.coef == 0)
        return CPQD_EDIVZERO;
    /* a / b = (a.coef / b.coef) * 10^(b.scale - a.scale); at `scale`
     * places the coefficient is that times 10^scale */
    return quot_round(a.coef, b.coef, scale + b.scale - a.scale, scale, mode, out);
}

/* --- currencies ---------------------------------------------------------- */

typedef struct currency_minor {
    char code[4]; /* ISO 4217 alphabetic code */
    int minor;    /* minor unit, as ISO 4217 lists it */
} currency_minor;

/* Active ISO 4217 currencies with their listed minor units (ISO's figure
 * even where cash practice differs, e.g. HUF, TWD, IDR). Fund codes (CLF,
 * UYI, BOV, ...) and metals (XAU, ...) are left out on purpose: nobody is
 * quoted in them. Alphabetical, for people; lookup is a linear scan. */
static const currency_minor currency_tab[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2},
    {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2},
    {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2},
    {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2},
    {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2},
    {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2},
    {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2},
    {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2},
    {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2},
    {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2},
    {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0},
    {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

/* Exactly three letters A-Z; stops at the first non-letter, so a short
 * string is never read past its NUL. */
static int code_ok(const char *code)
{
    if (!code)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (code[i] < 'A' || code[i] > 'Z')
            return 0;
    }
    return code[3] == '\0';
}

int money_currency_minor(const char *code, int *out)
{
    if (!code_ok(code))
        return CPQD_EINVAL;
    for (size_t i = 0; i < sizeof(currency_tab) / sizeof(currency_tab[0]); i++) {
        if (memcmp(code, currency_tab[i].code, 3) == 0) {
            *out = currency_tab[i].minor;
            return 0;
        }
    }
    return CPQD_ENOTFOUND;
}

int money_round_to_currency(money_dec v, const char *code, money_round mode, money_dec *out)
{
    int minor;
    int rc = money_currency_minor(code, &minor);
    if (rc)
        return rc;
    return money_rescale(v, minor, mode, out);
}

/* --- allocation ---------------------------------------------------------- */

/* Up to this many parts are ranked in a stack array; more take a calloc. */
#define ALLOC_STACK_KEYS 16

typedef struct alloc_key {
    money_i128 rem; /* |total| * w_i mod sum(w): the truncated share's loss */
    size_t idx;     /* the part's index, the tie-break */
} alloc_key;

/* Largest remainder first; among equal remainders the lowest index. */
static int alloc_key_cmp(const void *pa, const void *pb)
{
    const alloc_key *a = pa, *b = pb;
    if (a->rem != b->rem)
        return a->rem > b->rem ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* |total| in units of 10^-scale. CPQD_EINVAL if that needs rounding: an
 * allocation must not silently change the amount it distributes. */
static int alloc_units(money_dec total, int scale, int64_t *units)
{
    if (!dec_ok(total) || !scale_ok(scale))
        return CPQD_ERANGE;
    int64_t t = total.coef < 0 ? -total.coef : total.coef;
    if (scale >= total.scale)
        return __builtin_mul_overflow(t, pow10_tab[scale - total.scale], units) ? CPQD_ERANGE : 0;
    int64_t d = pow10_tab[total.scale - scale];
    if (t % d != 0)
        return CPQD_EINVAL;
    *units = t / d;
    return 0;
}

/* Weight i as a coefficient at the common weight scale ws; alloc_weights
 * has checked that this fits. */
static int64_t weight_at(const money_dec *w, size_t i, int ws)
{
    return w[i].coef * pow10_tab[ws - w[i].scale];
}

/* Checks the weights and finds their common scale *ws and exact sum. Each
 * aligned weight fits int64, so |total| * w_i < 2^126 later; the sum of
 * n < 2^60 such weights cannot overflow 128 bits. */
static int alloc_weights(const money_dec *w, size_t n, int *ws, money_i128 *sum)
{
    int s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dec_ok(w[i]))
            return CPQD_ERANGE;
        if (w[i].coef < 0)
            return CPQD_EINVAL;
        s = w[i].scale > s ? w[i].scale : s;
    }
    money_i128 total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        if (__builtin_mul_overflow(w[i].coef, pow10_tab[s - w[i].scale], &x))
            return CPQD_ERANGE;
        total += x;
    }
    if (total == 0)
        return CPQD_EINVAL;
    *ws = s;
    *sum = total;
    return 0;
}

/* Writes each share of t units truncated, and its remainder into keys;
 * returns the units still to hand out (fewer than n: the remainders are
 * each below one unit and add up to a whole number of units). */
static int64_t alloc_floors(int64_t t, const money_dec *w, size_t n, int ws, money_i128 sum,
                            int scale, alloc_key *keys, money_dec *out)
{
    int64_t left = t;
    for (size_t i = 0; i < n; i++) {
        money_i128 x = (money_i128)t * weight_at(w, i, ws);
        out[i] = (money_dec){(int64_t)(x / sum), scale};
        keys[i] = (alloc_key){x % sum, i};
        left -= out[i].coef;
    }
    return left;
}

/* One unit each to the `left` parts ranked first by alloc_key_cmp. */
static void alloc_residue(alloc_key *keys, size_t n, int64_t left, money_dec *out)
{
    if (left == 0)
        return;
    qsort(keys, n, sizeof(*keys), alloc_key_cmp);
    for (size_t k = 0; k < (size_t)left; k++)
        out[keys[k].idx].coef++;
}

int money_allocate(money_dec total, const money_dec *weights, size_t n, int scale, money_dec *out)
{
    alloc_key stack[ALLOC_STACK_KEYS], *keys = stack;
    int64_t t;
    int ws;
    money_i128 sum;
    if (n == 0 || !weights || !out)
        return CPQD_EINVAL;
    int rc = alloc_units(total, scale, &t);
    if (rc == 0)
        rc = alloc_weights(weights, n, &ws, &sum);
    if (rc)
        return rc;
    if (n > ALLOC_STACK_KEYS && !(keys = calloc(n, sizeof(*keys))))
        return CPQD_ENOMEM;
    alloc_residue(keys, n, alloc_floors(t, weights, n, ws, sum, scale, keys, out), out);
    for (size_t i = 0; total.coef < 0 && i < n; i++)
        out[i].coef = -out[i].coef;
    if (keys != stack)
        free(keys);
    return 0;
}

int money_split(money_dec total, size_t n, int scale, money_dec *out)
{
    int64_t t;
    if (n == 0 || !out)
        return CPQD_EINVAL;
    int rc = alloc_units(total, scale, &t);
    if (rc)
        return rc;
    /* equal weights: every remainder ties, so the residue goes first */
    uint64_t q = (uint64_t)t / n, r = (uint64_t)t % n;
    for (size_t i = 0; i < n; i++) {
        int64_t c = (int64_t)q + (i < r);
        out[i] = (money_dec){total.coef < 0 ? -c : c, scale};
    }
    return 0;
}
