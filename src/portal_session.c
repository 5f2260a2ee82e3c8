/*
 * portal_session: browser sessions of the portal (include/cpqd/portal.h).
 *
 * Owns: tokens and CSRF tokens from getrandom, the digest a session is
 * stored under, expiry. Does not own: the rows (store_session.c), cookies
 * or HTTP (http_portal.c).
 *
 * Invariant: a token is never stored, only its SHA-256 digest; a session
 * past its expiry is never returned.
 */
#include "cpqd/portal.h"

#include "cpqd/digest.h"
#include "cpqd/err.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PS_RANDOM 32 /* bytes of a token */

/* Milliseconds: a session made at x.999 s with a ttl of 1 s must not
 * expire 1 ms later, as whole seconds would make it. */
static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The digest a token is stored under, or -1 for what cannot be a token. */
static int digest_of(const char *token, size_t len, char out[DIGEST_SHA256_HEX_LEN])
{
    if (!token || len == 0 || len >= PORTAL_TOKEN_MAX)
        return -1;
    return digest_sha256_hex(token, len, out) == 0 ? 0 : -1;
}

/* base64url (RFC 4648 section 5) of PS_RANDOM fresh random bytes. */
static int random_token(char out[PORTAL_TOKEN_MAX])
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[PS_RANDOM + 2] = {0};
    for (size_t got = 0; got < PS_RANDOM;) {
        ssize_t r = getrandom(b + got, PS_RANDOM - got, 0);
        if (r <= 0)
            return CPQD_EIO;
        got += (size_t)r;
    }
    size_t o = 0;
    for (size_t i = 0; i < PS_RANDOM; i += 3) {
        unsigned v = (unsigned)b[i] << 16 | (unsigned)b[i + 1] << 8 | b[i + 2];
        size_t chars = PS_RANDOM - i >= 3 ? 4 : PS_RANDOM - i + 1;
        for (size_t k = 0; k < chars; k++)
            out[o++] = a[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    OPENSSL_cleanse(b, sizeof(b));
    return 0;
}


int portal_session_new(store *st, const auth_key *key, unsigned ttl_s,
                       char token[PORTAL_TOKEN_MAX], portal_session *out)
{
    char d[DIGEST_SHA256_HEX_LEN];
    portal_session s = {0};
    if (key && key->id)
        snprintf(s.key_id, sizeof(s.key_id), "%s", key->id);
    token[0] = '\0';
    if (ttl_s < 1 || ttl_s > PORTAL_TTL_MAX)
        return CPQD_EINVAL;
    int rc = random_token(token);
    if (rc == 0)
        rc = random_token(s.csrf);
    if (rc == 0 && digest_of(token, strlen(token), d) != 0)
        rc = CPQD_ENOMEM;
    int64_t now = now_ms();
    s.expires_ms = now + (int64_t)ttl_s * 1000;
    if (rc == 0)
        rc = store_session_put(st, d, &s, now, PORTAL_SESSIONS_PER_KEY);
    if (rc != 0) {
        OPENSSL_cleanse(token, PORTAL_TOKEN_MAX);
        return rc;
    }
    *out = s;
    return 0;
}

int portal_session_find(store *st, const char *token, size_t len, portal_session *out)
{
    char d[DIGEST_SHA256_HEX_LEN];
    if (digest_of(token, len, d) != 0)
        return CPQD_ENOTFOUND;
    return store_session_get(st, d, now_ms(), out);
}

int portal_session_end(store *st, const char *token, size_t len)
{
    char d[DIGEST_SHA256_HEX_LEN];
    if (digest_of(token, len, d) != 0)
        return CPQD_ENOTFOUND;
    return store_session_del(st, d);
}

bool portal_csrf_ok(const portal_session *s, const char *tok, size_t len)
{
    size_t want = strlen(s->csrf);
    return tok && want > 0 && len == want && CRYPTO_memcmp(s->csrf, tok, len) == 0;
}

const auth_key *portal_session_key(const portal_session *s, const auth_keys *keys)
{
    for (size_t i = 0; keys && s->key_id[0] && i < auth_keys_count(keys); i++) {
        const auth_key *k = auth_keys_at(keys, i);
        if (k->id && !strcmp(k->id, s->key_id))
            return k->revoked ? NULL : k;
    }
    return NULL;
}
