/*
 * fuzz_bank: bank statements as POST /v1/bank/statements receives them
 * (the body is the bank's file, untrusted): the first line names the
 * format, "csv" or "camt053", the rest is the statement. A statement that
 * parses is then matched against a small fixed ledger.
 *
 * Invariants: a refused statement gives its reasons and returns nothing;
 * every credit returned is positive, at most its currency's places, with
 * a transaction id of 1..BANK_MAX_ID bytes; the matcher decides each
 * credit, and a matched one's allocations plus its overpayment add up to
 * its amount exactly, none above what was open.
 */
#include "fuzz.h"

#include "cpqd/bank.h"
#include "cpqd/match.h"

static const char *const acc_a[] = {"6222000011112222"};
static const match_customer customers[] = {
    {"C-1", "北京华信贸易有限公司", acc_a, 1},
    {"C-2", "ACME Shenzhen Ltd", NULL, 0},
};
static const match_item items[] = {
    {"r_1", 0, "C-2026-000001", "INV-SH-2026-000001", "CNY", {113000, 2}, 20695},
    {"r_2", 0, "C-2026-000001", "INV-SH-2026-000002", "CNY", {226000, 2}, 20700},
    {"r_3", 1, "C-2026-000002", NULL, "CNY", {50000, 2}, 20690},
    {"r_4", 1, "C-2026-000003", "INV-SH-2026-000003", "JPY", {1000, 0}, 20690},
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

static void credits_check(const bank_statement *s)
{
    for (size_t i = 0; i < s->ncredits; i++) {
        const bank_credit *c = &s->credits[i];
        int minor = 0;
        money_dec n;
        size_t t = strlen(c->tx_id);
        if (money_sign(c->amount) <= 0 || money_currency_minor(c->currency, &minor) != 0 ||
            money_normalize(c->amount, &n) != 0 || n.scale > minor)
            fz_fail("a credit's amount is not positive at its currency's places", c->tx_id);
        if (t == 0 || t > BANK_MAX_ID)
            fz_fail("a credit without a proper transaction id", c->tx_id);
    }
}

static void match_check(const bank_statement *s)
{
    match_input in = {customers, 2, items, NITEMS, s->credits, s->ncredits, NULL};
    match_run r;
    cpqd_errs *e = errs_new();
    if (match_statement(&in, &r, e) != 0)
        fz_fail("the matcher refused a parsed statement", NULL);
    for (size_t k = 0; k < r.n; k++) {
        const match_result *x = &r.results[k];
        money_dec sum = x->overpaid;
        for (size_t i = 0; x->status == MATCH_MATCHED && i < x->nallocs; i++)
            if (money_add(sum, x->allocs[i].amount, &sum) != 0 || x->allocs[i].item >= NITEMS ||
                money_cmp(x->allocs[i].amount, items[x->allocs[i].item].open) > 0)
                fz_fail("an allocation beyond its item", s->credits[k].tx_id);
        if (x->status == MATCH_MATCHED && money_cmp(sum, s->credits[k].amount) != 0)
            fz_fail("a match does not add up to its credit", s->credits[k].tx_id);
    }
    for (size_t i = 0; i < r.nitems; i++)
        if (money_sign(r.open[i]) < 0)
            fz_fail("an item paid beyond what was open", items[i].id);
    match_run_fini(&r);
    errs_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char fmt[16];
    if (!fz_first_line(&data, &size, fmt, sizeof(fmt)))
        return 0;
    bool csv = !strcmp(fmt, "csv");
    if (!csv && strcmp(fmt, "camt053"))
        return 0;
    bank_statement s;
    cpqd_errs *e = errs_new();
    int rc = csv ? bank_parse_csv((const char *)data, size, "statement.csv", &s, e)
                 : bank_parse_camt053((const char *)data, size, "statement.xml", &s, e);
    if (rc != 0 && rc != CPQD_EINVAL && rc != CPQD_ELIMIT)
        fz_fail("the parser returned an unexpected code", err_code_name(rc));
    if (rc != 0 && errs_count(e) == 0)
        fz_fail("a refused statement without a reason", fmt);
    if (rc != 0 && s.ncredits != 0)
        fz_fail("a refused statement returned credits", fmt);
    if (rc == 0) {
        credits_check(&s);
        match_check(&s);
    }
    fz_errs_render(e);
    bank_statement_fini(&s);
    errs_free(e);
    return 0;
}
