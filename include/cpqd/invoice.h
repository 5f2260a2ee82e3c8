/*
 * invoice: invoices and credit notes built from the receivable items of
 * one contract (docs/finance.md "Invoices"). Pure computation: no I/O, no
 * store, no JSON, no clock; numbers come from the caller's gap-free
 * counter (per year and issuer), dates are parameters.
 *
 * Owns: turning receivable items (gross amounts, as the schedule has
 * them) into invoice lines with net and tax per tax class, rounding the
 * tax where and how the catalog says (per line or per document, with its
 * rounding mode), the totals per tax class and of the document, credit
 * notes (for credit items, and cancellations that mirror the lines of an
 * issued invoice exactly), the number format and the printable document
 * (src/invoice_doc.c).
 * Does not own: which items are due for invoicing or already invoiced
 * (store, application layer), the counter, vouchers (voucher), events.
 *
 * Key invariant: every line has net + tax = gross; the gross of a line is
 * its item's amount exactly; the document's total is the sum of its
 * items, net and tax the sums of its lines, and each tax class's totals
 * the sums of that class's lines, to the last minor unit of the currency
 * (CNY 2, JPY 0, KWD 3). Credit notes carry negative amounts, each the
 * mirror of the charge it reverses. invoice_check verifies all of it.
 *
 * Ownership: an invoice owns its lines and taxes arrays (invoice_fini
 * frees them); every string in it is borrowed from the request (or from
 * the original invoice for a cancellation) and must outlive it.
 * Thread-safety: values; no globals; safe from any thread.
 *
 * Errors: CPQD_EINVAL for bad input with one message per problem added to
 * errs (may be NULL), naming the item ("item r_12: ..."); CPQD_ERANGE when
 * an amount overflows; CPQD_ENOMEM. On failure *out is zeroed.
 */
#ifndef CPQD_INVOICE_H
#define CPQD_INVOICE_H

#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An unknown date (the same value as SCHED_NO_DATE). */
#define INVOICE_NO_DATE ((date_days)INT32_MIN)
/* Size of a number buffer, NUL included ("INV-SH-2026-000123"). */
#define INVOICE_NUMBER_MAX 48
/* Largest sequence number of one year and issuer. */
#define INVOICE_SEQ_MAX 99999999u

typedef enum invoice_kind {
    INVOICE_KIND_INVOICE,     /* amounts >= 0 */
    INVOICE_KIND_CREDIT_NOTE, /* amounts <= 0 */
} invoice_kind;

typedef enum invoice_reason {
    INVOICE_REASON_SALE,         /* an invoice for receivable items */
    INVOICE_REASON_CREDIT,       /* a credit note for credit items (a seat change's unused rest):
                                  * the customer's balance is credited */
    INVOICE_REASON_CANCELLATION, /* a credit note cancelling lines of an issued invoice: the
                                  * cancelled items are no longer receivable */
} invoice_reason;

/* Seller or buyer as printed on the document. Only id and name are
 * required; the others may be NULL. */
typedef struct invoice_party {
    const char *id;
    const char *name;   /* UTF-8 */
    const char *tax_id; /* 纳税人识别号 */
    const char *address;
    const char *bank;
    const char *bank_account;
} invoice_party;

/* Where and how tax is rounded (the catalog's tax.rounding and
 * tax.rounding_mode). */
typedef struct invoice_tax_rule {
    bool per_document; /* false: each line's tax is rounded; true: once per class */
    money_round mode;  /* rounding mode of the tax */
} invoice_tax_rule;

/* A contract line as the invoice shows it. */
typedef struct invoice_src_line {
    const char *id; /* contract line id ("L1") */
    const char *sku;
    const char *name;     /* UTF-8 */
    const char *category; /* product category (revenue account in vouchers) */
    const char *uom;      /* NULL: none */
    money_dec quantity;
    const char *tax_class; /* the product's class */
    money_dec tax_rate;    /* its rate, 0 <= rate < 1 */
} invoice_src_line;

/* A receivable item to invoice. */
typedef struct invoice_src_item {
    const char *id;        /* receivable id, unique in the request */
    size_t line;           /* index into invoice_request.lines */
    money_dec amount;      /* gross, at most the currency's places; invoice >= 0, credit <= 0 */
    date_days due_on;      /* INVOICE_NO_DATE is refused: pending items are not invoiced */
    const char *desc;      /* "30% on signing"; NULL: none */
    const char *tax_class; /* NULL: the line's class and rate; else this one (a bundled
                            * service taxed at its own class) */
    money_dec tax_rate;    /* with tax_class */
} invoice_src_item;

typedef struct invoice_request {
    invoice_kind kind;
    const char *number;   /* from invoice_number_format and the caller's counter */
    const char *currency; /* ISO 4217 */
    date_days issued_on;
    const invoice_party *issuer;
    const invoice_party *customer;
    const char *contract_id;     /* NULL: none */
    const char *contract_number; /* NULL: none */
    invoice_tax_rule tax_rule;
    const invoice_src_line *lines;
    size_t nlines;
    const invoice_src_item *items; /* in the order the document lists them */
    size_t nitems;
} invoice_request;

/* One line of a document: one receivable item. */
typedef struct invoice_line {
    const char *item_id; /* the receivable (borrowed) */
    const char *line_id; /* the contract line */
    const char *sku, *name, *category, *uom, *desc, *tax_class;
    money_dec quantity;        /* the contract line's */
    money_dec rate;            /* tax rate */
    money_dec net, tax, gross; /* net + tax = gross; all at the currency's places */
    date_days due_on;
} invoice_line;

/* Totals of one tax class (and rate) over the document's lines. */
typedef struct invoice_tax_total {
    const char *tax_class;
    money_dec rate;
    money_dec net, tax, gross;
} invoice_tax_total;

typedef struct invoice {
    invoice_kind kind;
    invoice_reason reason;
    char number[INVOICE_NUMBER_MAX];
    char original[INVOICE_NUMBER_MAX]; /* cancellation: the invoice it cancels; else "" */
    char currency[4];
    int minor; /* the currency's places */
    date_days issued_on;
    date_days due_on;               /* earliest due date of its items; a credit note: issued_on */
    invoice_party issuer, customer; /* strings borrowed */
    const char *contract_id, *contract_number;
    invoice_tax_rule tax_rule;
    invoice_line *lines;
    size_t nlines;
    invoice_tax_total *taxes; /* in order of first appearance */
    size_t ntaxes;
    money_dec net, tax, total; /* total = sum of the items' amounts */
} invoice;

/* Builds an invoice (kind INVOICE, reason SALE: every item >= 0, total >
 * 0) or a credit note for credit items (kind CREDIT_NOTE, reason CREDIT:
 * every item <= 0, total < 0) from r. Each line's tax is taken out of its
 * gross amount: tax = gross x rate / (1 + rate), rounded with r->tax.mode
 * to the currency's places (per line), or once per tax class on the sum of
 * the class's lines and allocated back to them by largest remainder (per
 * document); net = gross - tax. Negative amounts are computed as their
 * absolute value and negated. All problems are reported before returning.
 * The caller frees *out with invoice_fini. */
int invoice_build(const invoice_request *r, invoice *out, cpqd_errs *errs);

/* A credit note (reason CANCELLATION) cancelling the lines of orig whose
 * item ids are in item_ids[0..n) (n == 0: every line): each line is the
 * exact negation of the original line (net, tax and gross), so a full
 * cancellation nets the invoice to zero in every tax class. orig must be
 * an invoice (not a credit note); an id not on it, or named twice, is
 * CPQD_EINVAL. Strings stay borrowed from orig; number is copied. */
int invoice_cancel(const invoice *orig, const char *const *item_ids, size_t n, const char *number,
                   date_days issued_on, invoice *out, cpqd_errs *errs);

/* Frees inv's arrays and zeroes it; NULL is a no-op. */
void invoice_fini(invoice *inv);

/* Checks the key invariant above (for tests and after loading a stored
 * invoice): 0, or CPQD_EINTERNAL with the first broken rule in errs. */
int invoice_check(const invoice *inv, cpqd_errs *errs);

/* Writes "<prefix>-<year>-<seq, 6 digits at least>" ("INV-SH-2026-000042")
 * into buf[0..cap). Returns its length; CPQD_EINVAL for a NULL or empty
 * prefix, a year outside 1900..9999 or seq outside 1..INVOICE_SEQ_MAX;
 * CPQD_ERANGE if cap is too small (INVOICE_NUMBER_MAX always suffices
 * for a prefix of at most 16 characters). */
int invoice_number_format(const char *prefix, int year, uint32_t seq, char *buf, size_t cap);

/* Stable names: "invoice", "credit_note"; "sale", "credit", "cancellation".
 * NULL outside the enum. */
const char *invoice_kind_name(invoice_kind k);
const char *invoice_reason_name(invoice_reason r);

/* ---- the printable document (src/invoice_doc.c) ---- */

typedef enum invoice_lang {
    INVOICE_LANG_BILINGUAL, /* Chinese and English labels side by side */
    INVOICE_LANG_ZH,
    INVOICE_LANG_EN,
} invoice_lang;

/* Renders inv as a self-contained, printable HTML5 page (UTF-8, inline
 * CSS, no scripts, no external resources; every string from the input
 * escaped) with the labels of lang: seller and buyer, number, dates,
 * contract, one row per line (description, quantity, net, rate, tax,
 * total), the totals per tax class and of the document, and for CNY the
 * amount in Chinese capital numerals (价税合计大写). *out is malloc'ed
 * (NUL-terminated, *len without the NUL); the caller frees it. Returns 0,
 * CPQD_EINVAL for an unknown lang, CPQD_ENOMEM. */
int invoice_render_html(const invoice *inv, invoice_lang lang, char **out, size_t *len);

/* Writes a CNY amount (at most 2 places, |v| < 10^16) in Chinese capital
 * numerals as cheques and invoices write it (1,680.32 -> 壹仟陆佰捌拾元叁角
 * 贰分; 100.00 -> 壹佰元整; 0.05 -> 伍分; negative amounts start with 负)
 * into buf[0..cap). Returns the length in bytes; CPQD_EINVAL for more
 * than 2 places or an invalid v, CPQD_ERANGE for a larger amount or a
 * too small buf (256 bytes always suffice). */
int invoice_amount_zh(money_dec v, char *buf, size_t cap);

#endif
