/*
 * solver internals shared by solver_build.c (catalog product -> model and
 * clauses), solver.c (queries, explanations, BOM) and solver_check.c
 * (static checks).
 *
 * SAT variables: 1 is the constant TRUE; then one per value of every
 * variable (option selected, attribute value, quantity value), one
 * selector per constraint per instance and per group cardinality per
 * instance, and auxiliary variables of the encodings. Every value and
 * selector variable is frozen in the solver so that it survives
 * preprocessing and can be assumed.
 */
#ifndef CPQD_SOLVER_INT_H
#define CPQD_SOLVER_INT_H

#include "cpqd/arena.h"
#include "cpqd/solver.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_TRUE 1 /* SAT variable fixed true */

/* One unfolded BOM instance. */
typedef struct sv_inst {
    const cat_product *product;
    const char *path;  /* "" for the root */
    size_t parent;     /* SIZE_MAX for the root */
    size_t opt_var, opt_value; /* the option that activates it (SIZE_MAX at the root) */
    int act;           /* SAT literal: SV_TRUE at the root, else the option's literal */
    size_t depth;
    size_t gvar0;      /* var index of group 0 of the product (ngroups consecutive) */
    size_t avar0;      /* var index of attribute 0 (nattrs consecutive) */
} sv_inst;

/* Internal data per variable, beside the public solver_var. */
typedef struct sv_varx {
    size_t inst;          /* owning instance */
    size_t val0;          /* index of value 0 in the flat value arrays */
    size_t *child;        /* GROUP: instance per option, or SIZE_MAX */
    size_t *qty;          /* GROUP: quantity variable per option, or SIZE_MAX */
    const money_dec *num; /* numeric ATTR and QTY: value per index (other excluded) */
    bool numeric;
    money_dec qcap;       /* GROUP: smallest quantity max over quantity constraints */
    bool has_qcap;
} sv_varx;

typedef enum sv_sel_kind { SV_SEL_CONSTRAINT, SV_SEL_GROUP } sv_sel_kind;

/* A selector: assumed true, so that failed assumptions name it. */
typedef struct sv_sel {
    sv_sel_kind kind;
    const cat_constraint *con; /* SV_SEL_CONSTRAINT */
    const cat_group *group;    /* SV_SEL_GROUP */
    size_t inst;               /* where it applies */
    size_t var;                /* SV_SEL_GROUP: the group variable */
    int sat;                   /* its SAT variable */
} sv_sel;

typedef struct sv_path {
    const char *path; /* the variable's path (in the model's arena) */
    size_t var;
} sv_path;

struct solver_model {
    uint64_t uid;              /* unique per build: keys the per-worker solvers */
    uint64_t gen;              /* its snapshot's cat_snapshot_serial, 0 when built
                                  alone: a newer one frees older ones' solvers */
    const cat_product *product;
    arena *a;                  /* strings and arrays below */
    solver_var *vars;
    sv_varx *vx;
    size_t nvars;
    int *vlit;                 /* SAT variable per flat value index */
    size_t *vvar;              /* variable per flat value index */
    size_t nvals;
    sv_inst *insts;
    size_t ninsts;
    sv_sel *sels;
    size_t nsels;
    int *clauses;              /* literals, each clause ended by 0 (malloc'ed) */
    size_t nlits, nclauses;
    int nsat;                  /* SAT variables used */
    sv_path *by_path;          /* variables sorted by path (solver_var_find) */
};

/* Flat index of value `value` of variable `var`. */
static inline size_t sv_val(const solver_model *m, size_t var, size_t value)
{
    return m->vx[var].val0 + value;
}

/* The SAT literal true when value `value` of variable `var` holds. */
static inline int sv_lit(const solver_model *m, size_t var, size_t value)
{
    return m->vlit[sv_val(m, var, value)];
}

/* Adds the model's clauses to a fresh CaDiCaL instance and freezes its
 * value variables. guarded: as built, every constraint and cardinality
 * under its selector (frozen too; queries assume them, cores name them);
 * otherwise with every selector true, i.e. the constraints always on
 * (smaller clauses, no selector assumptions: the valid-domain solver). */
struct CCaDiCaL;
void sv_load_solver(const solver_model *m, struct CCaDiCaL *sat, bool guarded);

/* The model's clauses with every selector true (literals -s dropped):
 * malloc'ed, each clause ended by 0, *nlits literals in all; NULL on
 * ENOMEM. */
int *sv_domain_clauses(const solver_model *m, size_t *nlits);

/* ---- unit propagation for explanations (solver_up.c) ---- */

typedef struct sv_up sv_up;

/* What a refutation used: assumption literals (capacity: the number of
 * assumptions + 1) and selector indexes (capacity: m->nsels). */
typedef struct sv_up_core {
    int *lits;
    size_t nlits;
    size_t *sels;
    size_t nsels;
} sv_up_core;

/* The propagation index of model m; NULL on ENOMEM. */
sv_up *sv_up_new(const solver_model *m);
/* NULL is a no-op. */
void sv_up_free(sv_up *u);
/* Whether assuming assume[0..n) with the constraints of the selectors
 * sels[0..nsels) on (every constraint when sels is NULL; group
 * cardinalities are selectors too) leads to a conflict by unit
 * propagation over the model's clauses; if so, core receives the
 * assumptions and selectors the conflict used (they alone conflict). No
 * conflict proves nothing. */
bool sv_up_refute(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
                  sv_up_core *core);
/* sv_up_refute, and when propagation finds no conflict and w is not
 * NULL, a look for a model: w (per SAT variable, 1 true else false) must
 * satisfy every clause of the model with every constraint on (a valid
 * configuration); the assignment tried is w except where propagation of
 * the assumptions decided otherwise; only the clauses this changes are
 * looked at, and each one false is made true by a decision on one of its
 * free literals (propagated), at most max_decisions times. Returns -1
 * (refuted: core), 1 (an assignment satisfies every clause that is on
 * and the assumptions: a proof that they hold together; if diff is not
 * NULL, its literals that differ from w go there, *ndiff of them, at
 * most one per variable) or 0 (nothing proved). */
int sv_up_test(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
               const signed char *w, size_t max_decisions, sv_up_core *core, int *diff,
               size_t *ndiff);
/* Only the repair of sv_up_test, without propagation (cheaper when the
 * answer is yes): w changed to make the assumptions true, then each
 * clause that is on and false made true by changing one of its
 * unchanged variables, at most max_flips changes. True: a model exists,
 * as for sv_up_test. False proves nothing. */
int sv_up_patch(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
                const signed char *w, size_t max_flips);
/* Many literals under the same assumptions, every constraint on: assumes
 * assume[0..n) and propagates once (false, and nothing kept, if that
 * conflicts already); then sv_up_refute_lit(l) tells, as sv_up_refute
 * would with l added, whether l is refuted, and its core (the base's
 * assumptions it used among its literals). sv_up_reset ends it; so does
 * sv_up_refute. */
bool sv_up_base(sv_up *u, const int *assume, size_t n);
bool sv_up_refute_lit(sv_up *u, int l, sv_up_core *core);
/* On top of sv_up_base, as sv_up_test with l added (no core). */
int sv_up_test_lit(sv_up *u, int l, const signed char *w, size_t max_decisions, int *diff,
                   size_t *ndiff);
void sv_up_reset(sv_up *u);
/* The clauses that are on (as for sv_up_refute) and false under a (1
 * true, else false, per SAT variable). For checks. */
size_t sv_up_violated(sv_up *u, const signed char *a, const size_t *sels, size_t nsels);
/* Clauses looked at by propagation and repairs so far (a measure of
 * work, for budgets). */
size_t sv_up_work(const sv_up *u);
/* The value of literal l after sv_up_base: 1 true, -1 false (so proved
 * under the base's assumptions), 0 undecided. */
int sv_up_val(const sv_up *u, int l);

/* The snapshot's models in SKU order: writes up to cap to out, returns the
 * count. */
size_t sv_snapshot_models(const cat_snapshot *s, const solver_model **out, size_t cap);

/* Frees model m's solvers and what c remembers of it: c then holds as
 * much as a new context (solver_check's, emptied after each model). */
void sv_ctx_drop(struct solver_ctx *c, const solver_model *m);

/* solver_check's two ways (solver_check.c): sv_check_clear is true when
 * valid configurations were found (local search, no SAT solver) showing
 * every value true and every option of a group that may leave it out
 * false, i.e. there is nothing to report for m (false proves nothing);
 * sv_check_exact reports every finding with its reasons (SAT). */
bool sv_check_clear(const solver_model *m);
int sv_check_exact(const solver_model *m, cpqd_errs *errors, cpqd_errs *notes);
/* Whether literal x can hold with instance J (> 0) active under the
 * constraints of J's subtree only, asked both ways sv_check_exact asks
 * it (for tests): *walk from the local search (-1 no, 1 yes, 0 it cannot
 * say), *unsat from a SAT solver. 0 or CPQD_ENOMEM. */
int sv_check_local(const solver_model *m, size_t J, int x, int *walk, bool *unsat);

/* How many models have a live solver in c (for tests). */
size_t sv_ctx_live(const solver_ctx *c);

#endif
