/*
 * fuzz_rules: Lua rule sources, compiled with rules_compile and, when they
 * compile, evaluated in one production sandbox state (default limits)
 * kept across inputs as a worker keeps it, with the input a formula gets
 * (docs/rules.md "Formula rules"). After every evaluation the state must
 * pass rules_state_check (no hook armed, no limit left tripped, stack
 * empty, string metatable intact): nothing a rule does may outlive it.
 */
#include "fuzz.h"

#include "cpqd/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rules_state *st;
    static rules_result res; /* 4 KiB of text: not on the stack */
    int err = 0;
    if (!st && !(st = rules_state_new(NULL, &err)))
        fz_fail("rules_state_new", NULL);
    cpqd_errs *e = errs_new();
    rules_chunk *ch = NULL;
    int rc = rules_compile(st, "fuzz.lua", (const char *)data, size, &ch, e);
    if (rc != 0 && rc != CPQD_EINVAL && rc != CPQD_ELIMIT)
        fz_fail("rules_compile returned an unexpected code", err_code_name(rc));
    if (rc == 0) {
        const rules_field attrs[] = {
            {"delivery_floor", rules_value_int(7)},
            {"color", rules_value_str("white", 5)},
        };
        const rules_field opts[] = {{"SP-12K", rules_value_dec((money_dec){2, 0})}};
        const rules_field cust[] = {{"id", rules_value_str("C-1", 3)},
                                    {"segment", rules_value_str("distributor", 11)}};
        const rules_field ctx[] = {
            {"price", rules_value_dec((money_dec){199900, 2})},
            {"list", rules_value_dec((money_dec){199900, 2})},
            {"quantity", rules_value_dec((money_dec){3, 0})},
            {"sku", rules_value_str("APL-KTL-17", 10)},
            {"currency", rules_value_str("CNY", 3)},
            {"date", rules_value_str("2026-12-01", 10)},
            {"attributes", rules_value_table(attrs, 2)},
            {"options", rules_value_table(opts, 1)},
            {"customer", rules_value_table(cust, 2)},
        };
        const rules_field top[] = {{"ctx", rules_value_table(ctx, 9)}};
        rules_value in = rules_value_table(top, 1);
        char line[256];
        rc = rules_eval(st, ch, &in, RULES_ACCEPT_ANY, &res);
        if (rc == CPQD_ENOMEM || rc == CPQD_EINTERNAL)
            fz_fail("rules_eval returned", err_code_name(rc));
        rules_result_format(&res, line, sizeof(line));
        if (rules_state_check(st) != 0)
            fz_fail("the sandbox state is not clean after an evaluation", line);
    }
    fz_errs_render(e);
    rules_chunk_free(ch);
    rules_state_cache_clear(st); /* as after a reload: inputs never share compiled code */
    errs_free(e);
    return 0;
}
