-- CIMT 2027 展会特价限量 Show-price quota (limit of promotion cimt-2027,
-- catalogs/cnc.yaml).
--
-- Rule: the show price of the VMC-850 is offered on the first 10 machines
-- ordered during the show.
--
-- Inputs: none yet (the Pricing issue fixes the rule API; ctx will carry the
-- promotion, the customer and the request). The host keeps the usage
-- counters, shared across instances (DESIGN.md "Scaling out").
-- Output: the cap on redemptions of this promotion across all instances
-- (an integer), or nil for no cap.

local CAP = 10

return CAP
