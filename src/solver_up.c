/*
 * solver_up: unit propagation over a model's clauses with constraints
 * switched on or off, for explanations (solver.c).
 *
 * Owns: a clause index of the model (each clause without its selector
 * literal, and the selector it belongs to; per literal its clauses,
 * sorted by selector), two watched literals per clause, and two kinds of
 * query with all constraints on or only some. "Do these assumptions lead
 * to a conflict by unit propagation alone?": a conflict is a proof that
 * they cannot hold together (propagation is sound), and its cone in the
 * implication graph names the assumptions and the constraints
 * (selectors) it used: a sufficient reason, often already minimal. "Can a
 * given valid configuration be repaired into one with these assumptions
 * true?": an assignment that ends with every clause that is on true is a
 * proof that they can hold together. A query that concludes neither
 * proves nothing; solver.c then asks the SAT solver.
 *
 * Constraint clauses of a switched-off selector are skipped, not
 * satisfied by an assignment: within one query the set of switched-on
 * selectors is fixed and every assignment is undone at its end, so the
 * watch invariant holds for every clause that is looked at.
 */
#include "solver_int.h"

#include <stdlib.h>
#include <string.h>

#define UP_NONE UINT32_MAX

struct sv_up {
    int nvar;
    uint32_t ncl;
    uint32_t *cstart;    /* clause c: lits[cstart[c] .. cstart[c + 1]) */
    int *lits;
    uint32_t *csel;      /* selector index of clause c, or UP_NONE */
    uint32_t **watch;    /* per literal index (up_x): clauses watching it */
    uint32_t *nwatch, *capwatch;
    uint32_t *units;     /* clauses of one literal (or none: a constraint that never holds) */
    uint32_t nunits;
    size_t *sel_of_var;  /* per SAT variable: its selector index, or SIZE_MAX */
    signed char *val;    /* per variable: 1 true, -1 false, 0 unassigned */
    uint32_t *reason;    /* per variable: the clause that implied it, or UP_NONE */
    int *trail;
    size_t ntrail, qhead;
    unsigned char *on;   /* per selector: switched on in this query */
    bool all_on;
    unsigned char *seen; /* per variable, for the analysis */
    unsigned char *sseen; /* per selector, for the analysis */
    bool oom;            /* a watch list could not grow: no conclusion this query */
    size_t base;         /* trail length after sv_up_base (0 without one) */
    size_t work;         /* clauses looked at, in all (sv_up_work) */
    uint32_t *ostart;    /* literal x's clauses: cocc[ostart[x] .. ostart[x + 1]), */
    uint32_t *ogstart;   /* ... those of no constraint before ogstart[x], then by selector */
    uint32_t *cocc;
    size_t *onl, nonl;   /* the selectors switched on (unless all_on) */
    uint32_t *rlo, *rhi; /* scratch: ranges of cocc (occ_ranges) */
};

static size_t up_x(int l)
{
    return 2 * (size_t)(l < 0 ? -l : l) + (l < 0);
}

static int up_val(const sv_up *u, int l)
{
    int v = u->val[l < 0 ? -l : l];
    return l < 0 ? -v : v;
}

void sv_up_free(sv_up *u)
{
    if (!u)
        return;
    for (size_t x = 0; u->watch && x < 2 * (size_t)u->nvar + 2; x++)
        free(u->watch[x]);
    free(u->watch);
    free(u->nwatch);
    free(u->capwatch);
    free(u->cstart);
    free(u->lits);
    free(u->csel);
    free(u->units);
    free(u->sel_of_var);
    free(u->val);
    free(u->reason);
    free(u->trail);
    free(u->on);
    free(u->seen);
    free(u->sseen);
    free(u->ostart);
    free(u->ogstart);
    free(u->cocc);
    free(u->onl);
    free(u->rlo);
    free(u->rhi);
    free(u);
}

static bool watch_add(sv_up *u, int l, uint32_t c)
{
    size_t x = up_x(l);
    if (u->nwatch[x] == u->capwatch[x]) {
        uint32_t nc = u->capwatch[x] ? 2 * u->capwatch[x] : 4;
        uint32_t *w = realloc(u->watch[x], nc * sizeof(uint32_t));
        if (!w)
            return false;
        u->watch[x] = w;
        u->capwatch[x] = nc;
    }
    u->watch[x][u->nwatch[x]++] = c;
    return true;
}

sv_up *sv_up_new(const solver_model *m)
{
    sv_up *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    size_t nv = (size_t)m->nsat + 1, ncl = 0;
    for (size_t i = 0; i < m->nlits; i++)
        ncl += m->clauses[i] == 0;
    u->nvar = m->nsat;
    u->sel_of_var = malloc(nv * sizeof(size_t));
    u->cstart = malloc((ncl + 1) * sizeof(uint32_t));
    u->csel = malloc((ncl + 1) * sizeof(uint32_t));
    u->lits = malloc((m->nlits ? m->nlits : 1) * sizeof(int));
    u->units = malloc((ncl + 1) * sizeof(uint32_t));
    u->watch = calloc(2 * nv, sizeof(uint32_t *));
    u->nwatch = calloc(2 * nv, sizeof(uint32_t));
    u->capwatch = calloc(2 * nv, sizeof(uint32_t));
    u->val = calloc(nv, 1);
    u->reason = malloc(nv * sizeof(uint32_t));
    u->trail = malloc(nv * sizeof(int));
    u->on = calloc(m->nsels ? m->nsels : 1, 1);
    u->seen = calloc(nv, 1);
    u->sseen = calloc(m->nsels ? m->nsels : 1, 1);
    if (!u->sel_of_var || !u->cstart || !u->csel || !u->lits || !u->units || !u->watch ||
        !u->nwatch || !u->capwatch || !u->val || !u->reason || !u->trail || !u->on || !u->seen ||
        !u->sseen || m->nlits >= UP_NONE)
        goto fail;
    for (size_t v = 0; v < nv; v++)
        u->sel_of_var[v] = SIZE_MAX;
    for (size_t s = 0; s < m->nsels; s++)
        u->sel_of_var[m->sels[s].sat] = s;
    uint32_t c = 0, n = 0;
    size_t start = 0;
    for (size_t i = 0; i < m->nlits; i++) {
        if (m->clauses[i] != 0)
            continue;
        /* clause m->clauses[start .. i): its selector literal (at most one,
         * always negative) goes to csel */
        uint32_t sel = UP_NONE;
        u->cstart[c] = n;
        for (size_t k = start; k < i; k++) {
            int l = m->clauses[k];
            size_t s = u->sel_of_var[l < 0 ? -l : l];
            if (s != SIZE_MAX && l < 0 && sel == UP_NONE)
                sel = (uint32_t)s;
            else
                u->lits[n++] = l;
        }
        u->csel[c] = sel;
        uint32_t len = n - u->cstart[c];
        if (len <= 1)
            u->units[u->nunits++] = c;
        else if (!watch_add(u, u->lits[u->cstart[c]], c) ||
                 !watch_add(u, u->lits[u->cstart[c] + 1], c))
            goto fail;
        c++;
        start = i + 1;
    }
    u->ncl = c;
    u->cstart[c] = n;
    u->ostart = calloc(2 * nv + 1, sizeof(uint32_t));
    u->cocc = malloc((n ? n : 1) * sizeof(uint32_t));
    if (!u->ostart || !u->cocc)
        goto fail;
    for (uint32_t k = 0; k < n; k++)
        u->ostart[up_x(u->lits[k]) + 1]++;
    for (size_t x = 1; x <= 2 * nv; x++)
        u->ostart[x] += u->ostart[x - 1];
    /* each literal's clauses: those of no constraint first, then by
     * selector (a counting sort of the clauses by selector) */
    size_t ns = m->nsels;
    uint32_t *fill = malloc(2 * nv * sizeof(uint32_t));
    uint32_t *bstart = calloc(ns + 2, sizeof(uint32_t));
    uint32_t *order = malloc((c ? c : 1) * sizeof(uint32_t));
    u->ogstart = malloc(2 * nv * sizeof(uint32_t));
    u->onl = malloc((ns ? ns : 1) * sizeof(size_t));
    u->rlo = malloc((ns + 1) * sizeof(uint32_t));
    u->rhi = malloc((ns + 1) * sizeof(uint32_t));
    if (!fill || !bstart || !order || !u->ogstart || !u->onl || !u->rlo || !u->rhi) {
        free(fill);
        free(bstart);
        free(order);
        goto fail;
    }
    for (uint32_t cl = 0; cl < c; cl++)
        bstart[(u->csel[cl] == UP_NONE ? 0 : u->csel[cl] + 1) + 1]++;
    for (size_t b = 1; b < ns + 2; b++)
        bstart[b] += bstart[b - 1];
    for (uint32_t cl = 0; cl < c; cl++)
        order[bstart[u->csel[cl] == UP_NONE ? 0 : u->csel[cl] + 1]++] = cl;
    memcpy(fill, u->ostart, 2 * nv * sizeof(uint32_t));
    for (uint32_t o = 0; o < c; o++) {
        uint32_t cl = order[o];
        for (uint32_t k = u->cstart[cl]; k < u->cstart[cl + 1]; k++)
            u->cocc[fill[up_x(u->lits[k])]++] = cl;
    }
    for (size_t x = 0; x < 2 * nv; x++) {
        uint32_t k = u->ostart[x];
        while (k < u->ostart[x + 1] && u->csel[u->cocc[k]] == UP_NONE)
            k++;
        u->ogstart[x] = k;
    }
    free(fill);
    free(bstart);
    free(order);
    return u;
fail:
    sv_up_free(u);
    return NULL;
}

/* The switched-on selectors, ascending, for occ_ranges. */
static void set_onl(sv_up *u, const size_t *sels, size_t nsels)
{
    u->nonl = 0;
    for (size_t k = 0; sels && k < nsels; k++) {
        size_t j = u->nonl++;
        while (j > 0 && u->onl[j - 1] > sels[k]) {
            u->onl[j] = u->onl[j - 1];
            j--;
        }
        u->onl[j] = sels[k];
    }
}

static bool sel_on(const sv_up *u, uint32_t c)
{
    return u->csel[c] == UP_NONE || u->all_on || u->on[u->csel[c]];
}

static void assign(sv_up *u, int l, uint32_t why)
{
    int v = l < 0 ? -l : l;
    u->val[v] = l < 0 ? -1 : 1;
    u->reason[v] = why;
    u->trail[u->ntrail++] = l;
}

/* Propagates the trail; returns the conflicting clause or UP_NONE. */
static uint32_t propagate(sv_up *u)
{
    while (u->qhead < u->ntrail) {
        int f = -u->trail[u->qhead++]; /* the literal that became false */
        size_t x = up_x(f);
        uint32_t *w = u->watch[x];
        uint32_t i = 0, j = 0, n = u->nwatch[x];
        uint32_t confl = UP_NONE;
        u->work += n;
        while (i < n) {
            uint32_t c = w[i++];
            if (!sel_on(u, c) || confl != UP_NONE) {
                w[j++] = c;
                continue;
            }
            int *cl = u->lits + u->cstart[c];
            uint32_t len = u->cstart[c + 1] - u->cstart[c];
            if (cl[0] == f) {
                cl[0] = cl[1];
                cl[1] = f;
            }
            if (up_val(u, cl[0]) > 0) {
                w[j++] = c;
                continue;
            }
            uint32_t k = 2;
            while (k < len && up_val(u, cl[k]) < 0)
                k++;
            if (k < len) { /* a new watch: cl[k] is not false (so not f) */
                int nl = cl[k];
                if (!watch_add(u, nl, c)) {
                    u->oom = true; /* keep watching f: the query concludes nothing */
                    w[j++] = c;
                    continue;
                }
                cl[1] = nl;
                cl[k] = f;
                w = u->watch[x]; /* watch_add on another literal never moves w */
                continue;
            }
            w[j++] = c;
            if (up_val(u, cl[0]) < 0)
                confl = c;
            else
                assign(u, cl[0], c);
        }
        u->nwatch[x] = j;
        if (confl != UP_NONE)
            return confl;
    }
    return UP_NONE;
}

static void mark_clause(sv_up *u, uint32_t c, int skip_var, sv_up_core *core)
{
    uint32_t s = u->csel[c];
    if (s != UP_NONE && !u->sseen[s]) {
        u->sseen[s] = 1;
        core->sels[core->nsels++] = s;
    }
    for (uint32_t k = u->cstart[c]; k < u->cstart[c + 1]; k++) {
        int v = u->lits[k] < 0 ? -u->lits[k] : u->lits[k];
        if (v != skip_var)
            u->seen[v] = 1;
    }
}

/* The assumptions and selectors in the cone of conflict clause confl (or
 * of variable var, an assumption found false). */
static void analyse(sv_up *u, uint32_t confl, int var, sv_up_core *core)
{
    if (confl != UP_NONE)
        mark_clause(u, confl, 0, core);
    else
        u->seen[var] = 1;
    for (size_t t = u->ntrail; t-- > 0;) {
        int l = u->trail[t], v = l < 0 ? -l : l;
        if (!u->seen[v])
            continue;
        u->seen[v] = 0;
        if (u->reason[v] == UP_NONE)
            core->lits[core->nlits++] = l;
        else
            mark_clause(u, u->reason[v], v, core);
    }
    for (size_t k = 0; k < core->nsels; k++)
        u->sseen[core->sels[k]] = 0;
}

/* Unassigns the trail from position keep on. */
static void backtrack(sv_up *u, size_t keep)
{
    for (size_t t = keep; t < u->ntrail; t++) {
        int v = u->trail[t] < 0 ? -u->trail[t] : u->trail[t];
        u->val[v] = 0;
    }
    u->ntrail = keep;
    u->qhead = keep;
}

/* Assigns the unit clauses that are on, then assume[0..n), propagating;
 * on a conflict, core gets its cone and true is returned. */
static bool run(sv_up *u, const int *assume, size_t n, bool units, sv_up_core *core)
{
    uint32_t confl = UP_NONE;
    int bad = 0, badlit = 0;
    for (uint32_t k = 0; units && k < u->nunits && confl == UP_NONE; k++) {
        uint32_t c = u->units[k];
        if (!sel_on(u, c))
            continue;
        if (u->cstart[c + 1] == u->cstart[c]) {
            confl = c; /* a constraint that can never hold */
            break;
        }
        int l = u->lits[u->cstart[c]];
        if (up_val(u, l) < 0)
            confl = c;
        else if (up_val(u, l) == 0)
            assign(u, l, c);
    }
    if (confl == UP_NONE)
        confl = propagate(u);
    /* all of them first, then propagation: breadth first from every
     * assumption, a short conflict is met before long consequences */
    for (size_t k = 0; k < n && confl == UP_NONE; k++) {
        int l = assume[k];
        if (up_val(u, l) > 0)
            continue;
        if (up_val(u, l) < 0) {
            bad = l < 0 ? -l : l;
            badlit = l;
            break;
        }
        assign(u, l, UP_NONE);
    }
    if (confl == UP_NONE && !bad)
        confl = propagate(u);
    bool refuted = (confl != UP_NONE || bad) && !u->oom;
    if (refuted && core) {
        core->nlits = 0;
        core->nsels = 0;
        analyse(u, confl, bad, core);
        if (bad)
            core->lits[core->nlits++] = badlit;
    }
    return refuted;
}

bool sv_up_refute(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
                  sv_up_core *core)
{
    return sv_up_test(u, assume, n, sels, nsels, NULL, 0, core, NULL, NULL) < 0;
}

/* The ranges of cocc holding literal x's clauses that are on: into
 * u->rlo/rhi; returns how many. */
static size_t occ_ranges(sv_up *u, size_t x)
{
    if (u->all_on) {
        u->rlo[0] = u->ostart[x];
        u->rhi[0] = u->ostart[x + 1];
        return 1;
    }
    size_t n = 0;
    u->rlo[n] = u->ostart[x];
    u->rhi[n++] = u->ogstart[x];
    for (size_t i = 0; i < u->nonl; i++) {
        uint32_t s = (uint32_t)u->onl[i], lo = u->ogstart[x], hi = u->ostart[x + 1];
        while (lo < hi) { /* the first clause of a selector >= s */
            uint32_t mid = lo + (hi - lo) / 2;
            if (u->csel[u->cocc[mid]] < s)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint32_t e = lo;
        while (e < u->ostart[x + 1] && u->csel[u->cocc[e]] == s)
            e++;
        if (e > lo) {
            u->rlo[n] = lo;
            u->rhi[n++] = e;
        }
    }
    return n;
}

/* Literal l under the trail, and w where the trail has nothing. */
static bool holds(const sv_up *u, int l, const signed char *w)
{
    int v = l < 0 ? -l : l;
    bool t = u->val[v] ? u->val[v] > 0 : w[v] > 0;
    return l < 0 ? !t : t;
}

/* After a propagation without conflict: the assignment w overlaid with
 * the trail, repaired (see sv_up_test); 1 with the model, or 0. */
static int repair(sv_up *u, const signed char *w, size_t max_decisions, int *diff, size_t *ndiff)
{
    bool ok = w != NULL && !u->oom;
    size_t scan = 0, dec = 0;
    while (ok && scan < u->ntrail) {
        int l = u->trail[scan++], v = l < 0 ? -l : l;
        if ((l > 0) == (w[v] > 0))
            continue;
        /* -l held in w: the clauses it satisfied there may be false now */
        size_t x = up_x(-l), nr = occ_ranges(u, x);
        for (size_t ri = 0; ri < nr && ok; ri++)
        for (uint32_t k = u->rlo[ri]; ok && k < u->rhi[ri]; k++) {
            uint32_t c = u->cocc[k];
            int pick = 0;
            bool sat = false;
            u->work++;
            for (uint32_t j = u->cstart[c]; j < u->cstart[c + 1] && !sat; j++) {
                int cl = u->lits[j];
                sat = holds(u, cl, w);
                if (!sat && !pick && !u->val[cl < 0 ? -cl : cl])
                    pick = cl;
            }
            if (sat)
                continue;
            if (!pick || dec++ >= max_decisions) {
                ok = false;
                break;
            }
            assign(u, pick, UP_NONE);
            ok = propagate(u) == UP_NONE;
        }
    }
    if (!ok || u->oom)
        return 0;
    if (diff) {
        *ndiff = 0;
        for (size_t t = 0; t < u->ntrail; t++) {
            int l = u->trail[t];
            if ((l > 0) != (w[l < 0 ? -l : l] > 0))
                diff[(*ndiff)++] = l;
        }
    }
    return 1;
}

int sv_up_test(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
               const signed char *w, size_t max_decisions, sv_up_core *core, int *diff,
               size_t *ndiff)
{
    backtrack(u, 0);
    u->oom = false;
    u->all_on = sels == NULL;
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 1;
    set_onl(u, sels, nsels);
    int res = run(u, assume, n, true, core) ? -1 : repair(u, w, max_decisions, diff, ndiff);
    backtrack(u, 0);
    u->oom = false;
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 0;
    return res;
}

int sv_up_test_lit(sv_up *u, int l, const signed char *w, size_t max_decisions, int *diff,
                   size_t *ndiff)
{
    int res;
    if (up_val(u, l) < 0)
        res = -1;
    else
        res = run(u, &l, 1, false, NULL) ? -1 : repair(u, w, max_decisions, diff, ndiff);
    backtrack(u, u->base);
    u->oom = false;
    return res;
}

/* The repair of sv_up_patch on the trail: 1 when it ends with every
 * clause that is on true, else 0. */
static int patch(sv_up *u, const signed char *w, size_t max_flips)
{
    bool ok = true;
    size_t scan = 0, flips = 0;
    while (ok && scan < u->ntrail) {
        int l = u->trail[scan++], v = l < 0 ? -l : l;
        if ((l > 0) == (w[v] > 0))
            continue;
        size_t x = up_x(-l), nr = occ_ranges(u, x);
        for (size_t ri = 0; ri < nr && ok; ri++)
        for (uint32_t k = u->rlo[ri]; ok && k < u->rhi[ri]; k++) {
            uint32_t c = u->cocc[k];
            int pick = 0;
            bool sat = false;
            u->work++;
            for (uint32_t j = u->cstart[c]; j < u->cstart[c + 1] && !sat; j++) {
                int cl = u->lits[j];
                sat = holds(u, cl, w);
                if (!sat && !pick && !u->val[cl < 0 ? -cl : cl])
                    pick = cl;
            }
            if (sat)
                continue;
            if (!pick || flips++ >= max_flips) {
                ok = false;
                break;
            }
            assign(u, pick, UP_NONE);
        }
    }
    return ok;
}

int sv_up_patch(sv_up *u, const int *assume, size_t n, const size_t *sels, size_t nsels,
                const signed char *w, size_t max_flips)
{
    backtrack(u, 0);
    u->all_on = sels == NULL;
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 1;
    set_onl(u, sels, nsels);
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        int l = assume[k];
        if (up_val(u, l) == 0)
            assign(u, l, UP_NONE);
        else
            ok = up_val(u, l) > 0;
    }
    ok = ok && patch(u, w, max_flips);
    backtrack(u, 0);
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 0;
    return ok;
}

bool sv_up_base(sv_up *u, const int *assume, size_t n)
{
    backtrack(u, 0);
    u->oom = false;
    u->all_on = true;
    if (run(u, assume, n, true, NULL)) {
        backtrack(u, 0);
        u->base = 0;
        return false;
    }
    u->base = u->ntrail;
    return true;
}

bool sv_up_refute_lit(sv_up *u, int l, sv_up_core *core)
{
    core->nlits = 0;
    core->nsels = 0;
    if (up_val(u, l) > 0)
        return false;
    bool refuted = run(u, &l, 1, false, core);
    backtrack(u, u->base);
    u->oom = false;
    return refuted;
}

size_t sv_up_violated(sv_up *u, const signed char *a, const size_t *sels, size_t nsels)
{
    u->all_on = sels == NULL;
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 1;
    size_t bad = 0;
    for (uint32_t c = 0; c < u->ncl; c++) {
        if (!sel_on(u, c))
            continue;
        bool sat = false;
        for (uint32_t j = u->cstart[c]; j < u->cstart[c + 1] && !sat; j++) {
            int l = u->lits[j];
            sat = (a[l < 0 ? -l : l] > 0) == (l > 0);
        }
        bad += !sat;
    }
    for (size_t k = 0; sels && k < nsels; k++)
        u->on[sels[k]] = 0;
    return bad;
}

size_t sv_up_work(const sv_up *u)
{
    return u->work;
}

int sv_up_val(const sv_up *u, int l)
{
    return up_val(u, l);
}

void sv_up_reset(sv_up *u)
{
    backtrack(u, 0);
    u->base = 0;
    u->oom = false;
}
