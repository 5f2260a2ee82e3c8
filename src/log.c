/*
 * log: one line per event on stderr (see include/cpqd/log.h).
 *
 * Globals: `log_cur`, the minimum level written; an atomic int read with
 * relaxed ordering (a level change becoming visible a little late is
 * harmless; it is set once at startup in practice).
 *
 * Invariant: a line is always written with one write(2) call of at most
 * LOG_LINE_MAX bytes, so concurrent writers never interleave within a
 * line (POSIX makes writes of up to PIPE_BUF to a pipe atomic; regular
 * files opened O_APPEND and terminals behave the same in practice).
 */
#include "cpqd/log.h"

#include "cpqd/date.h"
#include "cpqd/digest.h"
#include "cpqd/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_cur = CPQD_LOG_INFO;

static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const log_keys[] = {"debug", "info", "warn", "error"};

void log_level_set(log_level l)
{
    atomic_store_explicit(&log_cur, (int)l, memory_order_relaxed);
}

log_level log_level_get(void)
{
    return (log_level)atomic_load_explicit(&log_cur, memory_order_relaxed);
}

bool log_enabled(log_level l)
{
    return (int)l >= atomic_load_explicit(&log_cur, memory_order_relaxed);
}

int log_level_parse(const char *s, log_level *out)
{
    for (size_t i = 0; i < sizeof(log_keys) / sizeof(log_keys[0]); i++) {
        if (strcmp(s, log_keys[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return CPQD_EINVAL;
}

const char *log_level_name(log_level l)
{
    return (unsigned)l < sizeof(log_names) / sizeof(log_names[0]) ? log_names[l] : "?";
}

/* Appends msg to line[*len..cap), escaping control bytes so that one event
 * stays one line; stops (and marks "...") when the line is full. Bytes
 * >= 0x80 pass through: UTF-8 names must stay readable in the log. */
static void log_escape(char *line, size_t *len, size_t cap, const char *msg)
{
    size_t n = *len;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (n + 5 >= cap) {
            memcpy(line + n, "...", 3);
            n += 3;
            break;
        }
        if (*p >= 0x20 && *p != 0x7f) {
            line[n++] = (char)*p;
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            line[n++] = '\\';
            line[n++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        } else {
            line[n++] = '\\';
            line[n++] = 'x';
            digest_hex(p, 1, line + n); /* room checked above: n + 5 < cap */
            n += 2;
        }
    }
    *len = n;
}

void log_msg(log_level l, const char *fmt, ...)
{
    if (!log_enabled(l))
        return;
    char msg[LOG_LINE_MAX];
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    date_stamp_ms(date_wall_ms(), line); /* the wall clock, even under --clock */
    size_t n = DATE_TS_MS_LEN - 1;
    int k = snprintf(line + n, sizeof(line) - n, " %s ", log_level_name(l));
    if (k > 0)
        n += (size_t)k;
    log_escape(line, &n, sizeof(line) - 1, msg);
    line[n++] = '\n';
    int saved = errno; /* logging must not disturb the caller's errno */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}
