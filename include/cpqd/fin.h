/*
 * fin: the finance loop's operations (docs/finance.md): invoices and
 * credit notes issued from a contract's receivable items, bank statements
 * imported and their credits matched to open items (a person matching
 * the rest, every match reversible), write-offs, the voucher feed for the
 * ERP, revenue recognised per contract, customers' payer identity and
 * credit limits with the credit check of an accept.
 *
 * Owns: these routes' requests and replies, their transactions (svc:
 * each write is one transaction with its vouchers and events), who may
 * move money beyond the route table (a write-off within the caller's
 * authority, price_authority), the automatic invoices and revenue
 * vouchers of the sweep.
 * Does not own: the arithmetic of invoices, matching, vouchers and
 * revenue (invoice, bank, match, voucher, revrec: pure engines), the
 * contract's schedule (contract, sched), persistence (store_fin), routes
 * and roles (http).
 *
 * Every operation returns 0 with *out filled (created = 1 for 201, and
 * then out->location), or a CPQD_E* code with the reasons in errs:
 * CPQD_EINVAL (a bad request: nothing changed), CPQD_ENOTFOUND (no such
 * resource), CPQD_ECONFLICT (the state does not allow it: already
 * invoiced, cancelled, reversed, nothing to invoice), CPQD_EFORBIDDEN
 * (beyond the caller's authority; a credit approval needed),
 * CPQD_EREFUSED (the catalog has no finance section), and what the
 * store returned. Thread-safety: per request, on the svc_ctx's thread.
 */
#ifndef CPQD_FIN_H
#define CPQD_FIN_H

#include "cpqd/err.h"
#include "cpqd/svc.h"

#include <stddef.h>

/* ---- invoices (src/fin_invoice.c) ---- */

/* POST /v1/contracts/{id}/invoices: {"items"?: [receivable ids],
 * "kind"?: "invoice"|"credit_note", "issued_on"?: date}. Without items:
 * every item of that kind (positive for an invoice, negative for a credit
 * note) not on a document yet whose due date is known and on or before
 * issued_on (default today). idem_key may be NULL. Writes the document,
 * its voucher and invoice.issued / credit_note.issued. */
int fin_invoice_issue(svc_ctx *c, const char *contract_id, const char *body, size_t len,
                      const char *idem_key, svc_reply *out, cpqd_errs *errs);
/* GET /v1/contracts/{id}/invoices?after=&limit= */
int fin_invoices_of(svc_ctx *c, const char *contract_id, const char *after, const char *limit,
                    svc_reply *out, cpqd_errs *errs);
/* GET /v1/invoices: invoices and credit notes, newest first, as
 * {"items", "next"} (next: the last one's id when more follow, else
 * null). Filters (NULL: any): customer and contract ids, status
 * (issued, partially_cancelled, cancelled), issued on or after
 * issued_from and on or before issued_to (YYYY-MM-DD). CPQD_EINVAL for
 * a bad date or status, or a page.after this list did not give. */
/* The statuses of a document, NULL-terminated. */
extern const char *const fin_invoice_statuses[];
typedef struct fin_invoice_query {
    const char *customer, *contract, *status, *issued_from, *issued_to;
    svc_page page;
} fin_invoice_query;
int fin_invoices_list(svc_ctx *c, const fin_invoice_query *q, svc_reply *out, cpqd_errs *errs);
/* GET /v1/invoices/{id} */
int fin_invoice_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);
/* GET /v1/invoices/{id}/document?lang=zh|en (NULL: both languages):
 * the printable HTML page. */
int fin_invoice_document(svc_ctx *c, const char *id, const char *lang, svc_reply *out,
                         cpqd_errs *errs);
/* POST /v1/invoices/{id}/cancel: {"items"?: [receivable ids], "issued_on"?}
 * (body optional: every line still on it): a cancellation credit note;
 * the items can be invoiced again. */
int fin_invoice_cancel(svc_ctx *c, const char *id, const char *body, size_t len,
                       const char *idem_key, svc_reply *out, cpqd_errs *errs);

/* ---- bank statements and matching (src/fin_bank.c) ---- */

/* POST /v1/bank/statements?format=camt053|csv&issuer=: the statement
 * (the body as it came from the bank) parsed, every new credit stored
 * with its payment voucher, matched automatically where one reading is
 * certain (the match, its payments on the items, its voucher and
 * payment.matched), the rest queued with suggestions. A credit imported
 * before (its bank transaction id) is counted as a duplicate and changes
 * nothing. format NULL: from content_type. issuer NULL: the only issuer,
 * or the one whose bank account the camt.053 statement names. */
int fin_statement_import(svc_ctx *c, const char *format, const char *content_type,
                         const char *issuer, const char *body, size_t len, const char *idem_key,
                         svc_reply *out, cpqd_errs *errs);
/* GET /v1/bank/statements/{id} */
int fin_statement_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);
/* GET /v1/bank/credits?status=unmatched|matched&customer=&after=&limit=:
 * the queue (status unmatched) with suggestions. */
int fin_credits_list(svc_ctx *c, const char *status, const char *customer, const char *after,
                     const char *limit, svc_reply *out, cpqd_errs *errs);
/* GET /v1/bank/credits/{id}: the credit with its matches. */
int fin_credit_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);
/* POST /v1/bank/credits/{id}/match: {"allocations": [{"receivable_id",
 * "amount"}], "customer_id"?, "note"?}: a person's match of what is
 * unapplied of the credit; the rest stays customer credit. */
int fin_credit_match(svc_ctx *c, const char *id, const char *body, size_t len,
                     const char *idem_key, svc_reply *out, cpqd_errs *errs);
/* GET /v1/matches/{id} */
int fin_match_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);
/* POST /v1/matches/{id}/reverse: {"note"?}: undoes a match (its payments
 * removed, the reversing voucher, payment.unmatched); the credit's money
 * goes back to the queue. */
int fin_match_reverse(svc_ctx *c, const char *id, const char *body, size_t len, svc_reply *out,
                      cpqd_errs *errs);
/* POST /v1/receivables/{id}/write-off: {"amount"?, "reason"}: gives up
 * what is outstanding (or amount of it) as uncollectible, within the
 * caller's authority (the part of the item written off, in percent, at
 * most its discount authority in the contract's catalog). */
int fin_write_off(svc_ctx *c, const char *rid, const char *body, size_t len,
                  const char *idem_key, svc_reply *out, cpqd_errs *errs);
/* GET /v1/write-offs/{id} */
int fin_write_off_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);

/* ---- vouchers and revenue (src/fin_ledger.c) ---- */

/* GET /v1/vouchers?after=&limit=&format=json|csv: the feed. */
int fin_vouchers(svc_ctx *c, const char *after, const char *limit, const char *format,
                 svc_reply *out, cpqd_errs *errs);
/* GET /v1/contracts/{id}/revenue?as_of=: every performance obligation's
 * allocation, recognised and deferred revenue as of as_of (NULL:
 * today). */
int fin_revenue(svc_ctx *c, const char *contract_id, const char *as_of, svc_reply *out,
                cpqd_errs *errs);

/* ---- customers and credit risk (src/fin_credit.c) ---- */

/* PUT /v1/customers/{id}: {"name"?, "accounts"?: [...]}: the payer
 * identity the matcher reads (the credit part is kept). */
int fin_customer_put(svc_ctx *c, const char *id, const char *body, size_t len, svc_reply *out,
                     cpqd_errs *errs);
/* PUT /v1/customers/{id}/credit: {"limit": decimal|null, "currency"?,
 * "risk_flags"?: [...], "note"?} (the identity is kept). */
int fin_customer_credit_put(svc_ctx *c, const char *id, const char *body, size_t len,
                            svc_reply *out, cpqd_errs *errs);
/* GET /v1/customers/{id}: identity, credit, open receivables and
 * customer credit per currency. */
int fin_customer_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);

/* The credit check of POST /v1/quotes/{id}/accept, in the accept's open
 * transaction before the quote moves: a quote that would take its
 * customer's open receivables over the customer's credit limit, or of a
 * customer with risk flags, needs a manager's approval. A manager or
 * admin accepting gives it (recorded in the quote's history); otherwise
 * an approval of this version recorded before (fin_credit_approve) is
 * needed, else CPQD_EFORBIDDEN naming what is over. 0 when nothing is
 * needed or the quote is not acceptable anyway (accept says why). */
int fin_credit_accept_check(svc_ctx *c, const char *quote_id, cpqd_errs *errs);
/* POST /v1/quotes/{id}/approve-credit: {"note"?} by a manager or admin:
 * records the approval of the latest version in the quote's history.
 * CPQD_ECONFLICT when no approval is needed. */
int fin_credit_approve(svc_ctx *c, const char *quote_id, const char *body, size_t len,
                       svc_reply *out, cpqd_errs *errs);

/* ---- the sweep (POST /v1/receivables/sweep; contract.c calls it) ---- */

struct sweep_run;
/* In the sweep's transaction, each an item of the sweep: invoices every
 * contract's items that are due for it under its catalog's
 * finance.invoices.issue (on_bill_date: bill date, on_due_date: due
 * date, on or before the run's date), and posts each contract's revenue
 * recognised up to the run's date (a revenue voucher per contract whose
 * recognised revenue moved). *invoices and *revenue get the counts. */
int fin_sweep(svc_ctx *c, struct sweep_run *w, size_t *invoices, size_t *revenue);

#endif
