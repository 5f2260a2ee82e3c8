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
#include "cpqd/config.h"
#include "cpqd/err.h"
#include "cpqd/file.h"
#include "cpqd/http.h"
#include "cpqd/import.h"
#include "cpqd/log.h"
#include "cpqd/outbox.h"
#include "cpqd/portal.h"
#include "cpqd/price.h"
#include "cpqd/quote.h"
#include "cpqd/rules.h"
#include "cpqd/solver.h"
#include "cpqd/store.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
static int cmd_config(int argc, char **argv);
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
     "--catalogs DIR --listen ADDR:PORT [--config FILE] [--rules DIR] [--threads N]\n"
     "        [--write-threads N] [--keys FILE] [--db PATH|URL] [--max-body BYTES]\n"
     "        [--timeout SECONDS]\n"
     "        [--webhook URL --webhook-secret FILE [--webhook-secret-previous FILE]\n"
     "         [--webhook-ca FILE] [--webhook-max-attempts N] [--webhook-lease SECONDS]]\n"
     "        [--sweep-every SECONDS] [--event-retention-days DAYS] [--session-ttl SECONDS]\n"
     "        [--outbox-stuck-after SECONDS] [--clock YYYY-MM-DD]\n"
     "        [--log-level debug|info|warn|error] [--log-format text|json]\n"
     "        [--metrics-access admin|public]",
     "serve the HTTP API on the catalogs in DIR (SIGHUP reloads catalogs, keys and webhook "
     "secrets; SIGTERM drains and exits); every setting also from CPQD_<NAME> or the --config "
     "file"},
    {"config", cmd_config, "check [--config FILE] [SERVE FLAGS...]",
     "check the settings serve would run with (flags > CPQD_* environment > file > default) "
     "and print each with its source"},
    {"check", cmd_check, "PATH... [--rules DIR]",
     "validate catalog files or directories; print every error as file:line:col: message"},
    {"rule", cmd_rule, "eval FILE [--input JSON]",
     "evaluate one Lua rule in the production sandbox; print OK|ERR_* and its value or message"},
    {"import", cmd_import, "xcsp|clib|dimacs INPUT... [-o OUT.yaml] [--id ID]",
     "convert a configuration benchmark (XCSP 2.1, CLib tables, DIMACS CNF) into a catalog"},
    {"key", cmd_key,
     "new --keys FILE --role partner|rep|manager|crm|admin [--partner P] [--name N]\n"
     "        | revoke --keys FILE ID | list --keys FILE",
     "add an API key to FILE (creating it) and print the key, the only time it is shown; "
     "revoke one (a running serve refuses it at once); list them (never a hash)"},
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

/* The price books' check of one snapshot, beside the configurator's. */
typedef struct price_job {
    const cat_snapshot *s;
    cpqd_errs *notes;
    int rc;
} price_job;

static void *price_job_run(void *arg)
{
    price_job *j = arg;
    j->rc = j->notes ? price_check(j->s, j->notes) : CPQD_ENOMEM;
    return NULL;
}

static void print_warnings(const cpqd_errs *notes)
{
    for (size_t i = 0; notes && i < errs_count(notes); i++) {
        char *line = errs_format(notes, i);
        fprintf(stderr, "warning: %s\n", line ? line : "?");
        free(line);
    }
}

/* Releases a checked path's snapshot; that of the last one (last)
 * without glibc's fast bins: a large catalog's hundreds of thousands of
 * small blocks would otherwise wait there and be coalesced all at once,
 * on this thread, when the first large block is freed after them (a
 * tenth of a second for 100,000 products); without them they are
 * coalesced as they are freed, on the threads that free them. Nothing is
 * allocated after the last but the messages. */
static void check_release(cat_snapshot *s, bool last)
{
#ifdef M_MXFAST
    if (last)
        mallopt(M_MXFAST, 0);
#else
    (void)last;
#endif
    cat_snapshot_release(s);
}

/* Loads one path; on success prints its summary line. */
static bool check_one(const char *path, const char *rules, bool name_it, bool last,
                      cpqd_errs *errs, check_sum *sum)
{
    cat_snapshot *s = cat_snapshot_load_path(path, rules, errs);
    if (!s)
        return false;
    size_t before = errs_count(errs);
    /* price books against the configurator: a ceiling no configuration
     * can meet (every order needs approval) is a warning. Read-only on
     * the snapshot like a request, it runs on a thread of its own beside
     * the checks below (inline if no thread can be had); its warnings
     * follow the configurator's, as they always did. */
    price_job pj = {s, errs_new(), 0};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, price_job_run, &pj) == 0;
    /* the configurator's static checks: a constraint that can never hold
     * and a product with no valid configuration are errors; dead and
     * always-forced options are warnings (reported, not failing) */
    cpqd_errs *notes = errs_new();
    if (!notes || solver_snapshot_check(s, errs, notes) != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while checking constraints");
    if (threaded)
        pthread_join(th, NULL);
    else
        price_job_run(&pj);
    if (pj.rc != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while checking price books");
    print_warnings(notes);
    print_warnings(pj.notes);
    errs_free(notes);
    errs_free(pj.notes);
    /* every formula and limit rule once on a sample line of each product
     * it applies to: a rule that always fails (a runaway loop, a runtime
     * error) is found here rather than by every price */
    price_worker *pw = price_worker_new();
    if (!pw || price_rules_check(pw, s, errs, NULL) != 0)
        errs_add(errs, CPQD_ENOMEM, path, 0, 0, "out of memory while running the rules");
    price_worker_free(pw);
    if (errs_count(errs) > before) {
        check_release(s, last);
        return false;
    }
    sum->catalogs += cat_snapshot_catalog_count(s);
    sum->products += cat_snapshot_product_count(s);
    printf("ok: %zu catalogs, %zu products, version %s%s%s%s\n", cat_snapshot_catalog_count(s),
           cat_snapshot_product_count(s), cat_snapshot_version(s), name_it ? " (" : "",
           name_it ? path : "", name_it ? ")" : "");
    check_release(s, last);
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
        failed += !check_one(a.pos[i], rules, a.npos > 1, i + 1 == a.npos, errs, &sum);
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

/* Every setting of serve, by its name in the configuration file (and
 * CPQD_<NAME> in the environment) and its flag (docs/operations.md
 * "Configuration"): a flag beats the environment, which beats the file,
 * which beats the default. */
enum {
    S_CATALOGS, S_RULES, S_LISTEN, S_THREADS, S_WRITE_THREADS, S_KEYS, S_DB, S_MAX_BODY,
    S_TIMEOUT, S_WEBHOOK,
    S_WEBHOOK_SECRET, S_WEBHOOK_SECRET_PREVIOUS, S_WEBHOOK_CA, S_WEBHOOK_MAX_ATTEMPTS,
    S_SWEEP_EVERY, S_CLOCK, S_LOG_LEVEL, S_LOG_FORMAT, S_METRICS_ACCESS, S_OUTBOX_STUCK_AFTER,
    S_WEBHOOK_LEASE, S_EVENT_RETENTION_DAYS, S_SESSION_TTL,
    S_N
};

static const char *const setting_names[S_N] = {
    "catalogs", "rules", "listen", "threads", "write_threads", "keys", "db", "max_body",
    "timeout", "webhook",
    "webhook_secret", "webhook_secret_previous", "webhook_ca", "webhook_max_attempts",
    "sweep_every", "clock", "log_level", "log_format", "metrics_access", "outbox_stuck_after",
    "webhook_lease", "event_retention_days", "session_ttl",
};

static const char *const setting_flags[S_N] = {
    "--catalogs", "--rules", "--listen", "--threads", "--write-threads", "--keys", "--db",
    "--max-body", "--timeout",
    "--webhook", "--webhook-secret", "--webhook-secret-previous", "--webhook-ca",
    "--webhook-max-attempts", "--sweep-every", "--clock", "--log-level", "--log-format",
    "--metrics-access", "--outbox-stuck-after", "--webhook-lease", "--event-retention-days",
    "--session-ttl",
};

typedef struct serve_flags {
    const char *v[S_N]; /* the value in force, NULL: the default */
    const config *src;  /* where each came from */
    const char *cmd;    /* "serve" or "config" */
} serve_flags;

#define DEFAULT_DB "var/cpqd.db"

/* A bad value: named as its source names it (the flag, the variable, the
 * file's position). EXIT_USAGE. */
static int bad_setting(const serve_flags *sf, int i, const char *want)
{
    const config_value *cv = config_get(sf->src, (size_t)i);
    if (cv->src == CONFIG_FILE)
        fprintf(stderr, "%s:%u:%u: invalid %s '%s' (%s)\n", config_path(sf->src), cv->line,
                cv->col, setting_names[i], cv->value, want);
    else if (cv->src == CONFIG_ENV)
        fprintf(stderr, "cpqd %s: invalid %s '%s' (%s)\n", sf->cmd, cv->env, cv->value, want);
    else
        return bad_value(sf->cmd, setting_flags[i], sf->v[i], want);
    return EXIT_USAGE;
}

/* A number setting in [lo, hi] into *out (left alone when not set). */
static int num_setting(const serve_flags *sf, int i, unsigned long long lo, unsigned long long hi,
                       const char *want, unsigned long long *out)
{
    if (sf->v[i] && !parse_num(sf->v[i], lo, hi, out))
        return bad_setting(sf, i, want);
    return 0;
}

static int serve_config_numbers(const serve_flags *sf, http_config *cfg)
{
    unsigned long long v[S_N] = {0};
    v[S_THREADS] = cfg->threads;
    v[S_WRITE_THREADS] = cfg->write_threads;
    v[S_MAX_BODY] = cfg->max_body;
    v[S_TIMEOUT] = cfg->timeout_s;
    v[S_WEBHOOK_MAX_ATTEMPTS] = cfg->webhook_max_attempts;
    v[S_SWEEP_EVERY] = cfg->sweep_every_s;
    v[S_OUTBOX_STUCK_AFTER] = cfg->outbox_stuck_s;
    v[S_WEBHOOK_LEASE] = cfg->webhook_lease_s;
    v[S_EVENT_RETENTION_DAYS] = cfg->event_retention_days;
    v[S_SESSION_TTL] = cfg->session_ttl_s ? cfg->session_ttl_s : PORTAL_TTL_DEFAULT;
    int rc = num_setting(sf, S_THREADS, 1, 1024, "1 to 1024", &v[S_THREADS]);
    if (!rc)
        rc = num_setting(sf, S_WRITE_THREADS, 0, 1024, "0 to 1024", &v[S_WRITE_THREADS]);
    if (!rc)
        rc = num_setting(sf, S_MAX_BODY, 1, 1ull << 40, "bytes, at least 1", &v[S_MAX_BODY]);
    if (!rc)
        rc = num_setting(sf, S_TIMEOUT, 1, 86400, "seconds, 1 to 86400", &v[S_TIMEOUT]);
    if (!rc)
        rc = num_setting(sf, S_WEBHOOK_MAX_ATTEMPTS, 1, 1000, "1 to 1000",
                         &v[S_WEBHOOK_MAX_ATTEMPTS]);
    if (!rc)
        rc = num_setting(sf, S_SWEEP_EVERY, 0, 31u * 86400, "seconds, 0 (off) to 2678400",
                         &v[S_SWEEP_EVERY]);
    if (!rc)
        rc = num_setting(sf, S_OUTBOX_STUCK_AFTER, 1, 86400, "seconds, 1 to 86400",
                         &v[S_OUTBOX_STUCK_AFTER]);
    if (!rc)
        rc = num_setting(sf, S_WEBHOOK_LEASE, 1, 3600, "seconds, 1 to 3600", &v[S_WEBHOOK_LEASE]);
    if (!rc)
        rc = num_setting(sf, S_EVENT_RETENTION_DAYS, 0, 36500,
                         "days, 0 (keep every event) to 36500", &v[S_EVENT_RETENTION_DAYS]);
    if (!rc)
        rc = num_setting(sf, S_SESSION_TTL, 1, PORTAL_TTL_MAX, "seconds, 1 to 2592000",
                         &v[S_SESSION_TTL]);
    cfg->webhook_lease_s = (unsigned)v[S_WEBHOOK_LEASE];
    cfg->event_retention_days = (unsigned)v[S_EVENT_RETENTION_DAYS];
    cfg->session_ttl_s = (unsigned)v[S_SESSION_TTL];
    cfg->threads = (unsigned)v[S_THREADS];
    cfg->write_threads = (unsigned)v[S_WRITE_THREADS];
    cfg->max_body = (size_t)v[S_MAX_BODY];
    cfg->timeout_s = (unsigned)v[S_TIMEOUT];
    cfg->webhook_max_attempts = (unsigned)v[S_WEBHOOK_MAX_ATTEMPTS];
    cfg->sweep_every_s = (unsigned)v[S_SWEEP_EVERY];
    cfg->outbox_stuck_s = (unsigned)v[S_OUTBOX_STUCK_AFTER];
    return rc;
}

/* The webhook's settings go together. */
static int serve_config_webhook(const serve_flags *sf, http_config *cfg)
{
    const char *const *v = sf->v;
    bool extra = v[S_WEBHOOK_MAX_ATTEMPTS] || v[S_WEBHOOK_SECRET_PREVIOUS] || v[S_WEBHOOK_CA] ||
                 v[S_WEBHOOK_LEASE];
    if (!v[S_WEBHOOK] != !v[S_WEBHOOK_SECRET] || (extra && !v[S_WEBHOOK])) {
        fprintf(stderr, "cpqd %s: --webhook and --webhook-secret go together (and "
                        "--webhook-secret-previous, --webhook-ca, --webhook-max-attempts and "
                        "--webhook-lease go with them)\n",
                sf->cmd);
        usage(stderr, cmd_find(sf->cmd));
        return EXIT_USAGE;
    }
    cfg->webhook_url = v[S_WEBHOOK];
    cfg->webhook_secret_file = v[S_WEBHOOK_SECRET];
    cfg->webhook_secret_previous_file = v[S_WEBHOOK_SECRET_PREVIOUS];
    cfg->webhook_ca = v[S_WEBHOOK_CA];
    return 0;
}

/* --clock, --log-level, --log-format, --metrics-access. */
static int serve_config_words(const serve_flags *sf, http_config *cfg)
{
    const char *const *v = sf->v;
    log_level lvl;
    log_format fmt;
    date_days today;
    if (v[S_LOG_FORMAT] && log_format_parse(v[S_LOG_FORMAT], &fmt) != 0)
        return bad_setting(sf, S_LOG_FORMAT, "text or json");
    if (v[S_LOG_FORMAT])
        log_format_set(fmt);
    if (v[S_LOG_LEVEL] && log_level_parse(v[S_LOG_LEVEL], &lvl) != 0)
        return bad_setting(sf, S_LOG_LEVEL, "debug, info, warn or error");
    if (v[S_LOG_LEVEL])
        log_level_set(lvl);
    const char *m = v[S_METRICS_ACCESS];
    if (m && strcmp(m, "admin") != 0 && strcmp(m, "public") != 0)
        return bad_setting(sf, S_METRICS_ACCESS, "admin or public");
    cfg->metrics_public = m && strcmp(m, "public") == 0;
    if (v[S_CLOCK] && date_parse(v[S_CLOCK], strlen(v[S_CLOCK]), &today) != 0)
        return bad_setting(sf, S_CLOCK, "a date YYYY-MM-DD");
    if (v[S_CLOCK]) { /* tests: the service's "today" without waiting */
        date_clock_set(today);
        log_warn("--clock: today is %s for this process (testing only)", v[S_CLOCK]);
    }
    return 0;
}

/* Turns the settings into cfg; EXIT_USAGE on a bad value. */
static int serve_config(const serve_flags *sf, http_config *cfg)
{
    const char *const *v = sf->v;
    http_config_init(cfg);
    if (!v[S_CATALOGS] || !v[S_LISTEN]) {
        fprintf(stderr, "cpqd %s: --catalogs and --listen are required (as flags, "
                        "CPQD_CATALOGS and CPQD_LISTEN, or in the --config file)\n",
                sf->cmd);
        usage(stderr, cmd_find(sf->cmd));
        return EXIT_USAGE;
    }
    cfg->catalog_dir = v[S_CATALOGS];
    cfg->rules_dir = v[S_RULES];
    cfg->listen = v[S_LISTEN];
    cfg->db_path = v[S_DB] ? v[S_DB] : DEFAULT_DB;
    int rc = serve_config_numbers(sf, cfg);
    if (rc == 0)
        rc = serve_config_webhook(sf, cfg);
    if (rc == 0)
        rc = serve_config_words(sf, cfg);
    return rc;
}

/* Parses serve's flags (and --config) and resolves every setting from
 * the flags, the environment and the file. Returns 0 with *src (free
 * with config_free), or the exit status after saying why. */
static int serve_settings(int argc, char **argv, serve_flags *sf, config **src)
{
    const char *flagv[S_N] = {0}, *file = NULL;
    cli_flag flags[S_N + 2];
    for (int i = 0; i < S_N; i++)
        flags[i] = (cli_flag){setting_flags[i], &flagv[i]};
    flags[S_N] = (cli_flag){"--config", &file};
    flags[S_N + 1] = (cli_flag){NULL, NULL};
    cli_args a;
    int rc = args_parse(argc, argv, flags, 0, &a);
    cli_args_fini(&a);
    if (rc)
        return rc;
    if (!file && getenv("CPQD_CONFIG") && *getenv("CPQD_CONFIG"))
        file = getenv("CPQD_CONFIG");
    cpqd_errs *errs = errs_new();
    rc = errs ? config_resolve(setting_names, S_N, flagv, file, src, errs) : CPQD_ENOMEM;
    if (rc) {
        if (errs)
            cli_errs_print(errs);
        fprintf(stderr, "cpqd %s: the configuration file %s cannot be used\n", sf->cmd,
                file ? file : "");
        errs_free(errs);
        return rc == CPQD_ENOMEM ? EXIT_FAILURE : EXIT_USAGE;
    }
    errs_free(errs);
    sf->src = *src;
    for (int i = 0; i < S_N; i++)
        sf->v[i] = config_get(*src, (size_t)i)->value;
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
static int serve_auth(const serve_flags *sf, http_config *cfg, auth_keyring **keys)
{
    const char *path = sf->v[S_KEYS];
    if (!path) {
        /* http refuses a non-loopback address without keys */
        log_warn("no --keys: authentication is off and every caller is an admin "
                 "(development only, loopback only)");
        return 0;
    }
    cpqd_errs *errs = errs_new();
    int rc = errs ? auth_keyring_open(path, keys, errs) : CPQD_ENOMEM;
    if (rc) {
        if (errs)
            cli_errs_print(errs);
        fprintf(stderr, "cpqd %s: cannot use the key file %s; not starting\n", sf->cmd, path);
    } else {
        cfg->keyring = *keys;
        auth_keys *k = auth_keyring_acquire(*keys);
        log_info("%zu API keys from %s (%zu revoked); the file is read again when it changes",
                 auth_keys_count(k), path, auth_keys_revoked(k));
        auth_keys_release(k);
    }
    errs_free(errs);
    return rc ? EXIT_FAILURE : 0;
}

/* Reads one webhook secret file (trailing newlines dropped). */
static int serve_secret_one(const serve_flags *sf, int i, char **out, size_t *len)
{
    char why[FILE_WHY_MAX];
    if (!sf->v[i])
        return 0;
    if (outbox_secret_read(sf->v[i], out, len, why) == 0)
        return 0;
    fprintf(stderr, "cpqd %s: %s %s: %s; not starting\n", sf->cmd, setting_flags[i], sf->v[i],
            why);
    return EXIT_FAILURE;
}

/* Reads the webhook secrets into cfg (*cur, *prev: malloc'ed, freed by
 * the caller). */
static int serve_secret(const serve_flags *sf, http_config *cfg, char **cur, char **prev)
{
    size_t n = 0;
    int rc = serve_secret_one(sf, S_WEBHOOK_SECRET, cur, &n);
    cfg->webhook_secret = *cur;
    cfg->webhook_secret_len = n;
    n = 0;
    if (rc == 0)
        rc = serve_secret_one(sf, S_WEBHOOK_SECRET_PREVIOUS, prev, &n);
    cfg->webhook_secret_previous = *prev;
    cfg->webhook_secret_previous_len = n;
    return rc;
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
    serve_flags sf = {.cmd = "serve"};
    config *src = NULL;
    http_config cfg;
    int rc = serve_settings(argc, argv, &sf, &src);
    if (rc == 0)
        rc = serve_config(&sf, &cfg);
    auth_keyring *keys = NULL;
    if (rc == 0)
        rc = serve_auth(&sf, &cfg, &keys);
    char *secret = NULL, *previous = NULL;
    if (rc == 0)
        rc = serve_secret(&sf, &cfg, &secret, &previous);
    if (rc == 0 && config_path(src))
        log_info("settings from %s (flags and CPQD_* variables take precedence)",
                 config_path(src));
    if (rc == 0)
        rc = serve_store(&cfg);
    if (rc == 0)
        rc = serve_load(&cfg);
    if (rc == 0)
        rc = http_serve(&cfg) == 0 ? 0 : EXIT_FAILURE;
    cat_current_publish_take(NULL); /* drops the last snapshot before exit */
    auth_keyring_close(keys);
    outbox_secret_free(secret, cfg.webhook_secret_len);
    outbox_secret_free(previous, cfg.webhook_secret_previous_len);
    config_free(src);
    quote_archive_cache_clear();
    return rc;
}

/* ---- config check ---- */

/* Prints the settings in force and where each comes from; a password in
 * a URL shows as ***. */
static void config_print(const serve_flags *sf)
{
    http_config d;
    char num[S_N][24] = {{0}};
    http_config_init(&d);
    snprintf(num[S_THREADS], 24, "%u", d.threads);
    snprintf(num[S_WRITE_THREADS], 24, "%u", d.write_threads);
    snprintf(num[S_MAX_BODY], 24, "%zu", d.max_body);
    snprintf(num[S_TIMEOUT], 24, "%u", d.timeout_s);
    snprintf(num[S_WEBHOOK_MAX_ATTEMPTS], 24, "%u", d.webhook_max_attempts);
    snprintf(num[S_SWEEP_EVERY], 24, "%u", d.sweep_every_s);
    snprintf(num[S_OUTBOX_STUCK_AFTER], 24, "%u", d.outbox_stuck_s);
    snprintf(num[S_WEBHOOK_LEASE], 24, "%u", OUTBOX_DEFAULT_LEASE_S);
    snprintf(num[S_EVENT_RETENTION_DAYS], 24, "%u", d.event_retention_days);
    snprintf(num[S_SESSION_TTL], 24, "%u", PORTAL_TTL_DEFAULT);
    snprintf(num[S_DB], 24, "%s", DEFAULT_DB);
    snprintf(num[S_LOG_LEVEL], 24, "info");
    snprintf(num[S_LOG_FORMAT], 24, "text");
    snprintf(num[S_METRICS_ACCESS], 24, "admin");
    snprintf(num[S_RULES], 24, "CATALOGS/../rules");
    for (int i = 0; i < S_N; i++) {
        const config_value *cv = config_get(sf->src, (size_t)i);
        char shown[1024], where[1100];
        const char *v = cv->value ? cv->value : num[i][0] ? num[i] : "-";
        if (cv->value && (i == S_DB || i == S_WEBHOOK))
            v = store_location_redact(cv->value, shown, sizeof(shown));
        if (cv->src == CONFIG_FILE)
            snprintf(where, sizeof(where), "%s:%u:%u", config_path(sf->src), cv->line, cv->col);
        else if (cv->src == CONFIG_ENV)
            snprintf(where, sizeof(where), "env %s", cv->env);
        else if (cv->src == CONFIG_FLAG)
            snprintf(where, sizeof(where), "flag %s", setting_flags[i]);
        else
            snprintf(where, sizeof(where), "default");
        printf("%-24s %-40s %s\n", setting_names[i], v, where);
    }
}

/* What serve would find unusable at start, short of binding and loading
 * the catalogs: the key file, the secret files, the CA file, the
 * webhook URL, the catalog and rule directories. */
static int config_files_check(const serve_flags *sf, const http_config *cfg)
{
    int bad = 0;
    struct stat st;
    for (int i = S_CATALOGS; i <= S_RULES; i++)
        if (sf->v[i] && stat(sf->v[i], &st) != 0 && ++bad)
            fprintf(stderr, "cpqd config: %s %s: %s\n", setting_flags[i], sf->v[i],
                    strerror(errno));
    cpqd_errs *errs = errs_new();
    auth_keys *k = NULL;
    if (errs && sf->v[S_KEYS] && auth_keys_load(sf->v[S_KEYS], &k, errs) != 0 && ++bad)
        cli_errs_print(errs);
    auth_keys_free(k);
    errs_free(errs);
    char *sec = NULL, *prev = NULL;
    http_config tmp = *cfg;
    if (serve_secret(sf, &tmp, &sec, &prev) != 0)
        bad++;
    outbox_secret_free(sec, tmp.webhook_secret_len);
    outbox_secret_free(prev, tmp.webhook_secret_previous_len);
    char why[512];
    if (cfg->webhook_url && outbox_url_check(cfg->webhook_url, cfg->webhook_ca, why,
                                             sizeof(why)) != 0 && ++bad)
        fprintf(stderr, "cpqd config: --webhook: %s\n", why);
    return bad;
}

static int cmd_config(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        usage(stderr, cmd_find("config"));
        return EXIT_USAGE;
    }
    serve_flags sf = {.cmd = "config"};
    config *src = NULL;
    http_config cfg;
    int rc = serve_settings(argc - 1, argv + 1, &sf, &src);
    if (rc == 0)
        rc = serve_config(&sf, &cfg);
    if (rc == 0 && config_files_check(&sf, &cfg) != 0)
        rc = EXIT_FAILURE;
    if (rc == 0) {
        config_print(&sf);
        fprintf(stderr, "cpqd config check: ok%s%s%s\n", config_path(src) ? " (" : "",
                config_path(src) ? config_path(src) : "", config_path(src) ? ")" : "");
    } else if (rc == EXIT_FAILURE) {
        fprintf(stderr, "cpqd config check: serve would not start with these settings\n");
    }
    config_free(src);
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
    if (argc < 2 || (strcmp(argv[1], "new") != 0 && strcmp(argv[1], "revoke") != 0 &&
                     strcmp(argv[1], "list") != 0)) {
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
