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

static int hist_add(hist_set *h, const store_quote *q, json_t *priced, json_t *line)
{
    const char *u = json_string_value(json_object_get(line, "unit_price"));
    money_dec unit;
    if (!u || money_parse(u, strlen(u), &unit) != 0)
        return 0;
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
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_quote q;
        if (store_quote_get(c->st, items[i].id, 0, &q) != 0)
            continue;
        json_error_t je;
        json_t *priced = q.priced ? json_loads(q.priced, 0, &je) : NULL;
        size_t k;
        json_t *line;
        json_array_foreach(json_object_get(priced, "lines"), k, line)
        {
            if (rc || strcmp(quote_jget(line, "sku"), sku) != 0 ||
                json_object_get(line, "free_item_of"))
                continue;
            rc = hist_add(&all, &q, priced, line);
            if (!rc && customer && !strcmp(q.customer_id, customer))
                rc = hist_add(&mine, &q, priced, line);
        }
        json_decref(priced);
        store_quote_fini(&q);
    }
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&items[i]);
    free(items);
    if (rc == 0) {
        json_t *o = json_pack("{s:s,s:o}", "sku", sku, "overall", hist_json(&all, last));
        if (customer)
            json_object_set_new(
                o, "customer",
                json_pack("{s:s,s:o}", "id", customer, "prices", hist_json(&mine, last)));
        out->body = quote_dump(o);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    hist_free(&all);
    hist_free(&mine);
    return rc;
}
