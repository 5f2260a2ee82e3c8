/*
 * import internals shared by import.c (model, ids, YAML writer, CLI) and
 * the format readers import_xcsp.c, import_clib.c, import_dimacs.c.
 *
 * A reader fills an imp_model: variables with their domains (value texts
 * in source order) and constraints over variable indexes whose cells are
 * value indexes. The model owns every string and array in it.
 */
#ifndef CPQD_IMPORT_INT_H
#define CPQD_IMPORT_INT_H

#include "cpqd/err.h"
#include "cpqd/import.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMP_MAX_ERRORS 100            /* errors reported per import; then one "too many" */
#define IMP_MAX_FILE ((size_t)1 << 30) /* refuse inputs beyond 1 GiB */
#define IMP_MAX_DOMAIN 100000         /* values in one domain */
#define IMP_ID_MAX 64                 /* docs/catalog.md: ids and SKUs */

/* String -> index hash map (open addressing). Keys are not copied: they
 * must outlive the map. */
typedef struct imp_map_ent {
    const char *key; /* NULL: empty slot */
    size_t len;
    size_t val;
} imp_map_ent;

typedef struct imp_map {
    imp_map_ent *e;
    size_t cap, n; /* cap is 0 or a power of two */
} imp_map;

/* Inserts key -> val. Returns 0, 1 when the key is already there (its
 * value is left unchanged), or CPQD_ENOMEM. */
int imp_map_put(imp_map *m, const char *key, size_t len, size_t val);
/* True and *val when key is present. */
bool imp_map_get(const imp_map *m, const char *key, size_t len, size_t *val);
void imp_map_fini(imp_map *m);

typedef struct imp_var {
    char *src;       /* name in the source (lookups) */
    char *id;        /* attribute id */
    char *name;      /* display name */
    char **values;   /* value texts, source order */
    size_t nvalues, capvalues;
    imp_map vmap;    /* value text -> index */
    bool integer;    /* integer attribute with min/max/step (domain has a negative value) */
    long long min, max, step;
    bool holes;      /* integer: min..max by step holds values outside the domain */
} imp_var;

typedef struct imp_con {
    char *id;
    bool excludes;   /* "not all of" scope[i] = cells[i]; otherwise a table */
    bool forbidden;  /* table rows are forbidden */
    size_t arity;    /* columns (table) or literals (excludes) */
    size_t nrows;    /* table rows; 1 for excludes */
    size_t *scope;   /* variable indexes */
    uint32_t *cells; /* nrows * arity value indexes, row-major */
} imp_con;

typedef struct imp_model {
    const char *format;  /* "XCSP 2.1", ... */
    char *name;          /* display name from the source, may be NULL */
    imp_var *vars;
    size_t nvars, capvars;
    imp_con *cons;
    size_t ncons, capcons;
    imp_map var_src;     /* source name -> variable index */
    imp_map var_ids;     /* attribute ids taken */
    imp_map con_ids;     /* constraint ids taken */
    cpqd_errs *errs;
    size_t nerrs;        /* errors reported by this import */
    int rc;              /* first failure: CPQD_EINVAL, CPQD_ENOMEM, CPQD_EIO */
} imp_model;

/* Reports an input error at file:line:col (line 0: the whole file) and
 * marks the model failed. After IMP_MAX_ERRORS, reports once that there
 * are more and drops the rest. */
void imp_err(imp_model *m, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Records an allocation failure. Returns CPQD_ENOMEM. */
int imp_nomem(imp_model *m);

/* Adds a variable known in the source as src, with a new unique
 * attribute id made from idbase (NULL: src) and display name name (NULL:
 * idbase, else src). Returns 0 and *idx, 1 when src is already a variable
 * (*idx is that one), or CPQD_ENOMEM. */
int imp_var_add(imp_model *m, const char *src, size_t len, const char *idbase, const char *name,
                size_t *idx);
/* Adds value text to variable v. Returns 0 and *idx, 1 when it is already
 * in the domain, or CPQD_ENOMEM. */
int imp_value_add(imp_var *v, const char *text, size_t len, size_t *idx);
/* Value index of text in v, or SIZE_MAX. */
size_t imp_value_find(const imp_var *v, const char *text, size_t len);
/* Decides the attribute type from the value texts (all integers): enum
 * when no value is negative, else integer with exact min/max/step. */
void imp_var_numeric(imp_var *v, const long long *ints);

/* Appends a constraint with an id derived from src; arity and nrows size
 * its arrays (zeroed). Returns it, or NULL on ENOMEM. */
imp_con *imp_con_add(imp_model *m, const char *src, size_t arity, size_t nrows);

/* "name.ext" of path without directories and extension, malloc'ed. */
char *imp_basename(const char *path, bool strip_ext);

/* Reads a whole file (NUL-terminated); NULL after reporting. */
char *imp_read_file(imp_model *m, const char *path, size_t *len);

/* The readers. Each returns m->rc after filling the model. */
int imp_read_xcsp(imp_model *m, const char *path);
int imp_read_clib(imp_model *m, const char *const *inputs, size_t n);
int imp_read_dimacs(imp_model *m, const char *path);

#endif
