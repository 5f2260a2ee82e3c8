/*
 * bank: bank statements (ISO 20022 camt.053 XML, and the CSV layout of
 * docs/finance.md) read into typed incoming credits.
 *
 * Owns: parsing and validating a statement held in memory into
 * bank_credit values (amount exact, currency, value and booking dates,
 * the bank's transaction id, remittance text, debtor name and account);
 * which entries are credits to import and which are skipped (debits,
 * reversals, entries not booked). Does not own: matching credits to
 * receivables (match), duplicates across imports (the caller passes the
 * ids it has seen to match), storage, HTTP.
 *
 * Pure functions over a buffer: no file or network access (libxml2 runs
 * with no network, no DTD loading and no entity substitution; a document
 * with a DOCTYPE is refused), no globals, no clock. Safe to fuzz.
 *
 * A statement is all or nothing: every problem is reported (with
 * file:line:col for CSV, file:line for XML) and then nothing is returned;
 * a statement that parses has only valid credits.
 *
 * Ownership: a bank_statement owns its credits and every string in them
 * (one arena); bank_statement_fini frees them. Per-request; not shared.
 *
 * Errors: CPQD_EINVAL for a malformed or invalid statement (errs says
 * where and why; errs may be NULL); CPQD_ELIMIT for a statement over the
 * limits below; CPQD_ENOMEM.
 */
#ifndef CPQD_BANK_H
#define CPQD_BANK_H

#include "cpqd/arena.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stddef.h>
#include <stdint.h>

/* An unknown date (the same value as SCHED_NO_DATE). */
#define BANK_NO_DATE ((date_days)INT32_MIN)
/* Limits of one statement. */
#define BANK_MAX_BYTES (64u << 20) /* 64 MiB of input */
#define BANK_MAX_CREDITS 1000000u  /* credits imported */
#define BANK_MAX_ID 140            /* bytes of an id or account (ISO 20022 Max140Text) */
#define BANK_MAX_TEXT 1024         /* bytes of remittance text (joined) or a name */

/* One incoming credit. Strings are UTF-8, trimmed, inner whitespace runs
 * collapsed to one space; "" when absent (never NULL). */
typedef struct bank_credit {
    const char *tx_id;      /* the bank's transaction id: unique per account, the key
                             * that makes a re-import idempotent */
    money_dec amount;       /* > 0, at the written scale (at most the currency's places) */
    char currency[4];       /* ISO 4217 */
    date_days value_date;   /* when the money is available */
    date_days booking_date; /* BANK_NO_DATE when the statement does not say */
    const char *remittance; /* unstructured lines joined by " ", then structured refs */
    const char *debtor_name;
    const char *debtor_account; /* IBAN or other account id, spaces removed, upper case */
    const char *end_to_end_id;  /* the payer's reference; "" when NOTPROVIDED */
    unsigned line;              /* where it starts in the source (1-based) */
} bank_credit;

typedef struct bank_statement {
    const char *id;      /* camt: Stmt/Id; csv: "" */
    const char *account; /* camt: the statement's account (IBAN or other id); csv: "" */
    bank_credit *credits;
    size_t ncredits;
    size_t nskipped; /* entries read but not imported (debits, reversals, not booked) */
    arena *mem;      /* owns everything above */
} bank_statement;

/* Reads an ISO 20022 BankToCustomerStatement (camt.053, versions .001.02
 * to .001.13: the namespace must start with
 * "urn:iso:std:iso:20022:tech:xsd:camt.053.001."). Every booked credit
 * entry (CdtDbtInd CRDT, status BOOK, no RvslInd true) gives one credit
 * per transaction (TxDtls; a batch entry gives several, whose amounts
 * must add up to the entry's). The transaction id is the first of
 * TxDtls/Refs/AcctSvcrRef, Ntry/AcctSvcrRef, Ntry/NtryRef (batches add
 * "/<n>"); an entry without any is an error. file names the input in
 * messages (NULL: "statement"). Returns 0 and fills *out (free with
 * bank_statement_fini); on failure *out is empty. */
int bank_parse_camt053(const char *buf, size_t len, const char *file, bank_statement *out,
                       cpqd_errs *errs);

/* Reads the CSV layout of docs/finance.md: UTF-8 (a BOM is skipped),
 * RFC 4180 quoting, LF or CRLF, a header row naming the columns in any
 * order: bank_tx_id, value_date, amount, currency (required),
 * booking_date, debtor_name, debtor_account, remittance, end_to_end_id
 * (optional); any other column is an error. A row with a negative amount
 * is a debit and skipped; zero is an error. Same contract as above. */
int bank_parse_csv(const char *buf, size_t len, const char *file, bank_statement *out,
                   cpqd_errs *errs);

/* Frees s's memory and empties it; NULL is a no-op. */
void bank_statement_fini(bank_statement *s);

#endif
