/*
 * revrec: revenue recognition of a contract (IFRS 15 / ASC 606 in the
 * small; docs/finance.md "Revenue recognition").
 *
 * Owns: the performance obligations of a contract line by delivery mode
 * (goods at delivery; each bundled service at its acceptance or over its
 * period by day; subscriptions over their terms by day; usage as billed;
 * each milestone at its acceptance), the allocation of a bundle's price
 * (net of tax) across its obligations by their standalone selling prices
 * (largest remainder, exact: money_allocate), and the revenue recognised
 * and deferred as of any date, per obligation and in total, and between
 * two dates (what a revenue voucher posts).
 * Does not own: where dates, prices and bills come from (contract, store),
 * vouchers (voucher), JSON.
 *
 * Key invariants: the allocations of a group add up to its price to the
 * last minor unit; recognised + deferred = allocated for every obligation
 * on every date; recognised revenue never decreases as the date advances
 * (for a positive allocation) and reaches the allocation on the last day
 * of the period; revenue between two dates is the difference of what is
 * recognised on them, so consecutive periods add up exactly.
 *
 * Day convention: "as of D" counts day D as performed. A service over
 * [from, to) (to exclusive, as a billing period) recognises
 * allocated x (D - from + 1) / (to - from) on day D, rounded to the
 * currency with the plan's rounding mode; all of it from day to - 1.
 *
 * Ownership: a plan borrows its obligations' strings and bills from the
 * input and owns its arrays (revrec_plan_fini). Values; no globals.
 * Errors: CPQD_EINVAL with one message per problem in errs (may be
 * NULL); CPQD_ERANGE on overflow; CPQD_ENOMEM.
 */
#ifndef CPQD_REVREC_H
#define CPQD_REVREC_H

#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/sched.h"

#include <stdbool.h>
#include <stddef.h>

/* An unknown date (an event that has not happened yet). */
#define REVREC_NO_DATE SCHED_NO_DATE

typedef enum revrec_pattern {
    REVREC_AT_EVENT,  /* all on one date: goods delivered, a service or milestone accepted */
    REVREC_OVER_TIME, /* by day over [from, to): subscriptions, spread services */
    REVREC_AS_BILLED, /* each billed amount on its bill date: usage */
} revrec_pattern;

/* A billed amount of an as-billed obligation (net of tax). */
typedef struct revrec_bill {
    date_days on;
    money_dec amount;
} revrec_bill;

typedef struct revrec_obligation_in {
    const char *line_id;  /* the contract line */
    const char *ref;      /* service SKU or milestone id; NULL: the line itself */
    const char *category; /* revenue category (account in vouchers) */
    unsigned group;       /* the bundle it belongs to (revrec_group.id) */
    money_dec ssp;        /* standalone selling price: the allocation weight, >= 0 */
    revrec_pattern pattern;
    date_days on;             /* AT_EVENT: the event, REVREC_NO_DATE while pending */
    date_days from, to;       /* OVER_TIME: [from, to), REVREC_NO_DATE from while not started */
    const revrec_bill *bills; /* AS_BILLED, in any order */
    size_t nbills;
} revrec_obligation_in;

/* A bundle: obligations that share one price, net of tax. A contract line
 * is its own bundle unless a promotion bundled it with others. */
typedef struct revrec_group {
    unsigned id;
    money_dec price; /* >= 0, at most the currency's places */
} revrec_group;

typedef struct revrec_contract {
    const char *currency;
    money_round rounding; /* of prorations by day */
    const revrec_group *groups;
    size_t ngroups;
    const revrec_obligation_in *obligations;
    size_t n;
} revrec_contract;

typedef struct revrec_obligation {
    const revrec_obligation_in *in; /* borrowed */
    money_dec allocated;            /* its share of its group's price; AS_BILLED: its bills */
} revrec_obligation;

typedef struct revrec_plan {
    revrec_obligation *ob;
    size_t n;
    char currency[4];
    int minor;
    money_round rounding;
    money_dec total; /* sum of the allocations */
} revrec_plan;

/* Allocates every group's price across its AT_EVENT and OVER_TIME
 * obligations by SSP (largest remainder, ties to the earliest
 * obligation; equal shares when every SSP of the group is 0);
 * AS_BILLED obligations take no share and are allocated what they bill.
 * A group without a fixed obligation must have price 0. All problems
 * reported. Free *out with revrec_plan_fini. */
int revrec_plan_build(const revrec_contract *c, revrec_plan *out, cpqd_errs *errs);
void revrec_plan_fini(revrec_plan *p);

/* Revenue of obligation i recognised as of date d (see the day
 * convention above). */
int revrec_recognised(const revrec_plan *p, size_t i, date_days d, money_dec *out);

typedef struct revrec_position {
    money_dec recognised; /* up to and including as_of */
    money_dec deferred;   /* allocated, not recognised yet */
} revrec_position;

/* Every obligation's position as of as_of into per[0..p->n) (may be NULL)
 * and their sum into *total. */
int revrec_as_of(const revrec_plan *p, date_days as_of, revrec_position *per,
                 revrec_position *total);

/* Revenue recognised after `after` up to and including `upto` (after <
 * upto) per obligation into out[0..p->n): recognised(upto) -
 * recognised(after). What a revenue voucher for that period posts. */
int revrec_between(const revrec_plan *p, date_days after, date_days upto, money_dec *out);

/* The obligations of one contract line by its mode (the sched line as the
 * contract built it, with its event dates): goods: one AT_EVENT on
 * delivered_on; goods_with_service: the goods (SSP goods_weight) on
 * delivered_on and each service (its weight) on accepted_on, or OVER_TIME
 * over its term from start_on when it is spread; subscription: OVER_TIME
 * over term_months from start_on; usage: AS_BILLED (bills left for the
 * caller); milestone: one AT_EVENT per milestone on its acceptance (SSP
 * its percent or amount). Every obligation gets line_id, category and
 * group; SSPs of a single-obligation line are its net. Writes at most cap
 * obligations; *n gets the count. CPQD_EINVAL if cap is too small or the
 * line's mode is unknown. */
int revrec_line_obligations(const sched_line *l, const char *line_id, const char *category,
                            unsigned group, money_dec net, revrec_obligation_in *out, size_t cap,
                            size_t *n);

/* "at_event", "over_time", "as_billed"; NULL outside the enum. */
const char *revrec_pattern_name(revrec_pattern p);

#endif
