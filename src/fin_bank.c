/*
 * fin_bank: bank statements, the match queue, manual matches, reversals
 * and write-offs (docs/finance.md "Bank statements", "Matching";
 * include/cpqd/fin.h).
 *
 * Owns: which issuer's accounts a statement posts on, feeding the
 * matcher the stored customers (names, accounts) and every open item
 * with its invoice number, storing each new credit (its payment voucher:
 * money received is customer credit until applied), applying a match
 * (a payment row on each item, the match and its allocations, the match
 * voucher, payment.matched, receivable.paid for an item it settles), the
 * queue with current suggestions, a person's match checked by
 * match_manual, undoing a match (its payments removed, the unmatch
 * voucher, payment.unmatched), and write-offs within the caller's
 * authority.
 * Does not own: reading statements (bank), the matching rules (match),
 * voucher lines (voucher).
 *
 * Invariants: a bank transaction id is imported once (a duplicate
 * changes nothing); an item's paid amount moves only with its payment
 * rows (each allocation is one); a credit's applied amount is the sum of
 * its active matches; every statement, match, reversal and write-off is
 * one transaction with its vouchers and events (svc_tx: joined to a
 * group commit when the service has a writer).
 */
#include "fin_int.h"
#include "fin_json.h"

#include "cpqd/bank.h"
#include "cpqd/match.h"
#include "cpqd/price.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the issuer of a statement ---- */

/* s with spaces removed, upper case, into buf. */
static void account_norm(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++)
        if (*s != ' ')
            buf[o++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    buf[o] = '\0';
}

/* The catalog of the issuer a statement is for: the one named, else the
 * one whose bank account the statement's account is, else the only
 * issuer. */
static int statement_issuer(const svc_ctx *c, const char *issuer, const char *account,
                            const cat_catalog **out, cpqd_errs *errs)
{
    const cat_catalog *only = NULL, *by_acct = NULL;
    size_t issuers = 0;
    char want[BANK_MAX_ID + 1], have[BANK_MAX_ID + 1];
    if (issuer) {
        if ((*out = fin_issuer_catalog(c->snap, issuer)))
            return 0;
        return fin_fail(errs, CPQD_EINVAL, "issuer: no catalog's finance section names issuer '%.64s'",
                        issuer);
    }
    account_norm(account, want, sizeof(want));
    for (size_t i = 0; i < cat_snapshot_catalog_count(c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->snap, i);
        if (!cc->finance || fin_issuer_catalog(c->snap, cc->finance->issuer.id) != cc)
            continue;
        issuers++, only = cc;
        account_norm(cc->finance->issuer.bank_account, have, sizeof(have));
        if (*want && *have && !strcmp(want, have))
            by_acct = cc;
    }
    *out = by_acct ? by_acct : issuers == 1 ? only : NULL;
    if (*out)
        return 0;
    if (!issuers)
        return fin_fail(errs, CPQD_EREFUSED, "no catalog has a finance section: statements post "
                                             "on an issuer's accounts");
    return fin_fail(errs, CPQD_EINVAL, "issuer: %zu issuers, and the statement's account names none "
                                       "of them: say which with ?issuer=",
                    issuers);
}

/* ---- the matcher's input from the store ---- */

typedef struct id_ix {
    const char *id;
    size_t ix; /* index into mc; SIZE_MAX while unknown */
} id_ix;

typedef struct fin_ledger_in {
    store_customer *cust;
    size_t ncust;
    store_fin_item *items;
    size_t nitems;
    match_customer *mc; /* customers of the table, then ids only items name */
    size_t nmc;
    id_ix *by_id;         /* every customer id, sorted: bsearch */
    size_t nby_id;
    fin_stored_strings *accounts; /* per table customer: its accounts */
    const char **acc_str; /* every account string, in mc order */
    match_item *mi;    /* the items with something to pay: items[0..nmi) */
    size_t nmi;
    money_dec *paid;   /* per item: paid now */
    money_dec *amount; /* per item */
    char (*paid_text)[MONEY_FMT_MAX]; /* per item: paid as stored now */
} fin_ledger_in;

static void ledger_fini(fin_ledger_in *l)
{
    for (size_t i = 0; i < l->ncust; i++) {
        store_customer_fini(&l->cust[i]);
        if (l->accounts)
            fin_stored_strings_fini(&l->accounts[i]);
    }
    for (size_t i = 0; i < l->nitems; i++)
        store_fin_item_fini(&l->items[i]);
    free(l->cust), free(l->items), free(l->mc), free(l->by_id), free(l->accounts);
    free(l->acc_str), free(l->mi), free(l->paid), free(l->amount), free(l->paid_text);
    memset(l, 0, sizeof(*l));
}

static int id_ix_cmp(const void *a, const void *b)
{
    const id_ix *x = a, *y = b;
    int d = strcmp(x->id, y->id);
    /* a customer of the table first among equal ids */
    return d ? d : (x->ix < y->ix ? -1 : x->ix > y->ix);
}

/* The matcher's index of customer id, or MATCH_NONE. */
static size_t cust_index(const fin_ledger_in *l, const char *id)
{
    id_ix key = {id, 0};
    size_t lo = 0, hi = l->nby_id;
    while (id && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(l->by_id[mid].id, key.id);
        if (d == 0)
            return l->by_id[mid].ix;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return MATCH_NONE;
}

static int customers_load(svc_ctx *c, fin_ledger_in *l, cpqd_errs *errs)
{
    size_t nacc = 0;
    int rc = store_customers_all(c->st, &l->cust, &l->ncust);
    if (rc)
        return fin_store_fail(c, errs, rc, "customers");
    l->accounts = calloc(l->ncust + 1, sizeof(*l->accounts));
    for (size_t i = 0; rc == 0 && l->accounts && i < l->ncust; i++) {
        rc = fin_json_strings_read(l->cust[i].accounts, &l->accounts[i]);
        nacc += l->accounts[i].n;
    }
    if (rc)
        return rc;
    size_t cap = l->ncust + l->nitems + 1;
    l->mc = calloc(cap, sizeof(*l->mc));
    l->by_id = calloc(cap, sizeof(*l->by_id));
    l->acc_str = calloc(nacc + 1, sizeof(*l->acc_str));
    if (!l->accounts || !l->mc || !l->by_id || !l->acc_str)
        return CPQD_ENOMEM;
    size_t a = 0;
    for (size_t i = 0; i < l->ncust; i++) {
        match_customer *m = &l->mc[l->nmc++];
        m->id = l->cust[i].id;
        m->name = l->cust[i].name ? l->cust[i].name : "";
        m->accounts = &l->acc_str[a];
        for (size_t k = 0; k < l->accounts[i].n; k++)
            l->acc_str[a++] = l->accounts[i].v[k], m->naccounts++;
    }
    return 0;
}

/* Every customer id, the table's and those only items name (added to mc
 * known by id alone: no name, no account), sorted for cust_index. */
static void customers_index(fin_ledger_in *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->ncust; i++)
        l->by_id[n++] = (id_ix){l->cust[i].id, i};
    for (size_t i = 0; i < l->nitems; i++)
        l->by_id[n++] = (id_ix){l->items[i].customer_id, SIZE_MAX};
    qsort(l->by_id, n, sizeof(*l->by_id), id_ix_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && !strcmp(l->by_id[k - 1].id, l->by_id[i].id))
            continue;
        l->by_id[k] = l->by_id[i];
        if (l->by_id[k].ix == SIZE_MAX) {
            l->by_id[k].ix = l->nmc;
            l->mc[l->nmc++] = (match_customer){l->by_id[k].id, "", NULL, 0};
        }
        k++;
    }
    l->nby_id = k;
}

/* Items into the matcher's form: only those with something to pay. */
static int items_load(svc_ctx *c, fin_ledger_in *l, cpqd_errs *errs)
{
    int rc = store_fin_open_items(c->st, NULL, &l->items, &l->nitems);
    if (rc)
        return fin_store_fail(c, errs, rc, "open items");
    if ((rc = customers_load(c, l, errs)) != 0)
        return rc;
    size_t n = l->nitems ? l->nitems : 1;
    l->mi = calloc(n, sizeof(*l->mi));
    l->paid = calloc(n, sizeof(*l->paid));
    l->amount = calloc(n, sizeof(*l->amount));
    l->paid_text = calloc(n, sizeof(*l->paid_text));
    if (!l->mi || !l->paid || !l->amount || !l->paid_text)
        return CPQD_ENOMEM;
    customers_index(l);
    size_t k = 0;
    for (size_t i = 0; i < l->nitems; i++) {
        store_fin_item *it = &l->items[i];
        money_dec open;
        date_days due = contract_opt_date(it->due_on);
        if (fin_money_of(it->amount, &l->amount[k]) || fin_money_of(it->paid, &l->paid[k]) ||
            money_sub(l->amount[k], l->paid[k], &open) || money_sign(open) <= 0)
            continue; /* settled, or a credit item: nothing to pay */
        snprintf(l->paid_text[k], MONEY_FMT_MAX, "%s", it->paid);
        l->mi[k] = (match_item){it->id,       cust_index(l, it->customer_id), it->contract_number,
                                it->invoice_number, it->currency, open, due};
        if (k != i) { /* keep items[k] the row of mi[k] */
            store_fin_item t = l->items[k];
            l->items[k] = *it;
            *it = t;
            l->mi[k].id = l->items[k].id;
            l->mi[k].contract_number = l->items[k].contract_number;
            l->mi[k].invoice_number = l->items[k].invoice_number;
            l->mi[k].currency = l->items[k].currency;
        }
        k++;
    }
    l->nmi = k;
    return 0;
}

/* ---- applying a match ---- */

/* One allocation as match_write applies it. */
typedef struct fin_apply {
    const char *rid, *contract_id, *contract_number;
    money_dec amount, item_amount, paid; /* paid before */
    const char *paid_text;               /* as stored before */
    char new_paid[MONEY_FMT_MAX];        /* out: as stored after */
} fin_apply;

typedef struct fin_credit_ref {
    const char *id, *tx_id, *currency;
    date_days value_date;
    int minor;
    const cat_finance *fin;
} fin_credit_ref;

/* Match m as the routes show it (fin_json_match), into *out or, when out
 * is NULL, added to list l. The allocations' contracts come from
 * ap[0..n) when the caller has them (a match just written), else from
 * the store. */
static int match_view(svc_ctx *c, const store_match *m, const store_alloc *al, size_t n,
                      const store_credit *cr, const fin_apply *ap, fin_json_list *l, char **out)
{
    fin_alloc_view *av = calloc(n ? n : 1, sizeof(*av));
    store_receivable *r = calloc(n ? n : 1, sizeof(*r));
    int rc = av && r ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool got = !ap && store_receivable_get(c->st, al[i].receivable_id, &r[i]) == 0;
        if (!got)
            memset(&r[i], 0, sizeof(r[i]));
        av[i] = (fin_alloc_view){&al[i], ap ? ap[i].contract_id : r[i].contract_id,
                                 ap ? ap[i].contract_number : r[i].contract_number};
    }
    fin_match_view v = {m, av, n, cr};
    if (rc == 0 && out)
        rc = (*out = fin_json_match(&v)) ? 0 : CPQD_ENOMEM;
    else if (rc == 0)
        rc = fin_json_list_add_match(l, &v);
    for (size_t i = 0; r && i < n; i++)
        store_receivable_fini(&r[i]);
    free(av), free(r);
    return rc;
}

/* receivable.paid for item rid, settled by a match on `on`. */
static int emit_paid(svc_ctx *c, const char *rid, date_days on)
{
    store_receivable r;
    sched_standing sd;
    char key[96];
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0)
        rc = contract_row_standing(c, &r, on > c->today ? on : c->today, &sd);
    if (rc == 0) {
        char *it = contract_item_text(&r, &sd);
        snprintf(key, sizeof(key), "contract:%s", r.contract_id);
        rc = fin_emit(c, "receivable.paid", "receivable", r.id, key, it);
        free(it);
    }
    store_receivable_fini(&r);
    return rc;
}

/* The payment rows of allocations ap[0..n) (client id "bank:<tx>#<k>"),
 * each item's paid moved from what it was. */
static int payments_write(svc_ctx *c, const fin_credit_ref *cr, int k, fin_apply *ap, size_t n,
                          store_alloc *al, cpqd_errs *errs)
{
    char client[BANK_MAX_ID + 32], date[DATE_FMT_LEN], amt[MONEY_FMT_MAX];
    date_format(cr->value_date, date);
    snprintf(client, sizeof(client), "bank:%s#%d", cr->tx_id, k);
    for (size_t i = 0; i < n; i++) {
        money_dec np;
        int rc = money_add(ap[i].paid, ap[i].amount, &np);
        if (rc == 0)
            rc = fin_money_text(np, cr->minor, ap[i].new_paid);
        if (rc == 0)
            rc = fin_money_text(ap[i].amount, cr->minor, amt);
        store_payment p = {.receivable_id = (char *)ap[i].rid, .client_id = client,
                           .amount = amt, .paid_on = date};
        if (rc == 0 && (rc = store_payment_add(c->st, &p, ap[i].paid_text, ap[i].new_paid)) != 0)
            return fin_store_fail(c, errs, rc, "payment");
        if (rc)
            return rc;
        al[i] = (store_alloc){.receivable_id = (char *)ap[i].rid, .amount = strdup(amt),
                              .payment_id = p.id};
        free(p.created_at);
        if (!al[i].amount)
            return CPQD_ENOMEM;
        if (money_cmp(np, ap[i].item_amount) == 0 &&
            (rc = emit_paid(c, ap[i].rid, cr->value_date)) != 0)
            return rc;
    }
    return 0;
}

/* A match of credit cr by kind/rule for customer (may be NULL):
 * payments, the match, its voucher and payment.matched. *view gets the
 * match as the routes show it (view may be NULL), *mid its id. */
static int match_write(svc_ctx *c, const fin_credit_ref *cr, const store_credit *row, int k,
                       const char *kind, const char *rule, const char *customer, fin_apply *ap,
                       size_t n, money_dec overpaid, const char *note, char **view,
                       char **mid, cpqd_errs *errs)
{
    store_alloc *al = calloc(n ? n : 1, sizeof(*al));
    money_dec total = {0, cr->minor};
    char t[MONEY_FMT_MAX], o[MONEY_FMT_MAX], key[96];
    int rc = al ? payments_write(c, cr, k, ap, n, al, errs) : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = money_add(total, ap[i].amount, &total);
    if (rc == 0 && (rc = fin_money_text(total, cr->minor, t)) == 0)
        rc = fin_money_text(overpaid, cr->minor, o);
    store_match m = {.credit_id = (char *)cr->id, .kind = (char *)kind, .rule = (char *)rule,
                     .customer_id = (char *)customer, .amount = t, .overpaid = o,
                     .note = (char *)note,
                     .created_by = (char *)(c->caller->key_id ? c->caller->key_id : "anonymous")};
    if (rc == 0 && (rc = store_match_insert(c->st, &m, al, n)) != 0)
        rc = fin_store_fail(c, errs, rc, "match");
    /* one contract: the voucher names it */
    const char *contract = n ? ap[0].contract_number : NULL;
    for (size_t i = 1; i < n; i++)
        contract = contract && !strcmp(contract, ap[i].contract_number) ? contract : NULL;
    if (rc == 0)
        rc = fin_voucher_simple(c, cr->fin, VOUCHER_MATCH, cr->tx_id, customer, contract,
                                cr->value_date, cr->currency, total, errs);
    char *v = NULL;
    if (rc == 0)
        rc = match_view(c, &m, al, n, row, ap, NULL, &v);
    snprintf(key, sizeof(key), "credit:%s", cr->id);
    if (rc == 0)
        rc = fin_emit(c, "payment.matched", "match", m.id, key, v);
    if (rc == 0 && mid && !(*mid = strdup(m.id)))
        rc = CPQD_ENOMEM;
    if (rc == 0 && view)
        *view = v, v = NULL;
    free(v);
    for (size_t i = 0; al && i < n; i++)
        free(al[i].amount), free(al[i].payment_id);
    free(al);
    free(m.id), free(m.created_at);
    return rc;
}

/* ---- POST /v1/bank/statements ---- */

typedef struct import_ctx {
    svc_ctx *c;
    const cat_catalog *cc;
    const bank_statement *bs;
    const char *format;
    fin_ledger_in l;
    const char **seen_ids; /* sorted: tx ids imported before */
    size_t nseen;
    match_run run;
    store_statement row;
    size_t matched, unmatched, dups;
} import_ctx;

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool seen_before(void *ctx, const char *tx)
{
    const import_ctx *x = ctx;
    return x->nseen && bsearch(&tx, x->seen_ids, x->nseen, sizeof(*x->seen_ids), str_cmp);
}

/* The ids of the statement imported before, sorted. */
static int seen_load(import_ctx *x, cpqd_errs *errs)
{
    size_t n = x->bs->ncredits;
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    bool *seen = calloc(n ? n : 1, sizeof(*seen));
    x->seen_ids = calloc(n ? n : 1, sizeof(*x->seen_ids));
    int rc = ids && seen && x->seen_ids ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        ids[i] = x->bs->credits[i].tx_id;
    if (rc == 0 && (rc = store_credits_seen(x->c->st, ids, n, seen)) != 0)
        rc = fin_store_fail(x->c, errs, rc, "bank transactions");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (seen[i])
            x->seen_ids[x->nseen++] = ids[i];
    if (rc == 0 && x->nseen)
        qsort(x->seen_ids, x->nseen, sizeof(*x->seen_ids), str_cmp);
    free(ids), free(seen);
    return rc;
}

/* Credit k stored with its payment voucher, and its match applied. */
static int credit_import(import_ctx *x, size_t k, cpqd_errs *errs)
{
    svc_ctx *c = x->c;
    const bank_credit *bc = &x->bs->credits[k];
    const match_result *r = &x->run.results[k];
    const char *cust = r->customer != MATCH_NONE ? x->l.mc[r->customer].id : NULL;
    bool matched = r->status == MATCH_MATCHED;
    char amount[MONEY_FMT_MAX], applied[MONEY_FMT_MAX], vd[DATE_FMT_LEN], bd[DATE_FMT_LEN];
    fin_credit_ref cr = {.tx_id = bc->tx_id, .currency = bc->currency,
                         .value_date = bc->value_date, .fin = x->cc->finance};
    money_dec total = {0, 0};
    int rc = money_currency_minor(bc->currency, &cr.minor);
    for (size_t i = 0; rc == 0 && matched && i < r->nallocs; i++)
        rc = money_add(total, r->allocs[i].amount, &total);
    if (rc == 0 && (rc = fin_money_text(bc->amount, cr.minor, amount)) == 0)
        rc = fin_money_text(total, cr.minor, applied);
    date_format(bc->value_date, vd);
    if (bc->booking_date != BANK_NO_DATE)
        date_format(bc->booking_date, bd);
    char *sugg = rc == 0 ? fin_json_suggestions(r, x->l.mi) : NULL;
    store_credit row = {.statement_id = x->row.id, .tx_id = (char *)bc->tx_id, .amount = amount,
                        .currency = (char *)bc->currency, .value_date = vd,
                        .booking_date = bc->booking_date != BANK_NO_DATE ? bd : NULL,
                        .remittance = (char *)bc->remittance, .debtor_name = (char *)bc->debtor_name,
                        .debtor_account = (char *)bc->debtor_account,
                        .end_to_end_id = (char *)bc->end_to_end_id, .customer_id = (char *)cust,
                        .applied = applied, .status = matched ? "matched" : "unmatched",
                        .rule = (char *)match_rule_name(r->rule),
                        .reason = matched ? NULL : (char *)r->reason, .suggestions = sugg};
    if (rc == 0 && !sugg)
        rc = CPQD_ENOMEM;
    if (rc == 0 && (rc = store_credit_insert(c->st, &row)) != 0)
        rc = fin_store_fail(c, errs, rc, "credit");
    cr.id = row.id;
    if (rc == 0)
        rc = fin_voucher_simple(c, cr.fin, VOUCHER_PAYMENT, bc->tx_id, cust, NULL, bc->value_date,
                                bc->currency, bc->amount, errs);
    fin_apply *ap = matched && rc == 0 ? calloc(r->nallocs + 1, sizeof(*ap)) : NULL;
    if (rc == 0 && matched && !ap)
        rc = CPQD_ENOMEM;
    for (size_t i = 0; ap && i < r->nallocs; i++) {
        size_t it = r->allocs[i].item;
        ap[i] = (fin_apply){x->l.mi[it].id, x->l.items[it].contract_id,
                            x->l.items[it].contract_number, r->allocs[i].amount,
                            x->l.amount[it], x->l.paid[it], x->l.paid_text[it], ""};
    }
    if (rc == 0 && matched)
        rc = match_write(c, &cr, &row, 1, "auto", match_rule_name(r->rule), cust, ap,
                         r->nallocs, r->overpaid, NULL, NULL, NULL, errs);
    /* later credits of the statement see what this one paid */
    for (size_t i = 0; rc == 0 && ap && i < r->nallocs; i++) {
        size_t it = r->allocs[i].item;
        rc = money_add(x->l.paid[it], r->allocs[i].amount, &x->l.paid[it]);
        snprintf(x->l.paid_text[it], MONEY_FMT_MAX, "%s", ap[i].new_paid);
    }
    free(ap), free(sugg), free(row.id), free(row.created_at);
    return rc;
}

static int import_in_tx(import_ctx *x, svc_reply *out, char **id, cpqd_errs *errs)
{
    svc_ctx *c = x->c;
    int rc = items_load(c, &x->l, errs);
    if (rc == 0)
        rc = seen_load(x, errs);
    match_options o = {.seen = seen_before, .seen_ctx = x};
    match_input in = {x->l.mc,        x->l.nmc,        x->l.mi, x->l.nmi,
                      x->bs->credits, x->bs->ncredits, &o};
    if (rc == 0)
        rc = match_statement(&in, &x->run, errs);
    x->row = (store_statement){.issuer = (char *)x->cc->finance->issuer.id,
                               .format = (char *)x->format,
                               .ref = (char *)x->bs->id,
                               .account = (char *)x->bs->account,
                               .credits = (int64_t)(x->bs->ncredits - x->run.duplicates),
                               .duplicates = (int64_t)x->run.duplicates,
                               .skipped = (int64_t)x->bs->nskipped,
                               .matched = (int64_t)x->run.matched,
                               .unmatched = (int64_t)x->run.unmatched,
                               .imported_by =
                                   (char *)(c->caller->key_id ? c->caller->key_id : "anonymous")};
    if (rc == 0 && (rc = store_statement_insert(c->st, &x->row)) != 0)
        rc = fin_store_fail(c, errs, rc, "statement");
    for (size_t k = 0; rc == 0 && k < x->bs->ncredits; k++)
        if (x->run.results[k].status != MATCH_DUPLICATE)
            rc = credit_import(x, k, errs);
    if (rc == 0) {
        out->created = 1;
        out->body = fin_json_statement(&x->row);
        *id = strdup(x->row.id);
        rc = out->body && *id ? 0 : CPQD_ENOMEM;
    }
    return rc;
}

/* The statement's format: the parameter, else from the content type. */
static int format_of(const char *format, const char *ctype, const char **out, cpqd_errs *errs)
{
    *out = format;
    if (!format && ctype) {
        size_t n = strcspn(ctype, "; ");
        if (n == 8 && !strncasecmp(ctype, "text/csv", 8))
            *out = "csv";
        else if ((n == 15 && !strncasecmp(ctype, "application/xml", 15)) ||
                 (n == 8 && !strncasecmp(ctype, "text/xml", 8)))
            *out = "camt053";
    }
    if (*out && (!strcmp(*out, "csv") || !strcmp(*out, "camt053")))
        return 0;
    return fin_fail(errs, CPQD_EINVAL,
                    "format: camt053 or csv (?format=, or a Content-Type of application/xml or "
                    "text/csv)");
}

/* The import in its transaction: thousands of rows that stand or fall
 * together, as flat writes (store_flat_begin). */
static int import_run(svc_ctx *c, void *arg, svc_reply *out, char **id, cpqd_errs *errs)
{
    import_ctx *x = arg;
    x->c = c; /* the transaction's connection */
    int rc = store_flat_begin(c->st);
    return rc ? rc : store_flat_end(c->st, import_in_tx(x, out, id, errs));
}

int fin_statement_import(svc_ctx *c, const char *format, const char *content_type,
                         const char *issuer, const char *body, size_t len, const char *idem_key,
                         svc_reply *out, cpqd_errs *errs)
{
    bank_statement bs = {0};
    import_ctx x = {.c = c, .bs = &bs};
    memset(out, 0, sizeof(*out));
    /* parsed and checked before anything is opened: a bad statement
     * changes nothing */
    int rc = format_of(format, content_type, &x.format, errs);
    if (rc == 0)
        rc = !strcmp(x.format, "csv") ? bank_parse_csv(body, len, "statement.csv", &bs, errs)
                                      : bank_parse_camt053(body, len, "statement.xml", &bs, errs);
    if (rc == 0)
        rc = statement_issuer(c, issuer, bs.account, &x.cc, errs);
    if (rc == 0)
        rc = fin_idem_write(c, "POST /v1/bank/statements", idem_key, body, len, import_run, &x,
                            out, errs);
    free(x.row.id), free(x.row.imported_at);
    free(x.seen_ids);
    match_run_fini(&x.run);
    ledger_fini(&x.l);
    bank_statement_fini(&bs);
    return rc;
}

int fin_statement_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_statement s;
    memset(out, 0, sizeof(*out));
    int rc = store_statement_get(c->st, id, &s);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no statement '%.64s'", id);
    if (rc)
        return fin_store_fail(c, errs, rc, "statement");
    out->body = fin_json_statement(&s);
    store_statement_fini(&s);
    return out->body ? 0 : CPQD_ENOMEM;
}

/* ---- the queue ---- */

/* What is outstanding of item r now, as text ("0" when unreadable). */
static void outstanding_text(const store_receivable *r, char outs[MONEY_FMT_MAX])
{
    money_dec a, p, o;
    snprintf(outs, MONEY_FMT_MAX, "0");
    if (fin_money_of(r->amount, &a) == 0 && fin_money_of(r->paid, &p) == 0 &&
        money_sub(a, p, &o) == 0)
        money_format(o, outs, MONEY_FMT_MAX);
}

/* The stored suggestions of credit cr with each item's standing now
 * (those whose item is gone left out); NULL when out of memory. */
static fin_json_list *suggestions_of(svc_ctx *c, const store_credit *cr)
{
    fin_suggestion *v = NULL;
    size_t n = 0;
    fin_json_list *l = fin_json_list_new();
    int rc = l ? fin_json_suggestions_read(cr->suggestions, &v, &n) : CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_receivable r;
        char outs[MONEY_FMT_MAX];
        if (store_receivable_get(c->st, v[i].receivable_id, &r) != 0)
            continue;
        outstanding_text(&r, outs);
        rc = fin_json_list_add_suggestion(l, &v[i], &r, outs);
        store_receivable_fini(&r);
    }
    fin_suggestions_free(v, n);
    return l;
}

/* Why a damaged credit is left out of the queue and its read fails. */
#define CREDIT_DAMAGED "stored amount or applied amount does not parse"

/* Credit cr as the queue shows it: into *out (with its matches, when
 * matches is not NULL: consumed) or, when out is NULL, added to list l.
 * A damaged one (what is unapplied of it cannot be computed) is never
 * shown with a made-up figure: CPQD_EINTERNAL (out), or named in l's
 * "damaged" (one stops the queue of no one). */
static int credit_view(svc_ctx *c, const store_credit *cr, fin_json_list *matches,
                       fin_json_list *l, char **out)
{
    money_dec a, ap, un;
    char u[MONEY_FMT_MAX];
    if (fin_money_of(cr->amount, &a) != 0 || fin_money_of(cr->applied, &ap) != 0 ||
        money_sub(a, ap, &un) != 0 || money_format(un, u, sizeof(u)) < 0) {
        fin_json_list_free(matches);
        return out ? CPQD_EINTERNAL : fin_json_list_add_damaged(l, cr->id, CREDIT_DAMAGED);
    }
    /* a matched credit suggests nothing */
    fin_json_list *sugg = strcmp(cr->status, "unmatched") ? NULL : suggestions_of(c, cr);
    if (out)
        return (*out = fin_json_credit(cr, u, sugg, matches)) ? 0 : CPQD_ENOMEM;
    return fin_json_list_add_credit(l, cr, u, sugg);
}

int fin_credits_list(svc_ctx *c, const char *status, const char *customer, const char *after,
                     const char *limit, svc_reply *out, cpqd_errs *errs)
{
    int64_t a;
    size_t l, n = 0;
    store_credit *v = NULL;
    memset(out, 0, sizeof(*out));
    int rc = fin_page_args(after, limit, &a, &l, errs);
    if (rc == 0 && (rc = store_credits_list(c->st, status, customer, a, l, &v, &n)) != 0)
        rc = fin_store_fail(c, errs, rc, "credits");
    fin_json_list *items = fin_json_list_new();
    int64_t next = a;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = credit_view(c, &v[i], NULL, items, NULL);
        next = v[i].seq;
    }
    for (size_t i = 0; i < n; i++)
        store_credit_fini(&v[i]);
    free(v);
    if (rc == 0) {
        rc = (out->body = fin_json_page(items, next)) ? 0 : CPQD_ENOMEM;
        items = NULL;
    }
    fin_json_list_free(items);
    return rc;
}

static int credit_load(svc_ctx *c, const char *id, store_credit *cr, cpqd_errs *errs)
{
    int rc = store_credit_get(c->st, id, cr);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no bank credit '%.64s'", id);
    return rc ? fin_store_fail(c, errs, rc, "credit") : 0;
}

/* The matches of credit cr (those that cannot be read left out). */
static fin_json_list *matches_of(svc_ctx *c, const store_credit *cr)
{
    store_match *ms = NULL;
    size_t n = 0;
    fin_json_list *l = fin_json_list_new();
    if (store_matches_of(c->st, cr->id, &ms, &n) != 0)
        return l;
    for (size_t i = 0; i < n; i++) {
        store_match m;
        store_alloc *al = NULL;
        size_t na = 0;
        if (store_match_get(c->st, ms[i].id, &m, &al, &na) == 0) {
            match_view(c, &m, al, na, cr, NULL, l, NULL);
            for (size_t k = 0; k < na; k++)
                store_alloc_fini(&al[k]);
            free(al);
            store_match_fini(&m);
        }
        store_match_fini(&ms[i]);
    }
    free(ms);
    return l;
}

int fin_credit_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_credit cr;
    memset(out, 0, sizeof(*out));
    int rc = credit_load(c, id, &cr, errs);
    if (rc)
        return rc;
    rc = credit_view(c, &cr, matches_of(c, &cr), NULL, &out->body);
    if (rc == CPQD_EINTERNAL)
        fin_fail(errs, rc, "bank credit %s: " CREDIT_DAMAGED, cr.id);
    store_credit_fini(&cr);
    return rc;
}

/* The issuer catalog of the statement credit cr came with. */
static int credit_finance(svc_ctx *c, const store_credit *cr, fin_credit_ref *ref,
                          cpqd_errs *errs)
{
    store_statement s;
    int rc = store_statement_get(c->st, cr->statement_id, &s);
    if (rc)
        return fin_store_fail(c, errs, rc, "statement");
    const cat_catalog *cc = fin_issuer_catalog(c->snap, s.issuer);
    if (!cc)
        rc = fin_fail(errs, CPQD_EREFUSED, "issuer '%s' of the statement is in no catalog now",
                      s.issuer);
    store_statement_fini(&s);
    if (rc)
        return rc;
    *ref = (fin_credit_ref){.id = cr->id, .tx_id = cr->tx_id, .currency = cr->currency,
                            .fin = cc->finance};
    if (money_currency_minor(cr->currency, &ref->minor) != 0 ||
        date_parse(cr->value_date, strlen(cr->value_date), &ref->value_date) != 0)
        return fin_fail(errs, CPQD_EINTERNAL, "credit %s: stored values unreadable", cr->id);
    return 0;
}

/* ---- POST /v1/bank/credits/{id}/match ---- */

/* The items the allocations name, as the matcher checks them. */
typedef struct manual_items {
    store_receivable *r;
    match_item *mi;
    money_dec *open;
    match_alloc *al;
    fin_apply *ap;
    size_t n;
} manual_items;

static void manual_items_fini(manual_items *m)
{
    for (size_t i = 0; m->r && i < m->n; i++)
        store_receivable_fini(&m->r[i]);
    free(m->r), free(m->mi), free(m->open), free(m->al), free(m->ap);
    memset(m, 0, sizeof(*m));
}

static int manual_items_load(svc_ctx *c, const fin_match_req *q, int minor, manual_items *m,
                             cpqd_errs *errs)
{
    size_t n = q->nallocs, cap = n ? n : 1;
    m->r = calloc(cap, sizeof(*m->r));
    m->mi = calloc(cap, sizeof(*m->mi));
    m->open = calloc(cap, sizeof(*m->open));
    m->al = calloc(cap, sizeof(*m->al));
    m->ap = calloc(cap, sizeof(*m->ap));
    if (!m->r || !m->mi || !m->open || !m->al || !m->ap)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *rid = q->allocs[i].receivable_id;
        char where[40];
        money_dec amt, paid;
        snprintf(where, sizeof(where), "allocations[%zu].", i);
        int rc = fin_amount_take(&q->allocs[i].amount, "amount", where, minor, &m->al[i].amount,
                                 errs);
        if (rc)
            return rc;
        if ((rc = store_receivable_get(c->st, rid, &m->r[i])) == CPQD_ENOTFOUND)
            return fin_fail(errs, CPQD_EINVAL, "%sreceivable_id: no receivable '%.64s'", where,
                            rid);
        if (rc)
            return fin_store_fail(c, errs, rc, "receivable");
        m->n = i + 1;
        store_receivable *r = &m->r[i];
        if (fin_money_of(r->amount, &amt) || fin_money_of(r->paid, &paid) ||
            money_sub(amt, paid, &m->open[i]))
            return CPQD_EINTERNAL;
        if (!r->amount_known || money_sign(m->open[i]) < 0)
            m->open[i] = (money_dec){0, minor};
        m->mi[i] = (match_item){r->id, 0, r->contract_number, NULL, r->currency, m->open[i],
                                contract_opt_date(r->due_on)};
        m->al[i].item = i;
        m->ap[i] = (fin_apply){r->id, r->contract_id, r->contract_number, m->al[i].amount, amt,
                               paid, r->paid, ""};
    }
    return 0;
}

/* The customer the items belong to when it is one, else NULL. */
static const char *items_customer(const manual_items *m)
{
    const char *cu = m->n ? m->r[0].customer_id : NULL;
    for (size_t i = 1; cu && i < m->n; i++)
        if (strcmp(cu, m->r[i].customer_id))
            cu = NULL;
    return cu;
}

/* The write of POST /v1/bank/credits/{id}/match (a fin_write_fn). */
static int manual_in_tx(svc_ctx *c, void *arg, svc_reply *out, char **mid, cpqd_errs *errs)
{
    const fin_match_req *q = arg;
    const char *id = q->credit_id;
    store_credit cr = {0};
    fin_credit_ref ref;
    manual_items m = {0};
    money_dec amount = {0, 0}, applied = {0, 0}, unapplied = {0, 0}, over = {0, 0}, total;
    store_match *prior = NULL;
    size_t nprior = 0;
    char *view = NULL;
    int rc = credit_load(c, id, &cr, errs);
    if (rc == 0)
        rc = credit_finance(c, &cr, &ref, errs);
    if (rc == 0 && (fin_money_of(cr.amount, &amount) || fin_money_of(cr.applied, &applied) ||
                    money_sub(amount, applied, &unapplied)))
        rc = CPQD_EINTERNAL;
    if (rc == 0 && money_sign(unapplied) <= 0)
        rc = fin_fail(errs, CPQD_ECONFLICT, "credit %s (%s %s) is applied in full", cr.tx_id,
                      cr.amount, cr.currency);
    if (rc == 0)
        rc = manual_items_load(c, q, ref.minor, &m, errs);
    bank_credit bc = {.tx_id = cr.tx_id, .amount = unapplied};
    snprintf(bc.currency, sizeof(bc.currency), "%s", cr.currency);
    if (rc == 0)
        rc = match_manual(m.mi, m.n, m.open, &bc, m.al, m.n, &over, errs);
    const char *cust = q->customer ? q->customer : items_customer(&m);
    cust = cust ? cust : cr.customer_id;
    if (rc == 0 && (rc = store_matches_of(c->st, cr.id, &prior, &nprior)) != 0)
        rc = fin_store_fail(c, errs, rc, "matches");
    if (rc == 0)
        rc = match_write(c, &ref, &cr, (int)nprior + 1, "manual", "manual", cust, m.ap, m.n, over,
                         q->note, &view, mid, errs);
    char ap[MONEY_FMT_MAX];
    total = applied;
    for (size_t i = 0; rc == 0 && i < m.n; i++)
        rc = money_add(total, m.al[i].amount, &total);
    if (rc == 0)
        rc = fin_money_text(total, ref.minor, ap);
    if (rc == 0 && (rc = store_credit_update(c->st, cr.id, cr.applied, ap, "matched", "manual",
                                             NULL, cust)) != 0)
        rc = fin_store_fail(c, errs, rc, "credit");
    if (rc == 0) {
        out->created = 1;
        out->body = view, view = NULL;
    }
    free(view);
    for (size_t i = 0; i < nprior; i++)
        store_match_fini(&prior[i]);
    free(prior);
    manual_items_fini(&m);
    store_credit_fini(&cr);
    return rc;
}

int fin_credit_match(svc_ctx *c, const char *id, const char *body, size_t len,
                     const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128];
    fin_match_req q;
    memset(out, 0, sizeof(*out));
    snprintf(route, sizeof(route), "POST /v1/bank/credits/%.64s/match", id);
    int rc = fin_json_match_parse(body, len, &q, errs);
    q.credit_id = id;
    if (rc == 0)
        rc = fin_idem_write(c, route, idem_key, body, len, manual_in_tx, &q, out, errs);
    fin_match_req_fini(&q);
    return rc;
}

int fin_match_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_match m;
    store_alloc *al = NULL;
    store_credit cr = {0};
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    int rc = store_match_get(c->st, id, &m, &al, &n);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no match '%.64s'", id);
    if (rc)
        return fin_store_fail(c, errs, rc, "match");
    rc = credit_load(c, m.credit_id, &cr, errs);
    if (rc == 0)
        rc = match_view(c, &m, al, n, &cr, NULL, NULL, &out->body);
    for (size_t i = 0; i < n; i++)
        store_alloc_fini(&al[i]);
    free(al);
    store_match_fini(&m);
    store_credit_fini(&cr);
    return rc;
}

/* ---- POST /v1/matches/{id}/reverse ---- */

/* Each allocation's payment removed, the item's paid back to before. */
static int payments_remove(svc_ctx *c, const store_alloc *al, size_t n, int minor,
                           cpqd_errs *errs)
{
    for (size_t i = 0; i < n; i++) {
        store_receivable r;
        money_dec paid, amt, np;
        char t[MONEY_FMT_MAX];
        int rc = store_receivable_get(c->st, al[i].receivable_id, &r);
        if (rc)
            return fin_store_fail(c, errs, rc, "receivable");
        rc = fin_money_of(r.paid, &paid) || fin_money_of(al[i].amount, &amt) ? CPQD_EINTERNAL : 0;
        if (rc == 0)
            rc = money_sub(paid, amt, &np);
        if (rc == 0)
            rc = fin_money_text(np, minor, t);
        if (rc == 0 && (rc = store_payment_remove(c->st, r.id, al[i].payment_id, r.paid, t)) != 0)
            rc = fin_store_fail(c, errs, rc, "payment");
        store_receivable_fini(&r);
        if (rc)
            return rc;
    }
    return 0;
}

/* The credit after match m is undone: applied less its amount; still
 * matched while another match of it is active. */
static int credit_after_reverse(svc_ctx *c, const store_credit *cr, const store_match *m,
                                int minor, cpqd_errs *errs)
{
    store_match *ms = NULL;
    size_t n = 0, active = 0;
    money_dec applied, amt;
    char t[MONEY_FMT_MAX];
    int rc = store_matches_of(c->st, cr->id, &ms, &n);
    for (size_t i = 0; i < n; i++) {
        active += ms[i].reversed_at == NULL;
        store_match_fini(&ms[i]);
    }
    free(ms);
    if (rc)
        return fin_store_fail(c, errs, rc, "matches");
    rc = fin_money_of(cr->applied, &applied) || fin_money_of(m->amount, &amt) ? CPQD_EINTERNAL : 0;
    if (rc == 0)
        rc = money_sub(applied, amt, &applied);
    if (rc == 0)
        rc = fin_money_text(applied, minor, t);
    if (rc == 0 && (rc = store_credit_update(c->st, cr->id, cr->applied, t,
                                             active ? "matched" : "unmatched",
                                             active ? cr->rule : "none",
                                             active ? NULL : "a match of it was reversed",
                                             NULL)) != 0)
        rc = fin_store_fail(c, errs, rc, "credit");
    return rc;
}

static int reverse_in_tx(svc_ctx *c, const char *id, const char *note, svc_reply *out,
                         cpqd_errs *errs)
{
    store_match m = {0};
    store_alloc *al = NULL;
    store_credit cr = {0};
    fin_credit_ref ref;
    size_t n = 0;
    money_dec amt;
    char key[96];
    int rc = store_match_get(c->st, id, &m, &al, &n);
    if (rc == CPQD_ENOTFOUND)
        rc = fin_fail(errs, rc, "no match '%.64s'", id);
    else if (rc)
        rc = fin_store_fail(c, errs, rc, "match");
    if (rc == 0 && m.reversed_at)
        rc = fin_fail(errs, CPQD_ECONFLICT, "match %s was reversed on %s by %s", m.id,
                      m.reversed_at, m.reversed_by);
    if (rc == 0)
        rc = credit_load(c, m.credit_id, &cr, errs);
    if (rc == 0)
        rc = credit_finance(c, &cr, &ref, errs);
    if (rc == 0)
        rc = payments_remove(c, al, n, ref.minor, errs);
    const char *by = c->caller->key_id ? c->caller->key_id : "anonymous";
    if (rc == 0 && (rc = store_match_reverse(c->st, m.id, by, note)) != 0)
        rc = fin_store_fail(c, errs, rc, "match");
    if (rc == 0)
        rc = credit_after_reverse(c, &cr, &m, ref.minor, errs);
    if (rc == 0)
        rc = fin_money_of(m.amount, &amt);
    if (rc == 0)
        rc = fin_voucher_simple(c, ref.fin, VOUCHER_UNMATCH, cr.tx_id, m.customer_id, NULL,
                                c->today, cr.currency, amt, errs);
    store_match_fini(&m);
    if (rc == 0 && (rc = store_match_get(c->st, id, &m, NULL, NULL)) != 0)
        rc = fin_store_fail(c, errs, rc, "match");
    char *v = NULL;
    if (rc == 0)
        rc = match_view(c, &m, al, n, &cr, NULL, NULL, &v);
    snprintf(key, sizeof(key), "credit:%s", cr.id);
    if (rc == 0)
        rc = fin_emit(c, "payment.unmatched", "match", m.id, key, v);
    if (rc == 0)
        out->body = v, v = NULL;
    free(v);
    for (size_t i = 0; i < n; i++)
        store_alloc_fini(&al[i]);
    free(al);
    store_match_fini(&m);
    store_credit_fini(&cr);
    return rc;
}

typedef struct reverse_job {
    const char *id, *note;
} reverse_job;

static int reverse_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    const reverse_job *j = arg;
    return reverse_in_tx(c, j->id, j->note, out, errs);
}

int fin_match_reverse(svc_ctx *c, const char *id, const char *body, size_t len, svc_reply *out,
                      cpqd_errs *errs)
{
    char *note = NULL;
    memset(out, 0, sizeof(*out));
    int rc = fin_json_note_parse(body, len, &note, errs);
    reverse_job j = {id, note};
    if (rc == 0)
        rc = svc_tx(c, reverse_run, &j, out, errs);
    free(note);
    return rc;
}

/* ---- POST /v1/receivables/{id}/write-off ---- */

/* Write-off w with its item as it stands today (fin_json_write_off). */
static char *write_off_text(svc_ctx *c, const store_write_off *w)
{
    store_receivable r;
    sched_standing sd;
    char *text;
    if (store_receivable_get(c->st, w->receivable_id, &r) != 0)
        return fin_json_write_off(w, NULL, NULL);
    bool stands = contract_row_standing(c, &r, c->today, &sd) == 0;
    text = fin_json_write_off(w, stands ? &r : NULL, &sd);
    store_receivable_fini(&r);
    return text;
}

/* The part of the item written off, in percent, within the caller's
 * authority in catalog cc (the rule of a discount: docs/auth.md "Money
 * authority"). */
static int write_off_authority(svc_ctx *c, const cat_catalog *cc, money_dec amount,
                               money_dec item, cpqd_errs *errs)
{
    money_dec pct, auth, x100;
    char p[MONEY_FMT_MAX], a[MONEY_FMT_MAX];
    price_who who = svc_who(c->caller);
    int rc = money_mul_int(amount, 100, &x100);
    if (rc == 0) /* rounded up: 20.0001% is beyond an authority of 20% */
        rc = money_div(x100, item, 4, MONEY_UP, &pct);
    if (rc)
        return rc;
    money_format(pct, p, sizeof(p));
    bool has = price_authority_of(cc, &who, &auth);
    if (has && money_cmp(pct, auth) <= 0)
        return 0;
    if (has)
        money_format(auth, a, sizeof(a));
    errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
             "writing off %s%% of the item is beyond the %s authority (%s%%): it needs the %s "
             "level",
             p, who.role ? who.role : "rep", has ? a : "none", price_level_for(cc, pct));
    errs_field(errs, "level", price_level_for(cc, pct));
    return CPQD_EFORBIDDEN;
}

/* Writes off `amount` of item r: the payment row that settles it, the
 * record, the voucher and receivable.written_off. */
static int wo_write(svc_ctx *c, const store_receivable *r, const cat_catalog *cc, int minor,
                    money_dec paid, money_dec amount, const char *reason, svc_reply *out,
                    char **wid, cpqd_errs *errs)
{
    int64_t n = 0;
    char client[48], amt[MONEY_FMT_MAX], np[MONEY_FMT_MAX], today[DATE_FMT_LEN], key[96];
    money_dec after;
    date_format(c->today, today);
    int rc = store_fin_next(c->st, "write_off", &n);
    snprintf(client, sizeof(client), "write_off:%lld", (long long)n);
    if (rc == 0 && (rc = money_add(paid, amount, &after)) == 0 &&
        (rc = fin_money_text(after, minor, np)) == 0)
        rc = fin_money_text(amount, minor, amt);
    store_payment p = {.receivable_id = r->id, .client_id = client, .amount = amt,
                       .paid_on = today};
    if (rc == 0 && (rc = store_payment_add(c->st, &p, r->paid, np)) != 0)
        rc = fin_store_fail(c, errs, rc, "payment");
    store_write_off w = {.receivable_id = r->id, .amount = amt, .reason = (char *)reason,
                         .payment_id = p.id,
                         .created_by = (char *)(c->caller->key_id ? c->caller->key_id
                                                                  : "anonymous")};
    if (rc == 0 && (rc = store_write_off_insert(c->st, &w)) != 0)
        rc = fin_store_fail(c, errs, rc, "write-off");
    if (rc == 0)
        rc = fin_voucher_simple(c, cc->finance, VOUCHER_WRITE_OFF, w.id, r->customer_id,
                                r->contract_number, c->today, r->currency, amount, errs);
    char *v = rc == 0 ? write_off_text(c, &w) : NULL;
    snprintf(key, sizeof(key), "contract:%s", r->contract_id);
    if (rc == 0)
        rc = fin_emit(c, "receivable.written_off", "receivable", r->id, key, v);
    if (rc == 0) {
        out->created = 1;
        out->body = v, v = NULL;
        *wid = strdup(w.id);
        rc = *wid ? 0 : CPQD_ENOMEM;
    }
    free(v);
    free(p.id), free(p.created_at), free(w.id), free(w.created_at);
    return rc;
}

/* The write of POST /v1/receivables/{id}/write-off (a fin_write_fn). */
static int wo_in_tx(svc_ctx *c, void *arg, svc_reply *out, char **wid, cpqd_errs *errs)
{
    const fin_wo_req *q = arg;
    const char *rid = q->rid;
    store_receivable r = {0};
    contract_after a = {0};
    const cat_catalog *cc = NULL;
    money_dec amt = {0, 0}, paid = {0, 0}, outs = {0, 0}, w;
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0 && !contract_in_scope(c, r.partner_id))
        rc = CPQD_ENOTFOUND;
    if (rc == CPQD_ENOTFOUND)
        rc = fin_fail(errs, rc, "no receivable '%.64s'", rid);
    else if (rc)
        rc = fin_store_fail(c, errs, rc, "receivable");
    if (rc == 0)
        rc = contract_after_open(c, r.contract_id, &a, errs);
    if (rc == 0)
        rc = fin_contract_catalog(c, &a, &cc, errs);
    if (rc == 0 && (fin_money_of(r.amount, &amt) || fin_money_of(r.paid, &paid) ||
                    money_sub(amt, paid, &outs)))
        rc = CPQD_EINTERNAL;
    if (rc == 0 && (!r.amount_known || money_sign(outs) <= 0))
        rc = fin_fail(errs, CPQD_ECONFLICT, "receivable %s has nothing outstanding to write off",
                      r.id);
    w = outs;
    if (rc == 0 && q->amount.given)
        rc = fin_amount_take(&q->amount, "amount", "", a.minor, &w, errs);
    if (rc == 0 && money_cmp(w, outs) > 0) {
        char o[MONEY_FMT_MAX];
        fin_money_text(outs, a.minor, o);
        rc = fin_fail(errs, CPQD_ECONFLICT, "amount: receivable %s has %s %s outstanding", r.id,
                      o, r.currency);
    }
    if (rc == 0)
        rc = write_off_authority(c, cc, w, amt, errs);
    if (rc == 0)
        rc = wo_write(c, &r, cc, a.minor, paid, w, q->reason, out, wid, errs);
    contract_after_fini(&a);
    store_receivable_fini(&r);
    return rc;
}

int fin_write_off(svc_ctx *c, const char *rid, const char *body, size_t len,
                  const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128];
    fin_wo_req q;
    memset(out, 0, sizeof(*out));
    snprintf(route, sizeof(route), "POST /v1/receivables/%.64s/write-off", rid);
    int rc = fin_json_wo_parse(body, len, &q, errs);
    q.rid = rid;
    if (rc == 0)
        rc = fin_idem_write(c, route, idem_key, body, len, wo_in_tx, &q, out, errs);
    fin_wo_req_fini(&q);
    return rc;
}

int fin_write_off_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_write_off w;
    memset(out, 0, sizeof(*out));
    int rc = store_write_off_get(c->st, id, &w);
    if (rc == CPQD_ENOTFOUND)
        return fin_fail(errs, rc, "no write-off '%.64s'", id);
    if (rc)
        return fin_store_fail(c, errs, rc, "write-off");
    out->body = write_off_text(c, &w);
    store_write_off_fini(&w);
    return out->body ? 0 : CPQD_ENOMEM;
}

/* ---- customer credit applied automatically ---- */

/* The open item an application pays: its row, what it is worth, what
 * is paid of it (as a number and as stored) and what is outstanding. */
typedef struct credit_target {
    const store_receivable *r;
    money_dec amount, paid, outstanding;
    char paid_text[MONEY_FMT_MAX];
} credit_target;

/* Applies what is unapplied of credit cr (of the customer's credit) to
 * item t, up to what is outstanding: a match of rule customer_credit
 * (its payment, voucher, payment.matched, receivable.paid when it
 * settles the item) and the credit's applied amount moved. A credit
 * whose issuer no catalog names now is left as it is. */
static int credit_apply_from(svc_ctx *c, const store_credit *cr, credit_target *t, size_t *applied,
                             cpqd_errs *errs)
{
    store_statement s;
    fin_credit_ref ref;
    money_dec amount, done, open, take, zero = {0, 0};
    store_match *prior = NULL;
    size_t nprior = 0;
    char ap[MONEY_FMT_MAX];
    int rc = store_statement_get(c->st, cr->statement_id, &s);
    if (rc)
        return fin_store_fail(c, errs, rc, "statement");
    bool posts = fin_issuer_catalog(c->snap, s.issuer) != NULL;
    store_statement_fini(&s);
    if (!posts)
        return 0;
    if ((rc = credit_finance(c, cr, &ref, errs)) != 0)
        return rc;
    if (fin_money_of(cr->amount, &amount) || fin_money_of(cr->applied, &done) ||
        money_sub(amount, done, &open))
        return CPQD_EINTERNAL;
    if (money_sign(open) <= 0)
        return 0;
    take = money_cmp(open, t->outstanding) < 0 ? open : t->outstanding;
    zero.scale = ref.minor;
    if ((rc = store_matches_of(c->st, cr->id, &prior, &nprior)) != 0)
        return fin_store_fail(c, errs, rc, "matches");
    for (size_t i = 0; i < nprior; i++)
        store_match_fini(&prior[i]);
    free(prior);
    fin_apply x = {t->r->id,  t->r->contract_id, t->r->contract_number, take,
                   t->amount, t->paid,           t->paid_text,          ""};
    rc = match_write(c, &ref, cr, (int)nprior + 1, "auto", "customer_credit", cr->customer_id, &x,
                     1, zero, NULL, NULL, NULL, errs);
    if (rc == 0)
        rc = money_add(done, take, &done);
    if (rc == 0)
        rc = fin_money_text(done, ref.minor, ap);
    if (rc == 0 && (rc = store_credit_update(c->st, cr->id, cr->applied, ap, "matched", cr->rule,
                                             NULL, NULL)) != 0)
        rc = fin_store_fail(c, errs, rc, "credit");
    if (rc == 0)
        rc = money_add(t->paid, take, &t->paid);
    if (rc == 0)
        rc = money_sub(t->outstanding, take, &t->outstanding);
    if (rc == 0) {
        snprintf(t->paid_text, sizeof(t->paid_text), "%s", x.new_paid);
        (*applied)++;
    }
    return rc;
}

int fin_credit_apply_item(svc_ctx *c, const char *rid, size_t *applied, cpqd_errs *errs)
{
    store_receivable r = {0};
    store_credit *v = NULL;
    size_t n = 0;
    bool before = false;
    credit_target t = {.r = &r};
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc)
        return fin_store_fail(c, errs, rc, "receivable");
    if (!r.amount_known || !r.due_on || fin_money_of(r.amount, &t.amount) ||
        fin_money_of(r.paid, &t.paid) || money_sub(t.amount, t.paid, &t.outstanding) ||
        money_sign(t.outstanding) <= 0)
        goto out; /* nothing to pay: settled, a credit item, not known yet */
    snprintf(t.paid_text, sizeof(t.paid_text), "%s", r.paid);
    /* once per item: a person who reversed an application decided */
    if ((rc = store_credit_applied_to(c->st, rid, &before)) != 0 ||
        (!before && (rc = store_credits_open_of(c->st, r.customer_id, r.currency, &v, &n)) != 0))
        rc = fin_store_fail(c, errs, rc, "customer credit");
    for (size_t i = 0; rc == 0 && !before && i < n && money_sign(t.outstanding) > 0; i++)
        rc = credit_apply_from(c, &v[i], &t, applied, errs);
out:
    for (size_t i = 0; i < n; i++)
        store_credit_fini(&v[i]);
    free(v);
    store_receivable_fini(&r);
    return rc;
}
