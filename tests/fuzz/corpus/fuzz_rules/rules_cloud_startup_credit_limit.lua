-- 初创企业抵扣券限量 Start-up credit quota (limit of promotion startup-credit,
-- catalogs/cloud.yaml).
--
-- Rule: 2,000 start-up credits of 3000.00 CNY are funded for 2026-2027.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 2000

return CAP
