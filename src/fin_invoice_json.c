/*
 * fin_invoice_json: the wire form of invoices and credit notes
 * (docs/finance.md "Invoices"; fin_json.h): the bodies of issuing and
 * cancelling into typed requests, the typed document into the JSON the
 * store keeps and back, and a stored document with its state into the
 * view GET shows (also the payload of invoice.issued and
 * credit_note.issued).
 * Does not own: which items a document covers, its number, its status
 * (fin_invoice.c), its arithmetic (invoice).
 *
 * Invariant: a document read back (fin_json_invoice_read) is the typed
 * document it was written from (fin_json_invoice_doc), checked by
 * invoice_check.
 */
#include "fin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- requests ---- */

/* The body into q->root (an empty one is {}), with only the members
 * keys. */
static int doc_req_open(const char *body, size_t len, const char *const *keys, fin_doc_req *q,
                        cpqd_errs *errs)
{
    memset(q, 0, sizeof(*q));
    q->on = SCHED_NO_DATE;
    return fin_json_object_parse(body, len, true, keys, &q->root, errs);
}

/* "items" (when given: 1 to max receivable ids; bad: msg) and
 * "issued_on" of q->root into q. */
static int doc_req_read(fin_doc_req *q, size_t max, const char *msg, cpqd_errs *errs)
{
    json_t *items = json_object_get(q->root, "items");
    size_t n = json_array_size(items);
    if (items && (!json_is_array(items) || n == 0 || n > max))
        return fin_fail(errs, CPQD_EINVAL, "%s", msg);
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(items, i)))
            return fin_fail(errs, CPQD_EINVAL, "items[%zu]: a receivable id (string)", i);
    if (items && !(q->items = calloc(n, sizeof(*q->items))))
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        q->items[i] = json_string_value(json_array_get(items, i));
    q->nitems = n;
    return contract_date_member(q->root, "issued_on", "", &q->on, errs);
}

int fin_json_issue_parse(const char *body, size_t len, fin_doc_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"items", "kind", "issued_on", NULL};
    int rc = doc_req_open(body, len, keys, q, errs);
    json_t *k = json_object_get(q->root, "kind");
    if (rc == 0 && k) {
        const char *s = json_string_value(k);
        q->kind_given = true;
        if (s && !strcmp(s, "credit_note"))
            q->kind = INVOICE_KIND_CREDIT_NOTE;
        else if (!s || strcmp(s, "invoice"))
            rc = fin_fail(errs, CPQD_EINVAL, "kind: \"invoice\" or \"credit_note\"");
    }
    return rc ? rc : doc_req_read(q, 1000, "items: a list of 1 to 1000 receivable ids", errs);
}

int fin_json_cancel_parse(const char *body, size_t len, fin_doc_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"items", "issued_on", NULL};
    int rc = doc_req_open(body, len, keys, q, errs);
    return rc ? rc
              : doc_req_read(q, SIZE_MAX, "items: a list of receivable ids on the invoice", errs);
}

void fin_doc_req_fini(fin_doc_req *q)
{
    json_decref(q->root);
    free(q->items);
    q->root = NULL, q->items = NULL, q->nitems = 0;
}

/* ---- the document as the store keeps it ---- */

static json_t *party_json(const invoice_party *p)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "id", p->id, "name", p->name, "tax_id",
                     fin_json_str_or_null(p->tax_id), "address", fin_json_str_or_null(p->address),
                     "bank", fin_json_str_or_null(p->bank), "bank_account",
                     fin_json_str_or_null(p->bank_account));
}

static json_t *line_json(const invoice *inv, const invoice_line *l)
{
    char q[MONEY_FMT_MAX], r[MONEY_FMT_MAX], n[MONEY_FMT_MAX], t[MONEY_FMT_MAX], g[MONEY_FMT_MAX];
    char due[DATE_FMT_LEN];
    date_format(l->due_on, due);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "receivable_id",
                     l->item_id, "line", l->line_id, "sku", l->sku, "name", l->name, "category",
                     l->category, "uom", fin_json_str_or_null(l->uom), "description",
                     fin_json_str_or_null(l->desc), "tax_class", l->tax_class, "tax_rate",
                     fin_dec(l->rate, -1, r), "quantity", fin_dec(l->quantity, -1, q), "net",
                     fin_dec(l->net, inv->minor, n), "tax", fin_dec(l->tax, inv->minor, t), "total",
                     fin_dec(l->gross, inv->minor, g), "due_on", due);
}

static json_t *tax_json(const invoice *inv, const invoice_tax_total *x)
{
    char r[MONEY_FMT_MAX], n[MONEY_FMT_MAX], t[MONEY_FMT_MAX], g[MONEY_FMT_MAX];
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "tax_class", x->tax_class, "tax_rate",
                     fin_dec(x->rate, -1, r), "net", fin_dec(x->net, inv->minor, n), "tax",
                     fin_dec(x->tax, inv->minor, t), "total", fin_dec(x->gross, inv->minor, g));
}

/* The typed document as stored (and shown, under the view's fields). */
static json_t *doc_json(const invoice *inv)
{
    char n[MONEY_FMT_MAX], t[MONEY_FMT_MAX], g[MONEY_FMT_MAX], on[DATE_FMT_LEN], due[DATE_FMT_LEN];
    json_t *lines = json_array(), *taxes = json_array();
    for (size_t i = 0; lines && i < inv->nlines; i++)
        json_array_append_new(lines, line_json(inv, &inv->lines[i]));
    for (size_t i = 0; taxes && i < inv->ntaxes; i++)
        json_array_append_new(taxes, tax_json(inv, &inv->taxes[i]));
    if (!lines || !taxes || json_array_size(lines) != inv->nlines ||
        json_array_size(taxes) != inv->ntaxes) {
        json_decref(lines), json_decref(taxes);
        return NULL;
    }
    date_format(inv->issued_on, on);
    date_format(inv->due_on, due);
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:s,s:s,s:s}",
                     "number", inv->number, "kind", invoice_kind_name(inv->kind), "reason",
                     invoice_reason_name(inv->reason), "original",
                     *inv->original ? json_string(inv->original) : json_null(), "currency",
                     inv->currency, "issued_on", on, "due_on", due, "contract_id",
                     fin_json_str_or_null(inv->contract_id), "contract_number",
                     fin_json_str_or_null(inv->contract_number), "issuer", party_json(&inv->issuer),
                     "customer", party_json(&inv->customer), "tax_rounding",
                     inv->tax_rule.per_document ? "per_document" : "per_line", "tax_rounding_mode",
                     money_round_name(inv->tax_rule.mode), "lines", lines, "taxes", taxes, "net",
                     fin_dec(inv->net, inv->minor, n), "tax", fin_dec(inv->tax, inv->minor, t),
                     "total", fin_dec(inv->total, inv->minor, g));
}

char *fin_json_invoice_doc(const invoice *inv)
{
    return contract_dump(doc_json(inv));
}

/* ---- a stored document read back ---- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int jdec(json_t *o, const char *k, money_dec *v)
{
    return fin_money_of(jstr(o, k), v);
}

static int jdate(json_t *o, const char *k, date_days *d)
{
    const char *s = jstr(o, k);
    return s && date_parse(s, strlen(s), d) == 0 ? 0 : CPQD_EINTERNAL;
}

static void party_read(json_t *o, invoice_party *p)
{
    *p = (invoice_party){jstr(o, "id"),      jstr(o, "name"), jstr(o, "tax_id"),
                         jstr(o, "address"), jstr(o, "bank"), jstr(o, "bank_account")};
}

static int lines_read(json_t *arr, invoice *inv)
{
    size_t n = json_array_size(arr);
    inv->lines = calloc(n ? n : 1, sizeof(*inv->lines));
    if (!inv->lines)
        return CPQD_ENOMEM;
    inv->nlines = n;
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(arr, i);
        invoice_line *x = &inv->lines[i];
        *x = (invoice_line){.item_id = jstr(l, "receivable_id"),
                            .line_id = jstr(l, "line"),
                            .sku = jstr(l, "sku"),
                            .name = jstr(l, "name"),
                            .category = jstr(l, "category"),
                            .uom = jstr(l, "uom"),
                            .desc = jstr(l, "description"),
                            .tax_class = jstr(l, "tax_class")};
        if (jdec(l, "quantity", &x->quantity) || jdec(l, "tax_rate", &x->rate) ||
            jdec(l, "net", &x->net) || jdec(l, "tax", &x->tax) || jdec(l, "total", &x->gross) ||
            jdate(l, "due_on", &x->due_on) || !x->item_id || !x->line_id || !x->tax_class)
            return CPQD_EINTERNAL;
    }
    return 0;
}

static int taxes_read(json_t *arr, invoice *inv)
{
    size_t n = json_array_size(arr);
    inv->taxes = calloc(n ? n : 1, sizeof(*inv->taxes));
    if (!inv->taxes)
        return CPQD_ENOMEM;
    inv->ntaxes = n;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(arr, i);
        invoice_tax_total *x = &inv->taxes[i];
        x->tax_class = jstr(t, "tax_class");
        if (!x->tax_class || jdec(t, "tax_rate", &x->rate) || jdec(t, "net", &x->net) ||
            jdec(t, "tax", &x->tax) || jdec(t, "total", &x->gross))
            return CPQD_EINTERNAL;
    }
    return 0;
}

/* The stored document d back into *inv, its strings borrowed from d
 * (which must outlive it); checked with invoice_check. */
static int doc_read(json_t *d, invoice *inv)
{
    memset(inv, 0, sizeof(*inv));
    const char *kind = jstr(d, "kind"), *reason = jstr(d, "reason"), *cur = jstr(d, "currency");
    const char *num = jstr(d, "number"), *orig = jstr(d, "original");
    if (!kind || !reason || !cur || strlen(cur) != 3 || !num || strlen(num) >= INVOICE_NUMBER_MAX ||
        (orig && strlen(orig) >= INVOICE_NUMBER_MAX))
        return CPQD_EINTERNAL;
    inv->kind = strcmp(kind, "invoice") ? INVOICE_KIND_CREDIT_NOTE : INVOICE_KIND_INVOICE;
    inv->reason = !strcmp(reason, "sale")     ? INVOICE_REASON_SALE
                  : !strcmp(reason, "credit") ? INVOICE_REASON_CREDIT
                                              : INVOICE_REASON_CANCELLATION;
    snprintf(inv->number, sizeof(inv->number), "%s", num);
    snprintf(inv->original, sizeof(inv->original), "%s", orig ? orig : "");
    memcpy(inv->currency, cur, 4);
    party_read(json_object_get(d, "issuer"), &inv->issuer);
    party_read(json_object_get(d, "customer"), &inv->customer);
    inv->contract_id = jstr(d, "contract_id");
    inv->contract_number = jstr(d, "contract_number");
    const char *tr = jstr(d, "tax_rounding"), *mode = jstr(d, "tax_rounding_mode");
    inv->tax_rule.per_document = tr && !strcmp(tr, "per_document");
    int rc = mode && money_round_parse(mode, &inv->tax_rule.mode) == 0 ? 0 : CPQD_EINTERNAL;
    if (rc == 0)
        rc = money_currency_minor(cur, &inv->minor) == 0 ? 0 : CPQD_EINTERNAL;
    if (rc == 0)
        rc = jdate(d, "issued_on", &inv->issued_on) || jdate(d, "due_on", &inv->due_on)
                 ? CPQD_EINTERNAL
                 : 0;
    if (rc == 0)
        rc = jdec(d, "net", &inv->net) || jdec(d, "tax", &inv->tax) || jdec(d, "total", &inv->total)
                 ? CPQD_EINTERNAL
                 : 0;
    if (rc == 0)
        rc = lines_read(json_object_get(d, "lines"), inv);
    if (rc == 0)
        rc = taxes_read(json_object_get(d, "taxes"), inv);
    if (rc == 0 && (!inv->issuer.id || !inv->customer.id || invoice_check(inv, NULL) != 0))
        rc = CPQD_EINTERNAL;
    if (rc)
        invoice_fini(inv);
    return rc;
}

int fin_json_invoice_read(const char *text, fin_stored_invoice *d)
{
    json_error_t je;
    memset(d, 0, sizeof(*d));
    d->root = json_loads(text, 0, &je);
    return d->root ? doc_read(d->root, &d->inv) : CPQD_EINTERNAL;
}

void fin_stored_invoice_fini(fin_stored_invoice *d)
{
    invoice_fini(&d->inv);
    json_decref(d->root);
    d->root = NULL;
}

/* ---- the view ---- */

/* The stored document of v->v with its id, status, origin and the
 * cancellations of its lines. */
static int view_json(const fin_invoice_view *v, json_t **out)
{
    json_error_t je;
    json_t *o = json_loads(v->v->document, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return CPQD_EINTERNAL;
    }
    json_t *cancelled = json_array();
    for (size_t i = 0; cancelled && i < v->n; i++)
        if (v->items[i].cancelled_by)
            json_array_append_new(cancelled,
                                  json_pack("{s:s,s:s}", "receivable_id", v->items[i].receivable_id,
                                            "credit_note_id", v->items[i].cancelled_by));
    json_object_set_new(o, "id", json_string(v->v->id));
    json_object_set_new(o, "status", json_string(v->status));
    json_object_set_new(o, "original_id", fin_json_str_or_null(v->v->original_id));
    json_object_set_new(o, "cancelled", cancelled ? cancelled : json_array());
    json_object_set_new(o, "source", json_string(v->v->source));
    json_object_set_new(o, "created_by", json_string(v->v->created_by));
    json_object_set_new(o, "created_at", json_string(v->v->created_at));
    *out = o;
    return 0;
}

int fin_json_invoice_view(const fin_invoice_view *v, char **out)
{
    json_t *o = NULL;
    int rc = view_json(v, &o);
    *out = rc ? NULL : contract_dump(o);
    return rc ? rc : *out ? 0 : CPQD_ENOMEM;
}

int fin_json_list_add_invoice(fin_json_list *l, const fin_invoice_view *v)
{
    json_t *o = NULL;
    int rc = view_json(v, &o);
    return rc ? rc : fin_json_list_append(l, o);
}
