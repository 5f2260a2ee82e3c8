-- Fixture: a runtime error.
error("formula exploded")
