/*
 * End-to-end tests of events to the CRM (docs/events.md): the real binary
 * with --keys, --db and --webhook pointing at a receiver that runs in
 * this process (a small blocking HTTP server on a loopback port, in a
 * thread), which checks every signature with the shared secret and
 * answers 500 to the first N attempts, then 200.
 * Covers: retries until delivered with the same id and bytes; order per
 * quote; receivers that close the connection after each response (every
 * event delivered on its first attempt); credentials in the URL (Basic to
 * loopback, refused elsewhere, never logged); kill -9 between commit and
 * delivery; the pull feed and its cursor; the failed list and replay; who
 * may call the event routes.
 * Waits poll with deadlines; nothing asserts on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/digest.h"
#include "testutil.h"

#include "store_fixture.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>


enum { K_ADMIN, K_REP, K_MANAGER, K_CRM, K_PARTNER, NKEYS };
static const char *const key_role[NKEYS] = {"admin", "rep", "manager", "crm", "partner"};

#include "webhook_rx.h"

/* ---- fixture ---- */

typedef struct fx {
    char *dir, *keys, *db, *logp, *secret;
    char key[NKEYS][80];
    tu_server s;
    receiver rx;
    const char *lease; /* --webhook-lease (NULL: 2 s) */
} fx;

static void make_keys(fx *f)
{
    for (int i = 0; i < NKEYS; i++) {
        const char *argv[12] = {"key", "new", "--keys", f->keys, "--role", key_role[i], NULL};
        if (i == K_PARTNER) {
            argv[6] = "--partner";
            argv[7] = "P-101";
        }
        char *out = NULL, *err = NULL;
        if (tu_run(argv, &out, &err) != 0)
            fail_msg("cpqd key new failed: %s", err ? err : "");
        size_t n = strcspn(out, "\n");
        assert_true(n > 10 && n < sizeof(f->key[i]));
        memcpy(f->key[i], out, n);
        f->key[i][n] = '\0';
        free(out);
        free(err);
    }
}

/* Starts cpqd; with a webhook to url unless it is NULL. */
static void start_url(fx *f, const char *url, const char *max_attempts)
{
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[20] = {"--catalogs", cats, "--rules", rules, "--threads", "2",
                            "--keys", f->keys, "--db", f->db, NULL};
    size_t n = 10;
    if (url) {
        args[n++] = "--webhook";
        args[n++] = url;
        args[n++] = "--webhook-secret";
        args[n++] = f->secret;
        /* an attempt a kill -9 cut short holds its event this long after
         * the restart (docs/events.md "Several instances") */
        args[n++] = "--webhook-lease";
        args[n++] = f->lease ? f->lease : "2";
    }
    if (max_attempts) {
        args[n++] = "--webhook-max-attempts";
        args[n++] = max_attempts;
    }
    args[n] = NULL;
    free(f->logp);
    static int nstart;
    f->logp = tu_fmt("%s/cpqd-%d.log", f->dir, ++nstart);
    assert_int_equal(tu_server_start(&f->s, f->logp, args), 0);
    free(cats);
    free(rules);
}

/* Starts cpqd; with a webhook to the receiver's port when port > 0. */
static void start(fx *f, int port, const char *max_attempts)
{
    char *url = port > 0 ? tu_fmt("http://127.0.0.1:%d/hooks/cpqd?src=test", port) : NULL;
    start_url(f, url, max_attempts);
    free(url);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "cpqd");
    f->secret = tu_fmt("%s/webhook.secret", f->dir);
    assert_int_equal(tu_write(f->dir, "webhook.secret", SECRET "\n"), 0);
    pthread_mutex_init(&f->rx.mu, NULL);
    make_keys(f);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int st = f->s.pid > 0 ? tu_server_stop(&f->s) : 0;
    rx_stop(&f->rx);
    for (size_t i = 0; i < f->rx.n; i++)
        free(f->rx.reqs[i].body);
    pthread_mutex_destroy(&f->rx.mu);
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir), free(f->keys), free(f->logp), free(f->secret);
    free(f);
    return st == 0 ? 0 : -1;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- calls ---- */

static int call(fx *f, int k, const char *method, const char *path, const char *body,
                json_t **out)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[k]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    int st = r.status;
    if (out) {
        json_error_t je;
        *out = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
        if (!*out)
            fail_msg("%s %s: not JSON (%d): %s", method, path, st, r.body ? r.body : "");
    }
    tu_resp_free(&r);
    return st;
}

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v)
        fail_msg("no string '%s'", k);
    return v;
}

static char *create(fx *f)
{
    json_t *j;
    const char *body = "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\","
                       "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}";
    int st = call(f, K_REP, "POST", "/v1/quotes", body, &j);
    if (st != 201 || !json_is_string(json_object_get(j, "id")))
        fail_msg("create: %d %s", st, json_dumps(j, JSON_COMPACT));
    char *id = strdup(js(j, "id"));
    json_decref(j);
    return id;
}

/* The events of the pull feed (all of them), as JSON. */
static json_t *feed_all(fx *f)
{
    json_t *j;
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=500", NULL, &j), 200);
    json_t *items = json_incref(json_object_get(j, "items"));
    json_decref(j);
    return items;
}

/* The id of the event of type for quote qid in the feed; NULL if none. */
static char *event_of(fx *f, const char *type, const char *qid)
{
    json_t *items = feed_all(f), *e;
    size_t i;
    char *id = NULL;
    json_array_foreach(items, i, e)
    {
        if (!id && !strcmp(js(e, "type"), type) &&
            !strcmp(js(json_object_get(e, "resource"), "id"), qid))
            id = strdup(js(e, "id"));
    }
    json_decref(items);
    return id;
}

static void wait_delivered(fx *f, const char *id)
{
    long long deadline = tu_now_ms() + 4 * TU_WAIT_MS;
    while (rx_delivered(&f->rx, id) < 0 && tu_now_ms() < deadline)
        tu_sleep_ms(20);
    if (rx_delivered(&f->rx, id) < 0) {
        tu_server_dump(&f->s);
        fail_msg("event %s not delivered in time (%zu requests seen)", id ? id : "(any)",
                 rx_count(&f->rx));
    }
}

/* ---- tests ---- */

/* A receiver failing the first attempts still gets the event, every time
 * with the same id and the same bytes, each attempt validly signed. */
static void test_webhook_retried_until_delivered_same_bytes(void **state)
{
    fx *f = *state;
    f->rx.fail_first = 2;
    rx_start(&f->rx, 0);
    start(f, f->rx.port, NULL);
    char *qid = create(f);
    char *ev = event_of(f, "quote.created", qid);
    assert_non_null(ev);
    wait_delivered(f, ev);
    int ok = rx_delivered(&f->rx, ev);
    assert_true(ok >= 2);
    pthread_mutex_lock(&f->rx.mu);
    const rx_req *last = &f->rx.reqs[ok];
    for (int i = 0; i <= ok; i++) {
        const rx_req *q = &f->rx.reqs[i];
        assert_string_equal(q->id, ev);
        assert_true(q->sig_ok);
        assert_int_equal(q->len, last->len);
        assert_memory_equal(q->body, last->body, q->len);
        assert_int_equal(q->status, i < 2 ? 500 : 200);
    }
    json_error_t je;
    json_t *b = json_loadb(last->body, last->len, 0, &je);
    pthread_mutex_unlock(&f->rx.mu);
    assert_non_null(b);
    assert_string_equal(js(b, "id"), ev);
    assert_string_equal(js(b, "type"), "quote.created");
    assert_non_null(json_object_get(b, "created_at"));
    json_t *p = json_object_get(b, "payload");
    assert_string_equal(js(p, "id"), qid);
    assert_string_equal(js(p, "status"), "draft");
    assert_non_null(json_object_get(p, "priced"));
    assert_int_equal(json_object_size(b), 4);
    json_decref(b);

    /* the store saw 3 attempts and the delivery (the receiver answers
     * before the worker commits "delivered": poll, bounded) */
    json_t *j = NULL, *e = NULL;
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    do {
        json_decref(j);
        assert_int_equal(call(f, K_ADMIN, "GET", "/v1/admin/events?status=delivered", NULL, &j),
                         200);
        e = json_array_get(json_object_get(j, "items"), 0);
        if (!e)
            tu_sleep_ms(20);
    } while (!e && tu_now_ms() < deadline);
    if (!e)
        fail_msg("the event is not marked delivered in the store");
    assert_string_equal(js(e, "id"), ev);
    assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 3);
    json_decref(j);
    free(ev);
    free(qid);
}

/* Receivers that close the connection after each response (HTTP/1.0 as
 * Python's http.server answers, with or without "Connection: close"):
 * every event is delivered on its first attempt. A request the delivery
 * thread sends on a connection the receiver already closed is sent again
 * at once on a fresh connection, not counted as a failed attempt. */
static void test_webhook_receiver_closing_each_connection(void **state)
{
    fx *f = *state;
    static const char *const replies[] = {
        "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\n"
        "Content-Length: 2\r\n\r\nok",
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok",
    };
    for (size_t v = 0; v < sizeof(replies) / sizeof(replies[0]); v++) {
        if (v > 0) { /* a fresh store and receiver for the second kind */
            assert_int_equal(tu_server_stop(&f->s), 0);
            rx_stop(&f->rx);
            for (size_t i = 0; i < f->rx.n; i++)
                free(f->rx.reqs[i].body);
            f->rx.n = 0;
            tu_db_drop(f->db);
            f->db = tu_db_location(f->dir, "second");
        }
        f->rx.ok_reply = replies[v];
        rx_start(&f->rx, 0);
        start(f, f->rx.port, NULL);
        enum { NQ = 6 };
        char *last = NULL;
        for (int i = 0; i < NQ; i++) {
            char *qid = create(f);
            char *path = tu_fmt("/v1/quotes/%s/submit", qid);
            assert_int_equal(call(f, K_REP, "POST", path, "", NULL), 200);
            free(path);
            if (i > 0) /* pauses between events as well as bursts */
                tu_sleep_ms(30 * i);
            free(last);
            last = event_of(f, "quote.status_changed", qid);
            free(qid);
        }
        wait_delivered(f, last);
        /* every event once, answered 200, nothing retried */
        json_t *j = NULL, *items = NULL;
        long long deadline = tu_now_ms() + 4 * TU_WAIT_MS;
        do {
            json_decref(j);
            assert_int_equal(
                call(f, K_ADMIN, "GET", "/v1/admin/events?status=delivered&limit=500", NULL, &j),
                200);
            items = json_object_get(j, "items");
            if (json_array_size(items) < 2 * NQ)
                tu_sleep_ms(20);
        } while (json_array_size(items) < 2 * NQ && tu_now_ms() < deadline);
        assert_int_equal(json_array_size(items), 2 * NQ);
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e)
        {
            if (json_integer_value(json_object_get(e, "attempts")) != 1)
                fail_msg("receiver %zu: %s delivered after %lld attempts (last error %s)", v,
                         js(e, "id"), (long long)json_integer_value(json_object_get(e, "attempts")),
                         json_string_value(json_object_get(e, "last_error")));
            assert_true(json_is_null(json_object_get(e, "last_error")));
        }
        json_decref(j);
        assert_int_equal(rx_count(&f->rx), 2 * NQ);
        pthread_mutex_lock(&f->rx.mu);
        for (size_t k = 0; k < f->rx.n; k++) {
            assert_true(f->rx.reqs[k].sig_ok);
            assert_int_equal(f->rx.reqs[k].status, 200);
        }
        pthread_mutex_unlock(&f->rx.mu);
        free(last);
    }
}

/* Credentials in the webhook URL (percent-encoded as URLs require) go to
 * a loopback receiver as Basic authentication (RFC 7617), on every
 * attempt; the password never appears in the log. */
static void test_webhook_url_credentials_sent_as_basic(void **state)
{
    fx *f = *state;
    f->rx.fail_first = 1; /* a retry carries them too */
    rx_start(&f->rx, 0);
    char *url = tu_fmt("http://hook%%20user:p%%40ss%%3Aword@127.0.0.1:%d/hooks/cpqd", f->rx.port);
    start_url(f, url, NULL);
    free(url);
    char *qid = create(f);
    char *ev = event_of(f, "quote.created", qid);
    wait_delivered(f, ev);
    pthread_mutex_lock(&f->rx.mu);
    assert_int_equal(f->rx.n, 2);
    for (size_t i = 0; i < f->rx.n; i++) {
        /* base64("hook user:p@ss:word") */
        assert_string_equal(f->rx.reqs[i].auth, "Basic aG9vayB1c2VyOnBAc3M6d29yZA==");
        assert_true(f->rx.reqs[i].sig_ok);
    }
    pthread_mutex_unlock(&f->rx.mu);
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *log = tu_read_file(f->logp, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "hook%20user:***@127.0.0.1"));
    assert_null(strstr(log, "p%40ss"));
    assert_null(strstr(log, "p@ss"));
    free(log);
    free(ev);
    free(qid);
}

/* To a host that is not loopback, http:// would carry the credentials
 * in clear text: the server refuses to start, says why, and never prints
 * the password. */
static void test_webhook_url_credentials_refused_off_loopback(void **state)
{
    fx *f = *state;
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    static const char *const urls[] = {
        "http://crm:s3cr3t-pw@192.0.2.10:8080/hooks/cpqd",
        "http://crm:s3cr3t-pw@crm.example/hooks",
        "ftp://crm:s3cr3t-pw@crm.example/hooks", /* refused as ftp, password masked too */
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *argv[] = {"serve",   "--catalogs", cats,   "--rules",          rules,
                              "--keys",  f->keys,      "--db", f->db,              "--listen",
                              "127.0.0.1:0",           "--webhook", urls[i], "--webhook-secret",
                              f->secret, NULL};
        char *out = NULL, *err = NULL;
        int st = tu_run(argv, &out, &err);
        if (st <= 0)
            fail_msg("%s: exit %d (expected a refusal): %s", urls[i], st, err ? err : "");
        assert_non_null(strstr(err, i < 2 ? "credentials in a webhook URL" : "expected http://"));
        assert_non_null(strstr(err, "crm:***@"));
        assert_null(strstr(err, "s3cr3t"));
        assert_null(strstr(out, "s3cr3t"));
        free(out);
        free(err);
    }
    free(cats);
    free(rules);
}

/* The events of one quote arrive in the order they were committed. */
static void test_webhook_in_order_per_quote(void **state)
{
    fx *f = *state;
    rx_start(&f->rx, 0);
    start(f, f->rx.port, NULL);
    char *qid = create(f);
    char *path = tu_fmt("/v1/quotes/%s/submit", qid);
    assert_int_equal(call(f, K_REP, "POST", path, "", NULL), 200);
    free(path);
    path = tu_fmt("/v1/quotes/%s/revise", qid);
    assert_int_equal(call(f, K_REP, "POST", path,
                          "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":"
                          "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"3\"}]}",
                          NULL),
                     201);
    free(path);
    const char *types[] = {"quote.created", "quote.status_changed", "quote.revised"};
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = event_of(f, types[i], qid);
        assert_non_null(ids[i]);
    }
    wait_delivered(f, ids[2]);
    int at[3];
    for (int i = 0; i < 3; i++)
        at[i] = rx_delivered(&f->rx, ids[i]);
    assert_true(at[0] >= 0 && at[0] < at[1] && at[1] < at[2]);
    /* the status change carries the quote as it is after the move */
    pthread_mutex_lock(&f->rx.mu);
    json_error_t je;
    json_t *b = json_loads(f->rx.reqs[at[1]].body, 0, &je);
    pthread_mutex_unlock(&f->rx.mu);
    const char *status = js(json_object_get(b, "payload"), "status");
    assert_true(!strcmp(status, "approved") || !strcmp(status, "pending_approval"));
    json_decref(b);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(qid);
}

/* kill -9 after the commit, before any delivery: the event is delivered
 * after the restart. */
static void test_kill9_between_commit_and_delivery(void **state)
{
    fx *f = *state;
    rx_start(&f->rx, 0); /* only to learn a free port */
    int port = f->rx.port;
    rx_stop(&f->rx);
    start(f, port, NULL); /* the receiver is down: attempts fail */
    char *qid = create(f);
    char *ev = event_of(f, "quote.created", qid);
    assert_non_null(ev);
    kill(f->s.pid, SIGKILL);
    tu_wait_exit(f->s.pid, TU_WAIT_MS);
    f->s.pid = 0;
    assert_int_equal(rx_count(&f->rx), 0);
    rx_start(&f->rx, port);
    start(f, port, NULL);
    wait_delivered(f, ev);
    int ok = rx_delivered(&f->rx, ev);
    pthread_mutex_lock(&f->rx.mu);
    assert_true(f->rx.reqs[ok].sig_ok);
    assert_string_equal(f->rx.reqs[ok].id, ev);
    pthread_mutex_unlock(&f->rx.mu);
    free(ev);
    free(qid);
}

static void test_pull_feed_follows_cursor(void **state)
{
    fx *f = *state;
    start(f, 0, NULL); /* no webhook: the feed serves CRMs that poll */
    char *q[3];
    for (int i = 0; i < 3; i++)
        q[i] = create(f);
    json_t *j;
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=2", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *e0 = json_array_get(items, 0), *e1 = json_array_get(items, 1);
    assert_memory_equal(js(e0, "id"), "ev_", 3);
    assert_string_equal(js(e0, "type"), "quote.created");
    assert_string_equal(js(json_object_get(e0, "resource"), "kind"), "quote");
    assert_string_equal(js(json_object_get(e0, "resource"), "id"), q[0]);
    assert_string_equal(js(json_object_get(e0, "payload"), "id"), q[0]);
    assert_non_null(json_object_get(e0, "created_at"));
    assert_true(json_integer_value(json_object_get(e0, "seq")) <
                json_integer_value(json_object_get(e1, "seq")));
    char *path = tu_fmt("/v1/events?after=%s", js(j, "next"));
    json_decref(j);
    assert_int_equal(call(f, K_ADMIN, "GET", path, NULL, &j), 200);
    free(path);
    items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(js(json_object_get(json_array_get(items, 0), "resource"), "id"), q[2]);
    char *next = strdup(js(j, "next"));
    json_decref(j);
    path = tu_fmt("/v1/events?after=%s", next);
    assert_int_equal(call(f, K_CRM, "GET", path, NULL, &j), 200);
    free(path);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    assert_string_equal(js(j, "next"), next); /* nothing new: the same cursor */
    json_decref(j);
    free(next);
    /* a request that fails writes no event */
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", "{\"lines\":[]}", NULL), 400);
    json_t *all = feed_all(f);
    assert_int_equal(json_array_size(all), 3);
    json_decref(all);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?after=-1", NULL, NULL), 400);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?limit=501", NULL, NULL), 400);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?cursor=1", NULL, NULL), 400);
    for (int i = 0; i < 3; i++)
        free(q[i]);
}

static void test_failed_list_and_replay(void **state)
{
    fx *f = *state;
    f->rx.fail_first = 1000000;
    rx_start(&f->rx, 0);
    start(f, f->rx.port, "2");
    char *qid = create(f);
    char *ev = event_of(f, "quote.created", qid);
    json_t *j = NULL, *e = NULL;
    long long deadline = tu_now_ms() + 4 * TU_WAIT_MS;
    while (!e && tu_now_ms() < deadline) {
        json_decref(j);
        assert_int_equal(call(f, K_ADMIN, "GET", "/v1/admin/events?status=failed", NULL, &j),
                         200);
        e = json_array_get(json_object_get(j, "items"), 0);
        if (!e)
            tu_sleep_ms(50);
    }
    assert_non_null(e);
    assert_string_equal(js(e, "id"), ev);
    assert_string_equal(js(e, "status"), "failed");
    assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 2);
    assert_string_equal(js(e, "last_error"), "HTTP 500");
    json_decref(j);
    assert_int_equal(rx_count(&f->rx), 2); /* parked: no third attempt */

    pthread_mutex_lock(&f->rx.mu);
    f->rx.fail_first = 0;
    pthread_mutex_unlock(&f->rx.mu);
    char *path = tu_fmt("/v1/admin/events/%s/replay", ev);
    assert_int_equal(call(f, K_ADMIN, "POST", path, "", &j), 200);
    assert_string_equal(js(j, "id"), ev);
    json_decref(j);
    wait_delivered(f, ev);
    assert_int_equal(call(f, K_ADMIN, "POST", path, "", NULL), 409); /* not failed any more */
    free(path);
    assert_int_equal(call(f, K_ADMIN, "POST", "/v1/admin/events/ev_0000000000000000/replay", "",
                          NULL),
                     404);
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/admin/events?status=lost", NULL, NULL), 400);
    /* the same bytes as the attempts that failed */
    int ok = rx_delivered(&f->rx, ev);
    pthread_mutex_lock(&f->rx.mu);
    assert_int_equal(f->rx.reqs[0].len, f->rx.reqs[ok].len);
    assert_memory_equal(f->rx.reqs[0].body, f->rx.reqs[ok].body, f->rx.reqs[0].len);
    pthread_mutex_unlock(&f->rx.mu);
    free(ev);
    free(qid);
}

/* The admin view of event id (from the admin feed, in whichever delivery
 * state it is); NULL if not there. */
static json_t *admin_event(fx *f, const char *id)
{
    static const char *const states[] = {"pending", "failed", "delivered"};
    json_t *got = NULL;
    for (int k = 0; k < 3 && !got; k++) {
        json_t *j, *e;
        size_t i;
        char *path = tu_fmt("/v1/admin/events?limit=500&status=%s", states[k]);
        assert_int_equal(call(f, K_ADMIN, "GET", path, NULL, &j), 200);
        free(path);
        json_array_foreach(json_object_get(j, "items"), i, e)
        {
            if (!got && !strcmp(js(e, "id"), id))
                got = json_incref(e);
        }
        json_decref(j);
    }
    return got;
}

/* One damaged event (its quote version's priced result gone from the
 * database) never stops the others: the feed still answers, with its
 * payload null and the reason; the webhook parks it as failed with the
 * reason, without sending it, holds the next event of the same quote
 * behind it, and delivers the other quotes' events. */
static void test_damaged_event_parked_others_delivered(void **state)
{
    fx *f = *state;
    start(f, 0, NULL); /* no webhook yet: the events wait */
    char *qa = create(f), *qb = create(f);
    char *path = tu_fmt("/v1/quotes/%s/submit", qa);
    assert_int_equal(call(f, K_REP, "POST", path, "", NULL), 200);
    free(path);
    char *bad = event_of(f, "quote.created", qa), *behind = event_of(f, "quote.status_changed", qa);
    char *other = event_of(f, "quote.created", qb);
    assert_non_null(bad), assert_non_null(behind), assert_non_null(other);
    assert_int_equal(tu_server_stop(&f->s), 0);
    store *st;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    char *sql = tu_fmt("UPDATE outbox SET priced_version = 99 WHERE id = '%s'", bad);
    int64_t changed = 0;
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    store_close(st);

    rx_start(&f->rx, 0);
    start(f, f->rx.port, NULL);
    wait_delivered(f, other);
    json_t *e = NULL;
    long long deadline = tu_now_ms() + 4 * TU_WAIT_MS;
    while (tu_now_ms() < deadline) {
        json_decref(e);
        e = admin_event(f, bad);
        assert_non_null(e);
        if (!strcmp(js(e, "status"), "failed"))
            break;
        tu_sleep_ms(20);
    }
    assert_string_equal(js(e, "status"), "failed");
    assert_true(json_is_null(json_object_get(e, "payload")));
    assert_non_null(strstr(js(e, "last_error"), "priced result"));
    json_decref(e);
    e = admin_event(f, behind);
    assert_string_equal(js(e, "status"), "pending"); /* its order holds */
    json_decref(e);
    pthread_mutex_lock(&f->rx.mu); /* neither was sent at all */
    for (size_t k = 0; k < f->rx.n; k++)
        assert_true(strcmp(f->rx.reqs[k].id, bad) && strcmp(f->rx.reqs[k].id, behind));
    pthread_mutex_unlock(&f->rx.mu);
    /* the pull feed answers, the damaged event's payload null */
    json_t *items = feed_all(f), *x;
    size_t i, seen = 0;
    json_array_foreach(items, i, x)
    {
        if (!strcmp(js(x, "id"), bad)) {
            assert_true(json_is_null(json_object_get(x, "payload")));
            seen++;
        } else {
            assert_true(json_is_object(json_object_get(x, "payload")));
        }
    }
    assert_int_equal(seen, 1);
    json_decref(items);
    /* the quote itself still reads */
    path = tu_fmt("/v1/quotes/%s", qb);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, NULL), 200);
    free(path);
    free(bad), free(behind), free(other), free(qa), free(qb);
}

/* SIGTERM while an attempt waits for its reply: the server stops cleanly,
 * the event stays pending and its lease is given back, so the next start
 * sends it again at once, not when a long lease runs out. */
static void test_stop_abandons_inflight_attempt(void **state)
{
    fx *f = *state;
    f->lease = "600";
    f->rx.stall = true;
    rx_start(&f->rx, 0);
    start(f, f->rx.port, NULL);
    char *qid = create(f);
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (rx_count(&f->rx) == 0 && tu_now_ms() < deadline)
        tu_sleep_ms(20);
    assert_int_equal(rx_count(&f->rx), 1);
    assert_int_equal(tu_server_stop(&f->s), 0);
    start(f, 0, NULL); /* no webhook: look at the event's state */
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/admin/events?status=pending", NULL, &j), 200);
    json_t *e = json_array_get(json_object_get(j, "items"), 0);
    assert_non_null(e);
    assert_string_equal(js(json_object_get(e, "resource"), "id"), qid);
    assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 0);
    json_decref(j);
    assert_int_equal(tu_server_stop(&f->s), 0);
    /* a receiver that answers; the lease (600 s) would hold the event
     * for ten minutes had the stop not given it back */
    rx_stop(&f->rx);
    f->rx.stall = false;
    rx_start(&f->rx, 0);
    start(f, f->rx.port, NULL);
    wait_delivered(f, NULL);
    free(qid);
}

static void test_event_routes_by_role(void **state)
{
    fx *f = *state;
    start(f, 0, NULL);
    struct {
        const char *method, *path;
        unsigned allowed;
    } routes[] = {
        {"GET", "/v1/events", 1u << K_CRM | 1u << K_ADMIN},
        {"GET", "/v1/admin/events", 1u << K_ADMIN},
        {"POST", "/v1/admin/events/ev_0000000000000000/replay", 1u << K_ADMIN},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        for (int k = 0; k < NKEYS; k++) {
            int st = call(f, k, routes[i].method, routes[i].path,
                          routes[i].method[0] == 'P' ? "" : NULL, NULL);
            bool allowed = routes[i].allowed & (1u << k);
            if (allowed ? (st == 401 || st == 403) : st != 403)
                fail_msg("%s %s as %s: %d", routes[i].method, routes[i].path, key_role[k], st);
        }
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/v1/events", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    tu_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_webhook_retried_until_delivered_same_bytes),
        T(test_webhook_in_order_per_quote),
        T(test_webhook_receiver_closing_each_connection),
        T(test_webhook_url_credentials_sent_as_basic),
        T(test_webhook_url_credentials_refused_off_loopback),
        T(test_kill9_between_commit_and_delivery),
        T(test_pull_feed_follows_cursor),
        T(test_failed_list_and_replay),
        T(test_damaged_event_parked_others_delivered),
        T(test_stop_abandons_inflight_attempt),
        T(test_event_routes_by_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
