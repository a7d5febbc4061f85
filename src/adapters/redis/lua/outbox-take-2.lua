--[[
  outbox-take: hands a relay the reservations of one campaign that no API
  process is waiting on any more, and leases them to it, so that two relays
  do not both send them (a second send would be harmless: the ledger dedupes).

  The outbox is a sorted set of claim ids. The admission script adds a claim
  with its admission time (Redis TIME, ms), and the hold scripts (confirm,
  release, reap) add it again with their decision's time; the API process
  that decided removes it once Kafka acknowledged the snapshot
  (outbox-ack-2.lua). A claim still there `lease` ms later was left behind
  (its API process died, or Kafka did not answer; expiries nobody waits
  on): it is taken, with its newest state from the claims hash, and its
  score set to now, so the next relay pass takes it again only after
  another lease if this relay does not remove it first.

  KEYS[1] outbox sorted set  KEYS[2] claims hash (per tag): claimId -> packed claim
  ARGV[1] lease (ms)  ARGV[2] most entries to take

  Returns {claimId, packed, claimId, packed, ...}. A claim no longer in the
  claims hash (final in the ledger, or dropped by a rebuild) has nothing left
  to send: it leaves the outbox and is not returned.
]]
-- @include redis-time.lua
local now = redisTimeMs()
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now - tonumber(ARGV[1]), "LIMIT", 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(due) do
  local packed = redis.call("HGET", KEYS[2], id)
  if packed then
    redis.call("ZADD", KEYS[1], now, id)
    out[#out + 1] = id
    out[#out + 1] = packed
  else
    redis.call("ZREM", KEYS[1], id)
  end
end
return out
