-- A redemption cap read from the usage counters: runs on every sample.
if ctx.usage.uses >= 100 then return false, "sold out" end
return ctx.discount
