/*
 * store_pg: the PostgreSQL driver under the store (store_int.h "the
 * driver seam"), on libpq: the backend for several cpqd instances on one
 * database, and the only file of cpqd that includes libpq-fe.h.
 *
 * Owns: connecting from a postgres:// or postgresql:// URL (parsed by
 * libpq; the password never reaches a message), the session settings the
 * store's promises need (synchronous_commit on, lock_timeout of
 * STORE_BUSY_TIMEOUT_MS, UTF-8), refusing a database whose collation or
 * encoding would order or compare text otherwise than SQLite does,
 * prepared statements per connection (named after their store_stmt_id,
 * prepared again after a reconnect), parameters sent as text, mapping
 * SQLSTATEs to CPQD_E* codes, transaction control, the schema probe, the
 * statements whose text differs from store_sql.c. Does not own: the SQL
 * (store_sql.c), which statement runs when (store.c and the record files).
 *
 * Invariant: the store's writers are serialised as SQLite's are. The seam
 * says BEGIN takes the write lock at once; here a write transaction is
 * READ COMMITTED and its first statement takes a transaction-level
 * advisory lock (STORE_PG_LOCK_WRITE), held until COMMIT or ROLLBACK, so
 * no two write transactions on one database overlap, whichever instance
 * runs them: each one sees every write committed before it (READ
 * COMMITTED takes a fresh snapshot per statement), read-then-write
 * sequences (the next quote number, promotion usage, idempotency records,
 * migration steps) are exact across instances, and a writer never waits
 * on a row lock held by another write transaction (no deadlock). A read
 * scope is REPEATABLE READ READ ONLY: one snapshot, no lock. Pricing and
 * HTTP work happen outside these locks, so instances scale the stateless
 * part; the write path is one at a time per database, as on SQLite.
 */
#include "store_int.h"

#include <libpq-fe.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock keys ("cpqd" in the high half): the write lock
 * every write transaction takes first. */
#define STORE_PG_LOCK_WRITE "7165064295491846145" /* 0x6370716400000001 */

#define PG_MIN_VERSION 90500 /* INSERT ... ON CONFLICT */

typedef struct pg_conn {
    PGconn *c;
    unsigned gen;   /* bumped by a reconnect: statements prepared before are gone */
    unsigned adhoc; /* ad hoc statements named so far */
    bool tx;        /* a transaction we began is open (no COMMIT/ROLLBACK yet) */
} pg_conn;

typedef struct pg_stmt {
    store_stmt base; /* first: store_stmt * casts to pg_stmt * */
    pg_conn *pc;
    char name[24]; /* "cpqd_<id>", or "cpqd_x<n>" for ad hoc SQL (deallocated when freed) */
    char *sql;     /* to prepare again after a reconnect */
    unsigned gen;  /* pc->gen it was prepared in */
    bool prepared; /* on the server, in generation gen */
    int nparams;
    char **vals;   /* nparams values, each malloc'ed or NULL (SQL NULL) */
    PGresult *res; /* the result of the current use, NULL before its first step */
    int cur;       /* the current row, -1 before the first */
} pg_stmt;

static pg_conn *conn_of(const store *st)
{
    return st->conn;
}

static pg_stmt *ps_of(store_stmt *s)
{
    return (pg_stmt *)s;
}

/* ---- errors ---- */

/* The CPQD_E* code of a SQLSTATE (its class first, then a few codes). */
static int code_of_state(const char *state)
{
    if (!state || strlen(state) != 5)
        return CPQD_EIO;
    if (!strcmp(state, "23505"))
        return CPQD_ECONFLICT; /* unique_violation (a primary key too) */
    if (!strncmp(state, "23", 2))
        return CPQD_EINVAL; /* another integrity constraint */
    if (!strcmp(state, "53200"))
        return CPQD_ENOMEM; /* out_of_memory */
    if (!strcmp(state, "54000") || !strcmp(state, "54001") || !strcmp(state, "22001"))
        return CPQD_ELIMIT; /* program_limit_exceeded, statement_too_complex, too long */
    if (!strcmp(state, "22021") || !strcmp(state, "22P05"))
        return CPQD_EINVAL; /* not in the encoding's repertoire */
    return CPQD_EIO;
}

/* Records the reason of a failed result (or of the connection when res
 * is NULL) in st->err and returns its code. */
static int pg_fail(store *st, const PGresult *res)
{
    pg_conn *pc = conn_of(st);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *why = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!why || !*why)
        why = pc && pc->c ? PQerrorMessage(pc->c) : "out of memory";
    if (pc && pc->c && PQstatus(pc->c) == CONNECTION_BAD)
        return store_failf(st, CPQD_EIO, "the connection to the database was lost: %.*s",
                           (int)strcspn(why, "\n"), why);
    if (!res)
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    if (state && !strcmp(state, "55P03")) /* lock_not_available: lock_timeout */
        why = "the database stayed locked by another writer beyond the busy timeout";
    else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
        why = "a concurrent transaction conflicted with this one";
    else if (state && !strcmp(state, "25P02"))
        why = "the transaction was rolled back after an error";
    return store_failf(st, code_of_state(state), "%.*s", (int)strcspn(why, "\n"), why);
}

/* 0 if res is a success of the kind wanted, else pg_fail's code; res is
 * cleared either way unless keep. */
static int pg_result(store *st, PGresult *res, bool keep)
{
    ExecStatusType t = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? 0 : pg_fail(st, res);
    if (!keep || rc != 0)
        PQclear(res);
    return rc;
}

/* ---- the connection ---- */

static void notice_ignore(void *arg, const char *message)
{
    (void)arg, (void)message; /* "relation ... already exists, skipping" and the like */
}

/* The settings every session runs with, set again after a reconnect. */
static int session_setup(store *st)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SET lock_timeout = %d; SET synchronous_commit = on;"
             " SET client_min_messages = warning; SET standard_conforming_strings = on;"
             " SET default_transaction_isolation = 'read committed'; SET TIME ZONE 'UTC'",
             STORE_BUSY_TIMEOUT_MS);
    PQsetNoticeProcessor(conn_of(st)->c, notice_ignore, NULL);
    return pg_result(st, PQexec(conn_of(st)->c, sql), false);
}

/* Connects again after the connection was lost, outside a transaction
 * only: inside one, what it did is gone, and the caller must see that
 * (the transaction counts as over: the next call may reconnect). */
static int ensure_connected(store *st)
{
    pg_conn *pc = conn_of(st);
    if (PQstatus(pc->c) == CONNECTION_OK)
        return 0;
    if (pc->tx || st->in_tx) {
        pc->tx = false;
        return pg_fail(st, NULL);
    }
    PQreset(pc->c);
    pc->gen++;
    if (PQstatus(pc->c) != CONNECTION_OK)
        return pg_fail(st, NULL);
    return session_setup(st);
}

/* Whether a call that failed may be sent again on a new connection: the
 * connection was lost outside any transaction, so the call did nothing
 * that a transaction would lose. (The store's own statements write only
 * in write scopes, that is in a transaction: one outside is a read.) */
static bool retry_after_loss(store *st, bool was_tx)
{
    return !was_tx && !st->in_tx && PQstatus(conn_of(st)->c) == CONNECTION_BAD;
}

/* ---- statements ---- */

/* Whether sql holds one statement: no ';' outside quotes and comments
 * but trailing ones. (The server would refuse a second one in a prepared
 * statement with a syntax error; the store's debug API says why.) */
static bool one_statement(const char *p)
{
    bool ended = false;
    while (*p) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && !(*p == q && p[1] != q))
                p += *p == q ? 2 : 1;
            p += *p != '\0';
            if (ended)
                return false;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        if (*p == ';')
            ended = true;
        else if (ended && !isspace((unsigned char)*p))
            return false;
        p++;
    }
    return true;
}

/* Prepares ps->sql under ps->name on the connection and learns how many
 * parameters it takes. */
static int prepare_on_server(store *st, pg_stmt *ps)
{
    PGconn *c = conn_of(st)->c;
    int rc = pg_result(st, PQprepare(c, ps->name, ps->sql, 0, NULL), false);
    if (rc != 0)
        return rc;
    ps->gen = conn_of(st)->gen;
    ps->prepared = true;
    PGresult *d = PQdescribePrepared(c, ps->name);
    if ((rc = pg_result(st, d, true)) != 0)
        return rc;
    int n = PQnparams(d);
    PQclear(d);
    if (n != ps->nparams) {
        char **v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v));
        if (!v)
            return store_failf(st, CPQD_ENOMEM, "out of memory");
        free(ps->vals);
        ps->vals = v;
        ps->nparams = n;
    }
    return 0;
}

static void pg_finalize(store_stmt *s);
static void deallocate(pg_stmt *ps);

static int pg_prepare(store *st, const char *sql, int id, store_stmt **out)
{
    *out = NULL;
    if (!one_statement(sql))
        return store_failf(st, CPQD_EINVAL, "one statement at a time");
    int rc = ensure_connected(st);
    if (rc != 0)
        return rc;
    pg_stmt *ps = calloc(1, sizeof(*ps));
    if (!ps || !(ps->sql = store_strdup(sql))) {
        free(ps);
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    ps->base.drv = &store_pg_driver;
    ps->pc = conn_of(st);
    ps->cur = -1;
    ps->nparams = -1;
    if (id >= 0)
        snprintf(ps->name, sizeof(ps->name), "cpqd_%d", id);
    else
        snprintf(ps->name, sizeof(ps->name), "cpqd_x%u", ++conn_of(st)->adhoc);
    bool was_tx = conn_of(st)->tx;
    rc = prepare_on_server(st, ps);
    if (rc != 0 && retry_after_loss(st, was_tx) && (rc = ensure_connected(st)) == 0)
        rc = prepare_on_server(st, ps);
    if (rc != 0) {
        deallocate(ps); /* its name may be prepared again */
        pg_finalize(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return 0;
}

static void clear_values(pg_stmt *ps)
{
    for (int i = 0; i < ps->nparams; i++) {
        free(ps->vals[i]);
        ps->vals[i] = NULL;
    }
}

static void pg_reset(store_stmt *s)
{
    pg_stmt *ps = ps_of(s);
    PQclear(ps->res);
    ps->res = NULL;
    ps->cur = -1;
    clear_values(ps);
}

/* Drops ps from the server, if it is there. */
static void deallocate(pg_stmt *ps)
{
    if (ps->prepared && ps->gen == ps->pc->gen && PQstatus(ps->pc->c) == CONNECTION_OK) {
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", ps->name);
        PQclear(PQexec(ps->pc->c, sql));
    }
    ps->prepared = false;
}

static void pg_finalize(store_stmt *s)
{
    if (!s)
        return;
    pg_stmt *ps = ps_of(s);
    pg_reset(s);
    /* a cached statement lives as long as its connection (store_close
     * finalizes, then disconnects); an ad hoc one goes now */
    if (ps->name[5] == 'x')
        deallocate(ps);
    free(ps->vals);
    free(ps->sql);
    free(ps);
}

static int set_value(store *st, pg_stmt *ps, int i, const char *v, size_t len)
{
    if (i < 1 || i > ps->nparams)
        return store_failf(st, CPQD_EIO, "parameter %d out of range", i);
    char *copy = NULL;
    if (v) {
        if (memchr(v, '\0', len))
            return store_failf(st, CPQD_EINVAL, "text holds a NUL byte");
        if (!(copy = malloc(len + 1)))
            return store_failf(st, CPQD_ENOMEM, "out of memory");
        memcpy(copy, v, len);
        copy[len] = '\0';
    }
    free(ps->vals[i - 1]);
    ps->vals[i - 1] = copy;
    return 0;
}

static int pg_bind_text(store *st, store_stmt *s, int i, const char *v, size_t len)
{
    return set_value(st, ps_of(s), i, v, len);
}

static int pg_bind_int64(store *st, store_stmt *s, int i, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    return set_value(st, ps_of(s), i, buf, (size_t)n);
}

/* Runs the statement with its values: its whole result arrives at once
 * (the store's results are small: a page at most). */
static int run(store *st, pg_stmt *ps)
{
    int rc = ensure_connected(st);
    if (rc == 0 && ps->gen != conn_of(st)->gen)
        rc = prepare_on_server(st, ps); /* reconnected since */
    if (rc != 0)
        return rc;
    PGresult *res = PQexecPrepared(conn_of(st)->c, ps->name, ps->nparams,
                                   (const char *const *)ps->vals, NULL, NULL, 0);
    if ((rc = pg_result(st, res, true)) != 0)
        return rc;
    ps->res = res;
    ps->cur = -1;
    return 0;
}

static int pg_step(store *st, store_stmt *s)
{
    pg_stmt *ps = ps_of(s);
    if (!ps->res) {
        bool was_tx = conn_of(st)->tx;
        int rc = run(st, ps);
        if (rc != 0 && ps->name[5] != 'x' && retry_after_loss(st, was_tx))
            rc = run(st, ps);
        if (rc != 0)
            return rc;
    }
    if (ps->cur + 1 < PQntuples(ps->res)) {
        ps->cur++;
        return STORE_ROW;
    }
    return STORE_DONE;
}

static bool has_cell(const pg_stmt *ps, int i)
{
    return ps->res && ps->cur >= 0 && ps->cur < PQntuples(ps->res) && i >= 0 &&
           i < PQnfields(ps->res);
}

static bool pg_col_null(store_stmt *s, int i)
{
    pg_stmt *ps = ps_of(s);
    return !has_cell(ps, i) || PQgetisnull(ps->res, ps->cur, i);
}

static int64_t pg_col_int64(store_stmt *s, int i)
{
    pg_stmt *ps = ps_of(s);
    if (pg_col_null(s, i))
        return 0;
    return strtoll(PQgetvalue(ps->res, ps->cur, i), NULL, 10);
}

static const char *pg_col_text(store_stmt *s, int i, size_t *len)
{
    pg_stmt *ps = ps_of(s);
    bool null = pg_col_null(s, i);
    if (len)
        *len = null ? 0 : (size_t)PQgetlength(ps->res, ps->cur, i);
    return null ? NULL : PQgetvalue(ps->res, ps->cur, i);
}

static int64_t pg_changes(store *st, store_stmt *s)
{
    (void)st;
    pg_stmt *ps = ps_of(s);
    const char *n = ps->res ? PQcmdTuples(ps->res) : "";
    return *n ? strtoll(n, NULL, 10) : 0;
}

/* ---- transactions, DDL ---- */

static int pg_exec(store *st, const char *sql)
{
    int rc = ensure_connected(st);
    return rc != 0 ? rc : pg_result(st, PQexec(conn_of(st)->c, sql), false);
}

/* Opens a transaction with sql. A connection found lost at BEGIN is
 * connected again and the BEGIN sent once more: nothing was done yet. A
 * failure (the write lock not obtained in time) undoes the BEGIN. */
static int begin(store *st, const char *sql)
{
    pg_conn *pc = conn_of(st);
    pc->tx = false; /* any transaction before is over */
    int rc = pg_exec(st, sql);
    if (rc != 0 && PQstatus(pc->c) == CONNECTION_BAD && !st->in_tx)
        rc = pg_exec(st, sql);
    if (rc != 0 && PQstatus(pc->c) == CONNECTION_OK && PQtransactionStatus(pc->c) != PQTRANS_IDLE)
        PQclear(PQexec(pc->c, "ROLLBACK"));
    pc->tx = rc == 0;
    return rc;
}

/* COMMIT, which PostgreSQL answers with ROLLBACK (and no error) for a
 * transaction an error aborted: that is a failure. */
static int commit(store *st)
{
    pg_conn *pc = conn_of(st);
    pc->tx = false;
    PGresult *res = PQexec(pc->c, "COMMIT");
    int rc = pg_result(st, res, true);
    if (rc != 0)
        return rc;
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = store_failf(st, CPQD_EIO, "the transaction was rolled back after an error");
    PQclear(res);
    return rc;
}

static int pg_tx(store *st, store_tx_op op)
{
    pg_conn *pc = conn_of(st);
    switch (op) {
    case STORE_TX_BEGIN:
        return begin(st, "BEGIN ISOLATION LEVEL READ COMMITTED;"
                         " SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_WRITE ")");
    case STORE_TX_BEGIN_READ:
        return begin(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    case STORE_TX_COMMIT:
        return commit(st);
    case STORE_TX_ROLLBACK:
        pc->tx = false;
        return pg_result(st, PQexec(pc->c, "ROLLBACK"), false);
    case STORE_TX_SAVEPOINT:
        return pg_result(st, PQexec(pc->c, "SAVEPOINT store_write"), false);
    case STORE_TX_RELEASE:
        return pg_result(st, PQexec(pc->c, "RELEASE SAVEPOINT store_write"), false);
    case STORE_TX_ROLLBACK_TO:
        return pg_result(st, PQexec(pc->c, "ROLLBACK TO SAVEPOINT store_write"), false);
    }
    return store_failf(st, CPQD_EINTERNAL, "bug: transaction op %d", (int)op);
}

/* In a transaction, also one an error aborted (its savepoint can still
 * be rolled back to; its COMMIT fails). A lost connection holds none
 * (and the one we began is over: the next call may connect again). */
static bool pg_in_tx(store *st)
{
    pg_conn *pc = conn_of(st);
    PGTransactionStatusType t = PQtransactionStatus(pc->c);
    if (PQstatus(pc->c) == CONNECTION_BAD)
        pc->tx = false;
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* ---- open, close ---- */

static void pg_close(void *conn)
{
    pg_conn *pc = conn;
    if (!pc)
        return;
    PQfinish(pc->c); /* the server rolls back an open transaction */
    free(pc);
}

/* Runs a query returning one row and copies its columns (up to n) into
 * bufs of cap bytes each. */
static int query_row(store *st, const char *sql, char (*bufs)[64], int n)
{
    PGresult *res = PQexec(conn_of(st)->c, sql);
    int rc = pg_result(st, res, true);
    if (rc != 0)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) < n)
        rc = store_failf(st, CPQD_EIO, "%s: no row", sql);
    for (int i = 0; rc == 0 && i < n; i++)
        snprintf(bufs[i], 64, "%s", PQgetvalue(res, 0, i));
    PQclear(res);
    return rc;
}

static bool byte_order(const char *collation)
{
    return !strcmp(collation, "C") || !strcmp(collation, "POSIX");
}

/* The database must store UTF-8 and order and fold text by bytes (C), as
 * SQLite does: lists, checksums and the ASCII-only case folding of a
 * search then agree on both backends. */
static int check_database(store *st)
{
    char v[3][64];
    if (PQserverVersion(conn_of(st)->c) < PG_MIN_VERSION)
        return store_failf(st, CPQD_EINVAL, "database %s: PostgreSQL 9.5 or newer is needed",
                           st->name);
    int rc = query_row(st,
                       "SELECT pg_encoding_to_char(encoding), datcollate, datctype"
                       " FROM pg_database WHERE datname = current_database()",
                       v, 3);
    if (rc != 0)
        return store_fail(st, rc, st->name);
    if (strcmp(v[0], "UTF8") != 0 || !byte_order(v[1]) || !byte_order(v[2]))
        return store_failf(st, CPQD_EINVAL,
                           "database %s has encoding %s, collation %s and ctype %s; cpqd needs "
                           "UTF8 and C (byte order, as SQLite): create it with CREATE DATABASE "
                           "... TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
                           st->name, v[0], v[1], v[2]);
    return 0;
}

/* The URL for libpq: its scheme in lower case (libpq knows no other). */
static char *url_for_libpq(const char *location)
{
    char *u = store_strdup(location);
    for (char *p = u; p && *p && *p != ':'; p++)
        *p = (char)tolower((unsigned char)*p);
    return u;
}

/* libpq's reason for a failed connection, first line, with anything of
 * the password it may quote (a malformed URL) replaced. */
static int connect_fail(store *st, PGconn *c, const char *location)
{
    char why[sizeof(st->err)];
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    snprintf(why, sizeof(why), "%.*s", (int)strcspn(m, "\n"), m);
    char secret[256];
    if (store_location_password(location, secret, sizeof(secret)) && *secret)
        for (char *at; (at = strstr(why, secret));)
            memset(at, '*', strlen(secret));
    return store_failf(st, c ? CPQD_EIO : CPQD_ENOMEM, "cannot connect to the database %s: %s",
                       st->name, why);
}

static int pg_open(store *st, void **conn)
{
    *conn = NULL;
    pg_conn *pc = calloc(1, sizeof(*pc));
    char *url = url_for_libpq(st->location);
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", (STORE_BUSY_TIMEOUT_MS + 999) / 1000 * 2);
    /* before dbname: the URL may override them; after it: it may not */
    const char *const kw[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                              NULL};
    const char *const val[] = {timeout, "cpqd", url, "UTF8", NULL};
    if (!pc || !url) {
        free(pc), free(url);
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    pc->c = PQconnectdbParams(kw, val, 1);
    free(url);
    int rc = 0;
    if (!pc->c || PQstatus(pc->c) != CONNECTION_OK)
        rc = connect_fail(st, pc->c, st->location);
    st->conn = pc; /* session_setup and check_database use it */
    if (rc == 0)
        rc = session_setup(st);
    if (rc == 0)
        rc = check_database(st);
    st->conn = NULL;
    if (rc != 0) {
        pg_close(pc);
        return rc;
    }
    *conn = pc;
    return 0;
}

/* ---- schema, settings ---- */

static int pg_schema_probe(store *st, int *objects, bool *has_version)
{
    char v[2][64];
    *objects = 0;
    *has_version = false;
    int rc = query_row(st,
                       "SELECT count(*), count(*) FILTER (WHERE c.relname = 'schema_version'"
                       " AND c.relkind IN ('r', 'p')) FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " WHERE n.nspname = current_schema()",
                       v, 2);
    if (rc == 0) {
        *objects = atoi(v[0]);
        *has_version = atoi(v[1]) > 0;
    }
    return rc;
}

/* synchronous_commit as SQLite's synchronous levels: off 0, on (a commit
 * waits for its WAL on disk, or a standby's) 2, remote_apply 3; and 0
 * whatever it says when the server runs with fsync off. */
static int sync_level(const char *commit, const char *fsync)
{
    if (!strcmp(fsync, "off") || !strcmp(commit, "off"))
        return 0;
    return !strcmp(commit, "remote_apply") ? 3 : 2;
}

static int pg_info(store *st, store_info *out)
{
    char v[4][64];
    int rc = query_row(st,
                       "SELECT current_setting('synchronous_commit'), current_setting('fsync'),"
                       " current_setting('session_replication_role'),"
                       " (SELECT setting FROM pg_settings WHERE name = 'lock_timeout')",
                       v, 4);
    if (rc != 0)
        return rc;
    snprintf(out->journal_mode, sizeof(out->journal_mode), "wal"); /* PostgreSQL's only one */
    out->synchronous = sync_level(v[0], v[1]);
    /* replica mode skips the triggers behind foreign keys */
    out->foreign_keys = strcmp(v[2], "replica") != 0;
    out->busy_timeout_ms = atoi(v[3]);
    return 0;
}

const store_driver store_pg_driver = {
    .name = "postgresql",
    /* store_sql[] as written: no statement needs a text of its own yet
     * (the outbox leases will: FOR UPDATE SKIP LOCKED) */
    .sql = NULL,
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .step = pg_step,
    .col_null = pg_col_null,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .reset = pg_reset,
    .changes = pg_changes,
    .tx = pg_tx,
    .in_tx = pg_in_tx,
    .exec = pg_exec,
    .schema_probe = pg_schema_probe,
    .info = pg_info,
};
