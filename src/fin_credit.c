/*
 * fin_credit: customers as the CRM describes them (payer identity for
 * matching, credit limit and risk flags) and the credit check of an
 * accept (docs/finance.md "Credit risk"; include/cpqd/fin.h).
 *
 * Owns: the customer records, a customer's open receivables and
 * unapplied money per currency, what makes an accept need a manager's
 * credit approval (the open receivables in the limit's currency plus
 * the quote over the limit, a quote in another currency than the limit,
 * any risk flag), and that approval, recorded in the quote's history (an
 * entry that keeps the status, its note starting "credit approved").
 * Does not own: the accept itself (contract calls the check in its
 * transaction), the quote's status machine (quote), who may call which
 * route (http), the bodies and the view of a customer
 * (fin_credit_json.c).
 *
 * Invariant: an accept that needs an approval and has none changes
 * nothing (the check fails inside the accept's transaction, which is
 * rolled back).
 */
#include "fin_int.h"
#include "fin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDIT_APPROVED "credit approved"

/* ---- customers ---- */

static int id_check(const char *id, cpqd_errs *errs)
{
    size_t n = id ? strlen(id) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            n = 0;
    return n >= 1 && n <= 128 ? 0 : fin_fail(errs, CPQD_EINVAL, "customer id: 1 to 128 bytes");
}

/* Amounts per currency, in order of first use. */
typedef struct cur_sums {
    fin_cur_amount *v;
    size_t n;
} cur_sums;

static void cur_sums_fini(cur_sums *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].currency);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Adds v to the sum of currency cur in s (at the currency's places:
 * CPQD_ERANGE for an amount with more). */
static int per_currency_add(cur_sums *s, const char *cur, money_dec v)
{
    int minor = 2;
    size_t i = 0;
    money_currency_minor(cur, &minor);
    while (i < s->n && strcmp(s->v[i].currency, cur))
        i++;
    money_dec sum = v;
    fin_cur_amount *e = i < s->n ? &s->v[i] : NULL;
    int rc = e ? money_add(e->sum, v, &sum) : 0;
    char t[MONEY_FMT_MAX];
    if (rc == 0)
        rc = fin_money_text(sum, minor, t);
    if (rc == 0 && !e) {
        fin_cur_amount *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
        if (!nv)
            return CPQD_ENOMEM;
        s->v = nv;
        e = &s->v[s->n];
        if (!(e->currency = strdup(cur)))
            return CPQD_ENOMEM;
        s->n++;
    }
    if (rc == 0) { /* exact: fin_money_text refused anything else */
        money_rescale(sum, minor, MONEY_HALF_EVEN, &e->sum);
        memcpy(e->text, t, sizeof(t));
    }
    return rc;
}

/* The customer's open receivables (what is outstanding of items with a
 * known due date) per currency, and in currency cur into *in_cur (may
 * be NULL). */
static int open_receivables(svc_ctx *c, const char *customer, const char *cur, cur_sums *arr,
                            money_dec *in_cur, cpqd_errs *errs)
{
    store_fin_item *items = NULL;
    size_t n = 0;
    int rc = store_fin_open_items(c->st, customer, &items, &n);
    if (rc)
        return fin_store_fail(c, errs, rc, "open receivables");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        money_dec a, p, o;
        if (fin_money_of(items[i].amount, &a) || fin_money_of(items[i].paid, &p) ||
            money_sub(a, p, &o)) {
            rc = CPQD_EINTERNAL;
            break;
        }
        if (money_sign(o) <= 0)
            continue;
        if (arr)
            rc = per_currency_add(arr, items[i].currency, o);
        if (rc == 0 && in_cur && cur && !strcmp(items[i].currency, cur))
            rc = money_add(*in_cur, o, in_cur);
    }
    for (size_t i = 0; i < n; i++)
        store_fin_item_fini(&items[i]);
    free(items);
    return rc;
}

/* Money received from the customer and not applied to items, per
 * currency. */
static int unapplied(svc_ctx *c, const char *customer, cur_sums *arr, cpqd_errs *errs)
{
    store_credit *v = NULL;
    size_t n = 0;
    int rc = store_credits_list(c->st, NULL, customer, 0, 0, &v, &n);
    if (rc)
        return fin_store_fail(c, errs, rc, "credits");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        money_dec a, ap, u;
        rc = fin_money_of(v[i].amount, &a) || fin_money_of(v[i].applied, &ap) ? CPQD_EINTERNAL
                                                                               : money_sub(a, ap, &u);
        if (rc == 0 && money_sign(u) > 0)
            rc = per_currency_add(arr, v[i].currency, u);
    }
    for (size_t i = 0; i < n; i++)
        store_credit_fini(&v[i]);
    free(v);
    return rc;
}

/* Customer cu as GET shows it (fin_json_customer), into *out; *owes
 * (may be NULL): whether it has open receivables or customer credit. */
static int customer_view(svc_ctx *c, const store_customer *cu, char **out, bool *owes,
                         cpqd_errs *errs)
{
    cur_sums open = {0}, credit = {0};
    int rc = open_receivables(c, cu->id, NULL, &open, NULL, errs);
    if (rc == 0)
        rc = unapplied(c, cu->id, &credit, errs);
    fin_customer_view v = {cu, open.v, credit.v, open.n, credit.n};
    if (rc == 0)
        rc = (*out = fin_json_customer(&v)) ? 0 : CPQD_ENOMEM;
    if (owes)
        *owes = open.n || credit.n;
    cur_sums_fini(&open), cur_sums_fini(&credit);
    return rc;
}

/* The stored customer id, or a new one (no name, account, limit or
 * flag). */
static int customer_or_new(svc_ctx *c, const char *id, store_customer *cu, cpqd_errs *errs)
{
    int rc = store_customer_get(c->st, id, cu);
    if (rc == CPQD_ENOTFOUND) {
        *cu = (store_customer){.id = strdup(id), .accounts = strdup("[]"),
                               .risk_flags = strdup("[]")};
        rc = cu->id && cu->accounts && cu->risk_flags ? 0 : CPQD_ENOMEM;
    } else if (rc) {
        rc = fin_store_fail(c, errs, rc, "customer");
    }
    return rc;
}

int fin_customer_get(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_customer cu;
    char *o = NULL;
    memset(out, 0, sizeof(*out));
    int rc = store_customer_get(c->st, id, &cu);
    bool known = rc == 0, owes = false;
    /* one the CRM never described is shown while it owes or has credit */
    if (rc == CPQD_ENOTFOUND)
        rc = customer_or_new(c, id, &cu, errs);
    if (rc)
        return fin_store_fail(c, errs, rc, "customer");
    rc = customer_view(c, &cu, &o, &owes, errs);
    if (rc == 0 && !known && !owes)
        rc = fin_fail(errs, CPQD_ENOTFOUND,
                      "no customer '%.64s' (the CRM has not sent it, and it owes nothing)", id);
    if (rc == 0)
        out->body = o, o = NULL;
    free(o);
    store_customer_fini(&cu);
    return rc;
}

/* Replaces *field with v (taken). */
static void take(char **field, char *v)
{
    free(*field);
    *field = v;
}

/* Stores cu as the caller, in one transaction, and answers it. */
static int customer_write(svc_ctx *c, store_customer *cu, svc_reply *out, cpqd_errs *errs)
{
    take(&cu->updated_by, strdup(c->caller->key_id ? c->caller->key_id : "anonymous"));
    take(&cu->updated_at, NULL); /* the put assigns it */
    int rc = cu->updated_by ? store_customer_put(c->st, cu) : CPQD_ENOMEM;
    if (rc)
        return fin_store_fail(c, errs, rc, "customer");
    return customer_view(c, cu, &out->body, NULL, errs);
}

/* A customer's write: its request parsed outside the transaction
 * (svc_tx), the fields it sets applied inside. */
typedef struct cust_job {
    const char *id;
    fin_customer_req *q;
    void (*apply)(store_customer *cu, fin_customer_req *q); /* takes what it sets from q */
} cust_job;

/* Inside the transaction: the customer (made if new) with j's fields. */
static int customer_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    cust_job *j = arg;
    store_customer cu = {0};
    int rc = customer_or_new(c, j->id, &cu, errs);
    if (rc == 0) {
        j->apply(&cu, j->q);
        rc = customer_write(c, &cu, out, errs);
    }
    store_customer_fini(&cu);
    return rc;
}

/* PUT of a customer's part: parse checks body into q, apply sets it. */
static int customer_put(svc_ctx *c, const char *id, const char *body, size_t len,
                        int (*parse)(const char *, size_t, fin_customer_req *, cpqd_errs *),
                        void (*apply)(store_customer *, fin_customer_req *), svc_reply *out,
                        cpqd_errs *errs)
{
    fin_customer_req q = {0};
    memset(out, 0, sizeof(*out));
    int rc = id_check(id, errs);
    if (rc == 0)
        rc = parse(body, len, &q, errs);
    if (rc == 0) {
        cust_job j = {.id = id, .q = &q, .apply = apply};
        rc = svc_tx(c, customer_run, &j, out, errs);
    }
    fin_customer_req_fini(&q);
    return rc;
}

/* The identity: name and accounts. */
static void ident_apply(store_customer *cu, fin_customer_req *q)
{
    take(&cu->name, q->name);
    take(&cu->accounts, q->accounts);
    q->name = q->accounts = NULL;
}

int fin_customer_put(svc_ctx *c, const char *id, const char *body, size_t len, svc_reply *out,
                     cpqd_errs *errs)
{
    return customer_put(c, id, body, len, fin_json_ident_parse, ident_apply, out, errs);
}

/* The credit limit, its currency and note, and the risk flags. */
static void credit_apply(store_customer *cu, fin_customer_req *q)
{
    take(&cu->credit_limit, q->limit);
    take(&cu->credit_currency, q->currency);
    take(&cu->credit_note, q->note);
    take(&cu->risk_flags, q->risk_flags);
    q->limit = q->currency = q->note = q->risk_flags = NULL;
}

int fin_customer_credit_put(svc_ctx *c, const char *id, const char *body, size_t len,
                            svc_reply *out, cpqd_errs *errs)
{
    return customer_put(c, id, body, len, fin_json_limit_parse, credit_apply, out, errs);
}

/* ---- the credit check of an accept ---- */

/* Why accepting quote q needs a credit approval, into why (empty: it
 * does not). */
static int credit_reasons(svc_ctx *c, const store_quote *q, char *why, size_t cap,
                          cpqd_errs *errs)
{
    store_customer cu;
    *why = '\0';
    int rc = store_customer_get(c->st, q->customer_id, &cu);
    if (rc == CPQD_ENOTFOUND)
        return 0; /* no limit, no flag */
    if (rc)
        return fin_store_fail(c, errs, rc, "customer");
    char *f = NULL;
    size_t len = 0;
    if (fin_json_flagged(cu.risk_flags, &f))
        len += (size_t)snprintf(why, cap, "customer %s is flagged %s", cu.id, f ? f : "");
    free(f);
    if (cu.credit_limit && cu.credit_currency && strcmp(q->currency, cu.credit_currency) != 0)
        snprintf(why + len, cap - (len < cap ? len : cap), "%sthe quote is in %s and the credit limit in %s",
                 len ? "; " : "", q->currency, cu.credit_currency);
    else if (cu.credit_limit && cu.credit_currency) {
        money_dec lim, total, open, sum;
        int minor = 2;
        char o[MONEY_FMT_MAX], t[MONEY_FMT_MAX], s[MONEY_FMT_MAX];
        money_currency_minor(cu.credit_currency, &minor);
        open = (money_dec){0, minor};
        rc = fin_money_of(cu.credit_limit, &lim) || fin_money_of(q->total, &total)
                 ? CPQD_EINTERNAL
                 : open_receivables(c, cu.id, cu.credit_currency, NULL, &open, errs);
        if (rc == 0)
            rc = money_add(open, total, &sum);
        if (rc == 0 && money_cmp(sum, lim) > 0 && fin_money_text(open, minor, o) == 0 &&
            fin_money_text(total, minor, t) == 0 && fin_money_text(sum, minor, s) == 0)
            snprintf(why + len, cap - (len < cap ? len : cap),
                     "%sopen receivables %s + this quote %s = %s %s exceed the credit limit %s %s",
                     len ? "; " : "", o, t, s, cu.credit_currency, cu.credit_limit,
                     cu.credit_currency);
    }
    store_customer_fini(&cu);
    return rc;
}

/* Whether the history of quote q records a credit approval of its
 * latest version. */
static int approved_before(svc_ctx *c, const store_quote *q, bool *yes, cpqd_errs *errs)
{
    store_event *h = NULL;
    size_t n = 0;
    *yes = false;
    int rc = store_quote_history(c->st, q->id, &h, &n);
    if (rc)
        return fin_store_fail(c, errs, rc, "quote history");
    for (size_t i = 0; i < n; i++) {
        if (h[i].version == q->version && h[i].note &&
            !strncmp(h[i].note, CREDIT_APPROVED, strlen(CREDIT_APPROVED)))
            *yes = true;
        store_event_fini(&h[i]);
    }
    free(h);
    return 0;
}

static bool approver(const svc_ctx *c)
{
    return c->caller->role == AUTH_ROLE_MANAGER || c->caller->role == AUTH_ROLE_ADMIN;
}

/* Records the approval in q's history: an entry keeping its status. */
static int approval_record(svc_ctx *c, const store_quote *q, const char *what, const char *why,
                           const char *note, cpqd_errs *errs)
{
    char text[1400];
    snprintf(text, sizeof(text), "%s%s: %s%s%s", CREDIT_APPROVED, what, why, note ? " — " : "",
             note ? note : "");
    int rc = store_quote_set_status(c->st, q->id, q->status, q->status,
                                    c->caller->key_id ? c->caller->key_id : "anonymous", text);
    return rc ? fin_store_fail(c, errs, rc, "quote history") : 0;
}

/* Quote id as the caller may see it, in approved or sent (else *ok
 * false). */
static int quote_for_credit(svc_ctx *c, const char *id, store_quote *q, bool *ok,
                            cpqd_errs *errs)
{
    *ok = false;
    int rc = store_quote_get_head(c->st, id, q); /* no request nor priced result needed */
    if (rc == 0 && svc_is_partner(c->caller) &&
        (!q->partner_id || !c->caller->partner_id || strcmp(q->partner_id, c->caller->partner_id))) {
        store_quote_fini(q);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND)
        return errs ? fin_fail(errs, rc, "no quote '%.64s'", id) : rc;
    if (rc)
        return errs ? fin_store_fail(c, errs, rc, "quote") : rc;
    date_days until;
    *ok = !strcmp(q->status, "approved") || !strcmp(q->status, "sent");
    /* an expired quote is accept's to refuse (and to mark expired) */
    if (*ok && q->valid_until && contract_date_text(q->valid_until, &until) == 0 &&
        until < c->today)
        *ok = false;
    return 0;
}

int fin_credit_accept_check(svc_ctx *c, const char *quote_id, cpqd_errs *errs)
{
    store_quote q = {0};
    char why[1024];
    bool ok = false, done = false;
    int rc = quote_for_credit(c, quote_id, &q, &ok, NULL);
    if (rc || !ok) { /* accept answers for it */
        store_quote_fini(&q);
        return rc == CPQD_ENOTFOUND ? 0 : rc;
    }
    rc = credit_reasons(c, &q, why, sizeof(why), errs);
    if (rc == 0 && *why && approver(c))
        rc = approval_record(c, &q, " at accept", why, NULL, errs);
    else if (rc == 0 && *why && (rc = approved_before(c, &q, &done, errs)) == 0 && !done) {
        errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
                 "accepting %s needs a manager's credit approval: %s (POST "
                 "/v1/quotes/%s/approve-credit)",
                 q.number, why, q.id);
        errs_field(errs, "credit", why);
        rc = CPQD_EFORBIDDEN;
    }
    store_quote_fini(&q);
    return rc;
}

/* A credit approval: the quote and the approver's note. */
typedef struct approve_job {
    const char *quote_id;
    const char *note;
} approve_job;

/* Inside the transaction: the quote's credit reasons, read and recorded
 * as approved (once). */
static int approve_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    approve_job *j = arg;
    store_quote q = {0};
    char why[1024];
    bool ok = false, done = false;
    (void)out;
    int rc = quote_for_credit(c, j->quote_id, &q, &ok, errs);
    if (rc == 0 && !ok)
        rc = fin_fail(errs, CPQD_ECONFLICT,
                      "quote %s cannot be accepted (status %s, valid until %s): credit is "
                      "approved for an approved or sent quote that has not expired",
                      q.number, q.status, q.valid_until ? q.valid_until : "-");
    if (rc == 0)
        rc = credit_reasons(c, &q, why, sizeof(why), errs);
    if (rc == 0 && !*why)
        rc = fin_fail(errs, CPQD_ECONFLICT,
                      "quote %s needs no credit approval: its customer has no flag and the "
                      "quote is within the credit limit",
                      q.number);
    if (rc == 0 && (rc = approved_before(c, &q, &done, errs)) == 0 && !done)
        rc = approval_record(c, &q, "", why, j->note, errs);
    store_quote_fini(&q);
    return rc;
}

int fin_credit_approve(svc_ctx *c, const char *quote_id, const char *body, size_t len,
                       svc_reply *out, cpqd_errs *errs)
{
    char *note = NULL;
    memset(out, 0, sizeof(*out));
    int rc = fin_json_note_parse(body, len, &note, errs);
    if (rc == 0) {
        approve_job j = {.quote_id = quote_id, .note = note};
        rc = svc_tx(c, approve_run, &j, out, errs);
    }
    /* the quote as it is now, read after the commit */
    if (rc == 0)
        rc = quote_get(c, quote_id, 0, out, errs);
    free(note);
    return rc;
}
