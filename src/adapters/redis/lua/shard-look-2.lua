--[[
  shard-look: one shard's stock as the sold-out check and the counters read
  it, in one atomic read. Read-only.

  KEYS[1] state hash  KEYS[2] transfers hash

  Returns {status ("" when missing), stock, admitted, issued, moves, transfers out not yet
  settled, soldOut (1 | 0), epoch}
]]
local s = redis.call("HMGET", KEYS[1], "status", "stock", "admitted", "issued", "moves", "soldOut", "epoch")
if not s[1] then return {"", 0, 0, 0, 0, 0, 0, "0"} end
local soldOut = 0
if s[6] == "1" then soldOut = 1 end
return {s[1], tonumber(s[2]), tonumber(s[3]), tonumber(s[4] or "0"), tonumber(s[5] or "0"),
  redis.call("HLEN", KEYS[2]), soldOut, s[7] or "0"}
