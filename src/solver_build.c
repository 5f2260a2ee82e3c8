/*
 * solver_build: compiles a catalog product into a solver_model (see
 * include/cpqd/solver.h and docs/configurator.md for the encoding), and
 * the per-snapshot set of models.
 *
 * Owns: BOM unfolding into instances, variable domains, path and value
 * resolution, the clause list, value lookup.
 * Does not own: solving (solver.c), checks (solver_check.c).
 *
 * Key invariant: every clause of a constraint is guarded by its selector
 * and by the activity of its instance, so that an unassumed selector
 * switches the constraint off and an inactive sub-assembly is unbound;
 * definitions of auxiliary variables (counters, "in" literals, table
 * tuples, quantity sums) are unguarded but always satisfiable.
 *
 * Globals: next_uid (atomic counter giving each model a unique id; no
 * other synchronisation needed).
 */
#include "solver_int.h"

#include <ccadical.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t next_uid = 1; /* unique model ids; atomic */

#define SB_MAX_QTY_CLAUSES 2000000 /* clauses of one quantity sum encoding */

/* Build state. */
typedef struct sb {
    solver_model *m;
    cpqd_errs *errs;
    int rc;
    size_t cap_vars, cap_vx, cap_insts, cap_sels;
    bool *open;     /* per var: attribute domain = mentioned values + other */
    size_t cap_open;
    int *cl;        /* clause being built */
    size_t ncl, cap_cl;
    size_t cap_lits;
    /* mentioned values of open attributes: per var, a list of texts */
    const char ***ment;
    size_t *nment, *cap_ment;
    size_t ment_vars;  /* length of ment, nment, cap_ment */
    struct sb_aidx *aidx; /* attribute indexes by id, per product with many attributes */
    size_t naidx, cap_aidx;
    unsigned *seen_gen; /* per SAT variable: clause generation that last saw it */
    int *seen_lit;      /* ... and with which sign */
    size_t cap_seen, cap_seen2;
    unsigned gen;
} sb;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (__builtin_mul_overflow(n, elem, &bytes))
        return NULL;
    void *q = realloc(p, bytes);
    if (q)
        *cap = n;
    return q;
}

#define SB_GROW(b, arr, cap, need)                                                             \
    do {                                                                                       \
        void *q_ = grow((arr), &(cap), (need), sizeof(*(arr)));                                \
        if (!q_) {                                                                             \
            (b)->rc = CPQD_ENOMEM;                                                             \
            return CPQD_ENOMEM;                                                                \
        }                                                                                      \
        (arr) = q_;                                                                            \
    } while (0)

static int sb_oom(sb *b)
{
    b->rc = CPQD_ENOMEM;
    return CPQD_ENOMEM;
}

static int sb_new_var(sb *b)
{
    if (b->m->nsat >= SOLVER_MAX_VARS) {
        if (!b->rc) {
            errs_add(b->errs, CPQD_ELIMIT, b->m->product->pos.file, b->m->product->pos.line,
                     b->m->product->pos.col, "product %s: configuration model too large",
                     b->m->product->sku);
            b->rc = CPQD_ELIMIT;
        }
        return SV_TRUE;
    }
    return ++b->m->nsat;
}

/* ---- clauses ---- */

static void cl_begin(sb *b)
{
    b->ncl = 0;
}

static void cl_add(sb *b, int lit)
{
    if (b->rc)
        return;
    void *q = grow(b->cl, &b->cap_cl, b->ncl + 1, sizeof(int));
    if (!q) {
        sb_oom(b);
        return;
    }
    b->cl = q;
    b->cl[b->ncl++] = lit;
}

/* Ends the clause: drops FALSE literals and duplicates, drops the whole
 * clause if it holds a TRUE literal or a complementary pair. */
static void cl_end(sb *b)
{
    if (b->rc)
        return;
    solver_model *m = b->m;
    size_t need = (size_t)m->nsat + 1, old = b->cap_seen;
    void *q1 = grow(b->seen_gen, &b->cap_seen, need, sizeof(unsigned));
    if (q1) {
        b->seen_gen = q1;
        memset(b->seen_gen + old, 0, (b->cap_seen - old) * sizeof(unsigned));
    }
    void *q2 = q1 ? grow(b->seen_lit, &b->cap_seen2, need, sizeof(int)) : NULL;
    if (!q2) {
        sb_oom(b);
        return;
    }
    b->seen_lit = q2;
    if (++b->gen == 0) { /* wrapped: forget every stamp */
        memset(b->seen_gen, 0, b->cap_seen * sizeof(unsigned));
        b->gen = 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < b->ncl; i++) {
        int l = b->cl[i];
        if (l == SV_TRUE)
            return;
        if (l == -SV_TRUE)
            continue;
        size_t v = (size_t)(l < 0 ? -l : l);
        if (v >= b->cap_seen) /* a variable beyond nsat: cannot happen */
            return;
        if (b->seen_gen[v] == b->gen) {
            if (b->seen_lit[v] == -l)
                return; /* tautology */
            continue;   /* duplicate */
        }
        b->seen_gen[v] = b->gen;
        b->seen_lit[v] = l;
        b->cl[n++] = l;
    }
    void *q = grow(m->clauses, &b->cap_lits, m->nlits + n + 1, sizeof(int));
    if (!q) {
        sb_oom(b);
        return;
    }
    m->clauses = q;
    memcpy(m->clauses + m->nlits, b->cl, n * sizeof(int));
    m->nlits += n;
    m->clauses[m->nlits++] = 0;
    m->nclauses++;
}

static void cl2(sb *b, int a, int c)
{
    cl_begin(b);
    cl_add(b, a);
    cl_add(b, c);
    cl_end(b);
}

static void cl3(sb *b, int a, int c, int d)
{
    cl_begin(b);
    cl_add(b, a);
    cl_add(b, c);
    cl_add(b, d);
    cl_end(b);
}

/* At most one of x[0..n), unguarded (pairwise up to 6, else a ladder). */
static void enc_amo(sb *b, const int *x, size_t n)
{
    if (n <= 6) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = i + 1; k < n; k++)
                cl2(b, -x[i], -x[k]);
        return;
    }
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        int s = sb_new_var(b);
        cl2(b, -x[i], s);
        if (prev) {
            cl2(b, -prev, s);
            cl2(b, -x[i], -prev);
        }
        prev = s;
    }
}

/* Exactly one of x[0..n) when act holds, none when it does not. */
static void enc_exactly_one(sb *b, const int *x, size_t n, int act)
{
    cl_begin(b);
    cl_add(b, -act);
    for (size_t i = 0; i < n; i++)
        cl_add(b, x[i]);
    cl_end(b);
    for (size_t i = 0; i < n; i++)
        cl2(b, -x[i], act);
    enc_amo(b, x, n);
}

/* Cardinality min..max of x[0..n) under selector sel when act holds:
 * a sequential counter r[i][j] <-> "at least j of x[0..i]" (Sinz 2005,
 * both directions so that it serves both bounds). */
static void enc_card(sb *b, const int *x, size_t n, unsigned min, unsigned max, int sel, int act)
{
    if (min > n) {
        cl2(b, -sel, -act);
        return;
    }
    bool need_max = max < n, need_min = min > 0;
    if (need_min && min == 1) {
        cl_begin(b);
        cl_add(b, -sel);
        cl_add(b, -act);
        for (size_t i = 0; i < n; i++)
            cl_add(b, x[i]);
        cl_end(b);
        need_min = false;
    }
    if (need_max && max == 1 && n <= 6) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = i + 1; k < n; k++)
                cl3(b, -sel, -x[i], -x[k]);
        need_max = false;
    }
    if (!need_min && !need_max)
        return;
    size_t K = need_max ? (size_t)max + 1 : 0;
    if (need_min && min > K)
        K = min;
    int *prev = calloc(K + 1, sizeof(int)), *cur = calloc(K + 1, sizeof(int));
    if (!prev || !cur) {
        free(prev);
        free(cur);
        sb_oom(b);
        return;
    }
    prev[0] = cur[0] = SV_TRUE;
    for (size_t i = 0; i < n; i++) {
        size_t top = i + 1 < K ? i + 1 : K;
        for (size_t j = 1; j <= top; j++) {
            int r = sb_new_var(b);
            int pj = j <= i ? prev[j] : -SV_TRUE; /* "at least j of none" is false */
            int pj1 = prev[j - 1];
            cl2(b, -pj, r);
            cl3(b, -pj1, -x[i], r);
            cl3(b, -r, pj, x[i]);
            cl3(b, -r, pj, pj1);
            cur[j] = r;
        }
        memcpy(prev, cur, (K + 1) * sizeof(int));
    }
    if (need_min)
        cl3(b, -sel, -act, prev[min]);
    if (need_max)
        cl2(b, -sel, K <= n ? -prev[max + 1] : SV_TRUE);
    free(prev);
    free(cur);
}

/* ---- unfolding ---- */

static char *join(sb *b, const char *prefix, const char *a, const char *sep, const char *c)
{
    size_t lp = strlen(prefix), la = strlen(a), ls = strlen(sep), lc = strlen(c);
    char *s = arena_alloc(b->m->a, lp + 1 + la + ls + lc + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    if (lp) {
        memcpy(s, prefix, lp);
        s[lp] = '/';
        o = lp + 1;
    }
    memcpy(s + o, a, la);
    memcpy(s + o + la, sep, ls);
    memcpy(s + o + la + ls, c, lc);
    s[o + la + ls + lc] = 0;
    return s;
}

static bool configurable(const cat_product *p)
{
    return p && (p->ngroups || p->nattrs);
}

static int sb_error(sb *b, int code, cat_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int sb_error(sb *b, int code, cat_pos pos, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    errs_add(b->errs, code, pos.file, pos.line, pos.col, "%s", buf);
    if (!b->rc)
        b->rc = code;
    return code;
}

/* Appends a variable; *out receives its index. */
static int sb_push_var(sb *b, const solver_var *v, const sv_varx *x, size_t *out)
{
    solver_model *m = b->m;
    SB_GROW(b, m->vars, b->cap_vars, m->nvars + 1);
    SB_GROW(b, m->vx, b->cap_vx, m->nvars + 1);
    SB_GROW(b, b->open, b->cap_open, m->nvars + 1);
    m->vars[m->nvars] = *v;
    m->vx[m->nvars] = *x;
    b->open[m->nvars] = false;
    *out = m->nvars++;
    return 0;
}

static size_t *size_array(sb *b, size_t n)
{
    size_t *a = arena_calloc(b->m->a, n ? n : 1, sizeof(size_t));
    if (!a) {
        sb_oom(b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = SIZE_MAX;
    return a;
}

static int sb_group_var(sb *b, size_t inst, const cat_group *g)
{
    const sv_inst *in = &b->m->insts[inst];
    const char **skus = arena_calloc(b->m->a, g->noptions ? g->noptions : 1, sizeof(char *));
    char *path = join(b, in->path, g->id, "", "");
    size_t *child = size_array(b, g->noptions), *qty = size_array(b, g->noptions);
    if (!skus || !path || !child || !qty)
        return sb_oom(b);
    for (size_t i = 0; i < g->noptions; i++)
        skus[i] = g->options[i].sku;
    solver_var v = {.kind = SOLVER_VAR_GROUP, .path = path, .instance = in->path,
                    .product = in->product, .group = g, .values = skus, .nvalues = g->noptions,
                    .depth = in->depth, .parent_var = in->opt_var, .parent_value = in->opt_value};
    sv_varx x = {.inst = inst, .child = child, .qty = qty};
    size_t idx;
    return sb_push_var(b, &v, &x, &idx);
}

static int sb_attr_var(sb *b, size_t inst, const cat_prod_attr *pa)
{
    const sv_inst *in = &b->m->insts[inst];
    char *path = join(b, in->path, "@", "", pa->attr->id);
    if (!path)
        return sb_oom(b);
    solver_var v = {.kind = SOLVER_VAR_ATTR, .path = path, .instance = in->path,
                    .product = in->product, .attr = pa, .depth = in->depth,
                    .parent_var = in->opt_var, .parent_value = in->opt_value};
    sv_varx x = {.inst = inst, .numeric = pa->attr->type == CAT_ATTR_INTEGER ||
                                          pa->attr->type == CAT_ATTR_DECIMAL};
    size_t idx;
    return sb_push_var(b, &v, &x, &idx);
}

/* Unfolds product p at path into instances, depth first. */
static int sb_unfold(sb *b, const cat_product *p, const char *path, size_t parent, size_t ovar,
                     size_t oval, size_t depth)
{
    solver_model *m = b->m;
    if (m->ninsts >= SOLVER_MAX_INSTANCES) {
        if (b->rc != CPQD_ELIMIT)
            errs_add(b->errs, CPQD_ELIMIT, m->product->pos.file, m->product->pos.line,
                     m->product->pos.col,
                     "product %s: its BOM unfolds into more than %d configurable instances",
                     m->product->sku, SOLVER_MAX_INSTANCES);
        b->rc = CPQD_ELIMIT;
        return b->rc;
    }
    SB_GROW(b, m->insts, b->cap_insts, m->ninsts + 1);
    size_t I = m->ninsts++;
    size_t gvar0 = m->nvars;
    m->insts[I] = (sv_inst){p, path, parent, ovar, oval, 0, depth, gvar0, gvar0 + p->ngroups};
    for (size_t g = 0; g < p->ngroups; g++)
        if (sb_group_var(b, I, &p->groups[g]))
            return b->rc;
    for (size_t a = 0; a < p->nattrs; a++)
        if (sb_attr_var(b, I, &p->attrs[a]))
            return b->rc;
    for (size_t g = 0; g < p->ngroups; g++) {
        const cat_group *gr = &p->groups[g];
        for (size_t o = 0; o < gr->noptions; o++) {
            if (!configurable(gr->options[o].product))
                continue;
            char *cpath = join(b, path, gr->id, "/", gr->options[o].sku);
            if (!cpath)
                return sb_oom(b);
            size_t child = m->ninsts;
            if (sb_unfold(b, gr->options[o].product, cpath, I, gvar0 + g, o, depth + 1))
                return b->rc;
            m->vx[gvar0 + g].child[o] = child;
        }
    }
    return 0;
}

/* ---- paths and values ---- */

/* A product's attributes by id, hashed (imported feature models have
 * thousands of attributes and constraints naming them). */
typedef struct sb_aidx {
    const cat_product *p;
    size_t *slot; /* attribute index, or SIZE_MAX: open addressing */
    size_t mask;
} sb_aidx;

#define SB_AIDX_MIN 16 /* attributes from which a product gets an index */

static uint64_t id_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static bool id_is(const char *id, const char *s, size_t n)
{
    return strncmp(id, s, n) == 0 && id[n] == '\0';
}

/* Index of attribute id s[0..n) of product p (the first one with that
 * id), or SIZE_MAX. */
static size_t sb_attr_find(sb *b, const cat_product *p, const char *s, size_t n)
{
    const sb_aidx *ix = NULL;
    for (size_t k = 0; p->nattrs >= SB_AIDX_MIN && k < b->naidx && !ix; k++)
        if (b->aidx[k].p == p)
            ix = &b->aidx[k];
    if (!ix && p->nattrs >= SB_AIDX_MIN) {
        void *q = grow(b->aidx, &b->cap_aidx, b->naidx + 1, sizeof(*b->aidx));
        size_t cap = 16;
        while (cap < 2 * p->nattrs)
            cap *= 2;
        size_t *slot = malloc(cap * sizeof(size_t));
        if (q)
            b->aidx = q;
        if (q && slot) {
            for (size_t i = 0; i < cap; i++)
                slot[i] = SIZE_MAX;
            for (size_t i = 0; i < p->nattrs; i++) {
                const char *id = p->attrs[i].attr->id;
                size_t h = (size_t)id_hash(id, strlen(id)) & (cap - 1);
                while (slot[h] != SIZE_MAX && strcmp(p->attrs[slot[h]].attr->id, id) != 0)
                    h = (h + 1) & (cap - 1);
                if (slot[h] == SIZE_MAX) /* a repeated id keeps its first attribute */
                    slot[h] = i;
            }
            b->aidx[b->naidx] = (sb_aidx){p, slot, cap - 1};
            ix = &b->aidx[b->naidx++];
        } else {
            free(slot); /* no index: the linear scan below */
        }
    }
    if (!ix) {
        for (size_t i = 0; i < p->nattrs; i++)
            if (id_is(p->attrs[i].attr->id, s, n))
                return i;
        return SIZE_MAX;
    }
    for (size_t h = (size_t)id_hash(s, n) & ix->mask;; h = (h + 1) & ix->mask) {
        size_t i = ix->slot[h];
        if (i == SIZE_MAX || id_is(p->attrs[i].attr->id, s, n))
            return i;
    }
}

/* Resolves a constraint path relative to instance inst: the variable, or
 * SIZE_MAX. */
static size_t sb_resolve(sb *b, size_t inst, const char *path)
{
    const solver_model *m = b->m;
    const char *s = path;
    for (;;) {
        const cat_product *p = m->insts[inst].product;
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (s[0] == '@') {
            size_t i = slash ? SIZE_MAX : sb_attr_find(b, p, s + 1, n - 1);
            return i == SIZE_MAX ? SIZE_MAX : m->insts[inst].avar0 + i;
        }
        size_t g = SIZE_MAX;
        for (size_t i = 0; i < p->ngroups && g == SIZE_MAX; i++)
            if (strlen(p->groups[i].id) == n && !memcmp(p->groups[i].id, s, n))
                g = i;
        if (g == SIZE_MAX)
            return SIZE_MAX;
        size_t var = m->insts[inst].gvar0 + g;
        if (!slash)
            return var;
        s = slash + 1;
        slash = strchr(s, '/');
        n = slash ? (size_t)(slash - s) : strlen(s);
        const cat_group *gr = &p->groups[g];
        size_t o = SIZE_MAX;
        for (size_t i = 0; i < gr->noptions && o == SIZE_MAX; i++)
            if (strlen(gr->options[i].sku) == n && !memcmp(gr->options[i].sku, s, n))
                o = i;
        if (o == SIZE_MAX || !slash || m->vx[var].child[o] == SIZE_MAX)
            return SIZE_MAX;
        inst = m->vx[var].child[o];
        s = slash + 1;
    }
}

static size_t value_lookup(const solver_model *m, size_t var, const char *t, size_t len,
                           bool allow_other, const char **why)
{
    const solver_var *v = &m->vars[var];
    const sv_varx *x = &m->vx[var];
    size_t listed = v->nvalues - (v->has_other ? 1 : 0);
    if (x->numeric) {
        money_dec d;
        if (money_parse(t, len, &d)) {
            *why = "is not a number";
            return SIZE_MAX;
        }
        for (size_t i = 0; i < listed; i++)
            if (money_cmp(x->num[i], d) == 0)
                return i;
    } else {
        for (size_t i = 0; i < listed; i++)
            if (strlen(v->values[i]) == len && !memcmp(v->values[i], t, len))
                return i;
    }
    if (v->has_other && allow_other && cat_attr_value_check(v->attr->attr, t, len, why) == 0)
        return listed;
    if (v->has_other && allow_other)
        return SIZE_MAX; /* why set by the check */
    *why = v->kind == SOLVER_VAR_GROUP ? "is not an option of the group"
           : v->kind == SOLVER_VAR_QTY ? "is not an allowed quantity of the option"
                                       : "is not a value of the attribute here";
    return SIZE_MAX;
}

size_t solver_value_find(const solver_model *m, size_t var, const char *v, size_t len,
                         const char **why)
{
    const char *w = NULL;
    if (!m || var >= m->nvars || !v) {
        *why = "no such variable";
        return SIZE_MAX;
    }
    size_t r = value_lookup(m, var, v, len, true, &w);
    if (r == SIZE_MAX)
        *why = w ? w : "is not a valid value";
    return r;
}

/* ---- attribute domains ---- */

/* Adds text to the mentioned values of open attribute var (deduplicated,
 * numerically for numbers). */
static int sb_mention(sb *b, size_t var, const char *text)
{
    if (strcmp(text, "*") == 0)
        return 0;
    bool num = b->m->vx[var].numeric;
    money_dec d = {0, 0};
    if (num && money_parse(text, strlen(text), &d))
        return 0;
    for (size_t i = 0; i < b->nment[var]; i++) {
        const char *o = b->ment[var][i];
        money_dec e;
        if (num ? money_parse(o, strlen(o), &e) == 0 && money_cmp(d, e) == 0 : strcmp(o, text) == 0)
            return 0;
    }
    SB_GROW(b, b->ment[var], b->cap_ment[var], b->nment[var] + 1);
    b->ment[var][b->nment[var]++] = text;
    return 0;
}

/* Records the values constraints of instance inst mention for open
 * attributes. */
static int sb_mentions_of(sb *b, size_t inst)
{
    const cat_product *p = b->m->insts[inst].product;
    for (size_t k = 0; k < p->nconstraints; k++) {
        const cat_constraint *c = &p->constraints[k];
        for (size_t i = 0; i < c->nlits; i++) {
            size_t v = sb_resolve(b, inst, c->lits[i].path);
            for (size_t j = 0; v != SIZE_MAX && b->open[v] && j < c->lits[i].nvalues; j++)
                if (sb_mention(b, v, c->lits[i].values[j]))
                    return b->rc;
        }
        for (size_t col = 0; col < c->nvars; col++) {
            size_t v = sb_resolve(b, inst, c->vars[col]);
            for (size_t r = 0; v != SIZE_MAX && b->open[v] && r < c->nrows; r++)
                if (sb_mention(b, v, c->cells[r * c->nvars + col]))
                    return b->rc;
        }
    }
    return 0;
}

/* Number of values min + k*step <= max, or 0 if more than limit. */
static size_t count_steps(money_dec min, money_dec max, money_dec step, size_t limit)
{
    money_dec d, k;
    if (money_sign(step) <= 0 || money_cmp(min, max) > 0 || money_sub(max, min, &d) ||
        money_div(d, step, 0, MONEY_DOWN, &k) || k.coef < 0 || (uint64_t)k.coef >= limit)
        return 0;
    return (size_t)k.coef + 1;
}

/* Fills values[0..n) and num[0..n) with min + k*step, at the larger of
 * their scales. */
static int sb_steps(sb *b, money_dec min, money_dec step, size_t n, const char ***values,
                    money_dec **num)
{
    const char **vals = arena_calloc(b->m->a, n ? n : 1, sizeof(char *));
    money_dec *nums = arena_calloc(b->m->a, n ? n : 1, sizeof(money_dec));
    if (!vals || !nums)
        return sb_oom(b);
    money_dec cur = min;
    for (size_t i = 0; i < n; i++) {
        char buf[MONEY_FMT_MAX];
        if (money_format(cur, buf, sizeof(buf)) < 0)
            return sb_oom(b);
        vals[i] = arena_strdup(b->m->a, buf);
        nums[i] = cur;
        if (!vals[i])
            return sb_oom(b);
        if (i + 1 < n && money_add(cur, step, &cur))
            return sb_oom(b);
    }
    *values = vals;
    *num = nums;
    return 0;
}

/* Decides the domain of every attribute that is not open; marks the open
 * ones. */
static int sb_closed_domains(sb *b)
{
    solver_model *m = b->m;
    for (size_t v = 0; v < m->nvars; v++) {
        if (m->vars[v].kind != SOLVER_VAR_ATTR)
            continue;
        const cat_prod_attr *pa = m->vars[v].attr;
        const cat_attr *a = pa->attr;
        if (a->type == CAT_ATTR_ENUM) {
            if (pa->values) {
                m->vars[v].values = pa->values;
                m->vars[v].nvalues = pa->nvalues;
                continue;
            }
            const char **ids = arena_calloc(m->a, a->nvalues ? a->nvalues : 1, sizeof(char *));
            if (!ids)
                return sb_oom(b);
            for (size_t i = 0; i < a->nvalues; i++)
                ids[i] = a->values[i].id;
            m->vars[v].values = ids;
            m->vars[v].nvalues = a->nvalues;
            continue;
        }
        size_t n = 0;
        money_dec step = a->has_step ? a->step : money_from_int(1);
        if (a->type != CAT_ATTR_TEXT && a->has_min && a->has_max &&
            (a->type == CAT_ATTR_INTEGER || a->has_step))
            n = count_steps(a->min, a->max, step, SOLVER_MAX_ENUM);
        if (n) {
            const char **vals;
            money_dec *num;
            if (sb_steps(b, a->min, step, n, &vals, &num))
                return b->rc;
            m->vars[v].values = vals;
            m->vars[v].nvalues = n;
            m->vx[v].num = num;
        } else {
            b->open[v] = true;
        }
    }
    return 0;
}

/* Open attributes: the mentioned values, then "*" for any other. */
static int sb_open_domains(sb *b)
{
    solver_model *m = b->m;
    for (size_t v = 0; v < m->nvars; v++) {
        if (!b->open[v])
            continue;
        size_t n = b->nment[v];
        const char **vals = arena_calloc(m->a, n + 1, sizeof(char *));
        money_dec *num = arena_calloc(m->a, n + 1, sizeof(money_dec));
        if (!vals || !num)
            return sb_oom(b);
        for (size_t i = 0; i < n; i++) {
            vals[i] = b->ment[v][i];
            if (m->vx[v].numeric && money_parse(vals[i], strlen(vals[i]), &num[i]))
                return sb_oom(b);
        }
        vals[n] = "*";
        m->vars[v].values = vals;
        m->vars[v].nvalues = n + 1;
        m->vars[v].has_other = true;
        m->vx[v].num = num;
    }
    return 0;
}

/* ---- quantity variables ---- */

static int max_scale(money_dec a, money_dec c)
{
    money_dec x, y;
    if (money_normalize(a, &x) || money_normalize(c, &y))
        return 0;
    return x.scale > y.scale ? x.scale : y.scale;
}

/* Records the tightest quantity max per constrained group. */
static int sb_qty_caps(sb *b)
{
    solver_model *m = b->m;
    for (size_t I = 0; I < m->ninsts; I++) {
        const cat_product *p = m->insts[I].product;
        for (size_t k = 0; k < p->nconstraints; k++) {
            const cat_constraint *c = &p->constraints[k];
            if (c->kind != CAT_CON_QUANTITY)
                continue;
            size_t v = sb_resolve(b, I, c->qty_path);
            if (v == SIZE_MAX || m->vars[v].kind != SOLVER_VAR_GROUP)
                return sb_error(b, CPQD_EINVAL, c->pos, "constraint '%s': cannot resolve %s",
                                c->id, c->qty_path);
            sv_varx *x = &m->vx[v];
            if (!x->has_qcap || money_cmp(c->qty_max, x->qcap) < 0)
                x->qcap = c->qty_max;
            x->has_qcap = true;
        }
    }
    return 0;
}

static int sb_qty_var(sb *b, size_t gv, size_t oi)
{
    solver_model *m = b->m;
    const cat_option *o = &m->vars[gv].group->options[oi];
    int sc = max_scale(o->qty_min, o->qty_max);
    money_dec step = {1, sc}, hi = o->qty_max;
    size_t n = count_steps(o->qty_min, hi, step, SOLVER_MAX_QTY);
    if (!n) {
        /* Values above the group's quantity cap can never be valid; keep
         * one of them so that "too many" stays a value the user can pick
         * and get an explained refusal for. */
        money_dec cap = m->vx[gv].qcap, above;
        if (money_add(cap, step, &above) || money_cmp(above, hi) > 0)
            above = hi;
        hi = money_cmp(above, o->qty_min) < 0 ? o->qty_min : above;
        n = count_steps(o->qty_min, hi, step, SOLVER_MAX_QTY);
    }
    if (!n)
        return sb_error(b, CPQD_ELIMIT, o->pos,
                        "option %s%s: quantity range too large for a quantity constraint",
                        o->sku, "");
    const char **vals;
    money_dec *num;
    char *path = join(b, m->vars[gv].path, o->sku, "#qty", "");
    if (!path || sb_steps(b, o->qty_min, step, n, &vals, &num))
        return sb_oom(b);
    solver_var v = {.kind = SOLVER_VAR_QTY, .path = path, .instance = m->vars[gv].instance,
                    .product = m->vars[gv].product, .group = m->vars[gv].group, .option = o,
                    .values = vals, .nvalues = n, .depth = m->vars[gv].depth,
                    .parent_var = gv, .parent_value = oi};
    sv_varx x = {.inst = m->vx[gv].inst, .num = num, .numeric = true};
    size_t idx;
    if (sb_push_var(b, &v, &x, &idx))
        return b->rc;
    m->vx[gv].qty[oi] = idx;
    return 0;
}

static int sb_qty_vars(sb *b)
{
    size_t n = b->m->nvars;
    for (size_t v = 0; v < n; v++) {
        if (b->m->vars[v].kind != SOLVER_VAR_GROUP || !b->m->vx[v].has_qcap)
            continue;
        for (size_t o = 0; o < b->m->vars[v].nvalues; o++)
            if (b->m->vars[v].group->options[o].ranged && sb_qty_var(b, v, o))
                return b->rc;
    }
    return 0;
}

/* ---- SAT variables ---- */

static int sb_alloc_values(sb *b)
{
    solver_model *m = b->m;
    size_t total = 0;
    for (size_t v = 0; v < m->nvars; v++)
        total += m->vars[v].nvalues;
    m->vlit = malloc((total ? total : 1) * sizeof(int));
    m->vvar = malloc((total ? total : 1) * sizeof(size_t));
    if (!m->vlit || !m->vvar)
        return sb_oom(b);
    for (size_t v = 0; v < m->nvars; v++) {
        m->vx[v].val0 = m->nvals;
        for (size_t i = 0; i < m->vars[v].nvalues; i++) {
            m->vlit[m->nvals] = sb_new_var(b);
            m->vvar[m->nvals++] = v;
        }
    }
    for (size_t I = 0; I < m->ninsts; I++)
        m->insts[I].act = I == 0 ? SV_TRUE
                                 : sv_lit(m, m->insts[I].opt_var, m->insts[I].opt_value);
    return b->rc;
}

static int sb_selector(sb *b, sv_sel_kind kind, const cat_constraint *c, const cat_group *g,
                       size_t inst, size_t var)
{
    solver_model *m = b->m;
    SB_GROW(b, m->sels, b->cap_sels, m->nsels + 1);
    int s = sb_new_var(b);
    m->sels[m->nsels++] = (sv_sel){kind, c, g, inst, var, s};
    return s;
}

/* ---- structure ---- */

static int *val_lits(sb *b, size_t var)
{
    return b->m->vlit + b->m->vx[var].val0;
}

static void sb_structure(sb *b)
{
    solver_model *m = b->m;
    for (size_t v = 0; v < m->nvars && !b->rc; v++) {
        const solver_var *sv = &m->vars[v];
        int act = m->insts[m->vx[v].inst].act;
        const int *x = val_lits(b, v);
        if (sv->kind == SOLVER_VAR_GROUP) {
            for (size_t i = 0; i < sv->nvalues; i++)
                cl2(b, -x[i], act);
            const cat_group *g = sv->group;
            if (g->min > 0 || g->max < sv->nvalues) {
                int s = sb_selector(b, SV_SEL_GROUP, NULL, g, m->vx[v].inst, v);
                enc_card(b, x, sv->nvalues, g->min, g->max, s, act);
            }
        } else if (sv->kind == SOLVER_VAR_ATTR) {
            enc_exactly_one(b, x, sv->nvalues, act);
        } else {
            enc_exactly_one(b, x, sv->nvalues, sv_lit(m, sv->parent_var, sv->parent_value));
        }
    }
}

/* ---- constraints ---- */

/* The SAT literal for "PATH op values" at instance inst. */
static int sb_literal(sb *b, size_t inst, const cat_constraint *c, const cat_literal *lit,
                      int *out)
{
    solver_model *m = b->m;
    size_t var = sb_resolve(b, inst, lit->path);
    if (var == SIZE_MAX)
        return sb_error(b, CPQD_EINVAL, lit->pos, "constraint '%s': cannot resolve %s", c->id,
                        lit->path);
    int *ls = malloc((lit->nvalues ? lit->nvalues : 1) * sizeof(int));
    if (!ls)
        return sb_oom(b);
    size_t n = 0;
    for (size_t i = 0; i < lit->nvalues; i++) {
        const char *why;
        size_t idx = value_lookup(m, var, lit->values[i], strlen(lit->values[i]), false, &why);
        if (idx == SIZE_MAX)
            continue; /* a value this variable can never take */
        int l = sv_lit(m, var, idx);
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= ls[k] == l;
        if (!dup)
            ls[n++] = l;
    }
    int L;
    if (n == 0) {
        L = -SV_TRUE;
    } else if (n == 1) {
        L = ls[0];
    } else {
        L = sb_new_var(b);
        cl_begin(b);
        cl_add(b, -L);
        for (size_t i = 0; i < n; i++) {
            cl_add(b, ls[i]);
        }
        cl_end(b);
        for (size_t i = 0; i < n; i++)
            cl2(b, -ls[i], L);
    }
    free(ls);
    *out = lit->op == CAT_LIT_NE ? -L : L;
    return 0;
}

static void sb_con_logic(sb *b, size_t inst, const cat_constraint *c, int sel)
{
    int act = b->m->insts[inst].act;
    int *L = malloc((c->nlits ? c->nlits : 1) * sizeof(int));
    if (!L) {
        sb_oom(b);
        return;
    }
    for (size_t i = 0; i < c->nlits; i++)
        if (sb_literal(b, inst, c, &c->lits[i], &L[i]))
            goto out;
    if (c->kind == CAT_CON_EXCLUDES) {
        cl_begin(b);
        cl_add(b, -sel);
        cl_add(b, -act);
        for (size_t i = 0; i < c->nlits; i++)
            cl_add(b, -L[i]);
        cl_end(b);
        goto out;
    }
    /* requires and if/then: all of lits[0..nif) imply each of the rest */
    size_t nif = c->kind == CAT_CON_REQUIRES ? 1 : c->nif;
    for (size_t t = nif; t < c->nlits; t++) {
        cl_begin(b);
        cl_add(b, -sel);
        cl_add(b, -act);
        for (size_t i = 0; i < nif; i++)
            cl_add(b, -L[i]);
        cl_add(b, L[t]);
        cl_end(b);
    }
out:
    free(L);
}

#define SB_WILD (SIZE_MAX - 1)

/* Table state shared by the allowed/forbidden encoders. */
typedef struct sb_table {
    size_t nv, nrows;
    size_t *col;    /* variable per column */
    int *colact;    /* activity literal per column */
    size_t *cell;   /* value index per cell, SB_WILD, or SIZE_MAX (never holds) */
} sb_table;

static int sb_cell_lit(const solver_model *m, const sb_table *t, size_t r, size_t k)
{
    size_t idx = t->cell[r * t->nv + k];
    if (idx == SB_WILD)
        return SV_TRUE;
    if (idx == SIZE_MAX)
        return -SV_TRUE;
    return sv_lit(m, t->col[k], idx);
}

static void sb_forbidden(sb *b, const sb_table *t, int sel, int act)
{
    for (size_t r = 0; r < t->nrows && !b->rc; r++) {
        cl_begin(b);
        cl_add(b, -sel);
        cl_add(b, -act);
        for (size_t k = 0; k < t->nv; k++)
            cl_add(b, t->cell[r * t->nv + k] == SB_WILD ? -t->colact[k]
                                                          : -sb_cell_lit(b->m, t, r, k));
        cl_end(b);
    }
}

/* ---- compressed tuples ----
 * The plain rows of an allowed table (no wildcard, no value the column
 * can never take) as value sets, one bitset per cell, merged while two
 * rows differ in one column only (compressed tuples, Katsirelos & Walsh
 * 2007): the cells of a merged row are the union of the rows it stands
 * for in that column and equal elsewhere, so the product of its cells is
 * exactly the set of those rows. Real configuration tables are close to
 * products: Renault big's 107 110 rows of arity 3 to 12 become a few
 * hundred. */

typedef struct sb_ctab {
    size_t nv, W;        /* columns; words per row */
    size_t *off, *words; /* per column: first word in a row, words */
    uint64_t *rows;      /* n rows of W words */
    size_t n;
    size_t key;          /* the column a merge pass leaves out of the comparison */
} sb_ctab;

static int ctab_cmp(const void *pa, const void *pb, void *ctx)
{
    const sb_ctab *t = ctx;
    const uint64_t *x = t->rows + *(const size_t *)pa * t->W;
    const uint64_t *y = t->rows + *(const size_t *)pb * t->W;
    size_t k0 = t->off[t->key], k1 = k0 + t->words[t->key];
    int c = memcmp(x, y, k0 * sizeof(uint64_t));
    if (c == 0)
        c = memcmp(x + k1, y + k1, (t->W - k1) * sizeof(uint64_t));
    return c;
}

/* One merge pass over column k: rows equal outside k become one row with
 * the union of their k cells. Returns whether the table shrank, or -1 on
 * ENOMEM. */
static int ctab_merge(sb_ctab *t, size_t k)
{
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof(size_t));
    uint64_t *out = malloc((t->n ? t->n : 1) * t->W * sizeof(uint64_t));
    if (!idx || !out) {
        free(idx);
        free(out);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++)
        idx[i] = i;
    t->key = k;
    qsort_r(idx, t->n, sizeof(size_t), ctab_cmp, t);
    size_t n = 0, o = t->off[k];
    for (size_t i = 0; i < t->n; i++) {
        const uint64_t *row = t->rows + idx[i] * t->W;
        if (n && ctab_cmp(&idx[i - 1], &idx[i], t) == 0) {
            uint64_t *last = out + (n - 1) * t->W;
            for (size_t w = 0; w < t->words[k]; w++)
                last[o + w] |= row[o + w];
            continue;
        }
        memcpy(out + n * t->W, row, t->W * sizeof(uint64_t));
        n++;
    }
    int shrank = n < t->n;
    free(t->rows);
    free(idx);
    t->rows = out;
    t->n = n;
    return shrank;
}

/* Allowed table with compressed tuples: a tuple variable per merged row
 * implies one of its values in each column (an attribute cell holding
 * every value is left out: the support clauses that use the tuple need
 * every column's instance active, and an active attribute has a value);
 * rows with wildcards keep one variable each. Support clauses as in
 * sb_allowed. */
static void sb_allowed_ctab(sb *b, const sb_table *t, int sel, int act)
{
    solver_model *m = b->m;
    sb_ctab c = {.nv = t->nv};
    size_t *wild = malloc((t->nrows ? t->nrows : 1) * sizeof(size_t)), nwild = 0;
    int *tv = NULL, *wv = NULL;
    c.off = calloc(t->nv + 1, sizeof(size_t));
    c.words = calloc(t->nv + 1, sizeof(size_t));
    if (!wild || !c.off || !c.words)
        goto oom;
    for (size_t k = 0; k < t->nv; k++) {
        c.off[k] = c.W;
        c.words[k] = (m->vars[t->col[k]].nvalues + 63) / 64;
        c.W += c.words[k];
    }
    c.rows = calloc((t->nrows ? t->nrows : 1) * (c.W ? c.W : 1), sizeof(uint64_t));
    if (!c.rows)
        goto oom;
    for (size_t r = 0; r < t->nrows; r++) {
        bool never = false, star = false;
        for (size_t k = 0; k < t->nv; k++) {
            size_t idx = t->cell[r * t->nv + k];
            never |= idx == SIZE_MAX;
            star |= idx == SB_WILD;
        }
        if (never)
            continue; /* a row that never holds supports nothing */
        if (star) {
            wild[nwild++] = r;
            continue;
        }
        uint64_t *row = c.rows + c.n++ * c.W;
        for (size_t k = 0; k < t->nv; k++) {
            size_t idx = t->cell[r * t->nv + k];
            row[c.off[k] + idx / 64] |= (uint64_t)1 << (idx % 64);
        }
    }
    for (int round = 0, more = 1; more && round < 4; round++) {
        more = 0;
        for (size_t k = 0; k < t->nv; k++) {
            int s = ctab_merge(&c, k);
            if (s < 0)
                goto oom;
            more |= s;
        }
    }
    tv = malloc((c.n ? c.n : 1) * sizeof(int));
    wv = malloc((nwild ? nwild : 1) * sizeof(int));
    if (!tv || !wv)
        goto oom;
    for (size_t r = 0; r < c.n && !b->rc; r++) {
        const uint64_t *row = c.rows + r * c.W;
        tv[r] = sb_new_var(b);
        for (size_t k = 0; k < t->nv; k++) {
            size_t var = t->col[k], nval = m->vars[var].nvalues, cnt = 0;
            for (size_t i = 0; i < nval; i++)
                cnt += (row[c.off[k] + i / 64] >> (i % 64)) & 1;
            if (cnt == nval && m->vars[var].kind == SOLVER_VAR_ATTR)
                continue;
            cl_begin(b);
            cl_add(b, -tv[r]);
            for (size_t i = 0; i < nval; i++)
                if ((row[c.off[k] + i / 64] >> (i % 64)) & 1)
                    cl_add(b, sv_lit(m, var, i));
            cl_end(b);
        }
    }
    for (size_t w = 0; w < nwild && !b->rc; w++) {
        wv[w] = sb_new_var(b);
        for (size_t k = 0; k < t->nv; k++)
            if (t->cell[wild[w] * t->nv + k] != SB_WILD)
                cl2(b, -wv[w], sb_cell_lit(m, t, wild[w], k));
    }
    for (size_t k = 0; k < t->nv && !b->rc; k++) {
        size_t var = t->col[k], nval = m->vars[var].nvalues;
        for (size_t i = 0; i < nval && !b->rc; i++) {
            cl_begin(b);
            cl_add(b, -sel);
            cl_add(b, -act);
            for (size_t j = 0; j < t->nv; j++)
                if (j != k)
                    cl_add(b, -t->colact[j]);
            cl_add(b, -sv_lit(m, var, i));
            for (size_t r = 0; r < c.n; r++)
                if ((c.rows[r * c.W + c.off[k] + i / 64] >> (i % 64)) & 1)
                    cl_add(b, tv[r]);
            for (size_t w = 0; w < nwild; w++) {
                size_t idx = t->cell[wild[w] * t->nv + k];
                if (idx == i || idx == SB_WILD)
                    cl_add(b, wv[w]);
            }
            cl_end(b);
        }
    }
    goto out;
oom:
    sb_oom(b);
out:
    free(wild);
    free(tv);
    free(wv);
    free(c.off);
    free(c.words);
    free(c.rows);
}

/* Allowed rows, support semantics: every value a column takes needs a
 * row that holds and has that value (or *) in that column; a row holds
 * when all its non-wildcard cells do (a tuple variable per row, or the
 * other cell directly for binary tables). */
static void sb_allowed(sb *b, const sb_table *t, int sel, int act)
{
    solver_model *m = b->m;
    bool binary = t->nv == 2;
    int *tv = NULL;
    if (!binary) {
        sb_allowed_ctab(b, t, sel, act);
        return;
    }
    size_t *order = malloc((t->nrows ? t->nrows : 1) * sizeof(size_t));
    size_t *start = NULL;
    if (!order)
        goto oom;
    if (!binary) {
        tv = malloc((t->nrows ? t->nrows : 1) * sizeof(int));
        if (!tv)
            goto oom;
        for (size_t r = 0; r < t->nrows; r++) {
            tv[r] = sb_new_var(b);
            for (size_t k = 0; k < t->nv; k++)
                if (t->cell[r * t->nv + k] != SB_WILD)
                    cl2(b, -tv[r], sb_cell_lit(m, t, r, k));
        }
    }
    for (size_t k = 0; k < t->nv && !b->rc; k++) {
        size_t var = t->col[k], nval = m->vars[var].nvalues;
        /* bucket the rows by their value in column k (wildcards last) */
        free(start);
        start = calloc(nval + 3, sizeof(size_t));
        if (!start)
            goto oom;
        for (size_t r = 0; r < t->nrows; r++) {
            size_t idx = t->cell[r * t->nv + k];
            start[(idx == SB_WILD ? nval : idx == SIZE_MAX ? nval + 1 : idx) + 2]++;
        }
        for (size_t i = 2; i < nval + 3; i++)
            start[i] += start[i - 1];
        for (size_t r = 0; r < t->nrows; r++) {
            size_t idx = t->cell[r * t->nv + k];
            order[start[(idx == SB_WILD ? nval : idx == SIZE_MAX ? nval + 1 : idx) + 1]++] = r;
        }
        /* now rows with value i are order[start[i]..start[i+1]); wild at nval */
        for (size_t i = 0; i < nval && !b->rc; i++) {
            cl_begin(b);
            cl_add(b, -sel);
            cl_add(b, -act);
            for (size_t j = 0; j < t->nv; j++)
                if (j != k)
                    cl_add(b, -t->colact[j]);
            cl_add(b, -sv_lit(m, var, i));
            bool trivial = false;
            for (int pass = 0; pass < 2 && !trivial; pass++) {
                size_t bucket = pass == 0 ? i : nval;
                for (size_t q = start[bucket]; q < start[bucket + 1]; q++) {
                    size_t r = order[q];
                    int l = binary ? sb_cell_lit(m, t, r, 1 - k) : tv[r];
                    if (l == SV_TRUE) {
                        trivial = true;
                        break;
                    }
                    cl_add(b, l);
                }
            }
            if (!trivial)
                cl_end(b);
        }
    }
    goto out;
oom:
    sb_oom(b);
out:
    free(order);
    free(start);
    free(tv);
}

static void sb_con_table(sb *b, size_t inst, const cat_constraint *c, int sel)
{
    solver_model *m = b->m;
    sb_table t = {c->nvars, c->nrows, NULL, NULL, NULL};
    size_t ncells;
    if (__builtin_mul_overflow(c->nvars, c->nrows, &ncells)) {
        sb_oom(b);
        return;
    }
    t.col = malloc((c->nvars ? c->nvars : 1) * sizeof(size_t));
    t.colact = malloc((c->nvars ? c->nvars : 1) * sizeof(int));
    t.cell = malloc((ncells ? ncells : 1) * sizeof(size_t));
    if (!t.col || !t.colact || !t.cell) {
        sb_oom(b);
        goto out;
    }
    for (size_t k = 0; k < c->nvars; k++) {
        t.col[k] = sb_resolve(b, inst, c->vars[k]);
        if (t.col[k] == SIZE_MAX) {
            sb_error(b, CPQD_EINVAL, c->pos, "constraint '%s': cannot resolve %s", c->id,
                     c->vars[k]);
            goto out;
        }
        t.colact[k] = m->insts[m->vx[t.col[k]].inst].act;
    }
    for (size_t r = 0; r < c->nrows; r++)
        for (size_t k = 0; k < c->nvars; k++) {
            const char *cell = c->cells[r * c->nvars + k], *why;
            t.cell[r * c->nvars + k] =
                strcmp(cell, "*") == 0 ? SB_WILD
                                       : value_lookup(m, t.col[k], cell, strlen(cell), false, &why);
        }
    if (c->forbidden)
        sb_forbidden(b, &t, sel, m->insts[inst].act);
    else
        sb_allowed(b, &t, sel, m->insts[inst].act);
out:
    free(t.col);
    free(t.colact);
    free(t.cell);
}

/* Scaled integer value of d at scale sc, or -1 if it does not fit. */
static int64_t scaled(money_dec d, int sc)
{
    money_dec r;
    if (money_rescale(d, sc, MONEY_DOWN, &r) || r.coef < 0)
        return -1;
    return r.coef;
}

typedef struct sb_contrib {
    int lit;
    money_dec amount;
} sb_contrib;

/* Collects the quantity contributions of each option of group var gv:
 * per option, (lit, amount) pairs, the first being "not selected, 0". */
static int sb_contribs(sb *b, size_t gv, sb_contrib **out, size_t **first)
{
    solver_model *m = b->m;
    const solver_var *v = &m->vars[gv];
    size_t n = 0;
    for (size_t o = 0; o < v->nvalues; o++) {
        size_t q = m->vx[gv].qty[o];
        n += 1 + (q == SIZE_MAX ? 1 : m->vars[q].nvalues);
    }
    sb_contrib *cs = malloc(n * sizeof(*cs) + 1);
    size_t *f = malloc((v->nvalues + 1) * sizeof(size_t));
    if (!cs || !f) {
        free(cs);
        free(f);
        return sb_oom(b);
    }
    size_t k = 0;
    for (size_t o = 0; o < v->nvalues; o++) {
        f[o] = k;
        int x = sv_lit(m, gv, o);
        cs[k++] = (sb_contrib){-x, money_from_int(0)};
        size_t q = m->vx[gv].qty[o];
        if (q == SIZE_MAX) {
            cs[k++] = (sb_contrib){x, v->group->options[o].qty};
            continue;
        }
        for (size_t i = 0; i < m->vars[q].nvalues; i++)
            cs[k++] = (sb_contrib){sv_lit(m, q, i), m->vx[q].num[i]};
    }
    f[v->nvalues] = k;
    *out = cs;
    *first = f;
    return 0;
}

/* Quantity bounds: an exact sum automaton over the options (states are
 * the partial sums in units of 10^-scale, capped at max + 1): state
 * literals are forced true along the actual partial sums, and the final
 * states outside [min, max] are forbidden. */
static void sb_con_quantity(sb *b, size_t inst, const cat_constraint *c, int sel)
{
    solver_model *m = b->m;
    size_t gv = sb_resolve(b, inst, c->qty_path);
    sb_contrib *cs = NULL;
    size_t *first = NULL;
    int *cur = NULL, *nxt = NULL;
    if (gv == SIZE_MAX || sb_contribs(b, gv, &cs, &first))
        return;
    size_t nopt = m->vars[gv].nvalues;
    int sc = max_scale(c->qty_min, c->qty_max);
    for (size_t i = 0; i < first[nopt]; i++) {
        int s2 = max_scale(cs[i].amount, cs[i].amount);
        sc = s2 > sc ? s2 : sc;
    }
    int64_t lo = scaled(c->qty_min, sc), hi = scaled(c->qty_max, sc);
    size_t work;
    if (lo < 0 || hi < 0 || hi > (int64_t)SB_MAX_QTY_CLAUSES ||
        __builtin_mul_overflow((size_t)hi + 2, first[nopt], &work) || work > SB_MAX_QTY_CLAUSES) {
        sb_error(b, CPQD_ELIMIT, c->pos, "constraint '%s': quantity bounds of %s too large to encode",
                 c->id, c->qty_path);
        goto out;
    }
    size_t ns = (size_t)hi + 2;
    cur = calloc(ns, sizeof(int));
    nxt = calloc(ns, sizeof(int));
    if (!cur || !nxt) {
        sb_oom(b);
        goto out;
    }
    cur[0] = SV_TRUE;
    for (size_t o = 0; o < nopt && !b->rc; o++) {
        memset(nxt, 0, ns * sizeof(int));
        for (size_t s = 0; s < ns; s++) {
            if (!cur[s])
                continue;
            for (size_t i = first[o]; i < first[o + 1]; i++) {
                int64_t a = scaled(cs[i].amount, sc);
                size_t w = a < 0 || (uint64_t)a >= ns - s ? ns - 1 : s + (size_t)a;
                if (!nxt[w])
                    nxt[w] = sb_new_var(b);
                cl3(b, -cur[s], -cs[i].lit, nxt[w]);
            }
        }
        int *t = cur;
        cur = nxt;
        nxt = t;
    }
    int act = m->insts[m->vx[gv].inst].act;
    for (size_t s = 0; s < ns; s++)
        if (cur[s] && ((int64_t)s < lo || (int64_t)s > hi))
            cl3(b, -sel, -act, -cur[s]);
out:
    free(cs);
    free(first);
    free(cur);
    free(nxt);
}

static void sb_constraints(sb *b)
{
    solver_model *m = b->m;
    for (size_t I = 0; I < m->ninsts && !b->rc; I++) {
        const cat_product *p = m->insts[I].product;
        for (size_t k = 0; k < p->nconstraints && !b->rc; k++) {
            const cat_constraint *c = &p->constraints[k];
            int s = sb_selector(b, SV_SEL_CONSTRAINT, c, NULL, I, SIZE_MAX);
            if (c->kind == CAT_CON_TABLE)
                sb_con_table(b, I, c, s);
            else if (c->kind == CAT_CON_QUANTITY)
                sb_con_quantity(b, I, c, s);
            else
                sb_con_logic(b, I, c, s);
        }
    }
}

/* ---- the model ---- */

void solver_model_free(solver_model *m)
{
    if (!m)
        return;
    free(m->vars);
    free(m->vx);
    free(m->vlit);
    free(m->vvar);
    free(m->insts);
    free(m->sels);
    free(m->clauses);
    free(m->by_path);
    arena_free(m->a);
    free(m);
}

static int path_cmp(const void *pa, const void *pb)
{
    return strcmp(((const sv_path *)pa)->path, ((const sv_path *)pb)->path);
}

static int sb_index_paths(sb *b)
{
    solver_model *m = b->m;
    m->by_path = malloc((m->nvars ? m->nvars : 1) * sizeof(*m->by_path));
    if (!m->by_path)
        return sb_oom(b);
    for (size_t i = 0; i < m->nvars; i++)
        m->by_path[i] = (sv_path){m->vars[i].path, i};
    qsort(m->by_path, m->nvars, sizeof(*m->by_path), path_cmp);
    return 0;
}

static void sb_fini(sb *b)
{
    free(b->cl);
    free(b->seen_gen);
    free(b->seen_lit);
    free(b->open);
    if (b->ment)
        for (size_t v = 0; v < b->ment_vars; v++)
            free(b->ment[v]);
    free(b->ment);
    free(b->nment);
    free(b->cap_ment);
    for (size_t k = 0; k < b->naidx; k++)
        free(b->aidx[k].slot);
    free(b->aidx);
}

static int sb_run(sb *b)
{
    solver_model *m = b->m;
    /* the unit clause TRUE, added as is (cl_end would drop it) */
    void *q = grow(m->clauses, &b->cap_lits, 2, sizeof(int));
    if (!q)
        return sb_oom(b);
    m->clauses = q;
    m->clauses[0] = SV_TRUE;
    m->clauses[1] = 0;
    m->nlits = 2;
    m->nclauses = 1;
    m->nsat = SV_TRUE;
    if (sb_unfold(b, m->product, "", SIZE_MAX, SIZE_MAX, SIZE_MAX, 0) || sb_closed_domains(b))
        return b->rc;
    b->ment = calloc(m->nvars ? m->nvars : 1, sizeof(*b->ment));
    b->nment = calloc(m->nvars ? m->nvars : 1, sizeof(size_t));
    b->cap_ment = calloc(m->nvars ? m->nvars : 1, sizeof(size_t));
    if (!b->ment || !b->nment || !b->cap_ment)
        return sb_oom(b);
    b->ment_vars = m->nvars;
    for (size_t I = 0; I < m->ninsts; I++)
        if (sb_mentions_of(b, I))
            return b->rc;
    if (sb_open_domains(b) || sb_qty_caps(b) || sb_qty_vars(b) || sb_alloc_values(b))
        return b->rc;
    sb_structure(b);
    sb_constraints(b);
    if (!b->rc)
        sb_index_paths(b);
    return b->rc;
}

solver_model *solver_model_build(const cat_product *p, cpqd_errs *errs)
{
    solver_model *m = calloc(1, sizeof(*m));
    sb b = {.m = m, .errs = errs};
    if (!m || !(m->a = arena_new(1024))) {
        free(m);
        errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "out of memory while compiling product %s",
                 p->sku);
        return NULL;
    }
    m->product = p;
    m->uid = atomic_fetch_add(&next_uid, 1);
    int rc = sb_run(&b);
    sb_fini(&b);
    if (rc) {
        if (rc == CPQD_ENOMEM)
            errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "out of memory while compiling product %s",
                     p->sku);
        solver_model_free(m);
        return NULL;
    }
    /* give back the slack of the growable arrays (tens of thousands of
     * models in a large catalog) */
    int *cl = realloc(m->clauses, (m->nlits ? m->nlits : 1) * sizeof(int));
    if (cl)
        m->clauses = cl;
    solver_var *vars = realloc(m->vars, (m->nvars ? m->nvars : 1) * sizeof(*vars));
    if (vars)
        m->vars = vars;
    sv_varx *vx = realloc(m->vx, (m->nvars ? m->nvars : 1) * sizeof(*vx));
    if (vx)
        m->vx = vx;
    sv_inst *insts = realloc(m->insts, (m->ninsts ? m->ninsts : 1) * sizeof(*insts));
    if (insts)
        m->insts = insts;
    sv_sel *sels = realloc(m->sels, (m->nsels ? m->nsels : 1) * sizeof(*sels));
    if (sels)
        m->sels = sels;
    return m;
}

const cat_product *solver_model_product(const solver_model *m)
{
    return m->product;
}

size_t solver_var_count(const solver_model *m)
{
    return m->nvars;
}

const solver_var *solver_var_at(const solver_model *m, size_t i)
{
    return i < m->nvars ? &m->vars[i] : NULL;
}

size_t solver_var_find(const solver_model *m, const char *path, size_t len)
{
    size_t lo = 0, hi = m->nvars;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = m->by_path[mid].path;
        size_t pl = strlen(p);
        int c = memcmp(p, path, pl < len ? pl : len);
        if (c == 0)
            c = pl < len ? -1 : pl > len;
        if (c == 0)
            return m->by_path[mid].var;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

void solver_model_stats_get(const solver_model *m, solver_model_stats *out)
{
    *out = (solver_model_stats){m->ninsts, m->nvars, m->nvals, (size_t)m->nsat, m->nclauses,
                                m->nlits - m->nclauses, m->nsels};
}

int *sv_domain_clauses(const solver_model *m, size_t *nlits)
{
    uint8_t *is_sel = calloc((size_t)m->nsat + 1, 1);
    int *out = malloc((m->nlits ? m->nlits : 1) * sizeof(int));
    if (!is_sel || !out) {
        free(is_sel);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < m->nsels; i++)
        is_sel[m->sels[i].sat] = 1;
    size_t n = 0, start = 0;
    for (size_t i = 0; i < m->nlits; i++) {
        if (m->clauses[i] != 0)
            continue;
        bool sat_by_sel = false; /* a selector occurring positively: none do */
        for (size_t k = start; k < i; k++)
            sat_by_sel |= m->clauses[k] > 0 && is_sel[m->clauses[k]];
        if (!sat_by_sel) {
            for (size_t k = start; k < i; k++)
                if (m->clauses[k] > 0 || !is_sel[-m->clauses[k]])
                    out[n++] = m->clauses[k];
            out[n++] = 0;
        }
        start = i + 1;
    }
    free(is_sel);
    *nlits = n;
    return out;
}

void sv_load_solver(const solver_model *m, struct CCaDiCaL *sat, bool guarded)
{
    /* CaDiCaL prints "c found falsified original clause" when a model
     * without valid configuration is loaded with its constraints on */
    ccadical_set_option(sat, "quiet", 1);
    size_t n = 0;
    int *dom = guarded ? NULL : sv_domain_clauses(m, &n);
    if (dom) {
        for (size_t i = 0; i < n; i++)
            ccadical_add(sat, dom[i]);
        free(dom);
    } else {
        /* as built (also without memory for the domain clauses: then the
         * selectors are units) */
        for (size_t i = 0; i < m->nlits; i++)
            ccadical_add(sat, m->clauses[i]);
        for (size_t i = 0; i < m->nsels; i++) {
            if (guarded) {
                ccadical_freeze(sat, m->sels[i].sat);
            } else {
                ccadical_add(sat, m->sels[i].sat);
                ccadical_add(sat, 0);
            }
        }
    }
    for (size_t i = 0; i < m->nvals; i++)
        ccadical_freeze(sat, m->vlit[i]);
}

/* ---- per snapshot ---- */

#define SB_TWO_MIN 4096 /* products (models when freed) from which two threads share the work */

typedef struct sv_entry {
    const cat_product *p;
    solver_model *m;
    bool by_helper; /* built by the second thread of solver_snapshot_build */
} sv_entry;

typedef struct sv_snapshot {
    sv_entry *e;
    size_t n;
} sv_snapshot;

static int entry_cmp(const void *pa, const void *pb)
{
    uintptr_t a = (uintptr_t)((const sv_entry *)pa)->p, c = (uintptr_t)((const sv_entry *)pb)->p;
    return a < c ? -1 : a > c;
}

/* The models of x that thread helper (or the first) built, freed. */
typedef struct sv_free_job {
    sv_snapshot *x;
    bool helper;
} sv_free_job;

static void *sv_free_run(void *arg)
{
    const sv_free_job *j = arg;
    for (size_t i = 0; i < j->x->n; i++)
        if (j->x->e[i].by_helper == j->helper)
            solver_model_free(j->x->e[i].m);
    return NULL;
}

void solver_snapshot_free(void *ext)
{
    sv_snapshot *x = ext;
    if (!x)
        return;
    /* the models of a large catalog are hundreds of thousands of blocks,
     * freed at the end of `cpqd check` while it waits: those of the
     * build's second thread on a second thread (from the heap that
     * thread left, so that the two do not contend for one) */
    sv_free_job mine = {x, false}, other = {x, true};
    pthread_t th;
    bool two = x->n >= SB_TWO_MIN && pthread_create(&th, NULL, sv_free_run, &other) == 0;
    sv_free_run(&mine);
    if (two)
        pthread_join(th, NULL);
    else
        sv_free_run(&other);
    free(x->e);
    free(x);
}

/* ---- building every model on the machine's cores ----
 * Products are taken in chunks by two threads (the models of a catalog
 * are not spread evenly: halves by count left one thread waiting), each
 * chunk's models and errors kept apart and joined in product order at
 * the end: the same models, errors and result as one loop. */

#define SB_CHUNK 512 /* products per chunk */

typedef struct sb_par {
    cat_snapshot *s;
    size_t np, nchunks;
    atomic_size_t next; /* the next chunk to take */
    atomic_int nomem;   /* out of memory: every thread stops */
    sv_entry *e;        /* chunk c's models from e[c * SB_CHUNK] */
    size_t *n;          /* per chunk: its models */
    cpqd_errs **errs;   /* per chunk: its errors (NULL: none) */
    int *rc;            /* per chunk: the code of its last product that failed */
    uint64_t gen;
} sb_par;

/* The models of chunk c; false on ENOMEM. */
static bool sb_chunk_run(sb_par *p, size_t c, bool helper)
{
    size_t to = (c + 1) * SB_CHUNK < p->np ? (c + 1) * SB_CHUNK : p->np;
    cpqd_errs *errs = errs_new();
    if (!errs)
        return false;
    for (size_t i = c * SB_CHUNK; i < to; i++) {
        const cat_product *q = cat_snapshot_product_at(p->s, i);
        if (!configurable(q))
            continue;
        size_t before = errs_count(errs);
        solver_model *m = solver_model_build(q, errs);
        if (!m) {
            p->rc[c] = errs_count(errs) > before && errs_get(errs, before)->code != CPQD_ENOMEM
                           ? errs_get(errs, before)->code
                           : CPQD_ENOMEM;
            if (p->rc[c] == CPQD_ENOMEM)
                break;
            continue;
        }
        m->gen = p->gen;
        p->e[c * SB_CHUNK + p->n[c]++] = (sv_entry){q, m, helper};
    }
    if (errs_count(errs))
        p->errs[c] = errs;
    else
        errs_free(errs);
    return p->rc[c] != CPQD_ENOMEM;
}

static void sb_work(sb_par *p, bool helper)
{
    for (;;) {
        size_t c = atomic_fetch_add(&p->next, 1);
        if (c >= p->nchunks || atomic_load(&p->nomem))
            break;
        if (!sb_chunk_run(p, c, helper))
            atomic_store(&p->nomem, 1);
    }
}

static void *sb_helper(void *arg)
{
    sb_work(arg, true);
    return NULL;
}

/* Joins the chunks in order into x and errs: the code of the last
 * product that failed, CPQD_ENOMEM before any. */
static int sb_join(sb_par *p, sv_snapshot *x, cpqd_errs *errs)
{
    int rc = atomic_load(&p->nomem) ? CPQD_ENOMEM : 0;
    for (size_t c = 0; c < p->nchunks; c++) {
        memmove(x->e + x->n, p->e + c * SB_CHUNK, p->n[c] * sizeof(*x->e));
        x->n += p->n[c];
        if (p->errs[c] && errs_append(errs, p->errs[c]) != 0)
            rc = CPQD_ENOMEM;
        errs_free(p->errs[c]);
        if (p->rc[c] && rc != CPQD_ENOMEM)
            rc = p->rc[c];
    }
    return rc;
}

int solver_snapshot_build(cat_snapshot *s, cpqd_errs *errs, void **out)
{
    *out = NULL;
    size_t np = cat_snapshot_product_count(s);
    sv_snapshot *x = calloc(1, sizeof(*x));
    sb_par p = {
        .s = s, .np = np, .nchunks = (np + SB_CHUNK - 1) / SB_CHUNK, .gen = cat_snapshot_serial(s)};
    atomic_init(&p.next, 0);
    atomic_init(&p.nomem, 0);
    size_t nc = p.nchunks ? p.nchunks : 1;
    p.n = calloc(nc, sizeof(size_t));
    p.errs = calloc(nc, sizeof(cpqd_errs *));
    p.rc = calloc(nc, sizeof(int));
    if (!x || !(x->e = calloc(np ? np : 1, sizeof(*x->e))) || !p.n || !p.errs || !p.rc) {
        if (x)
            free(x->e);
        free(x);
        free(p.n);
        free(p.errs);
        free(p.rc);
        return CPQD_ENOMEM;
    }
    p.e = x->e;
    pthread_t th;
    bool two = np >= SB_TWO_MIN && pthread_create(&th, NULL, sb_helper, &p) == 0;
    sb_work(&p, false); /* this thread too (alone for small catalogs, or without a thread) */
    if (two)
        pthread_join(th, NULL);
    int rc = sb_join(&p, x, errs);
    free(p.n);
    free(p.errs);
    free(p.rc);
    if (rc) {
        solver_snapshot_free(x);
        return rc;
    }
    qsort(x->e, x->n, sizeof(*x->e), entry_cmp);
    *out = x;
    return 0;
}

const solver_model *solver_snapshot_model(const cat_snapshot *s, const cat_product *p)
{
    const sv_snapshot *x = s ? cat_snapshot_ext(s, CAT_EXT_SOLVER) : NULL;
    if (!x || !p)
        return NULL;
    sv_entry key = {p, NULL, false};
    const sv_entry *e = bsearch(&key, x->e, x->n, sizeof(*x->e), entry_cmp);
    return e ? e->m : NULL;
}

/* Every model of the snapshot in SKU order (for checks). */
size_t sv_snapshot_models(const cat_snapshot *s, const solver_model **out, size_t cap)
{
    const sv_snapshot *x = s ? cat_snapshot_ext(s, CAT_EXT_SOLVER) : NULL;
    if (!x)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < cat_snapshot_product_count(s); i++) {
        const solver_model *m = solver_snapshot_model(s, cat_snapshot_product_at(s, i));
        if (m && n < cap)
            out[n] = m;
        n += m != NULL;
    }
    return n;
}
