/*
 * config: a command's settings from flags, the environment and a YAML
 * file (include/cpqd/config.h, docs/operations.md "Configuration").
 *
 * The file is read with the YAML node tree cat uses (cat_yaml.c: anchors,
 * aliases, duplicate keys and several documents refused), so its errors
 * carry file:line:col like a catalog's. Every error of the file is
 * reported, not only the first.
 */
#include "cpqd/config.h"

#include "cat_int.h" /* yn_parse */
#include "cpqd/arena.h"
#include "cpqd/file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config {
    arena *a;         /* the file's tree and strings */
    char *path;       /* NULL without a file */
    config_value *v;  /* n settings */
    size_t n;
};

const char *config_source_name(config_source s)
{
    static const char *const names[] = {"default", "file", "env", "flag"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const config_value *config_get(const config *c, size_t i)
{
    return i < c->n ? &c->v[i] : NULL;
}

const char *config_path(const config *c)
{
    return c->path;
}

void config_free(config *c)
{
    if (!c)
        return;
    arena_free(c->a);
    free(c->path);
    free(c->v);
    free(c);
}

/* "CPQD_" + name in upper case. */
static void env_name(const char *name, char out[CONFIG_ENV_MAX])
{
    int k = snprintf(out, CONFIG_ENV_MAX, "CPQD_%s", name);
    size_t n = k > 0 ? (size_t)k : 0;
    for (size_t i = 5; i < n && i + 1 < CONFIG_ENV_MAX; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

/* Every setting names[] lists, for an error about an unknown key. */
static void names_list(const char *const *names, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        int k = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

/* One key of the file: which setting it is, and its value. */
static void file_pair(config *c, const char *const *names, const yn *k, const yn *v,
                      cpqd_errs *errs, int *rc)
{
    size_t i = 0;
    while (i < c->n && strcmp(names[i], k->str) != 0)
        i++;
    if (i == c->n) {
        char all[1024];
        names_list(names, c->n, all, sizeof(all));
        errs_add(errs, CPQD_EINVAL, c->path, k->line, k->col,
                 "unknown setting '%.64s' (the settings: %s)", k->str, all);
        *rc = CPQD_EINVAL;
        return;
    }
    if (v->type != YN_SCALAR || (v->len == 0 && !v->quoted)) {
        errs_add(errs, CPQD_EINVAL, c->path, v->line, v->col,
                 "'%s' needs a value (a scalar: a number, a word or a quoted string)%s",
                 names[i], v->type != YN_SCALAR ? ", not a list or a mapping" : "");
        *rc = CPQD_EINVAL;
        return;
    }
    c->v[i].value = v->str;
    c->v[i].src = CONFIG_FILE;
    c->v[i].line = v->line;
    c->v[i].col = v->col;
}

static int file_read_into(config *c, const char *const *names, cpqd_errs *errs)
{
    char *buf = NULL, why[FILE_WHY_MAX];
    size_t len = 0;
    int rc = file_read(c->path, CONFIG_MAX_FILE, &buf, &len, why);
    if (rc) {
        errs_add(errs, rc == CPQD_ENOMEM ? CPQD_ENOMEM : CPQD_EIO, c->path, 0, 0, "%s", why);
        return rc == CPQD_ENOMEM ? rc : CPQD_EIO;
    }
    yn *root = NULL;
    rc = yn_parse(c->a, c->path, buf, len, errs, &root);
    free(buf);
    if (rc)
        return rc;
    if (root && root->type != YN_MAP) {
        errs_add(errs, CPQD_EINVAL, c->path, root->line, root->col,
                 "a configuration file is a mapping of settings ('listen: 127.0.0.1:8080')");
        return CPQD_EINVAL;
    }
    for (unsigned i = 0; root && i < root->n; i++)
        file_pair(c, names, root->keys[i], root->vals[i], errs, &rc);
    return rc;
}

int config_resolve(const char *const *names, size_t n, const char *const *flags,
                   const char *path, config **out, cpqd_errs *errs)
{
    *out = NULL;
    config *c = calloc(1, sizeof(*c));
    if (!c || !(c->v = calloc(n ? n : 1, sizeof(*c->v))) || !(c->a = arena_new(16384)) ||
        (path && !(c->path = strdup(path)))) {
        config_free(c);
        return CPQD_ENOMEM;
    }
    c->n = n;
    int rc = path ? file_read_into(c, names, errs) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        config_value *v = &c->v[i];
        env_name(names[i], v->env);
        const char *e = getenv(v->env);
        if (flags[i]) {
            *v = (config_value){.value = flags[i], .src = CONFIG_FLAG};
            env_name(names[i], v->env);
        } else if (e && *e) {
            v->value = e;
            v->src = CONFIG_ENV;
            v->line = v->col = 0;
        }
    }
    if (rc) {
        config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
