/*
 * contract_int: what contract.c (signing, reads, payments, warnings)
 * shares with contract_after.c (event dates, usage and period closing
 * after signing). Not for other modules.
 *
 * Ownership as in contract.h: functions that fill a pointer hand over a
 * malloc'ed value the caller frees with the matching _fini/_free;
 * contract_dump consumes its argument.
 * contract.c, contract_after.c, contract_term.c and contract_find.c are
 * the domain; contract_json.c is their codec (request bodies into typed
 * values, contracts, items and payments into JSON).
 */
#ifndef CPQD_CONTRACT_INT_H
#define CPQD_CONTRACT_INT_H

#include "cpqd/contract.h"
#include "cpqd/sched.h"

#include <stdbool.h>
#include <stddef.h>

/* jansson's value: only the codec (contract_json.c) and the files not yet
 * moved onto it look inside. */
struct json_t;

/* What an accept request says about one quote line ("lines" of the
 * body: docs/receivables.md "Accepting"); every text borrowed from the
 * request's tree. */
typedef struct contract_ms_date {
    const char *id; /* milestone id */
    const char *on; /* its date, YYYY-MM-DD */
} contract_ms_date;

typedef struct contract_override {
    const char *line;                       /* quote line id */
    const char *delivered_on, *accepted_on; /* date texts, or NULL */
    const char *payment_term;               /* term id, or NULL */
    bool has_bill_day;
    int bill_day;        /* 0..31 */
    bool has_milestones; /* a "milestones" object was given (maybe empty) */
    contract_ms_date *ms;
    size_t nms;
} contract_override;

/* The accept request (as given, or as stored in the contract with the
 * event dates reported since): free with contract_accept_fini. */
typedef struct accept_req {
    struct json_t *root; /* the body (codec's): stored as the contract's request */
    date_days signed_on, start_on;
    contract_override *lines; /* in the body's order */
    size_t nlines;
} accept_req;

/* A line of the quote's stored priced result as a contract reads it;
 * texts borrowed from the parsed result. */
typedef struct contract_priced_line {
    const char *id, *sku;
    const char *total;    /* decimal text, or NULL */
    const char *book;     /* price book id, or NULL */
    const char *tax_rate; /* percent text, or NULL */
    const char *quantity; /* decimal text, or NULL */
    bool free_item;       /* a free item of another line ("free_item_of") */
} contract_priced_line;

/* The sched lines of a contract, rebuilt from its quote's priced lines
 * and the current catalog products. Line i is the contract's line_no i. */
typedef struct cbuild {
    sched_line *lines;
    sched_service **svcs;
    date_days **ms;
    const char **ids; /* priced line ids (borrowed from priced) */
    size_t n;
    struct json_t *priced;       /* the parsed priced result */
    struct json_t *request;      /* what is read of the stored request (contract_request_read) */
    contract_priced_line *plines; /* its lines */
    size_t nplines;
    money_round rounding;
    bool has_rounding;
} cbuild;

/* ---- helpers (contract.c) ---- */
bool contract_in_scope(const svc_ctx *c, const char *partner_id);
int contract_bad(cpqd_errs *errs, const char *msg); /* CPQD_EINVAL with msg */
int contract_date_text(const char *s, date_days *d);
int contract_fmt_date(date_days d, char **out);
int contract_fmt_money(money_dec v, char **out);
date_days contract_opt_date(const char *s);
/* Days after the service's today a date of something that happened (a
 * payment's value date, a delivery, an acceptance, a usage record) may
 * lie: bank value dates and reports from another timezone run a little
 * ahead, never years (docs/receivables.md "Dates"). */
#define CONTRACT_DAYS_AHEAD 7
/* Whether d, the value of `field`, lies from signed_on to today +
 * CONTRACT_DAYS_AHEAD: 0, or CPQD_EINVAL with "FIELD: D is outside S (the
 * contract's signing) to T (today + 7 days)". */
int contract_date_bound(const svc_ctx *c, date_days signed_on, const char *field, date_days d,
                        cpqd_errs *errs);

/* ---- stored items ---- */
int contract_row_item(const store_receivable *r, sched_item *it);
int contract_row_standing(svc_ctx *c, const store_receivable *r, date_days as_of,
                          sched_standing *sd);
void contract_rows_free(store_receivable *rows, size_t n);
/* The row of item it (line id from b; contract_id left NULL). */
int contract_row_from_item(const cbuild *b, const sched_item *it, int minor, store_receivable *r);

/* ---- contracts ---- */
/* Writes event type (ordered per contract) with payload text (borrowed). */
int contract_emit_text(svc_ctx *c, const char *type, const char *kind, const char *rid,
                       const char *contract_id, const char *text);
int contract_cbuild_make(const svc_ctx *c, const accept_req *r, const store_quote *q, cbuild *b,
                         cpqd_errs *errs);
void contract_cbuild_fini(cbuild *b);
/* Contract id as the caller may see it (else CPQD_ENOTFOUND), with its
 * items. */
int contract_load(svc_ctx *c, const char *id, store_contract *k, store_receivable **rows,
                  size_t *n, cpqd_errs *errs);

/* ---- the codec (contract_json.c) ----
 * Bodies parse into typed values; views are the bytes of replies, events
 * and signed webhook bodies. Text views return malloc'ed text, NULL when
 * out of memory. */

/* body[0..len) as a JSON object, or NULL with "body: must be a JSON
 * object" or "invalid JSON at line L column C: ..." in errs. */
struct json_t *contract_parse_object(const char *body, size_t len, cpqd_errs *errs);
/* Only the listed members in object o: 0, or CPQD_EINVAL naming the
 * first other one ("<where>unknown member 'k'"). */
int contract_only_keys(struct json_t *o, const char *const *keys, const char *where,
                       cpqd_errs *errs);
/* A date string member k of o into *d; absent: *d unchanged, 0. */
int contract_date_member(struct json_t *o, const char *k, const char *where, date_days *d,
                         cpqd_errs *errs);
char *contract_dump(struct json_t *o); /* consumes o; NULL on failure */
void contract_json_free(struct json_t *o); /* NULL is a no-op */

/* The accept request: body[0..len) ({"signed_on", "start_on", "lines"}),
 * checked; *r always safe to contract_accept_fini. 0 or CPQD_EINVAL. */
int contract_accept_parse(const char *body, size_t len, accept_req *r, cpqd_errs *errs);
void contract_accept_fini(accept_req *r);
/* Records in r a date reported for quote line `line` since signing:
 * delivered or accepted (on), or a milestone's (ref: its id) acceptance.
 * 0 or CPQD_ENOMEM. */
int contract_accept_event(accept_req *r, const char *line, contract_event event, const char *ref,
                          const char *on);
/* The request as stored with the contract (keys sorted), or NULL. */
char *contract_accept_text(const accept_req *r);
/* Quote q's priced result into b->priced and b->plines (*date: its
 * pricing date, borrowed): 0, CPQD_EINTERNAL (unreadable) or
 * CPQD_ENOMEM. lite: b->priced holds only what plines, the date and
 * promotion redemption (quote_usage_redeem) read (contract_priced_lite). */
int contract_priced_read(const store_quote *q, bool lite, cbuild *b, const char **date);
/* Of stored priced result text, only date, subtotal, lines[].{id, sku,
 * total, book, tax_rate, quantity, free_item_of (null: only whether it
 * is there)} and promotions.applied[].{id, amount}, each as the full
 * parse gives it; NULL when the text is anything but plain (an escape
 * in one of those, an unexpected type, a syntax error): parse it whole. */
struct json_t *contract_priced_lite(const char *text);
/* Of a stored quote request, only date, channel, caller.segment and
 * customer.segment (as contract_priced_lite reads: NULL when anything is
 * unusual): what a contract and promotion redemption read of it. */
struct json_t *contract_request_lite(const char *text);
/* What a contract and promotion redemption read of quote q's stored
 * request (contract_request_lite, else the whole parse; NULL when it is
 * unreadable). */
struct json_t *contract_request_read(const store_quote *q);
/* The customer segment of a request so read (req may be NULL), malloc'ed;
 * NULL when none: as_priced, the one it was priced with (its caller's,
 * else its customer's); else its customer's. */
char *contract_request_segment(const struct json_t *req, bool as_priced);
/* contract_request_segment of q's request, read for it. */
char *contract_quote_segment(const store_quote *q, bool as_priced);

/* A payment (POST /v1/receivables/{id}/payments). */
typedef struct pay_req {
    struct json_t *root;
    const char *client_id; /* borrowed from root */
    money_dec amount;
    date_days paid_on;
    const char *paid_on_text; /* borrowed from root */
} pay_req;
int contract_pay_parse(const char *body, size_t len, pay_req *p, cpqd_errs *errs);
void contract_pay_fini(pay_req *p);
/* {"as_of", "within"} (both optional; an empty body is {}) into *as_of
 * and *days, left unchanged when absent; within at most max. */
int contract_sweep_parse(const char *body, size_t len, int max, date_days *as_of, int *days,
                         cpqd_errs *errs);

/* An item as its own event or line of a list shows it: with its
 * contract's fields. */
struct json_t *contract_item_json(const store_receivable *r, const sched_standing *sd);
void contract_item_context(struct json_t *o, const store_receivable *r);
char *contract_item_text(const store_receivable *r, const sched_standing *sd);
/* The head of contract k (no lines, items or status). */
struct json_t *contract_head_json(const store_contract *k);
int contract_json_of(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                     date_days as_of, struct json_t **out);
/* The contract as GET shows it, as of as_of: 0, or an error. */
int contract_text(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                  date_days as_of, char **out);
/* The contract just signed (*body, the reply and contract.signed) and
 * its receivables.scheduled payload (*scheduled). */
int contract_signed_text(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                         date_days as_of, char **body, char **scheduled);
/* A text built before the insert, with slots for what the insert
 * assigns (the contract's id, number and created_at, each item's id):
 * contract_tmpl_fill splices them in, so the write transaction does not
 * build the contract's JSON. */
typedef struct contract_slot contract_slot;
typedef struct contract_tmpl {
    char *text; /* NULL: none (the text is built after the insert) */
    size_t len, n;
    contract_slot *slots;
} contract_tmpl;
/* contract_signed_text's two texts for the contract k with items rows,
 * which are not inserted yet (their ids, k's id, number and created_at
 * are not read, and no item has a payment). 0; CPQD_ENOMEM; any other
 * code: no templates (a value of the contract looked like a slot). */
int contract_signed_tmpl(svc_ctx *c, const store_contract *k, const store_receivable *rows,
                         size_t n, date_days as_of, contract_tmpl *body,
                         contract_tmpl *scheduled);
/* The text of t with the values of the inserted k and rows[0..n) in its
 * slots, into *out: byte for byte what contract_signed_text gives.
 * CPQD_EINVAL (nothing in *out) when a value would need escaping. */
int contract_tmpl_fill(const contract_tmpl *t, const store_contract *k,
                       const store_receivable *rows, size_t n, char **out);
void contract_tmpl_fini(contract_tmpl *t);
/* For tests: contract_signed_text's two texts of contract k with items
 * rows not inserted yet (no payments looked up), written directly
 * (CPQD_EINVAL when it gives up) or through jansson's tree. */
int contract_fresh_texts(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                         date_days as_of, bool direct, char **body, char **scheduled);
/* GET /v1/contracts/{id}/receivables. */
int contract_receivables_text(svc_ctx *c, const store_contract *k, store_receivable *rows,
                              size_t n, date_days as_of, char **out);
/* A payment with the item after it. */
char *contract_payment_text(const store_payment *p, const store_receivable *r,
                            const sched_standing *sd);
/* Writes event type (ordered per contract); consumes payload. */
int contract_emit(svc_ctx *c, const char *type, const char *kind, const char *rid,
                  const char *contract_id, struct json_t *payload);

/* A page of the due list: items gathered one by one. */
struct json_t *contract_list_new(void);
int contract_list_add_item(struct json_t *list, const store_receivable *r,
                           const sched_standing *sd);
/* A contract's head with its status, to a page of the contract list. */
int contract_list_add_head(struct json_t *list, const store_contract *k, const char *status);
size_t contract_list_size(const struct json_t *list);
/* Adds {"id", "reason"} to *damaged (made on first use): a record a list
 * leaves out because it is damaged, never silently (docs/receivables.md
 * "Due soon and overdue"). 0 or CPQD_ENOMEM. */
int contract_list_add_damaged(struct json_t **damaged, const char *id, const char *reason);
/* Why a damaged receivable is left out of a list or the sweep. */
#define CONTRACT_STANDING_DAMAGED                                                                  \
    "its standing cannot be computed from the stored item and its payments"
/* {"items", "next"[, "damaged" when not NULL]} (next NULL: null);
 * consumes items and damaged. */
char *contract_page_text(struct json_t *items, struct json_t *damaged, const char *next);
/* GET /v1/receivables/{id}: item r with its contract's fields and its
 * payments ps[0..n). */
char *contract_receivable_text(const store_receivable *r, const sched_standing *sd,
                               const store_payment *ps, size_t n);
/* A page of a contract's payments: ps[0..n), then next (NULL: none). */
char *contract_payments_text(const store_contract *k, const store_payment *ps, size_t n,
                             const char *next);
/* {"status", "as_of", "items", "next"[, "within" when within >= 0]
 * [, "damaged" when not NULL]}; consumes items and damaged. */
char *contract_due_text(const char *status, const char *as_of, struct json_t *items,
                        struct json_t *damaged, const char *next, int within);

/* ---- after signing (contract_after.c) ---- */

/* A stored contract rebuilt: its head and items, the accept request with
 * every event date reported since, its quote and its sched lines. */
typedef struct contract_after {
    store_contract k;
    store_receivable *rows;
    size_t n;
    accept_req r;
    store_quote q;
    cbuild b;
    sched_contract sc;
    int minor;
} contract_after;

/* Loads contract id (as the caller may see it, else CPQD_ENOTFOUND) and
 * rebuilds its lines, in the caller's open transaction. *a is always
 * safe to contract_after_fini. */
int contract_after_open(svc_ctx *c, const char *id, contract_after *a, cpqd_errs *errs);
void contract_after_fini(contract_after *a);
/* Line id of the contract: *li, or CPQD_ENOTFOUND. */
int contract_line_find(const contract_after *a, const char *id, size_t *li, cpqd_errs *errs);
/* CPQD_ECONFLICT "line 'x' is <mode>: it has no <what>". */
int contract_wrong_mode(const contract_after *a, size_t li, const char *what, cpqd_errs *errs);
/* The stored row with item it's key, or NULL. */
store_receivable *contract_row_of(contract_after *a, const sched_item *it);
int contract_reload_rows(svc_ctx *c, contract_after *a);
/* The current catalog's product of contract line li, or NULL. */
const cat_product *contract_line_product(const svc_ctx *c, const contract_after *a, size_t li);
/* [items of line li (of period seq only when seq >= 0)] as of today. */
struct json_t *contract_line_items_json(svc_ctx *c, contract_after *a, size_t li, int seq);
/* out->body = the contract as GET shows it (rows reloaded). */
int contract_reply(svc_ctx *c, contract_after *a, int created, svc_reply *out);
/* Sets the contract's total to what its items add up to (rows reloaded):
 * CPQD_ELIMIT when that is beyond CAT_AMOUNT_MAX, CPQD_EINTERNAL for an
 * amount that is not a decimal (reasons in errs). */
int contract_total_update(svc_ctx *c, contract_after *a, cpqd_errs *errs);

/* ---- bodies and views after signing (contract_json.c) ---- */

#define CONTRACT_USAGE_ID_MAX 128 /* bytes of a usage record id */
#define CONTRACT_PERIOD_FORMAT                                                                     \
    "YYYY-MM (the billing period that starts in that month) or the period's "                      \
    "first day YYYY-MM-DD"

/* A date reported for a line: POST .../lines/{line}/delivered or
 * .../accepted ({"on"}), .../milestones/{m}/accept ({"on", "line"?}). */
typedef struct contract_event_req {
    struct json_t *root;
    const char *contract_id;
    const char *line;      /* line id; milestone: from the body or found */
    contract_event event;
    const char *milestone; /* milestone id, or NULL */
    date_days on;
    const char *on_text; /* borrowed from root */
} contract_event_req;
int contract_event_parse(const char *body, size_t len, bool milestone, contract_event_req *e,
                         cpqd_errs *errs);

/* A metered usage record: POST /v1/contracts/{id}/usage. */
typedef struct contract_usage_req {
    struct json_t *root;
    const char *contract_id;
    const char *id, *line, *period, *quantity_text, *recorded_on_text; /* borrowed from root */
    money_dec quantity;
    date_days recorded_on;
} contract_usage_req;
int contract_usage_parse(const char *body, size_t len, contract_usage_req *u, cpqd_errs *errs);

/* Closing a usage period: POST .../periods/{period}/close ({"line"?}). */
typedef struct contract_close_req {
    struct json_t *root;
    const char *contract_id, *period;
    const char *line; /* borrowed from root, or NULL */
} contract_close_req;
int contract_close_parse(const char *body, size_t len, contract_close_req *r, cpqd_errs *errs);

/* receivables.rescheduled after a date of event e for line li. */
char *contract_rescheduled_text(svc_ctx *c, contract_after *a, size_t li,
                                const contract_event_req *e);
/* A usage record (the reply and usage.recorded). */
char *contract_usage_text(const contract_after *a, const store_usage *s, size_t li,
                          const char *from, const char *to);
/* receivable.amount_set: item r with the period's metered quantity. */
char *contract_amount_set_text(const store_receivable *r, const sched_standing *sd,
                               const char *qty, size_t nrec);
/* usage.period_closed of period seq of line li, with its items and the
 * next period's. */
char *contract_period_closed_text(svc_ctx *c, contract_after *a, size_t li, int seq,
                                  const char *qty, size_t nrec);
/* What closing one period did. */
typedef struct contract_closed {
    size_t li;
    int seq;
    char from[DATE_FMT_LEN], to[DATE_FMT_LEN];
    char qty[MONEY_FMT_MAX], amount[MONEY_FMT_MAX];
    size_t records;
    bool closed_now;
} contract_closed;
/* The reply of closing: the contract's head and v[0..n). */
char *contract_closed_text(const contract_after *a, const contract_closed *v, size_t n);

/* ---- term changes (contract_term.c) ---- */

#define CONTRACT_CHANGE_ID_MAX 128
#define CONTRACT_SEATS_MAX 1000000000LL /* a seat count above this is refused */
#define CONTRACT_TERM_MAX 10000         /* highest term number a request may name */

/* POST .../lines/{line}/renew: {"term"?, "period_amount"?}. */
typedef struct contract_renew_req {
    struct json_t *root;
    const char *contract_id, *line;
    int term; /* 0: the next one */
    bool has_amount;
    money_dec amount;
} contract_renew_req;
int contract_renew_parse(const char *body, size_t len, contract_renew_req *r, cpqd_errs *errs);

/* POST .../lines/{line}/seats: {"id", "quantity", "effective_on",
 * "period_amount"?}. */
typedef struct contract_seat_req {
    struct json_t *root;
    const char *contract_id, *line, *id, *on_text; /* id, on_text: borrowed from root */
    long long qty;
    date_days on;
    bool has_amount;
    money_dec amount;
} contract_seat_req;
int contract_seat_parse(const char *body, size_t len, contract_seat_req *r, cpqd_errs *errs);

/* Renewal ch of line li, term from..to, with the items of list l. */
int contract_renewal_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                          const char *from, const char *to, const sched_list *l, char **out);
/* Seat change ch of line li (credit and charge: what it added) with the
 * line's items as of today; *event (if not NULL) gets its
 * receivables.rescheduled (ref: the change id, on: its date). */
int contract_seat_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                       const char *credit, const char *charge, const char *on, char **reply,
                       char **event);

/* ---- the receivables sweep, one item at a time (contract.c;
 * docs/receivables.md "Sweep failures") ---- */

/* One run of the sweep: its date, the items failing before it, and
 * what failed in it. */
typedef struct sweep_run {
    date_days as_of;
    store_sweep_failure *failing; /* failing before this run (resolved when they go through) */
    size_t nfailing;
    struct json_t *failed; /* this run's failed items: [{"item","kind","contract_id","ref","code",
                       "message"}] */
    size_t nfailed; /* how many */
} sweep_run;

/* ---- the sweep's JSON (contract_json.c) ---- */
/* Adds failure f to w->failed; *event (when as_of is not NULL) gets the
 * sweep.item_failed payload, the failure with "as_of". 0 or
 * CPQD_ENOMEM. */
int contract_sweep_failed_add(sweep_run *w, const store_sweep_failure *f, const char *as_of,
                              char **event);
/* What a sweep did, for its reply. */
typedef struct contract_sweep_counts {
    size_t overdue, due_soon, closed, renewed, invoiced, posted;
} contract_sweep_counts;
/* The sweep's reply (docs/receivables.md "Sweep"). */
char *contract_sweep_text(const char *as_of, int within, const contract_sweep_counts *n,
                          const sweep_run *w);
/* A page of GET /v1/receivables/sweep/failures: v[0..n), then next (NULL:
 * none). */
char *contract_failures_text(const store_sweep_failure *v, size_t n, const char *next);

/* Runs fn(c, arg, errs) as the sweep's item "<kind>:<key>" of contract
 * contract_id (ref: what in it, for people) in a scope of the open
 * transaction. On success the item's earlier failure, if any, is
 * resolved. On failure everything fn wrote is undone, the failure is
 * recorded (store_sweep_failure_add, the event sweep.item_failed when it
 * starts failing, w->failed) and 0 is returned: the sweep goes on.
 * CPQD_EIO and CPQD_ENOMEM are the transaction's, not the item's: they
 * are returned (the sweep stops and writes nothing). *done (may be NULL)
 * tells whether the item went through. */
int contract_sweep_item(svc_ctx *c, sweep_run *w, const char *kind, const char *contract_id,
                        const char *key, const char *ref,
                        int (*fn)(svc_ctx *c, void *arg, cpqd_errs *errs), void *arg, bool *done);

/* In the caller's transaction: closes every open usage period that
 * ended on or before w->as_of (all contracts), each period of each line
 * an item of its own; *closed gets the count closed. */
int contract_usage_close_due(svc_ctx *c, sweep_run *w, size_t *closed);

/* ---- renewals and seat changes (contract_term.c) ---- */
/* In the caller's transaction: renews every auto_renew subscription line
 * whose term ended on or before w->as_of (all contracts), term after
 * term until the last one reaches past as_of, each line an item of its
 * own; *renewed gets the count of terms renewed. */
int contract_renew_due(svc_ctx *c, sweep_run *w, size_t *renewed);

/* ---- request bodies alone (tests/fuzz/fuzz_contract.c) ----
 * Each parses body[0..len) exactly as the route `what` does before it
 * opens anything, then frees what it parsed: nothing is read or written.
 * Returns 0, CPQD_EINVAL with the reasons in errs, or CPQD_ENOTFOUND for
 * a what it does not know. contract_body_check knows every route:
 * "accept", "pay", "sweep" (contract.c), "delivered", "accepted",
 * "milestone", "usage", "close" (contract_after.c), "renew", "seats"
 * (contract_term.c). */
int contract_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs);
int contract_after_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs);
int contract_term_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs);

#endif
