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
#include "cpqd/log.h"
#include "cpqd/store.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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
    char *db_path, *url, *secret;
    size_t secret_len;
    unsigned max_attempts;
    unsigned lease_s; /* the lease of an attempt */
    char *host;   /* of the URL */
    int port;     /* of the URL, 80 by default */
    char *target; /* path and query sent in the request line */
    char host_hdr[300];
    char *auth_hdr;      /* "Basic ..." from the URL's user:password, NULL if none */
    char url_shown[512]; /* the URL with its password masked: the only form logged */
    struct event_base *base;
    struct evhttp_connection *conn;
    struct event *wake_ev, *stop_ev, *poll_ev;
    store *st;
    pthread_t thread;
    bool started;
    bool stopping;                     /* delivery thread only */
    bool inflight;                     /* an attempt is waiting for its reply */
    char cur_id[STORE_OUTBOX_ID_LEN];  /* the event in flight */
    int cur_attempts;                  /* its attempts before this one */
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

/* Records the outcome of the attempt in flight. A failure to record is
 * logged: the event then stays pending as it was and is sent again (at
 * least once). */
static int record(outbox_worker *w, int code)
{
    int rc;
    if (code >= 200 && code < 300) {
        rc = store_outbox_mark_delivered(w->st, w->cur_id);
        log_debug("outbox: %s delivered (HTTP %d)", w->cur_id, code);
    } else {
        char why[64];
        unsigned attempts = (unsigned)w->cur_attempts + 1;
        bool park = attempts >= w->max_attempts;
        int64_t delay = outbox_backoff_ms(attempts, rng_next(w));
        if (code > 0)
            snprintf(why, sizeof(why), "HTTP %d", code);
        else if (w->cur_error == EVREQ_HTTP_TIMEOUT)
            snprintf(why, sizeof(why), "no reply (timed out after %d s)",
                     OUTBOX_REQUEST_TIMEOUT_S);
        else if (w->cur_error == EVREQ_HTTP_EOF)
            snprintf(why, sizeof(why), "no reply (connection closed)");
        else
            snprintf(why, sizeof(why), "no reply (connection failed)");
        rc = store_outbox_mark_failed(w->st, w->cur_id, why, date_wall_ms() + delay, park);
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
static bool post(outbox_worker *w)
{
    char ts[24], sig[OUTBOX_SIG_LEN];
    if (!w->cur_body)
        return false;
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    size_t len = strlen(w->cur_body);
    if (outbox_sign(w->secret, w->secret_len, ts, w->cur_body, len, sig) != 0)
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
    if (n == 1 && got) {
        snprintf(w->cur_id, sizeof(w->cur_id), "%s", items[0].id);
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
 * userinfo (RFC 7617), into w->auth_hdr. Credentials go only to a
 * loopback host (a local proxy that terminates TLS towards the CRM):
 * anywhere else http:// would carry them across the network in clear
 * text, so such a URL is refused at start rather than its credentials
 * dropped. */
static int basic_auth(outbox_worker *w, const char *userinfo, const char *host)
{
    if (!host_loopback(host)) {
        log_error("--webhook %s: credentials in a webhook URL are sent only to a loopback host "
                  "(127.0.0.1, ::1, localhost; a local proxy terminating TLS): over http:// to "
                  "%s they would cross the network in clear text",
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
 * http:// only. */
static int url_parse(outbox_worker *w)
{
    struct evhttp_uri *u = evhttp_uri_parse(w->url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    const char *userinfo = u ? evhttp_uri_get_userinfo(u) : NULL;
    int rc = 0;
    url_redact(w->url, w->url_shown, sizeof(w->url_shown));
    if (!scheme || strcasecmp(scheme, "http") != 0 || !host || !*host) {
        log_error("--webhook %s: expected http://HOST[:PORT]/PATH (https is not supported yet: "
                  "terminate TLS in a local proxy)",
                  w->url_shown);
        rc = CPQD_EINVAL;
    } else if (userinfo && *userinfo && (rc = basic_auth(w, userinfo, host)) != 0) {
        /* refused or no memory: said above */
    } else {
        const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
        w->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
        w->host = strdup(host);
        if (asprintf(&w->target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
                     query ? query : "") < 0)
            w->target = NULL;
        snprintf(w->host_hdr, sizeof(w->host_hdr), w->port == 80 ? "%s" : "%s:%d", host,
                 w->port);
        rc = w->host && w->target ? 0 : CPQD_ENOMEM;
    }
    if (u)
        evhttp_uri_free(u);
    return rc;
}

static int worker_init(outbox_worker *w, const outbox_config *cfg)
{
    w->db_path = strdup(cfg->db_path);
    w->url = strdup(cfg->url);
    w->secret = malloc(cfg->secret_len);
    if (!w->db_path || !w->url || !w->secret)
        return CPQD_ENOMEM;
    memcpy(w->secret, cfg->secret, cfg->secret_len);
    w->secret_len = cfg->secret_len;
    w->max_attempts = cfg->max_attempts;
    w->lease_s = cfg->lease_s ? cfg->lease_s : OUTBOX_DEFAULT_LEASE_S;
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng) || w->rng == 0)
        w->rng = (uint64_t)date_wall_ms() | 1;
    int rc = url_parse(w);
    if (rc)
        return rc;
    if (store_open(w->db_path, false, &w->st, NULL) != 0) {
        char shown[1024]; /* a URL's password is never logged */
        log_error("outbox: cannot open the database %s",
                  store_location_redact(w->db_path, shown, sizeof(shown)));
        return CPQD_EIO;
    }
    struct timeval poll = {OUTBOX_POLL_MS / 1000, (OUTBOX_POLL_MS % 1000) * 1000};
    if (!(w->base = event_base_new()) ||
        !(w->conn = evhttp_connection_base_new(w->base, NULL, w->host, (unsigned short)w->port)) ||
        !(w->wake_ev = event_new(w->base, -1, 0, on_wake, w)) ||
        !(w->stop_ev = event_new(w->base, -1, 0, on_stop, w)) ||
        !(w->poll_ev = event_new(w->base, -1, EV_PERSIST, on_wake, w)) ||
        event_add(w->poll_ev, &poll) != 0)
        return CPQD_ENOMEM;
    evhttp_connection_set_timeout(w->conn, OUTBOX_REQUEST_TIMEOUT_S);
    evhttp_connection_set_retries(w->conn, 0);
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
    log_info("outbox: delivering events to %s (at most %u attempts each%s)", w->url_shown,
             w->max_attempts, w->auth_hdr ? ", with Basic credentials" : "");
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
