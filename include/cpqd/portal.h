/*
 * portal: the browser sessions of the ordering portal (docs/portal.md).
 *
 * Owns: exchanging an API key for a session (a random token the browser
 * keeps in an HttpOnly, SameSite=Strict cookie; the key itself is never
 * kept by the page), finding the session of a token, its CSRF token, its
 * expiry, and ending it. Does not own: cookies, headers and which routes
 * need a CSRF token (http_portal.c, http_route.c), keys (auth).
 *
 * Sessions live in the store (table portal_sessions, store_session.c):
 * they survive a restart, and every instance on one database knows every
 * session, so several instances behind a load balancer need no sticky
 * routing and a sign-out on one ends the session on all (docs/portal.md
 * "Sessions"). Only the SHA-256 digest of a session token is stored, so
 * the table holds nothing a browser could present.
 *
 * Ownership: portal_session values are copies, the caller's; a session
 * names its key by id, found again in the key file in force on every
 * request (portal_session_key).
 * Thread-safety: per call; a store handle is per thread.
 */
#ifndef CPQD_PORTAL_H
#define CPQD_PORTAL_H

#include "cpqd/auth.h"
#include "cpqd/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTAL_TOKEN_MAX 48           /* 43 base64url characters + NUL */
#define PORTAL_SESSIONS_PER_KEY 100  /* live sessions of one key; its oldest goes first */
#define PORTAL_TTL_DEFAULT (8 * 3600) /* seconds a session lives (--session-ttl) */
#define PORTAL_TTL_MAX (30 * 86400)

#define PORTAL_KEY_ID_MAX 64 /* bytes of a key id kept with a session */

typedef struct portal_session {
    char key_id[PORTAL_KEY_ID_MAX]; /* whose session ("": development mode, an admin) */
    char csrf[PORTAL_TOKEN_MAX];    /* the token every state change must carry */
    int64_t expires_ms;             /* unix milliseconds (CLOCK_REALTIME) */
} portal_session;

/* Makes a session in st for key (NULL in development mode) that lives
 * ttl_s seconds (1..PORTAL_TTL_MAX): writes its token, NUL-terminated,
 * into token[0..PORTAL_TOKEN_MAX) and the session into *out. Expired
 * sessions are dropped; when the key has PORTAL_SESSIONS_PER_KEY live
 * sessions, its ones that expire first make room (one key never signs
 * out another's browsers). Returns 0, CPQD_EINVAL (bad ttl),
 * CPQD_EIO (getrandom failed) or the store's code (reason in
 * store_last_error). */
int portal_session_new(store *st, const auth_key *key, unsigned ttl_s,
                       char token[PORTAL_TOKEN_MAX], portal_session *out);
/* The live session of token[0..len) into *out: 0, CPQD_ENOTFOUND when
 * there is none (unknown, ended or expired; an expired one is dropped),
 * or the store's code. */
int portal_session_find(store *st, const char *token, size_t len, portal_session *out);
/* The key s stands for in keys (the key file in force), or NULL when it
 * is gone or revoked there: the session then ends with it. */
const auth_key *portal_session_key(const portal_session *s, const auth_keys *keys);
/* Ends the session of token[0..len): 0, CPQD_ENOTFOUND, or the store's
 * code. */
int portal_session_end(store *st, const char *token, size_t len);
/* Whether tok[0..len) is s's CSRF token (constant time in its content). */
bool portal_csrf_ok(const portal_session *s, const char *tok, size_t len);

/* ---- the store's part (store_session.c): digest is the token's SHA-256
 * in lowercase hex ---- */

/* Drops expired rows and s's key's live ones beyond its newest
 * per_key - 1, then inserts s under digest. */
int store_session_put(store *st, const char *digest, const portal_session *s, int64_t now_ms,
                      size_t per_key);
/* The row of digest, CPQD_ENOTFOUND (none, or expired at now_ms: then
 * deleted), or the store's code. */
int store_session_get(store *st, const char *digest, int64_t now_ms, portal_session *out);
/* Deletes the row of digest: 0 or CPQD_ENOTFOUND. */
int store_session_del(store *st, const char *digest);
/* Rows in the table (expired ones not yet dropped included): for tests. */
int store_session_count(store *st, int64_t *n);
#endif
