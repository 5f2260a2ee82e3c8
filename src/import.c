/*
 * import: the format-independent half of `cpqd import` — the model the
 * readers fill (import_int.h), catalog ids, the YAML writer and the CLI.
 *
 * Owns: turning an imp_model into one catalog file that `cpqd check`
 * accepts (docs/catalog.md), written atomically, and the command line.
 * Does not own: reading the formats (import_xcsp.c, import_clib.c,
 * import_dimacs.c), validating catalogs (cat).
 *
 * Invariant: nothing is written unless the whole input was read without
 * error, so a bad input never leaves a partial catalog behind.
 */
#include "import_int.h"

#include "cpqd/cli.h"
#include "cpqd/file.h"
#include "cpqd/hash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- hash map ---- */

static size_t map_hash(const char *s, size_t len)
{
    uint64_t h = hash_fnv1a64(s, len);
    return (size_t)(h ^ (h >> 29));
}

static size_t map_slot(const imp_map_ent *e, size_t cap, const char *key, size_t len)
{
    size_t i = map_hash(key, len) & (cap - 1);
    while (e[i].key && !(e[i].len == len && memcmp(e[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return i;
}

static int map_grow(imp_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    imp_map_ent *e = calloc(cap, sizeof(*e));
    if (!e)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key)
            e[map_slot(e, cap, m->e[i].key, m->e[i].len)] = m->e[i];
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

int imp_map_put(imp_map *m, const char *key, size_t len, size_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
        return CPQD_ENOMEM;
    size_t i = map_slot(m->e, m->cap, key, len);
    if (m->e[i].key)
        return 1;
    m->e[i] = (imp_map_ent){key, len, val};
    m->n++;
    return 0;
}

bool imp_map_get(const imp_map *m, const char *key, size_t len, size_t *val)
{
    if (!m->cap)
        return false;
    size_t i = map_slot(m->e, m->cap, key, len);
    if (!m->e[i].key)
        return false;
    *val = m->e[i].val;
    return true;
}

void imp_map_fini(imp_map *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* ---- errors ---- */

void imp_err(imp_model *m, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (m->rc == 0)
        m->rc = CPQD_EINVAL;
    if (m->nerrs++ > IMP_MAX_ERRORS)
        return;
    if (m->nerrs > IMP_MAX_ERRORS) {
        errs_add(m->errs, CPQD_EINVAL, file, line, col, "too many errors; stopped reporting");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_add(m->errs, CPQD_EINVAL, file, line, line ? (col ? col : 1) : 0, "%s", msg);
}

int imp_nomem(imp_model *m)
{
    if (m->rc == 0 || m->rc == CPQD_EINVAL)
        m->rc = CPQD_ENOMEM;
    return CPQD_ENOMEM;
}

/* ---- ids ---- */

static bool id_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           c == '_' || c == '.' || c == '-';
}

static bool id_alnum(unsigned char c)
{
    return id_char(c) && c != '_' && c != '.' && c != '-';
}

/* docs/catalog.md: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ */
static bool id_valid(const char *s, size_t len)
{
    if (len == 0 || len > IMP_ID_MAX || !id_alnum((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!id_char((unsigned char)s[i]))
            return false;
    return true;
}

/* Writes the id form of s into out[IMP_ID_MAX + 1]; returns its length. */
static size_t id_sanitize(const char *s, size_t len, char *out)
{
    size_t n = 0;
    if (len == 0 || !id_alnum((unsigned char)s[0]))
        out[n++] = 'x';
    for (size_t i = 0; i < len && n < IMP_ID_MAX; i++)
        out[n++] = id_char((unsigned char)s[i]) ? s[i] : '_';
    out[n] = '\0';
    return n;
}

/* A new malloc'ed id for s, unique in taken (and added to it, with val). */
static char *id_unique(imp_map *taken, const char *s, size_t len, size_t val)
{
    char base[IMP_ID_MAX + 1], buf[IMP_ID_MAX + 1];
    size_t blen = id_sanitize(s, len, base), n = blen;
    memcpy(buf, base, n + 1);
    for (unsigned k = 2; imp_map_get(taken, buf, n, &(size_t){0}); k++) {
        /* the suffix goes after the base, never after the last candidate */
        char suffix[16];
        int sl = snprintf(suffix, sizeof(suffix), "_%u", k);
        size_t keep = blen + (size_t)sl > IMP_ID_MAX ? IMP_ID_MAX - (size_t)sl : blen;
        memcpy(buf, base, keep);
        memcpy(buf + keep, suffix, (size_t)sl + 1);
        n = keep + (size_t)sl;
    }
    char *id = strdup(buf);
    if (!id || imp_map_put(taken, id, n, val) < 0) {
        free(id);
        return NULL;
    }
    return id;
}

/* ---- model ---- */

static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return arr;
    size_t c = *cap ? *cap : 8, bytes;
    while (c < need)
        c *= 2;
    if (__builtin_mul_overflow(c, size, &bytes))
        return NULL;
    void *p = realloc(arr, bytes);
    if (p)
        *cap = c;
    return p;
}

int imp_var_add(imp_model *m, const char *src, size_t len, const char *idbase, const char *name,
                size_t *idx)
{
    if (imp_map_get(&m->var_src, src, len, idx))
        return 1;
    imp_var *vs = grow(m->vars, &m->capvars, m->nvars + 1, sizeof(*vs));
    if (!vs)
        return imp_nomem(m);
    m->vars = vs;
    imp_var *v = &vs[m->nvars];
    memset(v, 0, sizeof(*v));
    v->src = strndup(src, len);
    v->name = strdup(name ? name : idbase ? idbase : v->src ? v->src : "");
    v->id = idbase ? id_unique(&m->var_ids, idbase, strlen(idbase), m->nvars)
                   : id_unique(&m->var_ids, src, len, m->nvars);
    if (!v->src || !v->name || !v->id || imp_map_put(&m->var_src, v->src, len, m->nvars) < 0) {
        free(v->src);
        free(v->name);
        free(v->id);
        return imp_nomem(m);
    }
    *idx = m->nvars++;
    return 0;
}

int imp_value_add(imp_var *v, const char *text, size_t len, size_t *idx)
{
    if (imp_map_get(&v->vmap, text, len, idx))
        return 1;
    char **vals = grow(v->values, &v->capvalues, v->nvalues + 1, sizeof(char *));
    if (!vals)
        return CPQD_ENOMEM;
    v->values = vals;
    char *t = strndup(text, len);
    if (!t || imp_map_put(&v->vmap, t, len, v->nvalues) < 0) {
        free(t);
        return CPQD_ENOMEM;
    }
    vals[v->nvalues] = t;
    *idx = v->nvalues++;
    return 0;
}

size_t imp_value_find(const imp_var *v, const char *text, size_t len)
{
    size_t i;
    return imp_map_get(&v->vmap, text, len, &i) ? i : SIZE_MAX;
}

static long long gcd_ll(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void imp_var_numeric(imp_var *v, const long long *ints)
{
    v->integer = false;
    if (v->nvalues == 0)
        return;
    long long mn = ints[0], mx = ints[0], g = 0;
    for (size_t i = 1; i < v->nvalues; i++) {
        mn = ints[i] < mn ? ints[i] : mn;
        mx = ints[i] > mx ? ints[i] : mx;
    }
    if (mn >= 0)
        return; /* every value text is a valid enum value id */
    for (size_t i = 0; i < v->nvalues; i++)
        g = gcd_ll(g, ints[i] - mn); /* readers bound values, so no overflow */
    v->integer = true;
    v->min = mn;
    v->max = mx;
    v->step = g ? g : 1;
    v->holes = (unsigned long long)((mx - mn) / v->step) + 1 != v->nvalues;
}

imp_con *imp_con_add(imp_model *m, const char *src, size_t arity, size_t nrows)
{
    size_t cells;
    imp_con *cs = grow(m->cons, &m->capcons, m->ncons + 1, sizeof(*cs));
    if (!cs || __builtin_mul_overflow(arity, nrows, &cells)) {
        imp_nomem(m);
        return NULL;
    }
    m->cons = cs;
    imp_con *c = &cs[m->ncons];
    memset(c, 0, sizeof(*c));
    c->arity = arity;
    c->nrows = nrows;
    c->id = id_unique(&m->con_ids, src, strlen(src), m->ncons);
    c->scope = calloc(arity ? arity : 1, sizeof(*c->scope));
    c->cells = calloc(cells ? cells : 1, sizeof(*c->cells));
    if (!c->id || !c->scope || !c->cells) {
        free(c->id);
        free(c->scope);
        free(c->cells);
        imp_nomem(m);
        return NULL;
    }
    m->ncons++;
    return c;
}

static void model_fini(imp_model *m)
{
    for (size_t i = 0; i < m->nvars; i++) {
        imp_var *v = &m->vars[i];
        for (size_t k = 0; k < v->nvalues; k++)
            free(v->values[k]);
        free(v->values);
        imp_map_fini(&v->vmap);
        free(v->src);
        free(v->id);
        free(v->name);
    }
    for (size_t i = 0; i < m->ncons; i++) {
        free(m->cons[i].id);
        free(m->cons[i].scope);
        free(m->cons[i].cells);
    }
    free(m->vars);
    free(m->cons);
    free(m->name);
    imp_map_fini(&m->var_src);
    imp_map_fini(&m->var_ids);
    imp_map_fini(&m->con_ids);
}

/* ---- files ---- */

char *imp_basename(const char *path, bool strip_ext)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t end = len;
    for (size_t i = len; strip_ext && i > start + 1; i--)
        if (path[i - 1] == '.') {
            end = i - 1;
            break;
        }
    return strndup(path + start, end - start);
}

char *imp_read_file(imp_model *m, const char *path, size_t *len)
{
    char why[FILE_WHY_MAX], *buf = NULL;
    int rc = file_read(path, IMP_MAX_FILE, &buf, len, why);
    if (rc == CPQD_ENOMEM)
        imp_nomem(m);
    else if (rc)
        imp_err(m, path, 0, 0, "%s", why);
    else if (memchr(buf, '\0', *len)) {
        imp_err(m, path, 0, 0, "binary file (contains NUL bytes)");
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* ---- YAML writer ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (n == 0 || c > 0xF4)
        return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* A YAML double-quoted scalar. Bytes that are not UTF-8 are written as
 * \xNN, which YAML reads as U+00NN: Latin-1 names survive readably.
 * Characters YAML does not allow in a stream (C0 and C1 controls, DEL,
 * U+FFFE, U+FFFF: libyaml refuses the file) are written as escapes. */
static void y_str(FILE *f, const char *s)
{
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = *p >= 0x80 ? utf8_len(p) : 1;
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f || n == 0)
            fprintf(f, "\\x%02x", *p);
        else if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0) /* U+0080..U+009F */
            fprintf(f, "\\x%02x", p[1]);
        else if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)
            fprintf(f, "\\uFF%02X", p[2] == 0xBE ? 0xFE : 0xFF);
        else
            fwrite(p, 1, n, f);
        p += n ? n : 1;
    }
    putc('"', f);
}

static void write_header(FILE *f, const imp_model *m, const char *id, const char *const *inputs,
                         size_t ninputs)
{
    fprintf(f, "# Imported by `cpqd import` (%s) from:\n", m->format);
    for (size_t i = 0; i < ninputs; i++)
        fprintf(f, "#   %s\n", inputs[i]);
    fprintf(f, "# %zu attributes, %zu constraints.\ncatalog:\n  id: ", m->nvars, m->ncons);
    y_str(f, id);
    char *base = imp_basename(inputs[0], false);
    char name[512];
    snprintf(name, sizeof(name), "%s (%s)", m->name && *m->name ? m->name : base ? base : id,
             m->format);
    fputs("\n  version: \"1\"\n  name: ", f);
    y_str(f, name);
    snprintf(name, sizeof(name), "%s benchmark imported from %s%s", m->format, base ? base : "?",
             ninputs > 1 ? " and other files" : "");
    free(base);
    fputs("\n  description: ", f);
    y_str(f, name);
    fputs("\n  currency: EUR\n  timezone: UTC\n  tax:\n    prices_include_tax: false\n"
          "    classes: {standard: \"0\"}\n",
          f);
}

static void write_attr(FILE *f, const imp_var *v)
{
    fputs("  - id: ", f);
    y_str(f, v->id);
    fputs("\n    name: ", f);
    y_str(f, v->name);
    if (v->integer) {
        fprintf(f, "\n    type: integer\n    min: %lld\n    max: %lld\n", v->min, v->max);
        if (v->step > 1)
            fprintf(f, "    step: %lld\n", v->step);
        return;
    }
    fputs("\n    type: enum\n    values:\n", f);
    for (size_t k = 0; k < v->nvalues; k++) {
        fputs("      - {id: ", f);
        y_str(f, v->values[k]);
        fputs(", name: ", f);
        y_str(f, v->values[k]);
        fputs("}\n", f);
    }
}

/* "@id = value" */
static void write_lit(FILE *f, const imp_var *v, const char *value)
{
    char lit[IMP_ID_MAX * 2 + 16];
    snprintf(lit, sizeof(lit), "@%s = %s", v->id, value);
    y_str(f, lit);
}

static void write_row(FILE *f, const imp_model *m, const imp_con *c, const uint32_t *row)
{
    fputs("            - [", f);
    for (size_t k = 0; k < c->arity; k++) {
        if (k)
            fputs(", ", f);
        y_str(f, m->vars[c->scope[k]].values[row[k]]);
    }
    fputs("]\n", f);
}

static void write_con(FILE *f, const imp_model *m, const imp_con *c)
{
    fputs("      - id: ", f);
    y_str(f, c->id);
    if (c->excludes) {
        fputs("\n        excludes: [", f);
        for (size_t k = 0; k < c->arity; k++) {
            const imp_var *v = &m->vars[c->scope[k]];
            if (k)
                fputs(", ", f);
            write_lit(f, v, v->values[c->cells[k]]);
        }
        fputs("]\n", f);
        return;
    }
    fputs("\n        table:\n          vars: [", f);
    for (size_t k = 0; k < c->arity; k++) {
        char path[IMP_ID_MAX + 2];
        snprintf(path, sizeof(path), "@%s", m->vars[c->scope[k]].id);
        if (k)
            fputs(", ", f);
        y_str(f, path);
    }
    fprintf(f, "]\n          %s:%s\n", c->forbidden ? "forbidden" : "allowed",
            c->nrows ? "" : " []");
    for (size_t r = 0; r < c->nrows; r++)
        write_row(f, m, c, &c->cells[r * c->arity]);
}

/* Integer attributes whose min..max by step holds values outside the
 * source domain get a one-column table of the domain. */
static void write_holes(FILE *f, const imp_model *m, imp_map *taken)
{
    for (size_t i = 0; i < m->nvars; i++) {
        const imp_var *v = &m->vars[i];
        if (!v->integer || !v->holes)
            continue;
        char src[IMP_ID_MAX + 16];
        snprintf(src, sizeof(src), "%s-domain", v->id);
        char *id = id_unique(taken, src, strlen(src), SIZE_MAX);
        fputs("      - id: ", f);
        y_str(f, id ? id : src);
        free(id);
        char path[IMP_ID_MAX + 2];
        snprintf(path, sizeof(path), "@%s", v->id);
        fputs("\n        table:\n          vars: [", f);
        y_str(f, path);
        fputs("]\n          allowed:\n", f);
        for (size_t k = 0; k < v->nvalues; k++) {
            fputs("            - [", f);
            y_str(f, v->values[k]);
            fputs("]\n", f);
        }
    }
}

static void write_catalog(FILE *f, imp_model *m, const char *id, const char *const *inputs,
                          size_t ninputs)
{
    char sku[IMP_ID_MAX + 1];
    size_t n = strlen(id);
    for (size_t i = 0; i <= n; i++)
        sku[i] = id[i] >= 'a' && id[i] <= 'z' ? (char)(id[i] - 'a' + 'A') : id[i];
    write_header(f, m, id, inputs, ninputs);
    fputs(m->nvars ? "attributes:\n" : "", f);
    for (size_t i = 0; i < m->nvars; i++)
        write_attr(f, &m->vars[i]);
    fputs("products:\n  - sku: ", f);
    y_str(f, sku);
    fputs("\n    name: ", f);
    y_str(f, m->name && *m->name ? m->name : id);
    fputs("\n    category: configurable\n    delivery: {mode: goods}\n", f);
    fputs(m->nvars ? "    attributes:\n" : "", f);
    for (size_t i = 0; i < m->nvars; i++) {
        fputs("      - {ref: ", f);
        y_str(f, m->vars[i].id);
        fputs("}\n", f);
    }
    bool holes = false;
    for (size_t i = 0; i < m->nvars; i++)
        holes |= m->vars[i].integer && m->vars[i].holes;
    fputs(m->ncons || holes ? "    constraints:\n" : "", f);
    for (size_t i = 0; i < m->ncons; i++)
        write_con(f, m, &m->cons[i]);
    write_holes(f, m, &m->con_ids);
}

/* Writes to path through a temporary file in the same directory, renamed
 * into place only when everything was written. */
static int write_file(imp_model *m, const char *path, const char *id, const char *const *inputs,
                      size_t ninputs)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return imp_nomem(m);
    int fd = mkstemp(tmp);
    mode_t mask = umask(0); /* mkstemp makes 0600: give the usual 0666 & ~umask */
    umask(mask);
    if (fd >= 0)
        fchmod(fd, 0666 & ~mask);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = 0;
    if (!f) {
        errs_add(m->errs, CPQD_EIO, path, 0, 0, "cannot create output: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        rc = CPQD_EIO;
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    write_catalog(f, m, id, inputs, ninputs);
    bool bad = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        errs_add(m->errs, CPQD_EIO, path, 0, 0, "cannot write output: %s", strerror(errno));
        rc = CPQD_EIO;
    }
out:
    if (rc && fd >= 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- entry points ---- */

int import_format_parse(const char *s, import_format *out)
{
    static const char *const names[] = {"xcsp", "clib", "dimacs"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (import_format)i;
            return 0;
        }
    return CPQD_EINVAL;
}

static int read_inputs(imp_model *m, import_format f, const char *const *inputs, size_t n)
{
    if (f != IMPORT_CLIB && n != 1) {
        errs_add(m->errs, CPQD_EINVAL, NULL, 0, 0, "%s import takes exactly one input file",
                 f == IMPORT_XCSP ? "xcsp" : "dimacs");
        return m->rc = CPQD_EINVAL;
    }
    if (f == IMPORT_XCSP)
        return imp_read_xcsp(m, inputs[0]);
    if (f == IMPORT_DIMACS)
        return imp_read_dimacs(m, inputs[0]);
    return imp_read_clib(m, inputs, n);
}

/* The catalog id: opts->id, else the first input's name. */
static int catalog_id(imp_model *m, const char *given, const char *input, char out[IMP_ID_MAX + 1])
{
    if (given) {
        if (id_valid(given, strlen(given))) {
            memcpy(out, given, strlen(given) + 1);
            return 0;
        }
        errs_add(m->errs, CPQD_EINVAL, NULL, 0, 0,
                 "invalid --id '%.64s' (letters, digits, '_', '.', '-'; starts with a letter or "
                 "digit; at most 64)",
                 given);
        return m->rc = CPQD_EINVAL;
    }
    char *base = imp_basename(input, true);
    if (!base)
        return imp_nomem(m);
    id_sanitize(base, strlen(base), out);
    free(base);
    return 0;
}

int import_run(import_format f, const char *const *inputs, size_t ninputs,
               const import_opts *opts, cpqd_errs *errs, import_stats *stats)
{
    imp_model m = {.errs = errs};
    char id[IMP_ID_MAX + 1];
    if (ninputs == 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "no input file given");
        return CPQD_EINVAL;
    }
    int rc = read_inputs(&m, f, inputs, ninputs);
    if (rc == 0)
        rc = catalog_id(&m, opts ? opts->id : NULL, inputs[0], id);
    if (rc == 0 && opts && opts->out)
        rc = write_file(&m, opts->out, id, inputs, ninputs);
    else if (rc == 0) {
        write_catalog(stdout, &m, id, inputs, ninputs);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            errs_add(errs, CPQD_EIO, NULL, 0, 0, "cannot write to stdout");
            rc = CPQD_EIO;
        }
    }
    if (stats) {
        *stats = (import_stats){m.nvars, m.ncons, 0};
        for (size_t i = 0; i < m.ncons; i++)
            stats->rows += m.cons[i].excludes ? m.cons[i].arity : m.cons[i].nrows;
    }
    model_fini(&m);
    return rc;
}

/* Says why the command line is wrong; main prints the usage. */
static int cli_usage(const char *why)
{
    fprintf(stderr, "cpqd import: %s\n", why);
    return 2;
}

int import_cli(int argc, char **argv)
{
    import_opts o = {NULL, NULL};
    import_format f;
    const cli_flag flags[] = {{"-o", &o.out}, {"--out", &o.out}, {"--id", &o.id}, {NULL, NULL}};
    cli_args a;
    int rc = cli_args_parse(argc, argv, flags, SIZE_MAX, &a);
    if (rc) {
        cli_args_fini(&a);
        return rc == CPQD_ENOMEM ? 1 : cli_usage(a.why);
    }
    const char *why = a.npos == 0                         ? "no FORMAT given"
                      : import_format_parse(a.pos[0], &f) ? "FORMAT must be xcsp, clib or dimacs"
                      : a.npos == 1                       ? "no INPUT given"
                                                          : NULL;
    if (why) {
        cli_args_fini(&a);
        return cli_usage(why);
    }
    const char **inputs = a.pos + 1;
    size_t n = a.npos - 1;
    cpqd_errs *errs = errs_new();
    import_stats st;
    rc = errs ? import_run(f, inputs, n, &o, errs, &st) : CPQD_ENOMEM;
    if (errs)
        cli_errs_print(errs);
    if (rc == 0 && o.out)
        fprintf(stderr, "imported %zu attributes, %zu constraints (%zu %s) into %s\n",
                st.attributes, st.constraints, st.rows, f == IMPORT_DIMACS ? "literals" : "rows",
                o.out);
    else if (rc)
        fprintf(stderr, "import failed: %s (%zu error%s); nothing written\n", err_code_name(rc),
                errs_count(errs), errs_count(errs) == 1 ? "" : "s");
    errs_free(errs);
    cli_args_fini(&a);
    return rc ? 1 : 0;
}
