/*
 * rules_lib: what a rule can reach, and what each reachable C function
 * costs.
 *
 * Owns: the sandbox's global table (built once per state, never handed to
 * rule code: each evaluation's environment reads it through __index), the
 * sanitized library tables behind read-only proxies, the string
 * metatable's __index, and the cost guards.
 * Does not own: the budget itself (rules.c), decimals (rules_dec.c).
 *
 * Reachable: assert error ipairs next pairs pcall rawequal rawget rawlen
 * select tonumber tostring type _VERSION, dec isdec, and subsets of
 * string, table, math (no random) and utf8. Everything else (load,
 * require, io, os, debug, print, collectgarbage, coroutine, setmetatable,
 * getmetatable, string.dump, rawset) does not exist for a rule: with no
 * way to attach a metatable there are no rule __gc, __close or
 * __tostring handlers to run outside the limits.
 *
 * Cost guards. Count hooks never fire inside a C function, so every
 * library function whose work grows with its arguments is wrapped: the
 * guard estimates the worst case from the arguments, refuses the call with
 * an ordinary error ("... too expensive") if that alone exceeds a whole
 * evaluation's budget, and otherwise charges it to the budget before
 * calling the original. Pattern matching is estimated from the pattern's
 * shape: Lua's backtracking matcher branches only at the k quantifiers
 * (* + -) and q optionals, each path consumes distinct subject bytes, so
 * an anchored match has at most C(n+k, k) * 2^q paths and an unanchored
 * search over n+1 start positions at most C(n+k+1, k+1) * 2^q (hockey
 * stick identity), each path costing O((k+q+1) * |pattern|) plus O(n)
 * per %b or back-reference item. Allocation is charged by the allocator,
 * so guards charge only work that does not allocate.
 *
 * Guards call the original C function directly (no extra C frame); the
 * wrapped originals use no upvalues, so they see the guard's stack frame as
 * their own.
 *
 * No addresses. Lua prints a table, function, thread or userdata without
 * __tostring as "table: 0x55d0c0a8e2a0", which hands a rule the layout of
 * the host's heap and code (an ASLR leak for anyone chaining a memory
 * bug). The two ways a rule can print a value, tostring and
 * string.format's %s, name such values "table: 1", "function: 2", ...:
 * a number counting the values named so far in this evaluation (the same
 * value keeps its number; the numbering starts again with each
 * evaluation). string.format refuses %p outright. Error objects that are
 * not strings are described by type only (rules.c), concatenation and
 * table.concat refuse such values, and print does not exist.
 */
#include "rules_int.h"

#include <limits.h>
#include <string.h>

#include <lualib.h>

/* Calibration (tests/test_rules.c checks the controls stay well inside
 * the default budget): one unit is about one VM instruction. */
#define BYTES_PER_UNIT 4       /* byte-at-a-time loops (upper, utf8.len) */
#define SCAN_BYTES_PER_UNIT 64 /* memchr/memcmp scans (plain find) */
#define STEPS_PER_UNIT 4       /* pattern matcher steps */
#define RANGE_MAX ((uint64_t)1 << 15) /* elements table.move/concat may touch */
#define REP_PIECES_PER_UNIT 16 /* string.rep copies */

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Calls the guarded original (upvalue 1) in this frame. */
static int call_orig(lua_State *L)
{
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
    return f(L);
}

/* Refuses a call estimated at units, or charges it. */
static void guard(lua_State *L, const char *what, uint64_t units)
{
    uint64_t budget = rules_of(L)->lim.instructions;
    if (units > budget) /* lua_pushfstring knows %I, not %llu */
        luaL_error(L, "%s too expensive (estimated %I units, budget %I)", what,
                   (lua_Integer)(units > INT64_MAX ? INT64_MAX : units), (lua_Integer)budget);
    rules_charge(L, units);
}

/* Lua's string positions: start clipped to [1, inf), end to [0, len]. */
static size_t str_start(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static size_t str_end(lua_Integer pos, size_t len)
{
    if (pos > (lua_Integer)len)
        return len;
    if (pos >= 0)
        return (size_t)pos;
    if (pos < -(lua_Integer)len)
        return 0;
    return len + (size_t)pos + 1;
}

/* ---- pattern cost ---- */

typedef struct pat_shape {
    uint64_t k;     /* * + - quantifiers */
    uint64_t q;     /* ? optionals */
    uint64_t scans; /* %b and %1-%9 items: each may scan the subject */
    bool anchored;
} pat_shape;

/* Index after the single-character class starting at p[i]. */
static size_t class_end(const char *p, size_t lp, size_t i)
{
    if (p[i] == '%')
        return i + 2 <= lp ? i + 2 : lp;
    if (p[i] != '[')
        return i + 1;
    i++;
    if (i < lp && p[i] == '^')
        i++;
    do { /* the first character is part of the set, even a ']' */
        if (i >= lp)
            return lp;
        if (p[i++] == '%' && i < lp)
            i++;
    } while (i < lp && p[i] != ']');
    return i < lp ? i + 1 : lp;
}

/* Walks the pattern the way Lua's matcher reads its items. */
static pat_shape pat_scan(const char *p, size_t lp, bool anchor_ok)
{
    pat_shape sh = {0};
    size_t i = 0;
    if (anchor_ok && lp > 0 && p[0] == '^') {
        sh.anchored = true;
        i = 1;
    }
    while (i < lp) {
        if (p[i] == '(' || p[i] == ')') {
            i++;
            continue;
        }
        if (p[i] == '%' && i + 1 < lp && p[i + 1] == 'b') {
            sh.scans++;
            i += 4;
            continue;
        }
        if (p[i] == '%' && i + 1 < lp && p[i + 1] == 'f') {
            i = i + 2 < lp ? class_end(p, lp, i + 2) : lp;
            continue;
        }
        if (p[i] == '%' && i + 1 < lp && p[i + 1] >= '0' && p[i + 1] <= '9')
            sh.scans++;
        size_t e = class_end(p, lp, i);
        if (e < lp && (p[e] == '*' || p[e] == '+' || p[e] == '-')) {
            sh.k++;
            e++;
        } else if (e < lp && p[e] == '?') {
            sh.q++;
            e++;
        }
        i = e;
    }
    return sh;
}

/* C(a + b, b), saturating far above any budget. */
static uint64_t binom(uint64_t a, uint64_t b)
{
    const uint64_t cap = (uint64_t)1 << 62;
    uint64_t m = a < b ? a : b, c = 1;
    for (uint64_t i = 1; i <= m; i++) {
        unsigned __int128 x = (unsigned __int128)c * (a + b - m + i) / i;
        if (x > cap)
            return cap;
        c = (uint64_t)x;
    }
    return c;
}

/* Worst-case matcher steps, in budget units, for pattern p over n bytes. */
static uint64_t pattern_units(const char *p, size_t lp, size_t n, bool anchor_ok)
{
    pat_shape sh = pat_scan(p, lp, anchor_ok);
    uint64_t paths = sh.anchored ? binom(n, sh.k) : binom(n + 1, sh.k + 1);
    paths = sat_mul(paths, sh.q < 62 ? (uint64_t)1 << sh.q : UINT64_MAX);
    uint64_t per_path = sat_add(sat_mul(sh.k + sh.q + 1, (uint64_t)lp + 1),
                                sat_mul(sh.scans, (uint64_t)n + 1));
    return sat_mul(paths, per_path) / STEPS_PER_UNIT + lp / BYTES_PER_UNIT + 1;
}

static bool no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i]))
            return false;
    return true;
}

/* Plain search: memchr + memcmp at each candidate. */
static uint64_t plain_units(size_t n, size_t m)
{
    if (m == 0 || m > n)
        return 1;
    return sat_mul(n - m + 1, m) / SCAN_BYTES_PER_UNIT + 1;
}

/* find and gsub: refuses or charges the search of pattern arg 2 over
 * subject arg 1 (from find's init on). */
static void guard_pattern(lua_State *L, bool find)
{
    size_t ls, lp;
    luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t n = ls;
    if (find) {
        size_t start = str_start(luaL_optinteger(L, 3, 1), ls) - 1;
        n = start > ls ? 0 : ls - start;
        if (lua_toboolean(L, 4) || no_specials(p, lp)) {
            guard(L, "string.find: search", plain_units(n, lp));
            return;
        }
    }
    guard(L, find ? "string.find: pattern" : "string.gsub: pattern",
          pattern_units(p, lp, n, true));
}

static int g_find(lua_State *L)
{
    guard_pattern(L, true);
    return call_orig(L);
}

static int g_match(lua_State *L)
{
    size_t ls, lp;
    luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t start = str_start(luaL_optinteger(L, 3, 1), ls) - 1;
    guard(L, "string.match: pattern", pattern_units(p, lp, start > ls ? 0 : ls - start, true));
    return call_orig(L);
}

static int g_gsub(lua_State *L)
{
    guard_pattern(L, false);
    rules_make_room(L, 2 * (uint64_t)lua_rawlen(L, 1));
    return call_orig(L);
}

/* The gmatch iterator: the whole iteration was paid for when gmatch was
 * called; once exhausted it stays exhausted without rescanning (the
 * original would rescan the tail, unpaid, on every further call). */
static int gmatch_next(lua_State *L)
{
    if (lua_toboolean(L, lua_upvalueindex(2)))
        return 0;
    int top = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, LUA_MULTRET);
    int n = lua_gettop(L) - top;
    if (n == 0) {
        lua_pushboolean(L, 1);
        lua_replace(L, lua_upvalueindex(2));
    }
    return n;
}

static int g_gmatch(lua_State *L)
{
    size_t ls, lp;
    luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    /* '^' is no anchor for gmatch: every position is tried */
    guard(L, "string.gmatch: pattern", pattern_units(p, lp, ls, false));
    call_orig(L);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, gmatch_next, 2);
    return 1;
}

/* ---- other string functions ---- */

static int g_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    /* string.rep("", n) loops n times in C making nothing: answer at once */
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    size_t cap = rules_of(L)->lim.memory;
    if (l + lsep < l || (uint64_t)n > cap / (l + lsep) + 1 ||
        (size_t)n * l + (size_t)(n - 1) * lsep > cap)
        return luaL_error(L, "string.rep: result too large (limit %I bytes)", (lua_Integer)cap);
    rules_charge(L, (uint64_t)n / REP_PIECES_PER_UNIT + 1);
    rules_make_room(L, 2 * ((uint64_t)n * l + (uint64_t)(n - 1) * lsep));
    return call_orig(L);
}

/* upper, lower, reverse: one pass over the bytes. */
static int g_bytewise(lua_State *L)
{
    size_t l;
    luaL_checklstring(L, 1, &l);
    rules_charge(L, l / BYTES_PER_UNIT + 1);
    rules_make_room(L, 2 * (uint64_t)l);
    return call_orig(L);
}

static int g_byte(lua_State *L)
{
    size_t l;
    luaL_checklstring(L, 1, &l);
    lua_Integer i = luaL_optinteger(L, 2, 1);
    size_t a = str_start(i, l), b = str_end(luaL_optinteger(L, 3, i), l);
    rules_charge(L, (a <= b ? (uint64_t)(b - a) + 1 : 0) / 2 + 1);
    return call_orig(L);
}

/* ---- naming values without their address ---- */

static const char labels_key = 'L'; /* registry: value -> its number in this evaluation */

/* Whether printing v with Lua's own tostring would show an address. */
static bool prints_address(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TTABLE:
    case LUA_TFUNCTION:
    case LUA_TTHREAD:
    case LUA_TLIGHTUSERDATA:
    case LUA_TUSERDATA:
        if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL)
            return true;
        lua_pop(L, 1);
        return false;
    default:
        return false;
    }
}

/* Pushes "<type>: <n>", n numbering the value at idx within this
 * evaluation (see the file comment). */
static void push_label(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &labels_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &labels_key);
    }
    lua_pushvalue(L, idx);
    lua_Integer n = lua_rawget(L, -2) == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    if (n == 0) {
        n = ++rules_of(L)->labels;
        lua_pushvalue(L, idx);
        lua_pushinteger(L, n);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
    lua_pushfstring(L, "%s: %I", luaL_typename(L, idx), n);
}

int rules_lib_labels_forget(lua_State *L)
{
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &labels_key);
    return 0;
}

static int b_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    rules_charge(L, 1);
    if (prints_address(L, 1))
        push_label(L, 1);
    else
        luaL_tolstring(L, 1, NULL);
    return 1;
}

/* Before string.format runs: refuses %p and names the values %s would
 * print with an address, in place. The scan follows lstrlib's: after '%'
 * come flags, width and precision ("-+ #0", digits, '.'), then the
 * conversion letter; "%%" takes no argument. A malformed spec is left for
 * the original to refuse. */
static void format_unaddress(lua_State *L, const char *fmt, size_t len)
{
    int arg = 1;
    for (size_t i = 0; i < len; i++) {
        if (fmt[i] != '%')
            continue;
        if (++i < len && fmt[i] == '%')
            continue;
        while (i < len && fmt[i] && strchr("-+ #0123456789.", fmt[i]))
            i++;
        if (i >= len)
            return;
        arg++;
        if (fmt[i] == 'p')
            luaL_error(L, "string.format: '%%p' is not available to rules (it prints an address)");
        if (fmt[i] == 's' && arg <= lua_gettop(L) && prints_address(L, arg)) {
            push_label(L, arg);
            lua_replace(L, arg);
        }
    }
}

static int g_format(lua_State *L)
{
    size_t l;
    const char *fmt = luaL_checklstring(L, 1, &l);
    format_unaddress(L, fmt, l);
    uint64_t out = l;
    for (int i = 2; i <= lua_gettop(L); i++)
        out += lua_type(L, i) == LUA_TSTRING ? lua_rawlen(L, i) : 32;
    rules_charge(L, l / BYTES_PER_UNIT + (uint64_t)lua_gettop(L) * 4 + 1);
    rules_make_room(L, 2 * out);
    return call_orig(L);
}

/* ---- table functions ---- */

static uint64_t raw_len(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE ? (uint64_t)lua_rawlen(L, idx) : 0;
}

/* Elements in [i, j], refusing ranges no rule needs. */
static uint64_t range_count(lua_State *L, const char *what, lua_Integer i, lua_Integer j)
{
    if (j < i)
        return 0;
    uint64_t d = (uint64_t)j - (uint64_t)i;
    if (d >= RANGE_MAX)
        luaL_error(L, "%s: range too large (more than %I elements)", what, (lua_Integer)RANGE_MAX);
    return d + 1;
}

static int t_concat(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer j = lua_isnoneornil(L, 4) ? (lua_Integer)raw_len(L, 1) : luaL_checkinteger(L, 4);
    uint64_t n = range_count(L, "table.concat", i, j);
    rules_charge(L, n + 1);
    rules_make_room(L, 2 * 16 * n);
    return call_orig(L);
}

static int t_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    rules_charge(L, 4 * range_count(L, "table.move", f, e) + 1);
    return call_orig(L);
}

static int t_unpack(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer j = lua_isnoneornil(L, 3) ? (lua_Integer)raw_len(L, 1) : luaL_checkinteger(L, 3);
    /* beyond the stack limit the original refuses at once, at no cost */
    if (j >= i && (uint64_t)j - (uint64_t)i < 1000000)
        rules_charge(L, ((uint64_t)j - (uint64_t)i + 1) / 2 + 1);
    return call_orig(L);
}

/* insert(t, pos, v) and remove(t, pos) shift the elements after pos. */
static int t_insert(lua_State *L)
{
    uint64_t n = raw_len(L, 1), shift = 0;
    if (lua_gettop(L) == 3) {
        lua_Integer pos = luaL_checkinteger(L, 2);
        if (pos >= 1 && (uint64_t)pos <= n)
            shift = n + 1 - (uint64_t)pos;
    }
    rules_charge(L, shift / 2 + 1);
    return call_orig(L);
}

static int t_remove(lua_State *L)
{
    uint64_t n = raw_len(L, 1), shift = 0;
    lua_Integer pos = luaL_optinteger(L, 2, (lua_Integer)n);
    if (pos >= 1 && (uint64_t)pos < n)
        shift = n - (uint64_t)pos;
    rules_charge(L, shift / 2 + 1);
    return call_orig(L);
}

static int t_sort(lua_State *L)
{
    uint64_t n = raw_len(L, 1);
    uint64_t lg = n > 1 ? 64 - (uint64_t)__builtin_clzll(n) : 1;
    rules_charge(L, sat_mul(n, lg) + 1);
    return call_orig(L);
}

/* ---- utf8 ---- */

static int u_scan(lua_State *L)
{
    size_t l;
    luaL_checklstring(L, 1, &l);
    rules_charge(L, l / BYTES_PER_UNIT + 1);
    return call_orig(L);
}

static int u_codepoint(lua_State *L)
{
    size_t l;
    luaL_checklstring(L, 1, &l);
    lua_Integer i = luaL_optinteger(L, 2, 1);
    size_t a = str_start(i, l), b = str_end(luaL_optinteger(L, 3, i), l);
    rules_charge(L, (a <= b ? (uint64_t)(b - a) + 1 : 0) / 2 + 1);
    return call_orig(L);
}

/* The utf8.codes step skips continuation bytes in a loop: charged after
 * the fact by how far it moved (a few megabytes at most per call, and the
 * charge then ends the evaluation). */
static int u_codes_step(lua_State *L)
{
    size_t l;
    luaL_checklstring(L, 1, &l);
    lua_Integer before = lua_tointeger(L, 2);
    int n = call_orig(L);
    lua_Integer after = n >= 1 ? lua_tointeger(L, -n) : (lua_Integer)l;
    uint64_t moved = after > before ? (uint64_t)after - (uint64_t)before : 0;
    rules_charge(L, moved / BYTES_PER_UNIT + 1);
    return n;
}

static int u_codes(lua_State *L)
{
    int n = call_orig(L); /* iterator, s, 0 */
    if (n == 3 && lua_tocfunction(L, -3)) {
        lua_pushcfunction(L, lua_tocfunction(L, -3));
        lua_pushcclosure(L, u_codes_step, 1);
        lua_replace(L, -4);
    }
    return n;
}

/* ---- base ---- */

static int b_tonumber(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        rules_charge(L, lua_rawlen(L, 1) / BYTES_PER_UNIT + 1);
    return call_orig(L);
}

/* pcall that cannot catch a tripped limit: after the call, a kill (or a
 * memory error, which becomes one) is raised again. */
static int b_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    rules_state *st = rules_of(L);
    if (st->kill == RULES_OK && rules_is_memory_error(L, status))
        st->kill = RULES_ERR_MEM;
    if (st->kill != RULES_OK)
        return rules_raise_kill(L);
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/* ---- building the sandbox ---- */

typedef struct lib_entry {
    const char *name;
    lua_CFunction guard; /* NULL: copied as it is */
} lib_entry;

static const lib_entry base_entries[] = {
    {"assert", NULL},  {"error", NULL},   {"ipairs", NULL},   {"next", NULL},
    {"pairs", NULL},   {"rawequal", NULL}, {"rawget", NULL},  {"rawlen", NULL},
    {"select", NULL},  {"type", NULL},    {"_VERSION", NULL},
    {"tonumber", b_tonumber}, {NULL, NULL},
};

static const lib_entry string_entries[] = {
    {"byte", g_byte},     {"char", NULL},       {"find", g_find},         {"format", g_format},
    {"gmatch", g_gmatch}, {"gsub", g_gsub},     {"len", NULL},            {"lower", g_bytewise},
    {"match", g_match},   {"rep", g_rep},       {"reverse", g_bytewise},  {"sub", NULL},
    {"upper", g_bytewise}, {NULL, NULL},
};

static const lib_entry table_entries[] = {
    {"concat", t_concat}, {"insert", t_insert}, {"move", t_move},     {"pack", NULL},
    {"remove", t_remove}, {"sort", t_sort},     {"unpack", t_unpack}, {NULL, NULL},
};

static const lib_entry math_entries[] = {
    {"abs", NULL},   {"acos", NULL},  {"asin", NULL},       {"atan", NULL},       {"ceil", NULL},
    {"cos", NULL},   {"exp", NULL},   {"floor", NULL},      {"fmod", NULL},       {"huge", NULL},
    {"log", NULL},   {"max", NULL},   {"maxinteger", NULL}, {"min", NULL},        {"mininteger", NULL},
    {"modf", NULL},  {"pi", NULL},    {"sin", NULL},        {"sqrt", NULL},       {"tan", NULL},
    {"tointeger", NULL}, {"type", NULL}, {"ult", NULL},     {NULL, NULL},
};

static const lib_entry utf8_entries[] = {
    {"char", NULL},    {"charpattern", NULL}, {"codepoint", u_codepoint},
    {"codes", u_codes}, {"len", u_scan},      {"offset", u_scan},
    {NULL, NULL},
};

/* Copies the listed fields of table src into table dst, wrapping guarded
 * functions in a closure over the original. */
static void copy_entries(lua_State *L, int src, int dst, const lib_entry *e)
{
    src = lua_absindex(L, src);
    dst = lua_absindex(L, dst);
    for (; e->name; e++) {
        int t = lua_getfield(L, src, e->name);
        if (e->guard && t == LUA_TFUNCTION && lua_tocfunction(L, -1)) {
            lua_CFunction orig = lua_tocfunction(L, -1);
            lua_pop(L, 1);
            lua_pushcfunction(L, orig);
            lua_pushcclosure(L, e->guard, 1);
        }
        lua_setfield(L, dst, e->name);
    }
}

static int ro_newindex(lua_State *L)
{
    return luaL_error(L, "the %s library is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

/* Pushes an empty table that reads through to the table at lib and
 * refuses writes; its metatable is locked. */
static void push_proxy(lua_State *L, int lib, const char *name)
{
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, lib);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, ro_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* Opens the real library (for its functions), builds its sanitized copy
 * and sets base[name] to a read-only proxy of it. Leaves the copy on the
 * stack. */
static void add_library(lua_State *L, int base, const char *name, lua_CFunction open,
                        const lib_entry *entries)
{
    luaL_requiref(L, name, open, 0);
    lua_newtable(L);
    copy_entries(L, -2, lua_gettop(L), entries);
    lua_remove(L, -2);
    push_proxy(L, lua_gettop(L), name);
    lua_setfield(L, base, name);
}

/* Points the string metatable's __index at the sanitized string table at
 * idx and records both identities. */
static void sanitize_strings(lua_State *L, rules_state *st, int strings)
{
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, strings);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    st->str_mt = lua_topointer(L, -1);
    st->str_index = lua_topointer(L, strings);
    lua_pop(L, 2);
}

int rules_lib_open(lua_State *L)
{
    rules_state *st = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_newtable(L); /* 1: the sandbox's globals */
    luaL_requiref(L, LUA_GNAME, luaopen_base, 0);
    copy_entries(L, 2, 1, base_entries);
    lua_pop(L, 1);
    lua_pushcfunction(L, b_pcall);
    lua_setfield(L, 1, "pcall");
    lua_pushcfunction(L, b_tostring);
    lua_setfield(L, 1, "tostring");
    add_library(L, 1, LUA_STRLIBNAME, luaopen_string, string_entries);
    sanitize_strings(L, st, lua_gettop(L));
    lua_pop(L, 1);
    add_library(L, 1, LUA_TABLIBNAME, luaopen_table, table_entries);
    add_library(L, 1, LUA_MATHLIBNAME, luaopen_math, math_entries);
    add_library(L, 1, LUA_UTF8LIBNAME, luaopen_utf8, utf8_entries);
    lua_settop(L, 1);
    st->dec_mt = rules_dec_open(L, 1);
    lua_createtable(L, 0, 2); /* metatable of each evaluation's environment */
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    st->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    st->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    st->ncached = 0;
    return 0;
}
