-- GCRA, the arithmetic of src/domain/gcra.ts. A bucket is a string key holding its TAT
-- (theoretical arrival time, ms); a missing or past TAT counts as now.
-- gcraWait(key, now, interval, burst): the wait in ms before the bucket allows one more
-- request (0: allowed now), and the bucket's TAT once that request is counted.
local function gcraWait(key, now, interval, burst)
  local tat = tonumber(redis.call("GET", key)) or now
  if tat < now then tat = now end
  local nextTat = tat + interval
  local wait = nextTat - burst * interval - now
  -- Below GCRA_TOLERANCE_MS (src/domain/gcra.ts) it is rounding: TATs are kept to 3 decimals.
  if wait <= 0.001 then wait = 0 end
  return wait, nextTat
end
-- gcraCount(key, now, nextTat): counts the request; the bucket expires once drained.
local function gcraCount(key, now, nextTat)
  redis.call("SET", key, string.format("%.3f", nextTat), "PX", math.ceil(nextTat - now))
end
