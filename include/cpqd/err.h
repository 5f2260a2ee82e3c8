/*
 * err: error codes and the error list every loader and handler fills.
 *
 * Owns: the CPQD_E* codes and cpqd_errs, a growable list of errors about
 * user input (catalog files, requests), each with an optional file:line:col.
 * Does not own: mapping codes to HTTP statuses (http does that, in one
 * table) or printing (callers format with errs_format).
 *
 * Ownership: an errs list owns copies of every string added to it.
 * Thread-safety: per-request / per-load; never shared.
 */
#ifndef CPQD_ERR_H
#define CPQD_ERR_H

#include <stddef.h>

enum {
    CPQD_OK = 0,
    CPQD_ENOMEM = -1,    /* allocation failed */
    CPQD_EINVAL = -2,    /* malformed or invalid input */
    CPQD_ERANGE = -3,    /* numeric overflow or value out of range */
    CPQD_ENOTFOUND = -4, /* referenced thing does not exist */
    CPQD_EIO = -5,       /* file or socket I/O failed */
    CPQD_EDIVZERO = -6,  /* division by zero */
    CPQD_ECONFLICT = -7, /* state conflict (duplicate, illegal transition) */
    CPQD_ELIMIT = -8,    /* a configured limit was exceeded */
    CPQD_EINTERNAL = -9, /* a bug: an invariant did not hold */
    CPQD_ERULE = -10,    /* a catalog's Lua rule failed or hit a sandbox limit */
    CPQD_EFORBIDDEN = -11, /* the caller may not do this (authority, role) */
    CPQD_EINCOMPLETE = -12, /* a configurable product's line does not name a complete
                               configuration (a required choice is missing) */
    CPQD_EREFUSED = -13,    /* a well-formed request the business rules refuse (a
                               quote's partner cannot change, ...) */
    CPQD_ETOOBIG = -14,     /* a request larger than the caller may send (lines) */
    CPQD_ERATE = -15,       /* the caller's rate or volume limit is used up for now */
    CPQD_ESTALE = -16,      /* the caller's If-Match names a state the resource has left */
};

/* Short stable name of a code ("invalid", "not_found", ...). */
const char *err_code_name(int code);

/* A named value that makes an error machine-readable beyond its message
 * ({"group": "spindle"}): http renders each as a member of the error's
 * detail object. */
typedef struct cpqd_err_field {
    char *key, *value;
} cpqd_err_field;

typedef struct cpqd_err {
    int code;        /* CPQD_E* */
    char *file;      /* NULL when not about a file */
    unsigned line;   /* 1-based; 0 when unknown */
    unsigned col;    /* 1-based; 0 when unknown */
    char *msg;       /* human-readable, no trailing newline */
    size_t seq;      /* insertion order, keeps errs_sort stable */
    cpqd_err_field *fields; /* errs_field, in the order added; NULL if none */
    size_t nfields;
} cpqd_err;

typedef struct cpqd_errs cpqd_errs; /* opaque */

/* New empty list, or NULL on allocation failure. */
cpqd_errs *errs_new(void);
/* Frees the list and its strings; NULL is a no-op. */
void errs_free(cpqd_errs *e);
/* Appends an error; file may be NULL. Returns 0 or CPQD_ENOMEM (the list
 * then remembers that it is incomplete). */
int errs_add(cpqd_errs *e, int code, const char *file, unsigned line, unsigned col,
             const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Attaches key = value (copied) to the error added last. Returns 0,
 * CPQD_EINVAL if the list is empty, or CPQD_ENOMEM. */
int errs_field(cpqd_errs *e, const char *key, const char *value);
/* Appends a copy of every error of src (fields included) to dst, in
 * order. Returns 0 or CPQD_ENOMEM. */
int errs_append(cpqd_errs *dst, const cpqd_errs *src);
size_t errs_count(const cpqd_errs *e);
const cpqd_err *errs_get(const cpqd_errs *e, size_t i);
/* Sorts by file, line, col (stable for equal positions). */
void errs_sort(cpqd_errs *e);
/* Formats error i as "file:line:col: message" (or just "message").
 * Returns a malloc'ed string or NULL. */
char *errs_format(const cpqd_errs *e, size_t i);

#endif
