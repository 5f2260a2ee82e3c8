/*
 * Unit tests for store: opening (directory, pragmas, schema version,
 * refusing older/newer/foreign databases, `cpqd migrate`), quotes
 * (gap-free numbering per year, versions, status moves, history, list),
 * idempotency records, exact text round trips, bad input changing
 * nothing, injected I/O failures, durability across kill -9 and two
 * concurrent writers, the backend chosen by the --db value, SQLite kept
 * behind its driver. Each test works in its own temporary directory on
 * the database tu_db_location names; some look behind the API with the
 * store's debug API (store_debug_*) to check what the store wrote (or did
 * not), in SQL every backend accepts unless the check is about SQLite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include "cpqd/store.h"
#include "testutil.h"

#include "store_fixture.h"
#include "store_int.h" /* store_tables: what a move copies */

#include <dirent.h>
#include <pthread.h>

typedef struct fx {
    char *dir; /* temporary directory, removed after the test */
    char *db;  /* tu_db_location: nothing exists there yet */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = tu_tmpdir();
    f->db = tu_db_location(f->dir, "cpqd");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- helpers ---- */

static store *open_ok(const char *path)
{
    cpqd_errs *e = errs_new();
    store *st = NULL;
    int rc = store_open(path, false, &st, e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(rc, 0);
    assert_non_null(st);
    errs_free(e);
    return st;
}

/* Opens expecting failure code; returns the formatted first error. */
static char *open_fails(const char *path, bool migrate, int code)
{
    cpqd_errs *e = errs_new();
    store *st = (store *)1;
    assert_int_equal(store_open(path, migrate, &st, e), code);
    assert_null(st);
    assert_true(errs_count(e) >= 1);
    char *m = errs_format(e, 0);
    errs_free(e);
    return m;
}

/* A valid quote (string literals: inputs are only read). */
static store_quote sample(const char *customer)
{
    store_quote q = {0};
    q.status = "draft";
    q.customer_id = (char *)customer;
    q.currency = "CNY";
    q.total = "1180.00";
    q.catalog_version = "cat-3f2a";
    q.request = "{\"lines\":[{\"sku\":\"A-1\",\"qty\":2}]}";
    q.priced = "{\"total\":\"1180.00\"}";
    q.valid_until = "2026-12-31";
    q.approval_required = true;
    q.approval_level = "manager";
    q.created_by = "key_sales";
    return q;
}

/* Frees what store_quote_insert assigned. */
static void insert_outputs_free(store_quote *q)
{
    free(q->id), free(q->number), free(q->created_at), free(q->updated_at);
    q->id = q->number = q->created_at = q->updated_at = NULL;
}

/* Inserts a sample quote in its own transaction; returns the malloc'ed id
 * and, if number is non-NULL, its number. */
static char *insert_one(store *st, const char *customer, int year, char **number)
{
    store_quote q = sample(customer);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, year), 0);
    assert_int_equal(store_commit(st), 0);
    char *id = q.id;
    if (number)
        *number = q.number;
    else
        free(q.number);
    free(q.created_at), free(q.updated_at);
    return id;
}

static void assert_number(store *st, const char *customer, int year, const char *want)
{
    char *number = NULL;
    free(insert_one(st, customer, year, &number));
    assert_string_equal(number, want);
    free(number);
}

/* A connection to the database at loc that does not look at its schema,
 * for looking behind the store (store_debug_open). */
static store *raw_open(const char *loc)
{
    store *st = NULL;
    assert_int_equal(store_debug_open(loc, &st, NULL), 0);
    return st;
}

/* The integer the query sql returns on the database at loc. */
static long long db_int(const char *loc, const char *sql)
{
    store *st = raw_open(loc);
    int64_t v = 0;
    if (store_debug_int(st, sql, &v) != 0)
        fail_msg("%s: %s", sql, store_last_error(st));
    store_close(st);
    return v;
}

/* Runs one statement on the database at loc. */
static void raw_exec(const char *loc, const char *sql)
{
    store *st = raw_open(loc);
    if (store_debug_exec(st, sql, NULL) != 0)
        fail_msg("%s: %s", sql, store_last_error(st));
    store_close(st);
}

/* Whether the database at loc has a table named table (one that a query
 * can read). */
static bool has_table(const char *loc, const char *table)
{
    store *st = raw_open(loc);
    char *sql = tu_fmt("SELECT count(*) FROM %s", table);
    int64_t n;
    bool yes = store_debug_int(st, sql, &n) == 0;
    free(sql);
    store_close(st);
    return yes;
}

/* Whether st runs on SQLite: some checks are about its file. */
static bool on_sqlite(store *st)
{
    store_info info;
    assert_int_equal(store_info_get(st, &info), 0);
    return strcmp(info.backend, "sqlite") == 0;
}

static bool is_iso_utc(const char *s)
{
    int y, mo, d, h, mi, se;
    char z;
    return s && strlen(s) == 20 &&
           sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) == 7 && z == 'Z';
}

static size_t history_len(store *st, const char *id)
{
    store_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(store_quote_history(st, id, &ev, &n), 0);
    for (size_t i = 0; i < n; i++)
        store_event_fini(&ev[i]);
    free(ev);
    return n;
}

static void assert_same_quote(const store_quote *a, const store_quote *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->number, b->number);
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->customer_id, b->customer_id);
    assert_string_equal(a->currency, b->currency);
    assert_string_equal(a->total, b->total);
    assert_string_equal(a->catalog_version, b->catalog_version);
    assert_string_equal(a->request, b->request);
    assert_string_equal(a->priced, b->priced);
    assert_int_equal(a->approval_required, b->approval_required);
    assert_string_equal(a->created_by, b->created_by);
    assert_string_equal(a->created_at, b->created_at);
    assert_string_equal(a->updated_at, b->updated_at);
    assert_true((a->partner_id == NULL) == (b->partner_id == NULL));
    assert_true((a->valid_until == NULL) == (b->valid_until == NULL));
    assert_true((a->approval_level == NULL) == (b->approval_level == NULL));
}

/* ---- opening and schema ---- */

static void test_store_open_creates_dir_and_file(void **state)
{
    fx *f = *state;
    char *deep = tu_fmt("%s/a/b/c/q.db", f->dir);
    store *st = open_ok(deep);
    struct stat sb;
    assert_int_equal(stat(deep, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_string_equal(store_last_error(st), "");
    assert_true(on_sqlite(st)); /* a path names a SQLite file */
    store_close(st);
    free(deep);

    char *var = tu_fmt("%s/var/q.db", f->dir);
    store *st2 = open_ok(var); /* var/ created too */
    store_close(st2);
    assert_int_equal(stat(var, &sb), 0);
    free(var);
}

static void test_store_pragmas_in_effect(void **state)
{
    fx *f = *state;
    bool lite = false;
    for (int round = 0; round < 2; round++) { /* created, then reopened */
        store *st = open_ok(f->db);
        store_info info;
        assert_int_equal(store_info_get(st, &info), 0);
        assert_true(info.foreign_keys);
        assert_int_equal(info.schema_version, STORE_SCHEMA_VERSION);
        lite = strcmp(info.backend, "sqlite") == 0;
        if (lite) {
            assert_string_equal(info.journal_mode, "wal");
            assert_int_equal(info.synchronous, 2); /* FULL */
            assert_int_equal(info.busy_timeout_ms, STORE_BUSY_TIMEOUT_MS);
        }
        store_close(st);
    }
    if (!lite)
        return;
    /* WAL is a property of the file: its header says so to any reader
     * (bytes 18 and 19, the write and read format versions: 2 is WAL) */
    size_t len = 0;
    char *head = tu_read_file(f->db, &len);
    assert_non_null(head);
    assert_true(len >= 100);
    assert_memory_equal(head, "SQLite format 3", 16);
    assert_int_equal(head[18], 2);
    assert_int_equal(head[19], 2);
    free(head);
}

static void test_store_schema_version_recorded(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    int v = -1;
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT MAX(version) FROM schema_version"), STORE_SCHEMA_VERSION);
    /* one row per migration applied */
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM schema_version WHERE length(applied_at)"
                                   " = 20 AND applied_at LIKE '____-__-__T__:__:__Z'"),
                     STORE_SCHEMA_VERSION);
    /* migrating a current database is a no-op */
    int from = -1, to = -1;
    assert_int_equal(store_migrate(f->db, &from, &to, NULL), 0);
    assert_int_equal(from, STORE_SCHEMA_VERSION);
    assert_int_equal(to, STORE_SCHEMA_VERSION);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
}

/* A database as an older cpqd left it: schema_version at 0, no tables. */
static void make_v0(const fx *f)
{
    raw_exec(f->db, "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY,"
                    " applied_at TEXT NOT NULL)");
    raw_exec(f->db, "INSERT INTO schema_version VALUES (0, '2025-01-01T00:00:00Z')");
}

static void test_store_older_schema_needs_migrate(void **state)
{
    fx *f = *state;
    make_v0(f);
    char *m = open_fails(f->db, false, CPQD_EINVAL);
    assert_non_null(strstr(m, "schema version 0"));
    char *needs = tu_fmt("needs %d", STORE_SCHEMA_VERSION);
    assert_non_null(strstr(m, needs));
    free(needs);
    assert_non_null(strstr(m, "cpqd migrate --db"));
    free(m);
    /* refusing changed nothing */
    assert_false(has_table(f->db, "quotes"));

    int from = -1, to = -1;
    assert_int_equal(store_migrate(f->db, &from, &to, NULL), 0);
    assert_int_equal(from, 0);
    assert_int_equal(to, STORE_SCHEMA_VERSION);
    store *st = open_ok(f->db);
    assert_number(st, "c1", 2026, "Q-2026-000001");
    store_close(st);
}

static void test_store_open_with_migrate_flag(void **state)
{
    fx *f = *state;
    make_v0(f);
    store *st = NULL;
    assert_int_equal(store_open(f->db, true, &st, NULL), 0);
    int v = 0;
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(st);
}

/* Promotion usage: per scope, exact sums, nothing written on bad input. */
static void test_store_promotion_usage(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    int64_t uses = -1;
    char *spent = NULL;
    assert_int_equal(store_promo_usage(st, "d11", "*", &uses, &spent), 0);
    assert_int_equal(uses, 0);
    assert_string_equal(spent, "0");
    free(spent);
    assert_int_equal(store_promo_redeem(st, "d11", "C-1", "P-1", "359.55"), 0);
    assert_int_equal(store_promo_redeem(st, "d11", "C-2", NULL, "0.45"), 0);
    assert_int_equal(store_promo_usage(st, "d11", "*", &uses, &spent), 0);
    assert_int_equal(uses, 2);
    assert_string_equal(spent, "360.00");
    free(spent);
    assert_int_equal(store_promo_usage(st, "d11", "c:C-1", &uses, &spent), 0);
    assert_int_equal(uses, 1);
    free(spent);
    assert_int_equal(store_promo_usage(st, "d11", "p:P-1", &uses, &spent), 0);
    assert_int_equal(uses, 1);
    assert_string_equal(spent, "359.55");
    free(spent);
    assert_int_equal(store_promo_redeem(st, "d11", "C-1", NULL, "-1"), CPQD_EINVAL);
    assert_int_equal(store_promo_redeem(st, "d11", "C-1", NULL, "1.5e3"), CPQD_EINVAL);
    assert_int_equal(store_promo_usage(st, "d11", "*", &uses, &spent), 0);
    assert_int_equal(uses, 2); /* unchanged */
    free(spent);
    /* the three scopes a limit rule reads, in one read: absent ones zero */
    const char *scopes[3] = {"*", "c:C-1", "p:P-1"};
    const char *d11[] = {"d11"};
    int64_t u3[3];
    char *s3[3];
    assert_int_equal(store_promo_usage_many(st, d11, 1, scopes, u3, s3), 0);
    assert_int_equal(u3[0], 2);
    assert_int_equal(u3[1], 1);
    assert_int_equal(u3[2], 1);
    assert_string_equal(s3[0], "360.00");
    assert_string_equal(s3[1], "359.55");
    assert_string_equal(s3[2], "359.55");
    for (int k = 0; k < 3; k++)
        free(s3[k]);
    const char *some[3] = {"*", "c:C-9", NULL};
    assert_int_equal(store_promo_usage_many(st, d11, 1, some, u3, s3), 0);
    assert_int_equal(u3[0], 2);
    assert_int_equal(u3[1], 0);
    assert_int_equal(u3[2], 0);
    assert_string_equal(s3[1], "0");
    assert_string_equal(s3[2], "0");
    for (int k = 0; k < 3; k++)
        free(s3[k]);
    const char *none[3] = {"*", NULL, NULL};
    const char *d12[] = {"d12"};
    assert_int_equal(store_promo_usage_many(st, d12, 1, none, u3, s3), 0);
    assert_int_equal(u3[0], 0);
    assert_string_equal(s3[0], "0");
    for (int k = 0; k < 3; k++)
        free(s3[k]);
    const char *empty[] = {""};
    assert_int_equal(store_promo_usage_many(st, empty, 1, none, u3, s3), CPQD_EINVAL);
    assert_null(s3[0]);
    /* many promotions, past one read's STORE_USAGE_READ: each its own
     * counters, in the order asked, a repeated one twice */
    enum { N = STORE_USAGE_READ + 3 };
    const char *many[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "m%02d", i);
        many[i] = names[i];
        for (int r = 0; r < i % 3; r++)
            assert_int_equal(store_promo_redeem(st, many[i], "C-1", NULL, "1.25"), 0);
    }
    many[N - 1] = "d11";
    many[1] = "d11";
    int64_t un[3 * N];
    char *sn[3 * N];
    assert_int_equal(store_promo_usage_many(st, many, N, scopes, un, sn), 0);
    for (int i = 0; i < N; i++) {
        bool is11 = i == 1 || i == N - 1;
        assert_int_equal(un[3 * i], is11 ? 2 : i % 3);
        assert_int_equal(un[3 * i + 1], is11 ? 1 : i % 3);
        assert_int_equal(un[3 * i + 2], is11 ? 1 : 0);
        assert_string_equal(sn[3 * i], is11 ? "360.00" : i % 3 == 2 ? "2.50" : i % 3 ? "1.25" : "0");
    }
    for (int j = 0; j < 3 * N; j++)
        free(sn[j]);
    /* two (a statement of its own): the same counters */
    assert_int_equal(store_promo_usage_many(st, many + 2, 2, scopes, un, sn), 0);
    assert_int_equal(un[0], 2);
    assert_int_equal(un[3], 0);
    assert_string_equal(sn[0], "2.50");
    assert_string_equal(sn[3], "0");
    for (int j = 0; j < 6; j++)
        free(sn[j]);
    store_close(st);
}

typedef struct arch_seen {
    size_t n;
    char buf[512];
} arch_seen;

static int arch_collect(void *ctx, const store_archive_file *f)
{
    arch_seen *a = ctx;
    size_t len = strlen(a->buf);
    snprintf(a->buf + len, sizeof(a->buf) - len, "%s:%s=%.*s;", f->is_rule ? "rule" : "catalog",
             f->path, (int)f->len, f->content);
    a->n++;
    return 0;
}

/* Catalog archives: written once with their files, read back byte for
 * byte (UTF-8 included), a second put of the same version is a no-op. */
static void test_store_catalog_archive(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    char *cd = NULL, *rd = NULL;
    assert_int_equal(store_archive_get(st, "v1", &cd, &rd), CPQD_ENOTFOUND);
    store_archive_file files[] = {
        {false, "a.yaml", "name: 电热水壶\n", strlen("name: 电热水壶\n")},
        {true, "x/r.lua", "return 1\n", 9},
    };
    assert_int_equal(store_archive_put(st, "v1", "catalogs", "rules", files, 2), 0);
    assert_int_equal(store_archive_get(st, "v1", &cd, &rd), 0);
    assert_string_equal(cd, "catalogs");
    assert_string_equal(rd, "rules");
    free(cd), free(rd);
    store_archive_file other = {false, "b.yaml", "x", 1};
    assert_int_equal(store_archive_put(st, "v1", "elsewhere", "r2", &other, 1), 0); /* no-op */
    arch_seen seen = {0};
    assert_int_equal(store_archive_files(st, "v1", arch_collect, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.buf, "catalog:a.yaml=name: 电热水壶\n;rule:x/r.lua=return 1\n;");
    /* a file with a NUL is refused and nothing is written */
    store_archive_file bin = {false, "c.yaml", "a\0b", 3};
    assert_int_equal(store_archive_put(st, "v2", "catalogs", "rules", &bin, 1), CPQD_EINVAL);
    assert_int_equal(store_archive_get(st, "v2", NULL, NULL), CPQD_ENOTFOUND);
    /* put and seen inside a transaction rolled back: not there, on this
     * connection (which remembers versions seen committed) or another */
    assert_int_equal(store_archive_get(st, "v1", NULL, NULL), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_archive_put(st, "v3", "catalogs", "rules", &other, 1), 0);
    assert_int_equal(store_archive_get(st, "v3", NULL, NULL), 0);
    store_rollback(st);
    assert_int_equal(store_archive_get(st, "v3", NULL, NULL), CPQD_ENOTFOUND);
    assert_int_equal(store_archive_get(st, "v1", NULL, NULL), 0);
    /* one put on another connection is seen here */
    store *st2 = open_ok(f->db);
    assert_int_equal(store_archive_put(st2, "v3", "catalogs", "rules", &other, 1), 0);
    assert_int_equal(store_archive_get(st, "v3", NULL, NULL), 0);
    assert_int_equal(store_archive_get(st2, "v3", NULL, NULL), 0);
    store_close(st2);
    store_close(st);
}

static void test_store_newer_schema_refused(void **state)
{
    fx *f = *state;
    store_close(open_ok(f->db));
    raw_exec(f->db, "INSERT INTO schema_version VALUES (99, '2099-01-01T00:00:00Z')");
    for (int migrate = 0; migrate < 2; migrate++) {
        char *m = open_fails(f->db, migrate, CPQD_EINVAL);
        assert_non_null(strstr(m, "schema version 99"));
        assert_non_null(strstr(m, "newer than this cpqd"));
        free(m);
    }
}

static void test_store_foreign_file_refused(void **state)
{
    fx *f = *state;
    char *other = tu_db_location(f->dir, "other");
    raw_exec(other, "CREATE TABLE t (x INTEGER)");
    char *m = open_fails(other, true, CPQD_EINVAL);
    assert_non_null(strstr(m, "not a cpqd database"));
    free(m);
    /* refusing created nothing */
    assert_true(has_table(other, "t"));
    assert_false(has_table(other, "schema_version"));

    assert_int_equal(tu_write(f->dir, "junk.db",
                              "this is not a database, not at all....."
                              "................................................"
                              "................................................"),
                     0);
    char *junk = tu_fmt("%s/junk.db", f->dir);
    m = open_fails(junk, false, CPQD_EINVAL);
    assert_non_null(strstr(m, "not a SQLite database"));
    free(m);
    free(junk);
    tu_db_drop(other);

    m = open_fails("", false, CPQD_EINVAL);
    free(m);
}

/* Runs store_cli_migrate with stdout and stderr captured into *out / *err. */
static int run_cli(const fx *f, int argc, char **argv, char **out, char **err)
{
    char *po = tu_fmt("%s/stdout", f->dir), *pe = tu_fmt("%s/stderr", f->dir);
    fflush(stdout), fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1), dup2(fe, 2);
    close(fo), close(fe);
    int rc = store_cli_migrate(argc, argv);
    fflush(stdout), fflush(stderr);
    dup2(so, 1), dup2(se, 2);
    close(so), close(se);
    *out = tu_read_file(po, NULL);
    *err = tu_read_file(pe, NULL);
    free(po), free(pe);
    return rc;
}

static void test_store_cli_migrate(void **state)
{
    fx *f = *state;
    char *out, *err;
    char *a1[] = {"migrate", "--db", f->db};
    char *want = tu_fmt("schema version 0 -> %d\n", STORE_SCHEMA_VERSION);
    assert_int_equal(run_cli(f, 3, a1, &out, &err), 0);
    assert_string_equal(out, want);
    free(out), free(err), free(want);

    char *eq = tu_fmt("--db=%s", f->db);
    char *a2[] = {"migrate", eq};
    want = tu_fmt("schema version %d -> %d\n", STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
    assert_int_equal(run_cli(f, 2, a2, &out, &err), 0);
    assert_string_equal(out, want);
    free(out), free(err), free(eq), free(want);

    char *a3[] = {"migrate", "--bogus"};
    assert_int_equal(run_cli(f, 2, a3, &out, &err), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "usage: cpqd migrate"));
    free(out), free(err);

    char *a4[] = {"migrate", "--db"};
    assert_int_equal(run_cli(f, 2, a4, &out, &err), 2);
    free(out), free(err);

    char *newer = tu_fmt("INSERT INTO schema_version VALUES (%d, '2099-01-01T00:00:00Z')",
                         STORE_SCHEMA_VERSION + 1);
    raw_exec(f->db, newer);
    free(newer);
    assert_int_equal(run_cli(f, 3, a1, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "newer than this cpqd"));
    free(out), free(err);
}

/* Entries of directory path other than ".", ".." and those named in
 * keep (a NULL-terminated list). */
static size_t dir_entries_but(const char *path, const char *const *keep)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        bool skip = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (size_t i = 0; keep[i] && !skip; i++)
            skip = !strcmp(e->d_name, keep[i]);
        n += !skip;
    }
    closedir(d);
    return n;
}

/* A postgres:// or postgresql:// --db (any case) picks the PostgreSQL
 * backend: a server that cannot be reached is a clear error that never
 * shows the password (user info or a password= parameter), and nothing
 * is created (the URL was once taken for a file path: directories
 * "postgresql:/..." and a SQLite file appeared). */
static void test_store_postgres_url_unreachable(void **state)
{
    fx *f = *state;
    char *cwd = getcwd(NULL, 0);
    assert_non_null(cwd);
    assert_int_equal(chdir(f->dir), 0); /* where a relative path would land */
    /* port 1 on the loopback: refused at once */
    const char *urls[] = {"postgresql://cpqd:secret@127.0.0.1:1/cpqd",
                          "postgres://cpqd:secret@127.0.0.1:1/cpqd?sslmode=disable",
                          "PostgreSQL://cpqd@127.0.0.1:1/y?password=secret"};
    const char *shown[] = {"postgresql://cpqd:***@127.0.0.1:1/cpqd",
                           "postgres://cpqd:***@127.0.0.1:1/cpqd?sslmode=disable",
                           "PostgreSQL://cpqd@127.0.0.1:1/y?password=***"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        char *m = open_fails(urls[i], false, CPQD_EIO);
        char *want = tu_fmt("cannot connect to the database %s: ", shown[i]);
        if (!strstr(m, want))
            fail_msg("got: %s", m);
        assert_null(strstr(m, "secret"));
        free(m), free(want);
        int from = -1, to = -1;
        assert_int_equal(store_migrate(urls[i], &from, &to, NULL), CPQD_EIO);
    }
    char *out, *err;
    char *argv[] = {"migrate", "--db", (char *)urls[0]};
    assert_int_equal(run_cli(f, 3, argv, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "cannot connect to the database postgresql://cpqd:***@"));
    assert_null(strstr(err, "secret"));
    free(out), free(err);
    const char *const captures[] = {"stdout", "stderr", NULL};
    assert_int_equal(dir_entries_but(".", captures), 0);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
}

/* What a log may say of a --db value: a URL without its password. */
static void test_store_location_redact(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"var/cpqd.db", "var/cpqd.db"},
        {"/srv/a:b@c/cpqd.db", "/srv/a:b@c/cpqd.db"}, /* a path stays as it is */
        {"postgresql://u:p4ss@db.example:5432/cpqd", "postgresql://u:***@db.example:5432/cpqd"},
        {"postgres://u@h/cpqd", "postgres://u@h/cpqd"},
        {"postgres://h/cpqd", "postgres://h/cpqd"},
        {"postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"},
        {"postgresql://u:@h/d", "postgresql://u:***@h/d"},
        {"postgresql://h/d?user=u&password=p&sslmode=require",
         "postgresql://h/d?user=u&password=***&sslmode=require"},
        {"POSTGRESQL://u:pw@h1,h2/d?password=x", "POSTGRESQL://u:***@h1,h2/d?password=***"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(store_location_redact(cases[i][0], buf, sizeof(buf)), cases[i][1]);
    char tiny[12];
    assert_string_equal(store_location_redact("postgresql://u:pw@h/d", tiny, sizeof(tiny)),
                        "postgresql:");
    /* a short password= value grows to *** within the buffer */
    char small[20];
    assert_string_equal(store_location_redact("postgres://h/d?password=x", small, sizeof(small)),
                        "postgres://h/d?pass");
    assert_string_equal(store_location_redact("postgres://h/d?a=1&password=x#f", buf, sizeof(buf)),
                        "postgres://h/d?a=1&password=***#f");
    char full[39]; /* the redacted text is longer than the URL: it is cut, never overrun */
    assert_string_equal(
        store_location_redact("postgres://h/d?password=a&password=b", full, sizeof(full)),
        "postgres://h/d?password=***&password=*");
}

/* SQLite stays behind its driver (issue 12): no file of cpqd but
 * src/store_sqlite.c includes its header or calls its API. */
static void test_store_sqlite_only_in_its_driver(void **state)
{
    (void)state;
    /* the needles are put together here, so that this file does not
     * hold them */
    char inc_sys[32], inc_local[32], api[16];
    snprintf(inc_sys, sizeof(inc_sys), "<%s3.h>", "sqlite");
    snprintf(inc_local, sizeof(inc_local), "\"%s3.h\"", "sqlite");
    snprintf(api, sizeof(api), "%s3_", "sqlite");
    const char *dirs[] = {"src", "include/cpqd", "tests", "tests/bench", "tools"};
    char found[4096] = "";
    size_t files = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *dir = tu_fmt("%s/%s", tu_root(), dirs[i]);
        DIR *d = opendir(dir);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));) {
            size_t len = strlen(e->d_name);
            if (len < 3 || (strcmp(e->d_name + len - 2, ".c") && strcmp(e->d_name + len - 2, ".h")))
                continue;
            if (!strcmp(dirs[i], "src") && !strcmp(e->d_name, "store_sqlite.c"))
                continue; /* the driver */
            char *path = tu_fmt("%s/%s", dir, e->d_name);
            char *text = tu_read_file(path, NULL);
            assert_non_null(text);
            files++;
            if (strstr(text, inc_sys) || strstr(text, inc_local) || strstr(text, api)) {
                size_t used = strlen(found);
                snprintf(found + used, sizeof(found) - used, "%s/%s ", dirs[i], e->d_name);
            }
            free(text);
            free(path);
        }
        closedir(d);
        free(dir);
    }
    assert_true(files > 50); /* it did read the tree */
    assert_string_equal(found, "");
}

/* The debug API (tests and operators): one statement at a time, the rows
 * it changed, errors that say what failed, and the store goes on. */
static void test_store_debug_api(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    free(insert_one(st, "c1", 2026, NULL));
    int64_t n = -1;
    assert_int_equal(store_debug_exec(st, "UPDATE quotes SET updated_at = created_at", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_debug_int(st, "SELECT count(*) FROM quote_versions", &n), 0);
    assert_int_equal(n, 1);
    /* two statements are refused whole */
    assert_int_equal(
        store_debug_exec(st, "DELETE FROM quote_events; DELETE FROM quote_versions", &n),
        CPQD_EINVAL);
    assert_non_null(strstr(store_last_error(st), "one statement at a time"));
    assert_int_equal(n, 0);
    assert_int_equal(store_debug_int(st, "SELECT count(*) FROM quote_events", &n), 0);
    assert_int_equal(n, 1);
    /* a query without its row, a statement with one, and no statement */
    assert_int_equal(store_debug_int(st, "SELECT seq FROM quote_events WHERE seq > 1", &n),
                     CPQD_EIO);
    assert_string_equal(store_last_error(st), "debug: no row where one was expected");
    assert_int_equal(store_debug_exec(st, "SELECT 1", NULL), CPQD_EIO);
    assert_string_equal(store_last_error(st), "debug: a row where none was expected");
    assert_int_equal(store_debug_exec(st, "SELEKT 1", NULL), CPQD_EIO);
    assert_memory_equal(store_last_error(st), "debug: ", 7);
    assert_number(st, "c2", 2026, "Q-2026-000002");
    store_close(st);
}

static void test_store_schema_has_no_real_columns(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    bool lite = on_sqlite(st);
    store_close(st);
    assert_true(has_table(f->db, "quotes") && has_table(f->db, "quote_versions") &&
                has_table(f->db, "quote_events") && has_table(f->db, "quote_counters") &&
                has_table(f->db, "idempotency") && has_table(f->db, "schema_version"));
    if (!lite)
        return; /* the column types below are read from SQLite's catalog */
    /* every declared column type is one PostgreSQL shares, money is TEXT */
    long long bad =
        db_int(f->db, "SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) c"
                      " WHERE m.type = 'table'"
                      " AND c.type NOT IN ('TEXT', 'INTEGER', 'BIGINT')");
    assert_int_equal(bad, 0);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM sqlite_master m,"
                                   " pragma_table_info(m.name) c WHERE c.name = 'total'"
                                   " AND c.type = 'TEXT'"),
                     5); /* quotes, quote_versions, contracts, invoices, vouchers */
}

/* ---- transactions ---- */

static void test_store_transaction_misuse(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    assert_int_equal(store_commit(st), CPQD_EINVAL);
    store_rollback(st); /* no-op outside a transaction */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_begin(st), CPQD_EINVAL);
    assert_non_null(strstr(store_last_error(st), "already open"));
    assert_int_equal(store_commit(st), 0);
    store_close(st);
    store_close(NULL);
    store_rollback(NULL);
    store_quote_fini(NULL);
    store_idem_fini(NULL);
    store_event_fini(NULL);
}

/* ---- quotes ---- */

static void test_store_quote_numbers_per_year(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("c1");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    assert_int_equal(store_commit(st), 0);
    assert_string_equal(q.number, "Q-2026-000001");
    assert_int_equal(q.version, 1);
    assert_int_equal(strlen(q.id), 18);
    assert_memory_equal(q.id, "q_", 2);
    assert_int_equal(strspn(q.id + 2, "0123456789abcdef"), 16);
    assert_true(is_iso_utc(q.created_at));
    assert_string_equal(q.created_at, q.updated_at);
    insert_outputs_free(&q);

    assert_number(st, "c1", 2026, "Q-2026-000002");
    assert_number(st, "c2", 2025, "Q-2025-000001");
    assert_number(st, "c2", 2027, "Q-2027-000001");
    assert_number(st, "c3", 2026, "Q-2026-000003");
    assert_number(st, "c3", 2025, "Q-2025-000002");
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT last_seq FROM quote_counters WHERE year = 2026"), 3);
}

/* Ids are made in the order of time (store_ordered_id): 8 hex of the
 * clock's seconds, then 8 random; a batch of new quotes lands at the end
 * of the indexes on their ids. */
static void test_store_quote_ids_in_time_order(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    char *prev = NULL;
    for (int i = 0; i < 50; i++) {
        char *id = insert_one(st, "c1", 2026, NULL);
        assert_int_equal(strlen(id), 18);
        assert_int_equal(strspn(id + 2, "0123456789abcdef"), 16);
        if (prev) {
            assert_string_not_equal(id, prev);
            assert_true(memcmp(prev + 2, id + 2, 8) <= 0); /* seconds: never back */
        }
        free(prev);
        prev = id;
    }
    free(prev);
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT count(DISTINCT id) FROM quotes"), 50);
}

static void test_store_rolled_back_insert_keeps_number(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    assert_number(st, "c1", 2026, "Q-2026-000001");

    store_quote q = sample("c1");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    assert_string_equal(q.number, "Q-2026-000002");
    store_rollback(st);
    store_quote got;
    assert_int_equal(store_quote_get(st, q.id, 0, &got), CPQD_ENOTFOUND);
    insert_outputs_free(&q);

    assert_number(st, "c1", 2026, "Q-2026-000002"); /* given back, no gap */
    store_close(st);
}

static void test_store_failed_insert_inside_tx_undoes_itself(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    assert_int_equal(store_begin(st), 0);
    store_quote a = sample("c1"), b = sample("c2"), c = sample("c3");
    assert_int_equal(store_quote_insert(st, &a, 2026), 0);
    /* steps of an insert: SAVEPOINT, counter, head, version: fail the 4th */
    store_test_fail_step(st, 4);
    assert_int_equal(store_quote_insert(st, &b, 2026), CPQD_EIO);
    assert_null(b.id);
    assert_non_null(strstr(store_last_error(st), "quote version insert"));
    assert_int_equal(store_quote_insert(st, &c, 2026), 0);
    assert_string_equal(c.number, "Q-2026-000002");
    assert_int_equal(store_commit(st), 0);

    store_quote *items = NULL;
    size_t n = 0;
    store_quote_filter flt = {.limit = 10};
    assert_int_equal(store_quote_list(st, &flt, &items, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&items[i]);
    free(items);
    insert_outputs_free(&a);
    insert_outputs_free(&c);
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_versions"), 2);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_events"), 2);
}

static void test_store_failed_commit_writes_nothing(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("c1");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    store_test_fail_step(st, 1); /* the COMMIT */
    assert_int_equal(store_commit(st), CPQD_EIO);
    store_quote got;
    assert_int_equal(store_quote_get(st, q.id, 0, &got), CPQD_ENOTFOUND);
    insert_outputs_free(&q);
    assert_number(st, "c1", 2026, "Q-2026-000001");
    store_close(st);
}

static void test_store_write_outside_tx_commits_itself(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("c1");
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    store *other = open_ok(f->db);
    store_quote got;
    assert_int_equal(store_quote_get(other, q.id, 0, &got), 0);
    assert_string_equal(got.number, "Q-2026-000001");
    store_quote_fini(&got);
    /* an injected failure outside a transaction rolls the whole call back */
    store_quote r = sample("c2");
    store_test_fail_step(st, 5); /* the history entry */
    assert_int_equal(store_quote_insert(st, &r, 2026), CPQD_EIO);
    assert_int_equal(store_quote_insert(st, &r, 2026), 0);
    assert_string_equal(r.number, "Q-2026-000002");
    insert_outputs_free(&q);
    insert_outputs_free(&r);
    store_close(other);
    store_close(st);
}

static void test_store_quote_get_fields(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("c1");
    q.partner_id = "p_42";
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    store_quote got;
    assert_int_equal(store_quote_get(st, q.id, 0, &got), 0);
    assert_string_equal(got.id, q.id);
    assert_string_equal(got.number, "Q-2026-000001");
    assert_int_equal(got.version, 1);
    assert_string_equal(got.status, "draft");
    assert_string_equal(got.customer_id, "c1");
    assert_string_equal(got.partner_id, "p_42");
    assert_string_equal(got.currency, "CNY");
    assert_string_equal(got.total, "1180.00");
    assert_string_equal(got.catalog_version, "cat-3f2a");
    assert_string_equal(got.request, q.request);
    assert_string_equal(got.priced, q.priced);
    assert_string_equal(got.valid_until, "2026-12-31");
    assert_true(got.approval_required);
    assert_string_equal(got.approval_level, "manager");
    assert_string_equal(got.created_by, "key_sales");
    assert_string_equal(got.created_at, q.created_at);
    assert_string_equal(got.updated_at, q.updated_at);
    store_quote_fini(&got);
    assert_null(got.id);

    store_quote g1;
    assert_int_equal(store_quote_get(st, q.id, 1, &g1), 0);
    store_quote_fini(&g1);
    assert_int_equal(store_quote_get(st, q.id, 2, &g1), CPQD_ENOTFOUND);
    assert_int_equal(store_quote_get(st, "q_0000000000000000", 0, &g1), CPQD_ENOTFOUND);
    assert_int_equal(store_quote_get(st, q.id, -1, &g1), CPQD_EINVAL);
    assert_int_equal(store_quote_get(st, NULL, 0, &g1), CPQD_EINVAL);
    assert_int_equal(store_quote_get(st, "", 0, &g1), CPQD_EINVAL);

    /* optional fields absent */
    store_quote n = sample("c2");
    n.valid_until = NULL;
    n.approval_level = NULL;
    n.approval_required = false;
    assert_int_equal(store_quote_insert(st, &n, 2026), 0);
    assert_int_equal(store_quote_get(st, n.id, 0, &got), 0);
    assert_null(got.partner_id);
    assert_null(got.valid_until);
    assert_null(got.approval_level);
    assert_false(got.approval_required);
    store_quote_fini(&got);
    insert_outputs_free(&q);
    insert_outputs_free(&n);
    store_close(st);
}

static void test_store_add_version(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    char *id = insert_one(st, "c1", 2026, NULL);
    store_quote v1;
    assert_int_equal(store_quote_get(st, id, 0, &v1), 0);

    store_quote q = sample("c1-renamed");
    q.id = id;
    q.version = 2;
    q.status = "pending_approval";
    q.total = "999.99";
    q.request = "{\"lines\":[{\"sku\":\"A-1\",\"qty\":1}]}";
    q.created_by = "key_rep2";
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_add_version(st, &q), 0);
    assert_int_equal(store_commit(st), 0);
    assert_true(is_iso_utc(q.created_at));
    free(q.created_at), free(q.updated_at);

    store_quote latest, old;
    assert_int_equal(store_quote_get(st, id, 0, &latest), 0);
    assert_int_equal(latest.version, 2);
    assert_string_equal(latest.number, v1.number);
    assert_string_equal(latest.status, "pending_approval");
    assert_string_equal(latest.total, "999.99");
    assert_string_equal(latest.customer_id, "c1-renamed");
    assert_string_equal(latest.request, q.request);
    assert_string_equal(latest.created_by, "key_rep2");
    assert_int_equal(store_quote_get(st, id, 1, &old), 0);
    assert_same_quote(&old, &v1); /* version 1 is exactly as it was */
    store_quote_fini(&old);

    /* a stale or skipping version conflicts and changes nothing */
    size_t events = history_len(st, id);
    store_quote bad = q;
    bad.created_at = bad.updated_at = NULL;
    bad.total = "1.00";
    for (int v = 0; v < 3; v++) {
        bad.version = v == 0 ? 2 : v == 1 ? 4 : 1;
        assert_int_equal(store_quote_add_version(st, &bad), CPQD_ECONFLICT);
        assert_null(bad.created_at);
    }
    assert_non_null(strstr(store_last_error(st), "is at version 2"));
    store_quote again;
    assert_int_equal(store_quote_get(st, id, 0, &again), 0);
    assert_same_quote(&again, &latest);
    assert_int_equal(store_quote_get(st, id, 3, &old), CPQD_ENOTFOUND);
    assert_int_equal(history_len(st, id), events);
    store_quote_fini(&again);

    bad.id = "q_ffffffffffffffff";
    bad.version = 2;
    assert_int_equal(store_quote_add_version(st, &bad), CPQD_ENOTFOUND);
    bad.id = id;
    bad.version = 0;
    assert_int_equal(store_quote_add_version(st, &bad), CPQD_EINVAL);

    store_quote_fini(&latest);
    store_quote_fini(&v1);
    free(id);
    store_close(st);
}

static void test_store_set_status_and_history(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    char *id = insert_one(st, "c1", 2026, NULL);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_set_status(st, id, "draft", "sent", "key_rep", "emailed"), 0);
    assert_int_equal(store_commit(st), 0);

    store_quote got;
    assert_int_equal(store_quote_get(st, id, 0, &got), 0);
    assert_string_equal(got.status, "sent");
    assert_true(is_iso_utc(got.updated_at));
    store_quote_fini(&got);

    /* wrong `from`: conflict, nothing changed */
    assert_int_equal(store_quote_set_status(st, id, "draft", "accepted", "key_rep", NULL),
                     CPQD_ECONFLICT);
    assert_non_null(strstr(store_last_error(st), "is sent, not draft"));
    assert_int_equal(store_quote_get(st, id, 0, &got), 0);
    assert_string_equal(got.status, "sent");
    store_quote_fini(&got);
    assert_int_equal(history_len(st, id), 2);
    assert_int_equal(store_quote_set_status(st, "q_0123456789abcdef", "draft", "sent", "k", NULL),
                     CPQD_ENOTFOUND);

    /* a new version, then a move: version 1 keeps its status */
    store_quote q = sample("c1");
    q.id = id;
    q.version = 2;
    q.status = "draft";
    q.created_by = "key_rep2";
    assert_int_equal(store_quote_add_version(st, &q), 0);
    free(q.created_at), free(q.updated_at);
    assert_int_equal(store_quote_set_status(st, id, "draft", "accepted", "crm", NULL), 0);
    assert_int_equal(store_quote_get(st, id, 1, &got), 0);
    assert_string_equal(got.status, "sent");
    store_quote_fini(&got);
    assert_int_equal(store_quote_get(st, id, 2, &got), 0);
    assert_string_equal(got.status, "accepted");
    store_quote_fini(&got);

    store_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(store_quote_history(st, id, &ev, &n), 0);
    assert_int_equal(n, 4);
    assert_null(ev[0].from);
    assert_string_equal(ev[0].to, "draft");
    assert_string_equal(ev[0].actor, "key_sales");
    assert_int_equal(ev[0].version, 1);
    assert_string_equal(ev[1].from, "draft");
    assert_string_equal(ev[1].to, "sent");
    assert_string_equal(ev[1].actor, "key_rep");
    assert_string_equal(ev[1].note, "emailed");
    assert_int_equal(ev[1].version, 1);
    assert_string_equal(ev[2].from, "sent");
    assert_string_equal(ev[2].to, "draft");
    assert_string_equal(ev[2].actor, "key_rep2");
    assert_int_equal(ev[2].version, 2);
    assert_string_equal(ev[3].from, "draft");
    assert_string_equal(ev[3].to, "accepted");
    assert_null(ev[3].note);
    assert_int_equal(ev[3].version, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(is_iso_utc(ev[i].at));
        store_event_fini(&ev[i]);
    }
    free(ev);
    assert_int_equal(store_quote_history(st, "q_0123456789abcdef", &ev, &n), CPQD_ENOTFOUND);
    assert_null(ev);
    assert_int_equal(n, 0);
    free(id);
    store_close(st);
}

/* ---- list ---- */

/* Lists flt; *last (if given) gets the id of the last item (malloc'ed). */
static void list_last(store *st, const store_quote_filter *flt, size_t want_n,
                      const char *const *want_numbers, char **last)
{
    store_quote *items = NULL;
    size_t n = 99;
    assert_int_equal(store_quote_list(st, flt, &items, &n), 0);
    assert_int_equal(n, want_n);
    if (last)
        *last = n ? strdup(items[n - 1].id) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (want_numbers)
            assert_string_equal(items[i].number, want_numbers[i]);
        assert_null(items[i].request);
        assert_null(items[i].priced);
        assert_non_null(items[i].total);
        store_quote_fini(&items[i]);
    }
    free(items);
}

static void list(store *st, const store_quote_filter *flt, size_t want_n,
                 const char *const *want_numbers)
{
    list_last(st, flt, want_n, want_numbers, NULL);
}

static void test_store_list_filters_and_pages(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    /* seven quotes: customers, partners and statuses mixed */
    const char *cust[] = {"ACME_1", "ACMEx1", "beta", "beta", "gamma%", "acme_1", "delta"};
    char *ids[7];
    for (int i = 0; i < 7; i++) {
        store_quote q = sample(cust[i]);
        q.partner_id = i % 2 ? "p_1" : NULL;
        assert_int_equal(store_quote_insert(st, &q, i == 6 ? 2025 : 2026), 0);
        ids[i] = q.id;
        free(q.number), free(q.created_at), free(q.updated_at);
    }
    assert_int_equal(store_quote_set_status(st, ids[2], "draft", "sent", "k", NULL), 0);
    assert_int_equal(store_quote_set_status(st, ids[3], "draft", "sent", "k", NULL), 0);
    /* one creation second for all (the clock may tick during the inserts:
     * the order below would then follow it) */
    raw_exec(f->db, "UPDATE quotes SET created_at = '2026-11-26T08:41:14Z'");

    /* all, newest first: same second, so by year then number, descending */
    const char *all[] = {"Q-2026-000006", "Q-2026-000005", "Q-2026-000004", "Q-2026-000003",
                         "Q-2026-000002", "Q-2026-000001", "Q-2025-000001"};
    store_quote_filter flt = {.limit = 10};
    list(st, &flt, 7, all);
    /* pages of 3 by keyset: each goes on after the last of the one before */
    char *last = NULL, *last2 = NULL, *last3 = NULL;
    flt.limit = 3;
    list_last(st, &flt, 3, all, &last);
    flt.after = last;
    list_last(st, &flt, 3, all + 3, &last2);
    flt.after = last2;
    list_last(st, &flt, 1, all + 6, &last3);
    flt.after = last3;
    list(st, &flt, 0, NULL);
    /* an after that is no quote lists nothing */
    flt.after = "q_0000000000000000";
    list(st, &flt, 0, NULL);
    free(last), free(last2), free(last3);
    flt.after = NULL;

    store_quote_filter by_cust = {.customer = "beta", .limit = 10};
    const char *beta[] = {"Q-2026-000004", "Q-2026-000003"};
    list(st, &by_cust, 2, beta);
    store_quote_filter by_status = {.status = "sent", .limit = 10};
    list(st, &by_status, 2, beta);
    store_quote_filter by_partner = {.partner = "p_1", .limit = 10};
    const char *odd[] = {"Q-2026-000006", "Q-2026-000004", "Q-2026-000002"};
    list(st, &by_partner, 3, odd);
    store_quote_filter combo = {.status = "sent", .partner = "p_1", .limit = 10};
    list(st, &combo, 1, odd + 1);
    store_quote_filter none = {.customer = "nobody", .limit = 10};
    list(st, &none, 0, NULL);

    /* q: substring of number or customer, ASCII case-insensitive, with
     * LIKE's % and _ taken literally */
    store_quote_filter q = {.q = "acme_", .limit = 10};
    const char *acme_[] = {"Q-2026-000006", "Q-2026-000001"};
    list(st, &q, 2, acme_);
    q.q = "ACME";
    list(st, &q, 3, NULL);
    q.q = "%";
    const char *pct[] = {"Q-2026-000005"};
    list(st, &q, 1, pct);
    q.q = "2025-0";
    list(st, &q, 1, all + 6);
    q.q = "";
    list(st, &q, 7, all);

    /* creation time first: make the oldest quote the newest */
    store_close(st);
    char *sql =
        tu_fmt("UPDATE quotes SET created_at = '2099-01-01T00:00:00Z' WHERE id = '%s'", ids[6]);
    raw_exec(f->db, sql);
    free(sql);
    st = open_ok(f->db);
    const char *moved[] = {"Q-2025-000001", "Q-2026-000006"};
    flt.limit = 2;
    list(st, &flt, 2, moved);
    for (int i = 0; i < 7; i++)
        free(ids[i]);
    store_close(st);
}

static void test_store_list_bad_filter(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote *items = (store_quote *)1;
    size_t n = 5;
    store_quote_filter bad[] = {
        {.limit = 0},
        {.limit = STORE_PER_PAGE_MAX + 2},
        {.after = "", .limit = 10},
        {.customer = "", .limit = 10},
        {.q = "\xff", .limit = 10},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(store_quote_list(st, &bad[i], &items, &n), CPQD_EINVAL);
        assert_null(items);
        assert_int_equal(n, 0);
    }
    assert_int_equal(store_quote_list(st, NULL, &items, &n), CPQD_EINVAL);
    store_quote_filter max = {.limit = STORE_PER_PAGE_MAX + 1};
    assert_int_equal(store_quote_list(st, &max, &items, &n), 0);
    assert_int_equal(n, 0);
    store_close(st);
}

/* ---- idempotency ---- */

static store_idem idem_sample(void)
{
    store_idem x = {0};
    x.caller = "key_crm";
    x.key = "8e1f-retry-1";
    x.route = "POST /v1/quotes";
    x.body_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    x.status = 201;
    x.response = "{\"id\":\"q_0123456789abcdef\",\"number\":\"Q-2026-000001\"}";
    x.resource_id = "q_0123456789abcdef";
    return x;
}

static void test_store_idem_put_get_duplicate(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_idem in = idem_sample(), out;
    assert_int_equal(store_idem_get(st, in.caller, in.key, &out), CPQD_ENOTFOUND);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_idem_put(st, &in), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_idem_get(st, in.caller, in.key, &out), 0);
    assert_string_equal(out.caller, in.caller);
    assert_string_equal(out.key, in.key);
    assert_string_equal(out.route, in.route);
    assert_string_equal(out.body_hash, in.body_hash);
    assert_int_equal(out.status, 201);
    assert_string_equal(out.response, in.response);
    assert_string_equal(out.resource_id, in.resource_id);
    assert_true(is_iso_utc(out.created_at));
    store_idem_fini(&out);
    assert_null(out.caller);

    /* duplicate: conflict, first record intact */
    store_idem dup = in;
    dup.status = 500;
    dup.response = "{}";
    assert_int_equal(store_idem_put(st, &dup), CPQD_ECONFLICT);
    assert_int_equal(store_idem_get(st, in.caller, in.key, &out), 0);
    assert_int_equal(out.status, 201);
    assert_string_equal(out.response, in.response);
    store_idem_fini(&out);

    /* same key, another caller: a different record */
    store_idem other = in;
    other.caller = "key_portal";
    other.resource_id = NULL;
    other.response = "";
    other.status = 422;
    assert_int_equal(store_idem_put(st, &other), 0);
    assert_int_equal(store_idem_get(st, "key_portal", in.key, &out), 0);
    assert_null(out.resource_id);
    assert_string_equal(out.response, "");
    assert_int_equal(out.status, 422);
    store_idem_fini(&out);
    store_close(st);
}

/* A reply that holds a quote version's priced result references it: the
 * record stores the rest, and get gives the reply back byte for byte. A
 * reference outside the reply writes nothing. */
static void test_store_idem_references_priced(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("C-9");
    q.priced = "{\"total\":\"1180.00\",\"name\":\"电热水壶\"}";
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    char reply[512];
    int head = snprintf(reply, sizeof(reply), "{\"id\":\"%s\",\"priced\":", q.id);
    snprintf(reply + head, sizeof(reply) - (size_t)head, "%s,\"history\":[]}", q.priced);
    store_idem in = idem_sample();
    in.response = reply;
    in.resource_id = q.id;
    in.priced.quote = q.id;
    in.priced.version = 1;
    in.priced.at = (size_t)head;
    in.priced.len = strlen(q.priced);
    /* outside the reply, or no version: refused */
    store_idem bad = in;
    bad.priced.at = strlen(reply) - 3;
    assert_int_equal(store_idem_put(st, &bad), CPQD_EINVAL);
    bad = in;
    bad.priced.version = 0;
    assert_int_equal(store_idem_put(st, &bad), CPQD_EINVAL);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM idempotency"), 0);
    assert_int_equal(store_idem_put(st, &in), 0);
    store_idem out;
    assert_int_equal(store_idem_get(st, in.caller, in.key, &out), 0);
    assert_string_equal(out.response, reply);
    store_idem_fini(&out);
    /* stored without it (a short text: not packed) */
    assert_int_equal(db_int(f->db, "SELECT length(response) FROM idempotency"),
                     (long long)(strlen(reply) - strlen(q.priced)));
    /* a reference to a version that is not there: an error, never the
     * reply without its priced result */
    store_idem lost = in;
    lost.key = "lost-1";
    lost.priced.version = 9;
    assert_int_equal(store_idem_put(st, &lost), 0);
    assert_int_equal(store_idem_get(st, lost.caller, lost.key, &out), CPQD_EIO);
    assert_null(out.response);
    insert_outputs_free(&q);
    store_close(st);
}

/* A quote version whose stored priced result does not unpack (a damaged
 * database) fails the read of that quote alone, as CPQD_EINTERNAL with the
 * reason, never as the database's CPQD_EIO (which stops a batch such as
 * the sweep for everyone); the other quotes read, and the list, which
 * reads no priced result, shows both. */
static void test_store_quote_damaged_version_fails_alone(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    char *bad = insert_one(st, "C-BAD", 2026, NULL), *ok = insert_one(st, "C-OK", 2026, NULL);
    char *sql = tu_fmt("UPDATE quote_versions SET priced = '~z1~AAAA' WHERE quote_id = '%s'", bad);
    int64_t changed = 0;
    assert_int_equal(store_debug_exec(st, sql, &changed), 0);
    assert_int_equal(changed, 1);
    free(sql);
    store_quote q;
    assert_int_equal(store_quote_get(st, bad, 0, &q), CPQD_EINTERNAL);
    assert_null(q.id);
    assert_non_null(strstr(store_last_error(st), "priced result is damaged"));
    assert_non_null(strstr(store_last_error(st), bad));
    assert_int_equal(store_quote_get_head(st, bad, &q), 0); /* no bulk: it reads */
    assert_string_equal(q.customer_id, "C-BAD");
    store_quote_fini(&q);
    assert_int_equal(store_quote_get(st, ok, 0, &q), 0);
    assert_string_equal(q.priced, "{\"total\":\"1180.00\"}");
    store_quote_fini(&q);
    store_quote_filter lf = {.limit = 10};
    store_quote *v = NULL;
    size_t n = 0;
    assert_int_equal(store_quote_list(st, &lf, &v, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        store_quote_fini(&v[i]);
    free(v);
    free(bad), free(ok);
    store_close(st);
}

static void test_store_idem_bad_input_writes_nothing(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_idem b[8];
    for (int i = 0; i < 8; i++)
        b[i] = idem_sample();
    b[0].caller = NULL;
    b[1].key = "";
    b[2].route = NULL;
    b[3].body_hash = "";
    b[4].response = NULL;
    b[5].status = 42;
    b[6].resource_id = "";
    b[7].key = "bad\xc3\x28utf8";
    for (int i = 0; i < 8; i++)
        assert_int_equal(store_idem_put(st, &b[i]), CPQD_EINVAL);
    store_idem out;
    assert_int_equal(store_idem_get(st, NULL, "k", &out), CPQD_EINVAL);
    assert_int_equal(store_idem_get(st, "c", "", &out), CPQD_EINVAL);
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM idempotency"), 0);
}

/* ---- exact text ---- */

static void test_store_utf8_and_json_round_trip(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("上海某某科技有限公司");
    q.request = "{\"customer\":\"北京测试客户\",\"note\":\"line1\\nline2 \\\"q\\\" \\u00e9 😀\","
                "\"lines\":[ {\"sku\" : \"服务-01\",  \"qty\":3} ]}\n";
    q.priced = "{\"lines\":[{\"name\":\"安装服务\",\"total\":\"0.30\"}],\"total\":\"0.30\"}";
    q.approval_level = "区域经理";
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    store_quote got;
    assert_int_equal(store_quote_get(st, q.id, 0, &got), 0);
    assert_int_equal(strlen(got.customer_id), strlen(q.customer_id));
    assert_memory_equal(got.customer_id, q.customer_id, strlen(q.customer_id) + 1);
    assert_int_equal(strlen(got.request), strlen(q.request));
    assert_memory_equal(got.request, q.request, strlen(q.request) + 1);
    assert_memory_equal(got.priced, q.priced, strlen(q.priced) + 1);
    assert_string_equal(got.approval_level, "区域经理");
    store_quote_fini(&got);

    store_quote_filter flt = {.q = "某某科技", .limit = 10};
    list(st, &flt, 1, NULL);
    insert_outputs_free(&q);

    /* not UTF-8: refused, as PostgreSQL would */
    const char *bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80",
                         /* after runs of plain ASCII (read eight bytes at a time) */
                         "abcdefgh\xff", "abcdefghijklmno\xe4\xb8", "abcdefghijklmnop\xed\xa0\x80" "xyz",
                         "abcdefg\xc0\xaf" "abcdefgh"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        store_quote b = sample(bad[i]);
        assert_int_equal(store_quote_insert(st, &b, 2026), CPQD_EINVAL);
    }
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quotes"), 1);
}

static void test_store_money_text_exact(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    const char *totals[] = {"1234567890123.45",
                            "0.10",
                            "-5.00",
                            "00012.3400",
                            "99999999999999999999999999999999.0000000001",
                            "0"};
    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        store_quote q = sample("c1");
        q.total = (char *)totals[i];
        assert_int_equal(store_quote_insert(st, &q, 2026), 0);
        store_quote got;
        assert_int_equal(store_quote_get(st, q.id, 0, &got), 0);
        assert_string_equal(got.total, totals[i]);
        store_quote_fini(&got);
        insert_outputs_free(&q);
    }
    const char *bad[] = {"", "1e5", "12.", ".5", "1,50", "12.3.4", "+1", " 1", "NaN", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        store_quote q = sample("c1");
        q.total = (char *)bad[i];
        assert_int_equal(store_quote_insert(st, &q, 2026), CPQD_EINVAL);
    }
    bool lite = on_sqlite(st);
    store_close(st);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_versions"), 6);
    if (!lite)
        return;
    /* stored as text, never converted to a number (SQLite's columns have
     * affinities, not types) */
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quotes WHERE typeof(total) <> 'text'"), 0);
    assert_int_equal(
        db_int(f->db, "SELECT count(*) FROM quote_versions WHERE typeof(total) <> 'text'"), 0);
}

/* ---- bad input ---- */

static void test_store_bad_quote_input_writes_nothing(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    for (int i = 0; i < 14; i++) {
        store_quote q = sample("c1");
        switch (i) {
        case 0:
            q.status = NULL;
            break;
        case 1:
            q.customer_id = "";
            break;
        case 2:
            q.currency = NULL;
            break;
        case 3:
            q.total = NULL;
            break;
        case 4:
            q.catalog_version = "";
            break;
        case 5:
            q.request = NULL;
            break;
        case 6:
            q.priced = "";
            break;
        case 7:
            q.created_by = NULL;
            break;
        case 8:
            q.partner_id = "";
            break;
        case 9:
            q.approval_level = "";
            break;
        case 10:
            q.valid_until = "2026-02-30";
            break;
        case 11:
            q.valid_until = "31.12.2026";
            break;
        case 12:
            q.status = "";
            break;
        default:
            q.customer_id = NULL;
            break;
        }
        assert_int_equal(store_quote_insert(st, &q, 2026), CPQD_EINVAL);
        assert_null(q.id);
        assert_null(q.number);
    }
    store_quote q = sample("c1");
    assert_int_equal(store_quote_insert(st, &q, 99), CPQD_EINVAL);
    assert_int_equal(store_quote_insert(st, &q, 10000), CPQD_EINVAL);

    /* inside a transaction too, which stays usable */
    assert_int_equal(store_begin(st), 0);
    q.total = "abc";
    assert_int_equal(store_quote_insert(st, &q, 2026), CPQD_EINVAL);
    assert_int_equal(store_quote_set_status(st, NULL, "draft", "sent", "k", NULL), CPQD_EINVAL);
    assert_int_equal(store_quote_set_status(st, "q_1", "", "sent", "k", NULL), CPQD_EINVAL);
    assert_int_equal(store_quote_set_status(st, "q_1", "draft", NULL, "k", NULL), CPQD_EINVAL);
    assert_int_equal(store_quote_set_status(st, "q_1", "draft", "sent", NULL, NULL), CPQD_EINVAL);
    assert_int_equal(store_quote_set_status(st, "q_1", "draft", "sent", "k", ""), CPQD_EINVAL);
    store_quote v = sample("c1");
    v.id = NULL;
    v.version = 2;
    assert_int_equal(store_quote_add_version(st, &v), CPQD_EINVAL);
    v.id = "q_1";
    v.request = NULL;
    assert_int_equal(store_quote_add_version(st, &v), CPQD_EINVAL);
    assert_int_equal(store_commit(st), 0);
    store_close(st);

    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quotes"), 0);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_versions"), 0);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_events"), 0);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quote_counters"), 0);
}

/* ---- durability ---- */

static void test_store_durable_after_kill9(void **state)
{
    fx *f = *state;
    store_close(open_ok(f->db)); /* created before the fork, closed */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        store *st = NULL;
        store_quote q = sample("durable-customer");
        q.total = "4321.09";
        if (store_open(f->db, false, &st, NULL) != 0 || store_begin(st) != 0 ||
            store_quote_insert(st, &q, 2026) != 0 || store_commit(st) != 0)
            _exit(3);
        dprintf(p[1], "done %s\n", q.id);
        for (;;)
            pause(); /* killed here, the connection still open */
    }
    close(p[1]);
    char buf[64] = {0};
    size_t got = 0;
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (got < sizeof(buf) - 1 && !strchr(buf, '\n') && tu_now_ms() < deadline) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(p[0]);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_memory_equal(buf, "done q_", 7);
    char id[19];
    memcpy(id, buf + 5, 18);
    id[18] = '\0';

    store *st = open_ok(f->db);
    store_quote got_q;
    assert_int_equal(store_quote_get(st, id, 0, &got_q), 0);
    assert_string_equal(got_q.customer_id, "durable-customer");
    assert_string_equal(got_q.total, "4321.09");
    assert_string_equal(got_q.number, "Q-2026-000001");
    store_quote_fini(&got_q);
    assert_int_equal(history_len(st, id), 1);
    assert_number(st, "after", 2026, "Q-2026-000002");
    store_close(st);
}

/* ---- concurrency ---- */

#define WRITERS 2
#define PER_WRITER 200

typedef struct writer {
    const char *db;
    int failures;              /* checked on the main thread */
    char *numbers[PER_WRITER]; /* malloc'ed */
} writer;

static void *writer_run(void *arg)
{
    writer *w = arg;
    store *st = NULL;
    if (store_open(w->db, false, &st, NULL) != 0) {
        w->failures = PER_WRITER;
        return NULL;
    }
    for (int i = 0; i < PER_WRITER; i++) {
        store_quote q = sample("concurrent");
        if (store_begin(st) != 0 || store_quote_insert(st, &q, 2026) != 0 ||
            store_commit(st) != 0) {
            store_rollback(st);
            w->failures++;
            continue;
        }
        w->numbers[i] = q.number;
        free(q.id), free(q.created_at), free(q.updated_at);
    }
    store_close(st);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_store_concurrent_writers_gap_free(void **state)
{
    fx *f = *state;
    store_close(open_ok(f->db));
    writer w[WRITERS] = {{0}};
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i].db = f->db;
        assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    char *all[WRITERS * PER_WRITER];
    size_t n = 0;
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(w[i].failures, 0);
        for (int j = 0; j < PER_WRITER; j++)
            all[n++] = w[i].numbers[j];
    }
    qsort(all, n, sizeof(all[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "Q-2026-%06zu", i + 1);
        assert_string_equal(all[i], want);
        free(all[i]);
    }
    assert_int_equal(db_int(f->db, "SELECT count(DISTINCT id) FROM quotes"), 400);
    assert_int_equal(db_int(f->db, "SELECT last_seq FROM quote_counters WHERE year = 2026"), 400);
}

/* ---- several connections, backends ---- */

/* The tests run on the backend they were asked for: a PostgreSQL server
 * given in CPQD_TEST_DB_URL is used, never silently replaced by SQLite. */
static void test_store_backend_is_the_one_asked_for(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_info info;
    assert_int_equal(store_info_get(st, &info), 0);
    assert_string_equal(info.backend, tu_db_server() ? "postgresql" : "sqlite");
    if (tu_db_server()) {
        assert_string_equal(info.journal_mode, "wal");
        assert_int_equal(info.busy_timeout_ms, STORE_BUSY_TIMEOUT_MS);
        assert_true(info.foreign_keys);
    }
    store_close(st);
}

#define MIGRATORS 4

static void *migrator_run(void *arg)
{
    const char *db = arg;
    int from = -1, to = -1;
    intptr_t rc = store_migrate(db, &from, &to, NULL);
    return (void *)rc;
}

/* Instances starting at once on a new database: each migration step is
 * applied once (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory write
 * lock), and every one of them finds the current schema. */
static void test_store_concurrent_migrations(void **state)
{
    fx *f = *state;
    pthread_t t[MIGRATORS];
    for (int i = 0; i < MIGRATORS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, migrator_run, f->db), 0);
    for (int i = 0; i < MIGRATORS; i++) {
        void *rc = NULL;
        pthread_join(t[i], &rc);
        assert_int_equal((intptr_t)rc, 0);
    }
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
    store *st = open_ok(f->db);
    assert_number(st, "c1", 2026, "Q-2026-000001");
    store_close(st);
}

/* A statement that fails inside the caller's transaction, outside any
 * write scope: PostgreSQL then aborts the whole transaction, SQLite only
 * the statement. Either way store_commit tells the truth: it reports
 * success exactly when the earlier write is there. */
static void test_store_commit_after_failed_statement(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    store_quote q = sample("c1");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    /* last_seq > 0 is a CHECK constraint */
    assert_int_equal(store_debug_exec(st, "INSERT INTO quote_counters VALUES (1999, 0)", NULL),
                     CPQD_EINVAL);
    int rc = store_commit(st);
    if (rc != 0 && !strstr(store_last_error(st), "rolled back"))
        fail_msg("got: %s", store_last_error(st));
    store_quote got;
    int found = store_quote_get(st, q.id, 0, &got);
    if (found == 0)
        store_quote_fini(&got);
    assert_int_equal(rc, on_sqlite(st) ? 0 : CPQD_EIO);
    assert_int_equal(found, rc == 0 ? 0 : CPQD_ENOTFOUND);
    insert_outputs_free(&q);
    /* the handle goes on */
    assert_number(st, "c2", 2026, rc == 0 ? "Q-2026-000002" : "Q-2026-000001");
    store_close(st);
}

/* Ends every other connection to the database at loc (PostgreSQL) and
 * waits until they are gone. */
static void kill_other_connections(const char *loc)
{
    store *st = raw_open(loc);
    int64_t n = 0;
    assert_int_equal(store_debug_int(st,
                                     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                     " WHERE datname = current_database()"
                                     " AND pid <> pg_backend_pid()",
                                     &n),
                     0);
    assert_true(n >= 1);
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    do {
        assert_int_equal(store_debug_int(st,
                                         "SELECT count(*) FROM pg_stat_activity"
                                         " WHERE datname = current_database()"
                                         " AND pid <> pg_backend_pid()",
                                         &n),
                         0);
        if (n > 0)
            tu_sleep_ms(10);
    } while (n > 0 && tu_now_ms() < deadline);
    assert_int_equal(n, 0);
    store_close(st);
}

/* PostgreSQL: a connection the server dropped (a restart, a failover, an
 * operator) is made again at the next call that holds no transaction,
 * its statements prepared again; inside a transaction the loss is an
 * error, and the transaction's writes are gone, never half-committed. */
static void test_store_reconnects_after_connection_loss(void **state)
{
    fx *f = *state;
    store *st = open_ok(f->db);
    if (on_sqlite(st)) {
        store_close(st); /* SQLite has no connection to lose */
        return;
    }
    assert_number(st, "c1", 2026, "Q-2026-000001"); /* statements prepared */
    kill_other_connections(f->db);
    assert_number(st, "c2", 2026, "Q-2026-000002"); /* BEGIN connects again */

    char *id = insert_one(st, "c3", 2026, NULL);
    kill_other_connections(f->db);
    store_quote got;
    assert_int_equal(store_quote_get(st, id, 0, &got), 0); /* a read, outside a transaction */
    assert_string_equal(got.number, "Q-2026-000003");
    store_quote_fini(&got);

    store_quote q = sample("lost");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_quote_insert(st, &q, 2026), 0);
    kill_other_connections(f->db);
    store_quote r = sample("after");
    assert_int_equal(store_quote_insert(st, &r, 2026), CPQD_EIO);
    if (!strstr(store_last_error(st), "lost"))
        fail_msg("got: %s", store_last_error(st));
    assert_int_equal(store_commit(st), CPQD_EIO);
    assert_int_equal(store_quote_get(st, q.id, 0, &got), CPQD_ENOTFOUND);
    insert_outputs_free(&q);
    assert_number(st, "c4", 2026, "Q-2026-000004");
    free(id);
    store_close(st);
}

/* ---- moving a store (cpqd migrate --from) ---- */

/* One row or more in every table, in SQLite's dialect: NULLs, UTF-8,
 * quotes, newlines, integers. 25 rows. */
static const char *const move_rows[] = {
    "INSERT INTO quote_counters VALUES (2026, 3)",
    "INSERT INTO quotes VALUES ('q_1', 'Q-2026-000001', 2026, 1, 1, 'draft', '上海客户', NULL,"
    " 'CNY', '1180.00', 'k', '2026-11-26T08:41:14Z', '2026-11-26T08:41:14Z')",
    "INSERT INTO quotes VALUES ('q_2', 'Q-2026-000003', 2026, 3, 2, 'accepted', 'c \"2\"', 'P-1',"
    " 'JPY', '5', 'k', '2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z')",
    "INSERT INTO quote_versions VALUES ('q_1', 1, 'draft', '上海客户', NULL, 'CNY', '1180.00',"
    " 'cat-1', '{\"note\":\"line1\nline2\"}', '{}', NULL, 0, NULL, 'k', '2026-11-26T08:41:14Z',"
    " '2026-11-26T08:41:14Z')",
    "INSERT INTO quote_versions VALUES ('q_2', 1, 'sent', 'c \"2\"', 'P-1', 'JPY', '7', 'cat-1',"
    " '{}', '{}', '2026-12-31', 0, NULL, 'k', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z')",
    "INSERT INTO quote_versions VALUES ('q_2', 2, 'accepted', 'c \"2\"', 'P-1', 'JPY', '5',"
    " 'cat-1', '{}', '{\"total\":\"5\"}', '2026-12-31', 1, 'manager', 'k2',"
    " '2026-11-28T00:00:00Z', '2026-11-28T00:00:00Z')",
    "INSERT INTO quote_events VALUES ('q_1', 1, 1, NULL, 'draft', 'k', NULL,"
    " '2026-11-26T08:41:14Z')",
    "INSERT INTO quote_events VALUES ('q_2', 1, 1, NULL, 'sent', 'k', 'it''s \"quoted\"',"
    " '2026-11-27T00:00:00Z')",
    "INSERT INTO idempotency VALUES ('k', 'key-1', 'POST /v1/quotes', 'ab12', 201,"
    " '{\"id\":\"q_1\"}', 'q_1', '2026-11-26T08:41:14Z', '\"00ff00ff00ff00ff\"', 'q_2', 2, 7)",
    "INSERT INTO catalog_archives VALUES ('cat-1', 'catalogs', 'rules', '2026-11-26T08:41:14Z')",
    "INSERT INTO catalog_files VALUES ('cat-1', 'catalog', 'a.yaml', 'name: 电热水壶\n')",
    "INSERT INTO catalog_files VALUES ('cat-1', 'rule', 'x/r.lua', 'return 1\n')",
    "INSERT INTO outbox_counter VALUES (1, 2)",
    "INSERT INTO outbox VALUES (1, 'ev_1', 'quote.created', 'quote', 'q_1', 'quote:q_1', '{}',"
    " '{\"id\":\"ev_1\"}', '2026-11-26T08:41:14Z', 'delivered', 1,"
    " '2026-11-26T08:41:14.000Z', NULL, '2026-11-26T08:41:15Z', NULL, NULL, NULL)",
    "INSERT INTO outbox VALUES (2, 'ev_2', 'quote.created', 'quote', 'q_2', 'quote:q_2', '{}',"
    " '{\"id\":\"ev_2\"}', '2026-11-27T00:00:00Z', 'pending', 3, '2026-11-27T00:05:00.000Z',"
    " 'HTTP 503', NULL, NULL, NULL, NULL)",
    "INSERT INTO contract_counters VALUES (2026, 1)",
    "INSERT INTO contracts VALUES ('k_1', 'C-2026-000001', 2026, 1, 'q_2', 2, 'c \"2\"', 'P-1',"
    " 'JPY', '5', '2026-12-01', '2026-12-01', 'cat-1', '{}', 'k', '2026-12-01T00:00:00Z')",
    "INSERT INTO receivables VALUES ('r_1', 'k_1', 'L1', 0, 'oneoff', 0, 0, 0, NULL, NULL,"
    " '2026-12-31', NULL, NULL, NULL, NULL, '5', 1, 'goods', '2')",
    "INSERT INTO payments VALUES ('p_1', 'r_1', 'pay-1', '2', '2026-12-05',"
    " '2026-12-05T00:00:00Z')",
    "INSERT INTO receivable_warnings VALUES ('r_1', 'due_soon', '2026-12-24T00:00:00Z')",
    "INSERT INTO contract_line_events VALUES ('k_1', 0, 'delivered', '', '2026-12-02', 'k',"
    " '2026-12-02T00:00:00Z')",
    "INSERT INTO usage_records VALUES ('k_1', 'u-1', 0, 0, '12.5', '2026-12-03', 'k',"
    " '2026-12-03T00:00:00Z')",
    "INSERT INTO contract_line_changes VALUES ('k_1', 'seats', 'ch-1', 0, 0, 1, '2026-12-10',"
    " '3', '2', '10', '5', 'api', 'k', '2026-12-10T00:00:00Z')",
    "INSERT INTO promotion_usage VALUES ('d11', '*', 2, '360.00')",
    "INSERT INTO stock VALUES ('SKU-1', 'SZ', '12.5', 3, '2026-12-01T00:00:00Z', 'k')",
};

/* A SQLite store at dir/name.db holding move_rows (malloc'ed path). */
static char *move_source(const fx *f, const char *name)
{
    char *src = tu_fmt("%s/%s.db", f->dir, name);
    store_close(open_ok(src));
    store *st = raw_open(src);
    for (size_t i = 0; i < sizeof(move_rows) / sizeof(move_rows[0]); i++)
        if (store_debug_exec(st, move_rows[i], NULL) != 0)
            fail_msg("%s: %s", move_rows[i], store_last_error(st));
    store_close(st);
    return src;
}

typedef struct moved {
    size_t tables;
    int64_t rows;
    char seen[2048];
} moved;

static void move_seen(void *ctx, const char *table, int64_t rows, const char *checksum)
{
    moved *m = ctx;
    size_t used = strlen(m->seen);
    m->tables++;
    m->rows += rows;
    assert_int_equal(strlen(checksum), 64);
    snprintf(m->seen + used, sizeof(m->seen) - used, "%s=%lld ", table, (long long)rows);
}

/* Moves src into loc expecting failure code; returns the first error. */
static char *move_fails(const char *src, const char *loc, int code)
{
    cpqd_errs *e = errs_new();
    moved m = {0};
    assert_int_equal(store_move(src, loc, move_seen, &m, e), code);
    assert_int_equal(m.tables, 0); /* nothing reported */
    assert_true(errs_count(e) >= 1);
    char *msg = errs_format(e, 0);
    errs_free(e);
    return msg;
}

/* Every table and column of the schema is in the list a move copies. */
static void test_store_move_covers_the_schema(void **state)
{
    fx *f = *state;
    char *src = tu_fmt("%s/schema.db", f->dir);
    store_close(open_ok(src));
    long long cols = 0;
    for (size_t i = 0; i < store_table_count; i++) {
        const char *c = store_tables[i].cols;
        for (cols++; *c; c++)
            cols += *c == ',';
    }
    assert_int_equal(db_int(src, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                 " AND name <> 'schema_version'"),
                     (long long)store_table_count);
    assert_int_equal(db_int(src, "SELECT count(*) FROM sqlite_master m,"
                                 " pragma_table_info(m.name) c WHERE m.type = 'table'"
                                 " AND m.name <> 'schema_version'"),
                     cols);
    free(src);
}

/* A SQLite store moved into a new database (SQLite, or PostgreSQL in the
 * PostgreSQL half): every row, byte for byte, verified, and the store
 * goes on from there (numbers, the outbox cursor). */
static void test_store_move_copies_every_table(void **state)
{
    fx *f = *state;
    char *src = move_source(f, "src");
    cpqd_errs *e = errs_new();
    moved m = {0};
    int rc = store_move(src, f->db, move_seen, &m, e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *msg = errs_format(e, i);
        fprintf(stderr, "unexpected: %s\n", msg);
        free(msg);
    }
    assert_int_equal(rc, 0);
    errs_free(e);
    assert_int_equal(m.tables, 32);
    assert_int_equal(m.rows, 25);
    assert_non_null(strstr(m.seen, "quote_versions=3 quote_events=2 "));
    assert_non_null(strstr(m.seen, "promotion_usage=1 sweep_failures=0 "));
    assert_non_null(strstr(m.seen, " stock=1 "));

    store *st = open_ok(f->db);
    store_quote got;
    assert_int_equal(store_quote_get(st, "q_2", 2, &got), 0);
    assert_string_equal(got.number, "Q-2026-000003");
    assert_string_equal(got.customer_id, "c \"2\"");
    assert_string_equal(got.priced, "{\"total\":\"5\"}");
    assert_string_equal(got.approval_level, "manager");
    assert_true(got.approval_required);
    store_quote_fini(&got);
    assert_int_equal(store_quote_get(st, "q_1", 0, &got), 0);
    assert_string_equal(got.customer_id, "上海客户");
    assert_string_equal(got.request, "{\"note\":\"line1\nline2\"}");
    assert_null(got.partner_id);
    assert_null(got.valid_until);
    store_quote_fini(&got);
    arch_seen seen = {0};
    assert_int_equal(store_archive_files(st, "cat-1", arch_collect, &seen), 0);
    assert_string_equal(seen.buf, "catalog:a.yaml=name: 电热水壶\n;rule:x/r.lua=return 1\n;");
    int64_t uses = 0;
    char *spent = NULL;
    assert_int_equal(store_promo_usage(st, "d11", "*", &uses, &spent), 0);
    assert_int_equal(uses, 2);
    assert_string_equal(spent, "360.00");
    free(spent);
    assert_number(st, "next", 2026, "Q-2026-000004");
    store_outbox_new ev = {.type = "quote.created", .resource_kind = "quote", .resource_id = "q_1",
                           .order_key = "quote:q_1", .payload = "{}"};
    int64_t seq = 0;
    assert_int_equal(store_outbox_add(st, &ev, NULL, &seq), 0);
    assert_int_equal(seq, 3);
    store_close(st);
    /* the source is only read */
    assert_int_equal(db_int(src, "SELECT count(*) FROM quotes"), 2);
    free(src);
}

/* What a move refuses, changing nothing: a destination holding records,
 * a source that is missing, not a cpqd store, or at another schema
 * version; a row the destination refuses (an orphan) undoes the whole
 * copy. */
static void test_store_move_refusals_change_nothing(void **state)
{
    fx *f = *state;
    char *src = move_source(f, "src");
    store *st = open_ok(f->db);
    assert_number(st, "there", 2026, "Q-2026-000001");
    store_close(st);
    char *m = move_fails(src, f->db, CPQD_EINVAL);
    assert_non_null(strstr(m, "is not empty (table quote_counters holds 1 rows)"));
    free(m);
    assert_int_equal(db_int(f->db, "SELECT count(*) FROM quotes"), 1);

    char *missing = tu_fmt("%s/none/missing.db", f->dir);
    m = move_fails(missing, f->db, CPQD_EINVAL);
    assert_non_null(strstr(m, "No such file"));
    free(m);
    struct stat sb;
    assert_int_not_equal(stat(missing, &sb), 0); /* not created */
    free(missing);

    char *foreign = tu_fmt("%s/foreign.db", f->dir);
    raw_exec(foreign, "CREATE TABLE t (x INTEGER)");
    m = move_fails(foreign, f->db, CPQD_EINVAL);
    assert_non_null(strstr(m, "is not a cpqd database"));
    free(m);
    free(foreign);

    raw_exec(src, "INSERT INTO schema_version VALUES (99, '2099-01-01T00:00:00Z')");
    m = move_fails(src, f->db, CPQD_EINVAL);
    assert_non_null(strstr(m, "has schema version 99"));
    free(m);

    /* an orphan history entry (foreign keys off while writing it) */
    char *orphan = move_source(f, "orphan");
    store *o = raw_open(orphan);
    assert_int_equal(store_debug_exec(o, "PRAGMA foreign_keys = OFF", NULL), 0);
    assert_int_equal(store_debug_exec(o, "INSERT INTO quote_events VALUES ('q_gone', 1, 1, NULL,"
                                         " 'draft', 'k', NULL, '2026-11-26T08:41:14Z')",
                                      NULL),
                     0);
    store_close(o);
    char *fresh = tu_db_location(f->dir, "fresh");
    m = move_fails(orphan, fresh, CPQD_EINVAL);
    assert_non_null(strstr(m, "table quote_events: insert: "));
    free(m);
    for (size_t i = 0; i < store_table_count; i++) {
        char *sql = tu_fmt("SELECT count(*) FROM %s", store_tables[i].name);
        assert_int_equal(db_int(fresh, sql), 0);
        free(sql);
    }
    tu_db_drop(fresh);
    free(orphan);
    free(src);
}

/* `cpqd migrate --from PATH --db LOCATION`: one line per table, a
 * summary, the password of a URL never printed. */
static void test_store_cli_migrate_from(void **state)
{
    fx *f = *state;
    char *src = move_source(f, "src");
    char *out, *err;
    char *argv[] = {"migrate", "--from", src, "--db", f->db};
    assert_int_equal(run_cli(f, 5, argv, &out, &err), 0);
    assert_string_equal(err, "");
    assert_non_null(strstr(out, "quote_counters: 1 rows, sha256 "));
    assert_non_null(strstr(out, "\ncontract_line_changes: 1 rows, sha256 "));
    assert_non_null(strstr(out, "\nmoved 25 rows in 32 tables from "));
    assert_non_null(strstr(out, "counts and checksums verified\n"));
    char pw[256];
    if (store_location_password(f->db, pw, sizeof(pw)) && *pw)
        assert_null(strstr(out, pw));
    /* the checksum of a table is SHA-256 over its rows' columns, each
     * "T<bytes>:<text>" (or "N"): the same on every backend. Computed by
     * hand (sha256sum): printf 'T4:2026T1:3' and 'T3:d11T1:*T1:2T6:360.00' */
    assert_non_null(strstr(out, "quote_counters: 1 rows, sha256 "
                                "30b68ffbdbc498731137be0658d6a0503011900246783283cb36c701db22ca0e"));
    assert_non_null(strstr(out, "promotion_usage: 1 rows, sha256 "
                                "a1736fd8f6769b49aa36fc3e8aa4b068dd7303a9198edb9cd98b263e9e8ace60"));
    free(out), free(err);
    /* a second move into the same database is refused */
    assert_int_equal(run_cli(f, 5, argv, &out, &err), 1);
    assert_non_null(strstr(err, "is not empty"));
    free(out), free(err);
    char *bad[] = {"migrate", "--from"};
    assert_int_equal(run_cli(f, 2, bad, &out, &err), 2);
    assert_non_null(strstr(err, "usage: cpqd migrate [--db PATH|URL] [--from PATH]"));
    free(out), free(err);
    free(src);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_store_open_creates_dir_and_file),
        T(test_store_pragmas_in_effect),
        T(test_store_schema_version_recorded),
        T(test_store_older_schema_needs_migrate),
        T(test_store_open_with_migrate_flag),
        T(test_store_catalog_archive),
        T(test_store_promotion_usage),
        T(test_store_newer_schema_refused),
        T(test_store_foreign_file_refused),
        T(test_store_cli_migrate),
        T(test_store_postgres_url_unreachable),
        T(test_store_location_redact),
        T(test_store_sqlite_only_in_its_driver),
        T(test_store_debug_api),
        T(test_store_schema_has_no_real_columns),
        T(test_store_transaction_misuse),
        T(test_store_quote_numbers_per_year),
        T(test_store_quote_ids_in_time_order),
        T(test_store_rolled_back_insert_keeps_number),
        T(test_store_failed_insert_inside_tx_undoes_itself),
        T(test_store_failed_commit_writes_nothing),
        T(test_store_write_outside_tx_commits_itself),
        T(test_store_quote_get_fields),
        T(test_store_add_version),
        T(test_store_set_status_and_history),
        T(test_store_list_filters_and_pages),
        T(test_store_list_bad_filter),
        T(test_store_idem_put_get_duplicate),
        T(test_store_idem_references_priced),
        T(test_store_quote_damaged_version_fails_alone),
        T(test_store_idem_bad_input_writes_nothing),
        T(test_store_utf8_and_json_round_trip),
        T(test_store_money_text_exact),
        T(test_store_bad_quote_input_writes_nothing),
        T(test_store_durable_after_kill9),
        T(test_store_concurrent_writers_gap_free),
        T(test_store_backend_is_the_one_asked_for),
        T(test_store_concurrent_migrations),
        T(test_store_commit_after_failed_statement),
        T(test_store_reconnects_after_connection_loss),
        T(test_store_move_covers_the_schema),
        T(test_store_move_copies_every_table),
        T(test_store_move_refusals_change_nothing),
        T(test_store_cli_migrate_from),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
