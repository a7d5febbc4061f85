-- Holds (docs/api.md "Holds"): a claim may be held, then issued, expired or released.
--
-- claims gains status (existing rows are issued), expires_at and ended_at;
-- issued_at is null unless issued. The unit and user-slot keys apply to
-- active claims only (held, issued), so a unit or slot given back by an
-- expired or released hold is handed out again; coupon_code stays unique.
-- SQLite cannot drop a UNIQUE constraint: the table is rebuilt (its rows
-- copied as they are), and deliveries with it, which references it and whose
-- key becomes (claim_id, event). Runs in the migration transaction.

ALTER TABLE campaigns ADD COLUMN hold_seconds INTEGER CHECK (hold_seconds > 0);

-- The outbox's rows wait in a plain table while claims is rebuilt: with
-- foreign keys on, claims can only be dropped with no table referencing it.
CREATE TABLE deliveries_0003 AS SELECT * FROM deliveries;
DROP TABLE deliveries;

CREATE TABLE claims_0003 (
  claim_id        TEXT PRIMARY KEY,
  campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
  user_id         TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  unit            INTEGER NOT NULL,
  coupon_code     TEXT NOT NULL UNIQUE,
  admitted_at     INTEGER NOT NULL,
  issued_at       INTEGER,
  idempotency_key TEXT,
  status          TEXT NOT NULL DEFAULT 'issued'
    CHECK (status IN ('held', 'issued', 'expired', 'released')),
  expires_at      INTEGER,
  ended_at        INTEGER,
  CHECK (status <> 'issued' OR issued_at IS NOT NULL),
  CHECK (status NOT IN ('expired', 'released') OR ended_at IS NOT NULL)
);
INSERT INTO claims_0003
  (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key)
SELECT claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at, idempotency_key
FROM claims;
DROP TABLE claims;
ALTER TABLE claims_0003 RENAME TO claims;

-- The last guard, among active claims: one holder per unit, per user slot.
CREATE UNIQUE INDEX claims_unit_active ON claims (campaign_id, unit) WHERE status IN ('held', 'issued');
CREATE UNIQUE INDEX claims_slot_active ON claims (campaign_id, user_id, seq)
  WHERE status IN ('held', 'issued');
-- Holds not yet confirmed, by expiry (counts; the reaper's and the rebuild's reads).
CREATE INDEX claims_held ON claims (campaign_id, expires_at) WHERE status = 'held';
-- Ended holds, for the export (by unit, then claim) and a user's claims. Empty
-- for campaigns without holds: they cost those nothing.
CREATE INDEX claims_ended_unit ON claims (campaign_id, unit, claim_id) WHERE status IN ('expired', 'released');
CREATE INDEX claims_ended_user ON claims (campaign_id, user_id) WHERE status IN ('expired', 'released');

-- One delivery per claim and event (claim.issued, claim.expired, claim.released).
CREATE TABLE deliveries (
  claim_id        TEXT NOT NULL REFERENCES claims (claim_id),
  event           TEXT NOT NULL DEFAULT 'claim.issued'
    CHECK (event IN ('claim.issued', 'claim.expired', 'claim.released')),
  campaign_id     TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER,
  PRIMARY KEY (claim_id, event)
) WITHOUT ROWID;
INSERT INTO deliveries
  (claim_id, campaign_id, state, attempts, next_attempt_at, last_error, created_at, delivered_at)
SELECT claim_id, campaign_id, state, attempts, next_attempt_at, last_error, created_at, delivered_at
FROM deliveries_0003;
DROP TABLE deliveries_0003;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (campaign_id, claim_id) WHERE state = 'dead';
