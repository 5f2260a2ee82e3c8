/*
 * solver_cost: the cheapest valid configuration of a model under
 * non-negative weights on its values (the configuration's cost is the sum
 * of the weights of the values true in it).
 *
 * Owns: an exact branch and bound over SAT calls (CaDiCaL under
 * assumptions, every constraint on): each SAT model is a valid
 * configuration, an upper bound; the weights of the values assumed true
 * are a lower bound (weights are never negative); the search branches on
 * the heaviest value true in the last model and not yet decided, first
 * without it, then with it. Decision phases start at "false", so the first
 * models select little. A budget of SAT calls bounds the work; past it the
 * best configuration found is returned, marked inexact, with the lower
 * bound proved so far.
 * Does not own: what the weights mean (price_check.c turns prices into
 * them), valid domains (solver.c).
 */
#include "solver_int.h"

#include <ccadical.h>
#include <stdlib.h>
#include <string.h>

typedef struct sc_item {
    int lit;    /* SAT literal of the value */
    uint64_t w; /* its weight */
} sc_item;

typedef struct sc_run {
    const solver_model *m;
    CCaDiCaL *sat;
    const int *base; /* the choices' literals */
    size_t nbase;
    sc_item *items; /* weighted values, heaviest first */
    size_t nitems;
    int *stack; /* branch assumptions */
    size_t max_calls, calls;
    bool out_of_budget;
    uint64_t best, open_bound; /* open_bound: least lower bound of a subtree left unexplored */
    bool *best_vals;           /* per flat value */
    bool found;
} sc_run;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int item_cmp(const void *pa, const void *pb)
{
    const sc_item *a = pa, *b = pb;
    if (a->w != b->w)
        return a->w > b->w ? -1 : 1;
    return (a->lit > b->lit) - (a->lit < b->lit);
}

/* The cost of the solver's current model; records it if it is the best. */
static uint64_t take_model(sc_run *r)
{
    uint64_t cost = 0;
    for (size_t i = 0; i < r->nitems; i++)
        if (ccadical_val(r->sat, r->items[i].lit) > 0)
            cost = sat_add(cost, r->items[i].w);
    if (!r->found || cost < r->best) {
        r->found = true;
        r->best = cost;
        for (size_t i = 0; i < r->m->nvals; i++)
            r->best_vals[i] = ccadical_val(r->sat, r->m->vlit[i]) > 0;
    }
    return cost;
}

static bool assumed(const sc_run *r, size_t depth, int lit)
{
    for (size_t k = 0; k < depth; k++)
        if (r->stack[k] == lit || r->stack[k] == -lit)
            return true;
    return false;
}

/* The subtree under the first depth branch assumptions, whose assumed
 * values weigh lb. */
static void search(sc_run *r, size_t depth, uint64_t lb)
{
    if (r->found && lb >= r->best)
        return;
    if (r->calls >= r->max_calls) {
        r->out_of_budget = true;
        r->open_bound = lb < r->open_bound ? lb : r->open_bound;
        return;
    }
    for (size_t i = 0; i < r->nbase; i++)
        ccadical_assume(r->sat, r->base[i]);
    for (size_t k = 0; k < depth; k++)
        ccadical_assume(r->sat, r->stack[k]);
    r->calls++;
    int res = ccadical_solve(r->sat);
    if (res == 20)
        return;
    if (res != 10) { /* cannot happen without limits: count it as unexplored */
        r->out_of_budget = true;
        r->open_bound = lb < r->open_bound ? lb : r->open_bound;
        return;
    }
    uint64_t cost = take_model(r);
    if (cost <= lb)
        return; /* this model meets the subtree's lower bound */
    /* the heaviest value this model pays for that is not decided yet */
    size_t j = r->nitems;
    for (size_t i = 0; i < r->nitems && j == r->nitems; i++)
        if (ccadical_val(r->sat, r->items[i].lit) > 0 && !assumed(r, depth, r->items[i].lit))
            j = i;
    if (j == r->nitems)
        return;
    int lit = r->items[j].lit;
    r->stack[depth] = -lit;
    search(r, depth + 1, lb);
    r->stack[depth] = lit;
    search(r, depth + 1, sat_add(lb, r->items[j].w));
}

/* The literals of the choices; CPQD_EINVAL for a bad one. */
static int base_lits(const solver_model *m, const solver_choice *ch, size_t n, int *out,
                     size_t *nout)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].var >= m->nvars || ch[i].value >= m->vars[ch[i].var].nvalues)
            return CPQD_EINVAL;
        int l = sv_lit(m, ch[i].var, ch[i].value);
        out[k++] = ch[i].negated ? -l : l;
        if (!ch[i].has_qty || ch[i].negated || m->vars[ch[i].var].kind != SOLVER_VAR_GROUP)
            continue;
        size_t q = m->vx[ch[i].var].qty[ch[i].value];
        if (q == SIZE_MAX)
            continue;
        size_t v = 0;
        while (v < m->vars[q].nvalues && money_cmp(m->vx[q].num[v], ch[i].qty) != 0)
            v++;
        if (v == m->vars[q].nvalues)
            return CPQD_EINVAL;
        out[k++] = sv_lit(m, q, v);
    }
    *nout = k;
    return 0;
}

size_t solver_value_count(const solver_model *m)
{
    return m->nvals;
}

size_t solver_value_index(const solver_model *m, size_t var, size_t value)
{
    return sv_val(m, var, value);
}

int solver_cheapest(const solver_model *m, const solver_choice *choices, size_t nchoices,
                    const uint64_t *weight, size_t max_calls, solver_cheapest_result *out)
{
    memset(out, 0, sizeof(*out));
    sc_run r = {.m = m, .max_calls = max_calls ? max_calls : SIZE_MAX, .open_bound = UINT64_MAX};
    int *base = malloc((2 * nchoices + 1) * sizeof(int));
    r.items = malloc((m->nvals + 1) * sizeof(*r.items));
    r.stack = malloc((m->nvals + 1) * sizeof(int));
    r.best_vals = calloc(m->nvals + 1, sizeof(bool));
    r.sat = ccadical_init();
    int rc = base && r.items && r.stack && r.best_vals && r.sat ? 0 : CPQD_ENOMEM;
    if (!rc)
        rc = base_lits(m, choices, nchoices, base, &r.nbase);
    if (rc)
        goto out;
    r.base = base;
    for (size_t i = 0; i < m->nvals; i++)
        if (weight[i])
            r.items[r.nitems++] = (sc_item){m->vlit[i], weight[i]};
    qsort(r.items, r.nitems, sizeof(*r.items), item_cmp);
    ccadical_set_option(r.sat, "phase", 0); /* decide "false" first: cheap models early */
    sv_load_solver(m, r.sat, false);
    search(&r, 0, 0);
    out->found = r.found;
    out->exact = !r.out_of_budget;
    out->cost = r.found ? r.best : 0;
    out->bound = r.found ? (r.out_of_budget && r.open_bound < r.best ? r.open_bound : r.best) : 0;
    out->sat_calls = r.calls;
    if (r.found) {
        out->values = r.best_vals;
        r.best_vals = NULL;
    }
out:
    if (r.sat)
        ccadical_release(r.sat);
    free(base);
    free(r.items);
    free(r.stack);
    free(r.best_vals);
    return rc;
}

void solver_cheapest_fini(solver_cheapest_result *r)
{
    if (!r)
        return;
    free(r->values);
    memset(r, 0, sizeof(*r));
}
