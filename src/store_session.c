/*
 * store_session: the rows of table portal_sessions (include/cpqd/portal.h
 * "the store's part"), one per portal session, keyed by the hex SHA-256
 * digest of its token: every instance on the database finds every
 * session, and a sign-out on one ends it on all.
 *
 * Each call is its own statement outside any write transaction (nothing
 * here needs the write lock the quote path takes): a session is made,
 * read or ended by one row. Expired rows are dropped when met and on
 * every new session, with the key's oldest live ones beyond its cap.
 */
#include "store_int.h"

#include "cpqd/portal.h"

#include <stdio.h>
#include <string.h>

static const char session_insert[] =
    "INSERT INTO portal_sessions (digest, key_id, csrf, expires_ms) VALUES ($1, $2, $3, $4)";
static const char session_select[] =
    "SELECT key_id, csrf, expires_ms FROM portal_sessions WHERE digest = $1";
static const char session_delete[] = "DELETE FROM portal_sessions WHERE digest = $1";
/* the expired, and the key's live ones past its newest per_key - 1 (room
 * for one) */
static const char session_trim[] =
    "DELETE FROM portal_sessions WHERE expires_ms <= $1 OR digest IN"
    " (SELECT digest FROM portal_sessions WHERE key_id = $2 ORDER BY expires_ms DESC"
    "  LIMIT 1000000000 OFFSET $3)";
static const char session_count[] = "SELECT count(*) FROM portal_sessions";

/* Prepares sql and binds digest as $1: 0 or the store's code. */
static int prepare_digest(store *st, const char *sql, const char *digest, store_stmt **s)
{
    int rc = store_prepare_sql(st, sql, s);
    if (rc != 0)
        return store_fail(st, rc, "portal session");
    store_bind_text(st, *s, 1, digest);
    return 0;
}

int store_session_put(store *st, const char *digest, const portal_session *ps, int64_t now_ms,
                      size_t per_key)
{
    store_stmt *s;
    int rc = store_prepare_sql(st, session_trim, &s);
    if (rc != 0)
        return store_fail(st, rc, "portal session");
    store_bind_int64(st, s, 1, now_ms);
    store_bind_text(st, s, 2, ps->key_id);
    store_bind_int64(st, s, 3, (int64_t)(per_key > 0 ? per_key - 1 : 0));
    rc = store_run(st, s, "portal session", NULL);
    store_stmt_free(s);
    if (rc != 0 || (rc = prepare_digest(st, session_insert, digest, &s)) != 0)
        return rc;
    store_bind_text(st, s, 2, ps->key_id);
    store_bind_text(st, s, 3, ps->csrf);
    store_bind_int64(st, s, 4, ps->expires_ms);
    rc = store_run(st, s, "portal session", NULL);
    store_stmt_free(s);
    return rc;
}

int store_session_del(store *st, const char *digest)
{
    store_stmt *s;
    int changes = 0;
    int rc = prepare_digest(st, session_delete, digest, &s);
    if (rc != 0)
        return rc;
    rc = store_run(st, s, "portal session", &changes);
    store_stmt_free(s);
    return rc != 0 ? rc : changes > 0 ? 0 : CPQD_ENOTFOUND;
}

int store_session_get(store *st, const char *digest, int64_t now_ms, portal_session *out)
{
    store_stmt *s;
    int rc = prepare_digest(st, session_select, digest, &s);
    if (rc != 0)
        return rc;
    portal_session ps = {0};
    int step = store_step(st, s);
    if (step == STORE_ROW) {
        size_t kl = 0, cl = 0;
        const char *k = store_col_text(s, 0, &kl), *c = store_col_text(s, 1, &cl);
        ps.expires_ms = store_col_int64(s, 2);
        if (!k || !c || kl >= sizeof(ps.key_id) || cl == 0 || cl >= sizeof(ps.csrf)) {
            rc = store_failf(st, CPQD_EIO, "portal session: a malformed row");
        } else {
            memcpy(ps.key_id, k, kl);
            memcpy(ps.csrf, c, cl);
        }
    } else {
        rc = step == STORE_DONE ? CPQD_ENOTFOUND : store_fail(st, step, "portal session");
    }
    store_stmt_free(s);
    if (rc == 0 && ps.expires_ms <= now_ms) {
        rc = store_session_del(st, digest);
        rc = rc == 0 || rc == CPQD_ENOTFOUND ? CPQD_ENOTFOUND : rc;
    }
    if (rc == 0)
        *out = ps;
    return rc;
}

int store_session_count(store *st, int64_t *n)
{
    store_stmt *s;
    int rc = store_prepare_sql(st, session_count, &s);
    if (rc != 0)
        return store_fail(st, rc, "portal session");
    int step = store_step(st, s);
    if (step == STORE_ROW)
        *n = store_col_int64(s, 0);
    else
        rc = store_fail(st, step == STORE_DONE ? CPQD_EIO : step, "portal session");
    store_stmt_free(s);
    return rc;
}
