/*
 * log: a leveled logger writing one line per event to stderr.
 *
 * Owns: the process-wide log level and the line format
 *   2026-05-01T12:34:56.789Z INFO reload: version 3f2a... (2 catalogs)
 * Does not own: what is worth logging (callers decide) or rotation (stderr
 * goes wherever the supervisor sends it).
 *
 * Each event is formatted into one buffer and written with a single
 * write(2), so lines from different threads never interleave; newlines and
 * other control bytes inside a message are escaped to keep it one line.
 * Messages longer than LOG_LINE_MAX are truncated with "...".
 *
 * Thread-safety: every function is safe from any thread; the level is an
 * atomic int (see log.c).
 */
#ifndef CPQD_LOG_H
#define CPQD_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LINE_MAX 4096 /* bytes of one line, newline included */

typedef enum log_level {
    CPQD_LOG_DEBUG,
    CPQD_LOG_INFO,
    CPQD_LOG_WARN,
    CPQD_LOG_ERROR,
} log_level;

/* Sets the minimum level that is written (default CPQD_LOG_INFO). */
void log_level_set(log_level l);
log_level log_level_get(void);
/* True if events at level l are written (to skip costly formatting). */
bool log_enabled(log_level l);

/* Parses "debug", "info", "warn" or "error" (exact, lower case) into *out.
 * Returns 0, or CPQD_EINVAL leaving *out unchanged. */
int log_level_parse(const char *s, log_level *out);
/* "DEBUG", "INFO", "WARN", "ERROR". */
const char *log_level_name(log_level l);

/* Writes one event at level l if enabled. Never fails visibly: a failed
 * write is dropped (there is nowhere else to report it). */
void log_msg(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(CPQD_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(CPQD_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(CPQD_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(CPQD_LOG_ERROR, __VA_ARGS__)

#endif
