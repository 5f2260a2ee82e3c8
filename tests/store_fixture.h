/*
 * store_fixture: where the store's tests keep their databases
 * (header-only, included after testutil.h by tests/test_store.c,
 * test_contract_store.c, test_outbox.c).
 *
 * One helper names every database location a test opens, so that the
 * same tests run on every backend behind the store's driver seam: today
 * a SQLite file under the test's temporary directory (which goes with
 * the directory); with the PostgreSQL backend (issue 13) a fresh
 * database per call on the server CPQD_TEST_DB_URL names, dropped by
 * tu_db_drop. Tests that are about files (a directory created, a file
 * that is not a database) give a path of their own instead.
 */
#ifndef CPQD_TESTS_STORE_FIXTURE_H
#define CPQD_TESTS_STORE_FIXTURE_H

/* A new database location named `name` for the test working in dir
 * (malloc'ed; nothing exists there yet). */
static inline char *tu_db_location(const char *dir, const char *name)
{
    return tu_fmt("%s/var/%s.db", dir, name);
}

/* Ends the use of a location from tu_db_location; NULL is a no-op. */
static inline void tu_db_drop(char *location)
{
    free(location); /* SQLite: the file goes with the test's directory */
}

#endif
