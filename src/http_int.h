/*
 * http internals shared by http.c (server: socket, workers, signals,
 * drain, reload), http_conn.c (connections: request deadline, lingering
 * close, replies in flight, accept back-off), http_route.c (routing,
 * limits, errors, query strings),
 * http_view.c (JSON views of the catalog), http_events.c (the outbox) and
 * http_contracts.c (contracts and receivables).
 *
 * libevent and jansson types appear here and nowhere outside http.
 */
#ifndef CPQD_HTTP_INT_H
#define CPQD_HTTP_INT_H

#include "cpqd/auth.h"
#include "cpqd/cat.h"
#include "cpqd/err.h"
#include "cpqd/http.h"
#include "cpqd/svc.h"

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- server and workers (http.c) ---- */

typedef struct http_server http_server; /* opaque outside http.c */

/* One worker thread: its own event base and evhttp, accepting on a dup of
 * the shared listening socket. Per-worker: every field is touched only by
 * its thread, except stop_ev (activated by the main thread; libevent locks
 * it) and the fields http.c sets before the thread starts. */
typedef struct http_worker {
    http_server *srv;
    const http_config *cfg;
    unsigned id; /* 0-based, for logs */
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL once it stopped accepting */
    struct event *stop_ev;             /* main thread -> worker: start draining */
    struct event *drain_ev;            /* periodic check while draining */
    pthread_t thread;
    bool started;    /* thread was created */
    size_t inflight; /* replies queued and not yet flushed */
    size_t pending;  /* requests whose operation runs on the write pool */
    bool draining;
    struct timespec drain_deadline; /* CLOCK_MONOTONIC */
    struct price_worker *price;     /* this thread's pricing engine, made on first use */
    struct store *store;            /* this thread's database connection, opened on first use */
    struct solver_ctx *solver;      /* this thread's configurator state, made on first use */
    struct svc_writer *writer;      /* the server's group commit (NULL without a store) */
    /* connections (http_conn.c) */
    struct http_conn **conns;      /* by socket descriptor, from a connection's first byte */
    size_t nconns;                 /* entries in conns */
    struct http_linger *lingers;   /* closed sockets still read until the client stops */
    struct event *accept_ev;       /* resumes accepting after a failed accept() */
    struct event *accept_log_ev;   /* writes a held-back line about accept() failures */
    unsigned long accept_fails;    /* failed accept() calls since the last success */
    unsigned long accept_unlogged; /* failures not in the log yet */
    int accept_err;                /* errno of the last failure */
    bool accept_recovered;         /* failures ended and the log does not say so yet */
    bool accept_has_logged;        /* a line about them was written */
    struct timespec accept_logged; /* CLOCK_MONOTONIC: when the last one was */
} http_worker;

/* The worker running on the calling thread, or NULL off worker threads. */
http_worker *http_worker_self(void);

#define HTTP_VERSION_MAX 80 /* bytes of a snapshot version, NUL included */

typedef struct http_reload_result {
    char previous[HTTP_VERSION_MAX]; /* version served before ("" if none) */
    char version[HTTP_VERSION_MAX];  /* version served after (on failure: previous) */
    size_t ncatalogs, nproducts;     /* of the new snapshot */
} http_reload_result;

/* Reloads the catalogs from the configured directories and, only if they
 * load without a single error, publishes the new snapshot. Reloads are
 * serialized by a mutex. Runs on the calling thread: a worker calling it
 * stops serving its other connections for the load's duration (about a
 * second for 100,000 SKUs); the other workers keep serving.
 * Returns 0, or a negative code with every error in errs, sorted (the old
 * snapshot keeps serving); fills *res either way. Logs the outcome and
 * every error. */
int http_reload(http_server *srv, cpqd_errs *errs, http_reload_result *res);

/* Tells the webhook delivery thread (if any) that an event was committed.
 * Any thread. */
void http_outbox_wake(http_server *srv);

/* ---- the write pool (http.c) ----
 * A write waits for its batch's commit (svc_write.c: the fsync); on a
 * worker thread that wait would hold the worker's event loop and every
 * connection on it, and with one worker per core at most that many
 * writes could share a batch. So a write operation is handed to a pool
 * of --write-threads threads: the worker goes on serving, the pool's
 * thread waits, as many writes as there are pool threads share a batch,
 * and the reply goes back to the worker's loop (http_route.c "write
 * operations on the pool"). Each pool thread has an http_worker of its
 * own for its resources (store connection, pricing engine, solver),
 * without an event base. */
typedef struct http_task {
    struct http_task *next;
    /* runs on a pool thread with that thread's worker */
    void (*run)(struct http_task *t, http_worker *pw);
    /* then, once the thread is ready for the next task: hands the result
     * over (t belongs to whoever it goes to from there) */
    void (*post)(struct http_task *t);
} http_task;

/* Queues t for a pool thread: true, or false when the server has no
 * pool or is stopping (then the caller runs the work itself). Any
 * thread. Every queued task runs, also when the server stops. */
bool http_pool_submit(http_server *srv, http_task *t);
/* The pool's threads, those that have run a task (each has made its
 * database connection and pricing engine), and the tasks queued or
 * running (GET /metrics). */
void http_pool_load(http_server *srv, unsigned *threads, unsigned *used, size_t *busy);

/* ---- connections (http_conn.c) ---- */

typedef struct http_conn http_conn;     /* one client connection (http_conn.c) */
typedef struct http_linger http_linger; /* one closed socket still being read */
struct bufferevent;
struct evconnlistener;

/* Makes w's evhttp ready to track its connections (w->base exists).
 * 0 or CPQD_ENOMEM. */
int http_conn_init(http_worker *w);
/* Frees what w's connections left behind; after evhttp_free(w->http),
 * which closes the connections themselves. */
void http_conn_fini(http_worker *w);
/* evhttp's bufferevent callback (arg: the worker): makes a new
 * connection's bufferevent and watches what the client sends, so that a
 * request that does not arrive whole within --timeout of its first byte
 * closes the connection. */
struct bufferevent *http_conn_bev_new(struct event_base *base, void *arg);
/* The listener's error callback (accept() failed, e.g. out of
 * descriptors): pauses accepting briefly and logs at most one line per
 * interval, with a count. */
void http_conn_accept_failed(struct evconnlistener *l, void *arg);
/* req has arrived whole: stops its deadline and counts its reply in
 * w->inflight until it is written or the connection closes. Called for
 * every request that gets a reply. */
void http_conn_request_done(struct evhttp_request *req);
/* req's connection keeps key_id's concurrency slot (limit_conc_take,
 * docs/auth.md "Limits") until req's reply is written out or the
 * connection closes, then gives it back: a slow reader holds its slot.
 * False when the connection has no record (no memory): the caller then
 * gives the slot back itself once it has replied. */
bool http_conn_hold_slot(struct evhttp_request *req, const char *key_id);
/* req's connection closes after its (error) reply while the client may
 * still be sending: the socket is then read and its bytes dropped for up
 * to --timeout before it closes, so the client reads the reply instead of
 * a reset. */
void http_conn_linger(struct evhttp_request *req);

/* ---- routing (http_route.c) ---- */

/* The evhttp generic callback: routes one complete request (arg: its
 * http_worker) and always sends a reply. */
void http_route_request(struct evhttp_request *req, void *arg);

/* ---- what route handlers in other files share (http_route.c) ---- */

#define HTTP_MAX_PARAMS 16 /* query parameters per request */

typedef struct http_ctx http_ctx; /* one request being answered (http_route.c) */

typedef struct http_param {
    const char *key;
    const char *val;
    size_t vlen;
} http_param;

typedef struct http_query {
    char *buf; /* decoded copy; keys and values point into it */
    http_param p[HTTP_MAX_PARAMS];
    size_t n;
    const char *bad; /* the parameter at fault after an error, NULL if unknown */
} http_query;

/* Checks the value of query parameter key against values (NULL-ended),
 * the closed set an enum-valued parameter takes: true when the parameter
 * is absent or one of them (then *out, if out, points to it); otherwise
 * replies 400 invalid_parameter, whose message names every allowed value
 * and whose details are [{"parameter":key,"allowed":[values...]}], and
 * returns false. Every route with an enum-valued parameter calls it
 * before doing anything else. */
bool http_query_enum(http_ctx *c, const http_query *q, const char *key, const char *const *values,
                     const char **out);
/* Reads the `limit` (1..SVC_PAGE_MAX, default def) and `after` (at most
 * SVC_CURSOR_MAX bytes) of a list into *pg: true, or replies 400
 * invalid_parameter naming the parameter and returns false. */
bool http_page_read(http_ctx *c, const http_query *q, size_t def, svc_page *pg);
/* The page of q that http_page_read accepted before. */
svc_page http_page_of(const http_query *q, size_t def);
/* Parses the query string raw (NULL: no query) strictly: every parameter
 * is key=value with a non-empty value (percent-decoded, '+' a space),
 * named in allowed (NULL-ended), at most once, at most HTTP_MAX_PARAMS.
 * Returns 0, CPQD_ENOMEM, or CPQD_EINVAL with why[0..cap) filled and
 * q->bad naming the parameter when known; free(q->buf) either way. */
int http_query_parse(const char *raw, const char *const *allowed, http_query *q, char *why,
                     size_t cap);
/* The value of query parameter key in q, or NULL when it is absent. */
const char *http_query_value(const http_query *q, const char *key);
/* The worker serving c. */
http_worker *http_ctx_worker(const http_ctx *c);
/* Decoded {} path segment i of c's route, or NULL. */
const char *http_ctx_param(const http_ctx *c, size_t i);
/* The worker's store connection (opened on first use), or NULL after
 * replying 503. */
struct store *http_ctx_store(http_ctx *c);
/* Sends text (taken; NULL: a 500) as a JSON reply with status. */
void http_reply_text(http_ctx *c, int status, char *text);
/* Replies with the error of rc, the reasons in errs (may be NULL or
 * empty: then "what failed: <code>"). */
void http_reply_errs(http_ctx *c, int rc, cpqd_errs *errs, const char *what);

/* Runs one operation of the quote family (quotes, contracts,
 * receivables) with a svc_ctx for the caller: the worker's store and
 * pricing engine, the request's snapshot, today (UTC); replies 200/201
 * with the operation's body or the error of its code (http_route.c). */
struct svc_ctx;
struct svc_reply;
typedef int (*http_quote_fn)(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                             const http_query *q, struct svc_reply *out, cpqd_errs *errs);
void http_quote_run(http_ctx *c, const http_query *q, http_quote_fn fn, const char *what);
/* The value of request header name, or NULL. */
const char *http_ctx_header(http_ctx *c, const char *name);
/* Adds a header to c's reply (before it is sent). */
void http_ctx_add_header(http_ctx *c, const char *name, const char *value);
/* The request's method (HEAD reads as GET), body (*len bytes, "" if
 * none), snapshot (NULL if none is loaded) and caller. */
enum evhttp_cmd_type http_ctx_method(http_ctx *c);
const char *http_ctx_body(http_ctx *c, size_t *len);
const cat_snapshot *http_ctx_snap(const http_ctx *c);
const struct http_caller *http_ctx_caller(const http_ctx *c);
/* Sends len bytes of data (not taken) as content_type with status. */
void http_reply_bytes(http_ctx *c, int status, const char *content_type, const void *data,
                      size_t len);
/* Replies 401 unauthorized with msg. */
void http_reply_unauthorized(http_ctx *c, const char *msg);

/* ---- contracts and receivables (http_contracts.c, docs/receivables.md) ---- */

extern const char *const http_receivables_params[]; /* GET /v1/receivables */
extern const char *const http_as_of_params[];       /* GET /v1/contracts/{}/receivables */
/* An operation that needs the request itself (a route table row's OP,
 * or http_quote_run's): the http_quote_fn shape. */
#define HTTP_OP(name)                                                                              \
    int name(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len, const http_query *q,   \
             struct svc_reply *out, cpqd_errs *errs)
extern const char *const http_sweep_failures_params[];
void http_sweep_failures(http_ctx *c, const http_query *q); /* (status checked) */
void http_receivables_due(http_ctx *c,
                          const http_query *q); /* GET /v1/receivables (status checked) */
extern const char *const http_contracts_params[]; /* GET /v1/contracts */
void http_contracts_list(http_ctx *c, const http_query *q);
extern const char *const http_page_params[]; /* limit, after: a list with no filters */
void http_contract_payments(http_ctx *c, const http_query *q); /* GET .../payments */

/* ---- the finance loop (http_finance.c, docs/finance.md) ---- */

extern const char *const http_fin_page_params[];     /* after, limit */
extern const char *const http_fin_doc_params[];      /* lang */
extern const char *const http_fin_import_params[];   /* format, issuer */
extern const char *const http_fin_credits_params[];  /* status, customer, after, limit */
extern const char *const http_fin_vouchers_params[]; /* after, limit, format */
extern const char *const http_fin_revenue_params[];  /* as_of */
/* customer, contract, status, issued_from, issued_to, after, limit */
extern const char *const http_fin_invoice_list_params[];
/* Routes with an enum-valued parameter (checked first). */
void http_fin_document(http_ctx *c, const http_query *q); /* GET /v1/invoices/{}/document */
void http_fin_invoice_list(http_ctx *c, const http_query *q); /* GET /v1/invoices */
void http_fin_import(http_ctx *c, const http_query *q);   /* POST /v1/bank/statements */
void http_fin_credits(http_ctx *c, const http_query *q);  /* GET /v1/bank/credits */
void http_fin_vouchers(http_ctx *c, const http_query *q); /* GET /v1/vouchers */

/* ---- the portal and its sessions (http_portal.c, docs/portal.md) ---- */

void http_portal_asset(http_ctx *c, const http_query *q);  /* GET /portal/, /portal/{file} */
void http_session_new(http_ctx *c, const http_query *q);   /* POST /v1/session */
void http_session_get(http_ctx *c, const http_query *q);   /* GET /v1/session */
void http_session_end(http_ctx *c, const http_query *q);   /* DELETE /v1/session */
HTTP_OP(http_op_quote_contract); /* GET /v1/quotes/{}/contract */
/* For authenticate(): the key of the request's session cookie. Returns
 * 0 (no session cookie), 1 (*k: the session's key, NULL in development
 * mode), -1 (the cookie names no live session), -2 (a state change
 * without the session's X-CSRF-Token, or from another origin) or -3 (the
 * store could not be read). */
int http_portal_cookie(http_ctx *c, const struct auth_key **k);
/* The key file in force for this request (taken once per request and
 * held to its end), or NULL without --keys. */
const struct auth_keys *http_ctx_keys(http_ctx *c);

/* ---- stock (http_stock.c, docs/portal.md "Availability") ---- */

extern const char *const http_stock_params[];              /* GET /v1/stock */
void http_stock_put(http_ctx *c, const http_query *q);     /* PUT /v1/stock */
void http_stock_get(http_ctx *c, const http_query *q);     /* GET /v1/stock?sku= */
HTTP_OP(http_op_quote_availability); /* GET /v1/quotes/{}/availability */

/* ---- events (http_events.c, docs/events.md) ---- */

void http_events_feed(http_ctx *c, const http_query *q);   /* GET /v1/events */
void http_events_admin(http_ctx *c, const http_query *q);  /* GET /v1/admin/events */
void http_events_replay(http_ctx *c, const http_query *q); /* POST /v1/admin/events/{}/replay */

/* ---- operations (http_ops.c, docs/operations.md) ---- */

#define HTTP_REQUEST_ID_MAX 129 /* bytes of a request id, NUL included */

/* The request id of req into out: its X-Request-Id when that is 1 to
 * 128 characters of letters, digits and - _ . : / + = (a caller's or a
 * proxy's trace id), else 32 new random hex digits. */
void http_request_id(struct evhttp_request *req, char out[HTTP_REQUEST_ID_MAX]);

/* What the access log and the request metrics record of one request. */
typedef struct http_access {
    unsigned worker;
    const char *method;       /* as sent */
    const char *uri;          /* as sent (path and query); NULL when info is off */
    const char *route;        /* the pattern of the route that served it, NULL if none */
    unsigned route_no;        /* 1 + its row in the route table, 0 if none */
    const char *route_method; /* the route's method */
    int status;
    size_t bytes;       /* of the reply body */
    uint64_t ns;        /* time taken to answer */
    const char *request_id;
    const char *key_id; /* the key's public id ("dev" without --keys), NULL if none */
    const char *role, *partner; /* the key's, NULL if none */
} http_access;

/* Logs one line for the request (text or JSON, docs/operations.md) and
 * counts it in the metrics. Never logs a key, a cookie or a header. */
void http_access_done(const http_access *a);
/* GET /metrics: Prometheus text (admin keys, or anyone with
 * metrics_public). */
void http_metrics_serve(http_ctx *c, const http_query *q);
/* GET /readyz: 200 when the catalog is loaded, the store answers and
 * the outbox is not stuck; else 503 naming the checks that failed. */
void http_readyz(http_ctx *c, const http_query *q);
/* The request's catalog snapshot, NULL if none is loaded. */
const cat_snapshot *http_ctx_snapshot(const http_ctx *c);
/* Sends text (taken; NULL: a 500) as a 200 reply of content_type. */
void http_reply_doc(http_ctx *c, const char *content_type, char *text);
/* Replies 503 unavailable with msg and details (taken; NULL: []). */
void http_reply_unavailable(http_ctx *c, json_t *details, const char *msg);

/* ---- the API contract (http_spec.c) ---- */

/* GET /openapi.yaml: docs/openapi.yaml as built into the binary. */
void http_spec_serve(http_ctx *c, const http_query *q);
/* Sends len bytes at data (static: referenced, never copied or freed) as
 * a 200 reply of content_type. */
void http_reply_static(http_ctx *c, const char *content_type, const void *data, size_t len);

/* ---- configure (http_configure.c) ---- */

struct solver_ctx;
/* POST /v1/configure: parses body, runs the product's model in *ctx
 * (created on first use), renders the result. Returns 0 with *out (a
 * malloc'ed JSON text), or a CPQD_E* code with the reasons in errs. */
int http_configure(const cat_snapshot *s, struct solver_ctx **ctx, const char *body, size_t len,
                   char **out, cpqd_errs *errs);

/* ---- views (http_view.c) ----
 * Every view returns a new JSON value (the caller owns the reference), or
 * NULL when building it failed (no memory, or a string that is not valid
 * UTF-8). Decimals (money, quantities, percents, bounds) are JSON strings
 * formatted by money_format, never JSON numbers. */

typedef enum http_role {
    HTTP_ROLE_INTERNAL, /* staff and service accounts: sees everything */
    HTTP_ROLE_PARTNER,  /* channel partner: never sees cost or floor prices */
} http_role;

/* Who is asking, from the request's API key (docs/auth.md). Per-request. */
typedef struct http_caller {
    http_role role;         /* what the catalog views may show */
    const char *partner_id; /* partner: its id */
    const char *segment;    /* partner: its segment, NULL if none */
    int auth_role;          /* auth_role of the key (admin without --keys) */
    const char *key_id;     /* "k_..." ("dev" without --keys) */
    bool has_authority;     /* discount authority set on the key */
    money_dec authority;
    auth_limits limits; /* the key's (docs/auth.md "Limits") */
} http_caller;

/* GET /v1/products filters; NULL / -1 means "any". */
typedef struct http_list_query {
    const char *category; /* exact */
    const char *catalog;  /* exact catalog id */
    int mode;             /* cat_mode, or -1 */
    const char *q;        /* ASCII-case-insensitive substring of SKU or name */
    size_t qlen;
    svc_page page;        /* after: the last SKU of the previous page */
} http_list_query;

/* {"version","loaded_at","catalogs":[...]} */
json_t *http_view_catalog(const cat_snapshot *s);
/* {"items":[...],"next"}: products by SKU (after: a SKU) */
json_t *http_view_products(const cat_snapshot *s, const http_list_query *q);
/* One product with attributes, BOM groups (nested products inline up to
 * HTTP_VIEW_MAX_DEPTH levels), constraints, delivery and the price-book
 * entries the caller may see (partner: only books for all, its segment or
 * itself; never cost or floor). */
json_t *http_view_product(const cat_snapshot *s, const cat_product *p, const http_caller *c);
/* [{"file","line","col","message"}] for at most max errors of e. */
json_t *http_view_errs(const cpqd_errs *e, size_t max);

#define HTTP_VIEW_MAX_DEPTH 4      /* product levels rendered inline */
#define HTTP_VIEW_MAX_OPTIONS 2000 /* options rendered per product view */

#endif
