--[[
  Takes the tasks to publish again (TaskStore.due): retries whose time came
  and running tasks whose lease expired, and holds each for ARGV[2] ms so that
  concurrent sweepers do not both publish it.
  KEYS[1]  due zset (task id -> when to publish again)
  ARGV[1] most tasks to take  ARGV[2] hold ms  ARGV[3] prefix of the task hashes (prefix .. id)
  Members whose hash is gone are dropped.
  Returns {id, type, payload, created_at, max_attempts, id, ...}.
]]
-- @include redis-time.lua
local nowMs = redisTimeMs()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[3] .. id, 'type', 'payload', 'created_at', 'max_attempts', 'status')
  if f[1] and (f[5] == 'queued' or f[5] == 'running') then
    redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), id)
    table.insert(out, id)
    table.insert(out, f[1])
    table.insert(out, f[2])
    table.insert(out, f[3])
    table.insert(out, f[4])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
