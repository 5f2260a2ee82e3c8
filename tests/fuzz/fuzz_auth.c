/*
 * fuzz_auth: API key files (docs/auth.md), loaded by auth_keys_load as
 * `cpqd serve --keys` loads them; a file that loads is asked for a key.
 */
#include "fuzz.h"

#include "cpqd/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = fz_file("keys.yaml");
    fz_write(file, data, size);
    cpqd_errs *e = errs_new();
    auth_keys *k = NULL;
    int rc = auth_keys_load(file, &k, e);
    if (rc != 0 && (k || errs_count(e) == 0))
        fz_fail("a key file refused without a reason, or half loaded", NULL);
    if (rc == 0) {
        static const char token[] = "cpqd_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
        const auth_key *key = auth_keys_lookup(k, token, sizeof(token) - 1);
        if (key && (!key->id || !auth_role_name(key->role)))
            fz_fail("a key without an id or a role", NULL);
    }
    fz_errs_render(e);
    auth_keys_free(k);
    errs_free(e);
    return 0;
}
