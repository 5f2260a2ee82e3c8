or(
Var1 = B64  and Var2 = E0
Var1 = S64  and Var2 = E7
or)
