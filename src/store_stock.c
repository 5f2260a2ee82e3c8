/*
 * store_stock: the rows of table stock (include/cpqd/stock.h), one per
 * SKU and warehouse. Quantities are exact decimal text; the statements
 * are ad hoc (prepared per call): stock is written by an ERP push and read
 * by the portal, never on the pricing path.
 */
#include "store_int.h"

#include "cpqd/stock.h"

#include <stdlib.h>
#include <string.h>

static const char stock_select[] =
    "SELECT sku, warehouse, quantity, lead_time_days, updated_at, updated_by FROM stock"
    " WHERE sku = $1 ORDER BY warehouse";
static const char stock_current[] =
    "SELECT quantity, lead_time_days FROM stock WHERE sku = $1 AND warehouse = $2";
static const char stock_upsert[] =
    "INSERT INTO stock (sku, warehouse, quantity, lead_time_days, updated_at, updated_by)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (sku, warehouse) DO UPDATE SET quantity = $3, lead_time_days = $4,"
    " updated_at = $5, updated_by = $6";

void stock_rows_free(stock_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].sku);
        free(rows[i].warehouse);
        free(rows[i].updated_at);
        free(rows[i].updated_by);
    }
    free(rows);
}

static int row_read(store_stmt *s, stock_row *r)
{
    size_t len = 0;
    const char *q = store_col_text(s, 2, &len);
    memset(r, 0, sizeof(*r));
    if (!q || money_parse(q, len, &r->quantity) != 0)
        return CPQD_EIO;
    r->lead_time_days = store_col_int(s, 3);
    int rc = store_col_dup(s, 0, &r->sku);
    if (rc == 0)
        rc = store_col_dup(s, 1, &r->warehouse);
    if (rc == 0)
        rc = store_col_dup(s, 4, &r->updated_at);
    if (rc == 0)
        rc = store_col_dup(s, 5, &r->updated_by);
    return rc;
}

int store_stock_of(store *st, const char *sku, stock_row **rows, size_t *n)
{
    store_stmt *s;
    stock_row *v = NULL;
    size_t cnt = 0, cap = 0;
    *rows = NULL;
    *n = 0;
    int rc = store_prepare_sql(st, stock_select, &s);
    if (rc != 0)
        return store_fail(st, rc, "stock");
    store_bind_text(st, s, 1, sku);
    int r;
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if (cnt == cap) {
            stock_row *g = realloc(v, (cap = cap ? 2 * cap : 4) * sizeof(*v));
            if (!g) {
                rc = CPQD_ENOMEM;
                break;
            }
            v = g;
        }
        if ((rc = row_read(s, &v[cnt])) == 0)
            cnt++;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "stock");
    store_stmt_free(s);
    if (rc != 0) {
        stock_rows_free(v, cnt);
        return rc;
    }
    *rows = v;
    *n = cnt;
    return 0;
}

/* Whether the stored row of r's pair equals r. */
static int row_same(store *st, const stock_row *r, bool *same)
{
    store_stmt *s;
    *same = false;
    int rc = store_prepare_sql(st, stock_current, &s);
    if (rc != 0)
        return store_fail(st, rc, "stock");
    store_bind_text(st, s, 1, r->sku);
    store_bind_text(st, s, 2, r->warehouse);
    int step = store_step(st, s);
    if (step == STORE_ROW) {
        size_t len = 0;
        const char *q = store_col_text(s, 0, &len);
        money_dec was;
        *same = q && money_parse(q, len, &was) == 0 && money_cmp(was, r->quantity) == 0 &&
                store_col_int(s, 1) == r->lead_time_days;
    } else if (step != STORE_DONE) {
        rc = store_fail(st, step, "stock");
    }
    store_stmt_free(s);
    return rc;
}

int store_stock_set(store *st, const stock_row *r, const char *at, const char *by, bool *changed)
{
    char q[MONEY_FMT_MAX];
    bool same;
    *changed = false;
    if (money_format(r->quantity, q, sizeof(q)) < 0)
        return store_failf(st, CPQD_EINVAL, "stock: quantity out of range");
    int rc = row_same(st, r, &same);
    if (rc != 0 || same)
        return rc;
    store_stmt *s;
    if ((rc = store_prepare_sql(st, stock_upsert, &s)) != 0)
        return store_fail(st, rc, "stock");
    store_bind_text(st, s, 1, r->sku);
    store_bind_text(st, s, 2, r->warehouse);
    store_bind_text(st, s, 3, q);
    store_bind_int64(st, s, 4, r->lead_time_days);
    store_bind_text(st, s, 5, at);
    store_bind_text(st, s, 6, by);
    rc = store_run(st, s, "stock", NULL);
    store_stmt_free(s);
    *changed = rc == 0;
    return rc;
}
