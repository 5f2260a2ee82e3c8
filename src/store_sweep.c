/*
 * store_sweep: the items the receivables sweep could not process (see
 * store.h "sweep failures"; docs/receivables.md "Sweep failures").
 *
 * Owns: one row per item key, its last error, when it first and last
 * failed, how often, and when a later sweep got it through. Does not own:
 * what an item is or why it failed (contract), the event that reports a
 * new failure (the caller writes it with store_outbox_add in the same
 * transaction).
 *
 * Invariant: a row's failures count the failed runs since
 * first_failed_at; a resolved item that fails again starts a new run
 * (failures 1, first_failed_at now, resolved_at NULL).
 */
#include "store_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_FAIL_NCOLS 10

void store_sweep_failure_fini(store_sweep_failure *f)
{
    if (!f)
        return;
    free(f->item), free(f->kind), free(f->contract_id), free(f->ref), free(f->code);
    free(f->message), free(f->first_failed_at), free(f->last_failed_at), free(f->resolved_at);
    memset(f, 0, sizeof(*f));
}

/* The current row of s (SWEEP_FAIL_COLS) into *f. */
static int fail_read(store_stmt *s, store_sweep_failure *f)
{
    char **const cols[SWEEP_FAIL_NCOLS] = {
        &f->item, &f->kind,       &f->contract_id,     &f->ref,
        &f->code, &f->message,    &f->first_failed_at, &f->last_failed_at,
        NULL,     &f->resolved_at};
    memset(f, 0, sizeof(*f));
    f->failures = store_col_int64(s, 8);
    for (int i = 0; i < SWEEP_FAIL_NCOLS; i++)
        if (cols[i] && store_col_dup(s, i, cols[i]) != 0) {
            store_sweep_failure_fini(f);
            return CPQD_ENOMEM;
        }
    return 0;
}

static bool kind_ok(const char *k)
{
    return k && (!strcmp(k, "period_close") || !strcmp(k, "renewal") || !strcmp(k, "warning") ||
                 !strcmp(k, "invoice") || !strcmp(k, "revenue"));
}

/* The row of item, if any: *found, its failures and whether resolved. */
static int fail_get(store *st, const char *item, bool *found, int64_t *failures, bool *resolved,
                    char **first_at)
{
    store_stmt *s;
    *found = false;
    int rc = store_prepare(st, STMT_SWEEP_FAIL_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, item);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        *found = true;
        *failures = store_col_int64(s, 8);
        *resolved = !store_col_null(s, 9);
        rc = store_col_dup(s, 6, first_at);
    } else if (r != STORE_DONE) {
        rc = store_fail(st, r, "sweep failure");
    }
    store_stmt_done(s);
    return rc;
}

int store_sweep_failure_add(store *st, const store_sweep_failure *f, bool *first)
{
    char now[STORE_TS_LEN], *first_at = NULL;
    store_stmt *s;
    bool own, found = false, resolved = false;
    int64_t failures = 0;
    if (!store_text_ok(f->item) || !kind_ok(f->kind) || !store_text_ok(f->contract_id) ||
        !store_text_ok(f->ref) || !store_text_ok(f->code) || !store_text_ok(f->message))
        return store_failf(st, CPQD_EINVAL, "sweep failure: a field is missing or invalid");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    rc = fail_get(st, f->item, &found, &failures, &resolved, &first_at);
    bool again = found && !resolved; /* the same run of failures goes on */
    if (rc == 0)
        rc = store_prepare(st, found ? STMT_SWEEP_FAIL_AGAIN : STMT_SWEEP_FAIL_INSERT, &s);
    if (rc == 0) {
        /* INSERT: item, then the fields; UPDATE: the fields, then item */
        const char *t[] = {f->kind, f->contract_id, f->ref,
                           f->code, f->message,     again && first_at ? first_at : now,
                           now};
        int at = found ? 1 : 2;
        store_bind_text(st, s, found ? 9 : 1, f->item);
        for (int i = 0; i < 7; i++)
            store_bind_text(st, s, at + i, t[i]);
        store_bind_int64(st, s, at + 7, again ? failures + 1 : 1);
        rc = store_run(st, s, "sweep failure", NULL);
    }
    free(first_at);
    if ((rc = store_write_end(st, own, rc)) == 0 && first)
        *first = !again;
    return rc;
}

int store_sweep_failure_resolve(store *st, const char *item)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    bool own;
    if (!store_text_ok(item))
        return store_failf(st, CPQD_EINVAL, "sweep failure: an item is required");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    if ((rc = store_prepare(st, STMT_SWEEP_FAIL_RESOLVE, &s)) == 0) {
        store_bind_text(st, s, 1, now);
        store_bind_text(st, s, 2, item);
        rc = store_run(st, s, "sweep failure resolve", NULL);
    }
    return store_write_end(st, own, rc);
}

int store_sweep_failures_list(store *st, const char *status, size_t limit,
                              store_sweep_failure **items, size_t *n)
{
    store_stmt *s;
    store_sweep_failure *v = NULL;
    size_t k = 0, cap = 0;
    *items = NULL;
    *n = 0;
    int which = !status ? 0 : !strcmp(status, "failing") ? 1 : !strcmp(status, "resolved") ? 2 : -1;
    if (which < 0 || limit > STORE_PER_PAGE_MAX)
        return store_failf(st, CPQD_EINVAL, "sweep failures: a status or limit out of range");
    int rc = store_prepare(st, STMT_SWEEP_FAIL_LIST, &s), r = STORE_DONE;
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, which);
    store_bind_int64(st, s, 2, limit ? (int64_t)limit : INT64_MAX);
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 8;
            store_sweep_failure *nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                rc = store_failf(st, CPQD_ENOMEM, "out of memory");
                break;
            }
            v = nv, cap = nc;
        }
        if ((rc = fail_read(s, &v[k])) == 0)
            k++;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "sweep failures");
    store_stmt_done(s);
    if (rc != 0 || k == 0) {
        for (size_t i = 0; i < k; i++)
            store_sweep_failure_fini(&v[i]);
        free(v);
        return rc;
    }
    *items = v;
    *n = k;
    return 0;
}
