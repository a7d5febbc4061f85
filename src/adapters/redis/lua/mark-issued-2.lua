--[[
  mark-issued: these claims of one campaign are now in the ledger. Each leaves
  the claims hash (reads of an issued claim go to the ledger, which keeps
  everything) and counts once toward `issued`, however often it is redelivered.

  KEYS[1] state hash  KEYS[2] claims hash (per tag)
  ARGV    claim ids

  Returns {code, newlyIssued}:
    0 OK          newlyIssued = how many claims left the claims hash now
    5 NOT_FOUND   no state (lost with Redis): nothing changed, retry after the rebuild
    6 REBUILDING  nothing changed: the rebuild decides from the ledger; retry after it
]]
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {5, 0} end
if status == "rebuilding" then return {6, 0} end
local removed = 0
if #ARGV > 0 then removed = redis.call("HDEL", KEYS[2], unpack(ARGV)) end
if removed > 0 then redis.call("HINCRBY", KEYS[1], "issued", removed) end
return {0, removed}
