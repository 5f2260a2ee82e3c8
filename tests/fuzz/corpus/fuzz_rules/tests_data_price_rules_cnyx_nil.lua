-- Fixture: a formula that changes nothing (returns nil).
return nil
