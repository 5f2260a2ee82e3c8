/*
 * http_stock: PUT /v1/stock and GET /v1/stock (docs/portal.md
 * "Availability").
 *
 * Owns: the JSON of stock updates and availability answers, the query
 * parameters sku= (comma-separated) and quantity=, and the availability of
 * a quote's lines (GET /v1/quotes/{id}/availability: a configured line
 * through its exploded BOM, which the configurator rebuilds from the
 * line's stored configuration). Does not own: the rules (stock), who may
 * push (the route table: crm and admin), the configurator.
 */
#include "http_int.h"

#include "cpqd/quote.h"
#include "cpqd/stock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const http_stock_params[] = {"sku", "quantity", NULL};

static void reply_one(http_ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_one(http_ctx *c, int rc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cpqd_errs *errs = errs_new();
    if (errs)
        errs_add(errs, rc, NULL, 0, 0, "%s", msg);
    http_reply_errs(c, rc, errs, "stock");
    errs_free(errs);
}

/* items[i] of the body into r (strings borrowed from the JSON). */
static int row_parse(json_t *it, size_t i, stock_row *r, cpqd_errs *errs)
{
    json_t *q = json_object_get(it, "quantity"), *lead = json_object_get(it, "lead_time_days");
    const char *qs = json_string_value(q);
    memset(r, 0, sizeof(*r));
    r->sku = (char *)json_string_value(json_object_get(it, "sku"));
    r->warehouse = (char *)json_string_value(json_object_get(it, "warehouse"));
    if (!json_is_object(it) || json_object_size(it) != 4 || !r->sku || !r->warehouse || !qs ||
        !json_is_integer(lead)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "items[%zu]: {\"sku\", \"warehouse\", \"quantity\": \"decimal\", "
                 "\"lead_time_days\": integer}, nothing else",
                 i);
        return CPQD_EINVAL;
    }
    if (money_parse(qs, strlen(qs), &r->quantity) != 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "items[%zu].quantity: an exact decimal string", i);
        return CPQD_EINVAL;
    }
    json_int_t d = json_integer_value(lead);
    r->lead_time_days = d < 0 || d > STOCK_LEAD_MAX ? -1 : (int)d;
    return 0;
}

/* PUT /v1/stock {"items":[...]} -> {"items": n, "changed": m}. */
void http_stock_put(http_ctx *c, const http_query *q)
{
    (void)q;
    size_t len = 0;
    const char *body = http_ctx_body(c, &len);
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *items = json_object_get(o, "items");
    store *st = http_ctx_store(c);
    if (!st) {
        json_decref(o);
        return;
    }
    if (!json_is_array(items) || json_object_size(o) != 1) {
        json_decref(o);
        reply_one(c, CPQD_EINVAL, "%s", "the body must be {\"items\": [...]}");
        return;
    }
    size_t n = json_array_size(items), changed = 0;
    stock_row *rows = calloc(n ? n : 1, sizeof(*rows));
    cpqd_errs *errs = errs_new();
    int rc = rows && errs ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; i < n && rc != CPQD_ENOMEM; i++)
        if (row_parse(json_array_get(items, i), i, &rows[i], errs) != 0)
            rc = CPQD_EINVAL;
    if (rc == 0)
        rc = stock_put(st, http_ctx_snap(c), rows, n, http_ctx_caller(c)->key_id, &changed, errs);
    if (rc == 0) {
        json_t *r = json_pack("{s:I,s:I}", "items", (json_int_t)n, "changed", (json_int_t)changed);
        http_reply_text(c, 200, r ? json_dumps(r, JSON_COMPACT) : NULL);
        json_decref(r);
        if (changed)
            http_outbox_wake(http_ctx_worker(c)->srv);
    } else {
        http_reply_errs(c, rc, errs, "updating stock");
    }
    errs_free(errs);
    free(rows);
    json_decref(o);
}

/* ---- GET ---- */

static json_t *avail_json(const stock_avail *a)
{
    char d[DATE_FMT_LEN] = "";
    if (a->has_date)
        date_format(a->earliest, d);
    return json_pack("{s:s,s:s?}", "status", stock_status_name(a->status), "earliest_delivery",
                     a->has_date ? d : NULL);
}

static json_t *item_json(const char *sku, money_dec q, const stock_row *rows, size_t n,
                         const stock_avail *a)
{
    char qs[MONEY_FMT_MAX], oh[MONEY_FMT_MAX];
    json_t *ws = json_array(), *o = avail_json(a);
    for (size_t i = 0; ws && i < n; i++) {
        char w[MONEY_FMT_MAX];
        money_format(rows[i].quantity, w, sizeof(w));
        json_array_append_new(ws, json_pack("{s:s,s:s,s:i,s:s}", "warehouse", rows[i].warehouse,
                                            "quantity", w, "lead_time_days", rows[i].lead_time_days,
                                            "updated_at", rows[i].updated_at));
    }
    money_format(q, qs, sizeof(qs));
    money_format(a->on_hand, oh, sizeof(oh));
    if (!o || !ws || json_object_set_new(o, "sku", json_string(sku)) ||
        json_object_set_new(o, "quantity", json_string(qs)) ||
        json_object_set_new(o, "on_hand", json_string(oh)) ||
        json_object_set_new(o, "warehouses", ws)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The i-th comma-separated field of list into buf; false if none. */
static bool field(const char *list, size_t i, char *buf, size_t cap)
{
    for (; list && i > 0; i--) {
        list = strchr(list, ',');
        list = list ? list + 1 : NULL;
    }
    if (!list)
        return false;
    size_t n = strcspn(list, ",");
    if (n == 0 || n >= cap)
        return false;
    memcpy(buf, list, n);
    buf[n] = '\0';
    return true;
}

static size_t fields(const char *list)
{
    size_t n = list && *list ? 1 : 0;
    for (const char *p = list; p && *p; p++)
        n += *p == ',';
    return n;
}

/* One SKU's entry (and merges its availability into *all). */
static int sku_entry(http_ctx *c, store *st, const char *sku, const char *qtext, json_t *items,
                     stock_avail *all, size_t i)
{
    const cat_product *p = cat_snapshot_product(http_ctx_snap(c), sku, strlen(sku));
    money_dec q = money_from_int(1);
    if (!p) {
        reply_one(c, CPQD_EINVAL, "sku: no product '%.64s'", sku);
        return CPQD_EINVAL;
    }
    if (qtext && (money_parse(qtext, strlen(qtext), &q) != 0 || money_sign(q) <= 0)) {
        reply_one(c, CPQD_EINVAL, "quantity: '%.40s' is not a positive decimal", qtext);
        return CPQD_EINVAL;
    }
    stock_row *rows;
    size_t n;
    int rc = store_stock_of(st, sku, &rows, &n);
    if (rc != 0) {
        reply_one(c, rc, "stock: %s", store_last_error(st));
        return rc;
    }
    stock_avail a;
    stock_availability(rows, n, q, p->delivery.lead_time_days, date_today(), &a);
    if (i == 0)
        *all = a;
    else
        stock_avail_merge(all, &a);
    json_array_append_new(items, item_json(sku, q, rows, n, &a));
    stock_rows_free(rows, n);
    return 0;
}

/* GET /v1/stock?sku=A,B[&quantity=1,2]: each SKU's availability of its
 * quantity (default 1) and the set's ("all": a configured product and
 * its BOM). */
void http_stock_get(http_ctx *c, const http_query *q)
{
    const char *skus = http_query_value(q, "sku"), *qs = http_query_value(q, "quantity");
    size_t n = fields(skus);
    if (!skus || n > STOCK_SKUS_MAX || (qs && fields(qs) != n)) {
        reply_one(c, CPQD_EINVAL, "%s",
                  "sku: 1 to 100 comma-separated SKUs; quantity, if given, one per SKU");
        return;
    }
    store *st = http_ctx_store(c);
    if (!st || !http_ctx_snap(c)) {
        if (st)
            reply_one(c, CPQD_ENOTFOUND, "%s", "no catalog snapshot is loaded");
        return;
    }
    json_t *items = json_array();
    stock_avail all = {0};
    char today[DATE_FMT_LEN];
    date_format(date_today(), today);
    for (size_t i = 0; items && i < n; i++) {
        char sku[128], qt[48];
        if (!field(skus, i, sku, sizeof(sku)) || (qs && !field(qs, i, qt, sizeof(qt)))) {
            reply_one(c, CPQD_EINVAL, "%s", "sku: an empty or overlong entry in the list");
            json_decref(items);
            return;
        }
        if (sku_entry(c, st, sku, qs ? qt : NULL, items, &all, i) != 0) {
            json_decref(items);
            return;
        }
    }
    json_t *o =
        items ? json_pack("{s:s,s:o,s:o}", "as_of", today, "items", items, "all", avail_json(&all))
              : NULL;
    http_reply_text(c, 200, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

/* ---- GET /v1/quotes/{id}/availability ---- */

/* One SKU at quantity q into *a (and the items array, when given). */
static int sku_avail(store *st, const cat_snapshot *snap, const char *sku, money_dec q,
                     date_days today, stock_avail *a, json_t *items)
{
    const cat_product *p = cat_snapshot_product(snap, sku, strlen(sku));
    stock_row *rows;
    size_t n;
    int rc = store_stock_of(st, sku, &rows, &n);
    if (rc != 0)
        return rc;
    stock_availability(rows, n, q, p ? p->delivery.lead_time_days : -1, today, a);
    if (items)
        json_array_append_new(items, item_json(sku, q, rows, n, a));
    stock_rows_free(rows, n);
    return 0;
}

/* The exploded BOM of a stored quote line with a configuration: the
 * configurator's "bom" (selected and implied options, rolled-up
 * quantities), with the line's root attributes as choices when they are
 * values the configurator knows, else without them. NULL when the line
 * has no configuration or it cannot be rebuilt. */
static json_t *line_bom(http_ctx *c, const char *sku, json_t *line)
{
    json_t *conf = json_object_get(line, "configuration");
    if (!json_is_array(conf))
        return NULL;
    json_t *bom = NULL;
    for (int with_attrs = 1; with_attrs >= 0 && !bom; with_attrs--) {
        json_t *choices = json_deep_copy(conf);
        const char *k;
        json_t *v;
        json_t *attrs = with_attrs ? json_object_get(line, "attributes") : NULL;
        json_object_foreach(attrs, k, v)
        {
            char path[128];
            snprintf(path, sizeof(path), "@%s", k);
            if (json_is_string(v))
                json_array_append_new(choices, json_pack("{s:s,s:O}", "path", path, "value", v));
        }
        json_t *rq =
            json_pack("{s:s,s:o,s:s}", "product", sku, "choices", choices, "explain", "none");
        char *body = rq ? json_dumps(rq, JSON_COMPACT) : NULL, *out = NULL;
        cpqd_errs *errs = errs_new();
        json_decref(rq);
        if (body && errs &&
            http_configure(http_ctx_snap(c), &http_ctx_worker(c)->solver, body, strlen(body), &out,
                           errs) == 0) {
            json_error_t je;
            json_t *r = json_loads(out, 0, &je);
            if (json_is_true(json_object_get(r, "consistent")))
                bom = json_incref(json_object_get(r, "bom"));
            json_decref(r);
        }
        free(out);
        free(body);
        errs_free(errs);
    }
    return bom;
}

/* One line's entry: the line's SKU and its BOM, each at its total
 * quantity for the line, and their set's availability. */
static int line_avail(http_ctx *c, store *st, json_t *line, json_t *out, stock_avail *all,
                      bool first)
{
    const char *sku = json_string_value(json_object_get(line, "sku"));
    const char *qs = json_string_value(json_object_get(line, "quantity"));
    money_dec q;
    date_days today = date_today();
    if (!sku || !qs || money_parse(qs, strlen(qs), &q) != 0)
        return CPQD_EINVAL;
    json_t *items = json_array(), *bom = line_bom(c, sku, line);
    stock_avail set, a;
    int rc = sku_avail(st, http_ctx_snap(c), sku, q, today, &set, items);
    size_t i;
    json_t *b;
    json_array_foreach(bom, i, b)
    {
        const char *bs = json_string_value(json_object_get(b, "sku"));
        const char *tq = json_string_value(json_object_get(b, "total_quantity"));
        money_dec t, need;
        if (rc != 0 || !bs || !tq || money_parse(tq, strlen(tq), &t) != 0 ||
            money_mul(t, q, 6, MONEY_HALF_UP, &need) != 0 || money_normalize(need, &need) != 0)
            continue;
        if ((rc = sku_avail(st, http_ctx_snap(c), bs, need, today, &a, items)) == 0)
            stock_avail_merge(&set, &a);
    }
    json_decref(bom);
    if (rc == 0) {
        json_t *o = avail_json(&set);
        json_object_set(o, "line",
                        json_object_get(line, "id") ? json_object_get(line, "id") : json_null());
        json_object_set_new(o, "sku", json_string(sku));
        json_object_set_new(o, "quantity", json_string(qs));
        json_object_set_new(o, "items", items);
        json_array_append_new(out, o);
        if (first)
            *all = set;
        else
            stock_avail_merge(all, &set);
    } else {
        json_decref(items);
    }
    return rc;
}

HTTP_OP(http_op_quote_availability)
{
    (void)body, (void)len, (void)q;
    const char *id = http_ctx_param(c, 0);
    svc_reply qr = {0};
    int rc = quote_get(qc, id, 0, &qr, errs); /* the caller's quote, or 404 */
    free(qr.body);
    if (rc != 0)
        return rc;
    store_quote sq;
    if ((rc = store_quote_get(qc->st, id, 0, &sq)) != 0)
        return rc;
    json_error_t je;
    json_t *req = json_loads(sq.request, 0, &je), *lines = json_array();
    stock_avail all = {.status = STOCK_IN_STOCK, .has_date = true, .earliest = date_today()};
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(req, "lines"), i, l)
    {
        /* priced lines carry the ids the request may leave out */
        if (!json_object_get(l, "id")) {
            char lid[24];
            snprintf(lid, sizeof(lid), "%zu", i + 1);
            json_object_set_new(l, "id", json_string(lid));
        }
        if (rc == 0)
            rc = line_avail(c, qc->st, l, lines, &all, i == 0);
    }
    char today[DATE_FMT_LEN];
    date_format(date_today(), today);
    json_t *o = rc == 0 ? json_pack("{s:s,s:s,s:o,s:o}", "quote_id", id, "as_of", today, "lines",
                                    lines, "all", avail_json(&all))
                        : NULL;
    if (rc != 0)
        json_decref(lines);
    out->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (rc == 0 && !out->body)
        rc = CPQD_ENOMEM;
    json_decref(o);
    json_decref(req);
    store_quote_fini(&sq);
    return rc;
}
