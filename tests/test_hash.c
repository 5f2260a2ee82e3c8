/*
 * Unit tests for hash: FNV-1a 64 against the values published with the
 * algorithm ("", "a", "foobar"), bytes past a NUL and above 0x7f, and
 * hashing in pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/hash.h"

static void test_hash_fnv1a64_published_vectors(void **state)
{
    (void)state;
    assert_true(hash_fnv1a64("", 0) == 0xcbf29ce484222325ull); /* the offset basis */
    assert_true(hash_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(hash_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
    assert_true(hash_fnv1a64_str("") == 0xcbf29ce484222325ull);
    assert_true(hash_fnv1a64_str("foobar") == 0x85944171f73967e8ull);
}

/* Bytes, not chars: a byte above 0x7f is not sign-extended, and with a
 * length the bytes after a NUL count. */
static void test_hash_fnv1a64_hashes_bytes(void **state)
{
    (void)state;
    assert_true(hash_fnv1a64("\xff", 1) == 0xaf64724c8602eb6eull);
    assert_true(hash_fnv1a64("abc\0def", 7) == 0xe34a003877932188ull);
    assert_true(hash_fnv1a64_str("abc\0def") == hash_fnv1a64("abc", 3));
    /* only the n bytes asked for are read */
    assert_true(hash_fnv1a64("foobarbaz", 6) == 0x85944171f73967e8ull);
}

static void test_hash_fnv1a64_add_continues_a_hash(void **state)
{
    (void)state;
    uint64_t h = hash_fnv1a64_add(HASH_FNV1A64_BASIS, "foo", 3);
    h = hash_fnv1a64_add(h, "", 0);
    h = hash_fnv1a64_add(h, "bar", 3);
    assert_true(h == 0x85944171f73967e8ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_fnv1a64_published_vectors),
        cmocka_unit_test(test_hash_fnv1a64_hashes_bytes),
        cmocka_unit_test(test_hash_fnv1a64_add_continues_a_hash),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
