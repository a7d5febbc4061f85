-- Campaign lifecycle, its audit trail, and webhook delivery (docs/lifecycle.md);
-- the same tables as the embedded ledger's 0002_lifecycle.sql.

-- status: open | paused | closed. revision: bumped by every lifecycle change in
-- admission; a ledger write only lands when its revision is higher, so two
-- changes written out of order still leave the newest.
ALTER TABLE campaigns ADD COLUMN status text NOT NULL DEFAULT 'open'
  CHECK (status IN ('open', 'paused', 'closed'));
ALTER TABLE campaigns ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- Who changed what and when. The admin token carries no identity: actor is
-- what the caller declared in X-Actor ("admin" when absent), with the request
-- id and client address to tie it to the proxy's and the API's logs.
CREATE TABLE campaign_audit (
  id          bigserial PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES campaigns (id),
  at          bigint NOT NULL,
  actor       text NOT NULL,
  request_id  text,
  client_ip   text,
  action      text NOT NULL,
  details     jsonb NOT NULL
);
CREATE INDEX campaign_audit_by_campaign ON campaign_audit (campaign_id, id);

-- One webhook per campaign. The secret signs every delivery (HMAC-SHA256).
CREATE TABLE webhooks (
  campaign_id text PRIMARY KEY REFERENCES campaigns (id),
  url         text NOT NULL,
  secret      text NOT NULL,
  updated_at  bigint NOT NULL
);

-- The outbox: one row per issued claim of a campaign with a webhook, written
-- by the same statement as the claim. Dispatchers in any number of workers
-- lease due rows (FOR UPDATE SKIP LOCKED, next_attempt_at moved past the
-- lease) and mark them.
CREATE TABLE deliveries (
  claim_id        text PRIMARY KEY REFERENCES claims (claim_id),
  campaign_id     text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  last_error      text,
  created_at      bigint NOT NULL,
  delivered_at    bigint
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (campaign_id, claim_id) WHERE state = 'dead';
