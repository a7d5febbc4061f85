--[[
  Decides whether an attempt of a task starts now (TaskStore.start), for a
  message just taken off the tasks queue.
  KEYS[1]  the task's hash        KEYS[2]  due zset (task id -> when to publish again)
  KEYS[3]  dead-letter zset (task id -> when it failed)
  ARGV[1] task id  ARGV[2] type  ARGV[3] payload JSON  ARGV[4] max attempts  ARGV[5] created at (ms)
  ARGV[6] owner  ARGV[7] lease ms  ARGV[8] dead-letter TTL ms  ARGV[9] events channel
  Steps:
    1. the hash is missing (the message came before the API recorded it): create it, queued
       (and publish that);
    2. succeeded or failed                   -> 'finished'
    3. running and its lease not yet expired -> 'leased'
    4. queued and before its run_after       -> 'not_due'
    5. attempts == max attempts (the last ones never finished: their worker died)
       -> failed, dead-lettered               -> 'gave_up'
    6. attempts + 1, running, leased to ARGV[6] until now + lease, due again then -> 'run'
  Returns {code} or, for 'run' and 'gave_up', {code, field, value, ...} (the hash after the change).
]]
-- @include redis-time.lua
local nowMs = redisTimeMs()
local now = string.format('%d', nowMs)
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'type', ARGV[2], 'payload', ARGV[3], 'status', 'queued', 'attempts', 0,
    'max_attempts', ARGV[4], 'created_at', ARGV[5], 'updated_at', now)
  redis.call('PUBLISH', ARGV[9], cjson.encode(redis.call('HGETALL', key)))
end
local f = redis.call('HMGET', key, 'status', 'attempts', 'max_attempts', 'lease_until', 'run_after')
local status, attempts, maxAttempts = f[1], tonumber(f[2]), tonumber(f[3])
if status == 'succeeded' or status == 'failed' then return {'finished'} end
if status == 'running' and tonumber(f[4] or 0) > nowMs then return {'leased'} end
if status == 'queued' and tonumber(f[5] or 0) > nowMs then return {'not_due'} end
local code
if attempts >= maxAttempts then
  redis.call('HSET', key, 'status', 'failed', 'updated_at', now, 'finished_at', now, 'error',
    'attempt ' .. attempts .. ' did not finish (its worker stopped or lost the task); ' ..
    maxAttempts .. ' attempts were allowed')
  redis.call('HDEL', key, 'lease_owner', 'lease_until', 'run_after')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], nowMs, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[8])
  code = 'gave_up'
else
  local leaseUntil = nowMs + tonumber(ARGV[7])
  redis.call('HSET', key, 'status', 'running', 'attempts', attempts + 1, 'updated_at', now,
    'started_at', now, 'lease_owner', ARGV[6], 'lease_until', string.format('%d', leaseUntil))
  redis.call('HDEL', key, 'run_after')
  redis.call('ZADD', KEYS[2], leaseUntil, ARGV[1])
  code = 'run'
end
local all = redis.call('HGETALL', key)
redis.call('PUBLISH', ARGV[9], cjson.encode(all))
table.insert(all, 1, code)
return all
