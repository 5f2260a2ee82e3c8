/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share: the repository
 * root, a private scratch directory for parsers that read files, the
 * sample catalogs loaded once per process, and rendering every error a
 * parser reported (so a bad message format or a dangling position is
 * found too).
 *
 * A target parses one input per call and frees everything it made before
 * returning: libFuzzer counts a leak as a crash. State kept across inputs
 * (a snapshot, a Lua state, a solver context) is what a worker keeps
 * across requests. Targets run from the repository root, or from
 * $CPQD_ROOT (tests/fuzz/run-fuzz.sh sets it).
 */
#ifndef CPQD_FUZZ_H
#define CPQD_FUZZ_H

#include "cpqd/cat.h"
#include "cpqd/err.h"
#include "cpqd/import.h"
#include "cpqd/price.h"
#include "cpqd/solver.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message: a broken invariant is a crash libFuzzer keeps. */
static inline void fz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* root/rel, malloc'ed. */
static inline char *fz_path(const char *rel)
{
    const char *root = getenv("CPQD_ROOT");
    char *p = NULL;
    if (asprintf(&p, "%s/%s", root && *root ? root : ".", rel) < 0)
        fz_fail("out of memory", NULL);
    return p;
}

static char fz_dir[256]; /* scratch directory of this process, "" until made */

static inline int fz_rm(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static inline void fz_dir_remove(void)
{
    if (fz_dir[0])
        nftw(fz_dir, fz_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* dir/name in the scratch directory (tmpfs when there is one: inputs are
 * written there at every execution), made on first use, removed at exit.
 * Returns a static buffer. */
static inline const char *fz_file(const char *name)
{
    static char p[512];
    if (!fz_dir[0]) {
        const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fz_dir, sizeof(fz_dir), "%s/cpqd-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fz_dir))
            fz_fail("cannot make a scratch directory", fz_dir);
        atexit(fz_dir_remove);
    }
    snprintf(p, sizeof(p), "%s/%s", fz_dir, name);
    return p;
}

/* Writes data[0..n) to path (replacing it). */
static inline void fz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        fz_fail("cannot write", path);
}

/* Formats every entry of e as `cpqd check` prints it (notes carry no
 * error code). */
static inline void fz_notes_render(const cpqd_errs *e)
{
    for (size_t i = 0; i < errs_count(e); i++) {
        char *s = errs_format(e, i);
        if (!s)
            fz_fail("errs_format failed", NULL);
        free(s);
    }
}

/* Renders every error of e as the CLI and the HTTP layer do. An error
 * without a negative code, or one that says an invariant broke
 * (CPQD_EINTERNAL), is a bug whatever the input. */
static inline void fz_errs_render(const cpqd_errs *e)
{
    for (size_t i = 0; i < errs_count(e); i++) {
        const cpqd_err *x = errs_get(e, i);
        if (x->code >= 0 || x->code == CPQD_EINTERNAL)
            fz_fail("an error without a code, or an internal one", x->msg);
    }
    fz_notes_render(e);
}

/* Splits the first line (at most cap - 1 bytes, no NUL) off *data as a
 * NUL-terminated word into buf; false when there is no such line. Targets
 * that serve several routes name the route on the first line. */
static inline bool fz_first_line(const uint8_t **data, size_t *size, char *buf, size_t cap)
{
    const uint8_t *nl = memchr(*data, '\n', *size < cap ? *size : cap);
    if (!nl || memchr(*data, '\0', (size_t)(nl - *data)))
        return false;
    size_t n = (size_t)(nl - *data);
    memcpy(buf, *data, n);
    buf[n] = '\0';
    *size -= n + 1;
    *data = nl + 1;
    return true;
}

/* The sample catalogs (catalogs/, rules/), loaded once as `cpqd serve`
 * loads them (price index and configurator models built). */
static inline cat_snapshot *fz_sample_snapshot(void)
{
    static cat_snapshot *s;
    if (s)
        return s;
    price_register();
    cat_ext_register(CAT_EXT_SOLVER, solver_snapshot_build, solver_snapshot_free);
    char *cats = fz_path("catalogs"), *rules = fz_path("rules");
    cpqd_errs *e = errs_new();
    s = e ? cat_snapshot_load(cats, rules, e) : NULL;
    if (!s) {
        for (size_t i = 0; e && i < errs_count(e); i++)
            fprintf(stderr, "%s\n", errs_get(e, i)->msg);
        fz_fail("cannot load the sample catalogs under", cats);
    }
    errs_free(e);
    free(cats);
    free(rules);
    return s;
}

/* Imports larger than this many attributes are not loaded back: a
 * 40-byte DIMACS header may declare 100,000 variables, and loading its
 * 13 MB catalog under the sanitizers takes seconds that find nothing new. */
#define FZ_IMPORT_LOAD_MAX 2000

/* Imports inputs[0..n) in format f into a catalog file and, when the
 * import succeeds, loads that catalog: an importer that writes a catalog
 * cpqd refuses is as wrong as one that crashes. */
static inline void fz_import(import_format f, const char *const *inputs, size_t n)
{
    static char *rules;
    if (!rules)
        rules = fz_path("rules");
    const char *p = fz_file("out.yaml");
    char out[512];
    snprintf(out, sizeof(out), "%s", p);
    cpqd_errs *e = errs_new();
    import_opts o = {.id = NULL, .out = out};
    import_stats st;
    int rc = import_run(f, inputs, n, &o, e, &st);
    if (rc != 0 && errs_count(e) == 0)
        fz_fail("an import refused without a reason", NULL);
    fz_errs_render(e);
    if (rc == 0 && st.attributes <= FZ_IMPORT_LOAD_MAX) {
        cpqd_errs *le = errs_new();
        cat_snapshot *s = cat_snapshot_load_path(out, rules, le);
        for (size_t i = 0; !s && i < errs_count(le); i++)
            fprintf(stderr, "%s:%u:%u: %s\n", errs_get(le, i)->file ? errs_get(le, i)->file : "",
                    errs_get(le, i)->line, errs_get(le, i)->col, errs_get(le, i)->msg);
        if (!s)
            fz_fail("the imported catalog does not load", out);
        cat_snapshot_release(s);
        errs_free(le);
    }
    unlink(out);
    errs_free(e);
}

#endif
