/*
 * stock: stock updates and availability (include/cpqd/stock.h,
 * docs/portal.md "Availability").
 *
 * Owns: the rules of a stock update (known SKUs, warehouse ids, exact
 * non-negative quantities, lead times, each pair once), writing it in one
 * transaction with its events, and the availability rule. Does not own:
 * JSON over HTTP (http_stock.c), SQL (store_stock.c).
 *
 * Invariant: a stock.updated event exists for a SKU if and only if a row
 * of that SKU changed in the same committed transaction; its payload is
 * every warehouse row of the SKU after the change.
 */
#include "cpqd/stock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *stock_status_name(stock_status s)
{
    static const char *const names[] = {"in_stock", "backorder", "unknown"};
    return (unsigned)s < 3 ? names[s] : "unknown";
}

static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > STOCK_WAREHOUSE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
            return false;
    }
    return true;
}

/* Every problem of rows into errs; CPQD_EINVAL if there was any. */
static int rows_check(const cat_snapshot *snap, const stock_row *rows, size_t n, cpqd_errs *errs)
{
    int rc = 0;
    if (n == 0 || n > STOCK_ITEMS_MAX) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "items: 1 to %d rows", STOCK_ITEMS_MAX);
        return CPQD_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const stock_row *r = &rows[i];
        if (!r->sku || !cat_snapshot_product(snap, r->sku, strlen(r->sku))) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "items[%zu].sku: no product '%.64s'", i,
                     r->sku ? r->sku : "");
            rc = CPQD_EINVAL;
        }
        if (!id_ok(r->warehouse)) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                     "items[%zu].warehouse: an id (letters, digits, '_', '.', '-'; at most %d)", i,
                     STOCK_WAREHOUSE_MAX);
            rc = CPQD_EINVAL;
        }
        if (money_sign(r->quantity) < 0) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "items[%zu].quantity: must not be negative", i);
            rc = CPQD_EINVAL;
        }
        if (r->lead_time_days < 0 || r->lead_time_days > STOCK_LEAD_MAX) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "items[%zu].lead_time_days: 0 to %d", i,
                     STOCK_LEAD_MAX);
            rc = CPQD_EINVAL;
        }
        for (size_t k = 0; k < i && r->sku && r->warehouse; k++) {
            if (rows[k].sku && rows[k].warehouse && !strcmp(rows[k].sku, r->sku) &&
                !strcmp(rows[k].warehouse, r->warehouse)) {
                errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                         "items[%zu]: %.64s in %.64s given twice (first at items[%zu])", i, r->sku,
                         r->warehouse, k);
                rc = CPQD_EINVAL;
                break;
            }
        }
    }
    return rc;
}

/* The stock.updated event of sku: every row of it as stored now. */
static int event_add(store *st, const char *sku)
{
    stock_row *rows;
    size_t n;
    int rc = store_stock_of(st, sku, &rows, &n);
    if (rc != 0)
        return rc;
    json_t *ws = json_array();
    for (size_t i = 0; ws && i < n; i++) {
        char q[MONEY_FMT_MAX];
        money_format(rows[i].quantity, q, sizeof(q));
        json_array_append_new(ws, json_pack("{s:s,s:s,s:i,s:s,s:s}", "warehouse", rows[i].warehouse,
                                            "quantity", q, "lead_time_days", rows[i].lead_time_days,
                                            "updated_at", rows[i].updated_at, "updated_by",
                                            rows[i].updated_by));
    }
    stock_rows_free(rows, n);
    json_t *o = ws ? json_pack("{s:s,s:o}", "sku", sku, "warehouses", ws) : NULL;
    char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!payload)
        return CPQD_ENOMEM;
    char key[128];
    snprintf(key, sizeof(key), "stock:%s", sku);
    store_outbox_new ev = {.type = "stock.updated",
                           .resource_kind = "stock",
                           .resource_id = sku,
                           .order_key = key,
                           .payload = payload};
    rc = store_outbox_add(st, &ev, NULL, NULL);
    free(payload);
    return rc;
}

/* Writes every row, then one event per SKU that changed. */
static int put_rows(store *st, const stock_row *rows, size_t n, const char *actor, size_t *changed)
{
    char at[DATE_TS_LEN];
    bool *dirty = calloc(n, sizeof(*dirty));
    int rc = dirty ? 0 : CPQD_ENOMEM;
    date_stamp(date_now(), at); /* the service's clock (--clock in tests) */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = store_stock_set(st, &rows[i], at, actor, &dirty[i]);
        *changed += dirty[i];
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool first = dirty[i];
        for (size_t k = 0; first && k < i; k++)
            first = !(dirty[k] && !strcmp(rows[k].sku, rows[i].sku));
        if (first)
            rc = event_add(st, rows[i].sku);
    }
    free(dirty);
    return rc;
}

int stock_put(store *st, const cat_snapshot *snap, const stock_row *rows, size_t n,
              const char *actor, size_t *changed, cpqd_errs *errs)
{
    *changed = 0;
    int rc = rows_check(snap, rows, n, errs);
    if (rc != 0)
        return rc;
    if ((rc = store_begin(st)) != 0)
        return rc;
    rc = put_rows(st, rows, n, actor ? actor : "-", changed);
    if (rc == 0)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (rc != 0) {
        *changed = 0;
        errs_add(errs, rc, NULL, 0, 0, "stock: %s", store_last_error(st));
    }
    return rc;
}

/* Warehouses by lead time, fastest first (insertion sort: a SKU has a
 * handful). */
static void by_lead(const stock_row *rows, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        for (; k > 0 && rows[order[k - 1]].lead_time_days > rows[i].lead_time_days; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
}

void stock_availability(const stock_row *rows, size_t n, money_dec q, int lead, date_days today,
                        stock_avail *out)
{
    memset(out, 0, sizeof(*out));
    out->on_hand = money_from_int(0);
    out->status = n ? STOCK_BACKORDER : STOCK_UNKNOWN;
    size_t order[64];
    size_t m = n < 64 ? n : 64;
    by_lead(rows, m, order);
    for (size_t i = 0; i < m; i++) {
        const stock_row *r = &rows[order[i]];
        money_dec sum;
        if (money_sign(r->quantity) <= 0 || money_add(out->on_hand, r->quantity, &sum) != 0)
            continue;
        out->on_hand = sum;
        if (out->status != STOCK_IN_STOCK && money_cmp(sum, q) >= 0) {
            out->status = STOCK_IN_STOCK;
            out->has_date = true;
            out->earliest = today + r->lead_time_days;
        }
    }
    if (out->status != STOCK_IN_STOCK && lead >= 0) {
        out->has_date = true;
        out->earliest = today + lead;
    }
}

void stock_avail_merge(stock_avail *a, const stock_avail *b)
{
    /* least available: backorder over unknown over in stock */
    static const int rank[] = {[STOCK_IN_STOCK] = 0, [STOCK_UNKNOWN] = 1, [STOCK_BACKORDER] = 2};
    if (rank[b->status] > rank[a->status])
        a->status = b->status;
    if (!b->has_date)
        a->has_date = false, a->earliest = 0;
    else if (a->has_date && b->earliest > a->earliest)
        a->earliest = b->earliest;
}
