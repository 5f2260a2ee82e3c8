/*
 * rules_int: declarations shared by the rules module's files only.
 *
 *   rules.c      state, allocator, hook, compile, evaluate, results
 *   rules_lib.c  the sandbox's global table: whitelisted library
 *                functions behind read-only proxies, cost guards
 *   rules_dec.c  the `decimal` userdata over money_dec
 *   rules_cli.c  `cpqd rule eval` (JSON input through jansson)
 *
 * Lua types may appear here: this header is never included outside the
 * module.
 */
#ifndef CPQD_RULES_INT_H
#define CPQD_RULES_INT_H

#include "cpqd/rules.h"

#include <lauxlib.h>
#include <lua.h>

/* Count-hook period in VM instructions, and the shorter one used once an
 * evaluation has made a large allocation: then a single instruction
 * (comparing or coercing a multi-megabyte string) can cost milliseconds,
 * so the deadline is checked more often. */
#define RULES_HOOK_PERIOD 128
#define RULES_HOOK_PERIOD_BIG 8
#define RULES_BIG_ALLOC ((size_t)1 << 20)
/* Allocation is charged to the budget: one unit per this many bytes. */
#define RULES_ALLOC_BYTES_PER_UNIT 128
/* Blocks of RULES_BLOCK_MIN bytes or more come in power-of-two classes
 * (RULES_BLOCK_MIN << c) and are kept when freed, up to the memory limit
 * in all, for reuse by later allocations of the same state: pages fresh
 * from the kernel cost far more than the copy that fills them (a rule
 * building multi-megabyte strings otherwise spends most of its time in
 * page faults). Lua's own accounting (st->used) counts requested sizes. */
#define RULES_BLOCK_MIN ((size_t)4 << 10)
#define RULES_BLOCK_CLASSES 12 /* 4 KiB .. 8 MiB; larger blocks are plain malloc */
#define RULES_BLOCK_SLOTS 4   /* kept blocks per class */

struct rules_state {
    lua_State *L;
    rules_limits lim; /* defaults filled in */

    /* allocator accounting (see rules_alloc) */
    size_t used;       /* bytes L holds now */
    size_t base;       /* bytes held when the evaluation began */
    size_t mem_limit;  /* growth beyond this is refused while armed */
    size_t peak;       /* most bytes held during the evaluation */
    unsigned refusals; /* allocations the memory limit refused in this evaluation */
    bool armed;        /* an evaluation or compilation is running */
    bool big;          /* this evaluation made an allocation >= RULES_BIG_ALLOC */

    /* kept large blocks (see RULES_BLOCK_MIN) */
    void *kept[RULES_BLOCK_CLASSES][RULES_BLOCK_SLOTS];
    unsigned nkept[RULES_BLOCK_CLASSES];
    size_t kept_bytes;

    /* budget and deadline */
    int64_t budget;      /* units left; below 0 trips RULES_ERR_CPU */
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
    int period;          /* hook period in force */
    rules_outcome kill;  /* RULES_OK, or the limit that tripped (sticky) */
    unsigned line;       /* the rule's line where the evaluation stopped, 0 if unknown */
    bool line_fixed;     /* line is where a limit tripped: the error escaping later keeps it */
    bool near_cap;       /* the evaluation held more than half the memory cap */
    lua_Integer labels;  /* values tostring has named in this evaluation (rules_lib.c) */

    /* sandbox identity, checked after every evaluation */
    const void *str_mt;    /* the string metatable */
    const void *str_index; /* its __index: the sanitized string table */
    const void *dec_mt;    /* the decimal metatable */
    int env_mt_ref;        /* registry ref: metatable of every fresh environment */
    int cache_ref;         /* registry ref: chunk id -> compiled function */
    size_t ncached;        /* entries in the cache table */
    bool broken;           /* an invariant failed: rebuild before next use */
};

/* The state L belongs to (kept in L's extra space). */
static inline rules_state *rules_of(lua_State *L)
{
    return *(rules_state **)lua_getextraspace(L);
}

/* Raises the error of the limit that tripped (st->kill != RULES_OK) and
 * makes the hook fire on every instruction from now on. Never returns
 * (declared int so C functions can `return rules_raise_kill(L);`). */
int rules_raise_kill(lua_State *L);
/* Charges units to the evaluation's budget from a C function, and checks
 * the deadline; raises (sticky) if either is exhausted or a limit tripped
 * earlier. */
void rules_charge(lua_State *L, uint64_t units);

/* Runs a full collection first if fewer than need bytes are left under
 * the memory limit, charging it to the budget. For C functions that build
 * their result in a luaL_Buffer: its allocations go straight to the
 * allocator, so Lua's collect-and-retry on a refusal never helps them. */
void rules_make_room(lua_State *L, uint64_t need);
/* Whether a failed call (status, error object on top) failed for memory:
 * LUA_ERRMEM, or lauxlib's "not enough memory" error after the limit
 * refused an allocation in this evaluation. */
bool rules_is_memory_error(lua_State *L, int status);

/* Builds the sandbox in a new state (rules_lib.c): the sanitized library
 * tables, the string metatable's __index, the environment metatable, the
 * decimal type, and records their identities in st. Called through
 * lua_pcall with st as a light userdata at index 1. */
int rules_lib_open(lua_State *L);

/* Forgets the names tostring gave values in the evaluation that ended
 * (rules_lib.c); call protected. Returns 0. */
int rules_lib_labels_forget(lua_State *L);

/* Registers the decimal metatable and puts `dec` and `isdec` into the
 * table at index base (rules_dec.c). Returns the metatable's identity. */
const void *rules_dec_open(lua_State *L, int base);
/* Pushes a new decimal holding v. */
void rules_dec_push(lua_State *L, money_dec v);

#ifdef CPQD_TESTING
/* Test builds only, not thread-safe. Makes the nth allocation from now
 * fail in whichever state makes it (0: none). */
void rules_test_fail_alloc(long nth);
/* The countdown left: > 0 if the failure has not happened yet. */
long rules_test_fail_pending(void);
/* Chunks compiled so far, by all states. */
unsigned long rules_test_compiles(void);
#endif

#endif
