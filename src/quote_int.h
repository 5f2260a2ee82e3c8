/*
 * quote_int: what the quote module's files share (not for other modules):
 * quote.c (status machine, writes, views), quote_doc.c (the printable
 * document), quote_archive.c (archives and re-pricing), quote_history.c
 * (the price history), quote_usage.c (promotion usage counters).
 */
#ifndef CPQD_QUOTE_INT_H
#define CPQD_QUOTE_INT_H

#include "cpqd/quote.h"

#include <jansson.h>

/* A quote past its valid_until reads as expired until it is moved. */
quote_status quote_effective_status(const svc_ctx *c, const store_quote *q);
/* The caller is a partner. */
bool quote_partner_caller(const svc_ctx *c);
/* Quote id (version 0: the latest) as the caller may see it, else
 * CPQD_ENOTFOUND with the reason in errs; *q to free with
 * store_quote_fini. */
int quote_load_scoped(svc_ctx *c, const char *id, int version, store_quote *q, cpqd_errs *errs);
/* Drops what a partner must not see from a stored priced result. */
void quote_partner_filter(json_t *priced);
/* Compact text of o (consumed); NULL on failure. */
char *quote_dump(json_t *o);
/* The string member k of o, or "". */
const char *quote_jget(json_t *o, const char *k);

#endif
