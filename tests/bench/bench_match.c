/*
 * bench_match: payment matching of a generated bank statement against
 * generated open receivable items (issue 16's measure), in-process.
 *
 *   bench_match [--items N] [--credits N] [--seed S] [--runs R] [--camt]
 *
 * Generates (tests/finance_gen.h, seeded, the seed printed) N open items
 * (default 20,000) of N/8 customers and a statement of N credits
 * (default 10,000) with realistic noise: missing references, typos,
 * split and combined payments, overpayments, duplicates of an earlier
 * statement, payers under other names or accounts, and money that pays
 * nothing. Then matches it R times (default 5; best and median time of
 * match_statement, indexes included) and scores the result against the
 * generator's ground truth: matched automatically (right, and paid in
 * part with the rest kept as credit), missed (left for a person), wrong
 * (money on an item it was not meant for, or noise matched), duplicates
 * and noise recognised. --camt also writes the statement as camt.053 XML
 * and times bank_parse_camt053 on it.
 * The goal (docs/finance.md): >= 95% matched, 0 wrong, < 2 s.
 */
#include "cpqd/bank.h"
#include "cpqd/match.h"
#include "finance_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

/* The statement as camt.053.001.02, into a malloc'ed buffer. */
static char *to_camt(const fg_data *d, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:"
          "tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>BENCH</Id><Acct><Id><Othr><Id>"
          "100123456789</Id></Othr></Id></Acct>\n",
          f);
    for (size_t k = 0; k < d->ncredits; k++) {
        const bank_credit *c = &d->credits[k];
        char a[MONEY_FMT_MAX], v[DATE_FMT_LEN];
        money_format(c->amount, a, sizeof(a));
        date_format(c->value_date, v);
        fprintf(f,
                "<Ntry><Amt Ccy=\"%s\">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
                "<ValDt><Dt>%s</Dt></ValDt><AcctSvcrRef>%s</AcctSvcrRef><NtryDtls><TxDtls>"
                "<RltdPties><Dbtr><Nm>",
                c->currency, a, v, c->tx_id);
        xml_text(f, c->debtor_name);
        fputs("</Nm></Dbtr>", f);
        if (*c->debtor_account)
            fprintf(f, "<DbtrAcct><Id><Othr><Id>%s</Id></Othr></Id></DbtrAcct>", c->debtor_account);
        fputs("</RltdPties><RmtInf><Ustrd>", f);
        xml_text(f, c->remittance);
        fputs("</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n", f);
    }
    fputs("</Stmt></BkToCstmrStmt></Document>\n", f);
    fclose(f);
    return buf;
}

static void camt_bench(const fg_data *d, int runs)
{
    size_t len = 0;
    char *xml = to_camt(d, &len);
    double t[32];
    size_t n = 0;
    if (!xml)
        return;
    for (int r = 0; r < runs && r < 32; r++) {
        bank_statement s;
        double t0 = now_s();
        int rc = bank_parse_camt053(xml, len, "bench.xml", &s, NULL);
        t[r] = now_s() - t0;
        n = s.ncredits;
        bank_statement_fini(&s);
        if (rc) {
            printf("camt.053: parse failed (%d)\n", rc);
            free(xml);
            return;
        }
    }
    qsort(t, (size_t)runs, sizeof(double), dbl_cmp);
    printf("camt.053: %.1f MiB, %zu credits parsed in %.0f ms best, %.0f ms median (%d runs)\n",
           (double)len / 1048576.0, n, t[0] * 1000, t[runs / 2] * 1000, runs);
    free(xml);
}

int main(int argc, char **argv)
{
    size_t nitems = 20000, ncredits = 10000;
    unsigned long long seed = (unsigned long long)time(NULL);
    int runs = 5;
    bool camt = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--items") && i + 1 < argc)
            nitems = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--credits") && i + 1 < argc)
            ncredits = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--camt"))
            camt = true;
        else {
            fprintf(stderr, "usage: bench_match [--items N] [--credits N] [--seed S] [--runs R] "
                            "[--camt]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 32 || nitems == 0 || ncredits == 0)
        return 2;
    printf("$ bench_match --items %zu --credits %zu --seed %llu --runs %d%s\n", nitems, ncredits,
           seed, runs, camt ? " --camt" : "");
    fg_data d;
    double t0 = now_s();
    fg_generate(&d, seed, nitems, ncredits);
    printf("generated in %.0f ms: %zu open items of %zu customers, %zu credits\n",
           (now_s() - t0) * 1000, d.nitems, d.ncust, d.ncredits);
    match_options o = {.seen = fg_seen, .seen_ctx = &d};
    match_input in = {d.cust, d.ncust, d.items, d.nitems, d.credits, d.ncredits, &o};
    double t[32];
    match_run r = {0};
    for (int k = 0; k < runs; k++) {
        match_run_fini(&r);
        double s0 = now_s();
        if (match_statement(&in, &r, NULL) != 0) {
            printf("match_statement failed\n");
            return 1;
        }
        t[k] = now_s() - s0;
    }
    qsort(t, (size_t)runs, sizeof(double), dbl_cmp);
    fg_score s;
    fg_evaluate(&d, &r, &s, stdout);
    size_t auto_ok = s.right + s.incomplete;
    double pct = s.targets ? 100.0 * (double)auto_ok / (double)s.targets : 0;
    printf("payments: %zu of %zu credits are meant to pay open items\n", s.targets, s.credits);
    printf("  matched automatically: %zu (%.2f%%): %zu exactly as meant, %zu in part with the rest "
           "kept as customer credit\n",
           auto_ok, pct, s.right, s.incomplete);
    printf("  left for a person (with suggestions): %zu\n", s.missed);
    printf("  wrong matches: %zu\n", s.wrong);
    printf("  by rule: reference %zu, reference with a typo %zu, amount %zu, combination %zu\n",
           s.by_rule[MATCH_RULE_REFERENCE], s.by_rule[MATCH_RULE_REFERENCE_FUZZY],
           s.by_rule[MATCH_RULE_AMOUNT], s.by_rule[MATCH_RULE_COMBINATION]);
    printf("duplicates recognised: %zu of %zu; money paying nothing left unmatched: %zu of %zu\n",
           s.dups_found, s.dups, s.noise_left, s.noise);
    printf("match_statement: %.0f ms best, %.0f ms median of %d runs (indexes included)\n",
           t[0] * 1000, t[runs / 2] * 1000, runs);
    printf("goal (>= 95%% matched, 0 wrong, < 2 s): %s\n",
           pct >= 95.0 && s.wrong == 0 && t[runs / 2] < 2.0 ? "met" : "NOT MET");
    if (camt)
        camt_bench(&d, runs);
    match_run_fini(&r);
    fg_free(&d);
    return 0;
}
