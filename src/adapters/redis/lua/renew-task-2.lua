--[[
  Extends a running attempt's lease (TaskStore.renew).
  KEYS[1]  the task's hash   KEYS[2]  due zset
  ARGV[1] task id  ARGV[2] attempt  ARGV[3] owner  ARGV[4] lease ms
  Returns 1 if extended; 0 if the attempt is no longer the task's current one
  (finished, failed over to another attempt, or the hash is gone).
]]
-- @include redis-time.lua
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'lease_owner')
if f[1] ~= 'running' or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return 0 end
local leaseUntil = redisTimeMs() + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'lease_until', string.format('%d', leaseUntil))
redis.call('ZADD', KEYS[2], leaseUntil, ARGV[1])
return 1
