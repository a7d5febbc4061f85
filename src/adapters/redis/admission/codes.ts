/**
 * The admission scripts' return codes (see each script's header), mapped to
 * meaning in this one place.
 */
export const ADMIT = {
  ADMITTED: 1,
  ALREADY_CLAIMED: 2,
  NOT_ACTIVE: 3,
  SOLD_OUT: 4,
  NOT_FOUND: 5,
  REBUILDING: 6,
  SINK_FULL: 7,
  RATE_LIMITED: 8,
  WRONG_SHARDS: 9,
} as const;

/** admit-9.lua's `pending` field: where the named claim is. */
export const CLAIM_PLACE = {
  /** Left the claims hash: issued. */
  ISSUED: 0,
  /** In the claims hash: the reply carries it packed. */
  IN_REDIS: 1,
  /** Left it, in a campaign with holds, named by a replay: final in the ledger, status unknown here. */
  IN_LEDGER: 2,
} as const;

export const MARK_WRITTEN = { OK: 0, NOT_FOUND: 5, REBUILDING: 6 } as const;

/** confirm-6.lua and release-6.lua. */
export const HOLD = {
  CONFIRMED: 1,
  RELEASED: 2,
  HOLD_EXPIRED: 3,
  ALREADY_CONFIRMED: 4,
  NOT_FOUND: 5,
  REBUILDING: 6,
  NOT_A_HOLD: 7,
  GONE: 8,
  UNREADABLE: 9,
} as const;

export const REAP = { OK: 0, NOT_FOUND: 5, REBUILDING: 6 } as const;

export const CHANGE = {
  HELD: 0,
  CHANGED: 1,
  STOCK_BELOW: 2,
  CLOSED: 3,
  NOT_FOUND: 5,
  REBUILDING: 6,
} as const;

export const FORGET = { FORGOTTEN: 0, PENDING: 1, NOT_FOUND: 5, REBUILDING: 6 } as const;

export const RETIRE = { EXPIRING: 1, NOT_ENDED: 2, DRAINING: 3, NOT_FOUND: 5, REBUILDING: 6 } as const;
