/*
 * End-to-end test of a promotion budget under concurrency (docs/pricing.md
 * "Promotions", issue "One application layer"): 64 quotes each priced
 * with 100.00 off a promotion whose limit rule grants at most 1,000.00 in
 * all, then accepted by 64 concurrent requests. Counters are checked and
 * spent inside each acceptance's write transaction, so exactly ten are
 * accepted and the others are refused (409, nothing written): the granted
 * sum never exceeds the budget. The same with two instances on one
 * database, 32 acceptances each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "cpqd/money.h"

#include <jansson.h>
#include <pthread.h>

#include "contracts_fixture.h"

#define NQUOTES 64

static const char catalog[] =
    "catalog:\n"
    "  id: budget\n"
    "  version: \"1\"\n"
    "  name: Budget test\n"
    "  currency: CNY\n"
    "  timezone: Asia/Shanghai\n"
    "  tax: {prices_include_tax: true, classes: {standard: \"0.13\"}}\n"
    "approval_levels:\n"
    "  - {id: rep, max_discount: \"10\"}\n"
    "  - {id: manager, max_discount: \"100\"}\n"
    "products:\n"
    "  - {sku: B-1, name: Budgeted gadget, category: gadgets, delivery: {mode: goods}}\n"
    "price_books:\n"
    "  - id: list\n"
    "    name: List\n"
    "    currency: CNY\n"
    "    valid_from: 2026-01-01\n"
    "    audience: all\n"
    "    entries:\n"
    "      - {sku: B-1, list: \"1000.00\"}\n"
    "promotions:\n"
    "  - id: launch-100\n"
    "    name: Launch 100 off\n"
    "    valid_from: 2026-01-01\n"
    "    effect: {amount_off: \"100.00\"}\n"
    "    limit: budget/thousand.lua\n";

static const char rule[] = "local BUDGET = dec(\"1000.00\")\n"
                           "local left = BUDGET - ctx.usage.spent\n"
                           "if left <= 0 then return false, \"promotion budget spent\" end\n"
                           "return left\n";

typedef struct acceptance {
    fx *f;
    int port; /* the instance it goes to */
    const char *qid;
    int status;
} acceptance;

static void *accept_one(void *arg)
{
    acceptance *a = arg;
    char *path = tu_fmt("/v1/quotes/%s/accept", a->qid);
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", a->f->key[K_REP]);
    static const char body[] = "{\"signed_on\":\"2026-12-02\"}";
    tu_resp r;
    a->status = tu_http(a->port, "POST", path, hdr, body, strlen(body), &r) == 0 ? r.status : -1;
    tu_resp_free(&r);
    free(path);
    return NULL;
}

/* The budget catalog and rule in f->dir; the server restarted on them.
 * *cats_out and *rules_out get the directories (malloc'ed). */
static void budget_start(fx *f, char **cats_out, char **rules_out)
{
    char *cats = tu_fmt("%s/cats", f->dir), *rules = tu_fmt("%s/rules", f->dir);
    char *rdir = tu_fmt("%s/budget", rules);
    assert_int_equal(mkdir(cats, 0700), 0);
    assert_int_equal(mkdir(rules, 0700), 0);
    assert_int_equal(mkdir(rdir, 0700), 0);
    assert_int_equal(tu_write(cats, "budget.yaml", catalog), 0);
    assert_int_equal(tu_write(rdir, "thousand.lua", rule), 0);
    const char *extra[] = {"--rules", rules, "--threads", "4", NULL};
    restart_with(f, cats, extra);
    free(rdir);
    *cats_out = cats;
    *rules_out = rules;
}

/* NQUOTES approved quotes, each with 100.00 off, into ids. */
static void budget_quotes(fx *f, char ids[][64])
{
    for (int i = 0; i < NQUOTES; i++) {
        json_t *q = approved_quote(f, K_REP,
                                   "{\"customer\":{\"id\":\"C-1\"},\"lines\":"
                                   "[{\"id\":\"b\",\"sku\":\"B-1\",\"quantity\":\"1\"}]}");
        /* priced while nothing was spent: every quote got its 100.00 */
        assert_string_equal(js(q, "total"), "900.00");
        snprintf(ids[i], 64, "%s", js(q, "id"));
        json_decref(q);
    }
}

/* Accepts every quote at once, quote i on ports[i % nports]; a[] gets the
 * statuses; returns how many were accepted and checks the others were
 * refused with 409. */
static int accept_all(fx *f, char ids[][64], const int *ports, int nports, acceptance *a)
{
    pthread_t th[NQUOTES];
    for (int i = 0; i < NQUOTES; i++) {
        a[i] = (acceptance){f, ports[i % nports], ids[i], 0};
        assert_int_equal(pthread_create(&th[i], NULL, accept_one, &a[i]), 0);
    }
    int accepted = 0, refused = 0;
    for (int i = 0; i < NQUOTES; i++) {
        pthread_join(th[i], NULL);
        accepted += a[i].status == 201;
        refused += a[i].status == 409;
    }
    assert_int_equal(accepted + refused, NQUOTES);
    return accepted;
}

static void test_budget_never_overspent_by_concurrent_acceptances(void **state)
{
    fx *f = *state;
    char *cats, *rules;
    budget_start(f, &cats, &rules);
    static char ids[NQUOTES][64];
    budget_quotes(f, ids);
    acceptance a[NQUOTES];
    int port = f->s.port;
    /* 10 x 100.00 = 1,000.00: the budget, exactly */
    assert_int_equal(accept_all(f, ids, &port, 1, a), 10);
    /* a refused one says why and stays acceptable once revised without it */
    json_t *j;
    for (int i = 0; i < NQUOTES; i++) {
        if (a[i].status != 409)
            continue;
        char *path = tu_fmt("/v1/quotes/%s/accept", ids[i]);
        assert_int_equal(call(f, K_REP, "POST", path, "{\"signed_on\":\"2026-12-02\"}", &j), 409);
        assert_non_null(strstr(js(json_object_get(j, "error"), "message"),
                               "promotion launch-100: promotion budget spent"));
        json_decref(j);
        free(path);
        break;
    }
    free(cats), free(rules);
}

/* Two instances on one database (issue 13 "Exact limits across
 * instances"), 32 concurrent acceptances each: the budget holds across
 * them, exactly. */
static void test_budget_exact_across_two_instances(void **state)
{
    fx *f = *state;
    char *cats, *rules;
    budget_start(f, &cats, &rules);
    static char ids[NQUOTES][64];
    budget_quotes(f, ids);
    tu_server s2;
    char *log2 = tu_fmt("%s/second.log", f->dir);
    const char *args[] = {"--catalogs", cats,    "--rules", rules, "--threads", "4",
                          "--keys",     f->keys, "--db",    f->db, NULL};
    assert_int_equal(tu_server_start(&s2, log2, args), 0);
    int ports[2] = {f->s.port, s2.port};
    acceptance a[NQUOTES];
    assert_int_equal(accept_all(f, ids, ports, 2, a), 10);
    /* both instances took part */
    int on[2] = {0, 0};
    for (int i = 0; i < NQUOTES; i++)
        on[i % 2] += a[i].status == 201 || a[i].status == 409;
    assert_int_equal(on[0], NQUOTES / 2);
    assert_int_equal(on[1], NQUOTES / 2);
    /* the contracts written: exactly ten, whichever instance wrote them */
    json_t *j;
    assert_int_equal(call(f, K_MANAGER, "GET", "/v1/contracts?limit=500", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 10);
    json_decref(j);
    assert_int_equal(tu_server_stop(&s2), 0);
    free(log2), free(cats), free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_budget_never_overspent_by_concurrent_acceptances),
        T(test_budget_exact_across_two_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
