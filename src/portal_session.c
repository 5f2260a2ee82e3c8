/*
 * portal_session: browser sessions of the portal (include/cpqd/portal.h).
 *
 * Owns: the session table: an open-addressing hash table keyed by the
 * SHA-256 digest of each token (linear probing, backward-shift deletion,
 * so a lookup stops at the first empty slot), tokens and CSRF tokens from
 * getrandom. Does not own: cookies or HTTP (http_portal.c).
 *
 * Invariant: a token is never stored, only its digest; a token matches a
 * slot only when the whole digest is equal (CRYPTO_memcmp), and a session
 * past its expiry is never returned.
 *
 * Mutable globals: ps_slots and ps_count, guarded by ps_lock.
 */
#include "cpqd/portal.h"

#include "cpqd/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PS_SLOTS 16384 /* power of two, > PORTAL_SESSIONS_MAX: probes stay short */
#define PS_DIGEST 32
#define PS_RANDOM 32 /* bytes of a token */

typedef struct ps_slot {
    bool used;
    unsigned char digest[PS_DIGEST]; /* SHA-256 of the token */
    portal_session s;
} ps_slot;

static pthread_mutex_t ps_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_slot ps_slots[PS_SLOTS];
static size_t ps_count;

/* Milliseconds: a session made at x.999 s with a ttl of 1 s must not
 * expire 1 ms later, as whole seconds would make it. */
static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int digest_of(const char *token, size_t len, unsigned char out[PS_DIGEST])
{
    unsigned int n = 0;
    return EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) == 1 && n == PS_DIGEST ? 0
                                                                                      : CPQD_ENOMEM;
}

static size_t home_of(const unsigned char d[PS_DIGEST])
{
    return ((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16) & (PS_SLOTS - 1);
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

/* The slot holding digest d, or PS_SLOTS. Caller holds ps_lock. */
static size_t slot_find(const unsigned char d[PS_DIGEST])
{
    for (size_t i = home_of(d), n = 0; n < PS_SLOTS; i = (i + 1) & (PS_SLOTS - 1), n++) {
        if (!ps_slots[i].used)
            return PS_SLOTS;
        if (CRYPTO_memcmp(ps_slots[i].digest, d, PS_DIGEST) == 0)
            return i;
    }
    return PS_SLOTS;
}

/* Empties slot i and moves later entries of its probe run back, so no
 * lookup meets a hole before its entry. Caller holds ps_lock. */
static void slot_clear(size_t i)
{
    OPENSSL_cleanse(&ps_slots[i], sizeof(ps_slots[i]));
    ps_count--;
    for (size_t j = (i + 1) & (PS_SLOTS - 1); ps_slots[j].used; j = (j + 1) & (PS_SLOTS - 1)) {
        size_t h = home_of(ps_slots[j].digest);
        /* j's entry may move to i when i lies on its probe path h..j */
        bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            ps_slots[i] = ps_slots[j];
            memset(&ps_slots[j], 0, sizeof(ps_slots[j]));
            i = j;
        }
    }
}

/* Ends every expired session; when still full, the one expiring first.
 * Caller holds ps_lock. */
static void make_room(int64_t now)
{
    size_t first = PS_SLOTS;
    for (size_t i = 0; i < PS_SLOTS; i++) {
        if (!ps_slots[i].used)
            continue;
        if (ps_slots[i].s.expires_ms <= now) {
            slot_clear(i);
            i--; /* slot_clear may have moved another entry into i */
            continue;
        }
        if (first == PS_SLOTS || ps_slots[i].s.expires_ms < ps_slots[first].s.expires_ms)
            first = i;
    }
    if (ps_count >= PORTAL_SESSIONS_MAX && first < PS_SLOTS)
        slot_clear(first);
}

int portal_session_new(const auth_key *key, unsigned ttl_s, char token[PORTAL_TOKEN_MAX],
                       portal_session *out)
{
    unsigned char d[PS_DIGEST];
    portal_session s = {.key = key};
    if (key && key->id)
        snprintf(s.key_id, sizeof(s.key_id), "%s", key->id);
    token[0] = '\0';
    if (ttl_s < 1 || ttl_s > PORTAL_TTL_MAX)
        return CPQD_EINVAL;
    int rc = random_token(token);
    if (rc == 0)
        rc = random_token(s.csrf);
    if (rc == 0)
        rc = digest_of(token, strlen(token), d);
    if (rc != 0) {
        token[0] = '\0';
        return rc;
    }
    int64_t now = now_ms();
    s.expires_ms = now + (int64_t)ttl_s * 1000;
    pthread_mutex_lock(&ps_lock);
    if (ps_count >= PORTAL_SESSIONS_MAX)
        make_room(now);
    size_t i = home_of(d);
    while (ps_slots[i].used)
        i = (i + 1) & (PS_SLOTS - 1);
    ps_slots[i].used = true;
    memcpy(ps_slots[i].digest, d, PS_DIGEST);
    ps_slots[i].s = s;
    ps_count++;
    pthread_mutex_unlock(&ps_lock);
    *out = s;
    return 0;
}

int portal_session_find(const char *token, size_t len, portal_session *out)
{
    unsigned char d[PS_DIGEST];
    if (!token || len == 0 || len >= PORTAL_TOKEN_MAX || digest_of(token, len, d) != 0)
        return CPQD_ENOTFOUND;
    int rc = CPQD_ENOTFOUND;
    pthread_mutex_lock(&ps_lock);
    size_t i = slot_find(d);
    if (i < PS_SLOTS && ps_slots[i].s.expires_ms <= now_ms()) {
        slot_clear(i);
    } else if (i < PS_SLOTS) {
        *out = ps_slots[i].s;
        rc = 0;
    }
    pthread_mutex_unlock(&ps_lock);
    return rc;
}

int portal_session_end(const char *token, size_t len)
{
    unsigned char d[PS_DIGEST];
    if (!token || len == 0 || len >= PORTAL_TOKEN_MAX || digest_of(token, len, d) != 0)
        return CPQD_ENOTFOUND;
    pthread_mutex_lock(&ps_lock);
    size_t i = slot_find(d);
    if (i < PS_SLOTS)
        slot_clear(i);
    pthread_mutex_unlock(&ps_lock);
    return i < PS_SLOTS ? 0 : CPQD_ENOTFOUND;
}

bool portal_csrf_ok(const portal_session *s, const char *tok, size_t len)
{
    size_t want = strlen(s->csrf);
    return tok && want > 0 && len == want && CRYPTO_memcmp(s->csrf, tok, len) == 0;
}

size_t portal_session_count(void)
{
    pthread_mutex_lock(&ps_lock);
    size_t n = ps_count;
    pthread_mutex_unlock(&ps_lock);
    return n;
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
