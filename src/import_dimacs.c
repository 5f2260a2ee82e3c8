/*
 * import_dimacs: DIMACS CNF (feature models) into the import model.
 *
 * Owns: the DIMACS syntax — "c <id> <name>" comments naming variables
 * (the FeatureIDE convention), the "p cnf V C" header, clauses as
 * integer literals ended by 0, possibly across lines, and the SATLIB
 * "%" end marker. Every variable 1..V becomes an enum attribute with
 * values "0" (deselected) and "1" (selected); the clause l1 | ... | lk
 * becomes `excludes` of the negated literals, "not all of them false".
 * Does not own: ids and output (import.c).
 *
 * Strict where a mistake would change the model: a bad header, a literal
 * beyond V, an empty or unterminated clause, or a clause count that
 * differs from the header are errors with file:line:col.
 */
#include "import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variables one file may declare: each becomes an attribute (about 850
 * bytes while importing, 150 bytes of YAML), declared by the header alone;
 * the largest feature models have tens of thousands. */
#define DIMACS_MAX_VARS 200000L
#define DIMACS_MAX_CLAUSES 100000000L

typedef struct dimacs {
    imp_model *m;
    const char *path;
    long nvars, nclauses;   /* from the header; -1 before it */
    unsigned header_line;
    bool bad_header;        /* a 'p' line was there but malformed */
    struct { long id; char *name; } *pending; /* comments seen before the header */
    size_t npending, cappending;
    int *lits;              /* every clause's literals */
    size_t nlits, caplits;
    size_t *ends;           /* clause k ends at lits[ends[k]] */
    size_t nends, capends;
    size_t open;            /* literals of the clause being read */
    unsigned open_line;
} dimacs;

static bool push(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 1024;
    void *p = realloc(*arr, c * size);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

/* Parses a decimal integer token [s, e); false if it is not one. */
static bool parse_long(const char *s, const char *e, long *out)
{
    bool neg = s < e && *s == '-';
    const char *p = s + neg;
    long v = 0;
    if (p == e)
        return false;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9' || v > (DIMACS_MAX_CLAUSES * 10))
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static const char *skip_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    return s;
}

static const char *token_end(const char *s, const char *e)
{
    while (s < e && *s != ' ' && *s != '\t' && *s != '\r')
        s++;
    return s;
}

/* "c <id> <name>": remembers the name; other comments are ignored. */
static void dm_comment(dimacs *d, const char *s, const char *e)
{
    const char *t = skip_ws(s + 1, e), *te = token_end(t, e);
    long id;
    if (s + 1 < e && s[1] != ' ' && s[1] != '\t')
        return; /* "cfoo": not the "c " convention */
    if (!parse_long(t, te, &id) || id <= 0)
        return;
    const char *n = skip_ws(te, e), *ne = e;
    while (ne > n && (ne[-1] == ' ' || ne[-1] == '\t' || ne[-1] == '\r'))
        ne--;
    if (n == ne)
        return;
    if (!push((void **)&d->pending, &d->cappending, d->npending, sizeof(*d->pending))) {
        imp_nomem(d->m);
        return;
    }
    char *name = strndup(n, (size_t)(ne - n));
    if (!name) {
        imp_nomem(d->m);
        return;
    }
    d->pending[d->npending].id = id;
    d->pending[d->npending++].name = name;
}

static void dm_header(dimacs *d, const char *s, const char *e, unsigned line)
{
    const char *t[4];
    const char *te[4];
    const char *p = s;
    int n = 0;
    while (n < 4 && (p = skip_ws(p, e)) < e) {
        t[n] = p;
        te[n] = p = token_end(p, e);
        n++;
    }
    long v = -1, c = -1;
    bool ok = n == 4 && skip_ws(p, e) == e && te[0] - t[0] == 1 && te[1] - t[1] == 3 &&
              memcmp(t[1], "cnf", 3) == 0 && parse_long(t[2], te[2], &v) &&
              parse_long(t[3], te[3], &c) && v >= 0 && c >= 0 && c <= DIMACS_MAX_CLAUSES;
    if (d->nvars >= 0) {
        imp_err(d->m, d->path, line, 1, "second 'p' header (the first is at line %u)",
                d->header_line);
        return;
    }
    if (ok && v > DIMACS_MAX_VARS) {
        imp_err(d->m, d->path, line, 1,
                "the header declares %ld variables, more than an import takes (%ld)", v,
                DIMACS_MAX_VARS);
        d->bad_header = true;
        return;
    }
    if (!ok) {
        imp_err(d->m, d->path, line, 1,
                "bad DIMACS header '%.*s' (expected 'p cnf VARIABLES CLAUSES')",
                (int)(e - s > 60 ? 60 : e - s), s);
        d->bad_header = true;
        return;
    }
    d->nvars = v;
    d->nclauses = c;
    d->header_line = line;
}

static void dm_literal(dimacs *d, long lit, unsigned line, unsigned col)
{
    if (lit == 0) {
        if (d->open == 0) {
            imp_err(d->m, d->path, line, col, "empty clause (the formula is unsatisfiable)");
            return;
        }
        if (!push((void **)&d->ends, &d->capends, d->nends, sizeof(size_t))) {
            imp_nomem(d->m);
            return;
        }
        d->ends[d->nends++] = d->nlits;
        d->open = 0;
        return;
    }
    if (lit > d->nvars || -lit > d->nvars) {
        imp_err(d->m, d->path, line, col, "literal %ld is out of range (the header declares %ld "
                "variables)", lit, d->nvars);
        return;
    }
    if (!push((void **)&d->lits, &d->caplits, d->nlits, sizeof(int))) {
        imp_nomem(d->m);
        return;
    }
    if (d->open++ == 0)
        d->open_line = line;
    d->lits[d->nlits++] = (int)lit;
}

static void dm_clause_line(dimacs *d, const char *s, const char *e, unsigned line)
{
    if (d->nvars < 0) {
        if (!d->bad_header) /* after a bad header, clauses would only repeat it */
            imp_err(d->m, d->path, line, 1, "clause before the 'p cnf' header");
        return;
    }
    for (const char *p = skip_ws(s, e); p < e && d->m->rc != CPQD_ENOMEM; p = skip_ws(p, e)) {
        const char *te = token_end(p, e);
        long lit;
        if (!parse_long(p, te, &lit)) {
            imp_err(d->m, d->path, line, (unsigned)(p - s) + 1, "'%.*s' is not a literal",
                    (int)(te - p > 40 ? 40 : te - p), p);
            return;
        }
        dm_literal(d, lit, line, (unsigned)(p - s) + 1);
        p = te;
    }
}

/* Reads every line, up to a "%" end marker. */
static void dm_lines(dimacs *d, const char *buf, size_t len)
{
    const char *s = buf, *end = buf + len;
    for (unsigned line = 1; s < end && d->m->rc != CPQD_ENOMEM; line++) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        e = e ? e : end;
        const char *t = skip_ws(s, e);
        if (t < e && *t == 'c')
            dm_comment(d, t, e);
        else if (t < e && *t == 'p')
            dm_header(d, t, e, line);
        else if (t < e && *t == '%')
            break;
        else if (t < e)
            dm_clause_line(d, t, e, line);
        s = e + 1;
    }
}

/* Variables 1..V, named by the comments. */
static void dm_vars(dimacs *d)
{
    char **names = calloc((size_t)d->nvars + 1, sizeof(char *));
    if (!names) {
        imp_nomem(d->m);
        return;
    }
    for (size_t i = 0; i < d->npending; i++)
        if (d->pending[i].id <= d->nvars && !names[d->pending[i].id - 1])
            names[d->pending[i].id - 1] = d->pending[i].name;
    for (long v = 1; v <= d->nvars && d->m->rc != CPQD_ENOMEM; v++) {
        char src[24], dflt[24];
        size_t idx, k;
        snprintf(src, sizeof(src), "%ld", v);
        snprintf(dflt, sizeof(dflt), "x%ld", v);
        const char *name = names[v - 1] ? names[v - 1] : dflt;
        if (imp_var_add(d->m, src, strlen(src), name, name, &idx) < 0)
            break;
        if (imp_value_add(&d->m->vars[idx], "0", 1, &k) < 0 ||
            imp_value_add(&d->m->vars[idx], "1", 1, &k) < 0)
            imp_nomem(d->m);
    }
    free(names);
}

static void dm_clauses(dimacs *d)
{
    size_t start = 0;
    for (size_t k = 0; k < d->nends && d->m->rc != CPQD_ENOMEM; k++) {
        char id[32];
        snprintf(id, sizeof(id), "c%zu", k + 1);
        imp_con *c = imp_con_add(d->m, id, d->ends[k] - start, 1);
        if (!c)
            return;
        c->excludes = true;
        for (size_t i = start; i < d->ends[k]; i++) {
            int lit = d->lits[i];
            c->scope[i - start] = (size_t)(lit > 0 ? lit : -lit) - 1;
            c->cells[i - start] = lit > 0 ? 0 : 1; /* the literal is false */
        }
        start = d->ends[k];
    }
}

int imp_read_dimacs(imp_model *m, const char *path)
{
    dimacs d = {.m = m, .path = path, .nvars = -1, .nclauses = -1};
    size_t len = 0;
    char *buf = imp_read_file(m, path, &len);
    m->format = "DIMACS CNF";
    if (!buf)
        return m->rc;
    dm_lines(&d, buf, len);
    free(buf);
    if (d.nvars < 0 && !d.bad_header)
        imp_err(m, path, 0, 0, "no 'p cnf VARIABLES CLAUSES' header");
    if (d.open)
        imp_err(m, path, d.open_line, 1, "the last clause is not terminated by 0");
    if (d.nvars >= 0 && m->rc == 0 && (long)d.nends != d.nclauses)
        imp_err(m, path, d.header_line, 1, "the header declares %ld clauses but the file has %zu",
                d.nclauses, d.nends);
    if (m->rc == 0)
        dm_vars(&d);
    if (m->rc == 0)
        dm_clauses(&d);
    for (size_t i = 0; i < d.npending; i++)
        free(d.pending[i].name);
    free(d.pending);
    free(d.lits);
    free(d.ends);
    return m->rc;
}
