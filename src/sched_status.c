/*
 * sched_status: pricing a closed usage period (tiers, minimum commitment,
 * tax), classifying an item against its payments as of a date, the enum
 * names, and the helpers that read sched_line inputs from a catalog.
 *
 * Does not own: building schedules (sched.c, sched_period.c); recording
 * payments (store).
 * Key invariant: a usage amount is computed exactly and rounded once, to
 * the currency's minor places, with the contract's rounding mode.
 */
#include "sched_int.h"

#include <string.h>

/* ---- exact arithmetic for usage ---- */

/* a * b exactly (scales add), or rounded half-even to the most places
 * (at most 18, at least 2) at which it fits: 10^12 GB at 6 places times a
 * rate of 6 places is exact at 12 places only up to 9.2 x 10^6. */
static int xmul(money_dec a, money_dec b, money_dec *out)
{
    int scale = a.scale + b.scale, rc;
    if (scale > MONEY_MAX_SCALE)
        scale = MONEY_MAX_SCALE;
    while ((rc = money_mul(a, b, scale, MONEY_HALF_EVEN, out)) == CPQD_ERANGE && scale > 2)
        scale--;
    return rc;
}

/* The tiered amount: the catalog's one computation (docs/pricing.md
 * "Tiers"), so a usage period is priced exactly as a quote line would be. */
int sched_tier_amount(const cat_pb_entry *e, money_dec qty, money_dec *out)
{
    if (!e || !e->has_tiers || e->nbands == 0 || !e->bands)
        return CPQD_EINVAL;
    return cat_tier_amount(e, money_from_int(1), qty, out);
}

/* ---- usage ---- */

static int usage_net(const sctx *x, money_dec qty, money_dec *net)
{
    const sched_line *l = x->l;
    int rc;
    if (l->tiers && l->tiers->has_tiers && l->tiers->nbands)
        rc = sched_tier_amount(l->tiers, qty, net);
    else
        rc = money_is_valid(l->unit_price) ? xmul(qty, l->unit_price, net) : CPQD_EINVAL;
    if (rc)
        return sched_err(x, rc == CPQD_ERANGE ? rc : CPQD_EINVAL,
                         "cannot price the metered quantity");
    /* the minimum commitment is a floor on the period's net amount */
    if (l->has_minimum && money_cmp(*net, l->minimum) < 0) {
        if (!money_is_valid(l->minimum) || money_sign(l->minimum) < 0)
            return sched_err(x, CPQD_EINVAL, "minimum commitment is negative or invalid");
        *net = l->minimum;
    }
    return 0;
}

int sched_usage_amount(const sched_contract *c, size_t line, money_dec qty, money_dec *out,
                       cpqd_errs *errs)
{
    sctx x;
    money_dec net, gross, r;
    int rc = sched_ctx_init(&x, c, line, errs);
    if (rc)
        return rc;
    if (x.l->mode != CAT_MODE_USAGE)
        return sched_err(&x, CPQD_EINVAL, "not a usage line");
    if (!money_is_valid(qty) || money_sign(qty) < 0)
        return sched_err(&x, CPQD_EINVAL, "metered quantity is negative or invalid");
    money_dec rate = x.l->tax_rate;
    if (!money_is_valid(rate) || money_sign(rate) < 0)
        return sched_err(&x, CPQD_EINVAL, "tax rate is negative or invalid");
    if ((rc = usage_net(&x, qty, &net)))
        return rc;
    /* net x (1 + rate): one exact product, rounded once to the currency
     * (net + net x rate needs the places of both, and overflowed early) */
    if ((rc = money_add(money_from_int(1), rate, &gross)) ||
        (rc = money_mul(net, gross, x.minor, c->rounding, &r)))
        return sched_err(&x, rc, "the usage amount overflows");
    *out = r;
    return 0;
}

int sched_usage_close(const sched_contract *c, size_t line, unsigned seq, money_dec qty,
                      sched_list *out, cpqd_errs *errs)
{
    sctx x;
    money_dec amt;
    sched_list tmp = {0};
    int rc = sched_usage_amount(c, line, qty, &amt, errs);
    if (rc || (rc = sched_ctx_init(&x, c, line, errs)))
        return rc;
    if (x.l->term_months > 0) {
        int pm = sched_period_months(x.l->period);
        if (pm > 0 && seq >= (unsigned)(x.l->term_months / pm) && x.l->term_months % pm == 0)
            return sched_err(&x, CPQD_EINVAL, "usage period %u is after the term", seq);
    }
    rc = sched_build_usage(&x, seq, 1, &amt, &tmp);
    if (!rc)
        rc = sched_list_take(out, &tmp);
    sched_list_fini(&tmp);
    return rc;
}

/* ---- payments and aging ---- */

sched_aging sched_aging_of(int days)
{
    if (days <= 0)
        return SCHED_AGING_NONE;
    if (days <= 30)
        return SCHED_AGING_1_30;
    if (days <= 60)
        return SCHED_AGING_31_60;
    return days <= 90 ? SCHED_AGING_61_90 : SCHED_AGING_90_PLUS;
}

static int paid_until(const sched_payment *pays, size_t n, date_days as_of, int minor,
                      money_dec *out)
{
    money_dec s = {0, minor};
    if (n && !pays)
        return CPQD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!money_is_valid(pays[i].amount) || money_sign(pays[i].amount) <= 0)
            return CPQD_EINVAL;
        if (pays[i].paid_on == SCHED_NO_DATE || pays[i].paid_on > as_of)
            continue;
        if (money_add(s, pays[i].amount, &s))
            return CPQD_ERANGE;
    }
    *out = s;
    return 0;
}

int sched_item_classify(const sched_item *it, const sched_payment *pays, size_t npays,
                        date_days as_of, sched_standing *out)
{
    money_dec paid, left;
    if (!it || !money_is_valid(it->amount) || as_of == SCHED_NO_DATE)
        return CPQD_EINVAL;
    int rc = paid_until(pays, npays, as_of, it->amount.scale, &paid);
    if (rc)
        return rc;
    sched_standing st = {.status = SCHED_ST_SCHEDULED, .paid = paid,
                         .outstanding = {0, it->amount.scale}};
    if (it->amount_known && money_sign(it->amount) <= 0) {
        /* a credit or a zero item: nothing to collect */
        if (money_sign(paid) > 0)
            return CPQD_EINVAL;
        st.status = SCHED_ST_PAID;
        st.payment = SCHED_PAY_PAID;
        *out = st;
        return 0;
    }
    if (it->amount_known) {
        if (money_cmp(paid, it->amount) > 0 || money_sub(it->amount, paid, &left))
            return CPQD_EINVAL;
        st.outstanding = left;
    }
    bool some = money_sign(paid) > 0;
    st.payment = it->amount_known && money_is_zero(st.outstanding) ? SCHED_PAY_PAID
                 : some                                            ? SCHED_PAY_PARTIALLY_PAID
                                                                   : SCHED_PAY_UNPAID;
    if (it->amount_known && money_is_zero(st.outstanding))
        st.status = SCHED_ST_PAID;
    else if (it->due_on != SCHED_NO_DATE && as_of > it->due_on && it->amount_known) {
        st.status = SCHED_ST_OVERDUE;
        st.days_overdue = (int)(as_of - it->due_on);
        st.aging = sched_aging_of(st.days_overdue);
    } else if (some)
        st.status = SCHED_ST_PARTIALLY_PAID;
    else if (it->bill_on != SCHED_NO_DATE && as_of >= it->bill_on && it->amount_known)
        st.status = SCHED_ST_DUE;
    *out = st;
    return 0;
}

/* ---- names ---- */

#define NAME_OF(tab, v) ((size_t)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[(size_t)(v)] : NULL)

const char *sched_kind_name(sched_kind k)
{
    static const char *const names[] = {"installment", "service", "service_period", "period",
                                        "usage",       "milestone", "credit",       "charge"};
    return NAME_OF(names, k);
}

const char *sched_status_name(sched_status s)
{
    static const char *const names[] = {"scheduled", "due", "partially_paid", "paid", "overdue"};
    return NAME_OF(names, s);
}

const char *sched_pay_status_name(sched_pay_status p)
{
    static const char *const names[] = {"unpaid", "partially_paid", "paid"};
    return NAME_OF(names, p);
}

const char *sched_aging_name(sched_aging a)
{
    static const char *const names[] = {"none", "1-30", "31-60", "61-90", "90+"};
    return NAME_OF(names, a);
}

const char *sched_wait_name(sched_wait w)
{
    static const char *const names[] = {"none", "delivery", "acceptance", "milestone"};
    return NAME_OF(names, w);
}

/* ---- catalog helpers ---- */

static const cat_term *term_of(const cat_product *p, int *rc)
{
    const char *id = p->delivery.payment_term;
    *rc = 0;
    if (!id)
        return NULL;
    const cat_catalog *cc = p->catalog;
    for (size_t i = 0; cc && i < cc->nterms; i++)
        if (cc->terms[i].id && !strcmp(cc->terms[i].id, id))
            return &cc->terms[i];
    *rc = CPQD_EINVAL;
    return NULL;
}

int sched_line_from_product(const cat_product *p, money_dec total, sched_line *out)
{
    int rc;
    if (!p || !out)
        return CPQD_EINVAL;
    const cat_delivery *d = &p->delivery;
    const cat_term *t = term_of(p, &rc);
    if (rc)
        return rc;
    *out = (sched_line){
        .id = p->sku, .mode = d->mode, .total = total, .term = t,
        .lead_time_days = d->lead_time_days, .acceptance_days = d->acceptance_days,
        .goods_weight = money_from_int(1), .period = d->billing_period,
        .term_months = d->term_months, .in_arrears = d->in_arrears, .bill_day = d->bill_day,
        .unit_price = money_from_int(0), .tax_rate = money_from_int(0),
        .has_minimum = d->has_minimum_commitment, .minimum = d->minimum_commitment,
        .milestones = d->milestones, .nmilestones = d->nmilestones,
        .start_on = SCHED_NO_DATE, .delivered_on = SCHED_NO_DATE, .accepted_on = SCHED_NO_DATE,
    };
    if (d->mode == CAT_MODE_USAGE)
        out->term_months = 0; /* usage has no term in catalogs: open-ended */
    return 0;
}

/* The list of sku in book on date on, or 0 when the book has no entry
 * valid then. */
static money_dec list_in(const cat_price_book *book, const char *sku, date_days on)
{
    for (size_t i = 0; book && i < book->nentries; i++) {
        const cat_pb_entry *e = &book->entries[i];
        if (strcmp(e->sku, sku) || on < e->valid_from || (e->has_valid_to && on > e->valid_to))
            continue;
        return e->list;
    }
    return money_from_int(0);
}

int sched_services_from_book(const cat_snapshot *s, const cat_price_book *book,
                             const cat_product *p, date_days on, sched_service *out, size_t cap,
                             money_dec *goods_weight, size_t *n)
{
    if (!s || !p || !goods_weight || !n || p->delivery.mode != CAT_MODE_GOODS_WITH_SERVICE)
        return CPQD_EINVAL;
    const cat_delivery *d = &p->delivery;
    if (d->nservice_items > cap || (d->nservice_items && !out))
        return CPQD_EINVAL;
    for (size_t i = 0; i < d->nservice_items; i++) {
        const char *sku = d->service_items[i];
        const cat_product *sp = cat_snapshot_product(s, sku, strlen(sku));
        int rc;
        if (!sp)
            return CPQD_EINVAL;
        const cat_term *t = term_of(sp, &rc);
        if (rc)
            return rc;
        bool spread = sp->delivery.mode == CAT_MODE_SUBSCRIPTION;
        out[i] = (sched_service){
            .sku = sp->sku, .weight = list_in(book, sku, on), .term = t,
            .period = spread ? sp->delivery.billing_period : CAT_PERIOD_NONE,
            .term_months = spread ? sp->delivery.term_months : 0,
        };
    }
    *goods_weight = list_in(book, p->sku, on);
    *n = d->nservice_items;
    return 0;
}
