-- Campaign lifecycle, its audit trail, and webhook delivery (docs/lifecycle.md).

-- status: open | paused | closed. revision: bumped by every lifecycle change in
-- admission; the ledger keeps the row with the highest, so two changes whose
-- ledger writes land out of order still leave the newest.
ALTER TABLE campaigns ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
  CHECK (status IN ('open', 'paused', 'closed'));
ALTER TABLE campaigns ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Who changed what and when. The admin token carries no identity: actor is
-- what the caller declared in X-Actor ("admin" when absent), with the request
-- id and client address to tie it to the proxy's and the API's logs.
CREATE TABLE campaign_audit (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id TEXT NOT NULL REFERENCES campaigns (id),
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  request_id  TEXT,
  client_ip   TEXT,
  action      TEXT NOT NULL,
  details     TEXT NOT NULL
);
CREATE INDEX campaign_audit_by_campaign ON campaign_audit (campaign_id, id);

-- One webhook per campaign. The secret signs every delivery (HMAC-SHA256).
CREATE TABLE webhooks (
  campaign_id TEXT PRIMARY KEY REFERENCES campaigns (id),
  url         TEXT NOT NULL,
  secret      TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);

-- The outbox: one row per issued claim of a campaign with a webhook, written
-- in the same transaction as the claim, so no issued claim misses its
-- delivery and none is announced before it is durable. The dispatcher leases
-- due rows (next_attempt_at moves past the lease) and marks them.
CREATE TABLE deliveries (
  claim_id        TEXT PRIMARY KEY REFERENCES claims (claim_id),
  campaign_id     TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (campaign_id, claim_id) WHERE state = 'dead';
