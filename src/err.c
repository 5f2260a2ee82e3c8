/*
 * err: the error list (see include/cpqd/err.h).
 * Invariant: items[0..n) are fully initialised; oom is sticky.
 */
#include "cpqd/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cpqd_errs {
    cpqd_err *items; /* n used of cap */
    size_t n, cap;
    int oom; /* an add failed: the list is incomplete */
};

const char *err_code_name(int code)
{
    switch (code) {
    case CPQD_OK: return "ok";
    case CPQD_ENOMEM: return "out_of_memory";
    case CPQD_EINVAL: return "invalid";
    case CPQD_ERANGE: return "out_of_range";
    case CPQD_ENOTFOUND: return "not_found";
    case CPQD_EIO: return "io_error";
    case CPQD_EDIVZERO: return "division_by_zero";
    case CPQD_ECONFLICT: return "conflict";
    case CPQD_ELIMIT: return "limit_exceeded";
    case CPQD_ERULE: return "rule_failed";
    case CPQD_EFORBIDDEN: return "forbidden";
    case CPQD_EINCOMPLETE: return "incomplete";
    case CPQD_EREFUSED: return "refused";
    case CPQD_ETOOBIG: return "too_big";
    case CPQD_ERATE: return "rate_limited";
    case CPQD_ESTALE: return "precondition_failed";
    default: return "internal";
    }
}

cpqd_errs *errs_new(void)
{
    return calloc(1, sizeof(cpqd_errs));
}

void errs_free(cpqd_errs *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].file);
        free(e->items[i].msg);
        for (size_t k = 0; k < e->items[i].nfields; k++) {
            free(e->items[i].fields[k].key);
            free(e->items[i].fields[k].value);
        }
        free(e->items[i].fields);
    }
    free(e->items);
    free(e);
}

int errs_add(cpqd_errs *e, int code, const char *file, unsigned line, unsigned col,
             const char *fmt, ...)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        cpqd_err *items = realloc(e->items, cap * sizeof(*items));
        if (!items)
            goto oom;
        e->items = items;
        e->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        goto oom;
    char *msg = malloc((size_t)len + 1);
    char *f = file ? strdup(file) : NULL;
    if (!msg || (file && !f)) {
        free(msg);
        free(f);
        goto oom;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)len + 1, fmt, ap);
    va_end(ap);
    e->items[e->n] = (cpqd_err){code, f, line, col, msg, e->n, NULL, 0};
    e->n++;
    return 0;
oom:
    e->oom = 1;
    return CPQD_ENOMEM;
}

int errs_field(cpqd_errs *e, const char *key, const char *value)
{
    if (!e || e->n == 0)
        return CPQD_EINVAL;
    cpqd_err *x = &e->items[e->n - 1];
    cpqd_err_field *f = realloc(x->fields, (x->nfields + 1) * sizeof(*f));
    if (!f)
        goto oom;
    x->fields = f;
    f[x->nfields].key = strdup(key);
    f[x->nfields].value = strdup(value ? value : "");
    if (!f[x->nfields].key || !f[x->nfields].value) {
        free(f[x->nfields].key);
        free(f[x->nfields].value);
        goto oom;
    }
    x->nfields++;
    return 0;
oom:
    e->oom = 1;
    return CPQD_ENOMEM;
}

int errs_append(cpqd_errs *dst, const cpqd_errs *src)
{
    if (src && src->oom)
        dst->oom = 1;
    for (size_t i = 0; src && i < src->n; i++) {
        const cpqd_err *x = &src->items[i];
        if (errs_add(dst, x->code, x->file, x->line, x->col, "%s", x->msg) != 0)
            return CPQD_ENOMEM;
        for (size_t k = 0; k < x->nfields; k++)
            if (errs_field(dst, x->fields[k].key, x->fields[k].value) != 0)
                return CPQD_ENOMEM;
    }
    return 0;
}

size_t errs_count(const cpqd_errs *e)
{
    return e ? e->n : 0;
}

const cpqd_err *errs_get(const cpqd_errs *e, size_t i)
{
    return i < e->n ? &e->items[i] : NULL;
}

static int err_cmp(const void *pa, const void *pb)
{
    const cpqd_err *a = pa, *b = pb;
    int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

void errs_sort(cpqd_errs *e)
{
    if (e->n > 1)
        qsort(e->items, e->n, sizeof(*e->items), err_cmp);
}

char *errs_format(const cpqd_errs *e, size_t i)
{
    const cpqd_err *x = errs_get(e, i);
    if (!x)
        return NULL;
    char *out = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&out, &sz);
    if (!f)
        return NULL;
    if (x->file && x->line)
        fprintf(f, "%s:%u:%u: %s", x->file, x->line, x->col, x->msg);
    else if (x->file)
        fprintf(f, "%s: %s", x->file, x->msg);
    else
        fputs(x->msg, f);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
