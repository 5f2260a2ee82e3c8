/*
 * outbox: delivery of the outbox's events to the CRM's webhook
 * (docs/events.md).
 *
 * Owns: the delivery thread (its own event base, store handle and
 * libevent HTTP client connection), the signature of each attempt
 * (HMAC-SHA256 over "timestamp.body"), the retry policy (exponential
 * backoff with full jitter, parking after max_attempts) and the order of
 * delivery (one event in flight at a time, the store hands out only the
 * first undelivered event of each ordering key).
 * Does not own: writing events (store_outbox_add, in the transaction of
 * the change), their state (store), the pull feed (http).
 *
 * Delivery is at least once: an event is marked delivered only after a
 * 2xx, so a crash, kill -9 or stop between the POST and the mark sends it
 * again, with the same id and the same body bytes.
 * Ownership: outbox_worker_start copies the config's strings it keeps.
 * Thread-safety: outbox_worker_wake may be called from any thread;
 * start and stop from one thread (the server's main thread).
 */
#ifndef CPQD_OUTBOX_H
#define CPQD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define OUTBOX_DEFAULT_MAX_ATTEMPTS 10
#define OUTBOX_BACKOFF_BASE_MS 1000    /* first retry within 1 s ... */
#define OUTBOX_BACKOFF_MAX_MS 300000   /* ... doubling, at most 5 min */
#define OUTBOX_POLL_MS 1000            /* looks for due events at least this often */
#define OUTBOX_REQUEST_TIMEOUT_S 10    /* one attempt may take this long */
/* How long an instance holds an event it is delivering: no other instance
 * takes it meanwhile; one that died with it is replaced once it ran out
 * (docs/events.md "Several instances"). Longer than an attempt. */
#define OUTBOX_DEFAULT_LEASE_S 60
#define OUTBOX_SIG_LEN 72              /* "sha256=" + 64 hex + NUL */

typedef struct outbox_config {
    const char *db_path;   /* the store */
    const char *url;       /* http[s]://[user:password@]host[:port]/path[?query] */
    const char *secret;    /* HMAC key (bytes, not NUL-terminated necessarily) */
    size_t secret_len;     /* >= 1 */
    const char *prev;      /* the key being rotated out, or NULL: both signatures are sent */
    size_t prev_len;
    const char *ca_file;   /* https: PEM CA certificates to verify the receiver with; NULL:
                            * the system's (/etc/ssl/certs) */
    unsigned max_attempts; /* attempts before an event is parked as failed, >= 1 */
    unsigned lease_s;      /* an attempt's lease (instances share the outbox); 0: default */
} outbox_config;

#define OUTBOX_SECRET_MAX 4095 /* bytes of a webhook secret file, newlines included */

typedef struct outbox_worker outbox_worker; /* opaque: the delivery thread */

/* Checks cfg (the URL must be http:// or https://; user:password@ over
 * http:// only before a loopback host, then sent as Authorization: Basic;
 * the secret non-empty; the CA file, for https, loadable), opens the
 * store and starts the delivery thread with
 * SIGTERM, SIGINT and SIGHUP blocked. Log lines show the URL with its
 * password masked. evthread_use_pthreads() must have been called. Returns 0 and
 * *out, CPQD_EINVAL (bad URL or secret; why in a log line), CPQD_EIO
 * (store), CPQD_ENOMEM. */
int outbox_worker_start(const outbox_config *cfg, outbox_worker **out);

/* Asks the thread to look for due events now (after a commit that wrote
 * one). Safe from any thread; NULL is a no-op. */
void outbox_worker_wake(outbox_worker *w);

/* Replaces the signing secrets (copied; prev NULL: none) from the next
 * attempt on: a rotation without a restart (SIGHUP). Safe from any
 * thread; NULL w is a no-op. */
void outbox_worker_set_secrets(outbox_worker *w, const char *secret, size_t len, const char *prev,
                               size_t prev_len);

/* Reads a secret file: its bytes without trailing newlines, 1 to
 * OUTBOX_SECRET_MAX of them. 0 with *out (malloc'ed; free with
 * outbox_secret_free) and *len, or an error with why filled. */
int outbox_secret_read(const char *path, char **out, size_t *len, char why[]);
/* Wipes and frees a secret; NULL is a no-op. */
void outbox_secret_free(char *secret, size_t len);
/* Checks a webhook URL and, for https, the CA file as
 * outbox_worker_start would (nothing is started): 0, or CPQD_EINVAL /
 * CPQD_ENOMEM with why (password masked) filled. */
int outbox_url_check(const char *url, const char *ca_file, char *why, size_t cap);

/* Stops the thread: an attempt in flight is abandoned (its event stays
 * pending and is sent again after the restart), then joins and frees.
 * NULL is a no-op. */
void outbox_worker_stop(outbox_worker *w);

/* "sha256=" + hex HMAC-SHA256(secret, ts + "." + body) into out (one
 * signature; during a rotation X-Cpqd-Signature carries two, comma-
 * separated: docs/events.md). Returns 0,
 * CPQD_ENOMEM, or CPQD_ERANGE for a secret beyond INT_MAX bytes. */
int outbox_sign(const char *secret, size_t secret_len, const char *ts, const char *body,
                size_t body_len, char out[OUTBOX_SIG_LEN]);

/* The delay before retry number `attempts` (1 = after the first failure):
 * uniformly random in [0, min(OUTBOX_BACKOFF_MAX_MS, base * 2^(attempts-1))]
 * ("full jitter"); r is a random 64-bit value. */
int64_t outbox_backoff_ms(unsigned attempts, uint64_t r);

#endif
