/*
 * quote: durable, versioned quotes and their status machine
 * (docs/quotes.md).
 *
 * Owns: turning a quote request into a priced, stored quote (priced
 * before its one write transaction, with its idempotency record: svc),
 * versions and
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

#include "cpqd/auth.h"
#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/price.h"
#include "cpqd/store.h"
#include "cpqd/svc.h"

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

/* ---- the status machine (docs/quotes.md "Status machine") ---- */

typedef enum quote_status {
    QUOTE_DRAFT,
    QUOTE_PENDING_APPROVAL,
    QUOTE_APPROVED,
    QUOTE_SENT,
    QUOTE_ACCEPTED,
    QUOTE_REJECTED,
    QUOTE_EXPIRED,
    QUOTE_STATUS_N,
} quote_status;

typedef enum quote_action {
    QUOTE_SUBMIT,
    QUOTE_APPROVE,
    QUOTE_REJECT,
    QUOTE_SEND,
    QUOTE_ACCEPT,
    QUOTE_REVISE,
    QUOTE_ACTION_N,
} quote_action;

/* "draft", "pending_approval", ... as stored and shown; "?" if invalid. */
const char *quote_status_name(quote_status s);
/* The names of every status, NULL-terminated (the list filter's). */
const char *const *quote_status_names(void);
/* A status or action by name: 0, or CPQD_EINVAL. */
int quote_status_parse(const char *s, quote_status *out);
int quote_action_parse(const char *s, quote_action *out);
const char *quote_action_name(quote_action a);
/* The status action a moves a quote in status s to, or QUOTE_STATUS_N
 * when s does not allow it. Submitting moves to pending_approval, or
 * straight to approved when every discount is within the submitter's
 * authority and no price is out of bounds (the caller decides that). */
quote_status quote_next(quote_status s, quote_action a);

/* POST /v1/quotes: the /v1/price request plus optional "valid_until"
 * (YYYY-MM-DD, default today + 30 days). idem_key may be NULL. A repeated
 * key with the same body returns the stored reply (created = 1 again,
 * same quote); with another body, CPQD_ECONFLICT. */
int quote_create(svc_ctx *c, const char *body, size_t len, const char *idem_key,
                 svc_reply *out, cpqd_errs *errs);

/* GET /v1/quotes/{id} (version 0) and /v1/quotes/{id}/versions/{n}. */
int quote_get(svc_ctx *c, const char *id, int version, svc_reply *out, cpqd_errs *errs);

/* GET /v1/quotes?customer=&status=&partner=&q=&limit=&after= (partner
 * callers only ever see their own): f->limit quotes at most, after the
 * quote f->after (a `next` this list gave the caller). */
int quote_list(svc_ctx *c, const store_quote_filter *f, svc_reply *out, cpqd_errs *errs);

/* POST /v1/quotes/{id}/revise: a new version from a body like
 * quote_create's, re-priced on the current catalogs, status draft. */
int quote_revise(svc_ctx *c, const char *id, const char *body, size_t len,
                 const char *idem_key, svc_reply *out, cpqd_errs *errs);

/* POST /v1/quotes/{id}/{action} with action submit, approve, reject or
 * send (the others are refused here: accept is contract_accept, revise
 * quote_revise); body may hold {"note": "..."}. */
int quote_move(svc_ctx *c, const char *id, quote_action action, const char *body, size_t len,
               svc_reply *out, cpqd_errs *errs);

/* Parses body[0..len) exactly as quote_create and quote_revise do
 * (action false: valid_until, the price request, c's caller and today
 * applied) or as quote_action does (action true: empty or {"note"}),
 * then frees it: nothing is priced, read or stored (tests/fuzz). Returns
 * 0, CPQD_EINVAL with the reasons in errs, or CPQD_ENOMEM. stored (NULL:
 * not wanted) gets the request text a quote would store (malloc'ed; NULL
 * for an action or a refused body). */
int quote_body_check(svc_ctx *c, bool action, const char *body, size_t len, char **stored,
                     cpqd_errs *errs);

/* GET /v1/quotes/{id}/document: the latest version as a printable HTML
 * page (UTF-8, A4; docs/quotes.md "The quote document") for the customer:
 * seller, customer, partner, number, version, dates; per line the
 * product, its configuration (options, attribute choices), the price
 * steps a customer may see, net, tax and total; totals that add up;
 * validity and payment terms. Never cost, floor, ceiling, margin, book
 * ids, sources or the catalog version. lang is a tag quote_doc_lang_pick
 * returns ("zh-CN": labels in Chinese, anything else English). */
int quote_document(svc_ctx *c, const char *id, const char *lang, svc_reply *out,
                   cpqd_errs *errs);

/* The document's language: param (the ?lang= value, "zh" or "en"; NULL
 * when absent) if given, else the best of accept_language (an
 * Accept-Language header, NULL if none; q-values honoured, a malformed
 * element ignored, "*" is English) that is Chinese or English, else
 * English. Returns the static tag "zh-CN" or "en" (Content-Language). */
const char *quote_doc_lang_pick(const char *param, const char *accept_language);

/* Buffer size that always suffices for quote_doc_amount_format. */
#define QUOTE_DOC_AMOUNT_MAX 64

/* Writes v as the document prints an amount in language tag lang (as
 * quote_doc_lang_pick returns): "-" for a negative v ("+" for a positive
 * one when plus), the currency's symbol (CNY: "¥" in Chinese, "CN¥" in
 * English; USD "US$" / "$"; JPY "JP¥" / "¥"; EUR "€"; GBP "£"; HKD "HK$";
 * any other: its code and a no-break space), the integer digits grouped
 * by threes with ",", then "." and at least the currency's minor units
 * (CNY 2, JPY 0, KWD 3; 2 for a code money_currency_minor lacks), more
 * only where v has non-zero digits beyond them ("CN¥0.0035"). Returns
 * the length without the NUL, or CPQD_ERANGE (v invalid, cap too small;
 * QUOTE_DOC_AMOUNT_MAX suffices). */
int quote_doc_amount_format(money_dec v, const char *currency, const char *lang, bool plus,
                            char *buf, size_t cap);

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

/* Inside an svc_tx write closure: moves quote id (as the caller may see
 * it, else CPQD_ENOTFOUND) from approved or sent to accepted, with its
 * history entry, and fills *q with the head of the quote after the move
 * (request and priced NULL; free with store_quote_fini); its event is
 * quote_accept_emit's, once the contract is stored. CPQD_ECONFLICT with
 * the allowed actions in errs when accept is not allowed; a quote found
 * expired is marked expired and that is kept (svc_tx_keep) though the
 * closure fails. */
int quote_accept(svc_ctx *c, const char *id, store_quote *q, cpqd_errs *errs);
/* The quote.status_changed event of q, moved by quote_accept, in the
 * same transaction after its contract was stored: the payload is the
 * quote as GET then shows it, contract_id included. seen (or NULL): the
 * quote as read before the transaction; while its version is still the
 * latest, the event takes its priced result (a version's never changes)
 * instead of reading and unpacking it again. 0 or a store code. */
int quote_accept_emit(svc_ctx *c, const store_quote *seen, store_quote *q);
/* Quote q, as read, may be accepted now (approved or sent, not expired):
 * for preparing an acceptance outside the transaction, which
 * quote_accept then confirms inside it. */
bool quote_acceptable(const svc_ctx *c, const store_quote *q);

/* What redeeming quote q's promotions needs of it: its priced result and
 * request, read once, before the write transaction (parsing them is most
 * of the work); priced: q->priced already parsed (a jansson value the
 * plan takes a reference of), or NULL to parse it; request: what is read
 * of q->request (its date, channel and segments; a reference is taken),
 * or NULL to parse it when a promotion was applied. 0 (*out, free with
 * quote_usage_plan_free; NULL is a no-op) or CPQD_ENOMEM. */
typedef struct quote_usage_plan quote_usage_plan;
struct json_t;
int quote_usage_plan_new(const store_quote *q, struct json_t *priced, struct json_t *request,
                         quote_usage_plan **out);
void quote_usage_plan_free(quote_usage_plan *p);
/* Counts the promotions applied in quote q's priced result (its
 * "promotions.applied", read into plan from the same version of q),
 * inside the caller's write transaction, after running each one's limit
 * rule again on the counters as they are now (price_limit_recheck):
 * CPQD_ECONFLICT (in errs) when a limit would no longer grant what the
 * quote got, so a budget is never overspent however many quotes are
 * accepted at once. */
int quote_usage_redeem(svc_ctx *c, const store_quote *q, const quote_usage_plan *plan,
                       cpqd_errs *errs);

/* A request body body[0..len) as a JSON object, duplicate keys refused
 * (quote_json.c; the codecs of quotes and contracts read bodies alike):
 * the value (the caller's, to json_decref), or NULL with "body: must be
 * a JSON object" or "invalid JSON at line L column C: ..." in errs. */
struct json_t *quote_json_body(const char *body, size_t len, cpqd_errs *errs);


#endif
