--[[
  release: the shop lets a hold go (docs/api.md "Holds"), decided atomically
  with its expiry and its confirmation, by Redis TIME. Before expiresAt the
  hold is released: its unit goes back to the stock and its slot to its
  user at once, and its released snapshot goes to the campaign's sink in
  the same step (includes/holds.lua); at or after it the hold has expired
  (this script expires it if no reaper did yet). The claim stays readable
  in the claims hash until the ledger holds its end (mark-written).

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] claims hash (per tag)
  KEYS[4] sink: stream (ARGV[2] = "stream") or outbox sorted set ("outbox")
  KEYS[5] free units list  KEYS[6] expiries sorted set
  ARGV[1] claimId  ARGV[2] sink mode  ARGV[3] campaign events channel ("" = publish nothing)

  Returns:
    2 RELEASED           {2, replayed, packed}  replayed 1: it was released before
    3 HOLD_EXPIRED       {3, packed}  it expired (now or before)
    4 ALREADY_CONFIRMED  {4, packed}  confirmed: issued, never released
    5 NOT_FOUND          {5}  no state (lost with Redis): nothing changed; rebuild, then again
    6 REBUILDING         {6}  nothing changed
    7 NOT_A_HOLD         {7, packed}  a claim of a campaign without holds
    8 GONE               {8}  not in the claims hash: the ledger holds its final state, or no such claim
    9 UNREADABLE         {9}  in a claim layout this version does not know (a newer process wrote it)
]]
-- @include redis-time.lua
-- @include holdings.lua
-- @include claim.lua
-- @include holds.lua
local c, packed, reply = holdToDecide(KEYS[1], KEYS[3], ARGV[1])
if reply then return reply end
if c.status == "c" then return {4, packed} end
if c.status == "r" then return {2, 1, packed} end
if c.status == "x" then return {3, packed} end

local K = {state = KEYS[1], holders = KEYS[2], claims = KEYS[3], sink = KEYS[4], free = KEYS[5],
  expiries = KEYS[6]}
local now = redisTimeMs()
local letter, code = "r", 2
if now >= tonumber(c.expiresAt) then letter, code = "x", 3 end
packed = endHold(K, ARGV[2], c, letter, now)
if ARGV[3] ~= "" then redis.call("PUBLISH", ARGV[3], "returned " .. c.campaign) end
if code == 2 then return {2, 0, packed} end
return {3, packed}
