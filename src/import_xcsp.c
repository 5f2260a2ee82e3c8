/*
 * import_xcsp: XCSP 2.1 instances (extensional CSPs) into the import
 * model, parsed with libxml2.
 *
 * Owns: <domains> (integers and ranges "a..b"), <variables>, <relations>
 * with semantics "supports" (allowed tuples) or "conflicts" (forbidden
 * tuples), tuples separated by '|', and <constraints> whose reference is
 * a relation. Predicates, global constraints and soft relations are
 * refused with a clear error. Every value of a tuple must lie in the
 * domain of its scope's variable. Values are ordinary integers: the
 * Renault joker -1 is kept as the value "-1" (import.h says how it is
 * typed).
 * Does not own: ids and output (import.c).
 *
 * Safety: the parser runs without network access and without entity
 * substitution (no XXE); errors carry the line libxml2 reports.
 */
#include "import_int.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XCSP_MAX_ABS 1000000000000000LL /* |value| bound: keeps min..max arithmetic exact */
#define XCSP_MAX_ARITY 1000              /* variables in one relation */

typedef struct xdom {
    char *name;
    long long *v;
    size_t n;
} xdom;

typedef struct xrel {
    char *name;
    size_t arity, ntuples;
    bool conflicts;
    long long *v;     /* ntuples * arity */
    unsigned *line;   /* line of each tuple */
} xrel;

typedef struct xcsp {
    imp_model *m;
    const char *path;
    xdom *doms;
    size_t ndoms;
    imp_map dom_by_name;
    xrel *rels;
    size_t nrels;
    imp_map rel_by_name;
} xcsp;

static unsigned node_line(const xmlNode *n)
{
    long l = xmlGetLineNo(n);
    return l > 0 ? (unsigned)l : 0;
}

static bool is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

/* An attribute's value (malloc'ed by libxml2, free with xmlFree) or NULL
 * after reporting when required. */
static char *attr(xcsp *x, const xmlNode *n, const char *name, bool req)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v && req)
        imp_err(x->m, x->path, node_line(n), 1, "<%s> needs attribute '%s'", (const char *)n->name,
                name);
    return (char *)v;
}

/* A non-negative count attribute; -1 when absent, -2 after reporting. */
static long long count_attr(xcsp *x, const xmlNode *n, const char *name, bool req)
{
    char *v = attr(x, n, name, req), *end = NULL;
    if (!v)
        return req ? -2 : -1;
    long long c = strtoll(v, &end, 10);
    bool ok = end != v && *end == '\0' && c >= 0 && c <= 100000000;
    if (!ok)
        imp_err(x->m, x->path, node_line(n), 1, "attribute %s='%.32s' must be a count", name, v);
    xmlFree(v);
    return ok ? c : -2;
}

/* One integer token [s, e). */
static bool parse_int(const char *s, const char *e, long long *out)
{
    bool neg = s < e && (*s == '-' || *s == '+');
    const char *p = s + neg;
    long long v = 0;
    if (p == e)
        return false;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9' || v > XCSP_MAX_ABS / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v > XCSP_MAX_ABS)
        return false;
    *out = *s == '-' ? -v : v;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Line of text offset off, counting from the element at line base. */
static unsigned line_at(unsigned base, const char *text, const char *at, unsigned *cache_line,
                        const char **cache_at)
{
    unsigned l = *cache_line ? *cache_line : base;
    for (const char *p = *cache_at ? *cache_at : text; p < at; p++)
        l += *p == '\n';
    *cache_line = l;
    *cache_at = at;
    return l;
}

/* ---- domains ---- */

static int dom_push(xcsp *x, xdom *d, long long v, size_t *cap)
{
    if (d->n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        long long *p = realloc(d->v, c * sizeof(*p));
        if (!p)
            return imp_nomem(x->m);
        d->v = p;
        *cap = c;
    }
    d->v[d->n++] = v;
    return 0;
}

static void dom_values(xcsp *x, const xmlNode *n, xdom *d, const char *text)
{
    size_t cap = 0;
    unsigned line = node_line(n);
    for (const char *p = text; *p;) {
        while (is_space(*p))
            p++;
        const char *s = p;
        while (*p && !is_space(*p))
            p++;
        if (s == p)
            break;
        const char *dots = NULL;
        for (const char *q = s + 1; q + 1 < p && !dots; q++)
            if (q[0] == '.' && q[1] == '.')
                dots = q;
        long long a = 0, b = 0;
        bool ok = dots ? parse_int(s, dots, &a) && parse_int(dots + 2, p, &b) && a <= b
                       : parse_int(s, p, &a);
        if (!dots)
            b = a;
        if (!ok || (unsigned long long)(b - a) >= IMP_MAX_DOMAIN - d->n) {
            imp_err(x->m, x->path, line, 1, "domain '%s': '%.*s' is not an integer or a range "
                    "a..b (at most %d values, |v| <= 10^15)", d->name, (int)(p - s > 40 ? 40 : p - s),
                    s, IMP_MAX_DOMAIN);
            return;
        }
        for (long long v = a; v <= b; v++)
            if (dom_push(x, d, v, &cap))
                return;
    }
}

static void read_domain(xcsp *x, const xmlNode *n)
{
    char *name = attr(x, n, "name", true);
    long long nb = count_attr(x, n, "nbValues", false);
    if (!name)
        return;
    xdom *ds = realloc(x->doms, (x->ndoms + 1) * sizeof(*ds));
    if (!ds) {
        xmlFree(name);
        imp_nomem(x->m);
        return;
    }
    x->doms = ds;
    xdom *d = &ds[x->ndoms];
    *d = (xdom){strdup(name), NULL, 0};
    xmlFree(name);
    if (!d->name) {
        imp_nomem(x->m);
        return;
    }
    x->ndoms++;
    if (imp_map_put(&x->dom_by_name, d->name, strlen(d->name), x->ndoms - 1) == 1)
        imp_err(x->m, x->path, node_line(n), 1, "domain '%s' is defined twice", d->name);
    xmlChar *text = xmlNodeGetContent(n);
    if (text)
        dom_values(x, n, d, (const char *)text);
    xmlFree(text);
    if (nb >= 0 && (size_t)nb != d->n)
        imp_err(x->m, x->path, node_line(n), 1, "domain '%s' declares nbValues=%lld but lists %zu",
                d->name, nb, d->n);
    if (d->n == 0)
        imp_err(x->m, x->path, node_line(n), 1, "domain '%s' is empty", d->name);
}

/* ---- variables ---- */

static void read_variable(xcsp *x, const xmlNode *n)
{
    char *name = attr(x, n, "name", true), *dom = attr(x, n, "domain", true);
    size_t di, idx, k;
    if (!name || !dom)
        goto out;
    if (!imp_map_get(&x->dom_by_name, dom, strlen(dom), &di)) {
        imp_err(x->m, x->path, node_line(n), 1, "variable '%s': unknown domain '%s'", name, dom);
        goto out;
    }
    int r = imp_var_add(x->m, name, strlen(name), NULL, NULL, &idx);
    if (r == 1)
        imp_err(x->m, x->path, node_line(n), 1, "variable '%s' is defined twice", name);
    if (r != 0)
        goto out;
    imp_var *v = &x->m->vars[idx];
    const xdom *d = &x->doms[di];
    for (size_t i = 0; i < d->n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%lld", d->v[i]);
        r = imp_value_add(v, buf, (size_t)len, &k);
        if (r < 0) {
            imp_nomem(x->m);
            goto out;
        }
        if (r == 1)
            imp_err(x->m, x->path, node_line(n), 1, "domain '%s' lists %lld twice", d->name, d->v[i]);
    }
    imp_var_numeric(v, d->v);
out:
    xmlFree(name);
    xmlFree(dom);
}

/* ---- relations ---- */

/* Appends value v to r; a new tuple starts at line. */
static int rel_push(xcsp *x, xrel *r, long long v, bool starts, unsigned line, size_t *cap,
                    size_t *nv)
{
    if (*nv == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        long long *p = realloc(r->v, c * sizeof(*p));
        unsigned *l = p ? realloc(r->line, (c / r->arity + 1) * sizeof(*l)) : NULL;
        if (p)
            r->v = p;
        if (!l)
            return imp_nomem(x->m);
        r->line = l;
        *cap = c;
    }
    if (starts)
        r->line[*nv / r->arity] = line;
    r->v[(*nv)++] = v;
    return 0;
}

/* Parses "v v v | v v v | ..." into r->v. */
static void rel_tuples(xcsp *x, const xmlNode *n, xrel *r, const char *text)
{
    size_t cap = 0, nv = 0, in_tuple = 0;
    unsigned base = node_line(n), cl = 0;
    const char *ca = NULL;
    for (const char *p = text;;) {
        while (is_space(*p))
            p++;
        const char *s = p;
        while (*p && !is_space(*p) && *p != '|')
            p++;
        unsigned line = line_at(base, text, s, &cl, &ca);
        long long v;
        if (s < p && !parse_int(s, p, &v)) {
            imp_err(x->m, x->path, line, 1, "relation '%s': '%.*s' is not an integer", r->name,
                    (int)(p - s > 40 ? 40 : p - s), s);
            return;
        }
        if (s < p && rel_push(x, r, v, in_tuple == 0, line, &cap, &nv))
            return;
        in_tuple += s < p;
        if (*p == '|' || (*p == '\0' && in_tuple)) {
            if (in_tuple != r->arity) {
                imp_err(x->m, x->path, line, 1, "relation '%s': tuple %zu has %zu values, arity "
                        "is %zu", r->name, (nv - in_tuple) / r->arity + 1, in_tuple, r->arity);
                return;
            }
            in_tuple = 0;
        }
        if (*p == '\0')
            break;
        if (*p == '|')
            p++;
    }
    r->ntuples = nv / r->arity;
}

static void read_relation(xcsp *x, const xmlNode *n)
{
    char *name = attr(x, n, "name", true), *sem = attr(x, n, "semantics", true);
    long long arity = count_attr(x, n, "arity", true), nb = count_attr(x, n, "nbTuples", false);
    xrel *rs;
    if (!name || !sem || arity < 1)
        goto out;
    if (arity > XCSP_MAX_ARITY) {
        imp_err(x->m, x->path, node_line(n), 1, "relation '%s': arity %lld is above %d", name,
                arity, XCSP_MAX_ARITY);
        goto out;
    }
    if (strcmp(sem, "supports") != 0 && strcmp(sem, "conflicts") != 0) {
        imp_err(x->m, x->path, node_line(n), 1, "relation '%s': semantics '%s' is not supported "
                "(only supports and conflicts: no soft constraints)", name, sem);
        goto out;
    }
    rs = realloc(x->rels, (x->nrels + 1) * sizeof(*rs));
    if (!rs) {
        imp_nomem(x->m);
        goto out;
    }
    x->rels = rs;
    xrel *r = &rs[x->nrels];
    *r = (xrel){strdup(name), (size_t)arity, 0, strcmp(sem, "conflicts") == 0, NULL, NULL};
    if (!r->name) {
        imp_nomem(x->m);
        goto out;
    }
    x->nrels++;
    if (imp_map_put(&x->rel_by_name, r->name, strlen(r->name), x->nrels - 1) == 1)
        imp_err(x->m, x->path, node_line(n), 1, "relation '%s' is defined twice", r->name);
    xmlChar *text = xmlNodeGetContent(n);
    if (text)
        rel_tuples(x, n, r, (const char *)text);
    xmlFree(text);
    if (nb >= 0 && (size_t)nb != r->ntuples && x->m->rc == 0)
        imp_err(x->m, x->path, node_line(n), 1, "relation '%s' declares nbTuples=%lld but lists "
                "%zu", r->name, nb, r->ntuples);
out:
    xmlFree(name);
    xmlFree(sem);
}

/* ---- constraints ---- */

static bool con_scope(xcsp *x, const xmlNode *n, const char *name, const char *scope,
                      size_t *out, size_t arity)
{
    size_t k = 0;
    for (const char *p = scope; *p;) {
        while (is_space(*p))
            p++;
        const char *s = p;
        while (*p && !is_space(*p))
            p++;
        if (s == p)
            break;
        size_t var;
        if (!imp_map_get(&x->m->var_src, s, (size_t)(p - s), &var)) {
            imp_err(x->m, x->path, node_line(n), 1, "constraint '%s': unknown variable '%.*s'",
                    name, (int)(p - s > 64 ? 64 : p - s), s);
            return false;
        }
        if (k == arity) {
            imp_err(x->m, x->path, node_line(n), 1, "constraint '%s': scope has more than arity "
                    "%zu variables", name, arity);
            return false;
        }
        out[k++] = var;
    }
    if (k != arity)
        imp_err(x->m, x->path, node_line(n), 1, "constraint '%s': scope has %zu variables, arity "
                "is %zu", name, k, arity);
    return k == arity;
}

/* Value indexes of every tuple of r for the constraint's scope. */
static void con_cells(xcsp *x, const char *name, const xrel *r, imp_con *c)
{
    for (size_t t = 0; t < r->ntuples; t++)
        for (size_t k = 0; k < r->arity; k++) {
            const imp_var *v = &x->m->vars[c->scope[k]];
            char buf[32];
            long long val = r->v[t * r->arity + k];
            int len = snprintf(buf, sizeof(buf), "%lld", val);
            size_t i = imp_value_find(v, buf, (size_t)len);
            if (i == SIZE_MAX) {
                imp_err(x->m, x->path, r->line[t], 1, "relation '%s' used by constraint '%s': "
                        "value %lld is not in the domain of variable '%s'", r->name, name, val,
                        v->src);
                continue;
            }
            c->cells[t * r->arity + k] = (uint32_t)i;
        }
}

static void read_constraint(xcsp *x, const xmlNode *n)
{
    char *name = attr(x, n, "name", true), *ref = attr(x, n, "reference", true);
    char *scope = attr(x, n, "scope", true);
    long long arity = count_attr(x, n, "arity", true);
    size_t ri;
    if (!name || !ref || !scope || arity < 1)
        goto out;
    if (!imp_map_get(&x->rel_by_name, ref, strlen(ref), &ri)) {
        imp_err(x->m, x->path, node_line(n), 1, "constraint '%s': reference '%s' is %s", name, ref,
                strncmp(ref, "global:", 7) == 0 ? "a global constraint (only relations are supported)"
                                                : "not a relation (predicates are not supported)");
        goto out;
    }
    const xrel *r = &x->rels[ri];
    if (r->arity != (size_t)arity) {
        imp_err(x->m, x->path, node_line(n), 1, "constraint '%s' has arity %lld but relation '%s' "
                "%zu", name, arity, ref, r->arity);
        goto out;
    }
    imp_con *c = imp_con_add(x->m, name, r->arity, r->ntuples);
    if (!c)
        goto out;
    c->forbidden = r->conflicts;
    if (con_scope(x, n, name, scope, c->scope, r->arity))
        con_cells(x, name, r, c);
out:
    xmlFree(name);
    xmlFree(ref);
    xmlFree(scope);
}

/* ---- document ---- */

/* Calls fn for every child element of parent named child. */
static void each(xcsp *x, const xmlNode *parent, const char *child,
                 void (*fn)(xcsp *x, const xmlNode *n))
{
    for (const xmlNode *c = parent->children; c && x->m->rc != CPQD_ENOMEM; c = c->next)
        if (is_elem(c, child))
            fn(x, c);
        else if (c->type == XML_ELEMENT_NODE)
            imp_err(x->m, x->path, node_line(c), 1, "unexpected <%s> in <%s>", (const char *)c->name,
                    (const char *)parent->name);
}

static void read_instance(xcsp *x, const xmlNode *root)
{
    static const char *const sections[] = {"domains", "variables", "relations", "constraints"};
    static const char *const items[] = {"domain", "variable", "relation", "constraint"};
    static void (*const fns[])(xcsp *, const xmlNode *) = {read_domain, read_variable,
                                                             read_relation, read_constraint};
    for (int k = 0; k < 4; k++)
        for (const xmlNode *c = root->children; c; c = c->next)
            if (is_elem(c, sections[k]))
                each(x, c, items[k], fns[k]);
    for (const xmlNode *c = root->children; c; c = c->next) {
        bool known = is_elem(c, "presentation");
        for (int k = 0; k < 4; k++)
            known |= is_elem(c, sections[k]);
        if (c->type == XML_ELEMENT_NODE && !known)
            imp_err(x->m, x->path, node_line(c), 1, "<%s> is not supported (only domains, "
                    "variables, relations and constraints)", (const char *)c->name);
        if (is_elem(c, "presentation") && !x->m->name) {
            xmlChar *name = xmlGetProp(c, (const xmlChar *)"name");
            x->m->name = name ? strdup((const char *)name) : NULL;
            xmlFree(name);
        }
    }
}

static void xcsp_fini(xcsp *x)
{
    for (size_t i = 0; i < x->ndoms; i++) {
        free(x->doms[i].name);
        free(x->doms[i].v);
    }
    for (size_t i = 0; i < x->nrels; i++) {
        free(x->rels[i].name);
        free(x->rels[i].v);
        free(x->rels[i].line);
    }
    free(x->doms);
    free(x->rels);
    imp_map_fini(&x->dom_by_name);
    imp_map_fini(&x->rel_by_name);
}

/* libxml2 structured-error callback: every parse error becomes ours. */
static void xml_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    xcsp *x = ctxt ? ctxt->_private : NULL;
    if (!x || !e || e->level < XML_ERR_ERROR)
        return;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "cannot parse");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    imp_err(x->m, x->path, e->line > 0 ? (unsigned)e->line : 0, e->int2 > 0 ? (unsigned)e->int2 : 1,
            "malformed XML: %s", msg);
}

int imp_read_xcsp(imp_model *m, const char *path)
{
    xcsp x = {.m = m, .path = path};
    m->format = "XCSP 2.1";
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return imp_nomem(m);
    ctxt->_private = &x;
    ctxt->sax->serror = xml_error;
    /* no network, no entity substitution, no DTD loading; libxml2 prints
     * nothing (xml_error reports); big line numbers for large instances */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    xmlDocPtr doc = xmlCtxtReadFile(ctxt, path, NULL, opts);
    if (!doc || m->rc) {
        if (m->rc == 0)
            imp_err(m, path, 0, 0, "malformed XML: cannot parse");
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return m->rc;
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !is_elem(root, "instance"))
        imp_err(m, path, root ? node_line(root) : 0, 1, "the root element must be <instance> "
                "(XCSP 2.1)");
    else
        read_instance(&x, root);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    xcsp_fini(&x);
    return m->rc;
}
