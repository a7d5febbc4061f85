--[[
  rate-limit (GCRA): count one request against every bucket in KEYS, or against none.
  The same arithmetic as src/domain/gcra.ts (includes/gcra.lua, which the
  admission script uses too); the clock is Redis TIME, so every API process
  judges by the same one. Claims are limited inside admit-9.lua; this script
  is for what is limited on its own.

  KEYS[i]       a bucket: a string holding its TAT (theoretical arrival time, ms)
  ARGV[2i-1]    that bucket's interval in ms (period / count; may be fractional)
  ARGV[2i]      that bucket's burst

  Steps: read each TAT (a missing or past one counts as now); the request is
  allowed by a bucket when TAT + interval - burst * interval <= now. If any
  bucket refuses, nothing is written. Otherwise every TAT moves on by one
  interval and expires when it has drained (so idle buckets cost no memory).

  Returns: 0 = allowed (counted), n > 0 = refused, retry in n ms.
]]
-- @include redis-time.lua
-- @include gcra.lua
local now = redisTimeMs()
local wait = 0
local next_tats = {}
for i, key in ipairs(KEYS) do
  local w, next_tat = gcraWait(key, now, tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]))
  if w > wait then wait = w end
  next_tats[i] = next_tat
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do gcraCount(key, now, next_tats[i]) end
return 0
