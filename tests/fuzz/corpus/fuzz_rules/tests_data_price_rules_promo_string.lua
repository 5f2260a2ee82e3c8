-- Fixture limit: a message alone refuses the promotion with it.
return "promotion paused"
