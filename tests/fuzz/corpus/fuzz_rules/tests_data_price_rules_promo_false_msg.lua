-- Fixture limit: refused with a reason.
return false, "budget closed"
