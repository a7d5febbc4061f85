--[[
  shard-take: the receiving half of a transfer (shard-give-3.lua): adds the
  transfer's units to this shard's free list and stock, once. The transfer
  id is recorded in this shard's received set in the same step, so applying
  it again (the API process and the sweep racing, a retry after a lost
  reply) changes nothing: a unit never counts twice. The donor's record is
  deleted only after this returned (HDEL by the caller).

  Fenced by epoch: a transfer given before a rebuild of the campaign (which
  recounts every shard from the ledger and drops every record) is stale and
  applies nothing.

  KEYS[1] state hash  KEYS[2] free units list  KEYS[3] received set
  ARGV[1] transfer id  ARGV[2] the transfer's epoch  ARGV[3..] units

  Returns {code, units}: 1 applied now; 2 applied before; 3 stale (another epoch, or no state:
  the rebuild decides); 6 being rebuilt (nothing changed: apply it later). Applying bumps `moves`.
]]
local s = redis.call("HMGET", KEYS[1], "status", "epoch")
if not s[1] then return {3, 0} end
if s[1] == "rebuilding" then return {6, 0} end
if (s[2] or "0") ~= ARGV[2] then return {3, 0} end
if redis.call("SADD", KEYS[3], ARGV[1]) == 0 then return {2, 0} end
local n = #ARGV - 2
for i = 3, #ARGV do redis.call("RPUSH", KEYS[2], ARGV[i]) end
redis.call("HINCRBY", KEYS[1], "stock", n)
redis.call("HINCRBY", KEYS[1], "moves", 1)
return {1, n}
