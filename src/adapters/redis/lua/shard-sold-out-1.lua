--[[
  shard-sold-out: marks one shard of a campaign over shards sold out for good,
  once the check across every shard found the campaign sold out with nothing
  in transit (shards.ts). From then on the shard's 410s carry its lease, so
  API processes answer them from memory (memory-answers.ts,
  answer-snapshot-2.lua), and the "sold_out <ref>" event makes them load it.
  Nothing can give the unit back but a rebuild, which clears the mark.

  KEYS[1] state hash
  ARGV[1] the epoch the check saw  ARGV[2] campaign events channel ("" = none)  ARGV[3] the shard's ref

  Returns 1 marked, 0 not (the shard has stock, moved on to another epoch, or is missing).
]]
local s = redis.call("HMGET", KEYS[1], "status", "stock", "admitted", "epoch")
if not s[1] or s[1] == "rebuilding" or (s[4] or "0") ~= ARGV[1] then return 0 end
if tonumber(s[3]) < tonumber(s[2]) then return 0 end
redis.call("HSET", KEYS[1], "soldOut", "1")
if ARGV[2] ~= "" then redis.call("PUBLISH", ARGV[2], "sold_out " .. ARGV[3]) end
return 1
