/*
 * date: calendar dates (no time, no zone) as days since 1970-01-01.
 *
 * Dates of catalogs and schedules are calendar dates in the catalog's
 * timezone, never instants. Values, share freely.
 */
#ifndef CPQD_DATE_H
#define CPQD_DATE_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t date_days; /* days since 1970-01-01 (negative before) */

#define DATE_FMT_LEN 11 /* "YYYY-MM-DD" + NUL */
#define DATE_TS_LEN 21  /* "YYYY-MM-DDThh:mm:ssZ" + NUL */
#define DATE_TS_MS_LEN 25 /* "YYYY-MM-DDThh:mm:ss.mmmZ" + NUL */

/* Parses exactly "YYYY-MM-DD" (years 1900..9999, a real calendar day).
 * Returns 0 or CPQD_EINVAL. */
int date_parse(const char *s, size_t len, date_days *out);
/* Writes "YYYY-MM-DD" into buf (DATE_FMT_LEN bytes). */
void date_format(date_days d, char buf[DATE_FMT_LEN]);
/* Days from a civil date (proleptic Gregorian; month 1..12). */
date_days date_from_ymd(int y, int m, int d);
/* Civil date of d. */
void date_to_ymd(date_days d, int *y, int *m, int *dd);
/* Days in month m (1..12) of year y. */
int date_month_days(int y, int m);

/* Today (UTC), or the date the clock was set to. The service's one clock:
 * pricing dates by default, quote expiry, receivable statuses and the
 * warning sweep all read it, so tests set it (`cpqd serve --clock DATE`)
 * instead of waiting. Safe from any thread. */
date_days date_today(void);
/* Fixes today to d for the rest of the process (set once at startup,
 * before threads start); DATE_CLOCK_REAL goes back to the real clock. */
#define DATE_CLOCK_REAL INT32_MIN
void date_clock_set(date_days d);
/* Now, in seconds since the epoch, from the same clock: the real time,
 * or once the clock is fixed, noon (UTC) of that day plus the seconds
 * since it was fixed. Every stored timestamp reads it. */
int64_t date_now(void);
/* Writes secs as "YYYY-MM-DDThh:mm:ssZ" (UTC) into buf. */
void date_stamp(int64_t secs, char buf[DATE_TS_LEN]);
/* Writes ms (milliseconds since the epoch) as "YYYY-MM-DDThh:mm:ss.mmmZ"
 * (UTC) into buf: fixed width, so text order is time order. Times before
 * the epoch round down (-1 ms is 1969-12-31T23:59:59.999Z). */
void date_stamp_ms(int64_t ms, char buf[DATE_TS_MS_LEN]);

/* The real time in milliseconds since the epoch, never the fixed clock:
 * for what must agree with other processes and the world (log lines, the
 * outbox's retry times), never for a business date. Safe from any
 * thread. */
int64_t date_wall_ms(void);

#endif
