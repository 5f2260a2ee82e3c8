/*
 * match_int: what the matching engine (match.c) takes from its text
 * helpers (match_text.c): reference candidates found in remittance text,
 * canonical reference keys, company-name comparison.
 */
#ifndef CPQD_MATCH_INT_H
#define CPQD_MATCH_INT_H

#include "cpqd/match.h"

#include <stdbool.h>
#include <stddef.h>

/* Most reference candidates read from one remittance text. */
#define MT_MAX_CANDS 16
/* Most letter runs before a number tried as its prefix ("FOR INV-SH"). */
#define MT_MAX_PRE 3

/* A number found in remittance text: its digits (a year and a sequence,
 * joined across separators) and the letters written before it, as up to
 * MT_MAX_PRE prefixes (the last letter run, the last two joined, ...). */
typedef struct mt_cand {
    char pre[MT_MAX_PRE][20]; /* upper case, no separators */
    int npre;
    char d[16]; /* the digits as written */
    size_t nd;
} mt_cand;

/* Finds up to cap numbers of 5 to 12 digits in text (which may be any
 * UTF-8; only ASCII letters and digits count). Returns how many. */
size_t mt_scan(const char *text, mt_cand *out, size_t cap);

/* "YYYY|seq" for digits d[0..n) (a year 1900..2199, then 1 to 8 digits,
 * leading zeros dropped) into buf (>= 16 bytes). Returns the length, or
 * -1 when d cannot be a document number. */
int mt_canon(const char *d, size_t n, char *buf);

/* Whether two normalised company names (match_name_norm) name the same
 * company: equal, the same words in another order, one cut short of the
 * other by a bank (a prefix of at least 12 bytes), or one or two typos
 * apart (1 from 6 bytes, 2 from 12). */
bool mt_name_close(const char *a, const char *b);

#endif
