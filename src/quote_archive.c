/*
 * quote_archive: the catalog files a quote was priced on, archived in
 * the store by snapshot version, restored on demand, and re-pricing on
 * them (POST /v1/quotes/{id}/reprice; docs/quotes.md "Reproducible").
 */
#include "quote_int.h"

#include "cpqd/file.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define QUOTE_ARCHIVE_FILE_MAX ((size_t)1 << 30) /* bytes of one archived catalog or rule file */

/* ---- catalog archives and re-pricing ---- */

typedef struct arch_col {
    store_archive_file *v;
    size_t n, cap;
    int rc;
} arch_col;

static int arch_add(void *ctx, bool is_rule, const char *rel, const char *path)
{
    arch_col *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        store_archive_file *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return CPQD_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    size_t len = 0;
    char *content = NULL, *p = NULL;
    /* catalog files are what the loader read: within its own bound */
    if (file_read(path, QUOTE_ARCHIVE_FILE_MAX, &content, &len, NULL) == 0)
        p = strdup(rel);
    if (!content || !p) {
        free(content);
        free(p);
        return CPQD_EIO;
    }
    a->v[a->n++] = (store_archive_file){is_rule, p, content, len};
    return 0;
}

int quote_archive_snapshot(store *st, const cat_snapshot *s, cpqd_errs *errs)
{
    int rc = store_archive_get(st, cat_snapshot_version(s), NULL, NULL);
    if (rc != CPQD_ENOTFOUND)
        return rc;
    arch_col a = {0};
    rc = cat_snapshot_each_file(s, arch_add, &a);
    if (rc == 0)
        rc = store_archive_put(st, cat_snapshot_version(s), cat_snapshot_catalog_dir(s),
                               cat_snapshot_rules_dir(s), a.v, a.n);
    if (rc)
        errs_add(errs, rc, NULL, 0, 0, "cannot archive catalog version %s: %s",
                 cat_snapshot_version(s), err_code_name(rc));
    for (size_t i = 0; i < a.n; i++) {
        free((char *)a.v[i].path);
        free((char *)a.v[i].content);
    }
    free(a.v);
    return rc;
}

/* Restored snapshots, by version, shared by every worker (a few MB each;
 * the least recently used is dropped beyond QUOTE_ARCHIVE_CACHE). */
#define QUOTE_ARCHIVE_CACHE 4

static pthread_mutex_t arch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    cat_snapshot *s;
    unsigned long used;
} arch_cache[QUOTE_ARCHIVE_CACHE];
static unsigned long arch_clock;

static int mkdirs_for(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return CPQD_EIO;
    }
    return 0;
}

typedef struct arch_out {
    const char *dir;
    int rc;
} arch_out;

static int arch_write(void *ctx, const store_archive_file *f)
{
    arch_out *o = ctx;
    if (strstr(f->path, "..") || f->path[0] == '/')
        return CPQD_EINVAL;
    char *path = NULL;
    if (asprintf(&path, "%s/%s/%s", o->dir, f->is_rule ? "rules" : "catalogs", f->path) < 0)
        return CPQD_ENOMEM;
    int rc = mkdirs_for(path);
    FILE *fp = rc == 0 ? fopen(path, "wb") : NULL;
    if (!fp || fwrite(f->content, 1, f->len, fp) != f->len)
        rc = CPQD_EIO;
    if (fp && fclose(fp) != 0)
        rc = CPQD_EIO;
    free(path);
    return rc;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The snapshot of `version`, restored from the store's archive (cached);
 * a new reference, or NULL with the reason in errs. */
static cat_snapshot *restore(svc_ctx *c, const char *version, cpqd_errs *errs)
{
    pthread_mutex_lock(&arch_lock);
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++)
        if (arch_cache[i].s && !strcmp(cat_snapshot_version(arch_cache[i].s), version)) {
            arch_cache[i].used = ++arch_clock;
            cat_snapshot *s = cat_snapshot_retain(arch_cache[i].s);
            pthread_mutex_unlock(&arch_lock);
            return s;
        }
    pthread_mutex_unlock(&arch_lock);
    char *cdir = NULL, *rdir = NULL, tmpl[] = "/tmp/cpqd-archive-XXXXXX";
    cat_snapshot *s = NULL;
    int rc = store_archive_get(c->st, version, &cdir, &rdir);
    if (rc) {
        errs_add(errs, rc == CPQD_ENOTFOUND ? CPQD_ECONFLICT : rc, NULL, 0, 0,
                 "catalog version %.64s is not archived: the quote cannot be re-priced on its "
                 "original catalogs",
                 version);
        return NULL;
    }
    arch_out o = {mkdtemp(tmpl), 0};
    rc = o.dir ? store_archive_files(c->st, version, arch_write, &o) : CPQD_EIO;
    if (rc == 0) {
        char *cd = NULL, *rd = NULL;
        if (asprintf(&cd, "%s/catalogs", o.dir) >= 0 && asprintf(&rd, "%s/rules", o.dir) >= 0) {
            mkdir(rd, 0700); /* a catalog without rules still has the directory */
            s = cat_snapshot_load_as(cd, rd, cdir, rdir, errs);
        }
        free(cd);
        free(rd);
    } else {
        errs_add(errs, rc, NULL, 0, 0, "cannot restore catalog version %.64s", version);
    }
    if (o.dir)
        rm_tree(o.dir);
    free(cdir);
    free(rdir);
    if (s && strcmp(cat_snapshot_version(s), version) != 0) {
        errs_add(errs, CPQD_ECONFLICT, NULL, 0, 0,
                 "the archive of catalog version %.64s restores as %s: it was archived from "
                 "files changed after loading",
                 version, cat_snapshot_version(s));
        cat_snapshot_release(s);
        return NULL;
    }
    if (!s)
        return NULL;
    pthread_mutex_lock(&arch_lock);
    int slot = 0; /* an empty slot, else the least recently used */
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++) {
        if (!arch_cache[i].s) {
            slot = i;
            break;
        }
        if (arch_cache[i].used < arch_cache[slot].used)
            slot = i;
    }
    cat_snapshot_release(arch_cache[slot].s);
    arch_cache[slot].s = cat_snapshot_retain(s);
    arch_cache[slot].used = ++arch_clock;
    pthread_mutex_unlock(&arch_lock);
    return s;
}

void quote_archive_cache_clear(void)
{
    pthread_mutex_lock(&arch_lock);
    for (int i = 0; i < QUOTE_ARCHIVE_CACHE; i++) {
        cat_snapshot_release(arch_cache[i].s);
        arch_cache[i].s = NULL;
    }
    pthread_mutex_unlock(&arch_lock);
}

/* Prices a stored request again, with the identity it was priced with. */
static int reprice_on(svc_ctx *c, const cat_snapshot *snap, const store_quote *q, char **priced,
                      cpqd_errs *errs)
{
    json_error_t je;
    json_t *root = json_loads(q->request, 0, &je);
    if (!root) {
        errs_add(errs, CPQD_EINTERNAL, NULL, 0, 0, "stored request of %s is not JSON", q->id);
        return CPQD_EINTERNAL;
    }
    json_t *k = json_incref(json_object_get(root, "caller"));
    json_object_del(root, "caller");
    json_object_del(root, "valid_until");
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    price_req_buf *buf = NULL;
    price_request *rq = NULL;
    int rc = text ? price_json_parse(text, strlen(text), &buf, &rq, errs) : CPQD_ENOMEM;
    free(text);
    if (rc == 0) {
        const char *role = json_string_value(json_object_get(k, "role"));
        const char *auth = json_string_value(json_object_get(k, "authority"));
        rq->role = role;
        rq->partner_id = json_string_value(json_object_get(k, "partner_id"));
        rq->segment = json_string_value(json_object_get(k, "segment"));
        rq->partner_view = role && !strcmp(role, "partner");
        rq->qty_use = PRICE_QTY_RECORDED;
        if (auth && money_parse(auth, strlen(auth), &rq->authority) == 0)
            rq->has_authority = true;
        price_result res;
        rc = price_compute(c->pw, snap, c->usage, rq, &res, errs);
        if (rc == 0) {
            *priced = price_json_render(&res, snap, false);
            rc = *priced ? 0 : CPQD_ENOMEM;
            price_result_fini(&res);
        }
    }
    price_req_buf_free(buf);
    json_decref(k);
    return rc;
}

/* Line-by-line differences of two priced results. */
static json_t *changes_json(json_t *before, json_t *after)
{
    json_t *lines = json_array();
    json_t *bl = json_object_get(before, "lines"), *al = json_object_get(after, "lines");
    size_t n =
        json_array_size(bl) > json_array_size(al) ? json_array_size(bl) : json_array_size(al);
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(bl, i), *a = json_array_get(al, i);
        const char *bt = json_string_value(json_object_get(b, "total"));
        const char *at = json_string_value(json_object_get(a, "total"));
        money_dec x, y, d;
        char ds[MONEY_FMT_MAX] = "";
        if (bt && at && money_parse(bt, strlen(bt), &x) == 0 &&
            money_parse(at, strlen(at), &y) == 0 && money_sub(y, x, &d) == 0)
            money_format(d, ds, sizeof(ds));
        json_array_append_new(lines, json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "id",
                                               json_incref(json_object_get(a ? a : b, "id")), "sku",
                                               json_incref(json_object_get(a ? a : b, "sku")),
                                               "before", bt ? json_string(bt) : json_null(),
                                               "after", at ? json_string(at) : json_null(), "delta",
                                               *ds ? json_string(ds) : json_null(), "changed",
                                               !bt || !at || strcmp(bt, at) != 0 ||
                                                   !json_equal(json_object_get(b, "waterfall"),
                                                               json_object_get(a, "waterfall"))));
    }
    const char *bt = json_string_value(json_object_get(before, "total"));
    const char *at = json_string_value(json_object_get(after, "total"));
    return json_pack("{s:o,s:{s:s?,s:s?}}", "lines", lines, "total", "before", bt, "after", at);
}

int quote_reprice(svc_ctx *c, const char *id, const char *on, svc_reply *out, cpqd_errs *errs)
{
    store_quote q;
    memset(out, 0, sizeof(*out));
    bool original = on && !strcmp(on, "original");
    if (!on || (!original && strcmp(on, "current") != 0)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "on: must be \"original\" or \"current\"");
        return CPQD_EINVAL;
    }
    int rc = quote_load_scoped(c, id, 0, &q, errs);
    if (rc)
        return rc;
    cat_snapshot *snap = NULL;
    const cat_snapshot *use = c->snap;
    if (original && strcmp(q.catalog_version, cat_snapshot_version(c->snap)) != 0) {
        if (!(snap = restore(c, q.catalog_version, errs))) {
            store_quote_fini(&q);
            return CPQD_ECONFLICT;
        }
        use = snap;
    }
    char *priced = NULL;
    rc = reprice_on(c, use, &q, &priced, errs);
    if (rc == 0) {
        json_error_t je;
        json_t *now = json_loads(priced, 0, &je), *was = json_loads(q.priced, 0, &je);
        json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "id", q.id, "number", q.number,
                              "version", q.version, "on", on, "catalog_version_original",
                              q.catalog_version, "catalog_version", cat_snapshot_version(use));
        if (original)
            json_object_set_new(o, "identical", json_boolean(!strcmp(priced, q.priced)));
        else
            json_object_set_new(o, "changes", changes_json(was, now));
        if (now && quote_partner_caller(c))
            quote_partner_filter(now);
        json_object_set_new(o, "priced", now ? now : json_null());
        json_decref(was);
        out->body = quote_dump(o);
        rc = out->body ? 0 : CPQD_ENOMEM;
    }
    free(priced);
    cat_snapshot_release(snap);
    store_quote_fini(&q);
    return rc;
}
