/*
 * sched internals shared by sched.c (contracts, terms, goods, milestones),
 * sched_period.c (billing periods: subscription, usage, renewal, seat
 * changes) and sched_status.c (usage pricing, classification, names,
 * catalog helpers). Not for other modules.
 */
#ifndef CPQD_SCHED_INT_H
#define CPQD_SCHED_INT_H

#include "cpqd/sched.h"

/* The context of one line being scheduled. */
typedef struct sctx {
    const sched_contract *c;
    const sched_line *l;
    size_t line;
    int minor;        /* the currency's minor places */
    cpqd_errs *errs;  /* may be NULL */
} sctx;

/* The dates an installment's due rule reads (docs/receivables.md "Due
 * rules"). SCHED_NO_DATE: the event is pending. */
typedef struct sev {
    date_days signing;
    date_days delivery, acceptance;
    sched_wait delivery_wait, acceptance_wait; /* what each pending event waits for */
    date_days invoice;      /* base of end_of_month rules */
    sched_wait invoice_wait;
    date_days exp_delivery, exp_acceptance, exp_invoice; /* estimates, or SCHED_NO_DATE */
    bool recurring;         /* periodic item: fixed-date installments refused */
} sev;

/* Appends "line <id>: <message>" to x->errs and returns code. */
int sched_err(const sctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets up x for line i of c (currency checked). */
int sched_ctx_init(sctx *x, const sched_contract *c, size_t i, cpqd_errs *errs);

int sched_list_push(sched_list *l, const sched_item *it);
/* Moves every item of src to the end of dst (all or nothing). */
int sched_list_take(sched_list *dst, sched_list *src);

/* A blank item of x's line (kind, seq; dates unknown, amount 0). */
sched_item sched_item_blank(const sctx *x, sched_kind kind, unsigned seq);
/* snprintf into it->desc, never cutting a UTF-8 sequence in half. */
void sched_desc(sched_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* amount rescaled exactly to the currency's places; CPQD_EINVAL (with
 * what in the message) if it has more non-zero places or is invalid. */
int sched_to_minor(const sctx *x, money_dec v, const char *what, money_dec *out);

/* Splits total over installments/milestones given as percents or fixed
 * amounts (docs/receivables.md "Splitting"). what names the list in
 * messages. */
int sched_split_mixed(const sctx *x, money_dec total, const bool *is_pct, const money_dec *vals,
                      size_t n, const char *what, money_dec *out);

/* Appends the items of amount under term t (NULL: 100% on default_due,
 * no days) with dates from ev, each a copy of tmpl with its part, amount,
 * dates and description. label prefixes descriptions ("period ..."). */
int sched_term_apply(const sctx *x, const cat_term *t, cat_due default_due, money_dec amount,
                     const sev *ev, const sched_item *tmpl, const char *label, sched_list *out);

/* Months per billing period (1, 3, 12), 0 for CAT_PERIOD_NONE. */
int sched_period_months(cat_period p);
/* The date `months` after the anchor series start (y, m) on anchor_day,
 * clamped to the month's last day (Jan 31 -> Feb 29 -> Mar 31). */
date_days sched_anchor_add(int y, int m, int anchor_day, int months);
/* Last day of d's month. */
date_days sched_month_end(date_days d);
/* v * num / den rounded to the currency with mode, negatives mirrored. */
int sched_prorate(const sctx *x, money_dec v, int64_t num, int64_t den, money_dec *out);

/* Builds the periodic lines (sched_period.c). */
int sched_build_subscription(const sctx *x, unsigned term_no, money_dec period_amount,
                             sched_list *out);
/* Usage periods first..first+count-1; amount: the closed amount of each
 * (NULL: not known yet). */
int sched_build_usage(const sctx *x, unsigned first, unsigned count, const money_dec *amount,
                      sched_list *out);
/* Spreads amount over the service's periods from start_on. */
int sched_build_spread(const sctx *x, const sched_service *sv, unsigned seq, money_dec amount,
                       sched_list *out);

#endif
