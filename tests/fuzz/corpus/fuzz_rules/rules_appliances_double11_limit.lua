-- 双十一限量 Singles' Day redemption cap (limit of promotion double11,
-- catalogs/appliances.yaml).
--
-- Rule: the 15% Singles' Day discount is budgeted for 20,000 order lines
-- across all channels; later orders pay the normal price.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 20000

return CAP
