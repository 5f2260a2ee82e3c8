/*
 * cat_yaml: YAML text -> a tree of positioned nodes, with libyaml's event
 * API. Owns syntax-level checks only (syntax, aliases, duplicate keys,
 * depth); what the keys mean is cat_load.c's concern.
 *
 * Anchors and aliases are refused: catalogs do not need them and they are
 * the classic "billion laughs" amplification vector.
 */
#include "cat_int.h"

#include <string.h>
#include <yaml.h>

typedef struct yb {
    arena *a;
    const char *file;
    cpqd_errs *errs;
    yaml_parser_t parser;
    int rc;
    yn **stack; /* children of the open containers, innermost last */
    size_t top, cap;
} yb;

const char *yn_type_name(yn_type t)
{
    switch (t) {
    case YN_SCALAR: return "a scalar";
    case YN_MAP: return "a mapping";
    default: return "a sequence";
    }
}

const yn *yn_get(const yn *map, const char *key)
{
    if (!map || map->type != YN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->vals[i];
    return NULL;
}

static void yb_err(yb *b, yaml_mark_t m, const char *msg, const char *detail)
{
    errs_add(b->errs, CPQD_EINVAL, b->file, (unsigned)m.line + 1, (unsigned)m.column + 1,
             "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
    if (!b->rc)
        b->rc = CPQD_EINVAL;
}

static int yb_next(yb *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->parser, ev))
        return 0;
    const char *what = b->parser.problem ? b->parser.problem : "syntax error";
    yaml_mark_t m = b->parser.problem_mark;
    if (b->parser.context) {
        char msg[256];
        snprintf(msg, sizeof(msg), "YAML syntax error: %s (%s)", what, b->parser.context);
        yb_err(b, m, msg, NULL);
    } else {
        yb_err(b, m, "YAML syntax error", what);
    }
    return -1;
}

static yn *yn_node(yb *b, yn_type t, yaml_mark_t m)
{
    yn *n = arena_alloc(b->a, sizeof(*n));
    if (!n)
        return NULL;
    n->type = t;
    n->line = (unsigned)m.line + 1;
    n->col = (unsigned)m.column + 1;
    return n;
}

/* Children are collected on one reusable stack and copied into the arena
 * at their exact size when their container closes: no doubling garbage. */
static int yb_push(yb *b, yn *x)
{
    if (b->top == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        yn **s = realloc(b->stack, cap * sizeof(yn *));
        if (!s)
            return CPQD_ENOMEM;
        b->stack = s;
        b->cap = cap;
    }
    b->stack[b->top++] = x;
    return 0;
}

/* Moves the children pushed since base into n's arrays. */
static int yb_close(yb *b, yn *n, size_t base)
{
    size_t count = b->top - base;
    bool map = n->type == YN_MAP;
    n->n = (unsigned)(map ? count / 2 : count);
    n->vals = arena_calloc(b->a, n->n ? n->n : 1, sizeof(yn *));
    n->keys = map ? arena_calloc(b->a, n->n ? n->n : 1, sizeof(yn *)) : NULL;
    if (!n->vals || (map && !n->keys))
        return CPQD_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        if (map) {
            n->keys[i] = b->stack[base + 2 * i];
            n->vals[i] = b->stack[base + 2 * i + 1];
        } else {
            n->vals[i] = b->stack[base + i];
        }
    }
    b->top = base;
    return 0;
}

/* A key already among the pairs pushed since base? */
static bool yb_dup_key(const yb *b, size_t base, const yn *key)
{
    for (size_t i = base; i + 1 < b->top; i += 2)
        if (b->stack[i]->len == key->len && memcmp(b->stack[i]->str, key->str, key->len) == 0)
            return true;
    return false;
}

static int yb_node(yb *b, yaml_event_t *ev, int depth, yn **out);

static int yb_scalar(yb *b, yaml_event_t *ev, yn **out)
{
    yn *n = yn_node(b, YN_SCALAR, ev->start_mark);
    if (!n)
        return CPQD_ENOMEM;
    n->len = ev->data.scalar.length;
    n->str = arena_strndup(b->a, (const char *)ev->data.scalar.value, n->len);
    if (!n->str)
        return CPQD_ENOMEM;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    *out = n;
    return 0;
}

static int yb_children(yb *b, yn *n, yaml_event_type_t end, int depth)
{
    size_t base = b->top;
    for (;;) {
        yaml_event_t ev;
        if (yb_next(b, &ev))
            return b->rc;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return yb_close(b, n, base);
        }
        yn *key = NULL, *val = NULL;
        int rc = yb_node(b, &ev, depth + 1, n->type == YN_MAP ? &key : &val);
        yaml_event_delete(&ev);
        if (rc)
            return rc;
        if (n->type == YN_MAP) {
            if (yb_next(b, &ev))
                return b->rc;
            rc = yb_node(b, &ev, depth + 1, &val);
            yaml_event_delete(&ev);
            if (rc)
                return rc;
            if (key->type != YN_SCALAR) {
                yb_err(b, (yaml_mark_t){0, key->line - 1, key->col - 1}, "mapping keys must be scalars", NULL);
                continue;
            }
            if (yb_dup_key(b, base, key)) {
                char msg[160];
                snprintf(msg, sizeof(msg), "duplicate key '%.100s'", key->str);
                yb_err(b, (yaml_mark_t){0, key->line - 1, key->col - 1}, msg, NULL);
                continue;
            }
            if (yb_push(b, key))
                return CPQD_ENOMEM;
        }
        if (yb_push(b, val))
            return CPQD_ENOMEM;
    }
}

static int yb_node(yb *b, yaml_event_t *ev, int depth, yn **out)
{
    if (depth > YN_MAX_DEPTH) {
        yb_err(b, ev->start_mark, "nesting too deep", NULL);
        return CPQD_EINVAL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            goto anchor;
        return yb_scalar(b, ev, out);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if ((ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                   : ev->data.mapping_start.anchor))
            goto anchor;
        int map = ev->type == YAML_MAPPING_START_EVENT;
        yn *n = yn_node(b, map ? YN_MAP : YN_SEQ, ev->start_mark);
        if (!n)
            return CPQD_ENOMEM;
        *out = n;
        return yb_children(b, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth);
    }
    case YAML_ALIAS_EVENT:
        goto anchor;
    default:
        yb_err(b, ev->start_mark, "unexpected YAML event", NULL);
        return CPQD_EINVAL;
    }
anchor:
    yb_err(b, ev->start_mark, "YAML anchors and aliases are not supported in catalogs", NULL);
    return CPQD_EINVAL;
}

int yn_parse(arena *a, const char *file, const char *buf, size_t len, cpqd_errs *errs,
             yn **root)
{
    yb b = {.a = a, .file = file, .errs = errs};
    *root = NULL;
    if (!yaml_parser_initialize(&b.parser))
        return CPQD_ENOMEM;
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
    int docs = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (yb_next(&b, &ev))
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            yb_err(&b, ev.start_mark, "a catalog file holds one YAML document", NULL);
        int node = t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                   t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT;
        if (node && docs == 1 && !*root) {
            rc = yb_node(&b, &ev, 0, root);
        } else if (node) {
            /* later documents were already reported; skip them */
        }
        yaml_event_delete(&ev);
        if (rc || t == YAML_STREAM_END_EVENT || (b.rc && docs > 1))
            break;
    }
    yaml_parser_delete(&b.parser);
    free(b.stack);
    if (rc == CPQD_ENOMEM)
        return rc;
    return b.rc ? b.rc : rc;
}
