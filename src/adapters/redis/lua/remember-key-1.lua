--[[
  Remembers the task an Idempotency-Key produced (TaskStore.rememberKey).
  KEYS[1]  the key's string
  ARGV[1]  the TaskMessage, JSON
  ARGV[2]  how long the key is kept, ms
  Returns the earlier message (JSON) if the key was taken, else false after taking it.
]]
local earlier = redis.call('GET', KEYS[1])
if earlier then return earlier end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
