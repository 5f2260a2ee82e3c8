/*
 * fuzz_clib: CLib tables (`cpqd import clib`): the input is domains.txt,
 * then up to three .pm tables, each after a line "%%" (a seed:
 * "Var1 : A, B\n%%\nVar1 = A\n"). A set that imports must give a catalog
 * that loads.
 */
#include "fuzz.h"

#define CLIB_MAX_TABLES 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"domains.txt", "001.pm", "002.pm", "003.pm"};
    char paths[CLIB_MAX_TABLES + 1][512];
    const char *inputs[CLIB_MAX_TABLES + 1];
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n <= CLIB_MAX_TABLES) {
        const uint8_t *sep = NULL;
        for (const uint8_t *q = p; q + 3 <= end && !sep; q++)
            if ((q == data || q[-1] == '\n') && !memcmp(q, "%%\n", 3))
                sep = q;
        if (n == CLIB_MAX_TABLES)
            sep = NULL; /* the last table takes the rest */
        snprintf(paths[n], sizeof(paths[n]), "%s", fz_file(names[n]));
        fz_write(paths[n], p, (size_t)((sep ? sep : end) - p));
        inputs[n] = paths[n];
        n++;
        if (!sep)
            break;
        p = sep + 3;
    }
    fz_import(IMPORT_CLIB, inputs, n);
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    return 0;
}
