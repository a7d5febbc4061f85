--[[
  room-join: a user joins a campaign's waiting room (docs/api.md "Waiting
  room"), in one atomic step with the decision of where the ticket stands:
  before startsAt by Redis TIME (the one clock of every API process) it is
  pre-queued, placed by its drawValue; at or after it, it stands behind
  everyone in arrival order (includes/room.lua has the line's layout). The
  drawValue is the caller's to compute (HMAC-SHA256 under the campaign's
  seed, which Lua cannot): the caller sends its first 16 bytes always, the
  script uses them only for a pre-queued ticket.

  Ticket ids are derived by the caller from the user (an HMAC under the
  room's ticket key, a random secret kept in the state hash as roomKey), so
  a user who joins again finds their ticket without a map of users. The
  first join sets the key; a caller that derived the id with another key
  (the state was lost and loaded again since it cached it) is told the
  current one and derives again.

  Checks, in the order of a claim's (admit-9.lua): the state is loaded and
  not being rebuilt, the campaign has a waiting room, the user's ticket
  already (EXISTING, also once the campaign ended or closed; before the rate
  limits, as docs/api.md lets an answer already known come, and as the
  embedded mode answers: a repeat join is never 429, and counts nothing),
  the rate limits (the claims' buckets and settings, in the campaign's slot;
  refused: nothing counted or written), then closed, before the pre-queue
  opens (startsAt - roomPre seconds), ended, paused; a line marked sold
  out; then the new ticket.

  KEYS[1] state hash  KEYS[2] line sorted set  KEYS[3] tickets hash
  KEYS[4] the user's rate-limit bucket    (a placeholder when ARGV[6] = "")
  KEYS[5] the address's rate-limit bucket (a placeholder when ARGV[8] = "")
  ARGV[1] campaignId  ARGV[2] userId  ARGV[3] ticket id (22 characters, without the hash tag)
  ARGV[4] the ticket key the id was derived with (hex)
  ARGV[5] the first 16 bytes of the user's drawValue, raw (the pre-queue order key's; includes/room.lua)
  ARGV[6] user bucket interval (ms) or ""  ARGV[7] its burst
  ARGV[8] address bucket interval or ""    ARGV[9] its burst

  Returns:
    1 JOINED        {1, status, position, prequeued, userId, joinedAt, claimId, now}
                    (the ticket's view, includes/room.lua: status "w" waiting | "a" admitted | "s" sold
                    out; position -1 = none; now: Redis TIME, ms)
    2 EXISTING      {2, status, position, prequeued, userId, joinedAt, claimId, now}
    3 NOT_ACTIVE    {3, reason}  reason: not_started (the pre-queue is not open yet) | ended | paused | closed
    4 SOLD_OUT      {4}  the line is marked hopeless (no unit can become free any more): no ticket written
    5 NOT_FOUND     {5}  no state
    6 REBUILDING    {6}
    8 RATE_LIMITED  {8, waitMs}  nothing counted or written
    9 NO_ROOM       {9}  the campaign has no waiting room
   10 KEY_CHANGED   {10, key}  derive the ticket id with this key and call again
]]
-- @include redis-time.lua
-- @include split.lua
-- @include gcra.lua
-- @include room.lua
if string.len(ARGV[5]) ~= 16 then return redis.error_reply("room-join: ARGV[5] takes 16 bytes") end
local R = roomState(KEYS[1])
if not R then return {5} end
if R.status == "rebuilding" then return {6} end
if not R.pre then return {9} end
if not R.key then
  redis.call("HSET", KEYS[1], "roomKey", ARGV[4])
elseif R.key ~= ARGV[4] then
  return {10, R.key}
end
local K = {line = KEYS[2], tickets = KEYS[3]}
local id = ARGV[3]
local now = redisTimeMs()

local record = redis.call("HGET", KEYS[3], id)
if record then
  local view = roomView(K, R, now, id, record)
  view[#view + 1] = now
  return {2, unpack(view)}
end

-- The rate limits: all buckets allow, or none is counted.
local userInterval, ipInterval = tonumber(ARGV[6]), tonumber(ARGV[8])
local wait, userTat, ipTat = 0, nil, nil
if userInterval then
  local w
  w, userTat = gcraWait(KEYS[4], now, userInterval, tonumber(ARGV[7]))
  if w > wait then wait = w end
end
if ipInterval then
  local w
  w, ipTat = gcraWait(KEYS[5], now, ipInterval, tonumber(ARGV[9]))
  if w > wait then wait = w end
end
if wait > 0 then return {8, math.ceil(wait)} end
if userTat then gcraCount(KEYS[4], now, userTat) end
if ipTat then gcraCount(KEYS[5], now, ipTat) end

local reason
if R.status == "closed" then
  reason = "closed"
elseif R.startsAt and now < R.startsAt - R.pre * 1000 then
  reason = "not_started"
elseif R.endsAt ~= "" and now >= tonumber(R.endsAt) then
  reason = "ended"
elseif R.status == "paused" then
  reason = "paused"
end
if reason then return {3, reason} end
-- A line marked hopeless (room-release-8.lua) takes no new ticket: 410, as docs/api.md says.
if R.soldOut then return {4} end

-- A new ticket: pre-queued before startsAt (no position yet), else last in the line.
local orderKey, position, prequeued
redis.call("HINCRBY", KEYS[1], "roomJoined", 1)
if R.startsAt and now < R.startsAt then
  orderKey, position, prequeued = "0" .. ARGV[5], -1, 1
  redis.call("HINCRBY", KEYS[1], "roomPrequeued", 1)
else
  orderKey, prequeued = roomArrivalKey(redis.call("HINCRBY", KEYS[1], "roomSeq", 1)), 0
end
redis.call("ZADD", KEYS[2], 0, orderKey .. id)
if prequeued == 0 then position = redis.call("ZCARD", KEYS[2]) - R.served end
redis.call("HSET", KEYS[3], id, orderKey .. ARGV[2] .. ROOM_SEP .. now)
return {1, "w", position, prequeued, ARGV[2], now, "", now}
