-- The packed claim (claim-codec.ts): fields joined by U+001F; layout 1 (a pending claim without
-- holds) or 2 (with a hold's status letter, p h c x r, and its times; "" = none).
-- unpackClaim(packed): a table {id, campaign, user, seq, unit, coupon, at, idem, status, expiresAt,
-- issuedAt, endedAt} (strings), or nil for a layout this version does not know (a newer writer's).
-- packClaim(c): layout 1 when the claim fits it (so older readers read it), else 2.
local CLAIM_SEP = "\31"
local function unpackClaim(packed)
  local f, from = {}, 1
  while true do
    local at = string.find(packed, CLAIM_SEP, from, true)
    if not at then
      f[#f + 1] = string.sub(packed, from)
      break
    end
    f[#f + 1] = string.sub(packed, from, at - 1)
    from = at + 1
  end
  local c = {id = f[2], campaign = f[3], user = f[4], seq = f[5], unit = f[6], coupon = f[7], at = f[8],
    idem = f[9], status = "p", expiresAt = "", issuedAt = "", endedAt = ""}
  if f[1] == "2" and #f == 13 then
    c.status, c.expiresAt, c.issuedAt, c.endedAt = f[10], f[11], f[12], f[13]
  elseif f[1] ~= "1" or #f ~= 9 then
    return nil
  end
  return c
end
local function packClaim(c)
  local base = table.concat({c.id, c.campaign, c.user, c.seq, c.unit, c.coupon, c.at, c.idem}, CLAIM_SEP)
  if c.status == "p" and c.expiresAt == "" and c.issuedAt == "" and c.endedAt == "" then
    return "1" .. CLAIM_SEP .. base
  end
  return table.concat({"2", base, c.status, c.expiresAt, c.issuedAt, c.endedAt}, CLAIM_SEP)
end
