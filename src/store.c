/*
 * store: the backend-neutral layer behind include/cpqd/store.h.
 *
 * Owns: choosing the backend from the --db value (store_driver_for: the
 * one place that does), the per-connection statement cache, binding and
 * stepping through the driver (store_int.h), error messages, the failure
 * test hook, transactions, write and read scopes, the debug/test API,
 * `cpqd migrate`. Does not own: a backend's connection, pragmas or
 * dialect (store_sqlite.c), the SQL text (store_sql.c), the schema steps
 * (store_schema.c), the records (store_quote.c, store_idem.c, ...).
 *
 * Invariant: between calls no statement of a connection is left stepped
 * (each use ends in store_stmt_done), so no read snapshot outlives a call
 * and a savepoint can always be rolled back.
 */
#include "store_int.h"

#include "cpqd/metrics.h"
#include <sys/random.h>
#include "cpqd/cli.h"
#include "cpqd/date.h"
#include "cpqd/digest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- small helpers shared by the store's files ---- */

char *store_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

void store_now(char buf[STORE_TS_LEN])
{
    date_stamp(date_now(), buf);
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, at most
 * U+10FFFF. PostgreSQL refuses anything else, so the store does too.
 * Plain ASCII, most of a stored JSON text, is passed eight bytes at a
 * time (the length known first: nothing is read past the NUL). */
static bool utf8_ok(const unsigned char *s)
{
    const unsigned char *end = s + strlen((const char *)s);
    while (s < end) {
        uint64_t w;
        if (end - s >= 8 && (memcpy(&w, s, 8), (w & 0x8080808080808080u) == 0)) {
            s += 8;
            continue;
        }
        unsigned c = *s, n, min;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, min = 0x10000;
        else
            return false;
        unsigned cp = c & (0x3Fu >> n);
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

bool store_text_ok(const char *s)
{
    return s && *s && utf8_ok((const unsigned char *)s);
}

bool store_opt_text_ok(const char *s)
{
    return !s || store_text_ok(s);
}

/* ---- errors ---- */

int store_failf(store *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
    return code;
}

int store_fail(store *st, int code, const char *what)
{
    char why[sizeof(st->err)];
    if (code >= 0) {
        snprintf(why, sizeof(why), "%s",
                 code == STORE_ROW ? "a row where none was expected"
                                   : "no row where one was expected");
        code = CPQD_EIO;
    } else {
        snprintf(why, sizeof(why), "%s", st->err);
    }
    return store_failf(st, code, "%s: %s", what, why);
}

const char *store_last_error(const store *st)
{
    return st ? st->err : "";
}

void store_test_fail_step(store *st, int n)
{
    st->fail_at = n > 0 ? n : 0;
}

/* True when the test hook says this step is the one to fail; it then
 * fails as a disk would. */
static bool injected_now(store *st)
{
    if (st->fail_at > 0 && --st->fail_at == 0) {
        store_failf(st, CPQD_EIO, "disk I/O error");
        return true;
    }
    return false;
}

/* ---- statements ---- */

int store_prepare(store *st, store_stmt_id id, store_stmt **out)
{
    *out = NULL;
    if (!st->stmt[id]) {
        const char *sql = st->drv->sql && st->drv->sql[id] ? st->drv->sql[id]
                          : id >= STMT_FIN_FIRST        ? store_fin_sql[id - STMT_FIN_FIRST]
                                                        : store_sql[id];
        int rc = st->drv->prepare(st, sql, (int)id, &st->stmt[id]);
        if (rc != 0)
            return store_fail(st, rc, "prepare");
    }
    st->bind_rc = 0;
    *out = st->stmt[id];
    return 0;
}

void store_bind_text_n(store *st, store_stmt *s, int i, const char *v, size_t len)
{
    if (st->bind_rc == 0)
        st->bind_rc = st->drv->bind_text(st, s, i, v, len);
}

void store_bind_text(store *st, store_stmt *s, int i, const char *v)
{
    store_bind_text_n(st, s, i, v, v ? strlen(v) : 0);
}

void store_bind_int64(store *st, store_stmt *s, int i, int64_t v)
{
    if (st->bind_rc == 0)
        st->bind_rc = st->drv->bind_int64(st, s, i, v);
}

int store_step(store *st, store_stmt *s)
{
    if (st->bind_rc != 0)
        return st->bind_rc; /* its reason is in st->err since the bind */
    if (injected_now(st))
        return CPQD_EIO;
    return st->drv->step(st, s);
}

void store_stmt_done(store_stmt *s)
{
    if (s)
        s->drv->reset(s);
}

int64_t store_changes(store *st, store_stmt *s)
{
    return st->drv->changes(st, s);
}

int store_col_dup(store_stmt *s, int i, char **out)
{
    *out = NULL;
    if (store_col_null(s, i))
        return 0;
    size_t n = 0;
    const char *t = store_col_text(s, i, &n);
    if (!t)
        return CPQD_ENOMEM;
    char *d = malloc(n + 1);
    if (!d)
        return CPQD_ENOMEM;
    memcpy(d, t, n);
    d[n] = '\0';
    *out = d;
    return 0;
}

int store_exec(store *st, const char *sql)
{
    if (injected_now(st))
        return CPQD_EIO;
    return st->drv->exec(st, sql);
}

/* ---- transactions ---- */

/* Times write transactions for GET /metrics (docs/operations.md): from
 * BEGIN to COMMIT or ROLLBACK, and each COMMIT alone; every commit
 * carries one request's work (metrics_commit_batch) unless a caller
 * batches (group commit reports its own sizes). */
static int tx_timed(store *st, store_tx_op op, int rc, uint64_t t0)
{
    uint64_t now = metrics_now_ns();
    if (op == STORE_TX_BEGIN) {
        st->tx_t0 = rc == 0 ? now : 0;
    } else if ((op == STORE_TX_COMMIT || op == STORE_TX_ROLLBACK) && st->tx_t0) {
        bool ok = op == STORE_TX_COMMIT && rc == 0;
        metrics_store_tx(ok, now - st->tx_t0);
        if (op == STORE_TX_COMMIT)
            metrics_store_commit(now - t0);
        st->tx_t0 = 0;
    }
    return rc;
}

int store_tx(store *st, store_tx_op op)
{
    if (injected_now(st))
        return CPQD_EIO;
    uint64_t t0 = metrics_now_ns();
    return tx_timed(st, op, st->drv->tx(st, op), t0);
}

void store_tx_quiet(store *st, store_tx_op op)
{
    char keep[sizeof(st->err)];
    memcpy(keep, st->err, sizeof(keep));
    uint64_t t0 = metrics_now_ns();
    (void)tx_timed(st, op, st->drv->tx(st, op), t0);
    memcpy(st->err, keep, sizeof(keep));
}

bool store_in_tx(store *st)
{
    return st->drv->in_tx(st);
}

/* After some errors (I/O, out of memory, a full disk) the backend rolls
 * the whole transaction back by itself; then the caller's store_begin no
 * longer holds anything, and a write must not run outside it. */
static bool tx_lost(store *st)
{
    return st->in_tx && !store_in_tx(st);
}

int store_begin(store *st)
{
    if (st->in_tx || store_in_tx(st))
        return store_failf(st, CPQD_EINVAL, "begin: a transaction is already open");
    int rc = store_tx(st, STORE_TX_BEGIN);
    if (rc != 0) {
        int code = store_fail(st, rc, "begin");
        return code == CPQD_ENOMEM ? code : CPQD_EIO;
    }
    st->in_tx = true;
    return 0;
}

static void rollback_quiet(store *st)
{
    if (store_in_tx(st))
        store_tx_quiet(st, STORE_TX_ROLLBACK);
}

int store_commit(store *st)
{
    if (!st->in_tx)
        return store_failf(st, CPQD_EINVAL, "commit: no transaction is open");
    st->in_tx = false;
    if (!store_in_tx(st))
        return store_failf(st, CPQD_EIO, "commit: the transaction was rolled back after an error");
    size_t batch = st->batch ? st->batch : 1;
    st->batch = 0;
    int rc = store_tx(st, STORE_TX_COMMIT);
    if (rc != 0) {
        store_fail(st, rc, "commit");
        rollback_quiet(st);
        return CPQD_EIO;
    }
    metrics_commit_batch(batch); /* GET /metrics: requests per commit */
    return 0;
}

void store_batch_note(store *st, size_t n)
{
    st->batch = n;
}

void store_rollback(store *st)
{
    if (!st)
        return;
    st->in_tx = false;
    rollback_quiet(st);
}

int store_write_begin(store *st, bool *own)
{
    if (tx_lost(st))
        return store_failf(st, CPQD_EIO, "write: the transaction was rolled back after an error");
    *own = !store_in_tx(st);
    if (!*own && st->flat)
        return 0; /* the caller's scope undoes everything (store_flat_begin) */
    int rc = store_tx(st, *own ? STORE_TX_BEGIN : STORE_TX_SAVEPOINT);
    if (rc != 0) {
        int code = store_fail(st, rc, "begin");
        return code == CPQD_ENOMEM ? code : CPQD_EIO;
    }
    return 0;
}

int store_write_end(store *st, bool own, int rc)
{
    if (!own && st->flat)
        return rc;
    if (rc == 0) {
        int r = store_tx(st, own ? STORE_TX_COMMIT : STORE_TX_RELEASE);
        if (r == 0)
            return 0;
        store_fail(st, r, "commit");
        rc = CPQD_EIO;
    }
    if (own) {
        rollback_quiet(st);
    } else if (store_in_tx(st)) {
        store_tx_quiet(st, STORE_TX_ROLLBACK_TO);
        store_tx_quiet(st, STORE_TX_RELEASE);
    }
    return rc;
}

int store_scope_begin(store *st)
{
    bool own;
    if (!store_in_tx(st))
        return tx_lost(st) ? store_failf(st, CPQD_EIO, "scope: the transaction was rolled back")
                           : store_failf(st, CPQD_EINVAL, "scope: no transaction is open");
    return store_write_begin(st, &own);
}

int store_scope_end(store *st, int rc)
{
    return store_write_end(st, false, rc);
}

int store_flat_begin(store *st)
{
    if (!store_in_tx(st))
        return store_failf(st, CPQD_EINVAL, "flat writes: no transaction is open");
    st->flat = true;
    st->nseqs = 0;
    return 0;
}

static store_flat_seq *flat_seq_find(store *st, store_stmt_id set, const char *name)
{
    for (size_t i = 0; i < st->nseqs; i++)
        if (st->seqs[i].set == set && !strcmp(st->seqs[i].name, name))
            return &st->seqs[i];
    return NULL;
}

bool store_flat_seq_take(store *st, store_stmt_id set, const char *name, int64_t *seq)
{
    store_flat_seq *q = st->flat ? flat_seq_find(st, set, name) : NULL;
    if (!q)
        return false;
    *seq = ++q->last;
    q->dirty = true;
    return true;
}

void store_flat_seq_note(store *st, store_stmt_id set, const char *name, int64_t seq)
{
    if (!st->flat || st->nseqs == STORE_FLAT_SEQS || strlen(name) >= sizeof(st->seqs[0].name))
        return; /* not remembered: the next number comes from the table too */
    store_flat_seq *q = &st->seqs[st->nseqs++];
    q->set = set;
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->last = seq;
    q->dirty = false;
}

/* The counters handed out from memory, written back. */
static int flat_seqs_write(store *st)
{
    for (size_t i = 0; i < st->nseqs; i++) {
        store_stmt *s;
        const store_flat_seq *q = &st->seqs[i];
        int rc = q->dirty ? store_prepare(st, q->set, &s) : 0;
        if (rc || !q->dirty)
            continue;
        store_bind_int64(st, s, 1, q->last);
        if (*q->name)
            store_bind_text(st, s, 2, q->name);
        if ((rc = store_run(st, s, "counter", NULL)) != 0)
            return rc;
    }
    return 0;
}

int store_flat_end(store *st, int rc)
{
    if (rc == 0)
        rc = flat_seqs_write(st);
    st->flat = false;
    st->nseqs = 0;
    return rc;
}

int store_read_begin(store *st, bool *own)
{
    *own = !store_in_tx(st);
    return *own ? store_tx(st, STORE_TX_BEGIN_READ) : 0;
}

void store_read_end(store *st, bool own)
{
    if (own && store_in_tx(st))
        store_tx_quiet(st, STORE_TX_COMMIT);
}

/* ---- open, close ---- */

/* ---- locations ---- */

/* A postgres:// or postgresql:// URL (any case): the length of its
 * scheme and "://", else 0. */
static size_t url_scheme_len(const char *location)
{
    if (strncasecmp(location, "postgres://", 11) == 0)
        return 11;
    if (strncasecmp(location, "postgresql://", 13) == 0)
        return 13;
    return 0;
}

bool store_location_is_url(const char *location)
{
    return url_scheme_len(location) > 0;
}

/* The password of a URL: in its user info ("user:password@") or a
 * password= parameter; [*at, *at + *len) of location, or false. */
static bool url_password(const char *location, size_t *at, size_t *len)
{
    size_t scheme = url_scheme_len(location);
    if (!scheme)
        return false;
    const char *auth = location + scheme;
    size_t alen = strcspn(auth, "/?#");
    const char *sign = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            sign = p;
    const char *colon = sign ? memchr(auth, ':', (size_t)(sign - auth)) : NULL;
    if (colon) {
        *at = (size_t)(colon + 1 - location);
        *len = (size_t)(sign - colon - 1);
        return true;
    }
    for (const char *q = strchr(auth, '?'); q; q = strchr(q + 1, '&')) {
        if (strncmp(q + 1, "password=", 9) == 0) {
            *at = (size_t)(q + 10 - location);
            *len = strcspn(q + 10, "&#");
            return true;
        }
    }
    return false;
}

/* Appends n bytes of s to buf (cap bytes, *len used), truncating. */
static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    size_t room = cap - 1 - *len;
    n = n < room ? n : room;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

const char *store_location_redact(const char *location, char *buf, size_t cap)
{
    size_t len = 0, at = 0, n = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    const char *p = location ? location : "";
    size_t scheme = url_scheme_len(p);
    const char *auth = p + scheme;
    if (scheme && url_password(p, &at, &n) && p + at < auth + strcspn(auth, "/?#")) {
        put(buf, cap, &len, p, at); /* the user info's password */
        put(buf, cap, &len, "***", 3);
        p += at + n;
    }
    const char *q = scheme ? strchr(p, '?') : NULL;
    if (q) { /* every password= parameter */
        put(buf, cap, &len, p, (size_t)(q + 1 - p));
        for (p = q + 1;;) {
            size_t k = strcspn(p, "&#");
            bool secret = k >= 9 && strncmp(p, "password=", 9) == 0;
            put(buf, cap, &len, p, secret ? 9 : k);
            if (secret)
                put(buf, cap, &len, "***", 3);
            p += k;
            if (*p != '&')
                break;
            put(buf, cap, &len, p++, 1);
        }
    }
    put(buf, cap, &len, p, strlen(p));
    return buf;
}

bool store_location_password(const char *location, char *buf, size_t cap)
{
    size_t at = 0, len = 0;
    if (!url_password(location, &at, &len))
        return false;
    snprintf(buf, cap, "%.*s", (int)len, location + at);
    return true;
}

/* The backend for a --db value: the one place that decides. A
 * postgres:// or postgresql:// URL names PostgreSQL (issue 13); anything
 * else is the path of a SQLite file. */
static const store_driver *store_driver_for(const char *location)
{
    return url_scheme_len(location) ? &store_pg_driver : &store_sqlite_driver;
}

typedef enum open_mode {
    OPEN_USE,     /* the schema must be current (or the database new) */
    OPEN_MIGRATE, /* an older schema is migrated */
    OPEN_RAW,     /* the schema is not looked at (store_debug_open) */
} open_mode;

static int open_impl(const char *location, open_mode mode, int *from, store **out, cpqd_errs *errs)
{
    *out = NULL;
    if (!location || !*location) {
        if (errs)
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "store: no database path given");
        return CPQD_EINVAL;
    }
    store *st = calloc(1, sizeof(*st));
    char name[1024];
    store_location_redact(location, name, sizeof(name));
    if (!st || !(st->location = store_strdup(location)) || !(st->name = store_strdup(name))) {
        if (st)
            free(st->location);
        free(st);
        if (errs)
            errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "store: out of memory");
        return CPQD_ENOMEM;
    }
    st->drv = store_driver_for(location);
    int rc = st->drv->open(st, &st->conn);
    if (rc == 0 && mode != OPEN_RAW)
        rc = store_schema_open(st, mode == OPEN_MIGRATE, from);
    if (rc != 0) {
        if (errs)
            errs_add(errs, rc, NULL, 0, 0, "%s", st->err);
        store_close(st);
        return rc;
    }
    st->err[0] = '\0';
    *out = st;
    return 0;
}

int store_open(const char *path, bool migrate, store **out, cpqd_errs *errs)
{
    int from;
    return open_impl(path, migrate ? OPEN_MIGRATE : OPEN_USE, &from, out, errs);
}

void store_close(store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        if (st->stmt[i])
            st->drv->finalize(st->stmt[i]);
    if (st->conn)
        st->drv->close(st->conn); /* rolls back an open transaction */
    free(st->location);
    free(st->name);
    free(st);
}

int store_migrate(const char *path, int *from, int *to, cpqd_errs *errs)
{
    store *st = NULL;
    int rc = open_impl(path, OPEN_MIGRATE, from, &st, errs);
    if (rc == 0)
        rc = store_schema_version(st, to);
    if (rc != 0 && st && errs)
        errs_add(errs, rc, NULL, 0, 0, "%s", st->err);
    store_close(st);
    return rc;
}

int store_info_get(store *st, store_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->backend, sizeof(out->backend), "%s", st->drv->name);
    int rc = st->drv->info(st, out);
    if (rc != 0)
        return rc;
    return store_schema_version(st, &out->schema_version);
}

/* ---- for tests and operators ---- */

int store_debug_open(const char *location, store **out, cpqd_errs *errs)
{
    int from = 0;
    return open_impl(location, OPEN_RAW, &from, out, errs);
}

int store_prepare_sql(store *st, const char *sql, store_stmt **out)
{
    *out = NULL;
    st->bind_rc = 0;
    return st->drv->prepare(st, sql, -1, out);
}

void store_stmt_free(store_stmt *s)
{
    if (s)
        s->drv->finalize(s);
}

/* Prepares sql (one statement, uncached) and steps it once. */
static int debug_step(store *st, const char *sql, store_stmt **s)
{
    int rc = store_prepare_sql(st, sql, s);
    if (rc != 0)
        return store_fail(st, rc, "debug");
    int r = store_step(st, *s);
    return r >= 0 ? r : store_fail(st, r, "debug");
}

int store_debug_exec(store *st, const char *sql, int64_t *changes)
{
    store_stmt *s;
    int r = debug_step(st, sql, &s);
    int rc = r == STORE_DONE ? 0 : r < 0 ? r : store_fail(st, r, "debug");
    if (changes)
        *changes = rc == 0 ? store_changes(st, s) : 0;
    store_stmt_free(s);
    return rc;
}

int store_debug_int(store *st, const char *sql, int64_t *out)
{
    store_stmt *s;
    *out = 0;
    int r = debug_step(st, sql, &s);
    int rc = r == STORE_ROW ? 0 : r < 0 ? r : store_fail(st, r, "debug");
    if (rc == 0)
        *out = store_col_int64(s, 0);
    store_stmt_free(s);
    return rc;
}

/* ---- cpqd migrate ---- */

static int cli_usage(const char *why)
{
    fprintf(stderr,
            "cpqd migrate: %s\nusage: cpqd migrate [--db PATH|URL] [--from PATH]   (--db default "
            "%s)\n",
            why, STORE_DEFAULT_PATH);
    return 2;
}

static void cli_errors(const cpqd_errs *errs, int rc)
{
    for (size_t i = 0; errs && i < errs_count(errs); i++) {
        char *m = errs_format(errs, i);
        fprintf(stderr, "cpqd migrate: %s\n", m ? m : "out of memory");
        free(m);
    }
    if (rc != 0 && (!errs || errs_count(errs) == 0))
        fprintf(stderr, "cpqd migrate: %s\n", err_code_name(rc));
}

typedef struct move_tally {
    int64_t rows;
    size_t tables;
} move_tally;

static void cli_move_line(void *ctx, const char *table, int64_t rows, const char *checksum)
{
    move_tally *t = ctx;
    t->rows += rows;
    t->tables++;
    printf("%s: %lld rows, sha256 %s\n", table, (long long)rows, checksum);
}

/* `migrate --from PATH --db LOCATION`. */
static int cli_move(const char *from, const char *to, cpqd_errs *errs)
{
    move_tally t = {0};
    char a[1024], b[1024];
    int rc = store_move(from, to, cli_move_line, &t, errs);
    if (rc == 0)
        printf("moved %lld rows in %zu tables from %s to %s (schema version %d), counts and "
               "checksums verified\n",
               (long long)t.rows, t.tables, store_location_redact(from, a, sizeof(a)),
               store_location_redact(to, b, sizeof(b)), STORE_SCHEMA_VERSION);
    return rc;
}

int store_cli_migrate(int argc, char **argv)
{
    const char *path = STORE_DEFAULT_PATH, *from = NULL;
    const cli_flag flags[] = {{"--db", &path}, {"--from", &from}, {NULL, NULL}};
    cli_args a;
    int rc = cli_args_parse(argc, argv, flags, 0, &a);
    cli_args_fini(&a);
    if (rc)
        return rc == CPQD_ENOMEM ? 1 : cli_usage(a.why);
    if (!*path)
        return cli_usage("--db needs a non-empty PATH or URL");
    if (from && !*from)
        return cli_usage("--from needs a non-empty PATH");
    cpqd_errs *errs = errs_new();
    int from_v = 0, to_v = 0;
    rc = CPQD_ENOMEM;
    if (errs && from)
        rc = cli_move(from, path, errs);
    else if (errs && (rc = store_migrate(path, &from_v, &to_v, errs)) == 0)
        printf("schema version %d -> %d\n", from_v, to_v);
    cli_errors(errs, rc);
    errs_free(errs);
    return rc == 0 ? 0 : 1;
}

/* ---- helpers shared by the store's files ---- */

bool store_decimal_ok(const char *s)
{
    if (!s)
        return false;
    s += *s == '-';
    size_t ints = strspn(s, "0123456789");
    if (ints == 0)
        return false;
    s += ints;
    if (*s == '.') {
        size_t frac = strspn(s + 1, "0123456789");
        if (frac == 0)
            return false;
        s += frac + 1;
    }
    return *s == '\0';
}

bool store_date_ok(const char *s)
{
    date_days d;
    return !s || date_parse(s, strlen(s), &d) == 0;
}

/* n bytes from getrandom into b. */
static int random_bytes(store *st, const char *prefix, unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r < 0 && errno != EINTR)
            return store_failf(st, CPQD_EIO, "%sid: getrandom: %s", prefix, strerror(errno));
        got += r > 0 ? (size_t)r : 0;
    }
    return 0;
}

int store_random_id(store *st, const char *prefix, char *out, size_t cap)
{
    unsigned char b[8];
    int rc = random_bytes(st, prefix, b, sizeof(b));
    if (rc != 0)
        return rc;
    char hex[2 * sizeof(b) + 1];
    digest_hex(b, sizeof(b), hex);
    snprintf(out, cap, "%s%s", prefix, hex);
    return 0;
}

int store_ordered_id(store *st, const char *prefix, char *out, size_t cap)
{
    unsigned char b[8];
    uint32_t now = (uint32_t)time(NULL);
    int rc = random_bytes(st, prefix, b + 4, 4);
    if (rc != 0)
        return rc;
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(now >> (24 - 8 * i));
    char hex[2 * sizeof(b) + 1];
    digest_hex(b, sizeof(b), hex);
    snprintf(out, cap, "%s%s", prefix, hex);
    return 0;
}

int store_run(store *st, store_stmt *s, const char *what, int *changes)
{
    int r = store_step(st, s);
    int rc = r == STORE_DONE ? 0 : store_fail(st, r, what);
    if (changes)
        *changes = rc == 0 ? (int)store_changes(st, s) : 0;
    store_stmt_done(s);
    return rc;
}

int store_run_insert(store *st, store_stmt *s, const char *what)
{
    int changes = 0;
    int rc = store_run(st, s, what, &changes);
    if (rc == 0 && changes == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "%s: a row with the same key exists", what);
    return rc;
}

void store_bind_texts(store *st, store_stmt *s, int first, const char *const *v, int n)
{
    for (int i = 0; i < n; i++)
        store_bind_text(st, s, first + i, v[i]);
}

int store_cols_dup(store_stmt *s, char **const *cols, int n)
{
    for (int i = 0; i < n; i++)
        if (cols[i] && store_col_dup(s, i, cols[i]) != 0)
            return CPQD_ENOMEM;
    return 0;
}

void store_strs_free(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

int store_rows_read(store *st, store_stmt *s, size_t size, store_row_read_fn read,
                    store_row_fini_fn fini, void **items, size_t *n)
{
    char *v = NULL;
    size_t k = 0, cap = 0;
    int rc = 0, r = STORE_DONE;
    *items = NULL;
    *n = 0;
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char *nv = realloc(v, nc * size);
            if (!nv) {
                rc = store_failf(st, CPQD_ENOMEM, "out of memory");
                break;
            }
            v = nv, cap = nc;
        }
        memset(v + k * size, 0, size);
        if ((rc = read(s, v + k * size)) == 0)
            k++;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "rows");
    store_stmt_done(s);
    if (rc != 0 || k == 0) {
        for (size_t i = 0; i < k; i++)
            fini(v + i * size);
        free(v);
        return rc;
    }
    *items = v;
    *n = k;
    return 0;
}

int store_row_one(store *st, store_stmt *s, store_row_read_fn read, void *out, const char *what,
                  const char *key)
{
    int rc, r = store_step(st, s);
    if (r == STORE_ROW)
        rc = read(s, out);
    else if (r == STORE_DONE)
        rc = store_failf(st, CPQD_ENOTFOUND, "%s %.64s: not found", what, key);
    else
        rc = store_fail(st, r, what);
    store_stmt_done(s);
    return rc;
}

int store_counter_next(store *st, store_stmt_id sid, int year, const char *what, int64_t *seq)
{
    store_stmt *s;
    int rc = store_prepare(st, sid, &s);
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, year);
    int r = store_step(st, s);
    if (r == STORE_ROW)
        *seq = store_col_int64(s, 0);
    else
        rc = store_fail(st, r, what);
    store_stmt_done(s);
    return rc;
}
