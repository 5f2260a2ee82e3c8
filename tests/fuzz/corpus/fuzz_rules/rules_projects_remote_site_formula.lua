-- 区域造价系数 Regional construction-cost index (formula of categories
-- data_centres, smart_campus, energy in catalogs/projects.yaml).
--
-- Rule: list prices are East China prices; other regions apply the index
-- below. The northwest remote-site allowance is a flat adder of the
-- site_region attribute, not part of this rule.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal)
--   ctx.attributes.site_region  enum value: east, south, southwest, northwest
-- Output: the indexed price (decimal, 2 places, half up);
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

local INDEX = {south = dec("1.02"), southwest = dec("1.05"), northwest = dec("1.08")}

local price = type(ctx) == "table" and num(ctx.price) or nil
local region = attr("site_region")
local index = type(region) == "string" and INDEX[region] or nil
if price == nil or index == nil then
  return nil
end
return price:mul(index, 2, "half_up")
