--[[
  sold-out-snapshot: what an API process may cache once a campaign is sold
  out. Read-only. Sold out with the same epoch and rev is final (no claim can
  be admitted and none released), so the holders read here are final too.

  KEYS[1] state hash  KEYS[2] holders hash
  ARGV[1] most holders worth returning (larger sets are not cached)

  Returns {0} when not cacheable (not sold out, not open, or on hold), else
  {1, epoch, rev, admitted, issued, endsAt, perUser, withHolders, userId, holders value, ...}
]]
local s = redis.call("HMGET", KEYS[1], "status", "hold", "admitted", "stock", "epoch", "rev", "issued", "endsAt", "perUser")
if s[1] ~= "open" or s[2] or tonumber(s[3]) < tonumber(s[4]) then return {0} end
local out = {1, s[5], s[6], s[3], s[7], s[8], s[9]}
if tonumber(s[3]) <= tonumber(ARGV[1]) then
  out[8] = 1
  local all = redis.call("HGETALL", KEYS[2])
  for i = 1, #all do out[#out + 1] = all[i] end
else
  out[8] = 0
end
return out
