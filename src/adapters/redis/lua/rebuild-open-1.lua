--[[
  rebuild-open: the rebuild is complete; set the counters and admit again.
  Bumps `rev`, so API processes drop what they cached about the campaign.

  KEYS[1] state hash
  ARGV[1] epoch  ARGV[2] admitted  ARGV[3] issued  ARGV[4] next (highest unit handed out)
  ARGV[5] status to open with ("open"; lifecycle states such as "paused" come from the ledger)
  ARGV[6] held  ARGV[7] ended (holds: in the ledger as held, unconfirmed; ended, not yet in the
          ledger as such; "" = 0)
  ARGV[8] a shard's stock (campaigns over shards: its slice, rebuild-shards.ts); absent = unchanged

  Returns 1 when opened, 0 when a newer epoch owns the rebuild (nothing changed).
]]
local s = redis.call("HMGET", KEYS[1], "status", "rebuildEpoch")
if s[1] ~= "rebuilding" or tonumber(s[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], "admitted", ARGV[2], "issued", ARGV[3], "next", ARGV[4], "epoch", ARGV[1], "status", ARGV[5],
  "held", tonumber(ARGV[6]) or 0, "ended", tonumber(ARGV[7]) or 0)
if ARGV[8] then redis.call("HSET", KEYS[1], "stock", ARGV[8]) end
redis.call("HDEL", KEYS[1], "rebuildEpoch")
redis.call("HINCRBY", KEYS[1], "rev", 1)
return 1
