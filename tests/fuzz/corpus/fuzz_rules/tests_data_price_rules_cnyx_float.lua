-- Fixture: a float result, which the host refuses for money.
return 1.5
