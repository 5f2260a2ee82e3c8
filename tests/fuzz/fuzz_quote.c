/*
 * fuzz_quote: the bodies of the quote routes, parsed by quote_body_check
 * exactly as the routes parse them before anything is priced or stored.
 * The first line names the route and the caller:
 *   "create"            POST /v1/quotes, /v1/quotes/{id}/revise, as a rep
 *   "create partner"    the same as partner P-101 (segment distributor)
 *   "create admin"      the same as an admin
 *   "action"            POST /v1/quotes/{id}/{submit|approve|reject|send}
 * the rest is the body.
 */
#include "fuzz.h"

#include "cpqd/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char route[32];
    if (!fz_first_line(&data, &size, route, sizeof(route)))
        return 0;
    svc_caller k = {.key_id = "k_fuzz", .role = AUTH_ROLE_REP};
    if (!strcmp(route, "create partner"))
        k = (svc_caller){.key_id = "k_fuzz", .role = AUTH_ROLE_PARTNER, .partner_id = "P-101",
                           .segment = "distributor"};
    else if (!strcmp(route, "create admin"))
        k.role = AUTH_ROLE_ADMIN;
    else if (strcmp(route, "create") && strcmp(route, "action"))
        return 0;
    svc_ctx c = {.caller = &k, .today = date_from_ymd(2026, 12, 1)};
    cpqd_errs *e = errs_new();
    int rc = quote_body_check(&c, !strcmp(route, "action"), (const char *)data, size, e);
    /* a back-dated quote is forbidden to a rep or partner: the body is
     * fine, the authority is not (docs/auth.md "Money authority") */
    if (rc != 0 && rc != CPQD_EINVAL && rc != CPQD_ELIMIT && rc != CPQD_ERANGE &&
        rc != CPQD_EFORBIDDEN)
        fz_fail("quote_body_check returned an unexpected code", err_code_name(rc));
    if ((rc == CPQD_EINVAL || rc == CPQD_EFORBIDDEN) && errs_count(e) == 0)
        fz_fail("a refused body without a reason", route);
    fz_errs_render(e);
    errs_free(e);
    return 0;
}
