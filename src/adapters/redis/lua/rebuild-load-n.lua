--[[
  rebuild-load: one chunk of a rebuild (holders, claims not yet final in
  the ledger, stale claims to drop, freed units, live holds' expiries,
  idempotency records), written only while this epoch still owns the
  rebuild (see rebuild-begin).

  KEYS[1] state hash  KEYS[2] holders hash  KEYS[3] claims hash  KEYS[4] free units list
  KEYS[5] expiries sorted set
  KEYS[6..] idempotency records, one per idempotency value below
  ARGV[1] epoch  ARGV[2] idempotency TTL (s)
  ARGV[3] nHolders  ARGV[4] nClaims  ARGV[5] nDrop  ARGV[6] nFree  ARGV[7] nExpiries
  then nHolders pairs (userId, holders value), nClaims pairs (claimId, packed),
  nDrop claim ids, nFree units, nExpiries pairs (expiresAt, claimId), and one
  idempotency value per KEYS[6..]

  Returns 1 when written, 0 when a newer epoch owns the rebuild (nothing written).
]]
local s = redis.call("HMGET", KEYS[1], "status", "rebuildEpoch")
if s[1] ~= "rebuilding" or tonumber(s[2]) ~= tonumber(ARGV[1]) then return 0 end
local ttl = ARGV[2]
local nHolders, nClaims, nDrop, nFree = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local nExpiries = tonumber(ARGV[7])
local i = 8
if nHolders > 0 then
  redis.call("HSET", KEYS[2], unpack(ARGV, i, i + 2 * nHolders - 1))
  i = i + 2 * nHolders
end
if nClaims > 0 then
  redis.call("HSET", KEYS[3], unpack(ARGV, i, i + 2 * nClaims - 1))
  i = i + 2 * nClaims
end
if nDrop > 0 then
  redis.call("HDEL", KEYS[3], unpack(ARGV, i, i + nDrop - 1))
  i = i + nDrop
end
if nFree > 0 then
  redis.call("RPUSH", KEYS[4], unpack(ARGV, i, i + nFree - 1))
  i = i + nFree
end
if nExpiries > 0 then
  redis.call("ZADD", KEYS[5], unpack(ARGV, i, i + 2 * nExpiries - 1))
  i = i + 2 * nExpiries
end
for k = 6, #KEYS do
  redis.call("SET", KEYS[k], ARGV[i], "EX", ttl)
  i = i + 1
end
return 1
