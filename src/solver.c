/*
 * solver: configuration queries over a compiled model (see
 * include/cpqd/solver.h; the encoding is built in solver_build.c).
 *
 * Owns: the per-worker context (per model used: a domain solver with
 * every constraint on and an explanation solver with constraints under
 * selectors, CaDiCaL instances kept across requests and queried under
 * assumptions; a pool of witness configurations; the results of recent
 * requests; a local-search state; a propagation index (solver_up.c);
 * remembered minimal reasons), valid domains, minimal explanations, the
 * completeness test and the BOM roll-up.
 * Does not own: compiling models (solver_build.c), unit propagation
 * (solver_up.c), static checks (solver_check.c).
 *
 * Valid domains: every value starts unknown; every valid configuration
 * found that satisfies the choices (pooled, found by local search or by
 * a propagation repair from a known one, or a SAT model) marks the
 * values true in it "can be true" and the others "can be false"; a
 * remembered result for a subset of the choices gives the values still
 * excluded and implied, and propagation of the choices decides more.
 * Then one SAT call at a time with a temporary clause (ccadical_constrain)
 * "one of the values not yet seen true is true", decision phases toward
 * those values, either finds a configuration that covers at least one
 * more, or proves all of them excluded at once; the same with "one of the
 * values not yet seen false is false" for implied values (not needed for
 * attributes of always active instances). The answer is exact: no value
 * is decided by anything but a valid configuration or a proof that it
 * cannot hold (an UNSAT answer, or a propagation conflict).
 *
 * Explanations: a first sufficient set from a propagation conflict (else
 * the failed assumptions of an UNSAT call), then deletion over the
 * choices (every constraint on), then over the selectors with the
 * choices fixed; each test answered by a witness, a remembered result or
 * a repair (can hold), a propagation conflict (cannot: the set shrinks to
 * its core), or, failing those, a SAT call. Minimal reasons are
 * remembered per value and reused by every request that has their
 * choices. See docs/configurator.md; a budget of SAT calls per request
 * bounds the work.
 */
#include "solver_int.h"

#include "cpqd/metrics.h"

#include <ccadical.h>
#include <stdlib.h>
#include <string.h>

#define SV_SLOTS 16                /* models with a live SAT solver per worker */
#define SV_POOL_BYTES (1u << 20)   /* witness pool per model per worker, at most ... */
#define SV_POOL_MIN 32             /* ... but at least this many witnesses */
#define SV_POOL_MAX 2048           /* ... and at most this many */
#define SV_PREFIXES 64             /* remembered request results per model, */
#define SV_PREFIX_SHORT 2          /* of them up to SV_PREFIX_SHORT_MAX with at most */
#define SV_PREFIX_SHORT_MAX 16     /* ... this many choices */
#define SV_DEFAULT_BUDGET 4000     /* explanation SAT calls per request */
#define SV_EXPLAIN_CONFLICTS 50000 /* conflicts per explanation SAT call */
#define SV_REPAIR_DECISIONS 64   /* decisions per propagation repair */
#define SV_PATCH_FLIPS 256       /* changes per repair without propagation */
#define SV_UP_COVER_WORK 2       /* propagation witnesses: clauses looked at, times the literals */
#define SV_RC_PER 4                /* remembered reasons per value, */
#define SV_RC_BYTES (8u << 20)     /* ... at most this much per model per worker */

/* The result of an earlier request: with more choices, an excluded value
 * stays excluded and an implied one implied (fewer valid
 * configurations). */
typedef struct sv_prefix {
    int *lits;      /* its assumptions (choices and their quantities), sorted */
    size_t n;
    uint64_t *excl; /* values excluded under them */
    uint64_t *impl; /* values implied under them */
    uint64_t used;  /* LRU tick, 0 when empty */
} sv_prefix;

/* ---- local-search witnesses ----
 * A complete valid configuration differs from another one that has value
 * v by a few changes, often: selecting one alternative deselects its
 * sibling. So before asking the solver, each value still to witness is
 * tried on a known model of the valid-domain clauses (all constraints
 * on): set it, then repair the clauses that broke by flipping other
 * variables (WalkSAT moves, least breaking or, now and then, random),
 * never a choice's variable, a bounded number of times. Success leaves an
 * assignment that satisfies every clause (counted: a clause is broken
 * when none of its literals holds) and every choice: a witness as good as
 * a SAT model. Failure undoes the flips. Nothing is ever concluded from a
 * failure. */

#define SV_LS_FLIPS 48        /* repair flips per value tried */
#define SV_LS_WORK 4          /* clause visits per request: this many times the literals, */
#define SV_LS_WORK_MIN 100000 /* at least this many */
#define SV_LS_FAILS 16        /* failures per attempt before giving up (plus 2 per success) */

typedef struct sv_ls {
    int nvar;            /* variables 1..nvar */
    uint32_t ncl;
    uint32_t *cstart;    /* clause c: lits[cstart[c]] up to the next 0 */
    int *lits;
    uint32_t *ostart;    /* literal l's clauses: occ[ostart[x]..ostart[x + 1]), x = 2|l| + (l < 0) */
    uint32_t *occ;
    signed char *val;    /* the assignment, 1 or 0 per variable */
    uint32_t *tc;        /* literals true per clause */
    uint32_t *bpos;      /* per clause: its position in broken */
    uint32_t *broken, nbroken;
    int *log;            /* variables flipped since the last commit */
    size_t nlog, caplog;
    unsigned char *tabu; /* per variable: not to be flipped */
    size_t *vval;        /* per variable: its flat value index, or SIZE_MAX */
    bool valid;          /* val satisfies every clause */
    size_t nlits;        /* literals of the clauses */
    size_t work;         /* clause visits (flips, break counts) in this request */
    uint64_t rng;
    uint32_t *stamp;     /* per variable: the try that last flipped it */
    uint32_t tries;
} sv_ls;

static void ls_free(sv_ls *ls)
{
    if (!ls)
        return;
    free(ls->cstart);
    free(ls->lits);
    free(ls->ostart);
    free(ls->occ);
    free(ls->val);
    free(ls->tc);
    free(ls->bpos);
    free(ls->broken);
    free(ls->log);
    free(ls->tabu);
    free(ls->vval);
    free(ls->stamp);
    free(ls);
}

static size_t ls_x(int l)
{
    return 2 * (size_t)(l < 0 ? -l : l) + (l < 0);
}

/* The clause index of model m for local search, or NULL (ENOMEM, or too
 * large for 32-bit clause numbers). */
static sv_ls *ls_new(const solver_model *m)
{
    size_t n = 0;
    sv_ls *ls = calloc(1, sizeof(*ls));
    if (!ls || !(ls->lits = sv_domain_clauses(m, &n)) || n >= UINT32_MAX)
        goto fail;
    ls->nvar = m->nsat;
    ls->nlits = n;
    size_t nv = (size_t)m->nsat + 1, ncl = 0;
    for (size_t i = 0; i < n; i++)
        ncl += ls->lits[i] == 0;
    ls->ncl = (uint32_t)ncl;
    ls->cstart = malloc((ncl + 1) * sizeof(uint32_t));
    ls->ostart = calloc(2 * nv + 1, sizeof(uint32_t));
    ls->occ = malloc((n ? n : 1) * sizeof(uint32_t));
    ls->val = calloc(nv, 1);
    ls->tc = calloc(ncl + 1, sizeof(uint32_t));
    ls->bpos = malloc((ncl + 1) * sizeof(uint32_t));
    ls->broken = malloc((ncl + 1) * sizeof(uint32_t));
    ls->tabu = calloc(nv, 1);
    ls->vval = malloc(nv * sizeof(size_t));
    ls->stamp = calloc(nv, sizeof(uint32_t));
    if (!ls->stamp || !ls->cstart || !ls->ostart || !ls->occ || !ls->val || !ls->tc || !ls->bpos ||
        !ls->broken || !ls->tabu || !ls->vval)
        goto fail;
    uint32_t c = 0;
    bool start = true;
    for (size_t i = 0; i < n; i++) {
        if (start)
            ls->cstart[c] = (uint32_t)i;
        start = ls->lits[i] == 0;
        if (start)
            c++;
        else
            ls->ostart[ls_x(ls->lits[i]) + 1]++;
    }
    for (size_t x = 1; x <= 2 * nv; x++)
        ls->ostart[x] += ls->ostart[x - 1];
    uint32_t *fill = malloc(2 * nv * sizeof(uint32_t));
    if (!fill)
        goto fail;
    memcpy(fill, ls->ostart, 2 * nv * sizeof(uint32_t));
    c = 0;
    for (size_t i = 0; i < n; i++) {
        if (ls->lits[i] == 0)
            c++;
        else
            ls->occ[fill[ls_x(ls->lits[i])]++] = c;
    }
    free(fill);
    for (size_t v = 0; v < nv; v++)
        ls->vval[v] = SIZE_MAX;
    for (size_t i = 0; i < m->nvals; i++)
        ls->vval[m->vlit[i]] = i;
    ls->tabu[SV_TRUE] = 1;
    ls->rng = 0x9E3779B97F4A7C15ULL;
    return ls;
fail:
    ls_free(ls);
    return NULL;
}

static uint32_t ls_rand(sv_ls *ls, uint32_t n)
{
    ls->rng ^= ls->rng << 13;
    ls->rng ^= ls->rng >> 7;
    ls->rng ^= ls->rng << 17;
    return (uint32_t)(ls->rng % n);
}

static void ls_flip_raw(sv_ls *ls, int v)
{
    int t = ls->val[v] ? v : -v; /* the literal true before */
    ls->val[v] ^= 1;
    ls->work += ls->ostart[ls_x(t) + 1] - ls->ostart[ls_x(t)] + ls->ostart[ls_x(-t) + 1] -
                ls->ostart[ls_x(-t)];
    for (uint32_t k = ls->ostart[ls_x(t)]; k < ls->ostart[ls_x(t) + 1]; k++) {
        uint32_t c = ls->occ[k];
        if (--ls->tc[c] == 0) {
            ls->bpos[c] = ls->nbroken;
            ls->broken[ls->nbroken++] = c;
        }
    }
    for (uint32_t k = ls->ostart[ls_x(-t)]; k < ls->ostart[ls_x(-t) + 1]; k++) {
        uint32_t c = ls->occ[k];
        if (ls->tc[c]++ == 0) {
            uint32_t last = ls->broken[--ls->nbroken];
            ls->broken[ls->bpos[c]] = last;
            ls->bpos[last] = ls->bpos[c];
        }
    }
}

static bool ls_flip(sv_ls *ls, int v)
{
    if (ls->nlog == ls->caplog) {
        size_t nc = ls->caplog ? 2 * ls->caplog : 256;
        int *q = realloc(ls->log, nc * sizeof(int));
        if (!q)
            return false;
        ls->log = q;
        ls->caplog = nc;
    }
    ls->log[ls->nlog++] = v;
    ls_flip_raw(ls, v);
    return true;
}

static void ls_revert(sv_ls *ls)
{
    while (ls->nlog)
        ls_flip_raw(ls, ls->log[--ls->nlog]);
}

/* Clauses that flipping v would break. */
static uint32_t ls_breaks(sv_ls *ls, int v)
{
    int t = ls->val[v] ? v : -v;
    uint32_t b = 0;
    ls->work += ls->ostart[ls_x(t) + 1] - ls->ostart[ls_x(t)];
    for (uint32_t k = ls->ostart[ls_x(t)]; k < ls->ostart[ls_x(t) + 1]; k++)
        b += ls->tc[ls->occ[k]] == 1;
    return b;
}

/* Makes literal l true and repairs; false (with the flips still logged,
 * for ls_revert) when it could not within SV_LS_FLIPS flips or once
 * ls->work reaches budget. */
static bool ls_try(sv_ls *ls, int l, size_t budget)
{
    int v = l < 0 ? -l : l;
    if (ls->val[v] == (l > 0))
        return true;
    if (ls->tabu[v] || !ls_flip(ls, v))
        return false;
    ls->tabu[v]++;
    uint32_t me = ++ls->tries;
    if (me == 0) { /* wrapped: forget the stamps */
        memset(ls->stamp, 0, ((size_t)ls->nvar + 1) * sizeof(uint32_t));
        me = ls->tries = 1;
    }
    int last = v;
    bool ok = true;
    for (int f = 0; ls->nbroken && ok; f++) {
        if (f >= SV_LS_FLIPS || ls->work >= budget) {
            ok = false;
            break;
        }
        uint32_t c = ls->broken[ls_rand(ls, ls->nbroken)];
        bool noise = ls_rand(ls, 100) < 20;
        int best = 0;
        uint32_t bb = UINT32_MAX, seen = 0;
        bool best_fresh = false;
        for (uint32_t k = ls->cstart[c]; ls->lits[k]; k++) {
            int w = ls->lits[k] < 0 ? -ls->lits[k] : ls->lits[k];
            if (ls->tabu[w] || w == last)
                continue;
            seen++;
            if (noise) {
                if (ls_rand(ls, seen) == 0)
                    best = w;
                continue;
            }
            /* least breaking; among equals, one not flipped yet in this
             * try (flipping back and forth along a chain of equally
             * breaking variables, as an at-most-one ladder has, goes
             * nowhere) */
            uint32_t b = ls_breaks(ls, w);
            bool fresh = ls->stamp[w] != me;
            if (b < bb || (b == bb && fresh && !best_fresh)) {
                best = w;
                bb = b;
                best_fresh = fresh;
            }
        }
        if (!best && last != v && !ls->tabu[last]) /* the only way out: back */
            for (uint32_t k = ls->cstart[c]; ls->lits[k] && !best; k++)
                best = (ls->lits[k] < 0 ? -ls->lits[k] : ls->lits[k]) == last ? last : 0;
        ok = best && ls_flip(ls, best);
        if (ok) {
            ls->stamp[best] = me;
            last = best;
        }
    }
    ls->tabu[v]--;
    return ok;
}

/* Loads the SAT solver's current model (all constraints on); valid iff it
 * satisfies every clause, as it must. */
static void ls_recount(sv_ls *ls);

static void ls_load(sv_ls *ls, CCaDiCaL *sat)
{
    for (int v = 1; v <= ls->nvar; v++) {
        bool used = ls->ostart[2 * (size_t)v + 2] > ls->ostart[2 * (size_t)v] ||
                    ls->vval[v] != SIZE_MAX;
        ls->val[v] = used && ccadical_val(sat, v) > 0;
    }
    ls_recount(ls);
}

/* Recomputes the true-literal counts and broken clauses of ls->val. */
static void ls_recount(sv_ls *ls)
{
    ls->nbroken = 0;
    ls->nlog = 0;
    for (uint32_t c = 0; c < ls->ncl; c++) {
        uint32_t t = 0;
        for (uint32_t k = ls->cstart[c]; ls->lits[k]; k++) {
            int l = ls->lits[k];
            t += ls->val[l < 0 ? -l : l] == (l > 0);
        }
        ls->tc[c] = t;
        if (!t) {
            ls->bpos[c] = ls->nbroken;
            ls->broken[ls->nbroken++] = c;
        }
    }
    ls->valid = ls->nbroken == 0;
}

/* The assignment of ls when it is a valid configuration (every clause
 * true), else NULL. */
static const signed char *ls_valid(const sv_ls *ls)
{
    return ls && ls->valid && ls->nbroken == 0 ? ls->val : NULL;
}

/* Decision phases. The C API of CaDiCaL 1.5.3 (ccadical.h) cannot set
 * them; its C++ API can (Solver::phase). The C handle is a pointer to
 * ccadical.cpp's `struct Wrapper : Learner, Terminator { Solver *solver;
 * ... }`: the Solver pointer follows the two vtable pointers
 * (ccadical_add compiles to `mov 0x10(%rdi),%rdi; jmp Solver::add`), and
 * a non-virtual member function takes `this` first. The library is
 * linked statically, and phases are used only when its signature is the
 * one this layout was checked against (Debian's libcadical-dev 1.5.3-2
 * reports "cadical-sc2021"); otherwise the solver's own phases are used,
 * which is slower on large models, never less exact. A one-line C++
 * shim (`ccadical_phase`, in ccadical.h from CaDiCaL 1.9 on) would
 * replace this. */
#define SV_CADICAL_SIGNATURE "cadical-sc2021"
void sv_cadical_phase(void *solver, int lit) __asm__("_ZN7CaDiCaL6Solver5phaseEi");

static void *sv_cadical_solver(CCaDiCaL *w)
{
    void *s;
    memcpy(&s, (char *)w + 2 * sizeof(void *), sizeof(s));
    return s;
}

/* A remembered minimal reason of one value (see rc_find). */
typedef struct sv_rc {
    struct sv_rc *next;
    uint64_t used;       /* LRU tick */
    uint32_t nch, nsel;
    bool full;           /* with its constraints (else choices only) */
    int data[];          /* nch pairs (choice literal, quantity literal or 0), then nsel
                            selector indexes */
} sv_rc;

typedef struct sv_slot {
    uint64_t uid;    /* model id, 0 when empty */
    uint64_t gen;    /* its model's snapshot generation (0: built alone) */
    CCaDiCaL *sat;   /* valid domains: every constraint on, no selectors */
    CCaDiCaL *xsat;  /* explanations: constraints under selectors (on first use) */
    size_t words;    /* 64-bit words per witness */
    uint64_t *wit;   /* witness pool: cap complete valid configurations, bit per value */
    uint64_t *wlast; /* per witness: tick of the last request it applied to */
    size_t nwit, cap;
    uint64_t *imask; /* values whose "implied" needs a SAT proof (see domains) */
    signed char *ph; /* per value: decision phase set on sat (1, -1, 0 unset), or
                        NULL when phases cannot be set (see sv_cadical_solver) */
    sv_prefix pre[SV_PREFIXES];
    sv_ls *ls;       /* local-search witnesses, or NULL */
    /* explanations, on first use (xp_init) */
    sv_up *up;       /* unit propagation with constraints on or off */
    int *diff;       /* a model found by propagation: where it differs from the local search's */
    signed char *tmodel; /* test builds: that model in full, checked */
    size_t *vidx;    /* per SAT variable: its flat value index, or SIZE_MAX */
    uint32_t *chmark; /* per SAT variable: 1 + the first choice on it (during a request) */
    sv_rc **rc;      /* per value: remembered minimal reasons */
    size_t nvals_rc; /* values of rc */
    size_t rc_bytes;
    uint64_t used;   /* LRU tick */
} sv_slot;

struct solver_ctx {
    sv_slot slot[SV_SLOTS];
    uint64_t gen;    /* newest snapshot generation seen */
    uint64_t tick;
    size_t budget;
};

solver_ctx *solver_ctx_new(void)
{
    solver_ctx *c = calloc(1, sizeof(*c));
    if (c)
        c->budget = SV_DEFAULT_BUDGET;
    return c;
}

static void rc_clear(sv_slot *sl, size_t nvals);

static void slot_clear(sv_slot *s)
{
    if (s->sat)
        ccadical_release(s->sat);
    if (s->xsat)
        ccadical_release(s->xsat);
    free(s->wit);
    free(s->wlast);
    free(s->imask);
    free(s->ph);
    ls_free(s->ls);
    free(s->diff);
    free(s->tmodel);
    sv_up_free(s->up);
    free(s->vidx);
    free(s->chmark);
    if (s->rc) {
        rc_clear(s, s->nvals_rc);
        free(s->rc);
    }
    for (size_t i = 0; i < SV_PREFIXES; i++) {
        free(s->pre[i].lits);
        free(s->pre[i].excl);
    }
    memset(s, 0, sizeof(*s));
}

void solver_ctx_free(solver_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SV_SLOTS; i++)
        slot_clear(&c->slot[i]);
    free(c);
}

size_t sv_ctx_live(const solver_ctx *c)
{
    size_t n = 0;
    for (size_t i = 0; i < SV_SLOTS; i++)
        n += c->slot[i].uid != 0;
    return n;
}

void sv_ctx_drop(solver_ctx *c, const solver_model *m)
{
    for (size_t i = 0; i < SV_SLOTS; i++)
        if (c->slot[i].uid == m->uid)
            slot_clear(&c->slot[i]);
}

void solver_ctx_set_budget(solver_ctx *c, size_t sat_calls)
{
    c->budget = sat_calls ? sat_calls : SV_DEFAULT_BUDGET;
}

/* A model of a newer snapshot means a reload: the solvers of older
 * snapshots' models go now rather than when the LRU reaches them (up to
 * SV_SLOTS of them per context otherwise, megabytes each on large
 * models). A worker serves its requests one at a time on the snapshot
 * current at their start, so older ones rarely come back; when one
 * does (a request held across the reload), it only rebuilds its solver. */
static void ctx_drop_older(solver_ctx *c, uint64_t gen)
{
    if (gen <= c->gen)
        return;
    c->gen = gen;
    for (size_t i = 0; i < SV_SLOTS; i++)
        if (c->slot[i].uid && c->slot[i].gen && c->slot[i].gen < gen)
            slot_clear(&c->slot[i]);
}

/* The slot of model m, creating its solver on first use (least recently
 * used slot evicted). NULL on ENOMEM. */
static sv_slot *ctx_slot(solver_ctx *c, const solver_model *m)
{
    sv_slot *victim = &c->slot[0];
    c->tick++;
    ctx_drop_older(c, m->gen);
    for (size_t i = 0; i < SV_SLOTS; i++) {
        sv_slot *s = &c->slot[i];
        if (s->uid == m->uid) {
            s->used = c->tick;
            return s;
        }
        if (s->used < victim->used)
            victim = s;
    }
    slot_clear(victim);
    size_t words = (m->nvals + 63) / 64 ? (m->nvals + 63) / 64 : 1;
    size_t cap = SV_POOL_BYTES / (words * sizeof(uint64_t));
    cap = cap < SV_POOL_MIN ? SV_POOL_MIN : cap > SV_POOL_MAX ? SV_POOL_MAX : cap;
    victim->words = words;
    victim->cap = cap;
    victim->wit = calloc(cap * words, sizeof(uint64_t));
    victim->wlast = calloc(cap, sizeof(uint64_t));
    victim->imask = calloc(words, sizeof(uint64_t));
    victim->sat = ccadical_init();
    if (!victim->wit || !victim->wlast || !victim->imask || !victim->sat) {
        slot_clear(victim);
        return NULL;
    }
    /* An attribute of an always active instance has exactly one value in
     * every configuration: once the first pass has witnessed or excluded
     * each value, a value is implied iff it is the only one witnessed
     * (two witnessed values witness each other false). Other values
     * (options, quantities, attributes of sub-assemblies) need the
     * second pass. */
    for (size_t v = 0; v < m->nvars; v++) {
        bool eo = m->vars[v].kind == SOLVER_VAR_ATTR && m->insts[m->vx[v].inst].act == SV_TRUE;
        for (size_t i = 0; !eo && i < m->vars[v].nvalues; i++)
            victim->imask[sv_val(m, v, i) / 64] |= (uint64_t)1 << (sv_val(m, v, i) % 64);
    }
    if (strcmp(ccadical_signature(), SV_CADICAL_SIGNATURE) == 0 &&
        !(victim->ph = calloc(m->nvals ? m->nvals : 1, 1))) {
        slot_clear(victim);
        return NULL;
    }
    sv_load_solver(m, victim->sat, false);
    victim->ls = ls_new(m); /* NULL: without local search */
    victim->uid = m->uid;
    victim->gen = m->gen;
    victim->used = c->tick;
    return victim;
}

/* ---- one request ---- */

/* Scratch of the explanations of one request. */
typedef struct sv_xs {
    int *lits;       /* assumption literals: 2 per choice, and one */
    size_t *chs, *sels, *test;
    sv_up_core core;
} sv_xs;

typedef struct sv_run {
    solver_ctx *c;
    const solver_model *m;
    sv_slot *sl;
    CCaDiCaL *sat; /* the solver in use: sl->sat, or sl->xsat while explaining */
    bool guarded;  /* sat is sl->xsat: selectors must be assumed */
    size_t nch;
    size_t *cv;    /* per choice: flat value index */
    bool *cneg;    /* per choice: negated */
    size_t *qv;    /* per choice: flat index of its quantity value, or SIZE_MAX */
    uint64_t *can_t, *can_f; /* values seen true / false in some valid configuration */
    size_t calls;  /* SAT calls */
    size_t spent;  /* of them, for explanations */
    size_t hits;   /* cached witnesses used */
    int *ls_tl;    /* assumption literals made tabu in sl->ls */
    size_t ls_ntl;
    size_t ls_budget; /* local-search work allowed (sv_ls.work) */
    bool ls_fit;   /* sl->ls satisfies the choices (and they are tabu) */
    bool ls_refresh; /* reload sl->ls from the next SAT model */
    int last_q;    /* the extra literal of the last call */
    bool truncated;
    sv_xs xs;      /* explanation scratch (xs_init) */
    bool up_based; /* sl->up holds the propagation of the choices (up_base) */
} sv_run;

static bool bit(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

static void bit_set(uint64_t *b, size_t i)
{
    b[i / 64] |= (uint64_t)1 << (i % 64);
}

static int choice_lit(const sv_run *r, size_t i)
{
    int l = r->m->vlit[r->cv[i]];
    return r->cneg[i] ? -l : l;
}

/* Whether witness w satisfies every choice. */
static bool witness_fits(const sv_run *r, const uint64_t *w)
{
    for (size_t i = 0; i < r->nch; i++) {
        if (bit(w, r->cv[i]) == r->cneg[i])
            return false;
        if (r->qv[i] != SIZE_MAX && !bit(w, r->qv[i]))
            return false;
    }
    return true;
}

static void witness_use(sv_run *r, const uint64_t *w)
{
    for (size_t k = 0; k < r->sl->words; k++) {
        r->can_t[k] |= w[k];
        r->can_f[k] |= ~w[k];
    }
}

/* Records the solver's current model (a valid configuration: every
 * constraint was on) in the pool, replacing the witness that has gone
 * longest without applying to a request, and, if it fits the choices, in
 * the request's knowledge. */
static uint64_t *pool_slot(sv_run *r)
{
    sv_slot *sl = r->sl;
    size_t slot = sl->nwit;
    if (sl->nwit < sl->cap) {
        sl->nwit++;
    } else {
        slot = 0;
        for (size_t k = 1; k < sl->cap; k++)
            if (sl->wlast[k] < sl->wlast[slot])
                slot = k;
    }
    uint64_t *w = sl->wit + slot * sl->words;
    memset(w, 0, sl->words * sizeof(uint64_t));
    sl->wlast[slot] = r->c->tick;
    return w;
}

static void witness_take(sv_run *r)
{
    uint64_t *w = pool_slot(r);
    for (size_t i = 0; i < r->m->nvals; i++)
        if (ccadical_val(r->sat, r->m->vlit[i]) > 0)
            bit_set(w, i);
    if (r->can_t && witness_fits(r, w))
        witness_use(r, w);
    if (r->ls_refresh && r->sat == r->sl->sat && r->sl->ls) {
        ls_load(r->sl->ls, r->sat);
        r->ls_refresh = false;
    }
}

/* The local-search assignment as a witness (it satisfies the choices). */
static void witness_ls(sv_run *r)
{
    const sv_ls *ls = r->sl->ls;
    uint64_t *w = pool_slot(r);
    for (size_t i = 0; i < r->m->nvals; i++)
        if (ls->val[r->m->vlit[i]])
            bit_set(w, i);
    witness_use(r, w);
}

static void ls_release(sv_run *r)
{
    sv_ls *ls = r->sl ? r->sl->ls : NULL;
    for (size_t k = 0; ls && k < r->ls_ntl; k++)
        ls->tabu[r->ls_tl[k] < 0 ? -r->ls_tl[k] : r->ls_tl[k]]--;
    r->ls_ntl = 0;
    r->ls_fit = false;
}

/* Makes the local-search assignment satisfy the choices and takes it as a
 * witness; false (assignment unchanged, reloaded from the next SAT
 * model) when that fails. */
static bool ls_fit(sv_run *r)
{
    sv_ls *ls = r->sl->ls;
    if (r->ls_fit)
        return true;
    if (!ls || !ls->valid || !r->ls_tl)
        return false;
    for (size_t i = 0; i < r->nch; i++) {
        int l[2] = {choice_lit(r, i), r->qv[i] != SIZE_MAX ? r->m->vlit[r->qv[i]] : 0};
        for (int k = 0; k < 2 && l[k]; k++) {
            if (!ls_try(ls, l[k], r->ls_budget)) {
                ls_revert(ls);
                ls_release(r);
                r->ls_refresh = true;
                return false;
            }
            ls->tabu[l[k] < 0 ? -l[k] : l[k]]++;
            r->ls_tl[r->ls_ntl++] = l[k];
        }
    }
    ls->nlog = 0;
    r->ls_fit = true;
    witness_ls(r);
    return true;
}

/* Tries to witness, by local search, each value of mask not yet in have
 * (true, or false when !positive). */
static void ls_cover(sv_run *r, const uint64_t *have, bool positive, const uint64_t *mask)
{
    if (!ls_fit(r))
        return;
    sv_ls *ls = r->sl->ls;
    size_t wins = 0, fails = 0;
    for (size_t i = 0; i < r->m->nvals && ls->work < r->ls_budget; i++) {
        if (bit(have, i) || !bit(mask, i))
            continue;
        if (fails > SV_LS_FAILS + 2 * wins)
            break; /* mostly failing here: leave the rest to the solver */
        int l = positive ? r->m->vlit[i] : -r->m->vlit[i];
        if (!ls_try(ls, l, r->ls_budget)) {
            ls_revert(ls);
            fails++;
            continue;
        }
        for (size_t k = 0; k < ls->nlog; k++) {
            size_t j = ls->vval[ls->log[k]];
            if (j != SIZE_MAX)
                bit_set(ls->val[ls->log[k]] ? r->can_t : r->can_f, j);
        }
        ls->nlog = 0;
        wins++;
    }
    if (wins)
        witness_ls(r);
}

/* Assumes the choices listed in chs (all if chs is NULL), the extra
 * literal q (if non-zero) and the selectors listed in sels (all if NULL),
 * then solves; limit > 0 bounds the conflicts. Returns 10, 20 or 0. */
static int run_solve(sv_run *r, const size_t *chs, size_t nchs, int q, const size_t *sels,
                     size_t nsels, int limit)
{
    const solver_model *m = r->m;
    size_t n = chs ? nchs : r->nch;
    for (size_t k = 0; k < n; k++) {
        size_t i = chs ? chs[k] : k;
        ccadical_assume(r->sat, choice_lit(r, i));
        if (r->qv[i] != SIZE_MAX)
            ccadical_assume(r->sat, m->vlit[r->qv[i]]);
    }
    if (q)
        ccadical_assume(r->sat, q);
    r->last_q = q;
    size_t ns = sels ? nsels : r->guarded ? m->nsels : 0;
    for (size_t k = 0; k < ns; k++)
        ccadical_assume(r->sat, m->sels[sels ? sels[k] : k].sat);
    if (limit > 0)
        ccadical_limit(r->sat, "conflicts", limit);
    r->calls++;
    return ccadical_solve(r->sat);
}

/* Whether an assumption on literal l failed. CaDiCaL marks only one of
 * two complementary assumptions (a choice and the query, or two choices)
 * as failed, so the other side of such a pair counts too. */
static bool lit_failed(const sv_run *r, int l)
{
    if (ccadical_failed(r->sat, l))
        return true;
    if (r->last_q == -l && ccadical_failed(r->sat, -l))
        return true;
    for (size_t j = 0; j < r->nch; j++)
        if (choice_lit(r, j) == -l && ccadical_failed(r->sat, -l))
            return true;
    return false;
}

static bool choice_failed(const sv_run *r, size_t i)
{
    return lit_failed(r, choice_lit(r, i)) ||
           (r->qv[i] != SIZE_MAX && lit_failed(r, r->m->vlit[r->qv[i]]));
}

/* Keeps the elements of set[0..*n) whose assumption failed in the last
 * UNSAT call (choices, or selectors when sel). */
static void keep_failed(const sv_run *r, size_t *set, size_t *n, bool sel)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        bool f = sel ? ccadical_failed(r->sat, r->m->sels[set[i]].sat) != 0
                     : choice_failed(r, set[i]);
        if (f)
            set[k++] = set[i];
    }
    *n = k;
}

/* ---- valid domains ---- */

/* Sets the decision phase of value i's variable to "true" (want) or
 * "false". Phases only steer which configuration the solver finds,
 * never what is decided. */
static void value_phase(sv_run *r, size_t i, bool want)
{
    sv_slot *sl = r->sl;
    if (!sl->ph || sl->ph[i] == (want ? 1 : -1))
        return;
    sl->ph[i] = want ? 1 : -1;
    int l = r->m->vlit[i];
    sv_cadical_phase(sv_cadical_solver(sl->sat), want ? l : -l);
}

/* One temporary clause over the values in mask with their bit clear in
 * have, true or negated; SAT adds a witness, UNSAT proves none of them
 * possible. Returns 10, 20, or 0 when nothing was left to test. */
static int cover_step(sv_run *r, const uint64_t *have, bool positive, const uint64_t *mask)
{
    size_t cnt = 0;
    for (size_t i = 0; i < r->m->nvals; i++) {
        bool want = !bit(have, i) && bit(mask, i);
        value_phase(r, i, positive == want);
        if (!want)
            continue;
        ccadical_constrain(r->sat, positive ? r->m->vlit[i] : -r->m->vlit[i]);
        cnt++;
    }
    if (!cnt)
        return 0;
    ccadical_constrain(r->sat, 0);
    int res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
    if (res == 10)
        witness_take(r);
    return res;
}

/* The remembered result whose choices are a subset of this request's
 * (the largest such), or NULL. */
static sv_prefix *prefix_find(const sv_run *r, const int *lits, size_t n)
{
    sv_prefix *best = NULL;
    for (size_t e = 0; e < SV_PREFIXES; e++) {
        sv_prefix *p = &r->sl->pre[e];
        if (!p->used || p->n > n || (best && p->n <= best->n))
            continue;
        size_t i = 0;
        for (size_t k = 0; k < n && i < p->n; k++)
            if (lits[k] == p->lits[i])
                i++;
        if (i == p->n)
            best = p;
    }
    return best;
}

static int lit_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* This request's assumptions, sorted and unique; NULL on ENOMEM. */
static int *request_lits(const sv_run *r, size_t *n)
{
    int *l = malloc((2 * r->nch + 1) * sizeof(int));
    if (!l)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < r->nch; i++) {
        l[k++] = choice_lit(r, i);
        if (r->qv[i] != SIZE_MAX)
            l[k++] = r->m->vlit[r->qv[i]];
    }
    qsort(l, k, sizeof(int), lit_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || l[i] != l[u - 1])
            l[u++] = l[i];
    *n = u;
    return l;
}

/* Remembers this request's excluded and implied values, in place of the
 * entry with the same choices, else of an empty one, else of the least
 * recently used one of its class: results with at most SV_PREFIX_SHORT
 * choices (the first steps, which every configuration session shares)
 * keep up to SV_PREFIX_SHORT_MAX entries apart from the deeper ones; the
 * result without choices is never replaced. Best effort: nothing on
 * ENOMEM. */
static void prefix_store(sv_run *r, int *lits, size_t n)
{
    sv_slot *sl = r->sl;
    sv_prefix *p = NULL, *same = NULL, *empty = NULL, *lru_short = NULL, *lru_deep = NULL;
    size_t nshort = 0;
    for (size_t e = 0; e < SV_PREFIXES && !same; e++) {
        sv_prefix *q = &sl->pre[e];
        if (!q->used) {
            empty = empty ? empty : q;
            continue;
        }
        if (q->n == n && memcmp(q->lits, lits, n * sizeof(int)) == 0)
            same = q;
        else if (q->n > SV_PREFIX_SHORT)
            lru_deep = !lru_deep || q->used < lru_deep->used ? q : lru_deep;
        else if (q->n > 0)
            lru_short = !lru_short || q->used < lru_short->used ? q : lru_short;
        nshort += q->n <= SV_PREFIX_SHORT;
    }
    if (same)
        p = same;
    else if (empty)
        p = empty;
    else if (n <= SV_PREFIX_SHORT && nshort < SV_PREFIX_SHORT_MAX)
        p = lru_deep ? lru_deep : lru_short;
    else
        p = n <= SV_PREFIX_SHORT ? (lru_short ? lru_short : lru_deep)
                                 : (lru_deep ? lru_deep : lru_short);
    if (!p) { /* nothing replaceable */
        free(lits);
        return;
    }
    if (!p->excl && !(p->excl = malloc(2 * sl->words * sizeof(uint64_t)))) {
        free(lits);
        return;
    }
    p->impl = p->excl + sl->words;
    free(p->lits);
    p->lits = lits;
    p->n = n;
    for (size_t k = 0; k < sl->words; k++) {
        p->excl[k] = ~r->can_t[k];
        p->impl[k] = r->can_t[k] & ~r->can_f[k];
    }
    p->used = r->c->tick;
}

static int xp_init(sv_run *r);
static uint64_t *pool_diff(sv_run *r, const signed char *w, const uint64_t *wbits,
                           const int *diff, size_t nd);

/* Propagation of every choice with every constraint on (sv_up_base),
 * once per request: false when it is not available (memory) or finds a
 * conflict. */
static bool up_base(sv_run *r)
{
    if (r->up_based)
        return true;
    if (xp_init(r))
        return false;
    int *lits = malloc((2 * r->nch + 1) * sizeof(int));
    size_t nl = 0;
    for (size_t i = 0; lits && i < r->nch; i++) {
        lits[nl++] = choice_lit(r, i);
        if (r->qv[i] != SIZE_MAX)
            lits[nl++] = r->m->vlit[r->qv[i]];
    }
    r->up_based = lits && sv_up_base(r->sl->up, lits, nl);
    free(lits);
    return r->up_based;
}

static void up_unbase(sv_run *r)
{
    if (r->up_based)
        sv_up_reset(r->sl->up);
    r->up_based = false;
}

/* Each value of mask not yet in have, true (positive) or false, on top
 * of the propagation of the choices: a conflict proves it cannot be (its
 * mask bit is cleared), a repair of the local-search configuration is a
 * witness. Within a work budget: where one value's propagation reaches
 * far (large tables), SAT calls, each witnessing many values, cost less
 * per value. */
static void up_cover(sv_run *r, const uint64_t *have, bool positive, uint64_t *mask)
{
    sv_slot *sl = r->sl;
    const solver_model *m = r->m;
    const signed char *w = ls_valid(sl->ls);
    uint64_t *wbits = w ? calloc(sl->words, sizeof(uint64_t)) : NULL;
    if (!wbits)
        return;
    for (size_t i = 0; i < m->nvals; i++)
        if (w[m->vlit[i]] > 0)
            bit_set(wbits, i);
    size_t start = sv_up_work(sl->up), budget = SV_UP_COVER_WORK * m->nlits;
    size_t wins = 0, fails = 0;
    for (size_t i = 0; i < m->nvals && sv_up_work(sl->up) - start < budget; i++) {
        if (bit(have, i) || !bit(mask, i))
            continue;
        if (fails > SV_LS_FAILS + 2 * wins)
            break; /* mostly failing here: leave the rest to the solver */
        size_t nd = 0;
        int l = positive ? m->vlit[i] : -m->vlit[i];
        int t = sv_up_test_lit(sl->up, l, w, SV_REPAIR_DECISIONS, sl->diff, &nd);
        if (t < 0)
            mask[i / 64] &= ~((uint64_t)1 << (i % 64));
        else if (t > 0)
            witness_use(r, pool_diff(r, w, wbits, sl->diff, nd));
        wins += t != 0;
        fails += t == 0;
    }
    free(wbits);
}

/* Whether some value of mask is not in have. */
static bool undecided(const sv_run *r, const uint64_t *have, const uint64_t *mask)
{
    for (size_t k = 0; k < r->sl->words; k++)
        if (mask[k] & ~have[k])
            return true;
    return false;
}

/* Clears from mask the values of mask not in have that propagation of
 * the choices (sv_up_base) decided: false (positive: they are excluded)
 * or true (else: they are implied). A propagation conflict is a proof. */
static void up_decide(sv_run *r, const uint64_t *have, bool positive, uint64_t *mask)
{
    const solver_model *m = r->m;
    for (size_t i = 0; i < m->nvals; i++) {
        if (bit(have, i) || !bit(mask, i))
            continue;
        if (sv_up_val(r->sl->up, m->vlit[i]) == (positive ? -1 : 1)) {
            mask[i / 64] &= ~((uint64_t)1 << (i % 64));
        }
    }
}

/* With the same choices as a remembered result, its answer. Otherwise:
 * pass 1 covers every value not known excluded: SAT calls until each is
 * witnessed true or one UNSAT call proves the rest excluded. Pass 2 the
 * same for "witnessed false" among the values of imask witnessed true
 * and not known implied; the others are decided by pass 1 (see
 * ctx_slot). known: a remembered result for a subset of the choices. */
static int domains(sv_run *r, const sv_prefix *known, size_t nlits)
{
    size_t words = r->sl->words;
    if (known && known->n == nlits) {
        /* the same choices: the same answer */
        for (size_t k = 0; k < words; k++) {
            r->can_t[k] = ~known->excl[k];
            r->can_f[k] = ~known->impl[k];
        }
        return 0;
    }
    uint64_t *mask = malloc(words * sizeof(uint64_t));
    if (!mask)
        return CPQD_ENOMEM;
    for (size_t k = 0; k < words; k++)
        mask[k] = known ? ~known->excl[k] : ~(uint64_t)0;
    int res = 10;
    ls_cover(r, r->can_t, true, mask);
    /* local search could not take the choices (ls_fit): one SAT call
     * first, whose model becomes the local search's assignment. Repairs
     * of an assignment that breaks the choices witness about one value
     * each (Automotive02: 8,000 repairs, 80 ms, where this call and
     * local search take 5 ms) */
    if (r->ls_refresh && undecided(r, r->can_t, mask) &&
        (res = cover_step(r, r->can_t, true, mask)) == 10)
        ls_cover(r, r->can_t, true, mask);
    /* propagation only when values are left to decide: when witnesses
     * decided them all, it would cost more than it saves */
    if (res == 10 && undecided(r, r->can_t, mask) && up_base(r)) {
        up_decide(r, r->can_t, true, mask);
        up_cover(r, r->can_t, true, mask);
    }
    while (res == 10 && (res = cover_step(r, r->can_t, true, mask)) == 10)
        ls_cover(r, r->can_t, true, mask);
    if (res == 0 || res == 20) {
        for (size_t k = 0; k < words; k++)
            mask[k] = r->can_t[k] & r->sl->imask[k] & (known ? ~known->impl[k] : ~(uint64_t)0);
        ls_cover(r, r->can_f, false, mask);
        if (undecided(r, r->can_f, mask) && up_base(r)) {
            up_decide(r, r->can_f, false, mask);
            up_cover(r, r->can_f, false, mask);
        }
        while ((res = cover_step(r, r->can_f, false, mask)) == 10)
            ls_cover(r, r->can_f, false, mask);
    }
    free(mask); /* the propagation stays, for the explanations */
    return res == 0 || res == 20 ? 0 : CPQD_EINTERNAL;
}

/* ---- explanations ---- */

static void reason_fini(solver_reason *x)
{
    free(x->choices);
    free(x->constraints);
    free(x->groups);
    memset(x, 0, sizeof(*x));
}

/* Fills out from the choice set and selector set. */
static int reason_fill(const sv_run *r, const size_t *chs, size_t nchs, const size_t *sels,
                       size_t nsels, solver_reason *out)
{
    const solver_model *m = r->m;
    out->choices = malloc((nchs ? nchs : 1) * sizeof(size_t));
    out->constraints = malloc((nsels ? nsels : 1) * sizeof(solver_reason_con));
    out->groups = malloc((nsels ? nsels : 1) * sizeof(solver_reason_group));
    if (!out->choices || !out->constraints || !out->groups)
        return CPQD_ENOMEM;
    memcpy(out->choices, chs, nchs * sizeof(size_t));
    out->nchoices = nchs;
    for (size_t i = 0; i < nsels; i++) {
        const sv_sel *s = &m->sels[sels[i]];
        const char *at = m->insts[s->inst].path;
        if (s->kind == SV_SEL_GROUP) {
            out->groups[out->ngroups++] = (solver_reason_group){s->group, at};
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < out->nconstraints; k++)
            dup |= out->constraints[k].constraint == s->con && strcmp(out->constraints[k].at, at) == 0;
        if (!dup)
            out->constraints[out->nconstraints++] = (solver_reason_con){s->con, at};
    }
    out->structural = out->ngroups > 0;
    return 0;
}

/* Switches r to the explanation solver (created on first use). */
static int use_xsat(sv_run *r)
{
    sv_slot *sl = r->sl;
    if (!sl->xsat) {
        if (!(sl->xsat = ccadical_init()))
            return CPQD_ENOMEM;
        sv_load_solver(r->m, sl->xsat, true);
        /* a selector left free is best off: fewer constraints, models
         * found faster (during minimisation most are free) */
        for (size_t i = 0; sl->ph && i < r->m->nsels; i++)
            sv_cadical_phase(sv_cadical_solver(sl->xsat), -r->m->sels[i].sat);
    }
    r->sat = sl->xsat;
    r->guarded = true;
    return 0;
}

static void use_sat(sv_run *r)
{
    r->sat = r->sl->sat;
    r->guarded = false;
}

/* The propagation engine of the slot and what goes with it, on first
 * use: the value index of every SAT variable, remembered reasons, a
 * buffer for repaired models. */
static int xp_init(sv_run *r)
{
    sv_slot *sl = r->sl;
    const solver_model *m = r->m;
    if (sl->up)
        return 0;
    sl->vidx = malloc(((size_t)m->nsat + 1) * sizeof(size_t));
    sl->chmark = calloc((size_t)m->nsat + 1, sizeof(uint32_t));
    sl->rc = calloc(m->nvals ? m->nvals : 1, sizeof(sv_rc *));
    sl->nvals_rc = m->nvals;
    sl->diff = malloc(((size_t)m->nsat + 1) * sizeof(int));
#ifdef CPQD_TESTING
    if (!(sl->tmodel = malloc((size_t)m->nsat + 1)))
        return CPQD_ENOMEM;
#endif
    if (!sl->vidx || !sl->chmark || !sl->rc || !sl->diff ||
        !(sl->up = sv_up_new(m)))
        return CPQD_ENOMEM;
    for (size_t v = 0; v <= (size_t)m->nsat; v++)
        sl->vidx[v] = SIZE_MAX;
    for (size_t i = 0; i < m->nvals; i++)
        sl->vidx[m->vlit[i]] = i;
    return 0;
}

/* Per request scratch for explanations (xs_init before the first). */
static int xs_init(sv_run *r)
{
    sv_xs *x = &r->xs;
    const solver_model *m = r->m;
    if (x->lits)
        return 0;
    int rc = xp_init(r);
    if (rc)
        return rc;
    size_t nl = 2 * r->nch + 2, nc = r->nch ? r->nch : 1, ns = m->nsels ? m->nsels : 1;
    x->lits = malloc(nl * sizeof(int));
    x->chs = malloc(nc * sizeof(size_t));
    x->sels = malloc(ns * sizeof(size_t));
    x->test = malloc((nc > ns ? nc : ns) * sizeof(size_t));
    x->core.lits = malloc(nl * sizeof(int));
    x->core.sels = malloc(ns * sizeof(size_t));
    if (!x->lits || !x->chs || !x->sels || !x->test || !x->core.lits || !x->core.sels)
        return CPQD_ENOMEM;
    /* choice literal -> first choice with it, for remembered reasons */
    for (size_t i = 0; i < r->nch; i++) {
        int l = choice_lit(r, i);
        uint32_t *mk = &r->sl->chmark[l < 0 ? -l : l];
        if (!*mk)
            *mk = (uint32_t)i + 1;
    }
    return 0;
}

static void xs_fini(sv_run *r)
{
    sv_xs *x = &r->xs;
    for (size_t i = 0; r->sl && r->sl->chmark && x->lits && i < r->nch; i++) {
        int l = choice_lit(r, i);
        r->sl->chmark[l < 0 ? -l : l] = 0;
    }
    free(x->lits);
    free(x->chs);
    free(x->sels);
    free(x->test);
    free(x->core.lits);
    free(x->core.sels);
    memset(x, 0, sizeof(*x));
}

/* The quantity literal of choice i, or 0. */
static int choice_qlit(const sv_run *r, size_t i)
{
    return r->qv[i] != SIZE_MAX ? r->m->vlit[r->qv[i]] : 0;
}

/* The assumption literals of choices chs[0..n) (the quantities too), then
 * q if non-zero; returns how many. */
static size_t lits_of(const sv_run *r, const size_t *chs, size_t n, int q, int *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        out[k++] = choice_lit(r, chs[i]);
        if (choice_qlit(r, chs[i]))
            out[k++] = choice_qlit(r, chs[i]);
    }
    if (q)
        out[k++] = q;
    return k;
}

/* The choices among cand[0..n) (ascending) whose literals a propagation
 * core used, a repeated choice once; returns how many went to out (which
 * may be cand). */
static size_t core_choices(const sv_run *r, const sv_up_core *core, const size_t *cand, size_t n,
                           size_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int l = choice_lit(r, cand[i]), ql = choice_qlit(r, cand[i]);
        bool in = false;
        for (size_t j = 0; j < core->nlits && !in; j++)
            in = core->lits[j] == l || (ql && core->lits[j] == ql);
        for (size_t j = 0; in && j < k; j++)
            in = !(choice_lit(r, out[j]) == l && choice_qlit(r, out[j]) == ql);
        if (in)
            out[k++] = cand[i];
    }
    return k;
}

/* Whether a pooled witness (a valid configuration) satisfies the value
 * literals lits[0..n): then they hold together with every constraint. */
static bool pool_has(sv_run *r, const int *lits, size_t n)
{
    sv_slot *sl = r->sl;
    for (size_t w = 0; w < sl->nwit; w++) {
        const uint64_t *wit = sl->wit + w * sl->words;
        size_t k = 0;
        while (k < n && bit(wit, sl->vidx[lits[k] < 0 ? -lits[k] : lits[k]]) == (lits[k] > 0))
            k++;
        if (k == n) {
            sl->wlast[w] = r->c->tick; /* useful: stays */
            return true;
        }
    }
    return false;
}

static int lit_cmp(const void *a, const void *b);

/* Pools the valid configuration found by propagation: w (per SAT
 * variable) but for the literals diff[0..nd); wbits: w's value bits, if
 * known (else read from w). Returns the witness. Test builds check it
 * against every clause first. */
static uint64_t *pool_diff(sv_run *r, const signed char *w, const uint64_t *wbits,
                           const int *diff, size_t nd)
{
    sv_slot *sl = r->sl;
    const solver_model *m = r->m;
#ifdef CPQD_TESTING
    memcpy(sl->tmodel, w, (size_t)m->nsat + 1);
    for (size_t k = 0; k < nd; k++)
        sl->tmodel[diff[k] < 0 ? -diff[k] : diff[k]] = diff[k] > 0;
    if (sv_up_violated(sl->up, sl->tmodel, NULL, 0) != 0)
        abort(); /* a witness that is not one: never to be trusted */
#endif
    uint64_t *wit = pool_slot(r);
    if (wbits)
        memcpy(wit, wbits, sl->words * sizeof(uint64_t));
    else
        for (size_t i = 0; i < m->nvals; i++)
            if (w[m->vlit[i]] > 0)
                bit_set(wit, i);
    for (size_t k = 0; k < nd; k++) {
        size_t i = sl->vidx[diff[k] < 0 ? -diff[k] : diff[k]];
        if (i == SIZE_MAX)
            continue;
        if (diff[k] > 0)
            bit_set(wit, i);
        else
            wit[i / 64] &= ~((uint64_t)1 << (i % 64));
    }
    return wit;
}

/* Whether a remembered result had value q not excluded under choices
 * that include the literals lits[0..nl): a valid configuration has them
 * and q. */
static bool prefix_has(sv_run *r, const int *lits, size_t nl, int q)
{
    size_t vi = r->sl->vidx[q];
    for (size_t e = 0; e < SV_PREFIXES; e++) {
        const sv_prefix *p = &r->sl->pre[e];
        if (!p->used || p->n < nl || bit(p->excl, vi))
            continue;
        size_t k = 0;
        while (k < nl && bsearch(&lits[k], p->lits, p->n, sizeof(int), lit_cmp))
            k++;
        if (k == nl)
            return true;
    }
    return false;
}

/* Can the literals lits[0..nl) hold with the constraints of sels[0..ns)
 * on (every one when sels is NULL)? Propagation answers no (-1, the core
 * in r->xs.core), or yes (1) when repairing the valid-domain local
 * search's assignment (a valid configuration, that of the choices) into
 * one that has them works; a valid configuration found so (sels NULL) is
 * pooled. 0: not known. */
static int xtest(sv_run *r, const int *lits, size_t nl, const size_t *sels, size_t ns)
{
    sv_slot *sl = r->sl;
    const signed char *w = ls_valid(sl->ls);
    size_t nd = 0;
    /* the repair alone first when few constraints are on (then it
     * usually works); with every constraint on, the values tested are
     * excluded under more choices and usually still under these: found by
     * propagation */
    int res = w && sels && sv_up_patch(sl->up, lits, nl, sels, ns, w, SV_PATCH_FLIPS) ? 1 : 0;
    if (!res)
        res = sv_up_test(sl->up, lits, nl, sels, ns, w, SV_REPAIR_DECISIONS, &r->xs.core,
                         sels ? NULL : sl->diff, &nd);
    if (res > 0 && !sels)
        pool_diff(r, w, NULL, sl->diff, nd);
    return res;
}

/* ---- remembered reasons ----
 * A minimal reason of value v is minimal whatever the other choices: its
 * choices and constraints exclude v, and without any one of them v has a
 * configuration (with every constraint on, for a choice; with the other
 * constraints of the reason, for a constraint). So it stays a minimal
 * reason of v in every request that has its choices: remembered per
 * value, it serves the next steps of a session (choices are added, v
 * stays excluded) and other sessions that make the same choices. */

static void rc_clear(sv_slot *sl, size_t nvals)
{
    for (size_t i = 0; sl->rc && i < nvals; i++)
        while (sl->rc[i]) {
            sv_rc *e = sl->rc[i];
            sl->rc[i] = e->next;
            free(e);
        }
    sl->rc_bytes = 0;
}

/* The choice of this request with literal l and quantity literal ql, or
 * SIZE_MAX. */
static size_t rc_choice(const sv_run *r, int l, int ql)
{
    uint32_t mk = r->sl->chmark[l < 0 ? -l : l];
    if (mk && choice_lit(r, mk - 1) == l && choice_qlit(r, mk - 1) == ql)
        return mk - 1;
    for (size_t i = 0; mk && i < r->nch; i++) /* the same option twice, other quantities */
        if (choice_lit(r, i) == l && choice_qlit(r, i) == ql)
            return i;
    return SIZE_MAX;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* A remembered reason of value vi (full: with its constraints) whose
 * choices this request has: into chs/sels. */
static bool rc_find(sv_run *r, size_t vi, bool full, size_t *chs, size_t *nchs, size_t *sels,
                    size_t *nsels)
{
    for (sv_rc *e = r->sl->rc[vi]; e; e = e->next) {
        if (full && !e->full)
            continue;
        size_t k = 0;
        for (; k < e->nch; k++)
            if ((chs[k] = rc_choice(r, e->data[2 * k], e->data[2 * k + 1])) == SIZE_MAX)
                break;
        if (k < e->nch)
            continue;
        qsort(chs, k, sizeof(size_t), cmp_size);
        *nchs = k;
        *nsels = 0;
        for (size_t i = 0; full && i < e->nsel; i++)
            sels[(*nsels)++] = (size_t)e->data[2 * e->nch + i];
        e->used = r->c->tick;
        return true;
    }
    return false;
}

/* Remembers a minimal reason of value vi (best effort). */
static void rc_store(sv_run *r, size_t vi, const size_t *chs, size_t nchs, const size_t *sels,
                     size_t nsels, bool full)
{
    sv_slot *sl = r->sl;
    size_t n = 0, bytes = sizeof(sv_rc) + (2 * nchs + (full ? nsels : 0)) * sizeof(int);
    sv_rc **lru = NULL;
    for (sv_rc **p = &sl->rc[vi]; *p; p = &(*p)->next, n++)
        if (!lru || (*p)->used < (*lru)->used)
            lru = p;
    if (n >= SV_RC_PER && lru) {
        sv_rc *old = *lru;
        *lru = old->next;
        sl->rc_bytes -= sizeof(sv_rc) + (2 * old->nch + old->nsel) * sizeof(int);
        free(old);
    }
    if (sl->rc_bytes + bytes > SV_RC_BYTES)
        rc_clear(sl, r->m->nvals); /* bounded: start again */
    sv_rc *e = malloc(bytes);
    if (!e)
        return;
    e->used = r->c->tick;
    e->nch = (uint32_t)nchs;
    e->nsel = full ? (uint32_t)nsels : 0;
    e->full = full;
    for (size_t k = 0; k < nchs; k++) {
        e->data[2 * k] = choice_lit(r, chs[k]);
        e->data[2 * k + 1] = choice_qlit(r, chs[k]);
    }
    for (size_t k = 0; full && k < nsels; k++)
        e->data[2 * nchs + k] = (int)sels[k];
    e->next = sl->rc[vi];
    sl->rc[vi] = e;
    sl->rc_bytes += bytes;
}

/* ---- minimal reasons ---- */

/* The selectors of a propagation core, ascending (the deletions below
 * test elements in order: a shrunk set keeps the tested ones first). */
static size_t sels_of(const sv_up_core *core, size_t *out)
{
    memmove(out, core->sels, core->nsels * sizeof(size_t));
    qsort(out, core->nsels, sizeof(size_t), cmp_size);
    return core->nsels;
}

/* Runs propagation on choices chs[0..n) (every choice when chs is NULL)
 * and q, with the constraints of sels[0..ns) on (every one when sels is
 * NULL); the core in r->xs.core. */
static bool up_test(sv_run *r, const size_t *chs, size_t n, int q, const size_t *sels, size_t ns)
{
    int *lits = r->xs.lits;
    size_t nl = 0;
    if (chs) {
        nl = lits_of(r, chs, n, q, lits);
    } else {
        for (size_t i = 0; i < r->nch; i++)
            lits[nl++] = choice_lit(r, i);
        for (size_t i = 0; i < r->nch; i++)
            if (choice_qlit(r, i))
                lits[nl++] = choice_qlit(r, i);
        if (q)
            lits[nl++] = q;
    }
    return sv_up_refute(r->sl->up, lits, nl, sels, sels ? ns : 0, &r->xs.core);
}

/* Explains why q (0: the choices themselves) cannot hold: a minimal set
 * of choices (each needed with every constraint on) and, for
 * SOLVER_EXPLAIN_FULL, of selectors (each needed with those choices).
 * first: a propagation core already found, or NULL.
 *
 * Each test "can these hold together?" is answered by the cheapest
 * proof that applies: a pooled witness or local search (they can), a
 * propagation conflict (they cannot, and its core shrinks the set at
 * once), else a SAT call (counted against the budget; its failed
 * assumptions shrink the set). Deletion, so each element kept has been
 * shown necessary. */
static int explain(sv_run *r, int q, const sv_up_core *first, solver_explain lvl,
                   solver_reason *out)
{
    const solver_model *m = r->m;
    int rc = xs_init(r);
    if (rc)
        return rc;
    sv_xs *x = &r->xs;
    size_t *chs = x->chs, *sels = x->sels, *test = x->test, nchs = 0, nsels = 0;
    bool full = lvl == SOLVER_EXPLAIN_FULL, trunc = false, known = false;
    size_t vi = q ? r->sl->vidx[q] : SIZE_MAX;
    int res;
    bool remembered = vi != SIZE_MAX && rc_find(r, vi, full, chs, &nchs, sels, &nsels);
    if (remembered)
        goto fill;
    /* a sufficient set: a propagation conflict, else the SAT solver's core */
    if (!first && up_test(r, NULL, 0, q, NULL, 0))
        first = &x->core;
    if (first) {
        nsels = sels_of(first, sels); /* before test, which first->sels may be */
        for (size_t i = 0; i < r->nch; i++)
            test[i] = i;
        nchs = core_choices(r, first, test, r->nch, chs);
        known = true;
    } else {
        nchs = r->nch;
        nsels = m->nsels;
        for (size_t i = 0; i < nchs; i++)
            chs[i] = i;
        for (size_t i = 0; i < nsels; i++)
            sels[i] = i;
        if (r->spent >= r->c->budget) {
            trunc = true; /* all choices, all constraints: sufficient */
            goto fill;
        }
        if ((rc = use_xsat(r)))
            return rc;
        r->spent++;
        res = run_solve(r, NULL, 0, q, NULL, 0, SV_EXPLAIN_CONFLICTS);
        if (res != 20) {
            trunc = true; /* out of conflicts: all choices, all constraints */
            goto fill;
        }
        keep_failed(r, chs, &nchs, false);
        keep_failed(r, sels, &nsels, true);
        known = true;
    }
    /* the choices, every constraint on */
    for (size_t i = 0; i < nchs;) {
        size_t nt = 0;
        for (size_t k = 0; k < nchs; k++)
            if (k != i)
                test[nt++] = chs[k];
        size_t nl = lits_of(r, test, nt, q, x->lits);
        if (pool_has(r, x->lits, nl) || (q && prefix_has(r, x->lits, nl - 1, q))) {
            i++;
            continue;
        }
        int t = xtest(r, x->lits, nl, NULL, 0);
        if (t > 0) {
            i++;
            continue;
        }
        if (t < 0) {
            nchs = core_choices(r, &x->core, test, nt, chs);
            nsels = sels_of(&x->core, sels);
            known = true;
            continue;
        }
        if (r->spent >= r->c->budget) {
            trunc = true;
            break;
        }
        use_sat(r);
        r->spent++;
        res = run_solve(r, test, nt, q, NULL, 0, SV_EXPLAIN_CONFLICTS);
        if (res == 20) {
            memcpy(chs, test, nt * sizeof(size_t));
            nchs = nt;
            keep_failed(r, chs, &nchs, false);
            known = false;
            continue;
        }
        if (res == 10)
            witness_take(r); /* every constraint on: a valid configuration */
        else
            trunc = true;
        i++;
    }
    if (!full)
        goto fill;
    /* the constraints of those choices */
    if (!known && up_test(r, chs, nchs, q, NULL, 0)) {
        nsels = sels_of(&x->core, sels);
        known = true;
    }
    if (!known && r->spent < r->c->budget) {
        if ((rc = use_xsat(r)))
            return rc;
        r->spent++;
        res = run_solve(r, chs, nchs, q, NULL, 0, SV_EXPLAIN_CONFLICTS);
        nsels = m->nsels;
        for (size_t i = 0; i < nsels; i++)
            sels[i] = i;
        if (res == 20) {
            keep_failed(r, sels, &nsels, true);
            known = true;
        }
    }
    if (!known) {
        trunc = true;
        nsels = m->nsels;
        for (size_t i = 0; i < nsels; i++)
            sels[i] = i;
        goto fill;
    }
    for (size_t i = 0; i < nsels;) {
        size_t nt = 0;
        for (size_t k = 0; k < nsels; k++)
            if (k != i)
                test[nt++] = sels[k];
        size_t nl = lits_of(r, chs, nchs, q, x->lits);
        int t = xtest(r, x->lits, nl, test, nt);
        if (t < 0) {
            nsels = sels_of(&x->core, sels); /* a subset of test: order kept */
            continue;
        }
        if (t > 0) {
            i++;
            continue;
        }
        if (r->spent >= r->c->budget) {
            trunc = true;
            break;
        }
        if ((rc = use_xsat(r)))
            return rc;
        r->spent++;
        res = run_solve(r, chs, nchs, q, test, nt, SV_EXPLAIN_CONFLICTS);
        if (res == 20) {
            memcpy(sels, test, nt * sizeof(size_t));
            nsels = nt;
            keep_failed(r, sels, &nsels, true);
            continue;
        }
        if (res == 0)
            trunc = true;
        i++;
    }
fill:
    use_sat(r);
    if (!full)
        nsels = 0;
    rc = reason_fill(r, chs, nchs, sels, nsels, out);
    out->truncated = trunc;
    r->truncated |= trunc;
    if (!rc && !trunc && vi != SIZE_MAX && !remembered)
        rc_store(r, vi, chs, nchs, sels, nsels, full);
    return rc;
}

/* ---- choices ---- */

static int qty_value(const solver_model *m, size_t qvar, money_dec q, size_t *out)
{
    const sv_varx *x = &m->vx[qvar];
    for (size_t i = 0; i < m->vars[qvar].nvalues; i++)
        if (money_cmp(x->num[i], q) == 0) {
            *out = x->val0 + i;
            return 0;
        }
    return CPQD_EINVAL;
}

/* Makes r's arrays for the choices (choices_free frees them) and reads
 * ch into them: 0, CPQD_ENOMEM, or CPQD_EINVAL for a choice outside the
 * model. */
static int read_choices(sv_run *r, const solver_choice *ch, size_t n)
{
    const solver_model *m = r->m;
    r->cv = malloc((n ? n : 1) * sizeof(size_t));
    r->qv = malloc((n ? n : 1) * sizeof(size_t));
    r->cneg = malloc((n ? n : 1) * sizeof(bool));
    if (!r->cv || !r->qv || !r->cneg)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].var >= m->nvars || ch[i].value >= m->vars[ch[i].var].nvalues)
            return CPQD_EINVAL;
        r->cv[i] = sv_val(m, ch[i].var, ch[i].value);
        r->cneg[i] = ch[i].negated;
        r->qv[i] = SIZE_MAX;
        if (!ch[i].has_qty)
            continue;
        const solver_var *v = &m->vars[ch[i].var];
        if (v->kind != SOLVER_VAR_GROUP || ch[i].negated || !money_is_valid(ch[i].qty))
            return CPQD_EINVAL;
        const cat_option *o = &v->group->options[ch[i].value];
        if (!o->ranged) {
            if (money_cmp(ch[i].qty, o->qty) != 0)
                return CPQD_EINVAL;
            continue;
        }
        if (money_cmp(ch[i].qty, o->qty_min) < 0 || money_cmp(ch[i].qty, o->qty_max) > 0 ||
            (o->product && !cat_qty_fits(&o->product->quantity, ch[i].qty)))
            return CPQD_EINVAL;
        size_t qvar = m->vx[ch[i].var].qty[ch[i].value];
        if (qvar != SIZE_MAX && qty_value(m, qvar, ch[i].qty, &r->qv[i]))
            return CPQD_EINVAL;
    }
    return 0;
}

static void choices_free(sv_run *r)
{
    free(r->cv);
    free(r->qv);
    free(r->cneg);
}

/* ---- results ---- */

void solver_result_fini(solver_result *res)
{
    if (!res)
        return;
    if (res->values) {
        for (size_t v = 0; v < res->nvars; v++)
            for (size_t i = 0; res->values[v] && i < res->nvalues[v]; i++)
                reason_fini(&res->values[v][i].reason);
        free(res->values[0]);
        free(res->values);
    }
    free(res->nvalues);
    reason_fini(&res->conflict);
    free(res->bom);
    memset(res, 0, sizeof(*res));
}

const char *solver_state_name(solver_state s)
{
    static const char *const n[] = {"selected", "implied", "possible", "excluded"};
    return (unsigned)s < 4 ? n[s] : "?";
}

static int alloc_values(const solver_model *m, solver_result *out)
{
    out->nvars = m->nvars;
    out->values = calloc(m->nvars ? m->nvars : 1, sizeof(*out->values));
    out->nvalues = calloc(m->nvars ? m->nvars : 1, sizeof(size_t));
    solver_value_result *block = calloc(m->nvals ? m->nvals : 1, sizeof(*block));
    if (!out->values || !out->nvalues || !block) {
        free(block);
        return CPQD_ENOMEM;
    }
    for (size_t v = 0; v < m->nvars; v++) {
        out->values[v] = block + m->vx[v].val0;
        out->nvalues[v] = m->vars[v].nvalues;
    }
    if (!m->nvars)
        out->values[0] = block;
    return 0;
}

static void fill_states(const sv_run *r, solver_result *out)
{
    const solver_model *m = r->m;
    solver_value_result *block = out->values[0];
    for (size_t i = 0; i < m->nvals; i++) {
        bool t = bit(r->can_t, i), f = bit(r->can_f, i);
        block[i].state = !t ? SOLVER_EXCLUDED : !f ? SOLVER_IMPLIED : SOLVER_POSSIBLE;
    }
    for (size_t i = 0; i < r->nch; i++) {
        if (r->cneg[i])
            continue;
        block[r->cv[i]].state = SOLVER_SELECTED;
        if (r->qv[i] != SIZE_MAX)
            block[r->qv[i]].state = SOLVER_SELECTED;
    }
}

/* Every excluded value's reason: remembered ones first; then, for the
 * others, propagation of the choices once (every constraint on) gives
 * most of their first cores at the cost of a conflict analysis each;
 * then each is minimised (explain). */
static int explain_values(sv_run *r, solver_explain lvl, solver_result *out)
{
    const solver_model *m = r->m;
    solver_value_result *block = out->values[0];
    int rc = xs_init(r);
    if (rc)
        return rc;
    sv_xs *x = &r->xs;
    bool full = lvl == SOLVER_EXPLAIN_FULL;
    size_t *todo = malloc((m->nvals ? m->nvals : 1) * sizeof(size_t)), ntodo = 0;
    size_t *at = malloc((m->nvals ? m->nvals : 1) * sizeof(size_t));
    int *cores = NULL;
    size_t ncores = 0, capcores = 0;
    if (!todo || !at) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < m->nvals && !rc; i++) {
        if (block[i].state != SOLVER_EXCLUDED)
            continue;
        size_t nchs = 0, nsels = 0;
        if (rc_find(r, i, full, x->chs, &nchs, x->sels, &nsels)) {
                rc = reason_fill(r, x->chs, nchs, x->sels, full ? nsels : 0, &block[i].reason);
        } else {
            todo[ntodo++] = i;
        }
    }
    if (!rc && ntodo && up_base(r)) {
        for (size_t k = 0; k < ntodo; k++) {
            at[k] = SIZE_MAX;
            if (!sv_up_refute_lit(r->sl->up, m->vlit[todo[k]], &x->core))
                continue;
            size_t need = 2 + x->core.nlits + x->core.nsels;
            if (ncores + need > capcores) {
                size_t nc = capcores ? 2 * capcores : 4096;
                while (nc < ncores + need)
                    nc *= 2;
                int *p = realloc(cores, nc * sizeof(int));
                if (!p)
                    continue; /* explain finds its own */
                cores = p;
                capcores = nc;
            }
            at[k] = ncores;
            cores[ncores++] = (int)x->core.nlits;
            memcpy(cores + ncores, x->core.lits, x->core.nlits * sizeof(int));
            ncores += x->core.nlits;
            cores[ncores++] = (int)x->core.nsels;
            for (size_t j = 0; j < x->core.nsels; j++)
                cores[ncores++] = (int)x->core.sels[j];
        }
    } else {
        for (size_t k = 0; k < ntodo; k++)
            at[k] = SIZE_MAX;
    }
    up_unbase(r); /* explain uses propagation from scratch */
    for (size_t k = 0; k < ntodo && !rc; k++) {
        sv_up_core first = {0}, *fp = NULL;
        if (at[k] != SIZE_MAX) {
            /* into the core scratch of explain's own first step */
            const int *c = cores + at[k];
            first.lits = (int *)(c + 1);
            first.nlits = (size_t)c[0];
            first.nsels = (size_t)c[1 + c[0]];
            first.sels = x->test; /* explain copies them before using test */
            for (size_t j = 0; j < first.nsels; j++)
                x->test[j] = (size_t)c[2 + c[0] + j];
            fp = &first;
        }
        rc = explain(r, m->vlit[todo[k]], fp, lvl, &block[todo[k]].reason);
    }
out:
    free(todo);
    free(at);
    free(cores);
    return rc;
}

/* ---- completeness and BOM ---- */

typedef struct sv_done {
    bool sat;         /* the minimal completion exists */
    uint64_t *bits;   /* its values */
} sv_done;

/* Solves with every undecided option left out and every undecided
 * quantity at its default (then without the defaults): the configuration
 * the choices and their implications describe. */
static int completion(sv_run *r, const solver_result *out, sv_done *d)
{
    const solver_model *m = r->m;
    const solver_value_result *block = out->values[0];
    int res = 0;
    bool defaults = false; /* a quantity default was assumed: worth a second pass */
    for (int pass = 0; pass < 2 && res != 10 && (pass == 0 || defaults); pass++) {
        for (size_t v = 0; v < m->nvars; v++) {
            const solver_var *sv = &m->vars[v];
            if (sv->kind == SOLVER_VAR_ATTR)
                continue;
            for (size_t i = 0; i < sv->nvalues; i++) {
                size_t f = sv_val(m, v, i);
                if (block[f].state != SOLVER_POSSIBLE)
                    continue;
                /* a quantity default only for an option in the configuration:
                 * an option left out has no quantity, and assuming one made
                 * the first pass fail and the quantities arbitrary */
                solver_state opt = sv->kind == SOLVER_VAR_QTY
                                       ? block[sv_val(m, sv->parent_var, sv->parent_value)].state
                                       : SOLVER_EXCLUDED;
                if (sv->kind == SOLVER_VAR_GROUP)
                    ccadical_assume(r->sat, -m->vlit[f]);
                else if (pass == 0 && (opt == SOLVER_SELECTED || opt == SOLVER_IMPLIED) &&
                         money_cmp(m->vx[v].num[i], sv->option->qty) == 0) {
                    ccadical_assume(r->sat, m->vlit[f]);
                    defaults = true;
                }
            }
        }
        res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
    }
    d->sat = res == 10;
    if (!d->sat)
        return 0;
    d->bits = calloc(r->sl->words ? r->sl->words : 1, sizeof(uint64_t));
    if (!d->bits)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < m->nvals; i++)
        if (ccadical_val(r->sat, m->vlit[i]) > 0)
            bit_set(d->bits, i);
    witness_use(r, d->bits); /* already known consistent; harmless */
    return 0;
}

static bool is_complete(const sv_run *r, const solver_result *out, const sv_done *d)
{
    const solver_model *m = r->m;
    if (!d->sat)
        return false;
    for (size_t v = 0; v < m->nvars; v++) {
        const solver_var *sv = &m->vars[v];
        size_t I = m->vx[v].inst;
        if (sv->kind != SOLVER_VAR_ATTR)
            continue;
        if (I != 0 && !bit(d->bits, sv_val(m, m->insts[I].opt_var, m->insts[I].opt_value)))
            continue;
        for (size_t i = 0; i < sv->nvalues; i++)
            if (out->values[v][i].state == SOLVER_POSSIBLE)
                return false;
    }
    return true;
}

typedef struct sv_bom {
    const sv_run *r;
    const solver_choice *ch;
    const solver_result *res;
    const sv_done *d;
    solver_bom_line *lines;
    size_t n, cap;
} sv_bom;

/* Quantity of option o of group var gv in the BOM. */
static money_dec bom_qty(const sv_bom *b, size_t gv, size_t o)
{
    const solver_model *m = b->r->m;
    const cat_option *opt = &m->vars[gv].group->options[o];
    if (!opt->ranged)
        return opt->qty;
    for (size_t i = 0; i < b->r->nch; i++)
        if (b->ch[i].var == gv && b->ch[i].value == o && b->ch[i].has_qty && !b->ch[i].negated)
            return b->ch[i].qty;
    size_t q = m->vx[gv].qty[o];
    if (q == SIZE_MAX)
        return opt->qty;
    const solver_value_result *vals = b->res->values[q];
    for (size_t i = 0; i < m->vars[q].nvalues; i++)
        if (vals[i].state == SOLVER_SELECTED || vals[i].state == SOLVER_IMPLIED)
            return m->vx[q].num[i];
    for (size_t i = 0; b->d->sat && i < m->vars[q].nvalues; i++)
        if (bit(b->d->bits, sv_val(m, q, i)))
            return m->vx[q].num[i];
    return opt->qty;
}

static int bom_walk(sv_bom *b, size_t inst, size_t parent, money_dec ptotal, size_t level)
{
    const solver_model *m = b->r->m;
    const cat_product *p = m->insts[inst].product;
    for (size_t g = 0; g < p->ngroups; g++) {
        size_t gv = m->insts[inst].gvar0 + g;
        for (size_t o = 0; o < m->vars[gv].nvalues; o++) {
            solver_state st = b->res->values[gv][o].state;
            if (st != SOLVER_SELECTED && st != SOLVER_IMPLIED)
                continue;
            money_dec q = bom_qty(b, gv, o), qn, pn, total;
            if (money_normalize(q, &qn) || money_normalize(ptotal, &pn) ||
                money_mul(qn, pn, qn.scale + pn.scale > MONEY_MAX_SCALE ? MONEY_MAX_SCALE
                                                                        : qn.scale + pn.scale,
                          MONEY_HALF_UP, &total))
                return CPQD_ERANGE;
            if (b->n == b->cap) {
                size_t nc = b->cap ? b->cap * 2 : 16;
                solver_bom_line *nl = realloc(b->lines, nc * sizeof(*nl));
                if (!nl)
                    return CPQD_ENOMEM;
                b->lines = nl;
                b->cap = nc;
            }
            size_t me = b->n++;
            b->lines[me] = (solver_bom_line){p->groups[g].options[o].product, gv, o, level, parent,
                                             q, total, st == SOLVER_IMPLIED};
            size_t child = m->vx[gv].child[o];
            if (child != SIZE_MAX) {
                int rc = bom_walk(b, child, me, total, level + 1);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- the BOM of a known configuration ---- */

/* Whether a positive choice gives the quantity of option o of group gv. */
static bool qty_chosen(const sv_run *r, const solver_choice *ch, size_t gv, size_t o)
{
    for (size_t i = 0; i < r->nch; i++)
        if (ch[i].var == gv && ch[i].value == o && ch[i].has_qty && !ch[i].negated)
            return true;
    return false;
}

/* The states solver_configure gives these choices where bom_walk reads
 * them, from a valid configuration they select whole: chosen values
 * (and their quantities) SELECTED, other options not picked; CPQD_EINVAL
 * when values does not show that (see solver_bom_of). */
static int known_states(const sv_run *r, const solver_choice *ch, const bool *values,
                        solver_value_result *block)
{
    const solver_model *m = r->m;
    for (size_t i = 0; i < m->nvals; i++)
        block[i].state = SOLVER_POSSIBLE;
    for (size_t i = 0; i < r->nch; i++) {
        if (r->cneg[i] ? values[r->cv[i]] : !values[r->cv[i]])
            return CPQD_EINVAL; /* a choice values does not satisfy */
        if (r->cneg[i])
            continue;
        block[r->cv[i]].state = SOLVER_SELECTED;
        if (r->qv[i] != SIZE_MAX) {
            if (!values[r->qv[i]])
                return CPQD_EINVAL;
            block[r->qv[i]].state = SOLVER_SELECTED;
        }
    }
    for (size_t v = 0; v < m->nvars; v++) {
        const solver_var *sv = &m->vars[v];
        for (size_t i = 0; sv->kind == SOLVER_VAR_GROUP && i < sv->nvalues; i++) {
            size_t f = sv_val(m, v, i);
            /* an option of values left unchosen may be implied by the
             * choices, and an unchosen quantity read from a solution */
            if (values[f] && block[f].state != SOLVER_SELECTED)
                return CPQD_EINVAL;
            if (values[f] && sv->group->options[i].ranged && m->vx[v].qty[i] != SIZE_MAX &&
                !qty_chosen(r, ch, v, i))
                return CPQD_EINVAL;
        }
    }
    return 0;
}

int solver_bom_of(const solver_model *m, const solver_choice *choices, size_t nchoices,
                  const bool *values, solver_bom_line **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    sv_run r = {.m = m, .nch = nchoices};
    solver_result res;
    memset(&res, 0, sizeof(res));
    int rc;
    if ((rc = read_choices(&r, choices, nchoices)) || (rc = alloc_values(m, &res)) ||
        (rc = known_states(&r, choices, values, res.values[0])))
        goto out;
    sv_done d = {0}; /* no completion: every quantity walked is chosen */
    sv_bom b = {&r, choices, &res, &d, NULL, 0, 0};
    rc = bom_walk(&b, 0, SIZE_MAX, money_from_int(1), 1);
    if (rc)
        free(b.lines);
    else {
        *out = b.lines;
        *nout = b.n;
    }
out:
    solver_result_fini(&res);
    choices_free(&r);
    return rc;
}

/* ---- the query ---- */

static int configure_run(sv_run *r, const solver_choice *choices, solver_explain explain_lvl,
                         solver_result *out)
{
    const solver_model *m = r->m;
    sv_slot *sl = r->sl;
    for (size_t w = 0; w < sl->nwit; w++) {
        const uint64_t *wit = sl->wit + w * sl->words;
        if (!witness_fits(r, wit))
            continue;
        /* a witness that adds nothing to those before it ages: near
         * duplicates leave the pool, diverse ones stay */
        bool news = false;
        for (size_t k = 0; k < sl->words && !news; k++)
            news = (wit[k] & ~r->can_t[k]) || (~wit[k] & ~r->can_f[k]);
        if (news)
            sl->wlast[w] = r->c->tick;
        witness_use(r, wit);
        r->hits++;
    }
    size_t nl = 0;
    int *lits = request_lits(r, &nl);
    if (!lits)
        return CPQD_ENOMEM;
    const sv_prefix *known = prefix_find(r, lits, nl);
    if (!r->hits && !(known && known->n == nl)) { /* remembered results are consistent */
        int res = run_solve(r, NULL, 0, 0, NULL, 0, 0);
        if (res != 10)
            free(lits);
        if (res == 20) {
            out->consistent = false;
            return explain(r, 0, NULL, explain_lvl == SOLVER_EXPLAIN_FULL ? SOLVER_EXPLAIN_FULL
                                                                      : SOLVER_EXPLAIN_CHOICES,
                           &out->conflict);
        }
        if (res != 10)
            return CPQD_EINTERNAL;
        witness_take(r);
    }
    out->consistent = true;
    int rc = domains(r, known, nl);
    if (!rc)
        prefix_store(r, lits, nl); /* takes lits */
    else
        free(lits);
    if (rc || (rc = alloc_values(m, out)))
        return rc;
    fill_states(r, out);
    if (explain_lvl != SOLVER_EXPLAIN_NONE && (rc = explain_values(r, explain_lvl, out)))
        return rc;
    sv_done d = {0};
    rc = completion(r, out, &d);
    if (!rc) {
        out->bom_valid = d.sat;
        out->complete = is_complete(r, out, &d);
        sv_bom b = {r, choices, out, &d, NULL, 0, 0};
        rc = bom_walk(&b, 0, SIZE_MAX, money_from_int(1), 1);
        out->bom = b.lines;
        out->nbom = b.n;
    }
    free(d.bits);
    return rc;
}

int solver_why(solver_ctx *c, const solver_model *m, const solver_choice *choices,
               size_t nchoices, size_t var, size_t value, bool *excluded, solver_reason *out)
{
    memset(out, 0, sizeof(*out));
    *excluded = false;
    if (var >= m->nvars || value >= m->vars[var].nvalues)
        return CPQD_EINVAL;
    sv_run r = {.c = c, .m = m, .nch = nchoices};
    int rc = read_choices(&r, choices, nchoices);
    if (rc)
        goto out;
    rc = CPQD_ENOMEM;
    if (!(r.sl = ctx_slot(c, m)))
        goto out;
    r.sat = r.sl->sat;
    int q = sv_lit(m, var, value);
    int res = run_solve(&r, NULL, 0, q, NULL, 0, 0);
    rc = 0;
    if (res == 10) {
        witness_take(&r);
    } else if (res == 20) {
        *excluded = true;
        rc = explain(&r, q, NULL, SOLVER_EXPLAIN_FULL, out);
    } else {
        rc = CPQD_EINTERNAL;
    }
out:
    if (rc)
        reason_fini(out);
    xs_fini(&r);
    choices_free(&r);
    return rc;
}

void solver_reason_fini(solver_reason *x)
{
    if (x)
        reason_fini(x);
}

int solver_configure(solver_ctx *c, const solver_model *m, const solver_choice *choices,
                     size_t nchoices, solver_explain explain_lvl, solver_result *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t t0 = metrics_now_ns();
    sv_run r = {.c = c, .m = m, .nch = nchoices};
    size_t words = (m->nvals + 63) / 64;
    int rc = CPQD_ENOMEM;
    r.can_t = calloc(words ? words : 1, sizeof(uint64_t));
    r.can_f = calloc(words ? words : 1, sizeof(uint64_t));
    r.ls_tl = malloc((2 * nchoices + 1) * sizeof(int));
    if (!r.can_t || !r.can_f || !r.ls_tl)
        goto out;
    if ((rc = read_choices(&r, choices, nchoices)))
        goto out;
    rc = CPQD_ENOMEM;
    if (!(r.sl = ctx_slot(c, m)))
        goto out;
    r.sat = r.sl->sat;
    r.ls_refresh = r.sl->ls && !r.sl->ls->valid;
    if (r.sl->ls) {
        r.sl->ls->work = 0;
        r.ls_budget = SV_LS_WORK * r.sl->ls->nlits + SV_LS_WORK_MIN;
    }
    rc = configure_run(&r, choices, explain_lvl, out);
    up_unbase(&r);
    ls_release(&r);
out:
    xs_fini(&r);
    out->sat_calls = r.calls;
    out->witness_hits = r.hits;
    out->truncated = r.truncated;
    metrics_solver(metrics_now_ns() - t0, (uint64_t)r.calls, rc == 0);
    if (rc) {
        solver_result_fini(out);
    }
    choices_free(&r);
    free(r.can_t);
    free(r.can_f);
    free(r.ls_tl);
    return rc;
}
