--[[
  retire: once a campaign has ended (Redis TIME) and every claim it admitted
  is in the ledger, its keys expire at endsAt + grace (REDIS_RETENTION_GRACE_S).
  The ledger keeps everything; a retired campaign is answered from it. A
  change that opens the campaign again removes the expiry (change-campaign-5).
  Never before the claims are issued, nor while an ended hold is not in the
  ledger as such yet (`ended`): an expired stream would take unconsumed
  claims with it. A live hold counts in `admitted` until it is issued or
  ends.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] stream  KEYS[4] outbox  KEYS[5] free units list
  ARGV[1] grace (ms)

  Returns {code, expireAt}:
    1 EXPIRING    every key expires at expireAt (epoch ms)
    2 NOT_ENDED   no end, or the end is still ahead
    3 DRAINING    admitted claims not yet issued, or ended holds not yet in the ledger: later
    5 NOT_FOUND   no state
    6 REBUILDING
]]
-- @include redis-time.lua
local s = redis.call("HMGET", KEYS[1], "status", "endsAt", "admitted", "issued", "ended")
if not s[1] then return {5, 0} end
if s[1] == "rebuilding" then return {6, 0} end
local now = redisTimeMs()
if not s[2] or s[2] == "" or tonumber(s[2]) > now then return {2, 0} end
if tonumber(s[3]) > tonumber(s[4]) or (tonumber(s[5]) or 0) > 0 then return {3, 0} end
local expireAt = tonumber(s[2]) + tonumber(ARGV[1])
for i = 1, 5 do redis.call("PEXPIREAT", KEYS[i], expireAt) end
return {1, expireAt}
