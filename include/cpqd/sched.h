/*
 * sched: receivable schedules of a contract, per delivery mode
 * (docs/receivables.md). Pure computation: no I/O, no store, no JSON, no
 * clock (every "today" is a parameter).
 *
 * Owns: turning a contract's lines (mode, line amount, payment term, event
 * dates) into receivable items that add up exactly; recomputing a line
 * when an event date becomes known; renewal terms; mid-term seat changes;
 * pricing a closed usage period through tiers and a minimum commitment;
 * classifying an item (scheduled / due / partially_paid / paid / overdue)
 * with its aging as of a date.
 * Does not own: where the dates and payments come from (store, http), the
 * line totals (price, quote), events to the CRM (outbox).
 *
 * Key invariant: for every line whose amount is fixed at signing (goods,
 * goods_with_service, milestone) the line's items add up to its total to
 * the last minor unit; a subscription line's items add up to the value the
 * schedule reports for it (sched_schedule.line_totals); every amount has
 * exactly the currency's minor places. (line, kind, seq, part) names an
 * item stably: recomputing a line after an event changes due dates only,
 * never amounts or keys
 * (the key of an item is (line, kind, service, seq, part)).
 *
 * Ownership: inputs are borrowed and never kept; items point into the
 * inputs only through `ref` (a milestone id or service SKU, valid as long
 * as the caller's catalog snapshot / input). A sched_list owns its items
 * array; sched_list_fini frees it. Functions that fill a list append to it
 * only on success: on any failure the list is exactly as it was.
 * Thread-safety: values; no globals; safe from any thread.
 *
 * Errors: CPQD_EINVAL for bad input, with one message per problem appended
 * to errs (may be NULL) naming the line ("line L2: ..."); CPQD_ERANGE when
 * an amount overflows; CPQD_ENOMEM when an allocation fails.
 */
#ifndef CPQD_SCHED_H
#define CPQD_SCHED_H

#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>

/* An unknown date (an event that has not happened, a field not given). */
#define SCHED_NO_DATE ((date_days)INT32_MIN)
/* Size of sched_item.desc, NUL included. */
#define SCHED_DESC_MAX 96
/* Longest term or service spread accepted, in months (100 years). */
#define SCHED_MAX_MONTHS 1200

typedef enum sched_kind {
    SCHED_KIND_INSTALLMENT,    /* goods (and the goods part): one installment of the term */
    SCHED_KIND_SERVICE,        /* goods_with_service: a service part on acceptance */
    SCHED_KIND_SERVICE_PERIOD, /* goods_with_service: a service part spread per period */
    SCHED_KIND_PERIOD,         /* subscription: one billing period */
    SCHED_KIND_USAGE,          /* usage: one period in arrears */
    SCHED_KIND_MILESTONE,      /* milestone: one milestone */
    SCHED_KIND_CREDIT,         /* seat change: unused rest of the period, negative */
    SCHED_KIND_CHARGE,         /* seat change: the new quantity for the rest of the period */
} sched_kind;

/* What a pending item's due date waits for. */
typedef enum sched_wait {
    SCHED_WAIT_NONE,       /* due_on is set */
    SCHED_WAIT_DELIVERY,   /* the line's delivery date */
    SCHED_WAIT_ACCEPTANCE, /* the line's (service) acceptance date */
    SCHED_WAIT_MILESTONE,  /* this milestone's acceptance date */
} sched_wait;

typedef enum sched_status {
    SCHED_ST_SCHEDULED,      /* not payable yet (event pending or before its bill date) */
    SCHED_ST_DUE,            /* payable, not late, nothing paid */
    SCHED_ST_PARTIALLY_PAID, /* part paid, not late */
    SCHED_ST_PAID,           /* nothing left to collect */
    SCHED_ST_OVERDUE,        /* past due_on with something outstanding */
} sched_status;

/* How much of an item is paid, beside its status: an overdue item can be
 * partly paid (docs/receivables.md "Status and aging"). */
typedef enum sched_pay_status {
    SCHED_PAY_UNPAID,         /* nothing paid, something outstanding (or the amount not known) */
    SCHED_PAY_PARTIALLY_PAID, /* something paid, something outstanding */
    SCHED_PAY_PAID,           /* nothing outstanding (credits and zero items too) */
} sched_pay_status;

typedef enum sched_aging {
    SCHED_AGING_NONE,  /* not overdue */
    SCHED_AGING_1_30,  /* 1-30 days overdue */
    SCHED_AGING_31_60,
    SCHED_AGING_61_90,
    SCHED_AGING_90_PLUS, /* 91 days and more */
} sched_aging;

/* One receivable. A plain value (ref is borrowed, see above). */
typedef struct sched_item {
    size_t line;           /* index into sched_contract.lines */
    sched_kind kind;
    unsigned service;      /* goods_with_service: service number (0-based), else 0 */
    unsigned seq;          /* period or milestone number within the line (0-based) */
    unsigned part;         /* installment number within the payment term (0-based) */
    const char *ref;       /* milestone id or service SKU (borrowed), else NULL */
    sched_wait waits_for;  /* SCHED_WAIT_NONE once due_on is known */
    date_days due_on;      /* SCHED_NO_DATE while pending */
    date_days bill_on;     /* payable from (the event or invoice date); SCHED_NO_DATE while pending */
    date_days expected_on; /* pending only: estimated due date from lead/acceptance days, else SCHED_NO_DATE */
    bool has_period;
    date_days period_from, period_to; /* billing period [from, to): to is exclusive */
    bool amount_known;     /* false for usage periods not yet closed (amount is then 0) */
    money_dec amount;      /* at the currency's minor places; negative for a credit */
    char desc[SCHED_DESC_MAX]; /* ASCII, e.g. "30% on signing", "period 2028-01-31..2028-02-28" */
} sched_item;

/* A growable list of items; zero-initialise ({0}) before first use. */
typedef struct sched_list {
    sched_item *items;
    size_t n, cap;
} sched_list;

/* Frees l's array and resets it to empty; NULL is a no-op. */
void sched_list_fini(sched_list *l);
/* Sorts by due_on (pending items last, by expected_on), then line, kind,
 * seq, part: the order GET .../receivables lists them in. */
void sched_list_sort(sched_list *l);
/* The order sched_list_sort uses (by due date, pending items last by
 * their estimate, then line, kind, service, seq, part): <0, 0, >0. For
 * callers sorting their own rows that carry sched items. */
int sched_item_cmp(const sched_item *a, const sched_item *b);

/* A service bundled with a goods_with_service line (docs/receivables.md
 * "goods_with_service"). */
typedef struct sched_service {
    const char *sku;      /* borrowed; shown in descriptions and as item ref */
    money_dec weight;     /* standalone selling price (list in the line's book), >= 0 */
    const cat_term *term; /* the service's own payment term; NULL: 100% on acceptance
                           * (on acceptance) or on each period's start (spread) */
    cat_period period;    /* CAT_PERIOD_NONE: due on service acceptance; else spread */
    int term_months;      /* spread: months the service runs from start_on */
} sched_service;

/* One contract line. Only the fields of its mode are read. Dates are
 * SCHED_NO_DATE when unknown. */
typedef struct sched_line {
    const char *id;        /* for messages and descriptions (borrowed); NULL: its index */
    cat_mode mode;
    money_dec total;       /* goods, goods_with_service, milestone: the line total (>= 0);
                            * subscription: one full billing period's amount; usage: unused */
    const cat_term *term;  /* payment term; NULL: the mode's default (docs/receivables.md) */
    int lead_time_days;    /* goods: estimate for pending delivery items; -1 unknown */
    int acceptance_days;   /* goods_with_service: estimate for pending acceptance; -1 unknown */
    money_dec goods_weight;          /* goods_with_service: the goods' standalone price */
    const sched_service *services;   /* goods_with_service */
    size_t nservices;
    cat_period period;     /* subscription, usage */
    int term_months;       /* subscription (required); usage: 0 = open-ended, one period at a time */
    bool in_arrears;       /* subscription billing (usage is always in arrears) */
    int bill_day;          /* subscription: 0 anchors on start_on; 1..31 bills on that day of the
                            * month, the stub up to it prorated by days */
    const cat_pb_entry *tiers;  /* usage: tier schedule (has_tiers), or NULL */
    money_dec unit_price;       /* usage without tiers: net price per metered unit */
    money_dec tax_rate;         /* usage: fraction added on top (0.06); {0,0} for none */
    bool has_minimum;
    money_dec minimum;          /* usage: minimum commitment per period, net */
    const cat_milestone *milestones; /* milestone */
    size_t nmilestones;
    const date_days *milestone_accepted; /* nmilestones dates (SCHED_NO_DATE), or NULL: none yet */
    date_days start_on;     /* subscription, usage, spread services: first service day */
    date_days delivered_on; /* goods, goods_with_service */
    date_days accepted_on;  /* goods_with_service: service acceptance; goods: acceptance */
} sched_line;

typedef struct sched_contract {
    const char *currency;    /* ISO 4217, NUL-terminated */
    money_round rounding;    /* for prorations and usage amounts (the book's mode) */
    date_days signed_on;     /* required */
    const sched_line *lines;
    size_t nlines;
} sched_contract;

/* The whole schedule of a contract. */
typedef struct sched_schedule {
    sched_list items;        /* in generation order: by line, then as the mode lists them */
    money_dec *line_totals;  /* nlines: what each line's items add up to */
    size_t nlines;
    money_dec total;         /* sum of line_totals == sum of the items */
} sched_schedule;

/* --- catalog helpers ---------------------------------------------------- */

/* Fills *out from p's delivery (mode, term looked up by id in p's catalog,
 * lead/acceptance days, period, term months, arrears, minimum) with
 * total, and SCHED_NO_DATE dates; services, tiers, unit price, tax rate
 * and events are left for the caller. Returns 0 or CPQD_EINVAL if p's
 * payment term is not in its catalog. */
int sched_line_from_product(const cat_product *p, money_dec total, sched_line *out);

/* The goods/service split of a goods_with_service product p priced from
 * book on date `on`: *goods_weight is p's list in book, and for each of
 * p's service_items (at most cap; *n gets the count) the service's list in
 * book (0 when the book has no entry valid on `on`), its own payment term,
 * and, when the service product is a subscription, its period and term
 * months (spread), else CAT_PERIOD_NONE (on acceptance). The snapshot s
 * resolves service SKUs. Returns 0; CPQD_EINVAL if p is not
 * goods_with_service, has more than cap services, or a service SKU is not
 * in s. */
int sched_services_from_book(const cat_snapshot *s, const cat_price_book *book,
                             const cat_product *p, date_days on, sched_service *out, size_t cap,
                             money_dec *goods_weight, size_t *n);

/* --- schedules ------------------------------------------------------------ */

/* Builds the schedule of every line of c. All lines are checked and every
 * problem reported to errs before returning. Returns 0 and fills *out
 * (which the caller frees with sched_schedule_fini); on failure *out is
 * zeroed. */
int sched_contract_build(const sched_contract *c, sched_schedule *out, cpqd_errs *errs);
void sched_schedule_fini(sched_schedule *s);

/* Appends the items of line `line` of c to *out and writes their sum to
 * *line_total (may be NULL). Call it again with new event dates in the
 * line (delivered_on, accepted_on, milestone_accepted) to recompute it:
 * keys and amounts are unchanged, pending due dates become known. For a
 * subscription this is the first term; sched_line_renew gives the next. */
int sched_line_build(const sched_contract *c, size_t line, sched_list *out, money_dec *line_total,
                     cpqd_errs *errs);

/* Appends the items of renewal term `term_no` (1 = first renewal) of a
 * subscription line, or of period `term_no` of an open-ended usage line
 * (0 = the first), billed at period_amount per full period (the renewal
 * price; a subscription line's own total to keep it). Periods continue the
 * original anchor series; seq numbers continue after the previous term. */
int sched_line_renew(const sched_contract *c, size_t line, unsigned term_no,
                     money_dec period_amount, sched_list *out, cpqd_errs *errs);

/* Mid-term change of a subscription line on change_on (counted as a day
 * of the new quantity) from the line's period amount to new_amount per
 * full period. Appends a CREDIT item (-old x rest/days), a CHARGE item
 * (new x rest/days), both for the period containing change_on and billed
 * like it (in advance: on change_on), and PERIOD items at new_amount for
 * the later periods of the term containing change_on, with the keys of
 * the items they replace. rest = days from change_on to the period end,
 * days = days of the full anchored period. term_no as sched_line_renew. */
int sched_seat_change(const sched_contract *c, size_t line, unsigned term_no, date_days change_on,
                      money_dec new_amount, sched_list *out, cpqd_errs *errs);

/* --- usage -------------------------------------------------------------- */

/* The amount of a usage period: qty through the line's tiers (or x
 * unit_price), raised to the minimum commitment, plus tax_rate, rounded
 * once to the currency with c's rounding. Returns 0; CPQD_EINVAL for a
 * negative or invalid quantity or a line that is not usage. */
int sched_usage_amount(const sched_contract *c, size_t line, money_dec qty, money_dec *out,
                       cpqd_errs *errs);

/* The tiered amount of qty under entry e (docs/pricing.md "Tiers"), exact
 * (not rounded): volume, graduated, block, package. Returns 0; CPQD_EINVAL
 * if e has no tiers or qty < 0; CPQD_ERANGE on overflow. */
int sched_tier_amount(const cat_pb_entry *e, money_dec qty, money_dec *out);

/* Closes usage period `seq` (0-based from start_on) of a usage line with
 * its metered qty: appends the period's items, keys as scheduled, with
 * amount_known set and the amount (sched_usage_amount) split by the
 * line's payment term. */
int sched_usage_close(const sched_contract *c, size_t line, unsigned seq, money_dec qty,
                      sched_list *out, cpqd_errs *errs);

/* --- payments and aging --------------------------------------------------- */

typedef struct sched_payment {
    date_days paid_on;
    money_dec amount; /* > 0 */
} sched_payment;

typedef struct sched_standing {
    sched_status status;
    sched_pay_status payment; /* paid / partially paid / unpaid, whatever the status */
    money_dec paid;        /* payments on or before as_of */
    money_dec outstanding; /* amount - paid (0 when paid or a credit) */
    int days_overdue;      /* as_of - due_on when overdue, else 0 */
    sched_aging aging;
} sched_standing;

/* Classifies it as of as_of given its payments (those after as_of are
 * ignored). Returns 0; CPQD_EINVAL if a payment is not positive or the
 * payments up to as_of exceed the amount. */
int sched_item_classify(const sched_item *it, const sched_payment *pays, size_t npays,
                        date_days as_of, sched_standing *out);
/* The bucket of a number of days overdue (<= 0: NONE). */
sched_aging sched_aging_of(int days_overdue);

/* Stable names: "installment", ...; "scheduled", ...; "1-30", ...;
 * "delivery", .... NULL for a value outside the enum. */
const char *sched_kind_name(sched_kind k);
const char *sched_status_name(sched_status s);
/* "unpaid", "partially_paid", "paid"; NULL outside the enum. */
const char *sched_pay_status_name(sched_pay_status p);
const char *sched_aging_name(sched_aging a);
const char *sched_wait_name(sched_wait w);

/* Start of period j (0: the anchor's own) of a series of `months`-month
 * periods anchored on `anchor`: the anchor day, clamped to each month's
 * last day (docs/receivables.md "Anchoring": Jan 31 -> Feb 28/29 -> Mar 31). */
date_days sched_period_start(date_days anchor, int months, int j);

#endif
