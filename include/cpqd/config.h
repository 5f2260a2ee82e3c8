/*
 * config: where each setting of a command comes from
 * (docs/operations.md "Configuration").
 *
 * Owns: reading the configuration file (YAML: one mapping of setting
 * names to scalar values, `listen: 127.0.0.1:8080`), the environment
 * names of settings (CPQD_ + the name in upper case: CPQD_LISTEN), and the
 * precedence between the sources: a flag beats the environment, which
 * beats the file, which beats the default. Does not own: which settings
 * a command has or what their values mean (main checks them).
 *
 * Ownership: a config owns the file's strings; a value from a flag or
 * the environment points into argv or environ, which outlive it.
 * Thread-safety: build and read it on one thread (getenv).
 */
#ifndef CPQD_CONFIG_H
#define CPQD_CONFIG_H

#include "cpqd/err.h"

#include <stddef.h>

#define CONFIG_MAX_FILE (1u << 20) /* bytes of a configuration file */
#define CONFIG_ENV_MAX 64          /* bytes of an environment variable's name */

typedef enum config_source {
    CONFIG_DEFAULT, /* none of the others: the command's default applies */
    CONFIG_FILE,
    CONFIG_ENV,
    CONFIG_FLAG,
} config_source;

typedef struct config_value {
    const char *value;        /* NULL for CONFIG_DEFAULT */
    config_source src;
    unsigned line, col;       /* CONFIG_FILE: where the value is */
    char env[CONFIG_ENV_MAX]; /* the variable's name, "CPQD_LISTEN" */
} config_value;

typedef struct config config; /* opaque */

/* Resolves the settings names[0..n) ("listen", "webhook_secret": letters,
 * digits and '_') from flags[i] (the flag's value, NULL when not given),
 * the environment and the file at path (NULL: no file). Every problem of
 * the file is reported as file:line:col: a key that is not a setting
 * (naming the settings), a value that is not a scalar or is empty, a
 * document that is not a mapping, YAML errors; an unreadable file. Returns
 * 0 with *out (free with config_free), or CPQD_EINVAL / CPQD_EIO /
 * CPQD_ENOMEM with *out NULL. */
int config_resolve(const char *const *names, size_t n, const char *const *flags,
                   const char *path, config **out, cpqd_errs *errs);
/* The i-th setting (i < n). */
const config_value *config_get(const config *c, size_t i);
/* The file it read, NULL if none. */
const char *config_path(const config *c);
void config_free(config *c);
/* "default", "file", "env", "flag". */
const char *config_source_name(config_source s);

#endif
