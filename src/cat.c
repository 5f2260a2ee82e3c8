/*
 * cat: catalog snapshots (see include/cpqd/cat.h).
 *
 * Owns: finding and reading catalog files, the content-hash version, the
 * snapshot's lifetime (atomic reference count) and lookups, and the one
 * process-wide current-snapshot pointer.
 *
 * Globals: `current` (the published snapshot), guarded by current_lock,
 * which is held only to swap the pointer or to take a reference, so a
 * reader can never retain a snapshot that is being freed. `next_serial`
 * numbers the loads (atomic).
 *
 * Invariant: a snapshot is never modified after cat_snapshot_load returns
 * it; its products[] is sorted by SKU with no duplicates.
 */
#include "cat_int.h"
#include "cpqd/date.h"
#include "cpqd/digest.h"
#include "cpqd/file.h"
#include "cpqd/log.h"
#include "cpqd/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CAT_MAX_FILE (512u << 20) /* one catalog file, bytes */
#define CAT_MAX_FILES 10000

static _Atomic uint64_t next_serial = 1; /* the next load's serial; atomic */

struct cat_snapshot {
    atomic_long refs;
    arena *a;                  /* owns every catalog struct and string */
    cat_catalog *catalogs;     /* ncatalogs, malloc'ed */
    size_t ncatalogs;
    const cat_product **products; /* sorted by SKU, malloc'ed */
    size_t nproducts;
    void **regexes;            /* pcre2_code*, freed with the snapshot */
    size_t nregexes;
    char version[DIGEST_SHA256_HEX_LEN]; /* hex SHA-256 */
    char *catalog_dir, *rules_dir;
    long long loaded_at;
    uint64_t serial;           /* load number, increasing (cat_snapshot_serial) */
    cat_rule *rules;           /* compiled rule files, sorted by path, malloc'ed */
    size_t nrules;
    char **files;              /* real paths of the catalog files, sorted, malloc'ed */
    size_t nfiles, files_rel;  /* files[i] + files_rel: the name relative to catalog_dir */
    char *shown_dir, *shown_rules_dir; /* positions name files under these (load_as) */
    void *ext[CAT_EXT_N];      /* compiled per-snapshot data of other modules */
};

/* A rule file compiled once per snapshot. */
struct cat_rule {
    char *path; /* relative to the rules directory */
    rules_chunk *chunk;
};

typedef struct ext_hook {
    int (*build)(cat_snapshot *s, cpqd_errs *errs, void **out);
    void (*free)(void *ext);
} ext_hook;

static ext_hook ext_hooks[CAT_EXT_N]; /* set once at startup, before any load */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static cat_snapshot *current; /* guarded by current_lock */

/* ---- finding files ---- */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int path_push(path_list *l, char *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof(char *));
        if (!v) {
            free(p);
            return CPQD_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return 0;
}

static void path_list_fini(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_yaml(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && !strcmp(name + n - 5, ".yaml")) ||
                              (n > 4 && !strcmp(name + n - 4, ".yml")));
}

/* Collects YAML files below dir (depth-limited), unsorted. */
static int walk(const char *dir, int depth, path_list *out, cpqd_errs *errs)
{
    DIR *d = opendir(dir);
    if (!d) {
        errs_add(errs, CPQD_EIO, dir, 0, 0, "cannot open directory: %s", strerror(errno));
        return CPQD_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) {
            rc = CPQD_ENOMEM;
            break;
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 8) {
            rc = walk(p, depth + 1, out, errs);
            free(p);
        } else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && is_yaml(e->d_name)) {
            rc = out->n >= CAT_MAX_FILES ? CPQD_ELIMIT : path_push(out, p);
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

/* Reads one catalog or rule file; a failure is an error about it. */
static int read_file(const char *path, char **buf, size_t *len, cpqd_errs *errs)
{
    char why[FILE_WHY_MAX];
    int rc = file_read(path, CAT_MAX_FILE, buf, len, why);
    if (rc && rc != CPQD_ENOMEM)
        errs_add(errs, rc, path, 0, 0, "%s", why);
    return rc;
}

/* ---- loading ---- */

static void snapshot_free(cat_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < CAT_EXT_N; i++)
        if (s->ext[i] && ext_hooks[i].free)
            ext_hooks[i].free(s->ext[i]);
    for (size_t i = 0; i < s->nrules; i++) {
        free(s->rules[i].path);
        rules_chunk_free(s->rules[i].chunk);
    }
    free(s->rules);
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i]);
    free(s->files);
    free(s->shown_dir);
    free(s->shown_rules_dir);
    for (size_t i = 0; i < s->nregexes; i++)
        pcre2_code_free(s->regexes[i]);
    free(s->regexes);
    free(s->catalogs);
    free(s->products);
    free(s->catalog_dir);
    free(s->rules_dir);
    arena_free(s->a);
    free(s);
}

/* Parses and decodes one file (read from path, named shown in positions);
 * feeds its relative name and bytes to the version. */
static int load_one(cat_build *b, const char *path, const char *shown, size_t rel,
                    digest_sha256_ctx *md)
{
    /* the name relative to the catalog directory: the version must not
     * depend on where the directory is or how it was spelled (a failed
     * add fails the version at its end) */
    char h[DIGEST_SHA256_HEX_LEN];
    struct stat st;
    int rc = CAT_LOAD_RETRY;
    /* read as it is parsed, products decoded as they come (the text is
     * never held whole); a file with anything wrong in it is read again
     * whole and parsed whole, for its errors to be reported as ever */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size <= CAT_MAX_FILE)
        rc = cat_load_stream_path(b, shown, path, h);
    if (rc != CAT_LOAD_RETRY) {
        if (rc == 0) {
            digest_sha256_add(md, path + rel, strlen(path + rel) + 1);
            digest_sha256_add(md, h, 64);
        }
        return rc;
    }
    char *buf = NULL;
    size_t len = 0;
    rc = read_file(path, &buf, &len, b->errs);
    if (rc)
        return rc;
    if (digest_sha256_hex(buf, len, h) != 0) {
        free(buf);
        return CPQD_ENOMEM;
    }
    digest_sha256_add(md, path + rel, strlen(path + rel) + 1);
    digest_sha256_add(md, h, 64);
    arena *tree = arena_new(1 << 20);
    yn *root = NULL;
    rc = tree ? yn_parse(tree, shown, buf, len, b->errs, &root) : CPQD_ENOMEM;
    if (rc == 0)
        rc = cat_load_file(b, shown, h, root);
    arena_free(tree);
    free(buf);
    return rc;
}

static int prod_cmp(const void *pa, const void *pb)
{
    const cat_product *a = *(const cat_product *const *)pa, *b = *(const cat_product *const *)pb;
    int c = strcmp(a->sku, b->sku);
    if (c)
        return c;
    c = strcmp(a->pos.file, b->pos.file);
    return c ? c : (a->pos.line > b->pos.line) - (a->pos.line < b->pos.line);
}

static int index_products(cat_snapshot *s, cat_build *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->ncatalogs; i++)
        n += b->catalogs[i].nproducts;
    s->products = malloc((n ? n : 1) * sizeof(*s->products));
    if (!s->products)
        return CPQD_ENOMEM;
    for (size_t i = 0; i < b->ncatalogs; i++)
        for (size_t k = 0; k < b->catalogs[i].nproducts; k++)
            s->products[s->nproducts++] = &b->catalogs[i].products[k];
    qsort(s->products, n, sizeof(*s->products), prod_cmp);
    return cat_load_link(b, s->products, n);
}

/* Rule files are part of the version: a changed formula is a new catalog.
 * Each is compiled here, once per snapshot; a syntax error fails the load
 * with the rule's file:line. */
static int compile_rules(cat_snapshot *s, cat_build *b, digest_sha256_ctx *md)
{
    if (b->nrule_files)
        qsort(b->rule_files, b->nrule_files, sizeof(char *), str_cmp);
    s->rules = calloc(b->nrule_files ? b->nrule_files : 1, sizeof(*s->rules));
    if (!s->rules)
        return CPQD_ENOMEM;
    int rc = 0;
    size_t skip = strlen(b->rules_dir);
    for (size_t i = 0; i < b->nrule_files; i++) {
        if (i && strcmp(b->rule_files[i], b->rule_files[i - 1]) == 0)
            continue;
        char *buf = NULL;
        size_t len = 0;
        int r = read_file(b->rule_files[i], &buf, &len, b->errs);
        if (r) {
            rc = rc ? rc : r;
            continue;
        }
        const char *rel = b->rule_files[i] + skip;
        while (*rel == '/')
            rel++;
        digest_sha256_add(md, rel, strlen(rel) + 1);
        digest_sha256_add(md, buf, len);
        rules_chunk *ch = NULL;
        char *shown = NULL;
        if (s->shown_rules_dir && asprintf(&shown, "%s/%s", s->shown_rules_dir, rel) < 0)
            shown = NULL;
        r = rules_compile(NULL, shown ? shown : b->rule_files[i], buf, len, &ch, b->errs);
        free(shown);
        free(buf);
        if (r) {
            rc = rc ? rc : r;
            continue;
        }
        cat_rule *cr = &s->rules[s->nrules];
        cr->path = strdup(rel);
        cr->chunk = ch;
        s->nrules++;
        if (!cr->path)
            return CPQD_ENOMEM;
    }
    return rc;
}

static char *default_rules_dir(const char *path)
{
    struct stat st;
    char *dir = strdup(path);
    if (!dir)
        return NULL;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(dir, ".");
    }
    char *out = NULL;
    if (asprintf(&out, "%s/../rules", dir) < 0)
        out = NULL;
    free(dir);
    return out;
}

static int collect(const char *path, path_list *files, cpqd_errs *errs)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        errs_add(errs, CPQD_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return CPQD_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        char *p = strdup(path);
        return p ? path_push(files, p) : CPQD_ENOMEM;
    }
    int rc = walk(path, 0, files, errs);
    if (rc == 0 && files->n == 0) {
        errs_add(errs, CPQD_EINVAL, path, 0, 0, "no catalog files (*.yaml, *.yml) found");
        rc = CPQD_EINVAL;
    }
    qsort(files->v, files->n, sizeof(char *), str_cmp);
    return rc;
}

/* Progress of a large load (files adding up to CAT_PROGRESS_BYTES or
 * more), logged at info level as it goes: a 100,000-SKU catalog takes
 * seconds to parse, and an operator watching a start or a reload should
 * see that it is moving. Smaller loads log nothing here. */
#define CAT_PROGRESS_BYTES ((off_t)1 << 20)

typedef struct load_progress {
    bool on;
    uint64_t t0; /* metrics_now_ns at the start */
} load_progress;

static long long ms_since(const load_progress *p)
{
    return (long long)((metrics_now_ns() - p->t0) / 1000000u);
}

static void progress_start(load_progress *p, const path_list *files)
{
    off_t total = 0;
    struct stat st;
    for (size_t i = 0; i < files->n; i++)
        if (stat(files->v[i], &st) == 0)
            total += st.st_size;
    p->on = total >= CAT_PROGRESS_BYTES;
    if (p->on)
        log_info("catalog load: %zu file%s, %.1f MiB", files->n, files->n == 1 ? "" : "s",
                 (double)total / (1 << 20));
}

static void progress_file(const load_progress *p, const cat_build *b, const char *path, size_t i,
                          size_t n)
{
    size_t products = 0;
    for (size_t k = 0; k < b->ncatalogs; k++)
        products += b->catalogs[k].nproducts;
    if (p->on)
        log_info("catalog load: file %zu of %zu read (%s): %zu products so far, %lld ms", i + 1, n,
                 path, products, ms_since(p));
}

static int build(cat_snapshot *s, const path_list *files, load_progress *prog, cpqd_errs *errs)
{
    struct stat st;
    size_t rel = stat(s->catalog_dir, &st) == 0 && S_ISDIR(st.st_mode) ? strlen(s->catalog_dir) : 0;
    if (!rel && strrchr(s->catalog_dir, '/'))
        rel = (size_t)(strrchr(s->catalog_dir, '/') - s->catalog_dir);
    cat_build b = {.a = s->a, .errs = errs, .rules_dir = s->rules_dir};
    /* one catalog per file at most, allocated once: products and books
     * point to their catalog, so the array must never move */
    b.catalogs = calloc(files->n ? files->n : 1, sizeof(*b.catalogs));
    if (!b.catalogs)
        return CPQD_ENOMEM;
    b.capcatalogs = files->n;
    s->catalogs = b.catalogs; /* the snapshot frees it, whatever happens below */
    digest_sha256_ctx *md = digest_sha256_new();
    int rc = md ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; rc != CPQD_ENOMEM && i < files->n; i++) {
        char *shown = NULL;
        if (s->shown_dir && asprintf(&shown, "%s%s", s->shown_dir, files->v[i] + rel) < 0)
            return CPQD_ENOMEM;
        int r = load_one(&b, files->v[i], shown ? shown : files->v[i], rel, md);
        free(shown);
        if (r && !rc)
            rc = r;
        progress_file(prog, &b, files->v[i], i, files->n);
    }
    s->files = calloc(files->n ? files->n : 1, sizeof(char *));
    for (size_t i = 0; s->files && i < files->n; i++)
        if ((s->files[i] = strdup(files->v[i])))
            s->nfiles++;
    s->files_rel = rel;
    if (!s->files || s->nfiles != files->n)
        rc = CPQD_ENOMEM;
    s->catalogs = b.catalogs;
    s->ncatalogs = b.ncatalogs;
    s->regexes = b.regexes;
    s->nregexes = b.nregexes;
    if (rc != CPQD_ENOMEM) {
        int r = index_products(s, &b);
        rc = rc ? rc : r;
        if (prog->on)
            log_info("catalog load: %zu products indexed and linked, %lld ms", s->nproducts,
                     ms_since(prog));
    }
    if (rc != CPQD_ENOMEM) {
        int r = compile_rules(s, &b, md);
        rc = rc ? rc : r;
        if (prog->on)
            log_info("catalog load: %zu rules compiled, %lld ms", s->nrules, ms_since(prog));
    }
    if (md && digest_sha256_end_hex(md, s->version) != 0)
        rc = CPQD_ENOMEM;
    digest_sha256_free(md);
    for (size_t i = 0; i < b.nrule_files; i++)
        free(b.rule_files[i]);
    free(b.rule_files);
    return rc;
}

static cat_snapshot *load(const char *path, const char *rules_dir, const char *shown_dir,
                          const char *shown_rules_dir, cpqd_errs *errs)
{
    path_list files = {0};
    load_progress prog = {.t0 = metrics_now_ns()};
    cat_snapshot *s = calloc(1, sizeof(*s));
    size_t before = errs_count(errs);
    int rc = CPQD_ENOMEM;
    if (!s)
        goto out;
    atomic_init(&s->refs, 1);
    s->a = arena_new(1 << 20);
    s->catalog_dir = strdup(path);
    s->rules_dir = rules_dir ? strdup(rules_dir) : default_rules_dir(path);
    s->shown_dir = shown_dir ? strdup(shown_dir) : NULL;
    s->shown_rules_dir = shown_rules_dir ? strdup(shown_rules_dir) : NULL;
    if (!s->a || !s->catalog_dir || !s->rules_dir || (shown_dir && !s->shown_dir) ||
        (shown_rules_dir && !s->shown_rules_dir))
        goto out;
    rc = collect(path, &files, errs);
    if (rc == 0) {
        progress_start(&prog, &files);
        rc = build(s, &files, &prog, errs);
    }
    s->loaded_at = (long long)date_now();
    s->serial = atomic_fetch_add(&next_serial, 1);
    if (prog.on && rc == 0)
        log_info("catalog load: building the price index and configurator models");
    for (int i = 0; rc == 0 && i < CAT_EXT_N; i++)
        if (ext_hooks[i].build)
            rc = ext_hooks[i].build(s, errs, &s->ext[i]);
    if (prog.on)
        log_info("catalog load: %s after %lld ms (price index and configurator models %s)",
                 rc ? "refused" : "done", ms_since(&prog), rc ? "not published" : "built");
out:
    metrics_catalog_load(rc == 0, metrics_now_ns() - prog.t0);
    if (rc == CPQD_ENOMEM)
        errs_add(errs, CPQD_ENOMEM, NULL, 0, 0, "out of memory while loading catalogs");
    else if (rc && errs_count(errs) == before)
        errs_add(errs, rc, path, 0, 0, "catalog load failed");
    path_list_fini(&files);
    if (rc)
        snapshot_free(s);
    /* The parse trees of a large catalog are hundreds of MiB, freed by now;
     * glibc keeps freed heap pages unless asked, so give them back. */
    malloc_trim(0);
    return rc ? NULL : s;
}

cat_snapshot *cat_snapshot_load_path(const char *path, const char *rules_dir, cpqd_errs *errs)
{
    return load(path, rules_dir, NULL, NULL, errs);
}

cat_snapshot *cat_snapshot_load(const char *catalog_dir, const char *rules_dir, cpqd_errs *errs)
{
    return load(catalog_dir, rules_dir, NULL, NULL, errs);
}

cat_snapshot *cat_snapshot_load_as(const char *catalog_dir, const char *rules_dir,
                                   const char *shown_dir, const char *shown_rules_dir,
                                   cpqd_errs *errs)
{
    return load(catalog_dir, rules_dir, shown_dir, shown_rules_dir, errs);
}

static const char *strip_dir(const char *file, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n && strncmp(file, dir, n) == 0 && file[n] == '/')
        return file + n + 1;
    return NULL;
}

const char *cat_snapshot_relpath(const cat_snapshot *s, const char *file)
{
    if (!file)
        return NULL;
    const char *dir = s->shown_dir ? s->shown_dir : s->catalog_dir;
    const char *rdir = s->shown_rules_dir ? s->shown_rules_dir : s->rules_dir;
    const char *r = strip_dir(file, rdir);
    if (!r)
        r = strip_dir(file, dir);
    return r ? r : file;
}

int cat_snapshot_each_file(const cat_snapshot *s,
                           int (*fn)(void *ctx, bool is_rule, const char *rel, const char *path),
                           void *ctx)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        const char *rel = s->files[i] + s->files_rel;
        while (*rel == '/')
            rel++;
        int rc = fn(ctx, false, rel, s->files[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < s->nrules; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", s->rules_dir, s->rules[i].path) < 0)
            return CPQD_ENOMEM;
        int rc = fn(ctx, true, s->rules[i].path, path);
        free(path);
        if (rc)
            return rc;
    }
    return 0;
}

cat_snapshot *cat_snapshot_retain(cat_snapshot *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void cat_snapshot_release(cat_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}

const char *cat_audience_name(cat_audience a)
{
    switch (a) {
    case CAT_AUD_ALL:
        return "all";
    case CAT_AUD_SEGMENT:
        return "segment";
    case CAT_AUD_PARTNER:
        return "partner";
    case CAT_AUD_CUSTOMER:
        return "customer";
    }
    return "?";
}

/* ---- tiers ----
 * A tier schedule is catalog data with one meaning (docs/pricing.md
 * "Tiers"), used by pricing (quote lines) and by receivables (usage
 * periods). Working amounts are exact up to TIER_SCALE places, as in the
 * price waterfall (PRICE_WORK_SCALE). */

#define TIER_SCALE 10

static int tw_fit(money_dec v, money_dec *out)
{
    money_dec n;
    int rc = money_normalize(v, &n);
    if (rc)
        return rc;
    if (n.scale > TIER_SCALE)
        return money_rescale(n, TIER_SCALE, MONEY_HALF_EVEN, out);
    *out = n;
    return 0;
}

static int tw_add(money_dec a, money_dec b, money_dec *out)
{
    money_dec r;
    int rc = money_add(a, b, &r);
    return rc ? rc : tw_fit(r, out);
}

static int tw_sub(money_dec a, money_dec b, money_dec *out)
{
    money_dec r;
    int rc = money_sub(a, b, &r);
    return rc ? rc : tw_fit(r, out);
}

static int tw_mul(money_dec a, money_dec b, money_dec *out)
{
    int scale = a.scale + b.scale > TIER_SCALE ? TIER_SCALE : a.scale + b.scale;
    money_dec r;
    int rc;
    while ((rc = money_mul(a, b, scale, MONEY_HALF_EVEN, &r)) == CPQD_ERANGE && scale > 2)
        scale--;
    return rc ? rc : tw_fit(r, out);
}

static money_dec tw_min(money_dec a, money_dec b)
{
    return money_cmp(a, b) <= 0 ? a : b;
}

/* Quantity counted by the bands: units, or whole blocks/packages. */
static int tier_units(const cat_pb_entry *e, money_dec qty, money_dec *units)
{
    if (e->tier_type != CAT_TIER_BLOCK && e->tier_type != CAT_TIER_PACKAGE) {
        *units = qty;
        return 0;
    }
    return money_div(qty, money_from_int(e->block_size ? e->block_size : 1), 0, MONEY_CEILING,
                     units);
}

/* A band price of the book's currency in the request currency: a unit
 * price, so rounded half-even to 6 places after conversion. */
static int band_price(money_dec v, money_dec rate, money_dec *out)
{
    if (rate.coef == 1 && rate.scale == 0) {
        *out = v;
        return 0;
    }
    money_dec x;
    int rc = tw_mul(v, rate, &x);
    return rc ? rc : money_rescale(x, 6, MONEY_HALF_EVEN, out);
}

/* The tiered amount of qty (docs/pricing.md "Tiers"): volume and package
 * price every unit (package) at the band reached; graduated and block
 * price each band's share at its own price. Band i covers counted
 * quantities from its `from` up to the next band's, offset by the first
 * band's `from` (0: continuous quantities, 1: unit numbers). */
int cat_tier_amount(const cat_pb_entry *e, money_dec rate, money_dec qty, money_dec *out)
{
    money_dec units;
    if (!e || !e->has_tiers || e->nbands == 0 || !money_is_valid(qty) || money_sign(qty) < 0)
        return CPQD_EINVAL;
    int rc = tier_units(e, qty, &units);
    if (rc)
        return rc;
    bool graduated = e->tier_type == CAT_TIER_GRADUATED || e->tier_type == CAT_TIER_BLOCK;
    money_dec off = e->bands[0].from, total = money_from_int(0), price;
    if (!graduated) {
        size_t k = 0;
        for (size_t i = 1; i < e->nbands; i++)
            if (money_cmp(units, e->bands[i].from) >= 0)
                k = i;
        rc = band_price(e->bands[k].price, rate, &price);
        return rc ? rc : tw_mul(units, price, out);
    }
    money_dec top; /* units + off: the end of the counted range */
    if ((rc = tw_add(units, off, &top)))
        return rc;
    for (size_t i = 0; i < e->nbands; i++) {
        money_dec lo = e->bands[i].from, hi = i + 1 < e->nbands ? e->bands[i + 1].from : top;
        hi = tw_min(hi, top);
        if (money_cmp(hi, lo) <= 0)
            break;
        money_dec span, part;
        if ((rc = tw_sub(hi, lo, &span)) || (rc = band_price(e->bands[i].price, rate, &price)) ||
            (rc = tw_mul(span, price, &part)) || (rc = tw_add(total, part, &total)))
            return rc;
    }
    *out = total;
    return 0;
}

/* ---- compiled extensions ---- */

void cat_ext_register(cat_ext_slot slot, int (*build_fn)(cat_snapshot *s, cpqd_errs *errs, void **out),
                      void (*free_fn)(void *ext))
{
    if ((int)slot >= 0 && slot < CAT_EXT_N)
        ext_hooks[slot] = (ext_hook){build_fn, free_fn};
}

void *cat_snapshot_ext(const cat_snapshot *s, cat_ext_slot slot)
{
    return (int)slot >= 0 && slot < CAT_EXT_N ? s->ext[slot] : NULL;
}

static int rule_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const cat_rule *)elem)->path);
}

const rules_chunk *cat_snapshot_rule(const cat_snapshot *s, const char *path)
{
    if (!path || !s->nrules)
        return NULL;
    const cat_rule *r = bsearch(path, s->rules, s->nrules, sizeof(*s->rules), rule_cmp);
    return r ? r->chunk : NULL;
}

size_t cat_snapshot_rule_count(const cat_snapshot *s)
{
    return s->nrules;
}

/* ---- accessors ---- */

const char *cat_snapshot_version(const cat_snapshot *s)
{
    return s->version;
}

long long cat_snapshot_loaded_at(const cat_snapshot *s)
{
    return s->loaded_at;
}

uint64_t cat_snapshot_serial(const cat_snapshot *s)
{
    return s->serial;
}

size_t cat_snapshot_bytes(const cat_snapshot *s)
{
    return sizeof(*s) + arena_bytes(s->a) + s->nproducts * sizeof(*s->products) +
           s->ncatalogs * sizeof(*s->catalogs);
}

const char *cat_snapshot_catalog_dir(const cat_snapshot *s)
{
    return s->catalog_dir;
}

const char *cat_snapshot_rules_dir(const cat_snapshot *s)
{
    return s->rules_dir;
}

size_t cat_snapshot_catalog_count(const cat_snapshot *s)
{
    return s->ncatalogs;
}

const cat_catalog *cat_snapshot_catalog_at(const cat_snapshot *s, size_t i)
{
    return i < s->ncatalogs ? &s->catalogs[i] : NULL;
}

size_t cat_snapshot_product_count(const cat_snapshot *s)
{
    return s->nproducts;
}

const cat_product *cat_snapshot_product_at(const cat_snapshot *s, size_t i)
{
    return i < s->nproducts ? s->products[i] : NULL;
}

const cat_product *cat_snapshot_product(const cat_snapshot *s, const char *sku, size_t len)
{
    size_t lo = 0, hi = s->nproducts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = s->products[mid]->sku;
        int c = strncmp(m, sku, len);
        if (c == 0 && m[len] != '\0')
            c = 1;
        if (c == 0)
            return s->products[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t cat_snapshot_prices(const cat_snapshot *s, const cat_product *p, cat_price_ref *out,
                           size_t cap)
{
    (void)s;
    const cat_catalog *c = p->catalog;
    size_t n = 0;
    for (size_t b = 0; b < c->nbooks; b++) {
        const cat_price_book *pb = &c->books[b];
        for (size_t e = 0; e < pb->nentries; e++) {
            if (pb->entries[e].product != p)
                continue;
            if (n < cap)
                out[n] = (cat_price_ref){pb, &pb->entries[e]};
            n++;
        }
    }
    return n;
}

const cat_partner *cat_snapshot_partner(const cat_snapshot *s, const char *id)
{
    for (size_t i = 0; i < s->ncatalogs; i++)
        for (size_t k = 0; k < s->catalogs[i].npartners; k++)
            if (strcmp(s->catalogs[i].partners[k].id, id) == 0)
                return &s->catalogs[i].partners[k];
    return NULL;
}

bool cat_snapshot_partner_can_accept(const cat_snapshot *s, const char *id, const char **catalog)
{
    if (catalog)
        *catalog = NULL;
    for (size_t i = 0; s && id && i < s->ncatalogs; i++)
        for (size_t k = 0; k < s->catalogs[i].npartners; k++)
            if (!s->catalogs[i].partners[k].can_accept &&
                strcmp(s->catalogs[i].partners[k].id, id) == 0) {
                if (catalog)
                    *catalog = s->catalogs[i].id;
                return false;
            }
    return true;
}

/* ---- attribute values ---- */

static int check_number(const cat_attr *a, const char *v, size_t len, const char **why)
{
    money_dec x, k;
    if (money_parse(v, len, &x) != 0 || (a->type == CAT_ATTR_INTEGER && x.scale != 0)) {
        *why = a->type == CAT_ATTR_INTEGER ? "is not an integer" : "is not a decimal number";
        return CPQD_EINVAL;
    }
    if ((a->has_min && money_cmp(x, a->min) < 0) || (a->has_max && money_cmp(x, a->max) > 0)) {
        *why = "is out of the attribute's range";
        return CPQD_EINVAL;
    }
    if (a->has_step && a->has_min) {
        money_dec d, back;
        if (money_sub(x, a->min, &d) || money_div(d, a->step, 0, MONEY_DOWN, &k) ||
            money_mul(k, a->step, d.scale > a->step.scale ? d.scale : a->step.scale, MONEY_DOWN,
                      &back) ||
            money_cmp(back, d) != 0) {
            *why = "is not on the attribute's step (min + k*step)";
            return CPQD_EINVAL;
        }
    }
    return 0;
}

static int check_text(const cat_attr *a, const char *v, size_t len, const char **why)
{
    if (len > a->max_length) {
        *why = "is longer than max_length";
        return CPQD_EINVAL;
    }
    if (!a->re)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        *why = "could not be checked (out of memory)";
        return CPQD_ENOMEM;
    }
    int r = pcre2_match(a->re, (PCRE2_SPTR)v, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    if (r >= 0)
        return 0;
    *why = r == PCRE2_ERROR_NOMATCH ? "does not match the attribute's pattern"
                                    : "is not valid UTF-8 or could not be matched";
    return CPQD_EINVAL;
}

int cat_attr_value_check(const cat_attr *a, const char *v, size_t len, const char **why)
{
    switch (a->type) {
    case CAT_ATTR_ENUM:
        for (size_t i = 0; i < a->nvalues; i++)
            if (strlen(a->values[i].id) == len && !memcmp(a->values[i].id, v, len))
                return 0;
        *why = "is not one of the attribute's values";
        return CPQD_EINVAL;
    case CAT_ATTR_INTEGER:
    case CAT_ATTR_DECIMAL:
        return check_number(a, v, len, why);
    default:
        return check_text(a, v, len, why);
    }
}

/* ---- names ---- */

/* The delivery modes, indexed by cat_mode: name and the `delivery` keys
 * each accepts beyond `mode` and `payment_term` (docs/catalog.md
 * "Delivery"). The loader, the views and the HTTP filters all read this
 * table. */
static const struct cat_mode_row {
    const char *name;
    const char *const *keys; /* NULL-terminated */
    bool metered;            /* sold in metered decimals (usage), else in whole units */
} cat_modes[] = {
    [CAT_MODE_GOODS] = {"goods", (const char *const[]){"lead_time_days", NULL}, false},
    [CAT_MODE_GOODS_WITH_SERVICE] = {"goods_with_service",
                                     (const char *const[]){"service_items", "acceptance_days",
                                                           NULL},
                                     false},
    [CAT_MODE_SUBSCRIPTION] = {"subscription",
                               (const char *const[]){"billing_period", "term_months", "billing",
                                                     "auto_renew", "bill_day", NULL},
                               false},
    [CAT_MODE_USAGE] = {"usage",
                        (const char *const[]){"billing_period", "metered_unit",
                                              "minimum_commitment", NULL},
                        true},
    [CAT_MODE_MILESTONE] = {"milestone", (const char *const[]){"milestones", NULL}, false},
};

#define CAT_NMODES (sizeof(cat_modes) / sizeof(cat_modes[0]))
_Static_assert(CAT_NMODES == (size_t)CAT_MODE_MILESTONE + 1, "one row per cat_mode");

size_t cat_mode_count(void)
{
    return CAT_NMODES;
}

const char *cat_mode_name(cat_mode m)
{
    return (size_t)m < CAT_NMODES ? cat_modes[m].name : "?";
}

int cat_mode_parse(const char *s, size_t len, cat_mode *out)
{
    for (size_t i = 0; s && i < CAT_NMODES; i++)
        if (strlen(cat_modes[i].name) == len && memcmp(cat_modes[i].name, s, len) == 0) {
            *out = (cat_mode)i;
            return 0;
        }
    return CPQD_EINVAL;
}

const char *cat_mode_list(char *buf, size_t cap)
{
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < CAT_NMODES && len < cap; i++) {
        int n = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", cat_modes[i].name);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    return buf;
}

bool cat_mode_accepts(cat_mode m, const char *key)
{
    if (!strcmp(key, "mode") || !strcmp(key, "payment_term"))
        return true;
    for (const char *const *k = (size_t)m < CAT_NMODES ? cat_modes[m].keys : NULL; k && *k; k++)
        if (!strcmp(*k, key))
            return true;
    return false;
}

/* ---- quantities ---- */

cat_qty_rule cat_qty_default(cat_mode m)
{
    bool metered = (size_t)m < CAT_NMODES && cat_modes[m].metered;
    return (cat_qty_rule){.min = money_from_int(metered ? 0 : 1),
                          .max = money_from_int(CAT_QTY_MAX),
                          .step = metered ? (money_dec){1, CAT_QTY_MAX_SCALE} : money_from_int(1)};
}

/* v at exactly CAT_QTY_MAX_SCALE places, if it has no more places than
 * that (trailing zeros aside) and |v| <= CAT_QTY_MAX. */
static bool qty_units(money_dec v, int64_t *out)
{
    static const int64_t p10[CAT_QTY_MAX_SCALE + 1] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    money_dec n, w;
    /* at most CAT_QTY_MAX_SCALE places already (nearly every quantity and
     * rule): the units are the coefficient times a power of ten; a product
     * that overflows is far over CAT_QTY_MAX */
    if (v.scale >= 0 && v.scale <= CAT_QTY_MAX_SCALE && v.coef != INT64_MIN) {
        int64_t u, lim = CAT_QTY_MAX * p10[CAT_QTY_MAX_SCALE];
        if (__builtin_mul_overflow(v.coef, p10[CAT_QTY_MAX_SCALE - v.scale], &u) || u > lim ||
            u < -lim)
            return false;
        *out = u;
        return true;
    }
    if (money_normalize(v, &n) != 0 || n.scale > CAT_QTY_MAX_SCALE ||
        money_cmp(n, money_from_int(CAT_QTY_MAX)) > 0 ||
        money_cmp(n, money_from_int(-CAT_QTY_MAX)) < 0 ||
        money_rescale(n, CAT_QTY_MAX_SCALE, MONEY_DOWN, &w) != 0)
        return false;
    *out = w.coef;
    return true;
}

bool cat_qty_fits(const cat_qty_rule *r, money_dec q)
{
    int64_t v, lo, hi, step;
    if (!money_is_valid(q) || !qty_units(q, &v) || !qty_units(r->min, &lo) ||
        !qty_units(r->max, &hi) || !qty_units(r->step, &step) || step <= 0)
        return false;
    return v >= lo && v <= hi && (v - lo) % step == 0;
}

const char *cat_qty_rule_text(const cat_qty_rule *r, char *buf, size_t cap)
{
    char lo[MONEY_FMT_MAX], hi[MONEY_FMT_MAX], st[MONEY_FMT_MAX];
    money_dec a, b, c;
    if (cap == 0)
        return buf;
    if (money_normalize(r->min, &a) || money_normalize(r->max, &b) ||
        money_normalize(r->step, &c) || money_format(a, lo, sizeof(lo)) < 0 ||
        money_format(b, hi, sizeof(hi)) < 0 || money_format(c, st, sizeof(st)) < 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    if (c.scale == 0 && c.coef == 1 && a.scale == 0)
        snprintf(buf, cap, "whole numbers from %s to %s", lo, hi);
    else if (c.coef == 1 && c.scale == CAT_QTY_MAX_SCALE && a.scale <= CAT_QTY_MAX_SCALE)
        snprintf(buf, cap, "decimals with at most %d places from %s to %s", CAT_QTY_MAX_SCALE, lo,
                 hi);
    else
        snprintf(buf, cap, "from %s in steps of %s to %s", lo, st, hi);
    return buf;
}

int cat_qty_check(const cat_product *p, money_dec q, bool zero_ok, char *why, size_t cap)
{
    if (cat_qty_fits(&p->quantity, q) || (zero_ok && money_is_valid(q) && money_is_zero(q)))
        return 0;
    if (why && cap) {
        char qt[MONEY_FMT_MAX], rule[160];
        if (money_format(q, qt, sizeof(qt)) < 0)
            snprintf(qt, sizeof(qt), "?");
        snprintf(why, cap, "%s is not a quantity of %s: %s", qt, p->sku,
                 cat_qty_rule_text(&p->quantity, rule, sizeof(rule)));
    }
    return CPQD_EINVAL;
}

bool cat_amount_ok(money_dec a)
{
    return money_is_valid(a) && money_cmp(a, money_from_int(CAT_AMOUNT_MAX)) <= 0 &&
           money_cmp(a, money_from_int(-CAT_AMOUNT_MAX)) >= 0;
}

const char *cat_bounds_name(cat_bounds b)
{
    return b == CAT_BOUNDS_BASE ? "base" : "unit";
}

const char *cat_period_name(cat_period p)
{
    static const char *const n[] = {"none", "monthly", "quarterly", "yearly"};
    return (unsigned)p < 4 ? n[p] : "?";
}

const char *cat_attr_type_name(cat_attr_type t)
{
    static const char *const n[] = {"enum", "integer", "decimal", "text"};
    return (unsigned)t < 4 ? n[t] : "?";
}

const char *cat_tier_type_name(cat_tier_type t)
{
    static const char *const n[] = {"volume", "graduated", "block", "package"};
    return (unsigned)t < 4 ? n[t] : "?";
}

const char *cat_effect_name(cat_effect e)
{
    static const char *const n[] = {"percent_off", "amount_off", "special_price", "free_item",
                                    "bundle_price"};
    return (unsigned)e < 5 ? n[e] : "?";
}

const char *cat_due_name(cat_due d)
{
    static const char *const n[] = {"signing", "delivery", "acceptance", "end_of_month", "date"};
    return (unsigned)d < 5 ? n[d] : "?";
}

const char *cat_invoice_issue_name(cat_invoice_issue i)
{
    static const char *const n[] = {"manual", "on_bill_date", "on_due_date"};
    return (unsigned)i < 3 ? n[i] : NULL;
}

static const char *account_of(const cat_account_ref *refs, size_t n, const char *key,
                              const char *dflt)
{
    for (size_t i = 0; key && i < n; i++)
        if (strcmp(refs[i].key, key) == 0)
            return refs[i].account;
    return dflt;
}

const char *cat_finance_revenue_account(const cat_finance *f, const char *category)
{
    return account_of(f->accounts.revenue_by_category, f->accounts.nrevenue_by_category, category,
                      f->accounts.revenue);
}

const char *cat_finance_tax_account(const cat_finance *f, const char *tax_class)
{
    return account_of(f->accounts.tax_payable_by_class, f->accounts.ntax_payable_by_class,
                      tax_class, f->accounts.tax_payable);
}

/* ---- the current snapshot ---- */

cat_snapshot *cat_current_acquire(void)
{
    pthread_mutex_lock(&current_lock);
    cat_snapshot *s = cat_snapshot_retain(current);
    pthread_mutex_unlock(&current_lock);
    return s;
}

void cat_current_publish_take(cat_snapshot *s)
{
    pthread_mutex_lock(&current_lock);
    cat_snapshot *old = current;
    current = s;
    pthread_mutex_unlock(&current_lock);
    cat_snapshot_release(old);
}
