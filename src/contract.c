/*
 * contract: see include/cpqd/contract.h and docs/receivables.md
 * "Contracts".
 *
 * One request, one store transaction: accepting writes the quote's
 * status move, the contract, every receivable item, the idempotency
 * record and the events together or not at all. The schedule is computed
 * by sched from the quote's stored priced lines (their totals, books and
 * pricing date) and the products of the current catalog snapshot (their
 * delivery mode, payment term, services, tiers and milestones).
 */
#include "cpqd/contract.h"

#include "contract_int.h"
#include "cpqd/digest.h"
#include "cpqd/fin.h"
#include "cpqd/metrics.h"
#include "cpqd/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define CONTRACT_WITHIN_DEFAULT 7
#define CONTRACT_WITHIN_MAX 366

/* ---- small helpers ---- */

static bool contract_partner_caller(const svc_ctx *c)
{
    return svc_is_partner(c->caller);
}

/* A partner sees only its own contracts; anything else does not exist. */
bool contract_in_scope(const svc_ctx *c, const char *partner_id)
{
    if (!contract_partner_caller(c))
        return true;
    return partner_id && c->caller->partner_id && !strcmp(partner_id, c->caller->partner_id);
}

int contract_bad(cpqd_errs *errs, const char *msg)
{
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s", msg);
    return CPQD_EINVAL;
}

int contract_date_text(const char *s, date_days *d)
{
    return s && strlen(s) == 10 ? date_parse(s, 10, d) : CPQD_EINVAL;
}

int contract_date_bound(const svc_ctx *c, date_days signed_on, const char *field, date_days d,
                        cpqd_errs *errs)
{
    date_days hi = c->today + CONTRACT_DAYS_AHEAD;
    if (d >= signed_on && d <= hi)
        return 0;
    char dt[DATE_FMT_LEN], lo_t[DATE_FMT_LEN], hi_t[DATE_FMT_LEN];
    date_format(d, dt);
    date_format(signed_on, lo_t);
    date_format(hi, hi_t);
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
             "%s: %s is outside %s (the contract's signing) to %s (today + %d days)", field, dt,
             lo_t, hi_t, CONTRACT_DAYS_AHEAD);
    return CPQD_EINVAL;
}

/* as_of text or today. */
static int as_of_of(const svc_ctx *c, const char *s, date_days *d, cpqd_errs *errs)
{
    *d = c->today;
    if (s && contract_date_text(s, d) != 0)
        return contract_bad(errs, "as_of: must be a date YYYY-MM-DD");
    return 0;
}

int contract_fmt_date(date_days d, char **out)
{
    char b[DATE_FMT_LEN];
    *out = NULL;
    if (d == SCHED_NO_DATE)
        return 0;
    date_format(d, b);
    return (*out = strdup(b)) ? 0 : CPQD_ENOMEM;
}

int contract_fmt_money(money_dec v, char **out)
{
    char b[MONEY_FMT_MAX];
    *out = NULL;
    if (money_format(v, b, sizeof(b)) < 0)
        return CPQD_ERANGE;
    return (*out = strdup(b)) ? 0 : CPQD_ENOMEM;
}

/* ---- stored items as sched items ---- */

static int kind_of(const char *name, sched_kind *k)
{
    for (int i = SCHED_KIND_INSTALLMENT; i <= SCHED_KIND_CHARGE; i++)
        if (name && !strcmp(name, sched_kind_name((sched_kind)i))) {
            *k = (sched_kind)i;
            return 0;
        }
    return CPQD_EINTERNAL;
}

date_days contract_opt_date(const char *s)
{
    date_days d;
    return s && contract_date_text(s, &d) == 0 ? d : SCHED_NO_DATE;
}

/* The sched item a stored row describes (amount, dates, key). */
int contract_row_item(const store_receivable *r, sched_item *it)
{
    memset(it, 0, sizeof(*it));
    if (kind_of(r->kind, &it->kind) != 0 ||
        money_parse(r->amount, strlen(r->amount), &it->amount) != 0)
        return CPQD_EINTERNAL;
    it->line = (size_t)r->line_no;
    it->service = (unsigned)r->service, it->seq = (unsigned)r->seq, it->part = (unsigned)r->part;
    it->waits_for = SCHED_WAIT_NONE;
    for (int w = SCHED_WAIT_DELIVERY; r->waits_for && w <= SCHED_WAIT_MILESTONE; w++)
        if (!strcmp(r->waits_for, sched_wait_name((sched_wait)w)))
            it->waits_for = (sched_wait)w;
    it->due_on = contract_opt_date(r->due_on);
    it->bill_on = contract_opt_date(r->bill_on);
    it->expected_on = contract_opt_date(r->expected_on);
    it->period_from = contract_opt_date(r->period_from);
    it->period_to = contract_opt_date(r->period_to);
    it->has_period = it->period_from != SCHED_NO_DATE;
    it->amount_known = r->amount_known;
    return 0;
}

/* The standing of row r as of as_of, from its stored payments. */
int contract_row_standing(svc_ctx *c, const store_receivable *r, date_days as_of,
                        sched_standing *sd)
{
    sched_item it;
    store_payment *ps = NULL;
    size_t n = 0;
    int rc = contract_row_item(r, &it);
    if (rc == 0 && r->id)
        rc = store_payments_of(c->st, r->id, &ps, &n);
    sched_payment *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (rc == 0 && n && !v)
        rc = CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        v[i].paid_on = contract_opt_date(ps[i].paid_on);
        if (money_parse(ps[i].amount, strlen(ps[i].amount), &v[i].amount) != 0)
            rc = CPQD_EINTERNAL;
    }
    if (rc == 0)
        rc = sched_item_classify(&it, v, n, as_of, sd);
    for (size_t i = 0; i < n; i++)
        store_payment_fini(&ps[i]);
    free(ps);
    free(v);
    return rc;
}

/* Writes event type about contract k (ordered per contract) with payload
 * text (borrowed). */
int contract_emit_text(svc_ctx *c, const char *type, const char *kind, const char *rid,
                       const char *contract_id, const char *text)
{
    char key[96];
    snprintf(key, sizeof(key), "contract:%s", contract_id);
    store_outbox_new ev = {
        .type = type, .resource_kind = kind, .resource_id = rid, .order_key = key, .payload = text};
    return store_outbox_add(c->st, &ev, NULL, NULL);
}

/* ---- from the stored quote to sched lines ---- */


void contract_cbuild_fini(cbuild *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->svcs[i]);
        free(b->ms[i]);
    }
    free(b->lines), free(b->svcs), free(b->ms), free(b->ids), free(b->plines);
    contract_json_free(b->priced);
    contract_json_free(b->request);
    memset(b, 0, sizeof(*b));
}

static const cat_price_book *book_of(const cat_product *p, const char *id)
{
    for (size_t i = 0; id && i < p->catalog->nbooks; i++)
        if (!strcmp(p->catalog->books[i].id, id))
            return &p->catalog->books[i];
    return NULL;
}

static const cat_pb_entry *entry_of(const cat_price_book *b, const char *sku, date_days on)
{
    for (size_t i = 0; b && i < b->nentries; i++) {
        const cat_pb_entry *e = &b->entries[i];
        if (!strcmp(e->sku, sku) && on >= e->valid_from && (!e->has_valid_to || on <= e->valid_to))
            return e;
    }
    return NULL;
}

static int line_fail(cpqd_errs *errs, int code, const char *id, const char *why)
{
    errs_add(errs, code, NULL, 0, 0, "line %.64s: %s", id, why);
    return code;
}

/* What the accept request says about line id, or NULL. */
static const contract_override *override_of(const accept_req *r, const char *id)
{
    for (size_t i = 0; id && i < r->nlines; i++)
        if (!strcmp(r->lines[i].line, id))
            return &r->lines[i];
    return NULL;
}

/* A date the request gives (checked when parsed) into *d. */
static void override_date(const char *s, const char *k, date_days *d, cpqd_errs *errs)
{
    if (s && contract_date_text(s, d) != 0)
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s: must be a date YYYY-MM-DD", k);
}

/* The event dates the request gives line id. */
static int line_events(const accept_req *r, const char *id, sched_line *l, date_days **ms,
                       cpqd_errs *errs)
{
    const contract_override *o = override_of(r, id);
    if (!o)
        return 0;
    override_date(o->delivered_on, "delivered_on", &l->delivered_on, errs);
    override_date(o->accepted_on, "accepted_on", &l->accepted_on, errs);
    if (!o->has_milestones)
        return 0;
    if (l->mode != CAT_MODE_MILESTONE)
        return line_fail(errs, CPQD_EINVAL, id, "milestones given for a line without milestones");
    *ms = calloc(l->nmilestones ? l->nmilestones : 1, sizeof(**ms));
    if (!*ms)
        return CPQD_ENOMEM;
    size_t found = 0;
    for (size_t m = 0; m < l->nmilestones; m++) {
        (*ms)[m] = SCHED_NO_DATE;
        for (size_t k = 0; k < o->nms; k++)
            if (!strcmp(o->ms[k].id, l->milestones[m].id) && o->ms[k].on &&
                date_parse(o->ms[k].on, 10, &(*ms)[m]) == 0) {
                found++;
                break;
            }
    }
    if (found != o->nms)
        return line_fail(errs, CPQD_EINVAL, id, "unknown milestone id in milestones");
    l->milestone_accepted = *ms;
    return 0;
}

/* Mode-specific inputs of line i from its product and price book. */
static int line_mode_data(const svc_ctx *c, cbuild *b, size_t i, const cat_product *p,
                          const contract_priced_line *pl, date_days priced_on, cpqd_errs *errs)
{
    sched_line *l = &b->lines[i];
    const cat_price_book *book = book_of(p, pl->book);
    if (book && !b->has_rounding) {
        b->rounding = book->rounding;
        b->has_rounding = true;
    }
    if (l->mode == CAT_MODE_GOODS_WITH_SERVICE) {
        size_t cap = p->delivery.nservice_items, n = 0;
        b->svcs[i] = calloc(cap ? cap : 1, sizeof(sched_service));
        if (!b->svcs[i])
            return CPQD_ENOMEM;
        if (!book || sched_services_from_book(c->snap, book, p, priced_on, b->svcs[i], cap,
                                              &l->goods_weight, &n) != 0)
            return line_fail(errs, CPQD_ECONFLICT, b->ids[i],
                             "its price book or bundled services are not in the catalog");
        l->services = b->svcs[i];
        l->nservices = n;
    } else if (l->mode == CAT_MODE_USAGE) {
        const cat_pb_entry *e = entry_of(book, p->sku, priced_on);
        if (!e)
            return line_fail(errs, CPQD_ECONFLICT, b->ids[i],
                             "its price book entry is not in the catalog");
        if (e->has_tiers)
            l->tiers = e;
        l->unit_price = e->list;
        const char *tr = pl->tax_rate;
        if (!p->catalog->prices_include_tax && tr && money_parse(tr, strlen(tr), &l->tax_rate) != 0)
            return line_fail(errs, CPQD_EINTERNAL, b->ids[i], "stored tax rate unreadable");
    }
    return 0;
}

/* Who the quote is for, as far as payment terms go: its partner and the
 * customer segment it was priced with (borrowed from the quote). */
typedef struct line_who {
    const char *partner_id; /* NULL: none */
    char *segment;          /* NULL: none (owned) */
} line_who;

static const cat_term *term_in(const cat_catalog *cat, const char *id)
{
    for (size_t i = 0; id && i < cat->nterms; i++)
        if (!strcmp(cat->terms[i].id, id))
            return &cat->terms[i];
    return NULL;
}

/* The payment term of line id of product p (docs/receivables.md "Which
 * term applies"): the accept request's override, else the quote's
 * partner's, the line's price book's, the customer segment's, the
 * product's (already in l->term), else none (the mode's default). Term
 * ids are looked up in p's catalog; an unknown override is 400. */
static int line_term(const accept_req *r, const line_who *who, const cat_product *p,
                     const contract_priced_line *pl, const char *id, sched_line *l,
                     cpqd_errs *errs)
{
    const cat_catalog *cat = p->catalog;
    const contract_override *o = override_of(r, id);
    const char *ov = o ? o->payment_term : NULL;
    if (ov) {
        const cat_term *t = term_in(cat, ov);
        if (!t) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                     "line %.64s: unknown payment term '%.64s' (not in catalog '%s')", id, ov,
                     cat->id);
            return CPQD_EINVAL;
        }
        if (l)
            l->term = t;
        return 0;
    }
    if (!l)
        return 0;
    const char *named = NULL;
    for (size_t i = 0; who->partner_id && !named && i < cat->npartners; i++)
        if (!strcmp(cat->partners[i].id, who->partner_id))
            named = cat->partners[i].payment_term;
    const cat_price_book *book = NULL;
    const char *bookid = pl->book;
    for (size_t i = 0; bookid && !book && i < cat->nbooks; i++)
        if (!strcmp(cat->books[i].id, bookid))
            book = &cat->books[i];
    if (!named && book)
        named = book->payment_term;
    for (size_t i = 0; who->segment && !named && i < cat->nsegments; i++)
        if (!strcmp(cat->segments[i].id, who->segment))
            named = cat->segments[i].payment_term;
    if (named) {
        const cat_term *t = term_in(cat, named);
        if (!t) /* the loader refuses this: only a stale snapshot could */
            return line_fail(errs, CPQD_ECONFLICT, id, "its payment term is not in its catalog");
        l->term = t;
    }
    return 0;
}

/* Line i of the contract from priced line pl. */
static int line_build(const svc_ctx *c, const accept_req *r, const line_who *who, cbuild *b,
                      const contract_priced_line *pl, date_days priced_on, cpqd_errs *errs)
{
    size_t i = b->n;
    const char *id = pl->id, *sku = pl->sku, *tot = pl->total;
    money_dec total;
    if (!id || !sku || !tot || money_parse(tot, strlen(tot), &total) != 0)
        return line_fail(errs, CPQD_EINTERNAL, id ? id : "?", "stored priced line unreadable");
    const cat_product *p = cat_snapshot_product(c->snap, sku, strlen(sku));
    if (!p)
        return line_fail(errs, CPQD_ECONFLICT, id,
                         "its product is no longer in the catalogs: revise the quote");
    /* a billing day is a subscription's (docs/receivables.md "Partial
     * first period") */
    const contract_override *o = override_of(r, id);
    bool bd = o && o->has_bill_day;
    if (bd && p->delivery.mode != CAT_MODE_SUBSCRIPTION)
        return line_fail(errs, CPQD_EINVAL, id, "bill_day applies to subscription lines only");
    /* free items and zero totals have nothing to collect; usage lines
     * are priced per period later, whatever their estimate (an override
     * of their term is still checked) */
    if (pl->free_item ||
        (money_is_zero(total) && p->delivery.mode != CAT_MODE_USAGE))
        return line_term(r, who, p, pl, id, NULL, errs);
    b->ids[i] = id;
    b->n++;
    sched_line *l = &b->lines[i];
    if (sched_line_from_product(p, total, l) != 0)
        return line_fail(errs, CPQD_ECONFLICT, id, "its payment term is not in its catalog");
    l->id = id;
    l->start_on = r->start_on;
    if (bd)
        l->bill_day = o->bill_day;
    int rc = line_term(r, who, p, pl, id, l, errs);
    if (rc == 0)
        rc = line_mode_data(c, b, i, p, pl, priced_on, errs);
    if (rc == 0)
        rc = line_events(r, id, l, &b->ms[i], errs);
    if (rc == 0 && !b->has_rounding) {
        b->rounding = p->catalog->rounding;
        b->has_rounding = true;
    }
    return rc;
}

/* Every override names a line of the quote. */
static int overrides_known(const accept_req *r, const cbuild *b, cpqd_errs *errs)
{
    int rc = 0;
    for (size_t k = 0; k < r->nlines; k++) {
        bool found = false;
        for (size_t i = 0; i < b->nplines && !found; i++)
            found = b->plines[i].id && !strcmp(b->plines[i].id, r->lines[k].line);
        if (!found)
            rc = line_fail(errs, CPQD_EINVAL, r->lines[k].line, "no such line on the quote");
    }
    return rc;
}

/* contract_cbuild_make; lite: b->priced holds only what a contract and
 * promotion redemption read of it (contract_priced_read). */
static int cbuild_make(const svc_ctx *c, const accept_req *r, const store_quote *q, bool lite,
                       cbuild *b, cpqd_errs *errs)
{
    memset(b, 0, sizeof(*b));
    date_days priced_on;
    const char *pd = NULL;
    int rc = contract_priced_read(q, lite, b, &pd);
    if (rc == CPQD_ENOMEM)
        return rc;
    if (rc || contract_date_text(pd, &priced_on) != 0) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "quote %.64s: stored priced result unreadable",
                 q->id);
        return CPQD_EINTERNAL;
    }
    size_t n = b->nplines, cap = n ? n : 1;
    b->lines = calloc(cap, sizeof(*b->lines));
    b->svcs = calloc(cap, sizeof(*b->svcs));
    b->ms = calloc(cap, sizeof(*b->ms));
    b->ids = calloc(cap, sizeof(*b->ids));
    if (!b->lines || !b->svcs || !b->ms || !b->ids)
        return CPQD_ENOMEM;
    rc = overrides_known(r, b, errs);
    b->request = contract_request_read(q); /* read once: the promotions read it too */
    line_who who = {.partner_id = q->partner_id,
                    .segment = contract_request_segment(b->request, true)};
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = line_build(c, r, &who, b, &b->plines[i], priced_on, errs);
    free(who.segment);
    if (rc == 0 && b->n == 0)
        rc = contract_bad(errs, "the quote has no line with something to collect");
    return rc;
}

int contract_cbuild_make(const svc_ctx *c, const accept_req *r, const store_quote *q, cbuild *b,
                         cpqd_errs *errs)
{
    return cbuild_make(c, r, q, false, b, errs);
}

/* ---- contract rows from the schedule ---- */

void contract_rows_free(store_receivable *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        store_receivable_fini(&rows[i]);
    free(rows);
}

int contract_row_from_item(const cbuild *b, const sched_item *it, int minor, store_receivable *r)
{
    memset(r, 0, sizeof(*r));
    r->line_no = (int)it->line;
    r->service = (int)it->service, r->seq = (int)it->seq, r->part = (int)it->part;
    r->amount_known = it->amount_known;
    r->line_id = strdup(b->ids[it->line]);
    r->kind = strdup(sched_kind_name(it->kind));
    r->description = strdup(it->desc[0] ? it->desc : sched_kind_name(it->kind));
    r->ref = it->ref ? strdup(it->ref) : NULL;
    r->waits_for = it->waits_for != SCHED_WAIT_NONE ? strdup(sched_wait_name(it->waits_for)) : NULL;
    int rc = contract_fmt_money(it->amount, &r->amount);
    if (rc == 0)
        rc = contract_fmt_money((money_dec){0, minor}, &r->paid);
    date_days d[] = {it->due_on, it->bill_on, it->expected_on,
                     it->has_period ? it->period_from : SCHED_NO_DATE,
                     it->has_period ? it->period_to : SCHED_NO_DATE};
    char **f[] = {&r->due_on, &r->bill_on, &r->expected_on, &r->period_from, &r->period_to};
    for (int i = 0; rc == 0 && i < 5; i++)
        rc = contract_fmt_date(d[i], f[i]);
    if (rc == 0 && (!r->line_id || !r->kind || !r->description || (it->ref && !r->ref) ||
                    (it->waits_for != SCHED_WAIT_NONE && !r->waits_for)))
        rc = CPQD_ENOMEM;
    return rc;
}

static int rows_make(const cbuild *b, const sched_schedule *s, int minor, store_receivable **out)
{
    size_t n = s->items.n;
    store_receivable *rows = calloc(n ? n : 1, sizeof(*rows));
    int rc = rows ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = contract_row_from_item(b, &s->items.items[i], minor, &rows[i]);
    if (rc) {
        contract_rows_free(rows, n);
        return rc;
    }
    *out = rows;
    return 0;
}

static int year_of(date_days d)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    return y;
}

/* Fills the head of contract k from quote q and request r. */
static int head_make(const svc_ctx *c, const accept_req *r, const store_quote *q,
                     const sched_schedule *s, store_contract *k)
{
    memset(k, 0, sizeof(*k));
    k->quote_id = strdup(q->id);
    k->quote_version = q->version;
    k->customer_id = strdup(q->customer_id);
    k->partner_id = q->partner_id ? strdup(q->partner_id) : NULL;
    k->currency = strdup(q->currency);
    k->catalog_version = strdup(cat_snapshot_version(c->snap));
    k->request = contract_accept_text(r);
    k->created_by = strdup(c->caller->key_id ? c->caller->key_id : "anonymous");
    int rc = contract_fmt_money(s->total, &k->total);
    if (rc == 0)
        rc = contract_fmt_date(r->signed_on, &k->signed_on);
    if (rc == 0)
        rc = contract_fmt_date(r->start_on, &k->start_on);
    if (rc == 0 && (!k->quote_id || !k->customer_id || (q->partner_id && !k->partner_id) ||
                    !k->currency || !k->catalog_version || !k->request || !k->created_by))
        rc = CPQD_ENOMEM;
    return rc;
}

/* An acceptance computed outside the transaction from the quote as read:
 * the schedule and the contract's rows (what takes the time). */
typedef struct accept_prep {
    int version; /* of the quote it was computed on */
    cbuild b;
    sched_schedule s;
    store_contract k; /* id and number assigned by the insert */
    store_receivable *rows;
    quote_usage_plan *usage; /* the promotions to count */
    /* the reply (= contract.signed) and receivables.scheduled, with slots
     * for what the insert assigns (text NULL: built after it) */
    contract_tmpl body, scheduled;
} accept_prep;

static void accept_prep_fini(accept_prep *p)
{
    quote_usage_plan_free(p->usage);
    contract_tmpl_fini(&p->body);
    contract_tmpl_fini(&p->scheduled);
    contract_rows_free(p->rows, p->s.items.n);
    store_contract_fini(&p->k);
    sched_schedule_fini(&p->s);
    contract_cbuild_fini(&p->b);
    memset(p, 0, sizeof(*p));
}

/* The schedule and the contract rows of accepting q with request r. */
static int accept_prepare(svc_ctx *c, const accept_req *r, const store_quote *q, accept_prep *p,
                          cpqd_errs *errs)
{
    int minor = 2;
    memset(p, 0, sizeof(*p));
    p->version = q->version;
    /* the priced result is read once, for the schedule and the promotions */
    int rc = cbuild_make(c, r, q, true, &p->b, errs);
    if (rc == 0) {
        sched_contract sc = {.currency = q->currency,
                             .rounding = p->b.has_rounding ? p->b.rounding : MONEY_HALF_EVEN,
                             .signed_on = r->signed_on,
                             .lines = p->b.lines,
                             .nlines = p->b.n};
        rc = sched_contract_build(&sc, &p->s, errs);
    }
    /* no stored total can fail a later sum (docs/auth.md "Limits") */
    if (rc == 0 && !cat_amount_ok(p->s.total)) {
        errs_add(errs, CPQD_ELIMIT, NULL, 0, 0,
                 "the contract's total would be beyond the maximum amount %lld",
                 (long long)CAT_AMOUNT_MAX);
        rc = CPQD_ELIMIT;
    }
    if (rc == 0)
        rc = money_currency_minor(q->currency, &minor);
    if (rc == 0)
        rc = rows_make(&p->b, &p->s, minor, &p->rows);
    if (rc == 0)
        rc = head_make(c, r, q, &p->s, &p->k);
    if (rc == 0)
        rc = quote_usage_plan_new(q, p->b.priced, p->b.request,
                                  &p->usage); /* read once */
    /* the texts too, but for the few values the insert assigns (none:
     * they are built after it) */
    if (rc == 0 && contract_signed_tmpl(c, &p->k, p->rows, p->s.items.n, c->today, &p->body,
                                        &p->scheduled) == CPQD_ENOMEM)
        rc = CPQD_ENOMEM;
    return rc;
}

/* The insert and the events of prepared acceptance p of quote q (moved
 * to accepted in this transaction), in the open transaction; *out gets
 * the reply. */
static int accept_write(svc_ctx *c, const accept_req *r, const store_quote *q, accept_prep *p,
                        svc_reply *out, char **cid, cpqd_errs *errs)
{
    store_contract *k = &p->k;
    store_receivable *rows = p->rows;
    size_t n = p->s.items.n;
    int rc = store_contract_insert(c->st, k, year_of(r->signed_on), rows, n);
    if (rc != 0)
        errs_add(errs, rc, NULL, 0, 0, "cannot store the contract: %s", store_last_error(c->st));
    /* the promotions the customer got now count against their limits */
    if (rc == 0)
        rc = quote_usage_redeem(c, q, p->usage, errs);
    char *scheduled = NULL;
    /* the reply and the contract.signed event are the same text: built
     * before the transaction but for the values the insert assigned */
    if (rc == 0 && (contract_tmpl_fill(&p->body, k, rows, n, &out->body) != 0 ||
                    contract_tmpl_fill(&p->scheduled, k, rows, n, &scheduled) != 0)) {
        free(out->body);
        out->body = NULL;
        rc = contract_signed_text(c, k, rows, n, c->today, &out->body, &scheduled);
    }
    if (rc == 0)
        rc = contract_emit_text(c, "contract.signed", "contract", k->id, k->id, out->body);
    if (rc == 0)
        rc = contract_emit_text(c, "receivables.scheduled", "contract", k->id, k->id, scheduled);
    if (rc == 0) {
        out->created = 1;
        *cid = strdup(k->id);
        rc = *cid ? 0 : CPQD_ENOMEM;
    }
    free(scheduled);
    return rc;
}

/* ---- the routes ---- */

/* The money authority over the accept request: payment terms are money
 * (when it is due), so a partner accepts on the terms the catalog gives
 * its lines and never names its own (docs/auth.md "Money authority"). */
static int partner_overrides_refused(const accept_req *r, cpqd_errs *errs)
{
    for (size_t i = 0; i < r->nlines; i++) {
        if (r->lines[i].payment_term) {
            errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
                     "lines.%.64s.payment_term: a partner cannot choose payment terms; the "
                     "catalog's apply",
                     r->lines[i].line);
            return CPQD_EFORBIDDEN;
        }
    }
    return 0;
}

/* A partner whose catalog says `can_accept: false` does not accept: its
 * sales rep does, for it. Asked after the quote was found in the
 * caller's scope (another partner's quote stays a 404). */
static int partner_may_accept(const svc_ctx *c, cpqd_errs *errs)
{
    const char *cat = NULL;
    if (cat_snapshot_partner_can_accept(c->snap, c->caller->partner_id, &cat))
        return 0;
    errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
             "partner '%.64s' may not accept quotes (catalog %.64s: can_accept: false); its "
             "sales rep accepts for it",
             c->caller->partner_id, cat);
    return CPQD_EFORBIDDEN;
}

/* The event dates the accept request gives (delivered_on, accepted_on,
 * milestones) lie from signing to today + CONTRACT_DAYS_AHEAD, as those
 * reported later do. */
static int accept_dates_bounded(const svc_ctx *c, const accept_req *r, cpqd_errs *errs)
{
    static const char *const keys[] = {"delivered_on", "accepted_on"};
    char field[200];
    date_days d;
    for (size_t k = 0; k < r->nlines; k++) {
        const contract_override *o = &r->lines[k];
        const char *given[] = {o->delivered_on, o->accepted_on};
        for (size_t i = 0; i < 2; i++) {
            snprintf(field, sizeof(field), "lines.%.64s.%s", o->line, keys[i]);
            if (contract_date_text(given[i], &d) == 0 &&
                contract_date_bound(c, r->signed_on, field, d, errs) != 0)
                return CPQD_EINVAL;
        }
        for (size_t m = 0; m < o->nms; m++) {
            snprintf(field, sizeof(field), "lines.%.64s.milestones.%.64s", o->line, o->ms[m].id);
            if (contract_date_text(o->ms[m].on, &d) == 0 &&
                contract_date_bound(c, r->signed_on, field, d, errs) != 0)
                return CPQD_EINVAL;
        }
    }
    return 0;
}

typedef struct accept_job {
    const char *route, *idem_key, *hash, *quote_id;
    const accept_req *r;
    const store_quote *seen; /* the quote as read before the transaction */
    accept_prep *prep;       /* NULL: the quote could not be accepted as read */
} accept_job;

/* Inside the transaction: the quote's move (it must still be the version
 * the acceptance was prepared on), the contract with its receivables and
 * events, and the key's record. */
static int accept_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    const accept_job *j = arg;
    store_quote q = {0};
    char *cid = NULL;
    /* promotion usage is read (and spent) on the transaction's connection */
    quote_usage usage;
    quote_usage_init(&usage, c->st);
    c->usage = &usage.base;
    int rc = svc_idem_replay(c, j->route, j->idem_key, j->hash, out, errs);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* flat: a failure undoes all of it, unless what was written is kept
     * (an expired quote's marking: svc_tx_keep), complete by then */
    if ((rc = svc_flat_begin(c)) != 0)
        return rc;
    /* credit risk, inside the write transaction: over the customer's
     * limit, or flagged, needs a manager's approval first (fin_credit.c;
     * a quote outside the caller's scope is accept's to answer) */
    rc = fin_credit_accept_check(c, j->quote_id, errs);
    if (rc == 0)
        rc = quote_accept(c, j->quote_id, &q, errs);
    /* after quote_accept found the quote in the caller's scope */
    if (rc == 0 && contract_partner_caller(c))
        rc = partner_may_accept(c, errs);
    if (rc == 0 && (!j->prep || q.version != j->prep->version)) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "quote %.64s changed while its acceptance was prepared (now version %d): send "
                 "it again",
                 j->quote_id, q.version);
        rc = CPQD_ECONFLICT;
    }
    if (rc == 0)
        rc = accept_write(c, j->r, &q, j->prep, out, &cid, errs);
    /* the quote's move, once its contract exists: the event names it */
    if (rc == 0)
        rc = quote_accept_emit(c, j->seen, &q);
    if (rc == 0)
        rc = svc_idem_record(c, j->route, j->idem_key, j->hash, out, cid);
    rc = svc_flat_end(c, rc);
    free(cid);
    store_quote_fini(&q);
    return rc;
}

int contract_accept(svc_ctx *c, const char *quote_id, const char *body, size_t len,
                    const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128], hash[65];
    accept_req r;
    store_quote seen = {0};
    accept_prep prep = {0};
    bool prepared = false;
    memset(out, 0, sizeof(*out));
    snprintf(route, sizeof(route), "POST /v1/quotes/%.64s/accept", quote_id);
    /* the body is checked before anything is opened: a bad request
     * changes nothing, not even an expired quote's stored status */
    int rc = contract_accept_parse(body, len, &r, errs);
    if (rc == 0 && contract_partner_caller(c))
        rc = partner_overrides_refused(&r, errs);
    if (rc == 0)
        rc = svc_idem_peek(c, route, idem_key, body, len, hash, out, errs);
    /* after the replay of an Idempotency-Key: a retry days later still
     * gets its stored reply */
    if (rc == 0)
        rc = accept_dates_bounded(c, &r, errs);
    /* the schedule is computed before the write transaction, on the
     * quote as read; one that cannot be accepted gets its answer (and an
     * expired one its marking) from quote_accept inside it */
    if (rc == 0 && store_quote_get(c->st, quote_id, 0, &seen) == 0 &&
        contract_in_scope(c, seen.partner_id) && quote_acceptable(c, &seen))
        prepared = (rc = accept_prepare(c, &r, &seen, &prep, errs)) == 0;
    if (rc == 0) {
        accept_job j = {.route = route, .idem_key = idem_key, .hash = hash,
                        .quote_id = quote_id, .r = &r, .seen = seen.id ? &seen : NULL,
                        .prep = prepared ? &prep : NULL};
        rc = svc_tx(c, accept_run, &j, out, errs);
    }
    accept_prep_fini(&prep);
    store_quote_fini(&seen);
    contract_accept_fini(&r);
    return rc == 1 ? 0 : rc;
}

/* Contract id as the caller may see it, with its items. */
int contract_load(svc_ctx *c, const char *id, store_contract *k, store_receivable **rows,
                         size_t *n, cpqd_errs *errs)
{
    *rows = NULL;
    *n = 0;
    int rc = store_contract_get(c->st, id, k);
    if (rc == 0 && !contract_in_scope(c, k->partner_id)) {
        store_contract_fini(k);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND)
        errs_add(errs, rc, NULL, 0, 0, "no contract '%.64s'", id);
    if (rc == 0 && (rc = store_receivables_of(c->st, id, rows, n)) != 0)
        store_contract_fini(k);
    return rc;
}

int contract_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_contract k;
    store_receivable *rows;
    size_t n;
    memset(out, 0, sizeof(*out));
    int rc = contract_load(c, id, &k, &rows, &n, errs);
    if (rc)
        return rc;
    rc = contract_text(c, &k, rows, n, c->today, &out->body);
    /* its tag: the state it shows today (items, dates, payments) */
    char hex[DIGEST_SHA256_HEX_LEN];
    if (rc == 0 && digest_sha256_hex(out->body, strlen(out->body), hex) == 0)
        snprintf(out->etag, sizeof(out->etag), "\"%.16s\"", hex);
    contract_rows_free(rows, n);
    store_contract_fini(&k);
    return rc;
}

int contract_receivables(svc_ctx *c, const char *id, const char *as_of_s, svc_reply *out,
                         cpqd_errs *errs)
{
    store_contract k;
    store_receivable *rows;
    size_t n;
    date_days as_of;
    memset(out, 0, sizeof(*out));
    int rc = as_of_of(c, as_of_s, &as_of, errs);
    if (rc == 0)
        rc = contract_load(c, id, &k, &rows, &n, errs);
    if (rc)
        return rc;
    rc = contract_receivables_text(c, &k, rows, n, as_of, &out->body);
    contract_rows_free(rows, n);
    store_contract_fini(&k);
    return rc;
}

/* ---- payments ---- */

/* The payment and the item after it, with statuses as of the later of
 * today and the payment date (a payment dated ahead counts at once). */
static int pay_reply(svc_ctx *c, const store_payment *p, const char *rid, date_days paid_on,
                     int created, svc_reply *out)
{
    store_receivable r;
    sched_standing sd;
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0)
        rc = contract_row_standing(c, &r, paid_on > c->today ? paid_on : c->today, &sd);
    if (rc == 0) {
        out->created = created;
        out->body = contract_payment_text(p, &r, &sd);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    store_receivable_fini(&r);
    return rc;
}

/* The amount must be payable now: known, positive, within the currency's
 * places and the outstanding amount. new_paid gets the new total paid. */
static int pay_check(const store_receivable *r, const pay_req *p, money_dec *new_paid,
                     cpqd_errs *errs)
{
    money_dec amount, paid, norm;
    int minor = 2;
    if (money_currency_minor(r->currency, &minor) != 0 ||
        money_parse(r->amount, strlen(r->amount), &amount) != 0 ||
        money_parse(r->paid, strlen(r->paid), &paid) != 0)
        return contract_bad(errs, "stored receivable unreadable");
    if (money_normalize(p->amount, &norm) != 0 || norm.scale > minor) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "amount: %s has %d decimal places", r->currency,
                 minor);
        return CPQD_EINVAL;
    }
    if (!r->amount_known || money_sign(amount) <= 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "receivable '%.64s' has nothing to collect yet (amount %s%s)", r->id, r->amount,
                 r->amount_known ? "" : ", not known until its period closes");
        return CPQD_ECONFLICT;
    }
    if (money_add(paid, p->amount, new_paid) != 0 ||
        money_rescale(*new_paid, minor, MONEY_HALF_EVEN, new_paid) != 0 ||
        money_cmp(*new_paid, amount) > 0) {
        money_dec outs;
        char o[MONEY_FMT_MAX] = "?";
        if (money_sub(amount, paid, &outs) == 0)
            money_format(outs, o, sizeof(o));
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "overpayment: receivable '%.64s' has %s %s outstanding", r->id, o, r->currency);
        return CPQD_ECONFLICT;
    }
    return 0;
}

/* A payment id seen before on this item: the same payment again (200)
 * or a conflict. */
static int pay_replay(svc_ctx *c, const char *rid, const pay_req *p, store_payment *old,
                      svc_reply *out, cpqd_errs *errs)
{
    money_dec was;
    if (money_parse(old->amount, strlen(old->amount), &was) != 0 ||
        money_cmp(was, p->amount) != 0 || strcmp(old->paid_on, p->paid_on_text) != 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "payment id '%.64s' was already used with another amount or date", p->client_id);
        return CPQD_ECONFLICT;
    }
    return pay_reply(c, old, rid, p->paid_on, 0, out);
}

/* Writes event type about item r (standing sd), with its contract's
 * fields. */
static int emit_item(svc_ctx *c, const char *type, const store_receivable *r,
                     const sched_standing *sd)
{
    char *text = contract_item_text(r, sd);
    int rc = text ? contract_emit_text(c, type, "receivable", r->id, r->contract_id, text)
                  : CPQD_ENOMEM;
    free(text);
    return rc;
}

/* receivable.paid (the item, fully paid) or receivable.partially_paid
 * (something paid, something outstanding): the item with its contract's
 * fields. */
static int emit_paid(svc_ctx *c, const char *type, const char *rid, date_days as_of)
{
    store_receivable r;
    sched_standing sd;
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0)
        rc = contract_row_standing(c, &r, as_of, &sd);
    if (rc == 0)
        rc = emit_item(c, type, &r, &sd);
    store_receivable_fini(&r);
    return rc;
}

/* A new payment's value date lies from the contract's signing to today
 * + CONTRACT_DAYS_AHEAD (a replay keeps the date it was recorded with). */
static int pay_date_check(const svc_ctx *c, const store_receivable *r, const pay_req *p,
                          cpqd_errs *errs)
{
    store_contract k = {0};
    date_days signed_on;
    int rc = store_contract_get(c->st, r->contract_id, &k);
    if (rc == 0)
        rc = contract_date_text(k.signed_on, &signed_on) == 0 ? 0 : CPQD_EINTERNAL;
    if (rc == 0)
        rc = contract_date_bound(c, signed_on, "paid_on", p->paid_on, errs);
    store_contract_fini(&k);
    return rc;
}

static int pay_write(svc_ctx *c, const char *rid, const pay_req *p, svc_reply *out,
                     cpqd_errs *errs)
{
    store_receivable r;
    store_payment old, np = {0};
    money_dec new_paid, amount;
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0 && !contract_in_scope(c, r.partner_id)) {
        store_receivable_fini(&r);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND)
        errs_add(errs, rc, NULL, 0, 0, "no receivable '%.64s'", rid);
    if (rc)
        return rc;
    if ((rc = store_payment_get(c->st, rid, p->client_id, &old)) == 0) {
        rc = pay_replay(c, rid, p, &old, out, errs);
        store_payment_fini(&old);
        store_receivable_fini(&r);
        return rc;
    }
    if (rc == CPQD_ENOTFOUND)
        rc = pay_date_check(c, &r, p, errs);
    if (rc == 0)
        rc = pay_check(&r, p, &new_paid, errs);
    char np_text[MONEY_FMT_MAX], amt[MONEY_FMT_MAX];
    if (rc == 0 && (money_format(new_paid, np_text, sizeof(np_text)) < 0 ||
                    money_format(p->amount, amt, sizeof(amt)) < 0))
        rc = CPQD_ERANGE;
    if (rc == 0) {
        np = (store_payment){.receivable_id = r.id,
                             .client_id = (char *)p->client_id,
                             .amount = amt,
                             .paid_on = (char *)p->paid_on_text};
        rc = store_payment_add(c->st, &np, r.paid, np_text);
    }
    if (rc == 0)
        rc = pay_reply(c, &np, rid, p->paid_on, 1, out);
    if (rc == 0 && (rc = money_parse(r.amount, strlen(r.amount), &amount)) == 0)
        rc = emit_paid(c, money_cmp(new_paid, amount) == 0 ? "receivable.paid"
                                                           : "receivable.partially_paid",
                       rid, p->paid_on > c->today ? p->paid_on : c->today);
    free(np.id);
    free(np.created_at);
    store_receivable_fini(&r);
    return rc;
}

/* A payment, parsed outside the transaction. */
typedef struct pay_job {
    const char *rid;
    const pay_req *p;
} pay_job;

static int pay_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    pay_job *j = arg;
    return pay_write(c, j->rid, j->p, out, errs);
}

int contract_pay(svc_ctx *c, const char *rid, const char *body, size_t len, svc_reply *out,
                 cpqd_errs *errs)
{
    pay_req p;
    memset(out, 0, sizeof(*out));
    int rc = contract_pay_parse(body, len, &p, errs);
    if (rc == 0) {
        pay_job j = {.rid = rid, .p = &p};
        rc = svc_tx(c, pay_run, &j, out, errs);
    }
    contract_pay_fini(&p);
    return rc;
}

/* ---- due soon and overdue ---- */

typedef enum due_state { DUE_OVERDUE, DUE_SOON } due_state;

static int within_of(const char *s, int *days, cpqd_errs *errs)
{
    *days = CONTRACT_WITHIN_DEFAULT;
    if (!s)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0 || v > CONTRACT_WITHIN_MAX) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "within: days, an integer from 0 to %d",
                 CONTRACT_WITHIN_MAX);
        return CPQD_EINVAL;
    }
    *days = (int)v;
    return 0;
}

/* Whether row r is in state st as of as_of (due soon: due within days,
 * something outstanding, not overdue); *sd gets its standing. */
static int row_in_state(svc_ctx *c, const store_receivable *r, due_state st, date_days as_of,
                        int days, sched_standing *sd, bool *yes)
{
    *yes = false;
    int rc = contract_row_standing(c, r, as_of, sd);
    if (rc)
        return rc;
    date_days due = contract_opt_date(r->due_on);
    if (st == DUE_OVERDUE)
        *yes = sd->status == SCHED_ST_OVERDUE;
    else
        *yes = sd->status != SCHED_ST_OVERDUE && sd->status != SCHED_ST_PAID &&
               money_sign(sd->outstanding) > 0 && due >= as_of && due <= as_of + days;
    return 0;
}

#define DUE_PAGE_FULL 1 /* fn stops due_each: the page is full and one more follows */
#define DUE_CHUNK 256    /* rows read at a time */

/* Calls fn, in the list's order, for every item of the caller's (partner:
 * its own) in state st as of as_of, of customer and contract when given,
 * after the row from (NULL: from the start), until fn returns non-zero;
 * for an item whose standing cannot be computed (a damaged record: its
 * amount, kind or a payment unreadable), with sd NULL: one such item
 * stops the list of no one. Rows are read DUE_CHUNK at a time: a page
 * stops reading once full. */
static int due_each(svc_ctx *c, due_state st, date_days as_of, int days, const char *customer,
                    const char *contract, const store_receivable *from,
                    int (*fn)(svc_ctx *c, const store_receivable *r, const sched_standing *sd,
                              void *ctx),
                    void *ctx)
{
    char until[DATE_FMT_LEN];
    store_receivable *rows = NULL, *prev = NULL;
    size_t n = 0, prev_n = 0;
    date_format(st == DUE_OVERDUE ? as_of - 1 : as_of + days, until);
    store_due_filter f = {
        .until = until,
        .partner = contract_partner_caller(c)
                       ? (c->caller->partner_id ? c->caller->partner_id : "")
                       : NULL,
        .customer = customer,
        .contract = contract,
        .after = from,
        .limit = DUE_CHUNK,
    };
    int rc = 0;
    for (;;) {
        rc = store_receivables_due_page(c->st, &f, &rows, &n);
        contract_rows_free(prev, prev_n); /* f.after pointed into it */
        prev = NULL, prev_n = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            sched_standing sd;
            bool yes;
            rc = row_in_state(c, &rows[i], st, as_of, days, &sd, &yes);
            if (rc == 0 && yes)
                rc = fn(c, &rows[i], &sd, ctx);
            else if (rc != 0 && rc != CPQD_EIO && rc != CPQD_ENOMEM)
                rc = fn(c, &rows[i], NULL, ctx);
        }
        if (rc != 0 || n < DUE_CHUNK)
            break;
        prev = rows, prev_n = n, f.after = &rows[n - 1];
        rows = NULL, n = 0;
    }
    contract_rows_free(rows, n);
    return rc;
}

/* One page of a due list being gathered (due_each's ctx). */
typedef struct due_page {
    const contract_due_query *q;
    store_receivable *from; /* the cursor's item: list only rows after it */
    struct json_t *items;
    struct json_t *damaged; /* the items whose standing cannot be computed; NULL: none */
    size_t n;
    const char *next; /* the last item of a full page, once one more follows */
    char next_id[STORE_RECV_ID_LEN];
} due_page;

static int list_add(svc_ctx *c, const store_receivable *r, const sched_standing *sd, void *ctx)
{
    (void)c;
    due_page *pg = ctx;
    if (pg->n == pg->q->page.limit)
        return DUE_PAGE_FULL; /* a damaged item then comes on the next page */
    if (!sd)
        return contract_list_add_damaged(&pg->damaged, r->id, CONTRACT_STANDING_DAMAGED);
    int rc = contract_list_add_item(pg->items, r, sd);
    if (rc)
        return rc;
    snprintf(pg->next_id, sizeof(pg->next_id), "%s", r->id);
    pg->n++;
    return 0;
}

static int state_of(const char *s, due_state *st, cpqd_errs *errs)
{
    if (s && !strcmp(s, "overdue"))
        *st = DUE_OVERDUE;
    else if (s && !strcmp(s, "due_soon"))
        *st = DUE_SOON;
    else
        return contract_bad(errs, "status: required, overdue or due_soon");
    return 0;
}

/* The cursor's item, which the caller may see, into pg->from; 400 else. */
static int due_cursor(svc_ctx *c, due_page *pg, cpqd_errs *errs)
{
    if (!pg->q->page.after)
        return 0;
    store_receivable *r = calloc(1, sizeof(*r));
    int rc = r ? store_receivable_get(c->st, pg->q->page.after, r) : CPQD_ENOMEM;
    if (rc == 0 && !contract_in_scope(c, r->partner_id)) {
        store_receivable_fini(r);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == 0) {
        pg->from = r;
        return 0;
    }
    free(r);
    return rc == CPQD_ENOTFOUND
               ? contract_bad(errs, "after: not the `next` of a page of this list")
               : rc;
}

int contract_due_list(svc_ctx *c, const contract_due_query *q, svc_reply *out, cpqd_errs *errs)
{
    due_state st = DUE_OVERDUE;
    date_days as_of = c->today;
    int days = 0;
    due_page pg = {.q = q};
    memset(out, 0, sizeof(*out));
    int rc = state_of(q->status, &st, errs);
    if (rc == 0)
        rc = as_of_of(c, q->as_of, &as_of, errs);
    if (rc == 0)
        rc = within_of(q->within, &days, errs);
    if (rc == 0)
        rc = due_cursor(c, &pg, errs);
    if (rc == 0)
        rc = (pg.items = contract_list_new())
                 ? due_each(c, st, as_of, days, q->customer, q->contract, pg.from, list_add, &pg)
                 : CPQD_ENOMEM;
    if (rc == DUE_PAGE_FULL)
        rc = 0, pg.next = pg.next_id;
    if (pg.from)
        store_receivable_fini(pg.from);
    free(pg.from);
    char d[DATE_FMT_LEN];
    date_format(as_of, d);
    if (rc == 0) {
        out->body = contract_due_text(q->status, d, pg.items, pg.damaged, pg.next,
                                      st == DUE_SOON ? days : -1);
        return out->body ? 0 : CPQD_ENOMEM;
    }
    contract_json_free(pg.items);
    contract_json_free(pg.damaged);
    return rc;
}

/* ---- the sweep, one item at a time ---- */

/* Whether item was failing before this run. */
static bool was_failing(const sweep_run *w, const char *item)
{
    for (size_t i = 0; i < w->nfailing; i++)
        if (!strcmp(w->failing[i].item, item))
            return true;
    return false;
}

/* Records the failure (code, first message of why) of item and reports
 * it: in the table, as an event when it starts failing, in the reply. */
static int sweep_failed(svc_ctx *c, sweep_run *w, const char *item, const char *kind,
                        const char *contract_id, const char *ref, int code, cpqd_errs *why)
{
    char msg[600] = "", as_of[DATE_FMT_LEN];
    size_t len = 0;
    for (size_t i = 0; i < errs_count(why) && len < sizeof(msg) - 1; i++) {
        int k =
            snprintf(msg + len, sizeof(msg) - len, "%s%s", i ? "; " : "", errs_get(why, i)->msg);
        len += k > 0 ? (size_t)k : 0;
    }
    if (!*msg)
        snprintf(msg, sizeof(msg), "%s",
                 *store_last_error(c->st) ? store_last_error(c->st) : err_code_name(code));
    store_sweep_failure f = {.item = (char *)item,
                             .kind = (char *)kind,
                             .contract_id = (char *)contract_id,
                             .ref = (char *)ref,
                             .code = (char *)err_code_name(code),
                             .message = msg};
    bool first = false;
    char *ev = NULL;
    date_format(w->as_of, as_of);
    int rc = store_sweep_failure_add(c->st, &f, &first);
    if (rc == 0)
        rc = contract_sweep_failed_add(w, &f, first ? as_of : NULL, &ev);
    if (rc == 0 && ev)
        rc = contract_emit_text(c, "sweep.item_failed", "contract", contract_id, contract_id, ev);
    free(ev);
    return rc;
}

/* The outcome rc of item "<kind>:<key>" (why: its errors): an earlier
 * failure resolved, or this one recorded; CPQD_EIO and CPQD_ENOMEM
 * passed on. */
static int sweep_outcome(svc_ctx *c, sweep_run *w, const char *kind, const char *contract_id,
                         const char *key, const char *ref, int rc, cpqd_errs *why)
{
    char item[256];
    snprintf(item, sizeof(item), "%s:%s", kind, key);
    if (rc == 0)
        return was_failing(w, item) ? store_sweep_failure_resolve(c->st, item) : 0;
    if (rc == CPQD_EIO || rc == CPQD_ENOMEM)
        return rc;
    return sweep_failed(c, w, item, kind, contract_id, ref, rc, why);
}

int contract_sweep_item(svc_ctx *c, sweep_run *w, const char *kind, const char *contract_id,
                        const char *key, const char *ref,
                        int (*fn)(svc_ctx *c, void *arg, cpqd_errs *errs), void *arg, bool *done)
{
    cpqd_errs *why = errs_new();
    if (!why)
        return CPQD_ENOMEM;
    int rc = store_scope_begin(c->st);
    if (rc == 0)
        rc = store_scope_end(c->st, fn(c, arg, why));
    if (done)
        *done = rc == 0;
    rc = sweep_outcome(c, w, kind, contract_id, key, ref, rc, why);
    errs_free(why);
    return rc;
}

typedef struct sweep_warn {
    const store_receivable *r;
    const sched_standing *sd;
    const char *state; /* "overdue", "due_soon" */
    size_t *emitted;
} sweep_warn;

/* Writes the warning of an item in its state, once per item and state. */
static int warn_write(svc_ctx *c, void *arg, cpqd_errs *errs)
{
    sweep_warn *x = arg;
    bool first = false;
    char type[40];
    (void)errs;
    int rc = store_receivable_warn(c->st, x->r->id, x->state, &first);
    if (rc || !first)
        return rc;
    snprintf(type, sizeof(type), "receivable.%s", x->state);
    rc = emit_item(c, type, x->r, x->sd);
    *x->emitted += rc == 0;
    return rc;
}

/* Warns about every item in state st as of as_of (all partners). Each
 * is an item of the sweep: its standing is computed (a receivable that
 * cannot be read fails alone), and only one in that state writes, in a
 * scope of its own. */
static int warn_due(svc_ctx *c, sweep_run *w, due_state st, int days, size_t *emitted)
{
    const char *state = st == DUE_OVERDUE ? "overdue" : "due_soon";
    char until[DATE_FMT_LEN], key[96];
    store_receivable *rows = NULL;
    size_t n = 0;
    date_format(st == DUE_OVERDUE ? w->as_of - 1 : w->as_of + days, until);
    int rc = store_receivables_due_until(c->st, until, NULL, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const store_receivable *r = &rows[i];
        sched_standing sd;
        bool yes = false;
        snprintf(key, sizeof(key), "%s:%s", r->id, state);
        int r0 = row_in_state(c, r, st, w->as_of, days, &sd, &yes);
        if (r0 == 0 && yes) {
            sweep_warn x = {r, &sd, state, emitted};
            rc = contract_sweep_item(c, w, "warning", r->contract_id, key, r->id, warn_write, &x,
                                     NULL);
            continue;
        }
        cpqd_errs *why = r0 ? errs_new() : NULL;
        if (why)
            errs_add(why, r0, NULL, 0, 0, "receivable '%.64s': %s", r->id,
                     CONTRACT_STANDING_DAMAGED);
        rc = r0 && !why ? CPQD_ENOMEM
                        : sweep_outcome(c, w, "warning", r->contract_id, key, r->id, r0, why);
        errs_free(why);
    }
    contract_rows_free(rows, n);
    return rc;
}

static void sweep_run_fini(sweep_run *w)
{
    for (size_t i = 0; i < w->nfailing; i++)
        store_sweep_failure_fini(&w->failing[i]);
    free(w->failing);
    contract_json_free(w->failed);
}

int contract_sweep(svc_ctx *c, const char *body, size_t len, svc_reply *out, cpqd_errs *errs)
{
    sweep_run w = {.as_of = c->today};
    int days = CONTRACT_WITHIN_DEFAULT;
    memset(out, 0, sizeof(*out));
    int rc = contract_sweep_parse(body, len, CONTRACT_WITHIN_MAX, &w.as_of, &days, errs);
    if (rc || (rc = store_begin(c->st)))
        return rc;
    contract_sweep_counts n = {0};
    rc = store_sweep_failures_list(c->st, "failing", 0, &w.failing, &w.nfailing);
    /* usage periods that ended are closed and terms that ended renewed
     * first, so that their items can be warned about in the same sweep;
     * each period, line and warning is an item of its own: one that
     * fails is recorded and the others go on */
    if (rc == 0)
        rc = contract_usage_close_due(c, &w, &n.closed);
    if (rc == 0)
        rc = contract_renew_due(c, &w, &n.renewed);
    if (rc == 0)
        rc = warn_due(c, &w, DUE_OVERDUE, days, &n.overdue);
    if (rc == 0)
        rc = warn_due(c, &w, DUE_SOON, days, &n.due_soon);
    /* invoices the catalogs' policy issues, revenue recognised */
    if (rc == 0)
        rc = fin_sweep(c, &w, &n.invoiced, &n.posted);
    if (rc == 0)
        rc = store_commit(c->st);
    metrics_sweep_run(rc == 0, rc ? 0 : w.nfailed);
    if (rc) {
        store_rollback(c->st);
        errs_add(errs, rc, NULL, 0, 0, "sweep: %s", store_last_error(c->st));
        sweep_run_fini(&w);
        return rc;
    }
    char d[DATE_FMT_LEN];
    date_format(w.as_of, d);
    out->body = contract_sweep_text(d, days, &n, &w);
    sweep_run_fini(&w);
    return out->body ? 0 : CPQD_ENOMEM;
}

/* GET /v1/receivables/sweep/failures */
int contract_sweep_failures(svc_ctx *c, const char *status, const svc_page *pg, svc_reply *out,
                            cpqd_errs *errs)
{
    store_sweep_failure *v = NULL;
    size_t n = 0, first = 0, shown = 0;
    memset(out, 0, sizeof(*out));
    if (status && strcmp(status, "failing") && strcmp(status, "resolved"))
        return contract_bad(errs, "status: failing or resolved");
    int rc = store_sweep_failures_list(c->st, status, 0, &v, &n);
    if (rc == 0 && pg->after) {
        while (first < n && strcmp(v[first].item, pg->after))
            first++;
        if (first++ == n)
            rc = contract_bad(errs, "after: not the `next` of a page of this list");
    }
    if (rc == 0) {
        shown = n - first < pg->limit ? n - first : pg->limit;
        bool more = first + shown < n;
        out->body = contract_failures_text(shown ? v + first : NULL, shown,
                                           more ? v[first + shown - 1].item : NULL);
    }
    for (size_t i = 0; i < n; i++)
        store_sweep_failure_fini(&v[i]);
    free(v);
    return rc ? rc : out->body ? 0 : CPQD_ENOMEM;
}

int contract_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs)
{
    date_days d = 0;
    int days = 0, rc;
    if (!strcmp(what, "accept")) {
        accept_req r;
        rc = contract_accept_parse(body, len, &r, errs);
        contract_accept_fini(&r);
    } else if (!strcmp(what, "pay")) {
        pay_req p;
        rc = contract_pay_parse(body, len, &p, errs);
        contract_pay_fini(&p);
    } else if (!strcmp(what, "sweep")) {
        rc = contract_sweep_parse(body, len, CONTRACT_WITHIN_MAX, &d, &days, errs);
    } else if ((rc = contract_after_body_check(what, body, len, errs)) == CPQD_ENOTFOUND) {
        rc = contract_term_body_check(what, body, len, errs);
    }
    return rc;
}
