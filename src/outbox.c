/*
 * outbox: the webhook delivery thread (see include/cpqd/outbox.h).
 *
 * Owns: one thread with its own event base, store handle and libevent
 * HTTP client connection to the webhook; signing; retry and parking.
 * Does not own: the events and their state (store_outbox.c), when they
 * are written (the modules that change state), the HTTP server (http).
 *
 * Order: one attempt is in flight at a time, and the store only hands
 * out the first undelivered event of each ordering key, so the events of
 * a key reach the receiver in seq order (an event is sent only after
 * every earlier one of its key got a 2xx).
 *
 * Connections: the client keeps its connection open between attempts.
 * A receiver that closes it after each response (HTTP/1.0, Python's
 * http.server) or after some idle time leaves a socket libevent may not
 * have seen closed yet: a request sent on it gets no reply. So an attempt
 * that went out on a kept connection and found it closed is sent once
 * more at once on a fresh connection before it counts as failed (a
 * receiver that had closed it never read the first copy; one that read it
 * and closed without answering drops the duplicate by id).
 *
 * Globals: none. Everything below runs on the delivery thread except
 * outbox_worker_wake (event_active on a lockable base) and start/stop.
 */
#include "cpqd/outbox.h"

#include "cpqd/date.h"
#include "cpqd/digest.h"
#include "cpqd/err.h"
#include "cpqd/file.h"
#include "cpqd/log.h"
#include "cpqd/metrics.h"
#include "cpqd/store.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

struct outbox_worker {
    char *db_path, *url;
    pthread_mutex_t secret_mu; /* guards secret and prev (swapped on SIGHUP) */
    char *secret, *prev;       /* HMAC keys: the current one, the one rotated out (or NULL) */
    size_t secret_len, prev_len;
    unsigned max_attempts;
    unsigned lease_s; /* the lease of an attempt */
    bool tls;      /* https:// */
    SSL_CTX *ssl_ctx;  /* https: peer verification on, the CA file's or the system's roots */
    char *host;   /* of the URL (an IPv6 literal with its brackets) */
    int port;     /* of the URL, 80 (http) or 443 (https) by default */
    char *target; /* path and query sent in the request line */
    char host_hdr[300];
    char *auth_hdr;      /* "Basic ..." from the URL's user:password, NULL if none */
    char url_shown[512]; /* the URL with its password masked: the only form logged */
    struct event_base *base;
    struct evhttp_connection *conn;
    bool conn_used;                    /* conn has carried a request */
    bool resend_pending;               /* https: resend on a fresh connection at the next tick */
    char tls_why[160];                 /* why the last TLS connection failed, "" if it did not */
    struct event *wake_ev, *stop_ev, *poll_ev;
    store *st;
    pthread_t thread;
    bool started;
    bool stopping;                     /* delivery thread only */
    bool inflight;                     /* an attempt is waiting for its reply */
    char cur_id[STORE_OUTBOX_ID_LEN];  /* the event in flight */
    int cur_attempts;                  /* its attempts before this one */
    int64_t cur_lease_ms;              /* the lease taken for it (unix ms) */
    char *cur_body;                    /* its body, for a resend on a fresh connection */
    bool cur_reused;                   /* this attempt went out on a kept connection */
    bool cur_resent;                   /* ... and was already sent again on a fresh one */
    int cur_error;                     /* enum evhttp_request_error, -1 if none reported */
    uint64_t rng;                      /* xorshift64 state for the jitter */
};

/* ---- signing and backoff (pure) ---- */

int outbox_sign(const char *secret, size_t secret_len, const char *ts, const char *body,
                size_t body_len, char out[OUTBOX_SIG_LEN])
{
    size_t tl = strlen(ts);
    char *msg = malloc(tl + 1 + body_len);
    if (!msg)
        return CPQD_ENOMEM;
    memcpy(msg, ts, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, body_len);
    unsigned char md[DIGEST_SHA256_LEN];
    int rc = digest_hmac_sha256(secret, secret_len, msg, tl + 1 + body_len, md);
    free(msg);
    if (rc)
        return rc;
    memcpy(out, "sha256=", 7);
    digest_hex(md, sizeof(md), out + 7);
    return 0;
}

int64_t outbox_backoff_ms(unsigned attempts, uint64_t r)
{
    int64_t cap = OUTBOX_BACKOFF_BASE_MS;
    for (unsigned i = 1; i < attempts && cap < OUTBOX_BACKOFF_MAX_MS; i++)
        cap *= 2;
    if (cap > OUTBOX_BACKOFF_MAX_MS)
        cap = OUTBOX_BACKOFF_MAX_MS;
    return (int64_t)(r % (uint64_t)(cap + 1));
}

static uint64_t rng_next(outbox_worker *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return w->rng = x;
}

/* ---- one attempt ---- */

static void tick(outbox_worker *w);
static void tls_failure(outbox_worker *w);
static int conn_refresh(outbox_worker *w);

/* Records the outcome of the attempt in flight. A failure to record is
 * logged: the event then stays pending as it was and is sent again (at
 * least once). */
static int record(outbox_worker *w, int code)
{
    int rc;
    if (code >= 200 && code < 300) {
        rc = store_outbox_mark_delivered(w->st, w->cur_id);
        metrics_outbox_attempt(METRICS_ATTEMPT_DELIVERED);
        log_debug("outbox: %s delivered (HTTP %d)", w->cur_id, code);
    } else {
        char why[200];
        unsigned attempts = (unsigned)w->cur_attempts + 1;
        bool park = attempts >= w->max_attempts;
        int64_t delay = outbox_backoff_ms(attempts, rng_next(w));
        if (code > 0)
            snprintf(why, sizeof(why), "HTTP %d", code);
        else if (w->tls_why[0])
            snprintf(why, sizeof(why), "no reply (TLS: %s)", w->tls_why);
        else if (w->cur_error == EVREQ_HTTP_TIMEOUT)
            snprintf(why, sizeof(why), "no reply (timed out after %d s)",
                     OUTBOX_REQUEST_TIMEOUT_S);
        else if (w->cur_error == EVREQ_HTTP_EOF)
            snprintf(why, sizeof(why), "no reply (connection closed)");
        else
            snprintf(why, sizeof(why), "no reply (connection failed)");
        rc = store_outbox_mark_failed(w->st, w->cur_id, why, date_wall_ms() + delay, park);
        metrics_outbox_attempt(park ? METRICS_ATTEMPT_PARKED : METRICS_ATTEMPT_FAILED);
        if (park)
            log_warn("outbox: %s parked as failed after %u attempts (%s)", w->cur_id, attempts,
                     why);
        else
            log_info("outbox: %s attempt %u failed (%s); retry in %lld ms", w->cur_id, attempts,
                     why, (long long)delay);
    }
    if (rc != 0)
        log_warn("outbox: cannot record the attempt of %s: %s", w->cur_id,
                 store_last_error(w->st));
    return rc;
}

static bool post(outbox_worker *w);

/* Called by libevent before on_reply(NULL) when a request failed. */
static void on_error(enum evhttp_request_error error, void *arg)
{
    outbox_worker *w = arg;
    w->cur_error = (int)error;
    if (w->tls)
        tls_failure(w);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    outbox_worker *w = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    w->inflight = false;
    if (w->stopping)
        return; /* abandoned: the event stays pending */
    /* The receiver had closed the kept connection: libevent has reset it,
     * so this request goes out on a new one (making a request from this
     * callback is allowed: the failed one is already off the queue). */
    if (code == 0 && w->cur_reused && !w->cur_resent && w->cur_error == EVREQ_HTTP_EOF) {
        w->cur_resent = true;
        log_debug("outbox: %s: the receiver had closed the connection; sending it again on a "
                  "new one",
                  w->cur_id);
        if (w->tls) { /* a TLS connection is made anew outside its own callback */
            w->resend_pending = true;
            event_active(w->wake_ev, EV_READ, 0);
            return;
        }
        if (post(w))
            return;
    }
    /* the next one at once; after a store failure, at the next poll */
    if (record(w, code) == 0)
        event_active(w->wake_ev, EV_READ, 0);
}

/* Whether the client holds an open connection from an earlier exchange. */
static bool conn_open(outbox_worker *w)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(w->conn);
    return bev && bufferevent_getfd(bev) >= 0;
}

/* Starts the POST of the current event (cur_id, cur_body); false if it
 * could not even be started (then it counts as a failed attempt). */
/* The X-Cpqd-Signature value: the current secret's signature, then
 * (during a rotation) the previous one's, comma-separated. */
static int sign_all(outbox_worker *w, const char *ts, const char *body, size_t len,
                    char out[2 * OUTBOX_SIG_LEN])
{
    char prev[OUTBOX_SIG_LEN];
    pthread_mutex_lock(&w->secret_mu);
    int rc = outbox_sign(w->secret, w->secret_len, ts, body, len, out);
    if (rc == 0 && w->prev && (rc = outbox_sign(w->prev, w->prev_len, ts, body, len, prev)) == 0)
        snprintf(out + strlen(out), OUTBOX_SIG_LEN + 1, ",%s", prev);
    pthread_mutex_unlock(&w->secret_mu);
    return rc;
}

static bool post(outbox_worker *w)
{
    char ts[24], sig[2 * OUTBOX_SIG_LEN];
    if (!w->cur_body)
        return false;
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    size_t len = strlen(w->cur_body);
    if (sign_all(w, ts, w->cur_body, len, sig) != 0)
        return false;
    struct evhttp_request *req = evhttp_request_new(on_reply, w);
    if (!req)
        return false;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", w->host_hdr);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "User-Agent", "cpqd-outbox");
    if (w->auth_hdr)
        evhttp_add_header(h, "Authorization", w->auth_hdr);
    evhttp_add_header(h, "X-Cpqd-Event-Id", w->cur_id);
    evhttp_add_header(h, "X-Cpqd-Timestamp", ts);
    evhttp_add_header(h, "X-Cpqd-Signature", sig);
    evbuffer_add(evhttp_request_get_output_buffer(req), w->cur_body, len);
    w->cur_reused = conn_open(w);
    w->cur_error = -1;
    w->tls_why[0] = '\0';
    w->conn_used = true;
    w->inflight = true;
    if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, w->target) != 0) {
        w->inflight = false;
        return false;
    }
    return true;
}

/* Sends the next due event, unless one is in flight. */
static void tick(outbox_worker *w)
{
    store_outbox_event *items = NULL;
    size_t n = 0;
    if (w->inflight || w->stopping)
        return;
    if (conn_refresh(w) != 0) {
        log_warn("outbox: cannot make a connection to %s (out of memory); retried at the next "
                 "poll",
                 w->url_shown);
        return;
    }
    if (w->resend_pending) {
        w->resend_pending = false;
        if (!post(w) && record(w, 0) == 0)
            event_active(w->wake_ev, EV_READ, 0);
        return;
    }
    if (store_outbox_due(w->st, date_wall_ms(), 1, &items, &n) != 0) {
        log_warn("outbox: cannot read due events: %s", store_last_error(w->st));
        return;
    }
    /* leased first: another instance sharing the database may be about
     * to deliver the same event; the one that leases it does */
    bool got = false;
    int64_t now = date_wall_ms();
    int crc = n == 1 ? store_outbox_claim(w->st, items[0].id, now,
                                          now + 1000 * (int64_t)w->lease_s, &got)
                     : 0;
    if (crc != 0)
        log_warn("outbox: cannot lease %s: %s", items[0].id, store_last_error(w->st));
    else if (n == 1 && !got)
        event_active(w->wake_ev, EV_READ, 0); /* another instance has it: the next one */
    if (n == 1 && got && items[0].damaged) {
        /* parked as failed with the reason: the events of its key wait
         * behind it (their order holds), every other key goes on */
        if (store_outbox_mark_failed(w->st, items[0].id, items[0].damaged, now, true) != 0)
            log_warn("outbox: cannot park %s: %s", items[0].id, store_last_error(w->st));
        else
            event_active(w->wake_ev, EV_READ, 0);
        metrics_outbox_attempt(METRICS_ATTEMPT_PARKED);
        log_error("outbox: %s parked as failed, not sent: %s", items[0].id, items[0].damaged);
    } else if (n == 1 && got) {
        snprintf(w->cur_id, sizeof(w->cur_id), "%s", items[0].id);
        w->cur_lease_ms = now + 1000 * (int64_t)w->lease_s;
        w->cur_attempts = items[0].attempts;
        free(w->cur_body);
        w->cur_body = items[0].body; /* taken */
        items[0].body = NULL;
        w->cur_resent = false;
        w->cur_error = -1;
        if (!post(w) && record(w, 0) == 0)
            event_active(w->wake_ev, EV_READ, 0);
    }
    for (size_t i = 0; i < n; i++)
        store_outbox_event_fini(&items[i]);
    free(items);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tick(arg);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    outbox_worker *w = arg;
    (void)fd, (void)what;
    /* an attempt in flight is abandoned: its lease is given back, so the
     * next start (or another instance) sends it again at once */
    if (w->inflight && store_outbox_release(w->st, w->cur_id, w->cur_lease_ms, date_wall_ms()) != 0)
        log_warn("outbox: cannot give back the lease of %s: %s", w->cur_id,
                 store_last_error(w->st));
    w->stopping = true;
    event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    outbox_worker *w = arg;
    tick(w); /* whatever a previous run left pending */
    event_base_dispatch(w->base);
    return NULL;
}

/* ---- start, stop ---- */

static void worker_free(outbox_worker *w)
{
    if (!w)
        return;
    if (w->conn)
        evhttp_connection_free(w->conn); /* frees an abandoned request, no callback */
    if (w->wake_ev)
        event_free(w->wake_ev);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->poll_ev)
        event_free(w->poll_ev);
    if (w->base)
        event_base_free(w->base);
    store_close(w->st);
    if (w->ssl_ctx)
        SSL_CTX_free(w->ssl_ctx);
    outbox_secret_free(w->prev, w->prev_len);
    pthread_mutex_destroy(&w->secret_mu);
    if (w->secret)
        OPENSSL_cleanse(w->secret, w->secret_len);
    if (w->auth_hdr)
        OPENSSL_cleanse(w->auth_hdr, strlen(w->auth_hdr));
    if (w->url)
        OPENSSL_cleanse(w->url, strlen(w->url));
    free(w->db_path), free(w->url), free(w->secret), free(w->host), free(w->target);
    free(w->cur_body), free(w->auth_hdr);
    free(w);
}

/* url with the password of its userinfo (between the first ':' after
 * "://" and the '@' ending the authority) replaced by "***", into out:
 * the only form of the URL that reaches a log line or an error. */
static void url_redact(const char *url, char *out, size_t cap)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        snprintf(out, cap, "%s", url);
    else
        snprintf(out, cap, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

/* 127.0.0.0/8, ::1 or localhost: a host whose traffic never leaves the
 * machine. */
static bool host_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char h[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2); /* an IPv6 literal keeps its brackets */
        h[n - 2] = '\0';
        host = h;
    }
    if (!strcasecmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* "Basic " + base64(user ":" password) from the URL's percent-encoded
 * userinfo (RFC 7617), into w->auth_hdr. Over http:// credentials go only
 * to a loopback host (a local proxy that terminates TLS towards the CRM):
 * anywhere else they would cross the network in clear text, so such a
 * URL is refused at start rather than its credentials dropped. Over
 * https:// they go to any host. */
static int basic_auth(outbox_worker *w, const char *userinfo, const char *host, char *why,
                      size_t cap)
{
    if (!w->tls && !host_loopback(host)) {
        snprintf(why, cap,
                 "%s: credentials in a webhook URL are sent only to a loopback host over "
                 "http:// (127.0.0.1, ::1, localhost; a local proxy terminating TLS), or over "
                 "https://: over http:// to %s they would cross the network in clear text",
                 w->url_shown, host);
        return CPQD_EINVAL;
    }
    size_t n = 0;
    char *plain = evhttp_uridecode(userinfo, 0, &n);
    if (!plain)
        return CPQD_ENOMEM;
    char *cred = malloc(n + 2);
    int rc = cred ? 0 : CPQD_ENOMEM;
    if (cred) {
        memcpy(cred, plain, n);
        if (!memchr(plain, ':', n)) /* user without a password: "user:" */
            cred[n++] = ':';
        w->auth_hdr = malloc(6 + 4 * ((n + 2) / 3) + 1);
        if (w->auth_hdr) {
            memcpy(w->auth_hdr, "Basic ", 6);
            EVP_EncodeBlock((unsigned char *)w->auth_hdr + 6, (const unsigned char *)cred, (int)n);
        } else {
            rc = CPQD_ENOMEM;
        }
        OPENSSL_cleanse(cred, n);
    }
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    free(cred);
    return rc;
}

/* Splits the URL into host, port, request target and credentials:
 * http:// or https://. why (cap bytes) says what is wrong, the URL's
 * password masked. */
static int url_parse(outbox_worker *w, char *why, size_t cap)
{
    struct evhttp_uri *u = evhttp_uri_parse(w->url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    const char *userinfo = u ? evhttp_uri_get_userinfo(u) : NULL;
    int rc = 0;
    url_redact(w->url, w->url_shown, sizeof(w->url_shown));
    w->tls = scheme && strcasecmp(scheme, "https") == 0;
    if (!scheme || (!w->tls && strcasecmp(scheme, "http") != 0) || !host || !*host) {
        snprintf(why, cap, "%s: expected http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH",
                 w->url_shown);
        rc = CPQD_EINVAL;
    } else if (userinfo && *userinfo && (rc = basic_auth(w, userinfo, host, why, cap)) != 0) {
        /* refused or no memory: said in why */
    } else {
        const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
        int dflt = w->tls ? 443 : 80;
        w->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : dflt;
        w->host = strdup(host);
        if (asprintf(&w->target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
                     query ? query : "") < 0)
            w->target = NULL;
        snprintf(w->host_hdr, sizeof(w->host_hdr), w->port == dflt ? "%s" : "%s:%d", host,
                 w->port);
        rc = w->host && w->target ? 0 : CPQD_ENOMEM;
    }
    if (u)
        evhttp_uri_free(u);
    return rc;
}

/* ---- TLS (https://) ---- */

/* The client context: TLS 1.2 at least, the peer's certificate verified
 * against ca_file (PEM) or the system's roots. */
static int tls_ctx_new(const char *ca_file, SSL_CTX **out, char *why, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    *out = NULL;
    if (!ctx)
        return CPQD_ENOMEM;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        snprintf(why, cap, "cannot load the CA certificates %s: %s",
                 ca_file ? ca_file : "of the system", e);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return CPQD_EINVAL;
    }
    *out = ctx;
    return 0;
}

/* One TLS session for a new connection: SNI for a host name, and the
 * certificate must name the host (a DNS name) or its IP address. */
static SSL *tls_session(outbox_worker *w)
{
    char h[64];
    const char *host = w->host;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        host = h;
    }
    SSL *ssl = SSL_new(w->ssl_ctx);
    if (!ssl)
        return NULL;
    struct in6_addr a6;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    bool ip = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                : (X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS),
                   X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 &&
                       SSL_set_tlsext_host_name(ssl, host) == 1);
    if (ok != 1) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* Why the TLS connection failed, into w->tls_why (from the verification
 * result, else OpenSSL's error queue, as libevent kept it). */
static void tls_failure(outbox_worker *w)
{
    struct bufferevent *bev = w->conn ? evhttp_connection_get_bufferevent(w->conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = bev ? bufferevent_get_openssl_error(bev) : 0;
    if (vr != X509_V_OK)
        snprintf(w->tls_why, sizeof(w->tls_why), "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e)
        ERR_error_string_n(e, w->tls_why, sizeof(w->tls_why));
    while (bev && bufferevent_get_openssl_error(bev))
        ;
}

/* The client connection to the webhook, plain or TLS. */
static struct evhttp_connection *conn_make(outbox_worker *w)
{
    if (!w->tls)
        return evhttp_connection_base_new(w->base, NULL, w->host, (unsigned short)w->port);
    SSL *ssl = tls_session(w);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
            : NULL;
    if (!bev) {
        if (ssl)
            SSL_free(ssl);
        return NULL;
    }
    /* receivers often close without a TLS close_notify: an end of stream */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    char h[64];
    const char *host = w->host;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        host = h;
    }
    struct evhttp_connection *c =
        evhttp_connection_base_bufferevent_new(w->base, NULL, bev, host, (unsigned short)w->port);
    if (!c)
        bufferevent_free(bev);
    return c;
}

/* Before an attempt: a TLS connection that carried a request and is
 * closed now is replaced by a fresh one (libevent 2.1 cannot reconnect a
 * TLS bufferevent); plain connections reconnect by themselves. */
static int conn_refresh(outbox_worker *w)
{
    if (w->conn && (!w->tls || !w->conn_used || conn_open(w)))
        return 0;
    if (w->conn)
        evhttp_connection_free(w->conn);
    w->conn = conn_make(w);
    w->conn_used = false;
    if (!w->conn)
        return CPQD_ENOMEM;
    evhttp_connection_set_timeout(w->conn, OUTBOX_REQUEST_TIMEOUT_S);
    evhttp_connection_set_retries(w->conn, 0);
    return 0;
}

static int worker_init(outbox_worker *w, const outbox_config *cfg)
{
    char why[768] = "";
    w->db_path = strdup(cfg->db_path);
    w->url = strdup(cfg->url);
    w->secret = malloc(cfg->secret_len);
    w->prev = cfg->prev ? malloc(cfg->prev_len) : NULL;
    if (!w->db_path || !w->url || !w->secret || (cfg->prev && !w->prev))
        return CPQD_ENOMEM;
    memcpy(w->secret, cfg->secret, cfg->secret_len);
    w->secret_len = cfg->secret_len;
    if (w->prev) {
        memcpy(w->prev, cfg->prev, cfg->prev_len);
        w->prev_len = cfg->prev_len;
    }
    w->max_attempts = cfg->max_attempts;
    w->lease_s = cfg->lease_s ? cfg->lease_s : OUTBOX_DEFAULT_LEASE_S;
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng) || w->rng == 0)
        w->rng = (uint64_t)date_wall_ms() | 1;
    int rc = url_parse(w, why, sizeof(why));
    if (rc == 0 && w->tls)
        rc = tls_ctx_new(cfg->ca_file, &w->ssl_ctx, why, sizeof(why));
    else if (rc == 0 && cfg->ca_file) {
        snprintf(why, sizeof(why), "%s: --webhook-ca is for an https:// webhook", w->url_shown);
        rc = CPQD_EINVAL;
    }
    if (rc) {
        if (why[0])
            log_error("--webhook %s", why);
        return rc;
    }
    if (store_open(w->db_path, false, &w->st, NULL) != 0) {
        char shown[1024]; /* a URL's password is never logged */
        log_error("outbox: cannot open the database %s",
                  store_location_redact(w->db_path, shown, sizeof(shown)));
        return CPQD_EIO;
    }
    struct timeval poll = {OUTBOX_POLL_MS / 1000, (OUTBOX_POLL_MS % 1000) * 1000};
    if (!(w->base = event_base_new()) || conn_refresh(w) != 0 ||
        !(w->wake_ev = event_new(w->base, -1, 0, on_wake, w)) ||
        !(w->stop_ev = event_new(w->base, -1, 0, on_stop, w)) ||
        !(w->poll_ev = event_new(w->base, -1, EV_PERSIST, on_wake, w)) ||
        event_add(w->poll_ev, &poll) != 0)
        return CPQD_ENOMEM;
    return 0;
}

int outbox_worker_start(const outbox_config *cfg, outbox_worker **out)
{
    *out = NULL;
    if (!cfg->db_path || !cfg->url || !cfg->secret || cfg->secret_len == 0 ||
        cfg->max_attempts < 1) {
        log_error("outbox: a webhook needs a URL, a non-empty secret and max attempts >= 1");
        return CPQD_EINVAL;
    }
    outbox_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return CPQD_ENOMEM;
    pthread_mutex_init(&w->secret_mu, NULL);
    int rc = worker_init(w, cfg);
    if (rc) {
        worker_free(w);
        return rc;
    }
    /* signals go to the main thread, never to this one */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!w->started) {
        worker_free(w);
        return CPQD_ENOMEM;
    }
    log_info("outbox: delivering events to %s (at most %u attempts each%s%s%s)", w->url_shown,
             w->max_attempts, w->auth_hdr ? ", with Basic credentials" : "",
             w->tls ? ", TLS with certificate verification" : "",
             w->prev ? ", signed with the current and the previous secret" : "");
    *out = w;
    return 0;
}

void outbox_worker_wake(outbox_worker *w)
{
    if (w)
        event_active(w->wake_ev, EV_READ, 0);
}

void outbox_worker_stop(outbox_worker *w)
{
    if (!w)
        return;
    if (w->started) {
        event_active(w->stop_ev, EV_READ, 0);
        pthread_join(w->thread, NULL);
    }
    worker_free(w);
}

void outbox_worker_set_secrets(outbox_worker *w, const char *secret, size_t len, const char *prev,
                               size_t prev_len)
{
    if (!w || !secret || !len)
        return;
    char *cur = malloc(len), *old = prev ? malloc(prev_len) : NULL;
    if (!cur || (prev && !old)) {
        free(cur);
        free(old);
        log_error("outbox: out of memory: the webhook secrets stay as they were");
        return;
    }
    memcpy(cur, secret, len);
    if (old)
        memcpy(old, prev, prev_len);
    pthread_mutex_lock(&w->secret_mu);
    char *c0 = w->secret, *p0 = w->prev;
    size_t c0n = w->secret_len, p0n = w->prev_len;
    w->secret = cur, w->secret_len = len;
    w->prev = old, w->prev_len = old ? prev_len : 0;
    pthread_mutex_unlock(&w->secret_mu);
    outbox_secret_free(c0, c0n);
    outbox_secret_free(p0, p0n);
    log_info("outbox: webhook secrets read again (%s)",
             old ? "signed with the current and the previous one" : "one secret");
}

int outbox_secret_read(const char *path, char **out, size_t *len, char why[])
{
    char *b = NULL;
    size_t n = 0;
    *out = NULL;
    *len = 0;
    int rc = file_read(path, OUTBOX_SECRET_MAX, &b, &n, why);
    while (rc == 0 && n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
        n--;
    if (rc == 0 && n == 0) {
        snprintf(why, FILE_WHY_MAX, "empty (a secret is 1 to %d bytes)", OUTBOX_SECRET_MAX);
        rc = CPQD_EINVAL;
    }
    if (rc) {
        outbox_secret_free(b, n);
        return rc;
    }
    *out = b;
    *len = n;
    return 0;
}

void outbox_secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, len);
    free(secret);
}

int outbox_url_check(const char *url, const char *ca_file, char *why, size_t cap)
{
    outbox_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return CPQD_ENOMEM;
    why[0] = '\0';
    w->url = strdup(url);
    int rc = w->url ? url_parse(w, why, cap) : CPQD_ENOMEM;
    if (rc == 0 && w->tls)
        rc = tls_ctx_new(ca_file, &w->ssl_ctx, why, cap);
    else if (rc == 0 && ca_file) {
        snprintf(why, cap, "%s: --webhook-ca is for an https:// webhook", w->url_shown);
        rc = CPQD_EINVAL;
    }
    if (w->ssl_ctx)
        SSL_CTX_free(w->ssl_ctx);
    if (w->auth_hdr)
        OPENSSL_cleanse(w->auth_hdr, strlen(w->auth_hdr));
    if (w->url)
        OPENSSL_cleanse(w->url, strlen(w->url));
    free(w->url), free(w->host), free(w->target), free(w->auth_hdr);
    free(w);
    return rc;
}
