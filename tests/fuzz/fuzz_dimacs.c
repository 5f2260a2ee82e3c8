/*
 * fuzz_dimacs: DIMACS CNF files (`cpqd import dimacs`); a file that
 * imports must give a catalog that loads.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[512];
    snprintf(in, sizeof(in), "%s", fz_file("model.dimacs"));
    fz_write(in, data, size);
    const char *inputs[] = {in};
    fz_import(IMPORT_DIMACS, inputs, 1);
    return 0;
}
