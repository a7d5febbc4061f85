--[[
  confirm: a hold's confirmation (docs/api.md "Holds"), decided atomically
  with its expiry, where admission is decided, by Redis TIME (the one clock):

    before expiresAt  the hold is confirmed: status c (issued; the ledger
                      not yet), issuedAt = now, out of the expiries; its
                      issued snapshot goes to the campaign's sink in the
                      same step, so the answer is as durable as a 202
    at or after it    the hold has expired: if no reaper expired it yet,
                      this script does (includes/holds.lua: unit back to
                      the stock, expired snapshot to the sink) and answers
                      HOLD_EXPIRED

  A confirmed hold leaves the claims hash once the ledger holds it issued
  (mark-written); until then a repeat answers CONFIRMED, replayed.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] claims hash (per tag)
  KEYS[4] sink: stream (ARGV[2] = "stream") or outbox sorted set ("outbox")
  KEYS[5] free units list  KEYS[6] expiries sorted set
  ARGV[1] claimId  ARGV[2] sink mode  ARGV[3] campaign events channel ("" = publish nothing)

  Returns:
    1 CONFIRMED     {1, replayed, packed}  replayed 1: it was confirmed before
    3 HOLD_EXPIRED  {3, packed}  expired (now or before) or released
    5 NOT_FOUND     {5}  no state (lost with Redis): nothing changed; rebuild, then again
    6 REBUILDING    {6}  nothing changed
    7 NOT_A_HOLD    {7, packed}  a claim of a campaign without holds
    8 GONE          {8}  not in the claims hash: the ledger holds its final state, or no such claim
    9 UNREADABLE    {9}  in a claim layout this version does not know (a newer process wrote it)
]]
-- @include redis-time.lua
-- @include holdings.lua
-- @include claim.lua
-- @include holds.lua
local c, packed, reply = holdToDecide(KEYS[1], KEYS[3], ARGV[1])
if reply then return reply end
if c.status == "c" then return {1, 1, packed} end
if c.status == "x" or c.status == "r" then return {3, packed} end

local K = {state = KEYS[1], holders = KEYS[2], claims = KEYS[3], sink = KEYS[4], free = KEYS[5],
  expiries = KEYS[6]}
local now = redisTimeMs()
if now >= tonumber(c.expiresAt) then
  packed = endHold(K, ARGV[2], c, "x", now)
  if ARGV[3] ~= "" then redis.call("PUBLISH", ARGV[3], "returned " .. c.campaign) end
  return {3, packed}
end
if c.status == "h" then redis.call("HINCRBY", KEYS[1], "held", -1) end
c.status = "c"
c.issuedAt = now
packed = packClaim(c)
redis.call("HSET", KEYS[3], c.id, packed)
redis.call("ZREM", KEYS[6], c.id)
toSink(K, ARGV[2], c.id, packed, now)
return {1, 0, packed}
