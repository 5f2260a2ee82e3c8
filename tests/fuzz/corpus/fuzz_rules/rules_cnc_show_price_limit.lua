-- CIMT 2027 展会特价限量 Show-price quota (limit of promotion cimt-2027,
-- catalogs/cnc.yaml).
--
-- Rule: the show price of the VMC-850 is offered on the first 10 machines
-- ordered during the show.
--
-- Inputs: ctx (docs/rules.md "Limit rules"); this quota needs none of it:
-- the host compares the cap with ctx.usage.uses, the redemptions counted
-- by the usage store, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 10

return CAP
