-- 商业级支持 Business support on monthly spend (product formula of
-- CLD-SUP-BIZ, catalogs/cloud.yaml).
--
-- Rule: the metered quantity is the month's cloud spend in CNY; the book's
-- graduated tiers give 10% / 7% / 5% of it and minimum_commitment the
-- 2,000.00 floor. This rule only guards the rate: a rate above 0.10 per CNY
-- (a mistyped book entry) is capped at 0.10.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  rate per CNY of spend at this step (decimal,
--                              a unit price: up to 6 places)
-- Output: 0.10 (decimal) when the rate is above it; otherwise nil (no
-- change), also when an input is absent or not a number.
-- Money is computed with the sandbox's exact `dec` decimals, each rounding
-- named (scale and mode); no float ever meets a price.

-- A numeric input as a decimal: decimals pass through, integers and
-- decimal strings (attribute values such as "4.5") convert exactly;
-- anything else gives nil.
local function num(v)
  if isdec(v) then return v end
  if math.type(v) == "integer" then return dec(v) end
  if type(v) == "string" and #v <= 20
      and (string.match(v, "^%-?%d+$") or string.match(v, "^%-?%d+%.%d+$")) then
    return dec(v)
  end
  return nil
end

local function attr(id)
  local a = type(ctx) == "table" and ctx.attributes or nil
  return type(a) == "table" and a[id] or nil
end

local MAX_RATE = dec("0.10")

local rate = type(ctx) == "table" and num(ctx.price) or nil
if rate == nil or rate <= MAX_RATE then
  return nil
end
return MAX_RATE
