/*
 * store: the SQLite connection behind include/cpqd/store.h.
 *
 * Owns: opening the file (and its directory), the pragmas that make a
 * commit durable (journal_mode=WAL, synchronous=FULL, set and read back on
 * every open), the per-connection statement cache, mapping SQLite codes to
 * CPQD_E* codes, transactions and write scopes, and `cpqd migrate`.
 * Does not own: the SQL text (store_sql.c), the schema steps
 * (store_schema.c), the records (store_quote.c, store_idem.c).
 *
 * Invariant: between calls no statement of a connection is left stepped
 * (each use ends in store_stmt_done), so no read snapshot outlives a call
 * and a savepoint can always be rolled back.
 */
#include "store_int.h"
#include <sys/random.h>
#include "cpqd/date.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
 * U+10FFFF. PostgreSQL refuses anything else, so the store does too. */
static bool utf8_ok(const unsigned char *s)
{
    while (*s) {
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

static int code_of(int sqlite_rc)
{
    switch (sqlite_rc & 0xFF) {
    case SQLITE_CONSTRAINT:
        return sqlite_rc == SQLITE_CONSTRAINT_PRIMARYKEY || sqlite_rc == SQLITE_CONSTRAINT_UNIQUE
                   ? CPQD_ECONFLICT
                   : CPQD_EINVAL;
    case SQLITE_NOMEM:
        return CPQD_ENOMEM;
    case SQLITE_TOOBIG:
        return CPQD_ELIMIT;
    case SQLITE_NOTADB:
        return CPQD_EINVAL;
    default:
        return CPQD_EIO;
    }
}

int store_fail(store *st, int sqlite_rc, const char *what)
{
    const char *why = st->injected || !st->db ? sqlite3_errstr(sqlite_rc) : sqlite3_errmsg(st->db);
    if ((sqlite_rc & 0xFF) == SQLITE_BUSY || (sqlite_rc & 0xFF) == SQLITE_LOCKED)
        why = "the database stayed locked by another writer beyond the busy timeout";
    return store_failf(st, code_of(sqlite_rc), "%s: %s", what, why);
}

const char *store_last_error(const store *st)
{
    return st ? st->err : "";
}

void store_test_fail_step(store *st, int n)
{
    st->fail_at = n > 0 ? n : 0;
}

/* True when the test hook says this step is the one to fail. */
static bool injected_now(store *st)
{
    st->injected = st->fail_at > 0 && --st->fail_at == 0;
    return st->injected;
}

/* ---- statements ---- */

/* store_sql.c writes parameters $1..$n for PostgreSQL; SQLite numbers
 * `$NAME` parameters in order of first appearance, so the two agree only
 * if the n-th one to appear is $n. A statement breaking that is a bug. */
static bool params_in_order(sqlite3_stmt *s)
{
    int n = sqlite3_bind_parameter_count(s);
    for (int i = 1; i <= n; i++) {
        char want[16];
        const char *name = sqlite3_bind_parameter_name(s, i);
        snprintf(want, sizeof(want), "$%d", i);
        if (!name || strcmp(name, want) != 0)
            return false;
    }
    return true;
}

int store_stmt(store *st, store_stmt_id id, sqlite3_stmt **out)
{
    *out = NULL;
    if (!st->stmt[id]) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v3(st->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
        if (rc != SQLITE_OK)
            return store_fail(st, rc, "prepare");
        if (!params_in_order(s)) {
            sqlite3_finalize(s);
            return store_failf(st, CPQD_EINTERNAL,
                               "bug: statement %d numbers its parameters "
                               "out of order",
                               (int)id);
        }
        st->stmt[id] = s;
    }
    st->bind_rc = SQLITE_OK;
    *out = st->stmt[id];
    return 0;
}

void store_bind_text(store *st, sqlite3_stmt *s, int i, const char *v)
{
    int rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
    if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
        st->bind_rc = rc;
}

void store_bind_int64(store *st, sqlite3_stmt *s, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(s, i, v);
    if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
        st->bind_rc = rc;
}

int store_step(store *st, sqlite3_stmt *s)
{
    if (st->bind_rc != SQLITE_OK) {
        st->injected = true; /* errmsg does not describe a bind failure */
        return st->bind_rc;
    }
    if (injected_now(st))
        return SQLITE_IOERR;
    return sqlite3_step(s);
}

void store_stmt_done(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

int store_col_dup(sqlite3_stmt *s, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return CPQD_ENOMEM;
    size_t n = (size_t)sqlite3_column_bytes(s, i);
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
        return SQLITE_IOERR;
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

/* ---- transactions ---- */

/* After some errors (I/O, out of memory, a full disk) SQLite rolls the
 * whole transaction back by itself; then the caller's store_begin no
 * longer holds anything, and a write must not run outside it. */
static bool tx_lost(const store *st)
{
    return st->in_tx && sqlite3_get_autocommit(st->db);
}

int store_begin(store *st)
{
    if (st->in_tx || !sqlite3_get_autocommit(st->db))
        return store_failf(st, CPQD_EINVAL, "begin: a transaction is already open");
    int rc = store_exec(st, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        int code = store_fail(st, rc, "begin");
        return code == CPQD_ENOMEM ? code : CPQD_EIO;
    }
    st->in_tx = true;
    return 0;
}

static void rollback_quiet(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        (void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_commit(store *st)
{
    if (!st->in_tx)
        return store_failf(st, CPQD_EINVAL, "commit: no transaction is open");
    st->in_tx = false;
    if (sqlite3_get_autocommit(st->db))
        return store_failf(st, CPQD_EIO, "commit: the transaction was rolled back after an error");
    int rc = store_exec(st, "COMMIT");
    if (rc != SQLITE_OK) {
        store_fail(st, rc, "commit");
        rollback_quiet(st);
        return CPQD_EIO;
    }
    return 0;
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
    *own = sqlite3_get_autocommit(st->db) != 0;
    int rc = store_exec(st, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT store_write");
    if (rc != SQLITE_OK) {
        int code = store_fail(st, rc, "begin");
        return code == CPQD_ENOMEM ? code : CPQD_EIO;
    }
    return 0;
}

int store_write_end(store *st, bool own, int rc)
{
    if (rc == 0) {
        int r = store_exec(st, own ? "COMMIT" : "RELEASE store_write");
        if (r == SQLITE_OK)
            return 0;
        store_fail(st, r, "commit");
        rc = CPQD_EIO;
    }
    if (own)
        rollback_quiet(st);
    else if (!sqlite3_get_autocommit(st->db)) {
        (void)sqlite3_exec(st->db, "ROLLBACK TO store_write", NULL, NULL, NULL);
        (void)sqlite3_exec(st->db, "RELEASE store_write", NULL, NULL, NULL);
    }
    return rc;
}

/* ---- open, close ---- */

/* mkdir -p of path's directory. */
static int make_parent_dirs(store *st, const char *path)
{
    char *dir = store_strdup(path);
    if (!dir)
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    int rc = 0;
    char *last = strrchr(dir, '/');
    if (last && last != dir) {
        *last = '\0';
        for (char *p = strchr(dir + 1, '/');; p = strchr(p + 1, '/')) {
            if (p)
                *p = '\0';
            if (mkdir(dir, 0750) != 0 && errno != EEXIST)
                rc = store_failf(st, CPQD_EIO, "cannot create directory %s: %s", dir,
                                 strerror(errno));
            if (!p || rc)
                break;
            *p = '/';
        }
    }
    free(dir);
    return rc;
}

/* Runs a pragma that returns one row and copies its first column. */
static int pragma_text(store *st, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, cap, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_ERROR;
    }
    int code = rc == SQLITE_OK ? 0 : store_fail(st, rc, sql);
    sqlite3_finalize(s);
    return code;
}

/* The settings every connection runs with: they are per connection
 * (synchronous, foreign_keys, busy timeout) or checked on every open
 * (WAL, which lives in the file but may be refused by its filesystem). */
static int configure(store *st)
{
    char mode[16];
    int rc = sqlite3_extended_result_codes(st->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, "configure");
    if ((rc = pragma_text(st, "PRAGMA journal_mode=WAL", mode, sizeof(mode))) != 0)
        return rc == CPQD_EINVAL ? store_failf(st, rc, "%s is not a SQLite database", st->path)
                                 : rc;
    if (strcmp(mode, "wal") != 0)
        return store_failf(st, CPQD_EIO, "%s: cannot use the WAL journal (got \"%s\")", st->path,
                           mode);
    rc = sqlite3_exec(st->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(st, rc, "configure");
}

static int connect_db(store *st)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
    if (!st->db)
        return store_failf(st, CPQD_ENOMEM, "%s: out of memory", st->path);
    if (rc != SQLITE_OK)
        return store_failf(st, rc == SQLITE_NOMEM ? CPQD_ENOMEM : CPQD_EIO,
                           "cannot open database %s: %s", st->path, sqlite3_errmsg(st->db));
    return configure(st);
}

static int open_impl(const char *path, bool migrate, int *from, store **out, cpqd_errs *errs)
{
    *out = NULL;
    if (!path || !*path) {
        if (errs)
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "store: no database path given");
        return CPQD_EINVAL;
    }
    store *st = calloc(1, sizeof(*st));
    if (!st || !(st->path = store_strdup(path))) {
        free(st);
        if (errs)
            errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "store: out of memory");
        return CPQD_ENOMEM;
    }
    int rc = make_parent_dirs(st, path);
    if (rc == 0)
        rc = connect_db(st);
    if (rc == 0)
        rc = store_schema_open(st, migrate, from);
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
    return open_impl(path, migrate, &from, out, errs);
}

void store_close(store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    /* close rolls back an open transaction; _v2 never fails on a busy
     * statement, and none is left unfinalized anyway. */
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st);
}

int store_migrate(const char *path, int *from, int *to, cpqd_errs *errs)
{
    store *st = NULL;
    int rc = open_impl(path, true, from, &st, errs);
    if (rc == 0)
        rc = store_schema_version(st, to);
    if (rc != 0 && st && errs)
        errs_add(errs, rc, NULL, 0, 0, "%s", st->err);
    store_close(st);
    return rc;
}

static int pragma_int(store *st, const char *sql, int *out)
{
    char buf[32];
    int rc = pragma_text(st, sql, buf, sizeof(buf));
    *out = rc == 0 ? atoi(buf) : 0;
    return rc;
}

int store_info_get(store *st, store_info *out)
{
    int fk = 0, rc;
    memset(out, 0, sizeof(*out));
    if ((rc = pragma_text(st, "PRAGMA journal_mode", out->journal_mode,
                          sizeof(out->journal_mode))) != 0 ||
        (rc = pragma_int(st, "PRAGMA synchronous", &out->synchronous)) != 0 ||
        (rc = pragma_int(st, "PRAGMA foreign_keys", &fk)) != 0 ||
        (rc = pragma_int(st, "PRAGMA busy_timeout", &out->busy_timeout_ms)) != 0)
        return rc;
    out->foreign_keys = fk != 0;
    return store_schema_version(st, &out->schema_version);
}

/* ---- cpqd migrate ---- */

static int cli_usage(const char *why)
{
    fprintf(stderr, "cpqd migrate: %s\nusage: cpqd migrate [--db PATH]   (default %s)\n", why,
            STORE_DEFAULT_PATH);
    return 2;
}

int store_cli_migrate(int argc, char **argv)
{
    const char *path = STORE_DEFAULT_PATH;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0) {
            if (i + 1 >= argc)
                return cli_usage("flag --db needs a value");
            path = argv[++i];
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            path = argv[i] + 5;
        } else {
            fprintf(stderr, "cpqd migrate: unexpected argument '%s'\n", argv[i]);
            return cli_usage("only --db PATH is accepted");
        }
    }
    if (!*path)
        return cli_usage("--db needs a non-empty PATH");
    cpqd_errs *errs = errs_new();
    int from = 0, to = 0;
    int rc = errs ? store_migrate(path, &from, &to, errs) : CPQD_ENOMEM;
    if (rc == 0)
        printf("schema version %d -> %d\n", from, to);
    for (size_t i = 0; errs && i < errs_count(errs); i++) {
        char *m = errs_format(errs, i);
        fprintf(stderr, "cpqd migrate: %s\n", m ? m : "out of memory");
        free(m);
    }
    if (rc != 0 && (!errs || errs_count(errs) == 0))
        fprintf(stderr, "cpqd migrate: %s\n", err_code_name(rc));
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

int store_random_id(store *st, const char *prefix, char *out, size_t cap)
{
    unsigned char b[8];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n < 0 && errno != EINTR)
            return store_failf(st, CPQD_EIO, "%sid: getrandom: %s", prefix, strerror(errno));
        got += n > 0 ? (size_t)n : 0;
    }
    snprintf(out, cap, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7]);
    return 0;
}

int store_run(store *st, sqlite3_stmt *s, const char *what, int *changes)
{
    int r = store_step(st, s);
    int rc = r == SQLITE_DONE ? 0 : store_fail(st, r, what);
    if (changes)
        *changes = rc == 0 ? sqlite3_changes(st->db) : 0;
    store_stmt_done(s);
    return rc;
}

int store_counter_next(store *st, store_stmt_id sid, int year, const char *what, int64_t *seq)
{
    sqlite3_stmt *s;
    int rc = store_stmt(st, sid, &s);
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, year);
    int r = store_step(st, s);
    if (r == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    else
        rc = store_fail(st, r, what);
    store_stmt_done(s);
    return rc;
}
