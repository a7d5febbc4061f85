--[[
  Records the outcome of an attempt (TaskStore.succeed and TaskStore.fail).
  KEYS[1]  the task's hash   KEYS[2]  due zset   KEYS[3]  dead-letter zset
  ARGV[1] task id  ARGV[2] attempt  ARGV[3] outcome: 'succeeded' | 'retry' | 'failed'
  ARGV[4] result JSON (succeeded) or error text  ARGV[5] retry delay ms (retry)
  ARGV[6] how long the hash is kept once finished, ms  ARGV[7] events channel
  Steps: only if the task is running ARGV[2] (else the attempt is stale: return false);
    succeeded: result, expires after ARGV[6];
    retry:     queued again, due (and startable) after ARGV[5];
    failed:    dead-lettered, expires after ARGV[6].
  Returns the hash after the change, {field, value, ...}, or false.
]]
-- @include redis-time.lua
local key = KEYS[1]
local f = redis.call('HMGET', key, 'status', 'attempts')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return false end
local nowMs = redisTimeMs()
local now = string.format('%d', nowMs)
local outcome = ARGV[3]
if outcome == 'succeeded' then
  redis.call('HSET', key, 'status', 'succeeded', 'result', ARGV[4], 'updated_at', now, 'finished_at', now)
  redis.call('HDEL', key, 'error', 'lease_owner', 'lease_until', 'run_after')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', key, ARGV[6])
elseif outcome == 'retry' then
  local runAfter = nowMs + tonumber(ARGV[5])
  redis.call('HSET', key, 'status', 'queued', 'error', ARGV[4], 'updated_at', now,
    'run_after', string.format('%d', runAfter))
  redis.call('HDEL', key, 'lease_owner', 'lease_until')
  redis.call('ZADD', KEYS[2], runAfter, ARGV[1])
else
  redis.call('HSET', key, 'status', 'failed', 'error', ARGV[4], 'updated_at', now, 'finished_at', now)
  redis.call('HDEL', key, 'lease_owner', 'lease_until', 'run_after')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], nowMs, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[6])
end
local all = redis.call('HGETALL', key)
redis.call('PUBLISH', ARGV[7], cjson.encode(all))
return all
