-- Fixture limit: at most 3.50 of discount.
return dec("3.50")
