/*
 * sched_period: billing periods (subscription, usage, services spread
 * over a term), renewal and mid-term seat changes.
 *
 * Does not own: one-off modes and payment terms (sched.c), pricing usage
 * (sched_status.c).
 * Key invariant: period j of a line starts on the anchor day `j x months`
 * after the series start, clamped to the month's last day, and ends where
 * period j+1 starts: the series is computed from the anchor each time,
 * never from the previous period, so Jan 31 -> Feb 29 -> Mar 31 never
 * drifts to Mar 29, and consecutive periods tile the calendar exactly.
 */
#include "sched_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Months of a renewal series we accept (term_no x term), about 800 years. */
#define SCHED_MAX_SERIES_MONTHS 9600L

int sched_period_months(cat_period p)
{
    switch (p) {
    case CAT_PERIOD_MONTHLY:
        return 1;
    case CAT_PERIOD_QUARTERLY:
        return 3;
    case CAT_PERIOD_YEARLY:
        return 12;
    case CAT_PERIOD_NONE:
        break;
    }
    return 0;
}

date_days sched_anchor_add(int y, int m, int anchor_day, int months)
{
    long t = (long)y * 12 + (m - 1) + months;
    long ny = t >= 0 ? t / 12 : -((-t + 11) / 12);
    int nm = (int)(t - ny * 12) + 1;
    int md = date_month_days((int)ny, nm);
    return date_from_ymd((int)ny, nm, anchor_day < md ? anchor_day : md);
}

date_days sched_period_start(date_days anchor, int months, int j)
{
    int y, m, d;
    date_to_ymd(anchor, &y, &m, &d);
    return sched_anchor_add(y, m, d, months * j);
}

date_days sched_month_end(date_days d)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    return date_from_ymd(y, m, date_month_days(y, m));
}

int sched_prorate(const sctx *x, money_dec v, int64_t num, int64_t den, money_dec *out)
{
    bool neg = money_sign(v) < 0;
    money_dec p, r;
    int rc = money_mul_int(neg ? money_neg(v) : v, num, &p);
    if (!rc)
        rc = money_div(p, money_from_int(den), x->minor, x->c->rounding, &r);
    if (rc)
        return sched_err(x, rc == CPQD_ERANGE ? rc : CPQD_EINVAL, "cannot prorate the amount");
    *out = neg ? money_neg(r) : r;
    return 0;
}

/* The anchor series of a periodic line. */
typedef struct anchor {
    int y, m, day;    /* month the series starts in, and its anchor day */
    int pm;           /* months per period */
    unsigned n;       /* full periods per term (0: open-ended usage) */
    bool stub;        /* a prorated first period [start_on, P(0)) */
    date_days start;  /* start_on */
} anchor;

/* Start of period j (j may be -1: the full period holding the stub). */
static date_days pstart(const anchor *a, long j)
{
    return sched_anchor_add(a->y, a->m, a->day, (int)(j * a->pm));
}

static int check_months(const sctx *x, int tm, int pm, const char *what)
{
    if (tm < 1 || tm > SCHED_MAX_MONTHS)
        return sched_err(x, CPQD_EINVAL, "%s term_months %d out of range 1..%d", what, tm,
                         SCHED_MAX_MONTHS);
    if (tm % pm)
        return sched_err(x, CPQD_EINVAL, "%s term_months %d is not a whole number of %d-month "
                         "periods", what, tm, pm);
    return 0;
}

static int anchor_setup(const sctx *x, anchor *a)
{
    const sched_line *l = x->l;
    const char *mode = cat_mode_name(l->mode);
    int dd, rc;
    *a = (anchor){.pm = sched_period_months(l->period), .start = l->start_on};
    if (!a->pm)
        return sched_err(x, CPQD_EINVAL, "a %s line needs a billing period", mode);
    if (l->start_on == SCHED_NO_DATE)
        return sched_err(x, CPQD_EINVAL, "a %s line needs start_on", mode);
    if (l->mode == CAT_MODE_SUBSCRIPTION || l->term_months != 0) {
        if ((rc = check_months(x, l->term_months, a->pm, mode)))
            return rc;
        a->n = (unsigned)(l->term_months / a->pm);
    }
    date_to_ymd(l->start_on, &a->y, &a->m, &dd);
    a->day = dd;
    int bd = l->mode == CAT_MODE_SUBSCRIPTION ? l->bill_day : 0;
    if (bd < 0 || bd > 31)
        return sched_err(x, CPQD_EINVAL, "bill_day %d out of range 0..31", bd);
    if (bd == 0)
        return 0;
    /* bill on day bd: the series starts at its first occurrence on or
     * after start_on; the days before it are a prorated stub */
    a->day = bd;
    if (pstart(a, 0) < l->start_on && ++a->m > 12) {
        a->m = 1;
        a->y++;
    }
    a->stub = pstart(a, 0) > l->start_on;
    return 0;
}

/* Refuses series whose period `last` (a 64-bit count: callers multiply
 * term numbers) lies beyond SCHED_MAX_SERIES_MONTHS. */
static int check_series(const sctx *x, const anchor *a, unsigned long long last)
{
    if (last > (unsigned long long)SCHED_MAX_SERIES_MONTHS / (unsigned)a->pm)
        return sched_err(x, CPQD_EINVAL, "period %llu is too far after start_on", last);
    return 0;
}

/* Appends the items of one period [from, to) billed on bill under term t. */
static int period_items(const sctx *x, const cat_term *t, sched_item *tmpl, date_days from,
                        date_days to, date_days bill, money_dec amount, const char *what,
                        sched_list *out)
{
    sev ev = {.signing = bill, .delivery = bill, .acceptance = bill, .invoice = bill,
              .exp_delivery = SCHED_NO_DATE, .exp_acceptance = SCHED_NO_DATE,
              .exp_invoice = SCHED_NO_DATE, .recurring = true};
    char f[DATE_FMT_LEN], l[DATE_FMT_LEN], label[80];
    date_format(from, f);
    date_format(to - 1, l);
    snprintf(label, sizeof(label), "%s %s to %s: ", what, f, l);
    tmpl->has_period = true;
    tmpl->period_from = from;
    tmpl->period_to = to;
    return sched_term_apply(x, t, CAT_DUE_SIGNING, amount, &ev, tmpl, label, out);
}

/* The billing date of a subscription period: its first day in advance,
 * its last day in arrears. */
static date_days sub_bill(const sctx *x, date_days from, date_days to)
{
    return x->l->in_arrears ? to - 1 : from;
}

static int sub_period(const sctx *x, const anchor *a, unsigned j, money_dec amount,
                      sched_list *out)
{
    date_days from = pstart(a, j), to = pstart(a, (long)j + 1);
    sched_item tmpl = sched_item_blank(x, SCHED_KIND_PERIOD, j + a->stub);
    return period_items(x, x->l->term, &tmpl, from, to, sub_bill(x, from, to), amount, "period",
                        out);
}

static int sub_stub(const sctx *x, const anchor *a, money_dec amount, sched_list *out)
{
    date_days ref = pstart(a, -1), to = pstart(a, 0);
    money_dec part;
    int rc = sched_prorate(x, amount, to - a->start, to - ref, &part);
    if (rc)
        return rc;
    char what[48];
    snprintf(what, sizeof(what), "first period (%d/%d days)", (int)(to - a->start),
             (int)(to - ref));
    sched_item tmpl = sched_item_blank(x, SCHED_KIND_PERIOD, 0);
    return period_items(x, x->l->term, &tmpl, a->start, to, sub_bill(x, a->start, to), part, what,
                        out);
}

static int period_amount(const sctx *x, money_dec v, money_dec *out)
{
    int rc = sched_to_minor(x, v, "period amount", out);
    if (!rc && money_sign(*out) < 0)
        return sched_err(x, CPQD_EINVAL, "period amount is negative");
    return rc;
}

int sched_build_subscription(const sctx *x, unsigned term_no, money_dec amount, sched_list *out)
{
    anchor a;
    money_dec amt;
    int rc = anchor_setup(x, &a);
    if (rc || (rc = period_amount(x, amount, &amt)) ||
        (rc = check_series(x, &a, (term_no + 1ULL) * a.n)))
        return rc;
    if (term_no == 0 && a.stub && (rc = sub_stub(x, &a, amt, out)))
        return rc;
    for (unsigned j = term_no * a.n; j < (term_no + 1) * a.n; j++)
        if ((rc = sub_period(x, &a, j, amt, out)))
            return rc;
    return 0;
}

/* ---- seat changes ---- */

/* The period of term term_no holding d: its number j (-1 for the stub),
 * its bounds and the bounds of the full anchored period around it. */
typedef struct where {
    long j;
    date_days from, to, full_from, full_to;
} where;

static int find_period(const sctx *x, const anchor *a, unsigned term_no, date_days d, where *w)
{
    date_days lo = term_no == 0 && a->stub ? a->start : pstart(a, (long)term_no * a->n);
    date_days hi = pstart(a, (long)(term_no + 1) * a->n);
    if (d < lo || d >= hi)
        return sched_err(x, CPQD_EINVAL, "the change date is outside term %u", term_no);
    if (d < pstart(a, 0)) {
        *w = (where){-1, a->start, pstart(a, 0), pstart(a, -1), pstart(a, 0)};
        return 0;
    }
    long j = (long)term_no * a->n;
    while (pstart(a, j + 1) <= d)
        j++;
    *w = (where){j, pstart(a, j), pstart(a, j + 1), pstart(a, j), pstart(a, j + 1)};
    return 0;
}

/* A credit or charge for [on, w->to), keyed by the period it changes. */
static int change_item(const sctx *x, const anchor *a, sched_kind kind, const where *w,
                       date_days on, money_dec amount, sched_list *out)
{
    date_days bill = x->l->in_arrears ? w->to - 1 : on;
    sched_item tmpl = sched_item_blank(x, kind, (unsigned)(w->j + a->stub));
    const char *what = kind == SCHED_KIND_CREDIT ? "credit" : "charge";
    return period_items(x, x->l->term, &tmpl, on, w->to, bill, amount, what, out);
}

int sched_seat_change(const sched_contract *c, size_t line, unsigned term_no, date_days change_on,
                      money_dec new_amount, sched_list *out, cpqd_errs *errs)
{
    sctx x;
    anchor a;
    where w = {0};
    money_dec old, neu, credit, charge;
    sched_list tmp = {0};
    int rc = sched_ctx_init(&x, c, line, errs);
    if (rc)
        return rc;
    if (x.l->mode != CAT_MODE_SUBSCRIPTION)
        return sched_err(&x, CPQD_EINVAL, "a seat change needs a subscription line");
    if ((rc = anchor_setup(&x, &a)) || (rc = period_amount(&x, x.l->total, &old)) ||
        (rc = period_amount(&x, new_amount, &neu)) ||
        (rc = check_series(&x, &a, (term_no + 1ULL) * a.n)) ||
        (rc = find_period(&x, &a, term_no, change_on, &w)))
        return rc;
    int64_t rest = w.to - change_on, days = w.full_to - w.full_from;
    if ((rc = sched_prorate(&x, money_neg(old), rest, days, &credit)) ||
        (rc = sched_prorate(&x, neu, rest, days, &charge)) ||
        (rc = change_item(&x, &a, SCHED_KIND_CREDIT, &w, change_on, credit, &tmp)) ||
        (rc = change_item(&x, &a, SCHED_KIND_CHARGE, &w, change_on, charge, &tmp)))
        goto out;
    for (long j = w.j + 1; j < (long)(term_no + 1) * a.n && !rc; j++)
        rc = sub_period(&x, &a, (unsigned)j, neu, &tmp);
    if (!rc)
        rc = sched_list_take(out, &tmp);
out:
    sched_list_fini(&tmp);
    return rc;
}

/* ---- usage ---- */

int sched_build_usage(const sctx *x, unsigned first, unsigned count, const money_dec *amount,
                      sched_list *out)
{
    anchor a;
    int rc = anchor_setup(x, &a);
    if (rc || (rc = check_series(x, &a, (unsigned long long)first + count)))
        return rc;
    for (unsigned j = first; j < first + count; j++) {
        date_days from = pstart(&a, j), to = pstart(&a, (long)j + 1);
        sched_item tmpl = sched_item_blank(x, SCHED_KIND_USAGE, j);
        tmpl.amount_known = amount != NULL;
        money_dec amt = amount ? *amount : (money_dec){0, x->minor};
        /* in arrears: billed on the period's last day, when it closes */
        if ((rc = period_items(x, x->l->term, &tmpl, from, to, to - 1, amt, "usage", out)))
            return rc;
    }
    return 0;
}

/* ---- services spread over their term ---- */

int sched_build_spread(const sctx *x, const sched_service *sv, unsigned idx, money_dec amount,
                       sched_list *out)
{
    int pm = sched_period_months(sv->period), y, m, d;
    char what[64];
    snprintf(what, sizeof(what), "service %.40s", sv->sku ? sv->sku : "?");
    if (x->l->start_on == SCHED_NO_DATE)
        return sched_err(x, CPQD_EINVAL, "%s is spread over its term and needs start_on", what);
    int rc = check_months(x, sv->term_months, pm ? pm : 1, what);
    if (rc)
        return rc;
    unsigned n = (unsigned)(sv->term_months / pm);
    money_dec *parts = malloc(n * sizeof(*parts));
    if (!parts)
        return CPQD_ENOMEM;
    /* equal parts per period, the residue on the first ones */
    if ((rc = money_split(amount, n, x->minor, parts)))
        rc = sched_err(x, rc, "cannot split %s over %u periods", what, n);
    date_to_ymd(x->l->start_on, &y, &m, &d);
    for (unsigned j = 0; j < n && !rc; j++) {
        date_days from = sched_anchor_add(y, m, d, (int)j * pm);
        date_days to = sched_anchor_add(y, m, d, (int)(j + 1) * pm);
        sched_item tmpl = sched_item_blank(x, SCHED_KIND_SERVICE_PERIOD, j);
        tmpl.service = idx;
        tmpl.ref = sv->sku;
        rc = period_items(x, sv->term, &tmpl, from, to, from, parts[j], what, out);
    }
    free(parts);
    return rc;
}

/* ---- renewal ---- */

int sched_line_renew(const sched_contract *c, size_t line, unsigned term_no,
                     money_dec period_amount_, sched_list *out, cpqd_errs *errs)
{
    sctx x;
    sched_list tmp = {0};
    int rc = sched_ctx_init(&x, c, line, errs);
    if (rc)
        return rc;
    if (x.l->mode == CAT_MODE_SUBSCRIPTION) {
        rc = sched_build_subscription(&x, term_no, period_amount_, &tmp);
    } else if (x.l->mode == CAT_MODE_USAGE) {
        int pm = sched_period_months(x.l->period), tm = x.l->term_months;
        unsigned n = tm > 0 && pm > 0 ? (unsigned)(tm / pm) : 1;
        if ((unsigned long long)term_no * n > SCHED_MAX_SERIES_MONTHS)
            rc = sched_err(&x, CPQD_EINVAL, "term %u is too far after start_on", term_no);
        else
            rc = sched_build_usage(&x, term_no * n, n, NULL, &tmp);
    } else {
        rc = sched_err(&x, CPQD_EINVAL, "only subscription and usage lines renew");
    }
    if (!rc)
        rc = sched_list_take(out, &tmp);
    sched_list_fini(&tmp);
    return rc;
}
