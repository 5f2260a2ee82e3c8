/*
 * price_promo: step 7, promotions (docs/pricing.md "Promotions").
 *
 * 1. Eligibility, judged once on the line amounts after step 6: date
 *    window, products or categories, segment, channel, coupon, minimum
 *    quantity and amount (over the eligible lines), bundle completeness.
 *    A promotion in its date window that matches some line but fails a
 *    condition is reported rejected with the reason.
 * 2. Stacking: in each `group` only the highest priority applies; groups
 *    and ungrouped promotions stack. `best: true` promotions are tried in
 *    every combination with that stack, and each `exclusive: true` one
 *    alone; the candidate that gives the customer the largest discount
 *    wins (ties: fewer promotions, then catalog order).
 * 3. Application in priority order (highest first), each on the amounts
 *    the previous left: percent off per line; amount off and bundle
 *    prices once per quote, allocated onto the eligible lines in exact
 *    minor units by largest remainder; special prices per unit; free
 *    items as extra lines priced then discounted to zero.
 * 4. Limits: a promotion's Lua limit rule sees the proposed discount and
 *    the usage counters, and may refuse it, cap the redemptions, or cap
 *    the amount (docs/rules.md "Limit rules").
 */
#include "price_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pcand {
    const cat_promotion *p;
    const cat_catalog *cc;
    bool *on;            /* per line: eligible */
    const char *reason;  /* why not eligible; NULL if eligible */
    money_dec bundles;   /* bundle_price: complete bundles */
    money_dec rate;      /* catalog currency -> request currency */
    size_t order;
} pcand;

typedef struct papply {
    money_dec granted;  /* total discount */
    const char *note;   /* capped or refused by the limit rule */
    bool refused;
} papply;

static bool in_list(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(v[i], s))
            return true;
    return false;
}

static bool line_matches(const cat_promotion *p, const pline *l)
{
    if (l->o->free_from)
        return false;
    if (!p->nskus && !p->ncategories)
        return true;
    return in_list(p->skus, p->nskus, l->p->sku) ||
           in_list(p->categories, p->ncategories, l->p->category);
}

static const char *join(pctx *c, const char *const *v, size_t n)
{
    char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof(buf) - 1; i++) {
        int k = snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "", v[i]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return arena_strdup(c->a, buf);
}

/* Fills pc (eligibility). Returns 1 if considered (in window and some
 * line matches), 0 if not, or a negative error. */
static int eligible(pctx *c, pcand *pc)
{
    const cat_promotion *p = pc->p;
    const price_request *rq = c->rq;
    if (rq->date < p->valid_from || (p->has_valid_to && rq->date > p->valid_to))
        return 0;
    /* sized for every line the request may reach, not only the lines of
     * now: free-item lines appended by promotions applied before this one
     * are read (as not eligible) by effect(), free_value() and cap_to();
     * sized nlines + 1, a third promotion after two free items read past
     * the end (test_price_promo_three_free_items) */
    pc->on = arena_calloc(c->a, c->caplines + 1, sizeof(bool));
    if (!pc->on)
        return CPQD_ENOMEM;
    money_dec qty = pw_zero(), amount = pw_zero();
    size_t n = 0;
    int rc;
    for (size_t i = 0; i < c->nlines; i++) {
        pline *l = &c->lines[i];
        if (l->p->catalog != pc->cc || !line_matches(p, l))
            continue;
        pc->on[i] = true;
        n++;
        if ((rc = pw_add(qty, l->o->qty, &qty)) || (rc = pw_add(amount, l->amount, &amount)))
            return rc;
    }
    if (n == 0)
        return 0;
    if (p->nsegments && !in_list(p->segments, p->nsegments, rq->segment))
        pc->reason = pfmt(c, "for segment %s only", join(c, p->segments, p->nsegments));
    else if (p->nchannels && !in_list(p->channels, p->nchannels, rq->channel))
        pc->reason = pfmt(c, "for channel %s only", join(c, p->channels, p->nchannels));
    else if (p->coupon && !in_list(rq->coupons, rq->ncoupons, p->coupon))
        pc->reason = pfmt(c, "needs coupon %s", p->coupon);
    else if (p->has_min_quantity && money_cmp(qty, p->min_quantity) < 0)
        pc->reason = pfmt(c, "minimum quantity %s not reached (%s)", pmoney(c, p->min_quantity),
                          pmoney(c, qty));
    else if (!price_fx_rate(c, pc->cc, pc->cc->currency, &pc->rate))
        pc->reason = pfmt(c, "no exchange rate %s->%s", pc->cc->currency, c->r->currency);
    if (pc->reason)
        return 1;
    if (p->has_min_amount) {
        money_dec min;
        if ((rc = price_convert(c, p->min_amount, pc->rate, false, &min)))
            return rc;
        if (money_cmp(amount, min) < 0) {
            /* show the amount as money ("4200.00", docs/pricing.md), not
             * the working value with its trailing zeros dropped ("4200") */
            money_dec shown;
            if ((rc = money_rescale(amount, c->minor, MONEY_HALF_EVEN, &shown)))
                return rc;
            pc->reason = pfmt(c, "minimum amount %s not reached (%s)", pmoney(c, min),
                              pmoney(c, shown));
            return 1;
        }
    }
    if (p->effect == CAT_EFF_BUNDLE_PRICE) {
        /* complete bundles: one of each listed SKU */
        money_dec bundles = money_from_int(-1);
        for (size_t k = 0; k < p->nskus; k++) {
            money_dec have = pw_zero();
            for (size_t i = 0; i < c->nlines; i++)
                if (pc->on[i] && !strcmp(c->lines[i].p->sku, p->skus[k]) &&
                    (rc = pw_add(have, c->lines[i].o->qty, &have)))
                    return rc;
            money_dec whole;
            if ((rc = money_rescale(have, 0, MONEY_DOWN, &whole)))
                return rc;
            if (money_sign(bundles) < 0 || money_cmp(whole, bundles) < 0)
                bundles = whole;
        }
        if (money_sign(bundles) <= 0) {
            pc->reason =
                pfmt(c, "bundle incomplete: needs %s together", join(c, p->skus, p->nskus));
            return 1;
        }
        pc->bundles = bundles;
    }
    return 1;
}

/* ---- limits ---- */

/* price_limit_input: see price_int.h */
int price_limit_input(pctx *c, const cat_promotion *p, money_dec granted, money_dec quote,
                      const price_usage *u, rules_value *out)
{
    const price_request *rq = c->rq;
    rules_field *promo = arena_calloc(c->a, 2, sizeof(*promo));
    rules_field *cust = arena_calloc(c->a, 2, sizeof(*cust));
    rules_field *usage = arena_calloc(c->a, 4, sizeof(*usage));
    rules_field *q = arena_calloc(c->a, 2, sizeof(*q));
    rules_field *f = arena_calloc(c->a, 10, sizeof(*f));
    rules_field *top = arena_calloc(c->a, 1, sizeof(*top));
    char *date = arena_alloc(c->a, DATE_FMT_LEN);
    if (!promo || !cust || !usage || !q || !f || !top || !date)
        return CPQD_ENOMEM;
    static const char *const effects[] = {"percent_off", "amount_off", "special_price",
                                          "free_item", "bundle_price"};
    const char *eff = effects[p->effect];
    promo[0] = (rules_field){"id", rules_value_str(p->id, strlen(p->id))};
    promo[1] = (rules_field){"effect", rules_value_str(eff, strlen(eff))};
    size_t nc = 0, nf = 0;
    cust[nc++] = (rules_field){"id", rules_value_str(rq->customer_id, strlen(rq->customer_id))};
    if (rq->segment)
        cust[nc++] = (rules_field){"segment", rules_value_str(rq->segment, strlen(rq->segment))};
    usage[0] = (rules_field){"uses", rules_value_int(u->uses)};
    usage[1] = (rules_field){"customer_uses", rules_value_int(u->customer_uses)};
    usage[2] = (rules_field){"partner_uses", rules_value_int(u->partner_uses)};
    usage[3] = (rules_field){"spent", rules_value_dec(u->spent)};
    q[0] = (rules_field){"amount", rules_value_dec(quote)};
    q[1] = (rules_field){"lines", rules_value_int((int64_t)c->nlines)};
    date_format(rq->date, date);
    f[nf++] = (rules_field){"promotion", rules_value_table(promo, 2)};
    f[nf++] = (rules_field){"discount", rules_value_dec(granted)};
    f[nf++] = (rules_field){"quote", rules_value_table(q, 2)};
    f[nf++] = (rules_field){"customer", rules_value_table(cust, nc)};
    f[nf++] = (rules_field){"usage", rules_value_table(usage, 4)};
    f[nf++] = (rules_field){"currency", rules_value_str(c->r->currency, 3)};
    f[nf++] = (rules_field){"date", rules_value_str(date, strlen(date))};
    if (rq->partner_id)
        f[nf++] = (rules_field){"partner", rules_value_str(rq->partner_id, strlen(rq->partner_id))};
    if (rq->channel)
        f[nf++] = (rules_field){"channel", rules_value_str(rq->channel, strlen(rq->channel))};
    top[0] = (rules_field){"ctx", rules_value_table(f, nf)};
    *out = rules_value_table(top, 1);
    return 0;
}

/* A promotion's usage counters, read from the store once per request:
 * every candidate combination and the final application see the same
 * counters (and the store is asked once, not once per combination). */
typedef struct pusage_memo {
    const cat_promotion *p;
    price_usage u;
} pusage_memo;

static bool usage_known(const pctx *c, const cat_promotion *p, price_usage *u)
{
    for (size_t i = 0; i < c->nusage; i++)
        if (c->usage[i].p == p) {
            if (u)
                *u = c->usage[i].u;
            return true;
        }
    return false;
}

/* Reads the counters of the n promotions of ps not read yet, in one call
 * of the store, into the memo. */
static int usage_read(pctx *c, const cat_promotion *const *ps, size_t n)
{
    pusage_memo *v = arena_alloc(c->a, (c->nusage + n + 1) * sizeof(*v));
    const char **ids = arena_alloc(c->a, (n + 1) * sizeof(*ids));
    price_usage *u = arena_alloc(c->a, (n + 1) * sizeof(*u));
    size_t k = 0;
    if (!v || !ids || !u)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        bool twice = false;
        for (size_t j = 0; j < i && !twice; j++)
            twice = ps[j] == ps[i];
        if (!twice && !usage_known(c, ps[i], NULL))
            ids[k++] = ps[i]->id;
    }
    if (k == 0)
        return 0;
    int rc = c->store->usage(c->store, ids, k, c->rq->customer_id, c->rq->partner_id, u);
    if (rc)
        return rc;
    if (c->nusage)
        memcpy(v, c->usage, c->nusage * sizeof(*v));
    for (size_t i = 0, at = 0; i < n && at < k; i++)
        if (ps[i]->id == ids[at])
            v[c->nusage++] = (pusage_memo){ps[i], u[at++]};
    c->usage = v;
    return 0;
}

static int usage_of(pctx *c, const cat_promotion *p, price_usage *u)
{
    int rc = usage_known(c, p, u) ? 0 : usage_read(c, &p, 1);
    if (rc == 0 && !usage_known(c, p, u))
        rc = CPQD_EINTERNAL;
    return rc;
}

/* Runs the limit rule on a proposed discount; *cap becomes the allowed
 * discount (granted, less, or zero when refused). */
static int run_limit(pctx *c, const pcand *pc, money_dec granted, money_dec quote,
                     money_dec *cap, papply *ap)
{
    *cap = granted;
    if (!pc->p->limit)
        return 0;
    price_usage u = {0, 0, 0, money_from_int(0)};
    int rc;
    if (c->store && (rc = usage_of(c, pc->p, &u)))
        return rc;
    rules_value input;
    rules_result *res = c->w->res; /* read before the next rule runs */
    if ((rc = price_limit_input(c, pc->p, granted, quote, &u, &input)))
        return CPQD_ENOMEM;
    if ((rc = price_rule(c, pc->p->limit, pc->p->pos, &input, PRICE_LIMIT_ACCEPT, res)))
        return rc;
    const char *why = res->n > 1 && res->values[1].type == RULES_T_STR
                          ? arena_strdup(c->a, res->values[1].u.str.ptr)
                          : NULL;
    if (res->n == 0)
        return 0;
    const rules_value *v = &res->values[0];
    switch (v->type) {
    case RULES_T_BOOL:
        if (!v->u.b) {
            *cap = pw_zero();
            ap->refused = true;
            ap->note = why ? why : "refused by its limit rule";
        }
        return 0;
    case RULES_T_INT:
        if (u.uses >= v->u.i) {
            *cap = pw_zero();
            ap->refused = true;
            ap->note = why ? why : pfmt(c, "redemption cap of %lld reached", (long long)v->u.i);
        }
        return 0;
    case RULES_T_DEC:
        if (money_sign(v->u.dec) <= 0) {
            *cap = pw_zero();
            ap->refused = true;
            ap->note = why ? why : "limit rule allows no discount";
        } else if (money_cmp(v->u.dec, granted) < 0) {
            if ((rc = money_rescale(v->u.dec, c->minor, MONEY_DOWN, cap)))
                return rc;
            ap->note = why ? why : pfmt(c, "capped at %s by its limit rule", pmoney(c, *cap));
        }
        return 0;
    case RULES_T_STR: /* a message alone: refused with it */
        *cap = pw_zero();
        ap->refused = true;
        ap->note = arena_strdup(c->a, v->u.str.ptr);
        return 0;
    default:
        return 0;
    }
}

/* price_limit_recheck: see price.h */
int price_limit_recheck(price_worker *w, const cat_snapshot *s, price_store *st,
                        const price_request *rq, size_t nlines, const cat_promotion *p,
                        money_dec granted, money_dec quote, bool *ok, char *why, size_t cap)
{
    *ok = true;
    if (why && cap)
        why[0] = '\0';
    if (!p->limit)
        return 0;
    price_result r = {.date = rq->date};
    memcpy(r.currency, rq->currency, sizeof(r.currency));
    cpqd_errs *errs = errs_new();
    pctx c = {.w = w, .s = s, .store = st, .rq = rq, .r = &r, .errs = errs, .nlines = nlines};
    if (!errs || !(c.a = arena_new(4096)) ||
        money_currency_minor(rq->currency, &c.minor) != 0) {
        errs_free(errs);
        return errs ? CPQD_EINVAL : CPQD_ENOMEM;
    }
    pcand pc = {.p = p};
    papply ap = {.granted = granted};
    money_dec allowed;
    int rc = run_limit(&c, &pc, granted, quote, &allowed, &ap);
    if (rc == 0 && (ap.refused || money_cmp(allowed, granted) < 0)) {
        *ok = false;
        if (why && cap)
            snprintf(why, cap, "%s", ap.note ? ap.note : "refused by its limit rule");
    }
    if (rc && why && cap && errs_count(errs))
        snprintf(why, cap, "%s", errs_get(errs, 0)->msg);
    arena_free(c.a);
    errs_free(errs);
    return rc;
}

/* ---- effects ---- */

/* Value of the free items pc grants, and the entry pricing them. */
static int free_value(pctx *c, const pcand *pc, money_dec *qty, money_dec *value,
                      const cat_product **prod)
{
    const cat_promotion *p = pc->p;
    money_dec units = pw_zero();
    int rc;
    for (size_t i = 0; i < c->nlines; i++)
        if (pc->on[i] && (rc = pw_add(units, c->lines[i].o->qty, &units)))
            return rc;
    if ((rc = money_rescale(units, 0, MONEY_DOWN, &units)) ||
        (rc = pw_mul(units, p->free_qty, qty)))
        return rc;
    *prod = cat_snapshot_product(c->s, p->free_sku, strlen(p->free_sku));
    *value = pw_zero();
    const cat_price_book *b;
    const cat_pb_entry *e;
    money_dec rate, price;
    if (!*prod || price_find_entry(c, *prod, false, &b, &e, &rate) != 0)
        return 0;
    if ((rc = price_convert(c, e->list, rate, e->unit_price, &price)))
        return rc;
    return pw_mul(price, *qty, value);
}

/* Computes the per-line discounts d[] of pc on amounts amt[] (and the
 * free-item value in *free). */
static int effect(pctx *c, const pcand *pc, const money_dec *amt, money_dec *d, money_dec *free)
{
    const cat_promotion *p = pc->p;
    size_t n = c->nlines;
    money_dec v, sum = pw_zero();
    int rc = 0;
    *free = pw_zero();
    for (size_t i = 0; i < n; i++) {
        d[i] = pw_zero();
        if (pc->on[i] && (rc = pw_add(sum, amt[i], &sum)))
            return rc;
    }
    switch (p->effect) {
    case CAT_EFF_PERCENT_OFF:
        /* whole minor units per line, half-even */
        for (size_t i = 0; i < n && !rc; i++)
            if (pc->on[i] && !(rc = pw_percent(amt[i], p->effect_value, &d[i])))
                rc = money_rescale(d[i], c->minor, MONEY_HALF_EVEN, &d[i]);
        return rc;
    case CAT_EFF_SPECIAL_PRICE:
        if ((rc = price_convert(c, p->effect_value, pc->rate, false, &v)))
            return rc;
        for (size_t i = 0; i < n && !rc; i++) {
            money_dec at;
            if (!pc->on[i] || (rc = pw_mul(v, c->lines[i].o->qty, &at)))
                continue;
            /* whole minor units, rounded down: never below the special price */
            if (money_cmp(amt[i], at) > 0 && !(rc = pw_sub(amt[i], at, &d[i])))
                rc = money_rescale(d[i], c->minor, MONEY_DOWN, &d[i]);
        }
        return rc;
    case CAT_EFF_AMOUNT_OFF:
    case CAT_EFF_BUNDLE_PRICE: {
        money_dec *w = arena_calloc(c->a, n + 1, sizeof(*w));
        money_dec *part = arena_calloc(c->a, n + 1, sizeof(*part));
        size_t *idx = arena_calloc(c->a, n + 1, sizeof(*idx));
        if (!w || !part || !idx)
            return CPQD_ENOMEM;
        size_t k = 0;
        money_dec total = pw_zero(), off;
        if ((rc = price_convert(c, p->effect_value, pc->rate, false, &v)))
            return rc;
        /* bundle: the quantity of each bundled SKU over the eligible lines */
        money_dec *skuq = arena_calloc(c->a, p->nskus + 1, sizeof(*skuq));
        if (!skuq)
            return CPQD_ENOMEM;
        for (size_t j = 0; p->effect == CAT_EFF_BUNDLE_PRICE && j < n; j++) {
            for (size_t k2 = 0; pc->on[j] && k2 < p->nskus; k2++)
                if (!strcmp(p->skus[k2], c->lines[j].p->sku) &&
                    (rc = pw_add(skuq[k2], c->lines[j].o->qty, &skuq[k2])))
                    return rc;
        }
        for (size_t i = 0; i < n; i++) {
            if (!pc->on[i] || money_sign(amt[i]) <= 0)
                continue;
            money_dec share = amt[i];
            if (p->effect == CAT_EFF_BUNDLE_PRICE) {
                /* the part of this line inside the bundles: amt * bundles / qty of its SKU */
                size_t k2 = 0;
                while (k2 < p->nskus && strcmp(p->skus[k2], c->lines[i].p->sku) != 0)
                    k2++;
                if (k2 == p->nskus) /* matched by category only: not part of the bundle */
                    continue;
                money_dec x;
                if ((rc = pw_mul(amt[i], pc->bundles, &x)) ||
                    (rc = money_div(x, skuq[k2], PRICE_WORK_SCALE, MONEY_HALF_EVEN, &share)))
                    return rc;
            }
            idx[k] = i;
            w[k++] = share;
            if ((rc = pw_add(total, share, &total)))
                return rc;
        }
        if (k == 0)
            return 0;
        if (p->effect == CAT_EFF_AMOUNT_OFF) {
            off = pw_min(v, total);
        } else {
            money_dec bundle;
            if ((rc = pw_mul(v, pc->bundles, &bundle)) || (rc = pw_sub(total, bundle, &off)))
                return rc;
            if (money_sign(off) <= 0)
                return 0;
        }
        if ((rc = money_rescale(off, c->minor, MONEY_DOWN, &off)) ||
            (rc = money_allocate(off, w, k, c->minor, part)))
            return rc;
        /* a part may exceed its line by less than one minor unit (largest
         * remainder); clamp it to the line's amount rounded down to whole
         * minor units, so the line never goes negative and the discount
         * stays in whole minor units (docs/pricing.md) even when the line
         * amount carries fractions of a unit */
        for (size_t j = 0; j < k; j++) {
            money_dec whole;
            if ((rc = money_rescale(amt[idx[j]], c->minor, MONEY_DOWN, &whole)))
                return rc;
            d[idx[j]] = pw_min(part[j], whole);
        }
        return 0;
    }
    case CAT_EFF_FREE_ITEM: {
        money_dec qty;
        const cat_product *prod;
        return free_value(c, pc, &qty, free, &prod);
    }
    }
    return 0;
}

/* Scales d[] (and *free) down so they add up to cap. */
static int cap_to(pctx *c, money_dec cap, money_dec granted, money_dec *d, money_dec *free)
{
    size_t n = c->nlines;
    int rc;
    if (money_cmp(cap, granted) >= 0)
        return 0;
    if (money_sign(cap) <= 0) {
        for (size_t i = 0; i < n; i++)
            d[i] = pw_zero();
        *free = pw_zero();
        return 0;
    }
    if (money_sign(*free) > 0) { /* free items: the free line carries the whole cap */
        *free = cap;
        return 0;
    }
    money_dec *part = arena_calloc(c->a, n + 1, sizeof(*part));
    if (!part)
        return CPQD_ENOMEM;
    if ((rc = money_allocate(cap, d, n, c->minor > cap.scale ? c->minor : cap.scale, part)))
        return rc;
    memcpy(d, part, n * sizeof(*d));
    return 0;
}

/* What applying one promotion computed: its per-line discounts d[0..n)
 * (on the n lines there were), the free-item value, the outcome. */
typedef struct pdone {
    money_dec *d;
    money_dec free;
    size_t n;
    papply ap;
} pdone;

/* Computes pc's discounts on amt[] (no change to amt or the lines) into
 * *out: effect, then the limit rule and its cap. */
static int apply_compute(pctx *c, const pcand *pc, const money_dec *amt, pdone *out)
{
    size_t n = c->nlines;
    money_dec *d = arena_calloc(c->a, n + 1, sizeof(*d));
    money_dec free, granted = pw_zero(), quote = pw_zero(), cap;
    papply *ap = &out->ap;
    int rc;
    ap->granted = pw_zero();
    ap->note = NULL;
    ap->refused = false;
    out->d = d;
    out->n = n;
    out->free = pw_zero();
    if (!d)
        return CPQD_ENOMEM;
    if ((rc = effect(c, pc, amt, d, &free)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = pw_add(granted, d[i], &granted)) || (rc = pw_add(quote, amt[i], &quote)))
            return rc;
    if ((rc = pw_add(granted, free, &granted)))
        return rc;
    if (money_sign(granted) <= 0) {
        ap->refused = true;
        ap->note = "no discount on these lines";
        return 0;
    }
    if ((rc = run_limit(c, pc, granted, quote, &cap, ap)) ||
        (rc = cap_to(c, cap, granted, d, &free)))
        return rc;
    ap->granted = pw_min(cap, granted);
    out->free = free;
    return 0;
}

/* Takes the discounts of *done off amt[] (and, if record, off the lines,
 * with their steps, and adds the free-item line). */
static int apply_take(pctx *c, const pcand *pc, money_dec *amt, bool record, const pdone *done)
{
    int rc;
    if (done->ap.refused)
        return 0;
    const money_dec *d = done->d;
    money_dec free = done->free;
    const char *label = record ? plabel(c, pc->p, 0, 0, "promotion %s", pc->p->name) : NULL;
    for (size_t i = 0; i < done->n; i++) {
        if (money_is_zero(d[i]))
            continue;
        if ((rc = pw_sub(amt[i], d[i], &amt[i])))
            return rc;
        if (record) {
            pline *l = &c->lines[i];
            l->amount = amt[i];
            if ((rc = pline_step(c, l, PRICE_STEP_PROMOTION, label, pc->p->id, money_neg(d[i]),
                                 pc->p->pos)))
                return rc;
        }
    }
    if (record && money_sign(free) > 0) {
        /* the free line: priced from its book, then discounted */
        money_dec qty, value;
        const cat_product *prod;
        if ((rc = free_value(c, pc, &qty, &value, &prod)))
            return rc;
        if (c->nlines == c->caplines) { /* add_lines made room for every free item */
            errs_add(c->errs, CPQD_EINTERNAL, NULL, 0, 0,
                     "no room for the free item of promotion %s", pc->p->id);
            return CPQD_EINTERNAL;
        }
        pline *l = &c->lines[c->nlines];
        price_line_out *o = &c->r->lines[c->nlines];
        memset(l, 0, sizeof(*l));
        l->o = o;
        l->p = prod;
        o->id = pfmt(c, "free-%s", pc->p->id);
        o->product = prod;
        o->qty = qty;
        o->free_from = pc->p->id;
        const cat_pb_entry *e = NULL;
        if (prod && price_find_entry(c, prod, false, &l->book, &e, &l->rate) == 0) {
            o->book = l->book->id;
            if ((rc = price_convert(c, e->list, l->rate, e->unit_price, &o->list_unit)))
                return rc;
        }
        l->amount = value;
        if ((rc = pline_step(c, l, PRICE_STEP_LIST, pfmt(c, "list price (free item)"), o->book,
                             value, e ? e->pos : pc->p->pos)) ||
            (rc = pw_sub(value, free, &l->amount)) ||
            (rc = pline_step(c, l, PRICE_STEP_PROMOTION, pfmt(c, "promotion %s", pc->p->name),
                             pc->p->id, money_neg(free), pc->p->pos)))
            return rc;
        c->nlines++;
    }
    return 0;
}

/* ---- selection ---- */

static bool in_set(pcand *const *set, size_t n, const pcand *pc)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == pc)
            return true;
    return false;
}

static int prio_cmp(const void *pa, const void *pb)
{
    const pcand *a = *(pcand *const *)pa, *b = *(pcand *const *)pb;
    if (a->p->priority != b->p->priority)
        return a->p->priority > b->p->priority ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

/* Total discount of a set (in priority order), without recording; what
 * each promotion computed goes to done[0..n) (the winner's is then taken
 * off the lines as it is: the same amounts in the same order give the
 * same discounts, so computing them again would only repeat them). */
static int evaluate(pctx *c, pcand **set, size_t n, money_dec *total, pdone *done)
{
    money_dec *amt = arena_calloc(c->a, c->nlines + 1, sizeof(*amt));
    if (!amt)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < c->nlines; i++)
        amt[i] = c->lines[i].amount;
    *total = pw_zero();
    for (size_t i = 0; i < n; i++) {
        int rc = apply_compute(c, set[i], amt, &done[i]);
        if (rc || (rc = apply_take(c, set[i], amt, false, &done[i])) ||
            (rc = pw_add(*total, done[i].ap.granted, total)))
            return rc;
    }
    return 0;
}

static int push_promo(pctx *c, const cat_promotion *p, bool applied, money_dec amount,
                      const char *reason)
{
    price_result *r = c->r;
    price_promo_out *v = arena_alloc(c->a, (r->npromos + 1) * sizeof(*v));
    if (!v)
        return CPQD_ENOMEM;
    if (r->npromos)
        memcpy(v, r->promos, r->npromos * sizeof(*v));
    v[r->npromos++] = (price_promo_out){p, applied, amount, reason};
    r->promos = v;
    return 0;
}

int price_promotions(pctx *c)
{
    /* the catalogs of the request's lines, each once, in the order of
     * their first line: every one of them, however many (no limit on a
     * money path) */
    size_t ncat = cat_snapshot_catalog_count(c->s), total = 0, nseen = 0;
    bool *touched = arena_calloc(c->a, ncat + 1, sizeof(*touched));
    const cat_catalog **seen = arena_calloc(c->a, ncat + 1, sizeof(*seen));
    if (!touched || !seen)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < c->nlines; i++) {
        const cat_catalog *cc = c->lines[i].p->catalog;
        if (cc->index >= ncat || touched[cc->index])
            continue;
        touched[cc->index] = true;
        seen[nseen++] = cc;
        total += cc->npromotions;
    }
    if (total == 0)
        return 0;
    pcand *all = arena_calloc(c->a, total, sizeof(*all));
    pcand **ok = arena_calloc(c->a, total, sizeof(*ok));
    pcand **stack = arena_calloc(c->a, total, sizeof(*stack));
    pcand **best = arena_calloc(c->a, total, sizeof(*best));
    pcand **excl = arena_calloc(c->a, total, sizeof(*excl));
    pcand **set = arena_calloc(c->a, total, sizeof(*set));
    pcand **chosen = arena_calloc(c->a, total, sizeof(*chosen));
    pdone *done = arena_calloc(c->a, total, sizeof(*done));
    pdone *chosen_done = arena_calloc(c->a, total, sizeof(*chosen_done));
    if (!all || !ok || !stack || !best || !excl || !set || !chosen || !done || !chosen_done)
        return CPQD_ENOMEM;
    size_t nall = 0, nok = 0, nstack = 0, nbest = 0, nexcl = 0, nchosen = 0;
    int rc;
    for (size_t k = 0; k < nseen; k++)
        for (size_t j = 0; j < seen[k]->npromotions; j++) {
            pcand *pc = &all[nall];
            *pc = (pcand){.p = &seen[k]->promotions[j], .cc = seen[k], .order = nall};
            pc->rate = money_from_int(1);
            if ((rc = eligible(c, pc)) < 0)
                return rc;
            if (rc == 0)
                continue;
            nall++;
            if (pc->reason) {
                if ((rc = push_promo(c, pc->p, false, pw_zero(), pc->reason)))
                    return rc;
                continue;
            }
            ok[nok++] = pc;
        }
    /* the counters of every limited candidate, in one read */
    if (c->store) {
        const cat_promotion **lim = arena_alloc(c->a, (nok + 1) * sizeof(*lim));
        size_t nlim = 0;
        if (!lim)
            return CPQD_ENOMEM;
        for (size_t i = 0; i < nok; i++)
            if (ok[i]->p->limit)
                lim[nlim++] = ok[i]->p;
        if (nlim && (rc = usage_read(c, lim, nlim)))
            return rc;
    }
    /* groups: the highest priority of each group; the rest lose */
    for (size_t i = 0; i < nok; i++) {
        pcand *pc = ok[i];
        if (pc->p->exclusive) {
            excl[nexcl++] = pc;
            continue;
        }
        if (pc->p->best) {
            best[nbest++] = pc;
            continue;
        }
        pcand *win = pc;
        for (size_t j = 0; pc->p->stack_group && j < nok; j++) {
            const cat_promotion *q = ok[j]->p;
            if (q->exclusive || q->best || !q->stack_group ||
                strcmp(q->stack_group, pc->p->stack_group) || q->priority <= win->p->priority)
                continue;
            win = ok[j];
        }
        if (win != pc) {
            if ((rc = push_promo(c, pc->p, false, pw_zero(),
                                 pfmt(c, "group %s: %s has higher priority", pc->p->stack_group,
                                      win->p->id))))
                return rc;
            continue;
        }
        stack[nstack++] = pc;
    }
    if (nbest > PRICE_MAX_BEST) {
        for (size_t i = PRICE_MAX_BEST; i < nbest; i++)
            if ((rc = push_promo(c, best[i]->p, false, pw_zero(),
                                 "too many best-for-customer promotions to combine")))
                return rc;
        nbest = PRICE_MAX_BEST;
    }
    /* candidates: stack + every subset of best; every exclusive alone */
    money_dec top = money_from_int(-1);
    size_t top_n = 0;
    for (size_t mask = 0; mask < ((size_t)1 << nbest) + nexcl; mask++) {
        size_t n = 0;
        if (mask < ((size_t)1 << nbest)) {
            for (size_t i = 0; i < nstack; i++)
                set[n++] = stack[i];
            for (size_t i = 0; i < nbest; i++)
                if (mask & ((size_t)1 << i))
                    set[n++] = best[i];
        } else {
            set[n++] = excl[mask - ((size_t)1 << nbest)];
        }
        if (n == 0)
            continue;
        qsort(set, n, sizeof(*set), prio_cmp);
        money_dec got;
        if ((rc = evaluate(c, set, n, &got, done)))
            return rc;
        int cmp = money_cmp(got, top);
        if (cmp > 0 || (cmp == 0 && n < top_n)) {
            top = got;
            top_n = n;
            memcpy(chosen, set, n * sizeof(*set));
            memcpy(chosen_done, done, n * sizeof(*done));
            nchosen = n;
        }
    }
    /* apply the winner for real */
    money_dec *amt = arena_calloc(c->a, c->caplines, sizeof(*amt));
    if (!amt)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < c->nlines; i++)
        amt[i] = c->lines[i].amount;
    const cat_promotion *alone = nchosen == 1 && chosen[0]->p->exclusive ? chosen[0]->p : NULL;
    for (size_t i = 0; i < nchosen; i++) {
        /* as evaluated, unless a free-item line was added since: then the
         * lines a limit rule sees (ctx.quote.lines) are more than then,
         * and the promotion is computed again on them */
        pdone *dn = &chosen_done[i];
        if (dn->n != c->nlines && (rc = apply_compute(c, chosen[i], amt, dn)))
            return rc;
        const papply *ap = &dn->ap;
        if ((rc = apply_take(c, chosen[i], amt, true, dn)))
            return rc;
        if ((rc = push_promo(c, chosen[i]->p, !ap->refused, ap->granted, ap->note)))
            return rc;
    }
    for (size_t i = 0; i < nok; i++) {
        bool in = false;
        for (size_t j = 0; j < nchosen && !in; j++)
            in = chosen[j] == ok[i];
        /* group losers were reported above */
        if (in || (!ok[i]->p->exclusive && !ok[i]->p->best && !in_set(stack, nstack, ok[i])))
            continue;
        const char *why = alone ? pfmt(c, "exclusive promotion %s applies alone", alone->id)
                          : ok[i]->p->exclusive
                              ? "exclusive: the chosen combination gives the customer more"
                              : "not part of the best combination for the customer";
        if ((rc = push_promo(c, ok[i]->p, false, pw_zero(), why)))
            return rc;
    }
    /* applied first, then rejected */
    price_promo_out *v = c->r->promos;
    size_t n = c->r->npromos, w = 0;
    price_promo_out *sorted = arena_alloc(c->a, (n + 1) * sizeof(*sorted));
    if (!sorted)
        return CPQD_ENOMEM;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (v[i].applied == (pass == 0))
                sorted[w++] = v[i];
    c->r->promos = sorted;
    return 0;
}

/* ---- the in-memory usage store ---- */

typedef struct mem_count {
    char *promo, *who; /* who: "" (all), "c:<customer>" or "p:<partner>" */
    int64_t uses;
    money_dec spent;
} mem_count;

typedef struct memstore {
    price_store base; /* first: the interface */
    pthread_mutex_t lock;
    mem_count *v;
    size_t n, cap;
} memstore;

static mem_count *mem_find(memstore *m, const char *promo, const char *who, bool create)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].promo, promo) && !strcmp(m->v[i].who, who))
            return &m->v[i];
    if (!create)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        mem_count *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        m->v = v;
        m->cap = cap;
    }
    mem_count *c = &m->v[m->n];
    c->promo = strdup(promo);
    c->who = strdup(who);
    c->uses = 0;
    c->spent = money_from_int(0);
    if (!c->promo || !c->who) {
        free(c->promo);
        free(c->who);
        return NULL;
    }
    m->n++;
    return c;
}

static int mem_usage(price_store *st, const char *const *promos, size_t n, const char *customer,
                     const char *partner, price_usage *out)
{
    memstore *m = (memstore *)st;
    char cwho[200], pwho[200];
    snprintf(cwho, sizeof(cwho), "c:%s", customer ? customer : "");
    snprintf(pwho, sizeof(pwho), "p:%s", partner ? partner : "");
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        out[i] = (price_usage){0, 0, 0, money_from_int(0)};
        mem_count *c = mem_find(m, promos[i], "", false);
        if (c) {
            out[i].uses = c->uses;
            out[i].spent = c->spent;
        }
        if (customer && (c = mem_find(m, promos[i], cwho, false)))
            out[i].customer_uses = c->uses;
        if (partner && (c = mem_find(m, promos[i], pwho, false)))
            out[i].partner_uses = c->uses;
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

price_store *price_memstore_new(void)
{
    memstore *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->base.usage = mem_usage;
    pthread_mutex_init(&m->lock, NULL);
    return &m->base;
}

void price_memstore_free(price_store *st)
{
    memstore *m = (memstore *)st;
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].promo);
        free(m->v[i].who);
    }
    free(m->v);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int price_memstore_redeem(price_store *st, const char *promo, const char *customer,
                          const char *partner, money_dec amount)
{
    memstore *m = (memstore *)st;
    char who[200];
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    mem_count *c = mem_find(m, promo, "", true);
    if (!c || money_add(c->spent, amount, &c->spent) != 0)
        rc = c ? CPQD_ERANGE : CPQD_ENOMEM;
    else
        c->uses++;
    snprintf(who, sizeof(who), "c:%s", customer ? customer : "");
    if (rc == 0 && customer)
        rc = (c = mem_find(m, promo, who, true)) ? (c->uses++, 0) : CPQD_ENOMEM;
    snprintf(who, sizeof(who), "p:%s", partner ? partner : "");
    if (rc == 0 && partner)
        rc = (c = mem_find(m, promo, who, true)) ? (c->uses++, 0) : CPQD_ENOMEM;
    pthread_mutex_unlock(&m->lock);
    return rc;
}
