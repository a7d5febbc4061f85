-- A hot campaign over shards (docs/scaling.md "Hot campaign: shards"): how many
-- Redis shards its stock is split over in distributed mode; the same column as
-- the embedded ledger's 0005_shards.sql (where it changes nothing). Existing
-- campaigns have one shard, as before. Fixed at creation.
ALTER TABLE campaigns ADD COLUMN shards integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 16);
