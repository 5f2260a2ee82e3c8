-- Fixture (tests/data/price/check): grade b adds 10% to the unit price,
-- grade a leaves it as it is.
local a = ctx.attributes and ctx.attributes.grade
if a == "b" then
  return ctx.price + ctx.price:mul(dec("0.10"), 2, "half_up")
end
return nil
