/*
 * price_rcache: results of formula and limit rules kept per worker and
 * catalog snapshot, keyed by the rule and its whole input.
 *
 * Why it is exact. A rule is a pure function of its chunk and its input:
 * the sandbox gives it no clock, randomness, files, other requests or
 * state that outlives an evaluation (rules.h, "Key invariant"), and the
 * decimal type is exact. So a rule run again on the same bytes of input
 * returns the same values; only successful evaluations (RULES_OK) are
 * kept, so a failure (a budget, a deadline, an error) is always run, and
 * reported, again. The key holds every byte of the input (names, types,
 * values, decimals with their scale), the chunk and the result types
 * accepted; a lookup compares all of it, never a hash alone. A quote's
 * usage counters are part of a limit rule's input, so a redemption made
 * since gives another key.
 *
 * Bounds. At most RC_SLOTS / 2 entries and RC_MAX_BYTES of keys and
 * results per worker; when either would be passed the cache starts over
 * (a price list has few distinct formula inputs; a stream of distinct
 * ones costs one clear per RC_SLOTS / 2 evaluations). Inputs that
 * serialise to more than RC_KEY_MAX bytes are not kept. A snapshot other
 * than the one the entries were made on (a reload, or a request still on
 * the older snapshot) empties it first: chunks belong to their snapshot.
 *
 * Thread-safety: part of a price_worker, one thread at a time.
 */
#include "price_int.h"

#include <stdlib.h>
#include <string.h>

#define RC_SLOTS 4096u               /* a power of two */
#define RC_MAX_BYTES ((size_t)4 << 20)
#define RC_KEY_MAX 4096u

typedef struct rc_ent {
    uint64_t hash;          /* 0: empty slot */
    const rules_chunk *ch;
    unsigned accept;
    size_t klen, rlen;
    unsigned char *bytes;   /* klen bytes of key, then rlen of result */
} rc_ent;

struct price_rcache {
    uint64_t serial; /* cat_snapshot_serial of the entries */
    rc_ent *slots;   /* RC_SLOTS, allocated on first use */
    size_t n, bytes;
    uint64_t hits;
};

/* ---- serialising values ---- */

typedef struct rc_buf {
    unsigned char *b;
    size_t len, cap;
    bool over;
} rc_buf;

static void put(rc_buf *k, const void *p, size_t n)
{
    if (k->over || n > k->cap - k->len) {
        k->over = true;
        return;
    }
    memcpy(k->b + k->len, p, n);
    k->len += n;
}

static void put_u64(rc_buf *k, uint64_t v)
{
    put(k, &v, sizeof(v));
}

static void put_bytes(rc_buf *k, const char *s, size_t n)
{
    put_u64(k, n);
    put(k, s, n);
}

static void put_value(rc_buf *k, const rules_value *v, int depth)
{
    unsigned char t = (unsigned char)v->type;
    put(k, &t, 1);
    switch (v->type) {
    case RULES_T_NIL: break;
    case RULES_T_BOOL: t = v->u.b; put(k, &t, 1); break;
    case RULES_T_INT: put_u64(k, (uint64_t)v->u.i); break;
    case RULES_T_NUM: put(k, &v->u.num, sizeof(v->u.num)); break;
    case RULES_T_STR:
        if (!v->u.str.ptr && v->u.str.len)
            k->over = true;
        else
            put_bytes(k, v->u.str.ptr, v->u.str.len);
        break;
    case RULES_T_DEC:
        put_u64(k, (uint64_t)v->u.dec.coef);
        put_u64(k, (uint64_t)v->u.dec.scale);
        break;
    case RULES_T_TABLE:
        if (depth > RULES_INPUT_DEPTH) {
            k->over = true;
            break;
        }
        put_u64(k, v->u.table.n);
        for (size_t i = 0; i < v->u.table.n && !k->over; i++) {
            const rules_field *f = &v->u.table.fields[i];
            if (!f->name) {
                k->over = true;
                break;
            }
            put_bytes(k, f->name, strlen(f->name));
            put_value(k, &f->value, depth + 1);
        }
        break;
    default: k->over = true; break;
    }
}

/* A 64-bit hash of p[0..n), eight bytes at a time (a lookup compares the
 * key's bytes anyway: the hash only spreads the slots). */
static uint64_t rc_hash(const unsigned char *p, size_t n, uint64_t h)
{
    const uint64_t m = 0x9e3779b97f4a7c15ull;
    uint64_t x;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&x, p, 8);
        h = (h ^ x) * m;
        h ^= h >> 29;
    }
    x = 0;
    memcpy(&x, p, n);
    h = (h ^ x ^ n) * m;
    return h ^ (h >> 32);
}

/* ---- the table ---- */

static void rc_clear(price_rcache *rc)
{
    if (!rc->slots)
        return;
    for (size_t i = 0; i < RC_SLOTS; i++)
        free(rc->slots[i].bytes);
    memset(rc->slots, 0, RC_SLOTS * sizeof(*rc->slots));
    rc->n = 0;
    rc->bytes = 0;
}

price_rcache *price_rcache_new(void)
{
    return calloc(1, sizeof(price_rcache));
}

void price_rcache_free(price_rcache *rc)
{
    if (!rc)
        return;
    rc_clear(rc);
    free(rc->slots);
    free(rc);
}

uint64_t price_rcache_hits(const price_rcache *rc)
{
    return rc ? rc->hits : 0;
}

/* The slot holding the key, or the empty slot where it would go. */
static rc_ent *rc_slot(price_rcache *rc, uint64_t h, const rules_chunk *ch, unsigned accept,
                       const unsigned char *key, size_t klen)
{
    for (size_t i = h & (RC_SLOTS - 1);; i = (i + 1) & (RC_SLOTS - 1)) {
        rc_ent *e = &rc->slots[i];
        if (!e->hash || (e->hash == h && e->ch == ch && e->accept == accept && e->klen == klen &&
                         !memcmp(e->bytes, key, klen)))
            return e;
    }
}

/* Rebuilds a successful result from its bytes, as rules_eval fills it. */
static bool rc_read(const unsigned char *p, size_t n, rules_result *out)
{
    memset(out, 0, offsetof(rules_result, text));
    out->text[0] = '\0';
    out->msg = out->text;
    size_t used = 1, at = 0, count;
#define TAKE(dst, sz)                                                                              \
    do {                                                                                           \
        if ((sz) > n - at)                                                                         \
            return false;                                                                          \
        memcpy((dst), p + at, (sz));                                                               \
        at += (sz);                                                                                \
    } while (0)
    uint64_t u;
    TAKE(&u, sizeof(u));
    count = (size_t)u;
    if (count > RULES_RESULTS_MAX)
        return false;
    TAKE(&out->cost, sizeof(out->cost));
    TAKE(&out->mem_peak, sizeof(out->mem_peak));
    for (size_t i = 0; i < count; i++) {
        rules_value *v = &out->values[i];
        unsigned char t;
        TAKE(&t, 1);
        v->type = (rules_type)t;
        switch (v->type) {
        case RULES_T_NIL: break;
        case RULES_T_BOOL: TAKE(&t, 1); v->u.b = t != 0; break;
        case RULES_T_INT: TAKE(&u, sizeof(u)); v->u.i = (int64_t)u; break;
        case RULES_T_NUM: TAKE(&v->u.num, sizeof(v->u.num)); break;
        case RULES_T_DEC:
            TAKE(&u, sizeof(u));
            v->u.dec.coef = (int64_t)u;
            TAKE(&u, sizeof(u));
            v->u.dec.scale = (int)u;
            break;
        case RULES_T_STR: {
            TAKE(&u, sizeof(u));
            size_t len = (size_t)u;
            if (len >= sizeof(out->text) - used)
                return false;
            char *dst = out->text + used;
            TAKE(dst, len);
            dst[len] = '\0';
            used += len + 1;
            *v = rules_value_str(dst, len);
            break;
        }
        default: return false;
        }
    }
#undef TAKE
    out->n = count;
    out->outcome = RULES_OK;
    return at == n;
}

static void rc_write(rc_buf *k, const rules_result *res)
{
    put_u64(k, res->n);
    put(k, &res->cost, sizeof(res->cost));
    put(k, &res->mem_peak, sizeof(res->mem_peak));
    for (size_t i = 0; i < res->n; i++)
        put_value(k, &res->values[i], 0);
}

int price_rcache_eval(price_worker *w, const cat_snapshot *s, const rules_chunk *ch,
                      const rules_value *input, unsigned accept, rules_result *res)
{
    price_rcache *rc = w->rcache;
    unsigned char kbuf[RC_KEY_MAX];
    rc_buf k = {kbuf, 0, sizeof(kbuf), false};
    if (rc && input)
        put_value(&k, input, 0);
    if (!rc || !input || k.over) {
        w->evals++;
        return rules_eval(w->rules, ch, input, accept, res);
    }
    if (rc->serial != cat_snapshot_serial(s)) {
        rc_clear(rc);
        rc->serial = cat_snapshot_serial(s);
    }
    if (!rc->slots && !(rc->slots = calloc(RC_SLOTS, sizeof(*rc->slots)))) {
        w->evals++;
        return rules_eval(w->rules, ch, input, accept, res);
    }
    uint64_t h = rc_hash(kbuf, k.len, (uintptr_t)ch ^ ((uint64_t)accept << 48));
    h = h ? h : 1;
    rc_ent *e = rc_slot(rc, h, ch, accept, kbuf, k.len);
    if (e->hash && rc_read(e->bytes + e->klen, e->rlen, res)) {
        rc->hits++;
        return 0;
    }
    w->evals++;
    int r = rules_eval(w->rules, ch, input, accept, res);
    if (r != 0 || res->outcome != RULES_OK || e->hash)
        return r;
    /* keep it: the result's bytes after the key's */
    unsigned char vbuf[RULES_TEXT_MAX + 512];
    rc_buf v = {vbuf, 0, sizeof(vbuf), false};
    rc_write(&v, res);
    if (v.over)
        return 0;
    if (rc->n + 1 > RC_SLOTS / 2 || rc->bytes + k.len + v.len > RC_MAX_BYTES) {
        rc_clear(rc);
        e = rc_slot(rc, h, ch, accept, kbuf, k.len);
    }
    unsigned char *b = malloc(k.len + v.len);
    if (!b)
        return 0; /* not kept: the result stands */
    memcpy(b, kbuf, k.len);
    memcpy(b + k.len, vbuf, v.len);
    *e = (rc_ent){h, ch, accept, k.len, v.len, b};
    rc->n++;
    rc->bytes += k.len + v.len;
    return 0;
}
