/*
 * fin_ledger: the vouchers of the ERP feed and revenue recognition of
 * stored contracts (docs/finance.md "Vouchers", "Revenue recognition"),
 * and the helpers the finance files share (fin_int.h).
 *
 * Owns: storing a voucher (checked to balance first), the feed as JSON or
 * as the ERP's CSV, a contract's revenue plan built from its lines and
 * items (each line a bundle priced at its items net of tax), the revenue
 * route, and the sweep's revenue vouchers (what is recognised as of the
 * run's date less what was posted, per category).
 * Does not own: the voucher lines and balance (voucher), allocation and
 * recognition by date (revrec), the JSON of the feed and of revenue
 * (fin_ledger_json.c).
 *
 * Invariant: posted revenue per contract and category equals the sum of
 * the revenue vouchers written for it, because both move in one scope
 * and the position update checks the old value.
 */
#include "fin_int.h"
#include "fin_json.h"

#include "cpqd/revrec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---- */

int fin_fail(cpqd_errs *errs, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (errs) /* NULL: the caller only wants the code */
        errs_add(errs, code, NULL, 0, 0, "%s", msg);
    return code;
}

int fin_store_fail(svc_ctx *c, cpqd_errs *errs, int rc, const char *what)
{
    if (rc == CPQD_ENOTFOUND || rc == CPQD_ECONFLICT || rc == CPQD_EINVAL)
        errs_add(errs, rc, NULL, 0, 0, "%s: %s", what, store_last_error(c->st));
    else if (rc)
        errs_add(errs, rc, NULL, 0, 0, "%s: %s", what, store_last_error(c->st));
    return rc;
}

int fin_money_text(money_dec v, int minor, char buf[MONEY_FMT_MAX])
{
    money_dec r;
    int rc = money_rescale(v, minor, MONEY_HALF_EVEN, &r);
    if (rc == 0 && money_cmp(r, v) != 0)
        rc = CPQD_ERANGE;
    if (rc == 0 && money_format(r, buf, MONEY_FMT_MAX) < 0)
        rc = CPQD_ERANGE;
    return rc;
}

const char *fin_dec(money_dec v, int minor, char buf[MONEY_FMT_MAX])
{
    if (minor >= 0 ? fin_money_text(v, minor, buf) != 0 : money_format(v, buf, MONEY_FMT_MAX) < 0)
        snprintf(buf, MONEY_FMT_MAX, "0");
    return buf;
}

int fin_money_of(const char *s, money_dec *out)
{
    return s && money_parse(s, strlen(s), out) == 0 ? 0 : CPQD_EINTERNAL;
}

/* Digits only, within [lo, hi]. */
static bool digits_in(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v = 0;
    if (!*s || strlen(s) > 18)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return v >= lo && v <= hi;
}

int fin_page_args(const char *after, const char *limit, int64_t *a, size_t *l, cpqd_errs *errs)
{
    int64_t v = 0;
    *a = 0;
    *l = FIN_LIMIT_DEFAULT;
    if (after && !digits_in(after, 0, INT64_MAX / 2, a))
        return fin_fail(errs, CPQD_EINVAL, "after: a cursor from a previous \"next\"");
    if (limit && !digits_in(limit, 1, STORE_PER_PAGE_MAX, &v))
        return fin_fail(errs, CPQD_EINVAL, "limit: an integer from 1 to %d", STORE_PER_PAGE_MAX);
    if (limit)
        *l = (size_t)v;
    return 0;
}

typedef struct idem_job {
    const char *route, *key, *hash;
    fin_write_fn fn;
    void *arg;
    bool replayed; /* the key's stored reply was answered */
} idem_job;

static int idem_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    idem_job *j = arg;
    char *id = NULL;
    /* again inside: a request with the same key may have committed since */
    int rc = svc_idem_replay(c, j->route, j->key, j->hash, out, errs);
    if (rc) {
        j->replayed = rc == 1;
        return rc == 1 ? 0 : rc;
    }
    rc = j->fn(c, j->arg, out, &id, errs);
    if (rc == 0)
        rc = svc_idem_record(c, j->route, j->key, j->hash, out, id);
    free(id);
    return rc;
}

int fin_idem_write(svc_ctx *c, const char *route, const char *idem_key, const char *body,
                   size_t len, fin_write_fn fn, void *arg, svc_reply *out, cpqd_errs *errs)
{
    char hash[65];
    idem_job j = {route, idem_key, hash, fn, arg, false};
    int rc = svc_idem_peek(c, route, idem_key, body, len, hash, out, errs);
    if (rc == 0)
        rc = svc_tx(c, idem_run, &j, out, errs);
    return rc == 1 ? 0 : rc; /* 1: the stored reply */
}

int fin_emit(svc_ctx *c, const char *type, const char *kind, const char *rid,
             const char *order_key, const char *payload)
{
    if (!payload)
        return CPQD_ENOMEM;
    store_outbox_new ev = {.type = type,
                           .resource_kind = kind,
                           .resource_id = rid,
                           .order_key = order_key,
                           .payload = payload};
    return store_outbox_add(c->st, &ev, NULL, NULL);
}

const cat_catalog *fin_issuer_catalog(const cat_snapshot *s, const char *issuer)
{
    for (size_t i = 0; s && issuer && i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, i);
        if (cc->finance && !strcmp(cc->finance->issuer.id, issuer))
            return cc;
    }
    return NULL;
}

int fin_contract_catalog(const svc_ctx *c, const contract_after *a, const cat_catalog **cc,
                         cpqd_errs *errs)
{
    *cc = NULL;
    for (size_t li = 0; li < a->b.n; li++) {
        const cat_product *p = contract_line_product(c, a, li);
        if (!p)
            return fin_fail(errs, CPQD_EREFUSED,
                            "contract %s: line '%.64s' sells a product the catalogs no longer have",
                            a->k.number, a->b.ids[li]);
        const cat_catalog *x = p->catalog;
        if (!x->finance)
            return fin_fail(errs, CPQD_EREFUSED,
                            "contract %s: catalog '%s' has no finance section (issuer, accounts): "
                            "it is not invoiced or posted",
                            a->k.number, x->id);
        if (*cc && strcmp((*cc)->finance->issuer.id, x->finance->issuer.id) != 0)
            return fin_fail(errs, CPQD_EREFUSED,
                            "contract %s: its lines come from catalogs of two issuers (%s, %s)",
                            a->k.number, (*cc)->finance->issuer.id, x->finance->issuer.id);
        *cc = *cc ? *cc : x;
    }
    if (!*cc)
        return fin_fail(errs, CPQD_EREFUSED, "contract %s has no lines", a->k.number);
    return 0;
}

/* ---- vouchers ---- */

/* Why a damaged voucher is left out of the feed. */
#define VOUCHER_DAMAGED                                                                            \
    "stored voucher unreadable (its lines, date, currency or total do not parse)"

/* The CSV rows of stored voucher sv. */
static int voucher_csv(const store_voucher *sv, char **buf, size_t *len)
{
    fin_stored_voucher d;
    int rc = fin_json_voucher_read(sv, &d);
    if (rc == 0)
        rc = voucher_csv_rows(&d.v, sv->number, buf, len);
    fin_stored_voucher_fini(&d);
    return rc;
}

int fin_voucher_post(svc_ctx *c, const voucher *v, cpqd_errs *errs)
{
    char date[DATE_FMT_LEN], total[MONEY_FMT_MAX];
    int rc = voucher_check(v, errs);
    if (rc)
        return rc;
    date_format(v->date, date);
    if ((rc = fin_money_text(v->total, v->minor, total)) != 0)
        return rc;
    char *lines = fin_json_voucher_lines(v);
    if (!lines)
        return CPQD_ENOMEM;
    store_voucher sv = {.kind = (char *)voucher_kind_name(v->kind),
                        .date = date,
                        .currency = (char *)v->currency,
                        .source = (char *)v->source,
                        .customer_id = (char *)v->customer,
                        .contract = (char *)v->contract,
                        .total = total,
                        .lines = lines};
    rc = store_voucher_add(c->st, &sv);
    free(lines);
    free(sv.number), free(sv.created_at);
    return rc ? fin_store_fail(c, errs, rc, "voucher") : 0;
}

int fin_voucher_simple(svc_ctx *c, const cat_finance *fin, voucher_kind k, const char *source,
                       const char *customer, const char *contract, date_days date,
                       const char *currency, money_dec amount, cpqd_errs *errs)
{
    if (money_sign(amount) <= 0)
        return 0;
    voucher v;
    voucher_ref ref = {source, customer, contract, date};
    int rc = voucher_simple(fin, k, &ref, currency, amount, &v, errs);
    if (rc == 0)
        rc = fin_voucher_post(c, &v, errs);
    voucher_fini(&v);
    return rc;
}

int fin_vouchers(svc_ctx *c, const char *after, const char *limit, const char *format,
                 svc_reply *out, cpqd_errs *errs)
{
    int64_t a;
    size_t l, n = 0;
    store_voucher *v = NULL;
    bool csv = format && !strcmp(format, "csv");
    memset(out, 0, sizeof(*out));
    int rc = fin_page_args(after, limit, &a, &l, errs);
    if (rc == 0 && (rc = store_vouchers_list(c->st, a, l, &v, &n)) != 0)
        rc = fin_store_fail(c, errs, rc, "vouchers");
    fin_json_list *items = fin_json_list_new();
    char *text = NULL;
    size_t tlen = 0;
    int64_t next = a;
    if (rc == 0 && csv) {
        text = strdup(VOUCHER_CSV_HEADER);
        tlen = text ? strlen(text) : 0;
        rc = text ? 0 : CPQD_ENOMEM;
    }
    /* a damaged voucher is never exported as if it were fine: the feed
     * names it in "damaged"; the CSV, with no room to, refuses */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        next = v[i].seq;
        if (csv)
            rc = voucher_csv(&v[i], &text, &tlen);
        else
            rc = fin_json_list_add_voucher(items, &v[i]);
        if (rc == CPQD_EINTERNAL && !csv)
            rc = fin_json_list_add_damaged(items, v[i].number, VOUCHER_DAMAGED);
        else if (rc == CPQD_EINTERNAL)
            fin_fail(errs, rc, "voucher %s: " VOUCHER_DAMAGED "; the JSON feed names it",
                     v[i].number);
    }
    for (size_t i = 0; i < n; i++)
        store_voucher_fini(&v[i]);
    free(v);
    if (rc == 0 && csv) {
        out->body = text;
        out->content_type = "text/csv; charset=utf-8";
        text = NULL;
    } else if (rc == 0) {
        out->body = fin_json_page(items, next);
        items = NULL;
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    free(text);
    fin_json_list_free(items);
    return rc;
}

/* ---- revenue ---- */

int fin_net_of(money_dec g, money_dec r, int minor, money_dec *out)
{
    money_dec one_r, tax, neg = g;
    bool negative = money_sign(g) < 0;
    if (negative)
        neg = money_neg(g);
    /* as an invoice line: tax taken out of the gross, rounded once; a
     * negative amount is its positive mirror */
    int rc = money_add(money_from_int(1), r, &one_r);
    if (rc == 0)
        rc = money_mul(neg, r, 12, MONEY_HALF_EVEN, &tax);
    if (rc == 0)
        rc = money_div(tax, one_r, minor, MONEY_HALF_EVEN, &tax);
    if (rc == 0)
        rc = money_sub(neg, tax, out);
    if (rc == 0 && negative)
        *out = money_neg(*out);
    return rc;
}

int fin_item_tax(const svc_ctx *c, const contract_after *a, const store_receivable *r,
                 const char **tax_class, money_dec *rate)
{
    const cat_product *p = contract_line_product(c, a, (size_t)r->line_no);
    if (p && r->ref && (!strcmp(r->kind, "service") || !strcmp(r->kind, "service_period"))) {
        const cat_product *s = cat_snapshot_product(c->snap, r->ref, strlen(r->ref));
        p = s ? s : p;
    }
    if (!p)
        return CPQD_EREFUSED;
    const cat_catalog *cc = p->catalog;
    *tax_class = p->tax_class;
    *rate = (money_dec){0, 0};
    for (size_t i = 0; i < cc->ntax_classes; i++)
        if (!strcmp(cc->tax_classes[i].id, p->tax_class))
            *rate = cc->tax_classes[i].rate;
    return 0;
}

void fin_revenue_fini(fin_revplan *p)
{
    if (!p)
        return;
    if (p->plan)
        revrec_plan_fini(p->plan);
    free(p->plan), free(p->obs), free(p->groups), free(p->bills);
    memset(p, 0, sizeof(*p));
}

/* A line's price net of tax (its items' nets), and for usage its bills. */
static int line_price(const svc_ctx *c, const contract_after *a, size_t li, int minor,
                      money_dec *price, revrec_bill *bills, size_t *nbills, date_days *from,
                      date_days *to)
{
    *price = (money_dec){0, minor};
    *from = *to = REVREC_NO_DATE;
    for (size_t i = 0; i < a->n; i++) {
        const store_receivable *r = &a->rows[i];
        money_dec g, rate, net;
        const char *cls;
        if ((size_t)r->line_no != li || !r->amount_known)
            continue;
        int rc = fin_money_of(r->amount, &g);
        if (rc == 0)
            rc = fin_item_tax(c, a, r, &cls, &rate);
        if (rc == 0)
            rc = fin_net_of(g, rate, minor, &net);
        if (rc == 0)
            rc = money_add(*price, net, price);
        if (rc)
            return rc;
        date_days pf = contract_opt_date(r->period_from), pt = contract_opt_date(r->period_to);
        if (pf != SCHED_NO_DATE && (*from == REVREC_NO_DATE || pf < *from))
            *from = pf;
        if (pt != SCHED_NO_DATE && (*to == REVREC_NO_DATE || pt > *to))
            *to = pt;
        if (bills && !strcmp(r->kind, "usage")) {
            date_days on = contract_opt_date(r->bill_on);
            bills[*nbills].on = on != SCHED_NO_DATE ? on : contract_opt_date(r->due_on);
            bills[(*nbills)++].amount = net;
        }
    }
    return 0;
}

/* The obligations of line li appended to p (services take their own
 * product's category). */
static int line_obligations(const svc_ctx *c, const contract_after *a, size_t li, int minor,
                            fin_revplan *p, size_t cap, cpqd_errs *errs)
{
    const sched_line *l = &a->b.lines[li];
    const cat_product *prod = contract_line_product(c, a, li);
    money_dec price;
    date_days from, to;
    size_t k = 0, first_bill = 0;
    for (size_t i = 0; i < p->nobs; i++)
        first_bill += p->obs[i].nbills;
    size_t nb = first_bill;
    if (!prod)
        return fin_fail(errs, CPQD_EREFUSED, "line '%.64s': its product is gone", a->b.ids[li]);
    int rc = line_price(c, a, li, minor, &price, p->bills, &nb, &from, &to);
    if (rc == 0 && money_sign(price) < 0)
        rc = fin_fail(errs, CPQD_EINVAL, "line '%.64s': its items add up below 0", a->b.ids[li]);
    if (rc == 0)
        rc = revrec_line_obligations(l, a->b.ids[li], prod->category, (unsigned)li, price,
                                     p->obs + p->nobs, cap - p->nobs, &k);
    for (size_t i = 0; rc == 0 && i < k; i++) {
        revrec_obligation_in *o = &p->obs[p->nobs + i];
        const cat_product *s = o->ref ? cat_snapshot_product(c->snap, o->ref, strlen(o->ref)) : NULL;
        if (s)
            o->category = s->category;
        if (l->mode == CAT_MODE_SUBSCRIPTION && from != REVREC_NO_DATE && to != REVREC_NO_DATE)
            o->from = from, o->to = to; /* renewals included: the periods scheduled */
        if (o->pattern == REVREC_AS_BILLED) {
            o->bills = p->bills + first_bill;
            o->nbills = nb - first_bill;
        }
    }
    if (rc == 0) {
        bool billed = l->mode == CAT_MODE_USAGE;
        p->groups[li] = (revrec_group){(unsigned)li, billed ? (money_dec){0, minor} : price};
        p->nobs += k;
    }
    return rc;
}

int fin_revenue_plan(svc_ctx *c, contract_after *a, const cat_catalog *cc, fin_revplan *out,
                     cpqd_errs *errs)
{
    (void)cc;
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    for (size_t li = 0; li < a->b.n; li++)
        cap += 1 + a->b.lines[li].nservices + a->b.lines[li].nmilestones;
    out->obs = calloc(cap ? cap : 1, sizeof(*out->obs));
    out->groups = calloc(a->b.n ? a->b.n : 1, sizeof(*out->groups));
    out->bills = calloc(a->n ? a->n : 1, sizeof(*out->bills));
    out->plan = calloc(1, sizeof(*out->plan));
    int rc = out->obs && out->groups && out->bills && out->plan ? 0 : CPQD_ENOMEM;
    for (size_t li = 0; rc == 0 && li < a->b.n; li++)
        rc = line_obligations(c, a, li, a->minor, out, cap, errs);
    revrec_contract rcn = {.currency = a->k.currency,
                           .rounding = a->sc.rounding,
                           .groups = out->groups,
                           .ngroups = a->b.n,
                           .obligations = out->obs,
                           .n = out->nobs};
    if (rc == 0 && (rc = revrec_plan_build(&rcn, out->plan, errs)) != 0) {
        free(out->plan);
        out->plan = NULL;
    }
    if (rc)
        fin_revenue_fini(out);
    return rc;
}

/* The revenue route's reply: plan p of contract a as of as_of. */
static int revenue_text(const contract_after *a, const fin_revplan *p, date_days as_of,
                        char **out)
{
    revrec_position *per = calloc(p->nobs ? p->nobs : 1, sizeof(*per)), tot;
    int rc = per ? revrec_as_of(p->plan, as_of, per, &tot) : CPQD_ENOMEM;
    if (rc == 0)
        rc = fin_json_revenue(a, p, per, &tot, as_of, out);
    free(per);
    return rc;
}

int fin_revenue(svc_ctx *c, const char *contract_id, const char *as_of, svc_reply *out,
                cpqd_errs *errs)
{
    contract_after a;
    fin_revplan p = {0};
    const cat_catalog *cc = NULL;
    date_days d = c->today;
    memset(out, 0, sizeof(*out));
    if (as_of && contract_date_text(as_of, &d) != 0)
        return fin_fail(errs, CPQD_EINVAL, "as_of: a date YYYY-MM-DD");
    int rc = contract_after_open(c, contract_id, &a, errs);
    if (rc == 0)
        rc = fin_contract_catalog(c, &a, &cc, errs);
    if (rc == 0)
        rc = fin_revenue_plan(c, &a, cc, &p, errs);
    if (rc == 0)
        rc = revenue_text(&a, &p, d, &out->body);
    fin_revenue_fini(&p);
    contract_after_fini(&a);
    return rc;
}

/* ---- the sweep's revenue vouchers ---- */

typedef struct rev_item {
    const char *contract_id;
    date_days as_of;
    size_t *posted;
} rev_item;

/* Per category: recognised as of as_of (cats[0..*n), rec) of plan p. */
static int by_category(const fin_revplan *p, date_days as_of, const char **cats, money_dec *rec,
                       size_t *n, int minor)
{
    revrec_position *per = calloc(p->nobs ? p->nobs : 1, sizeof(*per)), tot;
    int rc = per ? revrec_as_of(p->plan, as_of, per, &tot) : CPQD_ENOMEM;
    *n = 0;
    for (size_t i = 0; rc == 0 && i < p->nobs; i++) {
        const char *cat = p->plan->ob[i].in->category;
        size_t k = 0;
        while (k < *n && strcmp(cats[k], cat))
            k++;
        if (k == *n)
            cats[(*n)++] = cat, rec[k] = (money_dec){0, minor};
        rc = money_add(rec[k], per[i].recognised, &rec[k]);
    }
    free(per);
    return rc;
}

/* The position of category cat among pos[0..n), or NULL. */
static const store_revenue_pos *pos_of(const store_revenue_pos *pos, size_t n, const char *cat)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(pos[i].category, cat))
            return &pos[i];
    return NULL;
}

/* What moved since the last posting, per category: diff[i]. */
static int rev_diffs(const store_revenue_pos *pos, size_t npos, const char *const *cats,
                     const money_dec *rec, size_t n, money_dec *diff, bool *moved)
{
    *moved = false;
    for (size_t i = 0; i < n; i++) {
        const store_revenue_pos *x = pos_of(pos, npos, cats[i]);
        money_dec was = {0, rec[i].scale};
        if (x && fin_money_of(x->posted, &was) != 0)
            return CPQD_EINTERNAL;
        int rc = money_sub(rec[i], was, &diff[i]);
        if (rc)
            return rc;
        *moved = *moved || !money_is_zero(diff[i]);
    }
    return 0;
}

static int rev_post(svc_ctx *c, contract_after *a, const cat_catalog *cc, date_days as_of,
                    const store_revenue_pos *pos, size_t npos, const char **cats,
                    const money_dec *rec, const money_dec *diff, size_t n, cpqd_errs *errs)
{
    voucher v;
    voucher_ref ref = {a->k.number, a->k.customer_id, a->k.number, as_of};
    char upto[DATE_FMT_LEN];
    date_format(as_of, upto);
    int rc = voucher_revenue(cc->finance, &ref, a->k.currency, cats, diff, n, &v, errs);
    if (rc == 0)
        rc = fin_voucher_post(c, &v, errs);
    voucher_fini(&v);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char now[MONEY_FMT_MAX];
        const store_revenue_pos *x = pos_of(pos, npos, cats[i]);
        if ((rc = fin_money_text(rec[i], a->minor, now)) == 0)
            rc = store_revenue_post(c->st, a->k.id, cats[i], x ? x->posted : NULL, now, upto);
        if (rc)
            rc = fin_store_fail(c, errs, rc, "revenue posted");
    }
    return rc;
}

static int rev_one(svc_ctx *c, void *arg, cpqd_errs *errs)
{
    rev_item *x = arg;
    contract_after a;
    fin_revplan p = {0};
    const cat_catalog *cc = NULL;
    store_revenue_pos *pos = NULL;
    size_t npos = 0, n = 0;
    int rc = contract_after_open(c, x->contract_id, &a, errs);
    if (rc == 0 && fin_contract_catalog(c, &a, &cc, NULL) != 0) {
        contract_after_fini(&a);
        return 0; /* a catalog without a finance section posts nothing */
    }
    if (rc == 0)
        rc = fin_revenue_plan(c, &a, cc, &p, errs);
    const char **cats = rc == 0 ? calloc(p.nobs + 1, sizeof(*cats)) : NULL;
    money_dec *rec = cats ? calloc(p.nobs + 1, sizeof(*rec)) : NULL;
    money_dec *diff = rec ? calloc(p.nobs + 1, sizeof(*diff)) : NULL;
    bool moved = false;
    if (rc == 0 && !diff)
        rc = CPQD_ENOMEM;
    if (rc == 0)
        rc = by_category(&p, x->as_of, cats, rec, &n, a.minor);
    if (rc == 0 && (rc = store_revenue_positions(c->st, a.k.id, &pos, &npos)) != 0)
        rc = fin_store_fail(c, errs, rc, "revenue positions");
    if (rc == 0)
        rc = rev_diffs(pos, npos, cats, rec, n, diff, &moved);
    if (rc == 0 && moved &&
        (rc = rev_post(c, &a, cc, x->as_of, pos, npos, cats, rec, diff, n, errs)) == 0)
        (*x->posted)++;
    for (size_t i = 0; i < npos; i++)
        store_revenue_pos_fini(&pos[i]);
    free(pos), free(cats), free(rec), free(diff);
    fin_revenue_fini(&p);
    contract_after_fini(&a);
    return rc;
}

int fin_revenue_sweep(svc_ctx *c, struct sweep_run *w, size_t *posted)
{
    char **ids = NULL;
    size_t n = 0;
    int rc = store_fin_contract_ids(c->st, &ids, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rev_item x = {ids[i], w->as_of, posted};
        rc = contract_sweep_item(c, w, "revenue", ids[i], ids[i], ids[i], rev_one, &x, NULL);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int fin_sweep(svc_ctx *c, struct sweep_run *w, size_t *invoices, size_t *revenue)
{
    int rc = fin_invoice_sweep(c, w, invoices);
    return rc ? rc : fin_revenue_sweep(c, w, revenue);
}
