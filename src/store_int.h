/*
 * store_int: what the store's files share (not for other modules).
 *
 * store.c        the connection: open, pragmas, statement cache, errors,
 *                transactions, the `migrate` command
 * store_schema.c schema version and migrations
 * store_sql.c    the portable SQL: migrations and statements
 * store_quote.c  quotes, versions, history, list
 * store_idem.c   idempotency records
 * store_archive.c catalog archives (files of quoted snapshots)
 * store_usage.c  promotion usage counters
 * store_outbox.c the outbox: events to the CRM, their delivery state
 * store_contract.c contracts, receivable items, payments, warnings
 */
#ifndef CPQD_STORE_INT_H
#define CPQD_STORE_INT_H

#include "cpqd/store.h"

#include <sqlite3.h>

/* Every prepared statement, cached per connection (prepared on first use,
 * finalized by store_close). Their SQL is store_sql[id]. */
typedef enum store_stmt_id {
    STMT_COUNTER_NEXT,
    STMT_QUOTE_INSERT,
    STMT_VERSION_INSERT,
    STMT_QUOTE_HEAD,
    STMT_QUOTE_HEAD_UPDATE,
    STMT_QUOTE_GET,
    STMT_STATUS_UPDATE,
    STMT_VERSION_STATUS_UPDATE,
    STMT_EVENT_NEXT,
    STMT_EVENT_INSERT,
    STMT_EVENTS,
    STMT_LIST,
    STMT_LIST_COUNT,
    STMT_IDEM_GET,
    STMT_IDEM_INSERT,
    STMT_VERSION_GET,
    STMT_VERSION_RECORD,
    STMT_ARCHIVE_GET,
    STMT_ARCHIVE_INSERT,
    STMT_ARCHIVE_FILE_INSERT,
    STMT_ARCHIVE_FILES,
    STMT_OUTBOX_SEQ_NEXT,
    STMT_OUTBOX_INSERT,
    STMT_OUTBOX_LIST,
    STMT_OUTBOX_DUE,
    STMT_OUTBOX_GET,
    STMT_OUTBOX_STATUS,
    STMT_OUTBOX_DELIVERED,
    STMT_OUTBOX_FAILED,
    STMT_OUTBOX_REPLAY,
    STMT_CONTRACT_COUNTER_NEXT,
    STMT_CONTRACT_INSERT,
    STMT_CONTRACT_GET,
    STMT_CONTRACT_BY_QUOTE,
    STMT_RECV_INSERT,
    STMT_RECV_OF_CONTRACT,
    STMT_RECV_GET,
    STMT_RECV_DUE_UNTIL,
    STMT_RECV_SET_PAID,
    STMT_RECV_SET_DATES,
    STMT_PAYMENT_INSERT,
    STMT_PAYMENT_GET,
    STMT_PAYMENTS_OF,
    STMT_WARNING_INSERT,
    STMT_LINE_EVENTS_OF,
    STMT_LINE_EVENT_INSERT,
    STMT_USAGE_GET,
    STMT_USAGE_INSERT,
    STMT_USAGE_OF_PERIOD,
    STMT_RECV_SET_AMOUNT,
    STMT_CONTRACT_SET_TOTAL,
    STMT_RECV_OPEN_USAGE,
    STMT_CHANGES_OF,
    STMT_CHANGE_INSERT,
    STMT_RECV_RESET_AMOUNT,
    STMT_RECV_TERMS_ENDED,
    STMT_PROMO_USAGE_GET,
    STMT_PROMO_USAGE_SET,
    STMT_COUNT
} store_stmt_id;

extern const char *const store_sql[STMT_COUNT];
/* Creates schema_version if missing; run before reading the version. */
extern const char store_sql_bootstrap[];
/* store_migrations[i] takes the schema from version i to i + 1. */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[STMT_COUNT]; /* NULL until first used */
    bool in_tx;                     /* store_begin opened the current transaction */
    int bind_rc;                    /* first failed bind since the last step */
    int fail_at;                    /* test hook: the fail_at-th next step fails */
    bool injected;                  /* the last failure came from fail_at */
    char err[512];                  /* store_last_error */
};

#define STORE_TS_LEN 21 /* "2026-11-26T08:41:14Z" + NUL */

/* The cached statement id (reset, without bindings) in *out: 0, or a
 * CPQD_E* code with the reason in st->err. */
int store_stmt(store *st, store_stmt_id id, sqlite3_stmt **out);
/* sqlite3_step, honouring a failed bind and the test hook; records the
 * reason of a failure in st->err. Returns the SQLite code. */
int store_step(store *st, sqlite3_stmt *s);
/* Ends a statement's use: reset (ends its read) and clear bindings. */
void store_stmt_done(sqlite3_stmt *s);
/* Binders: NULL binds SQL NULL; a failure is reported by the next step. */
void store_bind_text(store *st, sqlite3_stmt *s, int i, const char *v);
void store_bind_int64(store *st, sqlite3_stmt *s, int i, int64_t v);
/* Maps an SQLite code to a CPQD_E* code, recording "what: reason". */
int store_fail(store *st, int sqlite_rc, const char *what);
/* Records a message for store_last_error and returns code. */
int store_failf(store *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A copy of text column i (NULL for SQL NULL) into *out: 0 or CPQD_ENOMEM. */
int store_col_dup(sqlite3_stmt *s, int i, char **out);
/* Runs one statement without parameters (transaction control, DDL). */
int store_exec(store *st, const char *sql);

/* Write scope: a transaction of its own when none is open (*own), else a
 * savepoint inside the caller's. store_write_end commits/releases on
 * rc == 0 and undoes everything of the scope otherwise; returns rc, or
 * CPQD_EIO if committing failed. */
int store_write_begin(store *st, bool *own);
int store_write_end(store *st, bool own, int rc);

/* Now as ISO 8601 UTC with seconds. */
void store_now(char buf[STORE_TS_LEN]);
/* s is non-NULL, non-empty, valid UTF-8. */
bool store_text_ok(const char *s);
/* s is NULL or store_text_ok. */
bool store_opt_text_ok(const char *s);
/* A malloc'ed copy, or NULL. */
char *store_strdup(const char *s);

/* Schema (store_schema.c): checks the schema of a freshly opened st:
 * current, or empty (created), or older and migrate (migrated); any other
 * case is CPQD_EINVAL with the operator's reason in st->err. *from is the
 * version found. */
int store_schema_open(store *st, bool migrate, int *from);

/* Helpers the store's files share. */
/* -?[0-9]+(.[0-9]+)? : the exact decimal text money is stored as. */
bool store_decimal_ok(const char *s);
/* NULL, or a calendar date YYYY-MM-DD. */
bool store_date_ok(const char *s);
/* prefix + 16 hex characters from getrandom into out[0..cap). */
int store_random_id(store *st, const char *prefix, char *out, size_t cap);
/* Steps a statement that returns no row and resets it; *changes (if
 * wanted) gets the rows it changed. */
int store_run(store *st, sqlite3_stmt *s, const char *what, int *changes);
/* The next number of `year` from the counter statement sid, inside the
 * caller's write scope. */
int store_counter_next(store *st, store_stmt_id sid, int year, const char *what, int64_t *seq);

/* Test hook: the n-th store_step from now on st fails with SQLITE_IOERR
 * (0 disarms). For the failure-path tests only. */
void store_test_fail_step(store *st, int n);

#endif
