--[[
  rebuild-begin: stop admission of one campaign and clear its derived state,
  so that it can be rebuilt from the ledger (plus what is still queued).

  Fencing: every rebuild first takes a new epoch from the ledger (PostgreSQL
  increments it), and only the highest epoch may rebuild. A rebuilder whose
  lock expired while it worked, or a stale Redis that reappears, can then
  never overwrite a newer rebuild: each later step checks rebuildEpoch.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] free units list
  KEYS[4] expiries sorted set (holds)
  ARGV[1] epoch (from the ledger)  ARGV[2..] definition: field, value, ...
          (name, stock, perUser, startsAt, endsAt, createdAt, lifecycleRevision, holdSec; with a
          waiting room roomPre, roomRate, roomSeed, roomCommit: the line's own room* fields stay)

  Returns 1 when this epoch now owns the rebuild, 0 when a newer epoch does.
]]
local epoch = tonumber(ARGV[1])
local current = redis.call("HMGET", KEYS[1], "epoch", "rebuildEpoch", "status")
if current[2] and tonumber(current[2]) > epoch then return 0 end
if current[1] and tonumber(current[1]) > epoch then return 0 end
if current[1] and tonumber(current[1]) == epoch and current[3] ~= "rebuilding" then return 0 end
redis.call("DEL", KEYS[2], KEYS[3], KEYS[4])
local fields = {"v", "1", "status", "rebuilding", "rebuildEpoch", epoch, "admitted", 0, "issued", 0, "next", 0,
  "held", 0, "ended", 0}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call("HSET", KEYS[1], unpack(fields))
redis.call("HINCRBY", KEYS[1], "rev", 1)
return 1
