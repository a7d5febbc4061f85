-- Waiting room (docs/api.md "Waiting room"): a campaign's line and its draw.
--
-- campaigns gains the room's settings and its secret draw seed (32 bytes),
-- written in the campaign's own INSERT, so the seed is durable before its
-- commitment is ever shown. A campaign without a room has all three null.
ALTER TABLE campaigns ADD COLUMN prequeue_seconds INTEGER CHECK (prequeue_seconds > 0);
ALTER TABLE campaigns ADD COLUMN release_per_second INTEGER CHECK (release_per_second > 0);
ALTER TABLE campaigns ADD COLUMN draw_seed BLOB CHECK (draw_seed IS NULL OR length(draw_seed) = 32);

-- The embedded mode's tickets, written from their journal (DATA_DIR/tickets)
-- as claims are from theirs: what the line is rebuilt from at start. A
-- pre-queued ticket (joined before startsAt) has no arrival: its place is its
-- drawValue, HMAC(seed, user_id), recomputed. claim_id is set once the ticket
-- was admitted: the claim it became (its own id) or the one its user held.
-- One ticket per user and campaign: the last guard.
CREATE TABLE tickets (
  ticket_id   TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL REFERENCES campaigns (id),
  user_id     TEXT NOT NULL,
  joined_at   INTEGER NOT NULL,
  arrival     INTEGER CHECK (arrival > 0),
  claim_id    TEXT,
  UNIQUE (campaign_id, user_id)
);
