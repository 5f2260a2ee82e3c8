/*
 * fuzz_finance: the request bodies of the finance routes (docs/finance.md
 * "The routes"), parsed by their codec (fin_json.h) exactly as the
 * operations parse them before anything is opened. The first line names
 * the route, the rest is the body:
 *   invoice   POST /v1/contracts/{id}/invoices      fin_json_issue_parse
 *   cancel    POST /v1/invoices/{id}/cancel         fin_json_cancel_parse
 *   match     POST /v1/bank/credits/{id}/match      fin_json_match_parse
 *   write_off POST /v1/receivables/{id}/write-off   fin_json_wo_parse
 *   customer  PUT /v1/customers/{id}                fin_json_ident_parse
 *   credit    PUT /v1/customers/{id}/credit         fin_json_limit_parse
 *   note      POST /v1/matches/{id}/reverse and
 *             POST /v1/quotes/{id}/approve-credit  fin_json_note_parse
 * (The statement import's body is the bank's file: fuzz_bank.)
 *
 * Invariants: a refused body is CPQD_EINVAL with its reasons; an accepted
 * one leaves no error and its typed request is the body's tree (read here
 * again with jansson) within the limits its parser promises: counts,
 * lengths (ids in bytes, names, notes, reasons and flags in characters,
 * as the parsers count them), dates, amounts, valid UTF-8. The amounts of a match and a
 * write-off are taken at each currency's places (0, 2, 3) as the
 * operations take them once the currency is known (fin_amount_take):
 * taken, an amount is its value exactly, positive, at those places and
 * within CAT_AMOUNT_MAX. What the codec writes and reads back gives the
 * same value: an invoice built from the named items (and a cancellation of
 * them) as the store keeps it, an unmatched credit's suggestions for the
 * named items, a customer's accounts and credit, a match with its note.
 */
#include "fuzz.h"

#include "fin_json.h"

#include <jansson.h>

#define TODAY_Y 2026 /* the date of tu_server_start's --clock (TU_TODAY) */

static json_t *member(json_t *o, const char *k)
{
    return json_object_get(o, k);
}

/* Whether s[0..n) is valid UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!k || i + k > n)
            return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
        unsigned c1 = k > 1 ? s[i + 1] : 0x80;
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 > 0x8F))
            return false;
        i += k;
    }
    return true;
}

/* The characters (code points) of valid UTF-8 s[0..n). */
static size_t chars_of(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* s (NUL-terminated, NULL: none) is the string member v exactly, at most
 * max bytes and valid UTF-8; what: the message of the crash. */
static void same_text(const char *s, json_t *v, size_t max, const char *what)
{
    if (!s || !json_is_string(v) || strlen(s) != json_string_length(v) ||
        memcmp(s, json_string_value(v), strlen(s)) != 0)
        fz_fail(what, "not the body's string");
    if (strlen(s) > max || !utf8_ok((const unsigned char *)s, strlen(s)))
        fz_fail(what, "longer than its maximum, or not UTF-8");
}

/* same_text of a name, note or reason: max counts characters. */
static void same_chars(const char *s, json_t *v, size_t max, const char *what)
{
    same_text(s, v, SIZE_MAX, what);
    if (chars_of(s, strlen(s)) > max)
        fz_fail(what, "more characters than its maximum");
}

/* A nullable text member of a view: s (NULL: null). */
static void same_or_null(json_t *v, const char *s, const char *what)
{
    if (s ? !json_is_string(v) || strcmp(json_string_value(v), s) : !json_is_null(v))
        fz_fail(what, s);
}

static json_t *load(const char *text, const char *what)
{
    json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!o)
        fz_fail(what, "not written, or not JSON");
    return o;
}

/* ---- invoices and credit notes ---- */

static const char *const currencies[] = {"CNY", "JPY", "KWD"};

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_party(const invoice_party *a, const invoice_party *b)
{
    return same_str(a->id, b->id) && same_str(a->name, b->name) && same_str(a->tax_id, b->tax_id) &&
           same_str(a->address, b->address) && same_str(a->bank, b->bank) &&
           same_str(a->bank_account, b->bank_account);
}

static bool same_line(const invoice_line *a, const invoice_line *b)
{
    return same_str(a->item_id, b->item_id) && same_str(a->line_id, b->line_id) &&
           same_str(a->sku, b->sku) && same_str(a->name, b->name) &&
           same_str(a->category, b->category) && same_str(a->uom, b->uom) &&
           same_str(a->desc, b->desc) && same_str(a->tax_class, b->tax_class) &&
           !money_cmp(a->quantity, b->quantity) && !money_cmp(a->rate, b->rate) &&
           !money_cmp(a->net, b->net) && !money_cmp(a->tax, b->tax) &&
           !money_cmp(a->gross, b->gross) && a->due_on == b->due_on;
}

static bool same_invoice(const invoice *a, const invoice *b)
{
    bool same = a->kind == b->kind && a->reason == b->reason && !strcmp(a->number, b->number) &&
                !strcmp(a->original, b->original) && !strcmp(a->currency, b->currency) &&
                a->minor == b->minor && a->issued_on == b->issued_on && a->due_on == b->due_on &&
                same_party(&a->issuer, &b->issuer) && same_party(&a->customer, &b->customer) &&
                same_str(a->contract_id, b->contract_id) &&
                same_str(a->contract_number, b->contract_number) &&
                a->tax_rule.per_document == b->tax_rule.per_document &&
                a->tax_rule.mode == b->tax_rule.mode && a->nlines == b->nlines &&
                a->ntaxes == b->ntaxes && !money_cmp(a->net, b->net) &&
                !money_cmp(a->tax, b->tax) && !money_cmp(a->total, b->total);
    for (size_t i = 0; same && i < a->nlines; i++)
        same = same_line(&a->lines[i], &b->lines[i]);
    for (size_t i = 0; same && i < a->ntaxes; i++)
        same = same_str(a->taxes[i].tax_class, b->taxes[i].tax_class) &&
               !money_cmp(a->taxes[i].rate, b->taxes[i].rate) &&
               !money_cmp(a->taxes[i].net, b->taxes[i].net) &&
               !money_cmp(a->taxes[i].tax, b->taxes[i].tax) &&
               !money_cmp(a->taxes[i].gross, b->taxes[i].gross);
    return same;
}

/* inv as the store keeps it, read back: the same document, written again
 * byte for byte. */
static void doc_round_trip(const invoice *inv)
{
    char *text = fin_json_invoice_doc(inv);
    fin_stored_invoice d;
    if (!text)
        fz_fail("an invoice document is not written", inv->number);
    if (fin_json_invoice_read(text, &d) != 0)
        fz_fail("a written invoice document does not read back", text);
    if (!same_invoice(inv, &d.inv))
        fz_fail("an invoice document reads back as another document", text);
    char *again = fin_json_invoice_doc(&d.inv);
    if (!again || strcmp(again, text))
        fz_fail("an invoice document read back is written differently", text);
    free(again);
    fin_stored_invoice_fini(&d);
    free(text);
}

static const invoice_party issuer = {.id = "ACME-CLOUD",
                                     .name = "杭州示例云科技有限公司 ACME Cloud Hangzhou Co., Ltd.",
                                     .tax_id = "91330100MA0000000X",
                                     .bank = "招商银行杭州分行",
                                     .bank_account = "571900000010101"};
static const invoice_party customer = {"C-1", "北京华信贸易有限公司", NULL, NULL, NULL, NULL};
static const invoice_src_line src_line = {"train", "SAS-SVC-TRAIN", "培训 Training", "services",
                                          "day",   {2, 0},          "service",       {6, 2}};

/* Whether ids[0..n) are non-empty and distinct. */
static bool ids_distinct(const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!*ids[i])
            return false;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ids[i], ids[j]))
                return false;
    }
    return true;
}

/* The document of items ids[0..n), one per item of amounts a little apart,
 * of kind k issued on `on`. 0, or CPQD_EINVAL when ids are not distinct
 * non-empty ids (invoice_build refuses them). */
static int build(invoice_kind k, const char *const *ids, size_t n, date_days on, invoice *out)
{
    int minor = 0;
    const char *cur = currencies[n % 3];
    money_currency_minor(cur, &minor);
    invoice_src_item *items = calloc(n, sizeof(*items));
    if (!items)
        fz_fail("out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        int64_t amount = 1060000 + (int64_t)i * 7; /* minor units */
        items[i] =
            (invoice_src_item){.id = ids[i],
                               .amount = {k == INVOICE_KIND_INVOICE ? amount : -amount, minor},
                               .due_on = on + (date_days)(i % 30)};
    }
    invoice_request r = {.kind = k,
                         .number = "INV-FZ-2026-000001",
                         .currency = cur,
                         .issued_on = on,
                         .issuer = &issuer,
                         .customer = &customer,
                         .contract_id = "c_0123456789abcdef",
                         .contract_number = "C-2026-000001",
                         .tax_rule = {n % 2 == 1, MONEY_HALF_UP},
                         .lines = &src_line,
                         .nlines = 1,
                         .items = items,
                         .nitems = n};
    int rc = invoice_build(&r, out, NULL);
    free(items);
    if (rc != 0 && rc != CPQD_EINVAL)
        fz_fail("invoice_build failed", err_code_name(rc));
    if ((rc == 0) != ids_distinct(ids, n))
        fz_fail("invoice_build took repeated or empty ids, or refused distinct ones", NULL);
    return rc;
}

/* The items and date of an accepted issue or cancel body b. */
static void doc_req_check(const fin_doc_req *q, json_t *b, size_t max)
{
    json_t *items = member(b, "items");
    if (!items != !q->items || q->nitems != json_array_size(items) ||
        (items && (q->nitems == 0 || q->nitems > max)))
        fz_fail("the items named are not the body's", NULL);
    for (size_t i = 0; i < q->nitems; i++)
        same_text(q->items[i], json_array_get(items, i), SIZE_MAX, "items[i]");
    json_t *on = member(b, "issued_on");
    char d[DATE_FMT_LEN];
    if (!on != (q->on == SCHED_NO_DATE))
        fz_fail("issued_on: given and not read, or read and not given", NULL);
    if (on) {
        int y = atoi(json_string_value(on) ? json_string_value(on) : "0");
        date_format(q->on, d);
        same_text(d, on, 10, "issued_on is not the date written");
        if (y < 1900 || y > 9999)
            fz_fail("issued_on: a year outside 1900..9999", d);
    }
}

static void issue_check(const fin_doc_req *q, json_t *b)
{
    json_t *k = member(b, "kind");
    bool credit = k && json_is_string(k) && !strcmp(json_string_value(k), "credit_note");
    if (q->kind_given != !!k || (q->kind == INVOICE_KIND_CREDIT_NOTE) != credit ||
        (k && !credit && (!json_is_string(k) || strcmp(json_string_value(k), "invoice"))))
        fz_fail("kind is not the body's", NULL);
    doc_req_check(q, b, 1000);
    date_days on = q->on == SCHED_NO_DATE ? date_from_ymd(TODAY_Y, 12, 1) : q->on;
    invoice inv;
    if (q->items && build(q->kind, q->items, q->nitems, on, &inv) == 0) {
        doc_round_trip(&inv);
        invoice_fini(&inv);
    }
}

/* A cancellation of the named items of an invoice that has them (its
 * lines in the order named): refused when one is named twice. */
static void cancel_check(const fin_doc_req *q, json_t *b)
{
    doc_req_check(q, b, SIZE_MAX);
    if (!q->items || q->nitems > 1000) /* an invoice has at most 1000 lines */
        return;
    const char **ids = calloc(q->nitems, sizeof(*ids));
    size_t n = 0;
    if (!ids)
        fz_fail("out of memory", NULL);
    for (size_t i = 0; i < q->nitems; i++) {
        bool seen = !*q->items[i];
        for (size_t j = 0; !seen && j < n; j++)
            seen = !strcmp(ids[j], q->items[i]);
        if (!seen)
            ids[n++] = q->items[i];
    }
    date_days on = q->on == SCHED_NO_DATE ? date_from_ymd(TODAY_Y, 12, 1) : q->on;
    invoice orig, cn;
    if (n && build(INVOICE_KIND_INVOICE, ids, n, on, &orig) == 0) {
        int rc = invoice_cancel(&orig, q->items, q->nitems, "INV-FZ-2026-000002", on, &cn, NULL);
        if ((rc == 0) != (n == q->nitems))
            fz_fail("invoice_cancel took an item named twice (or refused distinct ones)", NULL);
        for (size_t i = 0; rc == 0 && i < cn.nlines; i++)
            if (strcmp(cn.lines[i].item_id, q->items[i]) ||
                money_cmp(cn.lines[i].gross, money_neg(orig.lines[i].gross)))
                fz_fail("a cancellation's line is not the named item's charge negated", NULL);
        if (rc == 0) {
            doc_round_trip(&cn);
            invoice_fini(&cn);
        }
        invoice_fini(&orig);
    }
    free(ids);
}

/* ---- amounts, matches and write-offs ---- */

/* The request amount a of member v as the operations take it at every
 * currency's places; its text at 2 places into t ("" when refused). */
static void amount_check(const fin_amount_in *a, json_t *v, char t[MONEY_FMT_MAX])
{
    money_dec p = {0, 0};
    bool valid = json_is_string(v) &&
                 money_parse(json_string_value(v), json_string_length(v), &p) == 0 &&
                 money_sign(p) > 0;
    if (a->given != !!v || a->valid != valid || (valid && money_cmp(a->v, p)) ||
        (v && !same_str(a->text, json_string_value(v))))
        fz_fail("an amount is not the body's", json_string_value(v));
    *t = '\0';
    static const int minors[] = {0, 2, 3};
    for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
        cpqd_errs *e = errs_new();
        money_dec out = {0, 0}, n;
        int rc = fin_amount_take(a, "amount", "", minors[i], &out, e);
        if (rc != 0 && (rc != CPQD_EINVAL || errs_count(e) == 0))
            fz_fail("fin_amount_take refused without CPQD_EINVAL and a reason", err_code_name(rc));
        fz_errs_render(e);
        errs_free(e);
        if (rc)
            continue;
        if (!valid || out.scale != minors[i] || money_cmp(out, p) || money_sign(out) <= 0 ||
            !cat_amount_ok(out) || money_normalize(p, &n) || n.scale > minors[i])
            fz_fail("an amount taken is not the body's, at the currency's places, in bounds",
                    a->text);
        if (minors[i] == 2 && fin_money_text(out, 2, t) != 0)
            fz_fail("an amount taken cannot be written", a->text);
    }
}

/* A match view of the request (one allocation per item named, the
 * amounts taken at 2 places) reads back as the request. */
static void match_view_check(const fin_match_req *q, char (*amounts)[MONEY_FMT_MAX])
{
    store_alloc *al = calloc(q->nallocs + 1, sizeof(*al));
    fin_alloc_view *av = calloc(q->nallocs + 1, sizeof(*av));
    if (!al || !av)
        fz_fail("out of memory", NULL);
    for (size_t i = 0; i < q->nallocs; i++) {
        al[i] = (store_alloc){"m_0123456789abcdef", (char *)q->allocs[i].receivable_id,
                              *amounts[i] ? amounts[i] : "0.00", "p_1"};
        av[i] = (fin_alloc_view){&al[i], NULL, NULL};
    }
    store_match m = {.id = "m_0123456789abcdef",
                     .credit_id = "bc_0123456789abcdef",
                     .kind = "manual",
                     .rule = "manual",
                     .customer_id = (char *)q->customer,
                     .amount = "0.00",
                     .overpaid = "0.00",
                     .note = (char *)q->note,
                     .created_by = "k_fuzz",
                     .created_at = "2026-12-01T00:00:00Z"};
    fin_match_view v = {&m, av, q->nallocs, NULL};
    char *text = fin_json_match(&v);
    json_t *o = load(text, "a match view");
    json_t *arr = member(o, "allocations");
    same_or_null(member(o, "customer_id"), q->customer, "a match view's customer_id");
    same_or_null(member(o, "note"), q->note, "a match view's note");
    if (json_array_size(arr) != q->nallocs)
        fz_fail("a match view has other allocations", text);
    for (size_t i = 0; i < q->nallocs; i++) {
        json_t *x = json_array_get(arr, i);
        same_or_null(member(x, "receivable_id"), al[i].receivable_id, "an allocation's item");
        same_or_null(member(x, "amount"), al[i].amount, "an allocation's amount");
    }
    json_decref(o);
    free(text);
    free(al);
    free(av);
}

/* The items named, as an unmatched credit's suggestions stored and read
 * back. */
static void suggestions_check(const fin_match_req *q)
{
    match_item *mi = calloc(q->nallocs + 1, sizeof(*mi));
    match_suggestion *s = calloc(q->nallocs + 1, sizeof(*s));
    if (!mi || !s)
        fz_fail("out of memory", NULL);
    for (size_t i = 0; i < q->nallocs; i++) {
        mi[i].id = q->allocs[i].receivable_id;
        s[i] = (match_suggestion){i, (unsigned)(100 - i % 100)};
    }
    match_result r = {.suggestions = s, .nsuggestions = q->nallocs};
    char *text = fin_json_suggestions(&r, mi);
    fin_suggestion *back = NULL;
    size_t n = 0;
    if (!text || fin_json_suggestions_read(text, &back, &n) != 0 || n != q->nallocs)
        fz_fail("suggestions do not read back", text);
    for (size_t i = 0; i < n; i++)
        if (strcmp(back[i].receivable_id, mi[i].id) || back[i].score != (int64_t)s[i].score)
            fz_fail("a suggestion reads back as another", text);
    fin_suggestions_free(back, n);
    free(text);
    free(mi);
    free(s);
}

static void match_check(const fin_match_req *q, json_t *b)
{
    static const char *const akeys[] = {"receivable_id", "amount", NULL};
    json_t *arr = member(b, "allocations");
    if (!json_is_array(arr) || q->nallocs != json_array_size(arr) || q->nallocs > 1000 ||
        (q->nallocs == 0 && !q->customer))
        fz_fail("the allocations are not the body's", NULL);
    char(*amounts)[MONEY_FMT_MAX] = calloc(q->nallocs + 1, sizeof(*amounts));
    if (!amounts)
        fz_fail("out of memory", NULL);
    for (size_t i = 0; i < q->nallocs; i++) {
        json_t *a = json_array_get(arr, i);
        if (!json_is_object(a) || json_object_size(a) > 2 ||
            json_object_size(a) != !!member(a, akeys[0]) + !!member(a, akeys[1]))
            fz_fail("an allocation with other members", NULL);
        same_text(q->allocs[i].receivable_id, member(a, "receivable_id"), SIZE_MAX,
                  "an allocation's receivable_id");
        amount_check(&q->allocs[i].amount, member(a, "amount"), amounts[i]);
    }
    if (q->customer) {
        same_text(q->customer, member(b, "customer_id"), 128, "customer_id");
        if (!*q->customer)
            fz_fail("customer_id: empty", NULL);
    } else if (member(b, "customer_id")) {
        fz_fail("customer_id: given and not read", NULL);
    }
    if (q->note)
        same_chars(q->note, member(b, "note"), 500, "note");
    else if (member(b, "note"))
        fz_fail("note: given and not read", NULL);
    match_view_check(q, amounts);
    suggestions_check(q);
    free(amounts);
}

static void write_off_check(const fin_wo_req *q, json_t *b)
{
    char t[MONEY_FMT_MAX];
    same_chars(q->reason, member(b, "reason"), 500, "reason");
    if (!*q->reason)
        fz_fail("reason: empty", NULL);
    amount_check(&q->amount, member(b, "amount"), t);
    store_write_off w = {"wo_0123456789abcdef", "r_1", *t ? t : "10600.00",
                         (char *)q->reason,     "p_1", "k_fuzz",
                         "2026-12-01T00:00:00Z"};
    char *text = fin_json_write_off(&w, NULL, NULL);
    json_t *o = load(text, "a write-off view");
    same_or_null(member(o, "reason"), q->reason, "a write-off view's reason");
    same_or_null(member(o, "amount"), w.amount, "a write-off view's amount");
    if (!json_is_null(member(o, "receivable")))
        fz_fail("a write-off view without its item has one", text);
    json_decref(o);
    free(text);
}

/* ---- customers ---- */

/* stored (the JSON list a parser made) is the body's list v (NULL: []),
 * each string with spaces removed and a-z upper-cased when norm, of 1 to
 * len characters, at most max of them; also as the customer view shows it
 * (shown) and as a customer's accounts are read back. */
static void strings_check(const char *stored, json_t *v, size_t max, size_t len, bool norm,
                          json_t *shown)
{
    fin_stored_strings d;
    if (!stored || fin_json_strings_read(stored, &d) != 0 || !json_is_array(d.root))
        fz_fail("a stored list is not a list", stored);
    if (d.n != json_array_size(v) || d.n > max || d.n != json_array_size(d.root) ||
        !json_equal(d.root, shown))
        fz_fail("a stored list is not the body's", stored);
    for (size_t i = 0; i < d.n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char *want = malloc(json_string_length(json_array_get(v, i)) + 1);
        size_t o = 0;
        if (!s || !want)
            fz_fail("a stored string that was not a string", stored);
        for (; *s; s++)
            if (!norm || *s != ' ')
                want[o++] = (char)(norm && *s >= 'a' && *s <= 'z' ? *s - 32 : *s);
        want[o] = '\0';
        if (strcmp(d.v[i], want) || o == 0 || chars_of(want, o) > len ||
            !utf8_ok((const unsigned char *)d.v[i], o))
            fz_fail("a stored string is not the body's, or beyond its length", d.v[i]);
        free(want);
    }
    fin_stored_strings_fini(&d);
}

/* The customer view of what q sets. */
static json_t *customer_view(const fin_customer_req *q)
{
    store_customer cu = {.id = "C-1",
                         .name = q->name,
                         .accounts = q->accounts,
                         .credit_limit = q->limit,
                         .credit_currency = q->currency,
                         .risk_flags = q->risk_flags,
                         .credit_note = q->note,
                         .updated_by = "k_fuzz",
                         .updated_at = "2026-12-01T00:00:00Z"};
    fin_customer_view v = {.cu = &cu};
    char *text = fin_json_customer(&v);
    json_t *o = load(text, "a customer view");
    free(text);
    return o;
}

static void ident_check(const fin_customer_req *q, json_t *b)
{
    json_t *nm = member(b, "name");
    if (q->name)
        same_chars(q->name, nm, 300, "name");
    else if (nm && !json_is_null(nm))
        fz_fail("name: given and not read", NULL);
    if (q->name && !*q->name)
        fz_fail("name: empty", NULL);
    if (q->limit || q->currency || q->risk_flags || q->note)
        fz_fail("an identity sets the credit", NULL);
    json_t *o = customer_view(q);
    same_or_null(member(o, "name"), q->name, "a customer view's name");
    strings_check(q->accounts, member(b, "accounts"), 20, 140, true, member(o, "accounts"));
    json_decref(o);
}

static void limit_check(const fin_customer_req *q, json_t *b)
{
    json_t *lim = member(b, "limit"), *note = member(b, "note");
    int minor = -1;
    money_dec v, n;
    if (q->limit) {
        /* kept in its canonical form: the body's value, written again */
        money_dec given;
        char canon[MONEY_FMT_MAX];
        if (!json_is_string(lim) ||
            money_parse(json_string_value(lim), json_string_length(lim), &given) ||
            money_format(given, canon, sizeof(canon)) < 0 || strcmp(canon, q->limit))
            fz_fail("limit: not the body's value in its canonical form", q->limit);
        same_text(q->currency, member(b, "currency"), 3, "currency");
        if (money_currency_minor(q->currency, &minor) ||
            money_parse(q->limit, strlen(q->limit), &v) || money_sign(v) < 0 || !cat_amount_ok(v) ||
            money_normalize(v, &n) || n.scale > minor)
            fz_fail("limit: not a decimal >= 0 at its currency's places", q->limit);
    } else if (!json_is_null(lim) || q->currency ||
               (member(b, "currency") && !json_is_null(member(b, "currency")))) {
        fz_fail("limit: given and not read, or a currency without one", NULL);
    }
    if (q->note)
        same_chars(q->note, note, 500, "note");
    else if (note && !json_is_null(note))
        fz_fail("note: given and not read", NULL);
    if (q->name || q->accounts)
        fz_fail("a credit limit sets the identity", NULL);
    json_t *o = customer_view(q), *cr = member(o, "credit");
    same_or_null(member(cr, "limit"), q->limit, "a customer view's limit");
    same_or_null(member(cr, "currency"), q->currency, "a customer view's currency");
    same_or_null(member(cr, "note"), q->note, "a customer view's note");
    strings_check(q->risk_flags, member(b, "risk_flags"), 20, 64, false, member(cr, "risk_flags"));
    char *flags = NULL;
    bool any = fin_json_flagged(q->risk_flags, &flags);
    if (any != (json_array_size(member(cr, "risk_flags")) > 0) ||
        (any && (!flags || strcmp(flags, q->risk_flags))))
        fz_fail("the risk flags flagged are not the ones stored", q->risk_flags);
    free(flags);
    json_decref(o);
}

/* ---- notes ---- */

/* A note of a reversal, as the match view shows it. */
static void note_check(const char *note, json_t *b)
{
    json_t *no = member(b, "note");
    if (note)
        same_chars(note, no, 500, "note");
    else if (no)
        fz_fail("note: given and not read", NULL);
    store_match m = {.id = "m_0123456789abcdef",
                     .credit_id = "bc_0123456789abcdef",
                     .kind = "manual",
                     .rule = "manual",
                     .amount = "0.00",
                     .overpaid = "0.00",
                     .created_by = "k_fuzz",
                     .created_at = "2026-12-01T00:00:00Z",
                     .reversed_at = "2026-12-02T00:00:00Z",
                     .reversed_by = "k_fuzz",
                     .reverse_note = (char *)note};
    fin_match_view v = {&m, NULL, 0, NULL};
    char *text = fin_json_match(&v);
    json_t *o = load(text, "a reversed match view");
    same_or_null(member(o, "reverse_note"), note, "a reversed match's note");
    json_decref(o);
    free(text);
}

/* ---- the routes ---- */

typedef enum route {
    R_INVOICE,
    R_CANCEL,
    R_MATCH,
    R_WRITE_OFF,
    R_CUSTOMER,
    R_CREDIT,
    R_NOTE
} route;

static const struct {
    const char *name;
    bool empty_ok;           /* an empty body is {} */
    const char *const *keys; /* the members it takes */
} routes[] = {
    [R_INVOICE] = {"invoice", true, (const char *const[]){"items", "kind", "issued_on", NULL}},
    [R_CANCEL] = {"cancel", true, (const char *const[]){"items", "issued_on", NULL}},
    [R_MATCH] = {"match", false, (const char *const[]){"allocations", "customer_id", "note", NULL}},
    [R_WRITE_OFF] = {"write_off", false, (const char *const[]){"amount", "reason", NULL}},
    [R_CUSTOMER] = {"customer", false, (const char *const[]){"name", "accounts", NULL}},
    [R_CREDIT] = {"credit", false,
                  (const char *const[]){"limit", "currency", "risk_flags", "note", NULL}},
    [R_NOTE] = {"note", true, (const char *const[]){"note", NULL}},
};

/* The body as jansson reads it ({} for an empty one where that is {}),
 * or NULL when it is no object of the route's members only: the codec
 * must refuse it. */
static json_t *body_tree(route r, const uint8_t *data, size_t size)
{
    json_t *b = size == 0 && routes[r].empty_ok
                    ? json_object()
                    : json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v)
    {
        bool known = false;
        for (size_t i = 0; routes[r].keys[i]; i++)
            known = known || !strcmp(k, routes[r].keys[i]);
        if (!known) {
            json_decref(b);
            return NULL;
        }
    }
    if (b && !json_is_object(b)) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* Parses the body as route r does; on success checks the typed request
 * against b (the tree; NULL: the body must be refused). */
static int parse(route r, const char *body, size_t len, json_t *b, cpqd_errs *e)
{
    int rc;
    switch (r) {
    case R_INVOICE:
    case R_CANCEL: {
        fin_doc_req q;
        rc = (r == R_INVOICE ? fin_json_issue_parse : fin_json_cancel_parse)(body, len, &q, e);
        if (rc == 0 && b)
            (r == R_INVOICE ? issue_check : cancel_check)(&q, b);
        fin_doc_req_fini(&q);
        break;
    }
    case R_MATCH: {
        fin_match_req q;
        rc = fin_json_match_parse(body, len, &q, e);
        if (rc == 0 && b)
            match_check(&q, b);
        fin_match_req_fini(&q);
        break;
    }
    case R_WRITE_OFF: {
        fin_wo_req q;
        rc = fin_json_wo_parse(body, len, &q, e);
        if (rc == 0 && b)
            write_off_check(&q, b);
        fin_wo_req_fini(&q);
        break;
    }
    case R_CUSTOMER:
    case R_CREDIT: {
        fin_customer_req q;
        rc = (r == R_CUSTOMER ? fin_json_ident_parse : fin_json_limit_parse)(body, len, &q, e);
        if (rc == 0 && b)
            (r == R_CUSTOMER ? ident_check : limit_check)(&q, b);
        fin_customer_req_fini(&q);
        break;
    }
    case R_NOTE: {
        char *note = NULL;
        rc = fin_json_note_parse(body, len, &note, e);
        if (rc == 0 && b)
            note_check(note, b);
        free(note);
        break;
    }
    default:
        rc = CPQD_EINTERNAL;
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[16];
    if (!fz_first_line(&data, &size, name, sizeof(name)))
        return 0;
    size_t r = 0;
    while (r < sizeof(routes) / sizeof(routes[0]) && strcmp(routes[r].name, name))
        r++;
    if (r == sizeof(routes) / sizeof(routes[0]))
        return 0;
    json_t *b = body_tree((route)r, data, size);
    cpqd_errs *e = errs_new();
    int rc = parse((route)r, (const char *)data, size, b, e);
    if (rc != 0 && rc != CPQD_EINVAL)
        fz_fail("a finance body parser returned an unexpected code", err_code_name(rc));
    if (rc == CPQD_EINVAL && errs_count(e) == 0)
        fz_fail("a refused body without a reason", name);
    if (rc == 0 && errs_count(e) != 0)
        fz_fail("an accepted body with errors", name);
    if (rc == 0 && !b)
        fz_fail("a body accepted that is no object of the route's members", name);
    fz_errs_render(e);
    errs_free(e);
    json_decref(b);
    return 0;
}
