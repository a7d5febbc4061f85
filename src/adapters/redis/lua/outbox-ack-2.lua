--[[
  outbox-ack: Kafka acknowledged these claim snapshots of one campaign;
  each claim leaves the outbox unless a newer decision on it is still to be
  sent. The outbox holds claim ids, and whoever sends one sends the claim's
  newest state from the claims hash; with holds a claim is decided more
  than once (admitted, then confirmed, expired or released), so an
  acknowledged pending snapshot must not take a later confirmation's entry
  with it.

  Ranks: pending (p) and held (h) 0; confirmed, expired, released (c x r) 1.
  An entry leaves when the claim has left the claims hash (the ledger holds
  it) or its rank now is at most the acknowledged snapshot's.

  KEYS[1] outbox sorted set  KEYS[2] claims hash (per tag)
  ARGV    claimId, status letter of the acknowledged snapshot, ...

  Returns the number of entries removed.
]]
-- @include claim.lua
local function rank(letter)
  if letter == "p" or letter == "h" then return 0 end
  return 1
end
local removed = 0
for i = 1, #ARGV - 1, 2 do
  local id = ARGV[i]
  local packed = redis.call("HGET", KEYS[2], id)
  local c = packed and unpackClaim(packed)
  if not packed or (c and rank(c.status) <= rank(ARGV[i + 1])) then
    removed = removed + redis.call("ZREM", KEYS[1], id)
  end
end
return removed
