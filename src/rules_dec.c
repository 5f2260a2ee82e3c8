/*
 * rules_dec: the `decimal` type rules compute money with: a userdata
 * holding a money_dec, with exact + - * and comparisons, and division and
 * rounding only through methods that name the scale and the mode
 * (docs/rules.md lists them).
 * Does not own: decimal arithmetic itself (money).
 *
 * Invariant: a float never becomes a decimal and never meets one:
 * dec(1.5), d * 1.5, d < 0.5 are errors, so no binary fraction can enter
 * a money path. Integers mix freely and exactly. Overflow is an error,
 * never a wrap. The metatable is locked and has no __gc, __close or
 * __newindex, so a decimal cannot run rule code or be changed in place.
 */
#include "rules_int.h"

#define DEC_MT "decimal" /* registry key, and __name for messages */

static const money_dec *dec_test(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, DEC_MT);
}

void rules_dec_push(lua_State *L, money_dec v)
{
    money_dec *d = lua_newuserdatauv(L, sizeof(*d), 0);
    *d = v;
    luaL_setmetatable(L, DEC_MT);
}

/* Operand idx as a decimal: a decimal or an integer; anything else,
 * floats above all, is an error. */
static money_dec dec_arg(lua_State *L, int idx, const char *op)
{
    const money_dec *d = dec_test(L, idx);
    if (d)
        return *d;
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i == LUA_MININTEGER)
            luaL_error(L, "%s: decimal overflow", op);
        return money_from_int((int64_t)i);
    }
    if (lua_type(L, idx) == LUA_TNUMBER)
        luaL_error(L, "%s: a float cannot be combined with a decimal (floats are not exact); "
                      "write the number as dec(\"...\")",
                   op);
    luaL_error(L, "%s: decimal or integer expected, got %s", op, luaL_typename(L, idx));
    return money_from_int(0);
}

/* Raises for a failed money_* call; pushes r otherwise. */
static int dec_result(lua_State *L, int rc, money_dec r, const char *op)
{
    if (rc == CPQD_EDIVZERO)
        return luaL_error(L, "%s: division by zero", op);
    if (rc != 0)
        return luaL_error(L, "%s: decimal overflow", op);
    rules_dec_push(L, r);
    return 1;
}

static int arg_scale(lua_State *L, int idx)
{
    lua_Integer s = luaL_checkinteger(L, idx);
    luaL_argcheck(L, s >= 0 && s <= MONEY_MAX_SCALE, idx, "scale must be 0..18");
    return (int)s;
}

static money_round arg_mode(lua_State *L, int idx)
{
    money_round m;
    if (money_round_parse(luaL_checkstring(L, idx), &m) != 0)
        luaL_argerror(L, idx, "rounding mode must be half_up, half_even, up, down, ceiling or floor");
    return m;
}

/* ---- metamethods ---- */

static int dec_add(lua_State *L)
{
    money_dec a = dec_arg(L, 1, "+"), b = dec_arg(L, 2, "+"), r;
    return dec_result(L, money_add(a, b, &r), r, "+");
}

static int dec_sub(lua_State *L)
{
    money_dec a = dec_arg(L, 1, "-"), b = dec_arg(L, 2, "-"), r;
    return dec_result(L, money_sub(a, b, &r), r, "-");
}

/* Exact product: its scale is the sum of the operands' scales. */
static int dec_mul(lua_State *L)
{
    money_dec a = dec_arg(L, 1, "*"), b = dec_arg(L, 2, "*"), r;
    int scale = a.scale + b.scale;
    if (scale > MONEY_MAX_SCALE)
        return luaL_error(L, "*: the exact product needs %d decimal places (at most 18); "
                             "use a:mul(b, scale, mode)",
                          scale);
    return dec_result(L, money_mul(a, b, scale, MONEY_HALF_EVEN, &r), r, "*");
}

static int dec_div(lua_State *L)
{
    return luaL_error(L, "/: dividing decimals needs a scale and a rounding mode; "
                         "use a:div(b, scale, mode)");
}

static int dec_unm(lua_State *L)
{
    money_dec r;
    return dec_result(L, money_negate(*dec_test(L, 1), &r), r, "-");
}

static int dec_eq(lua_State *L)
{
    const money_dec *a = dec_test(L, 1), *b = dec_test(L, 2);
    lua_pushboolean(L, a && b && money_cmp(*a, *b) == 0);
    return 1;
}

static int dec_lt(lua_State *L)
{
    lua_pushboolean(L, money_cmp(dec_arg(L, 1, "<"), dec_arg(L, 2, "<")) < 0);
    return 1;
}

static int dec_le(lua_State *L)
{
    lua_pushboolean(L, money_cmp(dec_arg(L, 1, "<="), dec_arg(L, 2, "<=")) <= 0);
    return 1;
}

static void push_text(lua_State *L, money_dec v)
{
    char buf[MONEY_FMT_MAX];
    int n = money_format(v, buf, sizeof(buf));
    if (n < 0)
        luaL_error(L, "invalid decimal");
    lua_pushlstring(L, buf, (size_t)n);
}

static int dec_tostring(lua_State *L)
{
    push_text(L, *(const money_dec *)luaL_checkudata(L, 1, DEC_MT));
    return 1;
}

/* "Total: " .. d: decimals as text; strings and numbers as Lua writes them. */
static int dec_concat(lua_State *L)
{
    for (int i = 1; i <= 2; i++) {
        const money_dec *d = dec_test(L, i);
        if (d)
            push_text(L, *d);
        else if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER)
            lua_pushvalue(L, i);
        else
            return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
    }
    lua_concat(L, 2);
    return 1;
}

/* ---- methods ---- */

static const money_dec *self(lua_State *L)
{
    return luaL_checkudata(L, 1, DEC_MT);
}

/* a:div(b, scale, mode): a / b rounded once to scale places. */
static int m_div(lua_State *L)
{
    money_dec a = *self(L), b = dec_arg(L, 2, "div"), r;
    int scale = arg_scale(L, 3);
    money_round mode = arg_mode(L, 4);
    return dec_result(L, money_div(a, b, scale, mode, &r), r, "div");
}

/* a:mul(b, scale, mode): a * b rounded once to scale places. */
static int m_mul(lua_State *L)
{
    money_dec a = *self(L), b = dec_arg(L, 2, "mul"), r;
    int scale = arg_scale(L, 3);
    money_round mode = arg_mode(L, 4);
    return dec_result(L, money_mul(a, b, scale, mode, &r), r, "mul");
}

/* a:round(scale, mode): a at exactly scale places. */
static int m_round(lua_State *L)
{
    money_dec a = *self(L), r;
    int scale = arg_scale(L, 2);
    money_round mode = arg_mode(L, 3);
    return dec_result(L, money_rescale(a, scale, mode, &r), r, "round");
}

static int m_scale(lua_State *L)
{
    lua_pushinteger(L, self(L)->scale);
    return 1;
}

static int m_sign(lua_State *L)
{
    lua_pushinteger(L, money_sign(*self(L)));
    return 1;
}

static int m_abs(lua_State *L)
{
    money_dec a = *self(L), r = a;
    int rc = money_sign(a) < 0 ? money_negate(a, &r) : 0;
    return dec_result(L, rc, r, "abs");
}

/* a:min(b) / a:max(b): the smaller / larger, as a decimal (a on ties). */
static int m_min(lua_State *L)
{
    money_dec a = *self(L), b = dec_arg(L, 2, "min");
    rules_dec_push(L, money_cmp(b, a) < 0 ? b : a);
    return 1;
}

static int m_max(lua_State *L)
{
    money_dec a = *self(L), b = dec_arg(L, 2, "max");
    rules_dec_push(L, money_cmp(b, a) > 0 ? b : a);
    return 1;
}

/* ---- constructor ---- */

/* dec("12.50"), dec(12), dec(d). Never from a float. */
static int dec_new(lua_State *L)
{
    money_dec d;
    size_t n;
    const char *s;
    switch (lua_type(L, 1)) {
    case LUA_TSTRING: {
        s = lua_tolstring(L, 1, &n);
        /* 64 bytes hold any valid decimal: refuse longer text unparsed */
        int rc = n <= 64 ? money_parse(s, n, &d) : CPQD_EINVAL;
        if (rc == CPQD_ERANGE)
            return luaL_error(L, "dec: '%s' is too large for a decimal", s);
        if (rc != 0)
            return luaL_error(L, "dec: '%s' is not a decimal (digits, optional '-' and '.', "
                                 "at most 18 places: \"12.50\")",
                              n <= 64 ? s : "(long string)");
        rules_dec_push(L, d);
        return 1;
    }
    case LUA_TNUMBER:
        if (!lua_isinteger(L, 1))
            return luaL_error(L, "dec: a float is not exact; write the number as a string: "
                                 "dec(\"1.5\")");
        rules_dec_push(L, dec_arg(L, 1, "dec"));
        return 1;
    default:
        if (dec_test(L, 1)) {
            lua_settop(L, 1);
            return 1;
        }
        return luaL_error(L, "dec: string or integer expected, got %s", luaL_typename(L, 1));
    }
}

static int dec_is(lua_State *L)
{
    lua_pushboolean(L, dec_test(L, 1) != NULL);
    return 1;
}

static const luaL_Reg dec_meta[] = {
    {"__add", dec_add}, {"__sub", dec_sub}, {"__mul", dec_mul},           {"__div", dec_div},
    {"__unm", dec_unm}, {"__eq", dec_eq},   {"__lt", dec_lt},             {"__le", dec_le},
    {"__concat", dec_concat}, {"__tostring", dec_tostring}, {NULL, NULL},
};

static const luaL_Reg dec_methods[] = {
    {"div", m_div},   {"mul", m_mul}, {"round", m_round}, {"scale", m_scale},
    {"sign", m_sign}, {"abs", m_abs}, {"min", m_min},     {"max", m_max},
    {NULL, NULL},
};

const void *rules_dec_open(lua_State *L, int base)
{
    base = lua_absindex(L, base);
    luaL_newmetatable(L, DEC_MT);
    luaL_setfuncs(L, dec_meta, 0);
    luaL_newlib(L, dec_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    const void *id = lua_topointer(L, -1);
    lua_pop(L, 1);
    lua_pushcfunction(L, dec_new);
    lua_setfield(L, base, "dec");
    lua_pushcfunction(L, dec_is);
    lua_setfield(L, base, "isdec");
    return id;
}
