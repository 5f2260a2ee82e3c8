/*
 * import_clib: CLib table constraints (as transcribed by ChocoKB: one
 * NNN.pm file per table) and their domains file into the import model.
 *
 * Owns: the domains syntax ("VarN : a, b, c", one variable a line) and
 * the table syntax (each line "VarA = x  and VarB = y ..." one allowed
 * tuple; "or(" / "or)" lines only group the tuples and carry no meaning).
 * Every table has one scope, fixed by its first tuple; later tuples may
 * list the same variables in another order. Inputs are files, or a
 * directory holding domains.txt and *.pm (read in name order).
 * Does not own: ids and output (import.c).
 */
#include "import_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CLIB_MAX_ARITY 64

typedef struct clib_lit {
    const char *name, *value;
    size_t nlen, vlen;
    unsigned col;
} clib_lit;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ws(**s))
        (*s)++;
    while (*e > *s && is_ws((*e)[-1]))
        (*e)--;
}

static bool id_text(const char *s, size_t n)
{
    if (n == 0 || n > IMP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* ---- domains.txt ---- */

static void dom_values(imp_model *m, const char *path, unsigned line, const char *line_start,
                       imp_var *v, const char *s, const char *e)
{
    while (s <= e) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *vs = s, *ve = c ? c : e;
        size_t idx;
        trim(&vs, &ve);
        unsigned col = (unsigned)(vs - line_start) + 1;
        if (!id_text(vs, (size_t)(ve - vs)))
            imp_err(m, path, line, col, "value '%.*s' of %s is not a catalog id (letters, digits, "
                    "'_', '.', '-'; at most 64)", (int)(ve - vs > 64 ? 64 : ve - vs), vs, v->src);
        else if (imp_value_add(v, vs, (size_t)(ve - vs), &idx) == 1)
            imp_err(m, path, line, col, "value '%.*s' listed twice for %s", (int)(ve - vs), vs,
                    v->src);
        else if (m->rc == CPQD_ENOMEM)
            return;
        if (!c)
            break;
        s = c + 1;
    }
}

static void dom_line(imp_model *m, const char *path, unsigned line, const char *s, const char *e)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    const char *ns = s, *ne = colon ? colon : e;
    trim(&ns, &ne);
    if (!colon || ns == ne) {
        imp_err(m, path, line, 1, "expected 'VARIABLE : value, value, ...'");
        return;
    }
    size_t idx;
    int r = imp_var_add(m, ns, (size_t)(ne - ns), NULL, NULL, &idx);
    if (r == 1)
        imp_err(m, path, line, 1, "variable '%.*s' has a second domain", (int)(ne - ns), ns);
    if (r != 0)
        return;
    const char *vs = colon + 1, *ve = e;
    trim(&vs, &ve);
    if (vs == ve) {
        imp_err(m, path, line, (unsigned)(colon - s) + 2, "variable '%s' has an empty domain",
                m->vars[idx].src);
        return;
    }
    dom_values(m, path, line, s, &m->vars[idx], vs, ve);
}

static void read_domains(imp_model *m, const char *path)
{
    size_t len;
    char *buf = imp_read_file(m, path, &len);
    if (!buf)
        return;
    const char *s = buf, *end = buf + len;
    for (unsigned line = 1; s < end && m->rc != CPQD_ENOMEM; line++) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        e = e ? e : end;
        const char *ts = s, *te = e;
        trim(&ts, &te);
        if (ts < te && *ts != '#')
            dom_line(m, path, line, s, e);
        s = e + 1;
    }
    free(buf);
    if (m->nvars == 0 && m->rc == 0)
        imp_err(m, path, 0, 0, "no variable domains");
}

/* ---- NNN.pm tables ---- */

/* Splits one tuple line into literals; returns how many, or -1 after
 * reporting. */
static int tuple_lits(imp_model *m, const char *path, unsigned line, const char *s, const char *e,
                      clib_lit *out)
{
    const char *p = s;
    int n = 0;
    for (;;) {
        while (p < e && is_ws(*p))
            p++;
        const char *ns = p;
        while (p < e && !is_ws(*p) && *p != '=')
            p++;
        const char *ne = p;
        while (p < e && is_ws(*p))
            p++;
        if (ns == ne || p >= e || *p != '=' || n == CLIB_MAX_ARITY) {
            imp_err(m, path, line, (unsigned)(ns - s) + 1,
                    n == CLIB_MAX_ARITY ? "more than %d variables in one tuple"
                                        : "expected 'VARIABLE = value' (tuples are 'A = x  and "
                                          "B = y ...'; at most %d variables)",
                    CLIB_MAX_ARITY);
            return -1;
        }
        p++;
        while (p < e && is_ws(*p))
            p++;
        const char *vs = p;
        while (p < e && !is_ws(*p))
            p++;
        out[n++] = (clib_lit){ns, vs, (size_t)(ne - ns), (size_t)(p - vs), (unsigned)(ns - s) + 1};
        while (p < e && is_ws(*p))
            p++;
        if (p == e && vs < p)
            return n;
        if (vs == p || (size_t)(e - p) < 4 || memcmp(p, "and", 3) != 0 || !is_ws(p[3])) {
            imp_err(m, path, line, (unsigned)(p - s) + 1, "expected 'and' between literals");
            return -1;
        }
        p += 3;
    }
}

typedef struct table {
    size_t scope[CLIB_MAX_ARITY];
    size_t arity;
    unsigned first_line;
    uint32_t *cells;
    size_t ncells, capcells;
} table;

/* Column of variable var in the table's scope, or SIZE_MAX. */
static size_t column(const table *t, size_t var)
{
    for (size_t k = 0; k < t->arity; k++)
        if (t->scope[k] == var)
            return k;
    return SIZE_MAX;
}

static void tuple_row(imp_model *m, const char *path, unsigned line, const clib_lit *lit, int n,
                      table *t)
{
    uint32_t row[CLIB_MAX_ARITY];
    bool seen[CLIB_MAX_ARITY] = {false};
    size_t var, val, k;
    for (int i = 0; i < n; i++) {
        if (!imp_map_get(&m->var_src, lit[i].name, lit[i].nlen, &var)) {
            imp_err(m, path, line, lit[i].col, "unknown variable '%.*s' (not in the domains file)",
                    (int)lit[i].nlen, lit[i].name);
            return;
        }
        if (t->arity < CLIB_MAX_ARITY && t->first_line == line)
            t->scope[t->arity++] = var;
        if ((k = column(t, var)) == SIZE_MAX || seen[k]) {
            imp_err(m, path, line, lit[i].col, "variable '%s' %s", m->vars[var].src,
                    k == SIZE_MAX ? "is not in this table's scope (fixed by its first tuple)"
                                  : "appears twice in one tuple");
            return;
        }
        if ((val = imp_value_find(&m->vars[var], lit[i].value, lit[i].vlen)) == SIZE_MAX) {
            imp_err(m, path, line, lit[i].col, "value '%.*s' is not in the domain of %s",
                    (int)(lit[i].vlen > 64 ? 64 : lit[i].vlen), lit[i].value, m->vars[var].src);
            return;
        }
        seen[k] = true;
        row[k] = (uint32_t)val;
    }
    if ((size_t)n != t->arity) {
        imp_err(m, path, line, 1, "tuple has %d variables, the table's scope %zu", n, t->arity);
        return;
    }
    if (t->ncells + t->arity > t->capcells) {
        size_t cap = t->capcells ? t->capcells * 2 : 1024;
        uint32_t *c = realloc(t->cells, cap * sizeof(*c));
        if (!c) {
            imp_nomem(m);
            return;
        }
        t->cells = c;
        t->capcells = cap;
    }
    memcpy(t->cells + t->ncells, row, t->arity * sizeof(*row));
    t->ncells += t->arity;
}

static void table_add(imp_model *m, const char *path, const table *t)
{
    char *stem = imp_basename(path, true);
    if (!stem) {
        imp_nomem(m);
        return;
    }
    imp_con *c = imp_con_add(m, stem, t->arity, t->ncells / t->arity);
    free(stem);
    if (!c)
        return;
    memcpy(c->scope, t->scope, t->arity * sizeof(size_t));
    memcpy(c->cells, t->cells, t->ncells * sizeof(uint32_t));
}

static void read_table(imp_model *m, const char *path)
{
    size_t len;
    char *buf = imp_read_file(m, path, &len);
    if (!buf)
        return;
    table t = {.arity = 0};
    clib_lit lit[CLIB_MAX_ARITY];
    const char *s = buf, *end = buf + len;
    size_t before = m->nerrs;
    for (unsigned line = 1; s < end && m->rc != CPQD_ENOMEM; line++) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        e = e ? e : end;
        const char *ts = s, *te = e;
        trim(&ts, &te);
        bool marker = (te - ts == 3 && (!memcmp(ts, "or(", 3) || !memcmp(ts, "or)", 3)));
        int n = ts == te || marker ? 0 : tuple_lits(m, path, line, ts, te, lit);
        if (n > 0 && t.first_line == 0)
            t.first_line = line;
        if (n > 0)
            tuple_row(m, path, line, lit, n, &t);
        s = e + 1;
    }
    if (t.first_line == 0 && m->nerrs == before)
        imp_err(m, path, 0, 0, "no tuples (a table allows at least one)");
    if (m->nerrs == before && m->rc == 0)
        table_add(m, path, &t);
    free(t.cells);
    free(buf);
}

/* ---- inputs ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct files {
    char **v;
    size_t n, cap;
} files;

static bool files_add(files *f, char *path)
{
    if (!path)
        return false;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 128;
        char **v = realloc(f->v, cap * sizeof(char *));
        if (!v) {
            free(path);
            return false;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = path;
    return true;
}

/* domains.txt and *.pm of a directory, sorted. */
static void list_dir(imp_model *m, const char *dir, files *pm, files *dom)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        imp_err(m, dir, 0, 0, "cannot open directory");
        return;
    }
    size_t first = pm->n;
    while ((e = readdir(d))) {
        char *p = NULL;
        bool is_pm = ends_with(e->d_name, ".pm"), is_dom = strcmp(e->d_name, "domains.txt") == 0;
        if ((is_pm || is_dom) && asprintf(&p, "%s/%s", dir, e->d_name) < 0)
            p = NULL;
        if ((is_pm || is_dom) && !files_add(is_pm ? pm : dom, p))
            imp_nomem(m);
    }
    closedir(d);
    qsort(pm->v + first, pm->n - first, sizeof(char *), cmp_str);
}

static void collect(imp_model *m, const char *const *inputs, size_t n, files *pm, files *dom)
{
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(inputs[i], &st) == 0 && S_ISDIR(st.st_mode))
            list_dir(m, inputs[i], pm, dom);
        else if (!files_add(ends_with(inputs[i], ".pm") ? pm : dom, strdup(inputs[i])))
            imp_nomem(m);
    }
}

int imp_read_clib(imp_model *m, const char *const *inputs, size_t n)
{
    files pm = {0}, dom = {0};
    m->format = "CLib tables";
    collect(m, inputs, n, &pm, &dom);
    if (m->rc == 0 && dom.n != 1)
        imp_err(m, dom.n ? dom.v[1] : inputs[0], 0, 0, "%s", dom.n ? "more than one domains file "
                "(every input that is not a .pm table is taken as the domains file)"
                                                              : "no domains file (domains.txt) given");
    if (m->rc == 0 && pm.n == 0)
        imp_err(m, inputs[0], 0, 0, "no .pm table files given");
    if (m->rc == 0)
        read_domains(m, dom.v[0]);
    for (size_t i = 0; i < pm.n && m->rc != CPQD_ENOMEM && m->nvars > 0; i++)
        read_table(m, pm.v[i]);
    for (size_t i = 0; i < pm.n; i++)
        free(pm.v[i]);
    for (size_t i = 0; i < dom.n; i++)
        free(dom.v[i]);
    free(pm.v);
    free(dom.v);
    return m->rc;
}
