/*
 * svc: the caller, idempotency, limits and the transaction runner of the
 * application layer (include/cpqd/svc.h).
 *
 * Invariant: an operation that wrote something either committed it all
 * (and then answered) or left nothing: every write of quotes,
 * contracts and the finance loop goes through svc_tx, whose failure
 * paths roll back.
 */
#include "cpqd/svc.h"

#include "cpqd/digest.h"
#include "cpqd/limit.h"
#include "svc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool svc_is_partner(const svc_caller *k)
{
    return k->role == AUTH_ROLE_PARTNER;
}

price_who svc_who(const svc_caller *k)
{
    return (price_who){auth_role_name(k->role), k->partner_id, k->has_authority, k->authority};
}

bool svc_etag_matches(const char *header, const char *etag)
{
    size_t len = strlen(etag);
    for (const char *p = header; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if ((n == 1 && *p == '*') || (n == len && !memcmp(p, etag, len)))
            return true;
        p += n;
        p += strcspn(p, ",");
    }
    return false;
}

void svc_reply_fini(svc_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->created = 0;
    r->etag[0] = '\0';
    r->content_type = NULL;
    r->priced_quote[0] = '\0';
    r->priced_version = 0;
    r->priced_at = r->priced_len = 0;
}

/* svc_tx without a writer: a transaction of its own on c->st. */
static int tx_inline(svc_ctx *c, svc_tx_fn fn, void *arg, svc_reply *out, cpqd_errs *errs)
{
    svc_ctx in = *c;
    in.keep = false;
    int rc = store_begin(in.st);
    if (rc == 0) {
        rc = fn(&in, arg, out, errs);
        if (rc == 0 || in.keep) {
            int crc = store_commit(in.st);
            if (crc)
                rc = crc;
        } else {
            store_rollback(in.st);
        }
    }
    return rc;
}

int svc_tx(svc_ctx *c, svc_tx_fn fn, void *arg, svc_reply *out, cpqd_errs *errs)
{
    int rc = c->writer ? svc_writer_run(c, fn, arg, out, errs) : tx_inline(c, fn, arg, out, errs);
    if (rc)
        svc_reply_fini(out);
    return rc;
}

void svc_tx_keep(svc_ctx *c)
{
    c->keep = true;
}

int svc_flat_begin(svc_ctx *c)
{
    return store_flat_begin(c->st);
}

int svc_flat_end(svc_ctx *c, int rc)
{
    /* kept writes keep their counters too */
    int frc = store_flat_end(c->st, rc == 0 || c->keep ? 0 : rc);
    return rc ? rc : frc;
}

/* ---- idempotency ---- */

static int key_check(const char *key, cpqd_errs *errs)
{
    if (!key)
        return 0;
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            n = 0;
    if (n == 0 || n > 128) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "Idempotency-Key: 1 to 128 printable ASCII characters");
        return CPQD_EINVAL;
    }
    return 0;
}

/* Looks the key up: 1 if a stored reply was copied to *out, 0 if none,
 * or an error (CPQD_ECONFLICT: the key was used with another request). */
static int replay(svc_ctx *c, const char *route, const char *key, const char *hash, svc_reply *out,
                  cpqd_errs *errs)
{
    if (!key)
        return 0;
    store_idem x;
    int rc = store_idem_get(c->st, c->caller->key_id, key, &x);
    if (rc == CPQD_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (strcmp(x.body_hash, hash) != 0 || strcmp(x.route, route) != 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "Idempotency-Key '%.64s' was already used with a different request", key);
        store_idem_fini(&x);
        return CPQD_ECONFLICT;
    }
    out->created = x.status == 201;
    if (x.etag && strlen(x.etag) < sizeof(out->etag))
        memcpy(out->etag, x.etag, strlen(x.etag) + 1); /* the state the stored reply shows */
    out->body = x.response;
    x.response = NULL;
    store_idem_fini(&x);
    return 1;
}

int svc_idem_peek(svc_ctx *c, const char *route, const char *key, const char *body, size_t len,
                  char hash[65], svc_reply *out, cpqd_errs *errs)
{
    int rc = key_check(key, errs);
    if (rc)
        return rc;
    if (digest_sha256_hex(body, len, hash) != 0)
        return CPQD_ENOMEM;
    return replay(c, route, key, hash, out, errs);
}

int svc_idem_replay(svc_ctx *c, const char *route, const char *key, const char *hash,
                    svc_reply *out, cpqd_errs *errs)
{
    return replay(c, route, key, hash, out, errs);
}

int svc_idem_record(svc_ctx *c, const char *route, const char *key, const char *hash,
                    const svc_reply *r, const char *id)
{
    if (!key)
        return 0;
    store_idem x = {.caller = (char *)c->caller->key_id,
                    .key = (char *)key,
                    .route = (char *)route,
                    .body_hash = (char *)hash,
                    .status = r->created ? 201 : 200,
                    .response = r->body,
                    .resource_id = (char *)id,
                    .etag = r->etag[0] ? (char *)r->etag : NULL};
    if (r->priced_len)
        x.priced = (store_priced_ref){r->priced_quote, r->priced_version, r->priced_at,
                                      r->priced_len};
    return store_idem_put(c->st, &x);
}

/* ---- limits ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int svc_limit_write(const svc_ctx *c, cpqd_errs *errs)
{
    const svc_caller *k = c->caller;
    unsigned wait = 0;
    if (!k->limits.quotes_per_minute)
        return 0;
    int rc = limit_quote_take(k->key_id, k->limits.quotes_per_minute, mono_ms(), &wait);
    if (rc == CPQD_ERATE) {
        char w[16];
        snprintf(w, sizeof(w), "%u", wait);
        errs_add(errs, CPQD_ERATE, NULL, 0, 0,
                 "this key may write %u quotes a minute; try again in %u s",
                 k->limits.quotes_per_minute, wait);
        errs_field(errs, "retry_after", w);
    }
    return rc;
}

int svc_limit_bytes(const svc_ctx *c, uint64_t bytes, cpqd_errs *errs)
{
    const svc_caller *k = c->caller;
    uint64_t used = 0;
    if (!k->limits.bytes_per_day)
        return 0;
    int rc = limit_bytes_check(k->key_id, c->today, k->limits.bytes_per_day, bytes, &used);
    if (rc == CPQD_ERATE) {
        char w[16]; /* until the service's next day */
        snprintf(w, sizeof(w), "%lld", (long long)(86400 - date_now() % 86400));
        errs_add(errs, CPQD_ERATE, NULL, 0, 0,
                 "this key may store %llu bytes of quotes a day; %llu are used and this quote "
                 "needs %llu",
                 (unsigned long long)k->limits.bytes_per_day, (unsigned long long)used,
                 (unsigned long long)bytes);
        errs_field(errs, "retry_after", w);
    }
    return rc;
}

void svc_limit_count(const svc_ctx *c, uint64_t bytes)
{
    if (c->caller->limits.bytes_per_day)
        limit_bytes_add(c->caller->key_id, c->today, bytes);
}

int svc_limit_lines(const svc_ctx *c, size_t nlines, cpqd_errs *errs)
{
    size_t max = c->caller->limits.max_lines;
    if (!max || nlines <= max)
        return 0;
    errs_add(errs, CPQD_ETOOBIG, NULL, 0, 0,
             "lines: %zu lines, more than this key may price at once (%zu)", nlines, max);
    return CPQD_ETOOBIG;
}
