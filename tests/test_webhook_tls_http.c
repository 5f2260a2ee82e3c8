/*
 * End-to-end tests of webhooks over https (docs/events.md): a TLS
 * receiver on 127.0.0.1 with certificates from a test CA made at test
 * time with the openssl command; the receiver's certificate is verified
 * (a certificate from another CA, or for another address, is refused
 * and said so in the event's last_error); the signing secret rotates
 * without a restart (two signatures while a previous secret is given,
 * read again on SIGHUP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/money.h"
#include "cpqd/outbox.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include "contracts_fixture.h"

#define RX_MAX 16

/* A TLS receiver: one request per connection, answered 200. */
typedef struct tlsrx {
    int ls, port;
    SSL_CTX *ctx;
    pthread_t th;
    bool running;
    volatile int stop;
    pthread_mutex_t mu;
    int n;                   /* requests received */
    int handshakes_failed;   /* TLS handshakes that did not complete */
    char sig[RX_MAX][400];   /* X-Cpqd-Signature */
    char ts[RX_MAX][32];     /* X-Cpqd-Timestamp */
    char auth[RX_MAX][200];  /* Authorization */
    char *body[RX_MAX];
} tlsrx;

/* The value of header name in head (case-insensitive), into out. */
static void header_of(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *at = strcasestr(head, name); at; at = strcasestr(at + 1, name)) {
        if (at[strlen(name)] != ':' || (at != head && at[-1] != '\n'))
            continue;
        at += strlen(name) + 1;
        at += strspn(at, " ");
        snprintf(out, cap, "%.*s", (int)strcspn(at, "\r\n"), at);
        return;
    }
}

static void rx_one(tlsrx *rx, SSL *ssl)
{
    char buf[65536];
    size_t n = 0;
    char *end = NULL;
    while (!end && n + 1 < sizeof(buf)) {
        int k = SSL_read(ssl, buf + n, (int)(sizeof(buf) - 1 - n));
        if (k <= 0)
            return;
        n += (size_t)k;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    char cl[32];
    header_of(buf, "Content-Length", cl, sizeof(cl));
    size_t want = (size_t)(end + 4 - buf) + (size_t)atol(cl);
    while (n < want && n + 1 < sizeof(buf)) {
        int k = SSL_read(ssl, buf + n, (int)(sizeof(buf) - 1 - n));
        if (k <= 0)
            return;
        n += (size_t)k;
        buf[n] = '\0';
    }
    pthread_mutex_lock(&rx->mu);
    if (rx->n < RX_MAX) {
        header_of(buf, "X-Cpqd-Signature", rx->sig[rx->n], sizeof(rx->sig[0]));
        header_of(buf, "X-Cpqd-Timestamp", rx->ts[rx->n], sizeof(rx->ts[0]));
        header_of(buf, "Authorization", rx->auth[rx->n], sizeof(rx->auth[0]));
        rx->body[rx->n] = strndup(end + 4, (size_t)atol(cl));
        rx->n++;
    }
    pthread_mutex_unlock(&rx->mu);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, ok, (int)sizeof(ok) - 1);
    SSL_shutdown(ssl);
}

static void *rx_main(void *arg)
{
    tlsrx *rx = arg;
    while (!rx->stop) {
        struct pollfd p = {.fd = rx->ls, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(rx->ls, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        SSL *ssl = SSL_new(rx->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            rx_one(rx, ssl);
        } else {
            pthread_mutex_lock(&rx->mu);
            rx->handshakes_failed++;
            pthread_mutex_unlock(&rx->mu);
        }
        SSL_free(ssl);
        ERR_clear_error();
        close(fd);
    }
    return NULL;
}

static void rx_start(tlsrx *rx, const char *cert, const char *key)
{
    memset(rx, 0, sizeof(*rx));
    pthread_mutex_init(&rx->mu, NULL);
    rx->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(rx->ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(rx->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(rx->ctx, key, SSL_FILETYPE_PEM), 1);
    rx->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rx->ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(rx->ls, 16), 0);
    assert_int_equal(getsockname(rx->ls, (struct sockaddr *)&sa, &sl), 0);
    rx->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&rx->th, NULL, rx_main, rx), 0);
    rx->running = true;
}

static void rx_stop(tlsrx *rx)
{
    if (!rx->running)
        return;
    rx->stop = 1;
    pthread_join(rx->th, NULL);
    close(rx->ls);
    SSL_CTX_free(rx->ctx);
    for (int i = 0; i < rx->n; i++)
        free(rx->body[i]);
    pthread_mutex_destroy(&rx->mu);
    rx->running = false;
}

static int rx_count(tlsrx *rx)
{
    pthread_mutex_lock(&rx->mu);
    int n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

/* ---- certificates ---- */

/* Runs a shell command in dir; fails the test with its output if it
 * fails. */
static void sh(const char *dir, const char *cmd)
{
    char *full = tu_fmt("cd '%s' && { %s ; } > sh.out 2>&1", dir, cmd);
    int st = system(full);
    if (st != 0) {
        char *p = tu_fmt("%s/sh.out", dir);
        char *out = tu_read_file(p, NULL);
        fail_msg("%s: exit %d: %s", cmd, st, out ? out : "");
    }
    free(full);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* A CA named name (name.pem, name.key). */
static void make_ca(const char *dir, const char *name)
{
    char *cmd = tu_fmt("openssl req -x509 " EC " -keyout %1$s.key -out %1$s.pem -days 30 "
                       "-subj '/CN=cpqd test CA %1$s' "
                       "-addext basicConstraints=critical,CA:TRUE "
                       "-addext keyUsage=critical,keyCertSign,cRLSign",
                       name);
    sh(dir, cmd);
    free(cmd);
}

/* A server certificate name.pem/name.key for IP address ip, signed by
 * CA ca. */
static void make_cert(const char *dir, const char *name, const char *ca, const char *ip)
{
    char *cmd = tu_fmt("openssl req " EC " -keyout %1$s.key -out %1$s.csr -subj '/CN=%3$s' && "
                       "printf 'subjectAltName=IP:%3$s\\nbasicConstraints=CA:FALSE\\n"
                       "keyUsage=critical,digitalSignature\\nextendedKeyUsage=serverAuth\\n' "
                       "> %1$s.ext && "
                       "openssl x509 -req -in %1$s.csr -CA %2$s.pem -CAkey %2$s.key "
                       "-CAcreateserial -out %1$s.pem -days 30 -extfile %1$s.ext",
                       name, ca, ip);
    sh(dir, cmd);
    free(cmd);
}

/* ---- the server ---- */

static void serve(fx *f, const char *const *extra)
{
    static int nstart;
    if (f->s.pid > 0)
        assert_int_equal(tu_server_stop(&f->s), 0);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[32] = {"--catalogs", cats,    "--rules", rules, "--threads", "2",
                            "--keys",     f->keys, "--db",    f->db, NULL};
    for (size_t i = 0, n = 10; extra[i] && n < 31; i++)
        args[n++] = extra[i];
    free(f->logp);
    f->logp = tu_fmt("%s/tls-%d.log", f->dir, ++nstart);
    assert_int_equal(tu_server_start(&f->s, f->logp, args), 0);
    free(cats);
    free(rules);
}

static const char quote_body[] =
    "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}";

/* Waits until the receiver has n requests. */
static void wait_rx(tlsrx *rx, int n)
{
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (rx_count(rx) < n && tu_now_ms() < deadline)
        tu_sleep_ms(10);
    assert_int_equal(rx_count(rx), n);
}

/* "sha256=..." of body at ts with secret. */
static char *sig_of(const char *secret, const char *ts, const char *body)
{
    char s[OUTBOX_SIG_LEN];
    assert_int_equal(outbox_sign(secret, strlen(secret), ts, body, strlen(body), s), 0);
    return strdup(s);
}

/* Request i carries exactly the signatures of the secrets given. */
static void assert_signed(tlsrx *rx, int i, const char *cur, const char *prev)
{
    pthread_mutex_lock(&rx->mu);
    char *a = sig_of(cur, rx->ts[i], rx->body[i]);
    char *want = a;
    if (prev) {
        char *b = sig_of(prev, rx->ts[i], rx->body[i]);
        want = tu_fmt("%s,%s", a, b);
        free(b);
        free(a);
    }
    if (strcmp(rx->sig[i], want) != 0)
        fail_msg("request %d signed '%s', expected '%s'", i, rx->sig[i], want);
    pthread_mutex_unlock(&rx->mu);
    free(want);
}

/* Creates a quote (an event) as the rep. */
static void one_event(fx *f)
{
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", quote_body, &j), 201);
    json_decref(j);
}

/* The receiver's certificate is verified against --webhook-ca; the
 * event arrives over TLS with Basic credentials (allowed over https to
 * any host) and, during a rotation, signed with both secrets; SIGHUP
 * reads the secret files again: a new pair, then the end of the rotation
 * (the previous-secret file emptied) with one signature. */
static void test_webhook_https_verified_and_rotated(void **state)
{
    fx *f = *state;
    make_ca(f->dir, "ca");
    make_cert(f->dir, "srv", "ca", "127.0.0.1");
    char *cert = tu_fmt("%s/srv.pem", f->dir), *key = tu_fmt("%s/srv.key", f->dir);
    char *ca = tu_fmt("%s/ca.pem", f->dir);
    tlsrx rx;
    rx_start(&rx, cert, key);
    assert_int_equal(tu_write(f->dir, "secret", "whsec_current\n"), 0);
    assert_int_equal(tu_write(f->dir, "secret.previous", "whsec_old\n"), 0);
    char *url = tu_fmt("https://hook:p%%40ss@127.0.0.1:%d/hooks/cpqd", rx.port);
    char *sec = tu_fmt("%s/secret", f->dir), *prev = tu_fmt("%s/secret.previous", f->dir);
    const char *extra[] = {"--webhook",  url, "--webhook-secret", sec, "--webhook-secret-previous",
                           prev,         "--webhook-ca", ca, NULL};
    serve(f, extra);
    one_event(f);
    wait_rx(&rx, 1);
    assert_signed(&rx, 0, "whsec_current", "whsec_old");
    assert_string_equal(rx.auth[0], "Basic aG9vazpwQHNz"); /* hook:p@ss */
    assert_non_null(strstr(rx.body[0], "\"type\":\"quote.created\""));
    /* the next rotation, without a restart */
    assert_int_equal(tu_write(f->dir, "secret", "whsec_newest\n"), 0);
    assert_int_equal(tu_write(f->dir, "secret.previous", "whsec_current\n"), 0);
    kill(f->s.pid, SIGHUP);
    assert_true(tu_log_wait(&f->s, "webhook secrets read again (signed with the current and the "
                                   "previous one)",
                            TU_WAIT_MS));
    one_event(f);
    wait_rx(&rx, 2);
    assert_signed(&rx, 1, "whsec_newest", "whsec_current");
    /* receivers have the new secret: the rotation ends */
    assert_int_equal(tu_write(f->dir, "secret.previous", ""), 0);
    kill(f->s.pid, SIGHUP);
    assert_true(tu_log_wait(&f->s, "webhook secrets read again (one secret)", TU_WAIT_MS));
    one_event(f);
    wait_rx(&rx, 3);
    assert_signed(&rx, 2, "whsec_newest", NULL);
    assert_int_equal(rx.handshakes_failed, 0);
    char *log = tu_read_file(f->logp, NULL);
    assert_non_null(strstr(log, "TLS with certificate verification"));
    assert_null(strstr(log, "whsec_"));
    assert_null(strstr(log, "p%40ss"));
    free(log);
    assert_int_equal(tu_server_stop(&f->s), 0);
    rx_stop(&rx);
    free(url), free(sec), free(prev), free(cert), free(key), free(ca);
}

/* The failed event of a refused certificate, parked after one attempt. */
static void expect_refused(fx *f, const char *why)
{
    json_t *j = NULL;
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    size_t n = 0;
    while (tu_now_ms() < deadline) {
        assert_int_equal(call(f, K_ADMIN, "GET", "/v1/admin/events?status=failed", NULL, &j), 200);
        n = json_array_size(json_object_get(j, "items"));
        if (n)
            break;
        json_decref(j);
        j = NULL;
        tu_sleep_ms(20);
    }
    assert_int_equal(n, 1);
    const char *err = js(json_array_get(json_object_get(j, "items"), 0), "last_error");
    if (!strstr(err, why))
        fail_msg("last_error '%s', expected '%s'", err, why);
    json_decref(j);
}

/* A receiver whose certificate another CA signed, or that names another
 * address, gets nothing: the attempt fails and says why. */
static void test_webhook_https_refuses_unverified_certificates(void **state)
{
    fx *f = *state;
    make_ca(f->dir, "ca");
    make_ca(f->dir, "other");
    make_cert(f->dir, "srv", "ca", "127.0.0.1");
    make_cert(f->dir, "elsewhere", "ca", "127.0.0.2");
    assert_int_equal(tu_write(f->dir, "secret", "whsec_current\n"), 0);
    char *sec = tu_fmt("%s/secret", f->dir);
    static const char *const cases[][3] = {
        {"srv", "other", "certificate verify failed: unable to get local issuer certificate"},
        {"elsewhere", "ca", "certificate verify failed: IP address mismatch"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *cert = tu_fmt("%s/%s.pem", f->dir, cases[i][0]);
        char *key = tu_fmt("%s/%s.key", f->dir, cases[i][0]);
        char *ca = tu_fmt("%s/%s.pem", f->dir, cases[i][1]);
        tlsrx rx;
        rx_start(&rx, cert, key);
        char *url = tu_fmt("https://127.0.0.1:%d/hooks", rx.port);
        char *db = tu_fmt("%s/tls-%zu.db", f->dir, i);
        free(f->db);
        f->db = db;
        const char *extra[] = {"--webhook", url, "--webhook-secret", sec, "--webhook-ca", ca,
                               "--webhook-max-attempts", "1", NULL};
        serve(f, extra);
        one_event(f);
        expect_refused(f, cases[i][2]);
        assert_int_equal(rx_count(&rx), 0);
        assert_int_equal(tu_server_stop(&f->s), 0);
        rx_stop(&rx);
        free(url), free(cert), free(key), free(ca);
    }
    free(sec);
}

/* config check refuses what serve would: an https webhook whose CA file
 * cannot be loaded, a CA file with an http webhook. */
static void test_webhook_https_settings_checked(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_write(f->dir, "secret", "whsec_current\n"), 0);
    assert_int_equal(tu_write(f->dir, "junk.pem", "not a certificate\n"), 0);
    char *sec = tu_fmt("%s/secret", f->dir), *junk = tu_fmt("%s/junk.pem", f->dir);
    const char *a1[] = {"config", "check", "--catalogs", "catalogs", "--listen", "127.0.0.1:0",
                        "--webhook", "https://127.0.0.1:9/h", "--webhook-secret", sec,
                        "--webhook-ca", junk, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(a1, &out, &err), 1);
    assert_non_null(strstr(err, "cannot load the CA certificates"));
    free(out), free(err);
    const char *a2[] = {"config", "check", "--catalogs", "catalogs", "--listen", "127.0.0.1:0",
                        "--webhook", "http://127.0.0.1:9/h", "--webhook-secret", sec,
                        "--webhook-ca", junk, NULL};
    assert_int_equal(tu_run(a2, &out, &err), 1);
    assert_non_null(strstr(err, "--webhook-ca is for an https:// webhook"));
    free(out), free(err);
    free(sec), free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_webhook_https_verified_and_rotated),
        T(test_webhook_https_refuses_unverified_certificates),
        T(test_webhook_https_settings_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
