-- Leases: a named lock held by one process of the deployment for a bounded time, renewed while the holder works
-- and taken over once it expires (a killed holder frees it by itself). Single statements only, so it works
-- through a transaction-mode pooler, where session advisory locks do not (app/sync/guard.py).
CREATE TABLE IF NOT EXISTS profile_ai.leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
ALTER TABLE profile_ai.leases ENABLE ROW LEVEL SECURITY;
