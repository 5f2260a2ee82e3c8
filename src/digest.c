/*
 * digest: hex text and SHA-256 (see include/cpqd/digest.h).
 *
 * Owns: the encoding every stored hash, version and id uses (lowercase
 * hex, two digits a byte) and the wrapping of libcrypto's EVP calls.
 * Invariant: a context that failed once (or ended) has failed set and
 * touches libcrypto no more, so an error is never silently followed by a
 * digest of only part of the input.
 */
#include "cpqd/digest.h"

#include "cpqd/err.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

struct digest_sha256_ctx {
    EVP_MD_CTX *md; /* libcrypto's state */
    bool failed;    /* a call failed or the digest ended */
};

static const char hex_digits[] = "0123456789abcdef";

void digest_hex(const void *data, size_t n, char *out)
{
    const unsigned char *d = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[d[i] >> 4];
        out[2 * i + 1] = hex_digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int digest_unhex(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = unhex_digit(hex[2 * i]), lo = unhex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CPQD_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != DIGEST_SHA256_LEN)
        return CPQD_ENOMEM;
    return 0;
}

int digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN])
{
    unsigned char d[DIGEST_SHA256_LEN];
    int rc = digest_sha256(data, len, d);
    if (rc) {
        out[0] = '\0';
        return rc;
    }
    digest_hex(d, sizeof(d), out);
    return 0;
}

int digest_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       unsigned char out[DIGEST_SHA256_LEN])
{
    /* libcrypto takes the key length as an int */
    if (key_len > INT_MAX)
        return CPQD_ERANGE;
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) || n != DIGEST_SHA256_LEN)
        return CPQD_ENOMEM;
    return 0;
}

digest_sha256_ctx *digest_sha256_new(void)
{
    digest_sha256_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        digest_sha256_free(c);
        return NULL;
    }
    return c;
}

void digest_sha256_free(digest_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

int digest_sha256_add(digest_sha256_ctx *c, const void *data, size_t len)
{
    if (c->failed || EVP_DigestUpdate(c->md, data, len) != 1) {
        c->failed = true;
        return CPQD_ENOMEM;
    }
    return 0;
}

int digest_sha256_end_hex(digest_sha256_ctx *c, char out[DIGEST_SHA256_HEX_LEN])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    bool ok = !c->failed && EVP_DigestFinal_ex(c->md, d, &n) == 1 && n == DIGEST_SHA256_LEN;
    c->failed = true;
    out[0] = '\0';
    if (!ok)
        return CPQD_ENOMEM;
    digest_hex(d, DIGEST_SHA256_LEN, out);
    return 0;
}
