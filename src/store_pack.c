/*
 * store_pack: large texts stored compressed (zstd), in TEXT columns.
 *
 * Owns: the packed form, STORE_PACK_MARK + base64(zstd frame), and both
 * directions. Does not own: which columns are packed (the record files
 * decide: a priced result, a stored request, an idempotent reply, an
 * outbox payload, an archived catalog file).
 *
 * Why TEXT: the schema keeps to types both backends share (store_sql.c),
 * and a TEXT column holds only valid UTF-8 without NUL on PostgreSQL, so
 * the compressed bytes are base64: 4/3 of zstd's output, which is about
 * a ninth of the JSON of a priced result.
 * Invariant: unpack(pack(x)) == x byte for byte; a text that does not
 * start with the mark (every row written before packing existed) is
 * returned as it is, so old rows read unchanged without a migration.
 */
#include "store_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define STORE_PACK_MARK "~z1~" /* no JSON or catalog text starts so */
#define STORE_PACK_MARK_LEN 4
#define STORE_PACK_MAX ((size_t)1 << 30) /* unpacked bytes we accept */

/* One compression context per thread, made on first use and freed when
 * the thread exits (making one per call cost a third of a pack). */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void cctx_free(void *c)
{
    ZSTD_freeCCtx(c);
}

static void cctx_init(void)
{
    pthread_key_create(&cctx_key, cctx_free);
}

static ZSTD_CCtx *cctx_get(void)
{
    pthread_once(&cctx_once, cctx_init);
    ZSTD_CCtx *c = pthread_getspecific(cctx_key);
    if (!c && (c = ZSTD_createCCtx()) != NULL && pthread_setspecific(cctx_key, c) != 0) {
        ZSTD_freeCCtx(c);
        c = NULL;
    }
    return c;
}

int store_pack(const char *text, size_t len, int level, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len < STORE_PACK_MIN)
        return 0;
    size_t cap = ZSTD_compressBound(len);
    unsigned char *z = malloc(cap);
    if (!z)
        return CPQD_ENOMEM;
    ZSTD_CCtx *cc = cctx_get();
    size_t zn = cc ? ZSTD_compressCCtx(cc, z, cap, text, len, level) : ZSTD_compress(z, cap, text, len, level);
    if (ZSTD_isError(zn) || zn > INT32_MAX / 2) {
        free(z);
        return 0; /* stored as it is */
    }
    size_t b64 = 4 * ((zn + 2) / 3);
    if (STORE_PACK_MARK_LEN + b64 >= len) {
        free(z);
        return 0; /* would not be smaller */
    }
    char *p = malloc(STORE_PACK_MARK_LEN + b64 + 1);
    if (!p) {
        free(z);
        return CPQD_ENOMEM;
    }
    memcpy(p, STORE_PACK_MARK, STORE_PACK_MARK_LEN);
    int n = EVP_EncodeBlock((unsigned char *)p + STORE_PACK_MARK_LEN, z, (int)zn);
    free(z);
    *out = p;
    *out_len = STORE_PACK_MARK_LEN + (size_t)n;
    return 0;
}

bool store_packed(const char *s, size_t len)
{
    return s && len > STORE_PACK_MARK_LEN && !memcmp(s, STORE_PACK_MARK, STORE_PACK_MARK_LEN);
}

/* Decodes base64 b[0..n) (a multiple of 4) into a malloc'ed buffer. */
static unsigned char *b64_decode(const char *b, size_t n, size_t *out_len)
{
    if (n % 4 || n > INT32_MAX)
        return NULL;
    unsigned char *z = malloc(n / 4 * 3 + 1);
    int d = z ? EVP_DecodeBlock(z, (const unsigned char *)b, (int)n) : -1;
    if (d < 0) {
        free(z);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    size_t pad = (n && b[n - 1] == '=') + (n > 1 && b[n - 2] == '=');
    *out_len = (size_t)d - pad;
    return z;
}

int store_unpack(const char *s, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    if (!store_packed(s, len)) {
        char *c = malloc(len + 1);
        if (!c)
            return CPQD_ENOMEM;
        memcpy(c, s, len);
        c[len] = '\0';
        *out = c;
        if (out_len)
            *out_len = len;
        return 0;
    }
    size_t zn = 0;
    unsigned char *z = b64_decode(s + STORE_PACK_MARK_LEN, len - STORE_PACK_MARK_LEN, &zn);
    if (!z)
        return CPQD_EIO;
    unsigned long long n = ZSTD_getFrameContentSize(z, zn);
    int rc = CPQD_EIO;
    char *t = NULL;
    if (n != ZSTD_CONTENTSIZE_ERROR && n != ZSTD_CONTENTSIZE_UNKNOWN && n < STORE_PACK_MAX) {
        t = malloc((size_t)n + 1);
        rc = t ? 0 : CPQD_ENOMEM;
    }
    if (rc == 0) {
        size_t got = ZSTD_decompress(t, (size_t)n, z, zn);
        if (ZSTD_isError(got) || got != n) {
            rc = CPQD_EIO;
        } else {
            t[n] = '\0';
            *out = t;
            t = NULL;
            if (out_len)
                *out_len = (size_t)n;
        }
    }
    free(t);
    free(z);
    return rc;
}

int store_col_unpack(store_stmt *s, int i, char **out)
{
    size_t len = 0;
    const char *v = store_col_text(s, i, &len);
    *out = NULL;
    if (!v)
        return store_col_null(s, i) ? 0 : CPQD_ENOMEM;
    return store_unpack(v, len, out, NULL);
}

/* ---- texts that reference a priced result ---- */

bool store_priced_ref_ok(const store_priced_ref *r, const char *text)
{
    size_t at = r->at, len = r->len;
    if (!text || !store_text_ok(r->quote) || r->version < 1 || len == 0 ||
        at + len > strlen(text))
        return false;
    char *before = strndup(text, at);
    bool ok = before && (!at || store_text_ok(before)) &&
              (!text[at + len] || store_text_ok(text + at + len));
    free(before);
    return ok;
}

void store_bind_priced_ref(store *st, store_stmt *s, int i, const store_priced_ref *r)
{
    store_bind_text(st, s, i, r->quote);
    if (r->quote) {
        store_bind_int64(st, s, i + 1, r->version);
        store_bind_int64(st, s, i + 2, (int64_t)r->at);
    } else {
        store_bind_text(st, s, i + 1, NULL);
        store_bind_text(st, s, i + 2, NULL);
    }
}

int store_pack_without(const char *text, const store_priced_ref *r, char **out)
{
    size_t at = r->quote ? r->at : 0, len = r->quote ? r->len : 0;
    size_t all = strlen(text), keep = all - len;
    char *rest = malloc(keep + 1), *packed = NULL;
    size_t n;
    *out = NULL;
    if (!rest)
        return CPQD_ENOMEM;
    memcpy(rest, text, at);
    memcpy(rest + at, text + at + len, all - at - len);
    rest[keep] = '\0';
    if (store_pack(rest, keep, STORE_PACK_FAST, &packed, &n) != 0) {
        free(rest);
        return CPQD_ENOMEM;
    }
    if (packed) {
        free(rest);
        rest = packed;
    }
    *out = rest;
    return 0;
}

int store_col_unpack_with(store_stmt *s, int i, int at_col, int priced_col, char **out)
{
    int rc = store_col_unpack(s, i, out);
    if (rc || !*out || store_col_null(s, at_col))
        return rc;
    if (store_col_null(s, priced_col)) { /* referenced, and gone: never the text with a hole */
        free(*out);
        *out = NULL;
        return CPQD_ENOTFOUND;
    }
    char *priced = NULL;
    int64_t at64 = store_col_int64(s, at_col);
    size_t len = strlen(*out), plen;
    rc = store_col_unpack(s, priced_col, &priced);
    if (rc == 0 && (at64 < 0 || (uint64_t)at64 > len))
        rc = CPQD_EIO;
    if (rc != 0) {
        free(priced);
        free(*out);
        *out = NULL;
        return rc;
    }
    size_t at = (size_t)at64;
    plen = strlen(priced);
    char *full = malloc(len + plen + 1);
    if (full) {
        memcpy(full, *out, at);
        memcpy(full + at, priced, plen);
        memcpy(full + at + plen, *out + at, len - at + 1);
    }
    free(*out);
    *out = full;
    free(priced);
    return full ? 0 : CPQD_ENOMEM;
}
