/*
 * Unit tests for the outbox: the store part (store_outbox.c: seq as a
 * cursor, the body built once, delivery order per ordering key, retry,
 * park and replay, nothing written when the surrounding transaction
 * rolls back or a step fails) and the pure parts of delivery (outbox.c:
 * the signature, hand-checked with `openssl dgst -hmac`; backoff bounds).
 * Each test works in its own temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include "cpqd/date.h"
#include "cpqd/outbox.h"
#include "cpqd/store.h"
#include "testutil.h"

#include "store_fixture.h"

typedef tu_store_fx fx;

#define setup tu_store_fx_setup
#define teardown tu_store_fx_teardown

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- helpers ---- */

/* Adds an event of type for resource rid under key; returns its seq and
 * copies its id into id (if non-NULL). */
static int64_t add(store *st, const char *type, const char *rid, const char *key,
                   const char *payload, char id[STORE_OUTBOX_ID_LEN])
{
    store_outbox_new ev = {type, "quote", rid, key, payload, {NULL, 0, 0, 0}};
    char got[STORE_OUTBOX_ID_LEN];
    int64_t seq = 0;
    assert_int_equal(store_outbox_add(st, &ev, got, &seq), 0);
    if (id)
        memcpy(id, got, sizeof(got));
    return seq;
}

static void free_items(store_outbox_event *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_outbox_event_fini(&v[i]);
    free(v);
}

/* The ids of the events due at now, in order, joined by spaces. */
static char *due_ids(store *st, int64_t now)
{
    store_outbox_event *v = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_due(st, now, 50, &v, &n), 0);
    char *s = calloc(1, n * STORE_OUTBOX_ID_LEN + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(v[i].body); /* the worker sends it */
        if (i)
            strcat(s, " ");
        strcat(s, v[i].id);
    }
    free_items(v, n);
    return s;
}

static size_t count(store *st, const char *status)
{
    store_outbox_event *v = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_list(st, 0, status, STORE_PER_PAGE_MAX, &v, &n), 0);
    free_items(v, n);
    return n;
}

/* ---- tests ---- */

static void test_outbox_add_assigns_id_seq_and_exact_body(void **state)
{
    fx *f = *state;
    char id[STORE_OUTBOX_ID_LEN];
    const char *payload = "{\"id\":\"q_1\",\"total\":\"1180.00\",\"name\":\"电水壶\"}";
    assert_int_equal(add(f->st, "quote.created", "q_1", "quote:q_1", payload, id), 1);
    assert_int_equal(add(f->st, "quote.revised", "q_1", "quote:q_1", "{}", NULL), 2);
    assert_int_equal(strlen(id), 19);
    assert_memory_equal(id, "ev_", 3);
    assert_int_equal(strspn(id + 3, "0123456789abcdef"), 16);

    store_outbox_event e;
    assert_int_equal(store_outbox_get(f->st, id, &e), 0);
    assert_int_equal(e.seq, 1);
    assert_string_equal(e.type, "quote.created");
    assert_string_equal(e.resource_kind, "quote");
    assert_string_equal(e.resource_id, "q_1");
    assert_string_equal(e.order_key, "quote:q_1");
    assert_string_equal(e.payload, payload);
    assert_string_equal(e.status, "pending");
    assert_int_equal(e.attempts, 0);
    assert_null(e.last_error);
    assert_null(e.delivered_at);
    char *want = tu_fmt("{\"id\":\"%s\",\"type\":\"quote.created\",\"created_at\":\"%s\","
                        "\"payload\":%s}",
                        id, e.created_at, payload);
    assert_string_equal(e.body, want);
    free(want);
    store_outbox_event_fini(&e);
    assert_int_equal(store_outbox_get(f->st, "ev_nope", &e), CPQD_ENOTFOUND);
}

/* Stored once, compactly: a quote event keeps only the rest of its
 * payload and the reference to the version's priced result (stored
 * packed, once, with the version); reading the event splices it back,
 * and the body is rebuilt from the event: the same bytes as the payload
 * it was given, every time it is read, and far fewer bytes stored. */
static void test_outbox_references_the_priced_result_and_rebuilds_the_body(void **state)
{
    fx *f = *state;
    /* a priced result of some size: 300 lines of the same shape */
    size_t cap = 300 * 80 + 64, n = 0;
    char *priced = malloc(cap);
    n += (size_t)snprintf(priced + n, cap - n, "{\"lines\":[");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(priced + n, cap - n, "%s{\"line\":%d,\"sku\":\"APL-%04d\",\"net\":\"%d.00\"}",
                              i ? "," : "", i, i, 1000 + i);
    snprintf(priced + n, cap - n, "]}");
    store_quote q = {.status = "draft", .customer_id = "C-1", .currency = "CNY",
                     .total = "1.00", .catalog_version = "cat-1", .request = "{}",
                     .priced = priced, .created_by = "k"};
    assert_int_equal(store_quote_insert(f->st, &q, 2026), 0);
    char *payload = tu_fmt("{\"id\":\"%s\",\"priced\":%s,\"history\":[]}", q.id, priced);
    size_t at = strlen(q.id) + 18; /* {"id":"ID","priced": */
    assert_memory_equal(payload + at, priced, strlen(priced));
    store_outbox_new ev = {.type = "quote.created", .resource_kind = "quote", .resource_id = q.id,
                           .order_key = "quote:q", .payload = payload,
                           .priced = {q.id, 1, at, strlen(priced)}};
    char id[STORE_OUTBOX_ID_LEN];
    assert_int_equal(store_outbox_add(f->st, &ev, id, NULL), 0);
    for (int round = 0; round < 2; round++) {
        store_outbox_event e;
        assert_int_equal(store_outbox_get(f->st, id, &e), 0);
        assert_string_equal(e.payload, payload);
        char *want = tu_fmt("{\"id\":\"%s\",\"type\":\"quote.created\",\"created_at\":\"%s\","
                            "\"payload\":%s}",
                            id, e.created_at, payload);
        assert_string_equal(e.body, want);
        free(want);
        store_outbox_event_fini(&e);
    }
    store_outbox_event *v = NULL;
    size_t nv = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    assert_int_equal(store_outbox_due(f->st, (int64_t)now.tv_sec * 1000 + 3600000, 10, &v, &nv),
                     0);
    assert_int_equal(nv, 1);
    assert_string_equal(v[0].payload, payload);
    free_items(v, nv);
    /* what the rows hold: the event neither the priced result nor a body,
     * the version its priced result packed */
    int64_t stored = 0;
    assert_int_equal(store_debug_int(f->st, "SELECT length(payload) + length(body) FROM outbox",
                                     &stored), 0);
    assert_true(stored < 100);
    assert_int_equal(store_debug_int(f->st, "SELECT length(priced) FROM quote_versions", &stored),
                     0);
    assert_true(stored > 0 && (size_t)stored < strlen(priced) / 4);
    /* a reference that does not lie inside the payload is refused */
    ev.priced.at = strlen(payload);
    assert_int_equal(store_outbox_add(f->st, &ev, NULL, NULL), CPQD_EINVAL);
    free(payload);
    free(priced);
    free(q.id), free(q.number), free(q.created_at), free(q.updated_at);
}

/* A row that cannot be read back (its packed payload corrupt, or the
 * version whose priced result it references gone) comes back marked
 * damaged, payload and body NULL, from every read: never an error that
 * would stop the feed or the delivery of the other events. */
static void test_outbox_damaged_rows_come_back_marked(void **state)
{
    fx *f = *state;
    store_quote q = {.status = "draft", .customer_id = "C-1", .currency = "CNY",
                     .total = "1.00", .catalog_version = "cat-1", .request = "{}",
                     .priced = "{\"lines\":[]}", .created_by = "k"};
    assert_int_equal(store_quote_insert(f->st, &q, 2026), 0);
    char *payload = tu_fmt("{\"id\":\"%s\",\"priced\":%s}", q.id, q.priced);
    store_outbox_new ev = {.type = "quote.created", .resource_kind = "quote", .resource_id = q.id,
                           .order_key = "quote:a", .payload = payload,
                           .priced = {q.id, 1, strlen(q.id) + 18, strlen(q.priced)}};
    char lost[STORE_OUTBOX_ID_LEN], bad[STORE_OUTBOX_ID_LEN], fine[STORE_OUTBOX_ID_LEN];
    assert_int_equal(store_outbox_add(f->st, &ev, lost, NULL), 0);
    /* a payload long enough to be stored packed */
    size_t cap = 4096, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "{\"v\":[");
    for (int i = 0; i < 600; i++) /* 1,200 bytes: over STORE_PACK_MIN */
        n += (size_t)snprintf(big + n, cap - n, "%s%d", i ? "," : "", i % 7);
    snprintf(big + n, cap - n, "]}");
    add(f->st, "quote.created", "q_b", "quote:b", big, bad);
    add(f->st, "quote.created", "q_c", "quote:c", "{}", fine);
    int64_t changed = 0;
    char *sql = tu_fmt("UPDATE outbox SET priced_version = 9 WHERE id = '%s'", lost);
    assert_int_equal(store_debug_exec(f->st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    sql = tu_fmt("UPDATE outbox SET payload = substr(payload, 1, 30) WHERE id = '%s'"
                 " AND payload LIKE '~z1~%%'",
                 bad);
    assert_int_equal(store_debug_exec(f->st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);

    store_outbox_event *v = NULL;
    size_t nv = 0;
    assert_int_equal(store_outbox_due(f->st, date_wall_ms() + 1000, 10, &v, &nv), 0);
    assert_int_equal(nv, 3);
    for (size_t i = 0; i < nv; i++) {
        bool ok = !strcmp(v[i].id, fine);
        assert_true(ok ? !v[i].damaged : v[i].damaged != NULL);
        assert_true(ok ? v[i].payload && v[i].body : !v[i].payload && !v[i].body);
        assert_string_equal(v[i].status, "pending");
    }
    assert_non_null(strstr(v[0].damaged, "missing"));
    assert_non_null(strstr(v[1].damaged, "corrupt"));
    free_items(v, nv);
    assert_int_equal(store_outbox_list(f->st, 0, NULL, 10, &v, &nv), 0);
    assert_int_equal(nv, 3);
    assert_non_null(v[0].damaged);
    assert_non_null(v[1].damaged);
    assert_string_equal(v[2].payload, "{}");
    free_items(v, nv);
    store_outbox_event e;
    assert_int_equal(store_outbox_get(f->st, bad, &e), 0);
    assert_non_null(e.damaged);
    assert_null(e.payload);
    store_outbox_event_fini(&e);
    /* parked with its reason, it still reads, and blocks only its key */
    assert_int_equal(store_outbox_mark_failed(f->st, lost, "damaged", 0, true), 0);
    assert_int_equal(store_outbox_get(f->st, lost, &e), 0);
    assert_string_equal(e.status, "failed");
    assert_non_null(e.damaged);
    store_outbox_event_fini(&e);
    free(big);
    free(payload);
    free(q.id), free(q.number), free(q.created_at), free(q.updated_at);
}

/* Delivered events older than the retention are pruned; pending and
 * failed ones never are, and the cursor never goes back. */
static void test_outbox_prune_deletes_only_delivered_before(void **state)
{
    fx *f = *state;
    char a[STORE_OUTBOX_ID_LEN], b[STORE_OUTBOX_ID_LEN], c[STORE_OUTBOX_ID_LEN];
    add(f->st, "quote.created", "q_1", "quote:q_1", "{}", a);
    add(f->st, "quote.created", "q_2", "quote:q_2", "{}", b);
    add(f->st, "quote.created", "q_3", "quote:q_3", "{}", c);
    assert_int_equal(store_outbox_mark_delivered(f->st, a), 0);
    assert_int_equal(store_outbox_mark_failed(f->st, c, "HTTP 500", 0, true), 0);
    int64_t n = -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000;
    /* delivered just now: not older than a day */
    assert_int_equal(store_outbox_prune(f->st, now_ms - 86400000, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(count(f->st, NULL), 3);
    assert_int_equal(store_outbox_prune(f->st, now_ms + 60000, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(count(f->st, "delivered"), 0);
    assert_int_equal(count(f->st, "pending"), 1);
    assert_int_equal(count(f->st, "failed"), 1);
    assert_int_equal(add(f->st, "quote.created", "q_4", "quote:q_4", "{}", NULL), 4);
}

static void test_outbox_list_follows_the_cursor(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 5; i++)
        add(f->st, "quote.created", "q_1", "quote:q_1", "{}", NULL);
    store_outbox_event *v = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_list(f->st, 0, NULL, 2, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].seq, 1);
    assert_int_equal(v[1].seq, 2);
    assert_null(v[0].body); /* lists leave the body out */
    free_items(v, n);
    assert_int_equal(store_outbox_list(f->st, 2, NULL, 10, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].seq, 3);
    assert_int_equal(v[2].seq, 5);
    free_items(v, n);
    assert_int_equal(store_outbox_list(f->st, 5, NULL, 10, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(store_outbox_list(f->st, 0, NULL, 0, &v, &n), CPQD_EINVAL);
    assert_int_equal(store_outbox_list(f->st, -1, NULL, 1, &v, &n), CPQD_EINVAL);
    assert_int_equal(store_outbox_list(f->st, 0, "lost", 1, &v, &n), CPQD_EINVAL);
    assert_int_equal(store_outbox_list(f->st, 0, NULL, STORE_PER_PAGE_MAX + 1, &v, &n),
                     CPQD_EINVAL);
}

/* The seq counter lives in the database: a reopened store goes on. */
static void test_outbox_seq_survives_reopen(void **state)
{
    fx *f = *state;
    add(f->st, "quote.created", "q_1", "quote:q_1", "{}", NULL);
    add(f->st, "quote.created", "q_2", "quote:q_2", "{}", NULL);
    store_close(f->st);
    assert_int_equal(store_open(f->db, false, &f->st, NULL), 0);
    assert_int_equal(add(f->st, "quote.created", "q_3", "quote:q_3", "{}", NULL), 3);
}

/* Only the first undelivered event of a key is due; other keys are not
 * held up by it. */
static void test_outbox_due_in_order_per_key(void **state)
{
    fx *f = *state;
    char a1[STORE_OUTBOX_ID_LEN], a2[STORE_OUTBOX_ID_LEN], b1[STORE_OUTBOX_ID_LEN];
    add(f->st, "quote.created", "q_a", "quote:q_a", "{}", a1);
    add(f->st, "quote.created", "q_b", "quote:q_b", "{}", b1);
    add(f->st, "quote.status_changed", "q_a", "quote:q_a", "{}", a2);
    int64_t now = date_wall_ms() + 1000;
    char *s = due_ids(f->st, now), *want = tu_fmt("%s %s", a1, b1);
    assert_string_equal(s, want);
    free(s), free(want);

    /* a1 fails and waits an hour: a2 waits behind it, b1 does not */
    assert_int_equal(store_outbox_mark_failed(f->st, a1, "HTTP 500", now + 3600000, false), 0);
    s = due_ids(f->st, now);
    assert_string_equal(s, b1);
    free(s);
    assert_int_equal(store_outbox_mark_delivered(f->st, b1), 0);
    s = due_ids(f->st, now);
    assert_string_equal(s, "");
    free(s);
    /* an hour later a1 is due again; once delivered, a2 follows */
    s = due_ids(f->st, now + 3600000);
    assert_string_equal(s, a1);
    free(s);
    assert_int_equal(store_outbox_mark_delivered(f->st, a1), 0);
    s = due_ids(f->st, now);
    assert_string_equal(s, a2);
    free(s);

    store_outbox_event e;
    assert_int_equal(store_outbox_get(f->st, a1, &e), 0);
    assert_string_equal(e.status, "delivered");
    assert_int_equal(e.attempts, 2);
    assert_null(e.last_error);
    assert_non_null(e.delivered_at);
    store_outbox_event_fini(&e);
}

static void test_outbox_retry_park_and_replay(void **state)
{
    fx *f = *state;
    char a1[STORE_OUTBOX_ID_LEN], a2[STORE_OUTBOX_ID_LEN];
    add(f->st, "quote.created", "q_a", "quote:q_a", "{}", a1);
    add(f->st, "quote.revised", "q_a", "quote:q_a", "{}", a2);
    int64_t now = date_wall_ms() + 1000;
    store_outbox_event before, e;
    assert_int_equal(store_outbox_get(f->st, a1, &before), 0);

    assert_int_equal(store_outbox_mark_failed(f->st, a1, "HTTP 502", now - 1, false), 0);
    assert_int_equal(store_outbox_mark_failed(f->st, a1, "HTTP 500", now - 1, true), 0);
    assert_int_equal(store_outbox_get(f->st, a1, &e), 0);
    assert_string_equal(e.status, "failed");
    assert_int_equal(e.attempts, 2);
    assert_string_equal(e.last_error, "HTTP 500");
    store_outbox_event_fini(&e);

    /* parked: not due, and it holds its key (order over liveness) */
    char *s = due_ids(f->st, now + 86400000);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(count(f->st, "failed"), 1);
    assert_int_equal(count(f->st, "pending"), 1);
    /* a parked event takes no more attempts */
    assert_int_equal(store_outbox_mark_delivered(f->st, a1), CPQD_ECONFLICT);
    assert_int_equal(store_outbox_mark_failed(f->st, a1, NULL, now, false), CPQD_ECONFLICT);

    assert_int_equal(store_outbox_replay(f->st, a1), 0);
    assert_int_equal(store_outbox_replay(f->st, a1), CPQD_ECONFLICT);
    assert_int_equal(store_outbox_replay(f->st, "ev_0000000000000000"), CPQD_ENOTFOUND);
    assert_int_equal(store_outbox_get(f->st, a1, &e), 0);
    assert_string_equal(e.status, "pending");
    assert_int_equal(e.attempts, 0);
    assert_string_equal(e.last_error, "HTTP 500");
    /* the same bytes, whatever happened in between */
    assert_string_equal(e.body, before.body);
    assert_int_equal(e.seq, before.seq);
    store_outbox_event_fini(&e);
    store_outbox_event_fini(&before);
    s = due_ids(f->st, now);
    assert_string_equal(s, a1);
    free(s);
    assert_int_equal(store_outbox_mark_delivered(f->st, a1), 0);
    assert_int_equal(store_outbox_mark_delivered(f->st, a1), CPQD_ECONFLICT);
    s = due_ids(f->st, now);
    assert_string_equal(s, a2);
    free(s);
}

/* An event exists if and only if the change it reports committed; a
 * rolled-back event also gives its seq back (no gap in the feed). */
static void test_outbox_rollback_writes_nothing(void **state)
{
    fx *f = *state;
    store_outbox_new ev = {"quote.created", "quote", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}};
    int64_t seq = 0;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_outbox_add(f->st, &ev, NULL, &seq), 0);
    assert_int_equal(seq, 1);
    store_rollback(f->st);
    assert_int_equal(count(f->st, NULL), 0);

    /* a failing step inside the caller's transaction undoes only itself */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_outbox_add(f->st, &ev, NULL, &seq), 0);
    store_test_fail_step(f->st, 3); /* savepoint, seq, then the insert fails */
    assert_int_equal(store_outbox_add(f->st, &ev, NULL, NULL), CPQD_EIO);
    assert_int_equal(store_commit(f->st), 0);
    store_outbox_event *v = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_list(f->st, 0, NULL, 10, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].seq, 1);
    free_items(v, n);
    assert_int_equal(add(f->st, "quote.created", "q_2", "quote:q_2", "{}", NULL), 2);
}

static void test_outbox_rejects_bad_input(void **state)
{
    fx *f = *state;
    const store_outbox_new bad[] = {
        {NULL, "quote", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"Quote.Created", "quote", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"quote created", "quote", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"quote.\"x", "quote", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"quote.created", "", "q_1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"quote.created", "quote", "q \"1", "quote:q_1", "{}", {NULL, 0, 0, 0}},
        {"quote.created", "quote", "q_1", NULL, "{}", {NULL, 0, 0, 0}},
        {"quote.created", "quote", "q_1", "quote:q_1", "", {NULL, 0, 0, 0}},
        {"quote.created", "quote", "q_1", "quote:q_1", "{\"x\":\"\xff\"}", {NULL, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(store_outbox_add(f->st, &bad[i], NULL, NULL), CPQD_EINVAL);
    assert_int_equal(count(f->st, NULL), 0);
    /* open types: later issues add their own */
    assert_int_equal(add(f->st, "receivable.overdue", "r_1", "contract:c_1", "{}", NULL), 1);
}

/* Worked example of docs/events.md, checked with
 * printf '%s' "$TS.$BODY" | openssl dgst -sha256 -hmac whsec_example */
static void test_outbox_signature_matches_openssl(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"ev_0123456789abcdef\",\"type\":\"quote.created\","
                       "\"created_at\":\"2025-11-26T08:41:14Z\",\"payload\":{\"id\":\"q_1\"}}";
    char sig[OUTBOX_SIG_LEN];
    assert_int_equal(outbox_sign("whsec_example", 13, "1764146474", body, strlen(body), sig), 0);
    assert_string_equal(sig, "sha256=6af0a6e675ef848206d81596770271ac98c9c0929bc6b28060404cd92b6157d0");
}

static void test_outbox_backoff_is_bounded_full_jitter(void **state)
{
    (void)state;
    const uint64_t rs[] = {0, 1, 999, 1000, 12345678901ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
        assert_in_range(outbox_backoff_ms(1, rs[i]), 0, 1000);
        assert_in_range(outbox_backoff_ms(3, rs[i]), 0, 4000);
        assert_in_range(outbox_backoff_ms(9, rs[i]), 0, 256000);
        assert_in_range(outbox_backoff_ms(10, rs[i]), 0, 300000);
        assert_in_range(outbox_backoff_ms(1000, rs[i]), 0, 300000);
    }
    assert_int_equal(outbox_backoff_ms(1, 1000), 1000); /* the cap is reachable */
    assert_int_equal(outbox_backoff_ms(3, 4000), 4000);
    assert_int_equal(outbox_backoff_ms(40, 300000), 300000);
    assert_int_equal(outbox_backoff_ms(40, 300001), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_outbox_add_assigns_id_seq_and_exact_body),
        T(test_outbox_list_follows_the_cursor),
        T(test_outbox_references_the_priced_result_and_rebuilds_the_body),
        T(test_outbox_damaged_rows_come_back_marked),
        T(test_outbox_prune_deletes_only_delivered_before),
        T(test_outbox_seq_survives_reopen),
        T(test_outbox_due_in_order_per_key),
        T(test_outbox_retry_park_and_replay),
        T(test_outbox_rollback_writes_nothing),
        T(test_outbox_rejects_bad_input),
        T(test_outbox_signature_matches_openssl),
        T(test_outbox_backoff_is_bounded_full_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
