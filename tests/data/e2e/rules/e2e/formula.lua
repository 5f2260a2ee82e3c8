-- Placeholder formula for the end-to-end fixture: the list price again, so
-- the unit price stays as it is. (It used to return a function, which
-- pricing refuses; `cpqd check` now runs every formula on a sample line.)
return ctx.list
