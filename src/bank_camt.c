/*
 * bank_camt: ISO 20022 camt.053 (BankToCustomerStatement) into credits
 * (include/cpqd/bank.h, docs/finance.md "camt.053").
 *
 * Owns: the XML walk over Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls/
 * TxDtls for versions .001.02 to .001.13 (the element names this reader
 * uses are the same in all of them, except the status, which is a text
 * up to .07 and Sts/Cd after, and Dbtr/Nm, which moved under Dbtr/Pty
 * in .08), which entries count, and where each field is read from.
 * Does not own: text and amount checks (bank.c), matching.
 *
 * Safety: libxml2 reads from memory with no network access, no DTD
 * loading and no entity substitution, and a document with a DOCTYPE is
 * refused before anything is read from it, so no entity can expand.
 * Element text is read from text and CDATA children only.
 */
#include "bank_int.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAMT_NS "urn:iso:std:iso:20022:tech:xsd:camt.053.001."

typedef struct camt {
    bank_build *b;
    const xmlChar *ns; /* the document's namespace */
    char *acct;        /* the statement account (malloc'ed) */
    const char *stmt_id;
} camt;

static unsigned line_of(const xmlNode *n)
{
    long l = n ? xmlGetLineNo((xmlNode *)n) : 0;
    return l > 0 ? (unsigned)l : 0;
}

static bool is(const camt *x, const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, x->ns) &&
           strcmp((const char *)n->name, name) == 0;
}

/* The first child element called name, or NULL. */
static const xmlNode *child(const camt *x, const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(x, c, name))
            return c;
    return NULL;
}

/* Follows a path of child names ("Id/IBAN"); NULL where it stops. */
static const xmlNode *path(const camt *x, const xmlNode *n, const char *p)
{
    char part[64];
    while (n && *p) {
        size_t k = strcspn(p, "/");
        if (k >= sizeof(part))
            return NULL;
        memcpy(part, p, k);
        part[k] = '\0';
        n = child(x, n, part);
        p += k + (p[k] == '/');
    }
    return n;
}

/* The text of n (its text and CDATA children), malloc'ed; "" for none. */
static char *text(const xmlNode *n)
{
    size_t len = 0;
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            len += strlen((const char *)c->content);
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            size_t m = strlen((const char *)c->content);
            memcpy(s + k, c->content, m);
            k += m;
        }
    s[k] = '\0';
    return s;
}

/* The trimmed text at path p below n as an id (NULL: absent or empty). */
static const char *id_at(camt *x, const xmlNode *n, const char *p, bool upper, const char *what)
{
    const xmlNode *e = path(x, n, p);
    if (!e)
        return NULL;
    char *t = text(e);
    if (!t) {
        x->b->rc = CPQD_ENOMEM;
        return NULL;
    }
    const char *r = bank_id(x->b, t, strlen(t), upper, line_of(e), 0, what);
    free(t);
    return r && *r ? r : NULL;
}

/* ---- entries ---- */

static bool booked(const camt *x, const xmlNode *ntry)
{
    const xmlNode *sts = child(x, ntry, "Sts");
    const xmlNode *cd = child(x, sts, "Cd");
    char *t = text(cd ? cd : sts);
    bool ok = t && strcmp(t, "BOOK") == 0;
    free(t);
    return ok;
}

static bool flag_true(const camt *x, const xmlNode *n, const char *name)
{
    char *t = text(child(x, n, name));
    bool on = t && (strcmp(t, "true") == 0 || strcmp(t, "1") == 0);
    free(t);
    return on;
}

/* An Amt element: its text in its Ccy. */
static int amount_of(camt *x, const xmlNode *amt, char cur[4], money_dec *out)
{
    xmlChar *ccy = xmlGetProp((xmlNode *)amt, (const xmlChar *)"Ccy");
    char *t = text(amt);
    int rc = -1;
    if (!t) {
        x->b->rc = CPQD_ENOMEM;
    } else if (!ccy || xmlStrlen(ccy) != 3) {
        bank_err(x->b, line_of(amt), 0, "Amt needs a Ccy attribute with an ISO 4217 code");
    } else {
        memcpy(cur, ccy, 4);
        rc = bank_amount(x->b, t, strlen(t), cur, line_of(amt), 0, out);
        if (rc == 0 && money_sign(*out) < 0) {
            bank_err(x->b, line_of(amt), 0,
                     "Amt must not be negative (CdtDbtInd gives the "
                     "direction)");
            rc = -1;
        }
    }
    xmlFree(ccy);
    free(t);
    return rc;
}

static int date_at(camt *x, const xmlNode *ntry, const char *name, date_days *out)
{
    const xmlNode *d = child(x, ntry, name);
    const xmlNode *v = child(x, d, "Dt") ? child(x, d, "Dt") : child(x, d, "DtTm");
    *out = BANK_NO_DATE;
    if (!v)
        return 0;
    char *t = text(v);
    if (!t)
        return x->b->rc = CPQD_ENOMEM;
    int rc = bank_date(x->b, t, strlen(t), line_of(v), 0, name, out);
    free(t);
    return rc;
}

/* Appends the text of every element at path p below n to buf. */
static void join(camt *x, const xmlNode *n, const char *first, const char *rest, char **buf,
                 size_t *len)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (!is(x, c, first))
            continue;
        const xmlNode *e = rest ? path(x, c, rest) : c;
        char *t = e ? text(e) : NULL;
        if (!t)
            continue;
        size_t m = strlen(t);
        char *p = realloc(*buf, *len + m + 2);
        if (p) {
            *buf = p;
            if (*len)
                p[(*len)++] = ' ';
            memcpy(p + *len, t, m);
            *len += m;
            p[*len] = '\0';
        } else {
            x->b->rc = CPQD_ENOMEM;
        }
        free(t);
    }
}

/* Remittance: RmtInf/Ustrd lines, then structured creditor references
 * and referred document numbers (an invoice number), then AddtlTxInf and
 * the entry's AddtlNtryInf when there is nothing else. */
static const char *remittance(camt *x, const xmlNode *tx, const xmlNode *ntry, unsigned line)
{
    char *buf = NULL;
    size_t len = 0;
    const xmlNode *rmt = child(x, tx, "RmtInf");
    join(x, rmt, "Ustrd", NULL, &buf, &len);
    join(x, rmt, "Strd", "CdtrRefInf/Ref", &buf, &len);
    join(x, rmt, "Strd", "RfrdDocInf/Nb", &buf, &len);
    if (len == 0)
        join(x, tx, "AddtlTxInf", NULL, &buf, &len);
    if (len == 0)
        join(x, ntry, "AddtlNtryInf", NULL, &buf, &len);
    const char *r = bank_text(x->b, buf ? buf : "", len, BANK_MAX_TEXT, line, 0, "remittance");
    free(buf);
    return r;
}

static const char *debtor_name(camt *x, const xmlNode *tx)
{
    const xmlNode *rp = child(x, tx, "RltdPties");
    const char *paths[] = {"Dbtr/Nm", "Dbtr/Pty/Nm", "UltmtDbtr/Nm", "UltmtDbtr/Pty/Nm"};
    for (size_t i = 0; i < 4; i++) {
        const xmlNode *e = path(x, rp, paths[i]);
        if (!e)
            continue;
        char *t = text(e);
        if (!t) {
            x->b->rc = CPQD_ENOMEM;
            return NULL;
        }
        const char *r = bank_text(x->b, t, strlen(t), BANK_MAX_TEXT, line_of(e), 0, "Dbtr/Nm");
        free(t);
        return r;
    }
    return "";
}

static const char *debtor_account(camt *x, const xmlNode *tx)
{
    const xmlNode *acct = path(x, child(x, tx, "RltdPties"), "DbtrAcct/Id");
    const char *r = id_at(x, acct, "IBAN", true, "DbtrAcct/Id/IBAN");
    if (!r)
        r = id_at(x, acct, "Othr/Id", true, "DbtrAcct/Id/Othr/Id");
    return r ? r : "";
}

/* The transaction id of transaction k (of n) of an entry. */
static const char *tx_id(camt *x, const xmlNode *ntry, const xmlNode *tx, size_t k, size_t n)
{
    const char *own = tx ? id_at(x, tx, "Refs/AcctSvcrRef", false, "Refs/AcctSvcrRef") : NULL;
    if (own)
        return own;
    const char *base = id_at(x, ntry, "AcctSvcrRef", false, "AcctSvcrRef");
    if (!base)
        base = id_at(x, ntry, "NtryRef", false, "NtryRef");
    if (!base) {
        bank_err(x->b, line_of(ntry), 0,
                 "a credit entry needs a bank reference (AcctSvcrRef or "
                 "NtryRef): it is what makes a re-import idempotent");
        return NULL;
    }
    if (n <= 1)
        return base;
    char id[BANK_MAX_ID + 24];
    snprintf(id, sizeof(id), "%s/%zu", base, k + 1);
    return bank_id(x->b, id, strlen(id), false, line_of(tx), 0, "transaction id");
}

/* One credit from transaction tx (NULL: the entry itself) of an entry. */
static void credit(camt *x, const xmlNode *ntry, const xmlNode *tx, size_t k, size_t n,
                   const bank_credit *entry)
{
    bank_credit c = *entry;
    c.line = line_of(tx ? tx : ntry);
    if (tx && n > 1) {
        const xmlNode *amt = child(x, tx, "Amt");
        if (!amt)
            amt = path(x, tx, "AmtDtls/TxAmt/Amt");
        char cur[4];
        if (!amt) {
            bank_err(x->b, c.line, 0, "each transaction of a batch entry needs its Amt");
            return;
        }
        if (amount_of(x, amt, cur, &c.amount))
            return;
        if (strcmp(cur, entry->currency) != 0) {
            bank_err(x->b, c.line, 0, "transaction in %s inside an entry in %s", cur,
                     entry->currency);
            return;
        }
    }
    c.tx_id = tx_id(x, ntry, tx, k, n);
    c.debtor_name = tx ? debtor_name(x, tx) : "";
    c.debtor_account = tx ? debtor_account(x, tx) : "";
    c.remittance = remittance(x, tx, ntry, c.line);
    const char *e2e = tx ? id_at(x, tx, "Refs/EndToEndId", false, "EndToEndId") : NULL;
    c.end_to_end_id = e2e && strcmp(e2e, "NOTPROVIDED") != 0 ? e2e : "";
    if (!c.tx_id || !c.debtor_name || !c.debtor_account || !c.remittance)
        return;
    bank_add(x->b, &c);
}

/* The transactions of an entry (every TxDtls of every NtryDtls). */
static size_t transactions(const camt *x, const xmlNode *ntry, const xmlNode **out, size_t cap)
{
    size_t n = 0;
    for (const xmlNode *d = ntry->children; d; d = d->next)
        for (const xmlNode *t = is(x, d, "NtryDtls") ? d->children : NULL; t; t = t->next)
            if (is(x, t, "TxDtls")) {
                if (n < cap)
                    out[n] = t;
                n++;
            }
    return n;
}

/* A batch's transaction amounts must add up to the entry's amount. */
static void batch_sum(camt *x, const xmlNode *ntry, size_t before, money_dec total)
{
    money_dec s = {0, 0};
    for (size_t i = before; i < x->b->n; i++)
        if (money_add(s, x->b->credits[i].amount, &s))
            break;
    if (money_cmp(s, total) != 0)
        bank_err(x->b, line_of(ntry), 0,
                 "the transactions of a batch entry do not add up to "
                 "its amount");
}

static void entry(camt *x, const xmlNode *ntry)
{
    bank_credit e = {.booking_date = BANK_NO_DATE};
    const xmlNode *amt = child(x, ntry, "Amt");
    char *ind = text(child(x, ntry, "CdtDbtInd"));
    if (!ind) {
        x->b->rc = CPQD_ENOMEM;
        return;
    }
    bool credit_ind = strcmp(ind, "CRDT") == 0;
    if (!credit_ind && strcmp(ind, "DBIT") != 0)
        bank_err(x->b, line_of(ntry), 0, "Ntry needs CdtDbtInd CRDT or DBIT");
    free(ind);
    if (!amt) {
        bank_err(x->b, line_of(ntry), 0, "Ntry needs an Amt");
        return;
    }
    if (amount_of(x, amt, e.currency, &e.amount))
        return;
    if (!credit_ind || !booked(x, ntry) || flag_true(x, ntry, "RvslInd")) {
        x->b->nskipped++; /* a debit, a reversal or an entry not booked yet */
        return;
    }
    if (date_at(x, ntry, "ValDt", &e.value_date) || date_at(x, ntry, "BookgDt", &e.booking_date))
        return;
    if (e.value_date == BANK_NO_DATE)
        e.value_date = e.booking_date;
    if (e.value_date == BANK_NO_DATE) {
        bank_err(x->b, line_of(ntry), 0, "a credit entry needs ValDt or BookgDt");
        return;
    }
    const xmlNode *txs[256];
    size_t n = transactions(x, ntry, txs, 256);
    if (n > 256) {
        bank_err(x->b, line_of(ntry), 0, "a batch entry may hold at most 256 transactions");
        return;
    }
    size_t before = x->b->n, bad = x->b->nbad;
    for (size_t k = 0; k < (n ? n : 1); k++)
        credit(x, ntry, n ? txs[k] : NULL, k, n, &e);
    if (n > 1 && x->b->nbad == bad)
        batch_sum(x, ntry, before, e.amount);
}

/* ---- statements ---- */

static void statement(camt *x, const xmlNode *st)
{
    const char *id = id_at(x, st, "Id", false, "Stmt/Id");
    const char *acct = id_at(x, st, "Acct/Id/IBAN", true, "Acct/Id/IBAN");
    if (!acct)
        acct = id_at(x, st, "Acct/Id/Othr/Id", true, "Acct/Id/Othr/Id");
    if (!acct) {
        bank_err(x->b, line_of(st), 0, "Stmt needs its account (Acct/Id/IBAN or Othr/Id)");
        return;
    }
    if (!x->acct) {
        x->acct = strdup(acct);
        x->stmt_id = id;
        if (!x->acct)
            x->b->rc = CPQD_ENOMEM;
    } else if (strcmp(x->acct, acct) != 0) {
        bank_err(x->b, line_of(st), 0,
                 "all statements of a file must be for one account (%s, "
                 "then %s)",
                 x->acct, acct);
        return;
    }
    for (const xmlNode *n = st->children; n && x->b->rc != CPQD_ENOMEM && x->b->rc != CPQD_ELIMIT;
         n = n->next)
        if (is(x, n, "Ntry"))
            entry(x, n);
}

static void document(camt *x, const xmlNode *root)
{
    if (!root || root->type != XML_ELEMENT_NODE || strcmp((const char *)root->name, "Document") ||
        !root->ns || xmlStrncmp(root->ns->href, (const xmlChar *)CAMT_NS, strlen(CAMT_NS)) != 0) {
        bank_err(x->b, line_of(root), 0,
                 "not a camt.053 statement: the root must be <Document "
                 "xmlns=\"" CAMT_NS "NN\">");
        return;
    }
    x->ns = root->ns->href;
    const xmlNode *bk = child(x, root, "BkToCstmrStmt");
    size_t nst = 0;
    for (const xmlNode *n = bk ? bk->children : NULL; n; n = n->next)
        if (is(x, n, "Stmt")) {
            statement(x, n);
            nst++;
        }
    if (nst == 0)
        bank_err(x->b, line_of(bk ? bk : root), 0, "no BkToCstmrStmt/Stmt in the document");
}

/* Whether the prolog (before the root element) declares a DOCTYPE: an
 * internal subset is where entities are declared, an external one would
 * be loaded. Statements never have one, so it is refused before parsing. */
static bool has_doctype(const char *p, size_t n)
{
    const char *end = p + n;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        } else if (end - p >= 2 && memcmp(p, "<?", 2) == 0) {
            const char *q = memmem(p, (size_t)(end - p), "?>", 2);
            p = q ? q + 2 : end;
        } else if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
            const char *q = memmem(p, (size_t)(end - p), "-->", 3);
            p = q ? q + 3 : end;
        } else {
            return end - p >= 9 && memcmp(p, "<!DOCTYPE", 9) == 0;
        }
    }
    return false;
}

/* libxml2's structured errors become ours. */
static void xml_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    bank_build *b = ctxt ? ctxt->_private : NULL;
    if (!b || !e || e->level < XML_ERR_ERROR)
        return;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "cannot parse");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    bank_err(b, e->line > 0 ? (unsigned)e->line : 0, e->int2 > 0 ? (unsigned)e->int2 : 0,
             "malformed XML: %s", msg);
}

int bank_parse_camt053(const char *buf, size_t len, const char *file, bank_statement *out,
                       cpqd_errs *errs)
{
    bank_build b;
    memset(out, 0, sizeof(*out));
    if (bank_build_init(&b, file, errs))
        return CPQD_ENOMEM;
    if (len > BANK_MAX_BYTES || len > (size_t)INT32_MAX) {
        if (errs)
            errs_add(errs, CPQD_ELIMIT, b.file, 0, 0, "a statement may have at most %u bytes",
                     BANK_MAX_BYTES);
        b.rc = CPQD_ELIMIT;
        return bank_build_finish(&b, NULL, NULL, out);
    }
    if (buf && has_doctype(buf, len)) {
        bank_err(&b, 0, 0, "a statement must not have a DOCTYPE (entities are not read)");
        return bank_build_finish(&b, NULL, NULL, out);
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        b.rc = CPQD_ENOMEM;
        return bank_build_finish(&b, NULL, NULL, out);
    }
    ctxt->_private = &b;
    ctxt->sax->serror = xml_error;
    /* no network, no entity substitution, no DTD loading; libxml2 prints
     * nothing (xml_error reports) */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf ? buf : "", (int)len, b.file, NULL, opts);
    camt x = {.b = &b};
    if (!doc) {
        if (b.rc == 0)
            bank_err(&b, 0, 0, "malformed XML: cannot parse");
    } else if (doc->intSubset || doc->extSubset) {
        bank_err(&b, 1, 0, "a statement must not have a DOCTYPE (entities are not read)");
    } else if (b.rc == 0) {
        document(&x, xmlDocGetRootElement(doc));
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    int rc = bank_build_finish(&b, x.stmt_id, x.acct, out);
    free(x.acct);
    return rc;
}
