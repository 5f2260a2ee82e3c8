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

static const char *idem(http_ctx *c)
{
    return http_ctx_header(c, "Idempotency-Key");
}

static int op_invoice_list(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                           const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    fin_invoice_query fq = {http_query_value(q, "customer"),  http_query_value(q, "contract"),
                            http_query_value(q, "status"),    http_query_value(q, "issued_from"),
                            http_query_value(q, "issued_to"), http_page_of(q, SVC_PAGE_DEFAULT)};
    return fin_invoices_list(qc, &fq, out, errs);
}

void http_fin_invoice_list(http_ctx *c, const http_query *q)
{
    svc_page pg;
    if (http_query_enum(c, q, "status", fin_invoice_statuses, NULL) &&
        http_page_read(c, q, SVC_PAGE_DEFAULT, &pg))
        http_quote_run(c, q, op_invoice_list, "listing invoices");
}

static int op_document(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                       const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)body, (void)len;
    const char *lang = http_query_value(q, "lang");
    int rc = fin_invoice_document(qc, http_ctx_param(c, 0), lang, out, errs);
    if (rc == 0)
        http_ctx_add_header(c, "Content-Language",
                            !lang ? "zh-CN, en" : !strcmp(lang, "zh") ? "zh-CN" : "en");
    return rc;
}

static const char *const doc_langs[] = {"zh", "en", NULL};

void http_fin_document(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "lang", doc_langs, NULL))
        http_quote_run(c, q, op_document, "rendering the invoice");
}

static int op_import(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                     const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    return fin_statement_import(qc, http_query_value(q, "format"),
                                http_ctx_header(c, "Content-Type"), http_query_value(q, "issuer"),
                                body, len, idem(c), out, errs);
}

static const char *const formats[] = {"camt053", "csv", NULL};

void http_fin_import(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "format", formats, NULL))
        http_quote_run(c, q, op_import, "importing the statement");
}

static int op_credits(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                      const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    return fin_credits_list(qc, http_query_value(q, "status"), http_query_value(q, "customer"),
                            http_query_value(q, "after"), http_query_value(q, "limit"), out, errs);
}

static const char *const credit_states[] = {"unmatched", "matched", NULL};

void http_fin_credits(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "status", credit_states, NULL))
        http_quote_run(c, q, op_credits, "listing bank credits");
}

static int op_vouchers(http_ctx *c, struct svc_ctx *qc, const char *body, size_t len,
                       const http_query *q, struct svc_reply *out, cpqd_errs *errs)
{
    (void)c, (void)body, (void)len;
    return fin_vouchers(qc, http_query_value(q, "after"), http_query_value(q, "limit"),
                        http_query_value(q, "format"), out, errs);
}

static const char *const voucher_formats[] = {"json", "csv", NULL};

void http_fin_vouchers(http_ctx *c, const http_query *q)
{
    if (http_query_enum(c, q, "format", voucher_formats, NULL))
        http_quote_run(c, q, op_vouchers, "reading the vouchers");
}

