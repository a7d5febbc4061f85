--[[
  Hands an interrupted attempt back (TaskStore.release, on shutdown): queued
  again and due at once; the attempt is not counted, so the same attempt
  number runs again.
  KEYS[1]  the task's hash   KEYS[2]  due zset
  ARGV[1] task id  ARGV[2] attempt  ARGV[3] events channel
  Returns 1 if released, 0 if the attempt was no longer the current one.
]]
-- @include redis-time.lua
local key = KEYS[1]
local f = redis.call('HMGET', key, 'status', 'attempts')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return 0 end
local nowMs = redisTimeMs()
redis.call('HSET', key, 'status', 'queued', 'attempts', tonumber(ARGV[2]) - 1,
  'updated_at', string.format('%d', nowMs))
redis.call('HDEL', key, 'lease_owner', 'lease_until', 'run_after')
redis.call('ZADD', KEYS[2], nowMs, ARGV[1])
redis.call('PUBLISH', ARGV[3], cjson.encode(redis.call('HGETALL', key)))
return 1
