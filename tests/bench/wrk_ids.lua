-- wrk script for tests/bench/bench_write.sh: POSTs BODY to PATH with the
-- "%s" in it replaced by one id after another from IDS (one id a line),
-- each id once: the THREADS threads (wrk's -t) share the ids out (thread
-- k of n takes ids k, k + n, ...) and a thread stops when its ids run
-- out, so the run's rate counts only requests that meant something.
--   wrk -tTHREADS ... -s wrk_ids.lua URL -- PATH IDS BODY KEY THREADS
-- KEY ("" for none) is sent as "Authorization: Bearer KEY". THREADS is
-- passed because a thread runs init() as soon as it is made, before wrk
-- has set up the next one: counting them in setup() would give the first
-- thread n = 1, and it would send every id.
k, n = 0, 1 -- k set by setup() for each thread, n from the arguments
local threads = 0
local ids, headers, body, path, i = {}, {}, "", "", 0

function setup(thread)
   thread:set("k", threads)
   threads = threads + 1
end

function init(args)
   local file, bodyfile, key, nthreads
   path, file, bodyfile, key, nthreads = args[1], args[2], args[3], args[4], args[5]
   n = tonumber(nthreads or "")
   if not path or not file or not bodyfile or not n or n < 1 then
      error("usage: wrk -tTHREADS ... -s wrk_ids.lua URL -- PATH IDS BODY KEY THREADS")
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
