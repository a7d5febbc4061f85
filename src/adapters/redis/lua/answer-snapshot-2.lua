--[[
  answer-snapshot: what an API process may answer from memory about one
  campaign (memory-answers.ts). Read-only.

  A campaign-wide answer is the one every user without a full set of claims
  gets, in the contract's order after 409: 403 closed, 403 not_started,
  403 ended, 403 paused, 410 sold out. While the state keeps its epoch and
  rev, that answer holds (not_started only until startsAt) and no claim can
  be admitted, so the holders read here are all of them and final.

  A campaign with holds (holdSec) is never sold out for good: a hold that
  expires or is released gives its unit back at once, with no change of
  rev and no wait for leases (docs/api.md "Holds"). So it gets no sold_out
  snapshot; its 403 answers hold as for any campaign (an ended hold
  reopens nothing), and its holders with a live hold are never answered
  from memory (a holder is only once every claim it holds is issued).

  A shard of a campaign over shards (docs/scaling.md) is sold out only once
  marked so (shard-sold-out-1.lua): its own slice running out is not.

  KEYS[1] state hash  KEYS[2] holders hash
  ARGV[1] most holders worth returning (a campaign with more is not answered from memory)
  ARGV[2] "shard" when asked by a shard's ref; a shard's state asked by its plain campaign id has
          only that shard's holders, so it gives nothing

  Returns {0} when the campaign has no campaign-wide answer now, is being
  rebuilt, or has a change on hold that may reopen it; else
  {1, lease ("epoch:rev"), answer, now (Redis TIME, ms), startsAt, endsAt, perUser,
   allIssued (1 | 0), withHolders (1 | 0), userId, holders value, ...}
]]
-- @include redis-time.lua
local s = redis.call("HMGET", KEYS[1], "status", "hold", "admitted", "stock", "epoch", "rev", "issued",
  "startsAt", "endsAt", "perUser", "holdSec", "shards", "soldOut")
local status = s[1]
if not status or status == "rebuilding" or s[2] then return {0} end
local sharded = (tonumber(s[12] or "1") or 1) > 1
if sharded and ARGV[2] ~= "shard" then return {0} end
local now = redisTimeMs()
local startsAt, endsAt = s[8] or "", s[9] or ""
local answer
if status == "closed" then
  answer = "closed"
elseif startsAt ~= "" and now < tonumber(startsAt) then
  answer = "not_started"
elseif endsAt ~= "" and now >= tonumber(endsAt) then
  answer = "ended"
elseif status == "paused" then
  answer = "paused"
elseif tonumber(s[3]) >= tonumber(s[4]) and (s[11] or "") == "" and (not sharded or s[13] == "1") then
  answer = "sold_out"
else
  return {0}
end
local allIssued = 0
if tonumber(s[7]) >= tonumber(s[3]) then allIssued = 1 end
local out = {1, (s[5] or "0") .. ":" .. (s[6] or "0"), answer, now, startsAt, endsAt, s[10], allIssued, 0}
if tonumber(s[3]) <= tonumber(ARGV[1]) then
  out[9] = 1
  local all = redis.call("HGETALL", KEYS[2])
  for i = 1, #all do out[#out + 1] = all[i] end
end
return out
