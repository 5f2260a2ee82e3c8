/*
 * store_sqlite: the SQLite driver under the store (store_int.h "the
 * driver seam"): the embedded default backend, and the only file of cpqd
 * that includes sqlite3.h.
 *
 * Owns: opening the file (and its directory), the settings that make a
 * commit durable (journal_mode=WAL, synchronous=FULL, set and read back
 * on every open), foreign keys and the busy timeout, prepared statements
 * and their parameter numbering, mapping SQLite codes to CPQD_E* codes
 * and reasons, transaction control, the schema probe (sqlite_master).
 * Does not own: the SQL text (store_sql.c), which statement runs when or
 * what a failure means to the caller (store.c and the record files).
 *
 * Invariant: a connection is used by one thread at a time (opened
 * SQLITE_OPEN_NOMUTEX); several connections on one file, in one process
 * or several, serialise their writers through SQLite's locks (BEGIN
 * IMMEDIATE waits up to STORE_BUSY_TIMEOUT_MS).
 */
#include "store_int.h"

#include <sqlite3.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct lite_stmt {
    store_stmt base; /* first: store_stmt * casts to lite_stmt * */
    sqlite3_stmt *s;
} lite_stmt;

/* The driver's connection (store.conn): the database handle and its
 * transaction statements, prepared on first use (a savepoint is taken
 * and released around most store calls: run through sqlite3_exec, each
 * was compiled anew, about a tenth of an acceptance's instructions). */
typedef struct lite_conn {
    sqlite3 *db;
    sqlite3_stmt *tx[STORE_TX_ROLLBACK_TO + 1];
} lite_conn;

static sqlite3 *db_of(const store *st)
{
    return ((const lite_conn *)st->conn)->db;
}

static sqlite3_stmt *raw(store_stmt *s)
{
    return ((lite_stmt *)s)->s;
}

/* ---- errors ---- */

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

/* Records SQLite's reason for sqlite_rc in st->err (the connection's
 * message when db is given, else the code's) and returns its code. */
static int lite_fail(store *st, sqlite3 *db, int sqlite_rc)
{
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc);
    if ((sqlite_rc & 0xFF) == SQLITE_BUSY || (sqlite_rc & 0xFF) == SQLITE_LOCKED)
        why = "the database stayed locked by another writer beyond the busy timeout";
    return store_failf(st, code_of(sqlite_rc), "%s", why);
}

/* lite_fail with context: "what: reason". */
static int lite_fail_in(store *st, int sqlite_rc, const char *what)
{
    return store_fail(st, lite_fail(st, db_of(st), sqlite_rc), what);
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

static int lite_prepare(store *st, const char *sql, int id, store_stmt **out)
{
    sqlite3_stmt *s = NULL;
    const char *tail = NULL;
    *out = NULL;
    unsigned flags = id >= 0 ? SQLITE_PREPARE_PERSISTENT : 0;
    int rc = sqlite3_prepare_v3(db_of(st), sql, -1, flags, &s, &tail);
    if (rc != SQLITE_OK)
        return lite_fail(st, db_of(st), rc);
    int code = 0;
    if (!s || (tail && tail[strspn(tail, " \t\r\n;")]))
        code = store_failf(st, CPQD_EINVAL, "one statement at a time");
    else if (!params_in_order(s))
        code = store_failf(st, CPQD_EINTERNAL,
                           "bug: statement %d numbers its parameters out of order", id);
    lite_stmt *ls = code ? NULL : malloc(sizeof(*ls));
    if (!code && !ls)
        code = store_failf(st, CPQD_ENOMEM, "out of memory");
    if (code) {
        sqlite3_finalize(s);
        return code;
    }
    ls->base.drv = &store_sqlite_driver;
    ls->s = s;
    *out = &ls->base;
    return 0;
}

static void lite_finalize(store_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(raw(s));
    free(s);
}

static int lite_bind_text(store *st, store_stmt *s, int i, const char *v, size_t len)
{
    int rc;
    if (!v)
        rc = sqlite3_bind_null(raw(s), i);
    else if (len > INT_MAX)
        rc = SQLITE_TOOBIG;
    else
        rc = sqlite3_bind_text(raw(s), i, v, (int)len, SQLITE_STATIC);
    /* the code's own words: the connection's message is about a step */
    return rc == SQLITE_OK ? 0 : lite_fail(st, NULL, rc);
}

static int lite_bind_int64(store *st, store_stmt *s, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(raw(s), i, v);
    return rc == SQLITE_OK ? 0 : lite_fail(st, NULL, rc);
}

static int lite_step(store *st, store_stmt *s)
{
    int rc = sqlite3_step(raw(s));
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE)
        return STORE_DONE;
    return lite_fail(st, db_of(st), rc);
}

static bool lite_col_null(store_stmt *s, int i)
{
    return sqlite3_column_type(raw(s), i) == SQLITE_NULL;
}

static int64_t lite_col_int64(store_stmt *s, int i)
{
    return sqlite3_column_int64(raw(s), i);
}

static const char *lite_col_text(store_stmt *s, int i, size_t *len)
{
    const unsigned char *t = sqlite3_column_text(raw(s), i);
    if (len)
        *len = t ? (size_t)sqlite3_column_bytes(raw(s), i) : 0;
    return (const char *)t;
}

static void lite_reset(store_stmt *s)
{
    sqlite3_reset(raw(s));
    sqlite3_clear_bindings(raw(s));
}

static int64_t lite_changes(store *st, store_stmt *s)
{
    (void)s; /* SQLite counts per connection: the last statement's */
    return sqlite3_changes(db_of(st));
}

/* ---- transactions, DDL ---- */

static int lite_exec(store *st, const char *sql)
{
    int rc = sqlite3_exec(db_of(st), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : lite_fail(st, db_of(st), rc);
}

static int lite_tx(store *st, store_tx_op op)
{
    static const char *const sql[] = {
        [STORE_TX_BEGIN] = "BEGIN IMMEDIATE",
        [STORE_TX_BEGIN_READ] = "BEGIN",
        [STORE_TX_COMMIT] = "COMMIT",
        [STORE_TX_ROLLBACK] = "ROLLBACK",
        [STORE_TX_SAVEPOINT] = "SAVEPOINT store_write",
        [STORE_TX_RELEASE] = "RELEASE store_write",
        [STORE_TX_ROLLBACK_TO] = "ROLLBACK TO store_write",
    };
    lite_conn *c = st->conn;
    if ((unsigned)op > (unsigned)STORE_TX_ROLLBACK_TO)
        return store_failf(st, CPQD_EINTERNAL, "transaction: unknown operation %d", (int)op);
    int rc = c->tx[op] ? SQLITE_OK : sqlite3_prepare_v2(c->db, sql[op], -1, &c->tx[op], NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(c->tx[op])) == SQLITE_DONE)
        rc = SQLITE_OK;
    if (c->tx[op])
        sqlite3_reset(c->tx[op]); /* ends its run; the code is rc's */
    return rc == SQLITE_OK ? 0 : lite_fail(st, c->db, rc);
}

/* SQLite leaves autocommit mode at BEGIN and returns to it at the end,
 * also when it rolled a transaction back by itself after an error. */
static bool lite_in_tx(store *st)
{
    return !sqlite3_get_autocommit(db_of(st));
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
static int pragma_once(store *st, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db_of(st), sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, cap, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(s);
    return rc;
}

/* A pragma returning one row, its first column copied. SQLite answers
 * SQLITE_BUSY at once, without its busy handler, when another connection
 * is switching a new database to WAL at the same moment (two instances
 * starting together): retried for the busy timeout like any other wait. */
static int pragma_text(store *st, const char *sql, char *buf, size_t cap)
{
    int rc = pragma_once(st, sql, buf, cap);
    for (int waited = 0; (rc & 0xFF) == SQLITE_BUSY && waited < STORE_BUSY_TIMEOUT_MS; waited += 10) {
        sqlite3_sleep(10);
        rc = pragma_once(st, sql, buf, cap);
    }
    return rc == SQLITE_OK ? 0 : lite_fail_in(st, rc, sql);
}

static int pragma_int(store *st, const char *sql, int *out)
{
    char buf[32];
    int rc = pragma_text(st, sql, buf, sizeof(buf));
    *out = rc == 0 ? atoi(buf) : 0;
    return rc;
}

/* The settings every connection runs with: they are per connection
 * (synchronous, foreign_keys, busy timeout) or checked on every open
 * (WAL, which lives in the file but may be refused by its filesystem). */
static int configure(store *st)
{
    char mode[16];
    int rc = sqlite3_extended_result_codes(db_of(st), 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db_of(st), STORE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return lite_fail_in(st, rc, "configure");
    if ((rc = pragma_text(st, "PRAGMA journal_mode=WAL", mode, sizeof(mode))) != 0)
        return rc == CPQD_EINVAL ? store_failf(st, rc, "%s is not a SQLite database", st->location)
                                 : rc;
    if (strcmp(mode, "wal") != 0)
        return store_failf(st, CPQD_EIO, "%s: cannot use the WAL journal (got \"%s\")",
                           st->location, mode);
    /* a page cache that holds a whole group-commit batch (svc_write.c):
     * a smaller one spills pages to the WAL mid-transaction, and writes
     * them again at the commit. The savepoint of each write in a batch
     * keeps the pages it changes to undo them: in memory (temp_store), not
     * in a temporary file written, opened and deleted for every write
     * (only rolling back reads it; the commit's durability is the WAL's) */
    rc = sqlite3_exec(db_of(st),
                      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
                      " PRAGMA temp_store=MEMORY",
                      NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : lite_fail_in(st, rc, "configure");
}

static void lite_close(void *conn)
{
    lite_conn *c = conn;
    if (!c)
        return;
    for (size_t i = 0; i < sizeof(c->tx) / sizeof(c->tx[0]); i++)
        sqlite3_finalize(c->tx[i]);
    /* close rolls back an open transaction; _v2 never fails on a busy
     * statement, and none is left unfinalized anyway. */
    sqlite3_close_v2(c->db);
    free(c);
}

static int lite_open(store *st, void **conn)
{
    *conn = NULL;
    int rc = make_parent_dirs(st, st->location);
    if (rc != 0)
        return rc;
    lite_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return store_failf(st, CPQD_ENOMEM, "%s: out of memory", st->location);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int r = sqlite3_open_v2(st->location, &c->db, flags, NULL);
    if (!c->db) {
        free(c);
        return store_failf(st, CPQD_ENOMEM, "%s: out of memory", st->location);
    }
    if (r != SQLITE_OK)
        rc = store_failf(st, r == SQLITE_NOMEM ? CPQD_ENOMEM : CPQD_EIO,
                         "cannot open database %s: %s", st->location, sqlite3_errmsg(c->db));
    st->conn = c; /* configure reads it */
    if (rc == 0)
        rc = configure(st);
    st->conn = NULL;
    if (rc != 0) {
        lite_close(c);
        return rc;
    }
    *conn = c;
    return 0;
}

/* ---- schema, settings ---- */

/* Runs a counting query on sqlite_master. */
static int count_master(store *st, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db_of(st), sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    int code = rc == SQLITE_OK ? 0 : lite_fail(st, db_of(st), rc);
    sqlite3_finalize(s);
    return code;
}

static int lite_schema_probe(store *st, int *objects, bool *has_version)
{
    int n = 0;
    *has_version = false;
    int rc = count_master(st, "SELECT count(*) FROM sqlite_master", objects);
    if (rc == 0)
        rc = count_master(st,
                          "SELECT count(*) FROM sqlite_master"
                          " WHERE type = 'table' AND name = 'schema_version'",
                          &n);
    *has_version = n > 0;
    return rc;
}

static int lite_info(store *st, store_info *out)
{
    int fk = 0, rc;
    if ((rc = pragma_text(st, "PRAGMA journal_mode", out->journal_mode,
                          sizeof(out->journal_mode))) != 0 ||
        (rc = pragma_int(st, "PRAGMA synchronous", &out->synchronous)) != 0 ||
        (rc = pragma_int(st, "PRAGMA foreign_keys", &fk)) != 0 ||
        (rc = pragma_int(st, "PRAGMA busy_timeout", &out->busy_timeout_ms)) != 0)
        return rc;
    out->foreign_keys = fk != 0;
    return 0;
}

const store_driver store_sqlite_driver = {
    .name = "sqlite",
    .sql = NULL, /* store_sql[] as written */
    .open = lite_open,
    .close = lite_close,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .bind_text = lite_bind_text,
    .bind_int64 = lite_bind_int64,
    .step = lite_step,
    .col_null = lite_col_null,
    .col_int64 = lite_col_int64,
    .col_text = lite_col_text,
    .reset = lite_reset,
    .changes = lite_changes,
    .tx = lite_tx,
    .in_tx = lite_in_tx,
    .exec = lite_exec,
    .schema_probe = lite_schema_probe,
    .info = lite_info,
};
