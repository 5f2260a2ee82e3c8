/*
 * limit: the counters behind the per-key limits of docs/auth.md
 * ("Limits"): quote writes per minute (a token bucket per key), bytes
 * of quotes stored per day, and requests answered at once.
 *
 * Owns: the counters, per API key id, for this process. Does not own
 * the limits themselves (auth: the role's defaults and the key file),
 * nor what counts as a quote write or a stored byte (quote).
 *
 * Counters live in memory: they start again at a restart, and several
 * instances count apart (each enforces the whole limit).
 * Thread-safety: every function is safe from any thread (one mutex).
 */
#ifndef CPQD_LIMIT_H
#define CPQD_LIMIT_H

#include "cpqd/date.h"

#include <stdint.h>

/* Takes one quote write for key_id under a budget of per_minute a
 * minute (a bucket of per_minute tokens refilled evenly over a minute;
 * now_ms a monotonic clock). Returns 0, or CPQD_ERATE with
 * *retry_after the seconds until a token is back (at least 1). An
 * unknown key id starts with a full bucket; CPQD_ENOMEM when the table
 * cannot grow. */
int limit_quote_take(const char *key_id, unsigned per_minute, int64_t now_ms,
                     unsigned *retry_after);

/* Whether key_id may store `add` more bytes on day `day` under cap:
 * 0, or CPQD_ERATE (*used gets what it stored that day). Does not
 * count them: limit_bytes_add does, once they are stored. */
int limit_bytes_check(const char *key_id, date_days day, uint64_t cap, uint64_t add,
                      uint64_t *used);
/* Counts `add` bytes stored by key_id on day `day`. */
void limit_bytes_add(const char *key_id, date_days day, uint64_t add);

/* Takes one of key_id's cap slots for a request being answered: 0, or
 * CPQD_ERATE when cap are taken already (CPQD_ENOMEM when the table
 * cannot grow). Every 0 is paired with one limit_conc_release. */
int limit_conc_take(const char *key_id, unsigned cap);
/* Gives a slot back. */
void limit_conc_release(const char *key_id);

/* Forgets every counter (tests). */
void limit_reset(void);

#endif
