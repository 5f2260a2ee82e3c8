/*
 * http_route: from one complete evhttp request to one reply.
 *
 * Owns: the route table, the one table mapping CPQD_E* codes (and the
 * HTTP-level problems) to statuses and error codes, JSON replies and
 * error bodies, refusing ambiguous requests (a header repeated that the
 * service reads once), strict query-string parsing and the per-request
 * snapshot reference. The tracking of replies still being written (which
 * the drain on shutdown waits for) is http_conn.c's.
 * Does not own: sockets, threads, signals, reload mechanics (http.c) or
 * the JSON shape of catalog data (http_view.c).
 *
 * Invariant: every request that reaches http_route_request gets exactly
 * one reply, and every reply is JSON. libevent's own protocol-level error
 * replies are JSON too: see evhttp_send_error at the end of this file.
 */
#include "http_int.h"

#include "cpqd/auth.h"
#include "cpqd/contract.h"
#include "cpqd/fin.h"
#include "cpqd/limit.h"
#include "cpqd/log.h"
#include "cpqd/metrics.h"
#include "cpqd/price.h"
#include "cpqd/quote.h"
#include "cpqd/store.h"

#include <event2/buffer.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_ERR_DETAILS 1000 /* errors listed in one reply (all are logged) */
#define HTTP_MAX_PATH_PARAMS 3    /* {} segments in a route */

/* ---- problems: the one status table ---- */

typedef enum http_problem {
    HP_BAD_REQUEST,
    HP_UNAUTHORIZED,
    HP_FORBIDDEN,
    HP_INVALID_PARAMETER,
    HP_NOT_FOUND,
    HP_METHOD_NOT_ALLOWED,
    HP_CONFLICT,
    HP_PAYLOAD_TOO_LARGE,
    HP_RATE_LIMITED,
    HP_PRECONDITION_FAILED,
    HP_CATALOG_INVALID,
    HP_OUT_OF_RANGE,
    HP_DIVISION_BY_ZERO,
    HP_LIMIT_EXCEEDED,
    HP_EXPECTATION_FAILED,
    HP_INTERNAL,
    HP_IO,
    HP_RULE_FAILED,
    HP_CONFIGURATION_INCOMPLETE,
    HP_UNPROCESSABLE,
    HP_NOT_IMPLEMENTED,
    HP_UNAVAILABLE,
    HP_OUT_OF_MEMORY,
} http_problem;

typedef struct http_problem_row {
    int cpqd; /* the CPQD_E* code this row answers, 0 if HTTP-only */
    int status;
    const char *code;   /* "error.code" in the body */
    const char *reason; /* status line reason phrase */
} http_problem_row;

/* Every status cpqd answers with outside 2xx, and which CPQD_E* code maps
 * to it. A code appears at most once; codes not listed are internal. */
static const http_problem_row http_problems[] = {
    [HP_BAD_REQUEST] = {0, 400, "bad_request", "Bad Request"},
    [HP_UNAUTHORIZED] = {0, 401, "unauthorized", "Unauthorized"},
    [HP_FORBIDDEN] = {CPQD_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    [HP_INVALID_PARAMETER] = {CPQD_EINVAL, 400, "invalid_parameter", "Bad Request"},
    [HP_NOT_FOUND] = {CPQD_ENOTFOUND, 404, "not_found", "Not Found"},
    [HP_METHOD_NOT_ALLOWED] = {0, 405, "method_not_allowed", "Method Not Allowed"},
    [HP_CONFLICT] = {CPQD_ECONFLICT, 409, "conflict", "Conflict"},
    [HP_PAYLOAD_TOO_LARGE] = {CPQD_ETOOBIG, 413, "payload_too_large", "Payload Too Large"},
    [HP_RATE_LIMITED] = {CPQD_ERATE, 429, "rate_limited", "Too Many Requests"},
    [HP_PRECONDITION_FAILED] = {CPQD_ESTALE, 412, "precondition_failed", "Precondition Failed"},
    [HP_EXPECTATION_FAILED] = {0, 417, "expectation_failed", "Expectation Failed"},
    [HP_CATALOG_INVALID] = {0, 422, "catalog_invalid", "Unprocessable Entity"},
    [HP_OUT_OF_RANGE] = {CPQD_ERANGE, 422, "out_of_range", "Unprocessable Entity"},
    [HP_DIVISION_BY_ZERO] = {CPQD_EDIVZERO, 422, "division_by_zero", "Unprocessable Entity"},
    [HP_LIMIT_EXCEEDED] = {CPQD_ELIMIT, 422, "limit_exceeded", "Unprocessable Entity"},
    [HP_INTERNAL] = {CPQD_EINTERNAL, 500, "internal", "Internal Server Error"},
    [HP_IO] = {CPQD_EIO, 500, "io_error", "Internal Server Error"},
    [HP_RULE_FAILED] = {CPQD_ERULE, 422, "rule_failed", "Unprocessable Entity"},
    [HP_CONFIGURATION_INCOMPLETE] = {CPQD_EINCOMPLETE, 422, "configuration_incomplete",
                                     "Unprocessable Entity"},
    [HP_UNPROCESSABLE] = {CPQD_EREFUSED, 422, "unprocessable", "Unprocessable Entity"},
    [HP_NOT_IMPLEMENTED] = {0, 501, "not_implemented", "Not Implemented"},
    [HP_UNAVAILABLE] = {0, 503, "unavailable", "Service Unavailable"},
    [HP_OUT_OF_MEMORY] = {CPQD_ENOMEM, 503, "out_of_memory", "Service Unavailable"},
};

#define HTTP_NPROBLEMS (sizeof(http_problems) / sizeof(http_problems[0]))

/* The problem for a CPQD_E* code (anything unknown is internal). */
static http_problem problem_of_code(int cpqd)
{
    for (size_t i = 0; i < HTTP_NPROBLEMS; i++) {
        if (cpqd != 0 && http_problems[i].cpqd == cpqd)
            return (http_problem)i;
    }
    return HP_INTERNAL;
}

/* The problem for a status libevent chose itself (first row wins). */
static http_problem problem_of_status(int status)
{
    for (size_t i = 0; i < HTTP_NPROBLEMS; i++) {
        if (http_problems[i].status == status)
            return (http_problem)i;
    }
    return status >= 500 ? HP_INTERNAL : HP_BAD_REQUEST;
}

/* ---- replies ---- */

typedef struct http_ctx {
    struct evhttp_request *req;
    http_worker *w;
    cat_snapshot *snap; /* this request's reference; NULL if none published */
    http_caller caller;
    const char *query; /* raw query string, NULL if none */
    char *param;       /* the first decoded {} path segment (params[0]) */
    size_t param_len;
    char *params[HTTP_MAX_PATH_PARAMS]; /* decoded {} path segments, malloc'ed */
    size_t nparams;
    int status; /* of the reply, for the access log */
    bool close; /* close the connection after the reply */
    const struct http_route *route; /* the row serving it, NULL if none */
    auth_keys *keys;  /* the key set it was authenticated with (a reference) */
    size_t bytes;     /* of the reply body, for the access log */
    bool slot_local;  /* holds a concurrency slot its connection did not take over */
    bool deferred;    /* its operation went to the write pool, which ends the request */
    uint64_t t0;      /* when it arrived (metrics_now_ns), for the access log */
    const char *method; /* for the access log */
    char *uri;          /* for the access log (malloc'ed; NULL below log level info) */
    char rid[HTTP_REQUEST_ID_MAX]; /* X-Request-Id */
} http_ctx;

static int dump_cb(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

/* Serialises body (taking it) into out. Returns 0 or -1. */
static int json_to_evbuffer(json_t *body, struct evbuffer *out)
{
    int rc = json_dump_callback(body, dump_cb, out, JSON_COMPACT);
    json_decref(body);
    return rc;
}

static json_t *error_body(http_problem p, const char *msg, json_t *details)
{
    json_t *m = json_string(msg);
    if (!m) /* not UTF-8: never echo such bytes back */
        m = json_string(http_problems[p].code);
    return json_pack("{s:{s:s,s:o,s:o}}", "error", "code", http_problems[p].code, "message", m,
                     "details", details ? details : json_array());
}

/* Sends status with body (taken). A body that could not be built (NULL)
 * or serialised becomes a 500. The only sender of replies on cpqd's own
 * paths. */
static void reply_send(http_ctx *c, int status, const char *reason, struct evbuffer *buf, int rc);

static void reply_json(http_ctx *c, int status, const char *reason, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    int rc = -1;
    if (body && buf)
        rc = json_to_evbuffer(body, buf);
    else
        json_decref(body);
    reply_send(c, status, reason, buf, rc);
}

static void reply_send_as(http_ctx *c, int status, const char *reason, struct evbuffer *buf,
                          int rc, const char *content_type);

/* a[0..alen) then b[0..blen), malloc'ed; NULL when out of memory. */
static char *loc_join(const char *a, size_t alen, const char *b, size_t blen)
{
    char *s = malloc(alen + blen + 1);
    if (s) {
        memcpy(s, a, alen);
        memcpy(s + alen, b, blen);
        s[alen + blen] = '\0';
    }
    return s;
}

static char *location_of(http_ctx *c, const char *body);

static void text_free(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

#define REPLY_BY_REFERENCE 4096 /* bytes: a longer text is sent from where it is */

/* A new buffer holding text (taken; freed once sent): a long one by
 * reference, not copied (a priced result is some 20 KB). NULL when text
 * is NULL or out of memory. */
static struct evbuffer *buf_taking(char *text)
{
    struct evbuffer *buf = text ? evbuffer_new() : NULL;
    size_t len = text ? strlen(text) : 0;
    int rc = !buf ? -1
             : len < REPLY_BY_REFERENCE ? evbuffer_add(buf, text, len)
                                        : evbuffer_add_reference(buf, text, len, text_free, NULL);
    if (len < REPLY_BY_REFERENCE || rc != 0)
        free(text);
    if (rc != 0 && buf) {
        evbuffer_free(buf);
        buf = NULL;
    }
    return buf;
}

/* Sends text (taken: a JSON document built elsewhere, or NULL when
 * building it failed: a 500). */
static void reply_text(http_ctx *c, int status, const char *reason, char *text)
{
    if (status == 201) {
        char *loc = location_of(c, text);
        if (loc)
            evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
        free(loc);
    }
    struct evbuffer *buf = buf_taking(text);
    int rc = buf ? 0 : -1;
    reply_send(c, status, reason, buf ? buf : evbuffer_new(), rc);
}

/* Sends a document of another type (taken; NULL: a 500 in JSON). */
static void reply_doc(http_ctx *c, const char *content_type, char *text)
{
    struct evbuffer *buf = buf_taking(text);
    int rc = buf ? 0 : -1;
    reply_send_as(c, 200, "OK", buf ? buf : evbuffer_new(), rc, content_type);
}

/* Sends buf (freed here) unless rc says building it failed. */
static void reply_send(http_ctx *c, int status, const char *reason, struct evbuffer *buf, int rc)
{
    reply_send_as(c, status, reason, buf, rc, "application/json");
}

static void reply_send_as(http_ctx *c, int status, const char *reason, struct evbuffer *buf,
                          int rc, const char *content_type)
{
    static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":"
                                   "\"could not build the response\",\"details\":[]}}";
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    if (rc != 0) {
        status = http_problems[HP_INTERNAL].status;
        reason = http_problems[HP_INTERNAL].reason;
        if (buf) {
            evbuffer_drain(buf, evbuffer_get_length(buf));
            evbuffer_add(buf, fallback, sizeof(fallback) - 1);
        }
    }
    evhttp_add_header(h, "Content-Type", rc == 0 ? content_type : "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* shutting down, or the request was ambiguous: no further requests on
     * this connection */
    if (c->w->draining || c->close)
        evhttp_add_header(h, "Connection", "close");
    c->status = status;
    c->bytes = buf ? evbuffer_get_length(buf) : 0;
    evhttp_send_reply(c->req, status, reason, buf);
    if (buf)
        evbuffer_free(buf);
}

/* Replies with problem p; takes details (NULL: []). */
static void reply_problem(http_ctx *c, http_problem p, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_problem(http_ctx *c, http_problem p, json_t *details, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_json(c, http_problems[p].status, http_problems[p].reason, error_body(p, msg, details));
}

/* ---- query strings ---- */

/* http_param and http_query: see http_int.h */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) in place ('+' is a space when plus) and NUL-
 * terminates it; returns the new length, or -1 on a malformed escape or a
 * decoded NUL (which no parameter or SKU may contain). */
static long pct_decode(char *s, size_t len, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return -1;
            ch = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (ch == 0)
            return -1;
        s[o++] = (char)ch;
    }
    s[o] = '\0';
    return (long)o;
}

/* s itself if it is short printable ASCII, else a placeholder: error
 * messages echo names back, never arbitrary bytes. */
static const char *printable(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f || n >= 64)
            return "(unprintable)";
    }
    return s;
}

static bool name_in(const char *k, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (strcmp(k, names[i]) == 0)
            return true;
    }
    return false;
}

/* Decodes one "key=value" token into q. */
static int query_param(http_query *q, char *tok, const char *const *allowed, char *why, size_t cap)
{
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok) {
        q->bad = eq ? NULL : tok;
        snprintf(why, cap, "malformed query parameter (expected key=value)");
        return CPQD_EINVAL;
    }
    *eq = '\0';
    long vlen = pct_decode(eq + 1, strlen(eq + 1), true);
    if (pct_decode(tok, strlen(tok), true) < 0) {
        snprintf(why, cap, "malformed percent-encoding in a query parameter name");
        return CPQD_EINVAL;
    }
    q->bad = tok;
    if (vlen < 0) {
        snprintf(why, cap, "malformed percent-encoding in query parameter '%s'", printable(tok));
        return CPQD_EINVAL;
    }
    if (!name_in(tok, allowed)) {
        snprintf(why, cap, "unknown query parameter '%s'", printable(tok));
        return CPQD_EINVAL;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->p[i].key, tok) == 0) {
            snprintf(why, cap, "query parameter '%s' given twice", tok);
            return CPQD_EINVAL;
        }
    }
    if (vlen == 0) {
        snprintf(why, cap, "query parameter '%s' is empty", tok);
        return CPQD_EINVAL;
    }
    q->p[q->n++] = (http_param){tok, eq + 1, (size_t)vlen};
    q->bad = NULL;
    return 0;
}

/* Typos such as per_pgae must not be silently ignored (http_int.h). */
int http_query_parse(const char *raw, const char *const *allowed, http_query *q, char *why,
                     size_t cap)
{
    memset(q, 0, sizeof(*q));
    if (!raw || !*raw)
        return 0;
    q->buf = strdup(raw);
    if (!q->buf)
        return CPQD_ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(q->buf, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        if (q->n == HTTP_MAX_PARAMS) {
            snprintf(why, cap, "more than %d query parameters", HTTP_MAX_PARAMS);
            return CPQD_EINVAL;
        }
        int rc = query_param(q, tok, allowed, why, cap);
        if (rc)
            return rc;
    }
    return 0;
}

/* A decimal integer in [lo, hi], digits only. */
static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    size_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > hi)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A delivery mode by name (cat's mode table), all len bytes of it. */
static bool parse_mode(const char *s, size_t len, int *out)
{
    cat_mode m;
    if (cat_mode_parse(s, len, &m) != 0)
        return false;
    *out = (int)m;
    return true;
}

/* One GET /v1/products parameter into lq; CPQD_EINVAL with why filled. */
static int list_param(const http_param *p, http_list_query *lq, char *why, size_t cap)
{
    const char *k = p->key;
    if (strcmp(k, "category") == 0) {
        lq->category = p->val;
    } else if (strcmp(k, "catalog") == 0) {
        lq->catalog = p->val;
    } else if (strcmp(k, "q") == 0) {
        lq->q = p->val;
        lq->qlen = p->vlen;
    } else if (strcmp(k, "mode") == 0) {
        if (parse_mode(p->val, p->vlen, &lq->mode))
            return 0;
        char all[160];
        snprintf(why, cap, "mode must be one of %s", cat_mode_list(all, sizeof(all)));
        return CPQD_EINVAL;
    }
    return 0;
}

/* ---- enum-valued query parameters (http_int.h) ---- */

bool http_query_enum(http_ctx *c, const http_query *q, const char *key,
                     const char *const *values, const char **out)
{
    const char *v = http_query_value(q, key);
    if (!v)
        return true;
    if (name_in(v, values)) {
        if (out)
            *out = v;
        return true;
    }
    char list[256] = "";
    size_t len = 0;
    json_t *allowed = json_array();
    for (size_t i = 0; values[i]; i++) {
        int n = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", values[i]);
        if (n > 0 && (size_t)n < sizeof(list) - len)
            len += (size_t)n;
        json_array_append_new(allowed, json_string(values[i]));
    }
    json_t *details = allowed ? json_pack("[{s:s,s:o}]", "parameter", key, "allowed", allowed) : NULL;
    reply_problem(c, HP_INVALID_PARAMETER, details, "%s must be one of %s (got '%s')", key, list,
                  printable(v));
    return false;
}

/* Details naming one offending parameter. */
static json_t *param_details(const char *name)
{
    return json_pack("[{s:s}]", "parameter", name);
}

/* The page of q into *pg; the name of the parameter at fault, or NULL. */
static const char *page_parse(const http_query *q, size_t def, svc_page *pg)
{
    *pg = (svc_page){.limit = def};
    for (size_t i = 0; i < q->n; i++) {
        const http_param *p = &q->p[i];
        if (!strcmp(p->key, "limit") && !parse_size(p->val, 1, SVC_PAGE_MAX, &pg->limit))
            return "limit";
        if (!strcmp(p->key, "after")) {
            if (p->vlen > SVC_CURSOR_MAX)
                return "after";
            pg->after = p->val;
        }
    }
    return NULL;
}

bool http_page_read(http_ctx *c, const http_query *q, size_t def, svc_page *pg)
{
    const char *bad = page_parse(q, def, pg);
    if (!bad)
        return true;
    if (!strcmp(bad, "limit"))
        reply_problem(c, HP_INVALID_PARAMETER, param_details("limit"),
                      "limit must be an integer from 1 to %d", SVC_PAGE_MAX);
    else
        reply_problem(c, HP_INVALID_PARAMETER, param_details("after"),
                      "after must be the `next` of a page of this list");
    return false;
}

svc_page http_page_of(const http_query *q, size_t def)
{
    svc_page pg;
    (void)page_parse(q, def, &pg); /* checked by http_page_read before */
    return pg;
}

/* ---- handlers ---- */

typedef void (*http_handler)(http_ctx *c, const http_query *q);

static bool need_snapshot(http_ctx *c)
{
    if (c->snap)
        return true;
    reply_problem(c, HP_UNAVAILABLE, NULL, "no catalog snapshot is loaded");
    return false;
}

static void h_healthz(http_ctx *c, const http_query *q)
{
    (void)q;
    if (!need_snapshot(c))
        return;
    /* {"status":"ok","version":"<hex>"}, as jansson wrote it, without a
     * tree: the probe load balancers send most often (docs/operations.md) */
    static const char head[] = "{\"status\":\"ok\",\"version\":\"";
    const char *v = cat_snapshot_version(c->snap);
    struct evbuffer *buf = evbuffer_new();
    int rc = buf && evbuffer_expand(buf, sizeof(head) + strlen(v) + 2) == 0 &&
                     evbuffer_add(buf, head, sizeof(head) - 1) == 0 &&
                     evbuffer_add(buf, v, strlen(v)) == 0 && evbuffer_add(buf, "\"}", 2) == 0
                 ? 0
                 : -1;
    reply_send(c, 200, "OK", buf, rc);
}

static void h_catalog(http_ctx *c, const http_query *q)
{
    (void)q;
    if (need_snapshot(c))
        reply_json(c, 200, "OK", http_view_catalog(c->snap));
}

static void h_products(http_ctx *c, const http_query *q)
{
    http_list_query lq = {.mode = -1};
    char why[256];
    if (!http_page_read(c, q, SVC_PAGE_DEFAULT, &lq.page))
        return;
    for (size_t i = 0; i < q->n; i++) {
        if (list_param(&q->p[i], &lq, why, sizeof(why)) != 0) {
            reply_problem(c, HP_INVALID_PARAMETER, param_details(q->p[i].key), "%s", why);
            return;
        }
    }
    if (need_snapshot(c))
        reply_json(c, 200, "OK", http_view_products(c->snap, &lq));
}

static void h_product(http_ctx *c, const http_query *q)
{
    (void)q;
    if (!need_snapshot(c))
        return;
    const cat_product *p = cat_snapshot_product(c->snap, c->param, c->param_len);
    if (!p) {
        reply_problem(c, HP_NOT_FOUND, json_pack("[{s:s}]", "sku", printable(c->param)),
                      "no product with SKU '%s'", printable(c->param));
        return;
    }
    reply_json(c, 200, "OK", http_view_product(c->snap, p, &c->caller));
}

static void h_reload(http_ctx *c, const http_query *q)
{
    (void)q;
    http_reload_result r;
    cpqd_errs *errs = errs_new();
    int rc = errs ? http_reload(c->w->srv, errs, &r) : CPQD_ENOMEM;
    if (rc == 0) {
        reply_json(c, 200, "OK",
                   json_pack("{s:s,s:s,s:I,s:I}", "version", r.version, "previous_version",
                             r.previous, "catalogs", (json_int_t)r.ncatalogs, "products",
                             (json_int_t)r.nproducts));
    } else if (errs_count(errs) == 0) {
        reply_problem(c, problem_of_code(rc), NULL, "catalog reload failed: %s", err_code_name(rc));
    } else {
        size_t n = errs_count(errs);
        reply_problem(c, HP_CATALOG_INVALID, http_view_errs(errs, HTTP_MAX_ERR_DETAILS),
                      "catalog reload failed with %zu error%s%s; still serving version %s", n,
                      n == 1 ? "" : "s", n > HTTP_MAX_ERR_DETAILS ? " (first 1000 listed)" : "",
                      *r.previous ? r.previous : "(none)");
    }
    errs_free(errs);
}

/* POST /v1/price: the request's lines priced through the waterfall
 * (docs/pricing.md). A partner caller prices as itself: its role, its
 * partner id and segment replace whatever the body says. */
static store *need_store(http_ctx *c);

static void h_price(http_ctx *c, const http_query *q)
{
    (void)q;
    if (!need_snapshot(c) || !need_store(c))
        return;
    quote_usage usage; /* the counters promotion limits read */
    quote_usage_init(&usage, c->w->store);
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    cpqd_errs *errs = errs_new();
    price_req_buf *buf = NULL;
    price_request *rq = NULL;
    price_result res;
    int rc = errs ? price_json_parse(body, len, &buf, &rq, errs) : CPQD_ENOMEM;
    bool partner = c->caller.role == HTTP_ROLE_PARTNER;
    if (rc == 0 && rq->nlines > c->caller.limits.max_lines) {
        errs_add(errs, CPQD_ETOOBIG, NULL, 0, 0,
                 "lines: %zu lines, more than this key may price at once (%zu)", rq->nlines,
                 c->caller.limits.max_lines);
        rc = CPQD_ETOOBIG;
    }
    if (rc == 0) {
        if (partner) {
            rq->role = "partner";
            rq->partner_id = c->caller.partner_id;
            rq->segment = c->caller.segment;
        } else if (c->w->cfg->keyring) {
            /* with API keys the authority is the key's, whatever the body says */
            rq->role = auth_role_name((auth_role)c->caller.auth_role);
            if (c->caller.auth_role == AUTH_ROLE_ADMIN) {
                rq->has_authority = true;
                rq->authority = money_from_int(100);
            }
        } else if (!rq->role) {
            rq->role = "rep";
        }
        if (c->caller.has_authority) {
            rq->has_authority = true;
            rq->authority = c->caller.authority;
        }
        rq->partner_view = partner;
        if (!c->w->price && !(c->w->price = price_worker_new()))
            rc = CPQD_ENOMEM;
    }
    if (rc == 0)
        rc = price_compute(c->w->price, c->snap, &usage.base, rq, &res, errs);
    if (rc == 0) {
        reply_text(c, 200, "OK", price_json_render(&res, c->snap, partner));
        price_result_recycle(c->w->price, &res); /* its memory serves the next request */
    } else if (!errs || errs_count(errs) == 0) {
        reply_problem(c, problem_of_code(rc), NULL, "pricing failed: %s", err_code_name(rc));
    } else {
        const cpqd_err *first = errs_get(errs, 0);
        reply_problem(c, problem_of_code(rc), http_view_errs(errs, HTTP_MAX_ERR_DETAILS),
                      "%s%s", first->msg,
                      errs_count(errs) > 1 ? " (and more: see details)" : "");
    }
    price_req_buf_free(buf);
    errs_free(errs);
}

/* ---- quotes (docs/quotes.md) ---- */

/* w's store connection, opened on first use; NULL with why[0..cap)
 * filled when it cannot be opened. Replies nothing (any thread's worker). */
static store *worker_store(http_worker *w, char *why, size_t cap)
{
    if (w->store)
        return w->store;
    cpqd_errs *errs = errs_new();
    int rc = errs ? store_open(w->cfg->db_path, false, &w->store, errs) : CPQD_ENOMEM;
    if (rc) {
        const cpqd_err *e = errs && errs_count(errs) ? errs_get(errs, 0) : NULL;
        snprintf(why, cap, "the store is not available: %s", e ? e->msg : err_code_name(rc));
        w->store = NULL;
    }
    errs_free(errs);
    return w->store;
}

/* This worker's store connection, opened on first use; NULL after
 * replying 503. */
static store *need_store(http_ctx *c)
{
    char why[600];
    store *st = worker_store(c->w, why, sizeof(why));
    if (!st)
        reply_problem(c, HP_UNAVAILABLE, NULL, "%s", why);
    return st;
}

/* A 429's Retry-After: the first error's "retry_after" field. */
static void retry_after_header(http_ctx *c, const cpqd_errs *errs)
{
    const cpqd_err *e = errs && errs_count(errs) ? errs_get(errs, 0) : NULL;
    for (size_t i = 0; e && i < e->nfields; i++)
        if (!strcmp(e->fields[i].key, "retry_after"))
            evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After",
                              e->fields[i].value);
}

static void reply_errs(http_ctx *c, int rc, cpqd_errs *errs, const char *what)
{
    if (rc == CPQD_ERATE)
        retry_after_header(c, errs);
    if (!errs || errs_count(errs) == 0) {
        reply_problem(c, problem_of_code(rc), NULL, "%s failed: %s", what, err_code_name(rc));
        return;
    }
    const cpqd_err *first = errs_get(errs, 0);
    reply_problem(c, problem_of_code(rc), http_view_errs(errs, HTTP_MAX_ERR_DETAILS), "%s%s",
                  first->msg, errs_count(errs) > 1 ? " (and more: see details)" : "");
}

/* ---- what http_events.c uses (http_int.h) ---- */

http_worker *http_ctx_worker(const http_ctx *c)
{
    return c->w;
}

const char *http_ctx_param(const http_ctx *c, size_t i)
{
    return i < c->nparams ? c->params[i] : NULL;
}

store *http_ctx_store(http_ctx *c)
{
    return need_store(c);
}

void http_reply_text(http_ctx *c, int status, char *text)
{
    reply_text(c, status, status == 201 ? "Created" : "OK", text);
}

void http_reply_errs(http_ctx *c, int rc, cpqd_errs *errs, const char *what)
{
    reply_errs(c, rc, errs, what);
}

const cat_snapshot *http_ctx_snapshot(const http_ctx *c)
{
    return c->snap;
}

void http_reply_doc(http_ctx *c, const char *content_type, char *text)
{
    reply_doc(c, content_type, text);
}

void http_reply_unavailable(http_ctx *c, json_t *details, const char *msg)
{
    reply_problem(c, HP_UNAVAILABLE, details, "%s", msg);
}

void http_reply_static(http_ctx *c, const char *content_type, const void *data, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    int rc = buf ? evbuffer_add_reference(buf, data, len, NULL, NULL) : -1;
    reply_send_as(c, 200, "OK", buf, rc, content_type);
}


/* ---- operations of the application layer, and how a route calls one ----
 * A route table row names the operation itself (quote_create,
 * contract_accept, fin_write_off, ...) with the shape of its parameters;
 * op_invoke hands it the request's path segments, body, Idempotency-Key
 * or query values by that shape. An operation that needs more of the
 * request (a version segment, the action in the path, response headers)
 * is an http_quote_fn (OS_HTTP). */
typedef enum op_shape {
    OS_HTTP,           /* http_quote_fn: the request itself */
    OS_BODY,           /* (body) */
    OS_BODY_KEY,       /* (body, Idempotency-Key) */
    OS_ID,             /* ({}) */
    OS_ID_QUERY,       /* ({}, ?qa) */
    OS_ID_QUERY2,      /* ({}, ?qa, ?qb) */
    OS_ID_BODY,        /* ({}, body) */
    OS_ID_BODY_KEY,    /* ({}, body, Idempotency-Key) */
    OS_ID_SUB_BODY,    /* ({}, {}, body) */
    OS_ID_SUB_EVENT,   /* ({}, {}, the row's contract event, body) */
} op_shape;

typedef struct http_op {
    op_shape shape;
    union {
        http_quote_fn http;
        int (*body)(svc_ctx *, const char *, size_t, svc_reply *, cpqd_errs *);
        int (*body_key)(svc_ctx *, const char *, size_t, const char *, svc_reply *,
                        cpqd_errs *);
        int (*id)(svc_ctx *, const char *, svc_reply *, cpqd_errs *);
        int (*id_query)(svc_ctx *, const char *, const char *, svc_reply *, cpqd_errs *);
        int (*id_query2)(svc_ctx *, const char *, const char *, const char *, svc_reply *,
                         cpqd_errs *);
        int (*id_body)(svc_ctx *, const char *, const char *, size_t, svc_reply *, cpqd_errs *);
        int (*id_body_key)(svc_ctx *, const char *, const char *, size_t, const char *,
                           svc_reply *, cpqd_errs *);
        int (*id_sub_body)(svc_ctx *, const char *, const char *, const char *, size_t,
                           svc_reply *, cpqd_errs *);
        int (*id_sub_event)(svc_ctx *, const char *, const char *, contract_event, const char *,
                            size_t, svc_reply *, cpqd_errs *);
    } f;
    const char *qa, *qb;  /* OS_ID_QUERY, OS_ID_QUERY2: the query parameters passed */
    contract_event event; /* OS_ID_SUB_EVENT */
} http_op;

static const char *idem_header(http_ctx *c);

const char *http_query_value(const http_query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->p[i].key, key))
            return q->p[i].val;
    return NULL;
}

/* Calls op with what its shape takes of the request. */
static int op_invoke(http_ctx *c, svc_ctx *qc, const http_op *op, const char *body, size_t len,
                     const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    const char *id = http_ctx_param(c, 0), *sub = http_ctx_param(c, 1);
    switch (op->shape) {
    case OS_HTTP:
        return op->f.http(c, qc, body, len, q, out, errs);
    case OS_BODY:
        return op->f.body(qc, body, len, out, errs);
    case OS_BODY_KEY:
        return op->f.body_key(qc, body, len, idem_header(c), out, errs);
    case OS_ID:
        return op->f.id(qc, id, out, errs);
    case OS_ID_QUERY:
        return op->f.id_query(qc, id, http_query_value(q, op->qa), out, errs);
    case OS_ID_QUERY2:
        return op->f.id_query2(qc, id, http_query_value(q, op->qa), http_query_value(q, op->qb),
                               out, errs);
    case OS_ID_BODY:
        return op->f.id_body(qc, id, body, len, out, errs);
    case OS_ID_BODY_KEY:
        return op->f.id_body_key(qc, id, body, len, idem_header(c), out, errs);
    case OS_ID_SUB_BODY:
        return op->f.id_sub_body(qc, id, sub, body, len, out, errs);
    case OS_ID_SUB_EVENT:
        return op->f.id_sub_event(qc, id, sub, op->event, body, len, out, errs);
    }
    return CPQD_EINTERNAL;
}

/* Calls fn with a svc_ctx of c's worker (its store, pricing engine and
 * the writer), the request's snapshot and caller, today: fn's code, with
 * *r and errs filled. When the worker's store or pricing engine cannot
 * be had, fn is not called: *down is set and errs holds the reason (a
 * 503). Replies nothing, so it may run on a write pool thread (c->w is
 * then that thread's worker). */
static int op_call(http_ctx *c, const http_query *q, const http_op *op, const char *body,
                   size_t len, svc_reply *r, cpqd_errs *errs, bool *down)
{
    char why[600];
    *down = true;
    if (!worker_store(c->w, why, sizeof(why))) {
        errs_add(errs, CPQD_EIO, NULL, 0, 0, "%s", why);
        return CPQD_EIO;
    }
    if (!c->w->price && !(c->w->price = price_worker_new())) {
        errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "out of memory");
        return CPQD_ENOMEM;
    }
    *down = false;
    svc_caller qk = {.key_id = c->caller.key_id,
                       .role = (auth_role)c->caller.auth_role,
                       .partner_id = c->caller.partner_id,
                       .segment = c->caller.segment,
                       .has_authority = c->caller.has_authority,
                       .authority = c->caller.authority,
                       .limits = c->caller.limits};
    quote_usage usage;
    quote_usage_init(&usage, c->w->store);
    svc_ctx qc = {.st = c->w->store,
                    .writer = c->w->writer,
                    .snap = c->snap,
                    .pw = c->w->price,
                    .usage = &usage.base,
                    .caller = &qk,
                    .today = date_today(),
                    .if_match = http_ctx_header(c, "If-Match")};
    int rc = op_invoke(c, &qc, op, body, len, q, r, errs);
    /* a committed POST may have written events: send them now */
    if (rc == 0 && evhttp_request_get_command(c->req) == EVHTTP_REQ_POST)
        http_outbox_wake(c->w->srv);
    return rc;
}

/* Replies what op_call answered (on the request's own thread). */
static void op_reply(http_ctx *c, int rc, svc_reply *r, cpqd_errs *errs, bool down,
                     const char *what)
{
    if (down) {
        const cpqd_err *e = errs_count(errs) ? errs_get(errs, 0) : NULL;
        reply_problem(c, rc == CPQD_ENOMEM ? HP_OUT_OF_MEMORY : HP_UNAVAILABLE, NULL, "%s",
                      e ? e->msg : err_code_name(rc));
        return;
    }
    if (rc == 0 && r->etag[0])
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", r->etag);
    if (rc == 0 && r->content_type)
        reply_doc(c, r->content_type, r->body);
    else if (rc == 0)
        reply_text(c, r->created ? 201 : 200, r->created ? "Created" : "OK", r->body);
    else
        reply_errs(c, rc, errs, what);
    if (rc != 0)
        free(r->body);
    r->body = NULL;
}

static void quote_run(http_ctx *c, const http_query *q, const http_op *op, const char *what)
{
    if (!need_snapshot(c))
        return;
    size_t len;
    const char *body = http_ctx_body(c, &len);
    cpqd_errs *errs = errs_new();
    svc_reply r = {.created = 0};
    bool down = false;
    int rc = errs ? op_call(c, q, op, body, len, &r, errs, &down) : CPQD_ENOMEM;
    op_reply(c, rc, &r, errs, down, what);
    errs_free(errs);
}

/* ---- write operations on the pool (http_int.h "the write pool") ----
 * The request moves off its worker's stack into a job: a pool thread
 * runs the operation (op_call, with the pool thread's worker), then wakes
 * the request's worker, whose loop sends the reply and ends the request
 * (op_done). Meanwhile the request and its connection are left alone:
 * evhttp reads nothing more from a connection whose request awaits its
 * reply, and the worker's drain waits for w->pending. */
typedef struct op_job {
    http_task task;     /* the pool's link */
    http_ctx c;         /* the request; c.w its own worker */
    http_query q;       /* owns q.buf */
    http_op op;
    const char *what;
    const char *body;   /* the request's body (its input buffer, made contiguous) */
    size_t len;
    struct event *done; /* on the worker's base: op_done */
    int rc;             /* what op_call answered */
    bool down;
    svc_reply r;
    cpqd_errs *errs;
} op_job;

static void request_end(http_ctx *c);

static void op_job_free(op_job *j)
{
    if (j->done)
        event_free(j->done);
    errs_free(j->errs);
    free(j->r.body);
    free(j);
}

/* On a pool thread. */
static void op_task(http_task *t, http_worker *pw)
{
    op_job *j = (op_job *)t;
    http_worker *home = j->c.w;
    j->c.w = pw;
    j->rc = op_call(&j->c, &j->q, &j->op, j->body, j->len, &j->r, j->errs, &j->down);
    j->c.w = home;
}

/* On the pool thread, once it is ready for the next task. */
static void op_post(http_task *t)
{
    op_job *j = (op_job *)t;
    event_active(j->done, EV_READ, 0); /* j belongs to the worker's thread from here */
}

/* On the request's worker, once op_task is done. */
static void op_done(evutil_socket_t fd, short what, void *arg)
{
    op_job *j = arg;
    (void)fd;
    (void)what;
    op_reply(&j->c, j->rc, &j->r, j->errs, j->down, j->what);
    j->c.w->pending--;
    request_end(&j->c);
    free(j->q.buf);
    op_job_free(j);
}

/* Hands the write operation op to the write pool: true when it is
 * queued (the job then owns the request and q->buf, and replies);
 * false when there is no pool (reads, no store, stopping) or no memory:
 * the caller runs it itself. */
static bool op_defer(http_ctx *c, http_query *q, const http_op *op, const char *what)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD || !c->snap || !c->w->writer)
        return false;
    op_job *j = calloc(1, sizeof(*j));
    if (!j)
        return false;
    j->done = event_new(c->w->base, -1, 0, op_done, j);
    j->errs = errs_new();
    if (!j->done || !j->errs) {
        op_job_free(j);
        return false;
    }
    j->c = *c;
    j->q = *q;
    j->op = *op;
    j->what = what;
    j->body = http_ctx_body(c, &j->len); /* on this thread: it may move the buffer's bytes */
    j->task.run = op_task;
    j->task.post = op_post;
    c->w->pending++;
    if (!http_pool_submit(c->w->srv, &j->task)) {
        c->w->pending--;
        op_job_free(j);
        return false;
    }
    c->deferred = true;
    q->buf = NULL;
    return true;
}

void http_quote_run(http_ctx *c, const http_query *q, http_quote_fn fn, const char *what)
{
    http_op op = {.shape = OS_HTTP, .f.http = fn};
    quote_run(c, q, &op, what);
}

const char *http_ctx_header(http_ctx *c, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

void http_ctx_add_header(http_ctx *c, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(c->req), name, value);
}

enum evhttp_cmd_type http_ctx_method(http_ctx *c)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
    return m == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : m;
}

const char *http_ctx_body(http_ctx *c, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    *len = evbuffer_get_length(in);
    return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

const cat_snapshot *http_ctx_snap(const http_ctx *c)
{
    return c->snap;
}

const http_caller *http_ctx_caller(const http_ctx *c)
{
    return &c->caller;
}

void http_reply_bytes(http_ctx *c, int status, const char *content_type, const void *data,
                      size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    int rc = buf ? evbuffer_add(buf, data, len) : -1;
    reply_send_as(c, status, status == 200 ? "OK" : "Created", buf, rc, content_type);
}

void http_reply_unauthorized(http_ctx *c, const char *msg)
{
    reply_problem(c, HP_UNAUTHORIZED, NULL, "%s", msg);
}

static const char *idem_header(http_ctx *c)
{
    return evhttp_find_header(evhttp_request_get_input_headers(c->req), "Idempotency-Key");
}

static int op_get(http_ctx *c, svc_ctx *qc, const char *body, size_t len, const http_query *q,
                  svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len, (void)q;
    int version = 0;
    if (c->nparams > 1) {
        char *end;
        long v = strtol(c->params[1], &end, 10);
        if (*end || v < 1 || v > 1000000) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "version must be a positive integer");
            return CPQD_EINVAL;
        }
        version = (int)v;
    }
    return quote_get(qc, c->params[0], version, out, errs);
}

static int op_list(http_ctx *c, svc_ctx *qc, const char *body, size_t len, const http_query *q,
                   svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    svc_page pg = http_page_of(q, SVC_PAGE_DEFAULT);
    store_quote_filter f = {.after = pg.after, .limit = pg.limit};
    for (size_t i = 0; i < q->n; i++) {
        const http_param *p = &q->p[i];
        if (!strcmp(p->key, "customer"))
            f.customer = p->val;
        else if (!strcmp(p->key, "status"))
            f.status = p->val;
        else if (!strcmp(p->key, "partner"))
            f.partner = p->val;
        else if (!strcmp(p->key, "q"))
            f.q = p->val;
    }
    return quote_list(qc, &f, out, errs);
}

static int op_action(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                     const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(c->req));
    quote_action a = QUOTE_SUBMIT; /* the route table routes only actions here */
    if (quote_action_parse(strrchr(path, '/') + 1, &a) != 0)
        return CPQD_EINTERNAL;
    return quote_move(qc, c->params[0], a, body, len, out, errs);
}

static int op_document(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                       const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    const char *lang =
        quote_doc_lang_pick(http_query_value(q, "lang"), http_ctx_header(c, "Accept-Language"));
    int rc = quote_document(qc, c->params[0], lang, out, errs);
    if (rc == 0)
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Language", lang);
    return rc;
}

static const char *const document_lang[] = {"zh", "en", NULL};

static void h_quote_document(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "lang", document_lang, NULL))
        http_quote_run(c, q, op_document, "rendering the quote");
}

static int op_reprice(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                      const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    const char *on = http_query_value(q, "on");
    return quote_reprice(qc, c->params[0], on ? on : "original", out, errs);
}

static const char *const reprice_on[] = {"original", "current", NULL};

static void h_quote_reprice(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "on", reprice_on, NULL))
        http_quote_run(c, q, op_reprice, "re-pricing the quote");
}

static int op_history(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                      const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    const char *sku = NULL, *customer = NULL;
    size_t last = 10;
    for (size_t i = 0; i < q->n; i++) {
        if (!strcmp(q->p[i].key, "sku"))
            sku = q->p[i].val;
        else if (!strcmp(q->p[i].key, "customer"))
            customer = q->p[i].val;
        else if (!strcmp(q->p[i].key, "last") && !parse_size(q->p[i].val, 1, 100, &last)) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "last: an integer from 1 to 100");
            return CPQD_EINVAL;
        }
    }
    return quote_price_history(qc, sku, customer, last, out, errs);
}


static void h_quote_list(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", quote_status_names(), NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_list, "listing quotes");
}

/* POST /v1/configure (docs/configurator.md). */
static void h_configure(http_ctx *c, const http_query *q)
{
    (void)q;
    if (!need_snapshot(c))
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    cpqd_errs *errs = errs_new();
    char *out = NULL;
    int rc = errs ? http_configure(c->snap, &c->w->solver, body, len, &out, errs) : CPQD_ENOMEM;
    if (rc == 0)
        reply_text(c, 200, "OK", out);
    else
        reply_errs(c, rc, errs, "configuring");
    errs_free(errs);
}

/* GET /v1/partners: the partners of every catalog. */
static void h_partners(http_ctx *c, const http_query *q)
{
    (void)q;
    if (!need_snapshot(c))
        return;
    json_t *items = json_array();
    for (size_t i = 0; items && i < cat_snapshot_catalog_count(c->snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(c->snap, i);
        for (size_t k = 0; k < cc->npartners; k++) {
            const cat_partner *p = &cc->partners[k];
            char auth[MONEY_FMT_MAX];
            if (money_format(p->discount_authority, auth, sizeof(auth)) < 0)
                strcpy(auth, "0");
            json_array_append_new(
                items, json_pack("{s:s,s:s,s:s?,s:s,s:s?,s:b,s:s}", "id", p->id, "name", p->name,
                                 "segment", p->segment, "discount_authority", auth, "payment_term",
                                 p->payment_term, "can_accept", p->can_accept, "catalog", cc->id));
        }
    }
    reply_json(c, 200, "OK", items ? json_pack("{s:o}", "items", items) : NULL);
}

/* ---- routing ---- */

static const char *const list_params[] = {"category", "mode", "q", "catalog", "limit", "after", NULL};
static const char *const reprice_params[] = {"on", NULL};
static const char *const document_params[] = {"lang", NULL};
static const char *const history_params[] = {"sku", "customer", "last", NULL};
static const char *const quote_params[] = {"customer", "status", "partner", "q",
                                           "limit",    "after",  NULL};
static const char *const events_params[] = {"after", "limit", "type", NULL};
static const char *const admin_events_params[] = {"status", "after", "limit", "type", NULL};

/* Roles a route admits (bits of auth_role); PUBLIC needs no key. */
#define R(role) (1u << (role))
#define R_PUBLIC 0u
#define R_ALL (R(AUTH_ROLE_PARTNER) | R(AUTH_ROLE_REP) | R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN))
#define R_STAFF (R(AUTH_ROLE_REP) | R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN))
#define R_SELLERS (R(AUTH_ROLE_PARTNER) | R_STAFF)
#define R_FINANCE (R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN))

typedef struct http_route {
    const char *path; /* "/v1/quotes/{}/versions/{}": {} is one non-empty segment */
    enum evhttp_cmd_type method;
    unsigned roles;   /* who may call it (docs/auth.md "Routes by role") */
    const char *const *params; /* allowed query parameters, NULL: none */
    http_handler fn;  /* a route that replies itself, or NULL */
    http_op op;       /* else an operation of the application layer (svc), */
    const char *doing; /* run by quote_run; "what failed" in its errors */
    /* where what a 201 made or changed lives (docs/api.md "Created"):
     * loc followed by the reply's "id" (loc_param < 0) or by path
     * segment loc_param; NULL: the route answers no 201 */
    const char *loc;
    int loc_param;
} http_route;

/* A row's handler: a route that replies itself (FN), or an operation of
 * the application layer run with its "doing" (OP); with the Location of
 * its 201 (LOC_ID or LOC_AT after it). */
#define FN(h) .fn = h
#define OP(o, what_) .op = {.shape = OS_HTTP, .f.http = o}, .doing = what_
#define OP_AS(shape_, member, o, what_) .op = {.shape = shape_, .f.member = o}, .doing = what_
#define OP_BODY(o, what_) OP_AS(OS_BODY, body, o, what_)
#define OP_BODY_KEY(o, what_) OP_AS(OS_BODY_KEY, body_key, o, what_)
#define OP_ID(o, what_) OP_AS(OS_ID, id, o, what_)
#define OP_ID_BODY(o, what_) OP_AS(OS_ID_BODY, id_body, o, what_)
#define OP_ID_BODY_KEY(o, what_) OP_AS(OS_ID_BODY_KEY, id_body_key, o, what_)
#define OP_ID_SUB_BODY(o, what_) OP_AS(OS_ID_SUB_BODY, id_sub_body, o, what_)
#define OP_ID_QUERY(o, qa_, what_)                                                                 \
    .op = {.shape = OS_ID_QUERY, .f.id_query = o, .qa = qa_}, .doing = what_
#define OP_ID_QUERY2(o, qa_, qb_, what_)                                                           \
    .op = {.shape = OS_ID_QUERY2, .f.id_query2 = o, .qa = qa_, .qb = qb_}, .doing = what_
#define OP_ID_SUB_EVENT(o, ev, what_)                                                              \
    .op = {.shape = OS_ID_SUB_EVENT, .f.id_sub_event = o, .event = ev}, .doing = what_
#define LOC_ID(prefix) .loc = prefix, .loc_param = -1
#define LOC_AT(prefix, i) .loc = prefix, .loc_param = i

/* The top-level "id" of a reply (NULL: none), malloc'ed: read from its
 * start when it leads, as every reply that creates one writes it, else
 * by parsing. */
static char *reply_id(const char *body)
{
    static const char lead[] = "{\"id\":\"";
    if (!body)
        return NULL;
    if (!strncmp(body, lead, sizeof(lead) - 1)) {
        const char *id = body + sizeof(lead) - 1;
        size_t len = strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-");
        if (id[len] == '"')
            return strndup(id, len);
    }
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    const char *id = json_string_value(json_object_get(o, "id"));
    char *out = id ? strdup(id) : NULL;
    json_decref(o);
    return out;
}

/* Where the resource a 201 made or changed lives, by its route's rule
 * (http_route.loc); NULL when the route has none. */
static char *location_of(http_ctx *c, const char *body)
{
    const http_route *r = c->route;
    if (!r || !r->loc)
        return NULL;
    char *id = r->loc_param < 0 ? reply_id(body) : NULL;
    const char *seg = r->loc_param < 0 ? id : http_ctx_param(c, (size_t)r->loc_param);
    char *esc = seg ? evhttp_encode_uri(seg) : NULL;
    char *loc = esc ? loc_join(r->loc, strlen(r->loc), esc, strlen(esc)) : NULL;
    free(esc);
    free(id);
    return loc;
}

/* The one table of routes and who may call them. Partner scoping of
 * what a route returns is in the views (catalog) and in quote.c. */
static const http_route http_routes[] = {
    {"/healthz", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(h_healthz)},
    {"/readyz", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_readyz)},
    {"/metrics", EVHTTP_REQ_GET, R(AUTH_ROLE_ADMIN), NULL, FN(http_metrics_serve)},
    {"/openapi.yaml", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_spec_serve)},
    {"/v1/catalog", EVHTTP_REQ_GET, R_ALL, NULL, FN(h_catalog)},
    {"/v1/products", EVHTTP_REQ_GET, R_ALL, list_params, FN(h_products)},
    {"/v1/products/{}", EVHTTP_REQ_GET, R_ALL, NULL, FN(h_product)},
    {"/v1/partners", EVHTTP_REQ_GET, R_STAFF, NULL, FN(h_partners)},
    {"/v1/admin/reload", EVHTTP_REQ_POST, R(AUTH_ROLE_ADMIN), NULL, FN(h_reload)},
    {"/v1/price", EVHTTP_REQ_POST, R_ALL, NULL, FN(h_price)},
    {"/v1/configure", EVHTTP_REQ_POST, R_ALL, NULL, FN(h_configure)},
    {"/v1/price-history", EVHTTP_REQ_GET, R_ALL, history_params,
     OP(op_history, "reading the price history")},
    {"/v1/quotes", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_BODY_KEY(quote_create, "creating the quote"), LOC_ID("/v1/quotes/")},
    {"/v1/quotes", EVHTTP_REQ_GET, R_ALL, quote_params, FN(h_quote_list)},
    {"/v1/quotes/{}", EVHTTP_REQ_GET, R_ALL, NULL, OP(op_get, "reading the quote")},
    {"/v1/quotes/{}/versions/{}", EVHTTP_REQ_GET, R_ALL, NULL, OP(op_get, "reading the quote")},
    {"/v1/quotes/{}/document", EVHTTP_REQ_GET, R_ALL, document_params, FN(h_quote_document)},
    {"/v1/quotes/{}/reprice", EVHTTP_REQ_POST, R_ALL, reprice_params, FN(h_quote_reprice)},
    {"/v1/quotes/{}/revise", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_BODY_KEY(quote_revise, "revising the quote"), LOC_ID("/v1/quotes/")},
    {"/v1/quotes/{}/submit", EVHTTP_REQ_POST, R_SELLERS, NULL, OP(op_action, "moving the quote")},
    {"/v1/quotes/{}/approve", EVHTTP_REQ_POST, R_STAFF, NULL, OP(op_action, "moving the quote")},
    {"/v1/quotes/{}/reject", EVHTTP_REQ_POST, R_STAFF, NULL, OP(op_action, "moving the quote")},
    {"/v1/quotes/{}/send", EVHTTP_REQ_POST, R_SELLERS, NULL, OP(op_action, "moving the quote")},
    {"/v1/quotes/{}/accept", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_BODY_KEY(contract_accept, "accepting the quote"), LOC_ID("/v1/contracts/")},
    {"/v1/contracts", EVHTTP_REQ_GET, R_ALL, http_contracts_params, FN(http_contracts_list)},
    {"/v1/contracts/{}", EVHTTP_REQ_GET, R_ALL, NULL,
     OP_ID(contract_get, "reading the contract")},
    {"/v1/contracts/{}/payments", EVHTTP_REQ_GET, R_ALL, http_page_params,
     FN(http_contract_payments)},
    {"/v1/contracts/{}/receivables", EVHTTP_REQ_GET, R_ALL, http_as_of_params,
     OP_ID_QUERY(contract_receivables, "as_of", "reading the receivables")},
    {"/v1/contracts/{}/lines/{}/delivered", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_EVENT(contract_line_event, CONTRACT_EVENT_DELIVERED, "recording the delivery"),
     LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/lines/{}/accepted", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_EVENT(contract_line_event, CONTRACT_EVENT_ACCEPTED, "recording the acceptance"),
     LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/milestones/{}/accept", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_BODY(contract_milestone_accept, "recording the milestone acceptance"),
     LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/usage", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_BODY(contract_usage_record, "recording usage"), LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/periods/{}/close", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_BODY(contract_period_close, "closing the period"), LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/lines/{}/renew", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_BODY(contract_line_renew, "renewing the line"), LOC_AT("/v1/contracts/", 0)},
    {"/v1/contracts/{}/lines/{}/seats", EVHTTP_REQ_POST, R_SELLERS | R(AUTH_ROLE_CRM), NULL,
     OP_ID_SUB_BODY(contract_seat_change, "changing the seats"), LOC_AT("/v1/contracts/", 0)},
    {"/v1/receivables", EVHTTP_REQ_GET, R_ALL, http_receivables_params, FN(http_receivables_due)},
    {"/v1/receivables/sweep", EVHTTP_REQ_POST, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN), NULL,
     OP_BODY(contract_sweep, "sweeping receivables")},
    {"/v1/receivables/sweep/failures", EVHTTP_REQ_GET, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN),
     http_sweep_failures_params, FN(http_sweep_failures)},
    {"/v1/receivables/{}", EVHTTP_REQ_GET, R_ALL, NULL,
     OP_ID(contract_receivable_get, "reading the receivable")},
    {"/v1/receivables/{}/payments", EVHTTP_REQ_POST, R_STAFF | R(AUTH_ROLE_CRM), NULL,
     OP_ID_BODY(contract_pay, "recording the payment"), LOC_AT("/v1/receivables/", 0)},
    /* the finance loop (docs/finance.md; http_finance.c) */
    {"/v1/contracts/{}/invoices", EVHTTP_REQ_POST, R_STAFF | R(AUTH_ROLE_CRM), NULL,
     OP_ID_BODY_KEY(fin_invoice_issue, "issuing the invoice"), LOC_ID("/v1/invoices/")},
    {"/v1/contracts/{}/invoices", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM), http_fin_page_params,
     OP_ID_QUERY2(fin_invoices_of, "after", "limit", "listing the invoices")},
    {"/v1/contracts/{}/revenue", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM),
     http_fin_revenue_params, OP_ID_QUERY(fin_revenue, "as_of", "reading the revenue")},
    {"/v1/invoices", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM), http_fin_invoice_list_params,
     FN(http_fin_invoice_list)},
    {"/v1/invoices/{}", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM), NULL,
     OP_ID(fin_invoice_get, "reading the invoice")},
    {"/v1/invoices/{}/document", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM), http_fin_doc_params,
     FN(http_fin_document)},
    {"/v1/invoices/{}/cancel", EVHTTP_REQ_POST, R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN), NULL,
     OP_ID_BODY_KEY(fin_invoice_cancel, "cancelling the invoice"), LOC_ID("/v1/invoices/")},
    {"/v1/bank/statements", EVHTTP_REQ_POST, R_FINANCE, http_fin_import_params,
     FN(http_fin_import), LOC_ID("/v1/bank/statements/")},
    {"/v1/bank/statements/{}", EVHTTP_REQ_GET, R_FINANCE, NULL,
     OP_ID(fin_statement_get, "reading the statement")},
    {"/v1/bank/credits", EVHTTP_REQ_GET, R_FINANCE, http_fin_credits_params, FN(http_fin_credits)},
    {"/v1/bank/credits/{}", EVHTTP_REQ_GET, R_FINANCE, NULL,
     OP_ID(fin_credit_get, "reading the bank credit")},
    {"/v1/bank/credits/{}/match", EVHTTP_REQ_POST, R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN), NULL,
     OP_ID_BODY_KEY(fin_credit_match, "matching the credit"), LOC_ID("/v1/matches/")},
    {"/v1/matches/{}", EVHTTP_REQ_GET, R_FINANCE, NULL,
     OP_ID(fin_match_get, "reading the match")},
    {"/v1/matches/{}/reverse", EVHTTP_REQ_POST, R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN), NULL,
     OP_ID_BODY(fin_match_reverse, "reversing the match")},
    {"/v1/receivables/{}/write-off", EVHTTP_REQ_POST, R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN),
     NULL, OP_ID_BODY_KEY(fin_write_off, "writing off"), LOC_ID("/v1/write-offs/")},
    {"/v1/write-offs/{}", EVHTTP_REQ_GET, R_FINANCE, NULL,
     OP_ID(fin_write_off_get, "reading the write-off")},
    {"/v1/vouchers", EVHTTP_REQ_GET, R_FINANCE, http_fin_vouchers_params, FN(http_fin_vouchers)},
    {"/v1/customers/{}", EVHTTP_REQ_PUT, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN), NULL,
     OP_ID_BODY(fin_customer_put, "storing the customer")},
    {"/v1/customers/{}", EVHTTP_REQ_GET, R_STAFF | R(AUTH_ROLE_CRM), NULL,
     OP_ID(fin_customer_get, "reading the customer")},
    {"/v1/customers/{}/credit", EVHTTP_REQ_PUT, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN), NULL,
     OP_ID_BODY(fin_customer_credit_put, "storing the credit limit")},
    {"/v1/quotes/{}/approve-credit", EVHTTP_REQ_POST, R(AUTH_ROLE_MANAGER) | R(AUTH_ROLE_ADMIN),
     NULL, OP_ID_BODY(fin_credit_approve, "approving the credit")},
    {"/portal", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_portal_asset)},
    {"/portal/", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_portal_asset)},
    {"/portal/{}", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_portal_asset)},
    {"/v1/session", EVHTTP_REQ_POST, R_PUBLIC, NULL, FN(http_session_new)},
    {"/v1/session", EVHTTP_REQ_GET, R_PUBLIC, NULL, FN(http_session_get)},
    {"/v1/session", EVHTTP_REQ_DELETE, R_PUBLIC, NULL, FN(http_session_end)},
    {"/v1/quotes/{}/contract", EVHTTP_REQ_GET, R_ALL, NULL,
     OP(http_op_quote_contract, "reading the quote's contract")},
    {"/v1/quotes/{}/availability", EVHTTP_REQ_GET, R_ALL, NULL,
     OP(http_op_quote_availability, "reading the quote's availability")},
    {"/v1/stock", EVHTTP_REQ_PUT, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN), NULL, FN(http_stock_put)},
    {"/v1/stock", EVHTTP_REQ_GET, R_ALL, http_stock_params, FN(http_stock_get)},
    {"/v1/events", EVHTTP_REQ_GET, R(AUTH_ROLE_CRM) | R(AUTH_ROLE_ADMIN), events_params,
     FN(http_events_feed)},
    {"/v1/admin/events", EVHTTP_REQ_GET, R(AUTH_ROLE_ADMIN), admin_events_params,
     FN(http_events_admin)},
    {"/v1/admin/events/{}/replay", EVHTTP_REQ_POST, R(AUTH_ROLE_ADMIN), NULL,
     FN(http_events_replay)},
};

static const char *method_of(struct evhttp_request *req);

/* Does path match r's pattern? Segment by segment; {} takes one
 * non-empty segment. */
static bool route_match(const http_route *r, const char *path)
{
    const char *p = r->path, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            size_t seg = strcspn(s, "/");
            if (seg == 0)
                return false;
            s += seg;
            p += 2;
            continue;
        }
        if (*p != *s)
            return false;
        p++, s++;
    }
    return !*p && !*s;
}

/* The {} segments of path under r, decoded into c->params. Returns 0,
 * -1 (malformed percent-encoding) or -2 (no memory). */
static int route_params(http_ctx *c, const http_route *r, const char *path)
{
    const char *p = r->path, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            size_t seg = strcspn(s, "/");
            if (c->nparams == HTTP_MAX_PATH_PARAMS)
                return -1;
            char *v = strndup(s, seg);
            if (!v)
                return -2;
            c->params[c->nparams++] = v;
            long n = pct_decode(v, seg, false);
            if (n < 0)
                return (int)n;
            if (c->nparams == 1)
                c->param_len = (size_t)n;
            s += seg;
            p += 2;
            continue;
        }
        p++, s++;
    }
    c->param = c->nparams ? c->params[0] : NULL;
    return 0;
}

/* The partner's segment, from any catalog that declares it. */
static const char *partner_segment(const cat_snapshot *s, const char *partner)
{
    for (size_t i = 0; s && partner && i < cat_snapshot_catalog_count(s); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(s, i);
        for (size_t k = 0; k < cc->npartners; k++)
            if (!strcmp(cc->partners[k].id, partner))
                return cc->partners[k].segment;
    }
    return NULL;
}

const auth_keys *http_ctx_keys(http_ctx *c)
{
    if (!c->keys && c->w->cfg->keyring)
        c->keys = auth_keyring_acquire(c->w->cfg->keyring);
    return c->keys;
}

/* Authenticates the request for route r: fills c->caller, or replies 401
 * (no or unknown key) / 403 (the key's role may not call r) and returns
 * false. Without --keys every caller is an admin (development only). */
static bool authenticate(http_ctx *c, const http_route *r)
{
    if (r->roles == R_PUBLIC || (r->fn == http_metrics_serve && c->w->cfg->metrics_public))
        return true;
    if (!c->w->cfg->keyring) {
        c->caller = (http_caller){.role = HTTP_ROLE_INTERNAL, .auth_role = AUTH_ROLE_ADMIN,
                                  .key_id = "dev", .limits = auth_role_limits(AUTH_ROLE_ADMIN)};
        return true;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(c->req);
    const char *a = evhttp_find_header(h, "Authorization");
    const auth_key *k = NULL;
    /* the key file in force now (re-read if it changed): a revoked key
     * is refused from the next request on */
    http_ctx_keys(c);
    if (a && strncasecmp(a, "Bearer ", 7) == 0)
        k = auth_keys_lookup(c->keys, a + 7, strlen(a + 7));
    if (k && k->revoked) {
        c->caller.key_id = k->id; /* for the access log */
        c->caller.auth_role = (int)k->role;
        c->caller.partner_id = k->partner;
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "WWW-Authenticate",
                          "Bearer realm=\"cpqd\", error=\"invalid_token\"");
        reply_problem(c, HP_UNAUTHORIZED, NULL, "API key %s was revoked on %s", k->id,
                      k->revoked_on);
        return false;
    }
    /* no key: the portal's session cookie stands for one (docs/portal.md),
     * the key it was made with as the key file in force has it now */
    int session = a ? 0 : http_portal_cookie(c, &k);
    if (session < 0) {
        reply_problem(c, session == -1 ? HP_UNAUTHORIZED : session == -2 ? HP_FORBIDDEN : HP_IO,
                      NULL, "%s",
                      session == -1   ? "the session expired or was ended: sign in again"
                      : session == -2 ? "a change made with a session cookie needs the session's "
                                        "X-CSRF-Token header, from the portal's own origin"
                                      : "the session cannot be read: the store is unavailable");
        return false;
    }
    if (!k) {
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "WWW-Authenticate",
                          "Bearer realm=\"cpqd\"");
        reply_problem(c, HP_UNAUTHORIZED, NULL,
                      a ? "unknown API key" : "an API key is required: Authorization: Bearer <key>");
        return false;
    }
    c->caller = (http_caller){
        .role = k->role == AUTH_ROLE_PARTNER ? HTTP_ROLE_PARTNER : HTTP_ROLE_INTERNAL,
        .partner_id = k->partner,
        .segment = partner_segment(c->snap, k->partner),
        .auth_role = (int)k->role,
        .key_id = k->id,
        .has_authority = k->has_authority,
        .authority = k->authority,
        .limits = k->limits,
    };
    if (!(r->roles & R(k->role))) {
        reply_problem(c, HP_FORBIDDEN, NULL, "the %s role may not call %s %s",
                      auth_role_name(k->role), method_of(c->req), r->path);
        return false;
    }
    return true;
}

static const char *method_names(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET, HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "";
    }
}

static const char *cmd_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

static const char *method_of(struct evhttp_request *req)
{
    return cmd_name(evhttp_request_get_command(req));
}

/* One of the caller's max_concurrent slots (docs/auth.md "Limits"),
 * held until the reply is written out; or 429 with Retry-After. */
static bool concurrency_take(http_ctx *c)
{
    if (!c->keys || !c->caller.key_id)
        return true; /* public routes and development mode: no key, no cap */
    unsigned cap = c->caller.limits.max_concurrent;
    int rc = limit_conc_take(c->caller.key_id, cap);
    if (rc == 0) {
        c->slot_local = !http_conn_hold_slot(c->req, c->caller.key_id);
        return true;
    }
    if (rc == CPQD_ERATE) {
        metrics_http_refused(METRICS_REFUSED_CONCURRENCY);
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "1");
        reply_problem(c, HP_RATE_LIMITED,
                      json_pack("[{s:s,s:i}]", "limit", "max_concurrent", "max", (int)cap),
                      "key %s has %u requests being answered already (max_concurrent); retry "
                      "when one is done",
                      c->caller.key_id, cap);
    } else {
        reply_problem(c, problem_of_code(rc), NULL, "out of memory");
    }
    return false;
}

/* Runs route r: decodes the {sku} segment and the query, then the handler. */
static void route_run(http_ctx *c, const http_route *r, const char *path)
{
    char why[256] = "";
    http_query q;
    int pr = route_params(c, r, path);
    if (pr < 0) {
        reply_problem(c, pr == -2 ? HP_OUT_OF_MEMORY : HP_BAD_REQUEST, NULL,
                      "malformed percent-encoding in the path");
        return;
    }
    c->route = r;
    if (!authenticate(c, r) || !concurrency_take(c))
        return;
    int rc = http_query_parse(c->query, r->params, &q, why, sizeof(why));
    if (rc == CPQD_EINVAL)
        reply_problem(c, HP_INVALID_PARAMETER, q.bad ? param_details(printable(q.bad)) : NULL, "%s",
                      why);
    else if (rc)
        reply_problem(c, problem_of_code(rc), NULL, "cannot parse the query string");
    else if (r->fn)
        r->fn(c, &q);
    else if (!op_defer(c, &q, &r->op, r->doing))
        quote_run(c, &q, &r->op, r->doing);
    free(q.buf);
}

static void dispatch(http_ctx *c)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
    char allow[64] = "";
    if (!path || !*path)
        path = "/";
    c->query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (m == EVHTTP_REQ_HEAD) /* evhttp sends HEAD replies without their body */
        m = EVHTTP_REQ_GET;
    for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
        const http_route *r = &http_routes[i];
        if (!route_match(r, path))
            continue;
        if (r->method == m) {
            route_run(c, r, path);
            return;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
                 method_names(r->method));
    }
    if (!*allow) {
        reply_problem(c, HP_NOT_FOUND, NULL, "no route for '%s'", printable(path));
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Allow", allow);
    reply_problem(c, HP_METHOD_NOT_ALLOWED, json_pack("[{s:s}]", "allow", allow),
                  "%s is not allowed on %s (allowed: %s)", method_of(c->req), printable(path),
                  allow);
}

/* ---- ambiguous requests ----
 * evhttp keeps every copy of a repeated header and evhttp_find_header
 * answers the first, so a second Content-Length or Authorization would be
 * ignored here while a proxy in front may have honoured it: which body,
 * which caller? RFC 9112 §6.3 makes such framing an error, and a header
 * the service reads as one value is as ambiguous. Such a request gets 400
 * and its connection closes, since where the next request starts is as
 * uncertain. Headers defined as lists (Accept, Connection, ...) may
 * repeat. (Debian's libevent 2.1.12-8+deb12u1 already refuses a repeated
 * Transfer-Encoding, or one beside Content-Length, before cpqd sees the
 * request; the checks hold for a libevent that does not.) */

static const char *const single_headers[] = {
    "Host",          "Content-Length",  "Transfer-Encoding", "Content-Type",
    "Authorization", "Idempotency-Key", "If-Match",          NULL,
};

static size_t header_count(const struct evkeyvalq *h, const char *name)
{
    size_t n = 0;
    for (const struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next)
        n += evutil_ascii_strcasecmp(kv->key, name) == 0;
    return n;
}

static void reply_ambiguous(http_ctx *c, const char *header, const char *msg)
{
    c->close = true;
    http_conn_linger(c->req);
    reply_problem(c, HP_BAD_REQUEST, json_pack("[{s:s}]", "header", header), "%s", msg);
}

/* Whether c's request is unambiguous; if not, replies 400. */
static bool headers_unambiguous(http_ctx *c)
{
    const struct evkeyvalq *h = evhttp_request_get_input_headers(c->req);
    char msg[160];
    for (const char *const *name = single_headers; *name; name++) {
        if (header_count(h, *name) > 1) {
            snprintf(msg, sizeof(msg),
                     "the %s header appears more than once: a request may carry it once", *name);
            reply_ambiguous(c, *name, msg);
            return false;
        }
    }
    if (header_count(h, "Transfer-Encoding") && header_count(h, "Content-Length")) {
        reply_ambiguous(c, "Transfer-Encoding",
                        "a request may not carry both Transfer-Encoding and Content-Length");
        return false;
    }
    return true;
}

/* The end of a request, after its reply: the access log, and what it
 * held (snapshot, path segments, concurrency slot, key set). */
static void request_end(http_ctx *c)
{
    cat_snapshot_release(c->snap);
    for (size_t i = 0; i < c->nparams; i++)
        free(c->params[i]);
    const http_route *r = c->route;
    bool known = c->caller.key_id != NULL;
    http_access a = {
        .worker = c->w->id,
        .method = c->method,
        .uri = c->uri,
        .route = r ? r->path : NULL,
        .route_no = r ? (unsigned)(r - http_routes) + 1 : 0,
        .route_method = r ? cmd_name(r->method) : NULL,
        .status = c->status,
        .bytes = c->bytes,
        .ns = metrics_now_ns() - c->t0,
        .request_id = c->rid,
        /* the key's public id, never the key (docs/auth.md) */
        .key_id = c->caller.key_id,
        .role = known ? auth_role_name((auth_role)c->caller.auth_role) : NULL,
        .partner = known ? c->caller.partner_id : NULL,
    };
    http_access_done(&a);
    if (c->slot_local)
        limit_conc_release(c->caller.key_id);
    auth_keys_release(c->keys);
    free(c->uri);
}

void http_route_request(struct evhttp_request *req, void *arg)
{
    http_worker *w = arg;
    http_ctx c = {.req = req, .w = w, .caller = {.role = HTTP_ROLE_INTERNAL}};
    c.t0 = metrics_now_ns();
    /* taken now: once replied to, req may be freed at any time */
    c.method = method_of(req);
    c.uri = log_enabled(CPQD_LOG_INFO) ? strdup(evhttp_request_get_uri(req)) : NULL;
    http_conn_request_done(req);
    http_request_id(req, c.rid);
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Request-Id", c.rid);
    /* The request keeps this snapshot even if a reload publishes another
     * meanwhile. The reply is fully serialised once it is sent, so the
     * reference ends then rather than when the last byte is written: a
     * slow client must not pin a replaced snapshot in memory. */
    c.snap = cat_current_acquire();
    if (headers_unambiguous(&c))
        dispatch(&c);
    if (!c.deferred)
        request_end(&c);
}

/* ---- libevent's own error replies ----
 * libevent 2.1 answers protocol-level errors itself, before any callback
 * of ours runs: a malformed request line or URI (400), a request head or
 * body over the limits (413), a method it does not parse (501), an Expect
 * other than 100-continue (417). It does so through evhttp_send_error,
 * which writes an HTML page and has no hook to change it (libevent 2.2
 * adds evhttp_set_errorcb). Every cpqd error must be JSON, so the
 * executable defines evhttp_send_error itself: libevent's shared library
 * calls it through its PLT, so the dynamic linker binds those calls to
 * this definition. tests/test_e2e.c checks these replies byte for byte,
 * so a libevent built with -Bsymbolic or linked statically (where this
 * would not link) cannot go unnoticed. cpqd's own code never calls it. */

static void limits_message(http_problem p, char *msg, size_t cap)
{
    const http_worker *w = http_worker_self();
    if (p == HP_PAYLOAD_TOO_LARGE && w)
        snprintf(msg, cap,
                 "request too large: bodies are limited to %zu bytes, request heads "
                 "to %zu bytes",
                 w->cfg->max_body, w->cfg->max_headers);
    else if (p == HP_PAYLOAD_TOO_LARGE)
        snprintf(msg, cap, "request too large");
    else if (p == HP_NOT_IMPLEMENTED)
        snprintf(msg, cap, "method not implemented");
    else if (p == HP_EXPECTATION_FAILED)
        snprintf(msg, cap, "only 'Expect: 100-continue' is supported");
    else if (w)
        snprintf(msg, cap, "malformed HTTP request (or a request head over %zu bytes)",
                 w->cfg->max_headers);
    else
        snprintf(msg, cap, "malformed HTTP request");
}

void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    http_problem p = problem_of_status(error);
    char msg[256];
    limits_message(p, msg, sizeof(msg));
    json_t *body = error_body(p, msg, NULL);
    struct evbuffer *buf = evbuffer_new();
    if (!body || !buf || json_to_evbuffer(body, buf) != 0) {
        if (buf)
            evbuffer_free(buf);
        evhttp_connection_free(evhttp_request_get_connection(req));
        return;
    }
    /* as libevent's own version: a request line it could not parse left
     * no version; answer in HTTP/1.1 */
    if (req->major == 0 && req->minor == 0) {
        req->major = 1;
        req->minor = 1;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_clear_headers(h);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Connection", "close"); /* the stream may be out of sync */
    /* the client may still be sending (a body over the limit is refused
     * as soon as the head is read): drop it after the reply */
    http_conn_request_done(req);
    http_conn_linger(req);
    evhttp_send_reply(req, error, reason ? reason : http_problems[p].reason, buf);
    evbuffer_free(buf);
}
