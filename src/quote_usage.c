/*
 * quote_usage: the promotion usage counters limit rules read (the
 * price_store interface over the store) and their redemption when a
 * quote becomes a contract, the limits checked again inside that write
 * transaction (docs/pricing.md "Promotions").
 */
#include "quote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- promotion usage counters ---- */

static int usage_of(price_store *ps, const char *const *promos, size_t n, const char *customer,
                    const char *partner, price_usage *out)
{
    quote_usage *u = (quote_usage *)ps;
    char cs[300], psc[300];
    if (customer)
        snprintf(cs, sizeof(cs), "c:%s", customer);
    if (partner)
        snprintf(psc, sizeof(psc), "p:%s", partner);
    const char *scopes[3] = {"*", customer ? cs : NULL, partner ? psc : NULL};
    int64_t *uses = malloc((3 * n + 1) * sizeof(*uses));
    char **spent = calloc(3 * n + 1, sizeof(*spent));
    int rc = uses && spent ? store_promo_usage_many(u->st, promos, n, scopes, uses, spent)
                           : CPQD_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        out[i] = (price_usage){uses[3 * i], uses[3 * i + 1], uses[3 * i + 2], money_from_int(0)};
        if (money_parse(spent[3 * i], strlen(spent[3 * i]), &out[i].spent) != 0)
            rc = CPQD_EINTERNAL;
    }
    for (size_t j = 0; j < 3 * n && spent; j++)
        free(spent[j]);
    free(uses);
    free(spent);
    return rc;
}

void quote_usage_init(quote_usage *u, store *st)
{
    u->base.usage = usage_of;
    u->st = st;
}

/* The promotion id of any catalog of s, or NULL. */
static const cat_promotion *promotion_of(const cat_snapshot *s, const char *id)
{
    for (size_t i = 0; id && i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, i);
        for (size_t k = 0; k < cc->npromotions; k++)
            if (!strcmp(cc->promotions[k].id, id))
                return &cc->promotions[k];
    }
    return NULL;
}

/* The request context a stored quote was priced with, for its limit
 * rules (strings borrowed from req and q). */
static void priced_context(const store_quote *q, json_t *req, price_request *rq)
{
    json_t *cust = json_object_get(req, "customer"), *who = json_object_get(req, "caller");
    const char *date = json_string_value(json_object_get(req, "date"));
    memset(rq, 0, sizeof(*rq));
    rq->customer_id = q->customer_id;
    rq->partner_id = q->partner_id;
    rq->segment = json_string_value(json_object_get(who, "segment"));
    if (!rq->segment)
        rq->segment = json_string_value(json_object_get(cust, "segment"));
    rq->channel = json_string_value(json_object_get(req, "channel"));
    if (!date || date_parse(date, strlen(date), &rq->date) != 0)
        rq->date = date_today();
    snprintf(rq->currency, sizeof(rq->currency), "%s", q->currency ? q->currency : "");
}

struct quote_usage_plan {
    json_t *priced, *request; /* NULL: absent or unreadable (nothing to count) */
};

int quote_usage_plan_new(const store_quote *q, json_t *priced, json_t *request,
                         quote_usage_plan **out)
{
    json_error_t je;
    quote_usage_plan *u = calloc(1, sizeof(*u));
    *out = u;
    if (!u)
        return CPQD_ENOMEM;
    u->priced = priced ? json_incref(priced) : q->priced ? json_loads(q->priced, 0, &je) : NULL;
    /* the request gives the context of the limit rules: read only when a
     * promotion was applied (quote_usage_redeem reads it for none else) */
    json_t *applied = json_object_get(json_object_get(u->priced, "promotions"), "applied");
    if (json_array_size(applied) && q->request)
        u->request = request ? json_incref(request) : json_loads(q->request, 0, &je);
    return 0;
}

void quote_usage_plan_free(quote_usage_plan *u)
{
    if (!u)
        return;
    json_decref(u->priced);
    json_decref(u->request);
    free(u);
}

int quote_usage_redeem(svc_ctx *c, const store_quote *q, const quote_usage_plan *plan,
                       cpqd_errs *errs)
{
    json_t *p = plan ? plan->priced : NULL, *req = plan ? plan->request : NULL;
    price_request rq;
    priced_context(q, req, &rq);
    money_dec sub = money_from_int(0);
    const char *st = json_string_value(json_object_get(p, "subtotal"));
    if (st && money_parse(st, strlen(st), &sub) != 0)
        sub = money_from_int(0);
    size_t nlines = json_array_size(json_object_get(p, "lines")), i;
    json_t *x;
    int rc = 0;
    json_array_foreach(json_object_get(json_object_get(p, "promotions"), "applied"), i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        const char *amount = json_string_value(json_object_get(x, "amount"));
        const cat_promotion *pr = promotion_of(c->snap, id);
        money_dec granted, before;
        bool ok = true;
        char why[256] = "";
        if (rc || !id || !amount)
            continue;
        /* its limit again, on the counters as this transaction sees them:
         * exact however many quotes are accepted at once */
        if (pr && pr->limit && money_parse(amount, strlen(amount), &granted) == 0 &&
            money_add(sub, granted, &before) == 0)
            rc = price_limit_recheck(c->pw, c->snap, c->usage, &rq, nlines, pr, granted, before,
                                     &ok, why, sizeof(why));
        if (rc == 0 && !ok) {
            errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                     "promotion %.64s: %s (its limits count when a quote is accepted): revise the "
                     "quote",
                     id, why);
            rc = CPQD_ECONFLICT;
        } else if (rc) {
            errs_add(errs, rc, NULL, 0, 0, "promotion %.64s: %s", id, why);
        }
        if (rc == 0 && (rc = store_promo_redeem(c->st, id, q->customer_id, q->partner_id, amount)))
            errs_add(errs, rc, NULL, 0, 0, "cannot count promotion usage: %s",
                     store_last_error(c->st));
    }
    return rc;
}
