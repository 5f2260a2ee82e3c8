/*
 * End-to-end tests of GET /openapi.yaml: the contract (docs/openapi.yaml)
 * built into the binary, served without a key, byte for byte, as
 * application/yaml. That every other response agrees with the contract
 * is checked by tests/spec/check_responses.py over the whole suite's
 * responses (make test).
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

/* Without a key (the server has --keys), the whole file as it is in
 * docs/openapi.yaml. */
static void test_openapi_served_without_a_key_byte_for_byte(void **state)
{
    fx *f = *state;
    char *path = tu_path("docs/openapi.yaml");
    size_t len = 0;
    char *want = tu_read_file(path, &len);
    assert_non_null(want);
    assert_true(len > 1000);
    tu_resp r;
    assert_int_equal(tu_get(f->s.port, "/openapi.yaml", &r), 0);
    assert_int_equal(r.status, 200);
    char ct[64];
    assert_non_null(tu_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/yaml");
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, want, len);
    assert_memory_equal(r.body, "openapi: 3.1.0\n", 15);
    tu_resp_free(&r);
    free(want);
    free(path);
}

/* HEAD answers the status and type without the body; a key is not
 * needed but does no harm. */
static void test_openapi_head_and_with_a_key(void **state)
{
    fx *f = *state;
    tu_resp r;
    char ct[64];
    assert_int_equal(tu_http(f->s.port, "HEAD", "/openapi.yaml", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_non_null(tu_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/yaml");
    tu_resp_free(&r);
    char hdr[160];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", f->key[K_PARTNER_A]);
    assert_int_equal(tu_http(f->s.port, "GET", "/openapi.yaml", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "openapi: 3.1.0\n", 15);
    tu_resp_free(&r);
}

/* It is a read: POST is 405 naming GET; a query parameter is refused as
 * on every route without parameters. */
static void test_openapi_refuses_other_methods_and_parameters(void **state)
{
    fx *f = *state;
    tu_resp r;
    char allow[64];
    assert_int_equal(tu_http(f->s.port, "POST", "/openapi.yaml", NULL, "{}", 2, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(tu_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD");
    assert_non_null(strstr(r.body, "\"code\":\"method_not_allowed\""));
    tu_resp_free(&r);
    assert_int_equal(tu_get(f->s.port, "/openapi.yaml?format=json", &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":\"invalid_parameter\""));
    assert_non_null(strstr(r.body, "unknown query parameter 'format'"));
    tu_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_openapi_served_without_a_key_byte_for_byte),
        T(test_openapi_head_and_with_a_key),
        T(test_openapi_refuses_other_methods_and_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
