/*
 * quote: the status machine and the writes of quotes (create, revise,
 * status moves, accept's move), their reads, who may see and do what;
 * see include/cpqd/quote.h and docs/quotes.md. Request bodies and JSON
 * views are the codec's (quote_json.c): this file works on typed values.
 * The printable document (quote_doc.c), catalog archives and re-pricing
 * (quote_archive.c), the price history (quote_history.c) and promotion
 * usage (quote_usage.c) have files of their own.
 *
 * One request, one store transaction: the idempotency lookup, the quote
 * (or version, or status move) and the idempotency record are written
 * together or not at all. A quote's priced result is stored as rendered
 * for internal callers; partner callers get it filtered (no cost, margin
 * or floor/ceiling detail) when they read it.
 */
#include "quote_int.h"

#include "cpqd/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the status machine ---- */

static const char *const status_names[QUOTE_STATUS_N + 1] = {
    [QUOTE_DRAFT] = "draft",       [QUOTE_PENDING_APPROVAL] = "pending_approval",
    [QUOTE_APPROVED] = "approved", [QUOTE_SENT] = "sent",
    [QUOTE_ACCEPTED] = "accepted", [QUOTE_REJECTED] = "rejected",
    [QUOTE_EXPIRED] = "expired",   [QUOTE_STATUS_N] = NULL,
};

static const char *const action_names[QUOTE_ACTION_N] = {
    [QUOTE_SUBMIT] = "submit", [QUOTE_APPROVE] = "approve", [QUOTE_REJECT] = "reject",
    [QUOTE_SEND] = "send",     [QUOTE_ACCEPT] = "accept",   [QUOTE_REVISE] = "revise",
};

/* The transitions: 1 + the status each allowed action leads to; 0 where
 * the action is not allowed. Expiry is no action: a quote past its
 * valid_until in draft, pending_approval, approved or sent reads as
 * expired (effective_status) and is marked so at the first move. */
#define TO(s) ((unsigned char)((s) + 1))
static const unsigned char transitions[QUOTE_STATUS_N][QUOTE_ACTION_N] = {
    [QUOTE_DRAFT] = {[QUOTE_SUBMIT] = TO(QUOTE_PENDING_APPROVAL), [QUOTE_REVISE] = TO(QUOTE_DRAFT)},
    [QUOTE_PENDING_APPROVAL] = {[QUOTE_APPROVE] = TO(QUOTE_APPROVED),
                                [QUOTE_REJECT] = TO(QUOTE_REJECTED),
                                [QUOTE_REVISE] = TO(QUOTE_DRAFT)},
    [QUOTE_APPROVED] = {[QUOTE_SEND] = TO(QUOTE_SENT),
                        [QUOTE_ACCEPT] = TO(QUOTE_ACCEPTED),
                        [QUOTE_REVISE] = TO(QUOTE_DRAFT)},
    [QUOTE_SENT] = {[QUOTE_ACCEPT] = TO(QUOTE_ACCEPTED), [QUOTE_REVISE] = TO(QUOTE_DRAFT)},
    [QUOTE_REJECTED] = {[QUOTE_REVISE] = TO(QUOTE_DRAFT)},
};
#undef TO

const char *quote_status_name(quote_status st)
{
    return (unsigned)st < QUOTE_STATUS_N ? status_names[st] : "?";
}

const char *const *quote_status_names(void)
{
    return status_names;
}

int quote_status_parse(const char *s, quote_status *out)
{
    for (int i = 0; s && i < QUOTE_STATUS_N; i++)
        if (!strcmp(s, status_names[i])) {
            *out = (quote_status)i;
            return 0;
        }
    return CPQD_EINVAL;
}

const char *quote_action_name(quote_action a)
{
    return (unsigned)a < QUOTE_ACTION_N ? action_names[a] : "?";
}

int quote_action_parse(const char *s, quote_action *out)
{
    for (int i = 0; s && i < QUOTE_ACTION_N; i++)
        if (!strcmp(s, action_names[i])) {
            *out = (quote_action)i;
            return 0;
        }
    return CPQD_EINVAL;
}

quote_status quote_next(quote_status st, quote_action a)
{
    if ((unsigned)st >= QUOTE_STATUS_N || (unsigned)a >= QUOTE_ACTION_N || !transitions[st][a])
        return QUOTE_STATUS_N;
    return (quote_status)(transitions[st][a] - 1);
}

/* The actions allowed in st, comma-separated ("" for none). */
static const char *allowed_text(quote_status st, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int a = 0; a < QUOTE_ACTION_N; a++)
        if (quote_next(st, (quote_action)a) != QUOTE_STATUS_N && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
                                    action_names[a]);
    return buf;
}

/* The stored status of q (a corrupt one reads as expired: nothing moves). */
static quote_status stored_status(const store_quote *q)
{
    quote_status st;
    return quote_status_parse(q->status, &st) == 0 ? st : QUOTE_EXPIRED;
}

/* A quote past its valid_until is expired, whatever was stored, until it
 * is accepted, rejected or already expired. */
quote_status quote_effective_status(const svc_ctx *c, const store_quote *q)
{
    quote_status st = stored_status(q);
    date_days until;
    if (q->valid_until && date_parse(q->valid_until, strlen(q->valid_until), &until) == 0 &&
        c->today > until &&
        (st == QUOTE_DRAFT || st == QUOTE_PENDING_APPROVAL || st == QUOTE_APPROVED ||
         st == QUOTE_SENT))
        return QUOTE_EXPIRED;
    return st;
}

/* Expired by its date but not yet marked so in the store. */
static bool expired_unmarked(const svc_ctx *c, const store_quote *q)
{
    return quote_effective_status(c, q) == QUOTE_EXPIRED && stored_status(q) != QUOTE_EXPIRED;
}

bool quote_partner_caller(const svc_ctx *c)
{
    return svc_is_partner(c->caller);
}

/* A partner sees only its own quotes; anything else does not exist. */
static bool in_scope(const svc_ctx *c, const store_quote *q)
{
    if (!quote_partner_caller(c))
        return true;
    return q->partner_id && c->caller->partner_id && !strcmp(q->partner_id, c->caller->partner_id);
}

/* The entity tag of the state q shows: its version, (effective) status
 * and last change; any revise or move changes it. */
static void quote_etag(const svc_ctx *c, const store_quote *q, char etag[SVC_ETAG_LEN])
{
    char text[256], hex[DIGEST_SHA256_HEX_LEN];
    int n = snprintf(text, sizeof(text), "%s\n%d\n%s\n%s", q->id, q->version,
                     quote_status_name(quote_effective_status(c, q)),
                     q->updated_at ? q->updated_at : "");
    if (n < 0 || digest_sha256_hex(text, strlen(text), hex) != 0) {
        etag[0] = '\0';
        return;
    }
    snprintf(etag, SVC_ETAG_LEN, "\"%.16s\"", hex);
}

/* Writes event `type` about q with payload (the quote as an internal
 * caller sees it, q's priced result at [at, at + len)) in the caller's
 * open transaction. */
static int emit_text(const svc_ctx *c, const char *type, const store_quote *q,
                     const char *payload, size_t at, size_t len)
{
    char key[96];
    snprintf(key, sizeof(key), "quote:%s", q->id);
    /* the priced result is stored once, with the version: the event
     * references it (store.h "outbox") */
    store_outbox_new ev = {.type = type, .resource_kind = "quote", .resource_id = q->id,
                           .order_key = key, .payload = payload,
                           .priced = {len ? q->id : NULL, q->version, at, len}};
    return store_outbox_add(c->st, &ev, NULL, NULL);
}

/* Writes event `type` about q in the caller's open transaction (the
 * outbox, docs/events.md): the payload is the quote as GET
 * /v1/quotes/{id} shows it to the CRM (an internal caller, so never
 * partner-filtered), history included. */
static int quote_emit(const svc_ctx *c, const char *type, const store_quote *q)
{
    svc_caller crm = *c->caller;
    crm.role = AUTH_ROLE_CRM;
    svc_ctx as_crm = *c;
    as_crm.caller = &crm;
    size_t at = 0, len = 0;
    char *payload = quote_json_text(&as_crm, q, &at, &len);
    if (!payload)
        return CPQD_ENOMEM;
    int rc = emit_text(c, type, q, payload, at, len);
    free(payload);
    return rc;
}

/* The reply of a write about q (its full view for the caller, into
 * out->body) and its event `type`: for an internal caller both are the
 * same text, built once. */
static int reply_emit(const svc_ctx *c, const char *type, const store_quote *q, svc_reply *out)
{
    quote_etag(c, q, out->etag);
    if (quote_partner_caller(c)) {
        out->body = quote_json_full(c, q);
        return out->body ? quote_emit(c, type, q) : CPQD_ENOMEM;
    }
    size_t at = 0, len = 0;
    out->body = quote_json_text(c, q, &at, &len);
    /* the priced part is the version's: a record of the reply references it */
    if (out->body && len && strlen(q->id) < sizeof(out->priced_quote)) {
        strcpy(out->priced_quote, q->id);
        out->priced_version = q->version;
        out->priced_at = at;
        out->priced_len = len;
    }
    return out->body ? emit_text(c, type, q, out->body, at, len) : CPQD_ENOMEM;
}

/* ---- pricing a quote request ---- */


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
    int grace = -1; /* the smallest of the lines' catalogs; none found: 0 */
    for (size_t i = 0; c->snap && i < rq->nlines; i++) {
        const char *sku = rq->lines[i].sku;
        const cat_product *p = sku ? cat_snapshot_product(c->snap, sku, strlen(sku)) : NULL;
        if (p && (grace < 0 || p->catalog->backdating_days < grace))
            grace = p->catalog->backdating_days;
    }
    grace = grace < 0 ? 0 : grace;
    auth_role role = c->caller->role;
    if (rq->date >= c->today - grace || role == AUTH_ROLE_MANAGER || role == AUTH_ROLE_ADMIN)
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

/* Parses a quote request and applies the caller's identity and the
 * money authority over its date; a revision (cur) keeps the quote's
 * partner. */
static int qreq_parse(svc_ctx *c, const char *body, size_t len, const store_quote *cur,
                      quote_req *r, cpqd_errs *errs)
{
    int rc = quote_json_req_parse(body, len, c->today, r, errs);
    if (rc)
        return rc;
    const svc_caller *k = c->caller;
    price_request *rq = r->rq;
    rq->qty_use = PRICE_QTY_STORED;
    if ((rc = svc_limit_lines(c, rq->nlines, errs)) != 0 ||
        (rc = date_authorized(c, rq, errs)) != 0 ||
        (cur && !quote_partner_caller(c) && (rc = keep_partner(rq, cur, errs)) != 0))
        return rc;
    if (quote_partner_caller(c)) {
        rq->role = "partner";
        rq->partner_id = k->partner_id;
        rq->segment = k->segment;
        rq->partner_view = true;
    } else {
        rq->role = auth_role_name(k->role);
        if (k->role == AUTH_ROLE_ADMIN) {
            rq->has_authority = true;
            rq->authority = money_from_int(100);
        }
    }
    if (k->has_authority) {
        rq->has_authority = true;
        rq->authority = k->authority;
    }
    r->partner_id = rq->partner_id;
    return quote_json_req_seal(r);
}

/* Prices r and fills the quote's priced fields. */
static int qreq_price(svc_ctx *c, const quote_req *r, store_quote *q, cpqd_errs *errs)
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
    q->status = strdup(quote_status_name(QUOTE_DRAFT));
    price_result_fini(&res);
    if (!q->total || !q->currency || !q->catalog_version || !q->customer_id || !q->request ||
        !q->valid_until || !q->created_by || !q->status)
        return CPQD_ENOMEM;
    return 0;
}

/* What a version stores that grows with the request: its request and
 * priced result (counted against the caller's bytes per day). */
static uint64_t stored_bytes(const store_quote *q)
{
    return (uint64_t)strlen(q->request) + strlen(q->priced);
}

/* ---- the routes ---- */

static int year_of(date_days d)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    return y;
}

/* What a write closure of create or revise gets: prepared outside. */
typedef struct qwrite {
    const char *route, *idem_key, *hash;
    const char *id;          /* revise: the quote */
    const store_quote *seen; /* revise: the quote as it was priced */
    bool priced;             /* revise: the revision was priced */
    store_quote *q;          /* the priced version */
    bool replayed;           /* the key's stored reply was answered */
} qwrite;

/* Inside the transaction: the new quote, its reply, the key's record and
 * its event. */
static int create_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    qwrite *w = arg;
    int rc = svc_idem_replay(c, w->route, w->idem_key, w->hash, out, errs);
    if (rc) {
        w->replayed = rc == 1;
        return rc == 1 ? 0 : rc;
    }
    /* flat: any failure undoes all of it */
    if ((rc = svc_flat_begin(c)) != 0 ||
        (rc = store_quote_insert(c->st, w->q, year_of(c->today))) != 0)
        return svc_flat_end(c, rc);
    out->created = 1;
    /* read in the transaction: its first history entry */
    rc = reply_emit(c, "quote.created", w->q, out);
    if (rc == 0)
        rc = svc_idem_record(c, w->route, w->idem_key, w->hash, out, w->q->id);
    return svc_flat_end(c, rc);
}

int quote_create(svc_ctx *c, const char *body, size_t len, const char *idem_key,
                 svc_reply *out, cpqd_errs *errs)
{
    static const char route[] = "POST /v1/quotes";
    char hash[65];
    quote_req r;
    store_quote q;
    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    int rc = svc_limit_write(c, errs);
    if (rc == 0)
        rc = svc_idem_peek(c, route, idem_key, body, len, hash, out, errs);
    /* priced (Lua rules, the configurator) before the write transaction:
     * writers never queue behind another request's pricing; the catalogs
     * it was priced on are archived (once per version) before the quote
     * that needs them is written */
    if (rc == 0 && (rc = qreq_parse(c, body, len, NULL, &r, errs)) == 0 &&
        (rc = qreq_price(c, &r, &q, errs)) == 0 &&
        (rc = svc_limit_bytes(c, stored_bytes(&q), errs)) == 0 &&
        (rc = quote_archive_snapshot(c->st, c->snap, errs)) == 0)
        rc = store_quote_pack(&q); /* compressed before, not inside, the transaction */
    if (rc == 0) {
        qwrite w = {.route = route, .idem_key = idem_key, .hash = hash, .q = &q};
        if ((rc = svc_tx(c, create_run, &w, out, errs)) == 0 && !w.replayed)
            svc_limit_count(c, stored_bytes(&q));
    }
    quote_req_fini(&r);
    store_quote_fini(&q);
    return rc == 1 ? 0 : rc;
}

/* quote_load_scoped, of the latest version's head only when head. */
static int load_scoped(svc_ctx *c, const char *id, int version, bool head, store_quote *q,
                       cpqd_errs *errs)
{
    int rc = head ? store_quote_get_head(c->st, id, q) : store_quote_get(c->st, id, version, q);
    if (rc == 0 && !in_scope(c, q)) {
        store_quote_fini(q);
        rc = CPQD_ENOTFOUND;
    }
    if (rc == CPQD_ENOTFOUND) {
        if (version)
            errs_add(errs, rc, NULL, 0, 0, "no version %d of quote '%.64s'", version, id);
        else
            errs_add(errs, rc, NULL, 0, 0, "no quote '%.64s'", id);
    } else if (rc == CPQD_EINTERNAL) { /* a damaged record: the store says which */
        errs_add(errs, rc, NULL, 0, 0, "%s", store_last_error(c->st));
    }
    char etag[SVC_ETAG_LEN];
    if (rc == 0 && version == 0 && c->if_match &&
        (quote_etag(c, q, etag), !svc_etag_matches(c->if_match, etag))) {
        errs_add(errs, CPQD_ESTALE, NULL, 0, 0,
                 "quote '%.64s' changed since it was read (now version %d, %s, ETag %s): read it "
                 "again",
                 id, q->version, quote_status_name(quote_effective_status(c, q)), etag);
        store_quote_fini(q);
        rc = CPQD_ESTALE;
    }
    return rc;
}

int quote_load_scoped(svc_ctx *c, const char *id, int version, store_quote *q,
                       cpqd_errs *errs)
{
    return load_scoped(c, id, version, false, q, errs);
}

int quote_get(svc_ctx *c, const char *id, int version, svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    if (version < 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "version must be a positive integer");
        return CPQD_EINVAL;
    }
    int rc = quote_load_scoped(c, id, version, &q, errs);
    if (rc)
        return rc;
    quote_etag(c, &q, out->etag);
    out->body = quote_json_full(c, &q);
    store_quote_fini(&q);
    return out->body ? 0 : CPQD_ENOMEM;
}

/* A cursor of the quote list is the id of the last quote of a page the
 * caller could see; anything else is refused rather than listing nothing. */
static int cursor_check(svc_ctx *c, const char *after, cpqd_errs *errs)
{
    store_quote q;
    /* the head alone: a cursor quote whose priced result is damaged
     * stops no page */
    int rc = store_quote_get_head(c->st, after, &q);
    if (rc == 0) {
        bool ok = in_scope(c, &q);
        store_quote_fini(&q);
        if (ok)
            return 0;
        rc = CPQD_ENOTFOUND;
    }
    if (rc != CPQD_ENOTFOUND)
        return rc;
    errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "after: not the `next` of a page of this list");
    return CPQD_EINVAL;
}

int quote_list(svc_ctx *c, const store_quote_filter *f, svc_reply *out, cpqd_errs *errs)
{
    memset(out, 0, sizeof(*out));
    store_quote_filter scoped = *f;
    if (quote_partner_caller(c)) {
        if (f->partner && (!c->caller->partner_id || strcmp(f->partner, c->caller->partner_id))) {
            /* another partner's quotes: none, as if there were none */
            out->body = strdup("{\"items\":[],\"next\":null}");
            return out->body ? 0 : CPQD_ENOMEM;
        }
        scoped.partner = c->caller->partner_id;
    }
    int rc = f->after ? cursor_check(c, f->after, errs) : 0;
    if (rc)
        return rc;
    store_quote *items = NULL;
    size_t n = 0, limit = f->limit;
    scoped.limit = limit + 1; /* one more tells whether a next page exists */
    if ((rc = store_quote_list(c->st, &scoped, &items, &n)) != 0) {
        errs_add(errs, rc, NULL, 0, 0, "cannot list quotes");
        return rc;
    }
    out->body = quote_json_list(c, items, n > limit ? limit : n, n > limit);
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&items[i]);
    free(items);
    return out->body ? 0 : CPQD_ENOMEM;
}

static int illegal(cpqd_errs *errs, const char *id, quote_status status, quote_action action)
{
    char allowed[96];
    allowed_text(status, allowed, sizeof(allowed));
    errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
             "quote '%.64s' is %s: '%s' is not allowed (allowed: %s)", id,
             quote_status_name(status), quote_action_name(action), *allowed ? allowed : "none");
    return CPQD_ECONFLICT;
}

/* A stored quote that expired is marked expired on the first attempt to
 * move it; the attempt itself is refused. */
static int refuse_expired(svc_ctx *c, store_quote *q, quote_action action, cpqd_errs *errs)
{
    int rc = store_quote_set_status(c->st, q->id, q->status, quote_status_name(QUOTE_EXPIRED),
                                    c->caller->key_id, "valid_until passed");
    store_quote now;
    if (rc == 0 && (rc = store_quote_get(c->st, q->id, 0, &now)) == 0) {
        rc = quote_emit(c, "quote.status_changed", &now);
        store_quote_fini(&now);
    }
    if (rc == 0)
        svc_tx_keep(c); /* the marking stays; the move is refused */
    return illegal(errs, q->id, QUOTE_EXPIRED, action);
}

/* Whether quote q may be revised as it was read (its effective status),
 * without writing anything. */
static bool revisable(const svc_ctx *c, const store_quote *q)
{
    return quote_next(quote_effective_status(c, q), QUOTE_REVISE) != QUOTE_STATUS_N;
}

/* Inside the transaction: the quote must still be the version that was
 * priced; the new version, its reply, the key's record and its event. */
static int revise_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    qwrite *w = arg;
    store_quote cur = {0};
    int rc = svc_idem_replay(c, w->route, w->idem_key, w->hash, out, errs);
    if (rc) {
        w->replayed = rc == 1;
        return rc == 1 ? 0 : rc;
    }
    if ((rc = quote_load_scoped(c, w->id, 0, &cur, errs)))
        return rc;
    quote_status st = quote_effective_status(c, &cur);
    store_quote *q = w->q;
    if (expired_unmarked(c, &cur)) {
        rc = refuse_expired(c, &cur, QUOTE_REVISE, errs);
    } else if (quote_next(st, QUOTE_REVISE) == QUOTE_STATUS_N) {
        rc = illegal(errs, w->id, st, QUOTE_REVISE);
    } else if (!w->priced || cur.version != w->seen->version) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "quote %.64s changed while this revision was priced (now version %d): send "
                 "it again",
                 w->id, cur.version);
        rc = CPQD_ECONFLICT;
    } else if (strcmp(q->customer_id, cur.customer_id) != 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                 "customer.id: a revision cannot change the customer ('%.64s')", cur.customer_id);
        rc = CPQD_EINVAL;
    } else {
        free(q->id);
        free(q->number);
        q->id = strdup(cur.id);
        q->number = strdup(cur.number);
        q->version = cur.version + 1;
        rc = q->id && q->number ? store_quote_add_version(c->st, q) : CPQD_ENOMEM;
    }
    store_quote_fini(&cur);
    if (rc || (rc = store_quote_get(c->st, w->id, 0, &cur)))
        return rc;
    out->created = 1;
    rc = reply_emit(c, "quote.revised", &cur, out);
    if (rc == 0)
        rc = svc_idem_record(c, w->route, w->idem_key, w->hash, out, w->id);
    store_quote_fini(&cur);
    return rc;
}

int quote_revise(svc_ctx *c, const char *id, const char *body, size_t len,
                 const char *idem_key, svc_reply *out, cpqd_errs *errs)
{
    char route[128], hash[65];
    store_quote seen = {0}, q = {0};
    quote_req r;
    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    snprintf(route, sizeof(route), "POST /v1/quotes/%.64s/revise", id);
    int rc = svc_limit_write(c, errs);
    if (rc == 0)
        rc = svc_idem_peek(c, route, idem_key, body, len, hash, out, errs);
    /* priced before the write transaction on the quote as read; inside
     * it the quote must still be that version (else 409: retry) */
    bool priced = false;
    if (rc == 0 && (rc = quote_load_scoped(c, id, 0, &seen, errs)) == 0 && revisable(c, &seen)) {
        if ((rc = qreq_parse(c, body, len, &seen, &r, errs)) == 0 &&
            (rc = qreq_price(c, &r, &q, errs)) == 0 &&
            (rc = svc_limit_bytes(c, stored_bytes(&q), errs)) == 0)
            rc = store_quote_pack(&q);
        priced = rc == 0;
    }
    if (rc == 0) {
        qwrite w = {.route = route, .idem_key = idem_key, .hash = hash, .id = id,
                    .seen = &seen, .priced = priced, .q = &q};
        if ((rc = svc_tx(c, revise_run, &w, out, errs)) == 0 && !w.replayed)
            svc_limit_count(c, stored_bytes(&q));
    }
    store_quote_fini(&seen);
    store_quote_fini(&q);
    quote_req_fini(&r);
    return rc == 1 ? 0 : rc;
}

/* The caller's discount authority (percent): the price module's rule
 * in the first catalog where it has one. */
static bool caller_authority(const svc_ctx *c, money_dec *pct)
{
    price_who who = svc_who(c->caller);
    for (size_t i = 0; i < cat_snapshot_catalog_count(c->snap); i++)
        if (price_authority_of(cat_snapshot_catalog_at(c->snap, i), &who, pct))
            return true;
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

int quote_body_check(svc_ctx *c, bool action, const char *body, size_t len, char **stored,
                     cpqd_errs *errs)
{
    if (stored)
        *stored = NULL;
    if (action) {
        char *note = NULL;
        int rc = quote_json_note_parse(body, len, &note, errs);
        free(note);
        return rc;
    }
    quote_req r;
    int rc = qreq_parse(c, body, len, NULL, &r, errs);
    if (rc == 0 && stored) {
        *stored = r.request;
        r.request = NULL;
    }
    quote_req_fini(&r);
    return rc;
}

/* Approving needs the level the quote needs (the lowest whose
 * max_discount covers the largest requested discount, the top one for a
 * price out of bounds) within the approver's authority: 0 or
 * CPQD_EFORBIDDEN. Records the level on q. */
static int approval_authorized(const svc_ctx *c, store_quote *q, cpqd_errs *errs)
{
    money_dec auth = money_from_int(0), need;
    bool has_auth = caller_authority(c, &auth);
    quote_facts f;
    quote_json_facts(q, &f);
    const char *lvl = needed_level(c, f.max_discount, f.flagged);
    free(q->approval_level);
    q->approval_level = lvl ? strdup(lvl) : NULL;
    if (!q->approval_level || !level_percent(c, q->approval_level, &need) ||
        (has_auth && money_cmp(auth, need) >= 0))
        return 0;
    char nb[MONEY_FMT_MAX] = "?", ab[MONEY_FMT_MAX] = "none";
    money_format(need, nb, sizeof(nb));
    if (has_auth && money_format(auth, ab, sizeof(ab)) >= 0)
        strcat(ab, "%");
    errs_add(errs, CPQD_EFORBIDDEN, NULL, 0, 0,
             "approving quote '%.64s' needs the %s level (up to %s%%); your authority is %s",
             q->id, q->approval_level, nb, ab);
    return CPQD_EFORBIDDEN;
}

/* Where submitting q takes it: straight to approved when every requested
 * discount is within the submitter's authority and no price is out of
 * bounds, else pending_approval. */
static quote_status submitted(const svc_ctx *c, const store_quote *q)
{
    money_dec auth = money_from_int(0);
    bool has_auth = caller_authority(c, &auth);
    quote_facts f;
    quote_json_facts(q, &f);
    bool within = money_is_zero(f.max_discount) ||
                  (has_auth && money_cmp(f.max_discount, auth) <= 0);
    return within && !f.flagged ? QUOTE_APPROVED : QUOTE_PENDING_APPROVAL;
}

typedef struct qmove {
    const char *id;
    quote_action action;
    const char *note;
} qmove;

/* Inside the transaction: the move, its reply and its event. */
static int move_run(svc_ctx *c, void *arg, svc_reply *out, cpqd_errs *errs)
{
    const qmove *m = arg;
    store_quote q;
    int rc = quote_load_scoped(c, m->id, 0, &q, errs);
    if (rc)
        return rc;
    quote_status st = quote_effective_status(c, &q), to = quote_next(st, m->action);
    /* accepting makes a contract (contract_accept, through quote_accept);
     * revising makes a version (quote_revise) */
    if (expired_unmarked(c, &q))
        rc = refuse_expired(c, &q, m->action, errs);
    else if (to == QUOTE_STATUS_N || m->action == QUOTE_ACCEPT || m->action == QUOTE_REVISE)
        rc = illegal(errs, m->id, st, m->action);
    else if (m->action == QUOTE_SUBMIT)
        to = submitted(c, &q);
    else if (m->action == QUOTE_APPROVE)
        rc = approval_authorized(c, &q, errs);
    if (rc == 0)
        rc = store_quote_set_status(c->st, m->id, q.status, quote_status_name(to),
                                    c->caller->key_id, m->note);
    store_quote_fini(&q);
    if (rc || (rc = store_quote_get(c->st, m->id, 0, &q)))
        return rc;
    rc = reply_emit(c, "quote.status_changed", &q, out);
    store_quote_fini(&q);
    return rc;
}

int quote_move(svc_ctx *c, const char *id, quote_action action, const char *body, size_t len,
               svc_reply *out, cpqd_errs *errs)
{
    char *note = NULL;
    memset(out, 0, sizeof(*out));
    int rc = quote_json_note_parse(body, len, &note, errs);
    if (rc)
        return rc;
    qmove m = {.id = id, .action = action, .note = note};
    rc = svc_tx(c, move_run, &m, out, errs);
    free(note);
    return rc;
}

/* The quote.status_changed event of q (a head), with the priced result
 * of seen when it is the same version, else read again. */
static int head_emit(const svc_ctx *c, const store_quote *seen, store_quote *q)
{
    if (seen && seen->id && !strcmp(seen->id, q->id) && seen->version == q->version) {
        q->priced = seen->priced; /* borrowed for the event */
        int rc = quote_emit(c, "quote.status_changed", q);
        q->priced = NULL;
        return rc;
    }
    store_quote full;
    int rc = store_quote_get(c->st, q->id, q->version, &full);
    if (rc == 0) {
        /* the head as it is now (a version's updated_at follows the move) */
        rc = quote_emit(c, "quote.status_changed", &full);
        store_quote_fini(&full);
    }
    return rc;
}

int quote_accept(svc_ctx *c, const char *id, store_quote *q, cpqd_errs *errs)
{
    store_quote cur;
    memset(q, 0, sizeof(*q));
    int rc = load_scoped(c, id, 0, true, &cur, errs);
    if (rc)
        return rc;
    quote_status st = quote_effective_status(c, &cur), to = quote_next(st, QUOTE_ACCEPT);
    if (expired_unmarked(c, &cur))
        rc = refuse_expired(c, &cur, QUOTE_ACCEPT, errs);
    else if (to == QUOTE_STATUS_N)
        rc = illegal(errs, id, st, QUOTE_ACCEPT);
    else if ((rc = store_quote_set_status(c->st, id, cur.status, quote_status_name(to),
                                          c->caller->key_id, NULL)) == 0)
        rc = store_quote_get_head(c->st, id, q);
    store_quote_fini(&cur);
    return rc;
}

int quote_accept_emit(svc_ctx *c, const store_quote *seen, store_quote *q)
{
    return head_emit(c, seen, q);
}

bool quote_acceptable(const svc_ctx *c, const store_quote *q)
{
    return quote_next(quote_effective_status(c, q), QUOTE_ACCEPT) != QUOTE_STATUS_N;
}
