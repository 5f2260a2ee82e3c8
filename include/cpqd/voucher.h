/*
 * voucher: double-entry journal entries (vouchers, 记账凭证) for the ERP
 * (docs/finance.md "Vouchers").
 *
 * Owns: the entry of each business event with the accounts of the
 * catalog's finance section: an invoice (receivable against contract
 * liability per revenue category and tax payable per tax class), a credit
 * note (its mirror, against customer credit for a credit or receivable
 * for a cancellation), a payment received (bank against customer credit),
 * a match (customer credit against receivable) and its reversal, a
 * write-off (write-off expense against receivable), revenue recognition
 * (contract liability against revenue per category); the balance check;
 * the CSV layout an ERP imports.
 * Does not own: numbering and the export feed (store, application
 * layer), the amounts (invoice, match, revrec compute them).
 *
 * Key invariant: every voucher balances exactly: the sum of its debits
 * equals the sum of its credits, at the currency's minor places; every
 * line has one side non-zero and positive; voucher_check verifies it.
 *
 * Ownership: a voucher owns its lines array (voucher_fini frees it);
 * strings (accounts, source, customer, contract, memo) are borrowed from
 * the catalog snapshot and the inputs, which must outlive it.
 * Thread-safety: values; no globals.
 * Errors: CPQD_EINVAL (an amount not positive or not at the currency's
 * places, an invoice that does not add up, an account missing from the
 * mapping), each reported to errs (may be NULL); CPQD_ERANGE on overflow;
 * CPQD_ENOMEM. On failure *out is zeroed.
 */
#ifndef CPQD_VOUCHER_H
#define CPQD_VOUCHER_H

#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/invoice.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum voucher_kind {
    VOUCHER_INVOICE,     /* Dr receivable / Cr contract liability (net), tax payable (tax) */
    VOUCHER_CREDIT_NOTE, /* Dr contract liability, tax payable / Cr customer credit or receivable */
    VOUCHER_PAYMENT,     /* Dr bank / Cr customer credit: money received */
    VOUCHER_MATCH,       /* Dr customer credit / Cr receivable: money applied to items */
    VOUCHER_UNMATCH,     /* the reverse of a match */
    VOUCHER_WRITE_OFF,   /* Dr write-off / Cr receivable: an amount given up */
    VOUCHER_REVENUE,     /* Dr contract liability / Cr revenue: revenue recognised */
} voucher_kind;

/* One line: exactly one of debit and credit is positive, the other 0. */
typedef struct voucher_line {
    const char *account;
    money_dec debit, credit; /* at the currency's places */
    const char *memo;        /* category or tax class it comes from, NULL: none */
} voucher_line;

typedef struct voucher {
    voucher_kind kind;
    date_days date;
    char currency[4];
    int minor;
    const char *source;   /* the invoice or credit-note number, bank transaction id, ... */
    const char *customer; /* NULL: none */
    const char *contract; /* contract number, NULL: none */
    voucher_line *lines;  /* debits first, then credits, each in order of first use */
    size_t nlines;
    money_dec total; /* the sum of the debits = the sum of the credits */
} voucher;

/* Who and what a voucher is about (all borrowed; customer and contract
 * may be NULL). */
typedef struct voucher_ref {
    const char *source;
    const char *customer;
    const char *contract;
    date_days date;
} voucher_ref;

/* The voucher of an invoice or credit note: contract liability per
 * revenue account (the lines' categories) and tax payable per tax
 * account (the lines' classes), against receivable (invoices and
 * cancellations) or customer credit (credits). The date, source,
 * customer and contract are the invoice's. */
int voucher_from_invoice(const cat_finance *fin, const invoice *inv, voucher *out, cpqd_errs *errs);

/* Money received (VOUCHER_PAYMENT), applied to items (VOUCHER_MATCH), a
 * match undone (VOUCHER_UNMATCH) or written off (VOUCHER_WRITE_OFF):
 * two lines of amount (> 0, at most the currency's places). */
int voucher_simple(const cat_finance *fin, voucher_kind kind, const voucher_ref *ref,
                   const char *currency, money_dec amount, voucher *out, cpqd_errs *errs);

/* Revenue recognised in one period: amounts[i] (any sign, at most the
 * currency's places; a negative amount reverses revenue) for category
 * categories[i]. Debit contract liability, credit the revenue account of
 * each category (sides swap for a net negative account), lines with the
 * same account merged, zero lines dropped. CPQD_EINVAL if everything
 * nets to zero (no voucher to write). */
int voucher_revenue(const cat_finance *fin, const voucher_ref *ref, const char *currency,
                    const char *const *categories, const money_dec *amounts, size_t n, voucher *out,
                    cpqd_errs *errs);

/* Frees v's lines and zeroes it; NULL is a no-op. */
void voucher_fini(voucher *v);

/* 0 if v balances exactly and every line is well formed, else
 * CPQD_EINTERNAL with the reason in errs. */
int voucher_check(const voucher *v, cpqd_errs *errs);

/* "invoice", "credit_note", "payment", "match", "unmatch", "write_off",
 * "revenue"; NULL outside the enum. */
const char *voucher_kind_name(voucher_kind k);

/* The CSV layout (docs/finance.md "Voucher CSV"): the header row, then
 * one row per line with voucher_csv_rows. Fields: voucher_no, date, kind,
 * source, line_no, account, debit, credit, currency, customer, contract,
 * memo; amounts at the currency's places, empty for the zero side;
 * RFC 4180 quoting. */
#define VOUCHER_CSV_HEADER                                                                         \
    "voucher_no,date,kind,source,line_no,account,debit,credit,currency,customer,contract,memo\r\n"

/* Appends v's rows (number names the voucher: the feed's id) to the
 * malloc'ed buffer *buf of *len bytes (NULL and 0 to start). Returns 0 or
 * CPQD_ENOMEM (the buffer is then unchanged). */
int voucher_csv_rows(const voucher *v, const char *number, char **buf, size_t *len);

#endif
