/*
 * quote_doc: GET /v1/quotes/{id}/document, the quote as a printable HTML
 * page (docs/quotes.md). Owns the page's markup and escaping; the quote,
 * its scope and view come from quote.c.
 */
#include "quote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the printable document ---- */

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
        size_t cap = h->cap ? h->cap : 8192;
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

static void h_lit(hbuf *h, const char *s)
{
    h_raw(h, s, strlen(s));
}

/* Text, HTML-escaped; UTF-8 passes through unchanged. */
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

static void h_cell(hbuf *h, const char *tag, const char *cls, const char *text)
{
    h_lit(h, "<");
    h_lit(h, tag);
    if (cls) {
        h_lit(h, " class=\"");
        h_lit(h, cls);
        h_lit(h, "\"");
    }
    h_lit(h, ">");
    h_text(h, text);
    h_lit(h, "</");
    h_lit(h, tag);
    h_lit(h, ">");
}

/* Payment term names of the products on the quote. */
static void h_terms(hbuf *h, const svc_ctx *c, json_t *lines)
{
    size_t i;
    json_t *l;
    bool any = false;
    json_array_foreach(lines, i, l)
    {
        const char *sku = quote_jget(l, "sku");
        const cat_product *p = cat_snapshot_product(c->snap, sku, strlen(sku));
        if (!p || !p->delivery.payment_term)
            continue;
        for (size_t t = 0; t < p->catalog->nterms; t++)
            if (!strcmp(p->catalog->terms[t].id, p->delivery.payment_term)) {
                h_lit(h, any ? "" : "<h2>Payment terms</h2><ul>");
                any = true;
                h_lit(h, "<li>");
                h_text(h, sku);
                h_lit(h, ": ");
                h_text(h, p->catalog->terms[t].name);
                h_lit(h, "</li>");
            }
    }
    if (any)
        h_lit(h, "</ul>");
}

int quote_document(svc_ctx *c, const char *id, svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    int rc = quote_load_scoped(c, id, 0, &q, errs);
    if (rc)
        return rc;
    json_error_t je;
    json_t *priced = q.priced ? json_loads(q.priced, 0, &je) : NULL;
    if (priced && quote_partner_caller(c))
        quote_partner_filter(priced);
    hbuf h = {0};
    char ver[32];
    snprintf(ver, sizeof(ver), "%d", q.version);
    h_lit(&h, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>");
    h_text(&h, q.number);
    h_lit(&h, "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
              "collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:4px 8px;text-align:"
              "left}.n{text-align:right;white-space:nowrap}.opt td{color:#555;font-size:90%}"
              "</style></head><body>\n<h1>Quote ");
    h_text(&h, q.number);
    h_lit(&h, "</h1>\n<table class=\"head\"><tr><th>Version</th>");
    h_cell(&h, "td", NULL, ver);
    h_lit(&h, "</tr><tr><th>Status</th>");
    h_cell(&h, "td", NULL, quote_status_name(quote_effective_status(c, &q)));
    h_lit(&h, "</tr><tr><th>Customer</th>");
    h_cell(&h, "td", NULL, q.customer_id);
    if (q.partner_id) {
        h_lit(&h, "</tr><tr><th>Partner</th>");
        h_cell(&h, "td", NULL, q.partner_id);
    }
    h_lit(&h, "</tr><tr><th>Pricing date</th>");
    h_cell(&h, "td", NULL, quote_jget(priced, "date"));
    h_lit(&h, "</tr><tr><th>Valid until</th>");
    h_cell(&h, "td", NULL, q.valid_until ? q.valid_until : "");
    h_lit(&h, "</tr><tr><th>Currency</th>");
    h_cell(&h, "td", NULL, q.currency);
    h_lit(&h, "</tr></table>\n<h2>Lines</h2><table class=\"lines\"><tr><th>#</th><th>SKU</th>"
              "<th>Description</th><th class=\"n\">Quantity</th><th class=\"n\">Unit price</th>"
              "<th class=\"n\">Net</th><th class=\"n\">Tax</th><th class=\"n\">Total</th></tr>\n");
    size_t i;
    json_t *l;
    json_t *lines = json_object_get(priced, "lines");
    json_array_foreach(lines, i, l)
    {
        h_lit(&h, "<tr>");
        h_cell(&h, "td", NULL, quote_jget(l, "id"));
        h_cell(&h, "td", NULL, quote_jget(l, "sku"));
        h_cell(&h, "td", NULL, quote_jget(l, "name"));
        h_cell(&h, "td", "n", quote_jget(l, "quantity"));
        h_cell(&h, "td", "n", quote_jget(l, "unit_price"));
        h_cell(&h, "td", "n", quote_jget(l, "net"));
        h_cell(&h, "td", "n", quote_jget(l, "tax"));
        h_cell(&h, "td", "n", quote_jget(l, "total"));
        h_lit(&h, "</tr>\n");
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(l, "waterfall"), k, st)
        {
            const char *kind = quote_jget(st, "step");
            if (strcmp(kind, "option") && strcmp(kind, "adder") && strcmp(kind, "promotion") &&
                strcmp(kind, "discount"))
                continue;
            h_lit(&h, "<tr class=\"opt\"><td></td><td></td>");
            h_cell(&h, "td", NULL, quote_jget(st, "label"));
            h_lit(&h, "<td></td><td></td>");
            h_cell(&h, "td", "n", quote_jget(st, "delta"));
            h_lit(&h, "<td></td><td></td></tr>\n");
        }
    }
    h_lit(&h, "</table>\n<table class=\"totals\"><tr><th>Subtotal</th>");
    h_cell(&h, "td", "n", quote_jget(priced, "subtotal"));
    h_lit(&h, "</tr><tr><th>Tax</th>");
    h_cell(&h, "td", "n", quote_jget(priced, "tax"));
    h_lit(&h, "</tr><tr><th>Total</th>");
    h_cell(&h, "td", "n", quote_jget(priced, "total"));
    h_lit(&h, "</tr></table>\n");
    h_terms(&h, c, lines);
    h_lit(&h, "<p>Priced on catalog version ");
    h_text(&h, q.catalog_version);
    h_lit(&h, ".</p>\n</body></html>\n");
    json_decref(priced);
    store_quote_fini(&q);
    if (h.failed) {
        free(h.b);
        return CPQD_ENOMEM;
    }
    out->body = h.b;
    out->content_type = "text/html; charset=utf-8";
    return 0;
}
