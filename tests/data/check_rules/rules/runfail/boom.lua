-- Reads a field the ctx of a limit rule does not have (ERR_RUNTIME).
local granted = ctx.discount
local share = ctx.line.amount
return granted
