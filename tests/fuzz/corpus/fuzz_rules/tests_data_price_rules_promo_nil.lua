-- Fixture limit: no limit.
return nil
