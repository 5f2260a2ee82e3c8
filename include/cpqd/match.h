/*
 * match: payment matching (write-off) of a bank statement's credits
 * against open receivable items (docs/finance.md "Matching").
 *
 * Owns: deciding, for each incoming credit, which open items it pays and
 * how much of each, or that it waits for a person (with ranked
 * suggestions), or that it is a duplicate of a credit already imported;
 * the rules in order: duplicate by bank transaction id, reference
 * (invoice or contract number in the remittance text, tolerant to case,
 * spacing, separators, leading zeros and one typo), then payer and amount
 * (the payer's only open item of that amount, the only set of its open
 * items adding up to it); partial payments and overpayments of a cited
 * document (the rest kept as customer credit); checking a person's manual
 * match.
 * Does not own: reading statements (bank), where items, customers and
 * seen ids come from and where results go (store, application layer),
 * vouchers (voucher), events.
 *
 * Key invariants: no wrong match is preferred to a missed one (when two
 * readings of a credit are possible, it is left unmatched with both as
 * suggestions); the allocations of a matched credit plus its overpayment
 * add up to its amount exactly; no item is paid beyond what is open; the
 * run is deterministic (the same input gives the same output, credits
 * are taken in statement order and each sees what the earlier ones left
 * open).
 *
 * Ownership: inputs are borrowed and never kept; a match_run owns its
 * arrays (match_run_fini frees them). Thread-safety: values; no globals.
 * Errors: CPQD_EINVAL for bad input (an item without a currency, a
 * negative open amount, a customer index out of range), each reported to
 * errs (may be NULL); CPQD_ENOMEM. On failure *out is zeroed.
 */
#ifndef CPQD_MATCH_H
#define CPQD_MATCH_H

#include "cpqd/arena.h"
#include "cpqd/bank.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>

#define MATCH_NONE ((size_t)-1)

/* A customer as the matcher knows it. */
typedef struct match_customer {
    const char *id;
    const char *name;            /* legal name (UTF-8) */
    const char *const *accounts; /* bank accounts it pays from, written as bank_credit's
                                  * debtor_account (no spaces, upper case) */
    size_t naccounts;
} match_customer;

/* One open receivable item. */
typedef struct match_item {
    const char *id;              /* receivable id */
    size_t customer;             /* index into match_input.customers */
    const char *contract_number; /* "C-2026-000123"; NULL: none */
    const char *invoice_number;  /* "INV-SH-2026-000042"; NULL: not invoiced yet */
    const char *currency;        /* ISO 4217 */
    money_dec open;              /* outstanding, >= 0 at most the currency's places */
    date_days due_on;            /* oldest first when paying part of several items */
} match_item;

typedef struct match_options {
    unsigned max_combination; /* items in one payment without a reference (0: 3) */
    unsigned max_candidates;  /* a payer's oldest open items searched for them (0: 24) */
    unsigned max_suggestions; /* per unmatched credit (0: 5) */
    /* Bank transaction ids already imported (NULL: none): returns true
     * for an id seen before. */
    bool (*seen)(void *ctx, const char *tx_id);
    void *seen_ctx;
} match_options;

typedef struct match_input {
    const match_customer *customers;
    size_t ncustomers;
    const match_item *items;
    size_t nitems;
    const bank_credit *credits; /* in statement order */
    size_t ncredits;
    const match_options *options; /* NULL: defaults */
} match_input;

typedef enum match_status {
    MATCH_MATCHED,   /* applied to items (a partial payment included); any rest is overpaid */
    MATCH_UNMATCHED, /* waits in the queue for a person, with suggestions */
    MATCH_DUPLICATE, /* its bank transaction id was imported before, or earlier in this statement */
} match_status;

typedef enum match_rule {
    MATCH_RULE_NONE,            /* unmatched or duplicate */
    MATCH_RULE_REFERENCE,       /* an invoice or contract number in the remittance text */
    MATCH_RULE_REFERENCE_FUZZY, /* a number one typo away, confirmed by the payer */
    MATCH_RULE_AMOUNT,          /* the payer's only open item (kind) of exactly that amount */
    MATCH_RULE_COMBINATION,     /* the payer's only set of open items adding up to it */
    MATCH_RULE_MANUAL,          /* a person's match (match_manual) */
} match_rule;

typedef struct match_alloc {
    size_t item;      /* index into match_input.items */
    money_dec amount; /* > 0, at most what was open, at the currency's places */
} match_alloc;

typedef struct match_suggestion {
    size_t item;    /* index into match_input.items */
    unsigned score; /* 1..100, higher is likelier */
} match_suggestion;

typedef struct match_result {
    match_status status;
    match_rule rule;
    size_t customer;           /* the paying customer's index, MATCH_NONE when unknown */
    const match_alloc *allocs; /* matched: oldest due first */
    size_t nallocs;
    money_dec overpaid; /* matched: the rest, kept as the customer's credit; else 0 */
    const match_suggestion *suggestions; /* unmatched: best first */
    size_t nsuggestions;
    const char *reason;  /* unmatched / duplicate: why (static text); matched: NULL */
    size_t duplicate_of; /* the earlier credit of this statement, or MATCH_NONE */
} match_result;

typedef struct match_run {
    match_result *results; /* one per credit, in statement order */
    size_t n;
    money_dec *open; /* per item: what is still open after the run */
    size_t nitems;
    size_t matched, unmatched, duplicates;
    arena *mem; /* owns allocs and suggestions */
} match_run;

/* Matches every credit of in (in order) and fills *out; free it with
 * match_run_fini. */
int match_statement(const match_input *in, match_run *out, cpqd_errs *errs);
void match_run_fini(match_run *r);

/* Checks a person's match of credit c to items: every allocation names
 * an item (index < nitems) once, is in c's currency, positive, at most
 * its open amount (open[i], the item's current open amount) and at most
 * the currency's places, and together they do not exceed c's amount.
 * Writes the rest to *overpaid (kept as customer credit). Returns 0;
 * CPQD_EINVAL with every problem in errs. */
int match_manual(const match_item *items, size_t nitems, const money_dec *open,
                 const bank_credit *c, const match_alloc *allocs, size_t n, money_dec *overpaid,
                 cpqd_errs *errs);

/* Stable names: "matched", "unmatched", "duplicate"; "none",
 * "reference", "reference_fuzzy", "amount", "combination", "manual". NULL outside the enums. */
const char *match_status_name(match_status s);
const char *match_rule_name(match_rule r);

/* ---- text helpers (src/match_text.c), public for tests and the queue ---- */

/* The reference key of a document number ("INV-SH-2026-000042" ->
 * "INVSH|2026|42"): its letters upper-cased without separators, its year
 * and its sequence without leading zeros. Returns the key's length, or
 * CPQD_EINVAL if s is not letters, then a 4-digit year, then 1 to 8
 * digits (separators '-', '_', '.', '/', ' ' allowed anywhere between);
 * CPQD_ERANGE if cap is too small (64 always suffices). */
int match_ref_key(const char *s, char *buf, size_t cap);

/* A company name for comparison: ASCII letters upper-cased, digits and
 * non-ASCII text kept, punctuation dropped, legal forms removed (Co.,
 * Ltd., Limited, Inc., Corp., GmbH, LLC, 有限公司, 股份有限公司, ...),
 * words joined by one space. Returns the length; CPQD_ERANGE if cap is too
 * small (strlen(name) + 1 always suffices). */
int match_name_norm(const char *name, char *buf, size_t cap);

#endif
