/*
 * fuzz_quote: the bodies of the quote routes, parsed by quote_body_check
 * exactly as the routes parse them before anything is priced or stored.
 * The first line names the route and the caller:
 *   "create"            POST /v1/quotes, /v1/quotes/{id}/revise, as a rep
 *   "create partner"    the same as partner P-101 (segment distributor)
 *   "create admin"      the same as an admin
 *   "action"            POST /v1/quotes/{id}/{submit|approve|reject|send}
 * the rest is the body. A create body that parses is stored as a request
 * text that, read back, is the body's tree with its pricing date pinned
 * and the caller added (quote_json.c writes it from the body's own bytes
 * when it can): anything else is a crash.
 */
#include "fuzz.h"

#include "cpqd/quote.h"

#include <jansson.h>

/* The stored text against the body's tree, date pinned, caller added. */
static void check_stored(const char *stored, const uint8_t *data, size_t size, json_t *caller)
{
    json_error_t je;
    json_t *got = json_loads(stored, JSON_REJECT_DUPLICATES, &je);
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!got || !want)
        fz_fail("a quote's stored request is no JSON", stored);
    json_t *d = json_object_get(want, "date");
    if (!d || json_is_null(d))
        json_object_set_new(want, "date", json_string("2026-12-01"));
    json_object_set_new(want, "caller", caller);
    if (!json_equal(got, want))
        fz_fail("a quote's stored request is not its body's tree", stored);
    json_decref(got);
    json_decref(want);
}

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
    char *stored = NULL;
    int rc = quote_body_check(&c, !strcmp(route, "action"), (const char *)data, size, &stored, e);
    if (rc == 0 && stored) {
        bool partner = k.role == AUTH_ROLE_PARTNER, admin = k.role == AUTH_ROLE_ADMIN;
        json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        /* a staff caller's quote carries the body's partner and customer segment */
        const char *pid = json_string_value(json_object_get(body, "partner_id"));
        const char *seg =
            json_string_value(json_object_get(json_object_get(body, "customer"), "segment"));
        json_t *caller = json_pack("{s:s?,s:s?,s:s,s:s?}", "authority", admin ? "100" : NULL,
                                   "partner_id", partner ? "P-101" : pid, "role",
                                   partner ? "partner" : admin ? "admin" : "rep", "segment",
                                   partner ? "distributor" : seg);
        check_stored(stored, data, size, caller);
        json_decref(body);
        free(stored);
    }
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
