/*
 * price: the price waterfall of quote lines, promotions and their limits,
 * discount authority and approvals, tax and totals (docs/pricing.md).
 *
 * Owns: choosing the price book entry that applies to a line, every step
 * of the waterfall (list, adders and options, Lua formulas, tiers,
 * contracted or partner price, requested discount, promotions, floor and
 * ceiling, rounding, tax), promotion eligibility, stacking and limits,
 * allocating order-level discounts onto lines, the usage-counter store
 * interface (with an in-memory implementation), and the JSON wire form of
 * price requests and results (price_json.c).
 * Does not own: catalogs (cat), decimal arithmetic (money), running Lua
 * (rules), the configurator (solver), HTTP (http).
 *
 * Money: every amount is a money_dec; intermediate amounts stay exact up
 * to PRICE_WORK_SCALE places and are rounded once, at step 9, to the
 * currency's minor unit. Only exact decimals.
 *
 * Ownership: a price_result owns everything it points to except catalog
 * structs (products, promotions, positions), which belong to the snapshot
 * the caller holds a reference to while it reads the result.
 * Thread-safety: a price_worker (it owns a Lua sandbox state) is used by
 * one thread at a time; results are plain data. The in-memory store is
 * safe from any thread.
 */
#ifndef CPQD_PRICE_H
#define CPQD_PRICE_H

#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRICE_WORK_SCALE 10     /* places kept between steps */
#define PRICE_MAX_LINES 20000   /* lines per request */
#define PRICE_MAX_OPTIONS 256   /* options per line */
#define PRICE_MAX_ATTRS 64      /* attribute values per line */
#define PRICE_MAX_COUPONS 16
#define PRICE_MAX_BEST 8        /* `best: true` promotions tried in every combination */

/* ---- usage counters that promotion limits read ---- */

typedef struct price_usage {
    int64_t uses;          /* redemptions of the promotion, all customers */
    int64_t customer_uses; /* by this customer */
    int64_t partner_uses;  /* through this partner */
    money_dec spent;       /* discount granted so far (budget spent) */
} price_usage;

/* The store interface: a persistent one comes with quotes; the in-memory
 * one below implements the same contract. usage fills out[0..n) with the
 * counters of promos[0..n) (zeros for a promotion never redeemed), all
 * read at once (a request's limited promotions see one state of the
 * counters, and a database is asked once); customer or partner may be
 * NULL. */
typedef struct price_store price_store;
struct price_store {
    int (*usage)(price_store *st, const char *const *promos, size_t n, const char *customer,
                 const char *partner, price_usage *out);
};

/* In-memory store (tests, and the service until persistence lands). */
price_store *price_memstore_new(void);
void price_memstore_free(price_store *st);
/* Records one redemption of promo worth amount. Returns 0 or CPQD_ENOMEM. */
int price_memstore_redeem(price_store *st, const char *promo, const char *customer,
                          const char *partner, money_dec amount);

/* ---- request ---- */

typedef struct price_attr_in {
    const char *id;
    const char *value; /* as text: "white", "380", "4.5" */
} price_attr_in;

typedef struct price_option_in {
    const char *sku;
    money_dec qty; /* per unit of the line's product */
} price_option_in;

/* One configurator choice of a configured line (as POST /v1/configure
 * takes them). */
typedef struct price_choice_in {
    const char *path;  /* "spindle", "@voltage", "controller/CNC-CTL-PRO/io" */
    const char *value;
    bool has_qty;
    money_dec qty;     /* a ranged option's quantity */
    bool exclude;
} price_choice_in;

typedef struct price_line_in {
    const char *id; /* the caller's line id, NULL: its 1-based position */
    const char *sku;
    money_dec qty;
    const price_attr_in *attrs;
    size_t nattrs;
    const price_option_in *options; /* explicit option list (or the exploded BOM) */
    size_t noptions;
    const price_choice_in *config;  /* a configuration: its exploded BOM becomes options, its
                                       root attribute choices attributes (docs/pricing.md) */
    size_t nconfig;
    bool has_options;   /* options given (even none): the line's configuration */
    bool has_config;    /* configuration given (even empty) */
    bool has_discount;
    money_dec discount; /* requested discount, percent */
} price_line_in;

/* Which quantities a request may hold (docs/catalog.md "Quantities"). */
typedef enum price_qty_use {
    PRICE_QTY_WHATIF,   /* POST /v1/price: the product's rule, or 0 (a price-list view) */
    PRICE_QTY_STORED,   /* a quote to store: the product's rule, never 0 */
    PRICE_QTY_RECORDED, /* a stored request priced again: as it was stored */
} price_qty_use;

typedef struct price_request {
    price_qty_use qty_use; /* zero: PRICE_QTY_WHATIF */
    const char *customer_id;
    const char *segment;   /* NULL if none */
    const char *partner_id; /* NULL if none */
    const char *channel;   /* NULL if none */
    const char *role;      /* whose discount authority: partner, rep, manager, ... */
    bool has_authority;    /* an explicit authority (API key setting) overrides the role's */
    money_dec authority;   /* percent */
    bool partner_view;     /* the caller is a partner: no cost, floor or margin */
    bool has_currency;
    char currency[4];      /* default: the catalog currency of the first line */
    date_days date;
    const char *const *coupons;
    size_t ncoupons;
    const price_line_in *lines;
    size_t nlines;
} price_request;

/* ---- result ---- */

typedef enum price_step_kind {
    PRICE_STEP_LIST,      /* 1 list price from the book that applies */
    PRICE_STEP_ADDER,     /* 2 attribute adder */
    PRICE_STEP_OPTION,    /* 2 option of the BOM */
    PRICE_STEP_FORMULA,   /* 3 Lua formula */
    PRICE_STEP_TIER,      /* 4 volume / graduated / block / package */
    PRICE_STEP_CONTRACT,  /* 5 contracted (customer) or partner price */
    PRICE_STEP_DISCOUNT,  /* 6 requested discount */
    PRICE_STEP_PROMOTION, /* 7 one promotion */
    PRICE_STEP_FLOOR,     /* 8 clamped up to the floor */
    PRICE_STEP_CEILING,   /* 8 clamped down to the ceiling */
    PRICE_STEP_ROUNDING,  /* 9 to the currency's minor unit */
} price_step_kind;

/* One step: the line's extended amount after it, and the change. */
typedef struct price_step {
    price_step_kind kind;
    const char *label;  /* human-readable: "list price (book med-2026h2)" */
    const char *ref;    /* book id, attribute=value, option SKU, rule path, promotion id */
    money_dec delta;
    money_dec amount;
    cat_pos source;     /* catalog or rule file:line; file NULL if none */
} price_step;

/* Where a line of a configurable product (BOM groups or constraints) got
 * its configuration (docs/pricing.md "Configurable products"). */
typedef enum price_config_source {
    PRICE_CONFIG_NONE,     /* not a configurable product */
    PRICE_CONFIG_GIVEN,    /* its `configuration` */
    PRICE_CONFIG_DEFAULTS, /* none given: the catalog's defaults complete the product */
    PRICE_CONFIG_OPTIONS,  /* its explicit `options`, checked to be a valid configuration */
} price_config_source;

/* "given", "defaults", "options" (NULL for PRICE_CONFIG_NONE). */
const char *price_config_source_name(price_config_source s);

typedef struct price_line_out {
    const char *id;
    const cat_product *product;
    money_dec qty;
    money_dec list_unit;    /* unit list price (step 1), in the request currency */
    const char *book;       /* id of the list book */
    price_step *steps;
    size_t nsteps;
    money_dec net, tax, total; /* total = what the customer pays for the line */
    money_dec tax_rate;        /* fraction: 0.13 */
    bool has_cost;
    money_dec cost;            /* extended cost, internal only */
    bool approval_required;
    const char *approval_level; /* lowest level allowed to approve, NULL if none needed */
    const char *approval_reason;
    const char *free_from;      /* free-item line: the promotion that added it */
    bool out_of_bounds;         /* priced outside its book's floor or ceiling: needs the
                                   top approval level (never shown to partners) */
    bool configured;            /* priced from a configuration's exploded BOM */
    bool config_complete;       /* ... in which every attribute is decided */
    price_config_source config_source; /* how the line named its configuration */
} price_line_out;

typedef struct price_promo_out {
    const cat_promotion *promo;
    bool applied;
    money_dec amount;      /* discount granted (applied) */
    const char *reason;    /* why rejected, or a note on a capped effect; NULL */
} price_promo_out;

typedef struct price_result {
    struct arena *mem;     /* owns the result's memory */
    char currency[4];
    date_days date;
    price_line_out *lines;
    size_t nlines;
    price_promo_out *promos; /* considered: applied first, then rejected */
    size_t npromos;
    money_dec subtotal;    /* sum of line nets */
    money_dec tax;         /* sum of line taxes */
    money_dec total;       /* sum of line totals, exactly */
    money_dec discount;    /* requested discounts and promotions, before rounding */
    bool approval_required;
    const char *approval_level; /* highest level any line needs */
    size_t rule_evals;     /* Lua evaluations run */
    size_t rule_reused;    /* rule results reused: the same rule on the same input earlier
                              on the same worker and snapshot (not run again) */
} price_result;

/* ---- the engine ---- */

typedef struct price_worker price_worker;

/* A worker owns a Lua sandbox state; one per thread. NULL on ENOMEM. */
price_worker *price_worker_new(void);
void price_worker_free(price_worker *w);

/* Registers the per-snapshot price index with cat (call once at startup,
 * before loading catalogs). price_compute works without it, slower. */
void price_register(void);

/* Prices rq against snapshot s. On success fills *out (free it with
 * price_result_fini) and returns 0. Otherwise returns CPQD_EINVAL (the
 * request names something unknown or invalid), CPQD_ENOTFOUND (no price
 * for a line), CPQD_ERULE (a formula or limit rule failed or hit a
 * sandbox limit), CPQD_ELIMIT (too many lines), CPQD_ERANGE or CPQD_ENOMEM,
 * with the reasons in errs (file:line of the rule or catalog when they
 * are the cause); *out is then empty. st may be NULL (no usage). */
int price_compute(price_worker *w, const cat_snapshot *s, price_store *st,
                  const price_request *rq, price_result *out, cpqd_errs *errs);
void price_result_fini(price_result *r);
/* As price_result_fini, but r's memory goes back to w (which priced it),
 * emptied, for its next price_compute: a worker pricing request after
 * request allocates and touches new memory only when one is larger than
 * any before (up to PRICE_ARENA_KEEP bytes kept). */
#define PRICE_ARENA_KEEP ((size_t)32 << 20)
void price_result_recycle(price_worker *w, price_result *r);

const char *price_step_name(price_step_kind k);

/* ---- checking rules (price_check.c) ---- */

#define PRICE_CHECK_SAMPLES 64 /* products a rule is tried on, at most */

/* Runs every formula and promotion limit rule of s (each rule file, as a
 * formula or as a limit) once on each product it applies to (at most
 * PRICE_CHECK_SAMPLES products, catalog order, until it fails), with the
 * inputs pricing would build for a sample line of that product: its list
 * price from a book for everyone (else any book that prices it), the day
 * that entry opens (a limit: or the promotion's first day, if later),
 * quantity 1 (a limit: the promotion's minimum), customer "CHECK-SAMPLE"
 * (a limit: the promotion's first segment and channel, nothing redeemed
 * yet), in w's sandbox (the production limits). Products no book prices
 * are skipped: pricing never runs their rules. The first failure of a
 * rule adds one CPQD_ERULE error to errs: file the rule, line where it
 * stopped (0 if unknown), column 0, message "ERR_CPU instruction budget
 * exceeded (formula of SKU at catalog:line:col, on a sample line ...)";
 * a formula returning a negative price is reported as ERR_RESULT. Sets
 * *failed (may be NULL) to the rules reported. Returns 0 or
 * CPQD_ENOMEM. */
int price_rules_check(price_worker *w, const cat_snapshot *s, cpqd_errs *errs, size_t *failed);

/* ---- static checks (price_ceiling.c, `cpqd check`) ---- */

/* For every entry with a ceiling bounding the price per unit (`bounds:
 * unit`) in a book that asks for approval out of range, of a sellable
 * product with BOM groups or constraints: a note (printed as a warning)
 * at the entry's file:line naming the product and the book when even the
 * product's cheapest valid configuration is priced above the ceiling
 * (every order then needs approval), or when that could not be decided.
 * Uses the snapshot's configurator models (or compiles them). Returns 0
 * or CPQD_ENOMEM. */
int price_check(const cat_snapshot *s, cpqd_errs *notes);

/* Promotion p's limit rule run again, as pricing runs it, on a discount
 * it granted earlier (`granted` on a quote of `quote` before it), with the
 * usage counters st gives now: a quote becoming a contract counts its
 * promotions inside the write transaction that stores the contract, so
 * the counters it reads there are exact under concurrency. rq gives the
 * customer, segment, partner, channel, currency and date the quote was
 * priced with (its lines are not read; nlines is their count). *ok is
 * false (why gets the rule's reason) when the rule would now refuse or
 * cap it. Returns 0, or what running the rule returned (CPQD_ERULE, ...)
 * with why set. */
int price_limit_recheck(price_worker *w, const cat_snapshot *s, price_store *st,
                        const price_request *rq, size_t nlines, const cat_promotion *p,
                        money_dec granted, money_dec quote, bool *ok, char *why, size_t cap);

/* ---- money authority (price_authority.c, docs/auth.md "Money
 * authority"): the one rule for a requested discount, a price outside
 * the floor/ceiling, and an amount a caller sets after signing ---- */

/* Whose authority: a role (partner, rep, manager, crm, admin, or any
 * approval level id of the catalog), its partner, and the authority set
 * on its API key (which overrides the role's). */
typedef struct price_who {
    const char *role; /* NULL: rep */
    const char *partner_id;
    bool has_authority;
    money_dec authority; /* percent */
} price_who;

/* The discount authority of who in catalog cc, in percent: the key's,
 * else 100 for admin, a partner's `discount_authority`, or the role's
 * approval level; false when it has none (every discount needs
 * approval). */
bool price_authority_of(const cat_catalog *cc, const price_who *who, money_dec *pct);
/* The lowest approval level of cc whose authority covers pct, else the
 * top one. */
const char *price_level_for(const cat_catalog *cc, money_dec pct);
/* The top approval level of cc (who approves prices outside floor and
 * ceiling), or "approver" when the catalog lists none. */
const char *price_level_top(const cat_catalog *cc);

/* An amount a caller sets in place of the one the service would set. */
typedef struct price_change {
    const char *field;        /* as the caller wrote it: "period_amount" */
    const cat_product *product;
    const char *currency;     /* of the amounts */
    date_days on;             /* the day the amount applies from */
    money_dec qty;            /* units the amounts are for */
    money_dec reference;      /* what the service would set */
    money_dec asked;          /* what the caller asks for */
    const char *customer_id, *segment, *partner_id; /* whose price: selects the book */
} price_change;

typedef struct price_verdict {
    bool allowed;
    const char *level; /* refused: the lowest approval level that may do it, NULL: none */
    char reason[256];  /* refused: why, naming the field and the amounts */
} price_verdict;

/* Whether who may set ch->asked: always when it equals the reference;
 * never for a partner; a lower amount is a discount off the reference
 * that must be within who's authority in the product's catalog; and the
 * amount must lie within the floor and ceiling (per unit × qty, plus tax
 * when the catalog's prices exclude it: amounts are what the customer
 * pays) of the book that would price the product for that customer on ch->on
 * (contracted or partner book first, as step 8), unless who is the top
 * approval level or admin. Fills *out; returns 0, or CPQD_EINVAL (an
 * unknown currency) or CPQD_ERANGE. */
int price_change_check(const cat_snapshot *s, const price_who *who, const price_change *ch,
                       price_verdict *out);

/* ---- JSON (price_json.c) ---- */

/* A parsed request: owns its strings. */
typedef struct price_req_buf price_req_buf;

/* Parses a /v1/price body (docs/pricing.md). On success *out points to a
 * request valid until price_req_buf_free(*buf). On failure returns
 * CPQD_EINVAL with one error per problem in errs, file NULL and the
 * message naming the JSON field ("lines[2].quantity: ..."). */
int price_json_parse(const char *body, size_t len, price_req_buf **buf, price_request **out,
                     cpqd_errs *errs);
/* As price_json_parse, on a body its caller already parsed (root, a
 * jansson object, borrowed and not changed): for quote.c, whose request
 * is a price request with keys of its own, named in `ignore` (NULL-
 * terminated; NULL: none) and checked by it. The request's strings are
 * copied: root may go before *buf. */
struct json_t;
int price_json_parse_tree(const struct json_t *root, const char *const *ignore,
                          price_req_buf **buf, price_request **out, cpqd_errs *errs);

#define PJF_OTHER 1 /* price_json_parse_fast: not for the fast path */

/* A quote's body (quote_json.c) is a price request with one member more;
 * what the fast path reads of it. */
typedef struct pjf_more {
    const char *name;  /* the member: a string of 1..10 bytes, or absent */
    const char *value; /* out: its value (in the request's arena), NULL when absent */
    date_days today;   /* the pricing date of a body that names none */
    bool dated;        /* out: the body names its date (a null one is left to the jansson path) */
} pjf_more;

/* A /v1/price body read without a JSON tree: 0 with *buf and *out as
 * price_json_parse would make them for this body; PJF_OTHER when the body
 * is invalid or anything the fast path leaves to the jansson path (which
 * then reads it again and reports its errors); CPQD_ENOMEM. more (NULL
 * for a price request) admits a quote's member. */
int price_json_parse_fast(const char *body, size_t len, pjf_more *more, price_req_buf **buf,
                          price_request **out);

void price_req_buf_free(price_req_buf *buf);

/* Renders r as the /v1/price response (a malloc'ed NUL-terminated JSON
 * text; partner_view drops cost, floor and margin). NULL on ENOMEM. */
char *price_json_render(const price_result *r, const cat_snapshot *s, bool partner_view);

#endif
