-- The distributed ledger. Runs with search_path set to the ledger's schema
-- (DATABASE_SCHEMA), inside the migration transaction. Append-only: change
-- the schema in a new numbered file, never by editing this one.
--
-- Unique keys are the last guard: one unit of stock, one user slot and one
-- coupon code can each be held by one claim only, whatever Redis believed.
-- Times are epoch milliseconds, as everywhere inside stampede.
CREATE TABLE campaigns (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  stock          integer NOT NULL CHECK (stock > 0),
  per_user_limit integer NOT NULL CHECK (per_user_limit > 0),
  starts_at      bigint,
  ends_at        bigint,
  created_at     bigint NOT NULL
);

CREATE TABLE claims (
  claim_id        text PRIMARY KEY,
  campaign_id     text NOT NULL REFERENCES campaigns (id),
  user_id         text NOT NULL,
  seq             integer NOT NULL,
  unit            integer NOT NULL,
  coupon_code     text NOT NULL UNIQUE,
  admitted_at     bigint NOT NULL,
  issued_at       bigint NOT NULL,
  idempotency_key text,
  UNIQUE (campaign_id, user_id, seq),
  UNIQUE (campaign_id, unit)
);

-- Redis-loss detection: each rebuild of a campaign's Redis state takes the
-- next epoch here and stamps it on the state. A Redis whose state has another
-- epoch (or none) is not the one the ledger last rebuilt.
CREATE TABLE redis_epochs (
  campaign_id text PRIMARY KEY REFERENCES campaigns (id),
  epoch       bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
