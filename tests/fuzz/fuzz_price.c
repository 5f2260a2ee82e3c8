/*
 * fuzz_price: POST /v1/price bodies. Every body goes through
 * price_json_parse; one that parses is priced on the sample catalogs as
 * the route prices it for a caller without API keys (role "rep" unless
 * the body names one) and rendered for an internal and a partner caller.
 * A result whose lines do not add up to its totals is a crash.
 */
#include "fuzz.h"

#include "cpqd/money.h"

#include <jansson.h>

static void render(const price_result *r, const cat_snapshot *s, bool partner)
{
    char *text = price_json_render(r, s, partner);
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    if (!j)
        fz_fail("price_json_render made no JSON", text ? je.text : "NULL");
    json_decref(j);
    free(text);
}

/* The promises of docs/pricing.md: a total is the sum of its lines. */
static void check_sums(const price_result *r)
{
    money_dec net = money_from_int(0), tax = net, total = net;
    for (size_t i = 0; i < r->nlines; i++) {
        const price_line_out *l = &r->lines[i];
        if (money_add(net, l->net, &net) || money_add(tax, l->tax, &tax) ||
            money_add(total, l->total, &total))
            fz_fail("line amounts overflow their sum", l->id);
    }
    if (money_cmp(net, r->subtotal) || money_cmp(tax, r->tax) || money_cmp(total, r->total))
        fz_fail("totals are not the sums of the lines", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static price_worker *w;
    static price_store *usage;
    cat_snapshot *s = fz_sample_snapshot();
    if (!w && !(w = price_worker_new()))
        fz_fail("price_worker_new", NULL);
    if (!usage && !(usage = price_memstore_new()))
        fz_fail("price_memstore_new", NULL);
    cpqd_errs *e = errs_new();
    price_req_buf *buf = NULL;
    price_request *rq = NULL;
    price_result r;
    int rc = price_json_parse((const char *)data, size, &buf, &rq, e);
    if (rc == 0 && !rq->role)
        rq->role = "rep";
    if (rc == 0)
        rc = price_compute(w, s, usage, rq, &r, e);
    if (rc == 0) {
        check_sums(&r);
        render(&r, s, false);
        render(&r, s, true);
        price_result_fini(&r);
    }
    if (rc == CPQD_EINTERNAL)
        fz_fail("pricing returned CPQD_EINTERNAL", NULL);
    fz_errs_render(e);
    price_req_buf_free(buf);
    errs_free(e);
    return 0;
}
