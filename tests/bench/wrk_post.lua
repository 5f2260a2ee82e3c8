-- wrk script for the soak (tests/bench/soak.sh): POSTs JSON bodies to one
-- path, cycling through the bodies of a file (one JSON document a line).
--   wrk ... -s wrk_post.lua http://127.0.0.1:PORT -- PATH BODIES [KEY]
-- KEY, when given, is sent as "Authorization: Bearer KEY". Requests are
-- formatted once in init (each wrk thread has its own Lua state), so the
-- script costs wrk no more than a fixed request would. A fourth argument
-- "keyed" gives every request an Idempotency-Key of its own (as a CRM
-- sends one): those requests are formatted as they are sent.
--   wrk ... -s wrk_post.lua URL -- PATH BODIES KEY keyed
k = 0 -- set by setup() for each thread: the keys of two threads differ
local threads = 0
local reqs, bodies, n, i = {}, {}, 0, 0
local keyed, path, headers = false, "", {}

function setup(thread)
   thread:set("k", threads)
   threads = threads + 1
end

function init(args)
   local file, key
   path, file, key, keyed = args[1], args[2], args[3], args[4] == "keyed"
   if not path or not file then
      error("usage: wrk ... -s wrk_post.lua URL -- PATH BODIES [KEY]")
   end
   headers = { ["Content-Type"] = "application/json" }
   if key and key ~= "" then
      headers["Authorization"] = "Bearer " .. key
   end
   for line in io.lines(file) do
      if line:match("%S") then
         n = n + 1
         bodies[n] = line
         reqs[n] = wrk.format("POST", path, headers, line)
      end
   end
   if n == 0 then
      error("no request bodies in " .. file)
   end
end

local sent = 0
local run = tostring(os.time())

function request()
   i = i % n + 1
   if not keyed then
      return reqs[i]
   end
   sent = sent + 1
   headers["Idempotency-Key"] = "bench-" .. run .. "-" .. k .. "-" .. sent
   return wrk.format("POST", path, headers, bodies[i])
end
