-- The waiting room's line (docs/api.md "Waiting room"), what its scripts share (needs split.lua).
--
-- The line is one sorted set, every score 0, so members sort bytewise: member = order key .. the
-- ticket's 22-character id (the ticket id without its hash tag). Order keys:
--   pre-queue (joined before startsAt): "0" .. the first 16 bytes of the drawValue, RAW (17 bytes:
--     the same order as "0" .. 32 hex chars, in half the room);
--   later: "1" .. the 15-digit arrival number (16 bytes).
-- Every pre-queue key sorts before every later one. Released tickets stay in the line (the draw's
-- page reads them): the state's roomServed counts the line's head that has been released, so a
-- waiting ticket's position is ZRANK - roomServed + 1, which only falls.
--
-- The tickets hash: ticket id -> order key .. userId .. US .. joinedAt [.. US .. claimId once
-- released] (US = U+001F; the order key's length is known from its first byte).
local ROOM_SEP = "\31"

-- roomArrivalKey(n): the order key of the n-th ticket to join at or after startsAt.
local function roomArrivalKey(n)
  return "1" .. string.format("%015d", n)
end

-- roomParse(record): {orderKey, prequeued, userId, joinedAt, claimId ("" until released)}
local function roomParse(record)
  local prequeued = string.sub(record, 1, 1) == "0"
  local klen = 16
  if prequeued then klen = 17 end
  local f = split(string.sub(record, klen + 1), ROOM_SEP)
  return {orderKey = string.sub(record, 1, klen), prequeued = prequeued, userId = f[1], joinedAt = f[2],
    claimId = f[3] or ""}
end

-- roomState(key): the state hash's fields the room's scripts read, in one HMGET, or nil when there is
-- no state: {status, endsAt ("" = none), key (roomKey, the ticket key, or nil), pre (nil: the campaign
-- has no waiting room), rate, served, soldOut, revision, startsAt, tokens, refill}.
--   soldOut: the line is marked hopeless at the current lifecycleRevision (a lifecycle change, such
--   as a stock raise, bumps the revision and so clears the mark without a write of its own).
local function roomState(key)
  local s = redis.call("HMGET", key, "status", "endsAt", "roomKey", "roomPre", "roomRate", "roomServed",
    "roomSoldOut", "lifecycleRevision", "startsAt", "roomTokens", "roomRefill")
  if not s[1] then return nil end
  local revision = s[8] or "0"
  return {status = s[1], endsAt = s[2] or "", key = s[3] or nil, pre = tonumber(s[4] or ""),
    rate = tonumber(s[5] or ""), served = tonumber(s[6] or "0") or 0, soldOut = s[7] ~= false and s[7] == revision,
    revision = revision, startsAt = tonumber(s[9] or ""), tokens = tonumber(s[10] or ""),
    refill = tonumber(s[11] or "")}
end

-- roomView(K, R, now, id, record): a ticket as the read routes show it:
--   {status, position, prequeued, userId, joinedAt, claimId}: status "a" admitted, "s" sold out,
--   "w" waiting; position 1-based among waiting tickets, -1 before startsAt or once not waiting.
local function roomView(K, R, now, id, record)
  local t = roomParse(record)
  local prequeued = 0
  if t.prequeued then prequeued = 1 end
  if t.claimId ~= "" then return {"a", -1, prequeued, t.userId, tonumber(t.joinedAt), t.claimId} end
  if R.soldOut then return {"s", -1, prequeued, t.userId, tonumber(t.joinedAt), ""} end
  local position = -1
  if not R.startsAt or now >= R.startsAt then
    local rank = redis.call("ZRANK", K.line, t.orderKey .. id)
    if rank then position = rank - R.served + 1 end
  end
  return {"w", position, prequeued, t.userId, tonumber(t.joinedAt), ""}
end
