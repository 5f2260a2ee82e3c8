-- Adds 1.00 to the unit price: runs on every sample.
return ctx.price + dec("1.00")
