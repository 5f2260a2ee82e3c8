-- Fixture: catalog formula for category frm-chain; doubles the unit price
-- it is given (so it must run after the product's own formula).
return ctx.price * 2
