-- 全保维修合同定价 Full-service maintenance contract (product formula of
-- MED-SVC-MAINT, catalogs/medical.yaml).
--
-- Rule: the yearly fee is 8% of the list value of the covered installed
-- base, never below the contract's list price (the minimum fee).
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal) (the minimum)
--   ctx.installed_base         list value of the covered devices (decimal)
-- Output: the yearly fee (decimal, 2 places, half up) when above the price;
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

local RATE = dec("0.08")

local price = type(ctx) == "table" and num(ctx.price) or nil
local base = type(ctx) == "table" and num(ctx.installed_base) or nil
if price == nil or base == nil then
  return nil
end
local fee = base:mul(RATE, 2, "half_up")
if fee <= price then
  return nil
end
return fee
