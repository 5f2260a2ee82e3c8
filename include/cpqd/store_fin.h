/*
 * store_fin: the finance loop's records (docs/finance.md; schema
 * migration 10): customers with their payer identity and credit limits,
 * invoices and credit notes with the receivable items they cover, bank
 * statements and their credits, matches of credits to items (each
 * allocation a payment row of store.h), write-offs, the vouchers of the
 * ERP feed and the revenue posted per contract.
 *
 * Conventions as store.h's contract functions: a write joins the
 * caller's transaction (store_begin) or runs in one of its own, and a
 * write that fails changes nothing; amounts are exact decimal text at the
 * currency's places, dates YYYY-MM-DD, timestamps ISO 8601 UTC; every
 * string a read fills is malloc'ed and freed by the matching _fini
 * (arrays: each element, then the array; NULL when n is 0). Fields a
 * write assigns are overwritten without being freed. Errors: CPQD_EINVAL
 * (a required field missing or not UTF-8; nothing written),
 * CPQD_ENOTFOUND, CPQD_ECONFLICT (a key taken, or a guarded value that
 * moved: someone else wrote first), CPQD_EIO, CPQD_ENOMEM.
 *
 * Lists that page take a cursor: `after` (0 from the start) is the seq of
 * the last row of the previous page; seqs come from fin_counters in
 * commit order (the write lock serialises writers), so a reader never
 * misses a row committed later below its cursor.
 */
#ifndef CPQD_STORE_FIN_H
#define CPQD_STORE_FIN_H

#include "cpqd/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_FIN_ID_LEN 24 /* "inv_" + 16 hex + NUL, and the shorter prefixes */

/* The next number of counter `name` (1 for a new one) in the caller's
 * write scope: invoice numbers per issuer, kind and year
 * ("invoice:ACME-SH:2027"). A rolled-back scope gives it back. */
int store_fin_next(store *st, const char *name, int64_t *seq);

/* ---- customers ---- */

typedef struct store_customer {
    char *id;
    char *name;            /* legal name, NULL: not given */
    char *accounts;        /* JSON array of the bank accounts it pays from */
    char *credit_limit;    /* decimal text; NULL: no limit */
    char *credit_currency; /* with credit_limit */
    char *risk_flags;      /* JSON array of strings */
    char *credit_note;     /* NULL: none */
    char *updated_by, *updated_at; /* updated_at assigned by store_customer_put */
} store_customer;

/* Customer id into *out; CPQD_ENOTFOUND if the CRM never sent it. */
int store_customer_get(store *st, const char *id, store_customer *out);
/* Inserts or replaces c (id, accounts, risk_flags, updated_by required);
 * overwrites c->updated_at. */
int store_customer_put(store *st, store_customer *c);
/* Every customer (for the matcher's payer index). */
int store_customers_all(store *st, store_customer **items, size_t *n);
void store_customer_fini(store_customer *c);

/* ---- open items: receivable rows as finance sees them ---- */

typedef struct store_fin_item {
    char *id, *contract_id, *contract_number, *customer_id, *partner_id, *currency;
    char *amount, *paid; /* decimal text */
    char *due_on;        /* NULL: not known yet */
    char *invoice_id, *invoice_number; /* the open invoice it is on, NULL if none */
} store_fin_item;

/* Items with a known amount, a known due date and something to collect
 * (paid is not amount), of every contract (customer NULL) or of one
 * customer's contracts, by due date then contract number. */
int store_fin_open_items(store *st, const char *customer, store_fin_item **items, size_t *n);
void store_fin_item_fini(store_fin_item *it);

/* ---- invoices and credit notes ---- */

typedef struct store_invoice {
    char *id;   /* "inv_" + 16 hex, assigned */
    int64_t seq; /* feed order, assigned */
    char *number, *issuer;
    char *kind;   /* "invoice", "credit_note" */
    char *reason; /* "sale", "credit", "cancellation" */
    int year;
    int64_t doc_seq; /* its number's sequence (store_fin_next) */
    char *contract_id, *customer_id, *currency, *issued_on, *due_on, *net, *tax, *total;
    char *original_id; /* a cancellation: the invoice it cancels; else NULL */
    char *source;      /* "api", "sweep" */
    char *document;    /* JSON text: the typed invoice (lines, taxes, parties) */
    char *created_by, *created_at; /* created_at assigned */
} store_invoice;

typedef struct store_invoice_item {
    char *invoice_id, *receivable_id, *amount;
    char *cancelled_by; /* the cancelling credit note's id, NULL while on the invoice */
} store_invoice_item;

/* Inserts invoice v (id, seq, created_at assigned) with its n items
 * (amounts as given; invoice_id ignored). CPQD_ECONFLICT when an item is
 * already on a document that was not cancelled, or the number is taken. */
int store_invoice_insert(store *st, store_invoice *v, const store_invoice_item *items,
                         size_t n);
int store_invoice_get(store *st, const char *id, store_invoice *out);
/* The documents of contract contract_id after cursor `after`, oldest
 * first, at most limit (1..STORE_PER_PAGE_MAX). */
int store_invoices_of(store *st, const char *contract_id, int64_t after, size_t limit,
                      store_invoice **items, size_t *n);
/* GET /v1/invoices: documents of customer and contract (exact ids),
 * status (issued, partially_cancelled, cancelled: from the items'
 * cancellations), issued from..to (YYYY-MM-DD, inclusive); NULL: any.
 * after: an invoice id, only documents listed after it. */
typedef struct store_invoice_filter {
    const char *customer, *contract, *status, *from, *to, *after;
    size_t limit; /* 1..STORE_PER_PAGE_MAX + 1 */
} store_invoice_filter;
/* The matching documents, newest first (feed order), at most limit. */
int store_invoice_list(store *st, const store_invoice_filter *f, store_invoice **items, size_t *n);
/* The items of invoice id (any state). */
int store_invoice_items_of(store *st, const char *id, store_invoice_item **items, size_t *n);
/* Marks the items receivable_ids[0..n) of invoice id cancelled by credit
 * note by. CPQD_ECONFLICT if one of them is not on it or already
 * cancelled. */
int store_invoice_items_cancel(store *st, const char *id, const char *const *receivable_ids,
                               size_t n, const char *by);
/* The documents the items of contract contract_id are on now (not
 * cancelled): one store_invoice_item per item, with cancelled_by NULL. */
int store_invoice_items_open(store *st, const char *contract_id, store_invoice_item **items,
                             size_t *n);
void store_invoice_fini(store_invoice *v);
void store_invoice_item_fini(store_invoice_item *it);

/* ---- bank statements, credits, matches ---- */

typedef struct store_statement {
    char *id; /* "bs_" + 16 hex, assigned */
    char *issuer; /* the issuer (catalog finance section) whose bank account it is */
    char *format; /* "camt053", "csv" */
    char *ref, *account; /* the statement's own id and account ("" for CSV) */
    int64_t credits, duplicates, skipped, matched, unmatched;
    char *imported_by, *imported_at; /* imported_at assigned */
} store_statement;

int store_statement_insert(store *st, store_statement *s);
int store_statement_get(store *st, const char *id, store_statement *out);
void store_statement_fini(store_statement *s);

typedef struct store_credit {
    char *id;    /* "bc_" + 16 hex, assigned */
    int64_t seq; /* assigned */
    char *statement_id, *tx_id, *amount, *currency, *value_date;
    char *booking_date; /* NULL: not given */
    char *remittance, *debtor_name, *debtor_account, *end_to_end_id;
    char *customer_id; /* the payer, NULL while unknown */
    char *applied;     /* what its active matches applied to items */
    char *status;      /* "unmatched", "matched" */
    char *rule;        /* match_rule_name of how it was matched ("none" while unmatched) */
    char *reason;      /* why it waits, NULL if matched */
    char *suggestions; /* JSON: [{"receivable_id","score"}] */
    char *created_at;  /* assigned */
} store_credit;

/* Inserts c. CPQD_ECONFLICT if its bank transaction id was imported. */
int store_credit_insert(store *st, store_credit *c);
int store_credit_get(store *st, const char *id, store_credit *out);
/* seen[i] = whether tx_ids[i] was imported before (one statement
 * prepared for all of them). */
int store_credits_seen(store *st, const char *const *tx_ids, size_t n, bool *seen);
/* Credits after cursor `after`, oldest first, of status (NULL: any) and
 * customer (NULL: any), at most limit (0: all). */
int store_credits_list(store *st, const char *status, const char *customer, int64_t after,
                       size_t limit, store_credit **items, size_t *n);
/* The customer credit of customer in currency: its matched credits not
 * applied in full, oldest first (none: *n 0). */
int store_credits_open_of(store *st, const char *customer, const char *currency,
                          store_credit **items, size_t *n);
/* *applied: customer credit was applied automatically to item rid
 * before (a match of rule customer_credit names it, reversed or not). */
int store_credit_applied_to(store *st, const char *rid, bool *applied);
/* Sets credit id's applied (from old_applied: CPQD_ECONFLICT if it moved),
 * status, rule, reason (may be NULL) and customer_id (NULL keeps it). */
int store_credit_update(store *st, const char *id, const char *old_applied,
                        const char *applied, const char *status, const char *rule,
                        const char *reason, const char *customer_id);
void store_credit_fini(store_credit *c);

typedef struct store_match {
    char *id;    /* "m_" + 16 hex, assigned */
    int64_t seq; /* assigned */
    char *credit_id;
    char *kind; /* "auto", "manual" */
    char *rule;
    char *customer_id; /* NULL: unknown */
    char *amount;      /* applied to items */
    char *overpaid;    /* the rest of the credit at the time, kept as customer credit */
    char *note;        /* NULL */
    char *created_by, *created_at; /* created_at assigned */
    char *reversed_at, *reversed_by, *reverse_note; /* NULL while active */
} store_match;

typedef struct store_alloc {
    char *match_id, *receivable_id, *amount;
    char *payment_id; /* the payment row it recorded on the item */
} store_alloc;

/* Inserts match m (id, seq, created_at assigned) with its n allocations
 * (match_id ignored). */
int store_match_insert(store *st, store_match *m, const store_alloc *allocs, size_t n);
/* Match id and its allocations (allocs may be NULL: not wanted). */
int store_match_get(store *st, const char *id, store_match *out, store_alloc **allocs,
                    size_t *n);
/* The matches of credit credit_id, oldest first. */
int store_matches_of(store *st, const char *credit_id, store_match **items, size_t *n);
/* Marks match id reversed now by `by` (note may be NULL).
 * CPQD_ECONFLICT if it is reversed already. */
int store_match_reverse(store *st, const char *id, const char *by, const char *note);
void store_match_fini(store_match *m);
void store_alloc_fini(store_alloc *a);

/* Deletes payment payment_id of receivable rid (a match undone) and sets
 * the item's paid from old_paid to new_paid. CPQD_ECONFLICT if either
 * moved. */
int store_payment_remove(store *st, const char *rid, const char *payment_id,
                         const char *old_paid, const char *new_paid);

/* ---- write-offs ---- */

typedef struct store_write_off {
    char *id; /* "wo_" + 16 hex, assigned */
    char *receivable_id, *amount, *reason, *payment_id, *created_by;
    char *created_at; /* assigned */
} store_write_off;

int store_write_off_insert(store *st, store_write_off *w);
int store_write_off_get(store *st, const char *id, store_write_off *out);
void store_write_off_fini(store_write_off *w);

/* ---- vouchers (the ERP feed) ---- */

typedef struct store_voucher {
    int64_t seq;  /* assigned: the feed's cursor */
    char *number; /* "V-000001", assigned from seq */
    char *kind, *date, *currency, *source;
    char *customer_id, *contract; /* NULL: none */
    char *total;
    char *lines;      /* JSON: [{"account","debit","credit","memo"}] */
    char *created_at; /* assigned */
} store_voucher;

int store_voucher_add(store *st, store_voucher *v);
/* Vouchers after cursor `after`, oldest first, at most limit. */
int store_vouchers_list(store *st, int64_t after, size_t limit, store_voucher **items,
                        size_t *n);
void store_voucher_fini(store_voucher *v);

/* ---- revenue posted ---- */

/* The ids of every contract, by number (the revenue sweep's list):
 * *ids is a malloc'ed array of n malloc'ed strings. */
int store_fin_contract_ids(store *st, char ***ids, size_t *n);

typedef struct store_revenue_pos {
    char *contract_id, *category;
    char *posted; /* revenue posted in vouchers so far */
    char *upto;   /* the date it was posted up to */
} store_revenue_pos;

int store_revenue_positions(store *st, const char *contract_id, store_revenue_pos **items,
                            size_t *n);
/* Sets the posted revenue of (contract, category) from old (NULL: no row
 * yet) to posted, up to upto. CPQD_ECONFLICT if it moved. */
int store_revenue_post(store *st, const char *contract_id, const char *category,
                       const char *old, const char *posted, const char *upto);
void store_revenue_pos_fini(store_revenue_pos *p);

#endif
