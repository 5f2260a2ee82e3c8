-- 光伏EPC按装机容量计价 Rooftop PV EPC priced by capacity (product formula
-- of PRJ-PV-ROOF, catalogs/projects.yaml).
--
-- Rule: the book's list price is per MWp; the project price is that times
-- the pv_capacity attribute (0.5 to 20.0 MWp in 0.1 steps).
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  price per MWp at this step (decimal)
--   ctx.attributes.pv_capacity  decimal attribute, MWp
-- Output: the project price (decimal, 2 places, half up);
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
local capacity = num(attr("pv_capacity"))
if price == nil or capacity == nil or capacity <= 0 then
  return nil
end
return price:mul(capacity, 2, "half_up")
