-- wrk script: says when a fixed number of responses has come (per wrk thread; bench/run uses -t1)
-- and stops sending, so that bench/run can end wrk with SIGINT and divide a syscall count by a
-- known number of requests. (wrk itself runs for its whole -d duration whatever a script does.)
-- Usage: wrk -t1 ... -s bench/count.lua URL -- COUNT
local seen, limit = 0, 0

function init(args)
   limit = tonumber(args[1]) or error("count.lua: give the request count after --")
end

function response()
   seen = seen + 1
   if seen == limit then
      io.write("BENCH count reached\n")
      io.flush()
      wrk.thread:stop()
   end
end
