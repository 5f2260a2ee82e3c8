-- wrk script for tests/bench/bench_write.sh: POSTs BODY to PATH with the
-- "%s" in it replaced by one id after another from IDS (one id a line),
-- each id once: the threads share the ids out (thread k of n takes ids
-- k, k + n, ...) and a thread stops when its ids run out, so the run's
-- rate counts only requests that meant something.
--   wrk ... -s wrk_ids.lua URL -- PATH IDS BODY [KEY]
-- KEY, when given, is sent as "Authorization: Bearer KEY".
k, n = 0, 1 -- set by setup() for each thread
local ids, headers, body, path, i = {}, {}, "", "", 0
local threads = {}

function setup(thread)
   thread:set("k", #threads)
   table.insert(threads, thread)
   for _, t in ipairs(threads) do
      t:set("n", #threads)
   end
end

function init(args)
   local file, bodyfile, key
   path, file, bodyfile, key = args[1], args[2], args[3], args[4]
   if not path or not file or not bodyfile then
      error("usage: wrk ... -s wrk_ids.lua URL -- PATH IDS BODY [KEY]")
   end
   headers = { ["Content-Type"] = "application/json" }
   if key and key ~= "" then
      headers["Authorization"] = "Bearer " .. key
   end
   local f = io.open(bodyfile, "rb")
   body = f:read("*a")
   f:close()
   local j = 0
   for line in io.lines(file) do
      if line:match("%S") then
         if j % n == k then
            table.insert(ids, line)
         end
         j = j + 1
      end
   end
end

function request()
   i = i + 1
   if i > #ids then
      wrk.thread:stop()
      i = #ids
   end
   return wrk.format("POST", string.format(path, ids[i]), headers, body)
end
