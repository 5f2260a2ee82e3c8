/*
 * contract_term: the term changes of a subscription line after signing
 * (docs/receivables.md "Renewals and seat changes"): renewing a line for
 * its next term (by the route, or by the sweep for auto_renew lines) and
 * mid-term seat changes.
 *
 * Owns: which term of a line a date falls in; the period amount and the
 * seats in force at a date (the quote's line, then each renewal and seat
 * change in date order); idempotency of renewals (per term) and seat
 * changes (per change id); their rows, items and events. Does not own:
 * the period arithmetic (sched_line_renew, sched_seat_change), the rows
 * (store), rebuilding the contract (contract_after.c).
 *
 * Invariant: each renewal or seat change is one contract_line_changes
 * row written in the transaction of the items it adds or reprices, of
 * the contract total that follows them and of its event; a replay writes
 * nothing. Amounts in force are always computed from the term's base
 * (its price and seats), never from the previous change, so returning to
 * the base seats gives back the base amount exactly.
 */
#include "contract_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renewals one sweep makes per line at most (a monthly line 100 years
 * behind); the next sweep continues. */
#define RENEW_CATCHUP_MAX SCHED_MAX_MONTHS

/* The contract's term changes, and the line they are read for. */
typedef struct terms {
    store_line_change *ch; /* every change of the contract, by line then date */
    size_t n;
    size_t li;
    int renewed;     /* the line's last renewed term (0: none) */
    money_dec base0; /* the quote line's period amount (term 0) */
    money_dec qty0;  /* the quote line's seats */
} terms;

static void terms_fini(terms *t)
{
    for (size_t i = 0; i < t->n; i++)
        store_line_change_fini(&t->ch[i]);
    free(t->ch);
    memset(t, 0, sizeof(*t));
}

static int dec_of(const char *s, money_dec *v)
{
    return s && money_parse(s, strlen(s), v) == 0 ? 0 : CPQD_EINTERNAL;
}

/* The stored priced line of contract line li, or NULL. */
static const contract_priced_line *priced_line(const contract_after *a, size_t li)
{
    for (size_t i = 0; i < a->b.nplines; i++) {
        const char *id = a->b.plines[i].id;
        if (id && !strcmp(id, a->b.ids[li]))
            return &a->b.plines[i];
    }
    return NULL;
}

/* The product sku of contract line li, or NULL. */
static const char *line_sku(const contract_after *a, size_t li)
{
    const contract_priced_line *pl = priced_line(a, li);
    return pl ? pl->sku : NULL;
}

/* The end of a term change: on success the reply is res (taken either
 * way); the loaded terms and contract are freed. */
static int term_done(int rc, int created, char *res, terms *t, contract_after *a,
                     svc_reply *out)
{
    if (rc == 0) {
        out->created = created;
        out->body = res;
    } else {
        free(res);
    }
    terms_fini(t);
    contract_after_fini(a);
    return rc;
}

static int terms_load(svc_ctx *c, const contract_after *a, size_t li, terms *t)
{
    memset(t, 0, sizeof(*t));
    t->li = li;
    t->base0 = a->b.lines[li].total;
    const contract_priced_line *pl = priced_line(a, li);
    int rc = dec_of(pl ? pl->quantity : NULL, &t->qty0);
    if (rc == 0 && money_sign(t->qty0) <= 0)
        rc = CPQD_EINTERNAL;
    if (rc == 0)
        rc = store_line_changes_of(c->st, a->k.id, &t->ch, &t->n);
    for (size_t i = 0; rc == 0 && i < t->n; i++)
        if ((size_t)t->ch[i].line_no == li && !strcmp(t->ch[i].kind, "renewal") &&
            t->ch[i].term_no > t->renewed)
            t->renewed = t->ch[i].term_no;
    return rc;
}

static const store_line_change *renewal_of(const terms *t, int term)
{
    for (size_t i = 0; i < t->n; i++)
        if ((size_t)t->ch[i].line_no == t->li && !strcmp(t->ch[i].kind, "renewal") &&
            t->ch[i].term_no == term)
            return &t->ch[i];
    return NULL;
}

/* The line's last seat change (latest effective date), or NULL. */
static const store_line_change *last_seats(const terms *t)
{
    const store_line_change *last = NULL;
    for (size_t i = 0; i < t->n; i++)
        if ((size_t)t->ch[i].line_no == t->li && !strcmp(t->ch[i].kind, "seats"))
            last = &t->ch[i]; /* rows come by effective date */
    return last;
}

static int seat_changes_count(const terms *t)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += (size_t)t->ch[i].line_no == t->li && !strcmp(t->ch[i].kind, "seats");
    return n;
}

/* The period amount and seats in force on day `on` of term `term`: the
 * term's base (the quote line, or its renewal), then the latest seat
 * change of that term effective on or before `on`. */
static int in_force(const terms *t, int term, date_days on, money_dec *amount, money_dec *qty)
{
    char d[DATE_FMT_LEN];
    const store_line_change *base = term > 0 ? renewal_of(t, term) : NULL;
    int rc = 0;
    *amount = t->base0, *qty = t->qty0;
    if (term > 0 && (!base || (rc = dec_of(base->period_amount, amount)) != 0 ||
                     (rc = dec_of(base->quantity, qty)) != 0))
        return rc ? rc : CPQD_EINTERNAL;
    date_format(on, d);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const store_line_change *ch = &t->ch[i];
        if ((size_t)ch->line_no == t->li && !strcmp(ch->kind, "seats") && ch->term_no == term &&
            strcmp(ch->effective_on, d) <= 0) {
            rc = dec_of(ch->period_amount, amount);
            if (rc == 0)
                rc = dec_of(ch->quantity, qty);
        }
    }
    return rc;
}

/* The money authority over an amount the caller sets for line li in
 * place of the one the service would set (price_change_check, the rule
 * quotes follow too): 0 when allowed, else CPQD_EFORBIDDEN with the
 * reason and who may do it. */
static int amount_authorized(svc_ctx *c, const contract_after *a, size_t li, date_days on,
                             money_dec qty, money_dec reference, money_dec asked,
                             cpqd_errs *errs)
{
    if (money_cmp(reference, asked) == 0)
        return 0;
    const char *sku = line_sku(a, li);
    const cat_product *p = sku ? cat_snapshot_product(c->snap, sku, strlen(sku)) : NULL;
    const svc_caller *k = c->caller;
    char *segment = contract_quote_segment(&a->q, false);
    price_who who = svc_who(k);
    price_change ch = {.field = "period_amount",
                       .product = p,
                       .currency = a->k.currency,
                       .on = on,
                       .qty = qty,
                       .reference = reference,
                       .asked = asked,
                       .customer_id = a->q.customer_id,
                       .segment = segment,
                       .partner_id = a->q.partner_id};
    price_verdict v;
    int rc = p ? price_change_check(c->snap, &who, &ch, &v) : CPQD_EINTERNAL;
    free(segment);
    if (rc == 0 && !v.allowed) {
        if (v.level)
            errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0, "%s; a %s may set it", v.reason, v.level);
        else
            errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0, "%s", v.reason);
        return CPQD_EFORBIDDEN;
    }
    if (rc == CPQD_EINTERNAL)
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "line '%.64s': its product is not in the catalog",
                 a->b.ids[li]);
    return rc;
}

/* The periods of term `term` of line li (0: as signed, with any stub). */
static int term_items(contract_after *a, size_t li, int term, money_dec amount, sched_list *out,
                      cpqd_errs *errs)
{
    if (term == 0)
        return sched_line_build(&a->sc, li, out, NULL, errs);
    return sched_line_renew(&a->sc, li, (unsigned)term, amount, out, errs);
}

/* Term `term`'s days [*lo, *hi) of line li. */
static int term_bounds(contract_after *a, size_t li, int term, date_days *lo, date_days *hi,
                       cpqd_errs *errs)
{
    sched_list l = {0};
    int rc = term_items(a, li, term, a->b.lines[li].total, &l, errs);
    *lo = SCHED_NO_DATE, *hi = SCHED_NO_DATE;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const sched_item *it = &l.items[i];
        if (!it->has_period)
            continue;
        if (*lo == SCHED_NO_DATE || it->period_from < *lo)
            *lo = it->period_from;
        if (*hi == SCHED_NO_DATE || it->period_to > *hi)
            *hi = it->period_to;
    }
    if (rc == 0 && *lo == SCHED_NO_DATE)
        rc = CPQD_EINTERNAL;
    sched_list_fini(&l);
    return rc;
}

static int money_text(money_dec v, int minor, char *buf, size_t cap)
{
    money_dec r;
    if (money_rescale(v, minor, MONEY_HALF_EVEN, &r) != 0 || money_format(r, buf, cap) < 0)
        return CPQD_ERANGE;
    return 0;
}

/* ---- renewals ---- */

/* {"contract_id",…,"term","term_from","term_to","period_amount",…,"items"}
 * of renewal ch of line li. */
static int renewal_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                        char **out, cpqd_errs *errs)
{
    sched_list l = {0};
    money_dec amount;
    date_days lo, hi;
    char from[DATE_FMT_LEN], to[DATE_FMT_LEN];
    int rc = dec_of(ch->period_amount, &amount);
    if (rc == 0)
        rc = term_items(a, li, ch->term_no, amount, &l, errs);
    if (rc == 0)
        rc = term_bounds(a, li, ch->term_no, &lo, &hi, errs);
    if (rc == 0) {
        date_format(lo, from);
        date_format(hi, to);
        rc = contract_renewal_text(c, a, li, ch, from, to, &l, out);
    }
    sched_list_fini(&l);
    return rc;
}

/* Adds the items of list (new keys) to the contract. */
static int items_add(svc_ctx *c, contract_after *a, const sched_list *list)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < list->n; i++) {
        store_receivable nr;
        if ((rc = contract_row_from_item(&a->b, &list->items[i], a->minor, &nr)) == 0)
            rc = store_receivables_add(c->st, a->k.id, &nr, 1);
        store_receivable_fini(&nr);
    }
    return rc;
}

/* Writes renewal `term` of line li (the next one) at amount (NULL: the
 * amount in force at the end of the previous term): items, change row,
 * contract total, event contract.renewed. *text (if wanted) gets the
 * renewal. */
static int renew_write(svc_ctx *c, contract_after *a, terms *t, int term, const money_dec *amount,
                       const char *source, char **text, cpqd_errs *errs)
{
    sched_list l = {0};
    date_days lo = SCHED_NO_DATE, hi = SCHED_NO_DATE;
    money_dec prev = {0, 0}, qty = {0, 0}, amt;
    char am[MONEY_FMT_MAX] = "", pv[MONEY_FMT_MAX] = "", q[MONEY_FMT_MAX] = "", id[32];
    char from[DATE_FMT_LEN] = "";
    char *ev = NULL;
    int rc = term_bounds(a, t->li, term - 1, &lo, &hi, errs);
    if (rc == 0)
        rc = in_force(t, term - 1, hi - 1, &prev, &qty);
    amt = amount ? *amount : prev;
    if (rc == 0)
        rc = term_items(a, t->li, term, amt, &l, errs);
    if (rc == 0 && amount) /* a renewal price other than the one in force */
        rc = amount_authorized(c, a, t->li, hi, qty, prev, amt, errs);
    if (rc == 0)
        rc = items_add(c, a, &l);
    if (rc == 0 && ((rc = money_text(amt, a->minor, am, sizeof(am))) != 0 ||
                    (rc = money_text(prev, a->minor, pv, sizeof(pv))) != 0 ||
                    money_format(qty, q, sizeof(q)) < 0))
        rc = rc ? rc : CPQD_ERANGE;
    if (rc == 0)
        date_format(hi, from); /* the new term starts where the previous one ends */
    snprintf(id, sizeof(id), "%zu:%d", t->li, term);
    store_line_change ch = {.contract_id = a->k.id,
                            .kind = "renewal",
                            .client_id = id,
                            .line_no = (int)t->li,
                            .term_no = term,
                            .effective_on = from,
                            .quantity = q,
                            .old_quantity = q,
                            .period_amount = am,
                            .old_amount = pv,
                            .source = (char *)source,
                            .created_by =
                                (char *)(c->caller->key_id ? c->caller->key_id : "anonymous")};
    if (rc == 0)
        rc = store_line_change_add(c->st, &ch);
    if (rc == 0)
        rc = contract_total_update(c, a, errs);
    if (rc == 0)
        rc = renewal_text(c, a, t->li, &ch, &ev, errs);
    if (rc == 0)
        rc = contract_emit_text(c, "contract.renewed", "contract", a->k.id, a->k.id, ev);
    if (rc == 0 && text) {
        *text = ev;
        ev = NULL;
    }
    free(ev);
    free(ch.created_at);
    sched_list_fini(&l);
    return rc;
}

static int renew_run(svc_ctx *c, void *ctx, svc_reply *out, cpqd_errs *errs)
{
    contract_renew_req *r = ctx;
    contract_after a;
    terms t = {0};
    size_t li = 0;
    char *res = NULL;
    int created = 0;
    int rc = contract_after_open(c, r->contract_id, &a, errs);
    if (rc == 0)
        rc = contract_line_find(&a, r->line, &li, errs);
    if (rc == 0 && a.b.lines[li].mode != CAT_MODE_SUBSCRIPTION)
        rc = contract_wrong_mode(&a, li, "renewal terms", errs);
    if (rc == 0)
        rc = terms_load(c, &a, li, &t);
    int term = r->term ? r->term : t.renewed + 1;
    const store_line_change *old = rc == 0 ? renewal_of(&t, term) : NULL;
    money_dec was;
    if (rc == 0 && old && r->has_amount &&
        (dec_of(old->period_amount, &was) != 0 || money_cmp(was, r->amount) != 0)) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "line '%.64s': term %d was already renewed at %s per period", r->line, term,
                 old->period_amount);
        rc = CPQD_ECONFLICT;
    } else if (rc == 0 && old) {
        rc = renewal_text(c, &a, li, old, &res, errs);
    } else if (rc == 0 && term > t.renewed + 1) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "line '%.64s': term %d cannot be renewed before term %d", r->line, term,
                 t.renewed + 1);
        rc = CPQD_ECONFLICT;
    } else if (rc == 0) {
        rc = renew_write(c, &a, &t, term, r->has_amount ? &r->amount : NULL, "api", &res, errs);
        created = 1;
    }
    return term_done(rc, created, res, &t, &a, out);
}

int contract_line_renew(svc_ctx *c, const char *id, const char *line, const char *body,
                        size_t len, svc_reply *out, cpqd_errs *errs)
{
    contract_renew_req r = {.contract_id = id, .line = line};
    memset(out, 0, sizeof(*out));
    int rc = contract_renew_parse(body, len, &r, errs);
    if (rc == 0)
        rc = svc_tx(c, renew_run, &r, out, errs);
    contract_json_free(r.root);
    return rc;
}

/* Whether line li's product renews by itself (catalog auto_renew). */
static bool auto_renews(const svc_ctx *c, const contract_after *a, size_t li)
{
    const char *sku = line_sku(a, li);
    const cat_product *p = sku ? cat_snapshot_product(c->snap, sku, strlen(sku)) : NULL;
    return p && p->delivery.mode == CAT_MODE_SUBSCRIPTION && p->delivery.auto_renew;
}

/* Renews line li of contract cid term after term while its last term
 * ended on or before as_of. */
static int renew_line_due(svc_ctx *c, const char *cid, size_t li, date_days as_of,
                          size_t *renewed, cpqd_errs *errs)
{
    contract_after a;
    int rc = contract_after_open(c, cid, &a, errs);
    if (rc == 0 &&
        (li >= a.b.n || a.b.lines[li].mode != CAT_MODE_SUBSCRIPTION || !auto_renews(c, &a, li))) {
        contract_after_fini(&a);
        return 0;
    }
    for (int k = 0; rc == 0 && k < RENEW_CATCHUP_MAX; k++) {
        terms t;
        date_days lo, hi;
        rc = terms_load(c, &a, li, &t);
        if (rc == 0)
            rc = term_bounds(&a, li, t.renewed, &lo, &hi, errs);
        bool due = rc == 0 && hi <= as_of;
        if (due && (rc = renew_write(c, &a, &t, t.renewed + 1, NULL, "sweep", NULL, errs)) == 0)
            (*renewed)++;
        terms_fini(&t);
        if (!due)
            break;
    }
    contract_after_fini(&a);
    return rc;
}

typedef struct renew_item {
    const char *cid;
    size_t li;
    date_days as_of;
    size_t renewed;
} renew_item;

/* One sweep item: line li of contract cid renewed until it reaches past
 * as_of. */
static int renew_item_run(svc_ctx *c, void *arg, cpqd_errs *errs)
{
    renew_item *x = arg;
    return renew_line_due(c, x->cid, x->li, x->as_of, &x->renewed, errs);
}

int contract_renew_due(svc_ctx *c, sweep_run *w, size_t *renewed)
{
    char until[DATE_FMT_LEN], key[128], ref[96];
    store_receivable *rows = NULL;
    size_t n = 0;
    *renewed = 0;
    date_format(w->as_of, until);
    int rc = store_receivables_terms_ended(c->st, until, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* one pass per (contract, line): its other parts follow */
        if (i > 0 && !strcmp(rows[i].contract_id, rows[i - 1].contract_id) &&
            rows[i].line_no == rows[i - 1].line_no)
            continue;
        renew_item x = {rows[i].contract_id, (size_t)rows[i].line_no, w->as_of, 0};
        snprintf(key, sizeof(key), "%s:%d", rows[i].contract_id, rows[i].line_no);
        snprintf(ref, sizeof(ref), "line %.64s", rows[i].line_id);
        bool done = false;
        rc = contract_sweep_item(c, w, "renewal", rows[i].contract_id, key, ref, renew_item_run, &x,
                                 &done);
        *renewed += done ? x.renewed : 0; /* a line that failed was undone */
    }
    contract_rows_free(rows, n);
    return rc;
}

/* ---- seat changes ---- */

int contract_term_body_check(const char *what, const char *body, size_t len, cpqd_errs *errs)
{
    int rc = CPQD_ENOTFOUND;
    struct json_t *root = NULL;
    if (!strcmp(what, "renew")) {
        contract_renew_req r = {0};
        rc = contract_renew_parse(body, len, &r, errs);
        root = r.root;
    } else if (!strcmp(what, "seats")) {
        contract_seat_req r = {0};
        rc = contract_seat_parse(body, len, &r, errs);
        root = r.root;
    }
    contract_json_free(root);
    return rc;
}

/* Sum of the items of kind `kind` made by change change_no of line li. */
static int change_sum(const contract_after *a, size_t li, const char *kind, int change_no,
                      char *buf, size_t cap)
{
    money_dec s = {0, a->minor}, v;
    for (size_t i = 0; i < a->n; i++) {
        const store_receivable *r = &a->rows[i];
        if ((size_t)r->line_no != li || strcmp(r->kind, kind) || r->service != change_no)
            continue;
        if (dec_of(r->amount, &v) != 0 || money_add(s, v, &s) != 0)
            return CPQD_EINTERNAL;
    }
    return money_format(s, buf, cap) < 0 ? CPQD_ERANGE : 0;
}

/* The change ch of line li with the line's items as of today (*reply)
 * and, when event is not NULL, its receivables.rescheduled. */
static int seat_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                     char **reply, char **event)
{
    char cr[MONEY_FMT_MAX], chg[MONEY_FMT_MAX];
    int rc = change_sum(a, li, "credit", ch->change_no, cr, sizeof(cr));
    if (rc == 0)
        rc = change_sum(a, li, "charge", ch->change_no, chg, sizeof(chg));
    if (rc == 0)
        rc = contract_seat_text(c, a, li, ch, cr, chg, ch->effective_on, reply, event);
    return rc;
}
/* The same change id again: the same change (200) or a conflict. */
static int seat_replay(const contract_after *a, const contract_seat_req *r, const store_line_change *old,
                       size_t li, cpqd_errs *errs)
{
    money_dec was;
    char q[32];
    snprintf(q, sizeof(q), "%lld", r->qty);
    if ((size_t)old->line_no == li && !strcmp(old->quantity, q) &&
        !strcmp(old->effective_on, r->on_text) &&
        (!r->has_amount ||
         (dec_of(old->period_amount, &was) == 0 && money_cmp(was, r->amount) == 0)))
        return 0;
    errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
             "seat change '%.64s' was already recorded with another line, quantity or date "
             "(contract %.64s)",
             r->id, a->k.id);
    return CPQD_ECONFLICT;
}

/* What may change, and when: a date within a scheduled term, on or
 * after signing and after the line's last change. *term gets its term. */
static int seat_when(contract_after *a, const terms *t, const contract_seat_req *r, int *term,
                     cpqd_errs *errs)
{
    char d[DATE_FMT_LEN], e[DATE_FMT_LEN];
    date_days lo = 0, hi = 0, first = SCHED_NO_DATE;
    if (r->on < a->r.signed_on) {
        date_format(a->r.signed_on, d);
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "effective_on: %s is before the signing date %s",
                 r->on_text, d);
        return CPQD_EINVAL;
    }
    for (int k = 0; k <= t->renewed; k++) {
        int rc = term_bounds(a, t->li, k, &lo, &hi, errs);
        if (rc)
            return rc;
        first = k == 0 ? lo : first;
        if (r->on >= lo && r->on < hi) {
            *term = k;
            const store_line_change *last = last_seats(t);
            if (last && strcmp(r->on_text, last->effective_on) < 0) {
                errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                         "line '%.64s': seat changes are recorded in date order; the last one "
                         "is effective on %s",
                         a->b.ids[t->li], last->effective_on);
                return CPQD_ECONFLICT;
            }
            return 0;
        }
    }
    date_format(first, d);
    date_format(hi - 1, e);
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
             "effective_on: %s is outside the terms of line '%.64s' (%s to %s; renew it first)",
             r->on_text, a->b.ids[t->li], d, e);
    return CPQD_EINVAL;
}

/* The full period's amount at qty seats in term `term`: the term's base
 * amount x qty / its base seats, rounded once to the currency. */
static int seat_amount(const contract_after *a, const terms *t, int term, long long qty,
                       money_dec *out)
{
    money_dec base = t->base0, bq = t->qty0, p;
    const store_line_change *rn = term > 0 ? renewal_of(t, term) : NULL;
    if (term > 0 && (!rn || dec_of(rn->period_amount, &base) || dec_of(rn->quantity, &bq)))
        return CPQD_EINTERNAL;
    int rc = money_mul_int(base, qty, &p);
    return rc ? rc : money_div(p, bq, a->minor, a->sc.rounding, out);
}

/* A period of the term after the change: repriced by key. Payments
 * already above the new amount refuse the change (refunds are not
 * payments). */
static int period_reprice(svc_ctx *c, contract_after *a, const sched_item *it, cpqd_errs *errs)
{
    store_receivable *old = contract_row_of(a, it), nr;
    money_dec paid;
    if (!old || dec_of(old->paid, &paid) != 0) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "line '%.64s': period %u is not scheduled",
                 a->b.ids[it->line], it->seq);
        return CPQD_EINTERNAL;
    }
    if (money_cmp(paid, it->amount) > 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "receivable '%.64s' has %s paid, more than its new amount", old->id, old->paid);
        return CPQD_ECONFLICT;
    }
    int rc = contract_row_from_item(&a->b, it, a->minor, &nr);
    if (rc == 0 && strcmp(nr.amount, old->amount) != 0) {
        nr.contract_id = a->k.id;
        rc = store_receivable_reset_amount(c->st, &nr, old->amount);
        nr.contract_id = NULL;
    }
    store_receivable_fini(&nr);
    return rc;
}

/* Writes the change's items: credit and charge (service = change_no, so
 * several changes in one period keep distinct keys) and the later
 * periods repriced. */
static int seat_items(svc_ctx *c, contract_after *a, sched_list *l, int change_no,
                      cpqd_errs *errs)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        sched_item *it = &l->items[i];
        if (it->kind == SCHED_KIND_PERIOD) {
            rc = period_reprice(c, a, it, errs);
            continue;
        }
        store_receivable nr;
        it->service = (unsigned)change_no;
        if ((rc = contract_row_from_item(&a->b, it, a->minor, &nr)) == 0)
            rc = store_receivables_add(c->st, a->k.id, &nr, 1);
        store_receivable_fini(&nr);
    }
    return rc;
}

/* A new seat change of line li in term `term`. */
static int seat_write(svc_ctx *c, contract_after *a, terms *t, const contract_seat_req *r, int term,
                      char **res, cpqd_errs *errs)
{
    money_dec old = {0, 0}, oq = {0, 0}, neu = {0, 0};
    sched_list l = {0};
    char q[32], oqs[MONEY_FMT_MAX], am[MONEY_FMT_MAX], om[MONEY_FMT_MAX];
    int change_no = seat_changes_count(t) + 1, rc = in_force(t, term, r->on, &old, &oq);
    snprintf(q, sizeof(q), "%lld", r->qty);
    if (rc == 0 && !r->has_amount && money_cmp(oq, money_from_int(r->qty)) == 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "quantity: line '%.64s' already has %s seats",
                 a->b.ids[t->li], q);
        return CPQD_EINVAL;
    }
    money_dec agreed = {0, 0};
    if (rc == 0)
        rc = seat_amount(a, t, term, r->qty, &agreed);
    neu = r->has_amount ? r->amount : agreed;
    if (rc == 0) {
        a->b.lines[t->li].total = old; /* what the rest of the period is credited at */
        rc = sched_seat_change(&a->sc, t->li, (unsigned)term, r->on, neu, &l, errs);
        a->b.lines[t->li].total = t->base0;
    }
    if (rc == 0 && r->has_amount) /* a price other than the agreed one per seat */
        rc = amount_authorized(c, a, t->li, r->on, money_from_int(r->qty), agreed, neu, errs);
    if (rc == 0)
        rc = seat_items(c, a, &l, change_no, errs);
    if (rc == 0 && ((rc = money_text(neu, a->minor, am, sizeof(am))) != 0 ||
                    (rc = money_text(old, a->minor, om, sizeof(om))) != 0 ||
                    money_format(oq, oqs, sizeof(oqs)) < 0))
        rc = rc ? rc : CPQD_ERANGE;
    store_line_change ch = {.contract_id = a->k.id,
                            .kind = "seats",
                            .client_id = (char *)r->id,
                            .line_no = (int)t->li,
                            .term_no = term,
                            .change_no = change_no,
                            .effective_on = (char *)r->on_text,
                            .quantity = q,
                            .old_quantity = oqs,
                            .period_amount = am,
                            .old_amount = om,
                            .source = "api",
                            .created_by =
                                (char *)(c->caller->key_id ? c->caller->key_id : "anonymous")};
    if (rc == 0)
        rc = store_line_change_add(c->st, &ch);
    if (rc == 0)
        rc = contract_total_update(c, a, errs);
    char *ev = NULL;
    if (rc == 0)
        rc = seat_text(c, a, t->li, &ch, res, &ev);
    if (rc == 0)
        rc = contract_emit_text(c, "receivables.rescheduled", "contract", a->k.id, a->k.id, ev);
    free(ev);
    free(ch.created_at);
    sched_list_fini(&l);
    return rc;
}

/* The new seats are a quantity the line's product is sold in
 * (docs/catalog.md "Quantities"), as a quote's would be. */
static int seat_qty_check(const svc_ctx *c, const contract_after *a, size_t li, const contract_seat_req *r,
                          cpqd_errs *errs)
{
    const cat_product *p = contract_line_product(c, a, li);
    char why[256];
    if (!p || cat_qty_check(p, money_from_int(r->qty), false, why, sizeof(why)) == 0)
        return 0;
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "quantity (line %.64s): %s", a->b.ids[li], why);
    return CPQD_EINVAL;
}

static int seat_run(svc_ctx *c, void *ctx, svc_reply *out, cpqd_errs *errs)
{
    contract_seat_req *r = ctx;
    contract_after a;
    terms t = {0};
    size_t li = 0;
    int term = 0, created = 0;
    char *res = NULL;
    const store_line_change *old = NULL;
    int rc = contract_after_open(c, r->contract_id, &a, errs);
    if (rc == 0)
        rc = contract_line_find(&a, r->line, &li, errs);
    if (rc == 0 && a.b.lines[li].mode != CAT_MODE_SUBSCRIPTION)
        rc = contract_wrong_mode(&a, li, "seats", errs);
    if (rc == 0)
        rc = seat_qty_check(c, &a, li, r, errs);
    if (rc == 0)
        rc = terms_load(c, &a, li, &t);
    for (size_t i = 0; rc == 0 && i < t.n; i++)
        if (!strcmp(t.ch[i].kind, "seats") && !strcmp(t.ch[i].client_id, r->id))
            old = &t.ch[i];
    if (rc == 0 && old) {
        rc = seat_replay(&a, r, old, li, errs);
        if (rc == 0)
            rc = seat_text(c, &a, li, old, &res, NULL);
    } else if (rc == 0) {
        rc = seat_when(&a, &t, r, &term, errs);
        if (rc == 0)
            rc = seat_write(c, &a, &t, r, term, &res, errs);
        created = 1;
    }
    return term_done(rc, created, res, &t, &a, out);
}

int contract_seat_change(svc_ctx *c, const char *id, const char *line, const char *body,
                         size_t len, svc_reply *out, cpqd_errs *errs)
{
    contract_seat_req r = {.contract_id = id, .line = line};
    memset(out, 0, sizeof(*out));
    int rc = contract_seat_parse(body, len, &r, errs);
    if (rc == 0)
        rc = svc_tx(c, seat_run, &r, out, errs);
    contract_json_free(r.root);
    return rc;
}
