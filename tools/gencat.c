/*
 * gencat: writes a large valid catalog (docs/catalog.md) to stdout, for
 * benchmarks (`make bench` loads `gencat 100000 --seed 1`).
 *
 *   gencat N [--seed S]
 *
 * N products GEN-0000001 .. (1 <= N <= 9999999), byte-identical output for
 * a given N and seed (default 1). The mix: bilingual UTF-8 names, 30
 * categories, enum/integer/decimal/text attributes with adders and
 * overrides, all five delivery modes, service products (every 40th, from
 * GEN-0000001) named by goods_with_service items, a BOM of at most three
 * levels, constraints of every kind, a list book with an entry per sellable
 * product (floor, ceiling, cost, tiers of all four types, unit prices,
 * 2026/2027 sub-windows), a USD segment book, a partner book, promotions
 * with every effect and stacking style, payment terms and an fx rate. No
 * rule files are referenced, so the output loads with any rules directory.
 *
 * Structure that keeps the output valid:
 *  - products fall in three index bands: [1, N/5] top assemblies,
 *    (N/5, N/2] sub-assemblies, the rest components; an option always names
 *    a non-service product of a later band, so SKUs only point to
 *    higher-numbered ones (no cycles) and BOMs are at most three deep;
 *  - each product's constraints are all satisfied by choosing option 0 of
 *    every group, and leave every option of the product reachable;
 *  - every property of product i comes from a generator seeded by
 *    (seed, i), so a plan can be recomputed (for a parent's nested
 *    constraint, for the price books) without keeping N plans in memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N 9999999u
#define MAX_GROUPS 3
#define MAX_OPTS 4
#define SERVICE_EVERY 40u /* products 1, 41, 81, ... are services */

/* ---- deterministic generator (splitmix64) ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for n >= 1. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

/* True with probability pct/100. */
static bool rng_pct(rng *r, uint32_t pct)
{
    return rng_below(r, 100) < pct;
}

/* The generator of product i in stream `stream` (0 plan, 1 prices). */
static rng rng_for(uint64_t seed, uint32_t i, uint32_t stream)
{
    rng r = {seed * 0xD1342543DE82EF95ull + ((uint64_t)stream << 32) + i};
    (void)rng_next(&r);
    return r;
}

/* ---- vocabulary ---- */

typedef struct word {
    const char *zh, *en;
} word;

static const word ADJ[] = {
    {"高速", "High-speed"},       {"精密", "Precision"},       {"智能", "Smart"},
    {"重型", "Heavy-duty"},       {"紧凑型", "Compact"},       {"节能", "Energy-saving"},
    {"工业级", "Industrial"},     {"防爆", "Explosion-proof"}, {"模块化", "Modular"},
    {"数字化", "Digital"},        {"静音", "Low-noise"},       {"便携式", "Portable"},
    {"高压", "High-pressure"},    {"耐腐蚀", "Corrosion-resistant"},
    {"双通道", "Dual-channel"},   {"无线", "Wireless"},
};
static const word NOUN[] = {
    {"主轴", "spindle"},          {"控制器", "controller"},    {"传感器", "sensor"},
    {"伺服电机", "servo motor"},  {"液压泵", "hydraulic pump"}, {"电磁阀", "solenoid valve"},
    {"轴承", "bearing"},          {"IO模块", "I/O module"},    {"机柜", "cabinet"},
    {"操作面板", "operator panel"}, {"变频器", "inverter drive"}, {"减速机", "gearbox"},
    {"编码器", "encoder"},        {"冷却单元", "cooling unit"}, {"工业相机", "vision camera"},
    {"机械手", "robot arm"},      {"电源模块", "power supply"}, {"交换机", "network switch"},
    {"网关", "IoT gateway"},      {"夹具", "fixture"},
};
static const word SERVICES[] = {
    {"安装调试服务", "Installation and commissioning"},
    {"操作培训", "Operator training"},
    {"现场验收服务", "Site acceptance service"},
    {"预防性维护", "Preventive maintenance"},
};
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const char *const CATEGORIES[] = {
    "spindles",  "controllers", "sensors",     "motors",     "pumps",       "valves",
    "bearings",  "io_modules",  "cabinets",    "panels",     "drives",      "gearboxes",
    "encoders",  "cooling",     "vision",      "robotics",   "power",       "networking",
    "gateways",  "fixtures",    "tooling",     "hydraulics", "pneumatics",  "safety",
    "lighting",  "cables",      "software",    "consumables", "spare_parts", "assemblies",
};

typedef struct group_name {
    const char *id, *name;
} group_name;

static const group_name GROUPS[] = {
    {"drive", "驱动 Drive"},         {"control", "控制 Control"}, {"sensing", "检测 Sensing"},
    {"housing", "外壳 Housing"},     {"power", "电源 Power"},     {"cooling", "冷却 Cooling"},
    {"accessory", "附件 Accessories"}, {"interface", "接口 Interfaces"},
};

static const char *const METERED[] = {"instance_hour", "gb_month", "call", "kwh", "message"};
static const char *const PERIODS[] = {"monthly", "quarterly", "yearly"};
static const char *const UOMS[] = {"SET", "PC", "M", "KG", "BOX"};
static const char *const TERMS[] = {"t-prepaid", "t-3070", "t-eom60", "t-accept"};

/* ---- product plans ---- */

typedef enum mode { M_GOODS, M_GWS, M_SUB, M_USAGE, M_MILESTONE } mode;

typedef struct opt {
    uint32_t sku;
    bool ranged;       /* qty {min: 1, max: qmax, default: qty} */
    uint32_t qty, qmax; /* fixed: qty == qmax */
    bool is_default;
} opt;

typedef struct group {
    uint32_t name;     /* index into GROUPS */
    uint32_t min, max; /* cardinality */
    uint32_t nopts;
    opt opts[MAX_OPTS];
} group;

typedef struct plan {
    uint32_t i;
    int level; /* 0 top assemblies, 1 sub-assemblies, 2 components */
    bool service, sellable, unit_price;
    mode mode;
    uint32_t adj, noun, cat, uom; /* uom 0 = default EA */
    bool colour, voltage, length, plant, reduced_tax;
    uint32_t ngroups;
    group groups[MAX_GROUPS];
    int64_t list; /* fen, or 1/10000 CNY when unit_price */
    uint32_t rnd; /* spare randomness for the emitters */
} plan;

typedef struct gen {
    uint64_t seed;
    uint32_t n;
    uint32_t band1, band2; /* first index of level 1 and of level 2 */
} gen;

static bool is_service(uint32_t i)
{
    return i % SERVICE_EVERY == 1;
}

static int level_of(const gen *g, uint32_t i)
{
    return i < g->band1 ? 0 : i < g->band2 ? 1 : 2;
}

/* A non-service product in [lo, hi], or 0 when there is none. */
static uint32_t pick_in(rng *r, uint32_t lo, uint32_t hi)
{
    if (lo > hi)
        return 0;
    uint32_t k = lo + rng_below(r, hi - lo + 1);
    if (!is_service(k))
        return k;
    if (k < hi)
        return k + 1;
    if (k > lo)
        return k - 1;
    return 0;
}

static int64_t between(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static void plan_groups(const gen *g, rng *r, plan *p)
{
    uint32_t lo = p->level == 0 ? g->band1 : g->band2, hi = g->n;
    uint32_t want_groups = 1 + rng_below(r, MAX_GROUPS);
    uint32_t first = rng_below(r, COUNT(GROUPS));
    if (lo <= p->i)
        lo = p->i + 1;
    for (uint32_t k = 0; k < want_groups; k++) {
        group *gr = &p->groups[p->ngroups];
        uint32_t want = 2 + rng_below(r, MAX_OPTS - 1);
        memset(gr, 0, sizeof(*gr));
        gr->name = (first + k) % COUNT(GROUPS);
        for (uint32_t t = 0; t < want * 3 && gr->nopts < want; t++) {
            uint32_t s = pick_in(r, lo, hi);
            bool dup = s == 0;
            for (uint32_t q = 0; !dup && q < gr->nopts; q++)
                dup = gr->opts[q].sku == s;
            if (dup)
                continue;
            opt *o = &gr->opts[gr->nopts++];
            o->sku = s;
            o->ranged = rng_pct(r, 25);
            o->qty = o->ranged ? 1 + rng_below(r, 2) : 1 + rng_below(r, 3);
            o->qmax = o->ranged ? o->qty + 1 + rng_below(r, 9) : o->qty;
        }
        if (gr->nopts < 2)
            return; /* too few candidates near the end of the index range */
        gr->min = rng_pct(r, 70) ? 1 : 0;
        gr->max = rng_pct(r, 75) ? 1 : gr->nopts;
        gr->opts[0].is_default = gr->min == 1 || rng_pct(r, 30);
        p->ngroups++;
    }
}

static void make_plan(const gen *g, uint32_t i, plan *p)
{
    rng r = rng_for(g->seed, i, 0);
    memset(p, 0, sizeof(*p));
    p->i = i;
    p->level = level_of(g, i);
    p->service = is_service(i);
    p->adj = rng_below(&r, COUNT(ADJ));
    p->noun = rng_below(&r, COUNT(NOUN));
    p->cat = rng_below(&r, COUNT(CATEGORIES));
    p->uom = rng_pct(&r, 70) ? 0 : 1 + rng_below(&r, COUNT(UOMS));
    p->rnd = (uint32_t)rng_next(&r);
    if (p->service) {
        p->sellable = true;
        p->mode = M_MILESTONE;
        p->list = between(&r, 200000, 5000000); /* 2,000.00 .. 50,000.00 */
        return;
    }
    uint32_t m = rng_below(&r, 100);
    if (p->level == 0)
        p->mode = m < 40 ? M_GOODS : m < 65 ? M_GWS : m < 75 ? M_SUB : m < 85 ? M_USAGE : M_MILESTONE;
    else
        p->mode = m < 80 ? M_GOODS : m < 86 ? M_GWS : m < 92 ? M_SUB : m < 97 ? M_USAGE : M_MILESTONE;
    p->sellable = p->level == 0 || rng_pct(&r, p->level == 1 ? 60 : 40);
    p->colour = rng_pct(&r, 40);
    p->voltage = rng_pct(&r, 20);
    p->length = rng_pct(&r, 10);
    p->plant = rng_pct(&r, 10);
    p->reduced_tax = rng_pct(&r, 8);
    if (p->mode == M_USAGE) {
        p->unit_price = true;
        p->list = between(&r, 10, 50000); /* 0.0010 .. 5.0000 */
    } else if (p->level == 0) {
        p->list = between(&r, 5000000, 200000000); /* 50,000.00 .. 2,000,000.00 */
    } else if (p->level == 1) {
        p->list = between(&r, 100000, 8000000); /* 1,000.00 .. 80,000.00 */
    } else {
        p->list = between(&r, 500, 500000); /* 5.00 .. 5,000.00 */
    }
    if (p->level < 2 && rng_pct(&r, p->level == 0 ? 70 : 35))
        plan_groups(g, &r, p);
}

/* ---- output helpers ---- */

static void sku(uint32_t i)
{
    printf("GEN-%07" PRIu32, i);
}

/* A quoted decimal from an integer of `places` (2 or 4) decimals. */
static void amount(int64_t v, int places)
{
    if (places == 4)
        printf("\"%" PRId64 ".%04" PRId64 "\"", v / 10000, v % 10000);
    else
        printf("\"%" PRId64 ".%02" PRId64 "\"", v / 100, v % 100);
}

static int64_t pct_of(int64_t v, int64_t pct)
{
    return v * pct / 100;
}

static void emit_header(const gen *g)
{
    printf("# Generated by tools/gencat: %" PRIu32 " products, seed %" PRIu64 ".\n"
           "# Valid under docs/catalog.md; regenerate rather than edit.\n"
           "catalog:\n"
           "  id: gen-%" PRIu64 "\n"
           "  version: \"gencat-%" PRIu32 "-%" PRIu64 "\"\n"
           "  name: 生成目录 Generated catalog (%" PRIu32 " products)\n"
           "  currency: CNY\n"
           "  timezone: Asia/Shanghai\n"
           "  rounding: half_up\n"
           "  tax:\n"
           "    prices_include_tax: false\n"
           "    classes: {standard: \"0.13\", service: \"0.06\", reduced: \"0.09\"}\n"
           "    default_class: standard\n",
           g->n, g->seed, g->seed, g->n, g->seed, g->n);
    fputs("attributes:\n"
          "  - id: colour\n"
          "    name: 颜色 Colour\n"
          "    type: enum\n"
          "    default: grey\n"
          "    values:\n"
          "      - {id: grey, name: 浅灰 Light grey}\n"
          "      - {id: white, name: 白色 White}\n"
          "      - {id: black, name: 黑色 Black, adder: \"50.00\"}\n"
          "      - {id: red, name: 红色 Red, adder: \"120.00\"}\n"
          "      - {id: blue, name: 蓝色 Blue, adder: \"120.00\"}\n"
          "      - {id: custom, name: 定制色 Custom colour, adder: \"800.00\"}\n"
          "  - {id: voltage, name: 电压 Voltage, type: integer, min: 220, max: 380, step: 160, "
          "unit: V, default: 380}\n"
          "  - {id: length, name: 长度 Length, type: decimal, min: \"0.5\", max: \"6.0\", "
          "step: \"0.5\", unit: m, default: \"1.0\"}\n"
          "  - {id: plant, name: 工厂代码 Plant code, type: text, pattern: '[A-Z]{2}-\\d{4}', "
          "max_length: 7}\n"
          "segments:\n"
          "  - {id: oem, name: 主机厂 OEMs}\n"
          "  - {id: distributor, name: 分销商 Distributors}\n"
          "  - {id: end_user, name: 终端用户 End users}\n"
          "  - {id: export, name: 出口客户 Export customers}\n"
          "partners:\n",
          stdout);
    static const char *const seg[] = {"oem", "distributor", "end_user", "export"};
    for (unsigned k = 1; k <= 8; k++)
        printf("  - {id: P-%04u, name: 合作伙伴%u Partner %u, segment: %s, "
               "discount_authority: \"%u\"}\n",
               k, k, k, seg[k % 4], 3 + k);
    fputs("payment_terms:\n"
          "  - id: t-prepaid\n"
          "    name: 款到发货 Prepaid\n"
          "    installments:\n"
          "      - {percent: \"100\", due: signing}\n"
          "  - id: t-3070\n"
          "    name: 30%预付 70%到货后30天 30% advance, 70% net 30 after delivery\n"
          "    installments:\n"
          "      - {percent: \"30\", due: signing}\n"
          "      - {percent: \"70\", due: delivery, days: 30}\n"
          "  - id: t-eom60\n"
          "    name: 月结60天 60 days after end of month\n"
          "    installments:\n"
          "      - {percent: \"100\", due: end_of_month, days: 60}\n"
          "  - id: t-accept\n"
          "    name: 验收后付90% 年底付10% 90% after acceptance, 10% at the end of 2027\n"
          "    installments:\n"
          "      - {percent: \"90\", due: acceptance, days: 30}\n"
          "      - {percent: \"10\", due: 2027-12-31}\n"
          "fx_rates:\n"
          "  - {from: USD, to: CNY, rate: \"7.1234\"}\n",
          stdout);
}

/* ---- products ---- */

/* Milestone products (not services) whose milestones are fixed amounts that
 * add up to the list price; their book entry is never split in time. */
static bool fixed_milestones(const plan *p)
{
    return p->mode == M_MILESTONE && !p->service && (p->rnd >> 8) % 10 == 0;
}

static void emit_milestones(const plan *p)
{
    static const char *const splits[] = {"30 70", "10 40 50", "20 30 30 20", "10 20 40 20 10"};
    static const word steps[] = {{"签约", "Contract signed"}, {"设计确认", "Design approved"},
                                 {"到货", "Delivered"},       {"调试完成", "Commissioned"},
                                 {"终验", "Final acceptance"}};
    fputs("    delivery:\n      mode: milestone\n      milestones:\n", stdout);
    if (fixed_milestones(p)) {
        int64_t first = pct_of(p->list, 40);
        fputs("        - {id: m1, name: 设计确认 Design approved, amount: ", stdout);
        amount(first, 2);
        fputs("}\n        - {id: m2, name: 终验 Final acceptance, amount: ", stdout);
        amount(p->list - first, 2);
        fputs("}\n", stdout);
        return;
    }
    const char *s = splits[(p->rnd >> 8) % COUNT(splits)];
    for (unsigned k = 0; *s; k++) {
        char *end = NULL;
        unsigned long pc = strtoul(s, &end, 10);
        printf("        - {id: m%u, name: %s %s, percent: \"%lu\"}\n", k + 1, steps[k].zh,
               steps[k].en, pc);
        s = end;
        while (*s == ' ')
            s++;
    }
}

static void emit_delivery(const gen *g, const plan *p)
{
    const char *term = TERMS[p->rnd % COUNT(TERMS)];
    switch (p->mode) {
    case M_GOODS:
        printf("    delivery: {mode: goods, lead_time_days: %" PRIu32 ", payment_term: %s}\n",
               (p->rnd >> 3) % 60, term);
        break;
    case M_GWS: {
        uint32_t s1 = (p->i - 1) / SERVICE_EVERY * SERVICE_EVERY + 1;
        fputs("    delivery: {mode: goods_with_service, service_items: [", stdout);
        sku(s1);
        if (s1 + SERVICE_EVERY <= g->n) {
            fputs(", ", stdout);
            sku(s1 + SERVICE_EVERY);
        }
        printf("], acceptance_days: %" PRIu32 ", payment_term: %s}\n", 7 + (p->rnd >> 3) % 60,
               term);
        break;
    }
    case M_SUB: {
        static const unsigned months[] = {1, 12, 24, 36};
        printf("    delivery: {mode: subscription, billing_period: %s, term_months: %u, "
               "billing: %s, auto_renew: %s}\n",
               PERIODS[(p->rnd >> 3) % 3], months[(p->rnd >> 5) % 4],
               (p->rnd >> 7) % 4 ? "in_advance" : "in_arrears",
               (p->rnd >> 9) % 2 ? "true" : "false");
        break;
    }
    case M_USAGE:
        printf("    delivery: {mode: usage, metered_unit: %s, billing_period: monthly",
               METERED[(p->rnd >> 3) % COUNT(METERED)]);
        if ((p->rnd >> 6) % 3 == 0)
            printf(", minimum_commitment: \"%" PRIu32 "000.00\"", 1 + (p->rnd >> 8) % 50);
        fputs(", payment_term: t-eom60}\n", stdout);
        break;
    case M_MILESTONE:
        emit_milestones(p);
        break;
    }
}

static void emit_attributes(const plan *p)
{
    if (!p->colour && !p->voltage && !p->length && !p->plant)
        return;
    fputs("    attributes:\n", stdout);
    if (p->colour) {
        switch ((p->rnd >> 12) % 3) {
        case 0:
            fputs("      - {ref: colour}\n", stdout);
            break;
        case 1:
            fputs("      - {ref: colour, values: [grey, white, black, custom], default: white}\n",
                  stdout);
            break;
        default:
            fputs("      - {ref: colour, adders: {custom: \"1200.00\", red: \"0.00\"}}\n", stdout);
            break;
        }
    }
    if (p->voltage)
        fputs((p->rnd >> 14) % 2 ? "      - {ref: voltage, required: true}\n"
                                 : "      - {ref: voltage, default: 220}\n",
              stdout);
    if (p->length)
        fputs("      - {ref: length, required: true}\n", stdout);
    if (p->plant)
        fputs("      - {ref: plant}\n", stdout);
}

/* One line per group, options in a flow sequence: the file stays compact. */
static void emit_groups(const plan *p)
{
    if (!p->ngroups)
        return;
    fputs("    groups:\n", stdout);
    for (uint32_t k = 0; k < p->ngroups; k++) {
        const group *gr = &p->groups[k];
        printf("      - {id: %s, name: %s, min: %" PRIu32 ", max: %" PRIu32 ", options: [",
               GROUPS[gr->name].id, GROUPS[gr->name].name, gr->min, gr->max);
        for (uint32_t q = 0; q < gr->nopts; q++) {
            const opt *o = &gr->opts[q];
            fputs(q ? ", {sku: " : "{sku: ", stdout);
            sku(o->sku);
            if (o->ranged)
                printf(", qty: {min: 1, max: %" PRIu32 ", default: %" PRIu32 "}", o->qmax, o->qty);
            else if (o->qty != 1)
                printf(", qty: %" PRIu32, o->qty);
            if (o->is_default)
                fputs(", default: true", stdout);
            fputs("}", stdout);
        }
        fputs("]}\n", stdout);
    }
}

/* "group = GEN-..." */
static void lit_eq(const group *gr, uint32_t opt_index)
{
    printf("%s = ", GROUPS[gr->name].id);
    sku(gr->opts[opt_index].sku);
}

/* Starts the constraints list before the first constraint of a product. */
static void con_begin(bool *started)
{
    if (!*started)
        fputs("    constraints:\n", stdout);
    *started = true;
}

/* Constraints over p's BOM; option 0 of every group satisfies them all and
 * every option stays reachable. */
static void emit_constraints(const gen *g, const plan *p)
{
    if (!p->ngroups)
        return;
    const group *g1 = &p->groups[0], *g2 = p->ngroups > 1 ? &p->groups[1] : NULL;
    bool started = false;
    if (g2) {
        uint32_t kind = (p->rnd >> 16) % 3;
        bool single = g1->min == 1 && g1->max == 1 && g2->min == 1 && g2->max == 1;
        if (kind == 2 && !single)
            kind = 1;
        con_begin(&started);
        if (kind == 0) {
            fputs("      - id: c-requires\n        requires: {if: \"", stdout);
            lit_eq(g1, 0);
            fputs("\", then: \"", stdout);
            lit_eq(g2, 0);
            fputs("\"}\n", stdout);
        } else if (kind == 1) {
            fputs("      - id: c-excludes\n        excludes: [\"", stdout);
            lit_eq(g1, 1);
            fputs("\", \"", stdout);
            lit_eq(g2, 1);
            fputs("\"]\n", stdout);
        } else {
            printf("      - id: c-table\n        table:\n          vars: [%s, %s]\n"
                   "          allowed:\n",
                   GROUPS[g1->name].id, GROUPS[g2->name].id);
            for (uint32_t a = 0; a < g1->nopts; a++) {
                fputs("            - [", stdout);
                sku(g1->opts[a].sku);
                fputs(", ", stdout);
                sku(g2->opts[0].sku);
                fputs("]\n", stdout);
            }
            for (uint32_t b = 1; b < g2->nopts; b++) {
                fputs("            - [", stdout);
                sku(g1->opts[0].sku);
                fputs(", ", stdout);
                sku(g2->opts[b].sku);
                fputs("]\n", stdout);
            }
        }
    }
    if (p->voltage) {
        con_begin(&started);
        printf("      - id: c-voltage\n        if: [\"@voltage = 380\"]\n        then: [\"%s in [",
               GROUPS[g1->name].id);
        sku(g1->opts[0].sku);
        fputs(", ", stdout);
        sku(g1->opts[1].sku);
        fputs("]\"]\n", stdout);
    }
    if (p->colour && g2) {
        con_begin(&started);
        fputs("      - id: c-colour\n        excludes: [\"@colour = custom\", \"", stdout);
        lit_eq(g2, g2->nopts - 1);
        fputs("\"]\n", stdout);
    }
    if ((p->rnd >> 18) % 3 == 0) {
        uint32_t sum = 0;
        for (uint32_t q = 0; q < g1->nopts; q++)
            sum += g1->opts[q].qmax;
        con_begin(&started);
        printf("      - id: c-quantity\n        quantity: {path: %s, min: 0, max: %" PRIu32 "}\n",
               GROUPS[g1->name].id, sum - 1);
    }
    if (p->level == 0) {
        plan sub;
        make_plan(g, g1->opts[0].sku, &sub);
        if (sub.ngroups) {
            const group *sg = &sub.groups[0];
            con_begin(&started);
            fputs("      - id: c-nested\n        requires: {if: \"", stdout);
            lit_eq(g1, 0);
            printf("\", then: \"%s/", GROUPS[g1->name].id);
            sku(g1->opts[0].sku);
            fputs("/", stdout);
            lit_eq(sg, 0);
            fputs("\"}\n", stdout);
        }
    }
}

static void emit_product(const gen *g, const plan *p)
{
    fputs("  - sku: ", stdout);
    sku(p->i);
    if (p->service) {
        const word *w = &SERVICES[(p->i / SERVICE_EVERY) % COUNT(SERVICES)];
        printf("\n    name: %s %s %07" PRIu32 "\n    category: services\n    uom: JOB\n"
               "    tax_class: service\n",
               w->zh, w->en, p->i);
    } else {
        printf("\n    name: %s%s %s %s %07" PRIu32 "\n    category: %s\n", ADJ[p->adj].zh,
               NOUN[p->noun].zh, ADJ[p->adj].en, NOUN[p->noun].en, p->i, CATEGORIES[p->cat]);
        if (p->uom)
            printf("    uom: %s\n", UOMS[p->uom - 1]);
        if (p->reduced_tax)
            fputs("    tax_class: reduced\n", stdout);
        if (!p->sellable)
            fputs("    sellable: false\n", stdout);
    }
    emit_delivery(g, p);
    emit_attributes(p);
    emit_groups(p);
    emit_constraints(g, p);
}

/* ---- price books ---- */

static void emit_entry(const gen *g, const plan *p)
{
    rng r = rng_for(g->seed, p->i, 1);
    int places = p->unit_price ? 4 : 2;
    bool split = rng_pct(&r, 4) && !fixed_milestones(p);
    bool has_floor = rng_pct(&r, 25), has_ceiling = rng_pct(&r, 15), has_cost = rng_pct(&r, 40);
    bool tiers = rng_pct(&r, 12);
    for (int half = 0; half < (split ? 2 : 1); half++) {
        int64_t list = half ? pct_of(p->list, 103) : p->list;
        fputs("      - {sku: ", stdout);
        sku(p->i);
        fputs(", list: ", stdout);
        amount(list, places);
        if (p->unit_price)
            fputs(", unit_price: true", stdout);
        if (has_floor) {
            fputs(", floor: ", stdout);
            amount(pct_of(list, 85), places);
        }
        if (has_ceiling) {
            fputs(", ceiling: ", stdout);
            amount(pct_of(list, 120), places);
        }
        if (has_cost) {
            fputs(", cost: ", stdout);
            amount(pct_of(list, 60), places);
        }
        if (split)
            fputs(half ? ", valid_from: 2027-01-01" : ", valid_to: 2026-12-31", stdout);
        if (tiers && p->unit_price && p->rnd % 2) {
            fputs(", tiers: {type: block, block_size: 1000, bands: [{from: 0, price: ", stdout);
            amount(list * 1000, 4);
            fputs("}, {from: 100, price: ", stdout);
            amount(pct_of(list * 1000, 90), 4);
            fputs("}]}", stdout);
        } else if (tiers && p->unit_price) {
            fputs(", tiers: {type: graduated, bands: [{from: 0, price: ", stdout);
            amount(list, 4);
            fputs("}, {from: 100000, price: ", stdout);
            amount(pct_of(list, 80), 4);
            fputs("}]}", stdout);
        } else if (tiers && p->uom == 5 /* BOX */) {
            fputs(", tiers: {type: package, block_size: 10, bands: [{from: 1, price: ", stdout);
            amount(list * 10, 2);
            fputs("}, {from: 20, price: ", stdout);
            amount(pct_of(list * 10, 92), 2);
            fputs("}]}", stdout);
        } else if (tiers) {
            printf(", tiers: {type: %s, bands: [{from: 1, price: ", p->rnd % 2 ? "volume" : "graduated");
            amount(list, 2);
            fputs("}, {from: 10, price: ", stdout);
            amount(pct_of(list, 95), 2);
            fputs("}, {from: 100, price: ", stdout);
            amount(pct_of(list, 90), 2);
            fputs("}]}", stdout);
        }
        fputs("}\n", stdout);
    }
}

/* Sellable products i with i % every == rem; returns how many exist. */
static uint32_t count_every(const gen *g, uint32_t every, uint32_t rem)
{
    uint32_t c = 0;
    for (uint32_t i = rem ? rem : every; i <= g->n && c == 0; i += every) {
        plan p;
        make_plan(g, i, &p);
        c += p.sellable;
    }
    return c;
}

static void emit_books(const gen *g)
{
    plan p;
    fputs("price_books:\n"
          "  - id: gen-list\n"
          "    name: 目录价 2026-2027 List prices 2026-2027\n"
          "    currency: CNY\n"
          "    valid_from: 2026-01-01\n"
          "    valid_to: 2027-12-31\n"
          "    audience: all\n"
          "    out_of_range: approval\n"
          "    entries:\n",
          stdout);
    for (uint32_t i = 1; i <= g->n; i++) {
        make_plan(g, i, &p);
        if (p.sellable)
            emit_entry(g, &p);
    }
    if (count_every(g, 50, 2)) {
        fputs("  - id: gen-export-usd\n"
              "    name: 出口美元价 Export prices in USD\n"
              "    currency: USD\n"
              "    valid_from: 2026-07-01\n"
              "    valid_to: 2027-06-30\n"
              "    audience: {segment: export}\n"
              "    rounding: half_even\n"
              "    entries:\n",
              stdout);
        for (uint32_t i = 2; i <= g->n; i += 50) {
            make_plan(g, i, &p);
            if (!p.sellable)
                continue;
            fputs("      - {sku: ", stdout);
            sku(i);
            fputs(", list: ", stdout);
            amount(p.list * 1000 / 7123, p.unit_price ? 4 : 2);
            fputs(p.unit_price ? ", unit_price: true}\n" : "}\n", stdout);
        }
    }
    if (count_every(g, 97, 3)) {
        fputs("  - id: gen-p0001\n"
              "    name: 合作伙伴1结算价 Partner 1 prices\n"
              "    currency: CNY\n"
              "    valid_from: 2026-01-01\n"
              "    audience: {partner: P-0001}\n"
              "    out_of_range: clamp\n"
              "    entries:\n",
              stdout);
        for (uint32_t i = 3; i <= g->n; i += 97) {
            make_plan(g, i, &p);
            if (!p.sellable)
                continue;
            int places = p.unit_price ? 4 : 2;
            fputs("      - {sku: ", stdout);
            sku(i);
            fputs(", list: ", stdout);
            amount(pct_of(p.list, 92), places);
            fputs(", floor: ", stdout);
            amount(pct_of(p.list, 88), places);
            fputs(", ceiling: ", stdout);
            amount(p.list, places);
            fputs(p.unit_price ? ", unit_price: true}\n" : "}\n", stdout);
        }
    }
}

/* ---- promotions ---- */

/* The first sellable, non-service, non-usage products from index 2 on. */
static uint32_t find_plain(const gen *g, uint32_t *out, uint32_t want)
{
    uint32_t n = 0;
    for (uint32_t i = 2; i <= g->n && i < 5000 && n < want; i++) {
        plan p;
        make_plan(g, i, &p);
        if (p.sellable && !p.service && !p.unit_price)
            out[n++] = i;
    }
    return n;
}

static void emit_promotions(const gen *g)
{
    uint32_t pick[3];
    uint32_t npick = find_plain(g, pick, 3);
    fputs("promotions:\n"
          "  - id: p-double11\n"
          "    name: 双十一 服务九折 Singles' Day 10% off services\n"
          "    valid_from: 2026-11-01\n"
          "    valid_to: 2026-11-11\n"
          "    eligibility: {categories: [services], channels: [online, partner]}\n"
          "    effect: {percent_off: \"10\"}\n"
          "    stacking: {group: seasonal, priority: 10}\n"
          "  - id: p-618\n"
          "    name: 618 满10000减500 618 sale, 500 off 10000\n"
          "    valid_from: 2027-06-01\n"
          "    valid_to: 2027-06-18\n"
          "    eligibility: {segments: [end_user], min_amount: \"10000.00\"}\n"
          "    effect: {amount_off: \"500.00\"}\n"
          "    stacking: {group: seasonal, priority: 20}\n"
          "  - id: p-coupon\n"
          "    name: 新客券 New-customer coupon\n"
          "    valid_from: 2026-01-01\n"
          "    valid_to: 2027-12-31\n"
          "    eligibility: {coupon: GEN-WELCOME, min_amount: \"2000.00\"}\n"
          "    effect: {amount_off: \"200.00\"}\n"
          "    stacking: {best: true}\n",
          stdout);
    if (npick >= 1) {
        plan p;
        make_plan(g, pick[0], &p);
        fputs("  - id: p-special\n"
              "    name: 限时特价 Limited-time special price\n"
              "    valid_from: 2026-09-01\n"
              "    valid_to: 2026-09-30\n"
              "    eligibility: {skus: [",
              stdout);
        sku(pick[0]);
        printf("], categories: [%s]}\n    effect: {special_price: ", CATEGORIES[p.cat]);
        amount(pct_of(p.list, 90), 2);
        fputs("}\n    stacking: {exclusive: true}\n"
              "  - id: p-gift\n"
              "    name: 买二送安装 Free installation with two units\n"
              "    valid_from: 2026-01-01\n"
              "    eligibility: {skus: [",
              stdout);
        sku(pick[0]);
        fputs("], min_quantity: 2}\n    effect: {free_item: {sku: GEN-0000001, qty: 1}}\n"
              "    stacking: {group: gifts, priority: 5}\n",
              stdout);
    }
    if (npick >= 2) {
        int64_t sum = 0;
        fputs("  - id: p-bundle\n"
              "    name: 组合套餐价 Bundle price\n"
              "    valid_from: 2026-03-01\n"
              "    valid_to: 2027-02-28\n"
              "    eligibility: {skus: [",
              stdout);
        for (uint32_t k = 0; k < npick; k++) {
            plan p;
            make_plan(g, pick[k], &p);
            sum += p.list;
            if (k)
                fputs(", ", stdout);
            sku(pick[k]);
        }
        printf("], min_quantity: %" PRIu32 "}\n    effect: {bundle_price: ", npick);
        amount(pct_of(sum, 85), 2);
        fputs("}\n    stacking: {exclusive: true}\n", stdout);
    }
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr, "usage: gencat N [--seed S]   (1 <= N <= %u; S a decimal 64-bit seed, "
                    "default 1)\n",
            MAX_N);
    return 2;
}

int main(int argc, char **argv)
{
    gen g = {1, 0, 0, 0};
    for (int a = 1; a < argc; a++) {
        char *end = NULL;
        errno = 0;
        if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
            a++;
            if (argv[a][0] < '0' || argv[a][0] > '9')
                return usage();
            g.seed = strtoull(argv[a], &end, 10);
            if (errno || *end)
                return usage();
        } else if (g.n == 0 && argv[a][0] >= '1' && argv[a][0] <= '9') {
            unsigned long v = strtoul(argv[a], &end, 10);
            if (errno || *end || v > MAX_N)
                return usage();
            g.n = (uint32_t)v;
        } else {
            return usage();
        }
    }
    if (g.n == 0)
        return usage();
    g.band1 = g.n / 5 + 1; /* [1, band1) top assemblies */
    g.band2 = g.n / 2 + 1; /* [band1, band2) sub-assemblies, then components */

    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    emit_header(&g);
    fputs("products:\n", stdout);
    for (uint32_t i = 1; i <= g.n; i++) {
        plan p;
        make_plan(&g, i, &p);
        emit_product(&g, &p);
    }
    emit_books(&g);
    emit_promotions(&g);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gencat: write");
        return 1;
    }
    return 0;
}
