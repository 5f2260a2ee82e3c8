-- Would fail, but only N-1 uses it and no book prices N-1: pricing never
-- runs it, so `cpqd check` does not either.
error("never runs")
