/*
 * import: converts public product-configuration benchmarks into one cpqd
 * catalog (docs/catalog.md): one catalog, one configurable product that
 * carries every benchmark variable as an attribute and every table or
 * clause as a constraint.
 *
 * Formats:
 *   xcsp    XCSP 2.1 (extensional constraints: relations with semantics
 *           supports or conflicts over integer domains). Domains of
 *           non-negative integers become enum attributes whose value ids
 *           are the integers' text; a domain holding a negative value
 *           (the Renault joker -1) becomes an integer attribute with exact
 *           min/max/step, since "-1" cannot be an enum value id; the
 *           joker stays an ordinary value "-1".
 *   clib    CLib tables as NNN.pm files (lines "VarA = x  and VarB = y",
 *           "or(" / "or)" markers) plus domains.txt ("VarN : a, b, c"),
 *           given as the files or as the directory holding them.
 *   dimacs  DIMACS CNF: each variable an enum attribute with values "0"
 *           and "1" named after its "c <id> <name>" comment; each clause
 *           l1 | ... | lk an `excludes` of the negated literals.
 * Does not own: loading or checking catalogs (cat), solving (solver).
 *
 * Ids: attribute ids are the source names when they are catalog ids,
 * otherwise the name with other characters replaced by '_' (prefixed
 * with "x" when it does not start with a letter or digit, cut to 64
 * bytes), made unique with a "_2", "_3", ... suffix; names keep the
 * source text. Every error about an input names its file:line.
 *
 * Ownership: inputs are read, never kept; the caller owns errs.
 * Thread-safety: no shared state of its own, but libxml2 initialises its
 * globals on first use: run the first xcsp import alone (a CLI concern).
 */
#ifndef CPQD_IMPORT_H
#define CPQD_IMPORT_H

#include "cpqd/err.h"

#include <stddef.h>

typedef enum import_format {
    IMPORT_XCSP,
    IMPORT_CLIB,
    IMPORT_DIMACS,
} import_format;

/* Parses "xcsp", "clib" or "dimacs". Returns 0 or CPQD_EINVAL. */
int import_format_parse(const char *s, import_format *out);

typedef struct import_opts {
    const char *id;  /* catalog id (also the product SKU, upper-cased); NULL: from the input name */
    const char *out; /* output file; NULL: stdout */
} import_opts;

/* What an import produced, for callers that report it. */
typedef struct import_stats {
    size_t attributes;  /* attributes of the product */
    size_t constraints; /* tables or clauses */
    size_t rows;        /* table rows, or clause literals for dimacs */
} import_stats;

/* Converts inputs[0..ninputs) in format f into one catalog written to
 * opts->out (atomically: a temporary file renamed into place, so a failed
 * import leaves no output file) or to stdout. Every error found goes to
 * errs with file:line. Returns 0, CPQD_EINVAL (bad input, nothing
 * written), CPQD_EIO or CPQD_ENOMEM. stats may be NULL. */
int import_run(import_format f, const char *const *inputs, size_t ninputs,
               const import_opts *opts, cpqd_errs *errs, import_stats *stats);

/* `cpqd import FORMAT INPUT... [-o OUT.yaml] [--id ID]`: argv[0] is
 * "import". Prints errors as file:line: message and a one-line summary on
 * stderr. Returns the process exit code: 0, 1 (the import failed), 2
 * (usage error). */
int import_cli(int argc, char **argv);

#endif
