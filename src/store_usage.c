/*
 * store_usage: promotion usage counters (see store.h). Amounts are exact
 * decimal text added in C (TEXT columns cannot be summed portably), so a
 * redemption reads and writes its rows inside one transaction.
 */
#include "store_int.h"

#include "cpqd/money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_promo_usage(store *st, const char *promo, const char *scope, int64_t *uses,
                      char **spent)
{
    store_stmt *s;
    *uses = 0;
    *spent = NULL;
    if (!store_text_ok(promo) || !store_text_ok(scope))
        return store_failf(st, CPQD_EINVAL, "usage: promotion and scope are required");
    int rc = store_prepare(st, STMT_PROMO_USAGE_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, promo);
    store_bind_text(st, s, 2, scope);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        *uses = store_col_int64(s, 0);
        rc = store_col_dup(s, 1, spent);
    } else if (r != STORE_DONE) {
        rc = store_fail(st, r, "usage get");
    }
    store_stmt_done(s);
    if (rc == 0 && !*spent && !(*spent = strdup("0")))
        rc = CPQD_ENOMEM;
    return rc;
}

/* Column i of s's row equals the text t (NULL: never). */
static bool col_is(store_stmt *s, int i, const char *t)
{
    size_t n = 0;
    const char *v = store_col_text(s, i, &n);
    return v && t && strlen(t) == n && memcmp(v, t, n) == 0;
}

/* One read of up to STORE_USAGE_READ promotions (store_promo_usage_many). */
static int usage_read(store *st, const char *const *promos, size_t n, const char *const scopes[3],
                      int64_t *uses, char **spent)
{
    store_stmt *s;
    size_t slots = n <= 1 ? 1 : n == 2 ? 2 : 4;
    int rc = store_prepare(st, n <= 1 ? STMT_PROMO_USAGE_1 : n == 2 ? STMT_PROMO_USAGE_2
                                                                   : STMT_PROMO_USAGE_4,
                           &s),
        r = STORE_DONE;
    if (rc != 0)
        return rc;
    /* the first promotion $1, the scopes $2..$4, the other promotions
     * $5.. (store_sql.c); an unused slot NULL: it matches nothing */
    for (size_t i = 0; i < slots; i++)
        store_bind_text(st, s, i ? (int)i + 4 : 1, i < n ? promos[i] : NULL);
    for (int k = 0; k < 3; k++)
        store_bind_text(st, s, 2 + k, scopes[k]);
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW)
        for (size_t i = 0; i < n && rc == 0; i++)
            for (int k = 0; k < 3 && rc == 0; k++)
                if (!spent[3 * i + k] && col_is(s, 0, promos[i]) && col_is(s, 1, scopes[k])) {
                    uses[3 * i + k] = store_col_int64(s, 2);
                    rc = store_col_dup(s, 3, &spent[3 * i + k]);
                }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "usage get");
    store_stmt_done(s);
    return rc;
}

int store_promo_usage_many(store *st, const char *const *promos, size_t n,
                           const char *const scopes[3], int64_t *uses, char **spent)
{
    for (size_t j = 0; j < 3 * n; j++) {
        uses[j] = 0;
        spent[j] = NULL;
    }
    bool ok = n > 0 && store_text_ok(scopes[0]);
    for (size_t i = 0; i < n && ok; i++)
        ok = store_text_ok(promos[i]);
    if (!ok)
        return store_failf(st, CPQD_EINVAL, "usage: promotions and a scope are required");
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += STORE_USAGE_READ) {
        size_t m = n - at < STORE_USAGE_READ ? n - at : STORE_USAGE_READ;
        rc = usage_read(st, promos + at, m, scopes, uses + 3 * at, spent + 3 * at);
    }
    for (size_t j = 0; j < 3 * n && rc == 0; j++)
        if (!spent[j] && !(spent[j] = strdup("0")))
            rc = CPQD_ENOMEM;
    if (rc)
        for (size_t j = 0; j < 3 * n; j++) {
            free(spent[j]);
            spent[j] = NULL;
        }
    return rc;
}

static int add_one(store *st, const char *promo, const char *scope, money_dec amount)
{
    int64_t uses;
    char *spent = NULL;
    money_dec was, now;
    char text[MONEY_FMT_MAX];
    int rc = store_promo_usage(st, promo, scope, &uses, &spent);
    if (rc == 0 && (money_parse(spent, strlen(spent), &was) != 0 ||
                    money_add(was, amount, &now) != 0 || money_format(now, text, sizeof(text)) < 0))
        rc = store_failf(st, CPQD_ERANGE, "usage: spent of %s overflows", promo);
    free(spent);
    if (rc)
        return rc;
    store_stmt *s;
    if ((rc = store_prepare(st, STMT_PROMO_USAGE_SET, &s)) != 0)
        return rc;
    store_bind_text(st, s, 1, promo);
    store_bind_text(st, s, 2, scope);
    store_bind_int64(st, s, 3, uses + 1);
    store_bind_text(st, s, 4, text);
    int r = store_step(st, s);
    store_stmt_done(s);
    return r == STORE_DONE ? 0 : store_fail(st, r, "usage set");
}

static int redeem_all(store *st, const char *promo, const char *customer, const char *partner,
                      money_dec amount)
{
    char scope[300];
    int rc = add_one(st, promo, "*", amount);
    if (rc == 0 && customer) {
        snprintf(scope, sizeof(scope), "c:%s", customer);
        rc = add_one(st, promo, scope, amount);
    }
    if (rc == 0 && partner) {
        snprintf(scope, sizeof(scope), "p:%s", partner);
        rc = add_one(st, promo, scope, amount);
    }
    return rc;
}

int store_promo_redeem(store *st, const char *promo, const char *customer, const char *partner,
                       const char *amount)
{
    money_dec a;
    bool own;
    if (!store_text_ok(promo) || !store_opt_text_ok(customer) || !store_opt_text_ok(partner) ||
        (customer && strlen(customer) > 256) || (partner && strlen(partner) > 256))
        return store_failf(st, CPQD_EINVAL, "usage: promotion required, ids at most 256 bytes");
    if (!amount || money_parse(amount, strlen(amount), &a) != 0 || money_sign(a) < 0)
        return store_failf(st, CPQD_EINVAL, "usage: amount must be a non-negative decimal");
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    return store_write_end(st, own, redeem_all(st, promo, customer, partner, a));
}
