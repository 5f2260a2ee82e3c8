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

/* One request's context. */
typedef struct svc_ctx {
    store *st;
    const cat_snapshot *snap;
    price_worker *pw;
    price_store *usage; /* promotion usage counters, read from st */
    const svc_caller *caller;
    date_days today; /* the service's clock */
} svc_ctx;

/* What an operation answers. */
typedef struct svc_reply {
    int created;              /* 1: something new was stored (201), 0: read or moved (200) */
    char *body;               /* malloc'ed text: JSON unless content_type says otherwise */
    const char *content_type; /* NULL: application/json */
} svc_reply;

void svc_reply_fini(svc_reply *r);

/* ---- the transaction runner ---- */

/* Runs fn(c, arg, out, errs) inside one write transaction: commits when it
 * returns 0, and otherwise undoes everything it wrote and empties *out.
 * Work that need not see the transaction (pricing, configuring, parsing)
 * is done before calling it, so writers never wait on it. */
int svc_tx(svc_ctx *c, int (*fn)(svc_ctx *, void *, svc_reply *, cpqd_errs *), void *arg,
           svc_reply *out, cpqd_errs *errs);

/* ---- idempotency (an Idempotency-Key per API key) ---- */

/* Before any work: checks the key (1..128 printable ASCII; NULL: none),
 * hashes body into hash and looks the key up outside a transaction.
 * Returns 0 (go on), 1 (the stored reply is in *out: answer it), or an
 * error (CPQD_EINVAL bad key; CPQD_ECONFLICT the key was used with
 * another request). */
int svc_idem_peek(svc_ctx *c, const char *route, const char *key, const char *body, size_t len,
                  char hash[65], svc_reply *out, cpqd_errs *errs);
/* Opens the write transaction and looks the key up again inside it:
 * 0 inside the open transaction, 1 when a stored reply was copied to
 * *out (the transaction is then closed), or an error (closed). */
int svc_idem_open(svc_ctx *c, const char *route, const char *key, const char *hash, svc_reply *out,
                  cpqd_errs *errs);
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
