/*
 * Unit tests of the finance loop's records (src/store_fin.c, migration
 * 9), on SQLite and, in make test's PostgreSQL half, on PostgreSQL:
 * counters gap-free per name and given back by a rollback; an item on
 * one open document at a time, freed by a cancellation; a bank
 * transaction imported once; guarded updates (a credit's applied amount,
 * a payment removed, revenue posted) that lose cleanly when the value
 * moved; matches reversed once; the voucher feed in order with its
 * cursor; customers; a failed write that leaves nothing; flat writes
 * (counters in memory, written back; undone whole); a version-8
 * database migrated with its sweep failures kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/store.h"
#include "cpqd/store_fin.h"
#include "testutil.h"

#include "store_fixture.h"
#include "store_int.h" /* store_migrations: building a version-8 database */

typedef struct fx {
    char *dir, *db;
    store *st;
    char *contract, *r1, *r2; /* a contract with two items of 100.00 and 50.00 */
} fx;

static void contract_make(fx *f)
{
    store_quote q = {.status = "approved",
                     .customer_id = "C-1",
                     .currency = "CNY",
                     .total = "150.00",
                     .catalog_version = "v1",
                     .request = "{}",
                     .priced = "{}",
                     .created_by = "k_1"};
    assert_int_equal(store_quote_insert(f->st, &q, 2026), 0);
    store_contract c = {.quote_id = q.id,
                        .quote_version = 1,
                        .customer_id = "C-1",
                        .currency = "CNY",
                        .total = "150.00",
                        .signed_on = "2026-12-02",
                        .start_on = "2026-12-02",
                        .catalog_version = "v1",
                        .request = "{}",
                        .created_by = "k_1"};
    store_receivable it[2] = {{.line_id = "1",
                               .kind = "installment",
                               .amount = "100.00",
                               .amount_known = true,
                               .description = "first",
                               .paid = "0.00",
                               .due_on = "2026-12-02"},
                              {.line_id = "1",
                               .kind = "installment",
                               .part = 1,
                               .amount = "50.00",
                               .amount_known = true,
                               .description = "second",
                               .paid = "0.00",
                               .due_on = "2027-01-02"}};
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), 0);
    f->contract = c.id, f->r1 = it[0].id, f->r2 = it[1].id;
    free(c.number), free(c.created_at), free(it[0].contract_id), free(it[1].contract_id);
    free(q.id), free(q.number), free(q.created_at), free(q.updated_at);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = tu_tmpdir();
    f->db = tu_db_location(f->dir, "fin");
    if (store_open(f->db, false, &f->st, NULL) != 0)
        return -1;
    contract_make(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->contract), free(f->r1), free(f->r2);
    free(f->dir);
    free(f);
    return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static int64_t count(fx *f, const char *sql)
{
    int64_t v = -1;
    assert_int_equal(store_debug_int(f->st, sql, &v), 0);
    return v;
}

static store_invoice invoice_of(fx *f, const char *number, int64_t doc_seq)
{
    return (store_invoice){.number = (char *)number,
                           .issuer = "ACME",
                           .kind = "invoice",
                           .reason = "sale",
                           .year = 2026,
                           .doc_seq = doc_seq,
                           .contract_id = f->contract,
                           .customer_id = "C-1",
                           .currency = "CNY",
                           .issued_on = "2026-12-02",
                           .due_on = "2026-12-02",
                           .net = "88.50",
                           .tax = "11.50",
                           .total = "100.00",
                           .source = "api",
                           .document = "{}",
                           .created_by = "k_1"};
}

/* ---- tests ---- */

static void test_fin_counter_gap_free_and_given_back(void **state)
{
    fx *f = *state;
    int64_t a = 0, b = 0, c = 0;
    assert_int_equal(store_fin_next(f->st, "invoice:ACME:2026", &a), 0);
    assert_int_equal(store_fin_next(f->st, "invoice:ACME:2027", &b), 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    /* a number taken in a transaction that is rolled back comes back */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_fin_next(f->st, "invoice:ACME:2026", &c), 0);
    assert_int_equal(c, 2);
    store_rollback(f->st);
    assert_int_equal(store_fin_next(f->st, "invoice:ACME:2026", &c), 0);
    assert_int_equal(c, 2);
    assert_int_equal(store_fin_next(f->st, "", &c), CPQD_EINVAL);
}

static void test_fin_item_on_one_open_document(void **state)
{
    fx *f = *state;
    store_invoice v = invoice_of(f, "INV-2026-000001", 1);
    store_invoice_item it = {.receivable_id = f->r1, .amount = "100.00"};
    assert_int_equal(store_invoice_insert(f->st, &v, &it, 1), 0);
    assert_memory_equal(v.id, "inv_", 4);
    assert_int_equal(v.seq, 1);
    char *first = v.id;
    free(v.created_at);
    /* the same item again: refused, and the second invoice is not there */
    store_invoice w = invoice_of(f, "INV-2026-000002", 2);
    assert_int_equal(store_invoice_insert(f->st, &w, &it, 1), CPQD_ECONFLICT);
    assert_int_equal(count(f, "SELECT count(*) FROM invoices"), 1);
    /* the open items show it on its invoice */
    store_fin_item *items = NULL;
    size_t n = 0;
    assert_int_equal(store_fin_open_items(f->st, "C-1", &items, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].id, f->r1);
    assert_string_equal(items[0].invoice_number, "INV-2026-000001");
    assert_null(items[1].invoice_number);
    for (size_t i = 0; i < n; i++)
        store_fin_item_fini(&items[i]);
    free(items);
    assert_int_equal(store_fin_open_items(f->st, "C-2", &items, &n), 0);
    assert_int_equal(n, 0);
    /* cancelled by a credit note, the item is free again */
    const char *ids[] = {f->r1};
    assert_int_equal(store_invoice_items_cancel(f->st, first, ids, 1, "inv_cn"), 0);
    assert_int_equal(store_invoice_items_cancel(f->st, first, ids, 1, "inv_cn"), CPQD_ECONFLICT);
    store_invoice_item *open = NULL;
    assert_int_equal(store_invoice_items_open(f->st, f->contract, &open, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_invoice_insert(f->st, &w, &it, 1), 0);
    assert_int_equal(store_invoice_items_open(f->st, f->contract, &open, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(open[0].invoice_id, w.id);
    store_invoice_item_fini(&open[0]);
    free(open);
    /* the contract's documents, by cursor */
    store_invoice *docs = NULL;
    assert_int_equal(store_invoices_of(f->st, f->contract, 0, 1, &docs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(docs[0].number, "INV-2026-000001");
    int64_t next = docs[0].seq;
    store_invoice_fini(&docs[0]);
    free(docs);
    assert_int_equal(store_invoices_of(f->st, f->contract, next, 10, &docs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(docs[0].number, "INV-2026-000002");
    store_invoice_fini(&docs[0]);
    free(docs);
    store_invoice got;
    assert_int_equal(store_invoice_get(f->st, first, &got), 0);
    assert_string_equal(got.total, "100.00");
    assert_int_equal(got.year, 2026);
    assert_int_equal(got.doc_seq, 1);
    store_invoice_fini(&got);
    assert_int_equal(store_invoice_get(f->st, "inv_none", &got), CPQD_ENOTFOUND);
    free(first), free(w.id), free(w.created_at);
}

static store_credit credit_of(const char *statement, const char *tx)
{
    return (store_credit){.statement_id = (char *)statement,
                          .tx_id = (char *)tx,
                          .amount = "100.00",
                          .currency = "CNY",
                          .value_date = "2026-12-03",
                          .remittance = "INV-2026-000001",
                          .debtor_name = "ACME",
                          .debtor_account = "",
                          .end_to_end_id = "",
                          .applied = "0.00",
                          .status = "unmatched",
                          .rule = "none",
                          .reason = "no reference",
                          .suggestions = "[]"};
}

static void test_fin_credit_once_and_guarded(void **state)
{
    fx *f = *state;
    store_statement s = {.issuer = "ACME", .format = "csv", .ref = "", .account = "", .credits = 2,
                         .imported_by = "k_1"};
    assert_int_equal(store_statement_insert(f->st, &s), 0);
    store_credit a = credit_of(s.id, "TX-1"), b = credit_of(s.id, "TX-2"),
                 again = credit_of(s.id, "TX-1");
    assert_int_equal(store_credit_insert(f->st, &a), 0);
    assert_int_equal(store_credit_insert(f->st, &b), 0);
    assert_int_equal(store_credit_insert(f->st, &again), CPQD_ECONFLICT);
    assert_int_equal(count(f, "SELECT count(*) FROM bank_credits"), 2);
    const char *tx[] = {"TX-2", "TX-9", "TX-1"};
    bool seen[3];
    assert_int_equal(store_credits_seen(f->st, tx, 3, seen), 0);
    assert_true(seen[0]);
    assert_false(seen[1]);
    assert_true(seen[2]);
    /* applied moves only from what it was */
    assert_int_equal(store_credit_update(f->st, a.id, "0.00", "100.00", "matched", "reference",
                                         NULL, "C-1"),
                     0);
    assert_int_equal(store_credit_update(f->st, a.id, "0.00", "50.00", "matched", "manual", NULL,
                                         NULL),
                     CPQD_ECONFLICT);
    /* the queue: unmatched only, by cursor */
    store_credit *v = NULL;
    size_t n = 0;
    assert_int_equal(store_credits_list(f->st, "unmatched", NULL, 0, 10, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].tx_id, "TX-2");
    int64_t after = v[0].seq;
    store_credit_fini(&v[0]);
    free(v);
    assert_int_equal(store_credits_list(f->st, NULL, NULL, after, 10, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_credits_list(f->st, NULL, "C-1", 0, 0, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].applied, "100.00");
    assert_string_equal(v[0].rule, "reference");
    store_credit_fini(&v[0]);
    free(v);
    store_statement got;
    assert_int_equal(store_statement_get(f->st, s.id, &got), 0);
    assert_int_equal(got.credits, 2);
    assert_string_equal(got.ref, "");
    store_statement_fini(&got);
    free(a.id), free(a.created_at), free(b.id), free(b.created_at);
    free(s.id), free(s.imported_at);
}

static void test_fin_match_reversed_once_payment_guarded(void **state)
{
    fx *f = *state;
    store_statement s = {.issuer = "ACME", .format = "csv", .ref = "", .account = "", .imported_by = "k_1"};
    assert_int_equal(store_statement_insert(f->st, &s), 0);
    store_credit c = credit_of(s.id, "TX-1");
    assert_int_equal(store_credit_insert(f->st, &c), 0);
    store_payment p = {.receivable_id = f->r1, .client_id = "match:1", .amount = "60.00",
                       .paid_on = "2026-12-03"};
    assert_int_equal(store_payment_add(f->st, &p, "0.00", "60.00"), 0);
    store_match m = {.credit_id = c.id, .kind = "auto", .rule = "reference", .customer_id = "C-1",
                     .amount = "60.00", .overpaid = "40.00", .created_by = "k_1"};
    store_alloc al = {.receivable_id = f->r1, .amount = "60.00", .payment_id = p.id};
    assert_int_equal(store_match_insert(f->st, &m, &al, 1), 0);
    store_match got;
    store_alloc *allocs = NULL;
    size_t n = 0;
    assert_int_equal(store_match_get(f->st, m.id, &got, &allocs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(allocs[0].payment_id, p.id);
    assert_null(got.reversed_at);
    store_match_fini(&got);
    store_alloc_fini(&allocs[0]);
    free(allocs);
    /* the payment goes only from the paid amount it made */
    assert_int_equal(store_payment_remove(f->st, f->r1, p.id, "0.00", "0.00"), CPQD_ECONFLICT);
    assert_int_equal(count(f, "SELECT count(*) FROM payments"), 1);
    assert_int_equal(store_payment_remove(f->st, f->r1, p.id, "60.00", "0.00"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM payments"), 0);
    store_receivable r;
    assert_int_equal(store_receivable_get(f->st, f->r1, &r), 0);
    assert_string_equal(r.paid, "0.00");
    store_receivable_fini(&r);
    assert_int_equal(store_match_reverse(f->st, m.id, "k_2", "wrong customer"), 0);
    assert_int_equal(store_match_reverse(f->st, m.id, "k_2", NULL), CPQD_ECONFLICT);
    assert_int_equal(store_match_get(f->st, m.id, &got, NULL, NULL), 0);
    assert_string_equal(got.reversed_by, "k_2");
    assert_string_equal(got.reverse_note, "wrong customer");
    store_match_fini(&got);
    store_match *ms = NULL;
    assert_int_equal(store_matches_of(f->st, c.id, &ms, &n), 0);
    assert_int_equal(n, 1);
    store_match_fini(&ms[0]);
    free(ms);
    free(p.id), free(p.created_at), free(m.id), free(m.created_at);
    free(c.id), free(c.created_at), free(s.id), free(s.imported_at);
}

static void test_fin_vouchers_in_order_and_revenue(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 3; i++) {
        store_voucher v = {.kind = "payment", .date = "2026-12-03", .currency = "CNY",
                           .source = "TX-1", .total = "1.00", .lines = "[]"};
        assert_int_equal(store_voucher_add(f->st, &v), 0);
        assert_int_equal(v.seq, i + 1);
        char want[16];
        snprintf(want, sizeof(want), "V-%06d", i + 1);
        assert_string_equal(v.number, want);
        free(v.number), free(v.created_at);
    }
    store_voucher *v = NULL;
    size_t n = 0;
    assert_int_equal(store_vouchers_list(f->st, 1, 10, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].number, "V-000002");
    for (size_t i = 0; i < n; i++)
        store_voucher_fini(&v[i]);
    free(v);
    assert_int_equal(store_vouchers_list(f->st, 0, 0, &v, &n), CPQD_EINVAL);
    /* revenue posted moves from what it was */
    assert_int_equal(store_revenue_post(f->st, f->contract, "goods", NULL, "10.00", "2026-12-31"),
                     0);
    assert_int_equal(store_revenue_post(f->st, f->contract, "goods", NULL, "10.00", "2026-12-31"),
                     CPQD_ECONFLICT);
    assert_int_equal(
        store_revenue_post(f->st, f->contract, "goods", "9.00", "20.00", "2027-01-31"),
        CPQD_ECONFLICT);
    assert_int_equal(
        store_revenue_post(f->st, f->contract, "goods", "10.00", "20.00", "2027-01-31"), 0);
    store_revenue_pos *p = NULL;
    assert_int_equal(store_revenue_positions(f->st, f->contract, &p, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].posted, "20.00");
    assert_string_equal(p[0].upto, "2027-01-31");
    store_revenue_pos_fini(&p[0]);
    free(p);
}

static void test_fin_customers(void **state)
{
    fx *f = *state;
    store_customer c = {.id = "C-1", .name = "北京华信贸易有限公司", .accounts = "[\"CN12\"]",
                        .risk_flags = "[]", .updated_by = "k_1"};
    assert_int_equal(store_customer_put(f->st, &c), 0);
    free(c.updated_at);
    c.credit_limit = "1000.00", c.credit_currency = "CNY", c.risk_flags = "[\"late\"]";
    assert_int_equal(store_customer_put(f->st, &c), 0);
    free(c.updated_at);
    store_customer got;
    assert_int_equal(store_customer_get(f->st, "C-1", &got), 0);
    assert_string_equal(got.name, "北京华信贸易有限公司");
    assert_string_equal(got.credit_limit, "1000.00");
    assert_string_equal(got.risk_flags, "[\"late\"]");
    store_customer_fini(&got);
    assert_int_equal(store_customer_get(f->st, "C-2", &got), CPQD_ENOTFOUND);
    c.credit_limit = "lots";
    assert_int_equal(store_customer_put(f->st, &c), CPQD_EINVAL);
    store_customer *all = NULL;
    size_t n = 0;
    assert_int_equal(store_customers_all(f->st, &all, &n), 0);
    assert_int_equal(n, 1);
    store_customer_fini(&all[0]);
    free(all);
}

/* A disk failure in the middle of an invoice's write leaves nothing. */
static void test_fin_failed_write_leaves_nothing(void **state)
{
    fx *f = *state;
    store_invoice_item it[2] = {{.receivable_id = f->r1, .amount = "100.00"},
                                {.receivable_id = f->r2, .amount = "50.00"}};
    for (int step = 1; step <= 4; step++) {
        store_invoice v = invoice_of(f, "INV-2026-000001", 1);
        store_test_fail_step(f->st, step);
        assert_int_equal(store_invoice_insert(f->st, &v, it, 2), CPQD_EIO);
        store_test_fail_step(f->st, 0);
        assert_int_equal(count(f, "SELECT count(*) FROM invoices"), 0);
        assert_int_equal(count(f, "SELECT count(*) FROM invoice_items"), 0);
    }
    store_invoice v = invoice_of(f, "INV-2026-000001", 1);
    assert_int_equal(store_invoice_insert(f->st, &v, it, 2), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM invoice_items"), 2);
    assert_int_equal(count(f, "SELECT last_seq FROM fin_counters WHERE counter = 'feed:invoice'"),
                     1);
    free(v.id), free(v.created_at);
}

/* Flat writes (a statement's import): counters count in memory and are
 * written back at the end, so the numbers go on from there; undone, a
 * flat scope gives back its numbers and rows, whatever failed inside. */
static void test_fin_flat_writes_count_and_undo(void **state)
{
    fx *f = *state;
    int64_t n = 0;
    char id[STORE_OUTBOX_ID_LEN];
    store_outbox_new ev = {.type = "payment.matched",
                           .resource_kind = "match",
                           .resource_id = "m_1",
                           .order_key = "credit:1",
                           .payload = "{}"};
    assert_int_equal(store_flat_begin(f->st), CPQD_EINVAL); /* no transaction */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_flat_begin(f->st), 0);
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(store_fin_next(f->st, "feed:voucher", &n), 0);
        assert_int_equal(n, k);
        assert_int_equal(store_outbox_add(f->st, &ev, id, &n), 0);
        assert_int_equal(n, k);
    }
    assert_int_equal(store_flat_end(f->st, 0), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(count(f, "SELECT last_seq FROM fin_counters WHERE counter = 'feed:voucher'"),
                     3);
    assert_int_equal(count(f, "SELECT last_seq FROM outbox_counter"), 3);
    assert_int_equal(store_fin_next(f->st, "feed:voucher", &n), 0);
    assert_int_equal(n, 4);
    /* undone: a failing write inside (a bad payload) and everything before it */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_flat_begin(f->st), 0);
    assert_int_equal(store_fin_next(f->st, "feed:voucher", &n), 0);
    assert_int_equal(store_fin_next(f->st, "feed:voucher", &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(store_outbox_add(f->st, &ev, id, NULL), 0);
    ev.payload = "";
    assert_int_equal(store_flat_end(f->st, store_outbox_add(f->st, &ev, id, NULL)), CPQD_EINVAL);
    store_rollback(f->st);
    assert_int_equal(count(f, "SELECT count(*) FROM outbox"), 3);
    assert_int_equal(count(f, "SELECT last_seq FROM outbox_counter"), 3);
    assert_int_equal(store_fin_next(f->st, "feed:voucher", &n), 0);
    assert_int_equal(n, 5);
}

/* A database at version 8 with a sweep failure migrates on (finance: 10): the row
 * is kept and the finance kinds are accepted. */
static void test_fin_migration_keeps_sweep_failures(void **state)
{
    fx *f = *state;
    char *db = tu_db_location(f->dir, "v8");
    store *st = NULL;
    assert_int_equal(store_debug_open(db, &st, NULL), 0);
    assert_int_equal(store_debug_exec(st, store_sql_bootstrap, NULL), 0);
    for (int v = 0; v < 8; v++) {
        /* each migration holds several statements: run them one by one */
        char *sql = strdup(store_migrations[v]);
        for (char *save = NULL, *one = strtok_r(sql, ";", &save); one;
             one = strtok_r(NULL, ";", &save))
            if (*one)
                assert_int_equal(store_debug_exec(st, one, NULL), 0);
        free(sql);
        char *rec = tu_fmt("INSERT INTO schema_version VALUES (%d, '2026-01-01T00:00:00Z')", v + 1);
        assert_int_equal(store_debug_exec(st, rec, NULL), 0);
        free(rec);
    }
    assert_int_equal(store_debug_exec(st,
                                      "INSERT INTO sweep_failures VALUES ('warning:r_1:overdue',"
                                      " 'warning', 'c_1', 'r_1', 'io', 'disk', "
                                      "'2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', 2, NULL)",
                                      NULL),
                     0);
    store_close(st);
    int from = 0, to = 0;
    assert_int_equal(store_migrate(db, &from, &to, NULL), 0);
    assert_int_equal(from, 8);
    assert_int_equal(to, STORE_SCHEMA_VERSION);
    assert_int_equal(store_open(db, false, &st, NULL), 0);
    store_sweep_failure *v = NULL;
    size_t n = 0;
    assert_int_equal(store_sweep_failures_list(st, NULL, 0, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].failures, 2);
    store_sweep_failure_fini(&v[0]);
    free(v);
    bool first = false;
    store_sweep_failure x = {.item = "invoice:c_1:2026-12-01", .kind = "invoice",
                             .contract_id = "c_1", .ref = "INV", .code = "conflict",
                             .message = "m"};
    assert_int_equal(store_sweep_failure_add(st, &x, &first), 0);
    assert_true(first);
    store_close(st);
    tu_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fin_counter_gap_free_and_given_back),
        T(test_fin_item_on_one_open_document),
        T(test_fin_credit_once_and_guarded),
        T(test_fin_match_reversed_once_payment_guarded),
        T(test_fin_vouchers_in_order_and_revenue),
        T(test_fin_customers),
        T(test_fin_failed_write_leaves_nothing),
        T(test_fin_flat_writes_count_and_undo),
        T(test_fin_migration_keeps_sweep_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
