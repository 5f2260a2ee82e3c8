/*
 * rules: the sandbox state, its allocator and count hook, compiling and
 * evaluating chunks, reading results (see include/cpqd/rules.h).
 * Does not own: what rules may call (rules_lib.c), decimals (rules_dec.c),
 * the command line (rules_cli.c).
 *
 * Limits. Memory is counted by rules_alloc: while an evaluation runs, growth
 * beyond st->mem_limit is refused; Lua answers a refusal with an emergency
 * collection and one retry, and raises LUA_ERRMEM only if that fails too.
 * The budget is one counter per evaluation: the count hook subtracts its
 * period, the cost guards on C library functions (rules_lib.c) and the
 * allocator subtract what they cost. There is no coroutine library, so the
 * one thread's hook sees every VM instruction. The deadline is checked by
 * the hook, the guards and large allocations.
 *
 * Stickiness. A limit that trips sets st->kill once. From then on the hook
 * fires on every instruction and raises again, the allocator refuses all
 * growth, every guard raises, and the pcall offered to rules rethrows. So
 * the error reaches rules_eval whatever the rule does, and the outcome is
 * taken from st->kill, never from the error object.
 *
 * Lines. A failure says where the rule stopped (rules_result.line): the
 * message handler of the evaluation's pcall reads it for errors, the
 * kill reads it where a limit trips, and for a refused allocation (no
 * handler runs) the hook notes it while the rule holds over half the
 * memory cap. Reading a line never allocates.
 *
 * Compile once. A rules_chunk keeps its source and a process-unique id;
 * each state caches the compiled function under that id in a registry
 * table, so a chunk is compiled once per state (by rules_compile, or on
 * its first evaluation in another worker's state), never per evaluation.
 * Each evaluation sets the function's _ENV upvalue to a fresh table and
 * clears it afterwards.
 *
 * Outside a protected call this file only uses Lua API functions that do
 * not allocate (settop, sethook, gc, push of light values), so an
 * allocation failure can never reach Lua's panic handler.
 *
 * Mutable globals: rules_next_id (chunk ids; atomic). In CPQD_TESTING
 * builds, rules_fail_countdown (allocation failure injection) and
 * rules_compiles (a counter), used only by single-threaded tests.
 */
#include "rules_int.h"

#include "cpqd/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

struct rules_chunk {
    uint64_t id;     /* key of the compiled function in every state's cache */
    char *name;      /* as given to rules_compile */
    char *chunkname; /* "@" name, for lua_load */
    char *src;       /* len bytes, NUL after */
    size_t len;
};

static atomic_uint_fast64_t rules_next_id = 1;

/* Evaluations that grew the heap by more than this are followed by a full
 * collection (so do failed ones); others leave it to the incremental
 * collector, which keeps small evaluations cheap. No object can have a
 * __gc metamethod, so collecting never runs rule code. */
#define RULES_GC_AFTER ((size_t)256 << 10)

/* The deadline is a CPU-time backstop behind the instruction budget,
 * which alone decides deterministically. AddressSanitizer makes allocation-
 * heavy code ten to twenty times slower, so its builds scale the default
 * deadline instead of failing legitimate rules. */
#if defined(__SANITIZE_ADDRESS__)
#define RULES_TIME_SCALE 10u
#else
#define RULES_TIME_SCALE 1u
#endif

#ifdef CPQD_TESTING
static long rules_fail_countdown;   /* > 0: the countdown-th allocation from now fails */
static unsigned long rules_compiles; /* lua_load calls, all states */

void rules_test_fail_alloc(long nth)
{
    rules_fail_countdown = nth;
}

long rules_test_fail_pending(void)
{
    return rules_fail_countdown;
}

unsigned long rules_test_compiles(void)
{
    return rules_compiles;
}
#endif

/* The evaluating thread's CPU time: rules never wait (no I/O, no
 * sleep), so what the deadline bounds is work, and a busy machine that
 * deschedules the thread does not fail a rule that would meet it alone. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- allocator ---- */

/* Whether L may grow by grow bytes now; charges the budget for it. */
static void rules_hook(lua_State *L, lua_Debug *ar);

static bool alloc_allowed(rules_state *st, size_t grow)
{
#ifdef CPQD_TESTING
    if (rules_fail_countdown > 0 && --rules_fail_countdown == 0)
        return false;
#endif
    if (!st->armed)
        return true;
    if (st->kill != RULES_OK)
        return false;
    if (st->used > st->mem_limit || grow > st->mem_limit - st->used) {
        st->refusals++;
        return false;
    }
    st->budget -= (int64_t)(grow / RULES_ALLOC_BYTES_PER_UNIT);
    if (st->budget < 0) {
        st->kill = RULES_ERR_CPU;
        return false;
    }
    /* Past half the cap: run the hook at the next instruction so that it
     * notes the line, which a refusal later cannot read (rules_hook).
     * lua_sethook only sets fields, safe anywhere (lua.c calls it from a
     * signal handler); the instructions counted since the last hook (at
     * most one period) go uncharged, once. */
    if (!st->near_cap && st->L && st->used + grow > st->base + st->lim.memory / 2) {
        st->near_cap = true;
        st->period = 1;
        lua_sethook(st->L, rules_hook, LUA_MASKCOUNT, 1);
    }
    if (grow >= RULES_BIG_ALLOC) {
        st->big = true;
        if (now_ns() > st->deadline_ns) {
            st->kill = RULES_ERR_TIME;
            return false;
        }
    }
    return true;
}

/* ---- large blocks ---- */

/* Class of a large block of size bytes, or RULES_BLOCK_CLASSES if none
 * (too small, or too large to keep). */
static unsigned block_class(size_t size)
{
    if (size < RULES_BLOCK_MIN)
        return RULES_BLOCK_CLASSES;
    unsigned c = 0;
    while (c < RULES_BLOCK_CLASSES && (RULES_BLOCK_MIN << c) < size)
        c++;
    return c;
}

/* A block for size bytes: kept, fresh of its class size, or plain. */
static void *block_get(rules_state *st, size_t size)
{
    unsigned c = block_class(size);
    if (c == RULES_BLOCK_CLASSES)
        return malloc(size);
    if (st->nkept[c]) {
        st->kept_bytes -= RULES_BLOCK_MIN << c;
        return st->kept[c][--st->nkept[c]];
    }
    return malloc(RULES_BLOCK_MIN << c);
}

/* Releases a block that was allocated for size bytes. */
static void block_put(rules_state *st, void *p, size_t size)
{
    unsigned c = block_class(size);
    if (c < RULES_BLOCK_CLASSES && st->nkept[c] < RULES_BLOCK_SLOTS &&
        st->kept_bytes + (RULES_BLOCK_MIN << c) <= st->lim.memory) {
        st->kept[c][st->nkept[c]++] = p;
        st->kept_bytes += RULES_BLOCK_MIN << c;
        return;
    }
    free(p);
}

static void blocks_free(rules_state *st)
{
    for (unsigned c = 0; c < RULES_BLOCK_CLASSES; c++)
        while (st->nkept[c])
            free(st->kept[c][--st->nkept[c]]);
    st->kept_bytes = 0;
}

/* Resizes: plain realloc between small sizes, nothing within one class,
 * else a new block and a copy. A shrink that cannot get a new block keeps
 * the old one (it is large enough), so shrinking never fails. */
static void *block_resize(rules_state *st, void *ptr, size_t osize, size_t nsize)
{
    unsigned oc = block_class(osize), nc = block_class(nsize);
    if (!ptr)
        return block_get(st, nsize);
    if (oc == RULES_BLOCK_CLASSES && nc == RULES_BLOCK_CLASSES && osize < RULES_BLOCK_MIN &&
        nsize < RULES_BLOCK_MIN)
        return realloc(ptr, nsize);
    if (oc == nc && oc < RULES_BLOCK_CLASSES)
        return ptr;
    void *p = block_get(st, nsize);
    if (!p)
        return nsize <= osize ? ptr : NULL;
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    if (osize < RULES_BLOCK_MIN)
        free(ptr);
    else
        block_put(st, ptr, osize);
    return p;
}

/* lua_Alloc counting every byte. Shrinking and freeing never fail. */
static void *rules_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    rules_state *st = ud;
    if (!ptr)
        osize = 0; /* osize then encodes the object type */
    if (nsize == 0) {
        if (osize >= RULES_BLOCK_MIN)
            block_put(st, ptr, osize);
        else
            free(ptr);
        st->used -= osize;
        return NULL;
    }
    if (nsize > osize && !alloc_allowed(st, nsize - osize))
        return NULL;
    void *p = block_resize(st, ptr, osize, nsize);
    if (!p)
        return NULL;
    st->used = st->used - osize + nsize;
    if (st->used > st->peak)
        st->peak = st->used;
    return p;
}

/* ---- hook, kill, charge ---- */

static const char *kill_message(rules_outcome o)
{
    switch (o) {
    case RULES_ERR_CPU: return "instruction budget exceeded";
    case RULES_ERR_TIME: return "CPU-time deadline exceeded";
    case RULES_ERR_MEM: return "memory limit exceeded";
    default: return "limit exceeded";
    }
}

/* The line of the innermost Lua function running in L, or 0. Only reads
 * (no allocation): safe in hooks, message handlers and C functions; never
 * from the allocator, where a stack being reallocated is inconsistent. */
static unsigned current_line(lua_State *L)
{
    lua_Debug ar;
    for (int level = 0; level < 8 && lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "l", &ar) && ar.currentline > 0)
            return (unsigned)ar.currentline;
    return 0;
}

int rules_raise_kill(lua_State *L)
{
    rules_state *st = rules_of(L);
    if (!st->line_fixed) { /* where it tripped, not where it escapes a pcall */
        st->line = current_line(L);
        st->line_fixed = true;
    }
    st->period = 1;
    lua_sethook(L, rules_hook, LUA_MASKCOUNT, 1);
    /* A literal: pushing it may allocate, which is refused now, so the
     * error may arrive as LUA_ERRMEM; the outcome comes from st->kill. */
    lua_pushstring(L, kill_message(st->kill));
    return lua_error(L);
}

static void rules_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    rules_state *st = rules_of(L);
    if (st->kill == RULES_OK) {
        st->budget -= st->period;
        if (st->budget < 0)
            st->kill = RULES_ERR_CPU;
        else if (now_ns() > st->deadline_ns)
            st->kill = RULES_ERR_TIME;
    }
    if (st->kill != RULES_OK) {
        rules_raise_kill(L);
        return;
    }
    /* An allocation the cap refuses fails in the VM, where the line cannot
     * be read: remember it here while the evaluation holds more than half
     * the cap (costs nothing for the rules that stay below). */
    if (st->near_cap && st->used > st->base + st->lim.memory / 2 && lua_getinfo(L, "l", ar) &&
        ar->currentline > 0)
        st->line = (unsigned)ar->currentline;
    /* back from the one-instruction period that noted the line */
    int period = st->big ? RULES_HOOK_PERIOD_BIG : RULES_HOOK_PERIOD;
    if (st->period != period) {
        st->period = period;
        lua_sethook(L, rules_hook, LUA_MASKCOUNT, st->period);
    }
}

void rules_charge(lua_State *L, uint64_t units)
{
    rules_state *st = rules_of(L);
    if (st->kill == RULES_OK) {
        if (units > (uint64_t)INT64_MAX || (int64_t)units > st->budget) {
            st->budget = -1;
            st->kill = RULES_ERR_CPU;
        } else {
            st->budget -= (int64_t)units;
            if (now_ns() > st->deadline_ns)
                st->kill = RULES_ERR_TIME;
        }
    }
    if (st->kill != RULES_OK)
        rules_raise_kill(L);
}

void rules_make_room(lua_State *L, uint64_t need)
{
    rules_state *st = rules_of(L);
    uint64_t room = st->mem_limit > st->used ? st->mem_limit - st->used : 0;
    if (need <= room)
        return;
    rules_charge(L, (st->used > st->base ? st->used - st->base : 0) / 1024 + 1);
    lua_gc(L, LUA_GCCOLLECT);
}

bool rules_is_memory_error(lua_State *L, int status)
{
    static const char lauxlib_msg[] = "not enough memory";
    size_t n;
    if (status == LUA_ERRMEM)
        return true;
    if (status != LUA_ERRRUN || !rules_of(L)->refusals || lua_type(L, -1) != LUA_TSTRING)
        return false;
    const char *s = lua_tolstring(L, -1, &n);
    return n == sizeof(lauxlib_msg) - 1 && memcmp(s, lauxlib_msg, n) == 0;
}

/* ---- states ---- */

static rules_limits limits_resolve(const rules_limits *lim)
{
    rules_limits r = lim ? *lim : (rules_limits){0};
    if (!r.memory)
        r.memory = RULES_DEFAULT_MEMORY;
    if (!r.instructions)
        r.instructions = RULES_DEFAULT_INSTRUCTIONS;
    if (r.instructions > (uint64_t)INT64_MAX / 2)
        r.instructions = (uint64_t)INT64_MAX / 2;
    if (!r.time_ms)
        r.time_ms = RULES_DEFAULT_TIME_MS * RULES_TIME_SCALE;
    if (!r.source)
        r.source = RULES_DEFAULT_SOURCE;
    if (!r.cache)
        r.cache = RULES_DEFAULT_CACHE;
    return r;
}

static void state_close(rules_state *st)
{
    if (st->L)
        lua_close(st->L);
    blocks_free(st);
    st->L = NULL;
    st->used = 0;
    st->ncached = 0;
}

/* Opens L and builds the sandbox in it (unarmed: setup is trusted). */
static int state_open(rules_state *st)
{
    st->armed = false;
    st->kill = RULES_OK;
    st->broken = false;
    st->L = lua_newstate(rules_alloc, st);
    if (!st->L)
        return CPQD_ENOMEM;
    *(rules_state **)lua_getextraspace(st->L) = st;
    lua_pushcfunction(st->L, rules_lib_open);
    lua_pushlightuserdata(st->L, st);
    if (lua_pcall(st->L, 1, 0, 0) != LUA_OK) {
        state_close(st);
        return CPQD_ENOMEM;
    }
    return 0;
}

/* Replaces a state whose invariants failed with a fresh one. */
static int state_rebuild(rules_state *st)
{
    state_close(st);
    return state_open(st);
}

rules_state *rules_state_new(const rules_limits *lim, int *err)
{
    rules_state *st = calloc(1, sizeof(*st));
    int rc = st ? 0 : CPQD_ENOMEM;
    if (st) {
        st->lim = limits_resolve(lim);
        rc = state_open(st);
    }
    if (rc != 0) {
        free(st);
        if (err)
            *err = rc;
        return NULL;
    }
    return st;
}

void rules_state_free(rules_state *st)
{
    if (!st)
        return;
    state_close(st);
    free(st);
}

rules_limits rules_state_limits(const rules_state *st)
{
    return st->lim;
}

/* Protected: installs an empty cache table. */
static int cache_clear_body(lua_State *L)
{
    rules_state *st = lua_touserdata(L, 1);
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, st->cache_ref);
    st->ncached = 0;
    return 0;
}

void rules_state_cache_clear(rules_state *st)
{
    if (!st->L)
        return;
    lua_pushcfunction(st->L, cache_clear_body);
    lua_pushlightuserdata(st->L, st);
    if (lua_pcall(st->L, 1, 0, 0) != LUA_OK)
        st->broken = true;
    lua_settop(st->L, 0);
    lua_gc(st->L, LUA_GCCOLLECT);
}

/* Protected: 1 if the string metatable and its __index are the ones the
 * sandbox installed. */
static int check_strings_body(lua_State *L)
{
    rules_state *st = lua_touserdata(L, 1);
    bool ok = false;
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1) && lua_topointer(L, -1) == st->str_mt) {
        lua_pushliteral(L, "__index");
        ok = lua_rawget(L, -2) == LUA_TTABLE && lua_topointer(L, -1) == st->str_index;
    }
    lua_pushboolean(L, ok);
    return 1;
}

static bool strings_intact(rules_state *st)
{
    lua_State *L = st->L;
    lua_pushcfunction(L, check_strings_body);
    lua_pushlightuserdata(L, st);
    bool ok = lua_pcall(L, 1, 1, 0) == LUA_OK && lua_toboolean(L, -1);
    lua_settop(L, 0);
    return ok;
}

int rules_state_check(rules_state *st)
{
    if (!st || st->broken || !st->L)
        return CPQD_EINTERNAL;
    lua_State *L = st->L;
    bool ok = !st->armed && st->kill == RULES_OK && lua_gethook(L) == NULL &&
              lua_gettop(L) == 0 && lua_gc(L, LUA_GCISRUNNING) && st->used > 0 &&
              st->ncached <= st->lim.cache && strings_intact(st);
    return ok ? 0 : CPQD_EINTERNAL;
}

/* ---- chunks ---- */

static rules_chunk *chunk_new(const char *name, const char *src, size_t len)
{
    rules_chunk *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    size_t nl = strlen(name);
    ch->name = strdup(name);
    ch->chunkname = malloc(nl + 2);
    ch->src = malloc(len + 1);
    if (!ch->name || !ch->chunkname || !ch->src) {
        rules_chunk_free(ch);
        return NULL;
    }
    ch->chunkname[0] = '@';
    memcpy(ch->chunkname + 1, name, nl + 1);
    if (len)
        memcpy(ch->src, src, len);
    ch->src[len] = '\0';
    ch->len = len;
    ch->id = atomic_fetch_add(&rules_next_id, 1);
    return ch;
}

void rules_chunk_free(rules_chunk *ch)
{
    if (!ch)
        return;
    free(ch->name);
    free(ch->chunkname);
    free(ch->src);
    free(ch);
}

const char *rules_chunk_name(const rules_chunk *ch)
{
    return ch->name;
}

/* Copies the string (or a description of the value) at idx into buf
 * without calling metamethods or allocating. */
static void error_text(lua_State *L, int idx, char *buf, size_t cap)
{
    size_t n = 0;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            snprintf(buf, cap, "%lld", (long long)lua_tointeger(L, idx));
        else
            snprintf(buf, cap, "%.14g", (double)lua_tonumber(L, idx));
        break;
    default:
        snprintf(buf, cap, "non-string error object (a %s value)",
                 lua_typename(L, lua_type(L, idx)));
        break;
    }
}

/* Compiles ch in the running (protected) call, stores the function in
 * st's cache and leaves it on the stack. On failure leaves nothing, copies
 * the message into msg and returns lua_load's status. */
static int compile_into_cache(lua_State *L, rules_state *st, const rules_chunk *ch, char *msg,
                              size_t cap)
{
#ifdef CPQD_TESTING
    rules_compiles++;
#endif
    int status = luaL_loadbufferx(L, ch->src, ch->len, ch->chunkname, "t");
    if (status != LUA_OK) {
        error_text(L, -1, msg, cap);
        lua_pop(L, 1);
        return status;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->cache_ref);
    if (st->ncached >= st->lim.cache) {
        /* Start over rather than track use: a full cache means snapshots
         * were swapped without rules_state_cache_clear. */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, LUA_REGISTRYINDEX, st->cache_ref);
        st->ncached = 0;
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)ch->id);
    st->ncached++;
    lua_pop(L, 1);
    return LUA_OK;
}

typedef struct compile_ctx {
    rules_state *st;
    const rules_chunk *ch;
    int status; /* lua_load's */
    char msg[512];
} compile_ctx;

static int compile_body(lua_State *L)
{
    compile_ctx *c = lua_touserdata(L, 1);
    c->status = compile_into_cache(L, c->st, c->ch, c->msg, sizeof(c->msg));
    return 0;
}

/* Splits Lua's "chunkid:LINE: message" into line and message. */
static unsigned split_where(const char *msg, const char **rest)
{
    for (const char *p = strchr(msg, ':'); p; p = strchr(p + 1, ':')) {
        size_t d = strspn(p + 1, "0123456789");
        if (d > 0 && d < 10 && p[1 + d] == ':') {
            *rest = p + 2 + d + (p[2 + d] == ' ');
            return (unsigned)strtoul(p + 1, NULL, 10);
        }
    }
    *rest = msg;
    return 0;
}

static int report_compile(cpqd_errs *errs, const rules_chunk *ch, int status, const char *msg)
{
    int rc = status == LUA_ERRMEM ? CPQD_ELIMIT : CPQD_EINVAL;
    const char *rest;
    unsigned line = split_where(msg, &rest);
    if (errs)
        errs_add(errs, rc, ch->name, line, 0, "%s", rest);
    return rc;
}

/* Compiles ch into st with only the memory limit armed (the parser runs
 * no VM instructions; the source limit bounds its time). */
static int compile_in_state(rules_state *st, const rules_chunk *ch, cpqd_errs *errs)
{
    if (st->broken && state_rebuild(st) != 0)
        return CPQD_ENOMEM;
    compile_ctx c = {.st = st, .ch = ch};
    lua_State *L = st->L;
    st->kill = RULES_OK;
    st->budget = INT64_MAX;
    st->deadline_ns = INT64_MAX;
    st->mem_limit = st->used + st->lim.memory;
    st->near_cap = true; /* the parser runs no VM instruction: no hook to arm */
    st->armed = true;
    lua_pushcfunction(L, compile_body);
    lua_pushlightuserdata(L, &c);
    int pst = lua_pcall(L, 1, 0, 0);
    st->armed = false;
    lua_settop(L, 0);
    if (pst != LUA_OK) {
        c.status = pst;
        snprintf(c.msg, sizeof(c.msg), "not enough memory to compile");
    }
    if (c.status != LUA_OK) {
        lua_gc(L, LUA_GCCOLLECT);
        return report_compile(errs, ch, c.status, c.msg);
    }
    return 0;
}

int rules_compile(rules_state *st, const char *name, const char *src, size_t len,
                  rules_chunk **out, cpqd_errs *errs)
{
    assert(name && (src || len == 0) && out);
    *out = NULL;
    int rc = 0;
    rules_state *tmp = NULL;
    rules_chunk *ch = NULL;
    if (!st && !(st = tmp = rules_state_new(NULL, &rc)))
        return rc;
    if (len > st->lim.source) {
        if (errs)
            errs_add(errs, CPQD_ELIMIT, name, 0, 0, "source too large (%zu bytes, limit %zu)", len,
                     st->lim.source);
        rc = CPQD_ELIMIT;
        goto out;
    }
    ch = chunk_new(name, src ? src : "", len);
    if (!ch) {
        rc = CPQD_ENOMEM;
        goto out;
    }
    rc = compile_in_state(st, ch, errs);
    if (rc == 0) {
        *out = ch;
        ch = NULL;
    }
out:
    rules_chunk_free(ch);
    rules_state_free(tmp);
    return rc;
}

/* ---- inputs ---- */

/* 0 if v is a valid input value at nesting depth; else CPQD_EINVAL with
 * the reason in why. */
static int input_check(const rules_value *v, int depth, const char **why)
{
    switch (v->type) {
    case RULES_T_NIL:
    case RULES_T_BOOL:
    case RULES_T_INT: return 0;
    case RULES_T_STR:
        if (!v->u.str.ptr && v->u.str.len)
            break;
        return 0;
    case RULES_T_DEC:
        if (money_is_valid(v->u.dec))
            return 0;
        *why = "invalid decimal";
        return CPQD_EINVAL;
    case RULES_T_NUM: *why = "a float (money and quantities must be decimals)"; return CPQD_EINVAL;
    case RULES_T_TABLE:
        if (depth >= RULES_INPUT_DEPTH) {
            *why = "tables nested too deeply";
            return CPQD_EINVAL;
        }
        if (!v->u.table.fields && v->u.table.n)
            break;
        for (size_t i = 0; i < v->u.table.n; i++) {
            if (!v->u.table.fields[i].name) {
                *why = "a field without a name";
                return CPQD_EINVAL;
            }
            if (input_check(&v->u.table.fields[i].value, depth + 1, why) != 0)
                return CPQD_EINVAL;
        }
        return 0;
    }
    *why = "malformed value";
    return CPQD_EINVAL;
}

static void push_input(lua_State *L, const rules_value *v);

static void push_fields(lua_State *L, const rules_value *t)
{
    luaL_checkstack(L, 3, "input");
    for (size_t i = 0; i < t->u.table.n; i++) {
        push_input(L, &t->u.table.fields[i].value);
        lua_setfield(L, -2, t->u.table.fields[i].name);
    }
}

/* Pushes a checked input value (depth bounded by input_check). */
static void push_input(lua_State *L, const rules_value *v)
{
    switch (v->type) {
    case RULES_T_BOOL: lua_pushboolean(L, v->u.b); break;
    case RULES_T_INT: lua_pushinteger(L, (lua_Integer)v->u.i); break;
    case RULES_T_STR: lua_pushlstring(L, v->u.str.len ? v->u.str.ptr : "", v->u.str.len); break;
    case RULES_T_DEC: rules_dec_push(L, v->u.dec); break;
    case RULES_T_TABLE:
        lua_createtable(L, 0, (int)(v->u.table.n < 256 ? v->u.table.n : 256));
        push_fields(L, v);
        break;
    default: lua_pushnil(L); break;
    }
}

/* ---- evaluation ---- */

typedef struct eval_ctx {
    rules_state *st;
    const rules_chunk *ch;
    const rules_value *input;
    unsigned accept;
    rules_result *out;
    size_t text_used;    /* bytes of out->text taken by result strings */
    bool compile_failed; /* the lazy compile failed; message in cmsg */
    int compile_status;
    char cmsg[512];
} eval_ctx;

static void result_fail(rules_result *out, rules_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result_fail(rules_result *out, rules_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->text, sizeof(out->text), fmt, ap);
    va_end(ap);
    out->outcome = o;
    out->n = 0;
    out->msg = out->text;
}

static bool read_string(eval_ctx *c, lua_State *L, int idx, rules_value *v)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len); /* a string: no conversion */
    size_t room = sizeof(c->out->text) - c->text_used;
    if (len >= room) {
        result_fail(c->out, RULES_ERR_RESULT, "result string too long (%zu bytes, limit %zu)", len,
                    sizeof(c->out->text) - 1);
        return false;
    }
    char *dst = c->out->text + c->text_used;
    memcpy(dst, s, len);
    dst[len] = '\0';
    c->text_used += len + 1;
    *v = rules_value_str(dst, len);
    return true;
}

/* Reads the result at idx with raw API calls only (no metamethod can
 * run). Returns false after setting ERR_RESULT. */
static bool read_value(eval_ctx *c, lua_State *L, int idx, rules_value *v)
{
    int t = lua_type(L, idx);
    switch (t) {
    case LUA_TNIL: *v = rules_value_nil(); return true;
    case LUA_TBOOLEAN: *v = rules_value_bool(lua_toboolean(L, idx)); return true;
    case LUA_TSTRING: return read_string(c, L, idx, v);
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *v = rules_value_int((int64_t)lua_tointeger(L, idx));
            return true;
        }
        v->type = RULES_T_NUM;
        v->u.num = (double)lua_tonumber(L, idx);
        if (isfinite(v->u.num))
            return true;
        result_fail(c->out, RULES_ERR_RESULT, "result is not a finite number");
        return false;
    case LUA_TUSERDATA:
        if (lua_getmetatable(L, idx)) {
            bool dec = lua_topointer(L, -1) == c->st->dec_mt;
            lua_pop(L, 1);
            if (dec) {
                *v = rules_value_dec(*(const money_dec *)lua_touserdata(L, idx));
                return true;
            }
        }
        break;
    default: break;
    }
    result_fail(c->out, RULES_ERR_RESULT, "a rule cannot return a %s value",
                t == LUA_TUSERDATA ? "userdata" : lua_typename(L, t));
    return false;
}

static const char *type_label(rules_type t)
{
    static const char *const names[] = {"nil",    "boolean", "integer", "float",
                                        "string", "decimal", "table"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void read_results(eval_ctx *c, lua_State *L)
{
    int n = lua_gettop(L);
    rules_result *out = c->out;
    if (n > RULES_RESULTS_MAX) {
        result_fail(out, RULES_ERR_RESULT, "a rule returns at most %d values, not %d",
                    RULES_RESULTS_MAX, n);
        return;
    }
    if (!lua_checkstack(L, 2)) {
        result_fail(out, RULES_ERR_RESULT, "no stack space to read the results");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!read_value(c, L, i + 1, &out->values[i]))
            return;
        if (c->accept && !(c->accept & RULES_ACCEPT(out->values[i].type))) {
            result_fail(out, RULES_ERR_RESULT, "result %d is a %s, which is not accepted here%s",
                        i + 1, type_label(out->values[i].type),
                        out->values[i].type == RULES_T_NUM
                            ? " (money must be a decimal: dec(\"...\"))"
                            : "");
            return;
        }
    }
    out->n = (size_t)n;
    out->outcome = RULES_OK;
}

/* Pushes the chunk's function, compiling it into the cache if this state
 * has not seen the chunk yet. Raises after recording a compile failure. */
static void push_function(eval_ctx *c, lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->cache_ref);
    int t = lua_rawgeti(L, -1, (lua_Integer)c->ch->id);
    lua_remove(L, -2);
    if (t == LUA_TFUNCTION)
        return;
    lua_pop(L, 1);
    c->compile_status = compile_into_cache(L, c->st, c->ch, c->cmsg, sizeof(c->cmsg));
    if (c->compile_status != LUA_OK) {
        c->compile_failed = true;
        luaL_error(L, "%s", c->cmsg);
    }
}

/* Protected: runs the chunk in a fresh environment and reads its results. */
static int eval_body(lua_State *L)
{
    eval_ctx *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    push_function(c, L);
    lua_createtable(L, 0, 8);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->env_mt_ref);
    lua_setmetatable(L, -2);
    if (c->input && c->input->type == RULES_T_TABLE)
        push_fields(L, c->input);
    if (!lua_setupvalue(L, 1, 1))
        return luaL_error(L, "chunk has no environment");
    lua_call(L, 0, LUA_MULTRET);
    read_results(c, L);
    return 0;
}

/* Protected: detaches the chunk's last environment (so a large one does
 * not stay alive until the chunk runs again), forgets the names tostring
 * gave values, and checks the strings. */
static int cleanup_body(lua_State *L)
{
    eval_ctx *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->cache_ref);
    if (lua_rawgeti(L, -1, (lua_Integer)c->ch->id) == LUA_TFUNCTION) {
        lua_pushnil(L);
        lua_setupvalue(L, -2, 1);
    }
    lua_settop(L, 0);
    rules_lib_labels_forget(L);
    lua_pushlightuserdata(L, c->st);
    return check_strings_body(L);
}

static void eval_begin(rules_state *st)
{
    st->kill = RULES_OK;
    st->labels = 0;
    st->budget = (int64_t)st->lim.instructions;
    st->deadline_ns = now_ns() + (int64_t)st->lim.time_ms * 1000000;
    st->base = st->used;
    st->peak = st->used;
    st->mem_limit = st->used + st->lim.memory;
    st->big = false;
    st->refusals = 0;
    st->line = 0;
    st->line_fixed = false;
    st->near_cap = false;
    st->period = RULES_HOOK_PERIOD;
    st->armed = true;
    lua_sethook(st->L, rules_hook, LUA_MASKCOUNT, st->period);
}

/* Turns a failed protected call into the outcome (the error object is on
 * top of the stack). */
static void classify_failure(eval_ctx *c, int status, rules_outcome kill)
{
    rules_result *out = c->out;
    lua_State *L = c->st->L;
    char msg[RULES_TEXT_MAX];
    unsigned line = c->st->line;
    if (kill != RULES_OK) {
        result_fail(out, kill, "%s", kill_message(kill));
    } else if (c->compile_failed) {
        result_fail(out, RULES_ERR_COMPILE, "%s", c->cmsg);
    } else if (rules_is_memory_error(L, status)) {
        result_fail(out, RULES_ERR_MEM, "%s", kill_message(RULES_ERR_MEM));
    } else {
        error_text(L, -1, msg, sizeof(msg));
        result_fail(out, RULES_ERR_RUNTIME, "%s", msg);
    }
    out->line = out->outcome == RULES_ERR_COMPILE ? 0 : line;
}

/* Message handler of an evaluation: notes the line where the error was
 * raised (the stack is still there) and passes the error on unchanged.
 * Not called for a bare allocation failure (LUA_ERRMEM). */
static int eval_where(lua_State *L)
{
    rules_state *st = rules_of(L);
    unsigned line = st->line_fixed ? 0 : current_line(L);
    if (line)
        st->line = line;
    return 1;
}

/* Disarms, restores and, when worth it, collects. */
static void eval_end(eval_ctx *c)
{
    rules_state *st = c->st;
    lua_State *L = st->L;
    bool failed = c->out->outcome != RULES_OK;
    st->armed = false;
    st->kill = RULES_OK;
    lua_sethook(L, NULL, 0, 0);
    lua_settop(L, 0);
    lua_pushcfunction(L, cleanup_body);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_toboolean(L, -1))
        st->broken = true;
    lua_settop(L, 0);
    if (failed || st->used > st->base + RULES_GC_AFTER)
        lua_gc(L, LUA_GCCOLLECT);
    if (!lua_gc(L, LUA_GCISRUNNING))
        lua_gc(L, LUA_GCRESTART);
}

static int outcome_rc(rules_outcome o)
{
    switch (o) {
    case RULES_OK: return 0;
    case RULES_ERR_MEM:
    case RULES_ERR_CPU:
    case RULES_ERR_TIME: return CPQD_ELIMIT;
    default: return CPQD_EINVAL;
    }
}

/* The outcome as a metric label (GET /metrics): "ok", "err_mem", ... */
static const char *rules_outcome_metric(rules_outcome o)
{
    static const char *const names[] = {"ok",          "err_mem",     "err_cpu",   "err_time",
                                        "err_runtime", "err_compile", "err_result"};
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "other";
}

int rules_eval(rules_state *st, const rules_chunk *ch, const rules_value *input, unsigned accept,
               rules_result *out)
{
    assert(st && ch && out);
    memset(out, 0, offsetof(rules_result, text));
    out->text[0] = '\0';
    out->msg = out->text;
    const char *why = NULL;
    if (input && (input->type != RULES_T_TABLE || input_check(input, 0, &why) != 0)) {
        result_fail(out, RULES_ERR_RUNTIME, "invalid input: %s", why ? why : "not a table");
        return CPQD_EINVAL;
    }
    if (st->broken && state_rebuild(st) != 0) {
        result_fail(out, RULES_ERR_MEM, "the rule sandbox could not be rebuilt");
        return CPQD_ENOMEM;
    }
    eval_ctx c = {.st = st, .ch = ch, .input = input, .accept = accept, .out = out};
    uint64_t t0 = metrics_now_ns();
    lua_State *L = st->L;
    eval_begin(st);
    lua_pushcfunction(L, eval_where);
    lua_pushcfunction(L, eval_body);
    lua_pushlightuserdata(L, &c);
    int status = lua_pcall(L, 1, 0, 1);
    rules_outcome kill = st->kill;
    int64_t used = (int64_t)st->lim.instructions - st->budget;
    if (status != LUA_OK || kill != RULES_OK)
        classify_failure(&c, status, kill);
    out->cost = used > 0 ? (uint64_t)used : 0;
    out->mem_peak = st->peak - st->base;
    eval_end(&c);
    metrics_rule((unsigned)out->outcome, rules_outcome_metric(out->outcome),
                 metrics_now_ns() - t0);
    return outcome_rc(out->outcome);
}

/* ---- formatting ---- */


const char *rules_outcome_name(rules_outcome o)
{
    static const char *const names[] = {"OK",          "ERR_MEM",     "ERR_CPU",   "ERR_TIME",
                                        "ERR_RUNTIME", "ERR_COMPILE", "ERR_RESULT"};
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

/* Appends like snprintf, tracking the untruncated length in *len. */
static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len < cap) {
        size_t room = cap - *len - 1;
        memcpy(buf + *len, s, n < room ? n : room);
        buf[*len + (n < room ? n : room)] = '\0';
    }
    *len += n;
}

static size_t format_float(double x, char *tmp, size_t cap)
{
    int n = snprintf(tmp, cap, "%.14g", x);
    /* Lua writes integral floats as "2.0" so they read back as floats. */
    if (n > 0 && (size_t)n + 2 < cap && tmp[strspn(tmp, "-0123456789")] == '\0') {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    return n > 0 ? (size_t)n : 0;
}

size_t rules_value_format(const rules_value *v, char *buf, size_t cap)
{
    char tmp[64];
    size_t n = 0, len = 0;
    const char *s = tmp;
    if (cap)
        buf[0] = '\0';
    switch (v->type) {
    case RULES_T_NIL: s = "nil"; n = 3; break;
    case RULES_T_BOOL: s = v->u.b ? "true" : "false"; n = strlen(s); break;
    case RULES_T_INT: n = (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v->u.i); break;
    case RULES_T_NUM: n = format_float(v->u.num, tmp, sizeof(tmp)); break;
    case RULES_T_STR: s = v->u.str.ptr; n = v->u.str.len; break;
    case RULES_T_DEC: {
        int r = money_format(v->u.dec, tmp, sizeof(tmp));
        s = r >= 0 ? tmp : "invalid-decimal";
        n = r >= 0 ? (size_t)r : strlen(s);
        break;
    }
    case RULES_T_TABLE: s = "table"; n = 5; break;
    }
    if (cap)
        put(buf, cap, &len, s, n);
    else
        len = n;
    return len;
}

size_t rules_result_format(const rules_result *r, char *buf, size_t cap)
{
    size_t len = 0;
    char dummy[1];
    if (!cap) {
        buf = dummy;
        cap = 1;
    }
    buf[0] = '\0';
    const char *name = rules_outcome_name(r->outcome);
    put(buf, cap, &len, name, strlen(name));
    if (r->outcome != RULES_OK) {
        put(buf, cap, &len, " ", 1);
        put(buf, cap, &len, r->msg, strlen(r->msg));
        return len;
    }
    for (size_t i = 0; i < r->n; i++) {
        put(buf, cap, &len, i ? "," : " ", 1);
        size_t room = len < cap ? cap - len : 0;
        size_t n = rules_value_format(&r->values[i], room ? buf + len : dummy, room ? room : 1);
        len += n;
    }
    return len;
}
