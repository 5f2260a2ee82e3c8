/*
 * Unit tests for bank: camt.053 (.02 and .08 layouts) and the CSV layout
 * into typed credits; what is skipped (debits, pending entries,
 * reversals); every error with its position; hostile XML (entities,
 * DOCTYPE) refused; nothing returned when anything is wrong. Fixtures in
 * tests/data/bank (run from the repository root, CPQD_ROOT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above, so its own block */

#include "cpqd/bank.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/data/bank/"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

#define assert_money(v, want)                                                                      \
    do {                                                                                           \
        char b_[MONEY_FMT_MAX];                                                                    \
        assert_true(money_format((v), b_, sizeof(b_)) > 0);                                        \
        assert_string_equal(b_, (want));                                                           \
    } while (0)

static void assert_date(date_days d, const char *want)
{
    char b[DATE_FMT_LEN];
    date_format(d, b);
    assert_string_equal(b, want);
}

typedef int (*parse_fn)(const char *, size_t, const char *, bank_statement *, cpqd_errs *);

/* Parses a file expecting failure; each wanted text must be one error
 * ("file:line:col: message" as errs_format gives it). Nothing is returned. */
static void parse_fails(parse_fn fn, const char *path, const char *const *want, size_t n)
{
    size_t len;
    char *buf = slurp(path, &len);
    cpqd_errs *e = errs_new();
    bank_statement s;
    memset(&s, 0x5a, sizeof(s));
    int rc = fn(buf, len, path, &s, e);
    assert_int_equal(rc, CPQD_EINVAL);
    assert_null(s.credits);
    assert_int_equal(s.ncredits, 0);
    assert_null(s.mem);
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        for (size_t i = 0; i < errs_count(e) && !found; i++) {
            char *m = errs_format(e, i);
            found = strstr(m, want[k]) != NULL;
            free(m);
        }
        if (!found) {
            for (size_t i = 0; i < errs_count(e); i++) {
                char *m = errs_format(e, i);
                fprintf(stderr, "  got: %s\n", m);
                free(m);
            }
            fail_msg("expected an error containing '%s'", want[k]);
        }
    }
    errs_free(e);
    free(buf);
}

/* ---- camt.053 ---- */

static void test_bank_camt053_v02_credits(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DIR "camt053-v02.xml", &len);
    bank_statement s;
    cpqd_errs *e = errs_new();
    assert_int_equal(bank_parse_camt053(buf, len, "camt053-v02.xml", &s, e), 0);
    assert_int_equal(errs_count(e), 0);
    assert_string_equal(s.id, "ICBC-SH-2026-335");
    assert_string_equal(s.account, "100123456789"); /* spaces dropped */
    /* the debit, the pending entry and the reversal are skipped */
    assert_int_equal(s.nskipped, 3);
    assert_int_equal(s.ncredits, 4);
    const bank_credit *c = &s.credits[0];
    assert_string_equal(c->tx_id, "ICBC20261201000001");
    assert_money(c->amount, "1130.00");
    assert_string_equal(c->currency, "CNY");
    assert_date(c->value_date, "2026-12-01");
    assert_date(c->booking_date, "2026-12-01");
    assert_string_equal(c->debtor_name, "北京华信贸易有限公司");
    assert_string_equal(c->debtor_account, "CN12BANK00001111");
    /* two Ustrd lines joined, whitespace collapsed */
    assert_string_equal(c->remittance, "货款 发票号 INV-SH-2026-000001 谢谢");
    assert_string_equal(c->end_to_end_id, "E2E-778");
    assert_int_equal(c->line, 19);
    /* a batch of two: ids from the entry (+/1) or the transaction's own */
    assert_string_equal(s.credits[1].tx_id, "ICBC20261201000003/1");
    assert_money(s.credits[1].amount, "1000.50");
    assert_date(s.credits[1].value_date, "2026-12-02"); /* the date of a DtTm */
    assert_string_equal(s.credits[1].remittance, "INV-SH-2026-000007");
    assert_string_equal(s.credits[1].end_to_end_id, ""); /* NOTPROVIDED */
    assert_string_equal(s.credits[1].debtor_account, "");
    assert_string_equal(s.credits[2].tx_id, "ICBC-TX-99");
    assert_string_equal(s.credits[2].debtor_name, "Beta & Sons");
    assert_string_equal(s.credits[2].debtor_account, "6222-0000-1111");
    assert_string_equal(s.credits[2].remittance, "C-2026-000004");
    /* no details: the entry itself; value date from the booking date */
    assert_string_equal(s.credits[3].tx_id, "JP-0001");
    assert_money(s.credits[3].amount, "5000");
    assert_string_equal(s.credits[3].currency, "JPY");
    assert_date(s.credits[3].value_date, "2026-12-01");
    assert_string_equal(s.credits[3].remittance, "REF C-2026-000009");
    bank_statement_fini(&s);
    bank_statement_fini(&s); /* twice is harmless */
    bank_statement_fini(NULL);
    errs_free(e);
    free(buf);
}

static void test_bank_camt053_v08_status_code_and_party(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DIR "camt053-v08.xml", &len);
    bank_statement s;
    assert_int_equal(bank_parse_camt053(buf, len, NULL, &s, NULL), 0);
    assert_string_equal(s.account, "DE89370400440532013000");
    assert_int_equal(s.ncredits, 1);
    assert_int_equal(s.nskipped, 1);
    assert_string_equal(s.credits[0].tx_id, "KW-1-A");
    assert_money(s.credits[0].amount, "12.345");
    assert_string_equal(s.credits[0].debtor_name, "Gulf Trading Co.");
    bank_statement_fini(&s);
    free(buf);
}

static void test_bank_camt053_errors_all_reported(void **state)
{
    (void)state;
    const char *want[] = {
        "camt053-errors.xml:8:0: amount '100.5' has more places than JPY allows (0)",
        "camt053-errors.xml:14:0: a credit entry needs a bank reference",
        "camt053-errors.xml:24:0: ValDt '2026-13-01' is not a date YYYY-MM-DD",
        "camt053-errors.xml:27:0: the transactions of a batch entry do not add up",
    };
    parse_fails(bank_parse_camt053, DIR "camt053-errors.xml", want, 4);
}

static void camt_text_fails(const char *xml, const char *want)
{
    cpqd_errs *e = errs_new();
    bank_statement s;
    assert_int_equal(bank_parse_camt053(xml, strlen(xml), "t.xml", &s, e), CPQD_EINVAL);
    assert_int_equal(s.ncredits, 0);
    bool found = false;
    for (size_t i = 0; i < errs_count(e) && !found; i++)
        found = strstr(errs_get(e, i)->msg, want) != NULL;
    if (!found)
        fail_msg("expected '%s'; first error: %s", want,
                 errs_count(e) ? errs_get(e, 0)->msg : "(none)");
    errs_free(e);
}

/* A DOCTYPE (the entity-expansion vector) is refused before anything is
 * read from the document; so is anything that is not camt.053. */
static void test_bank_camt053_hostile_and_foreign_input(void **state)
{
    (void)state;
    camt_text_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE Document [\n"
                    "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
                    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
                    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n]>\n"
                    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
                    "<BkToCstmrStmt><Stmt><Id>&c;</Id></Stmt></BkToCstmrStmt></Document>",
                    "must not have a DOCTYPE");
    camt_text_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE Document SYSTEM \"file:///etc/passwd\">\n"
                    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"/>",
                    "must not have a DOCTYPE");
    camt_text_fails("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.052.001.02\"/>",
                    "not a camt.053 statement");
    camt_text_fails("<Document><BkToCstmrStmt></Document>", "malformed XML");
    camt_text_fails("", "malformed XML");
    camt_text_fails("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
                    "<BkToCstmrStmt/></Document>",
                    "no BkToCstmrStmt/Stmt");
    camt_text_fails("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
                    "<BkToCstmrStmt><Stmt><Id>1</Id><Ntry><Amt>5.00</Amt><CdtDbtInd>CRDT"
                    "</CdtDbtInd></Ntry></Stmt></BkToCstmrStmt></Document>",
                    "Stmt needs its account");
}

/* ---- CSV ---- */

static void test_bank_csv_layout(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DIR "statement.csv", &len);
    bank_statement s;
    cpqd_errs *e = errs_new();
    assert_int_equal(bank_parse_csv(buf, len, "statement.csv", &s, e), 0);
    assert_int_equal(errs_count(e), 0);
    assert_int_equal(s.ncredits, 2);
    assert_int_equal(s.nskipped, 1); /* the debit of -500.00 */
    const bank_credit *c = &s.credits[0];
    assert_string_equal(c->tx_id, "ICBC-1");
    assert_money(c->amount, "1130.00");
    assert_string_equal(c->debtor_name, "北京华信贸易有限公司");
    assert_string_equal(c->debtor_account, "CN12BANK00001111");
    assert_string_equal(c->remittance, "货款, 发票号 INV-SH-2026-000001");
    assert_int_equal(c->line, 2);
    assert_true(c->booking_date == BANK_NO_DATE);
    c = &s.credits[1];
    assert_string_equal(c->tx_id, "ICBC-3");
    assert_string_equal(c->currency, "JPY");
    assert_money(c->amount, "2000");
    assert_string_equal(c->debtor_name, "Beta \"B\" & Sons");
    assert_string_equal(c->remittance, "line one line two"); /* a quoted line break */
    assert_int_equal(c->line, 5);
    bank_statement_fini(&s);
    errs_free(e);
    free(buf);
}

static void test_bank_csv_row_errors_with_positions(void **state)
{
    (void)state;
    const char *want[] = {
        "statement-rows.csv:3:4: value_date '2026-12-1' is not a date YYYY-MM-DD",
        "statement-rows.csv:4:1: the row has 6 fields, the header 5",
        "statement-rows.csv:5:15: amount '10.005' has more places than CNY allows (2)",
        "statement-rows.csv:6:15: amount is zero",
        "statement-rows.csv:7:1: bank_tx_id is empty",
        "statement-rows.csv:8:24: a quoted field is not closed",
    };
    parse_fails(bank_parse_csv, DIR "statement-rows.csv", want, 6);
}

static void test_bank_csv_header_errors(void **state)
{
    (void)state;
    const char *want[] = {"statement-errors.csv:1:50: unknown column 'memo'"};
    parse_fails(bank_parse_csv, DIR "statement-errors.csv", want, 1);
    cpqd_errs *e = errs_new();
    bank_statement s;
    const char *csv = "bank_tx_id,amount,amount\n";
    assert_int_equal(bank_parse_csv(csv, strlen(csv), "h.csv", &s, e), CPQD_EINVAL);
    const char *msgs[] = {"column 'amount' appears twice", "lacks the required column 'value_date'",
                          "lacks the required column 'currency'"};
    for (size_t k = 0; k < 3; k++) {
        bool found = false;
        for (size_t i = 0; i < errs_count(e); i++)
            found |= strstr(errs_get(e, i)->msg, msgs[k]) != NULL;
        assert_true(found);
    }
    errs_free(e);
    e = errs_new();
    assert_int_equal(bank_parse_csv("", 0, "empty.csv", &s, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "no header row"));
    errs_free(e);
}

static void test_bank_csv_quoting_and_utf8(void **state)
{
    (void)state;
    cpqd_errs *e = errs_new();
    bank_statement s;
    const char *q =
        "bank_tx_id,value_date,amount,currency,remittance\nT1,2026-12-01,1.00,CNY,ab\"c\n";
    assert_int_equal(bank_parse_csv(q, strlen(q), "q.csv", &s, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "inside an unquoted field"));
    errs_free(e);
    e = errs_new();
    const char *after =
        "bank_tx_id,value_date,amount,currency,remittance\nT1,2026-12-01,1.00,CNY,\"a\"b\n";
    assert_int_equal(bank_parse_csv(after, strlen(after), "q.csv", &s, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "unexpected 'b' after a closing quote"));
    errs_free(e);
    e = errs_new();
    const char *latin1 =
        "bank_tx_id,value_date,amount,currency,debtor_name\nT1,2026-12-01,1.00,CNY,Caf\xe9\n";
    assert_int_equal(bank_parse_csv(latin1, strlen(latin1), "l.csv", &s, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "debtor_name: invalid UTF-8 (byte 0xE9)"));
    errs_free(e);
    /* a long remittance text is cut on a character boundary */
    char big[4096];
    int n = snprintf(big, sizeof(big),
                     "bank_tx_id,value_date,amount,currency,remittance\nT1,2026-12-01,1.00,CNY,");
    for (int i = 0; i < 600; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "款");
    snprintf(big + n, sizeof(big) - (size_t)n, "\n");
    assert_int_equal(bank_parse_csv(big, strlen(big), "b.csv", &s, NULL), 0);
    assert_int_equal(strlen(s.credits[0].remittance), 1023); /* 341 characters of 3 bytes */
    bank_statement_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_camt053_v02_credits),
        cmocka_unit_test(test_bank_camt053_v08_status_code_and_party),
        cmocka_unit_test(test_bank_camt053_errors_all_reported),
        cmocka_unit_test(test_bank_camt053_hostile_and_foreign_input),
        cmocka_unit_test(test_bank_csv_layout),
        cmocka_unit_test(test_bank_csv_row_errors_with_positions),
        cmocka_unit_test(test_bank_csv_header_errors),
        cmocka_unit_test(test_bank_csv_quoting_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
