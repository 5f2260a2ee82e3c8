/*
 * bench_hello: the reference of issue 17's HTTP edge row, a bare libevent
 * evhttp server answering every request with 200 "ok\n": THREADS
 * threads (default 2), each with its own event base and evhttp on its own
 * listening socket bound to the same port with SO_REUSEPORT (the kernel
 * spreads connections over them). No routing, limits, logging or JSON:
 * what `GET /healthz` of cpqd serve costs beyond this is the service's.
 *
 *   bench_hello PORT [THREADS [BODY_FILE]]
 *       (127.0.0.1 only; SIGTERM or SIGINT stops it)
 *
 * make bench runs wrk on it right after the /healthz run and prints the
 * ratio of the two rates. With BODY_FILE every answer is that file's bytes
 * (application/json) instead: make bench gives it a 20-line price reply,
 * which shows what carrying those bytes alone costs, the ceiling of the
 * price ÷ healthz ratio whatever the pricing costs.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 16

typedef struct worker {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
} worker;

typedef struct body {
    const char *text, *type;
    size_t len;
} body;

static void hello(struct evhttp_request *req, void *arg)
{
    const body *b = arg;
    evbuffer_add(evhttp_request_get_output_buffer(req), b->text, b->len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", b->type);
    evhttp_send_reply(req, 200, "OK", NULL);
}

/* The whole of path, malloc'ed, in b; -1 when it cannot be read. */
static int body_read(const char *path, body *b)
{
    FILE *f = fopen(path, "rb");
    char *t = NULL;
    size_t n = 0, cap = 0, got = 0;
    int bad = !f;
    while (!bad) {
        if (n == cap) {
            char *g = realloc(t, cap = cap ? 2 * cap : 65536);
            if (!g) {
                bad = 1;
                break;
            }
            t = g;
        }
        if ((got = fread(t + n, 1, cap - n, f)) == 0)
            break;
        n += got;
    }
    if (f && ferror(f))
        bad = 1;
    if (f)
        fclose(f);
    if (bad) {
        free(t);
        return -1;
    }
    *b = (body){t, "application/json", n};
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static int worker_start(worker *w, int port, body *b)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    w->base = event_base_new();
    w->http = w->base ? evhttp_new(w->base) : NULL;
    if (!w->http)
        return -1;
    struct evconnlistener *l = evconnlistener_new_bind(
        w->base, NULL, NULL,
        LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE,
        -1, (struct sockaddr *)&sa, sizeof(sa));
    if (!l)
        return -1;
    /* TCP_NODELAY, inherited by the accepted sockets on Linux, as cpqd
     * serve sets it: a reply of several segments would otherwise wait for
     * the client's delayed ACK */
    int one = 1;
    if (setsockopt(evconnlistener_get_fd(l), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
        evconnlistener_free(l);
        return -1;
    }
    if (!evhttp_bind_listener(w->http, l)) {
        evconnlistener_free(l);
        return -1;
    }
    evhttp_set_gencb(w->http, hello, b);
    return pthread_create(&w->thread, NULL, worker_main, w) ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_hello PORT [THREADS [BODY_FILE]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int n = argc > 2 ? atoi(argv[2]) : 2;
    if (port <= 0 || port > 65535 || n < 1 || n > MAX_THREADS) {
        fprintf(stderr, "bench_hello: bad port or thread count\n");
        return 2;
    }
    body b = {"ok\n", "text/plain", 3};
    if (argc > 3 && body_read(argv[3], &b) != 0) {
        fprintf(stderr, "bench_hello: cannot read %s\n", argv[3]);
        return 2;
    }
    if (evthread_use_pthreads() != 0)
        return 1;
    /* the workers inherit the mask: only the main thread takes the signal */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    worker w[MAX_THREADS];
    memset(w, 0, sizeof(w));
    int started = 0, rc = 0;
    for (; started < n; started++)
        if (worker_start(&w[started], port, &b) != 0) {
            fprintf(stderr, "bench_hello: cannot serve on 127.0.0.1:%d\n", port);
            rc = 1;
            break;
        }
    if (!rc) {
        int sig;
        sigwait(&set, &sig);
    }
    for (int i = 0; i < started; i++) {
        event_base_loopbreak(w[i].base);
        pthread_join(w[i].thread, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (w[i].http)
            evhttp_free(w[i].http);
        if (w[i].base)
            event_base_free(w[i].base);
    }
    return rc;
}
