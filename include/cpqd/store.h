/*
 * store: durable state (quotes, their versions and status history,
 * idempotency records, contracts, receivables and payments, the outbox)
 * behind one backend-neutral interface. A backend is a driver under it
 * (src/store_int.h "the driver seam"); the --db value picks it: a file
 * path is SQLite (src/store_sqlite.c, the embedded default), a
 * postgres:// or postgresql:// URL is PostgreSQL (src/store_pg.c, libpq:
 * several cpqd instances on one database).
 *
 * Owns: the database, its schema and migrations (schema version in table
 * schema_version, shared by every backend), transactions, and the SQL.
 * The SQL is written to be accepted by PostgreSQL too (TEXT/INTEGER/BIGINT
 * columns, no SQLite-only functions or AUTOINCREMENT, parameters written
 * $1..$n, timestamps as ISO 8601 text in UTC, money as exact decimal TEXT,
 * never REAL); a driver may replace a statement's text where its dialect
 * differs.
 * Does not own: what a quote means, its status machine or pricing
 * (quote, price), JSON (callers pass and get text; the store only checks
 * that text is valid UTF-8, as PostgreSQL would).
 *
 * Durability: a transaction that store_commit returned 0 for survives
 * kill -9 and power loss of the process. SQLite: WAL journal with
 * synchronous=FULL (fsync of the WAL on every commit). PostgreSQL:
 * synchronous_commit=on (a commit waits for its WAL on disk).
 *
 * Transactions: a write function (store_quote_insert, _add_version,
 * _set_status, store_idem_put) joins the caller's transaction when one is
 * open (store_begin) and otherwise runs in a transaction of its own. Either
 * way a write that fails changes nothing: it undoes its own partial work
 * (a savepoint), and the caller's transaction stays usable, so the caller
 * decides whether to commit the rest or roll everything back.
 *
 * Ownership: every string in a store_quote / store_idem / store_event /
 * store_outbox_event filled by the store is malloc'ed and freed by the matching _fini;
 * inputs are only read. The fields a write assigns (see each function)
 * are overwritten without being freed.
 * Thread-safety: a store handle is one database connection: use it from
 * one thread at a time (one handle per worker thread); several handles on
 * one database, in one process or several, are safe (SQLite: its locking,
 * busy timeout STORE_BUSY_TIMEOUT_MS; PostgreSQL: one write transaction
 * at a time per database, an advisory lock waited for up to
 * STORE_BUSY_TIMEOUT_MS, whichever instance holds it).
 */
#ifndef CPQD_STORE_H
#define CPQD_STORE_H

#include "cpqd/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 14
#define STORE_DEFAULT_PATH "var/cpqd.db" /* `serve` and `migrate` without --db */
#define STORE_BUSY_TIMEOUT_MS 5000       /* a writer waits this long for another */
#define STORE_PER_PAGE_MAX 500

typedef struct store store; /* opaque: one connection, per-worker */

/* Opens the database at path (a --db value: see the top of this file;
 * SQLite creates the file and its parent directories if missing and runs
 * in WAL mode with synchronous=FULL; PostgreSQL connects to an existing
 * database, which must be UTF8 with collation and ctype C), with foreign
 * keys on.
 * A new, empty database gets the current schema. With migrate, an older
 * schema is migrated to STORE_SCHEMA_VERSION first (each step in one
 * transaction); without it, an older schema is an error telling the
 * operator to run `cpqd migrate`. A newer schema than this binary knows,
 * or a file that is not a cpqd database, is always an error. errs may be
 * NULL. Returns 0 (and *out), CPQD_EIO (file or database failure),
 * CPQD_EINVAL (wrong schema, a backend not built; reason in errs) or
 * CPQD_ENOMEM. */
int store_open(const char *path, bool migrate, store **out, cpqd_errs *errs);
/* Closes the connection, rolling back an open transaction; NULL is a
 * no-op. */
void store_close(store *st);

/* Migrates the database at path (creating it if missing) to
 * STORE_SCHEMA_VERSION: *from is its version before, *to after. Returns
 * as store_open. */
int store_migrate(const char *path, int *from, int *to, cpqd_errs *errs);
/* `cpqd migrate [--db PATH|URL] [--from PATH]` (argv[0] == "migrate";
 * --db defaults to STORE_DEFAULT_PATH): prints "schema version A -> B"
 * on stdout, errors on stderr. With --from, moves the store at PATH into
 * the (new or empty) one at --db (store_move) and prints one line per
 * table ("TABLE: N rows, sha256 HEX") and a summary. Returns the exit
 * status: 0 done, 1 failed, 2 usage. */
int store_cli_migrate(int argc, char **argv);

/* Moves every record of the store at `from` (a --db value, at
 * STORE_SCHEMA_VERSION) into the store at `to` (created or migrated,
 * and holding no record yet), in one transaction on `to`; before
 * committing, reads every table back from `to` and compares its row
 * count and checksum (SHA-256 over its rows in primary-key order) with
 * what was read from `from` (one read snapshot); commits only if all
 * agree. report (may be NULL) is called once per table with its name,
 * rows and hex checksum. `from` is only read. Returns 0, CPQD_EINVAL
 * (`from` older or newer, `to` not empty, the same location), CPQD_EIO
 * (a failure, or a mismatch: nothing written), CPQD_ENOMEM; the reason
 * in errs, which must not be NULL. */
typedef void (*store_move_report)(void *ctx, const char *table, int64_t rows,
                                  const char *checksum);
int store_move(const char *from, const char *to, store_move_report report, void *ctx,
               cpqd_errs *errs);

/* The schema version recorded in the database. 0 or CPQD_EIO. */
int store_schema_version(store *st, int *out);

/* What the connection actually runs with, read back from the backend
 * (for the startup log and the tests). */
typedef struct store_info {
    char backend[16];      /* "sqlite" or "postgresql" */
    char journal_mode[16]; /* "wal" (PostgreSQL: always) */
    int synchronous;       /* 0 off, 1 normal, 2 full, 3 extra (PostgreSQL: from
                              synchronous_commit; 0 if the server runs without fsync) */
    bool foreign_keys;
    int busy_timeout_ms;
    int schema_version;
} store_info;
int store_info_get(store *st, store_info *out);

/* location (a --db value) fit for a log or a message: the password of a
 * URL (user info or password= parameter) replaced by "***"; a path as it
 * is. Writes at most cap bytes to buf (truncating) and returns buf. */
const char *store_location_redact(const char *location, char *buf, size_t cap);

/* A human-readable reason for the last failed call on st ("" if none),
 * for logs; valid until the next call on st. */
const char *store_last_error(const store *st);

/* One transaction per request: it takes the write lock at its start
 * (SQLite: BEGIN IMMEDIATE, so two writers never deadlock on upgrade;
 * PostgreSQL: an advisory lock per database, across instances; waits up
 * to STORE_BUSY_TIMEOUT_MS for another writer) ... COMMIT. store_begin
 * returns 0, CPQD_EIO, or CPQD_EINVAL if
 * a transaction is already open. store_commit returns 0 once the
 * transaction is durable, CPQD_EINVAL outside a transaction, or CPQD_EIO
 * (the transaction is then rolled back: nothing of it was written).
 * Rollback never fails visibly and is a no-op outside a transaction. */
int store_begin(store *st);
int store_commit(store *st);
/* The next store_commit of st carries the work of n requests (a group
 * commit): GET /metrics counts commit batch sizes from it
 * (cpqd_store_commit_batch_size; without a note a commit is one). */
void store_batch_note(store *st, size_t n);
void store_rollback(store *st);

/* A scope inside the caller's open transaction (a savepoint), for a
 * batch whose items must succeed or fail one by one (the receivables
 * sweep): store_scope_end keeps what the scope wrote when rc is 0 and
 * undoes all of it otherwise, the transaction staying usable either way.
 * Scopes nest. store_scope_begin returns 0, CPQD_EINVAL outside a
 * transaction, or CPQD_EIO (the transaction was lost: stop the batch);
 * store_scope_end returns rc, or CPQD_EIO when keeping it failed (then
 * it was undone). */
int store_scope_begin(store *st);
int store_scope_end(store *st, int rc);

/* Flat writes, for many writes that succeed or fail together (a bank
 * statement's thousands of rows) inside the caller's open transaction
 * or scope: until store_flat_end, the store's calls take no savepoint
 * of their own (a savepoint per call copies every page it touches; on
 * PostgreSQL it is a round trip), and counters count in memory (written
 * back by store_flat_end). A call that fails may then leave part of its
 * writes, and numbers taken are not given back: on any failure the
 * caller must undo the enclosing transaction or scope. Scopes do not
 * nest inside flat writes. store_flat_begin returns 0 or CPQD_EINVAL
 * outside a transaction; store_flat_end returns rc, or the failure of
 * writing the counters back. */
int store_flat_begin(store *st);
int store_flat_end(store *st, int rc);

/* ---- for tests and operators ----
 * In every build, reachable from no route or command: the store's tests
 * look behind the API through these (so the same tests run on every
 * backend), and an operator's tool may too. */

/* Connects like store_open without looking at the schema (nor creating
 * it): for building a database by hand (an old or foreign one). */
int store_debug_open(const char *location, store **out, cpqd_errs *errs);
/* Runs one SQL statement without parameters that returns no row, in the
 * backend's dialect; *changes (may be NULL) gets the rows it changed.
 * 0 or a CPQD_E* code (reason in store_last_error). */
int store_debug_exec(store *st, const char *sql, int64_t *changes);
/* Runs one query that returns a row; *out gets its first column as an
 * integer. 0 or a CPQD_E* code. */
int store_debug_int(store *st, const char *sql, int64_t *out);
/* Failure injection: the n-th step from now on st (a statement step, a
 * transaction command or a DDL run) fails as a disk would, with
 * CPQD_EIO (0 disarms). */
void store_test_fail_step(store *st, int n);

/* ---- texts that reference a priced result ----
 * A text that holds a quote version's priced result verbatim (an event's
 * payload, an idempotent reply): text[at .. at + len) is the priced
 * result of version `version` of quote `quote`, byte for byte as that
 * version stores it, which must exist (quote NULL: none). The store keeps
 * the rest of the text and the reference, and puts the version's text
 * back in when it is read (a version's priced result never changes). */
typedef struct store_priced_ref {
    const char *quote;
    int version;
    size_t at, len;
} store_priced_ref;

/* ---- idempotency records ---- */

/* What a request with an Idempotency-Key produced, keyed by (caller, key). */
typedef struct store_idem {
    char *caller;      /* key id of the caller */
    char *key;         /* the Idempotency-Key header */
    char *route;       /* "POST /v1/quotes" */
    char *body_hash;   /* hex SHA-256 of the request body */
    int status;        /* HTTP status of the stored response, 100..599 */
    char *response;    /* response body ("" allowed) */
    char *resource_id; /* what it created, NULL if nothing */
    char *created_at;  /* assigned by store_idem_put */
    char *etag;        /* the response's ETag (the state it showed), NULL if none */
    store_priced_ref priced; /* put only: what the response holds of a version's */
} store_idem;

/* Fills *out (then free it with store_idem_fini). CPQD_ENOTFOUND if there
 * is none, CPQD_EINVAL if caller or key is NULL or empty. */
int store_idem_get(store *st, const char *caller, const char *key, store_idem *out);
/* Inserts in->created_at ignored (the store assigns it). CPQD_ECONFLICT if
 * (caller, key) exists; CPQD_EINVAL (nothing written) if a required field
 * is NULL or empty, not UTF-8, or status is out of range. */
int store_idem_put(store *st, const store_idem *in);
void store_idem_fini(store_idem *x);

/* ---- quotes ---- */

typedef struct store_quote {
    char *id;     /* "q_" + 16 hex, assigned by store_quote_insert */
    char *number; /* "Q-2026-000123", assigned by store_quote_insert */
    int version;  /* 1.. */
    char *status; /* draft, pending_approval, approved, sent, accepted, rejected, expired */
    char *customer_id;
    char *partner_id; /* NULL if the quote belongs to no partner */
    char *currency;
    char *total;           /* exact decimal text: -?[0-9]+(.[0-9]+)?, kept byte for byte */
    char *catalog_version; /* snapshot version it was priced on */
    char *request;         /* JSON text: the request as accepted (lines, context) */
    char *priced;          /* JSON text: the full priced result */
    char *valid_until;     /* YYYY-MM-DD, NULL if none */
    bool approval_required;
    char *approval_level; /* NULL if none */
    char *created_by;     /* key id */
    char *created_at;     /* of this version, ISO 8601 UTC "2026-11-26T08:41:14Z" */
    char *updated_at;     /* of this version: its creation or last status change */
    /* request and priced as stored (compressed), made by store_quote_pack
     * ahead of the write transaction from the texts it checked (so the
     * insert does not check them again); NULL: made by the insert itself */
    char *request_packed, *priced_packed;
} store_quote;

/* Checks (non-empty UTF-8) and compresses q->request and q->priced as the
 * store keeps them, into q->request_packed and q->priced_packed (replacing
 * what they held; a text that fails the check is left to the insert,
 * which refuses it), so that an insert inside a write transaction spends
 * its time neither checking nor compressing them. Neither text may change
 * afterwards. 0 or CPQD_ENOMEM. */
int store_quote_pack(store_quote *q);

/* Required in q for insert and add_version: status, customer_id, currency,
 * total (a decimal), catalog_version, request, priced, created_by, all
 * non-empty UTF-8; the optional ones NULL or non-empty UTF-8, valid_until
 * shaped YYYY-MM-DD. Otherwise CPQD_EINVAL and nothing is written. */

/* Inserts a new quote with version 1 from q (id, number, version,
 * created_at, updated_at are ignored and assigned: the number is the next
 * one of `year` (1000..9999), gap-free per year because it is taken in
 * the same transaction as the insert, so a rolled-back insert gives its
 * number back). Records the creation (from NULL to q->status) in the
 * history. On success overwrites q->id, q->number, q->created_at,
 * q->updated_at with malloc'ed strings and sets q->version = 1.
 * Returns 0, CPQD_EINVAL, CPQD_EIO, CPQD_ENOMEM. */
int store_quote_insert(store *st, store_quote *q, int year);

/* Adds version q->version (must be the latest + 1, else CPQD_ECONFLICT
 * and nothing changes) of quote q->id with q's content, and makes it the
 * latest: status, total and the rest of the head follow it. Older
 * versions stay unchanged. Records the step (old status -> q->status, at
 * the new version, by q->created_by) in the history. On success
 * overwrites q->created_at and q->updated_at (malloc'ed). q->number is
 * ignored. CPQD_ENOTFOUND if there is no such quote. */
int store_quote_add_version(store *st, store_quote *q);

/* Version `version` of quote id (0: the latest) into *out (free with
 * store_quote_fini). CPQD_ENOTFOUND, CPQD_EINVAL (id NULL/empty, version
 * negative), CPQD_EINTERNAL (a damaged record: its stored request or
 * priced result does not unpack; the reason in store_last_error; an
 * error of this quote alone, never taken for the database's CPQD_EIO). */
int store_quote_get(store *st, const char *id, int version, store_quote *out);

/* The latest version of quote id as store_quote_get gives it, without
 * its request and priced result (both NULL): what a status check needs,
 * without reading and unpacking the bulk. Same errors. */
int store_quote_get_head(store *st, const char *id, store_quote *out);

/* Moves quote id from status `from` to `to` (the latest version's status
 * and the quote's), records who did it and an optional note (NULL) in the
 * quote's history. CPQD_ENOTFOUND; CPQD_ECONFLICT if the current status
 * is not `from` (someone else moved it); CPQD_EINVAL if id, from, to or
 * actor is NULL or empty. Nothing changes on failure. */
int store_quote_set_status(store *st, const char *id, const char *from, const char *to,
                           const char *actor, const char *note);

typedef struct store_quote_filter {
    const char *customer; /* exact, NULL: any */
    const char *status;   /* exact */
    const char *partner;  /* exact; the scope of a partner caller goes here */
    const char *q;        /* substring of number or customer id, ASCII case-insensitive */
    const char *after;    /* a quote id: only quotes listed after it; NULL: from the first */
    size_t limit;         /* 1..STORE_PER_PAGE_MAX + 1 */
} store_quote_filter;

/* The latest version of the matching quotes, newest first (the quote's
 * creation time, then its number), at most limit of them: *items is a
 * malloc'ed array of n quotes (free each with store_quote_fini, then the
 * array; NULL when n is 0). With after, the list goes on from that quote
 * (keyset: quotes created later or at once with a lower number never come
 * again); an after that is no quote lists nothing. The heavy fields
 * (request, priced) are NULL in list results. CPQD_EINVAL for a limit out
 * of range or a filter not UTF-8. */
int store_quote_list(store *st, const store_quote_filter *f, store_quote **items, size_t *n);

/* One entry of a quote's status history. */
typedef struct store_event {
    char *from; /* NULL for the creation */
    char *to, *actor;
    char *note;  /* NULL if none */
    char *at;    /* ISO 8601 UTC */
    int version; /* the quote's latest version when it happened */
} store_event;
/* The history of quote id, oldest first: *items is a malloc'ed array of n
 * events (free each with store_event_fini, then the array).
 * CPQD_ENOTFOUND if there is no such quote. */
int store_quote_history(store *st, const char *id, store_event **items, size_t *n);
void store_event_fini(store_event *e);

void store_quote_fini(store_quote *q);

/* ---- catalog archives ----
 * The files of every catalog snapshot quotes were priced on, by snapshot
 * version, so a quote can be re-priced on exactly its catalogs later. */

typedef struct store_archive_file {
    bool is_rule;
    const char *path; /* relative to the catalog (or rules) directory */
    const char *content;
    size_t len;
} store_archive_file;

/* Whether version is archived; if so and dirs are wanted, the directory
 * names the snapshot was loaded with (malloc'ed). CPQD_ENOTFOUND if not. */
int store_archive_get(store *st, const char *version, char **catalog_dir, char **rules_dir);
/* Archives version with its files in one transaction (nothing if it is
 * already there: returns 0). */
int store_archive_put(store *st, const char *version, const char *catalog_dir,
                      const char *rules_dir, const store_archive_file *files, size_t n);
/* Calls fn for each file of version (catalogs first, by path); stops at a
 * non-zero result and returns it. */
int store_archive_files(store *st, const char *version,
                        int (*fn)(void *ctx, const store_archive_file *f), void *ctx);

/* ---- outbox: events to the CRM (docs/events.md) ----
 * An event is written in the transaction of the change it reports, so it
 * exists if and only if the change committed. seq is strictly increasing
 * in commit order (taken from a counter row that serialises writers until
 * commit, on PostgreSQL too), so a reader holding cursor N never misses
 * an event committed later with seq <= N. Events of one ordering key are
 * delivered in seq order: an event is deliverable only when every earlier
 * event of its key is delivered (a parked, failed one blocks its key until
 * it is replayed). The body is built once at insert and never changed:
 * every delivery attempt sends exactly these bytes (it is stored once:
 * rebuilt from the event's id, type, created_at and payload when read,
 * which give the same bytes every time). A payload is stored packed
 * (store_pack.c), without a quote version's priced result that it
 * references (store_outbox_new.priced). */

#define STORE_OUTBOX_ID_LEN 20  /* "ev_" + 16 hex + NUL */
#define STORE_OUTBOX_TYPE_MAX 64 /* bytes of an event type */

typedef struct store_outbox_new {
    const char *type;          /* "quote.created": [a-z0-9_.] only, 1..64 bytes */
    const char *resource_kind; /* "quote" (same alphabet) */
    const char *resource_id;   /* "q_..." */
    const char *order_key;     /* "quote:q_...": delivery order is per key */
    const char *payload;       /* JSON text of the full resource (not parsed here) */
    store_priced_ref priced;   /* optional: what the payload holds of a version's */
} store_outbox_new;

typedef struct store_outbox_event {
    char id[STORE_OUTBOX_ID_LEN]; /* "ev_" + 16 hex */
    int64_t seq;                  /* 1.., the pull cursor */
    char *type, *resource_kind, *resource_id, *order_key;
    char *payload;        /* JSON text */
    char *body;           /* {"id","type","created_at","payload"} as POSTed; NULL in lists */
    char *created_at;     /* ISO 8601 UTC */
    char *status;         /* pending, delivered, failed */
    int attempts;         /* delivery attempts made (reset by a replay) */
    char *next_attempt_at; /* ISO 8601 UTC with milliseconds */
    char *last_error;     /* NULL if none */
    char *delivered_at;   /* NULL until delivered */
    /* why the stored payload cannot be read back (a damaged database: its
     * packed text corrupt, or the quote version whose priced result it
     * references missing); payload and body are then NULL. NULL normally.
     * Reads return such an event rather than fail, so that one damaged row
     * never stops the feed or the delivery of other events. */
    const char *damaged;
} store_outbox_event;

/* Writes a pending event (due now) for in, joining the caller's
 * transaction (store_begin) or in one of its own. Assigns the id, seq,
 * created_at and the body: {"id":ID,"type":TYPE,"created_at":TS,
 * "payload":PAYLOAD} with PAYLOAD verbatim. id and seq may be NULL.
 * Returns 0, CPQD_EINVAL (a field missing or not UTF-8, a type or kind
 * outside [a-z0-9_.]; nothing written), CPQD_EIO, CPQD_ENOMEM. */
int store_outbox_add(store *st, const store_outbox_new *in, char id[STORE_OUTBOX_ID_LEN],
                     int64_t *seq);

/* The events after cursor `after` (seq > after), oldest first, at most
 * limit (1..STORE_PER_PAGE_MAX): the pull feed. With status non-NULL only
 * those in that status (pending, delivered, failed). *items is a malloc'ed
 * array of n events (free each with store_outbox_event_fini, then the
 * array; NULL when n is 0); body is NULL in them. CPQD_EINVAL for a bad
 * limit, a negative cursor or an unknown status. */
int store_outbox_list(store *st, int64_t after, const char *status, size_t limit,
                      store_outbox_event **items, size_t *n);

/* The events deliverable at now_ms (unix milliseconds): pending, due
 * (next_attempt_at <= now), and first undelivered of their ordering key;
 * oldest first, at most limit, body included. Same ownership as
 * store_outbox_list. */
int store_outbox_due(store *st, int64_t now_ms, size_t limit, store_outbox_event **items,
                     size_t *n);

/* One event by id, body included. CPQD_ENOTFOUND, CPQD_EINVAL. */
int store_outbox_get(store *st, const char *id, store_outbox_event *out);
/* Leases due event id to the caller until until_ms (unix milliseconds),
 * if it is still pending and due at now_ms: its next_attempt_at moves to
 * until_ms, so that no other instance takes it meanwhile (docs/events.md
 * "Several instances"); *got says whether this call took it (false:
 * another instance did, or it was delivered since). One statement:
 * atomic on both backends. */
int store_outbox_claim(store *st, const char *id, int64_t now_ms, int64_t until_ms, bool *got);
/* Gives back the lease store_outbox_claim took until until_ms: the event
 * is due again at now_ms, unless it was delivered or leased anew since
 * (then nothing changes). For an attempt abandoned by a clean stop. */
int store_outbox_release(store *st, const char *id, int64_t until_ms, int64_t now_ms);

/* Records a successful delivery of pending event id (attempts + 1,
 * delivered_at now). CPQD_ENOTFOUND if there is no such event,
 * CPQD_ECONFLICT if it is not pending. */
int store_outbox_mark_delivered(store *st, const char *id);

/* Records a failed attempt of pending event id: attempts + 1, last_error
 * (NULL: none), and either next_attempt_at = next_ms (unix milliseconds)
 * or, with park, status failed (it then waits for a replay). Errors as
 * store_outbox_mark_delivered. */
int store_outbox_mark_failed(store *st, const char *id, const char *error, int64_t next_ms,
                             bool park);

/* Puts failed event id back to pending, due now, attempts 0 (last_error
 * kept). CPQD_ENOTFOUND; CPQD_ECONFLICT if it is not failed. */
int store_outbox_replay(store *st, const char *id);

/* Deletes the delivered events delivered before before_ms (unix
 * milliseconds), in a transaction of its own or the caller's; *n (may be
 * NULL) gets how many. Pending and failed events are never pruned. The
 * counter behind seq is kept: a later event never reuses a pruned seq.
 * Returns 0, CPQD_EIO. */
int store_outbox_prune(store *st, int64_t before_ms, int64_t *n);

/* Frees the strings of e (not e itself); NULL is a no-op. */
void store_outbox_event_fini(store_outbox_event *e);

/* The outbox's backlog (GET /metrics, GET /readyz: docs/operations.md). */
typedef struct store_outbox_stats {
    int64_t pending;         /* events pending (not delivered, not parked) */
    int64_t failed;          /* events parked as failed */
    int64_t oldest_pending;  /* created_at of the oldest pending event, Unix ms on the
                              * service's clock (date_now); -1 if none */
    int64_t oldest_due;      /* next_attempt_at of the oldest deliverable event (pending,
                              * first undelivered of its key), Unix ms on the wall clock;
                              * -1 if none or not asked for */
} store_outbox_stats;

/* Counts the backlog into *out; with due, also finds the oldest
 * deliverable event (a query over every pending event: ask only where
 * events are delivered). Outside a transaction. 0, CPQD_EIO, CPQD_ENOMEM. */
int store_outbox_stats_get(store *st, bool due, store_outbox_stats *out);

/* ---- contracts, receivables, payments (docs/receivables.md "Contracts") ----
 * A contract is written once, with all its receivable items, in one write
 * scope (usually the accept request's transaction, beside the quote's
 * status move and the outbox events). Amounts are exact decimal text at
 * the currency's minor places. Dates are YYYY-MM-DD or NULL. */

#define STORE_CONTRACT_ID_LEN 19 /* "c_" + 16 hex + NUL */
#define STORE_RECV_ID_LEN 19     /* "r_" + 16 hex + NUL */
#define STORE_PAYMENT_ID_LEN 19  /* "p_" + 16 hex + NUL */

typedef struct store_contract {
    char *id;     /* "c_" + 16 hex, assigned by store_contract_insert */
    char *number; /* "C-2026-000001", assigned: gap-free per year */
    char *quote_id;
    int quote_version;
    char *customer_id;
    char *partner_id; /* NULL: no partner */
    char *currency;
    char *total;     /* decimal text: what the items add up to */
    char *signed_on; /* YYYY-MM-DD */
    char *start_on;  /* YYYY-MM-DD */
    char *catalog_version; /* the snapshot whose products gave the delivery data */
    char *request;   /* JSON text: the accept request as given */
    char *created_by;
    char *created_at; /* assigned */
} store_contract;

typedef struct store_receivable {
    char *id;          /* "r_" + 16 hex, assigned by store_contract_insert */
    char *contract_id; /* assigned by store_contract_insert */
    char *line_id;     /* the quote line's id */
    int line_no;       /* index of the line in the contract's schedule */
    char *kind;        /* sched_kind_name */
    int service, seq, part; /* with line_no and kind: the item's stable key */
    char *ref;         /* milestone id or service SKU, NULL if none */
    char *waits_for;   /* sched_wait_name, NULL once due_on is known */
    char *due_on, *bill_on, *expected_on, *period_from, *period_to; /* NULL if none */
    char *amount;      /* decimal text */
    bool amount_known;
    char *description;
    char *paid;        /* decimal text, sum of its payments */
    /* read only (from the contract): */
    char *contract_number, *currency, *partner_id, *customer_id;
} store_receivable;

typedef struct store_payment {
    char *id;            /* "p_" + 16 hex, assigned */
    char *receivable_id;
    char *client_id;     /* the client's payment id: unique per receivable */
    char *amount;        /* decimal text, > 0 */
    char *paid_on;       /* YYYY-MM-DD */
    char *created_at;    /* assigned */
} store_payment;

/* Inserts contract c (id, number, created_at ignored and assigned; the
 * number is the next of `year`, taken in the same write scope) and its n
 * items (id and contract_id ignored and assigned; paid starts at their
 * `paid`, normally "0.00"). Required: quote_id, customer_id, currency,
 * total, signed_on, start_on, catalog_version, request, created_by; each
 * item's line_id, kind, amount, paid, description. On success overwrites
 * c->id, c->number, c->created_at and each item's id and contract_id with
 * malloc'ed strings. CPQD_EINVAL (nothing written), CPQD_ECONFLICT (the
 * quote already has a contract), CPQD_EIO, CPQD_ENOMEM. */
int store_contract_insert(store *st, store_contract *c, int year, store_receivable *items,
                          size_t n);
/* Contract id (or the contract of quote quote_id) into *out (free with
 * store_contract_fini). CPQD_ENOTFOUND, CPQD_EINVAL. */
int store_contract_get(store *st, const char *id, store_contract *out);
int store_contract_by_quote(store *st, const char *quote_id, store_contract *out);
void store_contract_fini(store_contract *c);

/* Which contracts store_contract_list gives: filters NULL mean any. */
typedef struct store_contract_filter {
    const char *customer, *quote, *partner; /* exact ids */
    const char *after; /* a contract id: only contracts listed after it */
    size_t limit;      /* 1..STORE_PER_PAGE_MAX + 1 */
} store_contract_filter;
/* The matching contracts, newest first (creation time, then number), at
 * most limit, without their request; an after that is no contract lists
 * nothing. Ownership as store_receivables_of (free each with
 * store_contract_fini). CPQD_EINVAL for a bad limit or filter. */
int store_contract_list(store *st, const store_contract_filter *f, store_contract **items,
                        size_t *n);
/* A due list's filter and page: items due on or before until (YYYY-MM-DD),
 * of partner, customer and contract when given (NULL: any), strictly
 * after the row after (NULL: from the start) in the order due date,
 * contract number, line, id; at most limit (>= 1) of them. */
typedef struct store_due_filter {
    const char *until, *partner, *customer, *contract;
    const store_receivable *after;
    size_t limit;
} store_due_filter;
/* One page of such items: 0 (*items malloc'ed, free with
 * store_receivable_fini each and free), CPQD_EINVAL, or the store's code. */
int store_receivables_due_page(store *st, const store_due_filter *f, store_receivable **items,
                               size_t *n);

/* The items of contract id (any order): *items is a malloc'ed array of n
 * (free each with store_receivable_fini, then the array; NULL when n is 0). */
int store_receivables_of(store *st, const char *contract_id, store_receivable **items, size_t *n);
/* One item by id. CPQD_ENOTFOUND, CPQD_EINVAL. */
int store_receivable_get(store *st, const char *id, store_receivable *out);
/* Items with a known due date on or before `until` (YYYY-MM-DD), of
 * partner's contracts only unless partner is NULL, by due date. Same
 * ownership as store_receivables_of. */
int store_receivables_due_until(store *st, const char *until, const char *partner,
                                store_receivable **items, size_t *n);
/* Updates the dates, waits_for and description of the item of contract
 * r->contract_id with r's key (line_no, kind, service, seq, part): a line
 * recomputed after an event. CPQD_ENOTFOUND if no item has that key. */
int store_receivable_set_dates(store *st, const store_receivable *r);
void store_receivable_fini(store_receivable *r);

/* Records payment p (id, created_at assigned) of receivable
 * p->receivable_id and sets the item's paid from old_paid to new_paid
 * (decimal texts the caller computed; the update checks old_paid, so a
 * concurrent payment makes this one fail with CPQD_ECONFLICT). CPQD_ECONFLICT
 * too when the client payment id was already used on this item. On
 * success overwrites p->id and p->created_at (malloc'ed). */
int store_payment_add(store *st, store_payment *p, const char *old_paid, const char *new_paid);
/* The payment with client id client_id on receivable rid. CPQD_ENOTFOUND. */
int store_payment_get(store *st, const char *rid, const char *client_id, store_payment *out);
/* The payments of receivable rid, by paid_on. Ownership as
 * store_receivables_of. */
int store_payments_of(store *st, const char *rid, store_payment **items, size_t *n);
/* The payments of every item of contract id, by paid_on. Same ownership. */
int store_payments_of_contract(store *st, const char *id, store_payment **items, size_t *n);
void store_payment_fini(store_payment *p);

/* Records that warning `state` ("due_soon", "overdue") of receivable rid
 * was emitted: *first is true if it was not recorded before (the caller
 * then emits its event in the same transaction). */
int store_receivable_warn(store *st, const char *rid, const char *state, bool *first);

/* ---- after signing: event dates, usage, amounts (docs/receivables.md
 * "After signing"; migration 5) ----
 * Same conventions as the contract functions above: a write runs in the
 * caller's transaction or one of its own; strings filled by the store
 * are malloc'ed and freed by the matching _fini. */

typedef struct store_line_event {
    char *contract_id;
    int line_no;
    char *event;       /* "delivered", "accepted", "milestone" */
    char *ref;         /* the milestone id; "" for the line's own events */
    char *happened_on; /* YYYY-MM-DD */
    char *recorded_by;
    char *recorded_at; /* assigned */
} store_line_event;

/* The event dates reported for contract id, by line. Ownership as
 * store_receivables_of (free each with store_line_event_fini). */
int store_line_events_of(store *st, const char *contract_id, store_line_event **items, size_t *n);
/* Records e (recorded_at assigned). *first is false, and nothing is
 * written, when that (line, event, ref) already has a date: the caller
 * compares it. */
int store_line_event_add(store *st, store_line_event *e, bool *first);
void store_line_event_fini(store_line_event *e);

typedef struct store_usage {
    char *contract_id;
    char *client_id;   /* the client's usage record id: unique per contract */
    int line_no;
    int seq;           /* the usage period (0-based from start_on) */
    char *quantity;    /* decimal text, >= 0 */
    char *recorded_on; /* YYYY-MM-DD */
    char *recorded_by;
    char *created_at;  /* assigned */
} store_usage;

/* Usage record client_id of contract_id. CPQD_ENOTFOUND. */
int store_usage_get(store *st, const char *contract_id, const char *client_id, store_usage *out);
/* Records u (created_at assigned); CPQD_ECONFLICT if its client id is
 * already used in the contract. */
int store_usage_add(store *st, store_usage *u);
/* The records of one period of one line. Ownership as
 * store_receivables_of (free each with store_usage_fini). */
int store_usage_of_period(store *st, const char *contract_id, int line_no, int seq,
                          store_usage **items, size_t *n);
void store_usage_fini(store_usage *u);

/* Sets the amount of the open usage item of contract r->contract_id with
 * r's key (amount_known becomes true; dates, waits_for and description
 * as in r). CPQD_ECONFLICT if that item's amount is already known,
 * CPQD_ENOTFOUND if there is no such item. */
int store_receivable_set_amount(store *st, const store_receivable *r);
/* Adds items to contract contract_id (ids assigned as by
 * store_contract_insert; paid starts at their paid). */
int store_receivables_add(store *st, const char *contract_id, store_receivable *items, size_t n);
/* Usage items still open whose period ended on or before `until`
 * (YYYY-MM-DD), all contracts. Ownership as store_receivables_of. */
int store_receivables_open_usage(store *st, const char *until, store_receivable **items,
                                 size_t *n);
/* Sets contract id's total from old_total (CPQD_ECONFLICT if it is no
 * longer that) to new_total. */
int store_contract_set_total(store *st, const char *id, const char *old_total,
                             const char *new_total);

/* ---- term changes of subscription lines: renewals and seat changes
 * (docs/receivables.md "Renewals and seat changes"; migration 6) ---- */

typedef struct store_line_change {
    char *contract_id;
    char *kind;          /* "renewal" or "seats" */
    char *client_id;     /* seats: the client's change id; renewal: "<line_no>:<term>" */
    int line_no;
    int term_no;         /* the term it applies to (renewal: the new term, >= 1) */
    int change_no;       /* seats: 1.. per line (its credit/charge items' service); renewal 0 */
    char *effective_on;  /* seats: the change date; renewal: the new term's first day */
    char *quantity;      /* seats in force after it */
    char *old_quantity;  /* seats in force before it */
    char *period_amount; /* decimal text: the full period's amount after it */
    char *old_amount;    /* before it */
    char *source;        /* "api" or "sweep" */
    char *created_by;
    char *created_at;    /* assigned */
} store_line_change;

/* The changes of contract id, by line then effective date. Ownership as
 * store_receivables_of (free each with store_line_change_fini). */
int store_line_changes_of(store *st, const char *contract_id, store_line_change **items,
                          size_t *n);
/* Records c (created_at assigned). CPQD_ECONFLICT, and nothing written,
 * if (contract, kind, client_id) is already recorded: the caller compares
 * the stored change. */
int store_line_change_add(store *st, store_line_change *c);
void store_line_change_fini(store_line_change *c);
/* Sets the amount of the item of contract r->contract_id with r's key
 * from old_amount to r->amount (a period repriced by a seat change).
 * CPQD_ECONFLICT if the item's amount is no longer old_amount (or there
 * is no such item). */
int store_receivable_reset_amount(store *st, const store_receivable *r, const char *old_amount);
/* The last period items of the subscription lines whose last scheduled
 * period ended on or before `until` (YYYY-MM-DD), all contracts.
 * Ownership as store_receivables_of. */
int store_receivables_terms_ended(store *st, const char *until, store_receivable **items,
                                  size_t *n);

/* ---- sweep failures (docs/receivables.md "Sweep failures"; migration
 * 8): the items the receivables sweep could not process, one row per
 * item ---- */

typedef struct store_sweep_failure {
    char *item; /* the item's key: "period_close:<contract>:<line_no>:<seq>", ... */
    char *kind; /* "period_close", "renewal", "warning", "invoice", "revenue" */
    char *contract_id;
    char *ref;     /* what in the contract: "line oss period 2027-01-01", a receivable id */
    char *code;    /* err_code_name of the error */
    char *message; /* the error's message */
    char *first_failed_at, *last_failed_at; /* ISO 8601 UTC, assigned */
    char *resolved_at; /* NULL while failing; set when a later sweep got it through */
    int64_t failures;  /* failed runs since first_failed_at, assigned */
} store_sweep_failure;

/* Records that f->item failed now, with f's kind, contract_id, ref,
 * code and message (the assigned fields are ignored): a new item, or one
 * resolved before, starts at failures 1 (*first true: the caller writes
 * its event then); one still failing counts one more. In the caller's
 * transaction or one of its own. CPQD_EINVAL (a field missing, not
 * UTF-8, or an unknown kind), CPQD_EIO, CPQD_ENOMEM. */
int store_sweep_failure_add(store *st, const store_sweep_failure *f, bool *first);
/* Marks item resolved now if it is failing (else nothing). */
int store_sweep_failure_resolve(store *st, const char *item);
/* The recorded failures, newest last failure first, at most limit
 * (1..STORE_PER_PAGE_MAX; 0: all); status NULL (all), "failing" or
 * "resolved".
 * Ownership as store_receivables_of (free each with
 * store_sweep_failure_fini). CPQD_EINVAL for a bad limit or status. */
int store_sweep_failures_list(store *st, const char *status, size_t limit,
                              store_sweep_failure **items, size_t *n);
void store_sweep_failure_fini(store_sweep_failure *f);

/* ---- promotion usage counters (what limit rules read) ---- */

/* Redemptions and discount granted (exact decimal text, malloc'ed in
 * *spent) of promo in one scope: "*" (everyone), "c:<customer>" or
 * "p:<partner>"; zeros ("0") when never redeemed. */
int store_promo_usage(store *st, const char *promo, const char *scope, int64_t *uses,
                      char **spent);
/* store_promo_usage of n promotions (1..) in up to three scopes, in one
 * read for every STORE_USAGE_READ of them: the counters of promos[i] in
 * scopes[k] go to uses[3 * i + k] and spent[3 * i + k]. scopes[0] is
 * required, scopes[1] and [2] may be NULL (their counts then zeros).
 * On failure every spent[] is NULL. */
#define STORE_USAGE_READ 4
int store_promo_usage_many(store *st, const char *const *promos, size_t n,
                           const char *const scopes[3], int64_t *uses, char **spent);
/* Counts one redemption of promo worth amount (exact decimal text) in
 * every scope given (customer, partner may be NULL), in the caller's
 * transaction. */
int store_promo_redeem(store *st, const char *promo, const char *customer, const char *partner,
                       const char *amount);

#endif
