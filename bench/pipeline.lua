-- wrk script: pipelines DEPTH copies of the plain GET request per send (wrk counts each response
-- as a request), as a client on a link with a long round trip would.
-- Usage: wrk -t1 ... -s bench/pipeline.lua URL -- DEPTH
local batch

function init(args)
   local depth = tonumber(args[1]) or error("pipeline.lua: give the depth after --")
   local copies = {}
   for i = 1, depth do
      copies[i] = wrk.format(nil, wrk.path)
   end
   batch = table.concat(copies)
end

function request()
   return batch
end
