/*
 * Unit tests of the portal's sessions (src/portal_session.c and their
 * rows, src/store_session.c): tokens and CSRF tokens, a session made
 * through one store handle found and ended through another (two
 * instances on one database), expiry, the cap on one key's live sessions,
 * only the token's digest stored, CSRF comparison. Runs on SQLite and,
 * with CPQD_TEST_DB_URL, on PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "store_fixture.h"

#include "cpqd/digest.h"
#include "cpqd/portal.h"

#include <time.h>

static const auth_key key_a = {.id = "k_a", .role = AUTH_ROLE_PARTNER, .partner = "P-1"};
static const auth_key key_b = {.id = "k_b", .role = AUTH_ROLE_REP};

typedef tu_store_fx fx;
#define setup tu_store_fx_setup
#define teardown tu_store_fx_teardown

static int64_t rows(store *st)
{
    int64_t n = -1;
    assert_int_equal(store_session_count(st, &n), 0);
    return n;
}

static void test_portal_session_new_find_end(void **state)
{
    fx *f = *state;
    char t1[PORTAL_TOKEN_MAX], t2[PORTAL_TOKEN_MAX];
    portal_session s1, s2, got;
    assert_int_equal(portal_session_new(f->st, &key_a, 60, t1, &s1), 0);
    assert_int_equal(portal_session_new(f->st, &key_b, 60, t2, &s2), 0);
    assert_int_equal(strlen(t1), 43);
    assert_int_equal(strlen(s1.csrf), 43);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(s1.csrf, s2.csrf);
    assert_string_not_equal(t1, s1.csrf);
    assert_int_equal(rows(f->st), 2);
    assert_int_equal(portal_session_find(f->st, t1, strlen(t1), &got), 0);
    assert_string_equal(got.key_id, "k_a");
    assert_string_equal(got.csrf, s1.csrf);
    assert_true(got.expires_ms == s1.expires_ms);
    assert_int_equal(portal_session_find(f->st, t2, strlen(t2), &got), 0);
    assert_string_equal(got.key_id, "k_b");
    /* a prefix, the CSRF token or nothing is no token */
    assert_int_equal(portal_session_find(f->st, t1, 42, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(f->st, s1.csrf, 43, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(f->st, "", 0, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_end(f->st, t1, strlen(t1)), 0);
    assert_int_equal(portal_session_end(f->st, t1, strlen(t1)), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(f->st, t1, strlen(t1), &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(f->st, t2, strlen(t2), &got), 0);
    /* bad ttl: no token, nothing stored */
    assert_int_equal(portal_session_new(f->st, &key_a, 0, t1, &s1), CPQD_EINVAL);
    assert_string_equal(t1, "");
    assert_int_equal(portal_session_new(f->st, &key_a, PORTAL_TTL_MAX + 1, t1, &s1), CPQD_EINVAL);
    assert_string_equal(t1, "");
    assert_int_equal(rows(f->st), 1);
    /* development mode: a session without a key */
    assert_int_equal(portal_session_new(f->st, NULL, 60, t1, &s1), 0);
    assert_int_equal(portal_session_find(f->st, t1, strlen(t1), &got), 0);
    assert_string_equal(got.key_id, "");
}

/* What one instance makes, another finds; what one ends, is ended for
 * all: the sessions live in the database, not in a process. */
static void test_portal_session_shared_by_instances(void **state)
{
    fx *f = *state;
    char t[PORTAL_TOKEN_MAX];
    portal_session s, got;
    store *other = NULL; /* a second handle on the database: another instance */
    assert_int_equal(store_open(f->db, false, &other, NULL), 0);
    assert_int_equal(portal_session_new(f->st, &key_a, 60, t, &s), 0);
    assert_int_equal(portal_session_find(other, t, strlen(t), &got), 0);
    assert_string_equal(got.key_id, "k_a");
    assert_string_equal(got.csrf, s.csrf);
    assert_int_equal(portal_session_end(other, t, strlen(t)), 0);
    assert_int_equal(portal_session_find(f->st, t, strlen(t), &got), CPQD_ENOTFOUND);
    assert_int_equal(rows(f->st), 0);
    store_close(other);
}

/* Only the token's SHA-256 is stored: the row is found by the digest,
 * never by the token itself. */
static void test_portal_session_stores_the_digest(void **state)
{
    fx *f = *state;
    char t[PORTAL_TOKEN_MAX], d[DIGEST_SHA256_HEX_LEN];
    portal_session s, got;
    assert_int_equal(portal_session_new(f->st, &key_b, 60, t, &s), 0);
    assert_int_equal(digest_sha256_hex(t, strlen(t), d), 0);
    assert_int_equal(store_session_get(f->st, d, 0, &got), 0);
    assert_string_equal(got.key_id, "k_b");
    assert_int_equal(store_session_get(f->st, t, 0, &got), CPQD_ENOTFOUND);
}

/* A session past its ttl is not found, and its row is dropped. */
static void test_portal_session_expires(void **state)
{
    fx *f = *state;
    char t[PORTAL_TOKEN_MAX];
    portal_session s, got;
    assert_int_equal(portal_session_new(f->st, &key_a, 1, t, &s), 0);
    assert_true(s.expires_ms / 1000 >= (int64_t)time(NULL));
    assert_int_equal(portal_session_find(f->st, t, strlen(t), &got), 0);
    struct timespec ts = {2, 100000000};
    nanosleep(&ts, NULL);
    assert_int_equal(rows(f->st), 1);
    assert_int_equal(portal_session_find(f->st, t, strlen(t), &got), CPQD_ENOTFOUND);
    assert_int_equal(rows(f->st), 0);
}

/* At PORTAL_SESSIONS_PER_KEY live sessions of one key, its next one ends
 * its session that expires first; other keys' sessions stay. */
static void test_portal_session_cap_per_key(void **state)
{
    fx *f = *state;
    enum { N = PORTAL_SESSIONS_PER_KEY };
    char(*toks)[PORTAL_TOKEN_MAX] = calloc(N + 1, PORTAL_TOKEN_MAX);
    char ta[PORTAL_TOKEN_MAX];
    assert_non_null(toks);
    portal_session s, got;
    assert_int_equal(portal_session_new(f->st, &key_a, 50, ta, &s), 0);
    assert_int_equal(store_begin(f->st), 0); /* one commit for the lot */
    /* key_b's first expires first (shortest ttl) */
    assert_int_equal(portal_session_new(f->st, &key_b, 100, toks[0], &s), 0);
    for (size_t i = 1; i < N; i++)
        assert_int_equal(portal_session_new(f->st, &key_b, 1000, toks[i], &s), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(rows(f->st), N + 1);
    assert_int_equal(portal_session_new(f->st, &key_b, 1000, toks[N], &s), 0);
    assert_int_equal(rows(f->st), N + 1);
    assert_int_equal(portal_session_find(f->st, toks[0], strlen(toks[0]), &got), CPQD_ENOTFOUND);
    for (size_t i = 1; i <= N; i++)
        assert_int_equal(portal_session_find(f->st, toks[i], strlen(toks[i]), &got), 0);
    assert_int_equal(portal_session_find(f->st, ta, strlen(ta), &got), 0);
    free(toks);
}

static void test_portal_csrf_compare(void **state)
{
    fx *f = *state;
    char t[PORTAL_TOKEN_MAX];
    portal_session s;
    assert_int_equal(portal_session_new(f->st, &key_a, 60, t, &s), 0);
    char other[PORTAL_TOKEN_MAX];
    memcpy(other, s.csrf, sizeof(other));
    assert_true(portal_csrf_ok(&s, other, strlen(other)));
    other[42] = other[42] == 'A' ? 'B' : 'A';
    assert_false(portal_csrf_ok(&s, other, strlen(other)));
    assert_false(portal_csrf_ok(&s, s.csrf, 42));
    assert_false(portal_csrf_ok(&s, NULL, 0));
    assert_false(portal_csrf_ok(&s, t, strlen(t)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_portal_session_new_find_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_session_shared_by_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_session_stores_the_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_session_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_session_cap_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_csrf_compare, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
