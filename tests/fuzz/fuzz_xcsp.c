/*
 * fuzz_xcsp: XCSP 2.1 instances (`cpqd import xcsp`), read by libxml2 and
 * the importer; an instance that imports must give a catalog that loads.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[512];
    snprintf(in, sizeof(in), "%s", fz_file("instance.xml"));
    fz_write(in, data, size);
    const char *inputs[] = {in};
    fz_import(IMPORT_XCSP, inputs, 1);
    return 0;
}
