/*
 * sched: contracts, payment terms and the one-off modes (goods,
 * goods_with_service, milestone). Periodic modes are in sched_period.c,
 * usage pricing, classification and catalog helpers in sched_status.c.
 *
 * Does not own: dates of events, payments, storage (callers pass them in).
 * Key invariant: a line's items add up to its amount exactly, because every
 * split goes through money_allocate (largest remainder) at the currency's
 * minor places, and nothing is rounded after the split.
 */
#include "sched_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Installments or milestones one split accepts: bounded stack arrays. */
#define SCHED_MAX_PARTS 128
_Static_assert(CAT_TERM_MAX_PARTS <= SCHED_MAX_PARTS, "a term's parts fit one split");

/* ---- errors and context ---- */

int sched_err(const sctx *x, int code, const char *fmt, ...)
{
    if (!x->errs)
        return code;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const sched_line *l = x->l;
    if (l && l->id)
        errs_add(x->errs, code, NULL, 0, 0, "line %s: %s", l->id, msg);
    else if (l)
        errs_add(x->errs, code, NULL, 0, 0, "line %zu: %s", x->line, msg);
    else
        errs_add(x->errs, code, NULL, 0, 0, "%s", msg);
    return code;
}

/* Checks what every line needs from the contract. */
static int ctx_contract(sctx *x, const sched_contract *c, cpqd_errs *errs)
{
    *x = (sctx){.c = c, .errs = errs};
    if (!c || (c->nlines && !c->lines))
        return sched_err(x, CPQD_EINVAL, "no contract given");
    if (!c->currency || money_currency_minor(c->currency, &x->minor))
        return sched_err(x, CPQD_EINVAL, "unknown currency '%s'", c->currency ? c->currency : "");
    if (!money_round_name(c->rounding))
        return sched_err(x, CPQD_EINVAL, "unknown rounding mode %d", (int)c->rounding);
    if (c->signed_on == SCHED_NO_DATE)
        return sched_err(x, CPQD_EINVAL, "the contract needs signed_on");
    return 0;
}

int sched_ctx_init(sctx *x, const sched_contract *c, size_t i, cpqd_errs *errs)
{
    int rc = ctx_contract(x, c, errs);
    if (rc)
        return rc;
    if (i >= c->nlines)
        return sched_err(x, CPQD_EINVAL, "no line %zu (the contract has %zu)", i, c->nlines);
    x->l = &c->lines[i];
    x->line = i;
    return 0;
}

/* ---- lists ---- */

static int list_reserve(sched_list *l, size_t more)
{
    if (more <= l->cap - l->n)
        return 0;
    size_t cap = l->cap ? l->cap : 8;
    while (cap - l->n < more)
        if (__builtin_mul_overflow(cap, 2, &cap))
            return CPQD_ENOMEM;
    size_t bytes;
    if (__builtin_mul_overflow(cap, sizeof(sched_item), &bytes))
        return CPQD_ENOMEM;
    sched_item *p = realloc(l->items, bytes);
    if (!p)
        return CPQD_ENOMEM;
    l->items = p;
    l->cap = cap;
    return 0;
}

int sched_list_push(sched_list *l, const sched_item *it)
{
    int rc = list_reserve(l, 1);
    if (rc)
        return rc;
    l->items[l->n++] = *it;
    return 0;
}

int sched_list_take(sched_list *dst, sched_list *src)
{
    if (src->n == 0)
        return 0;
    int rc = list_reserve(dst, src->n);
    if (rc)
        return rc;
    memcpy(dst->items + dst->n, src->items, src->n * sizeof(sched_item));
    dst->n += src->n;
    src->n = 0;
    return 0;
}

void sched_list_fini(sched_list *l)
{
    if (!l)
        return;
    free(l->items);
    *l = (sched_list){0};
}

/* Pending items sort after dated ones, by their estimate, then unknown. */
static int64_t sort_date(const sched_item *it)
{
    if (it->due_on != SCHED_NO_DATE)
        return it->due_on;
    int64_t far = (int64_t)INT32_MAX + 1;
    return it->expected_on != SCHED_NO_DATE ? far + it->expected_on - INT32_MIN : far * 4;
}

static int cmp_u(size_t a, size_t b)
{
    return (a > b) - (a < b);
}

int sched_item_cmp(const sched_item *a, const sched_item *b)
{
    int64_t da = sort_date(a), db = sort_date(b);
    if (da != db)
        return da < db ? -1 : 1;
    int r = cmp_u(a->line, b->line);
    if (!r)
        r = cmp_u(a->kind, b->kind);
    if (!r)
        r = cmp_u(a->service, b->service);
    if (!r)
        r = cmp_u(a->seq, b->seq);
    return r ? r : cmp_u(a->part, b->part);
}

static int item_cmp(const void *pa, const void *pb)
{
    return sched_item_cmp(pa, pb);
}

void sched_list_sort(sched_list *l)
{
    if (l && l->n > 1)
        qsort(l->items, l->n, sizeof(sched_item), item_cmp);
}

/* ---- items ---- */

sched_item sched_item_blank(const sctx *x, sched_kind kind, unsigned seq)
{
    return (sched_item){
        .line = x->line,
        .kind = kind,
        .seq = seq,
        .due_on = SCHED_NO_DATE,
        .bill_on = SCHED_NO_DATE,
        .expected_on = SCHED_NO_DATE,
        .period_from = SCHED_NO_DATE,
        .period_to = SCHED_NO_DATE,
        .amount_known = true,
        .amount = {0, x->minor},
    };
}

void sched_desc(sched_item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(it->desc, sizeof(it->desc), fmt, ap);
    va_end(ap);
    if (n < (int)sizeof(it->desc))
        return;
    /* truncated: back off to the start of a UTF-8 sequence */
    size_t k = sizeof(it->desc) - 1;
    while (k > 0 && ((unsigned char)it->desc[k] & 0xC0) == 0x80)
        k--;
    it->desc[k] = '\0';
}

/* ---- amounts ---- */

int sched_to_minor(const sctx *x, money_dec v, const char *what, money_dec *out)
{
    money_dec r;
    char buf[MONEY_FMT_MAX] = "?";
    if (!money_is_valid(v))
        return sched_err(x, CPQD_EINVAL, "%s is not a valid amount", what);
    money_format(v, buf, sizeof(buf));
    if (money_rescale(v, x->minor, MONEY_DOWN, &r) || money_cmp(r, v) != 0)
        return sched_err(x, CPQD_EINVAL, "%s %s has more than the %d decimal places of %s", what,
                         buf, x->minor, x->c->currency);
    *out = r;
    return 0;
}

static const char *fmt_money(money_dec v, char buf[MONEY_FMT_MAX])
{
    money_dec n;
    if (money_normalize(v, &n) || money_format(n, buf, MONEY_FMT_MAX) < 0)
        snprintf(buf, MONEY_FMT_MAX, "?");
    return buf;
}

static int sum_fixed(const sctx *x, const bool *is_pct, const money_dec *vals, size_t n,
                     const char *what, money_dec *parts, money_dec *fixed, money_dec *pct)
{
    char buf[MONEY_FMT_MAX];
    *fixed = (money_dec){0, x->minor};
    *pct = money_from_int(0);
    for (size_t i = 0; i < n; i++) {
        if (!money_is_valid(vals[i]) || money_sign(vals[i]) < 0)
            return sched_err(x, CPQD_EINVAL, "%s %zu: %s %s is negative or invalid", what, i + 1,
                             is_pct[i] ? "percent" : "amount", fmt_money(vals[i], buf));
        int rc;
        if (is_pct[i])
            rc = money_add(*pct, vals[i], pct);
        else if (!(rc = sched_to_minor(x, vals[i], what, &parts[i])))
            rc = money_add(*fixed, parts[i], fixed);
        if (rc)
            return rc == CPQD_ERANGE ? sched_err(x, rc, "%s: amounts overflow", what) : rc;
    }
    return 0;
}

int sched_split_mixed(const sctx *x, money_dec total, const bool *is_pct, const money_dec *vals,
                      size_t n, const char *what, money_dec *out)
{
    char b1[MONEY_FMT_MAX], b2[MONEY_FMT_MAX];
    money_dec parts[SCHED_MAX_PARTS], w[SCHED_MAX_PARTS], fixed, pct, rest;
    size_t npct = 0;
    if (n == 0 || n > SCHED_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL, "%s: %zu parts (1 to %d allowed)", what, n,
                         SCHED_MAX_PARTS);
    int rc = sum_fixed(x, is_pct, vals, n, what, parts, &fixed, &pct);
    if (rc)
        return rc;
    if (money_cmp(fixed, total) > 0)
        return sched_err(x, CPQD_EINVAL, "%s: fixed amounts add up to %s, over the total %s", what,
                         fmt_money(fixed, b1), fmt_money(total, b2));
    if ((rc = money_sub(total, fixed, &rest)))
        return sched_err(x, rc, "%s: amounts overflow", what);
    for (size_t i = 0; i < n; i++)
        if (is_pct[i])
            w[npct++] = vals[i];
    if (npct == 0 && !money_is_zero(rest))
        return sched_err(x, CPQD_EINVAL, "%s: fixed amounts add up to %s, not the total %s", what,
                         fmt_money(fixed, b1), fmt_money(total, b2));
    if (npct && money_cmp(pct, money_from_int(100)) != 0)
        return sched_err(x, CPQD_EINVAL, "%s: percents add up to %s, not 100", what,
                         fmt_money(pct, b1));
    money_dec shares[SCHED_MAX_PARTS];
    if (npct && (rc = money_allocate(rest, w, npct, x->minor, shares)))
        return sched_err(x, rc, "%s: cannot split %s", what, fmt_money(rest, b1));
    for (size_t i = 0, k = 0; i < n; i++)
        out[i] = is_pct[i] ? shares[k++] : parts[i];
    return 0;
}

/* ---- due rules ---- */

/* Fills the dates of it for an installment due `days` after an event on
 * base (SCHED_NO_DATE: pending on wait, estimated from est). */
static void due_after(sched_item *it, date_days base, sched_wait wait, date_days est, int days)
{
    if (base != SCHED_NO_DATE) {
        it->waits_for = SCHED_WAIT_NONE;
        it->bill_on = base;
        it->due_on = base + days;
        return;
    }
    it->waits_for = wait;
    it->expected_on = est != SCHED_NO_DATE ? est + days : SCHED_NO_DATE;
}

static int due_apply(const sctx *x, const cat_installment *in, const sev *ev, sched_item *it)
{
    switch (in->due) {
    case CAT_DUE_SIGNING:
        due_after(it, ev->signing, SCHED_WAIT_NONE, SCHED_NO_DATE, in->days);
        return 0;
    case CAT_DUE_DELIVERY:
        due_after(it, ev->delivery, ev->delivery_wait, ev->exp_delivery, in->days);
        return 0;
    case CAT_DUE_ACCEPTANCE:
        due_after(it, ev->acceptance, ev->acceptance_wait, ev->exp_acceptance, in->days);
        return 0;
    case CAT_DUE_END_OF_MONTH: {
        date_days inv = ev->invoice, est = ev->exp_invoice;
        due_after(it, inv == SCHED_NO_DATE ? inv : sched_month_end(inv), ev->invoice_wait,
                  est == SCHED_NO_DATE ? est : sched_month_end(est), in->days);
        if (inv != SCHED_NO_DATE)
            it->bill_on = inv;
        return 0;
    }
    case CAT_DUE_DATE:
        if (ev->recurring)
            return sched_err(x, CPQD_EINVAL,
                             "a fixed-date installment cannot apply to recurring periods");
        it->waits_for = SCHED_WAIT_NONE;
        it->bill_on = ev->signing < in->date ? ev->signing : in->date;
        it->due_on = in->date;
        return 0;
    }
    return sched_err(x, CPQD_EINVAL, "unknown due rule %d", (int)in->due);
}

static void rule_text(const cat_installment *in, char *buf, size_t cap)
{
    char d[DATE_FMT_LEN];
    const char *ev = in->due == CAT_DUE_SIGNING    ? "signing"
                     : in->due == CAT_DUE_DELIVERY ? "delivery"
                                                   : "acceptance";
    if (in->due == CAT_DUE_END_OF_MONTH)
        snprintf(buf, cap, "end of month + %d days", in->days);
    else if (in->due == CAT_DUE_DATE) {
        date_format(in->date, d);
        snprintf(buf, cap, "on %s", d);
    } else if (in->days)
        snprintf(buf, cap, "%d days after %s", in->days, ev);
    else
        snprintf(buf, cap, "on %s", ev);
}

/* The equal parts of one installment: its count and step (the loader
 * checks the same bounds; a term built by hand gets the same answer). */
static int check_parts(const sctx *x, const char *id, size_t i, const cat_installment *in)
{
    if (in->parts == 0)
        return 0;
    bool by_days = in->every_days > 0, by_months = in->every_months > 0;
    if (in->parts < 2 || in->parts > CAT_TERM_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL,
                         "payment term '%s' installment %zu: parts %u out of "
                         "range 2..%d",
                         id, i + 1, in->parts, CAT_TERM_MAX_PARTS);
    if (by_days == by_months || in->every_days < 0 || in->every_months < 0 ||
        in->every_days > CAT_TERM_MAX_EVERY_DAYS || in->every_months > CAT_TERM_MAX_EVERY_MONTHS)
        return sched_err(x, CPQD_EINVAL,
                         "payment term '%s' installment %zu: parts need a step "
                         "of 1..%d days or 1..%d months",
                         id, i + 1, CAT_TERM_MAX_EVERY_DAYS, CAT_TERM_MAX_EVERY_MONTHS);
    return 0;
}

static int check_installments(const sctx *x, const cat_term *t, const cat_installment *ins,
                              size_t n)
{
    const char *id = t && t->id ? t->id : "(default)";
    size_t items = 0;
    if (n == 0 || !ins)
        return sched_err(x, CPQD_EINVAL, "payment term '%s' has no installments", id);
    for (size_t i = 0; i < n; i++) {
        int rc = check_parts(x, id, i, &ins[i]);
        if (rc)
            return rc;
        if (ins[i].days < 0 || ins[i].days > CAT_TERM_MAX_DAYS)
            return sched_err(x, CPQD_EINVAL,
                             "payment term '%s' installment %zu: days %d out of "
                             "range 0..%d",
                             id, i + 1, ins[i].days, CAT_TERM_MAX_DAYS);
        items += ins[i].parts ? ins[i].parts : 1;
    }
    if (items > CAT_TERM_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL,
                         "payment term '%s': %zu installments counting each part "
                         "(at most %d)",
                         id, items, CAT_TERM_MAX_PARTS);
    return 0;
}

/* Splits amount over the installments (a credit as its absolute value,
 * every part negated, so credits mirror charges). An amount not yet known
 * still checks the term: its parts are then all zero. */
static int term_split(const sctx *x, const cat_installment *ins, size_t n, money_dec amount,
                      bool known, const char *what, money_dec *parts)
{
    bool is_pct[SCHED_MAX_PARTS];
    money_dec vals[SCHED_MAX_PARTS], fixed = {0, x->minor};
    if (n > SCHED_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL, "%s: %zu installments (at most %d)", what, n,
                         SCHED_MAX_PARTS);
    for (size_t i = 0; i < n; i++) {
        is_pct[i] = ins[i].is_percent;
        vals[i] = is_pct[i] ? ins[i].percent : ins[i].amount;
        if (!is_pct[i] && money_is_valid(vals[i]) && money_sign(vals[i]) > 0 &&
            money_add(fixed, vals[i], &fixed))
            return sched_err(x, CPQD_ERANGE, "%s: amounts overflow", what);
    }
    bool neg = money_sign(amount) < 0;
    money_dec base = known ? (neg ? money_neg(amount) : amount) : fixed;
    int rc = sched_split_mixed(x, base, is_pct, vals, n, what, parts);
    for (size_t i = 0; !rc && i < n; i++)
        parts[i] = !known ? (money_dec){0, x->minor} : neg ? money_neg(parts[i]) : parts[i];
    return rc;
}

/* d moved k steps of in's `every`: k x every_days days, or k x
 * every_months months anchored on d's day and clamped to the month's last
 * day (Jan 31 + 1 month is Feb 28, + 2 months Mar 31: never drifting). */
static date_days part_shift(const cat_installment *in, date_days d, unsigned k)
{
    int y, m, dd;
    if (d == SCHED_NO_DATE || k == 0)
        return d;
    if (in->every_days > 0)
        return d + (date_days)k * in->every_days;
    date_to_ymd(d, &y, &m, &dd);
    return sched_anchor_add(y, m, dd, (int)k * in->every_months);
}

/* The events of part k of in: every known or estimated date k steps later,
 * so each part's due rule (days after, end of month) applies to its own
 * shifted event. */
static sev part_events(const cat_installment *in, const sev *ev, unsigned k)
{
    sev e = *ev;
    date_days *d[] = {&e.signing,      &e.delivery,       &e.acceptance, &e.invoice,
                      &e.exp_delivery, &e.exp_acceptance, &e.exp_invoice};
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        *d[i] = part_shift(in, *d[i], k);
    return e;
}

/* The description of part k of n of in: "30% on signing", "part 2/3 of
 * 100% every 1 month, on signing" (the part's own dates show the step). */
static void part_desc(sched_item *it, const char *label, const cat_installment *in, unsigned k,
                      unsigned n)
{
    char rule[64], b[MONEY_FMT_MAX], part[32] = "", every[32] = "";
    const char *pct = in->is_percent ? "%" : "";
    int step = in->every_days > 0 ? in->every_days : in->every_months;
    rule_text(in, rule, sizeof(rule));
    fmt_money(in->is_percent ? in->percent : in->amount, b);
    if (n > 1) {
        snprintf(part, sizeof(part), "part %u/%u of ", k + 1, n);
        snprintf(every, sizeof(every), " every %d %s%s,", step,
                 in->every_days > 0 ? "day" : "month", step == 1 ? "" : "s");
    }
    sched_desc(it, "%s%s%s%s%s %s", label, part, b, pct, every, rule);
}

/* Appends the items of installment in for its share `amount`: one item, or
 * in->parts equal parts (money_split: the residue to the first part), each
 * due by in's rule from its own shifted events. *part numbers the items of
 * the term (the item key's `part`). */
static int installment_items(const sctx *x, const cat_installment *in, money_dec amount,
                             const sev *ev, const sched_item *tmpl, const char *label,
                             unsigned *part, sched_list *out)
{
    money_dec sub[SCHED_MAX_PARTS];
    unsigned n = in->parts ? in->parts : 1;
    int rc = n > 1 ? money_split(amount, n, x->minor, sub) : 0;
    if (rc)
        return sched_err(x, rc, "%scannot split an installment in %u parts", label, n);
    if (n == 1)
        sub[0] = amount;
    for (unsigned k = 0; k < n; k++) {
        sched_item it = *tmpl;
        cat_installment one = *in;
        sev e = part_events(in, ev, k);
        one.date = part_shift(in, in->date, k);
        it.part = (*part)++;
        it.amount = sub[k];
        if ((rc = due_apply(x, &one, &e, &it)))
            return rc;
        part_desc(&it, label, in, k, n);
        if ((rc = sched_list_push(out, &it)))
            return rc;
    }
    return 0;
}

int sched_term_apply(const sctx *x, const cat_term *t, cat_due default_due, money_dec amount,
                     const sev *ev, const sched_item *tmpl, const char *label, sched_list *out)
{
    const cat_installment dflt = {.is_percent = true, .percent = {100, 0}, .due = default_due};
    const cat_installment *ins = t ? t->installments : &dflt;
    size_t n = t ? t->ninstallments : 1;
    money_dec parts[SCHED_MAX_PARTS];
    char what[120];
    unsigned part = 0;
    snprintf(what, sizeof(what), "payment term '%s'", t && t->id ? t->id : "(default)");
    int rc = check_installments(x, t, ins, n);
    if (rc || (rc = term_split(x, ins, n, amount, tmpl->amount_known, what, parts)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = installment_items(x, &ins[i], parts[i], ev, tmpl, label, &part, out);
    return rc;
}

/* ---- goods ---- */

static date_days add_days(date_days d, int days)
{
    return d == SCHED_NO_DATE || days < 0 ? SCHED_NO_DATE : d + days;
}

static int check_event(const sctx *x, date_days d, const char *what)
{
    if (d != SCHED_NO_DATE && d < x->c->signed_on)
        return sched_err(x, CPQD_EINVAL, "%s is before signed_on", what);
    return 0;
}

/* The events of the goods part: signing, delivery, acceptance; the
 * end-of-month rule counts from signing (docs/catalog.md). */
static sev goods_events(const sctx *x)
{
    const sched_line *l = x->l;
    sev ev = {.signing = x->c->signed_on,
              .delivery = l->delivered_on,
              .acceptance = l->accepted_on,
              .delivery_wait = SCHED_WAIT_DELIVERY,
              .acceptance_wait = SCHED_WAIT_ACCEPTANCE,
              .invoice = x->c->signed_on,
              .exp_invoice = SCHED_NO_DATE};
    ev.exp_delivery = add_days(ev.signing, l->lead_time_days);
    date_days deliv = l->delivered_on != SCHED_NO_DATE ? l->delivered_on : ev.exp_delivery;
    ev.exp_acceptance = add_days(deliv, l->acceptance_days);
    return ev;
}

static int line_total(const sctx *x, money_dec *out)
{
    int rc = sched_to_minor(x, x->l->total, "line total", out);
    if (rc)
        return rc;
    if (money_sign(*out) < 0)
        return sched_err(x, CPQD_EINVAL, "line total is negative");
    return 0;
}

static int build_goods(const sctx *x, sched_list *out)
{
    money_dec total;
    int rc = line_total(x, &total);
    if (rc || (rc = check_event(x, x->l->delivered_on, "delivered_on")) ||
        (rc = check_event(x, x->l->accepted_on, "accepted_on")))
        return rc;
    sev ev = goods_events(x);
    sched_item tmpl = sched_item_blank(x, SCHED_KIND_INSTALLMENT, 0);
    return sched_term_apply(x, x->l->term, CAT_DUE_DELIVERY, total, &ev, &tmpl, "", out);
}

/* ---- goods_with_service ---- */

/* Splits the line total between the goods and each service in proportion
 * to their standalone selling prices (weights), largest remainder. */
static int gws_split(const sctx *x, money_dec total, money_dec *parts)
{
    const sched_line *l = x->l;
    money_dec w[SCHED_MAX_PARTS];
    size_t n = l->nservices + 1;
    char b[MONEY_FMT_MAX];
    if (l->nservices && !l->services)
        return sched_err(x, CPQD_EINVAL, "services missing");
    if (n > SCHED_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL, "%zu services (at most %d)", l->nservices,
                         SCHED_MAX_PARTS - 1);
    w[0] = l->nservices ? l->goods_weight : money_from_int(1);
    for (size_t i = 0; i < l->nservices; i++)
        w[i + 1] = l->services[i].weight;
    for (size_t i = 0; i < n; i++)
        if (!money_is_valid(w[i]) || money_sign(w[i]) < 0)
            return sched_err(x, CPQD_EINVAL, "%s weight %s is negative or invalid",
                             i ? l->services[i - 1].sku : "goods", fmt_money(w[i], b));
    int rc = money_allocate(total, w, n, x->minor, parts);
    if (rc == CPQD_EINVAL)
        return sched_err(x, rc, "goods and service weights are all zero");
    return rc ? sched_err(x, rc, "cannot split the line total") : 0;
}

static int build_service(const sctx *x, size_t i, money_dec amount, sched_list *out)
{
    const sched_service *sv = &x->l->services[i];
    if (sv->period != CAT_PERIOD_NONE)
        return sched_build_spread(x, sv, (unsigned)i, amount, out);
    sev ev = goods_events(x);
    /* a service is invoiced when accepted: every rule counts from there */
    ev.delivery = ev.invoice = ev.acceptance;
    ev.delivery_wait = ev.invoice_wait = SCHED_WAIT_ACCEPTANCE;
    ev.exp_delivery = ev.exp_invoice = ev.exp_acceptance;
    sched_item tmpl = sched_item_blank(x, SCHED_KIND_SERVICE, 0);
    tmpl.service = (unsigned)i;
    tmpl.ref = sv->sku;
    char label[64];
    snprintf(label, sizeof(label), "service %.40s: ", sv->sku ? sv->sku : "?");
    return sched_term_apply(x, sv->term, CAT_DUE_ACCEPTANCE, amount, &ev, &tmpl, label, out);
}

static int build_gws(const sctx *x, sched_list *out)
{
    money_dec total, parts[SCHED_MAX_PARTS];
    int rc = line_total(x, &total);
    if (rc || (rc = check_event(x, x->l->delivered_on, "delivered_on")) ||
        (rc = check_event(x, x->l->accepted_on, "accepted_on")) || (rc = gws_split(x, total, parts)))
        return rc;
    sev ev = goods_events(x);
    sched_item tmpl = sched_item_blank(x, SCHED_KIND_INSTALLMENT, 0);
    const char *label = x->l->nservices ? "goods: " : "";
    if ((rc = sched_term_apply(x, x->l->term, CAT_DUE_DELIVERY, parts[0], &ev, &tmpl, label, out)))
        return rc;
    for (size_t i = 0; i < x->l->nservices; i++)
        if ((rc = build_service(x, i, parts[i + 1], out)))
            return rc;
    return 0;
}

/* ---- milestones ---- */

/* Fixed amounts that all fall short of the total are the catalog's net list
 * values: scaled to the total in proportion (largest remainder). */
static int milestone_amounts(const sctx *x, money_dec total, money_dec *out)
{
    const sched_line *l = x->l;
    bool is_pct[SCHED_MAX_PARTS];
    money_dec vals[SCHED_MAX_PARTS], sum = money_from_int(0);
    size_t n = l->nmilestones;
    bool all_fixed = true;
    if (n == 0 || !l->milestones)
        return sched_err(x, CPQD_EINVAL, "a milestone line needs milestones");
    if (n > SCHED_MAX_PARTS)
        return sched_err(x, CPQD_EINVAL, "%zu milestones (at most %d)", n, SCHED_MAX_PARTS);
    for (size_t i = 0; i < n; i++) {
        is_pct[i] = l->milestones[i].is_percent;
        vals[i] = is_pct[i] ? l->milestones[i].percent : l->milestones[i].amount;
        all_fixed = all_fixed && !is_pct[i];
        if (!is_pct[i] && money_is_valid(vals[i]) && money_sign(vals[i]) > 0 &&
            money_add(sum, vals[i], &sum))
            return sched_err(x, CPQD_ERANGE, "milestone amounts overflow");
    }
    if (all_fixed && money_sign(sum) > 0 && money_cmp(sum, total) < 0) {
        int rc = money_allocate(total, vals, n, x->minor, out);
        if (rc)
            return sched_err(x, rc == CPQD_ERANGE ? rc : CPQD_EINVAL,
                             "milestone amounts are negative or invalid");
        return 0;
    }
    return sched_split_mixed(x, total, is_pct, vals, n, "milestones", out);
}

static int build_milestone(const sctx *x, sched_list *out)
{
    const sched_line *l = x->l;
    money_dec total, parts[SCHED_MAX_PARTS];
    int rc = line_total(x, &total);
    if (rc || (rc = milestone_amounts(x, total, parts)))
        return rc;
    for (size_t i = 0; i < l->nmilestones; i++) {
        const cat_milestone *m = &l->milestones[i];
        date_days acc = l->milestone_accepted ? l->milestone_accepted[i] : SCHED_NO_DATE;
        if ((rc = check_event(x, acc, "a milestone acceptance")))
            return rc;
        /* the milestone is the delivery: every event rule counts from its acceptance */
        sev ev = {.signing = x->c->signed_on, .delivery = acc, .acceptance = acc, .invoice = acc,
                  .delivery_wait = SCHED_WAIT_MILESTONE, .acceptance_wait = SCHED_WAIT_MILESTONE,
                  .invoice_wait = SCHED_WAIT_MILESTONE, .exp_delivery = SCHED_NO_DATE,
                  .exp_acceptance = SCHED_NO_DATE, .exp_invoice = SCHED_NO_DATE};
        sched_item tmpl = sched_item_blank(x, SCHED_KIND_MILESTONE, (unsigned)i);
        tmpl.ref = m->id;
        char label[64];
        snprintf(label, sizeof(label), "milestone %.40s: ", m->id ? m->id : "?");
        if ((rc = sched_term_apply(x, l->term, CAT_DUE_ACCEPTANCE, parts[i], &ev, &tmpl, label,
                                   out)))
            return rc;
    }
    return 0;
}

/* ---- lines and contracts ---- */

static int build_line(const sctx *x, sched_list *out)
{
    switch (x->l->mode) {
    case CAT_MODE_GOODS:
        return build_goods(x, out);
    case CAT_MODE_GOODS_WITH_SERVICE:
        return build_gws(x, out);
    case CAT_MODE_SUBSCRIPTION:
        return sched_build_subscription(x, 0, x->l->total, out);
    case CAT_MODE_USAGE: {
        int pm = sched_period_months(x->l->period), tm = x->l->term_months;
        unsigned count = tm > 0 && pm > 0 ? (unsigned)(tm / pm) : 1;
        return sched_build_usage(x, 0, count, NULL, out);
    }
    case CAT_MODE_MILESTONE:
        return build_milestone(x, out);
    }
    return sched_err(x, CPQD_EINVAL, "unknown delivery mode %d", (int)x->l->mode);
}

static int sum_items(const sctx *x, const sched_list *l, money_dec *out)
{
    money_dec s = {0, x->minor};
    for (size_t i = 0; i < l->n; i++) {
        int rc = money_add(s, l->items[i].amount, &s);
        if (rc)
            return sched_err(x, rc, "the line's items overflow");
    }
    *out = s;
    return 0;
}

int sched_line_build(const sched_contract *c, size_t line, sched_list *out, money_dec *line_tot,
                     cpqd_errs *errs)
{
    sctx x;
    sched_list tmp = {0};
    money_dec sum;
    int rc = sched_ctx_init(&x, c, line, errs);
    if (rc || (rc = build_line(&x, &tmp)) || (rc = sum_items(&x, &tmp, &sum)) ||
        (rc = sched_list_take(out, &tmp)))
        goto out;
    if (line_tot)
        *line_tot = sum;
out:
    sched_list_fini(&tmp);
    return rc;
}

void sched_schedule_fini(sched_schedule *s)
{
    if (!s)
        return;
    sched_list_fini(&s->items);
    free(s->line_totals);
    *s = (sched_schedule){0};
}

int sched_contract_build(const sched_contract *c, sched_schedule *out, cpqd_errs *errs)
{
    sched_schedule s = {0};
    sctx x;
    int rc = ctx_contract(&x, c, errs), first = 0;
    *out = (sched_schedule){0};
    if (rc)
        return rc;
    s.nlines = c->nlines;
    s.total = (money_dec){0, x.minor};
    if (c->nlines && !(s.line_totals = calloc(c->nlines, sizeof(money_dec))))
        return CPQD_ENOMEM;
    /* every line is checked, so one call reports every problem */
    for (size_t i = 0; i < c->nlines; i++) {
        rc = sched_line_build(c, i, &s.items, &s.line_totals[i], errs);
        if (rc && !first)
            first = rc;
        if (rc == CPQD_ENOMEM)
            break;
        if (!rc && !first && (rc = money_add(s.total, s.line_totals[i], &s.total)))
            first = sched_err(&x, rc, "the contract total overflows");
    }
    if (first) {
        sched_schedule_fini(&s);
        return first;
    }
    *out = s;
    return 0;
}
