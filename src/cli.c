/*
 * cli: command arguments through getopt_long (see include/cpqd/cli.h).
 *
 * Owns: turning a command's flag list into getopt's tables, and what
 * getopt reports into one message. Two things glibc's getopt would do
 * that cpqd's commands never did are switched off: reordering argv (the
 * "-" mode hands positional arguments back in order) and accepting a long
 * flag abbreviated to a unique prefix (every long flag is checked against
 * the argument as written). getopt prints nothing (opterr 0, ":" mode);
 * the caller prints out->why.
 */
#include "cpqd/cli.h"

#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_FLAGS 32 /* flags of one command (serve has 14) */
#define LONG_VAL 256     /* getopt's code of long flag i is LONG_VAL + i */

/* getopt's view of a flag list. */
typedef struct opt_tables {
    struct option longs[CLI_MAX_FLAGS + 1]; /* ended by a zeroed entry */
    char shorts[3 + 2 * CLI_MAX_FLAGS];     /* "-:" then "o:" per one-letter flag */
} opt_tables;

static void tables_build(const cli_flag *flags, opt_tables *t)
{
    size_t nl = 0, ns = 0;
    t->shorts[ns++] = '-'; /* positional arguments in order, argv never permuted */
    t->shorts[ns++] = ':'; /* a missing value returns ':', not '?' */
    for (size_t i = 0; flags[i].name; i++) {
        const char *n = flags[i].name;
        /* a bug in a command's table, never the user's input */
        assert(i < CLI_MAX_FLAGS && n[0] == '-' && n[1] != '\0');
        assert(n[1] == '-' ? n[2] != '\0' : n[2] == '\0');
        if (n[1] == '-') {
            t->longs[nl++] = (struct option){n + 2, required_argument, NULL, LONG_VAL + (int)i};
        } else {
            t->shorts[ns++] = n[1];
            t->shorts[ns++] = ':';
        }
    }
    t->longs[nl] = (struct option){NULL, 0, NULL, 0};
    t->shorts[ns] = '\0';
}

static int say(cli_args *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(cli_args *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
    return CPQD_EINVAL;
}

/* The flag getopt reported as code c, or -1. */
static int flag_index(const cli_flag *flags, int c)
{
    if (c >= LONG_VAL)
        return c - LONG_VAL;
    for (int i = 0; flags[i].name; i++)
        if (flags[i].name[1] == c && flags[i].name[2] == '\0')
            return i;
    return -1;
}

/* getopt takes "--cat" for "--catalogs" when no other flag starts so:
 * true only if arg spells out name, alone or before "=". */
static bool written_in_full(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int add_pos(cli_args *out, const char *arg, size_t max_pos)
{
    if (out->npos >= max_pos)
        return say(out, "unexpected argument '%s'", arg);
    out->pos[out->npos++] = arg;
    return 0;
}

/* Takes what getopt returned (c) for the argument arg. */
static int take(int c, const char *arg, const cli_flag *flags, size_t max_pos, cli_args *out)
{
    if (c == 1)
        return add_pos(out, arg, max_pos);
    int i = c == '?' ? -1 : flag_index(flags, c == ':' ? optopt : c);
    if (i >= 0 && c == ':')
        return say(out, "flag %s needs a value", flags[i].name);
    bool is_long = i >= 0 && flags[i].name[1] == '-';
    if (i < 0 || (is_long && !written_in_full(arg, flags[i].name)))
        return say(out, "unknown flag '%s'", arg);
    const char *v = optarg;
    if (!is_long && v == arg + 2 && *v == '=') /* "-o=X" is "-oX", as before getopt */
        v++;
    *flags[i].value = v;
    return 0;
}

int cli_args_parse(int argc, char **argv, const cli_flag *flags, size_t max_pos, cli_args *out)
{
    memset(out, 0, sizeof(*out));
    out->pos = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*out->pos));
    if (!out->pos)
        return CPQD_ENOMEM;
    opt_tables t;
    tables_build(flags, &t);
    optind = 0; /* glibc: 0 starts a new scan, forgetting the last one */
    opterr = 0;
    int rc = 0;
    while (rc == 0) {
        int at = optind ? optind : 1; /* the argument getopt reads next */
        int c = getopt_long(argc, argv, t.shorts, t.longs, NULL);
        if (c == -1)
            break;
        rc = take(c, argv[at], flags, max_pos, out);
    }
    /* after "--" getopt stops: what follows is positional */
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = add_pos(out, argv[i], max_pos);
    return rc;
}

void cli_args_fini(cli_args *a)
{
    free(a->pos);
    a->pos = NULL;
    a->npos = 0;
}

void cli_errs_print(cpqd_errs *errs)
{
    errs_sort(errs);
    for (size_t i = 0; i < errs_count(errs); i++) {
        char *line = errs_format(errs, i);
        fprintf(stderr, "%s\n", line ? line : "(out of memory formatting an error)");
        free(line);
    }
}
