--[[
  shard-give: the donor half of a transfer between two shards of a campaign
  over shards (docs/scaling.md "Hot campaign: shards"). Moves up to ARGV[3]
  units out of this shard's stock into a transfer record in this shard's own
  slot, atomically: from here until the receiving shard applies it
  (shard-take-3.lua) the units are in transit, counted by no shard's stock and
  never lost: the record names them, and the workers' sweep (shards.ts)
  applies a record left behind by a crash. Gives at most half of what this
  shard has left (rounded up), so a hot shard cannot drain a donor into
  ping-pong.

  Units given: the free list first (as admission hands them out), then
  fresh ones from the counter (next + 1, ...): each unit stays in exactly one
  place (stock - admitted - free = fresh units left, before and after).

  KEYS[1] state hash  KEYS[2] free units list  KEYS[3] transfers hash
  ARGV[1] transfer id  ARGV[2] receiving shard  ARGV[3] most units wanted  ARGV[4] now (ms)

  Returns {given, epoch, unit, ...}: given 0 when this shard has nothing to give, is missing or
  is being rebuilt. Each give bumps `moves` (what the sold-out check compares, shards.ts).
]]
local s = redis.call("HMGET", KEYS[1], "status", "stock", "admitted", "epoch")
if not s[1] or s[1] == "rebuilding" then return {0, ""} end
local left = tonumber(s[2]) - tonumber(s[3])
local n = math.min(tonumber(ARGV[3]), math.ceil(left / 2))
if n <= 0 then return {0, s[4] or "0"} end
local units = {}
for i = 1, n do
  local unit = redis.call("LPOP", KEYS[2])
  if not unit then unit = redis.call("HINCRBY", KEYS[1], "next", 1) end
  units[i] = tonumber(unit)
end
redis.call("HINCRBY", KEYS[1], "stock", -n)
redis.call("HINCRBY", KEYS[1], "moves", 1)
local epoch = s[4] or "0"
redis.call("HSET", KEYS[3], ARGV[1], ARGV[2] .. "|" .. epoch .. "|" .. ARGV[4] .. "|" .. table.concat(units, ","))
local out = {n, epoch}
for i = 1, n do out[#out + 1] = units[i] end
return out
