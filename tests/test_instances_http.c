/*
 * End-to-end tests of several cpqd instances on one database (issue 13
 * "Exact limits across instances"): two real `cpqd serve` processes on
 * the same --db (tu_db_location: a SQLite file, or a fresh PostgreSQL
 * database in make test's PostgreSQL half), created at once and driven
 * concurrently. Quote numbers stay unique and gap-free per year, and an
 * Idempotency-Key sent to both instances at once creates one quote.
 *
 * The client threads only record what they got (cmocka's asserts belong
 * to the main thread); the main thread checks it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include "testutil.h"

#include "store_fixture.h"

#include <jansson.h>
#include <pthread.h>

#define NINST 2
#define THREADS_PER_INST 2
#define QUOTES_PER_THREAD 15

#define KETTLE                                                                                     \
    "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"sku\":"                  \
    "\"APL-KTL-17\",\"quantity\":\"2\"}]}"

typedef struct fx {
    char *dir, *keys, *db;
    char rep[80]; /* a sales rep's key */
    tu_server s[NINST];
} fx;

static void make_key(fx *f)
{
    const char *argv[] = {"key", "new", "--keys", f->keys, "--role", "rep", NULL};
    char *out = NULL, *err = NULL;
    if (tu_run(argv, &out, &err) != 0)
        fail_msg("cpqd key new failed: %s", err ? err : "");
    size_t n = strcspn(out, "\n");
    assert_true(n > 10 && n < sizeof(f->rep));
    memcpy(f->rep, out, n);
    f->rep[n] = '\0';
    free(out);
    free(err);
}

typedef struct starter {
    fx *f;
    int i, rc;
} starter;

static void *start_one(void *arg)
{
    starter *a = arg;
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    char *logp = tu_fmt("%s/cpqd-%d.log", a->f->dir, a->i);
    const char *args[] = {"--catalogs", cats,       "--rules", rules,    "--threads", "2",
                          "--keys",     a->f->keys, "--db",    a->f->db, NULL};
    a->rc = tu_server_start(&a->f->s[a->i], logp, args);
    free(cats), free(rules), free(logp);
    return NULL;
}

/* Both instances start at once on the new database: one of them creates
 * the schema, the other finds it (or waits for it). */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "shared");
    make_key(f);
    pthread_t t[NINST];
    starter a[NINST];
    for (int i = 0; i < NINST; i++) {
        a[i] = (starter){f, i, -1};
        assert_int_equal(pthread_create(&t[i], NULL, start_one, &a[i]), 0);
    }
    for (int i = 0; i < NINST; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NINST; i++)
        assert_int_equal(a[i].rc, 0);
    assert_int_not_equal(f->s[0].port, f->s[1].port);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int st = 0;
    for (int i = 0; i < NINST; i++)
        if (f->s[i].pid > 0 && tu_server_stop(&f->s[i]) != 0)
            st = -1;
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir), free(f->keys);
    free(f);
    return st;
}

/* POST /v1/quotes on port as the rep (extra: more headers or NULL): the
 * status, and the quote's id and number (malloc'ed) on 201. Thread-safe. */
static int post_quote(const fx *f, int port, const char *extra, char **id, char **number)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", f->rep, extra ? extra : "");
    tu_resp r;
    *id = *number = NULL;
    if (tu_http(port, "POST", "/v1/quotes", hdr, KETTLE, strlen(KETTLE), &r) != 0) {
        tu_resp_free(&r);
        return -1;
    }
    int st = r.status;
    json_t *j = st == 201 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    const char *i = json_string_value(json_object_get(j, "id"));
    const char *n = json_string_value(json_object_get(j, "number"));
    if (i && n) {
        *id = strdup(i);
        *number = strdup(n);
    } else if (st == 201) {
        st = -2; /* a 201 without them */
    }
    json_decref(j);
    tu_resp_free(&r);
    return st;
}

/* The number of quotes the database holds. */
static long long quote_count(const fx *f)
{
    store *st = NULL;
    int64_t n = -1;
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    assert_int_equal(store_debug_int(st, "SELECT count(*) FROM quotes", &n), 0);
    store_close(st);
    return n;
}

/* ---- quote numbers ---- */

typedef struct creator {
    const fx *f;
    int port;
    int bad_status; /* the first status other than 201, or 0 */
    char *numbers[QUOTES_PER_THREAD];
} creator;

static void *create_run(void *arg)
{
    creator *c = arg;
    for (int i = 0; i < QUOTES_PER_THREAD; i++) {
        char *id = NULL;
        int st = post_quote(c->f, c->port, NULL, &id, &c->numbers[i]);
        free(id);
        if (st != 201 && !c->bad_status)
            c->bad_status = st;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Clients create quotes on both instances at once: every number of the
 * year is handed out exactly once, none skipped. */
static void test_instances_quote_numbers_gap_free(void **state)
{
    fx *f = *state;
    enum { N = NINST * THREADS_PER_INST };
    creator c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].f = f;
        c[i].port = f->s[i % NINST].port;
        assert_int_equal(pthread_create(&t[i], NULL, create_run, &c[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    char *all[N * QUOTES_PER_THREAD];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        if (c[i].bad_status)
            fail_msg("client %d got status %d", i, c[i].bad_status);
        for (int j = 0; j < QUOTES_PER_THREAD; j++)
            all[n++] = c[i].numbers[j];
    }
    qsort(all, n, sizeof(all[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "Q-2026-%06zu", i + 1);
        assert_string_equal(all[i], want);
        free(all[i]);
    }
    assert_int_equal(quote_count(f), N * QUOTES_PER_THREAD);
}

/* ---- idempotency keys ---- */

typedef struct keyed {
    const fx *f;
    int port;
    const char *header;
    int status;
    char *id, *number;
} keyed;

static void *keyed_run(void *arg)
{
    keyed *k = arg;
    k->status = post_quote(k->f, k->port, k->header, &k->id, &k->number);
    return NULL;
}

/* The same Idempotency-Key sent to both instances at the same moment:
 * one quote, and both answers name it. */
static void test_instances_idempotency_key_once(void **state)
{
    fx *f = *state;
    enum { ROUNDS = 8 };
    for (int r = 0; r < ROUNDS; r++) {
        char *h = tu_fmt("Idempotency-Key: twice-%d\r\n", r);
        keyed k[NINST];
        pthread_t t[NINST];
        for (int i = 0; i < NINST; i++) {
            k[i] = (keyed){f, f->s[i].port, h, 0, NULL, NULL};
            assert_int_equal(pthread_create(&t[i], NULL, keyed_run, &k[i]), 0);
        }
        for (int i = 0; i < NINST; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < NINST; i++)
            assert_int_equal(k[i].status, 201);
        assert_string_equal(k[0].id, k[1].id);
        assert_string_equal(k[0].number, k[1].number);
        char want[32];
        snprintf(want, sizeof(want), "Q-2026-%06d", r + 1);
        assert_string_equal(k[0].number, want);
        for (int i = 0; i < NINST; i++)
            free(k[i].id), free(k[i].number);
        free(h);
    }
    assert_int_equal(quote_count(f), ROUNDS);
}

/* GET or POST path on instance i as the rep: the status and the body as
 * JSON (*out). */
static int call_on(const fx *f, int i, const char *method, const char *path, json_t **out)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->rep);
    tu_resp r;
    assert_int_equal(tu_http(f->s[i].port, method, path, hdr, "", 0, &r), 0);
    int st = r.status;
    *out = json_loadb(r.body ? r.body : "", r.body_len, 0, NULL);
    assert_non_null(*out);
    tu_resp_free(&r);
    return st;
}

/* Catalog reloads across instances (issue 13): both report the same
 * catalog version, and a quote priced on one re-prices on the other,
 * from the archive in the database, to the same priced result. */
static void test_instances_reprice_on_the_other_instance(void **state)
{
    fx *f = *state;
    json_t *h0, *h1;
    assert_int_equal(call_on(f, 0, "GET", "/healthz", &h0), 200);
    assert_int_equal(call_on(f, 1, "GET", "/healthz", &h1), 200);
    assert_string_equal(json_string_value(json_object_get(h0, "version")),
                        json_string_value(json_object_get(h1, "version")));
    json_decref(h0), json_decref(h1);
    char *id = NULL, *number = NULL;
    assert_int_equal(post_quote(f, f->s[0].port, NULL, &id, &number), 201);
    char *get = tu_fmt("/v1/quotes/%s", id), *rep = tu_fmt("/v1/quotes/%s/reprice?on=original", id);
    json_t *q, *r;
    assert_int_equal(call_on(f, 0, "GET", get, &q), 200);
    assert_int_equal(call_on(f, 1, "POST", rep, &r), 200);
    char *a = json_dumps(json_object_get(q, "priced"), JSON_COMPACT | JSON_SORT_KEYS);
    char *b = json_dumps(json_object_get(r, "priced"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(a);
    assert_string_equal(a, b);
    assert_string_equal(json_string_value(json_object_get(r, "catalog_version")),
                        json_string_value(json_object_get(q, "catalog_version")));
    free(a), free(b), free(get), free(rep), free(id), free(number);
    json_decref(q), json_decref(r);
}

/* A request on instance i with the portal cookie (and the CSRF token
 * when csrf is not NULL): the status. */
static int cookie_call(const fx *f, int i, const char *cookie, const char *csrf,
                       const char *method, const char *path, const char *body)
{
    char hdr[320];
    snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nContent-Type: application/json\r\n%s%s%s", cookie,
             csrf ? "X-CSRF-Token: " : "", csrf ? csrf : "", csrf ? "\r\n" : "");
    tu_resp r;
    assert_int_equal(tu_http(f->s[i].port, method, path, hdr, body, body ? strlen(body) : 0, &r),
                     0);
    int st = r.status;
    tu_resp_free(&r);
    return st;
}

/* Portal sessions across instances (docs/portal.md "Sessions"): signed in
 * on one instance, the browser's cookie works on the other, reads and
 * changes (with its CSRF token) alike, with no sticky routing; signed out
 * on the other, it is ended on both. */
static void test_instances_portal_session_on_both(void **state)
{
    fx *f = *state;
    char *body = tu_fmt("{\"key\":\"%s\"}", f->rep);
    tu_resp r;
    assert_int_equal(tu_http(f->s[0].port, "POST", "/v1/session",
                             "Content-Type: application/json\r\n", body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 201);
    char sc[256], cookie[128], csrf[64];
    assert_non_null(tu_header(&r, "Set-Cookie", sc, sizeof(sc)));
    size_t n = strcspn(sc, ";");
    assert_true(n < sizeof(cookie));
    memcpy(cookie, sc, n);
    cookie[n] = '\0';
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    assert_non_null(j);
    snprintf(csrf, sizeof(csrf), "%s", json_string_value(json_object_get(j, "csrf_token")));
    assert_int_equal(strlen(csrf), 43);
    json_decref(j);
    tu_resp_free(&r);
    assert_int_equal(cookie_call(f, 1, cookie, NULL, "GET", "/v1/session", NULL), 200);
    assert_int_equal(cookie_call(f, 1, cookie, NULL, "GET", "/v1/quotes", NULL), 200);
    long long before = quote_count(f);
    assert_int_equal(cookie_call(f, 1, cookie, csrf, "POST", "/v1/quotes", KETTLE), 201);
    assert_int_equal(quote_count(f), before + 1);
    /* a change without the token is refused on either, nothing written */
    assert_int_equal(cookie_call(f, 0, cookie, NULL, "POST", "/v1/quotes", KETTLE), 403);
    assert_int_equal(quote_count(f), before + 1);
    /* signed out on instance 1: ended on instance 0 too */
    assert_int_equal(cookie_call(f, 1, cookie, csrf, "DELETE", "/v1/session", NULL), 200);
    assert_int_equal(cookie_call(f, 0, cookie, NULL, "GET", "/v1/session", NULL), 401);
    assert_int_equal(cookie_call(f, 0, cookie, NULL, "GET", "/v1/quotes", NULL), 401);
    assert_int_equal(cookie_call(f, 1, cookie, csrf, "POST", "/v1/quotes", KETTLE), 401);
    assert_int_equal(quote_count(f), before + 1);
    free(body);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instances_quote_numbers_gap_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instances_idempotency_key_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instances_portal_session_on_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instances_reprice_on_the_other_instance, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("instances", tests, NULL, NULL);
}
