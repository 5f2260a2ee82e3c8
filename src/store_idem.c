/*
 * store_idem: idempotency records, keyed by (caller, key).
 *
 * Owns: storing what a request with an Idempotency-Key produced and
 * finding it again. Does not own: hashing the body, comparing routes or
 * replaying the response (http).
 *
 * Invariant: a record is written once and never changed; a second put for
 * the same (caller, key) is CPQD_ECONFLICT and leaves the first intact.
 * A reply that holds a quote version's priced result references it (a
 * version never changes) and gets it back when read, byte for byte.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

void store_idem_fini(store_idem *x)
{
    if (!x)
        return;
    free(x->caller), free(x->key), free(x->route), free(x->body_hash);
    free(x->response), free(x->resource_id), free(x->created_at), free(x->etag);
    memset(x, 0, sizeof(*x));
}

static int idem_read(store_stmt *s, store_idem *out)
{
    char **const f[] = {&out->caller,   &out->key,         &out->route,
                        &out->body_hash, NULL,             NULL,
                        &out->resource_id, &out->created_at, &out->etag};
    int rc = 0;
    for (int i = 0; i < 9 && rc == 0; i++)
        if (f[i] && store_col_dup(s, i, f[i]) != 0)
            rc = CPQD_ENOMEM;
    /* the response is stored packed (store_pack.c), without the priced
     * result it references (column 10 at column 9); a reference to a
     * version that is not there (never, but for a damaged database)
     * answers an error, not the reply without its priced result */
    if (rc == 0 && (rc = store_col_unpack_with(s, 5, 9, 10, &out->response)) == CPQD_ENOTFOUND)
        rc = CPQD_EIO; /* not found is the key's answer, not the version's */
    if (rc != 0) {
        store_idem_fini(out);
        return rc;
    }
    out->status = store_col_int(s, 4);
    return 0;
}

int store_idem_get(store *st, const char *caller, const char *key, store_idem *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(caller) || !store_text_ok(key))
        return store_failf(st, CPQD_EINVAL, "idempotency: caller and key are required (UTF-8)");
    int rc = store_prepare(st, STMT_IDEM_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, caller);
    store_bind_text(st, s, 2, key);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        if ((rc = idem_read(s, out)) == CPQD_EIO)
            rc = store_failf(st, rc, "idempotency: the stored reply does not read back (its "
                                     "quote version is not there, or it does not unpack)");
    } else if (r == STORE_DONE) {
        rc = store_failf(st, CPQD_ENOTFOUND, "idempotency: no record for this key");
    } else {
        rc = store_fail(st, r, "idempotency get");
    }
    store_stmt_done(s);
    return rc;
}

static int idem_check(store *st, const store_idem *in)
{
    if (!store_text_ok(in->caller) || !store_text_ok(in->key) || !store_text_ok(in->route) ||
        !store_text_ok(in->body_hash))
        return store_failf(st, CPQD_EINVAL,
                           "idempotency: caller, key, route and body_hash are required (UTF-8)");
    if (in->priced.quote && !store_priced_ref_ok(&in->priced, in->response))
        return store_failf(st, CPQD_EINVAL,
                           "idempotency: the priced result referenced lies outside the response, "
                           "or the rest of it is not UTF-8");
    if (!in->response || (!in->priced.quote && *in->response && !store_text_ok(in->response)) ||
        !store_opt_text_ok(in->resource_id) || !store_opt_text_ok(in->etag))
        return store_failf(st, CPQD_EINVAL, "idempotency: response missing or not UTF-8, or "
                                            "resource_id or etag empty");
    if (in->status < 100 || in->status > 599)
        return store_failf(st, CPQD_EINVAL, "idempotency: status %d is not an HTTP status",
                           in->status);
    return 0;
}

static int idem_insert(store *st, const store_idem *in, const char *now)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_IDEM_INSERT, &s);
    if (rc != 0)
        return rc;
    const char *a[] = {in->caller, in->key, in->route, in->body_hash};
    for (int i = 0; i < 4; i++)
        store_bind_text(st, s, i + 1, a[i]);
    char *stored = NULL;
    if (store_pack_without(in->response, &in->priced, &stored) != 0) {
        store_stmt_done(s);
        return store_failf(st, CPQD_ENOMEM, "idempotency put: out of memory");
    }
    store_bind_int64(st, s, 5, in->status);
    store_bind_text(st, s, 6, stored);
    store_bind_text(st, s, 7, in->resource_id);
    store_bind_text(st, s, 8, now);
    store_bind_text(st, s, 9, in->etag);
    store_bind_priced_ref(st, s, 10, &in->priced);
    int r = store_step(st, s);
    if (r != STORE_DONE)
        rc = store_fail(st, r, "idempotency put");
    store_stmt_done(s);
    free(stored);
    return rc;
}

int store_idem_put(store *st, const store_idem *in)
{
    char now[STORE_TS_LEN];
    bool own;
    int rc = idem_check(st, in);
    if (rc != 0)
        return rc;
    store_now(now);
    if ((rc = store_write_begin(st, &own)) != 0)
        return rc;
    return store_write_end(st, own, idem_insert(st, in, now));
}
