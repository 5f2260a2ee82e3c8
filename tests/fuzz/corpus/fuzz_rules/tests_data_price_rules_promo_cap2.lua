-- Fixture limit: at most 2 redemptions (all customers).
return 2
