-- 高级支持定价 Premium support fee (product formula of SAS-SUP-PREMIUM,
-- catalogs/saas.yaml).
--
-- Rule: premium support costs 15% of the yearly subscription value on the
-- same quote, with the list price as the minimum.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  support list price, the minimum (decimal)
--   ctx.subscription_total     yearly subscription value of the quote (decimal)
-- Output: the fee (decimal, 2 places, half up) when above the price;
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

local RATE = dec("0.15")

local price = type(ctx) == "table" and num(ctx.price) or nil
local total = type(ctx) == "table" and num(ctx.subscription_total) or nil
if price == nil or total == nil then
  return nil
end
local fee = total:mul(RATE, 2, "half_up")
if fee <= price then
  return nil
end
return fee
