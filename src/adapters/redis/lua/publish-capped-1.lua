--[[
  publish-capped: append one entry unless the stream already holds its cap
  (the cap bounds Redis memory while consumers are away; past it the caller
  answers 503 instead of accepting work it may not be able to keep).

  KEYS[1] stream  ARGV[1] cap  ARGV[2] field  ARGV[3] value
  Returns the new entry id, or false when the stream is full (nothing added).
]]
if redis.call("XLEN", KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call("XADD", KEYS[1], "*", ARGV[2], ARGV[3])
