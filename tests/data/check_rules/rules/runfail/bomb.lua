-- Doubles a string until the sandbox's memory cap refuses it (ERR_MEM).
local s = "x"

for i = 1, 64 do s = s .. s end
return nil
