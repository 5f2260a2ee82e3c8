/*
 * cli: the arguments of a `cpqd` command, parsed one way for all of them.
 *
 * Owns: the flag syntax every command shares ("--name VALUE",
 * "--name=VALUE", one-letter "-o VALUE" / "-oVALUE" / "-o=VALUE", flags
 * anywhere among the positional arguments, "--" ending them, no
 * abbreviations), its error messages, and printing a list of errors the
 * way every command does. Parsing is glibc's getopt_long. Does not own:
 * which flags a command has, what their values mean, usage texts or exit
 * codes (main and the modules that implement commands).
 *
 * Ownership: cli_args holds pointers into argv (never copied) in an
 * array it owns; cli_args_fini frees that array.
 * Thread-safety: cli_args_parse uses getopt's process-wide state: call it
 * from the main thread before any other thread starts (as commands do).
 */
#ifndef CPQD_CLI_H
#define CPQD_CLI_H

#include "cpqd/err.h"

#include <stddef.h>

#define CLI_WHY_MAX 512 /* bytes of a usage error's reason, NUL included */

typedef struct cli_flag {
    const char *name;   /* "--catalogs", or a one-letter "-o"; NULL ends a list */
    const char **value; /* receives the flag's value (every flag takes one;
                           the last one given wins); untouched if absent */
} cli_flag;

typedef struct cli_args {
    const char **pos;      /* positional arguments in order, pointers into argv */
    size_t npos;           /* how many */
    char why[CLI_WHY_MAX]; /* after CPQD_EINVAL: what is wrong, without the
                              command's name ("unknown flag '--x'") */
} cli_args;

/* Parses argv[1..argc) (argv[0] names the command) against flags, a list
 * ended by {NULL, NULL}, taking at most max_pos positional arguments
 * (SIZE_MAX for any number). Values and positional arguments are
 * pointers into argv, which is not reordered.
 *
 * Returns 0; CPQD_EINVAL at the first problem, with out->why one of
 *   "unknown flag '<arg>'"        (an abbreviated long flag included)
 *   "flag <name> needs a value"
 *   "unexpected argument '<arg>'" (more than max_pos positional ones);
 * or CPQD_ENOMEM. Call cli_args_fini afterwards whatever it returned. */
int cli_args_parse(int argc, char **argv, const cli_flag *flags, size_t max_pos, cli_args *out);
/* Frees what cli_args_parse allocated; safe on a zeroed or failed a. */
void cli_args_fini(cli_args *a);

/* Prints every error of errs to stderr, sorted by position, one a line
 * as errs_format writes it ("file:line:col: message"). Sorts errs. */
void cli_errs_print(cpqd_errs *errs);

#endif
