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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static bool local_unsat(CCaDiCaL *sat, const solver_model *m, size_t J, int x)
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

typedef struct ck {
    const solver_model *m;
    CCaDiCaL *sat; /* the guarded clauses, on first use (ck_sat) */
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
    if (I != 0) {
        if (!ck_sat(k))
            return CPQD_ENOMEM;
        if (local_unsat(k->sat, m, I, dead ? lit : -lit))
            return 0;
    }
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

int solver_check(const solver_model *m, cpqd_errs *errors, cpqd_errs *notes)
{
    solver_ctx *c = solver_ctx_new();
    solver_result r;
    memset(&r, 0, sizeof(r));
    ck k = {m, NULL, &r, errors, notes};
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
    solver_ctx_free(c);
    return rc;
}

int solver_snapshot_check(const cat_snapshot *s, cpqd_errs *errors, cpqd_errs *notes)
{
    size_t n = sv_snapshot_models(s, NULL, 0);
    const solver_model **ms = malloc((n ? n : 1) * sizeof(*ms));
    if (!ms)
        return CPQD_ENOMEM;
    sv_snapshot_models(s, ms, n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = solver_check(ms[i], errors, notes);
    free(ms);
    return rc;
}
