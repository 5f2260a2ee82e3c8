/*
 * price_json_fast: a /v1/price body read straight into a price_request,
 * without a jansson tree (a 10,000-line body is some 60,000 JSON values:
 * building and freeing their tree cost more than pricing them).
 *
 * Contract (price_json_parse relies on it): for a body this reader
 * accepts, the request it builds is the one the jansson path
 * (price_json.c) builds, field for field; everything else -- any syntax
 * or validation error, and anything unusual it does not handle itself (a
 * \u escape, a duplicate key, an unknown or misspelt field, a number with
 * a fraction or more than 18 digits, an empty string, a value of the
 * wrong type, a limit passed) -- makes it give up (PJF_OTHER), and the
 * jansson path reads the body again and reports exactly what it always
 * reported. So the fast path has no error messages of its own: it only
 * ever says yes, with the same answer, or "ask the other one".
 * tests/test_price.c checks both paths on the same bodies.
 */
#include "price_int.h"

#include "cpqd/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fp {
    const char *p, *end;
    arena *a;
    bool off; /* gave up */
} fp;

#define GIVE_UP(f)                                                                                 \
    do {                                                                                           \
        (f)->off = true;                                                                           \
        return;                                                                                    \
    } while (0)

static void ws(fp *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
        f->p++;
}

/* The next significant byte (0 at the end), not consumed. */
static char peek(fp *f)
{
    ws(f);
    return f->p < f->end ? *f->p : '\0';
}

static bool eat(fp *f, char ch)
{
    if (peek(f) != ch)
        return false;
    f->p++;
    return true;
}

/* Whether s[0..n) is well-formed UTF-8 (as jansson requires). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07;
        else
            return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A JSON string (the opening quote next): a NUL-terminated copy in the
 * arena and its length. No \u escapes, no control bytes, valid UTF-8. */
static const char *str(fp *f, size_t *len)
{
    if (!eat(f, '"')) {
        f->off = true;
        return NULL;
    }
    const char *s = f->p;
    bool esc = false;
    while (f->p < f->end && *f->p != '"') {
        unsigned char ch = (unsigned char)*f->p;
        if (ch < 0x20) {
            f->off = true;
            return NULL;
        }
        if (ch == '\\') {
            esc = true;
            f->p++;
            if (f->p >= f->end || !strchr("\"\\/bfnrt", *f->p) || !*f->p) {
                f->off = true;
                return NULL;
            }
        }
        f->p++;
    }
    if (f->p >= f->end) {
        f->off = true;
        return NULL;
    }
    size_t n = (size_t)(f->p - s);
    f->p++; /* the closing quote */
    char *out = arena_strndup(f->a, s, n);
    if (!out) {
        f->off = true;
        return NULL;
    }
    if (esc) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = s[i];
            if (ch == '\\') {
                static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                ch = to[strchr(from, s[++i]) - from];
            }
            out[o++] = ch;
        }
        out[o] = '\0';
        n = o;
    }
    if (!utf8_ok((const unsigned char *)out, n)) {
        f->off = true;
        return NULL;
    }
    *len = n;
    return out;
}

/* A key without escapes (none of the request's keys needs one), read in
 * place; ':' eaten after it. */
static bool key(fp *f, const char **k, size_t *klen)
{
    if (!eat(f, '"'))
        return false;
    const char *s = f->p;
    bool high = false;
    while (f->p < f->end && *f->p != '"') {
        unsigned char ch = (unsigned char)*f->p;
        if (ch < 0x20 || ch == '\\')
            return false;
        high |= ch >= 0x80;
        f->p++;
    }
    if (f->p >= f->end || (high && !utf8_ok((const unsigned char *)s, (size_t)(f->p - s))))
        return false;
    *k = s;
    *klen = (size_t)(f->p - s);
    f->p++;
    return eat(f, ':');
}

/* The index of key k in names (NULL-terminated), or -1. */
static int which(const char *k, size_t klen, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == klen && !memcmp(names[i], k, klen))
            return i;
    return -1;
}

/* A JSON integer as jansson reads one (no fraction or exponent, no
 * leading zero), at most 18 digits. */
static bool integer(fp *f, int64_t *out)
{
    ws(f);
    const char *p = f->p;
    bool neg = p < f->end && *p == '-';
    if (neg)
        p++;
    const char *d = p;
    int64_t v = 0;
    while (p < f->end && *p >= '0' && *p <= '9') {
        if (p - d == 18) /* a 19th digit: could pass INT64_MAX, leave it to jansson */
            return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    size_t n = (size_t)(p - d);
    if (n == 0 || (n > 1 && *d == '0'))
        return false;
    if (p < f->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false;
    f->p = p;
    *out = neg ? -v : v;
    return true;
}

static bool is_null(fp *f)
{
    if (peek(f) == 'n' && f->end - f->p >= 4 && !memcmp(f->p, "null", 4)) {
        f->p += 4;
        return true;
    }
    return false;
}

/* A string of 1..max bytes (jp_str); NULL for null when !req. */
static const char *str_field(fp *f, bool req, size_t max)
{
    if (is_null(f)) {
        if (req)
            f->off = true;
        return NULL;
    }
    size_t n;
    const char *s = str(f, &n);
    if (s && (n == 0 || n > max)) {
        f->off = true;
        return NULL;
    }
    return s;
}

/* A decimal (jp_dec): a JSON integer or a decimal string. */
static void dec_field(fp *f, money_dec *out)
{
    int64_t i;
    if (peek(f) == '"') {
        size_t n;
        const char *s = str(f, &n);
        if (!s || money_parse(s, n, out) != 0)
            f->off = true;
    } else if (integer(f, &i)) {
        *out = money_from_int(i);
    } else {
        f->off = true;
    }
}

/* A JSON true or false (consumed): false if the next value is neither. */
static bool bool_field(fp *f, bool *out)
{
    if (peek(f) == 't' && f->end - f->p >= 4 && !memcmp(f->p, "true", 4)) {
        f->p += 4;
        *out = true;
        return true;
    }
    if (peek(f) == 'f' && f->end - f->p >= 5 && !memcmp(f->p, "false", 5)) {
        f->p += 5;
        *out = false;
        return true;
    }
    return false;
}

/* Iterates an object: call with *first true; returns the next key, or
 * false at its end (or on giving up: check f->off). */
static bool next_key(fp *f, bool *first, const char **k, size_t *klen)
{
    if (eat(f, '}'))
        return false;
    if (!*first && !eat(f, ',')) {
        f->off = true;
        return false;
    }
    *first = false;
    if (!key(f, k, klen)) {
        f->off = true;
        return false;
    }
    return true;
}

/* The index in keys of an object's next member (-1: no member left, or
 * given up on a key that is unknown or seen before: the jansson path
 * reports those). */
static int next_member(fp *f, bool *first, const char *const *keys, unsigned *seen)
{
    const char *k;
    size_t klen;
    if (f->off || !next_key(f, first, &k, &klen))
        return -1;
    int w = which(k, klen, keys);
    if (w < 0 || (*seen & (1u << w))) {
        f->off = true;
        return -1;
    }
    *seen |= 1u << w;
    return w;
}

/* Same for an array: whether another element follows. */
static bool next_elem(fp *f, bool *first)
{
    if (eat(f, ']'))
        return false;
    if (!*first && !eat(f, ',')) {
        f->off = true;
        return false;
    }
    *first = false;
    return true;
}

/* Elements of an array, counted without reading them (the arrays are
 * allocated at their size, as the jansson path does): a shallow scan. */
static size_t count_elems(const fp *f, size_t cap)
{
    const char *p = f->p;
    size_t depth = 0, n = 0;
    bool any = false, in_str = false;
    for (; p < f->end; p++) {
        char ch = *p;
        if (in_str) {
            if (ch == '\\')
                p++;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"') {
            in_str = true;
            any = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
            any = true;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                break;
            depth--;
        } else if (ch == ',' && depth == 0) {
            n++;
        } else if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            any = true;
        }
        if (n > cap)
            return n;
    }
    return any ? n + 1 : 0;
}

static void attrs(fp *f, price_line_in *ln)
{
    if (!eat(f, '{'))
        GIVE_UP(f);
    price_attr_in *v = arena_calloc(f->a, PRICE_MAX_ATTRS + 1, sizeof(*v));
    if (!v)
        GIVE_UP(f);
    bool first = true;
    const char *k;
    size_t klen, n = 0;
    while (next_key(f, &first, &k, &klen)) {
        if (n == PRICE_MAX_ATTRS)
            GIVE_UP(f);
        for (size_t i = 0; i < n; i++)
            if (strlen(v[i].id) == klen && !memcmp(v[i].id, k, klen))
                GIVE_UP(f); /* a duplicate: jansson's error */
        v[n].id = arena_strndup(f->a, k, klen);
        int64_t iv;
        if (peek(f) == '"') {
            size_t len;
            v[n].value = str(f, &len);
        } else if (integer(f, &iv)) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%lld", (long long)iv);
            v[n].value = arena_strdup(f->a, buf);
        } else {
            GIVE_UP(f);
        }
        if (!v[n].id || !v[n].value)
            GIVE_UP(f);
        n++;
    }
    ln->attrs = v;
    ln->nattrs = n;
}

static void options(fp *f, price_line_in *ln)
{
    if (!eat(f, '['))
        GIVE_UP(f);
    size_t n = count_elems(f, PRICE_MAX_OPTIONS);
    if (n > PRICE_MAX_OPTIONS)
        GIVE_UP(f);
    price_option_in *v = arena_calloc(f->a, n + 1, sizeof(*v));
    if (!v)
        GIVE_UP(f);
    bool first = true;
    size_t i = 0;
    while (!f->off && next_elem(f, &first)) {
        if (i == n || !eat(f, '{'))
            GIVE_UP(f);
        static const char *const keys[] = {"sku", "quantity", NULL};
        unsigned seen = 0;
        bool kfirst = true;
        v[i].qty = money_from_int(1);
        for (int w; (w = next_member(f, &kfirst, keys, &seen)) >= 0;) {
            if (w == 0)
                v[i].sku = str_field(f, true, 128);
            else
                dec_field(f, &v[i].qty);
        }
        if (!(seen & 1u))
            GIVE_UP(f);
        i++;
    }
    if (i != n)
        GIVE_UP(f);
    ln->options = v;
    ln->noptions = n;
}

static void config(fp *f, price_line_in *ln)
{
    if (!eat(f, '['))
        GIVE_UP(f);
    size_t n = count_elems(f, 4096);
    if (n > 4096)
        GIVE_UP(f);
    price_choice_in *v = arena_calloc(f->a, n + 1, sizeof(*v));
    if (!v)
        GIVE_UP(f);
    bool first = true;
    size_t i = 0;
    while (!f->off && next_elem(f, &first)) {
        if (i == n || !eat(f, '{'))
            GIVE_UP(f);
        static const char *const keys[] = {"path", "value", "quantity", "exclude", NULL};
        unsigned seen = 0;
        bool kfirst = true;
        for (int w; (w = next_member(f, &kfirst, keys, &seen)) >= 0;) {
            int64_t iv;
            switch (w) {
            case 0: v[i].path = str_field(f, true, 256); break;
            case 1:
                if (peek(f) != '"' && integer(f, &iv)) {
                    char buf[32];
                    snprintf(buf, sizeof(buf), "%lld", (long long)iv);
                    v[i].value = arena_strdup(f->a, buf);
                } else {
                    v[i].value = str_field(f, true, 256);
                }
                if (!v[i].value)
                    GIVE_UP(f);
                break;
            case 2:
                dec_field(f, &v[i].qty);
                v[i].has_qty = true;
                break;
            default:
                if (!bool_field(f, &v[i].exclude))
                    GIVE_UP(f);
                break;
            }
        }
        if ((seen & 3u) != 3u)
            GIVE_UP(f);
        i++;
    }
    if (i != n)
        GIVE_UP(f);
    ln->config = v;
    ln->nconfig = n;
}

static void line(fp *f, price_line_in *ln)
{
    if (!eat(f, '{'))
        GIVE_UP(f);
    static const char *const keys[] = {"id",       "sku",           "quantity", "attributes",
                                       "options",  "configuration", "discount", NULL};
    unsigned seen = 0;
    bool first = true;
    for (int w; (w = next_member(f, &first, keys, &seen)) >= 0;) {
        switch (w) {
        case 0: ln->id = str_field(f, false, 64); break;
        case 1: ln->sku = str_field(f, true, 128); break;
        case 2:
            dec_field(f, &ln->qty);
            if (money_sign(ln->qty) < 0)
                GIVE_UP(f);
            break;
        case 3:
            if (!is_null(f))
                attrs(f, ln);
            break;
        case 4:
            if (!is_null(f)) {
                ln->has_options = true;
                options(f, ln);
            }
            break;
        case 5:
            if (!is_null(f)) {
                ln->has_config = true;
                config(f, ln);
            }
            break;
        default:
            if (!is_null(f)) {
                dec_field(f, &ln->discount);
                ln->has_discount = true;
                if (money_sign(ln->discount) < 0 ||
                    money_cmp(ln->discount, money_from_int(100)) > 0)
                    GIVE_UP(f);
            }
            break;
        }
    }
    if (!(seen & 2u) || !(seen & 4u)) /* sku and quantity are required */
        GIVE_UP(f);
}

static void customer(fp *f, price_request *rq)
{
    if (!eat(f, '{'))
        GIVE_UP(f);
    static const char *const keys[] = {"id", "segment", NULL};
    unsigned seen = 0;
    bool first = true;
    for (int w; (w = next_member(f, &first, keys, &seen)) >= 0;) {
        if (w == 0)
            rq->customer_id = str_field(f, true, 128);
        else
            rq->segment = str_field(f, false, 64);
    }
    if (!rq->customer_id)
        GIVE_UP(f);
}

static void coupons(fp *f, price_request *rq)
{
    if (!eat(f, '['))
        GIVE_UP(f);
    size_t n = count_elems(f, PRICE_MAX_COUPONS);
    if (n > PRICE_MAX_COUPONS)
        GIVE_UP(f);
    const char **v = arena_calloc(f->a, n + 1, sizeof(*v));
    if (!v)
        GIVE_UP(f);
    bool first = true;
    while (!f->off && next_elem(f, &first)) {
        size_t len;
        const char *s = rq->ncoupons < n ? str(f, &len) : NULL;
        if (!s || len == 0 || len > 64)
            GIVE_UP(f);
        v[rq->ncoupons++] = s;
    }
    rq->coupons = v;
}

static void lines(fp *f, price_request *rq)
{
    if (!eat(f, '['))
        GIVE_UP(f);
    size_t n = count_elems(f, PRICE_MAX_LINES);
    if (n == 0 || n > PRICE_MAX_LINES)
        GIVE_UP(f);
    price_line_in *ln = arena_calloc(f->a, n, sizeof(*ln));
    if (!ln)
        GIVE_UP(f);
    bool first = true;
    size_t i = 0;
    while (!f->off && next_elem(f, &first)) {
        if (i == n)
            GIVE_UP(f);
        line(f, &ln[i++]);
    }
    if (i != n)
        GIVE_UP(f);
    rq->lines = ln;
    rq->nlines = n;
}

int price_json_parse_fast(const char *body, size_t len, pjf_more *more, price_req_buf **buf,
                          price_request **out)
{
    *buf = NULL;
    *out = NULL;
    price_req_buf *b = calloc(1, sizeof(*b));
    fp f = {.p = body, .end = body + len, .a = b ? arena_new(16 << 10) : NULL};
    if (!b || !f.a) {
        free(b);
        return CPQD_ENOMEM;
    }
    b->a = f.a;
    price_request *rq = &b->rq;
    const char *keys[] = {"customer", "partner_id", "channel", "role", "currency",
                          "date",     "coupons",    "lines",   more ? more->name : NULL, NULL};
    if (more)
        more->value = NULL;
    unsigned seen = 0;
    bool first = true;
    const char *k, *date = NULL, *cur = NULL;
    size_t klen;
    if (!eat(&f, '{'))
        f.off = true;
    while (!f.off && next_key(&f, &first, &k, &klen)) {
        int w = which(k, klen, keys);
        if (w < 0 || (seen & (1u << w))) {
            f.off = true;
            break;
        }
        seen |= 1u << w;
        switch (w) {
        case 0: customer(&f, rq); break;
        case 1: rq->partner_id = str_field(&f, false, 64); break;
        case 2: rq->channel = str_field(&f, false, 64); break;
        case 3: rq->role = str_field(&f, false, 32); break;
        case 4: cur = str_field(&f, false, 3); break;
        case 5: date = str_field(&f, false, 10); break;
        case 6:
            if (!is_null(&f))
                coupons(&f, rq);
            break;
        case 7: lines(&f, rq); break;
        default: more->value = str_field(&f, true, 10); break;
        }
    }
    ws(&f);
    if (f.p != f.end || !(seen & 1u) || !(seen & 128u))
        f.off = true;
    int minor;
    if (!f.off && cur) {
        if (strlen(cur) != 3 || money_currency_minor(cur, &minor) != 0)
            f.off = true;
        else {
            rq->has_currency = true;
            memcpy(rq->currency, cur, 4);
        }
    }
    rq->date = more ? more->today : date_today();
    if (!f.off && date && date_parse(date, strlen(date), &rq->date) != 0)
        f.off = true;
    if (more) {
        more->dated = date != NULL;
        if ((seen & 32u) && !date) /* "date": null */
            f.off = true;
    }
    if (f.off) {
        price_req_buf_free(b);
        return PJF_OTHER;
    }
    *buf = b;
    *out = rq;
    return 0;
}

/* ---- for tests and fuzz_price: the fast path's contract, checked ---- */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_dec(money_dec a, money_dec b)
{
    return a.coef == b.coef && a.scale == b.scale;
}

bool price_request_same(const price_request *a, const price_request *b)
{
    if (a->qty_use != b->qty_use || !same_str(a->customer_id, b->customer_id) ||
        !same_str(a->segment, b->segment) || !same_str(a->partner_id, b->partner_id) ||
        !same_str(a->channel, b->channel) || !same_str(a->role, b->role) ||
        a->has_authority != b->has_authority || a->partner_view != b->partner_view ||
        a->has_currency != b->has_currency ||
        (a->has_currency && memcmp(a->currency, b->currency, 4)) || a->date != b->date ||
        a->ncoupons != b->ncoupons || a->nlines != b->nlines)
        return false;
    for (size_t i = 0; i < a->ncoupons; i++)
        if (!same_str(a->coupons[i], b->coupons[i]))
            return false;
    for (size_t i = 0; i < a->nlines; i++) {
        const price_line_in *x = &a->lines[i], *y = &b->lines[i];
        if (!same_str(x->id, y->id) || !same_str(x->sku, y->sku) || !same_dec(x->qty, y->qty) ||
            x->nattrs != y->nattrs || x->noptions != y->noptions || x->nconfig != y->nconfig ||
            x->has_options != y->has_options || x->has_config != y->has_config ||
            x->has_discount != y->has_discount ||
            (x->has_discount && !same_dec(x->discount, y->discount)))
            return false;
        for (size_t k = 0; k < x->nattrs; k++)
            if (!same_str(x->attrs[k].id, y->attrs[k].id) ||
                !same_str(x->attrs[k].value, y->attrs[k].value))
                return false;
        for (size_t k = 0; k < x->noptions; k++)
            if (!same_str(x->options[k].sku, y->options[k].sku) ||
                !same_dec(x->options[k].qty, y->options[k].qty))
                return false;
        for (size_t k = 0; k < x->nconfig; k++) {
            const price_choice_in *p = &x->config[k], *q = &y->config[k];
            if (!same_str(p->path, q->path) || !same_str(p->value, q->value) ||
                p->has_qty != q->has_qty || (p->has_qty && !same_dec(p->qty, q->qty)) ||
                p->exclude != q->exclude)
                return false;
        }
    }
    return true;
}
