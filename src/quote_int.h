/*
 * quote_int: what the quote module's files share (not for other modules):
 * quote.c (status machine, writes, views), quote_doc.c (the printable
 * document), quote_archive.c (archives and re-pricing), quote_history.c
 * (the price history), quote_usage.c (promotion usage counters),
 * quote_json.c (request bodies and JSON views: the codec).
 * Only the codec and the files that read stored JSON include jansson.h;
 * quote.c works on the typed values declared here.
 */
#ifndef CPQD_QUOTE_INT_H
#define CPQD_QUOTE_INT_H

#include "cpqd/quote.h"

#include <stdbool.h>
#include <stddef.h>

/* Days a quote is valid when its request names no valid_until. */
#define QUOTE_DEFAULT_VALID_DAYS 30

/* A quote past its valid_until reads as expired until it is moved. */
quote_status quote_effective_status(const svc_ctx *c, const store_quote *q);
/* The caller is a partner. */
bool quote_partner_caller(const svc_ctx *c);
/* Quote id (version 0: the latest) as the caller may see it, else
 * CPQD_ENOTFOUND with the reason in errs; *q to free with
 * store_quote_fini. */
int quote_load_scoped(svc_ctx *c, const char *id, int version, store_quote *q, cpqd_errs *errs);

/* ---- the codec (quote_json.c) ---- */

/* A quote request (POST /v1/quotes, /revise) as parsed: the price
 * request and what the quote adds to it. */
typedef struct quote_req {
    price_req_buf *buf;
    price_request *rq;          /* in buf; the caller's identity goes on it */
    struct json_t *tree;        /* the body, its date pinned (until sealed); NULL when read
                                 * without a tree (then sealed from body) */
    const char *body;           /* read without a tree: the body (the caller's), */
    size_t len;                 /* its length */
    bool dated;                 /* and whether it names its date */
    char *request;              /* the stored JSON text (sealed) */
    char valid_until[DATE_FMT_LEN];
    const char *partner_id;     /* points into buf or the caller */
} quote_req;

/* Parses body[0..len): a JSON object, its "valid_until" (YYYY-MM-DD, not
 * before today; default today + QUOTE_DEFAULT_VALID_DAYS) and the rest a
 * price request, whose "date" is today when absent. 0, CPQD_EINVAL (the
 * reasons in errs) or CPQD_ENOMEM; *r always safe to quote_req_fini. */
int quote_json_req_parse(const char *body, size_t len, date_days today, quote_req *r,
                         cpqd_errs *errs);
/* The stored request text: the body with its pricing date and a "caller"
 * member naming the identity set on r->rq (role, partner_id, segment,
 * authority), into r->request: the body's text with the two members
 * appended when it was read without a tree, else the tree's keys sorted
 * (both read back the same). 0 or CPQD_ENOMEM. */
int quote_json_req_seal(quote_req *r);
void quote_req_fini(quote_req *r);
/* A move's body: empty, or {"note": "..."} of at most 2000 bytes. *note
 * (malloc'ed, NULL when none) or CPQD_EINVAL. */
int quote_json_note_parse(const char *body, size_t len, char **note, cpqd_errs *errs);

/* What approving a stored quote looks at. */
typedef struct quote_facts {
    money_dec max_discount; /* the largest discount its request asked for */
    bool flagged;           /* a price of it lies outside a floor or ceiling */
} quote_facts;
void quote_json_facts(const store_quote *q, quote_facts *out);

/* The quote as an internal caller sees it, with its priced result and
 * its history, as text: the priced result is the stored text verbatim
 * (not parsed and written again: it is most of the bytes), at
 * *priced_at for *priced_len bytes (0: the quote has none). NULL when
 * out of memory. */
char *quote_json_text(const svc_ctx *c, const store_quote *q, size_t *priced_at,
                      size_t *priced_len);
/* The quote with its priced result and its history as c's caller sees
 * it (a partner: filtered). NULL when out of memory. */
char *quote_json_full(const svc_ctx *c, const store_quote *q);
/* A page of the list: items[0..n) and, when more follow, the last one's
 * id as `next`. NULL when out of memory. */
char *quote_json_list(const svc_ctx *c, const store_quote *items, size_t n, bool more);

/* For the files that read stored JSON (jansson's json_t): */
struct json_t;
/* Drops what a partner must not see from a stored priced result. */
void quote_partner_filter(struct json_t *priced);
/* Compact text of o (consumed); NULL on failure. */
char *quote_dump(struct json_t *o);
/* The string member k of o, or "". */
const char *quote_jget(struct json_t *o, const char *k);

#endif
