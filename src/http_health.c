/*
 * http_health: the client side of GET /healthz, for `cpqd health URL`
 * (the Docker HEALTHCHECK: the image has no curl, and dash has no
 * /dev/tcp).
 *
 * Owns: one blocking probe with its own event base and libevent HTTP
 * client, bounded by a timeout. Does not own: what /healthz answers
 * (http_route.c).
 */
#include "cpqd/http.h"

#include "cpqd/err.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct probe {
    struct event_base *base;
    int status;       /* of the answer, 0 if none */
    int error;        /* enum evhttp_request_error, -1 if none */
    char version[80]; /* "version" of the answer, "" if none */
} probe;

static void on_error(enum evhttp_request_error error, void *arg)
{
    ((probe *)arg)->error = (int)error;
}

/* The "version" member of a /healthz body, without a JSON parser: the
 * value is a hex string. */
static void read_version(struct evhttp_request *req, probe *p)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    static const char key[] = "\"version\":\"";
    const char *at = body ? memmem(body, len, key, sizeof(key) - 1) : NULL;
    if (!at)
        return;
    at += sizeof(key) - 1;
    size_t n = strspn(at, "0123456789abcdef");
    if (n < sizeof(p->version) && at + n < body + len && at[n] == '"')
        snprintf(p->version, sizeof(p->version), "%.*s", (int)n, at);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    probe *p = arg;
    p->status = req ? evhttp_request_get_response_code(req) : 0;
    if (req && p->status == 200)
        read_version(req, p);
    event_base_loopbreak(p->base); /* the kept connection would hold the loop */
}

/* Splits url (http://HOST[:PORT][/PREFIX]) into host, port and the path
 * of /healthz under it. */
static int target_of(const char *url, char **host, int *port, char **path, char *why, size_t cap)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *h = u ? evhttp_uri_get_host(u) : NULL;
    int rc = 0;
    if (!scheme || strcasecmp(scheme, "http") != 0 || !h || !*h || evhttp_uri_get_query(u)) {
        snprintf(why, cap, "expected http://HOST[:PORT][/PREFIX]");
        rc = CPQD_EINVAL;
    } else {
        const char *prefix = evhttp_uri_get_path(u);
        size_t n = prefix ? strlen(prefix) : 0;
        while (n && prefix[n - 1] == '/')
            n--;
        *port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
        *host = strdup(h);
        if (asprintf(path, "%.*s/healthz", (int)n, n ? prefix : "") < 0)
            *path = NULL;
        rc = *host && *path ? 0 : CPQD_ENOMEM;
    }
    if (u)
        evhttp_uri_free(u);
    return rc;
}

int http_health(const char *url, unsigned timeout_s, char *why, size_t cap)
{
    char *host = NULL, *path = NULL;
    int port = 0;
    int rc = target_of(url, &host, &port, &path, why, cap);
    struct event_base *base = NULL;
    struct evhttp_connection *conn = NULL;
    probe p = {.base = NULL, .status = 0, .error = -1};
    if (rc)
        goto out;
    struct evhttp_request *req = NULL;
    rc = CPQD_ENOMEM;
    if (!(base = event_base_new()) ||
        !(conn = evhttp_connection_base_new(base, NULL, host, (unsigned short)port)) ||
        !(req = evhttp_request_new(on_reply, &p)))
        goto out;
    p.base = base;
    evhttp_request_set_error_cb(req, on_error);
    evhttp_connection_set_timeout(conn, (int)timeout_s);
    evhttp_connection_set_retries(conn, 0);
    struct timeval bound = {(time_t)timeout_s + 1, 0}; /* whatever libevent does */
    event_base_loopexit(base, &bound);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
    evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent", "cpqd-health");
    if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, path) != 0)
        goto out; /* the request was freed */
    event_base_dispatch(base);
    if (p.status == 200) {
        snprintf(why, cap, "GET %s: 200%s%s", path, *p.version ? ", version " : "", p.version);
        rc = 0;
    } else if (p.status > 0) {
        snprintf(why, cap, "GET %s: HTTP %d", path, p.status);
        rc = CPQD_EIO;
    } else {
        snprintf(why, cap, "GET %s: no answer (connection refused or closed, or nothing within "
                 "%u s)",
                 path, timeout_s);
        rc = CPQD_EIO;
    }
out:
    if (rc == CPQD_ENOMEM)
        snprintf(why, cap, "out of memory");
    if (conn)
        evhttp_connection_free(conn);
    if (base)
        event_base_free(base);
    free(host);
    free(path);
    return rc;
}
