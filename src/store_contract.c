/*
 * store_contract: contracts, their receivable items, payments and the
 * warnings already emitted (see store.h "contracts").
 *
 * Owns: contract ids and numbers (C-YYYY-NNNNNN, gap-free per year: the
 * counter moves in the write scope of the insert), receivable ids, the
 * item rows keyed by (contract, line_no, kind, service, seq, part), the
 * paid amount of an item (changed only together with a payment row),
 * and the once-per-state record of warnings. Does not own: computing
 * schedules or statuses (sched), what may be paid (contract), events
 * (the caller writes them with store_outbox_add in the same transaction).
 *
 * Invariant: a contract and all its items land in one write scope or not
 * at all; an item's paid is the sum of its payment rows, because both
 * change in one write scope and the paid update checks the old value.
 */
#include "store_int.h"

#include "cpqd/date.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CONTRACT_NUMBER_LEN 32
#define ID_ATTEMPTS 4 /* fresh ids tried when one collides (store_ordered_id) */

/* ---- helpers ---- */

/* Ends the write begun with store_write_begin (committing when rc is 0);
 * once committed, *stamp (when given) becomes a copy of now. */
static int write_end_stamp(store *st, bool own, int rc, const char *now, char **stamp)
{
    char *at = rc == 0 && stamp ? store_strdup(now) : NULL;
    if (rc == 0 && stamp && !at)
        rc = store_failf(st, CPQD_ENOMEM, "out of memory");
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(at);
        return rc;
    }
    if (stamp) {
        free(*stamp);
        *stamp = at;
    }
    return 0;
}

/* ---- contracts ---- */

void store_contract_fini(store_contract *c)
{
    if (!c)
        return;
    char *const f[] = {c->id,       c->number,     c->quote_id,  c->customer_id, c->partner_id,
                       c->currency, c->total,      c->signed_on, c->start_on,    c->catalog_version,
                       c->request,  c->created_by, c->created_at};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(c, 0, sizeof(*c));
}

void store_receivable_fini(store_receivable *r)
{
    if (!r)
        return;
    char *const f[] = {r->id,          r->contract_id, r->line_id,         r->kind,
                       r->ref,         r->waits_for,   r->due_on,          r->bill_on,
                       r->expected_on, r->period_from, r->period_to,       r->amount,
                       r->description, r->paid,        r->contract_number, r->currency,
                       r->partner_id,  r->customer_id};
    store_strs_free(f, sizeof(f) / sizeof(f[0]));
    memset(r, 0, sizeof(*r));
}

void store_payment_fini(store_payment *p)
{
    if (!p)
        return;
    free(p->id), free(p->receivable_id), free(p->client_id), free(p->amount);
    free(p->paid_on), free(p->created_at);
    memset(p, 0, sizeof(*p));
}

static int contract_check(store *st, const store_contract *c)
{
    const char *req[] = {c->quote_id, c->customer_id,     c->currency, c->signed_on,
                         c->start_on, c->catalog_version, c->request,  c->created_by};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        if (!store_text_ok(req[i]))
            return store_failf(st, CPQD_EINVAL, "contract: a required field is missing");
    if (!store_decimal_ok(c->total) || !store_date_ok(c->signed_on) ||
        !store_date_ok(c->start_on) || !store_opt_text_ok(c->partner_id) || c->quote_version < 1)
        return store_failf(st, CPQD_EINVAL, "contract: bad total, date, partner or version");
    return 0;
}

static int item_check(store *st, const store_receivable *r)
{
    if (!store_text_ok(r->line_id) || !store_text_ok(r->kind) || !store_text_ok(r->description) ||
        !store_decimal_ok(r->amount) || !store_decimal_ok(r->paid) || r->line_no < 0 ||
        !store_opt_text_ok(r->ref) || !store_opt_text_ok(r->waits_for))
        return store_failf(st, CPQD_EINVAL, "receivable: line, kind, amounts or text missing");
    const char *d[] = {r->due_on, r->bill_on, r->expected_on, r->period_from, r->period_to};
    for (int i = 0; i < 5; i++)
        if (!store_date_ok(d[i]))
            return store_failf(st, CPQD_EINVAL, "receivable: dates must be YYYY-MM-DD");
    return 0;
}

/* Whether quote_id already has a contract (CPQD_ECONFLICT if so). */
static int quote_free(store *st, const char *quote_id)
{
    store_contract x;
    int rc = store_contract_by_quote(st, quote_id, &x);
    if (rc == 0) {
        store_contract_fini(&x);
        return store_failf(st, CPQD_ECONFLICT, "quote %.64s already has a contract", quote_id);
    }
    return rc == CPQD_ENOTFOUND ? 0 : rc;
}

static int head_insert(store *st, const store_contract *c, char *id, const char *number, int year,
                       int64_t seq, const char *now)
{
    int rc = CPQD_ECONFLICT;
    for (int a = 0; a < ID_ATTEMPTS && rc == CPQD_ECONFLICT; a++) {
        store_stmt *s;
        if ((rc = store_ordered_id(st, "c_", id, STORE_CONTRACT_ID_LEN)) != 0 ||
            (rc = store_prepare(st, STMT_CONTRACT_INSERT, &s)) != 0)
            return rc;
        store_bind_text(st, s, 1, id);
        store_bind_text(st, s, 2, number);
        store_bind_int64(st, s, 3, year);
        store_bind_int64(st, s, 4, seq);
        store_bind_text(st, s, 5, c->quote_id);
        store_bind_int64(st, s, 6, c->quote_version);
        const char *t[] = {
            c->customer_id, c->partner_id,      c->currency, c->total,      c->signed_on,
            c->start_on,    c->catalog_version, c->request,  c->created_by, now};
        store_bind_texts(st, s, 7, t, 10);
        rc = store_run_insert(st, s, "contract insert");
    }
    return rc;
}

static int item_insert(store *st, const store_receivable *r, const char *cid, char *id)
{
    int rc = CPQD_ECONFLICT;
    for (int a = 0; a < ID_ATTEMPTS && rc == CPQD_ECONFLICT; a++) {
        store_stmt *s;
        if ((rc = store_ordered_id(st, "r_", id, STORE_RECV_ID_LEN)) != 0 ||
            (rc = store_prepare(st, STMT_RECV_INSERT, &s)) != 0)
            return rc;
        const char *a1[] = {id, cid, r->line_id};
        store_bind_texts(st, s, 1, a1, 3);
        store_bind_int64(st, s, 4, r->line_no);
        store_bind_text(st, s, 5, r->kind);
        store_bind_int64(st, s, 6, r->service);
        store_bind_int64(st, s, 7, r->seq);
        store_bind_int64(st, s, 8, r->part);
        const char *a2[] = {r->ref,         r->waits_for,   r->due_on,    r->bill_on,
                            r->expected_on, r->period_from, r->period_to, r->amount};
        store_bind_texts(st, s, 9, a2, 8);
        store_bind_int64(st, s, 17, r->amount_known ? 1 : 0);
        store_bind_text(st, s, 18, r->description);
        store_bind_text(st, s, 19, r->paid);
        rc = store_run_insert(st, s, "receivable insert");
    }
    return rc;
}

/* Writes head and items; ids[i] gets item i's id. */
static int contract_write(store *st, const store_contract *c, int year,
                          const store_receivable *items, size_t n, char *id, char *number,
                          char (*ids)[STORE_RECV_ID_LEN], const char *now)
{
    int64_t seq = 0;
    int rc = quote_free(st, c->quote_id);
    if (rc == 0)
        rc = store_counter_next(st, STMT_CONTRACT_COUNTER_NEXT, year, "contract number", &seq);
    if (rc == 0) {
        snprintf(number, CONTRACT_NUMBER_LEN, "C-%04d-%06lld", year, (long long)seq);
        rc = head_insert(st, c, id, number, year, seq, now);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = item_insert(st, &items[i], id, ids[i]);
    return rc;
}

int store_contract_insert(store *st, store_contract *c, int year, store_receivable *items, size_t n)
{
    char id[STORE_CONTRACT_ID_LEN], number[CONTRACT_NUMBER_LEN], now[STORE_TS_LEN];
    bool own;
    int rc = contract_check(st, c);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = item_check(st, &items[i]);
    if (rc == 0 && (year < 1000 || year > 9999))
        rc = store_failf(st, CPQD_EINVAL, "contract: year %d out of range", year);
    if (rc != 0)
        return rc;
    char(*ids)[STORE_RECV_ID_LEN] = calloc(n ? n : 1, sizeof(*ids));
    /* every output allocated before committing: a committed contract is
     * never reported as failed for want of memory */
    char **outs = calloc(2 * n + 3, sizeof(char *));
    if (!ids || !outs) {
        free(ids), free(outs);
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    store_now(now);
    if ((rc = store_write_begin(st, &own)) != 0) {
        free(ids), free(outs);
        return rc;
    }
    rc = contract_write(st, c, year, items, n, id, number, ids, now);
    if (rc == 0) {
        outs[0] = store_strdup(id), outs[1] = store_strdup(number), outs[2] = store_strdup(now);
        for (size_t i = 0; i < n; i++)
            outs[3 + 2 * i] = store_strdup(ids[i]), outs[4 + 2 * i] = store_strdup(id);
        for (size_t i = 0; i < 2 * n + 3; i++)
            if (!outs[i])
                rc = store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    if ((rc = store_write_end(st, own, rc)) != 0) {
        for (size_t i = 0; i < 2 * n + 3; i++)
            free(outs[i]);
    } else {
        c->id = outs[0], c->number = outs[1], c->created_at = outs[2];
        for (size_t i = 0; i < n; i++)
            items[i].id = outs[3 + 2 * i], items[i].contract_id = outs[4 + 2 * i];
    }
    free(ids);
    free(outs);
    return rc;
}

static int contract_read(store_stmt *s, store_contract *out)
{
    memset(out, 0, sizeof(*out));
    char **const cols[] = {
        &out->id,          &out->number,     &out->quote_id,        NULL,
        &out->customer_id, &out->partner_id, &out->currency,        &out->total,
        &out->signed_on,   &out->start_on,   &out->catalog_version, &out->request,
        &out->created_by,  &out->created_at};
    out->quote_version = store_col_int(s, 3);
    if (store_cols_dup(s, cols, 14) != 0) {
        store_contract_fini(out);
        return CPQD_ENOMEM;
    }
    return 0;
}

static int contract_read_v(store_stmt *s, void *out)
{
    return contract_read(s, out);
}

static int contract_one(store *st, store_stmt_id sid, const char *key, store_contract *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(key))
        return store_failf(st, CPQD_EINVAL, "contract: an id is required");
    int rc = store_prepare(st, sid, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, key);
    return store_row_one(st, s, contract_read_v, out, "contract", key);
}

int store_contract_get(store *st, const char *id, store_contract *out)
{
    return contract_one(st, STMT_CONTRACT_GET, id, out);
}

int store_contract_by_quote(store *st, const char *quote_id, store_contract *out)
{
    return contract_one(st, STMT_CONTRACT_BY_QUOTE, quote_id, out);
}

static void contract_fini_v(void *p)
{
    store_contract_fini(p);
}

int store_contract_list(store *st, const store_contract_filter *f, store_contract **items,
                        size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!f || f->limit < 1 || f->limit > STORE_PER_PAGE_MAX + 1)
        return store_failf(st, CPQD_EINVAL, "contract list: limit 1..%d", STORE_PER_PAGE_MAX + 1);
    if (!store_opt_text_ok(f->customer) || !store_opt_text_ok(f->quote) ||
        !store_opt_text_ok(f->partner) || !store_opt_text_ok(f->after))
        return store_failf(st, CPQD_EINVAL, "contract list: a filter is empty or not UTF-8");
    store_stmt *s;
    int rc = store_prepare(st, STMT_CONTRACT_LIST, &s);
    if (rc != 0)
        return rc;
    const char *t[] = {f->customer, f->quote, f->partner, f->after};
    store_bind_texts(st, s, 1, t, 4);
    store_bind_int64(st, s, 5, (int64_t)f->limit);
    return store_rows_read(st, s, sizeof(**items), contract_read_v, contract_fini_v, (void **)items,
                           n);
}

/* ---- receivables ---- */

static int recv_read(store_stmt *s, store_receivable *out)
{
    memset(out, 0, sizeof(*out));
    char **const cols[] = {
        &out->id,
        &out->contract_id,
        &out->line_id,
        NULL,
        &out->kind,
        NULL,
        NULL,
        NULL,
        &out->ref,
        &out->waits_for,
        &out->due_on,
        &out->bill_on,
        &out->expected_on,
        &out->period_from,
        &out->period_to,
        &out->amount,
        NULL,
        &out->description,
        &out->paid,
        &out->contract_number,
        &out->currency,
        &out->partner_id,
        &out->customer_id,
    };
    out->line_no = store_col_int(s, 3);
    out->service = store_col_int(s, 5);
    out->seq = store_col_int(s, 6);
    out->part = store_col_int(s, 7);
    out->amount_known = store_col_int(s, 16) != 0;
    if (store_cols_dup(s, cols, 23) != 0) {
        store_receivable_fini(out);
        return CPQD_ENOMEM;
    }
    return 0;
}

static int recv_read_v(store_stmt *s, void *out)
{
    return recv_read(s, out);
}
static void recv_fini_v(void *r)
{
    store_receivable_fini(r);
}

/* Steps s to the end, collecting items into a malloc'ed array. */
static int recv_rows(store *st, store_stmt *s, store_receivable **items, size_t *n)
{
    return store_rows_read(st, s, sizeof(**items), recv_read_v, recv_fini_v, (void **)items, n);
}

int store_receivables_of(store *st, const char *contract_id, store_receivable **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(contract_id))
        return store_failf(st, CPQD_EINVAL, "receivables: a contract id is required");
    int rc = store_prepare(st, STMT_RECV_OF_CONTRACT, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    return recv_rows(st, s, items, n);
}

int store_receivables_due_until(store *st, const char *until, const char *partner,
                                store_receivable **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!until || !store_date_ok(until) || !store_opt_text_ok(partner))
        return store_failf(st, CPQD_EINVAL, "receivables: a date YYYY-MM-DD is required");
    int rc = store_prepare(st, STMT_RECV_DUE_UNTIL, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, until);
    store_bind_text(st, s, 2, partner);
    return recv_rows(st, s, items, n);
}

int store_receivables_due_page(store *st, const store_due_filter *f, store_receivable **items,
                               size_t *n)
{
    store_stmt *s;
    const store_receivable *a = f->after;
    *items = NULL;
    *n = 0;
    if (!f->until || !store_date_ok(f->until) || !store_opt_text_ok(f->partner) ||
        !store_opt_text_ok(f->customer) || !store_opt_text_ok(f->contract) || f->limit < 1 ||
        (a && (!a->due_on || !a->contract_number || !a->id)))
        return store_failf(st, CPQD_EINVAL,
                           "receivables: a date YYYY-MM-DD, a limit and a whole cursor row are "
                           "required");
    int rc = store_prepare(st, STMT_RECV_DUE_PAGE, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, f->until);
    store_bind_text(st, s, 2, f->partner);
    store_bind_text(st, s, 3, f->customer);
    store_bind_text(st, s, 4, f->contract);
    store_bind_text(st, s, 5, a ? a->due_on : NULL);
    store_bind_text(st, s, 6, a ? a->contract_number : "");
    store_bind_int64(st, s, 7, a ? a->line_no : 0);
    store_bind_text(st, s, 8, a ? a->id : "");
    store_bind_int64(st, s, 9, (int64_t)(f->limit < INT32_MAX ? f->limit : INT32_MAX));
    return recv_rows(st, s, items, n);
}

int store_receivable_get(store *st, const char *id, store_receivable *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "receivable: an id is required");
    int rc = store_prepare(st, STMT_RECV_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_row_one(st, s, recv_read_v, out, "receivable", id);
}

int store_receivable_set_dates(store *st, const store_receivable *r)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(r->contract_id) || !store_text_ok(r->kind) ||
        !store_text_ok(r->description) || !store_date_ok(r->due_on) || !store_date_ok(r->bill_on) ||
        !store_date_ok(r->expected_on) || !store_opt_text_ok(r->waits_for))
        return store_failf(st, CPQD_EINVAL, "receivable update: key, dates or text invalid");
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_RECV_SET_DATES, &s)) == 0) {
        const char *t[] = {r->waits_for,   r->due_on,      r->bill_on,
                           r->expected_on, r->description, r->contract_id};
        store_bind_texts(st, s, 1, t, 6);
        store_bind_int64(st, s, 7, r->line_no);
        store_bind_text(st, s, 8, r->kind);
        store_bind_int64(st, s, 9, r->service);
        store_bind_int64(st, s, 10, r->seq);
        store_bind_int64(st, s, 11, r->part);
        rc = store_run(st, s, "receivable update", &changed);
    }
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ENOTFOUND, "receivable update: no item with that key");
    return store_write_end(st, own, rc);
}

/* ---- payments ---- */

static int payment_read(store_stmt *s, store_payment *out)
{
    memset(out, 0, sizeof(*out));
    char **const cols[] = {&out->id,     &out->receivable_id, &out->client_id,
                           &out->amount, &out->paid_on,       &out->created_at};
    if (store_cols_dup(s, cols, 6) != 0) {
        store_payment_fini(out);
        return CPQD_ENOMEM;
    }
    return 0;
}

static int payment_read_v(store_stmt *s, void *out)
{
    return payment_read(s, out);
}
static void payment_fini_v(void *p)
{
    store_payment_fini(p);
}

int store_payment_get(store *st, const char *rid, const char *client_id, store_payment *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(rid) || !store_text_ok(client_id))
        return store_failf(st, CPQD_EINVAL, "payment: receivable and client id are required");
    int rc = store_prepare(st, STMT_PAYMENT_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, rid);
    store_bind_text(st, s, 2, client_id);
    return store_row_one(st, s, payment_read_v, out, "payment", client_id);
}

int store_payments_of(store *st, const char *rid, store_payment **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(rid))
        return store_failf(st, CPQD_EINVAL, "payments: a receivable id is required");
    int rc = store_prepare(st, STMT_PAYMENTS_OF, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, rid);
    return store_rows_read(st, s, sizeof(**items), payment_read_v, payment_fini_v, (void **)items,
                           n);
}

int store_payments_of_contract(store *st, const char *id, store_payment **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "payments: a contract id is required");
    int rc = store_prepare(st, STMT_PAYMENTS_OF_CONTRACT, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    return store_rows_read(st, s, sizeof(**items), payment_read_v, payment_fini_v, (void **)items,
                           n);
}

static int payment_write(store *st, const store_payment *p, const char *old_paid,
                         const char *new_paid, char *id, const char *now)
{
    store_stmt *s;
    int rc, changed = 0;
    if ((rc = store_random_id(st, "p_", id, STORE_PAYMENT_ID_LEN)) != 0 ||
        (rc = store_prepare(st, STMT_PAYMENT_INSERT, &s)) != 0)
        return rc;
    const char *t[] = {id, p->receivable_id, p->client_id, p->amount, p->paid_on, now};
    store_bind_texts(st, s, 1, t, 6);
    /* the insert finds a client id recorded before (no read first) */
    if ((rc = store_run(st, s, "payment insert", &changed)) == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "payment %.64s was already recorded", p->client_id);
    if (rc != 0 || (rc = store_prepare(st, STMT_RECV_SET_PAID, &s)) != 0)
        return rc;
    const char *u[] = {new_paid, p->receivable_id, old_paid};
    store_bind_texts(st, s, 1, u, 3);
    if ((rc = store_run(st, s, "receivable paid", &changed)) == 0 && changed == 0)
        rc =
            store_failf(st, CPQD_ECONFLICT, "receivable %.64s changed meanwhile", p->receivable_id);
    return rc;
}

int store_payment_add(store *st, store_payment *p, const char *old_paid, const char *new_paid)
{
    char id[STORE_PAYMENT_ID_LEN], now[STORE_TS_LEN];
    bool own;
    if (!store_text_ok(p->receivable_id) || !store_text_ok(p->client_id) ||
        !store_decimal_ok(p->amount) || p->amount[0] == '-' ||
        strspn(p->amount, "0.") == strlen(p->amount) || !p->paid_on || !store_date_ok(p->paid_on) ||
        !store_decimal_ok(old_paid) || !store_decimal_ok(new_paid))
        return store_failf(st, CPQD_EINVAL,
                           "payment: receivable, client id, positive amount, paid_on required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    rc = payment_write(st, p, old_paid, new_paid, id, now);
    char *a = rc == 0 ? store_strdup(id) : NULL, *b = rc == 0 ? store_strdup(now) : NULL;
    if (rc == 0 && (!a || !b))
        rc = store_failf(st, CPQD_ENOMEM, "out of memory");
    if ((rc = store_write_end(st, own, rc)) != 0) {
        free(a), free(b);
        return rc;
    }
    p->id = a, p->created_at = b;
    return 0;
}

int store_receivable_warn(store *st, const char *rid, const char *state, bool *first)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    *first = false;
    if (!store_text_ok(rid) || !store_text_ok(state))
        return store_failf(st, CPQD_EINVAL, "warning: receivable and state are required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_WARNING_INSERT, &s)) == 0) {
        const char *t[] = {rid, state, now};
        store_bind_texts(st, s, 1, t, 3);
        rc = store_run(st, s, "warning insert", &changed);
    }
    if ((rc = store_write_end(st, own, rc)) == 0)
        *first = changed > 0;
    return rc;
}

/* ---- after signing: event dates, usage records, amounts ---- */

void store_line_event_fini(store_line_event *e)
{
    if (!e)
        return;
    free(e->contract_id), free(e->event), free(e->ref), free(e->happened_on);
    free(e->recorded_by), free(e->recorded_at);
    memset(e, 0, sizeof(*e));
}

void store_usage_fini(store_usage *u)
{
    if (!u)
        return;
    free(u->contract_id), free(u->client_id), free(u->quantity), free(u->recorded_on);
    free(u->recorded_by), free(u->created_at);
    memset(u, 0, sizeof(*u));
}

static int line_event_read(store_stmt *s, store_line_event *out)
{
    memset(out, 0, sizeof(*out));
    char **const cols[] = {
        &out->contract_id, NULL, &out->event, &out->ref, &out->happened_on, &out->recorded_by,
        &out->recorded_at};
    out->line_no = store_col_int(s, 1);
    if (store_cols_dup(s, cols, 7) != 0) {
        store_line_event_fini(out);
        return CPQD_ENOMEM;
    }
    return 0;
}

static int usage_read(store_stmt *s, store_usage *out)
{
    memset(out, 0, sizeof(*out));
    char **const cols[] = {&out->contract_id, &out->client_id,   NULL,
                           NULL,              &out->quantity,    &out->recorded_on,
                           &out->recorded_by, &out->created_at};
    out->line_no = store_col_int(s, 2);
    out->seq = store_col_int(s, 3);
    if (store_cols_dup(s, cols, 8) != 0) {
        store_usage_fini(out);
        return CPQD_ENOMEM;
    }
    return 0;
}

static int line_event_read_v(store_stmt *s, void *out)
{
    return line_event_read(s, out);
}
static void line_event_fini_v(void *e)
{
    store_line_event_fini(e);
}
static int usage_read_v(store_stmt *s, void *out)
{
    return usage_read(s, out);
}
static void usage_fini_v(void *u)
{
    store_usage_fini(u);
}

int store_line_events_of(store *st, const char *contract_id, store_line_event **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(contract_id))
        return store_failf(st, CPQD_EINVAL, "line events: a contract id is required");
    int rc = store_prepare(st, STMT_LINE_EVENTS_OF, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    return store_rows_read(st, s, sizeof(**items), line_event_read_v, line_event_fini_v,
                           (void **)items, n);
}

int store_line_event_add(store *st, store_line_event *e, bool *first)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    *first = false;
    if (!store_text_ok(e->contract_id) || e->line_no < 0 || !store_text_ok(e->event) || !e->ref ||
        !e->happened_on || !store_date_ok(e->happened_on) || !store_text_ok(e->recorded_by))
        return store_failf(st, CPQD_EINVAL, "line event: contract, line, event, date required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_LINE_EVENT_INSERT, &s)) == 0) {
        store_bind_text(st, s, 1, e->contract_id);
        store_bind_int64(st, s, 2, e->line_no);
        const char *t[] = {e->event, e->ref, e->happened_on, e->recorded_by, now};
        store_bind_texts(st, s, 3, t, 5);
        rc = store_run(st, s, "line event insert", &changed);
    }
    if ((rc = write_end_stamp(st, own, rc, now, changed ? &e->recorded_at : NULL)) != 0)
        return rc;
    *first = changed > 0;
    return 0;
}

int store_usage_get(store *st, const char *contract_id, const char *client_id, store_usage *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(contract_id) || !store_text_ok(client_id))
        return store_failf(st, CPQD_EINVAL, "usage: contract and record id are required");
    int rc = store_prepare(st, STMT_USAGE_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    store_bind_text(st, s, 2, client_id);
    return store_row_one(st, s, usage_read_v, out, "usage record", client_id);
}

int store_usage_add(store *st, store_usage *u)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(u->contract_id) || !store_text_ok(u->client_id) || u->line_no < 0 ||
        u->seq < 0 || !store_decimal_ok(u->quantity) || u->quantity[0] == '-' || !u->recorded_on ||
        !store_date_ok(u->recorded_on) || !store_text_ok(u->recorded_by))
        return store_failf(st, CPQD_EINVAL, "usage: contract, id, line, period, quantity required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_USAGE_INSERT, &s)) == 0) {
        store_bind_text(st, s, 1, u->contract_id);
        store_bind_text(st, s, 2, u->client_id);
        store_bind_int64(st, s, 3, u->line_no);
        store_bind_int64(st, s, 4, u->seq);
        const char *t[] = {u->quantity, u->recorded_on, u->recorded_by, now};
        store_bind_texts(st, s, 5, t, 4);
        rc = store_run(st, s, "usage insert", &changed);
    }
    if (rc == 0 && !changed)
        rc = store_failf(st, CPQD_ECONFLICT, "usage record %.64s was already recorded",
                         u->client_id);
    return write_end_stamp(st, own, rc, now, &u->created_at);
}

int store_usage_of_period(store *st, const char *contract_id, int line_no, int seq,
                          store_usage **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(contract_id) || line_no < 0 || seq < 0)
        return store_failf(st, CPQD_EINVAL, "usage: contract, line and period are required");
    int rc = store_prepare(st, STMT_USAGE_OF_PERIOD, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    store_bind_int64(st, s, 2, line_no);
    store_bind_int64(st, s, 3, seq);
    return store_rows_read(st, s, sizeof(**items), usage_read_v, usage_fini_v, (void **)items, n);
}

int store_receivable_set_amount(store *st, const store_receivable *r)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(r->contract_id) || !store_text_ok(r->kind) ||
        !store_text_ok(r->description) || !store_decimal_ok(r->amount) ||
        !store_date_ok(r->due_on) || !store_date_ok(r->bill_on) || !store_date_ok(r->expected_on) ||
        !store_opt_text_ok(r->waits_for))
        return store_failf(st, CPQD_EINVAL,
                           "receivable amount: key, amount, dates or text invalid");
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_RECV_SET_AMOUNT, &s)) == 0) {
        const char *t[] = {r->amount,      r->waits_for,   r->due_on,     r->bill_on,
                           r->expected_on, r->description, r->contract_id};
        store_bind_texts(st, s, 1, t, 7);
        store_bind_int64(st, s, 8, r->line_no);
        store_bind_text(st, s, 9, r->kind);
        store_bind_int64(st, s, 10, r->service);
        store_bind_int64(st, s, 11, r->seq);
        store_bind_int64(st, s, 12, r->part);
        rc = store_run(st, s, "receivable amount", &changed);
    }
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT,
                         "receivable amount: no open item with that key (closed already?)");
    return store_write_end(st, own, rc);
}

int store_receivables_add(store *st, const char *contract_id, store_receivable *items, size_t n)
{
    bool own;
    if (!store_text_ok(contract_id))
        return store_failf(st, CPQD_EINVAL, "receivables: a contract id is required");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = item_check(st, &items[i]);
    if (rc != 0)
        return rc;
    char(*ids)[STORE_RECV_ID_LEN] = calloc(n ? n : 1, sizeof(*ids));
    char **outs = calloc(2 * n + 1, sizeof(char *));
    if (!ids || !outs) {
        free(ids), free(outs);
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    if ((rc = store_write_begin(st, &own)) != 0) {
        free(ids), free(outs);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = item_insert(st, &items[i], contract_id, ids[i]);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        outs[2 * i] = store_strdup(ids[i]), outs[2 * i + 1] = store_strdup(contract_id);
        if (!outs[2 * i] || !outs[2 * i + 1])
            rc = store_failf(st, CPQD_ENOMEM, "out of memory");
    }
    if ((rc = store_write_end(st, own, rc)) != 0) {
        for (size_t i = 0; i < 2 * n; i++)
            free(outs[i]);
    } else {
        for (size_t i = 0; i < n; i++) {
            free(items[i].id), free(items[i].contract_id);
            items[i].id = outs[2 * i], items[i].contract_id = outs[2 * i + 1];
        }
    }
    free(ids);
    free(outs);
    return rc;
}

int store_receivables_open_usage(store *st, const char *until, store_receivable **items,
                                 size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!until || !store_date_ok(until))
        return store_failf(st, CPQD_EINVAL, "receivables: a date YYYY-MM-DD is required");
    int rc = store_prepare(st, STMT_RECV_OPEN_USAGE, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, until);
    return recv_rows(st, s, items, n);
}

int store_contract_set_total(store *st, const char *id, const char *old_total,
                             const char *new_total)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(id) || !store_decimal_ok(old_total) || !store_decimal_ok(new_total))
        return store_failf(st, CPQD_EINVAL, "contract total: id and decimal totals required");
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_CONTRACT_SET_TOTAL, &s)) == 0) {
        const char *t[] = {new_total, id, old_total};
        store_bind_texts(st, s, 1, t, 3);
        rc = store_run(st, s, "contract total", &changed);
    }
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "contract %.64s changed meanwhile", id);
    return store_write_end(st, own, rc);
}

/* ---- term changes: renewals and seat changes ---- */

void store_line_change_fini(store_line_change *c)
{
    if (!c)
        return;
    free(c->contract_id), free(c->kind), free(c->client_id), free(c->effective_on);
    free(c->quantity), free(c->old_quantity), free(c->period_amount), free(c->old_amount);
    free(c->source), free(c->created_by), free(c->created_at);
    memset(c, 0, sizeof(*c));
}

static int change_read_v(store_stmt *s, void *out)
{
    store_line_change *c = out;
    memset(c, 0, sizeof(*c));
    char **const cols[] = {&c->contract_id,  &c->kind,          &c->client_id,     NULL,
                           NULL,             NULL,              &c->effective_on,  &c->quantity,
                           &c->old_quantity, &c->period_amount, &c->old_amount,    &c->source,
                           &c->created_by,   &c->created_at};
    c->line_no = store_col_int(s, 3);
    c->term_no = store_col_int(s, 4);
    c->change_no = store_col_int(s, 5);
    if (store_cols_dup(s, cols, 14) != 0) {
        store_line_change_fini(c);
        return CPQD_ENOMEM;
    }
    return 0;
}

static void change_fini_v(void *c)
{
    store_line_change_fini(c);
}

int store_line_changes_of(store *st, const char *contract_id, store_line_change **items,
                          size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(contract_id))
        return store_failf(st, CPQD_EINVAL, "line changes: a contract id is required");
    int rc = store_prepare(st, STMT_CHANGES_OF, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, contract_id);
    return store_rows_read(st, s, sizeof(**items), change_read_v, change_fini_v, (void **)items, n);
}

static bool change_ok(const store_line_change *c)
{
    return store_text_ok(c->contract_id) && store_text_ok(c->kind) &&
           store_text_ok(c->client_id) && c->line_no >= 0 && c->term_no >= 0 &&
           c->change_no >= 0 && c->effective_on && store_date_ok(c->effective_on) &&
           store_decimal_ok(c->quantity) && store_decimal_ok(c->old_quantity) &&
           store_decimal_ok(c->period_amount) && store_decimal_ok(c->old_amount) &&
           store_text_ok(c->source) && store_text_ok(c->created_by);
}

int store_line_change_add(store *st, store_line_change *c)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!change_ok(c))
        return store_failf(st, CPQD_EINVAL, "line change: a field is missing or invalid");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_CHANGE_INSERT, &s)) == 0) {
        const char *t[] = {c->contract_id, c->kind, c->client_id};
        store_bind_texts(st, s, 1, t, 3);
        store_bind_int64(st, s, 4, c->line_no);
        store_bind_int64(st, s, 5, c->term_no);
        store_bind_int64(st, s, 6, c->change_no);
        const char *u[] = {c->effective_on,  c->quantity, c->old_quantity, c->period_amount,
                           c->old_amount,    c->source,   c->created_by,   now};
        store_bind_texts(st, s, 7, u, 8);
        rc = store_run(st, s, "line change insert", &changed);
    }
    if (rc == 0 && !changed)
        rc = store_failf(st, CPQD_ECONFLICT, "line change %.64s was already recorded",
                         c->client_id);
    return write_end_stamp(st, own, rc, now, &c->created_at);
}

int store_receivable_reset_amount(store *st, const store_receivable *r, const char *old_amount)
{
    store_stmt *s;
    bool own;
    int changed = 0;
    if (!store_text_ok(r->contract_id) || !store_text_ok(r->kind) || !store_decimal_ok(r->amount) ||
        !store_decimal_ok(old_amount))
        return store_failf(st, CPQD_EINVAL, "receivable amount: key or amounts invalid");
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_RECV_RESET_AMOUNT, &s)) == 0) {
        store_bind_text(st, s, 1, r->amount);
        store_bind_text(st, s, 2, r->contract_id);
        store_bind_int64(st, s, 3, r->line_no);
        store_bind_text(st, s, 4, r->kind);
        store_bind_int64(st, s, 5, r->service);
        store_bind_int64(st, s, 6, r->seq);
        store_bind_int64(st, s, 7, r->part);
        store_bind_text(st, s, 8, old_amount);
        rc = store_run(st, s, "receivable reprice", &changed);
    }
    if (rc == 0 && changed == 0)
        rc = store_failf(st, CPQD_ECONFLICT, "receivable amount: the item changed meanwhile");
    return store_write_end(st, own, rc);
}

int store_receivables_terms_ended(store *st, const char *until, store_receivable **items,
                                  size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (!until || !store_date_ok(until))
        return store_failf(st, CPQD_EINVAL, "receivables: a date YYYY-MM-DD is required");
    int rc = store_prepare(st, STMT_RECV_TERMS_ENDED, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, until);
    return recv_rows(st, s, items, n);
}
