/*
 * http_configure: the wire form of POST /v1/configure (docs/configurator.md
 * "API"): the request's choices resolved against the product's model, the
 * solver run, and every variable's values with their states and reasons,
 * the conflict, and the exploded BOM, as JSON.
 * Does not own: the engine (solver), routing and errors (http_route.c).
 */
#include "http_int.h"

#include "cpqd/solver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIGURE_MAX_CHOICES 4096

static void bad(cpqd_errs *errs, const char *field, const char *msg)
{
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s: %s", field, msg);
}

/* Only these keys in o. */
static bool only_keys(json_t *o, const char *where, const char *const *allowed, cpqd_errs *errs)
{
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = !strcmp(*a, k);
        if (!known) {
            char f[160];
            snprintf(f, sizeof(f), "%s%s%.60s", where, *where ? "." : "", k);
            bad(errs, f, "unknown field");
            ok = false;
        }
    }
    return ok;
}

static int parse_choice(const solver_model *m, json_t *o, size_t i, solver_choice *ch,
                        cpqd_errs *errs)
{
    static const char *const keys[] = {"path", "value", "quantity", "exclude", NULL};
    char f[64];
    snprintf(f, sizeof(f), "choices[%zu]", i);
    if (!json_is_object(o)) {
        bad(errs, f, "must be an object {path, value, quantity?, exclude?}");
        return CPQD_EINVAL;
    }
    if (!only_keys(o, f, keys, errs))
        return CPQD_EINVAL;
    json_t *p = json_object_get(o, "path"), *v = json_object_get(o, "value");
    json_t *q = json_object_get(o, "quantity"), *x = json_object_get(o, "exclude");
    char vbuf[32];
    const char *val = NULL;
    size_t vlen = 0;
    if (json_is_string(v)) {
        val = json_string_value(v);
        vlen = json_string_length(v);
    } else if (json_is_integer(v)) {
        snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(v));
        val = vbuf;
        vlen = strlen(vbuf);
    }
    if (!json_is_string(p) || !val) {
        bad(errs, f, "needs a string \"path\" and a string (or integer) \"value\"");
        return CPQD_EINVAL;
    }
    size_t var = solver_var_find(m, json_string_value(p), json_string_length(p));
    if (var == SIZE_MAX) {
        char msg[200];
        snprintf(msg, sizeof(msg), "no variable '%.100s' in this product", json_string_value(p));
        bad(errs, f, msg);
        return CPQD_EINVAL;
    }
    const char *why = NULL;
    size_t value = solver_value_find(m, var, val, vlen, &why);
    if (value == SIZE_MAX) {
        char msg[240];
        snprintf(msg, sizeof(msg), "'%.60s' is not a value of %.100s%s%s", val,
                 json_string_value(p), why ? ": " : "", why ? why : "");
        bad(errs, f, msg);
        return CPQD_EINVAL;
    }
    *ch = (solver_choice){.var = var, .value = value, .negated = json_is_true(x)};
    if (x && !json_is_boolean(x)) {
        bad(errs, f, "exclude must be true or false");
        return CPQD_EINVAL;
    }
    if (q) {
        if (!json_is_string(q) ||
            money_parse(json_string_value(q), json_string_length(q), &ch->qty) != 0) {
            bad(errs, f, "quantity must be a decimal string such as \"2\"");
            return CPQD_EINVAL;
        }
        ch->has_qty = true;
        const solver_var *sv = solver_var_at(m, var);
        const cat_option *opt = sv->kind == SOLVER_VAR_GROUP ? &sv->group->options[value] : NULL;
        char rule[256];
        if (opt && opt->ranged && opt->product &&
            cat_qty_check(opt->product, ch->qty, false, rule, sizeof(rule)) != 0) {
            char msg[300];
            snprintf(msg, sizeof(msg), "quantity %s", rule);
            bad(errs, f, msg);
            return CPQD_EINVAL;
        }
    }
    return 0;
}

static json_t *money_json(money_dec v)
{
    char b[MONEY_FMT_MAX];
    return money_format(v, b, sizeof(b)) < 0 ? json_null() : json_string(b);
}

static json_t *pos_json(cat_pos p)
{
    char b[600];
    if (!p.file)
        return json_null();
    snprintf(b, sizeof(b), "%s:%u", p.file, p.line);
    return json_string(b);
}

static json_t *reason_json(const solver_model *m, const solver_choice *choices,
                           const solver_reason *r)
{
    json_t *o = json_object(), *cs = json_array(), *cons = json_array(), *gs = json_array();
    for (size_t i = 0; i < r->nchoices; i++) {
        const solver_choice *ch = &choices[r->choices[i]];
        const solver_var *v = solver_var_at(m, ch->var);
        json_array_append_new(cs, json_pack("{s:I,s:s,s:s,s:b}", "index", (json_int_t)r->choices[i],
                                            "path", v->path, "value", v->values[ch->value],
                                            "exclude", ch->negated));
    }
    for (size_t i = 0; i < r->nconstraints; i++) {
        const cat_constraint *k = r->constraints[i].constraint;
        json_array_append_new(cons, json_pack("{s:s,s:s?,s:s,s:o}", "id", k->id, "description",
                                              k->description, "at", r->constraints[i].at,
                                              "source", pos_json(k->pos)));
    }
    for (size_t i = 0; i < r->ngroups; i++) {
        const cat_group *g = r->groups[i].group;
        json_array_append_new(gs, json_pack("{s:s,s:s,s:I,s:I,s:o}", "group", g->id, "at",
                                            r->groups[i].at, "min", (json_int_t)g->min, "max",
                                            (json_int_t)g->max, "source", pos_json(g->pos)));
    }
    json_object_set_new(o, "choices", cs);
    json_object_set_new(o, "constraints", cons);
    json_object_set_new(o, "groups", gs);
    if (r->truncated)
        json_object_set_new(o, "truncated", json_true());
    return o;
}

static json_t *result_json(const cat_snapshot *s, const solver_model *m,
                           const solver_choice *choices, const solver_result *r)
{
    const cat_product *p = solver_model_product(m);
    json_t *o = json_object(), *vars = json_array(), *bom = json_array();
    json_object_set_new(o, "product", json_string(p->sku));
    json_object_set_new(o, "catalog_version", json_string(cat_snapshot_version(s)));
    json_object_set_new(o, "consistent", json_boolean(r->consistent));
    json_object_set_new(o, "complete", json_boolean(r->complete));
    if (!r->consistent)
        json_object_set_new(o, "conflict", reason_json(m, choices, &r->conflict));
    for (size_t i = 0; r->consistent && i < solver_var_count(m); i++) {
        const solver_var *v = solver_var_at(m, i);
        static const char *const kinds[] = {"group", "attribute", "quantity"};
        json_t *vo = json_object(), *vals = json_array();
        json_object_set_new(vo, "path", json_string(v->path));
        json_object_set_new(vo, "kind", json_string(kinds[v->kind]));
        json_object_set_new(vo, "instance", json_string(v->instance));
        if (v->group) {
            json_object_set_new(vo, "min", json_integer(v->group->min));
            json_object_set_new(vo, "max", json_integer(v->group->max));
        }
        for (size_t k = 0; k < v->nvalues && k < r->nvalues[i]; k++) {
            const solver_value_result *vr = &r->values[i][k];
            json_t *x = json_pack("{s:s,s:s}", "value", v->values[k], "state",
                                  solver_state_name(vr->state));
            if (vr->state == SOLVER_EXCLUDED &&
                (vr->reason.nchoices || vr->reason.nconstraints || vr->reason.ngroups))
                json_object_set_new(x, "reason", reason_json(m, choices, &vr->reason));
            json_array_append_new(vals, x);
        }
        json_object_set_new(vo, "values", vals);
        json_array_append_new(vars, vo);
    }
    for (size_t i = 0; i < r->nbom; i++) {
        const solver_bom_line *b = &r->bom[i];
        json_t *x = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:b}", "sku", b->product->sku, "name",
                              b->product->name, "path", solver_var_at(m, b->var)->path, "level",
                              (json_int_t)b->level, "quantity", money_json(b->qty),
                              "total_quantity", money_json(b->total_qty), "implied", b->implied);
        if (b->parent != SIZE_MAX)
            json_object_set_new(x, "parent", json_integer((json_int_t)b->parent));
        json_array_append_new(bom, x);
    }
    json_object_set_new(o, "variables", vars);
    json_object_set_new(o, "bom", bom);
    json_object_set_new(o, "stats", json_pack("{s:I,s:I}", "sat_calls", (json_int_t)r->sat_calls,
                                              "witness_hits", (json_int_t)r->witness_hits));
    return o;
}

int http_configure(const cat_snapshot *s, struct solver_ctx **ctx, const char *body, size_t len,
                   char **out, cpqd_errs *errs)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "invalid JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        return CPQD_EINVAL;
    }
    static const char *const keys[] = {"product", "choices", "catalog_version", "explain", NULL};
    int rc = CPQD_EINVAL;
    solver_choice *choices = NULL;
    solver_result res;
    memset(&res, 0, sizeof(res));
    if (!json_is_object(root)) {
        bad(errs, "body", "must be a JSON object");
        goto out;
    }
    if (!only_keys(root, "", keys, errs))
        goto out;
    json_t *pj = json_object_get(root, "product"), *cj = json_object_get(root, "choices");
    json_t *vj = json_object_get(root, "catalog_version"), *ej = json_object_get(root, "explain");
    if (!json_is_string(pj)) {
        bad(errs, "product", "is required (a SKU)");
        goto out;
    }
    if (vj && (!json_is_string(vj) || strcmp(json_string_value(vj), cat_snapshot_version(s)))) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "catalog_version: this service holds version %s only", cat_snapshot_version(s));
        rc = CPQD_ECONFLICT;
        goto out;
    }
    solver_explain ex = SOLVER_EXPLAIN_FULL;
    if (ej) {
        const char *e = json_string_value(ej);
        if (e && !strcmp(e, "none"))
            ex = SOLVER_EXPLAIN_NONE;
        else if (e && !strcmp(e, "choices"))
            ex = SOLVER_EXPLAIN_CHOICES;
        else if (!e || strcmp(e, "full")) {
            bad(errs, "explain", "must be \"full\" (default), \"choices\" or \"none\"");
            goto out;
        }
    }
    const cat_product *p =
        cat_snapshot_product(s, json_string_value(pj), json_string_length(pj));
    if (!p) {
        errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "no product with SKU '%.128s'",
                 json_string_value(pj));
        rc = CPQD_ENOTFOUND;
        goto out;
    }
    const solver_model *m = solver_snapshot_model(s, p);
    if (!m) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "product %s has nothing to configure", p->sku);
        goto out;
    }
    size_t n = cj ? json_array_size(cj) : 0;
    if (cj && !json_is_array(cj)) {
        bad(errs, "choices", "must be an array");
        goto out;
    }
    if (n > CONFIGURE_MAX_CHOICES) {
        bad(errs, "choices", "too many (at most 4096)");
        goto out;
    }
    choices = calloc(n + 1, sizeof(*choices));
    if (!choices) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok &= parse_choice(m, json_array_get(cj, i), i, &choices[i], errs) == 0;
    if (!ok)
        goto out;
    if (!*ctx && !(*ctx = solver_ctx_new())) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    rc = solver_configure(*ctx, m, choices, n, ex, &res);
    if (rc == CPQD_EINVAL && errs_count(errs) == 0)
        bad(errs, "choices", "a quantity is outside its option's range or not allowed");
    if (rc)
        goto out;
    json_t *o = result_json(s, m, choices, &res);
    *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    rc = *out ? 0 : CPQD_ENOMEM;
out:
    solver_result_fini(&res);
    free(choices);
    json_decref(root);
    return rc;
}
