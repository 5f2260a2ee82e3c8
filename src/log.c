/*
 * log: one line per event on stderr (see include/cpqd/log.h).
 *
 * Globals: `log_cur`, the minimum level written, and `log_fmt`, text or
 * JSON; atomic ints read with relaxed ordering (a change becoming visible
 * a little late is harmless; both are set once at startup in practice).
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
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_cur = CPQD_LOG_INFO;
static atomic_int log_fmt = CPQD_LOG_TEXT;

static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const log_keys[] = {"debug", "info", "warn", "error"};
static const char *const log_formats[] = {"text", "json"};

void log_format_set(log_format f)
{
    atomic_store_explicit(&log_fmt, (int)f, memory_order_relaxed);
}

log_format log_format_get(void)
{
    return (log_format)atomic_load_explicit(&log_fmt, memory_order_relaxed);
}

int log_format_parse(const char *s, log_format *out)
{
    for (size_t i = 0; i < sizeof(log_formats) / sizeof(log_formats[0]); i++) {
        if (strcmp(s, log_formats[i]) == 0) {
            *out = (log_format)i;
            return 0;
        }
    }
    return CPQD_EINVAL;
}

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

/* ---- JSON lines ---- */

#define LOG_JSON_TAIL 8 /* room kept for closing a string and the object */

/* Bytes of the UTF-8 sequence at p (at most n), or 0 if it is not one
 * (overlong forms, surrogates and code points over U+10FFFF refused). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || p[0] > 0xf4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    uint32_t cp = len == 2 ? (p[0] & 0x1fu) : len == 3 ? (p[0] & 0x0fu) : (p[0] & 0x07u);
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3fu);
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Appends s as a JSON string (quotes included) to line[*len..cap),
 * keeping LOG_JSON_TAIL bytes free; a string that does not fit ends in
 * "..." inside its quotes. */
static void json_str(char *line, size_t *len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = *len, end = cap - LOG_JSON_TAIL;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p);
    line[n++] = '"';
    while (left) {
        char esc[8];
        size_t k = 0, take = 1;
        if (*p == '"' || *p == '\\') {
            esc[k++] = '\\', esc[k++] = (char)*p;
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            esc[k++] = '\\', esc[k++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(esc, "\\u00", 4), k = 4;
            esc[k++] = hex[*p >> 4], esc[k++] = hex[*p & 15];
        } else if (*p < 0x80) {
            esc[k++] = (char)*p;
        } else if ((take = utf8_len(p, left)) != 0) {
            memcpy(esc, p, take), k = take;
        } else { /* not UTF-8: a replacement character */
            take = 1;
            memcpy(esc, "\xef\xbf\xbd", 3), k = 3;
        }
        if (n + k + 4 >= end) {
            memcpy(line + n, "...", 3);
            n += 3;
            break;
        }
        memcpy(line + n, esc, k);
        n += k;
        p += take;
        left -= take;
    }
    line[n++] = '"';
    *len = n;
}

/* Appends raw ASCII text (names, numbers) if it fits. */
static void put_raw(char *line, size_t *len, size_t cap, const char *s)
{
    size_t k = strlen(s);
    if (*len + k + LOG_JSON_TAIL < cap) {
        memcpy(line + *len, s, k);
        *len += k;
    }
}

static void json_value(char *line, size_t *n, size_t cap, const log_field *f)
{
    char num[48];
    if (f->kind == LOG_STR && f->str)
        json_str(line, n, cap, f->str);
    else if (f->kind == LOG_STR)
        put_raw(line, n, cap, "null");
    else if (f->kind == LOG_INT)
        snprintf(num, sizeof(num), "%lld", f->num), put_raw(line, n, cap, num);
    else
        snprintf(num, sizeof(num), "%s%lld.%03lld", f->num < 0 ? "-" : "",
                 llabs(f->num) / 1000, llabs(f->num) % 1000),
            put_raw(line, n, cap, num);
}

/* {"ts":...,"level":...,"msg":...,<fields>}\n into line; its length. */
static size_t json_line(char *line, size_t cap, log_level l, const char *msg, const log_field *f,
                        size_t nf)
{
    char ts[DATE_TS_MS_LEN];
    size_t n = 0;
    date_stamp_ms(date_wall_ms(), ts); /* the wall clock, even under --clock */
    put_raw(line, &n, cap, "{\"ts\":\"");
    put_raw(line, &n, cap, ts);
    put_raw(line, &n, cap, "\",\"level\":\"");
    put_raw(line, &n, cap, (unsigned)l < 4 ? log_keys[l] : "info");
    put_raw(line, &n, cap, "\",\"msg\":");
    json_str(line, &n, cap, msg);
    for (size_t i = 0; i < nf; i++) {
        if (!(f[i].in & LOG_IN_JSON) || n + 32 >= cap - LOG_JSON_TAIL)
            continue;
        put_raw(line, &n, cap, ",\"");
        put_raw(line, &n, cap, f[i].key);
        put_raw(line, &n, cap, "\":");
        json_value(line, &n, cap, &f[i]);
    }
    line[n++] = '}';
    line[n++] = '\n';
    return n;
}

/* "<ts> LEVEL msg" with control bytes escaped, then " key value" for
 * each text field, and a newline; its length. */
static size_t text_line(char *line, size_t cap, log_level l, const char *msg, const log_field *f,
                        size_t nf)
{
    date_stamp_ms(date_wall_ms(), line); /* the wall clock, even under --clock */
    size_t n = DATE_TS_MS_LEN - 1;
    int k = snprintf(line + n, cap - n, " %s ", log_level_name(l));
    if (k > 0)
        n += (size_t)k;
    log_escape(line, &n, cap - 1, msg);
    for (size_t i = 0; i < nf; i++) {
        char num[48];
        const char *v = num;
        if (!(f[i].in & LOG_IN_TEXT))
            continue;
        if (n + 8 >= cap) /* full: log_escape has marked it "..." */
            break;
        if (f[i].kind == LOG_STR)
            v = f[i].str ? f[i].str : "-";
        else if (f[i].kind == LOG_INT)
            snprintf(num, sizeof(num), "%lld", f[i].num);
        else
            snprintf(num, sizeof(num), "%lld.%03lld", f[i].num / 1000, llabs(f[i].num) % 1000);
        log_escape(line, &n, cap - 1, " ");
        log_escape(line, &n, cap - 1, f[i].key);
        log_escape(line, &n, cap - 1, " ");
        log_escape(line, &n, cap - 1, v);
    }
    line[n++] = '\n';
    return n;
}

static void log_write(const char *line, size_t n)
{
    int saved = errno; /* logging must not disturb the caller's errno */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}

void log_fields(log_level l, const char *msg, const log_field *f, size_t n)
{
    if (!log_enabled(l))
        return;
    char line[LOG_LINE_MAX];
    size_t len = log_format_get() == CPQD_LOG_JSON ? json_line(line, sizeof(line), l, msg, f, n)
                                                   : text_line(line, sizeof(line), l, msg, f, n);
    log_write(line, len);
}

void log_msg(log_level l, const char *fmt, ...)
{
    if (!log_enabled(l))
        return;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_fields(l, msg, NULL, 0);
}
