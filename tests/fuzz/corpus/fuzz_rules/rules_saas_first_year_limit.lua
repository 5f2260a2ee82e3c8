-- 新签首年8折限量 New-logo first-year discount quota (limit of promotion
-- new-logo-first-year, catalogs/saas.yaml).
--
-- Rule: the first-year 20% discount is approved for 300 new customers.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 300

return CAP
