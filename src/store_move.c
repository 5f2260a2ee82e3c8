/*
 * store_move: moving every record of one store into another, whatever
 * their backends (`cpqd migrate --from PATH --db URL`: SQLite to
 * PostgreSQL).
 *
 * Owns: which stores may be moved (the source at the current schema, the
 * destination new or empty), the copy in primary-key order, and its
 * proof: per table a row count and a SHA-256 over the rows, computed on
 * what was read from the source and again on what the destination holds.
 * Does not own: the tables and their columns (store_tables in
 * store_sql.c), the backends (their drivers).
 *
 * Invariant: the source is only read, in one read snapshot; the
 * destination is written in one transaction that commits only when every
 * table read back agrees with the source, so a failed or interrupted move
 * leaves the destination as it was (empty).
 *
 * The checksum of a table hashes, row after row in primary-key order,
 * each column as "N" (NULL) or "T<bytes>:" followed by its text; both
 * backends give integers as decimal text and order keys by bytes
 * (PostgreSQL: collation C, which its driver requires).
 */
#include "store_int.h"

#include "cpqd/digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct move_sum {
    int64_t rows;
    char hex[DIGEST_SHA256_HEX_LEN];
} move_sum;

static int columns_of(const char *cols)
{
    int n = 1;
    for (; *cols; cols++)
        n += *cols == ',';
    return n;
}

/* Adds the current row of s (n columns) to the checksum. */
static int hash_row(digest_sha256_ctx *h, store_stmt *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (store_col_null(s, i)) {
            if (digest_sha256_add(h, "N", 1) != 0)
                return CPQD_ENOMEM;
            continue;
        }
        size_t len = 0;
        const char *t = store_col_text(s, i, &len);
        if (!t)
            return CPQD_ENOMEM;
        char head[32];
        int k = snprintf(head, sizeof(head), "T%zu:", len);
        if (digest_sha256_add(h, head, (size_t)k) != 0 || digest_sha256_add(h, t, len) != 0)
            return CPQD_ENOMEM;
    }
    return 0;
}

/* "SELECT cols FROM t ORDER BY key" (malloc'ed, or NULL). */
static char *select_sql(const store_table *t)
{
    char *sql = NULL;
    return asprintf(&sql, "SELECT %s FROM %s ORDER BY %s", t->cols, t->name, t->key) < 0 ? NULL
                                                                                         : sql;
}

/* "INSERT INTO t (cols) VALUES ($1, ..., $n)" (malloc'ed, or NULL). */
static char *insert_sql(const store_table *t, int n)
{
    size_t cap = strlen(t->name) + strlen(t->cols) + 64 + (size_t)n * 8;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t len = (size_t)snprintf(sql, cap, "INSERT INTO %s (%s) VALUES (", t->name, t->cols);
    for (int i = 1; i <= n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s$%d", i > 1 ? ", " : "", i);
    snprintf(sql + len, cap - len, ")");
    return sql;
}

/* Copies table t from src to dst, row by row, into *sum. */
static int copy_table(store *src, store *dst, const store_table *t, move_sum *sum, cpqd_errs *errs)
{
    int n = columns_of(t->cols);
    char *sel = select_sql(t), *ins = insert_sql(t, n);
    store_stmt *s = NULL, *d = NULL;
    digest_sha256_ctx *h = digest_sha256_new();
    int rc = sel && ins && h ? 0 : CPQD_ENOMEM;
    store *at = src; /* where a failure's reason is */
    if (rc == 0 && (rc = store_prepare_sql(src, sel, &s)) == 0) {
        at = dst;
        rc = store_prepare_sql(dst, ins, &d);
    }
    int r = STORE_DONE;
    while (rc == 0 && (at = src, r = store_step(src, s)) == STORE_ROW) {
        for (int i = 0; i < n; i++) {
            size_t len = 0;
            const char *v = store_col_text(s, i, &len);
            store_bind_text_n(dst, d, i + 1, store_col_null(s, i) ? NULL : v, len);
        }
        if ((rc = hash_row(h, s, n)) != 0)
            break;
        at = dst;
        if ((rc = store_run(dst, d, "insert", NULL)) != 0)
            break;
        sum->rows++;
    }
    if (rc == 0 && r < 0)
        rc = r;
    if (rc == 0)
        rc = digest_sha256_end_hex(h, sum->hex);
    if (rc)
        errs_add(errs, rc, NULL, 0, 0, "table %s: %s", t->name,
                 rc == CPQD_ENOMEM && !*at->err ? "out of memory" : at->err);
    store_stmt_done(s);
    store_stmt_free(s);
    store_stmt_free(d);
    digest_sha256_free(h);
    free(sel), free(ins);
    return rc;
}

/* Counts and checksums table t as st holds it. */
static int sum_table(store *st, const store_table *t, move_sum *sum, cpqd_errs *errs)
{
    int n = columns_of(t->cols);
    char *sel = select_sql(t);
    store_stmt *s = NULL;
    digest_sha256_ctx *h = digest_sha256_new();
    int rc = sel && h ? 0 : CPQD_ENOMEM;
    if (rc == 0)
        rc = store_prepare_sql(st, sel, &s);
    int r = STORE_DONE;
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if ((rc = hash_row(h, s, n)) == 0)
            sum->rows++;
    }
    if (rc == 0 && r < 0)
        rc = r;
    if (rc == 0)
        rc = digest_sha256_end_hex(h, sum->hex);
    if (rc)
        errs_add(errs, rc, NULL, 0, 0, "table %s: %s", t->name,
                 rc == CPQD_ENOMEM && !*st->err ? "out of memory" : st->err);
    store_stmt_done(s);
    store_stmt_free(s);
    digest_sha256_free(h);
    free(sel);
    return rc;
}

/* The source: an existing cpqd store at the current schema, opened
 * without creating or migrating anything. */
static int open_source(const char *from, store **out, cpqd_errs *errs)
{
    char name[1024];
    struct stat sb;
    store_location_redact(from, name, sizeof(name));
    *out = NULL;
    if (!store_location_is_url(from) && stat(from, &sb) != 0) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "--from %s: %s", name, strerror(errno));
        return CPQD_EINVAL;
    }
    store *st = NULL;
    int rc = store_debug_open(from, &st, errs), objects = 0, v = 0;
    bool has_version = false;
    if (rc == 0 && (rc = st->drv->schema_probe(st, &objects, &has_version)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "--from %s: %s", name, st->err);
    if (rc == 0 && !has_version) {
        rc = CPQD_EINVAL;
        errs_add(errs, rc, NULL, 0, 0, "--from %s is not a cpqd database", name);
    }
    if (rc == 0 && (rc = store_schema_version(st, &v)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "--from %s: %s", name, st->err);
    if (rc == 0 && v != STORE_SCHEMA_VERSION) {
        rc = CPQD_EINVAL;
        errs_add(errs, rc, NULL, 0, 0,
                 "--from %s has schema version %d, this cpqd moves version %d: run `cpqd "
                 "migrate --db %s` with this cpqd first",
                 name, v, STORE_SCHEMA_VERSION, name);
    }
    if (rc != 0) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* The destination must hold no record (it may be new: migrated to the
 * current schema by store_open). */
static int check_empty(store *dst, cpqd_errs *errs)
{
    for (size_t i = 0; i < store_table_count; i++) {
        char *sql = NULL;
        int64_t n = 0;
        if (asprintf(&sql, "SELECT count(*) FROM %s", store_tables[i].name) < 0)
            return CPQD_ENOMEM;
        int rc = store_debug_int(dst, sql, &n);
        free(sql);
        if (rc != 0) {
            errs_add(errs, rc, NULL, 0, 0, "--db %s: %s", dst->name, dst->err);
            return rc;
        }
        if (n != 0) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                     "--db %s is not empty (table %s holds %lld rows): a store is moved into "
                     "a new or empty database only",
                     dst->name, store_tables[i].name, (long long)n);
            return CPQD_EINVAL;
        }
    }
    return 0;
}

/* Copies every table, then reads each back and compares. */
static int move_all(store *src, store *dst, move_sum *from, cpqd_errs *errs)
{
    int rc = 0;
    for (size_t i = 0; i < store_table_count && rc == 0; i++)
        rc = copy_table(src, dst, &store_tables[i], &from[i], errs);
    for (size_t i = 0; i < store_table_count && rc == 0; i++) {
        move_sum back = {0};
        const store_table *t = &store_tables[i];
        if ((rc = sum_table(dst, t, &back, errs)) != 0)
            break;
        if (back.rows != from[i].rows || strcmp(back.hex, from[i].hex) != 0) {
            rc = CPQD_EIO;
            errs_add(errs, rc, NULL, 0, 0,
                     "table %s: %lld rows, sha256 %s read from the source, but %lld rows, "
                     "sha256 %s read back: nothing was written",
                     t->name, (long long)from[i].rows, from[i].hex, (long long)back.rows, back.hex);
        }
    }
    return rc;
}

int store_move(const char *from, const char *to, store_move_report report, void *ctx,
               cpqd_errs *errs)
{
    store *src = NULL, *dst = NULL;
    move_sum *sums = calloc(store_table_count, sizeof(*sums));
    bool own_read = false;
    int rc = sums ? open_source(from, &src, errs) : CPQD_ENOMEM;
    if (rc == 0)
        rc = store_open(to, true, &dst, errs);
    if (rc == 0)
        rc = check_empty(dst, errs);
    if (rc == 0 && (rc = store_read_begin(src, &own_read)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "--from %s: %s", src->name, src->err);
    if (rc == 0 && (rc = store_begin(dst)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "--db %s: %s", dst->name, dst->err);
    if (rc == 0 && (rc = move_all(src, dst, sums, errs)) == 0 && (rc = store_commit(dst)) != 0)
        errs_add(errs, rc, NULL, 0, 0, "--db %s: %s", dst->name, dst->err);
    if (src)
        store_read_end(src, own_read);
    store_rollback(dst); /* a no-op after the commit */
    for (size_t i = 0; rc == 0 && report && i < store_table_count; i++)
        report(ctx, store_tables[i].name, sums[i].rows, sums[i].hex);
    store_close(src);
    store_close(dst);
    free(sums);
    return rc;
}
