/*
 * fin_credit_json: the wire form of customers (docs/finance.md "Credit
 * risk"; fin_json.h): the bodies of PUT /v1/customers/{id} and
 * .../credit into what they set (lists of accounts and risk flags as
 * the store keeps them), and a customer with its open receivables and
 * customer credit into its view.
 * Does not own: what a customer owes or has paid (fin_credit.c), the
 * credit check (fin_credit.c).
 */
#include "fin_json.h"

#include "cpqd/bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FIN_FLAGS_MAX 20
#define FIN_ACCOUNTS_MAX 20

/* ---- requests ---- */

/* A list of 0..max strings of 1..len characters (len at most
 * BANK_MAX_ID), as stored JSON text; norm: accounts (spaces removed,
 * upper case). */
static int strings_arg(json_t *v, const char *k, size_t max, size_t len, bool norm, char **out,
                       cpqd_errs *errs)
{
    json_t *arr = json_array();
    if (v && (!json_is_array(v) || json_array_size(v) > max)) {
        json_decref(arr);
        return fin_fail(errs, CPQD_EINVAL, "%s: a list of at most %zu strings", k, max);
    }
    for (size_t i = 0; v && i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char buf[4 * BANK_MAX_ID + 1]; /* len characters of up to 4 bytes */
        size_t o = 0;
        for (; s && *s && o + 1 < sizeof(buf); s++)
            if (!norm || *s != ' ')
                buf[o++] = (char)(norm && *s >= 'a' && *s <= 'z' ? *s - 32 : *s);
        buf[o] = '\0';
        if (!s || *s || o == 0 || fin_json_chars(buf) > len) {
            json_decref(arr);
            return fin_fail(errs, CPQD_EINVAL, "%s[%zu]: a string of 1 to %zu characters", k, i,
                            len);
        }
        json_array_append_new(arr, json_string(buf));
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? 0 : CPQD_ENOMEM;
}

/* A copy of the string member k of o into *out (NULL: none, or not a
 * string). */
static int text_of(json_t *o, const char *k, char **out)
{
    const char *s = json_string_value(json_object_get(o, k));
    *out = s ? strdup(s) : NULL;
    return s && !*out ? CPQD_ENOMEM : 0;
}

int fin_json_ident_parse(const char *body, size_t len, fin_customer_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"name", "accounts", NULL};
    json_t *root = NULL;
    memset(q, 0, sizeof(*q));
    int rc = fin_json_object_parse(body, len, false, keys, &root, errs);
    json_t *nm = json_object_get(root, "name");
    if (rc == 0 && nm && !json_is_null(nm) &&
        (!json_is_string(nm) || json_string_length(nm) < 1 ||
         fin_json_chars(json_string_value(nm)) > 300))
        rc = fin_fail(errs, CPQD_EINVAL, "name: the legal name, 1 to 300 characters, or null");
    if (rc == 0)
        rc = strings_arg(json_object_get(root, "accounts"), "accounts", FIN_ACCOUNTS_MAX,
                         BANK_MAX_ID, true, &q->accounts, errs);
    if (rc == 0)
        rc = text_of(root, "name", &q->name);
    json_decref(root);
    return rc;
}

/* limit (not null) a decimal >= 0 within the places of currency cur. */
/* The limit lim in currency cur into *v, or *rc and the reason. */
static bool limit_ok(json_t *lim, json_t *cur, money_dec *v, cpqd_errs *errs, int *rc)
{
    int minor = 0;
    money_dec n;
    if (!json_is_string(cur) || money_currency_minor(json_string_value(cur), &minor) != 0) {
        *rc = fin_fail(errs, CPQD_EINVAL, "currency: the ISO 4217 code of the limit");
        return false;
    }
    if (!json_is_string(lim) ||
        money_parse(json_string_value(lim), json_string_length(lim), v) != 0 ||
        money_sign(*v) < 0 || !cat_amount_ok(*v) || money_normalize(*v, &n) != 0 ||
        n.scale > minor) {
        *rc = fin_fail(errs, CPQD_EINVAL,
                       "limit: a decimal string >= 0 with at most the currency's places");
        return false;
    }
    return true;
}

int fin_json_limit_parse(const char *body, size_t len, fin_customer_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"limit", "currency", "risk_flags", "note", NULL};
    json_t *root = NULL;
    memset(q, 0, sizeof(*q));
    int rc = fin_json_object_parse(body, len, false, keys, &root, errs);
    json_t *lim = json_object_get(root, "limit"), *cur = json_object_get(root, "currency");
    json_t *note = json_object_get(root, "note");
    money_dec v = money_from_int(0);
    if (rc == 0 && !lim)
        rc = fin_fail(errs, CPQD_EINVAL, "limit: required, a decimal string, or null for none");
    if (rc == 0 && !json_is_null(lim))
        limit_ok(lim, cur, &v, errs, &rc);
    if (rc == 0 && json_is_null(lim) && cur && !json_is_null(cur))
        rc = fin_fail(errs, CPQD_EINVAL, "currency: only with a limit");
    if (rc == 0 && note && !json_is_null(note) &&
        (!json_is_string(note) || fin_json_chars(json_string_value(note)) > 500))
        rc = fin_fail(errs, CPQD_EINVAL, "note: text of at most 500 characters, or null");
    if (rc == 0)
        rc = strings_arg(json_object_get(root, "risk_flags"), "risk_flags", FIN_FLAGS_MAX, 64,
                         false, &q->risk_flags, errs);
    /* kept in its canonical form, at the places given ("007.50" is
     * "7.50", "-0.00" is "0.00") */
    char canon[MONEY_FMT_MAX];
    if (rc == 0 && !json_is_null(lim))
        rc = money_format(v, canon, sizeof(canon)) < 0 ? CPQD_ERANGE
             : (q->limit = strdup(canon)) ? 0
                                          : CPQD_ENOMEM;
    if (rc == 0 && q->limit)
        rc = text_of(root, "currency", &q->currency);
    if (rc == 0)
        rc = text_of(root, "note", &q->note);
    json_decref(root);
    return rc;
}

void fin_customer_req_fini(fin_customer_req *q)
{
    free(q->name), free(q->accounts), free(q->limit), free(q->currency), free(q->risk_flags);
    free(q->note);
    memset(q, 0, sizeof(*q));
}

/* ---- the view ---- */

/* A stored JSON list (accounts, risk flags); [] when unreadable. */
static json_t *jparse(const char *text)
{
    json_error_t je;
    json_t *v = text ? json_loads(text, 0, &je) : NULL;
    return v ? v : json_array();
}

static json_t *amounts_json(const fin_cur_amount *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s,s:s}", "currency", v[i].currency, "amount", v[i].text));
    return arr;
}

char *fin_json_customer(const fin_customer_view *v)
{
    const store_customer *cu = v->cu;
    return contract_dump(json_pack(
        "{s:s,s:o,s:o,s:{s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o}", "id", cu->id, "name",
        fin_json_str_or_null(cu->name), "accounts", jparse(cu->accounts), "credit", "limit",
        fin_json_str_or_null(cu->credit_limit), "currency",
        fin_json_str_or_null(cu->credit_currency), "risk_flags", jparse(cu->risk_flags), "note",
        fin_json_str_or_null(cu->credit_note), "open_receivables", amounts_json(v->open, v->nopen),
        "customer_credit", amounts_json(v->credit, v->ncredit), "updated_by",
        fin_json_str_or_null(cu->updated_by), "updated_at", fin_json_str_or_null(cu->updated_at)));
}

int fin_json_strings_read(const char *text, fin_stored_strings *d)
{
    json_error_t je;
    memset(d, 0, sizeof(*d));
    d->root = json_loads(text, 0, &je);
    size_t n = json_array_size(d->root);
    if (!(d->v = calloc(n ? n : 1, sizeof(*d->v))))
        return CPQD_ENOMEM;
    for (size_t k = 0; k < n; k++)
        if (json_string_value(json_array_get(d->root, k)))
            d->v[d->n++] = json_string_value(json_array_get(d->root, k));
    return 0;
}

void fin_stored_strings_fini(fin_stored_strings *d)
{
    json_decref(d->root);
    free(d->v);
    memset(d, 0, sizeof(*d));
}

bool fin_json_flagged(const char *risk_flags, char **text)
{
    json_t *flags = jparse(risk_flags);
    bool any = json_array_size(flags) > 0;
    *text = any ? json_dumps(flags, JSON_COMPACT) : NULL;
    json_decref(flags);
    return any;
}
