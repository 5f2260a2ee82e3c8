/*
 * Executable documentation: every request/response example of README.md
 * and the pages of docs/ runs against the real binary on the sample
 * catalogs (catalogs/, rules/), and every `$ cpqd ...` line of a console
 * block runs with the build's binary; a page whose examples drift from
 * the behaviour fails. One cmocka test per page (so tests/run-tests.sh
 * counts them), one fresh server per page (its own temporary --db,
 * --clock 2026-12-01 unless the page says otherwise), examples in page
 * order.
 *
 * The format (docs/README.md, "Examples that run"):
 *
 *   ```http                         a request: METHOD /path, headers,
 *   POST /v1/price                  a blank line, the body. <admin>,
 *   Authorization: Bearer <rep>     <rep>, <manager>, <crm> and
 *                                   <partner:ID> stand for keys made
 *   {"customer": ...}               with `cpqd key new` for that role
 *   ```
 *   ```json status=200 [partial]    the response (the next fenced block):
 *   {"total": "{{total}}", ...}     the status and the body, compared as
 *   ```                             JSON (member order aside); `partial`
 *                                   allows extra members
 *
 * In an expected body the string "{{_}}" matches any value; "{{name}}"
 * matches any value and captures it (a string as it is, anything else as
 * compact JSON); inside a longer string, {{_}} matches any text, a
 * captured {{name}} its value and a new {{name}} captures the text it
 * covers; "{{...}}" as the last element of an array matches any further
 * elements. A later request (or command) of the page gets {{name}}
 * replaced by its capture. `<!-- example-clock: YYYY-MM-DD -->` sets the
 * page's --clock. A console block (```console [exit=N]) holds `$ cpqd
 * ...` lines, each followed by what it prints (stdout, then stderr);
 * commands run in a scratch directory that links catalogs/, rules/,
 * tests/ and docs/, and all but the last must exit 0 (the last N,
 * default 0). Any other info string (text, jsonc, yaml, sh, ...) is not
 * run; a plain ```json block is an error (a response needs its status, a
 * fragment is jsonc).
 *
 * On a mismatch the report names the page and line, the first
 * difference as a JSON path, the expected and the actual body.
 * tests/data/docs/ holds fixture pages that check the runner itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <ctype.h>
#include <glob.h>
#include <jansson.h>

/* ---- a growing string ---- */

typedef struct dx_buf {
    char *s;
    size_t len, cap;
} dx_buf;

static void dx_put(dx_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns)
            abort();
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void dx_printf(dx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dx_printf(dx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        abort();
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dx_put(b, tmp, (size_t)n);
    free(tmp);
}

static const char *dx_str(const dx_buf *b)
{
    return b->s ? b->s : "";
}

static void dx_buf_fini(dx_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

/* ---- captures ---- */

typedef struct dx_caps {
    char **name, **value;
    size_t n, cap;
} dx_caps;

static const char *dx_caps_get(const dx_caps *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->name[i]) == len && memcmp(c->name[i], name, len) == 0)
            return c->value[i];
    return NULL;
}

/* Binds name to value (replacing an earlier binding). */
static void dx_caps_set(dx_caps *c, const char *name, size_t len, const char *value, size_t vlen)
{
    char *v = strndup(value, vlen);
    if (!v)
        abort();
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->name[i]) == len && memcmp(c->name[i], name, len) == 0) {
            free(c->value[i]);
            c->value[i] = v;
            return;
        }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->name = realloc(c->name, c->cap * sizeof(char *));
        c->value = realloc(c->value, c->cap * sizeof(char *));
        if (!c->name || !c->value)
            abort();
    }
    c->name[c->n] = strndup(name, len);
    c->value[c->n++] = v;
}

/* Drops the bindings made after the first n. */
static void dx_caps_truncate(dx_caps *c, size_t n)
{
    while (c->n > n) {
        c->n--;
        free(c->name[c->n]);
        free(c->value[c->n]);
    }
}

static void dx_caps_fini(dx_caps *c)
{
    dx_caps_truncate(c, 0);
    free(c->name);
    free(c->value);
    memset(c, 0, sizeof(*c));
}

/* If p starts a placeholder "{{name}}" (name: letters, digits, '_'; or
 * "..."), returns the name's length and points *name at it; else 0. The
 * placeholder is the name's length + 4 bytes long. */
static size_t dx_placeholder(const char *p, const char **name)
{
    if (p[0] != '{' || p[1] != '{')
        return 0;
    size_t n = 0;
    while (isalnum((unsigned char)p[2 + n]) || p[2 + n] == '_')
        n++;
    if (n == 0 && strncmp(p + 2, "...", 3) == 0)
        n = 3;
    if (n == 0 || p[2 + n] != '}' || p[3 + n] != '}')
        return 0;
    *name = p + 2;
    return n;
}

static bool dx_is_any(const char *name, size_t n)
{
    return (n == 1 && name[0] == '_') || (n == 3 && !memcmp(name, "...", 3));
}

/* text with every {{name}} replaced by its capture (malloc'ed), or NULL
 * with the reason in *err when a name was never captured (or is {{_}}). */
static char *dx_subst(const char *text, const dx_caps *caps, dx_buf *err)
{
    dx_buf out = {0};
    dx_put(&out, "", 0);
    for (const char *p = text; *p;) {
        const char *name;
        size_t n = dx_placeholder(p, &name);
        if (!n) {
            dx_put(&out, p++, 1);
            continue;
        }
        const char *v = dx_is_any(name, n) ? NULL : dx_caps_get(caps, name, n);
        if (!v) {
            dx_printf(err, "{{%.*s}} is not a value captured earlier on the page", (int)n, name);
            dx_buf_fini(&out);
            return NULL;
        }
        dx_put(&out, v, strlen(v));
        p += n + 4;
    }
    return out.s;
}

/* Matches s (slen bytes) against pattern p: literal text, {{_}} (any
 * text), a captured {{name}} (its value) or a new one (captures the
 * shortest text that lets the rest match). New captures stay only if the
 * whole match succeeds. */
static bool dx_glob(const char *p, const char *s, size_t slen, dx_caps *caps)
{
    for (;;) {
        const char *name;
        size_t n = dx_placeholder(p, &name);
        if (!n) {
            if (*p == '\0')
                return slen == 0;
            if (slen == 0 || *p != *s)
                return false;
            p++, s++, slen--;
            continue;
        }
        const char *rest = p + n + 4;
        if (dx_is_any(name, n)) {
            for (size_t k = 0; k <= slen; k++)
                if (dx_glob(rest, s + k, slen - k, caps))
                    return true;
            return false;
        }
        const char *v = dx_caps_get(caps, name, n);
        if (v) {
            size_t vl = strlen(v);
            if (vl > slen || memcmp(v, s, vl) != 0)
                return false;
            p = rest, s += vl, slen -= vl;
            continue;
        }
        size_t mark = caps->n;
        for (size_t k = 0; k <= slen; k++) {
            dx_caps_set(caps, name, n, s, k);
            if (dx_glob(rest, s + k, slen - k, caps))
                return true;
            dx_caps_truncate(caps, mark);
        }
        return false;
    }
}

/* ---- comparing JSON ---- */

/* Compact JSON of v, cut to about 160 bytes (malloc'ed). */
static char *dx_brief(const json_t *v)
{
    if (!v)
        return strdup("nothing");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 160)
        strcpy(s + 150, " ...");
    return s ? s : strdup("?");
}

static const char *dx_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static void dx_path_key(dx_buf *path, const char *key)
{
    bool plain = *key != '\0';
    for (const char *k = key; *k; k++)
        plain = plain && (isalnum((unsigned char)*k) || *k == '_');
    if (plain)
        dx_printf(path, ".%s", key);
    else
        dx_printf(path, "[\"%s\"]", key);
}

static void dx_path_cut(dx_buf *path, size_t at)
{
    path->len = at;
    path->s[at] = '\0';
}

static bool dx_differ(const dx_buf *path, dx_buf *why, const json_t *exp, const json_t *act)
{
    char *e = dx_brief(exp), *a = dx_brief(act);
    dx_printf(why, "at %s: expected %s, got %s", dx_str(path), e, a);
    free(e);
    free(a);
    return false;
}

static bool dx_match_at(const json_t *exp, const json_t *act, bool partial, dx_caps *caps,
                        dx_buf *path, dx_buf *why);

static bool dx_match_string(const json_t *exp, const json_t *act, dx_caps *caps, const dx_buf *path,
                            dx_buf *why)
{
    const char *e = json_string_value(exp), *name;
    size_t n = dx_placeholder(e, &name);
    if (n && e[n + 4] == '\0') { /* the whole value */
        if (!dx_is_any(name, n)) {
            char *v = json_is_string(act) ? strdup(json_string_value(act))
                                          : json_dumps(act, JSON_COMPACT | JSON_ENCODE_ANY);
            dx_caps_set(caps, name, n, v, strlen(v));
            free(v);
        }
        return true;
    }
    if (!json_is_string(act))
        return dx_differ(path, why, exp, act);
    if (strstr(e, "{{") ? dx_glob(e, json_string_value(act), json_string_length(act), caps)
                        : json_equal((json_t *)exp, (json_t *)act))
        return true;
    return dx_differ(path, why, exp, act);
}

static bool dx_match_object(const json_t *exp, const json_t *act, bool partial, dx_caps *caps,
                            dx_buf *path, dx_buf *why)
{
    size_t at = path->len;
    const char *key;
    json_t *ev, *av;
    json_object_foreach((json_t *)exp, key, ev)
    {
        av = json_object_get(act, key);
        dx_path_key(path, key);
        if (!av) {
            dx_printf(why, "at %s: expected %s, the member is missing", dx_str(path), dx_type(ev));
            return false;
        }
        if (!dx_match_at(ev, av, partial, caps, path, why))
            return false;
        dx_path_cut(path, at);
    }
    if (partial)
        return true;
    json_object_foreach((json_t *)act, key, av)
    {
        if (json_object_get(exp, key))
            continue;
        dx_path_key(path, key);
        char *a = dx_brief(av);
        dx_printf(why, "at %s: unexpected member %s (not in the doc; `partial` allows it)",
                  dx_str(path), a);
        free(a);
        return false;
    }
    return true;
}

static bool dx_match_array(const json_t *exp, const json_t *act, bool partial, dx_caps *caps,
                           dx_buf *path, dx_buf *why)
{
    size_t ne = json_array_size(exp), na = json_array_size(act), at = path->len;
    const char *last = ne ? json_string_value(json_array_get(exp, ne - 1)) : NULL;
    bool more = last && strcmp(last, "{{...}}") == 0;
    if (more)
        ne--;
    for (size_t i = 0; i < ne && i < na; i++) {
        dx_printf(path, "[%zu]", i);
        if (!dx_match_at(json_array_get(exp, i), json_array_get(act, i), partial, caps, path, why))
            return false;
        dx_path_cut(path, at);
    }
    if (na == ne || (more && na > ne))
        return true;
    dx_printf(why, "at %s: expected %s%zu elements, got %zu", dx_str(path), more ? "at least " : "",
              ne, na);
    if (na > ne) {
        char *a = dx_brief(json_array_get(act, ne));
        dx_printf(why, " (the next one: %s)", a);
        free(a);
    }
    return false;
}

static bool dx_match_at(const json_t *exp, const json_t *act, bool partial, dx_caps *caps,
                        dx_buf *path, dx_buf *why)
{
    if (json_is_string(exp))
        return dx_match_string(exp, act, caps, path, why);
    if (json_typeof(exp) != json_typeof(act))
        return dx_differ(path, why, exp, act);
    if (json_is_object(exp))
        return dx_match_object(exp, act, partial, caps, path, why);
    if (json_is_array(exp))
        return dx_match_array(exp, act, partial, caps, path, why);
    return json_equal((json_t *)exp, (json_t *)act) ? true : dx_differ(path, why, exp, act);
}

/* Matches the actual body against the expected one (rules at the top of
 * the file). Returns true, or false with the first difference, as "at
 * $.path: ...", appended to *why. Captures are made along the way. */
static bool dx_match(const json_t *exp, const json_t *act, bool partial, dx_caps *caps, dx_buf *why)
{
    dx_buf path = {0};
    dx_put(&path, "$", 1);
    bool ok = dx_match_at(exp, act, partial, caps, &path, why);
    dx_buf_fini(&path);
    return ok;
}

/* ---- pages ---- */

typedef struct dx_block {
    int line;   /* of the opening fence, 1-based */
    char *info; /* the info string, trimmed */
    char *text; /* the content, each line ending in '\n' */
} dx_block;

typedef struct dx_page {
    const char *rel; /* the page, relative to the repository */
    char clock[11];  /* --clock */
    dx_block *b;
    size_t n, cap;
} dx_page;

static void dx_page_fini(dx_page *pg)
{
    for (size_t i = 0; i < pg->n; i++) {
        free(pg->b[i].info);
        free(pg->b[i].text);
    }
    free(pg->b);
    memset(pg, 0, sizeof(*pg));
}

static char *dx_trim(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static bool dx_valid_date(const char *s)
{
    int y, m, d;
    char tail;
    return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && m >= 1 &&
           m <= 12 && d >= 1 && d <= 31;
}

/* An HTML comment line setting the page's clock; a bad date goes to
 * *errs. */
static void dx_clock_line(dx_page *pg, const char *line, size_t len, int no, dx_buf *errs)
{
    static const char tag[] = "<!-- example-clock:";
    if (len < sizeof(tag) - 1 || strncmp(line, tag, sizeof(tag) - 1) != 0)
        return;
    char *v = dx_trim(line + sizeof(tag) - 1, len - (sizeof(tag) - 1));
    size_t vl = strlen(v);
    if (vl >= 3 && strcmp(v + vl - 3, "-->") == 0)
        v[vl - 3] = '\0';
    char *d = dx_trim(v, strlen(v));
    if (!dx_valid_date(d))
        dx_printf(errs, "%s:%d: example-clock needs a date YYYY-MM-DD, not '%s'\n", pg->rel, no, d);
    else
        snprintf(pg->clock, sizeof(pg->clock), "%s", d);
    free(v);
    free(d);
}

/* The number of backticks of a fence line (0 if it is none), its indent
 * in *indent. */
static size_t dx_fence(const char *line, size_t len, size_t *indent)
{
    size_t i = 0, n = 0;
    while (i < len && line[i] == ' ')
        i++;
    while (i + n < len && line[i + n] == '`')
        n++;
    *indent = i;
    return n >= 3 ? n : 0;
}

static dx_block *dx_page_add(dx_page *pg, int line, char *info)
{
    if (pg->n == pg->cap) {
        pg->cap = pg->cap ? pg->cap * 2 : 32;
        pg->b = realloc(pg->b, pg->cap * sizeof(*pg->b));
        if (!pg->b)
            abort();
    }
    pg->b[pg->n] = (dx_block){.line = line, .info = info};
    return &pg->b[pg->n++];
}

/* Reads the page's fenced blocks and its clock. Problems (an unclosed
 * fence, a bad clock) are appended to *errs. Returns 0, or -1 if the
 * file cannot be read. */
static int dx_page_load(const char *rel, dx_page *pg, dx_buf *errs)
{
    memset(pg, 0, sizeof(*pg));
    pg->rel = rel;
    snprintf(pg->clock, sizeof(pg->clock), "%s", TU_TODAY);
    char *path = tu_path(rel);
    char *text = tu_read_file(path, NULL);
    free(path);
    if (!text) {
        dx_printf(errs, "%s: cannot read the page\n", rel);
        return -1;
    }
    dx_block *open = NULL;
    size_t open_ticks = 0, open_indent = 0;
    dx_buf body = {0};
    int no = 0;
    for (const char *l = text; *l;) {
        size_t len = strcspn(l, "\n"), indent;
        no++;
        size_t ticks = dx_fence(l, len, &indent);
        if (open && ticks >= open_ticks && indent + ticks == len) {
            open->text = body.s ? body.s : strdup("");
            memset(&body, 0, sizeof(body));
            open = NULL;
        } else if (open) {
            size_t cut = 0;
            while (cut < open_indent && cut < len && l[cut] == ' ')
                cut++;
            dx_put(&body, l + cut, len - cut);
            dx_put(&body, "\n", 1);
        } else if (ticks) {
            open = dx_page_add(pg, no, dx_trim(l + indent + ticks, len - indent - ticks));
            open_ticks = ticks;
            open_indent = indent;
        } else {
            dx_clock_line(pg, l, len, no, errs);
        }
        l += len + (l[len] == '\n');
    }
    if (open) {
        dx_printf(errs, "%s:%d: the fenced block is never closed\n", rel, open->line);
        open->text = body.s ? body.s : strdup("");
    }
    free(text);
    return 0;
}

/* Whether the info string's first word is word. */
static bool dx_info_is(const char *info, const char *word)
{
    size_t n = strlen(word);
    return strncmp(info, word, n) == 0 && (info[n] == '\0' || isspace((unsigned char)info[n]));
}

/* The value of "key=N" in an info string, or dflt. */
static int dx_info_int(const char *info, const char *key, int dflt)
{
    size_t n = strlen(key);
    for (const char *p = strstr(info, key); p; p = strstr(p + 1, key))
        if ((p == info || isspace((unsigned char)p[-1])) && p[n] == '=')
            return atoi(p + n + 1);
    return dflt;
}

static bool dx_info_has(const char *info, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(info, word); p; p = strstr(p + 1, word))
        if ((p == info || isspace((unsigned char)p[-1])) &&
            (p[n] == '\0' || isspace((unsigned char)p[n])))
            return true;
    return false;
}

/* ---- the keys of the roles ---- */

typedef struct dx_keys {
    char *dir, *file; /* a temporary directory and the key file in it */
    char **label, **key;
    size_t n;
} dx_keys;

static dx_keys keys; /* made in the group setup, extended per page */

/* The key for "admin", "rep", "manager", "crm" or "partner:ID", made with
 * `cpqd key new` the first time; NULL (reason in *err) for another label. */
static const char *dx_key_for(const char *label, size_t len, dx_buf *err)
{
    for (size_t i = 0; i < keys.n; i++)
        if (strlen(keys.label[i]) == len && !memcmp(keys.label[i], label, len))
            return keys.key[i];
    static const char *const roles[] = {"admin", "rep", "manager", "crm"};
    char role[16] = "", partner[80] = "";
    for (size_t i = 0; i < 4; i++)
        if (strlen(roles[i]) == len && !memcmp(roles[i], label, len))
            snprintf(role, sizeof(role), "%s", roles[i]);
    if (len > 8 && len < 8 + sizeof(partner) && !memcmp(label, "partner:", 8)) {
        snprintf(role, sizeof(role), "partner");
        snprintf(partner, sizeof(partner), "%.*s", (int)(len - 8), label + 8);
    }
    if (!*role) {
        dx_printf(err, "<%.*s> is not a key (admin, rep, manager, crm, partner:ID)", (int)len,
                  label);
        return NULL;
    }
    char *name = tu_fmt("docs %.*s", (int)len, label);
    const char *argv[] = {"key", "new", "--keys", keys.file, "--role", role, "--name", name,
                          *partner ? "--partner" : NULL, partner, NULL};
    char *out = NULL, *errtext = NULL;
    int st = tu_run(argv, &out, &errtext);
    free(name);
    size_t kl = out ? strcspn(out, "\n") : 0;
    if (st != 0 || kl < 10) {
        dx_printf(err, "cpqd key new for <%.*s> failed (%d): %s", (int)len, label, st,
                  errtext ? errtext : "");
        free(out);
        free(errtext);
        return NULL;
    }
    free(errtext);
    out[kl] = '\0';
    keys.label = realloc(keys.label, (keys.n + 1) * sizeof(char *));
    keys.key = realloc(keys.key, (keys.n + 1) * sizeof(char *));
    if (!keys.label || !keys.key)
        abort();
    keys.label[keys.n] = strndup(label, len);
    keys.key[keys.n++] = out;
    return out;
}

/* Replaces each <label> of a header line by its key. */
static char *dx_keys_subst(const char *line, dx_buf *err)
{
    dx_buf out = {0};
    dx_put(&out, "", 0);
    for (const char *p = line; *p;) {
        const char *end = *p == '<' ? strchr(p, '>') : NULL;
        if (!end) {
            dx_put(&out, p++, 1);
            continue;
        }
        const char *k = dx_key_for(p + 1, (size_t)(end - p - 1), err);
        if (!k) {
            dx_buf_fini(&out);
            return NULL;
        }
        dx_put(&out, k, strlen(k));
        p = end + 1;
    }
    return out.s;
}

/* ---- running a page ---- */

typedef struct dx_run {
    dx_page pg;
    dx_caps caps;
    tu_server srv;
    char *tmp;     /* the page's scratch directory: db, log, console work dir */
    int examples;  /* run */
    int failures;  /* examples that failed, and page errors */
    dx_buf report; /* what went wrong, for people */
} dx_run;

static void dx_fail(dx_run *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dx_fail(dx_run *r, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dx_printf(&r->report, "%s:%d: %s\n", r->pg.rel, line, msg);
    r->failures++;
}

static void dx_indent(dx_buf *out, const char *text)
{
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        dx_printf(out, "    %.*s\n", (int)n, l);
        l += n + (l[n] == '\n');
    }
}

/* The parts of an http block after substitutions. */
typedef struct dx_req {
    char method[16];
    char *path, *headers, *body; /* headers as "Name: value\r\n"..., body NULL if none */
} dx_req;

static void dx_req_fini(dx_req *q)
{
    free(q->path);
    free(q->headers);
    free(q->body);
    memset(q, 0, sizeof(*q));
}

/* Parses an http block (captures already substituted) into *q. Returns
 * 0, or -1 with the reason in *err. */
static int dx_req_parse(const char *text, dx_req *q, dx_buf *err)
{
    memset(q, 0, sizeof(*q));
    while (*text == '\n')
        text++;
    size_t n = strcspn(text, "\n");
    char path[2048];
    if (n >= sizeof(path) || sscanf(text, "%15s %2047s", q->method, path) != 2 || path[0] != '/') {
        dx_printf(err, "the first line must be METHOD /path, not '%.*s'", (int)n, text);
        return -1;
    }
    q->path = strdup(path);
    dx_buf h = {0};
    dx_put(&h, "", 0);
    const char *l = text + n + (text[n] == '\n');
    while (*l && *l != '\n') {
        size_t ln = strcspn(l, "\n");
        char *line = strndup(l, ln), *sub = NULL;
        if (!strchr(line, ':'))
            dx_printf(err, "'%s' is not a header (Name: value); a blank line goes before the body",
                      line);
        else if ((sub = dx_keys_subst(line, err)))
            dx_printf(&h, "%s\r\n", sub);
        free(line);
        if (!sub) {
            dx_buf_fini(&h);
            return -1;
        }
        free(sub);
        l += ln + (l[ln] == '\n');
    }
    q->headers = h.s;
    char *body = dx_trim(l, strlen(l));
    if (*body)
        q->body = body;
    else
        free(body);
    return 0;
}

static char *dx_pretty(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    return s ? s : strdup("?");
}

/* Reports an http example that did not answer as documented. */
static void dx_report_http(dx_run *r, const dx_block *exp, const dx_req *q, const char *why,
                           const json_t *e, const json_t *a, const tu_resp *resp, int line)
{
    int want = dx_info_int(exp->info, "status", 0);
    dx_fail(r, line, "%s %s does not answer as documented", q->method, q->path);
    dx_put(&r->report, why, strlen(why));
    char *es = dx_pretty(e), *as = a ? dx_pretty(a) : NULL;
    dx_printf(&r->report, "  expected (%s:%d, status=%d%s):\n", r->pg.rel, exp->line, want,
              dx_info_has(exp->info, "partial") ? ", partial" : "");
    dx_indent(&r->report, es);
    dx_printf(&r->report, "  actual (status %d):\n", resp->status);
    dx_indent(&r->report, as ? as : (resp->body ? resp->body : ""));
    free(es);
    free(as);
}

/* Runs one http example (blocks req and exp) and compares. */
static void dx_run_http(dx_run *r, const dx_block *req, const dx_block *exp)
{
    dx_buf err = {0};
    dx_req q;
    char *text = dx_subst(req->text, &r->caps, &err);
    r->examples++;
    if (!text || dx_req_parse(text, &q, &err) != 0) {
        dx_fail(r, req->line, "%s", dx_str(&err));
        free(text);
        dx_buf_fini(&err);
        return;
    }
    free(text);
    int want = dx_info_int(exp->info, "status", 0);
    json_error_t je;
    json_t *e = json_loads(exp->text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je), *a = NULL;
    tu_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (!e) {
        dx_fail(r, exp->line + je.line, "the expected response is not JSON: %s", je.text);
    } else if (tu_http(r->srv.port, q.method, q.path, q.headers, q.body,
                       q.body ? strlen(q.body) : 0, &resp) != 0) {
        dx_fail(r, req->line, "%s %s: no complete response from the server", q.method, q.path);
    } else {
        a = json_loadb(resp.body ? resp.body : "", resp.body_len, JSON_DECODE_ANY, &je);
        if (resp.status != want)
            dx_printf(&err, "  status: expected %d, got %d\n", want, resp.status);
        dx_buf why = {0};
        if (!a)
            dx_printf(&err, "  the response is not JSON\n");
        else if (!dx_match(e, a, dx_info_has(exp->info, "partial"), &r->caps, &why))
            dx_printf(&err, "  %s\n", dx_str(&why));
        dx_buf_fini(&why);
        if (err.len)
            dx_report_http(r, exp, &q, err.s, e, a, &resp, req->line);
    }
    json_decref(e);
    json_decref(a);
    tu_resp_free(&resp);
    dx_req_fini(&q);
    dx_buf_fini(&err);
}

/* ---- console blocks ---- */

static void dx_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Splits a command line as sh would for plain words, '...' and "..."
 * (\" \\ \$ \` escapes) and backslash escapes; anything that needs a
 * shell (pipes, redirections, $, `...`, ;, &, globs, comments) is
 * refused. Returns a NULL-ended argv (malloc'ed), or NULL with the reason
 * in *err. */
static char **dx_words(const char *s, dx_buf *err)
{
    char **argv = calloc(strlen(s) / 2 + 2, sizeof(char *));
    size_t argc = 0;
    dx_buf w = {0};
    bool in_word = false;
    for (const char *p = s;; p++) {
        if (*p == '\0' || *p == ' ' || *p == '\t') {
            if (in_word)
                argv[argc++] = w.s ? w.s : strdup("");
            memset(&w, 0, sizeof(w));
            in_word = false;
            if (*p == '\0')
                break;
            continue;
        }
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                goto unclosed;
            dx_put(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (*p == '"') {
            dx_put(&w, "", 0);
            for (p++; *p && *p != '"'; p++) {
                if (*p == '$' || *p == '`')
                    goto shell;
                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                    p++;
                dx_put(&w, p, 1);
            }
            if (!*p)
                goto unclosed;
        } else if (*p == '\\' && p[1]) {
            dx_put(&w, ++p, 1);
        } else if (strchr("|&;<>()$`*?[", *p) || (*p == '#' && !in_word)) {
            goto shell;
        } else {
            dx_put(&w, p, 1);
        }
        in_word = true;
    }
    return argv;
shell:
    dx_printf(err, "'%s' needs a shell: only plain cpqd commands run", s);
    goto fail;
unclosed:
    dx_printf(err, "'%s' has an unclosed quote", s);
fail:
    dx_buf_fini(&w);
    dx_argv_free(argv);
    return NULL;
}

/* Runs the build's cpqd with args (argv[1..]) in dir; *out gets stdout
 * then stderr. Returns the exit status, or -1 (not finished in time). */
static int dx_exec(const char *dir, char *const *argv, dx_buf *out)
{
    char *po = tu_fmt("%s/.stdout", dir), *pe = tu_fmt("%s/.stderr", dir);
    char *bin = realpath(tu_bin(), NULL); /* the child changes directory */
    size_t n = 0;
    while (argv[n])
        n++;
    char **av = calloc(n + 1, sizeof(char *));
    memcpy(av, argv, n * sizeof(char *));
    av[0] = bin;
    pid_t pid = bin ? fork() : -1;
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || chdir(dir) != 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(av[0], av);
        _exit(127);
    }
    int st = pid > 0 ? tu_wait_exit(pid, TU_WAIT_MS) : -1;
    if (st < 0 && pid > 0) {
        kill(pid, SIGKILL);
        tu_wait_exit(pid, TU_WAIT_MS);
    }
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *t = tu_read_file(i ? pe : po, &len);
        if (t)
            dx_put(out, t, len);
        free(t);
        unlink(i ? pe : po);
    }
    free(av);
    free(bin);
    free(po);
    free(pe);
    return st;
}

/* One `$ cpqd ...` command of a console block: runs it and compares its
 * output with want (the rules of strings in a response) and its exit
 * status with status. */
static void dx_run_command(dx_run *r, int line, const char *cmd, const char *want, int status)
{
    dx_buf err = {0}, out = {0};
    dx_put(&out, "", 0);
    char *text = dx_subst(cmd, &r->caps, &err);
    char **argv = text ? dx_words(text, &err) : NULL;
    r->examples++;
    if (argv && (!argv[0] || strcmp(argv[0], "cpqd") != 0))
        dx_printf(&err, "'%s': only cpqd commands run (or give the block another info string)",
                  text);
    if (err.len) {
        dx_fail(r, line, "%s", dx_str(&err));
    } else {
        int st = dx_exec(r->tmp, argv, &out);
        if (st != status || !dx_glob(want, out.s, out.len, &r->caps)) {
            dx_fail(r, line, "$ %s does not print as documented", text);
            if (st != status)
                dx_printf(&r->report, "  exit status: expected %d, got %d\n", status, st);
            dx_printf(&r->report, "  expected:\n");
            dx_indent(&r->report, want);
            dx_printf(&r->report, "  actual:\n");
            dx_indent(&r->report, out.s);
        }
    }
    dx_argv_free(argv);
    free(text);
    dx_buf_fini(&out);
    dx_buf_fini(&err);
}

/* Runs every command of a console block, in order. */
static void dx_run_console(dx_run *r, const dx_block *b)
{
    int exit_last = dx_info_int(b->info, "exit", 0);
    const char *l = b->text;
    int no = b->line + 1;
    if (strncmp(l, "$ ", 2) != 0) {
        dx_fail(r, no, "a console block starts with a '$ ' command line");
        return;
    }
    while (*l) {
        int cmd_line = no;
        dx_buf cmd = {0}, want = {0};
        dx_put(&want, "", 0);
        l += 2;
        for (;;) { /* the command, with its continuation lines */
            size_t n = strcspn(l, "\n");
            bool cont = n && l[n - 1] == '\\';
            dx_put(&cmd, l, cont ? n - 1 : n);
            l += n + (l[n] == '\n');
            no++;
            if (!cont || !*l)
                break;
        }
        while (*l && strncmp(l, "$ ", 2) != 0) { /* its output */
            size_t n = strcspn(l, "\n");
            dx_put(&want, l, n);
            dx_put(&want, "\n", 1);
            l += n + (l[n] == '\n');
            no++;
        }
        dx_run_command(r, cmd_line, cmd.s, want.s, *l ? 0 : exit_last);
        dx_buf_fini(&cmd);
        dx_buf_fini(&want);
    }
}

/* ---- the page ---- */

static const char *const dx_links[] = {"catalogs", "rules", "tests", "docs"};

/* Makes the page's scratch directory, with links to the repository's
 * catalogs, rules, tests and docs for console commands. */
static void dx_scratch(dx_run *r)
{
    r->tmp = tu_tmpdir();
    for (size_t i = 0; i < sizeof(dx_links) / sizeof(dx_links[0]); i++) {
        char *from = tu_path(dx_links[i]), *to = tu_fmt("%s/%s", r->tmp, dx_links[i]);
        char *abs = realpath(from, NULL);
        if (!abs || symlink(abs, to) != 0)
            dx_fail(r, 0, "cannot link %s into %s", from, r->tmp);
        free(abs);
        free(from);
        free(to);
    }
}

/* Removes the scratch directory. The links go first: tu_rm_tree follows
 * links to directories, and must never reach the repository. */
static void dx_scratch_remove(const char *tmp)
{
    for (size_t i = 0; i < sizeof(dx_links) / sizeof(dx_links[0]); i++) {
        char *to = tu_fmt("%s/%s", tmp, dx_links[i]);
        struct stat st;
        if (lstat(to, &st) == 0 && S_ISLNK(st.st_mode))
            unlink(to);
        free(to);
    }
    DIR *d = opendir(tmp);
    struct dirent *e;
    bool links = false;
    while (d && (e = readdir(d))) { /* a link a command made: leave the tree */
        char *p = tu_fmt("%s/%s", tmp, e->d_name);
        struct stat st;
        links = links || (lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
        free(p);
    }
    if (d)
        closedir(d);
    if (!links)
        tu_rm_tree(tmp);
}

/* The server runs from the repository on catalogs/ and rules/ given
 * relatively (main changes to the repository), so that the catalog files
 * named in responses read as in the docs: "catalogs/appliances.yaml". */
static int dx_server_start(dx_run *r)
{
    const char *cats = "catalogs", *rules = "rules";
    char *db = tu_fmt("%s/cpqd.db", r->tmp), *logp = tu_fmt("%s/cpqd.log", r->tmp);
    const char *args[] = {"--catalogs", cats,        "--rules", rules, "--threads",     "2",
                          "--keys",     keys.file,   "--db",    db,    "--sweep-every", "0",
                          "--clock",    r->pg.clock, NULL};
    int rc = tu_server_start(&r->srv, logp, args);
    if (rc != 0)
        dx_fail(r, 0, "the server did not start (log above)");
    free(db);
    free(logp);
    return rc;
}

/* Makes the keys the page's http blocks name in their headers, before
 * its server starts (the server reads the key file once). */
static void dx_page_keys(dx_run *r)
{
    for (size_t i = 0; i < r->pg.n; i++) {
        if (!dx_info_is(r->pg.b[i].info, "http"))
            continue;
        dx_buf err = {0};
        const char *text = r->pg.b[i].text;
        const char *blank = strstr(text + strspn(text, "\n"), "\n\n");
        for (const char *p = strchr(text, '<'); p && (!blank || p < blank);
             p = strchr(p + 1, '<')) {
            const char *end = strpbrk(p + 1, "<> \n");
            if (end && *end == '>' && !dx_key_for(p + 1, (size_t)(end - p - 1), &err)) {
                dx_fail(r, r->pg.b[i].line, "%s", dx_str(&err));
                dx_buf_fini(&err);
            }
        }
        dx_buf_fini(&err);
    }
}

/* Whether a block without an info string starts like an HTTP request. */
static bool dx_unmarked_request(const dx_block *b)
{
    static const char *const methods[] = {"GET /",   "POST /",   "PUT /",
                                          "PATCH /", "DELETE /", "HEAD /"};
    const char *t = b->text + strspn(b->text, "\n");
    for (size_t i = 0; !*b->info && i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strncmp(t, methods[i], strlen(methods[i])) == 0)
            return true;
    return false;
}

/* Checks how the blocks pair up: every http block is followed by a json
 * status= block, every such block follows one; a plain json block and a
 * request in a block without an info string are errors. Returns true if
 * the page can run. */
static bool dx_page_check(dx_run *r, bool *has_http)
{
    int before = r->failures;
    *has_http = false;
    for (size_t i = 0; i < r->pg.n; i++) {
        const dx_block *b = &r->pg.b[i];
        bool resp = dx_info_is(b->info, "json");
        if (dx_info_is(b->info, "http")) {
            *has_http = true;
            const dx_block *nb = i + 1 < r->pg.n ? &r->pg.b[i + 1] : NULL;
            if (!nb || !dx_info_is(nb->info, "json") || !dx_info_int(nb->info, "status", 0))
                dx_fail(r, b->line,
                        "an http block must be followed by its response, a "
                        "```json status=NNN block");
            else
                i++;
        } else if (resp && dx_info_int(b->info, "status", 0)) {
            dx_fail(r, b->line, "a response block without the http block of its request");
        } else if (resp) {
            dx_fail(r, b->line,
                    "a json block is a response (```json status=NNN after an http "
                    "block); a fragment is ```jsonc");
        } else if (dx_unmarked_request(b)) {
            dx_fail(r, b->line,
                    "a request in a block without an info string: make it an "
                    "```http example with its response, or ```text");
        }
    }
    return r->failures == before;
}

/* Runs every example of the page rel (relative to the repository) and
 * fills *r (r->report says what failed); dx_run_fini ends it. */
static void dx_page_run(const char *rel, dx_run *r)
{
    memset(r, 0, sizeof(*r));
    dx_buf errs = {0};
    int rc = dx_page_load(rel, &r->pg, &errs);
    if (errs.len) {
        dx_put(&r->report, errs.s, errs.len);
        r->failures++;
    }
    dx_buf_fini(&errs);
    bool has_http = false;
    if (rc != 0 || !dx_page_check(r, &has_http))
        return;
    dx_scratch(r);
    if (has_http)
        dx_page_keys(r);
    if (r->failures || (has_http && dx_server_start(r) != 0))
        return;
    for (size_t i = 0; i < r->pg.n; i++) {
        const dx_block *b = &r->pg.b[i];
        if (dx_info_is(b->info, "http"))
            dx_run_http(r, b, &r->pg.b[++i]);
        else if (dx_info_is(b->info, "console"))
            dx_run_console(r, b);
    }
}

/* Stops the page's server (a non-zero exit is a failure) and removes its
 * scratch directory; the report stays readable until dx_run_free. */
static void dx_run_stop(dx_run *r)
{
    if (r->srv.pid > 0) {
        int st = tu_server_stop(&r->srv);
        if (st != 0)
            dx_fail(r, 0, "the server exited with status %d (log above)", st);
    }
    if (r->tmp)
        dx_scratch_remove(r->tmp);
    free(r->tmp);
    r->tmp = NULL;
}

static void dx_run_free(dx_run *r)
{
    dx_run_stop(r);
    dx_caps_fini(&r->caps);
    dx_page_fini(&r->pg);
    dx_buf_fini(&r->report);
}

/* ---- the runner's own tests ---- */

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in the test: %s: %s", text, je.text);
    return v;
}

/* Matches and returns the reason ("" if it matched; static buffer). */
static const char *match_why(const char *exp, const char *act, bool partial, dx_caps *caps)
{
    static char why[1024];
    json_t *e = J(exp), *a = J(act);
    dx_buf w = {0};
    bool ok = dx_match(e, a, partial, caps, &w);
    snprintf(why, sizeof(why), "%s", ok ? "" : dx_str(&w));
    if (!ok && !w.len)
        snprintf(why, sizeof(why), "(no reason given)");
    dx_buf_fini(&w);
    json_decref(e);
    json_decref(a);
    return why;
}

static void test_docs_match_is_exact_unless_partial(void **state)
{
    (void)state;
    dx_caps c = {0};
    assert_string_equal(match_why("{\"a\":1,\"b\":[\"x\",true,null]}",
                                  "{\"b\":[\"x\",true,null],\"a\":1}", false, &c),
                        ""); /* member order does not matter */
    assert_string_equal(match_why("{\"a\":{\"b\":\"1.00\"}}", "{\"a\":{\"b\":\"1.0\"}}", false, &c),
                        "at $.a.b: expected \"1.00\", got \"1.0\"");
    assert_string_equal(match_why("{\"a\":1}", "{\"a\":1,\"z\":2}", false, &c),
                        "at $.z: unexpected member 2 (not in the doc; `partial` allows it)");
    assert_string_equal(match_why("{\"a\":1}", "{\"a\":1,\"z\":{\"q\":2}}", true, &c), "");
    /* partial applies at every depth, but not to array lengths */
    assert_string_equal(match_why("{\"l\":[{\"a\":1}]}", "{\"l\":[{\"a\":1,\"b\":2}]}", true, &c),
                        "");
    assert_string_equal(match_why("{\"l\":[{\"a\":1}]}", "{\"l\":[{\"a\":1},{\"a\":2}]}", true, &c),
                        "at $.l: expected 1 elements, got 2 (the next one: {\"a\":2})");
    assert_string_equal(match_why("{\"a\":1,\"b\":2}", "{\"a\":1}", true, &c),
                        "at $.b: expected an integer, the member is missing");
    assert_string_equal(match_why("[1,\"2\"]", "[1,2]", false, &c),
                        "at $[1]: expected \"2\", got 2");
    assert_string_equal(match_why("{\"a b\":1}", "{\"a b\":1.0}", false, &c),
                        "at $[\"a b\"]: expected 1, got 1.0");
    assert_string_equal(match_why("null", "false", false, &c), "at $: expected null, got false");
    dx_caps_fini(&c);
}

static void test_docs_captures_and_wildcards(void **state)
{
    (void)state;
    dx_caps c = {0};
    /* {{_}} matches any value; {{name}} any value, captured */
    assert_string_equal(match_why("{\"id\":\"{{qid}}\",\"n\":\"{{n}}\",\"t\":\"{{_}}\"}",
                                  "{\"id\":\"q_1f\",\"n\":41,\"t\":{\"x\":[]}}", false, &c),
                        "");
    assert_string_equal(dx_caps_get(&c, "qid", 3), "q_1f");
    assert_string_equal(dx_caps_get(&c, "n", 1), "41"); /* not a string: its JSON */
    assert_null(dx_caps_get(&c, "_", 1));
    /* inside a string: a captured name is its value, {{_}} any text, a
     * new name captures the text it covers */
    assert_string_equal(match_why("\"quote '{{qid}}' is {{st}}: at {{_}}Z\"",
                                  "\"quote 'q_1f' is draft: at 2026-12-01T12:00:00Z\"", false, &c),
                        "");
    assert_string_equal(dx_caps_get(&c, "st", 2), "draft");
    assert_string_equal(match_why("\"quote '{{qid}}'\"", "\"quote 'q_2a'\"", false, &c),
                        "at $: expected \"quote '{{qid}}'\", got \"quote 'q_2a'\"");
    size_t before = c.n;
    assert_string_equal(match_why("\"{{a}}-{{b}}!\"", "\"x-y\"", false, &c),
                        "at $: expected \"{{a}}-{{b}}!\", got \"x-y\"");
    assert_int_equal(c.n, before); /* a failed match keeps no partial capture */
    /* a whole-value {{name}} captures again */
    assert_string_equal(match_why("\"{{qid}}\"", "\"q_2a\"", false, &c), "");
    assert_string_equal(dx_caps_get(&c, "qid", 3), "q_2a");
    /* "{{...}}" ends an array: any further elements */
    assert_string_equal(match_why("[1,\"{{...}}\"]", "[1,2,3]", false, &c), "");
    assert_string_equal(match_why("[1,\"{{...}}\"]", "[1]", false, &c), "");
    assert_string_equal(match_why("[1,2,\"{{...}}\"]", "[1]", false, &c),
                        "at $: expected at least 2 elements, got 1");
    /* text with captures substituted; an unknown or wildcard name is an error */
    dx_buf err = {0};
    char *s = dx_subst("POST /v1/quotes/{{qid}}/submit {{st}}{x}", &c, &err);
    assert_string_equal(s, "POST /v1/quotes/q_2a/submit draft{x}");
    free(s);
    assert_null(dx_subst("/v1/quotes/{{nope}}", &c, &err));
    assert_string_equal(dx_str(&err), "{{nope}} is not a value captured earlier on the page");
    dx_buf_fini(&err);
    dx_caps_fini(&c);
}

static void test_docs_command_words(void **state)
{
    (void)state;
    dx_buf err = {0};
    char **w =
        dx_words("cpqd rule eval a.lua --input '{\"x\": 1}' \"a \\\"b\\\"\" c\\ d a#b", &err);
    assert_non_null(w);
    const char *want[] = {"cpqd",       "rule",    "eval", "a.lua", "--input",
                          "{\"x\": 1}", "a \"b\"", "c d",  "a#b",   NULL};
    for (size_t i = 0; want[i]; i++)
        assert_string_equal(w[i], want[i]);
    assert_null(w[9]);
    dx_argv_free(w);
    assert_null(dx_words("cpqd check catalogs | head", &err));
    assert_string_equal(dx_str(&err),
                        "'cpqd check catalogs | head' needs a shell: only plain cpqd commands run");
    dx_buf_fini(&err);
}

/* The fixture pages of tests/data/docs/: one that holds (every feature
 * of the format), one with drifted examples, one whose blocks do not
 * pair up. */
static void test_docs_fixture_page_that_holds_passes(void **state)
{
    (void)state;
    dx_run r;
    dx_page_run("tests/data/docs/holds.md", &r);
    dx_run_stop(&r);
    if (r.failures)
        fprintf(stderr, "%s", dx_str(&r.report));
    assert_int_equal(r.failures, 0);
    assert_int_equal(r.examples, 7);
    assert_string_equal(r.pg.clock, "2027-01-20");
    assert_string_equal(dx_caps_get(&r.caps, "allowed", 7), "submit,revise");
    dx_run_free(&r);
}

static void test_docs_fixture_page_that_drifted_fails(void **state)
{
    (void)state;
    dx_run r;
    dx_page_run("tests/data/docs/drift.md", &r);
    dx_run_stop(&r);
    const char *rep = dx_str(&r.report);
    assert_int_equal(r.examples, 4);
    assert_int_equal(r.failures, 4);
    /* a figure that drifted: page, line, path of the difference, both bodies */
    assert_non_null(strstr(rep, "tests/data/docs/drift.md:8: POST /v1/price does not answer as "
                                "documented\n"
                                "  at $.total: expected \"300.00\", got \"298.00\"\n"
                                "  expected (tests/data/docs/drift.md:15, status=200, partial):\n"
                                "    {\n      \"currency\": \"CNY\",\n      \"total\": \"300.00\"\n"
                                "    }\n  actual (status 200):\n    {\n"));
    /* a status that drifted */
    assert_non_null(strstr(rep, "tests/data/docs/drift.md:21: GET /v1/products/NOPE does not "
                                "answer as documented\n  status: expected 200, got 404\n"
                                "  expected (tests/data/docs/drift.md:26"));
    /* a member the doc leaves out */
    assert_non_null(strstr(rep, "drift.md:32: GET /healthz does not answer as documented\n"
                                "  at $.version: unexpected member"));
    /* a command whose output drifted */
    assert_non_null(strstr(rep,
                           "drift.md:43: $ cpqd rule eval rules/appliances/carry_up_fee.lua "
                           "--input '{\"ctx\":{\"price\":{\"$dec\":\"1999.00\"},\"attributes\":"
                           "{\"delivery_floor\":7}}}' does not print as documented\n"
                           "  expected:\n    OK 2040.00\n  actual:\n    OK 2039.00\n"));
    dx_run_free(&r);
}

static void test_docs_fixture_page_whose_blocks_do_not_pair_fails(void **state)
{
    (void)state;
    dx_run r;
    dx_page_run("tests/data/docs/unpaired.md", &r);
    dx_run_stop(&r);
    const char *rep = dx_str(&r.report);
    assert_int_equal(r.examples, 0); /* nothing runs on a malformed page */
    assert_int_equal(r.failures, 5);
    assert_string_equal(rep, "tests/data/docs/unpaired.md:1: example-clock needs a date "
                             "YYYY-MM-DD, not '2027-13-01'\n"
                             "tests/data/docs/unpaired.md:6: a response block without the http "
                             "block of its request\n"
                             "tests/data/docs/unpaired.md:12: a json block is a response (```json "
                             "status=NNN after an http block); a fragment is ```jsonc\n"
                             "tests/data/docs/unpaired.md:16: a request in a block without an "
                             "info string: make it an ```http example with its response, or "
                             "```text\n"
                             "tests/data/docs/unpaired.md:26: an http block must be followed by "
                             "its response, a ```json status=NNN block\n");
    dx_run_free(&r);
}

/* ---- the pages ---- */

static void test_docs_page(void **state)
{
    const char *rel = *state;
    dx_run r;
    dx_page_run(rel, &r);
    dx_run_stop(&r);
    if (r.failures) {
        fprintf(stderr, "%s", dx_str(&r.report));
        int n = r.failures;
        dx_run_free(&r);
        fail_msg("%s: %d example(s) or problem(s) above (the format: docs/README.md)", rel, n);
    }
    print_message("%s: %d example(s) hold\n", rel, r.examples);
    dx_run_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    keys.dir = tu_tmpdir();
    keys.file = tu_fmt("%s/keys.yaml", keys.dir);
    static const char *const std[] = {"admin", "rep",           "manager",
                                      "crm",   "partner:P-101", "partner:P-102"};
    dx_buf err = {0};
    for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
        if (!dx_key_for(std[i], strlen(std[i]), &err)) {
            fprintf(stderr, "%s\n", dx_str(&err));
            dx_buf_fini(&err);
            return -1;
        }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < keys.n; i++) {
        free(keys.label[i]);
        free(keys.key[i]);
    }
    free(keys.label);
    free(keys.key);
    tu_rm_tree(keys.dir);
    free(keys.dir);
    free(keys.file);
    return 0;
}

int main(void)
{
    /* the server and the commands see the repository as their directory */
    char *bin = realpath(tu_bin(), NULL);
    if (!bin || setenv("CPQD_BIN", bin, 1) != 0 || chdir(tu_root()) != 0 ||
        setenv("CPQD_ROOT", ".", 1) != 0) {
        fprintf(stderr, "test_docs: no binary at %s or no repository at %s\n", tu_bin(),
                tu_root());
        return 1;
    }
    free(bin);
    static const struct CMUnitTest own[] = {
        cmocka_unit_test(test_docs_match_is_exact_unless_partial),
        cmocka_unit_test(test_docs_captures_and_wildcards),
        cmocka_unit_test(test_docs_command_words),
        cmocka_unit_test(test_docs_fixture_page_that_holds_passes),
        cmocka_unit_test(test_docs_fixture_page_that_drifted_fails),
        cmocka_unit_test(test_docs_fixture_page_whose_blocks_do_not_pair_fails),
    };
    size_t nown = sizeof(own) / sizeof(own[0]);
    char *pattern = tu_path("docs/*.md");
    glob_t g;
    memset(&g, 0, sizeof(g));
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        fprintf(stderr, "test_docs: no pages match %s\n", pattern);
        free(pattern);
        return 1;
    }
    free(pattern);
    /* one test per page: README.md, then docs/ in name order */
    size_t npages = g.gl_pathc + 1, root = strlen(tu_root()) + 1;
    char **rel = calloc(npages, sizeof(char *));
    struct CMUnitTest *t = calloc(nown + npages, sizeof(*t));
    if (!rel || !t)
        return 1;
    memcpy(t, own, sizeof(own));
    rel[0] = strdup("README.md");
    for (size_t i = 0; i < g.gl_pathc; i++)
        rel[i + 1] = strdup(g.gl_pathv[i] + root);
    globfree(&g);
    for (size_t i = 0; i < npages; i++)
        t[nown + i] = (struct CMUnitTest){rel[i], test_docs_page, NULL, NULL, rel[i]};
    int rc = _cmocka_run_group_tests("docs", t, nown + npages, group_setup, group_teardown);
    for (size_t i = 0; i < npages; i++)
        free(rel[i]);
    free(rel);
    free(t);
    return rc;
}
