/*
 * contract_json: the wire form of contracts (docs/receivables.md), as
 * price_json.c is pricing's and quote_json.c quotes'. Owns turning
 * request bodies into typed values (the accept request with its line
 * overrides, a payment, the sweep's options), reading the stored JSON a
 * contract is built from (its quote's priced result and request), and
 * the JSON views: a contract, its items and lines, receivables,
 * payments, the due list, the sweep's reply and failures.
 * Does not own: what the values mean, the schedule, authority,
 * transactions (contract.c and its siblings, sched, svc).
 *
 * The views are the bytes of replies, events and signed webhook bodies:
 * a change here changes every one of them.
 */
#include "contract_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- helpers ---- */

char *contract_dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

void contract_json_free(json_t *o)
{
    json_decref(o);
}

/* A date string member k of o into *d; absent: *d unchanged, 0. */
int contract_date_member(json_t *o, const char *k, const char *where, date_days *d, cpqd_errs *errs)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) != 10 ||
        date_parse(json_string_value(v), 10, d) != 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s%s: must be a date YYYY-MM-DD", where, k);
        return CPQD_EINVAL;
    }
    return 0;
}

/* Only the listed members in object o. */
int contract_only_keys(json_t *o, const char *const *keys, const char *where, cpqd_errs *errs)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known = known || !strcmp(k, keys[i]);
        if (!known) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%sunknown member '%.64s'", where, k);
            return CPQD_EINVAL;
        }
    }
    return 0;
}

json_t *contract_parse_object(const char *body, size_t len, cpqd_errs *errs)
{
    return quote_json_body(body, len, errs);
}

/* The body (an empty one is {} when empty_ok) into *root, with only the
 * members keys: 0, or CPQD_EINVAL (*root NULL when it is no object). */
static int body_read(const char *body, size_t len, bool empty_ok, const char *const *keys,
                     json_t **root, cpqd_errs *errs)
{
    *root = len || !empty_ok ? contract_parse_object(body, len, errs) : json_object();
    if (!*root)
        return CPQD_EINVAL;
    return contract_only_keys(*root, keys, "", errs);
}

/* ---- items and contracts ---- */

json_t *contract_item_json(const store_receivable *r, const sched_standing *sd)
{
    char paid[MONEY_FMT_MAX] = "0", outs[MONEY_FMT_MAX] = "0";
    money_format(sd->paid, paid, sizeof(paid));
    money_format(sd->outstanding, outs, sizeof(outs));
    json_t *o = json_object();
    json_object_set_new(o, "id", jstr_or_null(r->id));
    json_object_set_new(o, "line", json_string(r->line_id));
    json_object_set_new(o, "line_no", json_integer(r->line_no));
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "service", json_integer(r->service));
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "part", json_integer(r->part));
    json_object_set_new(o, "ref", jstr_or_null(r->ref));
    json_object_set_new(o, "waits_for", jstr_or_null(r->waits_for));
    json_object_set_new(o, "due_on", jstr_or_null(r->due_on));
    json_object_set_new(o, "bill_on", jstr_or_null(r->bill_on));
    json_object_set_new(o, "expected_on", jstr_or_null(r->expected_on));
    json_object_set_new(o, "period_from", jstr_or_null(r->period_from));
    json_object_set_new(o, "period_to", jstr_or_null(r->period_to));
    json_object_set_new(o, "amount", json_string(r->amount));
    json_object_set_new(o, "amount_known", json_boolean(r->amount_known));
    json_object_set_new(o, "description", json_string(r->description));
    json_object_set_new(o, "status", json_string(sched_status_name(sd->status)));
    json_object_set_new(o, "payment_status", json_string(sched_pay_status_name(sd->payment)));
    json_object_set_new(o, "paid", json_string(paid));
    json_object_set_new(o, "outstanding", json_string(outs));
    json_object_set_new(o, "days_overdue", json_integer(sd->days_overdue));
    json_object_set_new(o, "aging",
                        sd->aging == SCHED_AGING_NONE ? json_null()
                                                      : json_string(sched_aging_name(sd->aging)));
    return o;
}

/* Adds the contract's fields to an item shown outside its contract. */
void contract_item_context(json_t *o, const store_receivable *r)
{
    json_object_set_new(o, "contract_id", jstr_or_null(r->contract_id));
    json_object_set_new(o, "contract_number", jstr_or_null(r->contract_number));
    json_object_set_new(o, "currency", jstr_or_null(r->currency));
    json_object_set_new(o, "customer_id", jstr_or_null(r->customer_id));
}

/* ---- ordering: by due date, pending last (as sched_list_sort) ---- */

typedef struct sorted_row {
    sched_item it;
    store_receivable *r;
} sorted_row;

static int row_cmp(const void *pa, const void *pb)
{
    return sched_item_cmp(&((const sorted_row *)pa)->it, &((const sorted_row *)pb)->it);
}

/* rows[0..n) as schedule items in schedule order (*v: calloc'ed, freed
 * by the caller even on failure) and their sum in currency's minor
 * units. */
static int sort_rows(store_receivable *rows, size_t n, const char *currency, sorted_row **out,
                     money_dec *total)
{
    int minor = 2, rc = money_currency_minor(currency, &minor);
    sorted_row *v = n ? calloc(n, sizeof(*v)) : NULL;
    *out = v;
    *total = (money_dec){0, minor < 0 ? 0 : minor};
    if (rc == 0 && n && !v)
        rc = CPQD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        v[i].r = &rows[i];
        rc = contract_row_item(&rows[i], &v[i].it);
        if (rc == 0)
            rc = money_add(*total, v[i].it.amount, total);
    }
    if (rc == 0 && n)
        qsort(v, n, sizeof(*v), row_cmp);
    return rc;
}

/* The sum (at scale) of contract line l's items among v[0..n), and the
 * line's id (NULL: no item of that line). */
static int line_total(const sorted_row *v, size_t n, int l, int scale, money_dec *sum,
                      const char **id)
{
    int rc = 0;
    *sum = (money_dec){0, scale};
    *id = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (v[i].r->line_no == l) {
            *id = v[i].r->line_id;
            rc = money_add(*sum, v[i].it.amount, sum);
        }
    return rc;
}

/* {"items": [...], "total"} of rows, sorted, with statuses as of as_of;
 * *lines (if wanted) gets [{"line","total"}] per contract line. */
static int items_json(svc_ctx *c, store_receivable *rows, size_t n, const char *currency,
                      date_days as_of, bool fresh, json_t **items, money_dec *total,
                      json_t **lines)
{
    sorted_row *v = NULL;
    int rc = sort_rows(rows, n, currency, &v, total);
    json_t *a = json_array();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sched_standing sd;
        /* fresh: not inserted yet, so without payments (none looked up) */
        store_receivable r = *v[i].r;
        if (fresh)
            r.id = NULL;
        if ((rc = contract_row_standing(c, &r, as_of, &sd)) == 0)
            json_array_append_new(a, contract_item_json(v[i].r, &sd));
    }
    if (rc == 0 && lines) {
        /* per contract line (line_no), in line order */
        *lines = json_array();
        int max = -1;
        for (size_t i = 0; i < n; i++)
            max = rows[i].line_no > max ? rows[i].line_no : max;
        for (int l = 0; rc == 0 && l <= max; l++) {
            money_dec s;
            const char *id;
            rc = line_total(v, n, l, total->scale, &s, &id);
            char b[MONEY_FMT_MAX];
            if (id && rc == 0 && money_format(s, b, sizeof(b)) >= 0)
                json_array_append_new(
                    *lines, json_pack("{s:s,s:i,s:s}", "line", id, "line_no", l, "total", b));
        }
    }
    free(v);
    if (rc != 0) {
        json_decref(a);
        if (lines) {
            json_decref(*lines);
            *lines = NULL;
        }
        return rc;
    }
    *items = a;
    return 0;
}

json_t *contract_head_json(const store_contract *k)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", k->id, "number",
                     k->number, "quote_id", k->quote_id, "quote_version", k->quote_version,
                     "customer_id", k->customer_id, "partner_id", jstr_or_null(k->partner_id),
                     "currency", k->currency, "total", k->total, "signed_on", k->signed_on,
                     "start_on", k->start_on, "catalog_version", k->catalog_version, "created_by",
                     k->created_by, "created_at", k->created_at);
}

/* The whole contract: head, lines and items as of as_of (fresh: items
 * not inserted yet). */
static int json_of(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                   date_days as_of, bool fresh, json_t **out)
{
    json_t *items = NULL, *lines = NULL;
    money_dec total;
    int rc = items_json(c, rows, n, k->currency, as_of, fresh, &items, &total, &lines);
    if (rc)
        return rc;
    json_t *o = contract_head_json(k);
    if (!o) {
        json_decref(items);
        json_decref(lines);
        return CPQD_ENOMEM;
    }
    json_object_set_new(o, "lines", lines);
    json_object_set_new(o, "items", items);
    *out = o;
    return 0;
}

int contract_json_of(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                     date_days as_of, json_t **out)
{
    return json_of(c, k, rows, n, as_of, false, out);
}

int contract_emit(svc_ctx *c, const char *type, const char *kind, const char *rid,
                  const char *contract_id, json_t *payload)
{
    char *text = contract_dump(payload);
    if (!text)
        return CPQD_ENOMEM;
    int rc = contract_emit_text(c, type, kind, rid, contract_id, text);
    free(text);
    return rc;
}

/* ---- the accept request ---- */

static int line_override_check(const char *id, json_t *o, cpqd_errs *errs)
{
    static const char *const keys[] = {"delivered_on", "accepted_on", "milestones",
                                       "payment_term", "bill_day",    NULL};
    char where[128];
    date_days d;
    snprintf(where, sizeof(where), "lines.%.64s.", id);
    if (!json_is_object(o)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "lines.%.64s: must be an object", id);
        return CPQD_EINVAL;
    }
    int rc = contract_only_keys(o, keys, where, errs);
    json_t *pt = json_object_get(o, "payment_term");
    if (rc == 0 && pt &&
        (!json_is_string(pt) || json_string_length(pt) == 0 || json_string_length(pt) > 64)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%spayment_term: must be a payment term id", where);
        rc = CPQD_EINVAL;
    }
    json_t *bd = json_object_get(o, "bill_day");
    if (rc == 0 && bd &&
        (!json_is_integer(bd) || json_integer_value(bd) < 0 || json_integer_value(bd) > 31)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "%sbill_day: must be an integer from 1 to 31 "
                 "(the day of the month a subscription bills on) or 0 (on the start day)",
                 where);
        rc = CPQD_EINVAL;
    }
    if (rc == 0)
        rc = contract_date_member(o, "delivered_on", where, &d, errs);
    if (rc == 0)
        rc = contract_date_member(o, "accepted_on", where, &d, errs);
    json_t *ms = json_object_get(o, "milestones");
    if (rc == 0 && ms && !json_is_object(ms)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%smilestones: must be an object", where);
        return CPQD_EINVAL;
    }
    const char *mk;
    json_t *mv;
    json_object_foreach(ms, mk, mv)
    {
        if (rc == 0 && (!json_is_string(mv) || json_string_length(mv) != 10 ||
                        date_parse(json_string_value(mv), 10, &d) != 0)) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%smilestones.%.64s: must be a date YYYY-MM-DD",
                     where, mk);
            rc = CPQD_EINVAL;
        }
    }
    return rc;
}

static void overrides_free(accept_req *r)
{
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i].ms);
    free(r->lines);
    r->lines = NULL;
    r->nlines = 0;
}

/* One line's override from its (checked) object o. */
static int override_of(const char *id, json_t *o, contract_override *v)
{
    json_t *ms = json_object_get(o, "milestones"), *bd = json_object_get(o, "bill_day");
    *v = (contract_override){.line = id};
    v->delivered_on = json_string_value(json_object_get(o, "delivered_on"));
    v->accepted_on = json_string_value(json_object_get(o, "accepted_on"));
    v->payment_term = json_string_value(json_object_get(o, "payment_term"));
    v->has_bill_day = bd != NULL;
    v->bill_day = (int)json_integer_value(bd);
    v->has_milestones = ms != NULL;
    size_t n = json_object_size(ms);
    if (n && !(v->ms = calloc(n, sizeof(*v->ms))))
        return CPQD_ENOMEM;
    const char *mk;
    json_t *mv;
    json_object_foreach(ms, mk, mv)
    {
        if (v->nms < n)
            v->ms[v->nms++] = (contract_ms_date){mk, json_string_value(mv)};
    }
    return 0;
}

/* r->lines from the tree, again after each change (texts borrowed). */
static int overrides_fill(accept_req *r)
{
    json_t *lines = json_object_get(r->root, "lines");
    size_t n = json_object_size(lines);
    overrides_free(r);
    if (n && !(r->lines = calloc(n, sizeof(*r->lines))))
        return CPQD_ENOMEM;
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(lines, k, v)
    {
        if (rc == 0 && r->nlines < n)
            rc = override_of(k, v, &r->lines[r->nlines++]);
    }
    return rc;
}

void contract_accept_fini(accept_req *r)
{
    overrides_free(r);
    json_decref(r->root);
    r->root = NULL;
}

int contract_accept_parse(const char *body, size_t len, accept_req *r, cpqd_errs *errs)
{
    static const char *const keys[] = {"signed_on", "start_on", "lines", NULL};
    memset(r, 0, sizeof(*r));
    r->signed_on = SCHED_NO_DATE;
    int rc = body_read(body, len, false, keys, &r->root, errs);
    if (rc == 0)
        rc = contract_date_member(r->root, "signed_on", "", &r->signed_on, errs);
    if (rc == 0 && r->signed_on == SCHED_NO_DATE)
        rc = contract_bad(errs, "signed_on: required, a date YYYY-MM-DD");
    r->start_on = r->signed_on;
    if (rc == 0)
        rc = contract_date_member(r->root, "start_on", "", &r->start_on, errs);
    json_t *lines = json_object_get(r->root, "lines");
    if (rc == 0 && lines && !json_is_object(lines))
        rc = contract_bad(errs, "lines: must be an object keyed by quote line id");
    const char *k;
    json_t *v;
    json_object_foreach(lines, k, v)
    {
        if (rc == 0)
            rc = line_override_check(k, v, errs);
    }
    return rc ? rc : overrides_fill(r);
}

/* The object lines[id] of r's tree (created when missing). */
static json_t *line_overrides(accept_req *r, const char *id)
{
    json_t *lines = json_object_get(r->root, "lines");
    if (!lines && json_object_set_new(r->root, "lines", lines = json_object()) != 0)
        return NULL;
    json_t *o = json_object_get(lines, id);
    if (!o && json_object_set_new(lines, id, o = json_object()) != 0)
        return NULL;
    return o;
}

int contract_accept_event(accept_req *r, const char *line, contract_event event, const char *ref,
                          const char *on)
{
    json_t *o = line_overrides(r, line);
    if (!o)
        return CPQD_ENOMEM;
    json_t *d = json_string(on);
    if (event == CONTRACT_EVENT_MILESTONE) {
        json_t *ms = json_object_get(o, "milestones");
        if (!ms)
            json_object_set_new(o, "milestones", ms = json_object());
        json_object_set_new(ms, ref, d);
    } else {
        json_object_set_new(o, event == CONTRACT_EVENT_DELIVERED ? "delivered_on" : "accepted_on",
                            d);
    }
    return overrides_fill(r);
}

char *contract_accept_text(const accept_req *r)
{
    return json_dumps(r->root, JSON_COMPACT | JSON_SORT_KEYS);
}

/* ---- what a contract reads of its quote ---- */

/* ---- the members of a stored priced result a contract reads ----
 *
 * A scanner over the stored text (written by jansson, so well-formed)
 * that builds a tree of only what contract_priced_read and promotion
 * redemption read: date, subtotal, each line's id, sku, total, book,
 * tax_rate, quantity and whether it has free_item_of, and promotions'
 * applied id and amount. The full tree is most of an acceptance's parse
 * time (each line's waterfall, attributes and approvals), none of it
 * read. Anything unusual (an escaped key or captured string, a member of
 * an unexpected type, a malformed token) makes it give up: then the text
 * is parsed whole, as before, so the answer is always the same. */

typedef struct pscan {
    const char *p, *end;
    int depth;
} pscan;

#define PSCAN_DEPTH 256

static void ps_ws(pscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static bool ps_eat(pscan *s, char ch)
{
    ps_ws(s);
    if (s->p < s->end && *s->p == ch) {
        s->p++;
        return true;
    }
    return false;
}

static bool ps_is(pscan *s, char ch)
{
    ps_ws(s);
    return s->p < s->end && *s->p == ch;
}

/* A string at s: its raw bytes [*v, *v + *len); *esc if it holds an
 * escape (its raw bytes are not its value). */
static bool ps_str(pscan *s, const char **v, size_t *len, bool *esc)
{
    *esc = false;
    if (!ps_eat(s, '"'))
        return false;
    const char *b = s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char ch = (unsigned char)*s->p;
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            *esc = true;
            if (++s->p >= s->end || !strchr("\"\\/bfnrtu", *s->p))
                return false;
        }
        s->p++;
    }
    if (s->p >= s->end)
        return false;
    *v = b;
    *len = (size_t)(s->p - b);
    s->p++;
    return true;
}

static bool ps_digits(pscan *s)
{
    const char *b = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > b;
}

static bool ps_skip(pscan *s);

/* The rest of an object or array after its opening (a member: key ':'
 * value), up to its close. */
static bool ps_skip_items(pscan *s, char close, bool keys)
{
    if (ps_eat(s, close))
        return true;
    do {
        const char *k;
        size_t kl;
        bool esc;
        if (keys && (!ps_str(s, &k, &kl, &esc) || !ps_eat(s, ':')))
            return false;
        if (!ps_skip(s))
            return false;
    } while (ps_eat(s, ','));
    return ps_eat(s, close);
}

/* Any value at s. */
static bool ps_skip(pscan *s)
{
    ps_ws(s);
    if (s->p >= s->end)
        return false;
    const char *v;
    size_t n;
    bool esc, ok;
    switch (*s->p) {
    case '"':
        return ps_str(s, &v, &n, &esc);
    case '{':
    case '[':
        if (++s->depth > PSCAN_DEPTH)
            return false;
        ok = *s->p == '{' ? (s->p++, ps_skip_items(s, '}', true))
                          : (s->p++, ps_skip_items(s, ']', false));
        s->depth--;
        return ok;
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = {"true", "false", "null"};
        for (int i = 0; i < 3; i++) {
            size_t l = strlen(lit[i]);
            if ((size_t)(s->end - s->p) >= l && !memcmp(s->p, lit[i], l)) {
                s->p += l;
                return true;
            }
        }
        return false;
    }
    default:
        /* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
        if (*s->p == '-')
            s->p++;
        if (s->p < s->end && *s->p == '0')
            s->p++;
        else if (s->p >= s->end || *s->p < '1' || *s->p > '9' || !ps_digits(s))
            return false;
        if (s->p < s->end && *s->p == '.' && (s->p++, !ps_digits(s)))
            return false;
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
            s->p++;
            if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                s->p++;
            if (!ps_digits(s))
                return false;
        }
        return true;
    }
}

/* Member k of into from the value at s: its string (a string without
 * escapes), or none (any other type: json_string_value reads NULL). */
static bool ps_text_member(pscan *s, const char *k, json_t *into)
{
    const char *v;
    size_t n;
    bool esc;
    if (!ps_is(s, '"')) {
        json_object_del(into, k);
        return ps_skip(s);
    }
    if (!ps_str(s, &v, &n, &esc) || esc)
        return false;
    json_t *str = json_stringn(v, n);
    return str && json_object_set_new(into, k, str) == 0;
}

typedef bool (*ps_member_fn)(pscan *s, const char *k, size_t kl, json_t *into);

/* An object at s into `into`, member by member through f. */
static bool ps_object(pscan *s, ps_member_fn f, json_t *into)
{
    if (!ps_eat(s, '{'))
        return false;
    if (ps_eat(s, '}'))
        return true;
    do {
        const char *k;
        size_t kl;
        bool esc;
        if (!ps_str(s, &k, &kl, &esc) || esc || !ps_eat(s, ':') || !f(s, k, kl, into))
            return false;
    } while (ps_eat(s, ','));
    return ps_eat(s, '}');
}

/* An array of objects at s into the array `into`, each through f. */
static bool ps_objects(pscan *s, ps_member_fn f, json_t *into)
{
    if (!ps_eat(s, '['))
        return false;
    if (ps_eat(s, ']'))
        return true;
    do {
        json_t *o = json_object();
        if (!o || json_array_append_new(into, o) != 0 || !ps_object(s, f, o))
            return false;
    } while (ps_eat(s, ','));
    return ps_eat(s, ']');
}

static bool key_is(const char *k, size_t kl, const char *name)
{
    return strlen(name) == kl && !memcmp(k, name, kl);
}

static bool ps_one_of(const char *k, size_t kl, const char *const *names, const char **name)
{
    for (size_t i = 0; names[i]; i++)
        if (key_is(k, kl, names[i])) {
            *name = names[i];
            return true;
        }
    return false;
}

static bool ps_line_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    static const char *const texts[] = {"id", "sku", "total", "book", "tax_rate", "quantity", NULL};
    const char *name;
    if (ps_one_of(k, kl, texts, &name))
        return ps_text_member(s, name, into);
    if (key_is(k, kl, "free_item_of")) /* only whether it is there is read */
        return ps_skip(s) && json_object_set_new(into, "free_item_of", json_null()) == 0;
    return ps_skip(s);
}

static bool ps_applied_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    static const char *const texts[] = {"id", "amount", NULL};
    const char *name;
    return ps_one_of(k, kl, texts, &name) ? ps_text_member(s, name, into) : ps_skip(s);
}

/* A member holding an array of objects (any other type: give up). */
static bool ps_objects_member(pscan *s, const char *k, ps_member_fn f, json_t *into)
{
    json_t *a = json_array();
    return a && json_object_set_new(into, k, a) == 0 && ps_objects(s, f, a);
}

static bool ps_promo_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    return key_is(k, kl, "applied") ? ps_objects_member(s, "applied", ps_applied_member, into)
                                    : ps_skip(s);
}

static bool ps_top_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    static const char *const texts[] = {"date", "subtotal", NULL};
    const char *name;
    if (ps_one_of(k, kl, texts, &name))
        return ps_text_member(s, name, into);
    if (key_is(k, kl, "lines"))
        return ps_objects_member(s, "lines", ps_line_member, into);
    if (key_is(k, kl, "promotions")) {
        json_t *o = json_object();
        return o && json_object_set_new(into, "promotions", o) == 0 &&
               ps_object(s, ps_promo_member, o);
    }
    return ps_skip(s);
}

/* The tree of what a contract reads of priced result text, or NULL
 * (then parse it whole). */
static json_t *priced_lite(const char *text)
{
    pscan s = {text, text + strlen(text), 0};
    json_t *root = json_object();
    if (!root || !ps_object(&s, ps_top_member, root) || (ps_ws(&s), s.p != s.end)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *contract_priced_lite(const char *text)
{
    return text ? priced_lite(text) : NULL;
}

int contract_priced_read(const store_quote *q, bool lite, cbuild *b, const char **date)
{
    json_error_t je;
    b->priced = lite && q->priced ? priced_lite(q->priced) : NULL;
    if (!b->priced)
        b->priced = q->priced ? json_loads(q->priced, 0, &je) : NULL;
    json_t *plines = json_object_get(b->priced, "lines");
    *date = json_string_value(json_object_get(b->priced, "date"));
    if (!plines || !*date)
        return CPQD_EINTERNAL;
    size_t n = json_array_size(plines);
    if (n && !(b->plines = calloc(n, sizeof(*b->plines))))
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *pl = json_array_get(plines, i);
        b->plines[i] =
            (contract_priced_line){.id = json_string_value(json_object_get(pl, "id")),
                                   .sku = json_string_value(json_object_get(pl, "sku")),
                                   .total = json_string_value(json_object_get(pl, "total")),
                                   .book = json_string_value(json_object_get(pl, "book")),
                                   .tax_rate = json_string_value(json_object_get(pl, "tax_rate")),
                                   .quantity = json_string_value(json_object_get(pl, "quantity")),
                                   .free_item = json_object_get(pl, "free_item_of") != NULL};
    }
    b->nplines = n;
    return 0;
}

static bool ps_segment_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    return key_is(k, kl, "segment") ? ps_text_member(s, "segment", into) : ps_skip(s);
}

static bool ps_request_member(pscan *s, const char *k, size_t kl, json_t *into)
{
    static const char *const objs[] = {"caller", "customer", NULL};
    static const char *const texts[] = {"date", "channel", NULL};
    const char *name;
    if (ps_one_of(k, kl, texts, &name))
        return ps_text_member(s, name, into);
    if (!ps_one_of(k, kl, objs, &name))
        return ps_skip(s);
    if (!ps_is(s, '{')) { /* reads as absent */
        json_object_del(into, name);
        return ps_skip(s);
    }
    json_t *o = json_object();
    return o && json_object_set_new(into, name, o) == 0 && ps_object(s, ps_segment_member, o);
}

json_t *contract_request_lite(const char *text)
{
    if (!text)
        return NULL;
    pscan s = {text, text + strlen(text), 0};
    json_t *root = json_object();
    if (!root || !ps_object(&s, ps_request_member, root) || (ps_ws(&s), s.p != s.end)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *contract_request_read(const store_quote *q)
{
    json_error_t je;
    /* only what is read: the scanner, else the full parse */
    json_t *req = contract_request_lite(q->request);
    return req ? req : q->request ? json_loads(q->request, 0, &je) : NULL;
}

char *contract_request_segment(const json_t *req, bool as_priced)
{
    /* read only: jansson's getters take a non-const json_t */
    json_t *r = (json_t *)req;
    const char *seg =
        as_priced ? json_string_value(json_object_get(json_object_get(r, "caller"), "segment"))
                  : NULL;
    if (!seg)
        seg = json_string_value(json_object_get(json_object_get(r, "customer"), "segment"));
    return seg ? strdup(seg) : NULL;
}

char *contract_quote_segment(const store_quote *q, bool as_priced)
{
    json_t *req = contract_request_read(q);
    char *s = contract_request_segment(req, as_priced);
    json_decref(req);
    return s;
}

/* ---- payments and the sweep's options ---- */

int contract_pay_parse(const char *body, size_t len, pay_req *p, cpqd_errs *errs)
{
    static const char *const keys[] = {"id", "amount", "paid_on", NULL};
    memset(p, 0, sizeof(*p));
    p->paid_on = SCHED_NO_DATE;
    int rc = body_read(body, len, false, keys, &p->root, errs);
    json_t *id = json_object_get(p->root, "id"), *a = json_object_get(p->root, "amount");
    p->client_id = json_string_value(id);
    if (rc == 0 && (!p->client_id || json_string_length(id) < 1 || json_string_length(id) > 128))
        rc = contract_bad(errs, "id: required, the client's payment id (1 to 128 characters)");
    if (rc == 0 && (!json_is_string(a) ||
                    money_parse(json_string_value(a), json_string_length(a), &p->amount) != 0 ||
                    money_sign(p->amount) <= 0))
        rc = contract_bad(errs, "amount: required, a positive decimal string such as \"100.00\"");
    if (rc == 0)
        rc = contract_date_member(p->root, "paid_on", "", &p->paid_on, errs);
    if (rc == 0 && p->paid_on == SCHED_NO_DATE)
        rc = contract_bad(errs, "paid_on: required, a date YYYY-MM-DD");
    p->paid_on_text = json_string_value(json_object_get(p->root, "paid_on"));
    return rc;
}

void contract_pay_fini(pay_req *p)
{
    json_decref(p->root);
    p->root = NULL;
}

int contract_sweep_parse(const char *body, size_t len, int max, date_days *as_of, int *days,
                         cpqd_errs *errs)
{
    static const char *const keys[] = {"as_of", "within", NULL};
    json_t *root;
    int rc = body_read(body, len, true, keys, &root, errs);
    if (rc == 0)
        rc = contract_date_member(root, "as_of", "", as_of, errs);
    json_t *wi = json_object_get(root, "within");
    if (rc == 0 && wi &&
        (!json_is_integer(wi) || json_integer_value(wi) < 0 || json_integer_value(wi) > max)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "within: days, an integer from 0 to %d", max);
        rc = CPQD_EINVAL;
    }
    if (wi && rc == 0)
        *days = (int)json_integer_value(wi);
    json_decref(root);
    return rc;
}

/* ---- text views ---- */

char *contract_item_text(const store_receivable *r, const sched_standing *sd)
{
    json_t *it = contract_item_json(r, sd);
    contract_item_context(it, r);
    return contract_dump(it);
}

int contract_text(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                  date_days as_of, char **out)
{
    json_t *o = NULL;
    *out = NULL;
    int rc = contract_json_of(c, k, rows, n, as_of, &o);
    if (rc == 0)
        rc = (*out = contract_dump(o)) ? 0 : CPQD_ENOMEM;
    return rc;
}

static int signed_texts(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                        date_days as_of, bool fresh, char **body, char **scheduled)
{
    json_t *o = NULL;
    *body = *scheduled = NULL;
    int rc = json_of(c, k, rows, n, as_of, fresh, &o);
    if (rc == 0 && !(*body = contract_dump(json_incref(o))))
        rc = CPQD_ENOMEM;
    if (rc == 0) {
        json_t *sch =
            json_pack("{s:s,s:s,s:s,s:s,s:O,s:O}", "contract_id", k->id, "contract_number",
                      k->number, "currency", k->currency, "total", k->total, "lines",
                      json_object_get(o, "lines"), "items", json_object_get(o, "items"));
        rc = (*scheduled = contract_dump(sch)) ? 0 : CPQD_ENOMEM;
    }
    json_decref(o);
    return rc;
}

int contract_signed_text(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                         date_days as_of, char **body, char **scheduled)
{
    return signed_texts(c, k, rows, n, as_of, false, body, scheduled);
}

/* ---- the signed texts with slots ---- */

/* A slot is the text of a marker, DEL kind index DEL (DEL, 0x7f, goes
 * out of json_dumps unescaped): kind K the contract's id, N its number,
 * T its created_at, R item `index`'s id. A value of the contract holding
 * a DEL makes the markers ambiguous: then there is no template. */
#define SLOT_MARK '\x7f'

struct contract_slot {
    size_t at, len; /* the marker's bytes in the text */
    char kind;
    size_t index;
};

void contract_tmpl_fini(contract_tmpl *t)
{
    free(t->text);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* The slots of text (consumed on success): each marker once, `want`
 * of them, or CPQD_EINVAL. */
static int tmpl_scan(char *text, size_t nrows, size_t want, contract_tmpl *t)
{
    size_t len = strlen(text), cap = 0;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == SLOT_MARK;
    unsigned char *seen = calloc(nrows + 3, 1);
    t->slots = calloc(cap / 2 + 1, sizeof(*t->slots));
    t->text = text;
    t->len = len;
    int rc = seen && t->slots ? 0 : CPQD_ENOMEM;
    const char *p = text, *end = text + len;
    while (rc == 0 && (p = memchr(p, SLOT_MARK, (size_t)(end - p))) != NULL) {
        const char *q = p + 1;
        char kind = q < end ? *q++ : 0;
        size_t index = 0, digits = 0;
        while (q < end && *q >= '0' && *q <= '9' && digits < 18)
            index = index * 10 + (size_t)(*q++ - '0'), digits++;
        size_t who = kind == 'K' ? 0 : kind == 'N' ? 1 : kind == 'T' ? 2 : 3 + index;
        if (q >= end || *q != SLOT_MARK || (kind == 'R') != (digits > 0) ||
            (kind != 'K' && kind != 'N' && kind != 'T' && kind != 'R') || who >= nrows + 3 ||
            seen[who]++ || t->n >= cap / 2 + 1) {
            rc = CPQD_EINVAL;
            break;
        }
        t->slots[t->n++] = (contract_slot){(size_t)(p - text), (size_t)(q + 1 - p), kind, index};
        p = q + 1;
    }
    free(seen);
    if (rc == 0 && t->n != want)
        rc = CPQD_EINVAL;
    if (rc) {
        t->text = NULL; /* the caller's */
        free(t->slots);
        memset(t, 0, sizeof(*t));
    }
    return rc;
}

/* ---- the signed texts of a contract not inserted yet, written directly ----
 *
 * What json_dumps (JSON_COMPACT) writes of contract_json_of's tree, byte
 * for byte, without building the tree (most of an acceptance's time
 * outside the transaction). Only for texts in printable ASCII (and DEL,
 * the slots' mark) with the escapes jansson uses for quotes, backslashes
 * and control characters: anything else (a non-ASCII byte, a text
 * missing where the tree would lose a member) gives up, and the tree
 * writes it (test_contract_json compares both). */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool bad; /* gave up (or out of memory) */
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_lit(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_str(sbuf *b, const char *s)
{
    if (!s) {
        b->bad = true;
        return;
    }
    sb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch < 0x80)
            continue;
        sb_put(b, run, (size_t)(s - run));
        run = s + 1;
        char e[8];
        switch (ch) {
        case '"': sb_lit(b, "\\\""); break;
        case '\\': sb_lit(b, "\\\\"); break;
        case '\b': sb_lit(b, "\\b"); break;
        case '\f': sb_lit(b, "\\f"); break;
        case '\n': sb_lit(b, "\\n"); break;
        case '\r': sb_lit(b, "\\r"); break;
        case '\t': sb_lit(b, "\\t"); break;
        default:
            if (ch >= 0x80) {
                b->bad = true; /* UTF-8: the tree checks and writes it */
                return;
            }
            snprintf(e, sizeof(e), "\\u%04X", ch);
            sb_lit(b, e);
        }
    }
    sb_put(b, run, (size_t)(s - run));
    sb_put(b, "\"", 1);
}

/* ,"k": (no comma first) */
static void sb_key(sbuf *b, const char *k, bool first)
{
    if (!first)
        sb_put(b, ",", 1);
    sb_put(b, "\"", 1);
    sb_lit(b, k);
    sb_put(b, "\":", 2);
}

static void sb_kstr(sbuf *b, const char *k, const char *v, bool first)
{
    sb_key(b, k, first);
    sb_str(b, v);
}

static void sb_kstr_or_null(sbuf *b, const char *k, const char *v)
{
    sb_key(b, k, false);
    if (v)
        sb_str(b, v);
    else
        sb_lit(b, "null");
}

static void sb_kint(sbuf *b, const char *k, long long v)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", v);
    sb_key(b, k, false);
    sb_lit(b, t);
}

/* contract_item_json's text. */
static void sb_item(sbuf *b, const store_receivable *r, const sched_standing *sd)
{
    char paid[MONEY_FMT_MAX] = "0", outs[MONEY_FMT_MAX] = "0";
    money_format(sd->paid, paid, sizeof(paid));
    money_format(sd->outstanding, outs, sizeof(outs));
    sb_put(b, "{", 1);
    sb_key(b, "id", true);
    if (r->id)
        sb_str(b, r->id);
    else
        sb_lit(b, "null");
    sb_kstr(b, "line", r->line_id, false);
    sb_kint(b, "line_no", r->line_no);
    sb_kstr(b, "kind", r->kind, false);
    sb_kint(b, "service", r->service);
    sb_kint(b, "seq", r->seq);
    sb_kint(b, "part", r->part);
    sb_kstr_or_null(b, "ref", r->ref);
    sb_kstr_or_null(b, "waits_for", r->waits_for);
    sb_kstr_or_null(b, "due_on", r->due_on);
    sb_kstr_or_null(b, "bill_on", r->bill_on);
    sb_kstr_or_null(b, "expected_on", r->expected_on);
    sb_kstr_or_null(b, "period_from", r->period_from);
    sb_kstr_or_null(b, "period_to", r->period_to);
    sb_kstr(b, "amount", r->amount, false);
    sb_key(b, "amount_known", false);
    sb_lit(b, r->amount_known ? "true" : "false");
    sb_kstr(b, "description", r->description, false);
    sb_kstr(b, "status", sched_status_name(sd->status), false);
    sb_kstr(b, "payment_status", sched_pay_status_name(sd->payment), false);
    sb_kstr(b, "paid", paid, false);
    sb_kstr(b, "outstanding", outs, false);
    sb_kint(b, "days_overdue", sd->days_overdue);
    sb_kstr_or_null(b, "aging",
                    sd->aging == SCHED_AGING_NONE ? NULL : sched_aging_name(sd->aging));
    sb_put(b, "}", 1);
}

/* "lines":[...],"items":[...] of rows not inserted yet (items_json's
 * order and sums) into b. */
static int sb_lines_items(sbuf *b, svc_ctx *c, store_receivable *rows, size_t n,
                          const char *currency, date_days as_of)
{
    sorted_row *v = NULL;
    money_dec total;
    int rc = sort_rows(rows, n, currency, &v, &total);
    sb_lit(b, ",\"lines\":[");
    int max = -1;
    for (size_t i = 0; i < n; i++)
        max = rows[i].line_no > max ? rows[i].line_no : max;
    bool first = true;
    for (int l = 0; rc == 0 && l <= max; l++) {
        money_dec s;
        const char *id;
        rc = line_total(v, n, l, total.scale, &s, &id);
        char t[MONEY_FMT_MAX];
        if (!id || rc)
            continue;
        if (money_format(s, t, sizeof(t)) < 0) {
            b->bad = true;
            break;
        }
        sb_lit(b, first ? "{" : ",{");
        first = false;
        sb_kstr(b, "line", id, true);
        sb_kint(b, "line_no", l);
        sb_kstr(b, "total", t, false);
        sb_put(b, "}", 1);
    }
    sb_lit(b, "],\"items\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sched_standing sd;
        store_receivable r = *v[i].r;
        r.id = NULL; /* not inserted: no payments */
        if ((rc = contract_row_standing(c, &r, as_of, &sd)) == 0) {
            if (i)
                sb_put(b, ",", 1);
            sb_item(b, v[i].r, &sd);
        }
    }
    sb_put(b, "]", 1);
    free(v);
    return rc;
}

/* signed_texts(fresh) written directly: 0, CPQD_EINVAL (gave up: use
 * the tree), or another code. */
static int signed_direct(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                         date_days as_of, char **body, char **scheduled)
{
    sbuf li = {0}, h = {0}, sc = {0};
    *body = *scheduled = NULL;
    int rc = sb_lines_items(&li, c, rows, n, k->currency, as_of);
    /* contract_head_json */
    sb_put(&h, "{", 1);
    sb_kstr(&h, "id", k->id, true);
    sb_kstr(&h, "number", k->number, false);
    sb_kstr(&h, "quote_id", k->quote_id, false);
    sb_kint(&h, "quote_version", k->quote_version);
    sb_kstr(&h, "customer_id", k->customer_id, false);
    sb_kstr_or_null(&h, "partner_id", k->partner_id);
    const char *const hk[] = {"currency", "total",           "signed_on",  "start_on",
                              "catalog_version", "created_by", "created_at"};
    const char *const hv[] = {k->currency,        k->total,      k->signed_on, k->start_on,
                              k->catalog_version, k->created_by, k->created_at};
    for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++)
        sb_kstr(&h, hk[i], hv[i], false);
    /* receivables.scheduled: its head, then the same lines and items */
    sb_put(&sc, "{", 1);
    sb_kstr(&sc, "contract_id", k->id, true);
    sb_kstr(&sc, "contract_number", k->number, false);
    sb_kstr(&sc, "currency", k->currency, false);
    sb_kstr(&sc, "total", k->total, false);
    if (rc == 0 && !li.bad) {
        sb_put(&h, li.p, li.n);
        sb_put(&sc, li.p, li.n);
    }
    sb_put(&h, "}", 1);
    sb_put(&sc, "}", 1);
    if (rc == 0 && (li.bad || h.bad || sc.bad))
        rc = CPQD_EINVAL;
    free(li.p);
    if (rc) {
        free(h.p);
        free(sc.p);
        return rc;
    }
    *body = h.p;
    *scheduled = sc.p;
    return 0;
}

int contract_fresh_texts(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                         date_days as_of, bool direct, char **body, char **scheduled)
{
    return direct ? signed_direct(c, k, rows, n, as_of, body, scheduled)
                  : signed_texts(c, k, rows, n, as_of, true, body, scheduled);
}

int contract_signed_tmpl(svc_ctx *c, const store_contract *k, const store_receivable *rows,
                         size_t n, date_days as_of, contract_tmpl *body, contract_tmpl *scheduled)
{
    memset(body, 0, sizeof(*body));
    memset(scheduled, 0, sizeof(*scheduled));
    char(*marks)[32] = calloc(n + 3, sizeof(*marks));
    store_receivable *rr = calloc(n ? n : 1, sizeof(*rr));
    store_contract kk = *k;
    int rc = marks && rr ? 0 : CPQD_ENOMEM;
    char *b = NULL, *sch = NULL;
    if (rc == 0) {
        static const char kinds[] = "KNT";
        for (size_t i = 0; i < 3; i++)
            snprintf(marks[i], sizeof(marks[i]), "%c%c%c", SLOT_MARK, kinds[i], SLOT_MARK);
        kk.id = marks[0], kk.number = marks[1], kk.created_at = marks[2];
        for (size_t i = 0; i < n; i++) {
            snprintf(marks[3 + i], sizeof(marks[3 + i]), "%cR%zu%c", SLOT_MARK, i, SLOT_MARK);
            rr[i] = rows[i];
            rr[i].id = marks[3 + i];
        }
        rc = signed_direct(c, &kk, rr, n, as_of, &b, &sch);
        if (rc == CPQD_EINVAL) /* something the tree writes */
            rc = signed_texts(c, &kk, rr, n, as_of, true, &b, &sch);
    }
    if (rc == 0 && (rc = tmpl_scan(b, n, n + 3, body)) == 0)
        b = NULL;
    if (rc == 0 && (rc = tmpl_scan(sch, n, n + 2, scheduled)) == 0)
        sch = NULL;
    if (rc) {
        contract_tmpl_fini(body);
        contract_tmpl_fini(scheduled);
    }
    free(b);
    free(sch);
    free(rr);
    free(marks);
    return rc;
}

/* Whether s goes out of json_dumps as itself (printable ASCII, no quote
 * or backslash). */
static bool plain(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return s != NULL;
}

int contract_tmpl_fill(const contract_tmpl *t, const store_contract *k,
                       const store_receivable *rows, size_t n, char **out)
{
    *out = NULL;
    if (!t->text)
        return CPQD_EINVAL;
    size_t len = t->len;
    for (size_t i = 0; i < t->n; i++) {
        const contract_slot *sl = &t->slots[i];
        const char *v = sl->kind == 'K'   ? k->id
                        : sl->kind == 'N' ? k->number
                        : sl->kind == 'T' ? k->created_at
                        : sl->index < n   ? rows[sl->index].id
                                          : NULL;
        if (!plain(v))
            return CPQD_EINVAL;
        len = len - sl->len + strlen(v);
    }
    char *o = malloc(len + 1), *w = o;
    if (!o)
        return CPQD_ENOMEM;
    size_t from = 0;
    for (size_t i = 0; i < t->n; i++) {
        const contract_slot *sl = &t->slots[i];
        const char *v = sl->kind == 'K'   ? k->id
                        : sl->kind == 'N' ? k->number
                        : sl->kind == 'T' ? k->created_at
                                          : rows[sl->index].id;
        size_t vl = strlen(v);
        memcpy(w, t->text + from, sl->at - from);
        w += sl->at - from;
        memcpy(w, v, vl);
        w += vl;
        from = sl->at + sl->len;
    }
    memcpy(w, t->text + from, t->len - from);
    w[t->len - from] = '\0';
    *out = o;
    return 0;
}

int contract_receivables_text(svc_ctx *c, const store_contract *k, store_receivable *rows, size_t n,
                              date_days as_of, char **out)
{
    json_t *items = NULL;
    money_dec total;
    *out = NULL;
    int rc = items_json(c, rows, n, k->currency, as_of, false, &items, &total, NULL);
    char t[MONEY_FMT_MAX], d[DATE_FMT_LEN];
    date_format(as_of, d);
    if (rc == 0 && money_format(total, t, sizeof(t)) < 0)
        rc = CPQD_ERANGE;
    if (rc == 0)
        rc = (*out = contract_dump(json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "contract_id", k->id,
                                             "contract_number", k->number, "currency", k->currency,
                                             "as_of", d, "items", items, "total", t)))
                 ? 0
                 : CPQD_ENOMEM;
    else
        json_decref(items);
    return rc;
}

char *contract_payment_text(const store_payment *p, const store_receivable *r,
                            const sched_standing *sd)
{
    json_t *it = contract_item_json(r, sd);
    contract_item_context(it, r);
    return contract_dump(json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:o}", "payment", "id", p->id,
                                   "client_id", p->client_id, "amount", p->amount, "paid_on",
                                   p->paid_on, "created_at", p->created_at, "receivable", it));
}

json_t *contract_list_new(void)
{
    return json_array();
}

int contract_list_add_item(json_t *list, const store_receivable *r, const sched_standing *sd)
{
    json_t *it = contract_item_json(r, sd);
    contract_item_context(it, r);
    return json_array_append_new(list, it) == 0 ? 0 : CPQD_ENOMEM;
}

int contract_list_add_head(json_t *list, const store_contract *k, const char *status)
{
    json_t *o = contract_head_json(k);
    if (o)
        json_object_set_new(o, "status", json_string(status));
    return o && json_array_append_new(list, o) == 0 ? 0 : CPQD_ENOMEM;
}

size_t contract_list_size(const json_t *list)
{
    return json_array_size(list);
}

int contract_list_add_damaged(json_t **damaged, const char *id, const char *reason)
{
    if (!*damaged && !(*damaged = json_array()))
        return CPQD_ENOMEM;
    json_t *o = json_pack("{s:s,s:s}", "id", id, "reason", reason);
    return o && json_array_append_new(*damaged, o) == 0 ? 0 : CPQD_ENOMEM;
}

/* Sets "damaged" of o to damaged (consumed) when there is one. */
static json_t *with_damaged(json_t *o, json_t *damaged)
{
    if (o && damaged)
        json_object_set(o, "damaged", damaged);
    json_decref(damaged);
    return o;
}

char *contract_page_text(json_t *items, json_t *damaged, const char *next)
{
    return contract_dump(with_damaged(
        json_pack("{s:o,s:o}", "items", items, "next", next ? json_string(next) : json_null()),
        damaged));
}

static json_t *payment_json(const store_payment *p)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", p->id, "receivable_id", p->receivable_id,
                     "client_id", p->client_id, "amount", p->amount, "paid_on", p->paid_on,
                     "created_at", p->created_at);
}

char *contract_receivable_text(const store_receivable *r, const sched_standing *sd,
                               const store_payment *ps, size_t n)
{
    json_t *o = contract_item_json(r, sd), *pays = json_array();
    contract_item_context(o, r);
    for (size_t i = 0; i < n && pays; i++)
        json_array_append_new(pays, payment_json(&ps[i]));
    json_object_set_new(o, "payments", pays);
    return pays ? contract_dump(o) : (json_decref(o), NULL);
}

char *contract_payments_text(const store_contract *k, const store_payment *ps, size_t n,
                             const char *next)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, payment_json(&ps[i]));
    if (!arr)
        return NULL;
    return contract_dump(json_pack("{s:s,s:s,s:s,s:o,s:o}", "contract_id", k->id, "contract_number",
                                   k->number, "currency", k->currency, "items", arr, "next",
                                   next ? json_string(next) : json_null()));
}

char *contract_due_text(const char *status, const char *as_of, json_t *items, json_t *damaged,
                        const char *next, int within)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "status", status, "as_of", as_of, "items", items,
                          "next", next ? json_string(next) : json_null());
    if (o && within >= 0)
        json_object_set_new(o, "within", json_integer(within));
    return contract_dump(with_damaged(o, damaged));
}

/* ---- the sweep ---- */

int contract_sweep_failed_add(sweep_run *w, const store_sweep_failure *f, const char *as_of,
                              char **event)
{
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "item", f->item, "kind", f->kind, "contract_id",
                  f->contract_id, "ref", f->ref, "code", f->code, "message", f->message);
    int rc = o ? 0 : CPQD_ENOMEM;
    if (event)
        *event = NULL;
    if (rc == 0 && as_of) {
        json_t *ev = json_deep_copy(o);
        json_object_set_new(ev, "as_of", json_string(as_of));
        rc = (*event = contract_dump(ev)) ? 0 : CPQD_ENOMEM;
    }
    if (rc == 0 && !w->failed && !(w->failed = json_array()))
        rc = CPQD_ENOMEM;
    if (rc == 0)
        rc = json_array_append(w->failed, o) == 0 ? 0 : CPQD_ENOMEM;
    w->nfailed += rc == 0;
    json_decref(o);
    return rc;
}

char *contract_sweep_text(const char *as_of, int within, const contract_sweep_counts *n,
                          const sweep_run *w)
{
    json_t *failed = w->failed ? json_incref(w->failed) : json_array();
    return contract_dump(
        json_pack("{s:s,s:i,s:{s:I,s:I},s:I,s:I,s:I,s:I,s:I,s:o}", "as_of", as_of, "within", within,
                  "emitted", "overdue", (json_int_t)n->overdue, "due_soon", (json_int_t)n->due_soon,
                  "closed_periods", (json_int_t)n->closed, "renewed_terms", (json_int_t)n->renewed,
                  "invoices_issued", (json_int_t)n->invoiced, "revenue_vouchers",
                  (json_int_t)n->posted, "failed", (json_int_t)w->nfailed, "failures", failed));
}

char *contract_failures_text(const store_sweep_failure *v, size_t n, const char *next)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        const store_sweep_failure *f = &v[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "item", f->item, "kind",
                              f->kind, "contract_id", f->contract_id, "ref", f->ref, "code",
                              f->code, "message", f->message, "first_failed_at", f->first_failed_at,
                              "last_failed_at", f->last_failed_at, "failures",
                              (json_int_t)f->failures, "resolved_at", jstr_or_null(f->resolved_at));
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            return NULL;
        }
    }
    return contract_dump(
        json_pack("{s:o,s:o}", "items", items, "next", next ? json_string(next) : json_null()));
}

/* ---- after signing ---- */

/* [items of line li] as of today, with their contract's fields. */
/* Appends row r to arr as an item as of today; false (arr freed) when its
 * standing cannot be computed. */
static bool item_append(svc_ctx *c, json_t *arr, const store_receivable *r)
{
    sched_standing sd;
    if (contract_row_standing(c, r, c->today, &sd) != 0) {
        json_decref(arr);
        return false;
    }
    json_array_append_new(arr, contract_item_json(r, &sd));
    return true;
}

json_t *contract_line_items_json(svc_ctx *c, contract_after *a, size_t li, int seq)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < a->n; i++) {
        const store_receivable *r = &a->rows[i];
        if ((size_t)r->line_no == li && (seq < 0 || r->seq == seq) && !item_append(c, arr, r))
            return NULL;
    }
    return arr;
}

int contract_event_parse(const char *body, size_t len, bool milestone, contract_event_req *e,
                         cpqd_errs *errs)
{
    static const char *const keys[] = {"on", NULL}, *const mkeys[] = {"on", "line", NULL};
    e->on = SCHED_NO_DATE;
    int rc = body_read(body, len, false, milestone ? mkeys : keys, &e->root, errs);
    if (rc == 0)
        rc = contract_date_member(e->root, "on", "", &e->on, errs);
    if (rc == 0 && e->on == SCHED_NO_DATE)
        rc = contract_bad(errs, "on: required, a date YYYY-MM-DD");
    e->on_text = json_string_value(json_object_get(e->root, "on"));
    json_t *l = json_object_get(e->root, "line");
    if (rc == 0 && l && !json_is_string(l))
        rc = contract_bad(errs, "line: must be a line id");
    if (l)
        e->line = json_string_value(l);
    return rc;
}

int contract_usage_parse(const char *body, size_t len, contract_usage_req *u, cpqd_errs *errs)
{
    static const char *const keys[] = {"id", "line", "period", "quantity", "recorded_on", NULL};
    int rc = body_read(body, len, false, keys, &u->root, errs);
    json_t *id = json_object_get(u->root, "id"), *q = json_object_get(u->root, "quantity");
    u->id = json_string_value(id);
    u->line = json_string_value(json_object_get(u->root, "line"));
    u->period = json_string_value(json_object_get(u->root, "period"));
    u->quantity_text = json_string_value(q);
    u->recorded_on = SCHED_NO_DATE;
    if (rc == 0 &&
        (!u->id || json_string_length(id) < 1 || json_string_length(id) > CONTRACT_USAGE_ID_MAX))
        rc = contract_bad(errs, "id: required, the usage record id (1 to 128 characters)");
    if (rc == 0 && !u->line)
        rc = contract_bad(errs, "line: required, the contract line id");
    if (rc == 0 && !u->period)
        rc = contract_bad(errs, "period: required, " CONTRACT_PERIOD_FORMAT);
    if (rc == 0 && (!u->quantity_text ||
                    money_parse(u->quantity_text, strlen(u->quantity_text), &u->quantity) != 0 ||
                    money_sign(u->quantity) < 0))
        rc = contract_bad(errs, "quantity: required, a decimal string >= 0 such as \"1250.5\"");
    if (rc == 0)
        rc = contract_date_member(u->root, "recorded_on", "", &u->recorded_on, errs);
    u->recorded_on_text = json_string_value(json_object_get(u->root, "recorded_on"));
    return rc;
}

int contract_close_parse(const char *body, size_t len, contract_close_req *r, cpqd_errs *errs)
{
    static const char *const keys[] = {"line", NULL};
    int rc = body_read(body, len, true, keys, &r->root, errs);
    json_t *l = json_object_get(r->root, "line");
    if (rc == 0 && l && !json_is_string(l))
        rc = contract_bad(errs, "line: must be a line id");
    r->line = json_string_value(l);
    return rc;
}

char *contract_rescheduled_text(svc_ctx *c, contract_after *a, size_t li,
                                const contract_event_req *e)
{
    json_t *items = contract_line_items_json(c, a, li, -1);
    if (!items)
        return NULL;
    return contract_dump(json_pack(
        "{s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:s,s:o}", "contract_id", a->k.id, "contract_number",
        a->k.number, "currency", a->k.currency, "line", a->b.ids[li], "line_no", (int)li, "event",
        contract_event_name(e->event), "ref",
        e->milestone ? json_string(e->milestone) : json_null(), "on", e->on_text, "items", items));
}

char *contract_usage_text(const contract_after *a, const store_usage *s, size_t li,
                          const char *from, const char *to)
{
    return contract_dump(json_pack(
        "{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "id", s->client_id, "contract_id",
        a->k.id, "contract_number", a->k.number, "line", a->b.ids[li], "line_no", (int)li, "seq",
        s->seq, "period_from", from, "period_to", to, "quantity", s->quantity, "recorded_on",
        s->recorded_on, "recorded_by", s->recorded_by, "created_at", s->created_at));
}

char *contract_amount_set_text(const store_receivable *r, const sched_standing *sd, const char *qty,
                               size_t nrec)
{
    json_t *it = contract_item_json(r, sd);
    contract_item_context(it, r);
    json_object_set_new(it, "usage",
                        json_pack("{s:s,s:I}", "quantity", qty, "records", (json_int_t)nrec));
    return contract_dump(it);
}

char *contract_period_closed_text(svc_ctx *c, contract_after *a, size_t li, int seq,
                                  const char *qty, size_t nrec)
{
    json_t *items = contract_line_items_json(c, a, li, seq);
    json_t *next = contract_line_items_json(c, a, li, seq + 1);
    char *text = NULL;
    if (items && next)
        text = contract_dump(
            json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:I,s:s,s:O,s:O}", "contract_id", a->k.id,
                      "contract_number", a->k.number, "currency", a->k.currency, "line",
                      a->b.ids[li], "line_no", (int)li, "seq", seq, "quantity", qty, "records",
                      (json_int_t)nrec, "total", a->k.total, "items", items, "next", next));
    json_decref(items);
    json_decref(next);
    return text;
}

char *contract_closed_text(const contract_after *a, const contract_closed *v, size_t n)
{
    json_t *done = json_array();
    for (size_t i = 0; done && i < n; i++) {
        json_t *o =
            json_pack("{s:s,s:i,s:i,s:s,s:s,s:s,s:I,s:s,s:b}", "line", a->b.ids[v[i].li], "line_no",
                      (int)v[i].li, "seq", v[i].seq, "period_from", v[i].from, "period_to", v[i].to,
                      "quantity", v[i].qty, "records", (json_int_t)v[i].records, "amount",
                      v[i].amount, "closed_now", v[i].closed_now);
        if (!o || json_array_append_new(done, o) != 0) {
            json_decref(done);
            return NULL;
        }
    }
    return contract_dump(json_pack("{s:s,s:s,s:s,s:o}", "contract_id", a->k.id, "contract_number",
                                   a->k.number, "total", a->k.total, "closed", done));
}

/* ---- term changes ---- */

/* A positive integer, as a JSON integer or a string of digits. */
static bool seats_of(json_t *v, long long *out)
{
    const char *s = json_string_value(v);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 1 && *out <= CONTRACT_SEATS_MAX;
    }
    if (!s || !*s || strlen(s) > 10 || strspn(s, "0123456789") != strlen(s))
        return false;
    *out = strtoll(s, NULL, 10);
    return *out >= 1 && *out <= CONTRACT_SEATS_MAX;
}

int contract_renew_parse(const char *body, size_t len, contract_renew_req *r, cpqd_errs *errs)
{
    static const char *const keys[] = {"term", "period_amount", NULL};
    int rc = body_read(body, len, true, keys, &r->root, errs);
    json_t *t = json_object_get(r->root, "term"), *p = json_object_get(r->root, "period_amount");
    if (rc == 0 && t &&
        (!json_is_integer(t) || json_integer_value(t) < 1 ||
         json_integer_value(t) > CONTRACT_TERM_MAX))
        rc = contract_bad(errs, "term: the renewal term number, an integer from 1 (the first "
                                "renewal) to 10000");
    if (rc == 0 && t)
        r->term = (int)json_integer_value(t);
    const char *pt = json_string_value(p);
    if (rc == 0 && p &&
        (!pt || money_parse(pt, strlen(pt), &r->amount) != 0 || money_sign(r->amount) < 0))
        rc = contract_bad(errs, "period_amount: a decimal string >= 0, the renewal price of one "
                                "full billing period");
    r->has_amount = rc == 0 && p;
    return rc;
}

int contract_seat_parse(const char *body, size_t len, contract_seat_req *r, cpqd_errs *errs)
{
    static const char *const keys[] = {"id", "quantity", "effective_on", "period_amount", NULL};
    r->on = SCHED_NO_DATE;
    int rc = body_read(body, len, false, keys, &r->root, errs);
    json_t *id = json_object_get(r->root, "id"), *p = json_object_get(r->root, "period_amount");
    r->id = json_string_value(id);
    if (rc == 0 &&
        (!r->id || json_string_length(id) < 1 || json_string_length(id) > CONTRACT_CHANGE_ID_MAX))
        rc = contract_bad(errs, "id: required, the change id (1 to 128 characters)");
    if (rc == 0 && !seats_of(json_object_get(r->root, "quantity"), &r->qty))
        rc = contract_bad(errs, "quantity: required, the new number of seats, a positive integer "
                                "such as \"12\"");
    if (rc == 0)
        rc = contract_date_member(r->root, "effective_on", "", &r->on, errs);
    if (rc == 0 && r->on == SCHED_NO_DATE)
        rc = contract_bad(errs, "effective_on: required, a date YYYY-MM-DD");
    r->on_text = json_string_value(json_object_get(r->root, "effective_on"));
    const char *pt = json_string_value(p);
    if (rc == 0 && p &&
        (!pt || money_parse(pt, strlen(pt), &r->amount) != 0 || money_sign(r->amount) < 0))
        rc = contract_bad(errs, "period_amount: a decimal string >= 0, the full period's amount "
                                "at the new quantity");
    r->has_amount = rc == 0 && p;
    return rc;
}

/* The rows of the items of list (by key), as JSON items as of today. */
static json_t *rows_json(svc_ctx *c, contract_after *a, const sched_list *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < list->n; i++) {
        const store_receivable *r = contract_row_of(a, &list->items[i]);
        if (r && !item_append(c, arr, r))
            return NULL;
    }
    return arr;
}

int contract_renewal_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                          const char *from, const char *to, const sched_list *l, char **out)
{
    json_t *items = rows_json(c, a, l);
    *out = items ? contract_dump(json_pack(
                       "{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}",
                       "contract_id", a->k.id, "contract_number", a->k.number, "currency",
                       a->k.currency, "line", a->b.ids[li], "line_no", (int)li, "term", ch->term_no,
                       "term_from", from, "term_to", to, "period_amount", ch->period_amount,
                       "previous_period_amount", ch->old_amount, "quantity", ch->quantity, "source",
                       ch->source, "renewed_by", ch->created_by, "renewed_at", ch->created_at,
                       "total", a->k.total, "items", items))
                 : NULL;
    json_decref(items);
    return *out ? 0 : CPQD_ENOMEM;
}

/* The seat change view, or NULL. */
static json_t *seat_json(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                         const char *cr, const char *chg)
{
    json_t *items = contract_line_items_json(c, a, li, -1);
    json_t *o =
        items
            ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
                        "s:s,s:O}",
                        "id", ch->client_id, "contract_id", a->k.id, "contract_number", a->k.number,
                        "currency", a->k.currency, "line", a->b.ids[li], "line_no", (int)li, "term",
                        ch->term_no, "change_no", ch->change_no, "effective_on", ch->effective_on,
                        "quantity", ch->quantity, "previous_quantity", ch->old_quantity,
                        "period_amount", ch->period_amount, "previous_period_amount",
                        ch->old_amount, "credit", cr, "charge", chg, "created_by", ch->created_by,
                        "created_at", ch->created_at, "total", a->k.total, "items", items)
            : NULL;
    json_decref(items);
    return o;
}

int contract_seat_text(svc_ctx *c, contract_after *a, size_t li, const store_line_change *ch,
                       const char *credit, const char *charge, const char *on, char **reply,
                       char **event)
{
    json_t *change = seat_json(c, a, li, ch, credit, charge);
    *reply = change ? contract_dump(json_incref(change)) : NULL;
    int rc = *reply ? 0 : CPQD_ENOMEM;
    if (event)
        *event = NULL;
    if (rc == 0 && event) {
        json_t *items = contract_line_items_json(c, a, li, -1);
        /* json_pack takes change and items, also when it fails */
        *event = items
                     ? contract_dump(json_pack(
                           "{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:o,s:o}", "contract_id", a->k.id,
                           "contract_number", a->k.number, "currency", a->k.currency, "line",
                           a->b.ids[li], "line_no", (int)li, "event", "seat_change", "ref",
                           ch->client_id, "on", on, "change", json_incref(change), "items", items))
                     : NULL;
        rc = *event ? 0 : CPQD_ENOMEM;
    }
    json_decref(change);
    return rc;
}
