/*
 * contract: an accepted quote becomes a contract with its receivable
 * schedule; payments, due and overdue receivables, warnings
 * (docs/receivables.md "Contracts").
 *
 * Owns: the accept request (signing and event dates per line), turning a
 * stored priced quote and the catalog products into sched lines, the
 * contract and receivable JSON, payments (idempotent per client payment
 * id, never above what is outstanding), the due-soon and overdue lists,
 * the warning sweep, and the contract and receivable events.
 * Does not own: the schedule arithmetic and statuses (sched), the quote's
 * status machine and idempotency records (quote), persistence (store),
 * routes and roles (http).
 *
 * Every function returns 0 with *out filled (created = 1 for 201), or a
 * CPQD_E* code with the reasons in errs: CPQD_EINVAL (bad request),
 * CPQD_ENOTFOUND (no such contract or receivable, or not the caller's),
 * CPQD_ECONFLICT (quote not acceptable, payment over the outstanding
 * amount, a key or payment id reused with other content), and what the
 * store returned. Writes are one transaction each, events included.
 * Thread-safety: per request, on one thread (the svc_ctx's).
 */
#ifndef CPQD_CONTRACT_H
#define CPQD_CONTRACT_H

#include "cpqd/err.h"
#include "cpqd/quote.h"

#include <stddef.h>

/* POST /v1/quotes/{id}/accept: {"signed_on", "start_on"?, "lines"?:
 * {"<line id>": {"delivered_on"?, "accepted_on"?, "milestones"?:
 * {"<milestone id>": date}, "payment_term"?: id, "bill_day"?: 0..31}}}.
 * idem_key may be NULL. */
int contract_accept(svc_ctx *c, const char *quote_id, const char *body, size_t len,
                    const char *idem_key, svc_reply *out, cpqd_errs *errs);

/* GET /v1/contracts/{id}: the contract with its items (status as of
 * today). */
int contract_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs);

/* GET /v1/contracts/{id}/receivables?as_of=: {"items", "total"} ordered
 * by due date (pending items last); as_of NULL: today. */
int contract_receivables(svc_ctx *c, const char *id, const char *as_of, svc_reply *out,
                         cpqd_errs *errs);

/* ---- finding what the service made (src/contract_find.c,
 * docs/receivables.md "Finding contracts and payments") ---- */

/* GET /v1/contracts?customer=&quote=&status=&partner=&limit=&after=:
 * contract heads with their status as of today ("open": something still
 * to pay, nothing overdue; "overdue": an item overdue; "settled": every
 * item paid), newest first, scoped like quotes (a partner: its own). f's
 * filters, after and limit as store_contract_filter; status NULL: any. */
int contract_list(svc_ctx *c, const store_contract_filter *f, const char *status,
                  svc_reply *out, cpqd_errs *errs);
/* The statuses contract_list filters by (NULL-ended). */
extern const char *const contract_statuses[];

/* GET /v1/receivables/{id}: the item as of today with its contract's
 * fields and its payments. */
int contract_receivable_get(svc_ctx *c, const char *rid, svc_reply *out, cpqd_errs *errs);

/* GET /v1/contracts/{id}/payments?limit=&after=: the payments of every
 * item of the contract, by value date (after: a payment id). */
int contract_payments(svc_ctx *c, const char *id, const svc_page *pg, svc_reply *out,
                      cpqd_errs *errs);

/* POST /v1/receivables/{id}/payments: {"id", "amount", "paid_on"}. */
int contract_pay(svc_ctx *c, const char *rid, const char *body, size_t len, svc_reply *out,
                 cpqd_errs *errs);

/* GET /v1/receivables?status=overdue|due_soon&as_of=&within=&customer=
 * &contract=&limit=&after=: the caller's items in that state as of as_of
 * (NULL: today); within (NULL: 7) days ahead for due_soon; customer and
 * contract (ids, NULL: any) narrow it; one page of them by due date. */
typedef struct contract_due_query {
    const char *status, *as_of, *within;
    const char *customer, *contract;
    svc_page page; /* after: the id of the last item of a page */
} contract_due_query;
int contract_due_list(svc_ctx *c, const contract_due_query *q, svc_reply *out, cpqd_errs *errs);

/* POST /v1/receivables/sweep: {"as_of"?, "within"?}: first closes every
 * usage period that ended on or before as_of (as contract_period_close)
 * and renews every auto_renew subscription line whose term ended on or
 * before as_of (as contract_line_renew), then writes a receivable.overdue /
 * receivable.due_soon event for every item found in that state that has
 * not had one for it yet. Each period, line and warning is an item of
 * its own: one that fails is undone alone, recorded (sweep_failures,
 * sweep.item_failed) and counted in the reply's "failed", and the others
 * go on. */
int contract_sweep(svc_ctx *c, const char *body, size_t len, svc_reply *out, cpqd_errs *errs);

/* GET /v1/receivables/sweep/failures?status=failing|resolved&limit=&after=:
 * the items the sweep could not process (docs/receivables.md "Sweep
 * failures"), newest failure first, one page (after: an item key);
 * status NULL: all. */
int contract_sweep_failures(svc_ctx *c, const char *status, const svc_page *pg, svc_reply *out,
                            cpqd_errs *errs);

/* ---- after signing (src/contract_after.c, docs/receivables.md "After
 * signing"). Each is one transaction with its events; a replay of the
 * same request writes nothing and answers 200 (created = 0). ---- */

/* What happened to a contract line after signing: its goods delivered,
 * its services accepted, one of its milestones accepted. */
typedef enum contract_event {
    CONTRACT_EVENT_DELIVERED,
    CONTRACT_EVENT_ACCEPTED,
    CONTRACT_EVENT_MILESTONE,
    CONTRACT_EVENT_N,
} contract_event;

/* "delivered", "accepted", "milestone" as stored and shown; "?" if
 * invalid. */
const char *contract_event_name(contract_event e);
/* An event by name: 0, or CPQD_EINVAL. */
int contract_event_parse_name(const char *s, contract_event *out);

/* POST /v1/contracts/{id}/lines/{line}/delivered and .../accepted:
 * {"on": date}. event is CONTRACT_EVENT_DELIVERED or
 * CONTRACT_EVENT_ACCEPTED. Recomputes the
 * line's items (sched_line_build) and updates their due dates by key;
 * writes receivables.rescheduled. *out gets the contract. CPQD_EINVAL for
 * a date before signing, CPQD_ECONFLICT for another date already
 * recorded or a line of a mode without that event, CPQD_ENOTFOUND for
 * an unknown line. */
int contract_line_event(svc_ctx *c, const char *id, const char *line, contract_event event,
                        const char *body, size_t len, svc_reply *out, cpqd_errs *errs);

/* POST /v1/contracts/{id}/milestones/{m}/accept: {"on", "line"?} (line
 * only needed when several milestone lines have milestone m). As
 * contract_line_event. */
int contract_milestone_accept(svc_ctx *c, const char *id, const char *milestone,
                              const char *body, size_t len, svc_reply *out, cpqd_errs *errs);

/* POST /v1/contracts/{id}/usage: {"id", "line", "period", "quantity",
 * "recorded_on"?}: records metered usage of a usage line for one billing
 * period (201; the same record again 200; the same id with other content
 * or a closed period CPQD_ECONFLICT); writes usage.recorded. */
int contract_usage_record(svc_ctx *c, const char *id, const char *body, size_t len,
                          svc_reply *out, cpqd_errs *errs);

/* POST /v1/contracts/{id}/periods/{p}/close: {"line"?}: closes billing
 * period p (YYYY-MM or its first day) of every usage line of the
 * contract (or of that line): the period's total usage priced by
 * sched_usage_close sets its items' amounts; an open-ended line gets its
 * next period scheduled. Writes receivable.amount_set per item and
 * usage.period_closed. Closing a closed period is a no-op (200). */
int contract_period_close(svc_ctx *c, const char *id, const char *period, const char *body,
                          size_t len, svc_reply *out, cpqd_errs *errs);

/* ---- term changes of subscription lines (src/contract_term.c,
 * docs/receivables.md "Renewals and seat changes"). One transaction each
 * with its event; 201 when written, 200 for a replay. ---- */

/* POST /v1/contracts/{id}/lines/{line}/renew: {"term"?, "period_amount"?}
 * (body optional): schedules renewal term `term` (default: the next one)
 * of a subscription line at period_amount per full period (default: the
 * amount in force at the end of the previous term); writes
 * contract.renewed. The same term again is a replay (200) unless another
 * period_amount is given (CPQD_ECONFLICT); CPQD_ECONFLICT too for a term
 * after the next one or a line that is not a subscription. */
int contract_line_renew(svc_ctx *c, const char *id, const char *line, const char *body,
                        size_t len, svc_reply *out, cpqd_errs *errs);

/* POST /v1/contracts/{id}/lines/{line}/seats: {"id", "quantity",
 * "effective_on", "period_amount"?}: a mid-term seat change
 * (sched_seat_change): credit and charge for the rest of the period, the
 * term's later periods repriced; writes receivables.rescheduled.
 * Idempotent per change id (another content: CPQD_ECONFLICT).
 * CPQD_EINVAL for a quantity that is not a positive integer or unchanged,
 * a date before signing or outside the line's scheduled terms;
 * CPQD_ECONFLICT for a date before the line's last change, a line that
 * is not a subscription, or a later period already paid above its new
 * amount. */
int contract_seat_change(svc_ctx *c, const char *id, const char *line, const char *body,
                         size_t len, svc_reply *out, cpqd_errs *errs);

#endif
