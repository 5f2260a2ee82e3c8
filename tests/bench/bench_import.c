/*
 * bench_import: issue 16's statement measure through the finance layer,
 * in-process: the generated ledger of bench_match (tests/finance_gen.h)
 * stored as contracts, receivable items, invoices and customers in a
 * fresh store, and the generated statement imported by
 * fin_statement_import exactly as POST /v1/bank/statements does (one
 * transaction: the credits, their payment vouchers, the matches with
 * their payments, vouchers and events).
 *
 *   bench_import [--items N] [--credits N] [--seed S] [--db PATH|URL]
 *
 * Prints the statement's counts as the route answers them, beside the
 * matcher's own run on the same data (bench_match scores that one
 * against the generator's truth), and the import's wall time (one run:
 * it writes). --db defaults to a SQLite file
 * in a temporary directory; a postgres:// URL of an empty database runs
 * it on PostgreSQL.
 */
#include "cpqd/bank.h"
#include "cpqd/cat.h"
#include "cpqd/fin.h"
#include "cpqd/match.h"
#include "cpqd/store.h"
#include "cpqd/store_fin.h"
#include "cpqd/svc.h"
#include "finance_gen.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of this process (user + system): steadier than the wall
 * clock on a machine shared with other work. */
static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static char **rid_of; /* the store's receivable id of each generated item */

static void die(const char *what, store *st)
{
    fprintf(stderr, "bench_import: %s: %s\n", what, st ? store_last_error(st) : "");
    exit(1);
}

static char *fmt_units(int64_t u, char *buf, size_t cap)
{
    money_dec v = {u, 2};
    money_format(v, buf, cap);
    return buf;
}

/* One contract (items first..last-1 of the generator, consecutive) with
 * its quote, items and invoices. */
static void contract_store(store *st, const fg_data *d, size_t first, size_t last)
{
    char total[MONEY_FMT_MAX], amt[64][MONEY_FMT_MAX], due[64][DATE_FMT_LEN];
    int64_t sum = 0;
    const match_item *m = &d->items[first];
    for (size_t i = first; i < last; i++)
        sum += d->units[i];
    fmt_units(sum, total, sizeof(total));
    store_quote q = {.status = "approved", .customer_id = (char *)d->cust[m->customer].id,
                     .currency = (char *)m->currency, .total = total, .catalog_version = "bench",
                     .request = "{}", .priced = "{}", .created_by = "bench"};
    if (store_quote_insert(st, &q, 2026) != 0)
        die("quote", st);
    store_contract c = {.quote_id = q.id, .quote_version = 1, .customer_id = q.customer_id,
                        .currency = q.currency, .total = total, .signed_on = "2026-01-01",
                        .start_on = "2026-01-01", .catalog_version = "bench",
                        .request = "{\"signed_on\":\"2026-01-01\"}", .created_by = "bench"};
    store_receivable r[64] = {{0}};
    size_t n = last - first;
    for (size_t i = 0; i < n; i++) {
        date_format(d->items[first + i].due_on, due[i]);
        r[i] = (store_receivable){.line_id = "1", .kind = "installment", .part = (int)i,
                                  .amount = fmt_units(d->units[first + i], amt[i], MONEY_FMT_MAX),
                                  .amount_known = true, .description = "bench", .paid = "0.00",
                                  .due_on = due[i], .bill_on = due[i]};
    }
    if (store_contract_insert(st, &c, 2026, r, n) != 0)
        die("contract", st);
    if (strcmp(c.number, m->contract_number) != 0)
        die("contract numbers out of step", NULL);
    /* invoices: consecutive items sharing a number are one invoice */
    for (size_t i = 0; i < n;) {
        const char *num = d->items[first + i].invoice_number;
        size_t k = i + 1;
        while (num && k < n && d->items[first + k].invoice_number == num)
            k++;
        if (num) {
            store_invoice_item it[64];
            int64_t t = 0;
            for (size_t j = i; j < k; j++) {
                it[j - i] = (store_invoice_item){.receivable_id = r[j].id, .amount = r[j].amount};
                t += d->units[first + j];
            }
            char tt[MONEY_FMT_MAX];
            store_invoice v = {.number = (char *)num, .issuer = "ACME-SH", .kind = "invoice",
                               .reason = "sale", .year = 2026, .doc_seq = atoll(num + 12),
                               .contract_id = c.id, .customer_id = c.customer_id,
                               .currency = c.currency, .issued_on = due[i], .due_on = due[i],
                               .net = "0", .tax = "0", .total = fmt_units(t, tt, sizeof(tt)),
                               .source = "api", .document = "{}", .created_by = "bench"};
            if (store_invoice_insert(st, &v, it, k - i) != 0)
                die("invoice", st);
            free(v.id), free(v.created_at);
        }
        i = k;
    }
    for (size_t i = 0; i < n; i++)
        rid_of[first + i] = r[i].id, free(r[i].contract_id);
    free(c.id), free(c.number), free(c.created_at);
    free(q.id), free(q.number), free(q.created_at), free(q.updated_at);
}

static void ledger_store(store *st, const fg_data *d)
{
    if (store_begin(st) != 0)
        die("begin", st);
    for (size_t c = 0; c < d->ncust; c++) {
        json_t *acc = json_array();
        for (size_t k = 0; k < d->cust[c].naccounts; k++)
            json_array_append_new(acc, json_string(d->cust[c].accounts[k]));
        char *a = json_dumps(acc, JSON_COMPACT);
        store_customer cu = {.id = (char *)d->cust[c].id, .name = (char *)d->cust[c].name,
                             .accounts = a, .risk_flags = "[]", .updated_by = "bench"};
        if (store_customer_put(st, &cu) != 0)
            die("customer", st);
        free(cu.updated_at), free(a);
        json_decref(acc);
    }
    for (size_t i = 0; i < d->nitems;) {
        size_t k = i + 1;
        while (k < d->nitems && d->items[k].contract_number == d->items[i].contract_number)
            k++;
        contract_store(st, d, i, k);
        i = k;
    }
    /* the previous statement: its transaction ids were imported */
    store_statement s = {.issuer = "ACME-SH", .format = "csv", .ref = "", .account = "",
                         .imported_by = "bench"};
    if (d->nseen && store_statement_insert(st, &s) != 0)
        die("statement", st);
    for (size_t i = 0; i < d->nseen; i++) {
        store_credit c = {.statement_id = s.id, .tx_id = d->seen[i], .amount = "1.00",
                          .currency = "CNY", .value_date = "2026-01-01", .remittance = "",
                          .debtor_name = "", .debtor_account = "", .end_to_end_id = "",
                          .applied = "0.00", .status = "unmatched", .rule = "none",
                          .suggestions = "[]"};
        if (store_credit_insert(st, &c) != 0)
            die("seen credit", st);
        free(c.id), free(c.created_at);
    }
    free(s.id), free(s.imported_at);
    if (store_commit(st) != 0)
        die("commit", st);
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static char *to_csv(const fg_data *d, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    fputs("bank_tx_id,value_date,amount,currency,debtor_name,debtor_account,remittance\n", f);
    for (size_t k = 0; k < d->ncredits; k++) {
        const bank_credit *c = &d->credits[k];
        char a[MONEY_FMT_MAX], v[DATE_FMT_LEN];
        money_format(c->amount, a, sizeof(a));
        date_format(c->value_date, v);
        fprintf(f, "%s,%s,%s,%s,", c->tx_id, v, a, c->currency);
        csv_field(f, c->debtor_name);
        fputc(',', f);
        csv_field(f, c->debtor_account);
        fputc(',', f);
        csv_field(f, c->remittance);
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

typedef struct rid_ix {
    const char *rid;
    size_t item;
} rid_ix;

static int rid_cmp(const void *a, const void *b)
{
    return strcmp(((const rid_ix *)a)->rid, ((const rid_ix *)b)->rid);
}

static match_rule rule_of(const char *name)
{
    for (int k = MATCH_RULE_NONE; k <= MATCH_RULE_MANUAL; k++)
        if (!strcmp(match_rule_name((match_rule)k), name))
            return (match_rule)k;
    return MATCH_RULE_NONE;
}

/* One stored credit's outcome as a match_result (allocs from a). */
static void result_of(store *st, const store_credit *cr, const rid_ix *ix, size_t nix, arena *a,
                      match_result *x)
{
    store_match *ms = NULL, m;
    store_alloc *al = NULL;
    size_t n = 0, na = 0;
    x->status = strcmp(cr->status, "matched") ? MATCH_UNMATCHED : MATCH_MATCHED;
    if (x->status != MATCH_MATCHED)
        return;
    if (store_matches_of(st, cr->id, &ms, &n) != 0 || n != 1 ||
        store_match_get(st, ms[0].id, &m, &al, &na) != 0)
        die("matches", st);
    match_alloc *v = arena_calloc(a, na ? na : 1, sizeof(*v));
    for (size_t i = 0; i < na; i++) {
        rid_ix key = {al[i].receivable_id, 0};
        const rid_ix *hit = bsearch(&key, ix, nix, sizeof(*ix), rid_cmp);
        if (!hit || money_parse(al[i].amount, strlen(al[i].amount), &v[i].amount) != 0)
            die("an allocation to an unknown item", NULL);
        v[i].item = hit->item;
        store_alloc_fini(&al[i]);
    }
    x->allocs = v;
    x->nallocs = na;
    x->rule = rule_of(m.rule);
    money_parse(m.overpaid, strlen(m.overpaid), &x->overpaid);
    store_match_fini(&m), store_match_fini(&ms[0]);
    free(al), free(ms);
}

/* What the import did, as a match_run the generator can score: each
 * credit of the statement in order, a duplicate when it was not stored. */
static void run_from_store(store *st, const fg_data *d, const char *statement, match_run *r)
{
    store_credit *v = NULL;
    size_t n = 0, j = 0;
    rid_ix *ix = calloc(d->nitems, sizeof(*ix));
    for (size_t i = 0; i < d->nitems; i++)
        ix[i] = (rid_ix){rid_of[i], i};
    qsort(ix, d->nitems, sizeof(*ix), rid_cmp);
    memset(r, 0, sizeof(*r));
    r->n = d->ncredits;
    r->results = calloc(d->ncredits, sizeof(*r->results));
    r->mem = arena_new(1 << 16);
    if (store_credits_list(st, NULL, NULL, 0, 0, &v, &n) != 0)
        die("credits", st);
    for (size_t k = 0; k < d->ncredits; k++) {
        match_result *x = &r->results[k];
        *x = (match_result){.status = MATCH_DUPLICATE, .customer = MATCH_NONE,
                            .duplicate_of = MATCH_NONE};
        while (j < n && strcmp(v[j].statement_id, statement))
            j++;
        if (j < n && !strcmp(v[j].tx_id, d->credits[k].tx_id))
            result_of(st, &v[j++], ix, d->nitems, r->mem, x);
        r->matched += x->status == MATCH_MATCHED;
    }
    for (size_t i = 0; i < n; i++)
        store_credit_fini(&v[i]);
    free(v), free(ix);
}

int main(int argc, char **argv)
{
    size_t nitems = 20000, ncredits = 10000;
    uint64_t seed = (uint64_t)time(NULL);
    const char *db = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--items"))
            nitems = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--credits"))
            ncredits = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--db"))
            db = argv[i + 1];
    }
    printf("bench_import --items %zu --credits %zu --seed %llu\n", nitems, ncredits,
           (unsigned long long)seed);
    char dir[] = "/tmp/bench_import.XXXXXX", path[64];
    if (!db) {
        if (!mkdtemp(dir))
            die("mkdtemp", NULL);
        snprintf(path, sizeof(path), "%s/cpqd.db", dir);
        db = path;
    }
    fg_data d;
    fg_generate(&d, seed, nitems, ncredits);
    rid_of = calloc(d.nitems, sizeof(*rid_of));
    store *st = NULL;
    cpqd_errs *e = errs_new();
    if (store_open(db, false, &st, e) != 0)
        die("open", NULL);
    double t0 = now_s();
    ledger_store(st, &d);
    printf("ledger stored: %zu items of %zu customers in %.1f s\n", d.nitems, d.ncust,
           now_s() - t0);
    cat_snapshot *snap = cat_snapshot_load("catalogs", "rules", e);
    if (!snap)
        die("catalogs (run from the repository root)", NULL);
    size_t len = 0;
    char *csv = to_csv(&d, &len);
    svc_caller who = {.key_id = "bench", .role = AUTH_ROLE_ADMIN};
    svc_ctx c = {.st = st, .snap = snap, .caller = &who, .today = date_from_ymd(2026, 12, 1)};
    svc_reply out = {0};
    t0 = now_s();
    double c0 = cpu_s();
    int rc = fin_statement_import(&c, "csv", NULL, "ACME-SH", csv, len, NULL, &out, e);
    double t = now_s() - t0, tc = cpu_s() - c0;
    if (rc != 0)
        die(errs_count(e) ? errs_get(e, 0)->msg : err_code_name(rc), st);
    printf("POST /v1/bank/statements (%.1f MiB of CSV): %s\n", (double)len / (1 << 20), out.body);
    printf("import: %.2f s (%.2f s of CPU; parse, match, store every credit, payment, match and "
           "voucher, one transaction)\n",
           t, tc);
    json_error_t je;
    json_t *sj = json_loads(out.body, 0, &je);
    match_run r;
    run_from_store(st, &d, json_string_value(json_object_get(sj, "id")), &r);
    fg_score sc;
    fg_evaluate(&d, &r, &sc, stdout);
    size_t ok = sc.right + sc.incomplete;
    printf("scored from the stored matches: %zu of %zu payments matched automatically "
           "(%.2f%%), %zu wrong, %zu left for a person; duplicates %zu of %zu, noise left %zu "
           "of %zu\n",
           ok, sc.targets, sc.targets ? 100.0 * (double)ok / (double)sc.targets : 0.0, sc.wrong,
           sc.missed, sc.dups_found, sc.dups, sc.noise_left, sc.noise);
    match_run_fini(&r);
    json_decref(sj);
    svc_reply_fini(&out);
    free(csv);
    cat_snapshot_release(snap);
    errs_free(e);
    store_close(st);
    for (size_t i = 0; i < d.nitems; i++)
        free(rid_of[i]);
    free(rid_of);
    fg_free(&d);
    if (!strncmp(db, dir, strlen(dir))) {
        char tmp[96];
        snprintf(tmp, sizeof(tmp), "%s-wal", db), unlink(tmp);
        snprintf(tmp, sizeof(tmp), "%s-shm", db), unlink(tmp);
        unlink(db), rmdir(dir);
    }
    (void)fg_seen;
    return 0;
}
