/*
 * price_config: the configuration a line of a configurable product is
 * priced from (docs/pricing.md "Configurable products").
 *
 * Owns: turning a line's `configuration`, its explicit `options` or, with
 * neither, its product's defaults into configurator choices; asking the
 * configurator whether they describe a valid configuration with every
 * required choice made; the option list and root attributes the waterfall
 * then prices; the errors that name what is missing or conflicting.
 * Does not own: the configurator (solver), the waterfall (price.c).
 *
 * Invariant: a line of a product with BOM groups or constraints is priced
 * only from the option list of a valid configuration (the solver's
 * bom_valid): a request that matches no valid configuration is never
 * priced as if it did.
 */
#include "price_int.h"

#include "cpqd/hash.h"
#include "cpqd/solver.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a choice came from, for messages. */
typedef enum pc_origin {
    PC_USER,         /* configuration[idx] */
    PC_ATTR,         /* attributes of the line */
    PC_ATTR_DEFAULT, /* the product's attribute default */
    PC_OPTION,       /* options[idx] */
    PC_DEFAULT,      /* a default option of the catalog */
} pc_origin;

/* One line being configured. */
typedef struct pc_run {
    pctx *c;
    pline *l;
    const price_line_in *in;
    const solver_model *m;
    solver_choice *ch; /* the choices so far */
    pc_origin *from;
    size_t *idx;
    size_t n, cap;
    size_t *opt_var, *opt_val; /* OPTIONS: position of options[k] in the BOM */
} pc_run;

static const cat_pos no_pos = {NULL, 0, 0};

static int pc_err(pc_run *x, int code, cat_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pc_err(pc_run *x, int code, cat_pos pos, const char *fmt, ...)
{
    char buf[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    const char *file = pos.file ? cat_snapshot_relpath(x->c->s, pos.file) : NULL;
    if (errs_add(x->c->errs, code, file, pos.line, pos.col, "line %s: %s", x->l->o->id, buf))
        return CPQD_ENOMEM;
    if (errs_field(x->c->errs, "line_id", x->l->o->id) ||
        errs_field(x->c->errs, "sku", x->l->p->sku))
        return CPQD_ENOMEM;
    return code;
}

/* ---- the model ---- */

/* The compiled model of p: the snapshot's, or (no solver extension was
 * registered: tools and unit tests) one built here and kept until the
 * request ends. NULL with *rc 0 when p has nothing to configure. */
static const solver_model *line_model(pctx *c, const cat_product *p, int *rc)
{
    *rc = 0;
    if (cat_snapshot_ext(c->s, CAT_EXT_SOLVER))
        return solver_snapshot_model(c->s, p);
    for (size_t i = 0; i < c->nbuilt; i++)
        if (c->built[i].p == p)
            return c->built[i].m;
    if (p->ngroups == 0 && p->nattrs == 0)
        return NULL;
    if (c->nbuilt == c->capbuilt) {
        size_t cap = c->capbuilt ? 2 * c->capbuilt : 4;
        price_built *b = realloc(c->built, cap * sizeof(*b));
        if (!b) {
            *rc = CPQD_ENOMEM;
            return NULL;
        }
        c->built = b;
        c->capbuilt = cap;
    }
    solver_model *m = solver_model_build(p, c->errs);
    if (!m) {
        *rc = CPQD_EINVAL;
        return NULL;
    }
    c->built[c->nbuilt++] = (price_built){p, m};
    return m;
}

void price_config_fini(pctx *c)
{
    for (size_t i = 0; i < c->nbuilt; i++)
        solver_model_free(c->built[i].m);
    free(c->built);
    c->built = NULL;
    c->nbuilt = c->capbuilt = 0;
}

/* ---- choices ---- */

static void add_choice(pc_run *x, solver_choice ch, pc_origin from, size_t idx)
{
    assert(x->n < x->cap); /* cap counts every value of the model and every request item */
    x->ch[x->n] = ch;
    x->from[x->n] = from;
    x->idx[x->n] = idx;
    x->n++;
}

/* "spindle = CNC-SP-24K (configuration[0])" for choice i. */
static const char *choice_text(pc_run *x, size_t i)
{
    const solver_var *v = solver_var_at(x->m, x->ch[i].var);
    const char *val = v->values[x->ch[i].value];
    const char *op = x->ch[i].negated ? "!=" : "=";
    switch (x->from[i]) {
    case PC_USER:
        return pfmt(x->c, "%s %s %s (configuration[%zu])", v->path, op, val, x->idx[i]);
    case PC_ATTR:
        return pfmt(x->c, "%s = %s (attributes)", v->path, val);
    case PC_ATTR_DEFAULT:
        return pfmt(x->c, "%s = %s (the attribute's default)", v->path, val);
    case PC_OPTION:
        return pfmt(x->c, "%s (options[%zu], in %s)", val, x->idx[i], v->path);
    case PC_DEFAULT:
        return pfmt(x->c, "%s = %s (default)", v->path, val);
    }
    return "?";
}

/* The conflicting choices of r as one text. */
static const char *conflict_text(pc_run *x, const solver_result *r)
{
    char buf[480] = "";
    size_t len = 0;
    for (size_t i = 0; i < r->conflict.nchoices && len < sizeof(buf) - 1; i++) {
        const char *t = choice_text(x, r->conflict.choices[i]);
        int k = snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "", t ? t : "?");
        if (k < 0)
            break;
        len += (size_t)k;
    }
    if (len >= sizeof(buf) - 1)
        memcpy(buf + sizeof(buf) - 4, "...", 4);
    return pfmt(x->c, "%s", buf);
}

/* The configuration's own choices (configuration[i]). */
static int config_choices(pc_run *x)
{
    const price_line_in *in = x->in;
    for (size_t i = 0; i < in->nconfig; i++) {
        const price_choice_in *cf = &in->config[i];
        const char *why = NULL;
        size_t var = solver_var_find(x->m, cf->path, strlen(cf->path));
        size_t val = var == SIZE_MAX
                         ? SIZE_MAX
                         : solver_value_find(x->m, var, cf->value, strlen(cf->value), &why);
        if (val == SIZE_MAX)
            return pc_err(x, CPQD_EINVAL, no_pos, "configuration[%zu]: %s '%s'%s%s", i,
                          var == SIZE_MAX ? "no variable" : "no value of",
                          var == SIZE_MAX ? cf->path : cf->value, why ? ": " : "", why ? why : "");
        const solver_var *sv = solver_var_at(x->m, var);
        char q[256];
        if (cf->has_qty && sv->kind == SOLVER_VAR_GROUP && sv->group->options[val].ranged &&
            cat_qty_check(sv->group->options[val].product, cf->qty, false, q, sizeof(q)) != 0)
            return pc_err(x, CPQD_EINVAL, no_pos, "configuration[%zu].quantity: %s", i, q);
        add_choice(x, (solver_choice){var, val, cf->exclude, cf->has_qty, cf->qty}, PC_USER, i);
    }
    return 0;
}

static const char *line_attr_value(const price_line_in *in, const char *id)
{
    for (size_t i = 0; i < in->nattrs; i++)
        if (!strcmp(in->attrs[i].id, id))
            return in->attrs[i].value;
    return NULL;
}

/* A positive choice of variable var among the choices so far, or SIZE_MAX. */
static size_t chosen_value(const pc_run *x, size_t var)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->ch[i].var == var && !x->ch[i].negated)
            return i;
    return SIZE_MAX;
}

/* The root product's attributes as the waterfall prices them (the line's
 * attributes, else the product's defaults) become choices, so that the
 * configuration checked is the one priced. A configuration's own choice
 * of the attribute stands; a different value under `attributes` is an
 * error (which one would be priced?). */
static int attr_choices(pc_run *x)
{
    const cat_product *p = x->l->p;
    for (size_t k = 0; k < p->nattrs; k++) {
        const cat_prod_attr *pa = &p->attrs[k];
        char path[128];
        snprintf(path, sizeof(path), "@%s", pa->attr->id);
        size_t var = solver_var_find(x->m, path, strlen(path));
        if (var == SIZE_MAX)
            continue;
        const char *given = line_attr_value(x->in, pa->attr->id);
        const char *v = given ? given : pa->default_value;
        const char *why = NULL;
        size_t val = v ? solver_value_find(x->m, var, v, strlen(v), &why) : SIZE_MAX;
        size_t had = chosen_value(x, var);
        if (had != SIZE_MAX) {
            if (given && val != x->ch[had].value)
                return pc_err(x, CPQD_EINVAL, no_pos,
                              "attribute '%s' is '%s' under attributes but '%s' in "
                              "configuration[%zu]",
                              pa->attr->id, given,
                              solver_var_at(x->m, var)->values[x->ch[had].value], x->idx[had]);
            continue;
        }
        if (val == SIZE_MAX) /* no value (checked by the waterfall), or one the model has not */
            continue;
        add_choice(x, (solver_choice){var, val, false, false, {0, 0}},
                   given ? PC_ATTR : PC_ATTR_DEFAULT, 0);
    }
    return 0;
}

/* Exact a / b, or false. */
static bool exact_div(money_dec a, money_dec b, money_dec *out)
{
    money_dec q, back;
    if (money_is_zero(b) || money_div(a, b, PRICE_WORK_SCALE, MONEY_HALF_EVEN, &q) != 0 ||
        money_mul(q, b, q.scale + b.scale > MONEY_MAX_SCALE ? MONEY_MAX_SCALE : q.scale + b.scale,
                  MONEY_HALF_EVEN, &back) != 0 ||
        money_cmp(back, a) != 0)
        return false;
    return money_normalize(q, out) == 0;
}

/* Where options[k]'s SKU sits in the BOM: exactly one group option of
 * the model (any depth). */
static int option_position(pc_run *x, size_t k)
{
    const char *sku = x->in->options[k].sku;
    size_t found = 0, fv = SIZE_MAX, fi = SIZE_MAX;
    const char *second = NULL;
    for (size_t v = 0; v < solver_var_count(x->m); v++) {
        const solver_var *sv = solver_var_at(x->m, v);
        if (sv->kind != SOLVER_VAR_GROUP)
            continue;
        for (size_t i = 0; i < sv->nvalues; i++) {
            if (strcmp(sv->values[i], sku) != 0)
                continue;
            if (found++ == 0)
                fv = v, fi = i;
            else if (!second)
                second = sv->path;
        }
    }
    if (!found)
        return pc_err(x, CPQD_EINVAL, no_pos, "'%s' is not an option of %s", sku, x->l->p->sku);
    if (found > 1)
        return pc_err(x, CPQD_EINVAL, no_pos,
                      "'%s' is an option in several places of %s's BOM (%s, %s): price a "
                      "configuration that says which",
                      sku, x->l->p->sku, solver_var_at(x->m, fv)->path, second);
    for (size_t j = 0; j < k; j++)
        if (x->opt_var[j] == fv && x->opt_val[j] == fi)
            return pc_err(x, CPQD_EINVAL, no_pos, "option %s is listed twice", sku);
    x->opt_var[k] = fv;
    x->opt_val[k] = fi;
    return 0;
}

/* options[k] as a choice: its quantity per unit of the line, divided by
 * its parent option's, must be its BOM quantity (fixed) or lie in its
 * range (ranged). */
static int option_choice(pc_run *x, size_t k)
{
    const price_option_in *op = &x->in->options[k];
    const solver_var *sv = solver_var_at(x->m, x->opt_var[k]);
    const cat_option *o = &sv->group->options[x->opt_val[k]];
    money_dec parent = money_from_int(1), per;
    if (sv->depth > 0) {
        size_t j = 0;
        while (j < x->in->noptions &&
               !(x->opt_var[j] == sv->parent_var && x->opt_val[j] == sv->parent_value))
            j++;
        const solver_var *pv = solver_var_at(x->m, sv->parent_var);
        if (j == x->in->noptions)
            return pc_err(x, CPQD_EINVAL, no_pos, "option %s is inside %s (%s): list %s too",
                          op->sku, pv->values[sv->parent_value], pv->path,
                          pv->values[sv->parent_value]);
        parent = x->in->options[j].qty;
    }
    if (money_sign(op->qty) < 0)
        return pc_err(x, CPQD_EINVAL, no_pos, "option %s: negative quantity", op->sku);
    if (!exact_div(op->qty, parent, &per))
        return pc_err(x, CPQD_EINVAL, no_pos,
                      "option %s: quantity %s per unit of the line is not a whole multiple of "
                      "its parent's %s",
                      op->sku, pmoney(x->c, op->qty), pmoney(x->c, parent));
    if (!o->ranged && money_cmp(per, o->qty) != 0)
        return pc_err(x, CPQD_EINVAL, o->pos,
                      "option %s: quantity %s is not its quantity in the BOM (%s per %s)", op->sku,
                      pmoney(x->c, per), pmoney(x->c, o->qty),
                      sv->depth ? "parent" : "unit of the line");
    if (o->ranged && (money_cmp(per, o->qty_min) < 0 || money_cmp(per, o->qty_max) > 0))
        return pc_err(x, CPQD_EINVAL, o->pos, "option %s: quantity %s is outside its range %s..%s",
                      op->sku, pmoney(x->c, per), pmoney(x->c, o->qty_min),
                      pmoney(x->c, o->qty_max));
    char why[256]; /* a ranged quantity is one of its product's quantities too */
    if (o->ranged && cat_qty_check(o->product, per, false, why, sizeof(why)) != 0)
        return pc_err(x, CPQD_EINVAL, o->pos, "option %s: %s", op->sku, why);
    add_choice(x, (solver_choice){x->opt_var[k], x->opt_val[k], false, o->ranged, per}, PC_OPTION,
               k);
    return 0;
}

static int option_choices(pc_run *x)
{
    int rc = 0;
    for (size_t k = 0; k < x->in->noptions && !rc; k++)
        rc = option_position(x, k);
    for (size_t k = 0; k < x->in->noptions && !rc; k++)
        rc = option_choice(x, k);
    return rc;
}

/* ---- solving ---- */

static int solve(pc_run *x, solver_result *r)
{
    pctx *c = x->c;
    if (!c->w->solver && !(c->w->solver = solver_ctx_new()))
        return CPQD_ENOMEM;
    int rc = solver_configure(c->w->solver, x->m, x->ch, x->n, SOLVER_EXPLAIN_NONE, r);
    if (rc == CPQD_EINVAL)
        return pc_err(x, rc, no_pos, "a configured quantity of %s is outside its range",
                      x->l->p->sku);
    return rc;
}

static bool picked(solver_state s)
{
    return s == SOLVER_SELECTED || s == SOLVER_IMPLIED;
}

/* Whether group variable v's instance is active in r's configuration. */
static bool active(const pc_run *x, const solver_result *r, size_t v)
{
    const solver_var *sv = solver_var_at(x->m, v);
    return sv->depth == 0 || (sv->parent_var != SIZE_MAX &&
                              picked(r->values[sv->parent_var][sv->parent_value].state));
}

static size_t picked_count(const solver_result *r, size_t v)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nvalues[v]; i++)
        n += picked(r->values[v][i].state);
    return n;
}

/* One missing choice, as a 422 error with the group it is about. */
static int missing(pc_run *x, const char *what, size_t v, const char *detail)
{
    const solver_var *sv = solver_var_at(x->m, v);
    const cat_group *g = sv->group;
    int rc = pc_err(x, CPQD_EINCOMPLETE, g->pos, "%s: group %s (%s) %s", what, sv->path, g->name,
                    detail);
    if (rc == CPQD_ENOMEM || errs_field(x->c->errs, "path", sv->path) ||
        errs_field(x->c->errs, "group", g->id) || errs_field(x->c->errs, "name", g->name))
        return CPQD_ENOMEM;
    return CPQD_EINCOMPLETE;
}

/* Names, as errors, every group of an instance active in r that has
 * fewer options than its min (pass 0), or that is left undecided while
 * the choices need one of its options (pass 1). Returns how many, or
 * SIZE_MAX on ENOMEM. */
static size_t name_groups(pc_run *x, const solver_result *r, const char *what, int pass)
{
    size_t found = 0;
    for (size_t v = 0; v < solver_var_count(x->m); v++) {
        const solver_var *sv = solver_var_at(x->m, v);
        if (sv->kind != SOLVER_VAR_GROUP || !active(x, r, v))
            continue;
        size_t have = picked_count(r, v), open = 0;
        for (size_t i = 0; i < sv->nvalues; i++)
            open += r->values[v][i].state == SOLVER_POSSIBLE;
        if (pass == 0 ? have >= sv->group->min : !(open && have == 0))
            continue;
        found++;
        const char *detail =
            pass == 0 ? pfmt(x->c, "needs a choice (at least %u of its options)", sv->group->min)
                      : "is undecided: the choices made need one of its options";
        if (missing(x, what, v, detail) == CPQD_ENOMEM)
            return SIZE_MAX;
    }
    return found;
}

/* After `already` errors naming missing options: the required groups
 * without enough options, failing that the undecided ones, failing that
 * the line as a whole. Returns CPQD_EINCOMPLETE (or CPQD_ENOMEM). */
static int report_missing(pc_run *x, const solver_result *r, const char *what, size_t already)
{
    size_t n = name_groups(x, r, what, 0);
    if (n == 0 && already == 0)
        n = name_groups(x, r, what, 1);
    if (n == SIZE_MAX)
        return CPQD_ENOMEM;
    if (n == 0 && already == 0)
        return pc_err(x, CPQD_EINCOMPLETE, x->l->p->pos, "%s", what);
    return CPQD_EINCOMPLETE;
}

/* ---- the three ways a line names its configuration ---- */

/* The exploded BOM of r as the line's options, its root attribute choices
 * as attributes (the line's own attributes first). */
static int take_bom(pc_run *x, const solver_result *r, price_line_in *out)
{
    pctx *c = x->c;
    const price_line_in *in = x->in;
    price_option_in *opts = arena_calloc(c->a, r->nbom + 1, sizeof(*opts));
    price_attr_in *attrs = arena_calloc(c->a, in->nattrs + x->n + 1, sizeof(*attrs));
    if (!opts || !attrs)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < r->nbom; i++)
        opts[i] = (price_option_in){r->bom[i].product->sku, r->bom[i].total_qty};
    if (in->nattrs) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(attrs, in->attrs, in->nattrs * sizeof(*attrs));
    size_t na = in->nattrs;
    for (size_t i = 0; i < x->n; i++) {
        const solver_var *sv = solver_var_at(x->m, x->ch[i].var);
        if (x->from[i] != PC_USER || x->ch[i].negated || sv->kind != SOLVER_VAR_ATTR ||
            sv->depth != 0 || line_attr_value(in, sv->attr->attr->id))
            continue;
        attrs[na++] = (price_attr_in){sv->attr->attr->id, in->config[x->idx[i]].value};
    }
    out->options = opts;
    out->noptions = r->nbom;
    out->attrs = attrs;
    out->nattrs = na;
    x->l->o->configured = true;
    x->l->o->config_complete = r->complete;
    return 0;
}

/* A configuration given: consistent (else 400 naming the conflicting
 * choices) and complete in its options (else 422 naming the groups). */
static int from_configuration(pc_run *x, price_line_in *out)
{
    solver_result r;
    int rc = solve(x, &r);
    if (rc)
        return rc;
    if (!r.consistent)
        rc = pc_err(x, CPQD_EINVAL, no_pos,
                    "the configuration of %s is inconsistent (conflicting choices: %s; POST "
                    "/v1/configure explains)",
                    x->l->p->sku, conflict_text(x, &r));
    else if (!r.bom_valid)
        rc = report_missing(x, &r,
                            pfmt(x->c, "the configuration of %s is incomplete", x->l->p->sku), 0);
    else if (!(rc = take_bom(x, &r, out)))
        x->l->o->config_source = PRICE_CONFIG_GIVEN;
    solver_result_fini(&r);
    return rc;
}

/* Default options of every group of an instance active in r that has no
 * choice yet and was not visited, still possible under the choices so
 * far (a default the choices exclude is not applied). */
static size_t add_defaults(pc_run *x, const solver_result *r, bool *visited)
{
    size_t added = 0;
    for (size_t v = 0; v < solver_var_count(x->m); v++) {
        const solver_var *sv = solver_var_at(x->m, v);
        if (sv->kind != SOLVER_VAR_GROUP || visited[v] || !active(x, r, v))
            continue;
        visited[v] = true;
        if (chosen_value(x, v) != SIZE_MAX)
            continue;
        for (size_t i = 0; i < sv->nvalues; i++)
            if (sv->group->options[i].is_default && r->values[v][i].state == SOLVER_POSSIBLE) {
                add_choice(x, (solver_choice){v, i, false, false, {0, 0}}, PC_DEFAULT, 0);
                added++;
            }
    }
    return added;
}

/* Neither configuration nor options: the catalog's defaults, group by
 * group from the root down, must complete the product (else 422 naming
 * the required groups the line leaves without a choice). */
static int from_defaults(pc_run *x, price_line_in *out)
{
    solver_result r0, r;
    int rc = solve(x, &r0);
    if (rc)
        return rc;
    if (!r0.consistent) {
        rc = pc_err(x, CPQD_EINVAL, no_pos, "the attributes of %s conflict: %s", x->l->p->sku,
                    conflict_text(x, &r0));
        solver_result_fini(&r0);
        return rc;
    }
    bool *visited = arena_calloc(x->c->a, solver_var_count(x->m) + 1, sizeof(bool));
    if (!visited) {
        solver_result_fini(&r0);
        return CPQD_ENOMEM;
    }
    size_t added = add_defaults(x, &r0, visited);
    r = r0;
    bool own = false; /* r is not r0 */
    while (added && !rc) {
        solver_result next;
        if ((rc = solve(x, &next)))
            break;
        if (own)
            solver_result_fini(&r);
        r = next;
        own = true;
        added = r.consistent ? add_defaults(x, &r, visited) : 0;
    }
    if (!rc && r.consistent && r.bom_valid) {
        if (!(rc = take_bom(x, &r, out)))
            x->l->o->config_source = PRICE_CONFIG_DEFAULTS;
    } else if (!rc) {
        const char *why = r.consistent ? "leave it incomplete"
                                       : pfmt(x->c, "conflict (%s)", conflict_text(x, &r));
        rc = report_missing(
            x, r.consistent ? &r : &r0,
            pfmt(x->c, "%s has no configuration and its defaults %s", x->l->p->sku, why), 0);
    }
    if (own)
        solver_result_fini(&r);
    solver_result_fini(&r0);
    return rc;
}

/* Explicit options: exactly the option list of a valid configuration
 * (every option at its BOM place and quantity, nothing required left
 * out); priced as given. */
static int from_options(pc_run *x, price_line_in *out)
{
    (void)out;
    solver_result r;
    int rc = solve(x, &r);
    if (rc)
        return rc;
    const char *what = pfmt(x->c, "the options of %s are incomplete", x->l->p->sku);
    if (!r.consistent) {
        rc = pc_err(x, CPQD_EINVAL, no_pos,
                    "the options of %s conflict (%s; POST /v1/configure explains)", x->l->p->sku,
                    conflict_text(x, &r));
        goto out;
    }
    /* what the constraints add must be listed too: the price is of the
     * options as given */
    size_t extra = 0;
    for (size_t b = 0; b < r.nbom; b++) {
        size_t k = 0;
        while (k < x->in->noptions &&
               !(x->opt_var[k] == r.bom[b].var && x->opt_val[k] == r.bom[b].value))
            k++;
        if (k < x->in->noptions)
            continue;
        extra++;
        rc = missing(
            x, what, r.bom[b].var,
            pfmt(x->c, "needs %s too (the other choices require it)", r.bom[b].product->sku));
        if (rc == CPQD_ENOMEM)
            goto out;
        if (errs_field(x->c->errs, "option", r.bom[b].product->sku)) {
            rc = CPQD_ENOMEM;
            goto out;
        }
    }
    if (extra || !r.bom_valid)
        rc = report_missing(x, &r, what, extra);
    else
        x->l->o->config_source = PRICE_CONFIG_OPTIONS;
out:
    solver_result_fini(&r);
    return rc;
}

/* ---- lines alike ----
 * Requests repeat lines (the same machine on many lines of a quote):
 * a line whose product, configuration, options and attributes equal an
 * earlier line's of the same request gets that line's result without
 * asking the configurator again. */

typedef struct price_memo {
    uint64_t h; /* 0: empty slot */
    const char *key;
    const price_option_in *options;
    size_t noptions;
    const price_attr_in *attrs;
    size_t nattrs;
    price_config_source src;
    bool configured, complete;
} price_memo;

/* The line's configuration as text (in the request arena), or NULL. */
static const char *memo_key(pctx *c, const cat_product *p, const price_line_in *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s%c%c", p->sku, in->has_config ? 'C' : '-', in->has_options ? 'O' : '-');
    for (size_t i = 0; i < in->nconfig; i++) {
        const price_choice_in *x = &in->config[i];
        fprintf(f, "\x1f%c%s\x1e%s", x->exclude ? '!' : '=', x->path, x->value);
        if (x->has_qty)
            fprintf(f, "*%s", pmoney(c, x->qty));
    }
    fputs("\x1d", f);
    for (size_t i = 0; i < in->noptions; i++)
        fprintf(f, "\x1f%s*%s", in->options[i].sku, pmoney(c, in->options[i].qty));
    fputs("\x1d", f);
    for (size_t i = 0; i < in->nattrs; i++)
        fprintf(f, "\x1f%s\x1e%s", in->attrs[i].id, in->attrs[i].value);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    const char *k = arena_strdup(c->a, buf);
    free(buf);
    return k;
}

static uint64_t memo_hash(const char *s)
{
    uint64_t h = hash_fnv1a64_str(s);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* The slot of key (h) in c's table: its entry, or the empty slot for it. */
static price_memo *memo_slot(pctx *c, uint64_t h, const char *key)
{
    size_t mask = c->capmemo - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        price_memo *e = &c->memo[i];
        if (!e->h || (e->h == h && !strcmp(e->key, key)))
            return e;
    }
}

/* Records a configured line; a full table doubles (its old copy stays in
 * the arena). Out of memory only loses the shortcut. */
static void memo_put(pctx *c, uint64_t h, const char *key, const pline *l, const price_line_in *out)
{
    if (2 * (c->nmemo + 1) > c->capmemo) {
        size_t cap = c->capmemo ? 2 * c->capmemo : 64;
        price_memo *old = c->memo, *t = arena_calloc(c->a, cap, sizeof(*t));
        if (!t)
            return;
        size_t ocap = c->capmemo;
        c->memo = t;
        c->capmemo = cap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].h)
                *memo_slot(c, old[i].h, old[i].key) = old[i];
    }
    price_memo *e = memo_slot(c, h, key);
    if (e->h)
        return;
    *e = (price_memo){h,
                      key,
                      out->options,
                      out->noptions,
                      out->attrs,
                      out->nattrs,
                      l->o->config_source,
                      l->o->configured,
                      l->o->config_complete};
    c->nmemo++;
}

static int configure_line(pctx *c, pline *l, const price_line_in *in, price_line_in *out);

int price_line_configure(pctx *c, pline *l, const price_line_in *in, price_line_in *out)
{
    *out = *in;
    const cat_product *p = l->p;
    if (!p->ngroups && !p->nconstraints && !in->nconfig && !in->has_config)
        return 0; /* attributes alone: the waterfall checks them */
    if (c->known) { /* configured by the caller (price_probe_line) */
        out->options = c->known->options;
        out->noptions = c->known->noptions;
        out->attrs = c->known->attrs;
        out->nattrs = c->known->nattrs;
        l->o->configured = true;
        l->o->config_source = PRICE_CONFIG_GIVEN;
        return 0; /* config_complete unknown: a probe does not report it */
    }
    const char *key = memo_key(c, p, in);
    uint64_t h = key ? memo_hash(key) : 0;
    const price_memo *hit = key && c->capmemo ? memo_slot(c, h, key) : NULL;
    if (hit && hit->h) {
        out->options = hit->options;
        out->noptions = hit->noptions;
        out->attrs = hit->attrs;
        out->nattrs = hit->nattrs;
        l->o->config_source = hit->src;
        l->o->configured = hit->configured;
        l->o->config_complete = hit->complete;
        return 0;
    }
    int rc = configure_line(c, l, in, out);
    if (!rc && key)
        memo_put(c, h, key, l, out);
    return rc;
}

static int configure_line(pctx *c, pline *l, const price_line_in *in, price_line_in *out)
{
    const cat_product *p = l->p;
    int rc;
    const solver_model *m = line_model(c, p, &rc);
    pc_run x = {.c = c, .l = l, .in = in, .m = m};
    if (rc)
        return rc;
    if (!m)
        return pc_err(&x, CPQD_EINVAL, no_pos, "%s has nothing to configure", p->sku);
    if ((in->nconfig || in->has_config) && (in->noptions || in->has_options))
        return pc_err(&x, CPQD_EINVAL, no_pos,
                      "options and configuration are alternatives: give one of them");
    /* room for every request item and every value of the model */
    size_t cap = in->nconfig + in->noptions + p->nattrs + 1;
    for (size_t v = 0; v < solver_var_count(m); v++)
        cap += solver_var_at(m, v)->nvalues;
    x.cap = cap;
    x.ch = arena_calloc(c->a, cap, sizeof(*x.ch));
    x.from = arena_calloc(c->a, cap, sizeof(*x.from));
    x.idx = arena_calloc(c->a, cap, sizeof(*x.idx));
    x.opt_var = arena_calloc(c->a, in->noptions + 1, sizeof(size_t));
    x.opt_val = arena_calloc(c->a, in->noptions + 1, sizeof(size_t));
    if (!x.ch || !x.from || !x.idx || !x.opt_var || !x.opt_val)
        return CPQD_ENOMEM;
    if ((rc = config_choices(&x)) || (rc = option_choices(&x)) || (rc = attr_choices(&x)))
        return rc;
    if (in->nconfig || in->has_config)
        return from_configuration(&x, out);
    if (in->noptions || in->has_options)
        return from_options(&x, out);
    return from_defaults(&x, out);
}
