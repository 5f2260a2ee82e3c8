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
 * Thread-safety: every function is safe from any thread; the level and
 * the format are atomic ints (see log.c).
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

/* The form of every line (default CPQD_LOG_TEXT):
 *   text  2026-05-01T12:34:56.789Z INFO reload: version 3f2a...
 *   json  {"ts":"2026-05-01T12:34:56.789Z","level":"info","msg":"reload: ..."}
 * A JSON line is one object on one line, valid UTF-8 whatever the message
 * holds (control bytes escaped, invalid UTF-8 as U+FFFD), its fields in a
 * fixed order (docs/operations.md). */
typedef enum log_format {
    CPQD_LOG_TEXT,
    CPQD_LOG_JSON,
} log_format;

void log_format_set(log_format f);
log_format log_format_get(void);
/* Parses "text" or "json" into *out. Returns 0, or CPQD_EINVAL. */
int log_format_parse(const char *s, log_format *out);

/* A named value of a structured event (log_fields). */
typedef enum log_kind {
    LOG_STR,   /* str: a string, NULL for null ("-" in text) */
    LOG_INT,   /* num: an integer */
    LOG_MILLI, /* num: thousandths, written as a decimal with three places */
} log_kind;

#define LOG_IN_TEXT 1u /* the field appears in a text line */
#define LOG_IN_JSON 2u /* ... in a JSON line */

typedef struct log_field {
    const char *key; /* a plain ASCII name */
    log_kind kind;
    const char *str;
    long long num;
    unsigned in; /* LOG_IN_TEXT | LOG_IN_JSON */
} log_field;

/* Writes one event with fields if level l is enabled. Text: msg, then
 * " key value" for each field shown in text. JSON: ts, level, msg, then
 * each field shown in JSON as a member. */
void log_fields(log_level l, const char *msg, const log_field *f, size_t n);

/* Writes one event at level l if enabled. Never fails visibly: a failed
 * write is dropped (there is nowhere else to report it). */
void log_msg(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(CPQD_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(CPQD_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(CPQD_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(CPQD_LOG_ERROR, __VA_ARGS__)

#endif
