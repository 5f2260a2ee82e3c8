/*
 * Unit tests of the store's contracts, receivables, payments and warnings
 * (src/store_contract.c): numbering gap-free per year, one contract per
 * quote, items round-trip, payments idempotent per client id and checked
 * against the paid amount they replace, warnings once per item and state,
 * the due list scoped by partner, dates updated by item key, and a failed
 * write that leaves nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/store.h"
#include "testutil.h"

#include "store_fixture.h"

typedef tu_store_fx fx;

#define setup tu_store_fx_setup
#define teardown tu_store_fx_teardown

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* A stored quote (the contract's foreign key); returns its malloc'ed id. */
static char *quote_new(store *st, const char *partner)
{
    store_quote q = {.status = "approved",
                     .customer_id = "C-1",
                     .partner_id = (char *)partner,
                     .currency = "CNY",
                     .total = "100.00",
                     .catalog_version = "v1",
                     .request = "{}",
                     .priced = "{}",
                     .created_by = "k_1"};
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    free(q.number), free(q.created_at), free(q.updated_at);
    return q.id;
}

static store_contract contract_of(const char *quote, const char *partner)
{
    return (store_contract){.quote_id = (char *)quote,
                            .quote_version = 1,
                            .customer_id = "C-1",
                            .partner_id = (char *)partner,
                            .currency = "CNY",
                            .total = "100.00",
                            .signed_on = "2026-12-02",
                            .start_on = "2026-12-02",
                            .catalog_version = "v1",
                            .request = "{\"signed_on\":\"2026-12-02\"}",
                            .created_by = "k_1"};
}

/* Two items of line "1": 33.34 due Dec 2, 66.66 pending delivery. */
static void items_of(store_receivable it[2])
{
    it[0] = (store_receivable){.line_id = "1",
                               .kind = "installment",
                               .amount = "33.34",
                               .amount_known = true,
                               .description = "first",
                               .paid = "0.00",
                               .due_on = "2026-12-02",
                               .bill_on = "2026-12-02"};
    it[1] = (store_receivable){.line_id = "1",
                               .kind = "installment",
                               .part = 1,
                               .amount = "66.66",
                               .amount_known = true,
                               .description = "second",
                               .paid = "0.00",
                               .waits_for = "delivery",
                               .expected_on = "2026-12-05"};
}

static void outputs_free(store_contract *c, store_receivable *it, size_t n)
{
    free(c->id), free(c->number), free(c->created_at);
    for (size_t i = 0; i < n; i++)
        free(it[i].id), free(it[i].contract_id);
}

static void test_contract_insert_numbers_and_reads(void **state)
{
    fx *f = *state;
    char *q1 = quote_new(f->st, NULL), *q2 = quote_new(f->st, "P-1");
    store_contract c = contract_of(q1, NULL);
    store_receivable it[2];
    items_of(it);
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), 0);
    assert_string_equal(c.number, "C-2026-000001");
    assert_memory_equal(c.id, "c_", 2);
    assert_int_equal(strlen(c.id), 18);
    assert_memory_equal(it[0].id, "r_", 2);
    assert_string_equal(it[1].contract_id, c.id);
    /* one contract per quote: refused, and the number is given back */
    store_contract dup = contract_of(q1, NULL);
    assert_int_equal(store_contract_insert(f->st, &dup, 2026, NULL, 0), CPQD_ECONFLICT);
    assert_null(dup.id);
    store_contract c2 = contract_of(q2, "P-1");
    assert_int_equal(store_contract_insert(f->st, &c2, 2026, NULL, 0), 0);
    assert_string_equal(c2.number, "C-2026-000002");
    store_contract c3 = contract_of(quote_new(f->st, NULL), NULL);
    assert_int_equal(store_contract_insert(f->st, &c3, 2027, NULL, 0), 0);
    assert_string_equal(c3.number, "C-2027-000001");
    free(c3.quote_id);

    store_contract g;
    assert_int_equal(store_contract_get(f->st, c.id, &g), 0);
    assert_string_equal(g.quote_id, q1);
    assert_string_equal(g.total, "100.00");
    assert_string_equal(g.signed_on, "2026-12-02");
    assert_null(g.partner_id);
    assert_int_equal(g.quote_version, 1);
    store_contract_fini(&g);
    assert_int_equal(store_contract_by_quote(f->st, q2, &g), 0);
    assert_string_equal(g.partner_id, "P-1");
    store_contract_fini(&g);
    assert_int_equal(store_contract_get(f->st, "c_nope", &g), CPQD_ENOTFOUND);

    store_receivable *rows;
    size_t n;
    assert_int_equal(store_receivables_of(f->st, c.id, &rows, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const store_receivable *r = &rows[i];
        int k = !strcmp(r->id, it[0].id) ? 0 : 1;
        assert_string_equal(r->amount, it[k].amount);
        assert_string_equal(r->paid, "0.00");
        assert_string_equal(r->currency, "CNY");
        assert_string_equal(r->contract_number, "C-2026-000001");
        assert_int_equal(r->part, k);
        if (k == 1) {
            assert_null(r->due_on);
            assert_string_equal(r->waits_for, "delivery");
            assert_string_equal(r->expected_on, "2026-12-05");
        }
        store_receivable_fini(&rows[i]);
    }
    free(rows);
    store_receivable_fini(NULL);
    store_contract_fini(NULL);
    store_payment_fini(NULL);
    outputs_free(&c, it, 2);
    free(c2.id), free(c2.number), free(c2.created_at);
    free(c3.id), free(c3.number), free(c3.created_at);
    free(q1), free(q2);
}

static void test_contract_bad_input_and_failure_write_nothing(void **state)
{
    fx *f = *state;
    char *q = quote_new(f->st, NULL);
    store_contract c = contract_of(q, NULL);
    c.total = "1,00";
    assert_int_equal(store_contract_insert(f->st, &c, 2026, NULL, 0), CPQD_EINVAL);
    c = contract_of(q, NULL);
    store_receivable it[2];
    items_of(it);
    it[1].due_on = "2026-02-30";
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), CPQD_EINVAL);
    /* an I/O failure on the second item: nothing stays, no number used */
    items_of(it);
    store_test_fail_step(f->st, 5);
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), CPQD_EIO);
    assert_null(c.id);
    store_test_fail_step(f->st, 0);
    store_contract g;
    assert_int_equal(store_contract_by_quote(f->st, q, &g), CPQD_ENOTFOUND);
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), 0);
    assert_string_equal(c.number, "C-2026-000001");
    outputs_free(&c, it, 2);
    free(q);
}

static void test_payments_idempotent_and_checked(void **state)
{
    fx *f = *state;
    char *q = quote_new(f->st, NULL);
    store_contract c = contract_of(q, NULL);
    store_receivable it[2];
    items_of(it);
    assert_int_equal(store_contract_insert(f->st, &c, 2026, it, 2), 0);
    store_payment p = {.receivable_id = it[0].id,
                       .client_id = "pay-1",
                       .amount = "10.00",
                       .paid_on = "2026-12-03"};
    assert_int_equal(store_payment_add(f->st, &p, "0.00", "10.00"), 0);
    assert_memory_equal(p.id, "p_", 2);
    free(p.id), free(p.created_at);
    p.id = p.created_at = NULL;
    /* the same client id again: refused, nothing changes */
    assert_int_equal(store_payment_add(f->st, &p, "10.00", "20.00"), CPQD_ECONFLICT);
    /* a stale paid amount (someone paid meanwhile): refused, no row */
    store_payment p2 = {
        .receivable_id = it[0].id, .client_id = "pay-2", .amount = "5.00", .paid_on = "2026-12-04"};
    assert_int_equal(store_payment_add(f->st, &p2, "0.00", "5.00"), CPQD_ECONFLICT);
    store_payment got;
    assert_int_equal(store_payment_get(f->st, it[0].id, "pay-2", &got), CPQD_ENOTFOUND);
    assert_int_equal(store_payment_add(f->st, &p2, "10.00", "15.00"), 0);
    free(p2.id), free(p2.created_at);
    store_receivable r;
    assert_int_equal(store_receivable_get(f->st, it[0].id, &r), 0);
    assert_string_equal(r.paid, "15.00");
    store_receivable_fini(&r);
    store_payment *ps;
    size_t n;
    assert_int_equal(store_payments_of(f->st, it[0].id, &ps, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ps[0].client_id, "pay-1");
    assert_string_equal(ps[1].amount, "5.00");
    for (size_t i = 0; i < n; i++)
        store_payment_fini(&ps[i]);
    free(ps);
    p2.amount = "-1";
    assert_int_equal(store_payment_add(f->st, &p2, "15.00", "14.00"), CPQD_EINVAL);
    outputs_free(&c, it, 2);
    free(q);
}

static void test_warnings_once_due_list_and_dates(void **state)
{
    fx *f = *state;
    char *qa = quote_new(f->st, "P-1"), *qb = quote_new(f->st, "P-2");
    store_contract a = contract_of(qa, "P-1"), b = contract_of(qb, "P-2");
    store_receivable ia[2], ib[2];
    items_of(ia);
    items_of(ib);
    assert_int_equal(store_contract_insert(f->st, &a, 2026, ia, 2), 0);
    assert_int_equal(store_contract_insert(f->st, &b, 2026, ib, 2), 0);
    bool first;
    assert_int_equal(store_receivable_warn(f->st, ia[0].id, "overdue", &first), 0);
    assert_true(first);
    assert_int_equal(store_receivable_warn(f->st, ia[0].id, "overdue", &first), 0);
    assert_false(first);
    assert_int_equal(store_receivable_warn(f->st, ia[0].id, "due_soon", &first), 0);
    assert_true(first);
    /* known due dates only, up to the date, scoped by partner */
    store_receivable *rows;
    size_t n;
    assert_int_equal(store_receivables_due_until(f->st, "2026-12-31", NULL, &rows, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        store_receivable_fini(&rows[i]);
    free(rows);
    assert_int_equal(store_receivables_due_until(f->st, "2026-12-31", "P-2", &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, ib[0].id);
    assert_string_equal(rows[0].partner_id, "P-2");
    store_receivable_fini(&rows[0]);
    free(rows);
    assert_int_equal(store_receivables_due_until(f->st, "2026-12-01", NULL, &rows, &n), 0);
    assert_int_equal(n, 0);
    /* delivery known: the pending item gets its dates, by key */
    store_receivable k = {.contract_id = a.id,
                          .line_no = 0,
                          .kind = "installment",
                          .part = 1,
                          .due_on = "2026-12-20",
                          .bill_on = "2026-12-20",
                          .description = "second, delivered"};
    assert_int_equal(store_receivable_set_dates(f->st, &k), 0);
    store_receivable r;
    assert_int_equal(store_receivable_get(f->st, ia[1].id, &r), 0);
    assert_string_equal(r.due_on, "2026-12-20");
    assert_null(r.waits_for);
    assert_null(r.expected_on);
    assert_string_equal(r.amount, "66.66");
    store_receivable_fini(&r);
    k.part = 7;
    assert_int_equal(store_receivable_set_dates(f->st, &k), CPQD_ENOTFOUND);
    outputs_free(&a, ia, 2);
    outputs_free(&b, ib, 2);
    free(qa), free(qb);
}

/* Event dates: one per (line, event, ref); a second add writes nothing
 * and says so. */
static void test_line_events_once_per_event(void **state)
{
    fx *f = *state;
    store_contract c = contract_of(quote_new(f->st, NULL), NULL);
    assert_int_equal(store_contract_insert(f->st, &c, 2026, NULL, 0), 0);
    store_line_event e = {.contract_id = c.id, .line_no = 0, .event = "delivered", .ref = "",
                          .happened_on = "2026-12-09", .recorded_by = "k_1"};
    bool first = false;
    assert_int_equal(store_line_event_add(f->st, &e, &first), 0);
    assert_true(first);
    assert_non_null(e.recorded_at);
    free(e.recorded_at), e.recorded_at = NULL;
    e.happened_on = "2026-12-10";
    assert_int_equal(store_line_event_add(f->st, &e, &first), 0);
    assert_false(first);
    assert_null(e.recorded_at);
    store_line_event m = {.contract_id = c.id, .line_no = 1, .event = "milestone",
                          .ref = "blueprint", .happened_on = "2027-02-01", .recorded_by = "k_1"};
    assert_int_equal(store_line_event_add(f->st, &m, &first), 0);
    assert_true(first);
    free(m.recorded_at);
    m.event = "shipped", m.recorded_at = NULL; /* not an event the schema knows */
    assert_int_not_equal(store_line_event_add(f->st, &m, &first), 0);
    m.event = "milestone", m.happened_on = "2027-02-30";
    assert_int_equal(store_line_event_add(f->st, &m, &first), CPQD_EINVAL);
    store_line_event *v;
    size_t n;
    assert_int_equal(store_line_events_of(f->st, c.id, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].event, "delivered");
    assert_string_equal(v[0].happened_on, "2026-12-09"); /* the first date stays */
    assert_string_equal(v[1].ref, "blueprint");
    for (size_t i = 0; i < n; i++)
        store_line_event_fini(&v[i]);
    free(v);
    free(c.quote_id);
    outputs_free(&c, NULL, 0);
}

/* Usage records: idempotent ids per contract, listed per period; an
 * open usage item's amount is set once; items added later get ids; the
 * total moves only from the value it replaces. */
static void test_usage_amount_once_and_items_added(void **state)
{
    fx *f = *state;
    store_contract c = contract_of(quote_new(f->st, NULL), NULL);
    c.total = "0.00";
    store_receivable it = {.line_id = "1", .kind = "usage", .amount = "0.00",
                           .description = "usage", .paid = "0.00", .due_on = "2027-02-15",
                           .bill_on = "2027-01-31", .period_from = "2027-01-01",
                           .period_to = "2027-02-01"};
    assert_int_equal(store_contract_insert(f->st, &c, 2026, &it, 1), 0);
    store_usage u = {.contract_id = c.id, .client_id = "u1", .seq = 0, .quantity = "60000",
                     .recorded_on = "2027-01-31", .recorded_by = "k_1"};
    assert_int_equal(store_usage_add(f->st, &u), 0);
    assert_non_null(u.created_at);
    free(u.created_at), u.created_at = NULL;
    assert_int_equal(store_usage_add(f->st, &u), CPQD_ECONFLICT);
    u.client_id = "u2", u.quantity = "-1";
    assert_int_equal(store_usage_add(f->st, &u), CPQD_EINVAL);
    u.quantity = "40000.5";
    assert_int_equal(store_usage_add(f->st, &u), 0);
    free(u.created_at);
    u.client_id = "u3", u.seq = 1, u.created_at = NULL;
    assert_int_equal(store_usage_add(f->st, &u), 0);
    free(u.created_at);
    store_usage *v;
    size_t n;
    assert_int_equal(store_usage_of_period(f->st, c.id, 0, 0, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].quantity, "40000.5");
    for (size_t i = 0; i < n; i++)
        store_usage_fini(&v[i]);
    free(v);
    store_usage g;
    assert_int_equal(store_usage_get(f->st, c.id, "u1", &g), 0);
    assert_string_equal(g.quantity, "60000");
    store_usage_fini(&g);
    assert_int_equal(store_usage_get(f->st, c.id, "nope", &g), CPQD_ENOTFOUND);
    /* open usage before the close, none after */
    store_receivable *open;
    assert_int_equal(store_receivables_open_usage(f->st, "2027-01-31", &open, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_receivables_open_usage(f->st, "2027-02-01", &open, &n), 0);
    assert_int_equal(n, 1);
    store_receivable_fini(&open[0]);
    free(open);
    store_receivable set = it;
    set.contract_id = c.id, set.amount = "12461.36", set.description = "closed";
    assert_int_equal(store_receivable_set_amount(f->st, &set), 0);
    set.amount = "1.00";
    assert_int_equal(store_receivable_set_amount(f->st, &set), CPQD_ECONFLICT);
    assert_int_equal(store_receivables_open_usage(f->st, "2027-02-01", &open, &n), 0);
    assert_int_equal(n, 0);
    store_receivable r;
    assert_int_equal(store_receivable_get(f->st, it.id, &r), 0);
    assert_string_equal(r.amount, "12461.36");
    assert_true(r.amount_known);
    store_receivable_fini(&r);
    /* the next period's item */
    store_receivable nx = {.line_id = "1", .kind = "usage", .seq = 1, .amount = "0.00",
                           .description = "usage", .paid = "0.00"};
    assert_int_equal(store_receivables_add(f->st, c.id, &nx, 1), 0);
    assert_memory_equal(nx.id, "r_", 2);
    assert_string_equal(nx.contract_id, c.id);
    assert_int_equal(store_receivables_add(f->st, c.id, &nx, 1), CPQD_ECONFLICT); /* same key */
    /* totals: compare-and-set */
    assert_int_equal(store_contract_set_total(f->st, c.id, "1.00", "12461.36"), CPQD_ECONFLICT);
    assert_int_equal(store_contract_set_total(f->st, c.id, "0.00", "12461.36"), 0);
    store_contract k;
    assert_int_equal(store_contract_get(f->st, c.id, &k), 0);
    assert_string_equal(k.total, "12461.36");
    store_contract_fini(&k);
    free(nx.id), free(nx.contract_id);
    free(c.quote_id);
    outputs_free(&c, &it, 1);
}

/* A scope inside a transaction keeps what it wrote when it succeeds and
 * undoes all of it when it fails, the transaction staying usable: the
 * sweep's items one by one. Outside a transaction it is refused. */
static void test_scope_undoes_one_item_alone(void **state)
{
    fx *f = *state;
    assert_int_equal(store_scope_begin(f->st), CPQD_EINVAL);
    char *q1 = quote_new(f->st, NULL), *q2 = quote_new(f->st, NULL);
    store_contract c1 = contract_of(q1, NULL), c2 = contract_of(q2, NULL);
    store_receivable i1[2], i2[2];
    items_of(i1);
    items_of(i2);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_scope_begin(f->st), 0);
    assert_int_equal(store_contract_insert(f->st, &c1, 2026, i1, 2), 0);
    assert_int_equal(store_scope_end(f->st, CPQD_ELIMIT), CPQD_ELIMIT); /* undone */
    assert_int_equal(store_scope_begin(f->st), 0);
    assert_int_equal(store_contract_insert(f->st, &c2, 2026, i2, 2), 0);
    assert_int_equal(store_scope_end(f->st, 0), 0); /* kept */
    assert_int_equal(store_commit(f->st), 0);
    store_contract k;
    assert_int_equal(store_contract_get(f->st, c1.id, &k), CPQD_ENOTFOUND);
    assert_int_equal(store_contract_get(f->st, c2.id, &k), 0);
    /* the undone insert gave its number back: gap-free per year */
    assert_string_equal(k.number, "C-2026-000001");
    store_contract_fini(&k);
    outputs_free(&c1, i1, 2);
    outputs_free(&c2, i2, 2);
    free(q1), free(q2);
}

/* A failing item is one row: a new failure (or one resolved before)
 * starts a run (first, failures 1), the next failures count on with the
 * last message; resolving it keeps the row with resolved_at, and the
 * listing filters failing and resolved items, newest failure first. */
static void test_sweep_failures_counted_and_resolved(void **state)
{
    fx *f = *state;
    store_sweep_failure in = {.item = "period_close:c_1:0:0",
                              .kind = "period_close",
                              .contract_id = "c_1",
                              .ref = "line oss period 2027-01-01",
                              .code = "limit_exceeded",
                              .message = "first"};
    bool first = false;
    assert_int_equal(store_sweep_failure_add(f->st, &in, &first), 0);
    assert_true(first);
    in.message = "second";
    assert_int_equal(store_sweep_failure_add(f->st, &in, &first), 0);
    assert_false(first);
    store_sweep_failure w = {.item = "warning:r_1:overdue",
                             .kind = "warning",
                             .contract_id = "c_2",
                             .ref = "r_1",
                             .code = "internal",
                             .message = "unreadable"};
    assert_int_equal(store_sweep_failure_add(f->st, &w, &first), 0);
    assert_true(first);
    store_sweep_failure bad = w;
    bad.kind = "sweeping";
    assert_int_equal(store_sweep_failure_add(f->st, &bad, NULL), CPQD_EINVAL);
    store_sweep_failure *v = NULL;
    size_t n = 0;
    assert_int_equal(store_sweep_failures_list(f->st, "failing", 0, &v, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i].item, in.item)) {
            assert_int_equal(v[i].failures, 2);
            assert_string_equal(v[i].message, "second");
            assert_string_equal(v[i].contract_id, "c_1");
            assert_null(v[i].resolved_at);
        }
        store_sweep_failure_fini(&v[i]);
    }
    free(v);
    assert_int_equal(store_sweep_failure_resolve(f->st, in.item), 0);
    assert_int_equal(store_sweep_failures_list(f->st, "resolved", 10, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].item, in.item);
    assert_non_null(v[0].resolved_at);
    store_sweep_failure_fini(&v[0]);
    free(v);
    assert_int_equal(store_sweep_failures_list(f->st, "failing", 10, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].item, w.item);
    store_sweep_failure_fini(&v[0]);
    free(v);
    /* failing again after a resolution: a new run */
    assert_int_equal(store_sweep_failure_add(f->st, &in, &first), 0);
    assert_true(first);
    assert_int_equal(store_sweep_failures_list(f->st, NULL, 10, &v, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i].item, in.item)) {
            assert_int_equal(v[i].failures, 1);
            assert_null(v[i].resolved_at);
        }
        store_sweep_failure_fini(&v[i]);
    }
    free(v);
    assert_int_equal(store_sweep_failures_list(f->st, "bogus", 10, &v, &n), CPQD_EINVAL);
    assert_int_equal(store_sweep_failures_list(f->st, NULL, 501, &v, &n), CPQD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_contract_insert_numbers_and_reads),
        T(test_contract_bad_input_and_failure_write_nothing),
        T(test_payments_idempotent_and_checked),
        T(test_warnings_once_due_list_and_dates),
        T(test_line_events_once_per_event),
        T(test_usage_amount_once_and_items_added),
        T(test_scope_undoes_one_item_alone),
        T(test_sweep_failures_counted_and_resolved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
