--[[
  reap: expires the holds of one campaign whose expiresAt (Redis TIME) has
  come, from the stored times in the expiries sorted set (never a timer in
  memory): each gives its unit back to the free list and its slot to its
  user, and its expired snapshot goes to the campaign's sink, in this one
  step (includes/holds.lua). Publishes "returned" on the campaign events
  channel when it expired any. Reapers in every worker call it; two at once
  expire each hold once.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] claims hash (per tag)
  KEYS[4] sink: stream (ARGV[2] = "stream") or outbox sorted set ("outbox")
  KEYS[5] free units list  KEYS[6] expiries sorted set
  ARGV[1] most holds to expire in this call  ARGV[2] sink mode
  ARGV[3] campaign events channel ("" = publish nothing)  ARGV[4] campaignId

  Returns:
    0 OK          {0, nextDueAt, packed, ...}: the holds expired now (packed), and the earliest
                  expiresAt still in the expiries ("" when none)
    5 NOT_FOUND   {5}  no state: nothing to reap (retired, or lost with Redis: the rebuild decides)
    6 REBUILDING  {6}  nothing changed; due holds expire once it is rebuilt
]]
-- @include redis-time.lua
-- @include holdings.lua
-- @include claim.lua
-- @include holds.lua
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {5} end
if status == "rebuilding" then return {6} end
local K = {state = KEYS[1], holders = KEYS[2], claims = KEYS[3], sink = KEYS[4], free = KEYS[5],
  expiries = KEYS[6]}
local expired = reapDue(K, ARGV[2], redisTimeMs(), tonumber(ARGV[1]))
if #expired > 0 and ARGV[3] ~= "" then redis.call("PUBLISH", ARGV[3], "returned " .. ARGV[4]) end
local first = redis.call("ZRANGE", KEYS[6], 0, 0, "WITHSCORES")
local out = {0, first[2] or ""}
for _, packed in ipairs(expired) do out[#out + 1] = packed end
return out
