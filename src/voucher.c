/*
 * voucher: double-entry vouchers for the ERP (include/cpqd/voucher.h,
 * docs/finance.md "Vouchers").
 *
 * Owns: the postings of each business event on the catalog's accounts,
 * merging them into lines, the balance check and the CSV rows. Does not
 * own: any amount (they come from invoices, matches, revenue plans).
 *
 * Key invariant: a voucher is built from signed postings (debit positive,
 * credit negative) that add up to zero by construction; lines with the
 * same account and memo are merged, zero lines dropped, and the result is
 * checked before it is returned, so an unbalanced voucher never leaves
 * this file.
 */
#include "cpqd/voucher.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *voucher_kind_name(voucher_kind k)
{
    static const char *const n[] = {"invoice", "credit_note", "payment", "match",
                                    "unmatch", "write_off",   "revenue"};
    return (unsigned)k < 7 ? n[k] : NULL;
}

static int v_err(cpqd_errs *errs, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int v_err(cpqd_errs *errs, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (errs)
        errs_add(errs, code, NULL, 0, 0, "%s", msg);
    return code;
}

void voucher_fini(voucher *v)
{
    if (!v)
        return;
    free(v->lines);
    memset(v, 0, sizeof(*v));
}

/* ---- postings ---- */

typedef struct posting {
    const char *account;
    const char *memo;
    money_dec amount; /* debit > 0, credit < 0 */
} posting;

typedef struct vb {
    posting *p;
    size_t n, cap;
    int minor;
    int rc;
} vb;

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Adds amount (signed) on account/memo, merged with an earlier posting of
 * the same account and memo. */
static void post(vb *b, const char *account, const char *memo, money_dec amount)
{
    if (b->rc)
        return;
    if (!account) {
        b->rc = CPQD_EINVAL;
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->p[i].account, account) == 0 && str_eq(b->p[i].memo, memo)) {
            b->rc = money_add(b->p[i].amount, amount, &b->p[i].amount);
            return;
        }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        posting *p = realloc(b->p, cap * sizeof(*p));
        if (!p) {
            b->rc = CPQD_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n++] = (posting){account, memo, amount};
}

/* Turns the postings into v's lines (debits first) and checks them. */
static int finish(vb *b, voucher *v, cpqd_errs *errs)
{
    int rc = b->rc;
    if (rc == 0 && !(v->lines = calloc(b->n ? b->n : 1, sizeof(*v->lines))))
        rc = CPQD_ENOMEM;
    money_dec zero = {0, b->minor};
    v->total = zero;
    for (int side = 1; rc == 0 && side >= -1; side -= 2) {
        for (size_t i = 0; i < b->n && rc == 0; i++) {
            const posting *p = &b->p[i];
            if (money_sign(p->amount) != side)
                continue;
            money_dec a;
            if ((rc = money_rescale(side > 0 ? p->amount : money_neg(p->amount), b->minor,
                                    MONEY_HALF_EVEN, &a)))
                break;
            v->lines[v->nlines++] =
                (voucher_line){p->account, side > 0 ? a : zero, side > 0 ? zero : a, p->memo};
            if (side > 0)
                rc = money_add(v->total, a, &v->total);
        }
    }
    free(b->p);
    if (rc == 0 && v->nlines == 0)
        rc = v_err(errs, CPQD_EINVAL, "nothing to post: every amount is zero");
    if (rc == 0)
        rc = voucher_check(v, errs);
    if (rc)
        voucher_fini(v);
    return rc;
}

static int start(voucher *v, vb *b, voucher_kind kind, const voucher_ref *ref, const char *cur,
                 cpqd_errs *errs)
{
    memset(v, 0, sizeof(*v));
    memset(b, 0, sizeof(*b));
    if (!cur || money_currency_minor(cur, &b->minor) != 0)
        return v_err(errs, CPQD_EINVAL, "unknown currency '%.8s'", cur ? cur : "");
    v->kind = kind;
    v->minor = b->minor;
    memcpy(v->currency, cur, 3);
    if (ref) {
        v->date = ref->date;
        v->source = ref->source;
        v->customer = ref->customer;
        v->contract = ref->contract;
    }
    return 0;
}

static bool amount_ok(money_dec a, int minor)
{
    return money_is_valid(a) && a.scale <= minor;
}

/* ---- invoices and credit notes ---- */

int voucher_from_invoice(const cat_finance *fin, const invoice *inv, voucher *out, cpqd_errs *errs)
{
    vb b;
    int rc;
    voucher_ref ref = {inv ? inv->number : NULL, inv ? inv->customer.id : NULL,
                       inv ? inv->contract_number : NULL, inv ? inv->issued_on : 0};
    if (!fin || !inv)
        return v_err(errs, CPQD_EINVAL, "a voucher needs the finance accounts and the invoice");
    if ((rc = start(out, &b,
                    inv->kind == INVOICE_KIND_INVOICE ? VOUCHER_INVOICE : VOUCHER_CREDIT_NOTE, &ref,
                    inv->currency, errs)))
        return rc;
    if (invoice_check(inv, errs))
        return v_err(errs, CPQD_EINVAL, "invoice %s does not add up", inv->number);
    /* a credit for a change of contract is owed to the customer; every
     * other document changes what the customer owes */
    const char *counter = inv->reason == INVOICE_REASON_CREDIT ? fin->accounts.customer_credit
                                                               : fin->accounts.receivable;
    post(&b, counter, NULL, inv->total);
    for (size_t i = 0; i < inv->nlines; i++) {
        const invoice_line *l = &inv->lines[i];
        post(&b, fin->accounts.contract_liability, l->category, money_neg(l->net));
        post(&b, cat_finance_tax_account(fin, l->tax_class), l->tax_class, money_neg(l->tax));
    }
    if (b.rc == CPQD_EINVAL)
        v_err(errs, CPQD_EINVAL, "the finance section lacks an account");
    return finish(&b, out, errs);
}

/* ---- payments, matches, write-offs ---- */

int voucher_simple(const cat_finance *fin, voucher_kind kind, const voucher_ref *ref,
                   const char *currency, money_dec amount, voucher *out, cpqd_errs *errs)
{
    vb b;
    int rc;
    if (!fin)
        return v_err(errs, CPQD_EINVAL, "a voucher needs the finance accounts");
    if ((rc = start(out, &b, kind, ref, currency, errs)))
        return rc;
    if (!amount_ok(amount, b.minor) || money_sign(amount) <= 0)
        return v_err(errs, CPQD_EINVAL, "the amount must be positive with at most %d places",
                     b.minor);
    const cat_accounts *a = &fin->accounts;
    const char *dr, *cr;
    switch (kind) {
    case VOUCHER_PAYMENT:
        dr = a->bank;
        cr = a->customer_credit;
        break;
    case VOUCHER_MATCH:
        dr = a->customer_credit;
        cr = a->receivable;
        break;
    case VOUCHER_UNMATCH:
        dr = a->receivable;
        cr = a->customer_credit;
        break;
    case VOUCHER_WRITE_OFF:
        dr = a->write_off;
        cr = a->receivable;
        break;
    default:
        return v_err(errs, CPQD_EINVAL, "voucher_simple cannot write a %s voucher",
                     voucher_kind_name(kind) ? voucher_kind_name(kind) : "?");
    }
    post(&b, dr, NULL, amount);
    post(&b, cr, NULL, money_neg(amount));
    return finish(&b, out, errs);
}

/* ---- revenue ---- */

int voucher_revenue(const cat_finance *fin, const voucher_ref *ref, const char *currency,
                    const char *const *categories, const money_dec *amounts, size_t n, voucher *out,
                    cpqd_errs *errs)
{
    vb b;
    int rc;
    if (!fin)
        return v_err(errs, CPQD_EINVAL, "a voucher needs the finance accounts");
    if ((rc = start(out, &b, VOUCHER_REVENUE, ref, currency, errs)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!amount_ok(amounts[i], b.minor))
            return v_err(errs, CPQD_EINVAL, "revenue amount %zu has more than %d places", i,
                         b.minor);
        post(&b, fin->accounts.contract_liability, categories[i], amounts[i]);
        post(&b, cat_finance_revenue_account(fin, categories[i]), categories[i],
             money_neg(amounts[i]));
    }
    return finish(&b, out, errs);
}

/* ---- checks and CSV ---- */

int voucher_check(const voucher *v, cpqd_errs *errs)
{
    money_dec dr = {0, v->minor}, cr = dr;
    for (size_t i = 0; i < v->nlines; i++) {
        const voucher_line *l = &v->lines[i];
        bool d = money_sign(l->debit) > 0, c = money_sign(l->credit) > 0;
        if (!l->account || d == c || money_sign(l->debit) < 0 || money_sign(l->credit) < 0 ||
            l->debit.scale != v->minor || l->credit.scale != v->minor)
            return v_err(errs, CPQD_EINTERNAL,
                         "voucher %s: line %zu is not one positive side at "
                         "the currency's places",
                         v->source ? v->source : "?", i + 1);
        if (money_add(dr, l->debit, &dr) || money_add(cr, l->credit, &cr))
            return v_err(errs, CPQD_EINTERNAL, "voucher %s: overflow", v->source ? v->source : "?");
    }
    if (money_cmp(dr, cr) != 0 || money_cmp(dr, v->total) != 0)
        return v_err(errs, CPQD_EINTERNAL, "voucher %s does not balance",
                     v->source ? v->source : "?");
    return 0;
}

typedef struct cbuf {
    char *p;
    size_t n, cap;
    int rc;
} cbuf;

static void cb_put(cbuf *b, const char *s, size_t n)
{
    if (b->rc)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->rc = CPQD_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* A field, quoted when it holds a comma, quote or line break (RFC 4180);
 * a field an ERP might read as a formula (=, +, @ first, or - not before
 * a digit) is quoted with an apostrophe first inside the quotes. */
static void cb_field(cbuf *b, const char *s, bool last)
{
    s = s ? s : "";
    bool formula =
        *s == '=' || *s == '+' || *s == '@' || (*s == '-' && !(s[1] >= '0' && s[1] <= '9'));
    if (formula || strpbrk(s, ",\"\r\n")) {
        cb_put(b, formula ? "\"'" : "\"", formula ? 2 : 1);
        for (; *s; s++)
            cb_put(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
        cb_put(b, "\"", 1);
    } else {
        cb_put(b, s, strlen(s));
    }
    cb_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void cb_money(cbuf *b, money_dec v)
{
    char s[MONEY_FMT_MAX];
    if (money_is_zero(v))
        cb_field(b, "", false);
    else if (money_format(v, s, sizeof(s)) < 0)
        b->rc = CPQD_ERANGE;
    else
        cb_field(b, s, false);
}

int voucher_csv_rows(const voucher *v, const char *number, char **buf, size_t *len)
{
    cbuf b = {0};
    char d[DATE_FMT_LEN], no[24];
    date_format(v->date, d);
    for (size_t i = 0; i < v->nlines && b.rc == 0; i++) {
        const voucher_line *l = &v->lines[i];
        snprintf(no, sizeof(no), "%zu", i + 1);
        cb_field(&b, number, false);
        cb_field(&b, d, false);
        cb_field(&b, voucher_kind_name(v->kind), false);
        cb_field(&b, v->source, false);
        cb_field(&b, no, false);
        cb_field(&b, l->account, false);
        cb_money(&b, l->debit);
        cb_money(&b, l->credit);
        cb_field(&b, v->currency, false);
        cb_field(&b, v->customer, false);
        cb_field(&b, v->contract, false);
        cb_field(&b, l->memo, true);
    }
    char *all = b.rc ? NULL : realloc(*buf, *len + b.n + 1);
    if (!all) {
        free(b.p);
        return b.rc ? b.rc : CPQD_ENOMEM;
    }
    memcpy(all + *len, b.p ? b.p : "", b.n);
    all[*len + b.n] = '\0';
    free(b.p);
    *buf = all;
    *len += b.n;
    return 0;
}
