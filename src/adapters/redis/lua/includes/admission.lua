-- The admission decision, shared by admit-9.lua (one claim) and room-release-8.lua (the waiting
-- room's releases: each ticket admitted exactly as a claim). Needs redis-time.lua, split.lua,
-- holdings.lua, claim.lua and holds.lua.
--
-- admissionState(key): the state hash's fields the decision reads, or nil when there is no state.
--   S = {status, stock, perUser, startsAt, endsAt, admitted, epoch, rev, hold, holdSec, lease, shards,
--   sharded, soldOut}
--   (numbers where numbers; startsAt/endsAt "" = none; holdSec nil without holds; lease: "epoch:rev",
--   "" while a change that may reopen the campaign is on hold; sharded: one shard of a campaign over
--   shards, whose stock is its slice; soldOut: the check across its shards found it sold out).
local ADMISSION_SEP = "\31"
local function admissionState(key)
  local s = redis.call("HMGET", key, "status", "stock", "perUser", "startsAt", "endsAt", "admitted", "next",
    "epoch", "rev", "hold", "holdSec", "shards", "soldOut")
  if not s[1] then return nil end
  local S = {status = s[1], stock = tonumber(s[2]), perUser = tonumber(s[3]), startsAt = s[4] or "",
    endsAt = s[5] or "", admitted = tonumber(s[6]), hold = s[10], holdSec = tonumber(s[11] or ""), lease = "",
    shards = tonumber(s[12] or "1") or 1, soldOut = s[13] == "1"}
  S.sharded = S.shards > 1
  if not S.hold then S.lease = (s[8] or "0") .. ":" .. (s[9] or "0") end
  return S
end

-- describeClaim(K, S, code, replayed, id, admittedAt, seq, atLimit, replay): the reply naming a claim a
-- holders entry or an idempotency record names: in the claims hash (pending, a live or confirmed hold),
-- or gone from it: issued; for a replay in a campaign with holds, final in the ledger (it may have
-- ended since).
local function describeClaim(K, S, code, replayed, id, admittedAt, seq, atLimit, replay)
  local packed = redis.call("HGET", K.claims, id)
  if packed then return {code, replayed, S.lease, id, admittedAt, seq, 1, packed, atLimit} end
  local gone = 0
  if replay and S.holdSec then gone = 2 end
  return {code, replayed, S.lease, id, admittedAt, seq, gone, "", atLimit}
end

-- notActiveReason(S, now): why the campaign takes no claim now, or nil. Closed first: closing also
-- sets endsAt to the moment it closed, and the reason should say it was closed, not that it ended.
local function notActiveReason(S, now)
  if S.status == "closed" then return "closed" end
  if S.startsAt ~= "" and now < tonumber(S.startsAt) then return "not_started" end
  if S.endsAt ~= "" and now >= tonumber(S.endsAt) then return "ended" end
  if S.status == "paused" then return "paused" end
  return nil
end

-- decideClaim(K, S, r): decides one claim once the state is loaded, due holds reaped and repeats
-- answered (admit-9.lua's steps from the holders check on), and when admitted reserves its unit,
-- records it and hands it to the sink. K: the campaign's keys {state, holders, claims, sink, free,
-- expiries}. S: admissionState(), with S.admitted already less the holds reaped by the caller; kept
-- current here (a caller deciding several claims in one script passes the same S).
-- r: {campaignId, userId, claimId, coupon, idemKey ("" = none), mode ("stream" | "outbox"), cap,
--     channel ("" = publish nothing), now,
--     limit: function() -> waitMs (0: allowed; counts the request when allowed), or nil (no limits),
--     remember: function(value) (the idempotency record), or nil}
-- Returns admit-9.lua's reply (its header): ADMITTED, ALREADY_CLAIMED, NOT_ACTIVE, SOLD_OUT,
-- SINK_FULL, RATE_LIMITED.
local function decideClaim(K, S, r)
  local now = r.now
  local remember = r.remember or function() end
  local function announce(n)
    if n > 0 and r.channel ~= "" then redis.call("PUBLISH", r.channel, "returned " .. r.campaignId) end
  end

  -- holders: "claimId:admittedAt:seq,..." in admission order (the most recent last).
  local entries = {}
  local held = redis.call("HGET", K.holders, r.userId)
  if held then
    for id, at, seq in holdings(held) do
      if id == r.claimId then return describeClaim(K, S, 1, 0, id, tonumber(at), tonumber(seq), 0) end
      entries[#entries + 1] = {id, at, seq}
    end
  end

  -- The rate limits: all buckets allow, or none is counted.
  if r.limit then
    local wait = r.limit()
    if wait > 0 then return {8, 0, S.lease, math.ceil(wait)} end
  end

  -- At the limit with holds: the user's own due holds end first; the 409 is for good only once every
  -- claim of the user is issued (left the claims hash).
  local final = 1
  if #entries >= S.perUser and S.holdSec then
    local live = {}
    local own = 0
    for _, e in ipairs(entries) do
      local packed = redis.call("HGET", K.claims, e[1])
      local c = packed and unpackClaim(packed)
      if c and (c.status == "p" or c.status == "h") and c.expiresAt ~= "" and tonumber(c.expiresAt) <= now then
        endHold(K, r.mode, c, "x", now)
        own = own + 1
      else
        if packed then final = 0 end
        live[#live + 1] = e
      end
    end
    entries = live
    S.admitted = S.admitted - own
    announce(own)
  end

  local count = #entries
  local used = {}
  for _, e in ipairs(entries) do used[tonumber(e[3])] = true end
  if count >= S.perUser then
    local last = entries[count]
    remember("C" .. ADMISSION_SEP .. last[1] .. ADMISSION_SEP .. last[2] .. ADMISSION_SEP .. last[3])
    return describeClaim(K, S, 2, 0, last[1], tonumber(last[2]), tonumber(last[3]), final)
  end

  local reason = notActiveReason(S, now)
  if reason then
    remember("N" .. ADMISSION_SEP .. reason)
    return {3, 0, S.lease, reason}
  end

  if S.admitted >= S.stock then
    -- One shard of a campaign over shards out of its slice is no answer yet: the caller takes units
    -- from the other shards (shards.ts), and only a 410 it decides is remembered.
    if S.sharded and not S.soldOut then return {4, 0, ""} end
    remember("S")
    -- With holds, sold out is not for good (a hold may end at any moment): nothing to lease.
    if S.holdSec then return {4, 0, ""} end
    return {4, 0, S.lease}
  end

  local depth
  if r.mode == "stream" then depth = redis.call("XLEN", K.sink) else depth = redis.call("ZCARD", K.sink) end
  if depth >= r.cap then return {7, 0, S.lease} end

  local unit = redis.call("LPOP", K.free)
  if unit then
    unit = tonumber(unit)
  else
    unit = redis.call("HINCRBY", K.state, "next", 1)
  end
  redis.call("HINCRBY", K.state, "admitted", 1)
  S.admitted = S.admitted + 1
  -- The lowest free slot: a rebuild after a loss, or an ended hold, can leave a gap (seq 1 and 3 held).
  local seq = 1
  while used[seq] do seq = seq + 1 end
  local claim = {id = r.claimId, campaign = r.campaignId, user = r.userId, seq = seq, unit = unit,
    coupon = r.coupon, at = now, idem = r.idemKey, status = "p", expiresAt = "", issuedAt = "", endedAt = ""}
  if S.holdSec then claim.expiresAt = now + S.holdSec * 1000 end
  local packed = packClaim(claim)
  redis.call("HSET", K.claims, r.claimId, packed)
  if S.holdSec then redis.call("ZADD", K.expiries, claim.expiresAt, r.claimId) end
  local entry = r.claimId .. ":" .. now .. ":" .. seq
  if count > 0 then
    local kept = {}
    for _, e in ipairs(entries) do kept[#kept + 1] = e[1] .. ":" .. e[2] .. ":" .. e[3] end
    entry = table.concat(kept, ",") .. "," .. entry
  end
  redis.call("HSET", K.holders, r.userId, entry)
  toSink(K, r.mode, r.claimId, packed, now)
  remember("A" .. ADMISSION_SEP .. r.claimId .. ADMISSION_SEP .. now .. ADMISSION_SEP .. seq)
  if S.admitted == S.stock and r.channel ~= "" and not S.holdSec and not S.sharded then
    redis.call("PUBLISH", r.channel, "sold_out " .. r.campaignId)
  end
  local atLimit = 0
  if count + 1 >= S.perUser and not S.holdSec then atLimit = 1 end
  return {1, 0, S.lease, r.claimId, now, seq, 1, packed, atLimit}
end
