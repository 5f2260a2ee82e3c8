/*
 * revrec: performance obligations, SSP allocation and recognition by date
 * (include/cpqd/revrec.h, docs/finance.md "Revenue recognition").
 *
 * Owns: the allocation of each bundle's price, the recognised amount of
 * an obligation on a date, positions and period amounts. Does not own:
 * the dates and prices (callers), vouchers.
 *
 * Key invariant: an obligation's recognised amount is a function of the
 * date alone, computed from its allocation in one rounding (never
 * accumulated from increments), so any two dates give an exact period
 * amount and the periods of a year add up to the year.
 */
#include "cpqd/revrec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *revrec_pattern_name(revrec_pattern p)
{
    static const char *const n[] = {"at_event", "over_time", "as_billed"};
    return (unsigned)p < 3 ? n[p] : NULL;
}

static int rr_err(cpqd_errs *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rr_err(cpqd_errs *errs, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (errs)
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s", msg);
    return CPQD_EINVAL;
}

void revrec_plan_fini(revrec_plan *p)
{
    if (!p)
        return;
    free(p->ob);
    memset(p, 0, sizeof(*p));
}

static const char *ob_name(const revrec_obligation_in *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", o->line_id ? o->line_id : "?", o->ref ? "/" : "",
             o->ref ? o->ref : "");
    return buf;
}

/* ---- building ---- */

static int check_obligation(const revrec_contract *c, size_t i, int minor, cpqd_errs *errs)
{
    const revrec_obligation_in *o = &c->obligations[i];
    char nm[160];
    int bad = 0;
    ob_name(o, nm, sizeof(nm));
    if (!o->line_id || !o->category)
        bad = rr_err(errs, "obligation %zu: line id and category are required", i);
    if (!money_is_valid(o->ssp) || money_sign(o->ssp) < 0)
        bad = rr_err(errs, "obligation %s: standalone selling price must be >= 0", nm);
    size_t g = 0;
    while (g < c->ngroups && c->groups[g].id != o->group)
        g++;
    if (g == c->ngroups)
        bad = rr_err(errs, "obligation %s: group %u does not exist", nm, o->group);
    switch (o->pattern) {
    case REVREC_AT_EVENT:
        break;
    case REVREC_OVER_TIME:
        if (o->from != REVREC_NO_DATE && (o->to == REVREC_NO_DATE || o->to <= o->from))
            bad = rr_err(errs, "obligation %s: its period must end after it starts", nm);
        break;
    case REVREC_AS_BILLED:
        for (size_t k = 0; k < o->nbills; k++)
            if (!money_is_valid(o->bills[k].amount) || o->bills[k].amount.scale > minor ||
                o->bills[k].on == REVREC_NO_DATE)
                bad = rr_err(errs,
                             "obligation %s: bill %zu needs a date and an amount with at "
                             "most %d places",
                             nm, k, minor);
        break;
    default:
        bad = rr_err(errs, "obligation %s: unknown pattern %d", nm, (int)o->pattern);
    }
    return bad;
}

static bool fixed(const revrec_obligation_in *o)
{
    return o->pattern != REVREC_AS_BILLED;
}

/* Allocates group g's price over its fixed obligations. */
static int allocate_group(const revrec_contract *c, const revrec_group *g, revrec_plan *p,
                          cpqd_errs *errs)
{
    size_t n = 0, *idx = calloc(c->n ? c->n : 1, sizeof(*idx));
    money_dec *w = calloc(c->n ? c->n : 1, sizeof(*w)),
              *part = calloc(c->n ? c->n : 1, sizeof(*part));
    int rc = 0;
    bool any = false;
    if (!idx || !w || !part) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->obligations[i].group == g->id && fixed(&c->obligations[i])) {
            idx[n] = i;
            w[n] = c->obligations[i].ssp;
            any |= !money_is_zero(w[n]);
            n++;
        }
    if (n == 0) {
        if (!money_is_zero(g->price))
            rc = rr_err(errs, "group %u has a price but no obligation to allocate it to", g->id);
        goto out;
    }
    for (size_t k = 0; !any && k < n; k++)
        w[k] = money_from_int(1); /* no SSPs: equal shares */
    if ((rc = money_allocate(g->price, w, n, p->minor, part)))
        goto out;
    for (size_t k = 0; k < n; k++)
        p->ob[idx[k]].allocated = part[k];
out:
    free(idx);
    free(w);
    free(part);
    return rc;
}

int revrec_plan_build(const revrec_contract *c, revrec_plan *out, cpqd_errs *errs)
{
    int minor = 2, bad = 0, rc = 0;
    memset(out, 0, sizeof(*out));
    if (!c || !c->currency || money_currency_minor(c->currency, &minor) != 0)
        return rr_err(errs, "unknown currency");
    for (size_t g = 0; g < c->ngroups; g++) {
        if (!money_is_valid(c->groups[g].price) || money_sign(c->groups[g].price) < 0 ||
            c->groups[g].price.scale > minor)
            bad = rr_err(errs, "group %u: price must be >= 0 with at most %d places",
                         c->groups[g].id, minor);
        for (size_t h = 0; h < g; h++)
            if (c->groups[h].id == c->groups[g].id)
                bad = rr_err(errs, "group %u is listed twice", c->groups[g].id);
    }
    for (size_t i = 0; i < c->n; i++)
        bad |= check_obligation(c, i, minor, errs);
    if (bad)
        return CPQD_EINVAL;
    out->ob = calloc(c->n ? c->n : 1, sizeof(*out->ob));
    if (!out->ob)
        return CPQD_ENOMEM;
    out->n = c->n;
    memcpy(out->currency, c->currency, 3);
    out->minor = minor;
    out->rounding = c->rounding;
    out->total = (money_dec){0, minor};
    for (size_t i = 0; i < c->n; i++) {
        out->ob[i] = (revrec_obligation){&c->obligations[i], {0, minor}};
        for (size_t k = 0; k < c->obligations[i].nbills && rc == 0; k++)
            rc = money_add(out->ob[i].allocated, c->obligations[i].bills[k].amount,
                           &out->ob[i].allocated);
    }
    for (size_t g = 0; g < c->ngroups && rc == 0; g++)
        rc = allocate_group(c, &c->groups[g], out, errs);
    for (size_t i = 0; i < c->n && rc == 0; i++)
        rc = money_add(out->total, out->ob[i].allocated, &out->total);
    if (rc)
        revrec_plan_fini(out);
    return rc;
}

/* ---- recognition ---- */

int revrec_recognised(const revrec_plan *p, size_t i, date_days d, money_dec *out)
{
    const revrec_obligation *o = &p->ob[i];
    const revrec_obligation_in *in = o->in;
    money_dec zero = {0, p->minor};
    *out = zero;
    switch (in->pattern) {
    case REVREC_AT_EVENT:
        if (in->on != REVREC_NO_DATE && in->on <= d)
            *out = o->allocated;
        return 0;
    case REVREC_AS_BILLED:
        for (size_t k = 0; k < in->nbills; k++) {
            int rc;
            if (in->bills[k].on <= d && (rc = money_add(*out, in->bills[k].amount, out)))
                return rc;
        }
        return money_rescale(*out, p->minor, MONEY_HALF_EVEN, out);
    case REVREC_OVER_TIME:
        if (in->from == REVREC_NO_DATE || d < in->from)
            return 0;
        if (d >= in->to - 1) {
            *out = o->allocated;
            return 0;
        }
        /* allocated x elapsed / days, rounded once from the exact value */
        money_dec part;
        int rc = money_mul_int(o->allocated, (int64_t)d - in->from + 1, &part);
        if (rc)
            return rc;
        return money_div(part, money_from_int((int64_t)in->to - in->from), p->minor, p->rounding,
                         out);
    }
    return CPQD_EINVAL;
}

int revrec_as_of(const revrec_plan *p, date_days as_of, revrec_position *per,
                 revrec_position *total)
{
    money_dec zero = {0, p->minor};
    revrec_position t = {zero, zero};
    int rc;
    for (size_t i = 0; i < p->n; i++) {
        revrec_position x;
        if ((rc = revrec_recognised(p, i, as_of, &x.recognised)) ||
            (rc = money_sub(p->ob[i].allocated, x.recognised, &x.deferred)) ||
            (rc = money_add(t.recognised, x.recognised, &t.recognised)) ||
            (rc = money_add(t.deferred, x.deferred, &t.deferred)))
            return rc;
        if (per)
            per[i] = x;
    }
    if (total)
        *total = t;
    return 0;
}

int revrec_between(const revrec_plan *p, date_days after, date_days upto, money_dec *out)
{
    int rc;
    if (upto <= after)
        return CPQD_EINVAL;
    for (size_t i = 0; i < p->n; i++) {
        money_dec a, b;
        if ((rc = revrec_recognised(p, i, after, &a)) || (rc = revrec_recognised(p, i, upto, &b)) ||
            (rc = money_sub(b, a, &out[i])))
            return rc;
    }
    return 0;
}

/* ---- obligations of a contract line ---- */

static date_days term_end(date_days start, int months)
{
    if (start == REVREC_NO_DATE || months <= 0)
        return REVREC_NO_DATE;
    return sched_period_start(start, months, 1);
}

/* Milestones weigh what the schedule gives them: fixed amounts as
 * written, percents their share of what the fixed ones leave of the net
 * (docs/receivables.md "milestone"); all percents: the percents. */
static int milestones(const sched_line *l, const revrec_obligation_in *base,
                      revrec_obligation_in *out, size_t *n)
{
    money_dec fixed_sum = {0, 0}, rest = base->ssp;
    bool any_fixed = false, any_pct = false;
    int rc;
    for (size_t k = 0; k < l->nmilestones; k++) {
        const cat_milestone *m = &l->milestones[k];
        any_fixed |= !m->is_percent;
        any_pct |= m->is_percent;
        if (!m->is_percent && (rc = money_add(fixed_sum, m->amount, &fixed_sum)))
            return rc;
    }
    if (any_fixed && any_pct &&
        ((rc = money_sub(base->ssp, fixed_sum, &rest)) || money_sign(rest) < 0))
        return rc ? rc : CPQD_EINVAL;
    for (size_t k = 0; k < l->nmilestones; k++) {
        const cat_milestone *m = &l->milestones[k];
        out[k] = *base;
        out[k].ref = m->id;
        out[k].ssp = m->is_percent ? m->percent : m->amount;
        money_dec frac;
        if (m->is_percent && any_fixed &&
            ((rc = money_div(m->percent, money_from_int(100), m->percent.scale + 2, MONEY_HALF_EVEN,
                             &frac)) ||
             (rc = money_mul(rest, frac, rest.scale + frac.scale, MONEY_HALF_EVEN, &out[k].ssp))))
            return rc;
        out[k].on = l->milestone_accepted ? l->milestone_accepted[k] : REVREC_NO_DATE;
    }
    *n = l->nmilestones;
    return 0;
}

int revrec_line_obligations(const sched_line *l, const char *line_id, const char *category,
                            unsigned group, money_dec net, revrec_obligation_in *out, size_t cap,
                            size_t *n)
{
    revrec_obligation_in base = {.line_id = line_id,
                                 .category = category,
                                 .group = group,
                                 .ssp = net,
                                 .on = REVREC_NO_DATE,
                                 .from = REVREC_NO_DATE,
                                 .to = REVREC_NO_DATE};
    size_t need = 1;
    *n = 0;
    if (l->mode == CAT_MODE_GOODS_WITH_SERVICE)
        need = 1 + l->nservices;
    else if (l->mode == CAT_MODE_MILESTONE)
        need = l->nmilestones;
    if (need > cap || (unsigned)l->mode > CAT_MODE_MILESTONE)
        return CPQD_EINVAL;
    switch (l->mode) {
    case CAT_MODE_GOODS:
        out[0] = base;
        out[0].on = l->delivered_on;
        break;
    case CAT_MODE_GOODS_WITH_SERVICE:
        out[0] = base;
        out[0].ssp = l->goods_weight;
        out[0].on = l->delivered_on;
        for (size_t k = 0; k < l->nservices; k++) {
            const sched_service *s = &l->services[k];
            revrec_obligation_in *o = &out[1 + k];
            *o = base;
            o->ref = s->sku;
            o->ssp = s->weight;
            if (s->period != CAT_PERIOD_NONE) {
                o->pattern = REVREC_OVER_TIME;
                o->from = l->start_on;
                o->to = term_end(l->start_on, s->term_months);
                if (o->to == REVREC_NO_DATE)
                    o->from = REVREC_NO_DATE;
            } else {
                o->on = l->accepted_on;
            }
        }
        break;
    case CAT_MODE_SUBSCRIPTION:
        out[0] = base;
        out[0].pattern = REVREC_OVER_TIME;
        out[0].from = l->start_on;
        out[0].to = term_end(l->start_on, l->term_months);
        if (out[0].to == REVREC_NO_DATE)
            out[0].from = REVREC_NO_DATE;
        break;
    case CAT_MODE_USAGE:
        out[0] = base;
        out[0].pattern = REVREC_AS_BILLED;
        break;
    case CAT_MODE_MILESTONE:
        return milestones(l, &base, out, n);
    }
    *n = need;
    return 0;
}
