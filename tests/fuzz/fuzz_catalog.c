/*
 * fuzz_catalog: catalog YAML files (docs/catalog.md), loaded from a file
 * as `cpqd serve` and `cpqd check` load them: the YAML node tree, every
 * field decoded and validated, cross references linked, rules compiled,
 * the price index and the configurator models built; a catalog that loads
 * is then checked as `cpqd check` checks it (dead options, constraints
 * that never hold). The rules directory holds the rule trees of rules/ and
 * of the test fixtures, so that the seeds' rule references resolve.
 */
#include "fuzz.h"

#include <errno.h>
#include <glob.h>
#include <sys/stat.h>

/* One directory with a link to every rule tree the seeds refer to. */
static char *rules_union(void)
{
    static const char *const trees[] = {"rules/*", "tests/data/*/rules/*"};
    char *dir = strdup(fz_file("rules"));
    if (!dir || mkdir(dir, 0700) != 0)
        fz_fail("cannot make the rules directory", dir);
    for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
        char *pat = fz_path(trees[i]), link[600];
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0)
            for (size_t k = 0; k < g.gl_pathc; k++) {
                const char *base = strrchr(g.gl_pathv[k], '/') + 1;
                snprintf(link, sizeof(link), "%s/%s", dir, base);
                char *target = realpath(g.gl_pathv[k], NULL);
                if (!target || (symlink(target, link) != 0 && errno != EEXIST))
                    fz_fail("cannot link a rule tree", g.gl_pathv[k]);
                free(target);
            }
        globfree(&g);
        free(pat);
    }
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *rules;
    if (!rules) {
        price_register();
        cat_ext_register(CAT_EXT_SOLVER, solver_snapshot_build, solver_snapshot_free);
        rules = rules_union();
    }
    const char *file = fz_file("fuzz.yaml");
    fz_write(file, data, size);
    cpqd_errs *e = errs_new(), *notes = errs_new();
    cat_snapshot *s = cat_snapshot_load_path(file, rules, e);
    if (!s && errs_count(e) == 0)
        fz_fail("a catalog refused without a reason", NULL);
    if (s)
        solver_snapshot_check(s, e, notes);
    fz_errs_render(e);
    fz_notes_render(notes);
    cat_snapshot_release(s);
    errs_free(e);
    errs_free(notes);
    return 0;
}
