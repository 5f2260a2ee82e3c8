/*
 * The quote document (GET /v1/quotes/{id}/document, docs/quotes.md "The
 * quote document"): the language choice and amount formatting as units;
 * then the real binary on the sample catalogs: what a CNC-5AX-650 quote's
 * page says in English and Chinese, that every page adds up (recomputed
 * here from the printed amounts), that nothing internal is printed,
 * escaping of catalog text (tests/data/doc, in KWD), a partner's quote,
 * and bad parameters that change nothing; last, Debian's chromium prints
 * the CNC quote and a 30-line appliances quote to PDF on A4 and the PDFs'
 * page counts, texts and word positions are checked (poppler-utils).
 * Expected amounts are worked out by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cpqd/quote.h"

#include <jansson.h>

/* ---- units: the language ---- */

static void test_doc_lang_parameter_wins(void **state)
{
    (void)state;
    assert_string_equal(quote_doc_lang_pick("zh", "en-US,en;q=0.9"), "zh-CN");
    assert_string_equal(quote_doc_lang_pick("en", "zh-CN,zh;q=0.9"), "en");
}

static void test_doc_lang_accept_language_q_values(void **state)
{
    (void)state;
    static const struct {
        const char *header, *want;
    } cases[] = {
        {NULL, "en"},
        {"", "en"},
        {"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
        {"en-US,en;q=0.9,zh;q=0.8", "en"},
        {"fr-FR, zh;q=0.5, en;q=0.4", "zh-CN"}, /* French is not offered: the next best */
        {"en;q=0.3, zh-TW;q=0.7", "zh-CN"},     /* q, not order */
        {"zh;q=0.5,en;q=0.5", "zh-CN"},         /* a tie: the first */
        {"zh;q=0, en", "en"},                   /* q=0: not acceptable */
        {"zh;q=0", "en"},                       /* nothing acceptable: the default */
        {"de", "en"},
        {"*", "en"},
        {"ZH-cn", "zh-CN"},                /* case-insensitive */
        {"zh ; q=0.8 , en ; q=0.9", "en"}, /* spaces around */
        {"zh;q=1.5, en;q=0.1", "en"},      /* a malformed q: that element is ignored */
        {"zh;q=abc", "en"},
        {";;,,zh", "zh-CN"},                     /* empty elements */
        {"zh;level=1;q=0.6, en;q=0.5", "zh-CN"}, /* another parameter */
        {"zhx, en;q=0.1", "en"},                 /* not zh */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = quote_doc_lang_pick(NULL, cases[i].header);
        if (strcmp(got, cases[i].want))
            fail_msg("Accept-Language '%s': %s, want %s",
                     cases[i].header ? cases[i].header : "(none)", got, cases[i].want);
    }
}

/* ---- units: amounts ---- */

static const char *fmt(const char *v, const char *cur, const char *lang, bool plus)
{
    static char buf[QUOTE_DOC_AMOUNT_MAX];
    money_dec d;
    assert_int_equal(money_parse(v, strlen(v), &d), 0);
    int n = quote_doc_amount_format(d, cur, lang, plus, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    return buf;
}

static void test_doc_amount_currency_and_locale(void **state)
{
    (void)state;
    /* the unit price of the issue, stored at two extra places */
    assert_string_equal(fmt("3311656.0000", "CNY", "en", false), "CN¥3,311,656.00");
    assert_string_equal(fmt("3311656.0000", "CNY", "zh-CN", false), "¥3,311,656.00");
    assert_string_equal(fmt("96456.00", "CNY", "en", true), "+CN¥96,456.00");
    assert_string_equal(fmt("-9000.00", "CNY", "zh-CN", true), "-¥9,000.00");
    assert_string_equal(fmt("0.00", "CNY", "en", true), "CN¥0.00"); /* zero has no sign */
    assert_string_equal(fmt("999", "CNY", "en", false), "CN¥999.00");
    assert_string_equal(fmt("1000", "CNY", "en", false), "CN¥1,000.00");
    assert_string_equal(fmt("123456.5", "CNY", "en", false), "CN¥123,456.50");
    /* more places only where they are not zeros (a unit_price entry) */
    assert_string_equal(fmt("0.0035", "CNY", "en", false), "CN¥0.0035");
    assert_string_equal(fmt("0.460000", "CNY", "en", false), "CN¥0.46");
    /* JPY has no minor unit, KWD three */
    assert_string_equal(fmt("1234567", "JPY", "en", false), "¥1,234,567");
    assert_string_equal(fmt("1234567.00", "JPY", "zh-CN", false), "JP¥1,234,567");
    assert_string_equal(fmt("1234.5", "KWD", "en", false), "KWD\302\2401,234.500");
    assert_string_equal(fmt("-0.125", "KWD", "zh-CN", false), "-KWD\302\2400.125");
    assert_string_equal(fmt("1000000", "USD", "en", false), "$1,000,000.00");
    assert_string_equal(fmt("1000000", "USD", "zh-CN", false), "US$1,000,000.00");
    assert_string_equal(fmt("12.3", "EUR", "en", false), "€12.30");
    /* the largest amount fits the documented buffer */
    assert_string_equal(fmt("92233720368547758.07", "CNY", "en", false),
                        "CN¥92,233,720,368,547,758.07");
    char small[8];
    assert_int_equal(
        quote_doc_amount_format(money_from_int(1000), "CNY", "en", false, small, sizeof(small)),
        CPQD_ERANGE);
    assert_int_equal(quote_doc_amount_format(money_from_int(INT64_MIN), "CNY", "en", false, small,
                                             sizeof(small)),
                     CPQD_ERANGE);
}

/* ---- the running service ---- */

enum { K_ADMIN, K_REP, K_PARTNER_A, K_PARTNER_B, NKEYS };
static const char *const key_role[NKEYS] = {"admin", "rep", "partner", "partner"};
static const char *const key_partner[NKEYS] = {NULL, NULL, "P-101", "P-102"};

typedef struct fx {
    char *dir, *keys, *logp;
    char key[NKEYS][80];
    tu_server s;
} fx;

static void make_keys(fx *f)
{
    for (int i = 0; i < NKEYS; i++) {
        const char *argv[12] = {"key", "new", "--keys", f->keys, "--role", key_role[i], NULL};
        if (key_partner[i]) {
            argv[6] = "--partner";
            argv[7] = key_partner[i];
            argv[8] = NULL;
        }
        char *out = NULL, *err = NULL;
        if (tu_run(argv, &out, &err) != 0)
            fail_msg("cpqd key new failed: %s", err ? err : "");
        size_t n = strcspn(out, "\n");
        assert_true(n > 10 && n < sizeof(f->key[i]));
        memcpy(f->key[i], out, n);
        f->key[i][n] = '\0';
        free(out);
        free(err);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    f->dir = tu_tmpdir();
    f->keys = tu_fmt("%s/keys.yaml", f->dir);
    f->logp = tu_fmt("%s/cpqd.log", f->dir);
    make_keys(f);
    char *cats = tu_path("catalogs"), *rules = tu_path("rules"), *db = tu_fmt("%s/cpqd.db", f->dir);
    const char *args[] = {"--catalogs", cats,   "--rules", rules, "--keys",
                          f->keys,      "--db", db,        NULL};
    int rc = tu_server_start(&f->s, f->logp, args);
    free(cats);
    free(rules);
    free(db);
    return rc;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    int st = f->s.pid > 0 ? tu_server_stop(&f->s) : 0;
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f->keys);
    free(f->logp);
    free(f);
    return st == 0 ? 0 : -1;
}

/* A request as key k (-1: none) with extra headers; the response in *r. */
static void request(int port, const char *key, const char *method, const char *path,
                    const char *extra, const char *body, tu_resp *r)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "%s%s%s%s", key ? "Authorization: Bearer " : "", key ? key : "",
             key ? "\r\n" : "", extra ? extra : "");
    assert_int_equal(tu_http(port, method, path, hdr, body, body ? strlen(body) : 0, r), 0);
}

static json_t *json_of(const tu_resp *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &je);
    if (!j)
        fail_msg("not JSON (%d): %s", r->status, r->body ? r->body : "");
    return j;
}

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v)
        fail_msg("no string '%s'", k);
    return v;
}

/* Creates a quote from body (or the file tests/data/doc/NAME when body
 * starts with '@'); returns the 201 body. */
static json_t *create(int port, const char *key, const char *body)
{
    char *file = body[0] == '@' ? tu_path(body + 1) : NULL;
    char *text = file ? tu_read_file(file, NULL) : strdup(body);
    assert_non_null(text);
    tu_resp r;
    request(port, key, "POST", "/v1/quotes", NULL, text, &r);
    if (r.status != 201)
        fail_msg("create: %d %s", r.status, r.body ? r.body : "");
    json_t *j = json_of(&r);
    tu_resp_free(&r);
    free(text);
    free(file);
    return j;
}

/* GET the document of quote id with the query q ("" or "?lang=zh") and
 * extra headers; asserts 200, HTML, and the Content-Language want. */
static char *document(int port, const char *key, const char *id, const char *q, const char *extra,
                      const char *want_lang)
{
    char *path = tu_fmt("/v1/quotes/%s/document%s", id, q);
    tu_resp r;
    request(port, key, "GET", path, extra, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: %d %s", path, r.status, r.body ? r.body : "");
    char h[128];
    assert_non_null(tu_header(&r, "Content-Type", h, sizeof(h)));
    assert_string_equal(h, "text/html; charset=utf-8");
    assert_non_null(tu_header(&r, "Content-Language", h, sizeof(h)));
    assert_string_equal(h, want_lang);
    char *lang_attr = tu_fmt("<html lang=\"%s\">", want_lang);
    assert_non_null(strstr(r.body, lang_attr));
    char *body = strdup(r.body);
    free(lang_attr);
    tu_resp_free(&r);
    free(path);
    return body;
}

#define HAS(html, s)                                                                               \
    do {                                                                                           \
        if (!strstr((html), (s)))                                                                  \
            fail_msg("the document lacks '%s'", (s));                                              \
    } while (0)
#define LACKS(html, s)                                                                             \
    do {                                                                                           \
        if (strstr((html), (s)))                                                                   \
            fail_msg("the document shows '%s'", (s));                                              \
    } while (0)

/* ---- reading the printed amounts back ---- */

/* An amount as printed ("+CN¥1,234.50", "-¥9.00", "KWD 0.125"): its sign
 * and digits. */
static money_dec printed(const char *s, size_t n)
{
    char buf[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(buf); i++)
        if ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || (s[i] == '-' && k == 0))
            buf[k++] = s[i];
    money_dec v;
    if (money_parse(buf, k, &v) != 0)
        fail_msg("not an amount: '%.*s'", (int)n, s);
    return v;
}

/* Every amount in cells of class cls between from and to, added up;
 * *count gets how many. */
static money_dec sum_cells(const char *from, const char *to, const char *cls, size_t *count)
{
    char *open = tu_fmt("<td class=\"n %s\">", cls);
    money_dec sum = money_from_int(0);
    size_t n = 0;
    for (const char *p = strstr(from, open); p && p < to; p = strstr(p, open)) {
        p += strlen(open);
        const char *end = strstr(p, "</td>");
        assert_non_null(end);
        assert_int_equal(money_add(sum, printed(p, (size_t)(end - p)), &sum), 0);
        n++;
    }
    free(open);
    if (count)
        *count = n;
    return sum;
}

static void assert_money_eq(money_dec a, money_dec b, const char *what, size_t line)
{
    if (money_cmp(a, b) != 0) {
        char x[MONEY_FMT_MAX], y[MONEY_FMT_MAX];
        money_format(a, x, sizeof(x));
        money_format(b, y, sizeof(y));
        fail_msg("line %zu: %s: %s != %s", line, what, x, y);
    }
}

/* The page adds up: per line the steps to the net (prices without tax)
 * or the total (prices with tax), net + tax = total; the lines' nets to
 * the subtotal, their taxes to the tax rows, subtotal + tax rows to the
 * total. Returns the printed total. */
static money_dec check_sums(const char *html, size_t nlines)
{
    money_dec nets = money_from_int(0), taxes = money_from_int(0);
    size_t n = 0, one;
    for (const char *b = strstr(html, "<tbody class=\"line\""); b;
         b = strstr(b + 1, "<tbody class=\"line\"")) {
        const char *e = strstr(b, "</tbody>");
        assert_non_null(e);
        n++;
        bool incl = strstr(b, "data-tax-included=\"true\"") == strstr(b, "data-tax-included=");
        size_t nsteps;
        money_dec steps = sum_cells(b, e, "st", &nsteps), net = sum_cells(b, e, "net", &one);
        assert_int_equal(one, 1);
        money_dec tax = sum_cells(b, e, "tax", &one), total = sum_cells(b, e, "total", &one);
        assert_int_equal(one, 1);
        assert_true(nsteps >= 1);
        assert_money_eq(steps, incl ? total : net, "the steps", n);
        money_dec nt;
        assert_int_equal(money_add(net, tax, &nt), 0);
        assert_money_eq(nt, total, "net + tax", n);
        assert_int_equal(money_add(nets, net, &nets), 0);
        assert_int_equal(money_add(taxes, tax, &taxes), 0);
    }
    assert_int_equal(n, nlines);
    const char *t = strstr(html, "<table class=\"totals\">");
    assert_non_null(t);
    const char *end = html + strlen(html);
    assert_money_eq(sum_cells(t, end, "subtotal", &one), nets, "subtotal", 0);
    assert_int_equal(one, 1);
    money_dec rates = sum_cells(t, end, "taxrate", &one), grand = sum_cells(t, end, "grand", &one),
              st;
    assert_money_eq(rates, taxes, "tax rows", 0);
    assert_int_equal(money_add(nets, rates, &st), 0);
    assert_money_eq(st, grand, "subtotal + tax", 0);
    return grand;
}

/* What never reaches a customer's page (its text: the style sheet has
 * words such as "margin"). */
static void check_nothing_internal(const char *page, const char *catalog_version)
{
    const char *html = strstr(page, "</style>");
    assert_non_null(html);
    static const char *const words[] = {
        "cost",
        "margin",
        "the floor",
        "ceiling",
        "clamped",
        ".yaml",
        ".lua",
        "book",
        "cnc-list",
        "apl-retail-",
        "approval",
        "requested discount",
        "option CNC",
        "formula ",
        "source",
        "list price (",
        "catalog version",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        LACKS(html, words[i]);
    LACKS(html, catalog_version);
    /* no 4-place unit prices: every amount has the currency's 2 places */
    for (const char *p = strstr(html, "¥"); p; p = strstr(p + 1, "¥")) {
        const char *q = p + strlen("¥");
        while ((*q >= '0' && *q <= '9') || *q == ',')
            q++;
        size_t places = 0;
        while (*q == '.' && q[1 + places] >= '0' && q[1 + places] <= '9')
            places++;
        if (places != 2)
            fail_msg("an amount with %zu places: %.24s", places, p);
    }
}

/* ---- the CNC-5AX-650 quote ---- */

/* tests/data/doc/cnc-5ax.json: two CNC-5AX-650, 24k spindle, 30-tool
 * changer, two 16-point I/O modules, no probe, 400 V, custom colour, 24
 * months of warranty. Per machine: 2,680,000 + 8,000 (colour) + 96,000
 * (spindle) + 85,000 (Pro controller) + 2 x 4,800 (I/O) + 120,000 (RTCP)
 * + 36,000 (HSM) + 42,000 (changer) + 22,000 (chiller) = 3,098,600;
 * warranty +3% = 92,958, so 3,191,558 each; for two: net 6,383,116.00,
 * the warranty line +185,916.00; tax 13% = 829,805.08; total
 * 7,212,921.08. The free-training promotion adds 4 days of 4,500.00,
 * less 18,000.00. */
static void test_document_cnc_english(void **state)
{
    fx *f = *state;
    json_t *q = create(f->s.port, f->key[K_REP], "@tests/data/doc/cnc-5ax.json");
    assert_string_equal(js(q, "total"), "7212921.08");
    char *html = document(f->s.port, f->key[K_REP], js(q, "id"), "", NULL, "en");
    HAS(html, "<title>Quotation Q-2026-");
    HAS(html, js(q, "number"));
    HAS(html, "<tr><th>Version</th><td>1</td></tr>");
    HAS(html, "<tr><th>Date</th><td>2026-12-01</td></tr>");
    HAS(html, "<tr><th>Valid until</th><td>2026-12-31</td></tr>");
    HAS(html, "<tr><th>Customer</th><td>C-9</td></tr>");
    HAS(html, "上海示例机床有限公司 ACME Machine Tools Shanghai Co., Ltd.");
    /* the line: name, SKU, quantity, unit price 3,191,558.00 */
    HAS(html, "<div class=\"name\">五轴加工中心 5AX-650 5-axis machining centre</div>"
              "<div class=\"sku\">SKU CNC-5AX-650</div></td><td class=\"n qty\">2</td>"
              "<td class=\"n unit\">CN¥3,191,558.00</td>");
    /* the configuration: attribute choices and options by name */
    HAS(html, ">供电电压 Supply voltage: 400V 50Hz 三相 (欧盟) 400 V 50 Hz three-phase (EU)<");
    HAS(html, ">机身颜色 Machine colour: 客户指定色 Customer-specified colour<");
    HAS(html, ">整机质保期 Machine warranty: 24 月 months<");
    HAS(html, ">交付工厂代码 Delivery plant code: SH-0001<");
    HAS(html, ">IO模块 I/O modules: IO模块 16点 I/O module, 16 points <span class=\"sku\">"
              "CNC-IO-16</span> × 2<");
    HAS(html, ">电主轴 Motor spindle: 电主轴 24000rpm HSK-A63 Motor spindle 24,000 rpm <span "
              "class=\"sku\">CNC-SP-24K</span> × 1<");
    /* the steps a customer sees, the warranty formula among them */
    HAS(html, "Price build-up (quantity 2)");
    HAS(html, ">List price CN¥2,680,000.00 × 2</td><td class=\"n st\">CN¥5,360,000.00<");
    HAS(html, ">机身颜色 Machine colour: 客户指定色 Customer-specified colour</td><td class=\"n "
              "st\">+CN¥16,000.00<");
    HAS(html, ">Option: IO模块 16点 I/O module, 16 points × 2</td><td class=\"n st\">"
              "+CN¥19,200.00<");
    HAS(html, ">延长质保 Extended warranty</td><td class=\"n st\">+CN¥185,916.00<");
    HAS(html, ">Net amount</td><td class=\"n net\">CN¥6,383,116.00<");
    HAS(html, ">Tax 13%</td><td class=\"n tax\">CN¥829,805.08<");
    HAS(html, ">Line total</td><td class=\"n total\">CN¥7,212,921.08<");
    HAS(html, ">Promotion: 购五轴送编程培训 Free programming training day with a 5-axis "
              "machine</td><td class=\"n st\">-CN¥18,000.00<");
    HAS(html, "<td class=\"n grand\">CN¥7,212,921.08</td>");
    HAS(html, "Discounts and promotions included: CN¥18,000.00");
    /* terms */
    HAS(html, "This quotation is valid until 2026-12-31.");
    HAS(html, "预付30%，发货60%，验收一年后付10%质保金 30% advance, 60% on delivery, 10% "
              "retention one year after acceptance</span> (line 1): 30% on signing; 60% on "
              "delivery; 10% 365 days after acceptance.");
    money_dec total = check_sums(html, 2), want;
    assert_int_equal(money_parse("7212921.08", 10, &want), 0);
    assert_money_eq(total, want, "total", 0);
    check_nothing_internal(html, js(q, "catalog_version"));
    LACKS(html, "3191558.0000");
    free(html);
    json_decref(q);
}

/* The same quote in Chinese: by ?lang=zh, and by Accept-Language when
 * there is no ?lang=; ?lang=en wins over a Chinese Accept-Language. */
static void test_document_cnc_chinese(void **state)
{
    fx *f = *state;
    json_t *q = create(f->s.port, f->key[K_REP], "@tests/data/doc/cnc-5ax.json");
    const char *id = js(q, "id");
    char *html = document(f->s.port, f->key[K_REP], id, "?lang=zh", NULL, "zh-CN");
    HAS(html, "<title>报价单 Q-2026-");
    HAS(html, "<tr><th>有效期至</th><td>2026年12月31日</td></tr>");
    HAS(html, "<tr><th>状态</th><td>草稿</td></tr>");
    HAS(html, "<div class=\"sku\">物料号 CNC-5AX-650</div>");
    HAS(html, "<td class=\"n unit\">¥3,191,558.00</td>");
    HAS(html, "价格构成（数量 2）");
    HAS(html, ">目录价 ¥2,680,000.00 × 2</td>");
    HAS(html, ">选配：IO模块 16点 I/O module, 16 points × 2</td><td class=\"n st\">+¥19,200.00<");
    HAS(html, ">延长质保 Extended warranty</td><td class=\"n st\">+¥185,916.00<");
    HAS(html, ">不含税金额</td><td class=\"n net\">¥6,383,116.00<");
    HAS(html, ">税额 13%</td><td class=\"n tax\">¥829,805.08<");
    HAS(html, ">价税合计</td><td class=\"n total\">¥7,212,921.08<");
    HAS(html, ">报价总额（价税合计）</th><td class=\"n grand\">¥7,212,921.08<");
    HAS(html, "本报价有效期至2026年12月31日。");
    HAS(html, "（适用第 1 行）：签约时付 30%；交付时付 60%；验收后 365 天付 10%。");
    LACKS(html, "CN¥");
    LACKS(html, "Net amount");
    check_sums(html, 2);
    check_nothing_internal(html, js(q, "catalog_version"));
    free(html);
    html = document(f->s.port, f->key[K_REP], id, "",
                    "Accept-Language: fr-CH, fr;q=0.9, zh-CN;q=0.8, en;q=0.7\r\n", "zh-CN");
    HAS(html, "报价总额（价税合计）");
    free(html);
    html = document(f->s.port, f->key[K_REP], id, "", "Accept-Language: en-GB,zh;q=0.5\r\n", "en");
    HAS(html, "Line total");
    free(html);
    html = document(f->s.port, f->key[K_REP], id, "?lang=en", "Accept-Language: zh-CN\r\n", "en");
    HAS(html, "Line total");
    free(html);
    json_decref(q);
}

/* ?lang= takes zh or en: anything else is 400 naming the allowed values,
 * as for every enum-valued parameter; an unknown parameter is refused;
 * an unknown quote is 404, another partner's quote too. */
static void test_document_bad_parameters(void **state)
{
    fx *f = *state;
    json_t *q = create(f->s.port, f->key[K_PARTNER_A],
                       "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":"
                       "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}");
    char *p = tu_fmt("/v1/quotes/%s/document?lang=fr", js(q, "id"));
    tu_resp r;
    request(f->s.port, f->key[K_PARTNER_A], "GET", p, NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    json_t *j = json_of(&r);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(js(e, "code"), "invalid_parameter");
    assert_string_equal(js(e, "message"), "lang must be one of zh, en (got 'fr')");
    json_t *d = json_array_get(json_object_get(e, "details"), 0);
    assert_string_equal(js(d, "parameter"), "lang");
    assert_int_equal(json_array_size(json_object_get(d, "allowed")), 2);
    json_decref(j);
    tu_resp_free(&r);
    free(p);
    p = tu_fmt("/v1/quotes/%s/document?language=zh", js(q, "id"));
    request(f->s.port, f->key[K_PARTNER_A], "GET", p, NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    tu_resp_free(&r);
    free(p);
    request(f->s.port, f->key[K_PARTNER_A], "GET", "/v1/quotes/q_0000000000000000/document", NULL,
            NULL, &r);
    assert_int_equal(r.status, 404);
    tu_resp_free(&r);
    p = tu_fmt("/v1/quotes/%s/document?lang=zh", js(q, "id"));
    request(f->s.port, f->key[K_PARTNER_B], "GET", p, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    tu_resp_free(&r);
    free(p);
    /* nothing changed: still version 1, draft */
    p = tu_fmt("/v1/quotes/%s", js(q, "id"));
    request(f->s.port, f->key[K_PARTNER_A], "GET", p, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = json_of(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(js(j, "status"), "draft");
    json_decref(j);
    tu_resp_free(&r);
    free(p);
    json_decref(q);
}

/* A partner's quote names the partner; a price clamped to its book's
 * floor prints as a price adjustment (never which bound). A retail
 * customer's two cross-door refrigerators at 8% off: 2 x 4,890.00 =
 * 9,780.00, less 782.40 = 8,997.60, below the channel book's floor of
 * 2 x 4,590.00, so +182.40 to 9,180.00 (prices with tax: tax 13% held
 * 9,180.00 x 0.13 / 1.13 = 1,056.11, net 8,123.89). */
static void test_document_partner_and_adjustment(void **state)
{
    fx *f = *state;
    json_t *q = create(f->s.port, f->key[K_PARTNER_A],
                       "{\"customer\":{\"id\":\"C-1\"},\"date\":\"2026-12-01\",\"lines\":"
                       "[{\"sku\":\"APL-KTL-17\",\"quantity\":\"2\"}]}");
    char *html = document(f->s.port, f->key[K_PARTNER_A], js(q, "id"), "", NULL, "en");
    HAS(html, "<tr><th>Partner</th><td>华东家电连锁有限公司 East China Appliance Retail Co.</td>");
    check_sums(html, 1);
    check_nothing_internal(html, js(q, "catalog_version"));
    free(html);
    json_decref(q);
    q = create(f->s.port, f->key[K_REP],
               "{\"customer\":{\"id\":\"C-R1\",\"segment\":\"retail\"},\"date\":\"2026-12-01\","
               "\"lines\":[{\"sku\":\"APL-FRG-CROSS\",\"quantity\":\"2\",\"discount\":\"8\","
               "\"attributes\":{\"colour\":\"white\"}}]}");
    html = document(f->s.port, f->key[K_REP], js(q, "id"), "", NULL, "en");
    LACKS(html, "<th>Partner</th>");
    HAS(html, "data-tax-included=\"true\"");
    HAS(html, "Price build-up (quantity 2, prices include tax)");
    HAS(html, ">Discount 8%</td><td class=\"n st\">-CN¥782.40<");
    HAS(html, ">Price adjustment</td><td class=\"n st\">+CN¥182.40<");
    HAS(html, ">Line total</td><td class=\"n total\">CN¥9,180.00<");
    HAS(html, ">Tax included 13%</td><td class=\"n tax\">CN¥1,056.11<");
    HAS(html, ">Net amount</td><td class=\"n net\">CN¥8,123.89<");
    HAS(html, "<td class=\"n unit\">CN¥4,590.00</td>");
    check_sums(html, 1);
    check_nothing_internal(html, js(q, "catalog_version"));
    free(html);
    json_decref(q);
}

/* The 30-line appliances quote (prices with tax): every line is there,
 * each adds up, so does the page, and its total is the quote's. */
static void test_document_thirty_lines_add_up(void **state)
{
    fx *f = *state;
    json_t *q = create(f->s.port, f->key[K_REP], "@tests/data/doc/appliances-30.json");
    for (int zh = 0; zh < 2; zh++) {
        char *html = document(f->s.port, f->key[K_REP], js(q, "id"), zh ? "?lang=zh" : "", NULL,
                              zh ? "zh-CN" : "en");
        money_dec total = check_sums(html, 30), want;
        const char *t = js(q, "total");
        assert_int_equal(money_parse(t, strlen(t), &want), 0);
        assert_money_eq(total, want, "the quote's total", 0);
        check_nothing_internal(html, js(q, "catalog_version"));
        /* a formula with a catalog name, one without, a tier, a bundle */
        HAS(html, zh ? ">搬楼费 Carry-up fee<" : ">搬楼费 Carry-up fee<");
        HAS(html, zh ? ">计价公式<" : ">Price formula<");
        HAS(html, zh ? ">批量价<" : ">Volume price<");
        HAS(html, "厨房三件套 烟灶洗一口价 Kitchen trio bundle (hood, hob, dishwasher)");
        HAS(html, zh ? ">折扣 5%<" : ">Discount 5%<");
        free(html);
    }
    json_decref(q);
}

/* ---- catalog text with markup, in KWD (tests/data/doc) ---- */

/* Two M-1 in gold: 2 x 10.500 = 21.000, gold +2 x 1.250 = 2.500, the
 * handling formula +2 x 1.125 = 2.250: net 25.750; tax 5% = 1.2875, to
 * three places half-even 1.288; total 27.038; 12.875 each. */
static void test_document_escapes_catalog_text(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *logp = tu_fmt("%s/cpqd.log", dir), *db = tu_fmt("%s/cpqd.db", dir),
         *cats = tu_path("tests/data/doc/catalogs"), *rules = tu_path("tests/data/doc/rules");
    const char *args[] = {"--catalogs", cats, "--rules", rules, "--db", db, NULL};
    tu_server s;
    assert_int_equal(tu_server_start(&s, logp, args), 0);
    json_t *q = create(s.port, NULL,
                       "{\"customer\":{\"id\":\"<C&1>\"},\"date\":\"2026-12-01\","
                       "\"valid_until\":\"2026-12-31\",\"lines\":[{\"sku\":\"M-1\",\"quantity\":"
                       "\"2\",\"attributes\":{\"finish\":\"gold\"}}]}");
    assert_string_equal(js(q, "total"), "27.038");
    char *html = document(s.port, NULL, js(q, "id"), "", NULL, "en");
    LACKS(html, "<script");
    LACKS(html, "<b>");
    LACKS(html, "<i>");
    LACKS(html, "<u>");
    LACKS(html, "<em>");
    LACKS(html, "<C&1>");
    HAS(html, "<tr><th>Customer</th><td>&lt;C&amp;1&gt;</td></tr>");
    HAS(html, "<div class=\"name\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Widget "
              "&amp; &#39;Co&#39;</div>");
    HAS(html, ">&lt;i&gt;Finish&lt;/i&gt;: &lt;script&gt;alert(&#39;gold&#39;)&lt;/script&gt; "
              "&amp; &quot;gilt&quot;</td><td class=\"n st\">+KWD\302\2402.500<");
    HAS(html,
        ">&lt;em&gt;Handling&lt;/em&gt; &amp; care</td><td class=\"n st\">+KWD\302\2402.250<");
    HAS(html, "<td class=\"n unit\">KWD\302\24012.875</td>");
    HAS(html, ">Tax 5%</td><td class=\"n tax\">KWD\302\2401.288<");
    HAS(html, "<td class=\"n grand\">KWD\302\24027.038</td>");
    /* the term in words: a date, end of month, equal parts */
    HAS(html, "&lt;u&gt;Odd &amp; terms&lt;/u&gt;</span> (line 1): 20% on 2027-03-01; 30% 30 days "
              "after the end of the month of signing; 50% in 2 equal parts every 1 months, the "
              "first on delivery.");
    check_sums(html, 1);
    free(html);
    html = document(s.port, NULL, js(q, "id"), "?lang=zh", NULL, "zh-CN");
    HAS(html, "（适用第 1 行）：2027年3月1日付 20%；签约当月月末后 30 天付 30%；50% 分 2 期等额，"
              "每 1 个月一期，首期交付时。");
    LACKS(html, "<script");
    free(html);
    json_decref(q);
    assert_int_equal(tu_server_stop(&s), 0);
    tu_rm_tree(dir);
    free(dir);
    free(logp);
    free(db);
    free(cats);
    free(rules);
}

/* ---- printed by a browser ---- */

/* The first executable named name in PATH (malloc'ed), or NULL. */
static char *which(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char *cand = tu_fmt("%.*s/%s", (int)n, path, name);
        if (access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += n + (path[n] == ':');
    }
    return NULL;
}

static char *need(const char *name, const char *package)
{
    char *p = which(name);
    if (!p)
        fail_msg("%s is missing: the document's print test needs Debian's %s "
                 "(scripts/install-deps.sh installs it)",
                 name, package);
    return p;
}

/* Runs argv (NULL-ended, argv[0] a path) with stdout to out_path and
 * stderr to err_path, HOME set to home, within ms; returns its status. */
static int run(const char *const *argv, const char *out_path, const char *err_path,
               const char *home, long ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("HOME", home, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = pid > 0 ? tu_wait_exit(pid, ms) : -1;
    if (st < 0 && pid > 0) {
        kill(pid, SIGKILL);
        tu_wait_exit(pid, TU_WAIT_MS);
    }
    return st;
}

typedef struct pdf {
    char *path;
    int pages;
} pdf;

/* Prints html to a PDF with headless chromium (as a browser's "Save as
 * PDF" does, without the browser's own header and footer) and reads its
 * page count and size with pdfinfo. */
static pdf print_pdf(const char *dir, const char *name, const char *html)
{
    char *chromium = need("chromium", "chromium"), *pdfinfo = need("pdfinfo", "poppler-utils"),
         *timeout = need("timeout", "coreutils");
    char *src = tu_fmt("%s.html", name), *url = tu_fmt("file://%s/%s.html", dir, name);
    assert_int_equal(tu_write(dir, src, html), 0);
    pdf p = {.path = tu_fmt("%s/%s.pdf", dir, name)};
    char *to = tu_fmt("--print-to-pdf=%s", p.path),
         *prof = tu_fmt("--user-data-dir=%s/chromium", dir), *log = tu_fmt("%s/chromium.log", dir),
         *info = tu_fmt("%s/%s.info", dir, name);
    /* bounded: timeout kills a browser that hangs */
    const char *argv[] = {timeout,
                          "-k",
                          "5",
                          "90",
                          chromium,
                          "--headless",
                          "--no-sandbox",
                          "--disable-gpu",
                          "--no-pdf-header-footer",
                          "--no-first-run",
                          prof,
                          to,
                          url,
                          NULL};
    int st = run(argv, log, log, dir, 100000);
    if (st != 0) {
        char *l = tu_read_file(log, NULL);
        fail_msg("chromium --print-to-pdf exited with %d:\n%s", st, l ? l : "");
    }
    const char *iargv[] = {pdfinfo, p.path, NULL};
    assert_int_equal(run(iargv, info, log, dir, TU_WAIT_MS), 0);
    char *text = tu_read_file(info, NULL);
    assert_non_null(text);
    const char *pg = strstr(text, "\nPages:");
    assert_non_null(pg);
    p.pages = atoi(pg + strlen("\nPages:"));
    /* A4 in points: 595.28 x 841.89 (pdfinfo rounds Chromium's 594.96 x 841.92) */
    if (!strstr(text, "(A4)"))
        fail_msg("not A4:\n%s", text);
    free(text);
    free(chromium);
    free(pdfinfo);
    free(timeout);
    free(src);
    free(url);
    free(to);
    free(prof);
    free(log);
    free(info);
    return p;
}

/* The text of page first..last (0: all) as pdftotext reads it. */
static char *pdf_text(const char *dir, const pdf *p, int first, int last, bool bbox)
{
    char *tool = need("pdftotext", "poppler-utils"), *out = tu_fmt("%s/page.txt", dir),
         *err = tu_fmt("%s/pdftotext.log", dir), *f = tu_fmt("%d", first ? first : 1),
         *l = tu_fmt("%d", last ? last : p->pages);
    const char *argv[] = {tool, "-f", f, "-l", l, bbox ? "-bbox" : "-layout", p->path, "-", NULL};
    assert_int_equal(run(argv, out, err, dir, TU_WAIT_MS), 0);
    char *text = tu_read_file(out, NULL);
    assert_non_null(text);
    free(tool);
    free(out);
    free(err);
    free(f);
    free(l);
    return text;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Nothing is cut off: every word of every page lies on the page, inside
 * its side margins (12 mm = 34 pt, a few points' tolerance for glyph
 * boxes), above the bottom margin. */
static void check_words_on_page(const char *dir, const pdf *p)
{
    char *xml = pdf_text(dir, p, 0, 0, true);
    size_t words = 0;
    double width = 0, height = 0;
    for (const char *s = xml; (s = strstr(s, "<page width=\"")) != NULL; s++)
        sscanf(s, "<page width=\"%lf\" height=\"%lf\"", &width, &height);
    assert_true(width > 590 && width < 600 && height > 838 && height < 846);
    for (const char *s = strstr(xml, "<word "); s; s = strstr(s + 1, "<word ")) {
        double x0, y0, x1, y1;
        assert_int_equal(sscanf(s, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"", &x0,
                                &y0, &x1, &y1),
                         4);
        if (x0 < 34 - 6 || x1 > width - 34 + 6 || y1 > height - 45 + 6)
            fail_msg("a word outside the printable area at (%.1f,%.1f)-(%.1f,%.1f): %.80s", x0, y0,
                     x1, y1, s);
        words++;
    }
    assert_true(words > 100);
    free(xml);
}

/* Headless chromium prints the CNC-5AX-650 quote (Chinese) and the 30-line
 * appliances quote (English) on A4. The CNC quote: its one machine's
 * block (12 configuration rows, 10 price steps, net/tax/total) and the
 * free training line fill page 1, the totals and terms page 2. The 30
 * lines take 6 pages; no line's rows are split between pages (each page
 * has as many line heads "SKU ..." as "Line total" rows), the column
 * heads repeat on every page, the totals and terms come last. */
static void test_document_prints_on_a4(void **state)
{
    fx *f = *state;
    char *dir = tu_tmpdir();
    json_t *cnc = create(f->s.port, f->key[K_REP], "@tests/data/doc/cnc-5ax.json");
    char *html = document(f->s.port, f->key[K_REP], js(cnc, "id"), "?lang=zh", NULL, "zh-CN");
    pdf p = print_pdf(dir, "cnc", html);
    free(html);
    assert_int_equal(p.pages, 2);
    char *text = pdf_text(dir, &p, 0, 0, false);
    HAS(text, js(cnc, "number"));
    HAS(text, "五轴加工中心 5AX-650 5-axis machining centre");
    HAS(text, "延长质保 Extended warranty");
    HAS(text, "¥7,212,921.08");
    free(text);
    text = pdf_text(dir, &p, 2, 2, false);
    HAS(text, "付款条件"); /* the terms, kept together with their heading */
    HAS(text, "签约时付 30%；交付时付 60%；验收后 365 天付 10%。");
    free(text);
    check_words_on_page(dir, &p);
    free(p.path);

    json_t *apl = create(f->s.port, f->key[K_REP], "@tests/data/doc/appliances-30.json");
    html = document(f->s.port, f->key[K_REP], js(apl, "id"), "", NULL, "en");
    p = print_pdf(dir, "appliances", html);
    free(html);
    assert_int_equal(p.pages, 6);
    text = pdf_text(dir, &p, 0, 0, false);
    HAS(text, js(apl, "number"));
    HAS(text, "十字对开门冰箱 Cross-door refrigerator");
    char *total = tu_fmt("CN¥%s", "102,649.02");
    assert_string_equal(js(apl, "total"), "102649.02");
    HAS(text, total);
    free(total);
    free(text);
    size_t heads = 0;
    for (int pg = 1; pg <= p.pages; pg++) {
        text = pdf_text(dir, &p, pg, pg, false);
        size_t h = count(text, "SKU APL-"), t = count(text, "Line total");
        if (h != t)
            fail_msg("page %d: %zu line heads but %zu line totals: a line was split", pg, h, t);
        HAS(text, "Description");
        heads += h;
        if (pg == p.pages) {
            HAS(text, "Payment terms");
            HAS(text, "CN¥102,649.02");
        }
        free(text);
    }
    assert_int_equal(heads, 30);
    check_words_on_page(dir, &p);
    free(p.path);
    json_decref(cnc);
    json_decref(apl);
    tu_rm_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(test_doc_lang_parameter_wins),
        cmocka_unit_test(test_doc_lang_accept_language_q_values),
        cmocka_unit_test(test_doc_amount_currency_and_locale),
        cmocka_unit_test(test_document_escapes_catalog_text),
    };
    const struct CMUnitTest served[] = {
        cmocka_unit_test(test_document_cnc_english),
        cmocka_unit_test(test_document_cnc_chinese),
        cmocka_unit_test(test_document_bad_parameters),
        cmocka_unit_test(test_document_partner_and_adjustment),
        cmocka_unit_test(test_document_thirty_lines_add_up),
        cmocka_unit_test(test_document_prints_on_a4),
    };
    int rc = cmocka_run_group_tests_name("quote_doc", units, NULL, NULL);
    return rc | cmocka_run_group_tests_name("quote_doc_served", served, setup, teardown);
}
