/*
 * store_fin: the finance loop's records (include/cpqd/store_fin.h).
 *
 * Owns: the SQL of the finance statements (store_fin_sql, in the portable
 * dialect of store_sql.c), ids of invoices, statements, credits, matches
 * and write-offs, the fin_counters sequences (invoice numbers, and the
 * feed order of invoices, credits, matches and vouchers), and the guarded
 * updates (a credit's applied amount, an item's paid amount when a match
 * is undone, revenue posted) that make a concurrent writer lose cleanly.
 * Does not own: what an invoice or a match is worth (invoice, match,
 * fin), events (the caller writes them in the same transaction).
 *
 * Invariant: an item is on at most one document at a time (the partial
 * unique index invoice_items_open); a credit's applied amount is the sum
 * of its active matches' amounts, because both move in one write scope
 * and the update checks the old value.
 */
#include "store_int.h"

#include "cpqd/store_fin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOMER_COLS                                                                              \
    "id, name, accounts, credit_limit, credit_currency, risk_flags, credit_note, updated_by,"      \
    " updated_at"
#define INVOICE_COLS                                                                               \
    "id, seq, number, issuer, kind, reason, year, doc_seq, contract_id, customer_id, currency,"    \
    " issued_on, due_on, net, tax, total, original_id, source, document, created_by, created_at"
#define STATEMENT_COLS                                                                             \
    "id, issuer, format, ref, account, credits, duplicates, skipped, matched, unmatched,"          \
    " imported_by, imported_at"
#define CREDIT_COLS                                                                                \
    "id, seq, statement_id, tx_id, amount, currency, value_date, booking_date, remittance,"        \
    " debtor_name, debtor_account, end_to_end_id, customer_id, applied, status, rule, reason,"     \
    " suggestions, created_at"
#define MATCH_COLS                                                                                 \
    "id, seq, credit_id, kind, rule, customer_id, amount, overpaid, note, created_by,"             \
    " created_at, reversed_at, reversed_by, reverse_note"
#define VOUCHER_COLS                                                                               \
    "seq, number, kind, date, currency, source, customer_id, contract, total, lines, created_at"

/* clang-format off */
const char *const store_fin_sql[STMT_COUNT - STMT_FIN_FIRST] = {
#define F(id) [id - STMT_FIN_FIRST]
    /* the row lock is held to commit: numbers and cursors in commit order */
    F(STMT_FIN_COUNTER_NEXT) =
        "INSERT INTO fin_counters (counter, last_seq) VALUES ($1, 1)"
        " ON CONFLICT (counter) DO UPDATE SET last_seq = fin_counters.last_seq + 1"
        " RETURNING last_seq",
    F(STMT_FIN_CUSTOMER_GET) =
        "SELECT " CUSTOMER_COLS " FROM customers WHERE id = $1",
    F(STMT_FIN_CUSTOMER_PUT) =
        "INSERT INTO customers (" CUSTOMER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, accounts = excluded.accounts,"
        " credit_limit = excluded.credit_limit, credit_currency = excluded.credit_currency,"
        " risk_flags = excluded.risk_flags, credit_note = excluded.credit_note,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    F(STMT_FIN_CUSTOMERS_ALL) =
        "SELECT " CUSTOMER_COLS " FROM customers ORDER BY id",
    /* paid <> amount drops the settled items early (the caller compares
     * the amounts exactly) */
    F(STMT_FIN_OPEN_ITEMS) =
        "SELECT r.id, r.contract_id, c.number, c.customer_id, c.partner_id, c.currency, r.amount,"
        " r.paid, r.due_on, i.id, i.number"
        " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " LEFT JOIN invoice_items ii ON ii.receivable_id = r.id AND ii.cancelled_by IS NULL"
        " LEFT JOIN invoices i ON i.id = ii.invoice_id AND i.kind = 'invoice'"
        " WHERE r.amount_known = 1 AND r.due_on IS NOT NULL AND r.paid <> r.amount"
        " AND (CAST($1 AS TEXT) IS NULL OR c.customer_id = $1)"
        " ORDER BY r.due_on, c.number, r.line_no, r.id",
    F(STMT_FIN_INVOICE_INSERT) =
        "INSERT INTO invoices (" INVOICE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT DO NOTHING",
    /* the partial unique index refuses an item already on a document */
    F(STMT_FIN_INVOICE_ITEM_INSERT) =
        "INSERT INTO invoice_items (invoice_id, receivable_id, amount, cancelled_by)"
        " VALUES ($1, $2, $3, NULL) ON CONFLICT DO NOTHING",
    F(STMT_FIN_INVOICE_GET) =
        "SELECT " INVOICE_COLS " FROM invoices WHERE id = $1",
    F(STMT_FIN_INVOICES_OF) =
        "SELECT " INVOICE_COLS " FROM invoices WHERE contract_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
    F(STMT_FIN_INVOICE_ITEMS_OF) =
        "SELECT invoice_id, receivable_id, amount, cancelled_by FROM invoice_items"
        " WHERE invoice_id = $1 ORDER BY receivable_id",
    F(STMT_FIN_INVOICE_ITEM_CANCEL) =
        "UPDATE invoice_items SET cancelled_by = $1 WHERE invoice_id = $2 AND receivable_id = $3"
        " AND cancelled_by IS NULL",
    F(STMT_FIN_INVOICE_ITEMS_OPEN) =
        "SELECT ii.invoice_id, ii.receivable_id, ii.amount, ii.cancelled_by FROM invoice_items ii"
        " JOIN receivables r ON r.id = ii.receivable_id"
        " WHERE r.contract_id = $1 AND ii.cancelled_by IS NULL ORDER BY ii.receivable_id",
    F(STMT_FIN_STATEMENT_INSERT) =
        "INSERT INTO bank_statements (" STATEMENT_COLS ")"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
    F(STMT_FIN_STATEMENT_GET) =
        "SELECT " STATEMENT_COLS " FROM bank_statements WHERE id = $1",
    F(STMT_FIN_CREDIT_INSERT) =
        "INSERT INTO bank_credits (" CREDIT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING",
    F(STMT_FIN_CREDIT_GET) =
        "SELECT " CREDIT_COLS " FROM bank_credits WHERE id = $1",
    F(STMT_FIN_CREDIT_SEEN) =
        "SELECT 1 FROM bank_credits WHERE tx_id = $1",
    F(STMT_FIN_CREDITS_LIST) =
        "SELECT " CREDIT_COLS " FROM bank_credits WHERE seq > $1"
        " AND (CAST($2 AS TEXT) IS NULL OR status = $2)"
        " AND (CAST($3 AS TEXT) IS NULL OR customer_id = $3) ORDER BY seq LIMIT $4",
    F(STMT_FIN_CREDIT_UPDATE) =
        "UPDATE bank_credits SET applied = $1, status = $2, rule = $3, reason = $4,"
        " customer_id = COALESCE(CAST($5 AS TEXT), customer_id) WHERE id = $6 AND applied = $7",
    F(STMT_FIN_MATCH_INSERT) =
        "INSERT INTO matches (" MATCH_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, NULL, NULL, NULL) ON CONFLICT DO NOTHING",
    F(STMT_FIN_ALLOC_INSERT) =
        "INSERT INTO match_allocations (match_id, receivable_id, amount, payment_id)"
        " VALUES ($1, $2, $3, $4)",
    F(STMT_FIN_MATCH_GET) =
        "SELECT " MATCH_COLS " FROM matches WHERE id = $1",
    F(STMT_FIN_ALLOCS_OF) =
        "SELECT match_id, receivable_id, amount, payment_id FROM match_allocations"
        " WHERE match_id = $1 ORDER BY receivable_id",
    F(STMT_FIN_MATCHES_OF) =
        "SELECT " MATCH_COLS " FROM matches WHERE credit_id = $1 ORDER BY seq",
    F(STMT_FIN_MATCH_REVERSE) =
        "UPDATE matches SET reversed_at = $1, reversed_by = $2, reverse_note = $3"
        " WHERE id = $4 AND reversed_at IS NULL",
    F(STMT_FIN_PAYMENT_DELETE) =
        "DELETE FROM payments WHERE id = $1 AND receivable_id = $2",
    F(STMT_FIN_WRITE_OFF_INSERT) =
        "INSERT INTO write_offs (id, receivable_id, amount, reason, payment_id, created_by,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    F(STMT_FIN_WRITE_OFF_GET) =
        "SELECT id, receivable_id, amount, reason, payment_id, created_by, created_at"
        " FROM write_offs WHERE id = $1",
    F(STMT_FIN_VOUCHER_INSERT) =
        "INSERT INTO vouchers (" VOUCHER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11)",
    F(STMT_FIN_VOUCHERS_LIST) =
        "SELECT " VOUCHER_COLS " FROM vouchers WHERE seq > $1 ORDER BY seq LIMIT $2",
    F(STMT_FIN_REVENUE_OF) =
        "SELECT contract_id, category, posted, upto FROM revenue_positions"
        " WHERE contract_id = $1 ORDER BY category",
    F(STMT_FIN_REVENUE_INSERT) =
        "INSERT INTO revenue_positions (contract_id, category, posted, upto)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    F(STMT_FIN_REVENUE_UPDATE) =
        "UPDATE revenue_positions SET posted = $1, upto = $2 WHERE contract_id = $3"
        " AND category = $4 AND posted = $5",
    F(STMT_FIN_CONTRACT_IDS) =
        "SELECT id FROM contracts ORDER BY number",
    /* a counter of flat writes written back (store_flat_end) */
    F(STMT_FIN_COUNTER_SET) =
        "UPDATE fin_counters SET last_seq = $1 WHERE counter = $2",
    /* a customer's credit: matched credits not applied in full (the
     * caller compares the amounts exactly) */
    F(STMT_FIN_CREDITS_OPEN_OF) =
        "SELECT " CREDIT_COLS " FROM bank_credits WHERE customer_id = $1 AND currency = $2"
        " AND status = 'matched' AND applied <> amount ORDER BY seq",
    /* GET /v1/invoices: newest first; the status as fin_invoice computes
     * it from the items' cancellations */
    F(STMT_FIN_INVOICE_LIST) =
        "SELECT " INVOICE_COLS " FROM invoices i"
        " WHERE (CAST($1 AS TEXT) IS NULL OR i.customer_id = $1)"
        " AND (CAST($2 AS TEXT) IS NULL OR i.contract_id = $2)"
        " AND (CAST($3 AS TEXT) IS NULL OR $3 = CASE"
        "  WHEN i.kind <> 'invoice' OR NOT EXISTS (SELECT 1 FROM invoice_items x"
        "   WHERE x.invoice_id = i.id AND x.cancelled_by IS NOT NULL) THEN 'issued'"
        "  WHEN EXISTS (SELECT 1 FROM invoice_items x"
        "   WHERE x.invoice_id = i.id AND x.cancelled_by IS NULL) THEN 'partially_cancelled'"
        "  ELSE 'cancelled' END)"
        " AND (CAST($4 AS TEXT) IS NULL OR i.issued_on >= $4)"
        " AND (CAST($5 AS TEXT) IS NULL OR i.issued_on <= $5)"
        " AND (CAST($6 AS TEXT) IS NULL OR i.seq < (SELECT a.seq FROM invoices a WHERE a.id = $6))"
        " ORDER BY i.seq DESC LIMIT $7",
    F(STMT_FIN_CREDIT_APPLIED_TO) =
        "SELECT 1 FROM match_allocations a JOIN matches m ON m.id = a.match_id"
        " WHERE a.receivable_id = $1 AND m.rule = 'customer_credit'",
#undef F
};
/* clang-format on */

#define NO_LIMIT ((int64_t)1 << 62)

/* ---- helpers ---- */

/* Replaces *field (a malloc'ed string or NULL) with a copy of v. */
static int assign(store *st, char **field, const char *v)
{
    char *c = store_strdup(v);
    if (!c)
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    *field = c;
    return 0;
}

static bool all_text(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!store_text_ok(v[i]))
            return false;
    return true;
}

int store_fin_next(store *st, const char *name, int64_t *seq)
{
    store_stmt *s;
    if (!store_text_ok(name))
        return store_failf(st, CPQD_EINVAL, "counter: a name is required");
    if (store_flat_seq_take(st, STMT_FIN_COUNTER_SET, name, seq))
        return 0;
    int rc = store_prepare(st, STMT_FIN_COUNTER_NEXT, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, name);
    int r = store_step(st, s);
    if (r == STORE_ROW)
        *seq = store_col_int64(s, 0);
    else
        rc = store_fail(st, r, "counter");
    store_stmt_done(s);
    if (rc == 0)
        store_flat_seq_note(st, STMT_FIN_COUNTER_SET, name, *seq);
    return rc;
}

/* A fresh id and the next seq of counter `feed` (NULL: none). */
static int id_seq(store *st, const char *prefix, char *id, const char *feed, int64_t *seq)
{
    int rc = store_random_id(st, prefix, id, STORE_FIN_ID_LEN);
    if (rc == 0 && feed)
        rc = store_fin_next(st, feed, seq);
    return rc;
}

/* ---- customers ---- */

void store_customer_fini(store_customer *c)
{
    if (!c)
        return;
    char *const f[] = {c->id,          c->name,        c->accounts,   c->credit_limit,
                       c->credit_currency, c->risk_flags, c->credit_note, c->updated_by,
                       c->updated_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(c, 0, sizeof(*c));
}

static int customer_read(store_stmt *s, void *p)
{
    store_customer *c = p;
    char **const cols[] = {&c->id,         &c->name,        &c->accounts,
                           &c->credit_limit, &c->credit_currency, &c->risk_flags,
                           &c->credit_note, &c->updated_by,  &c->updated_at};
    int rc = store_cols_dup(s, cols, 9);
    if (rc)
        store_customer_fini(c);
    return rc;
}

int store_customer_get(store *st, const char *id, store_customer *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "customer: an id is required");
    int rc = store_prepare(st, STMT_FIN_CUSTOMER_GET, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, customer_read, out, "customer", id);
}

int store_customer_put(store *st, store_customer *c)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    const char *req[] = {c->id, c->accounts, c->risk_flags, c->updated_by};
    if (!all_text(req, 4) || !store_opt_text_ok(c->name) || !store_opt_text_ok(c->credit_limit) ||
        !store_opt_text_ok(c->credit_currency) || !store_opt_text_ok(c->credit_note) ||
        (c->credit_limit && !store_decimal_ok(c->credit_limit)))
        return store_failf(st, CPQD_EINVAL, "customer: id, accounts, flags, updated_by required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    if ((rc = store_prepare(st, STMT_FIN_CUSTOMER_PUT, &s)) == 0) {
        const char *v[] = {c->id,         c->name,        c->accounts,   c->credit_limit,
                           c->credit_currency, c->risk_flags, c->credit_note, c->updated_by,
                           now};
        store_bind_texts(st, s, 1, v, 9);
        rc = store_run(st, s, "customer put", NULL);
    }
    char *at = NULL;
    if (rc == 0)
        rc = assign(st, &at, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(at);
        return rc;
    }
    c->updated_at = at;
    return 0;
}

int store_customers_all(store *st, store_customer **items, size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_CUSTOMERS_ALL, &s);
    if (rc)
        return rc;
    return store_rows_read(st, s, sizeof(store_customer), customer_read,
                           (store_row_fini_fn)store_customer_fini, (void **)items, n);
}

/* ---- open items ---- */

void store_fin_item_fini(store_fin_item *it)
{
    if (!it)
        return;
    char *const f[] = {it->id,       it->contract_id, it->contract_number, it->customer_id,
                       it->partner_id, it->currency,  it->amount,          it->paid,
                       it->due_on,   it->invoice_id,  it->invoice_number};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(it, 0, sizeof(*it));
}

static int item_read(store_stmt *s, void *p)
{
    store_fin_item *it = p;
    char **const cols[] = {&it->id,     &it->contract_id, &it->contract_number, &it->customer_id,
                           &it->partner_id, &it->currency, &it->amount,          &it->paid,
                           &it->due_on, &it->invoice_id, &it->invoice_number};
    int rc = store_cols_dup(s, cols, 11);
    if (rc)
        store_fin_item_fini(it);
    return rc;
}

int store_fin_open_items(store *st, const char *customer, store_fin_item **items, size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_OPEN_ITEMS, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, customer);
    return store_rows_read(st, s, sizeof(store_fin_item), item_read,
                           (store_row_fini_fn)store_fin_item_fini, (void **)items, n);
}

/* ---- invoices ---- */

void store_invoice_fini(store_invoice *v)
{
    if (!v)
        return;
    char *const f[] = {v->id,        v->number,   v->issuer,   v->kind,      v->reason,
                       v->contract_id, v->customer_id, v->currency, v->issued_on, v->due_on,
                       v->net,       v->tax,      v->total,    v->original_id, v->source,
                       v->document,  v->created_by, v->created_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(v, 0, sizeof(*v));
}

void store_invoice_item_fini(store_invoice_item *it)
{
    if (!it)
        return;
    free(it->invoice_id), free(it->receivable_id), free(it->amount), free(it->cancelled_by);
    memset(it, 0, sizeof(*it));
}

static int invoice_read(store_stmt *s, void *p)
{
    store_invoice *v = p;
    char **const cols[] = {&v->id,         NULL,          &v->number,    &v->issuer,
                           &v->kind,       &v->reason,    NULL,          NULL,
                           &v->contract_id, &v->customer_id, &v->currency, &v->issued_on,
                           &v->due_on,     &v->net,       &v->tax,       &v->total,
                           &v->original_id, &v->source,   &v->document,  &v->created_by,
                           &v->created_at};
    v->seq = store_col_int64(s, 1);
    v->year = store_col_int(s, 6);
    v->doc_seq = store_col_int64(s, 7);
    int rc = store_cols_dup(s, cols, 21);
    if (rc)
        store_invoice_fini(v);
    return rc;
}

static int invoice_item_read(store_stmt *s, void *p)
{
    store_invoice_item *it = p;
    char **const cols[] = {&it->invoice_id, &it->receivable_id, &it->amount, &it->cancelled_by};
    int rc = store_cols_dup(s, cols, 4);
    if (rc)
        store_invoice_item_fini(it);
    return rc;
}

static int invoice_row_insert(store *st, const store_invoice *v, const char *id, int64_t seq,
                              const char *now)
{
    store_stmt *s;
    int changed = 0, rc = store_prepare(st, STMT_FIN_INVOICE_INSERT, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    store_bind_int64(st, s, 2, seq);
    const char *a[] = {v->number, v->issuer, v->kind, v->reason};
    store_bind_texts(st, s, 3, a, 4);
    store_bind_int64(st, s, 7, v->year);
    store_bind_int64(st, s, 8, v->doc_seq);
    const char *b[] = {v->contract_id, v->customer_id, v->currency, v->issued_on, v->due_on,
                       v->net,         v->tax,         v->total,    v->original_id, v->source,
                       v->document,    v->created_by,  now};
    store_bind_texts(st, s, 9, b, 13);
    rc = store_run(st, s, "invoice insert", &changed);
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "invoice %.64s: its number is taken", v->number);
    return rc;
}

static int invoice_items_insert(store *st, const char *id, const store_invoice_item *items,
                                size_t n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_INVOICE_ITEM_INSERT, &s);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int changed = 0;
        const char *v[] = {id, items[i].receivable_id, items[i].amount};
        store_bind_texts(st, s, 1, v, 3);
        rc = store_run(st, s, "invoice item insert", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "receivable %.64s is already on a document",
                             items[i].receivable_id);
    }
    return rc;
}

int store_invoice_insert(store *st, store_invoice *v, const store_invoice_item *items, size_t n)
{
    char id[STORE_FIN_ID_LEN], now[STORE_TS_LEN];
    int64_t seq = 0;
    bool own;
    const char *req[] = {v->number,   v->issuer,   v->kind,     v->reason,    v->contract_id,
                         v->customer_id, v->currency, v->issued_on, v->due_on, v->net,
                         v->tax,      v->total,    v->source,   v->document,  v->created_by};
    if (!all_text(req, 15) || !store_opt_text_ok(v->original_id) || !store_date_ok(v->issued_on) ||
        !store_date_ok(v->due_on) || !store_decimal_ok(v->total))
        return store_failf(st, CPQD_EINVAL, "invoice: a required field is missing");
    for (size_t i = 0; i < n; i++)
        if (!store_text_ok(items[i].receivable_id) || !store_decimal_ok(items[i].amount))
            return store_failf(st, CPQD_EINVAL, "invoice item: receivable and amount required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = id_seq(st, "inv_", id, "feed:invoice", &seq);
    if (rc == 0)
        rc = invoice_row_insert(st, v, id, seq, now);
    if (rc == 0)
        rc = invoice_items_insert(st, id, items, n);
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, id)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    v->id = a, v->created_at = b, v->seq = seq;
    return 0;
}

int store_invoice_get(store *st, const char *id, store_invoice *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "invoice: an id is required");
    int rc = store_prepare(st, STMT_FIN_INVOICE_GET, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, invoice_read, out, "invoice", id);
}

int store_invoices_of(store *st, const char *contract_id, int64_t after, size_t limit,
                      store_invoice **items, size_t *n)
{
    store_stmt *s;
    if (!store_text_ok(contract_id) || after < 0 || limit < 1 || limit > STORE_PER_PAGE_MAX)
        return store_failf(st, CPQD_EINVAL, "invoices: contract, cursor or limit out of range");
    int rc = store_prepare(st, STMT_FIN_INVOICES_OF, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    store_bind_int64(st, s, 2, after);
    store_bind_int64(st, s, 3, (int64_t)limit);
    return store_rows_read(st, s, sizeof(store_invoice), invoice_read,
                           (store_row_fini_fn)store_invoice_fini, (void **)items, n);
}

int store_invoice_list(store *st, const store_invoice_filter *f, store_invoice **items, size_t *n)
{
    store_stmt *s;
    *items = NULL, *n = 0;
    if (f->limit < 1 || f->limit > STORE_PER_PAGE_MAX + 1 || !store_opt_text_ok(f->customer) ||
        !store_opt_text_ok(f->contract) || !store_opt_text_ok(f->status) ||
        !store_date_ok(f->from) || !store_date_ok(f->to) || !store_opt_text_ok(f->after))
        return store_failf(st, CPQD_EINVAL,
                           "invoices: a filter, the cursor or limit is out of range");
    int rc = store_prepare(st, STMT_FIN_INVOICE_LIST, &s);
    if (rc)
        return rc;
    const char *v[] = {f->customer, f->contract, f->status, f->from, f->to, f->after};
    store_bind_texts(st, s, 1, v, 6);
    store_bind_int64(st, s, 7, (int64_t)f->limit);
    return store_rows_read(st, s, sizeof(store_invoice), invoice_read,
                           (store_row_fini_fn)store_invoice_fini, (void **)items, n);
}

int store_invoice_items_of(store *st, const char *id, store_invoice_item **items, size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_INVOICE_ITEMS_OF, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_rows_read(st, s, sizeof(store_invoice_item), invoice_item_read,
                           (store_row_fini_fn)store_invoice_item_fini, (void **)items, n);
}

int store_invoice_items_cancel(store *st, const char *id, const char *const *receivable_ids,
                               size_t n, const char *by)
{
    store_stmt *s;
    bool own;
    if (!store_text_ok(id) || !store_text_ok(by) || !all_text(receivable_ids, n))
        return store_failf(st, CPQD_EINVAL, "invoice cancel: ids required");
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = store_prepare(st, STMT_FIN_INVOICE_ITEM_CANCEL, &s);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int changed = 0;
        const char *v[] = {by, id, receivable_ids[i]};
        store_bind_texts(st, s, 1, v, 3);
        rc = store_run(st, s, "invoice item cancel", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "receivable %.64s is not open on invoice %.64s",
                             receivable_ids[i], id);
    }
    return store_write_end(st, own, rc);
}

int store_invoice_items_open(store *st, const char *contract_id, store_invoice_item **items,
                             size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_INVOICE_ITEMS_OPEN, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    return store_rows_read(st, s, sizeof(store_invoice_item), invoice_item_read,
                           (store_row_fini_fn)store_invoice_item_fini, (void **)items, n);
}

/* ---- statements ---- */

void store_statement_fini(store_statement *s)
{
    if (!s)
        return;
    free(s->id), free(s->issuer), free(s->format), free(s->ref), free(s->account);
    free(s->imported_by);
    free(s->imported_at);
    memset(s, 0, sizeof(*s));
}

static int statement_read(store_stmt *s, void *p)
{
    store_statement *x = p;
    char **const cols[] = {&x->id, &x->issuer, &x->format, &x->ref, &x->account, NULL, NULL,
                           NULL,   NULL,       NULL,       &x->imported_by, &x->imported_at};
    int64_t *const ints[] = {&x->credits, &x->duplicates, &x->skipped, &x->matched,
                             &x->unmatched};
    for (int i = 0; i < 5; i++)
        *ints[i] = store_col_int64(s, 5 + i);
    int rc = store_cols_dup(s, cols, 12);
    if (rc)
        store_statement_fini(x);
    return rc;
}

int store_statement_insert(store *st, store_statement *x)
{
    char id[STORE_FIN_ID_LEN], now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(x->issuer) || !store_text_ok(x->format) || !store_text_ok(x->imported_by) ||
        !x->ref || !x->account)
        return store_failf(st, CPQD_EINVAL, "statement: format and importer required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = id_seq(st, "bs_", id, NULL, NULL);
    if (rc == 0 && (rc = store_prepare(st, STMT_FIN_STATEMENT_INSERT, &s)) == 0) {
        const char *a[] = {id, x->issuer, x->format, x->ref, x->account};
        store_bind_texts(st, s, 1, a, 5);
        const int64_t v[] = {x->credits, x->duplicates, x->skipped, x->matched, x->unmatched};
        for (int i = 0; i < 5; i++)
            store_bind_int64(st, s, 6 + i, v[i]);
        store_bind_text(st, s, 11, x->imported_by);
        store_bind_text(st, s, 12, now);
        rc = store_run(st, s, "statement insert", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "statement id taken");
    }
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, id)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    x->id = a, x->imported_at = b;
    return 0;
}

int store_statement_get(store *st, const char *id, store_statement *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    int rc = store_text_ok(id) ? store_prepare(st, STMT_FIN_STATEMENT_GET, &s)
                               : store_failf(st, CPQD_EINVAL, "statement: an id is required");
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, statement_read, out, "statement", id);
}

/* ---- credits ---- */

void store_credit_fini(store_credit *c)
{
    if (!c)
        return;
    char *const f[] = {c->id,          c->statement_id, c->tx_id,         c->amount,
                       c->currency,    c->value_date,   c->booking_date,  c->remittance,
                       c->debtor_name, c->debtor_account, c->end_to_end_id, c->customer_id,
                       c->applied,     c->status,       c->rule,          c->reason,
                       c->suggestions, c->created_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(c, 0, sizeof(*c));
}

static int credit_read(store_stmt *s, void *p)
{
    store_credit *c = p;
    char **const cols[] = {&c->id,           NULL,           &c->statement_id, &c->tx_id,
                           &c->amount,       &c->currency,   &c->value_date,   &c->booking_date,
                           &c->remittance,   &c->debtor_name, &c->debtor_account,
                           &c->end_to_end_id, &c->customer_id, &c->applied,    &c->status,
                           &c->rule,         &c->reason,     &c->suggestions,  &c->created_at};
    c->seq = store_col_int64(s, 1);
    int rc = store_cols_dup(s, cols, 19);
    if (rc)
        store_credit_fini(c);
    return rc;
}

int store_credit_insert(store *st, store_credit *c)
{
    char id[STORE_FIN_ID_LEN], now[STORE_TS_LEN];
    int64_t seq = 0;
    store_stmt *s;
    bool own;
    int changed = 0;
    const char *req[] = {c->statement_id, c->tx_id, c->amount, c->currency, c->value_date,
                         c->applied,      c->status, c->rule,  c->suggestions};
    if (!all_text(req, 9) || !c->remittance || !c->debtor_name || !c->debtor_account ||
        !c->end_to_end_id || !store_decimal_ok(c->amount) || !store_date_ok(c->value_date) ||
        !store_date_ok(c->booking_date) || !store_opt_text_ok(c->customer_id) ||
        !store_opt_text_ok(c->reason))
        return store_failf(st, CPQD_EINVAL, "credit: a required field is missing");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = id_seq(st, "bc_", id, "feed:credit", &seq);
    if (rc == 0 && (rc = store_prepare(st, STMT_FIN_CREDIT_INSERT, &s)) == 0) {
        store_bind_text(st, s, 1, id);
        store_bind_int64(st, s, 2, seq);
        const char *v[] = {c->statement_id, c->tx_id,       c->amount,         c->currency,
                           c->value_date,   c->booking_date, c->remittance,     c->debtor_name,
                           c->debtor_account, c->end_to_end_id, c->customer_id, c->applied,
                           c->status,       c->rule,        c->reason,         c->suggestions,
                           now};
        store_bind_texts(st, s, 3, v, 17);
        rc = store_run(st, s, "credit insert", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "bank transaction %.64s was imported before",
                             c->tx_id);
    }
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, id)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    c->id = a, c->created_at = b, c->seq = seq;
    return 0;
}

int store_credit_get(store *st, const char *id, store_credit *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    int rc = store_text_ok(id) ? store_prepare(st, STMT_FIN_CREDIT_GET, &s)
                               : store_failf(st, CPQD_EINVAL, "credit: an id is required");
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, credit_read, out, "credit", id);
}

int store_credits_seen(store *st, const char *const *tx_ids, size_t n, bool *seen)
{
    store_stmt *s;
    int rc = n ? store_prepare(st, STMT_FIN_CREDIT_SEEN, &s) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_bind_text(st, s, 1, tx_ids[i]);
        int r = store_step(st, s);
        seen[i] = r == STORE_ROW;
        if (r != STORE_ROW && r != STORE_DONE)
            rc = store_fail(st, r, "credit seen");
        store_stmt_done(s);
    }
    return rc;
}

int store_credits_open_of(store *st, const char *customer, const char *currency,
                          store_credit **items, size_t *n)
{
    store_stmt *s;
    *items = NULL, *n = 0;
    if (!store_text_ok(customer) || !store_text_ok(currency))
        return store_failf(st, CPQD_EINVAL, "customer credit: customer and currency required");
    int rc = store_prepare(st, STMT_FIN_CREDITS_OPEN_OF, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, customer);
    store_bind_text(st, s, 2, currency);
    return store_rows_read(st, s, sizeof(store_credit), credit_read,
                           (store_row_fini_fn)store_credit_fini, (void **)items, n);
}

int store_credit_applied_to(store *st, const char *rid, bool *applied)
{
    store_stmt *s;
    *applied = false;
    int rc = store_text_ok(rid) ? store_prepare(st, STMT_FIN_CREDIT_APPLIED_TO, &s)
                                : store_failf(st, CPQD_EINVAL, "customer credit: an item required");
    if (rc)
        return rc;
    store_bind_text(st, s, 1, rid);
    int r = store_step(st, s);
    *applied = r == STORE_ROW;
    if (r != STORE_ROW && r != STORE_DONE)
        rc = store_fail(st, r, "customer credit applied");
    store_stmt_done(s);
    return rc;
}

int store_credits_list(store *st, const char *status, const char *customer, int64_t after,
                       size_t limit, store_credit **items, size_t *n)
{
    store_stmt *s;
    if (after < 0 || limit > STORE_PER_PAGE_MAX)
        return store_failf(st, CPQD_EINVAL, "credits: cursor or limit out of range");
    int rc = store_prepare(st, STMT_FIN_CREDITS_LIST, &s);
    if (rc)
        return rc;
    store_bind_int64(st, s, 1, after);
    store_bind_text(st, s, 2, status);
    store_bind_text(st, s, 3, customer);
    store_bind_int64(st, s, 4, limit ? (int64_t)limit : NO_LIMIT);
    return store_rows_read(st, s, sizeof(store_credit), credit_read,
                           (store_row_fini_fn)store_credit_fini, (void **)items, n);
}

int store_credit_update(store *st, const char *id, const char *old_applied, const char *applied,
                        const char *status, const char *rule, const char *reason,
                        const char *customer_id)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    const char *req[] = {id, old_applied, applied, status, rule};
    if (!all_text(req, 5) || !store_decimal_ok(applied) || !store_opt_text_ok(reason) ||
        !store_opt_text_ok(customer_id))
        return store_failf(st, CPQD_EINVAL, "credit update: a required field is missing");
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    if ((rc = store_prepare(st, STMT_FIN_CREDIT_UPDATE, &s)) == 0) {
        const char *v[] = {applied, status, rule, reason, customer_id, id, old_applied};
        store_bind_texts(st, s, 1, v, 7);
        rc = store_run(st, s, "credit update", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "credit %.64s changed meanwhile", id);
    }
    return store_write_end(st, own, rc);
}

/* ---- matches ---- */

void store_match_fini(store_match *m)
{
    if (!m)
        return;
    char *const f[] = {m->id,         m->credit_id,  m->kind,        m->rule,
                       m->customer_id, m->amount,    m->overpaid,    m->note,
                       m->created_by, m->created_at, m->reversed_at, m->reversed_by,
                       m->reverse_note};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(m, 0, sizeof(*m));
}

void store_alloc_fini(store_alloc *a)
{
    if (!a)
        return;
    free(a->match_id), free(a->receivable_id), free(a->amount), free(a->payment_id);
    memset(a, 0, sizeof(*a));
}

static int match_read(store_stmt *s, void *p)
{
    store_match *m = p;
    char **const cols[] = {&m->id,          NULL,           &m->credit_id,  &m->kind,
                           &m->rule,        &m->customer_id, &m->amount,    &m->overpaid,
                           &m->note,        &m->created_by, &m->created_at, &m->reversed_at,
                           &m->reversed_by, &m->reverse_note};
    m->seq = store_col_int64(s, 1);
    int rc = store_cols_dup(s, cols, 14);
    if (rc)
        store_match_fini(m);
    return rc;
}

static int alloc_read(store_stmt *s, void *p)
{
    store_alloc *a = p;
    char **const cols[] = {&a->match_id, &a->receivable_id, &a->amount, &a->payment_id};
    int rc = store_cols_dup(s, cols, 4);
    if (rc)
        store_alloc_fini(a);
    return rc;
}

static int match_row_insert(store *st, const store_match *m, const char *id, int64_t seq,
                            const char *now)
{
    store_stmt *s;
    int changed = 0, rc = store_prepare(st, STMT_FIN_MATCH_INSERT, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    store_bind_int64(st, s, 2, seq);
    const char *v[] = {m->credit_id, m->kind, m->rule, m->customer_id, m->amount, m->overpaid,
                       m->note,      m->created_by, now};
    store_bind_texts(st, s, 3, v, 9);
    rc = store_run(st, s, "match insert", &changed);
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "match id taken");
    return rc;
}

int store_match_insert(store *st, store_match *m, const store_alloc *allocs, size_t n)
{
    char id[STORE_FIN_ID_LEN], now[STORE_TS_LEN];
    int64_t seq = 0;
    store_stmt *s;
    bool own;
    const char *req[] = {m->credit_id, m->kind, m->rule, m->amount, m->overpaid, m->created_by};
    if (!all_text(req, 6) || !store_opt_text_ok(m->customer_id) || !store_opt_text_ok(m->note))
        return store_failf(st, CPQD_EINVAL, "match: a required field is missing");
    for (size_t i = 0; i < n; i++)
        if (!store_text_ok(allocs[i].receivable_id) || !store_decimal_ok(allocs[i].amount) ||
            !store_text_ok(allocs[i].payment_id))
            return store_failf(st, CPQD_EINVAL, "allocation: item, amount, payment required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = id_seq(st, "m_", id, "feed:match", &seq);
    if (rc == 0)
        rc = match_row_insert(st, m, id, seq, now);
    if (rc == 0)
        rc = store_prepare(st, STMT_FIN_ALLOC_INSERT, &s);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *v[] = {id, allocs[i].receivable_id, allocs[i].amount, allocs[i].payment_id};
        store_bind_texts(st, s, 1, v, 4);
        rc = store_run(st, s, "allocation insert", NULL);
    }
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, id)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    m->id = a, m->created_at = b, m->seq = seq;
    return 0;
}

int store_match_get(store *st, const char *id, store_match *out, store_alloc **allocs,
                    size_t *n)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (allocs)
        *allocs = NULL, *n = 0;
    int rc = store_text_ok(id) ? store_prepare(st, STMT_FIN_MATCH_GET, &s)
                               : store_failf(st, CPQD_EINVAL, "match: an id is required");
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    if ((rc = store_row_one(st, s, match_read, out, "match", id)) != 0 || !allocs)
        return rc;
    if ((rc = store_prepare(st, STMT_FIN_ALLOCS_OF, &s)) == 0) {
        store_bind_text(st, s, 1, id);
        rc = store_rows_read(st, s, sizeof(store_alloc), alloc_read,
                             (store_row_fini_fn)store_alloc_fini, (void **)allocs, n);
    }
    if (rc)
        store_match_fini(out);
    return rc;
}

int store_matches_of(store *st, const char *credit_id, store_match **items, size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_MATCHES_OF, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, credit_id);
    return store_rows_read(st, s, sizeof(store_match), match_read,
                           (store_row_fini_fn)store_match_fini, (void **)items, n);
}

int store_match_reverse(store *st, const char *id, const char *by, const char *note)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(id) || !store_text_ok(by) || !store_opt_text_ok(note))
        return store_failf(st, CPQD_EINVAL, "match reverse: id and by required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    if ((rc = store_prepare(st, STMT_FIN_MATCH_REVERSE, &s)) == 0) {
        const char *v[] = {now, by, note, id};
        store_bind_texts(st, s, 1, v, 4);
        rc = store_run(st, s, "match reverse", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "match %.64s is reversed already", id);
    }
    return store_write_end(st, own, rc);
}

int store_payment_remove(store *st, const char *rid, const char *payment_id, const char *old_paid,
                         const char *new_paid)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(rid) || !store_text_ok(payment_id) || !store_decimal_ok(old_paid) ||
        !store_decimal_ok(new_paid))
        return store_failf(st, CPQD_EINVAL, "payment remove: ids and amounts required");
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    if ((rc = store_prepare(st, STMT_FIN_PAYMENT_DELETE, &s)) == 0) {
        const char *v[] = {payment_id, rid};
        store_bind_texts(st, s, 1, v, 2);
        rc = store_run(st, s, "payment delete", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "payment %.64s is gone", payment_id);
    }
    if (rc == 0 && (rc = store_prepare(st, STMT_RECV_SET_PAID, &s)) == 0) {
        const char *v[] = {new_paid, rid, old_paid};
        store_bind_texts(st, s, 1, v, 3);
        rc = store_run(st, s, "paid update", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "receivable %.64s was paid meanwhile", rid);
    }
    return store_write_end(st, own, rc);
}

/* ---- write-offs ---- */

void store_write_off_fini(store_write_off *w)
{
    if (!w)
        return;
    char *const f[] = {w->id,         w->receivable_id, w->amount,    w->reason,
                       w->payment_id, w->created_by,    w->created_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(w, 0, sizeof(*w));
}

static int write_off_read(store_stmt *s, void *p)
{
    store_write_off *w = p;
    char **const cols[] = {&w->id,         &w->receivable_id, &w->amount,    &w->reason,
                           &w->payment_id, &w->created_by,    &w->created_at};
    int rc = store_cols_dup(s, cols, 7);
    if (rc)
        store_write_off_fini(w);
    return rc;
}

int store_write_off_insert(store *st, store_write_off *w)
{
    char id[STORE_FIN_ID_LEN], now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    const char *req[] = {w->receivable_id, w->amount, w->reason, w->payment_id, w->created_by};
    if (!all_text(req, 5) || !store_decimal_ok(w->amount))
        return store_failf(st, CPQD_EINVAL, "write-off: a required field is missing");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = id_seq(st, "wo_", id, NULL, NULL);
    if (rc == 0 && (rc = store_prepare(st, STMT_FIN_WRITE_OFF_INSERT, &s)) == 0) {
        const char *v[] = {id, w->receivable_id, w->amount, w->reason, w->payment_id,
                           w->created_by, now};
        store_bind_texts(st, s, 1, v, 7);
        rc = store_run(st, s, "write-off insert", &changed);
        if (rc == 0 && changed == 0)
            rc = store_failf(st, CPQD_ECONFLICT, "write-off id taken");
    }
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, id)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    w->id = a, w->created_at = b;
    return 0;
}

int store_write_off_get(store *st, const char *id, store_write_off *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    int rc = store_text_ok(id) ? store_prepare(st, STMT_FIN_WRITE_OFF_GET, &s)
                               : store_failf(st, CPQD_EINVAL, "write-off: an id is required");
    if (rc)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, write_off_read, out, "write-off", id);
}

/* ---- vouchers ---- */

void store_voucher_fini(store_voucher *v)
{
    if (!v)
        return;
    char *const f[] = {v->number,   v->kind,     v->date,  v->currency, v->source,
                       v->customer_id, v->contract, v->total, v->lines,    v->created_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(v, 0, sizeof(*v));
}

static int voucher_read(store_stmt *s, void *p)
{
    store_voucher *v = p;
    char **const cols[] = {NULL,         &v->number,   &v->kind,  &v->date,
                           &v->currency, &v->source,   &v->customer_id, &v->contract,
                           &v->total,    &v->lines,    &v->created_at};
    v->seq = store_col_int64(s, 0);
    int rc = store_cols_dup(s, cols, 11);
    if (rc)
        store_voucher_fini(v);
    return rc;
}

int store_voucher_add(store *st, store_voucher *v)
{
    char now[STORE_TS_LEN], number[32];
    int64_t seq = 0;
    store_stmt *s;
    bool own;
    const char *req[] = {v->kind, v->date, v->currency, v->source, v->total, v->lines};
    if (!all_text(req, 6) || !store_date_ok(v->date) || !store_decimal_ok(v->total) ||
        !store_opt_text_ok(v->customer_id) || !store_opt_text_ok(v->contract))
        return store_failf(st, CPQD_EINVAL, "voucher: a required field is missing");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    rc = store_fin_next(st, "feed:voucher", &seq);
    snprintf(number, sizeof(number), "V-%06lld", (long long)seq);
    if (rc == 0 && (rc = store_prepare(st, STMT_FIN_VOUCHER_INSERT, &s)) == 0) {
        store_bind_int64(st, s, 1, seq);
        const char *a[] = {number,         v->kind,     v->date,  v->currency, v->source,
                           v->customer_id, v->contract, v->total, v->lines,    now};
        store_bind_texts(st, s, 2, a, 10);
        rc = store_run(st, s, "voucher insert", NULL);
    }
    char *a = NULL, *b = NULL;
    if (rc == 0 && (rc = assign(st, &a, number)) == 0)
        rc = assign(st, &b, now);
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    v->seq = seq, v->number = a, v->created_at = b;
    return 0;
}

int store_vouchers_list(store *st, int64_t after, size_t limit, store_voucher **items, size_t *n)
{
    store_stmt *s;
    if (after < 0 || limit < 1 || limit > STORE_PER_PAGE_MAX)
        return store_failf(st, CPQD_EINVAL, "vouchers: cursor or limit out of range");
    int rc = store_prepare(st, STMT_FIN_VOUCHERS_LIST, &s);
    if (rc)
        return rc;
    store_bind_int64(st, s, 1, after);
    store_bind_int64(st, s, 2, (int64_t)limit);
    return store_rows_read(st, s, sizeof(store_voucher), voucher_read,
                           (store_row_fini_fn)store_voucher_fini, (void **)items, n);
}

/* ---- revenue posted ---- */

void store_revenue_pos_fini(store_revenue_pos *p)
{
    if (!p)
        return;
    free(p->contract_id), free(p->category), free(p->posted), free(p->upto);
    memset(p, 0, sizeof(*p));
}

static int revenue_read(store_stmt *s, void *p)
{
    store_revenue_pos *x = p;
    char **const cols[] = {&x->contract_id, &x->category, &x->posted, &x->upto};
    int rc = store_cols_dup(s, cols, 4);
    if (rc)
        store_revenue_pos_fini(x);
    return rc;
}

int store_revenue_positions(store *st, const char *contract_id, store_revenue_pos **items,
                            size_t *n)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_FIN_REVENUE_OF, &s);
    if (rc)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    return store_rows_read(st, s, sizeof(store_revenue_pos), revenue_read,
                           (store_row_fini_fn)store_revenue_pos_fini, (void **)items, n);
}

int store_revenue_post(store *st, const char *contract_id, const char *category, const char *old,
                       const char *posted, const char *upto)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(contract_id) || !store_text_ok(category) || !store_decimal_ok(posted) ||
        !store_date_ok(upto) || !upto || (old && !store_decimal_ok(old)))
        return store_failf(st, CPQD_EINVAL, "revenue: contract, category, amounts required");
    int rc = store_write_begin(st, &own);
    if (rc)
        return rc;
    if (!old && (rc = store_prepare(st, STMT_FIN_REVENUE_INSERT, &s)) == 0) {
        const char *v[] = {contract_id, category, posted, upto};
        store_bind_texts(st, s, 1, v, 4);
        rc = store_run(st, s, "revenue insert", &changed);
    } else if (old && (rc = store_prepare(st, STMT_FIN_REVENUE_UPDATE, &s)) == 0) {
        const char *v[] = {posted, upto, contract_id, category, old};
        store_bind_texts(st, s, 1, v, 5);
        rc = store_run(st, s, "revenue update", &changed);
    }
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "revenue of %.64s changed meanwhile", contract_id);
    return store_write_end(st, own, rc);
}

int store_fin_contract_ids(store *st, char ***ids, size_t *n)
{
    store_stmt *s;
    char **v = NULL;
    size_t k = 0, cap = 0;
    int r = STORE_DONE, rc = store_prepare(st, STMT_FIN_CONTRACT_IDS, &s);
    *ids = NULL;
    *n = 0;
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                rc = store_failf(st, CPQD_ENOMEM, "out of memory");
                break;
            }
            v = nv, cap = nc;
        }
        if ((rc = store_col_dup(s, 0, &v[k])) == 0)
            k++;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "contract ids");
    store_stmt_done(s);
    if (rc) {
        store_strs_free(v, k);
        free(v);
        return rc;
    }
    *ids = v;
    *n = k;
    return 0;
}
