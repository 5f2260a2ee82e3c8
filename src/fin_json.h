/*
 * fin_json: the finance loop's codec (docs/finance.md), as quote_json.c
 * is the quotes' and price_json.c pricing's. Request bodies become the
 * typed requests below; typed values (store rows, documents, results)
 * become the bytes of replies, events and the JSON the store keeps.
 * fin_invoice_json.c: invoices and credit notes; fin_bank_json.c:
 * statements, bank credits, matches and write-offs; fin_credit_json.c:
 * customers; fin_ledger_json.c: vouchers, revenue and what the others
 * share (lists, pages, bodies).
 * Does not own: what the values mean, store reads, transactions and
 * events (the operations: fin_invoice.c, fin_bank.c, fin_ledger.c,
 * fin_credit.c, which never see a JSON value).
 *
 * Only these files include jansson.h. A parsed request borrows its texts
 * from the body it was parsed from (root, the codec's) until its _fini;
 * views return malloc'ed text, NULL when out of memory. The views are
 * the bytes clients, events and signed webhook bodies carry: a change
 * here changes every one of them (members in the order written here).
 * Thread-safety: values; per request.
 */
#ifndef CPQD_FIN_JSON_H
#define CPQD_FIN_JSON_H

#include "fin_int.h"

#include "cpqd/match.h"
#include "cpqd/revrec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- shared (fin_ledger_json.c) ---- */

/* The {"note"?} body of a reversal or a credit approval (empty: {}):
 * *note malloc'ed, NULL when none; CPQD_EINVAL for another member or a
 * note that is not text of at most 500 characters. */
int fin_json_note_parse(const char *body, size_t len, char **note, cpqd_errs *errs);

/* The items of a list as they are gathered (the fin_json_list_add_*
 * functions), then written as a page. */
typedef struct fin_json_list fin_json_list;
fin_json_list *fin_json_list_new(void);    /* NULL when out of memory */
void fin_json_list_free(fin_json_list *l); /* NULL is a no-op */
/* Names record id, left out of the list because it is damaged (a stored
 * value that does not parse), with the reason: the page's "damaged"
 * (docs/finance.md "The routes"). 0 or CPQD_ENOMEM. */
int fin_json_list_add_damaged(fin_json_list *l, const char *id, const char *reason);
/* {"items", "next": "<next>"[, "damaged"]} (a list with a seq cursor;
 * "damaged" when a record was named); consumes l. */
char *fin_json_page(fin_json_list *l, int64_t next);
/* {"items", "next": next[, "damaged"]} (an id cursor; NULL: null);
 * consumes l. */
char *fin_json_page_id(fin_json_list *l, const char *next);

/* Between the codec files only (jansson's values): */
struct json_t;
struct json_t *fin_json_str_or_null(const char *s);
/* The characters (code points) of UTF-8 text s: what a limit of names,
 * notes and reasons counts (ids are limited in bytes). */
size_t fin_json_chars(const char *s);
/* Appends o (consumed) to l: 0, or CPQD_ENOMEM (o NULL included). */
int fin_json_list_append(fin_json_list *l, struct json_t *o);
/* l's items (consumed: l is freed), or NULL. */
struct json_t *fin_json_list_take(fin_json_list *l);
/* body[0..len) as an object with only the members keys (empty_ok: an
 * empty body is {}): 0 with *root, or CPQD_EINVAL with the reason. */
int fin_json_object_parse(const char *body, size_t len, bool empty_ok, const char *const *keys,
                          struct json_t **root, cpqd_errs *errs);

/* ---- invoices and credit notes (fin_invoice_json.c) ---- */

/* POST /v1/contracts/{id}/invoices ({"items"?, "kind"?, "issued_on"?})
 * and POST /v1/invoices/{id}/cancel ({"items"?, "issued_on"?}). */
typedef struct fin_doc_req {
    struct json_t *root; /* the body: owns the texts */
    const char **items;  /* receivable ids named (at least one); NULL: none named */
    size_t nitems;
    invoice_kind kind; /* issue: INVOICE unless "credit_note" */
    bool kind_given;
    date_days on;   /* "issued_on"; SCHED_NO_DATE: today */
    const char *id; /* the path's contract (issue) or invoice (cancel) */
} fin_doc_req;
/* 0 or CPQD_EINVAL (the reason in errs) or CPQD_ENOMEM; *q always safe
 * to fin_doc_req_fini. An empty body is {}. */
int fin_json_issue_parse(const char *body, size_t len, fin_doc_req *q, cpqd_errs *errs);
int fin_json_cancel_parse(const char *body, size_t len, fin_doc_req *q, cpqd_errs *errs);
void fin_doc_req_fini(fin_doc_req *q);

/* The typed document as the store keeps it. */
char *fin_json_invoice_doc(const invoice *inv);
/* A stored document read back, its texts borrowed from root. */
typedef struct fin_stored_invoice {
    invoice inv;
    struct json_t *root;
} fin_stored_invoice;
/* 0; CPQD_EINTERNAL when text is not a document invoice_check accepts;
 * CPQD_ENOMEM. *d always safe to fin_stored_invoice_fini. */
int fin_json_invoice_read(const char *text, fin_stored_invoice *d);
void fin_stored_invoice_fini(fin_stored_invoice *d);

/* A stored document as GET shows it: the document with its id, status,
 * origin and the cancellations of its lines (items[0..n)). */
typedef struct fin_invoice_view {
    const store_invoice *v;
    const char *status; /* issued, partially_cancelled, cancelled */
    const store_invoice_item *items;
    size_t n;
} fin_invoice_view;
/* Into *out: 0, CPQD_EINTERNAL (the stored document is unreadable) or
 * CPQD_ENOMEM. */
int fin_json_invoice_view(const fin_invoice_view *v, char **out);
int fin_json_list_add_invoice(fin_json_list *l, const fin_invoice_view *v);

/* ---- bank credits, matches, write-offs (fin_bank_json.c) ---- */

/* A money amount of a request as given: checked against its currency's
 * places only when the operation knows the currency (fin_amount_take). */
typedef struct fin_amount_in {
    bool given;       /* the member is there */
    bool valid;       /* a string holding a decimal > 0 */
    money_dec v;      /* when valid */
    const char *text; /* the string (borrowed), NULL: not a string */
} fin_amount_in;

/* The value of a (member k; where prefixes the message) at minor places
 * into *out; CPQD_EINVAL when it is not a positive decimal string, has
 * more than minor places or is beyond CAT_AMOUNT_MAX. */
int fin_amount_take(const fin_amount_in *a, const char *k, const char *where, int minor,
                    money_dec *out, cpqd_errs *errs);

/* POST /v1/bank/credits/{id}/match: {"allocations": [{"receivable_id",
 * "amount"}], "customer_id"?, "note"?}. */
typedef struct fin_alloc_in {
    const char *receivable_id;
    fin_amount_in amount;
} fin_alloc_in;
typedef struct fin_match_req {
    struct json_t *root; /* the body: owns the texts */
    fin_alloc_in *allocs;
    size_t nallocs;
    const char *customer, *note; /* NULL: not given */
    const char *credit_id;       /* the path's */
} fin_match_req;
int fin_json_match_parse(const char *body, size_t len, fin_match_req *q, cpqd_errs *errs);
void fin_match_req_fini(fin_match_req *q);

/* POST /v1/receivables/{id}/write-off: {"amount"?, "reason"}. */
typedef struct fin_wo_req {
    struct json_t *root; /* the body: owns the texts */
    const char *reason;
    fin_amount_in amount;
    const char *rid; /* the path's item */
} fin_wo_req;
int fin_json_wo_parse(const char *body, size_t len, fin_wo_req *q, cpqd_errs *errs);
void fin_wo_req_fini(fin_wo_req *q);

char *fin_json_statement(const store_statement *s);

/* An unmatched credit's suggestions as the store keeps them:
 * [{"receivable_id","score"}] of r's suggestions into items mi. */
char *fin_json_suggestions(const match_result *r, const match_item *mi);
/* The stored suggestions read back (unreadable: none): *out malloc'ed,
 * freed with fin_suggestions_free. 0 or CPQD_ENOMEM. */
typedef struct fin_suggestion {
    char *receivable_id;
    int64_t score;
} fin_suggestion;
int fin_json_suggestions_read(const char *text, fin_suggestion **out, size_t *n);
void fin_suggestions_free(fin_suggestion *v, size_t n);
/* Suggestion s with its item r as it stands (outstanding: decimal text). */
int fin_json_list_add_suggestion(fin_json_list *l, const fin_suggestion *s,
                                 const store_receivable *r, const char *outstanding);

/* A bank credit: cr with what is unapplied of it, its suggestions (NULL:
 * []) and, when matches is not NULL, its matches; consumes both lists. */
char *fin_json_credit(const store_credit *cr, const char *unapplied, fin_json_list *suggestions,
                      fin_json_list *matches);
int fin_json_list_add_credit(fin_json_list *l, const store_credit *cr, const char *unapplied,
                             fin_json_list *suggestions); /* consumes suggestions */

/* A match as the routes show it: its allocations with the contract of
 * each item (NULL: unknown), and its credit (NULL: those fields ""). */
typedef struct fin_alloc_view {
    const store_alloc *al;
    const char *contract_id, *contract_number;
} fin_alloc_view;
typedef struct fin_match_view {
    const store_match *m;
    const fin_alloc_view *al;
    size_t n;
    const store_credit *cr;
} fin_match_view;
char *fin_json_match(const fin_match_view *v);
int fin_json_list_add_match(fin_json_list *l, const fin_match_view *v);

/* A write-off with its item as it stands (r NULL: null). */
char *fin_json_write_off(const store_write_off *w, const store_receivable *r,
                         const sched_standing *sd);

/* ---- vouchers and revenue (fin_ledger_json.c) ---- */

/* The lines of v as the store keeps them:
 * [{"line_no","account","debit","credit","memo"}]. */
char *fin_json_voucher_lines(const voucher *v);
/* One stored voucher as the feed shows it: 0, CPQD_EINTERNAL when its
 * lines, date, currency or total do not read (as fin_json_voucher_read;
 * nothing added) or CPQD_ENOMEM. */
int fin_json_list_add_voucher(fin_json_list *l, const store_voucher *v);
/* A stored voucher back into typed form (for the ERP's CSV), its texts
 * borrowed from sv and root. 0, CPQD_EINTERNAL (unreadable) or
 * CPQD_ENOMEM; *d always safe to fin_stored_voucher_fini. */
typedef struct fin_stored_voucher {
    voucher v;
    struct json_t *root;
} fin_stored_voucher;
int fin_json_voucher_read(const store_voucher *sv, fin_stored_voucher *d);
void fin_stored_voucher_fini(fin_stored_voucher *d);

/* GET /v1/contracts/{id}/revenue: plan p of contract a as of as_of, per
 * obligation (per[0..p->nobs)) and in total (tot). 0, CPQD_ERANGE (an
 * amount beyond the currency's places) or CPQD_ENOMEM. */
int fin_json_revenue(const contract_after *a, const fin_revplan *p, const revrec_position *per,
                     const revrec_position *tot, date_days as_of, char **out);

/* ---- customers (fin_credit_json.c) ---- */

/* What a customer's PUT sets, malloc'ed (fin_customer_req_fini):
 * PUT /v1/customers/{id} {"name"?, "accounts"?} sets name and accounts;
 * PUT /v1/customers/{id}/credit {"limit", "currency"?, "risk_flags"?,
 * "note"?} the rest. */
typedef struct fin_customer_req {
    char *name;       /* NULL: none */
    char *accounts;   /* as the store keeps them: ["<normalised account>", ...] */
    char *limit;      /* the decimal as given; NULL: no limit */
    char *currency;   /* of the limit; NULL without one */
    char *risk_flags; /* as the store keeps them: ["<flag>", ...] */
    char *note;       /* NULL: none */
} fin_customer_req;
int fin_json_ident_parse(const char *body, size_t len, fin_customer_req *q, cpqd_errs *errs);
int fin_json_limit_parse(const char *body, size_t len, fin_customer_req *q, cpqd_errs *errs);
void fin_customer_req_fini(fin_customer_req *q);

/* An amount per currency (open receivables, customer credit). */
typedef struct fin_cur_amount {
    char *currency;
    money_dec sum;            /* at the currency's places */
    char text[MONEY_FMT_MAX]; /* sum as text */
} fin_cur_amount;
/* A customer with its identity, credit, open receivables (open[0..nopen))
 * and customer credit (credit[0..ncredit)). */
typedef struct fin_customer_view {
    const store_customer *cu;
    const fin_cur_amount *open, *credit;
    size_t nopen, ncredit;
} fin_customer_view;
char *fin_json_customer(const fin_customer_view *v);
/* A stored list of strings (a customer's accounts) read back: its
 * strings, borrowed from root (unreadable: none). 0 or CPQD_ENOMEM; *d
 * always safe to fin_stored_strings_fini. */
typedef struct fin_stored_strings {
    const char **v;
    size_t n;
    struct json_t *root;
} fin_stored_strings;
int fin_json_strings_read(const char *text, fin_stored_strings *d);
void fin_stored_strings_fini(fin_stored_strings *d);
/* Whether stored risk flags name any; *text (when they do): the list as
 * compact JSON, malloc'ed, NULL when out of memory. */
bool fin_json_flagged(const char *risk_flags, char **text);

#endif
