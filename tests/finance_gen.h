/*
 * finance_gen: a seeded generator of open receivable items and a bank
 * statement that pays them with realistic noise, with the ground truth of
 * every credit, and the scoring of a match run against it. Shared by
 * tests/test_match.c (small, asserts behaviour) and
 * tests/bench/bench_match.c (20,000 items, 10,000 credits, timed).
 *
 * What the statement holds (shares of the credits, the rest single
 * payments with a correct reference in one of several writings):
 *   typo       a reference with one digit swapped, replaced, dropped or doubled
 *   noref      no reference at all (payer and amount only)
 *   combined   2-3 items of one customer in one payment, all, one or none of
 *              their references written
 *   split      one item paid in two parts, both with its reference
 *   over       an item paid with something extra (kept as customer credit)
 *   dup        the same bank transaction again (from this statement or the
 *              previous one, whose ids the matcher is told it has seen)
 *   noise      money from unknown payers, and advance payments from known
 *              ones, that pay no open item: must stay unmatched
 * Payers write their names in several ways (exact, upper case, cut at 35
 * bytes, one typo, someone else's name) and pay from a known account or
 * from a new one.
 *
 * Scoring: a credit is right when its allocations are the intended ones;
 * two items of the same contract with the same amount (two periods of a
 * subscription) count as the same item, since paying either is the same
 * to everyone. A credit is wrong when money went to an item it was not
 * meant for, or more than meant, or a credit meant for nothing was
 * matched; incomplete when it paid part of what was meant and kept the
 * rest as credit; missed when left unmatched.
 *
 * Header-only (static functions); randomness only from the seed.
 */
#ifndef CPQD_FINANCE_GEN_H
#define CPQD_FINANCE_GEN_H

#include "cpqd/arena.h"
#include "cpqd/bank.h"
#include "cpqd/match.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- randomness ---- */

typedef struct fg_rng {
    uint64_t s;
} fg_rng;

static uint64_t fg_next(fg_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t fg_below(fg_rng *r, size_t n)
{
    return n ? (size_t)(fg_next(r) % n) : 0;
}

static int64_t fg_range(fg_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)fg_below(r, (size_t)(hi - lo + 1));
}

static int fg_pct(fg_rng *r)
{
    return (int)fg_below(r, 100);
}

/* ---- the data ---- */

enum { FG_TARGET, FG_NONE, FG_DUP };
enum { FG_MAX_ALLOC = 4 };

typedef struct fg_truth {
    int kind; /* FG_TARGET, FG_NONE (noise), FG_DUP */
    size_t n;
    size_t item[FG_MAX_ALLOC];
    int64_t units[FG_MAX_ALLOC]; /* minor units */
    int64_t overpaid;
    const char *scenario; /* static name, for reports */
} fg_truth;

typedef struct fg_data {
    uint64_t seed;
    arena *a;
    match_customer *cust;
    size_t ncust;
    match_item *items;
    int64_t *units; /* the items' open amounts in minor units */
    size_t nitems;
    bank_credit *credits;
    fg_truth *truth;
    size_t ncredits;
    char **seen; /* tx ids of the previous statement, sorted */
    size_t nseen;
} fg_data;

typedef struct fg_gen {
    fg_data *d;
    fg_rng r;
    int64_t *open;       /* the generator's view of what is open, minor units */
    char *used;          /* item already the target of a payment */
    size_t *contract_of; /* contract number index per item */
    size_t ncontracts;
    unsigned inv_seq, tx_seq;
    size_t *order; /* items in random order, for picking */
    size_t pick;
} fg_gen;

static char *fg_str(fg_data *d, const char *s)
{
    char *p = arena_strdup(d->a, s);
    if (!p) {
        fprintf(stderr, "finance_gen: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- names ---- */

static const char *const fg_city_zh[] = {"上海", "北京", "深圳", "广州", "杭州", "苏州",
                                         "南京", "成都", "武汉", "天津", "西安", "宁波"};
static const char *const fg_city_en[] = {"Shanghai", "Beijing", "Shenzhen", "Guangzhou",
                                         "Hangzhou", "Suzhou",  "Nanjing",  "Chengdu",
                                         "Wuhan",    "Tianjin", "Xian",     "Ningbo"};
static const char *const fg_syl_zh[] = {"华", "信", "创", "达", "鑫", "源", "泰", "博", "瑞", "恒",
                                        "盛", "康", "新", "科", "中", "宏", "远", "安", "捷", "联"};
static const char *const fg_syl_en[] = {"Hua", "Xin", "Chuang", "Da",    "Xing", "Yuan",  "Tai",
                                        "Bo",  "Rui", "Heng",   "Sheng", "Kang", "Zhong", "Hong",
                                        "An",  "Jie", "Lian",   "Tong",  "Feng", "Ming"};
static const char *const fg_ind_zh[] = {"科技", "贸易",     "电子",     "医疗器械", "机械制造",
                                        "软件", "建设工程", "信息技术", "精密仪器", "新能源"};
static const char *const fg_ind_en[] = {"Technology",  "Trading",  "Electronics", "Medical",
                                        "Machinery",   "Software", "Engineering", "Information",
                                        "Instruments", "Energy"};

#define FG_N(a) (sizeof(a) / sizeof((a)[0]))

static void fg_company(fg_rng *r, char *buf, size_t cap)
{
    size_t c = fg_below(r, FG_N(fg_city_zh)), i = fg_below(r, FG_N(fg_ind_zh));
    size_t s1 = fg_below(r, FG_N(fg_syl_zh)), s2 = fg_below(r, FG_N(fg_syl_zh));
    size_t s3 = fg_below(r, FG_N(fg_syl_zh));
    if (fg_pct(r) < 55)
        snprintf(buf, cap, "%s%s%s%s%s有限公司", fg_city_zh[c], fg_syl_zh[s1], fg_syl_zh[s2],
                 fg_syl_zh[s3], fg_ind_zh[i]);
    else
        snprintf(buf, cap, "%s %s%s%s %s Co., Ltd.", fg_city_en[c], fg_syl_en[s1],
                 fg_syl_en[s2 % FG_N(fg_syl_en)], fg_pct(r) < 50 ? "" : fg_syl_en[s3],
                 fg_ind_en[i]);
}

static void fg_digits(fg_rng *r, char *buf, size_t n)
{
    buf[0] = (char)('1' + fg_below(r, 9));
    for (size_t i = 1; i < n; i++)
        buf[i] = (char)('0' + fg_below(r, 10));
    buf[n] = '\0';
}

/* How the bank writes a customer's name. */
static const char *fg_payer_name(fg_gen *g, size_t cu)
{
    fg_data *d = g->d;
    const char *name = d->cust[cu].name;
    char buf[256];
    int p = fg_pct(&g->r);
    if (p < 70)
        return name;
    snprintf(buf, sizeof(buf), "%s", name);
    if (p < 85) { /* upper case, punctuation dropped */
        size_t k = 0;
        for (size_t i = 0; buf[i]; i++) {
            char ch = buf[i];
            if (ch == ',' || ch == '.')
                continue;
            buf[k++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
        }
        buf[k] = '\0';
    } else if (p < 90) { /* cut at 35 bytes on a character boundary */
        size_t k = strlen(buf) > 35 ? 35 : strlen(buf);
        while (k > 0 && ((unsigned char)buf[k] & 0xC0) == 0x80)
            k--;
        buf[k] = '\0';
    } else if (p < 95) { /* one typo in an ASCII letter, if any */
        size_t n = strlen(buf), tries = 0;
        for (size_t i = fg_below(&g->r, n); tries < n; i = (i + 1) % n, tries++)
            if (buf[i] >= 'a' && buf[i] <= 'y') {
                buf[i]++;
                break;
            }
    } else { /* someone else pays: a name the matcher does not know */
        fg_company(&g->r, buf, sizeof(buf));
        strncat(buf, " Holding", sizeof(buf) - strlen(buf) - 1);
    }
    return fg_str(d, buf);
}

/* ---- items ---- */

/* Adds one contract of customer cu with a random schedule shape. */
static void fg_contract(fg_gen *g, size_t cu, size_t cap)
{
    fg_data *d = g->d;
    char num[32];
    snprintf(num, sizeof(num), "C-2026-%06zu", ++g->ncontracts);
    const char *cnum = fg_str(d, num);
    const char *cur = fg_pct(&g->r) < 2 ? "USD" : "CNY";
    int shape = fg_pct(&g->r);
    size_t n;
    int64_t amt[12];
    if (shape < 30) { /* goods, one installment */
        n = 1;
        amt[0] = fg_range(&g->r, 100000, 30000000);
    } else if (shape < 55) { /* 30/70 or 30/60/10 */
        int64_t total = fg_range(&g->r, 500000, 50000000);
        n = fg_pct(&g->r) < 50 ? 2 : 3;
        amt[0] = total * 30 / 100;
        amt[1] = n == 2 ? total - amt[0] : total * 60 / 100;
        if (n == 3)
            amt[2] = total - amt[0] - amt[1];
    } else if (shape < 85) { /* a subscription: equal periods */
        n = (size_t)fg_range(&g->r, 3, 12);
        int64_t per = fg_range(&g->r, 30000, 2000000);
        for (size_t i = 0; i < n; i++)
            amt[i] = per;
    } else { /* milestones */
        n = (size_t)fg_range(&g->r, 3, 5);
        for (size_t i = 0; i < n; i++)
            amt[i] = fg_range(&g->r, 1000000, 20000000);
    }
    date_days start = date_from_ymd(2026, 1, 1) + (date_days)fg_below(&g->r, 300);
    for (size_t i = 0; i < n && d->nitems < cap; i++) {
        size_t k = d->nitems++;
        match_item *it = &d->items[k];
        char id[32];
        snprintf(id, sizeof(id), "r_%06zu", k);
        *it = (match_item){
            fg_str(d, id), cu, cnum, NULL, cur, {amt[i], 2}, start + (date_days)(30 * i)};
        d->units[k] = amt[i];
        g->contract_of[k] = g->ncontracts;
        if (fg_pct(&g->r) < 80) {
            /* an invoice; now and then covering this item and the next */
            bool shared =
                i > 0 && d->items[k - 1].invoice_number && fg_pct(&g->r) < 12 &&
                (k < 2 || d->items[k - 2].invoice_number != d->items[k - 1].invoice_number);
            if (shared) {
                it->invoice_number = d->items[k - 1].invoice_number;
            } else {
                snprintf(num, sizeof(num), "INV-SH-2026-%06u", ++g->inv_seq);
                it->invoice_number = fg_str(d, num);
            }
        }
    }
}

static void fg_customers_items(fg_gen *g, size_t nitems)
{
    fg_data *d = g->d;
    d->ncust = nitems / 8 ? nitems / 8 : 1;
    d->cust = arena_calloc(d->a, d->ncust, sizeof(*d->cust));
    d->items = arena_calloc(d->a, nitems, sizeof(*d->items));
    d->units = arena_calloc(d->a, nitems, sizeof(*d->units));
    g->contract_of = calloc(nitems, sizeof(size_t));
    for (size_t c = 0; c < d->ncust; c++) {
        char name[256], acct[24];
        fg_company(&g->r, name, sizeof(name));
        /* names are unique in the CRM */
        for (size_t j = 0; j < c; j++)
            if (strcmp(d->cust[j].name, name) == 0) {
                snprintf(name + strlen(name), sizeof(name) - strlen(name), " (%zu)", c);
                break;
            }
        size_t na = 1 + (fg_pct(&g->r) < 30);
        const char **acc = arena_calloc(d->a, na, sizeof(char *));
        for (size_t k = 0; k < na; k++) {
            fg_digits(&g->r, acct, 16 + fg_below(&g->r, 4));
            acc[k] = fg_str(d, acct);
        }
        char id[32];
        snprintf(id, sizeof(id), "cust-%05zu", c);
        d->cust[c] = (match_customer){fg_str(d, id), fg_str(d, name), acc, na};
    }
    while (d->nitems < nitems)
        fg_contract(g, fg_below(&g->r, d->ncust), nitems);
}

/* ---- credits ---- */

static bank_credit *fg_credit(fg_gen *g, fg_truth **t, const char *scenario)
{
    fg_data *d = g->d;
    size_t k = d->ncredits++;
    char tx[32];
    snprintf(tx, sizeof(tx), "BOC-2026-%07u", ++g->tx_seq);
    d->credits[k] = (bank_credit){.tx_id = fg_str(d, tx),
                                  .booking_date = BANK_NO_DATE,
                                  .remittance = "",
                                  .debtor_name = "",
                                  .debtor_account = "",
                                  .end_to_end_id = "",
                                  .line = (unsigned)k + 2};
    d->truth[k] = (fg_truth){.kind = FG_TARGET, .scenario = scenario};
    *t = &d->truth[k];
    return &d->credits[k];
}

static void fg_amount(bank_credit *c, const char *cur, int64_t units)
{
    c->amount = (money_dec){units, 2};
    memcpy(c->currency, cur, 4);
}

/* The next unused item (random order) with its whole amount open, whose
 * invoice (if shared with another item) is wholly unused too. */
static size_t fg_take(fg_gen *g)
{
    fg_data *d = g->d;
    while (g->pick < d->nitems) {
        size_t i = g->order[g->pick++];
        if (g->used[i])
            continue;
        return i;
    }
    return SIZE_MAX;
}

/* The items of i's invoice (i alone when not invoiced). */
static size_t fg_invoice_items(const fg_gen *g, size_t i, size_t *out)
{
    const fg_data *d = g->d;
    size_t n = 0;
    const char *inv = d->items[i].invoice_number;
    if (!inv) {
        out[0] = i;
        return 1;
    }
    for (size_t k = i > 2 ? i - 2 : 0; k < d->nitems && k <= i + 2; k++)
        if (d->items[k].invoice_number == inv && n < FG_MAX_ALLOC)
            out[n++] = k;
    return n;
}

/* Whether every item of the list is unused. */
static bool fg_free_items(const fg_gen *g, const size_t *it, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (g->used[it[k]])
            return false;
    return true;
}

/* The oldest unused item interchangeable with i (same contract, same
 * amount), as a payer without a reference pays them in order. */
static size_t fg_oldest_like(const fg_gen *g, size_t i)
{
    const fg_data *d = g->d;
    size_t best = i;
    for (size_t k = i > 12 ? i - 12 : 0; k < i; k++)
        if (!g->used[k] && g->contract_of[k] == g->contract_of[i] && d->units[k] == d->units[i] &&
            d->items[k].due_on < d->items[best].due_on)
            best = k;
    return best;
}

static void fg_payer(fg_gen *g, bank_credit *c, size_t cu)
{
    fg_data *d = g->d;
    char acct[24];
    if (fg_pct(&g->r) < 85) {
        c->debtor_account = d->cust[cu].accounts[fg_below(&g->r, d->cust[cu].naccounts)];
    } else {
        fg_digits(&g->r, acct, 17);
        c->debtor_account = fg_str(d, acct);
    }
    c->debtor_name = fg_payer_name(g, cu);
}

/* A document number as a payer writes it. */
static void fg_ref_text(fg_gen *g, const char *num, char *out, size_t cap)
{
    char low[64];
    size_t k = 0;
    for (size_t i = 0; num[i] && k < sizeof(low) - 1; i++)
        low[k++] = num[i] >= 'A' && num[i] <= 'Z' ? (char)(num[i] + 32) : num[i];
    low[k] = '\0';
    switch (fg_below(&g->r, 6)) {
    case 0:
        snprintf(out, cap, "%s", num);
        break;
    case 1:
        snprintf(out, cap, "货款 发票号:%s", num);
        break;
    case 2:
        snprintf(out, cap, "PAYMENT FOR %s THANK YOU", num);
        break;
    case 3:
        snprintf(out, cap, "%s", low);
        break;
    case 4: { /* spaces for dashes, leading zeros dropped */
        const char *dig = num;
        while (*dig && !(*dig >= '0' && *dig <= '9'))
            dig++;
        char pre[24];
        size_t pn = (size_t)(dig - num);
        snprintf(pre, sizeof(pre), "%.*s", (int)(pn ? pn - 1 : 0), num);
        for (char *p = pre; *p; p++)
            if (*p == '-')
                *p = ' ';
        int year = atoi(dig);
        long seq = atol(dig + 5);
        snprintf(out, cap, "%s %d %ld", pre, year, seq);
        break;
    }
    default:
        snprintf(out, cap, "结算款 %s 请查收", num);
        break;
    }
}

/* One digit typo in the number's digits: swapped, replaced, dropped or
 * doubled. */
static void fg_typo(fg_gen *g, const char *num, char *out, size_t cap)
{
    char s[48];
    snprintf(s, sizeof(s), "%s", num);
    size_t first = strcspn(s, "0123456789"), n = strlen(s);
    for (int tries = 0; tries < 20; tries++) {
        size_t i = first + fg_below(&g->r, n - first);
        if (s[i] < '0' || s[i] > '9')
            continue;
        int op = (int)fg_below(&g->r, 4);
        if (op == 0 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9' && s[i] != s[i + 1]) {
            char t = s[i];
            s[i] = s[i + 1];
            s[i + 1] = t;
        } else if (op == 1) {
            s[i] = (char)('0' + (s[i] - '0' + 1 + (int)fg_below(&g->r, 9)) % 10);
        } else if (op == 2) {
            memmove(s + i, s + i + 1, n - i);
        } else if (op == 3 && n + 1 < sizeof(s)) {
            memmove(s + i + 1, s + i, n - i + 1);
        } else {
            continue;
        }
        break;
    }
    snprintf(out, cap, "%s", s);
}

static void fg_pay_items(fg_gen *g, fg_truth *t, const size_t *it, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        g->used[it[k]] = 1;
        t->item[t->n] = it[k];
        t->units[t->n++] = g->open[it[k]];
        g->open[it[k]] = 0;
    }
}

static int64_t fg_sum(const fg_gen *g, const size_t *it, size_t n)
{
    int64_t s = 0;
    for (size_t k = 0; k < n; k++)
        s += g->open[it[k]];
    return s;
}

static const char *fg_doc(const fg_data *d, size_t i)
{
    return d->items[i].invoice_number ? d->items[i].invoice_number : d->items[i].contract_number;
}

/* A payment of one item (its whole invoice), written as `style`:
 * 0 reference, 1 typo, 2 no reference, 3 overpaid. */
static void fg_single(fg_gen *g, int style)
{
    static const char *const names[] = {"reference", "typo", "noref", "over"};
    static const char *const plain[] = {"货款", "payment", "", "服务费", "TT REMITTANCE"};
    fg_data *d = g->d;
    size_t i = fg_take(g), it[FG_MAX_ALLOC], n;
    if (i == SIZE_MAX)
        return;
    if (style == 3 && !d->items[i].invoice_number)
        return; /* an overpayment cites its invoice, as a part payment does */
    if (style == 2) {
        i = fg_oldest_like(g, i);
        it[0] = i;
        n = 1;
    } else if (!fg_free_items(g, it, n = fg_invoice_items(g, i, it))) {
        return;
    }
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, names[style]);
    int64_t amt = fg_sum(g, it, n);
    if (style == 3) {
        t->overpaid = fg_pct(&g->r) < 50 ? fg_range(&g->r, 100, 50000)
                                         : (100000 - amt % 100000) % 100000 + 100000;
        amt += t->overpaid;
    }
    fg_amount(c, d->items[i].currency, amt);
    fg_payer(g, c, d->items[i].customer);
    c->value_date = d->items[i].due_on + (date_days)fg_below(&g->r, 20);
    char text[160];
    if (style == 2)
        snprintf(text, sizeof(text), "%s", plain[fg_below(&g->r, FG_N(plain))]);
    else if (style == 1) {
        char typo[48];
        fg_typo(g, fg_doc(d, i), typo, sizeof(typo));
        fg_ref_text(g, typo, text, sizeof(text));
    } else {
        fg_ref_text(g, fg_doc(d, i), text, sizeof(text));
    }
    c->remittance = fg_str(d, text);
    fg_pay_items(g, t, it, n);
}

/* 2-3 items of one customer in one payment. */
static void fg_combined(fg_gen *g)
{
    fg_data *d = g->d;
    size_t i = fg_take(g);
    if (i == SIZE_MAX)
        return;
    size_t cu = d->items[i].customer, it[FG_MAX_ALLOC] = {i}, n = 1;
    size_t want = 2 + (fg_pct(&g->r) < 35);
    for (size_t k = 0; k < d->nitems && n < want; k++) {
        size_t j = (i + 1 + k * 7919) % d->nitems; /* a spread-out walk */
        if (!g->used[j] && j != i && d->items[j].customer == cu &&
            strcmp(d->items[j].currency, d->items[i].currency) == 0) {
            size_t tmp[FG_MAX_ALLOC];
            if (fg_invoice_items(g, j, tmp) == 1)
                it[n++] = j;
        }
        if (k > 4000)
            break;
    }
    size_t tmp[FG_MAX_ALLOC];
    if (n < 2 || fg_invoice_items(g, i, tmp) != 1) {
        return; /* i stays unused for another scenario */
    }
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, "combined");
    fg_amount(c, d->items[i].currency, fg_sum(g, it, n));
    fg_payer(g, c, cu);
    c->value_date = d->items[i].due_on + 5;
    char text[256] = "";
    int p = fg_pct(&g->r);
    for (size_t k = 0; k < n && p < 85; k++) {
        if (p >= 70 && k > 0)
            break; /* only the first reference */
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "%s%s", k ? " " : "", fg_doc(d, it[k]));
    }
    c->remittance = fg_str(d, text);
    fg_pay_items(g, t, it, n);
}

/* An item paid in two parts; the second comes `later` credits after. */
static size_t fg_split_first(fg_gen *g, int64_t *rest, size_t *item)
{
    fg_data *d = g->d;
    size_t i = fg_take(g), it[FG_MAX_ALLOC];
    /* a part payment cites its invoice (a part of a contract with several
     * open items is for a person to place) */
    if (i == SIZE_MAX || !d->items[i].invoice_number || fg_invoice_items(g, i, it) != 1 ||
        g->open[i] < 100000)
        return SIZE_MAX;
    int64_t part = g->open[i] * fg_range(&g->r, 20, 80) / 100 + fg_range(&g->r, 0, 99);
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, "split");
    fg_amount(c, d->items[i].currency, part);
    fg_payer(g, c, d->items[i].customer);
    c->value_date = d->items[i].due_on;
    char text[160];
    fg_ref_text(g, fg_doc(d, i), text, sizeof(text));
    c->remittance = fg_str(d, text);
    g->used[i] = 1;
    t->item[0] = i;
    t->units[0] = part;
    t->n = 1;
    g->open[i] -= part;
    *rest = g->open[i];
    *item = i;
    return d->ncredits - 1;
}

static void fg_split_second(fg_gen *g, size_t i)
{
    fg_data *d = g->d;
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, "split");
    fg_amount(c, d->items[i].currency, g->open[i]);
    fg_payer(g, c, d->items[i].customer);
    c->value_date = d->items[i].due_on + 25;
    char text[160];
    fg_ref_text(g, fg_doc(d, i), text, sizeof(text));
    c->remittance = fg_str(d, text);
    t->item[0] = i;
    t->units[0] = g->open[i];
    t->n = 1;
    g->open[i] = 0;
}

/* Money that pays no open item: an unknown payer, or an advance payment
 * from a known one. */
static void fg_noise(fg_gen *g)
{
    fg_data *d = g->d;
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, "noise");
    t->kind = FG_NONE;
    fg_amount(c, "CNY", fg_range(&g->r, 1000, 5000000));
    c->value_date = date_from_ymd(2026, 6, 1) + (date_days)fg_below(&g->r, 200);
    char buf[256];
    if (fg_pct(&g->r) < 50) {
        fg_company(&g->r, buf, sizeof(buf));
        strncat(buf, " Trust", sizeof(buf) - strlen(buf) - 1);
        c->debtor_name = fg_str(d, buf);
        fg_digits(&g->r, buf, 18);
        c->debtor_account = fg_str(d, buf);
        snprintf(buf, sizeof(buf), "order %u tel 1380013%04u", (unsigned)fg_below(&g->r, 99999),
                 (unsigned)fg_below(&g->r, 9999));
    } else {
        size_t cu = fg_below(&g->r, d->ncust);
        fg_payer(g, c, cu);
        snprintf(buf, sizeof(buf), "%s", fg_pct(&g->r) < 50 ? "预付款 advance" : "deposit");
    }
    c->remittance = fg_str(d, buf);
}

/* The same bank transaction again: a copy of an earlier credit of this
 * statement, or a credit of the previous statement (seen before). */
static void fg_dup(fg_gen *g)
{
    fg_data *d = g->d;
    if (d->ncredits > 10 && fg_pct(&g->r) < 50) {
        size_t k = fg_below(&g->r, d->ncredits);
        bank_credit copy = d->credits[k];
        fg_truth *t;
        bank_credit *c = fg_credit(g, &t, "dup");
        *c = copy;
        c->line = (unsigned)d->ncredits + 1;
        t->kind = FG_DUP;
        return;
    }
    fg_truth *t;
    bank_credit *c = fg_credit(g, &t, "dup");
    t->kind = FG_DUP;
    char tx[32];
    snprintf(tx, sizeof(tx), "BOC-2025-%07zu", d->nseen + 1);
    c->tx_id = d->seen[d->nseen++] = fg_str(d, tx);
    size_t i = fg_below(&g->r, d->nitems);
    fg_amount(c, d->items[i].currency, d->units[i]);
    fg_payer(g, c, d->items[i].customer);
    char text[160];
    fg_ref_text(g, fg_doc(d, i), text, sizeof(text));
    c->remittance = fg_str(d, text);
    c->value_date = d->items[i].due_on;
}

static int fg_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The seen callback of match_options over d->seen. */
static bool fg_seen(void *ctx, const char *tx)
{
    const fg_data *d = ctx;
    return bsearch(&tx, d->seen, d->nseen, sizeof(char *), fg_str_cmp) != NULL;
}

static void fg_free(fg_data *d)
{
    arena_free(d->a);
    free(d->credits);
    free(d->truth);
    free(d->seen);
    memset(d, 0, sizeof(*d));
}

/* Generates nitems open items and a statement of ncredits credits. */
static void fg_generate(fg_data *d, uint64_t seed, size_t nitems, size_t ncredits)
{
    memset(d, 0, sizeof(*d));
    d->seed = seed;
    d->a = arena_new(1 << 20);
    d->credits = calloc(ncredits + 8, sizeof(*d->credits));
    d->truth = calloc(ncredits + 8, sizeof(*d->truth));
    d->seen = calloc(ncredits + 8, sizeof(char *));
    fg_gen g = {.d = d, .r = {seed}};
    fg_customers_items(&g, nitems);
    g.open = calloc(nitems, sizeof(int64_t));
    g.used = calloc(nitems, 1);
    g.order = calloc(nitems, sizeof(size_t));
    if (!d->a || !d->credits || !d->truth || !d->seen || !g.open || !g.used || !g.order) {
        fprintf(stderr, "finance_gen: out of memory\n");
        exit(2);
    }
    memcpy(g.open, d->units, nitems * sizeof(int64_t));
    for (size_t i = 0; i < nitems; i++)
        g.order[i] = i;
    for (size_t i = nitems; i > 1; i--) {
        size_t j = fg_below(&g.r, i), t = g.order[i - 1];
        g.order[i - 1] = g.order[j];
        g.order[j] = t;
    }
    size_t pending_item = SIZE_MAX, pending_at = 0;
    while (d->ncredits < ncredits && g.pick < nitems) {
        if (pending_item != SIZE_MAX && d->ncredits >= pending_at) {
            fg_split_second(&g, pending_item);
            pending_item = SIZE_MAX;
            continue;
        }
        int p = fg_pct(&g.r);
        if (p < 8)
            fg_single(&g, 1);
        else if (p < 20)
            fg_single(&g, 2);
        else if (p < 26)
            fg_combined(&g);
        else if (p < 31 && pending_item == SIZE_MAX) {
            int64_t rest;
            size_t item;
            if (fg_split_first(&g, &rest, &item) != SIZE_MAX) {
                pending_item = item;
                pending_at = d->ncredits + 1 + fg_below(&g.r, 40);
            }
        } else if (p < 34)
            fg_single(&g, 3);
        else if (p < 36)
            fg_dup(&g);
        else if (p < 38)
            fg_noise(&g);
        else
            fg_single(&g, 0);
    }
    if (pending_item != SIZE_MAX && d->ncredits < ncredits + 8)
        fg_split_second(&g, pending_item);
    qsort(d->seen, d->nseen, sizeof(char *), fg_str_cmp);
    free(g.open);
    free(g.used);
    free(g.order);
    free(g.contract_of);
}

/* ---- scoring ---- */

typedef struct fg_score {
    size_t credits;    /* in the statement */
    size_t targets;    /* meant to pay items */
    size_t right;      /* matched exactly as meant */
    size_t incomplete; /* matched part of what was meant, the rest kept as credit */
    size_t wrong;      /* money on an item not meant, or a noise credit matched */
    size_t missed;     /* left unmatched */
    size_t noise, noise_left;
    size_t dups, dups_found;
    size_t by_rule[8];
} fg_score;

/* Two items are the same for scoring when they are one item, or of one
 * contract with the same full amount (interchangeable periods). */
static bool fg_same(const fg_data *d, size_t a, size_t b)
{
    return a == b || (d->items[a].contract_number == d->items[b].contract_number &&
                      d->units[a] == d->units[b]);
}

static void fg_score_one(const fg_data *d, size_t k, const match_result *r, fg_score *s, FILE *why)
{
    const fg_truth *t = &d->truth[k];
    if (t->kind == FG_DUP) {
        s->dups++;
        s->dups_found += r->status == MATCH_DUPLICATE;
        if (r->status == MATCH_MATCHED)
            s->wrong++;
        return;
    }
    if (r->status == MATCH_DUPLICATE) {
        s->wrong++;
        return;
    }
    if (t->kind == FG_NONE) {
        s->noise++;
        s->noise_left += r->status == MATCH_UNMATCHED;
        if (r->status == MATCH_MATCHED) {
            s->wrong++;
            if (why)
                fprintf(why, "WRONG credit %zu (%s): noise matched by %s\n", k, t->scenario,
                        match_rule_name(r->rule));
        }
        return;
    }
    s->targets++;
    if (r->status != MATCH_MATCHED) {
        s->missed++;
        return;
    }
    s->by_rule[r->rule]++;
    bool used[FG_MAX_ALLOC] = {false}, bad = false;
    size_t hit = 0;
    for (size_t i = 0; i < r->nallocs && !bad; i++) {
        size_t j = 0;
        while (j < t->n && (used[j] || !fg_same(d, t->item[j], r->allocs[i].item)))
            j++;
        if (j == t->n || r->allocs[i].amount.coef > t->units[j]) {
            bad = true;
            break;
        }
        used[j] = true;
        hit += r->allocs[i].amount.coef == t->units[j];
    }
    if (bad) {
        s->wrong++;
        if (why)
            fprintf(why, "WRONG credit %zu (%s, tx %s, %s): %s\n", k, t->scenario,
                    d->credits[k].tx_id, d->credits[k].remittance, match_rule_name(r->rule));
    } else if (hit == t->n && r->nallocs == t->n && r->overpaid.coef == t->overpaid) {
        s->right++;
    } else {
        s->incomplete++;
    }
}

static void fg_evaluate(const fg_data *d, const match_run *run, fg_score *s, FILE *why)
{
    memset(s, 0, sizeof(*s));
    s->credits = d->ncredits;
    for (size_t k = 0; k < d->ncredits; k++)
        fg_score_one(d, k, &run->results[k], s, why);
}

#endif
