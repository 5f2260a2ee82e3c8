/*
 * store_int: what the store's files share (not for other modules), and
 * the driver seam under the backend-neutral store API.
 *
 * store.c        the neutral layer: backend selection by location, the
 *                statement cache, binding and stepping through the
 *                driver, errors, transactions and write scopes, the
 *                debug/test API, the `migrate` command
 * store_sqlite.c the SQLite driver: the only file that includes sqlite3.h
 * store_pg.c     the PostgreSQL driver: the only file that includes libpq-fe.h
 * store_schema.c schema version and migrations
 * store_move.c   moving a store's records to another backend (migrate --from)
 * store_sql.c    the portable SQL: migrations and statements
 * store_quote.c  quotes, versions, history, list
 * store_idem.c   idempotency records
 * store_archive.c catalog archives (files of quoted snapshots)
 * store_usage.c  promotion usage counters
 * store_outbox.c the outbox: events to the CRM, their delivery state
 * store_contract.c contracts, receivable items, payments, warnings
 * store_sweep.c  the items the receivables sweep could not process
 * store_fin.c    the finance loop: customers, invoices, bank credits,
 *                matches, write-offs, vouchers, revenue posted
 *
 * The record files never see a backend: they prepare a statement by id
 * (store_prepare), bind (store_bind_*), step (store_step: STORE_ROW,
 * STORE_DONE or a negative CPQD_E* code), read columns (store_col_*) and
 * end its use (store_stmt_done), inside write scopes (store_write_begin /
 * _end). A backend is a store_driver: a table of functions implementing
 * exactly those primitives (plus connecting, transaction control and the
 * schema probe); store.c picks it from the --db value in one place
 * (store_driver_for) and calls nothing else of it.
 *
 * Error protocol: a driver function that fails returns a negative
 * CPQD_E* code and leaves its reason, without context, in st->err
 * (store_failf); the caller adds its context with store_fail ("quote
 * get: <reason>"). Only open writes a whole message.
 */
#ifndef CPQD_STORE_INT_H
#define CPQD_STORE_INT_H

#include "cpqd/store.h"

/* Every prepared statement, cached per connection (prepared on first use,
 * finalized by store_close). Their SQL is store_sql[id], or the driver's
 * own text for id where its dialect differs (store_driver.sql). */
typedef enum store_stmt_id {
    STMT_COUNTER_NEXT,
    STMT_QUOTE_INSERT,
    STMT_VERSION_INSERT,
    STMT_QUOTE_HEAD,
    STMT_QUOTE_HEAD_UPDATE,
    STMT_QUOTE_GET,
    STMT_QUOTE_GET_HEAD,
    STMT_STATUS_UPDATE,
    STMT_VERSION_STATUS_UPDATE,
    STMT_EVENT_NEXT,
    STMT_EVENT_INSERT,
    STMT_EVENTS,
    STMT_LIST,
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
    STMT_OUTBOX_CLAIM,
    STMT_OUTBOX_GET,
    STMT_OUTBOX_STATUS,
    STMT_OUTBOX_DELIVERED,
    STMT_OUTBOX_FAILED,
    STMT_OUTBOX_REPLAY,
    STMT_CONTRACT_COUNTER_NEXT,
    STMT_CONTRACT_INSERT,
    STMT_CONTRACT_GET,
    STMT_CONTRACT_BY_QUOTE,
    STMT_CONTRACT_LIST,
    STMT_RECV_INSERT,
    STMT_RECV_OF_CONTRACT,
    STMT_RECV_GET,
    STMT_RECV_DUE_UNTIL,
    STMT_RECV_DUE_PAGE,
    STMT_RECV_SET_PAID,
    STMT_RECV_SET_DATES,
    STMT_PAYMENT_INSERT,
    STMT_PAYMENT_GET,
    STMT_PAYMENTS_OF,
    STMT_PAYMENTS_OF_CONTRACT,
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
    STMT_PROMO_USAGE_1,
    STMT_PROMO_USAGE_2,
    STMT_PROMO_USAGE_4,
    STMT_PROMO_USAGE_SET,
    STMT_SWEEP_FAIL_GET,
    STMT_SWEEP_FAIL_INSERT,
    STMT_SWEEP_FAIL_AGAIN,
    STMT_SWEEP_FAIL_RESOLVE,
    STMT_SWEEP_FAIL_LIST,
    STMT_OUTBOX_PRUNE,
    STMT_OUTBOX_SEQ_SET,
    /* the finance loop (store_fin.c, migration 9): their SQL is
     * store_fin_sql[id - STMT_FIN_FIRST] */
    STMT_FIN_FIRST,
    STMT_FIN_COUNTER_NEXT = STMT_FIN_FIRST,
    STMT_FIN_CUSTOMER_GET,
    STMT_FIN_CUSTOMER_PUT,
    STMT_FIN_CUSTOMERS_ALL,
    STMT_FIN_OPEN_ITEMS,
    STMT_FIN_INVOICE_INSERT,
    STMT_FIN_INVOICE_ITEM_INSERT,
    STMT_FIN_INVOICE_GET,
    STMT_FIN_INVOICES_OF,
    STMT_FIN_INVOICE_ITEMS_OF,
    STMT_FIN_INVOICE_ITEM_CANCEL,
    STMT_FIN_INVOICE_ITEMS_OPEN,
    STMT_FIN_STATEMENT_INSERT,
    STMT_FIN_STATEMENT_GET,
    STMT_FIN_CREDIT_INSERT,
    STMT_FIN_CREDIT_GET,
    STMT_FIN_CREDIT_SEEN,
    STMT_FIN_CREDITS_LIST,
    STMT_FIN_CREDIT_UPDATE,
    STMT_FIN_MATCH_INSERT,
    STMT_FIN_ALLOC_INSERT,
    STMT_FIN_MATCH_GET,
    STMT_FIN_ALLOCS_OF,
    STMT_FIN_MATCHES_OF,
    STMT_FIN_MATCH_REVERSE,
    STMT_FIN_PAYMENT_DELETE,
    STMT_FIN_WRITE_OFF_INSERT,
    STMT_FIN_WRITE_OFF_GET,
    STMT_FIN_VOUCHER_INSERT,
    STMT_FIN_VOUCHERS_LIST,
    STMT_FIN_REVENUE_OF,
    STMT_FIN_REVENUE_INSERT,
    STMT_FIN_REVENUE_UPDATE,
    STMT_FIN_CONTRACT_IDS,
    STMT_FIN_COUNTER_SET,
    STMT_FIN_CREDITS_OPEN_OF,
    STMT_FIN_CREDIT_APPLIED_TO,
    STMT_FIN_INVOICE_LIST,
    STMT_COUNT
} store_stmt_id;

extern const char *const store_sql[STMT_COUNT];
/* The SQL of the finance statements (store_fin.c). */
extern const char *const store_fin_sql[STMT_COUNT - STMT_FIN_FIRST];
/* Creates schema_version if missing; run before reading the version. */
extern const char store_sql_bootstrap[];
/* store_migrations[i] takes the schema from version i to i + 1. */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];

/* A table of the schema: its name, all its columns (comma-separated) and
 * its primary key (an ORDER BY). */
typedef struct store_table {
    const char *name, *cols, *key;
} store_table;
/* Every table but schema_version, parents first (store_sql.c). */
extern const store_table store_tables[];
extern const size_t store_table_count;

/* ---- the driver seam ---- */

typedef struct store_driver store_driver;

/* A driver's prepared statement. The driver's own statement struct
 * starts with this one (and casts back), so that the neutral helpers
 * below find the driver from the handle alone. */
typedef struct store_stmt {
    const store_driver *drv;
} store_stmt;

/* What store_step returns besides a negative CPQD_E* code. */
enum { STORE_DONE = 0, STORE_ROW = 1 };

/* Transaction control. BEGIN takes the write lock at once (SQLite's
 * BEGIN IMMEDIATE; PostgreSQL: an advisory lock per database), so two
 * writers never deadlock on upgrading a read and each sees every write
 * committed before it; BEGIN_READ opens one read snapshot. The savepoint is the write scope's
 * (one name; scopes nest, the innermost one is meant). */
typedef enum store_tx_op {
    STORE_TX_BEGIN,
    STORE_TX_BEGIN_READ,
    STORE_TX_COMMIT,
    STORE_TX_ROLLBACK,
    STORE_TX_SAVEPOINT,
    STORE_TX_RELEASE,
    STORE_TX_ROLLBACK_TO,
} store_tx_op;

/* A backend: a constant table (immutable, share freely); its connection
 * and statements are per store handle. Every function that can fail
 * returns 0 (or a STORE_ROW / STORE_DONE result) or a negative CPQD_E*
 * code with its reason in st->err (see the error protocol above). Codes: CPQD_ECONFLICT for a
 * unique or primary key violation, CPQD_EINVAL for another constraint or
 * a database that is not one, CPQD_ENOMEM, CPQD_ELIMIT for a value too
 * big, CPQD_EIO for the rest (including a lock not obtained in time). */
struct store_driver {
    const char *name; /* "sqlite", "postgresql": store_info.backend */
    /* NULL, or STMT_COUNT texts: a non-NULL one replaces store_sql[id]
     * for this backend (FOR UPDATE SKIP LOCKED, a type of its own...) */
    const char *const *sql;
    /* Connects to st->location (creating what it may: a file and its
     * directories), with the settings the store's promises need
     * (durable commits, foreign keys, a lock wait of
     * STORE_BUSY_TIMEOUT_MS); does not look at the schema. Writes a whole
     * message on failure and leaves *conn NULL. */
    int (*open)(store *st, void **conn);
    /* Rolls back an open transaction and disconnects; NULL is a no-op.
     * Every statement was finalized before. */
    void (*close)(void *conn);
    /* Prepares one statement (id: its store_stmt_id, or -1 for an ad hoc
     * one, for messages). Parameters are written $1..$n. More than one
     * statement in sql is CPQD_EINVAL. */
    int (*prepare)(store *st, const char *sql, int id, store_stmt **out);
    void (*finalize)(store_stmt *s); /* NULL is a no-op */
    /* Binds parameter i (1..): text of len bytes (v NULL: SQL NULL; v
     * stays valid until the statement is reset) or an integer. */
    int (*bind_text)(store *st, store_stmt *s, int i, const char *v, size_t len);
    int (*bind_int64)(store *st, store_stmt *s, int i, int64_t v);
    /* Runs s to its next row: STORE_ROW, STORE_DONE or a code. */
    int (*step)(store *st, store_stmt *s);
    /* Column i (0..) of the current row. col_text: NULL for SQL NULL or
     * out of memory (col_null tells them apart); *len (if wanted) its
     * bytes; valid until the next step or reset of s. */
    bool (*col_null)(store_stmt *s, int i);
    int64_t (*col_int64)(store_stmt *s, int i);
    const char *(*col_text)(store_stmt *s, int i, size_t *len);
    /* Ends a use of s: its read ends, its bindings are cleared. */
    void (*reset)(store_stmt *s);
    /* Rows changed by s, which just returned STORE_DONE. */
    int64_t (*changes)(store *st, store_stmt *s);
    /* Transaction control. A COMMIT of a transaction the backend has
     * already undone after an error must fail, never report success. */
    int (*tx)(store *st, store_tx_op op);
    /* A transaction is open on the connection (begun by us and not
     * ended, or not yet undone by the backend after an error). */
    bool (*in_tx)(store *st);
    /* Runs sql without parameters: DDL, one or more statements (the
     * bootstrap and the migrations). */
    int (*exec)(store *st, const char *sql);
    /* How many schema objects (tables, indexes...) the database holds,
     * and whether table schema_version is one of them. */
    int (*schema_probe)(store *st, int *objects, bool *has_version);
    /* The settings in effect, read back (journal_mode, synchronous,
     * foreign_keys, busy_timeout_ms of store_info). */
    int (*info)(store *st, store_info *out);
};

extern const store_driver store_sqlite_driver;
extern const store_driver store_pg_driver;

/* A counter handed out from memory in a flat scope: `set` writes its
 * last number back ($1 the number, $2 the name unless it is ""). */
#define STORE_FLAT_SEQS 8
typedef struct store_flat_seq {
    store_stmt_id set;
    char name[32];
    int64_t last;
    bool dirty; /* numbers were handed out since it was read */
} store_flat_seq;

struct store {
    const store_driver *drv;
    void *conn;                   /* the driver's connection */
    char *location;               /* the --db value: a path or a URL (may hold a password) */
    char *name;                   /* location for messages: its password redacted */
    store_stmt *stmt[STMT_COUNT]; /* NULL until first used */
    bool in_tx;                   /* store_begin opened the current transaction */
    int bind_rc;                  /* first failed bind since the last prepare */
    int fail_at;                  /* test hook: the fail_at-th next step fails */
    char err[512];                /* store_last_error, or a driver's reason */
    uint64_t tx_t0;               /* metrics_now_ns at the write transaction's BEGIN, 0 if none */
    size_t batch;                 /* requests the next store_commit carries (0: one) */
    bool flat;                    /* store_flat_begin: inner write scopes take no savepoint */
    store_flat_seq seqs[STORE_FLAT_SEQS]; /* counters handed out from memory while flat */
    size_t nseqs;
    char archived[72];            /* a catalog version seen archived and committed ("": none);
                                   * archives never change or go (store_archive.c) */
};

#define STORE_TS_LEN 21 /* "2026-11-26T08:41:14Z" + NUL */

/* ---- statements (what the record files use) ---- */

/* The cached statement id (reset, without bindings) in *out: 0, or a
 * CPQD_E* code with the reason in st->err. */
int store_prepare(store *st, store_stmt_id id, store_stmt **out);
/* The driver's step, honouring a failed bind and the test hook:
 * STORE_ROW, STORE_DONE, or a code with the reason in st->err (add the
 * context with store_fail). */
int store_step(store *st, store_stmt *s);
/* Ends a statement's use: reset (ends its read) and clear bindings;
 * NULL is a no-op. */
void store_stmt_done(store_stmt *s);
/* Binders: NULL binds SQL NULL; a failure is reported by the next step. */
void store_bind_text(store *st, store_stmt *s, int i, const char *v);
void store_bind_text_n(store *st, store_stmt *s, int i, const char *v, size_t len);
void store_bind_int64(store *st, store_stmt *s, int i, int64_t v);
/* Rows changed by s, which just returned STORE_DONE. */
int64_t store_changes(store *st, store_stmt *s);

static inline bool store_col_null(store_stmt *s, int i)
{
    return s->drv->col_null(s, i);
}
static inline int64_t store_col_int64(store_stmt *s, int i)
{
    return s->drv->col_int64(s, i);
}
/* An INTEGER column that holds an int (a version, a line number...). */
static inline int store_col_int(store_stmt *s, int i)
{
    return (int)s->drv->col_int64(s, i);
}
/* Text column i: NULL for SQL NULL or out of memory; *len (if wanted)
 * its bytes; valid until the next step or reset. */
static inline const char *store_col_text(store_stmt *s, int i, size_t *len)
{
    return s->drv->col_text(s, i, len);
}
/* A copy of text column i (NULL for SQL NULL) into *out: 0 or CPQD_ENOMEM. */
int store_col_dup(store_stmt *s, int i, char **out);

/* ---- errors ---- */

/* Adds context to the reason a failed driver call left in st->err:
 * "what: reason"; returns code. A STORE_ROW / STORE_DONE where the
 * caller expected the other is CPQD_EIO. */
int store_fail(store *st, int code, const char *what);
/* Records a message for store_last_error and returns code. */
int store_failf(store *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- transactions ---- */

/* Transaction control through the driver, counted by the test hook;
 * 0 or a code with the reason in st->err. */
int store_tx(store *st, store_tx_op op);
/* The same, uncounted, ignoring failure and keeping st->err (undoing
 * after an error, ending a read). */
void store_tx_quiet(store *st, store_tx_op op);
/* A transaction is open on the connection. */
bool store_in_tx(store *st);
/* Runs DDL without parameters (counted by the test hook). */
int store_exec(store *st, const char *sql);

/* Write scope: a transaction of its own when none is open (*own), else a
 * savepoint inside the caller's. store_write_end commits/releases on
 * rc == 0 and undoes everything of the scope otherwise; returns rc, or
 * CPQD_EIO if committing failed. */
int store_write_begin(store *st, bool *own);
int store_write_end(store *st, bool own, int rc);
/* Read scope: one read snapshot (a read transaction of its own when none
 * is open: *own) for reads that must agree, e.g. a page and its total.
 * Returns 0 or a code with the reason in st->err. */
int store_read_begin(store *st, bool *own);
void store_read_end(store *st, bool own);

/* Counters in a flat scope (store_flat_begin), where the transaction
 * holds the write lock and every number it takes stands or falls with
 * it: the first number of a counter comes from its table (the caller's
 * UPDATE ... RETURNING, which locks the row to commit) and is noted with
 * store_flat_seq_note; the next ones come from memory
 * (store_flat_seq_take: true and *seq), and store_flat_end writes the
 * last one back with statement `set`. Outside a flat scope take returns
 * false and note does nothing. */
bool store_flat_seq_take(store *st, store_stmt_id set, const char *name, int64_t *seq);
void store_flat_seq_note(store *st, store_stmt_id set, const char *name, int64_t seq);

/* ---- helpers ---- */

/* location is a postgres:// or postgresql:// URL (PostgreSQL's). */
bool store_location_is_url(const char *location);
/* The password in a --db URL (user info or password= parameter) into
 * buf: true, or false when there is none. For scrubbing messages. */
bool store_location_password(const char *location, char *buf, size_t cap);

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
/* prefix + 16 hex characters into out[0..cap): 8 of the wall clock's
 * seconds, then 8 from getrandom. Ids made later sort after, so an index
 * on them takes a batch of new rows on its last pages (a random id would
 * change one page of every such index per row, each written to the WAL
 * at the commit). Two ids of the same second collide with probability
 * 2^-32: the insert that uses one must say ON CONFLICT DO NOTHING and
 * try a fresh id when no row was inserted. */
int store_ordered_id(store *st, const char *prefix, char *out, size_t cap);
/* An ad hoc statement (one, without caching: free it with
 * store_stmt_free), ready for binding: 0 or a code, reason in st->err. */
int store_prepare_sql(store *st, const char *sql, store_stmt **out);
void store_stmt_free(store_stmt *s); /* NULL is a no-op */

/* Steps a statement that returns no row and resets it; *changes (if
 * wanted) gets the rows it changed. */
int store_run(store *st, store_stmt *s, const char *what, int *changes);
/* store_run for an INSERT ... ON CONFLICT DO NOTHING: CPQD_ECONFLICT
 * when it inserted nothing (a row with one of its keys exists), and the
 * transaction goes on. */
int store_run_insert(store *st, store_stmt *s, const char *what);
/* The next number of `year` from the counter statement sid, inside the
 * caller's write scope. */
int store_counter_next(store *st, store_stmt_id sid, int year, const char *what, int64_t *seq);

/* ---- rows: what the record files share ---- */

/* Reads the current row of s into *item (zeroed before): 0 or
 * CPQD_ENOMEM, having freed what it copied. */
typedef int (*store_row_read_fn)(store_stmt *s, void *item);
typedef void (*store_row_fini_fn)(void *item); /* frees one item's fields */
/* Binds v[0..n) (NULL: SQL NULL) to parameters first..first+n-1. */
void store_bind_texts(store *st, store_stmt *s, int first, const char *const *v, int n);
/* Copies text column i into *cols[i] for each non-NULL cols[i]:
 * 0 or CPQD_ENOMEM (the copies made so far stay, for the caller's fini). */
int store_cols_dup(store_stmt *s, char **const *cols, int n);
void store_strs_free(char *const *v, size_t n); /* frees v[0..n) */
/* Every row of s (bound) into a malloc'ed array of `size`-byte items
 * (*items NULL and *n 0 when none), read by read; on failure what was
 * read is freed with fini. Ends the statement's use. */
int store_rows_read(store *st, store_stmt *s, size_t size, store_row_read_fn read,
                    store_row_fini_fn fini, void **items, size_t *n);
/* The one row s (bound) yields into out; none is CPQD_ENOTFOUND "<what>
 * <key>: not found". Ends the statement's use. */
int store_row_one(store *st, store_stmt *s, store_row_read_fn read, void *out, const char *what,
                  const char *key);

/* ---- packed texts (store_pack.c) ----
 * A large text (a priced result, a request, a reply, a payload, a
 * catalog file) is stored as STORE_PACK_MARK + base64 of its zstd frame;
 * a text without the mark is read as it is (rows from before packing). */
#define STORE_PACK_MIN 512 /* bytes: shorter texts are stored as they are */
#define STORE_PACK_FAST 1  /* zstd level on the request path */
#define STORE_PACK_SMALL 3 /* zstd level for archives (written once per catalog version) */
/* Packs text[0..len) at zstd level into *out (malloc'ed, *out_len bytes,
 * NUL-terminated), or leaves *out NULL when the text is better stored as
 * it is (short, or not smaller packed). 0 or CPQD_ENOMEM. */
int store_pack(const char *text, size_t len, int level, char **out, size_t *out_len);
/* s[0..len) is packed. */
bool store_packed(const char *s, size_t len);
/* The text s[0..len) stands for, malloc'ed and NUL-terminated into *out
 * (*out_len, if wanted, its bytes): a copy when s is not packed. 0,
 * CPQD_ENOMEM, or CPQD_EIO for a packed text that does not unpack. */
int store_unpack(const char *s, size_t len, char **out, size_t *out_len);
/* A text with a reference r to a priced result (store.h
 * store_priced_ref; r->quote set): whether r names a version and lies
 * within text, and the rest of text, on both sides, is storable text (the
 * priced part was checked when its version was stored). */
bool store_priced_ref_ok(const store_priced_ref *r, const char *text);
/* text without what r references (all of it when r->quote is NULL),
 * packed, into *out (malloc'ed). 0 or CPQD_ENOMEM. */
int store_pack_without(const char *text, const store_priced_ref *r, char **out);
/* Binds r's quote, version and place at parameters i, i + 1, i + 2 (SQL
 * NULLs when r->quote is NULL). */
void store_bind_priced_ref(store *st, store_stmt *s, int i, const store_priced_ref *r);
/* Text column i unpacked, with the priced result of column priced_col
 * put back in at the byte column at_col gives (NULL: none referenced):
 * what store_pack_without left out. 0, CPQD_ENOMEM, CPQD_EIO (does not
 * unpack, or the place lies outside the text) or CPQD_ENOTFOUND (a
 * reference whose version is not there: a damaged database); *out is
 * NULL on failure. */
int store_col_unpack_with(store_stmt *s, int i, int at_col, int priced_col, char **out);
/* store_col_dup that unpacks text column i: NULL for SQL NULL. 0,
 * CPQD_ENOMEM or CPQD_EIO (does not unpack). */
int store_col_unpack(store_stmt *s, int i, char **out);

#endif
