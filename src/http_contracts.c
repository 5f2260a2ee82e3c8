/*
 * http_contracts: the contract and receivable routes
 * (docs/receivables.md "Contracts").
 *
 * Owns: reading these routes' path segments, query parameters and
 * headers into calls of the contract module. Does not own: what they do
 * (contract), who may call them (the route table in http_route.c), the
 * reply and error mapping (http_quote_run, from the route table's
 * rows, which name these operations).
 */
#include "http_int.h"

#include "cpqd/contract.h"

#include <string.h>

const char *const http_receivables_params[] = {"status",   "as_of", "within", "customer",
                                                "contract", "limit", "after",  NULL};
const char *const http_as_of_params[] = {"as_of", NULL};
const char *const http_sweep_failures_params[] = {"status", "limit", "after", NULL};
const char *const http_contracts_params[] = {"customer", "quote", "status", "partner",
                                             "limit",    "after", NULL};
const char *const http_page_params[] = {"limit", "after", NULL};

#define SWEEP_FAILURES_PAGE 100 /* the failures a page lists by default */

static int op_due(http_ctx *c, svc_ctx *qc, const char *body, size_t len, const http_query *q,
                  svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    contract_due_query dq = {.status = http_query_value(q, "status"),
                             .as_of = http_query_value(q, "as_of"),
                             .within = http_query_value(q, "within"),
                             .customer = http_query_value(q, "customer"),
                             .contract = http_query_value(q, "contract"),
                             .page = http_page_of(q, SVC_PAGE_DEFAULT)};
    return contract_due_list(qc, &dq, out, errs);
}

static int op_sweep_failures(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                             const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    svc_page pg = http_page_of(q, SWEEP_FAILURES_PAGE);
    return contract_sweep_failures(qc, http_query_value(q, "status"), &pg, out, errs);
}

/* The states GET /v1/receivables lists (docs/receivables.md). */
static const char *const due_states[] = {"overdue", "due_soon", NULL};

void http_receivables_due(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", due_states, NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_due, "listing receivables");
}

/* The states GET /v1/receivables/sweep/failures lists. */
static const char *const failure_states[] = {"failing", "resolved", NULL};

void http_sweep_failures(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", failure_states, NULL) &&
        http_page_read(c, q, SWEEP_FAILURES_PAGE, &pg))
        http_quote_run(c, q, op_sweep_failures, "listing sweep failures");
}

static int op_contract_list(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                            const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    svc_page pg = http_page_of(q, SVC_PAGE_DEFAULT);
    store_contract_filter f = {.customer = http_query_value(q, "customer"),
                               .quote = http_query_value(q, "quote"),
                               .partner = http_query_value(q, "partner"),
                               .after = pg.after,
                               .limit = pg.limit};
    return contract_list(qc, &f, http_query_value(q, "status"), out, errs);
}

void http_contracts_list(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", contract_statuses, NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_contract_list, "listing contracts");
}

static int op_contract_payments(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                                const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    svc_page pg = http_page_of(q, SVC_PAGE_DEFAULT);
    return contract_payments(qc, http_ctx_param(c, 0), &pg, out, errs);
}

void http_contract_payments(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_contract_payments, "listing the payments");
}
