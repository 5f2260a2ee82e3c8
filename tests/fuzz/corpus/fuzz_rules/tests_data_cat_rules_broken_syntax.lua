-- a formula with a syntax error on line 3
local p = ctx.price
return p +
