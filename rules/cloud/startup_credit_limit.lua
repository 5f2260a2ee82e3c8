-- 初创企业抵扣券限量 Start-up credit quota (limit of promotion startup-credit,
-- catalogs/cloud.yaml).
--
-- Rule: 2,000 start-up credits of 3000.00 CNY are funded for 2026-2027.
--
-- Inputs: none yet (the Pricing issue fixes the rule API; ctx will carry the
-- promotion, the customer and the request). The host keeps the usage
-- counters, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 2000

return CAP
