/*
 * store_fixture: where the tests keep their databases (header-only,
 * included after cmocka.h and testutil.h by the store's tests
 * (test_store.c, test_contract_store.c, test_outbox.c) and the
 * end-to-end tests that pass --db).
 *
 * One helper names every database location a test opens, so that the
 * same tests run on every backend behind the store's driver seam:
 * without CPQD_TEST_DB_URL a SQLite file under the test's temporary
 * directory (which goes with the directory); with it (make test's
 * PostgreSQL half sets it to a server's URL: tests/pg-cluster.sh) a
 * fresh database per call on that server, named cpqd_t<pid>_<n>_<name>,
 * dropped by tu_db_drop. A server that cannot be reached fails the test
 * (never a silent fallback to SQLite). Tests that are about files (a
 * directory created, a file that is not a database) give a path of their
 * own instead.
 */
#ifndef CPQD_TESTS_STORE_FIXTURE_H
#define CPQD_TESTS_STORE_FIXTURE_H

#include "cpqd/store.h"

/* The server tests make their databases on (CPQD_TEST_DB_URL), or NULL
 * (SQLite files). */
static inline const char *tu_db_server(void)
{
    const char *u = getenv("CPQD_TEST_DB_URL");
    return u && *u ? u : NULL;
}

/* url with its database name replaced by db (malloc'ed). */
static inline char *tu_db_url_with(const char *url, const char *db)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    const char *rest = auth + strcspn(auth, "/?");
    const char *query = strchr(rest, '?');
    return tu_fmt("%.*s/%s%s", (int)(rest - url), url, db, query ? query : "");
}

/* The database name of a URL from tu_db_location (malloc'ed). */
static inline char *tu_db_name_of(const char *url)
{
    const char *auth = strstr(url, "://");
    const char *path = auth ? strchr(auth + 3, '/') : NULL;
    return path ? strndup(path + 1, strcspn(path + 1, "?")) : strdup("");
}

/* Runs sql on the server's own database; a failure fails the test. */
static inline void tu_db_admin(const char *sql)
{
    store *st = NULL;
    cpqd_errs *e = errs_new();
    if (store_debug_open(tu_db_server(), &st, e) != 0) {
        char *m = errs_count(e) ? errs_format(e, 0) : NULL;
        fail_msg("CPQD_TEST_DB_URL: %s", m ? m : "cannot connect");
    }
    errs_free(e);
    if (store_debug_exec(st, sql, NULL) != 0)
        fail_msg("%s: %s", sql, store_last_error(st));
    store_close(st);
}

/* A new database location named `name` for the test working in dir
 * (malloc'ed; nothing exists there yet, or an empty database). */
static inline char *tu_db_location(const char *dir, const char *name)
{
    static unsigned made;
    if (!tu_db_server())
        return tu_fmt("%s/var/%s.db", dir, name);
    char *db = tu_fmt("cpqd_t%d_%u_%.20s", (int)getpid(), ++made, name);
    for (char *p = db; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    char *sql = tu_fmt("CREATE DATABASE %s", db);
    tu_db_admin(sql);
    char *url = tu_db_url_with(tu_db_server(), db);
    free(sql);
    free(db);
    return url;
}

/* Ends the use of a location from tu_db_location (a database is dropped,
 * even with connections left on it); NULL is a no-op. */
static inline void tu_db_drop(char *location)
{
    if (location && tu_db_server() && strncmp(location, "postgres", 8) == 0) {
        char *db = tu_db_name_of(location);
        char *sql = tu_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
        tu_db_admin(sql);
        free(sql);
        free(db);
    }
    free(location); /* SQLite: the file goes with the test's directory */
}

/* The fixture of a test on one store: a temporary directory, a fresh
 * database location in it (tu_db_location) and a handle open on it. As
 * cmocka's setup and teardown: *state is the tu_store_fx. */
typedef struct tu_store_fx {
    char *dir, *db;
    store *st;
} tu_store_fx;

static inline int tu_store_fx_setup(void **state)
{
    tu_store_fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = tu_tmpdir();
    f->db = tu_db_location(f->dir, "cpqd");
    *state = f;
    return store_open(f->db, false, &f->st, NULL) == 0 ? 0 : -1;
}

static inline int tu_store_fx_teardown(void **state)
{
    tu_store_fx *f = *state;
    store_close(f->st);
    tu_db_drop(f->db);
    tu_rm_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#endif
