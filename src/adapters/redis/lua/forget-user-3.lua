--[[
  forget-user: erasure (docs/lifecycle.md), once the ledger has anonymised
  the user's issued claims. Refuses while a claim of the user is still
  pending (it is in the claims hash: the worker would write it to the ledger
  with the userId), and, in a campaign with holds, while any ended hold is
  not in the ledger yet (`ended`: an ended hold has left its user's holders
  entry, so the user's own cannot be told apart; the wait is a worker's
  flush). Otherwise each of the user's claims is held by its
  tombstone from now on (so its unit and slot stay taken after a rebuild
  too), the user leaves the holders hash, and rev is bumped so API
  processes drop cached holders.

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] claims hash (per tag)
  ARGV[1] userId  ARGV[2] tombstone prefix (the tombstone is prefix .. claimId)

  Returns {0, n} FORGOTTEN (n claims), {1} PENDING, {5} NOT_FOUND, {6} REBUILDING
]]
-- @include holdings.lua
local s = redis.call("HMGET", KEYS[1], "status", "ended")
local status = s[1]
if not status then return {5} end
if status == "rebuilding" then return {6} end
if (tonumber(s[2]) or 0) > 0 then return {1} end
local held = redis.call("HGET", KEYS[2], ARGV[1])
if not held then return {0, 0} end
local entries = {}
for id, at, seq in holdings(held) do
  if redis.call("HEXISTS", KEYS[3], id) == 1 then return {1} end
  entries[#entries + 1] = {id, at, seq}
end
for _, e in ipairs(entries) do
  redis.call("HSET", KEYS[2], ARGV[2] .. e[1], e[1] .. ":" .. e[2] .. ":" .. e[3])
end
redis.call("HDEL", KEYS[2], ARGV[1])
redis.call("HINCRBY", KEYS[1], "rev", 1)
return {0, #entries}
