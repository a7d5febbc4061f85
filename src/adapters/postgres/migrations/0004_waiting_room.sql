-- Waiting room (docs/api.md "Waiting room"): the room's settings and its
-- secret draw seed (32 bytes) on the campaign, written in the campaign's own
-- INSERT, so the seed is durable before its commitment is ever shown; the
-- same columns as the embedded ledger's 0004_waiting_room.sql. A campaign
-- without a room has all three null. The line itself lives in Redis.
ALTER TABLE campaigns
  ADD COLUMN prequeue_seconds integer CHECK (prequeue_seconds > 0),
  ADD COLUMN release_per_second integer CHECK (release_per_second > 0),
  ADD COLUMN draw_seed bytea CHECK (draw_seed IS NULL OR length(draw_seed) = 32);
