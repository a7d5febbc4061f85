--[[
  Inserts a task as queued unless it exists (TaskStore.create).
  KEYS[1]  the task's hash
  ARGV[1] type  ARGV[2] payload JSON  ARGV[3] max attempts  ARGV[4] created at (ms)
  ARGV[5]  events channel
  Returns 1 if created, 0 if it existed (a worker saw its message first).
]]
-- @include redis-time.lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = string.format('%d', redisTimeMs())
redis.call('HSET', KEYS[1], 'type', ARGV[1], 'payload', ARGV[2], 'status', 'queued', 'attempts', 0,
  'max_attempts', ARGV[3], 'created_at', ARGV[4], 'updated_at', now)
redis.call('PUBLISH', ARGV[5], cjson.encode(redis.call('HGETALL', KEYS[1])))
return 1
