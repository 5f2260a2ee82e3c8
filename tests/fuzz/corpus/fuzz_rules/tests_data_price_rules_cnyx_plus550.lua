-- Fixture: adds 5.50 to the unit price (a decimal result).
return ctx.price + dec("5.50")
