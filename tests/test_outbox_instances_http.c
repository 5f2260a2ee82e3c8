/*
 * End-to-end tests of the outbox with several instances (issue 13
 * "Outbox with several instances", docs/events.md "Several instances"):
 * two real `cpqd serve` processes on one database, both with --webhook to
 * one receiver (tests/webhook_rx.h).
 * - Each event is delivered by one instance: every event of quotes
 *   created on both instances reaches the receiver exactly once, and the
 *   events of one quote in order.
 * - A killed instance's leases are taken over: an instance killed with
 *   events in flight, the other delivers them once their lease ran out.
 * Waits poll with deadlines; nothing asserts on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "store_fixture.h"
#include "webhook_rx.h"

#include <jansson.h>
#include <signal.h>

#define NINST 2
#define NQUOTES 12 /* each: quote.created and quote.status_changed */

typedef struct fx {
    char *dir, *keys, *db, *secret;
    char rep[80], crm[80];
    tu_server s[NINST];
    receiver rx;
} fx;

static void make_key(fx *f, const char *role, char *out, size_t cap)
{
    const char *argv[] = {"key", "new", "--keys", f->keys, "--role", role, NULL};
    char *o = NULL, *err = NULL;
    if (tu_run(argv, &o, &err) != 0)
        fail_msg("cpqd key new failed: %s", err ? err : "");
    size_t n = strcspn(o, "\n");
    assert_true(n > 10 && n < cap);
    memcpy(out, o, n);
    out[n] = '\0';
    free(o), free(err);
}

/* Starts instance i with a webhook to the receiver, leases of lease
 * seconds. */
static void start(fx *f, int i, const char *lease)
{
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    char *url = tu_fmt("http://127.0.0.1:%d/hooks", f->rx.port);
    char *logp = tu_fmt("%s/cpqd-%d-%lld.log", f->dir, i, tu_now_ms());
    const char *args[] = {"--catalogs", cats,         "--rules",     rules,   "--threads",
                          "2",          "--keys",     f->keys,       "--db",  f->db,
                          "--webhook",  url,          "--webhook-secret", f->secret,
                          "--webhook-lease", lease,   "--sweep-every", "0",   NULL};
    assert_int_equal(tu_server_start(&f->s[i], logp, args), 0);
    free(cats), free(rules), free(url), free(logp);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->db = tu_db_location(f->dir, "shared");
    f->secret = tu_fmt("%s/webhook.secret", f->dir);
    assert_int_equal(tu_write(f->dir, "webhook.secret", SECRET "\n"), 0);
    pthread_mutex_init(&f->rx.mu, NULL);
    make_key(f, "rep", f->rep, sizeof(f->rep));
    make_key(f, "crm", f->crm, sizeof(f->crm));
    rx_start(&f->rx, 0);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int st = 0;
    for (int i = 0; i < NINST; i++)
        if (f->s[i].pid > 0 && tu_server_stop(&f->s[i]) != 0)
            st = -1;
    rx_stop(&f->rx);
    for (size_t i = 0; i < f->rx.n; i++)
        free(f->rx.reqs[i].body);
    pthread_mutex_destroy(&f->rx.mu);
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir), free(f->keys), free(f->secret);
    free(f);
    return st;
}

/* A quote created and submitted on instance i: its id (malloc'ed). */
static char *quote_on(fx *f, int i)
{
    static const char body[] = "{\"customer\":{\"id\":\"C-OB\"},\"lines\":[{\"sku\":\"APL-KTL-17\","
                               "\"quantity\":\"1\"}]}";
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->rep);
    tu_resp r;
    assert_int_equal(tu_http(f->s[i].port, "POST", "/v1/quotes", hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    tu_resp_free(&r);
    char *path = tu_fmt("/v1/quotes/%s/submit", id);
    assert_int_equal(tu_http(f->s[i].port, "POST", path, hdr, "", 0, &r), 0);
    assert_int_equal(r.status, 200);
    tu_resp_free(&r);
    free(path);
    return id;
}

/* Every event of the feed (ids and quote ids), read on instance i. */
static json_t *feed(fx *f, int i)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->crm);
    tu_resp r;
    assert_int_equal(tu_http(f->s[i].port, "GET", "/v1/events?limit=500", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    json_t *items = json_incref(json_object_get(j, "items"));
    json_decref(j);
    tu_resp_free(&r);
    return items;
}

static const char *event_id(json_t *e)
{
    return json_string_value(json_object_get(e, "id"));
}

/* Waits until every event of items was answered 200 by the receiver. */
static void wait_all_delivered(fx *f, json_t *items)
{
    long long deadline = tu_now_ms() + 6 * TU_WAIT_MS;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        while (rx_delivered(&f->rx, event_id(e)) < 0 && tu_now_ms() < deadline)
            tu_sleep_ms(20);
        if (rx_delivered(&f->rx, event_id(e)) < 0)
            fail_msg("event %s not delivered in time (%zu requests seen)", event_id(e),
                     rx_count(&f->rx));
    }
}

/* Both instances deliver, each event once, in order per quote. */
static void test_each_event_delivered_by_one_instance(void **state)
{
    fx *f = *state;
    start(f, 0, "30");
    start(f, 1, "30");
    char *ids[NQUOTES];
    for (int q = 0; q < NQUOTES; q++)
        ids[q] = quote_on(f, q % NINST);
    json_t *items = feed(f, 0);
    assert_int_equal(json_array_size(items), 2 * NQUOTES);
    wait_all_delivered(f, items);
    /* stopped (SIGTERM: attempts in flight end first), so that nothing is
     * still on its way, then counted */
    for (int i = 0; i < NINST; i++)
        assert_int_equal(tu_server_stop(&f->s[i]), 0);
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        size_t n = rx_delivered_count(&f->rx, event_id(e));
        if (n != 1)
            fail_msg("event %s (%s) delivered %zu times", event_id(e),
                     json_string_value(json_object_get(e, "type")), n);
    }
    /* per quote: created before status_changed at the receiver */
    for (int q = 0; q < NQUOTES; q++) {
        int created = -1, moved = -1;
        json_array_foreach(items, i, e)
        {
            const char *rid = json_string_value(json_object_get(json_object_get(e, "resource"), "id"));
            if (strcmp(rid, ids[q]))
                continue;
            const char *type = json_string_value(json_object_get(e, "type"));
            int at = rx_delivered(&f->rx, event_id(e));
            if (!strcmp(type, "quote.created"))
                created = at;
            else
                moved = at;
        }
        assert_true(created >= 0 && moved > created);
        free(ids[q]);
    }
    json_decref(items);
}

/* Instance 0 takes events while the receiver does not answer and is
 * killed; instance 1 delivers them after their lease (2 s) ran out. */
static void test_killed_instance_leases_taken_over(void **state)
{
    fx *f = *state;
    f->rx.stall = true;
    start(f, 0, "2");
    char *ids[3];
    for (int q = 0; q < 3; q++)
        ids[q] = quote_on(f, 0);
    /* an attempt is in flight: instance 0 holds the lease */
    long long deadline = tu_now_ms() + 4 * TU_WAIT_MS;
    while (rx_count(&f->rx) == 0 && tu_now_ms() < deadline)
        tu_sleep_ms(20);
    assert_true(rx_count(&f->rx) > 0);
    kill(f->s[0].pid, SIGKILL);
    tu_wait_exit(f->s[0].pid, TU_WAIT_MS);
    f->s[0].pid = 0;
    pthread_mutex_lock(&f->rx.mu);
    f->rx.stall = false;
    pthread_mutex_unlock(&f->rx.mu);
    start(f, 1, "2");
    json_t *items = feed(f, 1);
    assert_int_equal(json_array_size(items), 6);
    wait_all_delivered(f, items);
    json_decref(items);
    for (int q = 0; q < 3; q++)
        free(ids[q]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_event_delivered_by_one_instance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_instance_leases_taken_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
