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
} as const;

export const MARK_ISSUED = { OK: 0, NOT_FOUND: 5, REBUILDING: 6 } as const;

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
