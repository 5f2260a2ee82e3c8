/*
 * Unit tests for digest: hex encoding and decoding, SHA-256 one-shot and
 * incremental, HMAC-SHA256. Expected digests are the published test
 * vectors (FIPS 180-2 appendix B for SHA-256, RFC 4231 for HMAC), not
 * values computed by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/digest.h"
#include "cpqd/err.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void test_digest_hex_is_lowercase_two_digits_a_byte(void **state)
{
    (void)state;
    const unsigned char b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(b) + 1];
    memset(out, 'x', sizeof(out));
    digest_hex(b, sizeof(b), out);
    assert_string_equal(out, "00017f80abff");
    digest_hex(b, 0, out);
    assert_string_equal(out, "");
}

static void test_digest_unhex_round_trips(void **state)
{
    (void)state;
    unsigned char b[4] = {0};
    assert_int_equal(digest_unhex("00a7ff10", 4, b), 0);
    const unsigned char want[] = {0x00, 0xa7, 0xff, 0x10};
    assert_memory_equal(b, want, sizeof(want));
    /* only the 2n digits asked for are read: no NUL needed after them */
    const char unterminated[4] = {'1', '2', '3', '4'};
    assert_int_equal(digest_unhex(unterminated, 2, b), 0);
    assert_int_equal(b[0], 0x12);
    assert_int_equal(b[1], 0x34);
}

static void test_digest_unhex_refuses_upper_case_and_non_hex(void **state)
{
    (void)state;
    unsigned char b[2];
    static const char *const bad[] = {"AB00", "0g00", "00 1", "-100", "0x00", "00\x80" "1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(digest_unhex(bad[i], 2, b), CPQD_EINVAL);
}

static void test_digest_sha256_matches_fips_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char hex[DIGEST_SHA256_HEX_LEN];
        assert_int_equal(digest_sha256_hex(v[i].in, strlen(v[i].in), hex), 0);
        assert_string_equal(hex, v[i].hex);
        unsigned char raw[DIGEST_SHA256_LEN], back[DIGEST_SHA256_LEN];
        assert_int_equal(digest_sha256(v[i].in, strlen(v[i].in), raw), 0);
        assert_int_equal(digest_unhex(v[i].hex, DIGEST_SHA256_LEN, back), 0);
        assert_memory_equal(raw, back, DIGEST_SHA256_LEN);
    }
}

/* Bytes are hashed, not strings: an embedded NUL counts. */
static void test_digest_sha256_hashes_bytes_past_a_nul(void **state)
{
    (void)state;
    char a[DIGEST_SHA256_HEX_LEN], b[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_hex("abc\0def", 7, a), 0);
    assert_int_equal(digest_sha256_hex("abc", 3, b), 0);
    assert_string_not_equal(a, b);
}

/* FIPS 180-2 B.3: one million 'a', fed in 1,000 pieces of 1,000. */
static void test_digest_sha256_incremental_million_a(void **state)
{
    (void)state;
    char piece[1000];
    memset(piece, 'a', sizeof(piece));
    digest_sha256_ctx *c = digest_sha256_new();
    assert_non_null(c);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(digest_sha256_add(c, piece, sizeof(piece)), 0);
    char hex[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_end_hex(c, hex), 0);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    digest_sha256_free(c);
}

/* "ab" + "" + "c" is "abc": the pieces do not matter, only the bytes. */
static void test_digest_sha256_incremental_equals_one_shot(void **state)
{
    (void)state;
    digest_sha256_ctx *c = digest_sha256_new();
    assert_non_null(c);
    assert_int_equal(digest_sha256_add(c, "ab", 2), 0);
    assert_int_equal(digest_sha256_add(c, "", 0), 0);
    assert_int_equal(digest_sha256_add(c, "c", 1), 0);
    char hex[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_end_hex(c, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_sha256_free(c);
}

/* An ended context is spent: it never hands out a digest of nothing or
 * of a part; free stays safe, and NULL is a no-op. */
static void test_digest_sha256_ended_context_refuses_more(void **state)
{
    (void)state;
    digest_sha256_ctx *c = digest_sha256_new();
    assert_non_null(c);
    char hex[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_end_hex(c, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(digest_sha256_add(c, "abc", 3), CPQD_ENOMEM);
    memset(hex, 'x', sizeof(hex));
    assert_int_equal(digest_sha256_end_hex(c, hex), CPQD_ENOMEM);
    assert_string_equal(hex, "");
    digest_sha256_free(c);
    digest_sha256_free(NULL);
}

static void test_digest_hmac_sha256_matches_rfc4231(void **state)
{
    (void)state;
    unsigned char key1[20], key6[131];
    memset(key1, 0x0b, sizeof(key1));
    memset(key6, 0xaa, sizeof(key6));
    static const char msg6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    const struct {
        const void *key;
        size_t key_len;
        const char *msg, *hex;
    } v[] = {
        {key1, sizeof(key1), "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {key6, sizeof(key6), msg6,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unsigned char mac[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN];
        assert_int_equal(digest_hmac_sha256(v[i].key, v[i].key_len, v[i].msg, strlen(v[i].msg), mac),
                         0);
        digest_hex(mac, sizeof(mac), hex);
        assert_string_equal(hex, v[i].hex);
    }
}

/* libcrypto takes the key length as an int: a longer one is refused
 * before anything is read, not truncated. */
static void test_digest_hmac_sha256_refuses_a_key_beyond_int_max(void **state)
{
    (void)state;
    unsigned char mac[DIGEST_SHA256_LEN];
    memset(mac, 0x5a, sizeof(mac));
    assert_int_equal(digest_hmac_sha256("k", (size_t)INT_MAX + 1, "m", 1, mac), CPQD_ERANGE);
    for (size_t i = 0; i < sizeof(mac); i++)
        assert_int_equal(mac[i], 0x5a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_hex_is_lowercase_two_digits_a_byte),
        cmocka_unit_test(test_digest_unhex_round_trips),
        cmocka_unit_test(test_digest_unhex_refuses_upper_case_and_non_hex),
        cmocka_unit_test(test_digest_sha256_matches_fips_vectors),
        cmocka_unit_test(test_digest_sha256_hashes_bytes_past_a_nul),
        cmocka_unit_test(test_digest_sha256_incremental_million_a),
        cmocka_unit_test(test_digest_sha256_incremental_equals_one_shot),
        cmocka_unit_test(test_digest_sha256_ended_context_refuses_more),
        cmocka_unit_test(test_digest_hmac_sha256_matches_rfc4231),
        cmocka_unit_test(test_digest_hmac_sha256_refuses_a_key_beyond_int_max),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
