-- wrk script for the soak (tests/bench/soak.sh): POSTs JSON bodies to one
-- path, cycling through the bodies of a file (one JSON document a line).
--   wrk ... -s wrk_post.lua http://127.0.0.1:PORT -- PATH BODIES [KEY]
-- KEY, when given, is sent as "Authorization: Bearer KEY". Requests are
-- formatted once in init (each wrk thread has its own Lua state), so the
-- script costs wrk no more than a fixed request would.
local reqs, n, i = {}, 0, 0

function init(args)
   local path, file, key = args[1], args[2], args[3]
   if not path or not file then
      error("usage: wrk ... -s wrk_post.lua URL -- PATH BODIES [KEY]")
   end
   local headers = { ["Content-Type"] = "application/json" }
   if key and key ~= "" then
      headers["Authorization"] = "Bearer " .. key
   end
   for line in io.lines(file) do
      if line:match("%S") then
         n = n + 1
         reqs[n] = wrk.format("POST", path, headers, line)
      end
   end
   if n == 0 then
      error("no request bodies in " .. file)
   end
end

function request()
   i = i % n + 1
   return reqs[i]
end
