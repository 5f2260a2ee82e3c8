-- test formula: returns the list price unchanged
return ctx and ctx.price
