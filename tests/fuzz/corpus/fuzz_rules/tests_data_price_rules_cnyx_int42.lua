-- Fixture: the unit price becomes 42 (a Lua integer result).
return 42
