/*
 * fuzz_query: query strings as evhttp hands them to http_route.c (a C
 * string: the input up to its first NUL), parsed by http_query_parse
 * against every parameter name a route accepts. A parameter that comes
 * out with a length other than its string's, or twice, is a crash.
 */
#include "fuzz.h"
#include "http_int.h"

static const char *const all_params[] = {
    "category", "mode", "q", "catalog", "quote", "contract", "type", "on", "sku", "customer", "last",
    "status", "partner", "after", "limit", "as_of", "within", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = strndup((const char *)data, size), why[256] = "";
    http_query q;
    if (!raw)
        fz_fail("out of memory", NULL);
    int rc = http_query_parse(raw, all_params, &q, why, sizeof(why));
    if (rc != 0 && rc != CPQD_EINVAL)
        fz_fail("http_query_parse returned an unexpected code", err_code_name(rc));
    if (rc == CPQD_EINVAL && !why[0])
        fz_fail("a refused query without a reason", NULL);
    for (size_t i = 0; rc == 0 && i < q.n; i++) {
        if (q.n > HTTP_MAX_PARAMS || strlen(q.p[i].val) != q.p[i].vlen || q.p[i].vlen == 0)
            fz_fail("a parameter value's length is wrong", q.p[i].key);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(q.p[i].key, q.p[j].key))
                fz_fail("a parameter given twice was accepted", q.p[i].key);
    }
    free(q.buf);
    free(raw);
    return 0;
}
