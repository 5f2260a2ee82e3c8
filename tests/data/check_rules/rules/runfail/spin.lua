-- Never ends: the sandbox stops it at its instruction budget (ERR_CPU).
local n = 0
while true do end
return n
