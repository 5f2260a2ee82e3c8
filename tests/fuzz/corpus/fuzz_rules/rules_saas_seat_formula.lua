-- 席位首期按天折算 Seat proration of a partial billing period (formula of
-- categories crm_seats and collaboration, catalogs/saas.yaml).
--
-- Rule: a subscription that starts inside a billing period pays that period
-- pro rata by days: price * days_used / period_days, rounded once, half up,
-- to the fen. Full periods pay the price unchanged.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  seat price per billing period (decimal)
--   ctx.period_days            days in the period being priced (integer)
--   ctx.days_used              days of it the subscription covers (integer)
-- Output: the prorated price (decimal, 2 places);
-- otherwise nil (no change), also when an input is absent or not a number.
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

local price = type(ctx) == "table" and num(ctx.price) or nil
local total = type(ctx) == "table" and num(ctx.period_days) or nil
local used = type(ctx) == "table" and num(ctx.days_used) or nil
if price == nil or total == nil or used == nil or total <= 0 or used < 0
    or used >= total then
  return nil
end
return (price * used):div(total, 2, "half_up")
