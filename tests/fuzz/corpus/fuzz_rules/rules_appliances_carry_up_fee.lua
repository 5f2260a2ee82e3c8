-- 搬楼费 Carry-up fee for large appliances (formula of categories
-- refrigerators, washers, water_heaters in catalogs/appliances.yaml).
--
-- Rule: deliveries without a lift are free up to the 3rd floor; every floor
-- above adds 10.00 CNY per unit (tax included, like the list prices).
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal)
--   ctx.attributes.delivery_floor  integer attribute, 1..40
-- Output: the unit price plus the fee (decimal, 2 places);
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

local FREE_FLOORS = 3
local FEE_PER_FLOOR = dec("10.00")

local price = type(ctx) == "table" and num(ctx.price) or nil
local floor = num(attr("delivery_floor"))
if price == nil or floor == nil or floor <= FREE_FLOORS then
  return nil
end
return price + (floor - FREE_FLOORS) * FEE_PER_FLOOR
