--[[
  Queues a dead-lettered task again (TaskStore.retryDeadLetter).
  KEYS[1]  the task's hash   KEYS[2]  due zset   KEYS[3]  dead-letter zset
  ARGV[1] task id  ARGV[2] extra attempts  ARGV[3] events channel
  Steps: only if the task is failed; queued with max attempts = attempts + ARGV[2],
    kept until it finishes again, due at once (a worker's sweep publishes it),
    out of the dead-letter list.
  Returns the hash after the change, {field, value, ...}, or false.
]]
-- @include redis-time.lua
local key = KEYS[1]
local f = redis.call('HMGET', key, 'status', 'attempts')
if f[1] ~= 'failed' then return false end
local nowMs = redisTimeMs()
redis.call('HSET', key, 'status', 'queued', 'max_attempts', tonumber(f[2]) + tonumber(ARGV[2]),
  'updated_at', string.format('%d', nowMs))
redis.call('HDEL', key, 'finished_at', 'run_after')
redis.call('PERSIST', key)
redis.call('ZADD', KEYS[2], nowMs, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local all = redis.call('HGETALL', key)
redis.call('PUBLISH', ARGV[3], cjson.encode(all))
return all
