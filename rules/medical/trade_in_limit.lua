-- 监护仪以旧换新限量 Monitor trade-in quota (limit of promotion
-- monitor-trade-in, catalogs/medical.yaml).
--
-- Rule: the trade-in budget covers 500 patient monitors in 2026 H2.
--
-- Inputs: none yet (the Pricing issue fixes the rule API; ctx will carry the
-- promotion, the customer and the request). The host keeps the usage
-- counters, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 500

return CAP
