/*
 * http: the HTTP service (libevent evhttp), its routes, limits and JSON.
 *
 * Owns: the listening socket, one worker thread per core each with its own
 * event base and evhttp accepting on that socket, routing, request limits
 * (body size, header size, timeouts, repeated headers), the JSON views
 * of the catalog, the one table mapping CPQD_E* codes to HTTP statuses
 * and error codes, live reload (SIGHUP and POST /v1/admin/reload) and the
 * graceful shutdown (SIGTERM/SIGINT drain in-flight requests, then
 * return).
 * Does not own: loading catalogs (cat), publishing the first snapshot (the
 * caller does that before http_serve), logging format (log).
 *
 * Periodic sweep: with cfg.sweep_every_s > 0 a timer on the main thread's
 * event base runs the receivables sweep (contract_sweep: as_of today UTC,
 * the default due-soon window) every sweep_every_s seconds on its own
 * store connection, logs what it did and wakes the webhook worker; it
 * stops with the server (SIGTERM/SIGINT).
 *
 * Routes (docs and tests: tests/test_e2e.c):
 *   GET  /healthz               {"status":"ok","version":...}
 *   GET  /readyz                ready (catalog, store, outbox) or 503
 *   GET  /metrics               Prometheus text (docs/operations.md)
 *   GET  /v1/catalog            snapshot version, load time, catalogs
 *   GET  /v1/products           filtered, paginated product list
 *   GET  /v1/products/{sku}     one product with BOM, delivery, prices
 *   POST /v1/admin/reload       reload catalogs; 200 or 422 with errors
 * Every error is {"error":{"code","message","details":[...]}}.
 *
 * Ownership: http_serve copies nothing it needs after returning; the
 * config's strings must outlive the call.
 * Thread-safety: call http_serve from the main thread only, once at a time.
 * It installs the process's SIGTERM, SIGINT and SIGHUP handling and
 * ignores SIGPIPE for as long as it runs (SIGPIPE stays ignored).
 */
#ifndef CPQD_HTTP_H
#define CPQD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)     /* bytes of a request body */
#define HTTP_DEFAULT_MAX_HEADERS ((size_t)64 << 10) /* bytes of request line + headers */
#define HTTP_DEFAULT_TIMEOUT 30                     /* seconds: see timeout_s */
#define HTTP_DEFAULT_WRITE_THREADS 16               /* see write_threads */

/* Server settings; the caller's, read-only while http_serve runs. */
typedef struct http_config {
    const char *listen;      /* "ADDR:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
    const char *catalog_dir; /* reloaded from on SIGHUP and POST /v1/admin/reload */
    const char *rules_dir;   /* NULL: the loader's default (catalogs/../rules) */
    unsigned threads;        /* worker threads, >= 1 */
    unsigned write_threads;  /* threads that run write operations while they wait for their
                              * group commit (http.c "the write pool"); 0: on the worker
                              * threads themselves */
    size_t max_body;         /* larger request bodies get 413 */
    size_t max_headers;      /* larger request heads get 413 */
    unsigned timeout_s;      /* a request not whole this long after its first byte, or a
                              * connection silent this long, is closed; >= 1 */
    struct auth_keyring *keyring; /* API keys, re-read when the file changes and on SIGHUP;
                                   * NULL: no authentication (development only) */
    const char *db_path;     /* the store (SQLite file), migrated before serving */
    const char *webhook_url; /* POST outbox events here (docs/events.md); NULL: pull feed only */
    const char *webhook_secret;    /* HMAC key of the signatures (required with webhook_url) */
    size_t webhook_secret_len;
    const char *webhook_secret_previous; /* the key being rotated out: both signatures are
                                          * sent (docs/events.md); NULL: none */
    size_t webhook_secret_previous_len;
    const char *webhook_secret_file;     /* where they were read, read again on SIGHUP */
    const char *webhook_secret_previous_file;
    const char *webhook_ca;  /* PEM CA certificates for an https:// webhook; NULL: the system's */
    unsigned webhook_max_attempts; /* then an event is parked as failed, >= 1 */
    unsigned webhook_lease_s;      /* an attempt's lease (several instances); 0: default */
    unsigned sweep_every_s;  /* run the receivables sweep (POST /v1/receivables/sweep with
                              * as_of today UTC) every this many seconds; 0: never */
    unsigned event_retention_days; /* the sweep deletes events delivered longer ago; 0: never */
    unsigned session_ttl_s;  /* a portal session lives this long (--session-ttl); 0: default */
    bool metrics_public;     /* GET /metrics without a key; else admin keys only */
    unsigned outbox_stuck_s; /* GET /readyz: not ready when an event has been due this long
                              * without being attempted (with --webhook) */
} http_config;

#define HTTP_DEFAULT_OUTBOX_STUCK 600 /* seconds: twice the longest backoff */

#define HTTP_DEFAULT_SWEEP_EVERY 3600 /* seconds between periodic receivables sweeps */
#define HTTP_DEFAULT_EVENT_RETENTION 30 /* days a delivered event is kept */

/* Fills cfg with the defaults above, one thread per online CPU, and NULL
 * listen and catalog_dir (which the caller must set). */
void http_config_init(http_config *cfg);

/* Binds cfg->listen and serves the current catalog snapshot
 * (cat_current_acquire) until SIGTERM or SIGINT; then stops accepting,
 * lets in-flight requests finish (at most 2 * timeout_s + 5 seconds) and
 * returns 0. Returns a negative CPQD_E* code, after logging why, if it
 * cannot start (bad address, port in use, no memory); CPQD_EINVAL for an
 * invalid config. Blocks the calling thread throughout. */
int http_serve(const http_config *cfg);

#define HTTP_HEALTH_TIMEOUT 3 /* seconds `cpqd health` waits by default */

/* Probes a running cpqd: GET URL/healthz (url is http://HOST[:PORT]
 * [/PREFIX]) within timeout_s seconds. Returns 0 when it answers 200,
 * CPQD_EIO when it answers anything else or nothing in time, CPQD_EINVAL
 * for a URL it cannot use, CPQD_ENOMEM; why (cap bytes) says what
 * happened either way ("GET /healthz: 200, version 9f3..."). Blocks the
 * calling thread; uses an event base of its own (http_health.c). */
int http_health(const char *url, unsigned timeout_s, char *why, size_t cap);

#endif
