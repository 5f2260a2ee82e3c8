-- Fixture limit: never ends; the sandbox stops it (ERR_CPU).
local n = 0
while true do n = n + 1 end
