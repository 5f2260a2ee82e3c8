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

/* ---- the answer, written directly ----
 * An answer with full explanations holds a reason per excluded value
 * (Renault big: ~900 of them, 280 KiB): building it as jansson values
 * took ten times the solver's time, so it is written as text here, the
 * same bytes json_dumps(JSON_COMPACT) gave: members in the order below,
 * strings escaped as jansson does (", \, control characters; UTF-8 as
 * is). */

typedef struct jw {
    char *p;
    size_t len, cap;
    bool oom;
} jw;

static void jw_add(jw *w, const char *s, size_t n)
{
    if (w->oom)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 16384;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *p = realloc(w->p, cap);
        if (!p) {
            w->oom = true;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void jw_raw(jw *w, const char *s)
{
    jw_add(w, s, strlen(s));
}

/* s as a JSON string (NULL: null). */
static void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_raw(w, "null");
        return;
    }
    jw_add(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_add(w, run, (size_t)(s - run));
        char e[8];
        switch (c) {
        case '"': jw_raw(w, "\\\""); break;
        case '\\': jw_raw(w, "\\\\"); break;
        case '\b': jw_raw(w, "\\b"); break;
        case '\f': jw_raw(w, "\\f"); break;
        case '\n': jw_raw(w, "\\n"); break;
        case '\r': jw_raw(w, "\\r"); break;
        case '\t': jw_raw(w, "\\t"); break;
        default:
            snprintf(e, sizeof(e), "\\u%04x", c);
            jw_raw(w, e);
        }
        run = s + 1;
    }
    jw_add(w, run, (size_t)(s - run));
    jw_add(w, "\"", 1);
}

static void jw_int(jw *w, long long v)
{
    char b[32];
    snprintf(b, sizeof(b), "%lld", v);
    jw_raw(w, b);
}

static void jw_bool(jw *w, bool v)
{
    jw_raw(w, v ? "true" : "false");
}

static void jw_money(jw *w, money_dec v)
{
    char b[MONEY_FMT_MAX];
    if (money_format(v, b, sizeof(b)) < 0)
        jw_raw(w, "null");
    else
        jw_str(w, b);
}

static void jw_pos(jw *w, cat_pos p)
{
    char b[600];
    if (!p.file) {
        jw_raw(w, "null");
        return;
    }
    snprintf(b, sizeof(b), "%s:%u", p.file, p.line);
    jw_str(w, b);
}

static void reason_write(jw *w, const solver_model *m, const solver_choice *choices,
                         const solver_reason *r)
{
    jw_raw(w, "{\"choices\":[");
    for (size_t i = 0; i < r->nchoices; i++) {
        const solver_choice *ch = &choices[r->choices[i]];
        const solver_var *v = solver_var_at(m, ch->var);
        jw_raw(w, i ? ",{\"index\":" : "{\"index\":");
        jw_int(w, (long long)r->choices[i]);
        jw_raw(w, ",\"path\":");
        jw_str(w, v->path);
        jw_raw(w, ",\"value\":");
        jw_str(w, v->values[ch->value]);
        jw_raw(w, ",\"exclude\":");
        jw_bool(w, ch->negated);
        jw_raw(w, "}");
    }
    jw_raw(w, "],\"constraints\":[");
    for (size_t i = 0; i < r->nconstraints; i++) {
        const cat_constraint *k = r->constraints[i].constraint;
        jw_raw(w, i ? ",{\"id\":" : "{\"id\":");
        jw_str(w, k->id);
        jw_raw(w, ",\"description\":");
        jw_str(w, k->description);
        jw_raw(w, ",\"at\":");
        jw_str(w, r->constraints[i].at);
        jw_raw(w, ",\"source\":");
        jw_pos(w, k->pos);
        jw_raw(w, "}");
    }
    jw_raw(w, "],\"groups\":[");
    for (size_t i = 0; i < r->ngroups; i++) {
        const cat_group *g = r->groups[i].group;
        jw_raw(w, i ? ",{\"group\":" : "{\"group\":");
        jw_str(w, g->id);
        jw_raw(w, ",\"at\":");
        jw_str(w, r->groups[i].at);
        jw_raw(w, ",\"min\":");
        jw_int(w, (long long)g->min);
        jw_raw(w, ",\"max\":");
        jw_int(w, (long long)g->max);
        jw_raw(w, ",\"source\":");
        jw_pos(w, g->pos);
        jw_raw(w, "}");
    }
    jw_raw(w, r->truncated ? "],\"truncated\":true}" : "]}");
}

static void result_write(jw *w, const cat_snapshot *s, const solver_model *m,
                         const solver_choice *choices, const solver_result *r)
{
    static const char *const kinds[] = {"group", "attribute", "quantity"};
    const cat_product *p = solver_model_product(m);
    jw_raw(w, "{\"product\":");
    jw_str(w, p->sku);
    jw_raw(w, ",\"catalog_version\":");
    jw_str(w, cat_snapshot_version(s));
    jw_raw(w, ",\"consistent\":");
    jw_bool(w, r->consistent);
    jw_raw(w, ",\"complete\":");
    jw_bool(w, r->complete);
    if (!r->consistent) {
        jw_raw(w, ",\"conflict\":");
        reason_write(w, m, choices, &r->conflict);
    }
    jw_raw(w, ",\"variables\":[");
    for (size_t i = 0; r->consistent && i < solver_var_count(m); i++) {
        const solver_var *v = solver_var_at(m, i);
        jw_raw(w, i ? ",{\"path\":" : "{\"path\":");
        jw_str(w, v->path);
        jw_raw(w, ",\"kind\":");
        jw_str(w, kinds[v->kind]);
        jw_raw(w, ",\"instance\":");
        jw_str(w, v->instance);
        if (v->group) {
            jw_raw(w, ",\"min\":");
            jw_int(w, (long long)v->group->min);
            jw_raw(w, ",\"max\":");
            jw_int(w, (long long)v->group->max);
        }
        jw_raw(w, ",\"values\":[");
        for (size_t k = 0; k < v->nvalues && k < r->nvalues[i]; k++) {
            const solver_value_result *vr = &r->values[i][k];
            jw_raw(w, k ? ",{\"value\":" : "{\"value\":");
            jw_str(w, v->values[k]);
            jw_raw(w, ",\"state\":");
            jw_str(w, solver_state_name(vr->state));
            if (vr->state == SOLVER_EXCLUDED &&
                (vr->reason.nchoices || vr->reason.nconstraints || vr->reason.ngroups)) {
                jw_raw(w, ",\"reason\":");
                reason_write(w, m, choices, &vr->reason);
            }
            jw_raw(w, "}");
        }
        jw_raw(w, "]}");
    }
    jw_raw(w, "],\"bom\":[");
    for (size_t i = 0; i < r->nbom; i++) {
        const solver_bom_line *b = &r->bom[i];
        jw_raw(w, i ? ",{\"sku\":" : "{\"sku\":");
        jw_str(w, b->product->sku);
        jw_raw(w, ",\"name\":");
        jw_str(w, b->product->name);
        jw_raw(w, ",\"path\":");
        jw_str(w, solver_var_at(m, b->var)->path);
        jw_raw(w, ",\"level\":");
        jw_int(w, (long long)b->level);
        jw_raw(w, ",\"quantity\":");
        jw_money(w, b->qty);
        jw_raw(w, ",\"total_quantity\":");
        jw_money(w, b->total_qty);
        jw_raw(w, ",\"implied\":");
        jw_bool(w, b->implied);
        if (b->parent != SIZE_MAX) {
            jw_raw(w, ",\"parent\":");
            jw_int(w, (long long)b->parent);
        }
        jw_raw(w, "}");
    }
    jw_raw(w, "],\"stats\":{\"sat_calls\":");
    jw_int(w, (long long)r->sat_calls);
    jw_raw(w, ",\"witness_hits\":");
    jw_int(w, (long long)r->witness_hits);
    jw_raw(w, "}}");
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
    jw w = {0};
    result_write(&w, s, m, choices, &res);
    if (w.oom)
        free(w.p);
    *out = w.oom ? NULL : w.p;
    rc = *out ? 0 : CPQD_ENOMEM;
out:
    solver_result_fini(&res);
    free(choices);
    json_decref(root);
    return rc;
}
