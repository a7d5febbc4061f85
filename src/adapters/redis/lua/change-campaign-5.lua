--[[
  change-campaign: a lifecycle change (docs/lifecycle.md), atomic with
  admission: no claim is decided half before and half after it.

  A stock raise takes two calls. "hold" first: API processes stop caching the
  campaign as sold out (sold-out-snapshot ignores it, their refresh drops it);
  the caller waits out the cache lease, then "apply". So no process answers
  410 from a cache while the raised stock is there to take.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] stream  KEYS[4] outbox  KEYS[5] free units list
  ARGV[1] mode: "hold" | "apply"
  ARGV[2] status: "" (keep) | open | paused | closed
  ARGV[3] stock: "" (keep) | integer
  ARGV[4] endsAt: "" (keep) | "none" (no end) | epoch ms

  Apply checks the campaign is not closed and the new stock is not below
  the units handed out, max(admitted, next); then sets the fields (closing
  sets endsAt to now, Redis TIME, unless it is earlier), bumps
  lifecycleRevision and rev (API processes drop what they cached), clears
  hold, and, when the campaign has no end or an end ahead, removes the
  retention expiry retire-5.lua may have set on its keys.

  Returns:
    1 CHANGED      {1, appliedAt, admitted, lifecycleRevision, prevStatus, prevStock, prevEndsAt,
                    status, stock, endsAt}   (endsAt "" = no end)
    0 HELD         {0}
    2 STOCK_BELOW  {2, floor}
    3 CLOSED       {3}
    5 NOT_FOUND    {5}
    6 REBUILDING   {6}
]]
-- @include redis-time.lua
local s = redis.call("HMGET", KEYS[1], "status", "stock", "endsAt", "admitted", "next")
local status = s[1]
if not status then return {5} end
if status == "rebuilding" then return {6} end
if status == "closed" then return {3} end
if ARGV[1] == "hold" then
  redis.call("HSET", KEYS[1], "hold", 1)
  redis.call("HINCRBY", KEYS[1], "rev", 1)
  return {0}
end

local now = redisTimeMs()
local stock = tonumber(s[2])
local newStock = stock
-- Only a stock change is checked against the units handed out: a shard of a campaign over shards
-- (docs/scaling.md) counts `next` in its own range of units, above its slice.
if ARGV[3] ~= "" then
  newStock = tonumber(ARGV[3])
  local floor = math.max(tonumber(s[4]), tonumber(s[5]))
  if newStock < floor then return {2, floor} end
end

local newStatus = status
if ARGV[2] ~= "" then newStatus = ARGV[2] end
local endsAt = s[3] or ""
local newEnds = endsAt
if ARGV[4] == "none" then newEnds = "" elseif ARGV[4] ~= "" then newEnds = ARGV[4] end
if newStatus == "closed" and (newEnds == "" or tonumber(newEnds) > now) then newEnds = tostring(now) end

local revision = redis.call("HINCRBY", KEYS[1], "lifecycleRevision", 1)
redis.call("HSET", KEYS[1], "status", newStatus, "stock", newStock, "endsAt", newEnds)
redis.call("HDEL", KEYS[1], "hold")
redis.call("HINCRBY", KEYS[1], "rev", 1)
if newStatus ~= "closed" and (newEnds == "" or tonumber(newEnds) > now) then
  for i = 1, 5 do redis.call("PERSIST", KEYS[i]) end
end
return {1, now, tonumber(s[4]), revision, status, stock, endsAt, newStatus, newStock, newEnds}
