/*
 * bank_int: what the two statement readers (bank.c: CSV, bank_camt.c:
 * camt.053) share: building a statement, normalising text, checking
 * amounts and ids, reporting errors with a cap.
 */
#ifndef CPQD_BANK_INT_H
#define CPQD_BANK_INT_H

#include "cpqd/bank.h"

#include <stdbool.h>

/* Errors beyond this many are summarised in one last message. */
#define BANK_MAX_ERRORS 100

/* A statement being read. */
typedef struct bank_build {
    const char *file; /* for messages */
    cpqd_errs *errs;  /* may be NULL */
    int rc;           /* first failure (CPQD_EINVAL, CPQD_ELIMIT, CPQD_ENOMEM) */
    size_t nerrs;     /* errors reported */
    size_t nbad;      /* problems found (also those past the cap) */
    arena *mem;
    bank_credit *credits; /* malloc'ed while building */
    size_t n, cap;
    size_t nskipped;
} bank_build;

int bank_build_init(bank_build *b, const char *file, cpqd_errs *errs);
/* Moves what was read into *out (on success) and frees the rest. */
int bank_build_finish(bank_build *b, const char *id, const char *account, bank_statement *out);

/* Reports an error at line:col (0 when unknown) and records CPQD_EINVAL. */
void bank_err(bank_build *b, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a copy of c (strings already in b->mem). CPQD_ELIMIT past
 * BANK_MAX_CREDITS. */
int bank_add(bank_build *b, const bank_credit *c);

/* s[0..n) as text: whitespace runs (and control characters) become one
 * space, trimmed, cut at max bytes on a character boundary; copied into
 * b->mem. Invalid UTF-8 is an error (returns -1 after reporting at line). */
const char *bank_text(bank_build *b, const char *s, size_t n, size_t max, unsigned line,
                      unsigned col, const char *what);
/* An id or account: text as above but longer than BANK_MAX_ID is an
 * error; account ids (upper) lose their spaces and are upper-cased. */
const char *bank_id(bank_build *b, const char *s, size_t n, bool upper, unsigned line, unsigned col,
                    const char *what);
/* A positive-or-negative amount in currency cur: checks the currency and
 * its places. Returns 0 or -1 after reporting. */
int bank_amount(bank_build *b, const char *s, size_t n, const char *cur, unsigned line,
                unsigned col, money_dec *out);
/* A date "YYYY-MM-DD" (a camt ISODateTime is cut at its 'T'). */
int bank_date(bank_build *b, const char *s, size_t n, unsigned line, unsigned col, const char *what,
              date_days *out);

#endif
