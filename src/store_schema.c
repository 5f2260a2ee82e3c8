/*
 * store_schema: the schema version of a database and the migrations that
 * bring it to STORE_SCHEMA_VERSION.
 *
 * Owns: deciding, at open, whether a database may be used as it is,
 * created, migrated, or must be refused; applying migrations. Does not own:
 * their SQL (store_sql.c).
 *
 * Invariant: every migration step runs in one write transaction (the
 * write lock taken at its start: SQLite's BEGIN IMMEDIATE) that
 * re-reads the version first and records the new one last, so concurrent
 * openers (threads or processes) apply each step exactly once, and a crash
 * mid-step leaves the database at the previous version.
 */
#include "store_int.h"

#include <stdio.h>

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");

static int version_read(store *st, int *out)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_VERSION_GET, &s);
    if (rc != 0)
        return rc;
    int r = store_step(st, s);
    if (r == STORE_ROW)
        *out = store_col_int(s, 0);
    else
        rc = store_fail(st, r, "schema version");
    store_stmt_done(s);
    return rc;
}

int store_schema_version(store *st, int *out)
{
    *out = 0;
    int rc = version_read(st, out);
    return rc == CPQD_ENOMEM || rc == 0 ? rc : CPQD_EIO;
}

static int version_record(store *st, int version)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    store_now(now);
    int rc = store_prepare(st, STMT_VERSION_RECORD, &s);
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, version);
    store_bind_text(st, s, 2, now);
    int r = store_step(st, s);
    if (r != STORE_DONE)
        rc = store_fail(st, r, "schema version");
    store_stmt_done(s);
    return rc;
}

static int newer(store *st, int v)
{
    return store_failf(st, CPQD_EINVAL,
                       "database %s has schema version %d, newer than this cpqd knows (%d): "
                       "run a newer cpqd",
                       st->name, v, STORE_SCHEMA_VERSION);
}

/* One step, from version `to - 1` to `to`, unless someone else did it. */
static int migrate_step(store *st, int to)
{
    int v = 0, rc = store_tx(st, STORE_TX_BEGIN);
    if (rc != 0)
        return store_fail(st, rc, "migrate: begin");
    rc = store_exec(st, store_sql_bootstrap);
    rc = rc == 0 ? version_read(st, &v) : store_fail(st, rc, "migrate");
    if (rc == 0 && v > STORE_SCHEMA_VERSION)
        rc = newer(st, v);
    else if (rc == 0 && v == to - 1) {
        int r = store_exec(st, store_migrations[to - 1]);
        rc = r == 0 ? version_record(st, to) : store_fail(st, r, "migrate");
    }
    if (rc == 0 && (rc = store_tx(st, STORE_TX_COMMIT)) != 0)
        rc = store_fail(st, rc, "migrate: commit");
    if (rc != 0) {
        char why[sizeof(st->err)];
        snprintf(why, sizeof(why), "%s", st->err);
        store_tx_quiet(st, STORE_TX_ROLLBACK);
        return store_failf(st, rc, "%s: migration to schema version %d failed: %s", st->name,
                           to, why);
    }
    return 0;
}

int store_schema_open(store *st, bool migrate, int *from)
{
    int tables = 0, v = 0;
    bool has_version = false;
    int rc = st->drv->schema_probe(st, &tables, &has_version);
    if (rc != 0)
        rc = store_fail(st, rc, st->name);
    if (rc == 0 && has_version)
        rc = version_read(st, &v);
    if (rc != 0)
        return rc == CPQD_ENOMEM || rc == CPQD_EINVAL ? rc : CPQD_EIO;
    *from = v;
    if (v > STORE_SCHEMA_VERSION)
        return newer(st, v);
    if (v == STORE_SCHEMA_VERSION)
        return 0;
    if (!has_version && tables > 0)
        return store_failf(st, CPQD_EINVAL,
                           "%s is not a cpqd database (it has tables but no schema_version)",
                           st->name);
    /* A new, empty database holds nothing to migrate: create it. */
    if (!migrate && tables > 0)
        return store_failf(st, CPQD_EINVAL,
                           "database %s has schema version %d, this cpqd needs %d: "
                           "run `cpqd migrate --db %s` first",
                           st->name, v, STORE_SCHEMA_VERSION, st->name);
    for (int to = v + 1; to <= STORE_SCHEMA_VERSION && rc == 0; to++)
        rc = migrate_step(st, to);
    return rc;
}
