/*
 * fuzz_price: POST /v1/price bodies. Every body goes through
 * price_json_parse; one that parses is priced on the sample catalogs as
 * the route prices it for a caller without API keys (role "rep" unless
 * the body names one) and rendered for an internal and a partner caller.
 * A result whose lines do not add up to its totals is a crash, and so is
 * a body the fast reader (price_json_fast.c) accepts that jansson's path
 * refuses or reads otherwise.
 */
#include "fuzz.h"

#include "cpqd/money.h"
#include "price_int.h"

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

/* The fast reader's contract: what it reads, jansson's path reads the same. */
static void check_fast(const uint8_t *data, size_t size)
{
    price_req_buf *fb = NULL, *tb = NULL;
    price_request *fr = NULL, *tr = NULL;
    if (price_json_parse_fast((const char *)data, size, NULL, &fb, &fr) != 0)
        return;
    cpqd_errs *e = errs_new();
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!root || price_json_parse_tree(root, NULL, &tb, &tr, e) != 0)
        fz_fail("the fast reader accepted a body jansson's path refuses", NULL);
    if (!price_request_same(fr, tr))
        fz_fail("the fast reader and jansson's path read different requests", NULL);
    json_decref(root);
    price_req_buf_free(fb);
    price_req_buf_free(tb);
    errs_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_fast(data, size);
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
