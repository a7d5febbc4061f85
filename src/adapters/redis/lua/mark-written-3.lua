--[[
  mark-written: the ledger now holds these claims of one campaign with
  these statuses (the claim worker's WriteResult.written). Idempotent: a
  redelivered batch changes nothing twice. Per claim, by what Redis holds:

    held      pending (p) -> held (h), counted in `held`; anything else: no change
    issued    pending, held or confirmed -> leaves the claims hash (reads of it go
              to the ledger) and counts once in `issued` (a held one leaves `held`
              and the expiries)
    expired,  an ended claim (x, r) -> leaves the claims hash and `ended`
    released

  A claim no longer in the claims hash was marked before (a redelivery). A
  status that contradicts Redis (issued for an ended hold, an end for a live
  or confirmed one) changes nothing and is counted as refused: admission
  decided otherwise, and the ledger's unique keys are the last guard.

  KEYS[1] state hash  KEYS[2] claims hash (per tag)  KEYS[3] expiries sorted set
  ARGV    claimId, status, claimId, status, ... (status: held | issued | expired | released)

  Returns {code, issued, held, ended, refused}: what this call counted
    0 OK
    5 NOT_FOUND   no state (lost with Redis): nothing changed, retry after the rebuild
    6 REBUILDING  nothing changed: the rebuild decides from the ledger; retry after it
]]
-- @include claim.lua
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {5, 0, 0, 0, 0} end
if status == "rebuilding" then return {6, 0, 0, 0, 0} end
local issued, held, ended, refused = 0, 0, 0, 0
local left = 0
for i = 1, #ARGV - 1, 2 do
  local id, written = ARGV[i], ARGV[i + 1]
  local packed = redis.call("HGET", KEYS[2], id)
  local c = packed and unpackClaim(packed)
  if c then
    local live = c.status == "p" or c.status == "h" or c.status == "c"
    if written == "held" then
      if c.status == "p" then
        c.status = "h"
        redis.call("HSET", KEYS[2], id, packClaim(c))
        held = held + 1
      end
    elseif written == "issued" then
      if live then
        if c.status == "h" then left = left + 1 end
        redis.call("HDEL", KEYS[2], id)
        if c.expiresAt ~= "" then redis.call("ZREM", KEYS[3], id) end
        issued = issued + 1
      else
        refused = refused + 1
      end
    elseif (written == "expired" and c.status == "x") or (written == "released" and c.status == "r") then
      redis.call("HDEL", KEYS[2], id)
      ended = ended + 1
    else
      refused = refused + 1
    end
  end
end
if issued > 0 then redis.call("HINCRBY", KEYS[1], "issued", issued) end
if held - left ~= 0 then redis.call("HINCRBY", KEYS[1], "held", held - left) end
if ended > 0 then redis.call("HINCRBY", KEYS[1], "ended", -ended) end
return {0, issued, held, ended, refused}
