/*
 * store_archive: the catalog files of the snapshots quotes were priced on
 * (see store.h "catalog archives").
 *
 * Invariant: an archive is written once, files and all, in one
 * transaction, and never changed: its version is the content hash of
 * exactly those files.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

static void archived_seen(store *st, const char *version)
{
    if (strlen(version) < sizeof(st->archived))
        strcpy(st->archived, version);
}

int store_archive_get(store *st, const char *version, char **catalog_dir, char **rules_dir)
{
    store_stmt *s;
    if (catalog_dir)
        *catalog_dir = NULL;
    if (rules_dir)
        *rules_dir = NULL;
    if (!store_text_ok(version))
        return store_failf(st, CPQD_EINVAL, "archive: a version is required");
    /* asked on every quote: whether the version is there, known without a
     * read once seen committed */
    if (!catalog_dir && !rules_dir && !strcmp(version, st->archived))
        return 0;
    int rc = store_prepare(st, STMT_ARCHIVE_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, version);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        if ((catalog_dir && store_col_dup(s, 0, catalog_dir) != 0) ||
            (rules_dir && store_col_dup(s, 1, rules_dir) != 0))
            rc = CPQD_ENOMEM;
        else if (!store_in_tx(st)) /* read outside a transaction: committed */
            archived_seen(st, version);
    } else if (r == STORE_DONE) {
        rc = store_failf(st, CPQD_ENOTFOUND, "archive: no catalog version %.64s", version);
    } else {
        rc = store_fail(st, r, "archive get");
    }
    store_stmt_done(s);
    if (rc && catalog_dir) {
        free(*catalog_dir);
        *catalog_dir = NULL;
    }
    if (rc && rules_dir) {
        free(*rules_dir);
        *rules_dir = NULL;
    }
    return rc;
}

static int put_all(store *st, const char *version, const char *catalog_dir,
                   const char *rules_dir, const store_archive_file *files, size_t n)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    store_now(now);
    int rc = store_prepare(st, STMT_ARCHIVE_INSERT, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, version);
    store_bind_text(st, s, 2, catalog_dir);
    store_bind_text(st, s, 3, rules_dir);
    store_bind_text(st, s, 4, now);
    int r = store_step(st, s);
    store_stmt_done(s);
    if (r != STORE_DONE)
        return store_fail(st, r, "archive put");
    for (size_t i = 0; i < n; i++) {
        if ((rc = store_prepare(st, STMT_ARCHIVE_FILE_INSERT, &s)) != 0)
            return rc;
        store_bind_text(st, s, 1, version);
        store_bind_text(st, s, 2, files[i].is_rule ? "rule" : "catalog");
        store_bind_text(st, s, 3, files[i].path);
        /* archived packed: a large catalog is mostly repetition */
        char *packed = NULL;
        size_t plen = 0;
        if (store_pack(files[i].content, files[i].len, STORE_PACK_SMALL, &packed, &plen) != 0) {
            store_stmt_done(s);
            return store_failf(st, CPQD_ENOMEM, "archive file put: out of memory");
        }
        if (packed)
            store_bind_text_n(st, s, 4, packed, plen);
        else
            store_bind_text_n(st, s, 4, files[i].content, files[i].len);
        r = store_step(st, s);
        store_stmt_done(s);
        free(packed);
        if (r != STORE_DONE)
            return store_fail(st, r, "archive file put");
    }
    return 0;
}

int store_archive_put(store *st, const char *version, const char *catalog_dir,
                      const char *rules_dir, const store_archive_file *files, size_t n)
{
    bool own;
    if (!store_text_ok(version) || !store_text_ok(catalog_dir) || !store_text_ok(rules_dir))
        return store_failf(st, CPQD_EINVAL, "archive: version and directories are required");
    for (size_t i = 0; i < n; i++)
        if (!store_text_ok(files[i].path) || !files[i].content || files[i].len > INT32_MAX ||
            memchr(files[i].content, 0, files[i].len))
            return store_failf(st, CPQD_EINVAL, "archive: file %zu is not a text file", i);
    int rc = store_archive_get(st, version, NULL, NULL);
    if (rc == 0)
        return 0; /* already archived */
    if (rc != CPQD_ENOTFOUND)
        return rc;
    if ((rc = store_write_begin(st, &own)) != 0)
        return rc;
    rc = store_write_end(st, own, put_all(st, version, catalog_dir, rules_dir, files, n));
    if (rc == 0 && own) /* committed (inside a caller's transaction: not yet) */
        archived_seen(st, version);
    return rc;
}

int store_archive_files(store *st, const char *version,
                        int (*fn)(void *ctx, const store_archive_file *f), void *ctx)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_ARCHIVE_FILES, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, version);
    int r;
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        const char *kind = store_col_text(s, 0, NULL);
        store_archive_file f = {.is_rule = kind && !strcmp(kind, "rule"),
                                .path = store_col_text(s, 1, NULL)};
        size_t len = 0;
        const char *v = store_col_text(s, 2, &len);
        char *content = NULL;
        if (!f.path || !v)
            rc = CPQD_ENOMEM;
        else if ((rc = store_unpack(v, len, &content, &f.len)) == 0) {
            f.content = content;
            rc = fn(ctx, &f);
        }
        free(content);
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "archive files");
    store_stmt_done(s);
    return rc;
}
