/*
 * End-to-end tests of API keys and quotes: the real binary with --keys
 * and --db on the sample catalogs, keys made with `cpqd key new`. Covers
 * 401/403 for every route and role, partner scoping (404, never 403),
 * idempotency, versions, the status machine, bad inputs that change
 * nothing, and durability across kill -9.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cpqd/store.h"

#include "store_fixture.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>

enum { K_ADMIN, K_REP, K_MANAGER, K_CRM, K_PARTNER_A, K_PARTNER_B, NKEYS };
static const char *const key_role[NKEYS] = {"admin", "rep", "manager", "crm", "partner", "partner"};
static const char *const key_partner[NKEYS] = {NULL, NULL, NULL, NULL, "P-101", "P-102"};

typedef struct fx {
    char *dir, *keys, *db, *logp;
    char key[NKEYS][80];
    tu_server s;
} fx;

static void make_keys(fx *f)
{
    for (int i = 0; i < NKEYS; i++) {
        const char *argv[12] = {"key", "new", "--keys", f->keys, "--role", key_role[i], NULL};
        if (key_partner[i]) {
            argv[6] = "--partner";
            argv[7] = key_partner[i];
            argv[8] = NULL;
        }
        char *out = NULL, *err = NULL;
        int st = tu_run(argv, &out, &err);
        if (st != 0)
            fail_msg("cpqd key new failed (%d): %s", st, err ? err : "");
        size_t n = strcspn(out, "\n");
        assert_true(n > 10 && n < sizeof(f->key[i]));
        assert_string_equal(out + n, "\n"); /* the key alone on stdout */
        memcpy(f->key[i], out, n);
        f->key[i][n] = '\0';
        free(out);
        free(err);
    }
}

static void start(fx *f)
{
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "2",
                          "--keys", f->keys, "--db", f->db, NULL};
    assert_int_equal(tu_server_start(&f->s, f->logp, args), 0);
    free(cats);
    free(rules);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "cpqd");
    f->logp = tu_fmt("%s/cpqd.log", f->dir);
    make_keys(f);
    start(f);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    int st = f->s.pid > 0 ? tu_server_stop(&f->s) : 0;
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f->keys);
    free(f->logp);
    free(f);
    return st == 0 ? 0 : -1;
}

/* One request as key k (-1: no Authorization); returns the status and,
 * if out, the parsed JSON body. */
static int call(fx *f, int k, const char *method, const char *path, const char *body,
                const char *extra_headers, json_t **out)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "%s%s%s%s", k >= 0 ? "Authorization: Bearer " : "",
             k >= 0 ? f->key[k] : "", k >= 0 ? "\r\n" : "", extra_headers ? extra_headers : "");
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
        fail_msg("no string '%s' in %s", k, json_dumps(o, 0));
    return v;
}

#define KETTLE "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"%s}]}"

/* Creates a quote as key k; returns its id (malloc'ed). */
static char *create(fx *f, int k, const char *discount)
{
    char extra[64] = "";
    if (discount)
        snprintf(extra, sizeof(extra), ",\"discount\":\"%s\"", discount);
    char *body = tu_fmt(KETTLE, extra);
    json_t *j;
    int st = call(f, k, "POST", "/v1/quotes", body, NULL, &j);
    if (st != 201)
        fail_msg("create as %s: %d %s", key_role[k], st, json_dumps(j, 0));
    char *id = strdup(js(j, "id"));
    json_decref(j);
    free(body);
    return id;
}

static void test_keys_are_required(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, -1, "GET", "/v1/quotes", NULL, NULL, &j), 401);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "unauthorized");
    json_decref(j);
    assert_int_equal(call(f, -1, "GET", "/v1/quotes", NULL,
                          "Authorization: Bearer cpqd_notakeynotakeynotakeynotakeynotakeynotak\r\n", &j),
                     401);
    json_decref(j);
    assert_int_equal(call(f, -1, "GET", "/healthz", NULL, NULL, NULL), 200);
}

/* Every route x every role: 403 exactly where the role table says so. */
static void test_every_route_and_role(void **state)
{
    fx *f = *state;
    char *id = create(f, K_PARTNER_A, NULL);
    struct {
        const char *method, *path, *body;
        unsigned allowed; /* bit per key index */
    } routes[] = {
        {"GET", "/v1/catalog", NULL, 077},
        {"GET", "/v1/products", NULL, 077},
        {"GET", "/v1/products/APL-KTL-17", NULL, 077},
        {"GET", "/v1/partners", NULL, 1u << K_ADMIN | 1u << K_REP | 1u << K_MANAGER},
        {"POST", "/v1/admin/reload", "", 1u << K_ADMIN},
        {"POST", "/v1/price", "{}", 077},
        {"POST", "/v1/configure", "{}", 077},
        {"GET", "/v1/price-history?sku=APL-KTL-17", NULL, 077},
        {"POST", "/v1/quotes", "{}", 077},
        {"GET", "/v1/quotes", NULL, 077},
        {"GET", "/v1/quotes/@", NULL, 077},
        {"GET", "/v1/quotes/@/versions/1", NULL, 077},
        {"GET", "/v1/quotes/@/document", NULL, 077},
        {"POST", "/v1/quotes/@/reprice?on=current", "", 077},
        {"POST", "/v1/quotes/@/revise", "{}", 077},
        {"POST", "/v1/quotes/@/submit", "{}",
         1u << K_ADMIN | 1u << K_REP | 1u << K_MANAGER | 1u << K_PARTNER_A | 1u << K_PARTNER_B},
        {"POST", "/v1/quotes/@/approve", "{}", 1u << K_ADMIN | 1u << K_REP | 1u << K_MANAGER},
        {"POST", "/v1/quotes/@/reject", "{}", 1u << K_ADMIN | 1u << K_REP | 1u << K_MANAGER},
        {"POST", "/v1/quotes/@/send", "{}",
         1u << K_ADMIN | 1u << K_REP | 1u << K_MANAGER | 1u << K_PARTNER_A | 1u << K_PARTNER_B},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char path[160];
        const char *at = strchr(routes[i].path, '@');
        if (at)
            snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - routes[i].path), routes[i].path,
                     id, at + 1);
        else
            snprintf(path, sizeof(path), "%s", routes[i].path);
        for (int k = 0; k < NKEYS; k++) {
            int st = call(f, k, routes[i].method, path, routes[i].body, NULL, NULL);
            bool allowed = routes[i].allowed & (1u << k);
            if (allowed ? (st == 401 || st == 403) : st != 403)
                fail_msg("%s %s as %s%s%s: got %d, expected %s", routes[i].method, path,
                         key_role[k], key_partner[k] ? " " : "", key_partner[k] ? key_partner[k] : "",
                         st, allowed ? "not 401/403" : "403");
        }
        assert_int_equal(call(f, -1, routes[i].method, path, routes[i].body, NULL, NULL), 401);
    }
    free(id);
}

/* GET /v1/partners: the catalogs' partners with their segment, authority
 * and payment term (null: none of their own). */
static void test_partners_list(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/partners", NULL, NULL, &j), 200);
    json_t *p = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(j, "items"), i, x) if (!strcmp(js(x, "id"), "P-101")) p = x;
    assert_non_null(p);
    assert_string_equal(js(p, "segment"), "retail");
    assert_string_equal(js(p, "discount_authority"), "8");
    assert_string_equal(js(p, "catalog"), "appliances");
    assert_true(json_is_null(json_object_get(p, "payment_term")));
    json_decref(j);
}

static void test_create_read_and_number(void **state)
{
    fx *f = *state;
    json_t *j;
    char *body = tu_fmt(KETTLE, "");
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, NULL, &j), 201);
    /* numbered in the year of the service's today (TU_TODAY) */
    const char *num = js(j, "number");
    assert_int_equal(strlen(num), strlen("Q-2026-000001"));
    assert_memory_equal(num, "Q-2026-", 7);
    assert_string_equal(js(j, "status"), "draft");
    assert_string_equal(js(j, "total"), "298.00");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_non_null(json_object_get(json_object_get(j, "priced"), "lines"));
    char *path = tu_fmt("/v1/quotes/%s", js(j, "id"));
    json_t *g;
    assert_int_equal(call(f, K_MANAGER, "GET", path, NULL, NULL, &g), 200);
    assert_string_equal(js(g, "number"), num);
    /* internal callers see cost; the quote has no partner */
    json_t *line = json_array_get(json_object_get(json_object_get(g, "priced"), "lines"), 0);
    assert_non_null(json_object_get(line, "cost"));
    json_decref(g);
    /* a second quote gets the next number */
    json_t *j2;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, NULL, &j2), 201);
    assert_int_equal(atoi(js(j2, "number") + 7), atoi(num + 7) + 1);
    json_decref(j2);
    json_decref(j);
    free(path);
    free(body);
}

static void test_idempotency(void **state)
{
    fx *f = *state;
    char *body = tu_fmt(KETTLE, "");
    json_t *a, *b, *c;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, "Idempotency-Key: abc-1\r\n", &a), 201);
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, "Idempotency-Key: abc-1\r\n", &b), 201);
    assert_string_equal(js(a, "id"), js(b, "id"));
    assert_string_equal(js(a, "number"), js(b, "number"));
    /* the replay carries the first reply's ETag (stored with it), and it
     * is refused as stale once the quote moved on */
    char hdr[256], e1[64] = "", e2[64] = "";
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nIdempotency-Key: abc-2\r\n",
             f->key[K_REP]);
    tu_resp r1, r2;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/quotes", hdr, body, strlen(body), &r1), 0);
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/quotes", hdr, body, strlen(body), &r2), 0);
    assert_int_equal(r1.status, 201);
    assert_int_equal(r2.status, 201);
    assert_non_null(tu_header(&r1, "ETag", e1, sizeof(e1)));
    assert_non_null(tu_header(&r2, "ETag", e2, sizeof(e2)));
    assert_string_equal(e1, e2);
    json_error_t je;
    json_t *q2 = json_loadb(r1.body, r1.body_len, 0, &je);
    char *submit = tu_fmt("/v1/quotes/%s/submit", js(q2, "id"));
    char *im = tu_fmt("If-Match: %s\r\n", e2);
    /* byte for byte the first reply (its priced result is the version's,
     * referenced by the record: docs/api.md "Idempotency") */
    assert_int_equal(r1.body_len, r2.body_len);
    assert_memory_equal(r1.body, r2.body, r1.body_len);
    assert_int_equal(call(f, K_REP, "POST", submit, "", im, NULL), 200);
    tu_resp r3;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/quotes", hdr, body, strlen(body), &r3), 0);
    assert_int_equal(r3.status, 201); /* the reply as it was, draft and all */
    assert_int_equal(r3.body_len, r1.body_len);
    assert_memory_equal(r3.body, r1.body, r1.body_len);
    tu_resp_free(&r3);
    assert_int_equal(call(f, K_REP, "POST", submit, "", im, NULL), 412); /* moved on */
    free(im);
    free(submit);
    json_decref(q2);
    tu_resp_free(&r1);
    tu_resp_free(&r2);
    char *other = tu_fmt(KETTLE, ",\"discount\":\"1\"");
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", other, "Idempotency-Key: abc-1\r\n", &c), 409);
    assert_string_equal(js(json_object_get(c, "error"), "code"), "conflict");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    free(body);
    free(other);
}

static void test_partner_scoping(void **state)
{
    fx *f = *state;
    char *id = create(f, K_PARTNER_A, NULL);
    char *path = tu_fmt("/v1/quotes/%s", id);
    json_t *j;
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, NULL, &j), 200);
    assert_string_equal(js(j, "partner_id"), "P-101");
    json_t *line = json_array_get(json_object_get(json_object_get(j, "priced"), "lines"), 0);
    assert_null(json_object_get(line, "cost"));
    assert_null(json_object_get(line, "margin"));
    json_decref(j);
    /* another partner: does not exist */
    assert_int_equal(call(f, K_PARTNER_B, "GET", path, NULL, NULL, &j), 404);
    json_decref(j);
    char *sub = tu_fmt("/v1/quotes/%s/submit", id);
    assert_int_equal(call(f, K_PARTNER_B, "POST", sub, "{}", NULL, NULL), 404);
    assert_int_equal(call(f, K_PARTNER_B, "GET", "/v1/quotes?partner=P-101", NULL, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", "/v1/quotes", NULL, NULL, &j), 200);
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(j, "items"), i, q)
        assert_string_equal(js(q, "partner_id"), "P-102");
    json_decref(j);
    /* staff see it */
    assert_int_equal(call(f, K_MANAGER, "GET", path, NULL, NULL, NULL), 200);
    free(sub);
    free(path);
    free(id);
}

static void test_versions(void **state)
{
    fx *f = *state;
    char *id = create(f, K_REP, NULL);
    char *v1p = tu_fmt("/v1/quotes/%s/versions/1", id);
    json_t *before, *after, *rev, *latest;
    assert_int_equal(call(f, K_REP, "GET", v1p, NULL, NULL, &before), 200);
    char *rpath = tu_fmt("/v1/quotes/%s/revise", id);
    char *body = tu_fmt("{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":[{\"sku\":"
                        "\"APL-KTL-17\",\"quantity\":\"3\"}]}");
    assert_int_equal(call(f, K_REP, "POST", rpath, body, NULL, &rev), 201);
    assert_int_equal(json_integer_value(json_object_get(rev, "version")), 2);
    assert_string_equal(js(rev, "total"), "447.00"); /* 149.00 x 3 */
    char *lp = tu_fmt("/v1/quotes/%s", id);
    assert_int_equal(call(f, K_REP, "GET", lp, NULL, NULL, &latest), 200);
    assert_int_equal(json_integer_value(json_object_get(latest, "version")), 2);
    assert_int_equal(call(f, K_REP, "GET", v1p, NULL, NULL, &after), 200);
    /* version 1 unchanged (the quote's history grew, which is the point) */
    json_object_del(before, "history");
    json_object_del(after, "history");
    assert_true(json_equal(before, after));
    assert_string_equal(js(after, "total"), "298.00");
    /* a revision cannot change the customer */
    char *bad = tu_fmt("{\"customer\":{\"id\":\"C-2\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}");
    assert_int_equal(call(f, K_REP, "POST", rpath, bad, NULL, NULL), 400);
    char *v9 = tu_fmt("/v1/quotes/%s/versions/9", id);
    assert_int_equal(call(f, K_REP, "GET", v9, NULL, NULL, NULL), 404);
    json_decref(before);
    json_decref(after);
    json_decref(rev);
    json_decref(latest);
    free(v1p);
    free(v9);
    free(rpath);
    free(lp);
    free(body);
    free(bad);
    free(id);
}

static const char *status_after(fx *f, int k, const char *id, const char *action, int want)
{
    static char st[32];
    char *p = tu_fmt("/v1/quotes/%s/%s", id, action);
    json_t *j;
    int got = call(f, k, "POST", p, "{\"note\":\"ok\"}", NULL, &j);
    if (got != want)
        fail_msg("%s as %s: %d (want %d) %s", action, key_role[k], got, want, json_dumps(j, 0));
    snprintf(st, sizeof(st), "%s",
             got == 200 ? js(j, "status") : js(json_object_get(j, "error"), "code"));
    if (got == 409 && !strstr(js(json_object_get(j, "error"), "message"), "allowed:"))
        fail_msg("409 without the allowed actions: %s", json_dumps(j, 0));
    json_decref(j);
    free(p);
    return st;
}

static void test_status_machine(void **state)
{
    fx *f = *state;
    /* within the rep's 10%: submit approves directly */
    char *id = create(f, K_REP, "5");
    assert_string_equal(status_after(f, K_REP, id, "approve", 409), "conflict");
    assert_string_equal(status_after(f, K_REP, id, "submit", 200), "approved");
    assert_string_equal(status_after(f, K_REP, id, "submit", 409), "conflict");
    assert_string_equal(status_after(f, K_REP, id, "send", 200), "sent");
    free(id);
    /* 15% is beyond the rep (10%): pending; the rep cannot approve the
     * manager level (20%), the manager can */
    id = create(f, K_REP, "15");
    assert_string_equal(status_after(f, K_REP, id, "submit", 200), "pending_approval");
    assert_string_equal(status_after(f, K_REP, id, "approve", 403), "forbidden");
    assert_string_equal(status_after(f, K_MANAGER, id, "approve", 200), "approved");
    free(id);
    /* reject, then revise back to draft */
    id = create(f, K_REP, "15");
    assert_string_equal(status_after(f, K_REP, id, "submit", 200), "pending_approval");
    assert_string_equal(status_after(f, K_MANAGER, id, "reject", 200), "rejected");
    assert_string_equal(status_after(f, K_REP, id, "send", 409), "conflict");
    free(id);
}

static void test_bad_inputs_change_nothing(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes?limit=500", NULL, NULL, &j), 200);
    size_t before = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    static const char *const bad[] = {
        "{\"customer\":",
        "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"NOPE\",\"quantity\":\"1\"}]}",
        "{\"customer\":{\"id\":\"C-1\"},\"valid_until\":\"2001-01-01\",\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}",
        "{\"customer\":{\"id\":\"C-1\"},\"valid_until\":\"soon\",\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}",
        "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":1.5}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = call(f, K_ADMIN, "POST", "/v1/quotes", bad[i], NULL, &j);
        if (st != 400)
            fail_msg("%s: %d %s", bad[i], st, json_dumps(j, 0));
        assert_string_equal(js(json_object_get(j, "error"), "code"), "invalid_parameter");
        json_decref(j);
    }
    assert_int_equal(call(f, K_ADMIN, "POST", "/v1/quotes", bad[1], "Idempotency-Key: \x01\r\n", NULL), 400);
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes/q_0000000000000000", NULL, NULL, NULL), 404);
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes?limit=500", NULL, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), before);
    json_decref(j);
}

/* An unknown value of an enum-valued query parameter is 400
 * invalid_parameter naming the allowed values (in the message and as
 * details[0].allowed), on every list route and on reprice's on=; nothing
 * is listed or written. */
static void test_unknown_filter_values_are_400(void **state)
{
    fx *f = *state;
    char *id = create(f, K_REP, NULL);
    char *reprice = tu_fmt("/v1/quotes/%s/reprice?on=tomorrow", id);
    static const char *const quote_st[] = {"draft",    "pending_approval", "approved", "sent",
                                           "accepted", "rejected",         "expired",  NULL};
    static const char *const due_st[] = {"overdue", "due_soon", NULL};
    static const char *const ev_st[] = {"failed", "pending", "delivered", NULL};
    static const char *const on_vals[] = {"original", "current", NULL};
    const struct {
        const char *method, *path, *param;
        const char *const *allowed;
    } cases[] = {
        {"GET", "/v1/quotes?status=bogus", "status", quote_st},
        {"GET", "/v1/quotes?customer=C-1&status=DRAFT", "status", quote_st},
        {"GET", "/v1/receivables?status=late", "status", due_st},
        {"GET", "/v1/admin/events?status=lost", "status", ev_st},
        {"POST", reprice, "on", on_vals},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j;
        int st = call(f, K_ADMIN, cases[i].method, cases[i].path, cases[i].method[0] == 'P' ? "" : NULL,
                      NULL, &j);
        if (st != 400)
            fail_msg("%s %s: %d %s", cases[i].method, cases[i].path, st, json_dumps(j, 0));
        json_t *e = json_object_get(j, "error");
        assert_string_equal(js(e, "code"), "invalid_parameter");
        json_t *d = json_array_get(json_object_get(e, "details"), 0);
        assert_string_equal(js(d, "parameter"), cases[i].param);
        json_t *allowed = json_object_get(d, "allowed");
        size_t n = 0;
        for (; cases[i].allowed[n]; n++) {
            assert_string_equal(json_string_value(json_array_get(allowed, n)), cases[i].allowed[n]);
            if (!strstr(js(e, "message"), cases[i].allowed[n]))
                fail_msg("%s: the message does not name %s: %s", cases[i].path,
                         cases[i].allowed[n], js(e, "message"));
        }
        assert_int_equal(json_array_size(allowed), n);
        json_decref(j);
    }
    /* nothing was written: still one version, one event */
    json_t *j;
    char *get = tu_fmt("/v1/quotes/%s", id);
    assert_int_equal(call(f, K_ADMIN, "GET", get, NULL, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    json_decref(j);
    /* a known value still filters */
    assert_int_equal(call(f, K_ADMIN, "GET", "/v1/quotes?status=draft", NULL, NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 1);
    json_decref(j);
    free(get);
    free(reprice);
    free(id);
}

/* The printable document: HTML in UTF-8 with the Chinese names byte for
 * byte, scoped like the quote itself. */
static void test_document(void **state)
{
    fx *f = *state;
    char *id = create(f, K_PARTNER_A, NULL);
    char *p = tu_fmt("/v1/quotes/%s/document", id);
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_PARTNER_A]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", p, hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_non_null(tu_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
    assert_non_null(strstr(r.body, "电热水壶 1.7升")); /* APL-KTL-17's name, as in the catalog */
    json_t *q;
    char *qp = tu_fmt("/v1/quotes/%s", id);
    assert_int_equal(call(f, K_PARTNER_A, "GET", qp, NULL, NULL, &q), 200);
    assert_non_null(strstr(r.body, js(q, "number")));
    /* P-101 buys on the retail channel book: kettles in packages of 12 at
     * 1,140.00, so two take one package; the total as the page prints it
     * (docs/quotes.md "The quote document") */
    assert_string_equal(js(q, "total"), "1140.00");
    assert_non_null(strstr(r.body, "<td class=\"n grand\">CN¥1,140.00</td>"));
    json_decref(q);
    free(qp);
    assert_null(strstr(r.body, "cost"));
    tu_resp_free(&r);
    assert_int_equal(call(f, K_PARTNER_B, "GET", p, NULL, NULL, NULL), 404);
    free(p);
    free(id);
}

/* Every move is recorded: who, when, from what to what, with the note. */
static void test_history(void **state)
{
    fx *f = *state;
    char *id = create(f, K_REP, "15");
    assert_string_equal(status_after(f, K_REP, id, "submit", 200), "pending_approval");
    assert_string_equal(status_after(f, K_MANAGER, id, "approve", 200), "approved");
    char *p = tu_fmt("/v1/quotes/%s", id);
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, &j), 200);
    json_t *h = json_object_get(j, "history");
    assert_int_equal(json_array_size(h), 3); /* created, submitted, approved */
    json_t *last = json_array_get(h, 2);
    assert_string_equal(js(last, "from"), "pending_approval");
    assert_string_equal(js(last, "to"), "approved");
    assert_string_equal(js(last, "note"), "ok");
    assert_true(!strncmp(js(last, "actor"), "k_", 2));
    assert_true(strcmp(js(last, "actor"), js(json_array_get(h, 1), "actor")) != 0);
    json_decref(j);
    free(p);
    free(id);
}

/* The 201 of create and of revise is the quote as every read shows it,
 * history included (docs/quotes.md): byte for byte GET /v1/quotes/{id}
 * right after, and an Idempotency-Key replay gives it again. */
static void test_created_and_revised_bodies_carry_history(void **state)
{
    fx *f = *state;
    char *body = tu_fmt(KETTLE, ""), *more = tu_fmt(KETTLE, ",\"discount\":\"3\"");
    json_t *made, *again, *read, *revised, *read2;
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, "Idempotency-Key: hist-1\r\n",
                          &made),
                     201);
    json_t *h = json_object_get(made, "history");
    assert_int_equal(json_array_size(h), 1);
    json_t *e = json_array_get(h, 0);
    assert_true(json_is_null(json_object_get(e, "from")));
    assert_string_equal(js(e, "to"), "draft");
    assert_int_equal(json_integer_value(json_object_get(e, "version")), 1);
    assert_string_equal(js(e, "actor"), js(made, "created_by"));
    assert_string_equal(js(e, "at"), js(made, "created_at"));
    char *p = tu_fmt("/v1/quotes/%s", js(made, "id"));
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, &read), 200);
    assert_true(json_equal(made, read));
    assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, "Idempotency-Key: hist-1\r\n",
                          &again),
                     201);
    assert_true(json_equal(made, again));
    char *rp = tu_fmt("%s/revise", p);
    assert_int_equal(call(f, K_REP, "POST", rp, more, NULL, &revised), 201);
    h = json_object_get(revised, "history");
    assert_int_equal(json_array_size(h), 2);
    e = json_array_get(h, 1);
    assert_string_equal(js(e, "from"), "draft");
    assert_string_equal(js(e, "to"), "draft");
    assert_int_equal(json_integer_value(json_object_get(e, "version")), 2);
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, &read2), 200);
    assert_true(json_equal(revised, read2));
    json_decref(made);
    json_decref(again);
    json_decref(read);
    json_decref(revised);
    json_decref(read2);
    free(body);
    free(more);
    free(p);
    free(rp);
}

/* Each request is logged at info level with the id of the key that made
 * it (docs/auth.md), never the key itself. */
static void test_request_log_names_the_key_id_never_the_key(void **state)
{
    fx *f = *state;
    char *id = create(f, K_MANAGER, NULL);
    char *p = tu_fmt("/v1/quotes/%s", id);
    json_t *q;
    assert_int_equal(call(f, K_MANAGER, "GET", p, NULL, NULL, &q), 200);
    char *line = tu_fmt("GET %s 200 ", p), *key = tu_fmt(" key %s\n", js(q, "created_by"));
    assert_int_equal(call(f, -1, "GET", "/v1/catalog?log-probe", NULL, NULL, NULL), 401);
    assert_true(tu_log_wait(&f->s, "GET /v1/catalog?log-probe 401 ", TU_WAIT_MS));
    char *log = tu_read_file(f->logp, NULL);
    assert_non_null(log);
    const char *at = strstr(log, line);
    assert_non_null(at);
    const char *eol = strchr(at, '\n');
    assert_non_null(eol);
    assert_true(!strncmp(eol - strlen(key) + 1, key, strlen(key))); /* the line ends in it */
    const char *bol = at;
    while (bol > log && bol[-1] != '\n')
        bol--;
    char *head = strndup(bol, (size_t)(at - bol)); /* "<time> INFO w<n> " */
    assert_non_null(strstr(head, " INFO w"));
    free(head);
    at = strstr(log, "GET /v1/catalog?log-probe 401 ");
    assert_non_null(at);
    assert_true(!strncmp(strchr(at, '\n') - 6, " key -", 6)); /* no key: "-" */
    for (int k = 0; k < NKEYS; k++)
        assert_null(strstr(log, f->key[k]));
    free(log);
    json_decref(q);
    free(line);
    free(key);
    free(p);
    free(id);
}

/* A 201 is durable: kill -9 right after it, restart, read it back. */
static void test_kill9_loses_nothing(void **state)
{
    fx *f = *state;
    char *ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = create(f, K_REP, NULL);
    kill(f->s.pid, SIGKILL);
    tu_wait_exit(f->s.pid, TU_WAIT_MS);
    f->s.pid = 0;
    free(f->logp); /* a fresh log: the old one names the old port */
    f->logp = tu_fmt("%s/cpqd-restarted.log", f->dir);
    start(f);
    for (int i = 0; i < 5; i++) {
        char *p = tu_fmt("/v1/quotes/%s", ids[i]);
        assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, NULL), 200);
        free(p);
        free(ids[i]);
    }
}

/* Concurrent writers share commits (group commit: one transaction, one
 * fsync, for every write queued meanwhile): kill -9 while 8 clients are
 * creating quotes, then every quote that got its 201 is there after the
 * restart. */
#define KW_CLIENTS 8
#define KW_MAX 200 /* acknowledged quotes per client, at most */

typedef struct kw_client {
    int port;
    const char *key;
    _Atomic int *stop;
    _Atomic int *acked; /* all clients' 201s */
    char *ids[KW_MAX];  /* the quotes this client got a 201 for */
    int n;
} kw_client;

static void *kw_run(void *arg)
{
    kw_client *c = arg;
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", c->key);
    char *body = tu_fmt(KETTLE, "");
    while (!*c->stop && c->n < KW_MAX) {
        tu_resp r;
        if (tu_http(c->port, "POST", "/v1/quotes", hdr, body, strlen(body), &r) != 0) {
            tu_resp_free(&r);
            break; /* the server is gone */
        }
        json_error_t je;
        json_t *j = r.status == 201 ? json_loadb(r.body, r.body_len, 0, &je) : NULL;
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id) {
            c->ids[c->n++] = strdup(id);
            (*c->acked)++;
        }
        json_decref(j);
        tu_resp_free(&r);
    }
    free(body);
    return NULL;
}

static void test_kill9_concurrent_writers_lose_nothing(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    char *log2 = tu_fmt("%s/concurrent.log", f->dir);
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "8",
                          "--keys", f->keys, "--db", f->db, NULL};
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    _Atomic int stop = 0, acked = 0;
    kw_client c[KW_CLIENTS];
    pthread_t t[KW_CLIENTS];
    for (int i = 0; i < KW_CLIENTS; i++) {
        c[i] = (kw_client){.port = f->s.port, .key = f->key[K_ADMIN], .stop = &stop,
                           .acked = &acked};
        assert_int_equal(pthread_create(&t[i], NULL, kw_run, &c[i]), 0);
    }
    /* kill -9 in the middle of the writes (bounded: 30 s) */
    for (int waited = 0; acked < 150 && waited < 30000; waited += 5)
        tu_sleep_ms(5);
    kill(f->s.pid, SIGKILL);
    tu_wait_exit(f->s.pid, TU_WAIT_MS);
    f->s.pid = 0;
    stop = 1;
    for (int i = 0; i < KW_CLIENTS; i++)
        pthread_join(t[i], NULL);
    assert_true(acked >= 150);
    free(f->logp);
    f->logp = tu_fmt("%s/cpqd-concurrent-restarted.log", f->dir);
    start(f);
    for (int i = 0; i < KW_CLIENTS; i++)
        for (int k = 0; k < c[i].n; k++) {
            char *p = tu_fmt("/v1/quotes/%s", c[i].ids[k]);
            if (call(f, K_ADMIN, "GET", p, NULL, NULL, NULL) != 200)
                fail_msg("acknowledged quote %s was lost", c[i].ids[k]);
            free(p);
            free(c[i].ids[k]);
        }
    free(cats);
    free(rules);
    free(log2);
}

/* A write that waits for its commit holds no request thread: with one
 * request thread, and the store's write lock held by this test (so the
 * quote's batch cannot commit), the same thread still answers /metrics,
 * /healthz and a read; once the lock is let go the quote is created.
 * Before the write pool, the one thread waited inside the POST: the
 * reads got nothing until the writer gave up (busy timeout) and the
 * quote failed with a 500. */
typedef struct bg_call {
    fx *f;
    int status;
    char *id;
} bg_call;

static void *bg_create(void *arg)
{
    bg_call *b = arg;
    char *body = tu_fmt(KETTLE, "");
    json_t *j = NULL;
    b->status = call(b->f, K_REP, "POST", "/v1/quotes", body, NULL, &j);
    const char *id = json_string_value(json_object_get(j, "id"));
    b->id = id ? strdup(id) : NULL;
    json_decref(j);
    free(body);
    return NULL;
}

/* The value of gauge `name` in a /metrics scrape, -1 if absent. */
static long metrics_gauge(fx *f, const char *name)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_ADMIN]);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/metrics", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char *line = tu_fmt("\n%s ", name);
    const char *at = r.body ? strstr(r.body, line) : NULL;
    long v = at ? strtol(at + strlen(line), NULL, 10) : -1;
    free(line);
    tu_resp_free(&r);
    return v;
}

static void test_write_waits_off_the_request_thread(void **state)
{
    fx *f = *state;
    char *old = create(f, K_REP, NULL);
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    char *log2 = tu_fmt("%s/one-thread.log", f->dir);
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "1",
                          "--write-threads", "4", "--keys", f->keys, "--db", f->db, NULL};
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    assert_int_equal(metrics_gauge(f, "cpqd_write_threads"), 4);
    assert_int_equal(metrics_gauge(f, "cpqd_writes_in_progress"), 0);
    assert_int_equal(metrics_gauge(f, "cpqd_write_threads_used"), 0);
    /* one write at a time: each goes to the thread idle last, the same one */
    for (int i = 0; i < 6; i++)
        free(create(f, K_REP, NULL));
    assert_int_equal(metrics_gauge(f, "cpqd_write_threads_used"), 1);

    store *st = NULL;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    assert_int_equal(store_begin(st), 0); /* the write lock, until the rollback below */
    bg_call b = {.f = f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_create, &b), 0);
    /* the quote is priced and waits for the lock (bounded: 400 scrapes) */
    long busy = 0;
    for (int i = 0; i < 400 && busy != 1; i++) {
        busy = metrics_gauge(f, "cpqd_writes_in_progress");
        if (busy != 1)
            tu_sleep_ms(2);
    }
    assert_int_equal(busy, 1);
    /* the one request thread answers meanwhile */
    assert_int_equal(call(f, -1, "GET", "/healthz", NULL, NULL, NULL), 200);
    char *p = tu_fmt("/v1/quotes/%s", old);
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, NULL), 200);
    store_rollback(st);
    store_close(st);
    pthread_join(t, NULL);
    assert_int_equal(b.status, 201);
    assert_non_null(b.id);
    char *q = tu_fmt("/v1/quotes/%s", b.id);
    assert_int_equal(call(f, K_REP, "GET", q, NULL, NULL, NULL), 200);
    assert_int_equal(metrics_gauge(f, "cpqd_writes_in_progress"), 0);

    /* SIGTERM while a write waits: the drain answers it before exiting */
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    assert_int_equal(store_begin(st), 0);
    bg_call b2 = {.f = f};
    assert_int_equal(pthread_create(&t, NULL, bg_create, &b2), 0);
    busy = 0;
    for (int i = 0; i < 400 && busy != 1; i++) {
        busy = metrics_gauge(f, "cpqd_writes_in_progress");
        if (busy != 1)
            tu_sleep_ms(2);
    }
    assert_int_equal(busy, 1);
    kill(f->s.pid, SIGTERM);
    store_rollback(st);
    store_close(st);
    pthread_join(t, NULL);
    assert_int_equal(b2.status, 201);
    assert_int_equal(tu_wait_exit(f->s.pid, TU_WAIT_MS), 0);
    f->s.pid = 0;

    /* --write-threads 0: writes run on the request threads, as before */
    free(log2);
    log2 = tu_fmt("%s/no-pool.log", f->dir);
    args[7] = "0";
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    assert_int_equal(metrics_gauge(f, "cpqd_write_threads"), 0);
    char *again = create(f, K_REP, NULL);
    free(again);
    char *r2 = tu_fmt("/v1/quotes/%s", b2.id); /* the quote answered in the drain */
    assert_int_equal(call(f, K_REP, "GET", r2, NULL, NULL, NULL), 200);
    free(r2);
    free(b2.id);
    assert_int_equal(tu_server_stop(&f->s), 0);
    free(f->logp);
    f->logp = tu_fmt("%s/after-pool.log", f->dir);
    start(f);
    free(q);
    free(p);
    free(b.id);
    free(old);
    free(cats);
    free(rules);
    free(log2);
}

/* Promotion limits read persistent usage counters: a redemption counts
 * when its quote becomes a contract. With Singles' Day capped at one
 * redemption, the second customer's price no longer gets it. */
static void test_promotion_usage_counts_at_accept(void **state)
{
    fx *f = *state;
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *cats = tu_fmt("%s/cat-usage", f->dir), *rules = tu_fmt("%s/rules-usage", f->dir);
    char *src = tu_path("catalogs"), *rsrc = tu_path("rules");
    assert_int_equal(tu_copy_tree(src, cats), 0);
    assert_int_equal(tu_copy_tree(rsrc, rules), 0);
    free(src);
    free(rsrc);
    char *ldir = tu_fmt("%s/appliances", rules);
    assert_int_equal(tu_write(ldir, "double11_limit.lua", "return 1 -- one redemption\n"), 0);
    free(ldir);
    char *log2 = tu_fmt("%s/usage.log", f->dir);
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "2",
                          "--keys", f->keys, "--db", f->db, NULL};
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    static const char body[] =
        "{\"customer\":{\"id\":\"%s\",\"segment\":\"consumer\"},\"channel\":\"online\","
        "\"date\":\"2026-11-05\",\"valid_until\":\"2099-12-31\",\"lines\":[{\"sku\":"
        "\"APL-FRG-MINI\",\"quantity\":\"1\"}]}";
    char *b1 = tu_fmt(body, "U-1");
    char *b2 = tu_fmt("{\"customer\":{\"id\":\"U-2\",\"segment\":\"consumer\"},\"channel\":"
                      "\"online\",\"date\":\"2026-11-05\",\"lines\":[{\"sku\":\"APL-FRG-MINI\","
                      "\"quantity\":\"1\"}]}");
    json_t *j;
    assert_int_equal(call(f, K_ADMIN, "POST", "/v1/quotes", b1, NULL, &j), 201);
    json_t *app = json_object_get(json_object_get(json_object_get(j, "priced"), "promotions"),
                                  "applied");
    assert_int_equal(json_array_size(app), 1); /* double11, 15% off */
    char *id = strdup(js(j, "id"));
    json_decref(j);
    /* submit (a price below the floor waits for approval), approve, accept */
    char *p = tu_fmt("/v1/quotes/%s/submit", id);
    assert_int_equal(call(f, K_ADMIN, "POST", p, "{}", NULL, &j), 200);
    bool pending = !strcmp(js(j, "status"), "pending_approval");
    json_decref(j);
    free(p);
    if (pending) {
        p = tu_fmt("/v1/quotes/%s/approve", id);
        assert_int_equal(call(f, K_ADMIN, "POST", p, "{}", NULL, NULL), 200);
        free(p);
    }
    p = tu_fmt("/v1/quotes/%s/accept", id);
    assert_int_equal(call(f, K_ADMIN, "POST", p, "{\"signed_on\":\"2026-11-20\"}", NULL, &j), 201);
    json_decref(j);
    free(p);
    /* the cap is reached: another customer's price is refused the promotion */
    assert_int_equal(call(f, K_ADMIN, "POST", "/v1/price", b2, NULL, &j), 200);
    json_t *pr = json_object_get(j, "promotions");
    assert_int_equal(json_array_size(json_object_get(pr, "applied")), 0);
    bool seen = false;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(pr, "rejected"), i, x) if (!strcmp(js(x, "id"), "double11"))
    {
        assert_string_equal(js(x, "reason"), "redemption cap of 1 reached");
        seen = true;
    }
    assert_true(seen);
    json_decref(j);
    free(id);
    free(b1);
    free(b2);
    free(log2);
    free(cats);
    free(rules);
}

/* Re-pricing: on the original catalogs the stored result comes back byte
 * for byte, also after the catalogs changed, a reload and a restart; on
 * the current catalogs the change shows line by line. */
static void test_reprice(void **state)
{
    fx *f = *state;
    /* this test runs its own server on a copy of the catalogs it edits */
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *cats = tu_fmt("%s/catalogs", f->dir), *rules = tu_fmt("%s/rules", f->dir);
    char *src = tu_path("catalogs"), *rsrc = tu_path("rules");
    assert_int_equal(tu_copy_tree(src, cats), 0);
    assert_int_equal(tu_copy_tree(rsrc, rules), 0);
    free(src);
    free(rsrc);
    char *log2 = tu_fmt("%s/reprice.log", f->dir);
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--threads", "2",
                          "--keys", f->keys, "--db", f->db, NULL};
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    char *id = create(f, K_REP, NULL); /* APL-KTL-17 x 2 at 149.00 = 298.00 */
    char *orig = tu_fmt("/v1/quotes/%s/reprice?on=original", id);
    char *cur = tu_fmt("/v1/quotes/%s/reprice?on=current", id);
    json_t *j;
    assert_int_equal(call(f, K_REP, "POST", orig, "", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "identical")));
    char *v0 = strdup(js(j, "catalog_version"));
    json_decref(j);
    /* the list price of the kettle goes up to 159.00, and the service reloads */
    char *yaml = tu_fmt("%s/appliances.yaml", cats);
    char *text = tu_read_file(yaml, NULL);
    char *at = strstr(text, "- sku: APL-KTL-17\n        list: \"149.00\"");
    assert_non_null(at);
    memcpy(strstr(at, "149.00"), "159.00", 6); /* the list price ... */
    memcpy(strstr(at, "149.00"), "159.00", 6); /* ... and its first volume band */
    assert_int_equal(tu_write(cats, "appliances.yaml", text), 0);
    free(text);
    free(yaml);
    assert_int_equal(call(f, K_ADMIN, "POST", "/v1/admin/reload", "", NULL, NULL), 200);
    assert_int_equal(call(f, K_REP, "POST", orig, "", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "identical")));
    assert_string_equal(js(j, "catalog_version"), v0);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "POST", cur, "", NULL, &j), 200);
    assert_true(strcmp(js(j, "catalog_version"), v0) != 0);
    json_t *l0 = json_array_get(json_object_get(json_object_get(j, "changes"), "lines"), 0);
    assert_string_equal(js(l0, "before"), "298.00");
    assert_string_equal(js(l0, "after"), "318.00"); /* 159.00 x 2 */
    assert_string_equal(js(l0, "delta"), "20.00");
    json_decref(j);
    /* after a restart the original catalogs come back from the store */
    kill(f->s.pid, SIGKILL);
    tu_wait_exit(f->s.pid, TU_WAIT_MS);
    f->s.pid = 0;
    free(log2);
    log2 = tu_fmt("%s/reprice2.log", f->dir);
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    assert_int_equal(call(f, K_REP, "POST", orig, "", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "identical")));
    json_decref(j);
    char *bad = tu_fmt("/v1/quotes/%s/reprice?on=tomorrow", id);
    assert_int_equal(call(f, K_REP, "POST", bad, "", NULL, NULL), 400);
    assert_int_equal(call(f, K_PARTNER_A, "POST", orig, "", NULL, NULL), 404);
    free(bad);
    free(v0);
    free(orig);
    free(cur);
    free(id);
    free(log2);
    free(cats);
    free(rules);
}

/* A quote's pricing date is pinned when it is made, when the body names
 * none and when it names it as null: re-priced on its original catalogs
 * days later (a restart with a later clock) it prices on the day it was
 * made, so the result is the same byte for byte. */
static void test_reprice_pins_a_null_date(void **state)
{
    fx *f = *state;
    const char *bodies[] = {"{\"customer\":{\"id\":\"C-1\"},\"date\":null,"
                            "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}",
                            " {\"customer\":{\"id\":\"C-1\"},\"valid_until\":\"2026-12-31\","
                            "\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]} \n"};
    char *ids[2];
    json_t *j;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", bodies[i], NULL, &j), 201);
        ids[i] = strdup(js(j, "id"));
        assert_string_equal(js(json_object_get(j, "priced"), "date"), TU_TODAY);
        json_decref(j);
    }
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *log2 = tu_fmt("%s/later.log", f->dir);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[] = {"--clock", "2026-12-09", "--catalogs", cats,    "--rules", rules,
                          "--keys",  f->keys,      "--db",       f->db,   NULL};
    assert_int_equal(tu_server_start(&f->s, log2, args), 0);
    for (int i = 0; i < 2; i++) {
        char *orig = tu_fmt("/v1/quotes/%s/reprice?on=original", ids[i]);
        assert_int_equal(call(f, K_REP, "POST", orig, "", NULL, &j), 200);
        assert_true(json_is_true(json_object_get(j, "identical")));
        assert_string_equal(js(json_object_get(j, "priced"), "date"), TU_TODAY);
        json_decref(j);
        free(orig);
        free(ids[i]);
    }
    /* back to the suite's clock (a log of its own: the port is read from it) */
    assert_int_equal(tu_server_stop(&f->s), 0);
    char *log3 = tu_fmt("%s/today.log", f->dir);
    assert_int_equal(tu_server_start(&f->s, log3, args + 2), 0);
    free(log3);
    free(log2);
    free(cats);
    free(rules);
}
/* Price history reads accepted quotes (accepting comes with contracts:
 * here the store marks them accepted directly, the server stopped). */
static void test_price_history(void **state)
{
    fx *f = *state;
    char *a = create(f, K_REP, NULL); /* C-1, APL-KTL-17 x 2 */
    char *b = create(f, K_REP, "10");
    char *p = create(f, K_PARTNER_A, NULL);
    assert_int_equal(tu_server_stop(&f->s), 0);
    store *st = NULL;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    const char *ids[] = {a, b, p};
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_quote_set_status(st, ids[i], "draft", "accepted", "test", NULL), 0);
    store_close(st);
    free(f->logp);
    f->logp = tu_fmt("%s/history.log", f->dir);
    start(f);
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", "/v1/price-history?sku=APL-KTL-17&customer=C-1", NULL,
                          NULL, &j),
                     200);
    json_t *all = json_object_get(j, "overall");
    assert_int_equal(json_integer_value(json_object_get(all, "count")), 3);
    json_t *mine = json_object_get(json_object_get(j, "customer"), "prices");
    assert_int_equal(json_integer_value(json_object_get(mine, "count")), 3);
    /* rep: 298.00 gross = 263.72 net, 131.86 per unit; 10% off: 268.20 gross =
     * 237.35 net, 118.675 per unit;
     * partner P-101 (segment retail): a whole package of 12 for 1140.00 gross,
     * 570.00 per unit of the 2, 504.425 net: min 118.675, median 131.86, max 504.425 */
    assert_string_equal(js(all, "min"), "118.6750");
    assert_string_equal(js(all, "median"), "131.8600");
    assert_string_equal(js(all, "max"), "504.4250");
    json_t *last = json_array_get(json_object_get(all, "last"), 0);
    assert_non_null(json_object_get(last, "quote"));
    assert_string_equal(js(last, "quantity"), "2");
    json_decref(j);
    /* a partner sees only its own quotes' prices */
    assert_int_equal(call(f, K_PARTNER_B, "GET", "/v1/price-history?sku=APL-KTL-17", NULL, NULL, &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "overall"), "count")), 0);
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_A, "GET", "/v1/price-history?sku=APL-KTL-17", NULL, NULL, &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "overall"), "count")), 1);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/price-history", NULL, NULL, NULL), 400);
    free(a);
    free(b);
    free(p);
}

/* Three accepted quotes of customer C-DMG, b, c, a in the list's order,
 * two of them damaged behind the API: b's priced result no longer
 * unpacks, c's has a line whose unit_price does not parse. Neither stops
 * the quote list (b is the cursor of the first page: the next page
 * answers) nor the price history, which counts a alone and names b and
 * c with the reason; the read of b alone answers 500 with the reason. */
static void test_damaged_quote_stops_no_list(void **state)
{
    fx *f = *state;
    const char *body = "{\"customer\":{\"id\":\"C-DMG\"},\"date\":\"2026-12-01\",\"lines\":[{\"sku\":"
                       "\"APL-KTL-17\",\"quantity\":\"2\"}]}";
    json_t *j;
    char *q3[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(call(f, K_REP, "POST", "/v1/quotes", body, NULL, &j), 201);
        q3[i] = strdup(js(j, "id"));
        json_decref(j);
    }
    assert_int_equal(tu_server_stop(&f->s), 0);
    store *st = NULL;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_quote_set_status(st, q3[i], "draft", "accepted", "test", NULL), 0);
    store_close(st);
    free(f->logp);
    f->logp = tu_fmt("%s/damaged.log", f->dir);
    start(f);
    /* in the list's order: b, c, a */
    assert_int_equal(call(f, K_REP, "GET", "/v1/quotes?customer=C-DMG", NULL, NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 3);
    char *b = strdup(js(json_array_get(items, 0), "id")), *c = strdup(js(json_array_get(items, 1), "id"));
    char *number_c = strdup(js(json_array_get(items, 1), "number"));
    char *number_a = strdup(js(json_array_get(items, 2), "number"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", "/v1/price-history?sku=APL-KTL-17&customer=C-DMG", NULL,
                          NULL, &j),
                     200);
    json_int_t before = json_integer_value(json_object_get(json_object_get(j, "overall"), "count"));
    assert_null(json_object_get(j, "damaged"));
    json_decref(j);

    /* damaged behind the API; c's priced result stored unpacked, its
     * first unit_price "12,5…" */
    assert_int_equal(store_debug_open(f->db, &st, NULL), 0);
    store_quote qc;
    assert_int_equal(store_quote_get(st, c, 0, &qc), 0);
    char *unit = strstr(qc.priced, "\"unit_price\":\"");
    assert_non_null(unit);
    assert_null(strchr(qc.priced, '\''));
    unit += strlen("\"unit_price\":\"");
    char *sql = tu_fmt("UPDATE quote_versions SET priced = '%.*s12,5%s' WHERE quote_id = '%s'",
                       (int)(unit - qc.priced), qc.priced, unit + 2, c);
    store_quote_fini(&qc);
    int64_t changed = 0;
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    sql = tu_fmt("UPDATE quote_versions SET priced = '~z1~AAAA' WHERE quote_id = '%s'", b);
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    store_close(st);

    assert_int_equal(call(f, K_REP, "GET", "/v1/quotes?customer=C-DMG&limit=1", NULL, NULL, &j),
                     200);
    assert_string_equal(js(json_array_get(json_object_get(j, "items"), 0), "id"), b);
    char *path = tu_fmt("/v1/quotes?customer=C-DMG&limit=1&after=%s", js(j, "next"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, NULL, &j), 200);
    free(path);
    assert_string_equal(js(json_array_get(json_object_get(j, "items"), 0), "id"), c);
    json_decref(j);

    assert_int_equal(call(f, K_REP, "GET", "/v1/price-history?sku=APL-KTL-17&customer=C-DMG", NULL,
                          NULL, &j),
                     200);
    json_t *all = json_object_get(j, "overall");
    assert_int_equal(json_integer_value(json_object_get(all, "count")), before - 2);
    json_t *mine = json_object_get(json_object_get(j, "customer"), "prices");
    assert_int_equal(json_integer_value(json_object_get(mine, "count")), 1);
    assert_string_equal(js(json_array_get(json_object_get(mine, "last"), 0), "quote"), number_a);
    json_t *dmg = json_object_get(j, "damaged");
    assert_int_equal(json_array_size(dmg), 2);
    json_t *d0 = json_array_get(dmg, 0), *d1 = json_array_get(dmg, 1); /* newest first */
    assert_non_null(strstr(js(d0, "reason"), "priced result is damaged"));
    assert_non_null(strstr(js(d0, "reason"), b));
    assert_string_equal(js(d1, "quote"), number_c);
    assert_string_equal(js(d1, "reason"), "its line 1: the stored unit_price does not parse");
    json_decref(j);

    path = tu_fmt("/v1/quotes/%s", b);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, NULL, &j), 500);
    free(path);
    assert_string_equal(js(json_object_get(j, "error"), "code"), "internal");
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "is damaged"));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        free(q3[i]);
    free(b), free(c), free(number_c), free(number_a);
}

/* Past its valid_until a quote reads as expired, and cannot move: the
 * first attempt records expired and is refused. (valid_until is put in
 * the past directly in the database, the server stopped.) */
static void test_expiry(void **state)
{
    fx *f = *state;
    char *id = create(f, K_REP, "5");
    assert_string_equal(status_after(f, K_REP, id, "submit", 200), "approved");
    assert_int_equal(tu_server_stop(&f->s), 0);
    store *st = NULL;
    assert_int_equal(store_open(f->db, false, &st, NULL), 0);
    char *sql = tu_fmt("UPDATE quote_versions SET valid_until = '2020-01-01' WHERE "
                       "quote_id = '%s'",
                       id); /* an id is q_ and hex: no quoting needed */
    int64_t changed = 0;
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    store_close(st);
    free(f->logp);
    f->logp = tu_fmt("%s/expiry.log", f->dir);
    start(f);
    char *p = tu_fmt("/v1/quotes/%s", id);
    json_t *j;
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, &j), 200);
    assert_string_equal(js(j, "status"), "expired");
    assert_int_equal(json_array_size(json_object_get(j, "actions")), 0);
    json_decref(j);
    assert_string_equal(status_after(f, K_REP, id, "send", 409), "conflict");
    assert_int_equal(call(f, K_REP, "GET", p, NULL, NULL, &j), 200);
    json_t *h = json_object_get(j, "history");
    assert_string_equal(js(json_array_get(h, json_array_size(h) - 1), "to"), "expired");
    json_decref(j);
    assert_string_equal(status_after(f, K_REP, id, "send", 409), "conflict");
    free(p);
    free(id);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_required),
        cmocka_unit_test(test_every_route_and_role),
        cmocka_unit_test(test_partners_list),
        cmocka_unit_test(test_create_read_and_number),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_partner_scoping),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_status_machine),
        cmocka_unit_test(test_bad_inputs_change_nothing),
        cmocka_unit_test(test_unknown_filter_values_are_400),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_created_and_revised_bodies_carry_history),
        cmocka_unit_test(test_request_log_names_the_key_id_never_the_key),
        cmocka_unit_test(test_kill9_loses_nothing),
        cmocka_unit_test(test_kill9_concurrent_writers_lose_nothing),
        cmocka_unit_test(test_write_waits_off_the_request_thread),
        cmocka_unit_test(test_price_history),
        cmocka_unit_test(test_damaged_quote_stops_no_list),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_promotion_usage_counts_at_accept),
        cmocka_unit_test(test_reprice),
        cmocka_unit_test(test_reprice_pins_a_null_date),
    };
    return cmocka_run_group_tests_name("quotes_http", tests, setup, teardown);
}
