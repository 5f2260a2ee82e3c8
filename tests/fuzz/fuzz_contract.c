/*
 * fuzz_contract: the bodies of the contract and receivable routes, parsed
 * by contract_body_check exactly as the routes parse them before anything
 * is opened. The first line names the route, the rest is the body:
 *   accept     POST /v1/quotes/{id}/accept
 *   pay        POST /v1/receivables/{id}/payments (bank payments)
 *   sweep      POST /v1/receivables/sweep
 *   delivered  POST /v1/contracts/{id}/lines/{line}/delivered
 *   accepted   POST /v1/contracts/{id}/lines/{line}/accepted
 *   milestone  POST /v1/contracts/{id}/milestones/{m}/accept
 *   usage      POST /v1/contracts/{id}/usage
 *   close      POST /v1/contracts/{id}/periods/{p}/close
 *   renew      POST /v1/contracts/{id}/lines/{line}/renew
 *   seats      POST /v1/contracts/{id}/lines/{line}/seats
 */
#include "fuzz.h"

#include "contract_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char route[16];
    if (!fz_first_line(&data, &size, route, sizeof(route)))
        return 0;
    cpqd_errs *e = errs_new();
    int rc = contract_body_check(route, (const char *)data, size, e);
    if (rc != 0 && rc != CPQD_EINVAL && rc != CPQD_ENOTFOUND)
        fz_fail("contract_body_check returned an unexpected code", err_code_name(rc));
    if (rc == CPQD_EINVAL && errs_count(e) == 0)
        fz_fail("a refused body without a reason", route);
    fz_errs_render(e);
    errs_free(e);
    return 0;
}
