--[[
  lock-extend: keep a lock this holder still owns.
  KEYS[1] lock  ARGV[1] owner token  ARGV[2] TTL (ms)
  Returns 1 when extended, 0 when the lock expired or is another's.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0
