/*
 * fin_int: what the finance files share (fin_invoice.c, fin_bank.c,
 * fin_ledger.c, fin_credit.c and their codec, fin_json.h). Not for other
 * modules.
 *
 * The finance operations read contracts the way the contract module's
 * own routes do (contract_int.h: the contract rebuilt with its lines,
 * items as its codec writes them, events ordered per contract): they are the same layer
 * of the application, one step further along the flow.
 *
 * Ownership as in fin.h. JSON is the codec's (fin_json.h): these files
 * work on typed values and the texts it makes.
 */
#ifndef CPQD_FIN_INT_H
#define CPQD_FIN_INT_H

#include "contract_int.h"
#include "cpqd/fin.h"
#include "cpqd/invoice.h"
#include "cpqd/store_fin.h"
#include "cpqd/voucher.h"

#define FIN_LIMIT_DEFAULT 100

/* Adds a message to errs (NULL: none) and returns code. */
int fin_fail(cpqd_errs *errs, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds the store's last error as the reason (what: context); returns rc. */
int fin_store_fail(svc_ctx *c, cpqd_errs *errs, int rc, const char *what);
/* v at minor places (exactly: a value with more places is CPQD_ERANGE)
 * into buf. */
int fin_money_text(money_dec v, int minor, char buf[MONEY_FMT_MAX]);
/* v at minor places as fin_money_text writes it (minor < 0: as it is,
 * a rate or a quantity; "0" when it does not fit) into buf; returns buf. */
const char *fin_dec(money_dec v, int minor, char buf[MONEY_FMT_MAX]);
/* A stored decimal text: 0 or CPQD_EINTERNAL. */
int fin_money_of(const char *s, money_dec *out);
/* The cursor and limit of a list: after NULL is 0, limit NULL is
 * FIN_LIMIT_DEFAULT (1..STORE_PER_PAGE_MAX). */
int fin_page_args(const char *after, const char *limit, int64_t *a, size_t *l, cpqd_errs *errs);
/* Writes event type about resource rid, delivered in order with the
 * others of order_key ("contract:c_...", "credit:bc_..."), with payload
 * text (borrowed; NULL, a view that ran out of memory: CPQD_ENOMEM). */
int fin_emit(svc_ctx *c, const char *type, const char *kind, const char *rid,
             const char *order_key, const char *payload);

/* ---- catalogs ---- */

/* The catalog whose finance section names issuer id (the first), or
 * NULL. */
const cat_catalog *fin_issuer_catalog(const cat_snapshot *s, const char *issuer);
/* The catalog of contract a (its lines' products'), which must have a
 * finance section, with the same issuer on every line: *cc, or
 * CPQD_EREFUSED / CPQD_ENOTFOUND with the reason in errs. */
int fin_contract_catalog(const svc_ctx *c, const contract_after *a, const cat_catalog **cc,
                         cpqd_errs *errs);

/* ---- vouchers (fin_ledger.c) ---- */

/* Checks v (voucher_check) and stores it in the feed. */
int fin_voucher_post(svc_ctx *c, const voucher *v, cpqd_errs *errs);
/* A two-line voucher of kind k (payment, match, unmatch, write-off) for
 * amount > 0, stored; amount 0 writes nothing. */
int fin_voucher_simple(svc_ctx *c, const cat_finance *fin, voucher_kind k, const char *source,
                       const char *customer, const char *contract, date_days date,
                       const char *currency, money_dec amount, cpqd_errs *errs);

/* ---- revenue (fin_ledger.c) ---- */

/* The revenue plan of an opened contract: obligations per line as
 * revrec_line_obligations makes them (a subscription over its scheduled
 * periods; usage as billed from its closed periods), each line a group
 * priced at its items net of tax. *plan and *obs are freed with
 * fin_revenue_fini. */
typedef struct fin_revplan {
    struct revrec_plan *plan;
    struct revrec_obligation_in *obs;
    struct revrec_group *groups;
    struct revrec_bill *bills;
    size_t nobs;
} fin_revplan;
int fin_revenue_plan(svc_ctx *c, contract_after *a, const cat_catalog *cc, fin_revplan *out,
                     cpqd_errs *errs);
void fin_revenue_fini(fin_revplan *p);
/* The net of gross amount g at tax rate r (gross - gross x r / (1 + r),
 * the tax rounded half-even to minor places), as an invoice line takes
 * it. */
int fin_net_of(money_dec g, money_dec r, int minor, money_dec *out);
/* The tax class and rate of a contract item: the line's product's, or
 * for a service item its service product's. */
int fin_item_tax(const svc_ctx *c, const contract_after *a, const store_receivable *r,
                 const char **tax_class, money_dec *rate);

/* ---- idempotent writes (src/fin_ledger.c) ---- */

/* The write of a route, inside the transaction: fills *out and *id (the
 * new resource's id, malloc'ed, for the key's record). */
typedef int (*fin_write_fn)(svc_ctx *c, void *arg, svc_reply *out, char **id, cpqd_errs *errs);
/* Runs fn as the route's one transaction on svc_tx (group commit when
 * the service has a writer) under Idempotency-Key idem_key (may be
 * NULL): a request seen before with this key answers its stored reply
 * (its Location is the route's: http_route.c) and writes nothing; a key used with
 * another request is CPQD_ECONFLICT; otherwise fn's writes and the key's
 * record commit together. *out is filled, or empty on failure. */
int fin_idem_write(svc_ctx *c, const char *route, const char *idem_key, const char *body,
                   size_t len, fin_write_fn fn, void *arg, svc_reply *out, cpqd_errs *errs);

/* ---- customer credit (src/fin_bank.c) ---- */

/* Applies the open customer credit of item rid's customer (matched bank
 * credits not applied in full, in the item's currency, oldest first) to
 * what is outstanding of the item, in the caller's transaction: per
 * credit a match of rule customer_credit with its payment, voucher and
 * events, reversible like any match. Once per item: nothing when an
 * application named it before (reversed or not), when nothing is
 * outstanding or when its due date is not known. *applied counts the
 * matches written. */
int fin_credit_apply_item(svc_ctx *c, const char *rid, size_t *applied, cpqd_errs *errs);

/* ---- the sweep's parts ---- */
int fin_invoice_sweep(svc_ctx *c, struct sweep_run *w, size_t *issued);
int fin_revenue_sweep(svc_ctx *c, struct sweep_run *w, size_t *posted);

#endif
