/*
 * contracts_fixture: what the contract end-to-end tests share (header-only,
 * included by tests/test_contracts*_http.c after testutil.h): the API keys
 * and roles they use, the server fixture (keys made with `cpqd key new`,
 * a private --db from tu_db_location), HTTP calls as a key, quote creation and acceptance, and
 * the exact-sum checks of receivables.
 */
#ifndef CPQD_TESTS_CONTRACTS_FIXTURE_H
#define CPQD_TESTS_CONTRACTS_FIXTURE_H

#include "store_fixture.h"

enum { K_ADMIN, K_REP, K_CRM, K_PARTNER_A, K_PARTNER_B, K_MANAGER, NKEYS };
static const char *const key_role[NKEYS] = {"admin", "rep", "crm", "partner", "partner", "manager"};
static const char *const key_partner[NKEYS] = {NULL, NULL, NULL, "P-101", "P-102", NULL};

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

/* Starts the server on catalog_dir (NULL: the sample catalogs) with up to
 * 8 extra arguments (NULL-terminated, may be NULL). */
static inline void start_with(fx *f, const char *catalog_dir, const char *const *extra)
{
    static int nstart;
    char *cats = catalog_dir ? strdup(catalog_dir) : tu_path("catalogs"), *rules = tu_path("rules");
    const char *args[20] = {"--catalogs", cats,    "--rules", rules, "--threads", "2",
                            "--keys",     f->keys, "--db",    f->db, NULL};
    for (size_t i = 0, n = 10; extra && extra[i] && i < 8; i++)
        args[n++] = extra[i];
    free(f->logp);
    f->logp = tu_fmt("%s/cpqd-%d.log", f->dir, ++nstart);
    assert_int_equal(tu_server_start(&f->s, f->logp, args), 0);
    free(cats);
    free(rules);
}

static void start(fx *f)
{
    start_with(f, NULL, NULL);
}

/* Stops the running server and starts it again as start_with does. */
static inline void restart_with(fx *f, const char *catalog_dir, const char *const *extra)
{
    assert_int_equal(tu_server_stop(&f->s), 0);
    start_with(f, catalog_dir, extra);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "cpqd");
    make_keys(f);
    start(f);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int st = f->s.pid > 0 ? tu_server_stop(&f->s) : 0;
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir), free(f->keys), free(f->logp);
    free(f);
    return st == 0 ? 0 : -1;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- calls ---- */

static int call_h(fx *f, int k, const char *method, const char *path, const char *body,
                  const char *extra, json_t **out)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", f->key[k], extra ? extra : "");
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

static int call(fx *f, int k, const char *method, const char *path, const char *body, json_t **out)
{
    return call_h(f, k, method, path, body, NULL, out);
}

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v) {
        char *d = json_dumps(o, 0);
        fail_msg("no string '%s' in %.2000s", k, d ? d : "?");
    }
    return v;
}

static inline money_dec dec(const char *s)
{
    money_dec v;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

static inline void assert_dec_eq(money_dec a, const char *want)
{
    if (money_cmp(a, dec(want)) != 0) {
        char b[MONEY_FMT_MAX];
        money_format(a, b, sizeof(b));
        fail_msg("amount %s, expected %s", b, want);
    }
}

/* Creates a quote as k and submits it (approved without a discount);
 * returns the quote (its priced lines) as JSON. */
static inline json_t *approved_quote(fx *f, int k, const char *body)
{
    json_t *j;
    int st = call(f, k, "POST", "/v1/quotes", body, &j);
    if (st != 201)
        fail_msg("create: %d %s", st, json_dumps(j, 0));
    char *path = tu_fmt("/v1/quotes/%s/submit", js(j, "id"));
    json_decref(j);
    st = call(f, k, "POST", path, "", &j);
    free(path);
    if (st != 200 || strcmp(js(j, "status"), "approved") != 0)
        fail_msg("submit: %d %s", st, json_dumps(j, 0));
    return j;
}

static inline int accept_q(fx *f, int k, const char *qid, const char *body, const char *extra,
                    json_t **out)
{
    char *path = tu_fmt("/v1/quotes/%s/accept", qid);
    int st = call_h(f, k, "POST", path, body, extra, out);
    free(path);
    return st;
}

static inline json_t *accept_ok(fx *f, int k, const char *qid, const char *body)
{
    json_t *j;
    int st = accept_q(f, k, qid, body, NULL, &j);
    if (st != 201)
        fail_msg("accept: %d %s", st, json_dumps(j, 0));
    return j;
}

/* The priced total of quote line id. */
static inline const char *line_total(json_t *quote, const char *id)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(json_object_get(quote, "priced"), "lines"), i,
                       l) if (!strcmp(js(l, "id"), id)) return js(l, "total");
    fail_msg("no line %s", id);
    return NULL;
}

/* Sum of the items' amounts, of line `line` only when non-NULL. */
static inline money_dec items_sum(json_t *items, const char *line)
{
    money_dec s = money_from_int(0);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) if (!line || !strcmp(js(it, "line"), line))
        assert_int_equal(money_add(s, dec(js(it, "amount")), &s), 0);
    return s;
}

/* GET /v1/contracts/{id}/receivables (as_of may be NULL), checked: items
 * add up to the total; returns the body. */
static inline json_t *receivables(fx *f, int k, const char *cid, const char *as_of)
{
    char *path = as_of ? tu_fmt("/v1/contracts/%s/receivables?as_of=%s", cid, as_of)
                       : tu_fmt("/v1/contracts/%s/receivables", cid);
    json_t *j;
    int st = call(f, k, "GET", path, NULL, &j);
    free(path);
    if (st != 200)
        fail_msg("receivables: %d %s", st, json_dumps(j, 0));
    assert_dec_eq(items_sum(json_object_get(j, "items"), NULL), js(j, "total"));
    return j;
}

#endif
