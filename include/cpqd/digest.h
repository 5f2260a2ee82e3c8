/*
 * digest: hex text of bytes and SHA-256 (plain, incremental, HMAC).
 *
 * Owns: the one lowercase hex encoder and decoder, and the only calls
 * into libcrypto's digests outside auth's constant-time compare: catalog
 * versions, quote body hashes, API key hashes, the store move's table
 * checksums and the webhook signature all go through here, so they hash
 * the same bytes the same way. Does not own: what is hashed or in which
 * order (the callers' formats), randomness, base64.
 *
 * Ownership: functions write into buffers the caller provides; a
 * digest_sha256 context is malloc'ed by _new and freed by _free.
 * Thread-safety: pure functions, share freely; a context is per-caller.
 */
#ifndef CPQD_DIGEST_H
#define CPQD_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_LEN 32     /* bytes of a SHA-256 digest */
#define DIGEST_SHA256_HEX_LEN 65 /* its 64 lowercase hex digits + NUL */

/* Writes the 2*n lowercase hex digits of data[0..n) and a NUL into out
 * (2*n + 1 bytes). */
void digest_hex(const void *data, size_t n, char *out);
/* Decodes exactly 2*n lowercase hex digits from hex[0..2*n) into out[0..n)
 * (hex need not be NUL-terminated). Returns 0, or CPQD_EINVAL if any of
 * them is not 0-9 or a-f (upper case included); out is then unspecified. */
int digest_unhex(const char *hex, size_t n, unsigned char *out);

/* SHA-256 of data[0..len) into out. Returns 0, or CPQD_ENOMEM if libcrypto
 * failed (it allocates). */
int digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* The same as 64 lowercase hex digits and a NUL. */
int digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN]);
/* HMAC-SHA256 (RFC 2104) of msg[0..msg_len) under key[0..key_len) into
 * out. Returns 0, CPQD_ERANGE if key_len exceeds INT_MAX, or CPQD_ENOMEM. */
int digest_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       unsigned char out[DIGEST_SHA256_LEN]);

/* An incremental SHA-256 over bytes fed in pieces. */
typedef struct digest_sha256_ctx digest_sha256_ctx; /* opaque */

/* A fresh context, or NULL when out of memory. */
digest_sha256_ctx *digest_sha256_new(void);
/* Frees it; NULL is a no-op. */
void digest_sha256_free(digest_sha256_ctx *c);
/* Feeds data[0..len). Returns 0 or CPQD_ENOMEM; after a failure the
 * context refuses every later call. */
int digest_sha256_add(digest_sha256_ctx *c, const void *data, size_t len);
/* Ends the digest and writes its hex into out; the context is then
 * spent (any further call fails). Returns 0 or CPQD_ENOMEM (out is then
 * the empty string). */
int digest_sha256_end_hex(digest_sha256_ctx *c, char out[DIGEST_SHA256_HEX_LEN]);

#endif
