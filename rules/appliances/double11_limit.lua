-- 双十一限量 Singles' Day redemption cap (limit of promotion double11,
-- catalogs/appliances.yaml).
--
-- Rule: the 15% Singles' Day discount is budgeted for 20,000 order lines
-- across all channels; later orders pay the normal price.
--
-- Inputs: none yet (the Pricing issue fixes the rule API; ctx will carry the
-- promotion, the customer and the request). The host keeps the usage
-- counters, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 20000

return CAP
