/*
 * webhook_rx: a webhook receiver for the end-to-end tests (header-only,
 * included after testutil.h and cmocka): a small blocking HTTP server on
 * a loopback port, in a thread, that records every request (event id,
 * Authorization, body), checks its signature with SECRET, and answers 500
 * to the first fail_first attempts, then 200 (or never, while stall).
 */
#ifndef CPQD_TESTS_WEBHOOK_RX_H
#define CPQD_TESTS_WEBHOOK_RX_H

#include "cpqd/digest.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define SECRET "whsec_test_5e5b0a1c"
#define RX_MAX 128

typedef struct rx_req {
    char id[64];
    char auth[128]; /* the Authorization header, "" if none */
    char *body; /* as received */
    size_t len;
    bool sig_ok; /* signature and timestamp verified */
    int status;  /* what the receiver answered */
} rx_req;

typedef struct receiver {
    int port, fd;
    pthread_t th;
    bool running;
    atomic_bool stop;
    pthread_mutex_t mu;
    int fail_first; /* answer 500 to this many more requests */
    bool stall;     /* never answer (until stopped): an attempt stays in flight */
    const char *ok_reply; /* the 200 answer; NULL: HTTP/1.1 with Connection: close */
    rx_req reqs[RX_MAX];
    size_t n;
} receiver;

static inline bool sig_ok(const char *ts, const char *sig, const char *body, size_t len)
{
    char *msg = tu_fmt("%s.", ts);
    size_t tl = strlen(msg);
    msg = realloc(msg, tl + len + 1);
    memcpy(msg + tl, body, len);
    unsigned char md[DIGEST_SHA256_LEN];
    int rc = digest_hmac_sha256(SECRET, strlen(SECRET), msg, tl + len, md);
    free(msg);
    char hex[DIGEST_SHA256_HEX_LEN];
    digest_hex(md, sizeof(md), hex);
    long long t = atoll(ts);
    return rc == 0 && !strncmp(sig, "sha256=", 7) && !strncmp(sig + 7, hex, 64) &&
           (sig[71] == '\r' || sig[71] == '\0') && llabs((long long)time(NULL) - t) < 300;
}

/* The value of header name in head (up to CR), copied into out. */
static inline bool header(const char *head, const char *name, char *out, size_t cap)
{
    char *needle = tu_fmt("\r\n%s:", name);
    const char *at = strcasestr(head, needle);
    free(needle);
    if (!at)
        return false;
    at += strlen(name) + 3;
    while (*at == ' ')
        at++;
    size_t n = strcspn(at, "\r\n");
    if (n >= cap)
        return false;
    memcpy(out, at, n);
    out[n] = '\0';
    return true;
}

/* Reads one request from c, records it, answers it, closes. */
static inline void rx_serve(receiver *r, int c)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, head = 0, need = 0; /* head: offset of the blank line */
    long long deadline = tu_now_ms() + 5000;
    while (tu_now_ms() < deadline) {
        if (tu_read_some(c, &buf, &len, &cap, deadline) <= 0)
            break;
        char *end = head ? NULL : strstr(buf, "\r\n\r\n");
        if (end) {
            char cl[32] = "0";
            *end = '\0';
            header(buf, "Content-Length", cl, sizeof(cl));
            *end = '\r';
            head = (size_t)(end - buf);
            need = head + 4 + (size_t)atol(cl);
        }
        if (head && len >= need)
            break;
    }
    if (!head || len < need) {
        free(buf);
        close(c);
        return;
    }
    char *end = buf + head;
    rx_req q = {0};
    char ts[32] = "", sig[128] = "";
    *end = '\0';
    header(buf, "X-Cpqd-Event-Id", q.id, sizeof(q.id));
    header(buf, "X-Cpqd-Timestamp", ts, sizeof(ts));
    header(buf, "X-Cpqd-Signature", sig, sizeof(sig));
    header(buf, "Authorization", q.auth, sizeof(q.auth));
    q.len = need - (size_t)(end - buf) - 4;
    q.body = malloc(q.len + 1);
    memcpy(q.body, end + 4, q.len);
    q.body[q.len] = '\0';
    q.sig_ok = sig_ok(ts, sig, q.body, q.len);
    pthread_mutex_lock(&r->mu);
    bool stall = r->stall;
    q.status = stall ? 0 : r->fail_first > 0 ? 500 : 200;
    if (r->fail_first > 0)
        r->fail_first--;
    if (r->n < RX_MAX)
        r->reqs[r->n++] = q;
    else
        free(q.body);
    pthread_mutex_unlock(&r->mu);
    const char *reply = q.status == 200 ? (r->ok_reply ? r->ok_reply
                                                       : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                                         "Connection: close\r\n\r\nok")
                                        : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
                                          "4\r\nConnection: close\r\n\r\nnope";
    /* stalled: no answer while r->stall holds (then the peer's attempt
     * has long been given up: the connection is just closed) */
    while (stall && !atomic_load(&r->stop)) {
        tu_sleep_ms(10);
        pthread_mutex_lock(&r->mu);
        bool still = r->stall;
        pthread_mutex_unlock(&r->mu);
        if (!still)
            break;
    }
    if (!stall)
        tu_send(c, reply, strlen(reply));
    free(buf);
    close(c);
}

static inline void *rx_main(void *arg)
{
    receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c >= 0)
            rx_serve(r, c);
    }
    return NULL;
}

/* Listens on port (0: any free one) and starts serving. */
static inline void rx_start(receiver *r, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(r->fd, 16), 0);
    socklen_t al = sizeof(a);
    getsockname(r->fd, (struct sockaddr *)&a, &al);
    r->port = ntohs(a.sin_port);
    atomic_store(&r->stop, false);
    assert_int_equal(pthread_create(&r->th, NULL, rx_main, r), 0);
    r->running = true;
}

static inline void rx_stop(receiver *r)
{
    if (!r->running)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->th, NULL);
    close(r->fd);
    r->running = false;
}

/* Index of the first request answered 200 for event id, or -1. */
static inline int rx_delivered(receiver *r, const char *id)
{
    int at = -1;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && at < 0; i++)
        if (r->reqs[i].status == 200 && (!id || !strcmp(r->reqs[i].id, id)))
            at = (int)i;
    pthread_mutex_unlock(&r->mu);
    return at;
}

static inline size_t rx_count(receiver *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* How many requests for event id were answered 200. */
static inline size_t rx_delivered_count(receiver *r, const char *id)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        n += r->reqs[i].status == 200 && !strcmp(r->reqs[i].id, id);
    pthread_mutex_unlock(&r->mu);
    return n;
}

#endif
