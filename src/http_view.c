/*
 * http_view: the JSON shape of the catalog as the HTTP API returns it.
 *
 * Owns: turning snapshot structs into jansson values, what each caller
 * role may see (partners never get cost or floor prices, nor books meant
 * for other partners or segments), the product list's filters and paging.
 * Does not own: routing, status codes, parsing requests (http_route.c).
 *
 * Builders never stop half-way on a failure: every helper records it in
 * hv.failed and the view returns NULL at the end, so call sites stay flat.
 * jansson's set/append functions release the value they were given when
 * they fail, which is what makes this leak-free.
 */
#include "http_int.h"

#include "cpqd/date.h"
#include "cpqd/money.h"

#include <stdlib.h>
#include <string.h>

typedef struct hv {
    bool failed; /* something could not be built */
    const cat_snapshot *snap;
    const http_caller *caller;
    size_t budget;   /* options left to render inline */
    const char *dir; /* catalog dir, stripped from sources */
} hv;

/* ---- small builders ---- */

static json_t *hv_new(hv *b, json_t *v)
{
    if (!v)
        b->failed = true;
    return v;
}

static void hv_set(hv *b, json_t *o, const char *k, json_t *v)
{
    if (json_object_set_new(o, k, v) != 0)
        b->failed = true;
}

static void hv_push(hv *b, json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0)
        b->failed = true;
}

/* A string, or null when s is NULL. */
static json_t *hv_strv(hv *b, const char *s)
{
    return hv_new(b, s ? json_string(s) : json_null());
}

static void hv_str(hv *b, json_t *o, const char *k, const char *s)
{
    hv_set(b, o, k, hv_strv(b, s));
}

static json_t *hv_decv(hv *b, money_dec v)
{
    char buf[MONEY_FMT_MAX];
    int n = money_format(v, buf, sizeof(buf));
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        b->failed = true;
        return NULL;
    }
    return hv_new(b, json_stringn(buf, (size_t)n));
}

/* A decimal as a string, or null when !has. */
static void hv_dec(hv *b, json_t *o, const char *k, bool has, money_dec v)
{
    hv_set(b, o, k, has ? hv_decv(b, v) : hv_new(b, json_null()));
}

static void hv_int(hv *b, json_t *o, const char *k, long long v)
{
    hv_set(b, o, k, hv_new(b, json_integer(v)));
}

/* An int that is -1 when unset, as null. */
static void hv_opt_int(hv *b, json_t *o, const char *k, int v)
{
    hv_set(b, o, k, hv_new(b, v < 0 ? json_null() : json_integer(v)));
}

static void hv_bool(hv *b, json_t *o, const char *k, bool v)
{
    hv_set(b, o, k, hv_new(b, json_boolean(v)));
}

static void hv_date(hv *b, json_t *o, const char *k, bool has, date_days d)
{
    char buf[DATE_FMT_LEN];
    if (!has) {
        hv_set(b, o, k, hv_new(b, json_null()));
        return;
    }
    date_format(d, buf);
    hv_str(b, o, k, buf);
}

static json_t *hv_strlist(hv *b, const char *const *v, size_t n)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < n; i++)
        hv_push(b, a, hv_strv(b, v[i]));
    return a;
}

static json_t *hv_done(hv *b, json_t *v)
{
    if (!b->failed)
        return v;
    json_decref(v);
    return NULL;
}

/* ---- catalog ---- */

static json_t *view_catalog_one(hv *b, const cat_catalog *c)
{
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "id", c->id);
    hv_str(b, o, "name", c->name);
    hv_str(b, o, "version", c->version);
    hv_str(b, o, "currency", c->currency);
    hv_str(b, o, "timezone", c->timezone);
    hv_int(b, o, "products", (long long)c->nproducts);
    hv_str(b, o, "hash", c->hash);
    return o;
}

/* Seconds since the epoch as "2026-05-01T12:34:56Z". */
static json_t *hv_instant(hv *b, long long secs)
{
    char buf[DATE_TS_LEN];
    date_stamp(secs, buf);
    return hv_new(b, json_string(buf));
}

json_t *http_view_catalog(const cat_snapshot *s)
{
    hv b = {.snap = s};
    json_t *o = hv_new(&b, json_object());
    hv_str(&b, o, "version", cat_snapshot_version(s));
    hv_set(&b, o, "loaded_at", hv_instant(&b, cat_snapshot_loaded_at(s)));
    json_t *cats = hv_new(&b, json_array());
    for (size_t i = 0; i < cat_snapshot_catalog_count(s); i++)
        hv_push(&b, cats, view_catalog_one(&b, cat_snapshot_catalog_at(s, i)));
    hv_set(&b, o, "catalogs", cats);
    return hv_done(&b, o);
}

/* ---- product list ---- */

static bool ci_eq(unsigned char a, unsigned char b)
{
    if (a >= 'A' && a <= 'Z')
        a = (unsigned char)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z')
        b = (unsigned char)(b - 'A' + 'a');
    return a == b;
}

/* Whether needle[0..n) occurs in hay, ASCII letters compared without case
 * and every other byte (UTF-8 included) exactly. */
static bool ci_contains(const char *hay, const char *needle, size_t n)
{
    size_t h = strlen(hay);
    for (size_t i = 0; n <= h && i <= h - n; i++) {
        size_t j = 0;
        while (j < n && ci_eq((unsigned char)hay[i + j], (unsigned char)needle[j]))
            j++;
        if (j == n)
            return true;
    }
    return false;
}

static bool list_match(const cat_product *p, const http_list_query *q)
{
    if (q->category && strcmp(p->category, q->category) != 0)
        return false;
    if (q->catalog && strcmp(p->catalog->id, q->catalog) != 0)
        return false;
    if (q->mode >= 0 && (int)p->delivery.mode != q->mode)
        return false;
    return !q->q || ci_contains(p->sku, q->q, q->qlen) || ci_contains(p->name, q->q, q->qlen);
}

static json_t *view_item(hv *b, const cat_product *p)
{
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "sku", p->sku);
    hv_str(b, o, "name", p->name);
    hv_str(b, o, "category", p->category);
    hv_str(b, o, "mode", cat_mode_name(p->delivery.mode));
    hv_str(b, o, "catalog", p->catalog->id);
    hv_bool(b, o, "sellable", p->sellable);
    return o;
}

/* The index of the first product whose SKU sorts after `after` (bytewise). */
static size_t products_after(const cat_snapshot *s, const char *after)
{
    size_t lo = 0, hi = cat_snapshot_product_count(s);
    while (after && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(cat_snapshot_product_at(s, mid)->sku, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

json_t *http_view_products(const cat_snapshot *s, const http_list_query *q)
{
    hv b = {.snap = s};
    json_t *o = hv_new(&b, json_object());
    json_t *items = hv_new(&b, json_array());
    const char *last = NULL, *next = NULL;
    size_t shown = 0;
    for (size_t i = products_after(s, q->page.after);
         i < cat_snapshot_product_count(s) && !b.failed && !next; i++) {
        const cat_product *p = cat_snapshot_product_at(s, i);
        if (!list_match(p, q))
            continue;
        if (shown == q->page.limit) {
            next = last; /* one more matches: the page ends at the last shown */
            break;
        }
        hv_push(&b, items, view_item(&b, p));
        last = p->sku;
        shown++;
    }
    hv_set(&b, o, "items", items);
    hv_set(&b, o, "next", hv_new(&b, next ? json_string(next) : json_null()));
    return hv_done(&b, o);
}

/* ---- product: delivery ---- */

static json_t *view_milestones(hv *b, const cat_delivery *d)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < d->nmilestones; i++) {
        const cat_milestone *m = &d->milestones[i];
        json_t *o = hv_new(b, json_object());
        hv_str(b, o, "id", m->id);
        hv_str(b, o, "name", m->name);
        if (m->is_percent)
            hv_dec(b, o, "percent", true, m->percent);
        else
            hv_dec(b, o, "amount", true, m->amount);
        hv_push(b, a, o);
    }
    return a;
}

/* The keys docs/catalog.md lists for the mode, and nothing else. */
static void view_mode_params(hv *b, json_t *o, const cat_delivery *d)
{
    switch (d->mode) {
    case CAT_MODE_GOODS:
        hv_opt_int(b, o, "lead_time_days", d->lead_time_days);
        break;
    case CAT_MODE_GOODS_WITH_SERVICE:
        hv_set(b, o, "service_items", hv_strlist(b, d->service_items, d->nservice_items));
        hv_opt_int(b, o, "acceptance_days", d->acceptance_days);
        break;
    case CAT_MODE_SUBSCRIPTION:
        hv_str(b, o, "billing_period", cat_period_name(d->billing_period));
        hv_int(b, o, "term_months", d->term_months);
        hv_str(b, o, "billing", d->in_arrears ? "in_arrears" : "in_advance");
        hv_bool(b, o, "auto_renew", d->auto_renew);
        if (d->bill_day > 0) /* only when set: 0 bills on the start day */
            hv_int(b, o, "bill_day", d->bill_day);
        break;
    case CAT_MODE_USAGE:
        hv_str(b, o, "metered_unit", d->metered_unit);
        hv_str(b, o, "billing_period", cat_period_name(d->billing_period));
        hv_dec(b, o, "minimum_commitment", d->has_minimum_commitment, d->minimum_commitment);
        break;
    case CAT_MODE_MILESTONE:
        hv_set(b, o, "milestones", view_milestones(b, d));
        break;
    }
}

static json_t *view_delivery(hv *b, const cat_delivery *d)
{
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "mode", cat_mode_name(d->mode));
    view_mode_params(b, o, d);
    hv_str(b, o, "payment_term", d->payment_term);
    return o;
}

/* ---- product: attributes ---- */

/* The adder of value v as this product prices it: its own override, else
 * the attribute's. */
static json_t *view_adder(hv *b, const cat_prod_attr *pa, const cat_value *v)
{
    for (size_t i = 0; i < pa->nadders; i++) {
        if (strcmp(pa->adders[i].id, v->id) == 0)
            return hv_decv(b, pa->adders[i].adder);
    }
    return v->has_adder ? hv_decv(b, v->adder) : hv_new(b, json_null());
}

static bool value_allowed(const cat_prod_attr *pa, const char *id)
{
    if (!pa->values)
        return true;
    for (size_t i = 0; i < pa->nvalues; i++) {
        if (strcmp(pa->values[i], id) == 0)
            return true;
    }
    return false;
}

/* Enum values offered on this product, in the attribute's order. */
static json_t *view_values(hv *b, const cat_prod_attr *pa)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < pa->attr->nvalues; i++) {
        const cat_value *v = &pa->attr->values[i];
        if (!value_allowed(pa, v->id))
            continue;
        json_t *o = hv_new(b, json_object());
        hv_str(b, o, "id", v->id);
        hv_str(b, o, "name", v->name);
        hv_set(b, o, "adder", view_adder(b, pa, v));
        hv_push(b, a, o);
    }
    return a;
}

static json_t *view_attr(hv *b, const cat_prod_attr *pa)
{
    const cat_attr *at = pa->attr;
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "id", at->id);
    hv_str(b, o, "name", at->name);
    hv_str(b, o, "type", cat_attr_type_name(at->type));
    hv_str(b, o, "unit", at->unit);
    if (at->type == CAT_ATTR_ENUM)
        hv_set(b, o, "values", view_values(b, pa));
    if (at->type == CAT_ATTR_INTEGER || at->type == CAT_ATTR_DECIMAL) {
        hv_dec(b, o, "min", at->has_min, at->min);
        hv_dec(b, o, "max", at->has_max, at->max);
        hv_dec(b, o, "step", at->has_step, at->step);
    }
    if (at->type == CAT_ATTR_TEXT) {
        hv_str(b, o, "pattern", at->pattern);
        hv_int(b, o, "max_length", (long long)at->max_length);
    }
    hv_str(b, o, "default", pa->default_value);
    hv_bool(b, o, "required", pa->required);
    return o;
}

static json_t *view_attrs(hv *b, const cat_product *p)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < p->nattrs; i++)
        hv_push(b, a, view_attr(b, &p->attrs[i]));
    return a;
}

/* ---- product: BOM groups ---- */

static json_t *view_groups(hv *b, const cat_product *p, unsigned depth);

static json_t *view_option(hv *b, const cat_option *op, unsigned depth)
{
    json_t *o = hv_new(b, json_object());
    const cat_product *sub = op->product;
    hv_str(b, o, "sku", op->sku);
    hv_str(b, o, "name", sub ? sub->name : NULL);
    hv_dec(b, o, "qty", true, op->qty);
    if (op->ranged) {
        hv_dec(b, o, "qty_min", true, op->qty_min);
        hv_dec(b, o, "qty_max", true, op->qty_max);
    }
    hv_bool(b, o, "ranged", op->ranged);
    hv_bool(b, o, "default", op->is_default);
    bool nested = sub && sub->ngroups > 0;
    hv_bool(b, o, "has_groups", nested);
    /* Deep or wide BOMs stop expanding here; the client follows
     * /v1/products/{sku} for the rest (has_groups tells it to). */
    if (nested && depth + 1 < HTTP_VIEW_MAX_DEPTH && b->budget > 0)
        hv_set(b, o, "groups", view_groups(b, sub, depth + 1));
    return o;
}

static json_t *view_group(hv *b, const cat_group *g, unsigned depth)
{
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "id", g->id);
    hv_str(b, o, "name", g->name);
    hv_int(b, o, "min", g->min);
    hv_int(b, o, "max", g->max);
    json_t *opts = hv_new(b, json_array());
    for (size_t i = 0; i < g->noptions; i++) {
        if (b->budget > 0)
            b->budget--;
        hv_push(b, opts, view_option(b, &g->options[i], depth));
    }
    hv_set(b, o, "options", opts);
    return o;
}

static json_t *view_groups(hv *b, const cat_product *p, unsigned depth)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < p->ngroups; i++)
        hv_push(b, a, view_group(b, &p->groups[i], depth));
    return a;
}

/* ---- product: constraints ---- */

static const char *const con_kind_names[] = {
    [CAT_CON_REQUIRES] = "requires", [CAT_CON_EXCLUDES] = "excludes",
    [CAT_CON_TABLE] = "table",       [CAT_CON_IF] = "if",
    [CAT_CON_QUANTITY] = "quantity",
};

/* "file:line" with the catalog directory stripped: callers need to find
 * the declaration in the catalog sources, not the server's layout. */
static json_t *view_source(hv *b, cat_pos pos)
{
    const char *f = pos.file ? pos.file : "";
    size_t dl = b->dir ? strlen(b->dir) : 0;
    if (dl && strncmp(f, b->dir, dl) == 0 && f[dl] == '/')
        f += dl + 1;
    return hv_new(b, json_sprintf("%s:%u", f, pos.line));
}

static json_t *view_constraints(hv *b, const cat_product *p)
{
    json_t *a = hv_new(b, json_array());
    for (size_t i = 0; i < p->nconstraints; i++) {
        const cat_constraint *c = &p->constraints[i];
        json_t *o = hv_new(b, json_object());
        hv_str(b, o, "id", c->id);
        hv_str(b, o, "kind", (unsigned)c->kind <= CAT_CON_QUANTITY ? con_kind_names[c->kind] : "?");
        hv_str(b, o, "description", c->description);
        hv_set(b, o, "source", view_source(b, c->pos));
        hv_push(b, a, o);
    }
    return a;
}

/* ---- product: prices ---- */

static bool book_visible(const cat_price_book *bk, const http_caller *c)
{
    if (c->role == HTTP_ROLE_INTERNAL || bk->audience == CAT_AUD_ALL)
        return true;
    if (bk->audience == CAT_AUD_CUSTOMER)
        return false; /* another customer's contracted prices */
    const char *mine = bk->audience == CAT_AUD_SEGMENT ? c->segment : c->partner_id;
    return mine && bk->audience_id && strcmp(mine, bk->audience_id) == 0;
}

static json_t *view_audience(hv *b, const cat_price_book *bk)
{
    if (bk->audience == CAT_AUD_ALL)
        return hv_new(b, json_string("all"));
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, cat_audience_name(bk->audience), bk->audience_id);
    return o;
}

static json_t *view_tiers(hv *b, const cat_pb_entry *e)
{
    if (!e->has_tiers)
        return hv_new(b, json_null());
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "type", cat_tier_type_name(e->tier_type));
    bool blocks = e->tier_type == CAT_TIER_BLOCK || e->tier_type == CAT_TIER_PACKAGE;
    hv_set(b, o, "block_size", hv_new(b, blocks ? json_integer(e->block_size) : json_null()));
    json_t *bands = hv_new(b, json_array());
    for (size_t i = 0; i < e->nbands; i++) {
        json_t *band = hv_new(b, json_object());
        hv_dec(b, band, "from", true, e->bands[i].from);
        hv_dec(b, band, "price", true, e->bands[i].price);
        hv_push(b, bands, band);
    }
    hv_set(b, o, "bands", bands);
    return o;
}

/* The amounts of an entry; cost, floor and ceiling only for internal
 * callers (DESIGN.md: a partner never gets internal prices; a bound is
 * one a partner could price against). */
static void view_amounts(hv *b, json_t *o, const cat_pb_entry *e)
{
    bool internal = b->caller->role == HTTP_ROLE_INTERNAL;
    hv_dec(b, o, "list", true, e->list);
    if (internal) {
        hv_dec(b, o, "floor", e->has_floor, e->floor);
        hv_dec(b, o, "ceiling", e->has_ceiling, e->ceiling);
        hv_dec(b, o, "cost", e->has_cost, e->cost);
    }
    hv_bool(b, o, "unit_price", e->unit_price);
}

static json_t *view_price(hv *b, const cat_price_ref *r)
{
    const cat_price_book *bk = r->book;
    json_t *o = hv_new(b, json_object());
    hv_str(b, o, "book", bk->id);
    hv_str(b, o, "book_name", bk->name);
    hv_str(b, o, "currency", bk->currency);
    hv_set(b, o, "audience", view_audience(b, bk));
    hv_date(b, o, "valid_from", true, r->entry->valid_from);
    hv_date(b, o, "valid_to", r->entry->has_valid_to, r->entry->valid_to);
    hv_str(b, o, "rounding", money_round_name(bk->rounding));
    if (bk->payment_term) /* the book's payment term (docs/receivables.md) */
        hv_str(b, o, "payment_term", bk->payment_term);
    view_amounts(b, o, r->entry);
    hv_set(b, o, "tiers", view_tiers(b, r->entry));
    return o;
}

static json_t *view_prices(hv *b, const cat_product *p)
{
    json_t *a = hv_new(b, json_array());
    size_t n = cat_snapshot_prices(b->snap, p, NULL, 0);
    if (n == 0)
        return a;
    cat_price_ref *refs = calloc(n, sizeof(*refs));
    if (!refs) {
        b->failed = true;
        return a;
    }
    n = cat_snapshot_prices(b->snap, p, refs, n);
    for (size_t i = 0; i < n; i++) {
        if (book_visible(refs[i].book, b->caller))
            hv_push(b, a, view_price(b, &refs[i]));
    }
    free(refs);
    return a;
}

/* ---- product ---- */

json_t *http_view_product(const cat_snapshot *s, const cat_product *p, const http_caller *c)
{
    hv b = {.snap = s, .caller = c, .budget = HTTP_VIEW_MAX_OPTIONS};
    b.dir = cat_snapshot_catalog_dir(s);
    json_t *o = hv_new(&b, json_object());
    hv_str(&b, o, "sku", p->sku);
    hv_str(&b, o, "name", p->name);
    hv_str(&b, o, "category", p->category);
    hv_str(&b, o, "uom", p->uom);
    hv_str(&b, o, "tax_class", p->tax_class);
    hv_bool(&b, o, "sellable", p->sellable);
    hv_str(&b, o, "description", p->description);
    hv_str(&b, o, "catalog", p->catalog->id);
    hv_set(&b, o, "delivery", view_delivery(&b, &p->delivery));
    json_t *q = hv_new(&b, json_object()); /* the quantities it is sold in */
    hv_dec(&b, q, "min", true, p->quantity.min);
    hv_dec(&b, q, "max", true, p->quantity.max);
    hv_dec(&b, q, "step", true, p->quantity.step);
    hv_set(&b, o, "quantity", q);
    hv_set(&b, o, "attributes", view_attrs(&b, p));
    hv_set(&b, o, "groups", view_groups(&b, p, 0));
    hv_set(&b, o, "constraints", view_constraints(&b, p));
    hv_set(&b, o, "prices", view_prices(&b, p));
    return hv_done(&b, o);
}

/* ---- errors ---- */

json_t *http_view_errs(const cpqd_errs *e, size_t max)
{
    hv b = {0};
    json_t *a = hv_new(&b, json_array());
    for (size_t i = 0; i < errs_count(e) && i < max; i++) {
        const cpqd_err *x = errs_get(e, i);
        json_t *o = hv_new(&b, json_object());
        hv_str(&b, o, "file", x->file);
        hv_int(&b, o, "line", x->line);
        hv_int(&b, o, "col", x->col);
        hv_str(&b, o, "message", x->msg);
        for (size_t k = 0; k < x->nfields; k++)
            hv_str(&b, o, x->fields[k].key, x->fields[k].value);
        hv_push(&b, a, o);
    }
    return hv_done(&b, a);
}
