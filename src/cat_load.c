/*
 * cat_load: decodes one catalog file's node tree into cat_* structs and
 * validates it against docs/catalog.md.
 *
 * Owns: the schema (allowed keys, types, required fields), every check
 * that can be made within one catalog (ids, references, BOM cycles,
 * constraint paths and values, windows, amounts per currency), and the
 * rule-file checks. Does not own: parsing YAML (cat_yaml.c), cross-catalog
 * SKU uniqueness and the snapshot (cat.c).
 *
 * Every check reports through ld_err and carries on, so one run reports
 * every error of every file; a decoder that cannot continue returns -1 and
 * its caller skips the item. Strings are copied into the snapshot arena;
 * nothing here keeps a pointer into the node tree.
 */
#include "cat_int.h"
#include "cat_split.h"
#include "cpqd/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LD_MAX_ITEMS 10000000 /* items in one list: bounds every allocation */

typedef struct ld {
    cat_build *b;
    arena *a;
    const char *file;
    cat_catalog *cat;
    int minor; /* minor units of the catalog currency */
    int rc;
    const cat_product **index; /* this file's products sorted by SKU, when two share one */
    size_t nindex;
    struct ld_sku *sku_slot;   /* otherwise: the products by SKU hash */
    size_t sku_cap;            /* power of two */
    bool attrs_done;           /* attributes decoded before the products (streamed) */
    bool two_threads;          /* resolve options on two threads; any error fails the load
                                  (ld_split_file: its retry reports them in order) */
    struct ld_cache *cache; /* lookup indexes, built on first use (ld_cache_free) */
} ld;

/* A slot of the SKU hash: the SKU itself and its hash's high bits, so
 * that a probe reads neither a product nor a string it does not need. */
struct ld_sku {
    const char *sku; /* NULL: empty */
    uint32_t i;      /* the product's index */
    uint32_t tag;
};

static void ld_err(ld *l, const yn *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void ld_err(ld *l, const yn *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_add(l->b->errs, CPQD_EINVAL, l->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
    l->rc = CPQD_EINVAL;
}

static void ld_err_pos(ld *l, cat_pos p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void ld_err_pos(ld *l, cat_pos p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_add(l->b->errs, CPQD_EINVAL, p.file, p.line, p.col, "%s", msg);
    l->rc = CPQD_EINVAL;
}

static cat_pos ld_pos(const ld *l, const yn *n)
{
    return (cat_pos){l->file, n ? n->line : 0, n ? n->col : 0};
}

/* ---- generic node access ---- */

static bool ld_is(ld *l, const yn *n, yn_type t, const char *what)
{
    if (n->type == t)
        return true;
    ld_err(l, n, "%s must be %s, not %s", what, yn_type_name(t), yn_type_name(n->type));
    return false;
}

/* Checks that n is a mapping whose keys are all in allowed (NULL-ended). */
static bool ld_keys(ld *l, const yn *n, const char *what, const char *const *allowed)
{
    if (!ld_is(l, n, YN_MAP, what))
        return false;
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->str;
        size_t j = 0;
        while (allowed[j] && (allowed[j][0] != k[0] || strcmp(allowed[j], k) != 0))
            j++;
        if (allowed[j])
            continue;
        char list[256] = "";
        for (j = 0; allowed[j]; j++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%s", j ? ", " : "", allowed[j]);
        }
        ld_err(l, n->keys[i], "unknown key '%.64s' in %s (expected one of: %s)", k, what, list);
    }
    return true;
}

static const yn *ld_req(ld *l, const yn *map, const char *key, const char *what)
{
    const yn *v = yn_get(map, key);
    if (!v && what)
        ld_err(l, map, "%s is missing required key '%s'", what, key);
    else if (!v)
        ld_err(l, map, "missing required key '%s'", key);
    return v;
}

static const char *ld_dup(ld *l, const yn *n)
{
    const char *s = arena_strndup(l->a, n->str, n->len);
    if (!s)
        l->rc = CPQD_ENOMEM;
    return s;
}

/* A scalar value as a string. Returns 0 (with *out, or NULL when absent
 * and optional) or -1 after reporting. */
static int ld_str(ld *l, const yn *map, const char *key, bool req, const char **out)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    *out = NULL;
    if (!v)
        return req ? -1 : 0;
    if (!ld_is(l, v, YN_SCALAR, key))
        return -1;
    if (v->len == 0 || memchr(v->str, '\0', v->len)) {
        ld_err(l, v, "'%s' must not be empty", key);
        return -1;
    }
    *out = ld_dup(l, v);
    return *out ? 0 : -1;
}

static bool id_ok(const char *s, size_t len, bool sku)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                     (!sku && c >= 'a' && c <= 'z');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

static int ld_ident(ld *l, const yn *map, const char *key, bool req, bool sku, const char **out)
{
    if (ld_str(l, map, key, req, out) || !*out)
        return req && !*out ? -1 : 0;
    if (id_ok(*out, strlen(*out), sku))
        return 0;
    ld_err(l, yn_get(map, key), "invalid %s '%.64s' (%s)", sku ? "SKU" : "id", *out,
           sku ? "A-Z, 0-9, '_', '.', '-'; starts with A-Z or 0-9; at most 64"
               : "letters, digits, '_', '.', '-'; starts with a letter or digit; at most 64");
    *out = NULL;
    return -1;
}

static int ld_id(ld *l, const yn *map, const char *key, bool req, const char **out)
{
    return ld_ident(l, map, key, req, false, out);
}

static int ld_sku(ld *l, const yn *map, const char *key, bool req, const char **out)
{
    return ld_ident(l, map, key, req, true, out);
}

static int ld_bool(ld *l, const yn *map, const char *key, bool dflt, bool *out)
{
    const yn *v = yn_get(map, key);
    *out = dflt;
    if (!v)
        return 0;
    if (ld_is(l, v, YN_SCALAR, key) && !v->quoted) {
        if (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0) {
            *out = v->str[0] == 't';
            return 0;
        }
    }
    ld_err(l, v, "'%s' must be true or false", key);
    return -1;
}

/* A plain integer in [lo, hi]. */
static int ld_int(ld *l, const yn *map, const char *key, bool req, long lo, long hi, long *out)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    if (!v)
        return req ? -1 : 0;
    if (!ld_is(l, v, YN_SCALAR, key))
        return -1;
    char *end = NULL;
    long x = strtol(v->str, &end, 10);
    if (v->len == 0 || *end || v->str[0] == '+' || v->str[0] == ' ' || x < lo || x > hi) {
        ld_err(l, v, "'%s' must be an integer from %ld to %ld, not '%.32s'", key, lo, hi, v->str);
        return -1;
    }
    *out = x;
    return 0;
}

static int ld_date(ld *l, const yn *map, const char *key, bool req, bool *has, date_days *out)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    if (has)
        *has = false;
    if (!v)
        return req ? -1 : 0;
    if (!ld_is(l, v, YN_SCALAR, key))
        return -1;
    if (date_parse(v->str, v->len, out)) {
        ld_err(l, v, "'%s' must be a date YYYY-MM-DD, not '%.32s'", key, v->str);
        return -1;
    }
    if (has)
        *has = true;
    return 0;
}

/* A decimal written as a number or a string (quantities, rates, attribute
 * bounds). */
static int ld_decimal_node(ld *l, const yn *v, const char *key, money_dec *out)
{
    if (!ld_is(l, v, YN_SCALAR, key))
        return -1;
    int rc = money_parse(v->str, v->len, out);
    if (rc == 0)
        return 0;
    ld_err(l, v, "'%s' must be a decimal number%s, not '%.32s'", key,
           rc == CPQD_ERANGE ? " within range" : "", v->str);
    return -1;
}

static int ld_decimal(ld *l, const yn *map, const char *key, bool req, bool *has, money_dec *out)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    if (has)
        *has = false;
    if (!v)
        return req ? -1 : 0;
    if (ld_decimal_node(l, v, key, out))
        return -1;
    if (has)
        *has = true;
    return 0;
}

/* Money: a quoted decimal string with at most max_scale decimals. */
static int ld_money_node(ld *l, const yn *v, const char *key, int max_scale, const char *cur,
                         money_dec *out)
{
    if (!ld_is(l, v, YN_SCALAR, key))
        return -1;
    if (!v->quoted) {
        ld_err(l, v, "amount '%s' must be a quoted decimal string (\"%.32s\"), never a YAML number",
               key, v->str);
        return -1;
    }
    if (ld_decimal_node(l, v, key, out))
        return -1;
    if (out->scale > max_scale) {
        ld_err(l, v, "amount '%.32s' has %d decimals; %s allows %d", v->str, out->scale, cur,
               max_scale);
        return -1;
    }
    if (!cat_amount_ok(*out)) {
        ld_err(l, v, "amount '%.32s' is beyond the service's maximum amount %lld", v->str,
               (long long)CAT_AMOUNT_MAX);
        return -1;
    }
    return 0;
}

static int ld_money(ld *l, const yn *map, const char *key, bool req, bool *has, money_dec *out)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    if (has)
        *has = false;
    if (!v)
        return req ? -1 : 0;
    if (ld_money_node(l, v, key, l->minor, l->cat->currency, out))
        return -1;
    if (has)
        *has = true;
    return 0;
}

/* A percent "0".."100" (string or number). */
static int ld_percent(ld *l, const yn *map, const char *key, bool req, bool *has, money_dec *out)
{
    bool h = false;
    if (ld_decimal(l, map, key, req, &h, out))
        return -1;
    if (has)
        *has = h;
    if (h && (money_sign(*out) < 0 || money_cmp(*out, money_from_int(100)) > 0)) {
        ld_err(l, yn_get(map, key), "percent '%s' must be between 0 and 100", key);
        return -1;
    }
    return 0;
}

static const yn *ld_seq(ld *l, const yn *map, const char *key, bool req)
{
    const yn *v = req ? ld_req(l, map, key, NULL) : yn_get(map, key);
    if (!v || !ld_is(l, v, YN_SEQ, key))
        return NULL;
    if (v->n > LD_MAX_ITEMS) {
        ld_err(l, v, "'%s' has too many items", key);
        return NULL;
    }
    return v;
}

/* A list of scalar strings; ids when is_id (sku: SKU pattern). */
static int ld_strlist(ld *l, const yn *map, const char *key, int kind, const char *const **out,
                      size_t *n)
{
    const yn *s = ld_seq(l, map, key, false);
    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    const char **v = arena_calloc(l->a, s->n, sizeof(char *));
    if (!v)
        return l->rc = CPQD_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        const yn *it = s->vals[i];
        if (!ld_is(l, it, YN_SCALAR, key))
            continue;
        if (kind && !id_ok(it->str, it->len, kind == 2)) {
            ld_err(l, it, "invalid %s '%.64s' in '%s'", kind == 2 ? "SKU" : "id", it->str, key);
            continue;
        }
        v[(*n)++] = ld_dup(l, it);
    }
    *out = v;
    return 0;
}

enum { LIST_TEXT = 0, LIST_ID = 1, LIST_SKU = 2 };

typedef struct ld_key {
    const char *id;
    size_t idx;
} ld_key;

static int ld_key_cmp(const void *pa, const void *pb)
{
    const ld_key *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* Reports every duplicate id among items[0..n) (stride bytes apart, the id
 * string first, a cat_pos at pos_off). Sorts, so O(n log n). */
static void ld_dups(ld *l, const void *items, size_t n, size_t stride, size_t pos_off,
                    const char *what)
{
    const char *base = items;
    if (n < 2)
        return;
    ld_key *k = malloc(n * sizeof(*k));
    if (!k) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = *(const char *const *)(base + i * stride);
        if (id)
            k[m++] = (ld_key){id, i};
    }
    qsort(k, m, sizeof(*k), ld_key_cmp);
    for (size_t i = 1; i < m; i++) {
        size_t first = i - 1;
        while (i < m && strcmp(k[i].id, k[first].id) == 0) {
            const cat_pos *p = (const cat_pos *)(base + k[i].idx * stride + pos_off);
            const cat_pos *q = (const cat_pos *)(base + k[first].idx * stride + pos_off);
            ld_err_pos(l, *p, "duplicate %s '%s' (first defined at line %u)", what, k[i].id,
                       q->line);
            i++;
        }
    }
    free(k);
}

#define LD_DUPS(l, arr, n, type, what) \
    ld_dups((l), (arr), (n), sizeof(type), offsetof(type, pos), (what))

/* Allocates the array for a list of n items. */
#define LD_ARRAY(l, n, type) ((type *)arena_calloc((l)->a, (n) ? (n) : 1, sizeof(type)))

/* ---- catalog header ---- */

static int ld_rounding(ld *l, const yn *map, const char *key, money_round dflt, money_round *out)
{
    const char *s = NULL;
    *out = dflt;
    if (ld_str(l, map, key, false, &s) || !s)
        return 0;
    if (money_round_parse(s, out) == 0)
        return 0;
    ld_err(l, yn_get(map, key),
           "unknown rounding mode '%.32s' (half_up, half_even, up, down, ceiling, floor)", s);
    return -1;
}

static int ld_currency(ld *l, const yn *map, const char *key, char out[4], int *minor)
{
    const char *s = NULL;
    if (ld_str(l, map, key, true, &s) || !s)
        return -1;
    if (strlen(s) != 3 || money_currency_minor(s, minor) != 0) {
        ld_err(l, yn_get(map, key), "unknown ISO 4217 currency '%.16s'", s);
        return -1;
    }
    memcpy(out, s, 4);
    return 0;
}

static const cat_tax_class *ld_tax_class(const cat_catalog *c, const char *id)
{
    for (size_t i = 0; i < c->ntax_classes; i++)
        if (c->tax_classes[i].id && strcmp(c->tax_classes[i].id, id) == 0)
            return &c->tax_classes[i];
    return NULL;
}

static void ld_tax(ld *l, const yn *t)
{
    static const char *const keys[] = {"prices_include_tax", "rounding", "rounding_mode",
                                       "classes", "default_class", NULL};
    cat_catalog *c = l->cat;
    c->tax_mode = MONEY_HALF_EVEN;
    if (!ld_keys(l, t, "tax", keys))
        return;
    ld_rounding(l, t, "rounding_mode", MONEY_HALF_EVEN, &c->tax_mode);
    if (ld_req(l, t, "prices_include_tax", "tax"))
        ld_bool(l, t, "prices_include_tax", false, &c->prices_include_tax);
    const char *r = NULL;
    if (!ld_str(l, t, "rounding", false, &r) && r) {
        if (strcmp(r, "per_document") == 0)
            c->tax_per_document = true;
        else if (strcmp(r, "per_line") != 0)
            ld_err(l, yn_get(t, "rounding"), "tax rounding must be per_line or per_document");
    }
    const yn *cl = ld_req(l, t, "classes", "tax");
    if (!cl || !ld_is(l, cl, YN_MAP, "tax classes"))
        return;
    cat_tax_class *tc = LD_ARRAY(l, cl->n, cat_tax_class);
    if (!tc)
        return;
    for (size_t i = 0; i < cl->n; i++) {
        const yn *k = cl->keys[i];
        if (!id_ok(k->str, k->len, false))
            ld_err(l, k, "invalid tax class id '%.64s'", k->str);
        tc[i].id = ld_dup(l, k);
        if (ld_decimal_node(l, cl->vals[i], "tax rate", &tc[i].rate))
            continue;
        if (money_sign(tc[i].rate) < 0 || money_cmp(tc[i].rate, money_from_int(1)) >= 0)
            ld_err(l, cl->vals[i], "tax rate must be at least 0 and below 1 (\"0.13\" is 13%%)");
    }
    c->tax_classes = tc;
    c->ntax_classes = cl->n;
    if (cl->n == 0)
        ld_err(l, cl, "tax classes must name at least one class");
    const char *dflt = NULL;
    if (!ld_id(l, t, "default_class", false, &dflt) && dflt && !ld_tax_class(c, dflt))
        ld_err(l, yn_get(t, "default_class"), "unknown tax class '%s'", dflt);
    else if (dflt)
        c->tax_default = dflt;
}

static int ld_header(ld *l, const yn *h)
{
    static const char *const keys[] = {"id", "version", "name", "currency", "timezone",
                                       "tax", "rounding", "description", "backdating_days", NULL};
    cat_catalog *c = l->cat;
    if (!ld_keys(l, h, "catalog", keys))
        return -1;
    ld_id(l, h, "id", true, &c->id);
    ld_str(l, h, "version", true, &c->version);
    ld_str(l, h, "name", true, &c->name);
    ld_str(l, h, "description", false, &c->description);
    if (ld_currency(l, h, "currency", c->currency, &l->minor))
        l->minor = 2;
    if (!ld_str(l, h, "timezone", true, &c->timezone) && c->timezone) {
        /* IANA names: Area/Location or UTC; the zone database itself is
         * not consulted (it may be absent in minimal containers). */
        const char *tz = c->timezone;
        bool ok = strcmp(tz, "UTC") == 0 || (strchr(tz, '/') && !strstr(tz, "..") &&
                                              tz[0] != '/' && strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") == strlen(tz));
        if (!ok)
            ld_err(l, yn_get(h, "timezone"), "timezone must be an IANA name like Asia/Shanghai");
    }
    ld_rounding(l, h, "rounding", MONEY_HALF_UP, &c->rounding);
    /* how far before today a stored quote may be priced without manager
     * authority (docs/quotes.md "Pricing date") */
    long days = 0;
    if (!ld_int(l, h, "backdating_days", false, 0, 366, &days))
        c->backdating_days = (int)days;
    const yn *t = ld_req(l, h, "tax", "catalog");
    if (t)
        ld_tax(l, t);
    return 0;
}

/* ---- attributes ---- */

static void ld_attr_values(ld *l, const yn *seq, cat_attr *a)
{
    static const char *const keys[] = {"id", "name", "adder", NULL};
    cat_value *v = LD_ARRAY(l, seq->n, cat_value);
    if (!v)
        return;
    size_t n = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yn *it = seq->vals[i];
        if (!ld_keys(l, it, "attribute value", keys))
            continue;
        cat_value *x = &v[n];
        x->pos = ld_pos(l, it);
        if (ld_id(l, it, "id", true, &x->id) || ld_str(l, it, "name", true, &x->name))
            continue;
        ld_money(l, it, "adder", false, &x->has_adder, &x->adder);
        n++;
    }
    LD_DUPS(l, v, n, cat_value, "attribute value");
    a->values = v;
    a->nvalues = n;
    if (seq->n == 0)
        ld_err(l, seq, "enum attribute '%s' needs at least one value", a->id);
}

static void ld_attr_bounds(ld *l, const yn *it, cat_attr *a)
{
    bool integer = a->type == CAT_ATTR_INTEGER;
    const char *keys[] = {"min", "max", "step"};
    bool *has[] = {&a->has_min, &a->has_max, &a->has_step};
    money_dec *val[] = {&a->min, &a->max, &a->step};
    for (int i = 0; i < 3; i++) {
        if (ld_decimal(l, it, keys[i], false, has[i], val[i]))
            continue;
        if (*has[i] && integer && val[i]->scale != 0) {
            ld_err(l, yn_get(it, keys[i]), "'%s' of integer attribute '%s' must be an integer",
                   keys[i], a->id);
            *has[i] = false;
        }
    }
    if (a->has_min && a->has_max && money_cmp(a->min, a->max) > 0)
        ld_err(l, yn_get(it, "max"), "attribute '%s': max is below min", a->id);
    if (a->has_step && money_sign(a->step) <= 0)
        ld_err(l, yn_get(it, "step"), "attribute '%s': step must be positive", a->id);
    if (a->has_step && !a->has_min)
        ld_err(l, yn_get(it, "step"), "attribute '%s': step needs min (values are min + k*step)",
               a->id);
}

static void ld_attr_pattern(ld *l, const yn *it, cat_attr *a)
{
    const yn *p = yn_get(it, "pattern");
    if (ld_str(l, it, "pattern", false, &a->pattern) || !a->pattern)
        return;
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)a->pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        ld_err(l, p, "invalid pattern for attribute '%s' at offset %zu: %s", a->id, (size_t)off,
               (const char *)msg);
        return;
    }
    cat_build *b = l->b;
    if (b->nregexes == b->capregexes) {
        size_t cap = b->capregexes ? b->capregexes * 2 : 16;
        void **r = realloc(b->regexes, cap * sizeof(void *));
        if (!r) {
            pcre2_code_free(re);
            l->rc = CPQD_ENOMEM;
            return;
        }
        b->regexes = r;
        b->capregexes = cap;
    }
    b->regexes[b->nregexes++] = re;
    a->re = re;
}

static int ld_attr_type(ld *l, const yn *it, cat_attr_type *t)
{
    static const char *const names[] = {"enum", "integer", "decimal", "text"};
    const char *s = NULL;
    if (ld_str(l, it, "type", true, &s) || !s)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *t = (cat_attr_type)i;
            return 0;
        }
    ld_err(l, yn_get(it, "type"), "attribute type must be enum, integer, decimal or text");
    return -1;
}

static int ld_attr(ld *l, const yn *it, cat_attr *a)
{
    static const char *const keys[] = {"id", "name", "type", "values", "min", "max", "step",
                                       "unit", "pattern", "max_length", "default", NULL};
    if (!ld_keys(l, it, "attribute", keys))
        return -1;
    a->pos = ld_pos(l, it);
    if (ld_id(l, it, "id", true, &a->id) || ld_str(l, it, "name", true, &a->name) ||
        ld_attr_type(l, it, &a->type))
        return -1;
    ld_str(l, it, "unit", false, &a->unit);
    const yn *vals = ld_seq(l, it, "values", a->type == CAT_ATTR_ENUM);
    if (vals && a->type != CAT_ATTR_ENUM)
        ld_err(l, vals, "'values' is only for enum attributes");
    else if (vals)
        ld_attr_values(l, vals, a);
    if (a->type == CAT_ATTR_INTEGER || a->type == CAT_ATTR_DECIMAL)
        ld_attr_bounds(l, it, a);
    else if (yn_get(it, "min") || yn_get(it, "max") || yn_get(it, "step"))
        ld_err(l, it, "min/max/step are only for integer and decimal attributes");
    long ml = 256;
    if (ld_int(l, it, "max_length", false, 1, 65536, &ml) == 0)
        a->max_length = (size_t)ml;
    if (a->type == CAT_ATTR_TEXT)
        ld_attr_pattern(l, it, a);
    else if (yn_get(it, "pattern"))
        ld_err(l, yn_get(it, "pattern"), "'pattern' is only for text attributes");
    const char *why = NULL;
    if (!ld_str(l, it, "default", false, &a->default_value) && a->default_value &&
        cat_attr_value_check(a, a->default_value, strlen(a->default_value), &why))
        ld_err(l, yn_get(it, "default"), "default '%.64s' of attribute '%s': %s",
               a->default_value, a->id, why);
    return 0;
}

static void ld_attrs(ld *l, const yn *seq)
{
    cat_attr *v = LD_ARRAY(l, seq->n, cat_attr);
    size_t n = 0;
    if (!v)
        return;
    for (size_t i = 0; i < seq->n; i++)
        if (ld_attr(l, seq->vals[i], &v[n]) == 0)
            n++;
    LD_DUPS(l, v, n, cat_attr, "attribute");
    l->cat->attrs = v;
    l->cat->nattrs = n;
}

/* ---- lookups by id ----
 * Catalogs imported from configuration benchmarks carry thousands of
 * attributes and hundreds of thousands of constraint literals; resolving
 * each id by a linear scan made loading quadratic (automotive02, 14,010
 * attributes and 237,685 clauses: 28 s). A list longer than LD_IX_MIN gets
 * a hash index on its first lookup, kept in l->cache until the file is
 * loaded; shorter lists are scanned, which costs nothing to set up. An
 * index keeps the first item of a duplicated id, as the scan did (the
 * duplicate itself is reported by ld_dups). If building an index runs out
 * of memory the lookup falls back to the scan: slower, same answer. */

#define LD_IX_MIN 8

typedef const char *(*ld_key_fn)(const void *items, size_t i);

typedef struct ld_ix {
    size_t *slot; /* item index + 1; 0: empty */
    size_t cap;   /* power of two; 0: not built */
} ld_ix;

typedef struct ld_pix { /* one product's indexes */
    ld_ix attrs, groups;
    ld_ix *options; /* per group: options by SKU */
    ld_ix *values;  /* per carried attribute: its allowed subset */
} ld_pix;

struct ld_cache {
    ld_ix attrs;        /* catalog attributes by id */
    ld_ix *attr_values; /* per catalog attribute: values by id */
    ld_pix *prods;      /* per product of the file */
};

static size_t ix_hash(const char *s, size_t n)
{
    uint64_t h = hash_fnv1a64(s, n);
    return (size_t)(h ^ (h >> 31));
}

static bool key_eq(const char *k, const char *s, size_t n)
{
    return k && strncmp(k, s, n) == 0 && k[n] == '\0';
}

static size_t ix_probe(const ld_ix *ix, const void *items, ld_key_fn key, const char *s, size_t n)
{
    size_t h = ix_hash(s, n) & (ix->cap - 1);
    while (ix->slot[h] && !key_eq(key(items, ix->slot[h] - 1), s, n))
        h = (h + 1) & (ix->cap - 1);
    return h;
}

/* Indexes items[0..n); false when out of memory. */
static bool ix_build(ld_ix *ix, const void *items, size_t n, ld_key_fn key)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    ix->slot = calloc(cap, sizeof(size_t));
    if (!ix->slot)
        return false;
    ix->cap = cap;
    for (size_t i = 0; i < n; i++) {
        const char *k = key(items, i);
        size_t h = k ? ix_probe(ix, items, key, k, strlen(k)) : 0;
        if (k && !ix->slot[h])
            ix->slot[h] = i + 1;
    }
    return true;
}

/* Position of the first item whose key is s[0..n), or SIZE_MAX. ix may be
 * NULL (scan). */
static size_t ld_lookup(ld_ix *ix, const void *items, size_t count, ld_key_fn key, const char *s,
                        size_t n)
{
    if (ix && !ix->cap && count > LD_IX_MIN)
        ix_build(ix, items, count, key);
    if (ix && ix->cap) {
        size_t h = ix_probe(ix, items, key, s, n);
        return ix->slot[h] ? ix->slot[h] - 1 : SIZE_MAX;
    }
    for (size_t i = 0; i < count; i++)
        if (key_eq(key(items, i), s, n))
            return i;
    return SIZE_MAX;
}

static const char *key_attr(const void *items, size_t i)
{
    return ((const cat_attr *)items)[i].id;
}

static const char *key_value(const void *items, size_t i)
{
    return ((const cat_value *)items)[i].id;
}

static const char *key_prod_attr(const void *items, size_t i)
{
    const cat_attr *a = ((const cat_prod_attr *)items)[i].attr;
    return a ? a->id : NULL;
}

static const char *key_group(const void *items, size_t i)
{
    return ((const cat_group *)items)[i].id;
}

static const char *key_option(const void *items, size_t i)
{
    return ((const cat_option *)items)[i].sku;
}

static const char *key_str(const void *items, size_t i)
{
    return ((const char *const *)items)[i];
}

/* The file's cache, allocated on first use; NULL without memory. */
static struct ld_cache *ld_cache_get(ld *l)
{
    if (!l->cache)
        l->cache = calloc(1, sizeof(*l->cache));
    return l->cache;
}

/* A calloc'ed array of n indexes kept in *slot, or NULL. */
static ld_ix *ix_array(ld_ix **slot, size_t n)
{
    if (!*slot && n)
        *slot = calloc(n, sizeof(ld_ix));
    return *slot;
}

static void ix_free_n(ld_ix *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].slot);
    free(v);
}

static void ld_cache_free(ld *l)
{
    struct ld_cache *c = l->cache;
    if (!c)
        return;
    free(c->attrs.slot);
    ix_free_n(c->attr_values, l->cat->nattrs);
    for (size_t i = 0; c->prods && i < l->cat->nproducts; i++) {
        ld_pix *p = &c->prods[i];
        free(p->attrs.slot);
        free(p->groups.slot);
        ix_free_n(p->options, l->cat->products[i].ngroups);
        ix_free_n(p->values, l->cat->products[i].nattrs);
    }
    free(c->prods);
    free(c);
    l->cache = NULL;
}

static const cat_attr *ld_find_attr(ld *l, const char *id)
{
    const cat_catalog *c = l->cat;
    struct ld_cache *k = ld_cache_get(l);
    size_t i = ld_lookup(k ? &k->attrs : NULL, c->attrs, c->nattrs, key_attr, id, strlen(id));
    return i == SIZE_MAX ? NULL : &c->attrs[i];
}

/* Value id of enum attribute a (an attribute of this catalog). */
static const cat_value *attr_value(ld *l, const cat_attr *a, const char *id, size_t len)
{
    struct ld_cache *k = ld_cache_get(l);
    size_t ai = (size_t)(a - l->cat->attrs);
    ld_ix *ix = k && ai < l->cat->nattrs ? ix_array(&k->attr_values, l->cat->nattrs) : NULL;
    size_t i = ld_lookup(ix ? &ix[ai] : NULL, a->values, a->nvalues, key_value, id, len);
    return i == SIZE_MAX ? NULL : &a->values[i];
}

/* Reports each later listing of an attribute a product already carries.
 * Sorting pairs keeps it O(n log n) for products with thousands. */
typedef struct ld_pa_key {
    const cat_attr *attr;
    size_t idx;
} ld_pa_key;

static int pa_key_cmp(const void *pa, const void *pb)
{
    const ld_pa_key *a = pa, *b = pb;
    if (a->attr != b->attr)
        return (uintptr_t)a->attr < (uintptr_t)b->attr ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static void ld_prod_attr_dups(ld *l, const cat_prod_attr *pa, size_t n)
{
    if (n < 2)
        return;
    ld_pa_key *k = malloc(n * sizeof(*k));
    if (!k) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (ld_pa_key){pa[i].attr, i};
    qsort(k, n, sizeof(*k), pa_key_cmp);
    for (size_t i = 1; i < n; i++)
        if (k[i].attr == k[i - 1].attr)
            ld_err_pos(l, pa[k[i].idx].pos, "attribute '%s' listed twice", k[i].attr->id);
    free(k);
}

/* ---- products: delivery ---- */

static int ld_period(ld *l, const yn *map, bool req, cat_period *out)
{
    static const char *const names[] = {"monthly", "quarterly", "yearly"};
    const char *s = NULL;
    *out = CAT_PERIOD_NONE;
    if (ld_str(l, map, "billing_period", req, &s) || !s)
        return req ? -1 : 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (cat_period)(i + 1);
            return 0;
        }
    ld_err(l, yn_get(map, "billing_period"), "billing_period must be monthly, quarterly or yearly");
    return -1;
}

static void ld_milestones(ld *l, const yn *seq, cat_delivery *d)
{
    static const char *const keys[] = {"id", "name", "percent", "amount", NULL};
    cat_milestone *m = LD_ARRAY(l, seq->n, cat_milestone);
    size_t n = 0, npercent = 0;
    money_dec sum = money_from_int(0);
    if (!m)
        return;
    for (size_t i = 0; i < seq->n; i++) {
        const yn *it = seq->vals[i];
        if (!ld_keys(l, it, "milestone", keys))
            continue;
        cat_milestone *x = &m[n];
        x->pos = ld_pos(l, it);
        bool hp = false, ha = false;
        if (ld_id(l, it, "id", true, &x->id) || ld_str(l, it, "name", true, &x->name) ||
            ld_percent(l, it, "percent", false, &hp, &x->percent) ||
            ld_money(l, it, "amount", false, &ha, &x->amount))
            continue;
        if (hp == ha) {
            ld_err(l, it, "milestone '%s' needs exactly one of 'percent' or 'amount'", x->id);
            continue;
        }
        x->is_percent = hp;
        if (hp && ++npercent && money_add(sum, x->percent, &sum))
            l->rc = CPQD_ERANGE;
        n++;
    }
    LD_DUPS(l, m, n, cat_milestone, "milestone");
    if (seq->n == 0)
        ld_err(l, seq, "milestone delivery needs at least one milestone");
    if (npercent == n && n > 0 && money_cmp(sum, money_from_int(100)) != 0)
        ld_err(l, seq, "milestone percents add up to %lld/10^%d, not 100", (long long)sum.coef,
               sum.scale);
    d->milestones = m;
    d->nmilestones = n;
}

static void ld_delivery(ld *l, const yn *dn, cat_delivery *d)
{
    static const char *const keys[] = {
        "mode", "lead_time_days", "payment_term", "service_items", "acceptance_days",
        "billing_period", "term_months", "billing", "auto_renew", "metered_unit",
        "minimum_commitment", "milestones", "bill_day", NULL};
    const char *mode = NULL;
    d->lead_time_days = d->acceptance_days = -1;
    if (!ld_keys(l, dn, "delivery", keys) || ld_str(l, dn, "mode", true, &mode) || !mode)
        return;
    /* names and the keys each mode accepts: the table in cat.c */
    if (cat_mode_parse(mode, strlen(mode), &d->mode) != 0) {
        char all[160];
        ld_err(l, yn_get(dn, "mode"), "delivery mode must be one of %s",
               cat_mode_list(all, sizeof(all)));
        return;
    }
    for (size_t i = 0; i < dn->n; i++) {
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], dn->keys[i]->str) != 0)
            k++;
        if (keys[k] && !cat_mode_accepts(d->mode, keys[k])) /* unknown keys: ld_keys said so */
            ld_err(l, dn->keys[i], "'%s' does not apply to delivery mode %s", keys[k], mode);
    }
    long v = 0;
    if (!ld_int(l, dn, "lead_time_days", false, 0, 3650, &v) && yn_get(dn, "lead_time_days"))
        d->lead_time_days = (int)v;
    if (!ld_int(l, dn, "acceptance_days", false, 0, 3650, &v) && yn_get(dn, "acceptance_days"))
        d->acceptance_days = (int)v;
    ld_id(l, dn, "payment_term", false, &d->payment_term);
    ld_strlist(l, dn, "service_items", LIST_SKU, &d->service_items, &d->nservice_items);
    if (d->mode == CAT_MODE_GOODS_WITH_SERVICE && !yn_get(dn, "service_items"))
        ld_err(l, dn, "goods_with_service delivery needs 'service_items'");
    ld_period(l, dn, d->mode == CAT_MODE_SUBSCRIPTION || d->mode == CAT_MODE_USAGE,
              &d->billing_period);
    if (d->mode == CAT_MODE_SUBSCRIPTION && !ld_int(l, dn, "term_months", true, 1, 1200, &v))
        d->term_months = (int)v;
    /* calendar-month billing (docs/receivables.md "Partial first period") */
    if (!ld_int(l, dn, "bill_day", false, 0, 31, &v) && yn_get(dn, "bill_day"))
        d->bill_day = (int)v;
    const char *billing = NULL;
    if (!ld_str(l, dn, "billing", false, &billing) && billing) {
        d->in_arrears = strcmp(billing, "in_arrears") == 0;
        if (!d->in_arrears && strcmp(billing, "in_advance") != 0)
            ld_err(l, yn_get(dn, "billing"), "billing must be in_advance or in_arrears");
    }
    if (d->mode == CAT_MODE_USAGE)
        d->in_arrears = true;
    ld_bool(l, dn, "auto_renew", false, &d->auto_renew);
    ld_str(l, dn, "metered_unit", d->mode == CAT_MODE_USAGE, &d->metered_unit);
    ld_money(l, dn, "minimum_commitment", false, &d->has_minimum_commitment,
             &d->minimum_commitment);
    const yn *ms = ld_seq(l, dn, "milestones", d->mode == CAT_MODE_MILESTONE);
    if (ms)
        ld_milestones(l, ms, d);
}

/* ---- products: attributes carried ---- */

static void ld_prod_attr_adders(ld *l, const yn *map, const cat_attr *a, cat_prod_attr *pa)
{
    if (!ld_is(l, map, YN_MAP, "adders"))
        return;
    cat_value *v = LD_ARRAY(l, map->n, cat_value);
    if (!v)
        return;
    for (size_t i = 0; i < map->n; i++) {
        const yn *k = map->keys[i];
        v[i].id = ld_dup(l, k);
        v[i].pos = ld_pos(l, k);
        v[i].has_adder = true;
        if (a->type != CAT_ATTR_ENUM || !attr_value(l, a, k->str, k->len))
            ld_err(l, k, "attribute '%s' has no value '%.64s'", a->id, k->str);
        ld_money_node(l, map->vals[i], "adder", l->minor, l->cat->currency, &v[i].adder);
    }
    pa->adders = v;
    pa->nadders = map->n;
}

static int ld_prod_attr(ld *l, const yn *it, cat_prod_attr *pa)
{
    static const char *const keys[] = {"ref", "default", "values", "adders", "required", NULL};
    const char *ref = NULL, *why = NULL;
    if (!ld_keys(l, it, "product attribute", keys) || ld_id(l, it, "ref", true, &ref) || !ref)
        return -1;
    pa->pos = ld_pos(l, it);
    pa->attr = ld_find_attr(l, ref);
    if (!pa->attr) {
        ld_err(l, yn_get(it, "ref"), "unknown attribute '%s'", ref);
        return -1;
    }
    const cat_attr *a = pa->attr;
    ld_bool(l, it, "required", false, &pa->required);
    ld_strlist(l, it, "values", LIST_ID, &pa->values, &pa->nvalues);
    if (yn_get(it, "values") && a->type != CAT_ATTR_ENUM)
        ld_err(l, yn_get(it, "values"), "'values' restricts enum attributes only");
    for (size_t i = 0; i < pa->nvalues && a->type == CAT_ATTR_ENUM; i++)
        if (!attr_value(l, a, pa->values[i], strlen(pa->values[i])))
            ld_err(l, yn_get(it, "values")->vals[i], "attribute '%s' has no value '%s'", a->id,
                   pa->values[i]);
    if (yn_get(it, "adders"))
        ld_prod_attr_adders(l, yn_get(it, "adders"), a, pa);
    ld_str(l, it, "default", false, &pa->default_value);
    if (pa->default_value && cat_attr_value_check(a, pa->default_value, strlen(pa->default_value), &why))
        ld_err(l, yn_get(it, "default"), "default '%.64s' of attribute '%s': %s",
               pa->default_value, a->id, why);
    if (!pa->default_value)
        pa->default_value = a->default_value;
    return 0;
}

/* ---- products: BOM groups ---- */

static void ld_option_qty(ld *l, const yn *q, cat_option *o)
{
    static const char *const keys[] = {"min", "max", "default", NULL};
    if (q->type == YN_SCALAR) {
        if (ld_decimal_node(l, q, "qty", &o->qty) == 0 && money_sign(o->qty) <= 0)
            ld_err(l, q, "option quantity must be positive");
        return;
    }
    if (!ld_keys(l, q, "qty", keys))
        return;
    o->ranged = true;
    bool hd = false;
    if (ld_decimal(l, q, "min", true, NULL, &o->qty_min) ||
        ld_decimal(l, q, "max", true, NULL, &o->qty_max) ||
        ld_decimal(l, q, "default", false, &hd, &o->qty))
        return;
    if (!hd)
        o->qty = o->qty_min;
    if (money_sign(o->qty_min) < 0 || money_cmp(o->qty_min, o->qty_max) > 0 ||
        money_sign(o->qty_max) <= 0)
        ld_err(l, q, "quantity range needs 0 <= min <= max and max > 0");
    else if (money_cmp(o->qty, o->qty_min) < 0 || money_cmp(o->qty, o->qty_max) > 0)
        ld_err(l, yn_get(q, "default"), "default quantity is outside min..max");
}

static int ld_option(ld *l, const yn *it, cat_option *o)
{
    static const char *const keys[] = {"sku", "qty", "default", NULL};
    if (!ld_keys(l, it, "option", keys) || ld_sku(l, it, "sku", true, &o->sku) || !o->sku)
        return -1;
    o->pos = ld_pos(l, it);
    o->qty = money_from_int(1);
    if (yn_get(it, "qty"))
        ld_option_qty(l, yn_get(it, "qty"), o);
    ld_bool(l, it, "default", false, &o->is_default);
    return 0;
}

static int ld_group(ld *l, const yn *it, cat_group *g)
{
    static const char *const keys[] = {"id", "name", "min", "max", "options", NULL};
    if (!ld_keys(l, it, "group", keys))
        return -1;
    g->pos = ld_pos(l, it);
    long mn = 0, mx = 1;
    if (ld_id(l, it, "id", true, &g->id) || ld_str(l, it, "name", true, &g->name) ||
        ld_int(l, it, "min", false, 0, 10000, &mn) || ld_int(l, it, "max", false, 1, 10000, &mx))
        return -1;
    g->min = (unsigned)mn;
    g->max = (unsigned)mx;
    if (mn > mx)
        ld_err(l, it, "group '%s': min %ld is above max %ld", g->id, mn, mx);
    const yn *opts = ld_seq(l, it, "options", true);
    if (!opts)
        return -1;
    cat_option *o = LD_ARRAY(l, opts->n, cat_option);
    if (!o)
        return -1;
    size_t n = 0, ndefault = 0;
    for (size_t i = 0; i < opts->n; i++)
        if (ld_option(l, opts->vals[i], &o[n]) == 0)
            ndefault += o[n++].is_default;
    LD_DUPS(l, o, n, cat_option, "option");
    if (opts->n == 0)
        ld_err(l, opts, "group '%s' has no options", g->id);
    if ((size_t)mn > n && n == opts->n)
        ld_err(l, it, "group '%s' needs at least %ld options but has %zu", g->id, mn, n);
    if (ndefault > (size_t)mx)
        ld_err(l, it, "group '%s' has %zu default options but max is %ld", g->id, ndefault, mx);
    g->options = o;
    g->noptions = n;
    return 0;
}

/* ---- products: constraints (decoded here, resolved in ld_resolve) ---- */

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Splits "a, b, c" into trimmed values in the arena. */
static int ld_split_values(ld *l, const char *s, const char *e, cat_literal *lit)
{
    size_t cap = 1;
    for (const char *p = s; p < e; p++)
        cap += *p == ',';
    const char **v = arena_calloc(l->a, cap, sizeof(char *));
    if (!v)
        return l->rc = CPQD_ENOMEM;
    size_t n = 0;
    while (s <= e) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *ve = c ? c : e, *vs = s;
        trim(&vs, &ve);
        if (vs == ve)
            return -1;
        v[n++] = arena_strndup(l->a, vs, (size_t)(ve - vs));
        if (!c)
            break;
        s = c + 1;
    }
    lit->values = v;
    lit->nvalues = n;
    return 0;
}

/* Parses "PATH = V", "PATH != V" or "PATH in [V, ...]". */
static int ld_literal(ld *l, const yn *n, cat_literal *lit)
{
    if (!ld_is(l, n, YN_SCALAR, "literal"))
        return -1;
    const char *s = n->str, *e = s + n->len, *op = NULL, *ve = e;
    lit->pos = ld_pos(l, n);
    const char *in = strstr(s, " in ");
    const char *eq = strchr(s, '=');
    if (in && (!eq || in < eq)) {
        lit->op = CAT_LIT_IN;
        op = in;
        const char *vs = in + 4;
        while (vs < e && *vs == ' ')
            vs++;
        if (vs >= e || *vs != '[' || e[-1] != ']')
            goto bad;
        if (ld_split_values(l, vs + 1, e - 1, lit))
            goto bad;
    } else if (eq) {
        lit->op = eq > s && eq[-1] == '!' ? CAT_LIT_NE : CAT_LIT_EQ;
        op = lit->op == CAT_LIT_NE ? eq - 1 : eq;
        const char *vs = eq + 1;
        trim(&vs, &ve);
        if (vs == ve || memchr(vs, ',', (size_t)(ve - vs)))
            goto bad;
        const char **v = arena_calloc(l->a, 1, sizeof(char *));
        if (!v)
            return l->rc = CPQD_ENOMEM;
        v[0] = arena_strndup(l->a, vs, (size_t)(ve - vs));
        lit->values = v;
        lit->nvalues = 1;
    } else {
        goto bad;
    }
    const char *ps = s, *pe = op;
    trim(&ps, &pe);
    if (ps == pe || memchr(ps, ' ', (size_t)(pe - ps)))
        goto bad;
    lit->path = arena_strndup(l->a, ps, (size_t)(pe - ps));
    return 0;
bad:
    ld_err(l, n, "malformed literal '%.100s' (expected 'PATH = VALUE', 'PATH != VALUE' or "
                 "'PATH in [V1, V2]')", n->str);
    return -1;
}

static int ld_literals(ld *l, const yn *n, cat_literal *out, size_t *count)
{
    if (n->type == YN_SCALAR) {
        if (ld_literal(l, n, &out[*count]))
            return -1;
        (*count)++;
        return 0;
    }
    if (!ld_is(l, n, YN_SEQ, "literal list"))
        return -1;
    for (size_t i = 0; i < n->n; i++)
        if (ld_literal(l, n->vals[i], &out[*count]) == 0)
            (*count)++;
    return n->n ? 0 : -1;
}

static size_t lit_count(const yn *n)
{
    return !n ? 0 : n->type == YN_SEQ ? n->n : 1;
}

static int ld_con_table(ld *l, const yn *t, cat_constraint *c)
{
    static const char *const keys[] = {"vars", "allowed", "forbidden", NULL};
    if (!ld_keys(l, t, "table", keys))
        return -1;
    ld_strlist(l, t, "vars", LIST_TEXT, &c->vars, &c->nvars);
    const yn *rows = yn_get(t, "allowed");
    c->forbidden = rows == NULL;
    if (!rows)
        rows = yn_get(t, "forbidden");
    if (!c->nvars || !rows || (yn_get(t, "allowed") && yn_get(t, "forbidden"))) {
        ld_err(l, t, "table needs 'vars' and exactly one of 'allowed' or 'forbidden'");
        return -1;
    }
    if (!ld_is(l, rows, YN_SEQ, "table rows"))
        return -1;
    size_t total;
    if (__builtin_mul_overflow(rows->n, c->nvars, &total) || total > LD_MAX_ITEMS) {
        ld_err(l, rows, "table too large");
        return -1;
    }
    const char **cells = arena_calloc(l->a, total ? total : 1, sizeof(char *));
    if (!cells)
        return l->rc = CPQD_ENOMEM;
    for (size_t r = 0; r < rows->n; r++) {
        const yn *row = rows->vals[r];
        if (!ld_is(l, row, YN_SEQ, "table row"))
            return -1;
        if (row->n != c->nvars) {
            ld_err(l, row, "table row has %zu values for %zu vars", (size_t)row->n, c->nvars);
            return -1;
        }
        for (size_t k = 0; k < c->nvars; k++) {
            if (!ld_is(l, row->vals[k], YN_SCALAR, "table cell"))
                return -1;
            cells[r * c->nvars + k] = ld_dup(l, row->vals[k]);
        }
    }
    c->cells = cells;
    c->nrows = rows->n;
    return 0;
}

static int ld_con_quantity(ld *l, const yn *q, cat_constraint *c)
{
    static const char *const keys[] = {"path", "min", "max", NULL};
    bool hmin = false, hmax = false;
    if (!ld_keys(l, q, "quantity", keys) || ld_str(l, q, "path", true, &c->qty_path) ||
        ld_decimal(l, q, "min", false, &hmin, &c->qty_min) ||
        ld_decimal(l, q, "max", false, &hmax, &c->qty_max))
        return -1;
    if (!hmin)
        c->qty_min = money_from_int(0);
    if (!hmax) {
        ld_err(l, q, "quantity constraint needs 'max'");
        return -1;
    }
    if (money_sign(c->qty_min) < 0 || money_cmp(c->qty_min, c->qty_max) > 0) {
        ld_err(l, q, "quantity constraint needs 0 <= min <= max");
        return -1;
    }
    return 0;
}

static int ld_constraint(ld *l, const yn *it, cat_constraint *c)
{
    static const char *const keys[] = {"id", "description", "requires", "excludes", "table",
                                       "if", "then", "quantity", NULL};
    static const char *const kinds[] = {"requires", "excludes", "table", "if", "quantity"};
    if (!ld_keys(l, it, "constraint", keys) || ld_id(l, it, "id", true, &c->id))
        return -1;
    c->pos = ld_pos(l, it);
    ld_str(l, it, "description", false, &c->description);
    int nk = 0;
    for (int k = 0; k < 5; k++)
        if (yn_get(it, kinds[k])) {
            c->kind = (cat_constraint_kind)k;
            nk++;
        }
    if (nk != 1) {
        ld_err(l, it, "constraint '%s' needs exactly one of requires, excludes, table, if/then, "
                      "quantity", c->id ? c->id : "?");
        return -1;
    }
    if ((c->kind == CAT_CON_IF) != (yn_get(it, "then") != NULL)) {
        ld_err(l, it, "'if' and 'then' go together");
        return -1;
    }
    const yn *body = yn_get(it, kinds[c->kind]);
    if (c->kind == CAT_CON_TABLE)
        return ld_con_table(l, body, c);
    if (c->kind == CAT_CON_QUANTITY)
        return ld_con_quantity(l, body, c);
    static const char *const rkeys[] = {"if", "then", NULL};
    const yn *a = body, *b = NULL;
    if (c->kind == CAT_CON_REQUIRES) {
        if (!ld_keys(l, body, "requires", rkeys) || !ld_req(l, body, "if", "requires") ||
            !ld_req(l, body, "then", "requires"))
            return -1;
        a = yn_get(body, "if");
        b = yn_get(body, "then");
    } else if (c->kind == CAT_CON_IF) {
        b = yn_get(it, "then");
    }
    size_t cap = lit_count(a) + lit_count(b);
    cat_literal *lits = arena_calloc(l->a, cap ? cap : 1, sizeof(*lits));
    if (!lits)
        return l->rc = CPQD_ENOMEM;
    size_t n = 0;
    int rc = ld_literals(l, a, lits, &n);
    c->nif = n;
    if (b && ld_literals(l, b, lits, &n))
        rc = -1;
    /* One literal is a valid excludes ("not L"): DIMACS unit clauses need it. */
    if (c->kind == CAT_CON_EXCLUDES && n == 0 && lit_count(body) == 0) {
        ld_err(l, body, "excludes needs at least one literal");
        rc = -1;
    }
    if (c->kind != CAT_CON_IF && c->kind != CAT_CON_REQUIRES)
        c->nif = 0;
    c->lits = lits;
    c->nlits = n;
    return rc;
}

/* ---- products ---- */

/* Decodes list `key` of map with fn into a new array of n items. */
/* An optional payment_term: key (a term id, resolved after the file's
 * sections are read); *pos gets the value's position for errors. */
static void ld_term_ref(ld *l, const yn *map, const char **out, cat_pos *pos)
{
    const yn *v = yn_get(map, "payment_term");
    *pos = ld_pos(l, v ? v : map);
    ld_id(l, map, "payment_term", false, out);
}

#define LD_LIST(l, map, key, req, type, fn, out, nout)                        \
    do {                                                                      \
        const yn *seq_ = ld_seq((l), (map), (key), (req));                    \
        type *arr_ = seq_ ? LD_ARRAY((l), seq_->n, type) : NULL;              \
        size_t n_ = 0;                                                        \
        for (size_t i_ = 0; arr_ && i_ < seq_->n; i_++)                       \
            if (fn((l), seq_->vals[i_], &arr_[n_]) == 0)                      \
                n_++;                                                         \
        (out) = arr_;                                                         \
        (nout) = n_;                                                          \
    } while (0)

/* One bound of `quantity` (min, max or step) given in q: a decimal of
 * at most CAT_QTY_MAX_SCALE places within 0..CAT_QTY_MAX (step: above
 * 0). Keeps *out when absent. */
static void ld_qty_bound(ld *l, const yn *q, const char *key, money_dec *out)
{
    bool has = false;
    money_dec v, n;
    if (ld_decimal(l, q, key, false, &has, &v) || !has)
        return;
    bool step = !strcmp(key, "step");
    if (money_normalize(v, &n) != 0 || n.scale > CAT_QTY_MAX_SCALE || money_sign(n) < 0 ||
        (step && money_sign(n) == 0) || money_cmp(n, money_from_int(CAT_QTY_MAX)) > 0) {
        ld_err(l, yn_get(q, key),
               "quantity '%s' must be a decimal %s %lld with at most %d decimal places, not "
               "'%.32s'",
               key, step ? "above 0 and at most" : "from 0 to", (long long)CAT_QTY_MAX,
               CAT_QTY_MAX_SCALE, yn_get(q, key)->str);
        return;
    }
    *out = n;
}

/* `quantity: {min, max, step}` (docs/catalog.md "Quantities"); absent
 * keys take the mode's defaults, and a discrete product's min defaults to
 * its step. */
static void ld_quantity(ld *l, const yn *it, cat_product *p)
{
    static const char *const keys[] = {"min", "max", "step", NULL};
    const yn *q = yn_get(it, "quantity");
    cat_qty_rule *r = &p->quantity;
    *r = cat_qty_default(p->delivery.mode);
    if (!q || !ld_keys(l, q, "quantity", keys))
        return;
    r->set = true;
    ld_qty_bound(l, q, "step", &r->step);
    if (p->delivery.mode != CAT_MODE_USAGE)
        r->min = r->step;
    ld_qty_bound(l, q, "min", &r->min);
    ld_qty_bound(l, q, "max", &r->max);
    if (money_cmp(r->min, r->max) > 0)
        ld_err(l, q, "quantity needs min <= max");
}

static int ld_product(ld *l, const yn *it, cat_product *p)
{
    static const char *const keys[] = {
        "sku",      "name",       "category", "uom",         "tax_class", "description", "sellable",
        "delivery", "attributes", "groups",   "constraints", "formula",   "quantity",    NULL};
    if (!ld_keys(l, it, "product", keys))
        return -1;
    p->pos = ld_pos(l, it);
    p->catalog = l->cat;
    if (ld_sku(l, it, "sku", true, &p->sku) || !p->sku)
        return -1;
    ld_str(l, it, "name", true, &p->name);
    ld_id(l, it, "category", true, &p->category);
    ld_str(l, it, "uom", false, &p->uom);
    if (!p->uom)
        p->uom = "EA";
    ld_str(l, it, "description", false, &p->description);
    ld_bool(l, it, "sellable", true, &p->sellable);
    ld_str(l, it, "formula", false, &p->formula);
    if (!ld_id(l, it, "tax_class", false, &p->tax_class) && p->tax_class &&
        !ld_tax_class(l->cat, p->tax_class))
        ld_err(l, yn_get(it, "tax_class"), "unknown tax class '%s'", p->tax_class);
    const yn *d = ld_req(l, it, "delivery", "product");
    if (d)
        ld_delivery(l, d, &p->delivery);
    ld_quantity(l, it, p);
    cat_prod_attr *pa;
    cat_group *g;
    cat_constraint *c;
    LD_LIST(l, it, "attributes", false, cat_prod_attr, ld_prod_attr, pa, p->nattrs);
    LD_LIST(l, it, "groups", false, cat_group, ld_group, g, p->ngroups);
    LD_LIST(l, it, "constraints", false, cat_constraint, ld_constraint, c, p->nconstraints);
    p->attrs = pa;
    p->groups = g;
    p->constraints = c;
    LD_DUPS(l, g, p->ngroups, cat_group, "group");
    LD_DUPS(l, c, p->nconstraints, cat_constraint, "constraint");
    ld_prod_attr_dups(l, pa, p->nattrs);
    return 0;
}

/* ---- price books ---- */

static int ld_tiers(ld *l, const yn *t, int max_scale, cat_pb_entry *e)
{
    static const char *const keys[] = {"type", "block_size", "bands", NULL};
    static const char *const types[] = {"volume", "graduated", "block", "package"};
    const char *type = NULL;
    if (!ld_keys(l, t, "tiers", keys) || ld_str(l, t, "type", true, &type) || !type)
        return -1;
    int k = 0;
    while (k < 4 && strcmp(types[k], type) != 0)
        k++;
    if (k == 4) {
        ld_err(l, yn_get(t, "type"), "tier type must be volume, graduated, block or package");
        return -1;
    }
    e->tier_type = (cat_tier_type)k;
    long bs = 0;
    bool blocky = e->tier_type == CAT_TIER_BLOCK || e->tier_type == CAT_TIER_PACKAGE;
    if (ld_int(l, t, "block_size", blocky, 1, 1000000000, &bs))
        return -1;
    if (!blocky && yn_get(t, "block_size"))
        ld_err(l, yn_get(t, "block_size"), "block_size is only for block and package tiers");
    e->block_size = (unsigned)bs;
    const yn *bands = ld_seq(l, t, "bands", true);
    if (!bands)
        return -1;
    static const char *const bkeys[] = {"from", "price", NULL};
    cat_tier_band *b = LD_ARRAY(l, bands->n, cat_tier_band);
    if (!b)
        return -1;
    for (size_t i = 0; i < bands->n; i++) {
        const yn *it = bands->vals[i];
        if (!ld_keys(l, it, "tier band", bkeys) || ld_decimal(l, it, "from", true, NULL, &b[i].from))
            return -1;
        const yn *pr = ld_req(l, it, "price", "tier band");
        if (!pr || ld_money_node(l, pr, "price", max_scale, "this entry", &b[i].price))
            return -1;
        if (i == 0 && money_cmp(b[i].from, money_from_int(1)) > 0)
            ld_err(l, it, "the first tier band must start at 0 or 1");
        if (i > 0 && money_cmp(b[i].from, b[i - 1].from) <= 0)
            ld_err(l, it, "tier bands must start at increasing quantities");
    }
    if (bands->n == 0)
        ld_err(l, bands, "tiers need at least one band");
    e->bands = b;
    e->nbands = bands->n;
    e->has_tiers = true;
    return 0;
}

/* `bounds: unit | base` (what floor and ceiling bound), def if absent. */
static void ld_bounds(ld *l, const yn *map, cat_bounds def, cat_bounds *out)
{
    const char *v = NULL;
    *out = def;
    if (ld_str(l, map, "bounds", false, &v) || !v)
        return;
    if (!strcmp(v, "base"))
        *out = CAT_BOUNDS_BASE;
    else if (!strcmp(v, "unit"))
        *out = CAT_BOUNDS_UNIT;
    else
        ld_err(l, yn_get(map, "bounds"),
               "bounds must be unit (the price per unit with its options) or base (the base "
               "price)");
}

static int ld_entry(ld *l, const yn *it, const cat_price_book *pb, int minor, cat_pb_entry *e)
{
    static const char *const keys[] = {"sku",        "list",      "floor", "ceiling",
                                       "cost",       "valid_from", "valid_to", "unit_price",
                                       "tiers",      "bounds",    NULL};
    if (!ld_keys(l, it, "price-book entry", keys) || ld_sku(l, it, "sku", true, &e->sku))
        return -1;
    e->pos = ld_pos(l, it);
    ld_bounds(l, it, pb->bounds, &e->bounds);
    ld_bool(l, it, "unit_price", false, &e->unit_price);
    int ms = e->unit_price ? 6 : minor;
    const char *names[] = {"list", "floor", "ceiling", "cost"};
    money_dec *vals[] = {&e->list, &e->floor, &e->ceiling, &e->cost};
    bool *has[] = {NULL, &e->has_floor, &e->has_ceiling, &e->has_cost};
    for (int i = 0; i < 4; i++) {
        const yn *v = i == 0 ? ld_req(l, it, "list", "price-book entry") : yn_get(it, names[i]);
        if (v && ld_money_node(l, v, names[i], ms, pb->currency, vals[i]) == 0 && has[i])
            *has[i] = true;
        if (v && money_sign(*vals[i]) < 0)
            ld_err(l, v, "'%s' must not be negative", names[i]);
    }
    if (e->has_floor && money_cmp(e->floor, e->list) > 0)
        ld_err(l, yn_get(it, "floor"), "floor is above the list price");
    if (e->has_ceiling && money_cmp(e->ceiling, e->list) < 0)
        ld_err(l, yn_get(it, "ceiling"), "ceiling is below the list price");
    bool hf = false;
    e->valid_from = pb->valid_from;
    e->has_valid_to = pb->has_valid_to;
    e->valid_to = pb->valid_to;
    ld_date(l, it, "valid_from", false, &hf, &e->valid_from);
    bool ht = false;
    date_days to = 0;
    if (!ld_date(l, it, "valid_to", false, &ht, &to) && ht) {
        e->has_valid_to = true;
        e->valid_to = to;
    }
    if (e->has_valid_to && e->valid_to < e->valid_from)
        ld_err(l, it, "entry for %s ends (valid_to) before it starts (valid_from)", e->sku);
    if ((hf && e->valid_from < pb->valid_from) ||
        (pb->has_valid_to && (!e->has_valid_to || e->valid_to > pb->valid_to)))
        ld_err(l, it, "entry for %s is valid outside its book's window", e->sku);
    if (yn_get(it, "tiers"))
        ld_tiers(l, yn_get(it, "tiers"), ms, e);
    return 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const cat_pb_entry *a = *(const cat_pb_entry *const *)pa, *b = *(const cat_pb_entry *const *)pb;
    int c = strcmp(a->sku, b->sku);
    if (c)
        return c;
    return (a->valid_from > b->valid_from) - (a->valid_from < b->valid_from);
}

/* Two entries of one book for the same SKU must not be valid on the same day. */
static void ld_entry_overlaps(ld *l, const cat_pb_entry *e, size_t n)
{
    const cat_pb_entry **s = malloc((n ? n : 1) * sizeof(*s));
    if (!s) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = &e[i];
    qsort(s, n, sizeof(*s), entry_cmp);
    for (size_t i = 1; i < n; i++) {
        const cat_pb_entry *a = s[i - 1], *b = s[i];
        if (strcmp(a->sku, b->sku) == 0 && (!a->has_valid_to || a->valid_to >= b->valid_from))
            ld_err_pos(l, b->pos, "price-book entry for %s overlaps the entry at line %u",
                       b->sku, a->pos.line);
    }
    free(s);
}

static int ld_audience(ld *l, const yn *it, cat_price_book *pb)
{
    static const char *const keys[] = {"segment", "partner", "customer", NULL};
    const yn *a = yn_get(it, "audience");
    pb->audience = CAT_AUD_ALL;
    if (!a || (a->type == YN_SCALAR && strcmp(a->str, "all") == 0))
        return 0;
    if (a->type == YN_SCALAR || !ld_keys(l, a, "audience", keys) || a->n != 1) {
        ld_err(l, a, "audience must be 'all', {segment: ID}, {partner: ID} or {customer: ID}");
        return -1;
    }
    pb->audience = yn_get(a, "segment")   ? CAT_AUD_SEGMENT
                   : yn_get(a, "partner") ? CAT_AUD_PARTNER
                                          : CAT_AUD_CUSTOMER;
    return ld_id(l, a, cat_audience_name(pb->audience), true, &pb->audience_id);
}

static int ld_book(ld *l, const yn *it, cat_price_book *pb)
{
    static const char *const keys[] = {"id", "name", "currency", "valid_from", "valid_to",
                                       "audience", "rounding", "out_of_range", "bounds",
                                       "entries", "payment_term", NULL};
    if (!ld_keys(l, it, "price book", keys) || ld_id(l, it, "id", true, &pb->id))
        return -1;
    pb->pos = ld_pos(l, it);
    ld_term_ref(l, it, &pb->payment_term, &pb->payment_term_pos);
    pb->catalog = l->cat;
    int minor = 2;
    ld_str(l, it, "name", true, &pb->name);
    if (ld_currency(l, it, "currency", pb->currency, &minor))
        return -1;
    ld_date(l, it, "valid_from", true, NULL, &pb->valid_from);
    ld_date(l, it, "valid_to", false, &pb->has_valid_to, &pb->valid_to);
    if (pb->has_valid_to && pb->valid_to < pb->valid_from)
        ld_err(l, yn_get(it, "valid_to"), "price book '%s' ends (valid_to) before it starts "
                                          "(valid_from)", pb->id);
    ld_audience(l, it, pb);
    ld_rounding(l, it, "rounding", l->cat->rounding, &pb->rounding);
    const char *oor = NULL;
    if (!ld_str(l, it, "out_of_range", false, &oor) && oor) {
        pb->clamp = strcmp(oor, "clamp") == 0;
        if (!pb->clamp && strcmp(oor, "approval") != 0)
            ld_err(l, yn_get(it, "out_of_range"), "out_of_range must be clamp or approval");
    }
    ld_bounds(l, it, CAT_BOUNDS_UNIT, &pb->bounds);
    const yn *es = ld_seq(l, it, "entries", true);
    if (!es)
        return 0;
    cat_pb_entry *e = LD_ARRAY(l, es->n, cat_pb_entry);
    size_t n = 0;
    for (size_t i = 0; e && i < es->n; i++)
        if (ld_entry(l, es->vals[i], pb, minor, &e[n]) == 0)
            n++;
    ld_entry_overlaps(l, e, n);
    pb->entries = e;
    pb->nentries = n;
    return 0;
}

/* ---- promotions ---- */

static int ld_effect(ld *l, const yn *ef, cat_promotion *p)
{
    static const char *const keys[] = {"percent_off", "amount_off", "special_price", "free_item",
                                       "bundle_price", NULL};
    if (!ld_keys(l, ef, "effect", keys))
        return -1;
    if (ef->n != 1) {
        ld_err(l, ef, "effect needs exactly one of percent_off, amount_off, special_price, "
                      "free_item, bundle_price");
        return -1;
    }
    int k = 0;
    while (keys[k] && strcmp(keys[k], ef->keys[0]->str) != 0)
        k++;
    if (!keys[k])
        return -1; /* an unknown key: ld_keys reported it */
    p->effect = (cat_effect)k;
    if (p->effect == CAT_EFF_PERCENT_OFF)
        return ld_percent(l, ef, "percent_off", true, NULL, &p->effect_value);
    if (p->effect != CAT_EFF_FREE_ITEM)
        return ld_money(l, ef, keys[k], true, NULL, &p->effect_value);
    static const char *const fkeys[] = {"sku", "qty", NULL};
    const yn *fi = ef->vals[0];
    if (!ld_keys(l, fi, "free_item", fkeys) || ld_sku(l, fi, "sku", true, &p->free_sku))
        return -1;
    p->free_qty = money_from_int(1);
    if (ld_decimal(l, fi, "qty", false, NULL, &p->free_qty) == 0 && money_sign(p->free_qty) <= 0)
        ld_err(l, yn_get(fi, "qty"), "free item quantity must be positive");
    return 0;
}

static void ld_eligibility(ld *l, const yn *el, cat_promotion *p)
{
    static const char *const keys[] = {"skus", "categories", "segments", "channels",
                                       "min_quantity", "min_amount", "coupon", NULL};
    if (!ld_keys(l, el, "eligibility", keys))
        return;
    ld_strlist(l, el, "skus", LIST_SKU, &p->skus, &p->nskus);
    ld_strlist(l, el, "categories", LIST_ID, &p->categories, &p->ncategories);
    ld_strlist(l, el, "segments", LIST_ID, &p->segments, &p->nsegments);
    ld_strlist(l, el, "channels", LIST_ID, &p->channels, &p->nchannels);
    ld_decimal(l, el, "min_quantity", false, &p->has_min_quantity, &p->min_quantity);
    ld_money(l, el, "min_amount", false, &p->has_min_amount, &p->min_amount);
    ld_str(l, el, "coupon", false, &p->coupon);
}

static void ld_stacking(ld *l, const yn *st, cat_promotion *p)
{
    static const char *const keys[] = {"group", "priority", "exclusive", "best", NULL};
    long prio = 0;
    if (!ld_keys(l, st, "stacking", keys))
        return;
    ld_id(l, st, "group", false, &p->stack_group);
    if (!ld_int(l, st, "priority", false, -1000000, 1000000, &prio))
        p->priority = (int)prio;
    ld_bool(l, st, "exclusive", false, &p->exclusive);
    ld_bool(l, st, "best", false, &p->best);
    if (p->exclusive && p->best)
        ld_err(l, st, "stacking cannot be both exclusive and best");
}

static int ld_promotion(ld *l, const yn *it, cat_promotion *p)
{
    static const char *const keys[] = {"id", "name", "valid_from", "valid_to", "eligibility",
                                       "effect", "stacking", "limit", NULL};
    if (!ld_keys(l, it, "promotion", keys) || ld_id(l, it, "id", true, &p->id))
        return -1;
    p->pos = ld_pos(l, it);
    ld_str(l, it, "name", true, &p->name);
    ld_date(l, it, "valid_from", true, NULL, &p->valid_from);
    ld_date(l, it, "valid_to", false, &p->has_valid_to, &p->valid_to);
    if (p->has_valid_to && p->valid_to < p->valid_from)
        ld_err(l, yn_get(it, "valid_to"), "promotion '%s' ends (valid_to) before it starts "
                                          "(valid_from)", p->id);
    if (yn_get(it, "eligibility"))
        ld_eligibility(l, yn_get(it, "eligibility"), p);
    const yn *ef = ld_req(l, it, "effect", "promotion");
    if (ef)
        ld_effect(l, ef, p);
    if (yn_get(it, "stacking"))
        ld_stacking(l, yn_get(it, "stacking"), p);
    ld_str(l, it, "limit", false, &p->limit);
    return 0;
}

/* ---- formulas, segments, partners, payment terms, fx rates ---- */

static int ld_formula(ld *l, const yn *it, cat_formula *f)
{
    static const char *const keys[] = {"id", "name", "file", "skus", "categories", NULL};
    if (!ld_keys(l, it, "formula", keys) || ld_id(l, it, "id", true, &f->id))
        return -1;
    f->pos = ld_pos(l, it);
    ld_str(l, it, "name", false, &f->name);
    ld_str(l, it, "file", true, &f->file);
    ld_strlist(l, it, "skus", LIST_SKU, &f->skus, &f->nskus);
    ld_strlist(l, it, "categories", LIST_ID, &f->categories, &f->ncategories);
    return 0;
}

static int ld_segment(ld *l, const yn *it, cat_segment *s)
{
    static const char *const keys[] = {"id", "name", "payment_term", NULL};
    if (!ld_keys(l, it, "segment", keys) || ld_id(l, it, "id", true, &s->id))
        return -1;
    s->pos = ld_pos(l, it);
    ld_term_ref(l, it, &s->payment_term, &s->payment_term_pos);
    ld_str(l, it, "name", true, &s->name);
    return 0;
}

static int ld_approval(ld *l, const yn *it, cat_approval_level *a)
{
    static const char *const keys[] = {"id", "name", "max_discount", NULL};
    if (!ld_keys(l, it, "approval level", keys) || ld_id(l, it, "id", true, &a->id))
        return -1;
    a->pos = ld_pos(l, it);
    ld_str(l, it, "name", false, &a->name);
    return ld_percent(l, it, "max_discount", true, NULL, &a->max_discount) ? -1 : 0;
}

/* Levels are listed from the lowest authority up. */
static void ld_approvals_order(ld *l)
{
    const cat_catalog *c = l->cat;
    for (size_t i = 1; i < c->napprovals; i++)
        if (money_cmp(c->approvals[i].max_discount, c->approvals[i - 1].max_discount) <= 0)
            ld_err_pos(l, c->approvals[i].pos,
                       "approval level '%s' must allow more than '%s' (levels go from the "
                       "lowest authority up)",
                       c->approvals[i].id, c->approvals[i - 1].id);
}

static int ld_partner(ld *l, const yn *it, cat_partner *p)
{
    static const char *const keys[] = {
        "id", "name", "segment", "discount_authority", "payment_term", "can_accept", NULL};
    if (!ld_keys(l, it, "partner", keys) || ld_id(l, it, "id", true, &p->id))
        return -1;
    p->pos = ld_pos(l, it);
    ld_term_ref(l, it, &p->payment_term, &p->payment_term_pos);
    ld_str(l, it, "name", true, &p->name);
    ld_id(l, it, "segment", false, &p->segment);
    ld_percent(l, it, "discount_authority", false, NULL, &p->discount_authority);
    ld_bool(l, it, "can_accept", true, &p->can_accept);
    return 0;
}

/* `parts: N, every: {days: K} | {months: K}`: the installment paid in N
 * equal parts, part k counting its event k x K days or months later. */
static void ld_parts(ld *l, const yn *it, cat_installment *x)
{
    static const char *const keys[] = {"days", "months", NULL};
    const yn *np = yn_get(it, "parts"), *ev = yn_get(it, "every");
    long n = 0, k = 0;
    if (!np && !ev)
        return;
    if (!np) {
        ld_err(l, ev, "'every' needs 'parts' (the number of equal parts)");
        return;
    }
    if (ld_int(l, it, "parts", true, 2, CAT_TERM_MAX_PARTS, &n))
        return;
    if (!ev) {
        ld_err(l, np, "'parts' needs 'every' ({days: K} or {months: K}, the step between parts)");
        return;
    }
    if (!ld_keys(l, ev, "every", keys))
        return;
    bool hd = yn_get(ev, "days") != NULL, hm = yn_get(ev, "months") != NULL;
    if (hd == hm) {
        ld_err(l, ev, "'every' needs exactly one of 'days' or 'months'");
        return;
    }
    if (hd && !ld_int(l, ev, "days", true, 1, CAT_TERM_MAX_EVERY_DAYS, &k))
        x->every_days = (int)k;
    if (hm && !ld_int(l, ev, "months", true, 1, CAT_TERM_MAX_EVERY_MONTHS, &k))
        x->every_months = (int)k;
    if (x->every_days || x->every_months)
        x->parts = (unsigned)n;
}

static int ld_installment(ld *l, const yn *it, cat_installment *x)
{
    static const char *const keys[] = {"percent", "amount", "due", "days", "parts", "every", NULL};
    static const char *const dues[] = {"signing", "delivery", "acceptance", "end_of_month"};
    if (!ld_keys(l, it, "installment", keys))
        return -1;
    x->pos = ld_pos(l, it);
    bool hp = false, ha = false;
    ld_percent(l, it, "percent", false, &hp, &x->percent);
    ld_money(l, it, "amount", false, &ha, &x->amount);
    ld_parts(l, it, x);
    if (!hp && !ha && yn_get(it, "parts")) {
        /* equal parts of the whole amount: {parts: 3, every: {months: 1}, due: signing} */
        hp = true;
        x->percent = money_from_int(100);
    } else if (hp == ha) {
        ld_err(l, it, "installment needs exactly one of 'percent' or 'amount'");
    }
    x->is_percent = hp;
    const char *due = NULL;
    long days = 0;
    if (ld_str(l, it, "due", true, &due) || !due)
        return -1;
    int k = 0;
    while (k < 4 && strcmp(dues[k], due) != 0)
        k++;
    x->due = (cat_due)k;
    if (k == 4 && date_parse(due, strlen(due), &x->date)) {
        ld_err(l, yn_get(it, "due"), "due must be signing, delivery, acceptance, end_of_month "
                                     "or a date YYYY-MM-DD");
        return -1;
    }
    if (!ld_int(l, it, "days", false, 0, CAT_TERM_MAX_DAYS, &days))
        x->days = (int)days;
    return 0;
}

static int ld_term(ld *l, const yn *it, cat_term *t)
{
    static const char *const keys[] = {"id", "name", "installments", NULL};
    if (!ld_keys(l, it, "payment term", keys) || ld_id(l, it, "id", true, &t->id))
        return -1;
    t->pos = ld_pos(l, it);
    ld_str(l, it, "name", true, &t->name);
    cat_installment *x;
    LD_LIST(l, it, "installments", true, cat_installment, ld_installment, x, t->ninstallments);
    t->installments = x;
    money_dec sum = money_from_int(0);
    bool all_percent = t->ninstallments > 0;
    size_t nparts = 0;
    for (size_t i = 0; i < t->ninstallments; i++) {
        nparts += x[i].parts ? x[i].parts : 1;
        all_percent &= x[i].is_percent;
        if (x[i].is_percent && money_add(sum, x[i].percent, &sum))
            l->rc = CPQD_ERANGE;
    }
    if (all_percent && money_cmp(sum, money_from_int(100)) != 0)
        ld_err_pos(l, t->pos, "installments of term '%s' do not add up to 100 percent", t->id);
    if (yn_get(it, "installments") && t->ninstallments == 0)
        ld_err_pos(l, t->pos, "term '%s' has no installments", t->id);
    if (nparts > CAT_TERM_MAX_PARTS)
        ld_err_pos(l, t->pos, "term '%s' has %zu installments counting each part (at most %d)",
                   t->id, nparts, CAT_TERM_MAX_PARTS);
    return 0;
}

static int ld_fx(ld *l, const yn *it, cat_fx_rate *f)
{
    static const char *const keys[] = {"from", "to", "rate", NULL};
    int minor;
    if (!ld_keys(l, it, "fx rate", keys))
        return -1;
    f->pos = ld_pos(l, it);
    if (ld_currency(l, it, "from", f->from, &minor) || ld_currency(l, it, "to", f->to, &minor) ||
        ld_decimal(l, it, "rate", true, NULL, &f->rate))
        return -1;
    if (money_sign(f->rate) <= 0)
        ld_err(l, yn_get(it, "rate"), "fx rate must be positive");
    if (strcmp(f->from, f->to) == 0)
        ld_err(l, it, "fx rate converts %s to itself", f->from);
    return 0;
}

/* ---- resolution within one catalog ---- */

static int prod_ptr_cmp(const void *pa, const void *pb)
{
    const cat_product *a = *(const cat_product *const *)pa, *b = *(const cat_product *const *)pb;
    return strcmp(a->sku, b->sku);
}

static const cat_product *ld_product_find(const ld *l, const char *sku)
{
    if (l->sku_cap) {
        uint64_t hv = hash_fnv1a64(sku, strlen(sku));
        uint32_t tag = (uint32_t)(hv >> 32);
        size_t h = (size_t)(hv ^ (hv >> 31)) & (l->sku_cap - 1);
        for (const struct ld_sku *e; (e = &l->sku_slot[h])->sku; h = (h + 1) & (l->sku_cap - 1))
            if (e->tag == tag && strcmp(e->sku, sku) == 0)
                return &l->cat->products[e->i];
        return NULL;
    }
    size_t lo = 0, hi = l->nindex;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->index[mid]->sku, sku);
        if (c == 0)
            return l->index[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void ld_check_sku(ld *l, cat_pos pos, const char *sku, const char *what)
{
    if (sku && !ld_product_find(l, sku))
        ld_err_pos(l, pos, "%s refers to unknown product '%s'", what, sku);
}

/* An option's quantities (fixed, or a range's bounds and default) are
 * quantities of its product: a BOM never asks for half a spindle. */
static void ld_option_qty_rule(ld *l, const cat_option *o)
{
    const money_dec q[] = {o->qty, o->qty_min, o->qty_max};
    static const char *const what[] = {"quantity", "quantity range min", "quantity range max"};
    for (size_t k = 0; k < (o->ranged ? 3u : 1u); k++) {
        char why[256];
        if (cat_qty_check(o->product, q[k], false, why, sizeof(why)) != 0)
            ld_err_pos(l, o->pos, "option %s: %s %s", o->sku, what[k], why);
    }
}

/* The products of n SKUs (NULL: none), the hash probes of a batch
 * overlapped: every slot is asked for before any is read, and every
 * candidate's SKU and product before any is compared (each a cache miss
 * in a catalog of 100,000 products, taken one at a time otherwise). */
static void ld_find_batch(const ld *l, const char *const *sku, size_t n, const cat_product **out,
                          size_t *slot)
{
    if (!l->sku_cap) {
        for (size_t k = 0; k < n; k++)
            out[k] = ld_product_find(l, sku[k]);
        return;
    }
    size_t mask = l->sku_cap - 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t hv = hash_fnv1a64(sku[k], strlen(sku[k]));
        slot[k] = (size_t)(hv ^ (hv >> 31)) & mask;
        out[k] = (const cat_product *)(uintptr_t)(hv >> 32); /* the tag, for now */
        __builtin_prefetch(&l->sku_slot[slot[k]]);
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t tag = (uint32_t)(uintptr_t)out[k];
        const struct ld_sku *e = &l->sku_slot[slot[k]];
        if (e->sku && e->tag == tag) {
            __builtin_prefetch(e->sku);
            __builtin_prefetch(&l->cat->products[e->i]);
        }
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t tag = (uint32_t)(uintptr_t)out[k];
        size_t h = slot[k];
        out[k] = NULL;
        for (const struct ld_sku *e; (e = &l->sku_slot[h])->sku; h = (h + 1) & mask)
            if (e->tag == tag && strcmp(e->sku, sku[k]) == 0) {
                out[k] = &l->cat->products[e->i];
                break;
            }
    }
}

/* Product p's options resolved (found: their products, in order, NULL
 * where unknown) and checked, then its service items. */
static void ld_options_check(ld *l, cat_product *p, const cat_product *const *found)
{
    size_t n = 0;
    for (size_t g = 0; g < p->ngroups; g++) {
        cat_option *o = (cat_option *)p->groups[g].options;
        for (size_t i = 0; i < p->groups[g].noptions; i++) {
            o[i].product = found[n++];
            if (!o[i].product)
                ld_err_pos(l, o[i].pos, "option refers to unknown product '%s'", o[i].sku);
            else
                ld_option_qty_rule(l, &o[i]);
        }
    }
    for (size_t i = 0; i < p->delivery.nservice_items; i++)
        ld_check_sku(l, p->pos, p->delivery.service_items[i], "service_items");
}

#define LD_BATCH 256 /* options looked up together */

static size_t ld_noptions(const cat_product *p)
{
    size_t n = 0;
    for (size_t g = 0; g < p->ngroups; g++)
        n += p->groups[g].noptions;
    return n;
}

/* The options of products [from, to), a batch of products at a time;
 * errors in product order, as one product at a time would report them. */
static void ld_resolve_options_range(ld *l, size_t from, size_t to)
{
    cat_catalog *c = l->cat;
    size_t cap = LD_BATCH;
    for (size_t i = from; i < to; i++) {
        size_t k = ld_noptions(&c->products[i]);
        cap = k > cap ? k : cap;
    }
    const char **sku = malloc(cap * sizeof(*sku));
    const cat_product **found = malloc(cap * sizeof(*found));
    size_t *slot = malloc(cap * sizeof(*slot));
    if (!sku || !found || !slot) {
        l->rc = CPQD_ENOMEM;
        goto out;
    }
    for (size_t i = from; i < to;) {
        size_t n = 0, j = i;
        for (; j < to && (j == i || n + ld_noptions(&c->products[j]) <= cap); j++)
            for (size_t g = 0; g < c->products[j].ngroups; g++)
                for (size_t k = 0; k < c->products[j].groups[g].noptions; k++)
                    sku[n++] = c->products[j].groups[g].options[k].sku;
        ld_find_batch(l, sku, n, found, slot);
        for (n = 0; i < j; i++) {
            ld_options_check(l, (cat_product *)&c->products[i], found + n);
            n += ld_noptions(&c->products[i]);
        }
    }
out:
    free(sku);
    free(found);
    free(slot);
}

typedef struct ld_var {
    const cat_product *prod; /* the product that holds the variable */
    const cat_group *group;
    const cat_prod_attr *attr;
} ld_var;

/* Product p's indexes, or NULL (then lookups scan). */
static ld_pix *ld_pix_get(ld *l, const cat_product *p)
{
    struct ld_cache *k = ld_cache_get(l);
    size_t i = (size_t)(p - l->cat->products);
    if (!k || i >= l->cat->nproducts)
        return NULL;
    if (!k->prods)
        k->prods = calloc(l->cat->nproducts, sizeof(ld_pix));
    return k->prods ? &k->prods[i] : NULL;
}

static const cat_prod_attr *ld_prod_attr_find(ld *l, const cat_product *p, const char *s,
                                              size_t n)
{
    ld_pix *x = ld_pix_get(l, p);
    size_t i = ld_lookup(x ? &x->attrs : NULL, p->attrs, p->nattrs, key_prod_attr, s, n);
    return i == SIZE_MAX ? NULL : &p->attrs[i];
}

static const cat_group *ld_group_find(ld *l, const cat_product *p, const char *s, size_t n)
{
    ld_pix *x = ld_pix_get(l, p);
    size_t i = ld_lookup(x ? &x->groups : NULL, p->groups, p->ngroups, key_group, s, n);
    return i == SIZE_MAX ? NULL : &p->groups[i];
}

/* Option with SKU s of group g of product p. */
static const cat_option *ld_option_find(ld *l, const cat_product *p, const cat_group *g,
                                        const char *s, size_t n)
{
    ld_pix *x = ld_pix_get(l, p);
    size_t gi = (size_t)(g - p->groups);
    ld_ix *ix = x && gi < p->ngroups ? ix_array(&x->options, p->ngroups) : NULL;
    size_t i = ld_lookup(ix ? &ix[gi] : NULL, g->options, g->noptions, key_option, s, n);
    return i == SIZE_MAX ? NULL : &g->options[i];
}

/* Whether val is in the enum subset product attribute pa allows. */
static bool ld_subset_has(ld *l, const cat_product *p, const cat_prod_attr *pa, const char *val)
{
    ld_pix *x = ld_pix_get(l, p);
    size_t ai = (size_t)(pa - p->attrs);
    ld_ix *ix = x && ai < p->nattrs ? ix_array(&x->values, p->nattrs) : NULL;
    return ld_lookup(ix ? &ix[ai] : NULL, pa->values, pa->nvalues, key_str, val, strlen(val)) !=
           SIZE_MAX;
}

/* Resolves a constraint path from product p; returns NULL or a message. */
static const char *ld_path(ld *l, const cat_product *p, const char *path, ld_var *out, char *buf,
                           size_t cap)
{
    const char *s = path;
    *out = (ld_var){0};
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (s[0] == '@') {
            const cat_prod_attr *pa = slash ? NULL : ld_prod_attr_find(l, p, s + 1, n - 1);
            if (pa) {
                out->prod = p;
                out->attr = pa;
                return NULL;
            }
            snprintf(buf, cap, "product %s has no attribute '%.*s'", p->sku, (int)n - 1, s + 1);
            return buf;
        }
        const cat_group *g = ld_group_find(l, p, s, n);
        if (!g) {
            snprintf(buf, cap, "product %s has no group '%.*s'", p->sku, (int)n, s);
            return buf;
        }
        if (!slash) {
            out->prod = p;
            out->group = g;
            return NULL;
        }
        s = slash + 1;
        slash = strchr(s, '/');
        n = slash ? (size_t)(slash - s) : strlen(s);
        const cat_option *o = ld_option_find(l, p, g, s, n);
        if (!o) {
            snprintf(buf, cap, "group %s has no option '%.*s'", g->id, (int)n, s);
            return buf;
        }
        if (!o->product || !slash) {
            snprintf(buf, cap, "path must continue after option '%.*s' with a group or @attribute",
                     (int)n, s);
            return buf;
        }
        p = o->product;
        s = slash + 1;
    }
}

/* Checks that v is a value of var; "*" is a wildcard when allow_any. */
static const char *ld_var_value(ld *l, const ld_var *v, const char *val, bool allow_any)
{
    const char *why = NULL;
    if (allow_any && strcmp(val, "*") == 0)
        return NULL;
    if (v->group)
        return ld_option_find(l, v->prod, v->group, val, strlen(val))
                   ? NULL
                   : "is not an option of the group";
    const cat_attr *a = v->attr->attr;
    /* an enum value found by id is valid: that is all the check asks of
     * an enum; otherwise the check says why not */
    bool known = a->type == CAT_ATTR_ENUM && attr_value(l, a, val, strlen(val));
    if (!known && cat_attr_value_check(a, val, strlen(val), &why))
        return why;
    if (v->attr->values && !ld_subset_has(l, v->prod, v->attr, val))
        return "is not offered on this product";
    return NULL;
}

static void ld_resolve_constraint(ld *l, const cat_product *p, const cat_constraint *c)
{
    char buf[200];
    ld_var v;
    const char *why;
    for (size_t i = 0; i < c->nlits; i++) {
        const cat_literal *lit = &c->lits[i];
        if ((why = ld_path(l, p, lit->path, &v, buf, sizeof(buf)))) {
            ld_err_pos(l, lit->pos, "constraint '%s': %s", c->id, why);
            continue;
        }
        for (size_t k = 0; k < lit->nvalues; k++)
            if ((why = ld_var_value(l, &v, lit->values[k], false)))
                ld_err_pos(l, lit->pos, "constraint '%s': value '%.64s' of %s %s", c->id,
                           lit->values[k], lit->path, why);
    }
    for (size_t k = 0; k < c->nvars; k++) {
        if ((why = ld_path(l, p, c->vars[k], &v, buf, sizeof(buf)))) {
            ld_err_pos(l, c->pos, "constraint '%s': %s", c->id, why);
            continue;
        }
        for (size_t r = 0; r < c->nrows; r++)
            if ((why = ld_var_value(l, &v, c->cells[r * c->nvars + k], true)))
                ld_err_pos(l, c->pos, "constraint '%s' row %zu: value '%.64s' of %s %s", c->id,
                           r + 1, c->cells[r * c->nvars + k], c->vars[k], why);
    }
    if (c->kind == CAT_CON_QUANTITY) {
        if ((why = ld_path(l, p, c->qty_path, &v, buf, sizeof(buf))))
            ld_err_pos(l, c->pos, "constraint '%s': %s", c->id, why);
        else if (!v.group)
            ld_err_pos(l, c->pos, "constraint '%s': quantity bounds apply to groups", c->id);
    }
}

/* Depth-first search over option edges; reports each cycle once, at the
 * option that closes it, with the path. Iterative: BOMs can be deep. */
typedef struct dfs_frame {
    const cat_product *p;
    size_t g, o;
} dfs_frame;

static size_t prod_index(const ld *l, const cat_product *p)
{
    return (size_t)(p - l->cat->products);
}

static void ld_cycle_report(ld *l, const dfs_frame *st, size_t depth, const cat_product *to,
                            const cat_option *o)
{
    char path[400] = "";
    size_t start = depth;
    while (start > 0 && st[start - 1].p != to)
        start--;
    for (size_t i = start ? start - 1 : 0; i < depth; i++) {
        size_t used = strlen(path);
        snprintf(path + used, sizeof(path) - used, "%s -> ", st[i].p->sku);
    }
    size_t used = strlen(path);
    snprintf(path + used, sizeof(path) - used, "%s", to->sku);
    ld_err_pos(l, o->pos, "BOM cycle: %s contains itself (%s)", to->sku, path);
}

static void ld_cycles(ld *l)
{
    size_t n = l->cat->nproducts;
    unsigned char *state = calloc(n ? n : 1, 1); /* 0 new, 1 on stack, 2 done */
    dfs_frame *st = malloc((n ? n : 1) * sizeof(*st));
    if (!state || !st) {
        l->rc = CPQD_ENOMEM;
        goto out;
    }
    for (size_t root = 0; root < n; root++) {
        if (state[root])
            continue;
        size_t depth = 0;
        st[depth++] = (dfs_frame){&l->cat->products[root], 0, 0};
        state[root] = 1;
        while (depth) {
            dfs_frame *f = &st[depth - 1];
            if (f->g >= f->p->ngroups) {
                state[prod_index(l, f->p)] = 2;
                depth--;
                continue;
            }
            const cat_group *g = &f->p->groups[f->g];
            if (f->o >= g->noptions) {
                f->g++;
                f->o = 0;
                continue;
            }
            const cat_option *o = &g->options[f->o++];
            if (!o->product)
                continue;
            size_t k = prod_index(l, o->product);
            if (state[k] == 1)
                ld_cycle_report(l, st, depth, o->product, o);
            else if (state[k] == 0) {
                state[k] = 1;
                st[depth++] = (dfs_frame){o->product, 0, 0};
            }
        }
    }
out:
    free(state);
    free(st);
}

/* A rule path must stay under the rules directory and name a readable file. */
static void ld_rule(ld *l, cat_pos pos, const char *rel)
{
    cat_build *b = l->b;
    if (!rel)
        return;
    if (rel[0] == '/' || strstr(rel, "..") || strlen(rel) > 512) {
        ld_err_pos(l, pos, "rule path '%.100s' must be relative to the rules directory, "
                           "without '..'", rel);
        return;
    }
    char *full = NULL;
    if (asprintf(&full, "%s/%s", b->rules_dir, rel) < 0) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    FILE *f = fopen(full, "rb");
    if (!f || fgetc(f) == EOF) {
        ld_err_pos(l, pos, "rule file '%s' %s", full, f ? "is empty" : "does not exist or is "
                                                                       "not readable");
        if (f)
            fclose(f);
        free(full);
        return;
    }
    fclose(f);
    if (b->nrule_files == b->caprule_files) {
        size_t cap = b->caprule_files ? b->caprule_files * 2 : 16;
        char **r = realloc(b->rule_files, cap * sizeof(char *));
        if (!r) {
            free(full);
            l->rc = CPQD_ENOMEM;
            return;
        }
        b->rule_files = r;
        b->caprule_files = cap;
    }
    b->rule_files[b->nrule_files++] = full;
}

static bool has_category(const cat_catalog *c, const char *cat)
{
    /* a product whose category was missing or invalid is still listed
     * (its error is reported), with no category */
    for (size_t i = 0; i < c->nproducts; i++)
        if (c->products[i].category && strcmp(c->products[i].category, cat) == 0)
            return true;
    return false;
}

static bool has_segment(const cat_catalog *c, const char *id)
{
    for (size_t i = 0; i < c->nsegments; i++)
        if (strcmp(c->segments[i].id, id) == 0)
            return true;
    return false;
}

static bool has_partner(const cat_catalog *c, const char *id)
{
    for (size_t i = 0; i < c->npartners; i++)
        if (strcmp(c->partners[i].id, id) == 0)
            return true;
    return false;
}

static bool has_term(const cat_catalog *c, const char *id)
{
    for (size_t i = 0; i < c->nterms; i++)
        if (strcmp(c->terms[i].id, id) == 0)
            return true;
    return false;
}

static void ld_resolve_books(ld *l)
{
    const cat_catalog *c = l->cat;
    for (size_t i = 0; i < c->nbooks; i++) {
        const cat_price_book *pb = &c->books[i];
        if (pb->audience == CAT_AUD_SEGMENT && pb->audience_id && !has_segment(c, pb->audience_id))
            ld_err_pos(l, pb->pos, "price book '%s': unknown segment '%s'", pb->id, pb->audience_id);
        if (pb->audience == CAT_AUD_PARTNER && pb->audience_id && !has_partner(c, pb->audience_id))
            ld_err_pos(l, pb->pos, "price book '%s': unknown partner '%s'", pb->id, pb->audience_id);
        if (pb->payment_term && !has_term(c, pb->payment_term))
            ld_err_pos(l, pb->payment_term_pos, "price book '%s': unknown payment term '%s'",
                       pb->id, pb->payment_term);
        for (size_t k = 0; k < pb->nentries; k++) {
            cat_pb_entry *e = (cat_pb_entry *)&pb->entries[k];
            e->product = ld_product_find(l, e->sku);
            if (!e->product)
                ld_err_pos(l, e->pos, "price-book entry refers to unknown product '%s'", e->sku);
        }
    }
    for (size_t i = 0; i < c->nfx_rates; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->fx_rates[i].from, c->fx_rates[j].from) &&
                !strcmp(c->fx_rates[i].to, c->fx_rates[j].to))
                ld_err_pos(l, c->fx_rates[i].pos, "duplicate fx rate %s->%s", c->fx_rates[i].from,
                           c->fx_rates[i].to);
}

static void ld_resolve_promotions(ld *l)
{
    const cat_catalog *c = l->cat;
    for (size_t i = 0; i < c->npromotions; i++) {
        const cat_promotion *p = &c->promotions[i];
        for (size_t k = 0; k < p->nskus; k++)
            ld_check_sku(l, p->pos, p->skus[k], "promotion eligibility");
        for (size_t k = 0; k < p->ncategories; k++)
            if (!has_category(c, p->categories[k]))
                ld_err_pos(l, p->pos, "promotion '%s': no product has category '%s'", p->id,
                           p->categories[k]);
        for (size_t k = 0; k < p->nsegments; k++)
            if (!has_segment(c, p->segments[k]))
                ld_err_pos(l, p->pos, "promotion '%s': unknown segment '%s'", p->id,
                           p->segments[k]);
        ld_check_sku(l, p->pos, p->free_sku, "promotion free_item");
        ld_rule(l, p->pos, p->limit);
    }
    for (size_t i = 0; i < c->nformulas; i++) {
        const cat_formula *f = &c->formulas[i];
        for (size_t k = 0; k < f->nskus; k++)
            ld_check_sku(l, f->pos, f->skus[k], "formula");
        for (size_t k = 0; k < f->ncategories; k++)
            if (!has_category(c, f->categories[k]))
                ld_err_pos(l, f->pos, "formula '%s': no product has category '%s'", f->id,
                           f->categories[k]);
        ld_rule(l, f->pos, f->file);
    }
    for (size_t i = 0; i < c->npartners; i++)
        if (c->partners[i].segment && !has_segment(c, c->partners[i].segment))
            ld_err_pos(l, c->partners[i].pos, "partner '%s': unknown segment '%s'",
                       c->partners[i].id, c->partners[i].segment);
    for (size_t i = 0; i < c->npartners; i++)
        if (c->partners[i].payment_term && !has_term(c, c->partners[i].payment_term))
            ld_err_pos(l, c->partners[i].payment_term_pos,
                       "partner '%s': unknown payment term '%s'", c->partners[i].id,
                       c->partners[i].payment_term);
    for (size_t i = 0; i < c->nsegments; i++)
        if (c->segments[i].payment_term && !has_term(c, c->segments[i].payment_term))
            ld_err_pos(l, c->segments[i].payment_term_pos,
                       "segment '%s': unknown payment term '%s'", c->segments[i].id,
                       c->segments[i].payment_term);
}

/* The second half of the products' options, on a thread (their own
 * errors: the caller only counts them). */
typedef struct ld_opt_half {
    ld l;
    cat_build b;
    size_t from; /* the first product of the second half (by options) */
    pthread_t th;
} ld_opt_half;

static void *opt_half_run(void *arg)
{
    ld_opt_half *h = arg;
    cat_catalog *c = h->l.cat;
    ld_resolve_options_range(&h->l, h->from, c->nproducts);
    return NULL;
}

/* Every product's options resolved, the second half on another thread:
 * false (nothing done) when that thread cannot start. */
static bool ld_resolve_options_two(ld *l)
{
    cat_catalog *c = l->cat;
    /* halves of the options, not of the products: catalogs list their
     * configurable products apart from the parts their options name */
    size_t total = 0, from = 0, seen = 0;
    for (size_t i = 0; i < c->nproducts; i++)
        total += ld_noptions(&c->products[i]);
    while (from < c->nproducts && seen < total / 2)
        seen += ld_noptions(&c->products[from++]);
    ld_opt_half h = {.l = *l, .b = *l->b, .from = from};
    h.b.errs = errs_new();
    h.l.b = &h.b;
    h.l.cache = NULL;
    h.l.rc = 0;
    if (!h.b.errs || pthread_create(&h.th, NULL, opt_half_run, &h) != 0) {
        errs_free(h.b.errs);
        return false;
    }
    ld_resolve_options_range(l, 0, from);
    pthread_join(h.th, NULL);
    if (h.l.rc || errs_count(h.b.errs))
        l->rc = h.l.rc ? h.l.rc : CPQD_EINVAL;
    errs_free(h.b.errs);
    return true;
}

static void ld_resolve_products(ld *l)
{
    cat_catalog *c = l->cat;
    const char *dflt = c->tax_default       ? c->tax_default
                       : c->ntax_classes ? c->tax_classes[0].id
                                         : "standard";
    /* every product's options first (their errors sort by position) */
    if (!(l->two_threads && ld_resolve_options_two(l)))
        ld_resolve_options_range(l, 0, c->nproducts);
    for (size_t i = 0; i < c->nproducts; i++) {
        cat_product *p = (cat_product *)&c->products[i];
        if (!p->tax_class)
            p->tax_class = dflt;
        if (p->delivery.payment_term && !has_term(c, p->delivery.payment_term))
            ld_err_pos(l, p->pos, "product %s: unknown payment term '%s'", p->sku,
                       p->delivery.payment_term);
        ld_rule(l, p->pos, p->formula);
    }
    ld_cycles(l);
    for (size_t i = 0; i < c->nproducts; i++)
        for (size_t k = 0; k < c->products[i].nconstraints; k++)
            ld_resolve_constraint(l, &c->products[i], &c->products[i].constraints[k]);
}

/* Hashes the products by SKU (l->sku_slot); false when two share one
 * (reported later: the lookups then find one of them by binary search,
 * as they always did). ENOMEM in l->rc. */
static bool ld_sku_hash(ld *l)
{
    size_t n = l->cat->nproducts, cap = 16;
    while (cap < n * 2)
        cap *= 2;
    l->sku_slot = calloc(cap, sizeof(*l->sku_slot));
    if (!l->sku_slot) {
        l->rc = CPQD_ENOMEM;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *sku = l->cat->products[i].sku;
        uint64_t hv = hash_fnv1a64(sku, strlen(sku));
        uint32_t tag = (uint32_t)(hv >> 32);
        size_t h = (size_t)(hv ^ (hv >> 31)) & (cap - 1);
        for (; l->sku_slot[h].sku; h = (h + 1) & (cap - 1))
            if (l->sku_slot[h].tag == tag && strcmp(l->sku_slot[h].sku, sku) == 0) {
                free(l->sku_slot);
                l->sku_slot = NULL;
                return false;
            }
        l->sku_slot[h] = (struct ld_sku){sku, (uint32_t)i, tag};
    }
    l->sku_cap = cap;
    return true;
}

static int ld_index(ld *l)
{
    size_t n = l->cat->nproducts;
    if (ld_sku_hash(l))
        return 0;
    if (l->rc == CPQD_ENOMEM)
        return CPQD_ENOMEM;
    l->index = malloc((n ? n : 1) * sizeof(*l->index));
    if (!l->index)
        return l->rc = CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        l->index[i] = &l->cat->products[i];
    qsort(l->index, n, sizeof(*l->index), prod_ptr_cmp);
    l->nindex = n;
    return 0;
}

/* ---- finance: issuer, invoicing policy, accounts (docs/catalog.md) ---- */

/* Invoice and credit-note prefixes are A-Z and '-', start and end with a
 * letter: the reference matcher (src/match.c) reads the letters of a
 * number as its prefix and the digits as year and sequence. */
static bool prefix_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 16 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] == '-' && s[i + 1] != '-'))
            return false;
    return true;
}

static void ld_prefix(ld *l, const yn *map, const char *key, const char *dflt, const char **out)
{
    if (ld_str(l, map, key, false, out) || !*out) {
        *out = dflt;
        return;
    }
    if (!prefix_ok(*out))
        ld_err(l, yn_get(map, key),
               "'%s' must be 1 to 16 letters A-Z, single '-' between them (INV-SH), not '%.32s'",
               key, *out);
}

static void ld_issuer(ld *l, const yn *n, cat_issuer *is)
{
    static const char *const keys[] = {"id", "name", "tax_id", "address", "bank", "account",
                                       "invoice_prefix", "credit_note_prefix", NULL};
    if (!ld_keys(l, n, "finance issuer", keys))
        return;
    is->pos = ld_pos(l, n);
    ld_id(l, n, "id", true, &is->id);
    ld_str(l, n, "name", true, &is->name);
    ld_str(l, n, "tax_id", false, &is->tax_id);
    ld_str(l, n, "address", false, &is->address);
    ld_str(l, n, "bank", false, &is->bank);
    ld_str(l, n, "account", false, &is->bank_account);
    ld_prefix(l, n, "invoice_prefix", "INV", &is->invoice_prefix);
    ld_prefix(l, n, "credit_note_prefix", "CN", &is->credit_note_prefix);
    const char *bad[] = {is->invoice_prefix, is->credit_note_prefix};
    for (int i = 0; i < 2; i++)
        if (strcmp(bad[i], "C") == 0 || strcmp(bad[i], "Q") == 0)
            ld_err(l, n, "prefix '%s' is taken by contract (C-) or quote (Q-) numbers", bad[i]);
    if (strcmp(is->invoice_prefix, is->credit_note_prefix) == 0)
        ld_err(l, n, "invoice_prefix and credit_note_prefix must differ");
}

/* An account code: an id (letters, digits, '.', '-', '_'), quoted or not. */
static int ld_account(ld *l, const yn *map, const char *key, bool req, const char **out)
{
    const yn *v = yn_get(map, key);
    if (ld_str(l, map, key, req, out) || !*out)
        return -1;
    if (id_ok(*out, strlen(*out), false))
        return 0;
    ld_err(l, v, "invalid account code '%.64s' (letters, digits, '_', '.', '-'; at most 64)", *out);
    return -1;
}

static void ld_account_map(ld *l, const yn *map, const char *key, const cat_account_ref **out,
                           size_t *n)
{
    const yn *m = yn_get(map, key);
    if (!m || !ld_is(l, m, YN_MAP, key))
        return;
    cat_account_ref *r = LD_ARRAY(l, m->n, cat_account_ref);
    if (!r)
        return;
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        const yn *kn = m->keys[i];
        if (!id_ok(kn->str, kn->len, false)) {
            ld_err(l, kn, "invalid id '%.64s' in '%s'", kn->str, key);
            continue;
        }
        r[k].key = ld_dup(l, kn);
        r[k].pos = ld_pos(l, kn);
        if (!ld_is(l, m->vals[i], YN_SCALAR, key) || !r[k].key)
            continue;
        r[k].account = ld_dup(l, m->vals[i]);
        if (r[k].account && !id_ok(r[k].account, strlen(r[k].account), false)) {
            ld_err(l, m->vals[i], "invalid account code '%.64s'", r[k].account);
            continue;
        }
        k++;
    }
    *out = r;
    *n = k;
}

static void ld_accounts(ld *l, const yn *n, cat_accounts *a)
{
    static const char *const keys[] = {"receivable", "bank", "customer_credit",
                                       "contract_liability", "tax_payable", "revenue",
                                       "write_off", "revenue_by_category",
                                       "tax_payable_by_class", NULL};
    if (!ld_keys(l, n, "finance accounts", keys))
        return;
    ld_account(l, n, "receivable", true, &a->receivable);
    ld_account(l, n, "bank", true, &a->bank);
    ld_account(l, n, "customer_credit", true, &a->customer_credit);
    ld_account(l, n, "contract_liability", true, &a->contract_liability);
    ld_account(l, n, "tax_payable", true, &a->tax_payable);
    ld_account(l, n, "revenue", true, &a->revenue);
    ld_account(l, n, "write_off", true, &a->write_off);
    ld_account_map(l, n, "revenue_by_category", &a->revenue_by_category,
                   &a->nrevenue_by_category);
    ld_account_map(l, n, "tax_payable_by_class", &a->tax_payable_by_class,
                   &a->ntax_payable_by_class);
}

static void ld_finance(ld *l, const yn *f)
{
    static const char *const keys[] = {"issuer", "invoices", "accounts", NULL};
    static const char *const ikeys[] = {"issue", NULL};
    if (!ld_keys(l, f, "finance", keys))
        return;
    cat_finance *fin = arena_calloc(l->a, 1, sizeof(*fin));
    if (!fin) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    fin->pos = ld_pos(l, f);
    const yn *is = ld_req(l, f, "issuer", "finance");
    if (is)
        ld_issuer(l, is, &fin->issuer);
    const yn *ac = ld_req(l, f, "accounts", "finance");
    if (ac)
        ld_accounts(l, ac, &fin->accounts);
    const yn *inv = yn_get(f, "invoices");
    const char *issue = NULL;
    if (inv && ld_keys(l, inv, "finance invoices", ikeys) &&
        !ld_str(l, inv, "issue", false, &issue) && issue) {
        size_t i = 0;
        while (cat_invoice_issue_name((cat_invoice_issue)i) &&
               strcmp(cat_invoice_issue_name((cat_invoice_issue)i), issue) != 0)
            i++;
        if (cat_invoice_issue_name((cat_invoice_issue)i))
            fin->issue = (cat_invoice_issue)i;
        else
            ld_err(l, yn_get(inv, "issue"),
                   "invoices issue must be manual, on_bill_date or on_due_date, not '%.32s'",
                   issue);
    }
    const cat_accounts *a = &fin->accounts;
    for (size_t i = 0; i < a->nrevenue_by_category; i++)
        if (!has_category(l->cat, a->revenue_by_category[i].key))
            ld_err_pos(l, a->revenue_by_category[i].pos,
                       "revenue_by_category: no product has category '%s'",
                       a->revenue_by_category[i].key);
    for (size_t i = 0; i < a->ntax_payable_by_class; i++)
        if (!ld_tax_class(l->cat, a->tax_payable_by_class[i].key))
            ld_err_pos(l, a->tax_payable_by_class[i].pos,
                       "tax_payable_by_class: unknown tax class '%s'",
                       a->tax_payable_by_class[i].key);
    l->cat->finance = fin;
}

/* ---- one file ---- */

/* Decodes the sections of root in their fixed order. streamed: the
 * attributes and products are decoded already (cat_load_stream). */
static void ld_sections(ld *l, const yn *root, bool streamed)
{
    cat_catalog *c = l->cat;
    cat_product *p = (cat_product *)c->products;
    cat_price_book *pb;
    cat_promotion *pr;
    cat_formula *f;
    cat_partner *pa;
    cat_segment *s;
    cat_term *t;
    cat_fx_rate *fx;
    cat_approval_level *ap;
    const yn *attrs = l->attrs_done ? NULL : ld_seq(l, root, "attributes", false);
    if (attrs)
        ld_attrs(l, attrs);
    LD_LIST(l, root, "segments", false, cat_segment, ld_segment, s, c->nsegments);
    LD_LIST(l, root, "partners", false, cat_partner, ld_partner, pa, c->npartners);
    LD_LIST(l, root, "payment_terms", false, cat_term, ld_term, t, c->nterms);
    LD_LIST(l, root, "fx_rates", false, cat_fx_rate, ld_fx, fx, c->nfx_rates);
    LD_LIST(l, root, "approval_levels", false, cat_approval_level, ld_approval, ap,
            c->napprovals);
    c->approvals = ap;
    LD_DUPS(l, ap, c->napprovals, cat_approval_level, "approval level");
    ld_approvals_order(l);
    if (!streamed)
        LD_LIST(l, root, "products", true, cat_product, ld_product, p, c->nproducts);
    LD_LIST(l, root, "price_books", false, cat_price_book, ld_book, pb, c->nbooks);
    LD_LIST(l, root, "promotions", false, cat_promotion, ld_promotion, pr, c->npromotions);
    LD_LIST(l, root, "formulas", false, cat_formula, ld_formula, f, c->nformulas);
    c->products = p;
    c->books = pb;
    c->promotions = pr;
    c->formulas = f;
    c->partners = pa;
    c->segments = s;
    c->terms = t;
    c->fx_rates = fx;
    LD_DUPS(l, s, c->nsegments, cat_segment, "segment");
    LD_DUPS(l, pa, c->npartners, cat_partner, "partner");
    LD_DUPS(l, t, c->nterms, cat_term, "payment term");
    LD_DUPS(l, pb, c->nbooks, cat_price_book, "price book");
    LD_DUPS(l, pr, c->npromotions, cat_promotion, "promotion");
    LD_DUPS(l, f, c->nformulas, cat_formula, "formula");
    if (yn_get(root, "products") && c->nproducts == 0 && yn_get(root, "products")->n == 0)
        ld_err(l, yn_get(root, "products"), "a catalog needs at least one product");
}

/* Starts decoding a new catalog of b into l. */
static int ld_start(ld *l, cat_build *b, const char *file, const char *hash)
{
    /* growing the array would move the catalogs that products and books
     * of earlier files already point to: the caller sizes it once */
    if (b->ncatalogs == b->capcatalogs)
        return CPQD_EINTERNAL;
    cat_catalog *c = &b->catalogs[b->ncatalogs];
    memset(c, 0, sizeof(*c));
    c->index = b->ncatalogs;
    *l = (ld){.b = b, .a = b->a, .file = arena_strdup(b->a, file), .cat = c, .minor = 2};
    if (!l->file)
        return CPQD_ENOMEM;
    c->file = l->file;
    c->hash = hash ? arena_strdup(b->a, hash) : NULL; /* NULL: set by the caller */
    return 0;
}

/* Decodes the file's tree into l's catalog (streamed: its header,
 * attributes and products are decoded already) and resolves it. */
static int ld_file(ld *l, const yn *root, bool streamed)
{
    static const char *const keys[] = {"catalog", "attributes", "products", "price_books",
                                       "promotions", "formulas", "partners", "segments",
                                       "payment_terms", "fx_rates", "approval_levels",
                                       "finance", NULL};
    cat_build *b = l->b;
    cat_catalog *c = l->cat;
    if (!root) {
        ld_err(l, NULL, "empty catalog file");
        return l->rc;
    }
    if (!ld_keys(l, root, "the catalog file", keys))
        return l->rc;
    const yn *h = ld_req(l, root, "catalog", "the catalog file");
    if (!streamed && (!h || ld_header(l, h)))
        return l->rc ? l->rc : CPQD_EINVAL;
    ld_sections(l, root, streamed);
    if (l->rc == CPQD_ENOMEM || ld_index(l))
        goto out;
    ld_resolve_products(l);
    ld_resolve_books(l);
    ld_resolve_promotions(l);
    if (yn_get(root, "finance"))
        ld_finance(l, yn_get(root, "finance"));
out:
    free(l->index);
    l->index = NULL;
    free(l->sku_slot);
    l->sku_slot = NULL;
    l->sku_cap = 0;
    ld_cache_free(l);
    if (c->id)
        b->ncatalogs++;
    return l->rc;
}

int cat_load_file(cat_build *b, const char *file, const char *hash, const yn *root)
{
    ld l;
    int rc = ld_start(&l, b, file, hash);
    return rc ? rc : ld_file(&l, root, false);
}

/* ---- one file, its products streamed ---- */

typedef struct ld_stream {
    ld l;
    bool begun;      /* header and attributes decoded, products streamed */
    cat_product *v;  /* the products so far (malloc'ed) */
    size_t n, cap;
} ld_stream;

/* Streams the products when the header they need (currency, tax
 * classes) comes before them, as in every sample and generated catalog;
 * so do the attributes, if any: a product that refers to an attribute
 * not decoded yet is an error here, which sends the file to the retry
 * (whole tree, attributes first). */
static bool st_begin(void *ctx, const yn *before, const yn *key)
{
    (void)key;
    ld_stream *s = ctx;
    const yn *h = yn_get(before, "catalog");
    if (!h)
        return false;
    if (ld_header(&s->l, h) == 0 && !s->l.rc && yn_get(before, "attributes")) {
        const yn *seq = ld_seq(&s->l, before, "attributes", false);
        if (seq)
            ld_attrs(&s->l, seq);
        s->l.attrs_done = true;
    }
    s->begun = true;
    return true;
}

static int st_item(void *ctx, const yn *it)
{
    ld_stream *s = ctx;
    if (s->l.rc)
        return s->l.rc == CPQD_ENOMEM ? CPQD_ENOMEM : CAT_LOAD_RETRY;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        cat_product *v = cap > LD_MAX_ITEMS + 1024 ? NULL : realloc(s->v, cap * sizeof(*v));
        if (!v)
            return cap > LD_MAX_ITEMS + 1024 ? CAT_LOAD_RETRY : CPQD_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    cat_product *p = &s->v[s->n];
    memset(p, 0, sizeof(*p));
    if (ld_product(&s->l, it, p) == 0)
        s->n++;
    if (s->l.rc || s->n > LD_MAX_ITEMS)
        return s->l.rc == CPQD_ENOMEM ? CPQD_ENOMEM : CAT_LOAD_RETRY;
    return 0;
}

/* The catalog's products: a[0..na) then b[0..nb) (streamed, malloc'ed:
 * the caller frees them), copied into the snapshot's arena. */
static void ld_set_products(ld *l, const cat_product *a, size_t na, const cat_product *b,
                            size_t nb)
{
    cat_product *p = LD_ARRAY(l, na + nb, cat_product);
    if (!p) {
        l->rc = CPQD_ENOMEM;
        return;
    }
    if (na)
        memcpy(p, a, na * sizeof(*p));
    if (nb)
        memcpy(p + na, b, nb * sizeof(*p));
    l->cat->products = p;
    l->cat->nproducts = na + nb;
}

/* The text of one file as yn_parse_stream reads it, hashed as it goes. */
typedef struct ld_reader {
    int fd;
    digest_sha256_ctx *md;
    bool failed;
    char hex[DIGEST_SHA256_HEX_LEN]; /* the text's SHA-256, once read */
} ld_reader;

static long ld_read(void *ctx, unsigned char *out, size_t size)
{
    ld_reader *r = ctx;
    for (;;) {
        ssize_t n = read(r->fd, out, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || digest_sha256_add(r->md, out, (size_t)n) != 0) {
            r->failed = true;
            return -1;
        }
        return (long)n;
    }
}

static int ld_stream_file(cat_build *b, const char *file, ld_reader *rd);
static int ld_split_file(cat_build *b, const char *file, int fd, char hash[DIGEST_SHA256_HEX_LEN]);

int cat_load_stream_path(cat_build *b, const char *file, const char *path,
                         char hash[DIGEST_SHA256_HEX_LEN])
{
    ld_reader rd = {open(path, O_RDONLY | O_CLOEXEC), digest_sha256_new(), false, ""};
    int rc = rd.fd < 0 ? CAT_LOAD_RETRY : rd.md ? 0 : CPQD_ENOMEM;
    /* a big file's products on two threads; whatever that cannot do is
     * done by the one-thread stream from the start of the file */
    if (!rc && (rc = ld_split_file(b, file, rd.fd, hash)) == 0) {
        close(rd.fd);
        digest_sha256_free(rd.md);
        return 0;
    }
    if (rc == CAT_LOAD_RETRY)
        rc = lseek(rd.fd, 0, SEEK_SET) == 0 ? 0 : CAT_LOAD_RETRY;
    if (!rc)
        rc = ld_stream_file(b, file, &rd);
    if (!rc)
        memcpy(hash, rd.hex, DIGEST_SHA256_HEX_LEN);
    if (rd.fd >= 0)
        close(rd.fd);
    digest_sha256_free(rd.md);
    return rc;
}

/* Takes back what a failed load of one file added to b: the caller
 * decodes the file again from its start. */
static void ld_undo(cat_build *b, size_t ncatalogs, size_t nregexes, size_t nrule_files)
{
    b->ncatalogs = ncatalogs;
    for (size_t i = nregexes; i < b->nregexes; i++)
        pcre2_code_free(b->regexes[i]);
    b->nregexes = nregexes;
    for (size_t i = nrule_files; i < b->nrule_files; i++)
        free(b->rule_files[i]);
    b->nrule_files = nrule_files;
}

/* cat_load_stream_path on the text read from rd. */
static int ld_stream_file(cat_build *b, const char *file, ld_reader *rd)
{
    cpqd_errs *errs = b->errs, *quiet = errs_new();
    size_t ncatalogs = b->ncatalogs, nregexes = b->nregexes, nrule_files = b->nrule_files;
    ld_stream s = {0};
    int rc = quiet ? ld_start(&s.l, b, file, NULL) : CPQD_ENOMEM;
    arena *tree = rc ? NULL : arena_new(1 << 20);
    if (!rc && !tree)
        rc = CPQD_ENOMEM;
    if (!rc) {
        b->errs = quiet; /* what fails here is reported by the retry */
        yn *root = NULL;
        yn_stream hooks = {.begin = st_begin, .item = st_item, .ctx = &s, .read = ld_read,
                           .read_ctx = rd};
        rc = yn_parse_stream(tree, file, NULL, 0, quiet, &hooks, &root);
        if (!rc) {
            if (rd->failed || digest_sha256_end_hex(rd->md, rd->hex) != 0)
                rc = CAT_LOAD_RETRY;
            else if (!(s.l.cat->hash = arena_strdup(b->a, rd->hex)))
                rc = CPQD_ENOMEM;
        }
        if (!rc && !s.begun) {
            /* nothing streamed: the whole tree, decoded as cat_load_file
             * decodes it, errors reported */
            b->errs = errs;
            rc = ld_file(&s.l, root, false);
            arena_free(tree);
            errs_free(quiet);
            return rc;
        }
        if (!rc && !s.l.rc)
            ld_set_products(&s.l, s.v, s.n, NULL, 0);
        free(s.v);
        s.v = NULL;
        if (!rc && !s.l.rc)
            rc = ld_file(&s.l, root, true);
        else
            ld_cache_free(&s.l);
        if (!rc && (s.l.rc || errs_count(quiet)))
            rc = CAT_LOAD_RETRY;
        b->errs = errs;
    }
    free(s.v);
    arena_free(tree);
    errs_free(quiet);
    if (rc == 0)
        return 0;
    ld_undo(b, ncatalogs, nregexes, nrule_files);
    return rc == CPQD_ENOMEM ? rc : CAT_LOAD_RETRY;
}

/* ---- one big file, its products parsed on two threads ----
 * cat_split.c cuts the file: piece 1 (the header, the first products and
 * what follows them) is parsed and decoded here as the stream does, piece
 * 2 (the other products) on a thread started once the header and the
 * attributes that products need are decoded, into an ld of its own (its
 * arena, errors and products; the catalog it reads is not written while
 * it runs). The products of piece 2 follow those of piece 1, and the file
 * is then decoded and resolved as a streamed one. Any fault, and any sign
 * that the cut was not where the parses found the items, gives up with
 * nothing added (CAT_LOAD_RETRY): the caller streams the file on one
 * thread. */

#define LD_SPLIT_MIN (4u << 20) /* smaller files: one thread */
#define LD_SPLIT_SHARE 0.45     /* of the products' bytes, to piece 1 (which also holds
                                    what follows them) */

typedef struct ld_half { /* piece 2 */
    ld_stream s;
    cat_build b;          /* the build, with s's own arena and errors */
    cat_piece rd;
    const cat_split *sp;
    arena *tree;
    yn *root;
    pthread_t th;
    bool started;
    int rc;
    int hash_rc;                    /* cat_split_hash's, after the parse */
    char hex[DIGEST_SHA256_HEX_LEN]; /* the whole file's SHA-256 */
} ld_half;

typedef struct ld_split {
    ld_stream s; /* piece 1 */
    ld_half h;
    const cat_split *sp;
    bool key_ok; /* the streamed 'products' key is the plan's */
} ld_split;

static void *half_run(void *arg)
{
    ld_half *h = arg;
    yn_stream hooks = {.item = st_item, .ctx = &h->s, .read = cat_piece_read, .read_ctx = &h->rd,
                       .shift_from = 0, .shift_by = h->sp->ls, .items_root = true};
    h->rc = yn_parse_stream(h->tree, h->s.l.file, NULL, 0, h->b.errs, &hooks, &h->root);
    h->hash_rc = h->rc ? CAT_SPLIT_NONE : cat_split_hash(h->rd.fd, h->sp->len, h->hex);
    return NULL;
}

/* Piece 1's begin: the stream's, then piece 2's thread with a copy of
 * the decoder as the header and attributes left it. */
static bool split_begin(void *ctx, const yn *before, const yn *key)
{
    ld_split *x = ctx;
    bool on = st_begin(&x->s, before, key);
    x->key_ok = key->line == x->sp->lp + 1 && key->col == 1;
    if (!on || !x->key_ok || x->s.l.rc)
        return on;
    ld_half *h = &x->h;
    h->b = *x->s.l.b;
    h->b.a = arena_new(1 << 20);
    h->b.errs = errs_new();
    h->tree = arena_new(1 << 16);
    h->s.l = x->s.l;
    h->s.l.b = &h->b;
    h->s.l.a = h->b.a;
    h->s.l.cache = NULL;
    h->s.l.rc = 0;
    if (h->b.a && h->b.errs && h->tree)
        h->started = pthread_create(&h->th, NULL, half_run, h) == 0;
    return on;
}

/* Whether the parses found the file as the plan cut it: piece 2 a
 * sequence from its first line, and in piece 1 the key after 'products'
 * starting at line e (or none, when the sequence ends the file). */
static bool split_as_planned(const ld_split *x, const yn *root)
{
    const cat_split *sp = x->sp;
    const yn *seq = x->h.root;
    if (!x->key_ok || !seq || seq->type != YN_SEQ || seq->line != sp->ls + 1 ||
        seq->col != sp->indent + 1 || !root || root->type != YN_MAP)
        return false;
    size_t i = 0;
    while (i < root->n && strcmp(root->keys[i]->str, "products") != 0)
        i++;
    if (i == root->n)
        return false;
    if (sp->e == sp->len)
        return i + 1 == root->n;
    return i + 1 < root->n && root->keys[i + 1]->line == sp->le + 1 &&
           root->keys[i + 1]->col == sp->ce + 1;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int ld_split_file(cat_build *b, const char *file, int fd, char hash[DIGEST_SHA256_HEX_LEN])
{
    struct stat st0, st1;
    size_t min = b->split_min ? b->split_min : LD_SPLIT_MIN;
    if (fstat(fd, &st0) != 0 || (uintmax_t)st0.st_size < min)
        return CAT_LOAD_RETRY;
    cat_split sp;
    int rc = cat_split_plan(fd, b->split_share > 0 ? b->split_share : LD_SPLIT_SHARE, &sp);
    if (rc)
        return rc == CPQD_ENOMEM ? rc : CAT_LOAD_RETRY;
    cpqd_errs *errs = b->errs, *quiet = errs_new();
    size_t ncatalogs = b->ncatalogs, nregexes = b->nregexes, nrule_files = b->nrule_files;
    ld_split x = {.sp = &sp, .h.sp = &sp};
    cat_piece rd;
    cat_piece_init(&rd, fd, 0, sp.s);
    cat_piece_add(&rd, sp.e, sp.len);
    cat_piece_init(&x.h.rd, fd, sp.s, sp.e);
    rc = quiet ? ld_start(&x.s.l, b, file, NULL) : CPQD_ENOMEM;
    arena *tree = rc ? NULL : arena_new(1 << 20);
    if (!rc && !tree)
        rc = CPQD_ENOMEM;
    yn *root = NULL;
    if (!rc) {
        b->errs = quiet;
        yn_stream hooks = {.begin = split_begin, .item = st_item, .ctx = &x,
                           .read = cat_piece_read, .read_ctx = &rd,
                           .shift_from = sp.ls, .shift_by = sp.le - sp.ls};
        if (sp.e == sp.len)
            hooks.shift_by = 0; /* nothing follows the cut */
        rc = yn_parse_stream(tree, file, NULL, 0, quiet, &hooks, &root);
    }
    ld_half *h = &x.h;
    if (h->started)
        pthread_join(h->th, NULL);
    if (!rc && (!h->started || h->rc || h->hash_rc || h->s.l.rc || errs_count(h->b.errs) ||
                h->s.n == 0 ||
                h->b.nregexes != b->nregexes || h->b.nrule_files != b->nrule_files ||
                !split_as_planned(&x, root) || fstat(fd, &st1) != 0 || !same_file(&st0, &st1)))
        rc = h->rc == CPQD_ENOMEM || h->s.l.rc == CPQD_ENOMEM ? CPQD_ENOMEM : CAT_LOAD_RETRY;
    if (!rc && !x.s.l.rc && !(x.s.l.cat->hash = arena_strdup(b->a, h->hex)))
        x.s.l.rc = CPQD_ENOMEM;
    if (!rc && !x.s.l.rc)
        ld_set_products(&x.s.l, x.s.v, x.s.n, h->s.v, h->s.n);
    ld_cache_free(&h->s.l);
    free(h->s.v);
    free(x.s.v);
    x.s.v = NULL;
    errs_free(h->b.errs);
    arena_free(h->tree);
    x.s.l.two_threads = true;
    if (!rc && !x.s.l.rc)
        rc = ld_file(&x.s.l, root, true);
    else
        ld_cache_free(&x.s.l);
    if (!rc && (x.s.l.rc || errs_count(quiet)))
        rc = CAT_LOAD_RETRY;
    b->errs = errs;
    arena_free(tree);
    errs_free(quiet);
    /* piece 2's products live in its arena: the snapshot's from now on */
    if (rc == 0)
        arena_adopt(b->a, h->b.a);
    else
        arena_free(h->b.a);
    if (rc == 0) {
        memcpy(hash, h->hex, DIGEST_SHA256_HEX_LEN);
        b->split_loads++;
        return 0;
    }
    ld_undo(b, ncatalogs, nregexes, nrule_files);
    return rc == CPQD_ENOMEM ? rc : CAT_LOAD_RETRY;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Invoice numbers are gap-free per year and issuer id: catalogs naming the
 * same issuer must number alike, and different issuers must not share a
 * prefix (their numbers would collide). Returns 1 after reporting. */
static int link_issuers(cat_build *b, const cat_catalog *c, const cat_catalog *d)
{
    if (!c->finance || !d->finance || !c->finance->issuer.id || !d->finance->issuer.id)
        return 0;
    const cat_issuer *x = &c->finance->issuer, *y = &d->finance->issuer;
    const char *px[] = {x->invoice_prefix, x->credit_note_prefix};
    const char *py[] = {y->invoice_prefix, y->credit_note_prefix};
    if (strcmp(x->id, y->id) == 0) {
        if (str_eq(px[0], py[0]) && str_eq(px[1], py[1]) && str_eq(x->name, y->name) &&
            str_eq(x->tax_id, y->tax_id))
            return 0;
        errs_add(b->errs, CPQD_EINVAL, x->pos.file, x->pos.line, x->pos.col,
                 "issuer '%s' differs from its definition in %s:%u (name, tax_id and prefixes "
                 "must be the same)", x->id, y->pos.file, y->pos.line);
        return 1;
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            if (str_eq(px[i], py[k])) {
                errs_add(b->errs, CPQD_EINVAL, x->pos.file, x->pos.line, x->pos.col,
                         "issuer '%s' uses prefix '%s' of issuer '%s' (%s:%u): numbers would "
                         "collide", x->id, px[i], y->id, y->pos.file, y->pos.line);
                return 1;
            }
    return 0;
}

/* Cross-catalog: SKUs unique everywhere, catalog ids unique. The caller
 * passes every product sorted by SKU. */
int cat_load_link(cat_build *b, const cat_product **sorted, size_t n)
{
    int rc = 0;
    for (size_t i = 1; i < n; i++) {
        const cat_product *a = sorted[i - 1], *p = sorted[i];
        if (strcmp(a->sku, p->sku) != 0)
            continue;
        /* duplicates within one catalog's file come first by line */
        if (a->pos.file == p->pos.file && a->pos.line > p->pos.line) {
            const cat_product *t = a;
            a = p;
            p = t;
        }
        errs_add(b->errs, CPQD_EINVAL, p->pos.file, p->pos.line, p->pos.col,
                 "duplicate SKU '%s' (first defined at %s:%u)", p->sku, a->pos.file, a->pos.line);
        rc = CPQD_EINVAL;
    }
    for (size_t i = 0; i < b->ncatalogs; i++)
        for (size_t j = 0; j < i; j++)
            if (link_issuers(b, &b->catalogs[i], &b->catalogs[j]))
                rc = CPQD_EINVAL;
    for (size_t i = 0; i < b->ncatalogs; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->catalogs[i].id, b->catalogs[j].id) == 0) {
                errs_add(b->errs, CPQD_EINVAL, b->catalogs[i].file, 0, 0,
                         "duplicate catalog id '%s' (also in %s)", b->catalogs[i].id,
                         b->catalogs[j].file);
                rc = CPQD_EINVAL;
            }
    return rc;
}
