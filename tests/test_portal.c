/*
 * Unit tests of the portal's session table (src/portal_session.c): tokens
 * and CSRF tokens, lookups after many insertions and deletions (the
 * hash table's backward-shift deletion), expiry, the cap on live
 * sessions, CSRF comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const auth_key key_a = {.id = "k_a", .role = AUTH_ROLE_PARTNER, .partner = "P-1"};
static const auth_key key_b = {.id = "k_b", .role = AUTH_ROLE_REP};

/* Ends every session in toks[0..n) still live. */
static void end_all(char (*toks)[PORTAL_TOKEN_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++)
        portal_session_end(toks[i], strlen(toks[i]));
}

static void test_portal_session_new_find_end(void **state)
{
    (void)state;
    char t1[PORTAL_TOKEN_MAX], t2[PORTAL_TOKEN_MAX];
    portal_session s1, s2, got;
    size_t before = portal_session_count();
    assert_int_equal(portal_session_new(&key_a, 60, t1, &s1), 0);
    assert_int_equal(portal_session_new(&key_b, 60, t2, &s2), 0);
    assert_int_equal(strlen(t1), 43);
    assert_int_equal(strlen(s1.csrf), 43);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(t1, s1.csrf);
    assert_string_not_equal(s1.csrf, s2.csrf);
    assert_int_equal(portal_session_count(), before + 2);
    assert_int_equal(portal_session_find(t1, strlen(t1), &got), 0);
    assert_ptr_equal(got.key, &key_a);
    assert_string_equal(got.csrf, s1.csrf);
    assert_int_equal(portal_session_find(t2, strlen(t2), &got), 0);
    assert_ptr_equal(got.key, &key_b);
    /* a prefix, the CSRF token, nothing: not sessions */
    assert_int_equal(portal_session_find(t1, 42, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(s1.csrf, 43, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find("", 0, &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_end(t1, strlen(t1)), 0);
    assert_int_equal(portal_session_end(t1, strlen(t1)), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(t1, strlen(t1), &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_find(t2, strlen(t2), &got), 0);
    assert_int_equal(portal_session_end(t2, strlen(t2)), 0);
    assert_int_equal(portal_session_count(), before);
    /* bad ttl */
    assert_int_equal(portal_session_new(&key_a, 0, t1, &s1), CPQD_EINVAL);
    assert_int_equal(portal_session_new(&key_a, PORTAL_TTL_MAX + 1, t1, &s1), CPQD_EINVAL);
    assert_string_equal(t1, "");
}

/* 5,000 sessions, every third ended: every other one is still found
 * (a deletion never cuts another entry's probe run). Seeded order. */
static void test_portal_session_many_with_deletions(void **state)
{
    (void)state;
    enum { N = 5000 };
    char(*toks)[PORTAL_TOKEN_MAX] = calloc(N, PORTAL_TOKEN_MAX);
    assert_non_null(toks);
    portal_session s, got;
    for (size_t i = 0; i < N; i++)
        assert_int_equal(portal_session_new(i % 2 ? &key_a : &key_b, 60, toks[i], &s), 0);
    for (size_t i = 0; i < N; i += 3)
        assert_int_equal(portal_session_end(toks[i], strlen(toks[i])), 0);
    for (size_t i = 0; i < N; i++) {
        int rc = portal_session_find(toks[i], strlen(toks[i]), &got);
        if (i % 3 == 0)
            assert_int_equal(rc, CPQD_ENOTFOUND);
        else if (rc != 0 || got.key != (i % 2 ? &key_a : &key_b))
            fail_msg("session %zu lost after deletions", i);
    }
    end_all(toks, N);
    assert_int_equal(portal_session_count(), 0);
    free(toks);
}

/* A session past its ttl is not found, and is dropped. */
static void test_portal_session_expires(void **state)
{
    (void)state;
    char t[PORTAL_TOKEN_MAX];
    portal_session s, got;
    assert_int_equal(portal_session_new(&key_a, 1, t, &s), 0);
    assert_true(s.expires_ms / 1000 >= (int64_t)time(NULL));
    assert_int_equal(portal_session_find(t, strlen(t), &got), 0);
    struct timespec ts = {2, 100000000};
    nanosleep(&ts, NULL);
    assert_int_equal(portal_session_find(t, strlen(t), &got), CPQD_ENOTFOUND);
    assert_int_equal(portal_session_count(), 0);
}

/* At PORTAL_SESSIONS_MAX live sessions, a new one ends the one that
 * expires first; the count never goes above the cap. */
static void test_portal_session_cap(void **state)
{
    (void)state;
    char(*toks)[PORTAL_TOKEN_MAX] = calloc(PORTAL_SESSIONS_MAX + 1, PORTAL_TOKEN_MAX);
    assert_non_null(toks);
    portal_session s, got;
    /* the first expires first (shortest ttl) */
    assert_int_equal(portal_session_new(&key_a, 100, toks[0], &s), 0);
    for (size_t i = 1; i < PORTAL_SESSIONS_MAX; i++)
        assert_int_equal(portal_session_new(&key_b, 1000, toks[i], &s), 0);
    assert_int_equal(portal_session_count(), PORTAL_SESSIONS_MAX);
    assert_int_equal(portal_session_new(&key_b, 1000, toks[PORTAL_SESSIONS_MAX], &s), 0);
    assert_int_equal(portal_session_count(), PORTAL_SESSIONS_MAX);
    assert_int_equal(portal_session_find(toks[0], strlen(toks[0]), &got), CPQD_ENOTFOUND);
    for (size_t i = 1; i <= PORTAL_SESSIONS_MAX; i += 997)
        assert_int_equal(portal_session_find(toks[i], strlen(toks[i]), &got), 0);
    end_all(toks, PORTAL_SESSIONS_MAX + 1);
    assert_int_equal(portal_session_count(), 0);
    free(toks);
}

static void test_portal_csrf_compare(void **state)
{
    (void)state;
    char t[PORTAL_TOKEN_MAX];
    portal_session s;
    assert_int_equal(portal_session_new(&key_a, 60, t, &s), 0);
    char other[PORTAL_TOKEN_MAX];
    memcpy(other, s.csrf, sizeof(other));
    assert_true(portal_csrf_ok(&s, other, strlen(other)));
    other[42] = other[42] == 'A' ? 'B' : 'A';
    assert_false(portal_csrf_ok(&s, other, strlen(other)));
    assert_false(portal_csrf_ok(&s, s.csrf, 42));
    assert_false(portal_csrf_ok(&s, NULL, 0));
    assert_false(portal_csrf_ok(&s, t, strlen(t)));
    portal_session_end(t, strlen(t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portal_session_new_find_end),
        cmocka_unit_test(test_portal_session_many_with_deletions),
        cmocka_unit_test(test_portal_session_expires),
        cmocka_unit_test(test_portal_session_cap),
        cmocka_unit_test(test_portal_csrf_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
