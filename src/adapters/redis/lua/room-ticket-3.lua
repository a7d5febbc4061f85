--[[
  room-ticket: one ticket of a campaign's waiting room, as the read routes
  show it: its status (waiting, admitted with its claim id, or sold out
  once the line is marked hopeless), and while waiting after startsAt (Redis
  TIME) its position: ZRANK among the whole line less the released head,
  O(log n) (includes/room.lua).

  KEYS[1] state hash  KEYS[2] line sorted set  KEYS[3] tickets hash
  ARGV[1] ticket id (22 characters, without the hash tag)

  Returns:
    0 OK          {0, status, position, prequeued, userId, joinedAt, claimId, now}
                  status "w" waiting | "a" admitted | "s" sold out; position -1 = none (before
                  startsAt, or not waiting); claimId "" unless admitted; now: Redis TIME (ms)
    5 NOT_FOUND   {5}  no state
    6 REBUILDING  {6}
    9 NO_ROOM     {9}  the campaign has no waiting room
   11 NO_TICKET   {11} no such ticket in this campaign's line
]]
-- @include redis-time.lua
-- @include split.lua
-- @include room.lua
local R = roomState(KEYS[1])
if not R then return {5} end
if R.status == "rebuilding" then return {6} end
if not R.pre then return {9} end
local record = redis.call("HGET", KEYS[3], ARGV[1])
if not record then return {11} end
local now = redisTimeMs()
local view = roomView({line = KEYS[2], tickets = KEYS[3]}, R, now, ARGV[1], record)
view[#view + 1] = now
return {0, unpack(view)}
