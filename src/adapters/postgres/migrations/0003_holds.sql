-- Holds (docs/api.md "Holds"): a claim may be held, then issued, expired or released;
-- the same schema as the embedded ledger's 0003_holds.sql.
--
-- claims gains status (existing rows are issued), expires_at and ended_at;
-- issued_at is null unless issued. The unit and user-slot keys apply to
-- active claims only (held, issued), so a unit or slot given back by an
-- expired or released hold is handed out again: the two UNIQUE constraints
-- become partial unique indexes. coupon_code stays unique. Adding the
-- columns rewrites nothing (constant defaults); building the indexes reads
-- the table once, under the migration's lock.

ALTER TABLE campaigns ADD COLUMN hold_seconds integer CHECK (hold_seconds > 0);

ALTER TABLE claims
  ADD COLUMN status text NOT NULL DEFAULT 'issued'
    CHECK (status IN ('held', 'issued', 'expired', 'released')),
  ADD COLUMN expires_at bigint,
  ADD COLUMN ended_at bigint,
  ALTER COLUMN issued_at DROP NOT NULL,
  ADD CONSTRAINT claims_issued_at CHECK (status <> 'issued' OR issued_at IS NOT NULL),
  ADD CONSTRAINT claims_ended_at CHECK (status NOT IN ('expired', 'released') OR ended_at IS NOT NULL);

-- The last guard, among active claims: one holder per unit, per user slot.
CREATE UNIQUE INDEX claims_unit_active ON claims (campaign_id, unit) WHERE status IN ('held', 'issued');
CREATE UNIQUE INDEX claims_slot_active ON claims (campaign_id, user_id, seq)
  WHERE status IN ('held', 'issued');
ALTER TABLE claims
  DROP CONSTRAINT claims_campaign_id_user_id_seq_key,
  DROP CONSTRAINT claims_campaign_id_unit_key;
-- Holds not yet confirmed, by expiry (counts; the reaper's and the rebuild's reads).
CREATE INDEX claims_held ON claims (campaign_id, expires_at) WHERE status = 'held';
-- Ended holds, for the export (by unit, then claim) and a user's claims. Empty
-- for campaigns without holds: they cost those nothing.
CREATE INDEX claims_ended_unit ON claims (campaign_id, unit, claim_id) WHERE status IN ('expired', 'released');
CREATE INDEX claims_ended_user ON claims (campaign_id, user_id) WHERE status IN ('expired', 'released');

-- One delivery per claim and event (claim.issued, claim.expired, claim.released).
ALTER TABLE deliveries
  ADD COLUMN event text NOT NULL DEFAULT 'claim.issued'
    CHECK (event IN ('claim.issued', 'claim.expired', 'claim.released')),
  DROP CONSTRAINT deliveries_pkey,
  ADD PRIMARY KEY (claim_id, event);
