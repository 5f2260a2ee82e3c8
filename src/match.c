/*
 * match: the matching engine (include/cpqd/match.h, docs/finance.md
 * "Matching").
 *
 * Owns: the indexes built once per run (references, accounts, names,
 * open items per customer), the decision for each credit in the order the
 * rules are documented, the allocation of a matched credit, suggestions
 * for an unmatched one. Does not own: reading text (match_text.c).
 *
 * Key invariant: a credit is matched only when one reading of it is left
 * (the payer and the reference agree, or the payer and the amount single
 * out items); anything that two readings could explain stays unmatched
 * with both readings as suggestions. Amounts are handled as integers of
 * the currency's minor unit; every sum is overflow-checked.
 */
#include "match_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 512 /* normalised names longer than this are cut */
#define MAX_GROUPS 32      /* reference groups looked at per credit */
#define MAX_SUGG 64        /* suggestion candidates before ranking */
#define MAX_NAME_CANDS 64  /* customers compared by name per credit */

const char *match_status_name(match_status s)
{
    static const char *const n[] = {"matched", "unmatched", "duplicate"};
    return (unsigned)s < 3 ? n[s] : NULL;
}

const char *match_rule_name(match_rule r)
{
    static const char *const n[] = {"none",   "reference",   "reference_fuzzy",
                                    "amount", "combination", "manual"};
    return (unsigned)r < 6 ? n[r] : NULL;
}

/* ---- a sorted string index: key -> values ---- */

typedef struct ix_ent {
    uint64_t h;
    const char *key; /* in the run's arena */
    size_t val;
} ix_ent;

typedef struct ix {
    ix_ent *e;
    size_t n, cap;
} ix;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int ix_add(ix *x, arena *a, const char *key, size_t val)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        ix_ent *e = realloc(x->e, cap * sizeof(*e));
        if (!e)
            return CPQD_ENOMEM;
        x->e = e;
        x->cap = cap;
    }
    const char *k = arena_strdup(a, key);
    if (!k)
        return CPQD_ENOMEM;
    x->e[x->n++] = (ix_ent){fnv(key), k, val};
    return 0;
}

static int ix_cmp(const void *pa, const void *pb)
{
    const ix_ent *a = pa, *b = pb;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->val > b->val) - (a->val < b->val);
}

static void ix_sort(ix *x)
{
    if (x->n)
        qsort(x->e, x->n, sizeof(*x->e), ix_cmp);
}

/* The entries with key: *first and the count. */
static size_t ix_find(const ix *x, const char *key, const ix_ent **first)
{
    uint64_t h = fnv(key);
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ix_ent *e = &x->e[mid];
        int c = e->h != h ? (e->h < h ? -1 : 1) : strcmp(e->key, key);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo;
    while (k < x->n && x->e[k].h == h && strcmp(x->e[k].key, key) == 0)
        k++;
    *first = x->n ? &x->e[lo] : NULL;
    return k - lo;
}

/* ---- the run ---- */

typedef enum rel { REL_SAME, REL_NAME, REL_UNKNOWN, REL_CONFLICT } rel;
typedef enum strength { ST_STRONG, ST_WEAK, ST_FUZZY } strength;
typedef enum payer_level {
    PAYER_ACCOUNT,
    PAYER_NAME_EXACT,
    PAYER_NAME_CLOSE,
    PAYER_NONE
} payer_level;

typedef struct payer {
    size_t cust; /* MATCH_NONE when unknown */
    payer_level level;
} payer;

/* Items cited by one reference: one invoice's items or one contract's. */
typedef struct group {
    bool contract;
    strength st;
    rel rl;
    size_t cust;
    const char *doc; /* the invoice or contract number */
    size_t first, n; /* range in ctx.gitems (oldest due first) */
    int64_t open;    /* what is open of them now */
} group;

typedef struct alloc_u {
    size_t item;
    int64_t units;
} alloc_u;

typedef struct ctx {
    const match_input *in;
    unsigned max_comb, max_cand, max_sugg;
    arena *a;
    int64_t *open;   /* per item, in minor units of its currency */
    int *minor;      /* per item */
    ix refs;         /* "P|YYYY|seq" and "*|YYYY|seq" -> item * 2 + is_contract */
    ix accounts;     /* account -> customer */
    ix names;        /* normalised name -> customer */
    ix words;        /* name word, "^first6", "$last6" -> customer */
    char **prefixes; /* the letters of every document number seen */
    size_t nprefixes;
    size_t *by_cust;        /* item indices grouped by customer, oldest due first */
    size_t *cust_first;     /* ncustomers + 1 offsets into by_cust */
    const char **cust_norm; /* normalised customer names */
    size_t *dup_of;         /* per credit: an earlier credit with its tx id, or MATCH_NONE */
    bool *cited;            /* per item: some credit of the statement cites its invoice */
    group groups[MAX_GROUPS];
    size_t ngroups;
    size_t *gitems; /* scratch: items of the groups */
    size_t ngitems, capgitems;
    alloc_u *allocs; /* scratch: the decision being built */
    size_t nallocs, capallocs;
    cpqd_errs *errs;
} ctx;

static int ctx_err(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int ctx_err(ctx *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->errs)
        errs_add(c->errs, CPQD_EINVAL, NULL, 0, 0, "%s", msg);
    return CPQD_EINVAL;
}

static bool add_ok(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* v in minor units of a currency with `minor` places; false if v has
 * more places or does not fit. */
static bool to_units(money_dec v, int minor, int64_t *out)
{
    money_dec r;
    if (!money_is_valid(v) || v.scale > minor || money_rescale(v, minor, MONEY_DOWN, &r))
        return false;
    *out = r.coef;
    return true;
}

static money_dec from_units(int64_t u, int minor)
{
    return (money_dec){u, minor};
}

/* ---- building the indexes ---- */

static int add_prefix(ctx *c, const char *key)
{
    size_t n = strcspn(key, "|");
    for (size_t i = 0; i < c->nprefixes; i++)
        if (strlen(c->prefixes[i]) == n && strncmp(c->prefixes[i], key, n) == 0)
            return 0;
    char **p = realloc(c->prefixes, (c->nprefixes + 1) * sizeof(*p));
    if (!p)
        return CPQD_ENOMEM;
    c->prefixes = p;
    if (!(p[c->nprefixes] = arena_strndup(c->a, key, n)))
        return CPQD_ENOMEM;
    c->nprefixes++;
    return 0;
}

/* Indexes an item under its document number (exact and any-prefix keys). */
static int index_doc(ctx *c, size_t i, const char *doc, bool contract)
{
    char key[64], any[64];
    if (!doc)
        return 0;
    if (match_ref_key(doc, key, sizeof(key)) < 0)
        return CPQD_EINTERNAL; /* check_items refused it already */
    snprintf(any, sizeof(any), "*%s", strchr(key, '|'));
    int rc;
    if ((rc = add_prefix(c, key)) || (rc = ix_add(&c->refs, c->a, key, i * 2 + contract)) ||
        (rc = ix_add(&c->refs, c->a, any, i * 2 + contract)))
        return rc;
    return 0;
}

static int check_items(ctx *c)
{
    const match_input *in = c->in;
    int rc = 0;
    for (size_t i = 0; i < in->nitems; i++) {
        const match_item *it = &in->items[i];
        const char *id = it->id ? it->id : "?";
        if (it->customer >= in->ncustomers)
            rc = ctx_err(c, "item %s: customer %zu does not exist", id, it->customer);
        if (!it->currency || money_currency_minor(it->currency, &c->minor[i]) != 0)
            rc = ctx_err(c, "item %s: unknown currency", id);
        else if (!to_units(it->open, c->minor[i], &c->open[i]) || c->open[i] < 0)
            rc = ctx_err(c, "item %s: open amount must be >= 0 at most at %s's places", id,
                         it->currency);
        const char *docs[] = {it->invoice_number, it->contract_number};
        char key[64];
        for (int k = 0; k < 2; k++)
            if (docs[k] && match_ref_key(docs[k], key, sizeof(key)) < 0)
                rc = ctx_err(c,
                             "item %s: '%.60s' is not a document number (letters, year, "
                             "sequence)",
                             id, docs[k]);
    }
    return rc;
}

/* Orders item indices by customer, then due date, then index. */
static int by_cust_cmp(const void *pa, const void *pb, void *items)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const match_item *x = &((const match_item *)items)[a], *y = &((const match_item *)items)[b];
    if (x->customer != y->customer)
        return x->customer < y->customer ? -1 : 1;
    if (x->due_on != y->due_on)
        return x->due_on < y->due_on ? -1 : 1;
    return (a > b) - (a < b);
}

static int index_items(ctx *c)
{
    const match_input *in = c->in;
    int rc;
    for (size_t i = 0; i < in->nitems; i++)
        if ((rc = index_doc(c, i, in->items[i].invoice_number, false)) ||
            (rc = index_doc(c, i, in->items[i].contract_number, true)))
            return rc;
    ix_sort(&c->refs);
    for (size_t i = 0; i < in->nitems; i++)
        c->by_cust[i] = i;
    qsort_r(c->by_cust, in->nitems, sizeof(size_t), by_cust_cmp, (void *)in->items);
    size_t k = 0;
    for (size_t cu = 0; cu <= in->ncustomers; cu++) {
        while (k < in->nitems && in->items[c->by_cust[k]].customer < cu)
            k++;
        c->cust_first[cu] = k;
    }
    return 0;
}

static int index_name_words(ctx *c, const char *norm, size_t cu)
{
    char w[NAME_MAX_BYTES];
    size_t n = strlen(norm);
    int rc;
    snprintf(w, sizeof(w), "%s", norm);
    for (char *save = NULL, *p = strtok_r(w, " ", &save); p; p = strtok_r(NULL, " ", &save))
        if (strlen(p) >= 3 && (rc = ix_add(&c->words, c->a, p, cu)))
            return rc;
    if (n >= 6) {
        char k[16];
        snprintf(k, sizeof(k), "^%.6s", norm);
        if ((rc = ix_add(&c->words, c->a, k, cu)))
            return rc;
        snprintf(k, sizeof(k), "$%.6s", norm + n - 6);
        if ((rc = ix_add(&c->words, c->a, k, cu)))
            return rc;
    }
    return 0;
}

static int index_customers(ctx *c)
{
    const match_input *in = c->in;
    char norm[NAME_MAX_BYTES];
    int rc;
    for (size_t cu = 0; cu < in->ncustomers; cu++) {
        const match_customer *m = &in->customers[cu];
        if (match_name_norm(m->name, norm, sizeof(norm)) < 0)
            norm[0] = '\0';
        if (!(c->cust_norm[cu] = arena_strdup(c->a, norm)))
            return CPQD_ENOMEM;
        if (norm[0] &&
            ((rc = ix_add(&c->names, c->a, norm, cu)) || (rc = index_name_words(c, norm, cu))))
            return rc;
        for (size_t k = 0; k < m->naccounts; k++)
            if (m->accounts[k] && *m->accounts[k] &&
                (rc = ix_add(&c->accounts, c->a, m->accounts[k], cu)))
                return rc;
    }
    ix_sort(&c->names);
    ix_sort(&c->words);
    ix_sort(&c->accounts);
    return 0;
}

/* Credits of this statement with a tx id seen earlier in it. */
static int index_dups(ctx *c)
{
    ix ids = {0};
    const match_input *in = c->in;
    int rc = 0;
    for (size_t i = 0; i < in->ncredits && rc == 0; i++)
        rc = ix_add(&ids, c->a, in->credits[i].tx_id ? in->credits[i].tx_id : "", i);
    ix_sort(&ids);
    for (size_t i = 0; i < in->ncredits && rc == 0; i++) {
        const ix_ent *e;
        size_t n = ix_find(&ids, in->credits[i].tx_id ? in->credits[i].tx_id : "", &e);
        c->dup_of[i] = n && e[0].val < i ? e[0].val : MATCH_NONE;
    }
    free(ids.e);
    return rc;
}

/* ---- the payer ---- */

/* The one customer an index maps key to, or MATCH_NONE (none or several). */
static size_t unique_cust(const ix *x, const char *key)
{
    const ix_ent *e;
    size_t n = ix_find(x, key, &e);
    for (size_t i = 1; i < n; i++)
        if (e[i].val != e[0].val)
            return MATCH_NONE;
    return n ? e[0].val : MATCH_NONE;
}

/* Customers whose names share a word, or the first or last 6 bytes, with
 * norm, then kept if mt_name_close: the only one, or MATCH_NONE. */
static size_t close_name(ctx *c, const char *norm)
{
    size_t cand[MAX_NAME_CANDS], nc = 0, found = MATCH_NONE;
    char w[NAME_MAX_BYTES];
    const char *keys[64];
    size_t nk = 0, n = strlen(norm);
    snprintf(w, sizeof(w), "%s", norm);
    for (char *save = NULL, *p = strtok_r(w, " ", &save); p && nk < 62;
         p = strtok_r(NULL, " ", &save))
        if (strlen(p) >= 3)
            keys[nk++] = p;
    char kf[16], kl[16];
    if (n >= 6) {
        snprintf(kf, sizeof(kf), "^%.6s", norm);
        snprintf(kl, sizeof(kl), "$%.6s", norm + n - 6);
        keys[nk++] = kf;
        keys[nk++] = kl;
    }
    for (size_t q = 0; q < nk; q++) {
        const ix_ent *e;
        size_t m = ix_find(&c->words, keys[q], &e);
        for (size_t i = 0; i < m && nc < MAX_NAME_CANDS; i++) {
            size_t j = 0;
            while (j < nc && cand[j] != e[i].val)
                j++;
            if (j == nc)
                cand[nc++] = e[i].val;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        if (!mt_name_close(norm, c->cust_norm[cand[i]]))
            continue;
        if (found != MATCH_NONE && found != cand[i])
            return MATCH_NONE; /* two customers are close: no reading */
        found = cand[i];
    }
    return found;
}

static payer identify(ctx *c, const bank_credit *cr)
{
    payer p = {MATCH_NONE, PAYER_NONE};
    char norm[NAME_MAX_BYTES];
    const char *acct = cr->debtor_account ? cr->debtor_account : "";
    if (*acct && (p.cust = unique_cust(&c->accounts, acct)) != MATCH_NONE) {
        p.level = PAYER_ACCOUNT;
        return p;
    }
    if (match_name_norm(cr->debtor_name, norm, sizeof(norm)) <= 0)
        return p;
    if ((p.cust = unique_cust(&c->names, norm)) != MATCH_NONE) {
        p.level = PAYER_NAME_EXACT;
        return p;
    }
    if ((p.cust = close_name(c, norm)) != MATCH_NONE)
        p.level = PAYER_NAME_CLOSE;
    return p;
}

static rel relation(const payer *p, size_t cust)
{
    if (p->cust == MATCH_NONE)
        return REL_UNKNOWN;
    if (p->cust != cust)
        return REL_CONFLICT;
    return p->level == PAYER_NAME_CLOSE ? REL_NAME : REL_SAME;
}

/* ---- reference groups ---- */

static int gitems_push(ctx *c, size_t item)
{
    if (c->ngitems == c->capgitems) {
        size_t cap = c->capgitems ? c->capgitems * 2 : 256;
        size_t *p = realloc(c->gitems, cap * sizeof(*p));
        if (!p)
            return CPQD_ENOMEM;
        c->gitems = p;
        c->capgitems = cap;
    }
    c->gitems[c->ngitems++] = item;
    return 0;
}

static bool same_currency(const ctx *c, size_t item, const bank_credit *cr)
{
    return strcmp(c->in->items[item].currency, cr->currency) == 0;
}

static const char *doc_of(const ctx *c, size_t item, bool contract)
{
    const match_item *it = &c->in->items[item];
    return contract ? it->contract_number : it->invoice_number;
}

static bool group_known(const ctx *c, const char *doc, bool contract)
{
    for (size_t g = 0; g < c->ngroups; g++)
        if (c->groups[g].contract == contract && strcmp(c->groups[g].doc, doc) == 0)
            return true;
    return false;
}

/* Adds the group of every document that key names (open items in the
 * credit's currency only). */
static int add_groups(ctx *c, const char *key, strength st, const payer *p, const bank_credit *cr)
{
    const ix_ent *e;
    size_t n = ix_find(&c->refs, key, &e);
    for (size_t i = 0; i < n && c->ngroups < MAX_GROUPS; i++) {
        size_t item = e[i].val / 2;
        bool contract = e[i].val % 2;
        const char *doc = doc_of(c, item, contract);
        if (group_known(c, doc, contract))
            continue;
        group *g = &c->groups[c->ngroups];
        *g = (group){contract, st, REL_UNKNOWN, c->in->items[item].customer, doc, c->ngitems, 0, 0};
        /* every open item of that document, oldest due first */
        size_t cu = g->cust;
        for (size_t k = c->cust_first[cu]; k < c->cust_first[cu + 1]; k++) {
            size_t it = c->by_cust[k];
            const char *d = doc_of(c, it, contract);
            if (!d || strcmp(d, doc) != 0 || c->open[it] <= 0 || !same_currency(c, it, cr))
                continue;
            int rc = gitems_push(c, it);
            if (rc)
                return rc;
            g->n++;
            if (!add_ok(g->open, c->open[it], &g->open))
                g->n = 0;
        }
        if (g->n == 0) {
            c->ngitems = g->first;
            continue;
        }
        g->rl = relation(p, g->cust);
        c->ngroups++;
    }
    return 0;
}

/* The longest prefix candidate cd names that is a known document prefix. */
static const char *known_prefix(const ctx *c, const mt_cand *cd)
{
    const char *best = NULL;
    for (int k = 0; k < cd->npre; k++)
        for (size_t i = 0; i < c->nprefixes; i++)
            if (strcmp(cd->pre[k], c->prefixes[i]) == 0 &&
                (!best || strlen(cd->pre[k]) > strlen(best)))
                best = c->prefixes[i];
    return best;
}

static bool related(const ctx *c, size_t from)
{
    for (size_t g = from; g < c->ngroups; g++)
        if (c->groups[g].rl == REL_SAME || c->groups[g].rl == REL_NAME)
            return true;
    return false;
}

/* One typo away from the digits as written: each digit replaced, dropped
 * or doubled by another, each neighbour pair swapped. */
static int fuzzy_groups(ctx *c, const mt_cand *cd, const char *pre, const payer *p,
                        const bank_credit *cr)
{
    char v[20], canon[16], key[48];
    size_t n = cd->nd;
    int rc = 0;
    for (size_t pos = 0; pos <= n && rc == 0; pos++) {
        for (int op = 0; op < 4 && rc == 0; op++) {
            for (char dgt = '0'; dgt <= '9' && rc == 0; dgt++) {
                size_t m = 0;
                if (op == 0 && pos < n && dgt != cd->d[pos]) { /* substitute */
                    memcpy(v, cd->d, n);
                    v[pos] = dgt;
                    m = n;
                } else if (op == 1 && pos <= n && n < 12) { /* insert */
                    memcpy(v, cd->d, pos);
                    v[pos] = dgt;
                    memcpy(v + pos + 1, cd->d + pos, n - pos);
                    m = n + 1;
                } else if (op == 2 && dgt == '0' && pos < n) { /* delete */
                    memcpy(v, cd->d, pos);
                    memcpy(v + pos, cd->d + pos + 1, n - pos - 1);
                    m = n - 1;
                } else if (op == 3 && dgt == '0' && pos + 1 < n && cd->d[pos] != cd->d[pos + 1]) {
                    memcpy(v, cd->d, n); /* swap neighbours */
                    v[pos] = cd->d[pos + 1];
                    v[pos + 1] = cd->d[pos];
                    m = n;
                }
                if (m == 0 || mt_canon(v, m, canon) < 0)
                    continue;
                snprintf(key, sizeof(key), "%s|%s", pre ? pre : "*", canon);
                rc = add_groups(c, key, ST_FUZZY, p, cr);
            }
        }
    }
    return rc;
}

/* Every reference group of the credit's remittance text. */
static int find_groups(ctx *c, const bank_credit *cr, const payer *p)
{
    mt_cand cands[MT_MAX_CANDS];
    size_t n = mt_scan(cr->remittance ? cr->remittance : "", cands, MT_MAX_CANDS);
    char canon[16], key[48];
    int rc = 0;
    c->ngroups = 0;
    c->ngitems = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (mt_canon(cands[i].d, cands[i].nd, canon) < 0)
            continue;
        const char *pre = known_prefix(c, &cands[i]);
        size_t before = c->ngroups;
        snprintf(key, sizeof(key), "%s|%s", pre ? pre : "*", canon);
        rc = add_groups(c, key, pre ? ST_STRONG : ST_WEAK, p, cr);
        /* a typo is looked for only when the payer is known and the number
         * as written names nothing of its own */
        if (rc == 0 && p->cust != MATCH_NONE && !related(c, before))
            rc = fuzzy_groups(c, &cands[i], pre, p, cr);
    }
    return rc;
}

/* Whether group g may be applied to the credit, by how it was read and
 * who pays: full says whether the amounts agree exactly. */
static bool acceptable(const group *g, bool full)
{
    switch (g->st) {
    case ST_STRONG:
        return g->rl == REL_SAME || g->rl == REL_NAME || (g->rl == REL_UNKNOWN && full);
    case ST_WEAK:
        return (g->rl == REL_SAME || g->rl == REL_NAME) && full;
    default:
        return g->rl == REL_SAME || (g->rl == REL_NAME && full);
    }
}

/* ---- decisions ---- */

static int alloc_push(ctx *c, size_t item, int64_t units)
{
    if (c->nallocs == c->capallocs) {
        size_t cap = c->capallocs ? c->capallocs * 2 : 64;
        alloc_u *p = realloc(c->allocs, cap * sizeof(*p));
        if (!p)
            return CPQD_ENOMEM;
        c->allocs = p;
        c->capallocs = cap;
    }
    for (size_t i = 0; i < c->nallocs; i++)
        if (c->allocs[i].item == item) {
            c->allocs[i].units += units;
            return 0;
        }
    c->allocs[c->nallocs++] = (alloc_u){item, units};
    return 0;
}

/* Pays items[0..n) oldest first with amt (each up to its open amount);
 * returns what is left. */
static int64_t pay_in_order(ctx *c, const size_t *items, size_t n, int64_t amt, int *rc)
{
    for (size_t i = 0; i < n && amt > 0 && *rc == 0; i++) {
        int64_t take = c->open[items[i]] < amt ? c->open[items[i]] : amt;
        if (take > 0)
            *rc = alloc_push(c, items[i], take);
        amt -= take;
    }
    return amt;
}

/* Two items are interchangeable when they are of the same contract and
 * have the same open amount (two periods of one subscription): paying
 * either is the same to the customer, and the older one is paid first. */
static bool interchangeable(const ctx *c, size_t a, size_t b)
{
    const char *x = c->in->items[a].contract_number, *y = c->in->items[b].contract_number;
    return c->open[a] == c->open[b] && x && y && strcmp(x, y) == 0;
}

/* Puts the items that no credit of the statement cites by their own
 * invoice number first, keeping due order within both parts: when a
 * payment could go to either of two interchangeable items, it goes to the
 * one nobody cited, so that a later payment citing the other finds it
 * open. */
static void uncited_first(const ctx *c, size_t *list, size_t n)
{
    size_t tmp[64], k = 0, m = 0;
    if (n > 64)
        return;
    for (size_t i = 0; i < n; i++)
        if (!c->cited[list[i]])
            tmp[k++] = list[i];
    for (size_t i = 0; i < n; i++)
        if (c->cited[list[i]])
            tmp[k + m++] = list[i];
    memcpy(list, tmp, n * sizeof(size_t));
}

/* Search state for combinations: the candidates, the first solution and
 * whether a solution not interchangeable with it exists. */
typedef struct combo {
    const size_t *cand;
    size_t n;
    unsigned min, max;
    size_t pick[8], best[8];
    size_t npick, nbest;
    int solutions; /* 0, 1, or 2 for "several different" */
    unsigned long budget;
} combo;

/* Whether solutions a and b are the same up to interchangeable items. */
static bool same_reading(const ctx *c, const size_t *a, const size_t *b, size_t n)
{
    bool used[8] = {false};
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < n && (used[j] || !(a[i] == b[j] || interchangeable(c, a[i], b[j]))))
            j++;
        if (j == n)
            return false;
        used[j] = true;
    }
    return true;
}

static void combo_dfs(const ctx *c, combo *s, size_t from, int64_t left)
{
    if (s->solutions > 1 || s->budget == 0)
        return;
    s->budget--;
    if (left == 0 && s->npick >= s->min) {
        if (s->solutions == 0) {
            memcpy(s->best, s->pick, s->npick * sizeof(size_t));
            s->nbest = s->npick;
            s->solutions = 1;
        } else if (s->npick != s->nbest || !same_reading(c, s->best, s->pick, s->npick)) {
            s->solutions = 2;
        }
        return;
    }
    if (s->npick == s->max || left <= 0)
        return;
    for (size_t i = from; i < s->n; i++) {
        int64_t v = c->open[s->cand[i]];
        if (v <= 0 || v > left)
            continue;
        s->pick[s->npick++] = s->cand[i];
        combo_dfs(c, s, i + 1, left - v);
        s->npick--;
    }
}

/* The only set (up to interchangeable items) of min..max of cand[0..n)
 * adding up to amt: 1 with it in s->best (the search takes earlier
 * candidates first, so of interchangeable items the earlier ones), 0 for
 * none, 2 for several. A budget bounds the search (then: several). */
static int combination(const ctx *c, const size_t *cand, size_t n, unsigned min, unsigned max,
                       int64_t amt, combo *s)
{
    *s = (combo){.cand = cand, .n = n, .min = min, .max = max < 8 ? max : 8, .budget = 200000};
    if (amt > 0)
        combo_dfs(c, s, 0, amt);
    if (s->budget == 0 && s->solutions < 2)
        return 2;
    return s->solutions;
}

/* The payer's open items in the credit's currency (oldest first) into buf. */
static size_t payer_items(const ctx *c, size_t cust, const bank_credit *cr, size_t *buf, size_t cap)
{
    size_t n = 0;
    for (size_t k = c->cust_first[cust]; k < c->cust_first[cust + 1] && n < cap; k++) {
        size_t it = c->by_cust[k];
        if (c->open[it] > 0 && same_currency(c, it, cr))
            buf[n++] = it;
    }
    return n;
}

static bool in_list(const size_t *list, size_t n, size_t item)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == item)
            return true;
    return false;
}

/* Whether an open item of cust outside the groups, all the open items of
 * one of its invoices, or (pairs) two of those items have exactly amt
 * open: then reading the credit as a part or more of a cited document is
 * doubtful (it may pay them under a mistyped reference). A part payment
 * is checked against pairs too; more than the cited document is not,
 * since the rest is then read from the customer's other items anyway. */
static bool other_equals(const ctx *c, size_t cust, const bank_credit *cr, int64_t amt, bool pairs)
{
    size_t lo = c->cust_first[cust], hi = c->cust_first[cust + 1];
    for (size_t k = lo; k < hi; k++) {
        size_t it = c->by_cust[k];
        if (c->open[it] <= 0 || !same_currency(c, it, cr) || in_list(c->gitems, c->ngitems, it))
            continue;
        if (c->open[it] == amt)
            return true;
        const char *inv = c->in->items[it].invoice_number;
        int64_t sum = 0;
        for (size_t q = lo; inv && q < hi; q++) {
            size_t o = c->by_cust[q];
            const char *x = c->in->items[o].invoice_number;
            if (x && strcmp(x, inv) == 0 && !add_ok(sum, c->open[o], &sum))
                break;
        }
        if (inv && sum == amt)
            return true;
    }
    if (!pairs)
        return false;
    /* or two of them together */
    size_t buf[64], n = 0;
    for (size_t k = lo; k < hi && n < 64; k++) {
        size_t it = c->by_cust[k];
        if (c->open[it] > 0 && same_currency(c, it, cr) && !in_list(c->gitems, c->ngitems, it))
            buf[n++] = it;
    }
    combo s;
    return combination(c, buf, n, 2, 2, amt, &s) != 0;
}

typedef struct verdict {
    match_rule rule;    /* NONE: leave it unmatched */
    const char *reason; /* when unmatched */
    int64_t overpaid;
    size_t cust;
} verdict;

static verdict unmatched(const char *why)
{
    return (verdict){MATCH_RULE_NONE, why, 0, MATCH_NONE};
}

static verdict matched(match_rule rule, size_t cust, int64_t overpaid)
{
    return (verdict){rule, NULL, overpaid, cust};
}

/* Pays every item of list[0..n) in full. */
static void pay_all(ctx *c, const size_t *list, size_t n, int *rc)
{
    for (size_t i = 0; i < n && *rc == 0; i++)
        *rc = alloc_push(c, list[i], c->open[list[i]]);
}

/* More than the cited invoice is open for: the rest pays the only item or
 * pair of the customer's other items adding up to it, else it is kept as
 * the customer's credit. */
static verdict excess(ctx *c, const group *g, const bank_credit *cr, int64_t amt, int *rc)
{
    int64_t rest = amt - g->open;
    size_t buf[64], other[64], n = payer_items(c, g->cust, cr, buf, 64), m = 0;
    for (size_t i = 0; i < n && m < c->max_cand; i++)
        if (!in_list(c->gitems + g->first, g->n, buf[i]))
            other[m++] = buf[i];
    uncited_first(c, other, m);
    combo s;
    int k = combination(c, other, m, 1, 2, rest, &s);
    if (k == 2)
        return unmatched("the rest over the cited document fits several of the customer's "
                         "open items");
    pay_all(c, c->gitems + g->first, g->n, rc);
    if (k == 1)
        pay_all(c, s.best, s.nbest, rc);
    return matched(g->st == ST_FUZZY ? MATCH_RULE_REFERENCE_FUZZY : MATCH_RULE_REFERENCE, g->cust,
                   k == 1 ? 0 : rest);
}

static match_rule groups_rule(const ctx *c, const size_t *acc, size_t na)
{
    for (size_t k = 0; k < na; k++)
        if (c->groups[acc[k]].st == ST_FUZZY)
            return MATCH_RULE_REFERENCE_FUZZY;
    return MATCH_RULE_REFERENCE;
}

/* The items of the accepted groups, each once: the invoices' into req,
 * the cited contracts' other items into opt (uncited first, then due). */
static void split_groups(const ctx *c, const size_t *acc, size_t na, size_t *req, size_t *nreq,
                         int64_t *sreq, size_t *opt, size_t *nopt, bool *ok)
{
    *nreq = *nopt = 0;
    *sreq = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < na; k++) {
            const group *g = &c->groups[acc[k]];
            if (g->contract != (pass == 1))
                continue;
            for (size_t i = g->first; i < g->first + g->n; i++) {
                size_t it = c->gitems[i];
                if (in_list(req, *nreq, it) || in_list(opt, *nopt, it))
                    continue;
                if (pass == 0 && *nreq < 64) {
                    req[(*nreq)++] = it;
                    *ok &= add_ok(*sreq, c->open[it], sreq);
                } else if (pass == 1 && *nopt < 64) {
                    opt[(*nopt)++] = it;
                }
            }
        }
    uncited_first(c, opt, *nopt);
}

static bool all_uncited(const ctx *c, const group *g)
{
    for (size_t i = g->first; i < g->first + g->n; i++)
        if (c->cited[c->gitems[i]])
            return false;
    return true;
}

/* The group to pay when the groups of acc whose open amount is amt are
 * all one reading (the same items, or interchangeable ones: an invoice
 * and its contract when nothing else is open, or periods of one contract
 * a mistyped number is one digit away from): of those, the first whose
 * items no other credit cites. MATCH_NONE when there is none, or two
 * readings. */
static size_t one_full_reading(const ctx *c, const size_t *acc, size_t na, int64_t amt)
{
    size_t full = MATCH_NONE, pick = MATCH_NONE;
    for (size_t k = 0; k < na; k++) {
        const group *g = &c->groups[acc[k]];
        if (g->open != amt)
            continue;
        if (full == MATCH_NONE) {
            full = pick = acc[k];
            continue;
        }
        const group *f = &c->groups[full];
        if (f->n != g->n || g->n > 8 ||
            !same_reading(c, c->gitems + f->first, c->gitems + g->first, g->n))
            return MATCH_NONE;
        if (!all_uncited(c, &c->groups[pick]) && all_uncited(c, g))
            pick = acc[k];
    }
    return pick;
}

/* A part of a single cited document (the credit is less than it). */
static verdict part_of(ctx *c, const group *g, const bank_credit *cr, int64_t amt, int *rc)
{
    if (!(g->st == ST_STRONG && g->rl != REL_UNKNOWN) && !(g->st == ST_FUZZY && g->rl == REL_SAME))
        return unmatched("a part payment needs the exact reference and a known payer");
    if (g->contract && g->n > 1)
        return unmatched("a part of a contract with several open items: which one is for a "
                         "person to say");
    if (other_equals(c, g->cust, cr, amt, true))
        return unmatched("a part of the cited document, or the customer's other open items of "
                         "exactly that amount");
    pay_in_order(c, c->gitems + g->first, g->n, amt, rc);
    return matched(g->st == ST_FUZZY ? MATCH_RULE_REFERENCE_FUZZY : MATCH_RULE_REFERENCE, g->cust,
                   0);
}

/* Rule 2: the documents cited in the remittance text. */
static verdict by_reference(ctx *c, const bank_credit *cr, int64_t amt, int *rc)
{
    size_t acc[MAX_GROUPS], na = 0, req[64], opt[64], nreq, nopt;
    int64_t sreq, sall = 0;
    bool conflict = false, ok = true;
    for (size_t g = 0; g < c->ngroups; g++) {
        conflict |= c->groups[g].rl == REL_CONFLICT;
        if (acceptable(&c->groups[g], true))
            acc[na++] = g;
    }
    if (na == 0)
        return unmatched(conflict     ? "the reference names another customer's items"
                         : c->ngroups ? "the reference alone does not settle it (payer unknown)"
                                      : "no reference to an open item in the remittance text");
    match_rule rule = groups_rule(c, acc, na);
    size_t cust = c->groups[acc[0]].cust;
    split_groups(c, acc, na, req, &nreq, &sreq, opt, &nopt, &ok);
    for (size_t i = 0; i < nopt; i++)
        ok &= add_ok(sall, c->open[opt[i]], &sall);
    ok &= add_ok(sall, sreq, &sall);
    c->nallocs = 0;
    if (!ok)
        return unmatched("the cited documents' amounts overflow");
    /* everything cited, exactly */
    if (sall == amt) {
        pay_all(c, req, nreq, rc);
        pay_all(c, opt, nopt, rc);
        return matched(rule, cust, 0);
    }
    /* one document (or documents holding the same items) exactly */
    size_t full = one_full_reading(c, acc, na, amt);
    if (full != MATCH_NONE) {
        const group *g = &c->groups[full];
        pay_all(c, c->gitems + g->first, g->n, rc);
        return matched(g->st == ST_FUZZY ? MATCH_RULE_REFERENCE_FUZZY : MATCH_RULE_REFERENCE,
                       g->cust, 0);
    }
    /* the invoices cited in full, and the only set of the cited contracts'
     * other items that makes up the rest: a reading beyond "the documents'
     * amounts", so only where every document may be paid in part */
    bool flexible = true;
    for (size_t k = 0; k < na; k++)
        flexible &= acceptable(&c->groups[acc[k]], false);
    if (flexible && nopt > 0 && amt > sreq) {
        combo s;
        int k = combination(c, opt, nopt, 1, c->max_comb, amt - sreq, &s);
        if (k == 2)
            return unmatched("several sets of the cited contract's open items add up to the "
                             "amount");
        if (k == 1) {
            pay_all(c, req, nreq, rc);
            pay_all(c, s.best, s.nbest, rc);
            return matched(rule, cust, 0);
        }
        /* the oldest open items of a single cited contract, up to the amount */
        const group *g = &c->groups[acc[0]];
        int64_t run = 0;
        for (size_t i = g->first; na == 1 && g->contract && i < g->first + g->n &&
                                  add_ok(run, c->open[c->gitems[i]], &run);
             i++)
            if (run == amt) {
                pay_all(c, c->gitems + g->first, i - g->first + 1, rc);
                return matched(rule, cust, 0);
            }
    }
    if (na > 1)
        return unmatched("the remittance text cites several documents that do not add up to "
                         "the amount");
    const group *g = &c->groups[acc[0]];
    if (!acceptable(g, false))
        return unmatched("the amount differs from the cited document's open amount and the payer "
                         "is not known");
    if (amt < g->open)
        return part_of(c, g, cr, amt, rc);
    if (g->st != ST_STRONG || g->rl == REL_UNKNOWN)
        return unmatched("an overpayment needs the exact reference and a known payer");
    if (g->contract && g->n > 1)
        return unmatched("more than a contract's open items: a person decides");
    if (other_equals(c, g->cust, cr, amt, false))
        return unmatched("more than the cited document, or the customer's other open item of "
                         "exactly that amount");
    return excess(c, g, cr, amt, rc);
}

/* The first item of list[0..n) with exactly amt open: 1 when every such
 * item is interchangeable with it (*pick gets it), 0 for none, 2 when two
 * readings are possible. */
static int single_of(const ctx *c, const size_t *list, size_t n, int64_t amt, size_t *pick)
{
    *pick = MATCH_NONE;
    for (size_t i = 0; i < n; i++) {
        if (c->open[list[i]] != amt)
            continue;
        if (*pick == MATCH_NONE)
            *pick = list[i];
        else if (!interchangeable(c, *pick, list[i]))
            return 2;
    }
    return *pick != MATCH_NONE;
}

/* Rule 3: the payer and the amount. */
static verdict by_amount(ctx *c, const payer *p, const bank_credit *cr, int64_t amt, int *rc)
{
    size_t buf[4096], pick;
    size_t n = payer_items(c, p->cust, cr, buf, 4096);
    c->nallocs = 0;
    if (n == 0)
        return unmatched("the payer has no open item in this currency");
    size_t head = n < c->max_cand ? n : c->max_cand;
    uncited_first(c, buf, head);
    int one = single_of(c, buf, n, amt, &pick);
    if (one == 2)
        return unmatched("several open items of the payer have that amount");
    if (one == 1) {
        *rc = alloc_push(c, pick, amt);
        return matched(MATCH_RULE_AMOUNT, p->cust, 0);
    }
    if (p->level == PAYER_NAME_CLOSE)
        return unmatched("the payer is known by a similar name only: no set of items is read");
    int64_t all = 0;
    bool fits = true;
    for (size_t i = 0; i < n && fits; i++)
        fits = add_ok(all, c->open[buf[i]], &all);
    if (fits && all == amt && n > 1) {
        pay_all(c, buf, n, rc);
        return matched(MATCH_RULE_COMBINATION, p->cust, 0);
    }
    combo s;
    int k = combination(c, buf, head, 2, c->max_comb, amt, &s);
    if (k == 1) {
        pay_all(c, s.best, s.nbest, rc);
        return matched(MATCH_RULE_COMBINATION, p->cust, 0);
    }
    if (k == 2)
        return unmatched("several sets of the payer's open items add up to the amount");
    /* a part payment without a reference is not guessed, not even of the
     * payer's only open item: it may as well be an advance */
    return unmatched("no open item or set of open items of the payer has that amount");
}

/* ---- suggestions ---- */

typedef struct sugg_buf {
    match_suggestion s[MAX_SUGG];
    size_t n;
} sugg_buf;

static void suggest(sugg_buf *b, size_t item, unsigned score)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->s[i].item == item) {
            if (score > b->s[i].score)
                b->s[i].score = score;
            return;
        }
    if (b->n < MAX_SUGG)
        b->s[b->n++] = (match_suggestion){item, score > 100 ? 100 : score};
}

static int sugg_cmp(const void *pa, const void *pb, void *items)
{
    const match_suggestion *a = pa, *b = pb;
    const match_item *it = items;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    date_days x = it[a->item].due_on, y = it[b->item].due_on;
    if (x != y)
        return x < y ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

static void suggestions(ctx *c, const payer *p, const bank_credit *cr, int64_t amt, match_result *r)
{
    sugg_buf b = {.n = 0};
    for (size_t g = 0; g < c->ngroups; g++) {
        const group *gr = &c->groups[g];
        unsigned base = gr->st == ST_STRONG ? 50 : 35;
        base += gr->rl == REL_SAME || gr->rl == REL_NAME ? 25 : 0;
        base += gr->open == amt ? 20 : 0;
        for (size_t i = gr->first; i < gr->first + gr->n; i++)
            suggest(&b, c->gitems[i], base + (c->open[c->gitems[i]] == amt ? 5 : 0));
    }
    if (p->cust != MATCH_NONE) {
        size_t buf[64];
        size_t n = payer_items(c, p->cust, cr, buf, 64);
        for (size_t i = 0; i < n; i++)
            suggest(&b, buf[i], c->open[buf[i]] == amt ? 70 : c->open[buf[i]] > amt ? 35 : 30);
    }
    qsort_r(b.s, b.n, sizeof(b.s[0]), sugg_cmp, (void *)c->in->items);
    size_t k = b.n < c->max_sugg ? b.n : c->max_sugg;
    match_suggestion *s = arena_calloc(c->a, k ? k : 1, sizeof(*s));
    if (!s)
        return;
    memcpy(s, b.s, k * sizeof(*s));
    r->suggestions = s;
    r->nsuggestions = k;
}

/* Marks the items whose invoice a credit cites exactly (with its prefix). */
static void mark_cited(ctx *c, const bank_credit *cr)
{
    mt_cand cands[MT_MAX_CANDS];
    char canon[16], key[48];
    size_t n = mt_scan(cr->remittance ? cr->remittance : "", cands, MT_MAX_CANDS);
    for (size_t i = 0; i < n; i++) {
        const char *pre = known_prefix(c, &cands[i]);
        if (!pre || mt_canon(cands[i].d, cands[i].nd, canon) < 0)
            continue;
        snprintf(key, sizeof(key), "%s|%s", pre, canon);
        const ix_ent *e;
        size_t m = ix_find(&c->refs, key, &e);
        for (size_t k = 0; k < m; k++)
            if (e[k].val % 2 == 0)
                c->cited[e[k].val / 2] = true;
    }
}

/* ---- one credit ---- */

static int alloc_cmp_items(const void *pa, const void *pb, void *items)
{
    const alloc_u *a = pa, *b = pb;
    const match_item *it = items;
    date_days x = it[a->item].due_on, y = it[b->item].due_on;
    if (x != y)
        return x < y ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* Records a decision: allocations (oldest due first) and the open amounts. */
static int apply(ctx *c, const verdict *v, int64_t amt, int minor, match_result *r)
{
    match_alloc *al = arena_calloc(c->a, c->nallocs ? c->nallocs : 1, sizeof(*al));
    int64_t used = 0;
    if (!al)
        return CPQD_ENOMEM;
    qsort_r(c->allocs, c->nallocs, sizeof(*c->allocs), alloc_cmp_items, (void *)c->in->items);
    for (size_t i = 0; i < c->nallocs; i++) {
        const alloc_u *a = &c->allocs[i];
        if (a->units <= 0 || a->units > c->open[a->item] || !add_ok(used, a->units, &used))
            return CPQD_EINTERNAL;
        c->open[a->item] -= a->units;
        al[i] = (match_alloc){a->item, from_units(a->units, c->minor[a->item])};
    }
    if (used + v->overpaid != amt)
        return CPQD_EINTERNAL;
    r->status = MATCH_MATCHED;
    r->rule = v->rule;
    r->allocs = al;
    r->nallocs = c->nallocs;
    r->overpaid = from_units(v->overpaid, minor);
    r->customer = v->cust;
    r->reason = NULL;
    return 0;
}

static int match_one(ctx *c, size_t ci, match_result *r)
{
    const bank_credit *cr = &c->in->credits[ci];
    const match_options *o = c->in->options;
    int minor = 2, rc = 0;
    int64_t amt;
    *r = (match_result){
        .status = MATCH_UNMATCHED, .customer = MATCH_NONE, .duplicate_of = MATCH_NONE};
    if (money_currency_minor(cr->currency, &minor) != 0 || !to_units(cr->amount, minor, &amt) ||
        amt <= 0) {
        r->overpaid = from_units(0, minor);
        r->reason = "the credit's currency or amount is not valid";
        return 0;
    }
    r->overpaid = from_units(0, minor);
    if (c->dup_of[ci] != MATCH_NONE ||
        (o && o->seen && cr->tx_id && o->seen(o->seen_ctx, cr->tx_id))) {
        r->status = MATCH_DUPLICATE;
        r->duplicate_of = c->dup_of[ci];
        r->reason = c->dup_of[ci] != MATCH_NONE ? "the same bank transaction id is earlier in "
                                                  "this statement"
                                                : "this bank transaction was imported before";
        return 0;
    }
    payer p = identify(c, cr);
    r->customer = p.cust;
    if ((rc = find_groups(c, cr, &p)))
        return rc;
    c->nallocs = 0;
    verdict v = by_reference(c, cr, amt, &rc);
    if (rc == 0 && v.rule == MATCH_RULE_NONE && p.cust != MATCH_NONE) {
        /* a document the payer cited explicitly that does not fit is for a
         * person to look at, not for guessing by amount */
        bool cited = false;
        for (size_t g = 0; g < c->ngroups; g++)
            cited |= c->groups[g].st != ST_WEAK && acceptable(&c->groups[g], false);
        if (!cited)
            v = by_amount(c, &p, cr, amt, &rc);
    }
    if (rc)
        return rc;
    if (v.rule != MATCH_RULE_NONE)
        return apply(c, &v, amt, minor, r);
    r->reason = v.reason;
    suggestions(c, &p, cr, amt, r);
    return 0;
}

/* ---- the run ---- */

static void ctx_fini(ctx *c)
{
    free(c->refs.e);
    free(c->accounts.e);
    free(c->names.e);
    free(c->words.e);
    free(c->prefixes);
    free(c->by_cust);
    free(c->cust_first);
    free(c->cust_norm);
    free(c->dup_of);
    free(c->cited);
    free(c->gitems);
    free(c->allocs);
    free(c->minor);
}

static unsigned or_default(unsigned v, unsigned dflt)
{
    return v ? v : dflt;
}

void match_run_fini(match_run *r)
{
    if (!r)
        return;
    free(r->results);
    free(r->open);
    arena_free(r->mem);
    memset(r, 0, sizeof(*r));
}

static int run_alloc(const match_input *in, ctx *c, match_run *out)
{
    size_t ni = in->nitems ? in->nitems : 1, nc = in->ncredits ? in->ncredits : 1;
    out->mem = arena_new(64 * 1024);
    out->results = calloc(nc, sizeof(*out->results));
    out->open = calloc(ni, sizeof(*out->open));
    c->open = calloc(ni, sizeof(*c->open));
    c->minor = calloc(ni, sizeof(*c->minor));
    c->by_cust = calloc(ni, sizeof(*c->by_cust));
    c->cust_first = calloc(in->ncustomers + 1, sizeof(*c->cust_first));
    c->cust_norm = calloc(in->ncustomers + 1, sizeof(*c->cust_norm));
    c->dup_of = calloc(nc, sizeof(*c->dup_of));
    c->cited = calloc(ni, sizeof(*c->cited));
    c->a = out->mem;
    if (!out->mem || !out->results || !out->open || !c->open || !c->minor || !c->by_cust ||
        !c->cust_first || !c->cust_norm || !c->dup_of || !c->cited)
        return CPQD_ENOMEM;
    return 0;
}

int match_statement(const match_input *in, match_run *out, cpqd_errs *errs)
{
    ctx c = {.in = in, .errs = errs};
    int rc;
    memset(out, 0, sizeof(*out));
    if (!in || (in->nitems && !in->items) || (in->ncredits && !in->credits) ||
        (in->ncustomers && !in->customers))
        return CPQD_EINVAL;
    const match_options none = {0}, *o = in->options ? in->options : &none;
    c.max_comb = or_default(o->max_combination, 3);
    c.max_cand = or_default(o->max_candidates, 24);
    c.max_sugg = or_default(o->max_suggestions, 5);
    if (c.max_cand > 64)
        c.max_cand = 64;
    if ((rc = run_alloc(in, &c, out)) || (rc = check_items(&c)) || (rc = index_items(&c)) ||
        (rc = index_customers(&c)) || (rc = index_dups(&c)))
        goto fail;
    for (size_t i = 0; i < in->ncredits; i++)
        mark_cited(&c, &in->credits[i]);
    for (size_t i = 0; i < in->ncredits; i++) {
        match_result *r = &out->results[i];
        if ((rc = match_one(&c, i, r)))
            goto fail;
        out->matched += r->status == MATCH_MATCHED;
        out->unmatched += r->status == MATCH_UNMATCHED;
        out->duplicates += r->status == MATCH_DUPLICATE;
    }
    out->n = in->ncredits;
    out->nitems = in->nitems;
    for (size_t i = 0; i < in->nitems; i++)
        out->open[i] = from_units(c.open[i], c.minor[i]);
    free(c.open);
    ctx_fini(&c);
    return 0;
fail:
    free(c.open);
    ctx_fini(&c);
    match_run_fini(out);
    return rc;
}

/* ---- manual matches ---- */

int match_manual(const match_item *items, size_t nitems, const money_dec *open,
                 const bank_credit *cr, const match_alloc *allocs, size_t n, money_dec *overpaid,
                 cpqd_errs *errs)
{
    ctx c = {.errs = errs};
    int minor, bad = 0;
    int64_t amt, used = 0;
    if (!cr || money_currency_minor(cr->currency, &minor) != 0 ||
        !to_units(cr->amount, minor, &amt) || amt <= 0)
        return ctx_err(&c, "the credit's currency or amount is not valid");
    for (size_t k = 0; k < n; k++) {
        const match_alloc *a = &allocs[k];
        int64_t u, o;
        if (a->item >= nitems) {
            bad = ctx_err(&c, "allocation %zu: item %zu does not exist", k, a->item);
            continue;
        }
        const match_item *it = &items[a->item];
        for (size_t j = 0; j < k; j++)
            if (allocs[j].item == a->item)
                bad = ctx_err(&c, "item %s is named twice", it->id);
        if (!it->currency || strcmp(it->currency, cr->currency) != 0) {
            bad = ctx_err(&c, "item %s is in %s, the credit in %s", it->id,
                          it->currency ? it->currency : "?", cr->currency);
            continue;
        }
        if (!to_units(a->amount, minor, &u) || u <= 0) {
            bad = ctx_err(&c, "item %s: the amount must be positive, at most %d places", it->id,
                          minor);
            continue;
        }
        if (!to_units(open[a->item], minor, &o) || u > o)
            bad = ctx_err(&c, "item %s: the amount is more than its open amount", it->id);
        if (!add_ok(used, u, &used))
            bad = ctx_err(&c, "the amounts overflow");
    }
    if (!bad && used > amt)
        bad = ctx_err(&c, "the allocations add up to more than the credit");
    if (bad)
        return CPQD_EINVAL;
    *overpaid = from_units(amt - used, minor);
    return 0;
}
