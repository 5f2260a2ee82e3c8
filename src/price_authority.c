/*
 * price_authority: who may set which price (docs/auth.md "Money
 * authority").
 *
 * Owns: the discount authority of a caller in a catalog (its key's, an
 * admin's, a partner's `discount_authority`, else its role's approval
 * level), the approval level a discount or an out-of-bounds price needs,
 * and the check of an amount a caller sets in place of the one the
 * service would set (renewal and seat-change prices after signing).
 * The waterfall's requested discounts (step 6) and floor/ceiling (step 8)
 * read the same functions, so one rule decides on every route.
 * Does not own: the waterfall (price.c), who may call a route (http's
 * route table), the approval workflow of quotes (quote).
 *
 * Invariant: an amount that differs from the service's is allowed only
 * when the caller is no partner, its discount (if lower) is within its
 * authority, and it lies within the floor and ceiling of the book that
 * would price the line that day, or the caller is the catalog's top
 * approval level (who approves out-of-bounds prices on quotes).
 */
#include "price_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool price_authority_of(const cat_catalog *cc, const price_who *who, money_dec *pct)
{
    if (who->has_authority) { /* set on the caller's API key */
        *pct = who->authority;
        return true;
    }
    /* no role means a rep (docs/pricing.md, `role`) */
    const char *role = who->role ? who->role : "rep";
    if (!strcmp(role, "admin")) {
        *pct = money_from_int(100);
        return true;
    }
    if (!strcmp(role, "partner")) {
        for (size_t i = 0; who->partner_id && i < cc->npartners; i++)
            if (!strcmp(cc->partners[i].id, who->partner_id)) {
                *pct = cc->partners[i].discount_authority;
                return true;
            }
        return false;
    }
    for (size_t i = 0; i < cc->napprovals; i++)
        if (!strcmp(cc->approvals[i].id, role)) {
            *pct = cc->approvals[i].max_discount;
            return true;
        }
    return false;
}

const char *price_level_for(const cat_catalog *cc, money_dec pct)
{
    for (size_t i = 0; i < cc->napprovals; i++)
        if (money_cmp(cc->approvals[i].max_discount, pct) >= 0)
            return cc->approvals[i].id;
    return price_level_top(cc);
}

const char *price_level_top(const cat_catalog *cc)
{
    return cc->napprovals ? cc->approvals[cc->napprovals - 1].id : "approver";
}

/* Whether who may approve prices outside floor and ceiling in cc. */
static bool approves_bounds(const cat_catalog *cc, const price_who *who)
{
    const char *role = who->role ? who->role : "rep";
    return !strcmp(role, "admin") || (cc->napprovals && !strcmp(role, price_level_top(cc)));
}

/* ---- a price set in place of the service's ---- */

static int refuse(price_verdict *v, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(price_verdict *v, const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->allowed = false;
    v->level = level;
    return 0;
}

/* The book entry whose floor and ceiling bound the line (the contracted
 * or partner entry, else the list entry: as step 8 takes them), with the
 * rate to the change's currency. */
static int bounding_entry(const cat_snapshot *s, const price_change *ch,
                          const cat_pb_entry **e, money_dec *rate, const cat_price_book **b)
{
    price_request rq = {.customer_id = ch->customer_id,
                        .segment = ch->segment,
                        .partner_id = ch->partner_id,
                        .date = ch->on};
    price_result r = {.date = ch->on};
    memcpy(r.currency, ch->currency, sizeof(r.currency));
    pctx c = {.s = s, .rq = &rq, .r = &r};
    if (money_currency_minor(ch->currency, &c.minor) != 0)
        return CPQD_EINVAL;
    if (price_find_entry(&c, ch->product, true, b, e, rate) == 0)
        return 0;
    return price_find_entry(&c, ch->product, false, b, e, rate);
}

/* The bound (floor or ceiling) of e for qty units in the change's
 * currency, exactly, with tax as the amounts carry it: contract amounts
 * are what the customer pays, so a catalog whose prices exclude tax has
 * its bound grossed up by the product's rate. */
static int bound_of(const price_change *ch, const cat_pb_entry *e, money_dec rate, bool floor,
                    money_dec *out)
{
    const cat_product *p = ch->product;
    const cat_tax_class *tc = price_tax_class(p);
    money_dec unit, ext, gross = money_from_int(1);
    int rc = money_mul(floor ? e->floor : e->ceiling, rate, PRICE_WORK_SCALE, MONEY_HALF_EVEN,
                       &unit);
    if (rc == 0)
        rc = money_mul(unit, ch->qty, PRICE_WORK_SCALE, MONEY_HALF_EVEN, &ext);
    if (rc == 0 && tc && !p->catalog->prices_include_tax)
        rc = money_add(gross, tc->rate, &gross);
    return rc ? rc : money_mul(ext, gross, PRICE_WORK_SCALE, MONEY_HALF_EVEN, out);
}

int price_change_check(const cat_snapshot *s, const price_who *who, const price_change *ch,
                       price_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    int cmp = money_cmp(ch->asked, ch->reference);
    if (cmp == 0)
        return 0;
    const cat_catalog *cc = ch->product->catalog;
    char ask[MONEY_FMT_MAX], ref[MONEY_FMT_MAX];
    if (money_format(ch->asked, ask, sizeof(ask)) < 0 ||
        money_format(ch->reference, ref, sizeof(ref)) < 0)
        return CPQD_ERANGE;
    if (who->role && !strcmp(who->role, "partner"))
        return refuse(out, NULL, "%s %s: a partner cannot set a price (the contract's is %s)",
                      ch->field, ask, ref);
    if (cmp < 0) {
        /* a lower amount is a discount off the service's: (ref - asked) / ref */
        money_dec off, off100, pct, auth;
        int rc = money_sub(ch->reference, ch->asked, &off);
        if (rc == 0)
            rc = money_mul_int(off, 100, &off100);
        if (rc == 0) /* rounded up: 10.001% is beyond an authority of 10% */
            rc = money_div(off100, ch->reference, 4, MONEY_UP, &pct);
        if (rc)
            return rc;
        char p[MONEY_FMT_MAX];
        if (money_format(pct, p, sizeof(p)) < 0)
            return CPQD_ERANGE;
        if (!price_authority_of(cc, who, &auth))
            return refuse(out, price_level_for(cc, pct),
                          "%s %s is %s%% below %s: the %s role has no discount authority",
                          ch->field, ask, p, ref, who->role ? who->role : "rep");
        if (money_cmp(pct, auth) > 0)
            return refuse(out, price_level_for(cc, pct),
                          "%s %s is %s%% below %s, beyond the %s authority",
                          ch->field, ask, p, ref, who->role ? who->role : "rep");
    }
    const cat_pb_entry *e = NULL;
    const cat_price_book *b = NULL;
    money_dec rate;
    if (bounding_entry(s, ch, &e, &rate, &b) != 0 || approves_bounds(cc, who))
        return 0; /* no book prices it that day: nothing bounds it */
    for (int fl = 1; fl >= 0; fl--) {
        money_dec bound;
        if (fl ? !e->has_floor : !e->has_ceiling)
            continue;
        int rc = bound_of(ch, e, rate, fl, &bound);
        if (rc)
            return rc;
        int c = money_cmp(ch->asked, bound);
        if (fl ? c < 0 : c > 0)
            return refuse(out, price_level_top(cc), "%s %s is %s the %s of book %s", ch->field,
                          ask, fl ? "below" : "above", fl ? "floor" : "ceiling", b->id);
    }
    return 0;
}
