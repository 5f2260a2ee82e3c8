-- 延长质保 Extended machine warranty (formula of categories
-- machining_centres, lathes, edm in catalogs/cnc.yaml).
--
-- Rule: 12 months of warranty are included; every further 12 months
-- (attribute warranty_months = 24 or 36) adds 3% of the unit price.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal)
--   ctx.attributes.warranty_months  integer attribute: 12, 24 or 36
-- Output: the unit price plus 3% per extra year (decimal, 2 places, half up);
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

local INCLUDED_MONTHS = 12
local RATE_PER_YEAR = dec("0.03")

local price = type(ctx) == "table" and num(ctx.price) or nil
local months = num(attr("warranty_months"))
if price == nil or months == nil or months <= INCLUDED_MONTHS then
  return nil
end
local years = (months - INCLUDED_MONTHS):div(12, 0, "down")
return price + price:mul(RATE_PER_YEAR * years, 2, "half_up")
