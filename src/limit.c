/*
 * limit: per-key counters (include/cpqd/limit.h).
 *
 * Globals: `tab` (an open-addressing table of counters by key id) and
 * its size, guarded by `mu`. Entries are never removed: there are at most
 * as many as key ids in use (the key file holds at most 10,000).
 *
 * The bucket keeps its tokens in 1/60000 of a token per millisecond of a
 * minute, so a budget of n a minute refills n units per millisecond and
 * holds at most n * 60000: integer arithmetic, no drift.
 */
#include "cpqd/limit.h"

#include "cpqd/err.h"
#include "cpqd/hash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_ID_MAX 64
#define MS_PER_MINUTE 60000

typedef struct counter {
    char id[LIMIT_ID_MAX + 1]; /* "" : a free slot */
    int64_t units;             /* bucket: tokens x 60000 */
    int64_t at_ms;             /* when units was last brought up to date */
    date_days day;             /* the day `bytes` counts */
    uint64_t bytes;
    unsigned inflight;         /* requests being answered (limit_conc_*) */
} counter;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static counter *tab;       /* cap slots, a power of two */
static size_t cap, used;

static counter *slot_of(counter *t, size_t n, const char *id)
{
    for (size_t i = hash_fnv1a64_str(id) & (n - 1);; i = (i + 1) & (n - 1))
        if (!t[i].id[0] || !strcmp(t[i].id, id))
            return &t[i];
}

/* Doubles the table (half full at most). False on ENOMEM. */
static bool grow(void)
{
    size_t n = cap ? cap * 2 : 256;
    counter *t = calloc(n, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < cap; i++)
        if (tab[i].id[0])
            *slot_of(t, n, tab[i].id) = tab[i];
    free(tab);
    tab = t;
    cap = n;
    return true;
}

/* The counter of id, made on first use, under mu; NULL on ENOMEM. */
static counter *counter_of(const char *id)
{
    char key[LIMIT_ID_MAX + 1];
    strncpy(key, id ? id : "", LIMIT_ID_MAX);
    key[LIMIT_ID_MAX] = '\0';
    if (!key[0])
        strcpy(key, "-");
    if ((used + 1) * 2 > cap && !grow())
        return NULL;
    counter *c = slot_of(tab, cap, key);
    if (!c->id[0]) {
        memcpy(c->id, key, sizeof(key));
        c->at_ms = -1; /* the bucket starts full at its first take */
        c->day = DATE_CLOCK_REAL;
        used++;
    }
    return c;
}

int limit_quote_take(const char *key_id, unsigned per_minute, int64_t now_ms,
                     unsigned *retry_after)
{
    int rc = 0;
    int64_t full = (int64_t)per_minute * MS_PER_MINUTE;
    pthread_mutex_lock(&mu);
    counter *c = counter_of(key_id);
    if (!c) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    if (c->at_ms < 0) {
        c->units = full;
        c->at_ms = now_ms;
    }
    int64_t dt = now_ms > c->at_ms ? now_ms - c->at_ms : 0;
    if (dt > MS_PER_MINUTE)
        dt = MS_PER_MINUTE; /* a full minute refills any bucket */
    c->units = c->units + dt * per_minute > full ? full : c->units + dt * per_minute;
    c->at_ms = now_ms;
    if (c->units >= MS_PER_MINUTE) {
        c->units -= MS_PER_MINUTE;
    } else {
        /* ms until one whole token is back, in whole seconds, rounded up */
        int64_t ms = per_minute ? (MS_PER_MINUTE - c->units + per_minute - 1) / per_minute : 60000;
        *retry_after = (unsigned)((ms + 999) / 1000);
        if (*retry_after == 0)
            *retry_after = 1;
        rc = CPQD_ERATE;
    }
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

int limit_bytes_check(const char *key_id, date_days day, uint64_t cap_bytes, uint64_t add,
                      uint64_t *used_out)
{
    int rc = 0;
    pthread_mutex_lock(&mu);
    counter *c = counter_of(key_id);
    if (!c) {
        rc = CPQD_ENOMEM;
    } else {
        *used_out = c->day == day ? c->bytes : 0;
        if (*used_out > cap_bytes || add > cap_bytes - *used_out)
            rc = CPQD_ERATE;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void limit_bytes_add(const char *key_id, date_days day, uint64_t add)
{
    pthread_mutex_lock(&mu);
    counter *c = counter_of(key_id);
    if (c) {
        if (c->day != day) {
            c->day = day;
            c->bytes = 0;
        }
        c->bytes += add;
    }
    pthread_mutex_unlock(&mu);
}

int limit_conc_take(const char *key_id, unsigned most)
{
    int rc = 0;
    pthread_mutex_lock(&mu);
    counter *c = counter_of(key_id);
    if (!c)
        rc = CPQD_ENOMEM;
    else if (c->inflight >= most)
        rc = CPQD_ERATE;
    else
        c->inflight++;
    pthread_mutex_unlock(&mu);
    return rc;
}

void limit_conc_release(const char *key_id)
{
    pthread_mutex_lock(&mu);
    counter *c = counter_of(key_id);
    if (c && c->inflight > 0)
        c->inflight--;
    pthread_mutex_unlock(&mu);
}

void limit_reset(void)
{
    pthread_mutex_lock(&mu);
    free(tab);
    tab = NULL;
    cap = used = 0;
    pthread_mutex_unlock(&mu);
}
