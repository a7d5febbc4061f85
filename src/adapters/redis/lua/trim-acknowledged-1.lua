--[[
  trim-acknowledged: drop the entries every consumer group is done with, and
  never one that is still pending or not yet delivered. MAXLEN would drop
  unacknowledged claims; this trims by MINID at the oldest entry some group
  still needs: its oldest pending entry, else the one after its last
  delivered entry. A stream with no group is left alone.

  KEYS[1] stream
  Returns the number of entries removed.
]]
local function parse(id)
  local ms, seq = string.match(id, "^(%d+)-(%d+)$")
  return tonumber(ms), tonumber(seq)
end
local function less(ams, aseq, bms, bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end

if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
local groups = redis.call("XINFO", "GROUPS", KEYS[1])
if #groups == 0 then return 0 end
local minMs, minSeq
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local ms, seq
  local summary = redis.call("XPENDING", KEYS[1], info["name"])
  if summary[1] > 0 then
    ms, seq = parse(summary[2])
  else
    ms, seq = parse(info["last-delivered-id"])
    seq = seq + 1
  end
  if not minMs or less(ms, seq, minMs, minSeq) then minMs, minSeq = ms, seq end
end
return redis.call("XTRIM", KEYS[1], "MINID", string.format("%.0f-%.0f", minMs, minSeq))
