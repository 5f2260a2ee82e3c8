or(
Var10 = M5  and Var1 = D64  and Var3 = CPLN
Var1 = S64  and Var10 = M6  and Var3 = CPLN
or)
