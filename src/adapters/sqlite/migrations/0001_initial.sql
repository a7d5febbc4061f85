-- The embedded ledger. Unique keys are the last guard: one unit of stock, one
-- user slot and one coupon code can each be held by one claim only.
CREATE TABLE campaigns (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  stock          INTEGER NOT NULL CHECK (stock > 0),
  per_user_limit INTEGER NOT NULL CHECK (per_user_limit > 0),
  starts_at      INTEGER,
  ends_at        INTEGER,
  created_at     INTEGER NOT NULL
);

CREATE TABLE claims (
  claim_id        TEXT PRIMARY KEY,
  campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
  user_id         TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  unit            INTEGER NOT NULL,
  coupon_code     TEXT NOT NULL UNIQUE,
  admitted_at     INTEGER NOT NULL,
  issued_at       INTEGER NOT NULL,
  idempotency_key TEXT,
  UNIQUE (campaign_id, user_id, seq),
  UNIQUE (campaign_id, unit)
);
