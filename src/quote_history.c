/*
 * quote_history: GET /v1/price-history, the unit prices of a SKU on
 * recent accepted quotes the caller may see (docs/quotes.md "Price
 * history").
 */
#include "quote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define QUOTE_HISTORY_SCAN 500 /* accepted quotes the price history reads, newest first */

/* ---- price history (历史报价参考) ---- */

typedef struct hist_pt {
    money_dec unit;
    char *number, *date, *qty, *unit_text, *customer;
} hist_pt;

typedef struct hist_set {
    hist_pt *v;
    size_t n, cap;
} hist_set;

static int hist_cmp(const void *a, const void *b)
{
    return money_cmp(((const hist_pt *)a)->unit, ((const hist_pt *)b)->unit);
}

/* {"count","min","median","max","last":[...]} of points (newest first). */
static json_t *hist_json(hist_set *h, size_t last)
{
    json_t *o = json_object(), *l = json_array();
    for (size_t i = 0; i < h->n && i < last; i++)
        json_array_append_new(l,
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "quote", h->v[i].number,
                                        "customer_id", h->v[i].customer, "date", h->v[i].date,
                                        "quantity", h->v[i].qty, "unit_price", h->v[i].unit_text));
    json_object_set_new(o, "count", json_integer((json_int_t)h->n));
    if (h->n) {
        hist_pt *s = malloc(h->n * sizeof(*s));
        if (s) {
            memcpy(s, h->v, h->n * sizeof(*s));
            qsort(s, h->n, sizeof(*s), hist_cmp);
            json_object_set_new(o, "min", json_string(s[0].unit_text));
            json_object_set_new(o, "median", json_string(s[(h->n - 1) / 2].unit_text));
            json_object_set_new(o, "max", json_string(s[h->n - 1].unit_text));
            free(s);
        }
    }
    json_object_set_new(o, "last", l);
    return o;
}

static void hist_free(hist_set *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].number), free(h->v[i].date), free(h->v[i].qty);
        free(h->v[i].unit_text), free(h->v[i].customer);
    }
    free(h->v);
}

#define HIST_BAD 1 /* hist_add: the line's unit_price does not parse */

static int hist_add(hist_set *h, const store_quote *q, json_t *priced, json_t *line)
{
    const char *u = json_string_value(json_object_get(line, "unit_price"));
    money_dec unit;
    if (!u || money_parse(u, strlen(u), &unit) != 0)
        return HIST_BAD;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        hist_pt *v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return CPQD_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    hist_pt *p = &h->v[h->n++];
    p->unit = unit;
    p->number = strdup(q->number);
    p->date = strdup(quote_jget(priced, "date"));
    p->qty = strdup(quote_jget(line, "quantity"));
    p->unit_text = strdup(u);
    p->customer = strdup(q->customer_id);
    return p->number && p->date && p->qty && p->unit_text && p->customer ? 0 : CPQD_ENOMEM;
}

/* Notes accepted quote q (its list head) as left out of the history,
 * with the reason, in damaged. */
static int hist_damaged(json_t *damaged, const store_quote *q, const char *why)
{
    json_t *d = json_pack("{s:s,s:s}", "quote", q->number, "reason", why);
    return d && json_array_append_new(damaged, d) == 0 ? 0 : CPQD_ENOMEM;
}

/* Adds the prices of sku on accepted quote head (its latest version) to
 * all and, of customer's, to mine. A damaged record (its priced result
 * unreadable, a line's unit_price that does not parse) is left out and
 * noted in damaged with the reason: one such quote stops the history of
 * no one, nor is it dropped silently. */
static int hist_quote(svc_ctx *c, const store_quote *head, const char *sku, const char *customer,
                      hist_set *all, hist_set *mine, json_t *damaged)
{
    store_quote q;
    int rc = store_quote_get(c->st, head->id, 0, &q);
    if (rc == CPQD_EINTERNAL)
        return hist_damaged(damaged, head, store_last_error(c->st));
    if (rc)
        return rc;
    json_error_t je;
    json_t *priced = q.priced ? json_loads(q.priced, 0, &je) : NULL, *line;
    size_t k;
    if (!priced)
        rc = hist_damaged(damaged, head, "its stored priced result is not valid JSON");
    json_array_foreach(json_object_get(priced, "lines"), k, line)
    {
        if (rc || strcmp(quote_jget(line, "sku"), sku) != 0 ||
            json_object_get(line, "free_item_of"))
            continue;
        rc = hist_add(all, &q, priced, line);
        if (!rc && customer && !strcmp(q.customer_id, customer))
            rc = hist_add(mine, &q, priced, line);
        if (rc == HIST_BAD) {
            char why[96];
            snprintf(why, sizeof(why), "its line %zu: the stored unit_price does not parse", k + 1);
            rc = hist_damaged(damaged, head, why);
        }
    }
    json_decref(priced);
    store_quote_fini(&q);
    return rc;
}

int quote_price_history(svc_ctx *c, const char *sku, const char *customer, size_t last,
                        svc_reply *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    if (!sku || !*sku) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "sku: required");
        return CPQD_EINVAL;
    }
    /* the most recent accepted quotes the caller may see */
    store_quote_filter f = {.status = "accepted", .limit = QUOTE_HISTORY_SCAN};
    if (quote_partner_caller(c))
        f.partner = c->caller->partner_id ? c->caller->partner_id : "";
    store_quote *items = NULL;
    size_t n = 0;
    int rc = store_quote_list(c->st, &f, &items, &n);
    if (rc) {
        errs_add(errs, rc, NULL, 0, 0, "cannot read accepted quotes");
        return rc;
    }
    hist_set all = {0}, mine = {0};
    json_t *damaged = json_array();
    if (!damaged)
        rc = CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = hist_quote(c, &items[i], sku, customer, &all, &mine, damaged);
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&items[i]);
    free(items);
    if (rc == 0) {
        json_t *o = json_pack("{s:s,s:o}", "sku", sku, "overall", hist_json(&all, last));
        if (customer)
            json_object_set_new(
                o, "customer",
                json_pack("{s:s,s:o}", "id", customer, "prices", hist_json(&mine, last)));
        if (o && json_array_size(damaged))
            json_object_set(o, "damaged", damaged);
        out->body = quote_dump(o);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    json_decref(damaged);
    hist_free(&all);
    hist_free(&mine);
    return rc;
}
