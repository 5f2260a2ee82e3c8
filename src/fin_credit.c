/*
 * fin_credit: customers as the CRM describes them (payer identity for
 * matching, credit limit and risk flags) and the credit check of an
 * accept (docs/finance.md "Credit risk"; include/cpqd/fin.h).
 *
 * Owns: the customer records and their JSON, a customer's open
 * receivables and unapplied money per currency, what makes an accept
 * need a manager's credit approval (the open receivables in the limit's
 * currency plus the quote over the limit, a quote in another currency
 * than the limit, any risk flag), and that approval, recorded in the
 * quote's history (an entry that keeps the status, its note starting
 * "credit approved").
 * Does not own: the accept itself (contract calls the check in its
 * transaction), the quote's status machine (quote), who may call which
 * route (http).
 *
 * Invariant: an accept that needs an approval and has none changes
 * nothing (the check fails inside the accept's transaction, which is
 * rolled back).
 */
#include "fin_int.h"

#include "cpqd/bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDIT_APPROVED "credit approved"
#define FIN_FLAGS_MAX 20
#define FIN_ACCOUNTS_MAX 20

/* ---- customers ---- */

static int id_check(const char *id, cpqd_errs *errs)
{
    size_t n = id ? strlen(id) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            n = 0;
    return n >= 1 && n <= 128 ? 0 : fin_fail(errs, CPQD_EINVAL, "customer id: 1 to 128 characters");
}

/* A list of 0..max strings of 1..len characters, as stored JSON text;
 * norm: accounts (spaces removed, upper case). */
static int strings_arg(json_t *v, const char *k, size_t max, size_t len, bool norm, char **out,
                       cpqd_errs *errs)
{
    json_t *arr = json_array();
    if (v && (!json_is_array(v) || json_array_size(v) > max)) {
        json_decref(arr);
        return fin_fail(errs, CPQD_EINVAL, "%s: a list of at most %zu strings", k, max);
    }
    for (size_t i = 0; v && i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char buf[256];
        size_t o = 0;
        for (; s && *s && o + 1 < sizeof(buf); s++)
            if (!norm || *s != ' ')
                buf[o++] = (char)(norm && *s >= 'a' && *s <= 'z' ? *s - 32 : *s);
        buf[o] = '\0';
        if (!s || o == 0 || o > len) {
            json_decref(arr);
            return fin_fail(errs, CPQD_EINVAL, "%s[%zu]: a string of 1 to %zu characters", k, i,
                            len);
        }
        json_array_append_new(arr, json_string(buf));
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? 0 : CPQD_ENOMEM;
}

/* Sums (amount - a) per currency into arr [{"currency","amount"}]. */
static int per_currency_add(json_t *arr, const char *cur, money_dec v)
{
    size_t i;
    json_t *o;
    int minor = 2;
    char t[MONEY_FMT_MAX];
    money_currency_minor(cur, &minor);
    json_array_foreach(arr, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "currency")), cur))
            continue;
        money_dec was;
        int rc = fin_money_of(json_string_value(json_object_get(o, "amount")), &was);
        if (rc == 0)
            rc = money_add(was, v, &was);
        if (rc == 0)
            rc = fin_money_text(was, minor, t);
        if (rc == 0)
            json_object_set_new(o, "amount", json_string(t));
        return rc;
    }
    int rc = fin_money_text(v, minor, t);
    return rc ? rc : json_array_append_new(arr, json_pack("{s:s,s:s}", "currency", cur, "amount", t));
}

/* The customer's open receivables (what is outstanding of items with a
 * known due date) per currency, and in currency cur into *in_cur (may
 * be NULL). */
static int open_receivables(svc_ctx *c, const char *customer, const char *cur, json_t *arr,
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
static int unapplied(svc_ctx *c, const char *customer, json_t *arr, cpqd_errs *errs)
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

static json_t *jparse(const char *text)
{
    json_error_t je;
    json_t *v = text ? json_loads(text, 0, &je) : NULL;
    return v ? v : json_array();
}

static int customer_view(svc_ctx *c, const store_customer *cu, json_t **out, cpqd_errs *errs)
{
    json_t *open = json_array(), *credit = json_array();
    int rc = open && credit ? open_receivables(c, cu->id, NULL, open, NULL, errs) : CPQD_ENOMEM;
    if (rc == 0)
        rc = unapplied(c, cu->id, credit, errs);
    if (rc == 0)
        *out = json_pack("{s:s,s:o,s:o,s:{s:o,s:o,s:o,s:o},s:O,s:O,s:o,s:o}", "id", cu->id,
                         "name", fin_str_or_null(cu->name), "accounts", jparse(cu->accounts),
                         "credit", "limit", fin_str_or_null(cu->credit_limit), "currency",
                         fin_str_or_null(cu->credit_currency), "risk_flags",
                         jparse(cu->risk_flags), "note", fin_str_or_null(cu->credit_note),
                         "open_receivables", open, "customer_credit", credit, "updated_by",
                         fin_str_or_null(cu->updated_by), "updated_at",
                         fin_str_or_null(cu->updated_at));
    if (rc == 0 && !*out)
        rc = CPQD_ENOMEM;
    json_decref(open), json_decref(credit);
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
    json_t *o = NULL;
    memset(out, 0, sizeof(*out));
    int rc = store_customer_get(c->st, id, &cu);
    bool known = rc == 0;
    /* one the CRM never described is shown while it owes or has credit */
    if (rc == CPQD_ENOTFOUND)
        rc = customer_or_new(c, id, &cu, errs);
    if (rc)
        return fin_store_fail(c, errs, rc, "customer");
    rc = customer_view(c, &cu, &o, errs);
    if (rc == 0 && !known && !json_array_size(json_object_get(o, "open_receivables")) &&
        !json_array_size(json_object_get(o, "customer_credit")))
        rc = fin_fail(errs, CPQD_ENOTFOUND,
                      "no customer '%.64s' (the CRM has not sent it, and it owes nothing)", id);
    if (rc == 0)
        rc = (out->body = contract_dump(json_incref(o))) ? 0 : CPQD_ENOMEM;
    json_decref(o);
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
    json_t *o = NULL;
    take(&cu->updated_by, strdup(c->caller->key_id ? c->caller->key_id : "anonymous"));
    take(&cu->updated_at, NULL); /* the put assigns it */
    int rc = cu->updated_by ? store_customer_put(c->st, cu) : CPQD_ENOMEM;
    if (rc)
        return fin_store_fail(c, errs, rc, "customer");
    rc = customer_view(c, cu, &o, errs);
    if (rc == 0)
        rc = (out->body = contract_dump(o)) ? 0 : CPQD_ENOMEM;
    return rc;
}

typedef struct cust_req {
    json_t *root;
    char *accounts, *flags;
} cust_req;

static int ident_parse(const char *body, size_t len, cust_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"name", "accounts", NULL};
    memset(q, 0, sizeof(*q));
    if (!(q->root = contract_parse_object(body, len, errs)))
        return CPQD_EINVAL;
    int rc = contract_only_keys(q->root, keys, "", errs);
    json_t *nm = json_object_get(q->root, "name");
    if (rc == 0 && nm && !json_is_null(nm) &&
        (!json_is_string(nm) || json_string_length(nm) < 1 || json_string_length(nm) > 300))
        rc = fin_fail(errs, CPQD_EINVAL, "name: the legal name, 1 to 300 characters, or null");
    if (rc == 0)
        rc = strings_arg(json_object_get(q->root, "accounts"), "accounts", FIN_ACCOUNTS_MAX,
                         BANK_MAX_ID, true, &q->accounts, errs);
    return rc;
}

/* A customer's write: its request parsed outside the transaction
 * (svc_tx), the fields it sets applied inside. */
typedef struct cust_job {
    const char *id;
    cust_req *q;
    void (*apply)(store_customer *cu, cust_req *q); /* takes what it sets from q */
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
                        int (*parse)(const char *, size_t, cust_req *, cpqd_errs *),
                        void (*apply)(store_customer *, cust_req *), svc_reply *out,
                        cpqd_errs *errs)
{
    cust_req q = {0};
    memset(out, 0, sizeof(*out));
    int rc = id_check(id, errs);
    if (rc == 0)
        rc = parse(body, len, &q, errs);
    if (rc == 0) {
        cust_job j = {.id = id, .q = &q, .apply = apply};
        rc = svc_tx(c, customer_run, &j, out, errs);
    }
    free(q.accounts);
    free(q.flags);
    json_decref(q.root);
    return rc;
}

/* The identity: name and accounts. */
static void ident_apply(store_customer *cu, cust_req *q)
{
    const char *nm = json_string_value(json_object_get(q->root, "name"));
    take(&cu->name, nm ? strdup(nm) : NULL);
    take(&cu->accounts, q->accounts);
    q->accounts = NULL;
}

int fin_customer_put(svc_ctx *c, const char *id, const char *body, size_t len, svc_reply *out,
                     cpqd_errs *errs)
{
    return customer_put(c, id, body, len, ident_parse, ident_apply, out, errs);
}

static int credit_parse(const char *body, size_t len, cust_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"limit", "currency", "risk_flags", "note", NULL};
    memset(q, 0, sizeof(*q));
    if (!(q->root = contract_parse_object(body, len, errs)))
        return CPQD_EINVAL;
    int rc = contract_only_keys(q->root, keys, "", errs);
    json_t *lim = json_object_get(q->root, "limit"), *cur = json_object_get(q->root, "currency");
    json_t *note = json_object_get(q->root, "note");
    int minor = 0;
    money_dec v, n;
    if (rc == 0 && !lim)
        rc = fin_fail(errs, CPQD_EINVAL, "limit: required, a decimal string, or null for none");
    if (rc == 0 && !json_is_null(lim) &&
        (!json_is_string(cur) || money_currency_minor(json_string_value(cur), &minor) != 0))
        rc = fin_fail(errs, CPQD_EINVAL, "currency: the ISO 4217 code of the limit");
    if (rc == 0 && !json_is_null(lim) &&
        (!json_is_string(lim) ||
         money_parse(json_string_value(lim), json_string_length(lim), &v) != 0 ||
         money_sign(v) < 0 || !cat_amount_ok(v) || money_normalize(v, &n) != 0 ||
         n.scale > minor))
        rc = fin_fail(errs, CPQD_EINVAL,
                      "limit: a decimal string >= 0 with at most the currency's places");
    if (rc == 0 && json_is_null(lim) && cur && !json_is_null(cur))
        rc = fin_fail(errs, CPQD_EINVAL, "currency: only with a limit");
    if (rc == 0 && note && !json_is_null(note) &&
        (!json_is_string(note) || json_string_length(note) > 500))
        rc = fin_fail(errs, CPQD_EINVAL, "note: text of at most 500 characters, or null");
    if (rc == 0)
        rc = strings_arg(json_object_get(q->root, "risk_flags"), "risk_flags", FIN_FLAGS_MAX, 64,
                         false, &q->flags, errs);
    return rc;
}

/* The credit limit, its currency and note, and the risk flags. */
static void credit_apply(store_customer *cu, cust_req *q)
{
    const char *lim = json_string_value(json_object_get(q->root, "limit"));
    const char *cur = json_string_value(json_object_get(q->root, "currency"));
    const char *note = json_string_value(json_object_get(q->root, "note"));
    take(&cu->credit_limit, lim ? strdup(lim) : NULL);
    take(&cu->credit_currency, lim && cur ? strdup(cur) : NULL);
    take(&cu->credit_note, note ? strdup(note) : NULL);
    take(&cu->risk_flags, q->flags);
    q->flags = NULL;
}

int fin_customer_credit_put(svc_ctx *c, const char *id, const char *body, size_t len,
                            svc_reply *out, cpqd_errs *errs)
{
    return customer_put(c, id, body, len, credit_parse, credit_apply, out, errs);
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
    json_t *flags = jparse(cu.risk_flags);
    size_t len = 0;
    if (json_array_size(flags)) {
        char *f = json_dumps(flags, JSON_COMPACT);
        len += (size_t)snprintf(why, cap, "customer %s is flagged %s", cu.id, f ? f : "");
        free(f);
    }
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
    json_decref(flags);
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
    static const char *const keys[] = {"note", NULL};
    memset(out, 0, sizeof(*out));
    json_t *root = len ? contract_parse_object(body, len, errs) : json_object();
    if (!root)
        return CPQD_EINVAL;
    json_t *no = json_object_get(root, "note");
    int rc = contract_only_keys(root, keys, "", errs);
    if (rc == 0 && no && (!json_is_string(no) || json_string_length(no) > 500))
        rc = fin_fail(errs, CPQD_EINVAL, "note: text of at most 500 characters");
    if (rc == 0) {
        approve_job j = {.quote_id = quote_id, .note = json_string_value(no)};
        rc = svc_tx(c, approve_run, &j, out, errs);
    }
    /* the quote as it is now, read after the commit */
    if (rc == 0)
        rc = quote_get(c, quote_id, 0, out, errs);
    json_decref(root);
    return rc;
}
