/*
 * fin_invoice: invoices and credit notes of stored contracts
 * (docs/finance.md "Invoices"; include/cpqd/fin.h).
 *
 * Owns: which receivable items a document covers (given, or every item
 * of the kind due by the issue date; under the catalog's issue policy,
 * by the sweep), the document's lines from the contract's lines (the
 * product's name, category, unit, quantity and tax class; a bundled
 * service at its own class), its number (gap-free per issuer, kind and
 * year: the counter moves in the document's transaction), the typed
 * document stored and read back (for the page and for a cancellation),
 * the document's status, the voucher and the event.
 * Does not own: tax and totals (invoice_build, invoice_cancel), the
 * page (invoice_render_html), the voucher lines (voucher), the bodies,
 * the stored document's and the views' JSON (fin_invoice_json.c).
 *
 * Invariant: an item is on at most one document that was not cancelled
 * (the store refuses a second); a document and its voucher and event are
 * written in one transaction or not at all.
 */
#include "fin_int.h"
#include "fin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the view ---- */

/* "issued", "partially_cancelled", "cancelled" from the items' states. */
static const char *status_of(const store_invoice *v, const store_invoice_item *items, size_t n)
{
    size_t cancelled = 0;
    for (size_t i = 0; i < n; i++)
        cancelled += items[i].cancelled_by != NULL;
    if (strcmp(v->kind, "invoice") || cancelled == 0)
        return "issued";
    return cancelled == n ? "cancelled" : "partially_cancelled";
}

/* Why a damaged invoice is left out of a list (named in its "damaged")
 * and its own read fails. */
#define INVOICE_DAMAGED "stored document unreadable"

/* The stored document v as GET shows it (fin_json_invoice_view, with
 * its status and the states of its lines): into *out, or when out is
 * NULL added to list l; a damaged one (its document unreadable) then
 * named in l's "damaged" instead: one stops the list of no one. */
static int view_of(svc_ctx *c, const store_invoice *v, fin_json_list *l, char **out,
                   cpqd_errs *errs)
{
    store_invoice_item *items = NULL;
    size_t n = 0;
    int rc = store_invoice_items_of(c->st, v->id, &items, &n);
    if (rc)
        return fin_store_fail(c, errs, rc, "invoice items");
    fin_invoice_view w = {v, status_of(v, items, n), items, n};
    rc = out ? fin_json_invoice_view(&w, out) : fin_json_list_add_invoice(l, &w);
    if (rc == CPQD_EINTERNAL && !out)
        rc = fin_json_list_add_damaged(l, v->id, INVOICE_DAMAGED);
    else if (rc == CPQD_EINTERNAL)
        fin_fail(errs, rc, "invoice %s: " INVOICE_DAMAGED, v->id);
    for (size_t i = 0; i < n; i++)
        store_invoice_item_fini(&items[i]);
    free(items);
    return rc;
}

/* ---- issuing ---- */

typedef struct issue_ctx {
    svc_ctx *c;
    contract_after *a;
    const cat_catalog *cc;
    invoice_kind kind;
    store_receivable **sel; /* the items, in document order */
    size_t n;
    date_days on;
    const char *source; /* "api", "sweep" */
} issue_ctx;

static int year_of(date_days d)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    return y;
}

/* The quantity of contract line li in its quote's priced lines. */
static money_dec line_qty(const contract_after *a, size_t li)
{
    money_dec q = money_from_int(1);
    for (size_t i = 0; i < a->b.nplines; i++) {
        const char *id = a->b.plines[i].id, *qs = a->b.plines[i].quantity;
        if (id && qs && !strcmp(id, a->b.ids[li]))
            money_parse(qs, strlen(qs), &q);
    }
    return q;
}

/* The product a contract item bills: its line's, or for a service part
 * its service product (its own name, category and tax class). */
static const cat_product *item_product(const issue_ctx *x, const store_receivable *r)
{
    const cat_product *p = contract_line_product(x->c, x->a, (size_t)r->line_no);
    if (p && r->ref && (!strcmp(r->kind, "service") || !strcmp(r->kind, "service_period"))) {
        const cat_product *s = cat_snapshot_product(x->c->snap, r->ref, strlen(r->ref));
        p = s ? s : p;
    }
    return p;
}

/* The invoice's line for product p of contract line li. */
static void src_line(const issue_ctx *x, size_t li, const cat_product *p, invoice_src_line *out)
{
    money_dec rate = {0, 0};
    for (size_t i = 0; i < p->catalog->ntax_classes; i++)
        if (!strcmp(p->catalog->tax_classes[i].id, p->tax_class))
            rate = p->catalog->tax_classes[i].rate;
    *out = (invoice_src_line){x->a->b.ids[li], p->sku,       p->name, p->category,
                              p->uom,          line_qty(x->a, li), p->tax_class, rate};
}

/* Fills lines (one per contract line and product billed, *nl of them)
 * and items. */
static int src_make(const issue_ctx *x, invoice_src_line *lines, size_t *nl,
                    invoice_src_item *items, cpqd_errs *errs)
{
    int rc = 0;
    *nl = 0;
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        const store_receivable *r = x->sel[i];
        size_t li = (size_t)r->line_no, k = 0;
        const cat_product *p = li < x->a->b.n ? item_product(x, r) : NULL;
        if (!p) {
            rc = fin_fail(errs, CPQD_EREFUSED,
                          "contract %s: the product of item %s is no longer in the catalogs",
                          x->a->k.number, r->id);
            break;
        }
        while (k < *nl && !(lines[k].sku == p->sku && !strcmp(lines[k].id, x->a->b.ids[li])))
            k++;
        if (k == *nl)
            src_line(x, li, p, &lines[(*nl)++]);
        items[i] = (invoice_src_item){.id = r->id, .line = k, .desc = r->description};
        items[i].due_on = r->due_on ? contract_opt_date(r->due_on) : INVOICE_NO_DATE;
        rc = fin_money_of(r->amount, &items[i].amount);
    }
    return rc;
}

/* The next number of the issuer for kind in the year of `on`. */
static int number_next(svc_ctx *c, const cat_issuer *is, invoice_kind kind, date_days on,
                       char num[INVOICE_NUMBER_MAX], int64_t *seq, cpqd_errs *errs)
{
    char name[160];
    const char *prefix = kind == INVOICE_KIND_INVOICE
                             ? (is->invoice_prefix ? is->invoice_prefix : "INV")
                             : (is->credit_note_prefix ? is->credit_note_prefix : "CN");
    snprintf(name, sizeof(name), "%s:%s:%d", invoice_kind_name(kind), is->id, year_of(on));
    int rc = store_fin_next(c->st, name, seq);
    if (rc)
        return fin_store_fail(c, errs, rc, "invoice number");
    if (*seq > INVOICE_SEQ_MAX)
        return fin_fail(errs, CPQD_ELIMIT, "issuer %s has used every number of %d", is->id,
                        year_of(on));
    return invoice_number_format(prefix, year_of(on), (uint32_t)*seq, num, INVOICE_NUMBER_MAX) < 0
               ? CPQD_EINTERNAL
               : 0;
}

static invoice_party issuer_party(const cat_issuer *is)
{
    return (invoice_party){is->id,      is->name, is->tax_id, is->address,
                           is->bank,    is->bank_account};
}

/* Writes document inv of contract x->a with its items, voucher and
 * event; *view gets what GET shows, *id its id (both malloc'ed). */
static int doc_write(const issue_ctx *x, const invoice *inv, const char *original_id,
                     int64_t seq, bool with_items, char **view, char **id, cpqd_errs *errs)
{
    svc_ctx *c = x->c;
    char *text = fin_json_invoice_doc(inv);
    char on[DATE_FMT_LEN], due[DATE_FMT_LEN], n[MONEY_FMT_MAX], t[MONEY_FMT_MAX], g[MONEY_FMT_MAX];
    date_format(inv->issued_on, on);
    date_format(inv->due_on, due);
    store_invoice v = {.number = (char *)inv->number,
                       .issuer = (char *)inv->issuer.id,
                       .kind = (char *)invoice_kind_name(inv->kind),
                       .reason = (char *)invoice_reason_name(inv->reason),
                       .year = year_of(inv->issued_on),
                       .doc_seq = seq,
                       .contract_id = x->a->k.id,
                       .customer_id = x->a->k.customer_id,
                       .currency = x->a->k.currency,
                       .issued_on = on,
                       .due_on = due,
                       .net = (char *)fin_dec(inv->net, inv->minor, n),
                       .tax = (char *)fin_dec(inv->tax, inv->minor, t),
                       .total = (char *)fin_dec(inv->total, inv->minor, g),
                       .original_id = (char *)original_id,
                       .source = (char *)x->source,
                       .document = text,
                       .created_by = (char *)(c->caller->key_id ? c->caller->key_id : "anonymous")};
    store_invoice_item *items = calloc(inv->nlines ? inv->nlines : 1, sizeof(*items));
    char (*amt)[MONEY_FMT_MAX] = calloc(inv->nlines ? inv->nlines : 1, sizeof(*amt));
    int rc = text && items && amt ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && with_items && i < inv->nlines; i++)
        items[i] = (store_invoice_item){.receivable_id = (char *)inv->lines[i].item_id,
                                        .amount = (char *)fin_dec(inv->lines[i].gross,
                                                                  inv->minor, amt[i])};
    if (rc == 0 && (rc = store_invoice_insert(c->st, &v, items, with_items ? inv->nlines : 0)))
        rc = fin_store_fail(c, errs, rc, "invoice");
    voucher vo = {0};
    if (rc == 0 && (rc = voucher_from_invoice(x->cc->finance, inv, &vo, errs)) == 0)
        rc = fin_voucher_post(c, &vo, errs);
    voucher_fini(&vo);
    if (rc == 0)
        rc = view_of(c, &v, NULL, view, errs);
    char key[96];
    snprintf(key, sizeof(key), "contract:%s", x->a->k.id);
    if (rc == 0)
        rc = fin_emit(c, inv->kind == INVOICE_KIND_INVOICE ? "invoice.issued" : "credit_note.issued",
                      "invoice", v.id, key, *view);
    if (rc == 0)
        *id = v.id, v.id = NULL;
    free(v.id), free(v.created_at), free(text), free(items), free(amt);
    return rc;
}

/* Builds and writes the document of x's items; *view (as GET shows it)
 * and *id (may be NULL) get it. */
static int issue_write(const issue_ctx *x, char **view, char **id, cpqd_errs *errs)
{
    const cat_issuer *is = &x->cc->finance->issuer;
    invoice_src_line *lines = calloc(x->n ? x->n : 1, sizeof(*lines));
    invoice_src_item *items = calloc(x->n ? x->n : 1, sizeof(*items));
    store_customer cu = {0};
    invoice inv = {0};
    char num[INVOICE_NUMBER_MAX];
    int64_t seq = 0;
    size_t nl = 0;
    char *doc_id = NULL;
    int rc = lines && items ? src_make(x, lines, &nl, items, errs) : CPQD_ENOMEM;
    if (rc == 0)
        rc = number_next(x->c, is, x->kind, x->on, num, &seq, errs);
    int crc = rc == 0 ? store_customer_get(x->c->st, x->a->k.customer_id, &cu) : 0;
    if (crc && crc != CPQD_ENOTFOUND)
        rc = fin_store_fail(x->c, errs, crc, "customer");
    invoice_party seller = issuer_party(is),
                  buyer = {x->a->k.customer_id, cu.name ? cu.name : x->a->k.customer_id, NULL,
                           NULL, NULL, NULL};
    invoice_request r = {x->kind,         num,
                         x->a->k.currency, x->on,
                         &seller,         &buyer,
                         x->a->k.id,      x->a->k.number,
                         {x->cc->tax_per_document, x->cc->tax_mode},
                         lines,           nl,
                         items,           x->n};
    if (rc == 0)
        rc = invoice_build(&r, &inv, errs);
    if (rc == 0)
        rc = doc_write(x, &inv, NULL, seq, true, view, &doc_id, errs);
    /* the customer's credit pays what the invoice asks for */
    size_t applied = 0;
    for (size_t i = 0; rc == 0 && x->kind == INVOICE_KIND_INVOICE && i < x->n; i++)
        rc = fin_credit_apply_item(x->c, x->sel[i]->id, &applied, errs);
    if (rc == 0 && id)
        *id = doc_id, doc_id = NULL;
    free(doc_id);
    invoice_fini(&inv);
    store_customer_fini(&cu);
    free(lines), free(items);
    return rc;
}

/* ---- which items ---- */

/* Whether item r's receivable id is on an open document (open[0..n)). */
static const store_invoice_item *on_doc(const store_invoice_item *open, size_t n, const char *rid)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(open[i].receivable_id, rid))
            return &open[i];
    return NULL;
}

typedef struct sorted_row {
    sched_item it;
    store_receivable *r;
} sorted_row;

static int row_cmp(const void *pa, const void *pb)
{
    const sorted_row *a = pa, *b = pb;
    int d = sched_item_cmp(&a->it, &b->it);
    return d ? d : strcmp(a->r->id, b->r->id);
}

/* Sorts rows[0..n) as the contract lists its items (sched_item_cmp). */
static int rows_sort(store_receivable **rows, size_t n)
{
    sorted_row *v = calloc(n ? n : 1, sizeof(*v));
    int rc = v ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        v[i].r = rows[i];
        rc = contract_row_item(rows[i], &v[i].it);
    }
    if (rc == 0) {
        qsort(v, n, sizeof(*v), row_cmp);
        for (size_t i = 0; i < n; i++)
            rows[i] = v[i].r;
    }
    free(v);
    return rc;
}

/* The date an item is due for invoicing under policy (-1: the route's:
 * its due date). */
static date_days issue_date_of(const store_receivable *r, int policy)
{
    if (policy == CAT_INVOICE_ON_BILL_DATE && r->bill_on)
        return contract_opt_date(r->bill_on);
    return contract_opt_date(r->due_on);
}

/* Every item of kind not on a document, due for it by `upto`. */
static int select_auto(issue_ctx *x, date_days upto, int policy, cpqd_errs *errs)
{
    store_invoice_item *open = NULL;
    size_t no = 0;
    int rc = store_invoice_items_open(x->c->st, x->a->k.id, &open, &no);
    if (rc)
        return fin_store_fail(x->c, errs, rc, "invoiced items");
    x->sel = calloc(x->a->n ? x->a->n : 1, sizeof(*x->sel));
    rc = x->sel ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < x->a->n; i++) {
        store_receivable *r = &x->a->rows[i];
        money_dec amt;
        date_days d = issue_date_of(r, policy);
        if (!r->amount_known || d == SCHED_NO_DATE || d > upto || on_doc(open, no, r->id) ||
            fin_money_of(r->amount, &amt) != 0)
            continue;
        if (x->kind == INVOICE_KIND_INVOICE ? money_sign(amt) > 0 : money_sign(amt) < 0)
            x->sel[x->n++] = r;
    }
    for (size_t i = 0; i < no; i++)
        store_invoice_item_fini(&open[i]);
    free(open);
    if (rc == 0 && x->n)
        rc = rows_sort(x->sel, x->n);
    return rc;
}

static store_receivable *row_by_id(contract_after *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->rows[i].id, id))
            return &a->rows[i];
    return NULL;
}

/* The items the request names, checked: of this contract, once each,
 * known, not on a document, all of one sign (which gives the kind). */
static int select_given(issue_ctx *x, const char *const *ids, size_t n, bool kind_given,
                        cpqd_errs *errs)
{
    store_invoice_item *open = NULL;
    size_t no = 0;
    int rc = store_invoice_items_open(x->c->st, x->a->k.id, &open, &no);
    if (rc)
        return fin_store_fail(x->c, errs, rc, "invoiced items");
    x->sel = calloc(n ? n : 1, sizeof(*x->sel));
    int pos = 0, neg = 0;
    rc = x->sel ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *id = ids[i];
        store_receivable *r = row_by_id(x->a, id);
        const store_invoice_item *d = r ? on_doc(open, no, id) : NULL;
        money_dec amt;
        for (size_t k = 0; r && k < x->n; k++)
            if (x->sel[k] == r)
                rc = fin_fail(errs, CPQD_EINVAL, "items[%zu]: %.64s is named twice", i, id);
        if (rc == 0 && !r)
            rc = fin_fail(errs, CPQD_EINVAL, "items[%zu]: %.64s is not an item of contract %s", i,
                          id, x->a->k.number);
        else if (rc == 0 && d)
            rc = fin_fail(errs, CPQD_ECONFLICT, "items[%zu]: %.64s is already on document %s", i,
                          id, d->invoice_id);
        else if (rc == 0 && !r->amount_known)
            rc = fin_fail(errs, CPQD_ECONFLICT,
                          "items[%zu]: %.64s has no amount yet (its period is not closed)", i, id);
        if (rc == 0 && (rc = fin_money_of(r->amount, &amt)) == 0) {
            pos += money_sign(amt) >= 0, neg += money_sign(amt) < 0;
            x->sel[x->n++] = r;
        }
    }
    for (size_t i = 0; i < no; i++)
        store_invoice_item_fini(&open[i]);
    free(open);
    if (rc == 0 && pos && neg)
        rc = fin_fail(errs, CPQD_EINVAL,
                      "items: charges and credits go on separate documents (an invoice and a "
                      "credit note)");
    invoice_kind k = neg ? INVOICE_KIND_CREDIT_NOTE : INVOICE_KIND_INVOICE;
    if (rc == 0 && kind_given && k != x->kind)
        rc = fin_fail(errs, CPQD_EINVAL, "kind: the items are %s, not for a%s %s",
                      neg ? "credits" : "charges", x->kind == INVOICE_KIND_INVOICE ? "n" : "",
                      invoice_kind_name(x->kind));
    x->kind = k;
    return rc;
}

/* ---- POST /v1/contracts/{id}/invoices ---- */

/* The write of POST /v1/contracts/{id}/invoices (a fin_write_fn). */
static int issue_in_tx(svc_ctx *c, void *arg, svc_reply *out, char **id, cpqd_errs *errs)
{
    const fin_doc_req *q = arg;
    const char *contract_id = q->id;
    contract_after a;
    issue_ctx x = {.c = c, .a = &a, .kind = q->kind, .source = "api"};
    x.on = q->on == SCHED_NO_DATE ? c->today : q->on;
    int rc = contract_after_open(c, contract_id, &a, errs);
    if (rc == 0)
        rc = fin_contract_catalog(c, &a, &x.cc, errs);
    if (rc == 0 && q->on != SCHED_NO_DATE)
        rc = contract_date_bound(c, a.r.signed_on, "issued_on", q->on, errs);
    if (rc == 0)
        rc = q->items ? select_given(&x, q->items, q->nitems, q->kind_given, errs)
                      : select_auto(&x, x.on, -1, errs);
    if (rc == 0 && x.n == 0) {
        char d[DATE_FMT_LEN];
        date_format(x.on, d);
        rc = fin_fail(errs, CPQD_ECONFLICT, "contract %s has nothing to put on a%s %s: no %s due by %s that is not on a document",
                      a.k.number, x.kind == INVOICE_KIND_INVOICE ? "n" : "",
                      invoice_kind_name(x.kind), x.kind == INVOICE_KIND_INVOICE ? "charge" : "credit", d);
    }
    char *view = NULL;
    if (rc == 0)
        rc = issue_write(&x, &view, id, errs);
    if (rc == 0) {
        out->created = 1;
        out->body = view, view = NULL;
    }
    free(view);
    free(x.sel);
    contract_after_fini(&a);
    return rc;
}

int fin_invoice_issue(svc_ctx *c, const char *contract_id, const char *body, size_t len,
                      const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128];
    fin_doc_req q;
    memset(out, 0, sizeof(*out));
    snprintf(route, sizeof(route), "POST /v1/contracts/%.64s/invoices", contract_id);
    int rc = fin_json_issue_parse(body, len, &q, errs);
    q.id = contract_id;
    if (rc == 0)
        rc = fin_idem_write(c, route, idem_key, body, len, issue_in_tx, &q, out, errs);
    fin_doc_req_fini(&q);
    return rc;
}

/* ---- reading ---- */

int fin_invoice_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_invoice v;
    memset(out, 0, sizeof(*out));
    int rc = store_invoice_get(c->st, id, &v);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no invoice '%.64s'", id);
    if (rc)
        return fin_store_fail(c, errs, rc, "invoice");
    rc = view_of(c, &v, NULL, &out->body, errs);
    store_invoice_fini(&v);
    return rc;
}

int fin_invoices_of(svc_ctx *c, const char *contract_id, const char *after, const char *limit,
                    svc_reply *out, cpqd_errs *errs)
{
    int64_t a, next;
    size_t l, n = 0;
    store_invoice *v = NULL;
    store_contract k = {0};
    memset(out, 0, sizeof(*out));
    int rc = fin_page_args(after, limit, &a, &l, errs);
    if (rc)
        return rc;
    if ((rc = store_contract_get(c->st, contract_id, &k)) == 0 &&
        !contract_in_scope(c, k.partner_id))
        rc = CPQD_ENOTFOUND;
    store_contract_fini(&k);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no contract '%.64s'", contract_id);
    if (rc == 0 && (rc = store_invoices_of(c->st, contract_id, a, l, &v, &n)) != 0)
        rc = fin_store_fail(c, errs, rc, "invoices");
    fin_json_list *items = fin_json_list_new();
    next = a;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = view_of(c, &v[i], items, NULL, errs);
        next = v[i].seq;
    }
    for (size_t i = 0; i < n; i++)
        store_invoice_fini(&v[i]);
    free(v);
    if (rc == 0) {
        rc = (out->body = fin_json_page(items, next)) ? 0 : CPQD_ENOMEM;
        items = NULL;
    }
    fin_json_list_free(items);
    return rc;
}

const char *const fin_invoice_statuses[] = {"issued", "partially_cancelled", "cancelled", NULL};

/* The filters of GET /v1/invoices checked: dates, status, the cursor (an
 * invoice: a `next` of this list). */
static int list_check(svc_ctx *c, const fin_invoice_query *q, cpqd_errs *errs)
{
    date_days d;
    const char *const dates[2][2] = {{"issued_from", q->issued_from}, {"issued_to", q->issued_to}};
    for (int i = 0; i < 2; i++)
        if (dates[i][1] && date_parse(dates[i][1], strlen(dates[i][1]), &d) != 0)
            return fin_fail(errs, CPQD_EINVAL, "%s: a date YYYY-MM-DD", dates[i][0]);
    bool known = !q->status;
    for (size_t i = 0; !known && fin_invoice_statuses[i]; i++)
        known = !strcmp(q->status, fin_invoice_statuses[i]);
    if (!known)
        return fin_fail(errs, CPQD_EINVAL, "status: issued, partially_cancelled or cancelled");
    store_invoice v;
    int rc = q->page.after ? store_invoice_get(c->st, q->page.after, &v) : 0;
    if (q->page.after && rc == 0)
        store_invoice_fini(&v);
    if (rc == CPQD_ENOTFOUND || rc == CPQD_EINVAL)
        return fin_fail(errs, CPQD_EINVAL, "after: not the `next` of a page of this list");
    return rc ? fin_store_fail(c, errs, rc, "invoice") : 0;
}

int fin_invoices_list(svc_ctx *c, const fin_invoice_query *q, svc_reply *out, cpqd_errs *errs)
{
    store_invoice *v = NULL;
    size_t n = 0, limit = q->page.limit;
    memset(out, 0, sizeof(*out));
    int rc = list_check(c, q, errs);
    if (rc)
        return rc;
    /* one more than the page tells whether anything follows */
    store_invoice_filter f = {q->customer,  q->contract,   q->status, q->issued_from,
                              q->issued_to, q->page.after, limit + 1};
    if ((rc = store_invoice_list(c->st, &f, &v, &n)) != 0)
        rc = fin_store_fail(c, errs, rc, "invoices");
    fin_json_list *items = fin_json_list_new();
    for (size_t i = 0; rc == 0 && i < n && i < limit; i++)
        rc = view_of(c, &v[i], items, NULL, errs);
    if (rc == 0) {
        out->body = fin_json_page_id(items, n > limit ? v[limit - 1].id : NULL);
        rc = out->body ? 0 : CPQD_ENOMEM;
        items = NULL;
    }
    fin_json_list_free(items);
    for (size_t i = 0; i < n; i++)
        store_invoice_fini(&v[i]);
    free(v);
    return rc;
}

int fin_invoice_document(svc_ctx *c, const char *id, const char *lang, svc_reply *out,
                         cpqd_errs *errs)
{
    store_invoice v;
    fin_stored_invoice d;
    memset(out, 0, sizeof(*out));
    invoice_lang l = !lang                 ? INVOICE_LANG_BILINGUAL
                     : !strcmp(lang, "zh") ? INVOICE_LANG_ZH
                                           : INVOICE_LANG_EN;
    int rc = store_invoice_get(c->st, id, &v);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no invoice '%.64s'", id);
    if (rc)
        return fin_store_fail(c, errs, rc, "invoice");
    rc = fin_json_invoice_read(v.document, &d);
    size_t len = 0;
    if (rc == 0)
        rc = invoice_render_html(&d.inv, l, &out->body, &len);
    if (rc == CPQD_EINTERNAL)
        fin_fail(errs, rc, "invoice %s: " INVOICE_DAMAGED, id);
    out->content_type = "text/html; charset=utf-8";
    fin_stored_invoice_fini(&d);
    store_invoice_fini(&v);
    return rc;
}

/* ---- cancellation ---- */

/* The ids to cancel: those the request names (each open on v), or every
 * one still open. */
static int cancel_ids(const fin_doc_req *q, const store_invoice_item *items, size_t n,
                      const char **ids, size_t *k, cpqd_errs *errs)
{
    *k = 0;
    if (!q->items) {
        for (size_t i = 0; i < n; i++)
            if (!items[i].cancelled_by)
                ids[(*k)++] = items[i].receivable_id;
        return *k ? 0 : fin_fail(errs, CPQD_ECONFLICT, "every line of the invoice is cancelled already");
    }
    for (size_t i = 0; i < q->nitems; i++) {
        const char *id = q->items[i];
        const store_invoice_item *it = NULL;
        for (size_t j = 0; j < n && !it; j++)
            if (!strcmp(items[j].receivable_id, id))
                it = &items[j];
        for (size_t j = 0; j < *k; j++)
            if (!strcmp(ids[j], id))
                return fin_fail(errs, CPQD_EINVAL, "items[%zu]: %.64s is named twice", i, id);
        if (!it)
            return fin_fail(errs, CPQD_EINVAL, "items[%zu]: %.64s is not on the invoice", i, id);
        if (it->cancelled_by)
            return fin_fail(errs, CPQD_ECONFLICT, "items[%zu]: %.64s is cancelled already (%s)",
                            i, id, it->cancelled_by);
        ids[(*k)++] = id;
    }
    return 0;
}

/* The write of POST /v1/invoices/{id}/cancel (a fin_write_fn). */
static int cancel_in_tx(svc_ctx *c, void *arg, svc_reply *out, char **cn_id, cpqd_errs *errs)
{
    const fin_doc_req *q = arg;
    const char *id = q->id;
    store_invoice v = {0};
    store_invoice_item *items = NULL;
    size_t n = 0, k = 0;
    fin_stored_invoice orig = {0};
    invoice cn = {0};
    char *cid = NULL, *view = NULL;
    contract_after a = {0};
    int rc = store_invoice_get(c->st, id, &v);
    if (rc == CPQD_ENOTFOUND)
        rc = fin_fail(errs, rc, "no invoice '%.64s'", id);
    else if (rc)
        rc = fin_store_fail(c, errs, rc, "invoice");
    if (rc == 0 && strcmp(v.kind, "invoice"))
        rc = fin_fail(errs, CPQD_ECONFLICT, "%s is a credit note: only invoices are cancelled",
                      v.number);
    if (rc == 0 && (rc = store_invoice_items_of(c->st, id, &items, &n)) != 0)
        rc = fin_store_fail(c, errs, rc, "invoice items");
    const char **ids = rc == 0 ? calloc(n ? n : 1, sizeof(*ids)) : NULL;
    if (rc == 0 && !ids)
        rc = CPQD_ENOMEM;
    if (rc == 0)
        rc = cancel_ids(q, items, n, ids, &k, errs);
    issue_ctx x = {.c = c, .a = &a, .source = "api"};
    if (rc == 0)
        rc = contract_after_open(c, v.contract_id, &a, errs);
    if (rc == 0)
        rc = fin_contract_catalog(c, &a, &x.cc, errs);
    date_days on = q->on == SCHED_NO_DATE ? c->today : q->on;
    if (rc == 0 && q->on != SCHED_NO_DATE)
        rc = contract_date_bound(c, a.r.signed_on, "issued_on", q->on, errs);
    if (rc == 0)
        rc = fin_json_invoice_read(v.document, &orig);
    char num[INVOICE_NUMBER_MAX];
    int64_t seq = 0;
    if (rc == 0)
        rc = number_next(c, &x.cc->finance->issuer, INVOICE_KIND_CREDIT_NOTE, on, num, &seq, errs);
    if (rc == 0)
        rc = invoice_cancel(&orig.inv, ids, k, num, on, &cn, errs);
    if (rc == 0)
        rc = doc_write(&x, &cn, v.id, seq, false, &view, &cid, errs);
    if (rc == 0 && (rc = store_invoice_items_cancel(c->st, id, ids, k, cid)) != 0)
        rc = fin_store_fail(c, errs, rc, "cancel");
    if (rc == 0) {
        out->created = 1;
        out->body = view, view = NULL;
        *cn_id = cid, cid = NULL;
    }
    free(cid), free(view);
    invoice_fini(&cn), fin_stored_invoice_fini(&orig);
    free(ids);
    for (size_t i = 0; i < n; i++)
        store_invoice_item_fini(&items[i]);
    free(items);
    contract_after_fini(&a);
    store_invoice_fini(&v);
    return rc;
}

int fin_invoice_cancel(svc_ctx *c, const char *id, const char *body, size_t len,
                       const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128];
    fin_doc_req q;
    memset(out, 0, sizeof(*out));
    snprintf(route, sizeof(route), "POST /v1/invoices/%.64s/cancel", id);
    int rc = fin_json_cancel_parse(body, len, &q, errs);
    q.id = id;
    if (rc == 0)
        rc = fin_idem_write(c, route, idem_key, body, len, cancel_in_tx, &q, out, errs);
    fin_doc_req_fini(&q);
    return rc;
}

/* ---- the sweep: automatic invoices ---- */

typedef struct sweep_inv {
    const char *contract_id;
    date_days as_of;
    size_t *issued;
} sweep_inv;

/* The customer's open credit applied to the items of contract a that
 * fell due by `on` (fin_credit_apply_item: once per item). */
static int sweep_credit(svc_ctx *c, contract_after *a, date_days on, cpqd_errs *errs)
{
    store_credit *v = NULL;
    size_t n = 0, applied = 0;
    char d[DATE_FMT_LEN];
    date_format(on, d);
    int rc = store_credits_open_of(c->st, a->k.customer_id, a->k.currency, &v, &n);
    if (rc)
        return fin_store_fail(c, errs, rc, "customer credit");
    for (size_t i = 0; i < n; i++)
        store_credit_fini(&v[i]);
    free(v);
    /* the oldest due first; among equals, in the contract's order */
    for (char last[DATE_FMT_LEN] = ""; rc == 0 && n;) {
        const store_receivable *next = NULL;
        for (size_t i = 0; i < a->n; i++) {
            const char *due = a->rows[i].due_on;
            if (due && strcmp(due, d) <= 0 && strcmp(due, last) > 0 &&
                (!next || strcmp(due, next->due_on) < 0))
                next = &a->rows[i];
        }
        if (!next)
            break;
        snprintf(last, sizeof(last), "%s", next->due_on);
        for (size_t i = 0; rc == 0 && i < a->n; i++)
            if (a->rows[i].due_on && !strcmp(a->rows[i].due_on, last))
                rc = fin_credit_apply_item(c, a->rows[i].id, &applied, errs);
    }
    return rc;
}

static int sweep_one(svc_ctx *c, void *arg, cpqd_errs *errs)
{
    sweep_inv *s = arg;
    contract_after a;
    int rc = contract_after_open(c, s->contract_id, &a, errs);
    issue_ctx x = {.c = c, .a = &a, .on = s->as_of, .source = "sweep"};
    if (rc == 0 && (fin_contract_catalog(c, &a, &x.cc, NULL) != 0 ||
                    x.cc->finance->issue == CAT_INVOICE_MANUAL)) {
        /* invoiced on request only */
        rc = sweep_credit(c, &a, s->as_of, errs);
        contract_after_fini(&a);
        return rc;
    }
    for (int k = 0; rc == 0 && k < 2; k++) {
        char *view = NULL;
        x.kind = k ? INVOICE_KIND_CREDIT_NOTE : INVOICE_KIND_INVOICE;
        free(x.sel);
        x.sel = NULL, x.n = 0;
        rc = select_auto(&x, s->as_of, (int)x.cc->finance->issue, errs);
        if (rc == 0 && x.n && (rc = issue_write(&x, &view, NULL, errs)) == 0)
            (*s->issued)++;
        free(view);
    }
    if (rc == 0)
        rc = sweep_credit(c, &a, s->as_of, errs);
    free(x.sel);
    contract_after_fini(&a);
    return rc;
}

int fin_invoice_sweep(svc_ctx *c, struct sweep_run *w, size_t *issued)
{
    store_receivable *rows = NULL;
    size_t n = 0;
    char until[DATE_FMT_LEN];
    /* a bill date lies before its due date: look a year ahead */
    date_format(w->as_of + 400, until);
    int rc = store_receivables_due_until(c->st, until, NULL, &rows, &n);
    const char **seen = rc == 0 ? calloc(n ? n : 1, sizeof(*seen)) : NULL;
    size_t ns = 0;
    if (rc == 0 && !seen)
        rc = CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *cid = rows[i].contract_id;
        bool done = false;
        for (size_t k = 0; k < ns && !done; k++)
            done = !strcmp(seen[k], cid);
        if (done)
            continue;
        seen[ns++] = cid;
        sweep_inv x = {cid, w->as_of, issued};
        rc = contract_sweep_item(c, w, "invoice", cid, cid, rows[i].contract_number, sweep_one,
                                 &x, NULL);
    }
    free(seen);
    contract_rows_free(rows, n);
    return rc;
}
