/*
 * rules_cli: `cpqd rule eval FILE [--input JSON]`, one chunk through
 * exactly the production sandbox (default limits), for catalog authors
 * and for the attack suite.
 * Does not own: the sandbox (rules.c), command dispatch (main.c).
 *
 * JSON input (jansson): the top level is an object whose members become
 * the rule's globals; objects become tables, strings strings, integers
 * integers, true/false booleans, null nil, and an object that is exactly
 * {"$dec": "12.50"} a decimal. Fractional numbers are refused (money
 * never travels as a float), and so are arrays.
 */
#include "cpqd/arena.h"
#include "cpqd/cli.h"
#include "cpqd/file.h"
#include "cpqd/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CLI_FILE_MAX ((size_t)64 << 20) /* refuse to even read beyond this */

static int json_value(arena *a, json_t *j, int depth, rules_value *out, const char **why);

/* {"$dec": "..."} -> decimal. Returns 1 if j has that form (*out set or
 * *why set), 0 if it is an ordinary object. */
static int json_decimal(json_t *j, rules_value *out, const char **why)
{
    json_t *d = json_object_get(j, "$dec");
    if (!d || json_object_size(j) != 1)
        return 0;
    money_dec v;
    if (!json_is_string(d) ||
        money_parse(json_string_value(d), json_string_length(d), &v) != 0) {
        *why = "\"$dec\" must be a decimal string such as \"12.50\"";
        return -1;
    }
    *out = rules_value_dec(v);
    return 1;
}

static int json_table(arena *a, json_t *j, int depth, rules_value *out, const char **why)
{
    size_t n = json_object_size(j), i = 0;
    rules_field *f = arena_calloc(a, n ? n : 1, sizeof(*f));
    const char *key;
    json_t *v;
    if (!f) {
        *why = "out of memory";
        return -1;
    }
    json_object_foreach(j, key, v)
    {
        f[i].name = arena_strdup(a, key);
        if (!f[i].name || json_value(a, v, depth + 1, &f[i].value, why) != 0)
            return -1;
        i++;
    }
    *out = rules_value_table(f, n);
    return 0;
}

static int json_value(arena *a, json_t *j, int depth, rules_value *out, const char **why)
{
    if (depth > RULES_INPUT_DEPTH) {
        *why = "objects nested too deeply";
        return -1;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        int d = json_decimal(j, out, why);
        return d != 0 ? (d > 0 ? 0 : -1) : json_table(a, j, depth, out, why);
    }
    case JSON_STRING: {
        char *s = arena_strndup(a, json_string_value(j), json_string_length(j));
        *out = rules_value_str(s, json_string_length(j));
        return s ? 0 : -1;
    }
    case JSON_INTEGER: *out = rules_value_int((int64_t)json_integer_value(j)); return 0;
    case JSON_TRUE: *out = rules_value_bool(true); return 0;
    case JSON_FALSE: *out = rules_value_bool(false); return 0;
    case JSON_NULL: *out = rules_value_nil(); return 0;
    case JSON_REAL:
        *why = "fractional numbers are not accepted; write {\"$dec\": \"1.5\"}";
        return -1;
    default: *why = "arrays are not supported"; return -1;
    }
}

/* Parses --input into *out (memory from a). 0, or -1 with a message. */
static int parse_input(arena *a, const char *text, rules_value *out)
{
    json_error_t jerr;
    const char *why = NULL;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        fprintf(stderr, "cpqd rule eval: --input: %s (line %d, column %d)\n", jerr.text, jerr.line,
                jerr.column);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(j) || json_decimal(j, out, &why) != 0)
        why = why ? why : "the input must be a JSON object";
    else
        rc = json_table(a, j, 0, out, &why);
    if (rc != 0)
        fprintf(stderr, "cpqd rule eval: --input: %s\n", why ? why : "invalid");
    json_decref(j);
    return rc;
}

static void print_compile_error(const char *file, cpqd_errs *errs)
{
    const cpqd_err *e = errs_get(errs, 0);
    if (!e)
        printf("ERR_COMPILE %s: could not compile\n", file);
    else if (e->line)
        printf("ERR_COMPILE %s:%u: %s\n", e->file ? e->file : file, e->line, e->msg);
    else
        printf("ERR_COMPILE %s: %s\n", e->file ? e->file : file, e->msg);
}

/* Says why (and the usage) on stderr; returns the usage exit code. */
static int usage(const char *why)
{
    fprintf(stderr, "cpqd rule eval: %s\nusage: cpqd rule eval FILE [--input JSON]\n", why);
    return 2;
}

/* Compiles and runs src; prints the outcome line. */
static int run(const char *file, const char *src, size_t len, const rules_value *input)
{
    int rc = 0, status = 1;
    rules_state *st = rules_state_new(NULL, &rc);
    cpqd_errs *errs = errs_new();
    rules_chunk *ch = NULL;
    rules_result *res = malloc(sizeof(*res));
    if (!st || !errs || !res) {
        fprintf(stderr, "cpqd rule eval: out of memory\n");
        status = 2;
        goto out;
    }
    if (rules_compile(st, file, src, len, &ch, errs) != 0) {
        print_compile_error(file, errs);
        goto out;
    }
    rules_eval(st, ch, input, RULES_ACCEPT_ANY, res);
    char line[2 * RULES_TEXT_MAX + 64];
    size_t n = rules_result_format(res, line, sizeof(line));
    fwrite(line, 1, n < sizeof(line) ? n : sizeof(line) - 1, stdout);
    fputc('\n', stdout);
    status = res->outcome == RULES_OK ? 0 : 1;
out:
    rules_chunk_free(ch);
    rules_state_free(st);
    errs_free(errs);
    free(res);
    return status;
}

int rules_cli_eval(int argc, char **argv)
{
    const char *json = NULL;
    const cli_flag flags[] = {{"--input", &json}, {NULL, NULL}};
    cli_args args;
    int rc = cli_args_parse(argc, argv, flags, 1, &args);
    const char *file = args.npos ? args.pos[0] : NULL;
    cli_args_fini(&args);
    if (rc == CPQD_ENOMEM)
        fprintf(stderr, "cpqd rule eval: out of memory\n");
    if (rc)
        return rc == CPQD_ENOMEM ? 2 : usage(args.why);
    if (!file)
        return usage("no FILE given");
    int status = 2;
    char *src = NULL;
    size_t len = 0;
    arena *a = arena_new(4096);
    rules_value input;
    char why[FILE_WHY_MAX];
    if (file_read(file, CLI_FILE_MAX, &src, &len, why) != 0) {
        fprintf(stderr, "cpqd rule eval: %s: %s\n", file, why);
        goto out;
    }
    if (!a || (json && parse_input(a, json, &input) != 0))
        goto out;
    status = run(file, src, len, json ? &input : NULL);
out:
    free(src);
    arena_free(a);
    return status;
}
