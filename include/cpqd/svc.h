/*
 * svc: the application layer, where a request becomes a call of the
 * business (DESIGN.md "Layers").
 *
 * Owns: who is calling (svc_caller: the role as an enum, its partner,
 * authority and limits), the per-request context every operation runs in
 * (svc_ctx) and what it answers (svc_reply); idempotency of writes
 * (Idempotency-Key: svc_idem_*); the per-key limits (docs/auth.md
 * "Limits": svc_limit_*); the money authority of a caller (svc_who, the
 * price module's one rule); and the transaction runner (svc_tx: work
 * prepared outside, the writes inside one transaction, commit or undo).
 * Does not own: HTTP and JSON bodies of routes (http), the resources'
 * rules (quote, contract, sched, price, solver), SQL (store).
 *
 * The operations of quotes and contracts (quote.c, contract*.c) run in an
 * svc_ctx: they read the caller from it, write through svc_tx and answer
 * with an svc_reply.
 * Thread-safety: an svc_ctx is per request, on one thread; the limit
 * counters behind svc_limit_* are safe from any thread.
 */
#ifndef CPQD_SVC_H
#define CPQD_SVC_H

#include "cpqd/auth.h"
#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/price.h"
#include "cpqd/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who is calling (from the API key; an admin in development mode). */
typedef struct svc_caller {
    const char *key_id; /* for created_by and the audit trail */
    auth_role role;
    const char *partner_id; /* partner callers: their partner */
    const char *segment;    /* partner callers: the partner's segment, if any */
    bool has_authority;     /* a discount authority set on the key */
    money_dec authority;    /* percent */
    auth_limits limits;     /* the key's; zeros: none */
} svc_caller;

/* The caller is a partner (sees only its own, never internal prices). */
bool svc_is_partner(const svc_caller *k);
/* Whose authority the price module's rule applies (price_authority.c). */
price_who svc_who(const svc_caller *k);

typedef struct svc_writer svc_writer; /* group commit: svc_write.c */

/* One request's context. */
typedef struct svc_ctx {
    store *st; /* reads; inside svc_tx: the transaction's connection */
    svc_writer *writer; /* NULL: svc_tx runs its transaction on st itself */
    bool keep;          /* set inside svc_tx by svc_tx_keep */
    const cat_snapshot *snap;
    price_worker *pw;
    price_store *usage; /* promotion usage counters, read from st */
    const svc_caller *caller;
    date_days today; /* the service's clock */
    const char *if_match; /* the request's If-Match (docs/api.md "Concurrent edits"), or NULL */
} svc_ctx;

/* Whether etag (a quoted entity tag) satisfies If-Match `header`: "*",
 * or a comma-separated list naming it (strong comparison). */
bool svc_etag_matches(const char *header, const char *etag);

/* ---- one page of a list (docs/api.md "Lists") ----
 * Every list answers {"items": [...], "next": CURSOR or null} (and the
 * list's own context members, such as as_of): `limit` items at most, and
 * `next` is the cursor to pass as `after` for the following page (null:
 * nothing follows; the event feed's `next` is never null). A cursor is
 * opaque text the list gave; one another list gave, or made up, is 400. */
#define SVC_PAGE_DEFAULT 50
#define SVC_PAGE_MAX 500
#define SVC_CURSOR_MAX 128 /* bytes of a cursor */

typedef struct svc_page {
    size_t limit;      /* 1..SVC_PAGE_MAX */
    const char *after; /* NULL: from the start; else the `next` of the previous page */
} svc_page;

/* What an operation answers. */
#define SVC_ETAG_LEN 19 /* a quoted 16-hex-digit entity tag and its NUL */

#define SVC_PRICED_ID_LEN 40

typedef struct svc_reply {
    int created;              /* 1: something new was stored (201), 0: read or moved (200) */
    char etag[SVC_ETAG_LEN];  /* the state the body shows ("" if none): the ETag header */
    char *body;               /* malloc'ed text: JSON unless content_type says otherwise */
    const char *content_type; /* NULL: application/json */
    /* body[priced_at .. priced_at + priced_len) is the priced result
     * version priced_version of quote priced_quote stores, verbatim
     * (priced_len 0: none): the reply's idempotency record references it
     * rather than storing it again (store.h "store_idem") */
    char priced_quote[SVC_PRICED_ID_LEN];
    int priced_version;
    size_t priced_at, priced_len;
} svc_reply;

void svc_reply_fini(svc_reply *r);

/* ---- the transaction runner ---- */

/* A write closure: runs inside the transaction on c->st (a copy of the
 * caller's context whose st is the transaction's connection); never
 * begins, commits or rolls back itself. */
typedef int (*svc_tx_fn)(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs);

/* Runs fn(c, arg, out, errs) inside a write transaction: what fn wrote is
 * durable when svc_tx returns 0 (or fn's error after svc_tx_keep); when
 * fn fails, everything it wrote is undone and *out emptied. Work that
 * need not see the transaction (pricing, configuring, parsing) is done
 * before calling it, so writers never wait on it.
 * With c->writer (group commit, svc_write.c) fn runs on the writer's
 * thread and connection in a savepoint of a transaction shared with
 * other requests, and svc_tx returns once that transaction committed
 * (CPQD_EIO if the commit failed: nothing of fn's was written); without,
 * in a transaction of its own on c->st. */
int svc_tx(svc_ctx *c, svc_tx_fn fn, void *arg, svc_reply *out, cpqd_errs *errs);
/* Inside fn: keep what fn wrote even though it returns an error (an
 * expired quote is marked so, and the move that found it is refused). */
void svc_tx_keep(svc_ctx *c);
/* Inside fn, around all of its writes: the store's calls run as flat
 * writes in fn's one scope (store_flat_begin): no savepoint of their own,
 * counters counted in memory and written back once. For a closure whose
 * every failure is its own failure (svc_tx undoes all of it) or is kept
 * whole (svc_tx_keep after complete writes). svc_flat_end returns rc, or
 * the failure of writing the counters back. */
int svc_flat_begin(svc_ctx *c);
int svc_flat_end(svc_ctx *c, int rc);

/* ---- group commit (svc_write.c) ----
 * One writer thread per process owns one connection to the database and
 * runs the write closures of concurrent requests, queued, in one
 * transaction (each in its own savepoint: a failure undoes only its own
 * writes), with one COMMIT (one fsync) per batch; each request is
 * released once its batch is durable. On PostgreSQL the batch holds the
 * advisory write lock like any transaction. Thread-safe. */

/* Starts the writer on the database at db_path (opened by the thread on
 * its first batch, again after a failure). 0 (and *out) or CPQD_ENOMEM. */
int svc_writer_start(const char *db_path, svc_writer **out);
/* Runs what is queued, then stops the thread and closes its connection;
 * NULL is a no-op. No svc_tx may use it any more. */
void svc_writer_stop(svc_writer *w);
/* Counts since the start (for the log and the benchmark). */
typedef struct svc_writer_stats {
    uint64_t batches, jobs; /* committed (or failed) batches, closures run */
    uint64_t max_batch;     /* the largest batch */
} svc_writer_stats;
void svc_writer_stats_get(svc_writer *w, svc_writer_stats *out);

/* ---- idempotency (an Idempotency-Key per API key) ---- */

/* Before any work: checks the key (1..128 printable ASCII; NULL: none),
 * hashes body into hash and looks the key up outside a transaction.
 * Returns 0 (go on), 1 (the stored reply is in *out: answer it), or an
 * error (CPQD_EINVAL bad key; CPQD_ECONFLICT the key was used with
 * another request). */
int svc_idem_peek(svc_ctx *c, const char *route, const char *key, const char *body, size_t len,
                  char hash[65], svc_reply *out, cpqd_errs *errs);
/* Inside a write closure: looks the key up again (a concurrent request
 * with it may have committed since the peek): 0 (go on), 1 (the stored
 * reply is in *out: answer it, write nothing) or an error as the peek. */
int svc_idem_replay(svc_ctx *c, const char *route, const char *key, const char *hash,
                    svc_reply *out, cpqd_errs *errs);
/* Records reply r (for resource id) under key in the open transaction;
 * key NULL: nothing. */
int svc_idem_record(svc_ctx *c, const char *route, const char *key, const char *hash,
                    const svc_reply *r, const char *id);

/* ---- limits per key (docs/auth.md "Limits") ---- */

/* One quote write of the caller's per-minute budget: 0, or CPQD_ERATE
 * with the seconds to wait in the error's "retry_after" field. */
int svc_limit_write(const svc_ctx *c, cpqd_errs *errs);
/* Whether the caller may store `bytes` more today: 0 or CPQD_ERATE
 * (with "retry_after": the seconds to the service's next day). */
int svc_limit_bytes(const svc_ctx *c, uint64_t bytes, cpqd_errs *errs);
/* Counts `bytes` stored by the caller today (after the commit). */
void svc_limit_count(const svc_ctx *c, uint64_t bytes);
/* More lines than the caller may send at once: CPQD_ETOOBIG, else 0. */
int svc_limit_lines(const svc_ctx *c, size_t nlines, cpqd_errs *errs);

#endif
