/*
 * auth: API keys and who is calling.
 *
 * Owns: the key file (YAML: one entry per key holding only a hash of the
 * key, never the key), creating keys (`cpqd key new`), looking a bearer
 * token up in constant time, and the roles with their discount authority.
 * Does not own: which role may call which route and what a partner may
 * see (http), catalogs (cat).
 *
 * Key format: "cpqd_" followed by 43 characters of base64url (32 random
 * bytes from getrandom). The file stores "sha256:<64 hex>" of the whole
 * key string; a lookup hashes the presented token and compares it with
 * every entry's hash with a constant-time comparison (CRYPTO_memcmp),
 * visiting all entries whatever matches, so timing does not tell which
 * entry, or how much of a hash, matched.
 *
 * Key file (docs/auth.md):
 *   keys:
 *     - id: k_3f9a2c1d          # short public id, for logs and audit
 *       name: Partner portal 华东
 *       role: partner           # partner | rep | manager | crm | admin
 *       partner: P-101          # required for partner, refused otherwise
 *       discount_authority: "8" # optional percent; overrides the catalog's
 *       max_lines: 500          # optional limits; the role's by default
 *       quotes_per_minute: 60
 *       bytes_per_day: 50000000
 *       max_concurrent: 8
 *       hash: sha256:...
 *       created: 2026-11-26
 *       revoked: 2026-12-01     # `cpqd key revoke`: refused from then on
 *
 * Ownership: an auth_keys owns every string reachable from it; a key
 * returned by auth_keys_lookup stays valid while the auth_keys lives.
 * auth_keys_load returns it with one reference; auth_keys_retain adds
 * one, auth_keys_release drops one and frees it at the last.
 * Thread-safety: an auth_keys is immutable after auth_keys_load; share it
 * freely between threads. An auth_keyring (the key file in force,
 * re-read when it changes) is safe from any thread.
 */
#ifndef CPQD_AUTH_H
#define CPQD_AUTH_H

#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum auth_role {
    AUTH_ROLE_PARTNER,
    AUTH_ROLE_REP,
    AUTH_ROLE_MANAGER,
    AUTH_ROLE_CRM,
    AUTH_ROLE_ADMIN,
    AUTH_ROLE_N,
} auth_role;

/* What one key may make the service do (docs/auth.md "Limits"): the
 * role's defaults (auth_role_limits), each overridable in the key's
 * entry. */
typedef struct auth_limits {
    size_t max_lines;           /* lines of one price or quote request */
    unsigned quotes_per_minute; /* quote writes (create, revise) */
    uint64_t bytes_per_day;     /* bytes of quotes stored per day (UTC, the service's clock) */
    unsigned max_concurrent;    /* requests of the key being answered at once (their replies
                                 * written out included); more get 429 */
} auth_limits;

/* The defaults of a role. */
auth_limits auth_role_limits(auth_role r);

#define AUTH_LIMIT_LINES_MAX 20000            /* the request maximum of /v1/price */
#define AUTH_LIMIT_PER_MINUTE_MAX 6000000 /* 100,000 a second */
#define AUTH_LIMIT_BYTES_MAX (1ull << 40)
#define AUTH_LIMIT_CONCURRENT_MAX 10000

typedef struct auth_key {
    const char *id;   /* generated as "k_" + 8 hex; see docs/auth.md */
    const char *name; /* NULL if none */
    auth_role role;
    const char *partner; /* partner id: set for AUTH_ROLE_PARTNER only */
    bool has_authority;
    money_dec authority; /* discount authority in percent, when set in the file */
    auth_limits limits;  /* the role's defaults, overridden by the entry */
    bool revoked;        /* `revoked:` set: every request with it gets 401 */
    const char *revoked_on; /* its date (YYYY-MM-DD), NULL if not revoked */
    const char *created;    /* YYYY-MM-DD, NULL if the entry has none */
} auth_key;

typedef struct auth_keys auth_keys; /* opaque, immutable */

/* "partner", "rep", ... ; NULL for an invalid value. */
const char *auth_role_name(auth_role r);
/* Parses a role name. Returns 0 or CPQD_EINVAL. */
int auth_role_parse(const char *s, auth_role *out);

#define AUTH_MAX_KEYS 10000      /* entries in one key file */
#define AUTH_MAX_FILE (4u << 20) /* bytes of one key file */
#define AUTH_NAME_MAX 200        /* bytes of a key's name */

/* Loads and validates a key file; every problem goes to errs as
 * file:line:col (unknown keys, bad role, partner missing or misplaced,
 * malformed or duplicate hash or id, bad discount_authority or created,
 * syntax). A missing or empty file is an error; `keys:` with no entries
 * is not (every lookup then fails). On success *out is set and must be
 * freed with auth_keys_free; on failure *out is NULL. Returns 0,
 * CPQD_EINVAL, CPQD_EIO or CPQD_ENOMEM. */
int auth_keys_load(const char *path, auth_keys **out, cpqd_errs *errs);
/* Frees k and every key it returned whatever its references; NULL is a
 * no-op. */
void auth_keys_free(auth_keys *k);
/* Adds a reference to k (NULL is a no-op) and returns k. */
auth_keys *auth_keys_retain(auth_keys *k);
/* Drops a reference; the last one frees k. NULL is a no-op. */
void auth_keys_release(auth_keys *k);
size_t auth_keys_count(const auth_keys *k);
/* The i-th entry in file order (i < auth_keys_count). */
const auth_key *auth_keys_at(const auth_keys *k, size_t i);
/* Entries with `revoked:` set. */
size_t auth_keys_revoked(const auth_keys *k);

/* The key whose hash matches token[0..len) (the bearer token as sent,
 * no NUL needed), or NULL (also for len 0, a NULL k or token). Hashes
 * the token once and compares the digest with every entry's, whatever
 * matches: constant time in the token's content for a given number of
 * entries. Thread-safe. */
const auth_key *auth_keys_lookup(const auth_keys *k, const char *token, size_t len);

/* Writes a new random key, "cpqd_" + 43 base64url characters (32 bytes
 * from getrandom), NUL-terminated, into key_out[0..cap). Nothing is
 * stored anywhere. Returns 0, CPQD_EINVAL if cap < AUTH_KEY_MAX or
 * CPQD_EIO if getrandom fails. */
int auth_key_generate(char *key_out, size_t cap);
/* Writes the key file's form of key[0..len), "sha256:" + 64 lowercase
 * hex digits of SHA-256(key), NUL-terminated, into out[0..cap) (for test
 * fixtures and tools). Returns 0, CPQD_EINVAL if cap < AUTH_HASH_MAX or
 * CPQD_ENOMEM if hashing fails. */
#define AUTH_HASH_MAX 72
int auth_key_hash(const char *key, size_t len, char *out, size_t cap);

/* Creates a new key: appends an entry to the file at path (creating the
 * file when missing; the existing bytes, comments included, are kept
 * byte for byte and the entry's text is appended after them) and writes
 * the key itself, NUL-terminated, into key_out[0..cap) (cap >=
 * AUTH_KEY_MAX). partner must be set exactly when role is
 * AUTH_ROLE_PARTNER (an id: letters, digits, '_', '.', '-'); name may be
 * NULL (else printable UTF-8, 1..AUTH_NAME_MAX bytes). The existing file
 * must load without errors, and its `keys` must be a block list (or
 * empty) for the appended text to extend it: the result is parsed again
 * before it is written. The file is replaced atomically (temporary file
 * in the same directory, mode 0600, fsync, rename, fsync of the
 * directory) under an exclusive flock of the directory, so concurrent
 * calls do not lose entries. Returns 0, CPQD_EINVAL (bad arguments or an
 * invalid existing file, in errs), CPQD_EIO, CPQD_ENOMEM or
 * CPQD_EINTERNAL (no free id after 16 random tries); on failure
 * the file is unchanged and key_out holds "". */
#define AUTH_KEY_MAX 64
int auth_key_new(const char *path, auth_role role, const char *partner, const char *name,
                 char *key_out, size_t cap, cpqd_errs *errs);

/* Revokes the entry with id in the file at path: adds a line
 * `revoked: <today>` to it, as text (the file's other bytes stay as they
 * are), under the same lock, checks and atomic replacement as
 * auth_key_new. *already is set when the entry was revoked before (then
 * nothing is written); *on receives the date it is revoked from.
 * Returns 0, CPQD_ENOTFOUND (no such id), CPQD_EINVAL (an invalid file,
 * or an entry the line cannot be added to, such as one in flow style),
 * CPQD_EIO, CPQD_ENOMEM; the reasons in errs; on failure the file is
 * unchanged. */
int auth_key_revoke(const char *path, const char *id, bool *already, char on[11],
                    cpqd_errs *errs);

/* `cpqd key new --keys FILE --role R [--partner P] [--name N]`,
 * `cpqd key revoke --keys FILE ID` and `cpqd key list --keys FILE` with
 * argv[0] the subcommand (main passes the arguments after "key"; flags
 * take "--flag VALUE" or "--flag=VALUE"). new prints the new key, alone,
 * on stdout, and one line about the entry on stderr; revoke one line on
 * stderr; list one line per entry on stdout (never a hash). Returns the
 * exit status: 0, 1 on failure (why on stderr, file:line:col for an
 * invalid key file), 2 on a usage error (why on stderr; the caller
 * prints the usage, as main does for every command). */
int auth_cli_key(int argc, char **argv);

/* ---- the key file in force (cpqd serve --keys) ---- */

typedef struct auth_keyring auth_keyring; /* opaque; safe from any thread */

/* Loads path as auth_keys_load does and keeps it in force. 0 with *out,
 * or the load's error (reasons in errs). */
int auth_keyring_open(const char *path, auth_keyring **out, cpqd_errs *errs);
/* Frees r (keys still retained elsewhere live on); NULL is a no-op. */
void auth_keyring_close(auth_keyring *r);
/* The keys in force, retained (auth_keys_release when done). First
 * checks whether the file changed since it was last read (stat: device,
 * inode, size, modification and change times: one system call) and if
 * so reads it again: a valid file comes into force at once, an invalid
 * one is logged with every error and the keys in force stay (it is not
 * read again until it changes again). Never NULL. */
auth_keys *auth_keyring_acquire(auth_keyring *r);
/* Reads the file again now, changed or not (SIGHUP); logs the outcome.
 * Returns 0 or the load's error (the keys in force then stay). */
int auth_keyring_reload(auth_keyring *r);
const char *auth_keyring_path(const auth_keyring *r);

#ifdef CPQD_TESTING
/* Test builds only: digest comparisons auth_keys_lookup has made so far,
 * all threads (atomic). */
unsigned long auth_test_compares(void);
#endif

#endif
