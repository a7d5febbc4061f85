--[[
  room-draw: one page of a waiting room's pre-queue in draw order (the
  head of the line: every pre-queue order key sorts before every later
  one, and released tickets stay in the line), as the userIds whose
  drawValues the caller computes (HMAC under the seed, which Lua cannot).
  Stable from startsAt on: no ticket joins the pre-queue any more.

  KEYS[1] line sorted set  KEYS[2] tickets hash
  ARGV[1] first rank (0-based)  ARGV[2] most entries

  Returns {userId, ...} in draw order; fewer than ARGV[2] (or none) once
  the pre-queue ends.
]]
-- @include split.lua
-- @include room.lua
local from = tonumber(ARGV[1])
local members = redis.call("ZRANGE", KEYS[1], from, from + tonumber(ARGV[2]) - 1)
local out = {}
for _, member in ipairs(members) do
  if string.sub(member, 1, 1) ~= "0" then break end
  local record = redis.call("HGET", KEYS[2], string.sub(member, -22))
  if record then out[#out + 1] = roomParse(record).userId end
end
return out
