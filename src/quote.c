/*
 * quote: see include/cpqd/quote.h and docs/quotes.md.
 *
 * One request, one store transaction: the idempotency lookup, the quote
 * (or version, or status move) and the idempotency record are written
 * together or not at all. A quote's priced result is stored as rendered
 * for internal callers; partner callers get it filtered (no cost, margin
 * or floor/ceiling detail) when they read it.
 */
#include "cpqd/quote.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define QUOTE_DEFAULT_VALID_DAYS 30
#define QUOTE_HISTORY_SCAN 500 /* accepted quotes the price history reads, newest first */

/* The actions allowed in each status (docs/quotes.md). */
static const char *allowed_actions(const char *status)
{
    if (!strcmp(status, "draft"))
        return "submit,revise";
    if (!strcmp(status, "pending_approval"))
        return "approve,reject,revise";
    if (!strcmp(status, "approved"))
        return "send,accept,revise";
    if (!strcmp(status, "sent"))
        return "accept,revise";
    if (!strcmp(status, "rejected"))
        return "revise";
    return "";
}

static bool action_allowed(const char *status, const char *action)
{
    const char *a = allowed_actions(status);
    size_t n = strlen(action);
    while (*a) {
        const char *comma = strchr(a, ',');
        size_t len = comma ? (size_t)(comma - a) : strlen(a);
        if (len == n && !strncmp(a, action, n))
            return true;
        a += len + (comma ? 1 : 0);
    }
    return false;
}

/* A quote past its valid_until is expired, whatever was stored, until it
 * is accepted, rejected or already expired. */
static const char *effective_status(const svc_ctx *c, const store_quote *q)
{
    date_days until;
    if (q->valid_until && date_parse(q->valid_until, strlen(q->valid_until), &until) == 0 &&
        c->today > until &&
        (!strcmp(q->status, "draft") || !strcmp(q->status, "pending_approval") ||
         !strcmp(q->status, "approved") || !strcmp(q->status, "sent")))
        return "expired";
    return q->status;
}

static bool partner_caller(const svc_ctx *c)
{
    return c->caller->role && !strcmp(c->caller->role, "partner");
}

/* A partner sees only its own quotes; anything else does not exist. */
static bool in_scope(const svc_ctx *c, const store_quote *q)
{
    if (!partner_caller(c))
        return true;
    return q->partner_id && c->caller->partner_id && !strcmp(q->partner_id, c->caller->partner_id);
}

static void sha256_hex(const char *buf, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* ---- JSON of a quote ---- */

/* Drops what a partner must not see from a stored priced result. */
static void partner_filter(json_t *priced)
{
    json_t *lines = json_object_get(priced, "lines");
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        json_object_del(l, "cost");
        json_object_del(l, "margin");
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(l, "waterfall"), k, st)
        {
            const char *kind = json_string_value(json_object_get(st, "step"));
            if (kind && (!strcmp(kind, "floor") || !strcmp(kind, "ceiling"))) {
                json_object_set_new(st, "step", json_string("adjustment"));
                json_object_set_new(st, "label", json_string("price adjusted to the book's limits"));
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
    const char *status = effective_status(c, q);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(q->id));
    json_object_set_new(o, "number", json_string(q->number));
    json_object_set_new(o, "version", json_integer(q->version));
    json_object_set_new(o, "status", json_string(status));
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
    const char *a = allowed_actions(status);
    while (acts && *a) {
        const char *comma = strchr(a, ',');
        size_t len = comma ? (size_t)(comma - a) : strlen(a);
        json_array_append_new(acts, json_stringn(a, len));
        a += len + (comma ? 1 : 0);
    }
    json_object_set_new(o, "actions", acts ? acts : json_array());
    if (with_priced && q->priced) {
        json_error_t je;
        json_t *p = json_loads(q->priced, 0, &je);
        if (p && partner_caller(c))
            partner_filter(p);
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
        json_array_append_new(
            a, json_pack("{s:o,s:s,s:I,s:o,s:o,s:o}", "from", jstr_or_null(ev[i].from), "to",
                         ev[i].to ? ev[i].to : "", "version", (json_int_t)ev[i].version, "actor",
                         jstr_or_null(ev[i].actor), "note", jstr_or_null(ev[i].note), "at",
                         jstr_or_null(ev[i].at)));
        store_event_fini(&ev[i]);
    }
    free(ev);
    return a;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Writes event `type` about q in the caller's open transaction (the
 * outbox, docs/events.md): the payload is the quote as GET
 * /v1/quotes/{id} shows it to the CRM (an internal caller, so never
 * partner-filtered), history included. */
static int quote_emit(const svc_ctx *c, const char *type, const store_quote *q)
{
    svc_caller crm = *c->caller;
    crm.role = "crm";
    svc_ctx as_crm = *c;
    as_crm.caller = &crm;
    json_t *o = quote_json(&as_crm, q, true);
    if (o)
        json_object_set_new(o, "history", history_json(&as_crm, q->id));
    char *payload = dump(o), key[96];
    if (!payload)
        return CPQD_ENOMEM;
    snprintf(key, sizeof(key), "quote:%s", q->id);
    store_outbox_new ev = {.type = type, .resource_kind = "quote", .resource_id = q->id,
                           .order_key = key, .payload = payload};
    int rc = store_outbox_add(c->st, &ev, NULL, NULL);
    free(payload);
    return rc;
}

/* ---- pricing a quote request ---- */

typedef struct qreq {
    price_req_buf *buf;
    price_request *rq;
    char *request;     /* normalised JSON text of the whole body */
    char valid_until[DATE_FMT_LEN];
    const char *partner_id; /* points into buf or the caller */
    money_dec max_discount;
} qreq;

static void qreq_fini(qreq *r)
{
    price_req_buf_free(r->buf);
    free(r->request);
}

/* A revision keeps its quote's partner (docs/quotes.md): a staff caller
 * may leave partner_id out (the quote's applies, so the revision prices
 * with the partner's books and authority) but not name another one. */
static int keep_partner(price_request *rq, const store_quote *cur, cpqd_errs *errs)
{
    const char *had = cur->partner_id;
    if (rq->partner_id && (!had || strcmp(rq->partner_id, had) != 0)) {
        errs_add(errs, CPQD_EREFUSED, NULL, 0, 0,
                 "partner_id: a quote keeps its partner (%.64s%s); it cannot become '%.64s'",
                 had ? had : "none", had ? "" : ": it was made without one", rq->partner_id);
        return CPQD_EREFUSED;
    }
    rq->partner_id = had;
    return 0;
}

/* The money authority over the pricing date of a stored quote: a date
 * more than the catalogs' `backdating_days` before today (the smallest
 * of the lines' catalogs) needs a manager or admin; what-ifs through
 * /v1/price may look at any date. */
static int date_authorized(const svc_ctx *c, const price_request *rq, cpqd_errs *errs)
{
    int grace = 366;
    for (size_t i = 0; i < rq->nlines; i++) {
        const char *sku = rq->lines[i].sku;
        const cat_product *p = sku ? cat_snapshot_product(c->snap, sku, strlen(sku)) : NULL;
        if (p && p->catalog->backdating_days < grace)
            grace = p->catalog->backdating_days;
    }
    const char *role = c->caller->role;
    if (rq->date >= c->today - grace || !strcmp(role, "manager") || !strcmp(role, "admin"))
        return 0;
    char d[DATE_FMT_LEN], t[DATE_FMT_LEN];
    date_format(rq->date, d);
    date_format(c->today, t);
    errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
             "date: %s is %d days before today (%s), more than the catalog allows (%d): a "
             "back-dated quote needs a manager",
             d, (int)(c->today - rq->date), t, grace);
    return CPQD_EFORBIDDEN;
}

/* Splits "valid_until" off the body, parses the rest as a price request
 * and applies the caller's identity; a revision (cur) keeps the quote's
 * partner. */
static int qreq_parse(svc_ctx *c, const char *body, size_t len, const store_quote *cur, qreq *r,
                      cpqd_errs *errs)
{
    memset(r, 0, sizeof(*r));
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 root ? "body: must be a JSON object"
                      : "invalid JSON at line %d column %d: %s",
                 je.line, je.column, je.text);
        json_decref(root);
        return CPQD_EINVAL;
    }
    date_days until = c->today + QUOTE_DEFAULT_VALID_DAYS;
    json_t *vu = json_object_get(root, "valid_until");
    if (vu && (!json_is_string(vu) ||
               date_parse(json_string_value(vu), json_string_length(vu), &until) != 0)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "valid_until: must be a date YYYY-MM-DD");
        json_decref(root);
        return CPQD_EINVAL;
    }
    if (until < c->today) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "valid_until: must not be in the past");
        json_decref(root);
        return CPQD_EINVAL;
    }
    date_format(until, r->valid_until);
    /* the pricing date is pinned in the stored request: a quote re-priced
     * later prices on the same date */
    if (!json_object_get(root, "date")) {
        char today[DATE_FMT_LEN];
        date_format(c->today, today);
        json_object_set_new(root, "date", json_string(today));
    }
    json_t *copy = json_deep_copy(root);
    json_object_del(copy, "valid_until");
    char *rest = copy ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    if (!rest) {
        json_decref(root);
        return CPQD_ENOMEM;
    }
    int rc = price_json_parse(rest, strlen(rest), &r->buf, &r->rq, errs);
    free(rest);
    if (rc) {
        json_decref(root);
        return rc;
    }
    const svc_caller *k = c->caller;
    price_request *rq = r->rq;
    rq->qty_use = PRICE_QTY_STORED;
    if ((rc = date_authorized(c, rq, errs)) != 0 ||
        (cur && !partner_caller(c) && (rc = keep_partner(rq, cur, errs)) != 0)) {
        json_decref(root);
        return rc;
    }
    if (partner_caller(c)) {
        rq->role = "partner";
        rq->partner_id = k->partner_id;
        rq->segment = k->segment;
        rq->partner_view = true;
    } else {
        rq->role = k->role;
        if (!strcmp(k->role, "admin")) {
            rq->has_authority = true;
            rq->authority = money_from_int(100);
        }
    }
    if (k->has_authority) {
        rq->has_authority = true;
        rq->authority = k->authority;
    }
    r->partner_id = rq->partner_id;
    /* the stored request carries the identity it was priced with, so a
     * re-price on the original catalogs is the same computation (clients
     * cannot send "caller": the price request parser refuses it) */
    char auth[MONEY_FMT_MAX] = "";
    if (rq->has_authority && money_format(rq->authority, auth, sizeof(auth)) < 0)
        auth[0] = '\0';
    json_object_set_new(root, "caller",
                        json_pack("{s:s?,s:s?,s:s?,s:s?}", "role", rq->role, "partner_id",
                                  rq->partner_id, "segment", rq->segment, "authority",
                                  *auth ? auth : NULL));
    r->request = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!r->request)
        return CPQD_ENOMEM;
    r->max_discount = money_from_int(0);
    for (size_t i = 0; i < rq->nlines; i++)
        if (rq->lines[i].has_discount && money_cmp(rq->lines[i].discount, r->max_discount) > 0)
            r->max_discount = rq->lines[i].discount;
    return 0;
}

/* Prices r and fills the quote's priced fields. */
static int qreq_price(svc_ctx *c, qreq *r, store_quote *q, cpqd_errs *errs)
{
    price_result res;
    int rc = price_compute(c->pw, c->snap, c->usage, r->rq, &res, errs);
    if (rc)
        return rc;
    char total[MONEY_FMT_MAX];
    char *priced = price_json_render(&res, c->snap, false);
    if (!priced || money_format(res.total, total, sizeof(total)) < 0) {
        free(priced);
        price_result_fini(&res);
        return CPQD_ENOMEM;
    }
    q->priced = priced;
    q->total = strdup(total);
    q->currency = strdup(res.currency);
    q->approval_required = res.approval_required;
    q->approval_level = res.approval_level ? strdup(res.approval_level) : NULL;
    q->catalog_version = strdup(cat_snapshot_version(c->snap));
    q->customer_id = strdup(r->rq->customer_id);
    q->partner_id = r->partner_id ? strdup(r->partner_id) : NULL;
    q->request = strdup(r->request);
    q->valid_until = strdup(r->valid_until);
    q->created_by = strdup(c->caller->key_id ? c->caller->key_id : "anonymous");
    q->status = strdup("draft");
    price_result_fini(&res);
    if (!q->total || !q->currency || !q->catalog_version || !q->customer_id || !q->request ||
        !q->valid_until || !q->created_by || !q->status)
        return CPQD_ENOMEM;
    return 0;
}

/* ---- idempotency ---- */

/* Looks the key up: 1 if a stored reply was copied to *out, 0 if none,
 * or an error (CPQD_ECONFLICT: the key was used with another body). */
static int idem_replay(svc_ctx *c, const char *route, const char *key, const char *hash,
                       svc_reply *out, cpqd_errs *errs)
{
    if (!key)
        return 0;
    store_idem x;
    int rc = store_idem_get(c->st, c->caller->key_id, key, &x);
    if (rc == CPQD_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (strcmp(x.body_hash, hash) != 0 || strcmp(x.route, route) != 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "Idempotency-Key '%.64s' was already used with a different request", key);
        store_idem_fini(&x);
        return CPQD_ECONFLICT;
    }
    out->created = x.status == 201;
    out->body = x.response;
    x.response = NULL;
    store_idem_fini(&x);
    return 1;
}

static int idem_record(svc_ctx *c, const char *route, const char *key, const char *hash,
                       const svc_reply *r, const char *id)
{
    if (!key)
        return 0;
    store_idem x = {.caller = (char *)c->caller->key_id,
                    .key = (char *)key,
                    .route = (char *)route,
                    .body_hash = (char *)hash,
                    .status = r->created ? 201 : 200,
                    .response = r->body,
                    .resource_id = (char *)id};
    return store_idem_put(c->st, &x);
}

static int check_idem_key(const char *key, cpqd_errs *errs)
{
    if (!key)
        return 0;
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            n = 0;
    if (n == 0 || n > 128) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "Idempotency-Key: 1 to 128 printable ASCII characters");
        return CPQD_EINVAL;
    }
    return 0;
}

/* Opens the request's transaction and handles its Idempotency-Key:
 * returns 0 inside an open transaction (go on and record under hash),
 * 1 when a stored reply was replayed into *out (transaction closed), or
 * an error (transaction closed). */
static int idem_open(svc_ctx *c, const char *route, const char *idem_key, const char *body,
                     size_t len, char hash[65], svc_reply *out, cpqd_errs *errs)
{
    int rc = check_idem_key(idem_key, errs);
    if (rc)
        return rc;
    sha256_hex(body, len, hash);
    if ((rc = store_begin(c->st)))
        return rc;
    if ((rc = idem_replay(c, route, idem_key, hash, out, errs)) != 0)
        store_rollback(c->st);
    return rc;
}

/* ---- the routes ---- */

static int year_of(date_days d)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    return y;
}

int quote_create(svc_ctx *c, const char *body, size_t len, const char *idem_key,
                 svc_reply *out, cpqd_errs *errs)
{
    static const char route[] = "POST /v1/quotes";
    char hash[65];
    qreq r;
    store_quote q;
    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    int rc = idem_open(c, route, idem_key, body, len, hash, out, errs);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = qreq_parse(c, body, len, NULL, &r, errs)) == 0 &&
        (rc = qreq_price(c, &r, &q, errs)) == 0 &&
        (rc = quote_archive_snapshot(c->st, c->snap, errs)) == 0 &&
        (rc = store_quote_insert(c->st, &q, year_of(c->today))) == 0) {
        out->created = 1;
        out->body = dump(quote_json(c, &q, true));
        rc = out->body ? idem_record(c, route, idem_key, hash, out, q.id) : CPQD_ENOMEM;
    }
    if (rc == 0)
        rc = quote_emit(c, "quote.created", &q);
    if (rc == 0)
        rc = store_commit(c->st);
    if (rc) {
        store_rollback(c->st);
        svc_reply_fini(out);
    }
    qreq_fini(&r);
    store_quote_fini(&q);
    return rc;
}

static int load_scoped(svc_ctx *c, const char *id, int version, store_quote *q,
                       cpqd_errs *errs)
{
    int rc = store_quote_get(c->st, id, version, q);
    if (rc == 0 && !in_scope(c, q)) {
        store_quote_fini(q);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND) {
        if (version)
            errs_add(errs, rc, NULL, 0, 0, "no version %d of quote '%.64s'", version, id);
        else
            errs_add(errs, rc, NULL, 0, 0, "no quote '%.64s'", id);
    }
    return rc;
}

/* A quote with its priced result and its history. */
static char *quote_full(const svc_ctx *c, const store_quote *q)
{
    json_t *o = quote_json(c, q, true);
    if (o)
        json_object_set_new(o, "history", history_json(c, q->id));
    return dump(o);
}

int quote_get(svc_ctx *c, const char *id, int version, svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    if (version < 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "version must be a positive integer");
        return CPQD_EINVAL;
    }
    int rc = load_scoped(c, id, version, &q, errs);
    if (rc)
        return rc;
    out->body = quote_full(c, &q);
    store_quote_fini(&q);
    return out->body ? 0 : CPQD_ENOMEM;
}

int quote_list(svc_ctx *c, const store_quote_filter *f, svc_reply *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    store_quote_filter scoped = *f;
    if (partner_caller(c)) {
        if (f->partner && (!c->caller->partner_id || strcmp(f->partner, c->caller->partner_id))) {
            /* another partner's quotes: none, as if there were none */
            out->body = strdup("{\"items\":[],\"page\":1,\"per_page\":50,\"total\":0}");
            return out->body ? 0 : CPQD_ENOMEM;
        }
        scoped.partner = c->caller->partner_id;
    }
    store_quote *items = NULL;
    size_t n = 0, total = 0;
    int rc = store_quote_list(c->st, &scoped, &items, &n, &total);
    if (rc) {
        errs_add(errs, rc, NULL, 0, 0, "cannot list quotes");
        return rc;
    }
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (arr)
            json_array_append_new(arr, quote_json(c, &items[i], false));
        store_quote_fini(&items[i]);
    }
    free(items);
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return CPQD_ENOMEM;
    }
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "page", json_integer((json_int_t)scoped.page));
    json_object_set_new(o, "per_page", json_integer((json_int_t)scoped.per_page));
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    out->body = dump(o);
    (void)errs;
    return out->body ? 0 : CPQD_ENOMEM;
}

static int illegal(cpqd_errs *errs, const char *id, const char *status, const char *action)
{
    const char *allowed = allowed_actions(status);
    errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
             "quote '%.64s' is %s: '%s' is not allowed (allowed: %s)", id, status, action,
             *allowed ? allowed : "none");
    return CPQD_ECONFLICT;
}

/* A stored quote that expired is marked expired on the first attempt to
 * move it; the attempt itself is refused. */
static int refuse_expired(svc_ctx *c, store_quote *q, const char *action, cpqd_errs *errs)
{
    int rc = store_quote_set_status(c->st, q->id, q->status, "expired", c->caller->key_id,
                                    "valid_until passed");
    store_quote now;
    if (rc == 0 && (rc = store_quote_get(c->st, q->id, 0, &now)) == 0) {
        rc = quote_emit(c, "quote.status_changed", &now);
        store_quote_fini(&now);
    }
    if (rc == 0)
        rc = store_commit(c->st);
    if (rc)
        store_rollback(c->st);
    return illegal(errs, q->id, "expired", action);
}

int quote_revise(svc_ctx *c, const char *id, const char *body, size_t len,
                 const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128], hash[65];
    store_quote cur, q;
    qreq r;
    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    snprintf(route, sizeof(route), "POST /v1/quotes/%.64s/revise", id);
    int rc = idem_open(c, route, idem_key, body, len, hash, out, errs);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = load_scoped(c, id, 0, &cur, errs))) {
        store_rollback(c->st);
        return rc;
    }
    const char *st = effective_status(c, &cur);
    if (!strcmp(st, "expired") && strcmp(cur.status, "expired") != 0) {
        rc = refuse_expired(c, &cur, "revise", errs);
        store_quote_fini(&cur);
        return rc;
    }
    if (!action_allowed(st, "revise")) {
        rc = illegal(errs, id, st, "revise");
        goto out;
    }
    if ((rc = qreq_parse(c, body, len, &cur, &r, errs)) || (rc = qreq_price(c, &r, &q, errs)))
        goto out;
    if (strcmp(q.customer_id, cur.customer_id) != 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "customer.id: a revision cannot change the customer ('%.64s')", cur.customer_id);
        rc = CPQD_EINVAL;
        goto out;
    }
    q.id = strdup(cur.id);
    q.number = strdup(cur.number);
    q.version = cur.version + 1;
    if (!q.id || !q.number) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    if ((rc = store_quote_add_version(c->st, &q)))
        goto out;
    store_quote_fini(&cur);
    memset(&cur, 0, sizeof(cur));
    if ((rc = store_quote_get(c->st, id, 0, &cur)))
        goto out;
    out->created = 1;
    out->body = dump(quote_json(c, &cur, true));
    rc = out->body ? idem_record(c, route, idem_key, hash, out, id) : CPQD_ENOMEM;
    if (rc == 0)
        rc = quote_emit(c, "quote.revised", &cur);
    if (rc == 0)
        rc = store_commit(c->st);
out:
    if (rc) {
        store_rollback(c->st);
        svc_reply_fini(out);
    }
    store_quote_fini(&cur);
    store_quote_fini(&q);
    qreq_fini(&r);
    return rc;
}

/* The largest requested discount of a stored request, and whether any
 * price was flagged (outside a floor or ceiling). */
static void request_facts(const store_quote *q, money_dec *max_disc, bool *flagged)
{
    json_error_t je;
    *max_disc = money_from_int(0);
    *flagged = false;
    json_t *req = q->request ? json_loads(q->request, 0, &je) : NULL;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(req, "lines"), i, l)
    {
        json_t *d = json_object_get(l, "discount");
        money_dec v;
        if (json_is_string(d) && money_parse(json_string_value(d), json_string_length(d), &v) == 0 &&
            money_cmp(v, *max_disc) > 0)
            *max_disc = v;
        if (json_is_integer(d) && money_cmp(money_from_int(json_integer_value(d)), *max_disc) > 0)
            *max_disc = money_from_int(json_integer_value(d));
    }
    json_decref(req);
    json_t *priced = q->priced ? json_loads(q->priced, 0, &je) : NULL;
    json_array_foreach(json_object_get(priced, "lines"), i, l)
    {
        const char *why = json_string_value(json_object_get(json_object_get(l, "approval"), "reason"));
        if (why && (strstr(why, "floor") || strstr(why, "ceiling")))
            *flagged = true;
    }
    json_decref(priced);
}

/* The caller's discount authority for the quote's catalogs (percent). */
static bool caller_authority(const svc_ctx *c, money_dec *pct)
{
    const svc_caller *k = c->caller;
    if (k->has_authority) {
        *pct = k->authority;
        return true;
    }
    if (!strcmp(k->role, "admin")) {
        *pct = money_from_int(100);
        return true;
    }
    for (size_t i = 0; i < cat_snapshot_catalog_count(c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->snap, i);
        if (!strcmp(k->role, "partner")) {
            for (size_t j = 0; k->partner_id && j < cc->npartners; j++)
                if (!strcmp(cc->partners[j].id, k->partner_id)) {
                    *pct = cc->partners[j].discount_authority;
                    return true;
                }
            continue;
        }
        for (size_t j = 0; j < cc->napprovals; j++)
            if (!strcmp(cc->approvals[j].id, k->role)) {
                *pct = cc->approvals[j].max_discount;
                return true;
            }
    }
    return false;
}

/* The max_discount of approval level `level` in any catalog. */
static bool level_percent(const svc_ctx *c, const char *level, money_dec *pct)
{
    for (size_t i = 0; level && i < cat_snapshot_catalog_count(c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->snap, i);
        for (size_t j = 0; j < cc->napprovals; j++)
            if (!strcmp(cc->approvals[j].id, level)) {
                *pct = cc->approvals[j].max_discount;
                return true;
            }
    }
    return false;
}

/* The level a quote needs: NULL when nothing needs approval. */
static const char *needed_level(const svc_ctx *c, money_dec max_disc, bool flagged)
{
    const char *best = NULL, *top = NULL;
    money_dec best_pct = money_from_int(0), top_pct = money_from_int(-1);
    for (size_t i = 0; i < cat_snapshot_catalog_count(c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->snap, i);
        for (size_t j = 0; j < cc->napprovals; j++) {
            const cat_approval_level *a = &cc->approvals[j];
            if (money_cmp(a->max_discount, top_pct) > 0) {
                top = a->id;
                top_pct = a->max_discount;
            }
            if (money_cmp(a->max_discount, max_disc) >= 0 &&
                (!best || money_cmp(a->max_discount, best_pct) < 0)) {
                best = a->id;
                best_pct = a->max_discount;
            }
        }
    }
    if (flagged)
        return top;
    if (money_is_zero(max_disc))
        return NULL;
    return best ? best : top;
}

static int note_of(const char *body, size_t len, char **note, cpqd_errs *errs)
{
    *note = NULL;
    if (!body || len == 0)
        return 0;
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *n = o ? json_object_get(o, "note") : NULL;
    if (!o || !json_is_object(o) || json_object_size(o) > (n ? 1u : 0u) ||
        (n && (!json_is_string(n) || json_string_length(n) > 2000))) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "body: must be empty or {\"note\": \"...\"} (at most 2000 bytes)");
        json_decref(o);
        return CPQD_EINVAL;
    }
    *note = n ? strdup(json_string_value(n)) : NULL;
    json_decref(o);
    return 0;
}

int quote_action(svc_ctx *c, const char *id, const char *action, const char *body, size_t len,
                 svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    char *note = NULL;
    memset(out, 0, sizeof(*out));
    int rc = note_of(body, len, &note, errs);
    if (rc)
        return rc;
    if ((rc = store_begin(c->st))) {
        free(note);
        return rc;
    }
    if ((rc = load_scoped(c, id, 0, &q, errs))) {
        store_rollback(c->st);
        free(note);
        return rc;
    }
    const char *st = effective_status(c, &q);
    const char *to = NULL;
    if (!strcmp(st, "expired") && strcmp(q.status, "expired") != 0) {
        rc = refuse_expired(c, &q, action, errs);
        goto done;
    }
    if (!action_allowed(st, action) || !strcmp(action, "accept")) {
        /* accepting creates a contract: contract_accept, through quote_accept */
        rc = illegal(errs, id, st, action);
        goto out;
    }
    money_dec auth = money_from_int(0), need;
    bool has_auth = caller_authority(c, &auth);
    if (!strcmp(action, "submit")) {
        money_dec max_disc;
        bool flagged;
        request_facts(&q, &max_disc, &flagged);
        bool within = money_is_zero(max_disc) || (has_auth && money_cmp(max_disc, auth) <= 0);
        to = within && !flagged ? "approved" : "pending_approval";
    } else if (!strcmp(action, "approve")) {
        /* the approver's authority must cover the level the quote needs:
         * the lowest level whose max_discount covers the largest requested
         * discount, the highest level for a flagged (floor/ceiling) price */
        money_dec max_disc;
        bool flagged;
        request_facts(&q, &max_disc, &flagged);
        const char *lvl = needed_level(c, max_disc, flagged);
        free(q.approval_level);
        q.approval_level = lvl ? strdup(lvl) : NULL;
        if (q.approval_level && level_percent(c, q.approval_level, &need) &&
            (!has_auth || money_cmp(auth, need) < 0)) {
            char nb[MONEY_FMT_MAX] = "?", ab[MONEY_FMT_MAX] = "none";
            money_format(need, nb, sizeof(nb));
            if (has_auth && money_format(auth, ab, sizeof(ab)) >= 0)
                strcat(ab, "%");
            errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
                     "approving quote '%.64s' needs the %s level (up to %s%%); your authority "
                     "is %s",
                     id, q.approval_level, nb, ab);
            rc = CPQD_EFORBIDDEN;
            goto out;
        }
        to = "approved";
    } else if (!strcmp(action, "reject")) {
        to = "rejected";
    } else if (!strcmp(action, "send")) {
        to = "sent";
    }
    if (!to) {
        rc = illegal(errs, id, st, action);
        goto out;
    }
    if ((rc = store_quote_set_status(c->st, id, q.status, to, c->caller->key_id, note)))
        goto out;
    store_quote_fini(&q);
    memset(&q, 0, sizeof(q));
    if ((rc = store_quote_get(c->st, id, 0, &q)))
        goto out;
    out->body = quote_full(c, &q);
    rc = out->body ? quote_emit(c, "quote.status_changed", &q) : CPQD_ENOMEM;
    if (rc == 0)
        rc = store_commit(c->st);
out:
    if (rc)
        store_rollback(c->st);
done:
    if (rc)
        svc_reply_fini(out);
    store_quote_fini(&q);
    free(note);
    return rc;
}

int quote_idem_open(svc_ctx *c, const char *route, const char *idem_key, const char *body,
                    size_t len, char hash[65], svc_reply *out, cpqd_errs *errs)
{
    return idem_open(c, route, idem_key, body, len, hash, out, errs);
}

int svc_idem_record(svc_ctx *c, const char *route, const char *key, const char *hash,
                      const svc_reply *r, const char *id)
{
    return idem_record(c, route, key, hash, r, id);
}

int quote_accept(svc_ctx *c, const char *id, store_quote *q, cpqd_errs *errs)
{
    store_quote cur;
    memset(q, 0, sizeof(*q));
    int rc = load_scoped(c, id, 0, &cur, errs);
    if (rc)
        return rc;
    const char *st = effective_status(c, &cur);
    if (!strcmp(st, "expired") && strcmp(cur.status, "expired") != 0)
        rc = refuse_expired(c, &cur, "accept", errs);
    else if (!action_allowed(st, "accept"))
        rc = illegal(errs, id, st, "accept");
    else if ((rc = store_quote_set_status(c->st, id, cur.status, "accepted", c->caller->key_id,
                                          NULL)) == 0 &&
             (rc = store_quote_get(c->st, id, 0, q)) == 0 &&
             (rc = quote_emit(c, "quote.status_changed", q)) != 0)
        store_quote_fini(q);
    store_quote_fini(&cur);
    return rc;
}

void svc_reply_fini(svc_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}

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

static const char *jget(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Payment term names of the products on the quote. */
static void h_terms(hbuf *h, const svc_ctx *c, json_t *lines)
{
    size_t i;
    json_t *l;
    bool any = false;
    json_array_foreach(lines, i, l)
    {
        const char *sku = jget(l, "sku");
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
    int rc = load_scoped(c, id, 0, &q, errs);
    if (rc)
        return rc;
    json_error_t je;
    json_t *priced = q.priced ? json_loads(q.priced, 0, &je) : NULL;
    if (priced && partner_caller(c))
        partner_filter(priced);
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
    h_cell(&h, "td", NULL, effective_status(c, &q));
    h_lit(&h, "</tr><tr><th>Customer</th>");
    h_cell(&h, "td", NULL, q.customer_id);
    if (q.partner_id) {
        h_lit(&h, "</tr><tr><th>Partner</th>");
        h_cell(&h, "td", NULL, q.partner_id);
    }
    h_lit(&h, "</tr><tr><th>Pricing date</th>");
    h_cell(&h, "td", NULL, jget(priced, "date"));
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
        h_cell(&h, "td", NULL, jget(l, "id"));
        h_cell(&h, "td", NULL, jget(l, "sku"));
        h_cell(&h, "td", NULL, jget(l, "name"));
        h_cell(&h, "td", "n", jget(l, "quantity"));
        h_cell(&h, "td", "n", jget(l, "unit_price"));
        h_cell(&h, "td", "n", jget(l, "net"));
        h_cell(&h, "td", "n", jget(l, "tax"));
        h_cell(&h, "td", "n", jget(l, "total"));
        h_lit(&h, "</tr>\n");
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(l, "waterfall"), k, st)
        {
            const char *kind = jget(st, "step");
            if (strcmp(kind, "option") && strcmp(kind, "adder") && strcmp(kind, "promotion") &&
                strcmp(kind, "discount"))
                continue;
            h_lit(&h, "<tr class=\"opt\"><td></td><td></td>");
            h_cell(&h, "td", NULL, jget(st, "label"));
            h_lit(&h, "<td></td><td></td>");
            h_cell(&h, "td", "n", jget(st, "delta"));
            h_lit(&h, "<td></td><td></td></tr>\n");
        }
    }
    h_lit(&h, "</table>\n<table class=\"totals\"><tr><th>Subtotal</th>");
    h_cell(&h, "td", "n", jget(priced, "subtotal"));
    h_lit(&h, "</tr><tr><th>Tax</th>");
    h_cell(&h, "td", "n", jget(priced, "tax"));
    h_lit(&h, "</tr><tr><th>Total</th>");
    h_cell(&h, "td", "n", jget(priced, "total"));
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

/* ---- catalog archives and re-pricing ---- */

typedef struct arch_col {
    store_archive_file *v;
    size_t n, cap;
    int rc;
} arch_col;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    return b;
}

static int arch_add(void *ctx, bool is_rule, const char *rel, const char *path)
{
    arch_col *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        store_archive_file *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return CPQD_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    size_t len = 0;
    char *content = slurp(path, &len);
    char *p = strdup(rel);
    if (!content || !p) {
        free(content);
        free(p);
        return CPQD_EIO;
    }
    a->v[a->n++] = (store_archive_file){is_rule, p, content, len};
    return 0;
}

int quote_archive_snapshot(store *st, const cat_snapshot *s, cpqd_errs *errs)
{
    int rc = store_archive_get(st, cat_snapshot_version(s), NULL, NULL);
    if (rc != CPQD_ENOTFOUND)
        return rc;
    arch_col a = {0};
    rc = cat_snapshot_each_file(s, arch_add, &a);
    if (rc == 0)
        rc = store_archive_put(st, cat_snapshot_version(s), cat_snapshot_catalog_dir(s),
                               cat_snapshot_rules_dir(s), a.v, a.n);
    if (rc)
        errs_add(errs, rc, NULL, 0, 0, "cannot archive catalog version %s: %s",
                 cat_snapshot_version(s), err_code_name(rc));
    for (size_t i = 0; i < a.n; i++) {
        free((char *)a.v[i].path);
        free((char *)a.v[i].content);
    }
    free(a.v);
    return rc;
}

/* Restored snapshots, by version, shared by every worker (a few MB each;
 * the least recently used is dropped beyond QUOTE_ARCHIVE_CACHE). */
#define QUOTE_ARCHIVE_CACHE 4

static pthread_mutex_t arch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    cat_snapshot *s;
    unsigned long used;
} arch_cache[QUOTE_ARCHIVE_CACHE];
static unsigned long arch_clock;

static int mkdirs_for(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return CPQD_EIO;
    }
    return 0;
}

typedef struct arch_out {
    const char *dir;
    int rc;
} arch_out;

static int arch_write(void *ctx, const store_archive_file *f)
{
    arch_out *o = ctx;
    if (strstr(f->path, "..") || f->path[0] == '/')
        return CPQD_EINVAL;
    char *path = NULL;
    if (asprintf(&path, "%s/%s/%s", o->dir, f->is_rule ? "rules" : "catalogs", f->path) < 0)
        return CPQD_ENOMEM;
    int rc = mkdirs_for(path);
    FILE *fp = rc == 0 ? fopen(path, "wb") : NULL;
    if (!fp || fwrite(f->content, 1, f->len, fp) != f->len)
        rc = CPQD_EIO;
    if (fp && fclose(fp) != 0)
        rc = CPQD_EIO;
    free(path);
    return rc;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The snapshot of `version`, restored from the store's archive (cached);
 * a new reference, or NULL with the reason in errs. */
static cat_snapshot *restore(svc_ctx *c, const char *version, cpqd_errs *errs)
{
    pthread_mutex_lock(&arch_lock);
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++)
        if (arch_cache[i].s && !strcmp(cat_snapshot_version(arch_cache[i].s), version)) {
            arch_cache[i].used = ++arch_clock;
            cat_snapshot *s = cat_snapshot_retain(arch_cache[i].s);
            pthread_mutex_unlock(&arch_lock);
            return s;
        }
    pthread_mutex_unlock(&arch_lock);
    char *cdir = NULL, *rdir = NULL, tmpl[] = "/tmp/cpqd-archive-XXXXXX";
    cat_snapshot *s = NULL;
    int rc = store_archive_get(c->st, version, &cdir, &rdir);
    if (rc) {
        errs_add(errs, rc == CPQD_ENOTFOUND ? CPQD_ECONFLICT : rc, NULL, 0, 0,
                 "catalog version %.64s is not archived: the quote cannot be re-priced on its "
                 "original catalogs",
                 version);
        return NULL;
    }
    arch_out o = {mkdtemp(tmpl), 0};
    rc = o.dir ? store_archive_files(c->st, version, arch_write, &o) : CPQD_EIO;
    if (rc == 0) {
        char *cd = NULL, *rd = NULL;
        if (asprintf(&cd, "%s/catalogs", o.dir) >= 0 && asprintf(&rd, "%s/rules", o.dir) >= 0) {
            mkdir(rd, 0700); /* a catalog without rules still has the directory */
            s = cat_snapshot_load_as(cd, rd, cdir, rdir, errs);
        }
        free(cd);
        free(rd);
    } else {
        errs_add(errs, rc, NULL, 0, 0, "cannot restore catalog version %.64s", version);
    }
    if (o.dir)
        rm_tree(o.dir);
    free(cdir);
    free(rdir);
    if (s && strcmp(cat_snapshot_version(s), version) != 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "the archive of catalog version %.64s restores as %s: it was archived from "
                 "files changed after loading",
                 version, cat_snapshot_version(s));
        cat_snapshot_release(s);
        return NULL;
    }
    if (!s)
        return NULL;
    pthread_mutex_lock(&arch_lock);
    int slot = 0; /* an empty slot, else the least recently used */
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++) {
        if (!arch_cache[i].s) {
            slot = i;
            break;
        }
        if (arch_cache[i].used < arch_cache[slot].used)
            slot = i;
    }
    cat_snapshot_release(arch_cache[slot].s);
    arch_cache[slot].s = cat_snapshot_retain(s);
    arch_cache[slot].used = ++arch_clock;
    pthread_mutex_unlock(&arch_lock);
    return s;
}

void quote_archive_cache_clear(void)
{
    pthread_mutex_lock(&arch_lock);
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++) {
        cat_snapshot_release(arch_cache[i].s);
        arch_cache[i].s = NULL;
    }
    pthread_mutex_unlock(&arch_lock);
}

/* Prices a stored request again, with the identity it was priced with. */
static int reprice_on(svc_ctx *c, const cat_snapshot *snap, const store_quote *q, char **priced,
                      cpqd_errs *errs)
{
    json_error_t je;
    json_t *root = json_loads(q->request, 0, &je);
    if (!root) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "stored request of %s is not JSON", q->id);
        return CPQD_EINTERNAL;
    }
    json_t *k = json_incref(json_object_get(root, "caller"));
    json_object_del(root, "caller");
    json_object_del(root, "valid_until");
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    price_req_buf *buf = NULL;
    price_request *rq = NULL;
    int rc = text ? price_json_parse(text, strlen(text), &buf, &rq, errs) : CPQD_ENOMEM;
    free(text);
    if (rc == 0) {
        const char *role = json_string_value(json_object_get(k, "role"));
        const char *auth = json_string_value(json_object_get(k, "authority"));
        rq->role = role;
        rq->partner_id = json_string_value(json_object_get(k, "partner_id"));
        rq->segment = json_string_value(json_object_get(k, "segment"));
        rq->partner_view = role && !strcmp(role, "partner");
        rq->qty_use = PRICE_QTY_RECORDED;
        if (auth && money_parse(auth, strlen(auth), &rq->authority) == 0)
            rq->has_authority = true;
        price_result res;
        rc = price_compute(c->pw, snap, c->usage, rq, &res, errs);
        if (rc == 0) {
            *priced = price_json_render(&res, snap, false);
            rc = *priced ? 0 : CPQD_ENOMEM;
            price_result_fini(&res);
        }
    }
    price_req_buf_free(buf);
    json_decref(k);
    return rc;
}

/* Line-by-line differences of two priced results. */
static json_t *changes_json(json_t *before, json_t *after)
{
    json_t *lines = json_array();
    json_t *bl = json_object_get(before, "lines"), *al = json_object_get(after, "lines");
    size_t n = json_array_size(bl) > json_array_size(al) ? json_array_size(bl)
                                                          : json_array_size(al);
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(bl, i), *a = json_array_get(al, i);
        const char *bt = json_string_value(json_object_get(b, "total"));
        const char *at = json_string_value(json_object_get(a, "total"));
        money_dec x, y, d;
        char ds[MONEY_FMT_MAX] = "";
        if (bt && at && money_parse(bt, strlen(bt), &x) == 0 &&
            money_parse(at, strlen(at), &y) == 0 && money_sub(y, x, &d) == 0)
            money_format(d, ds, sizeof(ds));
        json_array_append_new(
            lines, json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "id",
                             json_incref(json_object_get(a ? a : b, "id")), "sku",
                             json_incref(json_object_get(a ? a : b, "sku")), "before",
                             bt ? json_string(bt) : json_null(), "after",
                             at ? json_string(at) : json_null(), "delta",
                             *ds ? json_string(ds) : json_null(), "changed",
                             !bt || !at || strcmp(bt, at) != 0 ||
                                 !json_equal(json_object_get(b, "waterfall"),
                                             json_object_get(a, "waterfall"))));
    }
    const char *bt = json_string_value(json_object_get(before, "total"));
    const char *at = json_string_value(json_object_get(after, "total"));
    return json_pack("{s:o,s:{s:s?,s:s?}}", "lines", lines, "total", "before", bt, "after", at);
}

int quote_reprice(svc_ctx *c, const char *id, const char *on, svc_reply *out,
                  cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    bool original = on && !strcmp(on, "original");
    if (!on || (!original && strcmp(on, "current") != 0)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "on: must be \"original\" or \"current\"");
        return CPQD_EINVAL;
    }
    int rc = load_scoped(c, id, 0, &q, errs);
    if (rc)
        return rc;
    cat_snapshot *snap = NULL;
    const cat_snapshot *use = c->snap;
    if (original && strcmp(q.catalog_version, cat_snapshot_version(c->snap)) != 0) {
        if (!(snap = restore(c, q.catalog_version, errs))) {
            store_quote_fini(&q);
            return CPQD_ECONFLICT;
        }
        use = snap;
    }
    char *priced = NULL;
    rc = reprice_on(c, use, &q, &priced, errs);
    if (rc == 0) {
        json_error_t je;
        json_t *now = json_loads(priced, 0, &je), *was = json_loads(q.priced, 0, &je);
        json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "id", q.id, "number", q.number,
                              "version", q.version, "on", on, "catalog_version_original",
                              q.catalog_version, "catalog_version", cat_snapshot_version(use));
        if (original)
            json_object_set_new(o, "identical", json_boolean(!strcmp(priced, q.priced)));
        else
            json_object_set_new(o, "changes", changes_json(was, now));
        if (now && partner_caller(c))
            partner_filter(now);
        json_object_set_new(o, "priced", now ? now : json_null());
        json_decref(was);
        out->body = dump(o);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    free(priced);
    cat_snapshot_release(snap);
    store_quote_fini(&q);
    return rc;
}

/* ---- price history (历史报价参考) ---- */

typedef struct hist_pt {
    money_dec unit;
    char *number, *date, *qty, *unit_text, *customer;
} hist_pt;

typedef struct hist_set {
    hist_pt *v;
    size_t n, cap;
} hist_set;

static int hist_cmp(const void *a, const void *b)
{
    return money_cmp(((const hist_pt *)a)->unit, ((const hist_pt *)b)->unit);
}

/* {"count","min","median","max","last":[...]} of points (newest first). */
static json_t *hist_json(hist_set *h, size_t last)
{
    json_t *o = json_object(), *l = json_array();
    for (size_t i = 0; i < h->n && i < last; i++)
        json_array_append_new(l, json_pack("{s:s,s:s,s:s,s:s,s:s}", "quote", h->v[i].number,
                                           "customer_id", h->v[i].customer, "date", h->v[i].date,
                                           "quantity", h->v[i].qty, "unit_price",
                                           h->v[i].unit_text));
    json_object_set_new(o, "count", json_integer((json_int_t)h->n));
    if (h->n) {
        hist_pt *s = malloc(h->n * sizeof(*s));
        if (s) {
            memcpy(s, h->v, h->n * sizeof(*s));
            qsort(s, h->n, sizeof(*s), hist_cmp);
            json_object_set_new(o, "min", json_string(s[0].unit_text));
            json_object_set_new(o, "median", json_string(s[(h->n - 1) / 2].unit_text));
            json_object_set_new(o, "max", json_string(s[h->n - 1].unit_text));
            free(s);
        }
    }
    json_object_set_new(o, "last", l);
    return o;
}

static void hist_free(hist_set *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].number), free(h->v[i].date), free(h->v[i].qty);
        free(h->v[i].unit_text), free(h->v[i].customer);
    }
    free(h->v);
}

static int hist_add(hist_set *h, const store_quote *q, json_t *priced, json_t *line)
{
    const char *u = json_string_value(json_object_get(line, "unit_price"));
    money_dec unit;
    if (!u || money_parse(u, strlen(u), &unit) != 0)
        return 0;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        hist_pt *v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return CPQD_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    hist_pt *p = &h->v[h->n++];
    p->unit = unit;
    p->number = strdup(q->number);
    p->date = strdup(jget(priced, "date"));
    p->qty = strdup(jget(line, "quantity"));
    p->unit_text = strdup(u);
    p->customer = strdup(q->customer_id);
    return p->number && p->date && p->qty && p->unit_text && p->customer ? 0 : CPQD_ENOMEM;
}

int quote_price_history(svc_ctx *c, const char *sku, const char *customer, size_t last,
                        svc_reply *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    if (!sku || !*sku) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "sku: required");
        return CPQD_EINVAL;
    }
    /* the most recent accepted quotes the caller may see */
    store_quote_filter f = {.status = "accepted", .page = 1, .per_page = QUOTE_HISTORY_SCAN};
    if (partner_caller(c))
        f.partner = c->caller->partner_id ? c->caller->partner_id : "";
    store_quote *items = NULL;
    size_t n = 0, total = 0;
    int rc = store_quote_list(c->st, &f, &items, &n, &total);
    if (rc) {
        errs_add(errs, rc, NULL, 0, 0, "cannot read accepted quotes");
        return rc;
    }
    hist_set all = {0}, mine = {0};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_quote q;
        if (store_quote_get(c->st, items[i].id, 0, &q) != 0)
            continue;
        json_error_t je;
        json_t *priced = q.priced ? json_loads(q.priced, 0, &je) : NULL;
        size_t k;
        json_t *line;
        json_array_foreach(json_object_get(priced, "lines"), k, line)
        {
            if (rc || strcmp(jget(line, "sku"), sku) != 0 || json_object_get(line, "free_item_of"))
                continue;
            rc = hist_add(&all, &q, priced, line);
            if (!rc && customer && !strcmp(q.customer_id, customer))
                rc = hist_add(&mine, &q, priced, line);
        }
        json_decref(priced);
        store_quote_fini(&q);
    }
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&items[i]);
    free(items);
    if (rc == 0) {
        json_t *o = json_pack("{s:s,s:o}", "sku", sku, "overall", hist_json(&all, last));
        if (customer)
            json_object_set_new(o, "customer",
                                json_pack("{s:s,s:o}", "id", customer, "prices",
                                          hist_json(&mine, last)));
        out->body = dump(o);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    hist_free(&all);
    hist_free(&mine);
    return rc;
}

/* ---- promotion usage counters ---- */

static int usage_scope(store *st, const char *promo, const char *scope, int64_t *uses,
                       money_dec *spent)
{
    char *text = NULL;
    int rc = store_promo_usage(st, promo, scope, uses, &text);
    if (rc == 0 && (!text || money_parse(text, strlen(text), spent) != 0))
        rc = CPQD_EINTERNAL;
    free(text);
    return rc;
}

static int usage_of(price_store *ps, const char *promo, const char *customer, const char *partner,
                    price_usage *out)
{
    quote_usage *u = (quote_usage *)ps;
    char scope[300];
    int64_t n;
    money_dec ignored;
    *out = (price_usage){0, 0, 0, money_from_int(0)};
    int rc = usage_scope(u->st, promo, "*", &out->uses, &out->spent);
    if (rc == 0 && customer) {
        snprintf(scope, sizeof(scope), "c:%s", customer);
        if ((rc = usage_scope(u->st, promo, scope, &n, &ignored)) == 0)
            out->customer_uses = n;
    }
    if (rc == 0 && partner) {
        snprintf(scope, sizeof(scope), "p:%s", partner);
        if ((rc = usage_scope(u->st, promo, scope, &n, &ignored)) == 0)
            out->partner_uses = n;
    }
    return rc;
}

void quote_usage_init(quote_usage *u, store *st)
{
    u->base.usage = usage_of;
    u->st = st;
}

int quote_usage_redeem(store *st, const char *priced, const char *customer, const char *partner)
{
    json_error_t je;
    json_t *p = priced ? json_loads(priced, 0, &je) : NULL;
    size_t i;
    json_t *x;
    int rc = 0;
    json_array_foreach(json_object_get(json_object_get(p, "promotions"), "applied"), i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        const char *amount = json_string_value(json_object_get(x, "amount"));
        if (rc == 0 && id && amount)
            rc = store_promo_redeem(st, id, customer, partner, amount);
    }
    json_decref(p);
    return rc;
}
