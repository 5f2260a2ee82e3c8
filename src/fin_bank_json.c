/*
 * fin_bank_json: the wire form of bank statements, bank credits, matches
 * and write-offs (docs/finance.md "Bank statements", "Matching";
 * fin_json.h): the bodies of a manual match and of a write-off into
 * typed requests (their amounts checked once the currency is known:
 * fin_amount_take), an unmatched credit's suggestions as the store keeps
 * them and back, and the views of statements, credits (the queue),
 * matches (also payment.matched and payment.unmatched) and write-offs
 * (also receivable.written_off).
 * Does not own: reading statements (bank), matching (match), what the
 * store holds and when (fin_bank.c).
 */
#include "fin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- amounts ---- */

/* Member k of o as a request amount. */
static void amount_in(json_t *o, const char *k, fin_amount_in *a)
{
    json_t *v = json_object_get(o, k);
    *a = (fin_amount_in){.given = v != NULL, .text = json_string_value(v)};
    a->valid = json_is_string(v) &&
               money_parse(json_string_value(v), json_string_length(v), &a->v) == 0 &&
               money_sign(a->v) > 0;
}

int fin_amount_take(const fin_amount_in *a, const char *k, const char *where, int minor,
                    money_dec *out, cpqd_errs *errs)
{
    money_dec n;
    if (!a->valid)
        return fin_fail(errs, CPQD_EINVAL, "%s%s: a positive decimal string such as \"100.00\"",
                        where, k);
    *out = a->v;
    if (money_normalize(*out, &n) != 0 || n.scale > minor)
        return fin_fail(errs, CPQD_EINVAL, "%s%s: %s has more than %d decimal places", where, k,
                        a->text, minor);
    if (!cat_amount_ok(*out))
        return fin_fail(errs, CPQD_EINVAL, "%s%s: beyond the maximum amount %lld", where, k,
                        (long long)CAT_AMOUNT_MAX);
    return money_rescale(*out, minor, MONEY_HALF_EVEN, out);
}

/* ---- POST /v1/bank/credits/{id}/match ---- */

/* The allocations of q->root, each an object {"receivable_id",
 * "amount"?}, into q->allocs. */
static int allocs_read(fin_match_req *q, json_t *allocs, cpqd_errs *errs)
{
    static const char *const akeys[] = {"receivable_id", "amount", NULL};
    size_t n = json_array_size(allocs);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(allocs, i);
        char where[40];
        snprintf(where, sizeof(where), "allocations[%zu].", i);
        if (!json_is_object(a))
            return fin_fail(errs, CPQD_EINVAL, "allocations[%zu]: an object", i);
        int rc = contract_only_keys(a, akeys, where, errs);
        if (rc)
            return rc;
        if (!json_string_value(json_object_get(a, "receivable_id")))
            return fin_fail(errs, CPQD_EINVAL, "%sreceivable_id: required", where);
    }
    if (!(q->allocs = calloc(n ? n : 1, sizeof(*q->allocs))))
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(allocs, i);
        q->allocs[i].receivable_id = json_string_value(json_object_get(a, "receivable_id"));
        amount_in(a, "amount", &q->allocs[i].amount);
    }
    q->nallocs = n;
    return 0;
}

int fin_json_match_parse(const char *body, size_t len, fin_match_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"allocations", "customer_id", "note", NULL};
    memset(q, 0, sizeof(*q));
    int rc = fin_json_object_parse(body, len, false, keys, &q->root, errs);
    if (!q->root)
        return rc;
    json_t *cu = json_object_get(q->root, "customer_id"), *no = json_object_get(q->root, "note");
    json_t *allocs = json_object_get(q->root, "allocations");
    q->customer = json_string_value(cu);
    q->note = json_string_value(no);
    if (rc == 0 && (!json_is_array(allocs) || json_array_size(allocs) > 1000))
        rc = fin_fail(errs, CPQD_EINVAL,
                      "allocations: required, a list of {\"receivable_id\", \"amount\"}");
    if (rc == 0 && cu && (!q->customer || !*q->customer || json_string_length(cu) > 128))
        rc = fin_fail(errs, CPQD_EINVAL, "customer_id: a customer id (1 to 128 bytes)");
    if (rc == 0 && no && (!q->note || fin_json_chars(q->note) > 500))
        rc = fin_fail(errs, CPQD_EINVAL, "note: text of at most 500 characters");
    if (rc == 0 && json_array_size(allocs) == 0 && !q->customer)
        rc = fin_fail(errs, CPQD_EINVAL,
                      "allocations: empty, and no customer_id to keep the "
                      "credit for");
    return rc ? rc : allocs_read(q, allocs, errs);
}

void fin_match_req_fini(fin_match_req *q)
{
    json_decref(q->root);
    free(q->allocs);
    q->root = NULL, q->allocs = NULL, q->nallocs = 0;
}

/* ---- POST /v1/receivables/{id}/write-off ---- */

int fin_json_wo_parse(const char *body, size_t len, fin_wo_req *q, cpqd_errs *errs)
{
    static const char *const keys[] = {"amount", "reason", NULL};
    memset(q, 0, sizeof(*q));
    int rc = fin_json_object_parse(body, len, false, keys, &q->root, errs);
    json_t *r = json_object_get(q->root, "reason");
    q->reason = json_string_value(r);
    amount_in(q->root, "amount", &q->amount);
    if (rc == 0 && (!q->reason || !*q->reason || fin_json_chars(q->reason) > 500))
        rc = fin_fail(errs, CPQD_EINVAL,
                      "reason: required, why it is given up (1 to 500 characters)");
    return rc;
}

void fin_wo_req_fini(fin_wo_req *q)
{
    json_decref(q->root);
    q->root = NULL;
}

/* ---- statements and credits ---- */

char *fin_json_statement(const store_statement *s)
{
    return contract_dump(json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s}", "id", s->id, "issuer", s->issuer,
        "format", s->format, "statement_ref", s->ref, "account", s->account, "credits",
        (json_int_t)s->credits, "duplicates", (json_int_t)s->duplicates, "skipped",
        (json_int_t)s->skipped, "matched", (json_int_t)s->matched, "unmatched",
        (json_int_t)s->unmatched, "imported_by", s->imported_by, "imported_at", s->imported_at));
}

char *fin_json_suggestions(const match_result *r, const match_item *mi)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nsuggestions; i++)
        json_array_append_new(a,
                              json_pack("{s:s,s:i}", "receivable_id", mi[r->suggestions[i].item].id,
                                        "score", (int)r->suggestions[i].score));
    return contract_dump(a);
}

int fin_json_suggestions_read(const char *text, fin_suggestion **out, size_t *n)
{
    json_error_t je;
    json_t *in = json_loads(text, 0, &je), *s;
    size_t i;
    int rc = 0;
    *n = 0;
    *out = calloc(json_array_size(in) + 1, sizeof(**out));
    if (!*out)
        rc = CPQD_ENOMEM;
    json_array_foreach(in, i, s)
    {
        const char *rid = json_string_value(json_object_get(s, "receivable_id"));
        json_t *score = json_object_get(s, "score");
        if (rc || !rid || !json_is_integer(score))
            continue;
        fin_suggestion *x = &(*out)[(*n)++];
        x->score = (int64_t)json_integer_value(score);
        if (!(x->receivable_id = strdup(rid)))
            rc = CPQD_ENOMEM;
    }
    json_decref(in);
    return rc;
}

void fin_suggestions_free(fin_suggestion *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].receivable_id);
    free(v);
}

int fin_json_list_add_suggestion(fin_json_list *l, const fin_suggestion *s,
                                 const store_receivable *r, const char *outstanding)
{
    return fin_json_list_append(
        l, json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:s}", "receivable_id", s->receivable_id, "score",
                     (json_int_t)s->score, "contract_id", r->contract_id, "contract_number",
                     r->contract_number, "customer_id", r->customer_id, "due_on",
                     fin_json_str_or_null(r->due_on), "outstanding", outstanding));
}

static json_t *credit_json(const store_credit *cr, const char *unapplied,
                           fin_json_list *suggestions)
{
    json_t *sugg = suggestions ? fin_json_list_take(suggestions) : json_array();
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "id",
        cr->id, "statement_id", cr->statement_id, "tx_id", cr->tx_id, "amount", cr->amount,
        "currency", cr->currency, "value_date", cr->value_date, "booking_date",
        fin_json_str_or_null(cr->booking_date), "remittance", cr->remittance, "debtor_name",
        cr->debtor_name, "debtor_account", cr->debtor_account, "end_to_end_id", cr->end_to_end_id,
        "customer_id", fin_json_str_or_null(cr->customer_id), "applied", cr->applied, "unapplied",
        unapplied, "status", cr->status, "rule", cr->rule, "reason",
        fin_json_str_or_null(cr->reason), "suggestions", sugg, "created_at", cr->created_at);
}

char *fin_json_credit(const store_credit *cr, const char *unapplied, fin_json_list *suggestions,
                      fin_json_list *matches)
{
    json_t *o = credit_json(cr, unapplied, suggestions);
    json_t *ms = matches ? fin_json_list_take(matches) : NULL;
    if (o && ms)
        json_object_set_new(o, "matches", ms);
    else
        json_decref(ms);
    return contract_dump(o);
}

int fin_json_list_add_credit(fin_json_list *l, const store_credit *cr, const char *unapplied,
                             fin_json_list *suggestions)
{
    return fin_json_list_append(l, credit_json(cr, unapplied, suggestions));
}

/* ---- matches ---- */

static json_t *match_json(const fin_match_view *v)
{
    const store_match *m = v->m;
    const store_credit *cr = v->cr;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < v->n; i++)
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:o,s:o,s:s}", "receivable_id", v->al[i].al->receivable_id,
                           "amount", v->al[i].al->amount, "contract_id",
                           fin_json_str_or_null(v->al[i].contract_id), "contract_number",
                           fin_json_str_or_null(v->al[i].contract_number), "payment_id",
                           v->al[i].al->payment_id));
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:s}", "id", m->id,
        "credit_id", m->credit_id, "tx_id", cr ? cr->tx_id : "", "kind", m->kind, "rule", m->rule,
        "customer_id", fin_json_str_or_null(m->customer_id), "currency", cr ? cr->currency : "",
        "value_date", cr ? cr->value_date : "", "amount", m->amount, "overpaid", m->overpaid,
        "allocations", arr ? arr : json_array(), "note", fin_json_str_or_null(m->note),
        "created_by", m->created_by, "created_at", m->created_at, "reversed_at",
        fin_json_str_or_null(m->reversed_at), "reversed_by", fin_json_str_or_null(m->reversed_by),
        "reverse_note", fin_json_str_or_null(m->reverse_note), "status",
        m->reversed_at ? "reversed" : "active");
}

char *fin_json_match(const fin_match_view *v)
{
    return contract_dump(match_json(v));
}

int fin_json_list_add_match(fin_json_list *l, const fin_match_view *v)
{
    return fin_json_list_append(l, match_json(v));
}

/* ---- write-offs ---- */

char *fin_json_write_off(const store_write_off *w, const store_receivable *r,
                         const sched_standing *sd)
{
    json_t *it = r ? contract_item_json(r, sd) : NULL;
    if (it)
        contract_item_context(it, r);
    return contract_dump(json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", w->id, "receivable_id", w->receivable_id,
        "amount", w->amount, "reason", w->reason, "payment_id", w->payment_id, "created_by",
        w->created_by, "created_at", w->created_at, "receivable", it ? it : json_null()));
}
