-- 空调连接管超长费 AC connecting-pipe surcharge (product formula of
-- APL-AC-WALL and APL-AC-FLOOR, catalogs/appliances.yaml).
--
-- Rule: standard installation includes 3.0 m of connecting pipe; each metre
-- beyond (attribute pipe_length, 0.5 m steps) costs 65.00 CNY per unit.
-- Pipe ordered as APL-AC-PIPE options is priced on its own line.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal)
--   ctx.attributes.pipe_length  decimal attribute, 3.0..15.0 m
-- Output: the unit price plus the surcharge (decimal, 2 places, half up);
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

local INCLUDED = dec("3.0")
local PER_METRE = dec("65.00")

local price = type(ctx) == "table" and num(ctx.price) or nil
local length = num(attr("pipe_length"))
if price == nil or length == nil or length <= INCLUDED then
  return nil
end
return price + ((length - INCLUDED) * PER_METRE):round(2, "half_up")
