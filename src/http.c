/*
 * http: the server's skeleton (see include/cpqd/http.h).
 *
 * Owns: the listening socket, worker threads (one event base and one
 * evhttp each, all accepting on dups of one socket), the limits set on
 * each evhttp, the main thread's signal events (SIGTERM/SIGINT: drain and
 * stop; SIGHUP: reload), reload serialisation and the drain.
 * Does not own: what happens to each connection (http_conn.c: request
 * deadline, lingering close, accept() failures), routes and replies
 * (http_route.c), JSON views (http_view.c), loading catalogs (cat).
 *
 * Globals: `http_self`, a thread-local pointer to the worker running on
 * this thread (NULL elsewhere), set once when a worker thread starts; it
 * exists for the libevent callbacks that carry no argument of ours
 * (evhttp_send_error in http_route.c; a connection's input buffer and the
 * listener's error callback in http_conn.c).
 *
 * Threads: the main thread runs an event base for signals only; signals
 * are blocked in the workers, so libevent's handlers run on the main
 * thread and never do work inside a signal handler. The main thread tells
 * a worker to drain with event_active() on its stop event, which is safe
 * across threads because evthread_use_pthreads() makes bases lockable.
 */
#include "http_int.h"

#include "cpqd/contract.h"
#include "cpqd/date.h"
#include "cpqd/file.h"
#include "cpqd/log.h"
#include "cpqd/outbox.h"
#include "cpqd/price.h"
#include "cpqd/quote.h"
#include "cpqd/solver.h"
#include "cpqd/store.h"
#include "cpqd/svc.h"

#include <errno.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_BACKLOG 1024
#define HTTP_DRAIN_TICK_MS 20

struct http_server {
    http_config cfg;
    evutil_socket_t fd;          /* the listening socket */
    struct event_base *base;     /* main thread: signals */
    struct event *sigs[3];       /* SIGTERM, SIGINT, SIGHUP */
    http_worker *workers;        /* cfg.threads */
    pthread_mutex_t reload_lock; /* serialises reloads */
    outbox_worker *outbox;       /* webhook delivery thread; NULL without --webhook */
    struct event *sweep_ev;      /* main thread: periodic receivables sweep; NULL if off */
    struct store *sweep_store;   /* its own connection, opened on first use */
    struct price_worker *sweep_price; /* made on first use */
    struct svc_writer *writer;   /* group commit of the quote family's writes */
    /* the write pool (http_int.h): cfg.write_threads threads, each with
     * its worker; the idle ones on a stack, tasks no idle thread took on
     * a queue; all guarded by pool_lock */
    struct pool_thread *pool;
    unsigned npool; /* threads started */
    pthread_mutex_t pool_lock;
    struct pool_thread *pool_idle; /* the most recently idle first */
    http_task *pool_head, *pool_tail;
    size_t pool_busy; /* tasks queued or running */
    unsigned pool_used; /* threads that have run a task */
    bool pool_stop;
};

static _Thread_local http_worker *http_self;

http_worker *http_worker_self(void)
{
    return http_self;
}

void http_config_init(http_config *cfg)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (http_config){
        .threads = n > 0 && n < 1024 ? (unsigned)n : 1,
        .write_threads = HTTP_DEFAULT_WRITE_THREADS,
        .max_body = HTTP_DEFAULT_MAX_BODY,
        .max_headers = HTTP_DEFAULT_MAX_HEADERS,
        .timeout_s = HTTP_DEFAULT_TIMEOUT,
        .webhook_max_attempts = OUTBOX_DEFAULT_MAX_ATTEMPTS,
        .sweep_every_s = HTTP_DEFAULT_SWEEP_EVERY,
        .event_retention_days = HTTP_DEFAULT_EVENT_RETENTION,
        .outbox_stuck_s = HTTP_DEFAULT_OUTBOX_STUCK,
    };
}

void http_outbox_wake(http_server *srv)
{
    outbox_worker_wake(srv->outbox);
}

/* ---- reload ---- */

static void log_errs(const cpqd_errs *errs)
{
    enum { LOG_MAX_ERRS = 1000 };
    size_t n = errs_count(errs);
    for (size_t i = 0; i < n && i < LOG_MAX_ERRS; i++) {
        char *line = errs_format(errs, i);
        log_error("reload: %s", line ? line : "(out of memory)");
        free(line);
    }
    if (n > LOG_MAX_ERRS)
        log_error("reload: ... and %zu more errors", n - LOG_MAX_ERRS);
}

static void copy_version(char *dst, const cat_snapshot *s)
{
    snprintf(dst, HTTP_VERSION_MAX, "%s", s ? cat_snapshot_version(s) : "");
}

/* Archives a freshly loaded snapshot's files in the store (quotes priced
 * on it re-price on exactly it later). A failure is logged, not fatal:
 * quote creation archives again if it finds none. */
static void archive(const char *db_path, const cat_snapshot *s)
{
    cpqd_errs *errs = errs_new();
    store *st = NULL;
    if (db_path && errs && store_open(db_path, false, &st, errs) == 0)
        quote_archive_snapshot(st, s, errs);
    for (size_t i = 0; errs && i < errs_count(errs); i++)
        log_warn("archiving catalog version %s: %s", cat_snapshot_version(s),
                 errs_get(errs, i)->msg);
    store_close(st);
    errs_free(errs);
}

/* Loads and publishes; the caller holds reload_lock. */
static int reload_locked(http_server *srv, cpqd_errs *errs, http_reload_result *res)
{
    cat_snapshot *old = cat_current_acquire();
    copy_version(res->previous, old);
    copy_version(res->version, old);
    cat_snapshot *fresh = cat_snapshot_load(srv->cfg.catalog_dir, srv->cfg.rules_dir, errs);
    int rc = 0;
    if (!fresh) {
        rc = errs_count(errs) ? CPQD_EINVAL : CPQD_ENOMEM;
        goto out;
    }
    copy_version(res->version, fresh);
    res->ncatalogs = cat_snapshot_catalog_count(fresh);
    res->nproducts = cat_snapshot_product_count(fresh);
    archive(srv->cfg.db_path, fresh);
    cat_current_publish_take(fresh); /* in-flight requests keep their own reference */
out:
    cat_snapshot_release(old);
    return rc;
}

int http_reload(http_server *srv, cpqd_errs *errs, http_reload_result *res)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&srv->reload_lock);
    int rc = reload_locked(srv, errs, res);
    pthread_mutex_unlock(&srv->reload_lock);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (rc == 0) {
        log_info("reload: version %s -> %s (%zu catalogs, %zu products, %ld ms)", res->previous,
                 res->version, res->ncatalogs, res->nproducts, ms);
        return 0;
    }
    errs_sort(errs);
    log_error("reload failed with %zu errors (%s); the previous snapshot keeps serving",
              errs_count(errs), err_code_name(rc));
    log_errs(errs);
    return rc;
}

/* ---- workers ---- */

static void worker_drain_check(evutil_socket_t fd, short what, void *arg)
{
    http_worker *w = arg;
    struct timespec now;
    (void)fd;
    (void)what;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bool late = now.tv_sec > w->drain_deadline.tv_sec;
    if ((w->inflight == 0 && w->pending == 0) || late) {
        if (w->inflight || w->pending)
            log_warn("w%u: drain deadline passed with %zu replies unfinished", w->id,
                     w->inflight > w->pending ? w->inflight : w->pending);
        event_base_loopexit(w->base, NULL);
    }
}

/* Runs on the worker: stop accepting, then wait for replies in flight. */
static void worker_stop(evutil_socket_t fd, short what, void *arg)
{
    http_worker *w = arg;
    struct timeval tick = {0, (suseconds_t)HTTP_DRAIN_TICK_MS * 1000};
    (void)fd;
    (void)what;
    if (w->draining)
        return;
    w->draining = true;
    if (w->bound) {
        evhttp_del_accept_socket(w->http, w->bound); /* closes this worker's dup */
        w->bound = NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &w->drain_deadline);
    w->drain_deadline.tv_sec += 2 * (time_t)w->cfg->timeout_s + 5;
    if ((w->inflight == 0 && w->pending == 0) || !w->drain_ev ||
        event_add(w->drain_ev, &tick) != 0)
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    http_self = w;
    event_base_dispatch(w->base);
    http_self = NULL;
    return NULL;
}

static int worker_evhttp(http_worker *w)
{
    const http_config *cfg = w->cfg;
    w->http = evhttp_new(w->base);
    if (!w->http)
        return CPQD_ENOMEM;
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* A declared body over the limit is answered 413 as soon as the head
     * is read (evhttp's lingering mode would first wait for the whole
     * body); http_conn drops what the client still sends after the reply,
     * so that it reads the 413 rather than a reset. */
    evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_headers);
    evhttp_set_timeout(w->http, (int)cfg->timeout_s);
    evhttp_set_default_content_type(w->http, "application/json");
    evhttp_set_gencb(w->http, http_route_request, w);
    evhttp_set_bevcb(w->http, http_conn_bev_new, w);
    return http_conn_init(w);
}

/* Accepts on a dup of the listening socket fd through a listener of our
 * own (as evhttp_accept_socket_with_handle would make it), to handle
 * accept() failures (http_conn_accept_failed). */
static int worker_listen(http_worker *w, evutil_socket_t fd)
{
    const unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE;
    evutil_socket_t dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0)
        return CPQD_EIO;
    /* backlog 0: listen() was called already */
    struct evconnlistener *l = evconnlistener_new(w->base, NULL, NULL, flags, 0, dup);
    if (!l) {
        close(dup);
        return CPQD_ENOMEM;
    }
    w->bound = evhttp_bind_listener(w->http, l); /* sets the accept callback */
    if (!w->bound) {
        evconnlistener_free(l); /* closes dup */
        return CPQD_ENOMEM;
    }
    evconnlistener_set_error_cb(l, http_conn_accept_failed);
    return 0;
}

static int worker_init(http_server *srv, http_worker *w, unsigned id)
{
    w->srv = srv;
    w->cfg = &srv->cfg;
    w->id = id;
    w->writer = srv->writer;
    w->base = event_base_new();
    if (!w->base)
        return CPQD_ENOMEM;
    w->stop_ev = event_new(w->base, -1, 0, worker_stop, w);
    w->drain_ev = event_new(w->base, -1, EV_PERSIST, worker_drain_check, w);
    if (!w->stop_ev || !w->drain_ev)
        return CPQD_ENOMEM;
    int rc = worker_evhttp(w);
    return rc ? rc : worker_listen(w, srv->fd);
}

/* Frees what worker_init made; the thread must have ended. evhttp_free
 * closes the connections still open (idle keep-alives after a drain). */
static void worker_fini(http_worker *w)
{
    price_worker_free(w->price);
    store_close(w->store);
    solver_ctx_free(w->solver);
    if (w->http)
        evhttp_free(w->http);
    http_conn_fini(w);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->base)
        event_base_free(w->base);
}

/* ---- the write pool (http_int.h) ----
 * A task goes to the thread that became idle last: under a light load the
 * same few threads take every write, with their pricing engines, database
 * connections and caches warm, and the others never make theirs. */

typedef struct pool_thread {
    http_worker w;            /* its resources; no event base */
    pthread_cond_t wake;      /* a task was handed to it, or pool_stop */
    http_task *task;          /* handed to it while it was idle */
    bool used;                /* it has run a task (pool_lock) */
    struct pool_thread *next; /* on srv->pool_idle */
} pool_thread;

static void *pool_main(void *arg)
{
    pool_thread *pt = arg;
    http_server *srv = pt->w.srv;
    pthread_setname_np(pthread_self(), "cpqd-write"); /* for top -H and perf */
    pthread_mutex_lock(&srv->pool_lock);
    for (;;) {
        http_task *t = pt->task;
        pt->task = NULL;
        if (!t && srv->pool_head) {
            t = srv->pool_head;
            srv->pool_head = t->next;
            if (!srv->pool_head)
                srv->pool_tail = NULL;
        }
        if (!t && srv->pool_stop)
            break; /* stopping, and every queued task has run */
        if (t && !pt->used) {
            pt->used = true;
            srv->pool_used++;
        }
        if (!t) {
            /* idle: the queue is empty; a task is handed to the thread idle last */
            pt->next = srv->pool_idle;
            srv->pool_idle = pt;
            while (!pt->task && !srv->pool_stop)
                pthread_cond_wait(&pt->wake, &srv->pool_lock);
            continue;
        }
        pthread_mutex_unlock(&srv->pool_lock);
        t->run(t, &pt->w);
        /* idle before the result goes out, so that the request it lets
         * the client send next finds this thread on top of the stack */
        pthread_mutex_lock(&srv->pool_lock);
        srv->pool_busy--;
        bool idle = !srv->pool_head && !srv->pool_stop;
        if (idle) {
            pt->next = srv->pool_idle;
            srv->pool_idle = pt;
        }
        pthread_mutex_unlock(&srv->pool_lock);
        t->post(t); /* t is not ours any more */
        pthread_mutex_lock(&srv->pool_lock);
        while (idle && !pt->task && !srv->pool_stop)
            pthread_cond_wait(&pt->wake, &srv->pool_lock);
    }
    pthread_mutex_unlock(&srv->pool_lock);
    return NULL;
}

bool http_pool_submit(http_server *srv, http_task *t)
{
    pthread_mutex_lock(&srv->pool_lock);
    bool open = srv->npool > 0 && !srv->pool_stop;
    if (open && srv->pool_idle) { /* the queue is empty: hand it over */
        pool_thread *pt = srv->pool_idle;
        srv->pool_idle = pt->next;
        pt->task = t;
        srv->pool_busy++;
        pthread_cond_signal(&pt->wake);
    } else if (open) {
        t->next = NULL;
        if (srv->pool_tail)
            srv->pool_tail->next = t;
        else
            srv->pool_head = t;
        srv->pool_tail = t;
        srv->pool_busy++;
    }
    pthread_mutex_unlock(&srv->pool_lock);
    return open;
}

void http_pool_load(http_server *srv, unsigned *threads, unsigned *used, size_t *busy)
{
    pthread_mutex_lock(&srv->pool_lock);
    *threads = srv->npool;
    *used = srv->pool_used;
    *busy = srv->pool_busy;
    pthread_mutex_unlock(&srv->pool_lock);
}

/* Starts the pool's threads (with a writer only: reads never go there).
 * The caller blocks the signals the main thread handles. */
static int pool_start(http_server *srv)
{
    unsigned n = srv->writer ? srv->cfg.write_threads : 0;
    if (n == 0)
        return 0;
    srv->pool = calloc(n, sizeof(*srv->pool));
    if (!srv->pool)
        return CPQD_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        pool_thread *pt = &srv->pool[i];
        pt->w = (http_worker){.srv = srv, .cfg = &srv->cfg, .id = srv->cfg.threads + i,
                              .writer = srv->writer};
        pthread_cond_init(&pt->wake, NULL);
        if (pthread_create(&pt->w.thread, NULL, pool_main, pt) != 0) {
            pthread_cond_destroy(&pt->wake);
            return CPQD_ENOMEM;
        }
        pt->w.started = true;
        pthread_mutex_lock(&srv->pool_lock);
        srv->npool = i + 1;
        pthread_mutex_unlock(&srv->pool_lock);
    }
    return 0;
}

/* Runs what is queued, then ends the pool's threads and frees their
 * resources. Replies finished meanwhile wait on their workers' bases
 * (workers_flush). */
static void pool_stop(http_server *srv)
{
    if (!srv->pool)
        return;
    pthread_mutex_lock(&srv->pool_lock);
    srv->pool_stop = true;
    for (unsigned i = 0; i < srv->npool; i++)
        pthread_cond_signal(&srv->pool[i].wake);
    pthread_mutex_unlock(&srv->pool_lock);
    for (unsigned i = 0; i < srv->cfg.write_threads; i++) {
        pool_thread *pt = &srv->pool[i];
        if (pt->w.started) {
            pthread_join(pt->w.thread, NULL);
            pthread_cond_destroy(&pt->wake);
        }
        worker_fini(&pt->w);
    }
    free(srv->pool);
    srv->pool = NULL;
}

/* After the workers and the pool stopped: sends the replies of
 * operations the pool finished after their worker's loop had ended (its
 * drain deadline passed), on this thread, so that nothing of theirs is
 * left behind. */
static void workers_flush(http_server *srv)
{
    for (unsigned i = 0; srv->workers && i < srv->cfg.threads; i++) {
        http_worker *w = &srv->workers[i];
        if (!w->base || w->pending == 0)
            continue;
        http_self = w;
        event_base_loop(w->base, EVLOOP_NONBLOCK);
        http_self = NULL;
    }
}

/* Starts every worker thread with the signals the main thread handles
 * blocked, so they are delivered to the main thread only. */
static int workers_start(http_server *srv)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    for (unsigned i = 0; i < srv->cfg.threads && rc == 0; i++) {
        http_worker *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            rc = CPQD_ENOMEM;
        else
            w->started = true;
    }
    if (rc == 0)
        rc = pool_start(srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Tells every started worker to drain and waits for all of them. */
static void workers_stop(http_server *srv)
{
    if (!srv->workers)
        return;
    for (unsigned i = 0; i < srv->cfg.threads; i++) {
        if (srv->workers[i].started)
            event_active(srv->workers[i].stop_ev, EV_READ, 0);
    }
    for (unsigned i = 0; i < srv->cfg.threads; i++) {
        if (srv->workers[i].started)
            pthread_join(srv->workers[i].thread, NULL);
        srv->workers[i].started = false;
    }
}

/* ---- listening socket ---- */

/* Parses "A.B.C.D:PORT" or "[IPv6]:PORT" (numeric only, port 0..65535;
 * port 0 lets the kernel choose). Returns 0 or CPQD_EINVAL. */
static int listen_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    unsigned long port = 0;
    char *end = NULL;
    if (!colon || hl == 0 || hl >= sizeof(host) || !colon[1])
        return CPQD_EINVAL;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return CPQD_EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (addr[0] == '[' && addr[hl - 1] == ']') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        snprintf(host, sizeof(host), "%.*s", (int)hl - 2, addr + 1);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return evutil_inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : CPQD_EINVAL;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    snprintf(host, sizeof(host), "%.*s", (int)hl, addr);
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *len = sizeof(*in);
    return evutil_inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : CPQD_EINVAL;
}

/* Binds and listens on addr. */
static int listen_open(const char *addr, bool loopback_only, evutil_socket_t *out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (listen_parse(addr, &ss, &len) != 0) {
        log_error("invalid listen address '%s' (expected IPv4:PORT or [IPv6]:PORT)", addr);
        return CPQD_EINVAL;
    }
    bool loopback = ss.ss_family == AF_INET
                        ? (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127
                        : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    if (loopback_only && !loopback) {
        log_error("--keys is required to listen on %s: without API keys only a loopback "
                  "address is allowed",
                  addr);
        return CPQD_EINVAL;
    }
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    /* TCP_NODELAY (inherited by accepted sockets on Linux): a reply
     * written in two segments must not wait for the client's delayed ACK
     * (Nagle), which costs 40 ms per keep-alive request */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, HTTP_BACKLOG) != 0) {
        log_error("cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CPQD_EIO;
    }
    *out = fd;
    return 0;
}

/* "ADDR:PORT" of the bound socket (the port is real even for port 0). */
static void listen_name(evutil_socket_t fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[64] = "?";
    unsigned port = 0;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, cap, "%s:%u", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(buf, cap, "[%s]:%u", host, port);
    }
}

/* ---- periodic sweep (main thread) ---- */

/* Deletes the events delivered more than event_retention_days ago
 * (docs/events.md "Retention"). */
static int sweep_prune(http_server *srv, cpqd_errs *errs)
{
    struct timespec now;
    int64_t n = 0;
    if (!srv->cfg.event_retention_days)
        return 0;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t before = ((int64_t)now.tv_sec - (int64_t)srv->cfg.event_retention_days * 86400) * 1000;
    int rc = store_outbox_prune(srv->sweep_store, before, &n);
    if (rc)
        errs_add(errs, rc, NULL, 0, 0, "pruning delivered events: %s",
                 store_last_error(srv->sweep_store));
    else if (n)
        log_info("sweep: %lld delivered events older than %u days pruned", (long long)n,
                 srv->cfg.event_retention_days);
    return rc;
}

/* One sweep as POST /v1/receivables/sweep with an empty body would run
 * it (as_of today UTC, the default window), as an internal admin. */
static int sweep_run(http_server *srv, cpqd_errs *errs, char **summary)
{
    if (!srv->sweep_store && store_open(srv->cfg.db_path, false, &srv->sweep_store, errs) != 0)
        return CPQD_EIO;
    if (!srv->sweep_price && !(srv->sweep_price = price_worker_new()))
        return CPQD_ENOMEM;
    cat_snapshot *snap = cat_current_acquire();
    if (!snap) {
        errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "no catalog snapshot");
        return CPQD_ENOTFOUND;
    }
    svc_caller who = {.key_id = "sweep", .role = AUTH_ROLE_ADMIN};
    quote_usage usage;
    quote_usage_init(&usage, srv->sweep_store);
    svc_ctx qc = {.st = srv->sweep_store,
                    .snap = snap,
                    .pw = srv->sweep_price,
                    .usage = &usage.base,
                    .caller = &who,
                    .today = date_today()};
    svc_reply r = {.created = 0};
    int rc = contract_sweep(&qc, "", 0, &r, errs);
    cat_snapshot_release(snap);
    *summary = r.body;
    return rc ? rc : sweep_prune(srv, errs);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    http_server *srv = arg;
    (void)fd;
    (void)what;
    cpqd_errs *errs = errs_new();
    char *summary = NULL;
    int rc = errs ? sweep_run(srv, errs, &summary) : CPQD_ENOMEM;
    if (rc == 0) {
        log_info("sweep: %s", summary ? summary : "{}");
        http_outbox_wake(srv);
    } else {
        log_error("sweep failed (%s)", err_code_name(rc));
        for (size_t i = 0; errs && i < errs_count(errs); i++)
            log_error("sweep: %s", errs_get(errs, i)->msg);
        /* a broken connection is reopened on the next tick */
        store_close(srv->sweep_store);
        srv->sweep_store = NULL;
    }
    free(summary);
    errs_free(errs);
}

static int sweep_init(http_server *srv)
{
    if (srv->cfg.sweep_every_s == 0 || !srv->cfg.db_path)
        return 0;
    struct timeval every = {(time_t)srv->cfg.sweep_every_s, 0};
    srv->sweep_ev = event_new(srv->base, -1, EV_PERSIST, on_sweep, srv);
    if (!srv->sweep_ev || event_add(srv->sweep_ev, &every) != 0)
        return CPQD_ENOMEM;
    return 0;
}

/* ---- signals (main thread) ---- */

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    http_server *srv = arg;
    (void)what;
    log_info("received %s: no longer accepting, draining in-flight requests",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Once every worker has dropped its dup too, the socket is closed and
     * new connections are refused instead of queueing unanswered. */
    close(srv->fd);
    srv->fd = -1;
    event_base_loopexit(srv->base, NULL);
}

/* SIGHUP: the webhook secrets are read again from their files, so that a
 * rotation needs no restart (docs/events.md): an empty or missing
 * previous-secret file ends a rotation (one signature again); a current
 * secret that cannot be read keeps the secrets in force. */
static void hup_secrets(http_server *srv)
{
    const http_config *cfg = &srv->cfg;
    char *cur = NULL, *prev = NULL, why[FILE_WHY_MAX];
    size_t n = 0, pn = 0;
    if (!srv->outbox || !cfg->webhook_secret_file)
        return;
    const char *bad = NULL;
    int rc = 0;
    if (outbox_secret_read(cfg->webhook_secret_file, &cur, &n, why) != 0)
        bad = cfg->webhook_secret_file;
    else if (cfg->webhook_secret_previous_file &&
             (rc = outbox_secret_read(cfg->webhook_secret_previous_file, &prev, &pn, why)) != 0 &&
             rc != CPQD_ENOTFOUND && rc != CPQD_EINVAL)
        bad = cfg->webhook_secret_previous_file;
    /* a previous-secret file emptied or removed ends the rotation */
    if (bad)
        log_error("webhook secret %s: %s; the secrets in force stay", bad, why);
    else
        outbox_worker_set_secrets(srv->outbox, cur, n, prev, pn);
    outbox_secret_free(cur, n);
    outbox_secret_free(prev, pn);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    http_server *srv = arg;
    http_reload_result res;
    (void)sig;
    (void)what;
    log_info("received SIGHUP: reloading catalogs from %s", srv->cfg.catalog_dir);
    cpqd_errs *errs = errs_new();
    if (!errs) {
        log_error("reload: out of memory");
        return;
    }
    http_reload(srv, errs, &res); /* logs its outcome */
    errs_free(errs);
    if (srv->cfg.keyring)
        auth_keyring_reload(srv->cfg.keyring); /* logs its outcome */
    hup_secrets(srv);
}

static int signals_init(http_server *srv)
{
    static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        event_callback_fn fn = sigs[i] == SIGHUP ? on_hup : on_stop_signal;
        srv->sigs[i] = evsignal_new(srv->base, sigs[i], fn, srv);
        if (!srv->sigs[i] || evsignal_add(srv->sigs[i], NULL) != 0)
            return CPQD_ENOMEM;
    }
    return 0;
}

/* ---- the server ---- */

static int config_check(const http_config *cfg)
{
    if (!cfg->listen || !cfg->catalog_dir || cfg->threads < 1 || cfg->threads > 1024 ||
        cfg->write_threads > 1024 || cfg->timeout_s < 1 || cfg->max_body < 1 ||
        cfg->max_body > (size_t)1 << 40 || cfg->max_headers < 256 ||
        cfg->max_headers > (size_t)1 << 30) {
        log_error("invalid server configuration");
        return CPQD_EINVAL;
    }
    return 0;
}

static void server_free(http_server *srv)
{
    if (!srv)
        return;
    workers_stop(srv);
    pool_stop(srv);                  /* every write handed to it has run */
    workers_flush(srv);              /* and is answered */
    svc_writer_stop(srv->writer);    /* after the drain: every write was answered */
    outbox_worker_stop(srv->outbox); /* after the drain: it may have committed events */
    for (unsigned i = 0; srv->workers && i < srv->cfg.threads; i++)
        worker_fini(&srv->workers[i]);
    free(srv->workers);
    for (size_t i = 0; i < 3; i++) {
        if (srv->sigs[i])
            event_free(srv->sigs[i]);
    }
    if (srv->sweep_ev)
        event_free(srv->sweep_ev);
    store_close(srv->sweep_store);
    price_worker_free(srv->sweep_price);
    if (srv->base)
        event_base_free(srv->base);
    if (srv->fd >= 0)
        close(srv->fd);
    pthread_mutex_destroy(&srv->reload_lock);
    pthread_mutex_destroy(&srv->pool_lock);
    free(srv);
}

static http_server *server_new(const http_config *cfg, int *err)
{
    http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        *err = CPQD_ENOMEM;
        return NULL;
    }
    srv->cfg = *cfg;
    srv->fd = -1;
    pthread_mutex_init(&srv->reload_lock, NULL);
    pthread_mutex_init(&srv->pool_lock, NULL);
    srv->workers = calloc(cfg->threads, sizeof(*srv->workers));
    srv->base = event_base_new();
    *err = srv->workers && srv->base ? listen_open(cfg->listen, cfg->keyring == NULL, &srv->fd) : CPQD_ENOMEM;
    if (*err == 0)
        *err = signals_init(srv);
    if (*err == 0)
        *err = sweep_init(srv);
    if (*err == 0 && cfg->db_path)
        *err = svc_writer_start(cfg->db_path, &srv->writer);
    for (unsigned i = 0; *err == 0 && i < cfg->threads; i++)
        *err = worker_init(srv, &srv->workers[i], i);
    if (*err == 0 && cfg->webhook_url) {
        outbox_config oc = {.db_path = cfg->db_path,
                            .url = cfg->webhook_url,
                            .secret = cfg->webhook_secret,
                            .secret_len = cfg->webhook_secret_len,
                            .prev = cfg->webhook_secret_previous,
                            .prev_len = cfg->webhook_secret_previous_len,
                            .ca_file = cfg->webhook_ca,
                            .max_attempts = cfg->webhook_max_attempts,
                            .lease_s = cfg->webhook_lease_s};
        *err = outbox_worker_start(&oc, &srv->outbox);
    }
    if (*err) {
        server_free(srv);
        return NULL;
    }
    return srv;
}

int http_serve(const http_config *cfg)
{
    int rc = config_check(cfg);
    if (rc)
        return rc;
    /* Before any base exists: makes bases lockable, so the main thread may
     * activate a worker's stop event. */
    if (evthread_use_pthreads() != 0) {
        log_error("libevent has no pthreads support");
        return CPQD_EINTERNAL;
    }
    /* jansson seeds its hash function on first use; do it before any
     * worker thread can race for it. */
    json_object_seed(0);
    /* A client that disconnects mid-reply must cost an EPIPE, not the
     * process (libevent writes with writev, without MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    http_server *srv = server_new(cfg, &rc);
    if (!srv)
        return rc;
    rc = workers_start(srv);
    if (rc == 0) {
        char name[96];
        listen_name(srv->fd, name, sizeof(name));
        log_info("listening on %s (%u threads, %u write threads, max body %zu bytes, "
                 "timeout %us)",
                 name, cfg->threads, srv->npool, cfg->max_body, cfg->timeout_s);
        if (srv->sweep_ev)
            log_info("receivables sweep every %us", cfg->sweep_every_s);
        event_base_dispatch(srv->base);
    } else {
        log_error("cannot start worker threads");
    }
    server_free(srv); /* drains: stops accepting, waits for in-flight replies */
    if (rc == 0)
        log_info("stopped");
    return rc;
}
