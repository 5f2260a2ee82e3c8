/*
 * solver: the configurator engine. Valid domains (which values remain
 * possible, which are implied, which are excluded and why) and the
 * exploded BOM of a configurable product, exact: a value reported possible
 * has a complete valid configuration extending the choices, an excluded
 * one has none.
 *
 * Owns: compiling a product's BOM tree, attributes and constraints into a
 * propositional model (once per catalog snapshot), answering configuration
 * queries with an incremental SAT solver (CaDiCaL) under assumptions, with
 * witness caches per worker, minimal explanations, and the static checks
 * of `cpqd check` (dead options, forced options, constraints that can
 * never hold).
 * Does not own: catalogs (cat), JSON and HTTP routes (http), prices
 * (price).
 *
 * Encoding (docs/configurator.md): the BOM is unfolded into instances (the
 * root product, and every option whose product has groups or attributes,
 * at its path). An instance is active when its option is selected (which
 * needs its parent instance active). Each option of each group of an
 * instance is a Boolean; group min/max bound how many are selected when
 * the instance is active, none is when it is not. Each attribute of an
 * active instance takes exactly one value: enum values, integer/decimal
 * values enumerated from min/max/step (up to SOLVER_MAX_ENUM), otherwise
 * the values constraints mention plus "any other valid value". A ranged
 * option in a group bounded by a `quantity` constraint gets a quantity
 * variable (SOLVER_VAR_QTY). Constraints are clauses guarded by one
 * selector per constraint per instance, so that cores name them.
 *
 * Ownership: a solver_model is immutable once built, share freely; it
 * points into the product (and so the snapshot) it was built from and must
 * not outlive it. A solver_ctx is per-worker (it owns SAT solver
 * instances, which are not thread-safe). Results are owned by the caller
 * and freed with solver_result_fini. Functions never print.
 */
#ifndef CPQD_SOLVER_H
#define CPQD_SOLVER_H

#include "cpqd/cat.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOLVER_MAX_ENUM 256         /* numeric attributes enumerated up to this many values */
#define SOLVER_MAX_QTY 1024         /* values of one quantity variable */
#define SOLVER_MAX_INSTANCES 4096   /* BOM instances per model */
#define SOLVER_MAX_VARS (1 << 24)   /* SAT variables per model */

typedef struct solver_model solver_model; /* opaque, immutable, share freely */
typedef struct solver_ctx solver_ctx;     /* opaque, per worker */

typedef enum solver_var_kind {
    SOLVER_VAR_GROUP, /* values are option SKUs; several may be selected when max > 1 */
    SOLVER_VAR_ATTR,  /* exactly one value when its instance is active */
    SOLVER_VAR_QTY,   /* quantity of a ranged option: exactly one value when it is selected */
} solver_var_kind;

/* A variable of the model as the API shows it. Strings and arrays belong
 * to the model. */
typedef struct solver_var {
    solver_var_kind kind;
    const char *path;          /* "spindle", "controller/CTL-PRO/io", "@voltage",
                                  "controller/CTL-PRO/@firmware", "pumps/MED-IP-V1#qty" */
    const char *instance;      /* path of the instance it belongs to: "" for the root
                                  product, "controller/CTL-PRO" for a nested one */
    const cat_product *product;  /* the product of that instance */
    const cat_group *group;      /* GROUP; QTY: the option's group */
    const cat_prod_attr *attr;   /* ATTR */
    const cat_option *option;    /* QTY: the ranged option */
    const char *const *values;   /* option SKUs, attribute values (canonical numbers),
                                    quantities */
    size_t nvalues;
    bool has_other;              /* ATTR: the last value ("*") stands for any other valid
                                    value */
    size_t depth;                /* 0 for the root product's own variables */
    size_t parent_var, parent_value; /* the option that activates it (SIZE_MAX at depth 0,
                                        except QTY: its option) */
} solver_var;

/* Compiles product p (and its BOM to any depth) into a model. Errors
 * (too many instances, a quantity constraint too large to encode) go to
 * errs with the catalog position; returns NULL then (also on ENOMEM, with
 * an error added). p must have been loaded by cat (paths resolved). */
solver_model *solver_model_build(const cat_product *p, cpqd_errs *errs);
/* NULL is a no-op. */
void solver_model_free(solver_model *m);

const cat_product *solver_model_product(const solver_model *m);
size_t solver_var_count(const solver_model *m);
const solver_var *solver_var_at(const solver_model *m, size_t i);
/* Variable by path, or SIZE_MAX. */
size_t solver_var_find(const solver_model *m, const char *path, size_t len);
/* Value index of text v for variable var (canonical numeric comparison
 * for numbers: "380" == "380.0"; the "other" value for valid unlisted
 * attribute values), or SIZE_MAX with *why set to a static message. */
size_t solver_value_find(const solver_model *m, size_t var, const char *v, size_t len,
                         const char **why);
/* Size figures for benchmarks and logs. */
typedef struct solver_model_stats {
    size_t instances, vars, values, sat_vars, clauses, literals, selectors;
} solver_model_stats;
void solver_model_stats_get(const solver_model *m, solver_model_stats *out);

/* ---- per snapshot ----
 * Register once at startup, before any load:
 *   cat_ext_register(CAT_EXT_SOLVER, solver_snapshot_build, solver_snapshot_free);
 * The build compiles a model for every product that has groups or
 * attributes; a model that fails to compile fails the load with its
 * errors. */
int solver_snapshot_build(cat_snapshot *s, cpqd_errs *errs, void **out);
void solver_snapshot_free(void *ext);
/* The model of product p in snapshot s, or NULL (p not configurable, or
 * no solver extension built for s). Valid while s is held. */
const solver_model *solver_snapshot_model(const cat_snapshot *s, const cat_product *p);

/* ---- configuring ---- */

/* Per-worker context; NULL on ENOMEM. Holds, per model used (created on
 * first use from the model's clauses, reused across requests; least
 * recently used dropped beyond a bound, and those of older snapshots as
 * soon as a model of a newer one comes, i.e. after a reload): a SAT
 * solver for valid domains, one for explanations (when an explanation
 * needs it), a pool of witness configurations (up to 1 MiB), the results
 * of recent requests, a local-search copy of the clauses, a propagation
 * index of them, and minimal reasons found (up to 4 per value, 8 MiB),
 * which later requests with their choices reuse. */
solver_ctx *solver_ctx_new(void);
/* NULL is a no-op. */
void solver_ctx_free(solver_ctx *c);
/* Explanation budget per solver_configure call, in SAT calls (default
 * 4000; most tests need none: see docs/configurator.md); past it,
 * remaining reasons are returned unminimised with truncated set. 0
 * restores the default. */
void solver_ctx_set_budget(solver_ctx *c, size_t sat_calls);

/* One user choice: value `value` of variable `var` is selected (or, with
 * negated, ruled out by the user). has_qty/qty: the chosen quantity of a
 * selected ranged option (GROUP variables only): validated against the
 * option's range, used for the BOM roll-up, and assumed on the option's
 * quantity variable when it has one. */
typedef struct solver_choice {
    size_t var, value;
    bool negated;
    bool has_qty;
    money_dec qty;
} solver_choice;

typedef enum solver_state {
    SOLVER_SELECTED, /* chosen by the user */
    SOLVER_IMPLIED,  /* true in every valid completion */
    SOLVER_POSSIBLE, /* true in some, false in some */
    SOLVER_EXCLUDED, /* true in none */
} solver_state;

/* A constraint as it applies at one instance. */
typedef struct solver_reason_con {
    const cat_constraint *constraint;
    const char *at; /* instance path: "" for the root product (owned by the model) */
} solver_reason_con;

/* A group cardinality (min/max) as it applies at one instance. */
typedef struct solver_reason_group {
    const cat_group *group;
    const char *at;
} solver_reason_group;

/* Why a value is excluded (or why the choices conflict): a set of the
 * user's choices (indexes into the request's choices, ascending), of
 * catalog constraints and of group cardinalities that together rule it
 * out, given the BOM structure and attribute domains. Minimal unless
 * truncated: dropping any choice, constraint or group makes the value
 * possible again (the conflict go away). */
typedef struct solver_reason {
    size_t *choices;
    size_t nchoices;
    solver_reason_con *constraints;
    size_t nconstraints;
    solver_reason_group *groups;
    size_t ngroups;
    bool structural;  /* a group cardinality is needed (ngroups > 0) */
    bool truncated;   /* budget ran out: a valid reason, but maybe not minimal */
} solver_reason;

typedef struct solver_value_result {
    solver_state state;
    solver_reason reason; /* SOLVER_EXCLUDED with explanations only */
} solver_value_result;

typedef struct solver_bom_line {
    const cat_product *product;
    size_t var, value;   /* the option that brings it in */
    size_t level;        /* 1 for options of the root */
    size_t parent;       /* index of the parent line, SIZE_MAX at level 1 */
    money_dec qty;       /* per parent */
    money_dec total_qty; /* rolled up: qty times every ancestor's qty */
    bool implied;        /* not chosen by the user but forced */
} solver_bom_line;

typedef enum solver_explain {
    SOLVER_EXPLAIN_NONE,    /* states only (the conflict is still explained) */
    SOLVER_EXPLAIN_CHOICES, /* minimal choice subsets */
    SOLVER_EXPLAIN_FULL,    /* choices, named constraints and group cardinalities */
} solver_explain;

typedef struct solver_result {
    bool consistent;
    bool complete;             /* consistent, the selected and implied options with every
                                  other option left out form a valid configuration, and
                                  every attribute of an active instance is decided */
    bool bom_valid;            /* consistent, and the selected and implied options with
                                  every other option left out (undecided quantities at their
                                  defaults when valid) form a valid configuration for some
                                  values of the undecided attributes: the bom below is the
                                  option list of a valid configuration (complete implies it) */
    solver_reason conflict;    /* when !consistent: minimal conflicting choices */
    solver_value_result **values; /* values[var][value], when consistent (else NULL) */
    solver_bom_line *bom;      /* selected and implied options, depth-first (consistent) */
    size_t nbom;
    size_t nvars;              /* rows of values */
    size_t *nvalues;           /* nvalues[var]: length of values[var] */
    size_t sat_calls;          /* statistics */
    size_t witness_hits;       /* cached witnesses that applied */
    bool truncated;            /* some reason is truncated */
} solver_result;

/* Computes the state of every value of every variable under the choices.
 * Two values for a single-valued variable are a conflict, not an error.
 * Returns 0 and fills *out (free with solver_result_fini); CPQD_EINVAL
 * for an invalid choice (bad index, qty on a non-ranged option or out of
 * its range; *out is then zeroed); CPQD_ENOMEM. */
int solver_configure(solver_ctx *c, const solver_model *m, const solver_choice *choices,
                     size_t nchoices, solver_explain explain, solver_result *out);
/* Explains one value on demand ("why is it greyed out?"), without
 * computing every state: *excluded tells whether the value is excluded
 * under the choices; if so *out receives a minimal reason (choices,
 * constraints, groups), to free with solver_reason_fini. Returns 0,
 * CPQD_EINVAL (bad choice, var or value) or CPQD_ENOMEM. Inconsistent
 * choices make every value excluded: the reason then is a conflict. */
int solver_why(solver_ctx *c, const solver_model *m, const solver_choice *choices,
               size_t nchoices, size_t var, size_t value, bool *excluded, solver_reason *out);
void solver_reason_fini(solver_reason *x);

/* Frees what a result holds; zeroes it. */
void solver_result_fini(solver_result *r);

const char *solver_state_name(solver_state s);

/* ---- the cheapest configuration (solver_cost.c) ---- */

/* Values of the model in one flat numbering: variable by variable, value
 * by value; index of value `value` of variable `var`. */
size_t solver_value_count(const solver_model *m);
size_t solver_value_index(const solver_model *m, size_t var, size_t value);

typedef struct solver_cheapest_result {
    bool found;       /* a valid configuration satisfies the choices */
    bool exact;       /* the search finished: cost is the least there is */
    uint64_t cost;    /* the configuration's cost (found) */
    uint64_t bound;   /* no valid configuration costs less (== cost when exact) */
    bool *values;     /* per flat value: true in the configuration (found; malloc'ed) */
    size_t sat_calls;
} solver_cheapest_result;

/* The valid configuration satisfying the choices whose cost, the sum of
 * weight[i] over its true values i (flat numbering), is least: exact
 * branch and bound over SAT calls, at most max_calls of them (0: no
 * limit), past which the best one found is returned with exact false.
 * A fresh SAT solver per call (for checks, not for requests). Returns 0
 * (found false: no valid configuration), CPQD_EINVAL (a bad choice or
 * quantity) or CPQD_ENOMEM; free *out with solver_cheapest_fini. */
int solver_cheapest(const solver_model *m, const solver_choice *choices, size_t nchoices,
                    const uint64_t *weight, size_t max_calls, solver_cheapest_result *out);
void solver_cheapest_fini(solver_cheapest_result *r);

/* The exploded BOM (as solver_result.bom) that solver_configure gives
 * for choices selecting every option of one valid configuration, read
 * from that configuration without a SAT call: values (per flat value,
 * true in it) must satisfy every clause of m, as a solver_cheapest result
 * does. Under such choices each chosen value is selected and no other
 * option is implied (values leaves it out), so the BOM is values' options
 * at their chosen quantities, in solver_configure's order. Returns 0 with
 * *out (malloc'ed, free it) and *nout; CPQD_EINVAL when the choices are
 * bad as solver_configure finds them, or values does not show that they
 * hold and select it whole (a choice false in values, an option true in
 * values but not chosen, a ranged one chosen without its quantity): then
 * only solver_configure can say; CPQD_ERANGE (a rolled-up quantity out
 * of range) or CPQD_ENOMEM. */
int solver_bom_of(const solver_model *m, const solver_choice *choices, size_t nchoices,
                  const bool *values, solver_bom_line **out, size_t *nout);

/* ---- static checks (cpqd check) ---- */

/* Checks one model without choices: a product with no valid configuration
 * and constraints that can never hold (alone with the BOM structure) go to
 * errors; options and attribute values that can never be selected (dead)
 * and options always forced by constraints go to notes (`cpqd check`
 * prints them as warnings: imported feature models have dead and core
 * features by design); each with the catalog file:line. Returns 0 or
 * CPQD_ENOMEM. */
int solver_check(const solver_model *m, cpqd_errs *errors, cpqd_errs *notes);
/* solver_check on every model of the snapshot, in SKU order. */
int solver_snapshot_check(const cat_snapshot *s, cpqd_errs *errors, cpqd_errs *notes);

#endif
