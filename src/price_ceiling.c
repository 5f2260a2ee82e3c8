/*
 * price_ceiling: the static check of price books against the configurator
 * that `cpqd check` runs (docs/pricing.md "Ceilings no configuration can
 * meet").
 *
 * Owns: for every price-book entry with a ceiling that bounds the price
 * per unit (`bounds: unit`) in a book that asks for approval out of range,
 * of a product with BOM groups or constraints: finding the cheapest valid
 * configuration's price per unit and warning, with the product, the book
 * and the entry's file:line, when even that one is above the ceiling (so
 * every order of the product needs approval).
 * Does not own: the cheapest configuration (solver_cheapest), the
 * waterfall (price.c prices each candidate exactly as a request would).
 *
 * How: the waterfall's steps 2 are linear in the configuration's values
 * (each option's list price times its quantity, each attribute value's
 * adder), so the configurator's branch and bound finds the least of
 * them exactly; the candidate is then priced by the engine (steps 1-5,
 * formulas included), from the BOM read off the configuration found
 * (known_line) rather than by asking the configurator again, where the
 * two are sure to agree. When formulas apply, every combination of the
 * root attributes' values gets its own cheapest configuration, since a
 * formula may read them (exact for formulas that read attributes and
 * never lower a price when options add to it).
 */
#include "price_int.h"

#include "cpqd/solver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_MAX_CALLS 20000 /* SAT calls per cheapest-configuration search */
#define PC_MAX_COMBOS 1024 /* root attribute combinations tried when formulas apply */

/* One (product, book entry) under check. */
typedef struct pk {
    price_worker *w;
    const cat_snapshot *s;
    const cat_product *p;
    const cat_price_book *b;
    const cat_pb_entry *e;
    const solver_model *m;
    price_request rq; /* the context: the book's audience, currency and first day */
    price_result res; /* for the pctx below: currency only */
    pctx c;           /* to look prices up as step 1 does */
    cpqd_errs *notes;
    uint64_t *w8; /* weights per flat value, in units of 10^-scale */
    int scale;
    bool approx;    /* a weight assumed a ranged ancestor at its least quantity */
    bool inexact;   /* a search ran out of budget, or a candidate did not price */
    bool priced;    /* some candidate was priced */
    bool elsewhere; /* a candidate was priced from another entry */
    money_dec best; /* the cheapest candidate's price per unit */
    const char *best_text;
    price_check_way way;
    price_check_stats *st; /* or NULL */
} pk;

static const char *pk_fmt(pk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *pk_fmt(pk *k, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return arena_strdup(k->c.a, buf);
}

/* ---- weights ---- */

/* The least quantity an option can have: fixed, or the bottom of its
 * range (any quantity in the range is valid). */
static money_dec least_qty(const cat_option *o, bool *ranged)
{
    *ranged = o->ranged;
    return o->ranged ? o->qty_min : o->qty;
}

/* The option's list price per unit of the line as step 2 prices it, its
 * ancestors at their least quantities; zero when it has no price of its
 * own (included). */
static int option_price(pk *k, size_t v, size_t i, money_dec *out)
{
    const solver_var *sv = solver_var_at(k->m, v);
    const cat_product *q = sv->group->options[i].product;
    const cat_price_book *b;
    const cat_pb_entry *e;
    money_dec rate, price, f = money_from_int(1);
    *out = pw_zero();
    if (!q || price_find_entry(&k->c, q, false, &b, &e, &rate) != 0)
        return 0;
    int rc = price_convert(&k->c, e->list, rate, e->unit_price, &price);
    for (size_t a = v; !rc && solver_var_at(k->m, a)->depth > 0;) {
        const solver_var *av = solver_var_at(k->m, a);
        bool ranged;
        money_dec aq = least_qty(
            &solver_var_at(k->m, av->parent_var)->group->options[av->parent_value], &ranged);
        k->approx |= ranged;
        rc = pw_mul(f, aq, &f);
        a = av->parent_var;
    }
    return rc ? rc : pw_mul(price, f, out);
}

/* Money as a whole number of 10^-scale units; false if it does not fit. */
static bool to_units(money_dec v, int scale, uint64_t *out)
{
    money_dec x;
    if (money_sign(v) < 0 || money_rescale(v, scale, MONEY_HALF_EVEN, &x) != 0 ||
        money_cmp(x, v) != 0)
        return false;
    *out = (uint64_t)x.coef;
    return true;
}

/* The weight of every value: options (by their quantity variable's
 * values when they have one), root attribute adders. A root attribute's
 * weights are taken relative to its cheapest value (adders may be
 * negative; it always has exactly one value). */
static int weigh(pk *k)
{
    size_t nv = solver_value_count(k->m);
    money_dec *w = arena_calloc(k->c.a, nv + 1, sizeof(*w));
    k->w8 = arena_calloc(k->c.a, nv + 1, sizeof(uint64_t));
    if (!w || !k->w8)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < nv; i++)
        w[i] = pw_zero();
    int rc = 0;
    for (size_t v = 0; v < solver_var_count(k->m) && !rc; v++) {
        const solver_var *sv = solver_var_at(k->m, v);
        if (sv->kind == SOLVER_VAR_GROUP) {
            for (size_t i = 0; i < sv->nvalues && !rc; i++) {
                bool ranged;
                money_dec price, q = least_qty(&sv->group->options[i], &ranged);
                if ((rc = option_price(k, v, i, &price)))
                    break;
                /* ranged with a quantity variable: its values carry the cost */
                bool has_qvar = false;
                for (size_t u = 0; u < solver_var_count(k->m) && !has_qvar; u++) {
                    const solver_var *qv = solver_var_at(k->m, u);
                    if (qv->kind != SOLVER_VAR_QTY || qv->parent_var != v || qv->parent_value != i)
                        continue;
                    has_qvar = true;
                    for (size_t j = 0; j < qv->nvalues && !rc; j++) {
                        money_dec n;
                        if (!(rc = money_parse(qv->values[j], strlen(qv->values[j]), &n)))
                            rc = pw_mul(price, n, &w[solver_value_index(k->m, u, j)]);
                    }
                }
                if (!has_qvar && !rc)
                    rc = pw_mul(price, q, &w[solver_value_index(k->m, v, i)]);
            }
        } else if (sv->kind == SOLVER_VAR_ATTR && sv->depth == 0) {
            money_dec low = pw_zero(), rate;
            if (!price_fx_rate(&k->c, k->p->catalog, k->p->catalog->currency, &rate))
                continue; /* the engine reports it for every line anyway */
            for (size_t i = 0; i < sv->nvalues && !rc; i++) {
                const cat_value *ad = price_adder_of(sv->attr, sv->values[i]);
                money_dec a = pw_zero();
                if (ad && (rc = price_convert(&k->c, ad->adder, rate, false, &a)))
                    break;
                w[solver_value_index(k->m, v, i)] = a;
                low = pw_min(low, a);
            }
            for (size_t i = 0; i < sv->nvalues && !rc; i++)
                rc = pw_sub(w[solver_value_index(k->m, v, i)], low,
                            &w[solver_value_index(k->m, v, i)]);
        }
    }
    if (rc)
        return rc;
    k->scale = 0;
    for (size_t i = 0; i < nv; i++) {
        money_dec n;
        if (money_normalize(w[i], &n) == 0 && n.scale > k->scale)
            k->scale = n.scale;
    }
    for (size_t i = 0; i < nv; i++)
        if (!to_units(w[i], k->scale, &k->w8[i]))
            return CPQD_ERANGE;
    return 0;
}

/* ---- candidates ---- */

/* The configuration of a search result as a line's configuration: every
 * option in it (ranged ones at their quantity) and every attribute value
 * (but "any other value"). */
static int candidate_line(pk *k, const solver_cheapest_result *r, price_line_in *ln,
                          const char **text)
{
    size_t nv = solver_var_count(k->m), n = 0;
    price_choice_in *ch = arena_calloc(k->c.a, solver_value_count(k->m) + 1, sizeof(*ch));
    char buf[400] = "";
    size_t len = 0;
    if (!ch)
        return CPQD_ENOMEM;
    for (size_t v = 0; v < nv; v++) {
        const solver_var *sv = solver_var_at(k->m, v);
        if (sv->kind == SOLVER_VAR_QTY)
            continue;
        for (size_t i = 0; i < sv->nvalues; i++) {
            if (!r->values[solver_value_index(k->m, v, i)] ||
                (sv->has_other && i + 1 == sv->nvalues))
                continue;
            price_choice_in *x = &ch[n++];
            *x = (price_choice_in){sv->path, sv->values[i], false, {0, 0}, false};
            if (sv->kind != SOLVER_VAR_GROUP)
                continue;
            if (len < sizeof(buf) - 1) {
                int w =
                    snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ", " : "", sv->values[i]);
                len += w > 0 ? (size_t)w : 0;
            }
            const cat_option *o = &sv->group->options[i];
            if (!o->ranged)
                continue;
            x->has_qty = true;
            x->qty = o->qty_min;
            for (size_t u = 0; u < nv; u++) {
                const solver_var *qv = solver_var_at(k->m, u);
                if (qv->kind != SOLVER_VAR_QTY || qv->parent_var != v || qv->parent_value != i)
                    continue;
                for (size_t j = 0; j < qv->nvalues; j++)
                    if (r->values[solver_value_index(k->m, u, j)])
                        money_parse(qv->values[j], strlen(qv->values[j]), &x->qty);
            }
        }
    }
    *ln = (price_line_in){
        .id = "1", .sku = k->p->sku, .qty = money_from_int(1), .config = ch, .nconfig = n};
    *text = len ? pk_fmt(k, "%s", buf) : "no options";
    return 0;
}

/* Whether a positive choice among ch[0..n) is on variable var. */
static bool chosen(const solver_choice *ch, size_t n, size_t var)
{
    for (size_t i = 0; i < n; i++)
        if (ch[i].var == var && !ch[i].negated)
            return true;
    return false;
}

/* The choices price_line_configure makes of candidate line ln (a
 * configuration, no attributes): its configuration's (config_choices),
 * then the root attributes' defaults where it has no value of them
 * (attr_choices); *nuser: how many are the configuration's. CPQD_EINVAL
 * where configuring the line would fail on them. */
static int line_choices(pk *k, const price_line_in *ln, solver_choice *ch, size_t *n, size_t *nuser)
{
    const solver_model *m = k->m;
    *n = 0;
    for (size_t i = 0; i < ln->nconfig; i++) {
        const price_choice_in *cf = &ln->config[i];
        const char *why = NULL;
        size_t var = solver_var_find(m, cf->path, strlen(cf->path));
        size_t val = var == SIZE_MAX
                         ? SIZE_MAX
                         : solver_value_find(m, var, cf->value, strlen(cf->value), &why);
        if (val == SIZE_MAX)
            return CPQD_EINVAL;
        const solver_var *sv = solver_var_at(m, var);
        char q[256];
        if (cf->has_qty && sv->kind == SOLVER_VAR_GROUP && sv->group->options[val].ranged &&
            cat_qty_check(sv->group->options[val].product, cf->qty, false, q, sizeof(q)) != 0)
            return CPQD_EINVAL;
        ch[(*n)++] = (solver_choice){var, val, cf->exclude, cf->has_qty, cf->qty};
    }
    *nuser = *n;
    for (size_t a = 0; a < k->p->nattrs; a++) {
        const cat_prod_attr *pa = &k->p->attrs[a];
        char path[128];
        snprintf(path, sizeof(path), "@%s", pa->attr->id);
        size_t var = solver_var_find(m, path, strlen(path));
        if (var == SIZE_MAX || chosen(ch, *n, var))
            continue;
        const char *v = pa->default_value, *why = NULL;
        size_t val = v ? solver_value_find(m, var, v, strlen(v), &why) : SIZE_MAX;
        if (val != SIZE_MAX)
            ch[(*n)++] = (solver_choice){var, val, false, false, {0, 0}};
    }
    return 0;
}

/* Candidate line ln as price_line_configure would configure it (the
 * options and root attributes of take_bom), read from the configuration
 * r found instead of solving it again: under the same choices, which
 * select r's configuration whole, solver_bom_of gives the BOM that
 * solver_configure would. CPQD_EINVAL when that does not hold (a root
 * attribute's default other than r's value, say) or a choice would fail:
 * then only configuring the line again can say; CPQD_ENOMEM. */
static int known_line(pk *k, const solver_cheapest_result *r, const price_line_in *ln,
                      price_line_in *out)
{
    size_t n, nuser, nbom;
    solver_choice *ch = arena_calloc(k->c.a, ln->nconfig + k->p->nattrs + 1, sizeof(*ch));
    if (!ch)
        return CPQD_ENOMEM;
    /* the line's own attributes are checked against the choices; a line
     * without configuration is configured from the product's defaults */
    if (ln->nattrs || (!ln->nconfig && !ln->has_config))
        return CPQD_EINVAL;
    solver_bom_line *bom;
    int rc = line_choices(k, ln, ch, &n, &nuser);
    if (rc || (rc = solver_bom_of(k->m, ch, n, r->values, &bom, &nbom)))
        return rc == CPQD_ENOMEM ? rc : CPQD_EINVAL;
    price_option_in *opts = arena_calloc(k->c.a, nbom + 1, sizeof(*opts));
    price_attr_in *attrs = arena_calloc(k->c.a, nuser + 1, sizeof(*attrs));
    for (size_t i = 0; opts && i < nbom; i++)
        opts[i] = (price_option_in){bom[i].product->sku, bom[i].total_qty};
    free(bom);
    if (!opts || !attrs)
        return CPQD_ENOMEM;
    size_t na = 0;
    for (size_t i = 0; i < nuser; i++) {
        const solver_var *sv = solver_var_at(k->m, ch[i].var);
        if (!ch[i].negated && sv->kind == SOLVER_VAR_ATTR && sv->depth == 0)
            attrs[na++] = (price_attr_in){sv->attr->attr->id, ln->config[i].value};
    }
    *out = *ln;
    out->options = opts;
    out->noptions = nbom;
    out->attrs = attrs;
    out->nattrs = na;
    return 0;
}

/* Steps 1-6 on line ln (configured as known says unless NULL). */
static int probe(pk *k, const price_line_in *ln, const price_line_in *known, price_probe *pr)
{
    k->rq.lines = ln;
    k->rq.nlines = 1;
    cpqd_errs *e = errs_new();
    int rc = e ? price_probe_line(k->w, k->s, &k->rq, known, pr, e) : CPQD_ENOMEM;
    errs_free(e);
    k->rq.lines = NULL;
    k->rq.nlines = 0;
    return rc;
}

static bool probe_same(int rc1, const price_probe *a, int rc2, const price_probe *b)
{
    if (rc1 || rc2)
        return rc1 == rc2;
    return a->amount.coef == b->amount.coef && a->amount.scale == b->amount.scale &&
           a->entry == b->entry && a->book == b->book;
}

/* Prices candidate line ln (from known unless NULL) and keeps it if it
 * is the cheapest so far. */
static int price_candidate(pk *k, const price_line_in *ln, const price_line_in *known,
                           const char *text)
{
    price_probe pr;
    int prc = probe(k, ln, known, &pr);
    if (k->st && known)
        k->st->known++;
    if (k->st && !known)
        k->st->again++;
    if (known && k->way == PRICE_CHECK_BOTH && prc != CPQD_ENOMEM) {
        price_probe again;
        int arc = probe(k, ln, NULL, &again);
        if (arc != CPQD_ENOMEM && !probe_same(prc, &pr, arc, &again) && k->st)
            k->st->differ++;
        prc = arc; /* the way before decides */
        pr = again;
    }
    if (prc == CPQD_ENOMEM)
        return prc;
    if (prc)
        k->inexact = true;
    else if (pr.entry != k->e)
        k->elsewhere = true; /* another entry's bounds apply on that day */
    else if (!k->priced || money_cmp(pr.amount, k->best) < 0) {
        k->priced = true;
        k->best = pr.amount;
        k->best_text = text;
    }
    return 0;
}

/* Prices the cheapest configuration under the choices (attribute values
 * of one combination) and keeps it if it is the cheapest so far. */
static int try_choices(pk *k, const solver_choice *ch, size_t n)
{
    solver_cheapest_result r;
    int rc = solver_cheapest(k->m, ch, n, k->w8, PC_MAX_CALLS, &r);
    if (rc || !r.found) {
        solver_cheapest_fini(&r);
        return rc == CPQD_EINVAL ? 0 : rc; /* no configuration with these values */
    }
    k->inexact |= !r.exact;
    price_line_in ln, known;
    const char *text;
    if (!(rc = candidate_line(k, &r, &ln, &text))) {
        int kr = k->way == PRICE_CHECK_AGAIN ? CPQD_EINVAL : known_line(k, &r, &ln, &known);
        rc = kr == CPQD_ENOMEM ? kr : price_candidate(k, &ln, kr ? NULL : &known, text);
    }
    solver_cheapest_fini(&r);
    return rc;
}

/* Every combination of the root attributes' values (but "any other"),
 * each with its cheapest configuration. */
static int try_combinations(pk *k)
{
    size_t nv = solver_var_count(k->m), na = 0, combos = 1;
    size_t *vars = arena_calloc(k->c.a, nv + 1, sizeof(size_t));
    size_t *at = arena_calloc(k->c.a, nv + 1, sizeof(size_t));
    solver_choice *ch = arena_calloc(k->c.a, nv + 1, sizeof(*ch));
    if (!vars || !at || !ch)
        return CPQD_ENOMEM;
    for (size_t v = 0; v < nv; v++) {
        const solver_var *sv = solver_var_at(k->m, v);
        size_t real = sv->nvalues - (sv->has_other ? 1 : 0);
        if (sv->kind != SOLVER_VAR_ATTR || sv->depth != 0 || real < 2)
            continue;
        vars[na++] = v;
        combos = combos > PC_MAX_COMBOS / real ? PC_MAX_COMBOS + 1 : combos * real;
    }
    if (combos > PC_MAX_COMBOS) {
        k->inexact = true; /* too many to try: the defaults' search below only */
        return try_choices(k, NULL, 0);
    }
    for (size_t done = 0; done < combos; done++) {
        for (size_t a = 0; a < na; a++)
            ch[a] = (solver_choice){vars[a], at[a], false, false, {0, 0}};
        int rc = try_choices(k, ch, na);
        if (rc)
            return rc;
        for (size_t a = 0; a < na; a++) { /* next combination, odometer style */
            const solver_var *sv = solver_var_at(k->m, vars[a]);
            if (++at[a] < sv->nvalues - (sv->has_other ? 1 : 0))
                break;
            at[a] = 0;
        }
    }
    return 0;
}

/* ---- one entry ---- */

static void context(pk *k)
{
    const cat_price_book *b = k->b;
    k->rq = (price_request){
        .customer_id = "cpqd-check", .role = "rep", .has_currency = true, .date = k->e->valid_from};
    memcpy(k->rq.currency, b->currency, 4);
    if (b->audience == CAT_AUD_SEGMENT)
        k->rq.segment = b->audience_id;
    else if (b->audience == CAT_AUD_PARTNER)
        k->rq.partner_id = b->audience_id, k->rq.role = "partner";
    else if (b->audience == CAT_AUD_CUSTOMER)
        k->rq.customer_id = b->audience_id;
    memcpy(k->res.currency, b->currency, 4);
}

static int check_entry(pk *k)
{
    context(k);
    k->c = (pctx){.w = k->w, .s = k->s, .rq = &k->rq, .r = &k->res, .errs = k->notes};
    int rc = money_currency_minor(k->res.currency, &k->c.minor);
    if (rc)
        return 0;
    k->c.a = arena_new(16 << 10);
    if (!k->c.a)
        return CPQD_ENOMEM;
    rc = weigh(k);
    if (rc == CPQD_ERANGE) {
        rc = 0;
        k->inexact = true;
    } else if (!rc) {
        rc = price_has_formula(k->p) ? try_combinations(k) : try_choices(k, NULL, 0);
    }
    const cat_catalog *cc = k->p->catalog;
    const char *level = cc->napprovals ? cc->approvals[cc->napprovals - 1].id : "an approver";
    const char *prod = k->p->pos.file;
    money_dec best = k->best;
    if (k->priced && money_rescale(k->best, k->c.minor, MONEY_HALF_EVEN, &best) != 0)
        best = k->best;
    const char *file = k->e->pos.file;
    if (!rc && k->priced && money_cmp(k->best, k->e->ceiling) > 0 && !k->inexact && !k->approx)
        errs_add(k->notes, CPQD_EINVAL, file, k->e->pos.line, k->e->pos.col,
                 "%s (%s:%u): no valid configuration can be ordered within the ceiling %s of "
                 "book %s: the cheapest, %s, costs %s per unit with its options, so every "
                 "order needs approval (%s); if the ceiling bounds the base price, say "
                 "`bounds: base`",
                 k->p->sku, prod, k->p->pos.line, pmoney(&k->c, k->e->ceiling), k->b->id,
                 k->best_text, pmoney(&k->c, best), level);
    else if (!rc && ((!k->priced && !k->elsewhere) ||
                     (k->priced && money_cmp(k->best, k->e->ceiling) > 0)))
        errs_add(k->notes, CPQD_EINVAL, file, k->e->pos.line, k->e->pos.col,
                 "%s (%s:%u): could not decide whether a valid configuration fits the ceiling "
                 "%s of book %s (%s)",
                 k->p->sku, prod, k->p->pos.line, pmoney(&k->c, k->e->ceiling), k->b->id,
                 k->priced ? pk_fmt(k, "the cheapest found costs %s", pmoney(&k->c, best))
                           : "no configuration could be priced");
    arena_free(k->c.a);
    return rc == CPQD_ENOMEM ? rc : 0;
}

/* The model of p: the snapshot's, or one built for the check (*own). */
static const solver_model *model_for(const cat_snapshot *s, const cat_product *p,
                                     solver_model **own)
{
    *own = NULL;
    if (cat_snapshot_ext(s, CAT_EXT_SOLVER))
        return solver_snapshot_model(s, p);
    cpqd_errs *e = errs_new();
    *own = e ? solver_model_build(p, e) : NULL;
    errs_free(e);
    return *own;
}

int price_check(const cat_snapshot *s, cpqd_errs *notes)
{
    return price_check_with(s, notes, PRICE_CHECK_KNOWN, NULL);
}

int price_check_with(const cat_snapshot *s, cpqd_errs *notes, price_check_way way,
                     price_check_stats *st)
{
    if (st)
        *st = (price_check_stats){0, 0, 0};
    price_worker *w = price_worker_new();
    if (!w)
        return CPQD_ENOMEM;
    int rc = 0;
    for (size_t ci = 0; ci < cat_snapshot_catalog_count(s) && !rc; ci++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, ci);
        for (size_t bi = 0; bi < cc->nbooks && !rc; bi++) {
            const cat_price_book *b = &cc->books[bi];
            for (size_t ei = 0; ei < b->nentries && !rc && !b->clamp; ei++) {
                const cat_pb_entry *e = &b->entries[ei];
                const cat_product *p = e->product;
                if (!e->has_ceiling || e->bounds != CAT_BOUNDS_UNIT || !p || !p->sellable ||
                    (!p->ngroups && !p->nconstraints))
                    continue;
                solver_model *own;
                const solver_model *m = model_for(s, p, &own);
                if (!m)
                    continue;
                pk k = {.w = w,
                        .s = s,
                        .p = p,
                        .b = b,
                        .e = e,
                        .m = m,
                        .notes = notes,
                        .way = way,
                        .st = st};
                rc = check_entry(&k);
                solver_model_free(own);
            }
        }
    }
    price_worker_free(w);
    return rc;
}
