-- Fixture limit: allowed.
return true
