/*
 * http_finance: the finance routes (docs/finance.md): invoices, bank
 * statements and the match queue, write-offs, vouchers, revenue,
 * customers and credit approvals.
 *
 * Owns: reading these routes' path segments, query parameters and
 * headers into calls of the fin module, and the enum-valued parameters'
 * checks. Does not own: what they do (fin), who may call them (the route
 * table in http_route.c), the reply and error mapping (http_quote_run).
 */
#include "http_int.h"

#include "cpqd/fin.h"

#include <string.h>

const char *const http_fin_page_params[] = {"after", "limit", NULL};
const char *const http_fin_doc_params[] = {"lang", NULL};
const char *const http_fin_import_params[] = {"format", "issuer", NULL};
const char *const http_fin_credits_params[] = {"status", "customer", "after", "limit", NULL};
const char *const http_fin_vouchers_params[] = {"after", "limit", "format", NULL};
const char *const http_fin_revenue_params[] = {"as_of", NULL};
const char *const http_fin_invoice_list_params[] = {
    "customer", "contract", "status", "issued_from", "issued_to", "after", "limit", NULL};

/* The value of query parameter key, or NULL. */
static const char *qval(const http_query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->p[i].key, key))
            return q->p[i].val;
    return NULL;
}

static const char *idem(http_ctx *c)
{
    return http_ctx_header(c, "Idempotency-Key");
}

HTTP_OP(http_op_fin_issue)
{
    (void)q;
    return fin_invoice_issue(qc, http_ctx_param(c, 0), body, len, idem(c), out, errs);
}

HTTP_OP(http_op_fin_invoices)
{
    (void)body, (void)len;
    return fin_invoices_of(qc, http_ctx_param(c, 0), qval(q, "after"), qval(q, "limit"), out,
                           errs);
}

static int op_invoice_list(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    fin_invoice_query fq = {qval(q, "customer"),  qval(q, "contract"),
                            qval(q, "status"),    qval(q, "issued_from"),
                            qval(q, "issued_to"), http_page_of(q, SVC_PAGE_DEFAULT)};
    return fin_invoices_list(qc, &fq, out, errs);
}

void http_fin_invoice_list(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", fin_invoice_statuses, NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_invoice_list, "listing invoices");
}

HTTP_OP(http_op_fin_invoice)
{
    (void)body, (void)len, (void)q;
    return fin_invoice_get(qc, http_ctx_param(c, 0), out, errs);
}

static int op_document(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                       const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    const char *lang = qval(q, "lang");
    int rc = fin_invoice_document(qc, http_ctx_param(c, 0), lang, out, errs);
    if (rc == 0)
        http_ctx_out_header(c, "Content-Language",
                            !lang ? "zh-CN, en" : !strcmp(lang, "zh") ? "zh-CN" : "en");
    return rc;
}

static const char *const doc_langs[] = {"zh", "en", NULL};

void http_fin_document(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "lang", doc_langs, NULL))
        http_quote_run(c, q, op_document, "rendering the invoice");
}

HTTP_OP(http_op_fin_cancel)
{
    (void)q;
    return fin_invoice_cancel(qc, http_ctx_param(c, 0), body, len, idem(c), out, errs);
}

static int op_import(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                     const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    return fin_statement_import(qc, qval(q, "format"), http_ctx_header(c, "Content-Type"),
                                qval(q, "issuer"), body, len, idem(c), out, errs);
}

static const char *const formats[] = {"camt053", "csv", NULL};

void http_fin_import(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "format", formats, NULL))
        http_quote_run(c, q, op_import, "importing the statement");
}

HTTP_OP(http_op_fin_statement)
{
    (void)body, (void)len, (void)q;
    return fin_statement_get(qc, http_ctx_param(c, 0), out, errs);
}

static int op_credits(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                      const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    return fin_credits_list(qc, qval(q, "status"), qval(q, "customer"), qval(q, "after"),
                            qval(q, "limit"), out, errs);
}

static const char *const credit_states[] = {"unmatched", "matched", NULL};

void http_fin_credits(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "status", credit_states, NULL))
        http_quote_run(c, q, op_credits, "listing bank credits");
}

HTTP_OP(http_op_fin_credit)
{
    (void)body, (void)len, (void)q;
    return fin_credit_get(qc, http_ctx_param(c, 0), out, errs);
}

HTTP_OP(http_op_fin_match)
{
    (void)q;
    return fin_credit_match(qc, http_ctx_param(c, 0), body, len, idem(c), out, errs);
}

HTTP_OP(http_op_fin_match_get)
{
    (void)body, (void)len, (void)q;
    return fin_match_get(qc, http_ctx_param(c, 0), out, errs);
}

HTTP_OP(http_op_fin_reverse)
{
    (void)q;
    return fin_match_reverse(qc, http_ctx_param(c, 0), body, len, out, errs);
}

HTTP_OP(http_op_fin_write_off)
{
    (void)q;
    return fin_write_off(qc, http_ctx_param(c, 0), body, len, idem(c), out, errs);
}

HTTP_OP(http_op_fin_write_off_get)
{
    (void)body, (void)len, (void)q;
    return fin_write_off_get(qc, http_ctx_param(c, 0), out, errs);
}

static int op_vouchers(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                       const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    return fin_vouchers(qc, qval(q, "after"), qval(q, "limit"), qval(q, "format"), out, errs);
}

static const char *const voucher_formats[] = {"json", "csv", NULL};

void http_fin_vouchers(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "format", voucher_formats, NULL))
        http_quote_run(c, q, op_vouchers, "reading the vouchers");
}

HTTP_OP(http_op_fin_revenue)
{
    (void)body, (void)len;
    return fin_revenue(qc, http_ctx_param(c, 0), qval(q, "as_of"), out, errs);
}

HTTP_OP(http_op_fin_customer_put)
{
    (void)q;
    return fin_customer_put(qc, http_ctx_param(c, 0), body, len, out, errs);
}

HTTP_OP(http_op_fin_credit_put)
{
    (void)q;
    return fin_customer_credit_put(qc, http_ctx_param(c, 0), body, len, out, errs);
}

HTTP_OP(http_op_fin_customer_get)
{
    (void)body, (void)len, (void)q;
    return fin_customer_get(qc, http_ctx_param(c, 0), out, errs);
}

HTTP_OP(http_op_fin_approve_credit)
{
    (void)q;
    return fin_credit_approve(qc, http_ctx_param(c, 0), body, len, out, errs);
}
