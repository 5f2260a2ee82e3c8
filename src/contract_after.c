/*
 * contract_after: what happens to a contract after signing
 * (docs/receivables.md "After signing"): delivery, service acceptance and
 * milestone acceptance dates reported later, metered usage records, and
 * closing usage periods.
 *
 * Owns: rebuilding a contract's sched lines from its stored quote, its
 * accept request and the event dates reported since; the refusals (a date
 * before signing, a second different date, a line of the wrong mode, a
 * usage record for a closed period); updating items by key with their
 * events. Does not own: the arithmetic (sched), the rows (store), the
 * signing itself (contract.c).
 *
 * Invariant: recomputing changes due dates only, never keys or amounts of
 * items already known; a usage period's amount is set once, from all the
 * records of that period, in the transaction that records the close.
 * Every write is one transaction with its events.
 */
#include "contract_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Periods searched when a period text is matched to a usage line (100
 * years of months). */
#define PERIOD_SEARCH_MAX SCHED_MAX_MONTHS

/* ---- the events of a line ---- */

static const char *const event_names[CONTRACT_EVENT_N] = {
    [CONTRACT_EVENT_DELIVERED] = "delivered",
    [CONTRACT_EVENT_ACCEPTED] = "accepted",
    [CONTRACT_EVENT_MILESTONE] = "milestone",
};

const char *contract_event_name(contract_event e)
{
    return (unsigned)e < CONTRACT_EVENT_N ? event_names[e] : "?";
}

int contract_event_parse_name(const char *s, contract_event *out)
{
    for (int i = 0; s && i < CONTRACT_EVENT_N; i++)
        if (!strcmp(s, event_names[i])) {
            *out = (contract_event)i;
            return 0;
        }
    return CPQD_EINVAL;
}

/* ---- the contract rebuilt: stored request + reported dates ---- */



void contract_after_fini(contract_after *a)
{
    contract_cbuild_fini(&a->b);
    store_quote_fini(&a->q);
    contract_accept_fini(&a->r);
    contract_rows_free(a->rows, a->n);
    store_contract_fini(&a->k);
    memset(a, 0, sizeof(*a));
}

static const char *line_id_of(const contract_after *a, int line_no)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->rows[i].line_no == line_no)
            return a->rows[i].line_id;
    return NULL;
}

/* Adds the dates reported since signing to the stored accept request, so
 * that rebuilding gives every known date. */
static int merge_events(svc_ctx *c, contract_after *a)
{
    store_line_event *ev = NULL;
    size_t n = 0;
    int rc = store_line_events_of(c->st, a->k.id, &ev, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *id = line_id_of(a, ev[i].line_no);
        contract_event k;
        rc = id && contract_event_parse_name(ev[i].event, &k) == 0
                 ? contract_accept_event(&a->r, id, k, ev[i].ref, ev[i].happened_on)
                 : CPQD_EINTERNAL;
    }
    for (size_t i = 0; i < n; i++)
        store_line_event_fini(&ev[i]);
    free(ev);
    return rc;
}

/* Loads contract id (as the caller may see it) and rebuilds its lines,
 * in the caller's open transaction. */
int contract_after_open(svc_ctx *c, const char *id, contract_after *a, cpqd_errs *errs)
{
    memset(a, 0, sizeof(*a));
    int rc = contract_load(c, id, &a->k, &a->rows, &a->n, errs);
    if (rc)
        return rc;
    if (contract_accept_parse(a->k.request, strlen(a->k.request), &a->r, errs) != 0 ||
        money_currency_minor(a->k.currency, &a->minor) != 0) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "contract %.64s: stored request unreadable", id);
        return CPQD_EINTERNAL;
    }
    rc = merge_events(c, a);
    if (rc == 0 && (rc = store_quote_get(c->st, a->k.quote_id, a->k.quote_version, &a->q)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "contract %.64s: its quote: %s", id,
                 store_last_error(c->st));
    if (rc == 0)
        rc = contract_cbuild_make(c, &a->r, &a->q, &a->b, errs);
    a->sc = (sched_contract){.currency = a->k.currency,
                             .rounding = a->b.has_rounding ? a->b.rounding : MONEY_HALF_EVEN,
                             .signed_on = a->r.signed_on,
                             .lines = a->b.lines,
                             .nlines = a->b.n};
    return rc;
}

/* Line `id` of the contract: its line_no, or CPQD_ENOTFOUND. */
int contract_line_find(const contract_after *a, const char *id, size_t *li, cpqd_errs *errs)
{
    for (size_t i = 0; id && i < a->b.n; i++)
        if (!strcmp(a->b.ids[i], id)) {
            *li = i;
            return 0;
        }
    errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "contract '%.64s' has no line '%.64s'", a->k.id,
             id ? id : "");
    return CPQD_ENOTFOUND;
}

int contract_wrong_mode(const contract_after *a, size_t li, const char *what, cpqd_errs *errs)
{
    errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0, "line '%.64s' is %s: it has no %s", a->b.ids[li],
             cat_mode_name(a->b.lines[li].mode), what);
    return CPQD_ECONFLICT;
}

/* The stored row of contract line li with item it's key, or NULL. */
store_receivable *contract_row_of(contract_after *a, const sched_item *it)
{
    const char *kind = sched_kind_name(it->kind);
    for (size_t i = 0; i < a->n; i++) {
        store_receivable *r = &a->rows[i];
        if ((size_t)r->line_no == it->line && !strcmp(r->kind, kind) &&
            r->service == (int)it->service && r->seq == (int)it->seq && r->part == (int)it->part)
            return r;
    }
    return NULL;
}

const cat_product *contract_line_product(const svc_ctx *c, const contract_after *a, size_t li)
{
    for (size_t i = 0; i < a->b.nplines; i++) {
        const char *id = a->b.plines[i].id, *sku = a->b.plines[i].sku;
        if (id && sku && li < a->b.n && !strcmp(id, a->b.ids[li]))
            return cat_snapshot_product(c->snap, sku, strlen(sku));
    }
    return NULL;
}

int contract_reload_rows(svc_ctx *c, contract_after *a)
{
    contract_rows_free(a->rows, a->n);
    a->rows = NULL;
    a->n = 0;
    return store_receivables_of(c->st, a->k.id, &a->rows, &a->n);
}

/* The reply: the contract as GET shows it. */
int contract_reply(svc_ctx *c, contract_after *a, int created, svc_reply *out)
{
    int rc = contract_reload_rows(c, a);
    if (rc == 0)
        rc = contract_text(c, &a->k, a->rows, a->n, c->today, &out->body);
    if (rc == 0)
        out->created = created;
    return rc;
}

/* ---- event dates: delivered, accepted, milestone accepted ---- */


/* The milestone's line: the one given, or the only milestone line that
 * has a milestone with that id. */
static int milestone_line(const contract_after *a, const contract_event_req *e, size_t *li, size_t *mi,
                          cpqd_errs *errs)
{
    size_t found = 0;
    for (size_t i = 0; i < a->b.n; i++) {
        const sched_line *l = &a->b.lines[i];
        if (l->mode != CAT_MODE_MILESTONE || (e->line && strcmp(a->b.ids[i], e->line)))
            continue;
        for (size_t m = 0; m < l->nmilestones; m++)
            if (!strcmp(l->milestones[m].id, e->milestone))
                *li = i, *mi = m, found++;
    }
    if (found == 1)
        return 0;
    if (found > 1)
        return contract_bad(errs, "line: required, several lines have that milestone");
    if (e->line) {
        size_t x;
        int rc = contract_line_find(a, e->line, &x, errs);
        if (rc)
            return rc;
        if (a->b.lines[x].mode != CAT_MODE_MILESTONE)
            return contract_wrong_mode(a, x, "milestones", errs);
    }
    errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "contract '%.64s' has no milestone '%.64s'",
             a->k.id, e->milestone);
    return CPQD_ENOTFOUND;
}

/* Points *slot at the line's date of event e (allocating the milestone
 * dates when none were given yet). */
static int event_slot(contract_after *a, const contract_event_req *e, size_t li, size_t mi, date_days **slot,
                      cpqd_errs *errs)
{
    sched_line *l = &a->b.lines[li];
    if (e->event == CONTRACT_EVENT_MILESTONE) {
        if (!a->b.ms[li]) {
            a->b.ms[li] = malloc((l->nmilestones ? l->nmilestones : 1) * sizeof(date_days));
            if (!a->b.ms[li])
                return CPQD_ENOMEM;
            for (size_t m = 0; m < l->nmilestones; m++)
                a->b.ms[li][m] = SCHED_NO_DATE;
            l->milestone_accepted = a->b.ms[li];
        }
        *slot = &a->b.ms[li][mi];
        return 0;
    }
    bool delivered = e->event == CONTRACT_EVENT_DELIVERED;
    if (l->mode != CAT_MODE_GOODS && l->mode != CAT_MODE_GOODS_WITH_SERVICE)
        return contract_wrong_mode(a, li, delivered ? "delivery" : "acceptance", errs);
    *slot = delivered ? &l->delivered_on : &l->accepted_on;
    return 0;
}

/* Writes the recomputed items of line li: due dates by key. Amounts
 * must be those stored (else the catalog changed how the line splits). */
static int write_dates(svc_ctx *c, contract_after *a, const sched_list *list, cpqd_errs *errs)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < list->n; i++) {
        const sched_item *it = &list->items[i];
        store_receivable *old = contract_row_of(a, it), nr;
        money_dec was;
        if (!old || money_parse(old->amount, strlen(old->amount), &was) != 0 ||
            (old->amount_known && money_cmp(was, it->amount) != 0)) {
            errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                     "line '%.64s': the catalog no longer splits it as at signing",
                     a->b.ids[it->line]);
            return CPQD_ECONFLICT;
        }
        if ((rc = contract_row_from_item(&a->b, it, a->minor, &nr)) == 0) {
            nr.contract_id = a->k.id;
            rc = store_receivable_set_dates(c->st, &nr);
            nr.contract_id = NULL;
        }
        store_receivable_fini(&nr);
    }
    return rc;
}

static int event_emit(svc_ctx *c, contract_after *a, const contract_event_req *e, size_t li)
{
    char *text = contract_rescheduled_text(c, a, li, e);
    int rc = text ? contract_emit_text(c, "receivables.rescheduled", "contract", a->k.id,
                                       a->k.id, text)
                  : CPQD_ENOMEM;
    free(text);
    return rc;
}

static int event_record(svc_ctx *c, contract_after *a, const contract_event_req *e, size_t li)
{
    store_line_event ev = {.contract_id = a->k.id,
                           .line_no = (int)li,
                           .event = (char *)contract_event_name(e->event),
                           .ref = (char *)(e->milestone ? e->milestone : ""),
                           .happened_on = (char *)e->on_text,
                           .recorded_by = (char *)(c->caller->key_id ? c->caller->key_id
                                                                     : "anonymous")};
    bool first;
    int rc = store_line_event_add(c->st, &ev, &first);
    free(ev.recorded_at);
    return rc == 0 && !first ? CPQD_ECONFLICT : rc;
}

static int event_run(svc_ctx *c, void *ctx, svc_reply *out, cpqd_errs *errs)
{
    contract_event_req *e = ctx;
    contract_after a;
    size_t li = 0, mi = 0;
    date_days *slot = NULL;
    sched_list list = {0};
    int rc = contract_after_open(c, e->contract_id, &a, errs);
    if (rc == 0)
        rc = e->milestone ? milestone_line(&a, e, &li, &mi, errs) : contract_line_find(&a, e->line, &li, errs);
    if (rc == 0)
        rc = event_slot(&a, e, li, mi, &slot, errs);
    /* a new date lies from signing to today + CONTRACT_DAYS_AHEAD; one
     * already recorded is a replay or a conflict whatever today is */
    if (rc == 0 && *slot == SCHED_NO_DATE)
        rc = contract_date_bound(c, a.r.signed_on, "on", e->on, errs);
    if (rc == 0 && *slot != SCHED_NO_DATE) {
        /* one date per event: the same again is a replay, another is a
         * conflict (correcting a date is not an API operation) */
        char d[DATE_FMT_LEN];
        date_format(*slot, d);
        if (*slot == e->on)
            rc = contract_reply(c, &a, 0, out);
        else {
            errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                     "line '%.64s': %s%s%.64s already recorded on %s", a.b.ids[li],
                     contract_event_name(e->event),
                     e->milestone ? " of milestone " : "", e->milestone ? e->milestone : "", d);
            rc = CPQD_ECONFLICT;
        }
        contract_after_fini(&a);
        return rc;
    }
    if (rc == 0) {
        *slot = e->on;
        rc = sched_line_build(&a.sc, li, &list, NULL, errs);
    }
    if (rc == 0)
        rc = write_dates(c, &a, &list, errs);
    if (rc == 0)
        rc = event_record(c, &a, e, li);
    if (rc == 0)
        rc = contract_reload_rows(c, &a);
    if (rc == 0)
        rc = event_emit(c, &a, e, li);
    if (rc == 0)
        rc = contract_reply(c, &a, 0, out);
    sched_list_fini(&list);
    contract_after_fini(&a);
    return rc;
}

static int event_do(svc_ctx *c, contract_event_req *e, const char *body, size_t len, svc_reply *out,
                    cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    int rc = contract_event_parse(body, len, e->milestone != NULL, e, errs);
    if (rc == 0)
        rc = svc_tx(c, event_run, e, out, errs);
    contract_json_free(e->root);
    return rc;
}

int contract_line_event(svc_ctx *c, const char *id, const char *line, contract_event event,
                        const char *body, size_t len, svc_reply *out, cpqd_errs *errs)
{
    contract_event_req e = {.contract_id = id, .line = line, .event = event};
    return event_do(c, &e, body, len, out, errs);
}

int contract_milestone_accept(svc_ctx *c, const char *id, const char *milestone,
                              const char *body, size_t len, svc_reply *out, cpqd_errs *errs)
{
    contract_event_req e = {.contract_id = id, .event = CONTRACT_EVENT_MILESTONE,
                            .milestone = milestone};
    return event_do(c, &e, body, len, out, errs);
}

/* ---- usage periods ---- */

static int period_months(cat_period p)
{
    return p == CAT_PERIOD_MONTHLY ? 1 : p == CAT_PERIOD_QUARTERLY ? 3 : p == CAT_PERIOD_YEARLY ? 12 : 0;
}

/* Whether text is "YYYY-MM" (month 01..12), with *y and *m. */
static bool month_text(const char *text, int *y, int *m)
{
    if (!text || strlen(text) != 7 || text[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (text[i] < '0' || text[i] > '9'))
            return false;
    *y = atoi(text);
    *m = atoi(text + 5);
    return *m >= 1 && *m <= 12;
}

/* Period text ("YYYY-MM": the period that starts in that month, or
 * "YYYY-MM-DD": the period that starts that day) of usage line l:
 * *seq, or CPQD_EINVAL (malformed: -1 in *seq; not a period: 0). */
static int period_find(const sched_line *l, const char *text, int *seq)
{
    int months = period_months(l->period), y = 0, m = 0;
    date_days day = SCHED_NO_DATE;
    size_t len = text ? strlen(text) : 0;
    bool month_only = month_text(text, &y, &m);
    *seq = -1;
    if (!month_only && (len != 10 || date_parse(text, 10, &day) != 0))
        return CPQD_EINVAL;
    *seq = 0;
    int max = l->term_months > 0 && months ? l->term_months / months : PERIOD_SEARCH_MAX;
    for (int j = 0; months && j < max; j++) {
        date_days s = sched_period_start(l->start_on, months, j);
        int sy, sm, sd;
        date_to_ymd(s, &sy, &sm, &sd);
        if (month_only ? (sy == y && sm == m) : s == day) {
            *seq = j;
            return 0;
        }
        if (month_only ? (sy > y || (sy == y && sm > m)) : s > day)
            break;
    }
    return CPQD_EINVAL;
}

/* Whether text is written as a period ("2027-01", "2027-01-31"); else
 * CPQD_EINVAL with the format in errs. */
static int period_text_check(const char *text, cpqd_errs *errs)
{
    int y, m;
    date_days d;
    if (month_text(text, &y, &m) || (text && strlen(text) == 10 && date_parse(text, 10, &d) == 0))
        return 0;
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "period: '%.16s' must be " CONTRACT_PERIOD_FORMAT,
             text ? text : "");
    return CPQD_EINVAL;
}

/* period_find, with the reason in errs. */
static int period_seq(const sched_line *l, const char *text, int *seq, cpqd_errs *errs)
{
    if (period_find(l, text, seq) == 0)
        return 0;
    if (*seq < 0)
        return contract_bad(errs, "period: required, " CONTRACT_PERIOD_FORMAT);
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "period: '%.16s' is not a billing period of line '%.64s'",
             text, l->id ? l->id : "?");
    return CPQD_EINVAL;
}

/* Whether period seq of line li is closed (its usage amount is known). */
static bool period_closed(const contract_after *a, size_t li, int seq)
{
    for (size_t i = 0; i < a->n; i++) {
        const store_receivable *r = &a->rows[i];
        if ((size_t)r->line_no == li && r->seq == seq && !strcmp(r->kind, "usage") &&
            r->amount_known)
            return true;
    }
    return false;
}


/* A record id seen before: the same record (200) or a conflict. */
static int usage_replay(const contract_after *a, const contract_usage_req *u, const store_usage *old, size_t li,
                        int seq, cpqd_errs *errs)
{
    money_dec was;
    if ((size_t)old->line_no != li || old->seq != seq ||
        money_parse(old->quantity, strlen(old->quantity), &was) != 0 ||
        money_cmp(was, u->quantity) != 0 ||
        (u->recorded_on_text && strcmp(u->recorded_on_text, old->recorded_on) != 0)) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "usage record '%.64s' was already recorded with another line, period or quantity",
                 u->id);
        return CPQD_ECONFLICT;
    }
    (void)a;
    return 0;
}

static int usage_total(svc_ctx *c, const contract_after *a, size_t li, int seq, money_dec *qty,
                       size_t *nrec, cpqd_errs *errs);

/* A record's quantity is one of its line's product (docs/catalog.md
 * "Quantities": metered decimals by default, up to CAT_QTY_MAX). */
static int usage_qty_check(const svc_ctx *c, const contract_after *a, size_t li,
                           const contract_usage_req *u, cpqd_errs *errs)
{
    const cat_product *p = contract_line_product(c, a, li);
    cat_qty_rule dflt = cat_qty_default(CAT_MODE_USAGE);
    char why[256], rule[160];
    if (p ? cat_qty_check(p, u->quantity, false, why, sizeof(why)) == 0
          : cat_qty_fits(&dflt, u->quantity))
        return 0;
    if (!p)
        snprintf(why, sizeof(why), "%s is not a metered quantity: %s", u->quantity_text,
                 cat_qty_rule_text(&dflt, rule, sizeof(rule)));
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "quantity (line %.64s): %s", a->b.ids[li], why);
    return CPQD_EINVAL;
}

/* A new record keeps what its period will bill within the service's
 * bounds, so that closing it (by hand or by the sweep) cannot fail
 * later: the period's records add up to at most CAT_QTY_MAX, and the
 * period closed with them now prices (tiers, minimum, tax) to an amount,
 * and the contract to a total, within CAT_AMOUNT_MAX. */
static int usage_fits(svc_ctx *c, contract_after *a, size_t li, int seq, const contract_usage_req *u,
                      const char *from, const char *to, cpqd_errs *errs)
{
    money_dec sum, amount = {0, 0}, total;
    size_t nrec;
    char q[MONEY_FMT_MAX] = "?", am[MONEY_FMT_MAX] = "?";
    const char *line = a->b.ids[li];
    int rc = usage_total(c, a, li, seq, &sum, &nrec, errs);
    if (rc == 0 && money_add(sum, u->quantity, &sum) != 0)
        sum = money_from_int(INT64_MAX);
    if (rc)
        return rc;
    money_format(sum, q, sizeof(q));
    if (money_cmp(sum, money_from_int(CAT_QTY_MAX)) > 0) {
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0,
                 "quantity (line %.64s): the records of period %s..%s would add up to %s, over "
                 "the maximum %lld of a period",
                 line, from, to, q, (long long)CAT_QTY_MAX);
        return CPQD_ELIMIT;
    }
    cpqd_errs *why = errs_new();
    if (!why)
        return CPQD_ENOMEM;
    rc = sched_usage_amount(&a->sc, li, sum, &amount, why);
    const char *reason = rc && errs_count(why) ? errs_get(why, 0)->msg : "overflow";
    if (rc == 0) {
        money_format(amount, am, sizeof(am));
        if (money_parse(a->k.total, strlen(a->k.total), &total) != 0 ||
            money_add(total, amount, &total) != 0 || !cat_amount_ok(amount) ||
            !cat_amount_ok(total))
            rc = CPQD_ERANGE, reason = NULL;
    }
    if (rc == CPQD_ENOMEM) {
        errs_free(why);
        return rc;
    }
    if (rc && reason)
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0,
                 "quantity (line %.64s): period %s..%s with %s cannot be billed: %s", line, from,
                 to, q, reason);
    else if (rc)
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0,
                 "quantity (line %.64s): period %s..%s with %s would bill %s, beyond the "
                 "maximum amount %lld (of an item and of the contract's total)",
                 line, from, to, q, am, (long long)CAT_AMOUNT_MAX);
    errs_free(why);
    return rc ? CPQD_ELIMIT : 0;
}

/* What a new record (not a replay) must meet: a date within sense, and
 * a period that stays billable. */
static int usage_new_ok(svc_ctx *c, contract_after *a, size_t li, int seq, const contract_usage_req *u,
                        const char *from, const char *to, cpqd_errs *errs)
{
    int rc = u->recorded_on_text
                 ? contract_date_bound(c, a->r.signed_on, "recorded_on", u->recorded_on, errs)
                 : 0;
    return rc ? rc : usage_fits(c, a, li, seq, u, from, to, errs);
}

static int usage_run(svc_ctx *c, void *ctx, svc_reply *out, cpqd_errs *errs)
{
    contract_usage_req *u = ctx;
    contract_after a;
    size_t li = 0;
    int seq = 0, created = 1;
    store_usage old = {0};
    char from[DATE_FMT_LEN], to[DATE_FMT_LEN], today[DATE_FMT_LEN], qty[MONEY_FMT_MAX];
    int rc = contract_after_open(c, u->contract_id, &a, errs);
    if (rc == 0)
        rc = contract_line_find(&a, u->line, &li, errs);
    if (rc == 0 && a.b.lines[li].mode != CAT_MODE_USAGE)
        rc = contract_wrong_mode(&a, li, "metered usage", errs);
    if (rc == 0)
        rc = period_seq(&a.b.lines[li], u->period, &seq, errs);
    if (rc == 0)
        rc = usage_qty_check(c, &a, li, u, errs);
    if (rc == 0) {
        int months = period_months(a.b.lines[li].period);
        date_format(sched_period_start(a.b.lines[li].start_on, months, seq), from);
        date_format(sched_period_start(a.b.lines[li].start_on, months, seq + 1), to);
        date_format(c->today, today);
        rc = money_format(u->quantity, qty, sizeof(qty)) < 0 ? CPQD_ERANGE : 0;
    }
    int found = rc == 0 ? store_usage_get(c->st, a.k.id, u->id, &old) : rc;
    if (rc == 0 && found == 0) {
        rc = usage_replay(&a, u, &old, li, seq, errs);
        created = 0;
    } else if (rc == 0 && found != CPQD_ENOTFOUND) {
        rc = found;
    } else if (rc == 0) {
        if (period_closed(&a, li, seq)) {
            errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                     "line '%.64s': period %s..%s is closed: usage for it is refused", u->line,
                     from, to);
            rc = CPQD_ECONFLICT;
        } else if ((rc = usage_new_ok(c, &a, li, seq, u, from, to, errs)) == 0) {
            old = (store_usage){.contract_id = a.k.id,
                                .client_id = (char *)u->id,
                                .line_no = (int)li,
                                .seq = seq,
                                .quantity = qty,
                                .recorded_on =
                                    (char *)(u->recorded_on_text ? u->recorded_on_text : today),
                                .recorded_by = (char *)(c->caller->key_id ? c->caller->key_id
                                                                          : "anonymous")};
            rc = store_usage_add(c->st, &old);
            char *ev = rc == 0 ? contract_usage_text(&a, &old, li, from, to) : NULL;
            if (rc == 0)
                rc = ev ? contract_emit_text(c, "usage.recorded", "usage", u->id, a.k.id, ev)
                        : CPQD_ENOMEM;
            free(ev);
            /* only created_at is ours */
            char *at = old.created_at;
            memset(&old, 0, sizeof(old));
            old.created_at = at;
            old.client_id = strdup(u->id), old.quantity = strdup(qty);
            old.recorded_on = strdup(u->recorded_on_text ? u->recorded_on_text : today);
            old.recorded_by = strdup(c->caller->key_id ? c->caller->key_id : "anonymous");
            old.seq = seq, old.line_no = (int)li;
            if (rc == 0 && (!old.client_id || !old.quantity || !old.recorded_on || !old.recorded_by))
                rc = CPQD_ENOMEM;
        }
    }
    if (rc == 0) {
        out->created = created;
        rc = (out->body = contract_usage_text(&a, &old, li, from, to)) ? 0 : CPQD_ENOMEM;
    }
    store_usage_fini(&old);
    contract_after_fini(&a);
    return rc;
}

int contract_usage_record(svc_ctx *c, const char *id, const char *body, size_t len,
                          svc_reply *out, cpqd_errs *errs)
{
    contract_usage_req u = {.contract_id = id};
    memset(out, 0, sizeof(*out));
    int rc = contract_usage_parse(body, len, &u, errs);
    if (rc == 0)
        rc = svc_tx(c, usage_run, &u, out, errs);
    contract_json_free(u.root);
    return rc;
}

/* ---- closing a usage period ---- */

/* The metered total of period seq of line li: the sum of its records. */
static int usage_total(svc_ctx *c, const contract_after *a, size_t li, int seq, money_dec *qty,
                       size_t *nrec, cpqd_errs *errs)
{
    store_usage *v = NULL;
    size_t n = 0;
    int rc = store_usage_of_period(c->st, a->k.id, (int)li, seq, &v, &n);
    *qty = money_from_int(0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        money_dec q;
        rc = money_parse(v[i].quantity, strlen(v[i].quantity), &q) == 0 ? money_add(*qty, q, qty)
                                                                          : CPQD_EINTERNAL;
        if (rc)
            errs_add(errs, rc, NULL, 0, 0, "usage record '%.64s': quantity '%.32s' cannot be added",
                     v[i].client_id, v[i].quantity);
    }
    for (size_t i = 0; i < n; i++)
        store_usage_fini(&v[i]);
    free(v);
    *nrec = n;
    return rc;
}

/* Writes the closed items: amounts by key, or new rows for a period that
 * had none scheduled yet. */
static int write_amounts(svc_ctx *c, contract_after *a, const sched_list *list)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < list->n; i++) {
        store_receivable nr;
        bool exists = contract_row_of(a, &list->items[i]) != NULL;
        if ((rc = contract_row_from_item(&a->b, &list->items[i], a->minor, &nr)) == 0) {
            if (exists) {
                nr.contract_id = a->k.id;
                rc = store_receivable_set_amount(c->st, &nr);
                nr.contract_id = NULL;
            } else {
                rc = store_receivables_add(c->st, a->k.id, &nr, 1);
            }
        }
        store_receivable_fini(&nr);
    }
    return rc;
}

/* An open-ended usage line always shows its next period: after closing
 * period seq, period seq + 1 is scheduled if it is not yet. */
static int schedule_next(svc_ctx *c, contract_after *a, size_t li, int seq, cpqd_errs *errs)
{
    sched_list next = {0};
    const sched_line *l = &a->b.lines[li];
    if (l->term_months > 0)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if ((size_t)a->rows[i].line_no == li && a->rows[i].seq == seq + 1)
            return 0;
    int rc = sched_line_renew(&a->sc, li, (unsigned)seq + 1, (money_dec){0, a->minor}, &next, errs);
    for (size_t i = 0; rc == 0 && i < next.n; i++) {
        store_receivable nr;
        if ((rc = contract_row_from_item(&a->b, &next.items[i], a->minor, &nr)) == 0)
            rc = store_receivables_add(c->st, a->k.id, &nr, 1);
        store_receivable_fini(&nr);
    }
    sched_list_fini(&next);
    return rc;
}

/* The contract's total is what its items add up to: updated with them. */
int contract_total_update(svc_ctx *c, contract_after *a, cpqd_errs *errs)
{
    money_dec t = {0, a->minor};
    char *text = NULL;
    int rc = contract_reload_rows(c, a);
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        money_dec v;
        rc = money_parse(a->rows[i].amount, strlen(a->rows[i].amount), &v) == 0 ? money_add(t, v, &t)
                                                                                : CPQD_EINTERNAL;
        if (rc == CPQD_EINTERNAL)
            errs_add(errs, rc, NULL, 0, 0, "receivable '%.64s': amount '%.32s' is not a decimal",
                     a->rows[i].id, a->rows[i].amount);
    }
    /* no stored total can fail a later sum (docs/auth.md "Limits") */
    if (rc == CPQD_ERANGE || (rc == 0 && !cat_amount_ok(t))) {
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0,
                 "contract %.64s: its total would be beyond the maximum amount %lld", a->k.id,
                 (long long)CAT_AMOUNT_MAX);
        rc = CPQD_ELIMIT;
    }
    if (rc == 0)
        rc = contract_fmt_money(t, &text);
    if (rc == 0 && strcmp(text, a->k.total) != 0 &&
        (rc = store_contract_set_total(c->st, a->k.id, a->k.total, text)) == 0) {
        free(a->k.total);
        a->k.total = text;
        text = NULL;
    }
    free(text);
    return rc;
}

/* receivable.amount_set for each item of the closed period, and
 * usage.period_closed once. */
static int close_emit(svc_ctx *c, contract_after *a, size_t li, int seq, const char *qty, size_t nrec)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        store_receivable *r = &a->rows[i];
        sched_standing sd;
        if ((size_t)r->line_no != li || r->seq != seq || strcmp(r->kind, "usage"))
            continue;
        if ((rc = contract_row_standing(c, r, c->today, &sd)) != 0)
            break;
        char *it = contract_amount_set_text(r, &sd, qty, nrec);
        rc = it ? contract_emit_text(c, "receivable.amount_set", "receivable", r->id, a->k.id, it)
                : CPQD_ENOMEM;
        free(it);
    }
    char *text = rc == 0 ? contract_period_closed_text(c, a, li, seq, qty, nrec) : NULL;
    if (rc == 0)
        rc = text ? contract_emit_text(c, "usage.period_closed", "contract", a->k.id, a->k.id,
                                       text)
                  : CPQD_ENOMEM;
    free(text);
    return rc;
}

/* Closes period seq of usage line li (a no-op if closed); *res gets
 * what it did. */
static int close_one(svc_ctx *c, contract_after *a, size_t li, int seq, contract_closed *res,
                     cpqd_errs *errs)
{
    sched_list list = {0};
    money_dec qty, amount = {0, a->minor};
    size_t nrec = 0;
    char *q = res->qty, *am = res->amount;
    bool was_closed = period_closed(a, li, seq);
    int rc = usage_total(c, a, li, seq, &qty, &nrec, errs);
    if (rc == 0 && !was_closed)
        rc = sched_usage_close(&a->sc, li, (unsigned)seq, qty, &list, errs);
    if (rc == 0 && !was_closed)
        rc = write_amounts(c, a, &list);
    if (rc == 0 && !was_closed)
        rc = schedule_next(c, a, li, seq, errs);
    if (rc == 0 && !was_closed)
        rc = contract_total_update(c, a, errs);
    for (size_t i = 0; rc == 0 && i < a->n; i++)
        if ((size_t)a->rows[i].line_no == li && a->rows[i].seq == seq &&
            !strcmp(a->rows[i].kind, "usage")) {
            money_dec v;
            rc = money_parse(a->rows[i].amount, strlen(a->rows[i].amount), &v) == 0
                     ? money_add(amount, v, &amount)
                     : CPQD_EINTERNAL;
        }
    if (rc == 0 && (money_format(qty, q, sizeof(res->qty)) < 0 ||
                    money_format(amount, am, sizeof(res->amount)) < 0))
        rc = CPQD_ERANGE;
    if (rc == 0 && !was_closed)
        rc = close_emit(c, a, li, seq, q, nrec);
    if (rc == 0) {
        int months = period_months(a->b.lines[li].period);
        date_format(sched_period_start(a->b.lines[li].start_on, months, seq), res->from);
        date_format(sched_period_start(a->b.lines[li].start_on, months, seq + 1), res->to);
        res->li = li;
        res->seq = seq;
        res->records = nrec;
        res->closed_now = !was_closed;
    }
    sched_list_fini(&list);
    return rc;
}


static int close_run(svc_ctx *c, void *ctx, svc_reply *out, cpqd_errs *errs)
{
    contract_close_req *r = ctx;
    contract_after a;
    int rc = contract_after_open(c, r->contract_id, &a, errs);
    /* one result per line at most (a is zeroed when the open failed) */
    contract_closed *done = calloc(a.b.n ? a.b.n : 1, sizeof(*done));
    size_t ndone = 0;
    if (rc == 0 && !done)
        rc = CPQD_ENOMEM;
    size_t only = 0;
    if (r->line && (rc = contract_line_find(&a, r->line, &only, errs)) == 0 &&
        a.b.lines[only].mode != CAT_MODE_USAGE)
        rc = contract_wrong_mode(&a, only, "usage periods", errs);
    for (size_t li = 0; rc == 0 && done && li < a.b.n; li++) {
        int seq = 0;
        if (a.b.lines[li].mode != CAT_MODE_USAGE || (r->line && li != only))
            continue;
        /* without a line, a period text that is not one of this line's
         * periods is not an error: other usage lines may bill otherwise */
        if (period_find(&a.b.lines[li], r->period, &seq) != 0) {
            rc = r->line ? period_seq(&a.b.lines[li], r->period, &seq, errs) : 0;
            continue;
        }
        if ((rc = close_one(c, &a, li, seq, &done[ndone], errs)) == 0)
            ndone++;
    }
    if (rc == 0 && ndone == 0 && !r->line)
        rc = contract_bad(errs, "period: no usage line of the contract has that billing period");
    if (rc == 0 && !done)
        rc = CPQD_ENOMEM;
    if (rc == 0) {
        out->body = contract_closed_text(&a, done, ndone);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    free(done);
    contract_after_fini(&a);
    return rc;
}

int contract_period_close(svc_ctx *c, const char *id, const char *period, const char *body,
                          size_t len, svc_reply *out, cpqd_errs *errs)
{
    contract_close_req r = {.contract_id = id, .period = period};
    memset(out, 0, sizeof(*out));
    int rc = contract_close_parse(body, len, &r, errs);
    if (rc == 0)
        rc = period_text_check(period, errs);
    if (rc == 0)
        rc = svc_tx(c, close_run, &r, out, errs);
    contract_json_free(r.root);
    return rc;
}

int contract_after_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs)
{
    int rc = CPQD_ENOTFOUND;
    struct json_t *root = NULL;
    contract_event ev;
    if (contract_event_parse_name(what, &ev) == 0) {
        contract_event_req e = {.event = ev};
        rc = contract_event_parse(body, len, ev == CONTRACT_EVENT_MILESTONE, &e, errs);
        root = e.root;
    } else if (!strcmp(what, "usage")) {
        contract_usage_req u = {0};
        rc = contract_usage_parse(body, len, &u, errs);
        root = u.root;
    } else if (!strcmp(what, "close")) {
        contract_close_req r = {0};
        rc = contract_close_parse(body, len, &r, errs);
        root = r.root;
    }
    contract_json_free(root);
    return rc;
}

typedef struct close_item {
    const store_receivable *open; /* the period's first open item */
    size_t *closed;
} close_item;

/* One sweep item: period open->seq of line open->line_no closed. */
static int close_item_run(svc_ctx *c, void *arg, cpqd_errs *errs)
{
    close_item *x = arg;
    contract_after a;
    contract_closed res;
    int rc = contract_after_open(c, x->open->contract_id, &a, errs);
    if (rc == 0 && (size_t)x->open->line_no >= a.b.n) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "contract %.64s has no line %d",
                 x->open->contract_id, x->open->line_no);
        rc = CPQD_EINTERNAL;
    }
    if (rc == 0)
        rc = close_one(c, &a, (size_t)x->open->line_no, x->open->seq, &res, errs);
    *x->closed += rc == 0;
    contract_after_fini(&a);
    return rc;
}

int contract_usage_close_due(svc_ctx *c, sweep_run *w, size_t *closed)
{
    char until[DATE_FMT_LEN], key[128], ref[160];
    store_receivable *open = NULL;
    size_t n = 0;
    *closed = 0;
    date_format(w->as_of, until);
    int rc = store_receivables_open_usage(c->st, until, &open, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* one close per (contract, line, period): its other parts follow */
        if (i > 0 && !strcmp(open[i].contract_id, open[i - 1].contract_id) &&
            open[i].line_no == open[i - 1].line_no && open[i].seq == open[i - 1].seq)
            continue;
        size_t one = 0;
        bool done = false;
        close_item x = {&open[i], &one};
        snprintf(key, sizeof(key), "%s:%d:%d", open[i].contract_id, open[i].line_no, open[i].seq);
        snprintf(ref, sizeof(ref), "line %.64s period %s", open[i].line_id,
                 open[i].period_from ? open[i].period_from : "?");
        rc = contract_sweep_item(c, w, "period_close", open[i].contract_id, key, ref,
                                 close_item_run, &x, &done);
        *closed += done ? one : 0; /* a period that failed was undone */
    }
    contract_rows_free(open, n);
    return rc;
}
