/*
 * auth: API keys (include/cpqd/auth.h, docs/auth.md).
 *
 * Owns: the key file (reading and validating it with cat's YAML node
 * tree, appending an entry to it atomically), making keys, and the
 * constant-time lookup of a bearer token. Does not own: parsing the
 * Authorization header or which role may call which route (http).
 *
 * Key invariant: a key is never written anywhere but key_out; the file
 * and the loaded auth_keys hold only SHA-256 digests. An auth_keys holds
 * entries whose ids and digests are pairwise distinct, so at most one
 * entry can match a token, and a lookup compares the token's digest with
 * every entry's, always all of them.
 *
 * Appending never re-serialises: the new file is the old bytes followed
 * by the entry's text, indented like the first entry, and is parsed again
 * before it replaces the old one, so a layout the text cannot extend
 * (flow style, a document end marker) is refused instead of corrupted.
 *
 * Mutable globals: auth_compares (CPQD_TESTING builds only; C11 atomic).
 */
#include "cpqd/auth.h"

#include "cat_int.h" /* yn_parse: the YAML node tree cat also uses */
#include "cpqd/arena.h"
#include "cpqd/cli.h"
#include "cpqd/date.h"
#include "cpqd/digest.h"
#include "cpqd/file.h"
#include "cpqd/log.h"
#include "cpqd/metrics.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stdatomic.h>

#ifdef CPQD_TESTING
static atomic_ulong auth_compares; /* digest comparisons by lookups */

unsigned long auth_test_compares(void)
{
    return atomic_load(&auth_compares);
}
#endif

#define AK_DIGEST DIGEST_SHA256_LEN
#define AK_KEY_BYTES 32       /* random bytes in a key */
#define AK_KEY_PREFIX "cpqd_" /* keys are greppable in logs and leak scanners */
#define AK_HASH_PREFIX "sha256:"
#define AK_ID_TRIES 16 /* fresh random ids tried before giving up */

#define AK_ID_RULE "letters, digits, '_', '.', '-'; starts with a letter or digit; at most 64"

static const char *const ak_role_names[AUTH_ROLE_N] = {
    [AUTH_ROLE_PARTNER] = "partner", [AUTH_ROLE_REP] = "rep",     [AUTH_ROLE_MANAGER] = "manager",
    [AUTH_ROLE_CRM] = "crm",         [AUTH_ROLE_ADMIN] = "admin",
};

static const char *const ak_entry_keys[] = {
    "id",   "name",          "role",           "partner", "discount_authority", "max_lines",
    "quotes_per_minute", "bytes_per_day", "max_concurrent", "hash", "created", "revoked", NULL,
};

static const char ak_file_header[] =
    "# cpqd API keys (docs/auth.md). Written by `cpqd key new`, which appends\n"
    "# entries and keeps everything else byte for byte. Only SHA-256 hashes of\n"
    "# the keys are stored; a lost key cannot be recovered, only replaced.\n";

typedef struct ak_entry {
    auth_key pub;                    /* first: lookups return &entry->pub */
    unsigned char digest[AK_DIGEST]; /* SHA-256 of the key string */
    bool has_digest;                 /* hash was present and well formed */
    unsigned line;                   /* where the entry starts */
    unsigned id_line, id_col;        /* position of the id value */
    unsigned id_key_col;             /* column of the 'id' key (its siblings' indentation) */
    unsigned hash_line, hash_col;    /* position of the hash value */
} ak_entry;

struct auth_keys {
    arena *a;    /* the entries and their strings */
    ak_entry *e; /* n entries, in file order */
    size_t n;
    size_t nrevoked;  /* entries with `revoked:` */
    atomic_int refs;  /* auth_keys_retain / _release */
};

/* ---- roles, ids, names ---- */

const char *auth_role_name(auth_role r)
{
    return (unsigned)r < AUTH_ROLE_N ? ak_role_names[r] : NULL;
}

static int ak_role_parse_n(const char *s, size_t len, auth_role *out)
{
    for (int r = 0; s && r < AUTH_ROLE_N; r++) {
        if (strlen(ak_role_names[r]) == len && memcmp(ak_role_names[r], s, len) == 0) {
            *out = (auth_role)r;
            return 0;
        }
    }
    return CPQD_EINVAL;
}

int auth_role_parse(const char *s, auth_role *out)
{
    return s ? ak_role_parse_n(s, strlen(s), out) : CPQD_EINVAL;
}

/* Key ids and partner ids: the same rule as catalog ids, so a partner id
 * written here can be one a catalog declares. */
static bool ak_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* Length of the UTF-8 sequence at s[0..len) and its code point in *cp,
 * or 0 if it is malformed (overlong, surrogate, beyond U+10FFFF). */
static size_t ak_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    /* lead bytes: 00-7F alone; C2-DF, E0-EF, F0-F4 start 2, 3, 4 bytes;
     * 80-C1 (continuations, overlong 2-byte) and F5-FF never lead */
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xc2 ? 0
               : s[0] < 0xe0 ? 2
               : s[0] < 0xf0 ? 3
               : s[0] < 0xf5 ? 4
                             : 0;
    if (n == 0 || n > len)
        return 0;
    uint32_t c = n == 1 ? s[0] : s[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3fu);
    }
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* A name goes to logs and is written back into YAML: printable UTF-8
 * only (what libyaml accepts in a double-quoted scalar, minus every
 * control character, C1 included, and the byte-order mark). */
static bool ak_name_ok(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0 || len > AUTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t c = 0;
        size_t n = ak_utf8(u + i, len - i, &c);
        if (n == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0xfeff || c == 0xfffe ||
            c == 0xffff)
            return false;
        i += n;
    }
    return true;
}

/* ---- hashing and key text ---- */

/* "sha256:" + 64 lowercase hex digits -> digest. */
static bool ak_hash_parse(const char *s, size_t len, unsigned char out[AK_DIGEST])
{
    size_t p = sizeof(AK_HASH_PREFIX) - 1;
    if (len != p + 2 * AK_DIGEST || memcmp(s, AK_HASH_PREFIX, p) != 0)
        return false;
    return digest_unhex(s + p, AK_DIGEST, out) == 0;
}

static void ak_hash_format(const unsigned char d[AK_DIGEST], char out[AUTH_HASH_MAX])
{
    memcpy(out, AK_HASH_PREFIX, sizeof(AK_HASH_PREFIX) - 1);
    digest_hex(d, AK_DIGEST, out + sizeof(AK_HASH_PREFIX) - 1);
}

static int ak_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return CPQD_EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* RFC 4648 section 5 (base64url), no padding: safe in headers, URLs,
 * shells and YAML without quoting. */
static void ak_b64url(const unsigned char *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        for (int k = 3; k >= 0; k--)
            out[o++] = al[(v >> (6 * k)) & 63];
    }
    if (n - i == 1) {
        out[o++] = al[in[i] >> 2];
        out[o++] = al[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        out[o++] = al[v >> 10];
        out[o++] = al[(v >> 4) & 63];
        out[o++] = al[(v & 15) << 2];
    }
    out[o] = '\0';
}

int auth_key_generate(char *key_out, size_t cap)
{
    unsigned char raw[AK_KEY_BYTES];
    if (!key_out || cap < AUTH_KEY_MAX)
        return CPQD_EINVAL;
    key_out[0] = '\0';
    if (ak_random(raw, sizeof(raw)))
        return CPQD_EIO;
    memcpy(key_out, AK_KEY_PREFIX, sizeof(AK_KEY_PREFIX) - 1);
    ak_b64url(raw, sizeof(raw), key_out + sizeof(AK_KEY_PREFIX) - 1);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int auth_key_hash(const char *key, size_t len, char *out, size_t cap)
{
    unsigned char d[AK_DIGEST];
    if (!out || cap < AUTH_HASH_MAX || (!key && len))
        return CPQD_EINVAL;
    if (digest_sha256(key ? key : "", len, d))
        return CPQD_ENOMEM;
    ak_hash_format(d, out);
    return 0;
}

/* ---- lookup ---- */

const auth_key *auth_keys_lookup(const auth_keys *k, const char *token, size_t len)
{
    unsigned char d[AK_DIGEST];
    if (!k || !token || len == 0 || digest_sha256(token, len, d))
        return NULL;
    /* No early exit and no branch on a comparison: hit is index + 1 of
     * the match (ids and digests are unique, so at most one), selected
     * with a mask. */
    size_t hit = 0;
    for (size_t i = 0; i < k->n; i++) {
        size_t eq = (size_t)(CRYPTO_memcmp(d, k->e[i].digest, AK_DIGEST) == 0);
        hit |= (i + 1) & ((size_t)0 - eq);
#ifdef CPQD_TESTING
        atomic_fetch_add_explicit(&auth_compares, 1, memory_order_relaxed);
#endif
    }
    return hit ? &k->e[hit - 1].pub : NULL;
}

size_t auth_keys_count(const auth_keys *k)
{
    return k ? k->n : 0;
}

void auth_keys_free(auth_keys *k)
{
    if (!k)
        return;
    arena_free(k->a);
    free(k);
}

auth_keys *auth_keys_retain(auth_keys *k)
{
    if (k)
        atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

void auth_keys_release(auth_keys *k)
{
    if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
        auth_keys_free(k);
}

const auth_key *auth_keys_at(const auth_keys *k, size_t i)
{
    return k && i < k->n ? &k->e[i].pub : NULL;
}

size_t auth_keys_revoked(const auth_keys *k)
{
    return k ? k->nrevoked : 0;
}

/* ---- decoding a key file's tree ---- */

typedef struct ak_ld {
    const char *file;
    cpqd_errs *errs;
    arena *a; /* where entries and their strings go */
    int rc;   /* first error code */
} ak_ld;

/* A decoded key file. */
typedef struct ak_doc {
    const yn *root;     /* NULL: empty document */
    const yn *keys_key; /* the 'keys' key node, NULL if absent */
    const yn *keys;     /* its value, NULL if absent */
    ak_entry *e;        /* n entries (from ak_ld's arena) */
    size_t n;
} ak_doc;

static void ak_err(ak_ld *l, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ak_err(ak_ld *l, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (errs_add(l->errs, CPQD_EINVAL, l->file, line, col, "%s", msg))
        l->rc = CPQD_ENOMEM;
    if (!l->rc)
        l->rc = CPQD_EINVAL;
}

static const char *ak_dup(ak_ld *l, const yn *v)
{
    const char *s = arena_strndup(l->a, v->str, v->len);
    if (!s)
        l->rc = CPQD_ENOMEM;
    return s;
}

/* The key node of key in map m, or NULL. */
static const yn *ak_key_node(const yn *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i]->str, key) == 0)
            return m->keys[i];
    return NULL;
}

/* The scalar value of key in entry m; NULL (with an error when required
 * or not a scalar) otherwise. */
static const yn *ak_field(ak_ld *l, const yn *m, const char *key, bool req)
{
    const yn *v = yn_get(m, key);
    if (!v && req)
        ak_err(l, m->line, m->col, "key entry is missing '%s'", key);
    if (v && v->type != YN_SCALAR) {
        ak_err(l, v->line, v->col, "'%s' must be a scalar, not %s", key,
               yn_type_name((yn_type)v->type));
        return NULL;
    }
    return v;
}

static void ak_unknown_keys(ak_ld *l, const yn *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const yn *k = m->keys[i];
        size_t j = 0;
        while (ak_entry_keys[j] && strcmp(ak_entry_keys[j], k->str) != 0)
            j++;
        if (!ak_entry_keys[j])
            ak_err(l, k->line, k->col,
                   "unknown key '%.64s' in a key entry (id, name, role, partner, "
                   "discount_authority, max_lines, quotes_per_minute, bytes_per_day, "
                   "max_concurrent, hash, created, revoked)",
                   k->str);
    }
}

static void ak_entry_id(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *v = ak_field(l, m, "id", true);
    if (!v)
        return;
    if (!ak_id_ok(v->str, v->len)) {
        ak_err(l, v->line, v->col, "invalid id '%.64s' (" AK_ID_RULE ")", v->str);
        return;
    }
    x->pub.id = ak_dup(l, v);
    x->id_line = v->line;
    x->id_col = v->col;
    x->id_key_col = ak_key_node(m, "id")->col;
}

static void ak_entry_name(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *v = ak_field(l, m, "name", false);
    if (v && !ak_name_ok(v->str, v->len))
        ak_err(l, v->line, v->col,
               "'name' must be printable UTF-8 text of 1 to %d bytes, without control characters",
               AUTH_NAME_MAX);
    else if (v)
        x->pub.name = ak_dup(l, v);
}

/* Role and partner together: a partner key is bound to exactly one
 * partner id, and no other role may carry one. */
static void ak_entry_role(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *r = ak_field(l, m, "role", true);
    const yn *p = ak_field(l, m, "partner", false);
    if (r && ak_role_parse_n(r->str, r->len, &x->pub.role) != 0) {
        ak_err(l, r->line, r->col, "invalid role '%.32s' (partner, rep, manager, crm or admin)",
               r->str);
        r = NULL;
    }
    if (p && !ak_id_ok(p->str, p->len)) {
        ak_err(l, p->line, p->col, "invalid partner id '%.64s' (" AK_ID_RULE ")", p->str);
        p = NULL;
    }
    if (!r)
        return;
    if (x->pub.role == AUTH_ROLE_PARTNER && !yn_get(m, "partner")) {
        ak_err(l, r->line, r->col, "role partner needs a 'partner' id");
    } else if (x->pub.role != AUTH_ROLE_PARTNER && yn_get(m, "partner")) {
        const yn *k = ak_key_node(m, "partner");
        ak_err(l, k->line, k->col, "'partner' is only allowed with role partner, not %s",
               ak_role_names[x->pub.role]);
    } else if (p) {
        x->pub.partner = ak_dup(l, p);
    }
}

static void ak_entry_authority(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *v = ak_field(l, m, "discount_authority", false);
    if (!v)
        return;
    money_dec d;
    if (money_parse(v->str, v->len, &d) != 0 || money_sign(d) < 0 ||
        money_cmp(d, money_from_int(100)) > 0) {
        ak_err(l, v->line, v->col,
               "'discount_authority' must be a percent between 0 and 100, not '%.32s'", v->str);
        return;
    }
    x->pub.has_authority = true;
    x->pub.authority = d;
}

/* The defaults by role (docs/auth.md "Limits"): a partner's portal
 * quotes a few hundred lines at a human pace; staff tools more; the CRM
 * and operators synchronise in bulk. Requests in answer count until
 * their replies are written, and a worker busy with one request flushes
 * the others' replies only after it, so the concurrency defaults leave
 * room for as many connections as a busy integration keeps open. */
auth_limits auth_role_limits(auth_role r)
{
    static const auth_limits by_role[AUTH_ROLE_N] = {
        [AUTH_ROLE_PARTNER] = {500, 60, 50000000ull, 64},
        [AUTH_ROLE_REP] = {2000, 120, 200000000ull, 128},
        [AUTH_ROLE_MANAGER] = {2000, 120, 200000000ull, 128},
        [AUTH_ROLE_CRM] = {AUTH_LIMIT_LINES_MAX, 600, 1000000000ull, 512},
        [AUTH_ROLE_ADMIN] = {AUTH_LIMIT_LINES_MAX, 600, 1000000000ull, 512},
    };
    return (unsigned)r < AUTH_ROLE_N ? by_role[r] : by_role[AUTH_ROLE_PARTNER];
}

/* An optional positive integer field lo..hi into *out (kept when absent). */
static void ak_entry_count(ak_ld *l, const yn *m, const char *field, uint64_t hi, uint64_t *out)
{
    const yn *v = ak_field(l, m, field, false);
    if (!v)
        return;
    uint64_t n = 0;
    bool ok = v->len > 0 && v->len <= 15 && strspn(v->str, "0123456789") == v->len;
    for (size_t i = 0; ok && i < v->len; i++)
        n = n * 10 + (uint64_t)(v->str[i] - '0');
    if (!ok || n < 1 || n > hi) {
        ak_err(l, v->line, v->col, "'%s' must be an integer from 1 to %llu, not '%.32s'", field,
               (unsigned long long)hi, v->str);
        return;
    }
    *out = n;
}

static void ak_entry_limits(ak_ld *l, const yn *m, ak_entry *x)
{
    auth_limits *lim = &x->pub.limits;
    *lim = auth_role_limits(x->pub.role);
    uint64_t lines = lim->max_lines, pm = lim->quotes_per_minute, bytes = lim->bytes_per_day;
    uint64_t conc = lim->max_concurrent;
    ak_entry_count(l, m, "max_lines", AUTH_LIMIT_LINES_MAX, &lines);
    ak_entry_count(l, m, "quotes_per_minute", AUTH_LIMIT_PER_MINUTE_MAX, &pm);
    ak_entry_count(l, m, "bytes_per_day", AUTH_LIMIT_BYTES_MAX, &bytes);
    ak_entry_count(l, m, "max_concurrent", AUTH_LIMIT_CONCURRENT_MAX, &conc);
    lim->max_lines = (size_t)lines;
    lim->quotes_per_minute = (unsigned)pm;
    lim->bytes_per_day = bytes;
    lim->max_concurrent = (unsigned)conc;
}

static void ak_entry_hash(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *v = ak_field(l, m, "hash", true);
    if (!v)
        return;
    if (!ak_hash_parse(v->str, v->len, x->digest)) {
        ak_err(l, v->line, v->col,
               "malformed hash (expected \"sha256:\" and 64 lowercase hex digits)");
        return;
    }
    x->has_digest = true;
    x->hash_line = v->line;
    x->hash_col = v->col;
}

/* created and revoked: optional dates. */
static void ak_entry_dates(ak_ld *l, const yn *m, ak_entry *x)
{
    const yn *v = ak_field(l, m, "created", false);
    date_days d;
    if (v && date_parse(v->str, v->len, &d) != 0)
        ak_err(l, v->line, v->col, "'created' must be a date YYYY-MM-DD, not '%.32s'", v->str);
    else if (v)
        x->pub.created = ak_dup(l, v);
    v = ak_field(l, m, "revoked", false);
    if (v && date_parse(v->str, v->len, &d) != 0)
        ak_err(l, v->line, v->col, "'revoked' must be a date YYYY-MM-DD, not '%.32s'", v->str);
    else if (v)
        x->pub.revoked_on = ak_dup(l, v);
    x->pub.revoked = x->pub.revoked_on != NULL;
}

static void ak_entry_decode(ak_ld *l, const yn *m, ak_entry *x)
{
    if (m->type != YN_MAP) {
        ak_err(l, m->line, m->col, "a key entry must be a mapping, not %s",
               yn_type_name((yn_type)m->type));
        return;
    }
    x->line = m->line;
    ak_unknown_keys(l, m);
    ak_entry_id(l, m, x);
    ak_entry_name(l, m, x);
    ak_entry_role(l, m, x);
    ak_entry_authority(l, m, x);
    ak_entry_limits(l, m, x);
    ak_entry_hash(l, m, x);
    ak_entry_dates(l, m, x);
}

/* Finds 'keys' in the root; reports everything else at top level. */
static void ak_root_decode(ak_ld *l, bool allow_empty, ak_doc *d)
{
    const yn *root = d->root;
    if (!root) {
        if (!allow_empty)
            ak_err(l, 1, 1, "empty key file (expected a 'keys:' list)");
        return;
    }
    if (root->type != YN_MAP) {
        ak_err(l, root->line, root->col, "a key file is a mapping with one key, 'keys'");
        return;
    }
    for (size_t i = 0; i < root->n; i++) {
        if (strcmp(root->keys[i]->str, "keys") == 0) {
            d->keys_key = root->keys[i];
            d->keys = root->vals[i];
        } else {
            ak_err(l, root->keys[i]->line, root->keys[i]->col,
                   "unknown key '%.64s' (a key file holds only 'keys')", root->keys[i]->str);
        }
    }
    if (!d->keys)
        ak_err(l, root->line, root->col, "missing 'keys'");
}

static void ak_doc_decode(ak_ld *l, bool allow_empty, ak_doc *d)
{
    ak_root_decode(l, allow_empty, d);
    const yn *k = d->keys;
    if (!k || (k->type == YN_SCALAR && !k->quoted && k->len == 0))
        return; /* `keys:` with nothing after it: no entries yet */
    if (k->type != YN_SEQ) {
        ak_err(l, k->line, k->col, "'keys' must be a list of key entries");
        return;
    }
    if (k->n > AUTH_MAX_KEYS) {
        ak_err(l, k->line, k->col, "too many keys (at most %d)", AUTH_MAX_KEYS);
        return;
    }
    d->e = arena_calloc(l->a, k->n ? k->n : 1, sizeof(ak_entry));
    if (!d->e) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    d->n = k->n;
    for (size_t i = 0; i < k->n && l->rc != CPQD_ENOMEM; i++)
        ak_entry_decode(l, k->vals[i], &d->e[i]);
}

/* Sorting pointers to entries; equal fields keep file order. */
static int ak_cmp_id(const void *pa, const void *pb)
{
    const ak_entry *a = *(ak_entry *const *)pa, *b = *(ak_entry *const *)pb;
    int c = strcmp(a->pub.id, b->pub.id);
    return c ? c : (a > b) - (a < b);
}

static int ak_cmp_digest(const void *pa, const void *pb)
{
    const ak_entry *a = *(ak_entry *const *)pa, *b = *(ak_entry *const *)pb;
    int c = memcmp(a->digest, b->digest, AK_DIGEST);
    return c ? c : (a > b) - (a < b);
}

/* Reports every later duplicate of an id or a hash against the first
 * one; sorted, so a large file does not cost n^2 comparisons. */
static void ak_check_dups(ak_ld *l, ak_doc *d, ak_entry **p, bool by_id)
{
    size_t m = 0;
    for (size_t i = 0; i < d->n; i++)
        if (by_id ? d->e[i].pub.id != NULL : d->e[i].has_digest)
            p[m++] = &d->e[i];
    qsort(p, m, sizeof(*p), by_id ? ak_cmp_id : ak_cmp_digest);
    const ak_entry *first = m ? p[0] : NULL;
    for (size_t i = 1; i < m; i++) {
        const ak_entry *x = p[i];
        bool same = by_id ? strcmp(x->pub.id, first->pub.id) == 0
                          : memcmp(x->digest, first->digest, AK_DIGEST) == 0;
        if (!same)
            first = x;
        else if (by_id)
            ak_err(l, x->id_line, x->id_col, "duplicate id '%s' (first at line %u)", x->pub.id,
                   first->id_line);
        else
            ak_err(l, x->hash_line, x->hash_col,
                   "duplicate hash: the same key as the entry at line %u", first->line);
    }
}

/* Parses buf[0..len) (named file in errors) with the tree in tree and
 * the entries in a. allow_empty accepts an empty document (a file about
 * to receive its first key). Returns 0 or the first error code; every
 * error found is in errs. */
static int ak_decode(const char *file, const char *buf, size_t len, arena *tree, arena *a,
                     cpqd_errs *errs, bool allow_empty, ak_doc *d)
{
    yn *root = NULL;
    memset(d, 0, sizeof(*d));
    int rc = yn_parse(tree, file, buf, len, errs, &root);
    if (rc)
        return rc;
    ak_ld l = {file, errs, a, 0};
    d->root = root;
    ak_doc_decode(&l, allow_empty, d);
    if (l.rc == CPQD_ENOMEM || d->n == 0)
        return l.rc;
    ak_entry **p = calloc(d->n, sizeof(*p));
    if (!p)
        return CPQD_ENOMEM;
    ak_check_dups(&l, d, p, true);
    ak_check_dups(&l, d, p, false);
    free(p);
    return l.rc;
}

/* ---- reading ---- */

/* Reads path into a malloc'ed *buf; a missing file sets *exists false
 * and returns 0. */
static int ak_read(const char *path, char **buf, size_t *len, bool *exists, cpqd_errs *errs)
{
    char why[FILE_WHY_MAX];
    int rc = file_read(path, AUTH_MAX_FILE, buf, len, why);
    *exists = rc == 0;
    if (rc == CPQD_ENOTFOUND)
        return 0;
    if (rc && rc != CPQD_ENOMEM)
        errs_add(errs, rc, path, 0, 0, "%s", why);
    return rc;
}

int auth_keys_load(const char *path, auth_keys **out, cpqd_errs *errs)
{
    char *buf = NULL;
    size_t len = 0;
    bool exists = false;
    arena *tree = NULL;
    auth_keys *k = NULL;
    ak_doc d;
    *out = NULL;
    int rc = ak_read(path, &buf, &len, &exists, errs);
    if (rc == 0 && !exists) {
        errs_add(errs, CPQD_EIO, path, 0, 0, "cannot read: %s", strerror(ENOENT));
        rc = CPQD_EIO;
    }
    if (rc)
        goto out;
    k = calloc(1, sizeof(*k));
    tree = arena_new(16384);
    rc = k && tree && (k->a = arena_new(4096)) ? 0 : CPQD_ENOMEM;
    if (rc == 0)
        rc = ak_decode(path, buf, len, tree, k->a, errs, false, &d);
    if (rc)
        goto out;
    k->e = d.e;
    k->n = d.n;
    for (size_t i = 0; i < d.n; i++)
        k->nrevoked += d.e[i].pub.revoked;
    atomic_init(&k->refs, 1);
    *out = k;
    k = NULL;
out:
    auth_keys_free(k);
    arena_free(tree);
    free(buf);
    return rc;
}

/* ---- appending an entry ---- */

/* The key file being rewritten: its directory (locked) and bytes. */
typedef struct ak_file {
    const char *path;
    char *dir; /* malloc'ed directory of path */
    int dirfd; /* open on dir, flock'ed; -1 when not open */
    char *buf; /* the current bytes (malloc'ed), len of them */
    size_t len;
    bool exists;
} ak_file;

/* Opens and locks path's directory: all writers of files there take
 * turns, so two `cpqd key new` never both read the old file. */
static int ak_file_lock(ak_file *f, cpqd_errs *errs)
{
    const char *slash = strrchr(f->path, '/');
    if (!*f->path || (slash && !slash[1])) {
        errs_add(errs, CPQD_EINVAL, f->path, 0, 0, "not a file path");
        return CPQD_EINVAL;
    }
    f->dir = !slash             ? strdup(".")
             : slash == f->path ? strdup("/")
                                : strndup(f->path, (size_t)(slash - f->path));
    if (!f->dir)
        return CPQD_ENOMEM;
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd < 0 || flock(f->dirfd, LOCK_EX) != 0) {
        errs_add(errs, CPQD_EIO, f->dir, 0, 0, "cannot open directory: %s", strerror(errno));
        return CPQD_EIO;
    }
    return 0;
}

static void ak_file_fini(ak_file *f)
{
    if (f->dirfd >= 0)
        close(f->dirfd); /* releases the lock */
    free(f->dir);
    free(f->buf);
}

static int ak_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Replaces f->path by data[0..len): temporary file in the same directory
 * (so rename is atomic), 0600 whatever the umask, fsync, rename, fsync of
 * the directory so the rename itself survives a crash. */
static int ak_file_replace(const ak_file *f, const char *data, size_t len, cpqd_errs *errs)
{
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    size_t cap = strlen(f->dir) + strlen(base) + 16;
    char *tmp = malloc(cap);
    if (!tmp)
        return CPQD_ENOMEM;
    snprintf(tmp, cap, "%s/.%s.XXXXXX", f->dir, base);
    int rc = 0, fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0600) != 0 || ak_write_all(fd, data, len) != 0 || fsync(fd) != 0)
        rc = CPQD_EIO;
    if (fd >= 0 && close(fd) != 0)
        rc = CPQD_EIO;
    if (rc == 0 && rename(tmp, f->path) != 0)
        rc = CPQD_EIO;
    if (rc)
        errs_add(errs, CPQD_EIO, f->path, 0, 0, "cannot write: %s", strerror(errno));
    if (rc && fd >= 0)
        unlink(tmp);
    if (rc == 0 && fsync(f->dirfd) != 0) {
        errs_add(errs, CPQD_EIO, f->dir, 0, 0, "cannot sync directory: %s", strerror(errno));
        rc = CPQD_EIO;
    }
    free(tmp);
    return rc;
}

/* What one new entry holds. */
typedef struct ak_new {
    char id[16]; /* "k_" + 8 hex */
    auth_role role;
    const char *partner, *name; /* NULL when absent */
    char hash[AUTH_HASH_MAX];
    unsigned char digest[AK_DIGEST];
    char created[DATE_FMT_LEN];
} ak_new;

/* Where the entry's lines start: the column of the '-' and of its keys
 * (1-based), and what goes before the entry. */
typedef struct ak_layout {
    unsigned dash, key;
    bool newline;   /* the file does not end with a line break */
    bool keys_line; /* the file has no 'keys:' yet */
    bool header;    /* a new file: the comment header first */
} ak_layout;

/* Indents like the first entry, so the text extends the same list. */
static void ak_layout_of(const ak_file *f, const ak_doc *d, ak_layout *lo)
{
    memset(lo, 0, sizeof(*lo));
    lo->dash = 3;
    lo->key = 5;
    lo->header = !f->exists;
    lo->keys_line = !d->keys;
    lo->newline = f->len > 0 && f->buf[f->len - 1] != '\n' && f->buf[f->len - 1] != '\r';
    if (d->keys && d->keys->type == YN_SEQ && d->keys->n > 0 &&
        d->keys->vals[0]->col > d->keys->col) {
        lo->dash = d->keys->col;
        lo->key = d->keys->vals[0]->col;
    }
}

/* A YAML double-quoted scalar; the name is printable (ak_name_ok), so
 * only '"' and '\' need escaping. */
static void ak_put_quoted(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void ak_put_entry(FILE *o, const ak_layout *lo, const ak_new *n)
{
    int dash = (int)lo->dash - 1, gap = (int)(lo->key - lo->dash) - 1, ind = (int)lo->key - 1;
    fprintf(o, "%*s-%*sid: %s\n", dash, "", gap, "", n->id);
    if (n->name) {
        fprintf(o, "%*sname: ", ind, "");
        ak_put_quoted(o, n->name);
        fputc('\n', o);
    }
    fprintf(o, "%*srole: %s\n", ind, "", ak_role_names[n->role]);
    if (n->partner)
        fprintf(o, "%*spartner: %s\n", ind, "", n->partner);
    fprintf(o, "%*shash: %s\n", ind, "", n->hash);
    fprintf(o, "%*screated: %s\n", ind, "", n->created);
}

/* The old bytes, unchanged, then the entry. */
static int ak_compose(const ak_file *f, const ak_doc *d, const ak_new *n, char **out,
                      size_t *out_len)
{
    ak_layout lo;
    ak_layout_of(f, d, &lo);
    *out = NULL;
    FILE *o = open_memstream(out, out_len);
    if (!o)
        return CPQD_ENOMEM;
    fwrite(f->buf ? f->buf : "", 1, f->len, o);
    if (lo.newline)
        fputc('\n', o);
    if (lo.header)
        fputs(ak_file_header, o);
    if (lo.keys_line)
        fputs("keys:\n", o);
    ak_put_entry(o, &lo, n);
    if (fclose(o) != 0) {
        free(*out);
        *out = NULL;
        return CPQD_ENOMEM;
    }
    return 0;
}

/* The new text must load cleanly as the old entries plus this one;
 * anything else means the appended text did not extend the list. */
static int ak_verify(const ak_file *f, const ak_doc *old, const ak_new *n, const char *buf,
                     size_t len, cpqd_errs *errs)
{
    arena *tree = arena_new(16384), *a = arena_new(4096);
    cpqd_errs *scratch = errs_new();
    ak_doc d;
    int rc = tree && a && scratch ? ak_decode(f->path, buf, len, tree, a, scratch, false, &d)
                                  : CPQD_ENOMEM;
    if (rc != CPQD_ENOMEM && (rc || d.n != old->n + 1 || strcmp(d.e[d.n - 1].pub.id, n->id) ||
                              memcmp(d.e[d.n - 1].digest, n->digest, AK_DIGEST))) {
        const yn *at = old->keys_key ? old->keys_key : old->root;
        errs_add(errs, CPQD_EINVAL, f->path, at ? at->line : 1, at ? at->col : 1,
                 "cannot append a key here: write 'keys:' as the last line or followed by a "
                 "block list ('- id: ...'), with no document end marker");
        rc = CPQD_EINVAL;
    }
    errs_free(scratch);
    arena_free(tree);
    arena_free(a);
    return rc;
}

static bool ak_id_taken(const ak_doc *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].pub.id && strcmp(d->e[i].pub.id, id) == 0)
            return true;
    return false;
}

/* Fills n with a fresh id, the key's hash and today's date (UTC). */
static int ak_new_fill(ak_new *n, const ak_doc *d, const char *key)
{
    unsigned char r[4];
    int tries = 0;
    do {
        if (ak_random(r, sizeof(r)))
            return CPQD_EIO;
        memcpy(n->id, "k_", 2);
        digest_hex(r, sizeof(r), n->id + 2);
    } while (ak_id_taken(d, n->id) && ++tries < AK_ID_TRIES);
    if (tries == AK_ID_TRIES)
        return CPQD_EINTERNAL;
    if (digest_sha256(key, strlen(key), n->digest))
        return CPQD_ENOMEM;
    ak_hash_format(n->digest, n->hash);
    date_format(date_today(), n->created);
    return 0;
}

/* The arguments' own rules; messages are about values, not flags. */
static int ak_args_check(auth_role role, const char *partner, const char *name, cpqd_errs *errs)
{
    const char *why = NULL;
    if ((unsigned)role >= AUTH_ROLE_N)
        why = "invalid role";
    else if (role == AUTH_ROLE_PARTNER && !partner)
        why = "role partner needs a partner id";
    else if (role != AUTH_ROLE_PARTNER && partner)
        why = "a partner id is only allowed with role partner";
    else if (partner && !ak_id_ok(partner, strlen(partner)))
        why = "invalid partner id (" AK_ID_RULE ")";
    else if (name && !ak_name_ok(name, strlen(name)))
        why = "invalid name (printable UTF-8 text of 1 to 200 bytes, no control characters)";
    if (!why)
        return 0;
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s", why);
    return CPQD_EINVAL;
}

/* Under the directory lock: reads and validates the file, builds the new
 * text, checks it and writes it. */
static int ak_append(ak_file *f, ak_new *n, const char *key, cpqd_errs *errs)
{
    arena *tree = arena_new(16384), *a = arena_new(4096);
    char *text = NULL;
    size_t len = 0;
    ak_doc d;
    int rc = tree && a ? ak_read(f->path, &f->buf, &f->len, &f->exists, errs) : CPQD_ENOMEM;
    if (rc == 0)
        rc = ak_decode(f->path, f->buf ? f->buf : "", f->len, tree, a, errs, true, &d);
    if (rc == 0 && (rc = ak_new_fill(n, &d, key)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "cannot make a key id, hash or date");
    if (rc == 0)
        rc = ak_compose(f, &d, n, &text, &len);
    if (rc == 0)
        rc = ak_verify(f, &d, n, text, len, errs);
    if (rc == 0)
        rc = ak_file_replace(f, text, len, errs);
    free(text);
    arena_free(tree);
    arena_free(a);
    return rc;
}

int auth_key_new(const char *path, auth_role role, const char *partner, const char *name,
                 char *key_out, size_t cap, cpqd_errs *errs)
{
    assert(path && key_out && errs && cap >= AUTH_KEY_MAX);
    char key[AUTH_KEY_MAX];
    ak_new n = {.role = role, .partner = partner, .name = name};
    ak_file f = {.path = path, .dirfd = -1};
    if (!path || !key_out || cap < AUTH_KEY_MAX)
        return CPQD_EINVAL;
    key_out[0] = '\0';
    int rc = ak_args_check(role, partner, name, errs);
    if (rc == 0 && (rc = auth_key_generate(key, sizeof(key))) != 0)
        errs_add(errs, rc, NULL, 0, 0, "cannot make a key: getrandom failed");
    if (rc == 0)
        rc = ak_file_lock(&f, errs);
    if (rc == 0)
        rc = ak_append(&f, &n, key, errs);
    if (rc == 0)
        memcpy(key_out, key, strlen(key) + 1);
    ak_file_fini(&f);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* ---- revoking an entry ---- */

/* f's text with a line "revoked: on", indented like x's keys, after the
 * line that holds x's id. */
static int ak_compose_revoke(const ak_file *f, const ak_entry *x, const char *on, char **out,
                             size_t *out_len)
{
    size_t off = 0;
    unsigned line = 1;
    while (off < f->len && line < x->id_line)
        line += f->buf[off++] == '\n';
    while (off < f->len && f->buf[off] != '\n')
        off++;
    bool nl = off < f->len;
    off += nl;
    *out = NULL;
    FILE *o = open_memstream(out, out_len);
    if (!o)
        return CPQD_ENOMEM;
    fwrite(f->buf, 1, off, o);
    if (!nl)
        fputc('\n', o);
    fprintf(o, "%*srevoked: %s\n", (int)x->id_key_col - 1, "", on);
    fwrite(f->buf + off, 1, f->len - off, o);
    if (fclose(o) != 0) {
        free(*out);
        *out = NULL;
        return CPQD_ENOMEM;
    }
    return 0;
}

/* The new text must hold the same entries, entry `at` now revoked on
 * `on` and nothing else changed. */
static int ak_verify_revoke(const ak_file *f, const ak_doc *old, size_t at, const char *on,
                            const char *buf, size_t len, cpqd_errs *errs)
{
    arena *tree = arena_new(16384), *a = arena_new(4096);
    cpqd_errs *scratch = errs_new();
    ak_doc d;
    int rc = tree && a && scratch ? ak_decode(f->path, buf, len, tree, a, scratch, false, &d)
                                  : CPQD_ENOMEM;
    bool same = rc == 0 && d.n == old->n;
    for (size_t i = 0; same && i < d.n; i++)
        same = !strcmp(d.e[i].pub.id, old->e[i].pub.id) &&
               !memcmp(d.e[i].digest, old->e[i].digest, AK_DIGEST) &&
               d.e[i].pub.revoked == (i == at || old->e[i].pub.revoked);
    if (same && (!d.e[at].pub.revoked_on || strcmp(d.e[at].pub.revoked_on, on)))
        same = false;
    if (rc != CPQD_ENOMEM && !same) {
        const ak_entry *x = &old->e[at];
        errs_add(errs, CPQD_EINVAL, f->path, x->id_line, x->id_col,
                 "cannot add 'revoked:' to the entry of %s: write it in block style "
                 "(one 'key: value' a line), or add 'revoked: YYYY-MM-DD' by hand",
                 x->pub.id);
        rc = CPQD_EINVAL;
    }
    errs_free(scratch);
    arena_free(tree);
    arena_free(a);
    return rc;
}

/* Under the directory lock: finds the entry and writes the file with it
 * revoked. */
static int ak_revoke(ak_file *f, const char *id, bool *already, char on[DATE_FMT_LEN],
                     cpqd_errs *errs)
{
    arena *tree = arena_new(16384), *a = arena_new(4096);
    char *text = NULL;
    size_t len = 0, at = 0;
    ak_doc d = {0};
    int rc = tree && a ? ak_read(f->path, &f->buf, &f->len, &f->exists, errs) : CPQD_ENOMEM;
    if (rc == 0 && !f->exists) {
        errs_add(errs, CPQD_EIO, f->path, 0, 0, "cannot read: %s", strerror(ENOENT));
        rc = CPQD_EIO;
    }
    if (rc == 0)
        rc = ak_decode(f->path, f->buf, f->len, tree, a, errs, false, &d);
    while (rc == 0 && at < d.n && strcmp(d.e[at].pub.id, id) != 0)
        at++;
    if (rc == 0 && at == d.n) {
        errs_add(errs, CPQD_ENOTFOUND, f->path, 0, 0, "no key with id '%.64s'", id);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == 0 && d.e[at].pub.revoked) {
        *already = true;
        snprintf(on, DATE_FMT_LEN, "%s", d.e[at].pub.revoked_on);
    } else if (rc == 0) {
        date_format(date_today(), on);
        rc = ak_compose_revoke(f, &d.e[at], on, &text, &len);
        if (rc == 0)
            rc = ak_verify_revoke(f, &d, at, on, text, len, errs);
        if (rc == 0)
            rc = ak_file_replace(f, text, len, errs);
    }
    free(text);
    arena_free(tree);
    arena_free(a);
    return rc;
}

int auth_key_revoke(const char *path, const char *id, bool *already, char on[11],
                    cpqd_errs *errs)
{
    ak_file f = {.path = path, .dirfd = -1};
    *already = false;
    on[0] = '\0';
    int rc = ak_file_lock(&f, errs);
    if (rc == 0)
        rc = ak_revoke(&f, id, already, on, errs);
    ak_file_fini(&f);
    return rc;
}

/* ---- `cpqd key new` ---- */

typedef struct ak_cli {
    const char *keys, *role, *partner, *name;
} ak_cli;

static int ak_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says why on stderr and returns the usage exit code; the caller (main)
 * prints the usage, as for every command. */
static int ak_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cpqd key: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* Parses and checks the arguments; 0 with *role set, or 2 after saying
 * why on stderr. */
static int ak_cli_parse(int argc, char **argv, ak_cli *c, auth_role *role)
{
    if (argc < 1 || strcmp(argv[0], "new") != 0)
        return ak_usage("unknown subcommand '%s'", argc < 1 ? "" : argv[0]);
    const cli_flag flags[] = {{"--keys", &c->keys},       {"--role", &c->role},
                              {"--partner", &c->partner}, {"--name", &c->name},
                              {NULL, NULL}};
    cli_args a;
    int rc = cli_args_parse(argc, argv, flags, 0, &a);
    cli_args_fini(&a);
    if (rc)
        return rc == CPQD_ENOMEM ? 1 : ak_usage("%s", a.why);
    if (!c->keys || !*c->keys)
        return ak_usage("--keys FILE is required");
    if (!c->role || auth_role_parse(c->role, role) != 0)
        return ak_usage("--role must be partner, rep, manager, crm or admin, not '%s'",
                        c->role ? c->role : "");
    cpqd_errs *e = errs_new();
    if (!e)
        return 1;
    rc = ak_args_check(*role, c->partner, c->name, e) == 0 ? 0 : 2;
    if (rc)
        ak_usage("%s", errs_get(e, 0) ? errs_get(e, 0)->msg : "invalid arguments");
    errs_free(e);
    return rc;
}

/* Loads the file as a server would and finds the new key in it: proves
 * the file on disk works before the key is shown. */
static int ak_cli_confirm(const char *path, const char *key, cpqd_errs *e, char *id, size_t cap)
{
    auth_keys *k = NULL;
    int rc = auth_keys_load(path, &k, e);
    const auth_key *hit = rc == 0 ? auth_keys_lookup(k, key, strlen(key)) : NULL;
    if (rc == 0 && !hit) {
        errs_add(e, CPQD_EINTERNAL, path, 0, 0, "the new key is not found in the file");
        rc = CPQD_EINTERNAL;
    }
    if (hit)
        snprintf(id, cap, "%s", hit->id);
    auth_keys_free(k);
    return rc;
}

static int ak_cli_new(int argc, char **argv)
{
    ak_cli c = {0};
    auth_role role = AUTH_ROLE_REP;
    char key[AUTH_KEY_MAX], id[80];
    int rc = ak_cli_parse(argc, argv, &c, &role);
    if (rc)
        return rc;
    cpqd_errs *e = errs_new();
    if (!e)
        return 1;
    rc = auth_key_new(c.keys, role, c.partner, c.name, key, sizeof(key), e);
    const char *what = "no key created";
    if (rc == 0) {
        rc = ak_cli_confirm(c.keys, key, e, id, sizeof(id));
        what = "the new entry does not work; remove the last entry of the file";
    }
    if (rc && errs_count(e) == 0)
        errs_add(e, rc, NULL, 0, 0, "%s", err_code_name(rc));
    if (rc) {
        cli_errs_print(e);
        fprintf(stderr, "cpqd key new: %s\n", what);
    } else if (printf("%s\n", key) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "cpqd key new: cannot write the key to stdout; remove entry %s from %s\n",
                id, c.keys);
        rc = 1;
    } else {
        fprintf(stderr, "cpqd key new: added %s (role %s%s%s) to %s; the key is shown only once\n",
                id, auth_role_name(role), c.partner ? ", partner " : "", c.partner ? c.partner : "",
                c.keys);
    }
    OPENSSL_cleanse(key, sizeof(key));
    errs_free(e);
    return rc ? 1 : 0;
}

/* ---- `cpqd key revoke`, `cpqd key list` ---- */

/* Parses "--keys FILE" and at most max_pos positional arguments; 0, or
 * the exit status after saying why. */
static int ak_cli_keys_only(int argc, char **argv, size_t max_pos, const char **keys,
                            cli_args *a)
{
    const cli_flag flags[] = {{"--keys", keys}, {NULL, NULL}};
    int rc = cli_args_parse(argc, argv, flags, max_pos, a);
    if (rc)
        return rc == CPQD_ENOMEM ? 1 : ak_usage("%s", a->why);
    if (!*keys || !**keys)
        return ak_usage("--keys FILE is required");
    return 0;
}

static int ak_cli_revoke(int argc, char **argv)
{
    const char *keys = NULL;
    cli_args a;
    int rc = ak_cli_keys_only(argc, argv, 1, &keys, &a);
    const char *id = rc == 0 && a.npos == 1 ? a.pos[0] : NULL;
    if (rc == 0 && !id)
        rc = ak_usage("revoke: the id of the key to revoke is required (cpqd key list shows them)");
    cpqd_errs *e = rc ? NULL : errs_new();
    if (rc || !e) {
        cli_args_fini(&a);
        return rc ? rc : 1;
    }
    bool already = false;
    char on[DATE_FMT_LEN];
    rc = auth_key_revoke(keys, id, &already, on, e);
    if (rc) {
        cli_errs_print(e);
        fprintf(stderr, "cpqd key revoke: nothing changed\n");
    } else if (already) {
        fprintf(stderr, "cpqd key revoke: %s was already revoked on %s; nothing changed\n", id,
                on);
    } else {
        fprintf(stderr,
                "cpqd key revoke: revoked %s in %s from %s; a running cpqd serve refuses it "
                "from its next request\n",
                id, keys, on);
    }
    errs_free(e);
    cli_args_fini(&a);
    return rc ? 1 : 0;
}

static int ak_cli_list(int argc, char **argv)
{
    const char *keys = NULL;
    cli_args a;
    int rc = ak_cli_keys_only(argc, argv, 0, &keys, &a);
    cli_args_fini(&a);
    cpqd_errs *e = rc ? NULL : errs_new();
    if (rc || !e)
        return rc ? rc : 1;
    auth_keys *k = NULL;
    if (auth_keys_load(keys, &k, e) != 0) {
        cli_errs_print(e);
        errs_free(e);
        return 1;
    }
    int wid = 2, wpart = 7;
    for (size_t i = 0; i < k->n; i++) {
        const auth_key *x = &k->e[i].pub;
        wid = (int)strlen(x->id) > wid ? (int)strlen(x->id) : wid;
        wpart = x->partner && (int)strlen(x->partner) > wpart ? (int)strlen(x->partner) : wpart;
    }
    printf("%-*s  %-7s  %-*s  %-10s  %-10s  %s\n", wid, "ID", "ROLE", wpart, "PARTNER", "CREATED",
           "REVOKED", "NAME");
    for (size_t i = 0; i < k->n; i++) {
        const auth_key *x = &k->e[i].pub;
        printf("%-*s  %-7s  %-*s  %-10s  %-10s  %s\n", wid, x->id, ak_role_names[x->role], wpart,
               x->partner ? x->partner : "-", x->created ? x->created : "-",
               x->revoked_on ? x->revoked_on : "-", x->name ? x->name : "-");
    }
    fprintf(stderr, "cpqd key list: %zu keys in %s, %zu revoked\n", k->n, keys, k->nrevoked);
    auth_keys_free(k);
    errs_free(e);
    return fflush(stdout) == 0 ? 0 : 1;
}

int auth_cli_key(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "revoke") == 0)
        return ak_cli_revoke(argc, argv);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return ak_cli_list(argc, argv);
    return ak_cli_new(argc, argv);
}

/* ---- the key file in force ---- */

/* What stat(2) says about a file: enough to see any replacement or
 * write (an atomic rename makes a new inode; a write in place changes
 * the times or the size). */
typedef struct ak_sig {
    bool ok; /* stat succeeded */
    int err; /* else its errno */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} ak_sig;

struct auth_keyring {
    char *path;
    pthread_mutex_t mu; /* guards cur and seen */
    auth_keys *cur;     /* in force; the ring holds one reference */
    ak_sig seen;        /* the file as last read (or refused) */
};

static ak_sig ak_sig_of(const char *path)
{
    struct stat st;
    ak_sig g = {.ok = stat(path, &st) == 0};
    g.err = g.ok ? 0 : errno;
    if (g.ok) {
        g.dev = st.st_dev;
        g.ino = st.st_ino;
        g.size = st.st_size;
        g.mtime = st.st_mtim;
        g.ctime = st.st_ctim;
    }
    return g;
}

static bool ak_sig_same(const ak_sig *a, const ak_sig *b)
{
    return a->ok == b->ok && (!a->ok || (a->dev == b->dev && a->ino == b->ino &&
                                         a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
                                         a->mtime.tv_nsec == b->mtime.tv_nsec &&
                                         a->ctime.tv_sec == b->ctime.tv_sec &&
                                         a->ctime.tv_nsec == b->ctime.tv_nsec));
}

/* Reads the file into force; the caller holds r->mu. The new keys come
 * into force only if the whole file is valid. */
static int ak_ring_load(auth_keyring *r, const char *why)
{
    cpqd_errs *e = errs_new();
    auth_keys *k = NULL;
    r->seen = ak_sig_of(r->path);
    int rc = e ? auth_keys_load(r->path, &k, e) : CPQD_ENOMEM;
    metrics_keys_reload(rc == 0);
    if (rc == 0) {
        size_t before = r->cur->n;
        auth_keys_release(r->cur);
        r->cur = k;
        log_info("keys: %s: %zu keys in force (%zu revoked; %zu before)", why, k->n, k->nrevoked,
                 before);
    } else {
        if (e)
            errs_sort(e);
        for (size_t i = 0; e && i < errs_count(e) && i < 100; i++) {
            char *line = errs_format(e, i);
            log_error("keys: %s", line ? line : "(out of memory)");
            free(line);
        }
        log_error("keys: %s refused (%s); the %zu keys read before stay in force", r->path,
                  err_code_name(rc), r->cur->n);
    }
    errs_free(e);
    return rc;
}

int auth_keyring_open(const char *path, auth_keyring **out, cpqd_errs *errs)
{
    *out = NULL;
    auth_keyring *r = calloc(1, sizeof(*r));
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return CPQD_ENOMEM;
    }
    r->seen = ak_sig_of(path);
    int rc = auth_keys_load(path, &r->cur, errs);
    if (rc) {
        free(r->path);
        free(r);
        return rc;
    }
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return 0;
}

void auth_keyring_close(auth_keyring *r)
{
    if (!r)
        return;
    auth_keys_release(r->cur);
    pthread_mutex_destroy(&r->mu);
    free(r->path);
    free(r);
}

auth_keys *auth_keyring_acquire(auth_keyring *r)
{
    ak_sig now = ak_sig_of(r->path);
    pthread_mutex_lock(&r->mu);
    /* a file that disappeared keeps the keys read before (a restore or an
     * editor's save in two steps must not lock everybody out) */
    if (now.ok && !ak_sig_same(&now, &r->seen))
        ak_ring_load(r, "the key file changed");
    else if (!now.ok && r->seen.ok) {
        r->seen = now;
        log_warn("keys: %s cannot be read (%s); the %zu keys read before stay in force", r->path,
                 strerror(now.err), r->cur->n);
    }
    auth_keys *k = auth_keys_retain(r->cur);
    pthread_mutex_unlock(&r->mu);
    return k;
}

int auth_keyring_reload(auth_keyring *r)
{
    pthread_mutex_lock(&r->mu);
    int rc = ak_ring_load(r, "reloaded");
    pthread_mutex_unlock(&r->mu);
    return rc;
}

const char *auth_keyring_path(const auth_keyring *r)
{
    return r->path;
}
