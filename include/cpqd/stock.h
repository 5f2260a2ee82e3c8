/*
 * stock: stock levels and lead times per SKU and warehouse, pushed by the
 * ERP or CRM (PUT /v1/stock), and the availability and earliest delivery
 * date they give (GET /v1/stock, the portal; docs/portal.md
 * "Availability").
 *
 * Owns: validating a stock update, writing it idempotently with one
 * `stock.updated` event per SKU that changed (in the same transaction),
 * and the availability rule. Does not own: JSON over HTTP (http_stock.c),
 * SQL (store_stock.c), which roles may push (the route table).
 *
 * Availability of quantity q of a SKU as of today:
 *   - in_stock: the warehouses hold at least q; earliest delivery today +
 *     the lead time of the slowest warehouse needed, taking the fastest
 *     ones first;
 *   - backorder: they hold less than q; earliest delivery today + the
 *     product's catalog lead_time_days (to make or procure), or none when
 *     the catalog gives none;
 *   - unknown: no level was ever pushed for the SKU; earliest delivery as
 *     for backorder.
 * A set of SKUs (a configured product and its exploded BOM) is available
 * as its least available member, on the latest of their dates.
 *
 * Ownership: stock_row strings are the caller's in stock_put; rows read
 * back (store_stock_of) are malloc'ed, freed with stock_rows_free.
 * Thread-safety: per call; a store handle is per thread.
 */
#ifndef CPQD_STOCK_H
#define CPQD_STOCK_H

#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/store.h"

#include <stdbool.h>
#include <stddef.h>

#define STOCK_ITEMS_MAX 1000   /* rows in one PUT */
#define STOCK_SKUS_MAX 100     /* SKUs in one GET */
#define STOCK_LEAD_MAX 3650    /* days */
#define STOCK_WAREHOUSE_MAX 64 /* bytes of a warehouse id */

typedef struct stock_row {
    char *sku;
    char *warehouse;    /* an id: letters, digits, '_', '.', '-' */
    money_dec quantity; /* on hand, >= 0 (decimal: metres, kilograms...) */
    int lead_time_days; /* from this warehouse to the customer, 0..STOCK_LEAD_MAX */
    char *updated_at;   /* ISO 8601 UTC (read back only) */
    char *updated_by;   /* key id (read back only) */
} stock_row;

typedef enum stock_status {
    STOCK_IN_STOCK,
    STOCK_BACKORDER,
    STOCK_UNKNOWN,
} stock_status;

typedef struct stock_avail {
    stock_status status;
    money_dec on_hand; /* over every warehouse */
    bool has_date;
    date_days earliest; /* earliest delivery date, when has_date */
} stock_avail;

/* "in_stock", "backorder", "unknown". */
const char *stock_status_name(stock_status s);

/* Applies rows[0..n) (the levels of those SKU/warehouse pairs; pairs not
 * named keep theirs) in one transaction with one stock.updated event per
 * SKU whose levels changed; a row equal to what is stored changes nothing
 * (a repeated PUT writes nothing: idempotent). Every SKU must be a product
 * of snap; a pair may appear once. *changed gets the number of rows that
 * changed. Returns 0, CPQD_EINVAL with every bad row in errs (nothing
 * written), or the store's code. */
int stock_put(store *st, const cat_snapshot *snap, const stock_row *rows, size_t n,
              const char *actor, size_t *changed, cpqd_errs *errs);

/* The availability of quantity q of a SKU whose stored rows are
 * rows[0..n), catalog lead time lead (-1: none), as of today. */
void stock_availability(const stock_row *rows, size_t n, money_dec q, int lead, date_days today,
                        stock_avail *out);

/* Folds b into a: the set's availability (see above). */
void stock_avail_merge(stock_avail *a, const stock_avail *b);

/* ---- the store's part (store_stock.c) ---- */

/* The rows of sku, by warehouse, into a malloc'ed array (*rows NULL when
 * n is 0). Returns 0 or a code. */
int store_stock_of(store *st, const char *sku, stock_row **rows, size_t *n);
/* Writes one row (upsert) inside the caller's write scope; *changed
 * tells whether it differed from what was stored. */
int store_stock_set(store *st, const stock_row *r, const char *at, const char *by, bool *changed);
void stock_rows_free(stock_row *rows, size_t n);

#endif
