-- 新签首年8折限量 New-logo first-year discount quota (limit of promotion
-- new-logo-first-year, catalogs/saas.yaml).
--
-- Rule: the first-year 20% discount is approved for 300 new customers.
--
-- Inputs: none yet (the Pricing issue fixes the rule API; ctx will carry the
-- promotion, the customer and the request). The host keeps the usage
-- counters, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 300

return CAP
