/*
 * price_int: declarations shared inside the price module (price.c,
 * price_promo.c, price_json.c). Not for other modules.
 */
#ifndef CPQD_PRICE_INT_H
#define CPQD_PRICE_INT_H

#include "cpqd/arena.h"
#include "cpqd/price.h"
#include "cpqd/rules.h"

/* One line while it is being priced. */
typedef struct pline {
    price_line_out *o;
    const cat_product *p;
    const cat_price_book *book;  /* list book (step 1) */
    const cat_pb_entry *entry;   /* its entry */
    money_dec rate;              /* book currency -> request currency (1 if same) */
    const cat_pb_entry *floor_entry; /* entry whose floor/ceiling apply */
    const cat_price_book *floor_book;
    money_dec floor_rate;
    money_dec amount;            /* running extended amount */
    money_dec extras;            /* what adders, options and formulas added (steps 2-3) */
    size_t cap;                  /* capacity of o->steps */
    bool eligible_done;
} pline;

/* A model compiled for this request (no solver extension registered). */
typedef struct price_built {
    const cat_product *p;
    struct solver_model *m;
} price_built;

/* The state of one price_compute call. */
typedef struct pctx {
    price_worker *w;
    const cat_snapshot *s;
    price_store *store;
    const price_request *rq;
    price_result *r;
    cpqd_errs *errs;
    arena *a;
    pline *lines;
    size_t nlines, caplines;
    int minor; /* minor units of the request currency */
    bool probe;         /* price_probe_line: a required attribute may have no value */
    const price_line_in *known; /* price_probe_line: the line's configuration as
                                   price_line_configure would make it, or NULL */
    price_built *built; /* malloc'ed, freed by price_config_fini */
    size_t nbuilt, capbuilt;
    struct price_memo *memo; /* configured lines by their text (price_config.c), arena */
    size_t nmemo, capmemo;   /* capmemo: a power of two, or 0 */
    struct plabel_memo *labels; /* step labels made so far (plabel), arena; NULL until used */
    struct pusage_memo *usage;  /* usage counters read so far, by promotion (price_promo.c) */
    size_t nusage;
} pctx;

typedef struct price_rcache price_rcache;

struct price_worker {
    rules_state *rules;
    price_rcache *rcache;      /* rule results by input (price_rcache.c); NULL: none */
    rules_result *res;         /* the result of the rule run last: read before the next */
    arena *spare;              /* a result's arena given back (price_result_recycle) */
    struct solver_ctx *solver; /* made on the first configured line */
    uint64_t serial;           /* newest cat_snapshot_serial priced on */
    size_t evals;
};

/* Arithmetic on working amounts: exact while the result fits at
 * PRICE_WORK_SCALE places, trailing zeros dropped. */
int pw_add(money_dec a, money_dec b, money_dec *out);
int pw_sub(money_dec a, money_dec b, money_dec *out);
int pw_mul(money_dec a, money_dec b, money_dec *out);
/* a * pct / 100 */
int pw_percent(money_dec a, money_dec pct, money_dec *out);
money_dec pw_zero(void);
money_dec pw_min(money_dec a, money_dec b);

/* Appends a step to line l (amount is the line's amount after it). */
int pline_step(pctx *c, pline *l, price_step_kind k, const char *label, const char *ref,
               money_dec delta, cat_pos src);
/* Printf into the request arena; NULL on ENOMEM. */
char *pfmt(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pfmt, once per request for each key: the text a step label gets from
 * fmt is wholly decided by (fmt, k1, k2, k3) (the caller's promise: k1 a
 * catalog object or string, k2 and k3 the numbers it shows), so lines
 * with the same label share one copy instead of formatting it again. */
const char *plabel(pctx *c, const void *k1, int64_t k2, int k3, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Money as text in the request arena. */
const char *pmoney(pctx *c, money_dec v);

/* The list-book entry for sku on the request date and currency (step 1),
 * or the contracted/partner entry (step 5) when contract is true. Sets
 * *book, *entry and the conversion *rate; returns 0 or CPQD_ENOTFOUND. */
int price_find_entry(pctx *c, const cat_product *p, bool contract, const cat_price_book **book,
                     const cat_pb_entry **entry, money_dec *rate);
/* The rate from currency `from` to the request currency under catalog
 * cc's fx_rates (1 for the same currency); false if there is none. */
bool price_fx_rate(pctx *c, const cat_catalog *cc, const char *from, money_dec *rate);

/* An amount of the book's currency in the request currency, rounded to
 * the request currency's minor units (or 6 places for unit prices). */
int price_convert(pctx *c, money_dec v, money_dec rate, bool unit_price, money_dec *out);

/* The rule-result cache of a worker (price_rcache.c). */
price_rcache *price_rcache_new(void);
void price_rcache_free(price_rcache *rc);
/* Evaluations answered from the cache since it was made. */
uint64_t price_rcache_hits(const price_rcache *rc);
/* rules_eval of ch on input in w's sandbox, or the result it gave before
 * for the same snapshot, chunk, accepted types and input bytes (only
 * successful results are kept). Counts real evaluations in w->evals.
 * Returns what rules_eval returns. */
int price_rcache_eval(price_worker *w, const cat_snapshot *s, const rules_chunk *ch,
                      const rules_value *input, unsigned accept, rules_result *res);

/* Runs a Lua rule; turns failures into errors that name the rule. */
int price_rule(pctx *c, const char *path, cat_pos declared, const rules_value *input,
               unsigned accept, rules_result *res);

/* The ctx a formula reads (docs/rules.md "Formula rules"): price (unit,
 * at this step), list, quantity, sku, category, currency, date,
 * attributes (in's values, else the product's defaults), options,
 * customer, partner, channel; built in c's arena (price.c). Pricing and
 * `cpqd check` (price_check.c) both build it here. Returns 0 or
 * CPQD_ENOMEM. */
int price_formula_input(pctx *c, pline *l, const price_line_in *in, money_dec unit,
                        rules_value *out);
/* Whether catalog formula f applies to product p (its skus or
 * categories). */
bool price_formula_applies(const cat_formula *f, const cat_product *p);

/* The ctx a limit rule of promotion p reads (docs/rules.md "Limit
 * rules"): promotion, discount (granted), quote (amount, lines),
 * customer, usage, currency, date, partner, channel (price_promo.c).
 * Returns 0 or CPQD_ENOMEM. */
int price_limit_input(pctx *c, const cat_promotion *p, money_dec granted, money_dec quote,
                      const price_usage *u, rules_value *out);
/* The result types a limit rule may return. */
#define PRICE_LIMIT_ACCEPT                                                                         \
    (RULES_ACCEPT(RULES_T_NIL) | RULES_ACCEPT(RULES_T_BOOL) | RULES_ACCEPT(RULES_T_INT) |          \
     RULES_ACCEPT(RULES_T_DEC) | RULES_ACCEPT(RULES_T_STR))

/* Step 7 (price_promo.c): selects and applies promotions. */
int price_promotions(pctx *c);

/* The configuration line l is priced from (price_config.c, docs/pricing.md
 * "Configurable products"): for a product with BOM groups or constraints
 * (or a line with a configuration), *out is a copy of in whose options
 * and attributes are those of a valid configuration (given, from the
 * explicit options, or the product's defaults), and l's output says
 * which. Otherwise *out is in. Returns 0, CPQD_EINVAL (unknown variable,
 * value or option, conflicting choices), CPQD_EINCOMPLETE (a required
 * choice is missing: each named in c->errs with its group) or
 * CPQD_ENOMEM. */
int price_line_configure(pctx *c, pline *l, const price_line_in *in, price_line_in *out);
/* Frees the models price_line_configure compiled for c. */
void price_config_fini(pctx *c);

/* The enum value's adder of product attribute pa (the product's override,
 * else the value's), or NULL. */
const cat_value *price_adder_of(const cat_prod_attr *pa, const char *v);
/* The tax class of p in its catalog, or NULL. */
const cat_tax_class *price_tax_class(const cat_product *p);
/* Whether a formula (the product's or a catalog's) applies to p. */
bool price_has_formula(const cat_product *p);

/* One line through steps 1-6 (no promotions, floor or rounding), for
 * `cpqd check` (price_check.c): rq has exactly one line and a currency;
 * a required attribute may be left without a value. known, unless NULL,
 * is that line as price_line_configure would configure it (the options
 * of a valid configuration, which the caller vouches for: see
 * price_ceiling.c), taken instead of asking the configurator. *out: the
 * line's amount and the entry whose floor and ceiling apply to it. */
typedef struct price_probe {
    money_dec amount;
    const cat_pb_entry *entry;
    const cat_price_book *book;
} price_probe;
int price_probe_line(price_worker *w, const cat_snapshot *s, const price_request *rq,
                     const price_line_in *known, price_probe *out, cpqd_errs *errs);

/* How price_check prices the cheapest configuration of each entry
 * (price_ceiling.c): from the configuration the search found (the
 * default), by configuring the line again as a request would, or both,
 * counting where the two differ (tests compare them). */
typedef enum price_check_way {
    PRICE_CHECK_KNOWN,
    PRICE_CHECK_AGAIN,
    PRICE_CHECK_BOTH,
} price_check_way;

typedef struct price_check_stats {
    size_t known;  /* candidates priced from their configuration */
    size_t again;  /* candidates configured again (that way, or known could not say) */
    size_t differ; /* PRICE_CHECK_BOTH: amount, scale, entry or failure not the same */
} price_check_stats;

/* price_check priced the given way; st (may be NULL) counts. */
int price_check_with(const cat_snapshot *s, cpqd_errs *notes, price_check_way way,
                     price_check_stats *st);

/* ---- the wire form (price_json.c, price_json_fast.c) ---- */

struct price_req_buf {
    arena *a;
    price_request rq;
};

/* Whether two requests hold the same values (tests and fuzz_price check
 * the fast path against the jansson path with it). */
bool price_request_same(const price_request *a, const price_request *b);

#endif
