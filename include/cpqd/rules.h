/*
 * rules: Lua 5.4 pricing formulas and promotion limits in a sandbox.
 *
 * Owns: compiling rule sources once (rules_chunk), the per-worker sandbox
 * that runs them (rules_state: one lua_State with a counting allocator,
 * an instruction budget, a CPU-time deadline and read-only libraries),
 * the exact `decimal` type rules compute money with, turning rule results
 * into plain C values, and the `cpqd rule eval` command. docs/rules.md is
 * the contract rule authors read.
 * Does not own: which rule applies to which line or what a result means
 * (price), rule files on disk (cat), money arithmetic (money).
 *
 * Key invariant: nothing a rule does outlives its evaluation. Every
 * evaluation gets a fresh global table; the libraries, the string
 * metatable and the decimal metatable are unreachable or read-only; a
 * limit that trips is sticky, so the rule cannot catch it; results are
 * read with raw API calls only, so no rule code runs after the limits
 * are lifted. No Lua type appears in this header.
 *
 * Ownership: rules_compile copies the name and source into the chunk;
 * rules_eval copies everything it returns into the caller's rules_result.
 * Inputs are only read, during the call.
 * Thread-safety: a rules_chunk is immutable, share freely (between
 * threads and states); a rules_state is per-worker, never used by two
 * threads at once. Evaluation needs >= 256 KiB of C stack (Lua allows 200
 * nested C calls).
 */
#ifndef CPQD_RULES_H
#define CPQD_RULES_H

#include "cpqd/err.h"
#include "cpqd/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rules_state rules_state; /* opaque; per-worker */
typedef struct rules_chunk rules_chunk; /* opaque; immutable, share freely */

/* Defaults used for any rules_limits field left 0. */
#define RULES_DEFAULT_MEMORY ((size_t)8 << 20)       /* bytes per evaluation */
#define RULES_DEFAULT_INSTRUCTIONS ((uint64_t)1000000) /* budget units */
#define RULES_DEFAULT_TIME_MS 50u /* x10 in AddressSanitizer builds */
#define RULES_DEFAULT_SOURCE ((size_t)16 << 10) /* bytes of rule source */
#define RULES_DEFAULT_CACHE 4096u               /* compiled chunks per state */

/* Per-evaluation limits of a state (0 in a field: its default). */
typedef struct rules_limits {
    size_t memory;         /* bytes an evaluation may hold beyond what the state held before */
    uint64_t instructions; /* budget: one unit per VM instruction; C library calls and
                              allocations are charged by their size (docs/rules.md) */
    unsigned time_ms;      /* deadline per evaluation, in the thread's CPU time */
    size_t source;         /* largest source rules_compile accepts */
    size_t cache;          /* compiled chunks a state keeps before it starts over */
} rules_limits;

/* How an evaluation ended: the classes `cpqd rule eval` prints. */
typedef enum rules_outcome {
    RULES_OK,          /* returned normally; values are set */
    RULES_ERR_MEM,     /* memory cap hit (sticky: pcall cannot catch it) */
    RULES_ERR_CPU,     /* instruction budget exhausted (sticky) */
    RULES_ERR_TIME,    /* CPU-time deadline passed (sticky) */
    RULES_ERR_RUNTIME, /* an ordinary Lua error, or a cost guard refused a call */
    RULES_ERR_COMPILE, /* the source did not compile */
    RULES_ERR_RESULT,  /* ran, but returned something the host refuses */
} rules_outcome;

/* Value types. Inputs use every type but RULES_T_NUM; results use every
 * type but RULES_T_TABLE. */
typedef enum rules_type {
    RULES_T_NIL,
    RULES_T_BOOL,
    RULES_T_INT,   /* Lua integer */
    RULES_T_NUM,   /* finite Lua float: results only, never money */
    RULES_T_STR,   /* bytes with a length (may hold NULs) */
    RULES_T_DEC,   /* exact decimal: money and quantities */
    RULES_T_TABLE, /* inputs only: named fields, becomes a Lua table */
} rules_type;

typedef struct rules_field rules_field;

typedef struct rules_value {
    rules_type type;
    union {
        bool b;
        int64_t i;
        double num;
        struct {
            const char *ptr; /* not NUL-terminated in inputs; NUL-terminated in results */
            size_t len;
        } str;
        money_dec dec;
        struct {
            const rules_field *fields; /* n fields, names unique */
            size_t n;
        } table;
    } u;
} rules_value;

struct rules_field {
    const char *name;  /* NUL-terminated; a Lua identifier to be reachable as ctx.name */
    rules_value value;
};

/* Value constructors for building inputs. */
static inline rules_value rules_value_nil(void)
{
    return (rules_value){.type = RULES_T_NIL};
}
static inline rules_value rules_value_bool(bool b)
{
    return (rules_value){.type = RULES_T_BOOL, .u.b = b};
}
static inline rules_value rules_value_int(int64_t i)
{
    return (rules_value){.type = RULES_T_INT, .u.i = i};
}
static inline rules_value rules_value_str(const char *s, size_t len)
{
    return (rules_value){.type = RULES_T_STR, .u.str = {s, len}};
}
static inline rules_value rules_value_dec(money_dec d)
{
    return (rules_value){.type = RULES_T_DEC, .u.dec = d};
}
static inline rules_value rules_value_table(const rules_field *fields, size_t n)
{
    return (rules_value){.type = RULES_T_TABLE, .u.table = {fields, n}};
}

/* Result types rules_eval accepts, as a mask of RULES_ACCEPT(type) bits;
 * 0 accepts any result type. Money: nil (no change), an integer or a
 * decimal, never a float. */
#define RULES_ACCEPT(t) (1u << (t))
#define RULES_ACCEPT_ANY 0u
#define RULES_ACCEPT_MONEY                                                                         \
    (RULES_ACCEPT(RULES_T_NIL) | RULES_ACCEPT(RULES_T_INT) | RULES_ACCEPT(RULES_T_DEC))

#define RULES_RESULTS_MAX 8   /* values a rule may return */
#define RULES_TEXT_MAX 4096   /* bytes of result strings (with NULs) or of the message */
#define RULES_INPUT_DEPTH 16  /* nesting of input tables */

/* What an evaluation produced. Self-referential (strings point into
 * text): fill it with rules_eval, read it in place, never copy it by
 * value. */
typedef struct rules_result {
    rules_outcome outcome;
    size_t n;                              /* values returned (RULES_OK only) */
    rules_value values[RULES_RESULTS_MAX]; /* strings point into text */
    const char *msg;                       /* "" when OK, else why (into text) */
    uint64_t cost;                         /* budget units the evaluation used */
    size_t mem_peak;                       /* most bytes it held at once */
    unsigned line; /* failures: the rule's line where it stopped (a runtime error:
                      where it was raised; a limit: where it tripped; ERR_MEM from
                      the VM: the last line the sandbox saw while memory was above
                      half the cap); 0 if unknown, for ERR_COMPILE and ERR_RESULT */
    char text[RULES_TEXT_MAX];
} rules_result;

/* ---- states ---- */

/* New sandbox state with lim (NULL: all defaults). Returns NULL and sets
 * *err to CPQD_ENOMEM if memory ran out. The state belongs to one thread
 * at a time. */
rules_state *rules_state_new(const rules_limits *lim, int *err);
/* Closes the state and its compiled functions. NULL is a no-op. */
void rules_state_free(rules_state *st);
/* The limits in force, defaults filled in. */
rules_limits rules_state_limits(const rules_state *st);
/* Forgets every compiled function (they are recompiled from their chunk
 * on next use). Call after swapping catalog snapshots so that the old
 * snapshot's rules stop taking memory in every worker. */
void rules_state_cache_clear(rules_state *st);
/* Checks the state's invariants between evaluations: no hook armed, no
 * limit tripped, empty stack, collector running, string metatable still
 * the sanitized one. Returns 0, or CPQD_EINTERNAL (a sandbox bug; the
 * state rebuilds itself on its next evaluation). For tests. */
int rules_state_check(rules_state *st);

/* ---- chunks ---- */

/* Compiles src[0..len) (Lua text; binary chunks are refused) named name
 * (a file path: messages read "name:line: ..."). On success *out is a new
 * chunk the caller frees with rules_chunk_free; it is already compiled in
 * st, and compiled lazily once in any other state that evaluates it (never
 * once per evaluation). st may be NULL to only check and build the chunk
 * in a throw-away state (catalog loading, `cpqd check`).
 * Returns 0; CPQD_ELIMIT if len exceeds the state's source limit;
 * CPQD_EINVAL on a syntax error (or nesting too deep); CPQD_ENOMEM. Every
 * failure but ENOMEM adds one error to errs (if not NULL) with file =
 * name and the line Lua reported (0 if none). */
int rules_compile(rules_state *st, const char *name, const char *src, size_t len,
                  rules_chunk **out, cpqd_errs *errs);
/* Frees a chunk. States that compiled it keep their copy until
 * rules_state_cache_clear or rules_state_free. NULL is a no-op. */
void rules_chunk_free(rules_chunk *ch);
/* The name given to rules_compile. */
const char *rules_chunk_name(const rules_chunk *ch);

/* ---- evaluation ---- */

/* Runs ch in st. input is NULL or a RULES_T_TABLE whose fields become the
 * rule's global variables (a fresh set per evaluation); nested tables
 * become Lua tables, decimals become `decimal` values. accept limits the
 * result types (RULES_ACCEPT_*); another type gives RULES_ERR_RESULT.
 * Always fills *out. Returns 0 if out->outcome is RULES_OK; CPQD_ELIMIT
 * for ERR_MEM/CPU/TIME; CPQD_EINVAL for ERR_RUNTIME/COMPILE/RESULT and for
 * an invalid input (a float, nesting deeper than RULES_INPUT_DEPTH, an
 * invalid decimal, a NULL name: reported as ERR_RUNTIME "invalid input");
 * CPQD_ENOMEM if the sandbox could not be rebuilt after a failure. The
 * state stays usable after every outcome. */
int rules_eval(rules_state *st, const rules_chunk *ch, const rules_value *input, unsigned accept,
               rules_result *out);

/* "OK", "ERR_MEM", ... as `cpqd rule eval` prints them; "?" otherwise. */
const char *rules_outcome_name(rules_outcome o);
/* Writes v as the CLI shows it: nil, true, 42, 1.5 (Lua's %.14g, "2.0"
 * for integral floats), string bytes as they are, decimals with their
 * scale ("12.50"); tables as "table". NUL-terminated, truncated to cap.
 * Returns the untruncated length (snprintf-style). */
size_t rules_value_format(const rules_value *v, char *buf, size_t cap);
/* "OK v1,v2" (just "OK" for no values) or "ERR_CPU message", as
 * rules_value_format. */
size_t rules_result_format(const rules_result *r, char *buf, size_t cap);

/* `cpqd rule eval FILE [--input JSON]` with argv[0] == "eval": evaluates
 * FILE in exactly the production sandbox (default limits) and prints one
 * line "CLASS value-or-message" to stdout. --input takes a JSON object:
 * its members become globals; objects become tables, strings strings,
 * integers integers, true/false booleans, null nil, and {"$dec": "12.50"}
 * a decimal; fractional numbers and arrays are refused. Returns the exit
 * status: 0 if the outcome is OK, 1 for any other outcome, 2 for a usage
 * or I/O error (message on stderr). */
int rules_cli_eval(int argc, char **argv);

#endif
