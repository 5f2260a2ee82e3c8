/*
 * price_json: the wire form of price requests and results
 * (docs/pricing.md "Request" and "Response"). Money, quantities and
 * percents are JSON strings; quantities may also be JSON integers; a JSON
 * number with a fraction is refused wherever an amount goes, so only exact
 * decimal text ever reaches a price. Unknown fields are errors, so a misspelt
 * `discount` is never silently ignored.
 */
#include "price_int.h"

#include "cpqd/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define JSON_MAX_DEPTH 16

typedef struct jp {
    arena *a;
    cpqd_errs *errs;
    int bad;
} jp;

static void jp_err(jp *p, const char *field, const char *msg)
{
    p->bad = 1;
    errs_add(p->errs, CPQD_EINVAL, NULL, 0, 0, "%s: %s", field, msg);
}

/* "lines[i].name" in the request arena. */
static const char *jp_field(jp *p, size_t i, const char *name)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "lines[%zu].%s", i, name);
    const char *s = arena_strdup(p->a, buf);
    return s ? s : "?";
}

/* A field's name for an error: s, or "lines[i].name" when s is NULL,
 * written only when there is an error to report (a valid line costs no
 * formatting). */
typedef struct jf {
    const char *s;
    size_t i;
    const char *name;
} jf;

static jf JF(const char *s)
{
    return (jf){s, 0, NULL};
}

static jf JFL(size_t i, const char *name)
{
    return (jf){NULL, i, name};
}

static void jp_errf(jp *p, jf f, const char *msg)
{
    jp_err(p, f.s ? f.s : jp_field(p, f.i, f.name), msg);
}

/* Only the listed keys. */
static void jp_keys(jp *p, json_t *o, const char *where, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            char buf[200];
            snprintf(buf, sizeof(buf), "%s%s%.60s", where, *where ? "." : "", k);
            jp_err(p, buf, "unknown field");
        }
    }
}

static const char *jp_str(jp *p, json_t *o, const char *key, jf field, bool req, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (req)
            jp_errf(p, field, "is required");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char buf[80];
        snprintf(buf, sizeof(buf), "must be a non-empty string of at most %zu bytes", max);
        jp_errf(p, field, buf);
        return NULL;
    }
    return arena_strdup(p->a, json_string_value(v));
}

/* A decimal given as a string ("2", "1.5") or a JSON integer. */
static bool jp_dec(jp *p, json_t *v, jf field, money_dec *out)
{
    if (json_is_integer(v)) {
        *out = money_from_int(json_integer_value(v));
        return true;
    }
    if (json_is_real(v)) {
        jp_errf(p, field, "must be a decimal string such as \"1.5\" (a JSON number with a fraction is not exact)");
        return false;
    }
    if (!json_is_string(v) ||
        money_parse(json_string_value(v), json_string_length(v), out) != 0) {
        jp_errf(p, field, "must be a decimal string such as \"2\" or \"1.5\"");
        return false;
    }
    return true;
}

static void jp_attrs(jp *p, json_t *o, size_t li, price_line_in *ln)
{
    if (!json_is_object(o)) {
        jp_errf(p, JFL(li, "attributes"), "must be an object of attribute id -> value");
        return;
    }
    size_t n = json_object_size(o);
    if (n > PRICE_MAX_ATTRS) {
        jp_errf(p, JFL(li, "attributes"), "too many attributes");
        return;
    }
    price_attr_in *v = arena_calloc(p->a, n + 1, sizeof(*v));
    const char *k;
    json_t *x;
    size_t i = 0;
    if (!v)
        return;
    json_object_foreach(o, k, x)
    {
        char buf[32];
        const char *val = NULL;
        if (json_is_string(x) && strlen(json_string_value(x)) == json_string_length(x))
            val = json_string_value(x);
        else if (json_is_integer(x)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(x));
            val = buf;
        }
        if (!val) {
            jp_err(p, jp_field(p, li, k),
                   "must be a string (or an integer)");
            continue;
        }
        v[i].id = arena_strdup(p->a, k);
        v[i].value = arena_strdup(p->a, val);
        i++;
    }
    ln->attrs = v;
    ln->nattrs = i;
}

static void jp_options(jp *p, json_t *a, size_t li, price_line_in *ln)
{
    if (!json_is_array(a) || json_array_size(a) > PRICE_MAX_OPTIONS) {
        jp_err(p, jp_field(p, li, "options"),
               "must be an array of {sku, quantity} (at most 256)");
        return;
    }
    size_t n = json_array_size(a);
    price_option_in *v = arena_calloc(p->a, n + 1, sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(a, i);
        char where[64];
        snprintf(where, sizeof(where), "lines[%zu].options[%zu]", li, i);
        if (!json_is_object(o)) {
            jp_err(p, where, "must be an object {sku, quantity}");
            continue;
        }
        static const char *const keys[] = {"sku", "quantity", NULL};
        jp_keys(p, o, where, keys);
        char f[96];
        snprintf(f, sizeof(f), "%s.sku", where);
        v[i].sku = jp_str(p, o, "sku", JF(f), true, 128);
        v[i].qty = money_from_int(1);
        json_t *q = json_object_get(o, "quantity");
        snprintf(f, sizeof(f), "%s.quantity", where);
        if (q)
            jp_dec(p, q, JF(f), &v[i].qty);
    }
    ln->options = v;
    ln->noptions = n;
}

/* "configuration": [{path, value, quantity?, exclude?}] as /v1/configure. */
static void jp_config(jp *p, json_t *a, size_t li, price_line_in *ln)
{
    if (!json_is_array(a) || json_array_size(a) > 4096) {
        jp_err(p, jp_field(p, li, "configuration"),
               "must be an array of {path, value, quantity?, exclude?} (at most 4096)");
        return;
    }
    size_t n = json_array_size(a);
    price_choice_in *v = arena_calloc(p->a, n + 1, sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(a, i);
        char where[64], f[96];
        snprintf(where, sizeof(where), "lines[%zu].configuration[%zu]", li, i);
        if (!json_is_object(o)) {
            jp_err(p, where, "must be an object {path, value, quantity?, exclude?}");
            continue;
        }
        static const char *const keys[] = {"path", "value", "quantity", "exclude", NULL};
        jp_keys(p, o, where, keys);
        snprintf(f, sizeof(f), "%s.path", where);
        v[i].path = jp_str(p, o, "path", JF(f), true, 256);
        json_t *val = json_object_get(o, "value");
        char buf[32];
        if (json_is_integer(val)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(val));
            v[i].value = arena_strdup(p->a, buf);
        } else {
            snprintf(f, sizeof(f), "%s.value", where);
            v[i].value = jp_str(p, o, "value", JF(f), true, 256);
        }
        json_t *q = json_object_get(o, "quantity");
        snprintf(f, sizeof(f), "%s.quantity", where);
        if (q && jp_dec(p, q, JF(f), &v[i].qty))
            v[i].has_qty = true;
        json_t *x = json_object_get(o, "exclude");
        if (x && !json_is_boolean(x)) {
            snprintf(f, sizeof(f), "%s.exclude", where);
            jp_err(p, f, "must be true or false");
        }
        v[i].exclude = json_is_true(x);
    }
    ln->config = v;
    ln->nconfig = n;
}

static void jp_line(jp *p, json_t *o, size_t i, price_line_in *ln)
{
    char where[32];
    if (!json_is_object(o)) {
        snprintf(where, sizeof(where), "lines[%zu]", i);
        jp_err(p, where, "must be an object");
        return;
    }
    static const char *const keys[] = {"id",       "sku",           "quantity", "attributes",
                                       "options",  "configuration", "discount", NULL};
    /* the keys checked first without the line's name, which only an
     * unknown key needs */
    const char *k;
    json_t *kv;
    json_object_foreach(o, k, kv)
    {
        bool ok = false;
        for (const char *const *a = keys; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            snprintf(where, sizeof(where), "lines[%zu]", i);
            jp_keys(p, o, where, keys);
            break;
        }
    }
    ln->id = jp_str(p, o, "id", JFL(i, "id"), false, 64);
    ln->sku = jp_str(p, o, "sku", JFL(i, "sku"), true, 128);
    json_t *q = json_object_get(o, "quantity");
    if (!q)
        jp_errf(p, JFL(i, "quantity"), "is required");
    else if (jp_dec(p, q, JFL(i, "quantity"), &ln->qty) && money_sign(ln->qty) < 0)
        jp_errf(p, JFL(i, "quantity"), "must not be negative");
    json_t *d = json_object_get(o, "discount");
    if (d && !json_is_null(d) && jp_dec(p, d, JFL(i, "discount"), &ln->discount)) {
        ln->has_discount = true;
        if (money_sign(ln->discount) < 0 || money_cmp(ln->discount, money_from_int(100)) > 0)
            jp_errf(p, JFL(i, "discount"), "must be a percent within 0..100");
    }
    json_t *at = json_object_get(o, "attributes");
    if (at && !json_is_null(at))
        jp_attrs(p, at, i, ln);
    /* present, even empty, says how the line is configured: "options": []
     * is a configuration without options, never the catalog's defaults */
    json_t *op = json_object_get(o, "options");
    ln->has_options = op && !json_is_null(op);
    if (ln->has_options)
        jp_options(p, op, i, ln);
    json_t *cf = json_object_get(o, "configuration");
    ln->has_config = cf && !json_is_null(cf);
    if (ln->has_config)
        jp_config(p, cf, i, ln);
}

static void jp_customer(jp *p, json_t *root, price_request *rq)
{
    json_t *c = json_object_get(root, "customer");
    if (!c) {
        jp_err(p, "customer", "is required ({\"id\": \"...\"})");
        return;
    }
    if (!json_is_object(c)) {
        jp_err(p, "customer", "must be an object {id, segment?}");
        return;
    }
    static const char *const keys[] = {"id", "segment", NULL};
    jp_keys(p, c, "customer", keys);
    rq->customer_id = jp_str(p, c, "id", JF("customer.id"), true, 128);
    rq->segment = jp_str(p, c, "segment", JF("customer.segment"), false, 64);
}

static void jp_coupons(jp *p, json_t *a, price_request *rq)
{
    if (!json_is_array(a) || json_array_size(a) > PRICE_MAX_COUPONS) {
        jp_err(p, "coupons", "must be an array of at most 16 coupon codes");
        return;
    }
    const char **v = arena_calloc(p->a, json_array_size(a) + 1, sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *x = json_array_get(a, i);
        if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > 64) {
            char f[32];
            snprintf(f, sizeof(f), "coupons[%zu]", i);
            jp_err(p, f, "must be a coupon code string");
            continue;
        }
        v[rq->ncoupons++] = arena_strdup(p->a, json_string_value(x));
    }
    rq->coupons = v;
}


/* The request in root (borrowed), whose top-level keys in `ignore`
 * (NULL-terminated, or NULL) belong to the caller. */
static int parse_tree(json_t *root, const char *const *ignore, price_req_buf **buf,
                      price_request **out, cpqd_errs *errs)
{
    *buf = NULL;
    *out = NULL;
    price_req_buf *b = calloc(1, sizeof(*b));
    jp p = {.a = b ? arena_new(16 << 10) : NULL, .errs = errs};
    if (!b || !p.a) {
        free(b);
        return CPQD_ENOMEM;
    }
    b->a = p.a;
    price_request *rq = &b->rq;
    if (!json_is_object(root)) {
        jp_err(&p, "body", "must be a JSON object");
        goto out;
    }
    static const char *const keys[] = {"customer", "partner_id", "channel", "role", "currency",
                                       "date", "coupons", "lines", NULL};
    if (ignore) {
        /* the caller's keys are checked by the caller: the rest here */
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
        {
            bool skip = false, ok = false;
            for (const char *const *a = ignore; *a && !skip; a++)
                skip = strcmp(*a, k) == 0;
            for (const char *const *a = keys; *a && !ok && !skip; a++)
                ok = strcmp(*a, k) == 0;
            if (!skip && !ok) {
                char f[80];
                snprintf(f, sizeof(f), "%.60s", k);
                jp_err(&p, f, "unknown field");
            }
        }
    } else {
        jp_keys(&p, root, "", keys);
    }
    jp_customer(&p, root, rq);
    rq->partner_id = jp_str(&p, root, "partner_id", JF("partner_id"), false, 64);
    rq->channel = jp_str(&p, root, "channel", JF("channel"), false, 64);
    rq->role = jp_str(&p, root, "role", JF("role"), false, 32);
    const char *cur = jp_str(&p, root, "currency", JF("currency"), false, 3);
    int minor;
    if (cur && money_currency_minor(cur, &minor) != 0)
        jp_err(&p, "currency", "must be an ISO 4217 currency code such as \"CNY\"");
    else if (cur) {
        rq->has_currency = true;
        memcpy(rq->currency, cur, 4);
    }
    const char *date = jp_str(&p, root, "date", JF("date"), false, 10);
    rq->date = date_today();
    if (date && date_parse(date, strlen(date), &rq->date) != 0)
        jp_err(&p, "date", "must be a date YYYY-MM-DD");
    json_t *cp = json_object_get(root, "coupons");
    if (cp && !json_is_null(cp))
        jp_coupons(&p, cp, rq);
    json_t *lines = json_object_get(root, "lines");
    if (!json_is_array(lines) || json_array_size(lines) == 0) {
        jp_err(&p, "lines", "must be a non-empty array of lines");
        goto out;
    }
    if (json_array_size(lines) > PRICE_MAX_LINES) {
        jp_err(&p, "lines", "too many lines (at most 20000)");
        goto out;
    }
    rq->nlines = json_array_size(lines);
    price_line_in *ln = arena_calloc(p.a, rq->nlines, sizeof(*ln));
    if (!ln) {
        price_req_buf_free(b);
        return CPQD_ENOMEM;
    }
    for (size_t i = 0; i < rq->nlines; i++)
        jp_line(&p, json_array_get(lines, i), i, &ln[i]);
    rq->lines = ln;
out:
    if (p.bad) {
        price_req_buf_free(b);
        return CPQD_EINVAL;
    }
    *buf = b;
    *out = rq;
    return 0;
}

int price_json_parse(const char *body, size_t len, price_req_buf **buf, price_request **out,
                     cpqd_errs *errs)
{
    /* the common case without a tree; anything else as it always was */
    int rc = price_json_parse_fast(body, len, NULL, buf, out);
    if (rc != PJF_OTHER)
        return rc;
    *buf = NULL;
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "invalid JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        return CPQD_EINVAL;
    }
    rc = parse_tree(root, NULL, buf, out, errs);
    json_decref(root);
    return rc;
}

int price_json_parse_tree(const struct json_t *root, const char *const *ignore,
                          price_req_buf **buf, price_request **out, cpqd_errs *errs)
{
    /* read only: jansson's getters take a non-const json_t */
    return parse_tree((json_t *)root, ignore, buf, out, errs);
}

void price_req_buf_free(price_req_buf *b)
{
    if (!b)
        return;
    arena_free(b->a);
    free(b);
}

/* ---- rendering ----
 *
 * Written straight into one growing buffer (a 10,000-line result is about
 * 10 MB of JSON: building a jansson tree for it costs more than pricing
 * it). Strings are escaped per RFC 8259; UTF-8 passes through as it is,
 * so Chinese names round-trip byte for byte. */

typedef struct jw {
    char *b;
    size_t len, cap;
    bool failed;
    const cat_snapshot *s; /* to name files relative to the catalog and rules directories */
    const char *pos_file, *pos_rel; /* the last file named, and its relative name */
    struct {
        const char *s;    /* a string written before (the same pointer: the same bytes) */
        size_t off, len;  /* where its escaped text is in b */
    } seen[256];          /* labels, refs, names, SKUs repeat from line to line */
} jw;

static void jw_grow_slow(jw *w, size_t more)
{
    if (w->failed)
        return;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *b = realloc(w->b, cap);
    if (!b) {
        w->failed = true;
        return;
    }
    w->b = b;
    w->cap = cap;
}

static inline void jw_grow(jw *w, size_t more)
{
    if (w->len + more + 1 > w->cap)
        jw_grow_slow(w, more);
}

static inline void jw_raw(jw *w, const char *s, size_t n)
{
    jw_grow(w, n);
    if (w->failed)
        return;
    memcpy(w->b + w->len, s, n);
    w->len += n;
    w->b[w->len] = '\0';
}

static void jw_lit(jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

/* Bytes a JSON string cannot hold as they are: 1 (escaped), or 2 for the
 * NUL that ends the C string. */
static const unsigned char jw_special[256] = {
    2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

/* The escaped bytes of s up to its NUL, no quotes; its length in *len. */
static void jw_esc(jw *w, const char *s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        size_t run = 0;
        while (!jw_special[p[run]])
            run++;
        jw_raw(w, (const char *)p, run);
        p += run;
        if (!*p || w->failed)
            break;
        unsigned char ch = *p++;
        char e[6] = {'\\', (char)ch};
        size_t n = 2;
        if (ch == '\n') {
            e[1] = 'n';
        } else if (ch < 0x20) {
            char hex[3];
            digest_hex(&ch, 1, hex);
            memcpy(e + 1, "u00", 3);
            e[4] = hex[0];
            e[5] = hex[1];
            n = 6;
        }
        jw_raw(w, e, n);
    }
    if (len)
        *len = (size_t)((const char *)p - s);
}

static void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_raw(w, "null", 4);
        return;
    }
    size_t slot = (((uintptr_t)s >> 3) ^ ((uintptr_t)s >> 11)) & 255;
    jw_raw(w, "\"", 1);
    if (w->seen[slot].s == s) { /* copied from where it was escaped before */
        size_t off = w->seen[slot].off, n = w->seen[slot].len;
        jw_grow(w, n);
        if (w->failed)
            return;
        memcpy(w->b + w->len, w->b + off, n);
        w->len += n;
        w->b[w->len] = '\0';
    } else {
        size_t off = w->len;
        jw_esc(w, s, NULL);
        w->seen[slot].s = s;
        w->seen[slot].off = off;
        w->seen[slot].len = w->len - off;
    }
    jw_raw(w, "\"", 1);
}

/* "key": (keys are the service's own identifiers: nothing to escape) */
static inline void jw_key(jw *w, bool *first, const char *k)
{
    size_t n = strlen(k);
    jw_grow(w, n + 4);
    if (w->failed)
        return;
    char *o = w->b + w->len;
    if (!*first)
        *o++ = ',';
    *first = false;
    *o++ = '"';
    memcpy(o, k, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    w->len = (size_t)(o - w->b);
    w->b[w->len] = '\0';
}

static void jw_kstr(jw *w, bool *first, const char *k, const char *v)
{
    jw_key(w, first, k);
    jw_str(w, v);
}

static void jw_kbool(jw *w, bool *first, const char *k, bool v)
{
    jw_key(w, first, k);
    jw_lit(w, v ? "true" : "false");
}

/* Money as a JSON string with at least the currency's minor places. */
static void jw_kamount(jw *w, bool *first, const char *k, money_dec v, int minor)
{
    char buf[MONEY_FMT_MAX + 2];
    money_dec x = v;
    if (v.scale < minor && money_rescale(v, minor, MONEY_HALF_EVEN, &x) != 0)
        x = v;
    int n = money_format(x, buf + 1, sizeof(buf) - 2);
    if (n < 0) {
        w->failed = true;
        return;
    }
    buf[0] = '"';
    buf[n + 1] = '"';
    jw_key(w, first, k);
    jw_raw(w, buf, (size_t)n + 2);
}

static void jw_kpos(jw *w, bool *first, const char *k, cat_pos pos)
{
    jw_key(w, first, k);
    if (!pos.file) {
        jw_raw(w, "null", 4);
        return;
    }
    /* the same few files over and over: the relative name of the last */
    if (pos.file != w->pos_file) {
        w->pos_file = pos.file;
        w->pos_rel = cat_snapshot_relpath(w->s, pos.file);
    }
    jw_raw(w, "\"", 1);
    jw_esc(w, w->pos_rel, NULL);
    if (pos.line) {
        char buf[16];
        char *p = buf + sizeof(buf);
        unsigned v = pos.line;
        do
            *--p = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        *--p = ':';
        jw_raw(w, p, (size_t)(buf + sizeof(buf) - p));
    }
    jw_raw(w, "\"", 1);
}

static void jw_step(jw *w, const price_step *st, int minor, bool partner_view)
{
    bool f = true, hidden = partner_view && (st->kind == PRICE_STEP_FLOOR ||
                                             st->kind == PRICE_STEP_CEILING);
    jw_raw(w, "{", 1);
    jw_kstr(w, &f, "step", hidden ? "adjustment" : price_step_name(st->kind));
    jw_kstr(w, &f, "label", hidden ? "price adjusted to the book's limits" : st->label);
    if (st->ref && !hidden)
        jw_kstr(w, &f, "ref", st->ref);
    jw_kamount(w, &f, "delta", st->delta, minor);
    jw_kamount(w, &f, "amount", st->amount, minor);
    jw_kpos(w, &f, "source", hidden ? (cat_pos){NULL, 0, 0} : st->source);
    jw_raw(w, "}", 1);
}

static void jw_line(jw *w, const price_line_out *l, int minor, bool partner_view)
{
    bool f = true;
    jw_raw(w, "{", 1);
    jw_kstr(w, &f, "id", l->id);
    jw_kstr(w, &f, "sku", l->product->sku);
    jw_kstr(w, &f, "name", l->product->name);
    jw_kamount(w, &f, "quantity", l->qty, 0);
    jw_kamount(w, &f, "list_price", l->list_unit, minor);
    if (l->book)
        jw_kstr(w, &f, "book", l->book);
    jw_key(w, &f, "waterfall");
    jw_raw(w, "[", 1);
    for (size_t k = 0; k < l->nsteps; k++) {
        if (k)
            jw_raw(w, ",", 1);
        jw_step(w, &l->steps[k], minor, partner_view);
    }
    jw_raw(w, "]", 1);
    money_dec unit;
    if (!money_is_zero(l->qty) &&
        money_div(l->net, l->qty, minor + 2, MONEY_HALF_EVEN, &unit) == 0)
        jw_kamount(w, &f, "unit_price", unit, minor + 2);
    jw_kamount(w, &f, "net", l->net, minor);
    jw_kamount(w, &f, "tax_rate", l->tax_rate, 0);
    jw_kamount(w, &f, "tax", l->tax, minor);
    jw_kamount(w, &f, "total", l->total, minor);
    if (l->has_cost && !partner_view) {
        money_dec cost, margin;
        if (money_rescale(l->cost, minor, MONEY_HALF_EVEN, &cost) == 0 &&
            money_sub(l->net, cost, &margin) == 0) {
            jw_kamount(w, &f, "cost", cost, minor);
            jw_kamount(w, &f, "margin", margin, minor);
        }
    }
    if (l->free_from)
        jw_kstr(w, &f, "free_item_of", l->free_from);
    if (price_config_source_name(l->config_source))
        jw_kstr(w, &f, "configuration", price_config_source_name(l->config_source));
    if (l->configured)
        jw_kbool(w, &f, "configuration_complete", l->config_complete);
    jw_kbool(w, &f, "approval_required", l->approval_required);
    if (l->approval_required) {
        bool g = true;
        jw_key(w, &f, "approval");
        jw_raw(w, "{", 1);
        jw_kstr(w, &g, "level", l->approval_level);
        jw_kstr(w, &g, "reason", l->approval_reason);
        /* what approving needs (the top level, whatever the discount):
         * kept in the stored result for the approval workflow; a partner
         * is never told a bound was met */
        if (l->out_of_bounds && !partner_view)
            jw_kbool(w, &g, "out_of_bounds", true);
        jw_raw(w, "}", 1);
    }
    jw_raw(w, "}", 1);
}

static void jw_promos(jw *w, const price_result *res, int minor, bool applied)
{
    bool first = true;
    jw_raw(w, "[", 1);
    for (size_t i = 0; i < res->npromos; i++) {
        const price_promo_out *p = &res->promos[i];
        if (p->applied != applied)
            continue;
        bool f = true;
        jw_raw(w, first ? "{" : ",{", first ? 1 : 2);
        first = false;
        jw_kstr(w, &f, "id", p->promo->id);
        jw_kstr(w, &f, "name", p->promo->name);
        if (applied)
            jw_kamount(w, &f, "amount", p->amount, minor);
        if (p->reason)
            jw_kstr(w, &f, applied ? "note" : "reason", p->reason);
        jw_kpos(w, &f, "source", p->promo->pos);
        jw_raw(w, "}", 1);
    }
    jw_raw(w, "]", 1);
}

char *price_json_render(const price_result *res, const cat_snapshot *s, bool partner_view)
{
    jw w = {.s = s};
    bool f = true;
    int minor = 2;
    money_currency_minor(res->currency, &minor);
    char date[DATE_FMT_LEN];
    date_format(res->date, date);
    jw_grow(&w, 1024 + res->nlines * 900);
    jw_raw(&w, "{", 1);
    jw_kstr(&w, &f, "currency", res->currency);
    jw_kstr(&w, &f, "date", date);
    jw_kstr(&w, &f, "catalog_version", cat_snapshot_version(s));
    jw_key(&w, &f, "lines");
    jw_raw(&w, "[", 1);
    for (size_t i = 0; i < res->nlines; i++) {
        if (i)
            jw_raw(&w, ",", 1);
        jw_line(&w, &res->lines[i], minor, partner_view);
    }
    jw_raw(&w, "]", 1);
    jw_key(&w, &f, "promotions");
    jw_lit(&w, "{\"applied\":");
    jw_promos(&w, res, minor, true);
    jw_lit(&w, ",\"rejected\":");
    jw_promos(&w, res, minor, false);
    jw_raw(&w, "}", 1);
    jw_key(&w, &f, "approvals");
    jw_raw(&w, "[", 1);
    bool first = true;
    for (size_t i = 0; i < res->nlines; i++) {
        const price_line_out *l = &res->lines[i];
        if (!l->approval_required)
            continue;
        bool g = true;
        jw_raw(&w, first ? "{" : ",{", first ? 1 : 2);
        first = false;
        jw_kstr(&w, &g, "line", l->id);
        jw_kstr(&w, &g, "level", l->approval_level);
        jw_kstr(&w, &g, "reason", l->approval_reason);
        jw_raw(&w, "}", 1);
    }
    jw_raw(&w, "]", 1);
    jw_kbool(&w, &f, "approval_required", res->approval_required);
    if (res->approval_level)
        jw_kstr(&w, &f, "approval_level", res->approval_level);
    money_dec disc;
    if (money_rescale(res->discount, minor, MONEY_HALF_EVEN, &disc) == 0)
        jw_kamount(&w, &f, "discount_total", disc, minor);
    jw_kamount(&w, &f, "subtotal", res->subtotal, minor);
    jw_kamount(&w, &f, "tax", res->tax, minor);
    jw_kamount(&w, &f, "total", res->total, minor);
    jw_raw(&w, "}", 1);
    if (w.failed) {
        free(w.b);
        return NULL;
    }
    return w.b;
}
