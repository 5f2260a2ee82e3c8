/*
 * date: civil calendar arithmetic (see include/cpqd/date.h). The
 * conversions are Howard Hinnant's days_from_civil / civil_from_days
 * algorithms, exact over the proleptic Gregorian calendar.
 */
#include "cpqd/date.h"

#include <stdatomic.h>
#include <time.h>

#include "cpqd/err.h"


static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int date_month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

date_days date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (date_days)(era * 146097 + (int)doe - 719468);
}

void date_to_ymd(date_days z0, int *y, int *m, int *d)
{
    const int z = z0 + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int date_parse(const char *s, size_t len, date_days *out)
{
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return CPQD_EINVAL;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > date_month_days(y, m))
        return CPQD_EINVAL;
    *out = date_from_ymd(y, m, d);
    return 0;
}

void date_format(date_days dd, char buf[DATE_FMT_LEN])
{
    int y, m, d;
    date_to_ymd(dd, &y, &m, &d);
    y = y < 0 ? 0 : y % 10000;
    const int parts[3][2] = {{y, 4}, {m, 2}, {d, 2}};
    char *p = buf;
    for (int i = 0; i < 3; i++) {
        for (int k = parts[i][1] - 1, v = parts[i][0]; k >= 0; k--, v /= 10)
            p[k] = (char)('0' + v % 10);
        p += parts[i][1];
        *p++ = i < 2 ? '-' : '\0';
    }
}

/* The one clock. clock_fixed is DATE_CLOCK_REAL or the fixed day;
 * clock_base is the monotonic second at which it was fixed. Both are set
 * once at startup (date_clock_set) and read from any thread. */
static atomic_int clock_fixed = DATE_CLOCK_REAL;
static _Atomic int64_t clock_base;

static int64_t mono_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

date_days date_today(void)
{
    int fixed = atomic_load_explicit(&clock_fixed, memory_order_relaxed);
    return fixed != DATE_CLOCK_REAL ? (date_days)fixed : (date_days)(date_now() / 86400);
}

int64_t date_now(void)
{
    int fixed = atomic_load_explicit(&clock_fixed, memory_order_relaxed);
    if (fixed == DATE_CLOCK_REAL)
        return (int64_t)time(NULL);
    /* noon of the fixed day, advancing with the process so that stamps
     * still order the writes they record */
    int64_t since = mono_secs() - atomic_load_explicit(&clock_base, memory_order_relaxed);
    return (int64_t)fixed * 86400 + 12 * 3600 + (since > 0 ? since : 0);
}

void date_clock_set(date_days d)
{
    atomic_store_explicit(&clock_base, mono_secs(), memory_order_relaxed);
    atomic_store_explicit(&clock_fixed, (int)d, memory_order_relaxed);
}

void date_stamp(int64_t secs, char buf[DATE_TS_LEN])
{
    date_days d = (date_days)(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400);
    int64_t s = secs - (int64_t)d * 86400;
    const int hms[3] = {(int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60)};
    date_format(d, buf);
    for (int i = 0; i < 3; i++) {
        buf[10 + 3 * i] = i == 0 ? 'T' : ':';
        buf[11 + 3 * i] = (char)('0' + hms[i] / 10);
        buf[12 + 3 * i] = (char)('0' + hms[i] % 10);
    }
    buf[19] = 'Z';
    buf[20] = '\0';
}

void date_stamp_ms(int64_t ms, char buf[DATE_TS_MS_LEN])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int frac = (int)(ms - secs * 1000);
    date_stamp(secs, buf);
    buf[19] = '.';
    buf[20] = (char)('0' + frac / 100);
    buf[21] = (char)('0' + frac / 10 % 10);
    buf[22] = (char)('0' + frac % 10);
    buf[23] = 'Z';
    buf[24] = '\0';
}

int64_t date_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
