-- Handling (formula of M-1 in tests/data/doc/catalogs/marks.yaml): adds
-- 1.125 KWD to the unit price.
if type(ctx) ~= "table" or not isdec(ctx.price) then
  return nil
end
return ctx.price + dec("1.125")
