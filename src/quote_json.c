/*
 * quote_json: the wire form of quotes (docs/quotes.md), as price_json.c
 * is pricing's. Owns turning a request body into typed values (the quote
 * request, a move's note) and quotes into their JSON views (a quote, its
 * history, a page of the list) and reading the facts approvals need
 * from a stored request and priced result.
 * Does not own: what the values mean (the status machine, authority,
 * approvals: quote.c), transactions, events (quote.c through svc, store).
 *
 * The views are the bytes clients, events and signed webhook bodies
 * carry: a change here changes every one of them. A stored priced result
 * goes out as its stored text, verbatim, wherever no partner reads it.
 */
#include "quote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- views ---- */
/* Drops what a partner must not see from a stored priced result. */
void quote_partner_filter(json_t *priced)
{
    json_t *lines = json_object_get(priced, "lines");
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        json_object_del(l, "cost");
        json_object_del(l, "margin");
        json_object_del(json_object_get(l, "approval"), "out_of_bounds");
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(l, "waterfall"), k, st)
        {
            const char *kind = json_string_value(json_object_get(st, "step"));
            if (kind && (!strcmp(kind, "floor") || !strcmp(kind, "ceiling"))) {
                json_object_set_new(st, "step", json_string("adjustment"));
                json_object_set_new(st, "label",
                                    json_string("price adjusted to the book's limits"));
                json_object_del(st, "ref");
                json_object_set_new(st, "source", json_null());
            }
        }
    }
}

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *quote_json(const svc_ctx *c, const store_quote *q, bool with_priced)
{
    quote_status status = quote_effective_status(c, q);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(q->id));
    json_object_set_new(o, "number", json_string(q->number));
    json_object_set_new(o, "version", json_integer(q->version));
    json_object_set_new(o, "status", json_string(quote_status_name(status)));
    json_object_set_new(o, "customer_id", jstr_or_null(q->customer_id));
    json_object_set_new(o, "partner_id", jstr_or_null(q->partner_id));
    json_object_set_new(o, "currency", jstr_or_null(q->currency));
    json_object_set_new(o, "total", jstr_or_null(q->total));
    json_object_set_new(o, "valid_until", jstr_or_null(q->valid_until));
    json_object_set_new(o, "approval_required", json_boolean(q->approval_required));
    json_object_set_new(o, "approval_level", jstr_or_null(q->approval_level));
    json_object_set_new(o, "catalog_version", jstr_or_null(q->catalog_version));
    json_object_set_new(o, "created_by", jstr_or_null(q->created_by));
    json_object_set_new(o, "created_at", jstr_or_null(q->created_at));
    json_object_set_new(o, "updated_at", jstr_or_null(q->updated_at));
    json_t *acts = json_array();
    for (int a = 0; acts && a < QUOTE_ACTION_N; a++)
        if (quote_next(status, (quote_action)a) != QUOTE_STATUS_N)
            json_array_append_new(acts, json_string(quote_action_name((quote_action)a)));
    json_object_set_new(o, "actions", acts ? acts : json_array());
    store_contract k;
    if (status == QUOTE_ACCEPTED && c->st && store_contract_by_quote(c->st, q->id, &k) == 0) {
        json_object_set_new(o, "contract_id", json_string(k.id)); /* the contract it became */
        store_contract_fini(&k);
    }
    if (with_priced && q->priced) {
        json_error_t je;
        json_t *p = json_loads(q->priced, 0, &je);
        if (p && quote_partner_caller(c))
            quote_partner_filter(p);
        json_object_set_new(o, "priced", p ? p : json_null());
    }
    return o;
}

/* The quote's status history (who moved it, when, with what note). */
static json_t *history_json(const svc_ctx *c, const char *id)
{
    store_event *ev = NULL;
    size_t n = 0;
    json_t *a = json_array();
    if (!a || store_quote_history(c->st, id, &ev, &n) != 0)
        return a;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_pack("{s:o,s:s,s:I,s:o,s:o,s:o}", "from",
                                           jstr_or_null(ev[i].from), "to", ev[i].to ? ev[i].to : "",
                                           "version", (json_int_t)ev[i].version, "actor",
                                           jstr_or_null(ev[i].actor), "note",
                                           jstr_or_null(ev[i].note), "at", jstr_or_null(ev[i].at)));
        store_event_fini(&ev[i]);
    }
    free(ev);
    return a;
}

char *quote_dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The quote as an internal caller sees it, with its priced result and
 * its history, as text: the priced result is the stored text verbatim
 * (not parsed and written again: it is most of the bytes), at
 * *priced_at for *priced_len bytes (0: the quote has none). */
char *quote_json_text(const svc_ctx *c, const store_quote *q, size_t *priced_at, size_t *priced_len)
{
    char *head = quote_dump(quote_json(c, q, false));
    char *hist = quote_dump(history_json(c, q->id));
    size_t hl = head ? strlen(head) : 0, pl = q->priced ? strlen(q->priced) : 0;
    size_t tl = hist ? strlen(hist) : 0;
    char *t = head && hist && hl > 1 ? malloc(hl + pl + tl + 32) : NULL;
    size_t n = 0;
    *priced_at = *priced_len = 0;
    if (t) {
        /* head is {...}: the members go on before its closing brace */
        memcpy(t, head, hl - 1);
        n = hl - 1;
        if (q->priced) {
            memcpy(t + n, ",\"priced\":", 10);
            n += 10;
            *priced_at = n;
            *priced_len = pl;
            memcpy(t + n, q->priced, pl);
            n += pl;
        }
        memcpy(t + n, ",\"history\":", 11);
        n += 11;
        memcpy(t + n, hist, tl);
        n += tl;
        memcpy(t + n, "}", 2);
    }
    free(head);
    free(hist);
    return t;
}

/* A quote with its priced result and its history. */
char *quote_json_full(const svc_ctx *c, const store_quote *q)
{
    if (!quote_partner_caller(c)) {
        size_t at, len;
        return quote_json_text(c, q, &at, &len);
    }
    json_t *o = quote_json(c, q, true);
    if (o)
        json_object_set_new(o, "history", history_json(c, q->id));
    return quote_dump(o);
}

const char *quote_jget(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

char *quote_json_list(const svc_ctx *c, const store_quote *items, size_t n, bool more)
{
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, quote_json(c, &items[i], false));
    json_t *next = more && n ? json_string(items[n - 1].id) : json_null();
    if (!o || !arr || !next) {
        json_decref(o);
        json_decref(arr);
        json_decref(next);
        return NULL;
    }
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "next", next);
    return quote_dump(o);
}

/* ---- requests ---- */

json_t *quote_json_body(const char *body, size_t len, cpqd_errs *errs)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 root ? "body: must be a JSON object" : "invalid JSON at line %d column %d: %s",
                 je.line, je.column, je.text);
        json_decref(root);
        return NULL;
    }
    return root;
}

void quote_req_fini(quote_req *r)
{
    price_req_buf_free(r->buf);
    json_decref(r->tree);
    free(r->request);
    memset(r, 0, sizeof(*r));
}

static int req_bad(json_t *root, cpqd_errs *errs, const char *msg)
{
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "%s", msg);
    json_decref(root);
    return CPQD_EINVAL;
}

/* The common body without a tree (price_json_fast.c): 0, PJF_OTHER
 * (anything else, left to the tree, which reports its errors) or
 * CPQD_ENOMEM. */
static int req_parse_fast(const char *body, size_t len, date_days today, quote_req *r)
{
    pjf_more more = {.name = "valid_until", .today = today};
    int rc = price_json_parse_fast(body, len, &more, &r->buf, &r->rq);
    if (rc)
        return rc;
    date_days until = today + QUOTE_DEFAULT_VALID_DAYS;
    if (more.value && (date_parse(more.value, strlen(more.value), &until) != 0 || until < today)) {
        price_req_buf_free(r->buf);
        r->buf = NULL;
        r->rq = NULL;
        return PJF_OTHER;
    }
    date_format(until, r->valid_until);
    r->body = body;
    r->len = len;
    r->dated = more.dated;
    return 0;
}

/* The pricing date is pinned in the stored request: a quote re-priced
 * later prices on the same date. */
static void pin_date(json_t *root, date_days d)
{
    char t[DATE_FMT_LEN];
    date_format(d, t);
    json_object_set_new(root, "date", json_string(t));
}

int quote_json_req_parse(const char *body, size_t len, date_days today, quote_req *r,
                         cpqd_errs *errs)
{
    memset(r, 0, sizeof(*r));
    int fast = req_parse_fast(body, len, today, r);
    if (fast != PJF_OTHER)
        return fast;
    json_t *root = quote_json_body(body, len, errs);
    if (!root)
        return CPQD_EINVAL;
    date_days until = today + QUOTE_DEFAULT_VALID_DAYS;
    json_t *vu = json_object_get(root, "valid_until");
    if (vu && (!json_is_string(vu) ||
               date_parse(json_string_value(vu), json_string_length(vu), &until) != 0))
        return req_bad(root, errs, "valid_until: must be a date YYYY-MM-DD");
    if (until < today)
        return req_bad(root, errs, "valid_until: must not be in the past");
    date_format(until, r->valid_until);
    if (json_is_null(json_object_get(root, "date")) || !json_object_get(root, "date"))
        pin_date(root, today);
    /* the rest is a price request: read from the same tree */
    static const char *const ours[] = {"valid_until", NULL};
    int rc = price_json_parse_tree(root, ours, &r->buf, &r->rq, errs);
    if (rc) {
        json_decref(root);
        return rc;
    }
    r->tree = root;
    return 0;
}

/* Whether s (NULL: null) goes into JSON text as it is: no byte that
 * needs an escape (UTF-8 is checked where the value came from). */
static bool plain(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* ,"k":"v" or ,"k":null (v plain) at p; the end. */
static char *put_member(char *p, const char *k, const char *v, bool first)
{
    p += sprintf(p, first ? "\"%s\":" : ",\"%s\":", k);
    p += v ? sprintf(p, "\"%s\"", v) : sprintf(p, "null");
    return p;
}

/* The stored text from the body as it came: its closing brace replaced
 * by the pinned date (when it named none) and the caller. 0, PJF_OTHER
 * (a value that needs escapes: the tree writes it) or CPQD_ENOMEM. */
static int seal_text(quote_req *r, const char *role, const char *auth)
{
    const price_request *rq = r->rq;
    size_t n = r->len;
    while (n && (r->body[n - 1] == ' ' || r->body[n - 1] == '\n' || r->body[n - 1] == '\r' ||
                 r->body[n - 1] == '\t'))
        n--;
    if (!n || r->body[n - 1] != '}' || !plain(role) || !plain(rq->partner_id) ||
        !plain(rq->segment))
        return PJF_OTHER;
    n--; /* the body is an object with its lines: never empty */
    size_t cap = n + 160 + (role ? strlen(role) : 0) +
                 (rq->partner_id ? strlen(rq->partner_id) : 0) +
                 (rq->segment ? strlen(rq->segment) : 0) + strlen(auth);
    char *t = malloc(cap), *p = t;
    if (!t)
        return CPQD_ENOMEM;
    memcpy(p, r->body, n);
    p += n;
    if (!r->dated) {
        char d[DATE_FMT_LEN];
        date_format(r->rq->date, d);
        p += sprintf(p, ",\"date\":\"%s\"", d);
    }
    p += sprintf(p, ",\"caller\":{");
    p = put_member(p, "authority", *auth ? auth : NULL, true);
    p = put_member(p, "partner_id", rq->partner_id, false);
    p = put_member(p, "role", role, false);
    p = put_member(p, "segment", rq->segment, false);
    memcpy(p, "}}", 3);
    r->request = t;
    return 0;
}

int quote_json_req_seal(quote_req *r)
{
    const price_request *rq = r->rq;
    /* the stored request carries the identity it was priced with, so a
     * re-price on the original catalogs is the same computation (clients
     * cannot send "caller": the price request parser refuses it) */
    char auth[MONEY_FMT_MAX] = "";
    if (rq->has_authority && money_format(rq->authority, auth, sizeof(auth)) < 0)
        auth[0] = '\0';
    if (!r->tree) {
        int rc = seal_text(r, rq->role, auth);
        if (rc != PJF_OTHER)
            return rc;
        json_error_t je; /* the body was read once: it is JSON */
        r->tree = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &je);
        if (!r->tree)
            return CPQD_ENOMEM;
        if (!r->dated)
            pin_date(r->tree, rq->date);
    }
    json_object_set_new(r->tree, "caller",
                        json_pack("{s:s?,s:s?,s:s?,s:s?}", "role", rq->role, "partner_id",
                                  rq->partner_id, "segment", rq->segment, "authority",
                                  *auth ? auth : NULL));
    r->request = json_dumps(r->tree, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(r->tree);
    r->tree = NULL;
    return r->request ? 0 : CPQD_ENOMEM;
}

int quote_json_note_parse(const char *body, size_t len, char **note, cpqd_errs *errs)
{
    *note = NULL;
    if (!body || len == 0)
        return 0;
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *n = o ? json_object_get(o, "note") : NULL;
    if (!o || !json_is_object(o) || json_object_size(o) > (n ? 1u : 0u) ||
        (n && (!json_is_string(n) || json_string_length(n) > 2000)))
        return req_bad(o, errs, "body: must be empty or {\"note\": \"...\"} (at most 2000 bytes)");
    *note = n ? strdup(json_string_value(n)) : NULL;
    json_decref(o);
    return 0;
}

/* ---- facts of a stored quote ---- */

/* The largest discount of the stored request's lines. */
static money_dec stored_max_discount(const char *request)
{
    json_error_t je;
    money_dec max = money_from_int(0);
    json_t *req = request ? json_loads(request, 0, &je) : NULL;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(req, "lines"), i, l)
    {
        json_t *d = json_object_get(l, "discount");
        money_dec v;
        if (json_is_string(d) &&
            money_parse(json_string_value(d), json_string_length(d), &v) == 0 &&
            money_cmp(v, max) > 0)
            max = v;
        if (json_is_integer(d) && money_cmp(money_from_int(json_integer_value(d)), max) > 0)
            max = money_from_int(json_integer_value(d));
    }
    json_decref(req);
    return max;
}

/* Whether a line of the stored priced result has a price out of bounds. */
static bool stored_flagged(const char *priced_text)
{
    json_error_t je;
    bool flagged = false;
    json_t *priced = priced_text ? json_loads(priced_text, 0, &je) : NULL;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(priced, "lines"), i, l)
    {
        json_t *a = json_object_get(l, "approval");
        const char *why = json_string_value(json_object_get(a, "reason"));
        /* results stored before out_of_bounds named it in their reason */
        if (json_is_true(json_object_get(a, "out_of_bounds")) ||
            (why && (strstr(why, "floor") || strstr(why, "ceiling"))))
            flagged = true;
    }
    json_decref(priced);
    return flagged;
}

void quote_json_facts(const store_quote *q, quote_facts *out)
{
    out->max_discount = stored_max_discount(q->request);
    out->flagged = stored_flagged(q->priced);
}
