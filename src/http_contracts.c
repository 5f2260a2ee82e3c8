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

/* The value of query parameter key, or NULL. */
static const char *qval(const http_query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->p[i].key, key))
            return q->p[i].val;
    return NULL;
}

int http_op_contract_accept(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                            const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_accept(qc, http_ctx_param(c, 0), body, len,
                           http_ctx_header(c, "Idempotency-Key"), out, errs);
}

int http_op_contract_get(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                         const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len, (void)q;
    return contract_get(qc, http_ctx_param(c, 0), out, errs);
}

int http_op_contract_receivables(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                                 const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    return contract_receivables(qc, http_ctx_param(c, 0), qval(q, "as_of"), out, errs);
}

int http_op_contract_pay(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                         const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_pay(qc, http_ctx_param(c, 0), body, len, out, errs);
}

int http_op_contract_due(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                         const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    contract_due_query dq = {.status = qval(q, "status"),
                             .as_of = qval(q, "as_of"),
                             .within = qval(q, "within"),
                             .customer = qval(q, "customer"),
                             .contract = qval(q, "contract"),
                             .page = http_page_of(q, SVC_PAGE_DEFAULT)};
    return contract_due_list(qc, &dq, out, errs);
}

int http_op_contract_sweep(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)q;
    return contract_sweep(qc, body, len, out, errs);
}

int http_op_contract_sweep_failures(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                                    const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    svc_page pg = http_page_of(q, SWEEP_FAILURES_PAGE);
    return contract_sweep_failures(qc, qval(q, "status"), &pg, out, errs);
}

int http_op_contract_delivered(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                               const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_line_event(qc, http_ctx_param(c, 0), http_ctx_param(c, 1),
                               CONTRACT_EVENT_DELIVERED, body, len, out, errs);
}

int http_op_contract_accepted(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                              const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_line_event(qc, http_ctx_param(c, 0), http_ctx_param(c, 1),
                               CONTRACT_EVENT_ACCEPTED, body, len, out, errs);
}

int http_op_contract_milestone(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                               const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_milestone_accept(qc, http_ctx_param(c, 0), http_ctx_param(c, 1), body, len, out,
                                     errs);
}

int http_op_contract_usage(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_usage_record(qc, http_ctx_param(c, 0), body, len, out, errs);
}

int http_op_contract_close(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_period_close(qc, http_ctx_param(c, 0), http_ctx_param(c, 1), body, len, out,
                                 errs);
}

int http_op_contract_renew(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_line_renew(qc, http_ctx_param(c, 0), http_ctx_param(c, 1), body, len, out,
                               errs);
}

int http_op_contract_seats(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)q;
    return contract_seat_change(qc, http_ctx_param(c, 0), http_ctx_param(c, 1), body, len, out,
                                errs);
}

/* The states GET /v1/receivables lists (docs/receivables.md). */
static const char *const due_states[] = {"overdue", "due_soon", NULL};

void http_receivables_due(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", due_states, NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, http_op_contract_due, "listing receivables");
}

/* The states GET /v1/receivables/sweep/failures lists. */
static const char *const failure_states[] = {"failing", "resolved", NULL};

void http_sweep_failures(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", failure_states, NULL) &&
        http_page_read(c, q, SWEEP_FAILURES_PAGE, &pg))
        http_quote_run(c, q, http_op_contract_sweep_failures, "listing sweep failures");
}

int http_op_receivable_get(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len, (void)q;
    return contract_receivable_get(qc, http_ctx_param(c, 0), out, errs);
}

static int op_contract_list(http_ctx *c, svc_ctx *qc, const char *body, size_t len,
                            const http_query *q, svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    svc_page pg = http_page_of(q, SVC_PAGE_DEFAULT);
    store_contract_filter f = {.customer = qval(q, "customer"),
                               .quote = qval(q, "quote"),
                               .partner = qval(q, "partner"),
                               .after = pg.after,
                               .limit = pg.limit};
    return contract_list(qc, &f, qval(q, "status"), out, errs);
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
