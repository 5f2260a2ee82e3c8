-- 监护仪以旧换新限量 Monitor trade-in quota (limit of promotion
-- monitor-trade-in, catalogs/medical.yaml).
--
-- Rule: the trade-in budget covers 500 patient monitors in 2026 H2.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 500

return CAP
