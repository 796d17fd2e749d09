-- wrk script: POSTs one file as a multipart/form-data `fileUpload` to /compress on every request
-- and, at the end, prints the server's own mean `elapsed_ms` and any non-200 statuses it saw.
-- Usage: wrk ... -s bench/report_post.lua http://127.0.0.1:PORT/compress -- FILE [CODECS]

local boundary = "----compresstest-bench-7d1f0c"
local threads = {}

-- Builds the request once per wrk thread; wrk.format() is called after init returns.
function init(args)
   local path = args[1] or error("report_post.lua: give the input file after --")
   local f = assert(io.open(path, "rb"))
   local data = f:read("*a")
   f:close()
   local parts = {}
   if args[2] and args[2] ~= "" then
      parts[#parts + 1] = "--" .. boundary .. "\r\n"
         .. 'Content-Disposition: form-data; name="codecs"\r\n\r\n' .. args[2] .. "\r\n"
   end
   parts[#parts + 1] = "--" .. boundary .. "\r\n"
      .. 'Content-Disposition: form-data; name="fileUpload"; filename="input.bin"\r\n'
      .. "Content-Type: application/octet-stream\r\n\r\n" .. data .. "\r\n"
      .. "--" .. boundary .. "--\r\n"
   wrk.method = "POST"
   wrk.body = table.concat(parts)
   wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
   elapsed_sum_ms, elapsed_count, bad_status = 0, 0, 0
end

function setup(thread)
   threads[#threads + 1] = thread
end

-- Defining response() makes wrk read bodies; it costs little next to a report's compute time.
function response(status, headers, body)
   if status ~= 200 then
      bad_status = bad_status + 1
      return
   end
   local ms = body:match('"elapsed_ms":([%d%.]+)')
   if ms then
      elapsed_sum_ms = elapsed_sum_ms + tonumber(ms)
      elapsed_count = elapsed_count + 1
   end
end

-- One machine-readable line that bench/run greps for.
function done(summary, latency, requests)
   local sum, count, bad = 0, 0, 0
   for _, t in ipairs(threads) do
      sum = sum + t:get("elapsed_sum_ms")
      count = count + t:get("elapsed_count")
      bad = bad + t:get("bad_status")
   end
   local mean = count > 0 and sum / count or 0
   io.write(string.format("BENCH server_elapsed_ms_mean=%.1f server_reports=%d non200=%d\n",
                          mean, count, bad))
end
