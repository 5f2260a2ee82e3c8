/*
 * fuzz_configure: POST /v1/configure bodies, run through http_configure
 * (the route's whole work: decode, resolve the choices against the
 * product's model, solve, render) on the sample catalogs, with one solver
 * context kept across inputs as a worker keeps it across requests.
 */
#include "fuzz.h"
#include "http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct solver_ctx *ctx;
    cat_snapshot *s = fz_sample_snapshot();
    cpqd_errs *e = errs_new();
    char *out = NULL;
    int rc = http_configure(s, &ctx, (const char *)data, size, &out, e);
    if (rc == 0) {
        json_error_t je;
        json_t *j = out ? json_loads(out, 0, &je) : NULL;
        if (!j)
            fz_fail("http_configure made no JSON", out ? je.text : "NULL");
        json_decref(j);
    } else if (rc == CPQD_EINTERNAL) {
        fz_fail("http_configure returned CPQD_EINTERNAL", NULL);
    }
    fz_errs_render(e);
    free(out);
    errs_free(e);
    return 0;
}
