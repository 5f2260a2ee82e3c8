/*
 * fuzz_scalars: the small parsers of outside text. The first line names
 * one, the rest is its input:
 *   money   money_parse (every decimal in a request, a catalog, a key
 *           file); a parsed value formats back to text that parses to the
 *           same coefficient and scale
 *   split   "TOTAL N SCALE": money_split into N parts at SCALE places;
 *           the parts add back to TOTAL exactly (docs: a split adds back
 *           to its whole)
 *   date    date_parse (--clock, every date of a request); a parsed date
 *           formats back to the same ten bytes
 *   round   money_round_parse (catalog rounding modes)
 *   role    auth_role_parse (key file roles, --role)
 *   level   log_level_parse (--log-level)
 */
#include "fuzz.h"

#include "cpqd/auth.h"
#include "cpqd/date.h"
#include "cpqd/log.h"
#include "cpqd/money.h"

#include <inttypes.h>

static void money_case(const char *s, size_t n)
{
    money_dec v, w;
    char buf[MONEY_FMT_MAX];
    if (money_parse(s, n, &v) != 0)
        return;
    if (!money_is_valid(v) || money_format(v, buf, sizeof(buf)) < 0)
        fz_fail("money_parse made a value money_format refuses", NULL);
    if (money_parse(buf, strlen(buf), &w) != 0 || w.coef != v.coef || w.scale != v.scale)
        fz_fail("money_format does not read back", buf);
}

#define SPLIT_MAX 64

static void split_case(const char *s)
{
    char total[64];
    unsigned n, scale;
    money_dec t, parts[SPLIT_MAX], sum = money_from_int(0);
    if (sscanf(s, "%63s %u %u", total, &n, &scale) != 3 || n == 0 || n > SPLIT_MAX ||
        scale > 18 || money_parse(total, strlen(total), &t) != 0)
        return;
    if (money_split(t, n, (int)scale, parts) != 0)
        return;
    for (unsigned i = 0; i < n; i++)
        if (money_add(sum, parts[i], &sum) != 0)
            fz_fail("split parts overflow their sum", total);
    if (money_cmp(sum, t) != 0)
        fz_fail("split parts do not add back to the total", total);
}

static void date_case(const char *s, size_t n)
{
    date_days d;
    char buf[DATE_FMT_LEN];
    if (date_parse(s, n, &d) != 0)
        return;
    date_format(d, buf);
    if (n != 10 || memcmp(buf, s, 10) != 0)
        fz_fail("date_format does not give the parsed text back", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char what[16];
    if (!fz_first_line(&data, &size, what, sizeof(what)))
        return 0;
    char *s = strndup((const char *)data, size); /* the C-string parsers see up to a NUL */
    if (!s)
        fz_fail("out of memory", NULL);
    money_round r;
    auth_role ar;
    log_level l;
    if (!strcmp(what, "money"))
        money_case((const char *)data, size);
    else if (!strcmp(what, "split"))
        split_case(s);
    else if (!strcmp(what, "date"))
        date_case((const char *)data, size);
    else if (!strcmp(what, "round") && money_round_parse(s, &r) == 0 &&
             strcmp(money_round_name(r), s))
        fz_fail("money_round_name does not give the parsed name back", s);
    else if (!strcmp(what, "role") && auth_role_parse(s, &ar) == 0 && strcmp(auth_role_name(ar), s))
        fz_fail("auth_role_name does not give the parsed name back", s);
    else if (!strcmp(what, "level") && log_level_parse(s, &l) == 0 && !strcmp(log_level_name(l), "?"))
        fz_fail("log_level_parse made a level without a name", s);
    free(s);
    return 0;
}
