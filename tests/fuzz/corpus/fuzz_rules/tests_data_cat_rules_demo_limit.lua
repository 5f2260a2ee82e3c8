-- test promotion limit: no cap
return nil
