/*
 * solver_check: the static checks of `cpqd check` over compiled models.
 *
 * Owns: reporting products without any valid configuration, constraints
 * that can never hold, dead options and attribute values (errors) and
 * options forced by constraints (notes), each at its catalog file:line.
 * Does not own: valid domains and explanations (solver.c), which it calls
 * with no choices.
 *
 * Each finding is reported once: a dead or forced value inside a
 * sub-assembly is reported by the model of the product that owns it when
 * its own constraints cause it, and by the enclosing model only when the
 * enclosing product's constraints are needed; values below a dead option
 * are not repeated.
 */
#include "solver_int.h"

#include <ccadical.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* " (constraints: a at file:line, ...; groups: g ...)" into a malloc'ed
 * string, or NULL. */
static char *reason_text(const solver_reason *x)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (x->nconstraints || x->ngroups)
        fputs(" (", f);
    for (size_t i = 0; i < x->nconstraints; i++) {
        const cat_constraint *c = x->constraints[i].constraint;
        fprintf(f, "%sconstraint '%s' at %s:%u", i ? ", " : "", c->id, c->pos.file, c->pos.line);
        if (x->constraints[i].at[0])
            fprintf(f, " applied to %s", x->constraints[i].at);
    }
    for (size_t i = 0; i < x->ngroups; i++) {
        const cat_group *g = x->groups[i].group;
        fprintf(f, "%sgroup '%s' min %u max %u at %s:%u", i || x->nconstraints ? ", " : "", g->id,
                g->min, g->max, g->pos.file, g->pos.line);
    }
    if (x->nconstraints || x->ngroups)
        fputs(")", f);
    if (x->truncated)
        fputs(" (explanation truncated)", f);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Whether instance i is J or below it. */
static bool below(const solver_model *m, size_t i, size_t J)
{
    for (; i != SIZE_MAX; i = m->insts[i].parent)
        if (i == J)
            return true;
    return false;
}

/* Whether literal x cannot hold with instance J active under only the
 * selectors of J's subtree: then the model of J's own product reports it. */
static bool local_unsat_sat(CCaDiCaL *sat, const solver_model *m, size_t J, int x)
{
    ccadical_assume(sat, m->insts[J].act);
    ccadical_assume(sat, x);
    for (size_t s = 0; s < m->nsels; s++)
        if (below(m, m->sels[s].inst, J))
            ccadical_assume(sat, m->sels[s].sat);
    return ccadical_solve(sat) == 20;
}

/* Root constraints that can never hold with only the BOM structure and
 * the group cardinalities, for a product without valid configuration
 * (with one, each constraint holds in it). One SAT call with everything
 * on settles the usual case (each constraint holds in that
 * configuration); otherwise the same covering as for valid domains, over
 * the selectors: "one of the constraints not yet seen on is on", with the
 * group selectors assumed, until UNSAT proves every remaining one
 * impossible. */
static int check_constraints(CCaDiCaL *sat, const solver_model *m, cpqd_errs *errors)
{
    bool *held = calloc(m->nsels ? m->nsels : 1, sizeof(bool));
    if (!held)
        return CPQD_ENOMEM;
    for (size_t s = 0; s < m->nsels; s++) {
        const sv_sel *sel = &m->sels[s];
        held[s] = sel->kind != SV_SEL_CONSTRAINT || sel->inst != 0;
        ccadical_assume(sat, sel->sat);
    }
    if (ccadical_solve(sat) == 10) {
        free(held);
        return 0;
    }
    for (;;) {
        size_t cnt = 0;
        for (size_t s = 0; s < m->nsels; s++)
            if (!held[s]) {
                ccadical_constrain(sat, m->sels[s].sat);
                cnt++;
            }
        if (!cnt)
            break;
        ccadical_constrain(sat, 0);
        for (size_t g = 0; g < m->nsels; g++)
            if (m->sels[g].kind == SV_SEL_GROUP)
                ccadical_assume(sat, m->sels[g].sat);
        if (ccadical_solve(sat) != 10)
            break;
        for (size_t s = 0; s < m->nsels; s++)
            held[s] |= ccadical_val(sat, m->sels[s].sat) > 0;
    }
    int rc = 0;
    for (size_t s = 0; s < m->nsels && !rc; s++) {
        if (held[s])
            continue;
        const cat_constraint *c = m->sels[s].con;
        if (errs_add(errors, CPQD_EINVAL, c->pos.file, c->pos.line, c->pos.col,
                     "product %s: constraint '%s' can never hold", m->product->sku, c->id))
            rc = CPQD_ENOMEM;
    }
    free(held);
    return rc;
}

typedef struct ck_walk ck_walk;
static int walk_local(ck_walk *k, const solver_model *m, size_t J, int x);

typedef struct ck {
    const solver_model *m;
    CCaDiCaL *sat; /* the guarded clauses, on first use (ck_sat) */
    ck_walk *walk; /* the local search's scratch */
    const solver_result *r;
    cpqd_errs *errors, *notes;
} ck;

/* The guarded solver of k, loaded on first use; NULL on ENOMEM. */
static CCaDiCaL *ck_sat(ck *k)
{
    if (!k->sat && (k->sat = ccadical_init()))
        sv_load_solver(k->m, k->sat, true);
    return k->sat;
}

/* local_unsat_sat, asked of the local search first: in the findings of
 * a sub-assembly that its enclosing product's constraints cause (nearly
 * all of them), a search finds the value possible under the
 * sub-assembly's own constraints without a SAT solver. *out: the answer;
 * returns 0 or CPQD_ENOMEM. */
static int local_unsat(ck *k, size_t J, int x, bool *out)
{
    int said = walk_local(k->walk, k->m, J, x);
    if (said)
        return *out = said < 0, 0;
    if (!ck_sat(k))
        return CPQD_ENOMEM;
    *out = local_unsat_sat(k->sat, k->m, J, x);
    return 0;
}

/* Whether the option activating var v's instance is dead (reported above). */
static bool under_dead(const ck *k, size_t v)
{
    size_t I = k->m->vx[v].inst;
    return I != 0 &&
           k->r->values[k->m->insts[I].opt_var][k->m->insts[I].opt_value].state == SOLVER_EXCLUDED;
}

static int report_value(ck *k, size_t v, size_t i)
{
    const solver_model *m = k->m;
    const solver_var *sv = &m->vars[v];
    const solver_value_result *vr = &k->r->values[v][i];
    size_t I = m->vx[v].inst;
    bool dead = vr->state == SOLVER_EXCLUDED;
    if (sv->kind == SOLVER_VAR_QTY || (!dead && vr->state != SOLVER_IMPLIED))
        return 0;
    if (dead ? under_dead(k, v) : sv->kind != SOLVER_VAR_GROUP || sv->group->min >= sv->nvalues)
        return 0;
    int lit = sv_lit(m, v, i);
    bool local = false;
    if (I != 0 && local_unsat(k, I, dead ? lit : -lit, &local))
        return CPQD_ENOMEM;
    if (local)
        return 0;
    char *why = dead ? reason_text(&vr->reason) : NULL;
    if (dead && !why)
        return CPQD_ENOMEM;
    const char *where = sv->instance[0] ? " in " : "";
    int rc;
    if (sv->kind == SOLVER_VAR_GROUP) {
        const cat_pos *pos = &sv->group->options[i].pos;
        rc = dead ? errs_add(k->notes, CPQD_EINVAL, pos->file, pos->line, pos->col,
                             "product %s: option %s of group %s%s%s can never be selected%s",
                             m->product->sku, sv->values[i], sv->group->id, where, sv->instance,
                             why)
                  : errs_add(k->notes, CPQD_OK, pos->file, pos->line, pos->col,
                             "product %s: option %s of group %s%s%s is always selected",
                             m->product->sku, sv->values[i], sv->group->id, where, sv->instance);
    } else {
        const cat_pos *pos = &sv->attr->pos;
        rc = errs_add(k->notes, CPQD_EINVAL, pos->file, pos->line, pos->col,
                      "product %s: value %s of attribute %s%s%s can never be chosen%s",
                      m->product->sku, sv->values[i], sv->attr->attr->id, where, sv->instance, why);
    }
    free(why);
    return rc ? CPQD_ENOMEM : 0;
}

/* ---- the fast path: nothing to report, shown without a SAT solver ----
 *
 * Most products of a large catalog have nothing to report: every value
 * is true in some valid configuration and every option of a group that
 * may leave it out is left out in some. Such configurations are usually
 * found by unit propagation of the value wanted and a short local search
 * (WalkSAT) over the model's clauses with every constraint on; each one
 * found satisfies every clause, so it is a proof. When a value is not
 * found so, the exact check (solver_configure) runs as before and finds
 * the same findings with their reasons: nothing changes but the time. */

#define CK_FAST_MAX_LITS 65536 /* larger models (imported feature models) go to the exact
                                  check at once: its setup is small beside their solving */
#define CK_WALK_FLIPS 16      /* flips per clause of the model, per search */
#define CK_WALK_MIN_FLIPS 256 /* ... but at least this many */
#define CK_PIN_FLIPS 8        /* flips after a value fixed alone, before propagation helps */

/* The local search's state; its arrays are scratch kept from model to
 * model by one thread (walk_room grows them). */
struct ck_walk {
    size_t ncl;
    int nsat;
    uint32_t *start;        /* clause c: lits[start[c] .. start[c + 1]) */
    int *lits;
    uint32_t *ostart, *occ; /* clauses per literal (lit_x) */
    uint32_t *ntrue;        /* true literals per clause */
    uint32_t *unsat, *upos; /* the false clauses, and where each is in unsat */
    size_t nunsat;
    signed char *w;         /* per SAT variable: 1 true, 0 false */
    signed char *fixed;     /* per SAT variable: set by propagation, not flipped */
    int *trail;             /* the fixed literals, in order */
    size_t ntrail;
    int *log;               /* variables flipped since walk_seen */
    size_t nlog;
    uint64_t rng;
    signed char *is_sel;           /* walk_init: per SAT variable, a selector */
    uint32_t *at;                  /* walk_init: per literal, the next occurrence slot */
    uint8_t *seen;                 /* per value: 1 seen true, 2 seen false */
    size_t *vidx;                  /* per SAT variable: its value, or SIZE_MAX */
    size_t cap_v, cap_l, cap_vals; /* room: SAT variables + 1, literals, values */
    const solver_model *lm;        /* walk_local: the clauses loaded are m's under instance lj's */
    size_t lj;                     /* selectors only, lj active (lm NULL: not loaded) */
    size_t lroot;                  /* ... fixed so far */
    bool lok;                      /* ... without conflict */
};

static void walk_free(ck_walk *k)
{
    free(k->start);
    free(k->lits);
    free(k->ostart);
    free(k->occ);
    free(k->ntrue);
    free(k->unsat);
    free(k->upos);
    free(k->w);
    free(k->fixed);
    free(k->trail);
    free(k->log);
    free(k->is_sel);
    free(k->at);
    free(k->seen);
    free(k->vidx);
    memset(k, 0, sizeof(*k));
}

/* Room in k for nv SAT variables (the constant included), nlits
 * literals (clauses: at most as many, each ends with one) and nvals
 * values; false on ENOMEM (k is then empty). */
static bool walk_room(ck_walk *k, size_t nv, size_t nlits, size_t nvals)
{
    if (nv <= k->cap_v && nlits <= k->cap_l && nvals <= k->cap_vals)
        return true;
    size_t cv = nv > 2 * k->cap_v ? nv : 2 * k->cap_v,
           cl = nlits > 2 * k->cap_l ? nlits : 2 * k->cap_l;
    size_t cn = nvals > 2 * k->cap_vals ? nvals : 2 * k->cap_vals;
    walk_free(k);
    cl = cl ? cl : 1;
    cn = cn ? cn : 1;
    k->start = malloc((cl + 1) * sizeof(uint32_t));
    k->lits = malloc(cl * sizeof(int));
    k->ostart = malloc((2 * cv + 1) * sizeof(uint32_t));
    k->occ = malloc(cl * sizeof(uint32_t));
    k->ntrue = malloc(cl * sizeof(uint32_t));
    k->unsat = malloc(cl * sizeof(uint32_t));
    k->upos = malloc(cl * sizeof(uint32_t));
    k->w = malloc(cv);
    k->fixed = malloc(cv);
    k->trail = malloc(cv * sizeof(int));
    k->log = malloc(cv * sizeof(int));
    k->is_sel = malloc(cv);
    k->at = malloc(2 * cv * sizeof(uint32_t));
    k->seen = malloc(cn);
    k->vidx = malloc(cv * sizeof(size_t));
    if (!k->start || !k->lits || !k->ostart || !k->occ || !k->ntrue || !k->unsat || !k->upos ||
        !k->w || !k->fixed || !k->trail || !k->log || !k->is_sel || !k->at || !k->seen ||
        !k->vidx) {
        walk_free(k);
        return false;
    }
    k->cap_v = cv;
    k->cap_l = cl;
    k->cap_vals = cn;
    return true;
}

static size_t lit_x(int l)
{
    return l > 0 ? 2 * (size_t)l : 2 * (size_t)-l + 1;
}

static bool holds_w(const ck_walk *k, int l)
{
    return l > 0 ? k->w[l] > 0 : k->w[-l] <= 0;
}

static void walk_flip(ck_walk *k, int v);
static void walk_count(ck_walk *k);

/* Fixes literal l and what unit propagation derives from it; false on a
 * conflict (then l cannot hold with the literals fixed before it). */
static bool walk_fix(ck_walk *k, int l)
{
    int v = l < 0 ? -l : l;
    if (k->fixed[v])
        return holds_w(k, l);
    size_t q = k->ntrail;
    if (!holds_w(k, l))
        walk_flip(k, v);
    k->fixed[v] = 1;
    k->trail[k->ntrail++] = l;
    while (q < k->ntrail) {
        size_t y = lit_x(-k->trail[q++]); /* clauses where it is false */
        for (uint32_t i = k->ostart[y]; i < k->ostart[y + 1]; i++) {
            uint32_t c = k->occ[i];
            int unit = 0, nfree = 0;
            bool sat = false;
            for (uint32_t j = k->start[c]; j < k->start[c + 1] && !sat; j++) {
                int x = k->lits[j], xv = x < 0 ? -x : x;
                if (k->fixed[xv])
                    sat = holds_w(k, x);
                else if (nfree++ == 0)
                    unit = x;
            }
            if (sat || nfree > 1)
                continue;
            if (nfree == 0)
                return false;
            int uv = unit < 0 ? -unit : unit;
            if (!holds_w(k, unit))
                walk_flip(k, uv);
            k->fixed[uv] = 1;
            k->trail[k->ntrail++] = unit;
        }
    }
    return true;
}

/* Frees the literals fixed after the first mark of them. */
static void walk_unfix(ck_walk *k, size_t mark)
{
    while (k->ntrail > mark) {
        int l = k->trail[--k->ntrail];
        k->fixed[l < 0 ? -l : l] = 0;
    }
}

/* The model's clauses with the constraints (and group cardinalities) of
 * instance J's subtree on, every one when J is SIZE_MAX, the others off
 * (their clauses dropped); the selector literals, which occur only
 * negated, dropped; and their occurrences. False on ENOMEM. */
static bool walk_init_on(ck_walk *k, const solver_model *m, size_t J)
{
    size_t nv = (size_t)m->nsat + 1, nx = 2 * nv;
    if (!walk_room(k, nv, m->nlits, m->nvals))
        return false;
    k->nsat = m->nsat;
    k->ncl = k->nunsat = k->ntrail = k->nlog = 0;
    k->lm = NULL;
    memset(k->ostart, 0, (nx + 1) * sizeof(uint32_t));
    memset(k->w, 0, nv);
    memset(k->fixed, 0, nv);
    memset(k->is_sel, 0, nv);
    for (size_t i = 0; i < m->nsels; i++) /* 1 on, 2 off */
        k->is_sel[m->sels[i].sat] = J == SIZE_MAX || below(m, m->sels[i].inst, J) ? 1 : 2;
    size_t n = 0;
    bool off = false; /* the clause being read is of a constraint off: it holds */
    k->start[0] = 0;
    for (size_t i = 0; i < m->nlits; i++) {
        int l = m->clauses[i];
        if (l == 0 && off) {
            for (; n > k->start[k->ncl]; n--)
                k->ostart[lit_x(k->lits[n - 1]) + 1]--;
            off = false;
            continue;
        }
        if (l == 0) {
            k->start[++k->ncl] = (uint32_t)n;
            continue;
        }
        off |= l < 0 && k->is_sel[-l] == 2;
        if (off || (l < 0 && k->is_sel[-l]))
            continue;
        k->lits[n++] = l;
        k->ostart[lit_x(l) + 1]++;
    }
    for (size_t x = 0; x < nx; x++)
        k->ostart[x + 1] += k->ostart[x];
    memcpy(k->at, k->ostart, nx * sizeof(uint32_t));
    for (size_t c = 0; c < k->ncl; c++)
        for (uint32_t j = k->start[c]; j < k->start[c + 1]; j++)
            k->occ[k->at[lit_x(k->lits[j])]++] = (uint32_t)c;
    k->rng = 0x9E3779B97F4A7C15ull ^ m->nlits;
    walk_count(k);
    return true;
}

/* The model's clauses with every constraint on (selector literals, which
 * occur only negated, dropped) and their occurrences. False on ENOMEM. */
static bool walk_init(ck_walk *k, const solver_model *m)
{
    return walk_init_on(k, m, SIZE_MAX);
}

static uint64_t walk_rand(ck_walk *k)
{
    k->rng ^= k->rng << 13;
    k->rng ^= k->rng >> 7;
    k->rng ^= k->rng << 17;
    return k->rng;
}

static void walk_flip(ck_walk *k, int v)
{
    int now = k->w[v] > 0 ? -v : v; /* the literal that becomes true */
    k->w[v] = now > 0;
    if (k->nlog < (size_t)k->nsat + 1)
        k->log[k->nlog++] = v; /* (a variable flipped back and forth is logged twice:
                                  the log is cleared when full, see walk_seen) */
    size_t x = lit_x(now), y = lit_x(-now);
    for (uint32_t j = k->ostart[x]; j < k->ostart[x + 1]; j++) {
        uint32_t c = k->occ[j];
        if (k->ntrue[c]++ == 0) {
            uint32_t last = k->unsat[--k->nunsat];
            k->unsat[k->upos[c]] = last;
            k->upos[last] = k->upos[c];
        }
    }
    for (uint32_t j = k->ostart[y]; j < k->ostart[y + 1]; j++) {
        uint32_t c = k->occ[j];
        if (--k->ntrue[c] == 0) {
            k->upos[c] = (uint32_t)k->nunsat;
            k->unsat[k->nunsat++] = c;
        }
    }
}

/* Counts the true literals of every clause under k->w. */
static void walk_count(ck_walk *k)
{
    k->nunsat = 0;
    for (size_t c = 0; c < k->ncl; c++) {
        uint32_t t = 0;
        for (uint32_t j = k->start[c]; j < k->start[c + 1]; j++)
            t += holds_w(k, k->lits[j]);
        k->ntrue[c] = t;
        if (!t) {
            k->upos[c] = (uint32_t)k->nunsat;
            k->unsat[k->nunsat++] = (uint32_t)c;
        }
    }
}

/* Fixes literal l alone, without propagation; false if l's variable is
 * fixed the other way. */
static bool walk_pin(ck_walk *k, int l)
{
    int v = l < 0 ? -l : l;
    if (k->fixed[v])
        return holds_w(k, l);
    if (!holds_w(k, l))
        walk_flip(k, v);
    k->fixed[v] = 1;
    k->trail[k->ntrail++] = l;
    return true;
}

/* WalkSAT from k->w, the fixed variables kept, at most flips flips: true
 * when k->w then satisfies every clause. In a false clause, a literal
 * whose flip makes no other clause false is taken, else a random one
 * (on these small structured models a pure random walk between such
 * free moves finds configurations in fewer steps than weighing how many
 * clauses each flip breaks). */
static bool walk_search_n(ck_walk *k, size_t flips)
{
    for (size_t f = 0; k->nunsat && f < flips; f++) {
        uint32_t c = k->unsat[walk_rand(k) % k->nunsat];
        int pick = 0;
        size_t nfree = 0;
        for (uint32_t j = k->start[c]; j < k->start[c + 1] && !pick; j++) {
            int l = k->lits[j], v = l < 0 ? -l : l;
            if (k->fixed[v])
                continue;
            nfree++;
            /* a clause that only the current (true) literal of v holds? */
            size_t y = lit_x(-l);
            bool breaks = false;
            for (uint32_t i = k->ostart[y]; i < k->ostart[y + 1] && !breaks; i++)
                breaks = k->ntrue[k->occ[i]] == 1;
            if (!breaks)
                pick = v;
        }
        if (!pick) {
            if (!nfree)
                return false;
            size_t r = walk_rand(k) % nfree;
            for (uint32_t j = k->start[c]; j < k->start[c + 1]; j++) {
                int v = k->lits[j] < 0 ? -k->lits[j] : k->lits[j];
                if (!k->fixed[v] && r-- == 0) {
                    pick = v;
                    break;
                }
            }
        }
        walk_flip(k, pick);
    }
    return k->nunsat == 0;
}

static bool walk_search(ck_walk *k)
{
    size_t flips = CK_WALK_FLIPS * k->ncl;
    return walk_search_n(k, flips < CK_WALK_MIN_FLIPS ? CK_WALK_MIN_FLIPS : flips);
}

/* Whether solver_check needs value i of sv seen true (every value but
 * quantities) and false (options of a group that may leave them out)
 * to have nothing to say about it. */
static bool need_true(const solver_var *sv)
{
    return sv->kind != SOLVER_VAR_QTY;
}

static bool need_false(const solver_var *sv)
{
    return sv->kind == SOLVER_VAR_GROUP && sv->group->min < sv->nvalues;
}

/* Marks in seen (per value: 1 seen true, 2 seen false) what k->w shows:
 * only the values whose variables were flipped since the last call,
 * unless the log overflowed (then every value). */
static void walk_seen(ck_walk *k, const solver_model *m, const size_t *vidx, uint8_t *seen,
                      bool all)
{
    if (all || k->nlog == (size_t)k->nsat + 1) {
        for (size_t g = 0; g < m->nvals; g++)
            seen[g] |= holds_w(k, m->vlit[g]) ? 1 : 2;
    } else {
        for (size_t i = 0; i < k->nlog; i++) {
            size_t g = vidx[k->log[i]];
            if (g != SIZE_MAX)
                seen[g] |= k->w[k->log[i]] > 0 ? 1 : 2;
        }
    }
    k->nlog = 0;
}

/* sv_check_clear with k's scratch. */
static bool check_clear(ck_walk *k, const solver_model *m)
{
    size_t nv = (size_t)m->nsat + 1;
    if (!m->nvals || m->nlits > CK_FAST_MAX_LITS)
        return false;
    bool ok = walk_init(k, m) && walk_fix(k, SV_TRUE) && walk_search(k);
    uint8_t *seen = k->seen;
    size_t *vidx = k->vidx; /* value per SAT variable */
    if (ok) {
        memset(seen, 0, m->nvals);
        for (size_t x = 0; x < nv; x++)
            vidx[x] = SIZE_MAX;
    }
    for (size_t g = 0; ok && g < m->nvals; g++) {
        int x = m->vlit[g];
        /* values on their own variables (as built): else the exact check */
        if (x <= 0 || (size_t)x >= nv || vidx[x] != SIZE_MAX)
            ok = false;
        else
            vidx[x] = g;
    }
    size_t root = ok ? k->ntrail : 0; /* what holds in every configuration */
    if (ok)
        walk_seen(k, m, vidx, seen, true);
    for (size_t v = 0; ok && v < m->nvars; v++) {
        const solver_var *sv = &m->vars[v];
        for (size_t i = 0; ok && i < sv->nvalues; i++) {
            size_t f = sv_val(m, v, i);
            for (uint8_t want = 1; ok && want <= 2; want++) {
                if ((seen[f] & want) || (want == 1 ? !need_true(sv) : !need_false(sv)))
                    continue;
                /* the value fixed, from the last configuration found:
                 * alone first (a few flips repair what it breaks), then
                 * with what propagation derives from it */
                int l = want == 1 ? m->vlit[f] : -m->vlit[f];
                ok = walk_pin(k, l) && walk_search_n(k, CK_PIN_FLIPS);
                if (!ok) {
                    walk_unfix(k, root);
                    ok = walk_fix(k, l) && walk_search(k);
                }
                walk_unfix(k, root);
                if (ok)
                    walk_seen(k, m, vidx, seen, false);
            }
        }
    }
    return ok;
}

/* Whether literal x can hold with instance J active under the
 * constraints of J's subtree only, by the local search: -1 no (unit
 * propagation refutes it), 1 yes (a search found an assignment with it
 * that satisfies every clause of those constraints), 0 it cannot say.
 * The clauses stay loaded in k for the next question on the same model
 * and instance. */
static int walk_local(ck_walk *k, const solver_model *m, size_t J, int x)
{
    if (m->nlits > CK_FAST_MAX_LITS)
        return 0;
    if (k->lm != m || k->lj != J) {
        if (!walk_init_on(k, m, J))
            return 0; /* no memory: the SAT solver says */
        k->lok = walk_fix(k, SV_TRUE) && walk_fix(k, m->insts[J].act);
        k->lroot = k->ntrail;
        k->lm = m;
        k->lj = J;
    }
    if (!k->lok)
        return -1; /* J cannot be active under its own constraints */
    int said = !walk_fix(k, x) ? -1 : walk_search(k) ? 1 : 0;
    walk_unfix(k, k->lroot);
    return said;
}

int sv_check_local(const solver_model *m, size_t J, int x, int *walk, bool *unsat)
{
    ck_walk w;
    memset(&w, 0, sizeof(w));
    *walk = walk_local(&w, m, J, x);
    walk_free(&w);
    CCaDiCaL *sat = ccadical_init();
    if (!sat)
        return CPQD_ENOMEM;
    sv_load_solver(m, sat, true);
    *unsat = local_unsat_sat(sat, m, J, x);
    ccadical_release(sat);
    return 0;
}

bool sv_check_clear(const solver_model *m)
{
    ck_walk k;
    memset(&k, 0, sizeof(k));
    bool ok = check_clear(&k, m);
    walk_free(&k);
    return ok;
}

/* What a checking thread keeps from model to model: the local search's
 * arrays, the exact way's context (made on first use, emptied after
 * each model, so that each starts as in a new one). */
typedef struct ck_scratch {
    ck_walk walk;
    solver_ctx *ctx;
} ck_scratch;

static void scratch_fini(ck_scratch *x)
{
    walk_free(&x->walk);
    solver_ctx_free(x->ctx);
    x->ctx = NULL;
}

static int check_exact(ck_scratch *x, const solver_model *m, cpqd_errs *errors, cpqd_errs *notes);

/* solver_check with x's scratch. */
static int check_model(ck_scratch *x, const solver_model *m, cpqd_errs *errors, cpqd_errs *notes)
{
    return check_clear(&x->walk, m) ? 0 : check_exact(x, m, errors, notes);
}

int solver_check(const solver_model *m, cpqd_errs *errors, cpqd_errs *notes)
{
    ck_scratch x;
    memset(&x, 0, sizeof(x));
    int rc = check_model(&x, m, errors, notes);
    scratch_fini(&x);
    return rc;
}

int sv_check_exact(const solver_model *m, cpqd_errs *errors, cpqd_errs *notes)
{
    ck_scratch x;
    memset(&x, 0, sizeof(x));
    int rc = check_exact(&x, m, errors, notes);
    scratch_fini(&x);
    return rc;
}

static int check_exact(ck_scratch *x, const solver_model *m, cpqd_errs *errors, cpqd_errs *notes)
{
    if (!x->ctx)
        x->ctx = solver_ctx_new();
    solver_ctx *c = x->ctx;
    solver_result r;
    memset(&r, 0, sizeof(r));
    ck k = {m, NULL, &x->walk, &r, errors, notes};
    int rc = CPQD_ENOMEM;
    if (!c)
        goto out;
    if ((rc = solver_configure(c, m, NULL, 0, SOLVER_EXPLAIN_FULL, &r)))
        goto out;
    if (!r.consistent) {
        /* constraints that can never hold come first; with a valid
         * configuration there is none (each holds in it) */
        rc = ck_sat(&k) ? check_constraints(k.sat, m, errors) : CPQD_ENOMEM;
        if (rc)
            goto out;
        char *why = reason_text(&r.conflict);
        const cat_pos *pos = &m->product->pos;
        rc = !why || errs_add(errors, CPQD_EINVAL, pos->file, pos->line, pos->col,
                              "product %s has no valid configuration%s", m->product->sku, why)
                 ? CPQD_ENOMEM
                 : 0;
        free(why);
        goto out;
    }
    for (size_t v = 0; v < m->nvars && !rc; v++)
        for (size_t i = 0; i < m->vars[v].nvalues && !rc; i++)
            rc = report_value(&k, v, i);
out:
    solver_result_fini(&r);
    if (k.sat)
        ccadical_release(k.sat);
    if (c)
        sv_ctx_drop(c, m);
    return rc;
}

/* ---- every model of a snapshot, on the machine's cores ----
 * Models are checked in chunks taken in turn by a few threads, each
 * chunk into errors lists of its own, appended in model order at the
 * end: the same lists, in the same order, as one thread would give. */

#define CK_CHUNK 64       /* models per chunk */
#define CK_MAX_THREADS 4

typedef struct ck_par {
    const solver_model **ms;
    size_t n, nchunks;
    atomic_size_t next;      /* the next chunk to take */
    cpqd_errs **errors, **notes; /* per chunk */
    atomic_int rc;
} ck_par;

static void *ck_worker(void *arg)
{
    ck_par *p = arg;
    ck_scratch x; /* model after model */
    memset(&x, 0, sizeof(x));
    for (;;) {
        size_t c = atomic_fetch_add(&p->next, 1);
        if (c >= p->nchunks || atomic_load(&p->rc))
            break;
        cpqd_errs *e = p->errors[c] = errs_new(), *no = p->notes[c] = errs_new();
        int rc = e && no ? 0 : CPQD_ENOMEM;
        for (size_t i = c * CK_CHUNK; i < p->n && i < (c + 1) * CK_CHUNK && !rc; i++)
            rc = check_model(&x, p->ms[i], e, no);
        if (rc)
            atomic_store(&p->rc, rc);
    }
    scratch_fini(&x);
    return NULL;
}

int solver_snapshot_check(const cat_snapshot *s, cpqd_errs *errors, cpqd_errs *notes)
{
    ck_par p = {.n = sv_snapshot_models(s, NULL, 0)};
    p.nchunks = (p.n + CK_CHUNK - 1) / CK_CHUNK;
    p.ms = malloc((p.n ? p.n : 1) * sizeof(*p.ms));
    p.errors = calloc(p.nchunks ? p.nchunks : 1, sizeof(cpqd_errs *));
    p.notes = calloc(p.nchunks ? p.nchunks : 1, sizeof(cpqd_errs *));
    atomic_init(&p.next, 0);
    atomic_init(&p.rc, 0);
    int rc = p.ms && p.errors && p.notes ? 0 : CPQD_ENOMEM;
    if (!rc) {
        sv_snapshot_models(s, p.ms, p.n);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t want = cpus < 1 ? 1 : cpus > CK_MAX_THREADS ? CK_MAX_THREADS : (size_t)cpus;
        if (want > p.nchunks)
            want = p.nchunks ? p.nchunks : 1;
        pthread_t th[CK_MAX_THREADS];
        size_t started = 0;
        while (started + 1 < want && pthread_create(&th[started], NULL, ck_worker, &p) == 0)
            started++;
        ck_worker(&p); /* this thread too (alone if no thread could be had) */
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        rc = atomic_load(&p.rc);
    }
    for (size_t c = 0; p.errors && c < p.nchunks; c++) {
        if (errs_append(errors, p.errors[c]) || errs_append(notes, p.notes[c]))
            rc = CPQD_ENOMEM;
        errs_free(p.errors[c]);
        errs_free(p.notes[c]);
    }
    free(p.errors);
    free(p.notes);
    free(p.ms);
    return rc;
}
