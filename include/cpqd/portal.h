/*
 * portal: the browser sessions of the ordering portal (docs/portal.md).
 *
 * Owns: exchanging an API key for a session (a random token the browser
 * keeps in an HttpOnly, SameSite=Strict cookie; the key itself is never
 * kept by the page), finding the session of a token, its CSRF token, its
 * expiry, and ending it. Does not own: cookies, headers and which routes
 * need a CSRF token (http_portal.c, http_route.c), keys (auth).
 *
 * Sessions live in this process's memory only: a restart signs everyone
 * out, and several instances behind a load balancer need sticky sessions
 * (docs/portal.md "Sessions"). Only the SHA-256 digest of a session token
 * is kept, so the table holds nothing a browser could present.
 *
 * Ownership: a session refers to the auth_key it was made from (NULL in
 * development mode, without --keys), which lives as long as the process's
 * auth_keys; portal_session values are copies, the caller's.
 * Thread-safety: every function may be called from any thread (one mutex).
 */
#ifndef CPQD_PORTAL_H
#define CPQD_PORTAL_H

#include "cpqd/auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTAL_TOKEN_MAX 48           /* 43 base64url characters + NUL */
#define PORTAL_SESSIONS_MAX 10000     /* live sessions; the oldest goes first when full */
#define PORTAL_TTL_DEFAULT (8 * 3600) /* seconds a session lives (--session-ttl) */
#define PORTAL_TTL_MAX (30 * 86400)

#define PORTAL_KEY_ID_MAX 64 /* bytes of a key id kept with a session */

typedef struct portal_session {
    /* whose session, as made (NULL: development mode, an admin): compared
     * only, never read after the key file was reloaded; the key in force is
     * found again by key_id on every request (portal_session_key) */
    const auth_key *key;
    char key_id[PORTAL_KEY_ID_MAX];
    char csrf[PORTAL_TOKEN_MAX]; /* the token every state change must carry */
    int64_t expires_ms;          /* unix milliseconds (CLOCK_REALTIME) */
} portal_session;

/* Makes a session for key (NULL in development mode) that lives ttl_s
 * seconds (1..PORTAL_TTL_MAX): writes its token, NUL-terminated, into
 * token[0..PORTAL_TOKEN_MAX) and the session into *out. When
 * PORTAL_SESSIONS_MAX sessions are live, the one that expires first is
 * ended. Returns 0, CPQD_EINVAL (bad ttl) or CPQD_EIO (getrandom failed). */
int portal_session_new(const auth_key *key, unsigned ttl_s, char token[PORTAL_TOKEN_MAX],
                       portal_session *out);

/* The live session of token[0..len) into *out: 0, or CPQD_ENOTFOUND when
 * there is none (unknown, ended or expired; an expired one is dropped). */
int portal_session_find(const char *token, size_t len, portal_session *out);

/* The key s stands for in keys (the key file in force), or NULL when it
 * is gone or revoked there: the session then ends with it. */
const auth_key *portal_session_key(const portal_session *s, const auth_keys *keys);

/* Ends the session of token[0..len): 0, or CPQD_ENOTFOUND. */
int portal_session_end(const char *token, size_t len);

/* Whether tok[0..len) is s's CSRF token (constant time in its content). */
bool portal_csrf_ok(const portal_session *s, const char *tok, size_t len);

/* Live sessions (expired ones not yet dropped included): for tests. */
size_t portal_session_count(void);

#endif
