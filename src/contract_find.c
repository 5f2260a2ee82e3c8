/*
 * contract_find: finding what the service made after a quote was
 * accepted (docs/receivables.md "Finding contracts and payments"): the
 * contract list, one receivable with its payments, a contract's payments.
 *
 * Owns: these reads and their pages (one shape for every list: {"items",
 * "next"}, written by contract_json.c). Does not own: the rows (store), an item's
 * standing (contract.c, sched), who may call (the route table).
 *
 * Every read is scoped: a partner key sees its own partner's contracts
 * only, anything else answers as if it did not exist.
 */
#include "contract_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A contract's standing as of today, from its items. */
typedef enum contract_state {
    CONTRACT_OPEN,
    CONTRACT_OVERDUE, /* an item is overdue */
    CONTRACT_SETTLED, /* every item is paid */
    CONTRACT_STATE_N,
} contract_state;

const char *const contract_statuses[CONTRACT_STATE_N + 1] = {
    [CONTRACT_OPEN] = "open", [CONTRACT_OVERDUE] = "overdue", [CONTRACT_SETTLED] = "settled",
    [CONTRACT_STATE_N] = NULL};

#define FIND_SCAN_PAGES 20 /* pages a status filter reads at most per request */

static void payments_free(store_payment *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_payment_fini(&v[i]);
    free(v);
}

/* ---- GET /v1/contracts ---- */

/* The status of contract k as of today from its items. An item whose
 * standing cannot be computed (a damaged record) is no failure of the
 * list: *damaged (malloc'ed, else NULL) then says which, and the
 * contract has no status. */
static int contract_status(svc_ctx *c, const store_contract *k, contract_state *out,
                           char **damaged)
{
    store_receivable *rows = NULL;
    size_t n = 0;
    bool overdue = false, settled = true;
    *damaged = NULL;
    int rc = store_receivables_of(c->st, k->id, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sched_standing sd;
        if ((rc = contract_row_standing(c, &rows[i], c->today, &sd)) != 0) {
            if (rc != CPQD_EIO && rc != CPQD_ENOMEM) {
                rc = asprintf(damaged, "receivable %.64s: %s", rows[i].id,
                              CONTRACT_STANDING_DAMAGED) < 0 ? CPQD_ENOMEM : 0;
                if (rc)
                    *damaged = NULL;
            }
            break;
        }
        overdue |= sd.status == SCHED_ST_OVERDUE;
        settled &= sd.status == SCHED_ST_PAID;
    }
    contract_rows_free(rows, n);
    *out = overdue ? CONTRACT_OVERDUE : settled ? CONTRACT_SETTLED : CONTRACT_OPEN;
    return rc;
}

/* A cursor is a contract the caller may see (a `next` this list gave). */
static int cursor_check(svc_ctx *c, const char *after, cpqd_errs *errs)
{
    store_contract k;
    int rc = store_contract_get(c->st, after, &k);
    if (rc == 0) {
        bool ok = contract_in_scope(c, k.partner_id);
        store_contract_fini(&k);
        if (ok)
            return 0;
        rc = CPQD_ENOTFOUND;
    }
    return rc == CPQD_ENOTFOUND || rc == CPQD_EINVAL
               ? contract_bad(errs, "after: not the `next` of a page of this list")
               : rc;
}

/* One page of heads (in state `only`; CONTRACT_STATE_N: any) into arr,
 * limit f->limit; *next gets the id of the
 * last contract looked at when more follow (a status filter may read
 * several batches, FIND_SCAN_PAGES at most: then a page holds fewer than
 * limit, and following `next` goes on). f->after is replaced as it goes
 * (malloc'ed). */
static int list_scan(svc_ctx *c, store_contract_filter *f, contract_state only,
                     struct json_t *arr, struct json_t **damaged, char **next)
{
    int rc = 0;
    size_t limit = f->limit;
    f->limit = limit + 1; /* one more tells whether anything follows */
    for (int scan = 0; rc == 0 && scan < FIND_SCAN_PAGES && !*next; scan++) {
        store_contract *v = NULL;
        size_t n = 0, i = 0;
        if ((rc = store_contract_list(c->st, f, &v, &n)) != 0)
            break;
        const char *last = NULL;
        for (; rc == 0 && i < n && contract_list_size(arr) < limit; i++) {
            contract_state st = CONTRACT_OPEN;
            char *why = NULL;
            if ((rc = contract_status(c, &v[i], &st, &why)) != 0)
                break;
            if (why) /* whatever the filter: its status is not known */
                rc = contract_list_add_damaged(damaged, v[i].id, why);
            else if (only == CONTRACT_STATE_N || only == st)
                rc = contract_list_add_head(arr, &v[i], contract_statuses[st]);
            free(why);
            last = v[i].id;
        }
        bool more = i < n || n == limit + 1;
        char *at = rc == 0 && more && last ? strdup(last) : NULL;
        if (rc == 0 && more && last && !at)
            rc = CPQD_ENOMEM;
        if (at && (contract_list_size(arr) == limit || scan == FIND_SCAN_PAGES - 1)) {
            *next = at;
        } else if (at) {
            free((char *)f->after);
            f->after = at;
        }
        for (size_t j = 0; j < n; j++)
            store_contract_fini(&v[j]);
        free(v);
        if (!more)
            break;
    }
    return rc;
}

/* The state named s (NULL: any, CONTRACT_STATE_N), or -1. */
static int state_of(const char *s)
{
    for (int i = 0; s && i < CONTRACT_STATE_N; i++)
        if (!strcmp(s, contract_statuses[i]))
            return i;
    return s ? -1 : CONTRACT_STATE_N;
}

int contract_list(svc_ctx *c, const store_contract_filter *f, const char *status,
                  svc_reply *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    store_contract_filter scoped = *f;
    if (svc_is_partner(c->caller)) {
        if (f->partner && (!c->caller->partner_id || strcmp(f->partner, c->caller->partner_id))) {
            out->body = strdup("{\"items\":[],\"next\":null}");
            return out->body ? 0 : CPQD_ENOMEM;
        }
        scoped.partner = c->caller->partner_id ? c->caller->partner_id : "";
    }
    int only = state_of(status);
    if (only < 0)
        return contract_bad(errs, "status: open, overdue or settled");
    int rc = f->after ? cursor_check(c, f->after, errs) : 0;
    if (rc)
        return rc;
    scoped.after = f->after ? strdup(f->after) : NULL;
    if (f->after && !scoped.after)
        return CPQD_ENOMEM;
    struct json_t *arr = contract_list_new(), *damaged = NULL;
    char *next = NULL;
    rc = arr ? list_scan(c, &scoped, (contract_state)only, arr, &damaged, &next) : CPQD_ENOMEM;
    free((char *)scoped.after);
    if (rc == 0) {
        rc = (out->body = contract_page_text(arr, damaged, next)) ? 0 : CPQD_ENOMEM;
    } else {
        contract_json_free(arr);
        contract_json_free(damaged);
    }
    free(next);
    return rc;
}

/* ---- GET /v1/receivables/{id} ---- */

int contract_receivable_get(svc_ctx *c, const char *rid, svc_reply *out, cpqd_errs *errs)
{
    store_receivable r;
    store_payment *ps = NULL;
    size_t n = 0;
    sched_standing sd;
    memset(out, 0, sizeof(*out));
    int rc = store_receivable_get(c->st, rid, &r);
    if (rc == 0 && !contract_in_scope(c, r.partner_id)) {
        store_receivable_fini(&r);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND || rc == CPQD_EINVAL) {
        errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "no receivable '%.64s'", rid);
        return CPQD_ENOTFOUND;
    }
    if (rc)
        return rc;
    if ((rc = contract_row_standing(c, &r, c->today, &sd)) == 0)
        rc = store_payments_of(c->st, r.id, &ps, &n);
    else if (rc != CPQD_EIO && rc != CPQD_ENOMEM) /* a damaged record */
        errs_add(errs, rc, NULL, 0, 0, "receivable '%.64s': %s", rid, CONTRACT_STANDING_DAMAGED);
    if (rc == 0)
        rc = (out->body = contract_receivable_text(&r, &sd, ps, n)) ? 0 : CPQD_ENOMEM;
    payments_free(ps, n);
    store_receivable_fini(&r);
    return rc;
}

/* ---- GET /v1/contracts/{id}/payments ---- */

int contract_payments(svc_ctx *c, const char *id, const svc_page *pg, svc_reply *out,
                      cpqd_errs *errs)
{
    store_contract k;
    store_payment *ps = NULL;
    size_t n = 0, first = 0;
    memset(out, 0, sizeof(*out));
    int rc = store_contract_get(c->st, id, &k);
    if (rc == 0 && !contract_in_scope(c, k.partner_id))
        rc = CPQD_ENOTFOUND, store_contract_fini(&k);
    if (rc == CPQD_ENOTFOUND || rc == CPQD_EINVAL) {
        errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "no contract '%.64s'", id);
        return CPQD_ENOTFOUND;
    }
    if (rc)
        return rc;
    rc = store_payments_of_contract(c->st, k.id, &ps, &n);
    if (rc == 0 && pg->after) {
        while (first < n && strcmp(ps[first].id, pg->after))
            first++;
        if (first++ == n)
            rc = contract_bad(errs, "after: not the `next` of a page of this list");
    }
    size_t end = first + pg->limit < n ? first + pg->limit : n;
    if (rc == 0)
        rc = (out->body = contract_payments_text(&k, end > first ? ps + first : NULL,
                                                 end > first ? end - first : 0,
                                                 end < n ? ps[end - 1].id : NULL))
                 ? 0
                 : CPQD_ENOMEM;
    payments_free(ps, n);
    store_contract_fini(&k);
    return rc;
}
