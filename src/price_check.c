/*
 * price_check: every formula and promotion limit rule of a snapshot run
 * once per product it applies to on a sample drawn from the catalog, for
 * `cpqd check` (docs/rules.md "Checking rules").
 *
 * Owns: choosing the samples (the product, its list price and book, the
 * day the book opens, a quantity) and reporting the rules that fail on
 * them. Does not own: the rule inputs, built by the same functions
 * pricing uses (price_formula_input, price_limit_input), nor the sandbox,
 * which runs with the production limits of a price_worker.
 *
 * Invariant: a rule that fails here fails every price that runs it on a
 * line like the sample; a rule that passes may still fail on other
 * inputs (the check is a sample, not a proof).
 */
#include "price_int.h"

#include "cpqd/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_CUSTOMER "CHECK-SAMPLE"

/* One sample line: a product at its list price on a day its book is
 * open. */
typedef struct sample {
    const cat_product *p;
    const cat_price_book *book;
    const cat_pb_entry *entry;
    date_days day; /* the pricing date */
} sample;

/* A list entry of a catalog, in the order sample_of prefers them. */
typedef struct entry_ref {
    const char *sku;
    const cat_price_book *book;
    const cat_pb_entry *entry;
    size_t rank; /* books for everyone first, then the others, each in file order */
} entry_ref;

/* How far a rule (by path, as a formula or as a limit) was sampled. */
typedef struct tally {
    const char *path;
    bool limit;
    size_t tried;
    bool done; /* failed (reported) */
} tally;

/* The state of one check. */
typedef struct checker {
    price_worker *w;
    const cat_snapshot *s;
    cpqd_errs *errs;
    arena *a;
    entry_ref *idx; /* the current catalog's entries, by SKU then rank */
    size_t nidx;
    tally *tallies;
    size_t ntallies, captallies;
    size_t failed; /* rules reported */
    int rc;        /* CPQD_ENOMEM once memory ran out (the check stops) */
} checker;

static bool nomem(checker *k)
{
    k->rc = CPQD_ENOMEM;
    return false;
}

static int ref_cmp(const void *a, const void *b)
{
    const entry_ref *x = a, *y = b;
    int c = strcmp(x->sku, y->sku);
    return c ? c : x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Indexes the list entries of cc (one sort, so that a catalog of many
 * products is not scanned once per product). */
static bool index_catalog(checker *k, const cat_catalog *cc)
{
    size_t n = 0;
    for (size_t b = 0; b < cc->nbooks; b++)
        n += cc->books[b].nentries;
    free(k->idx);
    k->idx = calloc(n ? n : 1, sizeof(*k->idx));
    k->nidx = 0;
    if (!k->idx)
        return nomem(k);
    for (int pass = 0; pass < 2; pass++)
        for (size_t b = 0; b < cc->nbooks; b++) {
            const cat_price_book *bk = &cc->books[b];
            if ((bk->audience == CAT_AUD_ALL) != (pass == 0))
                continue;
            for (size_t e = 0; e < bk->nentries; e++, k->nidx++)
                k->idx[k->nidx] = (entry_ref){bk->entries[e].sku, bk, &bk->entries[e], k->nidx};
        }
    qsort(k->idx, k->nidx, sizeof(*k->idx), ref_cmp);
    return true;
}

/* The list entry of p to sample: a book for everyone first, else any book
 * of its catalog that prices it. false if no book prices p (pricing then
 * never reaches its rules). */
static bool sample_of(const checker *k, const cat_product *p, sample *out)
{
    size_t lo = 0, hi = k->nidx;
    while (lo < hi) { /* the first entry whose SKU is not below p's */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(k->idx[mid].sku, p->sku) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == k->nidx || strcmp(k->idx[lo].sku, p->sku) != 0)
        return false;
    const entry_ref *r = &k->idx[lo];
    *out = (sample){p, r->book, r->entry, r->entry->valid_from};
    return true;
}

/* The tally of rule path (as a limit or a formula); NULL when memory ran
 * out. */
static tally *tally_of(checker *k, const char *path, bool limit)
{
    for (size_t i = 0; i < k->ntallies; i++)
        if (k->tallies[i].limit == limit && !strcmp(k->tallies[i].path, path))
            return &k->tallies[i];
    if (k->ntallies == k->captallies) {
        size_t cap = k->captallies ? 2 * k->captallies : 16;
        tally *t = realloc(k->tallies, cap * sizeof(*t));
        if (!t) {
            nomem(k);
            return NULL;
        }
        k->tallies = t;
        k->captallies = cap;
    }
    k->tallies[k->ntallies] = (tally){path, limit, 0, false};
    return &k->tallies[k->ntallies++];
}

/* A sample pctx: one line of qty units of sm, customer SAMPLE_CUSTOMER,
 * on the first day of its entry, in the book's currency. */
static void ctx_init(checker *k, const sample *sm, money_dec qty, price_request *rq,
                     price_result *r, price_line_out *o, pline *l, pctx *c)
{
    *rq = (price_request){.customer_id = SAMPLE_CUSTOMER, .date = sm->day};
    *r = (price_result){.date = rq->date};
    memcpy(r->currency, sm->book->currency, sizeof(r->currency));
    *o = (price_line_out){.id = "1", .product = sm->p, .qty = qty, .list_unit = sm->entry->list};
    *l = (pline){.o = o, .p = sm->p, .book = sm->book, .entry = sm->entry, .amount = pw_zero()};
    *c = (pctx){.w = k->w, .s = k->s, .rq = rq, .r = r, .errs = k->errs, .a = k->a,
                .lines = l, .nlines = 1};
}

/* Adds the error of a failed sample evaluation of rule path: at the line
 * where the rule stopped, the outcome, its message (without the
 * "file:line: " Lua put before it) and the sample. */
static void report(checker *k, const char *path, const char *what, const sample *sm,
                   money_dec qty, const rules_result *res, const char *why)
{
    const rules_chunk *ch = cat_snapshot_rule(k->s, path);
    const char *msg = why ? why : res->msg;
    char tag[32];
    int n = snprintf(tag, sizeof(tag), ":%u: ", res->line);
    const char *cut = res->line && n > 0 ? strstr(msg, tag) : NULL;
    if (cut && cut - msg < 200)
        msg = cut + n;
    char list[MONEY_FMT_MAX] = "?", q[MONEY_FMT_MAX] = "?", day[DATE_FMT_LEN];
    money_format(sm->entry->list, list, sizeof(list));
    money_format(qty, q, sizeof(q));
    date_format(sm->day, day);
    errs_add(k->errs, CPQD_ERULE, ch ? rules_chunk_name(ch) : path, res->line, 0,
             "%s %s (%s, on a sample line of %s: list %s %s, quantity %s, %s; every price that "
             "runs it would fail)",
             why ? "ERR_RESULT" : rules_outcome_name(res->outcome), msg, what, sm->p->sku, list,
             sm->book->currency, q, day);
    k->failed++;
}

/* Runs rule path on input; true if it passed (else reported, or memory
 * ran out). */
static bool run(checker *k, const char *path, const rules_value *input, unsigned accept,
                const char *what, const sample *sm, money_dec qty, bool formula)
{
    const rules_chunk *ch = cat_snapshot_rule(k->s, path);
    rules_result *res = arena_alloc(k->a, sizeof(*res));
    if (!ch)
        return true; /* not compiled: the load already failed */
    if (!res)
        return nomem(k);
    int rc = rules_eval(k->w->rules, ch, input, accept, res);
    if (rc == CPQD_ENOMEM)
        return nomem(k);
    if (rc != 0) {
        report(k, path, what, sm, qty, res, NULL);
        return false;
    }
    /* pricing refuses a negative price from a formula (rule_failed) */
    const rules_value *v = &res->values[0];
    if (formula && res->n > 0 &&
        ((v->type == RULES_T_INT && v->u.i < 0) ||
         (v->type == RULES_T_DEC && money_sign(v->u.dec) < 0))) {
        report(k, path, what, sm, qty, res, "returned a negative price");
        return false;
    }
    return true;
}

/* Samples formula path (declared at pos) on product p. */
static bool check_formula(checker *k, const char *path, cat_pos pos, const cat_product *p)
{
    sample sm;
    if (!sample_of(k, p, &sm))
        return true;
    money_dec one = money_from_int(1);
    price_request rq;
    price_result r;
    price_line_out o;
    pline l;
    pctx c;
    ctx_init(k, &sm, one, &rq, &r, &o, &l, &c);
    price_line_in in = {.id = "1", .sku = p->sku, .qty = one};
    rules_value input;
    if (price_formula_input(&c, &l, &in, sm.entry->list, &input) != 0)
        return nomem(k);
    char what[512];
    snprintf(what, sizeof(what), "formula of %s at %s:%u:%u", p->sku, pos.file ? pos.file : "?",
             pos.line, pos.col);
    return run(k, path, &input, RULES_ACCEPT_MONEY, what, &sm, one, true);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

/* Whether promotion pr can apply to product p: named by SKU (bundle and
 * free items included) or category, or open to every product. */
static bool promo_applies(const cat_promotion *pr, const cat_product *p)
{
    if (pr->nskus == 0 && pr->ncategories == 0)
        return true;
    return in_list(p->sku, pr->skus, pr->nskus) ||
           in_list(p->category, pr->categories, pr->ncategories);
}

/* The discount promotion pr would grant on amount (list x qty, or the
 * list price of its free item): the sample's ctx.discount. */
static money_dec sample_discount(const cat_promotion *pr, const sample *sm, money_dec qty,
                                 money_dec amount)
{
    money_dec d = pw_zero(), t;
    switch (pr->effect) {
    case CAT_EFF_PERCENT_OFF:
        if (pw_percent(amount, pr->effect_value, &t) == 0)
            d = t;
        break;
    case CAT_EFF_AMOUNT_OFF:
        d = pw_min(pr->effect_value, amount);
        break;
    case CAT_EFF_SPECIAL_PRICE:
        if (pw_sub(sm->entry->list, pr->effect_value, &t) == 0 && pw_mul(t, qty, &t) == 0)
            d = t;
        break;
    case CAT_EFF_BUNDLE_PRICE:
        if (pw_sub(amount, pr->effect_value, &t) == 0)
            d = t;
        break;
    case CAT_EFF_FREE_ITEM:
        d = sm->entry->list;
        break;
    }
    return money_sign(d) < 0 ? pw_zero() : d;
}

/* Samples the limit rule of promotion pr on product p: the promotion's
 * minimum quantity (at least 1), its first segment and channel, the day
 * both its window and the book are open, nothing redeemed yet. */
static bool check_limit(checker *k, const cat_promotion *pr, const cat_product *p)
{
    sample sm;
    if (!sample_of(k, p, &sm))
        return true;
    money_dec qty = money_from_int(1), amount;
    if (pr->has_min_quantity && money_cmp(pr->min_quantity, qty) > 0)
        qty = pr->min_quantity;
    if (pw_mul(sm.entry->list, qty, &amount) != 0)
        return true; /* pricing would refuse the line itself (out of range) */
    if (pr->has_min_amount && money_cmp(pr->min_amount, amount) > 0)
        amount = pr->min_amount;
    if (pr->valid_from > sm.day)
        sm.day = pr->valid_from;
    price_request rq;
    price_result r;
    price_line_out o;
    pline l;
    pctx c;
    ctx_init(k, &sm, qty, &rq, &r, &o, &l, &c);
    rq.segment = pr->nsegments ? pr->segments[0] : NULL;
    rq.channel = pr->nchannels ? pr->channels[0] : NULL;
    price_usage u = {0, 0, 0, money_from_int(0)};
    rules_value input;
    if (price_limit_input(&c, pr, sample_discount(pr, &sm, qty, amount), amount, &u, &input) != 0)
        return nomem(k);
    char what[512];
    snprintf(what, sizeof(what), "limit of promotion %s at %s:%u:%u", pr->id,
             pr->pos.file ? pr->pos.file : "?", pr->pos.line, pr->pos.col);
    return run(k, pr->limit, &input, PRICE_LIMIT_ACCEPT, what, &sm, qty, false);
}

/* Samples rule path (a limit or a formula) with fn on product p when it
 * applies there, unless the rule already failed or was tried on
 * PRICE_CHECK_SAMPLES products. */
static void sample_rule(checker *k, const char *path, bool limit, bool applies,
                        bool (*fn)(checker *k, const void *rule, const cat_product *p),
                        const void *rule, const cat_product *p)
{
    tally *t = applies && !k->rc ? tally_of(k, path, limit) : NULL;
    if (!t || t->done || t->tried >= PRICE_CHECK_SAMPLES)
        return;
    t->tried++;
    if (!fn(k, rule, p)) /* fn adds no tally: t stays valid */
        t->done = true;
    arena_reset(k->a);
}

static bool try_catalog_formula(checker *k, const void *rule, const cat_product *p)
{
    const cat_formula *f = rule;
    return check_formula(k, f->file, f->pos, p);
}

static bool try_product_formula(checker *k, const void *rule, const cat_product *p)
{
    (void)rule;
    return check_formula(k, p->formula, p->pos, p);
}

static bool try_limit(checker *k, const void *rule, const cat_product *p)
{
    return check_limit(k, rule, p);
}

/* Every rule of catalog cc on the products it applies to, in catalog
 * order: each rule (by path) on at most PRICE_CHECK_SAMPLES products,
 * until its first failure. */
static void check_catalog(checker *k, const cat_catalog *cc)
{
    if (!index_catalog(k, cc))
        return;
    for (size_t f = 0; f < cc->nformulas; f++)
        for (size_t i = 0; i < cc->nproducts; i++)
            sample_rule(k, cc->formulas[f].file, false,
                        price_formula_applies(&cc->formulas[f], &cc->products[i]),
                        try_catalog_formula, &cc->formulas[f], &cc->products[i]);
    for (size_t i = 0; i < cc->nproducts; i++)
        if (cc->products[i].formula)
            sample_rule(k, cc->products[i].formula, false, true, try_product_formula, NULL,
                        &cc->products[i]);
    for (size_t pr = 0; pr < cc->npromotions; pr++)
        for (size_t i = 0; cc->promotions[pr].limit && i < cc->nproducts; i++)
            sample_rule(k, cc->promotions[pr].limit, true,
                        promo_applies(&cc->promotions[pr], &cc->products[i]), try_limit,
                        &cc->promotions[pr], &cc->products[i]);
}

int price_rules_check(price_worker *w, const cat_snapshot *s, cpqd_errs *errs, size_t *failed)
{
    checker k = {.w = w, .s = s, .errs = errs, .a = arena_new(16384)};
    if (failed)
        *failed = 0;
    if (!k.a)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < cat_snapshot_catalog_count(s) && !k.rc; i++)
        check_catalog(&k, cat_snapshot_catalog_at(s, i));
    arena_free(k.a);
    free(k.idx);
    free(k.tallies);
    if (failed)
        *failed = k.failed;
    return k.rc;
}
