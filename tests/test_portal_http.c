/*
 * End-to-end tests of what the portal needs from cpqd (docs/portal.md):
 * the embedded files under /portal/ with their CSP, sessions (an API key
 * exchanged for an HttpOnly SameSite=Strict cookie, the CSRF token on
 * every change, the Origin check, expiry, sign-out), GET /v1/quotes/{id}/
 * contract, and stock: PUT /v1/stock (crm and admin, idempotent, events,
 * every bad row listed and nothing written) and GET /v1/stock
 * (availability and earliest delivery as of --clock 2026-12-01).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/money.h"

#include <jansson.h>

#include "contracts_fixture.h"

/* ---- sessions over raw HTTP ---- */

typedef struct sess {
    char cookie[128]; /* "cpqd_session=..." */
    char csrf[64];
} sess;

/* Signs in with key: 201, the cookie's attributes, the body (*out, if
 * wanted). */
static void sign_in_key(fx *f, const char *key, sess *s, json_t **out)
{
    char *body = tu_fmt("{\"key\":\"%s\"}", key);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "POST", "/v1/session", "Content-Type: application/json\r\n",
                             body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 201);
    char sc[256];
    assert_non_null(tu_header(&r, "Set-Cookie", sc, sizeof(sc)));
    assert_non_null(strstr(sc, "; Path=/; HttpOnly; SameSite=Strict; Max-Age="));
    size_t n = strcspn(sc, ";");
    assert_true(n < sizeof(s->cookie));
    memcpy(s->cookie, sc, n);
    s->cookie[n] = '\0';
    /* the key is in neither the cookie nor the reply */
    assert_null(strstr(sc, key));
    assert_null(strstr(r.body, key));
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    assert_non_null(j);
    snprintf(s->csrf, sizeof(s->csrf), "%s", js(j, "csrf_token"));
    assert_int_equal(strlen(s->csrf), 43);
    assert_string_equal(js(j, "today"), TU_TODAY);
    if (out)
        *out = j;
    else
        json_decref(j);
    tu_resp_free(&r);
    free(body);
}

/* Signs in with key k of the fixture. */
static void sign_in(fx *f, int k, sess *s)
{
    sign_in_key(f, f->key[k], s, NULL);
}

/* A call with the session's cookie, the CSRF token when csrf, and extra
 * headers. Returns the status; *out the JSON body if wanted. */
static int scall(fx *f, const sess *s, bool csrf, const char *extra, const char *method,
                 const char *path, const char *body, json_t **out)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Cookie: theme=dark; %s\r\n%s%s%s%s", s->cookie,
             csrf ? "X-CSRF-Token: " : "", csrf ? s->csrf : "", csrf ? "\r\n" : "",
             extra ? extra : "");
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

static size_t count_items(fx *f, int k, const char *path)
{
    json_t *j;
    assert_int_equal(call(f, k, "GET", path, NULL, &j), 200);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

static const char kettle[] =
    "{\"customer\":{\"id\":\"C-1\"},\"lines\":[{\"sku\":\"APL-KTL-17\",\"quantity\":\"1\"}]}";

/* The cookie stands for the key: a partner session sees and writes as
 * that partner; a change needs the session's CSRF token (403 without it,
 * or with another session's, nothing stored). */
static void test_portal_session_cookie_is_the_key(void **state)
{
    fx *f = *state;
    sess a, b;
    sign_in(f, K_PARTNER_A, &a);
    sign_in(f, K_PARTNER_B, &b);
    json_t *j;
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/session", NULL, &j), 200);
    assert_string_equal(js(j, "role"), "partner");
    assert_string_equal(js(json_object_get(j, "partner"), "id"), "P-101");
    assert_string_equal(js(j, "csrf_token"), a.csrf);
    json_decref(j);
    /* no token, a wrong one, another session's: refused, nothing stored */
    assert_int_equal(scall(f, &a, false, NULL, "POST", "/v1/quotes", kettle, &j), 403);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "X-CSRF-Token"));
    json_decref(j);
    sess wrong = a;
    snprintf(wrong.csrf, sizeof(wrong.csrf), "%s", b.csrf);
    assert_int_equal(scall(f, &wrong, true, NULL, "POST", "/v1/quotes", kettle, NULL), 403);
    assert_int_equal(count_items(f, K_ADMIN, "/v1/quotes"), 0);
    /* from another origin, even with the token */
    assert_int_equal(
        scall(f, &a, true, "Origin: http://evil.example\r\n", "POST", "/v1/quotes", kettle, NULL),
        403);
    assert_int_equal(count_items(f, K_ADMIN, "/v1/quotes"), 0);
    /* with it: the partner's quote */
    assert_int_equal(
        scall(f, &a, true, "Origin: http://127.0.0.1\r\n", "POST", "/v1/quotes", kettle, &j), 201);
    assert_string_equal(js(j, "partner_id"), "P-101");
    char *path = tu_fmt("/v1/quotes/%s", js(j, "id"));
    json_decref(j);
    assert_int_equal(scall(f, &a, false, NULL, "GET", path, NULL, NULL), 200);
    assert_int_equal(scall(f, &b, false, NULL, "GET", path, NULL, NULL), 404);
    free(path);
    /* a known Bearer key wins over a cookie (the cookie is not read) */
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nCookie: %s\r\n", f->key[K_ADMIN],
             a.cookie);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, "GET", "/v1/partners", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    /* a partner session may not call what a partner key may not */
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/partners", NULL, NULL), 403);
}

/* Sign-in errors: an unknown key is 401; a body that is not the JSON
 * {"key"} is 400; neither sets a cookie. */
static void test_portal_sign_in_refusals(void **state)
{
    fx *f = *state;
    static const struct {
        const char *type, *body;
        int status;
    } cases[] = {
        {"application/json", "{\"key\":\"cpqd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 401},
        {"text/plain", NULL, 400}, /* the real key, but as a form could send it */
        {"application/json", "{\"key\":1}", 400},
        {"application/json", "{\"key\":\"x\",\"role\":\"admin\"}", 400},
        {"application/json", "{\"key\":", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body =
            cases[i].body ? strdup(cases[i].body) : tu_fmt("{\"key\":\"%s\"}", f->key[K_PARTNER_A]);
        char *hdr = tu_fmt("Content-Type: %s\r\n", cases[i].type);
        tu_resp r;
        assert_int_equal(tu_http(f->s.port, "POST", "/v1/session", hdr, body, strlen(body), &r), 0);
        char sc[64];
        if (r.status != cases[i].status)
            fail_msg("case %zu: %d %s", i, r.status, r.body);
        assert_null(tu_header(&r, "Set-Cookie", sc, sizeof(sc)));
        assert_non_null(strstr(r.body, "\"error\""));
        tu_resp_free(&r);
        free(hdr);
        free(body);
    }
    /* no cookie at all */
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/v1/session", &r), 0);
    assert_int_equal(r.status, 401);
    tu_resp_free(&r);
}

/* Signing out needs the token; then the cookie is worth nothing. */
static void test_portal_sign_out(void **state)
{
    fx *f = *state;
    sess a;
    sign_in(f, K_REP, &a);
    assert_int_equal(scall(f, &a, false, NULL, "DELETE", "/v1/session", NULL, NULL), 403);
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/quotes", NULL, NULL), 200);
    json_t *j;
    assert_int_equal(scall(f, &a, true, NULL, "DELETE", "/v1/session", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "signed_out")));
    json_decref(j);
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/quotes", NULL, &j), 401);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "sign in again"));
    json_decref(j);
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/session", NULL, NULL), 401);
}

/* --session-ttl: a session ends by itself. */
static void test_portal_session_expires(void **state)
{
    fx *f = *state;
    const char *extra[] = {"--session-ttl", "2", NULL};
    restart_with(f, NULL, extra);
    sess a;
    sign_in(f, K_REP, &a);
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/quotes", NULL, NULL), 200);
    tu_sleep_ms(3100);
    assert_int_equal(scall(f, &a, false, NULL, "GET", "/v1/quotes", NULL, NULL), 401);
}

/* The portal's files, embedded: types, CSP, 404 for anything else. */
static void test_portal_files_served_with_csp(void **state)
{
    fx *f = *state;
    static const char *const files[5][2] = {
        {"/portal/", "text/html; charset=utf-8"},
        {"/portal", "text/html; charset=utf-8"},
        {"/portal/portal.js", "text/javascript; charset=utf-8"},
        {"/portal/i18n.js", "text/javascript; charset=utf-8"},
        {"/portal/portal.css", "text/css; charset=utf-8"},
    };
    for (size_t i = 0; i < 5; i++) {
        tu_resp r;
        char v[512];
        assert_int_equal(tu_get(f->s.port, files[i][0], &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(tu_header(&r, "Content-Type", v, sizeof(v)), files[i][1]);
        assert_non_null(tu_header(&r, "Content-Security-Policy", v, sizeof(v)));
        assert_non_null(strstr(v, "default-src 'self'; script-src 'self'; style-src 'self'"));
        assert_null(strstr(v, "unsafe"));
        assert_string_equal(tu_header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
        assert_true(r.body_len > 100);
        tu_resp_free(&r);
    }
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/portal/keys.yaml", &r), 0);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "not_found"));
    tu_resp_free(&r);
    assert_int_equal(tu_get(f->s.port, "/portal/../Makefile", &r), 0);
    assert_true(r.status == 404 || r.status == 400);
    tu_resp_free(&r);
}

/* GET /v1/quotes/{id}/contract: the contract of an accepted quote, the
 * quote's partner only. */
static void test_portal_quote_contract(void **state)
{
    fx *f = *state;
    json_t *q = approved_quote(f, K_PARTNER_A, kettle);
    char *path = tu_fmt("/v1/quotes/%s/contract", js(q, "id"));
    json_t *j;
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 404);
    assert_non_null(strstr(js(json_object_get(j, "error"), "message"), "not accepted"));
    json_decref(j);
    json_t *k = accept_ok(f, K_PARTNER_A, js(q, "id"), "{\"signed_on\":\"2026-12-01\"}");
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 200);
    assert_string_equal(js(j, "id"), js(k, "id"));
    assert_string_equal(js(j, "quote_id"), js(q, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_PARTNER_B, "GET", path, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    json_decref(j);
    json_decref(k);
    json_decref(q);
    free(path);
}

/* A call with the API key text key (not one of the fixture's). */
static int kcall(fx *f, const char *key, const char *method, const char *path, const char *body,
                 json_t **out)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", key);
    tu_resp r;
    assert_int_equal(tu_http(f->s.port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    int st = r.status;
    json_error_t je;
    *out = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
    if (!*out)
        fail_msg("%s %s: not JSON (%d): %s", method, path, st, r.body ? r.body : "");
    tu_resp_free(&r);
    return st;
}

/* The partner entry id of GET /v1/partners (catalog cat). */
static json_t *partner_entry(json_t *list, const char *id, const char *cat)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(list, "items"), i,
                       x) if (!strcmp(js(x, "id"), id) && !strcmp(js(x, "catalog"), cat)) return x;
    fail_msg("no partner %s in catalog %s", id, cat);
    return NULL;
}

/* A partner whose catalog entry says `can_accept: false` (P-202 in the
 * sample cnc catalog) quotes and submits, but may not accept: 403, and
 * nothing changed (the quote still approved, no contract, no
 * contract.signed event); a rep accepts it for the partner. GET
 * /v1/partners and the partner's session say so (the portal then offers
 * no Accept button). */
static void test_partner_that_may_not_accept(void **state)
{
    fx *f = *state;
    const char *argv[] = {"key",     "new",       "--keys", f->keys, "--role",
                          "partner", "--partner", "P-202",  NULL};
    char *key = NULL, *err = NULL;
    assert_int_equal(tu_run(argv, &key, &err), 0);
    key[strcspn(key, "\n")] = '\0';
    restart_with(f, NULL, NULL);
    static const char probe[] = "{\"customer\":{\"id\":\"W-1\"},\"lines\":[{\"sku\":"
                                "\"CNC-PRB-TOUCH\",\"quantity\":\"1\"}]}";
    json_t *j;
    assert_int_equal(kcall(f, key, "POST", "/v1/quotes", probe, &j), 201);
    char *id = strdup(js(j, "id"));
    json_decref(j);
    char *submit = tu_fmt("/v1/quotes/%s/submit", id), *accept = tu_fmt("/v1/quotes/%s/accept", id);
    char *get = tu_fmt("/v1/quotes/%s", id), *contract = tu_fmt("/v1/quotes/%s/contract", id);
    assert_int_equal(kcall(f, key, "POST", submit, "", &j), 200);
    assert_string_equal(js(j, "status"), "approved");
    json_decref(j);
    assert_int_equal(kcall(f, key, "POST", accept, "{\"signed_on\":\"2026-12-01\"}", &j), 403);
    const char *msg = js(json_object_get(j, "error"), "message");
    if (!strstr(msg, "partner 'P-202' may not accept quotes (catalog cnc: can_accept: false)"))
        fail_msg("message: %s", msg);
    json_decref(j);
    /* nothing changed */
    assert_int_equal(kcall(f, key, "GET", get, NULL, &j), 200);
    assert_string_equal(js(j, "status"), "approved");
    assert_int_equal(json_array_size(json_object_get(j, "history")), 2);
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", contract, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events", NULL, &j), 200);
    size_t i, signed_n = 0;
    json_t *e;
    json_array_foreach(json_object_get(j, "items"), i, e) signed_n +=
        !strcmp(js(e, "type"), "contract.signed");
    assert_int_equal(signed_n, 0);
    json_decref(j);
    /* a rep accepts it for the partner */
    json_t *k = accept_ok(f, K_REP, id, "{\"signed_on\":\"2026-12-01\"}");
    assert_string_equal(js(k, "partner_id"), "P-202");
    json_decref(k);
    assert_int_equal(kcall(f, key, "GET", contract, NULL, &j), 200);
    json_decref(j);
    /* the partner list and the sessions say who may accept */
    assert_int_equal(call(f, K_REP, "GET", "/v1/partners", NULL, &j), 200);
    assert_true(json_is_false(json_object_get(partner_entry(j, "P-202", "cnc"), "can_accept")));
    assert_true(json_is_true(json_object_get(partner_entry(j, "P-201", "cnc"), "can_accept")));
    assert_true(
        json_is_true(json_object_get(partner_entry(j, "P-101", "appliances"), "can_accept")));
    json_decref(j);
    sess s;
    sign_in_key(f, key, &s, &j);
    assert_true(json_is_false(json_object_get(json_object_get(j, "partner"), "can_accept")));
    json_decref(j);
    sign_in_key(f, f->key[K_PARTNER_A], &s, &j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "partner"), "can_accept")));
    json_decref(j);
    free(submit), free(accept), free(get), free(contract), free(id), free(key), free(err);
}

/* ---- stock ---- */

static const char stock_body[] =
    "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":\"4\",\"lead_time_"
    "days\":2},"
    "{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SH\",\"quantity\":\"10.5\",\"lead_time_days\":5},"
    "{\"sku\":\"CNC-CHL-2000\",\"warehouse\":\"SZ\",\"quantity\":\"0\",\"lead_time_days\":1}]}";

static size_t stock_events(fx *f)
{
    json_t *j;
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events", NULL, &j), 200);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(j, "items"), i, e) n +=
        !strcmp(js(e, "type"), "stock.updated");
    json_decref(j);
    return n;
}

/* PUT /v1/stock: crm and admin; the same PUT again changes nothing and
 * writes no event; a change writes one event per SKU changed. */
static void test_stock_put_idempotent_with_events(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_PARTNER_A, "PUT", "/v1/stock", stock_body, NULL), 403);
    assert_int_equal(call(f, K_REP, "PUT", "/v1/stock", stock_body, NULL), 403);
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock", stock_body, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "items")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "changed")), 3);
    json_decref(j);
    assert_int_equal(stock_events(f), 2);
    assert_int_equal(call(f, K_ADMIN, "PUT", "/v1/stock", stock_body, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "changed")), 0);
    json_decref(j);
    assert_int_equal(stock_events(f), 2);
    /* "10.50" is the same quantity as "10.5": no change */
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock",
                          "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SH\","
                          "\"quantity\":\"10.50\",\"lead_time_days\":5}]}",
                          &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(j, "changed")), 0);
    json_decref(j);
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock",
                          "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SH\","
                          "\"quantity\":\"9\",\"lead_time_days\":5}]}",
                          &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(j, "changed")), 1);
    json_decref(j);
    assert_int_equal(stock_events(f), 3);
    /* the last event holds every warehouse of the SKU after the change */
    assert_int_equal(call(f, K_CRM, "GET", "/v1/events?after=2", NULL, &j), 200);
    json_t *p = json_object_get(json_array_get(json_object_get(j, "items"), 0), "payload");
    assert_string_equal(js(p, "sku"), "CNC-PRB-TOUCH");
    json_t *ws = json_object_get(p, "warehouses");
    assert_int_equal(json_array_size(ws), 2);
    assert_string_equal(js(json_array_get(ws, 0), "warehouse"), "SH");
    assert_string_equal(js(json_array_get(ws, 0), "quantity"), "9");
    assert_string_equal(js(json_array_get(ws, 1), "quantity"), "4");
    json_decref(j);
}

/* Every bad row is named at once and nothing is written. */
static void test_stock_put_bad_rows_change_nothing(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock", stock_body, NULL), 200);
    assert_int_equal(
        call(f, K_CRM, "PUT", "/v1/stock",
             "{\"items\":["
             "{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":\"99\",\"lead_time_"
             "days\":1},"
             "{\"sku\":\"NOPE-1\",\"warehouse\":\"SZ\",\"quantity\":\"1\",\"lead_time_days\":1},"
             "{\"sku\":\"CNC-CHL-2000\",\"warehouse\":\"S "
             "Z\",\"quantity\":\"1\",\"lead_time_days\":1},"
             "{\"sku\":\"CNC-CHL-2000\",\"warehouse\":\"BJ\",\"quantity\":\"-1\",\"lead_time_"
             "days\":1},"
             "{\"sku\":\"CNC-CHL-2000\",\"warehouse\":\"GZ\",\"quantity\":\"1\",\"lead_time_days\":"
             "9999},"
             "{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_"
             "days\":1}]}",
             &j),
        400);
    json_t *d = json_object_get(json_object_get(j, "error"), "details");
    assert_int_equal(json_array_size(d), 5);
    assert_string_equal(js(json_array_get(d, 0), "message"), "items[1].sku: no product 'NOPE-1'");
    assert_non_null(strstr(js(json_array_get(d, 1), "message"), "items[2].warehouse"));
    assert_string_equal(js(json_array_get(d, 2), "message"),
                        "items[3].quantity: must not be negative");
    assert_string_equal(js(json_array_get(d, 3), "message"), "items[4].lead_time_days: 0 to 3650");
    assert_string_equal(js(json_array_get(d, 4), "message"),
                        "items[5]: CNC-PRB-TOUCH in SZ given twice (first at items[0])");
    json_decref(j);
    static const char *const bodies[] = {
        "{\"items\":[]}",
        "[]",
        "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\"}]}",
        "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":4,\"lead_time_"
        "days\":1}]}",
        "{\"items\":[{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":\"1e3\",\"lead_"
        "time_days\":1}]}",
        "{\"items\":",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock", bodies[i], NULL), 400);
    /* unchanged: SZ still 4 */
    assert_int_equal(call(f, K_PARTNER_A, "GET", "/v1/stock?sku=CNC-PRB-TOUCH", NULL, &j), 200);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(js(it, "on_hand"), "14.5");
    json_decref(j);
    assert_int_equal(stock_events(f), 2);
}

/* GET /v1/stock: in stock from the fastest warehouses that cover the
 * quantity; beyond what is on hand, the catalog's lead time; a SKU never
 * pushed is unknown; the set takes the least available and latest date. */
static void test_stock_availability(void **state)
{
    fx *f = *state;
    json_t *j;
    assert_int_equal(call(f, K_CRM, "PUT", "/v1/stock", stock_body, NULL), 200);
    static const struct {
        const char *q, *status, *earliest;
    } want[] = {
        {"1", "in_stock", "2026-12-03"}, /* SZ (2 days) holds 4 */
        {"4", "in_stock", "2026-12-03"},
        {"5", "in_stock", "2026-12-06"}, /* SZ and SH (5 days) */
        {"14.5", "in_stock", "2026-12-06"},
        {"14.6", "backorder", "2026-12-21"}, /* catalog lead_time_days 20 */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *path = tu_fmt("/v1/stock?sku=CNC-PRB-TOUCH&quantity=%s", want[i].q);
        assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 200);
        json_t *it = json_array_get(json_object_get(j, "items"), 0);
        if (strcmp(js(it, "status"), want[i].status) ||
            strcmp(js(it, "earliest_delivery"), want[i].earliest))
            fail_msg("quantity %s: %s %s", want[i].q, js(it, "status"),
                     js(it, "earliest_delivery"));
        assert_string_equal(js(j, "as_of"), TU_TODAY);
        json_decref(j);
        free(path);
    }
    /* a set: the chiller has 0 on hand (backorder, catalog 15 days), the
     * probe is in stock: the set is a backorder on the later date */
    assert_int_equal(
        call(f, K_REP, "GET", "/v1/stock?sku=CNC-PRB-TOUCH,CNC-CHL-2000&quantity=2,1", NULL, &j),
        200);
    json_t *items = json_object_get(j, "items");
    assert_string_equal(js(json_array_get(items, 1), "status"), "backorder");
    assert_string_equal(js(json_array_get(items, 1), "earliest_delivery"), "2026-12-16");
    assert_string_equal(js(json_object_get(j, "all"), "status"), "backorder");
    assert_string_equal(js(json_object_get(j, "all"), "earliest_delivery"), "2026-12-16");
    json_decref(j);
    /* never pushed: unknown, with the catalog's lead time */
    assert_int_equal(call(f, K_REP, "GET", "/v1/stock?sku=CNC-PRB-LASER", NULL, &j), 200);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(js(it, "status"), "unknown");
    assert_string_equal(js(it, "earliest_delivery"), "2026-12-21");
    json_decref(j);
    /* refusals */
    static const char *const bad[] = {
        "/v1/stock",
        "/v1/stock?sku=NOPE",
        "/v1/stock?sku=CNC-PRB-TOUCH&quantity=0",
        "/v1/stock?sku=CNC-PRB-TOUCH,CNC-CHL-2000&quantity=1",
        "/v1/stock?sku=CNC-PRB-TOUCH,,X",
        "/v1/stock?sku=CNC-PRB-TOUCH&quantity=abc",
        "/v1/stock?skus=CNC-PRB-TOUCH",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = call(f, K_REP, "GET", bad[i], NULL, &j);
        if (st != 400)
            fail_msg("%s: %d", bad[i], st);
        json_decref(j);
    }
}

/* GET /v1/quotes/{id}/availability: a configured line is available as
 * its exploded BOM, each SKU at its total quantity times the line's; the
 * quote as its least available line; someone else's quote is 404. */
static void test_quote_availability_follows_the_bom(void **state)
{
    fx *f = *state;
    json_t *j;
    /* everything of the BOM in SZ (3 days), but one chiller for two machines */
    assert_int_equal(
        call(f, K_CRM, "PUT", "/v1/stock",
             "{\"items\":["
             "{\"sku\":\"CNC-5AX-650\",\"warehouse\":\"SZ\",\"quantity\":\"3\",\"lead_time_days\":10},"
             "{\"sku\":\"CNC-SP-24K\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-CTL-PRO\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-IO-16\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-SW-5AXIS\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-SW-HSM\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-ATC-30\",\"warehouse\":\"SZ\",\"quantity\":\"5\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-CHL-2000\",\"warehouse\":\"SZ\",\"quantity\":\"1\",\"lead_time_days\":3},"
             "{\"sku\":\"CNC-PRB-TOUCH\",\"warehouse\":\"SZ\",\"quantity\":\"9\",\"lead_time_days\":2}]}",
             NULL),
        200);
    assert_int_equal(
        call(f, K_REP, "POST", "/v1/quotes",
             "{\"customer\":{\"id\":\"C-9\"},\"lines\":[{\"sku\":\"CNC-5AX-650\",\"quantity\":\"2\","
             "\"attributes\":{\"plant_code\":\"GD-0001\"},\"configuration\":["
             "{\"path\":\"spindle\",\"value\":\"CNC-SP-24K\"},"
             "{\"path\":\"toolchanger\",\"value\":\"CNC-ATC-30\"},"
             "{\"path\":\"controller/CNC-CTL-PRO/io\",\"value\":\"CNC-IO-16\"}]},"
             "{\"sku\":\"CNC-PRB-TOUCH\",\"quantity\":\"1\"}]}",
             &j),
        201);
    char *path = tu_fmt("/v1/quotes/%s/availability", js(j, "id"));
    json_decref(j);
    assert_int_equal(call(f, K_REP, "GET", path, NULL, &j), 200);
    json_t *lines = json_object_get(j, "lines");
    assert_int_equal(json_array_size(lines), 2);
    json_t *l1 = json_array_get(lines, 0);
    /* the root and the 7 options of its BOM, two of each */
    json_t *items = json_object_get(l1, "items");
    assert_int_equal(json_array_size(items), 8);
    assert_string_equal(js(json_array_get(items, 0), "sku"), "CNC-5AX-650");
    assert_string_equal(js(json_array_get(items, 0), "earliest_delivery"), "2026-12-11");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        assert_string_equal(js(it, "quantity"), "2");
        bool chiller = !strcmp(js(it, "sku"), "CNC-CHL-2000");
        assert_string_equal(js(it, "status"), chiller ? "backorder" : "in_stock");
    }
    /* the chiller's catalog lead time (15 days) decides the line */
    assert_string_equal(js(l1, "status"), "backorder");
    assert_string_equal(js(l1, "earliest_delivery"), "2026-12-16");
    json_t *l2 = json_array_get(lines, 1);
    assert_string_equal(js(l2, "status"), "in_stock");
    assert_string_equal(js(l2, "earliest_delivery"), "2026-12-03");
    assert_string_equal(js(json_object_get(j, "all"), "status"), "backorder");
    assert_string_equal(js(json_object_get(j, "all"), "earliest_delivery"), "2026-12-16");
    json_decref(j);
    /* a rep's quote is no partner's */
    assert_int_equal(call(f, K_PARTNER_A, "GET", path, NULL, &j), 404);
    json_decref(j);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_portal_session_cookie_is_the_key),
        T(test_portal_sign_in_refusals),
        T(test_portal_sign_out),
        T(test_portal_session_expires),
        T(test_portal_files_served_with_csp),
        T(test_portal_quote_contract),
        T(test_partner_that_may_not_accept),
        T(test_stock_put_idempotent_with_events),
        T(test_stock_put_bad_rows_change_nothing),
        T(test_stock_availability),
        T(test_quote_availability_follows_the_bom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
