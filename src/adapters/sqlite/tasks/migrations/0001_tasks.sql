-- The embedded task store (DATA_DIR/tasks.sqlite). Append-only: change the
-- schema in a new numbered file, never by editing this one. Before the shared
-- migration runner (sqlite/migrate.ts), this version was counted in
-- PRAGMA user_version = 1; the runner still recognises that.
CREATE TABLE tasks (
  task_id      TEXT PRIMARY KEY,
  type         TEXT NOT NULL,
  payload      TEXT NOT NULL,   -- JSON
  status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  attempts     INTEGER NOT NULL, -- attempts started
  max_attempts INTEGER NOT NULL,
  result       TEXT,            -- JSON, once succeeded
  error        TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  started_at   INTEGER,
  finished_at  INTEGER,
  run_after    INTEGER,         -- queued for a retry: not started before
  lease_owner  TEXT,
  lease_until  INTEGER,         -- running: another attempt may start after
  dispatch_at  INTEGER,         -- when due() publishes it again; NULL while the queue holds it, or finished
  expires_at   INTEGER          -- finished: deleted after
);
CREATE INDEX tasks_dispatch ON tasks (dispatch_at) WHERE dispatch_at IS NOT NULL;
CREATE INDEX tasks_dead_letters ON tasks (finished_at) WHERE status = 'failed';
CREATE INDEX tasks_expiry ON tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE task_keys (
  key        TEXT PRIMARY KEY,   -- Idempotency-Key
  message    TEXT NOT NULL,      -- the TaskMessage it produced, JSON
  expires_at INTEGER NOT NULL
);
CREATE INDEX task_keys_expiry ON task_keys (expires_at);
