-- Holds (docs/api.md "Holds"), what the scripts that decide them share (needs claim.lua and
-- holdings.lua). K: the campaign's keys {state, holders, claims, sink, free, expiries}; mode: the
-- sink's, "stream" (XADD the packed claim) or "outbox" (ZADD its id; Kafka mode's relay reads the
-- claim's newest state from the claims hash). State counters: admitted (units in use: pending, held,
-- confirmed, issued), held (in the ledger as held, unconfirmed), ended (expired or released, not yet
-- in the ledger as such).
-- toSink(K, mode, id, packed, now): a decision's snapshot, to the campaign's sink. The sink's cap
-- (admit's SINK_FULL) is not checked: a decision on a claim already admitted is never refused for
-- room, and adds at most one entry per claim that admission counted.
local function toSink(K, mode, id, packed, now)
  if mode == "stream" then
    redis.call("XADD", K.sink, "*", "d", packed)
  else
    redis.call("ZADD", K.sink, now, id)
  end
end
-- dropHolding(K, userId, claimId): the claim leaves its user's holders entry (the slot is free).
local function dropHolding(K, userId, claimId)
  local held = redis.call("HGET", K.holders, userId)
  if not held then return end
  local kept = {}
  for id, at, seq in holdings(held) do
    if id ~= claimId then kept[#kept + 1] = id .. ":" .. at .. ":" .. seq end
  end
  if #kept == 0 then
    redis.call("HDEL", K.holders, userId)
  else
    redis.call("HSET", K.holders, userId, table.concat(kept, ","))
  end
end
-- endHold(K, mode, c, letter, now): a live hold (status p or h) ends, expired ("x") or released
-- ("r"): its unit goes back to the free list and its slot to its user at once; the claim stays in
-- the claims hash, readable, until the ledger holds its end (mark-written). Returns it packed.
local function endHold(K, mode, c, letter, now)
  if c.status == "h" then redis.call("HINCRBY", K.state, "held", -1) end
  redis.call("HINCRBY", K.state, "admitted", -1)
  redis.call("HINCRBY", K.state, "ended", 1)
  redis.call("RPUSH", K.free, c.unit)
  dropHolding(K, c.user, c.id)
  redis.call("ZREM", K.expiries, c.id)
  c.status = letter
  c.endedAt = now
  local packed = packClaim(c)
  redis.call("HSET", K.claims, c.id, packed)
  toSink(K, mode, c.id, packed, now)
  return packed
end
-- reapDue(K, mode, now, limit): expires up to `limit` holds whose expiresAt has come (<= now);
-- returns their packed claims. An entry whose claim is no longer a live hold just leaves; one in a
-- layout this version does not know stays, for a newer process.
local function reapDue(K, mode, now, limit)
  local out = {}
  if limit <= 0 then return out end
  local due = redis.call("ZRANGEBYSCORE", K.expiries, "-inf", now, "LIMIT", 0, limit)
  for _, id in ipairs(due) do
    local packed = redis.call("HGET", K.claims, id)
    local c = packed and unpackClaim(packed)
    if c and (c.status == "p" or c.status == "h") then
      out[#out + 1] = endHold(K, mode, c, "x", now)
    elseif not packed or c then
      redis.call("ZREM", K.expiries, id)
    end
  end
  return out
end
-- holdToDecide(state, claims, claimId): what a confirm or a release decides on: the claim and its
-- packed form, or nil, nil and the reply when there is nothing to decide: {5} no state (lost with
-- Redis), {6} rebuilding, {8} not in the claims hash, {9} unreadable, {7, packed} not a hold.
local function holdToDecide(state, claims, claimId)
  local status = redis.call("HGET", state, "status")
  if not status then return nil, nil, {5} end
  if status == "rebuilding" then return nil, nil, {6} end
  local packed = redis.call("HGET", claims, claimId)
  if not packed then return nil, nil, {8} end
  local c = unpackClaim(packed)
  if not c then return nil, nil, {9} end
  if c.expiresAt == "" then return nil, nil, {7, packed} end
  return c, packed, nil
end
