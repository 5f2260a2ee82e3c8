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
    const char *buf; /* the text being parsed */
    size_t len;
    cpqd_errs *errs;
    yaml_parser_t parser;
    int rc;
    yn **stack; /* children of the open containers, innermost last */
    size_t top, cap;
    const yn_stream *st; /* yn_parse_stream's hooks, or NULL */
    unsigned char pend[4]; /* st->read: the start of a character cut by a piece */
    size_t npend;
    bool rfail;            /* st->read: a read error or bytes that are not UTF-8 */
    arena *scratch;      /* an item's tree while it is streamed */
    bool streamed;       /* the hooks took the items of the root's 'products' */
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
    for (size_t i = 0; i < map->n; i++) /* the first byte first: most keys differ there */
        if (map->keys[i]->str[0] == key[0] && strcmp(map->keys[i]->str, key) == 0)
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

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

/* The mark of byte offset off of the text: its line and column, counted
 * in characters as libyaml counts them (a byte that is not UTF-8 counts
 * as one). */
static yaml_mark_t mark_at(const yb *b, size_t off)
{
    const unsigned char *s = (const unsigned char *)b->buf;
    yaml_mark_t m = {off, 0, 0};
    for (size_t i = 0; i < off && i < b->len;) {
        size_t n = s[i] == '\n' ? 1 : utf8_seq(s + i, b->len - i);
        if (s[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
        i += n ? n : 1;
    }
    return m;
}

/* Whether s[0..n) (n < 4) starts some well-formed UTF-8 sequence. */
static bool utf8_prefix(const unsigned char *s, size_t n)
{
    static const unsigned char second[] = {0x80, 0x90, 0xA0, 0xBF};
    for (size_t k = 0; k < sizeof(second); k++) {
        unsigned char t[4] = {0x80, 0x80, 0x80, 0x80};
        memcpy(t, s, n);
        if (n < 2)
            t[1] = second[k];
        if (utf8_seq(t, 4))
            return true;
    }
    return false;
}

/* libyaml's read handler over st->read: hands on whole UTF-8 characters
 * only, checked, and keeps a character cut at the end of a piece for the
 * next one. */
static int yb_read(void *data, unsigned char *out, size_t size, size_t *got)
{
    yb *b = data;
    *got = 0;
    if (b->rfail || size < sizeof(b->pend))
        return 0;
    memcpy(out, b->pend, b->npend);
    size_t have = b->npend;
    for (;;) {
        long r = b->st->read(b->st->read_ctx, out + have, size - have);
        if (r < 0 || (size_t)r > size - have) {
            b->rfail = true;
            return 0;
        }
        have += (size_t)r;
        size_t i = 0;
        while (i < have) {
            if (out[i] < 0x80) {
                i++;
                continue;
            }
            size_t n = utf8_seq(out + i, have - i);
            if (!n)
                break;
            i += n;
        }
        if (i < have && (r == 0 || have - i >= sizeof(b->pend) || !utf8_prefix(out + i, have - i))) {
            b->rfail = true;
            return 0;
        }
        b->npend = have - i;
        memcpy(b->pend, out + i, b->npend);
        if (i > 0 || r == 0) {
            *got = i;
            return 1;
        }
        memmove(out, b->pend, b->npend); /* only a cut character so far: read on */
        have = b->npend;
    }
}

static int yb_next(yb *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->parser, ev))
        return 0;
    const char *what = b->parser.problem ? b->parser.problem : "syntax error";
    yaml_mark_t m = b->parser.problem_mark;
    /* a reader error (bad encoding, a control character) has no mark,
     * only the byte offset */
    if (b->parser.error == YAML_READER_ERROR)
        m = mark_at(b, b->parser.problem_offset);
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
    if (b->st && n->line > b->st->shift_from)
        n->line += b->st->shift_by;
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

/* The root mapping n has reached its key 'products' with a sequence
 * value: asks the hooks whether to stream its items, showing them the
 * pairs before it (pushed since base). Sets *rc on ENOMEM. */
static bool yb_stream_begin(yb *b, const yn *n, size_t base, const yn *key, int *rc)
{
    size_t pairs = (b->top - base) / 2;
    yn **kv = malloc((pairs ? pairs : 1) * 2 * sizeof(yn *));
    if (!kv) {
        *rc = CPQD_ENOMEM;
        return true;
    }
    for (size_t i = 0; i < pairs; i++) {
        kv[i] = b->stack[base + 2 * i];
        kv[pairs + i] = b->stack[base + 2 * i + 1];
    }
    yn before = *n;
    before.n = (unsigned)pairs;
    before.keys = kv;
    before.vals = kv + pairs;
    bool on = b->st->begin(b->st->ctx, &before, key);
    free(kv);
    b->streamed = on;
    return on;
}

/* The items of the sequence that ev starts, each parsed into the scratch
 * arena, handed to the item hook and dropped; *out is a sequence node
 * with their count and no items. */
static int yb_stream_items(yb *b, yaml_event_t *ev, yn **out)
{
    yn *seq = yn_node(b, YN_SEQ, ev->start_mark);
    if (!seq)
        return CPQD_ENOMEM;
    *out = seq;
    arena *keep = b->a;
    size_t count = 0;
    for (;;) {
        yaml_event_t it;
        if (yb_next(b, &it))
            return b->rc;
        if (it.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&it);
            break;
        }
        yn *item = NULL;
        b->a = b->scratch;
        int rc = yb_node(b, &it, 2, &item);
        b->a = keep;
        yaml_event_delete(&it);
        if (!rc && !b->rc)
            rc = b->st->item(b->st->ctx, item);
        arena_reset(b->scratch);
        if (rc || b->rc)
            return rc ? rc : b->rc;
        count++;
    }
    seq->n = count > UINT32_MAX ? UINT32_MAX : (unsigned)count;
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
            if (depth == 0 && b->st && !b->streamed && ev.type == YAML_SEQUENCE_START_EVENT &&
                !ev.data.sequence_start.anchor && key->type == YN_SCALAR &&
                strcmp(key->str, "products") == 0 && !yb_dup_key(b, base, key) &&
                yb_stream_begin(b, n, base, key, &rc))
                rc = rc ? rc : yb_stream_items(b, &ev, &val);
            else
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

#define YB_MAX_ENCODING_ERRORS 20

/* Reports every byte sequence of the text that is not UTF-8 at its own
 * line and column (libyaml would stop at the first one with no position),
 * at most YB_MAX_ENCODING_ERRORS. Returns how many there were. */
static size_t utf8_scan(yb *b)
{
    const unsigned char *s = (const unsigned char *)b->buf;
    size_t bad = 0;
    for (size_t i = 0; i < b->len;) {
        size_t n = utf8_seq(s + i, b->len - i);
        if (n) {
            i += n;
            continue;
        }
        /* one error per broken sequence: its first byte and the
         * continuation bytes that follow it */
        size_t end = i + 1;
        while (end < b->len && end < i + 4 && (s[end] & 0xC0) == 0x80)
            end++;
        if (++bad <= YB_MAX_ENCODING_ERRORS) {
            char detail[96];
            int at = snprintf(detail, sizeof(detail), "byte%s", end - i > 1 ? "s" : "");
            for (size_t k = i; k < end; k++)
                at += snprintf(detail + at, sizeof(detail) - (size_t)at, " 0x%02X", s[k]);
            snprintf(detail + at, sizeof(detail) - (size_t)at, "%s",
                     bad == YB_MAX_ENCODING_ERRORS ? " (and maybe more: stopped looking)" : "");
            yb_err(b, mark_at(b, i), "invalid UTF-8 (catalog files are UTF-8 text)", detail);
        }
        i = end;
    }
    return bad;
}

int yn_parse(arena *a, const char *file, const char *buf, size_t len, cpqd_errs *errs,
             yn **root)
{
    return yn_parse_stream(a, file, buf, len, errs, NULL, root);
}

int yn_parse_stream(arena *a, const char *file, const char *buf, size_t len, cpqd_errs *errs,
                    const yn_stream *st, yn **root)
{
    yb b = {.a = a, .file = file, .buf = buf, .len = len, .errs = errs, .st = st};
    if (st && !(b.scratch = arena_new(64 << 10)))
        return CPQD_ENOMEM;
    *root = NULL;
    bool reading = !buf && st && st->read;
    if (!reading && utf8_scan(&b)) {
        arena_free(b.scratch);
        return b.rc;
    }
    if (!yaml_parser_initialize(&b.parser)) {
        arena_free(b.scratch);
        return CPQD_ENOMEM;
    }
    if (reading)
        yaml_parser_set_input(&b.parser, yb_read, &b);
    else
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
        if (node && docs == 1 && !*root && st && st->items_root) {
            if (t == YAML_SEQUENCE_START_EVENT && !ev.data.sequence_start.anchor) {
                b.streamed = true;
                rc = yb_stream_items(&b, &ev, root);
            } else {
                yb_err(&b, ev.start_mark, "not a sequence of products", NULL);
                rc = CPQD_EINVAL;
            }
        } else if (node && docs == 1 && !*root) {
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
    arena_free(b.scratch);
    if (b.rfail)
        return rc == CPQD_ENOMEM ? rc : CPQD_EINVAL;
    if (rc == CPQD_ENOMEM)
        return rc;
    return b.rc ? b.rc : rc;
}
