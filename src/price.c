/*
 * price: the waterfall (docs/pricing.md). One line goes through
 *   1 list  2 adders/options  3 formulas  4 tiers  5 contract/partner
 *   6 requested discount  7 promotions (price_promo.c)  8 floor/ceiling
 *   9 rounding and tax
 * on its extended amount (unit price x quantity), each step recorded with
 * its delta and its source. Totals are sums of the rounded lines.
 */
#include "price_int.h"

#include "cpqd/solver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- working arithmetic ---- */

money_dec pw_zero(void)
{
    return money_from_int(0);
}

money_dec pw_min(money_dec a, money_dec b)
{
    return money_cmp(a, b) <= 0 ? a : b;
}

/* money_normalize, stripping trailing zeros eight, four, two at a time
 * before one by one (a working amount carries up to ten of them) */
static int pw_fit(money_dec v, money_dec *out)
{
    money_dec n = v;
    if (!money_is_valid(v))
        return CPQD_ERANGE;
    if (n.coef == 0) {
        n.scale = 0;
    } else {
        while (n.scale >= 8 && n.coef % 100000000 == 0)
            n.coef /= 100000000, n.scale -= 8;
        while (n.scale >= 4 && n.coef % 10000 == 0)
            n.coef /= 10000, n.scale -= 4;
        while (n.scale >= 2 && n.coef % 100 == 0)
            n.coef /= 100, n.scale -= 2;
        while (n.scale >= 1 && n.coef % 10 == 0)
            n.coef /= 10, n.scale -= 1;
    }
    if (n.scale > PRICE_WORK_SCALE)
        return money_rescale(n, PRICE_WORK_SCALE, MONEY_HALF_EVEN, out);
    *out = n;
    return 0;
}

int pw_add(money_dec a, money_dec b, money_dec *out)
{
    money_dec r;
    int rc = money_add(a, b, &r);
    return rc ? rc : pw_fit(r, out);
}

int pw_sub(money_dec a, money_dec b, money_dec *out)
{
    money_dec r;
    int rc = money_sub(a, b, &r);
    return rc ? rc : pw_fit(r, out);
}

int pw_mul(money_dec a, money_dec b, money_dec *out)
{
    int scale = a.scale + b.scale;
    if (scale > PRICE_WORK_SCALE)
        scale = PRICE_WORK_SCALE;
    money_dec r;
    int rc;
    /* the largest scale the product fits at, never below 2 */
    while ((rc = money_mul(a, b, scale, MONEY_HALF_EVEN, &r)) == CPQD_ERANGE && scale > 2)
        scale--;
    return rc ? rc : pw_fit(r, out);
}

int pw_percent(money_dec a, money_dec pct, money_dec *out)
{
    money_dec hundredth = {.coef = 1, .scale = 2};
    money_dec f;
    int rc = pw_mul(pct, hundredth, &f);
    return rc ? rc : pw_mul(a, f, out);
}

/* ---- request arena helpers ---- */

char *pfmt(pctx *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return arena_strdup(c->a, buf);
}

#define PLABEL_SLOTS 64 /* a power of two */

typedef struct plabel_memo {
    const char *fmt; /* NULL: empty */
    const void *k1;
    int64_t k2;
    int k3;
    const char *text;
} plabel_memo;

const char *plabel(pctx *c, const void *k1, int64_t k2, int k3, const char *fmt, ...)
{
    if (!c->labels && !(c->labels = arena_calloc(c->a, PLABEL_SLOTS, sizeof(*c->labels))))
        return NULL;
    uint64_t h = ((uint64_t)(uintptr_t)fmt ^ (uint64_t)(uintptr_t)k1 * 31 ^ (uint64_t)k2 * 131 ^
                  (uint64_t)k3) *
                 0x9e3779b97f4a7c15ull;
    plabel_memo *m = &c->labels[h >> 58]; /* 64 slots: the top six bits */
    if (m->fmt == fmt && m->k1 == k1 && m->k2 == k2 && m->k3 == k3)
        return m->text;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    const char *t = arena_strdup(c->a, buf);
    if (t)
        *m = (plabel_memo){fmt, k1, k2, k3, t};
    return t;
}

const char *pmoney(pctx *c, money_dec v)
{
    char buf[MONEY_FMT_MAX];
    if (money_format(v, buf, sizeof(buf)) < 0)
        return "?";
    return arena_strdup(c->a, buf);
}

int pline_step(pctx *c, pline *l, price_step_kind k, const char *label, const char *ref,
               money_dec delta, cat_pos src)
{
    price_line_out *o = l->o;
    if (o->nsteps == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        price_step *st = arena_alloc(c->a, cap * sizeof(*st));
        if (!st)
            return CPQD_ENOMEM;
        if (o->nsteps)
            memcpy(st, o->steps, o->nsteps * sizeof(*st));
        o->steps = st;
        l->cap = cap;
    }
    o->steps[o->nsteps++] = (price_step){k, label, ref, delta, l->amount, src};
    return 0;
}

static int perr(pctx *c, int code, cat_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(pctx *c, int code, cat_pos pos, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    errs_add(c->errs, code, pos.file, pos.line, pos.col, "%s", buf);
    return code;
}

static const cat_pos no_pos = {NULL, 0, 0};

/* ---- the per-snapshot index: SKU -> price-book entries ---- */

typedef struct pix_entry {
    const char *sku;
    const cat_price_book *book;
    const cat_pb_entry *entry;
    size_t order; /* book order in the snapshot, then entry order */
} pix_entry;

typedef struct pix {
    pix_entry *v;
    size_t n;
} pix;

static int pix_cmp(const void *pa, const void *pb)
{
    const pix_entry *a = pa, *b = pb;
    int c = strcmp(a->sku, b->sku);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int pix_build(cat_snapshot *s, cpqd_errs *errs, void **out)
{
    (void)errs;
    size_t n = 0;
    for (size_t i = 0; i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, i);
        for (size_t b = 0; b < cc->nbooks; b++)
            n += cc->books[b].nentries;
    }
    pix *x = calloc(1, sizeof(*x));
    if (!x || !(x->v = malloc((n ? n : 1) * sizeof(*x->v)))) {
        free(x);
        return CPQD_ENOMEM;
    }
    for (size_t i = 0; i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, i);
        for (size_t b = 0; b < cc->nbooks; b++)
            for (size_t e = 0; e < cc->books[b].nentries; e++, x->n++)
                x->v[x->n] = (pix_entry){cc->books[b].entries[e].sku, &cc->books[b],
                                         &cc->books[b].entries[e], x->n};
    }
    qsort(x->v, x->n, sizeof(*x->v), pix_cmp);
    *out = x;
    return 0;
}

static void pix_free(void *p)
{
    pix *x = p;
    if (x)
        free(x->v);
    free(x);
}

void price_register(void)
{
    cat_ext_register(CAT_EXT_PRICE, pix_build, pix_free);
}

/* ---- step 1 and 5: which entry applies ---- */

static bool in_window(date_days d, date_days from, bool has_to, date_days to)
{
    return d >= from && (!has_to || d <= to);
}

/* The rate from `from` to the request currency, or false if none. */
bool price_fx_rate(pctx *c, const cat_catalog *cc, const char *from, money_dec *rate)
{
    if (strcmp(from, c->r->currency) == 0) {
        *rate = money_from_int(1);
        return true;
    }
    for (size_t i = 0; i < cc->nfx_rates; i++)
        if (!strcmp(cc->fx_rates[i].from, from) && !strcmp(cc->fx_rates[i].to, c->r->currency)) {
            *rate = cc->fx_rates[i].rate;
            return true;
        }
    return false;
}

int price_convert(pctx *c, money_dec v, money_dec rate, bool unit_price, money_dec *out)
{
    if (rate.coef == 1 && rate.scale == 0) {
        *out = v;
        return 0;
    }
    money_dec x;
    int rc = pw_mul(v, rate, &x);
    if (rc)
        return rc;
    int scale = unit_price ? 6 : c->minor;
    return money_rescale(x, scale, MONEY_HALF_EVEN, out);
}

/* How well a book fits the request: -1 not at all, higher is better.
 * Step 1 takes books for everyone (1) or the customer's segment (2);
 * step 5 the customer's own contracted book (4) or its partner's (3). */
static int book_rank(pctx *c, const cat_price_book *b, bool contract)
{
    const price_request *rq = c->rq;
    switch (b->audience) {
    case CAT_AUD_ALL:
        return contract ? -1 : 1;
    case CAT_AUD_SEGMENT:
        return !contract && rq->segment && !strcmp(rq->segment, b->audience_id) ? 2 : -1;
    case CAT_AUD_PARTNER:
        return contract && rq->partner_id && !strcmp(rq->partner_id, b->audience_id) ? 3 : -1;
    case CAT_AUD_CUSTOMER:
        return contract && rq->customer_id && !strcmp(rq->customer_id, b->audience_id) ? 4 : -1;
    }
    return -1;
}

/* Better candidate: higher audience rank, then a book already in the
 * request currency, then the later valid_from, then catalog order. */
static bool better(int rank, bool same_cur, const cat_price_book *b, int brank, bool bsame,
                   const cat_price_book *best)
{
    if (!best)
        return true;
    if (rank != brank)
        return rank > brank;
    if (same_cur != bsame)
        return same_cur;
    return b->valid_from > best->valid_from;
}

int price_find_entry(pctx *c, const cat_product *p, bool contract, const cat_price_book **book,
                     const cat_pb_entry **entry, money_dec *rate)
{
    const pix *x = cat_snapshot_ext(c->s, CAT_EXT_PRICE);
    const cat_price_book *best = NULL;
    const cat_pb_entry *best_e = NULL;
    int brank = -1;
    bool bsame = false;
    money_dec brate = money_from_int(1);
    date_days d = c->rq->date;

#define CONSIDER(B, E)                                                                         \
    do {                                                                                       \
        const cat_price_book *b_ = (B);                                                        \
        const cat_pb_entry *e_ = (E);                                                          \
        money_dec r_;                                                                          \
        int rank_ = book_rank(c, b_, contract);                                                \
        if (rank_ >= 0 && b_->catalog == p->catalog &&                                         \
            in_window(d, b_->valid_from, b_->has_valid_to, b_->valid_to) &&                    \
            in_window(d, e_->valid_from, e_->has_valid_to, e_->valid_to) &&                    \
            price_fx_rate(c, b_->catalog, b_->currency, &r_)) {                                \
            bool same_ = strcmp(b_->currency, c->r->currency) == 0;                            \
            if (better(rank_, same_, b_, brank, bsame, best)) {                                \
                best = b_, best_e = e_, brank = rank_, bsame = same_, brate = r_;              \
            }                                                                                  \
        }                                                                                      \
    } while (0)

    if (x) {
        pix_entry key = {.sku = p->sku, .order = 0};
        size_t lo = 0, hi = x->n;
        while (lo < hi) { /* first entry with this SKU */
            size_t mid = lo + (hi - lo) / 2;
            if (pix_cmp(&x->v[mid], &key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < x->n && strcmp(x->v[i].sku, p->sku) == 0; i++)
            CONSIDER(x->v[i].book, x->v[i].entry);
    } else {
        const cat_catalog *cc = p->catalog;
        for (size_t b = 0; b < cc->nbooks; b++)
            for (size_t e = 0; e < cc->books[b].nentries; e++)
                if (!strcmp(cc->books[b].entries[e].sku, p->sku))
                    CONSIDER(&cc->books[b], &cc->books[b].entries[e]);
    }
#undef CONSIDER
    if (!best)
        return CPQD_ENOTFOUND;
    *book = best;
    *entry = best_e;
    *rate = brate;
    return 0;
}

/* ---- step 4: tiers ---- */

static const char *const tier_names[] = {"volume", "graduated", "block", "package"};

/* ---- rules ---- */

int price_rule(pctx *c, const char *path, cat_pos declared, const rules_value *input,
               unsigned accept, rules_result *res)
{
    const rules_chunk *ch = cat_snapshot_rule(c->s, path);
    if (!ch)
        return perr(c, CPQD_EINTERNAL, declared, "rule '%s' is not compiled", path);
    int rc = price_rcache_eval(c->w, c->s, ch, input, accept, res);
    if (rc == 0)
        return 0;
    if (rc == CPQD_ENOMEM)
        return rc;
    /* "file:line: message" from Lua already names the rule; say which one
     * ran and how it ended */
    errs_add(c->errs, CPQD_ERULE, rules_chunk_name(ch), res->line, 0, "rule failed (%s): %s",
             rules_outcome_name(res->outcome), res->msg);
    return CPQD_ERULE;
}

/* ---- one line, steps 1-6 ---- */

static money_round line_rounding(const pline *l);

const cat_value *price_adder_of(const cat_prod_attr *pa, const char *v)
{
    if (pa->attr->type != CAT_ATTR_ENUM)
        return NULL;
    for (size_t i = 0; i < pa->nadders; i++)
        if (!strcmp(pa->adders[i].id, v))
            return &pa->adders[i];
    for (size_t i = 0; i < pa->attr->nvalues; i++)
        if (!strcmp(pa->attr->values[i].id, v))
            return pa->attr->values[i].has_adder ? &pa->attr->values[i] : NULL;
    return NULL;
}

static const char *line_attr(const price_line_in *in, const char *id)
{
    for (size_t i = 0; i < in->nattrs; i++)
        if (!strcmp(in->attrs[i].id, id))
            return in->attrs[i].value;
    return NULL;
}

/* Is sku an option anywhere in p's BOM? depth-bounded (cycles are
 * rejected at load). */
static bool in_bom(const cat_product *p, const char *sku, int depth)
{
    if (!p || depth > 64)
        return false;
    for (size_t g = 0; g < p->ngroups; g++)
        for (size_t o = 0; o < p->groups[g].noptions; o++) {
            const cat_option *op = &p->groups[g].options[o];
            if (!strcmp(op->sku, sku) || in_bom(op->product, sku, depth + 1))
                return true;
        }
    return false;
}

/* The line's attribute values: each one the product's, valid for it and
 * offered; with `require`, every required attribute has a value (given
 * or default). With `only_require`, the values were checked already (the
 * same attributes): only that every required one has a value. */
static int check_attrs(pctx *c, pline *l, const price_line_in *in, bool require,
                       bool only_require)
{
    const cat_product *p = l->p;
    if (only_require) {
        for (size_t k = 0; require && k < p->nattrs; k++) {
            const cat_prod_attr *pa = &p->attrs[k];
            if (pa->required && !pa->default_value && !line_attr(in, pa->attr->id))
                return perr(c, CPQD_EINVAL, no_pos, "line %s: attribute '%s' of %s is required",
                            l->o->id, pa->attr->id, p->sku);
        }
        return 0;
    }
    for (size_t i = 0; i < in->nattrs; i++) {
        bool known = false;
        for (size_t k = 0; k < p->nattrs && !known; k++)
            known = !strcmp(p->attrs[k].attr->id, in->attrs[i].id);
        if (!known)
            return perr(c, CPQD_EINVAL, no_pos, "line %s: product %s has no attribute '%s'",
                        l->o->id, p->sku, in->attrs[i].id);
    }
    for (size_t k = 0; k < p->nattrs; k++) {
        const cat_prod_attr *pa = &p->attrs[k];
        const char *v = line_attr(in, pa->attr->id);
        const char *why = NULL;
        if (!v)
            v = pa->default_value;
        if (!v) {
            if (pa->required && require)
                return perr(c, CPQD_EINVAL, no_pos, "line %s: attribute '%s' of %s is required",
                            l->o->id, pa->attr->id, p->sku);
            continue;
        }
        if (cat_attr_value_check(pa->attr, v, strlen(v), &why) != 0)
            return perr(c, CPQD_EINVAL, no_pos, "line %s: attribute '%s' = '%s': %s", l->o->id,
                        pa->attr->id, v, why ? why : "invalid value");
        if (pa->values) {
            bool ok = false;
            for (size_t j = 0; j < pa->nvalues && !ok; j++)
                ok = !strcmp(pa->values[j], v);
            if (!ok)
                return perr(c, CPQD_EINVAL, no_pos,
                            "line %s: attribute '%s' = '%s' is not offered for %s", l->o->id,
                            pa->attr->id, v, p->sku);
        }
    }
    return 0;
}

static int step_adders(pctx *c, pline *l, const price_line_in *in, bool checked,
                       money_dec *unit)
{
    const cat_product *p = l->p;
    int rc0 = check_attrs(c, l, in, !c->probe, checked);
    if (rc0)
        return rc0;
    for (size_t k = 0; k < p->nattrs; k++) {
        const cat_prod_attr *pa = &p->attrs[k];
        const char *v = line_attr(in, pa->attr->id);
        if (!v)
            v = pa->default_value;
        if (!v)
            continue;
        const cat_value *ad = price_adder_of(pa, v);
        if (!ad || money_is_zero(ad->adder))
            continue;
        /* adders are in the catalog's currency (docs/catalog.md), not the
         * list book's: convert with the catalog's rate, not l->rate (a USD
         * book in a KWD catalog must not convert a KWD adder as dollars) */
        money_dec add, ext, rate;
        int rc;
        if (!price_fx_rate(c, p->catalog, p->catalog->currency, &rate))
            return perr(c, CPQD_ENOTFOUND, ad->pos,
                        "line %s: no exchange rate %s->%s for the adder %s = %s", l->o->id,
                        p->catalog->currency, c->r->currency, pa->attr->id, v);
        if ((rc = price_convert(c, ad->adder, rate, false, &add)) ||
            (rc = pw_add(*unit, add, unit)) || (rc = pw_mul(add, l->o->qty, &ext)) ||
            (rc = pw_add(l->amount, ext, &l->amount)))
            return rc;
        /* v is ad's id (price_adder_of matched it): (ad, attribute) decide both */
        rc = pline_step(c, l, PRICE_STEP_ADDER,
                        plabel(c, ad, (int64_t)(uintptr_t)pa->attr, 0, "%s = %s", pa->attr->id, v),
                        plabel(c, ad, (int64_t)(uintptr_t)pa->attr, 0, "%s=%s", pa->attr->id, v),
                        ext, ad->pos);
        if (rc)
            return rc;
    }
    return 0;
}

static int step_options(pctx *c, pline *l, const price_line_in *in, money_dec *unit)
{
    for (size_t i = 0; i < in->noptions; i++) {
        const price_option_in *op = &in->options[i];
        const cat_product *q = cat_snapshot_product(c->s, op->sku, strlen(op->sku));
        if (!q || !in_bom(l->p, op->sku, 0))
            return perr(c, CPQD_EINVAL, no_pos, "line %s: '%s' is not an option of %s", l->o->id,
                        op->sku, l->p->sku);
        if (money_sign(op->qty) < 0)
            return perr(c, CPQD_EINVAL, no_pos, "line %s: option %s: negative quantity",
                        l->o->id, op->sku);
        const cat_price_book *b;
        const cat_pb_entry *e;
        money_dec rate, price, ext, per_unit;
        int rc;
        if (price_find_entry(c, q, false, &b, &e, &rate) != 0) {
            /* no price of its own: included in the product's price */
            rc = pline_step(c, l, PRICE_STEP_OPTION, pfmt(c, "option %s (included)", q->sku),
                            q->sku, pw_zero(), q->pos);
            if (rc)
                return rc;
            continue;
        }
        if ((rc = price_convert(c, e->list, rate, e->unit_price, &price)) ||
            (rc = pw_mul(price, op->qty, &per_unit)) || (rc = pw_add(*unit, per_unit, unit)) ||
            (rc = pw_mul(per_unit, l->o->qty, &ext)) ||
            (rc = pw_add(l->amount, ext, &l->amount)))
            return rc;
        rc = pline_step(c, l, PRICE_STEP_OPTION,
                        pfmt(c, "option %s x %s (book %s)", q->sku, pmoney(c, op->qty), b->id),
                        q->sku, ext, e->pos);
        if (rc)
            return rc;
    }
    return 0;
}

/* price_formula_input: see price_int.h */
int price_formula_input(pctx *c, pline *l, const price_line_in *in, money_dec unit,
                        rules_value *out)
{
    const cat_product *p = l->p;
    rules_field *attrs = arena_calloc(c->a, p->nattrs + 1, sizeof(*attrs));
    rules_field *opts = arena_calloc(c->a, in->noptions + 1, sizeof(*opts));
    rules_field *cust = arena_calloc(c->a, 2, sizeof(*cust));
    rules_field *f = arena_calloc(c->a, 13, sizeof(*f));
    rules_field *top = arena_calloc(c->a, 1, sizeof(*top));
    if (!attrs || !opts || !cust || !f || !top)
        return CPQD_ENOMEM;
    size_t na = 0, no = 0, nf = 0;
    for (size_t k = 0; k < p->nattrs; k++) {
        const cat_attr *a = p->attrs[k].attr;
        const char *v = line_attr(in, a->id);
        if (!v)
            v = p->attrs[k].default_value;
        if (!v)
            continue;
        rules_value rv = rules_value_str(v, strlen(v));
        money_dec d;
        if ((a->type == CAT_ATTR_INTEGER || a->type == CAT_ATTR_DECIMAL) &&
            money_parse(v, strlen(v), &d) == 0)
            rv = a->type == CAT_ATTR_INTEGER && d.scale == 0 ? rules_value_int(d.coef)
                                                             : rules_value_dec(d);
        attrs[na++] = (rules_field){a->id, rv};
    }
    for (size_t i = 0; i < in->noptions; i++) {
        bool dup = false;
        for (size_t j = 0; j < no && !dup; j++)
            dup = !strcmp(opts[j].name, in->options[i].sku);
        if (!dup)
            opts[no++] = (rules_field){in->options[i].sku, rules_value_dec(in->options[i].qty)};
    }
    const price_request *rq = c->rq;
    size_t nc = 0;
    cust[nc++] = (rules_field){"id", rules_value_str(rq->customer_id, strlen(rq->customer_id))};
    if (rq->segment)
        cust[nc++] = (rules_field){"segment", rules_value_str(rq->segment, strlen(rq->segment))};
    char *date = arena_alloc(c->a, DATE_FMT_LEN);
    if (!date)
        return CPQD_ENOMEM;
    date_format(rq->date, date);
    f[nf++] = (rules_field){"price", rules_value_dec(unit)};
    f[nf++] = (rules_field){"list", rules_value_dec(l->o->list_unit)};
    f[nf++] = (rules_field){"quantity", rules_value_dec(l->o->qty)};
    f[nf++] = (rules_field){"sku", rules_value_str(p->sku, strlen(p->sku))};
    f[nf++] = (rules_field){"category", rules_value_str(p->category, strlen(p->category))};
    f[nf++] = (rules_field){"currency", rules_value_str(c->r->currency, 3)};
    f[nf++] = (rules_field){"date", rules_value_str(date, strlen(date))};
    f[nf++] = (rules_field){"attributes", rules_value_table(attrs, na)};
    f[nf++] = (rules_field){"options", rules_value_table(opts, no)};
    f[nf++] = (rules_field){"customer", rules_value_table(cust, nc)};
    if (rq->partner_id)
        f[nf++] = (rules_field){"partner", rules_value_str(rq->partner_id, strlen(rq->partner_id))};
    if (rq->channel)
        f[nf++] = (rules_field){"channel", rules_value_str(rq->channel, strlen(rq->channel))};
    top[0] = (rules_field){"ctx", rules_value_table(f, nf)};
    *out = rules_value_table(top, 1);
    return 0;
}

bool price_formula_applies(const cat_formula *f, const cat_product *p)
{
    for (size_t i = 0; i < f->nskus; i++)
        if (!strcmp(f->skus[i], p->sku))
            return true;
    for (size_t i = 0; i < f->ncategories; i++)
        if (!strcmp(f->categories[i], p->category))
            return true;
    return false;
}

/* Runs one formula: nil keeps the unit price, a decimal or an integer
 * replaces it (never negative). */
static int run_formula(pctx *c, pline *l, const price_line_in *in, const char *path, cat_pos pos,
                       money_dec *unit)
{
    rules_value input;
    rules_result *res = c->w->res; /* 4 KiB: one per worker, not one per line */
    int rc = price_formula_input(c, l, in, *unit, &input);
    if (rc)
        return rc;
    if ((rc = price_rule(c, path, pos, &input, RULES_ACCEPT_MONEY, res)))
        return rc;
    if (res->n == 0 || res->values[0].type == RULES_T_NIL)
        return 0;
    money_dec nu = res->values[0].type == RULES_T_INT ? money_from_int(res->values[0].u.i)
                                                      : res->values[0].u.dec;
    /* the rule is at fault, not the request: rule_failed (422) with the
     * rule file, like a non-decimal result (docs/pricing.md "Errors") */
    if (money_sign(nu) < 0) {
        cat_pos rule = {rules_chunk_name(cat_snapshot_rule(c->s, path)), 0, 0};
        return perr(c, CPQD_ERULE, rule, "line %s: formula %s returned a negative price %s",
                    l->o->id, path, pmoney(c, nu));
    }
    money_dec d, ext;
    if ((rc = pw_sub(nu, *unit, &d)) || (rc = pw_mul(d, l->o->qty, &ext)) ||
        (rc = pw_add(l->amount, ext, &l->amount)))
        return rc;
    *unit = nu;
    if (money_is_zero(d))
        return 0;
    cat_pos src = {rules_chunk_name(cat_snapshot_rule(c->s, path)), 0, 0};
    return pline_step(c, l, PRICE_STEP_FORMULA, plabel(c, path, 0, 0, "formula %s", path), path,
                      ext, src);
}

bool price_has_formula(const cat_product *p)
{
    for (size_t i = 0; !p->formula && i < p->catalog->nformulas; i++)
        if (price_formula_applies(&p->catalog->formulas[i], p))
            return true;
    return p->formula != NULL;
}

static int step_formulas(pctx *c, pline *l, const price_line_in *in, money_dec *unit)
{
    int rc = 0;
    if (l->p->formula)
        rc = run_formula(c, l, in, l->p->formula, l->p->pos, unit);
    const cat_catalog *cc = l->p->catalog;
    for (size_t i = 0; rc == 0 && i < cc->nformulas; i++)
        if (price_formula_applies(&cc->formulas[i], l->p))
            rc = run_formula(c, l, in, cc->formulas[i].file, cc->formulas[i].pos, unit);
    return rc;
}

/* Step 4: the tier schedule replaces list x quantity. */
static int step_tiers(pctx *c, pline *l, const cat_pb_entry *e, money_dec rate, money_dec *base,
                      const char *book)
{
    if (!e->has_tiers || e->nbands == 0)
        return 0;
    money_dec t, d;
    int rc;
    if ((rc = cat_tier_amount(e, rate, l->o->qty, &t)) || (rc = pw_sub(t, *base, &d)))
        return rc;
    *base = t;
    if (money_is_zero(d))
        return 0;
    if ((rc = pw_add(l->amount, d, &l->amount)))
        return rc;
    return pline_step(c, l, PRICE_STEP_TIER,
                      pfmt(c, "%s tiers (book %s)", tier_names[e->tier_type], book), book, d,
                      e->pos);
}

/* Step 5: a contracted (customer) or partner entry replaces the base
 * (list x quantity after tiers); adders, options and formulas stay. */
static int step_contract(pctx *c, pline *l, money_dec base)
{
    const cat_price_book *b;
    const cat_pb_entry *e;
    money_dec rate, price, t, d;
    if (price_find_entry(c, l->p, true, &b, &e, &rate) != 0)
        return 0;
    int rc;
    if (e->has_tiers && e->nbands)
        rc = cat_tier_amount(e, rate, l->o->qty, &t);
    else if (!(rc = price_convert(c, e->list, rate, e->unit_price, &price)))
        rc = pw_mul(price, l->o->qty, &t);
    if (rc || (rc = pw_sub(t, base, &d)) || (rc = pw_add(l->amount, d, &l->amount)))
        return rc;
    l->floor_entry = e;
    l->floor_book = b;
    l->floor_rate = rate;
    const char *what = b->audience == CAT_AUD_CUSTOMER ? "contracted price" : "partner price";
    return pline_step(c, l, PRICE_STEP_CONTRACT, pfmt(c, "%s (book %s)", what, b->id), b->id, d,
                      e->pos);
}

/* The discount authority of the request's caller (price_authority.c). */
static bool authority(pctx *c, const cat_catalog *cc, money_dec *pct)
{
    const price_request *rq = c->rq;
    price_who who = {rq->role, rq->partner_id, rq->has_authority, rq->authority};
    return price_authority_of(cc, &who, pct);
}

static void need_approval(pctx *c, pline *l, const char *level, const char *reason)
{
    price_line_out *o = l->o;
    o->approval_required = true;
    if (!o->approval_reason)
        o->approval_reason = reason;
    else if (reason && c)
        o->approval_reason = pfmt(c, "%s; %s", o->approval_reason, reason);
    /* keep the higher level: levels are ordered, compare by position */
    if (!o->approval_level) {
        o->approval_level = level;
        return;
    }
    const cat_catalog *cc = l->p->catalog;
    size_t have = 0, want = 0;
    for (size_t i = 0; i < cc->napprovals; i++) {
        if (!strcmp(cc->approvals[i].id, o->approval_level))
            have = i;
        if (level && !strcmp(cc->approvals[i].id, level))
            want = i;
    }
    if (want > have)
        o->approval_level = level;
}

static int step_discount(pctx *c, pline *l, const price_line_in *in)
{
    if (!in->has_discount || money_is_zero(in->discount))
        return 0;
    money_dec hundred = money_from_int(100);
    if (money_sign(in->discount) < 0 || money_cmp(in->discount, hundred) > 0)
        return perr(c, CPQD_EINVAL, no_pos, "line %s: discount %s%% must be within 0..100",
                    l->o->id, pmoney(c, in->discount));
    money_dec d;
    int rc = pw_percent(l->amount, in->discount, &d);
    /* a discount is an amount of money: whole minor units */
    if (rc || (rc = money_rescale(d, c->minor, line_rounding(l), &d)) ||
        (rc = pw_sub(l->amount, d, &l->amount)))
        return rc;
    const cat_catalog *cc = l->p->catalog;
    money_dec auth;
    const char *role = c->rq->role ? c->rq->role : "rep"; /* the default, as in authority() */
    /* the reasons: decided by the catalog (its authorities) and the
     * discount, the role being the request's */
    if (!authority(c, cc, &auth))
        need_approval(c, l, price_level_for(cc, in->discount),
                      plabel(c, cc, in->discount.coef, in->discount.scale,
                             "discount %s%%: the %s role has no discount authority",
                             pmoney(c, in->discount), role));
    else if (money_cmp(in->discount, auth) > 0)
        need_approval(c, l, price_level_for(cc, in->discount),
                      plabel(c, cc, in->discount.coef, in->discount.scale,
                             "discount %s%% exceeds the %s authority of %s%%",
                             pmoney(c, in->discount), role, pmoney(c, auth)));
    return pline_step(c, l, PRICE_STEP_DISCOUNT,
                      plabel(c, NULL, in->discount.coef, in->discount.scale,
                             "requested discount %s%%", pmoney(c, in->discount)),
                      NULL,
                      money_neg(d), no_pos);
}

static int price_line(pctx *c, pline *l, const price_line_in *in)
{
    /* the line's own attribute values first (a bad value is a 400 before
     * any configuration question), then the configuration it is priced
     * from (price_config.c): the options and attributes below are those
     * of a valid configuration */
    price_line_in configured;
    int rc0 = check_attrs(c, l, in, false, false);
    if (rc0 || (rc0 = price_line_configure(c, l, in, &configured)))
        return rc0;
    /* the same attributes as checked above (not a configuration's): step 2
     * need not check their values again */
    bool checked = configured.attrs == in->attrs && configured.nattrs == in->nattrs;
    in = &configured;
    const cat_product *p = l->p;
    price_line_out *o = l->o;
    if (money_sign(in->qty) < 0)
        return perr(c, CPQD_EINVAL, no_pos, "line %s: quantity must not be negative", o->id);
    if (in->nattrs > PRICE_MAX_ATTRS || in->noptions > PRICE_MAX_OPTIONS)
        return perr(c, CPQD_ELIMIT, no_pos, "line %s: too many attributes or options", o->id);
    int rc = price_find_entry(c, p, false, &l->book, &l->entry, &l->rate);
    if (rc)
        return perr(c, CPQD_ENOTFOUND, p->pos,
                    "line %s: no price for %s in %s on the requested date", o->id, p->sku,
                    c->r->currency);
    l->floor_entry = l->entry;
    l->floor_book = l->book;
    l->floor_rate = l->rate;
    o->book = l->book->id;
    money_dec unit, base;
    if ((rc = price_convert(c, l->entry->list, l->rate, l->entry->unit_price, &o->list_unit)) ||
        (rc = pw_mul(o->list_unit, o->qty, &base)))
        return rc;
    l->amount = base;
    unit = o->list_unit;
    const char *lbl = strcmp(l->book->currency, c->r->currency)
                          ? plabel(c, l->book, l->rate.coef, l->rate.scale,
                                   "list price (book %s, %s converted at %s)", l->book->id,
                                   l->book->currency, pmoney(c, l->rate))
                          : plabel(c, l->book, 0, 0, "list price (book %s)", l->book->id);
    if ((rc = pline_step(c, l, PRICE_STEP_LIST, lbl, l->book->id, base, l->entry->pos)) ||
        (rc = step_adders(c, l, in, checked, &unit)) || (rc = step_options(c, l, in, &unit)) ||
        (rc = step_formulas(c, l, in, &unit)) || (rc = pw_sub(l->amount, base, &l->extras)) ||
        (rc = step_tiers(c, l, l->entry, l->rate, &base, l->book->id)) ||
        (rc = step_contract(c, l, base)) || (rc = step_discount(c, l, in)))
        return rc;
    if (l->entry->has_cost && !c->rq->partner_view) {
        money_dec cost;
        if ((rc = price_convert(c, l->entry->cost, l->rate, l->entry->unit_price, &cost)) ||
            (rc = pw_mul(cost, o->qty, &o->cost)))
            return rc;
        o->has_cost = true;
    }
    return 0;
}

/* ---- steps 8 and 9 ---- */

static int step_floor(pctx *c, pline *l)
{
    const cat_pb_entry *e = l->floor_entry;
    if (!e || (!e->has_floor && !e->has_ceiling) || money_is_zero(l->o->qty))
        return 0;
    bool clamp = l->floor_book->clamp;
    for (int which = 0; which < 2; which++) {
        bool fl = which == 0;
        if (fl ? !e->has_floor : !e->has_ceiling)
            continue;
        money_dec bound, ext, d, subject = l->amount;
        int rc;
        /* bounds: base compares the base price: the amount less what
         * attributes, options and formulas added (discounts and promotions
         * count against the base) */
        bool base = e->bounds == CAT_BOUNDS_BASE;
        if ((rc = price_convert(c, fl ? e->floor : e->ceiling, l->floor_rate, e->unit_price,
                                &bound)) ||
            (rc = pw_mul(bound, l->o->qty, &ext)) ||
            (base && (rc = pw_sub(l->amount, l->extras, &subject))))
            return rc;
        int cmp = money_cmp(subject, ext);
        if (fl ? cmp >= 0 : cmp <= 0)
            continue;
        const char *why = fl ? "below the price floor" : "above the price ceiling";
        const char *what = base ? "base price" : "price";
        if (c->rq->partner_view) {
            /* a partner never learns a bound: no clamp to it (which would
             * show its value), no word of which one; the order goes to
             * approval like any price outside them */
            l->o->out_of_bounds = true;
            need_approval(c, l, price_level_top(l->p->catalog),
                          pfmt(c, "price outside the bounds of book %s", l->floor_book->id));
            continue;
        }
        if (!clamp) {
            l->o->out_of_bounds = true;
            need_approval(c, l, price_level_top(l->p->catalog),
                          pfmt(c, "%s %s of book %s", what, why, l->floor_book->id));
            continue;
        }
        if ((rc = pw_sub(ext, subject, &d)) || (rc = pw_add(l->amount, d, &l->amount)))
            return rc;
        rc = pline_step(c, l, fl ? PRICE_STEP_FLOOR : PRICE_STEP_CEILING,
                        pfmt(c, "%sclamped to the %s (book %s)", base ? "base price " : "",
                             fl ? "floor" : "ceiling", l->floor_book->id),
                        l->floor_book->id, d, e->pos);
        if (rc)
            return rc;
    }
    return 0;
}

const cat_tax_class *price_tax_class(const cat_product *p)
{
    const cat_catalog *cc = p->catalog;
    for (size_t i = 0; i < cc->ntax_classes; i++)
        if (!strcmp(cc->tax_classes[i].id, p->tax_class))
            return &cc->tax_classes[i];
    return NULL;
}

static money_round line_rounding(const pline *l)
{
    return l->book ? l->book->rounding : l->p->catalog->rounding;
}

/* Tax of one rounded amount: exclusive prices add amount x rate; inclusive
 * prices hold amount - amount / (1 + rate). Rounded to minor with the
 * catalog's tax.rounding_mode (half-even unless it says otherwise). */
static int tax_of(pctx *c, const cat_catalog *cc, money_dec amount, money_dec rate,
                  money_dec *tax)
{
    int rc;
    if (!cc->prices_include_tax)
        return money_mul(amount, rate, c->minor, cc->tax_mode, tax);
    /* round the tax itself, as docs/pricing.md says, not the net: the
     * exact tax amount - amount / (1 + rate) is amount x rate / (1 + rate).
     * Rounding the net instead gives another fen on exact halves (3.03 at
     * 20%: net 2.525, tax 0.505 -> 0.50, not 3.03 - 2.52 = 0.51). */
    money_dec one_plus, part;
    if ((rc = money_add(money_from_int(1), rate, &one_plus)) ||
        (rc = money_mul(amount, rate, amount.scale + rate.scale, MONEY_HALF_EVEN, &part)))
        return rc;
    return money_div(part, one_plus, c->minor, cc->tax_mode, tax);
}

static int step_round(pctx *c, pline *l)
{
    money_dec r, d;
    int rc = money_rescale(l->amount, c->minor, line_rounding(l), &r);
    if (rc || (rc = money_sub(r, l->amount, &d)))
        return rc;
    l->amount = r;
    if (!money_is_zero(d) &&
        (rc = pline_step(c, l, PRICE_STEP_ROUNDING,
                         pfmt(c, "rounded to %d places (%s)", c->minor,
                              money_round_name(line_rounding(l))),
                         NULL, d, no_pos)))
        return rc;
    const cat_tax_class *tc = price_tax_class(l->p);
    l->o->tax_rate = tc ? tc->rate : pw_zero();
    return 0;
}

/* Per line: tax each line. Per document: tax the sum of each (catalog,
 * class) once and allocate it back to its lines by largest remainder, so
 * lines still add up to the document's tax. */
static int taxes(pctx *c)
{
    int rc;
    for (size_t i = 0; i < c->nlines; i++) {
        pline *l = &c->lines[i];
        if (l->p->catalog->tax_per_document)
            continue;
        if ((rc = tax_of(c, l->p->catalog, l->amount, l->o->tax_rate, &l->o->tax)))
            return rc;
    }
    bool *done = arena_calloc(c->a, c->nlines + 1, sizeof(bool));
    money_dec *w = arena_calloc(c->a, c->nlines + 1, sizeof(money_dec));
    money_dec *part = arena_calloc(c->a, c->nlines + 1, sizeof(money_dec));
    size_t *idx = arena_calloc(c->a, c->nlines + 1, sizeof(size_t));
    if (!done || !w || !part || !idx)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < c->nlines; i++) {
        pline *l = &c->lines[i];
        if (done[i] || !l->p->catalog->tax_per_document)
            continue;
        size_t n = 0;
        money_dec sum = pw_zero();
        for (size_t j = i; j < c->nlines; j++) {
            pline *m = &c->lines[j];
            if (done[j] || m->p->catalog != l->p->catalog ||
                money_cmp(m->o->tax_rate, l->o->tax_rate) != 0)
                continue;
            done[j] = true;
            idx[n] = j;
            w[n++] = m->amount;
            if ((rc = money_add(sum, m->amount, &sum)))
                return rc;
        }
        money_dec tax;
        if ((rc = tax_of(c, l->p->catalog, sum, l->o->tax_rate, &tax)))
            return rc;
        bool any = false;
        for (size_t k = 0; k < n; k++)
            any |= money_sign(w[k]) > 0;
        if (!any) {
            /* zero at the currency's minor places, like every other tax */
            money_dec zero = {0, c->minor};
            for (size_t k = 0; k < n; k++)
                c->lines[idx[k]].o->tax = zero;
            continue;
        }
        if ((rc = money_allocate(tax, w, n, c->minor, part)))
            return rc;
        for (size_t k = 0; k < n; k++)
            c->lines[idx[k]].o->tax = part[k];
    }
    return 0;
}

/* Every line total and the document's total are within the service's
 * maximum amount (docs/auth.md "Limits"): what a quote stores can be
 * summed, scheduled and paid later without overflow. */
static int amounts_bounded(pctx *c)
{
    for (size_t i = 0; i <= c->nlines; i++) {
        money_dec t = i < c->nlines ? c->lines[i].o->total : c->r->total;
        if (!cat_amount_ok(t))
            return perr(c, CPQD_ELIMIT, no_pos, "%s%s: total %s is beyond the maximum amount %lld",
                        i < c->nlines ? "line " : "the request",
                        i < c->nlines ? c->lines[i].o->id : "", pmoney(c, t),
                        (long long)CAT_AMOUNT_MAX);
    }
    return 0;
}

static int totals(pctx *c)
{
    price_result *r = c->r;
    int rc;
    money_dec zero;
    if ((rc = money_rescale(pw_zero(), c->minor, MONEY_HALF_EVEN, &zero)))
        return rc;
    r->subtotal = r->tax = r->total = zero;
    for (size_t i = 0; i < c->nlines; i++) {
        pline *l = &c->lines[i];
        price_line_out *o = l->o;
        if (l->p->catalog->prices_include_tax) {
            o->total = l->amount;
            rc = money_sub(o->total, o->tax, &o->net);
        } else {
            o->net = l->amount;
            rc = money_add(o->net, o->tax, &o->total);
        }
        if (rc || (rc = money_add(r->subtotal, o->net, &r->subtotal)) ||
            (rc = money_add(r->tax, o->tax, &r->tax)) ||
            (rc = money_add(r->total, o->total, &r->total)))
            return rc;
        for (size_t k = 0; k < o->nsteps; k++) {
            price_step_kind kd = o->steps[k].kind;
            if ((kd == PRICE_STEP_DISCOUNT || kd == PRICE_STEP_PROMOTION) &&
                (rc = pw_sub(r->discount, o->steps[k].delta, &r->discount)))
                return rc;
        }
        if (o->approval_required) {
            r->approval_required = true;
            const cat_catalog *cc = l->p->catalog;
            size_t have = SIZE_MAX, want = 0;
            for (size_t k = 0; k < cc->napprovals; k++) {
                if (r->approval_level && !strcmp(cc->approvals[k].id, r->approval_level))
                    have = k;
                if (!strcmp(cc->approvals[k].id, o->approval_level))
                    want = k;
            }
            if (!r->approval_level || have == SIZE_MAX || want > have)
                r->approval_level = o->approval_level;
        }
    }
    return c->rq->qty_use == PRICE_QTY_RECORDED ? 0 : amounts_bounded(c);
}

/* ---- entry point ---- */

price_worker *price_worker_new(void)
{
    price_worker *w = calloc(1, sizeof(*w));
    int err = 0;
    if (!w)
        return NULL;
    w->rules = rules_state_new(NULL, &err);
    w->rcache = price_rcache_new();
    w->res = malloc(sizeof(*w->res));
    if (!w->rules || !w->rcache || !w->res) {
        rules_state_free(w->rules);
        price_rcache_free(w->rcache);
        free(w->res);
        free(w);
        return NULL;
    }
    return w;
}

void price_worker_free(price_worker *w)
{
    if (!w)
        return;
    rules_state_free(w->rules);
    price_rcache_free(w->rcache);
    free(w->res);
    arena_free(w->spare);
    solver_ctx_free(w->solver);
    free(w);
}

void price_result_recycle(price_worker *w, price_result *r)
{
    if (r && r->mem && w && !w->spare) {
        arena_recycle(r->mem, PRICE_ARENA_KEEP);
        w->spare = r->mem;
        r->mem = NULL;
    }
    price_result_fini(r);
}

void price_result_fini(price_result *r)
{
    if (r && r->mem)
        arena_free(r->mem);
    if (r)
        memset(r, 0, sizeof(*r));
}

const char *price_config_source_name(price_config_source s)
{
    static const char *const names[] = {NULL, "given", "defaults", "options"};
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

const char *price_step_name(price_step_kind k)
{
    static const char *const names[] = {"list",      "adder",    "option",    "formula",
                                        "tier",      "contract", "discount",  "promotion",
                                        "floor",     "ceiling",  "rounding"};
    return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Room for the free-item lines promotions may add: each free-item
 * promotion adds at most one line, so there is room for all of them (no
 * limit on a money path). Counted over every catalog of the snapshot
 * (a few promotions), not by looking up every line's product. */
static int free_item_room(pctx *c, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < cat_snapshot_catalog_count(c->s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->s, i);
        for (size_t k = 0; k < cc->npromotions; k++)
            n += cc->promotions[k].effect == CAT_EFF_FREE_ITEM;
    }
    *out = n;
    return 0;
}

int price_probe_line(price_worker *w, const cat_snapshot *s, const price_request *rq,
                     const price_line_in *known, price_probe *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    price_result res = {0};
    pctx c = {.w = w,
              .s = s,
              .rq = rq,
              .r = &res,
              .errs = errs,
              .probe = true,
              .known = known,
              .caplines = 1};
    const cat_product *p =
        rq->nlines == 1 && rq->lines[0].sku
            ? cat_snapshot_product(s, rq->lines[0].sku, strlen(rq->lines[0].sku))
            : NULL;
    if (!p || !rq->has_currency)
        return CPQD_EINVAL;
    memcpy(res.currency, rq->currency, 4);
    int rc = money_currency_minor(res.currency, &c.minor);
    if (rc)
        return rc;
    res.mem = c.a = arena_new(16 << 10);
    c.lines = c.a ? arena_calloc(c.a, 1, sizeof(*c.lines)) : NULL;
    res.lines = c.a ? arena_calloc(c.a, 1, sizeof(*res.lines)) : NULL;
    if (!c.lines || !res.lines) {
        arena_free(c.a);
        return CPQD_ENOMEM;
    }
    pline *l = &c.lines[0];
    l->o = &res.lines[0];
    l->o->id = "1";
    l->o->qty = rq->lines[0].qty;
    l->o->product = l->p = p;
    rc = price_line(&c, l, &rq->lines[0]);
    if (!rc) {
        out->amount = l->amount;
        out->entry = l->floor_entry;
        out->book = l->floor_book;
    }
    price_config_fini(&c);
    arena_free(c.a);
    return rc;
}

/* Line i's quantity is one its product is sold in (docs/catalog.md
 * "Quantities"): a stored quote never holds 0 or a fraction of a
 * discrete product; a what-if may price 0; a stored request priced again
 * is taken as it was stored. */
static int line_qty_check(pctx *c, size_t i, const cat_product *p, const price_line_in *in,
                          const char *id)
{
    char why[256], field[48];
    price_qty_use use = c->rq->qty_use;
    if (use == PRICE_QTY_RECORDED ||
        cat_qty_check(p, in->qty, use == PRICE_QTY_WHATIF, why, sizeof(why)) == 0)
        return 0;
    snprintf(field, sizeof(field), "lines[%zu].quantity", i);
    perr(c, CPQD_EINVAL, no_pos, "%s (line %s): %s", field, id, why);
    return errs_field(c->errs, "field", field) == CPQD_ENOMEM ? CPQD_ENOMEM : CPQD_EINVAL;
}

static int add_lines(pctx *c)
{
    const price_request *rq = c->rq;
    size_t room;
    if (free_item_room(c, &room))
        return CPQD_ENOMEM;
    c->caplines = rq->nlines + room;
    c->lines = arena_calloc(c->a, c->caplines, sizeof(*c->lines));
    c->r->lines = arena_calloc(c->a, c->caplines, sizeof(*c->r->lines));
    if (!c->lines || !c->r->lines)
        return CPQD_ENOMEM;
    int rc = 0, r;
    for (size_t i = 0; i < rq->nlines; i++) {
        const price_line_in *in = &rq->lines[i];
        pline *l = &c->lines[c->nlines];
        price_line_out *o = &c->r->lines[c->nlines];
        l->o = o;
        if (in->id) {
            o->id = in->id;
        } else { /* its 1-based position */
            char buf[24], *p = buf + sizeof(buf);
            size_t v = i + 1;
            *--p = '\0';
            do
                *--p = (char)('0' + v % 10);
            while ((v /= 10) != 0);
            o->id = arena_strndup(c->a, p, (size_t)(buf + sizeof(buf) - 1 - p));
        }
        o->qty = in->qty;
        l->p = in->sku ? cat_snapshot_product(c->s, in->sku, strlen(in->sku)) : NULL;
        if (!l->p) {
            rc = rc ? rc : CPQD_EINVAL;
            perr(c, CPQD_EINVAL, no_pos, "line %s: unknown product '%s'", o->id,
                 in->sku ? in->sku : "");
            continue;
        }
        o->product = l->p;
        if ((r = line_qty_check(c, i, l->p, in, o->id)) != 0) {
            rc = rc ? rc : r;
            continue;
        }
        if (!l->p->sellable) {
            rc = rc ? rc : CPQD_EINVAL;
            perr(c, CPQD_EINVAL, l->p->pos, "line %s: %s is sold only inside a BOM", o->id,
                 l->p->sku);
            continue;
        }
        r = price_line(c, l, in);
        if (r == CPQD_ENOMEM)
            return r;
        if (r && !rc)
            rc = r;
        c->nlines++;
    }
    c->r->nlines = c->nlines;
    return rc;
}

int price_compute(price_worker *w, const cat_snapshot *s, price_store *st,
                  const price_request *rq, price_result *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    if (rq->nlines == 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "lines: at least one line is required");
        return CPQD_EINVAL;
    }
    if (rq->nlines > PRICE_MAX_LINES) {
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0, "lines: at most %d lines per request",
                 PRICE_MAX_LINES);
        return CPQD_ELIMIT;
    }
    /* A newer snapshot (a reload) compiled its rules anew: the functions
     * compiled for older ones go now, not when the state's cache fills. A
     * request on an older snapshot after it only compiles its own again. */
    if (cat_snapshot_serial(s) > w->serial) {
        if (w->serial)
            rules_state_cache_clear(w->rules);
        w->serial = cat_snapshot_serial(s);
    }
    pctx c = {.w = w, .s = s, .store = st, .rq = rq, .r = out, .errs = errs};
    out->mem = c.a = w->spare ? w->spare : arena_new(64 << 10);
    w->spare = NULL;
    if (!c.a)
        return CPQD_ENOMEM;
    size_t evals0 = w->evals;
    uint64_t hits0 = price_rcache_hits(w->rcache);
    out->date = rq->date;
    out->discount = pw_zero();
    if (rq->has_currency) {
        memcpy(out->currency, rq->currency, 4);
    } else {
        const cat_product *p =
            rq->lines[0].sku ? cat_snapshot_product(s, rq->lines[0].sku, strlen(rq->lines[0].sku))
                             : NULL;
        memcpy(out->currency, p ? p->catalog->currency : "CNY", 4);
    }
    int rc = money_currency_minor(out->currency, &c.minor);
    if (rc) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "currency: '%s' is not an ISO 4217 currency",
                 out->currency);
        rc = CPQD_EINVAL;
        goto out;
    }
    if ((rc = add_lines(&c)) || (rc = price_promotions(&c)))
        goto out;
    for (size_t i = 0; i < c.nlines; i++)
        if ((rc = step_floor(&c, &c.lines[i])) || (rc = step_round(&c, &c.lines[i])))
            goto out;
    if ((rc = taxes(&c)) || (rc = totals(&c)))
        goto out;
    out->nlines = c.nlines;
    out->rule_evals = w->evals - evals0;
    out->rule_reused = (size_t)(price_rcache_hits(w->rcache) - hits0);
out:
    price_config_fini(&c);
    if (rc == CPQD_ERANGE) {
        errs_add(errs, CPQD_ERANGE, NULL, 0, 0, "an amount is too large to compute exactly");
    }
    if (rc)
        price_result_recycle(w, out);
    return rc;
}
