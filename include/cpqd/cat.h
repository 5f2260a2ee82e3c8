/*
 * cat: product catalogs loaded from YAML into an immutable snapshot.
 *
 * Owns: reading and validating catalog files (docs/catalog.md), the
 * snapshot they compile into (products, attributes, BOM groups,
 * constraints, price books, promotions, partners, terms), its content-hash
 * version, and the process-wide "current snapshot" pointer.
 * Does not own: solving constraints (solver), pricing (price), running Lua
 * (rules), JSON (http).
 *
 * Ownership: a snapshot owns every struct and string reachable from it;
 * pointers obtained from a snapshot stay valid while the caller holds a
 * reference (cat_snapshot_retain / cat_snapshot_release).
 * Thread-safety: a published snapshot is immutable, share freely; the
 * reference count is atomic. The current-snapshot functions are safe from
 * any thread.
 */
#ifndef CPQD_CAT_H
#define CPQD_CAT_H

#include "cpqd/date.h"
#include "cpqd/err.h"
#include "cpqd/money.h"
#include "cpqd/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cat_snapshot cat_snapshot; /* opaque */
typedef struct cat_rule cat_rule;         /* opaque: one compiled rule file */

typedef struct cat_pos {
    const char *file; /* path as given to the loader */
    unsigned line, col;
} cat_pos;

typedef enum cat_attr_type {
    CAT_ATTR_ENUM,
    CAT_ATTR_INTEGER,
    CAT_ATTR_DECIMAL,
    CAT_ATTR_TEXT,
} cat_attr_type;

typedef struct cat_value {
    const char *id;
    const char *name;
    bool has_adder;
    money_dec adder; /* price adder in the catalog currency */
    cat_pos pos;
} cat_value;

typedef struct cat_attr {
    const char *id;
    const char *name;
    const char *unit;  /* NULL if none */
    cat_attr_type type;
    const cat_value *values; /* enum only */
    size_t nvalues;
    bool has_min, has_max, has_step;
    money_dec min, max, step; /* integer: scale 0 */
    const char *pattern;      /* text: PCRE2 source, NULL if none */
    size_t max_length;        /* text */
    const char *default_value; /* NULL if none */
    const void *re;            /* internal: compiled pattern (pcre2_code) */
    cat_pos pos;
} cat_attr;

/* An attribute as carried by one product. */
typedef struct cat_prod_attr {
    const cat_attr *attr;
    const char *default_value; /* product default, else attr default, else NULL */
    const char *const *values; /* enum subset allowed here; NULL = all */
    size_t nvalues;
    const cat_value *adders; /* per-value adder overrides (id, adder) */
    size_t nadders;
    bool required;
    cat_pos pos;
} cat_prod_attr;

struct cat_product;

typedef struct cat_option {
    const char *sku;
    const struct cat_product *product;
    bool ranged;         /* quantity chosen within [qty_min, qty_max] */
    money_dec qty;       /* fixed, or the default of a ranged quantity */
    money_dec qty_min, qty_max;
    bool is_default;
    cat_pos pos;
} cat_option;

typedef struct cat_group {
    const char *id;
    const char *name;
    unsigned min, max; /* cardinality */
    const cat_option *options;
    size_t noptions;
    cat_pos pos;
} cat_group;

typedef enum cat_lit_op { CAT_LIT_EQ, CAT_LIT_NE, CAT_LIT_IN } cat_lit_op;

/* "PATH = V", "PATH != V", "PATH in [V, ...]" (docs/catalog.md). */
typedef struct cat_literal {
    const char *path;
    cat_lit_op op;
    const char *const *values;
    size_t nvalues;
    cat_pos pos;
} cat_literal;

typedef enum cat_constraint_kind {
    CAT_CON_REQUIRES, /* lits[0] -> lits[1] */
    CAT_CON_EXCLUDES, /* not all of lits */
    CAT_CON_TABLE,    /* vars + rows, allowed or forbidden */
    CAT_CON_IF,       /* all of lits[0..nif) -> all of lits[nif..nlits) */
    CAT_CON_QUANTITY, /* path, qmin..qmax */
} cat_constraint_kind;

typedef struct cat_constraint {
    const char *id;
    const char *description; /* NULL if none */
    cat_constraint_kind kind;
    const cat_literal *lits;
    size_t nlits, nif;
    const char *const *vars;  /* table: column paths */
    size_t nvars;
    const char *const *cells; /* table: nrows * nvars values, row-major */
    size_t nrows;
    bool forbidden;         /* table rows are forbidden combinations */
    const char *qty_path;   /* quantity */
    money_dec qty_min, qty_max;
    cat_pos pos;
} cat_constraint;

/* The five delivery modes. Their names, their parsing and the delivery
 * keys each accepts come from one table in cat.c (cat_mode_name,
 * cat_mode_parse, cat_mode_list, cat_mode_accepts): a mode added here is
 * added there, and nowhere else. */
typedef enum cat_mode {
    CAT_MODE_GOODS,
    CAT_MODE_GOODS_WITH_SERVICE,
    CAT_MODE_SUBSCRIPTION,
    CAT_MODE_USAGE,
    CAT_MODE_MILESTONE,
} cat_mode;

typedef enum cat_period { CAT_PERIOD_NONE, CAT_PERIOD_MONTHLY, CAT_PERIOD_QUARTERLY, CAT_PERIOD_YEARLY } cat_period;

typedef struct cat_milestone {
    const char *id;
    const char *name;
    bool is_percent;
    money_dec percent; /* when is_percent */
    money_dec amount;  /* otherwise */
    cat_pos pos;
} cat_milestone;

typedef struct cat_delivery {
    cat_mode mode;
    int lead_time_days;  /* -1 if unset */
    const char *payment_term; /* NULL if unset */
    const char *const *service_items; /* goods_with_service */
    size_t nservice_items;
    int acceptance_days; /* -1 if unset */
    cat_period billing_period; /* subscription, usage */
    int term_months;           /* subscription */
    bool in_arrears;           /* subscription billing (usage: always) */
    int bill_day;              /* subscription: 1..31 bills on that day of the month (the days
                                * before it a prorated stub), 0 anchors on start_on */
    bool auto_renew;
    const char *metered_unit;  /* usage */
    bool has_minimum_commitment;
    money_dec minimum_commitment;
    const cat_milestone *milestones;
    size_t nmilestones;
} cat_delivery;

struct cat_catalog;

/* ---- service-wide bounds (docs/auth.md "Limits") ----
 * What the service takes is bounded so that nothing it stores can fail a
 * computation later (a period close, a sum, a schedule): a quantity fits
 * its coefficient at 6 places (10^12 x 10^6 < 2^63), and an amount leaves
 * room for sums at 3 minor places (10^13 x 10^3 x 900 < 2^63). */
#define CAT_QTY_MAX 1000000000000LL     /* any quantity: 10^12 */
#define CAT_QTY_MAX_SCALE 6             /* decimal places of any quantity */
#define CAT_AMOUNT_MAX 10000000000000LL /* any amount, in major units: 10^13 */

/* Which quantities a product is sold in (docs/catalog.md "Quantities"):
 * min + k x step, k = 0, 1, ..., up to max. The catalog's `quantity:
 * {min, max, step}` sets them; by default discrete modes (goods,
 * goods_with_service, subscription, milestone) take whole numbers from 1
 * and usage takes decimals of at most 6 places from 0, both up to
 * CAT_QTY_MAX. */
typedef struct cat_qty_rule {
    money_dec min, max, step; /* 0 <= min <= max <= CAT_QTY_MAX; step > 0; at most 6 places */
    bool set;                 /* the catalog gave `quantity` */
} cat_qty_rule;

typedef struct cat_product {
    const char *sku;
    const char *name;
    const char *category;
    const char *uom;
    const char *tax_class; /* resolved: never NULL */
    const char *description; /* NULL if none */
    bool sellable;
    cat_delivery delivery;
    const cat_prod_attr *attrs;
    size_t nattrs;
    const cat_group *groups;
    size_t ngroups;
    const cat_constraint *constraints;
    size_t nconstraints;
    const char *formula; /* rule path relative to the rules dir, NULL if none */
    cat_qty_rule quantity; /* the quantities it is sold in (always filled) */
    const struct cat_catalog *catalog;
    cat_pos pos;
} cat_product;

typedef enum cat_tier_type { CAT_TIER_VOLUME, CAT_TIER_GRADUATED, CAT_TIER_BLOCK, CAT_TIER_PACKAGE } cat_tier_type;

typedef struct cat_tier_band {
    money_dec from; /* quantity where the band starts */
    money_dec price;
} cat_tier_band;

/* What an entry's floor and ceiling bound (docs/pricing.md step 8): the
 * line's whole amount per unit, options, adders and formulas included
 * (`unit`, the default), or its base price, i.e. the amount less what
 * attributes, options and formulas added (`base`). */
typedef enum cat_bounds { CAT_BOUNDS_UNIT, CAT_BOUNDS_BASE } cat_bounds;

/* "unit", "base". */
const char *cat_bounds_name(cat_bounds b);

typedef struct cat_pb_entry {
    const char *sku;
    const cat_product *product;
    money_dec list;
    bool has_floor, has_ceiling, has_cost;
    money_dec floor, ceiling, cost; /* cost: internal, never to partners */
    cat_bounds bounds;              /* what floor and ceiling bound: the entry's, else the
                                       book's */
    bool has_valid_to;
    date_days valid_from, valid_to; /* inherited from the book when unset */
    bool unit_price;                /* up to 6 decimals allowed */
    bool has_tiers;
    cat_tier_type tier_type;
    unsigned block_size;
    const cat_tier_band *bands;
    size_t nbands;
    cat_pos pos;
} cat_pb_entry;

/* Who a price book is for: everyone (list prices), a customer segment, one
 * partner (partner prices) or one customer (contracted prices). */
typedef enum cat_audience { CAT_AUD_ALL, CAT_AUD_SEGMENT, CAT_AUD_PARTNER, CAT_AUD_CUSTOMER } cat_audience;

/* "all", "segment", "partner", "customer". */
const char *cat_audience_name(cat_audience a);

typedef struct cat_price_book {
    const char *id;
    const char *name;
    char currency[4];
    date_days valid_from;
    bool has_valid_to;
    date_days valid_to;
    cat_audience audience;
    const char *audience_id; /* segment or partner id */
    money_round rounding;
    bool clamp; /* floor/ceiling: clamp (true) or flag for approval */
    cat_bounds bounds; /* what its entries' floor and ceiling bound (default unit) */
    const cat_pb_entry *entries;
    size_t nentries;
    const struct cat_catalog *catalog;
    cat_pos pos;
    const char *payment_term; /* term id for its lines (docs/receivables.md
                               * "Which term applies"), NULL if unset */
    cat_pos payment_term_pos; /* of the payment_term value */
} cat_price_book;

typedef enum cat_effect {
    CAT_EFF_PERCENT_OFF,
    CAT_EFF_AMOUNT_OFF,
    CAT_EFF_SPECIAL_PRICE,
    CAT_EFF_FREE_ITEM,
    CAT_EFF_BUNDLE_PRICE,
} cat_effect;

typedef struct cat_promotion {
    const char *id;
    const char *name;
    date_days valid_from;
    bool has_valid_to;
    date_days valid_to;
    const char *const *skus; size_t nskus;
    const char *const *categories; size_t ncategories;
    const char *const *segments; size_t nsegments;
    const char *const *channels; size_t nchannels;
    bool has_min_quantity, has_min_amount;
    money_dec min_quantity, min_amount;
    const char *coupon; /* NULL if none */
    cat_effect effect;
    money_dec effect_value;  /* percent, amount or price */
    const char *free_sku;    /* free_item */
    money_dec free_qty;
    const char *stack_group; /* NULL if none */
    int priority;
    bool exclusive, best;
    const char *limit; /* limit rule path, NULL if none */
    cat_pos pos;
} cat_promotion;

typedef struct cat_formula {
    const char *id;
    const char *name; /* what a quote document calls its step, NULL if none */
    const char *file;
    const char *const *skus; size_t nskus;
    const char *const *categories; size_t ncategories;
    cat_pos pos;
} cat_formula;

typedef struct cat_segment {
    const char *id;
    const char *name;
    cat_pos pos;
    const char *payment_term; /* term id, NULL if unset */
    cat_pos payment_term_pos;
} cat_segment;

typedef struct cat_partner {
    const char *id;
    const char *name;
    const char *segment; /* NULL if none */
    money_dec discount_authority; /* percent */
    cat_pos pos;
    const char *payment_term; /* term id for its quotes' lines, NULL if unset */
    cat_pos payment_term_pos;
    bool can_accept; /* its keys may accept quotes (`can_accept`, default true) */
} cat_partner;

typedef enum cat_due { CAT_DUE_SIGNING, CAT_DUE_DELIVERY, CAT_DUE_ACCEPTANCE, CAT_DUE_END_OF_MONTH, CAT_DUE_DATE } cat_due;

/* Bounds of a payment term (docs/catalog.md "payment_terms"). */
#define CAT_TERM_MAX_DAYS 3650 /* `days` after the event: 0..10 years */
#define CAT_TERM_MAX_PARTS 120 /* installments of a term, equal parts counted one by one */
#define CAT_TERM_MAX_EVERY_DAYS 366
#define CAT_TERM_MAX_EVERY_MONTHS 12

typedef struct cat_installment {
    bool is_percent;
    money_dec percent, amount; /* the whole installment, all its equal parts together */
    cat_due due;
    int days;        /* after the event, 0..CAT_TERM_MAX_DAYS */
    date_days date;  /* CAT_DUE_DATE */
    unsigned parts;  /* 0: one installment; >= 2: that many equal parts, the residue to the
                      * first; part k (0-based) counts its event k x every later */
    int every_days, every_months; /* parts: the step, exactly one of them > 0 */
    cat_pos pos;
} cat_installment;

typedef struct cat_term {
    const char *id;
    const char *name;
    const cat_installment *installments;
    size_t ninstallments;
    cat_pos pos;
} cat_term;

typedef struct cat_fx_rate {
    char from[4], to[4];
    money_dec rate;
    cat_pos pos;
} cat_fx_rate;

/* One level of discount authority: who may approve a discount up to
 * max_discount percent. A catalog lists its levels from the lowest up. */
typedef struct cat_approval_level {
    const char *id; /* rep, manager, director, ... */
    const char *name; /* NULL if none */
    money_dec max_discount;
    cat_pos pos;
} cat_approval_level;

typedef struct cat_tax_class {
    const char *id;
    money_dec rate;
} cat_tax_class;

/* When invoices are issued without a request (docs/catalog.md "finance"). */
typedef enum cat_invoice_issue {
    CAT_INVOICE_MANUAL,       /* only on request (POST .../invoices) */
    CAT_INVOICE_ON_BILL_DATE, /* automatically on the day an item becomes payable */
    CAT_INVOICE_ON_DUE_DATE,  /* automatically on an item's due date */
} cat_invoice_issue;

/* One entry of an account map: a product category or a tax class. */
typedef struct cat_account_ref {
    const char *key;     /* category or tax class id */
    const char *account; /* ledger account code */
    cat_pos pos;
} cat_account_ref;

/* The legal entity that issues a catalog's invoices; numbers are gap-free
 * per year and issuer id. */
typedef struct cat_issuer {
    const char *id;
    const char *name;               /* UTF-8, printed on invoices */
    const char *tax_id;             /* NULL if unset (as the four below) */
    const char *address;
    const char *bank;
    const char *bank_account;
    const char *invoice_prefix;     /* "INV-SH": numbers INV-SH-2026-000001 */
    const char *credit_note_prefix; /* "CN-SH" */
    cat_pos pos;
} cat_issuer;

/* Ledger accounts of the double-entry vouchers (docs/finance.md). */
typedef struct cat_accounts {
    const char *receivable;         /* accounts receivable */
    const char *bank;               /* the bank account statements are imported for */
    const char *customer_credit;    /* unapplied cash, overpayments, credit notes */
    const char *contract_liability; /* invoiced, not yet recognised (deferred revenue) */
    const char *tax_payable;        /* output tax, unless a class has its own */
    const char *revenue;            /* revenue, unless a category has its own */
    const char *write_off;          /* amounts written off as uncollectible */
    const cat_account_ref *revenue_by_category;
    size_t nrevenue_by_category;
    const cat_account_ref *tax_payable_by_class;
    size_t ntax_payable_by_class;
} cat_accounts;

/* A catalog's `finance` section: issuer, invoicing policy, accounts. */
typedef struct cat_finance {
    cat_issuer issuer;
    cat_invoice_issue issue;
    cat_accounts accounts;
    cat_pos pos;
} cat_finance;

/* "manual", "on_bill_date", "on_due_date"; NULL outside the enum. */
const char *cat_invoice_issue_name(cat_invoice_issue i);
/* The revenue account of a product category (its own, else the default),
 * and the tax-payable account of a tax class. f must not be NULL. */
const char *cat_finance_revenue_account(const cat_finance *f, const char *category);
const char *cat_finance_tax_account(const cat_finance *f, const char *tax_class);

typedef struct cat_catalog {
    size_t index; /* position in its snapshot (cat_snapshot_catalog_at) */
    const char *id;
    const char *version; /* the author's label */
    const char *name;
    const char *description;
    char currency[4];
    const char *timezone;
    money_round rounding;
    int backdating_days; /* days before today a stored quote may be priced on by
                          * a rep (docs/quotes.md "Pricing date"); 0 by default */
    bool prices_include_tax;
    bool tax_per_document;
    const cat_tax_class *tax_classes;
    size_t ntax_classes;
    const char *tax_default; /* default_class, NULL: the first class */
    const char *file; /* path of its YAML file */
    const char *hash; /* hex SHA-256 of the file */
    const cat_attr *attrs; size_t nattrs;
    const cat_product *products; size_t nproducts;
    const cat_price_book *books; size_t nbooks;
    const cat_promotion *promotions; size_t npromotions;
    const cat_formula *formulas; size_t nformulas;
    const cat_partner *partners; size_t npartners;
    const cat_segment *segments; size_t nsegments;
    const cat_term *terms; size_t nterms;
    const cat_fx_rate *fx_rates; size_t nfx_rates;
    const cat_approval_level *approvals; size_t napprovals;
    money_round tax_mode;       /* tax.rounding_mode: how tax is rounded (default half_even) */
    const cat_finance *finance; /* the finance section, NULL if the catalog has none */
} cat_catalog;

/* ---- loading ---- */

/* Loads every *.yaml / *.yml file below catalog_dir (sorted by path) and
 * validates it completely; rule paths resolve under rules_dir (NULL:
 * "<catalog_dir>/../rules"). Every error found is appended to errs
 * (file:line:col). Returns a snapshot with one reference, or NULL when
 * anything failed (errs then holds at least one error). */
cat_snapshot *cat_snapshot_load(const char *catalog_dir, const char *rules_dir, cpqd_errs *errs);

/* Like cat_snapshot_load but for one file or directory argument, as
 * `cpqd check PATH` takes it. */
cat_snapshot *cat_snapshot_load_path(const char *path, const char *rules_dir, cpqd_errs *errs);

/* Like cat_snapshot_load, reading the files from catalog_dir and
 * rules_dir but naming them in positions and rule names as if they were
 * under shown_dir and shown_rules_dir: a snapshot restored from an archive
 * into a temporary directory reads exactly as the original (quotes
 * re-priced on it give byte-identical results). */
cat_snapshot *cat_snapshot_load_as(const char *catalog_dir, const char *rules_dir,
                                   const char *shown_dir, const char *shown_rules_dir,
                                   cpqd_errs *errs);

/* The tiered amount of qty units under entry e's tiers (docs/pricing.md
 * "Tiers": volume, graduated, block, package), band prices converted at
 * rate (1 for the book's own currency) and rounded half-even to 6 places;
 * otherwise exact up to 10 places, not rounded to a currency. Used by
 * pricing and by receivables (usage periods). Returns 0, CPQD_EINVAL (no
 * tiers, negative or invalid qty) or CPQD_ERANGE. */
int cat_tier_amount(const cat_pb_entry *e, money_dec rate, money_dec qty, money_dec *out);

/* A catalog or rule file name as clients see it: relative to the catalog
 * directory ("appliances.yaml") or to the rules directory
 * ("appliances/carry_up_fee.lua"), so responses never show the server's
 * layout and do not change when the same catalogs load from elsewhere.
 * Other names are returned unchanged. */
const char *cat_snapshot_relpath(const cat_snapshot *s, const char *file);

/* Calls fn for every file the snapshot was loaded from: the catalog files
 * (is_rule false; rel relative to the catalog directory) in path order,
 * then the rule files (rel relative to the rules directory); path is
 * where to read it now. Stops at and returns fn's first non-zero result. */
int cat_snapshot_each_file(const cat_snapshot *s,
                           int (*fn)(void *ctx, bool is_rule, const char *rel, const char *path),
                           void *ctx);

cat_snapshot *cat_snapshot_retain(cat_snapshot *s);
/* Drops a reference; frees at zero. NULL is a no-op. */
void cat_snapshot_release(cat_snapshot *s);

/* The compiled rule for a path relative to the rules directory, as the
 * catalog wrote it (cat_product.formula, cat_promotion.limit,
 * cat_formula.file), or NULL. Every rule a catalog refers to is compiled
 * once at load; a rule that does not compile fails the load. */
const rules_chunk *cat_snapshot_rule(const cat_snapshot *s, const char *path);
size_t cat_snapshot_rule_count(const cat_snapshot *s);

/* Per-snapshot data other modules compile from a snapshot (the
 * configurator's models, ...), built once at load, freed with it. cat
 * does not know what they hold: a module registers its build and free
 * functions once at startup, before any load; a build that fails fails
 * the load with its errors. */
typedef enum cat_ext_slot { CAT_EXT_SOLVER, CAT_EXT_PRICE, CAT_EXT_N } cat_ext_slot;
void cat_ext_register(cat_ext_slot slot, int (*build)(cat_snapshot *s, cpqd_errs *errs, void **out),
                      void (*free_fn)(void *ext));
/* The slot's data, or NULL if no module is registered for it. */
void *cat_snapshot_ext(const cat_snapshot *s, cat_ext_slot slot);

/* Hex SHA-256 over the loaded files' paths and contents (and rule files). */
const char *cat_snapshot_version(const cat_snapshot *s);
/* Monotonic load timestamp (seconds since the epoch). */
long long cat_snapshot_loaded_at(const cat_snapshot *s);
/* Process-unique load number, from 1, higher for a later load (set before
 * the extensions build): per-worker caches keyed by snapshot drop older
 * snapshots' entries when a newer one comes (a reload). */
uint64_t cat_snapshot_serial(const cat_snapshot *s);
/* Bytes of memory the snapshot holds. */
size_t cat_snapshot_bytes(const cat_snapshot *s);
/* Directories it was loaded from. */
const char *cat_snapshot_catalog_dir(const cat_snapshot *s);
const char *cat_snapshot_rules_dir(const cat_snapshot *s);

size_t cat_snapshot_catalog_count(const cat_snapshot *s);
const cat_catalog *cat_snapshot_catalog_at(const cat_snapshot *s, size_t i);

/* All products of all catalogs, sorted by SKU (bytewise). */
size_t cat_snapshot_product_count(const cat_snapshot *s);
const cat_product *cat_snapshot_product_at(const cat_snapshot *s, size_t i);
/* Product by SKU, or NULL. O(log n). */
const cat_product *cat_snapshot_product(const cat_snapshot *s, const char *sku, size_t len);

/* Price-book entries for a product, across the books of its catalog, in
 * book order; out receives up to cap (book, entry) pairs; returns the total
 * count (which may exceed cap). */
typedef struct cat_price_ref {
    const cat_price_book *book;
    const cat_pb_entry *entry;
} cat_price_ref;
size_t cat_snapshot_prices(const cat_snapshot *s, const cat_product *p, cat_price_ref *out, size_t cap);

/* Checks a value (as text) against an attribute: enum membership,
 * integer/decimal syntax, range and step, text length and pattern.
 * Returns 0, or CPQD_EINVAL with *why set to a static explanation. */
int cat_attr_value_check(const cat_attr *a, const char *v, size_t len, const char **why);

/* ---- quantities (docs/catalog.md "Quantities") ---- */

/* The default quantity rule of mode m: whole numbers from 1, or (usage)
 * decimals of at most 6 places from 0; up to CAT_QTY_MAX. */
cat_qty_rule cat_qty_default(cat_mode m);
/* Whether q is a quantity of rule r: q has at most CAT_QTY_MAX_SCALE
 * places (trailing zeros aside), min <= q <= max and q - min is a whole
 * multiple of step. */
bool cat_qty_fits(const cat_qty_rule *r, money_dec q);
/* The rule in words, for messages: "whole numbers from 1 to
 * 1000000000000", "decimals with at most 6 places from 0 to 5000",
 * "from 0.5 in steps of 0.5 to 20". Writes at most cap bytes (NUL
 * included) to buf; returns buf. */
const char *cat_qty_rule_text(const cat_qty_rule *r, char *buf, size_t cap);
/* Whether q is a quantity p is sold in (zero_ok: 0 too, as a what-if
 * price may ask). 0, or CPQD_EINVAL with "Q is not a quantity of SKU:
 * <rule>" in why[0..cap) (why may be NULL). */
int cat_qty_check(const cat_product *p, money_dec q, bool zero_ok, char *why, size_t cap);
/* Whether a is within the service's amount bound: |a| <= CAT_AMOUNT_MAX. */
bool cat_amount_ok(money_dec a);

/* Partner by id (any catalog), or NULL. */
const cat_partner *cat_snapshot_partner(const cat_snapshot *s, const char *id);
/* Whether partner id's keys may accept quotes: false when a catalog that
 * declares it says `can_accept: false` (*catalog, if not NULL: that
 * catalog's id, else NULL); true for an id no catalog declares. */
bool cat_snapshot_partner_can_accept(const cat_snapshot *s, const char *id, const char **catalog);

/* ---- delivery modes (one table in cat.c) ---- */

/* How many modes there are; cat_mode values are 0 .. count - 1. */
size_t cat_mode_count(void);
/* "goods", "goods_with_service", ...; "?" for a value that is no mode. */
const char *cat_mode_name(cat_mode m);
/* The mode named exactly s[0..len): 0 and *out, or CPQD_EINVAL. */
int cat_mode_parse(const char *s, size_t len, cat_mode *out);
/* Every mode name in table order, ", "-separated ("goods, ...,
 * milestone"), for messages that list the allowed values. Writes at most
 * cap bytes (NUL included) to buf; returns buf. */
const char *cat_mode_list(char *buf, size_t cap);
/* Whether the `delivery` key `key` applies to mode m. `mode` and
 * `payment_term` apply to every mode; the others to the modes the table
 * lists them for (docs/catalog.md "Delivery"). */
bool cat_mode_accepts(cat_mode m, const char *key);

/* Helpers for rendering. */
const char *cat_period_name(cat_period p);
const char *cat_attr_type_name(cat_attr_type t);
const char *cat_tier_type_name(cat_tier_type t);
const char *cat_effect_name(cat_effect e);
const char *cat_due_name(cat_due d);

/* ---- the current snapshot (process-wide) ----
 * One global pointer, guarded by a mutex held only to swap it or to take a
 * reference; requests hold their own reference, so in-flight requests
 * finish on the snapshot they started with. */

/* A new reference to the current snapshot, or NULL if none is published. */
cat_snapshot *cat_current_acquire(void);
/* Publishes s (taking over the caller's reference) and releases the
 * previous one. */
void cat_current_publish_take(cat_snapshot *s);

#endif
