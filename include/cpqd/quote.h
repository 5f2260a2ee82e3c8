/*
 * quote: durable, versioned quotes and their status machine
 * (docs/quotes.md).
 *
 * Owns: turning a quote request into a priced, stored quote (one store
 * transaction per request, with its idempotency record), versions and
 * revisions, the status machine draft -> pending_approval -> approved ->
 * sent -> accepted | rejected | expired and who may move it, partner
 * scoping of quotes (another partner's quote does not exist), and the JSON
 * of quotes.
 * Does not own: pricing (price), persistence (store), authentication and
 * the route-by-role table (auth, http).
 *
 * Every function returns 0 with *out filled (an HTTP-ready JSON body and
 * whether it created something), or a CPQD_E* code with the reasons in
 * errs: CPQD_EINVAL (bad request), CPQD_ENOTFOUND (no such quote, or not
 * the caller's), CPQD_ECONFLICT (illegal transition: errs lists the
 * allowed actions; Idempotency-Key reused with another body),
 * CPQD_EFORBIDDEN (not enough authority to approve), and whatever pricing
 * or the store returned.
 * Thread-safety: a svc_ctx is per request, on one thread.
 */
#ifndef CPQD_QUOTE_H
#define CPQD_QUOTE_H

#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/price.h"
#include "cpqd/store.h"

#include <stdbool.h>
#include <stddef.h>

/* The usage counters promotion limits read, from the store: the
 * price_store interface over a store handle (one per thread). Counters
 * move when a quote becomes a contract (quote_usage_redeem). */
typedef struct quote_usage {
    price_store base; /* first: the interface */
    store *st;
} quote_usage;
void quote_usage_init(quote_usage *u, store *st);
/* Counts the promotions applied in a stored priced result (its
 * "promotions.applied"), inside the caller's transaction. */
int quote_usage_redeem(store *st, const char *priced, const char *customer, const char *partner);

/* Who is calling (filled by http from the API key). */
typedef struct svc_caller {
    const char *key_id;     /* for created_by and the audit trail */
    const char *role;       /* partner, rep, manager, crm, admin */
    const char *partner_id; /* partner callers: their partner */
    const char *segment;    /* partner callers: the partner's segment, if any */
    bool has_authority;     /* a discount authority set on the key */
    money_dec authority;    /* percent */
} svc_caller;

typedef struct svc_ctx {
    store *st;
    const cat_snapshot *snap;
    price_worker *pw;
    price_store *usage;
    const svc_caller *caller;
    date_days today;
} svc_ctx;

typedef struct svc_reply {
    int created; /* 1: a new quote or version was stored (201), 0: read or moved (200) */
    char *body;  /* malloc'ed text: JSON unless content_type says otherwise */
    const char *content_type; /* NULL: application/json */
} svc_reply;

/* POST /v1/quotes: the /v1/price request plus optional "valid_until"
 * (YYYY-MM-DD, default today + 30 days). idem_key may be NULL. A repeated
 * key with the same body returns the stored reply (created = 1 again,
 * same quote); with another body, CPQD_ECONFLICT. */
int quote_create(svc_ctx *c, const char *body, size_t len, const char *idem_key,
                 svc_reply *out, cpqd_errs *errs);

/* GET /v1/quotes/{id} (version 0) and /v1/quotes/{id}/versions/{n}. */
int quote_get(svc_ctx *c, const char *id, int version, svc_reply *out, cpqd_errs *errs);

/* GET /v1/quotes?customer=&status=&partner=&q=&page=&per_page= (partner
 * callers only ever see their own). */
int quote_list(svc_ctx *c, const store_quote_filter *f, svc_reply *out, cpqd_errs *errs);

/* POST /v1/quotes/{id}/revise: a new version from a body like
 * quote_create's, re-priced on the current catalogs, status draft. */
int quote_revise(svc_ctx *c, const char *id, const char *body, size_t len,
                 const char *idem_key, svc_reply *out, cpqd_errs *errs);

/* POST /v1/quotes/{id}/{action} with action submit, approve, reject or
 * send; body may hold {"note": "..."}. */
int quote_action(svc_ctx *c, const char *id, const char *action, const char *body, size_t len,
                 svc_reply *out, cpqd_errs *errs);

/* GET /v1/quotes/{id}/document: the latest version as a printable HTML
 * page (UTF-8): customer, lines with their BOM options, adders and
 * discounts, totals, tax, payment terms, validity. */
int quote_document(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);

/* POST /v1/quotes/{id}/reprice?on=original|current: the latest version
 * priced again with the identity and date it was priced with, on the
 * catalog snapshot it was priced on (restored from the store's archive if
 * the service has moved on; "identical" tells whether the result equals
 * the stored one byte for byte) or on today's catalogs ("changes" lists
 * the differences line by line). Nothing is stored. */
int quote_reprice(svc_ctx *c, const char *id, const char *on, svc_reply *out,
                  cpqd_errs *errs);

/* GET /v1/price-history?sku=&customer=&last=: the unit prices of sku on
 * the most recent accepted quotes the caller may see (a partner: its
 * own), overall and for that customer: count, min / median / max and the
 * last `last` ones (newest first). */
int quote_price_history(svc_ctx *c, const char *sku, const char *customer, size_t last,
                        svc_reply *out, cpqd_errs *errs);

/* Archives the files of snapshot s in the store (once per version), so
 * quotes priced on it can be re-priced on it later. */
int quote_archive_snapshot(store *st, const cat_snapshot *s, cpqd_errs *errs);
/* Drops the restored snapshots kept for re-pricing (at shutdown). */
void quote_archive_cache_clear(void);

/* ---- what contract (POST /v1/quotes/{id}/accept) shares ---- */

/* Opens the request's transaction and looks its Idempotency-Key up
 * (route names the request; key may be NULL): 0 inside the open
 * transaction, hash filled for svc_idem_record; 1 when the stored reply
 * was copied to *out (transaction closed); or an error (closed):
 * CPQD_ECONFLICT when the key was used with another body. */
int quote_idem_open(svc_ctx *c, const char *route, const char *idem_key, const char *body,
                    size_t len, char hash[65], svc_reply *out, cpqd_errs *errs);
/* Records reply r (for resource id) under key in the open transaction;
 * key NULL: nothing. */
int svc_idem_record(svc_ctx *c, const char *route, const char *key, const char *hash,
                      const svc_reply *r, const char *id);
/* In the caller's open transaction: moves quote id (as the caller may see
 * it, else CPQD_ENOTFOUND) from approved or sent to accepted, with its
 * history entry and a quote.status_changed event, and fills *q with the
 * quote after the move (free with store_quote_fini). CPQD_ECONFLICT with
 * the allowed actions in errs when accept is not allowed; a quote found
 * expired is marked expired and that is committed (the transaction is
 * then closed). On failure the caller rolls back (a no-op if closed). */
int quote_accept(svc_ctx *c, const char *id, store_quote *q, cpqd_errs *errs);

void svc_reply_fini(svc_reply *r);

#endif
