-- 车床床身加长 Lathe bed-length surcharge (product formula of
-- CNC-LATHE-T400, catalogs/cnc.yaml).
--
-- Rule: the list price covers a 1.5 m bed; each further 0.5 m or part of it
-- (attribute bed_length, 1.0..3.0 m) adds 12,000.00 CNY. Shorter beds are
-- not cheaper.
--
-- Inputs (docs/rules.md "Formula rules"; read defensively, so the rule
-- also runs alone under `cpqd rule eval` with partial input):
--   ctx.price                  unit price at this step (decimal)
--   ctx.attributes.bed_length  decimal attribute, metres
-- Output: the unit price plus the surcharge (decimal, 2 places);
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

local BASE = dec("1.5")
local STEP = dec("0.5")
local PER_STEP = dec("12000.00")

local price = type(ctx) == "table" and num(ctx.price) or nil
local bed = num(attr("bed_length"))
if price == nil or bed == nil or bed <= BASE then
  return nil
end
return price + (bed - BASE):div(STEP, 0, "ceiling") * PER_STEP
