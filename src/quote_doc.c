/*
 * quote_doc: GET /v1/quotes/{id}/document, the quote as a printable HTML
 * page for the customer, in Chinese or English (docs/quotes.md "The
 * quote document").
 *
 * Owns: the page's markup, print CSS (A4) and escaping; its labels in
 * both languages and the choice between them (?lang=, Accept-Language);
 * amounts as the page prints them (currency symbol, grouping, minor
 * units); which waterfall steps a customer sees and what they are called;
 * the configuration of a line in words (option and attribute names from
 * the catalogs); payment terms in words. Does not own: any amount (the
 * stored priced result has them all, this file only prints them), the
 * quote, its scope and view (quote.c), which term applies in a contract
 * (contract.c: the same rule is read here, see line_term).
 *
 * Key invariants: every amount on the page is a stored amount, digit for
 * digit, so the page adds up exactly as the priced result does: per line
 * the steps add up to the net (prices without tax) or the total (prices
 * with tax), net + tax = total; the lines add up to the subtotal, the
 * taxes by rate to the tax, subtotal + tax to the total. Nothing internal
 * reaches the page: no cost, margin, floor or ceiling (a clamp shows as a
 * "price adjustment"), book id, source file:line or catalog version.
 * Every string from a catalog or a request is HTML-escaped.
 */
#include "quote_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

/* ---- a growable buffer ---- */

typedef struct hbuf {
    char *b;
    size_t len, cap;
    bool failed;
} hbuf;

static void h_raw(hbuf *h, const char *s, size_t n)
{
    if (h->failed)
        return;
    if (h->len + n + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 16384;
        while (cap < h->len + n + 1)
            cap *= 2;
        char *b = realloc(h->b, cap);
        if (!b) {
            h->failed = true;
            return;
        }
        h->b = b;
        h->cap = cap;
    }
    memcpy(h->b + h->len, s, n);
    h->len += n;
    h->b[h->len] = '\0';
}

/* Markup written by this file (never outside text). */
static void h_lit(hbuf *h, const char *s)
{
    h_raw(h, s, strlen(s));
}

/* Text, HTML-escaped for element content and attribute values; UTF-8
 * passes through unchanged. */
static void h_text(hbuf *h, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            h_lit(h, "&lt;");
            break;
        case '>':
            h_lit(h, "&gt;");
            break;
        case '&':
            h_lit(h, "&amp;");
            break;
        case '"':
            h_lit(h, "&quot;");
            break;
        case '\'':
            h_lit(h, "&#39;");
            break;
        default:
            h_raw(h, s, 1);
        }
    }
}

/* ---- languages and labels ---- */

typedef enum doc_lang { DOC_EN, DOC_ZH } doc_lang;

typedef enum lbl {
    L_TITLE,
    L_NUMBER,
    L_VERSION,
    L_DATE,
    L_PRICING_DATE,
    L_VALID_UNTIL,
    L_STATUS,
    L_CUSTOMER,
    L_PARTNER,
    L_TAX_ID,
    L_CURRENCY,
    L_COL_NO,
    L_COL_DESC,
    L_COL_QTY,
    L_COL_UNIT,
    L_COL_AMOUNT,
    L_SKU,
    L_CONFIG,
    L_BUILDUP,
    L_FOR_QTY,
    L_OPEN,
    L_SEP,
    L_CLOSE,
    L_TAX_INCLUDED_NOTE,
    L_LIST,
    L_OPTION,
    L_FORMULA,
    L_TIER_VOLUME,
    L_TIER_GRADUATED,
    L_TIER_BLOCK,
    L_TIER_PACKAGE,
    L_TIER,
    L_CONTRACT,
    L_PARTNER_PRICE,
    L_DISCOUNT,
    L_PROMOTION,
    L_ADJUST,
    L_ROUNDING,
    L_NET,
    L_TAX,
    L_TAX_OF_WHICH,
    L_LINE_TOTAL,
    L_SUBTOTAL,
    L_TOTAL,
    L_SAVINGS,
    L_TERMS,
    L_VALIDITY,
    L_VALIDITY_END,
    L_PAYMENT,
    L_LINE_OPEN,
    L_LINES_OPEN,
    L_LINES_CLOSE,
    L_COLON,
    L_LIST_SEP,
    L_AMOUNTS_IN,
    L_ON_SIGNING,
    L_ON_DELIVERY,
    L_ON_ACCEPTANCE,
    L_AT_MONTH_END,
    L_AFTER_SIGNING,
    L_AFTER_DELIVERY,
    L_AFTER_ACCEPTANCE,
    L_AFTER_MONTH_END,
    L_ON_DATE,
    L_PARTS,
    L_EVERY_DAYS,
    L_EVERY_MONTHS,
    L_FIRST,
    N_LBL
} lbl;

/* [label][language]: English, Chinese. */
static const char *const labels[N_LBL][2] = {
    [L_TITLE] = {"Quotation", "报价单"},
    [L_NUMBER] = {"Quote number", "报价单号"},
    [L_VERSION] = {"Version", "版本"},
    [L_DATE] = {"Date", "日期"},
    [L_PRICING_DATE] = {"Prices as of", "计价日期"},
    [L_VALID_UNTIL] = {"Valid until", "有效期至"},
    [L_STATUS] = {"Status", "状态"},
    [L_CUSTOMER] = {"Customer", "客户"},
    [L_PARTNER] = {"Partner", "渠道合作伙伴"},
    [L_TAX_ID] = {"Tax ID", "纳税人识别号"},
    [L_CURRENCY] = {"Currency", "币种"},
    [L_COL_NO] = {"#", "序号"},
    [L_COL_DESC] = {"Description", "品名及配置"},
    [L_COL_QTY] = {"Qty", "数量"},
    [L_COL_UNIT] = {"Unit price", "单价"},
    [L_COL_AMOUNT] = {"Amount", "金额"},
    [L_SKU] = {"SKU", "物料号"},
    [L_CONFIG] = {"Configuration", "配置"},
    [L_BUILDUP] = {"Price build-up", "价格构成"},
    [L_FOR_QTY] = {"quantity ", "数量 "},
    [L_OPEN] = {" (", "（"},
    [L_SEP] = {", ", "，"},
    [L_CLOSE] = {")", "）"},
    [L_TAX_INCLUDED_NOTE] = {"prices include tax", "含税价"},
    [L_LIST] = {"List price", "目录价"},
    [L_OPTION] = {"Option", "选配"},
    [L_FORMULA] = {"Price formula", "计价公式"},
    [L_TIER_VOLUME] = {"Volume price", "批量价"},
    [L_TIER_GRADUATED] = {"Graduated price", "阶梯价"},
    [L_TIER_BLOCK] = {"Block price", "整批价"},
    [L_TIER_PACKAGE] = {"Package price", "整包价"},
    [L_TIER] = {"Quantity price", "数量价"},
    [L_CONTRACT] = {"Contract price", "合同价"},
    [L_PARTNER_PRICE] = {"Partner price", "渠道价"},
    [L_DISCOUNT] = {"Discount", "折扣"},
    [L_PROMOTION] = {"Promotion", "促销"},
    [L_ADJUST] = {"Price adjustment", "价格调整"},
    [L_ROUNDING] = {"Rounding", "舍入"},
    [L_NET] = {"Net amount", "不含税金额"},
    [L_TAX] = {"Tax", "税额"},
    [L_TAX_OF_WHICH] = {"Tax included", "其中税额"},
    [L_LINE_TOTAL] = {"Line total", "价税合计"},
    [L_SUBTOTAL] = {"Subtotal (net)", "不含税合计"},
    [L_TOTAL] = {"Total", "报价总额（价税合计）"},
    [L_SAVINGS] = {"Discounts and promotions included: ", "已含折扣及促销优惠："},
    [L_TERMS] = {"Terms", "条款"},
    [L_VALIDITY] = {"This quotation is valid until ", "本报价有效期至"},
    [L_VALIDITY_END] = {".", "。"},
    [L_PAYMENT] = {"Payment terms", "付款条件"},
    [L_LINE_OPEN] = {" (line ", "（适用第 "},
    [L_LINES_OPEN] = {" (lines ", "（适用第 "},
    [L_LINES_CLOSE] = {")", " 行）"},
    [L_COLON] = {": ", "："},
    [L_LIST_SEP] = {"; ", "；"},
    [L_AMOUNTS_IN] = {"Amounts in ", "金额币种："},
    [L_ON_SIGNING] = {"on signing", "签约时"},
    [L_ON_DELIVERY] = {"on delivery", "交付时"},
    [L_ON_ACCEPTANCE] = {"on acceptance", "验收时"},
    [L_AT_MONTH_END] = {"at the end of the month of signing", "签约当月月末"},
    [L_AFTER_SIGNING] = {" days after signing", "签约后 "},
    [L_AFTER_DELIVERY] = {" days after delivery", "交付后 "},
    [L_AFTER_ACCEPTANCE] = {" days after acceptance", "验收后 "},
    [L_AFTER_MONTH_END] = {" days after the end of the month of signing", "签约当月月末后 "},
    [L_ON_DATE] = {"on ", ""},
    [L_PARTS] = {" equal parts", " 期等额"},
    [L_EVERY_DAYS] = {" days", " 天"},
    [L_EVERY_MONTHS] = {" months", " 个月"},
    [L_FIRST] = {", the first ", "，首期"},
};

static const char *const status_zh[QUOTE_STATUS_N] = {
    "草稿", "待审批", "已批准", "已发送", "已接受", "已拒绝", "已过期",
};
static const char *const status_en[QUOTE_STATUS_N] = {
    "draft", "pending approval", "approved", "sent", "accepted", "rejected", "expired",
};

static doc_lang lang_of(const char *tag)
{
    return tag && !strncasecmp(tag, "zh", 2) ? DOC_ZH : DOC_EN;
}

/* ---- Accept-Language (RFC 9110 12.5.4) ---- */

/* A q-value "0", "0.x", "1", "1.000" (up to three decimals) in
 * thousandths, or -1. */
static int qvalue(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int q = (s[0] - '0') * 1000, scale = 100;
    if (n == 1)
        return q;
    if (s[1] != '.' || n > 5)
        return -1;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* One element "range;q=0.8" of s[0..n): its language (DOC_EN, DOC_ZH,
 * or -1 when neither) and its q in thousandths (-1: malformed). */
static void accept_element(const char *s, size_t n, int *lang, int *q)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    size_t r = 0;
    while (r < n && s[r] != ';' && s[r] != ' ' && s[r] != '\t')
        r++;
    size_t prim = 0;
    while (prim < r && s[prim] != '-')
        prim++;
    *lang = -1;
    if ((r == 1 && s[0] == '*') || (prim == 2 && !strncasecmp(s, "en", 2)))
        *lang = DOC_EN;
    else if (prim == 2 && !strncasecmp(s, "zh", 2))
        *lang = DOC_ZH;
    *q = 1000;
    for (size_t i = r; i < n; i++) {
        if (s[i] != ';')
            continue;
        size_t k = i + 1;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k + 2 > n || (s[k] != 'q' && s[k] != 'Q') || s[k + 1] != '=')
            continue; /* another parameter */
        size_t e = k + 2;
        while (e < n && s[e] != ';' && s[e] != ' ' && s[e] != '\t')
            e++;
        *q = qvalue(s + k + 2, e - k - 2);
    }
}

const char *quote_doc_lang_pick(const char *param, const char *accept_language)
{
    if (param && *param)
        return lang_of(param) == DOC_ZH ? "zh-CN" : "en";
    int best = DOC_EN, best_q = 0;
    const char *s = accept_language;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        int lang, q;
        accept_element(s, n, &lang, &q);
        /* the first of the highest q wins; q=0 means "not acceptable" */
        if (lang >= 0 && q > best_q) {
            best = lang;
            best_q = q;
        }
        s += n + (s[n] == ',');
    }
    return best == DOC_ZH ? "zh-CN" : "en";
}

/* ---- amounts ---- */

static const struct cur_symbol {
    const char *code, *en, *zh;
} cur_symbols[] = {
    /* CLDR's symbols for the en and zh-CN locales */
    {"CNY", "CN¥", "¥"}, {"USD", "$", "US$"}, {"JPY", "¥", "JP¥"},
    {"EUR", "€", "€"},   {"GBP", "£", "£"},   {"HKD", "HK$", "HK$"},
};

static const char *cur_symbol(const char *code, doc_lang lang)
{
    for (size_t i = 0; i < sizeof(cur_symbols) / sizeof(cur_symbols[0]); i++)
        if (code && !strcmp(code, cur_symbols[i].code))
            return lang == DOC_ZH ? cur_symbols[i].zh : cur_symbols[i].en;
    return NULL;
}

/* v at least at the currency's minor places, more only where it has
 * non-zero digits there. */
static int amount_places(money_dec v, const char *currency, money_dec *out)
{
    int minor = 2;
    if (money_currency_minor(currency, &minor) != 0)
        minor = 2;
    money_dec n;
    int rc = money_normalize(v, &n);
    if (rc == 0 && n.scale < minor)
        rc = money_rescale(n, minor, MONEY_HALF_EVEN, &n); /* widening: exact */
    if (rc == 0)
        *out = n;
    return rc;
}

int quote_doc_amount_format(money_dec v, const char *currency, const char *lang, bool plus,
                            char *buf, size_t cap)
{
    money_dec n;
    char raw[MONEY_FMT_MAX], out[QUOTE_DOC_AMOUNT_MAX];
    if (amount_places(v, currency, &n) != 0 || money_format(n, raw, sizeof(raw)) < 0)
        return CPQD_ERANGE;
    const char *s = raw, *dot = strchr(raw, '.'), *sym = cur_symbol(currency, lang_of(lang));
    size_t k = 0;
    if (*s == '-')
        out[k++] = *s++;
    else if (plus && money_sign(n) > 0)
        out[k++] = '+';
    int w = sym ? snprintf(out + k, sizeof(out) - k, "%s", sym)
                : snprintf(out + k, sizeof(out) - k, "%.3s\xc2\xa0", currency ? currency : "");
    k += (size_t)w;
    size_t ndig = dot ? (size_t)(dot - s) : strlen(s);
    for (size_t i = 0; i < ndig; i++) {
        if (i && (ndig - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = s[i];
    }
    w = snprintf(out + k, sizeof(out) - k, "%s", dot ? dot : "");
    k += (size_t)w;
    if (k + 1 > cap)
        return CPQD_ERANGE;
    memcpy(buf, out, k + 1);
    return (int)k;
}

/* ---- the document being written ---- */

typedef struct doc {
    hbuf h;
    const svc_ctx *c;
    const char *tag; /* "zh-CN" or "en" */
    doc_lang lang;
    const char *currency;
    int minor;
    const store_quote *q;
    json_t *priced;  /* the stored priced result */
    json_t *request; /* the stored request (NULL if unreadable) */
} doc;

static const char *L(const doc *d, lbl l)
{
    return labels[l][d->lang];
}

static void d_lbl(doc *d, lbl l)
{
    h_lit(&d->h, L(d, l));
}

/* A stored decimal text as a money_dec; false if it is none. */
static bool dec_of(const char *s, money_dec *out)
{
    return s && *s && money_parse(s, strlen(s), out) == 0;
}

/* Amount v, formatted (escaped: a currency code comes from the request). */
static void d_money(doc *d, money_dec v, bool plus)
{
    char buf[QUOTE_DOC_AMOUNT_MAX];
    if (quote_doc_amount_format(v, d->currency, d->tag, plus, buf, sizeof(buf)) < 0)
        h_lit(&d->h, "?");
    else
        h_text(&d->h, buf);
}

/* A stored amount text, formatted; unreadable text is shown escaped as it is. */
static void d_amount(doc *d, const char *text, bool plus)
{
    money_dec v;
    if (dec_of(text, &v))
        d_money(d, v, plus);
    else
        h_text(&d->h, text);
}

/* A date YYYY-MM-DD as the language writes it: 2026-12-31, 2026年12月31日. */
static void d_date(doc *d, const char *iso)
{
    int y, m, dd;
    char tail;
    if (d->lang == DOC_ZH && iso && sscanf(iso, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) == 3) {
        char buf[48];
        snprintf(buf, sizeof(buf), "%d年%d月%d日", y, m, dd);
        h_lit(&d->h, buf);
        return;
    }
    h_text(&d->h, iso);
}

/* A rate 0.13 as "13%". */
static void d_rate(doc *d, const char *rate)
{
    money_dec r, p, n;
    char s[MONEY_FMT_MAX];
    if (!dec_of(rate, &r) || money_mul_int(r, 100, &p) || money_normalize(p, &n) ||
        money_format(n, s, sizeof(s)) < 0) {
        h_text(&d->h, rate);
        return;
    }
    h_lit(&d->h, s);
    h_lit(&d->h, "%");
}

/* A row of a line's amounts: its label goes over the description, quantity
 * and unit-price columns (d_row_open, then the label), its amount in the
 * last column with class cls (d_amount_cell; tests read the page by it). */
static void d_row_open(doc *d, const char *row_cls)
{
    h_lit(&d->h, "<tr class=\"");
    h_lit(&d->h, row_cls);
    h_lit(&d->h, "\"><td></td><td colspan=\"3\">");
}

static void d_amount_cell(doc *d, const char *cls, const char *text, bool plus)
{
    h_lit(&d->h, "</td><td class=\"n ");
    h_lit(&d->h, cls);
    h_lit(&d->h, "\">");
    d_amount(d, text, plus);
    h_lit(&d->h, "</td></tr>\n");
}

/* ---- catalog look-ups (names; every one may be missing after a reload) ---- */

static const cat_product *product_of(const doc *d, const char *sku)
{
    return sku && *sku ? cat_snapshot_product(d->c->snap, sku, strlen(sku)) : NULL;
}

/* The BOM group of p (at any depth) that offers sku. */
static const cat_group *group_of(const cat_product *p, const char *sku, int depth)
{
    if (!p || depth > 16)
        return NULL;
    for (size_t g = 0; g < p->ngroups; g++)
        for (size_t o = 0; o < p->groups[g].noptions; o++)
            if (!strcmp(p->groups[g].options[o].sku, sku))
                return &p->groups[g];
    for (size_t g = 0; g < p->ngroups; g++)
        for (size_t o = 0; o < p->groups[g].noptions; o++) {
            const cat_group *r = group_of(p->groups[g].options[o].product, sku, depth + 1);
            if (r)
                return r;
        }
    return NULL;
}

static const cat_prod_attr *prod_attr(const cat_product *p, const char *id, size_t n)
{
    for (size_t k = 0; p && k < p->nattrs; k++)
        if (strlen(p->attrs[k].attr->id) == n && !strncmp(p->attrs[k].attr->id, id, n))
            return &p->attrs[k];
    return NULL;
}

static const char *formula_name(const cat_product *p, const char *file)
{
    const cat_catalog *cc = p ? p->catalog : NULL;
    for (size_t i = 0; cc && file && i < cc->nformulas; i++)
        if (!strcmp(cc->formulas[i].file, file))
            return cc->formulas[i].name;
    return NULL;
}

/* "name: value" of attribute pa = v: an enum value by its name, a number
 * with the attribute's unit, a text as given. */
static void d_attr(doc *d, const cat_attr *a, const char *v)
{
    h_text(&d->h, a->name ? a->name : a->id);
    d_lbl(d, L_COLON);
    if (a->type == CAT_ATTR_ENUM) {
        for (size_t i = 0; i < a->nvalues; i++)
            if (!strcmp(a->values[i].id, v)) {
                h_text(&d->h, a->values[i].name ? a->values[i].name : v);
                return;
            }
    }
    h_text(&d->h, v);
    if (a->unit && (a->type == CAT_ATTR_INTEGER || a->type == CAT_ATTR_DECIMAL)) {
        h_lit(&d->h, " ");
        h_text(&d->h, a->unit);
    }
}

/* ---- one line ---- */

/* The request line priced as line id (its "id", else its 1-based place). */
static json_t *request_line(const doc *d, const char *id)
{
    size_t i;
    json_t *rl;
    json_array_foreach(json_object_get(d->request, "lines"), i, rl)
    {
        const char *rid = json_string_value(json_object_get(rl, "id"));
        char pos[24];
        snprintf(pos, sizeof(pos), "%zu", i + 1);
        if (!strcmp(rid ? rid : pos, id))
            return rl;
    }
    return NULL;
}

/* The value the line was priced with for attribute id: its attributes,
 * else a root "@id" choice of its configuration, else NULL. */
static const char *line_attr_value(json_t *rl, const char *id)
{
    const char *v = json_string_value(json_object_get(json_object_get(rl, "attributes"), id));
    if (v)
        return v;
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(rl, "configuration"), i, ch)
    {
        const char *path = json_string_value(json_object_get(ch, "path"));
        if (path && path[0] == '@' && !strcmp(path + 1, id) &&
            !json_is_true(json_object_get(ch, "exclude")))
            return json_string_value(json_object_get(ch, "value"));
    }
    return NULL;
}

/* The per-unit quantity of an option step: price.c labels it "option SKU
 * x QTY (book B)"; "option SKU (included)" has no quantity of its own. */
static bool option_qty(const char *label, const char *sku, char *out, size_t cap)
{
    size_t n = strlen(sku);
    if (strncmp(label, "option ", 7) || strncmp(label + 7, sku, n) ||
        strncmp(label + 7 + n, " x ", 3))
        return false;
    const char *q = label + 10 + n;
    size_t len = strcspn(q, " ");
    if (len == 0 || len + 1 > cap)
        return false;
    memcpy(out, q, len);
    out[len] = '\0';
    money_dec v;
    return dec_of(out, &v);
}

static void d_cfg_open(doc *d)
{
    h_lit(&d->h, "<tr class=\"cfg\"><td></td><td colspan=\"4\">");
}

/* The caption row of a line's configuration, once. */
static void d_cfg_caption(doc *d, bool *done)
{
    if (*done)
        return;
    *done = true;
    h_lit(&d->h, "<tr class=\"cap\"><td></td><td colspan=\"4\">");
    d_lbl(d, L_CONFIG);
    h_lit(&d->h, "</td></tr>\n");
}

/* The configuration rows of a line: its attribute choices in the
 * product's order (given, else the product's defaults, as priced), then
 * its options with their groups and per-unit quantities. */
static void line_config(doc *d, const cat_product *p, json_t *rl, json_t *steps)
{
    bool any = false;
    for (size_t k = 0; p && k < p->nattrs; k++) {
        const cat_prod_attr *pa = &p->attrs[k];
        const char *v = line_attr_value(rl, pa->attr->id);
        if (!v)
            v = pa->default_value;
        if (!v)
            continue;
        d_cfg_caption(d, &any);
        d_cfg_open(d);
        d_attr(d, pa->attr, v);
        h_lit(&d->h, "</td></tr>\n");
    }
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        const char *sku = quote_jget(st, "ref");
        if (strcmp(quote_jget(st, "step"), "option") || !*sku)
            continue;
        d_cfg_caption(d, &any);
        const cat_group *g = group_of(p, sku, 0);
        const cat_product *o = product_of(d, sku);
        char qty[32];
        d_cfg_open(d);
        if (g) {
            h_text(&d->h, g->name ? g->name : g->id);
            d_lbl(d, L_COLON);
        }
        h_text(&d->h, o ? o->name : sku);
        h_lit(&d->h, " <span class=\"sku\">");
        h_text(&d->h, sku);
        h_lit(&d->h, "</span>");
        if (option_qty(quote_jget(st, "label"), sku, qty, sizeof(qty))) {
            h_lit(&d->h, " × ");
            h_text(&d->h, qty);
        }
        h_lit(&d->h, "</td></tr>\n");
    }
}

/* The name of promotion id as the priced result lists it. */
static const char *promo_name(const doc *d, const char *id)
{
    size_t i;
    json_t *p;
    json_t *applied = json_object_get(json_object_get(d->priced, "promotions"), "applied");
    json_array_foreach(applied, i, p)
    {
        if (!strcmp(quote_jget(p, "id"), id))
            return quote_jget(p, "name");
    }
    return NULL;
}

static lbl tier_label(const char *label)
{
    static const struct {
        const char *word;
        lbl l;
    } tiers[] = {{"volume ", L_TIER_VOLUME},
                 {"graduated ", L_TIER_GRADUATED},
                 {"block ", L_TIER_BLOCK},
                 {"package ", L_TIER_PACKAGE}};
    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
        if (!strncmp(label, tiers[i].word, strlen(tiers[i].word)))
            return tiers[i].l;
    return L_TIER;
}

/* "List price CN¥2,680,000.00 × 2". */
static void step_list(doc *d, json_t *l)
{
    money_dec list, qty;
    d_lbl(d, L_LIST);
    if (dec_of(quote_jget(l, "list_price"), &list) && dec_of(quote_jget(l, "quantity"), &qty) &&
        money_cmp(qty, money_from_int(1)) != 0) {
        h_lit(&d->h, " ");
        d_money(d, list, false);
        h_lit(&d->h, " × ");
        h_text(&d->h, quote_jget(l, "quantity"));
    }
}

/* "Colour: Champagne gold" for the adder ref "colour=champagne". */
static void step_adder(doc *d, const cat_product *p, const char *ref)
{
    const char *eq = strchr(ref, '=');
    const cat_prod_attr *pa = eq ? prod_attr(p, ref, (size_t)(eq - ref)) : NULL;
    if (pa)
        d_attr(d, pa->attr, eq + 1);
    else
        h_text(&d->h, ref);
}

static void step_option(doc *d, const char *sku, const char *label)
{
    const cat_product *o = product_of(d, sku);
    char qty[32];
    d_lbl(d, L_OPTION);
    d_lbl(d, L_COLON);
    h_text(&d->h, o ? o->name : sku);
    if (option_qty(label, sku, qty, sizeof(qty))) {
        h_lit(&d->h, " × ");
        h_text(&d->h, qty);
    }
}

/* "Discount 5%" from price.c's "requested discount 5%". */
static void step_discount(doc *d, const char *label)
{
    static const char pre[] = "requested discount ";
    d_lbl(d, L_DISCOUNT);
    if (!strncmp(label, pre, sizeof(pre) - 1)) {
        h_lit(&d->h, " ");
        h_text(&d->h, label + sizeof(pre) - 1);
    }
}

/* What the customer reads for one waterfall step: never a book id, a
 * source, or whether a floor or a ceiling was met. */
static void step_label(doc *d, json_t *l, const cat_product *p, json_t *st)
{
    const char *kind = quote_jget(st, "step"), *ref = quote_jget(st, "ref"),
               *label = quote_jget(st, "label");
    if (!strcmp(kind, "list")) {
        step_list(d, l);
    } else if (!strcmp(kind, "adder")) {
        step_adder(d, p, ref);
    } else if (!strcmp(kind, "option")) {
        step_option(d, ref, label);
    } else if (!strcmp(kind, "formula")) {
        const char *name = formula_name(p, ref);
        if (name)
            h_text(&d->h, name);
        else
            d_lbl(d, L_FORMULA);
    } else if (!strcmp(kind, "tier")) {
        d_lbl(d, tier_label(label));
    } else if (!strcmp(kind, "contract")) {
        d_lbl(d, strncmp(label, "partner ", 8) ? L_CONTRACT : L_PARTNER_PRICE);
    } else if (!strcmp(kind, "discount")) {
        step_discount(d, label);
    } else if (!strcmp(kind, "promotion")) {
        const char *name = promo_name(d, ref);
        d_lbl(d, L_PROMOTION);
        d_lbl(d, L_COLON);
        h_text(&d->h, name ? name : ref);
    } else if (!strcmp(kind, "rounding")) {
        d_lbl(d, L_ROUNDING);
    } else { /* floor, ceiling, a partner's "adjustment", anything new */
        d_lbl(d, L_ADJUST);
    }
}

/* The price steps of a line, each with its amount (the list price as it
 * is, every later step as a signed change). Steps that change nothing
 * (an option included in the price) are in the configuration only. */
static void line_steps(doc *d, json_t *l, const cat_product *p, bool incl)
{
    h_lit(&d->h, "<tr class=\"cap\"><td></td><td colspan=\"4\">");
    d_lbl(d, L_BUILDUP);
    money_dec qty;
    bool many = dec_of(quote_jget(l, "quantity"), &qty) && money_cmp(qty, money_from_int(1)) != 0;
    if (many || incl) /* "Price build-up (quantity 2, prices include tax)" */
        d_lbl(d, L_OPEN);
    if (many) {
        d_lbl(d, L_FOR_QTY);
        h_text(&d->h, quote_jget(l, "quantity"));
    }
    if (many && incl)
        d_lbl(d, L_SEP);
    if (incl)
        d_lbl(d, L_TAX_INCLUDED_NOTE);
    if (many || incl)
        d_lbl(d, L_CLOSE);
    h_lit(&d->h, "</td></tr>\n");
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(l, "waterfall"), i, st)
    {
        money_dec delta;
        bool list = !strcmp(quote_jget(st, "step"), "list");
        if (!list && dec_of(quote_jget(st, "delta"), &delta) && money_is_zero(delta))
            continue;
        d_row_open(d, "step");
        step_label(d, l, p, st);
        d_amount_cell(d, "st", quote_jget(st, "delta"), !list);
    }
}

static void sum_row(doc *d, json_t *l, const char *row_cls, lbl label, const char *key)
{
    d_row_open(d, row_cls);
    d_lbl(d, label);
    d_amount_cell(d, key, quote_jget(l, key), false);
}

static void tax_row(doc *d, json_t *l, bool incl)
{
    d_row_open(d, "sum");
    d_lbl(d, incl ? L_TAX_OF_WHICH : L_TAX);
    h_lit(&d->h, " ");
    d_rate(d, quote_jget(l, "tax_rate"));
    d_amount_cell(d, "tax", quote_jget(l, "tax"), false);
}

/* Net, tax and total, in the order they follow from the steps: prices
 * without tax add up to the net, then net + tax = total; prices with tax
 * add up to the total, which holds the tax (net = total - tax). */
static void line_sums(doc *d, json_t *l, bool incl)
{
    if (incl) {
        sum_row(d, l, "sum total", L_LINE_TOTAL, "total");
        tax_row(d, l, true);
        sum_row(d, l, "sum", L_NET, "net");
    } else {
        sum_row(d, l, "sum", L_NET, "net");
        tax_row(d, l, false);
        sum_row(d, l, "sum total", L_LINE_TOTAL, "total");
    }
}

/* Prices of this line include tax: its steps end at the total, not at
 * the net (read from the amounts, so a line whose product left the
 * catalogs still prints right; with no tax both are the same). */
static bool line_incl(json_t *l)
{
    json_t *steps = json_object_get(l, "waterfall");
    const char *end = quote_jget(json_array_get(steps, json_array_size(steps) - 1), "amount");
    money_dec e, net, total;
    return dec_of(end, &e) && dec_of(quote_jget(l, "net"), &net) &&
           dec_of(quote_jget(l, "total"), &total) && money_cmp(e, total) == 0 &&
           money_cmp(e, net) != 0;
}

/* The unit-price column: the line's amount (net, or total with prices
 * with tax) per unit, at the currency's minor units; with more places
 * only for an entry priced per unit with more (a unit_price entry such
 * as 0.0035 per call). Empty for a zero quantity. */
static void d_unit_price(doc *d, json_t *l, bool incl)
{
    money_dec amount, qty, list, unit;
    if (!dec_of(quote_jget(l, incl ? "total" : "net"), &amount) ||
        !dec_of(quote_jget(l, "quantity"), &qty) || money_is_zero(qty))
        return;
    int places = d->minor;
    if (dec_of(quote_jget(l, "list_price"), &list) && list.scale > places)
        places = list.scale > 6 ? 6 : list.scale;
    if (money_div(amount, qty, places, MONEY_HALF_EVEN, &unit) == 0)
        d_money(d, unit, false);
}

static void line_head(doc *d, json_t *l, size_t no, bool incl)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%zu", no);
    h_lit(&d->h, "<tr class=\"item\"><td class=\"no\">");
    h_lit(&d->h, buf);
    h_lit(&d->h, "</td><td><div class=\"name\">");
    h_text(&d->h, quote_jget(l, "name"));
    h_lit(&d->h, "</div><div class=\"sku\">");
    d_lbl(d, L_SKU);
    h_lit(&d->h, " ");
    h_text(&d->h, quote_jget(l, "sku"));
    h_lit(&d->h, "</div></td><td class=\"n qty\">");
    h_text(&d->h, quote_jget(l, "quantity"));
    h_lit(&d->h, "</td><td class=\"n unit\">");
    d_unit_price(d, l, incl);
    h_lit(&d->h, "</td><td></td></tr>\n");
}

/* One line as a table body of its own, kept on one page when it fits. */
static void doc_line(doc *d, json_t *l, size_t no)
{
    const cat_product *p = product_of(d, quote_jget(l, "sku"));
    bool incl = line_incl(l);
    char buf[32];
    snprintf(buf, sizeof(buf), "%zu", no);
    h_lit(&d->h, "<tbody class=\"line\" data-line=\"");
    h_lit(&d->h, buf);
    h_lit(&d->h, incl ? "\" data-tax-included=\"true\">\n" : "\" data-tax-included=\"false\">\n");
    line_head(d, l, no, incl);
    line_config(d, p, request_line(d, quote_jget(l, "id")), json_object_get(l, "waterfall"));
    line_steps(d, l, p, incl);
    line_sums(d, l, incl);
    h_lit(&d->h, "</tbody>\n");
}

/* ---- head, totals, terms ---- */

/* Opens a row of the head table; the caller writes the value and closes
 * it with meta_end. */
static void meta_row(doc *d, lbl l)
{
    h_lit(&d->h, "<tr><th>");
    d_lbl(d, l);
    h_lit(&d->h, "</th><td>");
}

static void meta_end(doc *d)
{
    h_lit(&d->h, "</td></tr>\n");
}

/* The seller: the issuer of the first line's catalog (its finance
 * section), if it names one. */
static void doc_seller(doc *d)
{
    json_t *l0 = json_array_get(json_object_get(d->priced, "lines"), 0);
    const cat_product *p = product_of(d, quote_jget(l0, "sku"));
    const cat_finance *f = p ? p->catalog->finance : NULL;
    if (!f || !f->issuer.name)
        return;
    h_lit(&d->h, "<div class=\"seller\"><div class=\"seller-name\">");
    h_text(&d->h, f->issuer.name);
    h_lit(&d->h, "</div>");
    if (f->issuer.address) {
        h_lit(&d->h, "<div>");
        h_text(&d->h, f->issuer.address);
        h_lit(&d->h, "</div>");
    }
    if (f->issuer.tax_id) {
        h_lit(&d->h, "<div>");
        d_lbl(d, L_TAX_ID);
        d_lbl(d, L_COLON);
        h_text(&d->h, f->issuer.tax_id);
        h_lit(&d->h, "</div>");
    }
    h_lit(&d->h, "</div>\n");
}

static const cat_partner *partner_of(const doc *d, const char *id)
{
    for (size_t i = 0; id && i < cat_snapshot_catalog_count(d->c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(d->c->snap, i);
        for (size_t k = 0; k < cc->npartners; k++)
            if (!strcmp(cc->partners[k].id, id))
                return &cc->partners[k];
    }
    return NULL;
}

static void doc_meta(doc *d)
{
    const store_quote *q = d->q;
    char ver[24], date[11] = "";
    snprintf(ver, sizeof(ver), "%d", q->version);
    if (q->created_at)
        snprintf(date, sizeof(date), "%.10s", q->created_at);
    h_lit(&d->h, "<table class=\"meta\">\n");
    meta_row(d, L_NUMBER);
    h_text(&d->h, q->number);
    meta_end(d);
    meta_row(d, L_VERSION);
    h_lit(&d->h, ver);
    meta_end(d);
    meta_row(d, L_DATE);
    d_date(d, date);
    meta_end(d);
    const char *priced_on = quote_jget(d->priced, "date");
    if (*priced_on && strcmp(priced_on, date)) {
        meta_row(d, L_PRICING_DATE);
        d_date(d, priced_on);
        meta_end(d);
    }
    if (q->valid_until) {
        meta_row(d, L_VALID_UNTIL);
        d_date(d, q->valid_until);
        meta_end(d);
    }
    meta_row(d, L_CUSTOMER);
    h_text(&d->h, q->customer_id);
    meta_end(d);
    if (q->partner_id) {
        const cat_partner *pt = partner_of(d, q->partner_id);
        meta_row(d, L_PARTNER);
        h_text(&d->h, pt && pt->name ? pt->name : q->partner_id);
        meta_end(d);
    }
    quote_status st = quote_effective_status(d->c, q);
    meta_row(d, L_STATUS);
    h_lit(&d->h, d->lang == DOC_ZH ? status_zh[st] : status_en[st]);
    meta_end(d);
    meta_row(d, L_CURRENCY);
    h_text(&d->h, d->currency);
    meta_end(d);
    h_lit(&d->h, "</table>\n");
}

static void doc_head(doc *d)
{
    h_lit(&d->h, "<header>");
    doc_seller(d);
    h_lit(&d->h, "<h1>");
    d_lbl(d, L_TITLE);
    h_lit(&d->h, " <span class=\"number\">");
    h_text(&d->h, d->q->number);
    h_lit(&d->h, "</span></h1>\n");
    doc_meta(d);
    h_lit(&d->h, "</header>\n");
}

static void doc_lines(doc *d)
{
    h_lit(&d->h, "<table class=\"lines\"><colgroup><col class=\"c-no\"><col><col class=\"c-qty\">"
                 "<col class=\"c-unit\"><col class=\"c-amt\"></colgroup>\n<thead><tr><th>");
    d_lbl(d, L_COL_NO);
    h_lit(&d->h, "</th><th>");
    d_lbl(d, L_COL_DESC);
    h_lit(&d->h, "</th><th class=\"n\">");
    d_lbl(d, L_COL_QTY);
    h_lit(&d->h, "</th><th class=\"n\">");
    d_lbl(d, L_COL_UNIT);
    h_lit(&d->h, "</th><th class=\"n\">");
    d_lbl(d, L_COL_AMOUNT);
    h_lit(&d->h, "</th></tr></thead>\n");
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(d->priced, "lines"), i, l)
    {
        doc_line(d, l, i + 1);
    }
    h_lit(&d->h, "</table>\n");
}

/* One "Tax 13%" row of the totals: the lines' taxes at that rate (per
 * document, the tax was allocated back onto the lines, so these sums are
 * the document's tax by class). */
static void totals_tax_row(doc *d, json_t *lines, size_t first)
{
    const char *rate = quote_jget(json_array_get(lines, first), "tax_rate");
    money_dec sum = money_from_int(0), t;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        if (i >= first && !strcmp(quote_jget(l, "tax_rate"), rate) &&
            dec_of(quote_jget(l, "tax"), &t) && money_add(sum, t, &sum) != 0)
            return;
    }
    h_lit(&d->h, "<tr><th>");
    d_lbl(d, L_TAX);
    h_lit(&d->h, " ");
    d_rate(d, rate);
    h_lit(&d->h, "</th><td class=\"n taxrate\">");
    d_money(d, sum, false);
    h_lit(&d->h, "</td></tr>\n");
}

static void doc_totals(doc *d)
{
    json_t *lines = json_object_get(d->priced, "lines");
    h_lit(&d->h, "<table class=\"totals\"><tr><th>");
    d_lbl(d, L_SUBTOTAL);
    h_lit(&d->h, "</th><td class=\"n subtotal\">");
    d_amount(d, quote_jget(d->priced, "subtotal"), false);
    h_lit(&d->h, "</td></tr>\n");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const char *rate = quote_jget(json_array_get(lines, i), "tax_rate");
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(quote_jget(json_array_get(lines, k), "tax_rate"), rate);
        if (!seen)
            totals_tax_row(d, lines, i);
    }
    h_lit(&d->h, "<tr class=\"grand\"><th>");
    d_lbl(d, L_TOTAL);
    h_lit(&d->h, "</th><td class=\"n grand\">");
    d_amount(d, quote_jget(d->priced, "total"), false);
    h_lit(&d->h, "</td></tr></table>\n");
    money_dec saved;
    if (dec_of(quote_jget(d->priced, "discount_total"), &saved) && money_sign(saved) > 0) {
        h_lit(&d->h, "<p class=\"savings\">");
        d_lbl(d, L_SAVINGS);
        d_money(d, saved, false);
        h_lit(&d->h, "</p>\n");
    }
}

/* The payment term of a priced line (docs/receivables.md "Which term
 * applies", as contract.c decides it at acceptance): the quote's
 * partner's, the line's price book's, the customer segment's (the
 * partner's for a partner's quote), the product's; looked up in the
 * product's catalog. NULL: none (or a free item, which is never billed). */
static const cat_term *line_term(const doc *d, json_t *l)
{
    const cat_product *p = product_of(d, quote_jget(l, "sku"));
    if (!p || json_object_get(l, "free_item_of"))
        return NULL;
    const cat_catalog *cat = p->catalog;
    const char *named = NULL, *book = quote_jget(l, "book");
    const char *seg =
        json_string_value(json_object_get(json_object_get(d->request, "caller"), "segment"));
    if (!seg)
        seg =
            json_string_value(json_object_get(json_object_get(d->request, "customer"), "segment"));
    for (size_t i = 0; d->q->partner_id && !named && i < cat->npartners; i++)
        if (!strcmp(cat->partners[i].id, d->q->partner_id))
            named = cat->partners[i].payment_term;
    for (size_t i = 0; !named && i < cat->nbooks; i++)
        if (!strcmp(cat->books[i].id, book))
            named = cat->books[i].payment_term;
    for (size_t i = 0; seg && !named && i < cat->nsegments; i++)
        if (!strcmp(cat->segments[i].id, seg))
            named = cat->segments[i].payment_term;
    if (!named)
        named = p->delivery.payment_term;
    for (size_t i = 0; named && i < cat->nterms; i++)
        if (!strcmp(cat->terms[i].id, named))
            return &cat->terms[i];
    return NULL;
}

static void d_int(doc *d, int v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", v);
    h_lit(&d->h, buf);
}

/* When an installment (or its first part) falls due, in words. */
static void inst_when(doc *d, const cat_installment *in)
{
    static const lbl on[] = {[CAT_DUE_SIGNING] = L_ON_SIGNING,
                             [CAT_DUE_DELIVERY] = L_ON_DELIVERY,
                             [CAT_DUE_ACCEPTANCE] = L_ON_ACCEPTANCE,
                             [CAT_DUE_END_OF_MONTH] = L_AT_MONTH_END};
    static const lbl after[] = {[CAT_DUE_SIGNING] = L_AFTER_SIGNING,
                                [CAT_DUE_DELIVERY] = L_AFTER_DELIVERY,
                                [CAT_DUE_ACCEPTANCE] = L_AFTER_ACCEPTANCE,
                                [CAT_DUE_END_OF_MONTH] = L_AFTER_MONTH_END};
    if (in->due == CAT_DUE_DATE) {
        char iso[DATE_FMT_LEN];
        date_format(in->date, iso);
        d_lbl(d, L_ON_DATE);
        d_date(d, iso);
    } else if (in->days == 0) {
        d_lbl(d, on[in->due]);
    } else if (d->lang == DOC_ZH) { /* 交付后 15 天 */
        d_lbl(d, after[in->due]);
        d_int(d, in->days);
        h_lit(&d->h, " 天");
    } else { /* 15 days after delivery */
        d_int(d, in->days);
        d_lbl(d, after[in->due]);
    }
}

/* The share of an installment: "30%" or a fixed amount. */
static void inst_share(doc *d, const cat_installment *in, const cat_catalog *cat)
{
    if (!in->is_percent) {
        char buf[QUOTE_DOC_AMOUNT_MAX];
        if (quote_doc_amount_format(in->amount, cat->currency, d->tag, false, buf, sizeof(buf)) > 0)
            h_text(&d->h, buf);
        return;
    }
    money_dec n;
    char s[MONEY_FMT_MAX];
    if (money_normalize(in->percent, &n) == 0 && money_format(n, s, sizeof(s)) > 0) {
        h_lit(&d->h, s);
        h_lit(&d->h, "%");
    }
}

/* One installment in words: en "70% 15 days after delivery", "70% in 4
 * equal parts every 30 days, the first on delivery"; zh "交付后 15 天付
 * 70%", "70% 分 4 期等额，每 30 天一期，首期交付时". */
static void inst_words(doc *d, const cat_installment *in, const cat_catalog *cat)
{
    bool parts = in->parts >= 2;
    if (d->lang == DOC_ZH && !parts) {
        inst_when(d, in);
        h_lit(&d->h, "付 ");
        inst_share(d, in, cat);
        return;
    }
    inst_share(d, in, cat);
    if (!parts) {
        h_lit(&d->h, " ");
        inst_when(d, in);
        return;
    }
    bool months = in->every_months > 0;
    h_lit(&d->h, d->lang == DOC_ZH ? " 分 " : " in ");
    d_int(d, (int)in->parts);
    d_lbl(d, L_PARTS);
    h_lit(&d->h, d->lang == DOC_ZH ? "，每 " : " every ");
    d_int(d, months ? in->every_months : in->every_days);
    d_lbl(d, months ? L_EVERY_MONTHS : L_EVERY_DAYS);
    if (d->lang == DOC_ZH)
        h_lit(&d->h, "一期");
    d_lbl(d, L_FIRST);
    inst_when(d, in);
}

static void term_item(doc *d, const cat_term *t, const cat_term *const *terms, size_t n,
                      size_t from)
{
    h_lit(&d->h, "<li><span class=\"term-name\">");
    h_text(&d->h, t->name);
    h_lit(&d->h, "</span>");
    size_t count = 0;
    for (size_t k = from; k < n; k++)
        count += terms[k] == t;
    d_lbl(d, count > 1 ? L_LINES_OPEN : L_LINE_OPEN);
    for (size_t k = from, first = 1; k < n; k++)
        if (terms[k] == t) {
            if (!first)
                h_lit(&d->h, ", ");
            d_int(d, (int)(k + 1));
            first = 0;
        }
    d_lbl(d, L_LINES_CLOSE);
    d_lbl(d, L_COLON);
    const cat_catalog *cat = NULL;
    for (size_t c = 0; !cat && c < cat_snapshot_catalog_count(d->c->snap); c++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(d->c->snap, c);
        if (t >= cc->terms && t < cc->terms + cc->nterms)
            cat = cc;
    }
    for (size_t i = 0; cat && i < t->ninstallments; i++) {
        if (i)
            d_lbl(d, L_LIST_SEP);
        inst_words(d, &t->installments[i], cat);
    }
    d_lbl(d, L_VALIDITY_END);
    h_lit(&d->h, "</li>\n");
}

static void doc_terms(doc *d)
{
    json_t *lines = json_object_get(d->priced, "lines");
    size_t n = json_array_size(lines);
    const cat_term **terms = calloc(n + 1, sizeof(*terms));
    if (!terms) {
        d->h.failed = true;
        return;
    }
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= (terms[i] = line_term(d, json_array_get(lines, i))) != NULL;
    h_lit(&d->h, "<section class=\"terms\"><h2>");
    d_lbl(d, L_TERMS);
    h_lit(&d->h, "</h2>\n");
    if (d->q->valid_until) {
        h_lit(&d->h, "<p class=\"validity\">");
        d_lbl(d, L_VALIDITY);
        d_date(d, d->q->valid_until);
        d_lbl(d, L_VALIDITY_END);
        h_lit(&d->h, "</p>\n");
    }
    if (any) {
        h_lit(&d->h, "<h3>");
        d_lbl(d, L_PAYMENT);
        h_lit(&d->h, "</h3><ul class=\"payment\">\n");
        for (size_t i = 0; i < n; i++) {
            bool seen = !terms[i];
            for (size_t k = 0; k < i && !seen; k++)
                seen = terms[k] == terms[i];
            if (!seen)
                term_item(d, terms[i], terms, n, i);
        }
        h_lit(&d->h, "</ul>\n");
    }
    h_lit(&d->h, "<p class=\"currency-note\">");
    d_lbl(d, L_AMOUNTS_IN);
    h_text(&d->h, d->currency);
    d_lbl(d, L_VALIDITY_END);
    h_lit(&d->h, "</p></section>\n");
    free(terms);
}

/* Print on A4: fixed column widths, long names wrap, a line's rows stay
 * together on one page when they fit and a row is never split, the
 * column heads repeat on every page. */
static const char doc_css[] =
    "@page{size:A4;margin:14mm 12mm 16mm 12mm}"
    "html{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','WenQuanYi Micro Hei',"
    "'Microsoft YaHei','PingFang SC',sans-serif;font-size:9pt;color:#111;"
    "-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "body{margin:0}"
    "@media screen{body{max-width:186mm;margin:8mm auto;padding:0 4mm}}"
    "h1{font-size:16pt;margin:0 0 3mm}h2{font-size:11pt;margin:6mm 0 2mm}"
    "h3{font-size:10pt;margin:3mm 0 1mm}h2,h3{break-after:avoid;page-break-after:avoid}"
    ".seller{float:right;max-width:80mm;text-align:right;font-size:8pt;color:#444}"
    ".seller-name{font-weight:bold;font-size:9pt;color:#111}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:0.6mm 1.5mm;vertical-align:top;text-align:left;overflow-wrap:anywhere}"
    ".meta{width:auto;margin-bottom:4mm}.meta th,.meta td{padding:0.2mm 3mm 0.2mm 0}"
    ".meta th{font-weight:normal;color:#555}"
    "table.lines{table-layout:fixed}"
    ".c-no{width:11mm}.c-qty{width:15mm}.c-unit{width:32mm}.c-amt{width:33mm}"
    "thead{display:table-header-group}"
    "thead th{border-bottom:0.6pt solid #333;font-weight:bold}"
    "tr{break-inside:avoid;page-break-inside:avoid}"
    "tbody.line{break-inside:avoid;page-break-inside:avoid}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}"
    ".item td{border-top:0.4pt solid #999;padding-top:1.6mm}"
    ".name{font-weight:bold}.sku{color:#666;font-size:7.5pt}"
    ".cap td{color:#555;font-size:7.5pt;padding-top:0.8mm;padding-bottom:0.1mm}"
    ".cfg td,.step td,.sum td{font-size:8pt;line-height:1.3;padding-top:0.1mm;padding-bottom:0.1mm}"
    ".cfg td:nth-child(2),.step td:nth-child(2){padding-left:5mm}"
    ".sum td:nth-child(2){text-align:right}"
    ".total td{font-weight:bold}"
    ".totals{width:auto;margin:4mm 0 0 auto;break-inside:avoid;page-break-inside:avoid}"
    ".totals th{text-align:right;font-weight:normal;padding-right:4mm}"
    ".totals .grand th,.totals .grand td{font-weight:bold;font-size:10.5pt;"
    "border-top:0.6pt solid #333}"
    ".savings{text-align:right;color:#555;font-size:8pt;margin:1mm 0}"
    ".terms,.terms li,.terms p{break-inside:avoid;page-break-inside:avoid}"
    ".terms ul{margin:0;padding-left:5mm}.term-name{font-weight:bold}"
    ".currency-note{color:#555;font-size:8pt}";

static void doc_page(doc *d)
{
    h_lit(&d->h, "<!DOCTYPE html>\n<html lang=\"");
    h_lit(&d->h, d->tag);
    h_lit(&d->h, "\"><head><meta charset=\"utf-8\"><title>");
    d_lbl(d, L_TITLE);
    h_lit(&d->h, " ");
    h_text(&d->h, d->q->number);
    h_lit(&d->h, "</title><style>");
    h_lit(&d->h, doc_css);
    h_lit(&d->h, "</style></head><body>\n");
    doc_head(d);
    doc_lines(d);
    doc_totals(d);
    doc_terms(d);
    h_lit(&d->h, "</body></html>\n");
}

int quote_document(svc_ctx *c, const char *id, const char *lang, svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    int rc = quote_load_scoped(c, id, 0, &q, errs);
    if (rc)
        return rc;
    json_error_t je;
    doc d = {.c = c,
             .tag = lang_of(lang) == DOC_ZH ? "zh-CN" : "en",
             .lang = lang_of(lang),
             .currency = q.currency,
             .q = &q};
    d.priced = q.priced ? json_loads(q.priced, 0, &je) : NULL;
    d.request = q.request ? json_loads(q.request, 0, &je) : NULL;
    if (money_currency_minor(d.currency, &d.minor) != 0)
        d.minor = 2;
    if (!d.priced) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "quote '%s': stored priced result unreadable",
                 id);
        rc = CPQD_EINTERNAL;
    } else {
        doc_page(&d);
        rc = d.h.failed ? CPQD_ENOMEM : 0;
    }
    json_decref(d.priced);
    json_decref(d.request);
    store_quote_fini(&q);
    if (rc) {
        free(d.h.b);
        return rc;
    }
    out->body = d.h.b;
    out->content_type = "text/html; charset=utf-8";
    return 0;
}
