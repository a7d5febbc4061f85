-- holdings(held): iterates a holders hash value "claimId:admittedAt:seq,..." (admission order),
-- yielding claimId, admittedAt and seq as strings.
local function holdings(held)
  return string.gmatch(held, "([^,:]+):(%d+):(%d+)")
end
