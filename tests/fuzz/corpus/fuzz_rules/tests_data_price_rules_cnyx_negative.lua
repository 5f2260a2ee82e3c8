-- Fixture: a negative unit price, which the host refuses.
return dec("-1.00")
