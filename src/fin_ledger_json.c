/*
 * fin_ledger_json: the wire form of the voucher feed and of revenue
 * (docs/finance.md "Vouchers", "Revenue recognition"), and what the
 * finance codec files share: lists and pages, bodies as objects, a
 * note's body (fin_json.h).
 * Does not own: what a voucher or a revenue plan holds (voucher, revrec,
 * fin_ledger.c), the feed's CSV layout (voucher_csv_rows).
 *
 * A voucher's lines are written directly (a statement writes thousands
 * of vouchers), byte for byte as jansson's compact dump would.
 */
#include "fin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- shared ---- */

struct fin_json_list {
    json_t *items;   /* the array */
    json_t *damaged; /* [{"id", "reason"}]: the records left out; NULL: none */
};

size_t fin_json_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

json_t *fin_json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

fin_json_list *fin_json_list_new(void)
{
    fin_json_list *l = malloc(sizeof(*l));
    if (l)
        l->damaged = NULL;
    if (l && !(l->items = json_array())) {
        free(l);
        l = NULL;
    }
    return l;
}

void fin_json_list_free(fin_json_list *l)
{
    if (!l)
        return;
    json_decref(l->items);
    json_decref(l->damaged);
    free(l);
}

int fin_json_list_append(fin_json_list *l, json_t *o)
{
    if (!l) {
        json_decref(o);
        return CPQD_ENOMEM;
    }
    return json_array_append_new(l->items, o) == 0 ? 0 : CPQD_ENOMEM;
}

int fin_json_list_add_damaged(fin_json_list *l, const char *id, const char *reason)
{
    /* the receivables lists' "damaged", the same shape (DamagedRecords) */
    return l ? contract_list_add_damaged(&l->damaged, id, reason) : CPQD_ENOMEM;
}

json_t *fin_json_list_take(fin_json_list *l)
{
    json_t *items = l ? json_incref(l->items) : NULL;
    fin_json_list_free(l);
    return items;
}

/* The page of l (consumed), as the receivables lists write theirs:
 * {"items", "next"[, "damaged"]} (next NULL: null). */
char *fin_json_page_id(fin_json_list *l, const char *next)
{
    json_t *damaged = l ? json_incref(l->damaged) : NULL;
    return contract_page_text(fin_json_list_take(l), damaged, next);
}

char *fin_json_page(fin_json_list *l, int64_t next)
{
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%lld", (long long)next);
    return fin_json_page_id(l, cursor);
}

int fin_json_object_parse(const char *body, size_t len, bool empty_ok, const char *const *keys,
                          json_t **root, cpqd_errs *errs)
{
    *root = len || !empty_ok ? contract_parse_object(body, len, errs) : json_object();
    if (!*root)
        return CPQD_EINVAL;
    return contract_only_keys(*root, keys, "", errs);
}

int fin_json_note_parse(const char *body, size_t len, char **note, cpqd_errs *errs)
{
    static const char *const keys[] = {"note", NULL};
    json_t *root = NULL;
    *note = NULL;
    int rc = fin_json_object_parse(body, len, true, keys, &root, errs);
    json_t *no = json_object_get(root, "note");
    if (rc == 0 && no && (!json_is_string(no) || fin_json_chars(json_string_value(no)) > 500))
        rc = fin_fail(errs, CPQD_EINVAL, "note: text of at most 500 characters");
    if (rc == 0 && no && !(*note = strdup(json_string_value(no))))
        rc = CPQD_ENOMEM;
    json_decref(root);
    return rc;
}

/* ---- vouchers ---- */

/* s as a JSON string, as jansson's compact dump writes it (UTF-8 kept,
 * quotes, backslashes and control characters escaped), or null. */
static void text_put(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        static const char short_esc[] = "btn?fr"; /* \b \t \n (8..10), \f \r (12, 13) */
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p >= 8 && *p <= 13 && *p != 11)
            fprintf(f, "\\%c", short_esc[*p - 8]);
        else if (*p < 0x20)
            fprintf(f, "\\u%04X", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

char *fin_json_voucher_lines(const voucher *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    int rc = 0;
    fputc('[', f);
    for (size_t i = 0; rc == 0 && i < v->nlines; i++) {
        char d[MONEY_FMT_MAX], cr[MONEY_FMT_MAX];
        const voucher_line *l = &v->lines[i];
        if ((rc = fin_money_text(l->debit, v->minor, d)) == 0 &&
            (rc = fin_money_text(l->credit, v->minor, cr)) == 0) {
            fprintf(f, "%s{\"line_no\":%zu,\"account\":", i ? "," : "", i + 1);
            text_put(f, l->account);
            fprintf(f, ",\"debit\":\"%s\",\"credit\":\"%s\",\"memo\":", d, cr);
            text_put(f, l->memo);
            fputc('}', f);
        }
    }
    fputc(']', f);
    if (fclose(f) != 0 || rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int fin_json_list_add_voucher(fin_json_list *l, const store_voucher *v)
{
    fin_stored_voucher d;
    money_dec total;
    int rc = fin_json_voucher_read(v, &d);
    if (rc == 0 && fin_money_of(v->total, &total) != 0)
        rc = CPQD_EINTERNAL;
    json_t *lines = rc == 0 ? json_incref(d.root) : NULL;
    fin_stored_voucher_fini(&d);
    if (rc)
        return rc;
    return fin_json_list_append(
        l, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:s}", "number", v->number, "seq",
                     (json_int_t)v->seq, "kind", v->kind, "date", v->date, "currency", v->currency,
                     "source", v->source, "customer_id", fin_json_str_or_null(v->customer_id),
                     "contract", fin_json_str_or_null(v->contract), "total", v->total, "lines",
                     lines, "created_at", v->created_at));
}

int fin_json_voucher_read(const store_voucher *sv, fin_stored_voucher *d)
{
    json_error_t je;
    memset(d, 0, sizeof(*d));
    json_t *lines = d->root = json_loads(sv->lines, 0, &je);
    size_t n = json_array_size(lines);
    voucher *v = &d->v;
    *v = (voucher){.date = 0,
                   .source = sv->source,
                   .customer = sv->customer_id,
                   .contract = sv->contract,
                   .nlines = n};
    int rc = lines && n ? 0 : CPQD_EINTERNAL;
    snprintf(v->currency, sizeof(v->currency), "%s", sv->currency);
    if (rc == 0)
        rc = money_currency_minor(sv->currency, &v->minor) == 0 ? 0 : CPQD_EINTERNAL;
    for (int k = VOUCHER_INVOICE; k <= VOUCHER_REVENUE; k++)
        if (!strcmp(voucher_kind_name((voucher_kind)k), sv->kind))
            v->kind = (voucher_kind)k;
    if (rc == 0 && date_parse(sv->date, strlen(sv->date), &v->date) != 0)
        rc = CPQD_EINTERNAL;
    if (rc == 0 && !(v->lines = calloc(n, sizeof(*v->lines))))
        rc = CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *l = json_array_get(lines, i);
        v->lines[i].account = json_string_value(json_object_get(l, "account"));
        v->lines[i].memo = json_string_value(json_object_get(l, "memo"));
        if (!v->lines[i].account ||
            fin_money_of(json_string_value(json_object_get(l, "debit")), &v->lines[i].debit) ||
            fin_money_of(json_string_value(json_object_get(l, "credit")), &v->lines[i].credit))
            rc = CPQD_EINTERNAL;
    }
    return rc;
}

void fin_stored_voucher_fini(fin_stored_voucher *d)
{
    json_t *root = d->root;
    voucher_fini(&d->v);
    json_decref(root);
    d->root = NULL;
}

/* ---- revenue ---- */

static json_t *ob_json(const revrec_obligation *o, const revrec_position *pos, int minor)
{
    char al[MONEY_FMT_MAX], re[MONEY_FMT_MAX], de[MONEY_FMT_MAX];
    char on[DATE_FMT_LEN], from[DATE_FMT_LEN], to[DATE_FMT_LEN];
    const revrec_obligation_in *in = o->in;
    if (fin_money_text(o->allocated, minor, al) || fin_money_text(pos->recognised, minor, re) ||
        fin_money_text(pos->deferred, minor, de))
        return NULL;
    if (in->on != REVREC_NO_DATE)
        date_format(in->on, on);
    if (in->from != REVREC_NO_DATE)
        date_format(in->from, from), date_format(in->to, to);
    bool at = in->pattern == REVREC_AT_EVENT, over = in->pattern == REVREC_OVER_TIME;
    return json_pack("{s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:s,s:s,s:s}", "line", in->line_id, "ref",
                     fin_json_str_or_null(in->ref), "category", in->category, "pattern",
                     revrec_pattern_name(in->pattern), "on",
                     at && in->on != REVREC_NO_DATE ? json_string(on) : json_null(), "from",
                     over && in->from != REVREC_NO_DATE ? json_string(from) : json_null(), "to",
                     over && in->from != REVREC_NO_DATE ? json_string(to) : json_null(),
                     "allocated", al, "recognised", re, "deferred", de);
}

int fin_json_revenue(const contract_after *a, const fin_revplan *p, const revrec_position *per,
                     const revrec_position *tot, date_days as_of, char **out)
{
    int rc = 0;
    json_t *arr = json_array();
    *out = NULL;
    for (size_t i = 0; rc == 0 && i < p->nobs; i++)
        if (json_array_append_new(arr, ob_json(&p->plan->ob[i], &per[i], a->minor)) != 0)
            rc = CPQD_ENOMEM;
    char al[MONEY_FMT_MAX], re[MONEY_FMT_MAX], de[MONEY_FMT_MAX], d[DATE_FMT_LEN];
    if (rc == 0 && (fin_money_text(p->plan->total, a->minor, al) ||
                    fin_money_text(tot->recognised, a->minor, re) ||
                    fin_money_text(tot->deferred, a->minor, de)))
        rc = CPQD_ERANGE;
    date_format(as_of, d);
    if (rc == 0)
        *out = contract_dump(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "contract_id", a->k.id,
                                       "contract_number", a->k.number, "currency", a->k.currency,
                                       "as_of", d, "allocated", al, "recognised", re, "deferred",
                                       de, "obligations", arr));
    if (rc == 0 && !*out)
        rc = CPQD_ENOMEM;
    json_decref(arr);
    return rc;
}
