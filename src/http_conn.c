/*
 * http_conn: one client connection, from accept to close.
 *
 * Owns: what evhttp 2.1 keeps no room for per connection: the request
 * deadline (a request's head and body must arrive within --timeout of its
 * first byte), the lingering close after an error reply, the count of
 * replies still being written (which the drain on shutdown waits for),
 * and accepting with a pause when descriptors run out.
 * Does not own: parsing (evhttp), routes and replies (http_route.c), the
 * listening socket and the threads (http.c).
 *
 * Why a deadline. evhttp's --timeout measures silence: a client sending
 * one header byte per second would hold its connection until the head
 * limit, some 18 hours. So the whole request gets --timeout from its
 * first byte; before that byte (a new connection, an idle keep-alive) the
 * silence limit alone applies, which is the same length.
 *
 * How it hooks in. evhttp 2.1 tells nobody when it accepts a connection
 * or starts a request (2.2 adds evhttp_set_newreqcb), but it lets the
 * server make each connection's bufferevent (evhttp_set_bevcb), and every
 * byte a client sends lands in that bufferevent's input buffer, whose
 * callbacks run before evhttp parses the bytes. So:
 *   - http_conn_bev_new makes the bufferevent and watches its input
 *     buffer (on_input); nothing is allocated yet, so a connection that
 *     never sends a byte costs nothing here;
 *   - at a connection's first byte on_input makes its http_conn, filed
 *     by socket descriptor in a per-worker table (descriptors are unique
 *     among open connections), and becomes the evhttp connection's close
 *     callback, which frees it: the record lives exactly as long as the
 *     connection;
 *   - the first byte of each request starts the deadline timer; the
 *     request's arrival, whole (http_conn_request_done, called by the
 *     router and by the protocol-error reply), stops it; the reply's
 *     completion makes the next byte start a new request;
 *   - a timer that fires finds the request incomplete and raises a read
 *     timeout on the bufferevent, evhttp's own path for its silence
 *     limit, which closes the connection without a reply.
 *
 * Lingering close. A connection closed while the client may still be
 * sending (an error reply, such as 413 for a declared body over
 * --max-body, answered as soon as the head is read) would be reset by the
 * kernel if unread bytes remain, and a reset can destroy the reply before
 * the client reads it. evhttp's own lingering reads the whole declared
 * body before it answers, so a client that declares 2 MB and sends
 * nothing waits for ever. Here the reply goes first; then, as evhttp
 * closes the socket, a duplicate of it is kept and read to the end (or
 * for --timeout at most) before it is closed.
 *
 * Descriptors. When accept() fails for want of descriptors the listening
 * socket stays readable: libevent would retry at once and log every
 * failure (215 MB in 25 s at 30% CPU). Instead the worker stops accepting
 * for HTTP_ACCEPT_PAUSE_MS after each failure (pending connections wait
 * in the kernel's backlog) and logs at most one line per
 * HTTP_ACCEPT_LOG_EVERY_S: the failures since the last line, with their
 * count, or that connections are accepted again after so many.
 *
 * Threads: everything here runs on the worker's own thread.
 */
#include "http_int.h"

#include "cpqd/limit.h"
#include "cpqd/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_ACCEPT_PAUSE_MS 100   /* no accept() for this long after one failed */
#define HTTP_ACCEPT_LOG_EVERY_S 10 /* at most one line per worker this often */
#define HTTP_LINGER_READ 16384     /* bytes dropped per read while lingering */

typedef enum conn_phase {
    CONN_IDLE,      /* between requests: evhttp's silence limit applies */
    CONN_READING,   /* a request has begun: the deadline runs */
    CONN_ANSWERING, /* the request is whole: its reply is being made or written */
} conn_phase;

struct http_conn {
    http_worker *w;
    struct bufferevent *bev; /* evhttp's, made by http_conn_bev_new */
    evutil_socket_t fd;      /* its socket, the key in w->conns */
    struct event *deadline;  /* fires if the request is still incomplete */
    conn_phase phase;
    bool replying; /* counted in w->inflight until its reply is written */
    bool linger;   /* read and drop the client's bytes after closing */
    char *slot;    /* the key id whose concurrency slot the request in answer holds */
};

struct http_linger {
    struct http_linger *prev, *next; /* w->lingers */
    http_worker *w;
    struct event *ev;
    evutil_socket_t fd;    /* a duplicate of the closed connection's socket */
    struct timespec until; /* CLOCK_MONOTONIC: closed then at the latest */
};

static struct timespec mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

/* ---- the table of connections, by descriptor ---- */

static http_conn *conn_by_fd(const http_worker *w, evutil_socket_t fd)
{
    return fd >= 0 && (size_t)fd < w->nconns ? w->conns[fd] : NULL;
}

/* Files c under its descriptor, growing the table. 0 or CPQD_ENOMEM. */
static int conn_file(http_worker *w, http_conn *c)
{
    size_t need = (size_t)c->fd + 1;
    if (need > w->nconns) {
        size_t n = w->nconns ? w->nconns : 64;
        while (n < need)
            n *= 2;
        http_conn **t = realloc(w->conns, n * sizeof(*t));
        if (!t)
            return CPQD_ENOMEM;
        memset(t + w->nconns, 0, (n - w->nconns) * sizeof(*t));
        w->conns = t;
        w->nconns = n;
    }
    w->conns[c->fd] = c;
    return 0;
}

/* The record of req's connection, or NULL if it has none. */
static http_conn *conn_of_req(struct evhttp_request *req)
{
    const http_worker *w = http_worker_self();
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    http_conn *c = w && bev ? conn_by_fd(w, bufferevent_getfd(bev)) : NULL;
    return c && c->bev == bev ? c : NULL;
}

/* ---- lingering close ---- */

static void linger_end(http_linger *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        l->w->lingers = l->next;
    if (l->next)
        l->next->prev = l->prev;
    event_free(l->ev);
    close(l->fd);
    free(l);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    http_linger *l = arg;
    char buf[HTTP_LINGER_READ];
    struct timespec now = mono_now();
    ssize_t n = what & EV_READ ? recv(fd, buf, sizeof(buf), 0) : 0;
    bool again = n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
    if (!again || now.tv_sec > l->until.tv_sec ||
        (now.tv_sec == l->until.tv_sec && now.tv_nsec >= l->until.tv_nsec))
        linger_end(l);
}

/* Keeps c's socket open on a duplicate and drops what the client still
 * sends, until it stops (end of stream, or --timeout of silence) or
 * --timeout has passed. Without a descriptor or memory to spare the
 * socket simply closes. */
static void linger_start(http_conn *c)
{
    http_worker *w = c->w;
    struct timeval most = {(time_t)w->cfg->timeout_s, 0};
    http_linger *l = calloc(1, sizeof(*l));
    evutil_socket_t fd = l ? fcntl(c->fd, F_DUPFD_CLOEXEC, 0) : -1;
    struct event *ev = fd >= 0 ? event_new(w->base, fd, EV_READ | EV_PERSIST, on_linger, l) : NULL;
    if (ev) {
        *l = (http_linger){.w = w, .ev = ev, .fd = fd, .until = mono_now(), .next = w->lingers};
        l->until.tv_sec += (time_t)w->cfg->timeout_s;
    }
    if (!ev || event_add(ev, &most) != 0) {
        if (ev)
            event_free(ev);
        if (fd >= 0)
            close(fd);
        free(l);
        return;
    }
    if (w->lingers)
        w->lingers->prev = l;
    w->lingers = l;
}

/* ---- one connection ---- */

static void deadline_start(http_conn *c)
{
    struct timeval limit = {(time_t)c->w->cfg->timeout_s, 0};
    c->phase = CONN_READING;
    event_add(c->deadline, &limit);
}

/* The request is still incomplete: the connection gets the read timeout
 * evhttp answers by closing it (and freeing c, through on_close). */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->phase != CONN_READING)
        return;
    log_debug("w%u: a request took over %us to arrive; closing its connection", c->w->id,
              c->w->cfg->timeout_s);
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* Gives back the concurrency slot the answered request held. */
static void slot_release(http_conn *c)
{
    if (!c->slot)
        return;
    limit_conc_release(c->slot);
    free(c->slot);
    c->slot = NULL;
}

/* evhttp's close callback: the connection is being freed. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    http_conn *c = arg;
    (void)evcon;
    slot_release(c);
    if (c->replying)
        c->w->inflight--;
    /* While the socket is open: evhttp deletes these events only after
     * closing it, and epoll would keep watching a socket that a lingering
     * duplicate keeps open. */
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (c->linger)
        linger_start(c);
    if (conn_by_fd(c->w, c->fd) == c)
        c->w->conns[c->fd] = NULL;
    event_free(c->deadline);
    free(c);
}

/* The record for bev's connection, at its first byte; NULL without
 * memory (the connection then has only the silence limit). */
static http_conn *conn_new(http_worker *w, struct bufferevent *bev)
{
    void *evcon = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
    http_conn *c = evcon ? calloc(1, sizeof(*c)) : NULL;
    if (!c)
        return NULL;
    *c = (http_conn){.w = w, .bev = bev, .fd = bufferevent_getfd(bev), .phase = CONN_IDLE};
    c->deadline = evtimer_new(w->base, on_deadline, c);
    if (!c->deadline || c->fd < 0 || conn_file(w, c) != 0) {
        if (c->deadline)
            event_free(c->deadline);
        free(c);
        return NULL;
    }
    evhttp_connection_set_closecb(evcon, on_close, c);
    return c;
}

/* Input buffer callback of every connection (arg: its bufferevent):
 * bytes after a pause between requests begin a request. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    http_worker *w = http_worker_self();
    (void)buf;
    if (info->n_added == 0 || !w)
        return;
    http_conn *c = conn_by_fd(w, bufferevent_getfd(bev));
    if (!c)
        c = conn_new(w, bev);
    if (c && c->bev == bev && c->phase == CONN_IDLE)
        deadline_start(c);
}

/* The reply to the connection's request is written. */
static void on_reply_done(struct evhttp_request *req, void *arg)
{
    http_conn *c = arg;
    (void)req;
    slot_release(c);
    c->replying = false;
    c->w->inflight--;
    c->phase = CONN_IDLE;
    /* a pipelined request that arrived meanwhile has begun already */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        deadline_start(c);
}

/* ---- what http.c and http_route.c call ---- */

/* ---- accept() failures ---- */

/* Writes what w has not reported about accept() yet, unless a line went
 * out less than HTTP_ACCEPT_LOG_EVERY_S ago: then w->accept_log_ev
 * reports it when that time is up. */
static void accept_report(http_worker *w)
{
    struct timespec now = mono_now();
    long since = (long)(now.tv_sec - w->accept_logged.tv_sec);
    if (w->accept_unlogged == 0 && !w->accept_recovered)
        return;
    if (w->accept_has_logged && since < HTTP_ACCEPT_LOG_EVERY_S) {
        struct timeval left = {HTTP_ACCEPT_LOG_EVERY_S - since, 0};
        if (!evtimer_pending(w->accept_log_ev, NULL))
            evtimer_add(w->accept_log_ev, &left);
        return;
    }
    if (w->accept_fails == 0)
        log_info("w%u: accepting connections again (%lu more failures since the last report: %s)",
                 w->id, w->accept_unlogged, strerror(w->accept_err));
    else
        log_warn("w%u: accept() failed %lu time%s since the last report: %s; new connections "
                 "wait in the backlog, retried every %d ms (at most one line per %d s)",
                 w->id, w->accept_unlogged, w->accept_unlogged == 1 ? "" : "s",
                 strerror(w->accept_err), HTTP_ACCEPT_PAUSE_MS, HTTP_ACCEPT_LOG_EVERY_S);
    w->accept_unlogged = 0;
    w->accept_recovered = false;
    w->accept_has_logged = true;
    w->accept_logged = now;
}

static void on_accept_log(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    accept_report(arg);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    http_worker *w = arg;
    (void)fd;
    (void)what;
    if (w->bound)
        evconnlistener_enable(evhttp_bound_socket_get_listener(w->bound));
}

void http_conn_accept_failed(struct evconnlistener *l, void *arg)
{
    int err = errno;
    http_worker *w = http_worker_self();
    struct timeval pause = {0, (suseconds_t)HTTP_ACCEPT_PAUSE_MS * 1000};
    (void)arg;
    if (!w)
        return;
    evconnlistener_disable(l);
    evtimer_add(w->accept_ev, &pause);
    w->accept_fails++;
    w->accept_unlogged++;
    w->accept_err = err;
    accept_report(w);
}

struct bufferevent *http_conn_bev_new(struct event_base *base, void *arg)
{
    http_worker *w = arg;
    if (w->accept_fails) { /* a connection was accepted: the failures are over */
        w->accept_fails = 0;
        w->accept_recovered = true;
        accept_report(w);
    }
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (bev && !evbuffer_add_cb(bufferevent_get_input(bev), on_input, bev)) {
        bufferevent_free(bev);
        bev = NULL;
    }
    return bev; /* NULL: evhttp makes its own, without a deadline */
}

void http_conn_request_done(struct evhttp_request *req)
{
    http_conn *c = conn_of_req(req);
    if (!c || c->replying)
        return;
    event_del(c->deadline);
    c->phase = CONN_ANSWERING;
    c->replying = true;
    c->w->inflight++;
    evhttp_request_set_on_complete_cb(req, on_reply_done, c);
}

bool http_conn_hold_slot(struct evhttp_request *req, const char *key_id)
{
    http_conn *c = conn_of_req(req);
    if (!c || !c->replying || c->slot || !(c->slot = strdup(key_id)))
        return false;
    return true;
}

void http_conn_linger(struct evhttp_request *req)
{
    http_conn *c = conn_of_req(req);
    if (c)
        c->linger = true;
}

int http_conn_init(http_worker *w)
{
    w->accept_ev = evtimer_new(w->base, on_accept_resume, w);
    w->accept_log_ev = evtimer_new(w->base, on_accept_log, w);
    return w->accept_ev && w->accept_log_ev ? 0 : CPQD_ENOMEM;
}

void http_conn_fini(http_worker *w)
{
    while (w->lingers)
        linger_end(w->lingers);
    if (w->accept_ev)
        event_free(w->accept_ev);
    if (w->accept_log_ev)
        event_free(w->accept_log_ev);
    w->accept_ev = w->accept_log_ev = NULL;
    free(w->conns);
    w->conns = NULL;
    w->nconns = 0;
}
