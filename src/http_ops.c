/*
 * http_ops: what an operator sees of the running service
 * (docs/operations.md): the request id, one access log line per request
 * (text or JSON), GET /metrics and GET /readyz.
 *
 * Owns: making and checking request ids, the fields of the access line,
 * the gauges a scrape reads (catalog served, keys in force, the outbox's
 * backlog) and the readiness checks. Does not own: the counters and their
 * text (metrics), the line format (log), routing and replies
 * (http_route.c).
 *
 * Secrets: the access line carries the key's public id, never the key;
 * no header is logged (Authorization, Cookie, ...), and the URI is the
 * request line's, in which the API takes no secret. tests/test_ops_http.c
 * checks that no key, cookie or Authorization value reaches the log.
 *
 * Globals: `rid_state`, a thread-local xorshift128+ state for request
 * ids, seeded from getrandom on a thread's first id.
 */
#include "http_int.h"

#include "cpqd/auth.h"
#include "cpqd/date.h"
#include "cpqd/log.h"
#include "cpqd/metrics.h"
#include "cpqd/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- request ids ---- */

static _Thread_local uint64_t rid_state[2];

static uint64_t rid_next(void)
{
    uint64_t *s = rid_state;
    if (!s[0] && !s[1] && (getrandom(s, 16, 0) != 16 || (!s[0] && !s[1]))) {
        s[0] = (uint64_t)date_wall_ms() ^ 0x9e3779b97f4a7c15ull;
        s[1] = metrics_now_ns() | 1;
    }
    uint64_t a = s[0], b = s[1];
    s[0] = b;
    a ^= a << 23;
    s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s[1] + b;
}

static bool rid_sane(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++) {
        char ch = v[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("-_.:/+=", ch);
        if (!ok || n >= HTTP_REQUEST_ID_MAX - 1)
            return false;
    }
    return n > 0;
}

void http_request_id(struct evhttp_request *req, char out[HTTP_REQUEST_ID_MAX])
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
    if (v && rid_sane(v)) {
        snprintf(out, HTTP_REQUEST_ID_MAX, "%s", v);
        return;
    }
    /* "%016llx%016llx" without printf: this runs for every request */
    static const char hex[] = "0123456789abcdef";
    uint64_t r[2];
    r[0] = rid_next();
    r[1] = rid_next();
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++)
            out[k * 16 + i] = hex[(r[k] >> (60 - 4 * i)) & 15];
    out[32] = '\0';
}

/* ---- the access log ---- */

void http_access_done(const http_access *a)
{
    metrics_http_request(a->route_no, a->route_method, a->route, a->status, a->ns, a->bytes);
    if (!a->uri || !log_enabled(CPQD_LOG_INFO))
        return;
    unsigned long long us = (unsigned long long)(a->ns / 1000);
    char msg[LOG_LINE_MAX];
    /* the text line's head is the one every earlier version wrote; the
     * key id stays its last field (docs/auth.md) */
    snprintf(msg, sizeof(msg), "w%u %s %s %d %llu.%03llums", a->worker, a->method, a->uri,
             a->status, us / 1000, us % 1000);
    const log_field f[] = {
        {"request_id", LOG_STR, a->request_id, 0, LOG_IN_JSON},
        {"worker", LOG_INT, NULL, a->worker, LOG_IN_JSON},
        {"method", LOG_STR, a->method, 0, LOG_IN_JSON},
        {"path", LOG_STR, a->uri, 0, LOG_IN_JSON},
        {"route", LOG_STR, a->route, 0, LOG_IN_TEXT | LOG_IN_JSON},
        {"status", LOG_INT, NULL, a->status, LOG_IN_JSON},
        {"bytes", LOG_INT, NULL, (long long)a->bytes, LOG_IN_TEXT | LOG_IN_JSON},
        {"duration_ms", LOG_MILLI, NULL, (long long)us, LOG_IN_JSON},
        {"id", LOG_STR, a->request_id, 0, LOG_IN_TEXT},
        {"role", LOG_STR, a->role, 0, LOG_IN_TEXT | LOG_IN_JSON},
        {"partner", LOG_STR, a->partner, 0, LOG_IN_TEXT | LOG_IN_JSON},
        {"key_id", LOG_STR, a->key_id, 0, LOG_IN_JSON},
        {"key", LOG_STR, a->key_id, 0, LOG_IN_TEXT},
    };
    log_fields(CPQD_LOG_INFO, log_format_get() == CPQD_LOG_JSON ? "request" : msg, f,
               sizeof(f) / sizeof(f[0]));
}

/* ---- the store and the outbox, as a scrape or a probe sees them ---- */

/* The worker's store connection without replying (opened on first use):
 * NULL with why filled when it cannot be opened. */
static store *ops_store(http_ctx *c, char *why, size_t cap)
{
    http_worker *w = http_ctx_worker(c);
    if (w->store)
        return w->store;
    cpqd_errs *errs = errs_new();
    int rc = errs ? store_open(w->cfg->db_path, false, &w->store, errs) : CPQD_ENOMEM;
    if (rc) {
        const cpqd_err *e = errs && errs_count(errs) ? errs_get(errs, 0) : NULL;
        snprintf(why, cap, "%s", e ? e->msg : err_code_name(rc));
        w->store = NULL;
    }
    errs_free(errs);
    return w->store;
}

/* The outbox's backlog, or false with why filled. */
static bool ops_outbox(http_ctx *c, store_outbox_stats *o, char *why, size_t cap)
{
    store *st = ops_store(c, why, cap);
    if (!st)
        return false;
    bool due = http_ctx_worker(c)->cfg->webhook_url != NULL;
    if (store_outbox_stats_get(st, due, o) == 0)
        return true;
    snprintf(why, cap, "%s", store_last_error(st));
    /* a broken connection is opened again by the next request */
    store_close(st);
    http_ctx_worker(c)->store = NULL;
    return false;
}

static void gauges_keys(http_ctx *c, metrics_gauges *g)
{
    auth_keyring *ring = http_ctx_worker(c)->cfg->keyring;
    if (!ring)
        return;
    auth_keys *k = auth_keyring_acquire(ring);
    g->keys_on = true;
    g->keys = auth_keys_count(k);
    g->keys_revoked = auth_keys_revoked(k);
    auth_keys_release(k);
}

/* ---- GET /metrics ---- */

void http_metrics_serve(http_ctx *c, const http_query *q)
{
    (void)q;
    const cat_snapshot *s = http_ctx_snapshot(c);
    metrics_gauges g = {.webhook_on = http_ctx_worker(c)->cfg->webhook_url != NULL};
    http_pool_load(http_ctx_worker(c)->srv, &g.write_threads, &g.write_threads_used,
                   &g.writes_in_pool);
    if (s) {
        g.version = cat_snapshot_version(s);
        g.loaded_at = cat_snapshot_loaded_at(s);
        g.catalogs = cat_snapshot_catalog_count(s);
        g.products = cat_snapshot_product_count(s);
    }
    gauges_keys(c, &g);
    store_outbox_stats o;
    char why[256];
    g.store_up = ops_outbox(c, &o, why, sizeof(why));
    if (g.store_up) {
        g.outbox_pending = o.pending;
        g.outbox_failed = o.failed;
        g.outbox_oldest_ms = o.oldest_pending >= 0 ? date_now() * 1000 - o.oldest_pending : -1;
    }
    char *text = NULL;
    size_t len = 0;
    if (metrics_render(&g, &text, &len) != 0)
        text = NULL; /* a 500 */
    http_reply_doc(c, "text/plain; version=0.0.4; charset=utf-8", text);
}

/* ---- GET /readyz ---- */

/* Adds check name to checks (its object, taken) and, when it failed, a
 * detail {check, message} to failed. */
static void check_add(json_t *checks, json_t *failed, const char *name, bool ok, json_t *obj,
                      const char *why)
{
    json_object_set_new(obj, "ok", json_boolean(ok));
    if (!ok) {
        json_object_set_new(obj, "message", json_string(why));
        json_array_append_new(failed, json_pack("{s:s,s:s}", "check", name, "message", why));
    }
    json_object_set_new(checks, name, obj);
}

/* The outbox check: with --webhook, an event due for longer than
 * outbox_stuck_s and still not delivered means the delivery thread is
 * stuck (a failing receiver is not: each failure moves the next attempt
 * ahead, by at most 5 minutes). Without it, another process delivers. */
static void check_outbox(http_ctx *c, json_t *checks, json_t *failed, bool have,
                         const store_outbox_stats *o)
{
    const http_config *cfg = http_ctx_worker(c)->cfg;
    char why[200] = "";
    json_t *obj = json_pack("{s:s}", "delivery", cfg->webhook_url ? "on" : "off");
    bool ok = have;
    if (!have)
        snprintf(why, sizeof(why), "the outbox cannot be read");
    if (have) {
        json_object_set_new(obj, "pending", json_integer(o->pending));
        json_object_set_new(obj, "failed", json_integer(o->failed));
    }
    if (have && cfg->webhook_url && o->oldest_due >= 0) {
        int64_t late = (date_wall_ms() - o->oldest_due) / 1000;
        late = late > 0 ? late : 0;
        json_object_set_new(obj, "oldest_due_s", json_integer(late));
        if (late > (int64_t)cfg->outbox_stuck_s) {
            ok = false;
            snprintf(why, sizeof(why),
                     "stuck: an event has been due for %lld s without being delivered (more than "
                     "%u s)",
                     (long long)late, cfg->outbox_stuck_s);
        }
    }
    check_add(checks, failed, "outbox", ok, obj, why);
}

void http_readyz(http_ctx *c, const http_query *q)
{
    (void)q;
    const cat_snapshot *s = http_ctx_snapshot(c);
    json_t *checks = json_object(), *failed = json_array();
    if (!checks || !failed) {
        json_decref(checks), json_decref(failed);
        http_reply_text(c, 200, NULL); /* a 500 */
        return;
    }
    check_add(checks, failed, "catalog", s != NULL,
              s ? json_pack("{s:s}", "version", cat_snapshot_version(s)) : json_object(),
              "no catalog snapshot is loaded");
    store_outbox_stats o;
    char why[256] = "";
    bool have = ops_outbox(c, &o, why, sizeof(why));
    char swhy[300];
    snprintf(swhy, sizeof(swhy), "the store does not answer: %s", why);
    check_add(checks, failed, "store", have, json_object(), swhy);
    check_outbox(c, checks, failed, have, &o);
    size_t n = json_array_size(failed);
    if (n == 0) {
        json_decref(failed);
        json_t *body = json_pack("{s:s,s:o}", "status", "ready", "checks", checks);
        http_reply_text(c, 200, body ? json_dumps(body, JSON_COMPACT) : NULL);
        json_decref(body);
        return;
    }
    json_decref(checks);
    char msg[512];
    snprintf(msg, sizeof(msg), "not ready: %s%s",
             json_string_value(json_object_get(json_array_get(failed, 0), "message")),
             n > 1 ? " (and more: see details)" : "");
    http_reply_unavailable(c, failed, msg);
}
