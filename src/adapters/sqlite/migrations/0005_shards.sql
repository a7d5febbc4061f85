-- A hot campaign over shards (docs/scaling.md "Hot campaign: shards"): stored
-- so the ledger keeps the campaign as created; the embedded mode has no Redis
-- slots, so it changes nothing here. Existing campaigns have one shard.
ALTER TABLE campaigns ADD COLUMN shards INTEGER NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 16);
