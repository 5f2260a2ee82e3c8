/*
 * main: the `cpqd` command line.
 *
 * Owns: parsing arguments, the table of commands, exit codes and what the
 * CLI prints. Does not own: what the commands do (cat loads and checks
 * catalogs, http serves).
 *
 * Exit codes: 0 success; 1 the command ran and failed (invalid catalogs,
 * cannot listen); 2 usage error (unknown command or flag, bad value).
 * To add a command, write cmd_<name>(argc, argv) and add one row to
 * `commands` (its usage line comes from the same row).
 */
#include "cpqd/auth.h"
#include "cpqd/cat.h"
#include "cpqd/date.h"
#include "cpqd/cli.h"
#include "cpqd/err.h"
#include "cpqd/file.h"
#include "cpqd/http.h"
#include "cpqd/import.h"
#include "cpqd/log.h"
#include "cpqd/portal.h"
#include "cpqd/price.h"
#include "cpqd/quote.h"
#include "cpqd/rules.h"
#include "cpqd/solver.h"
#include "cpqd/store.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CPQD_VERSION
#define CPQD_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

typedef struct cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *args;                  /* synopsis after the name */
    const char *summary;
} cmd;

static int cmd_serve(int argc, char **argv);
static int cmd_check(int argc, char **argv);
static int cmd_rule(int argc, char **argv);
static int cmd_key(int argc, char **argv);
static int cmd_migrate(int argc, char **argv);
static int cmd_import(int argc, char **argv);
static int cmd_health(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const cmd commands[] = {
    {"serve", cmd_serve,
     "--catalogs DIR --listen ADDR:PORT [--rules DIR] [--threads N] [--keys FILE]\n"
     "        [--db PATH|URL] [--max-body BYTES] [--timeout SECONDS]\n"
     "        [--webhook URL --webhook-secret FILE [--webhook-max-attempts N]\n"
     "         [--webhook-lease SECONDS]]\n"
     "        [--sweep-every SECONDS] [--event-retention-days DAYS] [--session-ttl SECONDS]\n"
     "        [--clock YYYY-MM-DD]\n"
     "        [--log-level debug|info|warn|error]",
     "serve the HTTP API on the catalogs in DIR (SIGHUP reloads, SIGTERM drains and exits)"},
    {"check", cmd_check, "PATH... [--rules DIR]",
     "validate catalog files or directories; print every error as file:line:col: message"},
    {"rule", cmd_rule, "eval FILE [--input JSON]",
     "evaluate one Lua rule in the production sandbox; print OK|ERR_* and its value or message"},
    {"import", cmd_import, "xcsp|clib|dimacs INPUT... [-o OUT.yaml] [--id ID]",
     "convert a configuration benchmark (XCSP 2.1, CLib tables, DIMACS CNF) into a catalog"},
    {"key", cmd_key, "new --keys FILE --role partner|rep|manager|crm|admin [--partner P] [--name N]",
     "add an API key to FILE (creating it) and print the key, the only time it is shown"},
    {"migrate", cmd_migrate, "--db PATH|URL [--from PATH]",
     "create or migrate the database to this binary's schema; --from moves a SQLite store into it"},
    {"health", cmd_health, "URL [--timeout SECONDS]",
     "exit 0 if GET URL/healthz answers 200 in time (default 3 s), else 1 (Docker HEALTHCHECK)"},
    {"version", cmd_version, "", "print the version"},
    {"help", cmd_help, "[COMMAND]", "print this help"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f, const cmd *only)
{
    fputs("usage: cpqd <command> [options]\n\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cmd *c = &commands[i];
        if (!only || only == c)
            fprintf(f, "  cpqd %s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args,
                    c->summary);
    }
}

static const cmd *cmd_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* ---- flags ---- */

/* Parses a command's arguments (argv[0] is its name) with cli; on a
 * usage error prints why and the command's usage. Returns 0, EXIT_USAGE
 * or EXIT_FAILURE (out of memory); a->pos is freed by cli_args_fini. */
static int args_parse(int argc, char **argv, const cli_flag *flags, size_t max_pos, cli_args *a)
{
    int rc = cli_args_parse(argc, argv, flags, max_pos, a);
    if (rc == CPQD_ENOMEM)
        fprintf(stderr, "cpqd %s: out of memory\n", argv[0]);
    else if (rc) {
        fprintf(stderr, "cpqd %s: %s\n", argv[0], a->why);
        usage(stderr, cmd_find(argv[0]));
    }
    return rc == 0 ? 0 : rc == CPQD_ENOMEM ? EXIT_FAILURE : EXIT_USAGE;
}

/* A decimal integer in [lo, hi] (digits only). */
static bool parse_num(const char *s, unsigned long long lo, unsigned long long hi,
                      unsigned long long *out)
{
    unsigned long long v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > hi)
            return false;
        v = v * 10 + (unsigned long long)(*s - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int bad_value(const char *cmd_name, const char *flag_name, const char *v, const char *want)
{
    fprintf(stderr, "cpqd %s: invalid %s '%s' (%s)\n", cmd_name, flag_name, v, want);
    usage(stderr, cmd_find(cmd_name));
    return EXIT_USAGE;
}

/* ---- check ---- */

typedef struct check_sum {
    size_t catalogs, products;
} check_sum;

/* Loads one path; on success prints its summary line. */
static bool check_one(const char *path, const char *rules, bool name_it, cpqd_errs *errs,
                      check_sum *sum)
{
    cat_snapshot *s = cat_snapshot_load_path(path, rules, errs);
    if (!s)
        return false;
    /* the configurator's static checks: a constraint that can never hold
     * and a product with no valid configuration are errors; dead and
     * always-forced options are warnings (reported, not failing) */
    size_t before = errs_count(errs);
    cpqd_errs *notes = errs_new();
    if (!notes || solver_snapshot_check(s, errs, notes) != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while checking constraints");
    /* price books against the configurator: a ceiling no configuration
     * can meet (every order needs approval) is a warning */
    if (notes && price_check(s, notes) != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while checking price books");
    for (size_t i = 0; notes && i < errs_count(notes); i++) {
        char *line = errs_format(notes, i);
        fprintf(stderr, "warning: %s\n", line ? line : "?");
        free(line);
    }
    errs_free(notes);
    /* every formula and limit rule once on a sample line of each product
     * it applies to: a rule that always fails (a runaway loop, a runtime
     * error) is found here rather than by every price */
    price_worker *pw = price_worker_new();
    if (!pw || price_rules_check(pw, s, errs, NULL) != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while running the rules");
    price_worker_free(pw);
    if (errs_count(errs) > before) {
        cat_snapshot_release(s);
        return false;
    }
    sum->catalogs += cat_snapshot_catalog_count(s);
    sum->products += cat_snapshot_product_count(s);
    printf("ok: %zu catalogs, %zu products, version %s%s%s%s\n", cat_snapshot_catalog_count(s),
           cat_snapshot_product_count(s), cat_snapshot_version(s), name_it ? " (" : "",
           name_it ? path : "", name_it ? ")" : "");
    cat_snapshot_release(s);
    return true;
}

static int cmd_check(int argc, char **argv)
{
    const char *rules = NULL;
    const cli_flag flags[] = {{"--rules", &rules}, {NULL, NULL}};
    cli_args a;
    int rc = args_parse(argc, argv, flags, SIZE_MAX, &a);
    if (rc == 0 && a.npos == 0) {
        fprintf(stderr, "cpqd check: no PATH given\n");
        usage(stderr, cmd_find("check"));
        rc = EXIT_USAGE;
    }
    cpqd_errs *errs = rc ? NULL : errs_new();
    if (!errs) {
        cli_args_fini(&a);
        return rc ? rc : EXIT_FAILURE;
    }
    check_sum sum = {0, 0};
    size_t failed = 0;
    for (size_t i = 0; i < a.npos; i++)
        failed += !check_one(a.pos[i], rules, a.npos > 1, errs, &sum);
    cli_errs_print(errs);
    size_t n = errs_count(errs);
    if (failed)
        fprintf(stderr, "check failed: %zu error%s in %zu of %zu path%s\n", n, n == 1 ? "" : "s",
                failed, a.npos, a.npos == 1 ? "" : "s");
    errs_free(errs);
    cli_args_fini(&a);
    return failed ? EXIT_FAILURE : 0;
}

/* ---- serve ---- */

typedef struct serve_flags {
    const char *catalogs, *rules, *listen, *threads, *max_body, *timeout, *log_level, *keys, *db;
    const char *webhook, *webhook_secret, *webhook_attempts, *webhook_lease, *sweep_every, *clock;
    const char *retention;
    const char *session_ttl;
} serve_flags;

#define DEFAULT_DB "var/cpqd.db"
#define SECRET_MAX 4095 /* bytes of a webhook secret file, newlines included */

/* Turns the flag strings into cfg; EXIT_USAGE on a bad value. */
static int serve_config(const serve_flags *sf, http_config *cfg)
{
    unsigned long long v = 0;
    log_level lvl;
    if (!sf->catalogs || !sf->listen) {
        fprintf(stderr, "cpqd serve: --catalogs and --listen are required\n");
        usage(stderr, cmd_find("serve"));
        return EXIT_USAGE;
    }
    http_config_init(cfg);
    cfg->catalog_dir = sf->catalogs;
    cfg->rules_dir = sf->rules;
    cfg->listen = sf->listen;
    cfg->db_path = sf->db ? sf->db : DEFAULT_DB;
    if (sf->threads && !parse_num(sf->threads, 1, 1024, &v))
        return bad_value("serve", "--threads", sf->threads, "1 to 1024");
    cfg->threads = sf->threads ? (unsigned)v : cfg->threads;
    if (sf->max_body && !parse_num(sf->max_body, 1, 1ull << 40, &v))
        return bad_value("serve", "--max-body", sf->max_body, "bytes, at least 1");
    cfg->max_body = sf->max_body ? (size_t)v : cfg->max_body;
    if (sf->timeout && !parse_num(sf->timeout, 1, 86400, &v))
        return bad_value("serve", "--timeout", sf->timeout, "seconds, 1 to 86400");
    cfg->timeout_s = sf->timeout ? (unsigned)v : cfg->timeout_s;
    if (!sf->webhook != !sf->webhook_secret ||
        ((sf->webhook_attempts || sf->webhook_lease) && !sf->webhook)) {
        fprintf(stderr, "cpqd serve: --webhook and --webhook-secret go together\n");
        usage(stderr, cmd_find("serve"));
        return EXIT_USAGE;
    }
    cfg->webhook_url = sf->webhook;
    if (sf->webhook_attempts && !parse_num(sf->webhook_attempts, 1, 1000, &v))
        return bad_value("serve", "--webhook-max-attempts", sf->webhook_attempts, "1 to 1000");
    cfg->webhook_max_attempts = sf->webhook_attempts ? (unsigned)v : cfg->webhook_max_attempts;
    if (sf->webhook_lease && !parse_num(sf->webhook_lease, 1, 3600, &v))
        return bad_value("serve", "--webhook-lease", sf->webhook_lease, "seconds, 1 to 3600");
    cfg->webhook_lease_s = sf->webhook_lease ? (unsigned)v : cfg->webhook_lease_s;
    date_days today;
    if (sf->clock && date_parse(sf->clock, strlen(sf->clock), &today) != 0)
        return bad_value("serve", "--clock", sf->clock, "a date YYYY-MM-DD");
    if (sf->clock) { /* tests: the service's "today" without waiting */
        date_clock_set(today);
        log_warn("--clock: today is %s for this process (testing only)", sf->clock);
    }
    if (sf->sweep_every && !parse_num(sf->sweep_every, 0, 31u * 86400, &v))
        return bad_value("serve", "--sweep-every", sf->sweep_every,
                         "seconds, 0 (off) to 2678400");
    cfg->sweep_every_s = sf->sweep_every ? (unsigned)v : cfg->sweep_every_s;
    if (sf->retention && !parse_num(sf->retention, 0, 36500, &v))
        return bad_value("serve", "--event-retention-days", sf->retention,
                         "days, 0 (keep every event) to 36500");
    cfg->event_retention_days = sf->retention ? (unsigned)v : cfg->event_retention_days;
    if (sf->session_ttl && !parse_num(sf->session_ttl, 1, PORTAL_TTL_MAX, &v))
        return bad_value("serve", "--session-ttl", sf->session_ttl, "seconds, 1 to 2592000");
    cfg->session_ttl_s = sf->session_ttl ? (unsigned)v : PORTAL_TTL_DEFAULT;
    if (sf->log_level && log_level_parse(sf->log_level, &lvl) != 0)
        return bad_value("serve", "--log-level", sf->log_level, "debug, info, warn or error");
    if (sf->log_level)
        log_level_set(lvl);
    return 0;
}

/* Loads and publishes the first snapshot; prints every error if it fails. */
static int serve_load(const http_config *cfg)
{
    cpqd_errs *errs = errs_new();
    if (!errs)
        return EXIT_FAILURE;
    cat_snapshot *s = cat_snapshot_load(cfg->catalog_dir, cfg->rules_dir, errs);
    if (!s) {
        cli_errs_print(errs);
        fprintf(stderr, "cpqd serve: %zu errors in %s; not starting\n", errs_count(errs),
                cfg->catalog_dir);
        errs_free(errs);
        return EXIT_FAILURE;
    }
    errs_free(errs);
    log_info("loaded %zu catalogs, %zu products from %s, version %s", cat_snapshot_catalog_count(s),
             cat_snapshot_product_count(s), cfg->catalog_dir, cat_snapshot_version(s));
    /* archived for re-pricing quotes on exactly these catalogs later */
    errs = errs_new();
    store *st = NULL;
    if (errs && store_open(cfg->db_path, false, &st, errs) == 0 &&
        quote_archive_snapshot(st, s, errs) != 0)
        log_warn("archiving catalog version %s failed; quotes archive it when they need it",
                 cat_snapshot_version(s));
    store_close(st);
    errs_free(errs);
    cat_current_publish_take(s);
    return 0;
}

/* Loads --keys; without it, serves loopback only, every caller an admin. */
static int serve_auth(const serve_flags *sf, http_config *cfg, auth_keys **keys)
{
    if (!sf->keys) {
        /* http refuses a non-loopback address without keys */
        log_warn("no --keys: authentication is off and every caller is an admin "
                 "(development only, loopback only)");
        return 0;
    }
    cpqd_errs *errs = errs_new();
    int rc = errs ? auth_keys_load(sf->keys, keys, errs) : CPQD_ENOMEM;
    if (rc) {
        if (errs)
            cli_errs_print(errs);
        fprintf(stderr, "cpqd serve: cannot use the key file %s; not starting\n", sf->keys);
    } else {
        cfg->keys = *keys;
        log_info("%zu API keys from %s", auth_keys_count(*keys), sf->keys);
    }
    errs_free(errs);
    return rc ? EXIT_FAILURE : 0;
}

/* Reads the webhook secret from --webhook-secret FILE (trailing newlines
 * dropped) into *secret (malloc'ed, freed by the caller). */
static int serve_secret(const serve_flags *sf, http_config *cfg, char **secret)
{
    if (!sf->webhook_secret)
        return 0;
    char *b = NULL, why[FILE_WHY_MAX];
    size_t n = 0;
    int rc = file_read(sf->webhook_secret, SECRET_MAX, &b, &n, why);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
        n--;
    if (rc == 0 && n == 0)
        snprintf(why, sizeof(why), "empty (a secret is 1 to %d bytes)", SECRET_MAX);
    if (n == 0) {
        fprintf(stderr, "cpqd serve: --webhook-secret %s: %s; not starting\n", sf->webhook_secret,
                why);
        free(b);
        return EXIT_FAILURE;
    }
    *secret = b;
    cfg->webhook_secret = b;
    cfg->webhook_secret_len = n;
    return 0;
}

/* Creates or migrates the database before serving. */
static int serve_store(const http_config *cfg)
{
    cpqd_errs *errs = errs_new();
    store *st = NULL;
    int rc = errs ? store_open(cfg->db_path, true, &st, errs) : CPQD_ENOMEM;
    if (rc) {
        if (errs)
            cli_errs_print(errs);
        char shown[1024]; /* a URL's password is never printed */
        fprintf(stderr, "cpqd serve: cannot open the database %s; not starting\n",
                store_location_redact(cfg->db_path, shown, sizeof(shown)));
    }
    store_close(st);
    errs_free(errs);
    return rc ? EXIT_FAILURE : 0;
}

static int cmd_serve(int argc, char **argv)
{
    serve_flags sf = {0};
    const cli_flag flags[] = {
        {"--catalogs", &sf.catalogs},   {"--rules", &sf.rules},
        {"--listen", &sf.listen},       {"--threads", &sf.threads},
        {"--max-body", &sf.max_body},   {"--timeout", &sf.timeout},
        {"--log-level", &sf.log_level}, {"--keys", &sf.keys},
        {"--db", &sf.db},               {"--webhook", &sf.webhook},
        {"--webhook-secret", &sf.webhook_secret},
        {"--webhook-max-attempts", &sf.webhook_attempts},
        {"--webhook-lease", &sf.webhook_lease},
        {"--sweep-every", &sf.sweep_every}, {"--clock", &sf.clock},
        {"--event-retention-days", &sf.retention},
        {"--session-ttl", &sf.session_ttl},
        {NULL, NULL},
    };
    cli_args a;
    http_config cfg;
    int rc = args_parse(argc, argv, flags, 0, &a);
    cli_args_fini(&a);
    if (rc == 0)
        rc = serve_config(&sf, &cfg);
    auth_keys *keys = NULL;
    if (rc == 0)
        rc = serve_auth(&sf, &cfg, &keys);
    char *secret = NULL;
    if (rc == 0)
        rc = serve_secret(&sf, &cfg, &secret);
    if (rc == 0)
        rc = serve_store(&cfg);
    if (rc == 0)
        rc = serve_load(&cfg);
    if (rc == 0)
        rc = http_serve(&cfg) == 0 ? 0 : EXIT_FAILURE;
    cat_current_publish_take(NULL); /* drops the last snapshot before exit */
    auth_keys_free(keys);
    free(secret);
    quote_archive_cache_clear();
    return rc;
}

/* ---- rule ---- */

static int cmd_rule(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "eval") != 0) {
        usage(stderr, cmd_find("rule"));
        return EXIT_USAGE;
    }
    return rules_cli_eval(argc - 1, argv + 1);
}

/* ---- import ---- */

static int cmd_import(int argc, char **argv)
{
    int rc = import_cli(argc, argv);
    if (rc == EXIT_USAGE)
        usage(stderr, cmd_find("import"));
    return rc;
}

/* ---- key, migrate ---- */

static int cmd_key(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "new") != 0) {
        usage(stderr, cmd_find("key"));
        return EXIT_USAGE;
    }
    int rc = auth_cli_key(argc - 1, argv + 1);
    if (rc == EXIT_USAGE)
        usage(stderr, cmd_find("key"));
    return rc;
}

static int cmd_migrate(int argc, char **argv)
{
    int rc = store_cli_migrate(argc, argv);
    if (rc == EXIT_USAGE)
        usage(stderr, cmd_find("migrate"));
    return rc;
}

/* ---- health ---- */

static int cmd_health(int argc, char **argv)
{
    const char *timeout = NULL;
    const cli_flag flags[] = {{"--timeout", &timeout}, {NULL, NULL}};
    cli_args a;
    unsigned long long t = HTTP_HEALTH_TIMEOUT;
    int rc = args_parse(argc, argv, flags, 1, &a);
    const char *url = a.npos ? a.pos[0] : NULL;
    cli_args_fini(&a);
    if (rc)
        return rc;
    if (!url) {
        fprintf(stderr, "cpqd health: no URL given\n");
        usage(stderr, cmd_find("health"));
        return EXIT_USAGE;
    }
    if (timeout && !parse_num(timeout, 1, 3600, &t))
        return bad_value("health", "--timeout", timeout, "1 to 3600 seconds");
    char why[512];
    rc = http_health(url, (unsigned)t, why, sizeof(why));
    if (rc == CPQD_EINVAL) {
        fprintf(stderr, "cpqd health: %s: %s\n", url, why);
        usage(stderr, cmd_find("health"));
        return EXIT_USAGE;
    }
    fprintf(rc ? stderr : stdout, "%s: %s %s\n", rc ? "unhealthy" : "healthy", url, why);
    return rc ? 1 : 0;
}

/* ---- version, help ---- */

static int cmd_version(int argc, char **argv)
{
    cli_args a;
    const cli_flag none[] = {{NULL, NULL}};
    int rc = args_parse(argc, argv, none, 0, &a);
    cli_args_fini(&a);
    if (rc == 0)
        printf("cpqd %s\n", CPQD_VERSION);
    return rc;
}

static int cmd_help(int argc, char **argv)
{
    const cmd *only = argc > 1 ? cmd_find(argv[1]) : NULL;
    if (argc > 2 || (argc == 2 && !only)) {
        usage(stderr, NULL);
        return EXIT_USAGE;
    }
    usage(stdout, only);
    return 0;
}

int main(int argc, char **argv)
{
    price_register(); /* per-snapshot price index, built at every load */
    cat_ext_register(CAT_EXT_SOLVER, solver_snapshot_build, solver_snapshot_free);
    if (argc < 2) {
        usage(stderr, NULL);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    const cmd *c = cmd_find(argv[1]);
    if (!c) {
        fprintf(stderr, "cpqd: unknown command '%s'\n", argv[1]);
        usage(stderr, NULL);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
