/*
 * invoice_doc: the printable invoice and credit note (HTML, Chinese and
 * English) and amounts in Chinese capital numerals.
 *
 * Owns: the page's layout and labels, HTML escaping of every input
 * string, number formatting for print (thousands separators, rates as
 * percents), 大写 amounts. Does not own: any amount (computed by
 * invoice.c; this file only prints them).
 *
 * Key invariant: the page shows the invoice's own values digit for digit;
 * nothing is recomputed or rounded here.
 */
#include "cpqd/invoice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable buffer ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int rc;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->rc)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->rc = CPQD_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_fmt(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Text from the input, escaped for HTML element content and attributes. */
static void sb_esc(sbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sb_str(b, "&amp;");
            break;
        case '<':
            sb_str(b, "&lt;");
            break;
        case '>':
            sb_str(b, "&gt;");
            break;
        case '"':
            sb_str(b, "&quot;");
            break;
        case '\'':
            sb_str(b, "&#39;");
            break;
        default:
            sb_put(b, s, 1);
        }
    }
}

/* ---- numbers for print ---- */

/* v with thousands separators ("-1,234,567.89"). */
static void sb_money(sbuf *b, money_dec v)
{
    char raw[MONEY_FMT_MAX], out[MONEY_FMT_MAX * 2];
    if (money_format(v, raw, sizeof(raw)) < 0) {
        sb_str(b, "?");
        return;
    }
    const char *s = raw, *dot = strchr(raw, '.');
    size_t k = 0;
    if (*s == '-')
        out[k++] = *s++;
    size_t ndig = dot ? (size_t)(dot - s) : strlen(s);
    for (size_t i = 0; i < ndig; i++) {
        if (i && (ndig - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = s[i];
    }
    snprintf(out + k, sizeof(out) - k, "%s", dot ? dot : "");
    sb_str(b, out);
}

/* A rate as a percent without trailing zeros (0.13 -> 13%, 0.065 -> 6.5%). */
static void sb_rate(sbuf *b, money_dec rate)
{
    money_dec p, n;
    char s[MONEY_FMT_MAX];
    if (money_mul_int(rate, 100, &p) || money_normalize(p, &n) || money_format(n, s, sizeof(s)) < 0)
        sb_str(b, "?");
    else
        sb_fmt(b, "%s%%", s);
}

/* ---- 大写 ---- */

static const char *const zh_digit[] = {"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"};

/* 1..9999: digits with 仟佰拾, one 零 for a run of inner zeros. */
static void zh_words4(sbuf *b, unsigned n)
{
    static const char *const unit[] = {"仟", "佰", "拾", ""};
    unsigned div = 1000;
    bool started = false, zero = false;
    for (int pos = 0; pos < 4; pos++, div /= 10) {
        unsigned d = (n / div) % 10;
        if (d == 0) {
            zero = started;
            continue;
        }
        if (zero)
            sb_str(b, zh_digit[0]);
        sb_str(b, zh_digit[d]);
        sb_str(b, unit[pos]);
        started = true;
        zero = false;
    }
}

/* 1..10^16-1 with 万 and 亿 sections; a section that starts with zeros
 * after a higher one gets one 零 (100,005 -> 壹拾万零伍). */
static void zh_words(sbuf *b, uint64_t n)
{
    if (n >= 100000000u) {
        zh_words(b, n / 100000000u);
        sb_str(b, "亿");
        uint64_t lo = n % 100000000u;
        if (lo) {
            if (lo < 10000000u)
                sb_str(b, zh_digit[0]);
            zh_words(b, lo);
        }
    } else if (n >= 10000u) {
        zh_words4(b, (unsigned)(n / 10000u));
        sb_str(b, "万");
        unsigned lo = (unsigned)(n % 10000u);
        if (lo) {
            if (lo < 1000u)
                sb_str(b, zh_digit[0]);
            zh_words4(b, lo);
        }
    } else {
        zh_words4(b, (unsigned)n);
    }
}

int invoice_amount_zh(money_dec v, char *buf, size_t cap)
{
    money_dec c;
    if (!money_is_valid(v) || v.scale > 2)
        return CPQD_EINVAL;
    if (money_rescale(v, 2, MONEY_DOWN, &c))
        return CPQD_ERANGE;
    uint64_t cents = c.coef < 0 ? (uint64_t)(-c.coef) : (uint64_t)c.coef;
    uint64_t yuan = cents / 100;
    unsigned jiao = (unsigned)(cents / 10 % 10), fen = (unsigned)(cents % 10);
    if (yuan >= 10000000000000000ull)
        return CPQD_ERANGE;
    sbuf b = {0};
    if (c.coef < 0)
        sb_str(&b, "负");
    if (yuan) {
        zh_words(&b, yuan);
        sb_str(&b, "元");
    }
    if (jiao == 0 && fen == 0) {
        sb_str(&b, yuan ? "整" : "零元整");
    } else if (jiao) {
        sb_str(&b, zh_digit[jiao]);
        sb_str(&b, "角");
        if (fen) {
            sb_str(&b, zh_digit[fen]);
            sb_str(&b, "分");
        } else {
            sb_str(&b, "整");
        }
    } else {
        if (yuan)
            sb_str(&b, zh_digit[0]);
        sb_str(&b, zh_digit[fen]);
        sb_str(&b, "分");
    }
    int rc = b.rc;
    if (rc == 0 && b.n + 1 > cap)
        rc = CPQD_ERANGE;
    if (rc == 0) {
        memcpy(buf, b.p, b.n + 1);
        rc = (int)b.n;
    }
    free(b.p);
    return rc;
}

/* ---- labels ---- */

typedef enum lbl {
    L_INVOICE,
    L_CREDIT_NOTE,
    L_NUMBER,
    L_ISSUED,
    L_DUE,
    L_CURRENCY,
    L_CONTRACT,
    L_CANCELS,
    L_SELLER,
    L_BUYER,
    L_TAX_ID,
    L_ADDRESS,
    L_BANK,
    L_ITEM,
    L_QTY,
    L_NET,
    L_RATE,
    L_TAX,
    L_GROSS,
    L_BY_CLASS,
    L_CLASS,
    L_TOTAL,
    L_IN_WORDS,
    L_REASON_CREDIT,
    L_REASON_CANCEL,
    L_N
} lbl;

static const char *const labels[L_N][2] = {
    [L_INVOICE] = {"发票", "Invoice"},
    [L_CREDIT_NOTE] = {"红字发票（贷项通知单）", "Credit note"},
    [L_NUMBER] = {"发票号码", "Number"},
    [L_ISSUED] = {"开票日期", "Date of issue"},
    [L_DUE] = {"付款到期日", "Due date"},
    [L_CURRENCY] = {"币种", "Currency"},
    [L_CONTRACT] = {"合同编号", "Contract"},
    [L_CANCELS] = {"对应蓝字发票", "Cancels invoice"},
    [L_SELLER] = {"销售方", "Seller"},
    [L_BUYER] = {"购买方", "Buyer"},
    [L_TAX_ID] = {"纳税人识别号", "Tax ID"},
    [L_ADDRESS] = {"地址", "Address"},
    [L_BANK] = {"开户行及账号", "Bank and account"},
    [L_ITEM] = {"项目名称", "Description"},
    [L_QTY] = {"数量", "Quantity"},
    [L_NET] = {"金额", "Net"},
    [L_RATE] = {"税率", "Tax rate"},
    [L_TAX] = {"税额", "Tax"},
    [L_GROSS] = {"价税合计", "Total"},
    [L_BY_CLASS] = {"按税率汇总", "Totals by tax class"},
    [L_CLASS] = {"税目", "Tax class"},
    [L_TOTAL] = {"合计", "Total"},
    [L_IN_WORDS] = {"价税合计（大写）", "Total in words (Chinese)"},
    [L_REASON_CREDIT] = {"退补差额", "Credit for a change of contract"},
    [L_REASON_CANCEL] = {"冲销原发票", "Cancellation"},
};

static void sb_label(sbuf *b, invoice_lang lang, lbl k)
{
    if (lang != INVOICE_LANG_EN)
        sb_str(b, labels[k][0]);
    if (lang == INVOICE_LANG_BILINGUAL)
        sb_str(b, " ");
    if (lang != INVOICE_LANG_ZH)
        sb_str(b, labels[k][1]);
}

/* ---- the page ---- */

static void field(sbuf *b, invoice_lang lang, lbl k, const char *v)
{
    if (!v || !*v)
        return;
    sb_str(b, "<tr><th>");
    sb_label(b, lang, k);
    sb_str(b, "</th><td>");
    sb_esc(b, v);
    sb_str(b, "</td></tr>\n");
}

static void party(sbuf *b, invoice_lang lang, lbl title, const invoice_party *p)
{
    sb_str(b, "<section class=\"party\"><h2>");
    sb_label(b, lang, title);
    sb_str(b, "</h2><table>\n<tr><td colspan=\"2\" class=\"name\">");
    sb_esc(b, p->name);
    sb_str(b, "</td></tr>\n");
    field(b, lang, L_TAX_ID, p->tax_id);
    field(b, lang, L_ADDRESS, p->address);
    if (p->bank || p->bank_account) {
        sb_str(b, "<tr><th>");
        sb_label(b, lang, L_BANK);
        sb_str(b, "</th><td>");
        sb_esc(b, p->bank);
        sb_str(b, p->bank && p->bank_account ? " " : "");
        sb_esc(b, p->bank_account);
        sb_str(b, "</td></tr>\n");
    }
    sb_str(b, "</table></section>\n");
}

static void header(sbuf *b, const invoice *inv, invoice_lang lang)
{
    char d[DATE_FMT_LEN];
    lbl title = inv->kind == INVOICE_KIND_INVOICE ? L_INVOICE : L_CREDIT_NOTE;
    sb_str(b, "<!DOCTYPE html>\n<html lang=\"");
    sb_str(b, lang == INVOICE_LANG_EN ? "en" : "zh-CN");
    sb_str(b, "\">\n<head><meta charset=\"utf-8\"><title>");
    sb_label(b, lang, title);
    sb_str(b, " ");
    sb_esc(b, inv->number);
    sb_str(b, "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
              "collapse}th,td{padding:.25em .5em;text-align:left;vertical-align:top}"
              ".lines th,.lines td{border:1px solid #999}.num{text-align:right;white-space:"
              "nowrap}.party{display:inline-block;width:48%;vertical-align:top}.name{font-weight:"
              "bold}@media print{body{margin:0}}</style>\n</head>\n<body>\n<h1>");
    sb_label(b, lang, title);
    sb_str(b, "</h1>\n<table class=\"head\">\n");
    field(b, lang, L_NUMBER, inv->number);
    date_format(inv->issued_on, d);
    field(b, lang, L_ISSUED, d);
    if (inv->kind == INVOICE_KIND_INVOICE) {
        date_format(inv->due_on, d);
        field(b, lang, L_DUE, d);
    } else {
        sb_str(b, "<tr><th></th><td>");
        sb_label(b, lang,
                 inv->reason == INVOICE_REASON_CANCELLATION ? L_REASON_CANCEL : L_REASON_CREDIT);
        sb_str(b, "</td></tr>\n");
    }
    field(b, lang, L_CANCELS, inv->original);
    field(b, lang, L_CONTRACT, inv->contract_number);
    field(b, lang, L_CURRENCY, inv->currency);
    sb_str(b, "</table>\n");
    party(b, lang, L_SELLER, &inv->issuer);
    party(b, lang, L_BUYER, &inv->customer);
}

static void amount_cells(sbuf *b, money_dec net, money_dec rate, bool has_rate, money_dec tax,
                         money_dec gross)
{
    sb_str(b, "<td class=\"num\">");
    sb_money(b, net);
    sb_str(b, "</td><td class=\"num\">");
    if (has_rate)
        sb_rate(b, rate);
    sb_str(b, "</td><td class=\"num\">");
    sb_money(b, tax);
    sb_str(b, "</td><td class=\"num\">");
    sb_money(b, gross);
    sb_str(b, "</td>");
}

static void lines(sbuf *b, const invoice *inv, invoice_lang lang)
{
    static const lbl cols[] = {L_ITEM, L_QTY, L_NET, L_RATE, L_TAX, L_GROSS};
    sb_str(b, "<table class=\"lines\">\n<thead><tr><th>#</th>");
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        sb_str(b, "<th>");
        sb_label(b, lang, cols[i]);
        sb_str(b, "</th>");
    }
    sb_str(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < inv->nlines; i++) {
        const invoice_line *l = &inv->lines[i];
        char q[MONEY_FMT_MAX];
        money_dec qn;
        sb_fmt(b, "<tr><td class=\"num\">%zu</td><td>", i + 1);
        sb_esc(b, l->name);
        sb_str(b, " <small>");
        sb_esc(b, l->sku);
        if (l->desc) {
            sb_str(b, " · ");
            sb_esc(b, l->desc);
        }
        sb_str(b, "</small></td><td class=\"num\">");
        if (money_normalize(l->quantity, &qn) == 0 && money_format(qn, q, sizeof(q)) > 0)
            sb_str(b, q);
        if (l->uom) {
            sb_str(b, " ");
            sb_esc(b, l->uom);
        }
        sb_str(b, "</td>");
        amount_cells(b, l->net, l->rate, true, l->tax, l->gross);
        sb_str(b, "</tr>\n");
    }
    sb_str(b, "</tbody>\n<tfoot><tr><th colspan=\"3\">");
    sb_label(b, lang, L_TOTAL);
    sb_str(b, "</th>");
    amount_cells(b, inv->net, inv->net, false, inv->tax, inv->total);
    sb_str(b, "</tr></tfoot>\n</table>\n");
}

static void by_class(sbuf *b, const invoice *inv, invoice_lang lang)
{
    static const lbl cols[] = {L_CLASS, L_NET, L_RATE, L_TAX, L_GROSS};
    sb_str(b, "<h2>");
    sb_label(b, lang, L_BY_CLASS);
    sb_str(b, "</h2>\n<table class=\"lines\">\n<thead><tr>");
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        sb_str(b, "<th>");
        sb_label(b, lang, cols[i]);
        sb_str(b, "</th>");
    }
    sb_str(b, "</tr></thead>\n<tbody>\n");
    for (size_t t = 0; t < inv->ntaxes; t++) {
        const invoice_tax_total *x = &inv->taxes[t];
        sb_str(b, "<tr><td>");
        sb_esc(b, x->tax_class);
        sb_str(b, "</td>");
        amount_cells(b, x->net, x->rate, true, x->tax, x->gross);
        sb_str(b, "</tr>\n");
    }
    sb_str(b, "</tbody>\n</table>\n");
}

static void in_words(sbuf *b, const invoice *inv, invoice_lang lang)
{
    char w[256];
    if (strcmp(inv->currency, "CNY") != 0 || lang == INVOICE_LANG_EN ||
        invoice_amount_zh(inv->total, w, sizeof(w)) < 0)
        return;
    sb_str(b, "<p class=\"words\">");
    sb_label(b, lang, L_IN_WORDS);
    sb_str(b, "：");
    sb_str(b, w);
    sb_str(b, "（¥");
    sb_money(b, inv->total);
    sb_str(b, "）</p>\n");
}

int invoice_render_html(const invoice *inv, invoice_lang lang, char **out, size_t *len)
{
    if (!inv || !out || (unsigned)lang > INVOICE_LANG_EN)
        return CPQD_EINVAL;
    sbuf b = {0};
    header(&b, inv, lang);
    lines(&b, inv, lang);
    by_class(&b, inv, lang);
    in_words(&b, inv, lang);
    sb_str(&b, "</body>\n</html>\n");
    if (b.rc) {
        free(b.p);
        return b.rc;
    }
    *out = b.p;
    if (len)
        *len = b.n;
    return 0;
}
