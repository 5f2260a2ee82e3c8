-- 新家焕新券 New-home coupon cap (limit of promotion new-home-coupon,
-- catalogs/appliances.yaml).
--
-- Rule: 50,000 coupons NEWHOME-2026 were issued; each redeems once, so the
-- promotion stops after 50,000 redemptions.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 50000

return CAP
