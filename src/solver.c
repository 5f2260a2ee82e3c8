/*
 * solver: configuration queries over a compiled model (see
 * include/cpqd/solver.h; the encoding is built in solver_build.c).
 *
 * Owns: the per-worker context (one CaDiCaL instance per model used, kept
 * across requests and queried under assumptions; a ring of recent witness
 * configurations per model), valid domains, minimal explanations, the
 * completeness test and the BOM roll-up.
 * Does not own: compiling models (solver_build.c), static checks
 * (solver_check.c).
 *
 * Valid domains: every value starts unknown; every valid configuration
 * found (a SAT model with all selectors assumed, cached or new) marks the
 * values true in it "can be true" and the others "can be false". Then one
 * SAT call at a time with a temporary clause (ccadical_constrain) "one of
 * the values not yet seen true is true" either finds a configuration that
 * covers at least one more, or proves all of them excluded at once; the
 * same with "one of the values not yet seen false is false" for implied
 * values. The answer is exact: no value is decided by anything but a
 * model or an UNSAT proof.
 *
 * Explanations: from the failed assumptions of the UNSAT call, deletion
 * over the choices (each removal re-solved; a removal that keeps UNSAT
 * shrinks the set to the new core), then deletion over the selectors with
 * the choices fixed. Both are minimal (see docs/configurator.md); a
 * budget of SAT calls per request bounds the work.
 */
#include "solver_int.h"

#include <ccadical.h>
#include <stdlib.h>
#include <string.h>

#define SV_SLOTS 16                /* models with a live SAT solver per worker */
#define SV_WITNESSES 32            /* cached witness configurations per model */
#define SV_DEFAULT_BUDGET 4000     /* explanation SAT calls per request */
#define SV_EXPLAIN_CONFLICTS 50000 /* conflicts per explanation SAT call */

typedef struct sv_slot {
    uint64_t uid;   /* model id, 0 when empty */
    CCaDiCaL *sat;
    size_t words;   /* 64-bit words per witness */
    uint64_t *wit;  /* SV_WITNESSES witnesses, bit per flat value */
    size_t nwit, next;
    uint64_t used;  /* LRU tick */
} sv_slot;

struct solver_ctx {
    sv_slot slot[SV_SLOTS];
    uint64_t tick;
    size_t budget;
};

solver_ctx *solver_ctx_new(void)
{
    solver_ctx *c = calloc(1, sizeof(*c));
    if (c)
        c->budget = SV_DEFAULT_BUDGET;
    return c;
}

static void slot_clear(sv_slot *s)
{
    if (s->sat)
        ccadical_release(s->sat);
    free(s->wit);
    memset(s, 0, sizeof(*s));
}

void solver_ctx_free(solver_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SV_SLOTS; i++)
        slot_clear(&c->slot[i]);
    free(c);
}

void solver_ctx_set_budget(solver_ctx *c, size_t sat_calls)
{
    c->budget = sat_calls ? sat_calls : SV_DEFAULT_BUDGET;
}

/* The slot of model m, creating its solver on first use (least recently
 * used slot evicted). NULL on ENOMEM. */
static sv_slot *ctx_slot(solver_ctx *c, const solver_model *m)
{
    sv_slot *victim = &c->slot[0];
    c->tick++;
    for (size_t i = 0; i < SV_SLOTS; i++) {
        sv_slot *s = &c->slot[i];
        if (s->uid == m->uid) {
            s->used = c->tick;
            return s;
        }
        if (s->used < victim->used)
            victim = s;
    }
    slot_clear(victim);
    victim->words = (m->nvals + 63) / 64;
    victim->wit = calloc(SV_WITNESSES * (victim->words ? victim->words : 1), sizeof(uint64_t));
    victim->sat = ccadical_init();
    if (!victim->wit || !victim->sat) {
        slot_clear(victim);
        return NULL;
    }
    sv_load_solver(m, victim->sat);
    victim->uid = m->uid;
    victim->used = c->tick;
    return victim;
}

/* ---- one request ---- */

typedef struct sv_run {
    solver_ctx *c;
    const solver_model *m;
    sv_slot *sl;
    CCaDiCaL *sat;
    size_t nch;
    size_t *cv;    /* per choice: flat value index */
    bool *cneg;    /* per choice: negated */
    size_t *qv;    /* per choice: flat index of its quantity value, or SIZE_MAX */
    uint64_t *can_t, *can_f; /* values seen true / false in some valid configuration */
    size_t calls;  /* SAT calls */
    size_t spent;  /* of them, for explanations */
    size_t hits;   /* cached witnesses used */
    int last_q;    /* the extra literal of the last call */
    bool truncated;
} sv_run;

static bool bit(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

static void bit_set(uint64_t *b, size_t i)
{
    b[i / 64] |= (uint64_t)1 << (i % 64);
}

static int choice_lit(const sv_run *r, size_t i)
{
    int l = r->m->vlit[r->cv[i]];
    return r->cneg[i] ? -l : l;
}

/* Whether witness w satisfies every choice. */
static bool witness_fits(const sv_run *r, const uint64_t *w)
{
    for (size_t i = 0; i < r->nch; i++) {
        if (bit(w, r->cv[i]) == r->cneg[i])
            return false;
        if (r->qv[i] != SIZE_MAX && !bit(w, r->qv[i]))
            return false;
    }
    return true;
}

static void witness_use(sv_run *r, const uint64_t *w)
{
    for (size_t k = 0; k < r->sl->words; k++) {
        r->can_t[k] |= w[k];
        r->can_f[k] |= ~w[k];
    }
}

/* Records the solver's current model (a valid configuration: every
 * selector was assumed) in the ring and, if it fits the choices, in the
 * request's knowledge. */
static void witness_take(sv_run *r)
{
    sv_slot *sl = r->sl;
    uint64_t *w = sl->wit + sl->next * sl->words;
    memset(w, 0, sl->words * sizeof(uint64_t));
    for (size_t i = 0; i < r->m->nvals; i++)
        if (ccadical_val(r->sat, r->m->vlit[i]) > 0)
            bit_set(w, i);
    sl->next = (sl->next + 1) % SV_WITNESSES;
    if (sl->nwit < SV_WITNESSES)
        sl->nwit++;
    if (r->can_t && witness_fits(r, w))
        witness_use(r, w);
}

/* Assumes the choices listed in chs (all if chs is NULL), the extra
 * literal q (if non-zero) and the selectors listed in sels (all if NULL),
 * then solves; limit > 0 bounds the conflicts. Returns 10, 20 or 0. */
static int run_solve(sv_run *r, const size_t *chs, size_t nchs, int q, const size_t *sels,
                     size_t nsels, int limit)
{
    const solver_model *m = r->m;
    size_t n = chs ? nchs : r->nch;
    for (size_t k = 0; k < n; k++) {
        size_t i = chs ? chs[k] : k;
        ccadical_assume(r->sat, choice_lit(r, i));
        if (r->qv[i] != SIZE_MAX)
            ccadical_assume(r->sat, m->vlit[r->qv[i]]);
    }
    if (q)
        ccadical_assume(r->sat, q);
    r->last_q = q;
    size_t ns = sels ? nsels : m->nsels;
    for (size_t k = 0; k < ns; k++)
        ccadical_assume(r->sat, m->sels[sels ? sels[k] : k].sat);
    if (limit > 0)
        ccadical_limit(r->sat, "conflicts", limit);
    r->calls++;
    return ccadical_solve(r->sat);
}

/* Whether an assumption on literal l failed. CaDiCaL marks only one of
 * two complementary assumptions (a choice and the query, or two choices)
 * as failed, so the other side of such a pair counts too. */
static bool lit_failed(const sv_run *r, int l)
{
    if (ccadical_failed(r->sat, l))
        return true;
    if (r->last_q == -l && ccadical_failed(r->sat, -l))
        return true;
    for (size_t j = 0; j < r->nch; j++)
        if (choice_lit(r, j) == -l && ccadical_failed(r->sat, -l))
            return true;
    return false;
}

static bool choice_failed(const sv_run *r, size_t i)
{
    return lit_failed(r, choice_lit(r, i)) ||
           (r->qv[i] != SIZE_MAX && lit_failed(r, r->m->vlit[r->qv[i]]));
}

/* Keeps the elements of set[0..*n) whose assumption failed in the last
 * UNSAT call (choices, or selectors when sel). */
static void keep_failed(const sv_run *r, size_t *set, size_t *n, bool sel)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        bool f = sel ? ccadical_failed(r->sat, r->m->sels[set[i]].sat) != 0
                     : choice_failed(r, set[i]);
        if (f)
            set[k++] = set[i];
    }
    *n = k;
}

/* ---- valid domains ---- */

/* One temporary clause over the values in want (bit clear in have), true
 * or negated; SAT adds a witness, UNSAT proves none of them possible.
 * Returns 10, 20, or 0 when nothing was left to test. */
static int cover_step(sv_run *r, const uint64_t *have, bool positive, const uint64_t *mask)
{
    size_t cnt = 0;
    for (size_t i = 0; i < r->m->nvals; i++) {
        if (bit(have, i) || (mask && !bit(mask, i)))
            continue;
        ccadical_constrain(r->sat, positive ? r->m->vlit[i] : -r->m->vlit[i]);
        cnt++;
    }
    if (!cnt)
        return 0;
    ccadical_constrain(r->sat, 0);
    int res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
    if (res == 10)
        witness_take(r);
    return res;
}

static int domains(sv_run *r)
{
    int res;
    while ((res = cover_step(r, r->can_t, true, NULL)) == 10)
        ;
    if (res != 0 && res != 20)
        return CPQD_EINTERNAL;
    /* implied candidates: seen true, never seen false */
    while ((res = cover_step(r, r->can_f, false, r->can_t)) == 10)
        ;
    return res == 0 || res == 20 ? 0 : CPQD_EINTERNAL;
}

/* ---- explanations ---- */

static void reason_fini(solver_reason *x)
{
    free(x->choices);
    free(x->constraints);
    free(x->groups);
    memset(x, 0, sizeof(*x));
}

/* Fills out from the choice set and selector set. */
static int reason_fill(const sv_run *r, const size_t *chs, size_t nchs, const size_t *sels,
                       size_t nsels, solver_reason *out)
{
    const solver_model *m = r->m;
    out->choices = malloc((nchs ? nchs : 1) * sizeof(size_t));
    out->constraints = malloc((nsels ? nsels : 1) * sizeof(solver_reason_con));
    out->groups = malloc((nsels ? nsels : 1) * sizeof(solver_reason_group));
    if (!out->choices || !out->constraints || !out->groups)
        return CPQD_ENOMEM;
    memcpy(out->choices, chs, nchs * sizeof(size_t));
    out->nchoices = nchs;
    for (size_t i = 0; i < nsels; i++) {
        const sv_sel *s = &m->sels[sels[i]];
        const char *at = m->insts[s->inst].path;
        if (s->kind == SV_SEL_GROUP) {
            out->groups[out->ngroups++] = (solver_reason_group){s->group, at};
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < out->nconstraints; k++)
            dup |= out->constraints[k].constraint == s->con && strcmp(out->constraints[k].at, at) == 0;
        if (!dup)
            out->constraints[out->nconstraints++] = (solver_reason_con){s->con, at};
    }
    out->structural = out->ngroups > 0;
    return 0;
}

/* Deletion over set[0..*n) (choices, or selectors when sel), the other
 * set fixed; each UNSAT answer shrinks both to the failed assumptions. */
static void minimise(sv_run *r, int q, size_t *chs, size_t *nchs, size_t *sels, size_t *nsels,
                     bool sel, bool *trunc)
{
    size_t *set = sel ? sels : chs, *n = sel ? nsels : nchs;
    size_t *test = malloc((*n ? *n : 1) * sizeof(size_t));
    if (!test) {
        *trunc = true;
        return;
    }
    size_t i = 0;
    while (i < *n) {
        if (r->spent >= r->c->budget) {
            *trunc = true;
            break;
        }
        size_t nt = 0;
        for (size_t k = 0; k < *n; k++)
            if (k != i)
                test[nt++] = set[k];
        r->spent++;
        int res = sel ? run_solve(r, chs, *nchs, q, test, nt, SV_EXPLAIN_CONFLICTS)
                      : run_solve(r, test, nt, q, NULL, 0, SV_EXPLAIN_CONFLICTS);
        if (res == 20) {
            memcpy(set, test, nt * sizeof(size_t));
            *n = nt;
            keep_failed(r, set, n, sel);
            if (!sel) {
                /* every selector was assumed: take the new call's core */
                *nsels = r->m->nsels;
                for (size_t k = 0; k < *nsels; k++)
                    sels[k] = k;
                keep_failed(r, sels, nsels, true);
            }
            continue;
        }
        if (res == 10 && !sel)
            witness_take(r); /* all selectors assumed: a valid configuration */
        if (res == 0)
            *trunc = true;
        i++;
    }
    free(test);
}

/* Explains why q (0: the choices themselves) cannot hold. */
static int explain(sv_run *r, int q, solver_explain lvl, solver_reason *out)
{
    const solver_model *m = r->m;
    size_t *chs = malloc((r->nch ? r->nch : 1) * sizeof(size_t));
    size_t *sels = malloc((m->nsels ? m->nsels : 1) * sizeof(size_t));
    size_t nchs = r->nch, nsels = m->nsels;
    bool trunc = false;
    int rc = CPQD_ENOMEM;
    if (!chs || !sels)
        goto out;
    for (size_t i = 0; i < nchs; i++)
        chs[i] = i;
    for (size_t i = 0; i < nsels; i++)
        sels[i] = i;
    r->spent++;
    int res = run_solve(r, NULL, 0, q, NULL, 0, SV_EXPLAIN_CONFLICTS);
    if (res == 20) {
        keep_failed(r, chs, &nchs, false);
        keep_failed(r, sels, &nsels, true);
        minimise(r, q, chs, &nchs, sels, &nsels, false, &trunc);
        if (lvl == SOLVER_EXPLAIN_FULL)
            minimise(r, q, chs, &nchs, sels, &nsels, true, &trunc);
    } else {
        trunc = true; /* out of conflicts: all choices, all constraints */
    }
    if (lvl != SOLVER_EXPLAIN_FULL)
        nsels = 0;
    rc = reason_fill(r, chs, nchs, sels, nsels, out);
    out->truncated = trunc;
    r->truncated |= trunc;
out:
    free(chs);
    free(sels);
    return rc;
}

/* ---- choices ---- */

static int qty_value(const solver_model *m, size_t qvar, money_dec q, size_t *out)
{
    const sv_varx *x = &m->vx[qvar];
    for (size_t i = 0; i < m->vars[qvar].nvalues; i++)
        if (money_cmp(x->num[i], q) == 0) {
            *out = x->val0 + i;
            return 0;
        }
    return CPQD_EINVAL;
}

static int read_choices(sv_run *r, const solver_choice *ch, size_t n)
{
    const solver_model *m = r->m;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].var >= m->nvars || ch[i].value >= m->vars[ch[i].var].nvalues)
            return CPQD_EINVAL;
        r->cv[i] = sv_val(m, ch[i].var, ch[i].value);
        r->cneg[i] = ch[i].negated;
        r->qv[i] = SIZE_MAX;
        if (!ch[i].has_qty)
            continue;
        const solver_var *v = &m->vars[ch[i].var];
        if (v->kind != SOLVER_VAR_GROUP || ch[i].negated || !money_is_valid(ch[i].qty))
            return CPQD_EINVAL;
        const cat_option *o = &v->group->options[ch[i].value];
        if (!o->ranged) {
            if (money_cmp(ch[i].qty, o->qty) != 0)
                return CPQD_EINVAL;
            continue;
        }
        if (money_cmp(ch[i].qty, o->qty_min) < 0 || money_cmp(ch[i].qty, o->qty_max) > 0)
            return CPQD_EINVAL;
        size_t qvar = m->vx[ch[i].var].qty[ch[i].value];
        if (qvar != SIZE_MAX && qty_value(m, qvar, ch[i].qty, &r->qv[i]))
            return CPQD_EINVAL;
    }
    return 0;
}

/* ---- results ---- */

void solver_result_fini(solver_result *res)
{
    if (!res)
        return;
    if (res->values) {
        for (size_t v = 0; v < res->nvars; v++)
            for (size_t i = 0; res->values[v] && i < res->nvalues[v]; i++)
                reason_fini(&res->values[v][i].reason);
        free(res->values[0]);
        free(res->values);
    }
    free(res->nvalues);
    reason_fini(&res->conflict);
    free(res->bom);
    memset(res, 0, sizeof(*res));
}

const char *solver_state_name(solver_state s)
{
    static const char *const n[] = {"selected", "implied", "possible", "excluded"};
    return (unsigned)s < 4 ? n[s] : "?";
}

static int alloc_values(const solver_model *m, solver_result *out)
{
    out->nvars = m->nvars;
    out->values = calloc(m->nvars ? m->nvars : 1, sizeof(*out->values));
    out->nvalues = calloc(m->nvars ? m->nvars : 1, sizeof(size_t));
    solver_value_result *block = calloc(m->nvals ? m->nvals : 1, sizeof(*block));
    if (!out->values || !out->nvalues || !block) {
        free(block);
        return CPQD_ENOMEM;
    }
    for (size_t v = 0; v < m->nvars; v++) {
        out->values[v] = block + m->vx[v].val0;
        out->nvalues[v] = m->vars[v].nvalues;
    }
    if (!m->nvars)
        out->values[0] = block;
    return 0;
}

static void fill_states(const sv_run *r, solver_result *out)
{
    const solver_model *m = r->m;
    solver_value_result *block = out->values[0];
    for (size_t i = 0; i < m->nvals; i++) {
        bool t = bit(r->can_t, i), f = bit(r->can_f, i);
        block[i].state = !t ? SOLVER_EXCLUDED : !f ? SOLVER_IMPLIED : SOLVER_POSSIBLE;
    }
    for (size_t i = 0; i < r->nch; i++) {
        if (r->cneg[i])
            continue;
        block[r->cv[i]].state = SOLVER_SELECTED;
        if (r->qv[i] != SIZE_MAX)
            block[r->qv[i]].state = SOLVER_SELECTED;
    }
}

static int explain_values(sv_run *r, solver_explain lvl, solver_result *out)
{
    const solver_model *m = r->m;
    solver_value_result *block = out->values[0];
    for (size_t i = 0; i < m->nvals; i++) {
        if (block[i].state != SOLVER_EXCLUDED)
            continue;
        int rc = explain(r, m->vlit[i], lvl, &block[i].reason);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- completeness and BOM ---- */

typedef struct sv_done {
    bool sat;         /* the minimal completion exists */
    uint64_t *bits;   /* its values */
} sv_done;

/* Solves with every undecided option left out and every undecided
 * quantity at its default (then without the defaults): the configuration
 * the choices and their implications describe. */
static int completion(sv_run *r, const solver_result *out, sv_done *d)
{
    const solver_model *m = r->m;
    const solver_value_result *block = out->values[0];
    int res = 0;
    bool defaults = false; /* a quantity default was assumed: worth a second pass */
    for (int pass = 0; pass < 2 && res != 10 && (pass == 0 || defaults); pass++) {
        for (size_t v = 0; v < m->nvars; v++) {
            const solver_var *sv = &m->vars[v];
            if (sv->kind == SOLVER_VAR_ATTR)
                continue;
            for (size_t i = 0; i < sv->nvalues; i++) {
                size_t f = sv_val(m, v, i);
                if (block[f].state != SOLVER_POSSIBLE)
                    continue;
                if (sv->kind == SOLVER_VAR_GROUP)
                    ccadical_assume(r->sat, -m->vlit[f]);
                else if (pass == 0 && money_cmp(m->vx[v].num[i], sv->option->qty) == 0) {
                    ccadical_assume(r->sat, m->vlit[f]);
                    defaults = true;
                }
            }
        }
        res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
    }
    d->sat = res == 10;
    if (!d->sat)
        return 0;
    d->bits = calloc(r->sl->words ? r->sl->words : 1, sizeof(uint64_t));
    if (!d->bits)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < m->nvals; i++)
        if (ccadical_val(r->sat, m->vlit[i]) > 0)
            bit_set(d->bits, i);
    witness_use(r, d->bits); /* already known consistent; harmless */
    return 0;
}

static bool is_complete(const sv_run *r, const solver_result *out, const sv_done *d)
{
    const solver_model *m = r->m;
    if (!d->sat)
        return false;
    for (size_t v = 0; v < m->nvars; v++) {
        const solver_var *sv = &m->vars[v];
        size_t I = m->vx[v].inst;
        if (sv->kind != SOLVER_VAR_ATTR)
            continue;
        if (I != 0 && !bit(d->bits, sv_val(m, m->insts[I].opt_var, m->insts[I].opt_value)))
            continue;
        for (size_t i = 0; i < sv->nvalues; i++)
            if (out->values[v][i].state == SOLVER_POSSIBLE)
                return false;
    }
    return true;
}

typedef struct sv_bom {
    const sv_run *r;
    const solver_choice *ch;
    const solver_result *res;
    const sv_done *d;
    solver_bom_line *lines;
    size_t n, cap;
} sv_bom;

/* Quantity of option o of group var gv in the BOM. */
static money_dec bom_qty(const sv_bom *b, size_t gv, size_t o)
{
    const solver_model *m = b->r->m;
    const cat_option *opt = &m->vars[gv].group->options[o];
    if (!opt->ranged)
        return opt->qty;
    for (size_t i = 0; i < b->r->nch; i++)
        if (b->ch[i].var == gv && b->ch[i].value == o && b->ch[i].has_qty && !b->ch[i].negated)
            return b->ch[i].qty;
    size_t q = m->vx[gv].qty[o];
    if (q == SIZE_MAX)
        return opt->qty;
    const solver_value_result *vals = b->res->values[q];
    for (size_t i = 0; i < m->vars[q].nvalues; i++)
        if (vals[i].state == SOLVER_SELECTED || vals[i].state == SOLVER_IMPLIED)
            return m->vx[q].num[i];
    for (size_t i = 0; b->d->sat && i < m->vars[q].nvalues; i++)
        if (bit(b->d->bits, sv_val(m, q, i)))
            return m->vx[q].num[i];
    return opt->qty;
}

static int bom_walk(sv_bom *b, size_t inst, size_t parent, money_dec ptotal, size_t level)
{
    const solver_model *m = b->r->m;
    const cat_product *p = m->insts[inst].product;
    for (size_t g = 0; g < p->ngroups; g++) {
        size_t gv = m->insts[inst].gvar0 + g;
        for (size_t o = 0; o < m->vars[gv].nvalues; o++) {
            solver_state st = b->res->values[gv][o].state;
            if (st != SOLVER_SELECTED && st != SOLVER_IMPLIED)
                continue;
            money_dec q = bom_qty(b, gv, o), qn, pn, total;
            if (money_normalize(q, &qn) || money_normalize(ptotal, &pn) ||
                money_mul(qn, pn, qn.scale + pn.scale > MONEY_MAX_SCALE ? MONEY_MAX_SCALE
                                                                        : qn.scale + pn.scale,
                          MONEY_HALF_UP, &total))
                return CPQD_ERANGE;
            if (b->n == b->cap) {
                size_t nc = b->cap ? b->cap * 2 : 16;
                solver_bom_line *nl = realloc(b->lines, nc * sizeof(*nl));
                if (!nl)
                    return CPQD_ENOMEM;
                b->lines = nl;
                b->cap = nc;
            }
            size_t me = b->n++;
            b->lines[me] = (solver_bom_line){p->groups[g].options[o].product, gv, o, level, parent,
                                             q, total, st == SOLVER_IMPLIED};
            size_t child = m->vx[gv].child[o];
            if (child != SIZE_MAX) {
                int rc = bom_walk(b, child, me, total, level + 1);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- the query ---- */

static int configure_run(sv_run *r, const solver_choice *choices, solver_explain explain_lvl,
                         solver_result *out)
{
    const solver_model *m = r->m;
    sv_slot *sl = r->sl;
    for (size_t w = 0; w < sl->nwit; w++) {
        const uint64_t *wit = sl->wit + w * sl->words;
        if (witness_fits(r, wit)) {
            witness_use(r, wit);
            r->hits++;
        }
    }
    if (!r->hits) {
        int res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
        if (res == 20) {
            out->consistent = false;
            return explain(r, 0, explain_lvl == SOLVER_EXPLAIN_FULL ? SOLVER_EXPLAIN_FULL
                                                                      : SOLVER_EXPLAIN_CHOICES,
                           &out->conflict);
        }
        if (res != 10)
            return CPQD_EINTERNAL;
        witness_take(r);
    }
    out->consistent = true;
    int rc = domains(r);
    if (rc || (rc = alloc_values(m, out)))
        return rc;
    fill_states(r, out);
    if (explain_lvl != SOLVER_EXPLAIN_NONE && (rc = explain_values(r, explain_lvl, out)))
        return rc;
    sv_done d = {0};
    rc = completion(r, out, &d);
    if (!rc) {
        out->complete = is_complete(r, out, &d);
        sv_bom b = {r, choices, out, &d, NULL, 0, 0};
        rc = bom_walk(&b, 0, SIZE_MAX, money_from_int(1), 1);
        out->bom = b.lines;
        out->nbom = b.n;
    }
    free(d.bits);
    return rc;
}

int solver_why(solver_ctx *c, const solver_model *m, const solver_choice *choices,
               size_t nchoices, size_t var, size_t value, bool *excluded, solver_reason *out)
{
    memset(out, 0, sizeof(*out));
    *excluded = false;
    if (var >= m->nvars || value >= m->vars[var].nvalues)
        return CPQD_EINVAL;
    sv_run r = {.c = c, .m = m, .nch = nchoices};
    int rc = CPQD_ENOMEM;
    r.cv = malloc((nchoices ? nchoices : 1) * sizeof(size_t));
    r.qv = malloc((nchoices ? nchoices : 1) * sizeof(size_t));
    r.cneg = malloc((nchoices ? nchoices : 1) * sizeof(bool));
    if (!r.cv || !r.qv || !r.cneg)
        goto out;
    if ((rc = read_choices(&r, choices, nchoices)))
        goto out;
    rc = CPQD_ENOMEM;
    if (!(r.sl = ctx_slot(c, m)))
        goto out;
    r.sat = r.sl->sat;
    int q = sv_lit(m, var, value);
    int res = run_solve(&r, NULL, 0, q, NULL, 0, 0);
    rc = 0;
    if (res == 10) {
        witness_take(&r);
    } else if (res == 20) {
        *excluded = true;
        rc = explain(&r, q, SOLVER_EXPLAIN_FULL, out);
    } else {
        rc = CPQD_EINTERNAL;
    }
out:
    if (rc)
        reason_fini(out);
    free(r.cv);
    free(r.qv);
    free(r.cneg);
    return rc;
}

void solver_reason_fini(solver_reason *x)
{
    if (x)
        reason_fini(x);
}

int solver_configure(solver_ctx *c, const solver_model *m, const solver_choice *choices,
                     size_t nchoices, solver_explain explain_lvl, solver_result *out)
{
    memset(out, 0, sizeof(*out));
    sv_run r = {.c = c, .m = m, .nch = nchoices};
    size_t words = (m->nvals + 63) / 64;
    int rc = CPQD_ENOMEM;
    r.cv = malloc((nchoices ? nchoices : 1) * sizeof(size_t));
    r.qv = malloc((nchoices ? nchoices : 1) * sizeof(size_t));
    r.cneg = malloc((nchoices ? nchoices : 1) * sizeof(bool));
    r.can_t = calloc(words ? words : 1, sizeof(uint64_t));
    r.can_f = calloc(words ? words : 1, sizeof(uint64_t));
    if (!r.cv || !r.qv || !r.cneg || !r.can_t || !r.can_f)
        goto out;
    if ((rc = read_choices(&r, choices, nchoices)))
        goto out;
    rc = CPQD_ENOMEM;
    if (!(r.sl = ctx_slot(c, m)))
        goto out;
    r.sat = r.sl->sat;
    rc = configure_run(&r, choices, explain_lvl, out);
out:
    out->sat_calls = r.calls;
    out->witness_hits = r.hits;
    out->truncated = r.truncated;
    if (rc) {
        solver_result_fini(out);
    }
    free(r.cv);
    free(r.qv);
    free(r.cneg);
    free(r.can_t);
    free(r.can_f);
    return rc;
}
