-- redisTimeMs(): Redis TIME in epoch milliseconds, the one clock every stampede process shares.
local function redisTimeMs()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
