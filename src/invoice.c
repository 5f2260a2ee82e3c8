/*
 * invoice: invoices and credit notes from receivable items
 * (include/cpqd/invoice.h, docs/finance.md "Invoices").
 *
 * Owns: validating a request, the tax of each line taken out of its gross
 * amount (per line or per document, the catalog's mode), the totals, and
 * cancellations as exact mirrors. Does not own: the printable document
 * (invoice_doc.c), numbering counters, storage.
 *
 * Key invariant: net + tax = gross on every line; the sums agree on every
 * level (lines, classes, document) to the last minor unit. Amounts are
 * computed on absolute values and negated for credit notes, so a credit
 * mirrors the charge it reverses whatever the rounding mode.
 */
#include "cpqd/invoice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void inv_err(cpqd_errs *errs, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void inv_err(cpqd_errs *errs, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!errs)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_add(errs, code, NULL, 0, 0, "%s", msg);
}

const char *invoice_kind_name(invoice_kind k)
{
    static const char *const n[] = {"invoice", "credit_note"};
    return (unsigned)k < 2 ? n[k] : NULL;
}

const char *invoice_reason_name(invoice_reason r)
{
    static const char *const n[] = {"sale", "credit", "cancellation"};
    return (unsigned)r < 3 ? n[r] : NULL;
}

int invoice_number_format(const char *prefix, int year, uint32_t seq, char *buf, size_t cap)
{
    if (!prefix || !*prefix || year < 1900 || year > 9999 || seq == 0 || seq > INVOICE_SEQ_MAX)
        return CPQD_EINVAL;
    int n = snprintf(buf, cap, "%s-%04d-%06u", prefix, year, (unsigned)seq);
    if (n < 0 || (size_t)n >= cap)
        return CPQD_ERANGE;
    return n;
}

void invoice_fini(invoice *inv)
{
    if (!inv)
        return;
    free(inv->lines);
    free(inv->taxes);
    memset(inv, 0, sizeof(*inv));
}

/* ---- tax ---- */

static money_dec zero_at(int minor)
{
    return (money_dec){0, minor};
}

/* The tax held in a non-negative gross amount at rate: gross x rate /
 * (1 + rate), computed exactly and rounded once to minor with mode. */
static int tax_in_gross(money_dec gross, money_dec rate, int minor, money_round mode,
                        money_dec *out)
{
    money_dec part, one_plus;
    int rc;
    if (money_is_zero(rate) || money_is_zero(gross))
        return money_rescale(money_from_int(0), minor, mode, out);
    if ((rc = money_mul(gross, rate, gross.scale + rate.scale, mode, &part)) ||
        (rc = money_add(money_from_int(1), rate, &one_plus)))
        return rc;
    return money_div(part, one_plus, minor, mode, out);
}

/* Sets l->net = l->gross - l->tax. */
static int line_net(invoice_line *l)
{
    return money_sub(l->gross, l->tax, &l->net);
}

static bool same_class(const invoice_line *a, const invoice_line *b)
{
    return strcmp(a->tax_class, b->tax_class) == 0 && money_cmp(a->rate, b->rate) == 0;
}

/* Per line: each line's own tax, on its absolute gross. */
static int tax_per_line(invoice *inv)
{
    int rc;
    for (size_t i = 0; i < inv->nlines; i++) {
        invoice_line *l = &inv->lines[i];
        money_dec g = l->gross;
        if (money_sign(g) < 0)
            g = money_neg(g);
        if ((rc = tax_in_gross(g, l->rate, inv->minor, inv->tax_rule.mode, &l->tax)))
            return rc;
        if (money_sign(l->gross) < 0)
            l->tax = money_neg(l->tax);
        if ((rc = line_net(l)))
            return rc;
    }
    return 0;
}

/* Per document: one tax per class on the sum of its lines, allocated back
 * onto them in proportion to their gross amounts (largest remainder, ties
 * to the earliest line), so the lines add up to the class's tax. */
static int tax_per_document(invoice *inv)
{
    int rc = 0;
    size_t n = inv->nlines;
    bool *done = calloc(n, sizeof(*done));
    size_t *idx = calloc(n, sizeof(*idx));
    money_dec *w = calloc(n, sizeof(*w)), *part = calloc(n, sizeof(*part));
    if (!done || !idx || !w || !part) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        money_dec sum = zero_at(inv->minor), tax;
        bool neg = money_sign(inv->lines[i].gross) < 0 || inv->kind == INVOICE_KIND_CREDIT_NOTE;
        for (size_t j = i; j < n && rc == 0; j++) {
            if (done[j] || !same_class(&inv->lines[i], &inv->lines[j]))
                continue;
            done[j] = true;
            idx[k] = j;
            w[k] = neg ? money_neg(inv->lines[j].gross) : inv->lines[j].gross;
            rc = money_add(sum, w[k++], &sum);
        }
        if (rc ||
            (rc = tax_in_gross(sum, inv->lines[i].rate, inv->minor, inv->tax_rule.mode, &tax)))
            break;
        if (money_is_zero(sum)) {
            for (size_t m = 0; m < k; m++)
                part[m] = zero_at(inv->minor);
        } else if ((rc = money_allocate(tax, w, k, inv->minor, part))) {
            break;
        }
        for (size_t m = 0; m < k && rc == 0; m++) {
            invoice_line *l = &inv->lines[idx[m]];
            l->tax = neg ? money_neg(part[m]) : part[m];
            rc = line_net(l);
        }
    }
out:
    free(done);
    free(idx);
    free(w);
    free(part);
    return rc;
}

/* Totals per class (in order of first appearance) and of the document. */
static int totals(invoice *inv)
{
    int rc = 0;
    inv->taxes = calloc(inv->nlines ? inv->nlines : 1, sizeof(*inv->taxes));
    if (!inv->taxes)
        return CPQD_ENOMEM;
    inv->net = inv->tax = inv->total = zero_at(inv->minor);
    for (size_t i = 0; i < inv->nlines && rc == 0; i++) {
        const invoice_line *l = &inv->lines[i];
        size_t t = 0;
        while (t < inv->ntaxes && !(strcmp(inv->taxes[t].tax_class, l->tax_class) == 0 &&
                                    money_cmp(inv->taxes[t].rate, l->rate) == 0))
            t++;
        invoice_tax_total *x = &inv->taxes[t];
        if (t == inv->ntaxes) {
            *x = (invoice_tax_total){l->tax_class, l->rate, zero_at(inv->minor),
                                     zero_at(inv->minor), zero_at(inv->minor)};
            inv->ntaxes++;
        }
        if ((rc = money_add(x->net, l->net, &x->net)) ||
            (rc = money_add(x->tax, l->tax, &x->tax)) ||
            (rc = money_add(x->gross, l->gross, &x->gross)) ||
            (rc = money_add(inv->net, l->net, &inv->net)) ||
            (rc = money_add(inv->tax, l->tax, &inv->tax)))
            break;
        rc = money_add(inv->total, l->gross, &inv->total);
    }
    return rc;
}

/* ---- building ---- */

static bool rate_ok(money_dec r)
{
    return money_is_valid(r) && money_sign(r) >= 0 && money_cmp(r, money_from_int(1)) < 0;
}

static bool party_ok(const invoice_party *p)
{
    return p && p->id && *p->id && p->name && *p->name;
}

/* Request-level checks; returns the number of problems reported. */
static int check_request(const invoice_request *r, int *minor, cpqd_errs *errs)
{
    int bad = 0;
    if (!r->currency || money_currency_minor(r->currency, minor) != 0) {
        inv_err(errs, CPQD_EINVAL, "unknown currency '%.8s'", r->currency ? r->currency : "");
        bad++;
        *minor = 2;
    }
    if (!r->number || !*r->number || strlen(r->number) >= INVOICE_NUMBER_MAX) {
        inv_err(errs, CPQD_EINVAL, "a document needs a number of 1 to %d characters",
                INVOICE_NUMBER_MAX - 1);
        bad++;
    }
    if (r->kind != INVOICE_KIND_INVOICE && r->kind != INVOICE_KIND_CREDIT_NOTE) {
        inv_err(errs, CPQD_EINVAL, "unknown document kind %d", (int)r->kind);
        bad++;
    }
    if (r->issued_on == INVOICE_NO_DATE) {
        inv_err(errs, CPQD_EINVAL, "a document needs its issue date");
        bad++;
    }
    if (!party_ok(r->issuer) || !party_ok(r->customer)) {
        inv_err(errs, CPQD_EINVAL, "a document needs an issuer and a customer with id and name");
        bad++;
    }
    if (r->nitems == 0 || !r->items) {
        inv_err(errs, CPQD_EINVAL, "a document needs at least one item");
        bad++;
    }
    for (size_t i = 0; i < r->nlines; i++) {
        const invoice_src_line *l = &r->lines[i];
        if (!l->id || !l->sku || !l->name || !l->category || !l->tax_class) {
            inv_err(errs, CPQD_EINVAL,
                    "line %zu: id, sku, name, category and tax class are required", i);
            bad++;
        } else if (!rate_ok(l->tax_rate)) {
            inv_err(errs, CPQD_EINVAL, "line %s: tax rate must be at least 0 and below 1", l->id);
            bad++;
        }
    }
    return bad;
}

/* Item-level checks; returns the number of problems reported. */
static int check_item(const invoice_request *r, size_t i, int minor, cpqd_errs *errs)
{
    const invoice_src_item *it = &r->items[i];
    const char *id = it->id ? it->id : "?";
    int bad = 0;
    if (!it->id || !*it->id) {
        inv_err(errs, CPQD_EINVAL, "item %zu: an item needs its receivable id", i);
        bad++;
    }
    for (size_t j = 0; it->id && j < i; j++)
        if (r->items[j].id && strcmp(r->items[j].id, it->id) == 0) {
            inv_err(errs, CPQD_EINVAL, "item %s: listed twice", id);
            bad++;
            break;
        }
    if (it->line >= r->nlines) {
        inv_err(errs, CPQD_EINVAL, "item %s: line %zu does not exist (%zu lines)", id, it->line,
                r->nlines);
        bad++;
    }
    if (!money_is_valid(it->amount) || it->amount.scale > minor) {
        inv_err(errs, CPQD_EINVAL, "item %s: amount has more places than %s allows (%d)", id,
                r->currency ? r->currency : "?", minor);
        bad++;
    } else if (r->kind == INVOICE_KIND_INVOICE && money_sign(it->amount) < 0) {
        inv_err(errs, CPQD_EINVAL, "item %s: a credit (negative amount) goes on a credit note", id);
        bad++;
    } else if (r->kind == INVOICE_KIND_CREDIT_NOTE && money_sign(it->amount) > 0) {
        inv_err(errs, CPQD_EINVAL, "item %s: a charge (positive amount) goes on an invoice", id);
        bad++;
    }
    if (it->due_on == INVOICE_NO_DATE) {
        inv_err(errs, CPQD_EINVAL,
                "item %s: its due date is not known yet (pending items are "
                "not invoiced)",
                id);
        bad++;
    }
    if (it->tax_class && !rate_ok(it->tax_rate)) {
        inv_err(errs, CPQD_EINVAL, "item %s: tax rate must be at least 0 and below 1", id);
        bad++;
    }
    return bad;
}

static int fill_lines(const invoice_request *r, invoice *inv)
{
    inv->lines = calloc(r->nitems, sizeof(*inv->lines));
    if (!inv->lines)
        return CPQD_ENOMEM;
    inv->due_on = INVOICE_NO_DATE;
    for (size_t i = 0; i < r->nitems; i++) {
        const invoice_src_item *it = &r->items[i];
        const invoice_src_line *sl = &r->lines[it->line];
        invoice_line *l = &inv->lines[inv->nlines++];
        *l = (invoice_line){.item_id = it->id,
                            .line_id = sl->id,
                            .sku = sl->sku,
                            .name = sl->name,
                            .category = sl->category,
                            .uom = sl->uom,
                            .desc = it->desc,
                            .quantity = sl->quantity,
                            .tax_class = it->tax_class ? it->tax_class : sl->tax_class,
                            .rate = it->tax_class ? it->tax_rate : sl->tax_rate,
                            .due_on = it->due_on};
        int rc = money_rescale(it->amount, inv->minor, MONEY_HALF_EVEN, &l->gross);
        if (rc)
            return rc;
        if (inv->due_on == INVOICE_NO_DATE || it->due_on < inv->due_on)
            inv->due_on = it->due_on;
    }
    if (inv->kind == INVOICE_KIND_CREDIT_NOTE)
        inv->due_on = inv->issued_on;
    return 0;
}

int invoice_build(const invoice_request *r, invoice *out, cpqd_errs *errs)
{
    int minor = 2, rc;
    memset(out, 0, sizeof(*out));
    if (!r)
        return CPQD_EINVAL;
    int bad = check_request(r, &minor, errs);
    for (size_t i = 0; r->items && i < r->nitems; i++)
        bad += check_item(r, i, minor, errs);
    if (bad)
        return CPQD_EINVAL;
    invoice *inv = out;
    inv->kind = r->kind;
    inv->reason = r->kind == INVOICE_KIND_INVOICE ? INVOICE_REASON_SALE : INVOICE_REASON_CREDIT;
    snprintf(inv->number, sizeof(inv->number), "%s", r->number);
    memcpy(inv->currency, r->currency, 3);
    inv->minor = minor;
    inv->issued_on = r->issued_on;
    inv->issuer = *r->issuer;
    inv->customer = *r->customer;
    inv->contract_id = r->contract_id;
    inv->contract_number = r->contract_number;
    inv->tax_rule = r->tax_rule;
    if ((rc = fill_lines(r, inv)) ||
        (rc = r->tax_rule.per_document ? tax_per_document(inv) : tax_per_line(inv)) ||
        (rc = totals(inv)))
        goto fail;
    if (money_is_zero(inv->total)) {
        inv_err(errs, CPQD_EINVAL, "the items add up to 0: nothing to %s",
                inv->kind == INVOICE_KIND_INVOICE ? "invoice" : "credit");
        rc = CPQD_EINVAL;
        goto fail;
    }
    return 0;
fail:
    invoice_fini(inv);
    return rc;
}

/* ---- cancellation ---- */

static long find_line(const invoice *orig, const char *id)
{
    for (size_t i = 0; id && i < orig->nlines; i++)
        if (strcmp(orig->lines[i].item_id, id) == 0)
            return (long)i;
    return -1;
}

/* Marks the lines to cancel in take[]; returns the number of problems. */
static int cancel_pick(const invoice *orig, const char *const *ids, size_t n, bool *take,
                       cpqd_errs *errs)
{
    int bad = 0;
    if (n == 0) {
        for (size_t i = 0; i < orig->nlines; i++)
            take[i] = true;
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        long i = find_line(orig, ids[k]);
        if (i < 0) {
            inv_err(errs, CPQD_EINVAL, "item %s is not on invoice %s", ids[k] ? ids[k] : "?",
                    orig->number);
            bad++;
        } else if (take[i]) {
            inv_err(errs, CPQD_EINVAL, "item %s: listed twice", ids[k]);
            bad++;
        } else {
            take[i] = true;
        }
    }
    return bad;
}

int invoice_cancel(const invoice *orig, const char *const *item_ids, size_t n, const char *number,
                   date_days issued_on, invoice *out, cpqd_errs *errs)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (!orig || orig->kind != INVOICE_KIND_INVOICE || orig->nlines == 0) {
        inv_err(errs, CPQD_EINVAL, "only an issued invoice can be cancelled");
        return CPQD_EINVAL;
    }
    if (!number || !*number || strlen(number) >= INVOICE_NUMBER_MAX ||
        issued_on == INVOICE_NO_DATE) {
        inv_err(errs, CPQD_EINVAL, "a credit note needs a number and an issue date");
        return CPQD_EINVAL;
    }
    bool *take = calloc(orig->nlines, sizeof(*take));
    if (!take)
        return CPQD_ENOMEM;
    if (cancel_pick(orig, item_ids, n, take, errs)) {
        free(take);
        return CPQD_EINVAL;
    }
    *out = *orig;
    out->lines = calloc(orig->nlines, sizeof(*out->lines));
    out->taxes = NULL;
    out->ntaxes = out->nlines = 0;
    if (!out->lines) {
        free(take);
        memset(out, 0, sizeof(*out));
        return CPQD_ENOMEM;
    }
    out->kind = INVOICE_KIND_CREDIT_NOTE;
    out->reason = INVOICE_REASON_CANCELLATION;
    snprintf(out->number, sizeof(out->number), "%s", number);
    snprintf(out->original, sizeof(out->original), "%s", orig->number);
    out->issued_on = out->due_on = issued_on;
    for (size_t i = 0; i < orig->nlines; i++) {
        if (!take[i])
            continue;
        invoice_line *l = &out->lines[out->nlines++];
        *l = orig->lines[i];
        l->net = money_neg(l->net);
        l->tax = money_neg(l->tax);
        l->gross = money_neg(l->gross);
    }
    free(take);
    if ((rc = totals(out)))
        invoice_fini(out);
    return rc;
}

/* ---- invariant ---- */

static int broken(cpqd_errs *errs, const invoice *inv, const char *what)
{
    inv_err(errs, CPQD_EINTERNAL, "document %s: %s", inv->number, what);
    return CPQD_EINTERNAL;
}

static bool at_minor(money_dec v, int minor)
{
    return money_is_valid(v) && v.scale == minor;
}

static int check_line(const invoice *inv, const invoice_line *l, cpqd_errs *errs)
{
    money_dec s;
    int want = inv->kind == INVOICE_KIND_INVOICE ? 1 : -1;
    if (!at_minor(l->net, inv->minor) || !at_minor(l->tax, inv->minor) ||
        !at_minor(l->gross, inv->minor))
        return broken(errs, inv, "a line amount is not at the currency's places");
    if (money_add(l->net, l->tax, &s) || money_cmp(s, l->gross) != 0)
        return broken(errs, inv, "a line's net + tax is not its gross");
    if (money_sign(l->gross) == -want || money_sign(l->tax) == -want)
        return broken(errs, inv, "a line has the wrong sign");
    return 0;
}

int invoice_check(const invoice *inv, cpqd_errs *errs)
{
    int rc;
    money_dec net = zero_at(inv->minor), tax = net, gross = net;
    for (size_t i = 0; i < inv->nlines; i++) {
        const invoice_line *l = &inv->lines[i];
        if ((rc = check_line(inv, l, errs)))
            return rc;
        if (money_add(net, l->net, &net) || money_add(tax, l->tax, &tax) ||
            money_add(gross, l->gross, &gross))
            return broken(errs, inv, "overflow");
    }
    if (money_cmp(net, inv->net) || money_cmp(tax, inv->tax) || money_cmp(gross, inv->total))
        return broken(errs, inv, "the totals are not the sums of the lines");
    money_dec cn = zero_at(inv->minor), ct = cn, cg = cn;
    for (size_t t = 0; t < inv->ntaxes; t++) {
        const invoice_tax_total *x = &inv->taxes[t];
        money_dec s;
        if (money_add(x->net, x->tax, &s) || money_cmp(s, x->gross) != 0)
            return broken(errs, inv, "a class's net + tax is not its gross");
        if (money_add(cn, x->net, &cn) || money_add(ct, x->tax, &ct) ||
            money_add(cg, x->gross, &cg))
            return broken(errs, inv, "overflow");
    }
    if (money_cmp(cn, inv->net) || money_cmp(ct, inv->tax) || money_cmp(cg, inv->total))
        return broken(errs, inv, "the class totals do not add up to the document");
    return 0;
}
