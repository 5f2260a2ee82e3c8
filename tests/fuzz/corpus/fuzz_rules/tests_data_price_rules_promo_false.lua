-- Fixture limit: refused, no reason given.
return false
